//! Package lock files whose URLs never rot: `lock` resolves an
//! `rpms.in.yaml` with dnf against the snapshots a mirror map names and
//! writes the rpm-lockfile-prototype's `rpms.lock.yaml`; `lock --check`
//! asks whether every URL is still served; `fetch` downloads a lock's
//! files, each verified before it is renamed into place.
//!
//! - [`input`]: the input file, read strictly;
//! - [`lockfile`]: the lock format, written sorted, read back checked;
//! - [`resolve`]: dnf's solver, once per architecture;
//! - [`check`] and [`fetch`]: the network side.

pub mod check;
pub mod cmd;
pub mod fetch;
pub mod input;
pub mod lockfile;
pub mod resolve;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::edit::ProxyPolicy;
use crate::files::{self, Format};
use crate::map::Resolved;
use lockfile::{ArchLock, Entry, LockFile};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// A file we read is wrong: it names the file and the line.
    #[error("{}{}: {msg}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Input {
        path: PathBuf,
        line: Option<usize>,
        msg: String,
    },
    /// dnf (or another tool) is missing or failed.
    #[error("{0}")]
    Tool(String),
    #[error("{arch}: no package matches {}", packages.join(", "))]
    Unknown { arch: String, packages: Vec<String> },
    #[error("{arch}: the packages asked for conflict: {msg}")]
    Conflict { arch: String, msg: String },
    #[error("{arch}: {msg}")]
    Resolve { arch: String, msg: String },
    #[error("{}: {msg}", path.display())]
    Write { path: PathBuf, msg: String },
}

/// The text of `path`, refused past `max` bytes: read through a limit, so
/// a file that grows meanwhile or a FIFO cannot make it read more.
fn read_text(path: &Path, max: u64) -> Result<String, LockError> {
    use std::io::Read;
    let bad = |msg: String| LockError::Input {
        path: path.to_path_buf(),
        line: None,
        msg,
    };
    let f = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let mut buf = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut buf)
        .map_err(|e| bad(e.to_string()))?;
    if buf.len() as u64 > max {
        return Err(bad(format!("larger than {max} bytes")));
    }
    String::from_utf8(buf).map_err(|_| bad("not UTF-8 text".into()))
}

/// What `lock` was asked.
pub struct LockRequest<'a> {
    pub input: &'a Path,
    pub output: &'a Path,
    pub map: &'a Resolved,
    pub sources: bool,
    pub releasever: Option<&'a str>,
}

/// What `lock` did.
#[derive(Debug, serde::Serialize)]
pub struct Locked {
    pub output: PathBuf,
    /// Arch -> packages locked.
    pub packages: std::collections::BTreeMap<String, usize>,
    /// Repo ids the map has no snapshot for: their URLs will move.
    pub unmirrored: Vec<String>,
}

/// Resolve `req.input` and write the lock. Nothing is written unless
/// every architecture resolved.
pub fn lock(req: &LockRequest<'_>) -> Result<Locked, LockError> {
    let input = input::read(req.input)?;
    let python = resolve::dnf_python()?;
    let work = resolve::workdir()?;
    let reposdir = resolve::reposdir(work.path());
    let unmirrored = prepare_repos(&input, req.map, &reposdir)?;
    let releasever = req
        .releasever
        .or(input.releasever.as_deref())
        .unwrap_or("0")
        .to_owned();
    let mut arches = Vec::new();
    let mut counts = std::collections::BTreeMap::new();
    for (arch, specs) in &input.packages {
        if specs.is_empty() {
            continue;
        }
        let got = resolve::resolve(
            &python,
            work.path(),
            &resolve::Request {
                arch,
                specs,
                reposdir: &reposdir,
                weak_deps: input.install_weak_deps,
                sources: req.sources,
                releasever: &releasever,
            },
        )
        .map_err(|e| name_line(e, req.input))?;
        let entries = |list: &[resolve::Chosen], source: bool| {
            list.iter()
                .map(|c| to_entry(c, source))
                .collect::<Result<Vec<_>, _>>()
        };
        let packages = entries(&got.packages, false)?;
        counts.insert(arch.clone(), packages.len());
        arches.push(ArchLock {
            arch: arch.clone(),
            packages,
            source: entries(&got.sources, true)?,
            module_metadata: Vec::new(),
        });
    }
    let lock = LockFile::new(arches);
    mirror_index::atomic::write_atomic(req.output, lock.render().as_bytes()).map_err(|e| {
        LockError::Write {
            path: req.output.to_path_buf(),
            msg: e.source.to_string(),
        }
    })?;
    Ok(Locked {
        output: req.output.to_path_buf(),
        packages: counts,
        unmirrored,
    })
}

