//! Streaming rewrites of repodata for filtered snapshots: a document is
//! copied byte for byte except the records (children of its root) a caller
//! drops or rewrites, and the root's `packages="N"` count. Memory holds one
//! record at a time, however large the document.
//!
//! - [`primary`], [`filelists_or_other`]: keep a package record when its
//!   pkgid is kept;
//! - [`updateinfo`]: drop package references the snapshot does not hold, and
//!   advisories left with none;
//! - [`prestodelta`]: drop deltas to packages the snapshot does not hold;
//! - [`repomd`]: records replaced or dropped, a new revision.
//!
//! Every reader goes through the guarded loop of [`crate::xml`].

// The keep-sets are built by one caller, with the default hasher.
#![allow(clippy::implicit_hasher)]

use std::cell::RefCell;
use std::collections::HashSet;
use std::io::{BufRead, Read, Write};
use std::rc::Rc;

use quick_xml::events::BytesStart;

use crate::checksum::Checksum;
use crate::xml::{self, Ev, XmlError, XmlReader};

#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// What becomes of one record.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    Drop,
    /// Keep it, changed: these bytes instead.
    Replace(Vec<u8>),
}

/// How many records a rewrite kept, changed and dropped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub kept: u64,
    pub changed: u64,
    pub dropped: u64,
}

/// One kind of record and what to do with each.
pub trait Records {
    /// The element name of records (children of the root).
    fn tag(&self) -> &'static str;
    /// A record starts (`raw`: its start tag as written).
    fn begin(&mut self, start: &BytesStart<'_>, raw: &[u8]) -> Result<(), String>;
    /// An event inside the record; `depth` is the reader's (the root's
    /// children are at 2) after the event.
    fn inner(&mut self, ev: &Ev<'_>, depth: usize, raw: &[u8]) -> Result<(), String>;
    /// The record ended; `record` holds all of its bytes.
    fn end(&mut self, record: &[u8]) -> Result<Verdict, String>;
}

/// A `BufRead` that keeps a copy of every byte its reader consumed.
struct Tee<R> {
    inner: R,
    taken: Rc<RefCell<Vec<u8>>>,
}

impl<R: BufRead> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.taken.borrow_mut().extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Tee<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        // Data being consumed is in the buffer already: no I/O here.
        if let Ok(b) = self.inner.fill_buf() {
            self.taken
                .borrow_mut()
                .extend_from_slice(&b[..amt.min(b.len())]);
        }
        self.inner.consume(amt);
    }
}

fn is_blank(raw: &[u8]) -> bool {
    raw.iter().all(u8::is_ascii_whitespace)
}

