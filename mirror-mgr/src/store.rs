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
//! - a crashed sync leaves `.staging/build-*` (deleted by the next run),
//!   verified downloads in `.staging/objects` (reused by the next run), and
//!   possibly `.pending` naming a published snapshot whose commit the next
//!   run finishes.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use mirror_index::atomic::{sync_dir, write_atomic};
use mirror_index::layout::{self, BASE_DIR, LATEST_FILE};
use mirror_index::{MirrorName, SnapshotName};

use mirror_repodata::checksum::Checksum;
use mirror_repodata::primary::Package;
use mirror_repodata::repo::{RepoDir, RepoError};

use crate::crashpoint;

const LOCK_FILE: &str = ".lock";
const STAGING_DIR: &str = ".staging";
const OBJECTS_DIR: &str = "objects";
const PENDING_FILE: &str = ".pending";
/// The last snapshot name handed out, so that a name is never reused even
/// when gc (or an operator) removed that snapshot.
const ISSUED_FILE: &str = ".last-snapshot";
/// Why the last sync failed (cleared by a successful one), for verify and
/// the index step to show when a mirror has no snapshot to serve.
const LAST_ERROR_FILE: &str = ".last-error";
const REPOMD: &str = "repodata/repomd.xml";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "mirror {mirror} is locked by another mirror-mgr process (a sync, gc or rollback); try again later or pass --wait"
    )]
    Locked { mirror: MirrorName },
    #[error(transparent)]
    Layout(#[from] layout::LayoutError),
    #[error("metadata of a repository")]
    Repo(#[from] RepoError),
    #[error("snapshot {name} of {mirror} does not exist")]
    NoSuchSnapshot { mirror: MirrorName, name: String },
}

impl From<mirror_index::atomic::AtomicWriteError> for StoreError {
    fn from(e: mirror_index::atomic::AtomicWriteError) -> Self {
        Self::Io {
            path: e.path,
            source: e.source,
        }
    }
}

/// Attach the path to an I/O error.
pub(crate) trait IoContext<T> {
    fn at(self, path: &Path) -> Result<T, StoreError>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: &Path) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

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

    /// Record why a sync failed, or (`None`) that it succeeded.
    pub fn record_outcome(&self, error: Option<&str>) -> Result<(), StoreError> {
        let path = self.dir.join(LAST_ERROR_FILE);
        match error {
            Some(e) => {
                let text = format!(
                    "{} {e}\n",
                    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ")
                );
                Ok(write_atomic(&path, text.as_bytes())?)
            }
            None => match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).at(&path),
                _ => Ok(()),
            },
        }
    }

    /// The last failure recorded by [`record_outcome`](Self::record_outcome).
    pub fn last_error(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.join(LAST_ERROR_FILE))
            .ok()
            .map(|t| t.trim().to_owned())
    }

    /// The newest snapshot name ever handed out here: the newest snapshot
    /// directory or the name recorded at the last publish, whichever is later.
    pub fn newest_issued(&self) -> Result<Option<SnapshotName>, StoreError> {
        let on_disk = self.snapshots()?.pop();
        let path = self.dir.join(ISSUED_FILE);
        let recorded = match std::fs::read_to_string(&path) {
            Ok(t) => layout::parse_latest(&t).ok(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).at(&path),
        };
        Ok(on_disk.max(recorded))
    }

    /// Make a finished build visible as `name` (invariant 1).
    pub fn publish(&self, build: &Path, name: &SnapshotName) -> Result<(), StoreError> {
        fsync_tree(build)?;
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

    /// Make `base/` an exact mirror of snapshot `name`, in the order of
    /// invariant 4. Files are hard links to the snapshot's inodes.
    pub fn update_base(&self, name: &SnapshotName) -> Result<(), StoreError> {
        let snap = self.snapshot_dir(name);
        let base = self.base();
        std::fs::create_dir_all(&base).at(&base)?;
        let files = list_files(&snap)?;
        let (meta, pkgs): (Vec<&String>, Vec<&String>) =
            files.iter().partition(|p| p.starts_with("repodata/"));
        let mut made = HashSet::new();
        for rel in &pkgs {
            link_into(&snap, &base, rel, &mut made)?;
            crashpoint::hit("base-package-linked");
        }
        crashpoint::hit("base-packages-done");
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
    pub fn base_index(&self) -> Result<HashMap<String, (Checksum, Option<u64>)>, StoreError> {
        // Damaged base metadata only means we re-download; never fail the sync on it.
        let mut out = HashMap::new();
        let Ok(repo) = RepoDir::open(&self.base()) else {
            return Ok(out);
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
        Ok(out)
    }
}

/// Every regular file under `dir`, as `/`-separated relative paths, sorted.
pub fn list_files(dir: &Path) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).min_depth(1) {
        let entry = entry.map_err(|e| StoreError::Io {
            path: e.path().unwrap_or(dir).to_path_buf(),
            source: e.into(),
        })?;
        if entry.file_type().is_file() {
            let rel = entry
                .path()
                .strip_prefix(dir)
                .expect("walkdir yields children");
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    out.sort();
    Ok(out)
}

/// Hard-link `from/rel` to `to/rel`, replacing what is there atomically,
/// unless it already is the same inode.
fn link_into(
    from: &Path,
    to: &Path,
    rel: &str,
    made: &mut HashSet<PathBuf>,
) -> Result<(), StoreError> {
    let src = from.join(rel);
    let dst = to.join(rel);
    if same_file(&src, &dst) {
        return Ok(());
    }
    if let Some(parent) = Path::new(rel).parent()
        && !made.contains(&to.join(parent))
    {
        refuse_symlinks(to, parent)?;
    }
    ensure_parent(&dst, made)?;
    // A new path is linked directly; an existing one is replaced atomically.
    match std::fs::hard_link(&src, &dst) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        other => return other.at(&dst),
    }
    let tmp = temp_name(&dst);
    match std::fs::hard_link(&src, &tmp) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(&tmp).at(&tmp)?;
            std::fs::hard_link(&src, &tmp).at(&tmp)?;
        }
        other => other.at(&tmp)?,
    }
    std::fs::rename(&tmp, &dst).at(&dst)
}

