//! The plugin's stdout and stderr, written to the host log one line at a time, tagged with the
//! tenant and plugin and with the tenant's secrets redacted.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

use crate::config::Settings;

/// Maximum line length in bytes. Output without a newline is logged in pieces of this size, so
/// a plugin cannot make the host buffer without bound.
const MAX_LINE_BYTES: usize = 4096;

/// The standard stream a [`LogStream`] replaces.
#[derive(Clone, Copy, Debug)]
pub enum StdStream {
    Stdout,
    Stderr,
}

/// A guest output stream that logs each line at info (stdout) or warn (stderr) level.
#[derive(Clone)]
pub struct LogStream {
    stream: StdStream,
    tenant: Arc<str>,
    /// The component file name; the connector's `name version` is not known before `describe`.
    plugin: Arc<str>,
    settings: Arc<Settings>,
    pending: Arc<Mutex<Vec<u8>>>,
}

impl LogStream {
    pub fn new(
        stream: StdStream,
        tenant: Arc<str>,
        plugin: Arc<str>,
        settings: Arc<Settings>,
    ) -> LogStream {
        LogStream {
            stream,
            tenant,
            plugin,
            settings,
            pending: Arc::default(),
        }
    }

    fn emit(&self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let text = self.settings.redact(text.trim_end_matches('\r'));
        let (tenant, plugin) = (&*self.tenant, &*self.plugin);
        match self.stream {
            StdStream::Stdout => tracing::info!(tenant, plugin, stream = "stdout", "{text}"),
            StdStream::Stderr => tracing::warn!(tenant, plugin, stream = "stderr", "{text}"),
        }
    }

    fn write_bytes(&self, bytes: &[u8]) {
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        pending.extend_from_slice(bytes);
        while let Some(end) = pending.iter().position(|&byte| byte == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            self.emit(&line[..line.len() - 1]);
        }
        while pending.len() >= MAX_LINE_BYTES {
            let piece: Vec<u8> = pending.drain(..MAX_LINE_BYTES).collect();
            self.emit(&piece);
        }
    }
}

impl IsTerminal for LogStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogStream {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for LogStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _context: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write_bytes(bytes);
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
