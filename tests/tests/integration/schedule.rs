//! The scheduler with the real engine, driven by a manual clock: daily runs, catch-up, custom
//! schedules, failed runs, and two hosts sharing one database.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use graph_sim::Faults;
use photosync::config::{ScheduleTime, ServeSettings, TenantConfig};
use photosync::engine::{run_tenant, NoProgress, RunRequest};
use photosync::runtime::Runtime;
use photosync::schedule::{ManualClock, Scheduler, START_RETRY_INTERVAL};
use photosync::store::{RunRecord, RunStatus, Store, Trigger};
use time::macros::datetime;
use time::OffsetDateTime;

use crate::support::{fixture, member_with_photo, Harness};

/// Real time a test waits for the scheduler to reach a state before it fails.
const STATE_TIMEOUT: Duration = Duration::from_secs(60);

/// Returns one runtime shared by the scheduler tests, so the plugin compiles once.
fn shared_runtime() -> Arc<Runtime> {
    static RUNTIME: OnceLock<Arc<Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| Arc::new(Runtime::new().expect("wasmtime runtime")))
        .clone()
}

/// Serve settings without offsets, so runs start exactly at their schedule time.
fn settings() -> ServeSettings {
    ServeSettings {
        max_schedule_offset: Duration::ZERO,
        ..ServeSettings::default()
    }
}

async fn harness() -> Harness {
    let users = (0..3)
        .map(|index| member_with_photo(index, "astronaut-96.jpg"))
        .collect();
    Harness::start(fixture(users), "", "").await
}

fn start(harness: &Harness, store: Arc<Store>, clock: &Arc<ManualClock>) -> Scheduler {
    start_tenants(vec![harness.tenant().clone()], store, clock)
}

fn start_tenants(
    tenants: Vec<TenantConfig>,
    store: Arc<Store>,
    clock: &Arc<ManualClock>,
) -> Scheduler {
    Scheduler::start(tenants, store, shared_runtime(), clock.clone(), &settings())
}

/// Records a finished scheduled run for `moment`, as a previous night would have left it.
async fn run_for(harness: &Harness, tenant: &TenantConfig, moment: OffsetDateTime) {
    let request = RunRequest {
        trigger: Trigger::Schedule,
        scheduled_for: Some(moment),
        ..RunRequest::manual()
    };
    let report = run_tenant(
        &shared_runtime(),
        &harness.store,
        tenant,
        request,
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(report.status, RunStatus::Succeeded, "{:?}", report.error);
}

fn scheduled_runs(store: &Store, tenant: &str) -> Vec<RunRecord> {
    store
        .recent_runs(Some(tenant), 100)
        .unwrap()
        .into_iter()
        .filter(|run| run.trigger == Trigger::Schedule)
        .collect()
}

async fn stop(scheduler: Scheduler) {
    scheduler.shutdown();
    assert!(
        scheduler.wait(STATE_TIMEOUT).await,
        "scheduler did not stop"
    );
}

/// Waits until the scheduler tasks sleep until `moment`, or fails.
async fn sleeping_until(clock: &ManualClock, moment: OffsetDateTime, count: usize) {
    clock
        .wait_for_sleepers(moment, count, STATE_TIMEOUT)
        .await
        .unwrap();
}

#[tokio::test]
async fn before_two_runs_today_then_tomorrow() {
    let harness = harness().await;
    run_for(&harness, harness.tenant(), datetime!(2026-03-09 02:00 UTC)).await;
    let clock = Arc::new(ManualClock::new(datetime!(2026-03-10 01:00 UTC)));

    let scheduler = start(&harness, harness.store.clone(), &clock);
    sleeping_until(&clock, datetime!(2026-03-10 02:00 UTC), 1).await;
    assert_eq!(scheduled_runs(&harness.store, "contoso").len(), 1);

    clock.set(datetime!(2026-03-10 02:00 UTC));
    sleeping_until(&clock, datetime!(2026-03-11 02:00 UTC), 1).await;
    stop(scheduler).await;

    let runs = scheduled_runs(&harness.store, "contoso");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].status, RunStatus::Succeeded);
    assert_eq!(
        harness.store.last_attempted_moment("contoso").unwrap(),
        Some(datetime!(2026-03-10 02:00 UTC))
    );
}

#[tokio::test]
async fn host_down_catches_up_once() {
    let harness = harness().await;
    run_for(&harness, harness.tenant(), datetime!(2026-03-08 02:00 UTC)).await;
    // The host was down over two nights and starts at 09:00.
    let clock = Arc::new(ManualClock::new(datetime!(2026-03-10 09:00 UTC)));

    let scheduler = start(&harness, harness.store.clone(), &clock);
    sleeping_until(&clock, datetime!(2026-03-11 02:00 UTC), 1).await;
    stop(scheduler).await;
    clock.set(datetime!(2026-03-10 10:00 UTC));
    let restarted = start(&harness, harness.store.clone(), &clock);
    sleeping_until(&clock, datetime!(2026-03-11 02:00 UTC), 1).await;
    stop(restarted).await;

    assert_eq!(scheduled_runs(&harness.store, "contoso").len(), 2);
    assert_eq!(
        harness.store.last_attempted_moment("contoso").unwrap(),
        Some(datetime!(2026-03-10 02:00 UTC))
    );
}

