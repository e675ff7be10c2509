//! `rpms.in.yaml`, the rpm-lockfile-prototype's input, read strictly: a
//! key we do not support is an error naming it and its line, never a
//! silent difference from what the prototype would lock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::LockError;

/// The largest input file read.
const MAX_INPUT: u64 = 1 << 20;

/// What to lock, resolved against the input file's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInput {
    /// Arch -> the package specs asked for on it.
    pub packages: BTreeMap<String, Vec<String>>,
    /// Repo files (local paths), in order.
    pub repofiles: Vec<PathBuf>,
    /// Repositories given inline (`contentOrigin.repos`): id -> key -> value.
    pub repos: Vec<BTreeMap<String, String>>,
    pub install_weak_deps: bool,
    pub releasever: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Raw {
    #[serde(default)]
    packages: Vec<Spec>,
    #[serde(default)]
    reinstall_packages: Vec<Spec>,
    #[serde(default)]
    arches: Vec<String>,
    content_origin: Origin,
    #[serde(default)]
    module_enable: Vec<serde_yaml::Value>,
    #[serde(default)]
    module_disable: Vec<serde_yaml::Value>,
    #[serde(default)]
    install_weak_deps: Option<bool>,
    #[serde(default)]
    context: Option<BTreeMap<String, serde_yaml::Value>>,
    /// Not the prototype's: `$releasever` for repo files that use it
    /// (the install root is empty, so dnf cannot detect it).
    #[serde(default)]
    releasever: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Spec {
    Name(String),
    Detailed {
        name: String,
        #[serde(default)]
        arches: Option<ArchSel>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArchSel {
    #[serde(default)]
    only: OneOrMany,
    #[serde(default)]
    not: OneOrMany,
}

#[derive(Deserialize, Default)]
#[serde(untagged)]
enum OneOrMany {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn list(&self) -> Vec<&str> {
        match self {
            OneOrMany::None => Vec::new(),
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Origin {
    #[serde(default)]
    repofiles: Vec<RepoFileRef>,
    #[serde(default)]
    repos: Vec<BTreeMap<String, serde_yaml::Value>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RepoFileRef {
    Path(String),
    Detailed { location: String },
}

/// The line (1-based) of the first line of `text` that holds `needle`.
pub fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

/// The architectures rpm knows (dnf's `--forcearch` choices that matter
/// for repositories).
pub const KNOWN_ARCHES: &[&str] = &[
    "aarch64",
    "armv7hl",
    "i686",
    "loongarch64",
    "ppc64",
    "ppc64le",
    "riscv64",
    "s390x",
    "x86_64",
];

/// Read and check `path`.
pub fn read(path: &Path) -> Result<LockInput, LockError> {
    let bad = |line: Option<usize>, msg: String| LockError::Input {
        path: path.to_path_buf(),
        line,
        msg,
    };
    let text = super::read_text(path, MAX_INPUT)?;
    mirror_index::nesting::check(&text, mirror_index::nesting::MAX_DEPTH)
        .map_err(|e| bad(None, e.to_string()))?;
    let raw: Raw = serde_yaml::from_str(&text).map_err(|e| {
        let line = e.location().map(|l| l.line());
        let msg = e.to_string();
        // serde_yaml appends " at line N column M"; the line is shown apart.
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
        bad(line, msg)
    })?;
    let unsupported = |key: &str, why: &str| bad(line_of(&text, key), format!("{key}: {why}"));
    if !raw.module_enable.is_empty() {
        return Err(unsupported(
            "moduleEnable",
            "modules are not supported (lock resolves plain repositories)",
        ));
    }
    if !raw.module_disable.is_empty() {
        return Err(unsupported("moduleDisable", "modules are not supported"));
    }
    if let Some(ctx) = &raw.context {
        for (k, v) in ctx {
            let bare = k == "bare" && v.as_bool() == Some(true);
            if !bare {
                return Err(unsupported(
                    &format!("{k}:"),
                    "only `context: {bare: true}` is supported: lock resolves in an empty install root",
                ));
            }
        }
    }
    if raw.arches.is_empty() {
        return Err(bad(
            line_of(&text, "arches"),
            "arches: give at least one architecture (x86_64, aarch64, ...)".into(),
        ));
    }
    let mut arches = Vec::new();
    for a in &raw.arches {
        if !KNOWN_ARCHES.contains(&a.as_str()) {
            return Err(bad(
                line_of(&text, a),
                format!(
                    "unknown architecture {a:?} (known: {})",
                    KNOWN_ARCHES.join(", ")
                ),
            ));
        }
        if !arches.contains(a) {
            arches.push(a.clone());
        }
    }
    let mut packages: BTreeMap<String, Vec<String>> =
        arches.iter().map(|a| (a.clone(), Vec::new())).collect();
    for spec in raw.packages.iter().chain(&raw.reinstall_packages) {
        let (name, sel) = match spec {
            Spec::Name(n) => (n, None),
            Spec::Detailed { name, arches } => (name, arches.as_ref()),
        };
        check_spec(name).map_err(|m| bad(line_of(&text, name), m))?;
        for a in &arches {
            let wanted = sel.is_none_or(|s| {
                let only = s.only.list();
                (only.is_empty() || only.contains(&a.as_str()))
                    && !s.not.list().contains(&a.as_str())
            });
            let list = packages.get_mut(a).expect("every arch has a list");
            if wanted && !list.contains(name) {
                list.push(name.clone());
            }
        }
    }
    if packages.values().all(Vec::is_empty) {
        return Err(bad(
            line_of(&text, "packages"),
            "packages: nothing to lock".into(),
        ));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut repofiles = Vec::new();
    for r in &raw.content_origin.repofiles {
        let loc = match r {
            RepoFileRef::Path(p) | RepoFileRef::Detailed { location: p } => p,
        };
        if loc.contains("://") {
            return Err(bad(
                line_of(&text, loc),
                format!("repofiles: {loc}: only local files are supported; download it first"),
            ));
        }
        let p = dir.join(loc);
        if !p.is_file() {
            return Err(bad(
                line_of(&text, loc),
                format!("repofiles: {} is not a file", p.display()),
            ));
        }
        repofiles.push(p);
    }
    let mut repos = Vec::new();
    for r in &raw.content_origin.repos {
        let mut flat = BTreeMap::new();
        for (k, v) in r {
            let v = match v {
                serde_yaml::Value::String(s) => s.clone(),
                serde_yaml::Value::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
                serde_yaml::Value::Number(n) => n.to_string(),
                _ => {
                    return Err(bad(
                        line_of(&text, k),
                        format!("repos: {k}: give a string, a number or a boolean"),
                    ));
                }
            };
            if v.contains('\n') || k.contains(['\n', '=', '[', ']']) {
                return Err(bad(line_of(&text, k), format!("repos: {k}: one line only")));
            }
            flat.insert(k.clone(), v);
        }
        let id = flat.get("repoid").cloned().unwrap_or_default();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        {
            return Err(bad(
                line_of(&text, "repoid"),
                "repos: every repository needs a repoid (letters, digits, - _ . :)".into(),
            ));
        }
        repos.push(flat);
    }
    if repofiles.is_empty() && repos.is_empty() {
        return Err(bad(
            line_of(&text, "contentOrigin"),
            "contentOrigin: give repofiles or repos".into(),
        ));
    }
    if let Some(r) = &raw.releasever
        && (r.is_empty() || r.len() > 64 || r.contains(['/', '\n', ' ']))
    {
        return Err(bad(
            line_of(&text, "releasever"),
            format!("releasever {r:?}: a short word"),
        ));
    }
    Ok(LockInput {
        packages,
        repofiles,
        repos,
        install_weak_deps: raw.install_weak_deps.unwrap_or(true),
        releasever: raw.releasever,
    })
}

/// A package spec as dnf takes it: a name, a glob, a NEVRA, a provide or a
/// path; no option, no space, bounded.
fn check_spec(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 256 {
        return Err(format!(
            "package {s:?}: empty or longer than 256 characters"
        ));
    }
    if s.starts_with('-') || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "package {s:?}: a name, NEVRA, provide or path, without spaces or a leading -"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> Result<LockInput, LockError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.repo"), "[a]\nbaseurl=http://x/\n").unwrap();
        let p = dir.path().join("rpms.in.yaml");
        std::fs::write(&p, text).unwrap();
        read(&p)
    }

    fn err_line(r: Result<LockInput, LockError>) -> (Option<usize>, String) {
        match r {
            Err(LockError::Input { line, msg, .. }) => (line, msg),
            other => panic!("expected an input error, got {other:?}"),
        }
    }

    #[test]
    fn packages_per_arch_with_only_and_not() {
        let i = read_text(
            "contentOrigin:\n  repofiles: [a.repo]\narches: [x86_64, aarch64]\npackages:\n  - app\n  - name: tool\n    arches: {only: aarch64}\n  - name: other\n    arches: {not: [aarch64]}\nreinstallPackages: [app, base]\ninstallWeakDeps: false\n",
        )
        .unwrap();
        assert_eq!(i.packages["x86_64"], ["app", "other", "base"]);
        assert_eq!(i.packages["aarch64"], ["app", "tool", "base"]);
        assert!(!i.install_weak_deps);
        assert_eq!(i.repofiles.len(), 1);
    }

    #[test]
    fn refusals_name_the_line() {
        let base = "contentOrigin:\n  repofiles: [a.repo]\narches: [x86_64]\npackages: [app]\n";
        let (line, msg) = err_line(read_text(&format!("{base}frobnicate: 1\n")));
        assert_eq!(line, Some(5), "{msg}");
        assert!(msg.contains("frobnicate"), "{msg}");
        let (line, msg) = err_line(read_text(&base.replace("x86_64", "x86-64")));
        assert_eq!(line, Some(3), "{msg}");
        assert!(msg.contains("unknown architecture"), "{msg}");
        let (line, msg) = err_line(read_text(&format!("{base}moduleEnable: [nodejs:18]\n")));
        assert_eq!(line, Some(5), "{msg}");
        let (_, msg) = err_line(read_text(&base.replace("a.repo", "missing.repo")));
        assert!(msg.contains("missing.repo"), "{msg}");
        let (_, msg) = err_line(read_text(&base.replace("[app]", "[\"-y\"]")));
        assert!(msg.contains("-y"), "{msg}");
        let (line, _) = err_line(read_text(&format!("{base}context: {{image: ubi9}}\n")));
        assert_eq!(line, Some(5));
        assert!(read_text(&format!("{base}context: {{bare: true}}\n")).is_ok());
    }
}
