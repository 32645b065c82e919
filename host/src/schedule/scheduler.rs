//! The scheduler loop: one task per tenant that plans its next run, sleeps until it, waits for
//! a free run slot and runs it through the engine, until shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::clock::Clock;
use super::format_utc;
use super::plan::{plan_tenant, Plan};
use crate::config::{ServeSettings, TenantConfig};
use crate::engine::{run_tenant, NoProgress, RunReport, RunRequest, StartError};
use crate::runtime::Runtime;
use crate::store::{RunStatus, Store};

/// Wait before a tenant's task tries again after a run did not start: another host held the
/// lease, or the database failed. It checks the run history again after this, so a run that
/// the other host finished is not repeated.
pub const START_RETRY_INTERVAL: Duration = Duration::from_secs(60);

/// State shared by the tenant tasks.
struct Shared {
    clock: Arc<dyn Clock>,
    store: Arc<Store>,
    runtime: Arc<Runtime>,
    tenants: Vec<TenantConfig>,
    max_offset: Duration,
    /// One permit per run allowed at once; tokio's semaphore serves waiters first come, first
    /// served, so runs that became due earlier start earlier.
    slots: Semaphore,
    shutdown: CancellationToken,
}

/// The running scheduler of one host process.
pub struct Scheduler {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

/// A cloneable handle for starting runs through the scheduler's run slots.
#[derive(Clone)]
pub struct SchedulerHandle {
    shared: Arc<Shared>,
}

impl Scheduler {
    /// Starts one task per tenant. Each plans its first run from the run history at once, so a
    /// tenant that missed its last scheduled moment catches up now.
    pub fn start(
        tenants: Vec<TenantConfig>,
        store: Arc<Store>,
        runtime: Arc<Runtime>,
        clock: Arc<dyn Clock>,
        settings: &ServeSettings,
    ) -> Scheduler {
        let shared = Arc::new(Shared {
            clock,
            store,
            runtime,
            tenants,
            max_offset: settings.max_schedule_offset,
            slots: Semaphore::new(settings.max_concurrent_tenants),
            shutdown: CancellationToken::new(),
        });
        let tasks = (0..shared.tenants.len())
            .map(|index| tokio::spawn(serve_tenant(shared.clone(), index)))
            .collect();
        Scheduler { shared, tasks }
    }

    /// Returns a handle for "run now" requests.
    pub fn handle(&self) -> SchedulerHandle {
        SchedulerHandle {
            shared: self.shared.clone(),
        }
    }

    /// Stops planning new runs and cancels the running ones, which stop at a safe point.
    pub fn shutdown(&self) {
        self.shared.shutdown.cancel();
    }

    /// Waits up to `grace` for every tenant task to end after `shutdown`; returns false when
    /// some run was still going when the time ran out.
    pub async fn wait(self, grace: Duration) -> bool {
        let all = futures_join_all(self.tasks);
        tokio::time::timeout(grace, all).await.is_ok()
    }
}

impl SchedulerHandle {
    /// Runs `tenant_id` now as a manual run, after waiting for a free run slot. The lease keeps
    /// it from overlapping a scheduled run of the same tenant.
    pub async fn run_now(&self, tenant_id: &str) -> Result<RunReport> {
        let shared = &self.shared;
        let tenant = shared
            .tenants
            .iter()
            .find(|tenant| tenant.id == tenant_id)
            .ok_or_else(|| anyhow::anyhow!("tenant '{tenant_id}' is not in the configuration"))?;
        let _permit = tokio::select! {
            slot = shared.slots.acquire() => slot?,
            () = shared.shutdown.cancelled() => anyhow::bail!("the host is shutting down; start the run again after it restarts"),
        };
        let request = RunRequest {
            cancel: shared.shutdown.child_token(),
            ..RunRequest::manual()
        };
        run_tenant(&shared.runtime, &shared.store, tenant, request, &NoProgress).await
    }

