//! The scheduler's source of time: the system clock, or a manual clock that tests advance.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

/// Maximum duration of one sleep of the system clock. Sleeping in slices and reading the wall clock
/// again keeps a wake-up on time after the wall clock is stepped (NTP) or the machine resumes
/// from suspend, because tokio's timers follow a monotonic clock.
const MAX_SLEEP_SLICE: Duration = Duration::from_secs(60);

/// A boxed future returned by [`Clock::sleep_until`].
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Current time and waiting for a moment.
pub trait Clock: Send + Sync {
    /// Returns the current time, in UTC.
    fn now(&self) -> OffsetDateTime;
    /// Completes at or after `moment`; at once when `moment` has passed.
    fn sleep_until(&self, moment: OffsetDateTime) -> Sleep<'_>;
}

/// The machine's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn sleep_until(&self, moment: OffsetDateTime) -> Sleep<'_> {
        Box::pin(async move {
            loop {
                let remaining = moment - self.now();
                if remaining <= time::Duration::ZERO {
                    return;
                }
                let remaining = Duration::try_from(remaining).unwrap_or(MAX_SLEEP_SLICE);
                tokio::time::sleep(remaining.min(MAX_SLEEP_SLICE)).await;
            }
        })
    }
}

/// A clock whose time changes only when a test sets or advances it. Sleepers wake as soon as the
/// time reaches their moment, and a test can wait until something sleeps until a given moment.
pub struct ManualClock {
    now: watch::Sender<OffsetDateTime>,
    sleepers: watch::Sender<Vec<OffsetDateTime>>,
    /// Serializes `advance` so two advances never lose one another's step.
    advancing: Mutex<()>,
}

impl ManualClock {
    /// Creates a clock showing `start`.
    pub fn new(start: OffsetDateTime) -> ManualClock {
        ManualClock {
            now: watch::Sender::new(start),
            sleepers: watch::Sender::new(Vec::new()),
            advancing: Mutex::new(()),
        }
    }

    /// Sets the time to `moment` and wakes every sleeper whose moment is reached.
    pub fn set(&self, moment: OffsetDateTime) {
        self.now.send_replace(moment);
    }

    /// Moves the time forward by `step`.
    pub fn advance(&self, step: time::Duration) {
        let _guard = self
            .advancing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let next = *self.now.borrow() + step;
        self.now.send_replace(next);
    }

    /// Returns the moments that tasks are sleeping until, sorted.
    pub fn sleepers(&self) -> Vec<OffsetDateTime> {
        let mut moments = self.sleepers.borrow().clone();
        moments.sort();
        moments
    }

    /// Waits until `count` tasks sleep until `moment`, or fails after `timeout` of real time.
    pub async fn wait_for_sleepers(
        &self,
        moment: OffsetDateTime,
        count: usize,
        timeout: Duration,
    ) -> Result<(), String> {
        let mut receiver = self.sleepers.subscribe();
        let waiting = async move {
            let _ = receiver
                .wait_for(|moments| {
                    moments.iter().filter(|sleeper| **sleeper == moment).count() >= count
                })
                .await;
        };
        match tokio::time::timeout(timeout, waiting).await {
            Ok(()) => Ok(()),
            Err(_) => Err(format!(
                "no {count} tasks slept until {moment} within {timeout:?}; sleepers: {:?}",
                self.sleepers()
            )),
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.borrow()
    }

    fn sleep_until(&self, moment: OffsetDateTime) -> Sleep<'_> {
        Box::pin(async move {
            let mut receiver = self.now.subscribe();
            self.sleepers.send_modify(|moments| moments.push(moment));
            let _registered = SleeperGuard {
                clock: self,
                moment,
            };
            // `wait_for` checks the current value first; the sender lives as long as `self`.
            let _ = receiver.wait_for(|now| *now >= moment).await;
        })
    }
}

/// Removes one sleeper entry when its sleep ends or is dropped.
struct SleeperGuard<'a> {
    clock: &'a ManualClock,
    moment: OffsetDateTime,
}

impl Drop for SleeperGuard<'_> {
    fn drop(&mut self) {
        self.clock.sleepers.send_modify(|moments| {
            if let Some(index) = moments.iter().position(|entry| *entry == self.moment) {
                moments.remove(index);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[tokio::test]
    async fn manual_sleep_wakes_on_advance() {
        let clock = ManualClock::new(datetime!(2026-03-10 01:00 UTC));
        let sleep = clock.sleep_until(datetime!(2026-03-10 02:00 UTC));
        let waiter = async {
            clock
                .wait_for_sleepers(datetime!(2026-03-10 02:00 UTC), 1, Duration::from_secs(5))
                .await
                .unwrap();
            clock.advance(time::Duration::hours(1));
        };
        let ((), ()) = tokio::join!(sleep, waiter);
        assert!(clock.sleepers().is_empty());
    }

    #[tokio::test]
    async fn manual_sleep_in_past_returns_at_once() {
        let clock = ManualClock::new(datetime!(2026-03-10 03:00 UTC));
        let slept = tokio::time::timeout(
            Duration::from_secs(5),
            clock.sleep_until(datetime!(2026-03-10 02:00 UTC)),
        )
        .await;
        assert!(slept.is_ok());
    }

    #[tokio::test]
    async fn system_sleep_in_past_returns_at_once() {
        let clock = SystemClock;
        let past = clock.now() - time::Duration::seconds(1);
        let slept = tokio::time::timeout(Duration::from_secs(5), clock.sleep_until(past)).await;
        assert!(slept.is_ok());
    }
}
