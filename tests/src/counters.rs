//! Request counters that tests and the benchmark read to check how a client used Graph.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Counts since the server started or since the last reset.
///
/// Photo counters include requests that received an error response. The error counters
/// (`throttled`, `forbidden`, ...) count responses by status over all Graph routes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Counters {
    /// Requests to the token endpoint, successful or not.
    pub token_requests: u64,
    /// Tokens issued.
    pub tokens_issued: u64,
    /// `/v1.0/users` pages returned, empty pages included.
    pub user_pages: u64,
    /// Authorized requests for photo metadata (`/users/{id}/photo`).
    pub photo_metadata: u64,
    /// Authorized requests for photo bytes (`/users/{id}/photo/$value`).
    pub photo_value: u64,
    /// 429 responses.
    pub throttled: u64,
    /// 5xx responses.
    pub server_errors: u64,
    /// 403 responses.
    pub forbidden: u64,
    /// 401 responses from Graph routes (token endpoint errors are not counted here).
    pub unauthorized: u64,
    /// 404 responses.
    pub not_found: u64,
    /// Maximum number of photo requests in flight at once, rejected ones included.
    pub max_in_flight_photo: u32,
    /// Photo metadata requests per user id.
    pub photo_metadata_by_user: BTreeMap<String, u64>,
    /// Photo bytes requests per user id.
    pub photo_value_by_user: BTreeMap<String, u64>,
}

impl Counters {
    /// Counts an error response by its status.
    pub(crate) fn count_status(&mut self, status: u16) {
        match status {
            401 => self.unauthorized += 1,
            403 => self.forbidden += 1,
            404 => self.not_found += 1,
            429 => self.throttled += 1,
            500..=599 => self.server_errors += 1,
            _ => {}
        }
    }
}
