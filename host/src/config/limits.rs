//! Per-tenant limits on plugin calls and runs, with their defaults.

use std::time::Duration;

use super::raw::RawLimits;

/// Linear memory a tenant's plugin instance may grow to. A connector holds one photo (at most
/// 4 MB in Microsoft 365) plus a page of users, so 64 MiB leaves ample room.
const DEFAULT_MEMORY_MIB: u64 = 64;
/// CPU time one plugin call may use before the epoch interrupt stops it.
const DEFAULT_CALL_CPU_SECONDS: u64 = 30;
/// Wall time one plugin call may take, HTTP waits included.
const DEFAULT_CALL_WALL_SECONDS: u64 = 120;
/// Wall time a whole run may take before it is stopped as failed.
const DEFAULT_RUN_SECONDS: u64 = 4 * 60 * 60;
/// Plugin instances fetching photos at once: Microsoft Graph allows about four concurrent
/// photo requests per app before it answers 429.
const DEFAULT_PARALLEL: usize = 4;
/// Attempts per photo after the first one, for throttling and transient errors.
const DEFAULT_RETRIES: u32 = 5;
/// Total time a run may spend waiting on throttling before it stops retrying.
const DEFAULT_THROTTLE_BUDGET_SECONDS: u64 = 15 * 60;

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
        })
    }
}
