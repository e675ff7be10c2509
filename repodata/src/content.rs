//! Files a repository lists besides its packages and metadata, which a
//! snapshot must hold too:
//!
//! - deltarpms (`drpms/...`) listed in the `prestodelta` (or `deltainfo`)
//!   metadata, each with its size and checksum;
//! - an installer tree's files (kernel, initrd, `install.img`, EFI images)
//!   listed in `.treeinfo` (or the older `treeinfo`), each verified against
//!   its `[checksums]` section, as anaconda and `virt-install --location`
//!   expect to find them.
//!
//! Invariant: every path returned passed [`href::check`] and lies outside
//! `repodata/`; a file listed without a checksum, an unsafe path or a
//! malformed entry is an error naming the file, never skipped.

use std::io::BufRead;
use std::path::Path;

use mirror_index::repofile::{Dialect, RepoFile};

use crate::checksum::Checksum;
use crate::href::{self, RelPath};
use crate::repomd::Repomd;
use crate::xml::{self, Ev, XmlReader};

/// The names an installer tree's description goes by, newest first.
pub const TREEINFO_NAMES: [&str; 2] = [".treeinfo", "treeinfo"];

/// One file the metadata lists, with what it must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub href: RelPath,
    pub checksum: Checksum,
    /// Unknown for installer-tree files (`.treeinfo` gives no sizes).
    pub size: Option<u64>,
}

fn safe(path: &str, what: &str) -> Result<RelPath, String> {
    let p = href::check(path).map_err(|e| format!("{what}: {e}"))?;
    if p.is_metadata() {
        return Err(format!("{what}: {path:?} lies in repodata/"));
    }
    Ok(p)
}

/// The deltarpms a `prestodelta`/`deltainfo` document lists (decompressed).
pub fn deltas<R: BufRead>(input: R) -> Result<Vec<Listed>, String> {
    let mut reader = XmlReader::new(input);
    let mut out = Vec::new();
    let (mut filename, mut size, mut sum_type, mut sum) = (None, None, None, None);
    let mut field: Option<&'static str> = None;
    let mut text = String::new();
    loop {
        match reader.event().map_err(|e| e.to_string())? {
            Ev::Start(ref e) => {
                field = match xml::local(e) {
                    "delta" => {
                        (filename, size, sum_type, sum) = (None, None, None, None);
                        None
                    }
                    "filename" => Some("filename"),
                    "size" => Some("size"),
                    "checksum" => {
                        sum_type = xml::attr(e, "type")?;
                        Some("checksum")
                    }
                    _ => None,
                };
                text.clear();
            }
            Ev::Text(t) if field.is_some() => text.push_str(&t),
            Ev::Empty(_) | Ev::Text(_) | Ev::Skip => {}
            Ev::End(name) => {
                let v = text.trim().to_owned();
                match field.take() {
                    Some("filename") => filename = Some(v),
                    Some("size") => size = Some(v),
                    Some("checksum") => sum = Some(v),
                    _ => {}
                }
                if name == "delta" {
                    out.push(delta(
                        filename.take(),
                        size.take(),
                        sum_type.as_deref(),
                        sum.as_deref(),
                    )?);
                }
            }
            Ev::Eof => return Ok(out),
        }
    }
}

fn delta(
    filename: Option<String>,
    size: Option<String>,
    sum_type: Option<&str>,
    sum: Option<&str>,
) -> Result<Listed, String> {
    let f = filename.ok_or("a <delta> without a <filename>")?;
    let what = format!("delta {f:?}");
    let checksum = Checksum::new(
        sum_type.unwrap_or(""),
        sum.ok_or(format!("{what} has no checksum"))?,
    )
    .map_err(|e| format!("{what}: {e}"))?;
    let size = size
        .map(|s| s.parse().map_err(|_| format!("{what}: bad size {s:?}")))
        .transpose()?;
    Ok(Listed {
        href: safe(&f, &what)?,
        checksum,
        size,
    })
}

/// The files a `.treeinfo` lists: every `[checksums]` entry, and every
/// image named in `[images-*]` or `[stage2]`, which must have one.
pub fn treeinfo(text: &str) -> Result<Vec<Listed>, String> {
    let file = RepoFile::parse(text, Dialect::Ini).map_err(|e| e.to_string())?;
    let mut out: Vec<Listed> = Vec::new();
    if let Some(sums) = file.section("checksums") {
        for e in &sums.entries {
            let key = file.key_as_written(e);
            let what = format!("[checksums] {key}");
            let (kind, hex) = e
                .value
                .split_once(':')
                .ok_or(format!("{what}: expected TYPE:HEX, got {:?}", e.value))?;
            out.push(Listed {
                href: safe(key, &what)?,
                checksum: Checksum::new(kind, hex).map_err(|m| format!("{what}: {m}"))?,
                size: None,
            });
        }
    }
    for s in &file.sections {
        if !(s.id.starts_with("images-") || s.id == "stage2") {
            continue;
        }
        for e in &s.entries {
            if !out.iter().any(|l| l.href.as_str() == e.value) {
                return Err(format!(
                    "[{}] {} = {} has no entry in [checksums]",
                    s.id, e.key, e.value
                ));
            }
        }
    }
    Ok(out)
}

