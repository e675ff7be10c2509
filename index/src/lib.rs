//! `mirror-index`: the formats that `mirror-mgr` (writer) and `mirror-client`
//! (reader) share, and the one helper that writes files atomically.
//!
//! - [`layout`]: the mirror tree: mirror names, snapshot names, `latest.txt`.
//! - [`all_latest`]: the `all_latest.json` / `.yaml` / `.html` index.
//! - [`map_value`]: what a mirror map may hold (URLs and ids safe to write into files).
//! - [`nesting`]: how deeply a YAML/JSON text may nest, checked before parsing.
//! - [`repofile`]: a lossless reader of yum/dnf `.repo` (ini) text.
//! - [`stdout`]: data to stdout, quiet when the reader went away.
//! - [`atomic`]: temp file + fsync + rename + fsync(dir) for every file we replace.
//!
//! Nothing here talks to the network or decides policy; the two binaries do.

pub mod all_latest;
pub mod all_snapshots;
pub mod atomic;
pub mod layout;
pub mod map_value;
pub mod nesting;
pub mod repofile;
pub mod stdout;

pub use all_latest::MirrorMap;

/// An error with its whole cause chain, `outer: inner: innermost`, skipping
/// a cause whose text its parent already repeats. Both binaries print errors
/// this way.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut s = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let t = e.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = e.source();
    }
    s
}
pub use layout::{MirrorName, SnapshotName};
