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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mirror_index::atomic::write_atomic;
use mirror_index::layout;
use mirror_index::{MirrorName, SnapshotName};

use crate::crashpoint;
use crate::store::{IoContext, Store, StoreError};

use mirror_index::layout::CHANNELS_DIR as STATE_DIR;
use mirror_index::layout::CHANNELS_LOCK as LOCK_FILE;

/// A channel's name: lowercase letters, digits and `-`, none the tree
/// already uses ([`layout::check_channel`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Channel(String);

impl Channel {
    pub fn new(s: &str) -> Result<Self, ChannelError> {
        if s == "latest" {
            return Err(ChannelError::Latest);
        }
        layout::check_channel(s).map_err(ChannelError::BadName)?;
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn pointer(&self, mirror_dir: &Path) -> PathBuf {
        mirror_dir.join(layout::channel_pointer(&self.0))
    }

    /// The key that wraps this channel's index (`tested_ci_repos`).
    pub fn wrapper_key(&self) -> String {
        wrapper_key(&self.0)
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<mirror_index::atomic::AtomicWriteError> for ChannelError {
    fn from(e: mirror_index::atomic::AtomicWriteError) -> Self {
        Self::Store(e.into())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    BadName(mirror_index::layout::NameError),
    #[error("`latest` moves with every sync; promote to another channel")]
    Latest,
    #[error("mirror {mirror} has no snapshot {snapshot}")]
    NoSnapshot {
        mirror: MirrorName,
        snapshot: String,
    },
    #[error("snapshot {snapshot} of {mirror} does not verify, refusing to promote it: {}", problems.join("; "))]
    Damaged {
        mirror: MirrorName,
        snapshot: SnapshotName,
        problems: Vec<String>,
    },
    #[error("{0}")]
    Set(String),
    #[error("invalid vote: {0}")]
    BadVote(String),
    #[error("channel {channel} names no snapshot of {mirror}; name the snapshot to roll back to")]
    NotOnChannel { channel: String, mirror: MirrorName },
    #[error("{mirror} has no snapshot older than {current}")]
    NothingOlder { mirror: MirrorName, current: String },
    #[error("invalid reason: {0}")]
    BadReason(String),
}

/// Longest reason a promotion keeps.
const MAX_REASON: usize = 1024;

/// A promotion's reason, checked like a vote's fields: printable, bounded.
pub fn check_reason(reason: &str) -> Result<&str, ChannelError> {
    if reason.len() > MAX_REASON || reason.chars().any(char::is_control) {
        return Err(ChannelError::BadReason(format!(
            "at most {MAX_REASON} bytes of printable text"
        )));
    }
    Ok(reason)
}

/// A set of snapshots, one per mirror (what a CI job used).
pub type Set = BTreeMap<MirrorName, SnapshotName>;

/// Read a frozen map (`mirror-client freeze`: YAML or JSON, name -> URL)
/// into a set: each URL must be `<base_url>/<name>/<snapshot>`.
pub fn set_from_frozen(text: &str, base_url: &str) -> Result<Set, ChannelError> {
    mirror_index::nesting::check(text, mirror_index::nesting::MAX_DEPTH)
        .map_err(|e| ChannelError::Set(e.to_string()))?;
    let value: serde_yaml::Value = serde_yaml::from_str(text)
        .map_err(|e| ChannelError::Set(format!("not YAML or JSON: {e}")))?;
    let serde_yaml::Value::Mapping(map) = value else {
        return Err(ChannelError::Set(
            "expected a mapping of mirror names to snapshot URLs".into(),
        ));
    };
    let mut set = Set::new();
    for (k, v) in map {
        let (Some(name), Some(url)) = (k.as_str(), v.as_str()) else {
            continue; // before:<id> lists and the like are not snapshots
        };
        if name.contains(':') {
            continue;
        }
        let (mirror, snap) = snapshot_url(name, url, base_url)?;
        set.insert(mirror, snap);
    }
    if set.is_empty() {
        return Err(ChannelError::Set("the set names no snapshot".into()));
    }
    Ok(set)
}

/// The mirror and snapshot a URL `<base_url>/<mirror>/<snapshot>` names
/// (`name` is the map key it came under, for errors).
pub fn snapshot_url(
    name: &str,
    url: &str,
    base_url: &str,
) -> Result<(MirrorName, SnapshotName), ChannelError> {
    let base = base_url.trim_end_matches('/');
    let rest = url
        .trim_end_matches('/')
        .strip_prefix(base)
        .and_then(|r| r.strip_prefix('/'))
        .ok_or_else(|| ChannelError::Set(format!("{name}: {url} is not under {base}")))?;
    let (m, s) = rest
        .split_once('/')
        .ok_or_else(|| ChannelError::Set(format!("{name}: {url} does not name a snapshot")))?;
    let mirror = MirrorName::new(m).map_err(|e| ChannelError::Set(format!("{name}: {e}")))?;
    let snap = SnapshotName::parse(s).map_err(|e| ChannelError::Set(format!("{name}: {e}")))?;
    Ok((mirror, snap))
}

/// A set given as `{mirror: snapshot name or snapshot URL}` (the API's form).
pub fn set_from_map(map: &BTreeMap<String, String>, base_url: &str) -> Result<Set, ChannelError> {
    let mut set = Set::new();
    for (name, value) in map {
        let mirror =
            MirrorName::new(name).map_err(|e| ChannelError::Set(format!("{name}: {e}")))?;
        let snap = if let Ok(s) = SnapshotName::parse(value) {
            s
        } else {
            let (m, s) = snapshot_url(name, value, base_url)?;
            if m != mirror {
                return Err(ChannelError::Set(format!(
                    "{name}: {value} is a snapshot of {m}"
                )));
            }
            s
        };
        set.insert(mirror, snap);
    }
    if set.is_empty() {
        return Err(ChannelError::Set("the set names no snapshot".into()));
    }
    Ok(set)
}

/// One recorded promotion.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Promotion {
    pub time: String,
    pub channel: String,
    /// mirror -> snapshot it now names.
    pub set: BTreeMap<String, String>,
    /// Why: the command line's `--reason`, or the votes that caused it.
    pub reason: String,
    /// Who: the user that ran the command (`$USER`).
    #[serde(default)]
    pub by: String,
}

/// Every channel pointer under `root`: channel -> mirror -> snapshot.
pub fn pointers(root: &Path) -> Result<BTreeMap<String, BTreeMap<String, String>>, StoreError> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for mirror in layout::list_mirrors(root).at(root)? {
        for (ch, s) in pointers_of(&mirror.dir(root))? {
            out.entry(ch).or_default().insert(mirror.to_string(), s);
        }
    }
    Ok(out)
}

fn read_pointer(path: &Path) -> Result<Option<SnapshotName>, StoreError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(layout::parse_latest(&t).ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).at(path),
    }
}

