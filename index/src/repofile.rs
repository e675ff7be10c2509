//! A lossless reader of yum/dnf ini text (`.repo`, `.yumrepos`, `dnf.conf`,
//! the ini inside mock configs).
//!
//! The parse keeps every line's exact byte range and line ending, so an editor
//! can change a few lines and leave every other byte as it was. The grammar is
//! the one yum's and the old client's configparser accepted:
//! `[id]` headers (id taken verbatim, no trimming), `key=value`, `key = value`
//! or `key: value` options (keys case-insensitive), indented continuation
//! lines, `#`/`;` comments and blank lines. With [`Dialect::MockTemplate`],
//! Jinja lines (`{% ... %}`, `{{ ... }}`, `{# ... #}`) are kept as opaque lines.
//!
//! Errors name the 1-based line: duplicate section, duplicate option, an
//! option before the first section, a line that is none of the above.
//!
//! [`Lexer`] classifies lines one at a time without keeping them (an editor
//! of a 100,000-section file holds one section); [`RepoFile`] collects the
//! whole structure for readers that want it.

use std::fmt;

/// What the parser accepts besides plain ini.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    #[default]
    Ini,
    /// Jinja template lines are allowed anywhere and kept verbatim.
    MockTemplate,
}

/// One physical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Byte offset of the line's first byte in the text.
    pub start: usize,
    /// Byte offset just past the line's content (before its line ending).
    pub end: usize,
    /// `"\n"`, `"\r\n"` or `""` (last line without a final newline).
    pub eol: &'static str,
    pub kind: LineKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKind {
    Blank,
    Comment,
    Template,
    /// `[id]`; index into [`RepoFile::sections`].
    Header(usize),
    /// First line of an option; (section, option) indexes.
    Option(usize, usize),
    /// A continuation line of an option.
    Continuation(usize, usize),
}

/// One `key = value` entry, possibly spanning continuation lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Lower-cased key.
    pub key: String,
    /// The value: first line's value and continuation lines, each trimmed, joined by `\n`.
    pub value: String,
    /// Index of the option's first line.
    pub first_line: usize,
    /// Index of its last line (== `first_line` without continuations).
    pub last_line: usize,
}

/// One `[id]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The id exactly as written between the brackets.
    pub id: String,
    /// Index of the header line.
    pub header_line: usize,
    /// Index one past the section's last line (the next header or EOF).
    pub end_line: usize,
    pub entries: Vec<Entry>,
}

impl Section {
    /// The entry for `key` (case-insensitive).
    pub fn get(&self, key: &str) -> Option<&Entry> {
        let key = key.to_ascii_lowercase();
        self.entries.iter().find(|e| e.key == key)
    }

    /// The value for `key` (case-insensitive).
    pub fn value(&self, key: &str) -> Option<&str> {
        self.get(key).map(|e| e.value.as_str())
    }
}

/// A parsed file: the original text plus line and section structure.
#[derive(Debug, Clone)]
pub struct RepoFile<'a> {
    pub text: &'a str,
    pub lines: Vec<Line>,
    pub sections: Vec<Section>,
}

/// Why a file could not be parsed; `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct ParseError {
    pub line: usize,
    pub kind: ParseErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    DuplicateSection(String),
    DuplicateOption { section: String, key: String },
    OptionBeforeSection,
    StrayLine(String),
    BadHeader(String),
    NotUtf8,
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DuplicateSection(id) => write!(f, "duplicate section [{id}]"),
            Self::DuplicateOption { section, key } => {
                write!(f, "duplicate option {key:?} in section [{section}]")
            }
            Self::OptionBeforeSection => f.write_str("option before the first [section]"),
            Self::StrayLine(l) => {
                write!(f, "not a section, option, continuation or comment: {l:?}")
            }
            Self::BadHeader(l) => write!(f, "malformed section header: {l:?}"),
            Self::NotUtf8 => f.write_str("not valid UTF-8"),
        }
    }
}

/// Decode `bytes` as UTF-8, naming the first bad line.
pub fn decode(bytes: &[u8]) -> Result<&str, ParseError> {
    std::str::from_utf8(bytes).map_err(|e| ParseError {
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
        kind: ParseErrorKind::NotUtf8,
    })
}

fn is_template(trimmed: &str) -> bool {
    trimmed.starts_with("{%") || trimmed.starts_with("{{") || trimmed.starts_with("{#")
}

