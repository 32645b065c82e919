//! The fetch phase: plugin instances working through the in-scope users in parallel, each
//! fetching a photo, asking the policy for a decision and writing new photo files.
//!
//! Workers only write content-addressed files, which no row references yet. The rows change
//! when the whole run commits, so a failed or interrupted run leaves every stored photo as it was.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::report::{failure_kind, failure_message, RunError};
use super::retry::{delay_for, ThrottleBudget};
use super::verify::verify_photo;
use crate::config::TenantConfig;
use crate::runtime::{self, Action, ConnectorError, PhotoOutcome, PluginInstance, User};
use crate::store::{self, PhotoChange, PhotoSource, RunFailure, Store};

/// The result for one in-scope user.
#[derive(Debug)]
pub enum UserResult {
    Unchanged,
    Downloaded(PhotoChange),
    Removed(PhotoChange),
    NoPhoto,
    Failed(RunFailure),
}

/// One user's result plus the lock message the policy chose.
#[derive(Debug)]
pub struct UserDone {
    pub user: User,
    pub result: UserResult,
    pub lock: Option<String>,
}

/// A worker's message to the run: a finished user, or an error that ends the run.
#[derive(Debug)]
pub enum WorkerMessage {
    Done(Box<UserDone>),
    Fatal(RunError),
}

/// State shared by the workers of one run.
pub struct FetchContext {
    pub store: Arc<Store>,
    pub tenant: TenantConfig,
    pub plugin: String,
    pub dry_run: bool,
    pub local: HashMap<String, store::LocalPhoto>,
    pub queue: Mutex<VecDeque<User>>,
    pub abort: AtomicBool,
    /// The run's cancellation token: once cancelled, workers take no further user.
    pub cancel: CancellationToken,
    pub retries: AtomicU64,
    pub throttle_budget: ThrottleBudget,
}

impl FetchContext {
    fn next_user(&self) -> Option<User> {
        if self.abort.load(Ordering::SeqCst) || self.cancel.is_cancelled() {
            return None;
        }
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop_front()
    }
}

/// Converts the store's view of a photo into the contract's `local-photo`.
pub fn wit_local(local: Option<&store::LocalPhoto>) -> runtime::LocalPhoto {
    match local {
        None => runtime::LocalPhoto {
            source: runtime::PhotoSource::None,
            etag: None,
            sha256: None,
        },
        Some(photo) => runtime::LocalPhoto {
            source: match photo.source {
                PhotoSource::Synced => runtime::PhotoSource::Synced,
                PhotoSource::Manual => runtime::PhotoSource::Manual,
            },
            etag: photo.etag.clone(),
            sha256: Some(photo.sha256.clone()),
        },
    }
}

/// Runs one worker until the queue is empty or the run is aborted.
pub async fn run_worker(
    mut instance: PluginInstance,
    context: Arc<FetchContext>,
    results: mpsc::UnboundedSender<WorkerMessage>,
) {
    while let Some(user) = context.next_user() {
        let span = tracing::debug_span!("user", user_id = %user.id);
        let message = match handle_user(&mut instance, &context, &user)
            .instrument(span)
            .await
        {
            Ok(done) => WorkerMessage::Done(Box::new(done)),
            Err(error) => {
                context.abort.store(true, Ordering::SeqCst);
                WorkerMessage::Fatal(error)
            }
        };
        let fatal = matches!(message, WorkerMessage::Fatal(_));
        if results.send(message).is_err() || fatal {
            break;
        }
    }
}