/// Copy `input` to `out`, passing each record through `records`. With
/// `count`, the root element's `packages` attribute is set to it.
pub fn rewrite<R: BufRead>(
    input: R,
    out: &mut dyn Write,
    count: Option<u64>,
    records: &mut dyn Records,
) -> Result<Outcome, RewriteError> {
    let taken = Rc::new(RefCell::new(Vec::new()));
    let mut reader = XmlReader::new(Tee {
        inner: input,
        taken: Rc::clone(&taken),
    });
    let mut outcome = Outcome::default();
    // Whitespace between records, written before the next kept one.
    let mut gap: Vec<u8> = Vec::new();
    let mut record: Option<Vec<u8>> = None;
    let mut seen_root = false;
    let tag = records.tag();
    loop {
        let (ev, depth) = reader.next_with_depth()?;
        let raw = std::mem::take(&mut *taken.borrow_mut());
        if let Some(buf) = record.as_mut() {
            buf.extend_from_slice(&raw);
            if matches!(ev, Ev::End(_)) && depth == 1 {
                let verdict = records.end(buf).map_err(RewriteError::Invalid)?;
                let buf = record.take().expect("in a record");
                match verdict {
                    Verdict::Drop => outcome.dropped += 1,
                    Verdict::Keep => {
                        outcome.kept += 1;
                        out.write_all(&gap)?;
                        out.write_all(&buf)?;
                    }
                    Verdict::Replace(b) => {
                        outcome.changed += 1;
                        out.write_all(&gap)?;
                        out.write_all(&b)?;
                    }
                }
                gap.clear();
            } else {
                records
                    .inner(&ev, depth, &raw)
                    .map_err(RewriteError::Invalid)?;
            }
            continue;
        }
        match ev {
            Ev::Eof => break,
            Ev::Start(_) if depth == 1 && !seen_root => {
                seen_root = true;
                match count {
                    Some(n) => out.write_all(&with_packages_attr(&raw, n))?,
                    None => out.write_all(&raw)?,
                }
            }
            Ev::Start(ref e) if depth == 2 && xml::local(e) == tag => {
                records.begin(e, &raw).map_err(RewriteError::Invalid)?;
                record = Some(raw);
            }
            Ev::Empty(ref e) if depth == 1 && xml::local(e) == tag => {
                records.begin(e, &raw).map_err(RewriteError::Invalid)?;
                match records.end(&raw).map_err(RewriteError::Invalid)? {
                    Verdict::Drop => outcome.dropped += 1,
                    v => {
                        outcome.kept += 1;
                        out.write_all(&gap)?;
                        match v {
                            Verdict::Replace(b) => out.write_all(&b)?,
                            _ => out.write_all(&raw)?,
                        }
                    }
                }
                gap.clear();
            }
            Ev::Text(_) if depth >= 1 && is_blank(&raw) => gap.extend_from_slice(&raw),
            _ => {
                out.write_all(&gap)?;
                gap.clear();
                out.write_all(&raw)?;
            }
        }
    }
    if !seen_root {
        return Err(RewriteError::Invalid("no root element".into()));
    }
    out.write_all(&gap)?;
    Ok(outcome)
}

/// A start tag with its `packages` attribute's value replaced by `n`
/// (unchanged when it has none).
fn with_packages_attr(raw: &[u8], n: u64) -> Vec<u8> {
    let name = b"packages";
    let mut i = 0;
    while let Some(off) = raw[i..].windows(name.len()).position(|w| w == name) {
        let at = i + off;
        i = at + name.len();
        if at == 0 || !raw[at - 1].is_ascii_whitespace() {
            continue;
        }
        let mut j = i;
        while j < raw.len() && raw[j].is_ascii_whitespace() {
            j += 1;
        }
        if raw.get(j) != Some(&b'=') {
            continue;
        }
        j += 1;
        while j < raw.len() && raw[j].is_ascii_whitespace() {
            j += 1;
        }
        let Some(&q) = raw.get(j).filter(|q| **q == b'"' || **q == b'\'') else {
            continue;
        };
        let Some(close) = raw[j + 1..].iter().position(|c| *c == q) else {
            continue;
        };
        let mut out = raw[..=j].to_vec();
        out.extend_from_slice(n.to_string().as_bytes());
        out.extend_from_slice(&raw[j + 1 + close..]);
        return out;
    }
    raw.to_vec()
}

/// The key packages are matched by across documents:
/// `name-epoch:version-release.arch`, epoch `0` when absent.
pub fn nevra_key(name: &str, epoch: &str, version: &str, release: &str, arch: &str) -> String {
    let epoch = if epoch.is_empty() { "0" } else { epoch };
    format!("{name}-{epoch}:{version}-{release}.{arch}")
}

fn attr_key(e: &BytesStart<'_>) -> Result<String, String> {
    let a = |k: &str| xml::attr(e, k).map(Option::unwrap_or_default);
    Ok(nevra_key(
        &a("name")?,
        &a("epoch")?,
        &a("version")?,
        &a("release")?,
        &a("arch")?,
    ))
}

