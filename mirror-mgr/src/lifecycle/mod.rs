//! Operator commands on an existing tree, one file each: snapshots (this
//! file), rollback, verify, pins and gc.
//!
//! Invariant: `rollback` only ever points `latest.txt` at a snapshot that
//! exists and passes [`check_snapshot`]; on any refusal nothing changes.

use std::path::Path;

use mirror_index::MirrorName;

mod error;
mod gc;
mod pins;
pub mod retention;
mod rollback;
pub mod verify;

pub use error::LifecycleError;
pub(crate) use error::open;
pub use gc::{GcReport, gc};
pub use pins::{PIN_FILE, pins, set_pin};
pub use retention::{Retention, parse_duration};
pub use rollback::rollback;
pub use verify::{check_mirror_signature, check_signatures, check_snapshot, check_tree};

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
