//! The `photosync.toml` file: loading, validation and the resolved per-tenant configuration.
//!
//! Every problem is reported at load time with the tenant and key named, so a mistake stops
//! `photosync` at start-up rather than in the middle of a night's run. Relative paths are
//! resolved against the directory of the configuration file.

mod limits;
mod raw;
mod settings;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};

pub use limits::Limits;
pub use settings::{Settings, REDACTED};

use crate::outbound::{AllowedHosts, TlsTrust};
use raw::{RawConfig, RawTenant};

/// The daily schedule time when a tenant sets none: 02:00 UTC, a quiet hour for most of Europe
/// and the Americas.
pub const DEFAULT_SCHEDULE: ScheduleTime = ScheduleTime { hour: 2, minute: 0 };

/// Longest tenant id; tenant ids name directories, so they stay short and plain.
const MAX_TENANT_ID_LENGTH: usize = 64;

/// A UTC time of day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScheduleTime {
    pub hour: u8,
    pub minute: u8,
}

impl ScheduleTime {
    /// Parses `HH:MM` (24-hour, UTC).
    pub fn parse(text: &str) -> Result<ScheduleTime, String> {
        let invalid = || {
            format!("'{text}' is not a time of day; write it as \"HH:MM\" in UTC, for example \"02:00\"")
        };
        let (hour, minute) = text.split_once(':').ok_or_else(invalid)?;
        if hour.len() != 2 || minute.len() != 2 {
            return Err(invalid());
        }
        let hour: u8 = hour.parse().map_err(|_| invalid())?;
        let minute: u8 = minute.parse().map_err(|_| invalid())?;
        if hour > 23 || minute > 59 {
            return Err(invalid());
        }
        Ok(ScheduleTime { hour, minute })
    }
}

impl std::fmt::Display for ScheduleTime {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{:02}:{:02}", self.hour, self.minute)
    }
}

/// One tenant's validated configuration.
#[derive(Clone, Debug)]
pub struct TenantConfig {
    pub id: String,
    pub plugin: PathBuf,
    pub schedule: ScheduleTime,
    /// While true, the platform locks manual photo edits for in-scope users.
    pub sync_enabled: bool,
    pub allowed_hosts: Arc<AllowedHosts>,
    /// Certificate authorities the tenant's plugin trusts for HTTPS.
    pub tls: Arc<TlsTrust>,
    pub settings: Arc<Settings>,
    pub limits: Limits,
}

/// The whole validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the database and photo files live.
    pub data_dir: PathBuf,
    pub tenants: Vec<TenantConfig>,
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read configuration file {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::parse(&text, base)
            .with_context(|| format!("invalid configuration in {}", path.display()))
    }

    /// Validates configuration text; relative paths are resolved against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Config> {
        let raw: RawConfig = toml::from_str(text).map_err(|error| anyhow::anyhow!("{error}"))?;
        if raw.tenants.is_empty() {
            bail!("no [[tenant]] table; add one per tenant to sync");
        }
        let data_dir = base.join(
            raw.data_dir
                .unwrap_or_else(|| PathBuf::from("photosync-data")),
        );
        let mut seen = HashSet::new();
        let mut tenants = Vec::new();
        for tenant in &raw.tenants {
            let config = validate_tenant(tenant, base)
                .map_err(|message| anyhow::anyhow!("tenant '{}': {message}", tenant.id))?;
            if !seen.insert(config.id.clone()) {
                bail!(
                    "tenant '{}' is defined twice; tenant ids must be unique",
                    config.id
                );
            }
            tenants.push(config);
        }
        Ok(Config { data_dir, tenants })
    }

    /// Returns the tenant with this id, or an error listing the configured ids.
    pub fn tenant(&self, id: &str) -> Result<&TenantConfig> {
        self.tenants
            .iter()
            .find(|tenant| tenant.id == id)
            .ok_or_else(|| {
                let known: Vec<&str> = self
                    .tenants
                    .iter()
                    .map(|tenant| tenant.id.as_str())
                    .collect();
                anyhow::anyhow!(
                    "tenant '{id}' is not in the configuration; configured tenants: {}",
                    known.join(", ")
                )
            })
    }
}

