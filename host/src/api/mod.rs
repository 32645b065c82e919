//! The platform HTTP API: photos, the photo policy, and run history for the platform's web,
//! mobile and Teams clients.
//!
//! This module owns the routes, authentication and the sync lock on manual photo edits. It
//! does not own listening sockets or the process lifecycle: the caller passes a bound listener
//! and a shutdown signal to [`serve`].

mod auth;
mod errors;
mod openapi;
mod photos;
mod policy;
mod resize;
mod runs;
mod upload;

use std::future::Future;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

pub use auth::{hash_token, Principal, TokenIndex};
pub use errors::ApiError;
pub use policy::{edit_lock, PhotoPolicy};
pub use resize::{AVATAR_SIZES, VARIANT_CACHE_BYTES};
pub use runs::{ActiveRun, ActiveRuns};
pub use upload::{MAX_UPLOAD_BYTES, MAX_UPLOAD_PIXELS, MAX_UPLOAD_SIDE};

use crate::config::{Config, TenantConfig};
use crate::runtime::Runtime;
use crate::store::Store;
use resize::VariantCache;

/// Path of a user's photo, for the user themself (and for reading by anyone in the tenant).
pub const USER_PHOTO_PATH: &str = "/v1/tenants/{tenant}/users/{user}/photo";
/// Path of a user's photo for an admin of the tenant.
pub const ADMIN_PHOTO_PATH: &str = "/v1/tenants/{tenant}/admin/users/{user}/photo";
/// Path of a tenant's photo policy.
pub const POLICY_PATH: &str = "/v1/tenants/{tenant}/photo-policy";
/// Path of a tenant's run history and "run now".
pub const RUNS_PATH: &str = "/v1/tenants/{tenant}/sync/runs";
/// Path of the OpenAPI description.
pub const OPENAPI_PATH: &str = "/v1/openapi.json";

/// Maximum number of image decodes (upload checks and resizes) running at once. The decoder
/// allocation limit is 128 MiB per decode, so four bound the API's decode memory to about
/// 512 MiB. Further requests wait for a permit.
pub const MAX_CONCURRENT_DECODES: usize = 4;

/// How often a shutdown checks whether the runs started through the API have stopped.
const RUN_STOP_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

/// Everything the handlers share; cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Arc<Config>,
    store: Arc<Store>,
    runtime: Arc<Runtime>,
    tokens: TokenIndex,
    variants: VariantCache,
    active_runs: Arc<ActiveRuns>,
    run_cancel: CancellationToken,
    decodes: Arc<Semaphore>,
}

impl ApiState {
    /// Creates the state for `config`, with its own [`ActiveRuns`].
    pub fn new(config: Arc<Config>, store: Arc<Store>, runtime: Arc<Runtime>) -> ApiState {
        ApiState::with_active_runs(config, store, runtime, Arc::default())
    }

    /// Creates the state with an [`ActiveRuns`] shared with a scheduler in the same process.
    pub fn with_active_runs(
        config: Arc<Config>,
        store: Arc<Store>,
        runtime: Arc<Runtime>,
        active_runs: Arc<ActiveRuns>,
    ) -> ApiState {
        let tokens = TokenIndex::from_config(&config);
        ApiState {
            inner: Arc::new(Inner {
                config,
                store,
                runtime,
                tokens,
                variants: VariantCache::new(VARIANT_CACHE_BYTES),
                active_runs,
                run_cancel: CancellationToken::new(),
                decodes: Arc::new(Semaphore::new(MAX_CONCURRENT_DECODES)),
            }),
        }
    }

    fn tokens(&self) -> &TokenIndex {
        &self.inner.tokens
    }

    fn store(&self) -> &Store {
        &self.inner.store
    }

    fn store_arc(&self) -> Arc<Store> {
        self.inner.store.clone()
    }

    fn runtime(&self) -> Arc<Runtime> {
        self.inner.runtime.clone()
    }

    fn variants(&self) -> &VariantCache {
        &self.inner.variants
    }

    /// Waits for one of the [`MAX_CONCURRENT_DECODES`] permits to decode an image.
    async fn decode_permit(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.inner
            .decodes
            .clone()
            .acquire_owned()
            .await
            .map_err(|error| {
                ApiError::internal("the decode limiter is closed", &anyhow::Error::new(error))
            })
    }

