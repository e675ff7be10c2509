//! What happened, as a webhook tells it: the event kinds a hook subscribes
//! to, and the JSON document each delivery carries.

use std::collections::BTreeMap;

/// The kinds of event a hook may subscribe to.
pub const KINDS: &[&str] = &["snapshot", "promotion", "rollback", "failure", "health"];

/// What an event means in advisories: the security advisories it makes
/// applicable (new in a snapshot, gained by a channel), by severity, and
/// their ids and CVEs (at most [`GIST_LISTED`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AdvisoryGist {
    pub security: usize,
    pub by_severity: BTreeMap<String, usize>,
    pub ids: Vec<String>,
    pub cves: Vec<String>,
}

/// The most ids and CVEs a gist names (the counts are whole).
pub const GIST_LISTED: usize = 50;

impl AdvisoryGist {
    /// From (id, severity, CVEs) of each security advisory.
    pub fn of<'a>(items: impl Iterator<Item = (&'a str, Option<&'a str>, Vec<String>)>) -> Self {
        let mut g = Self::default();
        for (id, severity, cves) in items {
            g.security += 1;
            *g.by_severity
                .entry(crate::advisories::severity_key(severity))
                .or_default() += 1;
            if g.ids.len() < GIST_LISTED {
                g.ids.push(id.to_owned());
            }
            for c in cves {
                if g.cves.len() < GIST_LISTED {
                    g.cves.push(c);
                }
            }
        }
        g
    }
}

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
        /// Security advisories applicable in it and not in the one before.
        advisories: AdvisoryGist,
    },
    /// A channel moved to a set (a promotion or a vote that promoted).
    Promotion {
        channel: String,
        set: BTreeMap<String, String>,
        reason: String,
        by: String,
        /// Per mirror: the security advisories the channel gains.
        advisories: BTreeMap<String, AdvisoryGist>,
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
                advisories,
            } => serde_json::json!({
                "mirror": mirror, "snapshot": snapshot, "url": url,
                "counts": {"packages": packages, "added": added, "removed": removed},
                "advisories": advisories,
            }),
            Event::Promotion {
                channel,
                set,
                reason,
                by,
                advisories,
            } => serde_json::json!({
                "channel": channel, "set": set, "reason": reason, "by": by,
                "counts": {"mirrors": set.len()},
                "advisories": advisories,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gists_count_everything_and_list_a_bounded_few() {
        let items: Vec<(String, Option<&str>, Vec<String>)> = (0..60)
            .map(|i| {
                (
                    format!("S-{i}"),
                    if i % 2 == 0 { Some("Critical") } else { None },
                    vec![format!("CVE-2026-{i:04}")],
                )
            })
            .collect();
        let g = AdvisoryGist::of(items.iter().map(|(id, s, c)| (id.as_str(), *s, c.clone())));
        assert_eq!(g.security, 60);
        assert_eq!(g.by_severity.get("critical"), Some(&30));
        assert_eq!(g.by_severity.get("unknown"), Some(&30));
        assert_eq!((g.ids.len(), g.cves.len()), (GIST_LISTED, GIST_LISTED));
        let e = Event::Promotion {
            channel: "tested".into(),
            set: BTreeMap::from([("el9".into(), "2026-12-07-10-00".into())]),
            reason: "r".into(),
            by: "ci".into(),
            advisories: BTreeMap::from([("el9".into(), g)]),
        };
        let body = e.body("d-1", "2026-12-07T10:00:00Z");
        assert_eq!(body["advisories"]["el9"]["security"], 60, "{body}");
        assert_eq!(body["advisories"]["el9"]["cves"][0], "CVE-2026-0000");
        assert_eq!(body["event"], "promotion");
    }
}
