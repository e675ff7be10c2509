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

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use mirror_index::repofile::{Dialect, Lexer, ParseError, RawKind, RawLine, first_newline};

use crate::map::Resolved;

/// Why a text was not rewritten.
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    #[error("larger than {} MiB: not a repo configuration", MAX_TEXT >> 20)]
    TooLarge,
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

/// A byte range of a text: the input or the output of a rewrite. 32-bit
/// offsets: texts are limited to [`MAX_TEXT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    start: u32,
    end: u32,
}

/// The largest text rewritten (the output may grow past it, up to 4 GiB).
pub const MAX_TEXT: usize = 1 << 30;

impl Span {
    fn new(start: usize, len: usize) -> Self {
        let at = |n: usize| u32::try_from(n).expect("texts are limited to MAX_TEXT");
        Self {
            start: at(start),
            end: at(start + len),
        }
    }

    /// `s` as a span of `text`, which it must borrow from.
    fn within(text: &str, s: &str) -> Self {
        Self::new(s.as_ptr() as usize - text.as_ptr() as usize, s.len())
    }

    fn shifted(self, by: usize) -> Self {
        Self::new(self.start as usize + by, (self.end - self.start) as usize)
    }

    pub fn of<'t>(&self, text: &'t str) -> &'t str {
        &text[self.start as usize..self.end as usize]
    }
}

/// What a rewrite did to one file (or block). Ids and URLs are spans of
/// the texts, not copies: a 100,000-section file costs 48 bytes a section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Every mirrored section in file order: its id (in the input) and the
    /// URL it now points at (in the output).
    pub mirrored: Vec<(Span, Span)>,
    /// Inserted sections: (new id, url, inserted before this id).
    pub inserted: Vec<(String, String, String)>,
    /// Ids (in the input) of sections present but without a mirror.
    pub untouched: Vec<Span>,
}

impl Summary {
    /// Append the summary of a block that starts at `input_at` in the
    /// input and at `output_at` in the output.
    pub fn merge(&mut self, other: Summary, input_at: usize, output_at: usize) {
        self.mirrored.extend(
            other
                .mirrored
                .into_iter()
                .map(|(id, url)| (id.shifted(input_at), url.shifted(output_at))),
        );
        self.inserted.extend(other.inserted);
        self.untouched
            .extend(other.untouched.into_iter().map(|id| id.shifted(input_at)));
    }

    /// (id, URL) of every mirrored section.
    pub fn mirrored_in<'t>(
        &'t self,
        input: &'t str,
        output: &'t str,
    ) -> impl Iterator<Item = (&'t str, &'t str)> + 't {
        self.mirrored
            .iter()
            .map(move |(id, url)| (id.of(input), url.of(output)))
    }

    /// Ids of the sections without a mirror.
    pub fn untouched_in<'t>(&'t self, input: &'t str) -> impl Iterator<Item = &'t str> + 't {
        self.untouched.iter().map(move |id| id.of(input))
    }
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

/// The output text, written line by line. Every line ends with a newline
/// except that the last one keeps the input's choice (with or without a
/// final newline); added lines use the file's first line ending.
struct Out {
    s: String,
    nl: &'static str,
    pending_eol: Option<&'static str>,
}

impl Out {
    fn new(text: &str) -> Self {
        Self {
            // Room for every line to grow: capacity that is never written
            // costs no memory, while growing would copy the text and leave
            // the old buffer as a hole in the heap.
            s: String::with_capacity(2 * text.len() + 4096),
            nl: first_newline(text),
            pending_eol: None,
        }
    }

    /// Write one line; returns where its text starts in the output.
    fn line(&mut self, text: &str, eol: &'static str) -> usize {
        if let Some(e) = self.pending_eol.take() {
            self.s.push_str(if e.is_empty() { self.nl } else { e });
        }
        let at = self.s.len();
        self.s.push_str(text);
        self.pending_eol = Some(eol);
        at
    }

    fn added(&mut self, text: &str) -> usize {
        self.line(text, self.nl)
    }

