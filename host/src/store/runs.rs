//! Run records: one row per run of one tenant, with its counts and per-user failures.

use anyhow::Result;
use rusqlite::{params, Row};
use serde::Serialize;
use time::OffsetDateTime;

use super::{now_rfc3339, Store};

/// The origin of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// `photosync sync` or the API's "run now".
    Manual,
    /// The daily schedule.
    Schedule,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Schedule => "schedule",
        }
    }
}

/// The end state of a run, or `Running` while it goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    /// Every in-scope user was handled.
    Succeeded,
    /// The run completed, but some users failed; each failure is recorded.
    Partial,
    /// The run stopped early (credentials, permissions, listing, sandbox): nothing was changed.
    Failed,
    /// The host stopped before the run ended; nothing of it was committed.
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }

    fn parse(text: &str) -> RunStatus {
        match text {
            "succeeded" => RunStatus::Succeeded,
            "partial" => RunStatus::Partial,
            "failed" => RunStatus::Failed,
            "interrupted" => RunStatus::Interrupted,
            _ => RunStatus::Running,
        }
    }
}

/// Per-run user counts. Every listed user lands in exactly one of `out_of_scope`, `unchanged`,
/// `downloaded`, `no_photo` or `failed`; `removed` also counts users who left the directory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunCounts {
    pub listed: u64,
    pub in_scope: u64,
    pub out_of_scope: u64,
    pub unchanged: u64,
    pub downloaded: u64,
    pub removed: u64,
    pub no_photo: u64,
    pub failed: u64,
    /// Requests the host repeated after throttling or a transient error.
    pub retries: u64,
}

/// The reason one user's photo did not sync in a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunFailure {
    pub user_id: String,
    pub principal_name: Option<String>,
    /// The connector error kind, such as `unavailable` or `invalid_photo`.
    pub kind: String,
    pub message: String,
}

/// A stored run with its failures.
#[derive(Clone, Debug, Serialize)]
pub struct RunRecord {
    pub id: i64,
    pub tenant: String,
    pub trigger: Trigger,
    pub dry_run: bool,
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub plugin: Option<String>,
    pub counts: RunCounts,
    pub error_kind: Option<String>,
    pub error_message: Option<String>,
    pub failures: Vec<RunFailure>,
}

/// The end of a run, as `finish_run` records it.
#[derive(Clone, Debug)]
pub struct RunOutcome<'a> {
    pub status: RunStatus,
    pub plugin: Option<&'a str>,
    pub counts: &'a RunCounts,
    pub error: Option<(&'a str, &'a str)>,
    pub failures: &'a [RunFailure],
}

impl Store {
    /// Records the start of a run and returns its id. `scheduled_for` is the scheduled moment
    /// a scheduled run serves, which can be hours before it starts when it catches up.
    pub fn begin_run(
        &self,
        tenant: &str,
        trigger: Trigger,
        dry_run: bool,
        scheduled_for: Option<OffsetDateTime>,
    ) -> Result<i64> {
        let connection = self.connection();
        connection.execute(
            "INSERT INTO runs (tenant, trigger_kind, dry_run, status, started_at, scheduled_for)
             VALUES (?1, ?2, ?3, 'running', ?4, ?5)",
            params![
                tenant,
                trigger.as_str(),
                dry_run,
                now_rfc3339(),
                scheduled_for.map(OffsetDateTime::unix_timestamp)
            ],
        )?;
        Ok(connection.last_insert_rowid())
    }

    /// Returns the latest scheduled moment of `tenant` that a scheduled run attempted: one that
    /// ended `succeeded`, `partial` or `failed`. Interrupted, running and dry runs do not count,
    /// and neither do manual runs.
    ///
    /// Runs record the moment they serve in `scheduled_for` because `started_at` cannot tell it:
    /// a catch-up run starts long after its moment. Runs written before schema version 2 have
    /// no `scheduled_for`, so their `started_at` is used instead. It is at or after their moment.
    pub fn last_attempted_moment(&self, tenant: &str) -> Result<Option<OffsetDateTime>> {
        let connection = self.connection();
        let latest: Option<i64> = connection.query_row(
            "SELECT MAX(COALESCE(scheduled_for, CAST(strftime('%s', started_at) AS INTEGER)))
             FROM runs
             WHERE tenant = ?1 AND trigger_kind = 'schedule' AND dry_run = 0
                   AND status IN ('succeeded', 'partial', 'failed')",
            [tenant],
            |row| row.get(0),
        )?;
        latest
            .map(OffsetDateTime::from_unix_timestamp)
            .transpose()
            .map_err(|error| anyhow::anyhow!("invalid scheduled_for in the runs table: {error}"))
    }

