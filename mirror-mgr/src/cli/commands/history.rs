//! `history`, `status` and `metrics`: what the mirrors hold and how they
//! are doing, from the manifests and attempt logs of [`crate::history`].

use std::fmt::Write as _;
use std::path::Path;

use crate::cli::exit::{FAILED, Failure, OK};
use crate::cli::output::Output;
use crate::cli::settings::{self, Settings};
use crate::history::{self, Health, MirrorStatus};
use crate::report::human_bytes;
use crate::store::Store;

pub fn history(s: &Settings, name: &str, out: Output) -> Result<u8, Failure> {
    let root = s.root()?;
    let store = Store::new(root, settings::mirror_name(name)?);
    if !store.dir.is_dir() {
        return Err(Failure::from_error(
            &crate::lifecycle::LifecycleError::NoMirror {
                mirror: store.name.clone(),
                root: root.to_path_buf(),
            },
        ));
    }
    let manifests = history::manifests(&store).map_err(|e| Failure::from_error(&e))?;
    let latest = store.latest().ok().flatten().map(|l| l.to_string());
    if out.json {
        let rows: Vec<serde_json::Value> = manifests
            .iter()
            .map(|m| {
                let mut v = serde_json::to_value(m).expect("serialisable");
                v["created"] = serde_json::json!(created(&m.snapshot));
                let channels = channels_of(&store, latest.as_deref(), &m.snapshot);
                v["channels"] = serde_json::json!(channels);
                v
            })
            .collect();
        out.json(&rows);
        return Ok(OK);
    }
    out.data(format!(
        "{:<22} {:<18} {:>8} {:>6} {:>6} {:>6} {:>6} {:>11} {:>11}  channels",
        "snapshot", "created (UTC)", "packages", "+", "-", "^", "v", "size", "new"
    ));
    for m in &manifests {
        out.data(format!(
            "{:<22} {:<18} {:>8} {:>6} {:>6} {:>6} {:>6} {:>11} {:>11}  {}",
            m.snapshot,
            created(&m.snapshot).unwrap_or_default(),
            m.packages,
            m.added,
            m.removed,
            m.upgraded,
            m.downgraded,
            human_bytes(m.bytes),
            human_bytes(m.unique_bytes),
            channels_of(&store, latest.as_deref(), &m.snapshot).join(", ")
        ));
    }
    Ok(OK)
}

/// The channels (latest included) that name `snapshot`.
fn channels_of(store: &Store, latest: Option<&str>, snapshot: &str) -> Vec<String> {
    let mut out: Vec<String> = (latest == Some(snapshot))
        .then(|| "latest".to_owned())
        .into_iter()
        .collect();
    if let Ok(s) = mirror_index::SnapshotName::parse(snapshot) {
        out.extend(crate::channels::channels_at(&store.dir, &s));
    }
    out
}

/// The UTC minute a snapshot was made, from its name.
fn created(snapshot: &str) -> Option<String> {
    mirror_index::SnapshotName::parse(snapshot)
        .ok()?
        .timestamp()
        .map(|t| t.strftime("%Y-%m-%dT%H:%MZ").to_string())
}

fn statuses(s: &Settings, names: &[String]) -> Result<Vec<MirrorStatus>, Failure> {
    let root = s.root()?;
    let now = jiff::Timestamp::now().as_second();
    settings::mirrors_or_all(root, names)?
        .into_iter()
        .map(|m| {
            history::mirror_status(&Store::new(root, m.clone()), s.health_of(&m), now)
                .map_err(|e| Failure::from_error(&e))
        })
        .collect()
}

