//! The API's one error type and its JSON body: `{"error": code, "message": text}`.
//!
//! `error` is a stable snake_case code that clients branch on. `message` is a sentence for
//! people that states what failed, on which value, and what to do next.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// An error response of the API.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable machine-readable code, such as `photo_managed_by_sync`.
    pub code: &'static str,
    pub message: String,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
}

impl ApiError {
    /// Creates an error with a status, a code and a message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 for a request whose parameters or body are malformed.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 403 for a valid token that does not grant the request.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 for a resource that does not exist.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 500 for a server-side failure. The cause goes to the log, not to the client, because it
    /// may contain file paths.
    pub fn internal(context: &str, error: &anyhow::Error) -> ApiError {
        tracing::error!("{context}: {error:#}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            format!("{context}; the server log has the cause, retry later or contact the operator"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code,
            message: &self.message,
        };
        (self.status, Json(body)).into_response()
    }
}

/// JSON 404 for paths the API does not serve.
pub async fn route_not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(
        "route_not_found",
        format!(
            "no API route matches {}; GET /v1/openapi.json lists the routes",
            uri.path()
        ),
    )
}

/// JSON 405 for a known path with a method it does not accept.
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{method} is not allowed on {}; GET /v1/openapi.json lists the methods of each route",
            uri.path()
        ),
    )
}

/// Maximum length of a plain-text rejection body that is rewritten as JSON. Axum's rejection
/// texts are one line.
const MAX_REJECTION_TEXT: usize = 4096;

/// Rewrites axum's plain-text extractor rejections (such as a path segment that is not valid
/// UTF-8) as the API's JSON error body, so every 4xx response has the same shape.
pub async fn json_rejections(response: Response) -> Response {
    let status = response.status();
    let is_text = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/plain"));
    if !status.is_client_error() || !is_text {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), MAX_REJECTION_TEXT)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    ApiError::new(
        status,
        "invalid_request",
        format!("{text}; check the request against GET /v1/openapi.json"),
    )
    .into_response()
}
