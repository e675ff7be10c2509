//! Resolution with dnf's own solver: the host's dnf (its Python API, so
//! libsolv decides exactly as `dnf install` would), in an empty install
//! root with a private cache, once per architecture.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use super::LockError;

const SCRIPT: &str = include_str!("resolve.py");

/// One package dnf chose.
#[derive(Debug, Clone, Deserialize)]
pub struct Chosen {
    pub name: String,
    pub epoch: u64,
    pub version: String,
    pub release: String,
    pub arch: String,
    pub repoid: String,
    pub url: String,
    pub size: u64,
    pub checksum_type: Option<String>,
    pub checksum: Option<String>,
    pub sourcerpm: String,
}

impl Chosen {
    /// `[epoch:]version-release`, as the prototype writes it.
    pub fn evr(&self) -> String {
        if self.epoch == 0 {
            format!("{}-{}", self.version, self.release)
        } else {
            format!("{}:{}-{}", self.epoch, self.version, self.release)
        }
    }
}

#[derive(Debug, Deserialize)]
struct Answer {
    packages: Vec<Chosen>,
    sources: Vec<Chosen>,
    errors: Vec<Problem>,
}

#[derive(Debug, Deserialize)]
struct Problem {
    kind: String,
    #[serde(default)]
    package: Option<String>,
    #[serde(default)]
    msg: String,
}

/// What one architecture resolves to.
#[derive(Debug)]
pub struct Resolution {
    pub packages: Vec<Chosen>,
    pub sources: Vec<Chosen>,
}

/// What to resolve for one architecture.
pub struct Request<'a> {
    pub arch: &'a str,
    pub specs: &'a [String],
    /// A directory of `.repo` files (already pointed at snapshots).
    pub reposdir: &'a Path,
    pub weak_deps: bool,
    pub sources: bool,
    pub releasever: &'a str,
}

/// The interpreter the host's `dnf` runs with (its `#!` line), so its
/// Python modules are the ones found.
pub fn dnf_python() -> Result<Vec<String>, LockError> {
    let missing = || {
        LockError::Tool(
            "lock resolves with dnf, and no dnf (dnf 4 with python3-dnf) is on PATH; install it (apt-get install dnf, dnf install python3-dnf)".into(),
        )
    };
    let path = std::env::var_os("PATH").ok_or_else(missing)?;
    let dnf = std::env::split_paths(&path)
        .map(|d| d.join("dnf"))
        .find(|p| p.is_file())
        .ok_or_else(missing)?;
    let mut head = [0u8; 256];
    let n = std::io::Read::read(
        &mut std::fs::File::open(&dnf)
            .map_err(|e| LockError::Tool(format!("{}: {e}", dnf.display())))?,
        &mut head,
    )
    .unwrap_or(0);
    let first = String::from_utf8_lossy(&head[..n]);
    let line = first.lines().next().unwrap_or_default();
    let interp = line
        .strip_prefix("#!")
        .filter(|l| l.contains("python"))
        .ok_or_else(|| {
            LockError::Tool(format!(
                "{} is not dnf 4 (a Python script); lock needs dnf 4's Python API (python3-dnf)",
                dnf.display()
            ))
        })?;
    Ok(interp.split_whitespace().map(str::to_owned).collect())
}

/// Resolve `req` in a fresh empty root under `work`.
pub fn resolve(python: &[String], work: &Path, req: &Request<'_>) -> Result<Resolution, LockError> {
    let root = work.join(format!("root-{}", req.arch));
    let cache = work.join(format!("cache-{}", req.arch));
    let out = work.join(format!("answer-{}.json", req.arch));
    for d in [&root, &cache] {
        std::fs::create_dir_all(d).map_err(|e| LockError::Tool(format!("{}: {e}", d.display())))?;
    }
    let args = serde_json::json!({
        "arch": req.arch,
        "packages": req.specs,
        "root": root,
        "cache": cache,
        "reposdir": req.reposdir,
        "weak": req.weak_deps,
        "sources": req.sources,
        "releasever": req.releasever,
        "out": out,
    });
    let (prog, pre) = python.split_first().expect("an interpreter");
    let run = Command::new(prog)
        .args(pre)
        .arg("-c")
        .arg(SCRIPT)
        .arg(args.to_string())
        .output()
        .map_err(|e| LockError::Tool(format!("cannot run {prog}: {e}")))?;
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    if !run.status.success() || text.is_empty() {
        let err = String::from_utf8_lossy(&run.stderr);
        let tail: String = err
            .chars()
            .rev()
            .take(2000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Err(LockError::Tool(format!(
            "dnf failed resolving {} ({}): {}",
            req.arch,
            run.status,
            bounded(tail.trim())
        )));
    }
    let answer: Answer =
        serde_json::from_str(&text).map_err(|e| LockError::Tool(format!("dnf's answer: {e}")))?;
    if let Some(first) = answer.errors.first() {
        let unknown: Vec<&str> = answer
            .errors
            .iter()
            .filter(|p| p.kind == "unknown")
            .filter_map(|p| p.package.as_deref())
            .collect();
        return Err(match first.kind.as_str() {
            "unknown" => LockError::Unknown {
                arch: req.arch.to_owned(),
                packages: unknown.iter().map(|s| (*s).to_owned()).collect(),
            },
            "no_dnf" => LockError::Tool(format!(
                "{} cannot import dnf ({}); install python3-dnf",
                prog, first.msg
            )),
            "conflict" => LockError::Conflict {
                arch: req.arch.to_owned(),
                msg: bounded(&first.msg),
            },
            _ => LockError::Resolve {
                arch: req.arch.to_owned(),
                msg: bounded(&format!(
                    "{}{}",
                    first
                        .package
                        .as_deref()
                        .map(|p| format!("{p}: "))
                        .unwrap_or_default(),
                    first.msg
                )),
            },
        });
    }
    Ok(Resolution {
        packages: answer.packages,
        sources: answer.sources,
    })
}

/// dnf's message, at most 4 KiB, without control characters.
fn bounded(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .take(4096)
        .collect()
}

/// A private working directory for one lock run.
pub fn workdir() -> Result<tempfile::TempDir, LockError> {
    tempfile::Builder::new()
        .prefix("mirror-client-lock-")
        .tempdir()
        .map_err(|e| LockError::Tool(format!("cannot make a working directory: {e}")))
}

/// Where the `.repo` files for resolution go under `work`.
pub fn reposdir(work: &Path) -> PathBuf {
    work.join("repos.d")
}
