//! What every snapshot holds and how each mirror is doing, kept as files
//! in the mirror's private state (written atomically, like the rest):
//!
//! - `<mirror>/.manifests/<snapshot>.json`: a [`Manifest`] written when a
//!   snapshot is published (package count, bytes, bytes new in it, changes
//!   against the previous snapshot, upstream, sync duration); computed on
//!   first need for snapshots older than this feature;
//! - `<mirror>/.attempts.jsonl`: one [`Attempt`] per sync, the newest
//!   [`MAX_ATTEMPTS`] kept, so it never grows without limit.
//!
//! [`health`] turns them into `ok` / `stale` / `failing`.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use mirror_index::SnapshotName;
use mirror_index::atomic::write_atomic;

use crate::advisories::query::{Exposure, Security};
use crate::config::HealthPolicy;
use crate::store::{IoContext, Store, StoreError};

/// How many sync attempts a mirror keeps.
pub const MAX_ATTEMPTS: usize = 1000;
use mirror_index::layout::ATTEMPTS_FILE;
use mirror_index::layout::MANIFESTS_DIR;

/// What one snapshot holds.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub snapshot: String,
    pub packages: u64,
    /// Bytes of every file of the snapshot.
    pub bytes: u64,
    /// Bytes of the files the previous snapshot did not hold (new content).
    pub unique_bytes: u64,
    pub added: u64,
    pub removed: u64,
    pub upgraded: u64,
    pub downgraded: u64,
    /// The snapshot it was compared with.
    pub previous: Option<String>,
    pub upstream: Option<String>,
    /// Seconds the sync that made it took (unknown when computed later).
    pub seconds: Option<f64>,
    /// The security advisories applicable in it (`None`: a manifest
    /// older than advisories; filled in on first need).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<Vec<Security>>,
    /// Why its advisories could not be read (its updateinfo is refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advisories_error: Option<String>,
}

/// The security advisories applicable in the snapshot at `dir` (its
/// package index given), or why they could not be read.
fn security_of(dir: &Path, pkgs: &crate::diff::Index) -> (Vec<Security>, Option<String>) {
    let security =
        |a: &mirror_repodata::updateinfo::Advisory| a.kind.eq_ignore_ascii_case("security");
    match crate::advisories::read(dir, pkgs, &security) {
        Ok(adv) => (Security::of(&adv), None),
        Err(e) => (Vec::new(), Some(mirror_index::error_chain(&e))),
    }
}

/// One sync attempt.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Attempt {
    /// RFC 3339, UTC.
    pub time: String,
    /// `new_snapshot`, `unchanged` or `failed`.
    pub status: String,
    pub seconds: f64,
    pub bytes: u64,
    pub requests: u64,
    pub snapshot: Option<String>,
    pub error: Option<String>,
}

/// A snapshot's manifest as written (none when it has none yet).
pub fn manifest_of(store: &Store, s: &SnapshotName) -> Option<Manifest> {
    serde_json::from_slice(&std::fs::read(manifest_path(store, s)).ok()?).ok()
}

fn manifest_path(store: &Store, s: &SnapshotName) -> PathBuf {
    store.dir.join(MANIFESTS_DIR).join(format!("{s}.json"))
}

