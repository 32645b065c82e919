//! `GET /v1.0/users`: the directory, listed page by page with `@odata.nextLink`.
//!
//! Supports `$select` over the six properties below, `$top` and `$skiptoken`. Other `$` query
//! options such as `$filter` are rejected with 400, so a client that relies on one notices.
//! The skiptoken is the base64url encoding of the next offset and page index. Removing users
//! during a listing shifts the offsets, so a user can be skipped, as with any offset cursor.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Map, Value};

use crate::auth::authorize;
use crate::fixture::{FixtureUser, UserType};
use crate::graph_error::graph_error;
use crate::state::SimState;

/// Graph's page size for users when `$top` is absent.
const DEFAULT_TOP: usize = 100;
/// Graph's maximum `$top` for users.
const MAX_TOP: usize = 999;
/// Version prefix of the skiptoken's decoded text.
const CURSOR_PREFIX: &str = "v1";

/// The user properties this simulator serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Property {
    Id,
    UserPrincipalName,
    Mail,
    DisplayName,
    AccountEnabled,
    UserType,
}

const ALL_PROPERTIES: [Property; 6] = [
    Property::Id,
    Property::UserPrincipalName,
    Property::Mail,
    Property::DisplayName,
    Property::AccountEnabled,
    Property::UserType,
];

impl Property {
    fn name(self) -> &'static str {
        match self {
            Property::Id => "id",
            Property::UserPrincipalName => "userPrincipalName",
            Property::Mail => "mail",
            Property::DisplayName => "displayName",
            Property::AccountEnabled => "accountEnabled",
            Property::UserType => "userType",
        }
    }

    /// Parses a `$select` entry. Graph matches property names case-insensitively.
    fn parse(name: &str) -> Option<Property> {
        ALL_PROPERTIES
            .into_iter()
            .find(|property| property.name().eq_ignore_ascii_case(name.trim()))
    }

    fn value(self, user: &FixtureUser) -> Value {
        match self {
            Property::Id => json!(user.id),
            Property::UserPrincipalName => json!(user.user_principal_name),
            Property::Mail => json!(user.mail),
            Property::DisplayName => json!(user.display_name),
            Property::AccountEnabled => json!(user.account_enabled),
            Property::UserType => match user.user_type {
                Some(UserType::Member) => json!("Member"),
                Some(UserType::Guest) => json!("Guest"),
                None => Value::Null,
            },
        }
    }
}

/// Position in a listing, carried in `$skiptoken`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Cursor {
    /// Index of the next user to list.
    offset: usize,
    /// Zero-based index of the next page with users, for the empty-page fault.
    page: usize,
    /// Whether the empty page before `page` was already returned.
    empty_page_returned: bool,
}

impl Cursor {
    fn encode(self) -> String {
        let text = format!(
            "{CURSOR_PREFIX}:{}:{}:{}",
            self.offset, self.page, self.empty_page_returned as u8
        );
        URL_SAFE_NO_PAD.encode(text)
    }

    fn decode(token: &str) -> Option<Cursor> {
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let mut parts = text.split(':');
        if parts.next()? != CURSOR_PREFIX {
            return None;
        }
        let offset = parts.next()?.parse().ok()?;
        let page = parts.next()?.parse().ok()?;
        let empty_page_returned = match parts.next()? {
            "0" => false,
            "1" => true,
            _ => return None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Cursor {
            offset,
            page,
            empty_page_returned,
        })
    }
}

/// The validated query options of one request.
#[derive(Debug, Default)]
struct ListQuery {
    select: Option<Vec<Property>>,
    top: Option<usize>,
    cursor: Cursor,
}

