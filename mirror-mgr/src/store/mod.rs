//! One mirror's directory and every change made to it. This module owns the
//! spec's invariants 1-6:
//!
//! - a snapshot is built under `.staging/build-*`, fsynced, recorded in
//!   `.pending`, and only then renamed to its final name ([`Store::publish`]);
//! - snapshots are never written after that rename;
//! - `base/` is updated packages first, metadata next, `repomd.xml` last, and
//!   only then are files upstream dropped removed ([`Store::update_base`]);
//! - `latest.txt` is replaced atomically and only names published snapshots;
//! - one writer at a time through an OS lock on `.lock` ([`Store::lock`]);
//! - durability before a snapshot appears (power loss): every file of the
//!   build that this sync wrote or downloaded is fsynced, and every
//!   directory of the build; files linked from `base/` are inodes an earlier
//!   publish made durable; then `.pending`, the rename and its directory are
//!   fsynced in that order. Only then does `base/` or `latest.txt` change,
//!   each durably ([`Store::update_base`] fsyncs base's directories,
//!   pointers are written with [`mirror_index::atomic::write_atomic`]);
//! - a crashed sync leaves `.staging/build-*` (deleted by the next run),
//!   verified downloads in `.staging/objects` (reused by the next run), and
//!   possibly `.pending` naming a published snapshot whose commit the next
//!   run finishes.

use std::fs::File;
use std::path::{Path, PathBuf};

use mirror_index::layout::{self, BASE_DIR, LATEST_FILE};
use mirror_index::{MirrorName, SnapshotName};
use mirror_repodata::checksum::Checksum;

mod error;
pub(crate) use error::IoContext;
pub use error::StoreError;
mod fs;
mod transaction;

pub(crate) use fs::{ensure_parent, set_dir_mode};
pub use fs::{list_files, lock_exclusive, regular_file_under};

use mirror_index::layout::MIRROR_LOCK as LOCK_FILE;
use mirror_index::layout::STAGING_DIR;
const OBJECTS_DIR: &str = "objects";
/// The last snapshot name handed out, so that a name is never reused even
/// when gc (or an operator) removed that snapshot.
use mirror_index::layout::LAST_SNAPSHOT_FILE as ISSUED_FILE;
use mirror_index::layout::PENDING_FILE;
const REPOMD: &str = "repodata/repomd.xml";
/// Per snapshot of a filtered mirror: the filter and upstream's repomd.xml
/// it was made from (its own repomd.xml is regenerated, so cannot tell).
use mirror_index::layout::SOURCES_FILE as SOURCES_DIR;

/// Holds the mirror's writer lock until dropped.
pub struct LockGuard {
    _file: File,
}

/// One mirror's directory, `<root>/<name>`.
#[derive(Debug, Clone)]
pub struct Store {
    pub name: MirrorName,
    pub dir: PathBuf,
}

impl Store {
    pub fn new(root: &Path, name: MirrorName) -> Self {
        Self {
            dir: name.dir(root),
            name,
        }
    }

    pub fn base(&self) -> PathBuf {
        self.dir.join(BASE_DIR)
    }

    pub fn snapshot_dir(&self, s: &SnapshotName) -> PathBuf {
        self.dir.join(s.as_str())
    }

    pub fn staging(&self) -> PathBuf {
        self.dir.join(STAGING_DIR)
    }

    pub fn objects(&self) -> PathBuf {
        self.staging().join(OBJECTS_DIR)
    }

    /// Where a verified download with this checksum is kept until committed.
    pub fn object_path(&self, c: &Checksum) -> PathBuf {
        self.objects().join(format!("{}-{}", c.kind, c.hex))
    }

