//! Switching sync on and off: manual photos stay until Microsoft 365 provides one, and synced
//! photos stay (and become editable) after sync is switched off.

use photosync::store::PhotoSource;
use reqwest::StatusCode;

use super::server::{png, ApiServer, ADMIN_TOKEN, USER1_TOKEN};
use crate::support::{fixture, member, member_with_photo, photo_file};

#[tokio::test]
async fn sync_on_keeps_manual_until_provided() {
    let server = ApiServer::start(fixture(vec![member(1), member(2)]), false).await;
    for (url, token) in [
        (server.photo_url(1), USER1_TOKEN),
        (server.admin_photo_url(2), ADMIN_TOKEN),
    ] {
        let response = server
            .client
            .put(url)
            .bearer_auth(token)
            .body(png(64, 64))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    let server = server.restart(true).await;
    let report = server.sync().await;
    assert_eq!(report.counts.no_photo, 2, "{report:?}");
    assert_eq!(
        server.stored(1).map(|(_, source)| source),
        Some(PhotoSource::Manual)
    );
    assert_eq!(
        server.stored(2).map(|(_, source)| source),
        Some(PhotoSource::Manual)
    );

    server
        .sim
        .set_photo(&member(1).id, photo_file("astronaut-96.jpg"), "image/jpeg");
    let report = server.sync().await;
    assert_eq!(report.counts.downloaded, 1, "{report:?}");
    assert_eq!(
        server.stored(1).map(|(_, source)| source),
        Some(PhotoSource::Synced)
    );
    assert_eq!(
        server.stored(2).map(|(_, source)| source),
        Some(PhotoSource::Manual)
    );
}

#[tokio::test]
async fn sync_off_keeps_synced_photos() {
    let users = vec![member_with_photo(1, "astronaut-96.jpg")];
    let server = ApiServer::start(fixture(users), true).await;
    server.sync().await;

    let server = server.restart(false).await;
    let served = server
        .client
        .get(server.photo_url(1))
        .bearer_auth(USER1_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(
        served.bytes().await.unwrap().to_vec(),
        photo_file("astronaut-96.jpg")
    );

    let delete = server
        .client
        .delete(server.photo_url(1))
        .bearer_auth(USER1_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::NO_CONTENT);
    assert_eq!(server.stored(1), None);
}
