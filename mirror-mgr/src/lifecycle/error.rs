//! What the lifecycle verbs refuse, and opening an existing mirror.

use std::path::{Path, PathBuf};

use mirror_index::MirrorName;

use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("mirror {mirror} does not exist under {}", root.display())]
    NoMirror { mirror: MirrorName, root: PathBuf },
    #[error("mirror {mirror} has no snapshot {name:?}; it has: {}", available.join(", "))]
    NoSuchSnapshot {
        mirror: MirrorName,
        name: String,
        available: Vec<String>,
    },
    #[error("mirror {mirror} has no snapshot older than {latest} to roll back to")]
    NothingOlder { mirror: MirrorName, latest: String },
    #[error("mirror {mirror} has no latest snapshot; pass --to SNAPSHOT")]
    NoLatest { mirror: MirrorName },
    #[error("snapshot {name} of {mirror} is incomplete or damaged, refusing to point latest.txt at it: {}", problems.join("; "))]
    Damaged {
        mirror: MirrorName,
        name: String,
        problems: Vec<String>,
    },
}

pub(crate) fn open(root: &Path, name: &MirrorName) -> Result<Store, LifecycleError> {
    let store = Store::new(root, name.clone());
    if !store.dir.is_dir() {
        return Err(LifecycleError::NoMirror {
            mirror: name.clone(),
            root: root.to_path_buf(),
        });
    }
    Ok(store)
}
