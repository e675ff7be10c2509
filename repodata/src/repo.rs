//! A repository directory on disk (a snapshot, `base/`, a build): its
//! repomd.xml parsed once, and every file it lists (metadata, packages,
//! deltarpms, installer-tree files) read through the guarded readers.
//! Sync, the store, verify and diff all look at repositories through this.

use std::path::{Path, PathBuf};

use crate::content::{self, Listed};
use crate::primary::{self, Package, PrimaryError};
use crate::repomd::{self, Record, Repomd, RepomdError};
use crate::updateinfo::{self, Advisory, UpdateinfoError};

/// The repomd.xml of every repository, relative to its root.
pub const REPOMD: &str = "repodata/repomd.xml";

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", path.display())]
    Repomd {
        path: PathBuf,
        #[source]
        source: RepomdError,
    },
    #[error("{}", path.display())]
    Primary {
        path: PathBuf,
        #[source]
        source: PrimaryError,
    },
    #[error("{}", path.display())]
    Updateinfo {
        path: PathBuf,
        #[source]
        source: UpdateinfoError,
    },
    #[error("{}: {message}", dir.display())]
    Listed { dir: PathBuf, message: String },
}

/// A repository directory and its parsed repomd.xml.
#[derive(Debug, Clone)]
pub struct RepoDir {
    pub dir: PathBuf,
    pub repomd: Repomd,
}

impl RepoDir {
    /// Read and parse `<dir>/repodata/repomd.xml`.
    pub fn open(dir: &Path) -> Result<Self, RepoError> {
        let path = dir.join(REPOMD);
        let bytes = std::fs::read(&path).map_err(|source| RepoError::Io {
            path: path.clone(),
            source,
        })?;
        let repomd = repomd::parse(&bytes).map_err(|source| RepoError::Repomd { path, source })?;
        Ok(Self::with_repomd(dir, repomd))
    }

    /// A directory whose repomd.xml was parsed already.
    pub fn with_repomd(dir: &Path, repomd: Repomd) -> Self {
        Self {
            dir: dir.to_path_buf(),
            repomd,
        }
    }

    pub fn primary(&self) -> &Record {
        self.repomd.primary().expect("repomd::parse checks primary")
    }

    pub fn primary_path(&self) -> PathBuf {
        self.primary().href.under(&self.dir)
    }

    fn open_primary(&self) -> Result<Box<dyn std::io::BufRead + Send>, RepoError> {
        self.primary()
            .open_in(&self.dir)
            .map_err(|source| RepoError::Io {
                path: self.primary_path(),
                source,
            })
    }

    /// Every package of the primary, streamed; the callback's error comes
    /// back as the inner `Err`. Returns the declared count.
    pub fn for_each_package<E>(
        &self,
        each: impl FnMut(Package) -> Result<(), E>,
    ) -> Result<Result<Option<u64>, E>, RepoError> {
        primary::for_each_package(self.open_primary()?, each).map_err(|source| RepoError::Primary {
            path: self.primary_path(),
            source,
        })
    }

    /// The package count the primary declares (one element read).
    pub fn declared_packages(&self) -> Result<Option<u64>, RepoError> {
        primary::declared_packages(self.open_primary()?).map_err(|source| RepoError::Primary {
            path: self.primary_path(),
            source,
        })
    }

    /// The `updateinfo` record, when the repository ships advisories.
    pub fn updateinfo(&self) -> Option<&Record> {
        self.repomd.records.iter().find(|r| r.kind == "updateinfo")
    }

    /// Every advisory of the updateinfo, streamed (none when the
    /// repository ships no updateinfo); the callback's error comes back as
    /// the inner `Err`. Returns how many were read.
    pub fn for_each_advisory<E>(
        &self,
        each: impl FnMut(Advisory) -> Result<(), E>,
    ) -> Result<Result<u64, E>, RepoError> {
        let Some(r) = self.updateinfo() else {
            return Ok(Ok(0));
        };
        let path = r.href.under(&self.dir);
        let input = r.open_in(&self.dir).map_err(|source| RepoError::Io {
            path: path.clone(),
            source,
        })?;
        updateinfo::for_each_advisory(input, each)
            .map_err(|source| RepoError::Updateinfo { path, source })
    }

    /// Deltarpms and installer-tree files the repository lists.
    pub fn extra_files(&self) -> Result<Vec<Listed>, RepoError> {
        content::extra_files(&self.dir, &self.repomd).map_err(|message| RepoError::Listed {
            dir: self.dir.clone(),
            message,
        })
    }
}
