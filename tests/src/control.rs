//! The control API under `/_sim`, for driving a running `graph-sim` process: counters,
//! faults, and changes to the directory and its photos.
//!
//! These routes take no token. Errors are `{"error": "<message>"}` with 400, 404 or 409.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use crate::faults::Faults;
use crate::fixture::FixtureUser;
use crate::image_size::sniff_content_type;
use crate::state::{ControlError, SimState};

/// Field of `POST /_sim/users` that carries the photo as standard base64.
const PHOTO_BASE64_FIELD: &str = "photoBase64";

/// Builds the control routes, which the caller nests under `/_sim`.
pub(crate) fn router() -> Router<Arc<SimState>> {
    Router::new()
        .route("/counters", get(get_counters))
        .route("/counters/reset", post(reset_counters))
        .route("/faults", get(get_faults).put(put_faults))
        .route("/users", post(add_user))
        .route("/users/{id}", delete(remove_user))
        .route("/users/{id}/photo", put(set_photo).delete(remove_photo))
}

fn error_response(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match &self {
            ControlError::UnknownUser(_) => StatusCode::NOT_FOUND,
            ControlError::DuplicateUser(_) => StatusCode::CONFLICT,
            ControlError::InvalidContentType(_)
            | ControlError::InvalidUser(_)
            | ControlError::InvalidFaults(_) => StatusCode::BAD_REQUEST,
        };
        error_response(status, self.to_string())
    }
}

async fn get_counters(State(state): State<Arc<SimState>>) -> Response {
    Json(state.counters()).into_response()
}

async fn reset_counters(State(state): State<Arc<SimState>>) -> StatusCode {
    state.reset_counters();
    StatusCode::NO_CONTENT
}

async fn get_faults(State(state): State<Arc<SimState>>) -> Response {
    Json(state.faults()).into_response()
}

/// Replaces the faults. The body is parsed here rather than by `Json`, so that a typo in a
/// field name comes back as a JSON error that names the field.
async fn put_faults(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    let faults: Faults = match serde_json::from_slice(&body) {
        Ok(faults) => faults,
        Err(error) => {
            return error_response(StatusCode::BAD_REQUEST, format!("invalid faults: {error}"));
        }
    };
    tracing::info!(?faults, "faults set");
    match state.set_faults(faults) {
        Ok(()) => Json(state.faults()).into_response(),
        Err(error) => error.into_response(),
    }
}

