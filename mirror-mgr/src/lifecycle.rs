//! Operator commands on an existing tree: list snapshots, roll back, and
//! check a snapshot against its own metadata.
//!
//! Invariant: `rollback` only ever points `latest.txt` at a snapshot that
//! exists and passes [`check_snapshot`]; on any refusal nothing changes.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use mirror_index::{MirrorName, SnapshotName};

use mirror_repodata::checksum::{self, Checksum};
use mirror_repodata::primary::Package;
use mirror_repodata::repo::RepoDir;

use crate::store::{IoContext, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("mirror {mirror} does not exist under {}", root.display())]
    NoMirror { mirror: MirrorName, root: PathBuf },
    #[error("mirror {mirror} has no snapshot {name:?}; it has: {}", available.join(", "))]
    NoSuchSnapshot {
        mirror: MirrorName,
        name: String,
        available: Vec<String>,
    },
    #[error("mirror {mirror} has no snapshot older than {latest} to roll back to")]
    NothingOlder { mirror: MirrorName, latest: String },
    #[error("mirror {mirror} has no latest snapshot; pass --to SNAPSHOT")]
    NoLatest { mirror: MirrorName },
    #[error("snapshot {name} of {mirror} is incomplete or damaged, refusing to point latest.txt at it: {}", problems.join("; "))]
    Damaged {
        mirror: MirrorName,
        name: String,
        problems: Vec<String>,
    },
}

/// One row of `mirror-mgr snapshots`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SnapshotInfo {
    pub name: String,
    /// The UTC minute it was made, from its name (`2026-11-21T09:30Z`).
    pub created: Option<String>,
    pub latest: bool,
    /// Listed in the mirror's pin file: gc never removes it.
    pub pinned: bool,
    /// Newer than latest: held back by a rollback (gc keeps it).
    pub held_back: bool,
    pub packages: u64,
    pub bytes: u64,
}

fn open(root: &Path, name: &MirrorName) -> Result<Store, LifecycleError> {
    let store = Store::new(root, name.clone());
    if !store.dir.is_dir() {
        return Err(LifecycleError::NoMirror {
            mirror: name.clone(),
            root: root.to_path_buf(),
        });
    }
    Ok(store)
}

/// Every snapshot of a mirror with its package count and size.
pub fn snapshots(root: &Path, name: &MirrorName) -> Result<Vec<SnapshotInfo>, LifecycleError> {
    let store = open(root, name)?;
    let latest = store.latest()?;
    let pinned = pins(&store)?;
    let mut out = Vec::new();
    for s in store.snapshots()? {
        let dir = store.snapshot_dir(&s);
        let (mut packages, mut bytes) = (0, 0);
        for entry in walkdir::WalkDir::new(&dir).min_depth(1) {
            let Ok(entry) = entry else { continue };
            if entry.file_type().is_file() {
                bytes += entry.metadata().map_or(0, |m| m.len());
                let rpm = entry.path().extension().is_some_and(|e| e == "rpm");
                if rpm && !entry.path().starts_with(dir.join("repodata")) {
                    packages += 1;
                }
            }
        }
        out.push(SnapshotInfo {
            created: s
                .timestamp()
                .map(|t| t.strftime("%Y-%m-%dT%H:%MZ").to_string()),
            latest: latest.as_ref() == Some(&s),
            pinned: pinned.contains(&s),
            held_back: latest.as_ref().is_some_and(|l| s > *l),
            name: s.to_string(),
            packages,
            bytes,
        });
    }
    Ok(out)
}

/// Point `latest.txt` at `to` (default: the snapshot before the current
/// latest). Returns (previous latest, new latest).
pub fn rollback(
    root: &Path,
    name: &MirrorName,
    to: Option<&str>,
    wait: bool,
) -> Result<(Option<SnapshotName>, SnapshotName), LifecycleError> {
    let store = open(root, name)?;
    let _lock = store.lock(wait)?;
    // `--to` also repairs a broken latest.txt, so only the default (the
    // snapshot before latest) needs a readable one.
    let latest = match (store.latest(), to) {
        (Ok(l), _) => l,
        (Err(_), Some(_)) => None,
        (Err(e), None) => return Err(e.into()),
    };
    let all = store.snapshots()?;
    let target =
        if let Some(t) = to {
            let found = SnapshotName::parse(t).ok().filter(|s| all.contains(s));
            found.ok_or_else(|| LifecycleError::NoSuchSnapshot {
                mirror: name.clone(),
                name: t.to_owned(),
                available: all.iter().map(ToString::to_string).collect(),
            })?
        } else {
            let l = latest.clone().ok_or_else(|| LifecycleError::NoLatest {
                mirror: name.clone(),
            })?;
            all.iter().rev().find(|s| **s < l).cloned().ok_or_else(|| {
                LifecycleError::NothingOlder {
                    mirror: name.clone(),
                    latest: l.to_string(),
                }
            })?
        };
    let problems = check_snapshot(&store.snapshot_dir(&target), false)?;
    if !problems.is_empty() {
        return Err(LifecycleError::Damaged {
            mirror: name.clone(),
            name: target.to_string(),
            problems,
        });
    }
    store.set_latest(&target)?;
    // An unfinished commit is superseded by the operator's choice.
    store.clear_pending()?;
    Ok((latest, target))
}

