//! Channels: named pointers beside `latest` that only move when someone (or,
//! later, a vote policy) promotes a proven set of snapshots.
//!
//! - `<root>/<mirror>/<channel>.txt` names a snapshot, like `latest.txt`;
//! - `<root>/all_<channel>.json` / `.yaml` is the channel's index, wrapped
//!   in `<channel>_ci_repos`, which `mirror-client --channel` reads;
//! - `<root>/.channels/<channel>.jsonl` records every promotion.
//!
//! Invariants: a promotion takes the root's channel lock, checks every
//! snapshot it names (exists, verifies), writes its whole target to a
//! journal, moves the pointers, then replaces `all_<channel>.json` in one
//! rename: a client sees the old set or the new one, never a mix. A
//! promotion killed half-way is finished by the next one (the journal).

mod journal;
mod model;
mod pointers;
pub mod policy;
pub mod summary;
mod votes;

pub(crate) use journal::lock;
pub use journal::{is_pending, pending_snapshots, preview, promote, promotions, rollback};
pub use model::{
    Channel, ChannelError, Promotion, Set, Vote, check_reason, current_user, set_from_frozen,
    set_from_map, set_id, wrapper_key,
};
pub use pointers::{channels_at, pointers, pointers_of, render_index};
pub use votes::{vote, votes, votes_by_id};
