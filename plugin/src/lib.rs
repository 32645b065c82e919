//! photosync connector for Microsoft Entra ID: lists users and downloads their profile photos
//! through Microsoft Graph, with an app-only token from the client-credentials grant.
//!
//! This file holds only the WIT bindings and the export glue. Each export delegates to the
//! module that owns the concept, and every module keeps its HTTP-free logic in plain functions
//! that the native unit tests call. The whole crate also compiles for the host target, where
//! the generated import functions panic if called, so no test reaches `host::*` or HTTP.

mod check;
mod cloud;
mod graph;
mod origin;
mod photo;
mod policy;
mod settings;
mod token;
mod transport;
mod users;

wit_bindgen::generate!({
    path: "../wit",
    world: "plugin",
    additional_derives: [PartialEq, Eq],
});

use exports::photosync::connector::connector::Guest;
use photosync::connector::host;
use photosync::connector::types::{
    ConnectorError, ConnectorInfo, Decision, LocalPhoto, LogLevel, PhotoOutcome, User, UserPage,
};

/// The Entra ID connector; an instance serves many calls, and keeps only the token between them.
struct EntraConnector;

/// Reads a setting from the host; the signature the settings parsers take.
fn host_setting(name: &str) -> Option<String> {
    host::setting(name)
}

impl Guest for EntraConnector {
    fn describe() -> ConnectorInfo {
        settings::describe(&host_setting, env!("CARGO_PKG_VERSION"))
    }

    fn check() -> Result<(), ConnectorError> {
        let settings = settings::Settings::load(&host_setting)?;
        check::run(&settings)
    }

    fn list_users(cursor: Option<String>) -> Result<UserPage, ConnectorError> {
        let settings = settings::Settings::load(&host_setting)?;
        users::list(&settings, cursor.as_deref())
    }

    fn fetch_photo(user: User, known_etag: Option<String>) -> Result<PhotoOutcome, ConnectorError> {
        let settings = settings::Settings::load(&host_setting)?;
        photo::fetch(&settings, &user.id, known_etag.as_deref())
    }

    fn apply_policy(
        user: User,
        outcome: Option<Result<PhotoOutcome, ConnectorError>>,
        local: LocalPhoto,
    ) -> Decision {
        match settings::PolicySettings::load(&host_setting) {
            Ok(policy) => policy::decide(&user, outcome.as_ref(), &local, &policy),
            Err(error) => {
                host::log(
                    LogLevel::Error,
                    &format!(
                        "keeping the stored photo of user {}: {}",
                        user.id,
                        error_text(&error)
                    ),
                );
                policy::keep_on_invalid_settings()
            }
        }
    }
}

/// Formats a connector error for a log line: its kind, then its message.
fn error_text(error: &ConnectorError) -> String {
    match error {
        ConnectorError::Unauthorized(message) => format!("unauthorized: {message}"),
        ConnectorError::Forbidden(message) => format!("forbidden: {message}"),
        ConnectorError::InvalidConfig(message) => format!("invalid-config: {message}"),
        ConnectorError::Throttled(seconds) => format!("throttled: retry after {seconds} s"),
        ConnectorError::Transient(message) => format!("transient: {message}"),
        ConnectorError::Unavailable(message) => format!("unavailable: {message}"),
        ConnectorError::InvalidPhoto(message) => format!("invalid-photo: {message}"),
        ConnectorError::NotFound(message) => format!("not-found: {message}"),
    }
}

export!(EntraConnector);