/// A rejected query: Graph error code and message.
struct QueryError(&'static str, String);

fn parse_query(params: &[(String, String)]) -> Result<ListQuery, QueryError> {
    let mut query = ListQuery::default();
    for (name, value) in params {
        match name.as_str() {
            "$select" => query.select = Some(parse_select(value)?),
            "$top" => query.top = Some(parse_top(value)?),
            "$skiptoken" => {
                query.cursor = Cursor::decode(value).ok_or_else(|| {
                    QueryError(
                        "Request_BadRequest",
                        format!(
                            "Invalid $skiptoken value '{value}'. Follow @odata.nextLink exactly \
                             as returned."
                        ),
                    )
                })?;
            }
            other if other.starts_with('$') => {
                return Err(QueryError(
                    "Request_UnsupportedQuery",
                    format!(
                        "The query option '{other}' is not supported by graph-sim, which \
                         supports $select, $top and $skiptoken on users."
                    ),
                ));
            }
            // Graph ignores query parameters that are not OData options.
            _ => {}
        }
    }
    Ok(query)
}

fn parse_select(value: &str) -> Result<Vec<Property>, QueryError> {
    value
        .split(',')
        .map(|name| {
            Property::parse(name).ok_or_else(|| {
                let known: Vec<&str> = ALL_PROPERTIES.iter().map(|p| p.name()).collect();
                QueryError(
                    "Request_BadRequest",
                    format!(
                        "Could not find a property named '{}' on type 'microsoft.graph.user'. \
                         graph-sim serves {}.",
                        name.trim(),
                        known.join(", ")
                    ),
                )
            })
        })
        .collect()
}

fn parse_top(value: &str) -> Result<usize, QueryError> {
    match value.parse::<usize>() {
        Ok(top) if (1..=MAX_TOP).contains(&top) => Ok(top),
        _ => Err(QueryError(
            "Request_BadRequest",
            format!(
                "Invalid page size specified: '{value}'. Must be between 1 and {MAX_TOP} \
                 inclusive."
            ),
        )),
    }
}

/// Handles `GET /v1.0/users`.
pub(crate) async fn list_users(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    state.delay().await;
    if let Err(response) = authorize(&state, &headers) {
        return *response;
    }
    let query = match parse_query(&params) {
        Ok(query) => query,
        Err(QueryError(code, message)) => {
            return graph_error(StatusCode::BAD_REQUEST, code, &message, &headers);
        }
    };

    let mut inner = state.lock();
    if inner.faults.forbid_users {
        drop(inner);
        return graph_error(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
            &headers,
        );
    }

    let page_size = query
        .top
        .unwrap_or(DEFAULT_TOP)
        .min(state.page_size)
        .min(MAX_TOP);
    let properties = query
        .select
        .clone()
        .unwrap_or_else(|| ALL_PROPERTIES.to_vec());
    let cursor = query.cursor;
    let start = cursor.offset.min(inner.order.len());
    let empty_page_due =
        inner.faults.empty_pages_at.contains(&cursor.page) && !cursor.empty_page_returned;

    let (users, next) = if empty_page_due {
        let next = Cursor {
            empty_page_returned: true,
            ..cursor
        };
        (Vec::new(), Some(next))
    } else {
        let end = (start + page_size).min(inner.order.len());
        let users: Vec<Value> = inner.order[start..end]
            .iter()
            .map(|id| user_json(&inner.users[id].user, &properties))
            .collect();
        let next = (end < inner.order.len()).then_some(Cursor {
            offset: end,
            page: cursor.page + 1,
            empty_page_returned: false,
        });
        (users, next)
    };
    inner.counters.user_pages += 1;
    drop(inner);

    let mut body = Map::new();
    body.insert(
        "@odata.context".to_string(),
        json!(context_url(&state.base_url, query.select.as_deref())),
    );
    body.insert("value".to_string(), Value::Array(users));
    if let Some(next) = next {
        body.insert(
            "@odata.nextLink".to_string(),
            json!(next_link(&state.base_url, &query, next)),
        );
    }
    Json(Value::Object(body)).into_response()
}

fn user_json(user: &FixtureUser, properties: &[Property]) -> Value {
    let object: Map<String, Value> = properties
        .iter()
        .map(|property| (property.name().to_string(), property.value(user)))
        .collect();
    Value::Object(object)
}

fn select_list(properties: &[Property]) -> String {
    let names: Vec<&str> = properties.iter().map(|p| p.name()).collect();
    names.join(",")
}

fn context_url(base_url: &str, select: Option<&[Property]>) -> String {
    match select {
        Some(properties) => format!(
            "{base_url}/v1.0/$metadata#users({})",
            select_list(properties)
        ),
        None => format!("{base_url}/v1.0/$metadata#users"),
    }
}

/// Builds the next page's URL with the request's `$select` and `$top`. Property names and
/// base64url text need no percent-encoding.
fn next_link(base_url: &str, query: &ListQuery, next: Cursor) -> String {
    let mut options = Vec::new();
    if let Some(select) = &query.select {
        options.push(format!("$select={}", select_list(select)));
    }
    if let Some(top) = query.top {
        options.push(format!("$top={top}"));
    }
    options.push(format!("$skiptoken={}", next.encode()));
    format!("{base_url}/v1.0/users?{}", options.join("&"))
}

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;

    use super::*;
    use crate::faults::Faults;
    use crate::fixture::Fixture;
    use crate::server::GraphSim;
    use crate::test_support::{client, error_code, get_json, small_fixture, start_small, token};

    /// Builds the small tenant plus two users with a null `userType`: seven users, three per
    /// page.
    fn seven_users() -> Fixture {
        let mut fixture = small_fixture();
        fixture.page_size = 3;
        for (id, name) in [("u-6", "Fatima"), ("u-7", "Grady")] {
            let mut user =
                FixtureUser::new(id, &format!("{}@contoso.com", name.to_lowercase()), name);
            user.user_type = None;
            fixture.users.push(user);
        }
        fixture
    }

    /// Follows nextLinks from `first` and returns every page body.
    async fn all_pages(sim: &GraphSim, first: &str) -> Vec<Value> {
        let client = client();
        let token = token(&client, sim).await;
        let mut pages = Vec::new();
        let mut url = Some(first.to_string());
        while let Some(next) = url {
            let (status, _, body) = get_json(&client, sim, &next, &token).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            url = body["@odata.nextLink"].as_str().map(str::to_string);
            pages.push(body);
            assert!(pages.len() < 20, "nextLinks do not end");
        }
        pages
    }

    fn page_ids(page: &Value) -> Vec<String> {
        page["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|user| user["id"].as_str().unwrap().to_string())
            .collect()
    }

    #[tokio::test]
    async fn paging_with_empty_page() {
        let sim = GraphSim::start(seven_users()).await.unwrap();
        sim.set_faults(Faults {
            empty_pages_at: vec![1],
            ..Faults::default()
        });
        let pages = all_pages(&sim, "/v1.0/users?$select=id,displayName&$top=999").await;

        let sizes: Vec<usize> = pages.iter().map(|page| page_ids(page).len()).collect();
        assert_eq!(sizes, [3, 0, 3, 1]);
        let ids: Vec<String> = pages.iter().flat_map(page_ids).collect();
        let expected: Vec<String> = seven_users().users.into_iter().map(|u| u.id).collect();
        assert_eq!(ids, expected);
        assert!(
            pages[1]["@odata.nextLink"].is_string(),
            "an empty page links on"
        );
        assert!(pages[3].get("@odata.nextLink").is_none());
        assert_eq!(sim.counters().user_pages, 4);
    }

    #[tokio::test]
    async fn next_link_keeps_select_and_top() {
        let sim = GraphSim::start(seven_users()).await.unwrap();
        let pages = all_pages(&sim, "/v1.0/users?$select=id,mail&$top=2").await;

        assert_eq!(pages.len(), 4);
        let link = pages[0]["@odata.nextLink"].as_str().unwrap();
        let prefix = format!(
            "{}/v1.0/users?$select=id,mail&$top=2&$skiptoken=",
            sim.base_url()
        );
        assert!(link.starts_with(&prefix), "{link}");
    }

    #[tokio::test]
    async fn empty_page_first() {
        let sim = GraphSim::start(seven_users()).await.unwrap();
        sim.set_faults(Faults {
            empty_pages_at: vec![0, 2],
            ..Faults::default()
        });
        let pages = all_pages(&sim, "/v1.0/users").await;
        let sizes: Vec<usize> = pages.iter().map(|page| page_ids(page).len()).collect();
        assert_eq!(sizes, [0, 3, 3, 0, 1]);
    }

    #[tokio::test]
    async fn select_limits_properties() {
        let sim = start_small().await;
        let pages = all_pages(&sim, "/v1.0/users?$select=id,displayName").await;
        let page = &pages[0];

        let context = format!("{}/v1.0/$metadata#users(id,displayName)", sim.base_url());
        assert_eq!(page["@odata.context"], context.as_str());
        let first = page["value"][0].as_object().unwrap();
        let mut keys: Vec<&str> = first.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["displayName", "id"]);
    }

    #[tokio::test]
    async fn no_select_returns_six_properties() {
        let sim = GraphSim::start(seven_users()).await.unwrap();
        let pages = all_pages(&sim, "/v1.0/users").await;
        let first = &pages[0]["value"][0];

        assert_eq!(first.as_object().unwrap().len(), 6);
        assert_eq!(first["userPrincipalName"], "adele@contoso.com");
        assert_eq!(first["mail"], "adele@contoso.com");
        assert_eq!(first["displayName"], "Adele Vance");
        assert_eq!(first["accountEnabled"], true);
        assert_eq!(first["userType"], "Member");
        assert_eq!(pages[0]["value"][2]["id"], "u-none");
        assert_eq!(
            pages[1]["value"][0]["mail"],
            Value::Null,
            "u-nomailbox has no mail"
        );
        assert_eq!(pages[2]["value"][0]["userType"], Value::Null);
    }

    #[tokio::test]
    async fn default_top_is_100() {
        let mut fixture = small_fixture();
        for index in 0..150 {
            let id = format!("extra-{index}");
            fixture
                .users
                .push(FixtureUser::new(&id, &format!("{id}@contoso.com"), &id));
        }
        let sim = GraphSim::start(fixture).await.unwrap();
        let pages = all_pages(&sim, "/v1.0/users").await;
        assert_eq!(page_ids(&pages[0]).len(), 100);
        assert_eq!(page_ids(&pages[1]).len(), 55);
    }

    #[tokio::test]
    async fn invalid_queries_rejected() {
        let sim = start_small().await;
        let client = client();
        let token = token(&client, &sim).await;
        let cases = [
            ("/v1.0/users?$skiptoken=garbage", "Request_BadRequest"),
            ("/v1.0/users?$top=1000", "Request_BadRequest"),
            ("/v1.0/users?$top=0", "Request_BadRequest"),
            ("/v1.0/users?$select=id,jobTitle", "Request_BadRequest"),
            (
                "/v1.0/users?$filter=accountEnabled%20eq%20true",
                "Request_UnsupportedQuery",
            ),
        ];
        for (path, code) in cases {
            let (status, _, body) = get_json(&client, &sim, path, &token).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
            assert_eq!(error_code(&body), code, "{path}: {body}");
        }
        assert_eq!(sim.counters().user_pages, 0);
    }

    #[tokio::test]
    async fn forbid_users_is_403() {
        let sim = start_small().await;
        sim.set_faults(Faults {
            forbid_users: true,
            ..Faults::default()
        });
        let client = client();
        let token = token(&client, &sim).await;
        let (status, _, body) = get_json(&client, &sim, "/v1.0/users", &token).await;

        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(error_code(&body), "Authorization_RequestDenied");
        assert_eq!(
            body["error"]["message"],
            "Insufficient privileges to complete the operation."
        );
        assert_eq!(sim.counters().forbidden, 1);
    }

    #[tokio::test]
    async fn removed_user_not_listed() {
        let sim = start_small().await;
        sim.remove_user("u-none");
        let pages = all_pages(&sim, "/v1.0/users").await;
        let ids = page_ids(&pages[0]);
        assert_eq!(ids.len(), 4);
        assert!(!ids.contains(&"u-none".to_string()));
    }

    #[tokio::test]
    async fn users_need_a_token() {
        let sim = start_small().await;
        let (status, _, body) = get_json(&client(), &sim, "/v1.0/users", "").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(error_code(&body), "InvalidAuthenticationToken");
    }

    #[test]
    fn cursor_round_trips() {
        let cursor = Cursor {
            offset: 1998,
            page: 2,
            empty_page_returned: true,
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
    }

    #[test]
    fn garbage_cursor_rejected() {
        assert_eq!(Cursor::decode("not a token"), None);
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode("v2:1:1:0")), None);
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode("v1:1:1:2")), None);
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode("v1:1:1:0:9")), None);
    }

    #[test]
    fn select_is_case_insensitive() {
        let properties = parse_select("ID,displayname").ok().unwrap();
        assert_eq!(properties, [Property::Id, Property::DisplayName]);
    }
}
