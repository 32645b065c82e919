//! An API server on 127.0.0.1 for one test, with two tenants, their tokens, and a Graph
//! simulator behind `contoso`.

use std::io::Cursor;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use graph_sim::{Fixture, GraphSim};
use image::{DynamicImage, ImageFormat};
use photosync::api::{hash_token, serve, ApiState};
use photosync::config::Config;
use photosync::runtime::Runtime;
use photosync::store::Store;
use tokio::sync::oneshot;

use crate::support::{member, plugin_path, CLIENT_ID, CLIENT_SECRET, TENANT_ID};

pub const ADMIN_TOKEN: &str = "contoso-admin-7f3a9c";
pub const USER1_TOKEN: &str = "contoso-user1-41b2d8";
pub const USER2_TOKEN: &str = "contoso-user2-9e0c55";
pub const GUEST_TOKEN: &str = "contoso-guest-3d7e10";
pub const OTHER_TENANT_ADMIN_TOKEN: &str = "fabrikam-admin-c81f02";
/// The tenant's `sync_message`, used while the directory snapshot has no lock for a user.
pub const TENANT_MESSAGE: &str = "Contoso photos come from Microsoft 365; change yours in Outlook.";
/// The connector's `lock_message`, stored per user by each run.
pub const CONNECTOR_MESSAGE: &str = "Managed by Contoso IT: update your photo in Teams.";
/// Index of the guest user of `fixture`s built by the tests.
pub const GUEST_INDEX: usize = 9;

/// A running API server plus the simulator and data behind it.
pub struct ApiServer {
    pub sim: GraphSim,
    pub store: Arc<Store>,
    pub config: Arc<Config>,
    pub base_url: String,
    pub client: reqwest::Client,
    directory: tempfile::TempDir,
    _running: Running,
}

/// Stops the server task when dropped.
struct Running {
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Returns the wasmtime runtime shared by the API servers of this test binary.
fn api_runtime() -> Arc<Runtime> {
    static RUNTIME: OnceLock<Arc<Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| Arc::new(Runtime::new().expect("wasmtime runtime")))
        .clone()
}

impl ApiServer {
    /// Starts a simulator with `fixture` and an API server whose `contoso` tenant has
    /// `sync_enabled = sync_enabled`.
    pub async fn start(fixture: Fixture, sync_enabled: bool) -> ApiServer {
        let sim = GraphSim::start(fixture).await.expect("graph-sim starts");
        let directory = tempfile::tempdir().unwrap();
        ApiServer::launch(sim, directory, sync_enabled).await
    }

    /// Stops this server and starts a new one on the same data directory and simulator, with
    /// `sync_enabled` switched as an operator would in the configuration file.
    pub async fn restart(self, sync_enabled: bool) -> ApiServer {
        let ApiServer {
            sim,
            directory,
            _running,
            ..
        } = self;
        drop(_running);
        ApiServer::launch(sim, directory, sync_enabled).await
    }

