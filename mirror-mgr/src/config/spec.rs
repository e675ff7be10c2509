//! What a config gives, once read: the mirrors' settings and the rest.

use std::collections::BTreeMap;
use std::path::PathBuf;

use mirror_index::MirrorName;

use crate::access::{AccessSpec, SecretSource};
use crate::upstream::Upstream;

/// What to do with a package `<location xml:base="...">`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum XmlBasePolicy {
    /// Refuse the repository (default: the snapshot would not be self-contained).
    #[default]
    Error,
    /// Download the package from the xml:base URL and store it at its href.
    Follow,
}

/// One mirror, fully resolved (yum variables not yet expanded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorSpec {
    pub name: MirrorName,
    pub upstream: Upstream,
    /// yum variables: `basearch`, `arch`, `releasever`, and any from the config.
    pub vars: BTreeMap<String, String>,
    pub xml_base: XmlBasePolicy,
    /// Hosts an `xml:base` may point at under `xml_base: follow`, besides the
    /// host of the upstream itself (`xml_base_hosts` in the YAML config).
    pub xml_base_hosts: Vec<String>,
    /// `enabled=0` in a repo-config: skipped by `sync --all`.
    pub enabled: bool,
    /// TLS client certificate and CAs, basic auth, proxy.
    pub access: AccessSpec,
    /// Signatures checked at sync.
    pub trust: TrustSpec,
    /// When `status` calls the mirror stale or failing.
    pub health: HealthPolicy,
    /// `import: true`: `sync NAME --url URL` may sync it from any URL (a
    /// repo someone built elsewhere). Without it `--url` is refused for a
    /// mirror the config defines, so its upstream cannot be swapped by accident.
    pub import: bool,
    /// Which packages the snapshots keep (none: all, metadata byte-identical).
    pub filter: crate::filter::FilterSpec,
    /// The key that signs regenerated metadata.
    pub sign: Option<crate::filter::SignSpec>,
    /// How a `file://` upstream's packages are verified (`verify_local`).
    pub verify_local: crate::fetch::VerifyLocal,
    /// This mirror's bandwidth cap in bytes per second (`throttle`, or a
    /// share of `bandwidth`); `None`: none.
    pub throttle: Option<u64>,
    /// When `serve` syncs it on its own (`schedule`, `schedule_jitter`;
    /// none: only when asked).
    pub schedule: Option<crate::schedule::Schedule>,
    /// `allow_downgrade: true` (or `sync --allow-downgrade`): accept a
    /// repomd.xml older than latest's (a replay, a lagging mirror) as a
    /// new snapshot instead of holding latest.
    pub allow_downgrade: bool,
}

impl MirrorSpec {
    /// This mirror, synced once from an upstream a caller supplied (`sync
    /// NAME --url`, the API's `"url"`). Credentials, the client certificate
    /// and proxy auth are bound to the configured upstream's hosts: unless
    /// every host of the new upstream is one of them, they are dropped, so
    /// a caller cannot have them sent to a host of its choosing. An import
    /// names exactly the repo wanted, older or not: downgrade protection
    /// (which guards a configured upstream against replays) does not apply.
    #[must_use]
    pub fn with_caller_upstream(&self, upstream: Upstream) -> Self {
        let configured = crate::upstream::own_hosts(&self.upstream, &self.vars);
        let new_hosts = crate::upstream::own_hosts(&upstream, &self.vars);
        let bound = !new_hosts.is_empty() && new_hosts.iter().all(|h| configured.contains(h));
        let mut spec = self.clone();
        spec.upstream = upstream;
        spec.allow_downgrade = true;
        if !bound {
            spec.access = spec.access.without_credentials();
        }
        spec
    }
}

/// Which signatures a sync checks, and against which keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustSpec {
    /// repomd.xml must carry a valid repomd.xml.asc by a pinned key.
    pub repo_gpgcheck: bool,
    /// Every downloaded RPM must be signed by a pinned key (dnf's `gpgcheck`).
    pub pkg_gpgcheck: bool,
    /// Key locations: paths, `file://` or `https://` URLs (the last only
    /// with fingerprints pinned).
    pub gpgkeys: Vec<String>,
    /// Fingerprints of the keys to accept (`gpgkey_fingerprints`, and
    /// `allowed_keys` for packages).
    pub fingerprints: Vec<String>,
}

