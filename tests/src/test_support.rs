//! Helpers for the unit tests: a small tenant, a started server and loopback HTTP calls.

use reqwest::header::HeaderMap;
use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::fixture::{Fixture, FixtureUser, PhotoError};
use crate::sample::sample_photo;
use crate::server::GraphSim;

pub(crate) const TENANT: &str = "contoso.onmicrosoft.com";
pub(crate) const CLIENT_ID: &str = "0b7e5c2d-1f4a-4c3e-8d6b-9a2f1e7c5d30";
pub(crate) const SECRET: &str = "test-secret-value";
/// The Graph scope the connector requests. It is only sent as a form value, never resolved.
pub(crate) const SCOPE: &str = "https://graph.microsoft.com/.default";

/// Five users: a JPEG photo, a JPEG sent as `image/Jpeg`, no photo, no mailbox, and an
/// `ErrorEntityNotFound` photo error.
pub(crate) fn small_fixture() -> Fixture {
    let mut with_photo = FixtureUser::new("u-photo", "adele@contoso.com", "Adele Vance");
    with_photo.photo = Some("photos/astronaut-96.jpg".to_string());
    with_photo.photo_bytes = Some(sample_photo("astronaut-96.jpg").to_vec());

    let mut mixed_case = FixtureUser::new("u-mixed", "bianca@contoso.com", "Bianca Pisani");
    mixed_case.photo = Some("photos/chelsea-648.jpg".to_string());
    mixed_case.photo_content_type = Some("image/Jpeg".to_string());
    mixed_case.photo_bytes = Some(sample_photo("chelsea-648.jpg").to_vec());

    let without_photo = FixtureUser::new("u-none", "chen@contoso.com", "Chen Gu");

    let mut no_mailbox = FixtureUser::new("u-nomailbox", "dmitri@contoso.com", "Dmitri Novak");
    no_mailbox.mail = None;
    no_mailbox.photo_error = Some(PhotoError {
        status: 400,
        code: "AuthenticationError".to_string(),
        message: "Error authenticating with resource".to_string(),
    });

    let mut entity_missing = FixtureUser::new("u-entity", "emily@contoso.com", "Emily Braun");
    entity_missing.photo_error = Some(PhotoError {
        status: 404,
        code: "ErrorEntityNotFound".to_string(),
        message: "The requested user 'emily@contoso.com' is invalid.".to_string(),
    });

    Fixture {
        tenant_id: TENANT.to_string(),
        client_id: CLIENT_ID.to_string(),
        client_secret: SECRET.to_string(),
        page_size: 999,
        users: vec![
            with_photo,
            mixed_case,
            without_photo,
            no_mailbox,
            entity_missing,
        ],
    }
}

/// Starts a server for the small tenant.
pub(crate) async fn start_small() -> GraphSim {
    GraphSim::start(small_fixture())
        .await
        .expect("graph-sim starts")
}

/// Builds an HTTP client without proxies, so every request goes straight to loopback.
pub(crate) fn client() -> Client {
    Client::builder().no_proxy().build().expect("client builds")
}

/// Posts a token request with the given form fields to the given tenant.
pub(crate) async fn post_token(
    client: &Client,
    sim: &GraphSim,
    tenant: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let url = format!("{}/{tenant}/oauth2/v2.0/token", sim.base_url());
    let response = client
        .post(url)
        .form(form)
        .send()
        .await
        .expect("token request sent");
    let status = response.status();
    (
        status,
        response.json().await.expect("token response is JSON"),
    )
}

/// Returns the form fields of a valid token request.
pub(crate) fn valid_token_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("client_id", CLIENT_ID),
        ("client_secret", SECRET),
        ("scope", SCOPE),
        ("grant_type", "client_credentials"),
    ]
}

/// Requests a token with the right credentials and returns the access token.
pub(crate) async fn token(client: &Client, sim: &GraphSim) -> String {
    let (status, body) = post_token(client, sim, TENANT, &valid_token_form()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// Sends an authorized GET for a path (or a full URL) and returns status, headers and body.
pub(crate) async fn get(
    client: &Client,
    sim: &GraphSim,
    path_or_url: &str,
    token: &str,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let url = if path_or_url.starts_with("http") {
        path_or_url.to_string()
    } else {
        format!("{}{path_or_url}", sim.base_url())
    };
    let response = client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("request sent");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("body read").to_vec();
    (status, headers, body)
}

/// Sends an authorized GET and parses the body as JSON.
pub(crate) async fn get_json(
    client: &Client,
    sim: &GraphSim,
    path_or_url: &str,
    token: &str,
) -> (StatusCode, HeaderMap, Value) {
    let (status, headers, body) = get(client, sim, path_or_url, token).await;
    let json = serde_json::from_slice(&body).unwrap_or_else(|error| {
        panic!(
            "body is not JSON ({error}): {}",
            String::from_utf8_lossy(&body)
        )
    });
    (status, headers, json)
}

/// Returns `body.error.code` of a Graph error body.
pub(crate) fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}
