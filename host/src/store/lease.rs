//! Run leases: at most one run per tenant at a time, across every host process sharing the database.
//!
//! A lease row names its holder (`hostname:pid:sequence`, unique per acquisition, so two runs in
//! one process exclude each other too) and an expiry. A holder renews it while its run goes on; a crashed holder stops renewing, so its lease expires. A holder on this machine whose
//! process is gone is treated as expired at once, so a restart after a crash does not wait.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::Store;

/// A held lease; release it with `Store::release_lease`.
#[derive(Clone, Debug)]
pub struct Lease {
    pub tenant: String,
    pub holder: String,
}

impl Store {
    /// Takes the run lease of `tenant` for `ttl`, or returns the current holder when it is taken.
    pub fn acquire_lease(&self, tenant: &str, ttl: Duration) -> Result<Result<Lease, String>> {
        let holder = new_holder_id();
        let mut connection = self.connection();
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: Option<(String, i64)> = transaction
            .query_row(
                "SELECT holder, expires_at FROM leases WHERE tenant = ?1",
                [tenant],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        if let Some((current_holder, expires_at)) = current {
            if expires_at > unix_now() && !holder_is_dead(&current_holder) {
                return Ok(Err(current_holder));
            }
        }
        transaction.execute(
            "INSERT INTO leases (tenant, holder, expires_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (tenant) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at",
            params![tenant, holder, unix_now() + ttl.as_secs() as i64],
        )?;
        transaction.commit()?;
        Ok(Ok(Lease {
            tenant: tenant.to_string(),
            holder,
        }))
    }

    /// Extends a held lease by `ttl` from now; fails when another holder took it over.
    pub fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<()> {
        let connection = self.connection();
        let updated = connection.execute(
            "UPDATE leases SET expires_at = ?3 WHERE tenant = ?1 AND holder = ?2",
            params![
                lease.tenant,
                lease.holder,
                unix_now() + ttl.as_secs() as i64
            ],
        )?;
        if updated == 0 {
            anyhow::bail!(
                "the run lease of tenant '{}' was taken over by another host",
                lease.tenant
            );
        }
        Ok(())
    }

    /// Gives a lease back so the next run can start at once.
    pub fn release_lease(&self, lease: &Lease) -> Result<()> {
        let connection = self.connection();
        connection.execute(
            "DELETE FROM leases WHERE tenant = ?1 AND holder = ?2",
            params![lease.tenant, lease.holder],
        )?;
        Ok(())
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or_default()
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_else(|_| "localhost".to_string())
}

/// Returns a new holder id. Each acquisition gets its own, so two runs of one tenant in one
/// process (a scheduled run and one started through the API) exclude each other like two
/// processes do.
fn new_holder_id() -> String {
    static ACQUISITIONS: AtomicU64 = AtomicU64::new(0);
    let sequence = ACQUISITIONS.fetch_add(1, Ordering::Relaxed);
    format!("{}:{}:{sequence}", hostname(), std::process::id())
}

/// Tells whether a holder ran on this machine and its process no longer exists. Reads both
/// `hostname:pid:sequence` and the older `hostname:pid`.
fn holder_is_dead(holder: &str) -> bool {
    let mut parts = holder.split(':');
    let (Some(host), Some(pid)) = (parts.next(), parts.next()) else {
        return false;
    };
    if host != hostname() || !cfg!(target_os = "linux") {
        return false;
    }
    !std::path::Path::new("/proc").join(pid).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        store
            .acquire_lease("contoso", Duration::from_secs(60))
            .unwrap()
            .unwrap();
        let connection = store.connection();
        connection
            .execute(
                "UPDATE leases SET holder = 'other-host:1' WHERE tenant = 'contoso'",
                [],
            )
            .unwrap();
        drop(connection);
        let refused = store
            .acquire_lease("contoso", Duration::from_secs(60))
            .unwrap();
        assert_eq!(refused.unwrap_err(), "other-host:1");
    }

    #[test]
    fn dead_local_holder_is_replaced() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let connection = store.connection();
        // Linux pids never exceed 2^22, so this process cannot exist.
        let dead = format!("{}:99999999:0", hostname());
        connection
            .execute(
                "INSERT INTO leases (tenant, holder, expires_at) VALUES ('contoso', ?1, ?2)",
                params![dead, unix_now() + 600],
            )
            .unwrap();
        drop(connection);
        let lease = store
            .acquire_lease("contoso", Duration::from_secs(60))
            .unwrap();
        assert!(lease.is_ok());
    }

    #[test]
    fn second_store_in_process_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let first = Store::open(directory.path()).unwrap();
        let second = Store::open(directory.path()).unwrap();
        first
            .acquire_lease("contoso", Duration::from_secs(60))
            .unwrap()
            .unwrap();
        let refused = second
            .acquire_lease("contoso", Duration::from_secs(60))
            .unwrap();
        assert!(refused.is_err());
    }

    #[test]
    fn dead_holder_without_store_number_is_replaced() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let connection = store.connection();
        let dead = format!("{}:99999999", hostname());
        connection
            .execute(
                "INSERT INTO leases (tenant, holder, expires_at) VALUES ('contoso', ?1, ?2)",
                params![dead, unix_now() + 600],
            )
            .unwrap();
        drop(connection);
        let lease = store
            .acquire_lease("contoso", Duration::from_secs(60))
            .unwrap();
        assert!(lease.is_ok());
    }

    #[test]
    fn second_lease_in_same_process_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let first = store
            .acquire_lease("contoso", Duration::from_secs(60))
            .unwrap()
            .unwrap();
        let second = store
            .acquire_lease("contoso", Duration::from_secs(60))
            .unwrap();
        assert_eq!(second.unwrap_err(), first.holder);
    }

    #[test]
    fn released_lease_is_free() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let lease = store
            .acquire_lease("contoso", Duration::from_secs(60))
            .unwrap()
            .unwrap();
        store.release_lease(&lease).unwrap();
        let connection = store.connection();
        let count: i64 = connection
            .query_row("SELECT COUNT(*) FROM leases", [], |row| row.get(0))
            .unwrap();
        assert_eq!(count, 0);
    }
}