/// Primary records, kept when their pkgid (`<checksum pkgid="YES">`) is in `keep`.
pub fn primary(keep: &HashSet<String>) -> impl Records + '_ {
    struct Primary<'a> {
        keep: &'a HashSet<String>,
        in_checksum: bool,
        pkgid: String,
    }
    impl Records for Primary<'_> {
        fn tag(&self) -> &'static str {
            "package"
        }
        fn begin(&mut self, _: &BytesStart<'_>, _: &[u8]) -> Result<(), String> {
            self.pkgid.clear();
            Ok(())
        }
        fn inner(&mut self, ev: &Ev<'_>, depth: usize, _: &[u8]) -> Result<(), String> {
            match ev {
                Ev::Start(e) if depth == 3 && xml::local(e) == "checksum" => {
                    self.in_checksum = true;
                }
                Ev::Text(t) if self.in_checksum => self.pkgid.push_str(t),
                Ev::End(_) => self.in_checksum = false,
                _ => {}
            }
            Ok(())
        }
        fn end(&mut self, _: &[u8]) -> Result<Verdict, String> {
            let id = self.pkgid.trim().to_ascii_lowercase();
            if id.is_empty() {
                return Err("a <package> without a <checksum>".into());
            }
            Ok(if self.keep.contains(&id) {
                Verdict::Keep
            } else {
                Verdict::Drop
            })
        }
    }
    Primary {
        keep,
        in_checksum: false,
        pkgid: String::new(),
    }
}

/// filelists or other records, kept when their `pkgid` attribute is in `keep`.
pub fn filelists_or_other(keep: &HashSet<String>) -> impl Records + '_ {
    struct ByPkgid<'a> {
        keep: &'a HashSet<String>,
        pkgid: String,
    }
    impl Records for ByPkgid<'_> {
        fn tag(&self) -> &'static str {
            "package"
        }
        fn begin(&mut self, e: &BytesStart<'_>, _: &[u8]) -> Result<(), String> {
            self.pkgid = xml::attr(e, "pkgid")?
                .ok_or("a <package> without pkgid")?
                .to_ascii_lowercase();
            Ok(())
        }
        fn inner(&mut self, _: &Ev<'_>, _: usize, _: &[u8]) -> Result<(), String> {
            Ok(())
        }
        fn end(&mut self, _: &[u8]) -> Result<Verdict, String> {
            Ok(if self.keep.contains(&self.pkgid) {
                Verdict::Keep
            } else {
                Verdict::Drop
            })
        }
    }
    ByPkgid {
        keep,
        pkgid: String::new(),
    }
}

