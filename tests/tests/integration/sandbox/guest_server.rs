//! A small HTTP server on loopback that the misbehaving guest downloads from. It returns bodies
//! of a chosen size, with or without `Content-Length`, and responses after a chosen delay.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::routing::get;
use axum::Router;

/// Bytes per chunk of a streamed body.
const STREAM_CHUNK_BYTES: usize = 64 * 1024;

/// A running server; its task ends with the test's runtime.
pub struct GuestServer {
    pub origin: String,
}

impl GuestServer {
    /// Starts the server on 127.0.0.1 with a free port.
    pub async fn start() -> GuestServer {
        let app = Router::new()
            .route("/sized/{bytes}", get(sized))
            .route("/stream/{bytes}", get(stream))
            .route("/slow/{millis}", get(slow))
            .route("/redirect/{port}", get(redirect));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        GuestServer { origin }
    }

    /// Returns the URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }
}

/// Returns a body of `bytes` bytes with `Content-Length`.
async fn sized(Path(bytes): Path<usize>) -> Vec<u8> {
    vec![b'x'; bytes]
}

/// Returns a body of `bytes` bytes sent in chunks, without `Content-Length`.
async fn stream(Path(bytes): Path<usize>) -> Body {
    let chunks = (0..bytes).step_by(STREAM_CHUNK_BYTES).map(move |start| {
        let length = STREAM_CHUNK_BYTES.min(bytes - start);
        Ok::<_, std::io::Error>(vec![b'x'; length])
    });
    Body::from_stream(futures_util::stream::iter(chunks))
}

/// Returns `ok` after `millis` milliseconds.
async fn slow(Path(millis): Path<u64>) -> &'static str {
    tokio::time::sleep(Duration::from_millis(millis)).await;
    "ok"
}

/// Redirects to `http://127.0.0.1:{port}/`, an origin the test leaves out of the allow-list.
async fn redirect(Path(port): Path<u16>) -> (StatusCode, [(header::HeaderName, String); 1]) {
    (
        StatusCode::FOUND,
        [(header::LOCATION, format!("http://127.0.0.1:{port}/"))],
    )
}
