//! One tenant's sync run: lease, list, fetch in parallel, decide, commit, record.
//!
//! A run either commits all of its decisions in one transaction or none of them: a run that
//! fails (credentials, permissions, listing, sandbox) or is interrupted changes no stored photo.
//! Photos of users who left the directory are removed only after a complete listing.

mod fetch;
mod listing;
mod report;
mod retry;
mod verify;

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use report::{RunError, RunReport};
pub use verify::{verify_photo, PhotoShape, MAX_PHOTO_BYTES};

use crate::config::TenantConfig;
use crate::runtime::{Runtime, Scope, User, UserKind};
use crate::store::{
    DirectoryUser, PhotoChange, PhotoSource, RunCounts, RunFailure, RunOutcome, RunStatus, Store,
    Trigger,
};
use fetch::{run_worker, wit_local, FetchContext, UserResult, WorkerMessage};
use retry::ThrottleBudget;

/// How long a run lease lasts without renewal; a crashed host's lease frees itself after this.
const LEASE_TTL: Duration = Duration::from_secs(120);
/// How often a running run renews its lease: three renewals per TTL survive one slow write.
const LEASE_RENEW_INTERVAL: Duration = Duration::from_secs(40);

/// What to run.
#[derive(Clone, Debug)]
pub struct RunRequest {
    pub trigger: Trigger,
    /// Fetch and decide, but write no photo and commit nothing.
    pub dry_run: bool,
    /// Cancelled when the host shuts down: the run stops at a safe point, commits nothing and
    /// is recorded as interrupted.
    pub cancel: CancellationToken,
}

impl RunRequest {
    /// A run started by hand (`photosync sync`), committing its changes.
    pub fn manual() -> RunRequest {
        RunRequest {
            trigger: Trigger::Manual,
            dry_run: false,
            cancel: CancellationToken::new(),
        }
    }
}

/// Progress callbacks, for a terminal progress bar or nothing.
pub trait Progress: Send + Sync {
    fn listed(&self, _users: usize) {}
    fn fetching(&self, _total: usize) {}
    fn user_done(&self) {}
    fn finished(&self) {}
}

/// Progress that shows nothing.
pub struct NoProgress;
impl Progress for NoProgress {}

/// Runs one tenant's sync and records it. Returns `Err` only when the run could not start or
/// could not be recorded (the lease is taken, the database fails); a run that fails for any
/// other reason returns a report with status `failed`.
pub async fn run_tenant(
    runtime: &Runtime,
    store: &Arc<Store>,
    tenant: &TenantConfig,
    request: RunRequest,
    progress: &dyn Progress,
) -> Result<RunReport> {
    let lease = match store.acquire_lease(&tenant.id, LEASE_TTL)? {
        Ok(lease) => lease,
        Err(holder) => anyhow::bail!(
            "a run of tenant '{}' is already in progress (held by {holder}); wait for it to finish, or for its lease to expire within {} s if that host crashed",
            tenant.id,
            LEASE_TTL.as_secs()
        ),
    };
    let abandoned = store.mark_abandoned_runs(&tenant.id)?;
    if abandoned > 0 {
        tracing::warn!(tenant = %tenant.id, abandoned, "marked runs left by a stopped host as interrupted");
    }
    let run_id = store.begin_run(&tenant.id, request.trigger, request.dry_run)?;
    let span = tracing::info_span!("run", tenant = %tenant.id, run_id);
    let heartbeat = {
        let (store, lease) = (store.clone(), lease.clone());
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(LEASE_RENEW_INTERVAL);
            interval.tick().await;
            loop {
                interval.tick().await;
                if let Err(error) = store.renew_lease(&lease, LEASE_TTL) {
                    tracing::error!(tenant = %lease.tenant, "failed to renew the run lease: {error:#}");
                }
            }
        })
    };
    let started = Instant::now();
    let result = async {
        tracing::info!(trigger = ?request.trigger, dry_run = request.dry_run, "run started");
        let execution = execute(runtime, store, tenant, &request, progress);
        let result = match tokio::time::timeout(tenant.limits.run_wall, execution).await {
            Ok(result) => result,
            Err(_) => Err((
                RunError::new(
                    "run_time_limit",
                    format!(
                        "the run of tenant '{}' took longer than {} s and was stopped; nothing was changed; raise limits.run_seconds if the tenant needs more",
                        tenant.id,
                        tenant.limits.run_wall.as_secs()
                    ),
                ),
                None,
            )),
        };
        record(store, tenant, run_id, &request, result, started.elapsed())
    }
    .instrument(span)
    .await;
    heartbeat.abort();
    progress.finished();
    if let Err(error) = store.release_lease(&lease) {
        tracing::warn!(tenant = %tenant.id, "failed to release the run lease: {error:#}");
    }
    result
}

