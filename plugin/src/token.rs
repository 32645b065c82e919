//! App-only access tokens from the OAuth 2.0 client-credentials grant of the Microsoft identity
//! platform: the request, the cache shared by all calls of one instance, renewal, and the
//! mapping of token errors (AADSTS codes) to connector errors.
//!
//! The flow has no refresh token. A cached token is reused until less than [`RENEWAL_MARGIN`] of
//! its lifetime remains, and [`invalidate`] drops it after Graph rejects it. Neither the secret
//! nor the token ever appears in a message or a log line.

use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::graph::parse_retry_after;
use crate::photosync::connector::host;
use crate::photosync::connector::types::{ConnectorError, LogLevel};
use crate::settings::{Credentials, Settings};
use crate::transport::{self, BodyError};

/// A token is renewed when less than this much of its lifetime remains, so that a request never
/// carries a token that expires in flight.
const RENEWAL_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Token responses are a few kilobytes, so anything far larger is not a token response.
const MAX_TOKEN_RESPONSE_BYTES: u64 = 64 * 1024;

/// Maximum length, in characters, of an error description kept in a message.
const MAX_DESCRIPTION_CHARS: usize = 300;

/// The instance's token. One instance serves many calls of the same tenant, so the cache key
/// only guards against a changed login origin, tenant, client or scope.
static CACHE: Mutex<Option<CachedToken>> = Mutex::new(None);

struct CachedToken {
    key: String,
    token: IssuedToken,
    renew_at: Instant,
}

/// An access token and how long it stays valid from the moment it was received.
#[derive(PartialEq, Eq)]
pub(crate) struct IssuedToken {
    value: String,
    lifetime: Duration,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IssuedToken {{ value: [redacted], lifetime: {:?} }}",
            self.lifetime
        )
    }
}

/// Returns a valid access token, from the cache or from a new token request.
pub(crate) fn bearer(settings: &Settings) -> Result<String, ConnectorError> {
    let key = cache_key(settings);
    if let Some(cached) = lock_cache().as_ref() {
        if cached.key == key && Instant::now() < cached.renew_at {
            return Ok(cached.token.value.clone());
        }
    }

    host::log(
        LogLevel::Info,
        &format!(
            "requesting an access token for tenant {} from {}",
            settings.credentials.tenant_id, settings.endpoints.login
        ),
    );
    let received_at = Instant::now();
    let token = request(settings)?;
    let value = token.value.clone();
    *lock_cache() = Some(CachedToken {
        key,
        renew_at: received_at + renewal_delay(token.lifetime),
        token,
    });
    Ok(value)
}

/// Drops the cached token, so the next [`bearer`] call requests a new one.
pub(crate) fn invalidate() {
    *lock_cache() = None;
}

/// Returns the time after receipt at which a token of `lifetime` is renewed: [`RENEWAL_MARGIN`] before it
/// expires, or halfway through when the lifetime is shorter than twice the margin (short-lived
/// tokens occur with test servers).
pub(crate) fn renewal_delay(lifetime: Duration) -> Duration {
    lifetime - RENEWAL_MARGIN.min(lifetime / 2)
}

/// Returns the token endpoint URL of the settings' tenant.
pub(crate) fn token_url(settings: &Settings) -> String {
    format!(
        "{}/{}/oauth2/v2.0/token",
        settings.endpoints.login, settings.credentials.tenant_id
    )
}

/// Returns the form fields of the client-credentials request.
pub(crate) fn token_form<'a>(
    credentials: &'a Credentials,
    scope: &'a str,
) -> [(&'static str, &'a str); 4] {
    [
        ("client_id", credentials.client_id.as_str()),
        ("client_secret", credentials.client_secret.expose()),
        ("scope", scope),
        ("grant_type", "client_credentials"),
    ]
}

/// Parses a successful token response.
pub(crate) fn parse_token(body: &[u8]) -> Result<IssuedToken, ConnectorError> {
    #[derive(Deserialize)]
    struct TokenBody {
        access_token: String,
        expires_in: Seconds,
    }

    /// `expires_in` is a number in v2.0 responses, but some servers send it as a string.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Seconds {
        Number(u64),
        Text(String),
    }

    let parsed: TokenBody = serde_json::from_slice(body).map_err(|error| {
        ConnectorError::Transient(format!(
            "the token endpoint returned malformed JSON: {error}"
        ))
    })?;
    let seconds = match parsed.expires_in {
        Seconds::Number(seconds) => Some(seconds),
        Seconds::Text(text) => text.parse().ok(),
    };
    let Some(seconds) = seconds else {
        return Err(ConnectorError::Transient(
            "the token endpoint returned an expires_in that is not a number of seconds".to_string(),
        ));
    };
    if parsed.access_token.is_empty() {
        return Err(ConnectorError::Transient(
            "the token endpoint returned an empty access_token".to_string(),
        ));
    }
    Ok(IssuedToken {
        value: parsed.access_token,
        lifetime: Duration::from_secs(seconds),
    })
}

