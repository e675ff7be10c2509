//! `publish`: the local tree uploaded to an S3-compatible bucket, in the
//! same layout, so dnf reads the bucket (or a CDN in front of it) exactly
//! as it reads the tree.
//!
//! Invariants, per mirror (see [`publish_mirror`]):
//! - a snapshot's files go up before its metadata, its metadata before
//!   `repomd.xml`: a client never finds a `repomd.xml` whose files are
//!   missing; an object that exists is complete (a PUT is atomic; a killed
//!   multipart upload leaves no object);
//! - `latest.txt` and channel pointers go up after every snapshot they
//!   name is complete, the index ([`index`]) after the pointers;
//! - a package's bytes are uploaded once: a file hard-linked to one of an
//!   already published snapshot (the same inode, so the same bytes) is a
//!   server-side copy;
//! - snapshots removed locally (gc) are removed from the bucket after the
//!   pointers and the index stopped naming them, `repomd.xml` first;
//! - a killed publish leaves the bucket serving the previous state; the
//!   next run skips what is there and finishes.
//!
//! Credentials come from the environment or files and never appear in
//! output or errors.

mod bucket;
pub mod index;
pub mod pool;

use bucket::PARALLEL;
pub use bucket::{Bucket, PublishError, complete_in_bucket};

use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use object_store::path::Path as Key;

use mirror_index::{MirrorName, SnapshotName};

use crate::crashpoint;
use crate::store::Store;

/// Publish `mirrors` of the tree at `root`: each mirror's snapshots and
/// pointers (under its lock, so no sync or gc changes it meanwhile), then
/// the shared index, then what gc removed. One report per mirror.
/// Mirror -> its signing key (the pool layout signs each snapshot's
/// regenerated repomd.xml with it).
pub type Keys = BTreeMap<String, crate::filter::SignSpec>;

pub async fn publish(
    bucket: &Bucket,
    root: &std::path::Path,
    mirrors: &[MirrorName],
    keys: &Keys,
) -> Result<Vec<PublishReport>, PublishError> {
    let mut reports = Vec::new();
    let mut latest: index::Changes = BTreeMap::new();
    let mut channels: BTreeMap<String, index::Changes> = BTreeMap::new();
    let mut locks = Vec::new();
    for name in mirrors {
        let store = Store::new(root, name.clone());
        if !store.dir.is_dir() {
            return Err(PublishError::Config(format!(
                "mirror {name} does not exist under {}",
                root.display()
            )));
        }
        let lock = {
            let s = store.clone();
            tokio::task::spawn_blocking(move || s.lock(true))
                .await
                .map_err(|e| PublishError::Config(e.to_string()))??
        };
        locks.push(lock);
        reports.push(publish_mirror(bucket, &store, keys.get(name.as_str())).await?);
        latest.insert(
            name.to_string(),
            store
                .latest()?
                .map(|l| mirror_index::all_latest::snapshot_url(&bucket.public_url, name, &l)),
        );
        for (ch, snap) in crate::channels::pointers_of(&store.dir)? {
            let Ok(snap) = SnapshotName::parse(&snap) else {
                continue;
            };
            let url = mirror_index::all_latest::snapshot_url(&bucket.public_url, name, &snap);
            channels
                .entry(ch)
                .or_default()
                .insert(name.to_string(), Some(url));
        }
    }
    index::merge(
        bucket,
        "latest",
        mirror_index::all_latest::WRAPPER_KEY,
        &latest,
        false,
    )
    .await?;
    for (ch, changes) in &channels {
        index::merge(
            bucket,
            ch,
            &crate::channels::wrapper_key(ch),
            changes,
            false,
        )
        .await?;
    }
    // Time travel: every snapshot now complete in the bucket, and none
    // that is about to be removed from it.
    let mut snapshots = BTreeMap::new();
    for name in mirrors {
        let store = Store::new(root, name.clone());
        let key = crate::filter::sign::PUBLIC_KEY_FILE;
        snapshots.insert(
            name.to_string(),
            Some(index::SnapshotEntry {
                snapshots: store.snapshots()?,
                key_url: store
                    .dir
                    .join(key)
                    .is_file()
                    .then(|| format!("{}/{name}/{key}", bucket.public_url.trim_end_matches('/'))),
            }),
        );
    }
    index::merge_snapshots(bucket, &snapshots, false).await?;
    for (name, report) in mirrors.iter().zip(reports.iter_mut()) {
        prune_mirror(bucket, &Store::new(root, name.clone()), report).await?;
    }
    drop(locks);
    Ok(reports)
}