    fn finish(mut self, ends_with_newline: bool) -> String {
        if let (Some(e), true) = (self.pending_eol, ends_with_newline) {
            self.s.push_str(if e.is_empty() { self.nl } else { e });
        }
        self.s
    }
}

/// One option of the section being edited; lines are indexes into it.
struct Opt<'a> {
    key: &'a str,
    value: &'a str,
    first: usize,
    last: usize,
}

/// What happens to one line of a mirrored section.
enum Act {
    Keep,
    Drop,
    Put(String),
}

/// The edit of one mirrored section: per-line actions, lines added after
/// a line, and where the URL ends up.
struct SectionEdit {
    acts: Vec<Act>,
    after: Vec<(usize, String)>,
    /// The URL's line and its offset in that line's new text.
    url_at: UrlAt,
}

enum UrlAt {
    Line(usize, usize),
    After(usize),
}

/// Plan the rules for one mirrored section (`lines[0]` is its header).
/// New lines go where they keep the meaning of any Jinja block around
/// them: `baseurl` takes the place of the removed `mirrorlist`/`metalink`
/// (or follows the header), and a new `proxy` follows `baseurl`.
fn edit_section(text: &str, lines: &[RawLine<'_>], url: &str, proxy: Option<&str>) -> SectionEdit {
    let mut opts: Vec<Opt<'_>> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        match l.kind {
            RawKind::Option { key, value } => opts.push(Opt {
                key,
                value,
                first: i,
                last: i,
            }),
            RawKind::Continuation(_) => {
                if let Some(o) = opts.last_mut() {
                    o.last = i;
                }
            }
            _ => {}
        }
    }
    let get = |k: &str| opts.iter().find(|o| o.key.eq_ignore_ascii_case(k));
    let line_text = |i: usize| &text[lines[i].start..lines[i].end];
    // Options we add copy the section's separator style.
    let spaced = opts.first().is_some_and(|o| {
        let p = option_prefix(line_text(o.first));
        p.trim_start().contains(" =") || p.ends_with("= ")
    });
    let added = |key: &str, value: &str| {
        if spaced {
            format!("{key} = {value}")
        } else {
            format!("{key}={value}")
        }
    };
    let mut edit = SectionEdit {
        acts: lines.iter().map(|_| Act::Keep).collect(),
        after: Vec::new(),
        url_at: UrlAt::Line(0, 0),
    };
    // Replace option `o` by its key as written and `value`; its continuation
    // lines go. Returns the offset of the value in the line.
    let replace = |edit: &mut SectionEdit, o: &Opt<'_>, value: &str| -> usize {
        if o.first == o.last && o.value == value {
            return o.value.as_ptr() as usize - text.as_ptr() as usize - lines[o.first].start;
        }
        let prefix = option_prefix(line_text(o.first));
        edit.acts[o.first] = Act::Put(format!("{prefix}{value}"));
        for l in o.first + 1..=o.last {
            edit.acts[l] = Act::Drop;
        }
        prefix.len()
    };
    let dropped: Vec<&Opt<'_>> = ["mirrorlist", "metalink"]
        .iter()
        .filter_map(|k| get(k))
        .collect();
    for o in &dropped {
        for l in o.first..=o.last {
            edit.acts[l] = Act::Drop;
        }
    }
    // The line after which a new proxy line goes.
    let baseurl_end = if let Some(o) = get("baseurl") {
        let at = replace(&mut edit, o, url);
        edit.url_at = UrlAt::Line(o.first, at);
        o.last
    } else if let Some(first) = dropped.iter().min_by_key(|o| o.first) {
        let line = added("baseurl", url);
        edit.url_at = UrlAt::Line(first.first, line.len() - url.len());
        edit.acts[first.first] = Act::Put(line);
        first.last
    } else {
        edit.url_at = UrlAt::After(edit.after.len());
        edit.after.push((0, added("baseurl", url)));
        0
    };
    if let Some(value) = proxy {
        match get("proxy") {
            Some(o) => {
                replace(&mut edit, o, value);
            }
            None => edit.after.push((baseurl_end, added("proxy", value))),
        }
    }
    edit
}

