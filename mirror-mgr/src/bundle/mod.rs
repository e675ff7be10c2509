//! Bundles for air-gapped sites: the snapshots of a connected mirror
//! carried on media and imported as the very same snapshots (names,
//! metadata byte for byte, pointers, channels).
//!
//! A bundle is a plain tar (optionally zstd-compressed; `NAME.000`,
//! `NAME.001`... when split), readable with standard tools:
//!
//! | entry | what |
//! |---|---|
//! | `MANIFEST.json` | [`manifest::Manifest`]: every snapshot with its files (path, size, sha256) and history, `latest`, channels, keys; the objects carried |
//! | `MANIFEST.json.asc` | an armored OpenPGP signature of `MANIFEST.json` |
//! | `objects/<sha256>` | each content the other side lacks, once |
//!
//! - [`export`]: plan and write one; [`import`]: check and apply one;
//! - [`parts`]: split files, read back as one stream.

pub mod export;
pub mod import;
pub mod manifest;
pub mod parts;

use std::path::{Path, PathBuf};

/// The first two entries of every bundle, and where contents go.
pub const MANIFEST: &str = "MANIFEST.json";
pub const MANIFEST_SIG: &str = "MANIFEST.json.asc";
pub const OBJECTS: &str = "objects/";

/// The manifest written beside a bundle (`--since` it next time).
pub fn manifest_beside(bundle: &Path) -> PathBuf {
    let mut s = bundle.as_os_str().to_owned();
    s.push(".manifest.json");
    PathBuf::from(s)
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Bad arguments.
    #[error("{0}")]
    Usage(String),
    /// The bundle is refused: its signature, its manifest, a content, a
    /// missing part or file. Nothing was made visible.
    #[error("bundle refused: {0}")]
    Refused(String),
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Sign(#[from] crate::filter::sign::SignError),
}

impl From<mirror_index::atomic::AtomicWriteError> for BundleError {
    fn from(e: mirror_index::atomic::AtomicWriteError) -> Self {
        Self::Store(e.into())
    }
}
