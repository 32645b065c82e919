//! Per-tenant limits on plugin calls and runs, with their defaults.

use std::time::Duration;

use super::raw::RawLimits;

/// Linear memory a tenant's plugin instance may grow to. A connector keeps one photo (at most
/// 4 MB in Microsoft 365) plus a page of users, so 64 MiB leaves ample room.
const DEFAULT_MEMORY_MIB: u64 = 64;
/// CPU time one plugin call may use before the epoch interrupt stops it.
const DEFAULT_CALL_CPU_SECONDS: u64 = 30;
/// Wall time one plugin call may take, HTTP waits included.
const DEFAULT_CALL_WALL_SECONDS: u64 = 120;
/// Wall time a whole run may take before it is stopped as failed.
const DEFAULT_RUN_SECONDS: u64 = 4 * 60 * 60;
/// Plugin instances fetching photos at once: Microsoft Graph allows about four concurrent
/// photo requests per app before it returns 429.
const DEFAULT_PARALLEL: usize = 4;
/// Attempts per photo after the first one, for throttling and transient errors.
const DEFAULT_RETRIES: u32 = 5;
/// Total time a run may spend waiting on throttling before it stops retrying.
const DEFAULT_THROTTLE_BUDGET_SECONDS: u64 = 15 * 60;

/// Largest response body the host passes to a plugin. A Graph photo is at most 4 MB and a page
/// of 999 users about 1 MB of JSON, so 8 MiB fits both with room to spare.
const DEFAULT_MAX_RESPONSE_MIB: u64 = 8;
/// Time a plugin's request may take to connect (TCP and TLS handshakes).
const DEFAULT_CONNECT_TIMEOUT_SECONDS: u64 = 10;
/// Time from sending a request to the first byte of the response.
const DEFAULT_FIRST_BYTE_TIMEOUT_SECONDS: u64 = 60;
/// Time allowed between two chunks of a response body.
const DEFAULT_BETWEEN_BYTES_TIMEOUT_SECONDS: u64 = 30;
/// Core wasm instances one plugin store may create. A Rust component built with wit-bindgen
/// instantiates about ten (its module, the WASI adapter shims and the canonical-ABI glue).
const DEFAULT_MAX_INSTANCES: usize = 50;
/// Tables one plugin store may create; a Rust component uses a handful.
const DEFAULT_MAX_TABLES: usize = 50;

/// Validated limits of one tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub memory_bytes: usize,
    pub call_cpu: Duration,
    pub call_wall: Duration,
    pub run_wall: Duration,
    pub parallel: usize,
    pub retries: u32,
    pub throttle_budget: Duration,
    /// Largest response body handed to the plugin, in bytes.
    pub max_response_bytes: u64,
    pub connect_timeout: Duration,
    pub first_byte_timeout: Duration,
    pub between_bytes_timeout: Duration,
    pub max_instances: usize,
    pub max_tables: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: (DEFAULT_MEMORY_MIB << 20) as usize,
            call_cpu: Duration::from_secs(DEFAULT_CALL_CPU_SECONDS),
            call_wall: Duration::from_secs(DEFAULT_CALL_WALL_SECONDS),
            run_wall: Duration::from_secs(DEFAULT_RUN_SECONDS),
            parallel: DEFAULT_PARALLEL,
            retries: DEFAULT_RETRIES,
            throttle_budget: Duration::from_secs(DEFAULT_THROTTLE_BUDGET_SECONDS),
            max_response_bytes: DEFAULT_MAX_RESPONSE_MIB << 20,
            connect_timeout: Duration::from_secs(DEFAULT_CONNECT_TIMEOUT_SECONDS),
            first_byte_timeout: Duration::from_secs(DEFAULT_FIRST_BYTE_TIMEOUT_SECONDS),
            between_bytes_timeout: Duration::from_secs(DEFAULT_BETWEEN_BYTES_TIMEOUT_SECONDS),
            max_instances: DEFAULT_MAX_INSTANCES,
            max_tables: DEFAULT_MAX_TABLES,
        }
    }
}

impl Limits {
    pub(super) fn from_raw(raw: &RawLimits) -> Result<Limits, String> {
        let defaults = Limits::default();
        let positive = |name: &str, value: Option<u64>| match value {
            Some(0) => Err(format!(
                "limits.{name} = 0 is invalid; use at least 1, or remove it for the default"
            )),
            other => Ok(other),
        };
        let memory_mib = positive("memory_mib", raw.memory_mib)?;
        let parallel = positive("parallel", raw.parallel.map(|value| value as u64))?;
        Ok(Limits {
            memory_bytes: memory_mib.map_or(defaults.memory_bytes, |mib| (mib << 20) as usize),
            call_cpu: positive("call_cpu_seconds", raw.call_cpu_seconds)?
                .map_or(defaults.call_cpu, Duration::from_secs),
            call_wall: positive("call_wall_seconds", raw.call_wall_seconds)?
                .map_or(defaults.call_wall, Duration::from_secs),
            run_wall: positive("run_seconds", raw.run_seconds)?
                .map_or(defaults.run_wall, Duration::from_secs),
            parallel: parallel.map_or(defaults.parallel, |value| value as usize),
            retries: raw.retries.unwrap_or(defaults.retries),
            throttle_budget: raw
                .throttle_budget_seconds
                .map_or(defaults.throttle_budget, Duration::from_secs),
            max_response_bytes: positive("max_response_mib", raw.max_response_mib)?
                .map_or(defaults.max_response_bytes, |mib| mib << 20),
            connect_timeout: positive("connect_timeout_seconds", raw.connect_timeout_seconds)?
                .map_or(defaults.connect_timeout, Duration::from_secs),
            first_byte_timeout: positive(
                "first_byte_timeout_seconds",
                raw.first_byte_timeout_seconds,
            )?
            .map_or(defaults.first_byte_timeout, Duration::from_secs),
            between_bytes_timeout: positive(
                "between_bytes_timeout_seconds",
                raw.between_bytes_timeout_seconds,
            )?
            .map_or(defaults.between_bytes_timeout, Duration::from_secs),
            max_instances: positive("max_instances", raw.max_instances.map(|value| value as u64))?
                .map_or(defaults.max_instances, |value| value as usize),
            max_tables: positive("max_tables", raw.max_tables.map(|value| value as u64))?
                .map_or(defaults.max_tables, |value| value as usize),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_cap_is_read_in_mib() {
        let raw = RawLimits {
            max_response_mib: Some(2),
            ..RawLimits::default()
        };
        assert_eq!(Limits::from_raw(&raw).unwrap().max_response_bytes, 2 << 20);
    }

    #[test]
    fn zero_connect_timeout_is_rejected() {
        let raw = RawLimits {
            connect_timeout_seconds: Some(0),
            ..RawLimits::default()
        };
        let error = Limits::from_raw(&raw).unwrap_err();
        assert!(error.contains("connect_timeout_seconds"), "{error}");
    }
}
