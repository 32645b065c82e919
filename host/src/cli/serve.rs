//! `photosync serve`: the long-lived host that runs every tenant on its daily schedule until
//! SIGTERM or SIGINT, then stops its runs at a safe point and exits.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::signal::unix::{signal, SignalKind};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::api::{self, ApiState};
use crate::config::Config;
use crate::runtime::{Runtime, RuntimeOptions};
use crate::schedule::{Clock, Scheduler, SchedulerHandle, SystemClock};
use crate::store::Store;

/// The parts of a running `serve` process that other services of the process (such as an
/// HTTP API) share.
pub struct ServeContext {
    pub config: Config,
    pub store: Arc<Store>,
    pub runtime: Arc<Runtime>,
    /// Starts runs through the scheduler's run slots and lease.
    pub scheduler: SchedulerHandle,
}

/// A started scheduler with its context.
pub struct Serving {
    pub context: ServeContext,
    scheduler: Scheduler,
}

impl Serving {
    /// Opens the store, creates the runtime and starts the scheduler on `clock`.
    pub fn start(config: Config, clock: Arc<dyn Clock>) -> Result<Serving> {
        let store = Arc::new(Store::open(&config.data_dir)?);
        let runtime = Arc::new(Runtime::with_options(&RuntimeOptions::for_config(&config))?);
        let scheduler = Scheduler::start(
            config.tenants.clone(),
            store.clone(),
            runtime.clone(),
            clock,
            &config.serve,
        );
        let context = ServeContext {
            scheduler: scheduler.handle(),
            config,
            store,
            runtime,
        };
        Ok(Serving { context, scheduler })
    }

    /// Cancels the runs, waits up to `serve.shutdown_grace_seconds` for them to stop, and
    /// returns.
    pub async fn stop(self) {
        let grace = self.context.config.serve.shutdown_grace;
        self.scheduler.shutdown();
        if self.scheduler.wait(grace).await {
            tracing::info!("every run stopped; exiting");
        } else {
            tracing::warn!(
                grace_seconds = grace.as_secs(),
                "some runs did not stop within the shutdown grace time; exiting anyway, and the next start records them as interrupted and catches them up"
            );
        }
    }
}

/// Runs `photosync serve`, the scheduler and the platform API, until SIGTERM or SIGINT.
pub async fn run(config_path: &Path) -> Result<ExitCode> {
    let config = Config::load(config_path)?;
    let mut terminate = signal(SignalKind::terminate()).context("failed to listen for SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("failed to listen for SIGINT")?;
    let listener = TcpListener::bind(config.serve.listen).await.with_context(|| {
        format!(
            "failed to listen on {} for the platform API; free that port or set [serve] listen to another address",
            config.serve.listen
        )
    })?;
    let tenants = config.tenants.len();
    let serving = Serving::start(config, Arc::new(SystemClock))?;
    let api_state = ApiState::new(
        Arc::new(serving.context.config.clone()),
        serving.context.store.clone(),
        serving.context.runtime.clone(),
    );
    let api_shutdown = CancellationToken::new();
    let api = tokio::spawn(api::serve(
        listener,
        api_state,
        api_shutdown.clone().cancelled_owned(),
    ));
    tracing::info!(tenants, "photosync serve started");
    let name = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    };
    tracing::info!(
        signal = name,
        "shutting down: no new runs start, running ones stop at a safe point"
    );
    api_shutdown.cancel();
    serving.stop().await;
    match api.await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::error!("the platform API failed: {error:#}"),
        Err(error) => tracing::error!("the platform API task failed: {error}"),
    }
    Ok(ExitCode::SUCCESS)
}
