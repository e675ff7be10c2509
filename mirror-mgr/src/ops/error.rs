//! One classification of what went wrong, for every door: the command
//! line's exit code and the API's HTTP status are both read from a
//! [`Kind`], and the README's table is [`table`]'s output (a test keeps
//! them equal).

use crate::channels::ChannelError;
use crate::config::ConfigError;
use crate::lifecycle::LifecycleError;
use crate::publish::PublishError;
use crate::store::StoreError;
use crate::sync::SyncError;

/// What went wrong, whichever door asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Bad input: arguments, a body, a config key, a name's syntax.
    Usage,
    /// A mirror, snapshot, channel or job that does not exist.
    NotFound,
    /// Another process holds the mirror's lock.
    Locked,
    /// The tree's state refuses it (nothing older to roll back to, no latest).
    Conflict,
    /// A snapshot is incomplete or damaged; nothing points at it.
    Damaged,
    /// The upstream failed: network, HTTP, metadata, signatures.
    Upstream,
    /// The publish target (the bucket) failed; the local tree is done.
    Bucket,
    /// Anything else: disk, permissions, a bug.
    Internal,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Usage,
        Kind::NotFound,
        Kind::Locked,
        Kind::Conflict,
        Kind::Damaged,
        Kind::Upstream,
        Kind::Bucket,
        Kind::Internal,
    ];

    /// The command line's exit code (see [`crate::cli::exit`]).
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Usage | Kind::NotFound => 2,
            Kind::Locked => 3,
            Kind::Conflict | Kind::Damaged | Kind::Upstream | Kind::Bucket | Kind::Internal => 1,
        }
    }

    /// The API's status code.
    pub fn http_status(self) -> u16 {
        match self {
            Kind::Usage => 400,
            Kind::NotFound => 404,
            Kind::Locked | Kind::Conflict | Kind::Damaged => 409,
            Kind::Upstream | Kind::Bucket => 502,
            Kind::Internal => 500,
        }
    }

    /// The name the API's error body carries (`"kind"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Usage => "usage",
            Kind::NotFound => "not_found",
            Kind::Locked => "locked",
            Kind::Conflict => "conflict",
            Kind::Damaged => "damaged",
            Kind::Upstream => "upstream",
            Kind::Bucket => "bucket",
            Kind::Internal => "internal",
        }
    }

    #[cfg(test)]
    fn meaning(self) -> &'static str {
        match self {
            Kind::Usage => "bad arguments, body, config key or name",
            Kind::NotFound => "no such mirror, snapshot, channel or job",
            Kind::Locked => "another process holds the mirror's lock (`--wait` queues)",
            Kind::Conflict => "the tree's state refuses it (nothing older, no latest)",
            Kind::Damaged => "the snapshot is incomplete or damaged; nothing moved",
            Kind::Upstream => "the upstream failed (network, HTTP, metadata, signature)",
            Kind::Bucket => "the publish target failed; the local change is made",
            Kind::Internal => "disk, permissions, anything else",
        }
    }
}

/// The README's table: kind, exit code, HTTP status, meaning.
#[cfg(test)]
pub fn table() -> String {
    use std::fmt::Write as _;
    let mut t = String::from("| kind | exit code | HTTP status | meaning |\n|---|---|---|---|\n");
    for k in Kind::ALL {
        let _ = writeln!(
            t,
            "| `{}` | {} | {} | {} |",
            k.as_str(),
            k.exit_code(),
            k.http_status(),
            k.meaning()
        );
    }
    t
}

/// A failed operation: its kind and the whole message (cause chain).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct OpError {
    pub kind: Kind,
    pub message: String,
}

impl OpError {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, message)
    }

    /// Any error, classified, with its cause chain as the message.
    pub fn of(err: &(dyn std::error::Error + 'static)) -> Self {
        Self::new(classify(err), mirror_index::error_chain(err))
    }
}

impl serde::Serialize for OpError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("error", &self.message)?;
        m.serialize_entry("kind", self.kind.as_str())?;
        m.end()
    }
}

/// A store error behind a transparent wrapper (which hides it from
/// `source()`).
fn store_of<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a StoreError> {
    e.downcast_ref::<StoreError>()
        .or_else(|| match e.downcast_ref::<LifecycleError>() {
            Some(LifecycleError::Store(s)) => Some(s),
            _ => None,
        })
        .or_else(|| match e.downcast_ref::<SyncError>() {
            Some(SyncError::Store(s)) => Some(s),
            _ => None,
        })
        .or_else(|| match e.downcast_ref::<ChannelError>() {
            Some(ChannelError::Store(s)) => Some(s),
            _ => None,
        })
        .or_else(|| match e.downcast_ref::<PublishError>() {
            Some(PublishError::Store(s)) => Some(s),
            _ => None,
        })
}