/// Ids that `before:` lists would insert but the file already has: they
/// are rewritten in place (to the list's URL) instead of inserted again.
/// Needs a first pass over the file, made only when the map has inserts.
fn present_inserts<'m>(
    text: &str,
    dialect: Dialect,
    map: &'m Resolved,
) -> Result<HashMap<&'m str, &'m str>, ParseError> {
    let mut out = HashMap::new();
    if map.before.is_empty() {
        return Ok(out);
    }
    let new_ids: HashSet<&str> = map
        .before
        .values()
        .flatten()
        .map(|(id, _)| id.as_str())
        .collect();
    let mut present: HashSet<&str> = HashSet::new();
    let mut targets: Vec<&str> = Vec::new();
    for raw in Lexer::new(text, dialect) {
        if let RawKind::Header(id) = raw?.kind {
            if new_ids.contains(id) {
                present.insert(id);
            }
            if map.before.contains_key(id) {
                targets.push(id);
            }
        }
    }
    for t in targets {
        for (new_id, url) in &map.before[t] {
            if present.contains(new_id.as_str()) {
                out.insert(new_id.as_str(), url.as_str());
            }
        }
    }
    Ok(out)
}

/// Rewrite ini text. Returns the new text (equal to the input when nothing
/// changed) and a summary. Streams: one section is held at a time.
pub fn rewrite_ini(
    text: &str,
    dialect: Dialect,
    map: &Resolved,
    proxy: &ProxyPolicy,
) -> Result<(String, Summary), RewriteError> {
    if text.len() > MAX_TEXT {
        return Err(RewriteError::TooLarge);
    }
    let present = present_inserts(text, dialect, map)?;
    let mut out = Out::new(text);
    let mut summary = Summary::default();
    // Sized once (see Lexer::new); only mirrored sections use it.
    summary
        .mirrored
        .reserve(mirror_index::repofile::header_estimate(text).min(map.repos.len() + 16));
    let mut inserted: HashSet<&str> = HashSet::new();
    let mut section: Vec<RawLine<'_>> = Vec::new();
    let mut ends_with_newline = true;
    let mut flush = |lines: &mut Vec<RawLine<'_>>,
                     out: &mut Out,
                     summary: &mut Summary|
     -> Result<(), RewriteError> {
        let Some(RawLine {
            kind: RawKind::Header(id),
            ..
        }) = lines.first().copied()
        else {
            for l in lines.drain(..) {
                out.line(&text[l.start..l.end], l.eol);
            }
            return Ok(());
        };
        refuse_if_rejected(map, id)?;
        for (new_id, url) in map.before.get(id).into_iter().flatten() {
            if present.contains_key(new_id.as_str()) || !inserted.insert(new_id) {
                continue;
            }
            out.added(&format!("[{new_id}]"));
            out.added(&format!("baseurl={url}"));
            if let Some(value) = proxy.value_for(new_id) {
                out.added(&format!("proxy={value}"));
            }
            out.added("");
            summary
                .inserted
                .push((new_id.clone(), url.clone(), id.to_owned()));
        }
        let url = present.get(id).copied().or_else(|| map.repos.get(id));
        let Some(url) = url else {
            summary.untouched.push(Span::within(text, id));
            for l in lines.drain(..) {
                out.line(&text[l.start..l.end], l.eol);
            }
            return Ok(());
        };
        let edit = edit_section(text, lines, url, proxy.value_for(id).as_deref());
        let mut url_span = None;
        let mut after = edit.after.iter().enumerate().peekable();
        for (i, (l, act)) in lines.iter().zip(&edit.acts).enumerate() {
            let at = match act {
                Act::Keep => Some(out.line(&text[l.start..l.end], l.eol)),
                Act::Drop => None,
                Act::Put(t) => Some(out.line(t, l.eol)),
            };
            if let (UrlAt::Line(n, off), Some(at)) = (&edit.url_at, at)
                && *n == i
            {
                url_span = Some(Span::new(at + off, url.len()));
            }
            while let Some((k, (_, t))) = after.next_if(|(_, (n, _))| *n == i) {
                let at = out.added(t);
                if matches!(edit.url_at, UrlAt::After(j) if j == k) {
                    url_span = Some(Span::new(at + t.len() - url.len(), url.len()));
                }
            }
        }
        let url_span = url_span.expect("a mirrored section always gets its baseurl");
        summary.mirrored.push((Span::within(text, id), url_span));
        lines.clear();
        Ok(())
    };
    for raw in Lexer::new(text, dialect) {
        let raw = raw?;
        ends_with_newline = !raw.eol.is_empty();
        if matches!(raw.kind, RawKind::Header(_)) {
            flush(&mut section, &mut out, &mut summary)?;
        }
        section.push(raw);
    }
    flush(&mut section, &mut out, &mut summary)?;
    Ok((out.finish(ends_with_newline), summary))
}

