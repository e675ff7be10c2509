//! Writing the root index (`all_latest.json`, `.yaml`, `.html`) from every
//! `<root>/*/latest.txt` that names an existing snapshot.
//!
//! Invariant: index files are replaced atomically, one writer at a time (a
//! lock on `<root>/.index.lock`), and only name snapshots that exist. A file
//! whose content would not change is not rewritten. A mirror whose pointer
//! is broken (see [`Store::latest_problem`]) keeps the entry the index had
//! before and is reported as an error: dropping it would silently send
//! every CI job back to the internet.

use std::path::Path;

use mirror_index::all_latest::{self, IndexEntry};
use mirror_index::atomic::write_atomic;
use mirror_index::layout::{INDEX_HTML, INDEX_JSON, INDEX_YAML, SNAPSHOTS_JSON};
use mirror_index::{MirrorMap, MirrorName, SnapshotName};

use crate::config::HealthPolicy;
use crate::crashpoint;
use crate::store::{IoContext, Store, StoreError};

/// Problems found while indexing that did not stop it.
#[derive(Debug, Default)]
pub struct IndexOutcome {
    pub map: MirrorMap,
    /// Mirrors with nothing to index yet, and why (warnings).
    pub skipped: Vec<String>,
    /// Mirrors whose pointer is broken; their previous entry was kept (errors).
    pub errors: Vec<String>,
}

/// The entries of the index as it is now (none when missing or unreadable).
fn previous_entries(root: &Path) -> Vec<IndexEntry> {
    let Ok(bytes) = std::fs::read(root.join(INDEX_JSON)) else {
        return Vec::new();
    };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Vec::new();
    };
    let Some(map) = v[all_latest::WRAPPER_KEY].as_object() else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(name, url)| {
            let snapshot = url.as_str()?.rsplit('/').next()?;
            Some(IndexEntry {
                name: MirrorName::new(name).ok()?,
                snapshot: SnapshotName::parse(snapshot).ok()?,
            })
        })
        .collect()
}

/// Rebuild the index files under `root` (and the status pages, with the
/// default health thresholds).
#[cfg(test)]
pub fn write_index(root: &Path, base_url: &str) -> Result<IndexOutcome, StoreError> {
    write_index_with(root, base_url, &|_| HealthPolicy::default())
}

/// [`write_index`] with each mirror's health thresholds.
pub fn write_index_with(
    root: &Path,
    base_url: &str,
    policy_of: &dyn Fn(&MirrorName) -> HealthPolicy,
) -> Result<IndexOutcome, StoreError> {
    let _lock = crate::store::lock_exclusive(&root.join(mirror_index::layout::INDEX_LOCK))?;

    let previous = previous_entries(root);
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    let mut errors = Vec::new();
    let mut mirrors = Vec::new();
    for name in mirror_index::layout::list_mirrors(root).at(root)? {
        let store = Store::new(root, name.clone());
        mirrors.push(store.clone());
        if let Some(problem) = store.latest_problem()? {
            match previous.iter().find(|e| e.name == name) {
                Some(old) => {
                    errors.push(format!(
                        "{name}: {problem}; keeping its previous entry {}",
                        old.snapshot
                    ));
                    entries.push(old.clone());
                }
                None => errors.push(format!("{name}: {problem}")),
            }
            continue;
        }
        match store.latest()? {
            Some(snapshot) => entries.push(IndexEntry { name, snapshot }),
            None => skipped.push(match crate::history::last_error(&store) {
                Some(e) => format!("{name}: no snapshot yet; its last sync failed at {e}"),
                None if store.snapshots()?.is_empty() => {
                    format!("{name}: no snapshot yet (a first sync is running or was interrupted)")
                }
                None => {
                    format!("{name}: its first snapshot awaits a commit the next sync finishes")
                }
            }),
        }
    }
    let map = all_latest::to_map(base_url, &entries);
    let html = all_latest::render_html(base_url, &entries, jiff::Timestamp::now());
    write_if_changed(&root.join(INDEX_JSON), &all_latest::render_json(&map))?;
    crashpoint::hit("index-json-written");
    write_if_changed(&root.join(INDEX_YAML), &all_latest::render_yaml(&map))?;
    write_if_changed(&root.join(INDEX_HTML), &html)?;
    write_if_changed(
        &root.join(SNAPSHOTS_JSON),
        &all_snapshots(base_url, &mirrors)?,
    )?;
    // The status pages: a failure here is reported, never fatal to the index.
    if let Err(e) = write_status_pages(root, &mirrors, policy_of) {
        skipped.push(format!("status page: {}", mirror_index::error_chain(&e)));
    }
    Ok(IndexOutcome {
        map,
        skipped,
        errors,
    })
}

