//! The store's transaction: a build staged under `.staging/`, published
//! under its final name, then committed (base/ updated in the spec's order,
//! `latest.txt` moved, the journal cleared). Sync hands the store a
//! finished build; it never composes these steps itself.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use mirror_index::SnapshotName;
use mirror_index::atomic::{sync_dir, write_atomic};
use mirror_index::layout;
use mirror_repodata::checksum::Checksum;
use mirror_repodata::primary::Package;
use mirror_repodata::repo::RepoDir;

use super::fs::{
    fsync_build, fsync_dirs, link_into, list_files, remove_any, remove_empty_dirs, set_dir_mode,
};
use super::{
    ISSUED_FILE, IoContext, LATEST_FILE, OBJECTS_DIR, PENDING_FILE, REPOMD, SOURCES_DIR, Store,
    StoreError,
};
use crate::crashpoint;

impl Store {
    /// Remove half-built snapshots left by a crashed run; keep verified objects.
    pub fn clean_staging(&self) -> Result<(), StoreError> {
        let staging = self.staging();
        std::fs::create_dir_all(self.objects()).at(&staging)?;
        for entry in std::fs::read_dir(&staging).at(&staging)? {
            let entry = entry.at(&staging)?;
            if entry.file_name() != OBJECTS_DIR {
                remove_any(&entry.path())?;
            }
        }
        // Partial downloads (dot-files) never count as objects.
        let objects = self.objects();
        for entry in std::fs::read_dir(&objects).at(&objects)? {
            let entry = entry.at(&objects)?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                remove_any(&entry.path())?;
            }
        }
        Ok(())
    }

    /// Drop every staged object (after they were committed to base).
    pub fn clear_objects(&self) -> Result<(), StoreError> {
        let objects = self.objects();
        if objects.exists() {
            std::fs::remove_dir_all(&objects).at(&objects)?;
        }
        Ok(())
    }

    /// A fresh, empty directory to build a snapshot in.
    pub fn new_build(&self) -> Result<PathBuf, StoreError> {
        let staging = self.staging();
        std::fs::create_dir_all(&staging).at(&staging)?;
        let dir = tempfile::Builder::new()
            .prefix("build-")
            .tempdir_in(&staging)
            .at(&staging)?
            .keep();
        // tempfile makes 0700 directories; a snapshot must be readable by the web server.
        set_dir_mode(&dir)?;
        std::fs::create_dir_all(dir.join("repodata")).at(&dir)?;
        Ok(dir)
    }

    /// Make a finished build visible as `name` (invariant 1). `source`, for
    /// a filtered mirror, is what the snapshot was made from (see
    /// [`Store::snapshot_source`]); it is recorded before the snapshot
    /// appears. `from_base` names the build's files linked from `base/`
    /// (already durable); every other file is made durable first.
    pub fn publish(
        &self,
        build: &Path,
        name: &SnapshotName,
        source: Option<&[u8]>,
        from_base: &HashSet<String>,
    ) -> Result<(), StoreError> {
        let fresh: Vec<String> = list_files(build)?
            .into_iter()
            .filter(|f| !from_base.contains(f))
            .collect();
        fsync_build(build, &fresh)?;
        if let Some(src) = source {
            let dir = self.dir.join(SOURCES_DIR);
            std::fs::create_dir_all(&dir).at(&dir)?;
            write_atomic(&dir.join(name.as_str()), src)?;
        }
        write_atomic(
            &self.dir.join(ISSUED_FILE),
            layout::format_latest(name).as_bytes(),
        )?;
        write_atomic(
            &self.dir.join(PENDING_FILE),
            layout::format_latest(name).as_bytes(),
        )?;
        crashpoint::hit("before-publish");
        let dest = self.snapshot_dir(name);
        std::fs::rename(build, &dest).at(&dest)?;
        sync_dir(&self.dir).at(&self.dir)?;
        crashpoint::hit("after-publish");
        Ok(())
    }

    /// Point `latest.txt` at `name` (invariant 3).
    pub fn set_latest(&self, name: &SnapshotName) -> Result<(), StoreError> {
        write_atomic(
            &self.dir.join(LATEST_FILE),
            layout::format_latest(name).as_bytes(),
        )?;
        crashpoint::hit("latest-written");
        Ok(())
    }

    /// Finish a published snapshot's transaction: base/ follows it, then
    /// `latest.txt` names it, then the journal and staged objects go.
    /// Resumable: a crashed commit is finished by calling this again.
    pub fn commit(&self, name: &SnapshotName) -> Result<(), StoreError> {
        self.update_base(name)?;
        self.set_latest(name)?;
        self.clear_pending()?;
        self.clear_objects()
    }

    /// Make `base/` an exact mirror of snapshot `name`, in the order of
    /// invariant 4. Files are hard links to the snapshot's inodes.
    pub fn update_base(&self, name: &SnapshotName) -> Result<(), StoreError> {
        let snap = self.snapshot_dir(name);
        let base = self.base();
        std::fs::create_dir_all(&base).at(&base)?;
        let files = list_files(&snap)?;
        let (meta, pkgs): (Vec<&String>, Vec<&String>) =
            files.iter().partition(|p| p.starts_with("repodata/"));
        link_packages(&snap, &base, &pkgs)?;
        crashpoint::hit("base-packages-done");
        let mut made = HashSet::new();
        // Metadata files have unique (checksummed) names in most repos; repomd.xml
        // is the switch that makes base/ describe the new set, so it goes last,
        // with its signature right after it.
        let is_root = |p: &&&String| p.as_str() == REPOMD || p.starts_with("repodata/repomd.xml.");
        for rel in meta.iter().filter(|p| !is_root(p)) {
            link_into(&snap, &base, rel, &mut made)?;
        }
        for rel in meta.iter().filter(is_root) {
            link_into(&snap, &base, rel, &mut made)?;
        }
        crashpoint::hit("base-repomd-swapped");
        // Drop what upstream no longer lists (snapshots keep their own links).
        let keep: HashSet<&str> = files.iter().map(String::as_str).collect();
        for rel in list_files(&base)? {
            if !keep.contains(rel.as_str()) {
                let p = base.join(&rel);
                std::fs::remove_file(&p).at(&p)?;
            }
        }
        remove_empty_dirs(&base);
        fsync_dirs(&base)?;
        crashpoint::hit("base-cleaned");
        Ok(())
    }

    /// What `base/` holds according to its own metadata: href -> checksum
    /// and size (packages, deltarpms, installer-tree files; sizes of the
    /// last are unknown). Empty when base has no (readable) metadata yet.
    pub fn base_index(&self) -> HashMap<String, (Checksum, Option<u64>)> {
        // Damaged base metadata only means we re-download; never fail the sync on it.
        let mut out = HashMap::new();
        let Ok(repo) = RepoDir::open(&self.base()) else {
            return out;
        };
        let listed = repo.for_each_package(|p: Package| {
            out.insert(p.href.as_str().to_owned(), (p.checksum, Some(p.size)));
            Ok::<_, ()>(())
        });
        match (listed, repo.extra_files()) {
            (Ok(Ok(_)), Ok(extras)) => {
                for l in extras {
                    out.insert(l.href.as_str().to_owned(), (l.checksum, l.size));
                }
            }
            _ => out.clear(),
        }
        out
    }
}

/// Link a snapshot's packages into `base/`, on a few threads when there
/// are many: each link is a few system calls, and a large repository's
/// commit is mostly these.
fn link_packages(snap: &Path, base: &Path, pkgs: &[&String]) -> Result<(), StoreError> {
    /// Below this many, one thread (starting others costs more).
    const PER_THREAD: usize = 1024;
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(4)
        .min(pkgs.len() / PER_THREAD)
        .max(1);
    let link_all = |part: &[&String]| -> Result<(), StoreError> {
        let mut made = HashSet::new();
        for rel in part {
            link_into(snap, base, rel, &mut made)?;
            crashpoint::hit("base-package-linked");
        }
        Ok(())
    };
    if threads == 1 {
        return link_all(pkgs);
    }
    let per = pkgs.len().div_ceil(threads);
    std::thread::scope(|s| {
        let running: Vec<_> = pkgs
            .chunks(per)
            .map(|part| s.spawn(move || link_all(part)))
            .collect();
        running
            .into_iter()
            .try_for_each(|t| t.join().expect("a linking thread panicked"))
    })
}
