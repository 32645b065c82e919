//! The connector's settings: their catalogue for `describe()`, and parsing the values the host
//! returns into validated [`Settings`].
//!
//! Values are read through a lookup function (`host::setting` in the plugin, a map in tests).
//! Leading and trailing whitespace is ignored, so a secret read from a file with a final newline
//! still works, and an empty value counts as unset. Every error is `invalid-config` and names the
//! setting; it shows the rejected value except for the secret.

use std::fmt;

use crate::cloud::{Cloud, Endpoints};
use crate::origin::Origin;
use crate::photosync::connector::types::{ConnectorError, ConnectorInfo, SettingInfo};

/// Reads one setting by name; `None` when unset.
pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Name of the connector in `describe()`.
pub(crate) const CONNECTOR_NAME: &str = "entra-id";

/// Shown to users while their photo is managed by sync.
const DEFAULT_LOCK_MESSAGE: &str = "Your profile photo is synchronized from Microsoft 365. \
To change it, update your photo in Outlook or Teams; the new photo appears here after the \
next nightly sync.";

/// Microsoft 365 accepts profile photo uploads of up to 4 MB.
const DEFAULT_MAX_PHOTO_BYTES: u64 = 4 * 1024 * 1024;

/// Largest accepted `max_photo_bytes`: the whole photo and its decoded pixels stay in plugin
/// memory at once, so a larger cap would only move the failure to the host's memory limit.
const MAX_PHOTO_BYTES_CEILING: u64 = 32 * 1024 * 1024;

/// Longest accepted `tenant_id`: a DNS name has at most 253 characters.
const MAX_TENANT_ID_CHARS: usize = 253;

/// One entry of the settings catalogue.
struct SettingSpec {
    name: &'static str,
    description: &'static str,
    secret: bool,
    required: bool,
    default_value: Option<&'static str>,
}

/// Every setting the connector reads, in the order `describe()` lists them.
const SETTING_SPECS: &[SettingSpec] = &[
    SettingSpec {
        name: "tenant_id",
        description: "Entra tenant id (GUID) or primary domain, such as contoso.onmicrosoft.com.",
        secret: false,
        required: true,
        default_value: None,
    },
    SettingSpec {
        name: "client_id",
        description: "Application (client) id of the app registration.",
        secret: false,
        required: true,
        default_value: None,
    },
    SettingSpec {
        name: "client_secret",
        description:
            "Value of the app registration's client secret (the Value column, not the Secret ID).",
        secret: true,
        required: true,
        default_value: None,
    },
    SettingSpec {
        name: "cloud",
        description: "Microsoft cloud that hosts the tenant: global, usgov, usgov-dod or china. \
                      Sets the login host, the Graph host and the token scope together.",
        secret: false,
        required: false,
        default_value: Some("global"),
    },
    SettingSpec {
        name: "login_host",
        description: "Origin (scheme://host[:port]) of the token endpoint, replacing the cloud's \
                      login host; for a Graph simulator.",
        secret: false,
        required: false,
        default_value: None,
    },
    SettingSpec {
        name: "graph_host",
        description: "Origin (scheme://host[:port]) of Microsoft Graph, replacing the cloud's \
                      Graph host; for a Graph simulator. The token scope stays the cloud's.",
        secret: false,
        required: false,
        default_value: None,
    },
    SettingSpec {
        name: "include_guests",
        description: "Sync guest accounts too: true or false.",
        secret: false,
        required: false,
        default_value: Some("false"),
    },
    SettingSpec {
        name: "include_disabled",
        description: "Sync disabled accounts too: true or false.",
        secret: false,
        required: false,
        default_value: Some("false"),
    },
    SettingSpec {
        name: "remove_when_absent",
        description: "Remove a synced photo when Microsoft 365 no longer has one: true or false. \
                      Manually uploaded photos are never removed.",
        secret: false,
        required: false,
        default_value: Some("true"),
    },
    SettingSpec {
        name: "lock_message",
        description: "Message shown to users while manual photo changes are blocked.",
        secret: false,
        required: false,
        default_value: Some(DEFAULT_LOCK_MESSAGE),
    },
    SettingSpec {
        name: "max_photo_bytes",
        description: "Largest photo accepted, in bytes, from 1 to 33554432; larger photos fail \
                      as invalid-photo.",
        secret: false,
        required: false,
        default_value: Some("4194304"),
    },
];

/// A secret value whose `Debug` output never shows it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    /// Returns the secret itself, for the token request body only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// The app registration that requests tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) tenant_id: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: Secret,
}

/// Scope settings: the kinds of users the sync includes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ScopeSettings {
    pub(crate) include_guests: bool,
    pub(crate) include_disabled: bool,
}

/// The settings `apply-policy` needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PolicySettings {
    pub(crate) remove_when_absent: bool,
    pub(crate) lock_message: String,
}