async fn handle_user(
    instance: &mut PluginInstance,
    context: &FetchContext,
    user: &User,
) -> Result<UserDone, RunError> {
    let local = context.local.get(&user.id);
    // Only a synced photo's etag matches a version from the source. A manual photo must be
    // replaced as soon as the source has one, so it is fetched without an etag.
    let known_etag = local
        .filter(|photo| photo.source == PhotoSource::Synced)
        .and_then(|photo| photo.etag.as_deref());
    let outcome = fetch_with_retry(instance, context, user, known_etag).await?;
    if let Err(error) = &outcome {
        if let Some(fatal) = RunError::from_connector(error, &context.plugin, &context.tenant.id) {
            return Err(fatal);
        }
    }
    let decision = instance
        .apply_policy(user, Some(&outcome), &wit_local(local))
        .await?;
    let result = match (decision.action, outcome) {
        (Action::Store, Ok(PhotoOutcome::Photo(photo))) => store_photo(context, user, photo),
        (Action::Store, Ok(_)) => failure(
            user,
            "policy",
            "the policy chose to store a photo, but none was fetched",
        ),
        (Action::Remove, _) if local.is_some_and(|photo| photo.source == PhotoSource::Synced) => {
            UserResult::Removed(PhotoChange::Remove {
                user_id: user.id.clone(),
            })
        }
        (Action::Remove, _) => UserResult::NoPhoto,
        (_, Err(error)) => failure(user, failure_kind(&error), &failure_message(&error)),
        (_, Ok(PhotoOutcome::Absent)) => UserResult::NoPhoto,
        (Action::Keep | Action::Skip(_), Ok(_)) => UserResult::Unchanged,
    };
    let mut result = result;
    if let UserResult::Failed(failure) = &mut result {
        // A plugin's message may quote a setting, secrets included.
        failure.message = context.tenant.settings.redact(&failure.message);
        tracing::warn!(tenant = %context.tenant.id, user_id = %user.id, kind = %failure.kind, "photo not synced: {}", failure.message);
    }
    Ok(UserDone {
        user: user.clone(),
        result,
        lock: decision.lock,
    })
}

/// Calls `fetch-photo`, retrying throttled and transient errors within the tenant's limits.
async fn fetch_with_retry(
    instance: &mut PluginInstance,
    context: &FetchContext,
    user: &User,
    known_etag: Option<&str>,
) -> Result<Result<PhotoOutcome, ConnectorError>, RunError> {
    let mut attempt = 0;
    loop {
        let outcome = instance.fetch_photo(user, known_etag).await?;
        let retry_after = match &outcome {
            Err(ConnectorError::Throttled(seconds)) => Some(*seconds),
            Err(ConnectorError::Transient(_)) => None,
            _ => return Ok(outcome),
        };
        if attempt >= context.tenant.limits.retries {
            return Ok(outcome);
        }
        let delay = delay_for(attempt, retry_after);
        if !context.throttle_budget.take(delay) {
            tracing::warn!(tenant = %context.tenant.id, user_id = %user.id, "run's throttling budget is used up; not retrying");
            return Ok(outcome);
        }
        attempt += 1;
        context.retries.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            tenant = %context.tenant.id,
            user_id = %user.id,
            attempt,
            delay_ms = delay.as_millis() as u64,
            reason = %failure_kind(outcome.as_ref().unwrap_err()),
            "retrying photo request"
        );
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            // The caller sees the error it would have retried; the run ends as interrupted.
            () = context.cancel.cancelled() => return Ok(outcome),
        }
    }
}

fn store_photo(context: &FetchContext, user: &User, photo: runtime::Photo) -> UserResult {
    let shape = match verify_photo(&photo.bytes, &photo.content_type) {
        Ok(shape) => shape,
        Err(message) => {
            return failure(
                user,
                "invalid_photo",
                &format!("rejected by the host: {message}"),
            )
        }
    };
    let blob = if context.dry_run {
        store::BlobRef {
            sha256: String::new(),
            size: photo.bytes.len() as u64,
        }
    } else {
        match context.store.write_blob(&context.tenant.id, &photo.bytes) {
            Ok(blob) => blob,
            Err(error) => return failure(user, "storage", &format!("{error:#}")),
        }
    };
    UserResult::Downloaded(PhotoChange::Store {
        user_id: user.id.clone(),
        blob,
        content_type: shape.content_type.to_string(),
        etag: photo.etag,
        width: Some(shape.width),
        height: Some(shape.height),
    })
}

fn failure(user: &User, kind: &str, message: &str) -> UserResult {
    UserResult::Failed(RunFailure {
        user_id: user.id.clone(),
        principal_name: Some(user.principal_name.clone()),
        kind: kind.to_string(),
        message: message.to_string(),
    })
}
