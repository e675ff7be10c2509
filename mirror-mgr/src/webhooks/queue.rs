//! The persistent queue of deliveries (`<root>/.webhooks/queue/`, one file
//! per delivery, named so that they sort in the order they were made),
//! and what `status` and `metrics` say of each hook (`state.json`).
//!
//! A delivery's file is written (atomically) before anything tries it and
//! removed only once the receiver answered 2xx: a killed process loses
//! nothing, and a delivery is sent twice only when its answer was never
//! read (receivers deduplicate by `X-Mirror-Delivery`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mirror_index::atomic::write_atomic;

/// The queue's directory, the hooks' state and the lock one deliverer holds.
const DIR: &str = ".webhooks";
const QUEUE: &str = "queue";
const STATE: &str = "state.json";
const LOCK: &str = "lock";

/// One delivery waiting to be made.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Item {
    /// Unique, and the same on every retry (`X-Mirror-Delivery`).
    pub delivery: String,
    /// The hook's URL (its credentials, if any, stay in the config).
    pub url: String,
    pub event: String,
    pub mirror: String,
    /// The exact bytes posted (the signature covers them).
    pub body: String,
    /// Unix seconds the event happened; past `webhook_retry_for` it is dropped.
    pub created: i64,
    pub attempts: u32,
    /// Unix milliseconds before which it is not tried again.
    pub next_try_ms: i64,
    pub last_error: Option<String>,
}

/// Per hook (its URL, password masked): what deliveries did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HookState {
    pub delivered: u64,
    pub failed_attempts: u64,
    /// Dropped after `webhook_retry_for` without a 2xx.
    pub expired: u64,
    pub queued: u64,
    pub last_delivered: Option<String>,
    pub last_error: Option<String>,
}

pub fn dir(root: &Path) -> PathBuf {
    root.join(DIR)
}

fn queue_dir(root: &Path) -> PathBuf {
    dir(root).join(QUEUE)
}

/// Add deliveries, in order.
pub fn push(root: &Path, items: &[Item]) -> std::io::Result<()> {
    let q = queue_dir(root);
    std::fs::create_dir_all(&q)?;
    for item in items {
        // Nanoseconds then the id: names sort in the order events happened.
        let name = format!(
            "{:020}-{}.json",
            jiff::Timestamp::now().as_nanosecond().max(0),
            item.delivery
        );
        write_atomic(
            &q.join(name),
            serde_json::to_string(item)
                .expect("serialisable")
                .as_bytes(),
        )
        .map_err(|e| e.source)?;
    }
    Ok(())
}

/// Whether nothing waits (without reading the deliveries: `serve` asks
/// twice a second).
pub fn is_empty(root: &Path) -> bool {
    std::fs::read_dir(queue_dir(root)).map_or(true, |entries| {
        !entries
            .filter_map(Result::ok)
            .any(|e| e.path().extension().is_some_and(|x| x == "json"))
    })
}

/// The queued deliveries, oldest first (a file that does not parse, as
/// a crash mid-write cannot leave one, is skipped).
pub fn list(root: &Path) -> Vec<(PathBuf, Item)> {
    let Ok(entries) = std::fs::read_dir(queue_dir(root)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let item = serde_json::from_slice(&std::fs::read(&p).ok()?).ok()?;
            Some((p, item))
        })
        .collect()
}

pub fn update(path: &Path, item: &Item) -> std::io::Result<()> {
    write_atomic(
        path,
        serde_json::to_string(item)
            .expect("serialisable")
            .as_bytes(),
    )
    .map_err(|e| e.source)
}

/// Every hook's state (empty when nothing was ever delivered).
pub fn state(root: &Path) -> BTreeMap<String, HookState> {
    std::fs::read(dir(root).join(STATE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

pub fn write_state(root: &Path, s: &BTreeMap<String, HookState>) -> std::io::Result<()> {
    write_atomic(
        &dir(root).join(STATE),
        (serde_json::to_string_pretty(s).expect("serialisable") + "\n").as_bytes(),
    )
    .map_err(|e| e.source)
}

/// The deliverer's lock, when no other process holds it.
pub fn try_lock(root: &Path) -> Option<std::fs::File> {
    std::fs::create_dir_all(dir(root)).ok()?;
    let f = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir(root).join(LOCK))
        .ok()?;
    f.try_lock().ok()?;
    Some(f)
}
