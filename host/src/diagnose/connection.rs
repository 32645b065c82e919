//! The connector's own check (`check()` in the contract): a token, one page of users and one
//! photo's metadata, turned into one line per step.
//!
//! `check()` returns only the first failing step's error, so the step is identified by the error
//! kind, which the contract defines: `unauthorized` means the credentials were rejected, and
//! `forbidden` names the missing permission. Steps after the failing one are skipped.

use super::aadsts::token_problem;
use super::line::CheckLine;
use crate::config::TenantConfig;
use crate::runtime::{ConnectorError, PluginError, PluginInstance};

/// Check names, shared by the checks and the tests that look lines up.
pub const TOKEN: &str = "token";
pub const READ_USERS: &str = "read users";
pub const READ_PHOTOS: &str = "read photo metadata";

/// Microsoft Graph application permissions the two read steps need.
const USERS_PERMISSION: &str = "User.Read.All";
const PHOTOS_PERMISSION: &str = "ProfilePhoto.Read.All";

/// Calls the connector's `check` and returns the lines for token, users and photo metadata.
pub async fn check_connection(
    instance: &mut PluginInstance,
    tenant: &TenantConfig,
) -> Vec<CheckLine> {
    let result = instance.check().await;
    connection_lines(result, tenant)
}

// NOTE: the connector's `check` also succeeds, with a logged warning, when the tenant lists no
// users or when the photo step gets a per-user error that reveals nothing about permissions.
// The photo line then passes although no photo metadata was read.

fn connection_lines(
    result: Result<Result<(), ConnectorError>, PluginError>,
    tenant: &TenantConfig,
) -> Vec<CheckLine> {
    let token_passed = || {
        CheckLine::pass(
            TOKEN,
            format!(
                "acquired an app-only token for client {} in tenant {}",
                setting(tenant, "client_id"),
                setting(tenant, "tenant_id")
            ),
        )
    };
    let users_passed = || {
        CheckLine::pass(
            READ_USERS,
            format!(
                "read one page of users, so the app has {USERS_PERMISSION} or a broader permission"
            ),
        )
    };
    let skipped = |name: &str, after: &str| {
        CheckLine::skip(name, format!("not run because the {after} step failed"))
    };

    let error = match result {
        Ok(Ok(())) => {
            return vec![
                token_passed(),
                users_passed(),
                CheckLine::pass(
                    READ_PHOTOS,
                    format!("read one user's photo metadata, so the app has {PHOTOS_PERMISSION} or a broader permission"),
                ),
            ]
        }
        Ok(Err(error)) => error,
        Err(error) => {
            return vec![
                CheckLine::fail(TOKEN, error.to_string(), plugin_next_step(&error)),
                skipped(READ_USERS, TOKEN),
                skipped(READ_PHOTOS, TOKEN),
            ]
        }
    };

    match error {
        ConnectorError::Unauthorized(message) => vec![
            token_failed(&message, tenant),
            skipped(READ_USERS, TOKEN),
            skipped(READ_PHOTOS, TOKEN),
        ],
        ConnectorError::Forbidden(message) if message.contains(PHOTOS_PERMISSION) => vec![
            token_passed(),
            users_passed(),
            CheckLine::fail(
                READ_PHOTOS,
                format!("permission missing: {message}"),
                consent_step(PHOTOS_PERMISSION),
            ),
        ],
        ConnectorError::Forbidden(message) => vec![
            token_passed(),
            CheckLine::fail(
                READ_USERS,
                format!("permission missing: {message}"),
                consent_step(USERS_PERMISSION),
            ),
            skipped(READ_PHOTOS, READ_USERS),
        ],
        // A token request rejected with 400 arrives as `invalid-config`; its AADSTS code still
        // names the setup mistake.
        ConnectorError::InvalidConfig(message) if token_problem(&message).is_some() => vec![
            token_failed(&message, tenant),
            skipped(READ_USERS, TOKEN),
            skipped(READ_PHOTOS, TOKEN),
        ],
        ConnectorError::InvalidConfig(message) => vec![
            CheckLine::fail(
                TOKEN,
                format!("the connector rejected a setting of tenant '{}': {message}", tenant.id),
                "fix the setting the message names in [tenant.settings], then run `photosync check` again",
            ),
            skipped(READ_USERS, TOKEN),
            skipped(READ_PHOTOS, TOKEN),
        ],
        other => vec![
            CheckLine::fail(
                TOKEN,
                format!("the check could not finish: {}", error_text(&other)),
                "Microsoft Graph or the identity platform did not answer normally; run `photosync check` again in a few minutes",
            ),
            skipped(READ_USERS, TOKEN),
            skipped(READ_PHOTOS, TOKEN),
        ],
    }
}

