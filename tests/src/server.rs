//! The running server: [`GraphSim`] binds a loopback listener, serves the router and offers
//! the library's control methods.
//!
//! Addresses other than loopback (127.0.0.0/8, ::1) are rejected, so the simulator never
//! listens where another machine could reach it.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::counters::Counters;
use crate::faults::Faults;
use crate::fixture::{Fixture, FixtureUser};
use crate::graph_error::graph_error;
use crate::state::SimState;
use crate::{control, photos, token, users};

/// A running simulator. Dropping it stops the server in the background, and
/// [`GraphSim::shutdown`] also waits until it has stopped.
pub struct GraphSim {
    state: Arc<SimState>,
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl GraphSim {
    /// Starts serving `fixture` on `127.0.0.1` with a port chosen by the system.
    pub async fn start(fixture: Fixture) -> anyhow::Result<GraphSim> {
        GraphSim::start_on(fixture, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Starts serving `fixture` on `address`, which must be a loopback address. Port 0 lets
    /// the system choose.
    pub async fn start_on(fixture: Fixture, address: SocketAddr) -> anyhow::Result<GraphSim> {
        check_loopback(address)?;
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("failed to listen on {address}"))?;
        let address = listener
            .local_addr()
            .context("failed to read the listening address")?;
        let user_count = fixture.users.len();
        let state = Arc::new(SimState::new(fixture, format!("http://{address}"))?);

        let app = router(Arc::clone(&state));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    // A dropped sender stops the server too.
                    let _ = stopped.await;
                })
                .await
        });
        tracing::info!(%address, users = user_count, "graph-sim started");
        Ok(GraphSim {
            state,
            address,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Returns the base URL, for example `http://127.0.0.1:41234`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.state.base_url.clone()
    }

    /// Returns the listening address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Returns a snapshot of the counters.
    pub fn counters(&self) -> Counters {
        self.state.counters()
    }

    /// Zeroes the counters.
    pub fn reset_counters(&self) {
        self.state.reset_counters();
    }

    /// Replaces the faults in force and restarts their progress.
    ///
    /// # Panics
    /// Panics when [`Faults::validate`] rejects `faults`.
    pub fn set_faults(&self, faults: Faults) {
        if let Err(error) = self.state.set_faults(faults) {
            panic!("GraphSim::set_faults: {error}");
        }
    }

    /// Returns the faults in force.
    pub fn faults(&self) -> Faults {
        self.state.faults()
    }

    /// Replaces a user's photo and returns the new etag, quoted as `@odata.mediaEtag` and the
    /// `ETag` header carry it.
    ///
    /// # Panics
    /// Panics when the user does not exist or `content_type` is not a valid header value.
    pub fn set_photo(&self, user_id: &str, bytes: Vec<u8>, content_type: &str) -> String {
        self.state
            .set_photo(user_id, bytes, content_type)
            .unwrap_or_else(|error| panic!("GraphSim::set_photo: {error}"))
    }

    /// Removes a user's photo, so its photo requests return 404 `ImageNotFound`.
    ///
    /// # Panics
    /// Panics when the user does not exist.
    pub fn remove_photo(&self, user_id: &str) {
        if let Err(error) = self.state.remove_photo(user_id) {
            panic!("GraphSim::remove_photo: {error}");
        }
    }

    /// Removes a user from the directory: it is no longer listed and its photo requests
    /// return 404 `Request_ResourceNotFound`.
    ///
    /// # Panics
    /// Panics when the user does not exist.
    pub fn remove_user(&self, user_id: &str) {
        if let Err(error) = self.state.remove_user(user_id) {
            panic!("GraphSim::remove_user: {error}");
        }
    }

    /// Adds a user at the end of the listing. `photo`, when given, replaces the user's
    /// `photo_bytes`.
    ///
    /// # Panics
    /// Panics when the id already exists or a field is invalid.
    pub fn add_user(&self, user: FixtureUser, photo: Option<Vec<u8>>) {
        if let Err(error) = self.state.add_user(user, photo) {
            panic!("GraphSim::add_user: {error}");
        }
    }

    /// Stops accepting connections, lets requests in progress finish, and waits for the
    /// server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            match task.await {
                Ok(Ok(())) => tracing::info!(address = %self.address, "graph-sim stopped"),
                Ok(Err(error)) => tracing::error!(%error, "graph-sim server failed"),
                Err(error) => tracing::error!(%error, "graph-sim server task failed"),
            }
        }
    }
}

impl Drop for GraphSim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Returns an error for a non-loopback address. The message names an address to use instead.
pub fn check_loopback(address: SocketAddr) -> anyhow::Result<()> {
    if !address.ip().is_loopback() {
        bail!(
            "refusing to listen on {address}: graph-sim listens only on loopback addresses \
             (127.0.0.0/8 or ::1); use for example 127.0.0.1:0"
        );
    }
    Ok(())
}

