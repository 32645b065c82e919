//! A `graph-sim` child process and its `/_sim` control API.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// How long the simulator may take to bind its port.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running simulator; killed when dropped.
pub struct Simulator {
    child: Child,
    pub base_url: String,
}

impl Simulator {
    /// Starts `graph-sim serve` on a free loopback port and waits until it listens.
    pub fn start(binary: &Path, fixture: &Path, work: &Path) -> Result<Simulator> {
        let address_file = work.join("graph-sim.address");
        let _ = std::fs::remove_file(&address_file);
        let mut child = Command::new(binary)
            .arg("serve")
            .arg("--fixture")
            .arg(fixture)
            .args(["--listen", "127.0.0.1:0"])
            .arg("--addr-file")
            .arg(&address_file)
            .stdout(Stdio::null())
            // The simulator's own request log would drown the reports; its warnings still show.
            .env("RUST_LOG", "warn")
            .spawn()
            .with_context(|| format!("failed to start {}", binary.display()))?;
        let started = Instant::now();
        loop {
            if let Ok(text) = std::fs::read_to_string(&address_file) {
                let base_url = text.trim().to_string();
                if !base_url.is_empty() {
                    return Ok(Simulator { child, base_url });
                }
            }
            if let Some(status) = child.try_wait()? {
                bail!("graph-sim exited with {status} before it listened");
            }
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "graph-sim did not write {} within {START_TIMEOUT:?}",
                    address_file.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Returns the request counters.
    pub fn counters(&self) -> Result<Value> {
        let response = ureq::get(&format!("{}/_sim/counters", self.base_url)).call()?;
        Ok(response.into_json()?)
    }

    pub fn reset_counters(&self) -> Result<()> {
        ureq::post(&format!("{}/_sim/counters/reset", self.base_url)).call()?;
        Ok(())
    }

    /// Replaces a user's photo; returns the new etag.
    pub fn set_photo(&self, user_id: &str, bytes: &[u8], content_type: &str) -> Result<String> {
        let response = ureq::put(&format!("{}/_sim/users/{user_id}/photo", self.base_url))
            .set("Content-Type", content_type)
            .send_bytes(bytes)?;
        let body: Value = response.into_json()?;
        Ok(body["etag"].as_str().unwrap_or_default().to_string())
    }

    /// Removes a user from the directory.
    pub fn remove_user(&self, user_id: &str) -> Result<()> {
        ureq::delete(&format!("{}/_sim/users/{user_id}", self.base_url)).call()?;
        Ok(())
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
