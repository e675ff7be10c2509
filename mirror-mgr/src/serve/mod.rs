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
mod deliverer;
pub mod files;
pub mod jobs;
mod listen;
mod metrics;
mod requests;
mod scheduler;
pub mod state;

pub use state::{AppState, ConnLimits, ServeSettings};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

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

/// The whole application: API routes, then static files.
pub fn router(state: Arc<AppState>) -> Router {
    api::routes()
        .route("/metrics", axum::routing::get(metrics::handler))
        .fallback(files::serve)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            log_request,
        ))
        .with_state(state)
}

/// One line per request (method, path, status, milliseconds), and its
/// count for `/metrics` (by route pattern, never by path).
async fn log_request(
    axum::extract::State(st): axum::extract::State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "files".to_owned(), |m| m.as_str().to_owned());
    let resp = next.run(req).await;
    let secs = start.elapsed().as_secs_f64();
    st.requests
        .record(&route, method.as_str(), resp.status().as_u16(), secs);
    eprintln!(
        "{} {method} {path} {} {:.1}ms",
        jiff::Timestamp::now(),
        resp.status().as_u16(),
        secs * 1000.0
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
        requests: requests::Requests::default(),
    });
    ready(addr);
    let scheduler = scheduler::Scheduler::start(&state);
    let deliverer = deliverer::Deliverer::start(&state);
    let limits = state.s.limits;
    raise_open_files(limits.max_connections);
    listen::run(
        listener,
        router(Arc::clone(&state)),
        limits,
        shutdown_signal(),
    )
    .await;
    // No scheduled run starts from now on; running ones finish below.
    let _ = tokio::task::spawn_blocking(move || scheduler.stop()).await;
    deliverer.stop();
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