    /// Take the writer lock (invariant 5). With `wait`, block until free.
    pub fn lock(&self, wait: bool) -> Result<LockGuard, StoreError> {
        std::fs::create_dir_all(&self.dir).at(&self.dir)?;
        let path = self.dir.join(LOCK_FILE);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .at(&path)?;
        if wait {
            file.lock().at(&path)?;
        } else {
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(StoreError::Locked {
                        mirror: self.name.clone(),
                    });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(e).at(&path),
            }
        }
        Ok(LockGuard { _file: file })
    }

    pub fn latest(&self) -> Result<Option<SnapshotName>, StoreError> {
        Ok(layout::read_latest(&self.dir)?)
    }

    pub fn snapshots(&self) -> Result<Vec<SnapshotName>, StoreError> {
        Ok(layout::list_snapshots(&self.dir)?)
    }

    /// The snapshot a crashed sync published but did not finish committing.
    pub fn pending(&self) -> Result<Option<SnapshotName>, StoreError> {
        let path = self.dir.join(PENDING_FILE);
        match std::fs::read_to_string(&path) {
            Ok(t) => Ok(layout::parse_latest(&t).ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).at(&path),
        }
    }

    pub fn clear_pending(&self) -> Result<(), StoreError> {
        let path = self.dir.join(PENDING_FILE);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).at(&path),
            _ => Ok(()),
        }
    }

    /// `repodata/repomd.xml` of a snapshot, if readable.
    pub fn snapshot_repomd(&self, s: &SnapshotName) -> Option<Vec<u8>> {
        std::fs::read(self.snapshot_dir(s).join(REPOMD)).ok()
    }

    /// What a filtered mirror's snapshot was made from (the filter and
    /// upstream's repomd.xml), as recorded when it was published.
    pub fn snapshot_source(&self, s: &SnapshotName) -> Option<Vec<u8>> {
        std::fs::read(self.dir.join(SOURCES_DIR).join(s.as_str())).ok()
    }

    /// Was this snapshot's metadata regenerated by a filter (rather than
    /// copied from upstream)? True when its repomd.xml differs from the
    /// upstream one its source record names.
    pub fn regenerated(&self, s: &SnapshotName) -> bool {
        let Some(src) = self.snapshot_source(s) else {
            return false;
        };
        let upstream = src
            .iter()
            .position(|b| *b == b'\n')
            .map_or(&[][..], |i| &src[i + 1..]);
        self.snapshot_repomd(s).as_deref() != Some(upstream)
    }

    /// Forget a removed snapshot's source record (gc).
    pub fn forget_source(&self, s: &SnapshotName) -> Result<(), StoreError> {
        let p = self.dir.join(SOURCES_DIR).join(s.as_str());
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).at(&p),
            _ => Ok(()),
        }
    }

    /// Publish `text` as the mirror's public signing key file (atomically).
    pub fn write_public_key(&self, text: &str) -> Result<(), StoreError> {
        Ok(mirror_index::atomic::write_atomic(
            &self.dir.join(crate::filter::sign::PUBLIC_KEY_FILE),
            text.as_bytes(),
        )?)
    }

    /// What is wrong with this mirror's pointer, if anything: a `latest.txt`
    /// that does not parse or names a missing snapshot, or none at all while
    /// snapshots exist (unless the only one awaits the commit a crashed first
    /// sync left pending, which the next sync finishes).
    pub fn latest_problem(&self) -> Result<Option<String>, StoreError> {
        match layout::read_latest(&self.dir) {
            Ok(Some(s)) if self.snapshot_dir(&s).is_dir() => Ok(None),
            Ok(Some(s)) => Ok(Some(format!(
                "{LATEST_FILE} names {s}, which does not exist (repair it with `mirror-mgr rollback {} --to <snapshot>`)",
                self.name
            ))),
            Ok(None) => {
                let snaps = self.snapshots()?;
                let pending_first = snaps.len() == 1 && self.pending()?.as_ref() == snaps.last();
                if snaps.is_empty() || pending_first {
                    Ok(None)
                } else {
                    Ok(Some(format!(
                        "{LATEST_FILE} is missing although the mirror has {} snapshots (repair it with `mirror-mgr rollback {} --to <snapshot>`)",
                        snaps.len(),
                        self.name
                    )))
                }
            }
            Err(layout::LayoutError::Io { path, source }) => Err(StoreError::Io { path, source }),
            Err(e) => Ok(Some(mirror_index::error_chain(&e))),
        }
    }

    /// The newest snapshot name ever handed out here: the newest snapshot
    /// directory or the name recorded at the last publish, whichever is later.
    /// A recorded name ahead of `now` (handed out while the clock was wrong)
    /// whose snapshots are all gone no longer counts: names come from the
    /// clock again once what the wrong clock made has been removed.
    pub fn newest_issued(&self, now: jiff::Timestamp) -> Result<Option<SnapshotName>, StoreError> {
        let on_disk = self.snapshots()?.pop();
        let path = self.dir.join(ISSUED_FILE);
        let recorded = match std::fs::read_to_string(&path) {
            Ok(t) => layout::parse_latest(&t).ok(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).at(&path),
        };
        let wrong_clock = |s: &SnapshotName| s.ahead_of(now).is_some();
        let recorded =
            recorded.filter(|r| !wrong_clock(r) || on_disk.as_ref().is_some_and(wrong_clock));
        Ok(on_disk.max(recorded))
    }
}

