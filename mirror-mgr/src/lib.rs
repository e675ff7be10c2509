//! `mirror-mgr`: sync yum/dnf repositories into immutable snapshots.
//!
//! Pure, synchronous logic (repodata parsing, planning, the on-disk store)
//! lives in plain modules testable without a network; async is confined to
//! [`fetch`] and the [`sync`] driver; the binary (`src/bin`) only parses the
//! command line and calls [`cli::run`].

pub mod checksum;
pub mod decompress;
pub mod href;
pub mod primary;
pub mod repomd;
mod xml;
