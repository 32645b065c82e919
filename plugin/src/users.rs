//! Listing users: the first page URL, following `@odata.nextLink` cursors on the Graph origin
//! only, and turning Graph user objects into WIT users with their sync scope.

use serde::Deserialize;

use crate::graph::{self, Route};
use crate::origin::Origin;
use crate::photosync::connector::types::{ConnectorError, Scope, User, UserKind, UserPage};
use crate::settings::{ScopeSettings, Settings};

/// Users per page: Graph's maximum `$top` for `/users`.
pub(crate) const USERS_PAGE_SIZE: u32 = 999;

/// The user properties the connector reads.
const USER_FIELDS: &str = "id,userPrincipalName,mail,displayName,accountEnabled,userType";

/// Reason given for guests left out of the sync.
const GUEST_EXCLUDED: &str = "guest account; set include_guests = true to sync guests";

/// Reason given for disabled accounts left out of the sync.
const DISABLED_EXCLUDED: &str =
    "disabled account; set include_disabled = true to sync disabled accounts";

/// Lists one page: the first one without a cursor, otherwise the page the cursor names.
pub(crate) fn list(settings: &Settings, cursor: Option<&str>) -> Result<UserPage, ConnectorError> {
    let graph = &settings.endpoints.graph;
    let url = match cursor {
        None => first_page_url(graph),
        Some(cursor) => next_page_url(cursor, graph)?,
    };
    let page: GraphPage =
        graph::get_json(settings, &url).map_err(|failure| failure.into_error(Route::Users))?;
    into_user_page(page, settings.scope)
}

/// Returns the URL of the first page of users.
pub(crate) fn first_page_url(graph: &Origin) -> String {
    format!("{graph}/v1.0/users?$select={USER_FIELDS}&$top={USERS_PAGE_SIZE}")
}

/// Returns the cursor as the URL to request, exactly as given, after checking that it points to
/// the Graph origin: the request carries the token, which must never reach another host.
pub(crate) fn next_page_url(cursor: &str, graph: &Origin) -> Result<String, ConnectorError> {
    match Origin::of_url(cursor) {
        Some(origin) if origin == *graph => Ok(cursor.to_string()),
        Some(origin) => Err(ConnectorError::InvalidConfig(format!(
            "the user list cursor points to {origin}, not to the Graph origin {graph}; the \
             request was not sent, so the token stays with Graph. If Graph's nextLink uses \
             another host, set graph_host to that origin"
        ))),
        None => Err(ConnectorError::InvalidConfig(format!(
            "the user list cursor {:?} is not an absolute http(s) URL; pass the previous page's \
             next-cursor unchanged",
            crate::transport::without_query(cursor)
        ))),
    }
}

/// One page of `/users` as Graph returns it.
#[derive(Debug, Deserialize)]
pub(crate) struct GraphPage {
    value: Vec<GraphUser>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

/// A Graph user with the selected properties; Graph sends `null` for unset ones.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphUser {
    id: String,
    user_principal_name: Option<String>,
    mail: Option<String>,
    display_name: Option<String>,
    account_enabled: Option<bool>,
    user_type: Option<String>,
}

/// Converts a Graph page; a user without an id makes the page malformed.
pub(crate) fn into_user_page(
    page: GraphPage,
    scope: ScopeSettings,
) -> Result<UserPage, ConnectorError> {
    let mut users = Vec::with_capacity(page.value.len());
    for (index, graph_user) in page.value.into_iter().enumerate() {
        if graph_user.id.is_empty() {
            return Err(ConnectorError::Transient(format!(
                "Graph returned a malformed user page: user {index} has an empty id"
            )));
        }
        users.push(into_user(graph_user, scope));
    }
    Ok(UserPage {
        users,
        next_cursor: page.next_link,
    })
}

