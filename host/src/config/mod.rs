//! The `photosync.toml` file: loading, validation and the resolved per-tenant configuration.
//!
//! Every problem is reported at load time with the tenant and key named, so a mistake stops
//! `photosync` at start-up rather than in the middle of a night's run. Relative paths are
//! resolved against the directory of the configuration file.

mod limits;
mod platform;
mod raw;
mod serve;
mod settings;
mod tokens;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};

pub use limits::Limits;
pub use platform::DEFAULT_SYNC_MESSAGE;
pub use serve::ServeSettings;
pub use serve::DEFAULT_LISTEN;
pub use settings::{Settings, REDACTED};
pub use tokens::{ApiToken, TokenRole};

use crate::outbound::{AllowedHosts, TlsTrust};
use raw::{RawConfig, RawTenant};

/// The daily schedule time when a tenant sets none: 02:00 UTC, a quiet hour for most of Europe
/// and the Americas.
pub const DEFAULT_SCHEDULE: ScheduleTime = ScheduleTime {
    hour: 2,
    minute: 0,
    second: 0,
};

/// Maximum tenant id length. Tenant ids name directories, so they stay short and plain.
const MAX_TENANT_ID_LENGTH: usize = 64;

/// A UTC time of day, to the second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScheduleTime {
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl ScheduleTime {
    /// Parses `HH:MM` or `HH:MM:SS` (24-hour, UTC).
    pub fn parse(text: &str) -> Result<ScheduleTime, String> {
        let invalid = || {
            format!("'{text}' is not a time of day; write it as \"HH:MM\" or \"HH:MM:SS\" in UTC, for example \"02:00\"")
        };
        let parts: Vec<&str> = text.split(':').collect();
        if !(2..=3).contains(&parts.len()) || parts.iter().any(|part| part.len() != 2) {
            return Err(invalid());
        }
        let mut numbers = [0u8; 3];
        for (number, part) in numbers.iter_mut().zip(&parts) {
            *number = part.parse().map_err(|_| invalid())?;
        }
        let [hour, minute, second] = numbers;
        if hour > 23 || minute > 59 || second > 59 {
            return Err(invalid());
        }
        Ok(ScheduleTime {
            hour,
            minute,
            second,
        })
    }
}

impl std::fmt::Display for ScheduleTime {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{:02}:{:02}", self.hour, self.minute)?;
        if self.second != 0 {
            write!(formatter, ":{:02}", self.second)?;
        }
        Ok(())
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
    /// The platform's message while manual photo edits are locked.
    pub sync_message: String,
    /// Bearer tokens of the platform API for this tenant.
    pub api_tokens: Vec<ApiToken>,
    pub allowed_hosts: Arc<AllowedHosts>,
    /// Certificate authorities the tenant's plugin trusts for HTTPS.
    pub tls: Arc<TlsTrust>,
    pub settings: Arc<Settings>,
    pub limits: Limits,
}

/// The whole validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Directory of the database and the photo files.
    pub data_dir: PathBuf,
    pub tenants: Vec<TenantConfig>,
    /// The `[serve]` table: how `photosync serve` schedules runs.
    pub serve: ServeSettings,
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "failed to read configuration file {}; check the path given with --config",
                path.display()
            )
        })?;
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
        tokens::check_unique_across_tenants(
            tenants
                .iter()
                .map(|tenant| (tenant.id.as_str(), tenant.api_tokens.as_slice())),
        )
        .map_err(|message| anyhow::anyhow!("{message}"))?;
        let serve =
            ServeSettings::from_raw(&raw.serve).map_err(|message| anyhow::anyhow!(message))?;
        Ok(Config {
            data_dir,
            tenants,
            serve,
        })
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
                    "tenant '{id}' is not in the configuration; pass one of the configured tenants with --tenant: {}",
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
    let sync_message = platform::resolve_sync_message(raw.sync_message.as_deref())?;
    let api_tokens = tokens::validate_tokens(&raw.api_tokens)?;
    Ok(TenantConfig {
        id: raw.id.clone(),
        plugin,
        schedule,
        sync_enabled: raw.sync_enabled.unwrap_or(true),
        sync_message,
        api_tokens,
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
                minute: 59,
                second: 0
            })
        );
        assert!(ScheduleTime::parse("24:00").is_err());
    }

    #[test]
    fn schedule_parses_seconds() {
        assert_eq!(
            ScheduleTime::parse("02:00:30"),
            Ok(ScheduleTime {
                hour: 2,
                minute: 0,
                second: 30
            })
        );
    }

    #[test]
    fn schedule_rejects_bad_seconds() {
        assert!(ScheduleTime::parse("02:00:60").is_err());
        assert!(ScheduleTime::parse("02:00:5").is_err());
        assert!(ScheduleTime::parse("02:00:00:00").is_err());
    }

    #[test]
    fn serve_table_is_read() {
        let body = format!("[serve]\nmax_concurrent_tenants = 5\n{MINIMAL}");
        let config = parse_with_plugin(&body).unwrap();
        assert_eq!(config.serve.max_concurrent_tenants, 5);
    }

    #[test]
    fn serve_table_rejects_zero_concurrency() {
        let body = format!("[serve]\nmax_concurrent_tenants = 0\n{MINIMAL}");
        let error = parse_with_plugin(&body).unwrap_err();
        assert!(format!("{error:#}").contains("max_concurrent_tenants"));
    }
}
