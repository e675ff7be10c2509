//! The status page, static HTML written by `index`: `<root>/index.html`
//! (every mirror with health, latest and its age), `<root>/<name>/index.html`
//! (its snapshots with counts, sizes and changes, a plot of packages and
//! bytes over time as inline SVG, its last failed attempts), and
//! `<root>/<name>/diff-<snapshot>.html` (what changed against the previous
//! snapshot; a plain file, so a mirror's only directories stay `base/` and
//! its snapshots). No JavaScript, no external assets; every link is
//! relative; everything that comes from upstream or config is escaped.

use std::fmt::Write as _;
use std::path::Path;

use mirror_index::SnapshotName;

use crate::history::{Attempt, Health, Manifest, MirrorStatus};
use crate::report::human_bytes;
use crate::snapshot_diff::SnapshotDiff;
use crate::store::{IoContext, Store, StoreError};

/// Where older versions wrote diff pages (`<name>/diffs/`), a directory the
/// tree's contract does not allow: removed when the pages are written.
const OLD_DIFFS_DIR: &str = "diffs";

/// `&`, `<`, `>`, `"` and `'` escaped.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{t}</title><style>\
body{{font-family:system-ui,sans-serif;margin:1em auto;max-width:72em;padding:0 1em;color:#222}}\
.scroll{{overflow-x:auto}}table{{border-collapse:collapse}}td,th{{padding:3px 10px;text-align:left;white-space:nowrap}}\
tr:nth-child(even){{background:#f4f4f4}}td.n{{text-align:right}}\
.ok{{color:#176b17}}.stale{{color:#9a6700}}.failing{{color:#b00020;font-weight:bold}}\
pre{{white-space:pre-wrap;word-break:break-word}}svg{{max-width:100%;height:auto}}\
</style></head><body>\n<h1>{t}</h1>\n{body}\n</body></html>\n",
        t = esc(title)
    )
}

fn health(h: Health) -> String {
    let s = format!("{h:?}").to_lowercase();
    format!("<span class=\"{s}\">{s}</span>")
}

fn age(secs: Option<i64>) -> String {
    secs.map_or_else(|| "-".into(), crate::history::human_age)
}

/// `<root>/index.html`.
pub fn render_root(statuses: &[MirrorStatus], now: jiff::Timestamp) -> String {
    let mut b = String::from(
        "<div class=\"scroll\"><table>\n<tr><th>mirror</th><th>health</th><th>latest</th><th>age</th>\
<th>packages</th><th>snapshots</th><th>disk</th><th>last error</th></tr>\n",
    );
    for s in statuses {
        let name = esc(&s.mirror);
        let latest = s.latest.as_deref().map_or_else(
            || "-".to_owned(),
            |l| format!("<a href=\"{name}/{l}/\">{l}</a>", l = esc(l)),
        );
        let _ = writeln!(
            b,
            "<tr><td><a href=\"{name}/index.html\">{name}</a></td><td>{}</td><td>{latest}</td><td>{}</td>\
<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            health(s.health),
            age(s.latest_age_seconds),
            s.latest_packages
                .map_or_else(|| "-".into(), |p| p.to_string()),
            s.snapshots,
            human_bytes(s.disk_bytes),
            esc(s
                .last_error
                .as_deref()
                .filter(|_| s.health != Health::Ok)
                .unwrap_or(""))
        );
    }
    let _ = write!(
        b,
        "</table></div>\n<p>Generated {} UTC. For CI jobs: <a href=\"all_latest.json\">all_latest.json</a>, \
<a href=\"all_latest.yaml\">all_latest.yaml</a>.</p>",
        now.strftime("%Y-%m-%d %H:%M")
    );
    page("Mirrors", &b)
}

/// Packages (line, one point per snapshot) and bytes (line) over time.
pub fn render_plot(manifests: &[Manifest]) -> String {
    let (w, h, pad) = (640.0_f64, 220.0_f64, 36.0_f64);
    let n = manifests.len().max(1);
    #[allow(clippy::cast_precision_loss)] // counts and bytes far below 2^52
    let x = |i: usize| {
        if n == 1 {
            w / 2.0
        } else {
            pad + (w - 2.0 * pad) * i as f64 / (n - 1) as f64
        }
    };
    #[allow(clippy::cast_precision_loss)]
    let scale = |v: u64, max: u64| h - pad - (h - 2.0 * pad) * (v as f64 / max.max(1) as f64);
    let max_p = manifests.iter().map(|m| m.packages).max().unwrap_or(1);
    let max_b = manifests.iter().map(|m| m.bytes).max().unwrap_or(1);
    let line = |f: &dyn Fn(&Manifest) -> f64| -> String {
        manifests
            .iter()
            .enumerate()
            .map(|(i, m)| format!("{:.1},{:.1}", x(i), f(m)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" \
aria-label=\"packages and bytes per snapshot\"><rect width=\"{w}\" height=\"{h}\" fill=\"#fafafa\"/>\
<text x=\"{pad}\" y=\"20\" font-size=\"12\" fill=\"#1f5fbf\">packages (max {max_p})</text>\
<text x=\"{}\" y=\"20\" font-size=\"12\" fill=\"#b35900\" text-anchor=\"end\">bytes (max {})</text>\
<polyline fill=\"none\" stroke=\"#b35900\" stroke-dasharray=\"4 3\" points=\"{}\"/>\
<polyline fill=\"none\" stroke=\"#1f5fbf\" stroke-width=\"2\" points=\"{}\"/>",
        w - pad,
        esc(&human_bytes(max_b)),
        line(&|m| scale(m.bytes, max_b)),
        line(&|m| scale(m.packages, max_p)),
    );
    for (i, m) in manifests.iter().enumerate() {
        let _ = write!(
            s,
            "<circle class=\"pt\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"#1f5fbf\"><title>{}: {} packages, {}</title></circle>",
            x(i),
            scale(m.packages, max_p),
            esc(&m.snapshot),
            m.packages,
            esc(&human_bytes(m.bytes))
        );
    }
    s.push_str("</svg>");
    s
}

/// `<root>/<name>/index.html`.
pub fn render_mirror(
    status: &MirrorStatus,
    manifests: &[Manifest],
    attempts: &[Attempt],
) -> String {
    let mut b = format!(
        "<p><a href=\"../index.html\">All mirrors</a> · health {} · latest {} · {} snapshots · {} on disk</p>\n",
        health(status.health),
        status.latest.as_deref().map_or_else(
            || "-".to_owned(),
            |l| format!("<a href=\"{l}/\">{l}</a>", l = esc(l))
        ),
        manifests.len(),
        human_bytes(status.disk_bytes)
    );
    if !status.exposure.is_empty() {
        b.push_str("<ul class=\"exposure\">\n");
        for e in &status.exposure {
            let _ = writeln!(
                b,
                "<li id=\"exposure-{c}\">{c} (<a href=\"{s}/\">{s}</a>) lags latest by {}</li>",
                esc(&e.exposure.phrase()),
                c = esc(&e.channel),
                s = esc(&e.snapshot)
            );
        }
        b.push_str("</ul>\n");
    }
    b.push_str(&render_plot(manifests));
    b.push_str(
        "\n<h2>Snapshots</h2>\n<div class=\"scroll\"><table>\n<tr><th>snapshot</th><th>packages</th><th>+</th><th>-</th>\
<th>^</th><th>v</th><th>size</th><th>new</th><th>changes</th></tr>\n",
    );
    for m in manifests.iter().rev() {
        let snap = esc(&m.snapshot);
        let changes = if m.previous.is_some() {
            match SnapshotName::parse(&m.snapshot) {
                Ok(s) => format!(
                    "<a href=\"{}\">diff</a>",
                    mirror_index::layout::diff_page(&s)
                ),
                Err(_) => format!("{snap}?"),
            }
        } else {
            "first".into()
        };
        let latest = if status.latest.as_deref() == Some(m.snapshot.as_str()) {
            " (latest)"
        } else {
            ""
        };
        let _ = writeln!(
            b,
            "<tr><td><a href=\"{snap}/\">{snap}</a>{latest}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{changes}</td></tr>",
            m.packages,
            m.added,
            m.removed,
            m.upgraded,
            m.downgraded,
            human_bytes(m.bytes),
            human_bytes(m.unique_bytes)
        );
    }
    b.push_str("</table></div>\n<h2>Last failed syncs</h2>\n");
    let failed: Vec<&Attempt> = attempts
        .iter()
        .rev()
        .filter(|a| a.status == "failed")
        .take(10)
        .collect();
    if failed.is_empty() {
        b.push_str("<p>None.</p>");
    }
    for a in failed {
        let _ = writeln!(
            b,
            "<h3>{}</h3><pre>{}</pre>",
            esc(&a.time),
            esc(a.error.as_deref().unwrap_or(""))
        );
    }
    page(&format!("Mirror {}", status.mirror), &b)
}

/// `<root>/<name>/diff-<to>.html`.
pub fn render_diff(mirror: &str, from: &str, to: &str, sd: &SnapshotDiff) -> String {
    let d = &sd.packages;
    let mut b = format!(
        "<p><a href=\"index.html\">{}</a> · <a href=\"{f}/\">{f}</a> → <a href=\"{t}/\">{t}</a></p>\n<pre>",
        esc(mirror),
        f = esc(from),
        t = esc(to)
    );
    for p in &d.added {
        let _ = writeln!(b, "+ {}", esc(p));
    }
    for p in &d.removed {
        let _ = writeln!(b, "- {}", esc(p));
    }
    for c in &d.upgraded {
        let _ = writeln!(
            b,
            "^ {}.{} {} -> {}",
            esc(&c.name),
            esc(&c.arch),
            esc(&c.from.to_string()),
            esc(&c.to.to_string())
        );
    }
    for c in &d.downgraded {
        let _ = writeln!(
            b,
            "v {}.{} {} -> {}",
            esc(&c.name),
            esc(&c.arch),
            esc(&c.from.to_string()),
            esc(&c.to.to_string())
        );
    }
    b.push_str("</pre>\n");
    let a = &sd.advisories;
    for (id, title, list) in [
        ("advisories-added", "Advisories added", &a.added),
        ("advisories-removed", "Advisories removed", &a.removed),
        ("advisories-updated", "Advisories updated", &a.updated),
        (
            "advisories-applicable",
            "Advisories newly applicable (their packages arrived)",
            &a.newly_applicable,
        ),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = write!(
            b,
            "<h2>{title}</h2>\n<table id=\"{id}\"><tr><th>advisory</th><th>type</th><th>severity</th><th>issued</th><th>CVEs</th><th>applicable</th><th>title</th></tr>\n"
        );
        for adv in list {
            let issued = adv
                .issued
                .and_then(|t| jiff::Timestamp::from_second(t).ok())
                .map(|t| t.strftime("%Y-%m-%d").to_string())
                .unwrap_or_default();
            let applicable = if adv.applicable {
                "yes".to_owned()
            } else {
                format!("no: {} missing", adv.missing.len())
            };
            let _ = writeln!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{issued}</td><td>{}</td><td>{applicable}</td><td>{}</td></tr>",
                esc(&adv.id),
                esc(&adv.kind),
                esc(adv.severity.as_deref().unwrap_or("")),
                esc(&adv.cves.join(" ")),
                esc(&adv.title)
            );
        }
        b.push_str("</table>\n");
    }
    b.push_str(DIFF_PAGE_MARK);
    page(&format!("{mirror}: {from} → {to}"), &b)
}

/// Marks diff pages that list advisories; older pages are written again.
const DIFF_PAGE_MARK: &str = "<!-- diff page: packages and advisories -->";

fn write_if_changed(path: &Path, content: &str) -> Result<(), StoreError> {
    if std::fs::read(path).is_ok_and(|old| old == content.as_bytes()) {
        return Ok(());
    }
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).at(p)?;
    }
    Ok(mirror_index::atomic::write_atomic(
        path,
        content.as_bytes(),
    )?)
}

/// A mirror's page, and the diff pages of its snapshots that lack one.
pub fn write_mirror_pages(store: &Store, status: &MirrorStatus) -> Result<(), StoreError> {
    let old = store.dir.join(OLD_DIFFS_DIR);
    if std::fs::symlink_metadata(&old).is_ok_and(|m| m.is_dir()) {
        std::fs::remove_dir_all(&old).at(&old)?;
    }
    // Diff pages of snapshots gc removed.
    for e in std::fs::read_dir(&store.dir).at(&store.dir)?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(snap) = mirror_index::layout::diff_page_of(&name)
            && !store.snapshot_dir(&snap).is_dir()
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let manifests = crate::history::manifests(store)?;
    let attempts = crate::history::attempts(store)?;
    write_if_changed(
        &store.dir.join(mirror_index::layout::STATUS_PAGE),
        &render_mirror(status, &manifests, &attempts),
    )?;
    for m in &manifests {
        let (Some(prev), Ok(to)) = (m.previous.as_deref(), SnapshotName::parse(&m.snapshot)) else {
            continue;
        };
        let path = store.dir.join(mirror_index::layout::diff_page(&to));
        let current = std::fs::read_to_string(&path).is_ok_and(|t| t.contains(DIFF_PAGE_MARK));
        if current || !store.dir.join(prev).is_dir() {
            continue;
        }
        let d = crate::snapshot_diff::between(&store.dir.join(prev), &store.snapshot_dir(&to))?;
        write_if_changed(
            &path,
            &render_diff(store.name.as_str(), prev, &m.snapshot, &d),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything() {
        assert_eq!(
            esc("<script>alert('x')&\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&amp;&quot;&lt;/script&gt;"
        );
        let st = MirrorStatus {
            mirror: "<b>m".into(),
            health: Health::Failing,
            latest: None,
            latest_age_seconds: None,
            latest_packages: None,
            snapshots: 0,
            disk_bytes: 0,
            last_attempt: None,
            last_success: None,
            last_error: Some("<script>x</script>".into()),
            channels: vec![],
            schedule: None,
            exposure: vec![],
        };
        let html = render_root(&[st], jiff::Timestamp::UNIX_EPOCH);
        assert!(
            !html.contains("<script>") && !html.contains("<b>m"),
            "{html}"
        );
        assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"));
    }

    #[test]
    fn one_point_per_snapshot() {
        let m = |s: &str, p| Manifest {
            snapshot: s.into(),
            packages: p,
            bytes: p * 1000,
            unique_bytes: 0,
            added: 0,
            removed: 0,
            upgraded: 0,
            downgraded: 0,
            previous: None,
            upstream: None,
            seconds: None,
            security: None,
            advisories_error: None,
        };
        let svg = render_plot(&[m("a", 1), m("b", 5), m("c", 3)]);
        assert_eq!(svg.matches("<circle class=\"pt\"").count(), 3);
        assert_eq!(render_plot(&[]).matches("<circle").count(), 0);
    }
}
