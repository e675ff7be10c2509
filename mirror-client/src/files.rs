//! Files on disk: which format a file is, where the ini text of a mock
//! config is, and replacing a file atomically (keeping its mode) only when
//! its content changed. A file that cannot be parsed is left untouched and
//! the error names the file and the line.

use std::path::{Path, PathBuf};

use mirror_index::repofile::{self, Dialect};

use crate::edit::{self, ProxyPolicy, RewriteError, Summary};
use crate::map::Resolved;

/// The kinds of file we rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// yum/dnf ini (`.repo`, `.yumrepos`, `dnf.conf`, ...).
    Ini,
    /// `repo_id,url` lines (`*.repos`, `*.repos.<distro>`).
    Repos,
    /// mock config: the ini inside `config_opts['yum.conf'|'dnf.conf'] = """..."""`.
    Mock,
}

/// Pick a format from the file name, then the content.
pub fn detect(path: &Path, text: &str) -> Format {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let is_repos_list =
        Path::new(&name).extension().is_some_and(|e| e == "repos") || name.contains(".repos.");
    if is_repos_list {
        return Format::Repos;
    }
    if text.contains("config_opts[") {
        return Format::Mock;
    }
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'));
    match first {
        Some(l) if !l.starts_with('[') && l.contains(',') && !l.contains('=') => Format::Repos,
        _ => Format::Ini,
    }
}

/// Is this a zypper (libzypp) repo file? It lives under `zypp/repos.d/`, or
/// uses keys only zypper reads (`autorefresh`, `keeppackages`, `type=yast2`,
/// `type=rpm-md` as OBS writes it). zypper takes `proxy=None` for a host
/// named None; `_none_` means "no proxy" to zypper and dnf alike.
pub fn is_zypper_file(path: &Path, text: &str) -> bool {
    let under_zypp = path.parent().is_some_and(|d| d.ends_with("zypp/repos.d"));
    under_zypp
        || text.lines().any(|l| {
            let Some((k, v)) = l.split_once('=') else {
                return false;
            };
            let k = k.trim().to_ascii_lowercase();
            let v = v.trim().to_ascii_lowercase();
            k == "autorefresh"
                || k == "keeppackages"
                || (k == "type" && matches!(v.as_str(), "rpm-md" | "yast2" | "plaindir"))
        })
}

/// Why a file was not rewritten.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {detail}", path.display())]
    Parse { path: PathBuf, detail: String },
}

/// The result of processing one file.
#[derive(Debug)]
pub struct FileResult {
    pub path: PathBuf,
    pub format: Format,
    pub before: String,
    pub after: String,
    pub summary: Summary,
}

impl FileResult {
    pub fn changed(&self) -> bool {
        self.before != self.after
    }

    /// (id, URL) of every mirrored section, in file order.
    pub fn mirrored(&self) -> impl Iterator<Item = (&str, &str)> {
        self.summary.mirrored_in(&self.before, &self.after)
    }

    /// Ids of the sections without a mirror.
    pub fn untouched(&self) -> impl Iterator<Item = &str> {
        self.summary.untouched_in(&self.before)
    }

    /// A unified diff of the change (empty when unchanged).
    pub fn diff(&self) -> String {
        if !self.changed() {
            return String::new();
        }
        let name = self.path.display().to_string();
        similar::TextDiff::from_lines(&self.before, &self.after)
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{name}"), &format!("b/{name}"))
            .to_string()
    }
}

/// Spans `(start, end)` of the ini text inside mock config blocks.
pub fn mock_blocks(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(i) = text[pos..].find("config_opts[") {
        let start = pos + i;
        pos = start + 1;
        let rest = &text[start + "config_opts[".len()..];
        let key_ok = ["'yum.conf'", "\"yum.conf\"", "'dnf.conf'", "\"dnf.conf\""]
            .iter()
            .find(|k| rest.starts_with(**k));
        let Some(key) = key_ok else { continue };
        let after_key = &rest[key.len()..];
        let Some(after_bracket) = after_key.trim_start().strip_prefix(']') else {
            continue;
        };
        let Some(after_eq) = after_bracket.trim_start().strip_prefix('=') else {
            continue;
        };
        let after_eq_trim = after_eq.trim_start();
        let quote = if after_eq_trim.starts_with("\"\"\"") {
            "\"\"\""
        } else if after_eq_trim.starts_with("'''") {
            "'''"
        } else {
            continue;
        };
        let body_start = text.len() - after_eq_trim.len() + 3;
        let Some(len) = text[body_start..].find(quote) else {
            continue;
        };
        out.push((body_start, body_start + len));
        pos = body_start + len + 3;
    }
    out
}

