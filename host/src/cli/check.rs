//! `photosync check`: the tenant checklist, or with `--user` why one user's photo does or does
//! not sync. Exits 1 when any line fails.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, Result};

use crate::config::Config;
use crate::diagnose::{self, CheckStatus, Checklist};
use crate::runtime::{Runtime, RuntimeOptions};
use crate::store::Store;

/// Width of the status column, so details line up.
const STATUS_WIDTH: usize = 6;

pub async fn run(
    config_path: &Path,
    tenant: Option<&str>,
    user: Option<&str>,
    json: bool,
) -> Result<ExitCode> {
    let checklist = match Config::load(config_path) {
        Ok(config) => {
            let tenant = select_tenant(&config, tenant, config_path)?;
            let store = Store::open(&config.data_dir)?;
            let runtime = Runtime::with_options(&RuntimeOptions::for_config(&config))?;
            match user {
                Some(user) => diagnose::check_user(&runtime, &store, tenant, user).await?,
                None => {
                    diagnose::check_tenant(
                        &runtime,
                        &store,
                        tenant,
                        config.serve.max_schedule_offset,
                    )
                    .await?
                }
            }
        }
        Err(load_error) => match diagnose::check_unloaded(config_path, tenant, &load_error) {
            Ok(Some(checklist)) => checklist,
            Ok(None) => return Err(load_error),
            Err(error) => {
                return Err(anyhow!(
                    "{error:#}; the file also fails to load: {load_error:#}"
                ))
            }
        },
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&checklist)?);
    } else {
        print_checklist(&checklist);
    }
    Ok(if checklist.has_failure() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn select_tenant<'a>(
    config: &'a Config,
    tenant: Option<&str>,
    config_path: &Path,
) -> Result<&'a crate::config::TenantConfig> {
    match (tenant, config.tenants.as_slice()) {
        (Some(id), _) => config.tenant(id),
        (None, [only]) => Ok(only),
        (None, tenants) => {
            let ids: Vec<&str> = tenants.iter().map(|tenant| tenant.id.as_str()).collect();
            anyhow::bail!(
                "{} configures {} tenants ({}); pass --tenant ID to choose one",
                config_path.display(),
                tenants.len(),
                ids.join(", ")
            )
        }
    }
}

fn print_checklist(checklist: &Checklist) {
    match &checklist.user {
        Some(user) => println!("check of user '{user}' in tenant '{}':", checklist.tenant),
        None => println!("check of tenant '{}':", checklist.tenant),
    }
    for line in &checklist.lines {
        let status = match line.status {
            CheckStatus::Fail => "FAIL",
            other => other.as_str(),
        };
        println!("  {status:<STATUS_WIDTH$}{}: {}", line.name, line.detail);
        if let Some(next_step) = &line.next_step {
            println!("  {:<STATUS_WIDTH$}next step: {next_step}", "");
        }
    }
    let failed = checklist
        .lines
        .iter()
        .filter(|line| line.status == CheckStatus::Fail)
        .count();
    let warned = checklist
        .lines
        .iter()
        .filter(|line| line.status == CheckStatus::Warn)
        .count();
    match (failed, warned) {
        (0, 0) => println!("all checks passed"),
        (0, warned) => println!("all checks passed, {warned} with a warning"),
        (failed, _) => println!("{failed} of {} checks failed", checklist.lines.len()),
    }
}
