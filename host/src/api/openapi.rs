//! The OpenAPI 3.1 description of the API, served at `GET /v1/openapi.json`.
//!
//! The document is written by hand next to the routes. A unit test compares its paths and
//! methods with the router's route table and fails on any difference.

use axum::Json;
use serde_json::{json, Value};

use super::resize::AVATAR_SIZES;
use super::upload::{MAX_UPLOAD_BYTES, MAX_UPLOAD_PIXELS};
use super::{ADMIN_PHOTO_PATH, OPENAPI_PATH, POLICY_PATH, RUNS_PATH, USER_PHOTO_PATH};

/// `GET /v1/openapi.json`: needs no token, because it describes routes and contains no data.
pub async fn get_openapi() -> Json<Value> {
    Json(document())
}

/// Builds the OpenAPI document.
pub fn document() -> Value {
    let tenant = json!({"name": "tenant", "in": "path", "required": true,
        "description": "Tenant id from photosync.toml.", "schema": {"type": "string"}});
    let user = json!({"name": "user", "in": "path", "required": true,
        "description": "The user's directory id (the Entra ID object id).", "schema": {"type": "string"}});
    let photo_upload = json!({
        "required": true,
        "description": format!("The photo file: JPEG, PNG or GIF, at most {MAX_UPLOAD_BYTES} bytes and {MAX_UPLOAD_PIXELS} pixels."),
        "content": {
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "image/gif": {"schema": {"type": "string", "format": "binary"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
        }
    });
    let put_responses = json!({
        "200": {"description": "Stored as the user's manual photo.", "headers": {"ETag": {"schema": {"type": "string"}}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StoredPhoto"}}}},
        "400": error("The body is empty."),
        "401": error("The bearer token is missing or invalid."),
        "403": error("The token may not change this user's photo."),
        "409": error("Sync manages the photo (`photo_managed_by_sync`); the message is the one to show the user."),
        "413": error("The upload is over the size limit."),
        "415": error("The upload is not a JPEG, PNG or GIF image."),
        "422": error("The image does not decode, or declares too many pixels.")
    });
    let delete_responses = json!({
        "204": {"description": "The photo is deleted."},
        "401": error("The bearer token is missing or invalid."),
        "403": error("The token may not change this user's photo."),
        "404": error("The user has no photo."),
        "409": error("Sync manages the photo (`photo_managed_by_sync`); the message is the one to show the user.")
    });

    let mut paths = serde_json::Map::new();
    paths.insert(OPENAPI_PATH.to_string(), json!({
        "get": {"operationId": "getOpenApi", "summary": "This OpenAPI description.", "security": [],
                "responses": {"200": {"description": "The document.", "content": {"application/json": {}}}}}
    }));
    paths.insert(USER_PHOTO_PATH.to_string(), json!({
        "parameters": [tenant, user],
        "get": {
            "operationId": "getUserPhoto",
            "summary": "A user's photo, as stored or as a square avatar size. Any token of the tenant.",
            "parameters": [
                {"name": "size", "in": "query", "required": false,
                 "description": "Square avatar size in pixels, cropped from the centre; EXIF orientation applied.",
                 "schema": {"type": "integer", "enum": AVATAR_SIZES}},
                {"name": "If-None-Match", "in": "header", "required": false, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": {"description": "The photo bytes.",
                        "headers": {"ETag": {"schema": {"type": "string"}}, "Cache-Control": {"schema": {"type": "string"}}},
                        "content": {"image/jpeg": {}, "image/png": {}, "image/gif": {}}},
                "304": {"description": "The ETag in If-None-Match is current."},
                "400": error("`size` is not one of the served sizes."),
                "401": error("The bearer token is missing or invalid."),
                "403": error("The token belongs to another tenant."),
                "404": error("The user has no photo.")
            }
        },
        "put": {"operationId": "putOwnPhoto", "summary": "The user uploads their own photo while sync is off.",
                "requestBody": photo_upload.clone(), "responses": put_responses.clone()},
        "delete": {"operationId": "deleteOwnPhoto", "summary": "The user deletes their own photo while sync is off.",
                   "responses": delete_responses.clone()}
    }));
    paths.insert(ADMIN_PHOTO_PATH.to_string(), json!({
        "parameters": [tenant, user],
        "put": {"operationId": "putUserPhotoAsAdmin", "summary": "An admin uploads a user's photo while sync is off.",
                "requestBody": photo_upload, "responses": put_responses},
        "delete": {"operationId": "deleteUserPhotoAsAdmin", "summary": "An admin deletes a user's photo while sync is off.",
                   "responses": delete_responses}
    }));
    paths.insert(POLICY_PATH.to_string(), json!({
        "parameters": [tenant],
        "get": {"operationId": "getPhotoPolicy", "summary": "Whether sync manages photos, and the message to show. Any token of the tenant.",
                "responses": {
                    "200": {"description": "The policy.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PhotoPolicy"}}}},
                    "401": error("The bearer token is missing or invalid."),
                    "403": error("The token belongs to another tenant.")
                }}
    }));
    paths.insert(RUNS_PATH.to_string(), json!({
        "parameters": [tenant],
        "get": {"operationId": "listRuns", "summary": "Run history, newest first, with per-user failures. Admin token.",
                "parameters": [{"name": "limit", "in": "query", "required": false,
                                "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}}],
                "responses": {
                    "200": {"description": "The runs.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RunHistory"}}}},
                    "400": error("`limit` is out of range."),
                    "401": error("The bearer token is missing or invalid."),
                    "403": error("The token is not an admin token of the tenant.")
                }},
        "post": {"operationId": "startRun", "summary": "Start a run of the tenant now. Admin token.",
                 "responses": {
                    "202": {"description": "The run started; it appears in the run history.",
                            "headers": {"Location": {"schema": {"type": "string"}}},
                            "content": {"application/json": {"schema": {"type": "object"}}}},
                    "401": error("The bearer token is missing or invalid."),
                    "403": error("The token is not an admin token of the tenant."),
                    "409": error("A run of the tenant is in progress (`run_in_progress`).")
                 }}
    }));

    json!({
        "openapi": "3.1.0",
        "info": {"title": "photosync platform API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Profile photos and the photo policy for the platform's clients."},
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                "description": "A token from `[[tenant.api_tokens]]`, bound to one tenant and a role."}},
            "schemas": {
                "Error": {"type": "object", "required": ["error", "message"], "properties": {
                    "error": {"type": "string", "description": "Stable code, such as photo_managed_by_sync."},
                    "message": {"type": "string", "description": "What failed and what to do next."}}},
                "PhotoPolicy": {"type": "object", "properties": {
                    "tenant": {"type": "string"},
                    "sync_enabled": {"type": "boolean"},
                    "source": {"type": "string", "enum": ["microsoft_365", "manual"]},
                    "message": {"type": ["string", "null"]},
                    "last_sync_at": {"type": ["string", "null"], "format": "date-time"},
                    "next_sync_at": {"type": ["string", "null"], "format": "date-time"}}},
                "StoredPhoto": {"type": "object", "properties": {
                    "user_id": {"type": "string"},
                    "source": {"type": "string", "enum": ["synced", "manual"]},
                    "sha256": {"type": "string"},
                    "content_type": {"type": "string"},
                    "size": {"type": "integer"},
                    "width": {"type": ["integer", "null"]},
                    "height": {"type": ["integer", "null"]},
                    "etag": {"type": ["string", "null"]},
                    "updated_at": {"type": "string", "format": "date-time"}}},
                "RunHistory": {"type": "object", "properties": {
                    "runs": {"type": "array", "items": {"type": "object", "properties": {
                        "id": {"type": "integer"},
                        "status": {"type": "string", "enum": ["running", "succeeded", "partial", "failed", "interrupted"]},
                        "trigger": {"type": "string", "enum": ["manual", "schedule"]},
                        "started_at": {"type": "string", "format": "date-time"},
                        "finished_at": {"type": ["string", "null"], "format": "date-time"},
                        "counts": {"type": "object"},
                        "failures": {"type": "array", "items": {"type": "object", "properties": {
                            "user_id": {"type": "string"}, "principal_name": {"type": ["string", "null"]},
                            "kind": {"type": "string"}, "message": {"type": "string"}}}}}}}}}
            }
        }
    })
}

