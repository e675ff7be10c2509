//! Minimal, lossless rewriting of repo configuration text.
//!
//! Rules for a section whose id has a mirror (the client contract; README,
//! "mirror-client"):
//! `baseurl` becomes the mirror URL (a multi-line value replaced whole, added
//! when missing); `mirrorlist` and `metalink` are removed; `proxy` is set to
//! the no-proxy value unless proxies are allowed; `before:` sections are
//! inserted before their target. Everything else is kept byte for byte:
//! every line the rules do not touch comes out identical (comments, order,
//! spacing, CRLF, a missing final newline), and a second run changes nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use mirror_index::repofile::{Dialect, ParseError, RepoFile, Section};

use crate::map::Resolved;

/// Why a text was not rewritten.
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The file uses a repo id whose map entry was refused: rewriting it
    /// without that entry would send the job upstream unnoticed.
    #[error("[{id}] was not rewritten: the mirror map's entry {key:?} is refused: {reason}")]
    Refused {
        id: String,
        key: String,
        reason: String,
    },
}

fn refuse_if_rejected(map: &Resolved, id: &str) -> Result<(), RewriteError> {
    match map.refusal(id) {
        Some((key, reason)) => Err(RewriteError::Refused {
            id: id.to_owned(),
            key,
            reason: reason.to_owned(),
        }),
        None => Ok(()),
    }
}

/// How injection treats proxies.
#[derive(Debug, Clone, Default)]
pub struct ProxyPolicy {
    /// Keep existing `proxy` lines and add none.
    pub allow_proxy: bool,
    /// Use this value instead of the old client's per-id rule.
    pub none_value: Option<String>,
}

impl ProxyPolicy {
    /// The `proxy=` value for a mirrored id, or `None` to leave proxies alone.
    pub fn value_for(&self, id: &str) -> Option<String> {
        if self.allow_proxy {
            return None;
        }
        Some(
            self.none_value
                .clone()
                .unwrap_or_else(|| none_value_for(id).to_owned()),
        )
    }
}

/// The old client's rule: `_none_` for ids ending in `-elN`, or `-fcN` with
/// N < 29 (yum); otherwise `None` (dnf).
pub fn none_value_for(id: &str) -> &'static str {
    let suffix_num = |tag: &str| -> Option<u32> {
        let (_, tail) = id.rsplit_once('-')?;
        let digits = tail.strip_prefix(tag)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    if suffix_num("el").is_some() || suffix_num("fc").is_some_and(|n| n < 29) {
        "_none_"
    } else {
        "None"
    }
}

/// What a rewrite did to one file (or block).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// repo id -> snapshot URL it now points at.
    pub mirrored: BTreeMap<String, String>,
    /// Inserted sections: (new id, url, inserted before this id).
    pub inserted: Vec<(String, String, String)>,
    /// Repo ids present but without a mirror.
    pub untouched: Vec<String>,
}

impl Summary {
    pub fn merge(&mut self, other: Summary) {
        self.mirrored.extend(other.mirrored);
        self.inserted.extend(other.inserted);
        self.untouched.extend(other.untouched);
    }
}

/// A planned change to the original lines.
#[derive(Default)]
struct Plan {
    /// Line index -> replacement content (`None` deletes the line).
    replace: HashMap<usize, Option<String>>,
    /// Lines to emit after a line.
    after: HashMap<usize, Vec<String>>,
    /// Lines to emit before a line.
    before: HashMap<usize, Vec<String>>,
}

/// `key = ` / `key=` / `key: ` exactly as written on an option's first line.
fn option_prefix(line: &str) -> &str {
    let Some(sep) = line.find(['=', ':']) else {
        return line;
    };
    let after = &line[sep + 1..];
    let ws = after.len() - after.trim_start().len();
    &line[..sep + 1 + ws]
}

/// The separator style of a section, copied for options we add.
fn added_option(section: &Section, file: &RepoFile<'_>, key: &str, value: &str) -> String {
    let spaced = section.entries.first().is_some_and(|e| {
        let p = option_prefix(file.line_text(e.first_line));
        p.trim_start().contains(" =") || p.ends_with("= ")
    });
    if spaced {
        format!("{key} = {value}")
    } else {
        format!("{key}={value}")
    }
}

