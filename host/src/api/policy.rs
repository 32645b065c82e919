//! The photo policy: whether sync locks a user's manual photo edits, with which message, and
//! the `GET /v1/tenants/{tenant}/photo-policy` response the apps use to show that message.
//!
//! The lock rule: while `sync_enabled` is true, every user is locked except users whom the last
//! complete run listed as outside the connector's scope (guests or disabled accounts, as the
//! connector settings decide), because sync never provides their photo. With sync off,
//! nobody is locked.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Serialize;

use super::errors::ApiError;
use super::ApiState;
use crate::config::TenantConfig;
use crate::schedule::{format_utc, plan_tenant};
use crate::store::{RunStatus, Store};

/// Runs searched for the last committed one. More failed runs in a row than this show as no
/// sync at all, which a failing tenant's run history makes visible anyway.
const RUNS_SEARCHED_FOR_LAST_SYNC: usize = 100;

/// The `photo-policy` response body.
#[derive(Debug, Serialize)]
pub struct PhotoPolicy {
    pub tenant: String,
    pub sync_enabled: bool,
    /// `microsoft_365` while sync provides photos, `manual` while users upload their own.
    pub source: &'static str,
    /// The informational message to show while sync is on; null while it is off.
    pub message: Option<String>,
    /// When the last run that committed changes ended (RFC 3339, UTC).
    pub last_sync_at: Option<String>,
    /// When the next scheduled run starts (RFC 3339, UTC); null while sync is off.
    pub next_sync_at: Option<String>,
}

/// Returns the message that rejects a manual edit of `user_id`'s photo, or none when the user
/// may edit it.
pub fn edit_lock(
    tenant: &TenantConfig,
    store: &Store,
    user_id: &str,
) -> anyhow::Result<Option<String>> {
    if !tenant.sync_enabled {
        return Ok(None);
    }
    let message = match store.directory_user(&tenant.id, user_id)? {
        Some(user) if user.excluded_reason.is_some() && user.lock_message.is_none() => None,
        Some(user) => Some(
            user.lock_message
                .unwrap_or_else(|| tenant.sync_message.clone()),
        ),
        None => Some(tenant.sync_message.clone()),
    };
    Ok(message)
}

/// `GET /v1/tenants/{tenant}/photo-policy`: any token of the tenant. For a user token, the
/// message is that user's lock message, and null when the user is outside the sync scope.
pub async fn get_photo_policy(
    State(state): State<ApiState>,
    Path(tenant_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<PhotoPolicy>, ApiError> {
    let principal = state.tokens().authorize(&headers, &tenant_id)?;
    let tenant = state.tenant(&tenant_id)?;
    let store = state.store();

    let message = match principal.user_id() {
        Some(user_id) => edit_lock(tenant, store, user_id),
        None => Ok(tenant.sync_enabled.then(|| tenant.sync_message.clone())),
    }
    .map_err(|error| ApiError::internal("failed to read the photo lock", &error))?;
    let runs = store
        .recent_runs(Some(&tenant.id), RUNS_SEARCHED_FOR_LAST_SYNC)
        .map_err(|error| ApiError::internal("failed to read the run history", &error))?;
    let last_sync_at = runs
        .into_iter()
        .find(|run| !run.dry_run && matches!(run.status, RunStatus::Succeeded | RunStatus::Partial))
        .and_then(|run| run.finished_at);
    let next_sync_at = if tenant.sync_enabled {
        let plan = plan_tenant(
            store,
            tenant,
            state.max_schedule_offset(),
            time::OffsetDateTime::now_utc(),
        )
        .map_err(|error| ApiError::internal("failed to plan the next run", &error))?;
        Some(format_utc(plan.start_at))
    } else {
        None
    };

    Ok(Json(PhotoPolicy {
        tenant: tenant.id.clone(),
        sync_enabled: tenant.sync_enabled,
        source: if tenant.sync_enabled {
            "microsoft_365"
        } else {
            "manual"
        },
        message,
        last_sync_at,
        next_sync_at,
    }))
}
