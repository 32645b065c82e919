//! Microsoft Graph's JSON error body and the ids and dates that go into it.
//!
//! Graph returns `{"error":{"code","message","innerError":{"date","request-id",
//! "client-request-id"}}}`. The `client-request-id` echoes the request's header of that name
//! and falls back to the `request-id`, as Graph does.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::Rng;
use serde_json::json;
use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

/// Graph's `innerError.date` format, UTC without an offset.
const GRAPH_DATE: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");

/// The identity platform's `timestamp` format.
const IDENTITY_TIMESTAMP: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");

/// Builds a Graph error response with the given status, code and message.
pub(crate) fn graph_error(
    status: StatusCode,
    code: &str,
    message: &str,
    request_headers: &HeaderMap,
) -> Response {
    let request_id = new_guid();
    let client_request_id = request_headers
        .get("client-request-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| request_id.clone());
    let body = json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": format_now(GRAPH_DATE),
                "request-id": request_id,
                "client-request-id": client_request_id,
            }
        }
    });
    (status, Json(body)).into_response()
}

/// Adds `Retry-After: <seconds>` to a response.
pub(crate) fn with_retry_after(mut response: Response, seconds: u32) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// Returns a random version-4 GUID, used for request, trace and correlation ids.
pub(crate) fn new_guid() -> String {
    let mut bytes: [u8; 16] = rand::thread_rng().gen();
    // RFC 9562: version 4 in the high nibble of byte 6, variant 0b10 in the top bits of byte 8.
    bytes[6] = (bytes[6] & 0x0F) | 0x40;
    bytes[8] = (bytes[8] & 0x3F) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Returns the current UTC time as the identity platform writes its error timestamps.
pub(crate) fn identity_timestamp() -> String {
    format_now(IDENTITY_TIMESTAMP)
}

fn format_now(format: &[FormatItem<'static>]) -> String {
    OffsetDateTime::now_utc()
        .format(format)
        .expect("formatting the current UTC time with a fixed format succeeds")
}
