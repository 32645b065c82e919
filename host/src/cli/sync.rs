//! `photosync sync`: run every configured tenant (or one) now, one after another.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;

use super::print::print_report;
use super::progress::TerminalProgress;
use crate::config::Config;
use crate::engine::{run_tenant, NoProgress, Progress, RunReport, RunRequest};
use crate::runtime::{Runtime, RuntimeOptions};
use crate::store::{RunStatus, Store};

pub async fn run(
    config_path: &Path,
    tenant: Option<&str>,
    dry_run: bool,
    json: bool,
) -> Result<ExitCode> {
    let config = Config::load(config_path)?;
    let explicit = tenant.is_some();
    let tenants = match tenant {
        Some(id) => vec![config.tenant(id)?.clone()],
        None => config.tenants.clone(),
    };
    let store = Arc::new(Store::open(&config.data_dir)?);
    let runtime = Runtime::with_options(&RuntimeOptions::for_config(&config))?;
    let request = RunRequest {
        dry_run,
        ..RunRequest::manual()
    };
    let mut reports: Vec<RunReport> = Vec::new();
    let mut exit = ExitCode::SUCCESS;
    for tenant in &tenants {
        if !tenant.sync_enabled && !dry_run {
            // A run would replace manual photos that the platform lets users edit while sync is off.
            eprintln!(
                "tenant '{}': skipped because sync_enabled = false; set sync_enabled = true to sync it, or use --dry-run to preview a run",
                tenant.id
            );
            if explicit {
                exit = ExitCode::FAILURE;
            }
            continue;
        }
        let progress: Box<dyn Progress> = if std::io::stderr().is_terminal() && !json {
            Box::new(TerminalProgress::new(&tenant.id))
        } else {
            Box::new(NoProgress)
        };
        let report =
            match run_tenant(&runtime, &store, tenant, request.clone(), progress.as_ref()).await {
                Ok(report) => report,
                Err(error) => {
                    eprintln!("error: run of tenant '{}' failed: {error:#}", tenant.id);
                    exit = ExitCode::FAILURE;
                    continue;
                }
            };
        match report.status {
            RunStatus::Failed | RunStatus::Interrupted => exit = ExitCode::FAILURE,
            RunStatus::Partial if exit == ExitCode::SUCCESS => exit = ExitCode::from(2),
            _ => {}
        }
        if !json {
            print_report(&report);
        }
        reports.push(report);
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "runs": reports }))?
        );
    }
    Ok(exit)
}