/// Maps a failed token response. Known AADSTS codes get advice; any secret text in the server's
/// description is replaced before it reaches the message.
pub(crate) fn token_error(
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
    secret: &str,
) -> ConnectorError {
    #[derive(Deserialize, Default)]
    struct ErrorBody {
        #[serde(default)]
        error: String,
        #[serde(default)]
        error_description: String,
        #[serde(default)]
        error_codes: Vec<u64>,
    }

    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let description = first_line(&parsed.error_description, secret);
    let error = if parsed.error.is_empty() {
        "without an error code"
    } else {
        parsed.error.as_str()
    };
    let head = format!("the token request failed with HTTP {status} {error}");

    if let Some((code, advice)) = parsed.error_codes.iter().find_map(|code| advice_for(*code)) {
        return ConnectorError::Unauthorized(format!("{head} (AADSTS{code}): {advice}"));
    }
    let code = parsed
        .error_codes
        .first()
        .map(|code| format!(" (AADSTS{code})"))
        .unwrap_or_default();
    let detail = format!("{head}{code}: {description}");

    match status {
        429 => ConnectorError::Throttled(retry_after.and_then(parse_retry_after).unwrap_or(0)),
        500..=599 => ConnectorError::Transient(detail),
        401 => ConnectorError::Unauthorized(detail),
        _ if error == "invalid_client" || error == "unauthorized_client" => {
            ConnectorError::Unauthorized(detail)
        }
        400..=499 => ConnectorError::InvalidConfig(format!(
            "{detail}; check the tenant_id, client_id and cloud settings"
        )),
        _ => ConnectorError::Transient(detail),
    }
}

/// Advice for the AADSTS codes that name a fixable setup mistake.
fn advice_for(code: u64) -> Option<(u64, &'static str)> {
    let advice = match code {
        7_000_215 => "the client_secret is wrong; copy the secret's Value, not its Secret ID",
        7_000_222 => {
            "the client secret has expired; create a new client secret and update client_secret"
        }
        700_016 => "check client_id and tenant_id; the app may not be consented in this tenant",
        90_002 => "the tenant was not found; check tenant_id",
        _ => return None,
    };
    Some((code, advice))
}

/// Keeps the description's first line (the identity platform appends trace and correlation
/// ids on later lines), shortened, with the secret removed.
fn first_line(description: &str, secret: &str) -> String {
    let line = description.lines().next().unwrap_or_default();
    let line = if secret.is_empty() {
        line.to_string()
    } else {
        line.replace(secret, "[redacted]")
    };
    match line.char_indices().nth(MAX_DESCRIPTION_CHARS) {
        Some((end, _)) => format!("{}...", &line[..end]),
        None if line.is_empty() => "no description".to_string(),
        None => line,
    }
}

fn request(settings: &Settings) -> Result<IssuedToken, ConnectorError> {
    let form = token_form(&settings.credentials, &settings.endpoints.scope);
    let response = transport::post_form(&token_url(settings), &form)?;
    let status = response.status_code();
    let retry_after = transport::header(&response, "retry-after").map(str::to_string);
    let body =
        transport::read_body(&response, MAX_TOKEN_RESPONSE_BYTES).map_err(|error| match error {
            BodyError::TooLarge { cap } => ConnectorError::Transient(format!(
                "the token endpoint returned more than {cap} bytes; check login_host"
            )),
            BodyError::Read(reason) => {
                ConnectorError::Transient(format!("reading the token response failed: {reason}"))
            }
        })?;

    if status == 200 {
        parse_token(&body)
    } else {
        let secret = settings.credentials.client_secret.expose();
        Err(token_error(status, retry_after.as_deref(), &body, secret))
    }
}

fn cache_key(settings: &Settings) -> String {
    format!(
        "{} {} {} {}",
        settings.endpoints.login,
        settings.credentials.tenant_id,
        settings.credentials.client_id,
        settings.endpoints.scope
    )
}

