//! Removing photos: only when Graph states there is none, or after a complete listing.

use graph_sim::Faults;
use photosync::store::RunStatus;

use crate::support::{fixture, member, member_with_photo, Harness};

#[tokio::test]
async fn absent_photo_removes_synced_copy() {
    let users = vec![member_with_photo(1, "astronaut-96.jpg")];
    let harness = Harness::start(fixture(users), "", "").await;
    harness.sync().await;
    harness.sim.remove_photo(&member(1).id);

    let report = harness.sync().await;

    assert_eq!(report.counts.removed, 1);
    assert!(harness.stored().is_empty());
}

#[tokio::test]
async fn absent_photo_kept_when_removal_is_off() {
    let users = vec![member_with_photo(1, "astronaut-96.jpg")];
    let harness = Harness::start(fixture(users), "remove_when_absent = false", "").await;
    harness.sync().await;
    harness.sim.remove_photo(&member(1).id);

    let report = harness.sync().await;

    assert_eq!(report.counts.removed, 0);
    assert_eq!(harness.stored().len(), 1);
}

#[tokio::test]
async fn departed_user_removed_only_after_complete_listing() {
    let users = vec![
        member_with_photo(1, "astronaut-96.jpg"),
        member_with_photo(2, "chelsea-648.jpg"),
    ];
    let harness = Harness::start(fixture(users), "", "").await;
    harness.sync().await;
    harness.sim.remove_user(&member(2).id);
    harness.sim.set_faults(Faults {
        forbid_users: true,
        ..Faults::default()
    });

    let failed = harness.sync().await;

    assert_eq!(failed.status, RunStatus::Failed);
    assert_eq!(harness.stored().len(), 2);

    harness.sim.set_faults(Faults::default());
    let complete = harness.sync().await;

    assert_eq!(complete.status, RunStatus::Succeeded);
    assert_eq!(complete.counts.removed, 1);
    let stored = harness.stored();
    assert!(stored.contains_key(&member(1).id));
    assert!(!stored.contains_key(&member(2).id));
}

#[tokio::test]
async fn removed_photo_file_is_deleted() {
    let users = vec![member_with_photo(1, "astronaut-96.jpg")];
    let harness = Harness::start(fixture(users), "", "").await;
    harness.sync().await;
    let sha256 = harness.stored()[&member(1).id].clone();
    harness.sim.remove_photo(&member(1).id);

    harness.sync().await;

    assert!(!harness.store.blob_path("contoso", &sha256).exists());
}
