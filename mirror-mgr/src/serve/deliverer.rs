//! `serve`'s webhook deliverer: a thread that posts what the verbs queued
//! (over the API, by the scheduler, or by a command-line process that ran
//! out of its budget), retrying with backoff. It never blocks a request or
//! a sync; at shutdown it stops taking new deliveries and what is left
//! stays queued for the next start.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::serve::state::AppState;

/// How often the queue is looked at.
const TICK: Duration = Duration::from_millis(500);
/// Longest pass (then the queue is looked at again).
const PASS: Duration = Duration::from_secs(30);

pub struct Deliverer {
    stop: Arc<AtomicBool>,
}

impl Deliverer {
    /// Start delivering (no thread when the config has no webhooks).
    pub fn start(st: &Arc<AppState>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        if !st.config.webhooks.is_empty() {
            let (st, stop) = (Arc::clone(st), Arc::clone(&stop));
            std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    tracing::warn!("webhooks: cannot start a runtime; deliveries stay queued");
                    return;
                };
                while !stop.load(Ordering::SeqCst) {
                    rt.block_on(crate::webhooks::deliver(
                        &st.s.root,
                        &st.config,
                        Some(Instant::now() + PASS),
                    ));
                    std::thread::sleep(TICK);
                }
            });
        }
        Self { stop }
    }

    /// Take no new delivery (one in flight ends within its timeout, or
    /// with the process: it stays queued).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
