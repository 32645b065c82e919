//! Authentication and authorization: tokens, roles, and tenant boundaries.

use std::io::Write;

use reqwest::StatusCode;

use super::server::{
    error_body, png, ApiServer, ADMIN_TOKEN, OTHER_TENANT_ADMIN_TOKEN, USER1_TOKEN,
};
use crate::support::{fixture, member_with_photo};

async fn server_with_photo(sync_enabled: bool) -> ApiServer {
    let users = vec![
        member_with_photo(1, "astronaut-96.jpg"),
        member_with_photo(2, "coffee-240.png"),
    ];
    let server = ApiServer::start(fixture(users), sync_enabled).await;
    let report = server.sync().await;
    assert_eq!(report.counts.downloaded, 2, "{:?}", report.failures);
    server
}

#[tokio::test]
async fn missing_token_is_unauthorized() {
    let server = server_with_photo(true).await;

    let response = server.client.get(server.photo_url(1)).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let (code, message) = error_body(response).await;
    assert_eq!(code, "unauthorized");
    assert!(message.contains("Authorization"), "{message}");
}

#[tokio::test]
async fn unknown_token_is_unauthorized() {
    let server = server_with_photo(true).await;

    let response = server
        .client
        .get(server.photo_url(1))
        .bearer_auth("not-a-configured-token")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn user_cannot_change_colleague_photo() {
    let server = server_with_photo(false).await;
    let before = server.stored(2);

    let put = server
        .client
        .put(server.photo_url(2))
        .bearer_auth(USER1_TOKEN)
        .body(png(64, 64))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::FORBIDDEN);

    let delete = server
        .client
        .delete(server.photo_url(2))
        .bearer_auth(USER1_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::FORBIDDEN);
    assert_eq!(server.stored(2), before);
}

#[tokio::test]
async fn user_token_cannot_use_admin_route() {
    let server = server_with_photo(false).await;

    let response = server
        .client
        .delete(server.admin_photo_url(1))
        .bearer_auth(USER1_TOKEN)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(server.stored(1).is_some());
}

#[tokio::test]
async fn user_token_cannot_list_runs() {
    let server = server_with_photo(true).await;

    let response = server
        .client
        .get(server.url("/v1/tenants/contoso/sync/runs"))
        .bearer_auth(USER1_TOKEN)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn cross_tenant_token_is_rejected() {
    let server = server_with_photo(false).await;
    let before = server.stored(1);

    let read = server
        .client
        .get(server.photo_url(1))
        .bearer_auth(OTHER_TENANT_ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::FORBIDDEN);
    let (code, _) = error_body(read).await;
    assert_eq!(code, "forbidden");

    let delete = server
        .client
        .delete(server.admin_photo_url(1))
        .bearer_auth(OTHER_TENANT_ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::FORBIDDEN);

    let runs = server
        .client
        .post(server.url("/v1/tenants/contoso/sync/runs"))
        .bearer_auth(OTHER_TENANT_ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(runs.status(), StatusCode::FORBIDDEN);
    assert_eq!(server.stored(1), before);
}

#[tokio::test]
async fn unknown_tenant_looks_like_other_tenant() {
    let server = server_with_photo(true).await;

    let response = server
        .client
        .get(server.url("/v1/tenants/no-such-tenant/photo-policy"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[test]
fn hash_token_prints_configured_form() {
    let token = "ZP6m3b0Qw9k2s7Xv1yJc4Lr8TqN5uHdE";
    let mut child = std::process::Command::new(crate::support::photosync_binary())
        .arg("hash-token")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{token}").unwrap();
    let output = child.wait_with_output().unwrap();

    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).unwrap();
    assert_eq!(printed.trim(), photosync::api::hash_token(token));
}
