//! Mirrorlists and metalinks: turning the body a mirror's `mirrorlist=` or
//! `metalink=` URL serves into an ordered list of base URLs to try, the way
//! yum does. A metalink also gives the checksums a genuine repomd.xml must
//! have; a repomd.xml that matches none of them is refused, and a hash that
//! does not parse is an error, never skipped.

use url::Url;

use crate::checksum::{Checksum, Kind};
use crate::xml::{self, Ev, XmlReader};

/// Base URLs to try in order, plus what repomd.xml must hash to (metalink).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MirrorList {
    pub bases: Vec<Url>,
    pub repomd_hashes: Vec<Checksum>,
}

impl MirrorList {
    /// Does `repomd` match the metalink's hashes (or were none given)?
    pub fn repomd_ok(&self, repomd: &[u8]) -> bool {
        if self.repomd_hashes.is_empty() {
            return true;
        }
        let kinds: std::collections::HashSet<Kind> =
            self.repomd_hashes.iter().map(|c| c.kind).collect();
        kinds
            .into_iter()
            .any(|k| self.repomd_hashes.contains(&Checksum::of(k, repomd)))
    }
}

/// Parse a base URL given by a user or a mirrorlist; a plain absolute path is a `file://` URL.
pub fn parse_base_url(s: &str) -> Result<Url, String> {
    let s = s.trim();
    if s.starts_with('/') {
        return Url::from_directory_path(s).map_err(|()| format!("not a usable path: {s:?}"));
    }
    let url = Url::parse(s).map_err(|e| format!("invalid URL {s:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https" | "file") {
        return Err(format!(
            "unsupported URL scheme in {s:?} (use http, https or file)"
        ));
    }
    Ok(url)
}

/// Parse a fetched mirrorlist or metalink body. A "mirrorlist" that is in
/// fact a metalink (as Fedora serves them) is recognised by its content.
pub fn parse_list(body: &[u8], source: &Url) -> Result<MirrorList, String> {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start();
    let r = if trimmed.starts_with("<?xml") || trimmed.starts_with("<metalink") {
        parse_metalink(body)?
    } else {
        parse_mirrorlist(&text)
    };
    if r.bases.is_empty() {
        return Err(format!(
            "{source}: lists no usable http, https or file mirror"
        ));
    }
    Ok(r)
}

fn parse_mirrorlist(text: &str) -> MirrorList {
    let bases = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| parse_base_url(l).ok())
        .collect();
    MirrorList {
        bases,
        repomd_hashes: Vec::new(),
    }
}

/// At most 80 characters of an upstream's text, for an error message.
fn bounded(s: &str) -> String {
    if s.chars().count() <= 80 {
        s.to_owned()
    } else {
        s.chars().take(80).collect::<String>() + "..."
    }
}

