//! The index: mirror name -> URL of its latest snapshot.
//!
//! Shapes kept from the old system because existing consumers read them:
//! `all_latest.json` is `{"latest_ci_repos": {"<name>": "<url>", ...}}` and
//! `all_latest.yaml` is the same mapping under `latest_ci_repos:`. Entries are
//! sorted by name and URLs have no trailing slash. `all_latest.html` is a
//! human-readable table of the same data.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::layout::{MirrorName, SnapshotName};

/// The key under which the index wraps its map.
pub const WRAPPER_KEY: &str = "latest_ci_repos";

/// Repo id -> snapshot URL, sorted by id.
pub type MirrorMap = BTreeMap<String, String>;

/// One mirror's line in the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub name: MirrorName,
    pub snapshot: SnapshotName,
}

/// The URL of `snapshot` of `name` under `base_url` (no trailing slash).
pub fn snapshot_url(base_url: &str, name: &MirrorName, snapshot: &SnapshotName) -> String {
    format!("{}/{name}/{snapshot}", base_url.trim_end_matches('/'))
}

/// The map the index files carry.
pub fn to_map(base_url: &str, entries: &[IndexEntry]) -> MirrorMap {
    entries
        .iter()
        .map(|e| {
            (
                e.name.to_string(),
                snapshot_url(base_url, &e.name, &e.snapshot),
            )
        })
        .collect()
}

#[derive(serde::Serialize)]
struct Wrapped<'a> {
    latest_ci_repos: &'a MirrorMap,
}

/// `all_latest.json`
pub fn render_json(map: &MirrorMap) -> String {
    let mut s = serde_json::to_string_pretty(&Wrapped {
        latest_ci_repos: map,
    })
    .expect("a map of strings always serialises");
    s.push('\n');
    s
}

/// `all_latest.yaml`
pub fn render_yaml(map: &MirrorMap) -> String {
    serde_yaml::to_string(&Wrapped {
        latest_ci_repos: map,
    })
    .expect("a map of strings always serialises")
}

/// `all_latest.html`: mirror, latest snapshot (linked) and its age at `now`.
pub fn render_html(base_url: &str, entries: &[IndexEntry], now: jiff::Timestamp) -> String {
    let mut h = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Mirrors: latest snapshots</title>\n\
         <style>body{font-family:sans-serif}td,th{padding:2px 12px;text-align:left}</style></head>\n\
         <body><h1>Mirrors: latest snapshots</h1>\n<table>\n<tr><th>mirror</th><th>latest snapshot</th><th>age</th></tr>\n",
    );
    let mut sorted: Vec<&IndexEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for e in sorted {
        let url = snapshot_url(base_url, &e.name, &e.snapshot);
        let age = e
            .snapshot
            .timestamp()
            .map_or_else(|| "?".to_owned(), |t| human_age(now, t));
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td><a href=\"{}/\">{}</a></td><td>{}</td></tr>",
            escape_html(e.name.as_str()),
            escape_html(&url),
            escape_html(e.snapshot.as_str()),
            age
        );
    }
    let _ = writeln!(
        h,
        "</table>\n<p>Generated {} UTC. Machine-readable: <a href=\"all_latest.json\">all_latest.json</a>, <a href=\"all_latest.yaml\">all_latest.yaml</a>.</p>\n</body></html>",
        now.strftime("%Y-%m-%d %H:%M")
    );
    h
}

fn human_age(now: jiff::Timestamp, then: jiff::Timestamp) -> String {
    let secs = now.as_second() - then.as_second();
    match secs {
        s if s < 0 => "in the future".to_owned(),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 2 * 86400 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86400),
    }
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<IndexEntry> {
        vec![
            IndexEntry {
                name: MirrorName::new("epel-el7").unwrap(),
                snapshot: SnapshotName::parse("2026-11-21-09-30").unwrap(),
            },
            IndexEntry {
                name: MirrorName::new("centos-base-el7").unwrap(),
                snapshot: SnapshotName::parse("2026-11-20-01-00-01").unwrap(),
            },
        ]
    }

    #[test]
    fn json_and_yaml_have_the_old_shapes() {
        let map = to_map("http://m.example/repos/yum/", &entries());
        let json: serde_json::Value = serde_json::from_str(&render_json(&map)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"latest_ci_repos": {
                "centos-base-el7": "http://m.example/repos/yum/centos-base-el7/2026-11-20-01-00-01",
                "epel-el7": "http://m.example/repos/yum/epel-el7/2026-11-21-09-30",
            }})
        );
        let yaml: serde_yaml::Value = serde_yaml::from_str(&render_yaml(&map)).unwrap();
        let inner = yaml.get("latest_ci_repos").unwrap();
        assert_eq!(
            inner.get("epel-el7").unwrap().as_str(),
            Some("http://m.example/repos/yum/epel-el7/2026-11-21-09-30")
        );
        // Sorted by name in the serialised text, too.
        let text = render_yaml(&map);
        assert!(text.find("centos-base-el7").unwrap() < text.find("epel-el7").unwrap());
    }

    #[test]
    fn html_lists_every_mirror_with_age() {
        let now: jiff::Timestamp = "2026-11-21T12:30:00Z".parse().unwrap();
        let h = render_html("http://m/<x>", &entries(), now);
        assert!(h.contains("<td>epel-el7</td>"));
        assert!(h.contains("<td>3 h</td>"), "{h}");
        assert!(h.contains("<td>35 h</td>"), "{h}");
        assert!(h.contains("http://m/&lt;x&gt;/epel-el7/2026-11-21-09-30/"));
    }
}
