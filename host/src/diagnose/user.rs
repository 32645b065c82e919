//! Checks of one user: found in the directory, in scope, photo present in the identity source,
//! stored photo. The user's last failure comes from [`super::history`].

use super::line::CheckLine;
use crate::config::TenantConfig;
use crate::runtime::{
    ConnectorError, PhotoOutcome, PluginError, PluginInstance, Scope, User, UserKind,
};
use crate::store::{DirectoryUser, PhotoSource, StoredPhoto};

/// Check names, shared by the checks and the tests that look lines up.
pub const USER: &str = "user";
pub const SCOPE: &str = "scope";
pub const SOURCE_PHOTO: &str = "photo in Microsoft 365";
pub const STORED_PHOTO: &str = "stored photo";

/// Pages listed while looking for a user who is not in the last directory snapshot. At the
/// connector's 999 users per page, that covers about 100,000 users. In a larger tenant, run one
/// sync first, because the snapshot then contains every user.
const MAX_LOOKUP_PAGES: usize = 100;

/// The source in which the user was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FoundIn {
    /// The directory snapshot of the last complete run.
    Snapshot,
    /// A listing made by this check.
    Listing,
}

/// Finds `id_or_name` (directory id or principal name) by listing users with the connector,
/// stopping at the first match or after [`MAX_LOOKUP_PAGES`] pages.
pub async fn find_in_listing(
    instance: &mut PluginInstance,
    id_or_name: &str,
) -> Result<Option<User>, LookupError> {
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_LOOKUP_PAGES {
        let page = instance
            .list_users(cursor.as_deref())
            .await
            .map_err(LookupError::Plugin)?
            .map_err(LookupError::Connector)?;
        if let Some(user) = page
            .users
            .into_iter()
            .find(|user| matches(user, id_or_name))
        {
            return Ok(Some(user));
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(None),
        }
    }
    Err(LookupError::TooManyPages)
}

/// Failure of a user lookup by listing.
#[derive(Debug)]
pub enum LookupError {
    Plugin(PluginError),
    Connector(ConnectorError),
    TooManyPages,
}

fn matches(user: &User, id_or_name: &str) -> bool {
    user.id == id_or_name || user.principal_name.eq_ignore_ascii_case(id_or_name)
}

/// Builds the contract's user from the snapshot row, so the connector can fetch its photo.
pub fn user_from_snapshot(user: &DirectoryUser) -> User {
    User {
        id: user.user_id.clone(),
        principal_name: user.principal_name.clone(),
        mail: user.mail.clone(),
        display_name: user.display_name.clone(),
        enabled: user.enabled,
        kind: if user.kind == "guest" {
            UserKind::Guest
        } else {
            UserKind::Member
        },
        scope: match &user.excluded_reason {
            Some(reason) => Scope::Excluded(reason.clone()),
            None => Scope::Included,
        },
    }
}

/// Describes the found user.
pub fn user_line(user: &User, found_in: FoundIn) -> CheckLine {
    let kind = match user.kind {
        UserKind::Member => "member",
        UserKind::Guest => "guest",
    };
    let enabled = if user.enabled { "enabled" } else { "disabled" };
    let source = match found_in {
        FoundIn::Snapshot => "in the directory snapshot of the last complete run",
        FoundIn::Listing => "in the directory listing made now",
    };
    CheckLine::pass(
        USER,
        format!(
            "{} <{}>, id {}, {kind}, {enabled}, found {source}",
            user.display_name, user.principal_name, user.id
        ),
    )
}

/// Reports whether the connector's scope settings include the user, and which setting would.
pub fn scope_line(user: &User, tenant: &TenantConfig) -> CheckLine {
    let reason = match &user.scope {
        Scope::Included => {
            return CheckLine::pass(
                SCOPE,
                "in scope: the connector's scope settings include this user",
            )
        }
        Scope::Excluded(reason) => reason,
    };
    let next_step = if user.kind == UserKind::Guest {
        format!(
            "if guests should sync, set include_guests = true in [tenant.settings] of tenant '{}'",
            tenant.id
        )
    } else if !user.enabled {
        format!("if disabled accounts should sync, set include_disabled = true in [tenant.settings] of tenant '{}'", tenant.id)
    } else {
        format!("review the scope settings of tenant '{}'", tenant.id)
    };
    CheckLine::fail(
        SCOPE,
        format!("out of scope: {reason}; the sync does not fetch this user's photo"),
        next_step,
    )
}