/// updateinfo advisories: those whose id is in `drop_ids` are dropped;
/// `<package>` references whose NEVRA ([`nevra_key`]) is not in `keep` are
/// left out; an advisory that referred to packages and has none left is
/// dropped. Advisories that lose nothing stay byte-identical.
pub fn updateinfo<'a>(
    keep: &'a HashSet<String>,
    drop_ids: &'a HashSet<String>,
) -> impl Records + 'a {
    struct Updates<'a> {
        keep: &'a HashSet<String>,
        drop_ids: &'a HashSet<String>,
        /// The advisory's `<id>`, and whether it is being read.
        id: String,
        in_id: bool,
        out: Vec<u8>,
        gap: Vec<u8>,
        /// The package reference being read, and whether it is kept.
        package: Option<(Vec<u8>, bool)>,
        total: u64,
        kept: u64,
    }
    impl Records for Updates<'_> {
        fn tag(&self) -> &'static str {
            "update"
        }
        fn begin(&mut self, _: &BytesStart<'_>, raw: &[u8]) -> Result<(), String> {
            self.out = raw.to_vec();
            self.gap.clear();
            self.package = None;
            (self.total, self.kept) = (0, 0);
            self.id.clear();
            self.in_id = false;
            Ok(())
        }
        fn inner(&mut self, ev: &Ev<'_>, depth: usize, raw: &[u8]) -> Result<(), String> {
            match ev {
                Ev::Start(e) if depth == 3 && xml::local(e) == "id" => self.in_id = true,
                Ev::Text(t) if self.in_id => self.id.push_str(t),
                Ev::End(_) => self.in_id = false,
                _ => {}
            }
            if let Some((buf, keep)) = self.package.as_mut() {
                buf.extend_from_slice(raw);
                if matches!(ev, Ev::End(n) if *n == "package") {
                    if *keep {
                        self.out.append(buf);
                    }
                    self.package = None;
                }
                return Ok(());
            }
            match ev {
                Ev::Start(e) | Ev::Empty(e) if xml::local(e) == "package" => {
                    let keep = self.keep.contains(&attr_key(e)?);
                    self.total += 1;
                    self.kept += u64::from(keep);
                    let mut buf = std::mem::take(&mut self.gap);
                    buf.extend_from_slice(raw);
                    if matches!(ev, Ev::Empty(_)) {
                        if keep {
                            self.out.append(&mut buf);
                        }
                    } else {
                        self.package = Some((buf, keep));
                    }
                }
                Ev::Text(_) if is_blank(raw) => self.gap.extend_from_slice(raw),
                _ => {
                    self.out.append(&mut self.gap);
                    self.out.extend_from_slice(raw);
                }
            }
            Ok(())
        }
        fn end(&mut self, _: &[u8]) -> Result<Verdict, String> {
            if self.drop_ids.contains(self.id.trim()) {
                return Ok(Verdict::Drop);
            }
            if self.kept == self.total {
                return Ok(Verdict::Keep);
            }
            if self.kept == 0 {
                return Ok(Verdict::Drop);
            }
            // The closing tag was seen by `rewrite` only: add it, after the gap.
            let mut out = std::mem::take(&mut self.out);
            out.append(&mut self.gap);
            out.extend_from_slice(b"</update>");
            Ok(Verdict::Replace(out))
        }
    }
    Updates {
        keep,
        drop_ids,
        id: String::new(),
        in_id: false,
        out: Vec::new(),
        gap: Vec::new(),
        package: None,
        total: 0,
        kept: 0,
    }
}

/// prestodelta (deltainfo) records: deltas to a `<newpackage>` whose NEVRA is
/// not in `keep` are dropped.
pub fn prestodelta(keep: &HashSet<String>) -> impl Records + '_ {
    struct Deltas<'a> {
        keep: &'a HashSet<String>,
        kept: bool,
    }
    impl Records for Deltas<'_> {
        fn tag(&self) -> &'static str {
            "newpackage"
        }
        fn begin(&mut self, e: &BytesStart<'_>, _: &[u8]) -> Result<(), String> {
            self.kept = self.keep.contains(&attr_key(e)?);
            Ok(())
        }
        fn inner(&mut self, _: &Ev<'_>, _: usize, _: &[u8]) -> Result<(), String> {
            Ok(())
        }
        fn end(&mut self, _: &[u8]) -> Result<Verdict, String> {
            Ok(if self.kept {
                Verdict::Keep
            } else {
                Verdict::Drop
            })
        }
    }
    Deltas { keep, kept: false }
}

/// A regenerated metadata file, as its repomd.xml record describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecord {
    pub kind: String,
    pub href: String,
    pub checksum: Checksum,
    pub open_checksum: Checksum,
    pub size: u64,
    pub open_size: u64,
    pub timestamp: i64,
}

impl NewRecord {
    fn render(&self) -> String {
        format!(
            "<data type=\"{kind}\">\n    <checksum type=\"{ck}\">{c}</checksum>\n    <open-checksum type=\"{ok}\">{o}</open-checksum>\n    <location href=\"{href}\"/>\n    <timestamp>{t}</timestamp>\n    <size>{s}</size>\n    <open-size>{os}</open-size>\n  </data>",
            kind = self.kind,
            ck = self.checksum.kind,
            c = self.checksum.hex,
            ok = self.open_checksum.kind,
            o = self.open_checksum.hex,
            href = xml_escape(&self.href),
            t = self.timestamp,
            s = self.size,
            os = self.open_size,
        )
    }
}