fn validate_tenant(raw: &RawTenant, base: &Path) -> Result<TenantConfig, String> {
    validate_tenant_id(&raw.id)?;
    let plugin = base.join(&raw.plugin);
    if !plugin.is_file() {
        return Err(format!(
            "plugin file {} not found; check the `plugin` path (relative paths start at the configuration file's directory)",
            plugin.display()
        ));
    }
    let schedule = match &raw.schedule {
        Some(text) => {
            ScheduleTime::parse(text).map_err(|message| format!("schedule: {message}"))?
        }
        None => DEFAULT_SCHEDULE,
    };
    let allowed_hosts = AllowedHosts::parse(&raw.allowed_hosts)
        .map_err(|message| format!("allowed_hosts: {message}"))?;
    let tls = match &raw.tls_ca_file {
        Some(file) => TlsTrust::from_ca_file(&base.join(file))
            .map_err(|message| format!("tls_ca_file: {message}"))?,
        None => TlsTrust::public_roots(),
    };
    let settings = Settings::resolve(&raw.settings, base)?;
    let limits = Limits::from_raw(&raw.limits)?;
    Ok(TenantConfig {
        id: raw.id.clone(),
        plugin,
        schedule,
        sync_enabled: raw.sync_enabled.unwrap_or(true),
        allowed_hosts: Arc::new(allowed_hosts),
        tls: Arc::new(tls),
        settings: Arc::new(settings),
        limits,
    })
}

fn validate_tenant_id(id: &str) -> Result<(), String> {
    let valid_characters = id.chars().all(|character| {
        character.is_ascii_lowercase()
            || character.is_ascii_digit()
            || character == '-'
            || character == '_'
    });
    let starts_well = id
        .chars()
        .next()
        .is_some_and(|first| first.is_ascii_alphanumeric());
    if id.is_empty() || id.len() > MAX_TENANT_ID_LENGTH || !valid_characters || !starts_well {
        return Err(format!(
            "id '{id}' is invalid; use 1 to {MAX_TENANT_ID_LENGTH} lowercase letters, digits, '-' or '_', starting with a letter or digit"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_with_plugin(body: &str) -> Result<Config> {
        let directory = tempfile::tempdir().unwrap();
        std::fs::write(directory.path().join("plugin.wasm"), b"\0asm").unwrap();
        Config::parse(body, directory.path())
    }

    const MINIMAL: &str = r#"
        [[tenant]]
        id = "contoso"
        plugin = "plugin.wasm"
        allowed_hosts = ["https://login.microsoftonline.com", "https://graph.microsoft.com"]
    "#;

    #[test]
    fn minimal_config_gets_defaults() {
        let config = parse_with_plugin(MINIMAL).unwrap();
        let tenant = &config.tenants[0];
        assert_eq!(tenant.schedule, DEFAULT_SCHEDULE);
        assert!(tenant.sync_enabled);
        assert_eq!(tenant.limits, Limits::default());
    }

    #[test]
    fn unknown_key_is_named() {
        let error = parse_with_plugin(&format!("{MINIMAL}\nschedul = \"03:00\"")).unwrap_err();
        assert!(format!("{error:#}").contains("schedul"));
    }

    #[test]
    fn unknown_limit_is_named() {
        let error =
            parse_with_plugin(&format!("{MINIMAL}\n[tenant.limits]\nmemory = 3")).unwrap_err();
        assert!(format!("{error:#}").contains("memory"));
    }

    #[test]
    fn missing_plugin_file_is_named() {
        let body = MINIMAL.replace("plugin.wasm", "missing.wasm");
        let error = parse_with_plugin(&body).unwrap_err();
        assert!(format!("{error:#}").contains("missing.wasm"));
    }

    #[test]
    fn invalid_schedule_is_rejected() {
        let error = parse_with_plugin(&format!("{MINIMAL}\nschedule = \"2am\"")).unwrap_err();
        assert!(format!("{error:#}").contains("HH:MM"));
    }

    #[test]
    fn tenant_id_with_slash_is_rejected() {
        let body = MINIMAL.replace("\"contoso\"", "\"../etc\"");
        let error = parse_with_plugin(&body).unwrap_err();
        assert!(format!("{error:#}").contains("invalid"));
    }

    #[test]
    fn duplicate_tenant_is_rejected() {
        let error = parse_with_plugin(&format!("{MINIMAL}{MINIMAL}")).unwrap_err();
        assert!(format!("{error:#}").contains("twice"));
    }

    #[test]
    fn schedule_parses_hours_and_minutes() {
        assert_eq!(
            ScheduleTime::parse("23:59"),
            Ok(ScheduleTime {
                hour: 23,
                minute: 59
            })
        );
        assert!(ScheduleTime::parse("24:00").is_err());
    }
}
