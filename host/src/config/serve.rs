//! The `[serve]` table: how `photosync serve` spreads, limits and stops the scheduled runs.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

/// Address the platform API listens on when `[serve] listen` is unset: loopback only, so
/// exposing the API to a network is an explicit choice (usually behind a TLS reverse proxy).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Runs at once when the table sets none: two keep a small host responsive while a large
/// tenant runs for hours.
const DEFAULT_MAX_CONCURRENT_TENANTS: usize = 2;
/// Upper bound of the per-tenant start offset when the table sets none, so a thousand tenants
/// with the same schedule spread their first Graph requests over ten minutes.
const DEFAULT_MAX_SCHEDULE_OFFSET_MINUTES: u64 = 10;
/// Largest allowed offset bound. A larger offset would move runs into another part of the day
/// than the configured schedule.
const MAX_SCHEDULE_OFFSET_MINUTES: u64 = 12 * 60;
/// Time a shutdown waits for running runs to stop at a safe point, when the table sets none.
/// It covers one in-flight photo request with its retry delay.
const DEFAULT_SHUTDOWN_GRACE_SECONDS: u64 = 30;

/// The `[serve]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServe {
    pub listen: Option<String>,
    pub max_concurrent_tenants: Option<usize>,
    pub max_schedule_offset_minutes: Option<u64>,
    pub shutdown_grace_seconds: Option<u64>,
}

/// Validated `[serve]` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServeSettings {
    /// Socket address of the platform API.
    pub listen: SocketAddr,
    /// Runs of different tenants going on at once; the others wait in the order they became due.
    pub max_concurrent_tenants: usize,
    /// Exclusive upper bound of each tenant's start offset after its schedule time; zero
    /// disables offsets.
    pub max_schedule_offset: Duration,
    /// Time a shutdown waits for running runs to stop before the process exits.
    pub shutdown_grace: Duration,
}

impl Default for ServeSettings {
    fn default() -> Self {
        ServeSettings {
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            max_concurrent_tenants: DEFAULT_MAX_CONCURRENT_TENANTS,
            max_schedule_offset: Duration::from_secs(DEFAULT_MAX_SCHEDULE_OFFSET_MINUTES * 60),
            shutdown_grace: Duration::from_secs(DEFAULT_SHUTDOWN_GRACE_SECONDS),
        }
    }
}

impl ServeSettings {
    pub(super) fn from_raw(raw: &RawServe) -> Result<ServeSettings, String> {
        let defaults = ServeSettings::default();
        if raw.max_concurrent_tenants == Some(0) {
            return Err("serve.max_concurrent_tenants must be at least 1".to_string());
        }
        if raw.shutdown_grace_seconds == Some(0) {
            return Err("serve.shutdown_grace_seconds must be at least 1".to_string());
        }
        let offset_minutes = raw
            .max_schedule_offset_minutes
            .unwrap_or(DEFAULT_MAX_SCHEDULE_OFFSET_MINUTES);
        if offset_minutes > MAX_SCHEDULE_OFFSET_MINUTES {
            return Err(format!(
                "serve.max_schedule_offset_minutes is {offset_minutes}, above the maximum of {MAX_SCHEDULE_OFFSET_MINUTES}; use a smaller value, or 0 to disable offsets"
            ));
        }
        let listen_text = raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen = listen_text.parse().map_err(|_| {
            format!("serve.listen: '{listen_text}' is not a socket address; write it as \"IP:PORT\", for example \"{DEFAULT_LISTEN}\"")
        })?;
        Ok(ServeSettings {
            listen,
            max_concurrent_tenants: raw
                .max_concurrent_tenants
                .unwrap_or(defaults.max_concurrent_tenants),
            max_schedule_offset: Duration::from_secs(offset_minutes * 60),
            shutdown_grace: raw
                .shutdown_grace_seconds
                .map_or(defaults.shutdown_grace, Duration::from_secs),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_table_gets_defaults() {
        let settings = ServeSettings::from_raw(&RawServe::default()).unwrap();
        assert_eq!(settings, ServeSettings::default());
    }

    #[test]
    fn zero_offset_disables_offsets() {
        let raw = RawServe {
            max_schedule_offset_minutes: Some(0),
            ..RawServe::default()
        };
        let settings = ServeSettings::from_raw(&raw).unwrap();
        assert_eq!(settings.max_schedule_offset, Duration::ZERO);
    }

    #[test]
    fn offset_above_half_day_is_rejected() {
        let raw = RawServe {
            max_schedule_offset_minutes: Some(721),
            ..RawServe::default()
        };
        let error = ServeSettings::from_raw(&raw).unwrap_err();
        assert!(error.contains("max_schedule_offset_minutes"));
    }

    #[test]
    fn listen_defaults_to_loopback() {
        let serve = ServeSettings::from_raw(&RawServe::default()).unwrap();
        assert_eq!(serve.listen.to_string(), DEFAULT_LISTEN);
    }

    #[test]
    fn host_name_listen_rejected() {
        let raw = RawServe {
            listen: Some("localhost:8080".to_string()),
            ..RawServe::default()
        };
        let error = ServeSettings::from_raw(&raw).unwrap_err();
        assert!(error.contains("IP:PORT"), "{error}");
    }
}
