//! What happened, as a webhook tells it: the event kinds a hook subscribes
//! to, and the JSON document each delivery carries.

use std::collections::BTreeMap;

/// The kinds of event a hook may subscribe to.
pub const KINDS: &[&str] = &["snapshot", "promotion", "rollback", "failure", "health"];

/// One event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A sync made a new snapshot.
    Snapshot {
        mirror: String,
        snapshot: String,
        url: String,
        packages: u64,
        added: u64,
        removed: u64,
    },
    /// A channel moved to a set (a promotion or a vote that promoted).
    Promotion {
        channel: String,
        set: BTreeMap<String, String>,
        reason: String,
        by: String,
    },
    /// `latest` or a channel of one mirror moved back.
    Rollback {
        mirror: String,
        channel: String,
        from: Option<String>,
        to: String,
    },
    /// A sync failed.
    Failure { mirror: String, error: String },
    /// A mirror's health changed (`ok`, `stale`, `failing`).
    Health {
        mirror: String,
        from: String,
        to: String,
    },
}

impl Event {
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Snapshot { .. } => "snapshot",
            Event::Promotion { .. } => "promotion",
            Event::Rollback { .. } => "rollback",
            Event::Failure { .. } => "failure",
            Event::Health { .. } => "health",
        }
    }

    /// The mirror whose deliveries keep their order (a promotion of
    /// several mirrors orders by its first).
    pub fn mirror(&self) -> String {
        match self {
            Event::Snapshot { mirror, .. }
            | Event::Rollback { mirror, .. }
            | Event::Failure { mirror, .. }
            | Event::Health { mirror, .. } => mirror.clone(),
            Event::Promotion { set, .. } => set.keys().next().cloned().unwrap_or_default(),
        }
    }

    /// The document a delivery posts.
    pub fn body(&self, delivery: &str, time: &str) -> serde_json::Value {
        let mut v = match self {
            Event::Snapshot {
                mirror,
                snapshot,
                url,
                packages,
                added,
                removed,
            } => serde_json::json!({
                "mirror": mirror, "snapshot": snapshot, "url": url,
                "counts": {"packages": packages, "added": added, "removed": removed},
            }),
            Event::Promotion {
                channel,
                set,
                reason,
                by,
            } => serde_json::json!({
                "channel": channel, "set": set, "reason": reason, "by": by,
                "counts": {"mirrors": set.len()},
            }),
            Event::Rollback {
                mirror,
                channel,
                from,
                to,
            } => {
                serde_json::json!({"mirror": mirror, "channel": channel, "from": from, "snapshot": to})
            }
            Event::Failure { mirror, error } => {
                serde_json::json!({"mirror": mirror, "error": error})
            }
            Event::Health { mirror, from, to } => {
                serde_json::json!({"mirror": mirror, "from": from, "health": to})
            }
        };
        v["event"] = self.kind().into();
        v["delivery"] = delivery.into();
        v["time"] = time.into();
        v
    }
}
