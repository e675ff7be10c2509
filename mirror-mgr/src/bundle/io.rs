//! The import's file helpers: its private staging directory, a copy in
//! large writes, a hashing reader, and the sha256 of a local file.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::BundleError;
use crate::store::IoContext;

/// The private directory contents are received into, removed whatever
/// happens (a crashed import's is removed by the next).
pub(super) struct Staging(pub(super) PathBuf);

impl Staging {
    pub(super) fn new(dir: PathBuf) -> Result<Self, BundleError> {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).at(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Copy `r` to `w` through `buf`, filling it before each write.
pub(super) fn copy_big(
    r: &mut impl Read,
    w: &mut impl std::io::Write,
    buf: &mut [u8],
) -> std::io::Result<()> {
    loop {
        let mut n = 0;
        while n < buf.len() {
            match r.read(&mut buf[n..])? {
                0 => break,
                k => n += k,
            }
        }
        if n == 0 {
            return Ok(());
        }
        w.write_all(&buf[..n])?;
        if n < buf.len() {
            return Ok(());
        }
    }
}

/// A reader that hashes what passes through.
pub(super) struct HashingReader<R> {
    inner: R,
    h: Sha256,
}

impl<R: Read> HashingReader<R> {
    pub(super) fn new(inner: R) -> Self {
        Self {
            inner,
            h: Sha256::new(),
        }
    }

    pub(super) fn hex(self) -> String {
        hex::encode(self.h.finalize())
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.h.update(&buf[..n]);
        Ok(n)
    }
}

/// sha256 of a local file, read once per path.
pub(super) fn sha_of(path: &Path, cache: &mut HashMap<PathBuf, String>) -> Option<String> {
    if let Some(h) = cache.get(path) {
        return Some(h.clone());
    }
    let f = std::fs::File::open(path).ok()?;
    let mut r = HashingReader::new(f);
    std::io::copy(&mut r, &mut std::io::sink()).ok()?;
    let hex = r.hex();
    cache.insert(path.to_path_buf(), hex.clone());
    Some(hex)
}