/// Compute the manifest of `snapshot` against `previous` (package lists
/// through the diff reader, bytes and shared files through inodes).
pub fn compute_manifest(
    store: &Store,
    snapshot: &SnapshotName,
    previous: Option<&SnapshotName>,
    upstream: Option<String>,
    seconds: Option<f64>,
) -> Result<Manifest, StoreError> {
    let dir = store.snapshot_dir(snapshot);
    let inodes_of = |d: &Path| -> Result<HashSet<(u64, u64)>, StoreError> {
        let mut set = HashSet::new();
        for rel in crate::store::list_files(d)? {
            let p = d.join(&rel);
            let m = std::fs::metadata(&p).at(&p)?;
            set.insert((m.dev(), m.ino()));
        }
        Ok(set)
    };
    let before = match previous {
        Some(p) => inodes_of(&store.snapshot_dir(p))?,
        None => HashSet::new(),
    };
    let (mut bytes, mut unique_bytes) = (0, 0);
    for rel in crate::store::list_files(&dir)? {
        let p = dir.join(&rel);
        let m = std::fs::metadata(&p).at(&p)?;
        bytes += m.len();
        if !before.contains(&(m.dev(), m.ino())) {
            unique_bytes += m.len();
        }
    }
    let new = crate::diff::read_index(&dir)?;
    let packages = new.len() as u64;
    let (security, advisories_error) = security_of(&dir, &new);
    let d = match previous {
        Some(p) => crate::diff::diff(&crate::diff::read_index(&store.snapshot_dir(p))?, &new),
        None => crate::diff::diff(&crate::diff::Index::default(), &new),
    };
    Ok(Manifest {
        snapshot: snapshot.to_string(),
        packages,
        bytes,
        unique_bytes,
        added: d.added.len() as u64,
        removed: d.removed.len() as u64,
        upgraded: d.upgraded.len() as u64,
        downgraded: d.downgraded.len() as u64,
        previous: previous.map(ToString::to_string),
        upstream,
        seconds,
        security: Some(security),
        advisories_error,
    })
}

/// Write a snapshot's manifest.
pub fn write_manifest(store: &Store, m: &Manifest) -> Result<(), StoreError> {
    let s = SnapshotName::parse(&m.snapshot).expect("manifests name real snapshots");
    let path = manifest_path(store, &s);
    std::fs::create_dir_all(path.parent().expect("has a parent")).at(&path)?;
    let text = serde_json::to_string_pretty(m).expect("serialisable") + "\n";
    Ok(write_atomic(&path, text.as_bytes())?)
}

/// Every snapshot's manifest, oldest first, computing (and writing) those
/// missing: snapshots made before manifests existed. A snapshot whose
/// manifest cannot be computed (damaged: see `verify`) is left out.
pub fn manifests(store: &Store) -> Result<Vec<Manifest>, StoreError> {
    let snaps = store.snapshots()?;
    let mut out = Vec::with_capacity(snaps.len());
    for (i, s) in snaps.iter().enumerate() {
        let path = manifest_path(store, s);
        let read = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Manifest>(&b).ok());
        let m = if let Some(mut m) = read {
            if m.security.is_none() {
                // A manifest from before advisories were read: add them once.
                let dir = store.snapshot_dir(s);
                if let Ok(pkgs) = crate::diff::read_index(&dir) {
                    let (security, error) = security_of(&dir, &pkgs);
                    m.security = Some(security);
                    m.advisories_error = error;
                    let _ = write_manifest(store, &m);
                }
            }
            m
        } else {
            let prev = i.checked_sub(1).map(|j| &snaps[j]);
            match compute_manifest(store, s, prev, None, None) {
                Ok(m) => {
                    // A read-only tree still answers; the manifest is written when it can be.
                    let _ = write_manifest(store, &m);
                    m
                }
                Err(e) => {
                    // A damaged snapshot is verify's to report; history goes on without it.
                    tracing::warn!(
                        "{}: no manifest for {s}: {}",
                        store.name,
                        mirror_index::error_chain(&e)
                    );
                    continue;
                }
            }
        };
        out.push(m);
    }
    Ok(out)
}

/// Append an attempt, keeping the newest [`MAX_ATTEMPTS`].
pub fn record_attempt(store: &Store, a: &Attempt) -> Result<(), StoreError> {
    let mut all = attempts(store)?;
    all.push(a.clone());
    let keep = all.len().saturating_sub(MAX_ATTEMPTS);
    let text: String = all[keep..]
        .iter()
        .map(|a| serde_json::to_string(a).expect("serialisable") + "\n")
        .collect();
    std::fs::create_dir_all(&store.dir).at(&store.dir)?;
    Ok(write_atomic(
        &store.dir.join(ATTEMPTS_FILE),
        text.as_bytes(),
    )?)
}

