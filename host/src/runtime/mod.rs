//! The wasmtime side of photosync: one engine and linker for the process, compiled plugins, and
//! a fresh sandboxed store per plugin instance.
//!
//! A plugin instance gets no filesystem, no environment variables, no sockets and no DNS. Its
//! only ways out are the `host` interface (its tenant's settings and the log) and wasi:http
//! requests that pass the tenant's allow-list. Memory, CPU time and wall time are bounded per
//! call; see `config::Limits` for the defaults.

mod bindings;
mod epoch;
mod error;
mod instance;
mod state;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config as EngineConfig, Engine, Store};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi_http::WasiHttpCtx;

pub use bindings::{
    Action, ConnectorError, ConnectorInfo, Decision, LocalPhoto, Photo, PhotoOutcome, PhotoSource,
    Scope, SettingInfo, User, UserKind, UserPage,
};
pub use error::PluginError;
pub use instance::PluginInstance;

use crate::config::TenantConfig;
use crate::outbound::{OutboundPolicy, OutboundTimeouts};
use bindings::{Plugin, PluginPre};
use epoch::EpochTicker;
use state::{MemoryLimiter, PluginState};

/// The engine, the linker and the compiled plugins of one host process.
pub struct Runtime {
    engine: Engine,
    linker: Linker<PluginState>,
    plugins: Mutex<HashMap<PathBuf, Arc<LoadedPlugin>>>,
    _ticker: EpochTicker,
}

/// A compiled plugin, ready to instantiate many times.
pub struct LoadedPlugin {
    pre: PluginPre<PluginState>,
    /// Lowercase hex sha256 of the `.wasm` file.
    pub sha256: String,
    pub path: PathBuf,
}

impl Runtime {
    /// Creates the engine (epoch interruption on) and the linker with WASI, wasi:http and the
    /// `host` interface.
    pub fn new() -> Result<Runtime> {
        let mut config = EngineConfig::new();
        config.epoch_interruption(true);
        let engine = Engine::new(&config)
            .map_err(|error| anyhow::anyhow!("failed to create the wasmtime engine: {error:#}"))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(wasm_error)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(wasm_error)?;
        Plugin::add_to_linker::<PluginState, HasSelf<PluginState>>(&mut linker, |state| state)
            .map_err(wasm_error)?;
        let ticker =
            EpochTicker::start(&engine).context("failed to start the epoch ticker thread")?;
        Ok(Runtime {
            engine,
            linker,
            plugins: Mutex::default(),
            _ticker: ticker,
        })
    }

    /// Compiles the plugin at `path`, or returns it from this process's cache when its bytes
    /// have not changed.
    pub fn load(&self, path: &Path) -> Result<Arc<LoadedPlugin>> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("failed to read plugin {}", path.display()))?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let mut plugins = self
            .plugins
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(plugin) = plugins.get(path).filter(|plugin| plugin.sha256 == sha256) {
            return Ok(plugin.clone());
        }
        let started = std::time::Instant::now();
        let component = Component::from_binary(&self.engine, &bytes).map_err(|error| {
            anyhow::anyhow!("failed to compile plugin {}: {error:#}", path.display())
        })?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|error| {
                anyhow::anyhow!(
                    "plugin {} does not match the photosync:connector@0.1.0 contract or imports something the host does not provide: {error:#}",
                    path.display()
                )
            })?;
        let pre = PluginPre::new(pre).map_err(|error| {
            anyhow::anyhow!(
                "plugin {} does not export photosync:connector/connector@0.1.0: {error:#}",
                path.display()
            )
        })?;
        tracing::info!(plugin = %path.display(), sha256 = %&sha256[..12], elapsed_ms = started.elapsed().as_millis() as u64, "compiled plugin");
        let plugin = Arc::new(LoadedPlugin {
            pre,
            sha256,
            path: path.to_path_buf(),
        });
        plugins.insert(path.to_path_buf(), plugin.clone());
        Ok(plugin)
    }
}

impl LoadedPlugin {
    /// Creates a fresh instance for `tenant`, in its own store with the tenant's limits,
    /// settings and allowed hosts.
    pub async fn instantiate(&self, tenant: &TenantConfig) -> Result<PluginInstance, PluginError> {
        let tenant_id: Arc<str> = tenant.id.as_str().into();
        let label: Arc<str> = self
            .path
            .file_name()
            .map_or_else(|| "plugin".into(), |name| name.to_string_lossy().into());
        // No preopens, no environment, no sockets: the builder grants none of them by default.
        let wasi = WasiCtxBuilder::new().build();
        let state = PluginState {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            outbound: OutboundPolicy::new(
                tenant_id.clone(),
                tenant.allowed_hosts.clone(),
                OutboundTimeouts::default(),
            ),
            limiter: MemoryLimiter::new(tenant.limits.memory_bytes),
            tenant: tenant_id,
            plugin: label.clone(),
            settings: tenant.settings.clone(),
        };
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|state| &mut state.limiter);
        // Instantiation runs the guest's start-up code, so it gets the per-call CPU budget too.
        store.set_epoch_deadline(epoch::ticks_for(tenant.limits.call_cpu));
        let plugin = self
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|error| PluginError::Instantiate {
                tenant: tenant.id.clone(),
                plugin: label.to_string(),
                message: format!("{error:#}"),
            })?;
        Ok(PluginInstance {
            store,
            plugin,
            call_cpu: tenant.limits.call_cpu,
            call_wall: tenant.limits.call_wall,
            memory_bytes: tenant.limits.memory_bytes,
            poisoned: None,
        })
    }
}

fn wasm_error(error: wasmtime::Error) -> anyhow::Error {
    anyhow::anyhow!("failed to set up the wasmtime linker: {error:#}")
}
