//! `mirror-client`: point a CI job's repo configuration at mirror snapshots.
//!
//! - [`map`]: load and compose the mirror map (index URL, file, `data:`).
//! - [`edit`]: lossless rewriting rules for ini text and `.repos` lists.
//! - [`files`]: format detection, mock configs, atomic in-place replacement.
//! - [`cli`]: the command line; the binary only calls [`cli::run`].

pub mod cli;
mod doc;
pub mod edit;
pub mod files;
pub mod lock;
pub mod map;
mod net;
mod urls;