/// Where a replacement link is staged before its rename: a dot-file beside `dest`.
pub fn temp_name(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dest.with_file_name(format!(".{name}.part"))
}

/// Fail if any existing directory of `root/rel` is a symlink: writing through
/// it could land outside the mirror.
fn refuse_symlinks(root: &Path, rel: &Path) -> Result<(), StoreError> {
    let mut cur = root.to_path_buf();
    for part in rel.components() {
        cur.push(part);
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(StoreError::Io {
                    path: cur,
                    source: std::io::Error::other(
                        "is a symlink; refusing to write through it (remove it; base/ is managed by mirror-mgr)",
                    ),
                });
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e).at(&cur),
        }
    }
    Ok(())
}

/// Metadata of `root/rel` if it is a regular file reached without any
/// symlink on the way (so it really is inside the mirror).
pub fn regular_file_under(root: &Path, rel: &str) -> Option<std::fs::Metadata> {
    let mut cur = root.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        cur.push(part);
        let m = std::fs::symlink_metadata(&cur).ok()?;
        let last = i + 1 == parts.len();
        if (last && !m.file_type().is_file()) || (!last && !m.file_type().is_dir()) {
            return None;
        }
        if last {
            return Some(m);
        }
    }
    None
}

pub(crate) fn ensure_parent(path: &Path, made: &mut HashSet<PathBuf>) -> Result<(), StoreError> {
    if let Some(parent) = path.parent()
        && !made.contains(parent)
    {
        std::fs::create_dir_all(parent).at(parent)?;
        made.insert(parent.to_path_buf());
    }
    Ok(())
}

#[cfg(unix)]
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
pub(crate) fn same_file(_a: &Path, _b: &Path) -> bool {
    false
}

#[cfg(unix)]
fn set_dir_mode(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).at(dir)
}

#[cfg(not(unix))]
fn set_dir_mode(_dir: &Path) -> Result<(), StoreError> {
    Ok(())
}

fn remove_any(path: &Path) -> Result<(), StoreError> {
    let meta = std::fs::symlink_metadata(path).at(path)?;
    if meta.is_dir() {
        std::fs::remove_dir_all(path).at(path)
    } else {
        std::fs::remove_file(path).at(path)
    }
}

fn remove_empty_dirs(root: &Path) {
    for entry in walkdir::WalkDir::new(root)
        .min_depth(1)
        .contents_first(true)
    {
        let Ok(entry) = entry else { continue };
        if entry.file_type().is_dir() {
            // Fails (and is ignored) when the directory is not empty.
            let _ = std::fs::remove_dir(entry.path());
        }
    }
}

/// fsync every directory under (and including) `root`.
fn fsync_dirs(root: &Path) -> Result<(), StoreError> {
    for entry in walkdir::WalkDir::new(root) {
        let Ok(entry) = entry else { continue };
        if entry.file_type().is_dir() {
            sync_dir(entry.path()).at(entry.path())?;
        }
    }
    Ok(())
}

/// Make everything written under `root` durable: one `syncfs` of its
/// filesystem (downloads, build files, directory entries) instead of an
/// fsync per file, which costs a millisecond each and dominated syncs of
/// many small packages.
fn fsync_tree(root: &Path) -> Result<(), StoreError> {
    let dir = File::open(root).at(root)?;
    rustix::fs::syncfs(&dir)
        .map_err(std::io::Error::from)
        .at(root)
}

#[cfg(test)]
mod tests {
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
        s.publish(&build, &name).unwrap();
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
