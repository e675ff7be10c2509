//! The accept loop: HTTP/1.1 connections with a header-read timeout (which
//! also closes idle keep-alive connections), a cap on open connections in
//! all (past it, no more are accepted until one closes: the kernel's
//! backlog queues them) and per IP address (past it, a new connection from
//! that address is closed at once), and a shutdown that waits for
//! in-flight requests only up to a deadline.
//!
//! Why not `axum::serve`: it sets no timer, so a client that sends half a
//! request holds its connection (and blocks graceful shutdown) for ever.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;

use super::state::ConnLimits;

/// Open connections, in all and per IP; a slot is given back on drop.
#[derive(Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

struct Slot {
    counts: Arc<Mutex<Counts>>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        c.total -= 1;
        if let Some(n) = c.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                c.per_ip.remove(&self.ip);
            }
        }
    }
}

/// A slot for a connection from `ip`, or `None` when a limit is reached.
fn take_slot(counts: &Arc<Mutex<Counts>>, ip: IpAddr, limits: &ConnLimits) -> Option<Slot> {
    let mut c = counts
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mine = c.per_ip.get(&ip).copied().unwrap_or(0);
    if mine >= limits.max_per_ip {
        return None;
    }
    c.total += 1;
    *c.per_ip.entry(ip).or_insert(0) += 1;
    Some(Slot {
        counts: Arc::clone(counts),
        ip,
    })
}

/// Serve `app` on `listener` until `shutdown` completes, then drain.
pub(super) async fn run(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ConnLimits,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let counts = Arc::new(Mutex::new(Counts::default()));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut refused_logged: Option<std::time::Instant> = None;
    tokio::pin!(shutdown);
    let total = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    loop {
        // Wait for a free slot before accepting (backpressure, not refusal).
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = Arc::clone(&total).acquire_owned() => p.expect("never closed"),
        };
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little.
                    eprintln!("accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(slot) = take_slot(&counts, peer.ip(), &limits) else {
            if refused_logged.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(10)) {
                eprintln!(
                    "refusing connections from {}: over {} open from one address",
                    peer.ip(),
                    limits.max_per_ip
                );
                refused_logged = Some(std::time::Instant::now());
            }
            drop(tcp);
            continue;
        };
        // No Nagle: a response's head and body go out at once, not 40 ms
        // apart (delayed ACKs) on keep-alive connections.
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .keep_alive(true)
            .serve_connection(TokioIo::new(tcp), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _slot = (slot, permit);
            let _ = conn.await;
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        eprintln!(
            "closing connections still open after {} s",
            limits.shutdown_timeout.as_secs()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_per_ip_and_given_back() {
        let limits = ConnLimits {
            max_per_ip: 2,
            ..ConnLimits::default()
        };
        let counts = Arc::new(Mutex::new(Counts::default()));
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let a1 = take_slot(&counts, a, &limits).unwrap();
        let _a2 = take_slot(&counts, a, &limits).unwrap();
        assert!(take_slot(&counts, a, &limits).is_none(), "per-IP cap");
        let _b1 = take_slot(&counts, b, &limits).unwrap();
        drop(a1);
        let _a3 = take_slot(&counts, a, &limits).expect("a slot came back");
        assert_eq!(counts.lock().unwrap().total, 3);
    }
}
