//! API bearer tokens of a tenant: `[[tenant.api_tokens]]` entries, each the sha256 of a token
//! bound to a role and, for users, to one user id.
//!
//! The file holds only hashes, so reading it does not reveal a working token. This module
//! validates the entries; `api::auth` matches presented tokens against them.

use std::collections::HashSet;

use serde::Deserialize;

/// One `[[tenant.api_tokens]]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApiToken {
    pub sha256: String,
    pub role: String,
    pub user_id: Option<String>,
}

/// The permissions of a token within its tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenRole {
    /// Reads photos and the policy, and changes the photo of `user_id` only.
    User { user_id: String },
    /// Reads photos, the policy and run history, changes any user's photo and starts runs.
    Admin,
}

/// A validated API token entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    /// sha256 of the token's UTF-8 bytes.
    pub sha256: [u8; 32],
    pub role: TokenRole,
}

/// Validates a tenant's token entries; the error names the entry by its position (from 1).
pub(super) fn validate_tokens(raw: &[RawApiToken]) -> Result<Vec<ApiToken>, String> {
    let mut seen = HashSet::new();
    let mut tokens = Vec::with_capacity(raw.len());
    for (index, entry) in raw.iter().enumerate() {
        let position = index + 1;
        let token = validate_token(entry)
            .map_err(|message| format!("api_tokens entry {position}: {message}"))?;
        if !seen.insert(token.sha256) {
            return Err(format!(
                "api_tokens entry {position}: the same sha256 appears twice; give each client its own token"
            ));
        }
        tokens.push(token);
    }
    Ok(tokens)
}

/// Checks that no token hash is configured for two tenants, because a token must map to
/// exactly one tenant.
pub(super) fn check_unique_across_tenants<'a>(
    tenants: impl IntoIterator<Item = (&'a str, &'a [ApiToken])>,
) -> Result<(), String> {
    let mut owners: std::collections::HashMap<[u8; 32], &str> = Default::default();
    for (tenant, tokens) in tenants {
        for token in tokens {
            if let Some(other) = owners.insert(token.sha256, tenant) {
                if other != tenant {
                    return Err(format!(
                        "tenants '{other}' and '{tenant}' list the same api token sha256; a token may belong to one tenant only"
                    ));
                }
            }
        }
    }
    Ok(())
}

fn validate_token(entry: &RawApiToken) -> Result<ApiToken, String> {
    let sha256 = parse_sha256(&entry.sha256)?;
    let role = match (entry.role.as_str(), &entry.user_id) {
        ("admin", None) => TokenRole::Admin,
        ("admin", Some(_)) => {
            return Err(
                "an admin token applies to every user of the tenant; remove `user_id`".to_string(),
            )
        }
        ("user", Some(user_id)) if !user_id.trim().is_empty() => TokenRole::User {
            user_id: user_id.clone(),
        },
        ("user", _) => {
            return Err(
                "a user token needs `user_id`, the directory id of the user it acts for"
                    .to_string(),
            )
        }
        (other, _) => {
            return Err(format!(
                "role '{other}' is invalid; use \"user\" or \"admin\""
            ))
        }
    };
    Ok(ApiToken { sha256, role })
}

fn parse_sha256(text: &str) -> Result<[u8; 32], String> {
    let invalid = || {
        "sha256 must be 64 hexadecimal digits, the sha256 of the token; `photosync hash-token` prints it"
            .to_string()
    };
    if text.len() != 64 {
        return Err(invalid());
    }
    let bytes = hex::decode(text).map_err(|_| invalid())?;
    bytes.try_into().map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn raw(role: &str, user_id: Option<&str>) -> RawApiToken {
        RawApiToken {
            sha256: HASH.to_string(),
            role: role.to_string(),
            user_id: user_id.map(str::to_string),
        }
    }

    #[test]
    fn user_token_keeps_user_id() {
        let tokens = validate_tokens(&[raw("user", Some("u1"))]).unwrap();
        let expected = TokenRole::User {
            user_id: "u1".to_string(),
        };
        assert_eq!(tokens[0].role, expected);
    }

    #[test]
    fn user_token_without_user_rejected() {
        let error = validate_tokens(&[raw("user", None)]).unwrap_err();
        assert!(error.contains("user_id"), "{error}");
    }

    #[test]
    fn admin_token_with_user_rejected() {
        let error = validate_tokens(&[raw("admin", Some("u1"))]).unwrap_err();
        assert!(error.contains("remove `user_id`"), "{error}");
    }

    #[test]
    fn unknown_role_is_named() {
        let error = validate_tokens(&[raw("owner", None)]).unwrap_err();
        assert!(error.contains("'owner'"), "{error}");
    }

    #[test]
    fn short_hash_rejected() {
        let mut entry = raw("admin", None);
        entry.sha256 = "abc".to_string();
        let error = validate_tokens(&[entry]).unwrap_err();
        assert!(error.contains("64 hexadecimal digits"), "{error}");
    }

    #[test]
    fn duplicate_hash_rejected() {
        let error = validate_tokens(&[raw("admin", None), raw("admin", None)]).unwrap_err();
        assert!(error.contains("entry 2"), "{error}");
    }

    #[test]
    fn hash_shared_by_tenants_rejected() {
        let tokens = validate_tokens(&[raw("admin", None)]).unwrap();
        let error =
            check_unique_across_tenants([("a", tokens.as_slice()), ("b", tokens.as_slice())])
                .unwrap_err();
        assert!(error.contains("'a' and 'b'"), "{error}");
    }
}
