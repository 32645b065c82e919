//! Waiting between attempts: `Retry-After` when the source gives one, otherwise exponential
//! backoff with jitter, within a per-run throttling budget.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::Rng;

/// First backoff delay when the source gave no `Retry-After`.
const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Maximum single backoff delay.
const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// Returns the delay before retry number `attempt` (0 for the first retry): the source's
/// `Retry-After` when given, else `BACKOFF_BASE * 2^attempt`, capped, with half of it jittered
/// so parallel workers do not retry in step.
pub fn delay_for(attempt: u32, retry_after_seconds: Option<u32>) -> Duration {
    if let Some(seconds) = retry_after_seconds.filter(|seconds| *seconds > 0) {
        return Duration::from_secs(u64::from(seconds)).min(BACKOFF_MAX);
    }
    let exponential = BACKOFF_BASE
        .saturating_mul(1u32 << attempt.min(16))
        .min(BACKOFF_MAX);
    let half = exponential / 2;
    half + half.mul_f64(rand::thread_rng().gen::<f64>())
}

/// The time a run may still spend waiting on throttling, shared by its workers.
pub struct ThrottleBudget {
    remaining_ms: AtomicU64,
}

impl ThrottleBudget {
    pub fn new(budget: Duration) -> ThrottleBudget {
        ThrottleBudget {
            remaining_ms: AtomicU64::new(budget.as_millis() as u64),
        }
    }

    /// Takes `delay` from the budget; returns false, taking nothing, when it does not fit.
    pub fn take(&self, delay: Duration) -> bool {
        let wanted = delay.as_millis() as u64;
        self.remaining_ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |remaining| {
                remaining.checked_sub(wanted)
            })
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_honoured() {
        assert_eq!(delay_for(3, Some(7)), Duration::from_secs(7));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let first = delay_for(0, None);
        assert!(first >= BACKOFF_BASE / 2);
        assert!(first <= BACKOFF_BASE);
        assert!(delay_for(30, None) <= BACKOFF_MAX);
    }

    #[test]
    fn budget_refuses_what_does_not_fit() {
        let budget = ThrottleBudget::new(Duration::from_secs(3));
        assert!(budget.take(Duration::from_secs(2)));
        assert!(!budget.take(Duration::from_secs(2)));
    }
}
