//! Toolchain set-up and cargo invocations.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// The WASI target plugins are built for.
const WASM_TARGET: &str = "wasm32-wasip2";
/// The connector crate and the file name of its component.
const PLUGIN_CRATE: &str = "photosync-entra";
const PLUGIN_FILE: &str = "photosync_entra.wasm";
/// The sandbox tests' misbehaving connector and the file name of its component.
const TEST_GUEST_CRATE: &str = "photosync-test-guest";
const TEST_GUEST_FILE: &str = "photosync_test_guest.wasm";

/// Returns the workspace root (the parent of `xtask/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// Returns cargo's target directory, honouring `CARGO_TARGET_DIR`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|path| {
            if path.is_absolute() {
                path
            } else {
                workspace_root().join(path)
            }
        })
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Returns the path of the release plugin component.
pub fn plugin_path() -> PathBuf {
    component_path(PLUGIN_FILE)
}

/// Returns the path of a release component built for the wasm target.
fn component_path(file_name: &str) -> PathBuf {
    target_dir()
        .join(WASM_TARGET)
        .join("release")
        .join(file_name)
}

/// Runs a command in the workspace root and fails when it fails.
pub fn run(command: &mut Command) -> Result<()> {
    let shown = format!("{command:?}");
    let status = command
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("failed to start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()))
}

/// Installs the wasm32-wasip2 target with rustup when it is missing.
pub fn ensure_wasm_target() -> Result<()> {
    let output = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("failed to run rustup; install Rust with rustup (https://rustup.rs) so the wasm target can be added")?;
    let installed = String::from_utf8_lossy(&output.stdout);
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        return Ok(());
    }
    eprintln!("xtask: installing the {WASM_TARGET} target with rustup");
    run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// Builds the plugin component and returns its path.
pub fn plugin() -> Result<PathBuf> {
    component(PLUGIN_CRATE, plugin_path())
}

/// Builds the sandbox tests' misbehaving connector and returns its path.
pub fn test_guest() -> Result<PathBuf> {
    component(TEST_GUEST_CRATE, component_path(TEST_GUEST_FILE))
}

/// Builds one wasm component crate in release mode and checks that its `.wasm` file is at `path`.
fn component(crate_name: &str, path: PathBuf) -> Result<PathBuf> {
    ensure_wasm_target()?;
    // Only this crate: the host's dependencies do not build for wasm32.
    run(cargo().args([
        "build",
        "--package",
        crate_name,
        "--target",
        WASM_TARGET,
        "--release",
    ]))?;
    if !path.is_file() {
        bail!("the build finished but {} is missing", path.display());
    }
    Ok(path)
}

/// Builds the host and simulator binaries and returns the debug output directory.
pub fn binaries() -> Result<PathBuf> {
    run(cargo().args([
        "build",
        "--package",
        "photosync",
        "--package",
        "graph-sim",
        "--bins",
    ]))?;
    Ok(target_dir().join("debug"))
}

/// Builds the plugin and the binaries, then runs the workspace tests with their paths in the
/// environment, and prints the total as `N passed, N failed` on the last line.
pub fn test(extra: &[String]) -> Result<()> {
    let plugin = plugin()?;
    let test_guest = test_guest()?;
    let binaries = binaries()?;
    let mut totals = TestTotals::default();
    let connector = run_tests(
        cargo()
            .args([
                "test",
                "--package",
                PLUGIN_CRATE,
                "--lib",
                "--target",
                &host_triple()?,
            ])
            .args(extra),
        &mut totals,
    );
    let workspace = run_tests(
        cargo()
            .args(["test", "--workspace", "--exclude", PLUGIN_CRATE])
            .args(["--exclude", TEST_GUEST_CRATE])
            .args(extra)
            .env("PHOTOSYNC_PLUGIN_WASM", plugin)
            .env("PHOTOSYNC_TEST_GUEST_WASM", test_guest)
            .env("PHOTOSYNC_BIN", binaries.join("photosync")),
        &mut totals,
    );
    println!("\n{} passed, {} failed", totals.passed, totals.failed);
    connector.and(workspace)
}

/// Test counts summed over every `test result:` line cargo prints.
#[derive(Default)]
struct TestTotals {
    passed: u64,
    failed: u64,
}

impl TestTotals {
    /// Adds the counts of a line such as `test result: ok. 12 passed; 0 failed; 0 ignored; ...`.
    fn add_line(&mut self, line: &str) {
        let Some(counts) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        for part in counts.split([';', '.']) {
            let mut words = part.split_whitespace();
            let (Some(number), Some(label)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(number) = number.parse::<u64>() else {
                continue;
            };
            match label {
                "passed" => self.passed += number,
                "failed" => self.failed += number,
                _ => {}
            }
        }
    }
}

/// Runs a `cargo test` command, echoing its output and adding its counts to `totals`.
fn run_tests(command: &mut Command, totals: &mut TestTotals) -> Result<()> {
    let shown = format!("{command:?}");
    let mut child = command
        .current_dir(workspace_root())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("failed to start {shown}"))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    for line in BufReader::new(stdout).lines() {
        let line = line.context("failed to read the test output")?;
        println!("{line}");
        totals.add_line(&line);
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

fn host_triple() -> Result<String> {
    let output = Command::new("rustc")
        .arg("-vV")
        .output()
        .context("failed to run rustc -vV")?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: ").map(str::to_string))
        .context("rustc -vV printed no host triple")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_sum_result_lines() {
        let mut totals = TestTotals::default();
        totals.add_line("test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.5s");
        totals.add_line("test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.0s");
        totals.add_line("running 5 tests");
        assert_eq!(totals.passed, 15);
        assert_eq!(totals.failed, 2);
    }
}
