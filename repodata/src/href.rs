//! Validation of the relative paths (`location href`) that metadata tells us
//! to write. Hostile or broken metadata must never make us write outside the
//! mirror: absolute paths, `..`, empty components, backslashes, NULs and
//! control characters are rejected, and package paths may not land in
//! `repodata/` where they would shadow metadata.

use std::path::{Path, PathBuf};

/// Why an href was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsafe href {href:?}: {reason}")]
pub struct UnsafeHref {
    pub href: String,
    pub reason: &'static str,
}

/// A checked relative path with `/` separators.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelPath(String);

impl RelPath {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn to_path(&self) -> PathBuf {
        PathBuf::from(&self.0)
    }

    /// `root.join(self)`; safe because the path was checked.
    pub fn under(&self, root: &Path) -> PathBuf {
        root.join(&self.0)
    }

    pub fn is_metadata(&self) -> bool {
        self.0.starts_with("repodata/")
    }
}

/// Check an href from metadata.
pub fn check(href: &str) -> Result<RelPath, UnsafeHref> {
    let bad = |reason| {
        Err(UnsafeHref {
            href: href.to_owned(),
            reason,
        })
    };
    if href.is_empty() {
        return bad("empty path");
    }
    if href.starts_with('/') {
        return bad("absolute path");
    }
    if href.contains("://") {
        return bad("a URL where a relative path was expected");
    }
    if href.contains('\\') {
        return bad("backslash in path");
    }
    if href.chars().any(char::is_control) {
        return bad("control character in path");
    }
    let mut parts = 0;
    for part in href.split('/') {
        match part {
            "" => return bad("empty path component"),
            "." | ".." => return bad("'.' or '..' component"),
            p if p.starts_with('.') && parts == 0 => {
                return bad("hidden top-level entry (reserved for mirror state)");
            }
            _ => parts += 1,
        }
    }
    Ok(RelPath(href.to_owned()))
}

/// Check a package href: as [`check`], and not inside `repodata/`.
pub fn check_package(href: &str) -> Result<RelPath, UnsafeHref> {
    let p = check(href)?;
    if p.is_metadata() {
        return Err(UnsafeHref {
            href: href.to_owned(),
            reason: "package inside repodata/",
        });
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_normal_layouts() {
        for ok in [
            "Packages/a/abc-1.0-1.x86_64.rpm",
            "pkg-1.noarch.rpm",
            "repodata/abc-primary.xml.gz",
            "x/y+z~1.rpm",
        ] {
            assert_eq!(check(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_escapes() {
        for bad in [
            "",
            "/etc/passwd",
            "../x.rpm",
            "a/../../x",
            "a//b",
            "./a",
            "a/.",
            "http://evil/x.rpm",
            "a\\..\\b",
            "a\nb",
            ".lock",
            "latest.txt\0",
        ] {
            assert!(check(bad).is_err(), "{bad:?}");
        }
        assert!(check_package("repodata/repomd.xml").is_err());
        assert!(check_package("Packages/x.rpm").is_ok());
    }
}