fn into_user(graph_user: GraphUser, scope: ScopeSettings) -> User {
    let is_guest = graph_user
        .user_type
        .as_deref()
        .is_some_and(|user_type| user_type.eq_ignore_ascii_case("guest"));
    let kind = if is_guest {
        UserKind::Guest
    } else {
        UserKind::Member
    };
    // Graph leaves accountEnabled null on some synced accounts; such accounts can sign in.
    let enabled = graph_user.account_enabled.unwrap_or(true);
    User {
        id: graph_user.id,
        principal_name: graph_user.user_principal_name.unwrap_or_default(),
        mail: graph_user.mail,
        display_name: graph_user.display_name.unwrap_or_default(),
        enabled,
        kind,
        scope: scope_of(kind, enabled, scope),
    }
}

/// Decides whether the scope settings include a user.
pub(crate) fn scope_of(kind: UserKind, enabled: bool, settings: ScopeSettings) -> Scope {
    if kind == UserKind::Guest && !settings.include_guests {
        return Scope::Excluded(GUEST_EXCLUDED.to_string());
    }
    if !enabled && !settings.include_disabled {
        return Scope::Excluded(DISABLED_EXCLUDED.to_string());
    }
    Scope::Included
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMBERS_ONLY: ScopeSettings = ScopeSettings {
        include_guests: false,
        include_disabled: false,
    };
    const EVERYONE: ScopeSettings = ScopeSettings {
        include_guests: true,
        include_disabled: true,
    };

    fn graph() -> Origin {
        Origin::parse("https://graph.microsoft.com").unwrap()
    }

    fn page(json: serde_json::Value, scope: ScopeSettings) -> Result<UserPage, ConnectorError> {
        let body = json.to_string();
        let parsed: GraphPage = graph::parse_json(body.as_bytes(), "/v1.0/users")?;
        into_user_page(parsed, scope)
    }

    fn one_user(user: serde_json::Value, scope: ScopeSettings) -> User {
        page(serde_json::json!({ "value": [user] }), scope)
            .unwrap()
            .users
            .remove(0)
    }

    #[test]
    fn first_page_selects_fields() {
        assert_eq!(
            first_page_url(&graph()),
            "https://graph.microsoft.com/v1.0/users?$select=id,userPrincipalName,mail,displayName,accountEnabled,userType&$top=999"
        );
    }

    #[test]
    fn cursor_followed_verbatim() {
        let cursor =
            "https://graph.microsoft.com/v1.0/users?$select=id&$top=999&$skiptoken=RFNwdAIAAQAAAD8";
        assert_eq!(next_page_url(cursor, &graph()).unwrap(), cursor);
    }

    #[test]
    fn foreign_cursor_rejected() {
        let error =
            next_page_url("https://blocked.invalid/v1.0/users?$skiptoken=x", &graph()).unwrap_err();
        let ConnectorError::InvalidConfig(message) = error else {
            panic!("expected invalid-config, got {error:?}");
        };
        assert!(message.contains("https://blocked.invalid"), "{message}");
    }

    #[test]
    fn cursor_with_other_scheme_rejected() {
        assert!(next_page_url("http://graph.microsoft.com/v1.0/users", &graph()).is_err());
    }

    #[test]
    fn cursor_with_user_info_rejected() {
        assert!(next_page_url(
            "https://graph.microsoft.com@blocked.invalid/v1.0/users",
            &graph()
        )
        .is_err());
    }

    #[test]
    fn relative_cursor_rejected() {
        assert!(next_page_url("/v1.0/users?$skiptoken=x", &graph()).is_err());
    }

    #[test]
    fn member_mapped() {
        let user = one_user(
            serde_json::json!({
                "id": "u1", "userPrincipalName": "adele@contoso.com", "mail": "adele@contoso.com",
                "displayName": "Adele Vance", "accountEnabled": true, "userType": "Member"
            }),
            MEMBERS_ONLY,
        );
        let expected = User {
            id: "u1".to_string(),
            principal_name: "adele@contoso.com".to_string(),
            mail: Some("adele@contoso.com".to_string()),
            display_name: "Adele Vance".to_string(),
            enabled: true,
            kind: UserKind::Member,
            scope: Scope::Included,
        };
        assert_eq!(user, expected);
    }

    #[test]
    fn nulls_tolerated() {
        let user = one_user(
            serde_json::json!({
                "id": "u2", "userPrincipalName": "room@contoso.com", "mail": null,
                "displayName": null, "accountEnabled": null, "userType": null
            }),
            MEMBERS_ONLY,
        );
        assert_eq!(user.mail, None);
        assert_eq!(user.display_name, "");
        assert!(user.enabled);
        assert_eq!(user.kind, UserKind::Member);
    }

    #[test]
    fn guest_excluded_by_default() {
        let user = one_user(
            serde_json::json!({"id": "g", "userType": "Guest", "accountEnabled": true}),
            MEMBERS_ONLY,
        );
        assert_eq!(user.kind, UserKind::Guest);
        assert_eq!(user.scope, Scope::Excluded(GUEST_EXCLUDED.to_string()));
    }

    #[test]
    fn guest_type_ignores_case() {
        let user = one_user(
            serde_json::json!({"id": "g", "userType": "guest"}),
            MEMBERS_ONLY,
        );
        assert_eq!(user.kind, UserKind::Guest);
    }

    #[test]
    fn guest_included_when_enabled() {
        let user = one_user(
            serde_json::json!({"id": "g", "userType": "Guest"}),
            EVERYONE,
        );
        assert_eq!(user.scope, Scope::Included);
    }

    #[test]
    fn disabled_excluded_by_default() {
        let user = one_user(
            serde_json::json!({"id": "d", "accountEnabled": false}),
            MEMBERS_ONLY,
        );
        assert!(!user.enabled);
        assert_eq!(user.scope, Scope::Excluded(DISABLED_EXCLUDED.to_string()));
    }

    #[test]
    fn disabled_guest_needs_both_settings() {
        let settings = ScopeSettings {
            include_guests: true,
            include_disabled: false,
        };
        assert_eq!(
            scope_of(UserKind::Guest, false, settings),
            Scope::Excluded(DISABLED_EXCLUDED.to_string())
        );
    }

    #[test]
    fn next_link_becomes_cursor() {
        let link = "https://graph.microsoft.com/v1.0/users?$skiptoken=abc";
        let parsed = page(
            serde_json::json!({"value": [], "@odata.nextLink": link}),
            MEMBERS_ONLY,
        )
        .unwrap();
        assert_eq!(parsed.next_cursor.as_deref(), Some(link));
    }

    #[test]
    fn empty_page_with_link_kept() {
        let link = "https://graph.microsoft.com/v1.0/users?$skiptoken=abc";
        let parsed = page(
            serde_json::json!({"value": [], "@odata.nextLink": link}),
            MEMBERS_ONLY,
        )
        .unwrap();
        assert!(parsed.users.is_empty());
    }

    #[test]
    fn last_page_has_no_cursor() {
        let parsed = page(serde_json::json!({"value": [{"id": "u"}]}), MEMBERS_ONLY).unwrap();
        assert_eq!(parsed.next_cursor, None);
    }

    #[test]
    fn missing_value_transient() {
        let error = page(serde_json::json!({"@odata.context": "x"}), MEMBERS_ONLY).unwrap_err();
        let ConnectorError::Transient(message) = error else {
            panic!("expected transient, got {error:?}");
        };
        assert!(message.contains("value"), "{message}");
    }

    #[test]
    fn user_without_id_transient() {
        let error = page(
            serde_json::json!({"value": [{"displayName": "x"}]}),
            MEMBERS_ONLY,
        )
        .unwrap_err();
        assert!(matches!(error, ConnectorError::Transient(_)), "{error:?}");
    }

    #[test]
    fn empty_id_transient() {
        let error = page(serde_json::json!({"value": [{"id": ""}]}), MEMBERS_ONLY).unwrap_err();
        assert!(matches!(error, ConnectorError::Transient(_)), "{error:?}");
    }
}
