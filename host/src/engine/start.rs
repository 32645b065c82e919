//! Why a run did not start: the typed errors a scheduler branches on.

use thiserror::Error;
use time::OffsetDateTime;

/// A run that `run_tenant` did not start, for a reason other than a database failure.
#[derive(Debug, Error)]
pub enum StartError {
    /// Another host process, or another store in this one, holds the tenant's run lease.
    #[error("a run of tenant '{tenant}' is already in progress (held by {holder}); wait for it to finish, or for its lease to expire within {ttl_seconds} s if that host crashed")]
    LeaseTaken {
        tenant: String,
        holder: String,
        ttl_seconds: u64,
    },
    /// A scheduled run for this moment already ended, on this host or another one.
    #[error("tenant '{tenant}' already had its run for {moment}; the next scheduled run starts its next night")]
    AlreadyAttempted {
        tenant: String,
        moment: OffsetDateTime,
    },
}
