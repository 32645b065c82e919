//! Microsoft Graph requests: the bearer token on each request, one token renewal after a 401,
//! and the mapping of Graph error responses (`{"error":{"code","message"}}`) to connector errors.
//!
//! | response | connector error |
//! | --- | --- |
//! | 401 (after one renewal) | `unauthorized` |
//! | 403, any code | `forbidden`, naming the application permission of the route |
//! | 404 `ImageNotFound`, `ErrorEntityNotFound`, `ErrorItemNotFound` on a photo | no error: the photo is absent ([`StatusError::is_photo_absent`]) |
//! | 404 `Request_ResourceNotFound` on a photo | `not-found`: the user does not exist |
//! | 429 | `throttled(Retry-After)`, `throttled(0)` without the header |
//! | 503, 504 with Retry-After | `throttled(Retry-After)` |
//! | other 5xx | `transient` |
//! | other 4xx on a photo | `unavailable`: Graph cannot tell for this user |
//! | other 4xx on the user list | `invalid-config`: the listing itself is wrong |

use serde::de::DeserializeOwned;
use serde::Deserialize;
use waki::Response;

use crate::photosync::connector::host;
use crate::photosync::connector::types::{ConnectorError, LogLevel};
use crate::settings::Settings;
use crate::token;
use crate::transport::{self, BodyError};

/// Error responses are small JSON documents, so the rest of a larger one is not read.
const MAX_ERROR_BODY_BYTES: u64 = 64 * 1024;

/// A page of 999 users with the selected fields is about 0.5 MB; this leaves ample room.
pub(crate) const MAX_JSON_BYTES: u64 = 16 * 1024 * 1024;

/// Maximum length, in characters, of Graph's error message kept in a connector error.
const MAX_MESSAGE_CHARS: usize = 300;

/// Graph error codes that mean "this user has no photo". Graph's profile photo service returns
/// `ImageNotFound`, and mailbox-backed photos return `ErrorEntityNotFound` or `ErrorItemNotFound`.
const PHOTO_ABSENT_CODES: [&str; 3] = ["ImageNotFound", "ErrorEntityNotFound", "ErrorItemNotFound"];

/// The Graph error code for a user id that does not exist.
const USER_NOT_FOUND_CODE: &str = "Request_ResourceNotFound";

/// Graph error codes of photo requests for a user without an Exchange Online mailbox.
const MAILBOX_CODES: [&str; 3] = [
    "AuthenticationError",
    "MailboxNotEnabledForRESTAPI",
    "ErrorNonExistentMailbox",
];

/// What a request reads; decides the permission named on 403 and the meaning of a 4xx.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Route<'a> {
    /// `/users`, which needs `User.Read.All`.
    Users,
    /// `/users/{id}/photo` and its `$value`, which need `ProfilePhoto.Read.All`.
    Photo { user_id: &'a str },
}

impl Route<'_> {
    /// Returns the application permission the route needs.
    pub(crate) fn permission(self) -> &'static str {
        match self {
            Route::Users => "User.Read.All",
            Route::Photo { .. } => "ProfilePhoto.Read.All",
        }
    }

    fn subject(self) -> String {
        match self {
            Route::Users => "the user list".to_string(),
            Route::Photo { user_id } => format!("the photo of user {user_id}"),
        }
    }
}

/// A Graph response with an error status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StatusError {
    pub(crate) status: u16,
    /// `error.code`, or empty when the body was no Graph error document.
    pub(crate) code: String,
    /// `error.message`, or an excerpt of the body.
    pub(crate) message: String,
    /// The `Retry-After` header in seconds, when present and numeric.
    pub(crate) retry_after: Option<u32>,
}

/// Failure of a Graph request.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Graph responded with an error status, whose meaning depends on the caller's route.
    Status(StatusError),
    /// No usable response: settings, token, transport, or a body that could not be read.
    Connector(ConnectorError),
}

impl From<ConnectorError> for Failure {
    fn from(error: ConnectorError) -> Failure {
        Failure::Connector(error)
    }
}

impl Failure {
    /// Maps the failure to the connector error for `route`.
    pub(crate) fn into_error(self, route: Route) -> ConnectorError {
        match self {
            Failure::Status(status) => status.into_error(route),
            Failure::Connector(error) => error,
        }
    }
}

