//! `cargo xtask bench`: builds the plugin and a release host, then runs the host's hidden
//! `bench` command, which prints compile, cached load and instantiation times and memory per
//! instance for this machine.

use std::process::Command;

use anyhow::{Context, Result};

use crate::build::{plugin, run, target_dir};

/// Builds what the benchmark needs and runs it.
pub fn run_bench() -> Result<()> {
    let plugin = plugin()?;
    run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())).args([
            "build",
            "--release",
            "--package",
            "photosync",
            "--bin",
            "photosync",
        ]),
    )?;
    let rustc = Command::new("rustc")
        .arg("-V")
        .output()
        .context("failed to run rustc -V")?;
    println!(
        "toolchain: {}",
        String::from_utf8_lossy(&rustc.stdout).trim()
    );
    run(Command::new(target_dir().join("release").join("photosync"))
        .args(["bench", "--plugin"])
        .arg(&plugin)
        .env("PHOTOSYNC_LOG", "warn"))
}
