//! Packages from a local upstream (a path or `file://` on the mirror's own
//! filesystem), placed without copying their bytes.
//!
//! Invariants: a store's file is opened without following a symbolic link
//! and must be a regular file (a link planted in a store would otherwise
//! enter a snapshot as a link, resolving elsewhere there); what was placed
//! is checked to be that very file (same inode for a hard link) before it
//! is verified and kept.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use url::Url;

use mirror_repodata::checksum::Hasher;

use super::types::{Expect, FetchError, VerifyLocal, create_file, file_err, file_path, shown};

/// How one mirror's local packages are placed, and how many were.
#[derive(Debug)]
pub(super) struct Local {
    pub(super) verify: VerifyLocal,
    /// Packages placed by reflink or hard link.
    pub(super) linked: AtomicU64,
    /// Reflinks failed as unsupported here once: do not try again.
    no_reflink: AtomicBool,
}

impl Local {
    pub(super) fn new(verify: VerifyLocal) -> Self {
        Self {
            verify,
            linked: AtomicU64::new(0),
            no_reflink: AtomicBool::new(false),
        }
    }
}

impl Local {
    /// A package from a local upstream on the same filesystem, placed
    /// without copying its bytes: a reflink (its own inode, sharing the
    /// blocks copy-on-write) where the filesystem has them, else a hard
    /// link (the upstream's inode: the store must not change its files in
    /// place). Then verified as [`VerifyLocal`] says, reading what was
    /// placed, so what is checked is what the snapshot holds.
    ///
    /// Places nothing when neither works (another
    /// filesystem, a file this user may not link): the caller copies.
    /// Returns the bytes placed, or `None` when nothing was.
    pub(super) fn link(
        &self,
        url: &Url,
        dest: &Path,
        expect: &Expect,
    ) -> Result<Option<u64>, FetchError> {
        use std::io::Read;
        let src = file_path(url)?;
        let check_size = |len: u64| match expect.size {
            Some(size) if size != len => Err(FetchError::Corrupt {
                url: shown(url),
                what: format!("{len} bytes, metadata says {size}"),
            }),
            _ => Ok(()),
        };
        // Trusting sizes costs one stat and one link per package.
        if self.verify == VerifyLocal::Size {
            let meta = std::fs::symlink_metadata(&src).map_err(|s| file_err(url, s))?;
            if !meta.is_file() {
                return Err(not_regular(url));
            }
            check_size(meta.len())?;
            let Some(cloned) = self.place(&src, dest) else {
                return Ok(None);
            };
            placed_is(url, dest, &meta, cloned)?;
            return Ok(Some(meta.len()));
        }
        let mut from = open_regular(url, &src)?;
        let meta = from.metadata().map_err(|s| file_err(url, s))?;
        check_size(meta.len())?;
        let Some(cloned) = self.place_open(&src, &from, dest) else {
            return Ok(None);
        };
        placed_is(url, dest, &meta, cloned)?;
        // Read what the snapshot holds: the clone, or (a hard link) the
        // very inode already open.
        if cloned {
            from = std::fs::File::open(dest).map_err(|s| file_err(url, s))?;
        }
        let mut hasher: Hasher = expect.checksum.kind.hasher();
        // Sized to the file: most packages are small, and a 256 KiB buffer
        // per package cost more than reading it.
        let len = usize::try_from(meta.len()).unwrap_or(usize::MAX);
        let mut buf = vec![0u8; len.saturating_add(1).clamp(4096, 256 * 1024)];
        let mut got = 0u64;
        loop {
            let n = from.read(&mut buf).map_err(|s| file_err(url, s))?;
            if n == 0 {
                break;
            }
            got += n as u64;
            hasher.update(&buf[..n]);
        }
        let actual = hasher.finish();
        if actual != expect.checksum || expect.size.is_some_and(|s| s != got) {
            let _ = std::fs::remove_file(dest);
            return Err(FetchError::Corrupt {
                url: shown(url),
                what: format!(
                    "checksum mismatch: expected {}, got {actual}",
                    expect.checksum
                ),
            });
        }
        Ok(Some(meta.len()))
    }

