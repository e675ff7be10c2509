//! `mirror-mgr`: sync yum/dnf repositories into immutable snapshots.
//!
//! Pure, synchronous logic (repodata parsing, planning, the on-disk store)
//! lives in plain modules testable without a network; async is confined to
//! [`fetch`] and the [`sync`] driver; the binary (`src/bin`) only parses the
//! command line and calls [`cli::run`].

pub mod access;
pub mod channels;
pub mod cli;

pub mod config;
pub mod crashpoint;
pub mod diff;
pub mod env_vars;
pub mod fetch;
pub mod filter;
pub mod history;
pub mod index;
pub mod lifecycle;
pub mod ops;
pub mod publish;
pub mod report;
pub mod serve;
pub mod status_page;
pub mod store;
pub mod sync;
pub mod tokens;
pub mod trust;
pub mod upstream;
