//! `repodata/repomd.xml`: the list of metadata files, each with its location,
//! checksum and size. This is the root of trust for a sync: every other file
//! is verified against what this file (or, for packages, the primary it
//! lists) says.

use crate::checksum::Checksum;
use crate::href::{self, RelPath};
use crate::xml::{self, Ev, XmlError, XmlReader};

/// One `<data type="...">` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// `primary`, `filelists`, `updateinfo`, `group`, `primary_zck`, ...
    pub kind: String,
    pub href: RelPath,
    pub checksum: Checksum,
    pub size: Option<u64>,
    /// `<open-size>`: the size once decompressed, enforced while reading.
    pub open_size: Option<u64>,
    /// `<timestamp>`: when the file was made (seconds since the epoch; a
    /// fraction is dropped, anything unreadable is `None`: it only orders).
    pub timestamp: Option<u64>,
}

impl Record {
    /// Open this record's file under `dir` for reading, decompressed and
    /// bounded by its declared open-size (see [`crate::decompress::open_metadata`]).
    pub fn open_in(
        &self,
        dir: &std::path::Path,
    ) -> std::io::Result<Box<dyn std::io::BufRead + Send>> {
        crate::decompress::open_metadata(&self.href.under(dir), self.open_size)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Repomd {
    pub revision: Option<String>,
    pub records: Vec<Record>,
}

impl Repomd {
    /// The record of type `primary` (the XML one, not `primary_db`/`primary_zck`).
    pub fn primary(&self) -> Option<&Record> {
        self.records.iter().find(|r| r.kind == "primary")
    }

    /// The newest `<timestamp>` of its records.
    pub fn newest_timestamp(&self) -> Option<u64> {
        self.records.iter().filter_map(|r| r.timestamp).max()
    }
}

/// Why a repomd.xml was refused.
#[derive(Debug, thiserror::Error)]
pub enum RepomdError {
    #[error("repomd.xml: {0}")]
    Xml(#[from] XmlError),
    #[error("repomd.xml: {0}")]
    Invalid(String),
    #[error("repomd.xml")]
    Href(#[from] href::UnsafeHref),
}

#[derive(Default)]
struct Partial {
    kind: String,
    href: Option<String>,
    checksum_type: Option<String>,
    checksum: Option<String>,
    size: Option<String>,
    open_size: Option<String>,
    timestamp: Option<String>,
}

/// Parse repomd.xml. A `<location xml:base>` on a metadata record is
/// refused: metadata must live in the repository itself.
pub fn parse(bytes: &[u8]) -> Result<Repomd, RepomdError> {
    let mut reader = XmlReader::new(bytes);
    let mut out = Repomd::default();
    let mut cur: Option<Partial> = None;
    // Which element's text we are collecting.
    let mut field: Option<&'static str> = None;
    let mut text = String::new();
    let mut saw_root = false;
    let invalid = RepomdError::Invalid;
    loop {
        match reader.event()? {
            Ev::Start(ref e) => {
                let name = xml::local(e);
                match (name, cur.as_mut()) {
                    ("repomd", _) => saw_root = true,
                    ("data", None) => {
                        let kind = xml::attr(e, "type").map_err(invalid)?.unwrap_or_default();
                        cur = Some(Partial {
                            kind,
                            ..Partial::default()
                        });
                    }
                    ("location", Some(p)) => location(e, p)?,
                    ("checksum", Some(p)) => {
                        p.checksum_type = xml::attr(e, "type").map_err(invalid)?;
                        field = Some("checksum");
                    }
                    ("size", Some(_)) => field = Some("size"),
                    ("open-size", Some(_)) => field = Some("open-size"),
                    ("timestamp", Some(_)) => field = Some("timestamp"),
                    ("revision", None) => field = Some("revision"),
                    _ => {}
                }
                text.clear();
            }
            Ev::Empty(ref e) => match (xml::local(e), cur.as_mut()) {
                ("repomd", _) => saw_root = true,
                ("data", None) => return Err(invalid("empty <data> record".into())),
                ("location", Some(p)) => location(e, p)?,
                _ => {}
            },
            Ev::Text(t) if field.is_some() => text.push_str(&t),
            Ev::Text(_) | Ev::Skip => {}
            Ev::End(name) => {
                let v = || Some(text.trim().to_owned());
                match (field.take(), cur.as_mut()) {
                    (Some("checksum"), Some(p)) => p.checksum = v(),
                    (Some("size"), Some(p)) => p.size = v(),
                    (Some("open-size"), Some(p)) => p.open_size = v(),
                    (Some("timestamp"), Some(p)) => p.timestamp = v(),
                    (Some("revision"), None) => out.revision = v(),
                    _ => {}
                }
                if name == "data" {
                    let p = cur.take().ok_or_else(|| invalid("stray </data>".into()))?;
                    out.records.push(finish(p)?);
                }
            }
            Ev::Eof => break,
        }
    }
    if !saw_root {
        return Err(RepomdError::Invalid("no <repomd> element".into()));
    }
    if out.primary().is_none() {
        return Err(RepomdError::Invalid("no primary metadata listed".into()));
    }
    let mut seen = std::collections::HashSet::new();
    for r in &out.records {
        if !seen.insert(r.href.as_str()) {
            return Err(RepomdError::Invalid(format!(
                "{} is listed twice",
                r.href.as_str()
            )));
        }
    }
    Ok(out)
}

fn location(e: &quick_xml::events::BytesStart<'_>, p: &mut Partial) -> Result<(), RepomdError> {
    if xml::attr(e, "xml:base")
        .map_err(RepomdError::Invalid)?
        .is_some()
    {
        return Err(RepomdError::Invalid(format!(
            "<data type=\"{}\"> has an xml:base; metadata must live in the repository itself",
            p.kind
        )));
    }
    p.href = xml::attr(e, "href").map_err(RepomdError::Invalid)?;
    Ok(())
}

fn finish(p: Partial) -> Result<Record, RepomdError> {
    let what = format!("<data type=\"{}\">", p.kind);
    let href_text = p
        .href
        .ok_or_else(|| RepomdError::Invalid(format!("{what} has no location")))?;
    let href = href::check(&href_text)?;
    if !href.is_metadata() || href.as_str() == "repodata/repomd.xml" {
        return Err(RepomdError::Invalid(format!(
            "{what} location {href_text:?} is not a file under repodata/"
        )));
    }
    let checksum = Checksum::new(
        p.checksum_type.as_deref().unwrap_or(""),
        p.checksum
            .as_deref()
            .ok_or_else(|| RepomdError::Invalid(format!("{what} has no checksum")))?,
    )
    .map_err(|e| RepomdError::Invalid(format!("{what}: {e}")))?;
    let number = |v: Option<String>, label: &str| -> Result<Option<u64>, RepomdError> {
        v.map(|s| {
            s.parse()
                .map_err(|_| RepomdError::Invalid(format!("{what}: bad {label} {s:?}")))
        })
        .transpose()
    };
    Ok(Record {
        kind: p.kind,
        href,
        checksum,
        size: number(p.size, "size")?,
        open_size: number(p.open_size, "open-size")?,
        timestamp: p
            .timestamp
            .and_then(|t| t.split('.').next().and_then(|w| w.parse().ok())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>1700000000</revision>
  <data type="primary">
    <checksum type="sha256">2f8f1f3c0c5cd8f0cb9b0f8b1b9bdc7c3a0f51d0c3dd5e6b6f4a5b4b3c2d1e0f</checksum>
    <open-checksum type="sha256">0000000000000000000000000000000000000000000000000000000000000000</open-checksum>
    <location href="repodata/2f8f-primary.xml.gz"/>
    <timestamp>1700000000</timestamp>
    <size>1234</size>
    <open-size>5678</open-size>
  </data>
  <data type="group">
    <checksum type="sha">a9993e364706816aba3e25717850c26c9cd0d89d</checksum>
    <location href="repodata/comps.xml"/>
  </data>
</repomd>"#;

    #[test]
    fn parses_records() {
        let md = parse(GOOD.as_bytes()).unwrap();
        assert_eq!(md.revision.as_deref(), Some("1700000000"));
        assert_eq!(md.records.len(), 2);
        let p = md.primary().unwrap();
        assert_eq!(p.href.as_str(), "repodata/2f8f-primary.xml.gz");
        assert_eq!(p.size, Some(1234));
        assert_eq!(p.open_size, Some(5678));
        assert_eq!(p.checksum.kind, crate::checksum::Kind::Sha256);
        assert_eq!(md.records[1].checksum.kind, crate::checksum::Kind::Sha1);
        assert_eq!(md.records[1].size, None);
    }

    #[test]
    fn refuses_hostile_or_broken_input() {
        let cases = [
            (
                GOOD.replace("repodata/2f8f-primary.xml.gz", "../../etc/passwd"),
                "unsafe href",
            ),
            (
                GOOD.replace("repodata/2f8f-primary.xml.gz", "/etc/passwd"),
                "absolute",
            ),
            (
                GOOD.replace("repodata/comps.xml", "Packages/comps.xml"),
                "not a file under repodata/",
            ),
            (
                GOOD.replace(
                    "<location href=\"repodata/comps.xml\"/>",
                    "<location xml:base=\"http://evil/\" href=\"repodata/comps.xml\"/>",
                ),
                "xml:base",
            ),
            (
                GOOD.replace("type=\"primary\"", "type=\"other\""),
                "no primary",
            ),
            (
                GOOD.replace("repodata/comps.xml", "repodata/2f8f-primary.xml.gz"),
                "listed twice",
            ),
            (
                GOOD.replace("<size>1234</size>", "<size>lots</size>"),
                "bad size",
            ),
            (
                GOOD.replace("<open-size>5678</open-size>", "<open-size>-1</open-size>"),
                "bad open-size",
            ),
            (
                GOOD.replace("type=\"sha\"", "type=\"md5\""),
                "unsupported checksum",
            ),
            (GOOD.replace("</repomd>", ""), "truncated"),
            (
                "<!DOCTYPE lolz [<!ENTITY lol \"lol\">]><repomd>&lol;</repomd>".to_owned(),
                "DOCTYPE",
            ),
            ("not xml at all".to_owned(), "no <repomd>"),
        ];
        for (text, needle) in cases {
            let err = parse(text.as_bytes()).unwrap_err();
            let msg = format!(
                "{err}: {}",
                std::error::Error::source(&err)
                    .map(ToString::to_string)
                    .unwrap_or_default()
            );
            assert!(msg.contains(needle), "expected {needle:?} in {msg:?}");
        }
    }
}
