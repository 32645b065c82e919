//! The `photosync` binary as operators run it: status output and a host killed mid-run.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use graph_sim::Faults;
use photosync::store::RunStatus;

use crate::support::{
    fixture, member, member_with_error, member_with_photo, photo_file, photosync_binary, Harness,
};

#[tokio::test]
async fn status_json_lists_runs_and_failures() {
    let users = vec![
        member_with_photo(1, "astronaut-96.jpg"),
        member_with_error(2, 400, "AuthenticationError"),
    ];
    let harness = Harness::start(fixture(users), "", "").await;
    harness.sync().await;

    let output = Command::new(photosync_binary())
        .arg("status")
        .arg("--config")
        .arg(harness.config_path())
        .arg("--json")
        .output()
        .unwrap();

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let run = &status["tenants"][0]["runs"][0];
    assert_eq!(run["status"], "partial");
    assert_eq!(run["counts"]["downloaded"], 1);
    assert_eq!(run["counts"]["failed"], 1);
    assert_eq!(run["failures"][0]["user_id"], member(2).id);
    assert_eq!(run["failures"][0]["kind"], "unavailable");
    assert!(status["tenants"][0]["next_run_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
}

#[tokio::test]
async fn sigkill_mid_run_keeps_stored_photos() {
    let users = (0..40)
        .map(|index| member_with_photo(index, "astronaut-96.jpg"))
        .collect();
    let harness = Harness::start(fixture(users), "", "").await;
    let first = harness.sync().await;
    assert_eq!(first.counts.downloaded, 40);
    let before = harness.stored();
    for index in 0..40 {
        harness.sim.set_photo(
            &member(index).id,
            photo_file("chelsea-648.jpg"),
            "image/jpeg",
        );
    }
    harness.sim.reset_counters();
    harness.sim.set_faults(Faults {
        latency_ms: 100,
        ..Faults::default()
    });

    let mut child = Command::new(photosync_binary())
        .arg("sync")
        .arg("--config")
        .arg(harness.config_path())
        .env("PHOTOSYNC_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while harness.sim.counters().photo_value < 8 {
        assert!(
            Instant::now() < deadline,
            "the child run never started downloading"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the child run ended before it was killed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();

    assert_eq!(harness.stored(), before);
    for sha256 in before.values() {
        assert!(harness.store.read_blob("contoso", sha256).is_ok());
    }

    harness.sim.set_faults(Faults::default());
    let next = harness.sync().await;

    assert_eq!(next.status, RunStatus::Succeeded, "{:?}", next.error);
    assert_eq!(next.counts.downloaded, 40);
    let runs = harness.store.recent_runs(Some("contoso"), 3).unwrap();
    assert_eq!(runs[1].status, RunStatus::Interrupted);
}

#[tokio::test]
async fn sync_skips_tenant_with_sync_disabled() {
    let users = vec![member_with_photo(1, "astronaut-96.jpg")];
    let harness = Harness::start(fixture(users), "", "").await;
    let path = harness.config_path();
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replacen(
        "allowed_hosts = [",
        "sync_enabled = false\nallowed_hosts = [",
        1,
    );
    std::fs::write(&path, text).unwrap();

    let output = Command::new(photosync_binary())
        .arg("sync")
        .arg("--config")
        .arg(&path)
        .args(["--tenant", "contoso"])
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("sync_enabled = false"), "{stderr}");
    assert_eq!(harness.sim.counters().token_requests, 0);
    assert!(harness.stored().is_empty());
}
