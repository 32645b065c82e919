//! The outbound allow-list: a plugin reaches only its tenant's allowed hosts.

use std::net::TcpListener;

use photosync::store::RunStatus;

use crate::support::{fixture, member_with_photo, write_config, Harness};

#[tokio::test]
async fn request_to_unlisted_host_is_denied_before_connecting() {
    let harness = Harness::start(
        fixture(vec![member_with_photo(1, "astronaut-96.jpg")]),
        "",
        "",
    )
    .await;
    // A listener the plugin is pointed at but that is not allowed: it must never see a connection.
    let bystander = TcpListener::bind("127.0.0.1:0").unwrap();
    bystander.set_nonblocking(true).unwrap();
    let bystander_url = format!("http://{}", bystander.local_addr().unwrap());
    let mut harness = harness;
    let base_url = harness.sim.base_url();
    harness.config = write_config(
        harness.directory.path(),
        &base_url,
        &base_url,
        &bystander_url,
        "",
        "",
    );

    let report = harness.sync().await;

    assert_eq!(report.status, RunStatus::Failed);
    let error = report.error.unwrap();
    assert_eq!(error.kind, "host_denied");
    assert!(
        error.message.contains(&bystander_url[7..]),
        "{}",
        error.message
    );
    assert!(error.message.contains("allowed_hosts"), "{}", error.message);
    let accepted = bystander.accept();
    assert!(
        matches!(&accepted, Err(error) if error.kind() == std::io::ErrorKind::WouldBlock),
        "the denied host received a connection: {accepted:?}"
    );
    assert!(harness.stored().is_empty());
}
