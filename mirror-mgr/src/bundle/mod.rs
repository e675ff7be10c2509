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
mod io;
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

/// The sha256 and size of each package the repository at `dir` lists
/// (those whose checksum is a sha256), by path. A snapshot's packages were
/// checked against these when it was made, so export and import need not
/// read them again; a file that no longer matches is caught by the
/// import's own check of every content it receives.
pub fn listed_sha256(dir: &Path) -> std::collections::HashMap<String, (String, u64)> {
    let mut out = std::collections::HashMap::new();
    let Ok(repo) = mirror_repodata::repo::RepoDir::open(dir) else {
        return out;
    };
    let read = repo.for_each_package(|p: mirror_repodata::primary::Package| {
        if p.checksum.kind == mirror_repodata::checksum::Kind::Sha256 && p.location_base.is_none() {
            out.insert(
                p.href.as_str().to_owned(),
                (p.checksum.hex.to_ascii_lowercase(), p.size),
            );
        }
        Ok::<_, std::convert::Infallible>(())
    });
    if !matches!(read, Ok(Ok(_))) {
        out.clear();
    }
    out
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
