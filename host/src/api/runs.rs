//! Admin run routes: the run history with per-user failures, and "run now".
//!
//! A run started here follows the no-overlap rule twice over. [`ActiveRuns`] rejects a second
//! API run of a tenant at once. The tenant's run lease in the database rejects a run while any
//! other run has it, in this process (the scheduler) or another one.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, RawQuery, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::auth::require_admin;
use super::errors::ApiError;
use super::ApiState;
use crate::engine::{run_tenant_with_lease, take_lease, NoProgress, RunRequest, StartError};
use crate::store::RunRecord;

/// Runs listed when the request gives no `limit`.
const DEFAULT_RUNS_LISTED: usize = 20;
/// Most runs one request may list, so one response stays small.
const MAX_RUNS_LISTED: usize = 100;

/// Tenants with a run started through this API going on.
#[derive(Debug, Default)]
pub struct ActiveRuns {
    tenants: Mutex<HashSet<String>>,
}

/// A tenant's place in [`ActiveRuns`], freed when dropped.
pub struct ActiveRun {
    runs: Arc<ActiveRuns>,
    tenant: String,
}

impl ActiveRuns {
    /// Marks `tenant` as running, or returns none when it already is.
    pub fn try_start(self: &Arc<Self>, tenant: &str) -> Option<ActiveRun> {
        let inserted = self.lock().insert(tenant.to_string());
        inserted.then(|| ActiveRun {
            runs: self.clone(),
            tenant: tenant.to_string(),
        })
    }

    /// Returns whether no run started through the API is going on.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Returns whether a run of `tenant` is going on in this process.
    pub fn is_running(&self, tenant: &str) -> bool {
        self.lock().contains(tenant)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // A set of names holds no invariant a panic could break, so a poisoned lock is usable.
        self.tenants
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for ActiveRun {
    fn drop(&mut self) {
        self.runs.lock().remove(&self.tenant);
    }
}

/// The run history response body.
#[derive(Serialize)]
pub struct RunHistory {
    pub runs: Vec<RunRecord>,
}

/// The "run now" response body.
#[derive(Serialize)]
pub struct RunStarted {
    pub tenant: String,
    pub status: &'static str,
    /// URL of the run history, which lists the run once it has started.
    pub runs_url: String,
}

/// `GET /v1/tenants/{tenant}/sync/runs[?limit=N]`: newest runs first, with per-user failures.
pub async fn list_runs(
    State(state): State<ApiState>,
    Path(tenant_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<RunHistory>, ApiError> {
    let principal = state.tokens().authorize(&headers, &tenant_id)?;
    require_admin(&principal)?;
    let limit = requested_limit(query.as_deref())?;
    let runs = state
        .store()
        .recent_runs(Some(&tenant_id), limit)
        .map_err(|error| ApiError::internal("failed to read the run history", &error))?;
    Ok(Json(RunHistory { runs }))
}

/// `POST /v1/tenants/{tenant}/sync/runs`: starts a run in the background and responds 202, or
/// 409 `run_in_progress` while a run of the tenant goes on.
pub async fn start_run(
    State(state): State<ApiState>,
    Path(tenant_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let principal = state.tokens().authorize(&headers, &tenant_id)?;
    require_admin(&principal)?;
    let tenant = state.tenant(&tenant_id)?.clone();
    if !tenant.sync_enabled {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "sync_disabled",
            format!("tenant '{tenant_id}' has sync_enabled = false, so no run starts; set sync_enabled = true in the configuration and restart photosync serve"),
        ));
    }

    let Some(active) = state.active_runs().try_start(&tenant.id) else {
        return Err(run_in_progress(&tenant.id, "this host"));
    };
    let store = state.store_arc();
    let lease = match take_lease(&store, &tenant) {
        Ok(lease) => lease,
        Err(error) => match error.downcast_ref::<StartError>() {
            Some(StartError::LeaseTaken { holder, .. }) => {
                return Err(run_in_progress(&tenant.id, holder))
            }
            _ => return Err(ApiError::internal("failed to take the run lease", &error)),
        },
    };

    let runtime = state.runtime();
    let request = RunRequest {
        cancel: state.run_cancel().child_token(),
        ..RunRequest::manual()
    };
    tokio::spawn(async move {
        let _active = active;
        // The run releases the lease when it ends, also when it fails to start.
        match run_tenant_with_lease(&runtime, &store, &tenant, lease, request, &NoProgress).await {
            Ok(report) => tracing::info!(
                tenant = %tenant.id,
                run_id = report.run_id,
                status = report.status.as_str(),
                "run started through the API ended"
            ),
            Err(error) => {
                tracing::error!(tenant = %tenant.id, "run started through the API failed to start: {error:#}");
            }
        }
    });

    tracing::info!(tenant = %tenant_id, "started a run through the API");
    let runs_url = format!("/v1/tenants/{tenant_id}/sync/runs");
    let mut response = (
        StatusCode::ACCEPTED,
        Json(RunStarted {
            tenant: tenant_id.clone(),
            status: "started",
            runs_url: runs_url.clone(),
        }),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&runs_url) {
        response.headers_mut().insert(LOCATION, value);
    }
    Ok(response)
}

fn run_in_progress(tenant: &str, holder: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "run_in_progress",
        format!("a run of tenant '{tenant}' is already in progress (held by {holder}); wait for it to end, then check GET /v1/tenants/{tenant}/sync/runs"),
    )
}

fn requested_limit(query: Option<&str>) -> Result<usize, ApiError> {
    let mut limit = DEFAULT_RUNS_LISTED;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if key != "limit" {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("query parameter '{key}' is not supported; only `limit` is"),
            ));
        }
        limit = value
            .parse()
            .ok()
            .filter(|limit| (1..=MAX_RUNS_LISTED).contains(limit))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_limit",
                    format!("limit '{value}' is invalid; use a whole number from 1 to {MAX_RUNS_LISTED}"),
                )
            })?;
    }
    Ok(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_start_is_refused() {
        let runs = Arc::new(ActiveRuns::default());
        let _first = runs.try_start("contoso").unwrap();
        assert!(runs.try_start("contoso").is_none());
    }

    #[test]
    fn dropped_run_frees_tenant() {
        let runs = Arc::new(ActiveRuns::default());
        drop(runs.try_start("contoso"));
        assert!(!runs.is_running("contoso"));
    }

    #[test]
    fn zero_limit_rejected() {
        let error = requested_limit(Some("limit=0")).unwrap_err();
        assert_eq!(error.code, "invalid_limit");
    }
}