/// All settings, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Settings {
    pub(crate) credentials: Credentials,
    pub(crate) endpoints: Endpoints,
    pub(crate) scope: ScopeSettings,
    pub(crate) policy: PolicySettings,
    pub(crate) max_photo_bytes: u64,
}

impl Settings {
    /// Reads and validates every setting; the error names the first invalid or missing one.
    pub(crate) fn load(lookup: Lookup) -> Result<Settings, ConnectorError> {
        Ok(Settings {
            credentials: load_credentials(lookup)?,
            endpoints: load_endpoints(lookup)?,
            scope: ScopeSettings {
                include_guests: load_bool(lookup, "include_guests")?,
                include_disabled: load_bool(lookup, "include_disabled")?,
            },
            policy: PolicySettings::load(lookup)?,
            max_photo_bytes: load_max_photo_bytes(lookup)?,
        })
    }
}

impl PolicySettings {
    /// Reads only the policy settings, so `apply-policy` does not depend on the others.
    pub(crate) fn load(lookup: Lookup) -> Result<PolicySettings, ConnectorError> {
        Ok(PolicySettings {
            remove_when_absent: load_bool(lookup, "remove_when_absent")?,
            lock_message: value(lookup, "lock_message")
                .unwrap_or_else(|| DEFAULT_LOCK_MESSAGE.to_string()),
        })
    }
}

/// Builds the `describe()` result. The hosts follow the current settings; a missing or invalid
/// `cloud`, `login_host` or `graph_host` falls back to the default it replaces.
pub(crate) fn describe(lookup: Lookup, version: &str) -> ConnectorInfo {
    let cloud = value(lookup, "cloud")
        .and_then(|name| Cloud::parse(&name))
        .unwrap_or(Cloud::Global);
    let login = value(lookup, "login_host").and_then(|origin| Origin::parse(&origin).ok());
    let graph = value(lookup, "graph_host").and_then(|origin| Origin::parse(&origin).ok());
    let endpoints = Endpoints::resolve(cloud, login, graph);

    ConnectorInfo {
        name: CONNECTOR_NAME.to_string(),
        version: version.to_string(),
        settings: SETTING_SPECS
            .iter()
            .map(|spec| SettingInfo {
                name: spec.name.to_string(),
                description: spec.description.to_string(),
                secret: spec.secret,
                required: spec.required,
                default_value: spec.default_value.map(str::to_string),
            })
            .collect(),
        hosts: vec![endpoints.login.to_string(), endpoints.graph.to_string()],
    }
}

fn load_credentials(lookup: Lookup) -> Result<Credentials, ConnectorError> {
    let tenant_id = required(lookup, "tenant_id")?;
    let tenant_id_is_valid = tenant_id.len() <= MAX_TENANT_ID_CHARS
        && tenant_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if !tenant_id_is_valid {
        return Err(invalid(
            "tenant_id",
            &tenant_id,
            "expected the tenant id (a GUID) or the primary domain, such as contoso.onmicrosoft.com",
        ));
    }

    let client_id = required(lookup, "client_id")?;
    if client_id
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid(
            "client_id",
            &client_id,
            "expected the application (client) id, a GUID without spaces",
        ));
    }

    let client_secret = Secret(required(lookup, "client_secret")?);
    Ok(Credentials {
        tenant_id,
        client_id,
        client_secret,
    })
}

fn load_endpoints(lookup: Lookup) -> Result<Endpoints, ConnectorError> {
    let cloud = match value(lookup, "cloud") {
        None => Cloud::Global,
        Some(name) => Cloud::parse(&name)
            .ok_or_else(|| invalid("cloud", &name, &format!("expected one of {}", Cloud::NAMES)))?,
    };
    let login = load_origin(lookup, "login_host")?;
    let graph = load_origin(lookup, "graph_host")?;
    Ok(Endpoints::resolve(cloud, login, graph))
}

fn load_origin(lookup: Lookup, name: &str) -> Result<Option<Origin>, ConnectorError> {
    match value(lookup, name) {
        None => Ok(None),
        Some(text) => Origin::parse(&text).map(Some).map_err(|reason| {
            invalid(
                name,
                &text,
                &format!("the value {reason}; expected scheme://host[:port]"),
            )
        }),
    }
}

fn load_bool(lookup: Lookup, name: &str) -> Result<bool, ConnectorError> {
    let text = value(lookup, name).unwrap_or_else(|| default_of(name).to_string());
    match text.as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(name, &text, "expected true or false")),
    }
}

fn load_max_photo_bytes(lookup: Lookup) -> Result<u64, ConnectorError> {
    let name = "max_photo_bytes";
    let Some(text) = value(lookup, name) else {
        return Ok(DEFAULT_MAX_PHOTO_BYTES);
    };
    match text.parse::<u64>() {
        Ok(bytes) if (1..=MAX_PHOTO_BYTES_CEILING).contains(&bytes) => Ok(bytes),
        _ => Err(invalid(
            name,
            &text,
            &format!("expected a number of bytes from 1 to {MAX_PHOTO_BYTES_CEILING}"),
        )),
    }
}

