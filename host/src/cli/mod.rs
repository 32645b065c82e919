//! The `photosync` command line: argument parsing and the subcommands.

mod bench;
mod check;
mod hash_token;
mod print;
mod progress;
pub mod serve;
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
    /// Run every tenant daily at its schedule time (UTC) until SIGTERM or SIGINT.
    Serve {
        /// Path of the configuration file (photosync.toml).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Check a tenant's setup (plugin, allowed hosts, secrets, schedule, token, permissions,
    /// last run), or with --user why one user's photo does or does not sync.
    Check {
        /// Path of the configuration file (photosync.toml).
        #[arg(long, short)]
        config: PathBuf,
        /// Tenant id to check; may be left out when the file configures one tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// User principal name or directory id of the user to check.
        #[arg(long)]
        user: Option<String>,
        /// Print the checklist as JSON instead of text.
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
    /// Read an API token from standard input and print its sha256 for `[[tenant.api_tokens]]`.
    HashToken,
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
    /// `check` returns 1 when any line of its checklist fails.
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        match self.command {
            Command::Sync {
                config,
                tenant,
                dry_run,
                json,
            } => sync::run(&config, tenant.as_deref(), dry_run, json).await,
            Command::Check {
                config,
                tenant,
                user,
                json,
            } => check::run(&config, tenant.as_deref(), user.as_deref(), json).await,
            Command::Status {
                config,
                tenant,
                json,
                runs,
            } => status::run(&config, tenant.as_deref(), json, runs),
            Command::Serve { config } => serve::run(&config).await,
            Command::HashToken => hash_token::run(),
            Command::Bench { plugin } => bench::run(&plugin).await.map(|()| ExitCode::SUCCESS),
        }
    }
}
