//! `mirror-index`: the formats that `mirror-mgr` (writer) and `mirror-client`
//! (reader) share, and the one helper that writes files atomically.
//!
//! - [`layout`]: the mirror tree: mirror names, snapshot names, `latest.txt`.
//! - [`all_latest`]: the `all_latest.json` / `.yaml` / `.html` index.
//! - [`repofile`]: a lossless reader of yum/dnf `.repo` (ini) text.
//! - [`atomic`]: temp file + fsync + rename + fsync(dir) for every file we replace.
//!
//! Nothing here talks to the network or decides policy; the two binaries do.

pub mod all_latest;
pub mod atomic;
pub mod layout;
pub mod repofile;

pub use all_latest::MirrorMap;
pub use layout::{MirrorName, SnapshotName};
