//! Sandbox violations and failures of a plugin call, as typed errors the engine records.

use std::time::Duration;

/// A host-side failure of a plugin call. Each ends the tenant's run as failed.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("plugin {plugin} of tenant '{tenant}': {op} exceeded the memory limit of {limit_mib} MiB; raise limits.memory_mib if the connector needs more")]
    MemoryLimit {
        tenant: String,
        plugin: String,
        op: &'static str,
        limit_mib: usize,
    },
    #[error("plugin {plugin} of tenant '{tenant}': {op} used more than {limit:?} of CPU time and was stopped; raise limits.call_cpu_seconds if the connector needs more")]
    CpuTimeLimit {
        tenant: String,
        plugin: String,
        op: &'static str,
        limit: Duration,
    },
    #[error("plugin {plugin} of tenant '{tenant}': {op} did not return within {limit:?} and was stopped; raise limits.call_wall_seconds or check the remote service")]
    WallTimeLimit {
        tenant: String,
        plugin: String,
        op: &'static str,
        limit: Duration,
    },
    #[error("plugin {plugin} of tenant '{tenant}': request to {host} denied because the host is not in allowed_hosts; if the connector needs it, add \"{host}\" to allowed_hosts of tenant '{tenant}'")]
    HostDenied {
        tenant: String,
        plugin: String,
        host: String,
    },
    #[error("plugin {plugin} of tenant '{tenant}': a response from {origin} was larger than the limit of {limit_mib} MiB and was cut off; raise limits.max_response_mib if the connector needs more")]
    ResponseTooLarge {
        tenant: String,
        plugin: String,
        origin: String,
        limit_mib: u64,
    },
    #[error("plugin {plugin} of tenant '{tenant}': the TLS handshake with {origin} failed: {message}; the tenant trusts {trusted}; set tls_ca_file of tenant '{tenant}' to the PEM file of the authority that signed the server's certificate")]
    Tls {
        tenant: String,
        plugin: String,
        origin: String,
        message: String,
        trusted: String,
    },
    #[error("plugin {plugin} of tenant '{tenant}': {op} trapped: {message}")]
    Trap {
        tenant: String,
        plugin: String,
        op: &'static str,
        message: String,
    },
    #[error("plugin {plugin} of tenant '{tenant}' failed to instantiate: {message}")]
    Instantiate {
        tenant: String,
        plugin: String,
        message: String,
    },
}

impl PluginError {
    /// Returns the stable kind recorded in run records, such as `memory_limit`.
    pub fn kind(&self) -> &'static str {
        match self {
            PluginError::MemoryLimit { .. } => "memory_limit",
            PluginError::CpuTimeLimit { .. } => "cpu_time_limit",
            PluginError::WallTimeLimit { .. } => "wall_time_limit",
            PluginError::HostDenied { .. } => "host_denied",
            PluginError::ResponseTooLarge { .. } => "response_too_large",
            PluginError::Tls { .. } => "tls",
            PluginError::Trap { .. } => "trap",
            PluginError::Instantiate { .. } => "instantiate",
        }
    }
}
