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
    /// Show what it would record; move nothing.
    pub dry_run: bool,
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
        for line in summary_lines(&done.value, true) {
            out.line(line);
        }
    }
    super::after::render(&done.after, out)
}

/// What a promotion changes, per mirror: a line of counts, then (with
/// `full`) each package and advisory, `+ - ^ v` and `A+ A-`.
fn summary_lines(p: &channels::Promotion, full: bool) -> Vec<String> {
    let show = |s: String| mirror_index::stdout::printable(&s).into_owned();
    let adv = |a: &channels::summary::AdvisoryRef| {
        super::diff::advisory_label(&a.id, &a.kind, a.severity.as_deref(), &a.cves)
    };
    let mut out = Vec::new();
    for (m, c) in &p.summary {
        let n = &c.counts;
        let security = c
            .gained
            .iter()
            .filter(|a| a.kind.eq_ignore_ascii_case("security"))
            .count();
        out.push(show(format!(
            "  {m} {} -> {}: packages +{} -{} ^{} v{}; advisories gained {} ({security} security), lost {}{}",
            c.from.as_deref().unwrap_or("(none)"),
            c.to,
            n.added,
            n.removed,
            n.upgraded,
            n.downgraded,
            n.gained,
            n.lost,
            c.error
                .as_ref()
                .map(|e| format!(" (incomplete: {e})"))
                .unwrap_or_default()
        )));
        if !full {
            continue;
        }
        let lists: [(&str, &Vec<String>); 4] = [
            ("+", &c.added),
            ("-", &c.removed),
            ("^", &c.upgraded),
            ("v", &c.downgraded),
        ];
        for (mark, list) in lists {
            for x in list {
                out.push(show(format!("    {mark} {x}")));
            }
        }
        for a in &c.gained {
            out.push(show(format!("    A+ {}", adv(a))));
        }
        for a in &c.lost {
            out.push(show(format!("    A- {}", adv(a))));
        }
    }
    out
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
    if target.dry_run {
        let record =
            ops::promote_preview(&s.ops()?, &channel, &set, reason, &channels::current_user())?;
        if out.json {
            out.json(&serde_json::json!({ "dry_run": true, "promotion": record }));
        } else {
            for (m, snap) in &record.set {
                out.data(format!("would move {}: {m} -> {snap}", record.channel));
            }
            for line in summary_lines(&record, true) {
                out.data(line);
            }
        }
        return Ok(OK);
    }
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
            for line in summary_lines(&p, false) {
                out.data(format!("  {line}"));
            }
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
