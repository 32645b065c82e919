//! Diagnostics behind `photosync check`: each check is a small function that returns a
//! [`CheckLine`], and a [`Checklist`] collects them for one tenant or one user.
//!
//! The checks call the connector through the runtime as a sync run does, read the store, and
//! change nothing: no photo, run record or directory snapshot is written.

mod aadsts;
mod connection;
mod history;
mod line;
mod setup;
mod unloaded;
mod user;

use anyhow::Result;
use time::OffsetDateTime;

pub use aadsts::{aadsts_code, token_problem, TokenProblem};
pub use connection::{READ_PHOTOS, READ_USERS, TOKEN};
pub use history::{LAST_RUN, LAST_SYNC};
pub use line::{CheckLine, CheckStatus, Checklist};
pub use setup::{ALLOWED_HOSTS, PLUGIN, SCHEDULE, SECRETS, SETTINGS};
pub use unloaded::{check_unloaded, CONFIGURATION};
pub use user::{SCOPE, SOURCE_PHOTO, STORED_PHOTO, USER};

use crate::config::TenantConfig;
use crate::runtime::Runtime;
use crate::schedule::plan_tenant;
use crate::store::Store;
use user::{FoundIn, LookupError};

/// Checks one tenant: plugin, secrets, schedule, allowed hosts, settings, the connector's
/// token and read permissions, and the last run. Fails only when the store cannot be read.
pub async fn check_tenant(
    runtime: &Runtime,
    store: &Store,
    tenant: &TenantConfig,
    max_offset: std::time::Duration,
) -> Result<Checklist> {
    let mut checklist = Checklist::new(&tenant.id, None);
    let (plugin_line, described) = setup::check_plugin(runtime, tenant).await;
    checklist.push(plugin_line);
    checklist.push(setup::check_secrets(tenant));
    let next_run = plan_tenant(store, tenant, max_offset, OffsetDateTime::now_utc())?.start_at;
    checklist.push(setup::check_schedule(tenant, next_run));

    match described {
        Some(mut plugin) => {
            let hosts = setup::check_allowed_hosts(tenant, &plugin.info);
            let settings = setup::check_settings(tenant, &plugin.info);
            let blocked = [&hosts, &settings]
                .iter()
                .find(|line| line.status == CheckStatus::Fail)
                .map(|line| line.name.clone());
            checklist.push(hosts);
            checklist.push(settings);
            match blocked {
                Some(name) => skip_connection(&mut checklist, &format!("the {name} check failed")),
                None => {
                    for line in connection::check_connection(&mut plugin.instance, tenant).await {
                        checklist.push(line);
                    }
                }
            }
        }
        None => {
            for name in [ALLOWED_HOSTS, SETTINGS] {
                checklist.push(CheckLine::skip(
                    name,
                    "not run because the plugin did not load",
                ));
            }
            skip_connection(&mut checklist, "the plugin did not load");
        }
    }
    checklist.push(history::check_last_run(store, &tenant.id)?);
    redact(&mut checklist, tenant);
    Ok(checklist)
}

/// Checks why one user's photo does or does not sync: the user in the directory, the scope,
/// the photo in the identity source, the stored photo and the user's last failure.
/// `id_or_name` is a directory id or a principal name.
pub async fn check_user(
    runtime: &Runtime,
    store: &Store,
    tenant: &TenantConfig,
    id_or_name: &str,
) -> Result<Checklist> {
    let mut checklist = Checklist::new(&tenant.id, Some(id_or_name));
    push_user_lines(&mut checklist, runtime, store, tenant, id_or_name).await?;
    redact(&mut checklist, tenant);
    Ok(checklist)
}

