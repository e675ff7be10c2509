//! The command line of `mirror-client`.
//!
//! Exit codes:
//! - 0: success, or the mirror map could not be had and files were left
//!   untouched (a warning says so; the job then uses upstream repos)
//! - 1: some files could not be parsed or written (they are untouched; the
//!   other files were processed)
//! - 2: bad usage
//! - 3: the mirror map could not be had and `--strict` was given (or
//!   `freeze`/`show`, which need it)

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::edit::ProxyPolicy;
use crate::files::{self, Format};
use crate::map::{self, Resolved};
use crate::net::NetLoader;

pub const EXIT_FILES_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_NO_MAP: u8 = 3;

/// The environment variable the old system used for the map's location.
pub const ENV_MIRRORS: &str = "CI_MIRRORS_URL";

/// Point yum/dnf repo files, *.repos lists and mock configs at mirror snapshots.
///
/// Each section (repo id) that has a mirror gets baseurl = its latest snapshot,
/// loses mirrorlist/metalink, and gets a no-proxy setting; every other line is
/// kept byte for byte. Running it twice changes nothing the second time.
#[derive(Debug, Parser)]
#[allow(clippy::struct_excessive_bools)] // each bool is a command-line flag
#[command(name = "mirror-client", version, about, long_about, args_conflicts_with_subcommands = true, after_help = EXIT_HELP)]
pub struct Cli {
    /// Mirror map: http(s) index, JSON/YAML file or file:// URL, or data:application/json URL.
    #[arg(long, global = true, env = ENV_MIRRORS, value_name = "URI")]
    mirrors: Option<String>,
    /// Read the channel's index (all_CHANNEL.json beside the --mirrors
    /// index, wrapped in CHANNEL_ci_repos) instead of the latest snapshots.
    #[arg(long, global = true, value_name = "CHANNEL", value_parser = parse_channel)]
    channel: Option<String>,
    /// Time travel: per mirror, the newest snapshot made at or before this
    /// time (RFC 3339 or a snapshot name), from all_snapshots.json beside
    /// the --mirrors index.
    #[arg(long, global = true, value_name = "TIME", conflicts_with = "channel")]
    at: Option<String>,
    /// Key that wraps the map in an index.
    #[arg(
        long,
        global = true,
        default_value = "latest_ci_repos",
        value_name = "NAME"
    )]
    json_varname: String,
    /// Keep proxy settings (and add none) instead of forcing direct access.
    #[arg(long, global = true)]
    allow_proxy: bool,
    /// The value of proxy= for mirrored repos (default: _none_ for -elN and -fcN<29 ids, else None).
    #[arg(long, global = true, value_name = "VALUE")]
    none_value: Option<String>,
    /// Fail (exit 3) when the mirror map cannot be had, instead of leaving files untouched.
    #[arg(long, global = true)]
    strict: bool,
    /// Seconds before giving up on one request for the map.
    #[arg(long, global = true, default_value_t = 30, value_name = "SECS")]
    timeout: u64,
    /// Retries for connection errors, 5xx and truncated bodies.
    #[arg(long, global = true, default_value_t = 3, value_name = "N")]
    retries: u32,
    /// Largest mirror map (or include) accepted, in bytes or with K, M, G.
    #[arg(long, global = true, default_value = "64M", value_name = "SIZE", value_parser = parse_size)]
    max_map_size: u64,
    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// Only errors and warnings on stderr.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Print a unified diff of what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Treat every FILE as this format instead of detecting it.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Files to rewrite in place.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

const EXIT_HELP: &str = "Exit status: 0 success (or map unavailable: files untouched, warning printed), \
1 some files failed, 2 bad usage, 3 map unavailable with --strict (always for freeze and show).";

#[derive(Debug, Subcommand)]
enum Command {
    /// Resolve the map once and write it as a flat YAML (or .json) file for later steps.
    Freeze {
        /// Output file; JSON when it ends in .json, else YAML.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Print the resolved map.
    Show,
    /// Resolve an rpms.in.yaml with dnf against the snapshots the map
    /// names and write an rpms.lock.yaml (rpm-lockfile-prototype format)
    /// whose URLs are immutable snapshot URLs; or, with --check, ask
    /// whether a lock's URLs are all still served.
    Lock(crate::lock::cmd::LockArgs),
    /// Download the files of a lock, each verified (size and checksum)
    /// before it is renamed into place; then `dnf install DIR/*.rpm`.
    Fetch(crate::lock::cmd::FetchArgs),
}

/// `65536`, `64K`, `64M`, `1G` (binary units) as bytes.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                _ => return Err(format!("bad size {s:?}: use a number with K, M or G")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("bad size {s:?}: use a positive number with K, M or G"))
}

pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    ExitCode::from(run_cli(&cli))
}

fn load_map(cli: &Cli) -> Result<Resolved, String> {
    load_map_from(cli, cli.mirrors.as_deref(), cli.strict)
}

/// The map at `uri` (`--mirrors`, or another source such as `lock --set`).
fn load_map_from(cli: &Cli, uri: Option<&str>, strict: bool) -> Result<Resolved, String> {
    let uri = uri
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| format!("no mirror map given (pass --mirrors URI or set {ENV_MIRRORS})"))?;
    let loader = NetLoader::new(
        Duration::from_secs(cli.timeout.max(1)),
        cli.retries,
        cli.allow_proxy,
        cli.max_map_size,
    )?;
    if let Some(at) = &cli.at {
        let (map, missing) = map::resolve_at_time(uri, at, &loader)
            .map_err(|e| format!("cannot load the mirror map: {e}"))?;
        for (key, why) in &map.rejected {
            eprintln!("error: mirror map entry {key:?}: {why}");
        }
        if !missing.is_empty() {
            eprintln!(
                "warning: no snapshot made at or before {at} for: {} (left alone)",
                missing.join(", ")
            );
            if strict {
                return Err(format!(
                    "--strict: {} mirrors had no snapshot at {at}",
                    missing.len()
                ));
            }
        }
        return Ok(map);
    }
    let (uri, key) = match &cli.channel {
        Some(ch) => channel_index(uri, ch)?,
        None => (uri.to_owned(), cli.json_varname.clone()),
    };
    let uri = uri.as_str();
    let map =
        map::resolve(uri, &key, &loader).map_err(|e| format!("cannot load the mirror map: {e}"))?;
    for (key, why) in &map.rejected {
        eprintln!("error: mirror map entry {key:?}: {why}");
    }
    if map.is_empty() && map.rejected.is_empty() {
        return Err(format!(
            "the mirror map {} has no usable entry (it is empty)",
            map::redact(uri)
        ));
    }
    Ok(map)
}

/// A `--channel` value: a typo is a usage error (exit 2), never taken for
/// an unreachable map. `latest` is the default index, not a channel.
fn parse_channel(s: &str) -> Result<String, String> {
    if s == "latest" {
        return Err("latest is the default index: drop --channel".into());
    }
    mirror_index::layout::check_channel(s)
        .map(|()| s.to_owned())
        .map_err(|e| e.to_string())
}

/// The index of `channel` beside the latest index at `uri`, and its key.
fn channel_index(uri: &str, channel: &str) -> Result<(String, String), String> {
    let (dir, _) = uri.rsplit_once('/').ok_or_else(|| {
        format!("--channel needs --mirrors to name an index file (all_latest.json), not {uri:?}")
    })?;
    Ok((
        format!(
            "{dir}/{}",
            mirror_index::layout::channel_index(channel, "json")
        ),
        mirror_index::layout::wrapper_key(channel),
    ))
}

fn run_cli(cli: &Cli) -> u8 {
    match &cli.command {
        Some(Command::Freeze { output }) => {
            let map = match load_map(cli) {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("error: {e}");
                    return EXIT_NO_MAP;
                }
            };
            if !map.rejected.is_empty() {
                eprintln!(
                    "error: not freezing a map with {} refused entries (see above); {} is unchanged",
                    map.rejected.len(),
                    output.display()
                );
                return EXIT_FILES_FAILED;
            }
            let value = map.to_value();
            let text = if output.extension().is_some_and(|e| e == "json") {
                serde_json::to_string_pretty(&value).expect("serialisable") + "\n"
            } else {
                serde_yaml::to_string(&value).expect("serialisable")
            };
            if let Err(e) = mirror_index::atomic::write_atomic(output, text.as_bytes()) {
                eprintln!("error: {e}: {}", e.source);
                return EXIT_FILES_FAILED;
            }
            if !cli.quiet {
                eprintln!(
                    "froze {} mirrors into {}",
                    map.repos.len(),
                    output.display()
                );
            }
            0
        }
        Some(Command::Show) => {
            let map = match load_map(cli) {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("error: {e}");
                    return EXIT_NO_MAP;
                }
            };
            if cli.json {
                mirror_index::outln!(
                    "{}",
                    serde_json::to_string_pretty(&map.to_value()).expect("serialisable")
                );
            } else {
                for (id, url) in &map.repos {
                    mirror_index::outln!("{id} {url}");
                }
                for (target, list) in &map.before {
                    for (id, url) in list {
                        mirror_index::outln!("{id} {url} (inserted before [{target}])");
                    }
                }
            }
            0
        }
        Some(Command::Lock(args)) => crate::lock::cmd::lock(args, &Common::of(cli), || {
            // A lock is never made against a partial map.
            let set = args.set.as_ref().map(|p| p.display().to_string());
            load_map_from(cli, set.as_deref().or(cli.mirrors.as_deref()), true)
        }),
        Some(Command::Fetch(args)) => crate::lock::cmd::fetch(args, &Common::of(cli)),
        None => inject(cli),
    }
}

