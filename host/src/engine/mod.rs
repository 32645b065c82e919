//! One tenant's sync run: lease, list, fetch in parallel, decide, commit, record.
//!
//! A run either commits all of its decisions in one transaction or none of them: a run that
//! fails (credentials, permissions, listing, sandbox) or is interrupted changes no stored photo.
//! Photos of users who left the directory are removed only after a complete listing.

mod fetch;
mod listing;
mod report;
mod retry;
mod start;
mod verify;

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use report::{RunError, RunReport};
pub use start::StartError;
pub use verify::{verify_photo, PhotoShape, MAX_PHOTO_BYTES};

use crate::config::TenantConfig;
use crate::runtime::{Runtime, Scope, User, UserKind};
use crate::store::{
    DirectoryUser, Lease, PhotoChange, PhotoSource, RunCounts, RunFailure, RunOutcome, RunStatus,
    Store, Trigger,
};
use fetch::{run_worker, wit_local, FetchContext, UserResult, WorkerMessage};
use retry::ThrottleBudget;

/// How long a run lease lasts without renewal; a crashed host's lease frees itself after this.
const LEASE_TTL: Duration = Duration::from_secs(120);
/// How often a running run renews its lease: three renewals per TTL survive one slow write.
const LEASE_RENEW_INTERVAL: Duration = Duration::from_secs(40);
/// Error kind of a run stopped by its cancellation token.
const INTERRUPTED: &str = "interrupted";

/// A request to run one tenant now.
#[derive(Clone, Debug)]
pub struct RunRequest {
    pub trigger: Trigger,
    /// Fetch and decide, but write no photo and commit nothing.
    pub dry_run: bool,
    /// Cancelled when the host shuts down: the run stops at a safe point, commits nothing and
    /// is recorded as interrupted. During the listing, the plugin call in progress is
    /// abandoned. During the photo phase, each worker finishes its current user first.
    pub cancel: CancellationToken,
    /// The scheduled moment a scheduled run serves. With a moment, the run does not start
    /// when a run for that moment or a later one already ended (`StartError::AlreadyAttempted`).
    pub scheduled_for: Option<OffsetDateTime>,
}

impl RunRequest {
    /// Creates a request for a run started by hand (`photosync sync`) that commits its changes.
    pub fn manual() -> RunRequest {
        RunRequest {
            trigger: Trigger::Manual,
            dry_run: false,
            cancel: CancellationToken::new(),
            scheduled_for: None,
        }
    }

    /// Creates the request of a scheduled run for `moment`, stopped when `cancel` is cancelled.
    pub fn scheduled(moment: OffsetDateTime, cancel: CancellationToken) -> RunRequest {
        RunRequest {
            trigger: Trigger::Schedule,
            dry_run: false,
            cancel,
            scheduled_for: Some(moment),
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

/// Runs one tenant's sync and records it.
///
/// Returns `Err` only when the run could not start or could not be recorded: a [`StartError`]
/// when the lease is taken or the scheduled moment was already run, another error when the
/// database fails. A run that fails for any other reason returns a report with status `failed`,
/// and a cancelled one a report with status `interrupted`.
pub async fn run_tenant(
    runtime: &Runtime,
    store: &Arc<Store>,
    tenant: &TenantConfig,
    request: RunRequest,
    progress: &dyn Progress,
) -> Result<RunReport> {
    let lease = take_lease(store, tenant)?;
    run_tenant_with_lease(runtime, store, tenant, lease, request, progress).await
}

/// Takes the run lease of `tenant`, or fails with [`StartError::LeaseTaken`] while any other
/// run of it goes on, in this process or another one.
pub fn take_lease(store: &Store, tenant: &TenantConfig) -> Result<Lease> {
    match store.acquire_lease(&tenant.id, LEASE_TTL)? {
        Ok(lease) => Ok(lease),
        Err(holder) => Err(StartError::LeaseTaken {
            tenant: tenant.id.clone(),
            holder,
            ttl_seconds: LEASE_TTL.as_secs(),
        }
        .into()),
    }
}

/// Runs one tenant's sync under a lease from [`take_lease`], and releases the lease when the
/// run ends. Errors as for [`run_tenant`].
pub async fn run_tenant_with_lease(
    runtime: &Runtime,
    store: &Arc<Store>,
    tenant: &TenantConfig,
    lease: Lease,
    request: RunRequest,
    progress: &dyn Progress,
) -> Result<RunReport> {
    // Checked while holding the lease, so a host that waited for another host's run finds it.
    if let Some(moment) = request.scheduled_for {
        let attempted = match store.last_attempted_moment(&tenant.id) {
            Ok(attempted) => attempted,
            Err(error) => {
                release(store, &lease);
                return Err(error);
            }
        };
        if attempted.is_some_and(|last| last >= moment) {
            release(store, &lease);
            return Err(StartError::AlreadyAttempted {
                tenant: tenant.id.clone(),
                moment,
            }
            .into());
        }
    }
    let abandoned = match store.mark_abandoned_runs(&tenant.id) {
        Ok(abandoned) => abandoned,
        Err(error) => {
            release(store, &lease);
            return Err(error);
        }
    };
    if abandoned > 0 {
        tracing::warn!(tenant = %tenant.id, abandoned, "marked runs left by a stopped host as interrupted");
    }
    let run_id = match store.begin_run(
        &tenant.id,
        request.trigger,
        request.dry_run,
        request.scheduled_for,
    ) {
        Ok(run_id) => run_id,
        Err(error) => {
            release(store, &lease);
            return Err(error);
        }
    };
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
    release(store, &lease);
    result
}

fn release(store: &Store, lease: &Lease) {
    if let Err(error) = store.release_lease(lease) {
        tracing::warn!(tenant = %lease.tenant, "failed to release the run lease: {error:#}");
    }
}

fn interrupted(tenant: &TenantConfig) -> RunError {
    RunError::new(
        INTERRUPTED,
        format!(
            "the run of tenant '{}' was stopped because the host is shutting down; nothing was changed, the next start runs it again",
            tenant.id
        ),
    )
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
    if request.cancel.is_cancelled() {
        return Err((interrupted(tenant), None));
    }
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

    let listing = listing::list_all_users(&mut first, &tenant.id, tenant.limits.retries, |count| {
        progress.listed(count)
    });
    // Dropping the listing abandons its plugin call; the instance is not used again.
    let (users, listing_retries) = tokio::select! {
        listed = listing => listed.map_err(with_plugin)?,
        () = request.cancel.cancelled() => return Err(with_plugin(interrupted(tenant))),
    };
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
        cancel: request.cancel.clone(),
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
    if fatal.is_none() && request.cancel.is_cancelled() {
        fatal = Some(interrupted(tenant));
    }
    if let Some(error) = fatal {
        if !request.dry_run {
            // The files this run wrote are referenced by nothing unless an earlier run stored
            // the same bytes; `remove_unreferenced_blobs` checks before deleting.
            if let Err(cleanup) = store.remove_unreferenced_blobs(&tenant.id, &written) {
                tracing::warn!("failed to delete the photo files of a stopped run: {cleanup:#}");
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
            status: if error.kind == INTERRUPTED {
                RunStatus::Interrupted
            } else {
                RunStatus::Failed
            },
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
