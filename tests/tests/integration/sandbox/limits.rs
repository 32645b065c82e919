//! Each sandbox limit, broken and obeyed. A broken limit fails only the misbehaving tenant's
//! run with the exact error kind, while the Entra tenant in the same host completes its run at
//! the same time. A guest using about 80% of a limit succeeds.

use photosync::engine::RunReport;
use photosync::store::RunStatus;

use super::guest_server::GuestServer;
use super::{TwoTenants, BAD_TENANT, GOOD_TENANT};

/// Asserts that the misbehaving tenant failed with `kind`, that its run record names the
/// tenant and plugin, and that the good tenant synced its one photo.
fn assert_only_bad_failed(two: &TwoTenants, good: &RunReport, bad: &RunReport, kind: &str) {
    assert_eq!(bad.status, RunStatus::Failed);
    let error = bad.error.as_ref().expect("the failed run has an error");
    assert_eq!(error.kind, kind, "{}", error.message);
    assert!(error.message.contains(BAD_TENANT), "{}", error.message);
    assert!(
        error.message.contains("misbehave 0.1.0"),
        "{}",
        error.message
    );
    let record = &two.store.recent_runs(Some(BAD_TENANT), 1).unwrap()[0];
    assert_eq!(record.status, RunStatus::Failed);
    assert_eq!(record.error_kind.as_deref(), Some(kind));
    assert_eq!(record.plugin.as_deref(), Some("misbehave 0.1.0"));

    assert_eq!(good.status, RunStatus::Succeeded, "{:?}", good.error);
    assert_eq!(good.counts.downloaded, 1);
    assert_eq!(two.store.local_photos(GOOD_TENANT).unwrap().len(), 1);
}

fn assert_succeeded(report: &RunReport) {
    assert_eq!(report.status, RunStatus::Succeeded, "{:?}", report.error);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_loop_hits_cpu_limit() {
    let two = TwoTenants::start(
        &[],
        r#"behaviour = "spin-in-list-users""#,
        "call_cpu_seconds = 1",
    )
    .await;

    let (good, bad) = two.run_both().await;

    assert_only_bad_failed(&two, &good, &bad, "cpu_time_limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spin_under_cpu_limit_succeeds() {
    let two = TwoTenants::start(
        &[],
        "behaviour = \"spin\"\nspin_ms = \"1600\"",
        "call_cpu_seconds = 2",
    )
    .await;

    assert_succeeded(&two.run_bad().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocation_hits_memory_limit() {
    let two = TwoTenants::start(
        &[],
        "behaviour = \"allocate\"\nallocate_mib = \"40\"",
        "memory_mib = 16",
    )
    .await;

    let (good, bad) = two.run_both().await;

    assert_only_bad_failed(&two, &good, &bad, "memory_limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocation_under_memory_limit_succeeds() {
    let two = TwoTenants::start(
        &[],
        "behaviour = \"allocate\"\nallocate_mib = \"12\"",
        "memory_mib = 16",
    )
    .await;

    assert_succeeded(&two.run_bad().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlisted_host_is_denied() {
    // `.invalid` never resolves, and the host rejects the request before any lookup.
    let two = TwoTenants::start(
        &[],
        "behaviour = \"call-denied-host\"\nurl = \"https://blocked.invalid/data\"",
        "",
    )
    .await;

    let (good, bad) = two.run_both().await;

    assert_only_bad_failed(&two, &good, &bad, "host_denied");
    let message = &bad.error.unwrap().message;
    assert!(message.contains("https://blocked.invalid:443"), "{message}");
    assert!(message.contains("allowed_hosts"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sized_body_over_cap_is_rejected() {
    let server = GuestServer::start().await;
    let url = server.url(&format!("/sized/{}", 2 << 20));
    let two = TwoTenants::start(
        std::slice::from_ref(&server.origin),
        &format!("behaviour = \"big-body\"\nurl = \"{url}\""),
        "max_response_mib = 1",
    )
    .await;

    let (good, bad) = two.run_both().await;

    assert_only_bad_failed(&two, &good, &bad, "response_too_large");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_body_over_cap_is_rejected() {
    let server = GuestServer::start().await;
    let url = server.url(&format!("/stream/{}", 2 << 20));
    let two = TwoTenants::start(
        std::slice::from_ref(&server.origin),
        &format!("behaviour = \"big-body\"\nurl = \"{url}\""),
        "max_response_mib = 1",
    )
    .await;

    let (good, bad) = two.run_both().await;

    assert_only_bad_failed(&two, &good, &bad, "response_too_large");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_under_cap_succeeds() {
    let server = GuestServer::start().await;
    // 80% of 1 MiB, streamed so the cap is checked chunk by chunk.
    let url = server.url(&format!("/stream/{}", (1 << 20) * 4 / 5));
    let two = TwoTenants::start(
        std::slice::from_ref(&server.origin),
        &format!("behaviour = \"big-body\"\nurl = \"{url}\""),
        "max_response_mib = 1",
    )
    .await;

    assert_succeeded(&two.run_bad().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trap_in_fetch_photo_fails_run() {
    let two = TwoTenants::start(&[], r#"behaviour = "trap-in-fetch-photo""#, "").await;

    let (good, bad) = two.run_both().await;

    assert_only_bad_failed(&two, &good, &bad, "trap");
    assert!(two.store.local_photos(BAD_TENANT).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_response_hits_wall_limit() {
    let server = GuestServer::start().await;
    let url = server.url("/slow/10000");
    let two = TwoTenants::start(
        std::slice::from_ref(&server.origin),
        &format!("behaviour = \"slow-http\"\nurl = \"{url}\""),
        "call_wall_seconds = 1",
    )
    .await;

    let (good, bad) = two.run_both().await;

    assert_only_bad_failed(&two, &good, &bad, "wall_time_limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_response_under_wall_limit_succeeds() {
    let server = GuestServer::start().await;
    let url = server.url("/slow/2400");
    let two = TwoTenants::start(
        std::slice::from_ref(&server.origin),
        &format!("behaviour = \"slow-http\"\nurl = \"{url}\""),
        "call_wall_seconds = 3",
    )
    .await;

    assert_succeeded(&two.run_bad().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_is_not_followed() {
    let server = GuestServer::start().await;
    // A listener outside the allow-list: following the redirect would connect to it.
    let bystander = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    bystander.set_nonblocking(true).unwrap();
    let port = bystander.local_addr().unwrap().port();
    let url = server.url(&format!("/redirect/{port}"));
    let two = TwoTenants::start(
        std::slice::from_ref(&server.origin),
        &format!("behaviour = \"big-body\"\nurl = \"{url}\""),
        "",
    )
    .await;

    let report = two.run_bad().await;

    assert_succeeded(&report);
    let accepted = bystander.accept();
    assert!(
        matches!(&accepted, Err(error) if error.kind() == std::io::ErrorKind::WouldBlock),
        "the redirect target received a connection: {accepted:?}"
    );
}
