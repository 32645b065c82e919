//! Run history and "run now" through the admin routes.

use std::time::{Duration, Instant};

use graph_sim::Faults;
use reqwest::StatusCode;

use super::server::{error_body, ApiServer, ADMIN_TOKEN, USER1_TOKEN};
use crate::support::{fixture, member_with_error, member_with_photo, photo_file};

/// Maximum wait for a run started through the API to end.
const RUN_DEADLINE: Duration = Duration::from_secs(60);

async fn runs(server: &ApiServer) -> serde_json::Value {
    server
        .client
        .get(server.url("/v1/tenants/contoso/sync/runs"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Polls the run history until the newest run has ended, and returns that run.
async fn wait_for_run_end(server: &ApiServer) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let history = runs(server).await;
        let newest = &history["runs"][0];
        if newest.is_object() && newest["status"] != "running" {
            return newest.clone();
        }
        assert!(
            started.elapsed() < RUN_DEADLINE,
            "the run did not end: {history}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn run_now_syncs_and_serves_photo() {
    let users = vec![
        member_with_photo(1, "astronaut-648.jpg"),
        member_with_error(2, 400, "AuthenticationError"),
    ];
    let server = ApiServer::start(fixture(users), true).await;

    let response = server
        .client
        .post(server.url("/v1/tenants/contoso/sync/runs"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(
        response.headers()["location"],
        "/v1/tenants/contoso/sync/runs"
    );

    let run = wait_for_run_end(&server).await;
    assert_eq!(run["status"], "partial", "{run}");
    assert_eq!(run["trigger"], "manual");
    assert_eq!(run["failures"][0]["kind"], "unavailable", "{run}");

    let photo = server
        .client
        .get(server.photo_url(1))
        .bearer_auth(USER1_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(photo.status(), StatusCode::OK);
    assert_eq!(
        photo.bytes().await.unwrap().to_vec(),
        photo_file("astronaut-648.jpg")
    );
}

#[tokio::test]
async fn overlapping_run_is_conflict() {
    let users = vec![member_with_photo(1, "astronaut-96.jpg")];
    let server = ApiServer::start(fixture(users), true).await;
    // Every Graph response is delayed, so the first run is still going when the second request comes.
    server.sim.set_faults(Faults {
        latency_ms: 1500,
        ..Faults::default()
    });
    let start = || {
        server
            .client
            .post(server.url("/v1/tenants/contoso/sync/runs"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
    };

    let first = start().await.unwrap();
    let second = start().await.unwrap();

    assert_eq!(first.status(), StatusCode::ACCEPTED);
    assert_eq!(second.status(), StatusCode::CONFLICT);
    let (code, _) = error_body(second).await;
    assert_eq!(code, "run_in_progress");
    let run = wait_for_run_end(&server).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(runs(&server).await["runs"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn invalid_limit_is_bad_request() {
    let server = ApiServer::start(fixture(Vec::new()), true).await;

    let response = server
        .client
        .get(server.url("/v1/tenants/contoso/sync/runs?limit=1000"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let (code, message) = error_body(response).await;
    assert_eq!(code, "invalid_limit");
    assert!(message.contains("1 to 100"), "{message}");
}

#[tokio::test]
async fn shutdown_interrupts_api_run() {
    let users = vec![member_with_photo(1, "astronaut-96.jpg")];
    let server = ApiServer::start(fixture(users), true).await;
    // Slow Graph responses keep the run going until the shutdown starts.
    server.sim.set_faults(Faults {
        latency_ms: 1500,
        ..Faults::default()
    });
    let store = server.store.clone();
    let started = server
        .client
        .post(server.url("/v1/tenants/contoso/sync/runs"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::ACCEPTED);

    server.shut_down().await;

    let runs = store.recent_runs(Some("contoso"), 5).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, photosync::store::RunStatus::Interrupted);
    assert!(store
        .photo("contoso", &crate::support::member(1).id)
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn run_now_refused_while_sync_disabled() {
    let users = vec![member_with_photo(1, "astronaut-96.jpg")];
    let server = ApiServer::start(fixture(users), false).await;

    let response = server
        .client
        .post(server.url("/v1/tenants/contoso/sync/runs"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::CONFLICT);
    let (code, message) = error_body(response).await;
    assert_eq!(code, "sync_disabled");
    assert!(message.contains("sync_enabled"), "{message}");
    assert_eq!(server.sim.counters().token_requests, 0);
}
