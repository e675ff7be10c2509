//! `history`, `status` and `metrics`: what the mirrors hold and how they
//! are doing, from the manifests and attempt logs of [`crate::history`].

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
            if let Some(p) = &m.schedule {
                out.data(format!(
                    "{:<28} schedule {}: next sync {}, {} run, {} skipped",
                    "", p.schedule, p.next_run, p.runs, p.skipped
                ));
            }
            for e in &m.exposure {
                out.data(mirror_index::stdout::printable(&format!(
                    "{:<28} {} ({}) lags latest by {}",
                    "",
                    e.channel,
                    e.snapshot,
                    e.exposure.phrase()
                )));
            }
        }
    }
    if !out.json {
        for (hook, w) in crate::webhooks::queue::state(s.root()?) {
            out.data(format!(
                "webhook {hook}: {} delivered, {} queued, {} failed attempts, {} dropped{}",
                w.delivered,
                w.queued,
                w.failed_attempts,
                w.expired,
                w.last_error
                    .as_deref()
                    .map(|e| format!("; last error {e}"))
                    .unwrap_or_default()
            ));
        }
    }
    Ok(if all.iter().all(|m| m.health == Health::Ok) {
        OK
    } else {
        FAILED
    })
}

pub fn metrics(s: &Settings, output: Option<&Path>, out: Output) -> Result<u8, Failure> {
    let text =
        crate::metrics::render(&statuses(s, &[])?) + &crate::metrics::render_webhooks(s.root()?);
    match output {
        Some(p) => mirror_index::atomic::write_atomic(p, text.as_bytes())
            .map_err(|e| Failure::failed(format!("{}: {}", e.path.display(), e.source)))?,
        None => out.data(text.trim_end()),
    }
    Ok(OK)
}