/// A completed run, ready to commit.
struct Completed {
    plugin: String,
    counts: RunCounts,
    failures: Vec<RunFailure>,
    changes: Vec<PhotoChange>,
    directory: Vec<DirectoryUser>,
}

type Execution = Result<Completed, (RunError, Option<String>)>;

async fn execute(
    runtime: &Runtime,
    store: &Arc<Store>,
    tenant: &TenantConfig,
    request: &RunRequest,
    progress: &dyn Progress,
) -> Execution {
    let loaded = runtime
        .load(&tenant.plugin)
        .map_err(|error| (RunError::new("plugin_load", format!("{error:#}")), None))?;
    let mut first = loaded
        .instantiate(tenant)
        .await
        .map_err(|error| (error.into(), None))?;
    let info = first
        .describe()
        .await
        .map_err(|error| (error.into(), None))?;
    let plugin = format!("{} {}", info.name, info.version);
    first.set_label(&plugin);
    let with_plugin = |error: RunError| (error, Some(plugin.clone()));
    check_settings(tenant, &info.settings, &plugin).map_err(with_plugin)?;

    let (users, listing_retries) =
        listing::list_all_users(&mut first, &tenant.id, tenant.limits.retries, |count| {
            progress.listed(count)
        })
        .await
        .map_err(with_plugin)?;
    let local = store
        .local_photos(&tenant.id)
        .map_err(|error| with_plugin(RunError::new("storage", format!("{error:#}"))))?;

    let mut counts = RunCounts {
        listed: users.len() as u64,
        retries: listing_retries,
        ..RunCounts::default()
    };
    let mut directory = Vec::with_capacity(users.len());
    let mut included = VecDeque::new();
    for user in users {
        match &user.scope {
            Scope::Included => included.push_back(user),
            Scope::Excluded(reason) => {
                counts.out_of_scope += 1;
                let decision = first
                    .apply_policy(&user, None, &wit_local(local.get(&user.id)))
                    .await
                    .map_err(|error| with_plugin(error.into()))?;
                directory.push(directory_user(&user, Some(reason.clone()), decision.lock));
            }
        }
    }
    counts.in_scope = included.len() as u64;
    let listed_ids: HashSet<String> = directory
        .iter()
        .map(|user| user.user_id.clone())
        .chain(included.iter().map(|user| user.id.clone()))
        .collect();

    progress.fetching(included.len());
    let workers = tenant.limits.parallel.min(included.len()).max(1);
    let context = Arc::new(FetchContext {
        store: store.clone(),
        tenant: tenant.clone(),
        plugin: plugin.clone(),
        dry_run: request.dry_run,
        local,
        queue: Mutex::new(included),
        abort: AtomicBool::new(false),
        retries: AtomicU64::new(0),
        throttle_budget: ThrottleBudget::new(tenant.limits.throttle_budget),
    });
    let (sender, mut receiver) = mpsc::unbounded_channel();
    let mut instances = vec![first];
    for _ in 1..workers {
        let mut instance = loaded
            .instantiate(tenant)
            .await
            .map_err(|error| with_plugin(error.into()))?;
        instance.set_label(&plugin);
        instances.push(instance);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for instance in instances {
        tasks.spawn(run_worker(instance, context.clone(), sender.clone()).in_current_span());
    }
    drop(sender);

    let mut failures = Vec::new();
    let mut changes = Vec::new();
    let mut fatal = None;
    let mut written = Vec::new();
    while let Some(message) = receiver.recv().await {
        let done = match message {
            WorkerMessage::Fatal(error) => {
                let message = tenant.settings.redact(&error.message);
                tracing::error!(kind = %error.kind, "run stopped: {message}");
                fatal.get_or_insert(error);
                continue;
            }
            WorkerMessage::Done(done) => done,
        };
        progress.user_done();
        match done.result {
            UserResult::Unchanged => counts.unchanged += 1,
            UserResult::NoPhoto => counts.no_photo += 1,
            UserResult::Downloaded(change) => {
                counts.downloaded += 1;
                if let PhotoChange::Store { blob, .. } = &change {
                    written.push(blob.sha256.clone());
                }
                changes.push(change);
            }
            UserResult::Removed(change) => {
                counts.removed += 1;
                changes.push(change);
            }
            UserResult::Failed(failure) => {
                counts.failed += 1;
                failures.push(failure);
            }
        }
        directory.push(directory_user(&done.user, None, done.lock));
    }
    while let Some(joined) = tasks.join_next().await {
        if let Err(error) = joined {
            fatal.get_or_insert(RunError::new(
                "internal",
                format!("a fetch worker failed: {error}"),
            ));
        }
    }
    counts.retries += context.retries.load(Ordering::Relaxed);
    if let Some(error) = fatal {
        if !request.dry_run {
            // The files this run wrote are referenced by nothing unless an earlier run stored
            // the same bytes; `remove_unreferenced_blobs` checks before deleting.
            if let Err(cleanup) = store.remove_unreferenced_blobs(&tenant.id, &written) {
                tracing::warn!("failed to delete the photo files of a failed run: {cleanup:#}");
            }
        }
        return Err(with_plugin(error));
    }

    for (user_id, photo) in &context.local {
        if photo.source == PhotoSource::Synced && !listed_ids.contains(user_id) {
            tracing::info!(user_id = %user_id, "removing the synced photo of a user who left the directory");
            counts.removed += 1;
            changes.push(PhotoChange::Remove {
                user_id: user_id.clone(),
            });
        }
    }
    Ok(Completed {
        plugin,
        counts,
        failures,
        changes,
        directory,
    })
}

/// Fails the run when a required setting is missing or a secret setting is written in plain text.
fn check_settings(
    tenant: &TenantConfig,
    declared: &[crate::runtime::SettingInfo],
    plugin: &str,
) -> Result<(), RunError> {
    for setting in declared {
        let present = tenant.settings.get(&setting.name).is_some();
        if setting.required && !present && setting.default_value.is_none() {
            return Err(RunError::new(
                "invalid_config",
                format!(
                    "plugin {plugin} of tenant '{}': required setting settings.{} is missing ({})",
                    tenant.id, setting.name, setting.description
                ),
            ));
        }
        if setting.secret && present && !tenant.settings.is_secret(&setting.name) {
            return Err(RunError::new(
                "invalid_config",
                format!(
                    "tenant '{}': settings.{} is a secret and must not be written in the configuration file; use {{ env = \"NAME\" }} or {{ file = \"path\" }}",
                    tenant.id, setting.name
                ),
            ));
        }
    }
    Ok(())
}

fn directory_user(
    user: &User,
    excluded_reason: Option<String>,
    lock: Option<String>,
) -> DirectoryUser {
    DirectoryUser {
        user_id: user.id.clone(),
        principal_name: user.principal_name.clone(),
        display_name: user.display_name.clone(),
        mail: user.mail.clone(),
        enabled: user.enabled,
        kind: match user.kind {
            UserKind::Member => "member".to_string(),
            UserKind::Guest => "guest".to_string(),
        },
        excluded_reason,
        lock_message: lock,
    }
}

/// Commits a completed run (unless it is a dry run) and records how the run ended.
fn record(
    store: &Store,
    tenant: &TenantConfig,
    run_id: i64,
    request: &RunRequest,
    execution: Execution,
    duration: Duration,
) -> Result<RunReport> {
    let report = match execution {
        Ok(completed) => {
            if !request.dry_run {
                let dereferenced = store
                    .commit_changes(&tenant.id, run_id, &completed.changes)
                    .context("failed to commit the run's photo changes")?;
                store
                    .replace_directory(&tenant.id, run_id, &completed.directory)
                    .context("failed to store the directory snapshot")?;
                store.remove_unreferenced_blobs(&tenant.id, &dereferenced)?;
            }
            let status = if completed.failures.is_empty() {
                RunStatus::Succeeded
            } else {
                RunStatus::Partial
            };
            RunReport {
                run_id,
                tenant: tenant.id.clone(),
                status,
                dry_run: request.dry_run,
                plugin: Some(completed.plugin),
                counts: completed.counts,
                failures: completed.failures,
                error: None,
                duration,
            }
        }
        Err((error, plugin)) => RunReport {
            run_id,
            tenant: tenant.id.clone(),
            status: RunStatus::Failed,
            dry_run: request.dry_run,
            plugin,
            counts: RunCounts::default(),
            failures: Vec::new(),
            error: Some(RunError {
                kind: error.kind,
                message: tenant.settings.redact(&error.message),
            }),
            duration,
        },
    };
    store.finish_run(
        run_id,
        &RunOutcome {
            status: report.status,
            plugin: report.plugin.as_deref(),
            counts: &report.counts,
            error: report
                .error
                .as_ref()
                .map(|error| (error.kind.as_str(), error.message.as_str())),
            failures: &report.failures,
        },
    )?;
    tracing::info!(
        status = report.status.as_str(),
        listed = report.counts.listed,
        unchanged = report.counts.unchanged,
        downloaded = report.counts.downloaded,
        removed = report.counts.removed,
        failed = report.counts.failed,
        elapsed_ms = duration.as_millis() as u64,
        "run finished"
    );
    Ok(report)
}
