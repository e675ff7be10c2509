//! What channels are made of: names, sets, promotions, votes, and their
//! checks (pure; nothing here touches the tree).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mirror_index::layout;
use mirror_index::{MirrorName, SnapshotName};

use crate::store::StoreError;

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

    pub(super) fn pointer(&self, mirror_dir: &Path) -> PathBuf {
        mirror_dir.join(layout::channel_pointer(&self.0))
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
    /// What it changed, per mirror: packages and advisories.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub summary: BTreeMap<String, super::summary::MirrorChange>,
}

/// Who runs this process (`$USER`), for promotions made from the command line.
pub fn current_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

pub use mirror_index::layout::wrapper_key;

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
