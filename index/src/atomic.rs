//! Atomic file replacement: the only way either tool writes a file that a
//! reader may look at (`latest.txt`, `all_latest.*`, rewritten `.repo` files).
//!
//! Invariant: a reader sees either the old content or the new content, never a
//! mix, never an empty file, whatever moment the writer is killed at. The new
//! content is written to a temp file in the *same directory*, fsynced, renamed
//! over the target, and the directory is fsynced so the rename survives power
//! loss. An existing target's permission bits are kept.

use std::io::Write;
use std::path::{Path, PathBuf};

/// An I/O failure while replacing `path`.
#[derive(Debug, thiserror::Error)]
#[error("failed to write {}", path.display())]
pub struct AtomicWriteError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Whether a replacement must survive power loss, or only never be seen half-written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync the file before and the directory after the rename: for the
    /// mirror tree's pointers (latest.txt, the index), which must never
    /// point at nothing after a crash.
    Fsync,
    /// Rename only: readers still never see a partial file, but a power loss
    /// may roll the change back. For files in a CI job's workspace, where
    /// two fsyncs per file would dominate the run time.
    RenameOnly,
}

/// Replace `path` with `contents` atomically and durably (see the module docs).
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), AtomicWriteError> {
    write_atomic_with(path, contents, Durability::Fsync)
}

/// Replace `path` with `contents` atomically, with the given durability.
pub fn write_atomic_with(
    path: &Path,
    contents: &[u8],
    durability: Durability,
) -> Result<(), AtomicWriteError> {
    write_inner(path, contents, durability, false).map_err(|source| AtomicWriteError {
        path: path.to_path_buf(),
        source,
    })
}

/// [`write_atomic`] for a file only its owner may read (mode 0600, whatever
/// the file had before): secrets' hashes, tokens.
pub fn write_atomic_private(path: &Path, contents: &[u8]) -> Result<(), AtomicWriteError> {
    write_inner(path, contents, Durability::Fsync, true).map_err(|source| AtomicWriteError {
        path: path.to_path_buf(),
        source,
    })
}

fn write_inner(
    path: &Path,
    contents: &[u8],
    durability: Durability,
    private: bool,
) -> std::io::Result<()> {
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("path has no file name"))?;
    // A dot-prefixed temp name: never mistaken for a snapshot or served as a repo file.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", name.to_string_lossy()))
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(contents)?;
    if private {
        // tempfile creates 0600 files; keep it so.
    } else if let Ok(meta) = std::fs::metadata(path) {
        tmp.as_file().set_permissions(meta.permissions())?;
    } else {
        // tempfile creates 0600; a new file gets the usual 0644 so web servers can read it.
        set_default_mode(tmp.as_file())?;
    }
    if durability == Durability::Fsync {
        tmp.as_file().sync_all()?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    if durability == Durability::Fsync {
        sync_dir(dir)?;
    }
    Ok(())
}

#[cfg(unix)]
fn set_default_mode(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_default_mode(_file: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// fsync a directory so that renames and new entries in it are durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("latest.txt");
        write_atomic(&p, b"one\n").unwrap();
        write_atomic(&p, b"two\n").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("latest.txt")]);
    }

    #[cfg(unix)]
    #[test]
    fn keeps_mode_of_existing_file_and_uses_0644_for_new() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("job.repo");
        write_atomic(&p, b"a").unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o644
        );
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic(&p, b"b").unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn error_names_the_path() {
        let p = Path::new("/nonexistent-dir-for-test/x.json");
        let err = write_atomic(p, b"{}").unwrap_err();
        assert!(err.to_string().contains("/nonexistent-dir-for-test/x.json"));
    }
}