/// Returns the trimmed value, or `None` when it is unset or blank.
fn value(lookup: Lookup, name: &str) -> Option<String> {
    lookup(name)
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty())
}

fn required(lookup: Lookup, name: &str) -> Result<String, ConnectorError> {
    value(lookup, name).ok_or_else(|| {
        let description = spec(name).description;
        ConnectorError::InvalidConfig(format!("setting `{name}` is missing ({description})"))
    })
}

fn default_of(name: &str) -> &'static str {
    spec(name)
        .default_value
        .expect("optional settings have a default in SETTING_SPECS")
}

fn spec(name: &str) -> &'static SettingSpec {
    SETTING_SPECS
        .iter()
        .find(|spec| spec.name == name)
        .expect("every setting read is listed in SETTING_SPECS")
}

fn invalid(name: &str, value: &str, expected: &str) -> ConnectorError {
    ConnectorError::InvalidConfig(format!(
        "setting `{name}` has invalid value {value:?}; {expected}"
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const SECRET: &str = "s3cr3t~value";

    fn complete() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("tenant_id", "contoso.onmicrosoft.com"),
            ("client_id", "11111111-2222-3333-4444-555555555555"),
            ("client_secret", SECRET),
        ])
    }

    fn load_with(pairs: &HashMap<&'static str, &'static str>) -> Result<Settings, ConnectorError> {
        let lookup = |name: &str| pairs.get(name).map(|value| value.to_string());
        Settings::load(&lookup)
    }

    fn load_one(name: &'static str, value: &'static str) -> Result<Settings, ConnectorError> {
        let mut pairs = complete();
        pairs.insert(name, value);
        load_with(&pairs)
    }

    fn config_message(result: Result<Settings, ConnectorError>) -> String {
        match result {
            Err(ConnectorError::InvalidConfig(message)) => message,
            other => panic!("expected invalid-config, got {other:?}"),
        }
    }

    #[test]
    fn defaults_applied() {
        let settings = load_with(&complete()).unwrap();
        assert_eq!(
            settings.endpoints.graph.to_string(),
            "https://graph.microsoft.com"
        );
        assert_eq!(
            settings.endpoints.login.to_string(),
            "https://login.microsoftonline.com"
        );
        assert!(!settings.scope.include_guests);
        assert!(!settings.scope.include_disabled);
        assert!(settings.policy.remove_when_absent);
        assert_eq!(settings.policy.lock_message, DEFAULT_LOCK_MESSAGE);
        assert_eq!(settings.max_photo_bytes, 4_194_304);
    }

    #[test]
    fn catalogue_default_matches_constant() {
        assert_eq!(
            default_of("max_photo_bytes"),
            DEFAULT_MAX_PHOTO_BYTES.to_string()
        );
    }

    #[test]
    fn missing_tenant_named() {
        let mut pairs = complete();
        pairs.remove("tenant_id");
        assert!(config_message(load_with(&pairs)).contains("`tenant_id` is missing"));
    }

    #[test]
    fn blank_secret_is_missing() {
        let message = config_message(load_one("client_secret", "  \n"));
        assert!(message.contains("`client_secret` is missing"), "{message}");
    }

    #[test]
    fn secret_trailing_newline_trimmed() {
        let settings = load_one("client_secret", "abc~123\n").unwrap();
        assert_eq!(settings.credentials.client_secret.expose(), "abc~123");
    }

    #[test]
    fn secret_hidden_from_debug() {
        let settings = load_with(&complete()).unwrap();
        assert!(!format!("{settings:?}").contains(SECRET));
    }

    #[test]
    fn tenant_with_slash_rejected() {
        let message = config_message(load_one("tenant_id", "contoso/../common"));
        assert!(message.contains("`tenant_id`"), "{message}");
        assert!(message.contains("contoso/../common"), "{message}");
    }

    #[test]
    fn tenant_guid_accepted() {
        let settings = load_one("tenant_id", "9188040d-6c67-4c5b-b112-36a304b66dad").unwrap();
        assert_eq!(
            settings.credentials.tenant_id,
            "9188040d-6c67-4c5b-b112-36a304b66dad"
        );
    }

    #[test]
    fn client_id_with_space_rejected() {
        assert!(config_message(load_one("client_id", "abc def")).contains("`client_id`"));
    }

    #[test]
    fn cloud_selects_endpoints() {
        let settings = load_one("cloud", "usgov-dod").unwrap();
        assert_eq!(
            settings.endpoints.graph.to_string(),
            "https://dod-graph.microsoft.us"
        );
        assert_eq!(
            settings.endpoints.login.to_string(),
            "https://login.microsoftonline.us"
        );
        assert_eq!(
            settings.endpoints.scope,
            "https://dod-graph.microsoft.us/.default"
        );
    }

    #[test]
    fn unknown_cloud_named() {
        let message = config_message(load_one("cloud", "germany"));
        assert!(message.contains("`cloud`"), "{message}");
        assert!(message.contains("\"germany\""), "{message}");
    }

    #[test]
    fn graph_host_override_applied() {
        let settings = load_one("graph_host", "http://127.0.0.1:8080").unwrap();
        assert_eq!(
            settings.endpoints.graph.to_string(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            settings.endpoints.scope,
            "https://graph.microsoft.com/.default"
        );
    }

    #[test]
    fn login_host_with_path_rejected() {
        let message = config_message(load_one("login_host", "http://127.0.0.1:8080/tenant"));
        assert!(message.contains("`login_host`"), "{message}");
        assert!(
            message.contains("http://127.0.0.1:8080/tenant"),
            "{message}"
        );
    }

    #[test]
    fn graph_host_without_scheme_rejected() {
        assert!(config_message(load_one("graph_host", "127.0.0.1:8080")).contains("`graph_host`"));
    }

    #[test]
    fn bool_true_accepted() {
        assert!(
            load_one("include_guests", "true")
                .unwrap()
                .scope
                .include_guests
        );
    }

    #[test]
    fn bool_yes_rejected() {
        let message = config_message(load_one("include_disabled", "yes"));
        assert!(message.contains("`include_disabled`"), "{message}");
        assert!(message.contains("\"yes\""), "{message}");
    }

    #[test]
    fn remove_when_absent_false() {
        assert!(
            !load_one("remove_when_absent", "false")
                .unwrap()
                .policy
                .remove_when_absent
        );
    }

    #[test]
    fn max_photo_bytes_parsed() {
        assert_eq!(
            load_one("max_photo_bytes", "1000").unwrap().max_photo_bytes,
            1000
        );
    }

    #[test]
    fn max_photo_bytes_zero_rejected() {
        assert!(config_message(load_one("max_photo_bytes", "0")).contains("`max_photo_bytes`"));
    }

    #[test]
    fn max_photo_bytes_text_rejected() {
        assert!(config_message(load_one("max_photo_bytes", "4MB")).contains("\"4MB\""));
    }

    #[test]
    fn max_photo_bytes_ceiling_enforced() {
        assert!(load_one("max_photo_bytes", "33554433").is_err());
    }

    #[test]
    fn lock_message_override() {
        let settings = load_one("lock_message", "Managed by IT").unwrap();
        assert_eq!(settings.policy.lock_message, "Managed by IT");
    }

    #[test]
    fn policy_loads_without_credentials() {
        let lookup = |name: &str| (name == "remove_when_absent").then(|| "false".to_string());
        assert!(!PolicySettings::load(&lookup).unwrap().remove_when_absent);
    }

    #[test]
    fn describe_lists_every_setting() {
        let info = describe(&|_: &str| None, "1.2.3");
        let names: Vec<&str> = info.settings.iter().map(|s| s.name.as_str()).collect();
        let expected: Vec<&str> = SETTING_SPECS.iter().map(|s| s.name).collect();
        assert_eq!(names, expected);
    }

    #[test]
    fn describe_marks_only_secret() {
        let info = describe(&|_: &str| None, "1.2.3");
        let secrets: Vec<&str> = info
            .settings
            .iter()
            .filter(|s| s.secret)
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(secrets, ["client_secret"]);
    }

    #[test]
    fn describe_defaults_to_global_hosts() {
        let info = describe(&|_: &str| None, "1.2.3");
        assert_eq!(
            info.hosts,
            [
                "https://login.microsoftonline.com",
                "https://graph.microsoft.com"
            ]
        );
    }

    #[test]
    fn describe_follows_overrides() {
        let lookup = |name: &str| match name {
            "cloud" => Some("china".to_string()),
            "graph_host" => Some("http://127.0.0.1:8080".to_string()),
            _ => None,
        };
        let info = describe(&lookup, "1.2.3");
        assert_eq!(
            info.hosts,
            ["https://login.chinacloudapi.cn", "http://127.0.0.1:8080"]
        );
    }

    #[test]
    fn describe_ignores_invalid_override() {
        let lookup = |name: &str| (name == "login_host").then(|| "not a url".to_string());
        let info = describe(&lookup, "1.2.3");
        assert_eq!(info.hosts[0], "https://login.microsoftonline.com");
    }

    #[test]
    fn describe_reports_name_and_version() {
        let info = describe(&|_: &str| None, "1.2.3");
        assert_eq!(info.name, "entra-id");
        assert_eq!(info.version, "1.2.3");
    }
}