/// What one mirror's publish did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct PublishReport {
    pub mirror: String,
    /// Snapshots completed in the bucket by this run.
    pub snapshots_uploaded: Vec<String>,
    /// Files sent (their bytes), files copied inside the bucket from a
    /// published snapshot, files already there.
    pub files_uploaded: u64,
    pub bytes_uploaded: u64,
    pub files_copied: u64,
    /// The bytes of the copies (stored again by the bucket).
    pub bytes_copied: u64,
    pub files_present: u64,
    /// Pointers (`latest.txt`, `<channel>.txt`) that changed.
    pub pointers_updated: Vec<String>,
    /// Snapshots removed from the bucket (gone locally).
    pub snapshots_deleted: Vec<String>,
    /// Pool layout: packages already in the pool (from any snapshot or
    /// mirror), and the bytes they did not need sending.
    pub pool_hits: u64,
    pub pool_bytes_not_sent: u64,
    /// Pool layout: snapshots published without a signature (the mirror
    /// has no `sign_key`), so `repo_gpgcheck` cannot be used on them.
    pub unsigned: Vec<String>,
}

/// Counters shared by parallel uploads.
#[derive(Default)]
struct Counts {
    uploaded: AtomicU64,
    bytes: AtomicU64,
    copied: AtomicU64,
    copied_bytes: AtomicU64,
    present: AtomicU64,
    pool_hits: AtomicU64,
    pool_bytes: AtomicU64,
}

/// Upload what the bucket lacks of a mirror, move its pointers, and remove
/// what gc removed locally. The index is [`index::merge`]'s job,
/// called once for all mirrors after this.
pub async fn publish_mirror(
    bucket: &Bucket,
    store: &Store,
    key: Option<&crate::filter::SignSpec>,
) -> Result<PublishReport, PublishError> {
    let name = store.name.clone();
    let mut report = PublishReport {
        mirror: name.to_string(),
        ..PublishReport::default()
    };
    let local = store.snapshots()?;
    let mut done = complete_in_bucket(bucket, &name).await?;
    let counts = Arc::new(Counts::default());
    let pool = bucket.layout == crate::config::BucketLayout::Pool;
    let signer = match (pool, key) {
        (true, Some(k)) => Some(Arc::new(
            crate::filter::sign::Signer::load(&k.key, k.passphrase.as_ref())
                .map_err(|e| PublishError::Config(format!("{name}: sign_key: {e}")))?,
        )),
        _ => None,
    };
    for snap in &local {
        if done.contains(snap) {
            continue;
        }
        if pool {
            let has_signature =
                upload_pool_snapshot(bucket, store, snap, signer.as_ref(), &counts).await?;
            if !has_signature {
                report.unsigned.push(snap.to_string());
            }
            report.snapshots_uploaded.push(snap.to_string());
            done.push(snap.clone());
            done.sort();
            continue;
        }
        // Files whose bytes the bucket has: those of published snapshots
        // kept locally (newest first, a few are enough: later snapshots
        // share most of their packages with the ones just before).
        let mut have: HashMap<(u64, u64), Key> = HashMap::new();
        for older in done.iter().rev().filter(|s| local.contains(s)).take(3) {
            let dir = store.snapshot_dir(older);
            for rel in crate::store::list_files(&dir)? {
                if let Ok(m) = std::fs::metadata(dir.join(&rel)) {
                    have.entry((m.dev(), m.ino()))
                        .or_insert_with(|| bucket.key(&format!("{name}/{older}/{rel}")));
                }
            }
        }
        upload_snapshot(bucket, store, snap, &have, &counts).await?;
        report.snapshots_uploaded.push(snap.to_string());
        done.push(snap.clone());
        done.sort();
    }
    report.files_uploaded = counts.uploaded.load(Ordering::Relaxed);
    report.bytes_uploaded = counts.bytes.load(Ordering::Relaxed);
    report.files_copied = counts.copied.load(Ordering::Relaxed);
    report.bytes_copied = counts.copied_bytes.load(Ordering::Relaxed);
    report.files_present = counts.present.load(Ordering::Relaxed);
    report.pool_hits = counts.pool_hits.load(Ordering::Relaxed);
    report.pool_bytes_not_sent = counts.pool_bytes.load(Ordering::Relaxed);
    if let Some(s) = &signer
        && !store
            .dir
            .join(crate::filter::sign::PUBLIC_KEY_FILE)
            .is_file()
    {
        // The key the bucket's snapshots are signed with, beside them.
        let key = bucket.key(&format!("{name}/{}", crate::filter::sign::PUBLIC_KEY_FILE));
        let text = s
            .public_armored()
            .map_err(|e| PublishError::Config(e.to_string()))?
            .into_bytes();
        if bucket.get(&key).await?.is_none_or(|(b, _)| b != text) {
            bucket.put(&key, text).await?;
        }
    }

    // The mirror's signing key (filtered, re-signed mirrors), before any
    // pointer names a snapshot it signed: clients with repo_gpgcheck fetch
    // it from the bucket as they would from the tree.
    if let Ok(text) = std::fs::read(store.dir.join(crate::filter::sign::PUBLIC_KEY_FILE)) {
        let key = bucket.key(&format!("{name}/{}", crate::filter::sign::PUBLIC_KEY_FILE));
        let same = bucket.get(&key).await?.is_some_and(|(b, _)| b == text);
        if !same {
            bucket.put(&key, text).await?;
            report
                .pointers_updated
                .push(crate::filter::sign::PUBLIC_KEY_FILE.to_owned());
        }
    }

    // Pointers: each names a snapshot complete in the bucket by now.
    let mut pointers: BTreeMap<String, String> = crate::channels::pointers_of(&store.dir)?
        .into_iter()
        .map(|(ch, s)| (mirror_index::layout::channel_pointer(&ch), s))
        .collect();
    if let Some(l) = store.latest()? {
        pointers.insert(mirror_index::layout::LATEST_FILE.into(), l.to_string());
    }
    for (file, snap) in &pointers {
        let key = bucket.key(&format!("{name}/{file}"));
        let text = format!("{snap}\n");
        let same = bucket
            .get(&key)
            .await?
            .is_some_and(|(b, _)| b == text.as_bytes());
        if !same {
            bucket.put(&key, text.into_bytes()).await?;
            report.pointers_updated.push(file.clone());
            crashpoint::hit("publish-pointer-written");
        }
    }
    Ok(report)
}

