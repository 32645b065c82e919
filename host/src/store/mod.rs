//! Durable state: the SQLite metadata database and the content-addressed photo files.
//!
//! The store owns crash safety. Photo bytes are written to their final blob path before any row
//! points at them, and rows change only in transactions, so a crash at any point leaves every
//! previously stored photo intact and readable. It does not decide what to store: the engine does.

mod blobs;
mod lease;
mod photos;
mod runs;
mod users;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use anyhow::{Context, Result};
use rusqlite::Connection;

pub use blobs::BlobRef;
pub use lease::Lease;
pub use photos::{LocalPhoto, PhotoChange, PhotoSource, StoredPhoto};
pub use runs::{RunCounts, RunFailure, RunOutcome, RunRecord, RunStatus, Trigger};
pub use users::DirectoryUser;

/// Schema version written to `PRAGMA user_version`; bump it with a migration when the schema changes.
/// Version 2 adds `runs.scheduled_for`.
const SCHEMA_VERSION: i64 = 2;

/// How long a writer waits for another process's lock on the database before failing.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The metadata database plus the blob directory, both under one data directory.
pub struct Store {
    connection: Mutex<Connection>,
    root: PathBuf,
}

impl Store {
    /// Opens (creating when missing) `photosync.db` and `blobs/` under `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("failed to create data directory {}", data_dir.display()))?;
        let path = data_dir.join("photosync.db");
        let connection = Connection::open(&path)
            .with_context(|| format!("failed to open database {}", path.display()))?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        // WAL lets `status` read while a run writes; FULL makes each commit durable on return.
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&connection).with_context(|| format!("failed to migrate {}", path.display()))?;
        Ok(Store {
            connection: Mutex::new(connection),
            root: data_dir.to_path_buf(),
        })
    }

    /// Returns the data directory this store was opened on.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn connection(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll
        // back on drop), so a poisoned lock is still safe to use.
        self.connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn migrate(connection: &Connection) -> Result<()> {
    let version: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version > SCHEMA_VERSION {
        anyhow::bail!(
            "database schema version {version} is newer than this photosync understands \
             ({SCHEMA_VERSION}); upgrade photosync"
        );
    }
    connection.execute_batch(include_str!("schema.sql"))?;
    if version < 2 {
        // `schema.sql` creates version-1 tables, so a new database takes this step too.
        connection.execute_batch("ALTER TABLE runs ADD COLUMN scheduled_for INTEGER")?;
    }
    connection.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    Ok(())
}

/// Returns the current time as an RFC 3339 UTC timestamp, the format of every time column.
pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_one_database_gains_scheduled_for() {
        let directory = tempfile::tempdir().unwrap();
        let connection = Connection::open(directory.path().join("photosync.db")).unwrap();
        connection
            .execute_batch(include_str!("schema.sql"))
            .unwrap();
        connection.pragma_update(None, "user_version", 1).unwrap();
        drop(connection);

        let store = Store::open(directory.path()).unwrap();

        let connection = store.connection();
        let version: i64 = connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let columns: i64 = connection
            .query_row(
                "SELECT COUNT(*) FROM pragma_table_info('runs') WHERE name = 'scheduled_for'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(columns, 1);
    }

    #[test]
    fn reopened_database_keeps_schema() {
        let directory = tempfile::tempdir().unwrap();
        drop(Store::open(directory.path()).unwrap());
        assert!(Store::open(directory.path()).is_ok());
    }
}
