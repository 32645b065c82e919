//! The fixture: a directory with `users.json` and the photo files it names.
//!
//! `users.json` contains the tenant's app credentials, the maximum page size and the users.
//! Photo paths in it are relative to the directory. [`Fixture::load`] reads every photo into
//! memory and [`Fixture::save`] writes the same layout back, so a fixture built in code can be
//! served by the `graph-sim` binary.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::image_size::sniff_content_type;

/// File name of the user list inside a fixture directory.
pub const USERS_FILE: &str = "users.json";

/// Page size used when `users.json` has no `page_size`: Graph's maximum `$top` for users.
pub const DEFAULT_PAGE_SIZE: usize = 999;

/// A simulated tenant: app credentials, paging and the directory's users.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// Tenant id or domain accepted in the token URL, for example `contoso.onmicrosoft.com`.
    pub tenant_id: String,
    /// Application (client) id that the token endpoint accepts.
    pub client_id: String,
    /// Client secret that the token endpoint accepts.
    pub client_secret: String,
    /// Maximum number of users per page. A smaller `$top` makes pages smaller.
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    /// Users in listing order.
    pub users: Vec<FixtureUser>,
}

/// A user of the simulated directory, with the properties `/v1.0/users` returns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixtureUser {
    /// Directory object id, GUID-shaped in the sample.
    pub id: String,
    pub user_principal_name: String,
    /// SMTP address, none for users without a mailbox.
    #[serde(default)]
    pub mail: Option<String>,
    pub display_name: String,
    #[serde(default = "default_account_enabled")]
    pub account_enabled: bool,
    /// `Member`, `Guest`, or none (Graph returns `null` for some older accounts).
    #[serde(default)]
    pub user_type: Option<UserType>,
    /// Photo file path relative to the fixture directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<String>,
    /// `Content-Type` sent with the photo instead of the type derived from the file extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_content_type: Option<String>,
    /// Error that both photo requests return for this user instead of the photo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_error: Option<PhotoError>,
    /// Photo bytes, read by [`Fixture::load`] or set in code. A user has a photo exactly when
    /// this is set.
    #[serde(skip)]
    pub photo_bytes: Option<Vec<u8>>,
}

/// Graph's `userType` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserType {
    Member,
    Guest,
}

/// A Graph error returned for a user's photo requests, such as 404 `ErrorEntityNotFound` or
/// 400 `AuthenticationError` for a user without a mailbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhotoError {
    /// HTTP status, 400 to 599.
    pub status: u16,
    /// Graph error code, for example `ErrorItemNotFound`.
    pub code: String,
    pub message: String,
}

fn default_page_size() -> usize {
    DEFAULT_PAGE_SIZE
}

fn default_account_enabled() -> bool {
    true
}

impl FixtureUser {
    /// Creates an enabled member without a photo whose mail is the user principal name.
    pub fn new(id: &str, user_principal_name: &str, display_name: &str) -> FixtureUser {
        FixtureUser {
            id: id.to_string(),
            user_principal_name: user_principal_name.to_string(),
            mail: Some(user_principal_name.to_string()),
            display_name: display_name.to_string(),
            account_enabled: true,
            user_type: Some(UserType::Member),
            photo: None,
            photo_content_type: None,
            photo_error: None,
            photo_bytes: None,
        }
    }

    /// Returns the `Content-Type` of the user's photo: the override, else the type derived from
    /// the file extension, else the type derived from the magic bytes.
    pub fn effective_content_type(&self) -> String {
        if let Some(content_type) = &self.photo_content_type {
            return content_type.clone();
        }
        let from_extension = self.photo.as_deref().and_then(content_type_for_path);
        let from_bytes = self.photo_bytes.as_deref().and_then(sniff_content_type);
        from_extension
            .or(from_bytes)
            .unwrap_or("application/octet-stream")
            .to_string()
    }

    /// Checks the fields that the server relies on. The error names the user and the field.
    pub(crate) fn validate(&self) -> anyhow::Result<()> {
        if self.id.trim().is_empty() {
            bail!(
                "user {:?} has an empty id; give every user a unique id",
                self.user_principal_name
            );
        }
        if let Some(path) = &self.photo {
            check_relative_path(path)
                .with_context(|| format!("invalid \"photo\" of user {}", self.id))?;
        }
        if let Some(content_type) = &self.photo_content_type {
            if !is_header_value(content_type) {
                bail!(
                    "invalid \"photoContentType\" {content_type:?} of user {}: use a MIME type \
                     such as image/jpeg",
                    self.id
                );
            }
        }
        if let Some(error) = &self.photo_error {
            if !(400..=599).contains(&error.status) {
                bail!(
                    "invalid \"photoError\" status {} of user {}: use an HTTP error status \
                     from 400 to 599",
                    error.status,
                    self.id
                );
            }
        }
        Ok(())
    }
}

