//! A bundle on media: one file, or parts of at most a given size
//! (`NAME.000`, `NAME.001`, ...: the byte stream cut in order, so that
//! `cat NAME.* | tar x` reads it). Parts are written under temporary names
//! and renamed into place only when the whole bundle is written: a bundle
//! is never half there.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// The name of part `i` of the bundle at `path`.
pub fn part_name(path: &Path, i: usize) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{i:03}"));
    PathBuf::from(s)
}

fn temp_of(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".partial");
    PathBuf::from(s)
}

/// Writes the bundle's bytes to `path`, or to parts of `split` bytes.
pub struct Parts {
    path: PathBuf,
    split: Option<u64>,
    done: Vec<PathBuf>,
    cur: Option<(BufWriter<File>, PathBuf, u64)>,
}

impl Parts {
    pub fn create(path: &Path, split: Option<u64>) -> std::io::Result<Self> {
        let mut p = Self {
            path: path.to_path_buf(),
            split: split.filter(|s| *s > 0),
            done: Vec::new(),
            cur: None,
        };
        p.next_part()?;
        Ok(p)
    }

    fn next_part(&mut self) -> std::io::Result<()> {
        self.close_part()?;
        let name = match self.split {
            Some(_) => part_name(&self.path, self.done.len()),
            None => self.path.clone(),
        };
        let f = File::create(temp_of(&name))?;
        self.cur = Some((BufWriter::with_capacity(1 << 20, f), name, 0));
        Ok(())
    }

    fn close_part(&mut self) -> std::io::Result<()> {
        if let Some((w, name, _)) = self.cur.take() {
            let f = w
                .into_inner()
                .map_err(std::io::IntoInnerError::into_error)?;
            f.sync_all()?;
            self.done.push(name);
        }
        Ok(())
    }

    /// Flush the last part and rename every part into place; returns them.
    pub fn finish(mut self) -> std::io::Result<Vec<PathBuf>> {
        self.close_part()?;
        for p in &self.done {
            std::fs::rename(temp_of(p), p)?;
        }
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)?.sync_all()?;
        }
        Ok(std::mem::take(&mut self.done))
    }

    /// Remove what was written (a failed export leaves nothing).
    pub fn abandon(mut self) {
        if let Some((_, name, _)) = self.cur.take() {
            self.done.push(name);
        }
        for p in &self.done {
            let _ = std::fs::remove_file(temp_of(p));
        }
    }
}

impl Write for Parts {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let (Some(limit), Some((_, _, n))) = (self.split, &self.cur)
            && *n >= limit
        {
            self.next_part()?;
        }
        let limit = self.split.unwrap_or(u64::MAX);
        let (w, _, n) = self.cur.as_mut().expect("a part is open");
        let room = usize::try_from(limit - *n).unwrap_or(usize::MAX);
        let k = w.write(&buf[..buf.len().min(room)])?;
        *n += k as u64;
        Ok(k)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.cur.as_mut() {
            Some((w, _, _)) => w.flush(),
            None => Ok(()),
        }
    }
}

/// The files of the bundle at `path`: itself, or, when it names part 000
/// (`NAME.000`), every part in order up to the first one missing.
pub fn files_of(path: &Path) -> Vec<PathBuf> {
    let name = path.to_string_lossy();
    let Some(stem) = name.strip_suffix(".000") else {
        return vec![path.to_path_buf()];
    };
    let stem = PathBuf::from(stem);
    // At most 100,000 parts (`.000` to `.99999`).
    (0..100_000)
        .map(|i| part_name(&stem, i))
        .take_while(|p| p.is_file())
        .collect()
}

/// The parts, read as one stream.
pub struct PartsReader {
    files: std::vec::IntoIter<PathBuf>,
    cur: Option<File>,
}

impl PartsReader {
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let files = files_of(path);
        let mut r = Self {
            files: files.into_iter(),
            cur: None,
        };
        r.advance()?;
        if r.cur.is_none() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no bundle at {}", path.display()),
            ));
        }
        Ok(r)
    }

    fn advance(&mut self) -> std::io::Result<()> {
        self.cur = self.files.next().map(File::open).transpose()?;
        Ok(())
    }
}

impl Read for PartsReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while let Some(f) = self.cur.as_mut() {
            let n = f.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            self.advance()?;
        }
        Ok(0)
    }
}

/// The bundle at `path` (or its parts) as its tar stream, decompressed
/// when it is zstd (by its first bytes, not its name).
pub fn open_stream(path: &Path) -> std::io::Result<Box<dyn Read>> {
    let mut input = std::io::BufReader::with_capacity(1 << 20, PartsReader::open(path)?);
    let zstd = std::io::BufRead::fill_buf(&mut input)?.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]);
    Ok(if zstd {
        Box::new(zstd::stream::read::Decoder::with_buffer(input)?)
    } else {
        Box::new(input)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_parts_read_back_as_one_stream() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("b.tar");
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut w = Parts::create(&path, Some(4096)).unwrap();
        w.write_all(&data).unwrap();
        let parts = w.finish().unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(std::fs::metadata(&parts[0]).unwrap().len(), 4096);
        assert!(!d.path().join("b.tar.000.partial").exists());
        let mut back = Vec::new();
        PartsReader::open(&parts[0])
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
        // One file, unsplit; an abandoned bundle leaves nothing.
        let one = d.path().join("one.tar");
        let mut w = Parts::create(&one, None).unwrap();
        w.write_all(&data).unwrap();
        assert_eq!(w.finish().unwrap(), std::slice::from_ref(&one));
        let gone = d.path().join("gone.tar");
        let mut w = Parts::create(&gone, Some(100)).unwrap();
        w.write_all(&data).unwrap();
        w.abandon();
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            4,
            "only b.tar.000-002 and one.tar"
        );
    }
}
