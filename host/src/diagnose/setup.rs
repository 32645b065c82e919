//! Checks of a loaded tenant configuration that need no network: the plugin file, allowed
//! hosts against the connector's hosts, settings and secrets, and the schedule.

use time::OffsetDateTime;

use super::line::CheckLine;
use crate::config::TenantConfig;
use crate::outbound::Origin;
use crate::runtime::{ConnectorInfo, PluginInstance, Runtime};
use crate::schedule::format_utc;

/// Check names, shared by the checks and the tests that look lines up.
pub const PLUGIN: &str = "plugin";
pub const ALLOWED_HOSTS: &str = "allowed hosts";
pub const SECRETS: &str = "secrets";
pub const SETTINGS: &str = "settings";
pub const SCHEDULE: &str = "schedule";

/// A plugin that compiled, instantiated and described itself.
pub struct DescribedPlugin {
    pub instance: PluginInstance,
    pub info: ConnectorInfo,
}

/// Compiles the tenant's plugin, instantiates it and calls `describe`.
pub async fn check_plugin(
    runtime: &Runtime,
    tenant: &TenantConfig,
) -> (CheckLine, Option<DescribedPlugin>) {
    let path = tenant.plugin.display();
    let loaded = match runtime.load(&tenant.plugin) {
        Ok(loaded) => loaded,
        Err(error) => {
            let line = CheckLine::fail(
                PLUGIN,
                format!("{error:#}"),
                format!("point `plugin` of tenant '{}' at the connector's .wasm component (for Entra ID, photosync_entra.wasm built by `cargo xtask build`)", tenant.id),
            );
            return (line, None);
        }
    };
    let mut instance = match loaded.instantiate(tenant).await {
        Ok(instance) => instance,
        Err(error) => {
            let line = CheckLine::fail(
                PLUGIN,
                error.to_string(),
                "rebuild the plugin for wasm32-wasip2, or raise limits.memory_mib if it needs more memory to start",
            );
            return (line, None);
        }
    };
    let info = match instance.describe().await {
        Ok(info) => info,
        Err(error) => {
            let line = CheckLine::fail(
                PLUGIN,
                error.to_string(),
                "the plugin failed in `describe`; rebuild it, or use a released build",
            );
            return (line, None);
        }
    };
    let label = format!("{} {}", info.name, info.version);
    instance.set_label(&label);
    let line = CheckLine::pass(
        PLUGIN,
        format!(
            "{path} is {label} (sha256 {})",
            &loaded.sha256[..SHA256_PREFIX_CHARS]
        ),
    );
    (line, Some(DescribedPlugin { instance, info }))
}

/// Hex digits of the plugin's sha256 shown in the line; enough to tell builds apart.
const SHA256_PREFIX_CHARS: usize = 12;

/// Compares the hosts the connector needs for its current settings with `allowed_hosts`.
pub fn check_allowed_hosts(tenant: &TenantConfig, info: &ConnectorInfo) -> CheckLine {
    let mut hosts: Vec<&str> = info.hosts.iter().map(String::as_str).collect();
    hosts.dedup();
    let mut missing = Vec::new();
    for host in hosts.iter().copied() {
        let allowed = Origin::parse(host).is_ok_and(|origin| tenant.allowed_hosts.allows(&origin));
        if !allowed {
            missing.push(host);
        }
    }
    if missing.is_empty() {
        return CheckLine::pass(
            ALLOWED_HOSTS,
            format!(
                "allowed_hosts covers every host the connector calls: {}",
                hosts.join(", ")
            ),
        );
    }
    let quoted: Vec<String> = missing.iter().map(|host| format!("\"{host}\"")).collect();
    CheckLine::fail(
        ALLOWED_HOSTS,
        format!(
            "the connector calls {} for its cloud and host settings, but allowed_hosts of tenant '{}' does not contain it",
            missing.join(" and "),
            tenant.id
        ),
        format!(
            "add {} to allowed_hosts of tenant '{}', or fix settings.cloud if it names the wrong cloud",
            quoted.join(", "),
            tenant.id
        ),
    )
}

