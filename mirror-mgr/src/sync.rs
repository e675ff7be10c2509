//! The sync driver: upstream -> verified downloads -> snapshot -> base ->
//! latest.txt, in the commit order of the spec. Async only where it talks to
//! the network; file work runs on the blocking pool.
//!
//! Decisions made here, in order:
//! 1. repomd.xml equals the latest snapshot's: unchanged, nothing else fetched.
//! 2. It equals the snapshot named by `.pending` (published by a sync that was
//!    killed before it moved `latest.txt`): finish that commit.
//! 3. It equals a snapshot newer than latest that is not pending: latest was
//!    rolled back on purpose; leave it (unchanged, with a note).
//! 4. Otherwise build, publish and commit a new snapshot.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use futures_util::{StreamExt, TryStreamExt};
use url::Url;

use mirror_index::SnapshotName;

use crate::config::{MirrorSpec, XmlBasePolicy};
use crate::crashpoint;
use crate::fetch::{self, Expect, FetchError, FetchOptions, Fetcher};
use crate::report::{Reporter, Status, SyncReport};
use crate::store::{IoContext, Store, StoreError};
use crate::upstream::{self, Plan};
use mirror_repodata::checksum::Checksum;
use mirror_repodata::mirrorlist::{self, MirrorList};
use mirror_repodata::primary::{self, Package};
use mirror_repodata::repomd::{self, Repomd};

/// Upper bound for repomd.xml, mirrorlists and metalinks held in memory.
const SMALL_FILE_LIMIT: u64 = 16 * 1024 * 1024;

/// Settings shared by every mirror of one run.
#[derive(Debug, Clone)]
pub struct SyncContext {
    pub root: PathBuf,
    pub fetch: FetchOptions,
    /// Parallel package downloads per mirror.
    pub concurrency: usize,
    /// Wait for another process's lock instead of failing fast.
    pub wait_for_lock: bool,
}

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
        source: repomd::RepomdError,
    },
    #[error("{url}")]
    Primary {
        url: String,
        #[source]
        source: primary::PrimaryError,
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
    #[error("internal task failed: {0}")]
    Join(String),
}

impl SyncError {
    /// Another process holds this mirror's lock.
    pub fn is_locked(&self) -> bool {
        matches!(self, Self::Store(StoreError::Locked { .. }))
    }
}

/// The part of a package a sync keeps in memory (about 150 bytes each).
#[derive(Debug, Clone)]
struct Item {
    href: String,
    checksum: Checksum,
    /// Unknown only for installer-tree files (`.treeinfo` gives no sizes).
    size: Option<u64>,
    /// Index into the list of `xml:base` URLs when upstream gave one (and
    /// `xml_base: follow`); otherwise the package comes from the mirror's base URL.
    location_base: Option<u32>,
    from_base: bool,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SyncError> + Send + 'static,
) -> Result<T, SyncError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SyncError::Join(e.to_string()))?
}

