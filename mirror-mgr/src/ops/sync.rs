//! `sync`: check every mirror's upstream, build new snapshots (`jobs` at a
//! time), then write the index once, then publish what synced when asked.
//! The same settings whichever door starts it ([`SyncSettings`]).

use std::time::Duration;

use mirror_index::{MirrorName, SnapshotName};

use super::context::{After, Follow, Ops};
use super::error::OpError;
use crate::config::{Config, MirrorSpec};
use crate::fetch::FetchOptions;
use crate::history::Health;
use crate::report::{Reporter, Status, SyncReport};
use crate::sync::SyncContext;
use crate::webhooks::Event;

/// How syncs fetch, resolved once from the config and a door's flags.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    pub limits: mirror_http::limit::Limits,
    pub retries: u32,
    pub backoff: Duration,
    pub read_timeout: Duration,
    /// Mirrors that build at once.
    pub jobs: usize,
    /// The cap on every download of the process (`max_download_rate`),
    /// shared by every run made with these settings.
    pub rate: Option<std::sync::Arc<crate::fetch::rate::RateLimit>>,
    /// Shared by every run of a long-lived process (`serve`: its API and
    /// scheduled syncs together build at most `jobs` at once); `None`: each
    /// run has its own.
    pub builds: Option<std::sync::Arc<tokio::sync::Semaphore>>,
}

/// What a door may override (`None`: the config's value or the default).
#[derive(Debug, Clone, Default)]
pub struct SyncOverrides {
    pub concurrency: Option<usize>,
    pub http2_streams: Option<usize>,
    pub retries: Option<u32>,
    pub timeout_secs: Option<u64>,
    pub jobs: Option<usize>,
}

/// Retries after the first attempt, by default.
pub const DEFAULT_RETRIES: u32 = 4;
/// Longest wait for the next bytes of a response, by default (seconds).
pub const DEFAULT_TIMEOUT_SECS: u64 = 60;

impl SyncSettings {
    pub fn resolve(config: &Config, o: &SyncOverrides) -> Self {
        let defaults = mirror_http::limit::Limits::default();
        let backoff = std::env::var(crate::env_vars::RETRY_BACKOFF_MS)
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(Duration::from_millis(500), Duration::from_millis);
        Self {
            limits: mirror_http::limit::Limits {
                http1: o
                    .concurrency
                    .or(config.concurrency)
                    .unwrap_or(defaults.http1)
                    .max(1),
                http2: o
                    .http2_streams
                    .or(config.http2_streams)
                    .unwrap_or(defaults.http2)
                    .max(1),
            },
            retries: o.retries.unwrap_or(DEFAULT_RETRIES),
            backoff,
            read_timeout: Duration::from_secs(
                o.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS).max(1),
            ),
            jobs: o.jobs.unwrap_or(1).max(1),
            rate: config
                .max_download_rate
                .map(|r| std::sync::Arc::new(crate::fetch::rate::RateLimit::new(r))),
            builds: None,
        }
    }

    /// These settings, with one limit on builds for every run made with
    /// them (a server's).
    #[must_use]
    pub fn shared(mut self) -> Self {
        self.builds = Some(std::sync::Arc::new(tokio::sync::Semaphore::new(self.jobs)));
        self
    }

    /// A context for one run (its own per-host limits and clients).
    fn context(&self, ops: &Ops) -> SyncContext {
        SyncContext {
            root: ops.root.clone(),
            fetch: FetchOptions {
                retries: self.retries,
                backoff: self.backoff,
                read_timeout: self.read_timeout,
                shared: std::sync::Arc::new(
                    crate::fetch::Shared::new(self.limits).with_rate(self.rate.clone()),
                ),
                ..FetchOptions::default()
            },
            builds: Some(
                self.builds
                    .clone()
                    .unwrap_or_else(|| std::sync::Arc::new(tokio::sync::Semaphore::new(self.jobs))),
            ),
            wait_for_lock: ops.wait,
        }
    }
}

/// What to sync and what follows.
pub struct SyncRequest<'a> {
    pub specs: &'a [MirrorSpec],
    /// Rewrite the index and status pages afterwards (needs a base URL).
    pub index: bool,
    /// Publish the mirrors that synced to the config's bucket.
    pub publish: bool,
}

/// Each mirror's report, and what followed.
#[derive(Debug)]
pub struct SyncOutcome {
    pub reports: Vec<SyncReport>,
    /// Every failure was another process's lock.
    pub only_locked: bool,
    pub after: After,
}

/// A mirror's health now (none before its first attempt).
fn health(ops: &Ops, spec: &MirrorSpec) -> Option<Health> {
    let store = crate::store::Store::new(&ops.root, spec.name.clone());
    let attempts = crate::history::attempts(&store).ok()?;
    if attempts.is_empty() {
        return None;
    }
    Some(crate::history::health(
        &attempts,
        spec.health,
        jiff::Timestamp::now().as_second(),
    ))
}

fn health_name(h: Health) -> String {
    format!("{h:?}").to_lowercase()
}

