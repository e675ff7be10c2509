//! `all_snapshots.json`: every snapshot of every mirror, for time travel
//! (`mirror-client --at`), written beside `all_latest.json` in the tree
//! and in a bucket:
//!
//! ```json
//! {"snapshots": {"<mirror>": [{"name": "<snapshot>", "url": "..."}, ...oldest first]},
//!  "keys": {"<mirror>": "<url of its RPM-GPG-KEY-mirror>"}}
//! ```
//!
//! `keys` lists the mirrors that sign regenerated metadata with their own key.

use std::collections::BTreeMap;

/// One snapshot of a mirror.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    pub name: String,
    pub url: String,
}

/// The whole document.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AllSnapshots {
    pub snapshots: BTreeMap<String, Vec<Entry>>,
    #[serde(default)]
    pub keys: BTreeMap<String, String>,
}

impl AllSnapshots {
    /// Pretty JSON with a final newline (stable: maps are sorted).
    pub fn render(&self) -> String {
        serde_json::to_string_pretty(self).expect("serialisable") + "\n"
    }
}

/// Read a document; the error says why it is not one.
pub fn parse(bytes: &[u8]) -> Result<AllSnapshots, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("is not an all_snapshots.json ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let mut d = AllSnapshots::default();
        d.snapshots.insert(
            "a".into(),
            vec![Entry {
                name: "2026-01-01-00-00".into(),
                url: "http://m/a/2026-01-01-00-00".into(),
            }],
        );
        d.keys
            .insert("a".into(), "http://m/a/RPM-GPG-KEY-mirror".into());
        assert_eq!(parse(d.render().as_bytes()).unwrap(), d);
        assert!(parse(b"{\"snapshots\": 1}").is_err());
        assert!(parse(b"not json").is_err());
        // Older documents without keys still read.
        assert!(parse(b"{\"snapshots\": {}}").unwrap().keys.is_empty());
    }
}
