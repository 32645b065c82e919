//! `photosync check` as an administrator runs it: the real binary against the Graph simulator,
//! one test per setup mistake, asserting the failing line and the exit code.

use std::path::Path;
use std::process::Command;

use graph_sim::Faults;

use crate::support::{
    fixture, guest, member, member_with_error, member_with_photo, photosync_binary, write_config,
    Harness, CLIENT_ID, TENANT_ID,
};

/// Principal name of the guest in the scope test, in Entra's `#EXT#` form.
const GUEST_NAME: &str = "guest_fabrikam.com#EXT#@contoso.onmicrosoft.com";

/// What one `photosync check` printed and how it exited.
struct CheckRun {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl CheckRun {
    /// Returns the text after `FAIL  <name>: ` on the line of check `name`, if it failed.
    fn failed_line(&self, name: &str) -> Option<&str> {
        self.status_line("FAIL", name)
    }

    /// Returns the detail of check `name` when its line has `status` (`pass`, `skip`, ...).
    fn status_line(&self, status: &str, name: &str) -> Option<&str> {
        let label = format!("{name}: ");
        self.stdout.lines().find_map(|line| {
            let rest = line.trim_start().strip_prefix(status)?;
            rest.trim_start().strip_prefix(label.as_str())
        })
    }

    fn context(&self) -> String {
        format!("stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr)
    }
}

/// Runs `photosync check` on a blocking thread, so the test's runtime keeps serving the
/// simulator's requests while the child process waits for them.
async fn run_check(config: &Path, extra: &[&str]) -> CheckRun {
    let mut command = Command::new(photosync_binary());
    command
        .arg("check")
        .arg("--config")
        .arg(config)
        .args(["--tenant", "contoso"])
        .args(extra)
        .env("PHOTOSYNC_LOG", "error");
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    CheckRun {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Replaces `from` with `to` in the harness's configuration file.
fn edit_config(harness: &Harness, from: &str, to: &str) {
    let path = harness.config_path();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{from} is not in the configuration");
    std::fs::write(&path, text.replace(from, to)).unwrap();
}

async fn healthy_harness() -> Harness {
    let users = vec![
        member_with_photo(1, "astronaut-96.jpg"),
        member(2),
        guest(3, GUEST_NAME),
    ];
    Harness::start(fixture(users), "", "").await
}

#[tokio::test]
async fn healthy_config_passes_every_line() {
    let harness = healthy_harness().await;
    harness.sync().await;

    let run = run_check(&harness.config_path(), &["--json"]).await;

    assert_eq!(run.code, Some(0), "{}", run.context());
    let checklist: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let lines = checklist["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 9, "{}", run.context());
    for line in lines {
        assert_eq!(line["status"], "pass", "{line}");
    }
}

#[tokio::test]
async fn healthy_config_text_ends_passed() {
    let harness = healthy_harness().await;
    harness.sync().await;

    let run = run_check(&harness.config_path(), &[]).await;

    assert_eq!(run.code, Some(0), "{}", run.context());
    assert!(
        run.stdout.trim_end().ends_with("all checks passed"),
        "{}",
        run.context()
    );
}

#[tokio::test]
async fn wrong_secret_fails_token_line() {
    let harness = healthy_harness().await;
    std::fs::write(
        harness.directory.path().join("client-secret"),
        "8c1f2e3d-0000-4000-8000-secret-id-guid",
    )
    .unwrap();

    let run = run_check(&harness.config_path(), &[]).await;

    assert_eq!(run.code, Some(1), "{}", run.context());
    let line = run
        .failed_line("token")
        .unwrap_or_else(|| panic!("{}", run.context()));
    assert!(
        line.starts_with("wrong client secret (AADSTS7000215)"),
        "{line}"
    );
    assert!(
        run.stdout.contains("not its Secret ID"),
        "{}",
        run.context()
    );
    assert!(!run.stdout.contains("secret-id-guid"), "{}", run.context());
}

#[tokio::test]
async fn expired_secret_fails_token_line() {
    let harness = healthy_harness().await;
    harness.sim.set_faults(Faults {
        secret_expired: true,
        ..Faults::default()
    });

    let run = run_check(&harness.config_path(), &[]).await;

    assert_eq!(run.code, Some(1), "{}", run.context());
    let line = run
        .failed_line("token")
        .unwrap_or_else(|| panic!("{}", run.context()));
    assert!(
        line.starts_with("expired client secret (AADSTS7000222)"),
        "{line}"
    );
    assert!(
        run.stdout.contains("create a new client secret"),
        "{}",
        run.context()
    );
}

#[tokio::test]
async fn unknown_tenant_fails_token_line() {
    let harness = healthy_harness().await;
    edit_config(&harness, TENANT_ID, "fabrikam-unknown.onmicrosoft.com");

    let run = run_check(&harness.config_path(), &[]).await;

    assert_eq!(run.code, Some(1), "{}", run.context());
    let line = run
        .failed_line("token")
        .unwrap_or_else(|| panic!("{}", run.context()));
    assert!(line.starts_with("unknown tenant (AADSTS90002)"), "{line}");
}

#[tokio::test]
async fn app_not_in_tenant_fails_token_line() {
    let harness = healthy_harness().await;
    edit_config(&harness, CLIENT_ID, "0a0b0c0d-1111-4222-8333-999999999999");

    let run = run_check(&harness.config_path(), &[]).await;

    assert_eq!(run.code, Some(1), "{}", run.context());
    let line = run
        .failed_line("token")
        .unwrap_or_else(|| panic!("{}", run.context()));
    assert!(
        line.starts_with("app not found in the tenant (AADSTS700016)"),
        "{line}"
    );
}

#[tokio::test]
async fn missing_photo_permission_fails_photo_line() {
    let harness = healthy_harness().await;
    harness.sim.set_faults(Faults {
        forbid_photos: true,
        ..Faults::default()
    });

    let run = run_check(&harness.config_path(), &[]).await;

    assert_eq!(run.code, Some(1), "{}", run.context());
    assert!(
        run.status_line("pass", "read users").is_some(),
        "{}",
        run.context()
    );
    let line = run
        .failed_line("read photo metadata")
        .unwrap_or_else(|| panic!("{}", run.context()));
    assert!(line.contains("HTTP 403"), "{line}");
    assert!(line.contains("ProfilePhoto.Read.All"), "{line}");
}

#[tokio::test]
async fn missing_user_permission_fails_users_line() {
    let harness = healthy_harness().await;
    harness.sim.set_faults(Faults {
        forbid_users: true,
        ..Faults::default()
    });

    let run = run_check(&harness.config_path(), &[]).await;

    assert_eq!(run.code, Some(1), "{}", run.context());
    assert!(
        run.status_line("pass", "token").is_some(),
        "{}",
        run.context()
    );
    let line = run
        .failed_line("read users")
        .unwrap_or_else(|| panic!("{}", run.context()));
    assert!(line.contains("Authorization_RequestDenied"), "{line}");
    assert!(line.contains("User.Read.All"), "{line}");
    assert!(
        run.status_line("skip", "read photo metadata").is_some(),
        "{}",
        run.context()
    );
}

#[tokio::test]
async fn uncovered_login_host_fails_allowed_hosts() {
    let harness = healthy_harness().await;
    let graph = harness.sim.base_url();
    write_config(
        harness.directory.path(),
        &graph,
        "https://login.microsoftonline.com",
        &graph,
        "",
        "",
    );

    let run = run_check(&harness.config_path(), &[]).await;

    assert_eq!(run.code, Some(1), "{}", run.context());
    let line = run
        .failed_line("allowed hosts")
        .unwrap_or_else(|| panic!("{}", run.context()));
    assert!(line.contains("https://login.microsoftonline.com"), "{line}");
    assert!(
        run.status_line("skip", "token").is_some(),
        "{}",
        run.context()
    );
    assert_eq!(harness.sim.counters().token_requests, 0);
}

#[tokio::test]
async fn unset_secret_variable_still_lists_parts() {
    let harness = healthy_harness().await;
    edit_config(
        &harness,
        "{ file = \"client-secret\" }",
        "{ env = \"PHOTOSYNC_TEST_UNSET_SECRET\" }",
    );

    let run = run_check(&harness.config_path(), &[]).await;

    assert_eq!(run.code, Some(1), "{}", run.context());
    let configuration = run
        .failed_line("configuration")
        .unwrap_or_else(|| panic!("{}", run.context()));
    assert!(
        configuration.contains("PHOTOSYNC_TEST_UNSET_SECRET"),
        "{configuration}"
    );
    let secrets = run
        .failed_line("secrets")
        .unwrap_or_else(|| panic!("{}", run.context()));
    assert!(secrets.contains("PHOTOSYNC_TEST_UNSET_SECRET"), "{secrets}");
    assert!(
        run.status_line("pass", "plugin").is_some(),
        "{}",
        run.context()
    );
    assert!(
        run.status_line("pass", "schedule").is_some(),
        "{}",
        run.context()
    );
}

#[tokio::test]
async fn user_without_photo_fails_photo_line() {
    let harness = healthy_harness().await;

    let run = run_check(&harness.config_path(), &["--user", "USER2@contoso.com"]).await;

    assert_eq!(run.code, Some(1), "{}", run.context());
    let user = run
        .status_line("pass", "user")
        .unwrap_or_else(|| panic!("{}", run.context()));
    assert!(user.contains("directory listing made now"), "{user}");
    let line = run
        .failed_line("photo in Microsoft 365")
        .unwrap_or_else(|| panic!("{}", run.context()));
    assert!(line.starts_with("absent"), "{line}");
    assert!(
        run.status_line("pass", "scope").is_some(),
        "{}",
        run.context()
    );
}

#[tokio::test]
async fn guest_out_of_scope_fails_scope_line() {
    let harness = healthy_harness().await;
    harness.sync().await;

    let run = run_check(&harness.config_path(), &["--user", GUEST_NAME]).await;

    assert_eq!(run.code, Some(1), "{}", run.context());
    let line = run
        .failed_line("scope")
        .unwrap_or_else(|| panic!("{}", run.context()));
    assert!(line.starts_with("out of scope: guest account"), "{line}");
    assert!(
        run.stdout.contains("include_guests = true"),
        "{}",
        run.context()
    );
    assert!(
        run.status_line("pass", "photo in Microsoft 365").is_some(),
        "{}",
        run.context()
    );
}

#[tokio::test]
async fn failed_last_sync_fails_history_line() {
    let users = vec![
        member_with_photo(1, "astronaut-96.jpg"),
        member_with_error(4, 400, "AuthenticationError"),
    ];
    let harness = Harness::start(fixture(users), "", "").await;
    harness.sync().await;

    let run = run_check(&harness.config_path(), &["--user", &member(4).id]).await;

    assert_eq!(run.code, Some(1), "{}", run.context());
    let line = run
        .failed_line("last sync of user")
        .unwrap_or_else(|| panic!("{}", run.context()));
    assert!(line.contains("AuthenticationError"), "{line}");
    assert!(line.contains("(unavailable)"), "{line}");
    assert!(
        run.failed_line("photo in Microsoft 365").is_some(),
        "{}",
        run.context()
    );
}

#[tokio::test]
async fn synced_user_passes_every_line() {
    let harness = healthy_harness().await;
    harness.sync().await;

    let run = run_check(&harness.config_path(), &["--user", "user1@contoso.com"]).await;

    assert_eq!(run.code, Some(0), "{}", run.context());
    let line = run
        .status_line("pass", "photo in Microsoft 365")
        .unwrap_or_else(|| panic!("{}", run.context()));
    assert!(line.starts_with("present and unchanged"), "{line}");
    assert!(
        run.status_line("pass", "stored photo").is_some(),
        "{}",
        run.context()
    );
}