/// Sync the mirrors, then the index, then (when asked) the bucket.
pub fn sync(
    ops: &Ops,
    settings: &SyncSettings,
    req: &SyncRequest<'_>,
    reporter: &dyn Reporter,
) -> Result<SyncOutcome, OpError> {
    if req.index {
        ops.base_url("sync writes the index at the end; pass --no-index to skip it")?;
    }
    if req.publish && ops.config.publish.is_none() {
        return Err(OpError::usage(
            "no publish target: add `publish: s3: {...}` to the config (--config)",
        ));
    }
    std::fs::create_dir_all(&ops.root).map_err(|e| {
        OpError::usage(format!(
            "cannot create the mirror root {}: {e}",
            ops.root.display()
        ))
    })?;
    let ctx = settings.context(ops);
    let jobs = settings.jobs;
    // Health changes are only ever told to webhooks: no hook, no reading.
    let hooked = !ops.config.webhooks.is_empty();
    let health_before: Vec<Option<Health>> = req
        .specs
        .iter()
        .map(|s| health(ops, s).filter(|_| hooked))
        .collect();
    let results: Vec<(SyncReport, bool)> = super::context::on_own_runtime(|| {
        Box::pin(async {
            use futures_util::StreamExt;
            futures_util::stream::iter(req.specs.iter().map(|spec| {
                let ctx = &ctx;
                async move {
                    match crate::sync::sync_mirror(ctx, spec, reporter).await {
                        Ok(r) => (r, false),
                        Err(e) => (crate::sync::failed_report(spec, &e), e.is_locked()),
                    }
                }
            }))
            // Every mirror checks upstream at once (up to CHECKS_AT_ONCE);
            // only `jobs` of them build at a time (SyncContext::builds).
            .buffered(jobs.max(crate::sync::CHECKS_AT_ONCE))
            .collect()
            .await
        })
    })?;
    let synced: Vec<MirrorName> = results
        .iter()
        .filter(|(r, _)| r.status != Status::Failed)
        .filter_map(|(r, _)| MirrorName::new(&r.mirror).ok())
        .collect();
    let mut after = ops.follow(
        &synced,
        Follow {
            index: req.index,
            bucket: req.publish,
        },
    );
    let mut events = Vec::new();
    for ((spec, before), (r, locked)) in req.specs.iter().zip(health_before).zip(&results) {
        match (&r.status, &r.snapshot) {
            (Status::NewSnapshot, Some(snap)) => events.push(Event::Snapshot {
                mirror: r.mirror.clone(),
                snapshot: snap.clone(),
                url: ops.base_url.as_deref().map_or_else(String::new, |b| {
                    format!("{}/{}/{snap}", b.trim_end_matches('/'), r.mirror)
                }),
                packages: r.packages,
                added: r.added,
                removed: r.removed,
                advisories: new_security(ops, &r.mirror, snap),
            }),
            (Status::Failed, _) if !locked => events.push(Event::Failure {
                mirror: r.mirror.clone(),
                error: r.error.clone().unwrap_or_default(),
            }),
            _ => {}
        }
        if let Some(from) = before
            && let Some(to) = health(ops, spec)
            && from != to
        {
            events.push(Event::Health {
                mirror: r.mirror.clone(),
                from: health_name(from),
                to: health_name(to),
            });
        }
    }
    ops.emit(&events, &mut after);
    let only_locked = results.iter().any(|(_, l)| *l)
        && results
            .iter()
            .all(|(r, l)| *l || r.status != Status::Failed);
    Ok(SyncOutcome {
        reports: results.into_iter().map(|(r, _)| r).collect(),
        only_locked,
        after,
    })
}
/// The security advisories applicable in `snap` of `mirror` and not in
/// the snapshot before it, from their manifests.
fn new_security(ops: &Ops, mirror: &str, snap: &str) -> crate::webhooks::event::AdvisoryGist {
    let (Ok(m), Ok(s)) = (MirrorName::new(mirror), SnapshotName::parse(snap)) else {
        return crate::webhooks::event::AdvisoryGist::default();
    };
    let store = crate::store::Store::new(&ops.root, m);
    let Some(new) = crate::history::manifest_of(&store, &s) else {
        return crate::webhooks::event::AdvisoryGist::default();
    };
    let before: std::collections::HashSet<String> = new
        .previous
        .as_deref()
        .and_then(|p| SnapshotName::parse(p).ok())
        .and_then(|p| crate::history::manifest_of(&store, &p))
        .and_then(|m| m.security)
        .unwrap_or_default()
        .into_iter()
        .map(|a| a.id)
        .collect();
    let fresh: Vec<_> = new
        .security
        .unwrap_or_default()
        .into_iter()
        .filter(|a| !before.contains(&a.id))
        .collect();
    crate::webhooks::event::AdvisoryGist::of(
        fresh
            .iter()
            .map(|a| (a.id.as_str(), a.severity.as_deref(), a.cves.clone())),
    )
}