/// `all_snapshots.json` (see [`mirror_index::all_snapshots`]).
fn all_snapshots(base_url: &str, mirrors: &[Store]) -> Result<String, StoreError> {
    let mut doc = mirror_index::all_snapshots::AllSnapshots::default();
    for store in mirrors {
        let key = crate::filter::sign::PUBLIC_KEY_FILE;
        if store.dir.join(key).is_file() {
            doc.keys.insert(
                store.name.to_string(),
                format!("{}/{}/{key}", base_url.trim_end_matches('/'), store.name),
            );
        }
        let list: Vec<_> = store
            .snapshots()?
            .iter()
            .map(|s| mirror_index::all_snapshots::Entry {
                name: s.to_string(),
                url: mirror_index::all_latest::snapshot_url(base_url, &store.name, s),
            })
            .collect();
        if !list.is_empty() {
            doc.snapshots.insert(store.name.to_string(), list);
        }
    }
    Ok(doc.render())
}

/// `<root>/index.html` and one page per mirror (see [`crate::status_page`]).
fn write_status_pages(
    root: &Path,
    mirrors: &[Store],
    policy_of: &dyn Fn(&MirrorName) -> HealthPolicy,
) -> Result<(), StoreError> {
    let now = jiff::Timestamp::now();
    let mut statuses = Vec::new();
    for store in mirrors {
        let st = crate::history::mirror_status(store, policy_of(&store.name), now.as_second())?;
        crate::status_page::write_mirror_pages(store, &st)?;
        statuses.push(st);
    }
    write_if_changed(
        &root.join(mirror_index::layout::STATUS_PAGE),
        &crate::status_page::render_root(&statuses, now),
    )
}

fn write_if_changed(path: &Path, content: &str) -> Result<(), StoreError> {
    if std::fs::read(path).is_ok_and(|old| old == content.as_bytes()) {
        return Ok(());
    }
    Ok(write_atomic(path, content.as_bytes())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_only_existing_latest_snapshots() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        for (m, latest, exists) in [
            ("b-el7", "2026-11-21-09-30", true),
            ("a-el8", "2026-11-20-00-00", true),
            ("gone", "2026-11-19-00-00", false),
        ] {
            std::fs::create_dir_all(root.join(m)).unwrap();
            std::fs::write(root.join(m).join("latest.txt"), format!("{latest}\n")).unwrap();
            if exists {
                std::fs::create_dir_all(root.join(m).join(latest)).unwrap();
            }
        }
        // A first sync's lock makes a mirror directory; an empty one is not.
        std::fs::create_dir_all(root.join("no-snapshots-yet/.lock")).unwrap();
        std::fs::create_dir_all(root.join("stray-directory")).unwrap();
        let out = write_index(root, "http://m/yum/").unwrap();
        assert_eq!(out.map.len(), 2);
        assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
        assert!(out.errors[0].contains("gone"));
        assert_eq!(out.skipped.len(), 1, "{:?}", out.skipped);
        assert!(out.skipped[0].contains("no-snapshots-yet: no snapshot yet"));
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(root.join(INDEX_JSON)).unwrap()).unwrap();
        assert_eq!(
            json["latest_ci_repos"]["a-el8"],
            "http://m/yum/a-el8/2026-11-20-00-00"
        );
        assert_eq!(
            json["latest_ci_repos"]["b-el7"],
            "http://m/yum/b-el7/2026-11-21-09-30"
        );
        assert!(root.join(INDEX_YAML).exists() && root.join(INDEX_HTML).exists());
    }

    /// Issue 16.10: a broken latest.txt never drops a mirror from the index.
    #[test]
    fn broken_pointer_keeps_the_previous_entry() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        let m = root.join("a-el9");
        std::fs::create_dir_all(m.join("2026-11-20-00-00")).unwrap();
        std::fs::create_dir_all(m.join("2026-11-21-00-00")).unwrap();
        std::fs::write(m.join("latest.txt"), "2026-11-21-00-00\n").unwrap();
        let out = write_index(root, "http://m/yum").unwrap();
        assert!(out.errors.is_empty());
        let good = out.map.clone();
        for (broken, needle) in [
            (Some("garbage\n"), "does not name a snapshot"),
            (Some("../..\n"), "does not name a snapshot"),
            (Some("/etc\n"), "does not name a snapshot"),
            (Some("base\n"), "does not name a snapshot"),
            (Some(""), "does not name a snapshot"),
            (Some("2026-11-22-00-00\n"), "which does not exist"),
            (None, "latest.txt is missing"),
        ] {
            match broken {
                Some(t) => std::fs::write(m.join("latest.txt"), t).unwrap(),
                None => std::fs::remove_file(m.join("latest.txt")).unwrap(),
            }
            let out = write_index(root, "http://m/yum").unwrap();
            assert_eq!(out.map, good, "{broken:?}");
            assert_eq!(out.errors.len(), 1, "{broken:?}: {:?}", out.errors);
            assert!(
                out.errors[0].contains(needle)
                    && out.errors[0].contains("keeping its previous entry"),
                "{broken:?}: {}",
                out.errors[0]
            );
            let json = std::fs::read_to_string(root.join(INDEX_JSON)).unwrap();
            assert!(json.contains("a-el9/2026-11-21-00-00"), "{json}");
        }
    }
}
