//! What every part of a sync shares: the run's settings
//! ([`SyncContext`]), the error ([`SyncError`]) and the blocking pool.

use std::path::PathBuf;

use crate::fetch::{FetchError, FetchOptions};
use crate::store::StoreError;

/// Upper bound for repomd.xml, mirrorlists and metalinks held in memory.
pub(super) const SMALL_FILE_LIMIT: u64 = 16 * 1024 * 1024;

/// Settings shared by every mirror of one run.
#[derive(Debug, Clone)]
pub struct SyncContext {
    pub root: PathBuf,
    pub fetch: FetchOptions,
    /// Wait for another process's lock instead of failing fast.
    pub wait_for_lock: bool,
    /// Mirrors that may build (download, snapshot) at once (`--jobs`).
    /// Checking whether upstream changed is not limited by it: one request
    /// per mirror, which the per-host limits already bound.
    pub builds: Option<std::sync::Arc<tokio::sync::Semaphore>>,
}

/// How many mirrors of one run check their upstream at once.
pub const CHECKS_AT_ONCE: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("mirror {mirror}: {message}")]
    Config { mirror: String, message: String },
    #[error("{url}")]
    Repomd {
        url: String,
        #[source]
        source: mirror_repodata::repomd::RepomdError,
    },
    #[error("{url}")]
    Repo {
        url: String,
        #[source]
        source: mirror_repodata::repo::RepoError,
    },
    #[error("{url}: {message}")]
    BadMetadata { url: String, message: String },
    #[error("no upstream of mirror {mirror} served a usable repomd.xml: {}", errors.join("; "))]
    NoUpstream { mirror: String, errors: Vec<String> },
    #[error(
        "{url} changed during the sync (repomd.xml differs at the end from the start); nothing was published, the next sync will retry"
    )]
    UpstreamChanged { url: String },
    #[error("cannot start the HTTP client")]
    Client(#[source] reqwest::Error),
    #[error("mirror {mirror}")]
    Trust {
        mirror: String,
        #[source]
        source: crate::trust::TrustError,
    },
    #[error("mirror {mirror}")]
    Access {
        mirror: String,
        #[source]
        source: crate::access::AccessError,
    },
    #[error("mirror {mirror}: package filter")]
    Filter {
        mirror: String,
        #[source]
        source: crate::filter::regen::RegenError,
    },
    #[error("mirror {mirror}")]
    Sign {
        mirror: String,
        #[source]
        source: crate::filter::sign::SignError,
    },
    #[error("internal task failed: {0}")]
    Join(String),
}

impl SyncError {
    /// Another process holds this mirror's lock.
    pub fn is_locked(&self) -> bool {
        matches!(self, Self::Store(StoreError::Locked { .. }))
    }
}

pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SyncError> + Send + 'static,
) -> Result<T, SyncError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SyncError::Join(e.to_string()))?
}
