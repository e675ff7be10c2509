//! Streaming reader of `primary.xml` (any compression): yields one
//! [`Package`] at a time so memory stays flat however large the repo is.
//! Only what a mirror needs is kept: NEVRA, location, checksum and size.

use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::checksum::Checksum;
use crate::href::{self, RelPath};
use crate::xml;

/// One `<package>` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub arch: String,
    pub epoch: String,
    pub version: String,
    pub release: String,
    pub href: RelPath,
    /// `xml:base` of the location, when upstream set one.
    pub location_base: Option<String>,
    pub checksum: Checksum,
    pub size: u64,
}

impl Package {
    /// `name-epoch:version-release.arch`
    pub fn nevra(&self) -> String {
        format!(
            "{}-{}:{}-{}.{}",
            self.name, self.epoch, self.version, self.release, self.arch
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PrimaryError {
    #[error("primary metadata is not well-formed XML (at byte {pos}): {msg}")]
    Xml { pos: u64, msg: String },
    #[error("primary metadata, package #{index} ({name}): {msg}")]
    Invalid {
        index: u64,
        name: String,
        msg: String,
    },
    #[error("primary metadata, package #{index} ({name})")]
    Href {
        index: u64,
        name: String,
        #[source]
        source: href::UnsafeHref,
    },
}

#[derive(Default)]
struct Partial {
    name: Option<String>,
    arch: Option<String>,
    epoch: String,
    version: String,
    release: String,
    href: Option<String>,
    base: Option<String>,
    checksum_type: Option<String>,
    checksum: Option<String>,
    size: Option<String>,
}

/// The package count a primary declares (`<metadata packages="N">`),
/// read from its first element only.
pub fn declared_packages<R: BufRead>(input: R) -> Result<Option<u64>, PrimaryError> {
    let mut reader = Reader::from_reader(input);
    let mut buf = Vec::new();
    loop {
        let pos = reader.buffer_position();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(ref e) | Event::Empty(ref e)) => {
                return Ok(xml::attr(e, "packages")
                    .map_err(|msg| PrimaryError::Xml { pos, msg })?
                    .and_then(|v| v.parse().ok()));
            }
            Ok(Event::Eof) => return Ok(None),
            Ok(_) => {}
            Err(e) => {
                return Err(PrimaryError::Xml {
                    pos,
                    msg: e.to_string(),
                });
            }
        }
        buf.clear();
    }
}

/// Read every package of a (decompressed) primary and hand it to `each`.
/// Returns how many packages the file declared in `<metadata packages="N">`.
pub fn for_each_package<R: BufRead, E>(
    input: R,
    mut each: impl FnMut(Package) -> Result<(), E>,
) -> Result<Result<Option<u64>, E>, PrimaryError> {
    let mut reader = Reader::from_reader(input);
    let mut buf = Vec::new();
    let mut declared = None;
    let mut index = 0u64;
    let mut cur: Option<Partial> = None;
    // Depth inside the current <package>: fields we want are direct children (depth 1).
    let mut depth = 0usize;
    let mut field: Option<&'static str> = None;
    let mut text = String::new();
    let mut open = 0usize;
    loop {
        let pos = reader.buffer_position();
        let ev = reader
            .read_event_into(&mut buf)
            .map_err(|e| PrimaryError::Xml {
                pos,
                msg: e.to_string(),
            })?;
        let index_now = index;
        let invalid = move |cur: &Option<Partial>, msg: String| PrimaryError::Invalid {
            index: index_now,
            name: cur
                .as_ref()
                .and_then(|p| p.name.clone())
                .unwrap_or_else(|| "?".into()),
            msg,
        };
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                if !empty {
                    open += 1;
                }
                let name = xml::local(e);
                if cur.is_none() {
                    if name == "metadata" {
                        declared = xml::attr(e, "packages")
                            .map_err(|m| invalid(&cur, m))?
                            .and_then(|v| v.parse().ok());
                    } else if name == "package" {
                        index += 1;
                        cur = Some(Partial {
                            epoch: "0".into(),
                            ..Partial::default()
                        });
                        depth = 0;
                        if empty {
                            return Err(invalid(&cur, "empty <package>".into()));
                        }
                        buf.clear();
                        continue;
                    }
                } else if let (0, Some(p)) = (depth, cur.as_mut()) {
                    let a = |k| xml::attr(e, k);
                    match name.as_str() {
                        "name" | "arch" if !empty => {
                            field = Some(if name == "name" { "name" } else { "arch" });
                            text.clear();
                        }
                        "version" => {
                            p.epoch = a("epoch")
                                .ok()
                                .flatten()
                                .filter(|s| !s.is_empty())
                                .unwrap_or_else(|| "0".into());
                            p.version = a("ver").ok().flatten().unwrap_or_default();
                            p.release = a("rel").ok().flatten().unwrap_or_default();
                        }
                        "checksum" if !empty => {
                            p.checksum_type = a("type").ok().flatten();
                            field = Some("checksum");
                            text.clear();
                        }
                        "location" => {
                            p.href = a("href").ok().flatten();
                            p.base = a("xml:base").ok().flatten();
                        }
                        "size" => p.size = a("package").ok().flatten(),
                        _ => {}
                    }
                }
                if cur.is_some() && !empty {
                    depth += 1;
                }
            }
            Event::Text(t) if field.is_some() => text.push_str(&t.xml10_content()),
            Event::CData(t) if field.is_some() => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if field.is_some() => {
                xml::push_ref(&mut text, &r).map_err(|m| invalid(&cur, m))?;
            }
            Event::End(ref e) => {
                open = open.saturating_sub(1);
                if let (Some(f), Some(p)) = (field.take(), cur.as_mut()) {
                    let v = Some(text.trim().to_owned());
                    match f {
                        "name" => p.name = v,
                        "arch" => p.arch = v,
                        _ => p.checksum = v,
                    }
                }
                if cur.is_some() {
                    if depth == 0 && e.local_name().as_ref() == "package" {
                        let p = cur.take().expect("checked");
                        let pkg = finish(p, index)?;
                        if let Err(e) = each(pkg) {
                            return Ok(Err(e));
                        }
                    } else {
                        depth = depth.saturating_sub(1);
                    }
                }
            }
            Event::DocType(_) => {
                return Err(PrimaryError::Xml {
                    pos,
                    msg: "DOCTYPE declarations are not accepted".into(),
                });
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if cur.is_some() || open != 0 {
        return Err(PrimaryError::Xml {
            pos: reader.buffer_position(),
            msg: "file ends inside an element (truncated?)".into(),
        });
    }
    Ok(Ok(declared))
}

fn finish(p: Partial, index: u64) -> Result<Package, PrimaryError> {
    let name = p.name.clone().unwrap_or_else(|| "?".into());
    let invalid = |msg: String| PrimaryError::Invalid {
        index,
        name: name.clone(),
        msg,
    };
    let pkg_name = p
        .name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid("no <name>".into()))?;
    let href_text = p.href.ok_or_else(|| invalid("no <location href>".into()))?;
    let href = href::check_package(&href_text).map_err(|source| PrimaryError::Href {
        index,
        name: name.clone(),
        source,
    })?;
    let checksum = Checksum::new(
        p.checksum_type.as_deref().unwrap_or(""),
        p.checksum
            .as_deref()
            .ok_or_else(|| invalid("no <checksum>".into()))?,
    )
    .map_err(invalid)?;
    let size_text = p
        .size
        .ok_or_else(|| invalid("no <size package=...>".into()))?;
    let size = size_text
        .parse()
        .map_err(|_| invalid(format!("bad package size {size_text:?}")))?;
    Ok(Package {
        name: pkg_name,
        arch: p.arch.unwrap_or_default(),
        epoch: p.epoch,
        version: p.version,
        release: p.release,
        href,
        location_base: p.base,
        checksum,
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const SAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="2">
<package type="rpm">
  <name>pkg-a</name>
  <arch>x86_64</arch>
  <version epoch="0" ver="1.0" rel="1"/>
  <checksum type="sha256" pkgid="YES">ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad</checksum>
  <summary>A &amp; B</summary>
  <size package="6180" installed="10240" archive="10560"/>
  <location href="Packages/pkg-a-1.0-1.x86_64.rpm"/>
  <format>
    <rpm:provides><rpm:entry name="pkg-a" flags="EQ" epoch="0" ver="1.0" rel="1"/></rpm:provides>
    <file>/usr/share/name</file>
  </format>
</package>
<package type="rpm">
  <name>pkg&amp;b</name>
  <arch>noarch</arch>
  <version epoch="2" ver="3" rel="4.el7"/>
  <checksum type="sha" pkgid="YES">a9993e364706816aba3e25717850c26c9cd0d89d</checksum>
  <size package="10" installed="0" archive="0"/>
  <location xml:base="http://elsewhere.example/repo/" href="b.rpm"/>
  <format/>
</package>
</metadata>"#;

    fn all(text: &str) -> Result<Vec<Package>, PrimaryError> {
        let mut v = Vec::new();
        let declared = for_each_package(text.as_bytes(), |p| {
            v.push(p);
            Ok::<_, ()>(())
        })?
        .unwrap();
        assert_eq!(declared, Some(2));
        Ok(v)
    }

    #[test]
    fn reads_packages_and_ignores_nested_names() {
        let v = all(SAMPLE).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].nevra(), "pkg-a-0:1.0-1.x86_64");
        assert_eq!(v[0].href.as_str(), "Packages/pkg-a-1.0-1.x86_64.rpm");
        assert_eq!(v[0].size, 6180);
        assert_eq!(v[0].location_base, None);
        assert_eq!(v[1].nevra(), "pkg&b-2:3-4.el7.noarch");
        assert_eq!(
            v[1].location_base.as_deref(),
            Some("http://elsewhere.example/repo/")
        );
        assert_eq!(v[1].checksum.kind, crate::checksum::Kind::Sha1);
    }

    #[test]
    fn refuses_bad_packages() {
        let cases = [
            (
                SAMPLE.replace("Packages/pkg-a-1.0-1.x86_64.rpm", "../../x.rpm"),
                "unsafe href",
            ),
            (
                SAMPLE.replace("Packages/pkg-a-1.0-1.x86_64.rpm", ""),
                "empty path",
            ),
            (
                SAMPLE.replace("Packages/pkg-a-1.0-1.x86_64.rpm", "repodata/repomd.xml"),
                "repodata",
            ),
            (
                SAMPLE.replace("package=\"6180\"", "package=\"-1\""),
                "bad package size",
            ),
            (
                SAMPLE.replace("<summary>A &amp; B</summary>", "<summary>&lol9;</summary>"),
                "",
            ),
            (
                SAMPLE.replace("<name>pkg-a</name>", "<name>&lol9;</name>"),
                "undefined entity",
            ),
            (
                SAMPLE.replace("</metadata>", "<package type=\"rpm\"><name>x</name>"),
                "ends inside",
            ),
            (SAMPLE.replace("</metadata>", ""), "truncated"),
        ];
        for (text, needle) in cases {
            let res = all(&text);
            if needle.is_empty() {
                // Entities in fields we do not read are not expanded either, and harmless.
                assert!(res.is_ok(), "{res:?}");
                continue;
            }
            let err = res.unwrap_err();
            let msg = format!(
                "{err}: {}",
                std::error::Error::source(&err)
                    .map(ToString::to_string)
                    .unwrap_or_default()
            );
            assert!(msg.contains(needle), "expected {needle:?} in {msg:?}");
        }
    }

    #[test]
    fn callback_error_stops_the_stream() {
        let mut n = 0;
        let r = for_each_package(SAMPLE.as_bytes(), |_| {
            n += 1;
            Err("stop")
        })
        .unwrap();
        assert_eq!(r, Err("stop"));
        assert_eq!(n, 1);
    }
}
