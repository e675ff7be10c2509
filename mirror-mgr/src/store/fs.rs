//! File-system helpers of the store: listing, hard-linking without ever
//! writing through a symlink, fsync of trees and directories.

use std::collections::HashSet;
use std::fs::File;

use mirror_index::atomic::sync_dir;
use std::path::{Path, PathBuf};

use super::error::{IoContext, StoreError};

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
pub(super) fn link_into(
    from: &Path,
    to: &Path,
    rel: &str,
    made: &mut HashSet<PathBuf>,
) -> Result<(), StoreError> {
    let src = from.join(rel);
    let dst = to.join(rel);
    if let Some(parent) = Path::new(rel).parent()
        && !made.contains(&to.join(parent))
    {
        refuse_symlinks(to, parent)?;
    }
    ensure_parent(&dst, made)?;
    // A new path is linked directly (no stat first: most are new); an
    // existing one is left when it is the same file, else replaced
    // atomically.
    match std::fs::hard_link(&src, &dst) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        other => return other.at(&dst),
    }
    if same_file(&src, &dst) {
        return Ok(());
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
pub(super) fn refuse_symlinks(root: &Path, rel: &Path) -> Result<(), StoreError> {
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
    // `b` first: it is the one usually missing (a new file), and then
    // `a` need not be looked up at all.
    let Ok(y) = std::fs::metadata(b) else {
        return false;
    };
    std::fs::metadata(a).is_ok_and(|x| x.dev() == y.dev() && x.ino() == y.ino())
}

#[cfg(not(unix))]
pub(crate) fn same_file(_a: &Path, _b: &Path) -> bool {
    false
}

#[cfg(unix)]
pub(crate) fn set_dir_mode(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).at(dir)
}

#[cfg(not(unix))]
pub(crate) fn set_dir_mode(_dir: &Path) -> Result<(), StoreError> {
    Ok(())
}

pub(super) fn remove_any(path: &Path) -> Result<(), StoreError> {
    let meta = std::fs::symlink_metadata(path).at(path)?;
    if meta.is_dir() {
        std::fs::remove_dir_all(path).at(path)
    } else {
        std::fs::remove_file(path).at(path)
    }
}

pub(super) fn remove_empty_dirs(root: &Path) {
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
pub(super) fn fsync_dirs(root: &Path) -> Result<(), StoreError> {
    for entry in walkdir::WalkDir::new(root) {
        let Ok(entry) = entry else { continue };
        if entry.file_type().is_dir() {
            sync_dir(entry.path()).at(entry.path())?;
        }
    }
    Ok(())
}

/// Above this many new files a build is made durable with one `syncfs`
/// (its own writes dominate then); at or below, with an fsync per new file.
const FSYNC_FILES_MAX: usize = 256;

/// Make a build durable before it is renamed into place: the data of every
/// file `fresh` names (relative to `root`: what this sync wrote or
/// downloaded) and every directory's entries. Files linked from `base/`
/// need nothing: their inodes were made durable when the snapshot they came
/// from was published.
///
/// Small builds fsync those files from a few threads, so their cost is
/// proportional to what this sync wrote, not to other programs' dirty
/// pages (a `syncfs` waits for all of the filesystem's writeback). Large
/// builds use one `syncfs`, which beats thousands of fsyncs when the
/// writeback is mostly their own.
pub(super) fn fsync_build(root: &Path, fresh: &[String]) -> Result<(), StoreError> {
    if fresh.len() > FSYNC_FILES_MAX || std::env::var_os(crate::env_vars::SYNCFS).is_some() {
        let dir = File::open(root).at(root)?;
        return rustix::fs::syncfs(&dir)
            .map_err(std::io::Error::from)
            .at(root);
    }
    let threads = fresh.len().clamp(1, 8);
    let chunk = fresh.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = fresh
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    for rel in part {
                        let p = root.join(rel);
                        File::open(&p).and_then(|f| f.sync_all()).at(&p)?;
                    }
                    Ok::<_, StoreError>(())
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))?;
        }
        Ok::<_, StoreError>(())
    })?;
    fsync_dirs(root)
}

/// Take an exclusive OS lock on `path` (created when missing), waiting for
/// it; released when the returned file is dropped. The root's index and
/// channel locks use it.
pub fn lock_exclusive(path: &Path) -> Result<File, StoreError> {
    let f = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .at(path)?;
    f.lock().at(path)?;
    Ok(f)
}
