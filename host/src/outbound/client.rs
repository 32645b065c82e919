//! The host's HTTP client for plugin requests: one HTTP/1.1 connection per request, over TLS
//! with the tenant's trusted roots for `https`, with the host's timeouts and body cap.
//!
//! It follows no redirects: a 3xx response goes back to the plugin as it is, and any request
//! the plugin makes to the `Location` passes the allow-list check again.

use std::sync::Arc;
use std::time::Duration;

use http::header::HOST;
use http::uri::Scheme;
use http::HeaderValue;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use wasmtime_wasi_http::{Error, WasiBody};

use super::body::{record_overflow, GuardedBody, OverflowFlag};

/// The host's bounds on one request.
pub struct RequestBounds {
    pub connect: Duration,
    pub first_byte: Duration,
    pub between_bytes: Duration,
    pub max_body_bytes: u64,
}

/// The error message of a failed TLS handshake, kept for the run record.
pub type TlsFailure = Arc<std::sync::Mutex<Option<String>>>;

trait Connection: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Connection for T {}

/// The future that reports the connection's I/O result after the response arrived.
pub type IoFuture = Box<dyn std::future::Future<Output = Result<(), Error>> + Send>;

/// Sends `request` and returns the response with a guarded body.
pub async fn send(
    mut request: http::Request<WasiBody>,
    bounds: RequestBounds,
    tls: Arc<ClientConfig>,
    overflow: OverflowFlag,
    tls_failure: TlsFailure,
) -> Result<(http::Response<WasiBody>, IoFuture), Error> {
    let uri = request.uri().clone();
    let host = uri
        .host()
        .ok_or(Error::HttpRequestUriInvalid)?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let use_tls = uri.scheme() == Some(&Scheme::HTTPS);
    let port = uri.port_u16().unwrap_or(if use_tls { 443 } else { 80 });

    let tcp = tokio::time::timeout(bounds.connect, TcpStream::connect((host.as_str(), port)))
        .await
        .map_err(|_| Error::ConnectionTimeout)?
        .map_err(Error::Connect)?;
    let stream: Box<dyn Connection> = if use_tls {
        let name = ServerName::try_from(host.clone())?;
        let connector = tokio_rustls::TlsConnector::from(tls);
        let handshake = tokio::time::timeout(bounds.connect, connector.connect(name, tcp))
            .await
            .map_err(|_| Error::ConnectionTimeout)?;
        match handshake {
            Ok(stream) => Box::new(stream),
            Err(error) => {
                *tls_failure
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(error.to_string());
                return Err(Error::Tls(error));
            }
        }
    } else {
        Box::new(tcp)
    };

    let (mut sender, connection) = tokio::time::timeout(
        bounds.connect,
        hyper::client::conn::http1::handshake(TokioIo::new(stream)),
    )
    .await
    .map_err(|_| Error::ConnectionTimeout)??;
    let io = tokio::spawn(connection);

    if !request.headers().contains_key(HOST) {
        let authority = uri.authority().map(|authority| authority.as_str());
        if let Some(value) = authority.and_then(|text| HeaderValue::from_str(text).ok()) {
            request.headers_mut().insert(HOST, value);
        }
    }
    // On an HTTP/1.1 connection to the origin the request line carries only the path.
    let path = uri.path_and_query().map_or("/", |path| path.as_str());
    *request.uri_mut() = http::Uri::builder()
        .path_and_query(path)
        .build()
        .map_err(|_| Error::HttpRequestUriInvalid)?;

    let response = tokio::time::timeout(bounds.first_byte, sender.send_request(request))
        .await
        .map_err(|_| Error::ConnectionReadTimeout)??;
    let declared = response
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse::<u64>().ok());
    if declared.is_some_and(|length| length > bounds.max_body_bytes) {
        record_overflow(&overflow, bounds.max_body_bytes);
        io.abort();
        return Err(Error::HttpResponseBodySize(declared));
    }
    let response = response.map(|incoming| {
        GuardedBody::new(
            incoming,
            bounds.between_bytes,
            bounds.max_body_bytes,
            overflow,
        )
        .boxed_unsync()
    });
    let io: IoFuture = Box::new(async move {
        match io.await {
            Ok(result) => result.map_err(Error::from),
            Err(_cancelled) => Ok(()),
        }
    });
    Ok((response, io))
}
