//! The `photosync` command line: argument parsing and the subcommands.

mod bench;
mod print;
mod progress;
mod status;
mod sync;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Syncs profile photos from Microsoft Entra ID (or another identity source) into the platform.
#[derive(Debug, Parser)]
#[command(name = "photosync", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a sync now for every tenant, or for one with --tenant.
    Sync {
        /// Path of the configuration file (photosync.toml).
        #[arg(long, short)]
        config: PathBuf,
        /// Sync only this tenant id.
        #[arg(long)]
        tenant: Option<String>,
        /// Fetch and decide, but store no photo and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the reports as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show recent runs with their counts and per-user failures.
    Status {
        /// Path of the configuration file (photosync.toml).
        #[arg(long, short)]
        config: PathBuf,
        /// Show only this tenant id.
        #[arg(long)]
        tenant: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Number of recent runs per tenant.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Measure plugin compile, cached load and instantiation time and memory per instance.
    #[command(hide = true)]
    Bench {
        /// Path of the plugin component (.wasm) to measure.
        #[arg(long)]
        plugin: PathBuf,
    },
}

impl Cli {
    /// Runs the parsed command and returns the process exit code: 0 when every run
    /// succeeded, 2 when a run completed with per-user failures, 1 on any other failure.
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        match self.command {
            Command::Sync {
                config,
                tenant,
                dry_run,
                json,
            } => sync::run(&config, tenant.as_deref(), dry_run, json).await,
            Command::Status {
                config,
                tenant,
                json,
                runs,
            } => status::run(&config, tenant.as_deref(), json, runs),
            Command::Bench { plugin } => bench::run(&plugin).await.map(|()| ExitCode::SUCCESS),
        }
    }
}
