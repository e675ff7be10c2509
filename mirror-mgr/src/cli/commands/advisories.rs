//! `mirror-mgr advisories NAME [SNAPSHOT|--channel C] [--type T]
//! [--severity S] [--cve CVE...] [--all-mirrors]`: what a snapshot or a
//! channel fixes. With `--cve`, the answer to "is it fixed here?" (exit 0
//! when every CVE asked is, 1 when one is not), where it was first fixed,
//! and whether latest fixes it.

use crate::advisories::query::Filter;
use crate::cli::commands::diff::advisory_line;
use crate::cli::exit::{Failure, OK};
use crate::cli::options::AdvisoriesArgs;
use crate::cli::output::Output;
use crate::cli::settings::{self, Settings};
use crate::ops::reads::{self, At, CveAnswer, MirrorAnswer};

/// Exit code when a CVE asked about is not fixed.
const NOT_FIXED: u8 = 1;

pub fn run(s: &Settings, a: &AdvisoriesArgs, out: Output) -> Result<u8, Failure> {
    let root = s.root()?;
    let filter = Filter::parse(&a.kinds, &a.severities, &a.cves).map_err(Failure::usage)?;
    let at = match (&a.channel, &a.snapshot) {
        (Some(c), _) => {
            crate::channels::Channel::new(c).map_err(|e| Failure::from_error(&e))?;
            At::Channel(c.clone())
        }
        (None, Some(snap)) => At::Snapshot(snap.clone()),
        (None, None) => At::Snapshot("latest".into()),
    };
    let answers = if let Some(name) = &a.name {
        let m = settings::mirror_name(name)?;
        let one = reads::advisories(root, &m, &at, &filter)?;
        if out.json {
            out.json(&one);
        }
        vec![one]
    } else {
        let all = reads::advisories_all(root, &at, &filter)?;
        if out.json {
            out.json(&all);
        }
        for skipped in &all.skipped {
            if !out.quiet {
                eprintln!("skipped {skipped}");
            }
        }
        all.mirrors
    };
    if !out.json {
        for m in &answers {
            print_answer(m, filter.cves.is_empty(), out);
        }
    }
    let fixed = filter.cves.iter().all(|cve| {
        let of = |m: &MirrorAnswer| m.cves.iter().find(|c| c.cve == *cve).cloned();
        let states: Vec<CveAnswer> = answers.iter().filter_map(of).collect();
        states.iter().any(CveAnswer::fixed)
            && states.iter().all(|c| {
                c.fixed()
                    || (a.all_mirrors && c.status == "not_fixed" && c.first_fixed_in.is_none())
            })
    });
    Ok(if fixed { OK } else { NOT_FIXED })
}

fn print_answer(m: &MirrorAnswer, list: bool, out: Output) {
    let show = |s: String| mirror_index::stdout::printable(&s).into_owned();
    let snap = m.snapshot.as_deref().unwrap_or("base");
    let place = match &m.channel {
        Some(c) => format!("{} {c} (snapshot {snap})", m.mirror),
        None => format!("{} snapshot {snap}", m.mirror),
    };
    if list {
        for adv in &m.advisories {
            out.data(show(format!("{} {}", m.mirror, advisory_line(adv))));
        }
        if !out.quiet {
            let security = m.advisories.iter().filter(|a| a.is_security()).count();
            eprintln!(
                "{place}: {} advisories ({security} security)",
                m.advisories.len()
            );
        }
        return;
    }
    for c in &m.cves {
        let first = c
            .first_fixed_in
            .as_ref()
            .map(|f| format!("; first fixed in snapshot {f}"))
            .unwrap_or_default();
        let line = match c.status {
            "fixed" => format!(
                "{} is fixed in {place} by {}{first}",
                c.cve,
                c.here.fixed_by.join(", ")
            ),
            "fixed_in_latest" => {
                let l = c.latest.as_ref().expect("fixed in latest");
                format!(
                    "{} is not fixed in {place}; it is fixed in latest (snapshot {}) by {}{first}",
                    c.cve,
                    l.snapshot,
                    l.state.fixed_by.join(", ")
                )
            }
            "partial" => format!(
                "{} is listed in {place} by {}, but not all of its packages are there{first}",
                c.cve,
                c.here.partial.join(", ")
            ),
            _ if c.first_fixed_in.is_some() => {
                format!("{} is not fixed in {place}{first}", c.cve)
            }
            _ => format!(
                "{} is not fixed in {place}, nor in any snapshot of {}",
                c.cve, m.mirror
            ),
        };
        out.data(show(line));
    }
}