/// Check a snapshot against its own metadata: every listed file present with
/// the listed size (and, when `deep`, checksum), and nothing unlisted.
/// Returns the problems found; empty means it verifies.
pub fn check_snapshot(dir: &Path, deep: bool) -> Result<Vec<String>, StoreError> {
    check_tree(dir, deep, true)
}

/// Check `base/`: as [`check_snapshot`], but files its metadata does not list
/// are only a problem when `strict` (a sync interrupted while updating base/
/// leaves new packages next to the old metadata; the next sync removes them).
pub fn check_tree(dir: &Path, deep: bool, strict: bool) -> Result<Vec<String>, StoreError> {
    let mut problems = Vec::new();
    let repo = match RepoDir::open(dir) {
        Ok(r) => r,
        Err(e) => return Ok(vec![mirror_index::error_chain(&e)]),
    };
    let mut listed: HashSet<String> = HashSet::new();
    listed.insert("repodata/repomd.xml".into());
    listed.insert("repodata/repomd.xml.asc".into());
    listed.insert("repodata/repomd.xml.key".into());
    for name in mirror_repodata::content::TREEINFO_NAMES {
        listed.insert(name.into());
    }
    let check = |rel: &str, size: Option<u64>, sum: &Checksum, problems: &mut Vec<String>| {
        let p = dir.join(rel);
        match std::fs::metadata(&p) {
            Err(_) => problems.push(format!("{rel}: missing")),
            Ok(m) if size.is_some_and(|s| s != m.len()) => {
                problems.push(format!(
                    "{rel}: size {} but metadata says {}",
                    m.len(),
                    size.unwrap_or(0)
                ));
            }
            Ok(_) if deep => match checksum::hash_file(&p, sum.kind) {
                Ok(c) if c == *sum => {}
                Ok(c) => problems.push(format!("{rel}: checksum {c}, metadata says {sum}")),
                Err(e) => problems.push(format!("{rel}: {e}")),
            },
            Ok(_) => {}
        }
    };
    for r in &repo.repomd.records {
        listed.insert(r.href.as_str().to_owned());
        check(r.href.as_str(), r.size, &r.checksum, &mut problems);
    }
    if repo.primary_path().exists() {
        let res = repo.for_each_package(|p: Package| {
            check(p.href.as_str(), Some(p.size), &p.checksum, &mut problems);
            listed.insert(p.href.as_str().to_owned());
            Ok::<_, ()>(())
        });
        if let Err(e) = res {
            problems.push(mirror_index::error_chain(&e));
        }
    }
    match repo.extra_files() {
        Ok(extras) => {
            for l in extras {
                check(l.href.as_str(), l.size, &l.checksum, &mut problems);
                listed.insert(l.href.as_str().to_owned());
            }
        }
        Err(e) => problems.push(mirror_index::error_chain(&e)),
    }
    for rel in crate::store::list_files(dir)? {
        if strict && !listed.contains(&rel) {
            problems.push(format!("{rel}: not listed in the metadata"));
        }
    }
    Ok(problems)
}

/// Snapshots that `gc` must never remove: one name a line in `<mirror>/pinned`.
pub const PIN_FILE: &str = "pinned";

/// Read the pin list (missing file: nothing pinned).
pub fn pins(store: &Store) -> Result<Vec<SnapshotName>, StoreError> {
    let path = store.dir.join(PIN_FILE);
    match std::fs::read_to_string(&path) {
        Ok(t) => Ok(t
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| SnapshotName::parse(l).ok())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).at(&path),
    }
}

