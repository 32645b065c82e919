//! The simulator's shared state: the directory with its photos, issued tokens, faults and
//! their progress, and counters, behind one mutex.
//!
//! Handlers lock it briefly and never hold the lock across an `.await`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::body::Bytes;
use axum::http::HeaderValue;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::counters::Counters;
use crate::faults::{Faults, InvalidFaults};
use crate::fixture::{Fixture, FixtureUser};
use crate::image_size::image_dimensions;

/// Number of hex digits of the SHA-256 that form a photo's etag.
const ETAG_HEX_DIGITS: usize = 16;

/// Errors of the control operations (library methods and `/_sim` routes).
#[derive(Debug, Error)]
pub(crate) enum ControlError {
    #[error("user {0} does not exist in the simulated directory")]
    UnknownUser(String),
    #[error("user {0} already exists in the simulated directory")]
    DuplicateUser(String),
    #[error("invalid photo content type {0:?}: use a MIME type such as image/jpeg")]
    InvalidContentType(String),
    #[error("invalid user: {0:#}")]
    InvalidUser(anyhow::Error),
    #[error(transparent)]
    InvalidFaults(#[from] InvalidFaults),
}

/// State shared by all handlers of one server.
pub(crate) struct SimState {
    /// `http://127.0.0.1:PORT`, the prefix of `@odata.context` and `@odata.nextLink`.
    pub(crate) base_url: String,
    pub(crate) tenant_id: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    /// The fixture's maximum page size.
    pub(crate) page_size: usize,
    inner: Mutex<Inner>,
}

/// The mutable part of [`SimState`].
pub(crate) struct Inner {
    pub(crate) users: HashMap<String, SimUser>,
    /// User ids in listing order.
    pub(crate) order: Vec<String>,
    pub(crate) faults: Faults,
    pub(crate) progress: FaultProgress,
    /// Issued access tokens. Expired ones are kept, so that a late request gets the
    /// expired-token message instead of the unknown-token one.
    pub(crate) tokens: HashMap<String, IssuedToken>,
    pub(crate) counters: Counters,
    pub(crate) in_flight_photo: u32,
}

/// How far the current faults have progressed since they were set.
#[derive(Debug, Default)]
pub(crate) struct FaultProgress {
    /// Photo requests that reached the throttle and server-error checks.
    pub(crate) photo_requests: u64,
    pub(crate) throttled: u32,
    pub(crate) server_errors: u32,
    /// Graph requests that presented a valid token.
    pub(crate) graph_requests: u64,
    /// Whether `expire_tokens_after_requests` has fired.
    pub(crate) tokens_expired: bool,
}

/// An access token this server issued.
#[derive(Debug)]
pub(crate) struct IssuedToken {
    pub(crate) expires_at: Instant,
    /// Set when the token-expiry fault ended the token before `expires_at`.
    pub(crate) revoked: bool,
}

/// A user in the directory and the photo it has now.
pub(crate) struct SimUser {
    /// The user's properties. `photo_bytes` is always `None` here because the bytes live in
    /// `photo`.
    pub(crate) user: FixtureUser,
    pub(crate) photo: Option<StoredPhoto>,
}

/// A user's photo with the metadata Graph reports for it.
#[derive(Clone, Debug)]
pub(crate) struct StoredPhoto {
    pub(crate) bytes: Bytes,
    pub(crate) content_type: HeaderValue,
    /// Quoted, as Graph writes `@odata.mediaEtag` and the `ETag` header.
    pub(crate) etag: String,
    pub(crate) width: Option<u32>,
    pub(crate) height: Option<u32>,
}

/// A photo request in flight. Dropping it decrements the in-flight count.
pub(crate) struct InFlightPhoto {
    state: Arc<SimState>,
    /// Whether the request arrived while `max_concurrent_photo_requests` others were in
    /// flight. Decided on arrival, before the latency delay, as a gateway would.
    pub(crate) over_limit: bool,
}

impl Drop for InFlightPhoto {
    fn drop(&mut self) {
        self.state.lock().in_flight_photo -= 1;
    }
}

/// Returns a photo's quoted etag: the first 16 hex digits, upper case, of
/// SHA-256(user id, bytes), so it changes whenever the bytes change.
pub(crate) fn photo_etag(user_id: &str, bytes: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(user_id.as_bytes());
    hasher.update(bytes);
    let digest = hex::encode_upper(hasher.finalize());
    format!("\"{}\"", &digest[..ETAG_HEX_DIGITS])
}

impl StoredPhoto {
    fn new(user_id: &str, bytes: Bytes, content_type: &str) -> Result<StoredPhoto, ControlError> {
        let content_type = HeaderValue::from_str(content_type)
            .map_err(|_| ControlError::InvalidContentType(content_type.to_string()))?;
        let dimensions = image_dimensions(&bytes);
        Ok(StoredPhoto {
            etag: photo_etag(user_id, &bytes),
            bytes,
            content_type,
            width: dimensions.map(|(width, _)| width),
            height: dimensions.map(|(_, height)| height),
        })
    }
}

impl SimUser {
    fn new(mut user: FixtureUser, shared: &mut SharedPhotos) -> Result<SimUser, ControlError> {
        let content_type = user.effective_content_type();
        let photo = match user.photo_bytes.take() {
            Some(bytes) => Some(StoredPhoto::new(
                &user.id,
                shared.share(bytes),
                &content_type,
            )?),
            None => None,
        };
        Ok(SimUser { user, photo })
    }
}

/// One buffer per distinct photo. Users of a large sample tenant cycle through a few photos,
/// so the server keeps each photo in memory once.
#[derive(Default)]
struct SharedPhotos(HashMap<Vec<u8>, Bytes>);

impl SharedPhotos {
    fn share(&mut self, bytes: Vec<u8>) -> Bytes {
        if let Some(shared) = self.0.get(&bytes) {
            return shared.clone();
        }
        let shared = Bytes::from(bytes.clone());
        self.0.insert(bytes, shared.clone());
        shared
    }
}

impl SimState {
    /// Builds the state for a validated fixture served at `base_url`.
    pub(crate) fn new(fixture: Fixture, base_url: String) -> anyhow::Result<SimState> {
        fixture.validate().context("invalid fixture")?;
        let mut users = HashMap::new();
        let mut order = Vec::new();
        let mut shared = SharedPhotos::default();
        for user in fixture.users {
            order.push(user.id.clone());
            users.insert(user.id.clone(), SimUser::new(user, &mut shared)?);
        }
        Ok(SimState {
            base_url,
            tenant_id: fixture.tenant_id,
            client_id: fixture.client_id,
            client_secret: fixture.client_secret,
            page_size: fixture.page_size,
            inner: Mutex::new(Inner {
                users,
                order,
                faults: Faults::default(),
                progress: FaultProgress::default(),
                tokens: HashMap::new(),
                counters: Counters::default(),
                in_flight_photo: 0,
            }),
        })
    }