    /// Records how a run ended, with its counts and failures, in one transaction.
    pub fn finish_run(&self, run_id: i64, outcome: &RunOutcome<'_>) -> Result<()> {
        let mut connection = self.connection();
        let transaction = connection.transaction()?;
        let counts = outcome.counts;
        let (error_kind, error_message) = outcome.error.unzip();
        transaction.execute(
            "UPDATE runs SET status = ?2, finished_at = ?3, plugin = ?4, listed = ?5, in_scope = ?6,
                 out_of_scope = ?7, unchanged = ?8, downloaded = ?9, removed = ?10, no_photo = ?11,
                 failed = ?12, retries = ?13, error_kind = ?14, error_message = ?15
             WHERE id = ?1",
            params![
                run_id,
                outcome.status.as_str(),
                now_rfc3339(),
                outcome.plugin,
                counts.listed as i64,
                counts.in_scope as i64,
                counts.out_of_scope as i64,
                counts.unchanged as i64,
                counts.downloaded as i64,
                counts.removed as i64,
                counts.no_photo as i64,
                counts.failed as i64,
                counts.retries as i64,
                error_kind,
                error_message,
            ],
        )?;
        {
            let mut insert = transaction.prepare(
                "INSERT INTO run_failures (run_id, user_id, principal_name, kind, message) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for failure in outcome.failures {
                insert.execute(params![
                    run_id,
                    failure.user_id,
                    failure.principal_name,
                    failure.kind,
                    failure.message
                ])?;
            }
        }
        transaction.commit()?;
        Ok(())
    }

    /// Marks runs of `tenant` still recorded as running as interrupted; returns how many.
    ///
    /// Only call this while holding the tenant's lease, so no live run is among them.
    pub fn mark_abandoned_runs(&self, tenant: &str) -> Result<usize> {
        let connection = self.connection();
        let count = connection.execute(
            "UPDATE runs SET status = 'interrupted', finished_at = ?2,
                 error_kind = 'interrupted', error_message = 'the host stopped before the run ended'
             WHERE tenant = ?1 AND status = 'running'",
            params![tenant, now_rfc3339()],
        )?;
        Ok(count)
    }