fn lock_cache() -> MutexGuard<'static, Option<CachedToken>> {
    // A panic aborts the plugin, so a poisoned lock cannot be observed; take the data anyway.
    CACHE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Secret;

    const SECRET: &str = "Abc8Q~secretvalue";

    fn unauthorized_message(error: ConnectorError) -> String {
        match error {
            ConnectorError::Unauthorized(message) => message,
            other => panic!("expected unauthorized, got {other:?}"),
        }
    }

    fn aad_error(error: &str, code: u64, description: &str) -> Vec<u8> {
        serde_json::json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {description}\r\nTrace ID: 0000\r\nTimestamp: 2024-01-01"),
            "error_codes": [code],
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn renewal_five_minutes_early() {
        assert_eq!(
            renewal_delay(Duration::from_secs(3599)),
            Duration::from_secs(3299)
        );
    }

    #[test]
    fn short_token_renewed_halfway() {
        assert_eq!(
            renewal_delay(Duration::from_secs(60)),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn form_has_grant_fields() {
        let credentials = Credentials {
            tenant_id: "contoso.onmicrosoft.com".to_string(),
            client_id: "app".to_string(),
            client_secret: Secret::from(SECRET.to_string()),
        };
        let form = token_form(&credentials, "https://graph.microsoft.com/.default");
        assert_eq!(
            form,
            [
                ("client_id", "app"),
                ("client_secret", SECRET),
                ("scope", "https://graph.microsoft.com/.default"),
                ("grant_type", "client_credentials"),
            ]
        );
    }

    #[test]
    fn token_url_names_tenant() {
        let lookup = |name: &str| match name {
            "tenant_id" => Some("contoso.onmicrosoft.com".to_string()),
            "client_id" => Some("app".to_string()),
            "client_secret" => Some(SECRET.to_string()),
            "login_host" => Some("http://127.0.0.1:8080".to_string()),
            _ => None,
        };
        let settings = Settings::load(&lookup).unwrap();
        assert_eq!(
            token_url(&settings),
            "http://127.0.0.1:8080/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
    }

    #[test]
    fn token_parsed() {
        let token =
            parse_token(br#"{"token_type":"Bearer","expires_in":3599,"access_token":"eyJ0"}"#)
                .unwrap();
        assert_eq!(token.lifetime, Duration::from_secs(3599));
        assert_eq!(token.value, "eyJ0");
    }

    #[test]
    fn string_expires_in_accepted() {
        let token = parse_token(br#"{"expires_in":"3600","access_token":"eyJ0"}"#).unwrap();
        assert_eq!(token.lifetime, Duration::from_secs(3600));
    }

    #[test]
    fn missing_access_token_transient() {
        let error = parse_token(br#"{"expires_in":3600}"#).unwrap_err();
        let ConnectorError::Transient(message) = error else {
            panic!("expected transient, got {error:?}");
        };
        assert!(message.contains("access_token"), "{message}");
    }

    #[test]
    fn token_debug_redacted() {
        let token = parse_token(br#"{"expires_in":3600,"access_token":"eyJ0secret"}"#).unwrap();
        assert!(!format!("{token:?}").contains("eyJ0secret"));
    }

    #[test]
    fn wrong_secret_advised() {
        let body = aad_error("invalid_client", 7000215, "Invalid client secret provided.");
        let message = unauthorized_message(token_error(401, None, &body, SECRET));
        assert!(message.contains("AADSTS7000215"), "{message}");
        assert!(message.contains("not its Secret ID"), "{message}");
        assert!(message.contains("HTTP 401"), "{message}");
    }

    #[test]
    fn expired_secret_advised() {
        let body = aad_error(
            "invalid_client",
            7000222,
            "The provided client secret keys are expired.",
        );
        let message = unauthorized_message(token_error(401, None, &body, SECRET));
        assert!(message.contains("create a new client secret"), "{message}");
    }

    #[test]
    fn unknown_app_advised() {
        let body = aad_error("unauthorized_client", 700016, "Application was not found.");
        let message = unauthorized_message(token_error(400, None, &body, SECRET));
        assert!(
            message.contains("check client_id and tenant_id"),
            "{message}"
        );
    }

    #[test]
    fn unknown_tenant_advised() {
        let body = aad_error("invalid_request", 90002, "Tenant not found.");
        let message = unauthorized_message(token_error(400, None, &body, SECRET));
        assert!(message.contains("AADSTS90002"), "{message}");
        assert!(message.contains("check tenant_id"), "{message}");
    }

    #[test]
    fn other_client_error_keeps_description() {
        let body = aad_error(
            "invalid_client",
            7000218,
            "The request body must contain client_assertion.",
        );
        let message = unauthorized_message(token_error(401, None, &body, SECRET));
        assert!(
            message.contains("must contain client_assertion"),
            "{message}"
        );
        assert!(!message.contains("Trace ID"), "{message}");
    }

    #[test]
    fn invalid_scope_is_config_error() {
        let body = aad_error(
            "invalid_scope",
            1002012,
            "The provided value for scope is not valid.",
        );
        let error = token_error(400, None, &body, SECRET);
        assert!(
            matches!(error, ConnectorError::InvalidConfig(_)),
            "{error:?}"
        );
    }

    #[test]
    fn secret_echo_redacted() {
        let body = aad_error(
            "invalid_client",
            7000218,
            &format!("Bad secret {SECRET} given."),
        );
        let message = unauthorized_message(token_error(401, None, &body, SECRET));
        assert!(!message.contains(SECRET), "{message}");
    }

    #[test]
    fn server_error_transient() {
        let error = token_error(503, None, b"<html>unavailable</html>", SECRET);
        assert!(matches!(error, ConnectorError::Transient(_)), "{error:?}");
    }

    #[test]
    fn token_throttling_honoured() {
        assert_eq!(
            token_error(429, Some("7"), b"{}", SECRET),
            ConnectorError::Throttled(7)
        );
    }

    #[test]
    fn long_description_shortened() {
        let long = "x".repeat(1000);
        assert_eq!(
            first_line(&long, SECRET).chars().count(),
            MAX_DESCRIPTION_CHARS + 3
        );
    }
}