impl Fixture {
    /// Loads `users.json` from `dir` and reads every photo file it names.
    ///
    /// Fails on invalid JSON, an invalid field, a duplicate user id or a missing photo file.
    /// The error names the file, the user and the field.
    pub fn load(dir: impl AsRef<Path>) -> anyhow::Result<Fixture> {
        let dir = dir.as_ref();
        let users_path = dir.join(USERS_FILE);
        let text = fs::read_to_string(&users_path)
            .with_context(|| format!("failed to read fixture file {}", users_path.display()))?;
        let mut fixture: Fixture = serde_json::from_str(&text)
            .with_context(|| format!("invalid fixture file {}", users_path.display()))?;

        // Sample tenants cycle through a few files, so each file is read once.
        let mut files_read: HashMap<String, Vec<u8>> = HashMap::new();
        for user in &mut fixture.users {
            let Some(relative) = &user.photo else {
                continue;
            };
            if let Some(bytes) = files_read.get(relative) {
                user.photo_bytes = Some(bytes.clone());
                continue;
            }
            check_relative_path(relative)
                .with_context(|| format!("invalid \"photo\" of user {}", user.id))?;
            let photo_path = dir.join(relative);
            let bytes = fs::read(&photo_path).with_context(|| {
                format!(
                    "failed to read the photo of user {} at {}: add the file or remove the \
                     user's \"photo\" entry",
                    user.id,
                    photo_path.display()
                )
            })?;
            files_read.insert(relative.clone(), bytes.clone());
            user.photo_bytes = Some(bytes);
        }

        fixture
            .validate()
            .with_context(|| format!("invalid fixture file {}", users_path.display()))?;
        Ok(fixture)
    }

    /// Writes `users.json` and the photo files into `dir`, creating it if needed.
    ///
    /// A user with photo bytes but no `photo` path gets `photos/user-<index>.<ext>`.
    pub fn save(&self, dir: impl AsRef<Path>) -> anyhow::Result<()> {
        let dir = dir.as_ref();
        self.validate()?;
        fs::create_dir_all(dir)
            .with_context(|| format!("failed to create fixture directory {}", dir.display()))?;

        let mut users = self.users.clone();
        let mut written: HashMap<String, &[u8]> = HashMap::new();
        for (index, (user, original)) in users.iter_mut().zip(&self.users).enumerate() {
            let Some(bytes) = original.photo_bytes.as_deref() else {
                continue;
            };
            let relative = match &user.photo {
                Some(path) => path.clone(),
                None => format!("photos/user-{index}.{}", extension_for(bytes)),
            };
            if let Some(previous) = written.get(&relative) {
                if *previous != bytes {
                    bail!(
                        "user {} and an earlier user name the same photo file {relative} with \
                         different bytes; give each photo its own path",
                        user.id
                    );
                }
            } else {
                write_photo(&dir.join(&relative), bytes)?;
                written.insert(relative.clone(), bytes);
            }
            user.photo = Some(relative);
        }

        let saved = Fixture {
            users,
            ..self.clone()
        };
        let json = serde_json::to_string_pretty(&saved).context("failed to encode users.json")?;
        let users_path = dir.join(USERS_FILE);
        fs::write(&users_path, json + "\n")
            .with_context(|| format!("failed to write {}", users_path.display()))
    }

    /// Checks credentials, page size, user ids and photo fields.
    ///
    /// A user whose `photo` path is set must also have its bytes loaded.
    pub fn validate(&self) -> anyhow::Result<()> {
        for (field, value) in [
            ("tenant_id", &self.tenant_id),
            ("client_id", &self.client_id),
            ("client_secret", &self.client_secret),
        ] {
            if value.trim().is_empty() {
                bail!("the fixture's {field} is empty; set it to a non-empty value");
            }
        }
        if self.page_size == 0 {
            bail!("the fixture's page_size is 0; use 1 to {DEFAULT_PAGE_SIZE}");
        }

        let mut ids = HashSet::new();
        for user in &self.users {
            user.validate()?;
            if !ids.insert(user.id.as_str()) {
                bail!("user id {} appears twice; user ids must be unique", user.id);
            }
            if user.photo.is_some() && user.photo_bytes.is_none() {
                bail!(
                    "user {} names photo {:?} but its bytes are not loaded; use Fixture::load \
                     or set photo_bytes",
                    user.id,
                    user.photo.as_deref().unwrap_or_default()
                );
            }
        }
        Ok(())
    }
}

/// Returns the MIME type for a photo path's extension, or none for an unknown extension.
pub(crate) fn content_type_for_path(path: &str) -> Option<&'static str> {
    let extension = Path::new(path).extension()?.to_str()?.to_ascii_lowercase();
    match extension.as_str() {
        "jpg" | "jpeg" => Some("image/jpeg"),
        "png" => Some("image/png"),
        "gif" => Some("image/gif"),
        _ => None,
    }
}