/// Replace option `e` by `key{sep}value` in place, keeping how the key was
/// written; its continuation lines go. Returns false when it already says that.
fn replace_entry(
    plan: &mut Plan,
    file: &RepoFile<'_>,
    e: &mirror_index::repofile::Entry,
    value: &str,
) -> bool {
    if e.first_line == e.last_line && e.value == value {
        return false;
    }
    let prefix = option_prefix(file.line_text(e.first_line));
    plan.replace
        .insert(e.first_line, Some(format!("{prefix}{value}")));
    for l in e.first_line + 1..=e.last_line {
        plan.replace.insert(l, None);
    }
    true
}

/// Apply the rules to one mirrored section. New lines go where they keep the
/// meaning of any Jinja block around them: `baseurl` takes the place of the
/// removed `mirrorlist`/`metalink` (or follows the header), and a new
/// `proxy` follows `baseurl`.
fn rewrite_section(
    plan: &mut Plan,
    file: &RepoFile<'_>,
    section: &Section,
    url: &str,
    proxy: Option<&str>,
) {
    let dropped: Vec<&mirror_index::repofile::Entry> = ["mirrorlist", "metalink"]
        .iter()
        .filter_map(|k| section.get(k))
        .collect();
    for e in &dropped {
        for l in e.first_line..=e.last_line {
            plan.replace.insert(l, None);
        }
    }
    // The line after which a new proxy line goes.
    let baseurl_end = if let Some(e) = section.get("baseurl") {
        replace_entry(plan, file, e, url);
        e.last_line
    } else if let Some(first) = dropped.iter().min_by_key(|e| e.first_line) {
        plan.replace.insert(
            first.first_line,
            Some(added_option(section, file, "baseurl", url)),
        );
        first.last_line
    } else {
        plan.after
            .entry(section.header_line)
            .or_default()
            .push(added_option(section, file, "baseurl", url));
        section.header_line
    };
    if let Some(value) = proxy {
        match section.get("proxy") {
            Some(e) => {
                replace_entry(plan, file, e, value);
            }
            None => plan
                .after
                .entry(baseurl_end)
                .or_default()
                .push(added_option(section, file, "proxy", value)),
        }
    }
}

/// Rewrite ini text. Returns the new text (equal to the input when nothing
/// changed) and a summary.
pub fn rewrite_ini(
    text: &str,
    dialect: Dialect,
    map: &Resolved,
    proxy: &ProxyPolicy,
) -> Result<(String, Summary), RewriteError> {
    let file = RepoFile::parse(text, dialect)?;
    for section in &file.sections {
        refuse_if_rejected(map, &section.id)?;
    }
    let ids: HashSet<&str> = file.sections.iter().map(|s| s.id.as_str()).collect();
    let mut summary = Summary::default();
    let mut plan = Plan::default();

    // Which ids get which URL: the map, plus inserts already present in the file.
    let mut targets: HashMap<&str, &str> = map
        .repos
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut inserts: Vec<(usize, &str, &str, &str)> = Vec::new();
    let mut inserted_ids: HashSet<&str> = HashSet::new();
    for section in &file.sections {
        let Some(list) = map.before.get(&section.id) else {
            continue;
        };
        for (new_id, url) in list {
            if ids.contains(new_id.as_str()) {
                targets.insert(new_id, url);
            } else if inserted_ids.insert(new_id) {
                inserts.push((section.header_line, new_id, url, &section.id));
            }
        }
    }

    for section in &file.sections {
        let Some(url) = targets.get(section.id.as_str()) else {
            summary.untouched.push(section.id.clone());
            continue;
        };
        summary
            .mirrored
            .insert(section.id.clone(), (*url).to_owned());
        rewrite_section(
            &mut plan,
            &file,
            section,
            url,
            proxy.value_for(&section.id).as_deref(),
        );
    }
    for (line, new_id, url, target) in inserts {
        let out = plan.before.entry(line).or_default();
        out.push(format!("[{new_id}]"));
        out.push(format!("baseurl={url}"));
        if let Some(value) = proxy.value_for(new_id) {
            out.push(format!("proxy={value}"));
        }
        out.push(String::new());
        summary
            .inserted
            .push((new_id.to_owned(), url.to_owned(), target.to_owned()));
    }
    Ok((render(&file, &plan), summary))
}