impl StatusError {
    /// Builds the error from a response's status, `Retry-After` header and body.
    pub(crate) fn parse(status: u16, retry_after: Option<&str>, body: &[u8]) -> StatusError {
        #[derive(Deserialize)]
        struct ErrorDocument {
            error: ErrorField,
        }
        #[derive(Deserialize)]
        struct ErrorField {
            #[serde(default)]
            code: String,
            #[serde(default)]
            message: String,
        }

        let (code, message) = match serde_json::from_slice::<ErrorDocument>(body) {
            Ok(document) => (document.error.code, document.error.message),
            Err(_) => (
                String::new(),
                String::from_utf8_lossy(body).trim().to_string(),
            ),
        };
        StatusError {
            status,
            code,
            message: shorten(&message),
            retry_after: retry_after.and_then(parse_retry_after),
        }
    }

    /// Returns whether Graph states that the user has no photo.
    pub(crate) fn is_photo_absent(&self) -> bool {
        self.status == 404 && PHOTO_ABSENT_CODES.contains(&self.code.as_str())
    }

    /// Maps the response to a connector error, following the table in the module documentation.
    /// Callers handle a photo-absent response first, because here it counts as `unavailable`.
    pub(crate) fn into_error(self, route: Route) -> ConnectorError {
        let code = if self.code.is_empty() {
            "without an error code"
        } else {
            self.code.as_str()
        };
        let message = if self.message.is_empty() {
            "no message"
        } else {
            self.message.as_str()
        };
        let summary = format!(
            "Graph returned HTTP {} {code} for {}: {message}",
            self.status,
            route.subject()
        );

        match (self.status, route) {
            (401, _) => ConnectorError::Unauthorized(format!(
                "{summary}; a newly issued token was rejected too, so check that the app \
                 registration belongs to this tenant and to the cloud in the `cloud` setting"
            )),
            (403, _) => ConnectorError::Forbidden(format!(
                "{summary}; add the application permission {} to the app registration, then \
                 grant admin consent",
                route.permission()
            )),
            (429, _) => ConnectorError::Throttled(self.retry_after.unwrap_or(0)),
            (503 | 504, _) => match self.retry_after {
                Some(seconds) => ConnectorError::Throttled(seconds),
                None => ConnectorError::Transient(summary),
            },
            (500..=599, _) => ConnectorError::Transient(summary),
            (404, Route::Photo { .. }) if self.code == USER_NOT_FOUND_CODE => {
                ConnectorError::NotFound(summary)
            }
            (400..=499, Route::Photo { .. }) if MAILBOX_CODES.contains(&self.code.as_str()) => {
                ConnectorError::Unavailable(format!(
                    "{summary}; Graph serves profile photos from the user's Exchange Online mailbox, \
                     and this user has none, so any stored photo is kept"
                ))
            }
            (400..=499, Route::Photo { .. }) => {
                ConnectorError::Unavailable(format!("{summary}; any stored photo is kept"))
            }
            (400..=499, Route::Users) => ConnectorError::InvalidConfig(format!(
                "{summary}; check the cloud and graph_host settings"
            )),
            _ => ConnectorError::Transient(format!("{summary}; this status was not expected")),
        }
    }
}

/// Parses `Retry-After` as whole seconds. The HTTP-date form, which Graph does not send, counts
/// as absent.
pub(crate) fn parse_retry_after(value: &str) -> Option<u32> {
    value.trim().parse().ok()
}

/// Sends `GET url` with the cached token; after a 401, renews the token once and repeats the
/// request. Returns the response when its status is 2xx.
pub(crate) fn get(settings: &Settings, url: &str) -> Result<Response, Failure> {
    let mut renewed = false;
    loop {
        let bearer = token::bearer(settings)?;
        let response = transport::get(url, &bearer)?;
        let status = response.status_code();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        if status == 401 && !renewed {
            host::log(
                LogLevel::Info,
                "Graph rejected the access token (HTTP 401); requesting a new one and retrying once",
            );
            token::invalidate();
            renewed = true;
            continue;
        }
        return Err(Failure::Status(read_status_error(&response, url)?));
    }
}