fn token_failed(message: &str, tenant: &TenantConfig) -> CheckLine {
    match token_problem(message) {
        Some(problem) => CheckLine::fail(
            TOKEN,
            format!("{} (AADSTS{}) for tenant '{}': {message}", problem.summary, problem.code, tenant.id),
            problem.next_step,
        ),
        None => CheckLine::fail(
            TOKEN,
            format!("credentials rejected for tenant '{}': {message}", tenant.id),
            "check settings.tenant_id, settings.client_id and settings.client_secret against the app registration's Overview and Certificates & secrets pages",
        ),
    }
}

fn consent_step(permission: &str) -> String {
    format!(
        "in the app registration, open API permissions, add the Microsoft Graph application permission {permission} (not a delegated one), then select Grant admin consent"
    )
}

fn plugin_next_step(error: &PluginError) -> &'static str {
    match error {
        PluginError::HostDenied { .. } => {
            "add the denied host to allowed_hosts as the message says"
        }
        PluginError::MemoryLimit { .. } => "raise limits.memory_mib",
        PluginError::CpuTimeLimit { .. } => "raise limits.call_cpu_seconds",
        PluginError::ResponseTooLarge { .. } => "raise limits.max_response_mib if the connector needs larger responses",
        PluginError::Tls { .. } => "set tls_ca_file of the tenant to the PEM file of the authority that signed the server's certificate",
        PluginError::WallTimeLimit { .. } => {
            "check that the login and Graph hosts are reachable, or raise limits.call_wall_seconds"
        }
        PluginError::Trap { .. } | PluginError::Instantiate { .. } => {
            "the plugin crashed; rebuild it or use a released build"
        }
    }
}

/// Formats a connector error as its kind, then its message.
pub(super) fn error_text(error: &ConnectorError) -> String {
    match error {
        ConnectorError::Throttled(seconds) => format!("throttled, retry after {seconds} s"),
        ConnectorError::Transient(message) => format!("transient: {message}"),
        ConnectorError::Unavailable(message) => format!("unavailable: {message}"),
        ConnectorError::InvalidPhoto(message) => format!("invalid photo: {message}"),
        ConnectorError::NotFound(message) => format!("not found: {message}"),
        ConnectorError::Unauthorized(message) => format!("unauthorized: {message}"),
        ConnectorError::Forbidden(message) => format!("forbidden: {message}"),
        ConnectorError::InvalidConfig(message) => format!("invalid config: {message}"),
    }
}

fn setting<'a>(tenant: &'a TenantConfig, name: &str) -> &'a str {
    tenant.settings.get(name).unwrap_or("(unset)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::line::CheckStatus;
    use crate::diagnose::test_tenant;

    fn lines_for(error: ConnectorError) -> Vec<CheckLine> {
        connection_lines(Ok(Err(error)), &test_tenant(""))
    }

    #[test]
    fn passing_check_passes_three_lines() {
        let lines = connection_lines(Ok(Ok(())), &test_tenant(""));
        assert!(lines.iter().all(|line| line.status == CheckStatus::Pass));
    }

    #[test]
    fn photo_permission_fails_photo_line() {
        let lines = lines_for(ConnectorError::Forbidden(
            "HTTP 403; add ProfilePhoto.Read.All".to_string(),
        ));
        assert_eq!(lines[1].status, CheckStatus::Pass);
        assert_eq!(lines[2].status, CheckStatus::Fail);
    }

    #[test]
    fn user_permission_fails_users_line() {
        let lines = lines_for(ConnectorError::Forbidden(
            "HTTP 403; add User.Read.All".to_string(),
        ));
        assert_eq!(lines[1].status, CheckStatus::Fail);
        assert_eq!(lines[2].status, CheckStatus::Skip);
    }

    #[test]
    fn consent_code_named_in_plain_words() {
        let lines = lines_for(ConnectorError::InvalidConfig(
            "the token request failed with HTTP 400 invalid_grant (AADSTS65001): consent"
                .to_string(),
        ));
        assert_eq!(lines[0].status, CheckStatus::Fail);
        assert!(lines[0]
            .detail
            .starts_with("missing admin consent (AADSTS65001)"));
    }

    #[test]
    fn unknown_code_keeps_message() {
        let lines = lines_for(ConnectorError::Unauthorized(
            "HTTP 401 (AADSTS50000)".to_string(),
        ));
        assert!(lines[0].detail.contains("AADSTS50000"));
    }

    #[test]
    fn transient_error_fails_token_line() {
        let lines = lines_for(ConnectorError::Transient("HTTP 503".to_string()));
        assert_eq!(lines[0].status, CheckStatus::Fail);
        assert!(lines[0].detail.contains("could not finish"));
    }
}
