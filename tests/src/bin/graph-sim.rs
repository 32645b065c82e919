//! `graph-sim`: runs the Microsoft Graph simulator as a process, or writes the sample tenant.
//!
//! `graph-sim serve --fixture DIR` serves until SIGTERM or Ctrl-C, and `graph-sim sample
//! --users N --out DIR` writes a fixture directory. Logs go to stderr, filtered by `RUST_LOG`
//! (default `info`, while `debug` logs every request).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use graph_sim::sample::write_sample;
use graph_sim::{check_loopback, write_addr_file, Faults, Fixture, GraphSim};
use tracing_subscriber::EnvFilter;

/// Microsoft Graph and identity platform simulator for photosync.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve a fixture directory on a loopback address until SIGTERM or Ctrl-C.
    Serve {
        /// Fixture directory containing users.json and the photo files it names.
        #[arg(long)]
        fixture: PathBuf,
        /// Loopback address and port to listen on. Port 0 lets the system choose.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// File that receives the base URL (for example http://127.0.0.1:41234) once the
        /// server listens.
        #[arg(long)]
        addr_file: Option<PathBuf>,
        /// Delay in milliseconds added before every Graph and token response.
        #[arg(long)]
        latency_ms: Option<u64>,
    },
    /// Write the sample tenant (users.json and photos/) into a directory.
    Sample {
        /// Number of users to generate.
        #[arg(long)]
        users: usize,
        /// Output directory, created if missing. Existing files are overwritten.
        #[arg(long)]
        out: PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let result = match Cli::parse().command {
        Command::Serve {
            fixture,
            listen,
            addr_file,
            latency_ms,
        } => serve(fixture, listen, addr_file, latency_ms).await,
        Command::Sample { users, out } => {
            write_sample(&out, users).map(|()| println!("wrote {users} users to {}", out.display()))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("graph-sim: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(
    fixture_dir: PathBuf,
    listen: SocketAddr,
    addr_file: Option<PathBuf>,
    latency_ms: Option<u64>,
) -> anyhow::Result<()> {
    check_loopback(listen)?;
    let fixture = Fixture::load(&fixture_dir)
        .with_context(|| format!("failed to load fixture {}", fixture_dir.display()))?;
    let sim = GraphSim::start_on(fixture, listen).await?;
    if let Some(latency_ms) = latency_ms {
        sim.set_faults(Faults {
            latency_ms,
            ..Faults::default()
        });
    }

    let base_url = sim.base_url();
    let mut stdout = std::io::stdout();
    writeln!(stdout, "graph-sim listening on {base_url}").context("failed to write to stdout")?;
    stdout.flush().context("failed to flush stdout")?;
    if let Some(path) = &addr_file {
        write_addr_file(path, &base_url)?;
    }

    let signal = wait_for_stop_signal().await?;
    tracing::info!(signal, "stopping graph-sim");
    sim.shutdown().await;
    Ok(())
}

/// Waits for SIGTERM or SIGINT (Ctrl-C) and returns the signal's name.
#[cfg(unix)]
async fn wait_for_stop_signal() -> anyhow::Result<&'static str> {
    use tokio::signal::unix::{signal, SignalKind};

    let mut terminate =
        signal(SignalKind::terminate()).context("failed to install the SIGTERM handler")?;
    let mut interrupt =
        signal(SignalKind::interrupt()).context("failed to install the SIGINT handler")?;
    let name = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    };
    Ok(name)
}

/// Waits for Ctrl-C, the only stop signal outside Unix.
#[cfg(not(unix))]
async fn wait_for_stop_signal() -> anyhow::Result<&'static str> {
    tokio::signal::ctrl_c()
        .await
        .context("failed to install the Ctrl-C handler")?;
    Ok("Ctrl-C")
}