/// Every recorded attempt, oldest first (unreadable lines are skipped).
pub fn attempts(store: &Store) -> Result<Vec<Attempt>, StoreError> {
    let path = store.dir.join(ATTEMPTS_FILE);
    match std::fs::read_to_string(&path) {
        Ok(t) => Ok(t
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).at(&path),
    }
}

/// How a mirror is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Ok,
    /// No successful sync for longer than the mirror's `stale_after`.
    Stale,
    /// Its last `failing_after` attempts failed.
    Failing,
}

/// Why the last sync of `store` failed ("time error"), when it did.
pub fn last_error(store: &Store) -> Option<String> {
    let last = attempts(store).ok()?.pop()?;
    last.error.map(|e| format!("{} {e}", last.time))
}

/// The health of a mirror given its attempts (oldest first) at `now`.
pub fn health(attempts: &[Attempt], policy: HealthPolicy, now: i64) -> Health {
    let n = policy.failing_after.max(1);
    if attempts.len() >= n
        && attempts[attempts.len() - n..]
            .iter()
            .all(|a| a.status == "failed")
    {
        return Health::Failing;
    }
    let last_ok = attempts
        .iter()
        .rev()
        .find(|a| a.status != "failed")
        .and_then(|a| a.time.parse::<jiff::Timestamp>().ok());
    match last_ok {
        Some(t) if now - t.as_second() <= policy.stale_after_secs => Health::Ok,
        Some(_) => Health::Stale,
        // Never synced successfully: failing once there are failures.
        None if attempts.is_empty() => Health::Stale,
        None => Health::Failing,
    }
}

/// An age in seconds as people read it: `12 min`, `5 h`, `3 days`.
pub fn human_age(secs: i64) -> String {
    match secs {
        s if s < 0 => "in the future".into(),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 2 * 86400 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86400),
    }
}

/// One mirror at a glance, as `status` and `metrics` show it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MirrorStatus {
    pub mirror: String,
    pub health: Health,
    pub latest: Option<String>,
    /// Seconds since the latest snapshot was made.
    pub latest_age_seconds: Option<i64>,
    pub latest_packages: Option<u64>,
    pub snapshots: usize,
    /// Bytes on disk, counting each hard-linked file once (from manifests).
    pub disk_bytes: u64,
    pub last_attempt: Option<Attempt>,
    /// RFC 3339 time of the last attempt that did not fail.
    pub last_success: Option<String>,
    /// The last failed attempt's error.
    pub last_error: Option<String>,
    pub channels: Vec<String>,
    /// What `serve`'s scheduler plans for it (`schedule:` in the config).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<crate::schedule::Planned>,
    /// For each channel: the security advisories applicable in latest and
    /// not in the channel's snapshot.
    pub exposure: Vec<ChannelExposure>,
}

/// How far one channel lags latest in security advisories.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChannelExposure {
    pub channel: String,
    pub snapshot: String,
    #[serde(flatten)]
    pub exposure: Exposure,
}

/// Each channel's exposure, from the manifests of latest and of the
/// channel's snapshot.
fn exposures(
    store: &Store,
    manifests: &[Manifest],
    latest: Option<&Manifest>,
    now: i64,
) -> Vec<ChannelExposure> {
    let Some(latest) = latest.and_then(|m| m.security.as_deref()) else {
        return Vec::new();
    };
    let pointers = crate::channels::pointers_of(&store.dir).unwrap_or_default();
    pointers
        .into_iter()
        .filter_map(|(channel, snap)| {
            let held = manifests
                .iter()
                .find(|m| m.snapshot == snap)?
                .security
                .as_deref()?;
            Some(ChannelExposure {
                exposure: crate::advisories::query::exposure(latest, held, now),
                channel,
                snapshot: snap,
            })
        })
        .collect()
}