pub fn status(s: &Settings, names: &[String], out: Output) -> Result<u8, Failure> {
    let all = statuses(s, names)?;
    if out.json {
        out.json(&all);
    } else {
        out.data(format!(
            "{:<28} {:<8} {:<20} {:>9} {:>8} {:>11}  last error",
            "mirror", "health", "latest", "age", "packages", "disk"
        ));
        for m in &all {
            out.data(format!(
                "{:<28} {:<8} {:<20} {:>9} {:>8} {:>11}  {}",
                m.mirror,
                format!("{:?}", m.health).to_lowercase(),
                m.latest.as_deref().unwrap_or("-"),
                m.latest_age_seconds
                    .map_or_else(|| "-".into(), history::human_age),
                m.latest_packages
                    .map_or_else(|| "-".into(), |p| p.to_string()),
                human_bytes(m.disk_bytes),
                m.last_error
                    .as_deref()
                    .filter(|_| m.health != Health::Ok)
                    .unwrap_or("")
            ));
        }
    }
    Ok(if all.iter().all(|m| m.health == Health::Ok) {
        OK
    } else {
        FAILED
    })
}

/// A Prometheus label value: `\`, `"` and newlines escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn unix(rfc3339: &str) -> Option<i64> {
    rfc3339
        .parse::<jiff::Timestamp>()
        .ok()
        .map(jiff::Timestamp::as_second)
}

/// The Prometheus text exposition of `all`.
pub fn render_metrics(all: &[MirrorStatus]) -> String {
    let mut t = String::new();
    let mut family = |name: &str, help: &str, typ: &str, rows: Vec<(String, String)>| {
        let _ = writeln!(
            t,
            "# HELP mirror_mgr_{name} {help}\n# TYPE mirror_mgr_{name} {typ}"
        );
        for (labels, value) in rows {
            let _ = writeln!(t, "mirror_mgr_{name}{{{labels}}} {value}");
        }
    };
    let m = |s: &MirrorStatus| format!("mirror=\"{}\"", label(&s.mirror));
    family(
        "last_attempt_timestamp_seconds",
        "Unix time of the last sync attempt.",
        "gauge",
        all.iter()
            .filter_map(|s| Some((m(s), unix(&s.last_attempt.as_ref()?.time)?.to_string())))
            .collect(),
    );
    family(
        "last_success_timestamp_seconds",
        "Unix time of the last sync that did not fail.",
        "gauge",
        all.iter()
            .filter_map(|s| Some((m(s), unix(s.last_success.as_deref()?)?.to_string())))
            .collect(),
    );
    family(
        "last_sync_duration_seconds",
        "Duration of the last sync attempt.",
        "gauge",
        all.iter()
            .filter_map(|s| Some((m(s), s.last_attempt.as_ref()?.seconds.to_string())))
            .collect(),
    );
    family(
        "last_status",
        "1 for the status of the last sync attempt.",
        "gauge",
        all.iter()
            .filter_map(|s| {
                let a = s.last_attempt.as_ref()?;
                Some((
                    format!("{},status=\"{}\"", m(s), label(&a.status)),
                    "1".into(),
                ))
            })
            .collect(),
    );
    family(
        "health",
        "1 for the mirror's health: ok, stale or failing.",
        "gauge",
        all.iter()
            .map(|s| {
                (
                    format!(
                        "{},health=\"{}\"",
                        m(s),
                        format!("{:?}", s.health).to_lowercase()
                    ),
                    "1".into(),
                )
            })
            .collect(),
    );
    family(
        "snapshots",
        "Snapshots kept.",
        "gauge",
        all.iter()
            .map(|s| (m(s), s.snapshots.to_string()))
            .collect(),
    );
    family(
        "disk_bytes",
        "Bytes on disk, each hard-linked file counted once.",
        "gauge",
        all.iter()
            .map(|s| (m(s), s.disk_bytes.to_string()))
            .collect(),
    );
    family(
        "latest_packages",
        "Packages in the latest snapshot.",
        "gauge",
        all.iter()
            .filter_map(|s| Some((m(s), s.latest_packages?.to_string())))
            .collect(),
    );
    t
}

pub fn metrics(s: &Settings, output: Option<&Path>, out: Output) -> Result<u8, Failure> {
    let text = render_metrics(&statuses(s, &[])?);
    match output {
        Some(p) => mirror_index::atomic::write_atomic(p, text.as_bytes())
            .map_err(|e| Failure::failed(format!("{}: {}", e.path.display(), e.source)))?,
        None => out.data(text.trim_end()),
    }
    Ok(OK)
}
