//! `promote`, `rollback --channel` and `channels`: moving and showing the
//! channel pointers of [`crate::channels`].

use std::path::Path;

use mirror_index::SnapshotName;

use crate::channels::{self, Channel, Set};
use crate::cli::exit::{Failure, OK};
use crate::cli::output::Output;
use crate::cli::settings::{self, Settings};
use crate::lifecycle::LifecycleError;
use crate::ops;
use crate::store::Store;

/// What `promote` moves the channel to.
#[derive(Clone, Copy)]
pub struct Target<'a> {
    pub name: Option<&'a str>,
    pub snapshot: Option<&'a str>,
    pub set: Option<&'a Path>,
}

fn unknown_snapshot(store: &Store, name: &str) -> Failure {
    Failure::from_error(&LifecycleError::NoSuchSnapshot {
        mirror: store.name.clone(),
        name: name.to_owned(),
        available: store
            .snapshots()
            .map(|v| v.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
    })
}

fn report(done: &ops::Done<channels::Promotion>, out: Output) -> u8 {
    if out.json {
        out.json(done);
    } else {
        for (m, s) in &done.value.set {
            out.line(format!("{}: {m} -> {s}", done.value.channel));
        }
    }
    super::after::render(&done.after, out)
}

fn channel(name: &str) -> Result<Channel, Failure> {
    Channel::new(name).map_err(|e| Failure::from_error(&e))
}

pub fn promote(
    s: &Settings,
    target: Target<'_>,
    channel_name: &str,
    reason: &str,
    out: Output,
) -> Result<u8, Failure> {
    let root = s.root()?;
    let channel = channel(channel_name)?;
    let set: Set = match (target.set, target.name, target.snapshot) {
        (Some(file), None, None) => read_set(s, file)?,
        (None, Some(name), Some(snap)) => {
            let mirror = settings::mirror_name(name)?;
            let store = Store::new(root, mirror.clone());
            let snap = SnapshotName::parse(snap).map_err(|_| unknown_snapshot(&store, snap))?;
            Set::from([(mirror, snap)])
        }
        _ => return Err(Failure::usage("promote: give NAME SNAPSHOT or --set FILE")),
    };
    let done = ops::promote(&s.ops()?, &channel, &set, reason, &channels::current_user())?;
    Ok(report(&done, out))
}

/// Move a channel's pointer of one mirror back (default: to the newest
/// snapshot older than the one it names).
pub fn rollback(
    s: &Settings,
    name: &str,
    channel_name: &str,
    to: Option<&str>,
    out: Output,
) -> Result<u8, Failure> {
    let channel = channel(channel_name)?;
    let mirror = settings::mirror_name(name)?;
    if let Some(t) = to
        && SnapshotName::parse(t).is_err()
    {
        return Err(unknown_snapshot(&Store::new(s.root()?, mirror), t));
    }
    let done = ops::channel_rollback(&s.ops()?, &channel, &mirror, to, &channels::current_user())?;
    Ok(report(&done, out))
}

pub fn list(s: &Settings, name: Option<&str>, out: Output) -> Result<u8, Failure> {
    let root = s.root()?;
    let mut all = channels::pointers(root).map_err(|e| Failure::from_error(&e))?;
    if let Some(n) = name {
        for m in all.values_mut() {
            m.retain(|mirror, _| mirror == n);
        }
        all.retain(|_, m| !m.is_empty());
    }
    let recent = |ch: &str| -> Vec<channels::Promotion> {
        Channel::new(ch).map_or_else(
            |_| Vec::new(),
            |c| {
                let mut p = channels::promotions(root, &c);
                let keep = p.len().saturating_sub(10);
                p.drain(..keep);
                p
            },
        )
    };
    if out.json {
        let v: serde_json::Map<String, serde_json::Value> = all
            .iter()
            .map(|(ch, pointers)| {
                (
                    ch.clone(),
                    serde_json::json!({"pointers": pointers, "promotions": recent(ch)}),
                )
            })
            .collect();
        out.json(&v);
        return Ok(OK);
    }
    for (ch, pointers) in &all {
        out.data(format!("{ch}:"));
        for (m, snap) in pointers {
            out.data(format!("  {m:<30} {snap}"));
        }
        for p in recent(ch) {
            out.data(format!(
                "  promoted {} ({}): {} mirrors",
                p.time,
                p.reason,
                p.set.len()
            ));
        }
    }
    Ok(OK)
}

fn read_set(s: &Settings, file: &Path) -> Result<Set, Failure> {
    let base = s.base_url("a frozen set names snapshot URLs under it")?;
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", file.display())))?;
    channels::set_from_frozen(&text, base)
        .map_err(|e| Failure::usage(format!("{}: {e}", file.display())))
}

pub fn vote(s: &Settings, file: &Path, v: &channels::Vote, out: Output) -> Result<u8, Failure> {
    let set = read_set(s, file)?;
    let done = ops::vote(&s.ops()?, &set, v, &channels::current_user())?;
    if out.json {
        out.json(&done);
    } else {
        out.line(format!(
            "{} {} on set {}",
            v.job,
            if v.pass { "passed" } else { "failed" },
            done.value.set_id
        ));
        for p in &done.value.promotions {
            out.line(format!("promoted to {}: {}", p.channel, p.reason));
        }
    }
    Ok(super::after::render(&done.after, out))
}

pub fn votes(s: &Settings, file: Option<&Path>, out: Output) -> Result<u8, Failure> {
    let root = s.root()?;
    let Some(file) = file else {
        return Err(Failure::usage(
            "votes: pass --set FILE (the frozen map the jobs used)",
        ));
    };
    let set = read_set(s, file)?;
    let all = channels::votes(root, &set);
    if out.json {
        out.json(&serde_json::json!({"set": channels::set_id(&set), "votes": all}));
    } else {
        for v in &all {
            out.data(format!(
                "{} {:<24} {:<5} {}",
                v.time,
                v.job,
                if v.pass { "pass" } else { "FAIL" },
                v.url.as_deref().unwrap_or("")
            ));
        }
    }
    Ok(OK)
}