async fn push_user_lines(
    checklist: &mut Checklist,
    runtime: &Runtime,
    store: &Store,
    tenant: &TenantConfig,
    id_or_name: &str,
) -> Result<()> {
    let (plugin_line, described) = setup::check_plugin(runtime, tenant).await;
    checklist.push(plugin_line);
    let Some(mut plugin) = described else {
        skip_lines(checklist, &USER_LINES, "the plugin did not load");
        return Ok(());
    };

    // NOTE: a user found in the snapshot keeps the scope of the last complete run, so a scope
    // setting changed since then shows only after the next sync.
    let found = match store.directory_user(&tenant.id, id_or_name)? {
        Some(row) => Ok(Some((user::user_from_snapshot(&row), FoundIn::Snapshot))),
        None => user::find_in_listing(&mut plugin.instance, id_or_name)
            .await
            .map(|user| user.map(|user| (user, FoundIn::Listing))),
    };
    let (found_user, found_in) = match found {
        Ok(Some(found)) => found,
        Ok(None) => {
            checklist.push(CheckLine::fail(
                USER,
                format!("no user with id or principal name '{id_or_name}' in the directory of tenant '{}'", tenant.id),
                "check the spelling; use the user principal name (UPN) or the object id shown in the Entra admin center",
            ));
            skip_lines(checklist, &USER_LINES[1..], "the user was not found");
            return Ok(());
        }
        Err(error) => {
            checklist.push(lookup_failed(error, id_or_name, tenant));
            skip_lines(checklist, &USER_LINES[1..], "the user lookup failed");
            return Ok(());
        }
    };

    checklist.push(user::user_line(&found_user, found_in));
    checklist.push(user::scope_line(&found_user, tenant));
    let stored = store.photo(&tenant.id, &found_user.id)?;
    let known_etag = stored.as_ref().and_then(|photo| photo.etag.as_deref());
    let outcome = plugin.instance.fetch_photo(&found_user, known_etag).await;
    checklist.push(user::source_photo_line(outcome, stored.as_ref()));
    checklist.push(user::stored_photo_line(stored.as_ref()));
    let history = history::check_user_history(store, &tenant.id, &found_user.id)?;
    checklist.push(history);
    Ok(())
}

fn lookup_failed(error: LookupError, id_or_name: &str, tenant: &TenantConfig) -> CheckLine {
    let detail = match error {
        LookupError::Plugin(error) => error.to_string(),
        LookupError::Connector(error) => format!(
            "listing users of tenant '{}' to find '{id_or_name}' failed: {}",
            tenant.id,
            connection::error_text(&error)
        ),
        LookupError::TooManyPages => format!(
            "'{id_or_name}' is not in the last directory snapshot, and listing stopped before finding it because the tenant is large"
        ),
    };
    CheckLine::fail(
        USER,
        detail,
        format!("run `photosync check --tenant {}` without --user to check credentials and permissions, or run a sync so the directory snapshot contains the user", tenant.id),
    )
}

/// The lines of a user check after the plugin line, in order.
const USER_LINES: [&str; 5] = [USER, SCOPE, SOURCE_PHOTO, STORED_PHOTO, LAST_SYNC];

fn skip_connection(checklist: &mut Checklist, reason: &str) {
    skip_lines(checklist, &[TOKEN, READ_USERS, READ_PHOTOS], reason);
}

fn skip_lines(checklist: &mut Checklist, names: &[&str], reason: &str) {
    for name in names {
        checklist.push(CheckLine::skip(name, format!("not run because {reason}")));
    }
}

/// Removes every secret value of the tenant from the checklist's text.
fn redact(checklist: &mut Checklist, tenant: &TenantConfig) {
    for line in &mut checklist.lines {
        line.detail = tenant.settings.redact(&line.detail);
        if let Some(next_step) = &mut line.next_step {
            *next_step = tenant.settings.redact(next_step);
        }
    }
}

/// Builds a tenant from configuration text appended to a minimal tenant table, with an empty
/// plugin file, for the unit tests of the checks.
#[cfg(test)]
pub(crate) fn test_tenant(extra: &str) -> TenantConfig {
    let directory = tempfile::tempdir().unwrap();
    std::fs::write(directory.path().join("plugin.wasm"), b"\0asm").unwrap();
    let text = format!(
        r#"
        [[tenant]]
        id = "contoso"
        plugin = "plugin.wasm"
        allowed_hosts = ["https://login.microsoftonline.com", "https://graph.microsoft.com"]
        {extra}
        "#
    );
    let config = crate::config::Config::parse(&text, directory.path()).unwrap();
    config.tenants.into_iter().next().unwrap()
}