fn parse_metalink(body: &[u8]) -> Result<MirrorList, String> {
    let mut reader = XmlReader::new(body);
    let mut in_repomd = false;
    let mut hash_type: Option<String> = None;
    let mut url_pref: Option<i64> = None;
    let mut text = String::new();
    let mut hashes = Vec::new();
    let mut urls: Vec<(i64, Url)> = Vec::new();
    let mut unsupported_hashes = 0usize;
    // The first hash that did not parse: the error when no usable one remains.
    let mut malformed: Option<String> = None;
    loop {
        match reader.event().map_err(|e| format!("metalink: {e}"))? {
            Ev::Start(e) => {
                text.clear();
                match xml::local(&e) {
                    "file" => in_repomd = xml::attr(&e, "name")?.as_deref() == Some("repomd.xml"),
                    "hash" if in_repomd => hash_type = xml::attr(&e, "type")?,
                    "url" if in_repomd => {
                        url_pref = Some(
                            xml::attr(&e, "preference")?
                                .and_then(|p| p.parse().ok())
                                .unwrap_or(0),
                        );
                    }
                    _ => {}
                }
            }
            Ev::Text(t) => text.push_str(&t),
            Ev::Empty(_) | Ev::Skip => {}
            Ev::End(name) => match name {
                "file" => in_repomd = false,
                "hash" => {
                    // A hash that does not parse is set aside, and is the
                    // error when no usable hash remains (the main one or an
                    // mm0:alternate's, as librepo reads them): repomd.xml is
                    // never accepted unchecked.
                    if let Some(t) = hash_type.take() {
                        let hex = text.trim();
                        if Kind::parse(&t).is_some() {
                            match Checksum::new(&t, hex) {
                                Ok(c) => hashes.push(c),
                                Err(e) => {
                                    malformed.get_or_insert_with(|| {
                                        format!("metalink: the repomd.xml hash is unusable: {e}")
                                    });
                                }
                            }
                        } else if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                            malformed.get_or_insert_with(|| {
                                format!(
                                    "metalink: the repomd.xml {} hash {:?} is not hexadecimal",
                                    bounded(&t),
                                    bounded(hex)
                                )
                            });
                        } else {
                            unsupported_hashes += 1;
                        }
                    }
                }
                "url" => {
                    if let Some(pref) = url_pref.take() {
                        let u = text.trim();
                        if let Some(base) = u.strip_suffix("repodata/repomd.xml")
                            && let Ok(url) = parse_base_url(base)
                        {
                            urls.push((pref, url));
                        }
                    }
                }
                _ => {}
            },
            Ev::Eof => break,
        }
    }
    if hashes.is_empty()
        && let Some(first) = malformed
    {
        return Err(first);
    }
    if hashes.is_empty() && unsupported_hashes > 0 {
        return Err(
            "metalink: no repomd.xml hash of a supported type (sha1, sha224, sha256, sha384, sha512); refusing to accept repomd.xml unchecked"
                .into(),
        );
    }
    urls.sort_by_key(|(p, _)| std::cmp::Reverse(*p));
    Ok(MirrorList {
        bases: urls.into_iter().map(|(_, u)| u).collect(),
        repomd_hashes: hashes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> Url {
        Url::parse("http://list.example/").unwrap()
    }

    #[test]
    fn mirrorlist_lines() {
        let r = parse_list(
            b"# comment\nhttp://a.example/7/os/x86_64/\n\n  https://b.example/x  \nnot a url\n",
            &src(),
        )
        .unwrap();
        let bases: Vec<_> = r.bases.iter().map(Url::as_str).collect();
        assert_eq!(
            bases,
            ["http://a.example/7/os/x86_64/", "https://b.example/x"]
        );
        assert!(
            parse_list(b"# nothing\n", &src())
                .unwrap_err()
                .contains("no usable")
        );
    }

    /// Issue 21.16: librepo's own fixture: every main hash is malformed,
    /// an mm0:alternate holds the repomd.xml's real hashes.
    #[test]
    fn metalink_alternates_hold_the_usable_hash() {
        let ml = r#"<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/" type="dynamic" xmlns:mm0="http://fedorahosted.org/mirrormanager">
  <files>
    <file name="repomd.xml">
      <mm0:timestamp>1381706941</mm0:timestamp>
      <size>4761</size>
      <verification>
        <hash type="md5">bad</hash>
        <hash type="sha1">bad</hash>
        <hash type="sha256">bad</hash>
        <hash type="sha512">bad</hash>
      </verification>
      <mm0:alternates>
        <mm0:alternate>
            <mm0:timestamp>1347459931</mm0:timestamp>
            <size>9</size>
            <verification>
              <hash type="sha256">SHA</hash>
            </verification>
          </mm0:alternate>
        <mm0:alternate>
            <verification>
              <hash type="sha1">foobar</hash>
            </verification>
          </mm0:alternate>
      </mm0:alternates>
      <resources maxconnections="1">
        <url protocol="http" type="http" location="CZ" preference="100">http://127.0.0.1:1/yum/static/01/repodata/repomd.xml</url>
      </resources>
    </file>
  </files>
</metalink>"#;
        let repomd = b"<repomd/>";
        let sha = Checksum::of(Kind::Sha256, repomd).hex;
        let r = parse_list(ml.replace("SHA", &sha).as_bytes(), &src()).unwrap();
        assert!(r.repomd_ok(repomd));
        assert!(!r.repomd_ok(b"<repomd>other</repomd>"));
        // No usable hash anywhere: still an error, never unchecked.
        let none = ml.replace("SHA", "bad");
        let err = parse_list(none.as_bytes(), &src()).unwrap_err();
        assert!(
            err.contains("unusable") || err.contains("hexadecimal"),
            "{err}"
        );
    }

    #[test]
    fn metalink_orders_by_preference_and_checks_repomd() {
        let repomd = b"<repomd/>";
        let good = Checksum::of(Kind::Sha256, repomd).hex;
        let ml = format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/" xmlns:mm0="http://fedorahosted.org/mirrormanager">
 <files>
  <file name="repomd.xml">
   <size>9</size>
   <verification>
    <hash type="md5">00000000000000000000000000000000</hash>
    <hash type="sha256">{good}</hash>
   </verification>
   <resources maxconnections="1">
    <url protocol="http" type="http" location="US" preference="50">http://low.example/epel/8/x86_64/repodata/repomd.xml</url>
    <url protocol="https" type="https" location="DE" preference="100">https://high.example/epel/8/x86_64/repodata/repomd.xml</url>
    <url protocol="rsync" type="rsync" preference="100">rsync://r.example/epel/repodata/repomd.xml</url>
   </resources>
  </file>
 </files>
</metalink>"#
        );
        let r = parse_list(ml.as_bytes(), &src()).unwrap();
        let bases: Vec<_> = r.bases.iter().map(Url::as_str).collect();
        assert_eq!(
            bases,
            [
                "https://high.example/epel/8/x86_64/",
                "http://low.example/epel/8/x86_64/"
            ]
        );
        assert!(r.repomd_ok(repomd));
        assert!(!r.repomd_ok(b"<repomd>tampered</repomd>"));

        // Issue 16.8: unparseable hashes are errors, never skipped.
        let bad = ml.replace(&good, &format!("xxxxxxxxxx{}", &good[10..]));
        let err = parse_list(bad.as_bytes(), &src()).unwrap_err();
        assert!(
            err.contains("unusable") && err.contains("malformed"),
            "{err}"
        );
        // A malformed hash beside a usable one is set aside (librepo does).
        let bad = ml.replace("00000000000000000000000000000000", "zz");
        let r = parse_list(bad.as_bytes(), &src()).unwrap();
        assert!(r.repomd_ok(repomd) && !r.repomd_ok(b"<repomd>x</repomd>"));
        let only_bad = bad.replace(&format!("<hash type=\"sha256\">{good}</hash>"), "");
        let err = parse_list(only_bad.as_bytes(), &src()).unwrap_err();
        assert!(err.contains("md5 hash \"zz\" is not hexadecimal"), "{err}");
        let only_md5 = ml.replace(&format!("<hash type=\"sha256\">{good}</hash>"), "");
        let err = parse_list(only_md5.as_bytes(), &src()).unwrap_err();
        assert!(
            err.contains("no repomd.xml hash of a supported type"),
            "{err}"
        );
    }
}
