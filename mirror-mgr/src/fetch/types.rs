//! What fetching is configured with and reports: the options, the limits
//! shared by a run, what a download must match, the error, and the
//! helpers both transports (http, `file://`) use.

use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use mirror_repodata::checksum::Checksum;

/// Knobs for network behaviour.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Retries after the first attempt.
    pub retries: u32,
    /// First backoff delay; doubles each retry, capped at 30 s.
    pub backoff: Duration,
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a response.
    pub read_timeout: Duration,
    /// What every mirror of this process shares: each host's adaptive
    /// request limit and the HTTP clients (so their connections).
    pub shared: std::sync::Arc<Shared>,
    /// How packages from a `file://` upstream are verified before they are
    /// linked into the tree.
    pub verify_local: VerifyLocal,
}

/// How much a sync trusts a local (`file://`) upstream's packages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerifyLocal {
    /// Read every package and check its checksum (nothing is written).
    #[default]
    Checksum,
    /// Check only sizes: for an immutable store whose checksums are trusted.
    /// A package corrupted in that store goes into snapshots unnoticed
    /// until `verify` reads it.
    Size,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            retries: 4,
            backoff: Duration::from_millis(500),
            connect_timeout: Duration::from_secs(15),
            read_timeout: Duration::from_secs(60),
            verify_local: VerifyLocal::Checksum,
            shared: std::sync::Arc::default(),
        }
    }
}

/// Shared by every mirror a process syncs.
#[derive(Debug, Default)]
pub struct Shared {
    pub hosts: mirror_http::limit::Hosts,
    pub(super) clients: mirror_http::Clients,
    /// The process-wide bandwidth cap, if any.
    pub(super) rate: Option<std::sync::Arc<super::rate::RateLimit>>,
}

impl Shared {
    pub fn new(limits: mirror_http::limit::Limits) -> Self {
        Self {
            hosts: mirror_http::limit::Hosts::new(limits),
            clients: mirror_http::Clients::default(),
            rate: None,
        }
    }

    /// With a cap on every download of the process (`max_download_rate`).
    #[must_use]
    pub fn with_rate(mut self, rate: Option<std::sync::Arc<super::rate::RateLimit>>) -> Self {
        self.rate = rate;
        self
    }
}

/// What a downloaded file must be.
#[derive(Debug, Clone)]
pub struct Expect {
    pub size: Option<u64>,
    pub checksum: Checksum,
    /// From a `file://` upstream on the same filesystem, the file may be
    /// linked instead of copied (packages: immutable by name). Metadata is
    /// small and may be rewritten in place upstream, so it is copied.
    pub linkable: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: not found{}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    NotFound { url: String, status: Option<u16> },
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: {what}")]
    Network {
        url: String,
        what: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url}: {what}")]
    Corrupt { url: String, what: String },
    #[error("{url}: larger than the {limit} byte limit")]
    TooLarge { url: String, limit: u64 },
    #[error("{url}: unsupported URL scheme (use http, https or file)")]
    Scheme { url: String },
    /// A redirect that was refused (to another scheme, a loop, too many).
    #[error("{url}")]
    Redirect {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// A redirect that reqwest did not follow (to a non-http(s) URL).
    #[error(
        "{url}: HTTP {status} redirected to {location}: refused, only redirects to http and https are followed"
    )]
    RedirectTo {
        url: String,
        status: u16,
        location: String,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {url}")]
    File {
        url: String,
        #[source]
        source: std::io::Error,
    },
}

impl mirror_http::Transient for FetchError {
    fn is_transient(&self) -> bool {
        match self {
            Self::Status { status, .. } => mirror_http::transient_status(*status),
            Self::Network { .. } | Self::Corrupt { .. } | Self::TooLarge { .. } => true,
            Self::NotFound { .. }
            | Self::Scheme { .. }
            | Self::Redirect { .. }
            | Self::RedirectTo { .. }
            | Self::Write { .. }
            | Self::File { .. } => false,
        }
    }
}

/// A URL as errors and logs show it: without a password.
pub(super) fn shown(url: &Url) -> String {
    mirror_http::redact(url.as_str())
}

pub(super) fn create_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o644);
    opts.open(path)
}

pub(super) fn file_path(url: &Url) -> Result<PathBuf, FetchError> {
    url.to_file_path()
        .map_err(|()| FetchError::Scheme { url: shown(url) })
}

pub(super) fn file_err(url: &Url, source: std::io::Error) -> FetchError {
    if source.kind() == std::io::ErrorKind::NotFound {
        FetchError::NotFound {
            url: shown(url),
            status: None,
        }
    } else {
        FetchError::File {
            url: shown(url),
            source,
        }
    }
}