    /// Plans `tenant_id`'s next scheduled run as the scheduler would now.
    pub fn plan(&self, tenant_id: &str) -> Result<Plan> {
        let shared = &self.shared;
        let tenant = shared
            .tenants
            .iter()
            .find(|tenant| tenant.id == tenant_id)
            .ok_or_else(|| anyhow::anyhow!("tenant '{tenant_id}' is not in the configuration"))?;
        plan_tenant(&shared.store, tenant, shared.max_offset, shared.clock.now())
    }
}

/// Joins every task, ignoring panics (tokio logs them).
async fn futures_join_all(tasks: Vec<JoinHandle<()>>) {
    for task in tasks {
        let _ = task.await;
    }
}

/// Runs one tenant's schedule: plan, sleep, take a run slot, run, and repeat until shutdown.
async fn serve_tenant(shared: Arc<Shared>, index: usize) {
    let tenant = &shared.tenants[index];
    let shutdown = &shared.shutdown;
    if !tenant.sync_enabled {
        tracing::info!(tenant = %tenant.id, "sync_enabled = false, so the tenant gets no scheduled runs");
        return;
    }
    while !shutdown.is_cancelled() {
        let plan = match plan_tenant(&shared.store, tenant, shared.max_offset, shared.clock.now()) {
            Ok(plan) => plan,
            Err(error) => {
                tracing::error!(tenant = %tenant.id, retry_seconds = START_RETRY_INTERVAL.as_secs(), "failed to plan the next run: {error:#}");
                pause(&shared, START_RETRY_INTERVAL).await;
                continue;
            }
        };
        log_plan(tenant, &plan);
        tokio::select! {
            () = shared.clock.sleep_until(plan.start_at) => {}
            () = shutdown.cancelled() => return,
        }
        let slot = tokio::select! {
            slot = shared.slots.acquire() => slot,
            () = shutdown.cancelled() => return,
        };
        let Ok(permit) = slot else {
            return;
        };
        if shutdown.is_cancelled() {
            return;
        }
        let request = RunRequest::scheduled(plan.moment, shutdown.child_token());
        let result = run_tenant(&shared.runtime, &shared.store, tenant, request, &NoProgress).await;
        let retry = log_result(tenant, &plan, result);
        drop(permit);
        if retry {
            pause(&shared, START_RETRY_INTERVAL).await;
        }
    }
}

/// Sleeps on the scheduler's clock for `wait`, or until shutdown.
async fn pause(shared: &Shared, wait: Duration) {
    let until = shared.clock.now() + wait;
    tokio::select! {
        () = shared.clock.sleep_until(until) => {}
        () = shared.shutdown.cancelled() => {}
    }
}

fn log_plan(tenant: &TenantConfig, plan: &Plan) {
    if plan.catch_up {
        tracing::info!(
            tenant = %tenant.id,
            missed = %format_utc(plan.moment),
            "the last scheduled run was missed; catching up now"
        );
    } else {
        tracing::info!(
            tenant = %tenant.id,
            next_run_at = %format_utc(plan.start_at),
            "next scheduled run"
        );
    }
}

/// Logs how a scheduled run ended; returns true when the run did not start and the task
/// should try again after `START_RETRY_INTERVAL`.
fn log_result(tenant: &TenantConfig, plan: &Plan, result: Result<RunReport>) -> bool {
    let moment = format_utc(plan.moment);
    let report = match result {
        Ok(report) => report,
        Err(error) => {
            return match error.downcast_ref::<StartError>() {
                Some(StartError::AlreadyAttempted { .. }) => {
                    tracing::info!(tenant = %tenant.id, moment = %moment, "another host already ran this scheduled run");
                    false
                }
                Some(StartError::LeaseTaken { holder, .. }) => {
                    tracing::info!(tenant = %tenant.id, moment = %moment, holder = %holder, retry_seconds = START_RETRY_INTERVAL.as_secs(), "the tenant's run lease is taken by another run; checking the run history again later");
                    true
                }
                None => {
                    tracing::error!(tenant = %tenant.id, moment = %moment, retry_seconds = START_RETRY_INTERVAL.as_secs(), "failed to start the scheduled run: {error:#}");
                    true
                }
            };
        }
    };
    match (report.status, &report.error) {
        (RunStatus::Failed, Some(error)) => tracing::warn!(
            tenant = %tenant.id,
            run_id = report.run_id,
            moment = %moment,
            kind = %error.kind,
            "scheduled run failed; the tenant runs again at its next scheduled time: {}",
            error.message
        ),
        (RunStatus::Interrupted, _) => tracing::info!(
            tenant = %tenant.id,
            run_id = report.run_id,
            moment = %moment,
            "scheduled run interrupted by shutdown; the next start catches it up"
        ),
        _ => {}
    }
    false
}
