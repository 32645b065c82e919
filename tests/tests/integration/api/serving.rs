//! Serving photos: bytes, ETags, size variants, orientation, and the OpenAPI document.

use std::collections::BTreeSet;
use std::io::Cursor;

use image::{GenericImageView, ImageFormat, Rgb, RgbImage};
use photosync::api::{route_list, AVATAR_SIZES};
use reqwest::StatusCode;

use super::server::{error_body, ApiServer, USER1_TOKEN, USER2_TOKEN};
use crate::support::{fixture, member, member_with_photo, photo_file};

#[tokio::test]
async fn synced_photo_served_after_run() {
    let server =
        ApiServer::start(fixture(vec![member_with_photo(1, "chelsea-648.jpg")]), true).await;
    let report = server.sync().await;
    assert_eq!(report.counts.downloaded, 1, "{:?}", report.failures);

    let response = server
        .client
        .get(server.photo_url(1))
        .bearer_auth(USER2_TOKEN)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert_eq!(response.headers()["cache-control"], "private, max-age=300");
    let bytes = response.bytes().await.unwrap();
    assert_eq!(bytes.to_vec(), photo_file("chelsea-648.jpg"));
}

#[tokio::test]
async fn matching_etag_gives_not_modified() {
    let server = ApiServer::start(
        fixture(vec![member_with_photo(1, "astronaut-96.jpg")]),
        true,
    )
    .await;
    server.sync().await;

    let first = server
        .client
        .get(server.photo_url(1))
        .bearer_auth(USER1_TOKEN)
        .send()
        .await
        .unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let second = server
        .client
        .get(server.photo_url(1))
        .bearer_auth(USER1_TOKEN)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();

    assert_eq!(second.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(second.headers()["etag"].to_str().unwrap(), etag);
    assert!(second.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn stale_etag_gives_photo() {
    let server = ApiServer::start(
        fixture(vec![member_with_photo(1, "astronaut-96.jpg")]),
        true,
    )
    .await;
    server.sync().await;

    let response = server
        .client
        .get(server.photo_url(1))
        .bearer_auth(USER1_TOKEN)
        .header("if-none-match", "\"an-older-photo\"")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn every_size_has_requested_dimensions() {
    let server = ApiServer::start(
        fixture(vec![member_with_photo(1, "camera-360-gray.jpg")]),
        true,
    )
    .await;
    server.sync().await;
    let mut etags = BTreeSet::new();

    for size in AVATAR_SIZES {
        let response = server
            .client
            .get(format!("{}?size={size}", server.photo_url(1)))
            .bearer_auth(USER1_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "size {size}");
        etags.insert(response.headers()["etag"].to_str().unwrap().to_string());
        let bytes = response.bytes().await.unwrap();
        let image = image::load_from_memory(&bytes).unwrap();
        assert_eq!(image.dimensions(), (size, size), "size {size}");
    }

    assert_eq!(etags.len(), AVATAR_SIZES.len());
}

#[tokio::test]
async fn gif_variant_is_png() {
    let server = ApiServer::start(
        fixture(vec![member_with_photo(1, "tiny-animated.gif")]),
        true,
    )
    .await;
    server.sync().await;

    let response = server
        .client
        .get(format!("{}?size=48", server.photo_url(1)))
        .bearer_auth(USER1_TOKEN)
        .send()
        .await
        .unwrap();

    assert_eq!(response.headers()["content-type"], "image/png");
    let bytes = response.bytes().await.unwrap();
    let image = image::load_from_memory_with_format(&bytes, ImageFormat::Png).unwrap();
    assert_eq!(image.dimensions(), (48, 48));
}

#[tokio::test]
async fn variant_respects_exif_orientation() {
    let server = ApiServer::start(fixture(vec![member(1)]), false).await;
    let upload = server
        .client
        .put(server.photo_url(1))
        .bearer_auth(USER1_TOKEN)
        .body(rotated_jpeg())
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), StatusCode::OK);

    let response = server
        .client
        .get(format!("{}?size=48", server.photo_url(1)))
        .bearer_auth(USER1_TOKEN)
        .send()
        .await
        .unwrap();
    let bytes = response.bytes().await.unwrap();
    let image = image::load_from_memory(&bytes).unwrap().to_rgb8();

    // Upright, the red top half of the stored pixels is on the right.
    let left = image.get_pixel(6, 24);
    let right = image.get_pixel(41, 24);
    assert!(
        left[2] > 150 && left[0] < 100,
        "left pixel {left:?} is not blue"
    );
    assert!(
        right[0] > 150 && right[2] < 100,
        "right pixel {right:?} is not red"
    );
}

#[tokio::test]
async fn unsupported_size_is_bad_request() {
    let server = ApiServer::start(
        fixture(vec![member_with_photo(1, "astronaut-96.jpg")]),
        true,
    )
    .await;
    server.sync().await;

    let response = server
        .client
        .get(format!("{}?size=50", server.photo_url(1)))
        .bearer_auth(USER1_TOKEN)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let (code, message) = error_body(response).await;
    assert_eq!(code, "invalid_size");
    assert!(message.contains("48, 64, 96"), "{message}");
}

#[tokio::test]
async fn absent_photo_is_json_not_found() {
    let server = ApiServer::start(fixture(vec![member(1)]), true).await;
    server.sync().await;

    let response = server
        .client
        .get(server.photo_url(1))
        .bearer_auth(USER1_TOKEN)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (code, _) = error_body(response).await;
    assert_eq!(code, "photo_not_found");
}

#[tokio::test]
async fn unknown_route_is_json_not_found() {
    let server = ApiServer::start(fixture(vec![member(1)]), true).await;

    let response = server
        .client
        .get(server.url("/v1/photos"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (code, _) = error_body(response).await;
    assert_eq!(code, "route_not_found");
}

#[tokio::test]
async fn served_openapi_matches_routes() {
    let server = ApiServer::start(fixture(vec![member(1)]), true).await;

    let document: serde_json::Value = server
        .client
        .get(server.url("/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let methods = ["get", "put", "post", "delete", "patch"];
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if methods.contains(&method.as_str()) {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let routed: BTreeSet<_> = route_list()
        .into_iter()
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    assert_eq!(documented, routed);
}

/// A 64 x 32 JPEG, red on top and blue below, whose EXIF orientation (6) means rotating it
/// 90 degrees clockwise for display.
fn rotated_jpeg() -> Vec<u8> {
    let image = RgbImage::from_fn(64, 32, |_, y| {
        if y < 16 {
            Rgb([220, 20, 20])
        } else {
            Rgb([20, 20, 220])
        }
    });
    let mut jpeg = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
        .unwrap();

    // APP1 segment: "Exif\0\0", then a big-endian TIFF header and one IFD entry,
    // Orientation (0x0112), type SHORT, count 1, value 6.
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend_from_slice(b"MM\0\x2a\0\0\0\x08");
    exif.extend_from_slice(&[0, 1]);
    exif.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
    exif.extend_from_slice(&[0, 0, 0, 0]);
    let length = (exif.len() + 2) as u16;
    let mut segment = vec![0xff, 0xe1];
    segment.extend_from_slice(&length.to_be_bytes());
    segment.extend_from_slice(&exif);

    let mut bytes = jpeg[..2].to_vec();
    bytes.extend_from_slice(&segment);
    bytes.extend_from_slice(&jpeg[2..]);
    bytes
}

#[tokio::test]
async fn invalid_path_is_json_bad_request() {
    let server = ApiServer::start(fixture(vec![member(1)]), true).await;

    let response = server
        .client
        .get(server.url("/v1/tenants/contoso/users/%FF/photo"))
        .bearer_auth(USER1_TOKEN)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let (code, _) = error_body(response).await;
    assert_eq!(code, "invalid_request");
}
