//! `cargo xtask`: builds the wasm plugin and drives the demo and the test suite.
//!
//! Both commands install the `wasm32-wasip2` target with rustup when it is missing, so they run
//! on a fresh machine with nothing but a Rust toolchain.

mod bench;
mod build;
mod demo;
mod simulator;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Build, demo and test photosync")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the Entra ID connector plugin for wasm32-wasip2.
    Build,
    /// Run a full sync twice against the Graph simulator with a 300-user sample tenant.
    Demo {
        /// Number of users in the sample tenant.
        #[arg(long, default_value_t = 300)]
        users: usize,
    },
    /// Measure plugin compile, cached load and instantiation time on a release build.
    Bench,
    /// Build the plugin, then run every test of the workspace.
    Test {
        /// Extra arguments passed to `cargo test`, such as a test name filter.
        #[arg(trailing_var_arg = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build => build::plugin().map(|path| println!("built {}", path.display())),
        Command::Demo { users } => demo::run(users),
        Command::Test { args } => build::test(&args),
        Command::Bench => bench::run_bench(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}
