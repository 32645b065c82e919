//! The data each plugin `Store` carries: WASI and wasi:http contexts, the outbound policy, the
//! memory limiter and the tenant's settings, plus the `host` interface the plugin imports.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::ResourceLimiter;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::bindings::photosync::connector::{host, types};
use super::bindings::LogLevel;
use crate::config::Settings;
use crate::outbound::OutboundPolicy;

/// Maximum length of a plugin log message. Longer ones are cut so a plugin cannot flood the log.
const MAX_LOG_MESSAGE_BYTES: usize = 4096;

/// Limits a store's linear memories, tables and instances, and remembers whether it denied a
/// memory grow, because a Rust guest that runs out of memory aborts with a plain `unreachable`
/// trap.
pub struct MemoryLimiter {
    max_memory_bytes: usize,
    max_instances: usize,
    max_tables: usize,
    pub(super) denied_grow: bool,
}

impl MemoryLimiter {
    pub fn new(max_memory_bytes: usize, max_instances: usize, max_tables: usize) -> MemoryLimiter {
        MemoryLimiter {
            max_memory_bytes,
            max_instances,
            max_tables,
            denied_grow: false,
        }
    }
}

/// Table elements one plugin instance may allocate; a connector needs a few hundred.
const MAX_TABLE_ELEMENTS: usize = 20_000;

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Failing the grow traps at once, as `StoreLimits` does with `trap_on_grow_failure`:
        // a Rust guest could not recover from an allocation failure anyway.
        if desired > self.max_memory_bytes {
            self.denied_grow = true;
            return Err(wasmtime::Error::msg(format!(
                "memory limit: growing linear memory to {desired} bytes exceeds the limit of {} bytes",
                self.max_memory_bytes
            )));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        self.max_instances
    }

    fn tables(&self) -> usize {
        self.max_tables
    }

    fn memories(&self) -> usize {
        self.max_instances
    }
}

/// Everything a plugin store holds.
pub struct PluginState {
    pub(super) wasi: WasiCtx,
    pub(super) http: WasiHttpCtx,
    pub(super) table: ResourceTable,
    pub(super) outbound: OutboundPolicy,
    pub(super) limiter: MemoryLimiter,
    pub(super) tenant: Arc<str>,
    pub(super) plugin: Arc<str>,
    pub(super) settings: Arc<Settings>,
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for PluginState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}

impl types::Host for PluginState {}

impl host::Host for PluginState {
    fn setting(&mut self, name: String) -> Option<String> {
        self.settings.get(&name).map(str::to_string)
    }

    fn log(&mut self, level: LogLevel, message: String) {
        let mut message = self.settings.redact(&message);
        if message.len() > MAX_LOG_MESSAGE_BYTES {
            let mut end = MAX_LOG_MESSAGE_BYTES;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push_str(" [cut]");
        }
        let (tenant, plugin) = (&*self.tenant, &*self.plugin);
        match level {
            LogLevel::Trace => tracing::trace!(tenant, plugin, "{message}"),
            LogLevel::Debug => tracing::debug!(tenant, plugin, "{message}"),
            LogLevel::Info => tracing::info!(tenant, plugin, "{message}"),
            LogLevel::Warn => tracing::warn!(tenant, plugin, "{message}"),
            LogLevel::Error => tracing::error!(tenant, plugin, "{message}"),
        }
    }
}