/// Rewrite `text` as `format`; the returned text equals the input when
/// nothing needed to change.
pub fn rewrite(
    format: Format,
    text: &str,
    map: &Resolved,
    proxy: &ProxyPolicy,
) -> Result<(String, Summary), RewriteError> {
    if text.len() > edit::MAX_TEXT {
        return Err(RewriteError::TooLarge);
    }
    match format {
        Format::Ini => edit::rewrite_ini(text, Dialect::Ini, map, proxy),
        Format::Repos => edit::rewrite_repos_list(text, map),
        Format::Mock => {
            let mut out = String::with_capacity(text.len() + 256);
            let mut summary = Summary::default();
            let mut last = 0;
            for (start, end) in mock_blocks(text) {
                let first_line = text[..start].matches('\n').count();
                let (new, s) =
                    edit::rewrite_ini(&text[start..end], Dialect::MockTemplate, map, proxy)
                        .map_err(|e| match e {
                            RewriteError::Parse(mut p) => {
                                p.line += first_line;
                                RewriteError::Parse(p)
                            }
                            other @ (RewriteError::Refused { .. } | RewriteError::TooLarge) => {
                                other
                            }
                        })?;
                out.push_str(&text[last..start]);
                let at = out.len();
                out.push_str(&new);
                summary.merge(s, start, at);
                last = end;
            }
            out.push_str(&text[last..]);
            Ok((out, summary))
        }
    }
}

