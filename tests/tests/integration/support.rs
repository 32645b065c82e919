//! Shared set-up for the integration tests: a Graph simulator on loopback, a tenant
//! configuration pointing at it, a data directory, and the real plugin in the real host.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use graph_sim::{Fixture, FixtureUser, GraphSim, PhotoError, UserType};
use photosync::config::{Config, TenantConfig};
use photosync::engine::{run_tenant, NoProgress, RunReport, RunRequest};
use photosync::runtime::Runtime;
use photosync::store::Store;

pub const TENANT_ID: &str = "contoso.onmicrosoft.com";
pub const CLIENT_ID: &str = "5f6c1e2a-1b3d-4c5e-8f90-0a1b2c3d4e5f";
pub const CLIENT_SECRET: &str = "Qx8~sim-secret-value.for_tests";

/// Returns the connector component built by `cargo xtask test`.
pub fn plugin_path() -> PathBuf {
    let path = std::env::var_os("PHOTOSYNC_PLUGIN_WASM")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            workspace_root().join("target/wasm32-wasip2/release/photosync_entra.wasm")
        });
    assert!(
        path.is_file(),
        "plugin component {} not found; run the tests with `cargo xtask test`, which builds it",
        path.display()
    );
    path
}

/// Returns the `photosync` binary built by `cargo xtask test`.
pub fn photosync_binary() -> PathBuf {
    let path = std::env::var_os("PHOTOSYNC_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/debug/photosync"));
    assert!(
        path.is_file(),
        "photosync binary {} not found; run the tests with `cargo xtask test`, which builds it",
        path.display()
    );
    path
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Reads a photo from `tests/fixtures/photos`.
pub fn photo_file(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/photos")
        .join(name);
    std::fs::read(&path)
        .unwrap_or_else(|error| panic!("failed to read {}: {error}", path.display()))
}

/// Returns one wasmtime runtime for the whole test binary, so the plugin compiles once.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new().expect("wasmtime runtime"))
}

/// Returns a member with a deterministic GUID-shaped id and no photo.
pub fn member(index: usize) -> FixtureUser {
    let id = format!("{index:08x}-1111-4222-8333-444455556666");
    FixtureUser::new(
        &id,
        &format!("user{index}@contoso.com"),
        &format!("User {index}"),
    )
}

/// Returns a member with one of the sample photos.
pub fn member_with_photo(index: usize, photo: &str) -> FixtureUser {
    let mut user = member(index);
    user.photo = Some(format!("photos/{photo}"));
    user.photo_bytes = Some(photo_file(photo));
    user
}

/// Returns a member whose photo requests fail with a Graph error.
pub fn member_with_error(index: usize, status: u16, code: &str) -> FixtureUser {
    let mut user = member(index);
    user.photo_error = Some(PhotoError {
        status,
        code: code.to_string(),
        message: format!("simulated {code}"),
    });
    user
}

pub fn guest(index: usize, principal_name: &str) -> FixtureUser {
    let mut user = member_with_photo(index, "astronaut-96.jpg");
    user.user_principal_name = principal_name.to_string();
    user.user_type = Some(UserType::Guest);
    user
}

pub fn fixture(users: Vec<FixtureUser>) -> Fixture {
    Fixture {
        tenant_id: TENANT_ID.to_string(),
        client_id: CLIENT_ID.to_string(),
        client_secret: CLIENT_SECRET.to_string(),
        page_size: 999,
        users,
    }
}

/// A simulator, a data directory and a tenant configuration that points at the simulator.
pub struct Harness {
    pub sim: GraphSim,
    pub directory: tempfile::TempDir,
    pub store: Arc<Store>,
    pub config: Config,
}

impl Harness {
    /// Starts a simulator with `fixture` and writes a configuration whose `[tenant.settings]`
    /// and `[tenant.limits]` get `extra` appended (TOML lines).
    pub async fn start(fixture: Fixture, extra_settings: &str, extra_limits: &str) -> Harness {
        let sim = GraphSim::start(fixture).await.expect("graph-sim starts");
        let directory = tempfile::tempdir().unwrap();
        let base_url = sim.base_url();
        let config = write_config(
            directory.path(),
            &base_url,
            &base_url,
            &base_url,
            extra_settings,
            extra_limits,
        );
        let store = Arc::new(Store::open(&config.data_dir).unwrap());
        Harness {
            sim,
            directory,
            store,
            config,
        }
    }

    pub fn tenant(&self) -> &TenantConfig {
        &self.config.tenants[0]
    }

    /// Runs one sync of the tenant with the real plugin in the real host.
    pub async fn sync(&self) -> RunReport {
        run_tenant(
            runtime(),
            &self.store,
            self.tenant(),
            RunRequest::manual(),
            &NoProgress,
        )
        .await
        .expect("the run starts and is recorded")
    }

    pub fn config_path(&self) -> PathBuf {
        self.directory.path().join("photosync.toml")
    }

    /// Returns the sha256 of every stored photo, by user id.
    pub fn stored(&self) -> std::collections::BTreeMap<String, String> {
        self.store
            .local_photos(&self.tenant().id)
            .unwrap()
            .into_iter()
            .map(|(user, photo)| (user, photo.sha256))
            .collect()
    }
}

/// Writes `photosync.toml` plus the secret file into `directory` and loads it.
pub fn write_config(
    directory: &Path,
    allowed: &str,
    login_host: &str,
    graph_host: &str,
    extra_settings: &str,
    extra_limits: &str,
) -> Config {
    std::fs::write(directory.join("client-secret"), CLIENT_SECRET).unwrap();
    let text = format!(
        r#"
data_dir = "data"

[[tenant]]
id = "contoso"
plugin = "{plugin}"
allowed_hosts = ["{allowed}"]

[tenant.settings]
tenant_id = "{TENANT_ID}"
client_id = "{CLIENT_ID}"
client_secret = {{ file = "client-secret" }}
login_host = "{login_host}"
graph_host = "{graph_host}"
{extra_settings}

[tenant.limits]
{extra_limits}
"#,
        plugin = plugin_path().display(),
    );
    let path = directory.join("photosync.toml");
    std::fs::write(&path, text).unwrap();
    Config::load(&path).expect("test configuration is valid")
}