#[tokio::test]
async fn custom_schedule_runs_at_own_time() {
    let harness = harness().await;
    let early = harness.tenant().clone();
    let mut late = early.clone();
    late.id = "contoso-late".to_string();
    late.schedule = ScheduleTime {
        hour: 5,
        minute: 30,
        second: 0,
    };
    run_for(&harness, &early, datetime!(2026-03-09 02:00 UTC)).await;
    run_for(&harness, &late, datetime!(2026-03-09 05:30 UTC)).await;
    let clock = Arc::new(ManualClock::new(datetime!(2026-03-10 01:00 UTC)));

    let tenants = vec![early, late];
    let scheduler = start_tenants(tenants, harness.store.clone(), &clock);
    sleeping_until(&clock, datetime!(2026-03-10 05:30 UTC), 1).await;
    clock.set(datetime!(2026-03-10 02:00 UTC));
    sleeping_until(&clock, datetime!(2026-03-11 02:00 UTC), 1).await;
    let late_runs_at_two = scheduled_runs(&harness.store, "contoso-late").len();
    clock.set(datetime!(2026-03-10 05:30 UTC));
    sleeping_until(&clock, datetime!(2026-03-11 05:30 UTC), 1).await;
    stop(scheduler).await;

    assert_eq!(late_runs_at_two, 1);
    assert_eq!(scheduled_runs(&harness.store, "contoso").len(), 2);
    assert_eq!(scheduled_runs(&harness.store, "contoso-late").len(), 2);
    assert_eq!(
        harness.store.last_attempted_moment("contoso-late").unwrap(),
        Some(datetime!(2026-03-10 05:30 UTC))
    );
}

#[tokio::test]
async fn failed_run_retries_next_night() {
    let harness = harness().await;
    harness.sim.set_faults(Faults {
        forbid_users: true,
        ..Faults::default()
    });
    let clock = Arc::new(ManualClock::new(datetime!(2026-03-10 09:00 UTC)));

    let scheduler = start(&harness, harness.store.clone(), &clock);
    sleeping_until(&clock, datetime!(2026-03-11 02:00 UTC), 1).await;
    let after_failure = scheduled_runs(&harness.store, "contoso");
    harness.sim.set_faults(Faults::default());
    clock.set(datetime!(2026-03-11 02:00 UTC));
    sleeping_until(&clock, datetime!(2026-03-12 02:00 UTC), 1).await;
    stop(scheduler).await;

    assert_eq!(after_failure.len(), 1);
    assert_eq!(after_failure[0].status, RunStatus::Failed);
    let runs = scheduled_runs(&harness.store, "contoso");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].status, RunStatus::Succeeded);
}

/// Advances the clock in lease-retry steps until `count` tasks sleep until `moment`, so a
/// host that found the lease taken checks the history again.
async fn advance_until_sleeping(clock: &ManualClock, moment: OffsetDateTime, count: usize) {
    for _ in 0..20 {
        let settled = clock
            .wait_for_sleepers(moment, count, Duration::from_millis(500))
            .await;
        if settled.is_ok() {
            return;
        }
        clock.advance(time::Duration::try_from(START_RETRY_INTERVAL).unwrap());
    }
    sleeping_until(clock, moment, count).await;
}

#[tokio::test]
async fn two_hosts_run_once_nightly() {
    let harness = harness().await;
    let data_dir = harness.config.data_dir.clone();
    let first_store = Arc::new(Store::open(&data_dir).unwrap());
    let second_store = Arc::new(Store::open(&data_dir).unwrap());
    let clock = Arc::new(ManualClock::new(datetime!(2026-03-10 09:00 UTC)));

    let first = start(&harness, first_store, &clock);
    let second = start(&harness, second_store, &clock);
    advance_until_sleeping(&clock, datetime!(2026-03-11 02:00 UTC), 2).await;
    let first_night = scheduled_runs(&harness.store, "contoso").len();
    let first_night_listings = harness.sim.counters().user_pages;
    clock.set(datetime!(2026-03-11 02:00 UTC));
    advance_until_sleeping(&clock, datetime!(2026-03-12 02:00 UTC), 2).await;
    stop(first).await;
    stop(second).await;

    assert_eq!(first_night, 1);
    assert_eq!(first_night_listings, 1);
    assert_eq!(scheduled_runs(&harness.store, "contoso").len(), 2);
    assert_eq!(harness.sim.counters().user_pages, 2);
}

fn parse_utc(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
}

#[tokio::test]
async fn concurrency_limit_queues_runs() {
    let harness = harness().await;
    harness.sim.set_faults(Faults {
        latency_ms: 20,
        ..Faults::default()
    });
    let tenants: Vec<TenantConfig> = ["contoso", "contoso-b", "contoso-c"]
        .iter()
        .map(|id| {
            let mut tenant = harness.tenant().clone();
            tenant.id = id.to_string();
            tenant
        })
        .collect();
    let clock = Arc::new(ManualClock::new(datetime!(2026-03-10 09:00 UTC)));
    let one_at_a_time = ServeSettings {
        max_concurrent_tenants: 1,
        ..settings()
    };

    let scheduler = Scheduler::start(
        tenants,
        harness.store.clone(),
        shared_runtime(),
        clock.clone(),
        &one_at_a_time,
    );
    sleeping_until(&clock, datetime!(2026-03-11 02:00 UTC), 3).await;
    stop(scheduler).await;

    let mut runs = harness.store.recent_runs(None, 10).unwrap();
    assert_eq!(runs.len(), 3);
    runs.sort_by_key(|run| parse_utc(&run.started_at));
    for pair in runs.windows(2) {
        let finished = parse_utc(pair[0].finished_at.as_deref().unwrap());
        let next_started = parse_utc(&pair[1].started_at);
        assert!(
            next_started >= finished,
            "run {} started before run {} finished",
            pair[1].id,
            pair[0].id
        );
    }
}