/// Checks that the configuration resolved every secret to a non-empty value.
///
/// `Config::load` already fails for an unset environment variable or an unreadable file; this
/// line also catches an empty secret, which the connector treats as unset.
pub fn check_secrets(tenant: &TenantConfig) -> CheckLine {
    let secrets: Vec<&str> = tenant
        .settings
        .names()
        .filter(|name| tenant.settings.is_secret(name))
        .collect();
    let empty: Vec<&str> = secrets
        .iter()
        .copied()
        .filter(|name| {
            tenant
                .settings
                .get(name)
                .is_some_and(|value| value.trim().is_empty())
        })
        .collect();
    if let Some(name) = empty.first() {
        return CheckLine::fail(
            SECRETS,
            format!("settings.{name} of tenant '{}' resolves to an empty value", tenant.id),
            format!("put the secret's value into the file or environment variable that settings.{name} names"),
        );
    }
    if secrets.is_empty() {
        return CheckLine::pass(SECRETS, "the tenant has no secret settings");
    }
    CheckLine::pass(
        SECRETS,
        format!("resolved: settings.{}", secrets.join(", settings.")),
    )
}

/// Checks the settings the connector declares: required ones present, secret ones given as an
/// environment variable or file reference.
pub fn check_settings(tenant: &TenantConfig, info: &ConnectorInfo) -> CheckLine {
    for setting in &info.settings {
        let present = tenant.settings.get(&setting.name).is_some();
        if setting.required && !present && setting.default_value.is_none() {
            return CheckLine::fail(
                SETTINGS,
                format!(
                    "required setting settings.{} of tenant '{}' is missing ({})",
                    setting.name, tenant.id, setting.description
                ),
                format!("add {} to [tenant.settings]", setting.name),
            );
        }
        if setting.secret && present && !tenant.settings.is_secret(&setting.name) {
            return CheckLine::fail(
                SETTINGS,
                format!(
                    "settings.{} of tenant '{}' is a secret written in the configuration file",
                    setting.name, tenant.id
                ),
                format!(
                    "move the value out of the file and write {} = {{ env = \"NAME\" }} or {{ file = \"path\" }}",
                    setting.name
                ),
            );
        }
    }
    CheckLine::pass(
        SETTINGS,
        format!(
            "every required setting of {} {} is set",
            info.name, info.version
        ),
    )
}

/// Reports the daily schedule and the next run. A tenant with `sync_enabled = false` gets a
/// warning, because the platform then leaves manual photo edits unlocked.
/// Checks the schedule; `next_run` is the planned start of the next run, offset included.
pub fn check_schedule(tenant: &TenantConfig, next_run: OffsetDateTime) -> CheckLine {
    if !tenant.sync_enabled {
        return CheckLine::warn(
            SCHEDULE,
            format!(
                "daily at {} UTC, but tenant '{}' has sync_enabled = false, so the platform does not lock manual photo edits",
                tenant.schedule, tenant.id
            ),
            "set sync_enabled = true when the checks pass",
        );
    }
    CheckLine::pass(
        SCHEDULE,
        format!(
            "daily at {} UTC, next run at {}",
            tenant.schedule,
            format_utc(next_run)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::line::CheckStatus;
    use crate::diagnose::test_tenant;

    fn info(hosts: &[&str]) -> ConnectorInfo {
        ConnectorInfo {
            name: "entra-id".to_string(),
            version: "0.1.0".to_string(),
            settings: Vec::new(),
            hosts: hosts.iter().map(|host| host.to_string()).collect(),
        }
    }

    #[test]
    fn global_hosts_allowed() {
        let line = check_allowed_hosts(
            &test_tenant(""),
            &info(&[
                "https://login.microsoftonline.com",
                "https://graph.microsoft.com",
            ]),
        );
        assert_eq!(line.status, CheckStatus::Pass);
    }

    #[test]
    fn national_cloud_host_missing() {
        let line = check_allowed_hosts(
            &test_tenant(""),
            &info(&[
                "https://login.microsoftonline.us",
                "https://graph.microsoft.us",
            ]),
        );
        assert_eq!(line.status, CheckStatus::Fail);
        assert!(line
            .next_step
            .unwrap()
            .contains("\"https://login.microsoftonline.us\", \"https://graph.microsoft.us\""));
    }

    #[test]
    fn disabled_sync_warns() {
        let tenant = test_tenant("sync_enabled = false");
        let line = check_schedule(&tenant, OffsetDateTime::now_utc());
        assert_eq!(line.status, CheckStatus::Warn);
    }
}
