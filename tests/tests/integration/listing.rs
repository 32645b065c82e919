//! Listing users: paging, scope, and how users are addressed.

use graph_sim::Faults;
use photosync::store::RunStatus;

use crate::support::{fixture, guest, member_with_photo, Harness};

#[tokio::test]
async fn paging_follows_next_link_past_empty_page() {
    let users = (0..7)
        .map(|index| member_with_photo(index, "astronaut-96.jpg"))
        .collect();
    let mut fixture = fixture(users);
    fixture.page_size = 2;
    let harness = Harness::start(fixture, "", "").await;
    harness.sim.set_faults(Faults {
        empty_pages_at: vec![2],
        ..Faults::default()
    });

    let report = harness.sync().await;

    assert_eq!(report.status, RunStatus::Succeeded, "{:?}", report.error);
    assert_eq!(report.counts.listed, 7);
    assert_eq!(report.counts.downloaded, 7);
    // Four pages of at most two users, plus the empty one.
    assert_eq!(harness.sim.counters().user_pages, 5);
}

#[tokio::test]
async fn guests_and_disabled_users_are_out_of_scope_by_default() {
    let mut disabled = member_with_photo(2, "astronaut-96.jpg");
    disabled.account_enabled = false;
    let users = vec![
        member_with_photo(1, "astronaut-96.jpg"),
        disabled,
        guest(3, "ext_fabrikam.com#EXT#@contoso.onmicrosoft.com"),
    ];
    let harness = Harness::start(fixture(users), "", "").await;

    let report = harness.sync().await;

    assert_eq!(report.counts.in_scope, 1);
    assert_eq!(report.counts.out_of_scope, 2);
    assert_eq!(harness.sim.counters().photo_metadata, 1);
    assert_eq!(harness.stored().len(), 1);
}

#[tokio::test]
async fn special_principal_names_are_synced_by_id() {
    let mut apostrophe = member_with_photo(1, "astronaut-96.jpg");
    apostrophe.user_principal_name = "sean.o'brien@contoso.com".to_string();
    let mut accented = member_with_photo(2, "chelsea-648.jpg");
    accented.user_principal_name = "zoë.müller@contoso.com".to_string();
    accented.display_name = "Zoë Müller".to_string();
    let external = guest(3, "ana_fabrikam.com#EXT#@contoso.onmicrosoft.com");
    let ids: Vec<String> = [&apostrophe, &accented, &external]
        .iter()
        .map(|user| user.id.clone())
        .collect();
    let harness = Harness::start(
        fixture(vec![apostrophe, accented, external]),
        "include_guests = true",
        "",
    )
    .await;

    let report = harness.sync().await;

    assert_eq!(report.status, RunStatus::Succeeded, "{:?}", report.failures);
    assert_eq!(report.counts.downloaded, 3);
    let counters = harness.sim.counters();
    for id in &ids {
        assert_eq!(
            counters.photo_metadata_by_user.get(id),
            Some(&1),
            "metadata requests for {id}"
        );
    }
    assert_eq!(harness.stored().len(), 3);
}

#[tokio::test]
async fn dry_run_stores_nothing() {
    let users = vec![member_with_photo(1, "astronaut-96.jpg")];
    let harness = Harness::start(fixture(users), "", "").await;
    let request = photosync::engine::RunRequest {
        dry_run: true,
        ..photosync::engine::RunRequest::manual()
    };

    let report = photosync::engine::run_tenant(
        crate::support::runtime(),
        &harness.store,
        harness.tenant(),
        request,
        &photosync::engine::NoProgress,
    )
    .await
    .unwrap();

    assert_eq!(report.counts.downloaded, 1);
    assert!(harness.stored().is_empty());
}
