//! `mirror-mgr diff NAME A B`: packages added, removed, upgraded and
//! downgraded between two snapshots (or `latest`, `base`, a channel), and
//! the advisories added, removed, updated and newly applicable.

use std::fmt::Write as _;

use crate::advisories::Summary;
use crate::cli::exit::{Failure, OK};
use crate::cli::output::Output;
use crate::cli::settings::{self, Settings};

pub fn run(s: &Settings, name: &str, from: &str, to: &str, out: Output) -> Result<u8, Failure> {
    let root = s.root()?;
    let mirror = settings::mirror_name(name)?;
    let sd = crate::ops::reads::diff(root, &mirror, from, to)?;
    if out.json {
        out.json(&sd);
        return Ok(OK);
    }
    let d = &sd.packages;
    // Names come from upstream: no control character reaches the terminal.
    let show = |s: String| mirror_index::stdout::printable(&s).into_owned();
    for p in &d.added {
        out.data(show(format!("+ {p}")));
    }
    for p in &d.removed {
        out.data(show(format!("- {p}")));
    }
    for c in &d.upgraded {
        out.data(show(format!(
            "^ {}.{} {} -> {}",
            c.name, c.arch, c.from, c.to
        )));
    }
    for c in &d.downgraded {
        out.data(show(format!(
            "v {}.{} {} -> {}",
            c.name, c.arch, c.from, c.to
        )));
    }
    let a = &sd.advisories;
    for (mark, list) in [
        ("A+", &a.added),
        ("A-", &a.removed),
        ("A~", &a.updated),
        ("A!", &a.newly_applicable),
    ] {
        for adv in list {
            out.data(show(format!("{mark} {}", advisory_line(adv))));
        }
    }
    if !out.quiet {
        eprintln!(
            "{mirror} {from} -> {to}: {} added, {} removed, {} upgraded, {} downgraded; advisories {} added, {} removed, {} updated, {} newly applicable",
            d.added.len(),
            d.removed.len(),
            d.upgraded.len(),
            d.downgraded.len(),
            a.added.len(),
            a.removed.len(),
            a.updated.len(),
            a.newly_applicable.len(),
        );
    }
    Ok(OK)
}

/// `ID type/severity CVE-1,CVE-2`: how every command names an advisory.
pub fn advisory_label(id: &str, kind: &str, severity: Option<&str>, cves: &[String]) -> String {
    let mut s = format!("{id} {kind}");
    if let Some(sev) = severity {
        s.push('/');
        s.push_str(sev);
    }
    if !cves.is_empty() {
        s.push(' ');
        s.push_str(&cves.join(","));
    }
    s
}

/// [`advisory_label`], then `(not applicable: N of its packages missing)`.
pub fn advisory_line(a: &Summary) -> String {
    let mut s = advisory_label(&a.id, &a.kind, a.severity.as_deref(), &a.cves);
    if !a.applicable {
        let _ = write!(
            s,
            " (not applicable: {} of its packages missing)",
            a.missing.len()
        );
    }
    s
}
