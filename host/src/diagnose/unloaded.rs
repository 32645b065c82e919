//! The checklist for a configuration file that `Config::load` rejects. Its first line is the
//! load error. The tenant's plugin file, schedule and secrets follow, each checked on its own,
//! so one run shows every broken part rather than only the first.

use std::path::Path;

use anyhow::{bail, Result};

use super::connection::{READ_PHOTOS, READ_USERS, TOKEN};
use super::history::LAST_RUN;
use super::line::{CheckLine, Checklist};
use super::setup::{ALLOWED_HOSTS, PLUGIN, SCHEDULE, SECRETS, SETTINGS};
use crate::config::ScheduleTime;

/// Check name of the line that carries the load error.
pub const CONFIGURATION: &str = "configuration";

/// Builds the checklist of a tenant from the raw file, with `load_error` as its first line.
/// `tenant_id` may be left out when the file has one tenant table.
///
/// Returns `Ok(None)` when the file cannot be read or is no TOML, because then `load_error`
/// is the whole message. Fails when the file has no such tenant.
pub fn check_unloaded(
    path: &Path,
    tenant_id: Option<&str>,
    load_error: &anyhow::Error,
) -> Result<Option<Checklist>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(None);
    };
    let Ok(document) = text.parse::<toml::Table>() else {
        return Ok(None);
    };
    let tenants = tenant_tables(&document);
    let tenant = match tenant_id {
        Some(id) => tenants
            .iter()
            .find(|table| table.get("id").and_then(toml::Value::as_str) == Some(id)),
        None if tenants.len() == 1 => tenants.first(),
        None => bail!(
            "{} has {} tenant tables; pass --tenant ID to choose one",
            path.display(),
            tenants.len()
        ),
    };
    let Some(tenant) = tenant.copied() else {
        bail!(
            "tenant '{}' is not in the configuration file {}; add a [[tenant]] table with id = \"{0}\" or pass another --tenant",
            tenant_id.unwrap_or_default(),
            path.display()
        );
    };
    let tenant_id = tenant
        .get("id")
        .and_then(toml::Value::as_str)
        .unwrap_or("(no id)");
    let base = path.parent().unwrap_or(Path::new("."));

    let mut checklist = Checklist::new(tenant_id, None);
    checklist.push(CheckLine::fail(
        CONFIGURATION,
        format!("{load_error:#}"),
        format!(
            "fix {} as the message says; the lines below check the tenant's parts one by one",
            path.display()
        ),
    ));
    checklist.push(plugin_line(tenant, base));
    checklist.push(schedule_line(tenant));
    checklist.push(secrets_line(tenant, base));
    for name in [
        ALLOWED_HOSTS,
        SETTINGS,
        TOKEN,
        READ_USERS,
        READ_PHOTOS,
        LAST_RUN,
    ] {
        checklist.push(CheckLine::skip(
            name,
            "not run because the configuration does not load",
        ));
    }
    Ok(Some(checklist))
}

fn tenant_tables(document: &toml::Table) -> Vec<&toml::Table> {
    document
        .get("tenant")
        .and_then(toml::Value::as_array)
        .map(|tables| tables.iter().filter_map(toml::Value::as_table).collect())
        .unwrap_or_default()
}

fn plugin_line(tenant: &toml::Table, base: &Path) -> CheckLine {
    let Some(plugin) = tenant.get("plugin").and_then(toml::Value::as_str) else {
        return CheckLine::fail(
            PLUGIN,
            "the tenant has no `plugin` path",
            "add plugin = \"path/to/photosync_entra.wasm\" to the tenant's table",
        );
    };
    let path = base.join(plugin);
    if path.is_file() {
        CheckLine::pass(
            PLUGIN,
            format!("{} exists (not compiled by this check)", path.display()),
        )
    } else {
        CheckLine::fail(
            PLUGIN,
            format!("plugin file {} not found", path.display()),
            "check the `plugin` path; a relative path starts at the configuration file's directory",
        )
    }
}

