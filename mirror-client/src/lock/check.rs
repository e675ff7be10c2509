//! `lock --check`: is every URL of a lock still served, with its size
//! (and, with `--deep`, its checksum)? Requests go out in parallel within
//! the same per-host limits as a mirror's sync.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::fetch::{Net, Problem};
use super::lockfile::{Entry, LockFile};

/// What a check found: the URLs that failed, each with why.
#[derive(Debug, Default, serde::Serialize)]
pub struct Checked {
    pub urls: usize,
    pub bytes: u64,
    /// URL -> why it is not as locked.
    pub gone: BTreeMap<String, String>,
}

/// Check every URL of `lock` once.
pub fn check(net: &Arc<Net>, lock: &LockFile, deep: bool) -> Checked {
    let mut unique: BTreeMap<&str, &Entry> = BTreeMap::new();
    for a in &lock.arches {
        for e in a.packages.iter().chain(&a.source) {
            unique.entry(e.url.as_str()).or_insert(e);
        }
    }
    let entries: Vec<Entry> = unique.values().map(|e| (*e).clone()).collect();
    let mut out = Checked {
        urls: entries.len(),
        bytes: entries.iter().map(|e| e.size).sum(),
        ..Checked::default()
    };
    let results = net.run_all(entries, move |net: Arc<Net>, e: Entry| async move {
        let r = if deep {
            net.download(&e, None).await.map(|_| ())
        } else {
            net.head(&e).await
        };
        (e.url, r)
    });
    for (url, r) in results {
        if let Err(p) = r {
            out.gone.insert(url, describe(&p));
        }
    }
    out
}

pub fn describe(p: &Problem) -> String {
    p.to_string()
}
