//! `rpms.lock.yaml`: the rpm-lockfile-prototype's output format
//! (`lockfileVersion: 1`, `lockfileVendor: redhat`), which Konflux and
//! Hermeto consume. Written sorted, so the same resolution gives the same
//! bytes; read back strictly, so a damaged lock is named before anything
//! is fetched.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::LockError;

/// The largest lock file read.
const MAX_LOCK: u64 = 64 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockFile {
    pub lockfile_version: u32,
    pub lockfile_vendor: String,
    pub arches: Vec<ArchLock>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchLock {
    pub arch: String,
    #[serde(default)]
    pub packages: Vec<Entry>,
    #[serde(default)]
    pub source: Vec<Entry>,
    #[serde(default)]
    pub module_metadata: Vec<serde_yaml::Value>,
}

/// One file to fetch.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    pub url: String,
    pub repoid: String,
    pub size: u64,
    /// `sha256:<hex>`.
    pub checksum: String,
    pub name: String,
    pub evr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sourcerpm: Option<String>,
}

impl Entry {
    /// The file name the URL ends in.
    pub fn file_name(&self) -> &str {
        self.url.rsplit('/').next().unwrap_or_default()
    }

    /// `(algorithm, lowercase hex)` of the checksum.
    pub fn digest(&self) -> (&str, &str) {
        self.checksum.split_once(':').unwrap_or(("", ""))
    }
}

impl LockFile {
    pub fn new(mut arches: Vec<ArchLock>) -> Self {
        arches.sort_by(|a, b| a.arch.cmp(&b.arch));
        for a in &mut arches {
            a.packages
                .sort_by(|x, y| (&x.name, &x.evr, &x.url).cmp(&(&y.name, &y.evr, &y.url)));
            a.packages.dedup();
            a.source
                .sort_by(|x, y| (&x.name, &x.evr, &x.url).cmp(&(&y.name, &y.evr, &y.url)));
            a.source.dedup();
        }
        Self {
            lockfile_version: 1,
            lockfile_vendor: "redhat".into(),
            arches,
        }
    }

    pub fn render(&self) -> String {
        serde_yaml::to_string(self).expect("serialisable")
    }

    /// Read and check a lock file (YAML, or JSON, which YAML reads too).
    pub fn read(path: &Path) -> Result<Self, LockError> {
        let text = super::read_text(path, MAX_LOCK)?;
        Self::parse(&text).map_err(|(line, msg)| LockError::Input {
            path: path.to_path_buf(),
            line,
            msg,
        })
    }

    /// Parse and check lock text; an error carries its line when known.
    pub fn parse(text: &str) -> Result<Self, (Option<usize>, String)> {
        mirror_index::nesting::check(text, mirror_index::nesting::MAX_DEPTH)
            .map_err(|e| (None, e.to_string()))?;
        let lock: LockFile = serde_yaml::from_str(text).map_err(|e| {
            let msg = e.to_string();
            (
                e.location().map(|l| l.line()),
                msg.split(" at line ").next().unwrap_or(&msg).to_owned(),
            )
        })?;
        if lock.lockfile_version != 1 {
            return Err((
                super::input::line_of(text, "lockfileVersion"),
                format!(
                    "lockfileVersion {} (only 1 is known)",
                    lock.lockfile_version
                ),
            ));
        }
        for a in &lock.arches {
            for e in a.packages.iter().chain(&a.source) {
                let line = super::input::line_of(text, &e.url);
                check_entry(e).map_err(|m| (line, m))?;
            }
        }
        Ok(lock)
    }
}

/// A URL or value from a lock as messages show it: no password, no
/// control character, at most 200 characters.
pub fn shown(s: &str) -> String {
    let r = mirror_http::redact(s);
    let mut out: String = r
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(200)
        .collect();
    if r.chars().count() > 200 {
        out.push_str("...");
    }
    out
}

/// An entry's URL is one http(s) URL of printable characters (at most 4
/// KiB, ending in a file name); its checksum is `sha256:` or `sha512:`
/// with the right number of hex digits.
pub fn check_entry(e: &Entry) -> Result<(), String> {
    let url = shown(&e.url);
    if e.url.len() > 4096 || e.url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!(
            "{url}: a URL of at most 4096 printable characters, without spaces"
        ));
    }
    let u = url::Url::parse(&e.url).map_err(|err| format!("{url}: not a URL ({err})"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(format!("{url}: only http(s) URLs are fetched"));
    }
    let name = e.file_name();
    if name.is_empty() || name.starts_with('.') || name.contains('\\') {
        return Err(format!("{url}: the URL must end in a file name"));
    }
    let (algo, hex) = e.digest();
    let want = match algo {
        "sha256" => 64,
        "sha512" => 128,
        _ => 0,
    };
    if want == 0 || hex.len() != want || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "{url}: checksum {:?} is not sha256:<64 hex> or sha512:<128 hex>",
            shown(&e.checksum)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, url: &str) -> Entry {
        Entry {
            url: url.into(),
            repoid: "r".into(),
            size: 10,
            checksum: format!("sha256:{}", "a".repeat(64)),
            name: name.into(),
            evr: "1.0-1".into(),
            sourcerpm: Some(format!("{name}-1.0-1.src.rpm")),
        }
    }

    #[test]
    fn rendering_is_sorted_and_reads_back() {
        let a = |arch: &str, names: &[&str]| ArchLock {
            arch: arch.into(),
            packages: names
                .iter()
                .map(|n| entry(n, &format!("http://m/s/{n}-1.0-1.noarch.rpm")))
                .collect(),
            source: Vec::new(),
            module_metadata: Vec::new(),
        };
        let one = LockFile::new(vec![a("x86_64", &["b", "a"]), a("aarch64", &["c"])]);
        let two = LockFile::new(vec![a("aarch64", &["c"]), a("x86_64", &["a", "b", "a"])]);
        assert_eq!(one.render(), two.render());
        assert_eq!(one.arches[0].arch, "aarch64");
        assert_eq!(LockFile::parse(&one.render()).unwrap(), one);
    }

    #[test]
    fn bad_entries_are_named_with_their_line() {
        let mut l = LockFile::new(vec![ArchLock {
            arch: "x86_64".into(),
            packages: vec![
                entry("a", "http://m/s/a.rpm"),
                entry("b", "file:///etc/b.rpm"),
            ],
            source: Vec::new(),
            module_metadata: Vec::new(),
        }]);
        let (line, msg) = LockFile::parse(&l.render()).unwrap_err();
        assert!(msg.contains("file:///etc/b.rpm"), "{msg}");
        assert_eq!(
            line,
            super::super::input::line_of(&l.render(), "file:///etc/b.rpm")
        );
        l.arches[0].packages[1].url = "http://user:hunter2@m/s/b\u{7}.rpm".into();
        let (_, msg) = LockFile::parse(&l.render()).unwrap_err();
        assert!(!msg.contains("hunter2") && !msg.contains('\u{7}'), "{msg}");
        l.arches[0].packages[1].url = "http://m/s/b.rpm".into();
        l.arches[0].packages[1].checksum = "md5:abc".into();
        let (_, msg) = LockFile::parse(&l.render()).unwrap_err();
        assert!(msg.contains("md5:abc"), "{msg}");
        l.arches[0].packages[1].checksum = format!("sha256:{}", "g".repeat(64));
        assert!(LockFile::parse(&l.render()).is_err());
        l.arches[0].packages[1].checksum = format!("sha256:{}", "A".repeat(64));
        assert!(LockFile::parse(&l.render()).is_ok());
    }
}
