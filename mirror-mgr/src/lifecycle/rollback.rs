//! `rollback`: point `latest.txt` at another existing, verified snapshot.

use std::path::Path;

use mirror_index::{MirrorName, SnapshotName};

use super::error::{LifecycleError, open};
use super::verify::check_snapshot;

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
