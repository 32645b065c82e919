//! Checks against the stored run history: how the tenant's last run ended, and the last run
//! that failed one user.

use anyhow::Result;

use super::line::CheckLine;
use crate::store::{RunRecord, RunStatus, Store};

/// Check names, shared by the checks and the tests that look lines up.
pub const LAST_RUN: &str = "last run";
pub const LAST_SYNC: &str = "last sync of user";

/// Runs searched for a user's last failure: a month of nightly runs plus manual ones.
const USER_HISTORY_RUNS: usize = 40;

/// Reports how the tenant's latest run ended.
pub fn check_last_run(store: &Store, tenant: &str) -> Result<CheckLine> {
    let runs = store.recent_runs(Some(tenant), 1)?;
    let Some(run) = runs.first() else {
        return Ok(CheckLine::warn(
            LAST_RUN,
            format!("tenant '{tenant}' has no runs yet"),
            format!("run `photosync sync --tenant {tenant}` once the other checks pass"),
        ));
    };
    let summary = format!(
        "run {} {} (started {}, {} listed, {} downloaded, {} failed)",
        run.id,
        run.status.as_str(),
        run.started_at,
        run.counts.listed,
        run.counts.downloaded,
        run.counts.failed
    );
    let line = match run.status {
        RunStatus::Succeeded => CheckLine::pass(LAST_RUN, summary),
        RunStatus::Running => CheckLine::pass(LAST_RUN, format!("{summary}; it is still running")),
        RunStatus::Partial => CheckLine::warn(
            LAST_RUN,
            summary,
            format!("see the failed users with `photosync status --config FILE --tenant {tenant}`, and one user with `photosync check --config FILE --tenant {tenant} --user UPN`"),
        ),
        RunStatus::Interrupted => CheckLine::warn(
            LAST_RUN,
            format!("{summary}: the host stopped before the run ended, and nothing of it was stored"),
            format!("run `photosync sync --tenant {tenant}`"),
        ),
        RunStatus::Failed => CheckLine::fail(
            LAST_RUN,
            format!(
                "{summary}: {} ({})",
                run.error_message.as_deref().unwrap_or("no error recorded"),
                run.error_kind.as_deref().unwrap_or("unknown")
            ),
            format!("fix the failing lines of this checklist, then run `photosync sync --tenant {tenant}`; if every line passes, the cause is gone"),
        ),
    };
    Ok(line)
}

/// Reports the user's outcome in the latest run that got to the user: a recorded failure, a
/// failure of the whole run, or none.
pub fn check_user_history(store: &Store, tenant: &str, user_id: &str) -> Result<CheckLine> {
    let runs = store.recent_runs(Some(tenant), USER_HISTORY_RUNS)?;
    let Some(latest) = runs.iter().find(|run| run.status != RunStatus::Running) else {
        return Ok(CheckLine::warn(
            LAST_SYNC,
            format!("tenant '{tenant}' has no finished runs yet"),
            format!("run `photosync sync --tenant {tenant}`"),
        ));
    };
    if latest.status == RunStatus::Failed {
        return Ok(CheckLine::fail(
            LAST_SYNC,
            format!(
                "the whole run {} failed before any photo was stored: {}",
                latest.id,
                latest
                    .error_message
                    .as_deref()
                    .unwrap_or("no error recorded")
            ),
            "fix the tenant first: run `photosync check` without --user",
        ));
    }
    Ok(match user_failure(&runs, user_id) {
        Some((run, failure)) if run.id == latest.id => CheckLine::fail(
            LAST_SYNC,
            format!(
                "run {} ({}) failed for this user: {} ({})",
                run.id, run.started_at, failure.message, failure.kind
            ),
            "follow the photo line above; the run after the cause is fixed retries the photo",
        ),
        Some((run, failure)) => CheckLine::pass(
            LAST_SYNC,
            format!(
                "no failure in run {} ({}); the last failure was in run {}: {} ({})",
                latest.id,
                latest.status.as_str(),
                run.id,
                failure.message,
                failure.kind
            ),
        ),
        None => CheckLine::pass(
            LAST_SYNC,
            format!(
                "no failure for this user in the last {} runs; latest run {} {}",
                runs.len(),
                latest.id,
                latest.status.as_str()
            ),
        ),
    })
}

fn user_failure<'a>(
    runs: &'a [RunRecord],
    user_id: &str,
) -> Option<(&'a RunRecord, &'a crate::store::RunFailure)> {
    runs.iter().find_map(|run| {
        run.failures
            .iter()
            .find(|failure| failure.user_id == user_id)
            .map(|failure| (run, failure))
    })
}
