//! The store's error, and the context every I/O error gets: its path.

use std::path::{Path, PathBuf};

use mirror_index::MirrorName;
use mirror_index::layout;
use mirror_repodata::repo::RepoError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "mirror {mirror} is locked by another mirror-mgr process (a sync, gc or rollback); try again later or pass --wait"
    )]
    Locked { mirror: MirrorName },
    #[error(transparent)]
    Layout(#[from] layout::LayoutError),
    #[error("metadata of a repository")]
    Repo(#[from] RepoError),
    #[error("snapshot {name} of {mirror} does not exist")]
    NoSuchSnapshot { mirror: MirrorName, name: String },
}

impl From<mirror_index::atomic::AtomicWriteError> for StoreError {
    fn from(e: mirror_index::atomic::AtomicWriteError) -> Self {
        Self::Io {
            path: e.path,
            source: e.source,
        }
    }
}

/// Attach the path to an I/O error.
pub(crate) trait IoContext<T> {
    fn at(self, path: &Path) -> Result<T, StoreError>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: &Path) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}
