//! The import's file helpers: its private staging directory, the sha256
//! of a local file, and the checker that hashes
//! received contents on a second thread.

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

/// sha256 of a local file, read once per path.
pub(super) fn sha_of(path: &Path, cache: &mut HashMap<PathBuf, String>) -> Option<String> {
    if let Some(h) = cache.get(path) {
        return Some(h.clone());
    }
    let hex = mirror_repodata::checksum::hash_file(path, mirror_repodata::checksum::Kind::Sha256)
        .ok()?
        .hex;
    cache.insert(path.to_path_buf(), hex.clone());
    Some(hex)
}

/// Contents checked on a second thread while the first receives and
/// writes them: the receiving thread fills a buffer with contents one
/// after the other (writing each to its file as it goes), hands the full
/// buffer over with where each content ends, and goes on reading; the
/// checker hashes it and hands the buffer back. A few buffers circulate,
/// so memory stays flat whatever the bundle's size, and small contents
/// cost no hand-over each.
pub(super) struct Checker {
    batches: Option<std::sync::mpsc::SyncSender<Batch>>,
    free: std::sync::mpsc::Receiver<Vec<u8>>,
    worker: Option<std::thread::JoinHandle<Result<(), String>>>,
    /// The buffer being filled: bytes used, and the contents ending in it.
    filling: Option<Batch>,
}

struct Batch {
    buf: Vec<u8>,
    len: usize,
    /// (offset, sha256): a content ends at this offset and must hash so.
    ends: Vec<(usize, String)>,
}

/// The size of each buffer, and how many circulate.
const CHUNK: usize = 1 << 20;
const BUFFERS: usize = 4;

impl Checker {
    pub(super) fn new() -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(BUFFERS);
        let (free_tx, free) = std::sync::mpsc::sync_channel::<Vec<u8>>(BUFFERS);
        for _ in 0..BUFFERS {
            free_tx
                .send(vec![0u8; CHUNK])
                .expect("room for every buffer");
        }
        let worker = std::thread::spawn(move || {
            let mut h = Sha256::new();
            for b in rx {
                let mut start = 0;
                for (end, want) in &b.ends {
                    h.update(&b.buf[start..*end]);
                    start = *end;
                    if hex::encode(h.finalize_reset()) != *want {
                        return Err(format!(
                            "object {want}: its content does not match its checksum"
                        ));
                    }
                }
                h.update(&b.buf[start..b.len]);
                // The receiving side is gone only when it failed.
                let _ = free_tx.send(b.buf);
            }
            Ok(())
        });
        Self {
            batches: Some(tx),
            free,
            worker: Some(worker),
            filling: None,
        }
    }

    /// Stream one content from `r` into `w` (none: only checked), to be
    /// checked against `sha`. An error is the reader's or the writer's,
    /// or an earlier content's mismatch; the last contents' are reported
    /// by [`Checker::finish`].
    pub(super) fn take(
        &mut self,
        r: &mut impl Read,
        mut w: Option<&mut std::fs::File>,
        sha: &str,
    ) -> Result<(), String> {
        use std::io::Write;
        loop {
            let mut b = match self.filling.take() {
                Some(b) => b,
                None => match self.free.recv() {
                    Ok(buf) => Batch {
                        buf,
                        len: 0,
                        ends: Vec::new(),
                    },
                    Err(_) => return self.finish(),
                },
            };
            let start = b.len;
            let mut ended = false;
            while b.len < b.buf.len() {
                match r.read(&mut b.buf[b.len..]).map_err(|e| e.to_string())? {
                    0 => {
                        ended = true;
                        break;
                    }
                    k => b.len += k,
                }
            }
            if let Some(f) = w.as_mut() {
                f.write_all(&b.buf[start..b.len])
                    .map_err(|e| e.to_string())?;
            }
            if ended {
                b.ends.push((b.len, sha.to_owned()));
                self.filling = Some(b);
                return Ok(());
            }
            // Full: hand it over and go on with another.
            if self
                .batches
                .as_ref()
                .expect("not finished")
                .send(b)
                .is_err()
            {
                return self.finish();
            }
        }
    }

    /// Wait for the checker: the first content that did not match, if any.
    pub(super) fn finish(&mut self) -> Result<(), String> {
        if let (Some(b), Some(tx)) = (self.filling.take(), self.batches.as_ref()) {
            // A checker gone already says why in its result.
            let _ = tx.send(b);
        }
        drop(self.batches.take());
        match self.worker.take() {
            Some(w) => w
                .join()
                .unwrap_or_else(|_| Err("the checker failed".into())),
            None => Err("the checker already stopped".into()),
        }
    }
}

impl Drop for Checker {
    fn drop(&mut self) {
        drop(self.batches.take());
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(b: &[u8]) -> String {
        hex::encode(Sha256::digest(b))
    }

    /// Small contents share a buffer, a large one spans several: each is
    /// written whole and checked against its own checksum.
    #[test]
    fn contents_are_written_and_checked_across_buffers() {
        let dir = tempfile::tempdir().unwrap();
        let contents: Vec<Vec<u8>> = vec![
            b"small".to_vec(),
            Vec::new(),
            (0..(CHUNK * 5 / 2))
                .map(|i| u8::try_from(i % 251).unwrap())
                .collect(),
            vec![7u8; CHUNK],
            b"after".to_vec(),
        ];
        let mut c = Checker::new();
        for (i, body) in contents.iter().enumerate() {
            let mut f = std::fs::File::create(dir.path().join(i.to_string())).unwrap();
            c.take(&mut body.as_slice(), Some(&mut f), &sha(body))
                .unwrap();
        }
        c.finish().unwrap();
        for (i, body) in contents.iter().enumerate() {
            let got = std::fs::read(dir.path().join(i.to_string())).unwrap();
            assert!(got == *body, "content {i} was not written whole");
        }
    }

    /// One wrong content among good ones, in the middle of a shared
    /// buffer, is named; none is mistaken for another.
    #[test]
    fn a_wrong_content_is_named() {
        let mut c = Checker::new();
        let good = b"good".to_vec();
        c.take(&mut good.as_slice(), None, &sha(&good)).unwrap();
        let claimed = sha(b"what the manifest says");
        let res = c
            .take(&mut b"what the bundle holds".as_slice(), None, &claimed)
            .and_then(|()| c.take(&mut good.as_slice(), None, &sha(&good)))
            .and_then(|()| c.finish());
        let err = res.unwrap_err();
        assert!(err.contains(&claimed), "{err}");
    }
}
