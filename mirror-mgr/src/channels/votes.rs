//! Votes: each CI job's result on a set, appended under the channel lock
//! and never rewritten; a set that satisfies a channel's policy
//! ([`super::policy`]) is promoted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mirror_index::atomic::write_atomic;
use mirror_index::layout::CHANNELS_DIR as STATE_DIR;

use super::journal::{lock, promote_locked, rejected};
use super::model::{Channel, ChannelError, Promotion, Set, Vote, set_id};
use super::pointers::pointers;
use super::policy::{Ballot, Verdict, verdict};
use crate::crashpoint;
use crate::store::{IoContext, Store, StoreError};

/// Votes kept for one set; more are refused (a set is voted on by a
/// handful of CI jobs and their retries, not thousands).
pub const MAX_VOTES_PER_SET: usize = 1000;

/// The votes of one set's file, oldest first (a line cut by a crash is skipped).
fn read_votes(path: &Path) -> Result<Vec<Vote>, StoreError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(t
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).at(path),
    }
}

/// Append one line to a record file and fsync it: records are never
/// rewritten. A line a crash cut short is closed first, so it spoils only
/// itself.
fn append_line(path: &Path, line: &str) -> Result<(), StoreError> {
    use std::io::{Read as _, Seek as _, Write as _};
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .at(path)?;
    let len = f.metadata().at(path)?.len();
    let mut text = String::with_capacity(line.len() + 2);
    if len > 0 {
        let mut last = [0u8; 1];
        f.seek(std::io::SeekFrom::Start(len - 1)).at(path)?;
        f.read_exact(&mut last).at(path)?;
        if last[0] != b'\n' {
            text.push('\n');
        }
    }
    text.push_str(line);
    text.push('\n');
    f.write_all(text.as_bytes()).at(path)?;
    f.sync_data().at(path)
}

fn votes_path(root: &Path, id: &str) -> PathBuf {
    root.join(STATE_DIR)
        .join("votes")
        .join(format!("{id}.jsonl"))
}

/// The votes on a set, oldest first.
pub fn votes(root: &Path, set: &Set) -> Vec<Vote> {
    votes_by_id(root, &set_id(set))
        .map(|(_, v)| v)
        .unwrap_or_default()
}

/// The set a [`set_id`] names and its votes, when anyone voted on it.
pub fn votes_by_id(root: &Path, id: &str) -> Option<(BTreeMap<String, String>, Vec<Vote>)> {
    if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let path = votes_path(root, id);
    let set = serde_json::from_slice(&std::fs::read(path.with_extension("set.json")).ok()?).ok()?;
    let votes = read_votes(&path).unwrap_or_default();
    Some((set, votes))
}

/// Record a vote (never lost: appended under the channel lock), then move
/// every channel whose policy the set now satisfies: each required job
/// passed on it, no vote on it failed, and it is not older than the
/// channel's current snapshots. Returns the promotions made.
pub fn vote(
    root: &Path,
    base_url: &str,
    set: &Set,
    v: &Vote,
    policies: &BTreeMap<String, Vec<String>>,
    by: &str,
) -> Result<Vec<Promotion>, ChannelError> {
    for (mirror, snap) in set {
        if !Store::new(root, mirror.clone()).snapshot_dir(snap).is_dir() {
            return Err(ChannelError::NoSnapshot {
                mirror: mirror.clone(),
                snapshot: snap.to_string(),
            });
        }
    }
    let _lock = lock(root)?;
    let id = set_id(set);
    let path = votes_path(root, &id);
    std::fs::create_dir_all(path.parent().expect("has a parent")).at(&path)?;
    let set_file = path.with_extension("set.json");
    if !set_file.exists() {
        let named: BTreeMap<String, String> = set
            .iter()
            .map(|(m, s)| (m.to_string(), s.to_string()))
            .collect();
        write_atomic(
            &set_file,
            serde_json::to_string_pretty(&named)
                .expect("serialisable")
                .as_bytes(),
        )?;
    }
    let mut all: Vec<Vote> = read_votes(&path)?;
    if all.len() >= MAX_VOTES_PER_SET {
        return Err(ChannelError::BadVote(format!(
            "set {id} already has {MAX_VOTES_PER_SET} votes, the most kept for one set"
        )));
    }
    append_line(&path, &serde_json::to_string(v).expect("serialisable"))?;
    crashpoint::hit("vote-recorded");
    all.push(v.clone());
    let current = pointers(root)?;
    let mut made = Vec::new();
    for (name, require) in policies {
        let channel = Channel::new(name)?;
        let ballot = Ballot {
            set,
            votes: &all,
            require,
            current: current.get(name),
            rejected: &rejected(root, &channel),
        };
        if let Verdict::Promote { reason } = verdict(&ballot, &id) {
            made.push(promote_locked(root, base_url, &channel, set, &reason, by)?);
        }
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mirror_index::{MirrorName, SnapshotName};

    #[test]
    fn votes_are_capped_per_set() {
        let root = tempfile::tempdir().unwrap();
        let snap = SnapshotName::parse("2026-11-21-00-00").unwrap();
        let mirror = MirrorName::new("a-el9").unwrap();
        std::fs::create_dir_all(root.path().join("a-el9").join(snap.as_str())).unwrap();
        let set = Set::from([(mirror, snap)]);
        let v = Vote::new("j", true, None, None).unwrap();
        let policies = BTreeMap::new();
        vote(root.path(), "http://m", &set, &v, &policies, "t").unwrap();
        let path = votes_path(root.path(), &set_id(&set));
        let line = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, line.repeat(MAX_VOTES_PER_SET)).unwrap();
        let err = vote(root.path(), "http://m", &set, &v, &policies, "t").unwrap_err();
        assert!(matches!(err, ChannelError::BadVote(_)), "{err}");
        assert_eq!(read_votes(&path).unwrap().len(), MAX_VOTES_PER_SET);
    }
}
