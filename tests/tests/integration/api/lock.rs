//! The sync lock: manual photo edits are rejected with 409 while sync is on, and work while
//! it is off.

use photosync::store::PhotoSource;
use reqwest::StatusCode;

use super::server::{
    error_body, png, ApiServer, ADMIN_TOKEN, CONNECTOR_MESSAGE, GUEST_INDEX, GUEST_TOKEN,
    TENANT_MESSAGE, USER1_TOKEN,
};
use crate::support::{fixture, guest, member, member_with_photo};

fn users() -> Vec<graph_sim::FixtureUser> {
    vec![
        member_with_photo(1, "astronaut-96.jpg"),
        member(2),
        guest(
            GUEST_INDEX,
            "visitor_fabrikam.com#EXT#@contoso.onmicrosoft.com",
        ),
    ]
}

#[tokio::test]
async fn edits_rejected_while_sync_on() {
    let server = ApiServer::start(fixture(users()), true).await;
    let report = server.sync().await;
    assert_eq!(report.counts.downloaded, 1, "{:?}", report.failures);
    let before = server.stored(1);
    assert!(before.is_some());

    let calls = [
        (
            "user PUT",
            server
                .client
                .put(server.photo_url(1))
                .bearer_auth(USER1_TOKEN)
                .body(png(64, 64)),
        ),
        (
            "user DELETE",
            server
                .client
                .delete(server.photo_url(1))
                .bearer_auth(USER1_TOKEN),
        ),
        (
            "admin PUT",
            server
                .client
                .put(server.admin_photo_url(1))
                .bearer_auth(ADMIN_TOKEN)
                .body(png(64, 64)),
        ),
        (
            "admin DELETE",
            server
                .client
                .delete(server.admin_photo_url(1))
                .bearer_auth(ADMIN_TOKEN),
        ),
    ];
    for (name, request) in calls {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CONFLICT, "{name}");
        let (code, message) = error_body(response).await;
        assert_eq!(code, "photo_managed_by_sync", "{name}");
        assert_eq!(message, CONNECTOR_MESSAGE, "{name}");
    }

    assert_eq!(server.stored(1), before);
}

#[tokio::test]
async fn admin_upload_rejected_before_first_run() {
    let server = ApiServer::start(fixture(users()), true).await;

    let response = server
        .client
        .put(server.admin_photo_url(2))
        .bearer_auth(ADMIN_TOKEN)
        .body(png(64, 64))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::CONFLICT);
    let (_, message) = error_body(response).await;
    assert_eq!(message, TENANT_MESSAGE);
    assert_eq!(server.stored(2), None);
}

#[tokio::test]
async fn edits_succeed_with_sync_off() {
    let server = ApiServer::start(fixture(users()), false).await;
    let upload = png(80, 60);

    let user_put = server
        .client
        .put(server.photo_url(1))
        .bearer_auth(USER1_TOKEN)
        .header("content-type", "image/png")
        .body(upload.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(user_put.status(), StatusCode::OK);
    let stored: serde_json::Value = user_put.json().await.unwrap();
    assert_eq!(stored["source"], "manual");
    assert_eq!(stored["width"], 80);

    let served = server
        .client
        .get(server.photo_url(1))
        .bearer_auth(USER1_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.unwrap().to_vec(), upload);

    let admin_put = server
        .client
        .put(server.admin_photo_url(2))
        .bearer_auth(ADMIN_TOKEN)
        .body(png(32, 32))
        .send()
        .await
        .unwrap();
    assert_eq!(admin_put.status(), StatusCode::OK);
    assert_eq!(
        server.stored(2).map(|(_, source)| source),
        Some(PhotoSource::Manual)
    );

    let user_delete = server
        .client
        .delete(server.photo_url(1))
        .bearer_auth(USER1_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(user_delete.status(), StatusCode::NO_CONTENT);
    assert_eq!(server.stored(1), None);

    let admin_delete = server
        .client
        .delete(server.admin_photo_url(2))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(admin_delete.status(), StatusCode::NO_CONTENT);
    assert_eq!(server.stored(2), None);
}

#[tokio::test]
async fn delete_without_photo_is_not_found() {
    let server = ApiServer::start(fixture(users()), false).await;

    let response = server
        .client
        .delete(server.photo_url(1))
        .bearer_auth(USER1_TOKEN)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (code, _) = error_body(response).await;
    assert_eq!(code, "photo_not_found");
}

#[tokio::test]
async fn out_of_scope_guest_may_upload() {
    let server = ApiServer::start(fixture(users()), true).await;
    let report = server.sync().await;
    assert_eq!(report.counts.out_of_scope, 1, "{report:?}");

    let response = server
        .client
        .put(server.photo_url(GUEST_INDEX))
        .bearer_auth(GUEST_TOKEN)
        .body(png(48, 48))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        server.stored(GUEST_INDEX).map(|(_, source)| source),
        Some(PhotoSource::Manual)
    );
}

#[tokio::test]
async fn policy_reports_sync_on() {
    let server = ApiServer::start(fixture(users()), true).await;
    server.sync().await;

    let policy: serde_json::Value = server
        .client
        .get(server.url("/v1/tenants/contoso/photo-policy"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(policy["sync_enabled"], true);
    assert_eq!(policy["source"], "microsoft_365");
    assert_eq!(policy["message"], TENANT_MESSAGE);
    assert!(policy["last_sync_at"].is_string(), "{policy}");
    assert!(policy["next_sync_at"].is_string(), "{policy}");
}

#[tokio::test]
async fn policy_gives_user_their_message() {
    let server = ApiServer::start(fixture(users()), true).await;
    server.sync().await;

    let policy: serde_json::Value = server
        .client
        .get(server.url("/v1/tenants/contoso/photo-policy"))
        .bearer_auth(USER1_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(policy["message"], CONNECTOR_MESSAGE);
}

#[tokio::test]
async fn policy_reports_sync_off() {
    let server = ApiServer::start(fixture(users()), false).await;

    let policy: serde_json::Value = server
        .client
        .get(server.url("/v1/tenants/contoso/photo-policy"))
        .bearer_auth(USER1_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(policy["sync_enabled"], false);
    assert_eq!(policy["source"], "manual");
    assert!(policy["message"].is_null(), "{policy}");
    assert!(policy["next_sync_at"].is_null(), "{policy}");
    assert!(policy["last_sync_at"].is_null(), "{policy}");
}

#[tokio::test]
async fn policy_has_no_message_for_guest() {
    let server = ApiServer::start(fixture(users()), true).await;
    server.sync().await;

    let policy: serde_json::Value = server
        .client
        .get(server.url("/v1/tenants/contoso/photo-policy"))
        .bearer_auth(GUEST_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(policy["sync_enabled"], true);
    assert!(policy["message"].is_null(), "{policy}");
}
