//! Moving a channel: the lock, the journal that makes a promotion whole
//! after a crash, promotions and rollbacks, and the snapshots a rollback
//! rejected.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mirror_index::atomic::write_atomic;
use mirror_index::layout::CHANNELS_DIR as STATE_DIR;
use mirror_index::layout::CHANNELS_LOCK as LOCK_FILE;
use mirror_index::{MirrorName, SnapshotName};

use super::model::{Channel, ChannelError, Promotion, Set};
use super::pointers::{pointers_of, write_channel_index};
use crate::crashpoint;
use crate::store::{IoContext, Store, StoreError};

/// The promotions of a channel, oldest first.
pub fn promotions(root: &Path, channel: &Channel) -> Vec<Promotion> {
    std::fs::read_to_string(root.join(STATE_DIR).join(format!("{channel}.jsonl")))
        .map(|t| {
            t.lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The root's channel lock: promotions, votes, channel rollbacks and gc's
/// choice of what to remove, one at a time. Lock order: this lock first,
/// then a mirror's lock (gc); nothing holding a mirror's lock takes it.
pub(crate) fn lock(root: &Path) -> Result<std::fs::File, StoreError> {
    crate::store::lock_exclusive(&root.join(LOCK_FILE))
}

/// Did a promotion of `channel` stop half-way (its journal is still
/// there)? The next promotion finishes it.
pub fn is_pending(root: &Path, channel: &Channel) -> bool {
    root.join(STATE_DIR)
        .join(format!("{channel}.pending.json"))
        .exists()
}

/// The snapshots of `mirror` that an unfinished promotion (a journal a
/// crash left) is about to point a channel at: gc keeps them.
pub fn pending_snapshots(root: &Path, mirror: &MirrorName) -> Vec<SnapshotName> {
    let Ok(entries) = std::fs::read_dir(root.join(STATE_DIR)) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".pending.json"))
        .filter_map(|e| serde_json::from_slice::<Promotion>(&std::fs::read(e.path()).ok()?).ok())
        .filter_map(|p| SnapshotName::parse(p.set.get(mirror.as_str())?).ok())
        .collect()
}

/// Move `channel` to `set` (see the module docs). Returns the record.
/// `by` names who asked: the user running the command, or the API token.
pub fn promote(
    root: &Path,
    base_url: &str,
    channel: &Channel,
    set: &Set,
    reason: &str,
    by: &str,
) -> Result<Promotion, ChannelError> {
    let _lock = lock(root)?;
    let record = promote_locked(root, base_url, channel, set, reason, by)?;
    // Promoting a set on purpose takes it off the channel's rejected list.
    let mut r = rejected(root, channel);
    let before = r.clone();
    for (m, s) in set {
        if let Some(list) = r.get_mut(m.as_str()) {
            list.retain(|x| x != s.as_str());
        }
    }
    r.retain(|_, l| !l.is_empty());
    if r != before {
        write_rejected(root, channel, &r)?;
    }
    Ok(record)
}

/// Move `channel`'s pointer of one mirror back: to `to`, or by default to
/// the newest snapshot older than the one it names now.
pub fn rollback(
    root: &Path,
    base_url: &str,
    channel: &Channel,
    mirror: &MirrorName,
    to: Option<SnapshotName>,
    by: &str,
) -> Result<Promotion, ChannelError> {
    let _lock = lock(root)?;
    let store = Store::new(root, mirror.clone());
    let from = pointers_of(&store.dir)?
        .get(channel.as_str())
        .and_then(|s| SnapshotName::parse(s).ok());
    let target = if let Some(t) = to {
        t
    } else {
        let current = pointers_of(&store.dir)?
            .get(channel.as_str())
            .and_then(|s| SnapshotName::parse(s).ok())
            .ok_or_else(|| ChannelError::NotOnChannel {
                channel: channel.to_string(),
                mirror: mirror.clone(),
            })?;
        store
            .snapshots()?
            .into_iter()
            .rev()
            .find(|s| *s < current)
            .ok_or_else(|| ChannelError::NothingOlder {
                mirror: mirror.clone(),
                current: current.to_string(),
            })?
    };
    let reason = format!("rollback of {mirror} on {channel}");
    let record = promote_locked(
        root,
        base_url,
        channel,
        &Set::from([(mirror.clone(), target.clone())]),
        &reason,
        by,
    )?;
    // The snapshot rolled back from stays rejected for this channel: votes
    // on a set holding it no longer move the channel (promote clears it).
    if let Some(from) = from.filter(|f| *f != target) {
        let mut r = rejected(root, channel);
        let list = r.entry(mirror.to_string()).or_default();
        if !list.contains(&from.to_string()) {
            list.push(from.to_string());
        }
        write_rejected(root, channel, &r)?;
    }
    Ok(record)
}

pub(super) fn promote_locked(
    root: &Path,
    base_url: &str,
    channel: &Channel,
    set: &Set,
    reason: &str,
    by: &str,
) -> Result<Promotion, ChannelError> {
    finish_pending(root, base_url, channel)?;
    let record = checked_record(root, channel, set, reason, by)?;
    let state = root.join(STATE_DIR);
    std::fs::create_dir_all(&state).at(&state)?;
    let journal = state.join(format!("{channel}.pending.json"));
    write_atomic(
        &journal,
        serde_json::to_string(&record)
            .expect("serialisable")
            .as_bytes(),
    )
    .map_err(StoreError::from)?;
    crashpoint::hit("promote-journal-written");
    apply(root, base_url, channel, &record)?;
    Ok(record)
}

/// Every snapshot of `set` exists and verifies; the record of pointing
/// `channel` at it, with what that changes per mirror.
fn checked_record(
    root: &Path,
    channel: &Channel,
    set: &Set,
    reason: &str,
    by: &str,
) -> Result<Promotion, ChannelError> {
    for (mirror, snap) in set {
        let store = Store::new(root, mirror.clone());
        let dir = store.snapshot_dir(snap);
        if !dir.is_dir() {
            return Err(ChannelError::NoSnapshot {
                mirror: mirror.clone(),
                snapshot: snap.to_string(),
            });
        }
        let problems = crate::lifecycle::verify::check_snapshot(&dir, false)?;
        if !problems.is_empty() {
            return Err(ChannelError::Damaged {
                mirror: mirror.clone(),
                snapshot: snap.clone(),
                problems,
            });
        }
    }
    Ok(Promotion {
        time: jiff::Timestamp::now().to_string(),
        channel: channel.to_string(),
        set: set
            .iter()
            .map(|(m, s)| (m.to_string(), s.to_string()))
            .collect(),
        reason: reason.to_owned(),
        by: by.to_owned(),
        summary: super::summary::summarize(root, &current(root, channel, set)?, set),
    })
}

/// The snapshots `channel` names now for the mirrors of `set`.
fn current(root: &Path, channel: &Channel, set: &Set) -> Result<Set, StoreError> {
    let mut now = Set::new();
    for m in set.keys() {
        if let Some(s) = pointers_of(&root.join(m.as_str()))?
            .get(channel.as_str())
            .and_then(|s| SnapshotName::parse(s).ok())
        {
            now.insert(m.clone(), s);
        }
    }
    Ok(now)
}

/// `promote --dry-run`: the record a promotion of `set` would write now,
/// with every check it makes, and nothing moved or written (not even the
/// lock file: a concurrent promotion may make it stale, as any read).
pub fn preview(
    root: &Path,
    channel: &Channel,
    set: &Set,
    reason: &str,
    by: &str,
) -> Result<Promotion, ChannelError> {
    checked_record(root, channel, set, reason, by)
}

/// Pointers, then the channel's index in one rename, then the record.
fn apply(
    root: &Path,
    base_url: &str,
    channel: &Channel,
    record: &Promotion,
) -> Result<(), StoreError> {
    for (m, s) in &record.set {
        let dir = root.join(m);
        write_atomic(&channel.pointer(&dir), format!("{s}\n").as_bytes())?;
        crashpoint::hit("promote-pointer-written");
    }
    write_channel_index(root, base_url, channel)?;
    crashpoint::hit("promote-index-written");
    let log = root.join(STATE_DIR).join(format!("{channel}.jsonl"));
    let mut text = std::fs::read_to_string(&log).unwrap_or_default();
    text.push_str(&(serde_json::to_string(record).expect("serialisable") + "\n"));
    write_atomic(&log, text.as_bytes())?;
    let journal = root.join(STATE_DIR).join(format!("{channel}.pending.json"));
    std::fs::remove_file(&journal).at(&journal)
}

/// Finish a promotion a crash interrupted (its journal is still there).
fn finish_pending(root: &Path, base_url: &str, channel: &Channel) -> Result<(), StoreError> {
    let journal = root.join(STATE_DIR).join(format!("{channel}.pending.json"));
    let Ok(bytes) = std::fs::read(&journal) else {
        return Ok(());
    };
    match serde_json::from_slice::<Promotion>(&bytes) {
        Ok(record) => apply(root, base_url, channel, &record),
        // A journal that never finished being written: the promotion never began.
        Err(_) => std::fs::remove_file(&journal).at(&journal),
    }
}

fn rejected_path(root: &Path, channel: &Channel) -> PathBuf {
    root.join(STATE_DIR)
        .join(format!("{channel}.rejected.json"))
}

/// The snapshots rolled back from `channel`, per mirror: votes never move
/// the channel to them again; an explicit promotion clears them.
pub fn rejected(root: &Path, channel: &Channel) -> BTreeMap<String, Vec<String>> {
    std::fs::read(rejected_path(root, channel))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn write_rejected(
    root: &Path,
    channel: &Channel,
    r: &BTreeMap<String, Vec<String>>,
) -> Result<(), StoreError> {
    let state = root.join(STATE_DIR);
    std::fs::create_dir_all(&state).at(&state)?;
    Ok(write_atomic(
        &rejected_path(root, channel),
        (serde_json::to_string_pretty(r).expect("serialisable") + "\n").as_bytes(),
    )?)
}