impl TrustSpec {
    pub fn enabled(&self) -> bool {
        self.repo_gpgcheck || self.pkg_gpgcheck
    }
}

/// Where `publish` uploads the tree: an S3-compatible bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Spec {
    /// The S3 API's URL (`https://s3.eu-west-1.amazonaws.com`, or a
    /// SeaweedFS/MinIO/Ceph gateway).
    pub endpoint: String,
    pub bucket: String,
    /// Key prefix of the tree in the bucket (no leading or trailing `/`).
    pub prefix: String,
    pub region: String,
    /// Credentials: from the environment or a file only, never inline.
    pub access_key: SecretSource,
    pub secret_key: SecretSource,
    /// What clients read the bucket at (its public endpoint or a CDN): the
    /// index's URLs start with it.
    pub public_url: String,
    /// How snapshots are laid out in the bucket.
    pub layout: BucketLayout,
}

/// `publish: s3: layout:`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BucketLayout {
    /// The tree as it is on disk: every snapshot holds its packages
    /// (server-side copies of the ones already there).
    #[default]
    Tree,
    /// Each package once, under `pool/sha256/<2>/<sha256>/<file>`; a
    /// snapshot holds its `repodata/`, whose primary points at the pool.
    Pool,
}

/// Everything a config file gives.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The object store `publish` uploads to.
    pub publish: Option<S3Spec>,
    /// Promotion policies: channel -> jobs whose passing votes move it.
    pub channels: BTreeMap<String, Vec<String>>,
    pub root: Option<PathBuf>,
    pub base_url: Option<String>,
    /// Parallel requests per host: HTTP/1.1 connections, HTTP/2 streams.
    pub concurrency: Option<usize>,
    pub http2_streams: Option<usize>,
    pub mirrors: Vec<MirrorSpec>,
    pub warnings: Vec<Warning>,
    /// A cap on all downloads of a process, in bytes per second
    /// (`max_download_rate`).
    pub max_download_rate: Option<u64>,
    /// Where events are posted (`webhooks:`).
    pub webhooks: Vec<WebhookSpec>,
    /// The key that signs bundles (top-level `sign_key:`), unless
    /// `export --sign-key` names another.
    pub sign: Option<crate::filter::SignSpec>,
    /// How long a delivery is retried (`webhook_retry_for`; default 24 h).
    pub webhook_retry_for: Option<i64>,
}

/// One webhook: where, which events, and the secret that signs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSpec {
    /// An http(s) URL.
    pub url: String,
    /// Event kinds posted to it (`crate::webhooks::event::KINDS`).
    pub events: Vec<String>,
    /// From the environment or a file (its first line), never inline.
    pub secret: SecretSource,
}

/// `webhook_retry_for` when not given: a day.
pub const DEFAULT_WEBHOOK_RETRY_FOR: i64 = 24 * 3600;

impl Config {
    /// How long a webhook delivery is retried, in seconds.
    pub fn webhook_retry_for(&self) -> i64 {
        self.webhook_retry_for.unwrap_or(DEFAULT_WEBHOOK_RETRY_FOR)
    }

    pub fn mirror(&self, name: &str) -> Option<&MirrorSpec> {
        self.mirrors.iter().find(|m| m.name.as_str() == name)
    }

    /// When `status` calls `name` stale or failing: its own thresholds,
    /// else the defaults. Every door that writes the index asks this, so
    /// health does not flip with whoever wrote it last.
    pub fn health_of(&self, name: &MirrorName) -> HealthPolicy {
        self.mirror(name.as_str())
            .map_or_else(HealthPolicy::default, |m| m.health)
    }
}

/// Something in a config file this version does not act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub file: PathBuf,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("{}", path.display())]
    Ini {
        path: PathBuf,
        #[source]
        source: mirror_index::repofile::ParseError,
    },
}

/// When `status` calls a mirror stale or failing (`stale_after`,
/// `failing_after`; see `crate::history::health`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthPolicy {
    pub stale_after_secs: i64,
    pub failing_after: usize,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        Self {
            stale_after_secs: 24 * 3600,
            failing_after: 3,
        }
    }
}
