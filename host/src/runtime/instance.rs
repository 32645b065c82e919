//! One instantiated plugin in its own store, with every export call bounded in CPU and wall time.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use wasmtime::{Store, Trap};

use super::bindings::{
    ConnectorError, ConnectorInfo, Decision, LocalPhoto, PhotoOutcome, Plugin, User, UserPage,
};
use super::epoch::ticks_for;
use super::error::PluginError;
use super::state::PluginState;
use crate::outbound::OutboundViolation;

type CallFuture<'a, R> = Pin<Box<dyn Future<Output = wasmtime::Result<R>> + Send + 'a>>;

/// A live plugin instance. After any failed call it is poisoned and refuses further calls,
/// because a trapped or interrupted instance may hold inconsistent state.
pub struct PluginInstance {
    pub(super) store: Store<PluginState>,
    pub(super) plugin: Plugin,
    pub(super) call_cpu: Duration,
    pub(super) call_wall: Duration,
    pub(super) memory_bytes: usize,
    pub(super) poisoned: Option<&'static str>,
}

impl PluginInstance {
    /// Sets the plugin label (`name version`) used in logs and errors, once `describe` returned it.
    pub fn set_label(&mut self, label: &str) {
        self.store.data_mut().plugin = label.into();
    }

    /// Returns the plugin label used in logs and errors.
    pub fn label(&self) -> String {
        self.store.data().plugin.to_string()
    }

    pub async fn describe(&mut self) -> Result<ConnectorInfo, PluginError> {
        self.call("describe", |plugin, store| {
            Box::pin(plugin.photosync_connector_connector().call_describe(store))
        })
        .await
    }

    pub async fn check(&mut self) -> Result<Result<(), ConnectorError>, PluginError> {
        self.call("check", |plugin, store| {
            Box::pin(plugin.photosync_connector_connector().call_check(store))
        })
        .await
    }

    pub async fn list_users(
        &mut self,
        cursor: Option<&str>,
    ) -> Result<Result<UserPage, ConnectorError>, PluginError> {
        let cursor = cursor.map(str::to_string);
        self.call("list-users", move |plugin, store| {
            Box::pin(async move {
                plugin
                    .photosync_connector_connector()
                    .call_list_users(store, cursor.as_deref())
                    .await
            })
        })
        .await
    }

    pub async fn fetch_photo(
        &mut self,
        user: &User,
        known_etag: Option<&str>,
    ) -> Result<Result<PhotoOutcome, ConnectorError>, PluginError> {
        let (user, known_etag) = (user.clone(), known_etag.map(str::to_string));
        self.call("fetch-photo", move |plugin, store| {
            Box::pin(async move {
                plugin
                    .photosync_connector_connector()
                    .call_fetch_photo(store, &user, known_etag.as_deref())
                    .await
            })
        })
        .await
    }

    pub async fn apply_policy(
        &mut self,
        user: &User,
        outcome: Option<&Result<PhotoOutcome, ConnectorError>>,
        local: &LocalPhoto,
    ) -> Result<Decision, PluginError> {
        let (user, outcome, local) = (user.clone(), outcome.cloned(), local.clone());
        self.call("apply-policy", move |plugin, store| {
            Box::pin(async move {
                plugin
                    .photosync_connector_connector()
                    .call_apply_policy(store, &user, outcome.as_ref().map(Result::as_ref), &local)
                    .await
            })
        })
        .await
    }

    /// Runs one export call under the CPU (epoch) and wall-clock limits and maps failures to
    /// typed errors.
    async fn call<R, F>(&mut self, op: &'static str, start: F) -> Result<R, PluginError>
    where
        F: for<'a> FnOnce(&'a Plugin, &'a mut Store<PluginState>) -> CallFuture<'a, R>,
    {
        let tenant = self.store.data().tenant.to_string();
        let plugin_label = self.store.data().plugin.to_string();
        if let Some(previous) = self.poisoned {
            return Err(PluginError::Trap {
                tenant,
                plugin: plugin_label,
                op,
                message: format!(
                    "the instance already failed in {previous} and cannot be called again"
                ),
            });
        }
        // The epoch deadline counts for the whole store, so it is reset before every call.
        self.store.set_epoch_deadline(ticks_for(self.call_cpu));
        let (call_cpu, call_wall, memory_bytes) =
            (self.call_cpu, self.call_wall, self.memory_bytes);
        let result = tokio::time::timeout(call_wall, start(&self.plugin, &mut self.store)).await;
        let violation = self.store.data_mut().outbound.take_violation();
        if let Some(violation) = violation {
            self.poisoned = Some(op);
            return Err(violation_error(violation, tenant, plugin_label));
        }
        let error = match result {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => {
                self.classify(error, &tenant, &plugin_label, op, call_cpu, memory_bytes)
            }
            Err(_elapsed) => PluginError::WallTimeLimit {
                tenant,
                plugin: plugin_label,
                op,
                limit: call_wall,
            },
        };
        self.poisoned = Some(op);
        Err(error)
    }

    fn classify(
        &mut self,
        error: wasmtime::Error,
        tenant: &str,
        plugin: &str,
        op: &'static str,
        call_cpu: Duration,
        memory_bytes: usize,
    ) -> PluginError {
        let (tenant, plugin) = (tenant.to_string(), plugin.to_string());
        if std::mem::take(&mut self.store.data_mut().limiter.denied_grow) {
            return PluginError::MemoryLimit {
                tenant,
                plugin,
                op,
                limit_mib: memory_bytes >> 20,
            };
        }
        if error.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
            return PluginError::CpuTimeLimit {
                tenant,
                plugin,
                op,
                limit: call_cpu,
            };
        }
        PluginError::Trap {
            tenant,
            plugin,
            op,
            message: format!("{error:#}"),
        }
    }
}

/// Turns a request the host stopped into the error that ends the run.
fn violation_error(violation: OutboundViolation, tenant: String, plugin: String) -> PluginError {
    match violation {
        OutboundViolation::Denied(origin) => PluginError::HostDenied {
            tenant,
            plugin,
            host: origin.to_string(),
        },
        OutboundViolation::ResponseTooLarge { origin, limit } => PluginError::ResponseTooLarge {
            tenant,
            plugin,
            origin: origin.to_string(),
            limit_mib: limit >> 20,
        },
        OutboundViolation::Tls {
            origin,
            message,
            trusted,
        } => PluginError::Tls {
            tenant,
            plugin,
            origin: origin.to_string(),
            message,
            trusted,
        },
    }
}
