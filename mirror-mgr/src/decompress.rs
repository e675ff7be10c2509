//! Transparent decompression of repodata by *content*, not file name:
//! gzip, xz, bzip2, zstd or plain. Upstreams mislabel files, and the primary
//! must be streamed (never loaded whole), so this wraps a reader.

use std::io::{BufRead, BufReader, Read};

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

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
