//! The epoch ticker that bounds the CPU time of plugin calls.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::Engine;

/// Interval between epoch increments. 10 ms keeps the overrun of a CPU limit small while the
/// ticker thread stays idle nearly all the time.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Converts a CPU budget into epoch ticks, rounding up so a budget is never cut short.
pub fn ticks_for(budget: Duration) -> u64 {
    budget.as_nanos().div_ceil(EPOCH_TICK.as_nanos()).max(1) as u64
}

/// A background thread that increments the engine's epoch every `EPOCH_TICK` until dropped.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    pub fn start(engine: &Engine) -> std::io::Result<EpochTicker> {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = engine.weak();
        let stop_flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("photosync-epoch".to_string())
            .spawn(move || {
                while !stop_flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match engine.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })?;
        Ok(EpochTicker {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
