//! The sync driver: upstream -> verified downloads -> snapshot -> base ->
//! latest.txt, in the commit order of the spec. Async only where it talks
//! to the network; file work runs on the blocking pool.
//!
//! - [`decide`]: what to do, given upstream's repomd.xml (pure);
//! - `upstreams.rs`: which upstream serves, with failover;
//! - `build.rs`: building and publishing a new snapshot;
//! - the store ([`crate::store`]) owns the transaction: this module hands it
//!   a finished build and asks it to commit.

pub mod decide;

mod build;
mod context;
mod items;
mod upstreams;

use context::blocking;
pub use context::{CHECKS_AT_ONCE, SyncContext, SyncError};

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use mirror_repodata::repo::RepoDir;

use self::decide::{Decision, State};
use crate::config::MirrorSpec;
use crate::fetch::{self, Fetcher};
use crate::filter::sign::Signer;
use crate::report::{Reporter, Status, SyncReport};
use crate::store::Store;

/// Sync one mirror. Failures come back as `Err`; the caller turns them into
/// a failed report (see [`failed_report`]). Every attempt is recorded in the
/// mirror's history ([`crate::history`]), except when another process held
/// the lock.
pub async fn sync_mirror(
    ctx: &SyncContext,
    spec: &MirrorSpec,
    reporter: &dyn Reporter,
) -> Result<SyncReport, SyncError> {
    let started = jiff::Timestamp::now();
    let clock = Instant::now();
    let result = sync_locked(ctx, spec, reporter).await;
    let store = Store::new(&ctx.root, spec.name.clone());
    let attempt = match &result {
        Err(e) if e.is_locked() => None,
        Ok(r) => Some(crate::history::Attempt {
            time: started.to_string(),
            status: serde_json::to_value(r.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            seconds: r.seconds,
            bytes: r.downloaded_bytes,
            requests: r.requests,
            snapshot: r.snapshot.clone(),
            error: None,
        }),
        Err(e) => Some(crate::history::Attempt {
            time: started.to_string(),
            status: "failed".into(),
            seconds: clock.elapsed().as_secs_f64(),
            bytes: 0,
            requests: 0,
            snapshot: None,
            error: Some(error_chain(e)),
        }),
    };
    if let Some(a) = attempt
        && let Err(e) = crate::history::record_attempt(&store, &a)
    {
        tracing::warn!("{}", error_chain(&e));
    }
    result
}

async fn sync_locked(
    ctx: &SyncContext,
    spec: &MirrorSpec,
    reporter: &dyn Reporter,
) -> Result<SyncReport, SyncError> {
    let started = Instant::now();
    // Access is read and checked before any request (files, expiry, key).
    let access = spec
        .access
        .resolve(jiff::Timestamp::now().as_second())
        .map_err(|source| SyncError::Access {
            mirror: spec.name.to_string(),
            source,
        })?;
    let hosts = crate::upstream::own_hosts(&spec.upstream, &spec.vars);
    let opts = crate::fetch::FetchOptions {
        verify_local: spec.verify_local,
        ..ctx.fetch.clone()
    };
    let fetcher = Arc::new(
        Fetcher::new(opts, &access, hosts)
            .map_err(SyncError::Client)?
            .with_throttle(spec.throttle),
    );
    let keyring = if spec.trust.enabled() {
        Some(load_keyring(&fetcher, spec).await?)
    } else {
        None
    };
    let signer = load_signer(spec).await?;
    let mut report = SyncReport::new(&spec.name);
    let store = Store::new(&ctx.root, spec.name.clone());
    let _lock = {
        let s = store.clone();
        let wait = ctx.wait_for_lock;
        blocking(move || Ok(s.lock(wait)?)).await?
    };
    {
        let s = store.clone();
        blocking(move || Ok(s.clean_staging()?)).await?;
    }

    let latest = store.latest()?;
    report.previous = latest.as_ref().map(ToString::to_string);
    let pending = store.pending()?;
    let snapshots = store.snapshots()?;
    if let Some(w) = clock_warning(snapshots.last(), jiff::Timestamp::now()) {
        tracing::warn!("{}: {w}", spec.name);
        report.warnings.push(w);
    }
    let state = State {
        latest: latest.as_ref(),
        pending: pending.as_ref(),
        snapshots: &snapshots,
        allow_downgrade: spec.allow_downgrade,
    };
    // A filtered mirror's snapshots are compared by what they were made
    // from: the filter (and signing key) and upstream's repomd.xml.
    let filtered = spec.filter.is_active();
    let record_of = |repomd: &[u8]| -> Vec<u8> {
        if filtered {
            source_record(spec, signer.as_deref(), repomd)
        } else {
            repomd.to_vec()
        }
    };
    let snapshot_record = |s: &mirror_index::SnapshotName| {
        if filtered {
            store.snapshot_source(s)
        } else {
            store.snapshot_repomd(s)
        }
    };
    // An upstream serving an older repomd.xml is passed over for the next.
    let older = |repomd: &[u8]| {
        if spec.allow_downgrade {
            None
        } else {
            decide::downgrade(&record_of(repomd), &state, snapshot_record)
        }
    };

    reporter.phase(&spec.name, "fetching repomd.xml");
    let resolved = upstreams::resolve(&fetcher, spec).await?;
    let (ups, repomd_bytes) = upstreams::fetch_repomd(&fetcher, spec, &resolved, &older).await?;
    let base_url = ups.primary().clone();
    report.upstream = Some(mirror_http::redact(base_url.as_str()));
    report.skipped_mirrors = ups.skipped_report();
    let source = filtered.then(|| record_of(&repomd_bytes));
    let decision = decide::decide(
        source.as_deref().unwrap_or(&repomd_bytes),
        &state,
        snapshot_record,
    );
    let name = &spec.name;
    match decision {
        Decision::Unchanged {
            latest,
            stale_pending,
        } => {
            tracing::info!(
                "{name}: repomd.xml of {base_url} equals latest's ({latest}): unchanged"
            );
            if stale_pending {
                // Killed after latest.txt moved but before cleaning up.
                store.commit(&latest)?;
            }
            report.status = Status::Unchanged;
            report.packages = snapshot_packages(&store.snapshot_dir(&latest))?;
            report.snapshot = Some(latest.to_string());
        }
        Decision::FinishPending(p) => {
            tracing::info!(
                "{name}: upstream matches {p}, published but not committed: finishing its commit"
            );
            reporter.phase(name, "finishing an interrupted commit");
            commit(&store, &p).await?;
            report.status = Status::NewSnapshot;
            report.packages = snapshot_packages(&store.snapshot_dir(&p))?;
            report.note = Some(format!("finished the commit of {p}, interrupted earlier"));
            report.snapshot = Some(p.to_string());
        }
        Decision::HeldBack { latest, matches } => {
            tracing::info!(
                "{name}: upstream still matches {matches}, held back by a rollback: latest stays"
            );
            report.status = Status::Unchanged;
            report.snapshot = Some(latest.to_string());
            report.note = Some(format!(
                "latest is held at {latest} by a rollback; upstream still matches {matches}"
            ));
        }
        Decision::Downgrade { latest, why } => {
            tracing::warn!(
                "{name}: {base_url} serves an older repomd.xml ({why}): latest stays at {latest}; sync --allow-downgrade accepts it"
            );
            report.status = Status::Unchanged;
            report.snapshot = Some(latest.to_string());
            report.downgrade_refused = Some(why.clone());
            report.note = Some(format!(
                "refused a downgrade: upstream's repomd.xml is older than this mirror's ({why}); latest stays at {latest} (allow_downgrade accepts it)"
            ));
        }
        Decision::New { downgrade } => {
            tracing::info!("{name}: upstream changed (from {base_url}): building a new snapshot");
            if let Some(why) = &downgrade {
                tracing::warn!("{name}: accepting a downgrade (allow_downgrade): {why}");
                report.note = Some(format!(
                    "accepted a downgrade (allow_downgrade): upstream's repomd.xml is older ({why})"
                ));
            }
            let _slot = match &ctx.builds {
                Some(slots) => {
                    reporter.phase(name, "waiting for a build slot (--jobs)");
                    Some(
                        slots
                            .acquire()
                            .await
                            .expect("the build semaphore is never closed"),
                    )
                }
                None => None,
            };
            let repomd_url =
                fetch::join(&base_url, "repodata/repomd.xml").expect("constant path joins");
            let md = mirror_repodata::repomd::parse(&repomd_bytes).map_err(|source| {
                SyncError::Repomd {
                    url: mirror_http::redact(repomd_url.as_str()),
                    source,
                }
            })?;
            let build = build::Build {
                ctx,
                spec,
                store: &store,
                fetcher: &fetcher,
                reporter,
                ups: &ups,
                repomd_bytes: &repomd_bytes,
                md: &md,
                dir: store.new_build()?,
                keyring: keyring.as_ref(),
                source: source.as_deref(),
                signer: signer.as_ref(),
            };
            let result = build.run(&snapshots, &mut report).await;
            report.skipped_mirrors = ups.skipped_report();
            let snap = match result {
                Ok(n) => n,
                Err(e) => {
                    // Publish nothing; keep verified objects for the next run,
                    // unless the disk is full: then give the space back.
                    let _ = std::fs::remove_dir_all(&build.dir);
                    if is_disk_full(&e) {
                        let _ = store.clear_objects();
                    }
                    return Err(e);
                }
            };
            reporter.phase(name, "committing");
            let commit_start = Instant::now();
            commit(&store, &snap).await?;
            report
                .phases
                .insert("commit", commit_start.elapsed().as_secs_f64());
            record_manifest(&store, &snap, &snapshots, &report, started).await;
            report.status = Status::NewSnapshot;
            report.snapshot = Some(snap.to_string());
        }
    }
    report.requests = fetcher.requests.load(std::sync::atomic::Ordering::Relaxed);
    report.downloaded_bytes = fetcher.bytes.load(std::sync::atomic::Ordering::Relaxed);
    report.linked_files = fetcher.linked();
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// A warning when the newest snapshot is named ahead of the clock: new
/// names follow it (they must sort after it) until the clock passes it.
pub fn clock_warning(
    newest: Option<&mirror_index::SnapshotName>,
    now: jiff::Timestamp,
) -> Option<String> {
    let newest = newest?;
    let ahead = newest.ahead_of(now)?;
    Some(format!(
        "the newest snapshot {newest} is named {:.0} hours ahead of this host's clock (was the clock wrong when it was made?); new snapshots are named after it until the clock passes it. If it is wrong: roll back to an older snapshot, then gc removes snapshots named in the future (unless pinned or on a channel)",
        ahead.as_secs_f64() / 3600.0
    ))
}

/// What a filtered snapshot is made from, recorded with it: a line naming
/// the filter and signing key, then upstream's repomd.xml.
fn source_record(spec: &MirrorSpec, signer: Option<&Signer>, repomd: &[u8]) -> Vec<u8> {
    decide::source_record(
        &spec.filter.fingerprint(),
        signer.map(|s| s.fingerprint.as_str()),
        repomd,
    )
}

/// The mirror's signing key, when it filters and has one: loaded (and
/// tried) before anything is downloaded.
async fn load_signer(spec: &MirrorSpec) -> Result<Option<Arc<Signer>>, SyncError> {
    let Some(sign) = spec.sign.clone().filter(|_| spec.filter.is_active()) else {
        return Ok(None);
    };
    let mirror = spec.name.to_string();
    blocking(move || {
        Signer::load(&sign.key, sign.passphrase.as_ref())
            .map(|s| Some(Arc::new(s)))
            .map_err(|source| SyncError::Sign { mirror, source })
    })
    .await
}

/// The mirror's pinned keys ([`crate::trust::load_keyring`]), its
/// failures as a sync's.
async fn load_keyring(
    fetcher: &Fetcher,
    spec: &MirrorSpec,
) -> Result<crate::trust::Keyring, SyncError> {
    use crate::trust::KeyringError;
    let mirror = spec.name.to_string();
    crate::trust::load_keyring(fetcher, &spec.trust)
        .await
        .map_err(|e| match e {
            KeyringError::Config(message) => SyncError::Config { mirror, message },
            KeyringError::Fetch(f) => SyncError::Fetch(f),
            KeyringError::Trust(source) => SyncError::Trust { mirror, source },
        })
}

/// Write the new snapshot's manifest (compared with the newest snapshot
/// before it). A failure here only costs the manifest, which is computed
/// again on first need: it never fails the sync.
async fn record_manifest(
    store: &Store,
    snap: &mirror_index::SnapshotName,
    before: &[mirror_index::SnapshotName],
    report: &SyncReport,
    started: Instant,
) {
    let (store, snap) = (store.clone(), snap.clone());
    let previous = before.iter().rev().find(|s| **s < snap).cloned();
    let upstream = report.upstream.clone();
    let seconds = Some(started.elapsed().as_secs_f64());
    let res = blocking(move || {
        let m =
            crate::history::compute_manifest(&store, &snap, previous.as_ref(), upstream, seconds)?;
        Ok(crate::history::write_manifest(&store, &m)?)
    })
    .await;
    if let Err(e) = res {
        tracing::warn!("manifest of {}: {}", report.mirror, error_chain(&e));
    }
}

/// The store's commit, on the blocking pool.
async fn commit(store: &Store, name: &mirror_index::SnapshotName) -> Result<(), SyncError> {
    let (store, name) = (store.clone(), name.clone());
    blocking(move || Ok(store.commit(&name)?)).await
}

/// Did `err` come from a full disk (or quota)?
fn is_disk_full(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && (io.kind() == std::io::ErrorKind::StorageFull
                || io.kind() == std::io::ErrorKind::QuotaExceeded)
        {
            return true;
        }
        cur = e.source();
    }
    false
}

/// A failed report for `err`, with its whole cause chain.
pub fn failed_report(spec: &MirrorSpec, err: &(dyn std::error::Error + 'static)) -> SyncReport {
    let mut r = SyncReport::new(&spec.name);
    r.status = Status::Failed;
    r.error = Some(error_chain(err));
    r
}

pub use mirror_index::error_chain;

/// How many packages a published snapshot holds: what its primary declares
/// (one element read), else a count of its .rpm files.
fn snapshot_packages(dir: &Path) -> Result<u64, SyncError> {
    let declared = RepoDir::open(dir)
        .ok()
        .and_then(|r| r.declared_packages().ok().flatten());
    match declared {
        Some(n) => Ok(n),
        None => Ok(crate::store::list_files(dir)?
            .iter()
            .filter(|p| {
                !p.starts_with("repodata/")
                    && Path::new(p)
                        .extension()
                        .is_some_and(|e| e.eq_ignore_ascii_case("rpm"))
            })
            .count() as u64),
    }
}
