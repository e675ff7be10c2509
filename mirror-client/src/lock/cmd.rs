//! The `lock` and `fetch` subcommands: parse, call, render.

use std::path::PathBuf;

use crate::cli::{Common, EXIT_FILES_FAILED, EXIT_NO_MAP, EXIT_USAGE};
use crate::map::Resolved;

use super::LockError;
use super::lockfile::LockFile;

#[derive(Debug, clap::Args)]
pub struct LockArgs {
    /// The input: rpm-lockfile-prototype's rpms.in.yaml.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        required_unless_present = "check"
    )]
    pub input: Option<PathBuf>,
    /// Where the lock goes (default: rpms.lock.yaml beside the input).
    #[arg(short, long, value_name = "FILE", conflicts_with = "check")]
    pub output: Option<PathBuf>,
    /// A frozen map (`mirror-client freeze -o set.yaml`) to lock against,
    /// instead of --mirrors.
    #[arg(long, value_name = "FILE", conflicts_with = "check")]
    pub set: Option<PathBuf>,
    /// Also lock the source packages (from the enabled source repos).
    #[arg(long, conflicts_with = "check")]
    pub sources: bool,
    /// $releasever for repo files that use it (the install root is empty).
    #[arg(long, value_name = "VERSION", conflicts_with = "check")]
    pub releasever: Option<String>,
    /// Check that every URL of this lock is still served, with its size.
    #[arg(long, value_name = "LOCK")]
    pub check: Option<PathBuf>,
    /// With --check: download each file and compare its checksum too.
    #[arg(long, requires = "check")]
    pub deep: bool,
}

#[derive(Debug, clap::Args)]
pub struct FetchArgs {
    /// The lock file.
    #[arg(long, value_name = "FILE")]
    pub lock: PathBuf,
    /// Where the files go.
    #[arg(short = 'd', long = "dir", value_name = "DIR")]
    pub dir: PathBuf,
    /// Architectures to fetch (default: the lock's only one, else this host's).
    #[arg(long, value_name = "ARCH")]
    pub arch: Vec<String>,
    /// Also fetch the source packages.
    #[arg(long)]
    pub sources: bool,
}

fn usage_or_failed(e: &LockError) -> u8 {
    match e {
        LockError::Input { .. } | LockError::Unknown { .. } => EXIT_USAGE,
        _ => EXIT_FILES_FAILED,
    }
}

fn print_json(v: &impl serde::Serialize) {
    mirror_index::outln!("{}", serde_json::to_string_pretty(v).expect("serialisable"));
}

pub fn lock(
    args: &LockArgs,
    common: &Common,
    map: impl FnOnce() -> Result<Resolved, String>,
) -> u8 {
    if let Some(path) = &args.check {
        return check(path, args.deep, common);
    }
    let Some(input) = &args.input else {
        eprintln!("error: give -f rpms.in.yaml (or --check LOCK)");
        return EXIT_USAGE;
    };
    let map = match map() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_NO_MAP;
        }
    };
    let output = args.output.clone().unwrap_or_else(|| {
        input
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join("rpms.lock.yaml")
    });
    let req = super::LockRequest {
        input,
        output: &output,
        map: &map,
        sources: args.sources,
        releasever: args.releasever.as_deref(),
    };
    match super::lock(&req) {
        Ok(done) => {
            if !done.unmirrored.is_empty() {
                eprintln!(
                    "warning: no snapshot in the map for {}: their URLs will move with upstream",
                    done.unmirrored.join(", ")
                );
            }
            if common.json {
                print_json(&done);
            } else if !common.quiet {
                for (arch, n) in &done.packages {
                    eprintln!("{arch}: {n} packages");
                }
                eprintln!("locked into {}", done.output.display());
            }
            0
        }
        Err(e) => {
            eprintln!("error: {e}; nothing written");
            usage_or_failed(&e)
        }
    }
}

/// The lock at `path` and the network side, or the exit code (said why).
fn open(
    path: &std::path::Path,
    common: &Common,
) -> Result<(LockFile, std::sync::Arc<super::fetch::Net>), u8> {
    let lock = LockFile::read(path).map_err(|e| {
        eprintln!("error: {e}");
        EXIT_USAGE
    })?;
    let net = super::fetch::Net::new(common.timeout, common.retries, common.allow_proxy).map_err(
        |e| {
            eprintln!("error: {e}");
            EXIT_FILES_FAILED
        },
    )?;
    Ok((lock, net))
}

fn check(path: &std::path::Path, deep: bool, common: &Common) -> u8 {
    let (lock, net) = match open(path, common) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let checked = super::check::check(&net, &lock, deep);
    if common.json {
        print_json(&checked);
    } else {
        for (url, why) in &checked.gone {
            mirror_index::outln!("gone {}: {why}", super::lockfile::shown(url));
        }
        if !common.quiet {
            eprintln!(
                "{} of {} URLs as locked{}",
                checked.urls - checked.gone.len(),
                checked.urls,
                if deep { " (checksums compared)" } else { "" }
            );
        }
    }
    if checked.gone.is_empty() {
        0
    } else {
        EXIT_FILES_FAILED
    }
}

pub fn fetch(args: &FetchArgs, common: &Common) -> u8 {
    let (lock, net) = match open(&args.lock, common) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let arches = match super::fetch::choose_arches(&lock, &args.arch) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {}: {e}", args.lock.display());
            return EXIT_USAGE;
        }
    };
    match super::fetch::fetch(&net, &lock, &arches, args.sources, &args.dir) {
        Ok(done) => {
            if common.json {
                print_json(&done);
            } else {
                for (name, why) in &done.failed {
                    eprintln!("error: {name}: {why}");
                }
                if !common.quiet {
                    eprintln!(
                        "{}: fetched {} ({} bytes), {} already there, {} failed",
                        args.dir.display(),
                        done.fetched,
                        done.bytes,
                        done.present,
                        done.failed.len()
                    );
                }
            }
            if done.failed.is_empty() {
                0
            } else {
                EXIT_FILES_FAILED
            }
        }
        Err(e) => {
            eprintln!("error: {}: {e}", args.lock.display());
            EXIT_USAGE
        }
    }
}