    /// Place `src` at `dest` by reflink or hard link, as
    /// [`place_open`](Self::place_open) says.
    fn place(&self, src: &Path, dest: &Path) -> Option<bool> {
        if !self.no_reflink.load(Ordering::Relaxed)
            && let Ok(from) = std::fs::File::open(src)
        {
            return self.place_open(src, &from, dest);
        }
        self.hard_link(src, dest).then_some(false)
    }

    /// [`place`](Self::place) with `src` open: `Some(true)` for a reflink,
    /// `Some(false)` for a hard link, `None` when neither works.
    fn place_open(&self, src: &Path, from: &std::fs::File, dest: &Path) -> Option<bool> {
        if self.reflink(from, dest) {
            self.linked.fetch_add(1, Ordering::Relaxed);
            return Some(true);
        }
        self.hard_link(src, dest).then_some(false)
    }

    /// A hard link, replacing whatever a failed attempt left at `dest`.
    fn hard_link(&self, src: &Path, dest: &Path) -> bool {
        let linked = match std::fs::hard_link(src, dest) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                std::fs::remove_file(dest).is_ok() && std::fs::hard_link(src, dest).is_ok()
            }
            r => r.is_ok(),
        };
        if linked {
            self.linked.fetch_add(1, Ordering::Relaxed);
        }
        linked
    }

    /// Clone `from` into a new `dest` (FICLONE); false, with `dest` gone,
    /// where the filesystem cannot.
    fn reflink(&self, from: &std::fs::File, dest: &Path) -> bool {
        if self.no_reflink.load(Ordering::Relaxed) {
            return false;
        }
        let Ok(to) = create_file(dest) else {
            return false;
        };
        match rustix::fs::ioctl_ficlone(&to, from) {
            Ok(()) => true,
            Err(e) => {
                drop(to);
                let _ = std::fs::remove_file(dest);
                // Unsupported here (tmpfs, ext4) or across filesystems: the
                // answer is the same for every package of this sync.
                if [
                    rustix::io::Errno::OPNOTSUPP,
                    rustix::io::Errno::XDEV,
                    rustix::io::Errno::INVAL,
                    rustix::io::Errno::NOTTY,
                ]
                .contains(&e)
                {
                    self.no_reflink.store(true, Ordering::Relaxed);
                }
                false
            }
        }
    }
}

/// The error for a store entry that is a symbolic link or not a file.
fn not_regular(url: &Url) -> FetchError {
    FetchError::File {
        url: shown(url),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not a regular file (a symbolic link, directory or device): a local store's files must be regular files",
        ),
    }
}

/// Open a local upstream's file without following a symbolic link (and
/// without blocking on a FIFO); it must be a regular file.
pub(super) fn open_regular(url: &Url, path: &Path) -> Result<std::fs::File, FetchError> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| {
        if e == rustix::io::Errno::LOOP {
            not_regular(url)
        } else {
            file_err(url, e.into())
        }
    })?;
    let file = std::fs::File::from(fd);
    let meta = file.metadata().map_err(|s| file_err(url, s))?;
    if !meta.is_file() {
        return Err(not_regular(url));
    }
    Ok(file)
}

/// Check that `dest` is what was meant to be placed: a regular file, and
/// for a hard link the source's very inode (a link swapped in between the
/// check and the link would not be).
fn placed_is(
    url: &Url,
    dest: &Path,
    src: &std::fs::Metadata,
    cloned: bool,
) -> Result<(), FetchError> {
    use std::os::unix::fs::MetadataExt;
    let ok = std::fs::symlink_metadata(dest)
        .is_ok_and(|m| m.is_file() && (cloned || (m.dev() == src.dev() && m.ino() == src.ino())));
    if ok {
        Ok(())
    } else {
        let _ = std::fs::remove_file(dest);
        Err(not_regular(url))
    }
}