/// After the index stopped naming them: remove from the bucket the
/// snapshots of `store` that are gone locally, `repomd.xml` first.
pub async fn prune_mirror(
    bucket: &Bucket,
    store: &Store,
    report: &mut PublishReport,
) -> Result<(), PublishError> {
    let name = &store.name;
    let local: HashSet<SnapshotName> = store.snapshots()?.into_iter().collect();
    let named: HashSet<String> = {
        let mut n = HashSet::new();
        // latest.txt and every channel pointer.
        for f in bucket.files(name.as_str()).await? {
            let pointer = std::path::Path::new(&f)
                .extension()
                .is_some_and(|e| e == "txt");
            if pointer && let Some((b, _)) = bucket.get(&bucket.key(&format!("{name}/{f}"))).await?
            {
                n.insert(String::from_utf8_lossy(&b).trim().to_owned());
            }
        }
        n
    };
    for d in bucket.dirs(name.as_str()).await? {
        let Ok(s) = SnapshotName::parse(&d) else {
            continue;
        };
        if local.contains(&s) || named.contains(s.as_str()) {
            continue;
        }
        let base = format!("{name}/{s}");
        bucket
            .delete(&bucket.key(&format!("{base}/repodata/repomd.xml")))
            .await?;
        crashpoint::hit("publish-repomd-deleted");
        let keys: Vec<Key> = bucket
            .list(&base)
            .await?
            .into_iter()
            .map(|rel| bucket.key(&format!("{base}/{rel}")))
            .collect();
        futures_util::stream::iter(keys.iter().map(|k| bucket.delete(k)))
            .buffer_unordered(PARALLEL)
            .try_collect::<()>()
            .await?;
        report.snapshots_deleted.push(s.to_string());
    }
    Ok(())
}

