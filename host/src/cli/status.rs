//! `photosync status`: recent runs per tenant, with counts, failures and the next scheduled run.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use super::print::{print_counts, print_failures};
use crate::config::Config;
use crate::schedule::{format_utc, plan_tenant, Clock, SystemClock};
use crate::store::{RunRecord, Store};

#[derive(Serialize)]
struct TenantStatus {
    id: String,
    sync_enabled: bool,
    schedule_utc: String,
    /// When `photosync serve` starts the next scheduled run: the scheduled moment, or now for
    /// a catch-up.
    /// None while `sync_enabled = false`, because no scheduled run starts then.
    next_run_at: Option<String>,
    /// True when the last scheduled moment was missed, so `serve` runs the tenant at once.
    next_run_catch_up: bool,
    runs: Vec<RunRecord>,
}

pub fn run(config_path: &Path, tenant: Option<&str>, json: bool, limit: usize) -> Result<ExitCode> {
    let config = Config::load(config_path)?;
    let tenants = match tenant {
        Some(id) => vec![config.tenant(id)?.clone()],
        None => config.tenants.clone(),
    };
    let store = Store::open(&config.data_dir)?;
    let mut statuses = Vec::new();
    let now = SystemClock.now();
    for tenant in &tenants {
        let plan = plan_tenant(&store, tenant, config.serve.max_schedule_offset, now)?;
        statuses.push(TenantStatus {
            id: tenant.id.clone(),
            sync_enabled: tenant.sync_enabled,
            schedule_utc: tenant.schedule.to_string(),
            next_run_at: tenant.sync_enabled.then(|| format_utc(plan.start_at)),
            next_run_catch_up: plan.catch_up,
            runs: store.recent_runs(Some(&tenant.id), limit)?,
        });
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "tenants": statuses }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    for status in &statuses {
        let enabled = if status.sync_enabled {
            "enabled"
        } else {
            "disabled"
        };
        let catch_up = if status.next_run_catch_up {
            " (catching up a missed night)"
        } else {
            ""
        };
        match &status.next_run_at {
            Some(next_run_at) => println!(
                "tenant {}: sync {enabled}, daily at {} UTC, next run {next_run_at}{catch_up}",
                status.id, status.schedule_utc
            ),
            None => println!(
                "tenant {}: sync {enabled}, no scheduled runs until sync_enabled = true",
                status.id
            ),
        }
        if status.runs.is_empty() {
            println!("  no runs yet");
        }
        for run in &status.runs {
            let finished = match run.finished_at.as_deref() {
                Some(finished_at) => format!("finished {finished_at}"),
                None => "still running".to_string(),
            };
            println!(
                "  run {} {} ({}{}) started {} {finished}",
                run.id,
                run.status.as_str(),
                run.trigger.as_str(),
                if run.dry_run { ", dry run" } else { "" },
                run.started_at
            );
            if let (Some(kind), Some(message)) = (&run.error_kind, &run.error_message) {
                println!("  error ({kind}): {message}");
                continue;
            }
            print_counts(&run.counts);
            print_failures(&run.failures);
        }
    }
    Ok(ExitCode::SUCCESS)
}
