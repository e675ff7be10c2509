//! Writing the root index (`all_latest.json`, `.yaml`, `.html`) from every
//! `<root>/*/latest.txt` that names an existing snapshot.
//!
//! Invariant: index files are replaced atomically, one writer at a time (a
//! lock on `<root>/.index.lock`), and only name snapshots that exist. A file
//! whose content would not change is not rewritten.

use std::path::Path;

use mirror_index::all_latest::{self, IndexEntry};
use mirror_index::atomic::write_atomic;
use mirror_index::layout::{self, INDEX_HTML, INDEX_JSON, INDEX_YAML};
use mirror_index::{MirrorMap, MirrorName};

use crate::crashpoint;
use crate::store::{IoContext, StoreError};

/// Problems found while indexing that did not stop it.
#[derive(Debug, Default)]
pub struct IndexOutcome {
    pub map: MirrorMap,
    /// Mirrors left out, and why.
    pub skipped: Vec<String>,
}

/// Rebuild the index files under `root`.
pub fn write_index(root: &Path, base_url: &str) -> Result<IndexOutcome, StoreError> {
    let lock_path = root.join(".index.lock");
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .at(&lock_path)?;
    lock.lock().at(&lock_path)?;

    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(root)
        .at(root)?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .collect();
    dirs.sort_by_key(std::fs::DirEntry::file_name);
    for d in dirs {
        let fname = d.file_name().to_string_lossy().into_owned();
        let Ok(name) = MirrorName::new(&fname) else {
            continue;
        };
        match layout::read_latest(&d.path()) {
            Ok(Some(snapshot)) => {
                if d.path().join(snapshot.as_str()).is_dir() {
                    entries.push(IndexEntry { name, snapshot });
                } else {
                    skipped.push(format!(
                        "{name}: latest.txt names {snapshot}, which does not exist"
                    ));
                }
            }
            Ok(None) => {}
            Err(e) => skipped.push(format!("{name}: {e}")),
        }
    }
    let map = all_latest::to_map(base_url, &entries);
    let html = all_latest::render_html(base_url, &entries, jiff::Timestamp::now());
    write_if_changed(&root.join(INDEX_JSON), &all_latest::render_json(&map))?;
    crashpoint::hit("index-json-written");
    write_if_changed(&root.join(INDEX_YAML), &all_latest::render_yaml(&map))?;
    write_if_changed(&root.join(INDEX_HTML), &html)?;
    Ok(IndexOutcome { map, skipped })
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
        std::fs::create_dir_all(root.join("no-snapshots-yet")).unwrap();
        let out = write_index(root, "http://m/yum/").unwrap();
        assert_eq!(out.map.len(), 2);
        assert_eq!(out.skipped.len(), 1);
        assert!(out.skipped[0].contains("gone"));
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
}
