//! Plain words and next steps for the Microsoft identity platform's AADSTS error codes that
//! name a setup mistake of the app registration.
//!
//! The connector returns the code in its `unauthorized` message as `AADSTS<number>`, the form
//! the identity platform uses in its own error descriptions.

/// The meaning of an AADSTS code for an administrator, and its fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenProblem {
    pub code: u32,
    /// The problem in plain words, such as "wrong client secret".
    pub summary: &'static str,
    pub next_step: &'static str,
}

/// The codes with a known fix. Codes and meanings are from the Microsoft Entra authentication
/// and authorization error code reference.
const KNOWN_PROBLEMS: &[TokenProblem] = &[
    TokenProblem {
        code: 7_000_215,
        summary: "wrong client secret",
        next_step: "in the app registration, open Certificates & secrets and copy the secret's Value column, not its Secret ID, into the file or environment variable of settings.client_secret; a value that is no longer shown needs a new secret",
    },
    TokenProblem {
        code: 7_000_222,
        summary: "expired client secret",
        next_step: "in the app registration, open Certificates & secrets, create a new client secret, and put its Value into the file or environment variable of settings.client_secret",
    },
    TokenProblem {
        code: 90_002,
        summary: "unknown tenant",
        next_step: "set settings.tenant_id to the Directory (tenant) ID or the primary domain shown on the app registration's Overview page, and check that settings.cloud names the cloud of that tenant",
    },
    TokenProblem {
        code: 700_016,
        summary: "app not found in the tenant",
        next_step: "set settings.client_id to the Application (client) ID shown on the app registration's Overview page, and check that the app is registered in (or consented to by) the tenant in settings.tenant_id",
    },
    TokenProblem {
        code: 65_001,
        summary: "missing admin consent",
        next_step: "in the app registration, open API permissions and select Grant admin consent; an administrator of the tenant must do this",
    },
    TokenProblem {
        code: 7_000_112,
        summary: "app disabled",
        next_step: "enable the app's enterprise application (Properties, Enabled for users to sign in) in the tenant",
    },
];

/// Finds the first `AADSTS<number>` in `message` and returns its known problem, if any.
pub fn token_problem(message: &str) -> Option<TokenProblem> {
    let code = aadsts_code(message)?;
    KNOWN_PROBLEMS
        .iter()
        .copied()
        .find(|problem| problem.code == code)
}

/// Returns the number of the first `AADSTS<number>` in `message`.
pub fn aadsts_code(message: &str) -> Option<u32> {
    let start = message.find("AADSTS")? + "AADSTS".len();
    let digits: String = message[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_read_from_message() {
        let message =
            "the token request failed with HTTP 401 invalid_client (AADSTS7000215): wrong";
        assert_eq!(aadsts_code(message), Some(7_000_215));
    }

    #[test]
    fn message_without_code_has_none() {
        assert_eq!(aadsts_code("HTTP 401 invalid_client"), None);
    }

    #[test]
    fn expired_secret_named() {
        let problem = token_problem("failed (AADSTS7000222): expired").unwrap();
        assert_eq!(problem.summary, "expired client secret");
    }

    #[test]
    fn unknown_code_has_no_problem() {
        assert_eq!(token_problem("failed (AADSTS50000): other"), None);
    }
}