    fn active_runs(&self) -> &Arc<ActiveRuns> {
        &self.inner.active_runs
    }

    /// Cancelled when [`serve`] returns, so runs started through the API stop at a safe point.
    fn run_cancel(&self) -> &CancellationToken {
        &self.inner.run_cancel
    }

    /// Returns the configuration of an authorized tenant. Authorization already matched the
    /// token's tenant, so a miss means the token index and the configuration disagree.
    fn max_schedule_offset(&self) -> std::time::Duration {
        self.inner.config.serve.max_schedule_offset
    }

    fn tenant(&self, id: &str) -> Result<&TenantConfig, ApiError> {
        self.inner
            .config
            .tenants
            .iter()
            .find(|tenant| tenant.id == id)
            .ok_or_else(|| {
                ApiError::forbidden(format!(
                    "this token does not grant access to tenant '{id}'; use a token issued for that tenant"
                ))
            })
    }
}

/// One route: a method on a path, with its handler.
pub(crate) struct RouteSpec {
    method: Method,
    path: &'static str,
    handler: MethodRouter<ApiState>,
}

impl RouteSpec {
    /// Routes `method` on `path` to `handler`; the method filter comes from `method`, so the
    /// table cannot list one method and route another.
    fn new<H, T>(method: Method, path: &'static str, handler: H) -> RouteSpec
    where
        H: Handler<T, ApiState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone())
            .expect("route table methods are standard HTTP methods");
        RouteSpec {
            method,
            path,
            handler: on(filter, handler),
        }
    }
}

/// Lists every route of the API. The router is built from this table and the OpenAPI test compares
/// it with the document, so the two cannot drift apart.
pub(crate) fn route_table() -> Vec<RouteSpec> {
    vec![
        RouteSpec::new(Method::GET, OPENAPI_PATH, openapi::get_openapi),
        RouteSpec::new(Method::GET, USER_PHOTO_PATH, photos::get_photo),
        RouteSpec::new(Method::PUT, USER_PHOTO_PATH, photos::put_own_photo),
        RouteSpec::new(Method::DELETE, USER_PHOTO_PATH, photos::delete_own_photo),
        RouteSpec::new(Method::PUT, ADMIN_PHOTO_PATH, photos::put_admin_photo),
        RouteSpec::new(Method::DELETE, ADMIN_PHOTO_PATH, photos::delete_admin_photo),
        RouteSpec::new(Method::GET, POLICY_PATH, policy::get_photo_policy),
        RouteSpec::new(Method::GET, RUNS_PATH, runs::list_runs),
        RouteSpec::new(Method::POST, RUNS_PATH, runs::start_run),
    ]
}

/// Returns the method and path of every route, in the order of the route table.
pub fn route_list() -> Vec<(Method, &'static str)> {
    route_table()
        .into_iter()
        .map(|route| (route.method, route.path))
        .collect()
}

/// Builds the API router with JSON 404 and 405 responses for unknown routes and methods.
pub fn router(state: ApiState) -> Router {
    let mut router = Router::new();
    for route in route_table() {
        router = router.route(route.path, route.handler);
    }
    router
        .fallback(errors::route_not_found)
        .method_not_allowed_fallback(errors::method_not_allowed)
        .layer(axum::middleware::map_response(errors::json_rejections))
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` completes, then cancels the runs it started
/// and waits for open requests to finish.
pub async fn serve(
    listener: TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let address = listener
        .local_addr()
        .context("failed to read the API address")?;
    tracing::info!(%address, "platform API listening");
    let run_cancel = state.run_cancel().clone();
    let active_runs = state.active_runs().clone();
    let grace = state.inner.config.serve.shutdown_grace;
    let result = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .context("the platform API server failed");
    run_cancel.cancel();
    // Runs started through the API stop at their next safe point and record themselves as
    // interrupted. Waiting for them keeps the process alive until those records are written.
    let deadline = tokio::time::Instant::now() + grace;
    while !active_runs.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(RUN_STOP_POLL_INTERVAL).await;
    }
    if !active_runs.is_empty() {
        tracing::warn!(
            grace_seconds = grace.as_secs(),
            "runs started through the API did not stop within the shutdown grace time; the next start records them as interrupted"
        );
    }
    tracing::info!(%address, "platform API stopped");
    result
}
