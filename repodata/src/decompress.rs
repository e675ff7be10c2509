//! Transparent decompression of repodata by *content*, not file name:
//! gzip, xz, bzip2, zstd or plain. Upstreams mislabel files, and the primary
//! must be streamed (never loaded whole), so this wraps a reader.
//!
//! Invariant: metadata is only ever read through [`open_metadata`], which
//! stops with an error once a file inflates past its declared `open-size`
//! (or, when none is declared, [`ceiling`]): a 4 MB gzip bomb that inflates
//! to 4 GiB costs nothing but the error.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

/// The compression detected from a file's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Xz,
    Bzip2,
    Zstd,
    Plain,
}

pub fn detect(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Compression::Xz
    } else if head.starts_with(b"BZh") {
        Compression::Bzip2
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::Plain
    }
}

impl Compression {
    /// The file name suffix createrepo_c gives this compression.
    pub fn suffix(self) -> &'static str {
        match self {
            Self::Gzip => ".gz",
            Self::Xz => ".xz",
            Self::Bzip2 => ".bz2",
            Self::Zstd => ".zst",
            Self::Plain => "",
        }
    }
}

/// A writer compressing with one of the [`Compression`]s.
pub enum Encoder<W: Write> {
    Gzip(flate2::write::GzEncoder<W>),
    Xz(liblzma::write::XzEncoder<W>),
    Bzip2(bzip2::write::BzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
    Plain(W),
}

impl<W: Write> Encoder<W> {
    /// Compress into `out` the way `kind` says, at the default levels.
    pub fn new(kind: Compression, out: W) -> std::io::Result<Self> {
        Ok(match kind {
            Compression::Gzip => Self::Gzip(flate2::write::GzEncoder::new(
                out,
                flate2::Compression::default(),
            )),
            Compression::Xz => Self::Xz(liblzma::write::XzEncoder::new(out, 6)),
            Compression::Bzip2 => Self::Bzip2(bzip2::write::BzEncoder::new(
                out,
                bzip2::Compression::default(),
            )),
            Compression::Zstd => Self::Zstd(zstd::stream::write::Encoder::new(out, 10)?),
            Compression::Plain => Self::Plain(out),
        })
    }

