//! Bearer-token check for Graph routes, including the token-expiry fault.
//!
//! A request passes when its `Authorization: Bearer` token was issued by this server, has
//! not reached its expiry and was not ended by `expire_tokens_after_requests`. Otherwise
//! Graph's 401 `InvalidAuthenticationToken` is returned.

use std::time::Instant;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;

use crate::graph_error::graph_error;
use crate::state::SimState;

const EMPTY_TOKEN_MESSAGE: &str = "Access token is empty.";
const UNKNOWN_TOKEN_MESSAGE: &str = "Access token validation failure.";
const EXPIRED_TOKEN_MESSAGE: &str = "Lifetime validation failed, the token is expired.";

/// Checks the request's bearer token and counts the request for the token-expiry fault.
///
/// Returns the 401 response to send when the token is missing, unknown or expired.
pub(crate) fn authorize(state: &SimState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let reject = |message: &str| {
        graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
            headers,
        )
    };

    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty());
    let Some(token) = token else {
        return Err(Box::new(reject(EMPTY_TOKEN_MESSAGE)));
    };

    let mut inner = state.lock();
    let Some(issued) = inner.tokens.get(token) else {
        return Err(Box::new(reject(UNKNOWN_TOKEN_MESSAGE)));
    };
    if issued.revoked || Instant::now() >= issued.expires_at {
        return Err(Box::new(reject(EXPIRED_TOKEN_MESSAGE)));
    }

    inner.progress.graph_requests += 1;
    let expiry_due = inner
        .faults
        .expire_tokens_after_requests
        .is_some_and(|limit| inner.progress.graph_requests > limit);
    if expiry_due && !inner.progress.tokens_expired {
        inner.progress.tokens_expired = true;
        for issued in inner.tokens.values_mut() {
            issued.revoked = true;
        }
        tracing::debug!("token expiry fault fired: every token issued so far has expired");
        return Err(Box::new(reject(EXPIRED_TOKEN_MESSAGE)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;

    use crate::faults::Faults;
    use crate::test_support::{client, error_code, get_json, start_small, token};

    const PHOTO: &str = "/v1.0/users/u-photo/photo";

    #[tokio::test]
    async fn missing_token_is_401() {
        let sim = start_small().await;
        let response = client()
            .get(format!("{}{PHOTO}", sim.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "InvalidAuthenticationToken");
        assert_eq!(body["error"]["message"], "Access token is empty.");
        assert_eq!(sim.counters().unauthorized, 1);
    }

    #[tokio::test]
    async fn foreign_token_is_401() {
        let sim = start_small().await;
        let (status, _, body) = get_json(&client(), &sim, PHOTO, "made-up-token").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(error_code(&body), "InvalidAuthenticationToken");
    }

    #[tokio::test]
    async fn expiry_fault_ends_old_tokens_once() {
        let sim = start_small().await;
        sim.set_faults(Faults {
            expire_tokens_after_requests: Some(2),
            ..Faults::default()
        });
        let client = client();
        let old = token(&client, &sim).await;
        let mut statuses = Vec::new();
        for _ in 0..4 {
            let (status, _, _) = get_json(&client, &sim, PHOTO, &old).await;
            statuses.push(status.as_u16());
        }
        assert_eq!(statuses, [200, 200, 401, 401]);

        let (_, _, body) = get_json(&client, &sim, PHOTO, &old).await;
        assert_eq!(
            body["error"]["message"],
            "Lifetime validation failed, the token is expired."
        );

        let new = token(&client, &sim).await;
        for _ in 0..3 {
            let (status, _, _) = get_json(&client, &sim, PHOTO, &new).await;
            assert_eq!(
                status,
                StatusCode::OK,
                "a token issued after the expiry works"
            );
        }
    }

    #[tokio::test]
    async fn zero_lifetime_token_expired() {
        let sim = start_small().await;
        sim.set_faults(Faults {
            token_lifetime_secs: 0,
            ..Faults::default()
        });
        let client = client();
        let token = token(&client, &sim).await;
        let (status, _, body) = get_json(&client, &sim, PHOTO, &token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body["error"]["message"],
            "Lifetime validation failed, the token is expired."
        );
    }

    #[tokio::test]
    async fn token_outlives_lifetime_change() {
        let sim = start_small().await;
        let client = client();
        let token = token(&client, &sim).await;
        sim.set_faults(Faults {
            token_lifetime_secs: 0,
            ..Faults::default()
        });
        let (status, _, _) = get_json(&client, &sim, PHOTO, &token).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "the lifetime applies to tokens issued later"
        );
    }
}