/// Read, rewrite and (unless `dry_run`) atomically replace one file.
pub fn process(
    path: &Path,
    format: Option<Format>,
    map: &Resolved,
    proxy: &ProxyPolicy,
    dry_run: bool,
) -> Result<FileResult, FileError> {
    let io = |source| FileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let bytes = std::fs::read(path).map_err(io)?;
    let parse = |e: &dyn std::fmt::Display| FileError::Parse {
        path: path.to_path_buf(),
        detail: e.to_string(),
    };
    repofile::decode(&bytes).map_err(|e| parse(&e))?;
    let text = String::from_utf8(bytes).expect("checked by decode");
    let format = format.unwrap_or_else(|| detect(path, &text));
    // zypper reads `proxy=None` as a host: its files get `_none_` unless
    // --none-value says otherwise.
    let zypper_proxy;
    let proxy =
        if format == Format::Ini && proxy.none_value.is_none() && is_zypper_file(path, &text) {
            zypper_proxy = ProxyPolicy {
                none_value: Some("_none_".into()),
                ..proxy.clone()
            };
            &zypper_proxy
        } else {
            proxy
        };
    let (after, summary) = rewrite(format, &text, map, proxy).map_err(|e| parse(&e))?;
    let result = FileResult {
        path: path.to_path_buf(),
        format,
        before: text,
        after,
        summary,
    };
    if result.changed() && !dry_run {
        // Atomic (never half-written) but not fsynced: a CI job's files need no
        // power-loss durability, and two fsyncs per file dominated large runs.
        let durability = mirror_index::atomic::Durability::RenameOnly;
        mirror_index::atomic::write_atomic_with(path, result.after.as_bytes(), durability)
            .map_err(|e| FileError::Io {
                path: e.path,
                source: e.source,
            })?;
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zypper_files_are_recognised() {
        let dnf = "[fedora-base-fc40]\nbaseurl=http://x\nmetadata_expire=6h\n";
        assert!(!is_zypper_file(Path::new("/etc/yum.repos.d/f.repo"), dnf));
        assert!(is_zypper_file(Path::new("/etc/zypp/repos.d/f.repo"), dnf));
        assert!(is_zypper_file(
            Path::new("x.repo"),
            "[oss]\nautorefresh=1\nbaseurl=http://x\n"
        ));
        assert!(is_zypper_file(
            Path::new("x.repo"),
            "[home_me]\ntype = rpm-md\nbaseurl=http://x\n"
        ));
        // A commented-out key does not count.
        assert!(!is_zypper_file(
            Path::new("x.repo"),
            "[a]\nbaseurl=http://x\n# autorefresh=1\n"
        ));
    }

    #[test]
    fn detects_formats() {
        assert_eq!(
            detect(Path::new("check-patch.repos.rhel7"), "epel,http://x\n"),
            Format::Repos
        );
        assert_eq!(detect(Path::new("x.repos"), ""), Format::Repos);
        assert_eq!(
            detect(Path::new("epel-7.cfg"), "config_opts['root'] = 'x'\n"),
            Format::Mock
        );
        assert_eq!(
            detect(Path::new("job.repo"), "# c\n[a]\nbaseurl=x\n"),
            Format::Ini
        );
        assert_eq!(
            detect(Path::new("list"), "# c\nepel,http://x\n"),
            Format::Repos
        );
    }

    #[test]
    fn mock_block_is_rewritten_and_the_rest_kept() {
        let text = "config_opts['root'] = 'x'\nconfig_opts['yum.conf'] = \"\"\"\n[main]\nk=v\n\n[epel-el7]\nmirrorlist=http://ml/\n{% if a %}\nexclude=x\n{% endif %}\n\"\"\"\nconfig_opts['x'] = \"\"\"not ini\"\"\"\n";
        let map = Resolved {
            repos: [("epel-el7".to_owned(), "http://m/epel".to_owned())].into(),
            ..Resolved::default()
        };
        let (out, s) = rewrite(Format::Mock, text, &map, &ProxyPolicy::default()).unwrap();
        assert_eq!(
            out,
            "config_opts['root'] = 'x'\nconfig_opts['yum.conf'] = \"\"\"\n[main]\nk=v\n\n[epel-el7]\nbaseurl=http://m/epel\nproxy=_none_\n{% if a %}\nexclude=x\n{% endif %}\n\"\"\"\nconfig_opts['x'] = \"\"\"not ini\"\"\"\n"
        );
        assert_eq!(s.mirrored.len(), 1);
        assert_eq!(
            s.mirrored_in(text, &out).collect::<Vec<_>>(),
            [("epel-el7", "http://m/epel")]
        );
    }

    #[test]
    fn mock_parse_errors_point_at_the_file_line() {
        let text = "a = 1\nconfig_opts['dnf.conf'] = '''\n[x]\nk=1\nk=2\n'''\n";
        let err = rewrite(
            Format::Mock,
            text,
            &Resolved::default(),
            &ProxyPolicy::default(),
        )
        .unwrap_err();
        let RewriteError::Parse(err) = err else {
            panic!("{err}")
        };
        assert_eq!(err.line, 5, "{err}");
    }

    /// A file that uses a refused key is left byte-identical, with an error
    /// naming the file and the key; a file that does not use it is rewritten.
    #[test]
    fn files_using_a_refused_entry_are_left_untouched() {
        let d = tempfile::tempdir().unwrap();
        let map = Resolved {
            repos: [("ok".to_owned(), "http://m/ok".to_owned())].into(),
            rejected: [
                (
                    "bad".to_owned(),
                    "\"http://x\\ngpgcheck=0\" is refused: U+000A".to_owned(),
                ),
                ("before:ok2".to_owned(), "refused".to_owned()),
            ]
            .into(),
            ..Resolved::default()
        };
        let cases = [
            (
                "a.repo",
                "[ok]\nbaseurl=http://up/\n[bad]\nbaseurl=http://up/\ngpgcheck=1\n",
                "\"bad\"",
            ),
            ("b.repos", "ok,http://up/\nbad,http://up/\n", "\"bad\""),
            (
                "c.cfg",
                "config_opts['dnf.conf'] = \"\"\"\n[bad]\nbaseurl=http://up/\n\"\"\"\n",
                "\"bad\"",
            ),
            ("d.repo", "[ok2]\nbaseurl=http://up/\n", "\"before:ok2\""),
        ];
        for (name, text, key) in cases {
            let p = d.path().join(name);
            std::fs::write(&p, text).unwrap();
            let err = process(&p, None, &map, &ProxyPolicy::default(), false)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(name) && err.contains(key) && err.contains("refused"),
                "{err}"
            );
            assert_eq!(std::fs::read_to_string(&p).unwrap(), text, "{name}");
        }
        let p = d.path().join("fine.repo");
        std::fs::write(&p, "[ok]\nbaseurl=http://up/\n").unwrap();
        let r = process(&p, None, &map, &ProxyPolicy::default(), false).unwrap();
        assert!(r.changed());
    }

    #[test]
    fn bad_file_is_left_untouched() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("bad.repo");
        let text = b"[a]\nbaseurl=x\n[a]\n";
        std::fs::write(&p, text).unwrap();
        let map = Resolved {
            repos: [("a".to_owned(), "http://m/a".to_owned())].into(),
            ..Resolved::default()
        };
        let err = process(&p, None, &map, &ProxyPolicy::default(), false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bad.repo") && err.contains("line 3") && err.contains("duplicate section"),
            "{err}"
        );
        assert_eq!(std::fs::read(&p).unwrap(), text);
    }
}
