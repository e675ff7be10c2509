//! `mirror-mgr serve`: the mirror tree over HTTP (so a small site needs no
//! nginx) and an authenticated JSON API under `/api/v1/` for CI votes,
//! promotions, rollbacks and remote imports.
//!
//! - [`files`]: static files, never outside the root, never private state;
//! - [`api`]: the API, calling the same library functions (and so taking
//!   the same locks) as the command line;
//! - [`jobs`]: syncs started over the API, one per mirror at a time.
//!
//! Built on axum and tower-http's file service (Range, HEAD, conditional
//! requests, content types). One log line per request goes to stderr.
//! SIGTERM or SIGINT stops accepting, drains in-flight requests and waits
//! for running syncs to finish; a second signal exits at once (a killed
//! sync is safe anyway).

pub mod api;
pub mod files;
pub mod jobs;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::Config;

/// Everything `serve` needs, resolved before it starts.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub root: PathBuf,
    pub base_url: String,
    pub listen: SocketAddr,
    /// The tokens file (read on every authenticated request, so `token
    /// revoke` takes effect at once).
    pub tokens: PathBuf,
    /// Reads need a token too.
    pub protect_reads: bool,
    pub config: Config,
    /// Parallel downloads of an API-started sync.
    pub concurrency: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the mirror root {}", path.display())]
    Root {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("serving")]
    Serve(#[source] std::io::Error),
}

/// Shared by every request.
pub struct AppState {
    pub s: ServeSettings,
    /// The root with symlinks resolved: nothing outside it is served.
    pub root_canon: PathBuf,
    pub jobs: Arc<jobs::Jobs>,
    /// Serialises appends to the audit log.
    pub audit: std::sync::Mutex<()>,
}

/// The append-only record of every API write, beside the root's other
/// private state.
pub const AUDIT_LOG: &str = ".api-audit.jsonl";

/// The whole application: API routes, then static files.
pub fn router(state: Arc<AppState>) -> Router {
    api::routes()
        .fallback(files::serve)
        .layer(axum::middleware::from_fn(log_request))
        .with_state(state)
}

/// One line per request: method, path, status, milliseconds.
async fn log_request(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    eprintln!(
        "{} {method} {path} {} {:.1}ms",
        jiff::Timestamp::now(),
        resp.status().as_u16(),
        start.elapsed().as_secs_f64() * 1000.0
    );
    resp
}

/// Serve until SIGTERM/SIGINT; `ready` is told the bound address.
pub async fn serve(s: ServeSettings, ready: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    let root_canon = std::fs::canonicalize(&s.root).map_err(|source| ServeError::Root {
        path: s.root.clone(),
        source,
    })?;
    let listener = tokio::net::TcpListener::bind(s.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: s.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(ServeError::Serve)?;
    let state = Arc::new(AppState {
        s,
        root_canon,
        jobs: Arc::new(jobs::Jobs::default()),
        audit: std::sync::Mutex::new(()),
    });
    ready(addr);
    // No Nagle: a response's head and body go out at once, not 40 ms apart
    // (delayed ACKs) on keep-alive connections.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router(Arc::clone(&state)))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(ServeError::Serve)?;
    let running = state.jobs.running();
    if running > 0 {
        eprintln!(
            "waiting for {running} running sync(s) to finish (send the signal again to stop now)"
        );
        let st = Arc::clone(&state);
        let wait = tokio::task::spawn_blocking(move || st.jobs.wait_all());
        tokio::select! {
            _ = wait => {}
            () = shutdown_signal() => eprintln!("stopping now; the next sync finishes or cleans up"),
        }
    }
    Ok(())
}

/// SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers, run until killed.
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// What the request's bearer token is, when it has a valid one.
pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// State extractor shorthand.
pub(crate) type St = State<Arc<AppState>>;
