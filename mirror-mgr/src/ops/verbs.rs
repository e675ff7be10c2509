//! The channel verbs: promote, vote (which may promote), and a channel's
//! rollback. Each takes the channel lock (inside [`crate::channels`]),
//! then the index shows the channels, then the bucket follows.

use mirror_index::{MirrorName, SnapshotName};

use super::context::{Done, Follow, Ops};
use super::error::OpError;
use crate::channels::{self, Channel, Promotion, Set, Vote};

/// The mirrors a promotion moved.
fn moved(records: &[&Promotion]) -> Vec<MirrorName> {
    let mut v: Vec<MirrorName> = records
        .iter()
        .flat_map(|r| r.set.keys())
        .filter_map(|m| MirrorName::new(m).ok())
        .collect();
    v.sort();
    v.dedup();
    v
}

const FOLLOW: Follow = Follow {
    index: true,
    bucket: true,
};

/// `promote`: point `channel` at `set` (every snapshot verified first).
pub fn promote(
    ops: &Ops,
    channel: &Channel,
    set: &Set,
    reason: &str,
    by: &str,
) -> Result<Done<Promotion>, OpError> {
    let base = ops.base_url("the channel's index holds snapshot URLs")?;
    let reason = channels::check_reason(reason).map_err(|e| OpError::of(&e))?;
    let record = channels::promote(&ops.root, base, channel, set, reason, by)
        .map_err(|e| OpError::of(&e))?;
    let after = ops.follow(&moved(&[&record]), FOLLOW);
    Ok(Done {
        value: record,
        after,
    })
}

/// `rollback --channel C NAME [--to S]`: move one mirror's pointer of a
/// channel back (default: the newest snapshot older than it names).
pub fn channel_rollback(
    ops: &Ops,
    channel: &Channel,
    mirror: &MirrorName,
    to: Option<&str>,
    by: &str,
) -> Result<Done<Promotion>, OpError> {
    let base = ops.base_url("the channel's index holds snapshot URLs")?;
    let to = to
        .map(|t| {
            SnapshotName::parse(t)
                .map_err(|_| OpError::not_found(format!("mirror {mirror} has no snapshot {t:?}")))
        })
        .transpose()?;
    let record = channels::rollback(&ops.root, base, channel, mirror, to, by)
        .map_err(|e| OpError::of(&e))?;
    let after = ops.follow(&moved(&[&record]), FOLLOW);
    Ok(Done {
        value: record,
        after,
    })
}

/// What a vote did.
#[derive(Debug, serde::Serialize)]
pub struct Voted {
    pub set_id: String,
    pub recorded: Vote,
    /// The promotions the vote completed (per the config's `channels:`).
    pub promotions: Vec<Promotion>,
}

/// `vote`: record a CI job's result on a set; promote it to every channel
/// whose required jobs have now all passed.
pub fn vote(ops: &Ops, set: &Set, v: &Vote, by: &str) -> Result<Done<Voted>, OpError> {
    let base = ops.base_url("promotions rewrite channel indexes")?;
    let made = channels::vote(&ops.root, base, set, v, &ops.config.channels, by)
        .map_err(|e| OpError::of(&e))?;
    let after = if made.is_empty() {
        super::context::After::default()
    } else {
        ops.follow(&moved(&made.iter().collect::<Vec<_>>()), FOLLOW)
    };
    Ok(Done {
        value: Voted {
            set_id: channels::set_id(set),
            recorded: v.clone(),
            promotions: made,
        },
        after,
    })
}
