//! Operator commands on an existing tree: list snapshots, roll back, and
//! check a snapshot against its own metadata.
//!
//! Invariant: `rollback` only ever points `latest.txt` at a snapshot that
//! exists and passes [`check_snapshot`]; on any refusal nothing changes.

use std::collections::HashSet;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use mirror_index::{MirrorName, SnapshotName};

use crate::checksum::{self, Checksum};
use crate::primary::{self, Package};
use crate::repomd;
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
    pub latest: bool,
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
    let mut out = Vec::new();
    for s in store.snapshots()? {
        let dir = store.snapshot_dir(&s);
        let (mut packages, mut bytes) = (0, 0);
        for entry in walkdir::WalkDir::new(&dir).min_depth(1) {
            let Ok(entry) = entry else { continue };
            if entry.file_type().is_file() {
                bytes += entry.metadata().map_or(0, |m| m.len());
                if !entry.path().starts_with(dir.join("repodata")) {
                    packages += 1;
                }
            }
        }
        out.push(SnapshotInfo {
            latest: latest.as_ref() == Some(&s),
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
    let latest = store.latest()?;
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
    let repomd_path = dir.join("repodata/repomd.xml");
    let bytes = match std::fs::read(&repomd_path) {
        Ok(b) => b,
        Err(e) => return Ok(vec![format!("{}: {e}", repomd_path.display())]),
    };
    let md = match repomd::parse(&bytes) {
        Ok(m) => m,
        Err(e) => {
            return Ok(vec![format!(
                "{}: {}",
                repomd_path.display(),
                crate::sync::error_chain(&e)
            )]);
        }
    };
    let mut listed: HashSet<String> = HashSet::new();
    listed.insert("repodata/repomd.xml".into());
    listed.insert("repodata/repomd.xml.asc".into());
    listed.insert("repodata/repomd.xml.key".into());
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
    for r in &md.records {
        listed.insert(r.href.as_str().to_owned());
        check(r.href.as_str(), r.size, &r.checksum, &mut problems);
    }
    let primary = md.primary().expect("parse checks primary").href.under(dir);
    if primary.exists() {
        let file = std::fs::File::open(&primary).at(&primary)?;
        let reader = crate::decompress::open(BufReader::new(file)).at(&primary)?;
        let res = primary::for_each_package(reader, |p: Package| {
            check(p.href.as_str(), Some(p.size), &p.checksum, &mut problems);
            listed.insert(p.href.as_str().to_owned());
            Ok::<_, ()>(())
        });
        if let Err(e) = res {
            problems.push(format!(
                "{}: {}",
                primary.display(),
                crate::sync::error_chain(&e)
            ));
        }
    }
    for rel in crate::store::list_files(dir)? {
        if strict && !listed.contains(&rel) {
            problems.push(format!("{rel}: not listed in the metadata"));
        }
    }
    Ok(problems)
}
