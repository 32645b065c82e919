//! The connection check behind `check()`: a token, one user from the list (`User.Read.All`)
//! and that user's photo metadata (`ProfilePhoto.Read.All`).
//!
//! The photo step proves the permission, not the photo: "no photo" passes, and so do the
//! per-user errors (`unavailable`, `not-found`) that reveal nothing about permissions. Those
//! are logged as a warning.

use serde::Deserialize;

use crate::graph::{self, Failure, Route};
use crate::origin::Origin;
use crate::photo;
use crate::photosync::connector::host;
use crate::photosync::connector::types::{ConnectorError, LogLevel};
use crate::settings::Settings;
use crate::token;

/// One page of `/users` with only ids.
#[derive(Debug, Deserialize)]
struct IdPage {
    value: Vec<IdOnly>,
}

#[derive(Debug, Deserialize)]
struct IdOnly {
    id: String,
}

/// Runs the check; the first failing step's error is returned.
pub(crate) fn run(settings: &Settings) -> Result<(), ConnectorError> {
    token::bearer(settings)?;

    let page: IdPage = graph::get_json(settings, &probe_url(&settings.endpoints.graph))
        .map_err(|failure| failure.into_error(Route::Users))?;
    let Some(user_id) = page
        .value
        .into_iter()
        .map(|user| user.id)
        .find(|id| !id.is_empty())
    else {
        host::log(
            LogLevel::Warn,
            "check: the tenant lists no users, so the photo permission (ProfilePhoto.Read.All) was not checked",
        );
        return Ok(());
    };

    let route = Route::Photo { user_id: &user_id };
    let metadata_url = photo::metadata_url(&settings.endpoints.graph, &user_id);
    match graph::get_json::<serde_json::Value>(settings, &metadata_url) {
        Ok(_) => Ok(()),
        Err(Failure::Status(status)) if status.is_photo_absent() => Ok(()),
        Err(failure) => match failure.into_error(route) {
            ConnectorError::Unavailable(message) | ConnectorError::NotFound(message) => {
                host::log(
                    LogLevel::Warn,
                    &format!("check: the photo permission could not be confirmed: {message}"),
                );
                Ok(())
            }
            error => Err(error),
        },
    }
}

/// Returns the smallest user list request: one user, id only.
fn probe_url(graph: &Origin) -> String {
    format!("{graph}/v1.0/users?$top=1&$select=id")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_reads_one_id() {
        let graph = Origin::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            probe_url(&graph),
            "http://127.0.0.1:8080/v1.0/users?$top=1&$select=id"
        );
    }

    #[test]
    fn id_page_parsed() {
        let page: IdPage = graph::parse_json(br#"{"value":[{"id":"u1"}]}"#, "probe").unwrap();
        assert_eq!(page.value[0].id, "u1");
    }
}
