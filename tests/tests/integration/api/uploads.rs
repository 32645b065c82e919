//! Upload validation with sync off: size cap (413), media type (415), and decode limits (422).

use std::io::Cursor;

use image::{GrayImage, ImageFormat};
use photosync::api::MAX_UPLOAD_BYTES;
use reqwest::StatusCode;

use super::server::{error_body, ApiServer, USER1_TOKEN};
use crate::support::{fixture, member, photo_file};

async fn upload(body: Vec<u8>, content_type: &str) -> (ApiServer, reqwest::Response) {
    let server = ApiServer::start(fixture(vec![member(1)]), false).await;
    let response = server
        .client
        .put(server.photo_url(1))
        .bearer_auth(USER1_TOKEN)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    (server, response)
}

#[tokio::test]
async fn oversized_upload_is_too_large() {
    let mut body = photo_file("astronaut-96.jpg");
    body.resize(MAX_UPLOAD_BYTES + 1, 0);

    let (server, response) = upload(body, "image/jpeg").await;

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let (code, message) = error_body(response).await;
    assert_eq!(code, "payload_too_large");
    assert!(message.contains(&MAX_UPLOAD_BYTES.to_string()), "{message}");
    assert_eq!(server.stored(1), None);
}

#[tokio::test]
async fn text_upload_is_unsupported() {
    let body = b"name,photo\nuser1,me.jpg\n".to_vec();

    let (server, response) = upload(body, "application/octet-stream").await;

    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (code, message) = error_body(response).await;
    assert_eq!(code, "unsupported_media_type");
    assert!(message.contains("JPEG, PNG or GIF"), "{message}");
    assert_eq!(server.stored(1), None);
}

#[tokio::test]
async fn text_content_type_is_unsupported() {
    let (_server, response) = upload(photo_file("astronaut-96.jpg"), "text/plain").await;

    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn gif_bomb_is_rejected() {
    // A valid GIF whose logical screen claims 65535 x 65535 pixels: decoding it would
    // allocate a 16 GiB canvas from a file of a few hundred bytes.
    let mut body = photo_file("tiny-animated.gif");
    body[6..10].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);

    let (server, response) = upload(body, "image/gif").await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (code, message) = error_body(response).await;
    assert_eq!(code, "image_too_large");
    assert!(message.contains("65535 x 65535"), "{message}");
    assert_eq!(server.stored(1), None);
}

#[tokio::test]
async fn png_bomb_is_rejected() {
    // 5000 x 5000 black pixels compress to a few tens of KB but decode to 25 million pixels.
    let image = GrayImage::new(5000, 5000);
    let mut body = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut body), ImageFormat::Png)
        .unwrap();
    assert!(body.len() < 1 << 20, "the bomb is {} bytes", body.len());

    let (server, response) = upload(body, "image/png").await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (code, _) = error_body(response).await;
    assert_eq!(code, "image_too_large");
    assert_eq!(server.stored(1), None);
}

#[tokio::test]
async fn truncated_png_is_unprocessable() {
    let png = photo_file("coffee-240.png");
    let (server, response) = upload(png[..png.len() / 2].to_vec(), "image/png").await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (code, message) = error_body(response).await;
    assert_eq!(code, "invalid_image");
    assert!(message.contains("intact JPEG, PNG or GIF"), "{message}");
    assert_eq!(server.stored(1), None);
}

#[tokio::test]
async fn empty_upload_is_bad_request() {
    let (_server, response) = upload(Vec::new(), "image/jpeg").await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let (code, _) = error_body(response).await;
    assert_eq!(code, "empty_body");
}