/// An unknown package is named with its line in the input file; a
/// conflict names the input file.
fn name_line(e: LockError, input: &Path) -> LockError {
    match e {
        LockError::Unknown { arch, packages } => {
            let text = std::fs::read_to_string(input).unwrap_or_default();
            LockError::Input {
                path: input.to_path_buf(),
                line: packages.first().and_then(|p| input::line_of(&text, p)),
                msg: format!("{arch}: no package matches {}", packages.join(", ")),
            }
        }
        // What was asked cannot be had together: the input is at fault.
        LockError::Conflict { arch, msg } => LockError::Input {
            path: input.to_path_buf(),
            line: None,
            msg: format!("{arch}: the packages asked for conflict: {msg}"),
        },
        other => other,
    }
}

fn to_entry(c: &resolve::Chosen, source: bool) -> Result<Entry, LockError> {
    let (Some(kind), Some(hex)) = (&c.checksum_type, &c.checksum) else {
        return Err(LockError::Resolve {
            arch: c.arch.clone(),
            msg: format!("{}: its repository gives no checksum", c.name),
        });
    };
    let e = Entry {
        url: c.url.clone(),
        repoid: c.repoid.clone(),
        size: c.size,
        checksum: format!("{kind}:{}", hex.to_ascii_lowercase()),
        name: c.name.clone(),
        evr: c.evr(),
        sourcerpm: (!source && !c.sourcerpm.is_empty()).then(|| c.sourcerpm.clone()),
    };
    lockfile::check_entry(&e).map_err(|msg| LockError::Resolve {
        arch: c.arch.clone(),
        msg: format!("{} from repository {}: {msg}", c.name, c.repoid),
    })?;
    Ok(e)
}

/// Copy the input's repo files (and inline repos) into `dir`, rewritten to
/// the map's snapshots exactly as a job's files are. Returns the enabled
/// repo ids the map does not name.
fn prepare_repos(
    input: &input::LockInput,
    map: &Resolved,
    dir: &Path,
) -> Result<Vec<String>, LockError> {
    let io = |p: &Path, e: std::io::Error| LockError::Write {
        path: p.to_path_buf(),
        msg: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut written = Vec::new();
    for (i, src) in input.repofiles.iter().enumerate() {
        let dest = dir.join(format!("{i:03}.repo"));
        std::fs::copy(src, &dest).map_err(|e| io(src, e))?;
        written.push((dest, src.clone()));
    }
    if !input.repos.is_empty() {
        let mut text = String::new();
        for r in &input.repos {
            let _ = writeln!(text, "[{}]", r["repoid"]);
            for (k, v) in r.iter().filter(|(k, _)| *k != "repoid") {
                let _ = writeln!(text, "{k}={v}");
            }
        }
        let dest = dir.join("inline.repo");
        std::fs::write(&dest, text).map_err(|e| io(&dest, e))?;
        written.push((dest.clone(), dest));
    }
    let proxy = ProxyPolicy {
        allow_proxy: true,
        none_value: None,
    };
    let mut unmirrored = BTreeSet::new();
    for (dest, src) in &written {
        let r = files::process(dest, Some(Format::Ini), map, &proxy, false).map_err(|e| {
            LockError::Input {
                path: src.clone(),
                line: None,
                msg: mirror_index::error_chain(&e),
            }
        })?;
        unmirrored.extend(r.untouched().map(str::to_owned));
    }
    Ok(unmirrored.into_iter().collect())
}
