//! `cargo xtask demo`: a sample tenant in the Graph simulator, synced twice.
//!
//! The first run stores a photo for every in-scope user who has one. Between the runs a few
//! photos change and one user leaves the directory, so the second run downloads only the changed
//! photos and removes one. After each run the simulator's request counters are compared with the
//! run's report: one metadata request per in-scope user, one download per new or changed photo.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::build;
use crate::simulator::Simulator;

/// Users whose photo changes between the two runs.
const CHANGED_PHOTOS: usize = 3;

pub fn run(users: usize) -> Result<()> {
    let plugin = build::plugin()?;
    let binaries = build::binaries()?;
    let work = build::target_dir().join("demo");
    if work.exists() {
        std::fs::remove_dir_all(&work)
            .with_context(|| format!("failed to clear {}", work.display()))?;
    }
    std::fs::create_dir_all(&work)?;
    let fixture = work.join("fixture");
    build::run(
        Command::new(binaries.join("graph-sim"))
            .args(["sample", "--users", &users.to_string(), "--out"])
            .arg(&fixture),
    )?;
    let sample: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture.join("users.json"))?)?;
    let simulator = Simulator::start(&binaries.join("graph-sim"), &fixture, &work)?;
    println!("graph-sim listening on {}", simulator.base_url);

    let config = work.join("photosync.toml");
    write_config(&config, &work, &plugin, &simulator.base_url, &sample)?;
    println!("configuration written to {}\n", config.display());
    let photosync = binaries.join("photosync");

    println!("== first run: every photo is new ==");
    sync(&photosync, &config)?;
    let first = last_run(&photosync, &config)?;
    check_counters(&simulator, &first)?;

    let changed = change_directory(&simulator, &sample, &fixture)?;
    println!("\nchanged the photos of {changed} users and removed one user in the simulator\n");
    simulator.reset_counters()?;

    println!("== second run: only changes are downloaded ==");
    sync(&photosync, &config)?;
    let second = last_run(&photosync, &config)?;
    check_counters(&simulator, &second)?;
    if second["counts"]["downloaded"].as_u64() != Some(changed as u64) {
        bail!(
            "the second run downloaded {} photos, expected {changed}",
            second["counts"]["downloaded"]
        );
    }
    if second["counts"]["removed"].as_u64() != Some(1) {
        bail!(
            "the second run removed {} photos, expected 1",
            second["counts"]["removed"]
        );
    }

    println!("\n== photosync status ==");
    build::run(
        Command::new(&photosync)
            .arg("status")
            .arg("--config")
            .arg(&config)
            .args(["--runs", "2"]),
    )?;
    println!("\ndemo finished; data is in {}", work.display());
    Ok(())
}

fn write_config(
    path: &Path,
    work: &Path,
    plugin: &Path,
    base_url: &str,
    sample: &Value,
) -> Result<()> {
    let secret_file = work.join("contoso.client-secret");
    std::fs::write(
        &secret_file,
        sample["client_secret"]
            .as_str()
            .context("fixture has no client_secret")?,
    )?;
    let text = format!(
        r#"# Written by `cargo xtask demo`: one tenant synced from the local Graph simulator.
data_dir = "data"

[[tenant]]
id = "contoso"
plugin = "{plugin}"
allowed_hosts = ["{base_url}"]

[tenant.settings]
tenant_id = "{tenant_id}"
client_id = "{client_id}"
client_secret = {{ file = "contoso.client-secret" }}
login_host = "{base_url}"
graph_host = "{base_url}"
"#,
        plugin = plugin.display(),
        tenant_id = sample["tenant_id"].as_str().unwrap_or_default(),
        client_id = sample["client_id"].as_str().unwrap_or_default(),
    );
    std::fs::write(path, text)?;
    Ok(())
}

fn sync(photosync: &Path, config: &Path) -> Result<()> {
    let status = Command::new(photosync)
        .arg("sync")
        .arg("--config")
        .arg(config)
        .env(
            "PHOTOSYNC_LOG",
            std::env::var("PHOTOSYNC_LOG").unwrap_or_else(|_| "warn".to_string()),
        )
        .status()?;
    // Exit code 2 means the run completed with per-user failures, which the sample contains on purpose.
    if !status.success() && status.code() != Some(2) {
        bail!("photosync sync failed with {status}");
    }
    Ok(())
}

fn last_run(photosync: &Path, config: &Path) -> Result<Value> {
    let output = Command::new(photosync)
        .arg("status")
        .arg("--config")
        .arg(config)
        .args(["--json", "--runs", "1"])
        .output()?;
    if !output.status.success() {
        bail!(
            "photosync status failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let status: Value = serde_json::from_slice(&output.stdout)?;
    Ok(status["tenants"][0]["runs"][0].clone())
}

fn check_counters(simulator: &Simulator, run: &Value) -> Result<()> {
    let counters = simulator.counters()?;
    let metadata = counters["photo_metadata"].as_u64().unwrap_or_default();
    let downloads = counters["photo_value"].as_u64().unwrap_or_default();
    let in_scope = run["counts"]["in_scope"].as_u64().unwrap_or_default();
    let downloaded = run["counts"]["downloaded"].as_u64().unwrap_or_default();
    println!("graph-sim counters: {metadata} photo metadata requests (in-scope users: {in_scope}), {downloads} photo downloads (downloaded: {downloaded})");
    if metadata != in_scope || downloads != downloaded {
        bail!("the simulator's counters disagree with the run report");
    }
    Ok(())
}

/// Changes a few in-scope users' photos and removes one user who has a photo; returns how many
/// photos changed.
fn change_directory(simulator: &Simulator, sample: &Value, fixture: &Path) -> Result<usize> {
    let users = sample["users"].as_array().context("fixture has no users")?;
    let mut candidates = users.iter().filter(|user| {
        user["userType"].as_str() != Some("Guest")
            && user["accountEnabled"].as_bool() != Some(false)
            && user["photo"].is_string()
            && user["photoError"].is_null()
    });
    let replacement = std::fs::read(fixture.join("photos").join("chelsea-648.jpg"))
        .or_else(|_| std::fs::read(fixture.join("photos").join("astronaut-96.jpg")))
        .context("the sample fixture has no photo to use as a replacement")?;
    let mut changed = 0;
    for user in candidates.by_ref() {
        if changed == CHANGED_PHOTOS {
            break;
        }
        // A replacement equal to the current photo would not change its etag.
        if user["photo"]
            .as_str()
            .is_some_and(|photo| photo.ends_with("chelsea-648.jpg"))
        {
            continue;
        }
        simulator.set_photo(
            user["id"].as_str().unwrap_or_default(),
            &replacement,
            "image/jpeg",
        )?;
        changed += 1;
    }
    let leaver = candidates
        .next()
        .context("the sample has no user left to remove")?;
    simulator.remove_user(leaver["id"].as_str().unwrap_or_default())?;
    Ok(changed)
}
