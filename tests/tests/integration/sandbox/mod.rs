//! The plugin sandbox: each limit stops only the tenant that breaks it, a plugin under a limit
//! is not stopped, HTTPS trusts the tenant's own authority, secrets stay out of every output,
//! and compiled plugins are cached across restarts.
//!
//! The misbehaving tenant runs `tests/guests/misbehave`. The well-behaved one runs the real
//! Entra connector against the Graph simulator in the same host process at the same time.

mod cache;
mod guest_server;
mod limits;
mod secrets;
mod tls;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use graph_sim::GraphSim;
use photosync::config::Config;
use photosync::engine::{run_tenant, NoProgress, RunReport, RunRequest};
use photosync::store::Store;

use crate::support::{
    fixture, member_with_photo, plugin_path, runtime, CLIENT_ID, CLIENT_SECRET, TENANT_ID,
};

/// Tenant id of the well-behaved tenant.
pub const GOOD_TENANT: &str = "contoso";
/// Tenant id of the tenant running the misbehaving guest.
pub const BAD_TENANT: &str = "misbehave";

/// Returns the misbehaving test connector built by `cargo xtask test`.
pub fn guest_path() -> PathBuf {
    let path = std::env::var_os("PHOTOSYNC_TEST_GUEST_WASM")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            crate::support::workspace_root()
                .join("target/wasm32-wasip2/release/photosync_test_guest.wasm")
        });
    assert!(
        path.is_file(),
        "test guest component {} not found; run the tests with `cargo xtask test`, which builds it",
        path.display()
    );
    path
}

/// Formats the `[[tenant]]` table of the well-behaved Entra tenant pointed at `graph_url`.
pub fn good_tenant_toml(graph_url: &str, extra: &str) -> String {
    format!(
        r#"
[[tenant]]
id = "{GOOD_TENANT}"
plugin = "{plugin}"
allowed_hosts = ["{graph_url}"]
{extra}

[tenant.settings]
tenant_id = "{TENANT_ID}"
client_id = "{CLIENT_ID}"
client_secret = {{ file = "client-secret" }}
login_host = "{graph_url}"
graph_host = "{graph_url}"
"#,
        plugin = plugin_path().display(),
    )
}

/// Formats the `[[tenant]]` table of the misbehaving tenant from TOML lines of settings and limits.
pub fn bad_tenant_toml(allowed: &[String], settings: &str, limits: &str) -> String {
    guest_tenant_toml(BAD_TENANT, allowed, settings, limits)
}

/// Formats the `[[tenant]]` table of a tenant `id` running the misbehaving guest.
pub fn guest_tenant_toml(id: &str, allowed: &[String], settings: &str, limits: &str) -> String {
    let allowed: Vec<String> = allowed.iter().map(|host| format!("\"{host}\"")).collect();
    format!(
        r#"
[[tenant]]
id = "{id}"
plugin = "{plugin}"
allowed_hosts = [{allowed}]

[tenant.settings]
{settings}

[tenant.limits]
{limits}
"#,
        plugin = guest_path().display(),
        allowed = allowed.join(", "),
    )
}

/// Writes `photosync.toml` with the given tenant tables plus the secret file, and loads it.
pub fn write_tenants(directory: &Path, tenants: &[String]) -> Config {
    let path = write_tenants_file(directory, tenants);
    Config::load(&path).expect("test configuration is valid")
}

/// Writes `photosync.toml` (data in `data/`) and the secret file, and returns the config path.
pub fn write_tenants_file(directory: &Path, tenants: &[String]) -> PathBuf {
    std::fs::write(directory.join("client-secret"), CLIENT_SECRET).unwrap();
    let text = format!("data_dir = \"data\"\n{}", tenants.concat());
    let path = directory.join("photosync.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A Graph simulator with one user with a photo, a data directory, and a configuration with the
/// good tenant and a misbehaving one.
pub struct TwoTenants {
    /// Kept so the simulator and the data directory live as long as the test.
    _sim: GraphSim,
    _directory: tempfile::TempDir,
    pub store: Arc<Store>,
    pub config: Config,
}

impl TwoTenants {
    /// Starts the simulator and configures the misbehaving tenant with `settings` and `limits`.
    pub async fn start(allowed: &[String], settings: &str, limits: &str) -> TwoTenants {
        let sim = GraphSim::start(fixture(vec![member_with_photo(1, "astronaut-96.jpg")]))
            .await
            .expect("graph-sim starts");
        let directory = tempfile::tempdir().unwrap();
        let config = write_tenants(
            directory.path(),
            &[
                good_tenant_toml(&sim.base_url(), ""),
                bad_tenant_toml(allowed, settings, limits),
            ],
        );
        let store = Arc::new(Store::open(&config.data_dir).unwrap());
        TwoTenants {
            _sim: sim,
            _directory: directory,
            store,
            config,
        }
    }

    /// Runs both tenants at the same time in one host and returns (good, bad) reports.
    pub async fn run_both(&self) -> (RunReport, RunReport) {
        let good = run_tenant(
            runtime(),
            &self.store,
            self.config.tenant(GOOD_TENANT).unwrap(),
            RunRequest::manual(),
            &NoProgress,
        );
        let bad = run_tenant(
            runtime(),
            &self.store,
            self.config.tenant(BAD_TENANT).unwrap(),
            RunRequest::manual(),
            &NoProgress,
        );
        let (good, bad) = tokio::join!(good, bad);
        (
            good.expect("good run recorded"),
            bad.expect("bad run recorded"),
        )
    }

    /// Runs only the misbehaving tenant.
    pub async fn run_bad(&self) -> RunReport {
        run_tenant(
            runtime(),
            &self.store,
            self.config.tenant(BAD_TENANT).unwrap(),
            RunRequest::manual(),
            &NoProgress,
        )
        .await
        .expect("bad run recorded")
    }
}
