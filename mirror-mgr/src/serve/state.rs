//! What the server holds: its settings, resolved before it starts
//! ([`ServeSettings`]), and the state every request shares ([`AppState`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::State;

use super::{audit, jobs};
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
    /// Requests answered, for `/metrics`.
    pub requests: super::requests::Requests,
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
            // The server's deliverer posts webhooks (`serve/mod.rs`).
            deliver_within: None,
        }
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
