//! Operator commands on an existing tree, one file each: snapshots (this
//! file), rollback, verify, pins and gc.
//!
//! Invariant: `rollback` only ever points `latest.txt` at a snapshot that
//! exists and passes [`check_snapshot`]; on any refusal nothing changes.

use std::path::{Path, PathBuf};

use mirror_index::MirrorName;

use crate::store::{Store, StoreError};

mod gc;
mod pins;
mod rollback;
mod verify;

pub use gc::{GcReport, Retention, gc, parse_duration};
pub use pins::{PIN_FILE, pins, set_pin};
pub use rollback::rollback;
pub use verify::{check_mirror_signature, check_signatures, check_snapshot, check_tree};

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

pub(crate) fn open(root: &Path, name: &MirrorName) -> Result<Store, LifecycleError> {
    let store = Store::new(root, name.clone());
    if !store.dir.is_dir() {
        return Err(LifecycleError::NoMirror {
            mirror: name.clone(),
            root: root.to_path_buf(),
        });
    }
    Ok(store)
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
