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

/// The problem with a regenerated snapshot's `repomd.xml.asc` against the
/// mirror's own key(s), if any; an unsigned one (no `sign_key`) is none.
pub fn check_mirror_signature(dir: &Path, ring: &crate::trust::Keyring) -> Option<String> {
    let asc = std::fs::read(dir.join("repodata/repomd.xml.asc")).ok()?;
    let now = jiff::Timestamp::now().as_second();
    match std::fs::read(dir.join("repodata/repomd.xml")) {
        Ok(data) => ring
            .verify_detached("repodata/repomd.xml", &data, &asc, now)
            .err()
            .map(|e| e.to_string()),
        Err(e) => Some(format!("repodata/repomd.xml: {e}")),
    }
}

/// Signature problems of a repository directory: its repomd.xml.asc (with
/// `repo_gpgcheck`) and every RPM it lists (with `pkg_gpgcheck`). Files
/// already checked (hard links shared between snapshots, by inode in
/// `seen`) are not checked again.
#[allow(clippy::implicit_hasher)] // one caller, with the default hasher
pub fn check_signatures(
    dir: &Path,
    ring: &crate::trust::Keyring,
    trust: &crate::config::spec::TrustSpec,
    seen: &mut HashSet<(u64, u64)>,
) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let now = jiff::Timestamp::now().as_second();
    let mut problems = Vec::new();
    if trust.repo_gpgcheck {
        let repomd = dir.join("repodata/repomd.xml");
        match (
            std::fs::read(&repomd),
            std::fs::read(dir.join("repodata/repomd.xml.asc")),
        ) {
            (Ok(data), Ok(asc)) => {
                if let Err(e) = ring.verify_detached("repodata/repomd.xml", &data, &asc, now) {
                    problems.push(e.to_string());
                }
            }
            (_, Err(_)) => {
                problems.push("repodata/repomd.xml: not signed (no repomd.xml.asc)".into());
            }
            (Err(e), _) => problems.push(format!("repodata/repomd.xml: {e}")),
        }
    }
    if trust.pkg_gpgcheck {
        let Ok(repo) = RepoDir::open(dir) else {
            return problems;
        };
        let _ = repo.for_each_package(|p: Package| {
            let path = p.href.under(dir);
            let fresh = std::fs::metadata(&path).map_or(true, |m| seen.insert((m.dev(), m.ino())));
            if fresh && let Err(e) = ring.verify_rpm(p.href.as_str(), &path, now) {
                problems.push(e.to_string());
            }
            Ok::<_, ()>(())
        });
    }
    problems
}