    async fn launch(sim: GraphSim, directory: tempfile::TempDir, sync_enabled: bool) -> ApiServer {
        let config = Arc::new(write_config(
            directory.path(),
            &sim.base_url(),
            sync_enabled,
        ));
        let store = Arc::new(Store::open(&config.data_dir).unwrap());
        let state = ApiState::new(config.clone(), store.clone(), api_runtime());

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, state, async move {
            let _ = stopped.await;
        }));
        ApiServer {
            sim,
            store,
            config,
            base_url,
            client: reqwest::Client::new(),
            directory,
            _running: Running {
                shutdown: Some(shutdown),
                task: Some(task),
            },
        }
    }

    /// Shuts the server down as `photosync serve` does on SIGTERM, and waits until it returns.
    pub async fn shut_down(mut self) {
        let shutdown = self
            ._running
            .shutdown
            .take()
            .expect("the server is running");
        let _ = shutdown.send(());
        let task = self._running.task.take().expect("the server is running");
        task.await
            .expect("the server task ends")
            .expect("the server stops cleanly");
    }

    /// Returns the URL of a path on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Returns the user-route photo URL of fixture member `index` of `contoso`.
    pub fn photo_url(&self, index: usize) -> String {
        self.url(&format!(
            "/v1/tenants/contoso/users/{}/photo",
            member(index).id
        ))
    }

    /// Returns the admin-route photo URL of fixture member `index` of `contoso`.
    pub fn admin_photo_url(&self, index: usize) -> String {
        self.url(&format!(
            "/v1/tenants/contoso/admin/users/{}/photo",
            member(index).id
        ))
    }

    /// Runs one sync of `contoso` with the real plugin, as the scheduler would.
    pub async fn sync(&self) -> photosync::engine::RunReport {
        photosync::engine::run_tenant(
            &api_runtime(),
            &self.store,
            &self.config.tenants[0],
            photosync::engine::RunRequest::manual(),
            &photosync::engine::NoProgress,
        )
        .await
        .expect("the run starts and is recorded")
    }

    /// Returns the sha256 and source of member `index`'s stored photo.
    pub fn stored(&self, index: usize) -> Option<(String, photosync::store::PhotoSource)> {
        self.store
            .photo("contoso", &member(index).id)
            .unwrap()
            .map(|photo| (photo.sha256, photo.source))
    }
}

/// Reads an error response's `error` code and `message`.
pub async fn error_body(response: reqwest::Response) -> (String, String) {
    let body: serde_json::Value = response.json().await.expect("a JSON error body");
    (
        body["error"].as_str().unwrap_or_default().to_string(),
        body["message"].as_str().unwrap_or_default().to_string(),
    )
}

/// Encodes a solid-colour PNG of the given size.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let image = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
        width,
        height,
        image::Rgb([30, 120, 200]),
    ));
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
        .unwrap();
    bytes
}

fn write_config(directory: &Path, base_url: &str, sync_enabled: bool) -> Config {
    std::fs::write(directory.join("client-secret"), CLIENT_SECRET).unwrap();
    let guest_id = member(GUEST_INDEX).id;
    let text = format!(
        r#"
data_dir = "data"

[[tenant]]
id = "contoso"
plugin = "{plugin}"
allowed_hosts = ["{base_url}"]
sync_enabled = {sync_enabled}
sync_message = "{TENANT_MESSAGE}"

[tenant.settings]
tenant_id = "{TENANT_ID}"
client_id = "{CLIENT_ID}"
client_secret = {{ file = "client-secret" }}
login_host = "{base_url}"
graph_host = "{base_url}"
lock_message = "{CONNECTOR_MESSAGE}"

[[tenant.api_tokens]]
sha256 = "{admin}"
role = "admin"

[[tenant.api_tokens]]
sha256 = "{user1}"
role = "user"
user_id = "{user1_id}"

[[tenant.api_tokens]]
sha256 = "{user2}"
role = "user"
user_id = "{user2_id}"

[[tenant.api_tokens]]
sha256 = "{guest}"
role = "user"
user_id = "{guest_id}"

[[tenant]]
id = "fabrikam"
plugin = "{plugin}"
allowed_hosts = ["{base_url}"]
sync_enabled = false

[tenant.settings]
tenant_id = "{TENANT_ID}"
client_id = "{CLIENT_ID}"
client_secret = {{ file = "client-secret" }}
login_host = "{base_url}"
graph_host = "{base_url}"

[[tenant.api_tokens]]
sha256 = "{other_admin}"
role = "admin"
"#,
        plugin = plugin_path().display(),
        admin = hash_token(ADMIN_TOKEN),
        user1 = hash_token(USER1_TOKEN),
        user2 = hash_token(USER2_TOKEN),
        guest = hash_token(GUEST_TOKEN),
        other_admin = hash_token(OTHER_TENANT_ADMIN_TOKEN),
        user1_id = member(1).id,
        user2_id = member(2).id,
    );
    let path = directory.join("photosync.toml");
    std::fs::write(&path, text).unwrap();
    Config::load(&path).expect("test configuration is valid")
}
