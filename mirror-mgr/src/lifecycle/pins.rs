//! Pins: snapshots gc never removes, one name a line in `<mirror>/pinned`.

use std::path::Path;

use mirror_index::{MirrorName, SnapshotName};

use super::error::{LifecycleError, open};
use crate::store::{IoContext, Store, StoreError};

/// Snapshots that `gc` must never remove: one name a line in `<mirror>/pinned`.
pub use mirror_index::layout::PIN_FILE;

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
