//! The channel verbs: promote, vote (which may promote), and a channel's
//! rollback. Each takes the channel lock (inside [`crate::channels`]),
//! then the index shows the channels, then the bucket follows.

use mirror_index::{MirrorName, SnapshotName};

use super::context::{Done, Follow, Ops};
use super::error::OpError;
use crate::channels::{self, Channel, Promotion, Set, Vote};
use crate::webhooks::Event;
use crate::webhooks::event::AdvisoryGist;

fn promotion(p: &Promotion) -> Event {
    let advisories = p
        .summary
        .iter()
        .map(|(m, c)| {
            let security = c
                .gained
                .iter()
                .filter(|a| a.kind.eq_ignore_ascii_case("security"))
                .map(|a| (a.id.as_str(), a.severity.as_deref(), a.cves.clone()));
            (m.clone(), AdvisoryGist::of(security))
        })
        .collect();
    Event::Promotion {
        channel: p.channel.clone(),
        set: p.set.clone(),
        reason: p.reason.clone(),
        by: p.by.clone(),
        advisories,
    }
}

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
    let mut after = ops.follow(&moved(&[&record]), FOLLOW);
    ops.emit(&[promotion(&record)], &mut after);
    Ok(Done {
        value: record,
        after,
    })
}

/// `promote --dry-run`: the record `promote` would write (with what it
/// changes per mirror), after the same checks; nothing moves.
pub fn promote_preview(
    ops: &Ops,
    channel: &Channel,
    set: &Set,
    reason: &str,
    by: &str,
) -> Result<Promotion, OpError> {
    let reason = channels::check_reason(reason).map_err(|e| OpError::of(&e))?;
    channels::preview(&ops.root, channel, set, reason, by).map_err(|e| OpError::of(&e))
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
    let from = channels::pointers_of(&mirror.dir(&ops.root))
        .ok()
        .and_then(|p| p.get(channel.as_str()).cloned());
    let record = channels::rollback(&ops.root, base, channel, mirror, to, by)
        .map_err(|e| OpError::of(&e))?;
    let mut after = ops.follow(&moved(&[&record]), FOLLOW);
    ops.emit(
        &[Event::Rollback {
            mirror: mirror.to_string(),
            channel: channel.to_string(),
            from,
            to: record.set.get(mirror.as_str()).cloned().unwrap_or_default(),
        }],
        &mut after,
    );
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
    let mut after = if made.is_empty() {
        super::context::After::default()
    } else {
        ops.follow(&moved(&made.iter().collect::<Vec<_>>()), FOLLOW)
    };
    ops.emit(&made.iter().map(promotion).collect::<Vec<_>>(), &mut after);
    Ok(Done {
        value: Voted {
            set_id: channels::set_id(set),
            recorded: v.clone(),
            promotions: made,
        },
        after,
    })
}
