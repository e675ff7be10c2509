//! Streaming reader of `primary.xml` (any compression): yields one
//! [`Package`] at a time so memory stays flat however large the repo is.
//! Only what a mirror needs is kept: NEVRA, location, checksum and size.

use std::io::BufRead;

use crate::checksum::Checksum;
use crate::href::{self, RelPath};
use crate::xml::{self, Ev, XmlError, XmlReader};

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
    #[error("primary metadata: {0}")]
    Xml(#[from] XmlError),
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
    let mut reader = XmlReader::new(input);
    loop {
        let pos = reader.position();
        match reader.event()? {
            Ev::Start(e) | Ev::Empty(e) => {
                return Ok(xml::attr(&e, "packages")
                    .map_err(|msg| PrimaryError::Xml(XmlError::Malformed { pos, msg }))?
                    .and_then(|v| v.parse().ok()));
            }
            Ev::Eof => return Ok(None),
            _ => {}
        }
    }
}

/// Read every package of a (decompressed) primary and hand it to `each`.
/// Returns how many packages the file declared in `<metadata packages="N">`.
pub fn for_each_package<R: BufRead, E>(
    input: R,
    mut each: impl FnMut(Package) -> Result<(), E>,
) -> Result<Result<Option<u64>, E>, PrimaryError> {
    let mut reader = XmlReader::new(input);
    let mut declared = None;
    let mut index = 0u64;
    let mut cur: Option<Partial> = None;
    // The reader's depth at the current <package>: fields we want are its
    // direct children.
    let mut pkg_depth = 0usize;
    let mut field: Option<&'static str> = None;
    let mut text = String::new();
    loop {
        let (ev, depth) = reader.next_with_depth()?;
        let invalid = |cur: &Option<Partial>, msg: String| PrimaryError::Invalid {
            index,
            name: cur
                .as_ref()
                .and_then(|p| p.name.clone())
                .unwrap_or_else(|| "?".into()),
            msg,
        };
        match ev {
            Ev::Start(ref e) | Ev::Empty(ref e) => {
                let empty = matches!(ev, Ev::Empty(_));
                let name = xml::local(e);
                // An empty element does not change the depth: its children would be one deeper.
                let child_depth = if empty { depth + 1 } else { depth };
                match cur.as_mut() {
                    None if name == "metadata" => {
                        declared = xml::attr(e, "packages")
                            .map_err(|m| invalid(&cur, m))?
                            .and_then(|v| v.parse().ok());
                    }
                    None if name == "package" => {
                        index += 1;
                        if empty {
                            return Err(PrimaryError::Invalid {
                                index,
                                name: "?".into(),
                                msg: "empty <package>".into(),
                            });
                        }
                        cur = Some(Partial {
                            epoch: "0".into(),
                            ..Partial::default()
                        });
                        pkg_depth = depth;
                    }
                    Some(p) if child_depth == pkg_depth + 1 => {
                        let a = |k| xml::attr(e, k);
                        match name {
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
                    _ => {}
                }
            }
            Ev::Text(t) if field.is_some() => text.push_str(&t),
            Ev::Text(_) | Ev::Skip => {}
            Ev::End(name) => {
                if let (Some(f), Some(p)) = (field.take(), cur.as_mut()) {
                    let v = Some(text.trim().to_owned());
                    match f {
                        "name" => p.name = v,
                        "arch" => p.arch = v,
                        _ => p.checksum = v,
                    }
                }
                if cur.is_some() && depth + 1 == pkg_depth && name == "package" {
                    let p = cur.take().expect("checked");
                    if let Err(e) = each(finish(p, index)?) {
                        return Ok(Err(e));
                    }
                }
            }
            Ev::Eof => break,
        }
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
                // Refused wherever it stands, as libxml2 does: one guard for all readers.
                SAMPLE.replace("<summary>A &amp; B</summary>", "<summary>&lol9;</summary>"),
                "undefined entity",
            ),
            (
                SAMPLE.replace("<name>pkg-a</name>", "<name>&lol9;</name>"),
                "undefined entity",
            ),
            (
                SAMPLE.replace("</metadata>", "<package type=\"rpm\"><name>x</name>"),
                "truncated",
            ),
            (SAMPLE.replace("</metadata>", ""), "truncated"),
        ];
        for (text, needle) in cases {
            let err = all(&text).unwrap_err();
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
