//! Photo outcomes: formats, content types, byte checks, absent photos and per-user errors.

use photosync::store::RunStatus;

use crate::support::{fixture, member, member_with_error, member_with_photo, photo_file, Harness};

#[tokio::test]
async fn png_and_gif_photos_are_stored() {
    let users = vec![
        member_with_photo(1, "coffee-240.png"),
        member_with_photo(2, "tiny-animated.gif"),
    ];
    let harness = Harness::start(fixture(users), "", "").await;

    let report = harness.sync().await;

    assert_eq!(report.counts.downloaded, 2, "{:?}", report.failures);
    let png = harness
        .store
        .photo("contoso", &member(1).id)
        .unwrap()
        .unwrap();
    assert_eq!(png.content_type, "image/png");
    assert_eq!(png.width, Some(240));
    let gif = harness
        .store
        .photo("contoso", &member(2).id)
        .unwrap()
        .unwrap();
    assert_eq!(gif.content_type, "image/gif");
    let bytes = harness.store.read_blob("contoso", &gif.sha256).unwrap();
    assert_eq!(bytes, photo_file("tiny-animated.gif"));
}

#[tokio::test]
async fn mixed_case_content_type_is_accepted() {
    let mut user = member_with_photo(1, "astronaut-648.jpg");
    user.photo_content_type = Some("image/Jpeg".to_string());
    let harness = Harness::start(fixture(vec![user]), "", "").await;

    let report = harness.sync().await;

    assert_eq!(report.counts.downloaded, 1, "{:?}", report.failures);
    let stored = harness
        .store
        .photo("contoso", &member(1).id)
        .unwrap()
        .unwrap();
    assert_eq!(stored.content_type, "image/jpeg");
    assert_eq!((stored.width, stored.height), (Some(648), Some(648)));
}

#[tokio::test]
async fn not_found_codes_mean_no_photo() {
    let users = vec![
        member(1),
        member_with_error(2, 404, "ImageNotFound"),
        member_with_error(3, 404, "ErrorEntityNotFound"),
        member_with_error(4, 404, "ErrorItemNotFound"),
    ];
    let harness = Harness::start(fixture(users), "", "").await;

    let report = harness.sync().await;

    assert_eq!(report.status, RunStatus::Succeeded, "{:?}", report.failures);
    assert_eq!(report.counts.no_photo, 4);
    assert_eq!(report.counts.failed, 0);
    assert_eq!(harness.sim.counters().photo_value, 0);
}

#[tokio::test]
async fn mailbox_error_keeps_stored_photo() {
    let users = vec![
        member_with_photo(1, "astronaut-96.jpg"),
        member_with_photo(2, "chelsea-648.jpg"),
    ];
    let mut harness = Harness::start(fixture(users), "", "").await;
    harness.sync().await;
    let before = harness.stored();

    // The same directory, but user 1 now has no mailbox, as Graph reports it.
    let users = vec![
        member_with_error(1, 400, "AuthenticationError"),
        member_with_photo(2, "chelsea-648.jpg"),
    ];
    let previous = std::mem::replace(
        &mut harness.sim,
        graph_sim::GraphSim::start(fixture(users)).await.unwrap(),
    );
    previous.shutdown().await;
    let base_url = harness.sim.base_url();
    harness.config = crate::support::write_config(
        harness.directory.path(),
        &base_url,
        &base_url,
        &base_url,
        "",
        "",
    );
    let report = harness.sync().await;

    assert_eq!(report.status, RunStatus::Partial);
    assert_eq!(report.counts.failed, 1);
    assert_eq!(report.failures[0].user_id, member(1).id);
    assert_eq!(report.failures[0].kind, "unavailable");
    assert!(
        report.failures[0].message.contains("AuthenticationError"),
        "{}",
        report.failures[0].message
    );
    assert_eq!(harness.stored(), before);
}

#[tokio::test]
async fn truncated_and_empty_photos_fail_per_user() {
    let users = vec![
        member_with_photo(1, "broken-truncated.jpg"),
        member_with_photo(2, "broken-empty.jpg"),
        member_with_photo(3, "rocket-504-progressive.jpg"),
    ];
    let harness = Harness::start(fixture(users), "", "").await;

    let report = harness.sync().await;

    assert_eq!(report.status, RunStatus::Partial);
    assert_eq!(report.counts.downloaded, 1);
    let mut failed: Vec<(&str, &str)> = report
        .failures
        .iter()
        .map(|failure| (failure.user_id.as_str(), failure.kind.as_str()))
        .collect();
    failed.sort();
    let (first, second) = (member(1).id, member(2).id);
    assert_eq!(
        failed,
        vec![
            (first.as_str(), "invalid_photo"),
            (second.as_str(), "invalid_photo")
        ]
    );
    assert_eq!(harness.stored().len(), 1);
}

#[tokio::test]
async fn oversized_photo_fails_per_user() {
    let users = vec![
        member_with_photo(1, "coffee-3000-large.jpg"),
        member_with_photo(2, "astronaut-96.jpg"),
    ];
    let harness = Harness::start(fixture(users), "max_photo_bytes = 1000000", "").await;

    let report = harness.sync().await;

    assert_eq!(report.counts.downloaded, 1);
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].user_id, member(1).id);
    assert_eq!(report.failures[0].kind, "invalid_photo");
    assert!(
        report.failures[0].message.contains("1000000"),
        "{}",
        report.failures[0].message
    );
}

#[tokio::test]
async fn unchanged_photo_is_not_downloaded_again() {
    let users = vec![
        member_with_photo(1, "astronaut-96.jpg"),
        member_with_photo(2, "chelsea-648.jpg"),
    ];
    let harness = Harness::start(fixture(users), "", "").await;
    harness.sync().await;
    harness.sim.reset_counters();
    harness
        .sim
        .set_photo(&member(2).id, photo_file("coffee-240.png"), "image/png");

    let report = harness.sync().await;

    assert_eq!(report.counts.unchanged, 1);
    assert_eq!(report.counts.downloaded, 1);
    let counters = harness.sim.counters();
    assert_eq!(counters.photo_metadata, 2);
    assert_eq!(counters.photo_value, 1);
}