/// Reports what one `fetch-photo` call found in the identity source.
pub fn source_photo_line(
    result: Result<Result<PhotoOutcome, ConnectorError>, PluginError>,
    stored: Option<&StoredPhoto>,
) -> CheckLine {
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(error) => {
            return CheckLine::fail(
                SOURCE_PHOTO,
                error.to_string(),
                "run `photosync check` without --user to check the plugin and the tenant",
            )
        }
    };
    match outcome {
        Ok(PhotoOutcome::Photo(photo)) => {
            let size = match (photo.width, photo.height) {
                (Some(width), Some(height)) => format!("{width}x{height}, "),
                _ => String::new(),
            };
            CheckLine::pass(
                SOURCE_PHOTO,
                format!(
                    "present: {} {size}{} bytes, etag {}",
                    photo.content_type,
                    photo.bytes.len(),
                    photo.etag.as_deref().unwrap_or("(none)")
                ),
            )
        }
        Ok(PhotoOutcome::Unchanged) => CheckLine::pass(
            SOURCE_PHOTO,
            format!(
                "present and unchanged: its etag matches the stored etag {}",
                stored.and_then(|photo| photo.etag.as_deref()).unwrap_or("(none)")
            ),
        ),
        Ok(PhotoOutcome::Absent) => CheckLine::fail(
            SOURCE_PHOTO,
            "absent: Microsoft Graph states that this user has no profile photo",
            "the user (or an administrator) adds a photo in Microsoft 365, for example in Outlook, Teams or the Microsoft 365 admin center; the next sync copies it",
        ),
        Err(error) => source_error_line(error),
    }
}

fn source_error_line(error: ConnectorError) -> CheckLine {
    let (detail, next_step) = match error {
        ConnectorError::Unauthorized(message) => (
            format!("credentials rejected: {message}"),
            "run `photosync check` without --user to see the token line",
        ),
        ConnectorError::Forbidden(message) => (
            format!("access denied: {message}"),
            "grant the permission the message names, with admin consent",
        ),
        ConnectorError::InvalidConfig(message) => (
            format!("invalid setting: {message}"),
            "fix the setting the message names",
        ),
        ConnectorError::Throttled(seconds) => (
            format!("Microsoft Graph throttled the request (retry after {seconds} s)"),
            "run the check again later; the nightly run retries throttled photos",
        ),
        ConnectorError::Transient(message) => (
            format!("temporary failure: {message}"),
            "run the check again later; the nightly run retries these",
        ),
        ConnectorError::Unavailable(message) => (
            format!("Microsoft Graph cannot return this user's photo: {message}"),
            "users without an Exchange Online mailbox or licence often have no readable photo; check the user's licence and mailbox in the Microsoft 365 admin center",
        ),
        ConnectorError::InvalidPhoto(message) => (
            format!("the photo in Microsoft 365 failed the checks: {message}"),
            "replace the photo in Microsoft 365 with a JPEG, PNG or GIF of at most 4 MB",
        ),
        ConnectorError::NotFound(message) => (
            format!("the user no longer exists in the directory: {message}"),
            "nothing to do: the next sync removes the user's synced photo",
        ),
    };
    CheckLine::fail(SOURCE_PHOTO, detail, next_step)
}

/// Reports the photo photosync stores for the user.
pub fn stored_photo_line(stored: Option<&StoredPhoto>) -> CheckLine {
    match stored {
        Some(photo) => {
            let source = match photo.source {
                PhotoSource::Synced => "synced",
                PhotoSource::Manual => "manually uploaded",
            };
            CheckLine::pass(
                STORED_PHOTO,
                format!(
                    "{source} photo, {} {} bytes, etag {}, updated {}",
                    photo.content_type,
                    photo.size,
                    photo.etag.as_deref().unwrap_or("(none)"),
                    photo.updated_at
                ),
            )
        }
        None => CheckLine::warn(
            STORED_PHOTO,
            "photosync stores no photo for this user",
            "a user in scope with a photo in Microsoft 365 gets it at the next sync",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::line::CheckStatus;
    use crate::diagnose::test_tenant;

    fn user(kind: UserKind, enabled: bool, scope: Scope) -> User {
        User {
            id: "u1".to_string(),
            principal_name: "adele@contoso.com".to_string(),
            mail: None,
            display_name: "Adele Vance".to_string(),
            enabled,
            kind,
            scope,
        }
    }

    #[test]
    fn disabled_user_points_to_setting() {
        let excluded = Scope::Excluded("disabled account".to_string());
        let line = scope_line(&user(UserKind::Member, false, excluded), &test_tenant(""));
        assert_eq!(line.status, CheckStatus::Fail);
        assert!(line.next_step.unwrap().contains("include_disabled = true"));
    }

    #[test]
    fn included_user_passes_scope() {
        let line = scope_line(
            &user(UserKind::Guest, true, Scope::Included),
            &test_tenant(""),
        );
        assert_eq!(line.status, CheckStatus::Pass);
    }

    #[test]
    fn absent_photo_fails_source_line() {
        let line = source_photo_line(Ok(Ok(PhotoOutcome::Absent)), None);
        assert_eq!(line.status, CheckStatus::Fail);
    }

    #[test]
    fn snapshot_guest_keeps_exclusion() {
        let row = DirectoryUser {
            user_id: "u2".to_string(),
            principal_name: "guest@contoso.com".to_string(),
            display_name: "Guest".to_string(),
            mail: None,
            enabled: true,
            kind: "guest".to_string(),
            excluded_reason: Some("guest account".to_string()),
            lock_message: None,
        };
        let user = user_from_snapshot(&row);
        assert_eq!(user.kind, UserKind::Guest);
        assert!(matches!(user.scope, Scope::Excluded(reason) if reason == "guest account"));
    }
}
