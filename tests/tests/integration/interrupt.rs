//! Cancelled runs: a run whose cancellation token fires stops at a safe point, commits
//! nothing, removes the photo files it wrote and is recorded as interrupted.

use std::time::{Duration, Instant};

use graph_sim::Faults;
use photosync::engine::{run_tenant, NoProgress, RunRequest};
use photosync::store::RunStatus;
use sha2::{Digest, Sha256};

use crate::support::{fixture, member, member_with_photo, photo_file, runtime, Harness};

/// Real time a test waits for the simulator to see a run's requests.
const PROGRESS_TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn cancel_during_fetch_interrupts_run() {
    let users = (0..40)
        .map(|index| member_with_photo(index, "astronaut-96.jpg"))
        .collect();
    let harness = Harness::start(fixture(users), "", "").await;
    harness.sync().await;
    let before = harness.stored();
    let replacement = photo_file("chelsea-648.jpg");
    for index in 0..40 {
        harness
            .sim
            .set_photo(&member(index).id, replacement.clone(), "image/jpeg");
    }
    harness.sim.reset_counters();
    harness.sim.set_faults(Faults {
        latency_ms: 100,
        ..Faults::default()
    });

    let request = RunRequest::manual();
    let cancel = request.cancel.clone();
    let run = run_tenant(
        runtime(),
        &harness.store,
        harness.tenant(),
        request,
        &NoProgress,
    );
    let canceller = async {
        let deadline = Instant::now() + PROGRESS_TIMEOUT;
        while harness.sim.counters().photo_value < 8 {
            assert!(Instant::now() < deadline, "the run never downloaded photos");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        cancel.cancel();
    };
    let (report, ()) = tokio::join!(run, canceller);
    let report = report.unwrap();

    assert_eq!(report.status, RunStatus::Interrupted);
    assert_eq!(report.error.as_ref().unwrap().kind, "interrupted");
    assert!(harness.sim.counters().photo_value < 40);
    assert_eq!(harness.stored(), before);
    let written = hex::encode(Sha256::digest(&replacement));
    assert!(!harness.store.blob_path("contoso", &written).exists());
    let runs = harness.store.recent_runs(Some("contoso"), 1).unwrap();
    assert_eq!(runs[0].status, RunStatus::Interrupted);
}

#[tokio::test]
async fn cancel_during_listing_stops_run() {
    let users = vec![member_with_photo(1, "astronaut-96.jpg")];
    let harness = Harness::start(fixture(users), "", "").await;
    // Each token and Graph response takes 5 s, so the run is inside its first call when
    // the cancellation comes.
    harness.sim.set_faults(Faults {
        latency_ms: 5_000,
        ..Faults::default()
    });

    // Compiling the plugin is not part of the time measured.
    runtime().load(&harness.tenant().plugin).unwrap();
    let request = RunRequest::manual();
    let cancel = request.cancel.clone();
    let started = Instant::now();
    let run = run_tenant(
        runtime(),
        &harness.store,
        harness.tenant(),
        request,
        &NoProgress,
    );
    let canceller = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        cancel.cancel();
    };
    let (report, ()) = tokio::join!(run, canceller);
    let report = report.unwrap();

    assert_eq!(report.status, RunStatus::Interrupted);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(harness.sim.counters().user_pages, 0);
    assert!(harness.stored().is_empty());
}