fn error(description: &str) -> Value {
    json!({"description": description,
           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::api::route_list;

    /// Operation keys of an OpenAPI path item; other keys (`parameters`) are not methods.
    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "patch", "head", "options", "trace",
    ];

    fn documented() -> BTreeSet<(String, String)> {
        let document = document();
        let mut operations = BTreeSet::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            for key in item.as_object().unwrap().keys() {
                if METHODS.contains(&key.as_str()) {
                    operations.insert((key.to_uppercase(), path.clone()));
                }
            }
        }
        operations
    }

    fn routed() -> BTreeSet<(String, String)> {
        route_list()
            .into_iter()
            .map(|(method, path)| (method.to_string(), path.to_string()))
            .collect()
    }

    #[test]
    fn every_route_is_documented() {
        let missing: Vec<_> = routed().difference(&documented()).cloned().collect();
        assert!(
            missing.is_empty(),
            "routes missing from the OpenAPI document: {missing:?}"
        );
    }

    #[test]
    fn every_documented_operation_is_routed() {
        let extra: Vec<_> = documented().difference(&routed()).cloned().collect();
        assert!(
            extra.is_empty(),
            "documented operations without a route: {extra:?}"
        );
    }

    #[test]
    fn operation_ids_are_unique() {
        let document = document();
        let mut ids = BTreeSet::new();
        for item in document["paths"].as_object().unwrap().values() {
            for (key, operation) in item.as_object().unwrap() {
                if METHODS.contains(&key.as_str()) {
                    let id = operation["operationId"].as_str().unwrap().to_string();
                    assert!(ids.insert(id.clone()), "operationId {id} appears twice");
                }
            }
        }
    }
}