fn schedule_line(tenant: &toml::Table) -> CheckLine {
    match tenant.get("schedule") {
        None => CheckLine::pass(SCHEDULE, "not set, so the default 02:00 UTC applies"),
        Some(value) => {
            let text = value.as_str().unwrap_or_default();
            match ScheduleTime::parse(text) {
                Ok(time) => CheckLine::pass(SCHEDULE, format!("daily at {time} UTC")),
                Err(message) => CheckLine::fail(
                    SCHEDULE,
                    format!("schedule {value} is invalid: {message}"),
                    "write schedule = \"HH:MM\", a 24-hour UTC time such as \"02:00\"",
                ),
            }
        }
    }
}

fn secrets_line(tenant: &toml::Table, base: &Path) -> CheckLine {
    let Some(settings) = tenant.get("settings").and_then(toml::Value::as_table) else {
        return CheckLine::pass(SECRETS, "the tenant has no settings");
    };
    let mut resolved = Vec::new();
    let mut failures = Vec::new();
    for (name, value) in settings {
        let Some(reference) = value.as_table() else {
            continue;
        };
        if let Some(variable) = reference.get("env").and_then(toml::Value::as_str) {
            match std::env::var(variable) {
                Ok(_) => resolved.push(name.as_str()),
                Err(_) => failures.push(format!(
                    "settings.{name}: environment variable {variable} is not set"
                )),
            }
        } else if let Some(file) = reference.get("file").and_then(toml::Value::as_str) {
            let path = base.join(file);
            match std::fs::metadata(&path) {
                Ok(metadata) if metadata.is_file() => resolved.push(name.as_str()),
                _ => failures.push(format!(
                    "settings.{name}: secret file {} not found",
                    path.display()
                )),
            }
        }
    }
    if failures.is_empty() {
        return CheckLine::pass(SECRETS, format!("resolvable: {}", resolved.join(", ")));
    }
    CheckLine::fail(
        SECRETS,
        failures.join("; "),
        "export the environment variable before starting photosync, or create the secret file, holding the secret's value",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::line::CheckStatus;

    fn checklist_for(body: &str) -> Checklist {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("photosync.toml");
        std::fs::write(&path, body).unwrap();
        let load_error = crate::config::Config::load(&path).unwrap_err();
        check_unloaded(&path, None, &load_error).unwrap().unwrap()
    }

    #[test]
    fn bad_parts_fail_separately() {
        let checklist = checklist_for(
            r#"
            [[tenant]]
            id = "contoso"
            plugin = "missing.wasm"
            schedule = "2am"
            "#,
        );
        assert_eq!(
            checklist.line(CONFIGURATION).unwrap().status,
            CheckStatus::Fail
        );
        assert_eq!(checklist.line(PLUGIN).unwrap().status, CheckStatus::Fail);
        assert_eq!(checklist.line(SCHEDULE).unwrap().status, CheckStatus::Fail);
        assert_eq!(checklist.line(TOKEN).unwrap().status, CheckStatus::Skip);
    }

    #[test]
    fn invalid_toml_gives_no_checklist() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("photosync.toml");
        std::fs::write(&path, "[[tenant]\n").unwrap();
        let load_error = crate::config::Config::load(&path).unwrap_err();
        assert!(check_unloaded(&path, None, &load_error).unwrap().is_none());
    }

    #[test]
    fn unknown_tenant_is_an_error() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("photosync.toml");
        std::fs::write(&path, "[[tenant]]\nid = \"contoso\"\nplugin = \"x.wasm\"\n").unwrap();
        let load_error = crate::config::Config::load(&path).unwrap_err();
        let error = check_unloaded(&path, Some("fabrikam"), &load_error).unwrap_err();
        assert!(error.to_string().contains("fabrikam"));
    }
}
