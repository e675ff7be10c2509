//! Registered package locks: which snapshots a `mirror-client lock` file
//! uses, so `gc` keeps them until the lock expires or is released.
//!
//! A record is `ROOT/.locks/<id>.json`; its id is the first 16 hex digits
//! of the lock file's sha256, so registering the same file again renews
//! it. Registration checks and writes under the channel lock, which gc
//! holds while it decides: a snapshot registered is never removed by a gc
//! that ran at the same time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use mirror_index::{MirrorName, SnapshotName, layout};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The largest lock file taken.
pub const MAX_LOCK: usize = 64 << 20;

/// One registered lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registered {
    pub id: String,
    /// Unix seconds.
    pub since: i64,
    pub expires: i64,
    pub by: String,
    /// Mirror -> the snapshots the lock's URLs point into.
    pub snapshots: BTreeMap<String, BTreeSet<String>>,
    /// URLs that point into none of this root's snapshots (other hosts).
    pub elsewhere: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum LocksError {
    /// The lock text is not a lock, or names what is not here.
    #[error("{0}")]
    Refused(String),
    /// Snapshots the lock names are not here.
    #[error("{0}")]
    Missing(String),
    #[error("no registered lock {0:?}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

#[derive(Deserialize)]
struct LockText {
    #[serde(default)]
    arches: Vec<ArchText>,
}

#[derive(Deserialize)]
struct ArchText {
    #[serde(default)]
    packages: Vec<UrlOnly>,
    #[serde(default)]
    source: Vec<UrlOnly>,
}

#[derive(Deserialize)]
struct UrlOnly {
    url: String,
}

/// The URLs of a lock file (YAML or JSON).
fn urls(text: &str) -> Result<Vec<String>, LocksError> {
    if text.len() > MAX_LOCK {
        return Err(LocksError::Refused(format!(
            "the lock is larger than {MAX_LOCK} bytes"
        )));
    }
    mirror_index::nesting::check(text, mirror_index::nesting::MAX_DEPTH)
        .map_err(|e| LocksError::Refused(format!("the lock: {e}")))?;
    let lock: LockText = serde_yaml::from_str(text)
        .map_err(|e| LocksError::Refused(format!("not a lock file: {e}")))?;
    let urls: Vec<String> = lock
        .arches
        .into_iter()
        .flat_map(|a| a.packages.into_iter().chain(a.source))
        .map(|u| u.url)
        .collect();
    if urls.is_empty() {
        return Err(LocksError::Refused("the lock names no package".into()));
    }
    Ok(urls)
}

/// The mirror and snapshot a URL points into: the first two consecutive
/// path segments that are a mirror of `root` and a snapshot name.
fn place(root: &Path, url: &str) -> Option<(MirrorName, String)> {
    let path = url::Url::parse(url).ok()?.path().to_owned();
    let segs: Vec<&str> = path.split('/').collect();
    segs.windows(2).find_map(|w| {
        let m = MirrorName::new(w[0]).ok()?;
        SnapshotName::parse(w[1]).ok()?;
        root.join(m.as_str()).is_dir().then(|| (m, w[1].to_owned()))
    })
}

fn dir(root: &Path) -> PathBuf {
    root.join(layout::LOCKS_DIR)
}

/// Register the lock `text` for `ttl` seconds. Every snapshot it names
/// must exist, else nothing is recorded.
pub fn register(
    root: &Path,
    text: &str,
    ttl: i64,
    by: &str,
    now: i64,
) -> Result<Registered, LocksError> {
    let urls = urls(text)?;
    let _channels = crate::channels::lock(root)?;
    let mut snapshots: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut elsewhere = 0;
    let mut missing = Vec::new();
    for u in &urls {
        match place(root, u) {
            Some((m, s)) => {
                if root.join(m.as_str()).join(&s).is_dir() {
                    snapshots.entry(m.to_string()).or_default().insert(s);
                } else {
                    missing.push(u.as_str());
                }
            }
            None => elsewhere += 1,
        }
    }
    if !missing.is_empty() {
        return Err(LocksError::Missing(format!(
            "{} URLs name snapshots this mirror does not have (nothing recorded): {}{}",
            missing.len(),
            missing
                .iter()
                .take(5)
                .copied()
                .collect::<Vec<_>>()
                .join(", "),
            if missing.len() > 5 { ", ..." } else { "" }
        )));
    }
    if snapshots.is_empty() {
        return Err(LocksError::Refused(
            "no URL of the lock points into this mirror's snapshots (nothing recorded)".into(),
        ));
    }
    let id = hex::encode(&Sha256::digest(text.as_bytes())[..8]);
    let rec = Registered {
        id: id.clone(),
        since: now,
        expires: now.saturating_add(ttl),
        by: by.chars().filter(|c| !c.is_control()).take(200).collect(),
        snapshots,
        elsewhere,
    };
    let d = dir(root);
    std::fs::create_dir_all(&d).map_err(|e| crate::store::StoreError::Io {
        path: d.clone(),
        source: e,
    })?;
    mirror_index::atomic::write_atomic(
        &d.join(format!("{id}.json")),
        &serde_json::to_vec_pretty(&rec).expect("serialisable"),
    )
    .map_err(crate::store::StoreError::from)?;
    Ok(rec)
}

/// Every registered lock, expired ones included, by id.
pub fn list(root: &Path) -> Vec<Registered> {
    let Ok(rd) = std::fs::read_dir(dir(root)) else {
        return Vec::new();
    };
    let mut out: Vec<Registered> = rd
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .filter_map(|e| serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok())
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// End a lock: gc may remove its snapshots from now on.
pub fn release(root: &Path, id: &str) -> Result<Registered, LocksError> {
    if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(LocksError::NotFound(id.chars().take(40).collect()));
    }
    let _channels = crate::channels::lock(root)?;
    let p = dir(root).join(format!("{}.json", id.to_ascii_lowercase()));
    let rec: Registered = std::fs::read(&p)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| LocksError::NotFound(id.to_owned()))?;
    std::fs::remove_file(&p).map_err(|e| crate::store::StoreError::Io { path: p, source: e })?;
    Ok(rec)
}