/// Writes `base_url` and a newline to `path` through a temporary file and a rename, so a
/// reader sees either no file or the whole line.
pub fn write_addr_file(path: &Path, base_url: &str) -> anyhow::Result<()> {
    let file_name = path
        .file_name()
        .with_context(|| format!("address file {} has no file name", path.display()))?;
    let mut temporary_name = file_name.to_os_string();
    temporary_name.push(format!(".{}.tmp", std::process::id()));
    let temporary = path.with_file_name(temporary_name);
    fs::write(&temporary, format!("{base_url}\n"))
        .with_context(|| format!("failed to write {}", temporary.display()))?;
    fs::rename(&temporary, path).with_context(|| {
        format!(
            "failed to rename {} to {}",
            temporary.display(),
            path.display()
        )
    })
}

/// Builds all routes: token endpoint, Graph routes, and the control API under `/_sim`.
fn router(state: Arc<SimState>) -> Router {
    let graph = Router::new()
        .route("/v1.0/users", get(users::list_users))
        .route("/v1.0/users/{id}/photo", get(photos::photo_metadata))
        .route("/v1.0/users/{id}/photo/$value", get(photos::photo_value))
        // Clients that percent-encode the `$` reach the same handler.
        .route("/v1.0/users/{id}/photo/%24value", get(photos::photo_value))
        .fallback(unknown_route)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            count_statuses,
        ));

    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token::issue_token))
        .nest("/_sim", control::router())
        .merge(graph)
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// Returns Graph's 400 `BadRequest` for an unknown path segment to requests that match no
/// route.
async fn unknown_route(headers: HeaderMap, request: Request) -> Response {
    let segment = request
        .uri()
        .path()
        .rsplit('/')
        .find(|segment| !segment.is_empty())
        .unwrap_or_default()
        .to_string();
    graph_error(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        &format!("Resource not found for the segment '{segment}'."),
        &headers,
    )
}

/// Counts Graph error responses by status.
async fn count_statuses(
    State(state): State<Arc<SimState>>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        state.lock().counters.count_status(status.as_u16());
    }
    response
}

/// Logs each request's method, path, status and duration at debug level. Query strings,
/// headers and bodies are left out, because they carry tokens and the client secret.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::debug!(
        %method,
        path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv6Addr, SocketAddrV4};

    use reqwest::StatusCode;

    use super::*;
    use crate::test_support::{client, error_code, get_json, small_fixture, start_small, token};

    #[tokio::test]
    async fn non_loopback_address_rejected() {
        let unspecified = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
        let error = GraphSim::start_on(small_fixture(), unspecified)
            .await
            .err()
            .unwrap();
        assert!(error.to_string().contains("loopback"), "{error}");
        assert!(check_loopback(SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0))).is_err());
    }

    #[test]
    fn loopback_addresses_accepted() {
        assert!(check_loopback(SocketAddr::V4(SocketAddrV4::new(
            Ipv4Addr::new(127, 0, 0, 2),
            0
        )))
        .is_ok());
        assert!(check_loopback(SocketAddr::from((Ipv6Addr::LOCALHOST, 0))).is_ok());
    }

    #[test]
    fn addr_file_holds_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("graph-sim.addr");
        write_addr_file(&path, "http://127.0.0.1:41234").unwrap();

        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "http://127.0.0.1:41234\n"
        );
        let entries = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(entries, 1, "no temporary file is left behind");
    }

    #[tokio::test]
    async fn base_url_matches_address() {
        let sim = start_small().await;
        assert_eq!(sim.base_url(), format!("http://{}", sim.address()));
        assert!(sim.address().ip().is_loopback());
        assert_ne!(sim.address().port(), 0);
    }

    #[tokio::test]
    async fn unknown_route_is_bad_request() {
        let sim = start_small().await;
        let client = client();
        let token = token(&client, &sim).await;
        let (status, _, body) = get_json(&client, &sim, "/v1.0/groups", &token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(error_code(&body), "BadRequest");
        assert_eq!(
            body["error"]["message"],
            "Resource not found for the segment 'groups'."
        );
    }

    #[tokio::test]
    async fn shutdown_closes_listener() {
        let sim = start_small().await;
        let address = sim.address();
        sim.shutdown().await;
        let connected = tokio::net::TcpStream::connect(address).await;
        assert!(connected.is_err(), "the port still accepts connections");
    }

    #[tokio::test]
    async fn fixture_validated_on_start() {
        let mut fixture = small_fixture();
        fixture.users[0].photo_bytes = None;
        let error = GraphSim::start(fixture).await.err().unwrap();
        assert!(format!("{error:#}").contains("u-photo"), "{error:#}");
    }

    #[tokio::test]
    #[should_panic(expected = "user nobody does not exist")]
    async fn set_photo_unknown_user_panics() {
        let sim = start_small().await;
        sim.set_photo("nobody", vec![1], "image/jpeg");
    }
}