/// Add (`pin = true`) or remove a snapshot from the pin list.
pub fn set_pin(
    root: &Path,
    name: &MirrorName,
    snapshot: &str,
    pin: bool,
    wait: bool,
) -> Result<Vec<SnapshotName>, LifecycleError> {
    let store = open(root, name)?;
    let _lock = store.lock(wait)?;
    let all = store.snapshots()?;
    let snap = SnapshotName::parse(snapshot)
        .ok()
        .filter(|s| !pin || all.contains(s))
        .ok_or_else(|| LifecycleError::NoSuchSnapshot {
            mirror: name.clone(),
            name: snapshot.to_owned(),
            available: all.iter().map(ToString::to_string).collect(),
        })?;
    let mut list = pins(&store)?;
    list.retain(|s| *s != snap);
    if pin {
        list.push(snap);
    }
    list.sort();
    let text: String = list
        .iter()
        .map(mirror_index::layout::format_latest)
        .collect();
    let path = store.dir.join(PIN_FILE);
    mirror_index::atomic::write_atomic(&path, text.as_bytes()).map_err(StoreError::from)?;
    Ok(list)
}

/// Retention policy for `gc`. A snapshot is kept when any rule keeps it.
#[derive(Debug, Clone, Default)]
pub struct Retention {
    /// Keep the newest N snapshots.
    pub keep_last: Option<usize>,
    /// Keep snapshots named after a time within this many seconds of now.
    pub keep_within: Option<i64>,
}

/// What `gc` did (or would do) to one mirror.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GcReport {
    pub mirror: String,
    pub removed: Vec<String>,
    pub kept: Vec<String>,
    /// Bytes whose last link was in a removed snapshot: really freed.
    pub bytes_freed: u64,
    pub dry_run: bool,
}

/// Parse `30d`, `12h`, `2w`, `90m`, `3600s` (or combinations: `1d12h`) into seconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let mut total: i64 = 0;
    let mut num = String::new();
    let mut any = false;
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => {
                return Err(format!(
                    "bad duration {s:?}: unknown unit {c:?} (use s, m, h, d, w)"
                ));
            }
        };
        let n: i64 = num
            .parse()
            .map_err(|_| format!("bad duration {s:?}: a number must precede {c:?}"))?;
        total = total.saturating_add(n.saturating_mul(unit));
        num.clear();
        any = true;
    }
    if !num.is_empty() || !any {
        return Err(format!(
            "bad duration {s:?}: expected e.g. 30d, 12h, 2w, 1d12h"
        ));
    }
    Ok(total)
}

/// Remove snapshots outside `policy`, never the latest, one newer than it
/// (held back by a rollback), a pinned one, or one whose commit is pending. Each is first renamed into `.staging/` (so it
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
    let _lock = store.lock(wait)?;
    let all = store.snapshots()?;
    let latest = store.latest()?;
    let pinned = pins(&store)?;
    let pending = store.pending()?;
    let mut removed = Vec::new();
    let mut kept = Vec::new();
    for (i, s) in all.iter().enumerate() {
        let newest_rank = all.len() - i; // 1 = newest
        let recent = policy.keep_within.is_some_and(|secs| {
            s.timestamp()
                .is_none_or(|t| now.as_second() - t.as_second() <= secs)
        });
        // A snapshot newer than latest is held back by a rollback: removing
        // it would let the next sync publish the rejected content again.
        let held_back = latest.as_ref().is_some_and(|l| s > l);
        let keep = latest.as_ref() == Some(s)
            || held_back
            || pending.as_ref() == Some(s)
            || pinned.contains(s)
            || policy.keep_last.is_some_and(|n| newest_rank <= n)
            || recent;
        if keep {
            kept.push(s.clone());
        } else {
            removed.push(s.clone());
        }
    }
    let bytes_freed = freed_bytes(&store, &removed)?;
    if !dry_run {
        store.clean_staging()?;
        for s in &removed {
            let from = store.snapshot_dir(s);
            let to = store.staging().join(format!("gc-{s}"));
            std::fs::rename(&from, &to).at(&from)?;
            mirror_index::atomic::sync_dir(&store.dir).at(&store.dir)?;
            std::fs::remove_dir_all(&to).at(&to)?;
        }
    }
    Ok(GcReport {
        mirror: name.to_string(),
        removed: removed.iter().map(ToString::to_string).collect(),
        kept: kept.iter().map(ToString::to_string).collect(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30d").unwrap(), 30 * 86_400);
        assert_eq!(parse_duration("1d12h").unwrap(), 36 * 3600);
        assert_eq!(parse_duration("2w").unwrap(), 14 * 86_400);
        assert_eq!(parse_duration("90m").unwrap(), 5400);
        for bad in ["", "30", "d", "3x", "-1d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
