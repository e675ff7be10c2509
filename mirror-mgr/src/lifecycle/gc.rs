//! `gc`: remove snapshots outside a retention policy, reporting the bytes
//! really freed (counting hard links).

use std::path::Path;

use mirror_index::{MirrorName, SnapshotName};

use super::error::{LifecycleError, open};
use super::pins;
use super::retention::Retention;
use crate::store::{IoContext, Store, StoreError};

/// What `gc` did (or would do) to one mirror.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GcReport {
    pub mirror: String,
    pub removed: Vec<String>,
    pub kept: Vec<String>,
    /// Bytes whose last link was in a removed snapshot: really freed.
    pub bytes_freed: u64,
    pub dry_run: bool,
    /// Kept snapshots a channel points at -> those channels.
    pub channels: std::collections::BTreeMap<String, Vec<String>>,
    /// Kept snapshots a registered package lock uses -> those locks' ids.
    pub locks: std::collections::BTreeMap<String, Vec<String>>,
}

/// Remove snapshots outside `policy`, never the latest, one newer than it
/// (held back by a rollback), a pinned one, one a registered package lock
/// uses, or one whose commit is pending. Each is first renamed into `.staging/` (so it
/// vanishes from view at once, never half-deleted under its name), then
/// deleted. Holds the mirror's lock, so a concurrent sync waits or fails.
pub fn gc(
    root: &Path,
    name: &MirrorName,
    policy: &Retention,
    dry_run: bool,
    wait: bool,
    now: jiff::Timestamp,
) -> Result<GcReport, LifecycleError> {
    let store = open(root, name)?;
    // The channel lock first (the order every verb keeps), so no promotion,
    // vote or channel rollback can point at a snapshot while gc decides
    // and moves it away.
    let channel_lock = if dry_run {
        None
    } else {
        Some(crate::channels::lock(root)?)
    };
    let _lock = store.lock(wait)?;
    let all = store.snapshots()?;
    let latest = store.latest()?;
    let pinned = pins(&store)?;
    let pending = store.pending()?;
    let promoting = crate::channels::pending_snapshots(root, name);
    // Read under the channel lock, which registration takes too.
    let mut locked = crate::locks::held(root, name, now.as_second());
    let mut removed = Vec::new();
    let mut kept = Vec::new();
    let mut channels = std::collections::BTreeMap::new();
    // A snapshot named ahead of the clock (made while it was wrong) is not
    // recent, does not count among the newest, and is not held back: it
    // goes unless latest, pinned or on a channel.
    let future = |s: &SnapshotName| s.ahead_of(now).is_some();
    let mut rank_of = std::collections::HashMap::new();
    for (rank, s) in all.iter().rev().filter(|s| !future(s)).enumerate() {
        rank_of.insert(s.clone(), rank + 1); // 1 = newest
    }
    for s in &all {
        // A snapshot a channel points at is what CI proved: never removed.
        let on_channels = crate::channels::channels_at(&store.dir, s);
        let newest_rank = rank_of.get(s).copied().unwrap_or(usize::MAX);
        let recent = !future(s)
            && policy.keep_within.is_some_and(|secs| {
                s.timestamp()
                    .is_none_or(|t| now.as_second() - t.as_second() <= secs)
            });
        // A snapshot newer than latest is held back by a rollback: removing
        // it would let the next sync publish the rejected content again.
        let held_back = latest.as_ref().is_some_and(|l| s > l) && !future(s);
        let keep = latest.as_ref() == Some(s)
            || !on_channels.is_empty()
            || held_back
            || pending.as_ref() == Some(s)
            || promoting.contains(s)
            || locked.contains_key(s.as_str())
            || pinned.contains(s)
            || policy.keep_last.is_some_and(|n| newest_rank <= n)
            || recent;
        if !on_channels.is_empty() {
            channels.insert(s.to_string(), on_channels);
        }
        if keep {
            kept.push(s.clone());
        } else {
            removed.push(s.clone());
        }
    }
    let bytes_freed = freed_bytes(&store, &removed)?;
    if !dry_run {
        store.clean_staging()?;
        let mut staged = Vec::new();
        for s in &removed {
            let from = store.snapshot_dir(s);
            let to = store.staging().join(format!("gc-{s}"));
            std::fs::rename(&from, &to).at(&from)?;
            staged.push(to);
        }
        mirror_index::atomic::sync_dir(&store.dir).at(&store.dir)?;
        // Out of view: channels may move again while the bytes go.
        drop(channel_lock);
        for (s, to) in removed.iter().zip(&staged) {
            std::fs::remove_dir_all(to).at(to)?;
            store.forget_source(s)?;
        }
    }
    Ok(GcReport {
        mirror: name.to_string(),
        removed: removed.iter().map(ToString::to_string).collect(),
        kept: kept.iter().map(ToString::to_string).collect(),
        channels,
        locks: {
            let kept: std::collections::HashSet<String> =
                kept.iter().map(ToString::to_string).collect();
            locked.retain(|s, _| kept.contains(s));
            locked
        },
        bytes_freed,
        dry_run,
    })
}

/// Bytes of the files whose every link lies in `snaps`: what deleting them frees.
fn freed_bytes(store: &Store, snaps: &[SnapshotName]) -> Result<u64, StoreError> {
    use std::os::unix::fs::MetadataExt;
    let mut seen: std::collections::HashMap<(u64, u64), (u64, u64, u64)> =
        std::collections::HashMap::new();
    for s in snaps {
        for entry in walkdir::WalkDir::new(store.snapshot_dir(s)).min_depth(1) {
            let entry = entry.map_err(|e| StoreError::Io {
                path: e.path().unwrap_or(Path::new("?")).to_path_buf(),
                source: e.into(),
            })?;
            if entry.file_type().is_file() {
                let m = entry.metadata().map_err(|e| StoreError::Io {
                    path: entry.path().to_path_buf(),
                    source: e.into(),
                })?;
                let e = seen
                    .entry((m.dev(), m.ino()))
                    .or_insert((0, m.nlink(), m.len()));
                e.0 += 1;
            }
        }
    }
    Ok(seen
        .values()
        .filter(|(links, nlink, _)| links >= nlink)
        .map(|(_, _, len)| len)
        .sum())
}