/// Split an option line into (key, value) at the first `=` or `:`.
fn split_option(content: &str) -> Option<(&str, &str)> {
    let pos = content.find(['=', ':'])?;
    let key = content[..pos].trim();
    if key.is_empty() {
        return None;
    }
    Some((key, content[pos + 1..].trim()))
}

/// One classified line, as [`Lexer`] yields them: the unit both the
/// whole-file [`RepoFile`] and streaming editors are built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawLine<'a> {
    /// 0-based index of the line in the text.
    pub index: usize,
    /// Byte offset of the line's first byte.
    pub start: usize,
    /// Byte offset just past the line's content (before its line ending).
    pub end: usize,
    /// `"\n"`, `"\r\n"` or `""` (last line without a final newline).
    pub eol: &'static str,
    pub kind: RawKind<'a>,
}

/// What a line is; every `&str` borrows the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawKind<'a> {
    Blank,
    Comment,
    Template,
    /// `[id]`, the id verbatim.
    Header(&'a str),
    /// The first line of an option: key as written, value trimmed.
    Option {
        key: &'a str,
        value: &'a str,
    },
    /// A continuation line of the option above, trimmed.
    Continuation(&'a str),
}

/// Classifies a text line by line, without keeping any line: memory is
/// one set of section ids (to refuse duplicates) and the current section's
/// keys, whatever the file's size.
pub struct Lexer<'a> {
    text: &'a str,
    dialect: Dialect,
    pos: usize,
    index: usize,
    /// An option is open: an indented line continues it.
    open_option: bool,
    in_set_block: bool,
    seen_ids: std::collections::HashSet<&'a str>,
    /// The current section's id and keys as written.
    section: Option<&'a str>,
    keys: Vec<&'a str>,
    failed: bool,
}

impl<'a> Lexer<'a> {
    pub fn new(text: &'a str, dialect: Dialect) -> Self {
        Self {
            text,
            dialect,
            pos: 0,
            index: 0,
            open_option: false,
            in_set_block: false,
            // Sized once: growing a big set step by step leaves the
            // smaller tables behind as holes in the heap.
            seen_ids: std::collections::HashSet::with_capacity(header_estimate(text)),
            section: None,
            keys: Vec::new(),
            failed: false,
        }
    }

    fn classify(&mut self, content: &'a str) -> Result<RawKind<'a>, ParseErrorKind> {
        let trimmed = content.trim();
        let indented = content.starts_with([' ', '\t']);
        if trimmed.is_empty() {
            self.open_option = false;
            return Ok(RawKind::Blank);
        }
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            return Ok(RawKind::Comment);
        }
        if indented && self.open_option {
            // Checked before templates: an indented `{{- x }}` continues the option above.
            return Ok(RawKind::Continuation(trimmed));
        }
        if self.dialect == Dialect::MockTemplate && (self.in_set_block || is_template(trimmed)) {
            // `{% set x %}...{% endset %}` holds template text, not ini lines.
            if trimmed.starts_with("{%") {
                let tag = trimmed
                    .trim_start_matches("{%")
                    .trim_start_matches('-')
                    .trim_start();
                if tag.starts_with("endset") {
                    self.in_set_block = false;
                } else if tag.starts_with("set ")
                    && !tag.split("%}").next().unwrap_or("").contains('=')
                {
                    self.in_set_block = true;
                }
            }
            return Ok(RawKind::Template);
        }
        if !indented && content.starts_with('[') {
            let body = content.trim_end();
            if !body.ends_with(']') || body.len() < 3 {
                return Err(ParseErrorKind::BadHeader(content.to_owned()));
            }
            let id = &body[1..body.len() - 1];
            if !self.seen_ids.insert(id) {
                return Err(ParseErrorKind::DuplicateSection(id.to_owned()));
            }
            self.section = Some(id);
            self.keys.clear();
            self.open_option = false;
            return Ok(RawKind::Header(id));
        }
        if let Some((key, value)) = split_option(content) {
            let Some(section) = self.section else {
                return Err(ParseErrorKind::OptionBeforeSection);
            };
            if self.keys.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                return Err(ParseErrorKind::DuplicateOption {
                    section: section.to_owned(),
                    key: key.to_ascii_lowercase(),
                });
            }
            self.keys.push(key);
            self.open_option = true;
            return Ok(RawKind::Option { key, value });
        }
        Err(ParseErrorKind::StrayLine(content.to_owned()))
    }
}