/// The kind of one error (not its causes), when it says.
fn kind_of(e: &(dyn std::error::Error + 'static)) -> Option<Kind> {
    if let Some(op) = e.downcast_ref::<OpError>() {
        return Some(op.kind);
    }
    if let Some(s) = store_of(e) {
        return match s {
            StoreError::Locked { .. } => Some(Kind::Locked),
            StoreError::NoSuchSnapshot { .. } => Some(Kind::NotFound),
            _ => None,
        };
    }
    if let Some(l) = e.downcast_ref::<LifecycleError>() {
        return Some(match l {
            LifecycleError::NoMirror { .. } | LifecycleError::NoSuchSnapshot { .. } => {
                Kind::NotFound
            }
            LifecycleError::NothingOlder { .. } | LifecycleError::NoLatest { .. } => Kind::Conflict,
            LifecycleError::Damaged { .. } => Kind::Damaged,
            LifecycleError::Store(_) => return None,
        });
    }
    if let Some(c) = e.downcast_ref::<ChannelError>() {
        return Some(match c {
            ChannelError::BadName(_)
            | ChannelError::Latest
            | ChannelError::Set(_)
            | ChannelError::BadVote(_)
            | ChannelError::BadReason(_) => Kind::Usage,
            ChannelError::NoSnapshot { .. } | ChannelError::NotOnChannel { .. } => Kind::NotFound,
            ChannelError::Damaged { .. } => Kind::Damaged,
            ChannelError::NothingOlder { .. } => Kind::Conflict,
            ChannelError::Store(_) => return None,
        });
    }
    if let Some(s) = e.downcast_ref::<SyncError>() {
        return match s {
            SyncError::Config { .. } => Some(Kind::Usage),
            SyncError::Store(_) | SyncError::Client(_) => None,
            _ => Some(Kind::Upstream),
        };
    }
    if let Some(b) = e.downcast_ref::<crate::bundle::BundleError>() {
        return match b {
            crate::bundle::BundleError::Usage(_) | crate::bundle::BundleError::Sign(_) => {
                Some(Kind::Usage)
            }
            crate::bundle::BundleError::Refused(_) => Some(Kind::Damaged),
            crate::bundle::BundleError::Io { .. } | crate::bundle::BundleError::Store(_) => None,
        };
    }
    if let Some(p) = e.downcast_ref::<PublishError>() {
        return match p {
            PublishError::Config(_) => Some(Kind::Usage),
            PublishError::Bucket { .. } | PublishError::Contended { .. } => Some(Kind::Bucket),
            PublishError::Store(_) | PublishError::Io { .. } => None,
        };
    }
    if e.downcast_ref::<ConfigError>().is_some()
        || e.downcast_ref::<mirror_index::layout::NameError>()
            .is_some()
    {
        return Some(Kind::Usage);
    }
    None
}

/// The kind of an error: the first in its cause chain that says.
pub fn classify(err: &(dyn std::error::Error + 'static)) -> Kind {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(k) = kind_of(e) {
            return k;
        }
        cur = e.source();
    }
    Kind::Internal
}

#[cfg(test)]
mod tests {
    use super::*;
    use mirror_index::MirrorName;

    fn m() -> MirrorName {
        MirrorName::new("m").unwrap()
    }

    #[test]
    fn one_kind_per_error_whatever_wraps_it() {
        let locked = StoreError::Locked { mirror: m() };
        assert_eq!(classify(&locked), Kind::Locked);
        assert_eq!(classify(&LifecycleError::Store(locked)), Kind::Locked);
        let locked = StoreError::Locked { mirror: m() };
        assert_eq!(classify(&ChannelError::Store(locked)), Kind::Locked);
        let damaged = LifecycleError::Damaged {
            mirror: m(),
            name: "x".into(),
            problems: vec![],
        };
        assert_eq!(classify(&damaged), Kind::Damaged);
        assert_eq!(
            classify(&ChannelError::Damaged {
                mirror: m(),
                snapshot: mirror_index::SnapshotName::parse("2026-01-01-00-00").unwrap(),
                problems: vec![],
            }),
            Kind::Damaged
        );
        let unknown = LifecycleError::NoSuchSnapshot {
            mirror: m(),
            name: "x".into(),
            available: vec![],
        };
        assert_eq!(classify(&unknown), Kind::NotFound);
        assert_eq!(
            classify(&ChannelError::NoSnapshot {
                mirror: m(),
                snapshot: "x".into()
            }),
            Kind::NotFound
        );
        assert_eq!(classify(&ChannelError::Latest), Kind::Usage);
        let older = LifecycleError::NothingOlder {
            mirror: m(),
            latest: "2026-01-01-00-00".into(),
        };
        assert_eq!(classify(&older), Kind::Conflict);
        assert_eq!(
            classify(&SyncError::NoUpstream {
                mirror: "m".into(),
                errors: vec![]
            }),
            Kind::Upstream
        );
        assert_eq!(
            classify(&PublishError::Contended {
                key: "k".into(),
                tries: 3
            }),
            Kind::Bucket
        );
        assert_eq!(classify(&std::io::Error::other("disk")), Kind::Internal);
        assert_eq!(classify(&OpError::usage("x")), Kind::Usage);
    }

    #[test]
    fn codes_and_statuses() {
        assert_eq!(Kind::Damaged.exit_code(), 1);
        assert_eq!(Kind::Damaged.http_status(), 409);
        assert_eq!(Kind::Locked.exit_code(), 3);
        assert_eq!(Kind::NotFound.http_status(), 404);
        assert_eq!(Kind::Bucket.http_status(), 502);
    }

    /// The README shows this very table.
    #[test]
    fn the_readme_has_the_table() {
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
        assert!(
            readme.contains(&table()),
            "README.md lacks the error table; paste:\n{}",
            table()
        );
    }
}