/// Every file `dir` must hold besides packages and metadata: the deltarpms
/// its metadata lists, and its installer tree's files.
pub fn extra_files(dir: &Path, md: &Repomd) -> Result<Vec<Listed>, String> {
    let mut out = Vec::new();
    for rec in md
        .records
        .iter()
        .filter(|r| r.kind == "prestodelta" || r.kind == "deltainfo")
    {
        let reader = rec
            .open_in(dir)
            .map_err(|e| format!("{}: {e}", rec.href.as_str()))?;
        out.extend(deltas(reader).map_err(|e| format!("{}: {e}", rec.href.as_str()))?);
    }
    for name in TREEINFO_NAMES {
        match std::fs::read(dir.join(name)) {
            Ok(bytes) => {
                let text = std::str::from_utf8(&bytes).map_err(|e| format!("{name}: {e}"))?;
                out.extend(treeinfo(text).map_err(|e| format!("{name}: {e}"))?);
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{name}: {e}")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUM: &str = "4d3f4d120781ff9a03a822367a5cf4ed0825f4899b86fe1a3973ec354f337e4d";

    #[test]
    fn reads_prestodelta() {
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<prestodelta>
  <newpackage name="tour" epoch="0" version="5" release="1" arch="noarch">
     <delta oldepoch="0" oldversion="5" oldrelease="0">
      <filename>drpms/tour-5-1.noarch.drpm</filename>
      <sequence>tour-5-0-bb2e9c0d5b518a11b810df3cd245c93130</sequence>
      <size>2365</size>
      <checksum type="sha256">{SUM}</checksum>
    </delta>
    </newpackage>
</prestodelta>"#
        );
        let d = deltas(xml.as_bytes()).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].href.as_str(), "drpms/tour-5-1.noarch.drpm");
        assert_eq!(d[0].size, Some(2365));
        assert_eq!(d[0].checksum.hex, SUM);
        for (bad, needle) in [
            (xml.replace("drpms/tour", "../tour"), "unsafe"),
            (xml.replace("drpms/tour", "repodata/tour"), "repodata"),
            (xml.replace(SUM, "zz"), "malformed"),
            (xml.replace("</prestodelta>", ""), "truncated"),
            (
                xml.replace("<filename>drpms/tour-5-1.noarch.drpm</filename>", ""),
                "without a <filename>",
            ),
        ] {
            let err = deltas(bad.as_bytes()).unwrap_err();
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }

    #[test]
    fn reads_treeinfo() {
        let ti = format!(
            "[header]\ntype = productmd.treeinfo\nversion = 1.2\n\n[images-x86_64]\nkernel = images/pxeboot/vmlinuz\ninitrd = images/pxeboot/initrd.img\n\n\
             [stage2]\nmainimage = images/install.img\n\n[variant-AppStream]\nrepository = ../../../AppStream/x86_64/os\n\n\
             [checksums]\nimages/install.img = sha256:{SUM}\nimages/pxeboot/initrd.img = sha256:{SUM}\nimages/pxeboot/vmlinuz = sha256:{SUM}\nEFI/BOOT/BOOTX64.EFI = sha256:{SUM}\n"
        );
        let files = treeinfo(&ti).unwrap();
        let paths: Vec<&str> = files.iter().map(|f| f.href.as_str()).collect();
        assert_eq!(
            paths,
            [
                "images/install.img",
                "images/pxeboot/initrd.img",
                "images/pxeboot/vmlinuz",
                "EFI/BOOT/BOOTX64.EFI"
            ]
        );
        for (bad, needle) in [
            (
                ti.replace("images/install.img = sha256", "x = sha256"),
                "has no entry in [checksums]",
            ),
            (
                ti.replace(
                    &format!("images/install.img = sha256:{SUM}"),
                    "images/install.img = abc",
                ),
                "TYPE:HEX",
            ),
            (
                ti.replace("images/install.img = sha256", "../install.img = sha256"),
                "unsafe",
            ),
        ] {
            let err = treeinfo(&bad).unwrap_err();
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }
}
