//! Photo routes: read a user's photo (any size variant), and upload or delete it by hand while
//! sync is off.
//!
//! `/v1/tenants/{tenant}/users/{user}/photo` is for the user themself (a user token with that
//! user id); `/v1/tenants/{tenant}/admin/users/{user}/photo` is for an admin of the tenant.
//! Reading a photo needs any token of the tenant, because every client shows colleagues'
//! photos.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::auth::{require_admin, Principal};
use super::errors::ApiError;
use super::policy::edit_lock;
use super::resize::{parse_size, render_variant, Variant};
use super::upload::{check_declared_type, read_body, validate_photo};
use super::ApiState;
use crate::store::StoredPhoto;

/// `Cache-Control` of photo responses. Photos need a token, so shared caches must not keep
/// them; clients may reuse one for five minutes and then revalidate cheaply with its ETag.
pub const PHOTO_CACHE_CONTROL: &str = "private, max-age=300";

/// `GET .../users/{user}/photo[?size=N]`.
pub async fn get_photo(
    State(state): State<ApiState>,
    Path((tenant_id, user_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    state.tokens().authorize(&headers, &tenant_id)?;
    let size = requested_size(query.as_deref())?;
    let photo = state
        .store()
        .photo(&tenant_id, &user_id)
        .map_err(|error| ApiError::internal("failed to look up the photo", &error))?
        .ok_or_else(|| no_photo(&user_id))?;

    let etag = match size {
        Some(size) => format!("\"{}-{size}\"", photo.sha256),
        None => format!("\"{}\"", photo.sha256),
    };
    if etag_matches(&headers, &etag) {
        return Ok(photo_response(
            StatusCode::NOT_MODIFIED,
            &etag,
            None,
            Body::empty(),
        ));
    }

    let variant = match size {
        None => {
            let bytes = read_blob(&state, &tenant_id, &photo.sha256).await?;
            Arc::new(Variant {
                bytes,
                content_type: content_type_of(&photo),
            })
        }
        Some(size) => sized_variant(&state, &tenant_id, &photo, size).await?,
    };
    let body = Body::from(variant.bytes.clone());
    Ok(photo_response(
        StatusCode::OK,
        &etag,
        Some(variant.content_type),
        body,
    ))
}

/// `PUT .../users/{user}/photo`: the user uploads their own photo.
pub async fn put_own_photo(
    State(state): State<ApiState>,
    Path((tenant_id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let principal = state.tokens().authorize(&headers, &tenant_id)?;
    require_self(&principal, &user_id)?;
    put_photo(&state, &principal, &tenant_id, &user_id, &headers, body).await
}

/// `PUT .../admin/users/{user}/photo`: an admin uploads a user's photo.
pub async fn put_admin_photo(
    State(state): State<ApiState>,
    Path((tenant_id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let principal = state.tokens().authorize(&headers, &tenant_id)?;
    require_admin(&principal)?;
    put_photo(&state, &principal, &tenant_id, &user_id, &headers, body).await
}

/// `DELETE .../users/{user}/photo`: the user deletes their own photo.
pub async fn delete_own_photo(
    State(state): State<ApiState>,
    Path((tenant_id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let principal = state.tokens().authorize(&headers, &tenant_id)?;
    require_self(&principal, &user_id)?;
    delete_photo(&state, &principal, &tenant_id, &user_id)
}

/// `DELETE .../admin/users/{user}/photo`: an admin deletes a user's photo.
pub async fn delete_admin_photo(
    State(state): State<ApiState>,
    Path((tenant_id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let principal = state.tokens().authorize(&headers, &tenant_id)?;
    require_admin(&principal)?;
    delete_photo(&state, &principal, &tenant_id, &user_id)
}

async fn put_photo(
    state: &ApiState,
    principal: &Principal,
    tenant_id: &str,
    user_id: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    check_lock(state, tenant_id, user_id)?;
    let declared = check_declared_type(headers)?;
    let bytes = read_body(headers, body).await?;

    let store = state.store_arc();
    let (tenant, user) = (tenant_id.to_string(), user_id.to_string());
    let permit = state.decode_permit().await?;
    let stored = tokio::task::spawn_blocking(move || -> Result<StoredPhoto, ApiError> {
        let _permit = permit;
        let valid = validate_photo(&bytes, declared.as_deref())?;
        let save = || -> anyhow::Result<StoredPhoto> {
            let blob = store.write_blob(&tenant, &bytes)?;
            let replaced = store.put_manual_photo(
                &tenant,
                &user,
                &blob,
                valid.content_type,
                (valid.width, valid.height),
            )?;
            store.remove_unreferenced_blobs(&tenant, &replaced.into_iter().collect::<Vec<_>>())?;
            store
                .photo(&tenant, &user)?
                .ok_or_else(|| anyhow::anyhow!("the stored photo row is missing after the write"))
        };
        save().map_err(|error| ApiError::internal("failed to store the photo", &error))
    })
    .await
    .map_err(|error| ApiError::internal("the upload task failed", &anyhow::Error::new(error)))??;

    tracing::info!(
        tenant = tenant_id,
        user_id,
        by_admin = principal.is_admin(),
        sha256 = %stored.sha256,
        "stored a manual photo"
    );
    let etag = format!("\"{}\"", stored.sha256);
    let mut response = (StatusCode::OK, Json(&stored)).into_response();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(ETAG, value);
    }
    Ok(response)
}

fn delete_photo(
    state: &ApiState,
    principal: &Principal,
    tenant_id: &str,
    user_id: &str,
) -> Result<Response, ApiError> {
    check_lock(state, tenant_id, user_id)?;
    let store = state.store();
    let deleted = store
        .delete_photo(tenant_id, user_id)
        .map_err(|error| ApiError::internal("failed to delete the photo", &error))?
        .ok_or_else(|| no_photo(user_id))?;
    if let Err(error) = store.remove_unreferenced_blobs(tenant_id, &[deleted]) {
        // The row is gone, so the photo is deleted; only the file's space is not yet reclaimed.
        tracing::warn!(
            tenant = tenant_id,
            user_id,
            "failed to remove the photo file: {error:#}"
        );
    }
    tracing::info!(
        tenant = tenant_id,
        user_id,
        by_admin = principal.is_admin(),
        "deleted a photo"
    );
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Rejects the edit with 409 while sync manages the user's photo.
fn check_lock(state: &ApiState, tenant_id: &str, user_id: &str) -> Result<(), ApiError> {
    let tenant = state.tenant(tenant_id)?;
    let lock = edit_lock(tenant, state.store(), user_id)
        .map_err(|error| ApiError::internal("failed to read the photo lock", &error))?;
    match lock {
        Some(message) => {
            tracing::info!(
                tenant = tenant_id,
                user_id,
                "rejected a manual photo change because sync manages the photo"
            );
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "photo_managed_by_sync",
                message,
            ))
        }
        None => Ok(()),
    }
}

fn require_self(principal: &Principal, user_id: &str) -> Result<(), ApiError> {
    if principal.user_id() == Some(user_id) {
        return Ok(());
    }
    let hint = if principal.is_admin() {
        "admins change a user's photo through /v1/tenants/{tenant}/admin/users/{user}/photo"
    } else {
        "a user token changes only its own user's photo"
    };
    Err(ApiError::forbidden(format!(
        "this token may not change the photo of user '{user_id}'; {hint}"
    )))
}

fn requested_size(query: Option<&str>) -> Result<Option<u32>, ApiError> {
    let mut size = None;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if key != "size" {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("query parameter '{key}' is not supported; only `size` is"),
            ));
        }
        size = Some(parse_size(&value)?);
    }
    Ok(size)
}

async fn sized_variant(
    state: &ApiState,
    tenant_id: &str,
    photo: &StoredPhoto,
    size: u32,
) -> Result<Arc<Variant>, ApiError> {
    if let Some(variant) = state.variants().get(&photo.sha256, size) {
        return Ok(variant);
    }
    let bytes = read_blob(state, tenant_id, &photo.sha256).await?;
    let permit = state.decode_permit().await?;
    let variant = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        render_variant(&bytes, size)
    })
    .await
    .map_err(|error| ApiError::internal("the resize task failed", &anyhow::Error::new(error)))?
    .map_err(|error| ApiError::internal("failed to resize the photo", &error))?;
    let variant = Arc::new(variant);
    state
        .variants()
        .insert(&photo.sha256, size, variant.clone());
    Ok(variant)
}

async fn read_blob(state: &ApiState, tenant_id: &str, sha256: &str) -> Result<Vec<u8>, ApiError> {
    let store = state.store_arc();
    let (tenant, sha256) = (tenant_id.to_string(), sha256.to_string());
    tokio::task::spawn_blocking(move || store.read_blob(&tenant, &sha256))
        .await
        .map_err(|error| ApiError::internal("the read task failed", &anyhow::Error::new(error)))?
        .map_err(|error| ApiError::internal("failed to read the photo", &error))
}

fn content_type_of(photo: &StoredPhoto) -> &'static str {
    match photo.content_type.as_str() {
        "image/png" => "image/png",
        "image/gif" => "image/gif",
        _ => "image/jpeg",
    }
}

/// Returns whether `If-None-Match` lists `etag` (weak or strong) or is `*`.
fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|text| text.split(','))
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == etag)
}

fn photo_response(
    status: StatusCode,
    etag: &str,
    content_type: Option<&'static str>,
    body: Body,
) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(ETAG, value);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(PHOTO_CACHE_CONTROL));
    if let Some(content_type) = content_type {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    response
}

fn no_photo(user_id: &str) -> ApiError {
    ApiError::not_found(
        "photo_not_found",
        format!("no photo is stored for user id '{user_id}'; clients show their placeholder avatar (users are addressed by their directory object id, not their sign-in name)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_if_none_match(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(IF_NONE_MATCH, value.parse().unwrap());
        headers
    }

    #[test]
    fn etag_list_matches_member() {
        let headers = with_if_none_match("\"a\", \"b\"");
        assert!(etag_matches(&headers, "\"b\""));
    }

    #[test]
    fn weak_etag_matches() {
        assert!(etag_matches(&with_if_none_match("W/\"a\""), "\"a\""));
    }

    #[test]
    fn other_etag_does_not_match() {
        assert!(!etag_matches(&with_if_none_match("\"a\""), "\"b\""));
    }

    #[test]
    fn unknown_query_parameter_rejected() {
        let error = requested_size(Some("width=48")).unwrap_err();
        assert_eq!(error.code, "invalid_query");
    }
}
