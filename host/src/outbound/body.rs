//! The response body a plugin reads: bounded in size and in the time between two chunks.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::Sleep;
use wasmtime_wasi_http::Error;

/// Records that a response exceeded the size cap, so the host can tell the failure apart from
/// an ordinary transport error after the plugin call returns.
pub type OverflowFlag = Arc<Mutex<Option<u64>>>;

/// A response body that fails once more than `limit` bytes arrived, or when no chunk arrives
/// within `between_bytes`.
pub struct GuardedBody {
    incoming: Incoming,
    between_bytes: Duration,
    idle: Pin<Box<Sleep>>,
    received: u64,
    limit: u64,
    overflow: OverflowFlag,
}

impl GuardedBody {
    pub fn new(
        incoming: Incoming,
        between_bytes: Duration,
        limit: u64,
        overflow: OverflowFlag,
    ) -> GuardedBody {
        GuardedBody {
            incoming,
            between_bytes,
            idle: Box::pin(tokio::time::sleep(between_bytes)),
            received: 0,
            limit,
            overflow,
        }
    }
}

impl Body for GuardedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.incoming).poll_frame(context) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                    if this.received > this.limit {
                        record_overflow(&this.overflow, this.limit);
                        return Poll::Ready(Some(Err(Error::HttpResponseBodySize(Some(
                            this.received,
                        )))));
                    }
                }
                let deadline = tokio::time::Instant::now() + this.between_bytes;
                this.idle.as_mut().reset(deadline);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(Error::from(error)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this.idle.as_mut().poll(context) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Error::ConnectionReadTimeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}

/// Stores the cap that a response exceeded.
pub fn record_overflow(overflow: &OverflowFlag, limit: u64) {
    *overflow
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(limit);
}