/// Rewrite a `*.repos` list: `repo_id,url` lines; comments and blank lines kept.
pub fn rewrite_repos_list(text: &str, map: &Resolved) -> Result<(String, Summary), RewriteError> {
    if text.len() > MAX_TEXT {
        return Err(RewriteError::TooLarge);
    }
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
            .map(|(_, u)| u.as_str());
        if let Some(url) = inserted_url.or_else(|| map.repos.get(id)) {
            let at = out.len() + id.len() + 1;
            let _ = write!(out, "{id},{url}{eol}");
            summary
                .mirrored
                .push((Span::within(text, id), Span::new(at, url.len())));
        } else {
            out.push_str(line);
            summary.untouched.push(Span::within(text, id));
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
            rejected: std::collections::BTreeMap::default(),
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
        assert_eq!(
            summary.mirrored_in(text, &out).collect::<Vec<_>>(),
            [
                ("plain-el7", "http://m/plain/S1"),
                ("ml-el7", "http://m/ml/S1"),
                ("meta-fc30", "http://m/meta/S1")
            ]
        );
        assert_eq!(
            summary.untouched_in(text).collect::<Vec<_>>(),
            ["unmirrored"]
        );
        // Idempotent: the second run changes nothing, and the inserted section counts as mirrored.
        let (again, s2) = rewrite_ini(&out, Dialect::Ini, &m, &ProxyPolicy::default()).unwrap();
        assert_eq!(again, out);
        assert!(s2.inserted.is_empty());
        assert!(
            s2.mirrored_in(&out, &again)
                .any(|m| m == ("gated-el7", "http://m/gated/S1"))
        );
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
        assert_eq!(
            s.untouched_in(text).collect::<Vec<_>>(),
            ["ci-tools", "last"]
        );
        assert_eq!(
            s.mirrored_in(text, &out).collect::<Vec<_>>(),
            [("epel", "http://m/epel/S1")]
        );
        let (again, _) = rewrite_repos_list(&out, &m).unwrap();
        assert_eq!(again, out);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use mirror_index::repofile::RepoFile;
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
                    map.repos.insert(id, &format!("http://m/{id}/S1"));
                }
            }
            let (once, _) = rewrite_ini(&text, Dialect::Ini, &map, &ProxyPolicy::default()).unwrap();
            let (twice, _) = rewrite_ini(&once, Dialect::Ini, &map, &ProxyPolicy::default()).unwrap();
            prop_assert_eq!(&twice, &once);
            let after = RepoFile::parse(&once, Dialect::Ini).unwrap();
            for s in &after.sections {
                if let Some(url) = map.repos.get(&s.id) {
                    prop_assert_eq!(s.value("baseurl"), Some(url));
                    prop_assert!(s.get("mirrorlist").is_none() && s.get("metalink").is_none());
                    prop_assert_eq!(s.value("proxy"), Some(none_value_for(&s.id)));
                }
            }
        }
    }
}
