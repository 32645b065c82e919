//! `photosync serve` as a real process: a run at a schedule time a few seconds ahead, SIGTERM
//! during a slowed-down run, and the catch-up at the next start.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use graph_sim::Faults;
use photosync::schedule::format_utc;
use photosync::store::{RunRecord, RunStatus};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::support::{fixture, member, member_with_photo, photo_file, photosync_binary, Harness};

/// Real time a test waits for the serve process to reach a state.
const STATE_TIMEOUT: Duration = Duration::from_secs(90);
/// Seconds between writing a configuration and its schedule time.
const SCHEDULE_LEAD_SECONDS: i64 = 4;
/// The configured shutdown grace; a process must exit well within it after SIGTERM.
const GRACE_SECONDS: u64 = 10;
const USERS: usize = 40;

/// A running `photosync serve` whose log goes to a file.
struct ServeProcess {
    child: Child,
    log: PathBuf,
}

impl ServeProcess {
    fn start(config: &Path, log: PathBuf) -> ServeProcess {
        let log_file = std::fs::File::create(&log).unwrap();
        let child = Command::new(photosync_binary())
            .arg("serve")
            .arg("--config")
            .arg(config)
            .env("PHOTOSYNC_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .unwrap();
        ServeProcess { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("serve exited early with {status}; log:\n{}", self.log());
        }
    }

    /// Sends SIGTERM and waits for the exit; returns the status and the time it took. The wait
    /// yields to the runtime, because the simulator that serves the process runs on it.
    async fn terminate(&mut self) -> (ExitStatus, Duration) {
        let sent = Instant::now();
        let killed = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(killed.success(), "kill -TERM failed");
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, sent.elapsed());
            }
            if sent.elapsed() > Duration::from_secs(GRACE_SECONDS * 3) {
                self.child.kill().unwrap();
                panic!("serve ignored SIGTERM; log:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes the harness configuration `original` with a `schedule` and a `[serve]` table without
/// offsets.
fn write_serve_config(harness: &Harness, original: &str, schedule: OffsetDateTime) {
    let path = harness.config_path();
    let schedule_line = format!(
        "schedule = \"{:02}:{:02}:{:02}\"",
        schedule.hour(),
        schedule.minute(),
        schedule.second()
    );
    let text = original.replacen(
        "id = \"contoso\"",
        &format!("id = \"contoso\"\n{schedule_line}"),
        1,
    );
    let text = format!(
        "{text}\n[serve]\nlisten = \"127.0.0.1:0\"\nmax_schedule_offset_minutes = 0\nshutdown_grace_seconds = {GRACE_SECONDS}\n"
    );
    std::fs::write(&path, text).unwrap();
}

/// Returns a whole second a few seconds from now, in UTC.
fn schedule_ahead() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    now + time::Duration::seconds(SCHEDULE_LEAD_SECONDS)
}

fn runs(harness: &Harness) -> Vec<RunRecord> {
    harness.store.recent_runs(Some("contoso"), 100).unwrap()
}

/// Waits until `done` holds, while the process keeps running.
async fn wait_for(serve: &mut ServeProcess, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + STATE_TIMEOUT;
    while !done() {
        serve.assert_running();
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; log:\n{}",
            serve.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn parse_utc(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
}

#[tokio::test]
async fn serve_runs_on_schedule_and_stops() {
    let users = (0..USERS)
        .map(|index| member_with_photo(index, "astronaut-96.jpg"))
        .collect();
    let harness = Harness::start(fixture(users), "", "").await;
    let log_dir = harness.directory.path();
    let original = std::fs::read_to_string(harness.config_path()).unwrap();

    // Start 1: the new tenant catches up once, then runs at its schedule time.
    let first_schedule = schedule_ahead();
    write_serve_config(&harness, &original, first_schedule);
    let mut serve = ServeProcess::start(&harness.config_path(), log_dir.join("serve-1.log"));
    wait_for(&mut serve, "the scheduled run", || {
        harness.store.last_attempted_moment("contoso").unwrap() == Some(first_schedule)
    })
    .await;
    let (status, _) = serve.terminate().await;
    assert!(status.success(), "log:\n{}", serve.log());
    let scheduled = runs(&harness);
    assert_eq!(scheduled.len(), 2, "a catch-up run and a scheduled run");
    assert_eq!(scheduled[0].status, RunStatus::Succeeded);
    assert!(parse_utc(&scheduled[0].started_at) >= first_schedule);
    assert_eq!(harness.stored().len(), USERS);
    let status_output = Command::new(photosync_binary())
        .args(["status", "--json", "--config"])
        .arg(harness.config_path())
        .output()
        .unwrap();
    let status_json: serde_json::Value = serde_json::from_slice(&status_output.stdout).unwrap();
    assert_eq!(
        status_json["tenants"][0]["next_run_at"],
        format_utc(first_schedule + time::Duration::days(1))
    );

    // Start 2: a new schedule time; the run at it is slowed down and stopped by SIGTERM.
    let before = harness.stored();
    let replacement = photo_file("chelsea-648.jpg");
    for index in 0..USERS {
        harness
            .sim
            .set_photo(&member(index).id, replacement.clone(), "image/jpeg");
    }
    harness.sim.reset_counters();
    harness.sim.set_faults(Faults {
        latency_ms: 100,
        ..Faults::default()
    });
    let second_schedule = schedule_ahead();
    write_serve_config(&harness, &original, second_schedule);
    let mut serve = ServeProcess::start(&harness.config_path(), log_dir.join("serve-2.log"));
    wait_for(&mut serve, "photo downloads", || {
        harness.sim.counters().photo_value >= 8
    })
    .await;
    let (status, shutdown_time) = serve.terminate().await;
    eprintln!("serve exited {shutdown_time:?} after SIGTERM during a run");
    assert!(status.success(), "log:\n{}", serve.log());
    assert!(
        shutdown_time < Duration::from_secs(GRACE_SECONDS),
        "took {shutdown_time:?}; log:\n{}",
        serve.log()
    );
    let interrupted = &runs(&harness)[0];
    assert_eq!(interrupted.status, RunStatus::Interrupted);
    assert_eq!(interrupted.error_kind.as_deref(), Some("interrupted"));
    assert!(parse_utc(&interrupted.started_at) >= second_schedule);
    assert_eq!(harness.stored(), before);
    let replacement_sha256 = hex::encode(Sha256::digest(&replacement));
    assert!(!harness
        .store
        .blob_path("contoso", &replacement_sha256)
        .exists());

    // Start 3: the interrupted night is caught up at once.
    harness.sim.set_faults(Faults::default());
    let mut serve = ServeProcess::start(&harness.config_path(), log_dir.join("serve-3.log"));
    wait_for(&mut serve, "the catch-up run", || {
        harness.store.last_attempted_moment("contoso").unwrap() == Some(second_schedule)
    })
    .await;
    let (status, _) = serve.terminate().await;
    assert!(status.success(), "log:\n{}", serve.log());
    let caught_up = &runs(&harness)[0];
    assert_eq!(caught_up.status, RunStatus::Succeeded);
    assert_eq!(caught_up.counts.downloaded, USERS as u64);
    assert!(serve.log().contains("catching up now"));
}
