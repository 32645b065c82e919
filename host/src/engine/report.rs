//! Run results: the report returned to the caller and the error that ends a run early.

use std::time::Duration;

use serde::Serialize;

use crate::runtime::{ConnectorError, PluginError};
use crate::store::{RunCounts, RunFailure, RunStatus};

/// The reason a run failed. A failed run changes nothing in the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunError {
    /// Stable kind, such as `unauthorized`, `forbidden` or `memory_limit`.
    pub kind: String,
    pub message: String,
}

impl RunError {
    pub fn new(kind: &str, message: impl Into<String>) -> RunError {
        RunError {
            kind: kind.to_string(),
            message: message.into(),
        }
    }

    /// Builds the run error for a connector error that ends the run, or none for per-user ones.
    pub fn from_connector(error: &ConnectorError, plugin: &str, tenant: &str) -> Option<RunError> {
        let (kind, message) = match error {
            ConnectorError::Unauthorized(message) => ("unauthorized", message),
            ConnectorError::Forbidden(message) => ("forbidden", message),
            ConnectorError::InvalidConfig(message) => ("invalid_config", message),
            _ => return None,
        };
        Some(RunError::new(
            kind,
            format!("plugin {plugin} of tenant '{tenant}': {message}"),
        ))
    }
}

impl From<PluginError> for RunError {
    fn from(error: PluginError) -> RunError {
        RunError::new(error.kind(), error.to_string())
    }
}

/// The result of one tenant's run.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub run_id: i64,
    pub tenant: String,
    pub status: RunStatus,
    pub dry_run: bool,
    /// `name version` of the connector, once it was described.
    pub plugin: Option<String>,
    pub counts: RunCounts,
    pub failures: Vec<RunFailure>,
    pub error: Option<RunError>,
    #[serde(serialize_with = "serialize_seconds", rename = "duration_seconds")]
    pub duration: Duration,
}

fn serialize_seconds<S: serde::Serializer>(
    duration: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64())
}

/// Returns the stable kind of a per-user connector error, as stored in run failures.
pub fn failure_kind(error: &ConnectorError) -> &'static str {
    match error {
        ConnectorError::Unauthorized(_) => "unauthorized",
        ConnectorError::Forbidden(_) => "forbidden",
        ConnectorError::InvalidConfig(_) => "invalid_config",
        ConnectorError::Throttled(_) => "throttled",
        ConnectorError::Transient(_) => "transient",
        ConnectorError::Unavailable(_) => "unavailable",
        ConnectorError::InvalidPhoto(_) => "invalid_photo",
        ConnectorError::NotFound(_) => "not_found",
    }
}

/// Returns the message of a per-user connector error.
pub fn failure_message(error: &ConnectorError) -> String {
    match error {
        ConnectorError::Throttled(seconds) => format!(
            "still throttled after the allowed retries (last Retry-After: {seconds} s); the photo is retried next run"
        ),
        ConnectorError::Unauthorized(message)
        | ConnectorError::Forbidden(message)
        | ConnectorError::InvalidConfig(message)
        | ConnectorError::Transient(message)
        | ConnectorError::Unavailable(message)
        | ConnectorError::InvalidPhoto(message)
        | ConnectorError::NotFound(message) => message.clone(),
    }
}