/// One snapshot in the pool layout: packages the pool lacks, then the
/// rewritten metadata, then the signature, then `repomd.xml`. Returns
/// whether it is signed.
async fn upload_pool_snapshot(
    bucket: &Bucket,
    store: &Store,
    snap: &SnapshotName,
    signer: Option<&Arc<crate::filter::sign::Signer>>,
    counts: &Counts,
) -> Result<bool, PublishError> {
    let name = &store.name;
    let mut view = {
        let (store, snap) = (store.clone(), snap.clone());
        let public = bucket.public_url.clone();
        let signer = signer.cloned();
        tokio::task::spawn_blocking(move || pool::view(&store, &snap, &public, signer.as_deref()))
            .await
            .map_err(|e| PublishError::Config(e.to_string()))??
    };
    let dir = store.snapshot_dir(snap);
    let one = |(rel, (sha, size)): (String, (String, u64))| {
        let dir = dir.clone();
        async move {
            let file = rel.rsplit('/').next().unwrap_or(&rel);
            let key = bucket.key(&pool::pool_rel(&sha, file));
            if bucket.size_of(&key).await? == Some(size) {
                counts.pool_hits.fetch_add(1, Ordering::Relaxed);
                counts.pool_bytes.fetch_add(size, Ordering::Relaxed);
                return Ok(());
            }
            bucket.upload_file(&key, &dir.join(&rel), size).await?;
            counts.uploaded.fetch_add(1, Ordering::Relaxed);
            counts.bytes.fetch_add(size, Ordering::Relaxed);
            crashpoint::hit("publish-file-uploaded");
            Ok::<_, PublishError>(())
        }
    };
    futures_util::stream::iter(std::mem::take(&mut view.packages).into_iter().map(one))
        .buffer_unordered(PARALLEL)
        .try_collect::<()>()
        .await?;
    crashpoint::hit("publish-packages-uploaded");
    let present = bucket.list(&format!("{name}/{snap}")).await?;
    let meta = view.metadata()?;
    let is_root = |f: &str| f == "repodata/repomd.xml";
    let is_sig = |f: &str| f.starts_with("repodata/repomd.xml.");
    let put = |rel: &str, path: &std::path::Path| {
        let key = bucket.key(&format!("{name}/{snap}/{rel}"));
        let path = path.to_path_buf();
        let there = present.contains(rel);
        async move {
            if there {
                counts.present.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            let size = std::fs::metadata(&path)
                .map_err(|source| PublishError::Io {
                    path: path.clone(),
                    source,
                })?
                .len();
            bucket.upload_file(&key, &path, size).await?;
            counts.uploaded.fetch_add(1, Ordering::Relaxed);
            counts.bytes.fetch_add(size, Ordering::Relaxed);
            crashpoint::hit("publish-file-uploaded");
            Ok::<_, PublishError>(())
        }
    };
    for (rel, path) in meta.iter().filter(|(f, _)| !is_root(f) && !is_sig(f)) {
        put(rel, path).await?;
    }
    for (rel, path) in meta.iter().filter(|(f, _)| is_sig(f)) {
        put(rel, path).await?;
    }
    crashpoint::hit("publish-metadata-uploaded");
    for (rel, path) in meta.iter().filter(|(f, _)| is_root(f)) {
        put(rel, path).await?;
    }
    crashpoint::hit("publish-snapshot-complete");
    Ok(view.signed_by.is_some())
}

/// One snapshot: files, then metadata, then `repomd.xml` (with its
/// signature just before it).
async fn upload_snapshot(
    bucket: &Bucket,
    store: &Store,
    snap: &SnapshotName,
    have: &HashMap<(u64, u64), Key>,
    counts: &Counts,
) -> Result<(), PublishError> {
    let name = &store.name;
    let dir = store.snapshot_dir(snap);
    let present = bucket.list(&format!("{name}/{snap}")).await?;
    let files = crate::store::list_files(&dir)?;
    let is_root = |f: &str| f == "repodata/repomd.xml";
    let is_sig = |f: &str| f.starts_with("repodata/repomd.xml.");
    let (meta, data): (Vec<String>, Vec<String>) =
        files.into_iter().partition(|f| f.starts_with("repodata/"));
    let one = |rel: String| {
        let dir = dir.clone();
        let present = &present;
        async move {
            if present.contains(rel.as_str()) {
                counts.present.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            let path = dir.join(&rel);
            let m = std::fs::metadata(&path).map_err(|source| PublishError::Io {
                path: path.clone(),
                source,
            })?;
            let key = bucket.key(&format!("{name}/{snap}/{rel}"));
            if let Some(from) = have.get(&(m.dev(), m.ino())) {
                bucket
                    .store
                    .copy(from, &key)
                    .await
                    .map_err(Bucket::err("copying to", &key))?;
                counts.copied.fetch_add(1, Ordering::Relaxed);
                counts.copied_bytes.fetch_add(m.len(), Ordering::Relaxed);
            } else {
                bucket.upload_file(&key, &path, m.len()).await?;
                counts.uploaded.fetch_add(1, Ordering::Relaxed);
                counts.bytes.fetch_add(m.len(), Ordering::Relaxed);
            }
            crashpoint::hit("publish-file-uploaded");
            Ok::<_, PublishError>(())
        }
    };
    futures_util::stream::iter(data.into_iter().map(one))
        .buffer_unordered(PARALLEL)
        .try_collect::<()>()
        .await?;
    crashpoint::hit("publish-packages-uploaded");
    futures_util::stream::iter(
        meta.iter()
            .filter(|f| !is_root(f) && !is_sig(f))
            .map(|f| one(f.clone())),
    )
    .buffer_unordered(PARALLEL)
    .try_collect::<()>()
    .await?;
    for f in meta.iter().filter(|f| is_sig(f)) {
        one(f.clone()).await?;
    }
    crashpoint::hit("publish-metadata-uploaded");
    for f in meta.iter().filter(|f| is_root(f)) {
        one(f.clone()).await?;
    }
    crashpoint::hit("publish-snapshot-complete");
    Ok(())
}