fn render(file: &RepoFile<'_>, plan: &Plan) -> String {
    if plan.replace.is_empty() && plan.after.is_empty() && plan.before.is_empty() {
        return file.text.to_owned();
    }
    let nl = file.newline();
    // Lines are written as (text, line ending) pairs borrowed from the input
    // or the plan; every line ends with a newline except that the output's
    // last line keeps the input's choice (with or without a final newline).
    let ends_with_newline = file.lines.last().is_none_or(|l| !l.eol.is_empty());
    let mut s = String::with_capacity(file.text.len() + 256);
    let mut pending_eol: Option<&str> = None;
    let mut emit = |s: &mut String, text: &str, eol: &'static str| {
        if let Some(e) = pending_eol.take() {
            s.push_str(if e.is_empty() { nl } else { e });
        }
        s.push_str(text);
        pending_eol = Some(eol);
    };
    for (i, line) in file.lines.iter().enumerate() {
        for extra in plan.before.get(&i).into_iter().flatten() {
            emit(&mut s, extra, nl);
        }
        match plan.replace.get(&i) {
            Some(None) => {}
            Some(Some(t)) => emit(&mut s, t, line.eol),
            None => emit(&mut s, file.line_text(i), line.eol),
        }
        for extra in plan.after.get(&i).into_iter().flatten() {
            emit(&mut s, extra, nl);
        }
    }
    if let (Some(e), true) = (pending_eol, ends_with_newline) {
        s.push_str(if e.is_empty() { nl } else { e });
    }
    s
}