/// The snapshots of `mirror` held by unexpired locks -> their ids. Called
/// under the channel lock.
pub fn held(root: &Path, mirror: &MirrorName, now: i64) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in list(root).into_iter().filter(|r| r.expires > now) {
        if let Some(snaps) = r.snapshots.get(mirror.as_str()) {
            for s in snaps {
                out.entry(s.clone()).or_default().push(r.id.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = "lockfileVersion: 1\nlockfileVendor: redhat\narches:\n- arch: x86_64\n  packages:\n  - url: http://m.example/yum/el9/2026-01-01-00-00/Packages/a.rpm\n    repoid: el9\n  - url: http://other.example/b.rpm\n    repoid: x\n";

    #[test]
    fn register_hold_release() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join("el9/2026-01-01-00-00")).unwrap();
        let rec = register(r, LOCK, 100, "ci", 1_000).unwrap();
        assert_eq!(rec.elsewhere, 1);
        assert_eq!(
            rec.snapshots["el9"].iter().collect::<Vec<_>>(),
            ["2026-01-01-00-00"]
        );
        let m = MirrorName::new("el9").unwrap();
        assert_eq!(
            held(r, &m, 1_050)["2026-01-01-00-00"],
            std::slice::from_ref(&rec.id)
        );
        assert!(
            held(r, &m, 1_100).is_empty(),
            "an expired lock holds nothing"
        );
        // The same file again renews it, under the same id.
        assert_eq!(register(r, LOCK, 500, "ci", 1_050).unwrap().id, rec.id);
        assert_eq!(list(r).len(), 1);
        release(r, &rec.id).unwrap();
        assert!(held(r, &m, 1_050).is_empty());
        assert!(matches!(release(r, &rec.id), Err(LocksError::NotFound(_))));
    }

    #[test]
    fn a_missing_snapshot_records_nothing() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("el9")).unwrap();
        let err = register(root.path(), LOCK, 100, "ci", 0).unwrap_err();
        assert!(err.to_string().contains("a.rpm"), "{err}");
        assert!(list(root.path()).is_empty());
        assert!(register(root.path(), "arches: []\n", 100, "ci", 0).is_err());
        assert!(register(root.path(), "[[[", 100, "ci", 0).is_err());
    }
}
