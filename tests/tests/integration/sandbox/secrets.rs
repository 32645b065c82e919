//! Secrets stay in the host: after a sync whose plugins read a known secret, and one of them
//! prints it, no log line, run record, status output or database byte contains it.

use std::process::Command;

use graph_sim::GraphSim;
use photosync::store::{RunStatus, Store};

use super::{
    bad_tenant_toml, good_tenant_toml, guest_tenant_toml, write_tenants_file, BAD_TENANT,
    GOOD_TENANT,
};

/// A tenant whose plugin quotes the secret in a per-user error message.
const LEAKY_TENANT: &str = "leaky";
use crate::support::{fixture, member_with_photo, photosync_binary, CLIENT_SECRET};

/// Log filter for the sync: everything at trace level except the compiler's own crates, whose
/// trace output of a component compile runs to hundreds of megabytes and contains no data.
const EVERY_LOG_LINE: &str = "trace,cranelift_codegen=info,cranelift_frontend=info,regalloc2=info,wasmtime_internal_cranelift=info,wasmtime_environ=info,wasmparser=info,wasmtime=info";

/// Returns where `secret` occurs in `text`, for the failure message.
fn find_secret(text: &str, secret: &str) -> Option<String> {
    let position = text.find(secret)?;
    let start = position.saturating_sub(80);
    Some(text[start..(position + secret.len()).min(text.len())].to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_absent_from_every_output() {
    let sim = GraphSim::start(fixture(vec![member_with_photo(1, "astronaut-96.jpg")]))
        .await
        .expect("graph-sim starts");
    let directory = tempfile::tempdir().unwrap();
    // Not loaded here: the environment variable is set only for the child processes.
    let config_path = write_tenants_file(
        directory.path(),
        &[
            good_tenant_toml(&sim.base_url(), ""),
            bad_tenant_toml(
                &[],
                "behaviour = \"print\"\nmessage = { file = \"client-secret\" }",
                "",
            ),
            guest_tenant_toml(
                LEAKY_TENANT,
                &[],
                "behaviour = \"fail-with-message\"\nmessage = { env = \"PHOTOSYNC_TEST_SECRET\" }",
                "",
            ),
        ],
    );

    let sync = Command::new(photosync_binary())
        .arg("sync")
        .arg("--config")
        .arg(&config_path)
        .arg("--json")
        .env("PHOTOSYNC_LOG", EVERY_LOG_LINE)
        .env("PHOTOSYNC_TEST_SECRET", CLIENT_SECRET)
        .output()
        .unwrap();
    let status = Command::new(photosync_binary())
        .arg("status")
        .arg("--config")
        .arg(&config_path)
        .arg("--json")
        .env("PHOTOSYNC_TEST_SECRET", CLIENT_SECRET)
        .output()
        .unwrap();

    let sync_stdout = String::from_utf8_lossy(&sync.stdout);
    let sync_stderr = String::from_utf8_lossy(&sync.stderr);
    let status_stdout = String::from_utf8_lossy(&status.stdout);
    // Exit code 2: the leaky tenant's run is partial, with one failed user.
    assert_eq!(sync.status.code(), Some(2), "{sync_stderr}");
    assert!(status.status.success());
    // The plugin's print reached the log, tagged with its tenant, with the secret replaced.
    let printed = sync_stderr
        .lines()
        .find(|line| line.contains("stdout: "))
        .expect("the plugin's stdout line is in the log");
    assert!(printed.contains(BAD_TENANT), "{printed}");
    assert!(printed.contains("[redacted]"), "{printed}");
    assert_eq!(find_secret(&sync_stdout, CLIENT_SECRET), None);
    assert_eq!(find_secret(&sync_stderr, CLIENT_SECRET), None);
    assert_eq!(find_secret(&status_stdout, CLIENT_SECRET), None);

    let data_dir = directory.path().join("data");
    let store = Store::open(&data_dir).unwrap();
    let runs = store.recent_runs(None, 10).unwrap();
    assert_eq!(runs.len(), 3);
    let good = runs.iter().find(|run| run.tenant == GOOD_TENANT).unwrap();
    assert_eq!(good.status, RunStatus::Succeeded);
    let leaky = runs.iter().find(|run| run.tenant == LEAKY_TENANT).unwrap();
    assert_eq!(leaky.failures.len(), 1);
    assert!(
        leaky.failures[0].message.contains("[redacted]"),
        "{}",
        leaky.failures[0].message
    );
    for run in &runs {
        let record = format!("{run:?}");
        assert_eq!(find_secret(&record, CLIENT_SECRET), None);
    }
    for entry in std::fs::read_dir(&data_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert_eq!(
                find_secret(&text, CLIENT_SECRET),
                None,
                "{}",
                path.display()
            );
        }
    }
}
