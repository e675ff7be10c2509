//! Checksums as repodata names them (`sha`, `sha1` .. `sha512`) and a
//! streaming hasher for each. Invariant 7 of the spec rests on this module:
//! every downloaded file is compared against the kind *and* value its metadata
//! gives, never against a kind we picked.

use std::fmt;

use sha2::Digest;

/// A checksum algorithm named by repodata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Kind {
    /// Parse a repodata `type=` attribute. createrepo writes `sha` for SHA-1.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "sha" | "sha1" => Self::Sha1,
            "sha224" => Self::Sha224,
            "sha256" => Self::Sha256,
            "sha384" => Self::Sha384,
            "sha512" => Self::Sha512,
            _ => return None,
        })
    }

    /// Length of the hex digest.
    pub fn hex_len(self) -> usize {
        match self {
            Self::Sha1 => 40,
            Self::Sha224 => 56,
            Self::Sha256 => 64,
            Self::Sha384 => 96,
            Self::Sha512 => 128,
        }
    }

    pub fn hasher(self) -> Hasher {
        match self {
            Self::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            Self::Sha224 => Hasher::Sha224(sha2::Sha224::new()),
            Self::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Self::Sha384 => Hasher::Sha384(sha2::Sha384::new()),
            Self::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sha1 => "sha1",
            Self::Sha224 => "sha224",
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        })
    }
}

/// An expected digest: algorithm plus lower-case hex value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Checksum {
    pub kind: Kind,
    pub hex: String,
}

impl Checksum {
    /// Build from repodata's `type` attribute and text, validating the hex.
    pub fn new(kind: &str, hex: &str) -> Result<Self, String> {
        let kind =
            Kind::parse(kind).ok_or_else(|| format!("unsupported checksum type {kind:?}"))?;
        let hex = hex.trim().to_ascii_lowercase();
        if hex.len() != kind.hex_len() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("malformed {kind} checksum {hex:?}"));
        }
        Ok(Self { kind, hex })
    }

    /// The checksum of `data`.
    pub fn of(kind: Kind, data: &[u8]) -> Self {
        let mut h = kind.hasher();
        h.update(data);
        h.finish()
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.hex)
    }
}

/// A running hash of one of the supported kinds.
#[derive(Clone)]
pub enum Hasher {
    Sha1(sha1::Sha1),
    Sha224(sha2::Sha224),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl Hasher {
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha1(h) => h.update(data),
            Self::Sha224(h) => h.update(data),
            Self::Sha256(h) => h.update(data),
            Self::Sha384(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
        }
    }

    pub fn finish(self) -> Checksum {
        let (kind, bytes) = match self {
            Self::Sha1(h) => (Kind::Sha1, h.finalize().to_vec()),
            Self::Sha224(h) => (Kind::Sha224, h.finalize().to_vec()),
            Self::Sha256(h) => (Kind::Sha256, h.finalize().to_vec()),
            Self::Sha384(h) => (Kind::Sha384, h.finalize().to_vec()),
            Self::Sha512(h) => (Kind::Sha512, h.finalize().to_vec()),
        };
        Checksum {
            kind,
            hex: hex::encode(bytes),
        }
    }
}

/// Hash a whole file from disk.
pub fn hash_file(path: &std::path::Path, kind: Kind) -> std::io::Result<Checksum> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = kind.hasher();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finish());
        }
        h.update(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests_of_abc() {
        let cases = [
            (Kind::Sha1, "a9993e364706816aba3e25717850c26c9cd0d89d"),
            (
                Kind::Sha224,
                "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7",
            ),
            (
                Kind::Sha256,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (
                Kind::Sha384,
                "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
            ),
            (
                Kind::Sha512,
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            ),
        ];
        for (kind, hex) in cases {
            assert_eq!(Checksum::of(kind, b"abc").hex, hex, "{kind}");
            assert_eq!(
                Checksum::new(&kind.to_string(), hex).unwrap(),
                Checksum::of(kind, b"abc")
            );
        }
    }

    #[test]
    fn parse_rejects_bad_input() {
        assert_eq!(Kind::parse("sha"), Some(Kind::Sha1));
        assert_eq!(Kind::parse("SHA256"), Some(Kind::Sha256));
        assert!(Kind::parse("md5").is_none());
        assert!(Checksum::new("sha256", "abc").is_err());
        assert!(Checksum::new("sha1", &"z".repeat(40)).is_err());
        assert!(
            Checksum::new("md5", &"0".repeat(32))
                .unwrap_err()
                .contains("md5")
        );
    }
}