/// Reports whether `value` can be sent as an HTTP header value (visible ASCII and spaces).
pub(crate) fn is_header_value(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|byte| byte == b' ' || byte.is_ascii_graphic())
}

fn extension_for(bytes: &[u8]) -> &'static str {
    match sniff_content_type(bytes) {
        Some("image/png") => "png",
        Some("image/gif") => "gif",
        Some("image/jpeg") => "jpg",
        _ => "bin",
    }
}

/// Rejects empty, absolute and `..` paths, so photo files stay inside the fixture directory.
fn check_relative_path(path: &str) -> anyhow::Result<()> {
    let parsed = PathBuf::from(path);
    let inside = !path.is_empty()
        && parsed
            .components()
            .all(|component| matches!(component, Component::Normal(_) | Component::CurDir));
    if !inside {
        bail!("photo path {path:?} must be a relative path inside the fixture directory");
    }
    Ok(())
}

fn write_photo(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("failed to create directory {}", parent.display()))?;
    }
    fs::write(path, bytes).with_context(|| format!("failed to write photo {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::sample_photo;

    fn fixture_with_photo() -> Fixture {
        let mut alice = FixtureUser::new("id-alice", "alice@contoso.com", "Alice");
        alice.photo = Some("photos/astronaut-96.jpg".to_string());
        alice.photo_bytes = Some(sample_photo("astronaut-96.jpg").to_vec());
        let mut bob = FixtureUser::new("id-bob", "bob@contoso.com", "Bob");
        bob.photo_bytes = Some(sample_photo("coffee-240.png").to_vec());
        let carol = FixtureUser::new("id-carol", "carol@contoso.com", "Carol");
        Fixture {
            tenant_id: "contoso.onmicrosoft.com".to_string(),
            client_id: "client".to_string(),
            client_secret: "secret".to_string(),
            page_size: 2,
            users: vec![alice, bob, carol],
        }
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let fixture = fixture_with_photo();
        fixture.save(dir.path()).unwrap();
        let loaded = Fixture::load(dir.path()).unwrap();

        assert_eq!(loaded.users.len(), 3);
        assert_eq!(loaded.users[0], fixture.users[0]);
        assert_eq!(
            loaded.users[1].photo.as_deref(),
            Some("photos/user-1.png"),
            "a photo without a path gets one named after the user's index"
        );
        assert_eq!(loaded.users[1].photo_bytes, fixture.users[1].photo_bytes);
        assert_eq!(loaded.users[2].photo_bytes, None);
    }

    #[test]
    fn missing_photo_names_user_and_path() {
        let dir = tempfile::tempdir().unwrap();
        fixture_with_photo().save(dir.path()).unwrap();
        fs::remove_file(dir.path().join("photos/astronaut-96.jpg")).unwrap();

        let message = format!("{:#}", Fixture::load(dir.path()).unwrap_err());
        assert!(message.contains("id-alice"), "{message}");
        assert!(message.contains("photos/astronaut-96.jpg"), "{message}");
    }

    #[test]
    fn duplicate_user_id_rejected() {
        let mut fixture = fixture_with_photo();
        fixture.users[2].id = "id-bob".to_string();
        let message = format!("{:#}", fixture.validate().unwrap_err());
        assert!(message.contains("id-bob appears twice"), "{message}");
    }

    #[test]
    fn escaping_photo_path_rejected() {
        let mut fixture = fixture_with_photo();
        fixture.users[0].photo = Some("../secret.jpg".to_string());
        let message = format!("{:#}", fixture.validate().unwrap_err());
        assert!(
            message.contains("inside the fixture directory"),
            "{message}"
        );
    }

    #[test]
    fn zero_page_size_rejected() {
        let mut fixture = fixture_with_photo();
        fixture.page_size = 0;
        assert!(fixture.validate().is_err());
    }

    #[test]
    fn unknown_user_field_rejected() {
        let json = r#"{"id":"x","userPrincipalName":"x@contoso.com","displayName":"X",
                       "photoContenttype":"image/jpeg"}"#;
        let error = serde_json::from_str::<FixtureUser>(json).unwrap_err();
        assert!(error.to_string().contains("photoContenttype"), "{error}");
    }

    #[test]
    fn null_user_type_accepted() {
        let json = r#"{"id":"x","userPrincipalName":"x@contoso.com","displayName":"X",
                       "userType":null,"accountEnabled":false}"#;
        let user: FixtureUser = serde_json::from_str(json).unwrap();
        assert_eq!(user.user_type, None);
        assert!(!user.account_enabled);
    }

    #[test]
    fn content_type_override_wins() {
        let mut user = fixture_with_photo().users.remove(0);
        assert_eq!(user.effective_content_type(), "image/jpeg");
        user.photo_content_type = Some("image/Jpeg".to_string());
        assert_eq!(user.effective_content_type(), "image/Jpeg");
    }
}