/// Sync one mirror. Failures come back as `Err`; the caller turns them into
/// a failed report (see [`failed_report`]). The outcome is recorded in the
/// mirror's directory (see [`Store::record_outcome`]), except when another
/// process held the lock.
pub async fn sync_mirror(
    ctx: &SyncContext,
    spec: &MirrorSpec,
    reporter: &dyn Reporter,
) -> Result<SyncReport, SyncError> {
    let result = sync_locked(ctx, spec, reporter).await;
    let store = Store::new(&ctx.root, spec.name.clone());
    let recorded = match &result {
        Ok(_) => store.record_outcome(None),
        Err(e) if e.is_locked() => Ok(()),
        Err(e) => store.record_outcome(Some(&error_chain(e))),
    };
    if let Err(e) = recorded {
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
    let fetcher = Arc::new(Fetcher::new(ctx.fetch.clone()).map_err(SyncError::Client)?);
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

    reporter.phase(&spec.name, "fetching repomd.xml");
    let resolved = resolve(&fetcher, spec).await?;
    let (ups, repomd_bytes) = fetch_repomd(&fetcher, spec, &resolved).await?;
    let base_url = ups.primary().clone();
    report.upstream = Some(base_url.to_string());
    report.skipped_mirrors = ups.skipped_report();
    let latest = store.latest()?;
    report.previous = latest.as_ref().map(ToString::to_string);
    let pending = store.pending()?;

    let finish_stats = |report: &mut SyncReport, fetcher: &Fetcher| {
        report.requests = fetcher.requests.load(std::sync::atomic::Ordering::Relaxed);
        report.downloaded_bytes = fetcher.bytes.load(std::sync::atomic::Ordering::Relaxed);
        report.seconds = started.elapsed().as_secs_f64();
    };

    // 1. Unchanged.
    if let Some(l) = &latest
        && store.snapshot_repomd(l).as_deref() == Some(&repomd_bytes[..])
    {
        if pending.as_ref() == Some(l) {
            // Killed after latest.txt moved but before cleaning up.
            store.clear_pending()?;
            store.clear_objects()?;
        }
        tracing::info!(
            "{}: repomd.xml of {base_url} equals latest's ({l}): unchanged",
            spec.name
        );
        report.status = Status::Unchanged;
        report.snapshot = Some(l.to_string());
        report.packages = snapshot_packages(&store.snapshot_dir(l), &repomd_bytes)?;
        finish_stats(&mut report, &fetcher);
        return Ok(report);
    }
    // 2. Finish a published but uncommitted snapshot.
    if let Some(p) = &pending
        && store.snapshot_repomd(p).as_deref() == Some(&repomd_bytes[..])
    {
        tracing::info!(
            "{}: upstream matches {p}, published but not committed: finishing its commit",
            spec.name
        );
        reporter.phase(&spec.name, "finishing an interrupted commit");
        commit(&store, p).await?;
        report.status = Status::NewSnapshot;
        report.snapshot = Some(p.to_string());
        report.packages = count_packages(&store.snapshot_dir(p))?;
        report.note = Some(format!("finished the commit of {p}, interrupted earlier"));
        finish_stats(&mut report, &fetcher);
        return Ok(report);
    }
    // 3. Held back by a rollback.
    let snapshots = store.snapshots()?;
    for s in snapshots
        .iter()
        .rev()
        .filter(|s| latest.as_ref().is_some_and(|l| *s > l))
    {
        if store.snapshot_repomd(s).as_deref() == Some(&repomd_bytes[..]) {
            tracing::info!(
                "{}: upstream still matches {s}, held back by a rollback: latest stays",
                spec.name
            );
            report.status = Status::Unchanged;
            report.snapshot = latest.as_ref().map(ToString::to_string);
            report.note = Some(format!(
                "latest is held at {} by a rollback; upstream still matches {s}",
                latest.as_ref().expect("filtered on latest")
            ));
            finish_stats(&mut report, &fetcher);
            return Ok(report);
        }
    }

    // 4. A new snapshot.
    tracing::info!(
        "{}: upstream changed (from {base_url}): building a new snapshot",
        spec.name
    );
    let repomd_url = fetch::join(&base_url, "repodata/repomd.xml").expect("constant path joins");
    let md = repomd::parse(&repomd_bytes).map_err(|source| SyncError::Repomd {
        url: repomd_url.to_string(),
        source,
    })?;
    let build = store.new_build()?;
    let result = build_and_publish(
        ctx,
        spec,
        &store,
        &fetcher,
        reporter,
        &ups,
        &repomd_bytes,
        &md,
        &build,
        &snapshots,
        &mut report,
    )
    .await;
    report.skipped_mirrors = ups.skipped_report();
    let name = match result {
        Ok(name) => name,
        Err(e) => {
            // Publish nothing; keep verified objects for the next run, unless
            // the disk is full: then give the space back.
            let _ = std::fs::remove_dir_all(&build);
            if is_disk_full(&e) {
                let _ = store.clear_objects();
            }
            return Err(e);
        }
    };
    reporter.phase(&spec.name, "committing");
    let commit_start = Instant::now();
    commit(&store, &name).await?;
    report
        .phases
        .insert("commit", commit_start.elapsed().as_secs_f64());
    report.status = Status::NewSnapshot;
    report.snapshot = Some(name.to_string());
    finish_stats(&mut report, &fetcher);
    Ok(report)
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

async fn resolve(fetcher: &Fetcher, spec: &MirrorSpec) -> Result<MirrorList, SyncError> {
    let cfg_err = |message: String| SyncError::Config {
        mirror: spec.name.to_string(),
        message,
    };
    match upstream::plan(&spec.upstream, &spec.vars).map_err(cfg_err)? {
        Plan::Direct(r) => Ok(r),
        Plan::Fetch { url, .. } => {
            let body = fetcher.get(&url, SMALL_FILE_LIMIT).await?;
            mirrorlist::parse_list(&body, &url).map_err(cfg_err)
        }
    }
}

/// The upstream mirrors a sync may take files from, best first, and the
/// ones it passed over. A file that one mirror fails to serve (missing,
/// corrupt, refused connection) is tried at the next: every file is checked
/// against the metadata's checksum, so which mirror served it does not
/// matter. Only the last candidate retries transient errors; for the others
/// the next mirror is the retry.
struct Upstreams {
    candidates: Vec<Url>,
    skipped: std::sync::Mutex<std::collections::BTreeMap<String, (String, u64)>>,
}

impl Upstreams {
    fn skip(&self, base: &Url, why: &dyn std::fmt::Display) {
        let mut s = self.skipped.lock().expect("not poisoned");
        s.entry(base.to_string())
            .or_insert_with(|| (why.to_string(), 0))
            .1 += 1;
    }

    /// "URL: first reason (N files)" for the report.
    fn skipped_report(&self) -> Vec<String> {
        let s = self.skipped.lock().expect("not poisoned");
        s.iter()
            .map(|(url, (why, n))| {
                if *n > 1 {
                    format!("{url}: {why} ({n} times)")
                } else {
                    format!("{url}: {why}")
                }
            })
            .collect()
    }

    fn primary(&self) -> &Url {
        &self.candidates[0]
    }

    /// Download `rel` into `dest` from the first candidate that serves it.
    async fn download(
        &self,
        fetcher: &Fetcher,
        rel: &str,
        dest: &Path,
        expect: &Expect,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<(), SyncError> {
        let mut first_err: Option<FetchError> = None;
        for (i, base) in self.candidates.iter().enumerate() {
            let last = i + 1 == self.candidates.len();
            let url = fetch::join(base, rel).map_err(|e| SyncError::BadMetadata {
                url: base.to_string(),
                message: format!("{rel}: {e}"),
            })?;
            let retries = if last { fetcher.options().retries } else { 0 };
            match fetcher
                .download_retrying(&url, dest, expect, progress, retries)
                .await
            {
                Ok(()) => return Ok(()),
                Err(e @ FetchError::Write { .. }) => return Err(e.into()),
                Err(e) => {
                    if !last {
                        self.skip(base, &e);
                    }
                    first_err.get_or_insert(e);
                }
            }
        }
        Err(first_err.expect("at least one candidate").into())
    }
}

/// Find the first base that serves a usable repomd.xml: reachable, matching
/// the metalink's hashes, and parseable (a captive portal's HTML page is
/// not). Returns the upstreams to download from (that base, then the ones
/// after it), the bytes and the parsed repomd.
async fn fetch_repomd(
    fetcher: &Fetcher,
    spec: &MirrorSpec,
    resolved: &MirrorList,
) -> Result<(Upstreams, bytes::Bytes), SyncError> {
    let ups = Upstreams {
        candidates: Vec::new(),
        skipped: std::sync::Mutex::default(),
    };
    let mut errors = Vec::new();
    let n = resolved.bases.len();
    for (i, base) in resolved.bases.iter().enumerate() {
        if base.as_str().contains('$') {
            let why = "has an unexpanded yum variable (set it in the mirror's config)";
            errors.push(format!("{base}: {why}"));
            ups.skip(base, &why);
            continue;
        }
        let url = fetch::join(base, "repodata/repomd.xml").expect("constant path joins");
        let retries = if i + 1 == n {
            fetcher.options().retries
        } else {
            0
        };
        let why = match fetcher.get_retrying(&url, SMALL_FILE_LIMIT, retries).await {
            Ok(bytes) if !resolved.repomd_ok(&bytes) => {
                "repomd.xml does not match the metalink's checksums (stale mirror?)".to_owned()
            }
            Ok(bytes) => match repomd::parse(&bytes) {
                Ok(_) => {
                    return Ok((
                        Upstreams {
                            candidates: resolved.bases[i..].to_vec(),
                            skipped: ups.skipped,
                        },
                        bytes,
                    ));
                }
                Err(e) if n == 1 => {
                    return Err(SyncError::Repomd {
                        url: url.to_string(),
                        source: e,
                    });
                }
                Err(e) => format!("unusable repomd.xml: {}", error_chain(&e)),
            },
            Err(e) if n == 1 => return Err(e.into()),
            Err(e) => error_chain(&e),
        };
        errors.push(format!("{url}: {why}"));
        ups.skip(base, &why);
    }
    Err(SyncError::NoUpstream {
        mirror: spec.name.to_string(),
        errors,
    })
}

#[allow(clippy::too_many_arguments)]
async fn build_and_publish(
    ctx: &SyncContext,
    spec: &MirrorSpec,
    store: &Store,
    fetcher: &Arc<Fetcher>,
    reporter: &dyn Reporter,
    ups: &Upstreams,
    repomd_bytes: &[u8],
    md: &Repomd,
    build: &Path,
    snapshots: &[SnapshotName],
    report: &mut SyncReport,
) -> Result<SnapshotName, SyncError> {
    // Metadata: repomd.xml as fetched, its signature and key when upstream has them,
    // then every file it lists, verified.
    let mut mark = Instant::now();
    let mut lap = |report: &mut SyncReport, phase: &'static str| {
        report.phases.insert(phase, mark.elapsed().as_secs_f64());
        mark = Instant::now();
    };
    reporter.phase(&spec.name, "downloading metadata");
    let base_url = ups.primary();
    let repomd_path = build.join("repodata/repomd.xml");
    std::fs::write(&repomd_path, repomd_bytes).at(&repomd_path)?;
    for extra in ["repodata/repomd.xml.asc", "repodata/repomd.xml.key"] {
        let url = fetch::join(base_url, extra).expect("constant path joins");
        if let Some(b) = fetcher.get_optional(&url, SMALL_FILE_LIMIT).await? {
            let p = build.join(extra);
            std::fs::write(&p, &b).at(&p)?;
        }
    }
    let mut made = HashSet::new();
    for r in &md.records {
        crate::store::ensure_parent(&r.href.under(build), &mut made)?;
    }
    // Large repos carry filelists of 100+ MB: show them as a download too.
    let meta_bytes: u64 = md.records.iter().filter_map(|r| r.size).sum();
    reporter.download_start(&spec.name, md.records.len() as u64, meta_bytes);
    let meta_progress = |n: u64| reporter.download_progress(&spec.name, n);
    let result = futures_util::stream::iter(md.records.iter().map(|r| {
        let dest = r.href.under(build);
        let expect = Expect {
            size: r.size,
            checksum: r.checksum.clone(),
        };
        let progress = &meta_progress;
        async move {
            ups.download(fetcher, r.href.as_str(), &dest, &expect, progress)
                .await?;
            reporter.file_done(&spec.name);
            Ok::<_, SyncError>(())
        }
    }))
    .buffer_unordered(ctx.concurrency.clamp(1, 8))
    .try_collect::<()>()
    .await;
    reporter.download_done(&spec.name);
    result?;
    report.downloaded_files += md.records.len() as u64;
    crashpoint::hit("metadata-downloaded");

    // An installer tree's description, when upstream is one (from the base
    // that served repomd.xml; some servers refuse dot-files: that is "none").
    for name in mirror_repodata::content::TREEINFO_NAMES {
        let url = fetch::join(base_url, name).expect("constant path joins");
        match fetcher.get(&url, SMALL_FILE_LIMIT).await {
            Ok(b) => {
                let p = build.join(name);
                std::fs::write(&p, &b).at(&p)?;
                report.downloaded_files += 1;
                break;
            }
            Err(
                FetchError::NotFound { .. }
                | FetchError::Status {
                    status: 401 | 403, ..
                },
            ) => {}
            Err(e) => return Err(e.into()),
        }
    }

    lap(report, "metadata");
    // Package list from primary, and what base/ already has.
    reporter.phase(&spec.name, "reading primary");
    let primary_rec = md.primary().expect("parse checks primary").clone();
    let primary_url = fetch::join(base_url, primary_rec.href.as_str()).expect("checked href joins");
    let (items, location_bases, packages) = {
        let (dir, url, policy) = (build.to_path_buf(), primary_url.clone(), spec.xml_base);
        let mut hosts = spec.xml_base_hosts.clone();
        hosts.extend(base_url.host_str().map(str::to_owned));
        let md = md.clone();
        blocking(move || {
            let extras = mirror_repodata::content::extra_files(&dir, &md).map_err(|message| {
                SyncError::BadMetadata {
                    url: url.to_string(),
                    message,
                }
            })?;
            read_items(&dir, &primary_rec, &url, policy, &hosts, extras)
        })
        .await?
    };
    let have = {
        let s = store.clone();
        blocking(move || Ok(s.base_index()?)).await?
    };
    let mut items = items;
    let new_pairs: HashSet<(&str, &str)> = items
        .iter()
        .map(|i| (i.href.as_str(), i.checksum.hex.as_str()))
        .collect();
    report.packages = packages;
    report.removed = have
        .iter()
        .filter(|(h, (c, _))| !new_pairs.contains(&(h.as_str(), c.hex.as_str())))
        .count() as u64;
    drop(new_pairs);
    let base = store.base();
    let mut to_download = Vec::new();
    for (i, item) in items.iter_mut().enumerate() {
        let in_base = have
            .get(&item.href)
            .is_some_and(|(c, s)| *c == item.checksum && *s == item.size);
        if in_base {
            if crate::store::regular_file_under(&base, &item.href)
                .is_some_and(|m| item.size.is_none_or(|s| m.len() == s))
            {
                item.from_base = true;
                continue;
            }
        } else {
            report.added += 1;
        }
        // An object left by an interrupted run is re-hashed before reuse: it was
        // verified when downloaded, but a power loss before the syncfs could
        // have left it with the right size and the wrong bytes.
        let obj = store.object_path(&item.checksum);
        let reusable = std::fs::metadata(&obj)
            .is_ok_and(|m| item.size.is_none_or(|s| m.len() == s))
            && mirror_repodata::checksum::hash_file(&obj, item.checksum.kind)
                .is_ok_and(|c| c == item.checksum);
        if !reusable {
            let _ = std::fs::remove_file(&obj);
            to_download.push(i);
        }
    }
    drop(have);

    // Downloads, in parallel over the shared keep-alive pool.
    let total_bytes: u64 = to_download.iter().filter_map(|&i| items[i].size).sum();
    reporter.phase(&spec.name, "downloading packages");
    reporter.download_start(&spec.name, to_download.len() as u64, total_bytes);
    let progress = |n: u64| reporter.download_progress(&spec.name, n);
    let location_bases = &location_bases;
    let result = futures_util::stream::iter(to_download.iter().map(|&i| {
        let item = &items[i];
        let dest = store.object_path(&item.checksum);
        let expect = Expect {
            size: item.size,
            checksum: item.checksum.clone(),
        };
        let progress = &progress;
        async move {
            if let Some(b) = item.location_base {
                // An xml:base names one host: nothing to fail over to.
                let from = &location_bases[b as usize];
                let url = fetch::join(from, &item.href).map_err(|e| SyncError::BadMetadata {
                    url: from.to_string(),
                    message: format!("{}: {e}", item.href),
                })?;
                fetcher.download(&url, &dest, &expect, progress).await?;
            } else {
                ups.download(fetcher, &item.href, &dest, &expect, progress)
                    .await?;
            }
            reporter.file_done(&spec.name);
            crashpoint::hit("package-downloaded");
            Ok::<_, SyncError>(())
        }
    }))
    .buffer_unordered(ctx.concurrency.max(1))
    .try_collect::<()>()
    .await;
    reporter.download_done(&spec.name);
    result?;
    report.downloaded_files += to_download.len() as u64;

    // Upstream must not have moved while we downloaded.
    let repomd_url = fetch::join(base_url, "repodata/repomd.xml").expect("constant path joins");
    let again = fetcher.get(&repomd_url, SMALL_FILE_LIMIT).await?;
    if again != repomd_bytes {
        return Err(SyncError::UpstreamChanged {
            url: repomd_url.to_string(),
        });
    }

    lap(report, "packages");
    // Link packages into the build, then publish it.
    reporter.phase(&spec.name, "building snapshot");
    {
        let (store, build) = (store.clone(), build.to_path_buf());
        blocking(move || link_build(&store, &build, &items)).await?;
    }
    crashpoint::hit("snapshot-linked");
    let newest = store.newest_issued()?.max(snapshots.last().cloned());
    let name = SnapshotName::next(jiff::Timestamp::now(), newest.as_ref()).map_err(|e| {
        SyncError::Config {
            mirror: spec.name.to_string(),
            message: e.to_string(),
        }
    })?;
    {
        let (store, build, name) = (store.clone(), build.to_path_buf(), name.clone());
        blocking(move || Ok(store.publish(&build, &name)?)).await?;
    }
    lap(report, "snapshot");
    Ok(name)
}

/// Stream the primary into the compact item list (sorted by href), refusing
/// duplicates that disagree. Also returns the distinct `xml:base` URLs items
/// refer to.
fn read_items(
    dir: &Path,
    primary: &repomd::Record,
    url: &Url,
    policy: XmlBasePolicy,
    allowed_hosts: &[String],
    extras: Vec<mirror_repodata::content::Listed>,
) -> Result<(Vec<Item>, Vec<Url>, u64), SyncError> {
    let reader = primary.open_in(dir).at(&primary.href.under(dir))?;
    let mut items: Vec<Item> = Vec::new();
    let mut bases: Vec<Url> = Vec::new();
    let bad = |message: String| SyncError::BadMetadata {
        url: url.to_string(),
        message,
    };
    let res = primary::for_each_package(reader, |p: Package| -> Result<(), SyncError> {
        let href = p.href.as_str().to_owned();
        let location_base = match (&p.location_base, policy) {
            (None, _) => None,
            (Some(b), XmlBasePolicy::Follow) => {
                let b = fetch::parse_base_url(b).map_err(|e| bad(format!("{href}: xml:base: {e}")))?;
                // Only the network, and only hosts the operator allowed: a
                // file:// base would publish the mirror host's own files.
                if !matches!(b.scheme(), "http" | "https") {
                    return Err(bad(format!(
                        "{href}: xml:base {b} is not an http(s) URL; only http(s) bases are followed"
                    )));
                }
                let host = b.host_str().unwrap_or("");
                if !allowed_hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
                    return Err(bad(format!(
                        "{href}: xml:base host {host:?} is not allowed (the upstream's own host is; add others with xml_base_hosts or --xml-base-host)"
                    )));
                }
                let i = bases.iter().position(|x| *x == b).unwrap_or_else(|| {
                    bases.push(b);
                    bases.len() - 1
                });
                Some(u32::try_from(i).map_err(|_| bad("too many distinct xml:base URLs".into()))?)
            }
            (Some(b), XmlBasePolicy::Error) => {
                return Err(bad(format!(
                    "{} ({href}) has xml:base={b:?}: the snapshot would depend on another host; set `xml_base: follow` for this mirror to download from there",
                    p.nevra()
                )));
            }
        };
        items.push(Item {
            href,
            checksum: p.checksum,
            size: Some(p.size),
            location_base,
            from_base: false,
        });
        Ok(())
    })
    .map_err(|source| SyncError::Primary {
        url: url.to_string(),
        source,
    })?;
    res?;
    sort_dedup(&mut items).map_err(&bad)?;
    let packages = items.len() as u64;
    if !extras.is_empty() {
        items.extend(extras.into_iter().map(|l| Item {
            href: l.href.as_str().to_owned(),
            checksum: l.checksum,
            size: l.size,
            location_base: None,
            from_base: false,
        }));
        sort_dedup(&mut items).map_err(&bad)?;
    }
    items.shrink_to_fit();
    Ok((items, bases, packages))
}

/// Sort by href and drop repeats. The same file listed twice is harmless;
/// two different files claiming one path are not. Sorting (rather than a
/// map of hrefs) keeps memory at one copy of each href.
fn sort_dedup(items: &mut Vec<Item>) -> Result<(), String> {
    items.sort_unstable_by(|a, b| a.href.cmp(&b.href));
    let mut conflict = None;
    items.dedup_by(|later, first| {
        if later.href != first.href {
            return false;
        }
        if (later.checksum != first.checksum || later.size != first.size) && conflict.is_none() {
            conflict = Some(format!(
                "{} is listed twice with different checksums or sizes ({} and {})",
                first.href, first.checksum, later.checksum
            ));
        }
        true
    });
    conflict.map_or(Ok(()), Err)
}

fn link_build(store: &Store, build: &Path, items: &[Item]) -> Result<(), SyncError> {
    let base = store.base();
    let mut made = HashSet::new();
    for item in items {
        let dst = build.join(&item.href);
        let src = if item.from_base {
            base.join(&item.href)
        } else {
            store.object_path(&item.checksum)
        };
        crate::store::ensure_parent(&dst, &mut made)?;
        std::fs::hard_link(&src, &dst).at(&dst)?;
    }
    Ok(())
}

/// Steps after publishing: base, latest.txt, clean-up (spec's commit order).
async fn commit(store: &Store, name: &SnapshotName) -> Result<(), SyncError> {
    let (store, name) = (store.clone(), name.clone());
    blocking(move || {
        store.update_base(&name)?;
        store.set_latest(&name)?;
        store.clear_pending()?;
        store.clear_objects()?;
        Ok(())
    })
    .await
}

/// How many packages a published snapshot holds: what its primary declares
/// (one element read), else a count of its package files.
fn snapshot_packages(dir: &Path, repomd_bytes: &[u8]) -> Result<u64, SyncError> {
    let declared = repomd::parse(repomd_bytes).ok().and_then(|md| {
        let rec = md.primary()?;
        primary::declared_packages(rec.open_in(dir).ok()?).ok()?
    });
    match declared {
        Some(n) => Ok(n),
        None => count_packages(dir),
    }
}

fn count_packages(dir: &Path) -> Result<u64, SyncError> {
    Ok(crate::store::list_files(dir)?
        .iter()
        .filter(|p| {
            !p.starts_with("repodata/")
                && Path::new(p)
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("rpm"))
        })
        .count() as u64)
}