/// Rewrite a `*.repos` list: `repo_id,url` lines; comments and blank lines kept.
pub fn rewrite_repos_list(text: &str, map: &Resolved) -> Result<(String, Summary), RewriteError> {
    let mut summary = Summary::default();
    let present: HashSet<&str> = text
        .lines()
        .filter_map(|l| l.split_once(',').map(|(id, _)| id))
        .collect();
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while !rest.is_empty() {
        let (line, next) = match rest.find('\n') {
            Some(i) => (&rest[..=i], &rest[i + 1..]),
            None => (rest, ""),
        };
        rest = next;
        let body = line.trim_end_matches(['\n', '\r']);
        let eol = &line[body.len()..];
        let trimmed = body.trim();
        let Some((id, _url)) = body
            .split_once(',')
            .filter(|_| !trimmed.is_empty() && !trimmed.starts_with('#'))
        else {
            out.push_str(line);
            continue;
        };
        refuse_if_rejected(map, id)?;
        let nl = if eol.is_empty() { "\n" } else { eol };
        for (new_id, url) in map.before.get(id).into_iter().flatten() {
            if !present.contains(new_id.as_str())
                && !summary.inserted.iter().any(|(n, _, _)| n == new_id)
            {
                let _ = write!(out, "{new_id},{url}{nl}");
                summary
                    .inserted
                    .push((new_id.clone(), url.clone(), id.to_owned()));
            }
        }
        let inserted_url = map
            .before
            .values()
            .flatten()
            .find(|(n, _)| n == id)
            .map(|(_, u)| u);
        if let Some(url) = inserted_url.or_else(|| map.repos.get(id)) {
            let _ = write!(out, "{id},{url}{eol}");
            summary.mirrored.insert(id.to_owned(), url.clone());
        } else {
            out.push_str(line);
            summary.untouched.push(id.to_owned());
        }
    }
    Ok((out, summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(repos: &[(&str, &str)], before: &[(&str, &[(&str, &str)])]) -> Resolved {
        Resolved {
            repos: repos
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            before: before
                .iter()
                .map(|(t, l)| {
                    (
                        (*t).to_owned(),
                        l.iter()
                            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                            .collect(),
                    )
                })
                .collect(),
            rejected: BTreeMap::new(),
        }
    }

    fn ini(text: &str, m: &Resolved) -> String {
        rewrite_ini(text, Dialect::Ini, m, &ProxyPolicy::default())
            .unwrap()
            .0
    }

    #[test]
    fn none_value_rule() {
        for (id, want) in [
            ("centos-base-el7", "_none_"),
            ("fedora-base-fc28", "_none_"),
            ("fedora-base-fc29", "None"),
            ("no-suffix", "None"),
            ("bad-suffix-fc", "None"),
            ("epel-el", "None"),
            ("x-el8", "_none_"),
            ("fc20", "None"),
        ] {
            assert_eq!(none_value_for(id), want, "{id}");
        }
    }

    #[test]
    fn inject_example_of_the_spec() {
        let text = "\
[plain-el7]
name=Plain
baseurl=http://up/plain/
gpgcheck=1

[ml-el7]
name = Mirrorlist
mirrorlist = http://list/?repo=x
#baseurl=http://up/x/

[meta-fc30]
metalink=https://mm/metalink?repo=y
baseurl=http://a/
   http://b/
enabled=1

[unmirrored]
baseurl=http://keep/me/
";
        let m = map(
            &[
                ("plain-el7", "http://m/plain/S1"),
                ("ml-el7", "http://m/ml/S1"),
                ("meta-fc30", "http://m/meta/S1"),
                ("absent", "http://m/absent"),
            ],
            &[
                ("ml-el7", &[("gated-el7", "http://m/gated/S1")]),
                ("missing-target", &[("lost", "http://m/lost")]),
            ],
        );
        let (out, summary) = rewrite_ini(text, Dialect::Ini, &m, &ProxyPolicy::default()).unwrap();
        assert_eq!(
            out,
            "\
[plain-el7]
name=Plain
baseurl=http://m/plain/S1
proxy=_none_
gpgcheck=1

[gated-el7]
baseurl=http://m/gated/S1
proxy=_none_

[ml-el7]
name = Mirrorlist
baseurl = http://m/ml/S1
proxy = _none_
#baseurl=http://up/x/

[meta-fc30]
baseurl=http://m/meta/S1
proxy=None
enabled=1

[unmirrored]
baseurl=http://keep/me/
"
        );
        assert_eq!(summary.mirrored.len(), 3);
        assert_eq!(
            summary.inserted,
            vec![(
                "gated-el7".into(),
                "http://m/gated/S1".into(),
                "ml-el7".into()
            )]
        );
        assert_eq!(summary.untouched, vec!["unmirrored".to_owned()]);
        // Idempotent: the second run changes nothing, and the inserted section counts as mirrored.
        let (again, s2) = rewrite_ini(&out, Dialect::Ini, &m, &ProxyPolicy::default()).unwrap();
        assert_eq!(again, out);
        assert!(s2.inserted.is_empty());
        assert_eq!(s2.mirrored["gated-el7"], "http://m/gated/S1");
    }

    #[test]
    fn keeps_crlf_missing_final_newline_and_case() {
        let m = map(&[("a", "http://m/a")], &[]);
        assert_eq!(
            ini("# c\r\n[a]\r\nBaseURL = http://x/\r\nName=A", &m),
            "# c\r\n[a]\r\nBaseURL = http://m/a\r\nproxy = None\r\nName=A"
        );
        assert_eq!(
            ini("[a]\nname=A", &m),
            "[a]\nbaseurl=http://m/a\nproxy=None\nname=A"
        );
        assert_eq!(ini("[a]\n", &m), "[a]\nbaseurl=http://m/a\nproxy=None\n");
        // Exact, case-sensitive id match; [main] is an ordinary section.
        let m2 = map(&[("A", "http://m/A"), ("main", "http://m/main")], &[]);
        assert_eq!(
            ini("[a]\nbaseurl=x\n[main]\nk=v\n", &m2),
            "[a]\nbaseurl=x\n[main]\nbaseurl=http://m/main\nproxy=None\nk=v\n"
        );
    }

    #[test]
    fn proxy_options() {
        let m = map(&[("a-el7", "http://m/a")], &[]);
        let text = "[a-el7]\nbaseurl=http://x/\nproxy=http://squid:3128\n";
        let allow = ProxyPolicy {
            allow_proxy: true,
            none_value: None,
        };
        assert_eq!(
            rewrite_ini(text, Dialect::Ini, &m, &allow).unwrap().0,
            "[a-el7]\nbaseurl=http://m/a\nproxy=http://squid:3128\n"
        );
        let forced = ProxyPolicy {
            allow_proxy: false,
            none_value: Some(String::new()),
        };
        assert_eq!(
            rewrite_ini(text, Dialect::Ini, &m, &forced).unwrap().0,
            "[a-el7]\nbaseurl=http://m/a\nproxy=\n"
        );
        assert_eq!(ini(text, &m), "[a-el7]\nbaseurl=http://m/a\nproxy=_none_\n");
    }

    #[test]
    fn unchanged_file_is_returned_as_is() {
        let m = map(&[("zzz", "http://m/z")], &[]);
        let text = "# only comments\n[a]\nk = v  \n\t# indented comment\n";
        assert_eq!(ini(text, &m), text);
    }

    #[test]
    fn repos_lists() {
        let m = map(
            &[("epel", "http://m/epel/S1")],
            &[("epel", &[("epel-testing", "http://m/t")])],
        );
        let text = "# comment\nepel,http://up/epel/7/x86_64/\r\nci-tools,http://res/ci-tools/el7\nhttp://no-id/repo\n\nlast,http://x";
        let (out, s) = rewrite_repos_list(text, &m).unwrap();
        assert_eq!(
            out,
            "# comment\nepel-testing,http://m/t\r\nepel,http://m/epel/S1\r\nci-tools,http://res/ci-tools/el7\nhttp://no-id/repo\n\nlast,http://x"
        );
        assert_eq!(s.untouched, vec!["ci-tools".to_owned(), "last".to_owned()]);
        let (again, _) = rewrite_repos_list(&out, &m).unwrap();
        assert_eq!(again, out);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    /// One section with unique keys (a file with duplicates does not
    /// parse, and is refused untouched: tested in files.rs).
    fn section() -> impl Strategy<Value = (String, Vec<String>)> {
        (
            "[a-z]{1,6}(-el[0-9]|-fc[0-9]{2})?",
            prop::collection::vec(
                prop_oneof![
                    Just("baseurl=http://up/x/".to_owned()),
                    Just("baseurl = http://a/\n  http://b/".to_owned()),
                    Just("mirrorlist=http://ml/?r=1".to_owned()),
                    Just("metalink: http://mm/".to_owned()),
                    Just("proxy=http://squid:3128".to_owned()),
                    Just("# comment".to_owned()),
                    Just(String::new()),
                    "[a-z]{1,8}=[ -~]{0,12}",
                ],
                0..6,
            ),
        )
            .prop_map(|(id, body)| {
                let mut keys = HashSet::new();
                let body = body
                    .into_iter()
                    .filter(|l| {
                        let key = l
                            .split(['=', ':'])
                            .next()
                            .unwrap_or("")
                            .trim()
                            .to_ascii_lowercase();
                        l.is_empty() || l.starts_with('#') || keys.insert(key)
                    })
                    .collect();
                (id, body)
            })
    }

    /// A valid file: sections with unique ids (the index goes first, so an
    /// id keeps its -elN / -fcN suffix).
    fn file() -> impl Strategy<Value = String> {
        prop::collection::vec(section(), 1..6).prop_map(|sections| {
            sections
                .into_iter()
                .enumerate()
                .map(|(i, (id, body))| {
                    let mut lines = vec![format!("[s{i}{id}]")];
                    lines.extend(body);
                    lines.join("\n")
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
    }

    proptest! {
        #[test]
        fn no_match_means_byte_identical(text in file(), crlf in any::<bool>()) {
            let text = if crlf { text.replace('\n', "\r\n") } else { text };
            let map = Resolved { repos: [("zz-never".to_owned(), "http://m/".to_owned())].into(), ..Resolved::default() };
            let (out, _) = rewrite_ini(&text, Dialect::Ini, &map, &ProxyPolicy::default()).unwrap();
            prop_assert_eq!(out, text);
        }

        #[test]
        fn rewriting_is_idempotent_and_follows_the_rules(text in file(), pick in any::<u64>()) {
            let parsed = RepoFile::parse(&text, Dialect::Ini).unwrap();
            let ids: Vec<String> = parsed.sections.iter().map(|s| s.id.clone()).collect();
            let mut map = Resolved::default();
            for (i, id) in ids.iter().enumerate() {
                if pick >> (i % 64) & 1 == 1 {
                    map.repos.insert(id.clone(), format!("http://m/{id}/S1"));
                }
            }
            let (once, _) = rewrite_ini(&text, Dialect::Ini, &map, &ProxyPolicy::default()).unwrap();
            let (twice, _) = rewrite_ini(&once, Dialect::Ini, &map, &ProxyPolicy::default()).unwrap();
            prop_assert_eq!(&twice, &once);
            let after = RepoFile::parse(&once, Dialect::Ini).unwrap();
            for s in &after.sections {
                if let Some(url) = map.repos.get(&s.id) {
                    prop_assert_eq!(s.value("baseurl"), Some(url.as_str()));
                    prop_assert!(s.get("mirrorlist").is_none() && s.get("metalink").is_none());
                    prop_assert_eq!(s.value("proxy"), Some(none_value_for(&s.id)));
                }
            }
        }
    }
}