/// Everything `status` says about one mirror. Reads manifests (computing
/// missing ones) and the attempt log; never package metadata of snapshots
/// that have manifests.
pub fn mirror_status(
    store: &Store,
    policy: HealthPolicy,
    now: i64,
) -> Result<MirrorStatus, StoreError> {
    let attempts = attempts(store)?;
    let manifests = manifests(store)?;
    let latest = store.latest().ok().flatten();
    let latest_manifest = latest
        .as_ref()
        .and_then(|l| manifests.iter().find(|m| m.snapshot == l.as_str()));
    Ok(MirrorStatus {
        mirror: store.name.to_string(),
        health: health(&attempts, policy, now),
        latest_age_seconds: latest
            .as_ref()
            .and_then(SnapshotName::timestamp)
            .map(|t| now - t.as_second()),
        latest: latest.as_ref().map(ToString::to_string),
        latest_packages: latest_manifest.map(|m| m.packages),
        snapshots: manifests.len(),
        disk_bytes: manifests.iter().map(|m| m.unique_bytes).sum(),
        last_success: attempts
            .iter()
            .rev()
            .find(|a| a.status != "failed")
            .map(|a| a.time.clone()),
        last_error: attempts
            .iter()
            .rev()
            .find(|a| a.status == "failed")
            .and_then(|a| a.error.clone()),
        last_attempt: attempts.last().cloned(),
        channels: {
            let mut c: Vec<String> = latest.iter().map(|_| "latest".to_owned()).collect();
            if let Ok(all) = crate::channels::pointers_of(&store.dir) {
                c.extend(all.into_iter().map(|(ch, snap)| format!("{ch}={snap}")));
            }
            c
        },
        schedule: store
            .dir
            .parent()
            .and_then(|root| crate::schedule::read_plan(root).remove(store.name.as_str())),
        exposure: exposures(store, &manifests, latest_manifest, now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(time: &str, status: &str) -> Attempt {
        Attempt {
            time: time.into(),
            status: status.into(),
            seconds: 1.0,
            bytes: 0,
            requests: 1,
            snapshot: None,
            error: (status == "failed").then(|| "boom".into()),
        }
    }

    #[test]
    fn health_rules() {
        let now = "2026-11-22T12:00:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second();
        let p = HealthPolicy::default();
        let ok = at("2026-11-22T11:00:00Z", "unchanged");
        let fail = at("2026-11-22T11:30:00Z", "failed");
        assert_eq!(health(std::slice::from_ref(&ok), p, now), Health::Ok);
        assert_eq!(
            health(&[ok.clone(), fail.clone(), fail.clone()], p, now),
            Health::Ok
        );
        assert_eq!(
            health(
                &[ok.clone(), fail.clone(), fail.clone(), fail.clone()],
                p,
                now
            ),
            Health::Failing
        );
        assert_eq!(
            health(&[at("2026-11-20T11:00:00Z", "new_snapshot")], p, now),
            Health::Stale
        );
        assert_eq!(health(&[], p, now), Health::Stale);
        assert_eq!(health(&[fail], p, now), Health::Failing);
    }

    #[test]
    fn attempts_are_bounded() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::new(d.path(), mirror_index::MirrorName::new("m").unwrap());
        for i in 0..(MAX_ATTEMPTS + 5) {
            let mut a = at("2026-11-22T11:00:00Z", "unchanged");
            a.requests = i as u64;
            if i % 100 == 0 {
                record_attempt(&store, &a).unwrap();
            } else {
                // Faster than one write per attempt for the test: append lines.
                let path = store.dir.join(ATTEMPTS_FILE);
                std::fs::create_dir_all(&store.dir).unwrap();
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .unwrap();
                std::io::Write::write_all(
                    &mut f,
                    (serde_json::to_string(&a).unwrap() + "\n").as_bytes(),
                )
                .unwrap();
            }
        }
        let a = at("2026-11-22T11:00:00Z", "failed");
        record_attempt(&store, &a).unwrap();
        let all = attempts(&store).unwrap();
        assert_eq!(all.len(), MAX_ATTEMPTS);
        assert_eq!(all.last().unwrap().status, "failed");
    }
}