#[cfg(test)]
mod tests {
    use super::fs::same_file;
    use super::*;

    fn snap(s: &str) -> SnapshotName {
        SnapshotName::parse(s).unwrap()
    }

    fn write(p: &Path, data: &str) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }

    #[test]
    fn lock_is_exclusive() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::new(d.path(), MirrorName::new("m").unwrap());
        let g = s.lock(false).unwrap();
        let err = s.lock(false).err().unwrap().to_string();
        assert!(err.contains("mirror m is locked"), "{err}");
        drop(g);
        s.lock(false).unwrap();
    }

    #[test]
    fn publish_then_update_base_links_and_prunes() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::new(d.path(), MirrorName::new("m").unwrap());
        s.clean_staging().unwrap();
        // An old base with a package upstream dropped and old metadata.
        write(&s.base().join("Packages/old.rpm"), "old");
        write(&s.base().join("repodata/old-primary.xml.gz"), "x");
        write(&s.base().join("repodata/repomd.xml"), "old repomd");

        let build = s.new_build().unwrap();
        write(&build.join("repodata/repomd.xml"), "new repomd");
        write(&build.join("repodata/new-primary.xml.gz"), "y");
        write(&build.join("Packages/a/new.rpm"), "new");
        let name = snap("2026-11-21-09-30");
        s.publish(&build, &name, None, &std::collections::HashSet::new())
            .unwrap();
        assert!(!build.exists());
        assert_eq!(s.pending().unwrap(), Some(name.clone()));
        assert_eq!(s.snapshots().unwrap(), vec![name.clone()]);

        s.update_base(&name).unwrap();
        assert_eq!(
            list_files(&s.base()).unwrap(),
            [
                "Packages/a/new.rpm",
                "repodata/new-primary.xml.gz",
                "repodata/repomd.xml"
            ]
        );
        assert!(same_file(
            &s.base().join("Packages/a/new.rpm"),
            &s.snapshot_dir(&name).join("Packages/a/new.rpm")
        ));
        assert!(!s.base().join("Packages").join("old.rpm").exists());

        s.set_latest(&name).unwrap();
        s.clear_pending().unwrap();
        assert_eq!(s.latest().unwrap(), Some(name));
        assert_eq!(s.pending().unwrap(), None);
    }

    #[test]
    fn clean_staging_keeps_objects_only() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::new(d.path(), MirrorName::new("m").unwrap());
        s.clean_staging().unwrap();
        let b = s.new_build().unwrap();
        write(&b.join("x"), "partial");
        write(&s.objects().join("sha256-ab"), "verified");
        write(&s.objects().join(".sha256-cd.part"), "partial download");
        s.clean_staging().unwrap();
        assert!(!b.exists());
        assert!(s.objects().join("sha256-ab").exists());
        assert!(!s.objects().join(".sha256-cd.part").exists());
    }
}