/// Sends `GET url` like [`get`] and parses the JSON body, which may have at most
/// [`MAX_JSON_BYTES`].
pub(crate) fn get_json<T: DeserializeOwned>(settings: &Settings, url: &str) -> Result<T, Failure> {
    let response = get(settings, url)?;
    let target = transport::without_query(url);
    let body = transport::read_body(&response, MAX_JSON_BYTES)
        .map_err(|error| body_error(target, error))?;
    parse_json(&body, target).map_err(Failure::Connector)
}

/// Parses a JSON response body. Malformed JSON is `transient`, naming the request and the defect.
pub(crate) fn parse_json<T: DeserializeOwned>(
    body: &[u8],
    target: &str,
) -> Result<T, ConnectorError> {
    serde_json::from_slice(body).map_err(|error| {
        ConnectorError::Transient(format!(
            "Graph returned malformed JSON for {target}: {error}"
        ))
    })
}

fn read_status_error(response: &Response, url: &str) -> Result<StatusError, ConnectorError> {
    let retry_after = transport::header(response, "retry-after");
    let body = match transport::read_body(response, MAX_ERROR_BODY_BYTES) {
        Ok(body) => body,
        // The status decides the mapping; an oversized error body only loses its message.
        Err(BodyError::TooLarge { .. }) => Vec::new(),
        Err(error) => return Err(body_error(transport::without_query(url), error)),
    };
    Ok(StatusError::parse(
        response.status_code(),
        retry_after,
        &body,
    ))
}

