//! The operations layer: one function per verb, the same whichever door
//! asked (the command line, the HTTP API, later the scheduler and
//! imports). Each performs the action **and every consequence of it**:
//! the root index (`all_latest.*`, `all_snapshots.json`), the status
//! pages, the channel indexes, and the config's `publish:` bucket. A front
//! door parses, calls one function here, and renders what it returns
//! ([`Done`]); it composes no follow-up step itself.
//!
//! | verb | function | command line | API |
//! |---|---|---|---|
//! | sync | [`sync()`] | `sync` | `POST mirrors/{name}/sync` (a job) |
//! | index | [`index()`] | `index` | (after every write) |
//! | publish | [`publish()`] | `publish`, `sync --publish` | `"publish": true` on sync |
//! | rollback | [`rollback`] | `rollback` | `POST mirrors/{name}/rollback` |
//! | channel rollback | [`channel_rollback`] | `rollback --channel` | `POST mirrors/{name}/rollback {"channel"}` |
//! | promote | [`promote`], [`promote_preview`] | `promote [--dry-run]` | `POST promote` (`"dry_run": true`) |
//! | vote | [`vote`] | `vote` | `POST votes` |
//! | pin, unpin | [`pin`] | `pin`, `unpin` | - |
//! | gc | [`gc`] | `gc` | - |
//! | diff | [`reads::diff`] | `diff` | `GET mirrors/{name}/diff` |
//! | export | [`bundle::export`] | `export` | - |
//! | import | [`bundle::import_bundle`] | `import-bundle` | - |
//! | advisories | [`reads::advisories`], [`reads::advisories_all`] | `advisories` | `GET mirrors/{name}/advisories`, `GET advisories` |
//!
//! Locks: every verb that moves a channel pointer or removes snapshots
//! takes the channel lock (`.channels.lock`) before any mirror's lock;
//! the index has its own (`.index.lock`), taken last.
//!
//! Errors are classified once ([`error::Kind`]); the exit codes and HTTP
//! statuses are read from it.

pub mod bundle;
mod context;
pub mod error;
mod lifecycle;
mod locks;
pub mod reads;
pub mod sync;
mod verbs;

use mirror_index::MirrorName;

use crate::index::IndexOutcome;
use crate::publish::PublishReport;

pub use context::{After, Done, Ops, on_own_runtime};
use context::{follow_bucket, write_index};
pub use error::{Kind, OpError};
pub use lifecycle::{gc, pin, rollback};
pub use locks::{list_locks, register_lock, release_lock};
pub use sync::{SyncRequest, SyncSettings, sync};
pub use verbs::{channel_rollback, promote, promote_preview, vote};

/// `index`: rewrite the root index and the status pages.
pub fn index(ops: &Ops) -> Result<IndexOutcome, OpError> {
    write_index(ops, ops.base_url("the index holds snapshot URLs")?)
}

/// `publish NAME...`: send the mirrors' snapshots, pointers and index to
/// the config's bucket.
pub fn publish(ops: &Ops, mirrors: &[MirrorName]) -> Result<(String, Vec<PublishReport>), OpError> {
    if ops.config.publish.is_none() {
        return Err(OpError::usage(
            "no publish target: add `publish: s3: {...}` to the config (--config)",
        ));
    }
    follow_bucket(&ops.config, &ops.root, mirrors).map(Option::unwrap_or_default)
}