    /// Write the trailer; returns the inner writer.
    pub fn finish(self) -> std::io::Result<W> {
        match self {
            Self::Gzip(e) => e.finish(),
            Self::Xz(e) => e.finish(),
            Self::Bzip2(e) => e.finish(),
            Self::Zstd(e) => e.finish(),
            Self::Plain(w) => Ok(w),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Gzip(e) => e.write(buf),
            Self::Xz(e) => e.write(buf),
            Self::Bzip2(e) => e.write(buf),
            Self::Zstd(e) => e.write(buf),
            Self::Plain(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Gzip(e) => e.flush(),
            Self::Xz(e) => e.flush(),
            Self::Bzip2(e) => e.flush(),
            Self::Zstd(e) => e.flush(),
            Self::Plain(w) => w.flush(),
        }
    }
}

/// The compression of the file at `path`, from its first bytes.
pub fn detect_file(path: &Path) -> std::io::Result<Compression> {
    let mut head = [0u8; 8];
    let mut f = std::fs::File::open(path)?;
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(detect(&head[..n]))
}

/// Wrap `inner` in the decoder its first bytes call for.
pub fn open<R: Read + Send + 'static>(inner: R) -> std::io::Result<Box<dyn BufRead + Send>> {
    let mut buffered = BufReader::with_capacity(64 * 1024, inner);
    let kind = detect(buffered.fill_buf()?);
    Ok(match kind {
        Compression::Gzip => Box::new(BufReader::new(flate2::bufread::MultiGzDecoder::new(
            buffered,
        ))),
        Compression::Xz => Box::new(BufReader::new(
            liblzma::bufread::XzDecoder::new_multi_decoder(buffered),
        )),
        Compression::Bzip2 => Box::new(BufReader::new(bzip2::bufread::MultiBzDecoder::new(
            buffered,
        ))),
        Compression::Zstd => Box::new(BufReader::new(zstd::stream::read::Decoder::with_buffer(
            buffered,
        )?)),
        Compression::Plain => Box::new(buffered),
    })
}

/// How far a metadata file without a declared open-size may inflate: 64
/// times its stored size (real repodata compresses 5-20x), at least 256 MiB.
pub fn ceiling(stored: u64) -> u64 {
    stored.saturating_mul(64).max(256 << 20)
}

/// Open a stored metadata file, decompressed, failing once it yields more
/// than `open_size` bytes (or [`ceiling`] of its size when not declared).
pub fn open_metadata(
    path: &Path,
    open_size: Option<u64>,
) -> std::io::Result<Box<dyn BufRead + Send>> {
    let file = std::fs::File::open(path)?;
    let stored = file.metadata()?.len();
    let (limit, why) = match open_size {
        Some(n) => (n, "the open-size its repomd.xml declares"),
        None => (
            ceiling(stored),
            "the ceiling for metadata without an open-size",
        ),
    };
    Ok(Box::new(BufReader::new(Limited {
        inner: open(file)?,
        left: limit,
        limit,
        why,
    })))
}

/// A reader that refuses to yield more than `limit` bytes.
struct Limited {
    inner: Box<dyn BufRead + Send>,
    left: u64,
    limit: u64,
    why: &'static str,
}

impl Read for Limited {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // One byte more than allowed is already too much.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "decompresses to more than {} bytes, {} (a decompression bomb?)",
                        self.limit, self.why
                    ),
                )),
            };
        }
        let max = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Issue 16.5: a gzip bomb stops at the declared open-size, or at the
    /// ceiling when none is declared, with an error saying why.
    #[test]
    fn bombs_stop_at_the_declared_size() {
        // 1 MiB of 'a' compressed once and repeated as 300 gzip members:
        // ~300 KB on disk that inflate to 300 MiB.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![b'a'; 1 << 20]).unwrap();
        let member = gz.finish().unwrap();
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("bomb.xml.gz");
        let mut f = std::fs::File::create(&p).unwrap();
        for _ in 0..300 {
            f.write_all(&member).unwrap();
        }
        drop(f);
        let mut sink = std::io::sink();
        let err =
            std::io::copy(&mut open_metadata(&p, Some(4096)).unwrap(), &mut sink).unwrap_err();
        assert!(
            err.to_string()
                .contains("more than 4096 bytes, the open-size"),
            "{err}"
        );
        let err = std::io::copy(&mut open_metadata(&p, None).unwrap(), &mut sink).unwrap_err();
        assert!(
            err.to_string()
                .contains("more than 268435456 bytes, the ceiling"),
            "{err}"
        );
        // Exactly the declared size reads fine.
        let n = std::io::copy(&mut open_metadata(&p, Some(300 << 20)).unwrap(), &mut sink).unwrap();
        assert_eq!(n, 300 << 20);
    }

    const TEXT: &[u8] = b"<?xml version=\"1.0\"?><metadata packages=\"0\"></metadata>\n";

    fn roundtrip(data: Vec<u8>, expect: Compression) {
        assert_eq!(detect(&data), expect);
        let mut out = Vec::new();
        open(std::io::Cursor::new(data))
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, TEXT);
    }

    #[test]
    fn every_format_round_trips() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(TEXT).unwrap();
        roundtrip(gz.finish().unwrap(), Compression::Gzip);

        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
        xz.write_all(TEXT).unwrap();
        roundtrip(xz.finish().unwrap(), Compression::Xz);

        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        bz.write_all(TEXT).unwrap();
        roundtrip(bz.finish().unwrap(), Compression::Bzip2);

        roundtrip(zstd::encode_all(TEXT, 3).unwrap(), Compression::Zstd);
        roundtrip(TEXT.to_vec(), Compression::Plain);
    }

    #[test]
    fn encoders_round_trip() {
        for kind in [
            Compression::Gzip,
            Compression::Xz,
            Compression::Bzip2,
            Compression::Zstd,
            Compression::Plain,
        ] {
            let mut e = Encoder::new(kind, Vec::new()).unwrap();
            e.write_all(TEXT).unwrap();
            roundtrip(e.finish().unwrap(), kind);
        }
    }

    #[test]
    fn corrupt_stream_is_an_error_not_a_panic() {
        let mut data = vec![0x1f, 0x8b];
        data.extend_from_slice(b"garbage that is not deflate");
        let mut out = Vec::new();
        assert!(
            open(std::io::Cursor::new(data))
                .unwrap()
                .read_to_end(&mut out)
                .is_err()
        );
    }
}
