//! What changed between two snapshots, as `diff`, the API and the diff
//! pages show it: packages ([`crate::diff`]) and advisories
//! ([`crate::advisories::changes`]).

use std::path::Path;

use crate::advisories::{self, Changes};
use crate::diff::Diff;
use crate::store::StoreError;

/// Packages and advisories from A to B. The JSON has the package lists at
/// the top level (as before advisories were read) and `advisories` beside.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SnapshotDiff {
    #[serde(flatten)]
    pub packages: Diff,
    pub advisories: Changes,
}

/// Packages and advisories from the repository at `a` to the one at `b`.
pub fn between(a: &Path, b: &Path) -> Result<SnapshotDiff, StoreError> {
    let (pa, aa) = advisories::read_all(a)?;
    let (pb, ab) = advisories::read_all(b)?;
    Ok(SnapshotDiff {
        packages: crate::diff::diff(&pa, &pb),
        advisories: advisories::changes(&aa, &ab),
    })
}
