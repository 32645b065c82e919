//! `GET /v1.0/users/{id}/photo` (metadata) and `GET /v1.0/users/{id}/photo/$value` (bytes).
//!
//! Both routes apply, in this order: latency, the bearer token, `forbid_photos`, the
//! concurrency limit (measured when the request arrives), throttling, server errors, then the
//! user's own state (unknown user, `photoError`, no photo). Metadata and `$value` requests
//! count together for the faults.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::auth::authorize;
use crate::graph_error::{graph_error, with_retry_after};
use crate::state::{SimState, StoredPhoto};

/// `Retry-After` seconds for 503 responses and for the concurrency limit.
const SHORT_RETRY_AFTER_SECS: u32 = 1;
const THROTTLED_MESSAGE: &str = "Application is over its MailboxConcurrency limit.";
/// Graph's message for a user without a photo, which names an internal Exchange exception.
const IMAGE_NOT_FOUND_MESSAGE: &str =
    "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown.";

/// Which of the two photo routes a request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PhotoRequest {
    Metadata,
    Value,
}

/// Handles `GET /v1.0/users/{id}/photo`.
pub(crate) async fn photo_metadata(
    State(state): State<Arc<SimState>>,
    Path(user_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let in_flight = state.enter_photo_request();
    state.delay().await;
    let request = PhotoRequest::Metadata;
    let photo = match check_photo_request(&state, &headers, &user_id, request, in_flight.over_limit)
    {
        Ok(photo) => photo,
        Err(response) => return *response,
    };

    let content_type = photo
        .content_type
        .to_str()
        .unwrap_or("application/octet-stream");
    let context = format!(
        "{}/v1.0/$metadata#users('{user_id}')/photo/$entity",
        state.base_url
    );
    let body = json!({
        "@odata.context": context,
        "@odata.mediaContentType": content_type,
        "@odata.mediaEtag": photo.etag,
        "id": "default",
        "height": photo.height,
        "width": photo.width,
    });
    Json(body).into_response()
}

/// Handles `GET /v1.0/users/{id}/photo/$value`.
pub(crate) async fn photo_value(
    State(state): State<Arc<SimState>>,
    Path(user_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let in_flight = state.enter_photo_request();
    state.delay().await;
    let request = PhotoRequest::Value;
    let photo = match check_photo_request(&state, &headers, &user_id, request, in_flight.over_limit)
    {
        Ok(photo) => photo,
        Err(response) => return *response,
    };

    let etag = HeaderValue::from_str(&photo.etag).expect("an etag is quoted hex digits");
    (
        [
            (header::CONTENT_TYPE, photo.content_type),
            (header::ETAG, etag),
        ],
        photo.bytes,
    )
        .into_response()
}

/// Runs the checks shared by both photo routes and returns the user's photo, or the error
/// response to send.
fn check_photo_request(
    state: &SimState,
    headers: &HeaderMap,
    user_id: &str,
    request: PhotoRequest,
    over_concurrency_limit: bool,
) -> Result<StoredPhoto, Box<Response>> {
    authorize(state, headers)?;
    let error =
        |status: StatusCode, code: &str, message: &str| graph_error(status, code, message, headers);

    let mut inner = state.lock();
    let counters = &mut inner.counters;
    let (total, by_user) = match request {
        PhotoRequest::Metadata => (
            &mut counters.photo_metadata,
            &mut counters.photo_metadata_by_user,
        ),
        PhotoRequest::Value => (&mut counters.photo_value, &mut counters.photo_value_by_user),
    };
    *total += 1;
    *by_user.entry(user_id.to_string()).or_default() += 1;

    if inner.faults.forbid_photos {
        return Err(Box::new(error(
            StatusCode::FORBIDDEN,
            "ErrorAccessDenied",
            "Access is denied. Check credentials and try again.",
        )));
    }
    if over_concurrency_limit {
        let response = error(
            StatusCode::TOO_MANY_REQUESTS,
            "ApplicationThrottled",
            THROTTLED_MESSAGE,
        );
        return Err(Box::new(with_retry_after(response, SHORT_RETRY_AFTER_SECS)));
    }

    inner.progress.photo_requests += 1;
    let request_number = inner.progress.photo_requests;
    if let Some(throttle) = inner.faults.throttle.clone() {
        let due = request_number.is_multiple_of(u64::from(throttle.every));
        let below_limit = throttle
            .limit
            .is_none_or(|limit| inner.progress.throttled < limit);
        if due && below_limit {
            inner.progress.throttled += 1;
            let response = error(
                StatusCode::TOO_MANY_REQUESTS,
                "ApplicationThrottled",
                THROTTLED_MESSAGE,
            );
            return Err(Box::new(match throttle.retry_after {
                Some(seconds) => with_retry_after(response, seconds),
                None => response,
            }));
        }
    }
    if let Some(failures) = inner.faults.server_errors.clone() {
        let due = request_number.is_multiple_of(u64::from(failures.every));
        let below_limit = failures
            .limit
            .is_none_or(|limit| inner.progress.server_errors < limit);
        if due && below_limit {
            inner.progress.server_errors += 1;
            let response = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "serviceNotAvailable",
                "The service is temporarily unavailable. Try again later.",
            );
            return Err(Box::new(with_retry_after(response, SHORT_RETRY_AFTER_SECS)));
        }
    }

    let Some(user) = inner.users.get(user_id) else {
        return Err(Box::new(error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            &format!(
                "Resource '{user_id}' does not exist or one of its queried reference-property \
                 objects are not present."
            ),
        )));
    };
    if let Some(photo_error) = &user.user.photo_error {
        let status = StatusCode::from_u16(photo_error.status).unwrap_or(StatusCode::BAD_REQUEST);
        return Err(Box::new(error(
            status,
            &photo_error.code,
            &photo_error.message,
        )));
    }
    match &user.photo {
        Some(photo) => Ok(photo.clone()),
        None => Err(Box::new(error(
            StatusCode::NOT_FOUND,
            "ImageNotFound",
            IMAGE_NOT_FOUND_MESSAGE,
        ))),
    }
}

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;

    use crate::faults::{Faults, ServerErrors, Throttle};
    use crate::sample::sample_photo;
    use crate::test_support::{client, error_code, get, get_json, start_small, token};

    const METADATA: &str = "/v1.0/users/u-photo/photo";
    const VALUE: &str = "/v1.0/users/u-photo/photo/$value";

    #[tokio::test]
    async fn metadata_shape() {
        let sim = start_small().await;
        let client = client();
        let token = token(&client, &sim).await;
        let (status, _, body) = get_json(&client, &sim, METADATA, &token).await;

        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["@odata.mediaContentType"], "image/jpeg");
        assert_eq!(body["id"], "default");
        assert_eq!(body["width"], 96);
        assert_eq!(body["height"], 96);
        let etag = body["@odata.mediaEtag"].as_str().unwrap();
        assert!(etag.starts_with('"'), "{etag}");
        assert!(etag.ends_with('"'), "{etag}");
        let context = format!(
            "{}/v1.0/$metadata#users('u-photo')/photo/$entity",
            sim.base_url()
        );
        assert_eq!(body["@odata.context"], context.as_str());
    }

    #[tokio::test]
    async fn value_returns_bytes_and_etag() {
        let sim = start_small().await;
        let client = client();
        let token = token(&client, &sim).await;
        let (_, _, metadata) = get_json(&client, &sim, METADATA, &token).await;
        let (status, headers, bytes) = get(&client, &sim, VALUE, &token).await;

        assert_eq!(status, StatusCode::OK);
        assert_eq!(bytes, sample_photo("astronaut-96.jpg"));
        assert_eq!(headers["content-type"], "image/jpeg");
        assert_eq!(
            headers["etag"].to_str().unwrap(),
            metadata["@odata.mediaEtag"].as_str().unwrap()
        );
    }

    #[tokio::test]
    async fn encoded_dollar_reaches_value() {
        let sim = start_small().await;
        let client = client();
        let token = token(&client, &sim).await;
        let (status, _, bytes) =
            get(&client, &sim, "/v1.0/users/u-photo/photo/%24value", &token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(bytes, sample_photo("astronaut-96.jpg"));
    }

    #[tokio::test]
    async fn content_type_override_sent() {
        let sim = start_small().await;
        let client = client();
        let token = token(&client, &sim).await;
        let (_, headers, _) = get(&client, &sim, "/v1.0/users/u-mixed/photo/$value", &token).await;
        assert_eq!(headers["content-type"], "image/Jpeg");
        let (_, _, body) = get_json(&client, &sim, "/v1.0/users/u-mixed/photo", &token).await;
        assert_eq!(body["@odata.mediaContentType"], "image/Jpeg");
        assert_eq!(body["width"], 648);
    }

    #[tokio::test]
    async fn user_without_photo_is_image_not_found() {
        let sim = start_small().await;
        let client = client();
        let token = token(&client, &sim).await;
        for path in [
            "/v1.0/users/u-none/photo",
            "/v1.0/users/u-none/photo/$value",
        ] {
            let (status, _, body) = get_json(&client, &sim, path, &token).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(error_code(&body), "ImageNotFound", "{path}");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.contains("ImageNotFoundException"), "{message}");
            let inner = &body["error"]["innerError"];
            for field in ["date", "request-id", "client-request-id"] {
                assert!(
                    inner[field].is_string(),
                    "{path}: {field} missing in {body}"
                );
            }
        }
        assert_eq!(sim.counters().not_found, 2);
    }

    #[tokio::test]
    async fn client_request_id_echoed() {
        let sim = start_small().await;
        let client = client();
        let token = token(&client, &sim).await;
        let url = format!("{}/v1.0/users/u-none/photo", sim.base_url());
        let response = client
            .get(url)
            .bearer_auth(&token)
            .header("client-request-id", "c0ffee00-1111-2222-3333-444444444444")
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(
            body["error"]["innerError"]["client-request-id"],
            "c0ffee00-1111-2222-3333-444444444444"
        );
    }

    #[tokio::test]
    async fn photo_error_applies_to_both_routes() {
        let sim = start_small().await;
        let client = client();
        let token = token(&client, &sim).await;
        let cases = [
            (
                "u-nomailbox",
                StatusCode::BAD_REQUEST,
                "AuthenticationError",
            ),
            ("u-entity", StatusCode::NOT_FOUND, "ErrorEntityNotFound"),
        ];
        for (user, expected_status, code) in cases {
            for suffix in ["", "/$value"] {
                let path = format!("/v1.0/users/{user}/photo{suffix}");
                let (status, _, body) = get_json(&client, &sim, &path, &token).await;
                assert_eq!(status, expected_status, "{path}");
                assert_eq!(error_code(&body), code, "{path}");
            }
        }
    }

    #[tokio::test]
    async fn unknown_user_is_resource_not_found() {
        let sim = start_small().await;
        let client = client();
        let token = token(&client, &sim).await;
        let (status, _, body) = get_json(&client, &sim, "/v1.0/users/nobody/photo", &token).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(error_code(&body), "Request_ResourceNotFound");
        assert_eq!(
            body["error"]["message"],
            "Resource 'nobody' does not exist or one of its queried reference-property objects \
             are not present."
        );
    }

    #[tokio::test]
    async fn forbid_photos_is_403() {
        let sim = start_small().await;
        sim.set_faults(Faults {
            forbid_photos: true,
            ..Faults::default()
        });
        let client = client();
        let token = token(&client, &sim).await;
        for path in [METADATA, VALUE] {
            let (status, _, body) = get_json(&client, &sim, path, &token).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
            assert_eq!(error_code(&body), "ErrorAccessDenied", "{path}");
            assert_eq!(
                body["error"]["message"],
                "Access is denied. Check credentials and try again."
            );
        }
    }

    #[tokio::test]
    async fn throttle_with_retry_after() {
        let sim = start_small().await;
        sim.set_faults(Faults {
            throttle: Some(Throttle {
                every: 2,
                retry_after: Some(7),
                limit: None,
            }),
            ..Faults::default()
        });
        let client = client();
        let token = token(&client, &sim).await;
        // Metadata and $value requests count together.
        let paths = [METADATA, VALUE, METADATA, VALUE];
        let mut statuses = Vec::new();
        for path in paths {
            let (status, headers, body) = get(&client, &sim, path, &token).await;
            statuses.push(status.as_u16());
            if status == StatusCode::TOO_MANY_REQUESTS {
                assert_eq!(headers["retry-after"], "7");
                let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(error_code(&body), "ApplicationThrottled");
                assert_eq!(
                    body["error"]["message"],
                    "Application is over its MailboxConcurrency limit."
                );
            }
        }
        assert_eq!(statuses, [200, 429, 200, 429]);
        assert_eq!(sim.counters().throttled, 2);
    }

    #[tokio::test]
    async fn throttle_without_retry_after_stops_at_limit() {
        let sim = start_small().await;
        sim.set_faults(Faults {
            throttle: Some(Throttle {
                every: 1,
                retry_after: None,
                limit: Some(2),
            }),
            ..Faults::default()
        });
        let client = client();
        let token = token(&client, &sim).await;
        let mut statuses = Vec::new();
        for _ in 0..3 {
            let (status, headers, _) = get(&client, &sim, METADATA, &token).await;
            statuses.push(status.as_u16());
            assert!(headers.get("retry-after").is_none());
        }
        assert_eq!(statuses, [429, 429, 200]);
    }

    #[tokio::test]
    async fn server_errors_send_retry_after() {
        let sim = start_small().await;
        sim.set_faults(Faults {
            server_errors: Some(ServerErrors {
                every: 1,
                limit: Some(1),
            }),
            ..Faults::default()
        });
        let client = client();
        let token = token(&client, &sim).await;
        let (first, headers, _) = get(&client, &sim, VALUE, &token).await;
        let (second, _, _) = get(&client, &sim, VALUE, &token).await;

        assert_eq!(first, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers["retry-after"], "1");
        assert_eq!(second, StatusCode::OK);
        assert_eq!(sim.counters().server_errors, 1);
    }

    #[tokio::test]
    async fn concurrency_limit_throttles_excess() {
        let sim = start_small().await;
        sim.set_faults(Faults {
            // Long enough for all four requests to arrive while the first two are in flight.
            latency_ms: 800,
            max_concurrent_photo_requests: Some(2),
            ..Faults::default()
        });
        let client = client();
        let token = token(&client, &sim).await;
        let (first, second, third, fourth) = tokio::join!(
            get(&client, &sim, METADATA, &token),
            get(&client, &sim, METADATA, &token),
            get(&client, &sim, METADATA, &token),
            get(&client, &sim, METADATA, &token),
        );

        let throttled: Vec<_> = [first, second, third, fourth]
            .into_iter()
            .filter(|(status, _, _)| *status == StatusCode::TOO_MANY_REQUESTS)
            .collect();
        assert_eq!(throttled.len(), 2);
        for (_, headers, _) in &throttled {
            assert_eq!(headers["retry-after"], "1");
        }
        assert_eq!(sim.counters().max_in_flight_photo, 4);
    }

    #[tokio::test]
    async fn set_photo_changes_etag() {
        let sim = start_small().await;
        let client = client();
        let token = token(&client, &sim).await;
        let (_, _, before) = get_json(&client, &sim, METADATA, &token).await;

        let png = sample_photo("coffee-240.png").to_vec();
        let etag = sim.set_photo("u-photo", png.clone(), "image/png");
        let (_, _, after) = get_json(&client, &sim, METADATA, &token).await;
        let (_, headers, bytes) = get(&client, &sim, VALUE, &token).await;

        assert_ne!(before["@odata.mediaEtag"], after["@odata.mediaEtag"]);
        assert_eq!(after["@odata.mediaEtag"], etag.as_str());
        assert_eq!(after["width"], 240);
        assert_eq!(after["@odata.mediaContentType"], "image/png");
        assert_eq!(bytes, png);
        assert_eq!(headers["etag"].to_str().unwrap(), etag);
    }

    #[tokio::test]
    async fn removed_photo_is_image_not_found() {
        let sim = start_small().await;
        sim.remove_photo("u-photo");
        let client = client();
        let token = token(&client, &sim).await;
        let (status, _, body) = get_json(&client, &sim, VALUE, &token).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(error_code(&body), "ImageNotFound");
    }

    #[tokio::test]
    async fn photo_requests_counted_per_user() {
        let sim = start_small().await;
        let client = client();
        let token = token(&client, &sim).await;
        get(&client, &sim, METADATA, &token).await;
        get(&client, &sim, METADATA, &token).await;
        get(&client, &sim, VALUE, &token).await;
        get(&client, &sim, "/v1.0/users/u-none/photo", &token).await;

        let counters = sim.counters();
        assert_eq!(counters.photo_metadata, 3);
        assert_eq!(counters.photo_value, 1);
        assert_eq!(counters.photo_metadata_by_user["u-photo"], 2);
        assert_eq!(counters.photo_metadata_by_user["u-none"], 1);
        assert_eq!(counters.photo_value_by_user["u-photo"], 1);
        assert_eq!(counters.max_in_flight_photo, 1);
    }
}
