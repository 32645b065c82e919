//! Tenant settings handed to the plugin, with secrets resolved from the environment or files.
//!
//! A value given as `{ env = "NAME" }` or `{ file = "path" }` is a secret: its text never appears
//! in `Debug` output, and `redact` removes it from any message before it is logged or stored.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use super::raw::RawSetting;

/// Text that replaces a secret value in messages.
pub const REDACTED: &str = "[redacted]";

/// Secrets shorter than this are not searched for in messages: replacing every "a" in a log
/// line would make it unreadable and hide nothing.
const MIN_REDACTED_LENGTH: usize = 4;

#[derive(Clone)]
struct SettingValue {
    text: String,
    secret: bool,
}

/// The resolved settings of one tenant.
#[derive(Clone, Default)]
pub struct Settings {
    values: BTreeMap<String, SettingValue>,
}

impl Settings {
    pub(super) fn resolve(
        raw: &BTreeMap<String, RawSetting>,
        base: &Path,
    ) -> Result<Settings, String> {
        let mut values = BTreeMap::new();
        for (name, setting) in raw {
            let value = match setting {
                RawSetting::Text(text) => plain(text.clone()),
                RawSetting::Boolean(flag) => plain(flag.to_string()),
                RawSetting::Integer(number) => plain(number.to_string()),
                RawSetting::Environment { env } => {
                    let text = std::env::var(env).map_err(|_| {
                        format!("settings.{name}: environment variable {env} is not set; export it before starting photosync")
                    })?;
                    secret(text)
                }
                RawSetting::File { file } => {
                    let path = base.join(file);
                    let text = std::fs::read_to_string(&path).map_err(|error| {
                        format!(
                            "settings.{name}: failed to read secret file {}: {error}; create the file with the secret's value, or fix the path (a relative path starts at the configuration file's directory)",
                            path.display()
                        )
                    })?;
                    secret(text.trim_end_matches(['\r', '\n']).to_string())
                }
            };
            values.insert(name.clone(), value);
        }
        Ok(Settings { values })
    }

    /// Returns a setting's value, secrets included.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(|value| value.text.as_str())
    }

    /// Tells whether a setting was given as a secret reference.
    pub fn is_secret(&self, name: &str) -> bool {
        self.values.get(name).is_some_and(|value| value.secret)
    }

    /// Lists the setting names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Replaces every secret value found in `text` with `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        let mut redacted = text.to_string();
        for value in self.values.values() {
            if value.secret && value.text.len() >= MIN_REDACTED_LENGTH {
                redacted = redacted.replace(&value.text, REDACTED);
            }
        }
        redacted
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = formatter.debug_map();
        for (name, value) in &self.values {
            map.entry(
                name,
                &if value.secret {
                    REDACTED
                } else {
                    value.text.as_str()
                },
            );
        }
        map.finish()
    }
}

fn plain(text: String) -> SettingValue {
    SettingValue {
        text,
        secret: false,
    }
}

fn secret(text: String) -> SettingValue {
    SettingValue { text, secret: true }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings_with_secret(value: &str) -> Settings {
        let directory = tempfile::tempdir().unwrap();
        std::fs::write(directory.path().join("secret"), format!("{value}\n")).unwrap();
        let raw = BTreeMap::from([(
            "client_secret".to_string(),
            RawSetting::File {
                file: "secret".into(),
            },
        )]);
        Settings::resolve(&raw, directory.path()).unwrap()
    }

    #[test]
    fn secret_file_is_read_without_newline() {
        let settings = settings_with_secret("s3cr3t-value");
        assert_eq!(settings.get("client_secret"), Some("s3cr3t-value"));
    }

    #[test]
    fn debug_output_hides_secret() {
        let settings = settings_with_secret("s3cr3t-value");
        assert!(!format!("{settings:?}").contains("s3cr3t-value"));
    }

    #[test]
    fn redact_removes_secret_from_text() {
        let settings = settings_with_secret("s3cr3t-value");
        assert_eq!(
            settings.redact("got s3cr3t-value back"),
            "got [redacted] back"
        );
    }

    #[test]
    fn missing_environment_variable_is_named() {
        let raw = BTreeMap::from([(
            "client_secret".to_string(),
            RawSetting::Environment {
                env: "PHOTOSYNC_TEST_UNSET_VARIABLE".to_string(),
            },
        )]);
        let error = Settings::resolve(&raw, Path::new(".")).unwrap_err();
        assert!(error.contains("PHOTOSYNC_TEST_UNSET_VARIABLE"));
    }
}