    /// Locks the mutable state. A handler that panicked while holding the lock leaves
    /// consistent data behind, because every update is a single assignment or insert.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for the latency fault's delay.
    pub(crate) async fn delay(&self) {
        let latency = Duration::from_millis(self.lock().faults.latency_ms);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }

    /// Registers a photo request as in flight until the returned guard drops.
    pub(crate) fn enter_photo_request(self: &Arc<Self>) -> InFlightPhoto {
        let mut inner = self.lock();
        inner.in_flight_photo += 1;
        let in_flight = inner.in_flight_photo;
        let max_seen = &mut inner.counters.max_in_flight_photo;
        *max_seen = (*max_seen).max(in_flight);
        let over_limit = inner
            .faults
            .max_concurrent_photo_requests
            .is_some_and(|max| in_flight > max);
        InFlightPhoto {
            state: Arc::clone(self),
            over_limit,
        }
    }

    /// Replaces a user's photo and returns its new quoted etag.
    pub(crate) fn set_photo(
        &self,
        user_id: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<String, ControlError> {
        let photo = StoredPhoto::new(user_id, Bytes::from(bytes), content_type)?;
        let etag = photo.etag.clone();
        let mut inner = self.lock();
        let user = inner
            .users
            .get_mut(user_id)
            .ok_or_else(|| ControlError::UnknownUser(user_id.to_string()))?;
        user.photo = Some(photo);
        Ok(etag)
    }

    /// Removes a user's photo, so its photo requests return 404 `ImageNotFound`.
    pub(crate) fn remove_photo(&self, user_id: &str) -> Result<(), ControlError> {
        let mut inner = self.lock();
        let user = inner
            .users
            .get_mut(user_id)
            .ok_or_else(|| ControlError::UnknownUser(user_id.to_string()))?;
        user.photo = None;
        Ok(())
    }

    /// Removes a user from the directory.
    pub(crate) fn remove_user(&self, user_id: &str) -> Result<(), ControlError> {
        let mut inner = self.lock();
        if inner.users.remove(user_id).is_none() {
            return Err(ControlError::UnknownUser(user_id.to_string()));
        }
        inner.order.retain(|id| id != user_id);
        Ok(())
    }

    /// Adds a user at the end of the listing. `photo`, when given, replaces `photo_bytes`.
    pub(crate) fn add_user(
        &self,
        mut user: FixtureUser,
        photo: Option<Vec<u8>>,
    ) -> Result<(), ControlError> {
        if photo.is_some() {
            user.photo_bytes = photo;
        }
        user.validate().map_err(ControlError::InvalidUser)?;
        let id = user.id.clone();
        let sim_user = SimUser::new(user, &mut SharedPhotos::default())?;

        let mut inner = self.lock();
        if inner.users.contains_key(&id) {
            return Err(ControlError::DuplicateUser(id));
        }
        inner.order.push(id.clone());
        inner.users.insert(id, sim_user);
        Ok(())
    }

    /// Replaces the faults and restarts their progress.
    pub(crate) fn set_faults(&self, faults: Faults) -> Result<(), ControlError> {
        faults.validate()?;
        let mut inner = self.lock();
        inner.faults = faults;
        inner.progress = FaultProgress::default();
        Ok(())
    }

    pub(crate) fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    pub(crate) fn counters(&self) -> Counters {
        self.lock().counters.clone()
    }

    /// Zeroes the counters. Requests in flight stay counted as in flight.
    pub(crate) fn reset_counters(&self) {
        self.lock().counters = Counters::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_changes_with_bytes() {
        let first = photo_etag("user-1", b"one");
        assert_ne!(first, photo_etag("user-1", b"two"));
        assert_ne!(first, photo_etag("user-2", b"one"));
        assert_eq!(first, photo_etag("user-1", b"one"));
    }

    #[test]
    fn etag_is_quoted_upper_hex() {
        let etag = photo_etag("user-1", b"one");
        assert_eq!(etag.len(), ETAG_HEX_DIGITS + 2);
        assert!(etag.starts_with('"'), "{etag}");
        assert!(etag.ends_with('"'), "{etag}");
        let digits = etag.trim_matches('"');
        assert!(
            digits
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()),
            "{etag}"
        );
    }
}
