//! Streaming reader of `updateinfo.xml` (any compression): one
//! [`Advisory`] at a time, so memory stays flat however many advisories a
//! repository ships. Kept: id, type, severity, status, issued and updated
//! dates, title, references (CVE, bugzilla, vendor) and the packages each
//! advisory lists. Descriptions, rights and solutions are skipped unread.
//!
//! Bounds, beside the guarded loop's: a kept string is at most
//! [`MAX_FIELD`] bytes, an advisory lists at most [`MAX_PACKAGES`] packages
//! and [`MAX_REFERENCES`] references; past them the document is refused,
//! naming the advisory.

use std::io::BufRead;

use quick_xml::events::BytesStart;

use crate::xml::{self, Ev, XmlError, XmlReader};

/// The longest id, title, severity, reference or package field kept.
pub const MAX_FIELD: usize = 4096;
/// The most packages one advisory may list (a kernel advisory lists a few hundred).
pub const MAX_PACKAGES: usize = 65_536;
/// The most references one advisory may carry.
pub const MAX_REFERENCES: usize = 65_536;

/// One `<update>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advisory {
    pub id: String,
    /// `type`: security, bugfix, enhancement, newpackage (SUSE: recommended,
    /// optional, feature), as upstream wrote it.
    pub kind: String,
    /// `<severity>` (or a `severity` attribute): Critical, Important,
    /// Moderate, Low, as upstream wrote it.
    pub severity: Option<String>,
    pub status: Option<String>,
    /// Seconds since the epoch (UTC), when the date could be read.
    pub issued: Option<i64>,
    pub updated: Option<i64>,
    pub title: String,
    pub references: Vec<Reference>,
    pub packages: Vec<PackageRef>,
}

/// One `<reference>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reference {
    /// `cve`, `bugzilla`, `self`, `other`...
    pub kind: String,
    pub id: String,
}

/// One `<package>` of a `<pkglist>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct PackageRef {
    pub name: String,
    pub epoch: String,
    pub version: String,
    pub release: String,
    pub arch: String,
}

impl PackageRef {
    /// `name-epoch:version-release.arch`, as [`crate::rewrite::nevra_key`] spells it.
    pub fn nevra(&self) -> String {
        crate::rewrite::nevra_key(
            &self.name,
            &self.epoch,
            &self.version,
            &self.release,
            &self.arch,
        )
    }
}

