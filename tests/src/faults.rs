//! Failures and delays the simulator injects on request: throttling, server errors, missing
//! permissions, expired tokens and secrets, latency and empty pages.
//!
//! Every field has a default that injects nothing, so `{}` is a valid [`Faults`] document.
//! Setting faults restarts their progress: "every Nth request" and "after N requests" count
//! from that moment.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Lifetime of issued tokens, the identity platform's usual `expires_in` for app-only tokens.
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 3599;

/// The faults in force. `Faults::default()` injects none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Delay in milliseconds before every Graph and token response.
    pub latency_ms: u64,
    /// `/v1.0/users` returns 403 `Authorization_RequestDenied`, as without `User.Read.All`.
    pub forbid_users: bool,
    /// Both photo routes return 403 `ErrorAccessDenied`, as without `ProfilePhoto.Read.All`.
    pub forbid_photos: bool,
    /// Zero-based page indexes before which an empty page (no users, but a nextLink) comes.
    pub empty_pages_at: Vec<usize>,
    /// Every Nth photo request returns 429 `ApplicationThrottled`.
    pub throttle: Option<Throttle>,
    /// Every Nth photo request returns 503 with `Retry-After: 1`.
    pub server_errors: Option<ServerErrors>,
    /// Number of authorized Graph requests after which every token issued so far expires.
    /// Tokens issued later keep working. Fires once per [`Faults`] setting.
    pub expire_tokens_after_requests: Option<u64>,
    /// Lifetime in seconds of tokens issued from now on. With 0, new tokens are already expired.
    pub token_lifetime_secs: u64,
    /// The token endpoint returns AADSTS7000222 (expired client secret) for the right secret.
    pub secret_expired: bool,
    /// Photo requests beyond this many in flight return 429 with `Retry-After: 1`, like
    /// Graph's per-app concurrency limit for photos.
    pub max_concurrent_photo_requests: Option<u32>,
}

/// Throttling of photo requests, with metadata and `$value` requests counted together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Throttle {
    /// Period N: every Nth photo request is throttled. At least 1.
    pub every: u32,
    /// Seconds sent in `Retry-After`. Without a value, the header is left out.
    #[serde(default)]
    pub retry_after: Option<u32>,
    /// Maximum number of throttled responses, unlimited without a value.
    #[serde(default)]
    pub limit: Option<u32>,
}

/// 503 responses on photo requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerErrors {
    /// Period N: every Nth photo request fails. At least 1.
    pub every: u32,
    /// Maximum number of failed responses, unlimited without a value.
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A [`Faults`] value that cannot be applied.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("invalid faults: {0}")]
pub struct InvalidFaults(String);

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            latency_ms: 0,
            forbid_users: false,
            forbid_photos: false,
            empty_pages_at: Vec::new(),
            throttle: None,
            server_errors: None,
            expire_tokens_after_requests: None,
            token_lifetime_secs: DEFAULT_TOKEN_LIFETIME_SECS,
            secret_expired: false,
            max_concurrent_photo_requests: None,
        }
    }
}

impl Faults {
    /// Rejects periods of 0 and a concurrency limit of 0, which would make every request fail
    /// in a way no test intends.
    pub fn validate(&self) -> Result<(), InvalidFaults> {
        if self.throttle.as_ref().is_some_and(|t| t.every == 0) {
            return Err(InvalidFaults(
                "throttle.every is 0; use 1 to throttle every photo request".to_string(),
            ));
        }
        if self.server_errors.as_ref().is_some_and(|s| s.every == 0) {
            return Err(InvalidFaults(
                "server_errors.every is 0; use 1 to fail every photo request".to_string(),
            ));
        }
        if self.max_concurrent_photo_requests == Some(0) {
            return Err(InvalidFaults(
                "max_concurrent_photo_requests is 0; use forbid_photos to reject every photo \
                 request"
                    .to_string(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_document_is_default() {
        let faults: Faults = serde_json::from_str("{}").unwrap();
        assert_eq!(faults, Faults::default());
        assert_eq!(faults.token_lifetime_secs, 3599);
    }

    #[test]
    fn misspelled_fault_rejected() {
        let error = serde_json::from_str::<Faults>(r#"{"forbid_photo": true}"#).unwrap_err();
        assert!(error.to_string().contains("forbid_photo"), "{error}");
    }

    #[test]
    fn zero_throttle_period_rejected() {
        let faults = Faults {
            throttle: Some(Throttle {
                every: 0,
                retry_after: None,
                limit: None,
            }),
            ..Faults::default()
        };
        assert!(faults.validate().is_err());
    }

    #[test]
    fn zero_concurrency_rejected() {
        let faults = Faults {
            max_concurrent_photo_requests: Some(0),
            ..Faults::default()
        };
        assert!(faults.validate().is_err());
    }
}
