//! The identity platform's token endpoint, `POST /{tenant}/oauth2/v2.0/token`, for the
//! OAuth 2.0 client-credentials grant.
//!
//! Errors carry the identity platform's body: `error`, an `error_description` that starts
//! with the AADSTS code, `error_codes`, `timestamp`, `trace_id`, `correlation_id` and
//! `error_uri`. Only client secrets are supported, not certificate assertions.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::Rng;
use serde_json::json;

use crate::graph_error::{identity_timestamp, new_guid};
use crate::state::{IssuedToken, SimState};

/// Random bytes per access token, too many to guess.
const TOKEN_BYTES: usize = 32;
/// The suffix client-credentials scopes must end with.
const DEFAULT_SCOPE_SUFFIX: &str = "/.default";
const CLIENT_CREDENTIALS: &str = "client_credentials";

/// An identity platform error: HTTP status, OAuth `error` value, AADSTS number and message.
struct IdentityError {
    status: StatusCode,
    error: &'static str,
    code: u32,
    message: String,
}

impl IdentityError {
    fn new(status: StatusCode, error: &'static str, code: u32, message: String) -> IdentityError {
        IdentityError {
            status,
            error,
            code,
            message,
        }
    }

    fn missing_parameter(name: &str) -> IdentityError {
        IdentityError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            format!("The request body must contain the following parameter: '{name}'."),
        )
    }

    fn into_response(self, base_url: &str) -> Response {
        let trace_id = new_guid();
        let correlation_id = new_guid();
        let timestamp = identity_timestamp();
        // The identity platform separates these parts with CRLF.
        let description = format!(
            "AADSTS{}: {}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\n\
             Timestamp: {timestamp}",
            self.code, self.message
        );
        let body = json!({
            "error": self.error,
            "error_description": description,
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("{base_url}/error?code={}", self.code),
        });
        (self.status, Json(body)).into_response()
    }
}

/// Handles `POST /{tenant}/oauth2/v2.0/token`.
pub(crate) async fn issue_token(
    State(state): State<Arc<SimState>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    state.lock().counters.token_requests += 1;
    state.delay().await;

    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    match check_request(&state, &tenant, &form) {
        Ok(()) => grant_token(&state),
        Err(error) => {
            tracing::debug!(
                tenant,
                error = error.error,
                code = error.code,
                "token request rejected"
            );
            error.into_response(&state.base_url)
        }
    }
}

/// Checks the request in the order the identity platform reports problems: tenant, grant
/// type, client id, scope, then the secret.
fn check_request(
    state: &SimState,
    tenant: &str,
    form: &HashMap<String, String>,
) -> Result<(), IdentityError> {
    if !tenant.eq_ignore_ascii_case(&state.tenant_id) {
        return Err(IdentityError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID \
                 and are signing into the correct cloud. Check with your subscription \
                 administrator, this may happen if there are no active subscriptions for the \
                 tenant."
            ),
        ));
    }
    let parameter = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());

    let grant_type =
        parameter("grant_type").ok_or_else(|| IdentityError::missing_parameter("grant_type"))?;
    if grant_type != CLIENT_CREDENTIALS {
        return Err(IdentityError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant_type}'."),
        ));
    }

    let client_id =
        parameter("client_id").ok_or_else(|| IdentityError::missing_parameter("client_id"))?;
    if !client_id.eq_ignore_ascii_case(&state.client_id) {
        return Err(IdentityError::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory \
                 '{tenant}'. This can happen if the application has not been installed by the \
                 administrator of the tenant or consented to by any user in the tenant. You may \
                 have sent your authentication request to the wrong tenant."
            ),
        ));
    }

    let scope = parameter("scope").ok_or_else(|| IdentityError::missing_parameter("scope"))?;
    if !scope.ends_with(DEFAULT_SCOPE_SUFFIX) {
        return Err(IdentityError::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows \
                 must have a scope value with /.default suffixed to the resource identifier \
                 (application ID URI)."
            ),
        ));
    }

    let Some(secret) = parameter("client_secret") else {
        return Err(IdentityError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000216,
            "'client_assertion', 'client_secret' or 'request' is required for the \
             'client_credentials' grant type."
                .to_string(),
        ));
    };
    if secret != state.client_secret {
        return Err(IdentityError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is \
                 the client secret value, not the client secret ID, for a secret added to app \
                 '{client_id}'."
            ),
        ));
    }
    if state.lock().faults.secret_expired {
        return Err(IdentityError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000222,
            format!(
                "The provided client secret keys for app '{client_id}' are expired. Visit the \
                 Azure portal to create new keys for your app, or consider using certificate \
                 credentials for added security."
            ),
        ));
    }
    Ok(())
}

