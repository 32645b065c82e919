//! Throttling: 429 responses with and without `Retry-After` are retried.

use graph_sim::{Faults, Throttle};
use photosync::store::RunStatus;

use crate::support::{fixture, member_with_photo, Harness};

async fn sync_with_throttle(
    retry_after: Option<u32>,
) -> (photosync::engine::RunReport, graph_sim::Counters) {
    let users = (0..4)
        .map(|index| member_with_photo(index, "astronaut-96.jpg"))
        .collect();
    let harness = Harness::start(fixture(users), "", "parallel = 2").await;
    harness.sim.set_faults(Faults {
        throttle: Some(Throttle {
            every: 3,
            retry_after,
            limit: Some(2),
        }),
        ..Faults::default()
    });
    let report = harness.sync().await;
    (report, harness.sim.counters())
}

#[tokio::test]
async fn throttled_with_retry_after_is_retried() {
    let (report, counters) = sync_with_throttle(Some(1)).await;

    assert_eq!(report.status, RunStatus::Succeeded, "{:?}", report.failures);
    assert_eq!(report.counts.downloaded, 4);
    assert_eq!(counters.throttled, 2);
    assert_eq!(report.counts.retries, 2);
}

#[tokio::test]
async fn throttled_without_retry_after_is_retried() {
    let (report, counters) = sync_with_throttle(None).await;

    assert_eq!(report.status, RunStatus::Succeeded, "{:?}", report.failures);
    assert_eq!(report.counts.downloaded, 4);
    assert_eq!(counters.throttled, 2);
    assert_eq!(report.counts.retries, 2);
}

#[tokio::test]
async fn endless_throttling_fails_only_that_user() {
    let users = vec![member_with_photo(0, "astronaut-96.jpg")];
    let harness = Harness::start(fixture(users), "", "retries = 2").await;
    harness.sim.set_faults(Faults {
        throttle: Some(Throttle {
            every: 1,
            retry_after: Some(1),
            limit: None,
        }),
        ..Faults::default()
    });

    let report = harness.sync().await;

    assert_eq!(report.status, RunStatus::Partial);
    assert_eq!(report.failures[0].kind, "throttled");
    assert_eq!(harness.sim.counters().throttled, 3);
}
