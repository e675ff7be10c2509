//! What may stand in a mirror map: the values (snapshot URLs) and the repo
//! ids that `mirror-client` writes into other programs' files.
//!
//! A map value lands in three syntaxes: an ini line (`baseurl=<value>`), a
//! `.repos` CSV field (`<id>,<value>`) and, inside a mock config, a Python
//! triple-quoted string that mock `exec`s and renders with Jinja. Invariant:
//! a value accepted here cannot end, escape or extend any of them. It is one
//! http, https or file URL of printable ASCII with no whitespace, no quote,
//! backslash, comma, brace, angle bracket, pipe, caret or backtick. Whoever
//! writes a value (the index) or reads one (the client) checks it here.

/// Why a map value or id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Refused {
    pub reason: String,
}

fn refuse<T>(reason: impl Into<String>) -> Result<T, Refused> {
    Err(Refused {
        reason: reason.into(),
    })
}

/// Characters that could close or escape the syntax a value is written into.
const FORBIDDEN: &[char] = &['"', '\'', '\\', '`', ',', '{', '}', '<', '>', '|', '^'];

/// Check a mirror URL (see the module docs).
pub fn check_url(value: &str) -> Result<(), Refused> {
    check_chars(value)?;
    let lower = value.to_ascii_lowercase();
    let rest = ["http://", "https://", "file://"]
        .iter()
        .find_map(|p| lower.strip_prefix(p).map(|r| (*p, r)));
    match rest {
        None => refuse("not an http, https or file URL"),
        Some((p, r)) if p != "file://" && (r.is_empty() || r.starts_with('/')) => {
            refuse("an http(s) URL without a host")
        }
        Some(("file://", r)) if !r.starts_with('/') => {
            refuse("a file URL must be absolute (file:///path)")
        }
        Some(_) => Ok(()),
    }
}

/// The character rules of [`check_url`] alone, for a value as written in a
/// map before it is resolved against the map's own URL (resolving would
/// percent-encode some of what must be refused).
pub fn check_chars(value: &str) -> Result<(), Refused> {
    if value.is_empty() {
        return refuse("empty value (expected an http, https or file URL)");
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return refuse(format!(
            "contains the control character U+{:04X}; a URL is one line",
            u32::from(c)
        ));
    }
    if value.chars().any(char::is_whitespace) {
        return refuse("contains whitespace; a URL is one word (percent-encode spaces)");
    }
    if let Some(c) = value.chars().find(|c| !c.is_ascii()) {
        return refuse(format!(
            "contains {c:?}: percent-encode non-ASCII characters"
        ));
    }
    if let Some(c) = value.chars().find(|c| FORBIDDEN.contains(c)) {
        return refuse(format!(
            "contains {c:?}, which could break out of a repo file, a .repos list or a mock config"
        ));
    }
    Ok(())
}

/// Check a repo id that will be written as a section header or a `.repos`
/// id: letters, digits and `- _ . : + @`, as dnf accepts.
pub fn check_repo_id(id: &str) -> Result<(), Refused> {
    if id.is_empty() {
        return refuse("empty repo id");
    }
    match id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.:+@".contains(*c)))
    {
        Some(c) => refuse(format!(
            "repo id {id:?} contains {c:?} (use letters, digits and - _ . : + @)"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        for ok in [
            "http://m.example/yum/epel-el9/2026-11-21-09-30",
            "https://m.example:8443/a/b?c=d&e=f#x",
            "http://[::1]:8080/x",
            "file:///srv/mirrors/a",
            "http://m/centos/$releasever/os/$basearch/",
            "HTTP://M/x%20y",
        ] {
            check_url(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for (bad, needle) in [
            ("", "empty"),
            ("http://x\ngpgcheck=0\n[main]", "U+000A"),
            ("http://x\rgpgcheck=0", "U+000D"),
            ("http://x\tb", "U+0009"),
            ("http://x/a b", "whitespace"),
            ("x\"\"\";open('/tmp/p','w')", "'\"'"),
            ("http://x/\"\"\"", "'\"'"),
            ("http://x/'", "'\\''"),
            ("http://x/\\n", "'\\\\'"),
            ("http://x/a,b", "','"),
            ("http://x/{{7*7}}", "'{'"),
            ("http://x/é", "non-ASCII"),
            ("ftp://x/", "not an http"),
            ("rel/x", "not an http"),
            ("http:///x", "without a host"),
            ("file://host/x", "absolute"),
        ] {
            let err = check_url(bad).unwrap_err().to_string();
            assert!(err.contains(needle), "{bad:?}: {err}");
        }
    }

    #[test]
    fn repo_ids() {
        check_repo_id("epel-testing-el9").unwrap();
        check_repo_id("a_b.c:d+e@f").unwrap();
        for bad in ["", "a]\n[b", "a b", "a,b", "x\"", "é"] {
            assert!(check_repo_id(bad).is_err(), "{bad:?}");
        }
    }
}
