//! `mirror-mgr`: sync yum/dnf repositories into immutable snapshots.
//!
//! Pure, synchronous logic (repodata parsing, planning, the on-disk store)
//! lives in plain modules testable without a network; async is confined to
//! `fetch` and the `sync` driver. The front doors (`cli`, `serve`) call
//! the operations layer (`ops`: one function per verb, with every
//! consequence), which calls the engine. The binary (`src/bin`) only
//! parses the command line and calls [`cli::run`]. Only `cli` and
//! `lifecycle` (for the end-to-end suite's checks) are public.

// The docs are for the crate's developers: they link into private modules
// (read them with `cargo doc --document-private-items`).
#![allow(rustdoc::private_intra_doc_links)]

pub(crate) mod access;
pub(crate) mod advisories;
pub(crate) mod bundle;
pub(crate) mod channels;
pub mod cli;

pub(crate) mod config;
pub(crate) mod crashpoint;
pub(crate) mod diff;
pub(crate) mod env_vars;
pub(crate) mod fetch;
pub(crate) mod filter;
pub(crate) mod history;
pub(crate) mod index;
pub mod lifecycle;
pub(crate) mod locks;
pub(crate) mod metrics;
pub(crate) mod ops;
pub(crate) mod publish;
pub(crate) mod report;
pub(crate) mod schedule;
pub(crate) mod serve;
pub(crate) mod snapshot_diff;
pub(crate) mod status_page;
pub(crate) mod store;
pub(crate) mod sync;
pub(crate) mod tokens;
pub(crate) mod trust;
pub(crate) mod upstream;
pub(crate) mod webhooks;