/// Replaces a user's photo with the request body. The `Content-Type` header gives the type,
/// or else the magic bytes do.
async fn set_photo(
    State(state): State<Arc<SimState>>,
    Path(user_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
        .or_else(|| sniff_content_type(&body).map(str::to_string))
        .unwrap_or_else(|| "application/octet-stream".to_string());
    match state.set_photo(&user_id, body.to_vec(), &content_type) {
        Ok(etag) => {
            tracing::info!(user_id, etag, "photo replaced");
            Json(json!({ "etag": etag })).into_response()
        }
        Err(error) => error.into_response(),
    }
}

async fn remove_photo(State(state): State<Arc<SimState>>, Path(user_id): Path<String>) -> Response {
    match state.remove_photo(&user_id) {
        Ok(()) => {
            tracing::info!(user_id, "photo removed");
            StatusCode::NO_CONTENT.into_response()
        }
        Err(error) => error.into_response(),
    }
}

async fn remove_user(State(state): State<Arc<SimState>>, Path(user_id): Path<String>) -> Response {
    match state.remove_user(&user_id) {
        Ok(()) => {
            tracing::info!(user_id, "user removed");
            StatusCode::NO_CONTENT.into_response()
        }
        Err(error) => error.into_response(),
    }
}

/// Adds a user from a [`FixtureUser`] document with an optional `photoBase64` field.
async fn add_user(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    let (user, photo) = match parse_new_user(&body) {
        Ok(parsed) => parsed,
        Err(message) => return error_response(StatusCode::BAD_REQUEST, message),
    };
    let user_id = user.id.clone();
    match state.add_user(user, photo) {
        Ok(()) => {
            tracing::info!(user_id, "user added");
            StatusCode::CREATED.into_response()
        }
        Err(error) => error.into_response(),
    }
}

fn parse_new_user(body: &[u8]) -> Result<(FixtureUser, Option<Vec<u8>>), String> {
    let mut document: Value =
        serde_json::from_slice(body).map_err(|error| format!("invalid user JSON: {error}"))?;
    let photo = match document
        .as_object_mut()
        .and_then(|o| o.remove(PHOTO_BASE64_FIELD))
    {
        None | Some(Value::Null) => None,
        Some(Value::String(encoded)) => Some(STANDARD.decode(encoded.trim()).map_err(|error| {
            format!("invalid {PHOTO_BASE64_FIELD}: {error}; send the photo as standard base64")
        })?),
        Some(_) => {
            return Err(format!(
                "invalid {PHOTO_BASE64_FIELD}: expected a base64 string"
            ))
        }
    };
    let user: FixtureUser =
        serde_json::from_value(document).map_err(|error| format!("invalid user: {error}"))?;
    Ok((user, photo))
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use reqwest::StatusCode;
    use serde_json::{json, Value};

    use crate::sample::sample_photo;
    use crate::server::GraphSim;
    use crate::test_support::{client, error_code, get, get_json, start_small, token};

    fn control_url(sim: &GraphSim, path: &str) -> String {
        format!("{}/_sim{path}", sim.base_url())
    }

    #[tokio::test]
    async fn counters_route_and_reset() {
        let sim = start_small().await;
        let client = client();
        let token = token(&client, &sim).await;
        get(&client, &sim, "/v1.0/users/u-photo/photo", &token).await;

        let counters: Value = client
            .get(control_url(&sim, "/counters"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(counters["token_requests"], 1);
        assert_eq!(counters["photo_metadata"], 1);
        assert_eq!(counters["photo_metadata_by_user"], json!({ "u-photo": 1 }));
        assert_eq!(counters["max_in_flight_photo"], 1);
        for field in [
            "user_pages",
            "photo_value",
            "throttled",
            "forbidden",
            "unauthorized",
            "not_found",
        ] {
            assert_eq!(counters[field], 0, "{field}");
        }

        let reset = client
            .post(control_url(&sim, "/counters/reset"))
            .send()
            .await
            .unwrap();
        assert_eq!(reset.status(), StatusCode::NO_CONTENT);
        assert_eq!(sim.counters(), crate::Counters::default());
    }

    #[tokio::test]
    async fn faults_route_round_trips() {
        let sim = start_small().await;
        let client = client();
        let document =
            json!({ "forbid_photos": true, "throttle": { "every": 3, "retry_after": 2 } });
        let response = client
            .put(control_url(&sim, "/faults"))
            .json(&document)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);

        let faults: Value = client
            .get(control_url(&sim, "/faults"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(faults["forbid_photos"], true);
        assert_eq!(
            faults["throttle"],
            json!({ "every": 3, "retry_after": 2, "limit": null })
        );
        assert_eq!(faults["token_lifetime_secs"], 3599);
        assert!(sim.faults().forbid_photos);
    }

    #[tokio::test]
    async fn invalid_faults_rejected() {
        let sim = start_small().await;
        let client = client();
        let cases = [
            (json!({ "forbid_photo": true }), "forbid_photo"),
            (json!({ "throttle": { "every": 0 } }), "throttle.every"),
        ];
        for (document, named) in cases {
            let response = client
                .put(control_url(&sim, "/faults"))
                .json(&document)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{document}");
            let body: Value = response.json().await.unwrap();
            let message = body["error"].as_str().unwrap();
            assert!(message.contains(named), "{message}");
        }
    }

    #[tokio::test]
    async fn put_photo_route_sets_etag() {
        let sim = start_small().await;
        let client = client();
        let gif = sample_photo("tiny-animated.gif");
        let response = client
            .put(control_url(&sim, "/users/u-none/photo"))
            .header("content-type", "image/gif")
            .body(gif.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        let etag = body["etag"].as_str().unwrap().to_string();

        let token = token(&client, &sim).await;
        let (status, _, metadata) =
            get_json(&client, &sim, "/v1.0/users/u-none/photo", &token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(metadata["@odata.mediaEtag"], etag.as_str());
        assert_eq!(metadata["@odata.mediaContentType"], "image/gif");
        assert_eq!(metadata["width"], 14);
    }

    #[tokio::test]
    async fn put_photo_unknown_user_404() {
        let sim = start_small().await;
        let response = client()
            .put(control_url(&sim, "/users/nobody/photo"))
            .body(vec![1, 2, 3])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("nobody"), "{body}");
    }

    #[tokio::test]
    async fn delete_photo_route() {
        let sim = start_small().await;
        let client = client();
        let response = client
            .delete(control_url(&sim, "/users/u-photo/photo"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);

        let token = token(&client, &sim).await;
        let (status, _, body) = get_json(&client, &sim, "/v1.0/users/u-photo/photo", &token).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(error_code(&body), "ImageNotFound");
    }

    #[tokio::test]
    async fn delete_user_route() {
        let sim = start_small().await;
        let client = client();
        let response = client
            .delete(control_url(&sim, "/users/u-photo"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);

        let token = token(&client, &sim).await;
        let (status, _, body) = get_json(&client, &sim, "/v1.0/users/u-photo/photo", &token).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(error_code(&body), "Request_ResourceNotFound");
        let (_, _, users) = get_json(&client, &sim, "/v1.0/users", &token).await;
        assert_eq!(users["value"].as_array().unwrap().len(), 4);
    }

    #[tokio::test]
    async fn add_user_route_with_photo() {
        let sim = start_small().await;
        let client = client();
        let photo = sample_photo("camera-360-gray.jpg");
        let document = json!({
            "id": "u-new",
            "userPrincipalName": "zoë.müller@contoso.com",
            "mail": "zoe.muller@contoso.com",
            "displayName": "Zoë Müller",
            "accountEnabled": true,
            "userType": "Member",
            "photoBase64": STANDARD.encode(photo),
        });
        let response = client
            .post(control_url(&sim, "/users"))
            .json(&document)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);

        let token = token(&client, &sim).await;
        let (_, _, users) = get_json(&client, &sim, "/v1.0/users", &token).await;
        assert_eq!(
            users["value"][5]["userPrincipalName"],
            "zoë.müller@contoso.com"
        );
        let (status, headers, bytes) =
            get(&client, &sim, "/v1.0/users/u-new/photo/$value", &token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(bytes, photo);
        assert_eq!(headers["content-type"], "image/jpeg");

        let duplicate = client
            .post(control_url(&sim, "/users"))
            .json(&document)
            .send()
            .await
            .unwrap();
        assert_eq!(duplicate.status(), StatusCode::CONFLICT);
    }

    #[tokio::test]
    async fn add_user_rejects_bad_base64() {
        let sim = start_small().await;
        let document = json!({
            "id": "u-new",
            "userPrincipalName": "new@contoso.com",
            "displayName": "New",
            "photoBase64": "not base64!",
        });
        let response = client()
            .post(control_url(&sim, "/users"))
            .json(&document)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("photoBase64"),
            "{body}"
        );
    }
}
