//! The compiled-component cache: a second start of the `photosync` binary loads the plugin
//! from disk instead of compiling it.

use std::process::Command;

use crate::support::{fixture, member_with_photo, photosync_binary, Harness};

/// Runs `photosync sync` on the harness configuration and returns its stderr.
fn sync_stderr(harness: &Harness) -> String {
    let output = Command::new(photosync_binary())
        .arg("sync")
        .arg("--config")
        .arg(harness.config_path())
        .env("PHOTOSYNC_LOG", "info")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_start_loads_cached_plugin() {
    let harness = Harness::start(
        fixture(vec![member_with_photo(1, "astronaut-96.jpg")]),
        "",
        "",
    )
    .await;

    let first = sync_stderr(&harness);
    let second = sync_stderr(&harness);

    assert!(first.contains("compiled plugin"), "{first}");
    let cache = harness.config.data_dir.join("cache/components");
    let files: Vec<_> = std::fs::read_dir(&cache).unwrap().collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        second.contains("from the compiled-component cache"),
        "{second}"
    );
    assert!(!second.contains("compiled plugin"), "{second}");
}