    /// Returns the latest `limit` runs, newest first, of one tenant or of all.
    pub fn recent_runs(&self, tenant: Option<&str>, limit: usize) -> Result<Vec<RunRecord>> {
        let connection = self.connection();
        let mut statement = connection.prepare(
            "SELECT id, tenant, trigger_kind, dry_run, status, started_at, finished_at, plugin,
                    listed, in_scope, out_of_scope, unchanged, downloaded, removed, no_photo, failed,
                    retries, error_kind, error_message
             FROM runs WHERE (?1 IS NULL OR tenant = ?1) ORDER BY id DESC LIMIT ?2",
        )?;
        let mut runs = statement
            .query_map(params![tenant, limit as i64], read_run)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut failures = connection.prepare(
            "SELECT user_id, principal_name, kind, message FROM run_failures WHERE run_id = ?1 ORDER BY rowid",
        )?;
        for run in &mut runs {
            run.failures = failures
                .query_map([run.id], |row| {
                    Ok(RunFailure {
                        user_id: row.get(0)?,
                        principal_name: row.get(1)?,
                        kind: row.get(2)?,
                        message: row.get(3)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
        }
        Ok(runs)
    }
}

fn read_run(row: &Row<'_>) -> rusqlite::Result<RunRecord> {
    let count = |index: usize| row.get::<_, i64>(index).map(|value| value as u64);
    Ok(RunRecord {
        id: row.get(0)?,
        tenant: row.get(1)?,
        trigger: if row.get::<_, String>(2)? == "schedule" {
            Trigger::Schedule
        } else {
            Trigger::Manual
        },
        dry_run: row.get(3)?,
        status: RunStatus::parse(&row.get::<_, String>(4)?),
        started_at: row.get(5)?,
        finished_at: row.get(6)?,
        plugin: row.get(7)?,
        counts: RunCounts {
            listed: count(8)?,
            in_scope: count(9)?,
            out_of_scope: count(10)?,
            unchanged: count(11)?,
            downloaded: count(12)?,
            removed: count(13)?,
            no_photo: count(14)?,
            failed: count(15)?,
            retries: count(16)?,
        },
        error_kind: row.get(17)?,
        error_message: row.get(18)?,
        failures: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_run_keeps_counts_and_failures() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let run_id = store
            .begin_run("contoso", Trigger::Manual, false, None)
            .unwrap();
        let counts = RunCounts {
            listed: 3,
            downloaded: 2,
            failed: 1,
            ..RunCounts::default()
        };
        let failures = [RunFailure {
            user_id: "u3".to_string(),
            principal_name: Some("u3@contoso.com".to_string()),
            kind: "unavailable".to_string(),
            message: "no mailbox".to_string(),
        }];
        let outcome = RunOutcome {
            status: RunStatus::Partial,
            plugin: Some("entra-id 0.1.0"),
            counts: &counts,
            error: None,
            failures: &failures,
        };
        store.finish_run(run_id, &outcome).unwrap();
        let runs = store.recent_runs(Some("contoso"), 10).unwrap();
        assert_eq!(runs[0].status, RunStatus::Partial);
        assert_eq!(runs[0].counts, counts);
        assert_eq!(runs[0].failures, failures);
    }

    #[test]
    fn abandoned_run_is_marked_interrupted() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        store
            .begin_run("contoso", Trigger::Schedule, false, None)
            .unwrap();
        assert_eq!(store.mark_abandoned_runs("contoso").unwrap(), 1);
        let runs = store.recent_runs(None, 10).unwrap();
        assert_eq!(runs[0].status, RunStatus::Interrupted);
    }

    fn finish(store: &Store, run_id: i64, status: RunStatus) {
        let outcome = RunOutcome {
            status,
            plugin: None,
            counts: &RunCounts::default(),
            error: None,
            failures: &[],
        };
        store.finish_run(run_id, &outcome).unwrap();
    }

    #[test]
    fn attempted_moment_counts_failed_runs() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let moment = time::macros::datetime!(2026-03-10 02:00 UTC);
        let run_id = store
            .begin_run("contoso", Trigger::Schedule, false, Some(moment))
            .unwrap();
        finish(&store, run_id, RunStatus::Failed);
        assert_eq!(
            store.last_attempted_moment("contoso").unwrap(),
            Some(moment)
        );
    }

    #[test]
    fn attempted_moment_skips_interrupted_runs() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let moment = time::macros::datetime!(2026-03-10 02:00 UTC);
        let run_id = store
            .begin_run("contoso", Trigger::Schedule, false, Some(moment))
            .unwrap();
        finish(&store, run_id, RunStatus::Interrupted);
        assert_eq!(store.last_attempted_moment("contoso").unwrap(), None);
    }

    #[test]
    fn attempted_moment_skips_manual_runs() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let run_id = store
            .begin_run("contoso", Trigger::Manual, false, None)
            .unwrap();
        finish(&store, run_id, RunStatus::Succeeded);
        assert_eq!(store.last_attempted_moment("contoso").unwrap(), None);
    }

    #[test]
    fn attempted_moment_reads_version_one_rows() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        store
            .connection()
            .execute(
                "INSERT INTO runs (tenant, trigger_kind, dry_run, status, started_at)
                 VALUES ('contoso', 'schedule', 0, 'succeeded', '2026-03-10T02:00:07.25Z')",
                [],
            )
            .unwrap();
        let expected = time::macros::datetime!(2026-03-10 02:00:07 UTC);
        assert_eq!(
            store.last_attempted_moment("contoso").unwrap(),
            Some(expected)
        );
    }
}
