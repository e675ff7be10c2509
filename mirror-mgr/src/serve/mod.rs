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
//! SIGTERM or SIGINT stops accepting, drains in-flight requests (for at
//! most [`ConnLimits::shutdown_timeout`]) and waits for running syncs to
//! finish; a second signal exits at once (a killed sync is safe anyway).
//! Clients cannot hold the server: headers must arrive within a timeout,
//! idle connections close, and connections are capped in all and per IP
//! (`listen.rs`).

pub mod api;
pub mod audit;
pub mod files;
pub mod jobs;
mod listen;

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
    /// How API-started syncs fetch (as the command line's, from the config).
    pub sync: crate::ops::SyncSettings,
    /// What clients may hold: time to send headers, connections.
    pub limits: ConnLimits,
}

/// How much of the server clients may hold.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// To send a request's headers; also how long an idle keep-alive
    /// connection stays open.
    pub header_timeout: std::time::Duration,
    /// Open connections at most (past it, new ones wait to be accepted).
    pub max_connections: usize,
    /// Open connections from one IP address at most (past it, a new one
    /// is closed at once).
    pub max_per_ip: usize,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_timeout: std::time::Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            header_timeout: std::time::Duration::from_secs(10),
            max_connections: 1024,
            max_per_ip: 256,
            shutdown_timeout: std::time::Duration::from_secs(10),
        }
    }
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
    /// The config, shared by every verb.
    pub config: Arc<Config>,
    /// The record of every API write (and, bounded, of refused ones).
    pub audit: audit::AuditLog,
}

impl AppState {
    /// What the operations layer needs; API writes do not wait for a
    /// mirror's lock (409 locked), syncs queue behind it.
    pub fn ops(&self) -> crate::ops::Ops {
        crate::ops::Ops {
            root: self.s.root.clone(),
            base_url: Some(self.s.base_url.clone()),
            config: Arc::clone(&self.config),
            wait: false,
        }
    }
}

pub use audit::AUDIT_LOG;

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
    let audit = audit::AuditLog::new(&s.root);
    let state = Arc::new(AppState {
        config: Arc::new(s.config.clone()),
        s,
        root_canon,
        jobs: Arc::new(jobs::Jobs::default()),
        audit,
    });
    ready(addr);
    let limits = state.s.limits;
    raise_open_files(limits.max_connections);
    listen::run(
        listener,
        router(Arc::clone(&state)),
        limits,
        shutdown_signal(),
    )
    .await;
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

/// Raise the soft limit of open files to the hard one, so the connection
/// cap (not the descriptor limit) is what bounds clients; warn if it is
/// still too low for the cap.
fn raise_open_files(connections: usize) {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let lim = getrlimit(Resource::Nofile);
    if let Some(hard) = lim.maximum
        && lim.current.is_some_and(|c| c < hard)
    {
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(hard),
                maximum: Some(hard),
            },
        );
    }
    let now = getrlimit(Resource::Nofile).current;
    if let Some(n) = now
        && n < connections as u64 + 64
    {
        eprintln!(
            "warning: {n} open files allowed, fewer than --max-connections {connections} needs"
        );
    }
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

/// What the request's bearer token is, when it has one. The scheme is
/// case-insensitive (RFC 7235): `Bearer`, `bearer`, `BEARER`.
pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim_start();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// State extractor shorthand.
pub(crate) type St = State<Arc<AppState>>;
