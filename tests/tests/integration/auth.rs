//! Credentials and permissions: token renewal, wrong secrets and missing consent.

use graph_sim::Faults;
use photosync::store::RunStatus;

use crate::support::{fixture, member_with_photo, photo_file, Harness};

#[tokio::test]
async fn expired_token_is_renewed_once() {
    let users = (0..6)
        .map(|index| member_with_photo(index, "astronaut-96.jpg"))
        .collect();
    let harness = Harness::start(fixture(users), "", "parallel = 1").await;
    harness.sim.set_faults(Faults {
        expire_tokens_after_requests: Some(3),
        ..Faults::default()
    });

    let report = harness.sync().await;

    assert_eq!(
        report.status,
        RunStatus::Succeeded,
        "{:?} {:?}",
        report.error,
        report.failures
    );
    assert_eq!(report.counts.downloaded, 6);
    let counters = harness.sim.counters();
    assert_eq!(counters.tokens_issued, 2);
    assert_eq!(counters.unauthorized, 1);
}

#[tokio::test]
async fn wrong_secret_fails_with_aadsts_code() {
    let users = vec![member_with_photo(1, "astronaut-96.jpg")];
    let mut harness = Harness::start(fixture(users), "", "").await;
    std::fs::write(
        harness.directory.path().join("client-secret"),
        "not-the-secret",
    )
    .unwrap();
    harness.config = photosync::config::Config::load(&harness.config_path()).unwrap();

    let report = harness.sync().await;

    assert_eq!(report.status, RunStatus::Failed);
    let error = report.error.unwrap();
    assert_eq!(error.kind, "unauthorized");
    assert!(error.message.contains("AADSTS7000215"), "{}", error.message);
    assert!(
        !error.message.contains("not-the-secret"),
        "{}",
        error.message
    );
    assert_eq!(harness.sim.counters().token_requests, 1);
}

#[tokio::test]
async fn forbidden_photos_fail_run_without_changes() {
    let users = (0..4)
        .map(|index| member_with_photo(index, "astronaut-96.jpg"))
        .collect();
    let harness = Harness::start(fixture(users), "", "").await;
    harness.sync().await;
    let before = harness.stored();
    for index in 0..4 {
        let id = crate::support::member(index).id;
        harness
            .sim
            .set_photo(&id, photo_file("chelsea-648.jpg"), "image/jpeg");
    }
    harness.sim.set_faults(Faults {
        forbid_photos: true,
        ..Faults::default()
    });

    let report = harness.sync().await;

    assert_eq!(report.status, RunStatus::Failed);
    let error = report.error.unwrap();
    assert_eq!(error.kind, "forbidden");
    assert!(
        error.message.contains("ProfilePhoto.Read.All"),
        "{}",
        error.message
    );
    assert_eq!(harness.stored(), before);
}
