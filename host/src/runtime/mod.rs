//! The wasmtime side of photosync: one engine and linker for the process, compiled plugins, and
//! a fresh sandboxed store per plugin instance.
//!
//! A plugin instance gets no filesystem, no environment variables, no sockets and no DNS. Its
//! only ways out are the `host` interface (its tenant's settings and the log) and wasi:http
//! requests that pass the tenant's allow-list. Memory, CPU time and wall time are bounded per
//! call; see `config::Limits` for the defaults.

mod bindings;
mod cache;
mod epoch;
mod error;
mod instance;
mod pooling;
mod state;
mod stdio;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config as EngineConfig, Engine, InstanceAllocationStrategy, Store};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi_http::WasiHttpCtx;

pub use bindings::{
    Action, ConnectorError, ConnectorInfo, Decision, LocalPhoto, Photo, PhotoOutcome, PhotoSource,
    Scope, SettingInfo, User, UserKind, UserPage,
};
pub use error::PluginError;
pub use instance::PluginInstance;
pub use pooling::PoolSizes;

use crate::config::TenantConfig;
use crate::outbound::{OutboundPolicy, OutboundTimeouts};
use bindings::{Plugin, PluginPre};
use cache::ComponentCache;
use epoch::EpochTicker;
use state::{MemoryLimiter, PluginState};
use stdio::{LogStream, StdStream};

/// Engine settings beyond the fixed ones (epoch interruption).
#[derive(Clone, Debug, Default)]
pub struct RuntimeOptions {
    /// Directory of compiled components kept across restarts; none compiles every plugin at
    /// start-up.
    pub component_cache: Option<PathBuf>,
    /// Sizes of the pooling instance allocator; none allocates each instance on demand.
    pub pool: Option<PoolSizes>,
}

/// Returns the compiled-component cache directory inside a data directory.
pub fn component_cache_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("cache").join("components")
}

impl RuntimeOptions {
    /// Builds the options the `photosync` binary uses: the disk cache in the data directory
    /// and a pool sized from the tenants' limits.
    pub fn for_config(config: &crate::config::Config) -> RuntimeOptions {
        RuntimeOptions {
            component_cache: Some(component_cache_dir(&config.data_dir)),
            pool: Some(PoolSizes::for_config(config)),
        }
    }
}

/// The engine, the linker and the compiled plugins of one host process.
pub struct Runtime {
    engine: Engine,
    linker: Linker<PluginState>,
    plugins: Mutex<HashMap<PathBuf, Arc<LoadedPlugin>>>,
    disk_cache: Option<ComponentCache>,
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
    /// `host` interface, with no disk cache and on-demand allocation.
    pub fn new() -> Result<Runtime> {
        Runtime::with_options(&RuntimeOptions::default())
    }

    /// Creates the runtime with the compiled-component cache and pooling set in `options`.
    pub fn with_options(options: &RuntimeOptions) -> Result<Runtime> {
        let mut config = EngineConfig::new();
        config.epoch_interruption(true);
        if let Some(pool) = &options.pool {
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool.config()));
        }
        let engine = Engine::new(&config)
            .map_err(|error| anyhow::anyhow!("failed to create the wasmtime engine: {error:#}"))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(wasm_error)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(wasm_error)?;
        Plugin::add_to_linker::<PluginState, HasSelf<PluginState>>(&mut linker, |state| state)
            .map_err(wasm_error)?;
        let ticker =
            EpochTicker::start(&engine).context("failed to start the epoch ticker thread")?;
        let disk_cache = options
            .component_cache
            .as_deref()
            .map(|directory| ComponentCache::open(directory, &engine))
            .transpose()?;
        Ok(Runtime {
            engine,
            linker,
            plugins: Mutex::default(),
            disk_cache,
            _ticker: ticker,
        })
    }

    /// Compiles the plugin at `path`, or returns it from this process's cache when its bytes
    /// have not changed, or loads it from the disk cache when one is configured.
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
        let component = self.compile_or_load(path, &bytes, &sha256)?;
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
        let plugin = Arc::new(LoadedPlugin {
            pre,
            sha256,
            path: path.to_path_buf(),
        });
        plugins.insert(path.to_path_buf(), plugin.clone());
        Ok(plugin)
    }

    fn compile_or_load(&self, path: &Path, bytes: &[u8], sha256: &str) -> Result<Component> {
        let started = std::time::Instant::now();
        if let Some(component) = self
            .disk_cache
            .as_ref()
            .and_then(|cache| cache.load(&self.engine, sha256))
        {
            tracing::info!(plugin = %path.display(), elapsed_ms = started.elapsed().as_millis() as u64, "loaded plugin {sha256} from the compiled-component cache");
            return Ok(component);
        }
        let component = Component::from_binary(&self.engine, bytes).map_err(|error| {
            anyhow::anyhow!("failed to compile plugin {}: {error:#}", path.display())
        })?;
        tracing::info!(plugin = %path.display(), elapsed_ms = started.elapsed().as_millis() as u64, "compiled plugin {sha256}");
        if let Some(cache) = &self.disk_cache {
            if let Err(error) = cache.store(sha256, &component) {
                tracing::warn!(plugin = %path.display(), "failed to write the compiled component to the cache; the next start compiles it again: {error:#}");
            }
        }
        Ok(component)
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
        // Standard output and error go to the host log.
        let stream = |kind| {
            LogStream::new(
                kind,
                tenant_id.clone(),
                label.clone(),
                tenant.settings.clone(),
            )
        };
        let wasi = WasiCtxBuilder::new()
            .stdout(stream(StdStream::Stdout))
            .stderr(stream(StdStream::Stderr))
            .build();
        let limits = &tenant.limits;
        let timeouts = OutboundTimeouts {
            connect: limits.connect_timeout,
            first_byte: limits.first_byte_timeout,
            between_bytes: limits.between_bytes_timeout,
        };
        let state = PluginState {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            outbound: OutboundPolicy::new(
                tenant_id.clone(),
                tenant.allowed_hosts.clone(),
                timeouts,
                limits.max_response_bytes,
                tenant.tls.clone(),
            ),
            limiter: MemoryLimiter::new(
                limits.memory_bytes,
                limits.max_instances,
                limits.max_tables,
            ),
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
