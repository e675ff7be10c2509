//! Checking a repository directory (a snapshot, base/) against its own
//! metadata: every listed file present with its size and checksum, and
//! nothing unlisted.

use std::collections::HashSet;
use std::path::Path;

use mirror_repodata::checksum::{self, Checksum};
use mirror_repodata::primary::Package;
use mirror_repodata::repo::RepoDir;

use crate::store::StoreError;

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