/// `s` as XML text or an attribute value (double-quoted).
pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// repomd.xml with `<data>` records of the kinds in `replace` replaced,
/// those `drop` names left out, every other byte as it was, and the
/// revision set to `revision`.
pub fn repomd(
    bytes: &[u8],
    revision: &str,
    replace: &[NewRecord],
    drop: &dyn Fn(&str) -> bool,
) -> Result<Vec<u8>, RewriteError> {
    let taken = Rc::new(RefCell::new(Vec::new()));
    let mut reader = XmlReader::new(Tee {
        inner: bytes,
        taken: Rc::clone(&taken),
    });
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut gap: Vec<u8> = Vec::new();
    // Inside <data>: its bytes so far and what becomes of it.
    let mut data: Option<(Vec<u8>, Option<&NewRecord>, bool)> = None;
    let mut in_revision = false;
    let mut wrote_revision = false;
    loop {
        let (ev, depth) = reader.next_with_depth()?;
        let raw = std::mem::take(&mut *taken.borrow_mut());
        let raw = raw.as_slice();
        if let Some((buf, new, dropped)) = data.as_mut() {
            buf.extend_from_slice(raw);
            if matches!(ev, Ev::End(n) if n == "data") && depth == 1 {
                if !*dropped {
                    out.append(&mut gap);
                    match new {
                        Some(n) => out.extend_from_slice(n.render().as_bytes()),
                        None => out.append(buf),
                    }
                }
                gap.clear();
                data = None;
            }
            continue;
        }
        match ev {
            Ev::Eof => break,
            Ev::Start(ref e) if depth == 2 && xml::local(e) == "data" => {
                let kind = xml::attr(e, "type")
                    .map_err(RewriteError::Invalid)?
                    .unwrap_or_default();
                data = Some((
                    raw.to_vec(),
                    replace.iter().find(|r| r.kind == kind),
                    drop(&kind),
                ));
            }
            Ev::Start(ref e) if depth == 2 && xml::local(e) == "revision" => {
                out.append(&mut gap);
                out.extend_from_slice(raw);
                out.extend_from_slice(revision.as_bytes());
                in_revision = true;
                wrote_revision = true;
            }
            Ev::Text(_) if in_revision => {}
            Ev::End(n) if in_revision && n == "revision" => {
                out.extend_from_slice(raw);
                in_revision = false;
            }
            Ev::Text(_) if depth >= 1 && is_blank(raw) => gap.extend_from_slice(raw),
            _ => {
                out.append(&mut gap);
                out.extend_from_slice(raw);
            }
        }
    }
    out.append(&mut gap);
    if !wrote_revision {
        return Err(RewriteError::Invalid(
            "repomd.xml has no <revision> to update".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(doc: &str, count: Option<u64>, r: &mut dyn Records) -> (String, Outcome) {
        let mut out = Vec::new();
        let o = rewrite(doc.as_bytes(), &mut out, count, r).unwrap();
        (String::from_utf8(out).unwrap(), o)
    }

    const PRIMARY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="3">
<package type="rpm">
  <name>a</name>
  <checksum type="sha256" pkgid="YES">AAAA</checksum>
  <format><rpm:provides><rpm:entry name="a"/></rpm:provides></format>
</package>
<package type="rpm">
  <name>b &amp; c</name>
  <checksum type="sha256" pkgid="YES">bbbb</checksum>
</package>
<package type="rpm">
  <name>d</name>
  <checksum type="sha256" pkgid="YES">dddd</checksum>
</package>
</metadata>
"#;

    fn set(items: &[&str]) -> HashSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn primary_keeps_records_byte_for_byte() {
        let keep = set(&["aaaa", "dddd"]);
        let (out, o) = run(PRIMARY, Some(2), &mut primary(&keep));
        assert_eq!(
            o,
            Outcome {
                kept: 2,
                changed: 0,
                dropped: 1
            }
        );
        let expect = PRIMARY
            .replace("packages=\"3\"", "packages=\"2\"")
            .replace(
                "<package type=\"rpm\">\n  <name>b &amp; c</name>\n  <checksum type=\"sha256\" pkgid=\"YES\">bbbb</checksum>\n</package>\n",
                "",
            );
        assert_eq!(out, expect);
        // Keeping all is the identity.
        let all = set(&["aaaa", "bbbb", "dddd"]);
        assert_eq!(run(PRIMARY, Some(3), &mut primary(&all)).0, PRIMARY);
        // Dropping all leaves an empty but valid document.
        let (out, _) = run(PRIMARY, Some(0), &mut primary(&HashSet::new()));
        assert!(out.contains("packages=\"0\">\n</metadata>"), "{out}");
    }

    #[test]
    fn a_record_without_checksum_is_an_error() {
        let doc = "<metadata packages='1'><package><name>x</name></package></metadata>";
        let mut out = Vec::new();
        let err = rewrite(
            doc.as_bytes(),
            &mut out,
            Some(1),
            &mut primary(&HashSet::new()),
        )
        .unwrap_err();
        assert!(err.to_string().contains("without a <checksum>"), "{err}");
    }

    #[test]
    fn truncated_input_is_an_error() {
        let cut = &PRIMARY[..PRIMARY.len() - 20];
        let mut out = Vec::new();
        assert!(
            rewrite(
                cut.as_bytes(),
                &mut out,
                None,
                &mut primary(&set(&["aaaa"]))
            )
            .is_err()
        );
    }

    #[test]
    fn packages_attribute_rewrites() {
        assert_eq!(
            with_packages_attr(b"<filelists xmlns=\"x\" packages = '10'>", 7),
            b"<filelists xmlns=\"x\" packages = '7'>"
        );
        assert_eq!(
            with_packages_attr(b"<a nopackages=\"1\">", 3),
            b"<a nopackages=\"1\">"
        );
        assert_eq!(with_packages_attr(b"<a>", 3), b"<a>");
    }

    #[test]
    fn filelists_by_pkgid() {
        let doc = "<filelists packages=\"2\">\n<package pkgid=\"aaaa\" name=\"a\" arch=\"noarch\"><file>/x</file></package>\n<package pkgid=\"bbbb\" name=\"b\" arch=\"noarch\"/>\n</filelists>\n";
        let keep = set(&["bbbb"]);
        let (out, o) = run(doc, Some(1), &mut filelists_or_other(&keep));
        assert_eq!(o.kept, 1);
        assert_eq!(
            out,
            "<filelists packages=\"1\">\n<package pkgid=\"bbbb\" name=\"b\" arch=\"noarch\"/>\n</filelists>\n"
        );
    }

    const UPDATES: &str = r#"<?xml version="1.0"?>
<updates>
  <update type="bugfix">
    <id>A-1</id>
    <pkglist>
      <collection short="c">
        <package name="a" version="1" release="1" epoch="0" arch="noarch">
          <filename>a-1-1.noarch.rpm</filename>
        </package>
        <package name="b" version="1" release="1" arch="noarch">
          <filename>b-1-1.noarch.rpm</filename>
        </package>
      </collection>
    </pkglist>
  </update>
  <update type="security">
    <id>A-2</id>
    <pkglist>
      <collection short="c">
        <package name="z" version="1" release="1" epoch="0" arch="noarch"><filename>z</filename></package>
      </collection>
    </pkglist>
  </update>
  <update type="enhancement">
    <id>A-3</id>
  </update>
</updates>
"#;

    #[test]
    fn updateinfo_drops_references_then_empty_advisories() {
        let keep = set(&[&nevra_key("a", "0", "1", "1", "noarch")]);
        let (out, o) = run(UPDATES, None, &mut updateinfo(&keep, &HashSet::new()));
        assert_eq!(
            o,
            Outcome {
                kept: 1,
                changed: 1,
                dropped: 1
            }
        );
        assert!(out.contains("<id>A-1</id>") && out.contains("a-1-1.noarch.rpm"));
        assert!(!out.contains("b-1-1") && !out.contains("A-2"), "{out}");
        // An advisory that never listed packages is kept as it was.
        assert!(out.contains("<update type=\"enhancement\">\n    <id>A-3</id>\n  </update>"));
        // Still well-formed, and what remains reads as the original did.
        assert!(
            out.contains("<collection short=\"c\">\n        <package name=\"a\""),
            "{out}"
        );
        let mut check = XmlReader::new(out.as_bytes());
        while !matches!(check.event().unwrap(), Ev::Eof) {}
        // Keeping everything is the identity.
        let all = set(&[
            &nevra_key("a", "0", "1", "1", "noarch"),
            &nevra_key("b", "", "1", "1", "noarch"),
            &nevra_key("z", "0", "1", "1", "noarch"),
        ]);
        assert_eq!(
            run(UPDATES, None, &mut updateinfo(&all, &HashSet::new())).0,
            UPDATES
        );
        // Dropped by id, whatever its packages.
        let (out, o) = run(UPDATES, None, &mut updateinfo(&all, &set(&["A-2"])));
        assert_eq!(o.dropped, 1);
        assert!(
            !out.contains("A-2") && out.contains("A-1") && out.contains("A-3"),
            "{out}"
        );
    }

    #[test]
    fn prestodelta_by_new_package() {
        let doc = "<prestodelta>\n  <newpackage name=\"a\" epoch=\"0\" version=\"2\" release=\"1\" arch=\"x86_64\"><delta/></newpackage>\n  <newpackage name=\"b\" epoch=\"0\" version=\"2\" release=\"1\" arch=\"x86_64\"><delta/></newpackage>\n</prestodelta>\n";
        let keep = set(&[&nevra_key("b", "0", "2", "1", "x86_64")]);
        let (out, o) = run(doc, None, &mut prestodelta(&keep));
        assert_eq!(o.dropped, 1);
        assert!(!out.contains("name=\"a\"") && out.contains("name=\"b\""));
    }

    #[test]
    fn repomd_replaces_drops_and_keeps() {
        let doc = r#"<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo">
  <revision>1700000000</revision>
  <data type="primary">
    <checksum type="sha256">old</checksum>
    <location href="repodata/old-primary.xml.gz"/>
  </data>
  <data type="primary_db">
    <location href="repodata/old-primary.sqlite.bz2"/>
  </data>
  <data type="group">
    <checksum type="sha1">0123456789abcdef0123456789abcdef01234567</checksum>
    <location href="repodata/comps.xml"/>
  </data>
</repomd>
"#;
        let sum = Checksum::new("sha256", &"ab".repeat(32)).unwrap();
        let new = NewRecord {
            kind: "primary".into(),
            href: "repodata/new-primary.xml.gz".into(),
            checksum: sum.clone(),
            open_checksum: sum,
            size: 10,
            open_size: 20,
            timestamp: 1_800_000_000,
        };
        let out = repomd(doc.as_bytes(), "1800000001", &[new], &|k| k == "primary_db").unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("<revision>1800000001</revision>"));
        assert!(!out.contains("old") && !out.contains("sqlite"), "{out}");
        assert!(out.contains("<location href=\"repodata/comps.xml\"/>\n  </data>\n</repomd>"));
        let md = crate::repomd::parse(out.as_bytes()).unwrap();
        let p = md.primary().unwrap();
        assert_eq!(p.href.as_str(), "repodata/new-primary.xml.gz");
        assert_eq!((p.size, p.open_size), (Some(10), Some(20)));
        assert_eq!(md.records.len(), 2);
    }
}