impl Advisory {
    /// The CVE ids it references, in order, without repeats.
    pub fn cves(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .references
            .iter()
            .filter(|r| r.kind.eq_ignore_ascii_case("cve"))
            .map(|r| r.id.as_str())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Another record of the same id folded in (EPEL and Photon OS ship
    /// duplicates): packages and references are the union, the dates the
    /// newest, and fields this one lacks are taken from the other.
    pub fn merge(&mut self, other: Advisory) {
        self.packages.extend(other.packages);
        self.packages.sort();
        self.packages.dedup();
        self.references.extend(other.references);
        self.references.sort();
        self.references.dedup();
        self.issued = self.issued.max(other.issued);
        self.updated = self.updated.max(other.updated);
        if self.severity.is_none() {
            self.severity = other.severity;
        }
        if self.status.is_none() {
            self.status = other.status;
        }
        if self.title.is_empty() {
            self.title = other.title;
        }
        if self.kind.is_empty() {
            self.kind = other.kind;
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateinfoError {
    #[error("updateinfo: {0}")]
    Xml(#[from] XmlError),
    #[error("updateinfo, advisory #{index} ({id}): {msg}")]
    Invalid { index: u64, id: String, msg: String },
}

/// The text field being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Id,
    Title,
    Severity,
}

/// Read every advisory of a (decompressed) updateinfo and hand it to
/// `each`; the callback's error stops the stream and comes back as the
/// inner `Err`. Returns how many advisories were read.
pub fn for_each_advisory<R: BufRead, E>(
    input: R,
    mut each: impl FnMut(Advisory) -> Result<(), E>,
) -> Result<Result<u64, E>, UpdateinfoError> {
    let mut reader = XmlReader::new(input);
    let mut index = 0u64;
    let mut cur: Option<Advisory> = None;
    let mut field: Option<Field> = None;
    let mut text = String::new();
    let mut in_pkglist = false;
    loop {
        let (ev, depth) = reader.next_with_depth()?;
        let at = index;
        let fail = |cur: &Option<Advisory>, msg: String| UpdateinfoError::Invalid {
            index: at + u64::from(cur.is_none()),
            id: cur
                .as_ref()
                .map(|a| a.id.as_str())
                .filter(|s| !s.is_empty())
                .unwrap_or("?")
                .to_owned(),
            msg,
        };
        match ev {
            Ev::Start(ref e) | Ev::Empty(ref e) => {
                let empty = matches!(ev, Ev::Empty(_));
                // The element's own level: the root is 1, an advisory 2.
                let level = if empty { depth + 1 } else { depth };
                let name = xml::local(e);
                let Some(a) = cur.as_mut() else {
                    if level == 2 && name == "update" {
                        index += 1;
                        let mut a = Advisory::default();
                        let attr = |k| attr(e, k).map_err(|m| fail(&None, m));
                        a.kind = attr("type")?.unwrap_or_default();
                        a.status = attr("status")?;
                        a.severity = attr("severity")?;
                        if empty {
                            return Err(fail(&Some(a), "an advisory without an <id>".into()));
                        }
                        cur = Some(a);
                        in_pkglist = false;
                    }
                    continue;
                };
                match name {
                    "id" | "title" | "severity" if level == 3 && !empty => {
                        field = Some(match name {
                            "id" => Field::Id,
                            "title" => Field::Title,
                            _ => Field::Severity,
                        });
                        text.clear();
                    }
                    "issued" | "updated" if level == 3 => {
                        let when = attr(e, "date")
                            .map_err(|m| fail(&cur, m))?
                            .and_then(|d| parse_date(&d));
                        let a = cur.as_mut().expect("in an advisory");
                        if name == "issued" {
                            a.issued = when;
                        } else {
                            a.updated = when;
                        }
                    }
                    "reference" if level == 4 => {
                        if a.references.len() >= MAX_REFERENCES {
                            return Err(fail(
                                &cur,
                                format!("more than {MAX_REFERENCES} references"),
                            ));
                        }
                        let r = Reference {
                            kind: attr(e, "type")
                                .map_err(|m| fail(&cur, m))?
                                .unwrap_or_default(),
                            id: attr(e, "id")
                                .map_err(|m| fail(&cur, m))?
                                .unwrap_or_default(),
                        };
                        cur.as_mut().expect("in an advisory").references.push(r);
                    }
                    "pkglist" if level == 3 => in_pkglist = !empty,
                    "package" if in_pkglist => {
                        if a.packages.len() >= MAX_PACKAGES {
                            return Err(fail(&cur, format!("more than {MAX_PACKAGES} packages")));
                        }
                        let p = package(e).map_err(|m| fail(&cur, m))?;
                        cur.as_mut().expect("in an advisory").packages.push(p);
                    }
                    _ => {}
                }
            }
            Ev::Text(t) if field.is_some() => {
                if text.len() + t.len() > MAX_FIELD {
                    return Err(fail(&cur, format!("a field longer than {MAX_FIELD} bytes")));
                }
                text.push_str(&t);
            }
            Ev::Text(_) | Ev::Skip => {}
            Ev::End(name) => {
                if let (Some(f), Some(a)) = (field.take(), cur.as_mut()) {
                    let v = text.trim().to_owned();
                    match f {
                        Field::Id => a.id = v,
                        Field::Title => a.title = v,
                        Field::Severity if !v.is_empty() => a.severity = Some(v),
                        Field::Severity => {}
                    }
                }
                if name == "pkglist" && depth == 2 {
                    in_pkglist = false;
                }
                if cur.is_some() && depth == 1 && name == "update" {
                    let a = cur.take().expect("checked");
                    if a.id.is_empty() {
                        return Err(fail(&Some(a), "an advisory without an <id>".into()));
                    }
                    if let Err(e) = each(a) {
                        return Ok(Err(e));
                    }
                }
            }
            Ev::Eof => break,
        }
    }
    Ok(Ok(index))
}

/// An attribute, bounded.
fn attr(e: &BytesStart<'_>, name: &str) -> Result<Option<String>, String> {
    match xml::attr(e, name)? {
        Some(v) if v.len() > MAX_FIELD => {
            Err(format!("attribute {name} is longer than {MAX_FIELD} bytes"))
        }
        v => Ok(v.map(|s| s.trim().to_owned())),
    }
}

fn package(e: &BytesStart<'_>) -> Result<PackageRef, String> {
    let a = |k| attr(e, k).map(Option::unwrap_or_default);
    let p = PackageRef {
        name: a("name")?,
        epoch: Some(a("epoch")?)
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "0".into()),
        version: a("version")?,
        release: a("release")?,
        arch: a("arch")?,
    };
    if p.name.is_empty() || p.version.is_empty() {
        return Err("a <package> without a name or version".into());
    }
    Ok(p)
}

/// An updateinfo date as libdnf reads them: seconds since the epoch, or
/// `YYYY-MM-DD`, optionally followed by ` HH:MM[:SS]` (or `T`), and `Z` or
/// ` UTC`. Anything else is unknown (`None`), as in dnf.
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    let s = s
        .strip_suffix(" UTC")
        .or_else(|| s.strip_suffix('Z'))
        .unwrap_or(s);
    let (date, time) = match s.split_once([' ', 'T']) {
        Some((d, t)) => (d, t.trim()),
        None => (s, ""),
    };
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = if time.is_empty() {
        (0, 0, 0)
    } else {
        (t.next()??, t.next()??, t.next().unwrap_or(Some(0))?)
    };
    if hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    Some(days_from_civil(y, m, day) * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="updates@fedoraproject.org" status="stable" type="security" version="2.0">
    <id>FEDORA-2024-1</id>
    <title>openssl security &amp; bugfix update</title>
    <issued date="2024-01-02 03:04:05"/>
    <updated date="2024-01-03"/>
    <severity>Important</severity>
    <description>long text that is skipped</description>
    <references>
      <reference href="https://www.cve.org/CVERecord?id=CVE-2024-0001" id="CVE-2024-0001" type="cve" title="CVE-2024-0001"/>
      <reference href="https://bugzilla.redhat.com/1" id="1" type="bugzilla" title="bug"/>
    </references>
    <pkglist>
      <collection short="F39">
        <name>Fedora 39</name>
        <package name="openssl" version="3.0" release="2" epoch="1" arch="x86_64" src="openssl.src.rpm">
          <filename>openssl-3.0-2.x86_64.rpm</filename>
          <sum type="sha256">00</sum>
        </package>
        <package name="openssl" version="3.0" release="2" arch="src"/>
      </collection>
    </pkglist>
  </update>
  <update type="enhancement"><id>E-1</id><issued date="1700000000"/></update>
</updates>
"#;

    fn all(doc: &str) -> Result<Vec<Advisory>, UpdateinfoError> {
        let mut v = Vec::new();
        let n = for_each_advisory(doc.as_bytes(), |a| {
            v.push(a);
            Ok::<_, ()>(())
        })?
        .unwrap();
        assert_eq!(usize::try_from(n).unwrap(), v.len());
        Ok(v)
    }

    #[test]
    fn reads_what_dnf_shows() {
        let v = all(DOC).unwrap();
        assert_eq!(v.len(), 2);
        let a = &v[0];
        assert_eq!(a.id, "FEDORA-2024-1");
        assert_eq!(a.kind, "security");
        assert_eq!(a.severity.as_deref(), Some("Important"));
        assert_eq!(a.status.as_deref(), Some("stable"));
        assert_eq!(a.title, "openssl security & bugfix update");
        assert_eq!(a.issued, Some(1_704_164_645));
        assert_eq!(a.updated, Some(1_704_240_000));
        assert_eq!(a.cves(), ["CVE-2024-0001"]);
        assert_eq!(a.references.len(), 2);
        assert_eq!(
            a.packages.iter().map(PackageRef::nevra).collect::<Vec<_>>(),
            ["openssl-1:3.0-2.x86_64", "openssl-0:3.0-2.src"]
        );
        assert_eq!(v[1].issued, Some(1_700_000_000));
        assert!(v[1].packages.is_empty() && v[1].severity.is_none());
    }

    #[test]
    fn dates_as_libdnf_reads_them() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("1970-01-02 00:00:01"), Some(86_401));
        assert_eq!(parse_date("2000-03-01T12:00:00Z"), Some(951_912_000));
        assert_eq!(parse_date("2000-03-01 12:00 UTC"), Some(951_912_000));
        assert_eq!(parse_date("1234"), Some(1234));
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "2024-01-01 25:00:00",
            "2024-01",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn merged_duplicates_are_the_union() {
        let v = all(DOC).unwrap();
        let mut a = v[0].clone();
        let mut b = v[0].clone();
        b.packages[0].release = "3".into();
        b.updated = Some(1_800_000_000);
        b.references.truncate(1);
        a.merge(b);
        assert_eq!(a.packages.len(), 3);
        assert_eq!(a.references.len(), 2);
        assert_eq!(a.updated, Some(1_800_000_000));
    }

    #[test]
    fn hostile_documents_are_refused_naming_the_advisory() {
        let long = format!(
            "<updates><update type=\"x\"><id>A</id><title>{}</title></update></updates>",
            "t".repeat(MAX_FIELD + 1)
        );
        let e = all(&long).unwrap_err().to_string();
        assert!(e.contains("advisory #1 (A)") && e.contains("longer"), "{e}");
        let no_id = "<updates><update type=\"x\"><title>t</title></update></updates>";
        assert!(
            all(no_id)
                .unwrap_err()
                .to_string()
                .contains("without an <id>")
        );
        let bomb = "<!DOCTYPE u [<!ENTITY a \"aaaa\">]><updates>&a;</updates>";
        assert!(matches!(
            all(bomb),
            Err(UpdateinfoError::Xml(XmlError::Doctype))
        ));
        let cut = &DOC[..DOC.len() / 2];
        assert!(matches!(all(cut), Err(UpdateinfoError::Xml(_))));
        let nameless = "<updates><update><id>B</id><pkglist><collection><package version=\"1\"/></collection></pkglist></update></updates>";
        assert!(all(nameless).unwrap_err().to_string().contains("(B)"));
        // An empty document, or one with no advisories, is no advisories.
        assert!(all("<updates/>").unwrap().is_empty());
    }

    #[test]
    fn a_callback_error_stops_the_stream() {
        let mut seen = 0;
        let r = for_each_advisory(DOC.as_bytes(), |_| {
            seen += 1;
            Err("stop")
        })
        .unwrap();
        assert_eq!((r, seen), (Err("stop"), 1));
    }
}
