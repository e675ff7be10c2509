//! Streaming readers of `filelists.xml` and `other.xml`: one
//! [`PackageRef`] per `<package pkgid name arch>` record, with its version
//! and how many entries (files, changelogs) it carries, in constant memory
//! however large the file. Filters use them to match these records to the
//! primary's packages by pkgid.

use std::io::BufRead;

use crate::xml::{self, Ev, XmlError, XmlReader};

/// One package record of filelists or other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageRef {
    pub pkgid: String,
    pub name: String,
    pub arch: String,
    pub epoch: String,
    pub version: String,
    pub release: String,
    /// `<file>` (filelists) or `<changelog>` (other) entries.
    pub entries: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("package record #{index}: {msg}")]
    Invalid { index: u64, msg: String },
}

/// Read every `<package>` record of a (decompressed) filelists or other
/// document; returns the count its root element declares.
pub fn for_each_record<R: BufRead, E>(
    input: R,
    mut each: impl FnMut(PackageRef) -> Result<(), E>,
) -> Result<Result<Option<u64>, E>, RecordsError> {
    let mut reader = XmlReader::new(input);
    let mut declared = None;
    let mut index = 0u64;
    let mut cur: Option<PackageRef> = None;
    loop {
        let ev = reader.event()?;
        // Records are numbered from 1; `index` counts the finished ones.
        let invalid = move |msg: String| RecordsError::Invalid {
            index: index + 1,
            msg,
        };
        match ev {
            Ev::Start(ref e) | Ev::Empty(ref e) => {
                let name = xml::local(e);
                let attr = |k| xml::attr(e, k).map_err(invalid);
                match (name.as_str(), cur.as_mut()) {
                    ("filelists" | "otherdata", None) => {
                        declared = attr("packages")?.and_then(|v| v.parse().ok());
                    }
                    ("package", None) => {
                        let need = |k: &str, v: Option<String>| {
                            v.ok_or_else(|| invalid(format!("<package> without {k}")))
                        };
                        let p = PackageRef {
                            pkgid: need("pkgid", attr("pkgid")?)?,
                            name: need("name", attr("name")?)?,
                            arch: attr("arch")?.unwrap_or_default(),
                            epoch: "0".into(),
                            version: String::new(),
                            release: String::new(),
                            entries: 0,
                        };
                        if matches!(ev, Ev::Empty(_)) {
                            index += 1;
                            if let Err(e) = each(p) {
                                return Ok(Err(e));
                            }
                        } else {
                            cur = Some(p);
                        }
                    }
                    ("version", Some(p)) => {
                        p.epoch = attr("epoch")?
                            .filter(|s| !s.is_empty())
                            .unwrap_or_else(|| "0".into());
                        p.version = attr("ver")?.unwrap_or_default();
                        p.release = attr("rel")?.unwrap_or_default();
                    }
                    ("file" | "changelog", Some(p)) => p.entries += 1,
                    _ => {}
                }
            }
            Ev::End(name) if name == "package" => {
                if let Some(p) = cur.take() {
                    index += 1;
                    if let Err(e) = each(p) {
                        return Ok(Err(e));
                    }
                }
            }
            Ev::End(_) | Ev::Text(_) | Ev::Skip => {}
            Ev::Eof => return Ok(Ok(declared)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Result<(Vec<PackageRef>, Option<u64>), RecordsError> {
        let mut v = Vec::new();
        let n = for_each_record(text.as_bytes(), |p| {
            v.push(p);
            Ok::<_, ()>(())
        })?
        .unwrap();
        Ok((v, n))
    }

    #[test]
    fn reads_filelists_and_other() {
        let fl = r#"<?xml version="1.0" encoding="UTF-8"?>
<filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="2">
<package pkgid="aa" name="pkg-a" arch="x86_64">
  <version epoch="1" ver="1.0" rel="1"/>
  <file>/usr/bin/a</file>
  <file type="dir">/usr/share/a</file>
</package>
<package pkgid="bb" name="pkg&amp;b" arch="noarch"><version epoch="0" ver="2" rel="3"/></package>
</filelists>"#;
        let (v, n) = all(fl).unwrap();
        assert_eq!(n, Some(2));
        assert_eq!(v.len(), 2);
        assert_eq!(
            (v[0].pkgid.as_str(), v[0].epoch.as_str(), v[0].entries),
            ("aa", "1", 2)
        );
        assert_eq!(v[1].name, "pkg&b");
        let other = r#"<otherdata packages="1"><package pkgid="cc" name="c" arch="noarch"><version epoch="0" ver="1" rel="1"/><changelog author="x" date="1">y</changelog></package></otherdata>"#;
        let (v, n) = all(other).unwrap();
        assert_eq!((n, v[0].entries), (Some(1), 1));
        assert!(matches!(
            all(&fl.replace("</filelists>", "")),
            Err(RecordsError::Xml(XmlError::Truncated))
        ));
        assert!(
            all(&fl.replace("pkgid=\"aa\" ", ""))
                .unwrap_err()
                .to_string()
                .contains("without pkgid")
        );
    }
}
