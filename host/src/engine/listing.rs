//! The listing phase: `list-users` page by page until the connector returns no cursor.

use super::report::{failure_kind, failure_message, RunError};
use super::retry::delay_for;
use crate::runtime::{ConnectorError, PluginInstance, User};

/// Lists every user, retrying a throttled or transient page within `retries`. Any other error
/// ends the run, because removals are only safe after a complete listing.
pub async fn list_all_users(
    instance: &mut PluginInstance,
    tenant: &str,
    retries: u32,
    mut on_page: impl FnMut(usize),
) -> Result<(Vec<User>, u64), RunError> {
    let plugin = instance.label();
    let mut users = Vec::new();
    let mut cursor: Option<String> = None;
    let mut retried = 0;
    let mut pages = 0;
    loop {
        let mut attempt = 0;
        let page = loop {
            match instance.list_users(cursor.as_deref()).await? {
                Ok(page) => break page,
                Err(error) => {
                    if let Some(fatal) = RunError::from_connector(&error, &plugin, tenant) {
                        return Err(fatal);
                    }
                    let retry_after = match &error {
                        ConnectorError::Throttled(seconds) => Some(*seconds),
                        ConnectorError::Transient(_) => None,
                        _ => return Err(listing_error(&error, &plugin, tenant, pages)),
                    };
                    if attempt >= retries {
                        return Err(listing_error(&error, &plugin, tenant, pages));
                    }
                    let delay = delay_for(attempt, retry_after);
                    tracing::info!(
                        tenant,
                        page = pages,
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        "retrying user listing"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                    retried += 1;
                }
            }
        };
        pages += 1;
        users.extend(page.users);
        on_page(users.len());
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    tracing::info!(tenant, users = users.len(), pages, "listed users");
    Ok((users, retried))
}

fn listing_error(error: &ConnectorError, plugin: &str, tenant: &str, pages: usize) -> RunError {
    RunError::new(
        "listing_failed",
        format!(
            "plugin {plugin} of tenant '{tenant}': listing users failed after {pages} complete pages ({}): {}; nothing was changed, the next run starts the listing again",
            failure_kind(error),
            failure_message(error)
        ),
    )
}