/// The channel pointers of the mirror in `mirror_dir`: channel -> snapshot.
pub fn pointers_of(mirror_dir: &Path) -> Result<BTreeMap<String, String>, StoreError> {
    let mut out = BTreeMap::new();
    for f in std::fs::read_dir(mirror_dir).at(mirror_dir)? {
        let f = f.at(mirror_dir)?;
        let name = f.file_name().to_string_lossy().into_owned();
        if let Some(ch) = layout::channel_of_pointer(&name)
            && let Some(s) = read_pointer(&f.path())?
        {
            out.insert(ch.to_owned(), s.to_string());
        }
    }
    Ok(out)
}

/// The channels that point at `snapshot` of the mirror in `mirror_dir`.
pub fn channels_at(mirror_dir: &Path, snapshot: &SnapshotName) -> Vec<String> {
    pointers_of(mirror_dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, s)| s == snapshot.as_str())
        .map(|(ch, _)| ch)
        .collect()
}

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

/// Who runs this process (`$USER`), for promotions made from the command line.
pub fn current_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into())
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

fn promote_locked(
    root: &Path,
    base_url: &str,
    channel: &Channel,
    set: &Set,
    reason: &str,
    by: &str,
) -> Result<Promotion, ChannelError> {
    finish_pending(root, base_url, channel)?;
    for (mirror, snap) in set {
        let store = Store::new(root, mirror.clone());
        let dir = store.snapshot_dir(snap);
        if !dir.is_dir() {
            return Err(ChannelError::NoSnapshot {
                mirror: mirror.clone(),
                snapshot: snap.to_string(),
            });
        }
        let problems = crate::lifecycle::check_snapshot(&dir, false)?;
        if !problems.is_empty() {
            return Err(ChannelError::Damaged {
                mirror: mirror.clone(),
                snapshot: snap.clone(),
                problems,
            });
        }
    }
    let record = Promotion {
        time: jiff::Timestamp::now().to_string(),
        channel: channel.to_string(),
        set: set
            .iter()
            .map(|(m, s)| (m.to_string(), s.to_string()))
            .collect(),
        reason: reason.to_owned(),
        by: by.to_owned(),
    };
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

/// The key a channel's index wraps its map in: `latest_ci_repos`,
/// `tested_ci_repos`, ...
pub fn wrapper_key(channel: &str) -> String {
    format!("{channel}_ci_repos")
}

/// A channel index's JSON and YAML: `{key: {mirror: url}}`.
pub fn render_index(key: &str, map: &BTreeMap<String, String>) -> (String, String) {
    let json = serde_json::to_string_pretty(&serde_json::json!({ key: map }))
        .expect("serialisable")
        + "\n";
    let yaml = serde_yaml::to_string(&BTreeMap::from([(key, map)])).expect("serialisable");
    (json, yaml)
}

/// `all_<channel>.json` / `.yaml` from every mirror's `<channel>.txt`.
pub fn write_channel_index(
    root: &Path,
    base_url: &str,
    channel: &Channel,
) -> Result<(), StoreError> {
    let all = pointers(root)?;
    let map: BTreeMap<String, String> = all
        .get(channel.as_str())
        .map(|m| {
            m.iter()
                .filter_map(|(mirror, snap)| {
                    let name = MirrorName::new(mirror).ok()?;
                    let s = SnapshotName::parse(snap).ok()?;
                    Some((
                        mirror.clone(),
                        mirror_index::all_latest::snapshot_url(base_url, &name, &s),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let (json, yaml) = render_index(&channel.wrapper_key(), &map);
    write_atomic(&root.join(format!("all_{channel}.yaml")), yaml.as_bytes())?;
    // The JSON is what clients read: it goes last, in one rename.
    write_atomic(&root.join(format!("all_{channel}.json")), json.as_bytes())?;
    Ok(())
}

/// One vote of a CI job on a set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Vote {
    pub time: String,
    pub job: String,
    pub pass: bool,
    pub url: Option<String>,
    pub notes: Option<String>,
}

/// Longest job name, log URL and notes a vote keeps.
const MAX_JOB: usize = 200;
const MAX_URL: usize = 2048;
const MAX_NOTES: usize = 4096;

impl Vote {
    /// A vote made now, its fields checked before anything is recorded: the
    /// job a printable name, the URL http(s) with any password in it masked
    /// (votes are shown to everyone who can read the tree), every field
    /// bounded in size.
    pub fn new(
        job: &str,
        pass: bool,
        url: Option<&str>,
        notes: Option<&str>,
    ) -> Result<Vote, ChannelError> {
        let bad = |m: String| Err(ChannelError::BadVote(m));
        if job.is_empty() || job.len() > MAX_JOB || job.chars().any(char::is_control) {
            return bad(format!("--job must be 1 to {MAX_JOB} printable characters"));
        }
        let url = match url {
            None => None,
            Some(u) if u.len() > MAX_URL => {
                return bad(format!("--url is longer than {MAX_URL} bytes"));
            }
            Some(u) => match url::Url::parse(u) {
                Ok(p) if matches!(p.scheme(), "http" | "https") => Some(mirror_http::redact(u)),
                _ => {
                    return bad(format!(
                        "--url {:?} is not an http(s) URL",
                        mirror_http::redact(u)
                    ));
                }
            },
        };
        if notes.is_some_and(|n| n.len() > MAX_NOTES) {
            return bad(format!("--notes is longer than {MAX_NOTES} bytes"));
        }
        Ok(Vote {
            time: jiff::Timestamp::now().to_string(),
            job: job.to_owned(),
            pass,
            url,
            notes: notes.map(str::to_owned),
        })
    }
}

/// A set's identity: the first 16 hex digits of the SHA-256 of its
/// `mirror=snapshot` lines.
pub fn set_id(set: &Set) -> String {
    let mut h = <sha2::Sha256 as sha2::Digest>::new();
    for (m, s) in set {
        sha2::Digest::update(&mut h, format!("{m}={s}\n").as_bytes());
    }
    let digest = sha2::Digest::finalize(h);
    hex::encode(&digest[..8])
}

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
    if all.iter().any(|v| !v.pass) {
        return Ok(Vec::new());
    }
    let current = pointers(root)?;
    let mut made = Vec::new();
    for (name, require) in policies {
        let channel = Channel::new(name)?;
        // A set rolled back from this channel stays off it until an admin
        // promotes it again: a late or retried CI job cannot undo a rollback.
        let rejected = rejected(root, &channel);
        if set.iter().any(|(m, s)| {
            rejected
                .get(m.as_str())
                .is_some_and(|r| r.iter().any(|x| x == s.as_str()))
        }) {
            continue;
        }
        let passed = require
            .iter()
            .all(|job| all.iter().any(|v| v.pass && &v.job == job));
        let now = current.get(name);
        let here = |m: &MirrorName| now.and_then(|c| c.get(m.as_str()));
        let older = set
            .iter()
            .any(|(m, s)| here(m).is_some_and(|cur| s.as_str() < cur.as_str()));
        let already = set
            .iter()
            .all(|(m, s)| here(m).is_some_and(|cur| cur == s.as_str()));
        if passed && !older && !already {
            let reason = format!(
                "votes on set {id}: {}",
                require
                    .iter()
                    .map(|j| format!("{j} passed"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            made.push(promote_locked(root, base_url, &channel, set, &reason, by)?);
        }
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn votes_are_checked_and_masked() {
        let v = Vote::new(
            "rdo-ci",
            true,
            Some("https://ci:s3cret@ci.example/job/1"),
            Some("ok"),
        )
        .unwrap();
        assert_eq!(v.url.as_deref(), Some("https://ci:***@ci.example/job/1"));
        assert!(!serde_json::to_string(&v).unwrap().contains("s3cret"));
        for (job, url, notes, want) in [
            ("", None, None, "--job"),
            ("a\nb", None, None, "--job"),
            ("j", Some("file:///etc/passwd"), None, "not an http(s) URL"),
            ("j", Some("javascript:alert(1)"), None, "not an http(s) URL"),
            ("j", Some("ftp://u:pw@h/x"), None, "u:***@h"),
            ("j", None, Some(&*"x".repeat(MAX_NOTES + 1)), "--notes"),
        ] {
            let e = Vote::new(job, false, url, notes).unwrap_err().to_string();
            assert!(e.contains(want), "{job:?} {url:?}: {e}");
            assert!(!e.contains(":pw@"), "{e}");
        }
        let long = "x".repeat(MAX_JOB + 1);
        assert!(Vote::new(&long, true, None, None).is_err());
    }

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

    #[test]
    fn names_and_sets() {
        Channel::new("tested").unwrap();
        Channel::new("stable-2").unwrap();
        for bad in [
            "",
            "Tested",
            "a b",
            "-x",
            "../x",
            "a.b",
            "snapshots",
            "base",
        ] {
            assert!(
                matches!(Channel::new(bad), Err(ChannelError::BadName(_))),
                "{bad}"
            );
        }
        assert!(matches!(Channel::new("latest"), Err(ChannelError::Latest)));
        let set = set_from_frozen(
            "a-el9: http://m/yum/a-el9/2026-11-21-09-30\nb-el9: http://m/yum/b-el9/2026-11-21-09-31/\nbefore:x: [[i, http://m/i]]\n",
            "http://m/yum/",
        )
        .unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(
            set[&MirrorName::new("b-el9").unwrap()].as_str(),
            "2026-11-21-09-31"
        );
        let err = set_from_frozen("a: http://elsewhere/a/2026-11-21-09-30\n", "http://m/yum")
            .unwrap_err();
        assert!(err.to_string().contains("not under http://m/yum"), "{err}");
    }
}