impl<'a> Iterator for Lexer<'a> {
    type Item = Result<RawLine<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.text.len() {
            return None;
        }
        let (text, pos) = (self.text, self.pos);
        let nl = text[pos..].find('\n').map(|i| pos + i);
        let (end, eol, next) = match nl {
            Some(i) if i > pos && text.as_bytes()[i - 1] == b'\r' => (i - 1, "\r\n", i + 1),
            Some(i) => (i, "\n", i + 1),
            None => (text.len(), "", text.len()),
        };
        let index = self.index;
        let kind = match self.classify(&text[pos..end]) {
            Ok(k) => k,
            Err(kind) => {
                self.failed = true;
                return Some(Err(ParseError {
                    line: index + 1,
                    kind,
                }));
            }
        };
        self.pos = next;
        self.index += 1;
        Some(Ok(RawLine {
            index,
            start: pos,
            end,
            eol,
            kind,
        }))
    }
}

/// An upper bound on a text's section count, cheap to compute (for sizing).
pub fn header_estimate(text: &str) -> usize {
    usize::from(text.starts_with('[')) + text.matches("\n[").count()
}

/// The line ending a text uses for new lines: its first one, else `\n`.
pub fn first_newline(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

impl<'a> RepoFile<'a> {
    /// Parse `text` (see the module docs for the grammar).
    pub fn parse(text: &'a str, dialect: Dialect) -> Result<Self, ParseError> {
        let mut lines = Vec::new();
        let mut sections: Vec<Section> = Vec::new();
        for raw in Lexer::new(text, dialect) {
            let raw = raw?;
            let idx = raw.index;
            let kind = match raw.kind {
                RawKind::Blank => LineKind::Blank,
                RawKind::Comment => LineKind::Comment,
                RawKind::Template => LineKind::Template,
                RawKind::Header(id) => {
                    if let Some(prev) = sections.last_mut() {
                        prev.end_line = idx;
                    }
                    sections.push(Section {
                        id: id.to_owned(),
                        header_line: idx,
                        end_line: idx + 1,
                        entries: Vec::new(),
                    });
                    LineKind::Header(sections.len() - 1)
                }
                RawKind::Option { key, value } => {
                    let s = sections.len() - 1;
                    let section = &mut sections[s];
                    section.entries.push(Entry {
                        key: key.to_ascii_lowercase(),
                        value: value.to_owned(),
                        first_line: idx,
                        last_line: idx,
                    });
                    LineKind::Option(s, section.entries.len() - 1)
                }
                RawKind::Continuation(more) => {
                    let s = sections.len() - 1;
                    let o = sections[s].entries.len() - 1;
                    let entry = &mut sections[s].entries[o];
                    entry.value.push('\n');
                    entry.value.push_str(more);
                    entry.last_line = idx;
                    LineKind::Continuation(s, o)
                }
            };
            lines.push(Line {
                start: raw.start,
                end: raw.end,
                eol: raw.eol,
                kind,
            });
        }
        if let Some(last) = sections.last_mut() {
            last.end_line = lines.len();
        }
        Ok(Self {
            text,
            lines,
            sections,
        })
    }

    /// The section with exactly this id.
    pub fn section(&self, id: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.id == id)
    }

    /// The text of line `i` without its line ending.
    pub fn line_text(&self, i: usize) -> &'a str {
        &self.text[self.lines[i].start..self.lines[i].end]
    }

    /// An option's key as written ([`Entry::key`] is lowercased, as dnf
    /// reads keys; a `.treeinfo` key is a case-sensitive path).
    pub fn key_as_written(&self, e: &Entry) -> &'a str {
        split_option(self.line_text(e.first_line)).map_or("", |(k, _)| k)
    }

    /// The line ending to use for new lines: the file's first one, else `\n`.
    pub fn newline(&self) -> &'static str {
        first_newline(self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# top comment\n\n[main]\ncachedir = /tmp\n\n[centos-base-el7]\r\nname=Base\r\nbaseurl=http://a/\r\n  http://b/\r\nBaseURL2 : x\n; semi\nexclude=a*\n    b*\n[last]\nkey=v";

    #[test]
    fn parses_sections_options_and_continuations() {
        let f = RepoFile::parse(SAMPLE, Dialect::Ini).unwrap();
        let ids: Vec<_> = f.sections.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["main", "centos-base-el7", "last"]);
        let s = f.section("centos-base-el7").unwrap();
        assert_eq!(s.value("baseurl"), Some("http://a/\nhttp://b/"));
        assert_eq!(s.value("BASEURL2"), Some("x"));
        assert_eq!(s.value("exclude"), Some("a*\nb*"));
        let b = s.get("baseurl").unwrap();
        assert_eq!((b.first_line, b.last_line), (7, 8));
        assert_eq!(f.lines[6].eol, "\r\n");
        assert_eq!(f.lines.last().unwrap().eol, "");
        assert_eq!(f.section("last").unwrap().end_line, f.lines.len());
        assert_eq!(s.end_line, 13);
        // Reassembling every line reproduces the text exactly.
        let mut out = String::new();
        for (i, l) in f.lines.iter().enumerate() {
            out.push_str(f.line_text(i));
            out.push_str(l.eol);
        }
        assert_eq!(out, SAMPLE);
        assert_eq!(f.newline(), "\n");
    }

    #[test]
    fn ids_are_verbatim_and_case_sensitive() {
        let f = RepoFile::parse("[ Epel ]\nbaseurl=x\n", Dialect::Ini).unwrap();
        assert!(f.section(" Epel ").is_some());
        assert!(f.section("Epel").is_none());
        assert!(f.section("epel").is_none());
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("[a]\nx=1\n[a]\n", 3, "duplicate section [a]"),
            (
                "[a]\nx=1\nX = 2\n",
                3,
                "duplicate option \"x\" in section [a]",
            ),
            ("x=1\n[a]\n", 1, "option before the first [section]"),
            ("[a]\njust words\n", 2, "not a section, option"),
            ("[a\n", 1, "malformed section header"),
            ("[a]\n{% if x %}\n", 2, "not a section, option"),
        ];
        for (text, line, msg) in cases {
            let err = RepoFile::parse(text, Dialect::Ini).unwrap_err();
            assert_eq!(err.line, line, "{text:?}");
            assert!(err.to_string().contains(msg), "{err} / {msg}");
        }
        let err = decode(b"[a]\nname=\xff\n").unwrap_err();
        assert_eq!((err.line, err.kind), (2, ParseErrorKind::NotUtf8));
    }

    #[test]
    fn jinja_set_blocks_and_template_continuations() {
        let t = "[main]\nx=1\n\n{% set key -%}\n{% if a %}\n       file:///a\n{%- elif b %}\n       file:///b\n{%- endif -%}\n{% endset -%}\n[base]\ngpgkey=file:///k\n       {{- key }}\nbaseurl=http://x/\n";
        let f = RepoFile::parse(t, Dialect::MockTemplate).unwrap();
        assert_eq!(f.lines[5].kind, LineKind::Template);
        assert_eq!(f.lines[7].kind, LineKind::Template);
        let base = f.section("base").unwrap();
        assert_eq!(base.value("gpgkey"), Some("file:///k\n{{- key }}"));
        assert_eq!(base.value("baseurl"), Some("http://x/"));
        assert!(f.section("main").unwrap().get("file").is_none());
    }

    #[test]
    fn template_lines_in_mock_dialect() {
        let t = "{% if x %}\n[a]\nbaseurl={{ url }}\n{% endif %}\n";
        let f = RepoFile::parse(t, Dialect::MockTemplate).unwrap();
        assert_eq!(f.lines[0].kind, LineKind::Template);
        assert_eq!(f.lines[3].kind, LineKind::Template);
        assert_eq!(f.section("a").unwrap().value("baseurl"), Some("{{ url }}"));
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    /// Lines that look like repo files, so the parser's deeper paths are exercised.
    fn repo_line() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\[[a-zA-Z0-9_.:-]{0,12}\\]",
            "[a-zA-Z_]{1,10} ?[=:] ?[ -~]{0,20}",
            "[ \t]{1,4}[ -~]{0,20}",
            "[#;][ -~]{0,20}",
            "\\{[%{#][ -~]{0,20}",
            "[ -~]{0,20}",
            Just(String::new()),
        ]
    }

    proptest! {
        #[test]
        fn never_panics_and_is_lossless(lines in prop::collection::vec(repo_line(), 0..30), crlf in any::<bool>(), final_nl in any::<bool>()) {
            let nl = if crlf { "\r\n" } else { "\n" };
            let mut text = lines.join(nl);
            if final_nl { text.push_str(nl); }
            for dialect in [Dialect::Ini, Dialect::MockTemplate] {
                if let Ok(f) = RepoFile::parse(&text, dialect) {
                    let mut back = String::new();
                    for (i, l) in f.lines.iter().enumerate() {
                        back.push_str(f.line_text(i));
                        back.push_str(l.eol);
                    }
                    prop_assert_eq!(&back, &text);
                }
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
            let _ = RepoFile::parse(&text, Dialect::Ini);
            let _ = RepoFile::parse(&text, Dialect::MockTemplate);
        }

        #[test]
        fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&bytes);
        }
    }
}