fn body_error(target: &str, error: BodyError) -> ConnectorError {
    match error {
        BodyError::TooLarge { cap } => {
            ConnectorError::Transient(format!("Graph returned more than {cap} bytes for {target}"))
        }
        BodyError::Read(reason) => {
            ConnectorError::Transient(format!("reading the response of {target} failed: {reason}"))
        }
    }
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "6e7b768e-07e2-4810-8459-485f84f8f204";
    const PHOTO: Route = Route::Photo { user_id: USER };

    fn graph_error(status: u16, code: &str, retry_after: Option<&str>) -> StatusError {
        let body = serde_json::json!({"error": {"code": code, "message": "Graph error text."}});
        StatusError::parse(status, retry_after, body.to_string().as_bytes())
    }

    fn mapped(status: u16, code: &str, route: Route) -> ConnectorError {
        graph_error(status, code, None).into_error(route)
    }

    #[test]
    fn error_document_parsed() {
        let error = graph_error(404, "ImageNotFound", None);
        assert_eq!(error.code, "ImageNotFound");
        assert_eq!(error.message, "Graph error text.");
    }

    #[test]
    fn non_json_body_kept_as_message() {
        let error = StatusError::parse(502, None, b"<html>Bad Gateway</html>");
        assert_eq!(error.code, "");
        assert_eq!(error.message, "<html>Bad Gateway</html>");
    }

    #[test]
    fn image_not_found_is_absent() {
        assert!(graph_error(404, "ImageNotFound", None).is_photo_absent());
    }

    #[test]
    fn entity_not_found_is_absent() {
        assert!(graph_error(404, "ErrorEntityNotFound", None).is_photo_absent());
    }

    #[test]
    fn item_not_found_is_absent() {
        assert!(graph_error(404, "ErrorItemNotFound", None).is_photo_absent());
    }

    #[test]
    fn missing_user_is_not_absent() {
        assert!(!graph_error(404, "Request_ResourceNotFound", None).is_photo_absent());
    }

    #[test]
    fn absent_code_needs_404() {
        assert!(!graph_error(400, "ImageNotFound", None).is_photo_absent());
    }

    #[test]
    fn missing_user_is_not_found() {
        let error = mapped(404, "Request_ResourceNotFound", PHOTO);
        let ConnectorError::NotFound(message) = error else {
            panic!("expected not-found, got {error:?}");
        };
        assert!(message.contains(USER), "{message}");
        assert!(
            message.contains("HTTP 404 Request_ResourceNotFound"),
            "{message}"
        );
    }

    #[test]
    fn unauthorized_after_renewal() {
        assert!(matches!(
            mapped(401, "InvalidAuthenticationToken", Route::Users),
            ConnectorError::Unauthorized(_)
        ));
    }

    #[test]
    fn list_forbidden_names_user_read_all() {
        let error = mapped(403, "Authorization_RequestDenied", Route::Users);
        let ConnectorError::Forbidden(message) = error else {
            panic!("expected forbidden, got {error:?}");
        };
        assert!(message.contains("User.Read.All"), "{message}");
        assert!(message.contains("grant admin consent"), "{message}");
    }

    #[test]
    fn photo_forbidden_names_photo_permission() {
        let error = mapped(403, "ErrorAccessDenied", PHOTO);
        let ConnectorError::Forbidden(message) = error else {
            panic!("expected forbidden, got {error:?}");
        };
        assert!(message.contains("ProfilePhoto.Read.All"), "{message}");
        assert!(message.contains(USER), "{message}");
    }

    #[test]
    fn forbidden_without_code() {
        let error = StatusError::parse(403, None, b"").into_error(PHOTO);
        assert!(matches!(error, ConnectorError::Forbidden(_)), "{error:?}");
    }

    #[test]
    fn throttled_with_retry_after() {
        let error = graph_error(429, "ApplicationThrottled", Some("12")).into_error(PHOTO);
        assert_eq!(error, ConnectorError::Throttled(12));
    }

    #[test]
    fn throttled_without_retry_after() {
        assert_eq!(
            mapped(429, "ApplicationThrottled", PHOTO),
            ConnectorError::Throttled(0)
        );
    }

    #[test]
    fn unavailable_with_retry_after_throttles() {
        let error = graph_error(503, "serviceNotAvailable", Some("5")).into_error(Route::Users);
        assert_eq!(error, ConnectorError::Throttled(5));
    }

    #[test]
    fn gateway_timeout_with_retry_after_throttles() {
        let error = graph_error(504, "gatewayTimeout", Some("3")).into_error(PHOTO);
        assert_eq!(error, ConnectorError::Throttled(3));
    }

    #[test]
    fn unavailable_without_retry_after_transient() {
        assert!(matches!(
            mapped(503, "serviceNotAvailable", PHOTO),
            ConnectorError::Transient(_)
        ));
    }

    #[test]
    fn server_error_transient() {
        assert!(matches!(
            mapped(500, "generalException", Route::Users),
            ConnectorError::Transient(_)
        ));
    }

    #[test]
    fn date_retry_after_ignored() {
        let error = graph_error(
            429,
            "TooManyRequests",
            Some("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(error.into_error(PHOTO), ConnectorError::Throttled(0));
    }

    #[test]
    fn authentication_error_unavailable() {
        let error = mapped(400, "AuthenticationError", PHOTO);
        let ConnectorError::Unavailable(message) = error else {
            panic!("expected unavailable, got {error:?}");
        };
        assert!(
            message.contains("HTTP 400 AuthenticationError"),
            "{message}"
        );
        assert!(message.contains(USER), "{message}");
    }

    #[test]
    fn mailbox_not_enabled_unavailable() {
        assert!(matches!(
            mapped(404, "MailboxNotEnabledForRESTAPI", PHOTO),
            ConnectorError::Unavailable(_)
        ));
    }

    #[test]
    fn nonexistent_mailbox_unavailable() {
        assert!(matches!(
            mapped(404, "ErrorNonExistentMailbox", PHOTO),
            ConnectorError::Unavailable(_)
        ));
    }

    #[test]
    fn list_bad_request_is_config_error() {
        assert!(matches!(
            mapped(400, "BadRequest", Route::Users),
            ConnectorError::InvalidConfig(_)
        ));
    }

    #[test]
    fn long_message_shortened() {
        let body = serde_json::json!({"error": {"code": "x", "message": "m".repeat(2000)}});
        let error = StatusError::parse(500, None, body.to_string().as_bytes());
        assert_eq!(error.message.chars().count(), MAX_MESSAGE_CHARS + 3);
    }

    #[test]
    fn malformed_json_transient() {
        let error = parse_json::<serde_json::Value>(
            b"{\"value\": [",
            "https://graph.microsoft.com/v1.0/users",
        );
        let Err(ConnectorError::Transient(message)) = error else {
            panic!("expected transient, got {error:?}");
        };
        assert!(message.contains("/v1.0/users"), "{message}");
        assert!(message.contains("EOF"), "{message}");
    }
}
