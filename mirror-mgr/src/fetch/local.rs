//! Packages from a local upstream (a path or `file://` on the mirror's own
//! filesystem), placed without copying their bytes.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use url::Url;

use mirror_repodata::checksum::Hasher;

use super::{Expect, FetchError, VerifyLocal, create_file, file_err, file_path, shown};

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
            let meta = std::fs::metadata(&src).map_err(|s| file_err(url, s))?;
            if !meta.is_file() {
                return Ok(None);
            }
            check_size(meta.len())?;
            if !self.place(&src, dest) {
                return Ok(None);
            }
            return Ok(Some(meta.len()));
        }
        let mut from = std::fs::File::open(&src).map_err(|s| file_err(url, s))?;
        let meta = from.metadata().map_err(|s| file_err(url, s))?;
        if !meta.is_file() {
            return Ok(None);
        }
        check_size(meta.len())?;
        let Some(cloned) = self.place_open(&src, &from, dest) else {
            return Ok(None);
        };
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

    /// Place `src` at `dest` by reflink or hard link; false when neither works.
    fn place(&self, src: &Path, dest: &Path) -> bool {
        if !self.no_reflink.load(Ordering::Relaxed)
            && let Ok(from) = std::fs::File::open(src)
        {
            return self.place_open(src, &from, dest).is_some();
        }
        self.hard_link(src, dest)
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
