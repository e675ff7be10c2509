//! How many requests one host gets at once: an adaptive limit per host.
//!
//! Parallelism is what makes a sync fast over a long round trip (2,000
//! packages at 40 ms take 80 s one at a time, 8 s ten at a time), and what
//! a public mirror limits per client. The limit starts at the HTTP/1.1
//! ceiling (what Pulp opens at once against the same mirrors); when the
//! host turns out to speak HTTP/2 the ceiling rises to its stream count and
//! the limit doubles after each round of answers while the host keeps up
//! (slow start), then grows by one per round; a sign of overload (HTTP 429
//! or 503, a reset connection) halves it and ends the doubling, as TCP
//! does with its window. It never passes the ceiling: the configured
//! connections per host for HTTP/1.1, or streams on the one connection for
//! HTTP/2 (see [`Limits`]).
//!
//! [`Gate`] is the async side: [`Gate::acquire`] waits for room under the
//! current limit; the [`Permit`] it returns reports how the request went.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// Ceilings per host, by protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Parallel HTTP/1.1 requests, i.e. connections (Pulp uses 10, aria2
    /// allows up to 16 per server, dnf 3).
    pub http1: usize,
    /// Parallel requests as HTTP/2 streams over one connection. Servers
    /// advertise their own maximum (nginx 128, Apache 100), which hyper
    /// honours on top of this.
    pub http2: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            http1: 10,
            http2: 64,
        }
    }
}

/// The pure state of one host's limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    limit: usize,
    ceiling: usize,
    /// Answers received since the limit last changed.
    answered: usize,
    /// Still doubling (no overload seen yet).
    slow_start: bool,
}