/// The global options the lock commands use.
pub struct Common {
    pub json: bool,
    pub quiet: bool,
    pub timeout: Duration,
    pub retries: u32,
    pub allow_proxy: bool,
}

impl Common {
    fn of(cli: &Cli) -> Self {
        Self {
            json: cli.json,
            quiet: cli.quiet,
            timeout: Duration::from_secs(cli.timeout.max(1)),
            retries: cli.retries,
            allow_proxy: cli.allow_proxy,
        }
    }
}

fn inject(cli: &Cli) -> u8 {
    if cli.files.is_empty() {
        eprintln!("error: no FILE given; see --help");
        return EXIT_USAGE;
    }
    let map = match load_map(cli) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("warning: {e}");
            if cli.strict {
                eprintln!(
                    "error: --strict: not rewriting {} files without a mirror map",
                    cli.files.len()
                );
                return EXIT_NO_MAP;
            }
            eprintln!(
                "warning: leaving {} files untouched; the job will use the upstream repos",
                cli.files.len()
            );
            return 0;
        }
    };
    let proxy = ProxyPolicy {
        allow_proxy: cli.allow_proxy,
        none_value: cli.none_value.clone(),
    };
    let mut failed = 0;
    let mut reports = Vec::new();
    for path in &cli.files {
        match files::process(path, cli.format, &map, &proxy, cli.dry_run) {
            Ok(r) => {
                if cli.dry_run && !cli.json {
                    mirror_index::out!("{}", r.diff());
                }
                if !cli.quiet && !cli.json {
                    eprint!("{}", describe(&r, cli.dry_run));
                }
                if cli.json {
                    let mirrored: serde_json::Map<String, serde_json::Value> = r
                        .mirrored()
                        .map(|(id, url)| (id.to_owned(), url.into()))
                        .collect();
                    reports.push(serde_json::json!({
                        "file": r.path,
                        "format": r.format,
                        "changed": r.changed(),
                        "written": r.changed() && !cli.dry_run,
                        "mirrored": mirrored,
                        "inserted": r.summary.inserted.iter().map(|(id, url, before)| serde_json::json!({"id": id, "url": url, "before": before})).collect::<Vec<_>>(),
                        "untouched": r.untouched().collect::<Vec<_>>(),
                    }));
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: {}", mirror_index::error_chain(&e));
                reports.push(
                    serde_json::json!({"file": path, "error": mirror_index::error_chain(&e)}),
                );
            }
        }
    }
    if cli.json {
        mirror_index::outln!(
            "{}",
            serde_json::to_string_pretty(&reports).expect("serialisable")
        );
    }
    if failed > 0 {
        eprintln!(
            "error: {failed} of {} files could not be rewritten and were left untouched",
            cli.files.len()
        );
        EXIT_FILES_FAILED
    } else {
        0
    }
}

fn describe(r: &files::FileResult, dry_run: bool) -> String {
    use std::fmt::Write as _;
    let state = match (r.changed(), dry_run) {
        (false, _) => "unchanged",
        (true, true) => "would change",
        (true, false) => "rewritten",
    };
    let mut s = format!("{} ({:?}): {state}\n", r.path.display(), r.format)
        .replace("(Ini)", "(ini)")
        .replace("(Repos)", "(repos)")
        .replace("(Mock)", "(mock)");
    for (id, url) in r.mirrored() {
        let _ = writeln!(s, "  {id} -> {url}");
    }
    for (id, url, before) in &r.summary.inserted {
        let _ = writeln!(s, "  + {id} -> {url} (inserted before [{before}])");
    }
    if !r.summary.untouched.is_empty() {
        let _ = writeln!(
            s,
            "  no mirror, left alone: {}",
            r.untouched().collect::<Vec<_>>().join(", ")
        );
    }
    s
}
