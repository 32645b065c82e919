//! HTTP over wasi:http through `waki`: sending one request, reading a body under a size cap, and
//! turning transport failures into connector errors. Tokens and Graph semantics live elsewhere.
//!
//! Every request is logged at debug level as method, origin and path. The query string is left
//! out of logs and messages, and so are headers and bodies, which carry the token and the secret.

use std::fmt;
use std::time::Duration;

use waki::{Client, ErrorCode, Response};

use crate::origin::Origin;
use crate::photosync::connector::host;
use crate::photosync::connector::types::{ConnectorError, LogLevel};

/// Time allowed for opening a connection. waki 0.5.1 exposes no first-byte or read timeout, so
/// the host's wall-clock limit per plugin call bounds a stalled response.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes requested per read from a response body.
const READ_CHUNK_BYTES: u64 = 64 * 1024;

/// Failure to read a whole response body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// The body has more bytes than the cap; reading stopped after `cap + 1` bytes.
    TooLarge { cap: u64 },
    /// The stream failed before its end.
    Read(String),
}

/// Sends `GET url` with a bearer token.
pub(crate) fn get(url: &str, bearer: &str) -> Result<Response, ConnectorError> {
    log_request("GET", url);
    Client::new()
        .get(url)
        .header("Authorization", format!("Bearer {bearer}"))
        .connect_timeout(CONNECT_TIMEOUT)
        .send()
        .map_err(|error| send_error("GET", url, &error))
}

/// Sends `POST url` with a form-encoded body.
pub(crate) fn post_form(url: &str, form: &[(&str, &str)]) -> Result<Response, ConnectorError> {
    log_request("POST", url);
    Client::new()
        .post(url)
        .form(form)
        .connect_timeout(CONNECT_TIMEOUT)
        .send()
        .map_err(|error| send_error("POST", url, &error))
}

/// Reads a response body, stopping as soon as it exceeds `cap` bytes.
pub(crate) fn read_body(response: &Response, cap: u64) -> Result<Vec<u8>, BodyError> {
    read_capped(|len| response.chunk(len), cap)
}

/// Returns a response header as text, or `None` when it is absent or not visible ASCII.
pub(crate) fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.header(name)?.to_str().ok()
}

/// Collects chunks from `next_chunk` (called with the most bytes it may return, `None` at the
/// end) and fails with [`BodyError::TooLarge`] once more than `cap` bytes arrived. At most
/// `cap + 1` bytes are ever buffered.
pub(crate) fn read_capped<E: fmt::Display>(
    mut next_chunk: impl FnMut(u64) -> Result<Option<Vec<u8>>, E>,
    cap: u64,
) -> Result<Vec<u8>, BodyError> {
    let mut body = Vec::new();
    loop {
        let room = cap + 1 - body.len() as u64;
        let chunk = next_chunk(room.min(READ_CHUNK_BYTES))
            .map_err(|error| BodyError::Read(error.to_string()))?;
        let Some(chunk) = chunk else {
            return Ok(body);
        };
        body.extend_from_slice(&chunk);
        if body.len() as u64 > cap {
            return Err(BodyError::TooLarge { cap });
        }
    }
}

/// Returns `url` without its query: what logs and messages may show of a request.
pub(crate) fn without_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(target, _)| target)
}

fn log_request(method: &str, url: &str) {
    host::log(LogLevel::Debug, &format!("{method} {}", without_query(url)));
}

/// Maps a failed send. A request the host's allow-list denied is a configuration problem; any
/// other failure (refused connection, DNS, timeout, reset) may pass, so it is transient.
fn send_error(method: &str, url: &str, error: &anyhow::Error) -> ConnectorError {
    let target = without_query(url);
    match error.downcast_ref::<ErrorCode>() {
        Some(ErrorCode::HttpRequestDenied) => {
            let origin = Origin::of_url(url).map_or_else(|| target.to_string(), |o| o.to_string());
            ConnectorError::InvalidConfig(format!(
                "the host denied {method} {target}; add {origin} to the tenant's allowed hosts \
                 or correct the cloud, login_host and graph_host settings"
            ))
        }
        Some(code) => ConnectorError::Transient(format!("{method} {target} failed: {code:?}")),
        None => ConnectorError::Transient(format!("{method} {target} failed: {error:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves `data` in chunks of at most `size` bytes, like a body stream.
    fn chunks_of(
        data: &[u8],
        size: usize,
    ) -> impl FnMut(u64) -> Result<Option<Vec<u8>>, String> + '_ {
        let mut offset = 0;
        move |max| {
            if offset == data.len() {
                return Ok(None);
            }
            let len = size.min(max as usize).min(data.len() - offset);
            let chunk = data[offset..offset + len].to_vec();
            offset += len;
            Ok(Some(chunk))
        }
    }

    #[test]
    fn body_under_cap_read() {
        let data = vec![7u8; 1000];
        assert_eq!(read_capped(chunks_of(&data, 300), 1000), Ok(data));
    }

    #[test]
    fn body_over_cap_rejected() {
        let data = vec![7u8; 1001];
        assert_eq!(
            read_capped(chunks_of(&data, 300), 1000),
            Err(BodyError::TooLarge { cap: 1000 })
        );
    }

    #[test]
    fn reading_stops_past_cap() {
        let mut requested = 0;
        let mut endless = |max: u64| -> Result<Option<Vec<u8>>, String> {
            requested += max;
            Ok(Some(vec![0u8; max as usize]))
        };
        assert!(read_capped(&mut endless, 200_000).is_err());
        assert_eq!(requested, 200_001);
    }

    #[test]
    fn empty_body_read() {
        assert_eq!(read_capped(chunks_of(&[], 10), 10), Ok(Vec::new()));
    }

    #[test]
    fn stream_error_reported() {
        let failing =
            |_: u64| -> Result<Option<Vec<u8>>, String> { Err("connection reset".into()) };
        assert_eq!(
            read_capped(failing, 10),
            Err(BodyError::Read("connection reset".into()))
        );
    }

    #[test]
    fn query_left_out() {
        assert_eq!(
            without_query("https://graph.microsoft.com/v1.0/users?$skiptoken=x"),
            "https://graph.microsoft.com/v1.0/users"
        );
    }

    #[test]
    fn denied_request_is_config_error() {
        let error = anyhow::Error::new(ErrorCode::HttpRequestDenied);
        let mapped = send_error("GET", "https://blocked.invalid/v1.0/users?$top=1", &error);
        let ConnectorError::InvalidConfig(message) = mapped else {
            panic!("expected invalid-config, got {mapped:?}");
        };
        assert!(message.contains("https://blocked.invalid"), "{message}");
        assert!(!message.contains("$top"), "{message}");
    }

    #[test]
    fn refused_connection_is_transient() {
        let error = anyhow::Error::new(ErrorCode::ConnectionRefused);
        let mapped = send_error("GET", "http://127.0.0.1:9/v1.0/users", &error);
        assert!(matches!(mapped, ConnectorError::Transient(_)), "{mapped:?}");
    }
}