impl Window {
    pub fn new(ceiling: usize) -> Self {
        let ceiling = ceiling.max(1);
        Self {
            limit: ceiling,
            ceiling,
            answered: 0,
            slow_start: true,
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn ceiling(&self) -> usize {
        self.ceiling
    }

    /// A request was answered normally. A full round of answers at the
    /// current limit grows it.
    pub fn answered(&mut self) {
        self.answered += 1;
        if self.answered >= self.limit && self.limit < self.ceiling {
            self.limit = if self.slow_start {
                self.limit * 2
            } else {
                self.limit + 1
            }
            .min(self.ceiling);
            self.answered = 0;
        }
    }

    /// The host showed overload: halve, and grow slowly from now on.
    pub fn overloaded(&mut self) {
        self.limit = (self.limit / 2).max(1);
        self.answered = 0;
        self.slow_start = false;
    }

    /// A new ceiling (the host turned out to speak HTTP/2).
    pub fn set_ceiling(&mut self, ceiling: usize) {
        self.ceiling = ceiling.max(1);
        self.limit = self.limit.min(self.ceiling);
    }
}

/// One host's gate: at most `limit` permits out at a time.
#[derive(Debug)]
pub struct Gate {
    state: Mutex<(Window, usize)>,
    room: Notify,
}

impl Gate {
    pub fn new(ceiling: usize) -> Self {
        Self {
            state: Mutex::new((Window::new(ceiling), 0)),
            room: Notify::new(),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Window, &mut usize) -> T) -> T {
        let mut g = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (w, out) = &mut *g;
        f(w, out)
    }

    /// Wait until a request may go to this host.
    pub async fn acquire(self: &Arc<Self>) -> Permit {
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            // Registered before the check, so a release in between is not lost.
            notified.as_mut().enable();
            let got = self.with(|w, out| {
                if *out < w.limit() {
                    *out += 1;
                    true
                } else {
                    false
                }
            });
            if got {
                return Permit {
                    gate: Arc::clone(self),
                    outcome: Outcome::Unknown,
                };
            }
            notified.await;
        }
    }

    /// The current limit (for reports and tests).
    pub fn limit(&self) -> usize {
        self.with(|w, _| w.limit())
    }

    /// Raise or lower the ceiling, e.g. to the HTTP/2 one.
    pub fn set_ceiling(&self, ceiling: usize) {
        let changed = self.with(|w, _| {
            let before = w.ceiling();
            w.set_ceiling(ceiling);
            before != w.ceiling()
        });
        if changed {
            self.room.notify_waiters();
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Unknown,
    Answered,
    Overloaded,
}

/// Room for one request; says how it went when dropped (a permit dropped
/// without a word, e.g. a 404 or a cancelled download, changes nothing).
#[derive(Debug)]
pub struct Permit {
    gate: Arc<Gate>,
    outcome: Outcome,
}

impl Permit {
    /// The host answered normally (any status but 429 and 503).
    pub fn answered(&mut self) {
        self.outcome = Outcome::Answered;
    }

    /// The host showed overload: 429, 503, or a reset connection.
    pub fn overloaded(&mut self) {
        self.outcome = Outcome::Overloaded;
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let outcome = self.outcome;
        self.gate.with(|w, out| {
            *out -= 1;
            match outcome {
                Outcome::Answered => w.answered(),
                Outcome::Overloaded => w.overloaded(),
                Outcome::Unknown => {}
            }
        });
        // Room for one more, or several if the limit grew.
        self.gate.room.notify_waiters();
    }
}

/// The gates of every host one process talks to, shared by all its
/// mirrors: the limit is the host's, however many mirrors live there.
#[derive(Debug, Default)]
pub struct Hosts {
    limits: Limits,
    gates: Mutex<HashMap<String, Arc<Gate>>>,
}

impl Hosts {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            gates: Mutex::default(),
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The gate of `url`'s host (scheme, host and port).
    pub fn gate(&self, url: &url::Url) -> Arc<Gate> {
        let key = format!(
            "{}://{}:{}",
            url.scheme(),
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        );
        let mut gates = self
            .gates
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(
            gates
                .entry(key)
                .or_insert_with(|| Arc::new(Gate::new(self.limits.http1))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_start_then_halving_then_one_by_one() {
        let mut w = Window::new(10);
        assert_eq!(w.limit(), 10, "starts at the HTTP/1.1 ceiling");
        w.set_ceiling(64);
        let mut seen = vec![w.limit()];
        while w.limit() < 64 {
            w.answered();
            if *seen.last().unwrap() != w.limit() {
                seen.push(w.limit());
            }
        }
        assert_eq!(seen, [10, 20, 40, 64], "doubling per round of answers");
        w.overloaded();
        assert_eq!(w.limit(), 32);
        for _ in 0..32 {
            w.answered();
        }
        assert_eq!(w.limit(), 33, "after overload, one more per round");
        for _ in 0..10 {
            w.overloaded();
        }
        assert_eq!(w.limit(), 1, "never below one");
        w.answered();
        assert_eq!(w.limit(), 2, "and back up one per round");
        w.answered();
        w.answered();
        assert_eq!(w.limit(), 3);
        w.set_ceiling(2);
        let mut small = Window::new(3);
        assert_eq!(small.limit(), 3, "never above the ceiling");
        small.set_ceiling(2);
        assert_eq!(small.limit(), 2);
    }

    /// The gate never lets more than the limit through, and grows it as
    /// requests are answered.
    #[tokio::test(flavor = "current_thread")]
    async fn gate_holds_the_limit_and_grows() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let hosts = Hosts::new(Limits {
            http1: 16,
            http2: 64,
        });
        let gate = hosts.gate(&url::Url::parse("http://h/x").unwrap());
        assert!(Arc::ptr_eq(
            &gate,
            &hosts.gate(&url::Url::parse("http://h:80/other").unwrap())
        ));
        assert!(!Arc::ptr_eq(
            &gate,
            &hosts.gate(&url::Url::parse("https://h/x").unwrap())
        ));
        let now = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let jobs = (0..200).map(|_| async {
            let mut p = gate.acquire().await;
            let n = now.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(n, Ordering::SeqCst);
            assert!(
                n <= gate.limit(),
                "{n} in flight over a limit of {}",
                gate.limit()
            );
            tokio::task::yield_now().await;
            now.fetch_sub(1, Ordering::SeqCst);
            p.answered();
        });
        futures_join_all(jobs).await;
        assert_eq!(gate.limit(), 16);
        assert_eq!(peak.load(Ordering::SeqCst), 16);
        // An overload halves it.
        gate.acquire().await.overloaded();
        assert_eq!(gate.limit(), 8);
    }

    async fn futures_join_all<F: std::future::Future<Output = ()>>(jobs: impl Iterator<Item = F>) {
        let mut set: Vec<std::pin::Pin<Box<F>>> = jobs.map(Box::pin).collect();
        std::future::poll_fn(|cx| {
            set.retain_mut(|f| f.as_mut().poll(cx).is_pending());
            if set.is_empty() {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await;
    }
}