/// Issues a new random token valid for the current `token_lifetime_secs`.
fn grant_token(state: &SimState) -> Response {
    let bytes: [u8; TOKEN_BYTES] = rand::thread_rng().gen();
    let token = URL_SAFE_NO_PAD.encode(bytes);

    let mut inner = state.lock();
    let lifetime = inner.faults.token_lifetime_secs;
    inner.tokens.insert(
        token.clone(),
        IssuedToken {
            expires_at: Instant::now() + Duration::from_secs(lifetime),
            revoked: false,
        },
    );
    inner.counters.tokens_issued += 1;
    drop(inner);

    let body = json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": token,
    });
    let mut response = Json(body).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    response
}

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;
    use serde_json::Value;

    use crate::faults::Faults;
    use crate::test_support::{client, post_token, start_small, valid_token_form, TENANT};

    /// Returns the valid form with one field replaced, or without that field when `value` is
    /// `None`.
    fn form_with(
        field: &'static str,
        value: Option<&'static str>,
    ) -> Vec<(&'static str, &'static str)> {
        let mut form: Vec<_> = valid_token_form()
            .into_iter()
            .filter(|(name, _)| *name != field)
            .collect();
        if let Some(value) = value {
            form.push((field, value));
        }
        form
    }

    fn assert_identity_error(body: &Value, error: &str, code: u64) {
        assert_eq!(body["error"], error, "{body}");
        assert_eq!(body["error_codes"], serde_json::json!([code]), "{body}");
        let description = body["error_description"].as_str().unwrap_or_default();
        assert!(
            description.starts_with(&format!("AADSTS{code}: ")),
            "{description}"
        );
        for field in ["timestamp", "trace_id", "correlation_id"] {
            assert!(body[field].is_string(), "{field} missing: {body}");
        }
    }

    #[tokio::test]
    async fn token_success_shape() {
        let sim = start_small().await;
        let client = client();
        let (status, body) = post_token(&client, &sim, TENANT, &valid_token_form()).await;

        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3599);
        assert_eq!(body["ext_expires_in"], 3599);
        let token = body["access_token"].as_str().unwrap();
        assert!(token.len() >= 40, "{token}");

        let (_, second) = post_token(&client, &sim, TENANT, &valid_token_form()).await;
        assert_ne!(second["access_token"], body["access_token"]);
        assert_eq!(sim.counters().tokens_issued, 2);
    }

    #[tokio::test]
    async fn tenant_matched_case_insensitively() {
        let sim = start_small().await;
        let (status, _) = post_token(
            &client(),
            &sim,
            "Contoso.OnMicrosoft.com",
            &valid_token_form(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn unknown_tenant_is_aadsts90002() {
        let sim = start_small().await;
        let (status, body) = post_token(
            &client(),
            &sim,
            "fabrikam.onmicrosoft.com",
            &valid_token_form(),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_identity_error(&body, "invalid_request", 90002);
    }

    #[tokio::test]
    async fn token_errors_match_identity_platform() {
        let sim = start_small().await;
        let client = client();
        let cases = [
            (
                "client_id",
                Some("00000000-0000-0000-0000-000000000000"),
                400,
                "unauthorized_client",
                700016,
            ),
            (
                "client_secret",
                Some("wrong"),
                401,
                "invalid_client",
                7000215,
            ),
            ("client_secret", None, 401, "invalid_client", 7000216),
            (
                "scope",
                Some("https://graph.microsoft.com/User.Read.All"),
                400,
                "invalid_scope",
                1002012,
            ),
            ("scope", None, 400, "invalid_request", 900144),
            (
                "grant_type",
                Some("password"),
                400,
                "unsupported_grant_type",
                70003,
            ),
            ("grant_type", None, 400, "invalid_request", 900144),
            ("client_id", None, 400, "invalid_request", 900144),
        ];
        for (field, value, status, error, code) in cases {
            let (actual, body) = post_token(&client, &sim, TENANT, &form_with(field, value)).await;
            assert_eq!(actual.as_u16(), status, "{field}={value:?}: {body}");
            assert_identity_error(&body, error, code);
        }
        let counters = sim.counters();
        assert_eq!(counters.token_requests, 8);
        assert_eq!(counters.tokens_issued, 0);
    }

    #[tokio::test]
    async fn expired_secret_is_aadsts7000222() {
        let sim = start_small().await;
        sim.set_faults(Faults {
            secret_expired: true,
            ..Faults::default()
        });
        let client = client();
        let (status, body) = post_token(&client, &sim, TENANT, &valid_token_form()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_identity_error(&body, "invalid_client", 7000222);

        let (status, body) = post_token(
            &client,
            &sim,
            TENANT,
            &form_with("client_secret", Some("wrong")),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_identity_error(&body, "invalid_client", 7000215);
    }

    #[tokio::test]
    async fn token_lifetime_fault_sets_expires_in() {
        let sim = start_small().await;
        sim.set_faults(Faults {
            token_lifetime_secs: 60,
            ..Faults::default()
        });
        let (_, body) = post_token(&client(), &sim, TENANT, &valid_token_form()).await;
        assert_eq!(body["expires_in"], 60);
    }
}
