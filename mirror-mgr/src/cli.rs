//! The command line: parse, merge flags + environment + config file into one
//! `Settings`, run, print, and map errors to documented exit codes.
//!
//! Exit codes:
//! - 0: success (whether or not a snapshot was made)
//! - 1: a sync or command failed (message on stderr; `--json` has details)
//! - 2: bad usage or configuration
//! - 3: another mirror-mgr holds the mirror's lock (use `--wait` to queue)
//! - 10: with `sync --detailed-exitcode`, success and at least one new snapshot

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use url::Url;

use mirror_index::MirrorName;

use crate::config::{self, Config, MirrorSpec, Upstream, XmlBasePolicy};
use crate::env_vars;
use crate::fetch::FetchOptions;
use crate::index;
use crate::lifecycle;
use crate::report::{Status, SyncReport};
use crate::sync::{self, SyncContext};

pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_LOCKED: u8 = 3;
pub const EXIT_NEW_SNAPSHOT: u8 = 10;

/// Transactional snapshot mirrors of yum/dnf repositories.
///
/// Syncs each upstream repo into ROOT/NAME/base, publishes an immutable
/// snapshot ROOT/NAME/YYYY-MM-DD-HH-MM/ when upstream changed, points
/// ROOT/NAME/latest.txt at it, and writes ROOT/all_latest.{json,yaml,html}.
#[derive(Debug, Parser)]
#[command(name = "mirror-mgr", version, about, long_about, after_help = EXIT_HELP)]
pub struct Cli {
    /// Root of the mirror tree.
    #[arg(long, global = true, env = env_vars::ROOT, value_name = "DIR")]
    root: Option<PathBuf>,
    /// URL at which the root is served; used in the index.
    #[arg(long, global = true, env = env_vars::BASE_URL, value_name = "URL")]
    base_url: Option<String>,
    /// YAML config: root, base_url and the list of mirrors.
    #[arg(long, global = true, env = env_vars::CONFIG, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Mirror definitions in yum .repo style (section id = mirror name).
    #[arg(long, global = true, value_name = "FILE")]
    repo_config: Option<PathBuf>,
    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// No progress bars and no summary lines (errors are still printed).
    #[arg(long, short, global = true)]
    quiet: bool,
    /// More logging (-v info, -vv debug); RUST_LOG overrides.
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Wait for another process's lock on a mirror instead of failing.
    #[arg(long, global = true)]
    wait: bool,
    #[command(subcommand)]
    command: Command,
}

const EXIT_HELP: &str = "Exit status: 0 success (snapshot made or not), 1 failed, 2 bad usage or config, \
3 mirror locked by another process, 10 new snapshot (only with sync --detailed-exitcode).";

#[derive(Debug, Subcommand)]
enum Command {
    /// Sync mirrors from upstream; publish a snapshot when upstream changed.
    Sync(SyncArgs),
    /// Rewrite all_latest.json / .yaml / .html from every mirror's latest.txt.
    Index,
    /// Point a mirror's latest.txt at an older (or any existing) snapshot, then re-index.
    Rollback {
        /// The mirror.
        name: String,
        /// Snapshot to point at (default: the one before the current latest).
        #[arg(long, value_name = "SNAPSHOT")]
        to: Option<String>,
    },
    /// List a mirror's snapshots: package count, size, which is latest.
    #[command(alias = "list")]
    Snapshots {
        /// The mirror.
        name: String,
    },
    /// List the mirrors the configuration defines, with their expanded upstreams.
    Mirrors,
    /// Packages added, removed, upgraded and downgraded between two snapshots.
    Diff {
        /// The mirror.
        name: String,
        /// The older side: a snapshot name, `latest` or `base`.
        from: String,
        /// The newer side: a snapshot name, `latest` or `base`.
        to: String,
    },
    /// Delete snapshots outside a retention policy (never the latest or a pinned one).
    Gc {
        /// Mirrors to clean (default: every mirror under the root).
        names: Vec<String>,
        /// Keep the newest N snapshots.
        #[arg(long, value_name = "N")]
        keep_last: Option<usize>,
        /// Keep snapshots younger than this (e.g. 30d, 12h, 2w).
        #[arg(long, value_name = "DURATION")]
        keep_within: Option<String>,
        /// Report what would be removed and the bytes it would free; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Protect a snapshot from gc (listed in <root>/<name>/pinned).
    Pin {
        /// The mirror.
        name: String,
        /// The snapshot.
        snapshot: String,
    },
    /// Remove a snapshot from the pin list.
    Unpin {
        /// The mirror.
        name: String,
        /// The snapshot.
        snapshot: String,
    },
    /// Re-check snapshots and base/ against their own metadata.
    Verify {
        /// Mirrors to check (default: every mirror under the root).
        names: Vec<String>,
        /// Only check presence and sizes, not checksums.
        #[arg(long)]
        quick: bool,
    },
}

#[derive(Debug, Args)]
struct SyncArgs {
    /// Mirrors to sync (names from the config, or one name with --url).
    names: Vec<String>,
    /// Sync every enabled mirror of the config.
    #[arg(long, conflicts_with = "names")]
    all: bool,
    /// Upstream base URL (http, https, file or a path) for a single mirror.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Upstream mirrorlist URL for a single mirror.
    #[arg(long, value_name = "URL", conflicts_with_all = ["url", "metalink"])]
    mirrorlist: Option<String>,
    /// Upstream metalink URL for a single mirror.
    #[arg(long, value_name = "URL", conflicts_with = "url")]
    metalink: Option<String>,
    /// Value of $basearch/$arch in upstream URLs.
    #[arg(long)]
    arch: Option<String>,
    /// Value of $releasever in upstream URLs.
    #[arg(long)]
    releasever: Option<String>,
    /// Do not rewrite the index after syncing.
    #[arg(long)]
    no_index: bool,
    /// Parallel downloads per mirror.
    #[arg(long, value_name = "N")]
    concurrency: Option<usize>,
    /// Mirrors synced at the same time.
    #[arg(long, value_name = "N", default_value_t = 1)]
    jobs: usize,
    /// Retries for transient network errors.
    #[arg(long, value_name = "N", default_value_t = 4)]
    retries: u32,
    /// Seconds to wait for data before retrying a request.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    timeout: u64,
    /// What to do with packages whose location has an xml:base: refuse the
    /// repo (default), or fetch them from that host and store them at their
    /// href. Metadata stays byte-identical, so clients still see the xml:base.
    #[arg(long, value_enum)]
    xml_base: Option<XmlBaseArg>,
    /// A host that an xml:base may point at with --xml-base follow, besides
    /// the upstream's own host (repeatable).
    #[arg(long, value_name = "HOST")]
    xml_base_host: Vec<String>,
    /// Exit with 10 when a new snapshot was made (0 when all were unchanged).
    #[arg(long)]
    detailed_exitcode: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum XmlBaseArg {
    Error,
    Follow,
}

/// Everything a command needs, merged from flags, environment and config.
struct Settings {
    root: Option<PathBuf>,
    base_url: Option<String>,
    config: Config,
    json: bool,
    quiet: bool,
    wait: bool,
}

/// A failure with its exit code.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }

    fn from_error(code: u8, err: &(dyn std::error::Error + 'static)) -> Self {
        Self {
            code,
            message: sync::error_chain(err),
        }
    }
}

/// Entry point of the binary.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    init_logging(cli.verbose);
    match run_cli(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env(env_vars::LOG)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(
            std::env::var_os(env_vars::NO_COLOR).is_none() && std::io::stderr().is_terminal(),
        )
        .without_time()
        .with_target(false)
        .try_init();
}

fn settings(cli: &Cli) -> Result<Settings, Failure> {
    let mut config = Config::default();
    if let Some(p) = &cli.config {
        config = config::load_yaml(p).map_err(|e| Failure::from_error(EXIT_USAGE, &e))?;
    }
    if let Some(p) = &cli.repo_config {
        let (arch, rel) = match &cli.command {
            Command::Sync(a) => (a.arch.as_deref(), a.releasever.as_deref()),
            _ => (None, None),
        };
        let more = config::load_repo_file(p, arch, rel)
            .map_err(|e| Failure::from_error(EXIT_USAGE, &e))?;
        for m in more.mirrors {
            if config.mirror(m.name.as_str()).is_some() {
                return Err(Failure::usage(format!(
                    "mirror {} is defined both in {} and in {}",
                    m.name,
                    cli.config.as_deref().unwrap_or(Path::new("?")).display(),
                    p.display()
                )));
            }
            config.mirrors.push(m);
        }
        config.warnings.extend(more.warnings);
        config.concurrency = config.concurrency.or(more.concurrency);
    }
    for w in &config.warnings {
        eprintln!("warning: {}: {}", w.file.display(), w.message);
    }
    let base_url = cli.base_url.clone().or_else(|| config.base_url.clone());
    if let Some(b) = &base_url {
        Url::parse(b).map_err(|e| Failure::usage(format!("--base-url {b:?} is not a URL: {e}")))?;
        // Index values end up in CI jobs' repo files: refuse what could not stand there.
        mirror_index::map_value::check_url(b)
            .map_err(|e| Failure::usage(format!("--base-url {b:?} is refused: {e}")))?;
    }
    Ok(Settings {
        root: cli.root.clone().or_else(|| config.root.clone()),
        base_url,
        config,
        json: cli.json,
        quiet: cli.quiet,
        wait: cli.wait,
    })
}

impl Settings {
    fn root(&self) -> Result<&Path, Failure> {
        self.root.as_deref().ok_or_else(|| {
            Failure::usage(format!(
                "no mirror root: pass --root DIR, set {}, or set root in the config",
                env_vars::ROOT
            ))
        })
    }

    fn base_url(&self, why: &str) -> Result<&str, Failure> {
        self.base_url.as_deref().ok_or_else(|| {
            Failure::usage(format!(
                "no base URL: pass --base-url URL, set {}, or set base_url in the config ({why})",
                env_vars::BASE_URL
            ))
        })
    }

    fn mirror_name(name: &str) -> Result<MirrorName, Failure> {
        MirrorName::new(name).map_err(|e| Failure::usage(e.to_string()))
    }
}

fn run_cli(cli: &Cli) -> Result<u8, Failure> {
    let s = settings(cli)?;
    match &cli.command {
        Command::Sync(args) => cmd_sync(&s, args),
        Command::Index => {
            let root = s.root()?;
            let base = s.base_url("the index holds snapshot URLs")?;
            let out =
                index::write_index(root, base).map_err(|e| Failure::from_error(EXIT_FAILED, &e))?;
            print_index(&s, &out, true);
            Ok(if out.errors.is_empty() {
                0
            } else {
                EXIT_FAILED
            })
        }
        Command::Rollback { name, to } => {
            let root = s.root()?;
            let base = s.base_url("rollback re-writes the index; it holds snapshot URLs")?;
            let name = Settings::mirror_name(name)?;
            let (from, to) =
                lifecycle::rollback(root, &name, to.as_deref(), s.wait).map_err(|e| {
                    let code = if matches!(
                        &e,
                        lifecycle::LifecycleError::Store(crate::store::StoreError::Locked { .. })
                    ) {
                        EXIT_LOCKED
                    } else {
                        EXIT_FAILED
                    };
                    Failure::from_error(code, &e)
                })?;
            let out =
                index::write_index(root, base).map_err(|e| Failure::from_error(EXIT_FAILED, &e))?;
            if s.json {
                mirror_index::outln!(
                    "{}",
                    serde_json::json!({"mirror": name.as_str(), "previous": from.as_ref().map(ToString::to_string), "latest": to.as_str(), "index": out.map})
                );
            } else if !s.quiet {
                mirror_index::outln!(
                    "{name}: latest.txt now names {to} (was {})",
                    from.as_ref().map_or("nothing".into(), ToString::to_string)
                );
            }
            print_index(&s, &out, false);
            Ok(if out.errors.is_empty() {
                0
            } else {
                EXIT_FAILED
            })
        }
        Command::Snapshots { name } => {
            let root = s.root()?;
            let name = Settings::mirror_name(name)?;
            let rows = lifecycle::snapshots(root, &name)
                .map_err(|e| Failure::from_error(EXIT_FAILED, &e))?;
            if s.json {
                mirror_index::outln!(
                    "{}",
                    serde_json::to_string_pretty(&rows).expect("serialisable")
                );
            } else {
                mirror_index::outln!(
                    "{:<22} {:>8} {:>12}  latest",
                    "snapshot",
                    "packages",
                    "size"
                );
                for r in rows {
                    mirror_index::outln!(
                        "{:<22} {:>8} {:>12}  {}",
                        r.name,
                        r.packages,
                        crate::report::human_bytes(r.bytes),
                        if r.latest { "*" } else { "" }
                    );
                }
            }
            Ok(0)
        }
        Command::Verify { names, quick } => cmd_verify(&s, names, *quick),
        Command::Gc {
            names,
            keep_last,
            keep_within,
            dry_run,
        } => cmd_gc(&s, names, *keep_last, keep_within.as_deref(), *dry_run),
        Command::Pin { name, snapshot } | Command::Unpin { name, snapshot } => {
            let root = s.root()?;
            let mirror = Settings::mirror_name(name)?;
            let pin = matches!(cli.command, Command::Pin { .. });
            let list = lifecycle::set_pin(root, &mirror, snapshot, pin, s.wait)
                .map_err(|e| lifecycle_failure(&e))?;
            if s.json {
                mirror_index::outln!(
                    "{}",
                    serde_json::json!({"mirror": mirror.as_str(), "pinned": list.iter().map(ToString::to_string).collect::<Vec<_>>()})
                );
            } else if !s.quiet {
                mirror_index::outln!(
                    "{mirror}: pinned: {}",
                    if list.is_empty() {
                        "nothing".into()
                    } else {
                        list.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                );
            }
            Ok(0)
        }
        Command::Diff { name, from, to } => cmd_diff(&s, name, from, to),
        Command::Mirrors => {
            let rows: Vec<serde_json::Value> = s
                .config
                .mirrors
                .iter()
                .map(|m| {
                    let (kind, urls) = match &m.upstream {
                        Upstream::Baseurl(u) => ("baseurl", u.clone()),
                        Upstream::Mirrorlist(u) => ("mirrorlist", vec![u.clone()]),
                        Upstream::Metalink(u) => ("metalink", vec![u.clone()]),
                        Upstream::Import => ("import", Vec::new()),
                    };
                    let urls: Vec<String> = urls.iter().map(|u| config::expand_vars(u, &m.vars)).collect();
                    serde_json::json!({"name": m.name.as_str(), "enabled": m.enabled, "kind": kind, "upstream": urls})
                })
                .collect();
            if s.json {
                mirror_index::outln!(
                    "{}",
                    serde_json::to_string_pretty(&rows).expect("serialisable")
                );
            } else {
                for r in &rows {
                    let urls: Vec<&str> = r["upstream"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|v| v.as_str())
                        .collect();
                    mirror_index::outln!(
                        "{:<32} {:<10} {}{}",
                        r["name"].as_str().unwrap_or(""),
                        r["kind"].as_str().unwrap_or(""),
                        urls.join(" "),
                        if r["enabled"] == false {
                            "  (disabled)"
                        } else {
                            ""
                        }
                    );
                }
            }
            Ok(0)
        }
    }
}

fn lifecycle_failure(e: &lifecycle::LifecycleError) -> Failure {
    let code = if matches!(
        e,
        lifecycle::LifecycleError::Store(crate::store::StoreError::Locked { .. })
    ) {
        EXIT_LOCKED
    } else {
        EXIT_FAILED
    };
    Failure::from_error(code, e)
}

/// Mirrors named on the command line, or every mirror directory under the root.
fn mirrors_or_all(root: &Path, names: &[String]) -> Result<Vec<MirrorName>, Failure> {
    if !names.is_empty() {
        return names.iter().map(|n| Settings::mirror_name(n)).collect();
    }
    let mut v: Vec<MirrorName> = std::fs::read_dir(root)
        .map_err(|e| Failure::usage(format!("{}: {e}", root.display())))?
        .filter_map(Result::ok)
        .filter(|e| {
            let p = e.path();
            // A mirror directory: one with a pointer, a base, or a sync's private state.
            ["latest.txt", "base", ".lock", ".staging"]
                .iter()
                .any(|f| p.join(f).exists())
        })
        .filter_map(|e| MirrorName::new(&e.file_name().to_string_lossy()).ok())
        .collect();
    v.sort();
    Ok(v)
}

fn cmd_gc(
    s: &Settings,
    names: &[String],
    keep_last: Option<usize>,
    keep_within: Option<&str>,
    dry_run: bool,
) -> Result<u8, Failure> {
    let root = s.root()?;
    if keep_last.is_none() && keep_within.is_none() {
        return Err(Failure::usage(
            "gc needs a policy: --keep-last N and/or --keep-within DURATION",
        ));
    }
    let policy = lifecycle::Retention {
        keep_last,
        keep_within: keep_within
            .map(lifecycle::parse_duration)
            .transpose()
            .map_err(Failure::usage)?,
    };
    let now = jiff::Timestamp::now();
    let mut reports = Vec::new();
    let mut code = 0;
    for m in mirrors_or_all(root, names)? {
        match lifecycle::gc(root, &m, &policy, dry_run, s.wait, now) {
            Ok(r) => {
                if !s.json && !s.quiet {
                    let verb = if dry_run { "would remove" } else { "removed" };
                    mirror_index::outln!(
                        "{m}: {verb} {} snapshots ({}), {} freed; kept {}",
                        r.removed.len(),
                        if r.removed.is_empty() {
                            "none".into()
                        } else {
                            r.removed.join(", ")
                        },
                        crate::report::human_bytes(r.bytes_freed),
                        r.kept.len()
                    );
                }
                reports.push(serde_json::to_value(&r).expect("serialisable"));
            }
            Err(e) => {
                let f = lifecycle_failure(&e);
                eprintln!("error: {}", f.message);
                code = code.max(f.code);
                reports.push(serde_json::json!({"mirror": m.as_str(), "error": f.message}));
            }
        }
    }
    if s.json {
        mirror_index::outln!(
            "{}",
            serde_json::to_string_pretty(&reports).expect("serialisable")
        );
    }
    Ok(code)
}

fn cmd_diff(s: &Settings, name: &str, from: &str, to: &str) -> Result<u8, Failure> {
    let root = s.root()?;
    let mirror = Settings::mirror_name(name)?;
    let store = crate::store::Store::new(root, mirror.clone());
    let resolve = |which: &str| -> Result<PathBuf, Failure> {
        match which {
            "base" => Ok(store.base()),
            "latest" => store
                .latest()
                .map_err(|e| Failure::from_error(EXIT_FAILED, &e))?
                .map(|l| store.snapshot_dir(&l))
                .ok_or_else(|| Failure::usage(format!("mirror {mirror} has no latest snapshot"))),
            snap => {
                let dir = store.dir.join(snap);
                if mirror_index::SnapshotName::parse(snap).is_ok() && dir.is_dir() {
                    Ok(dir)
                } else {
                    Err(Failure::usage(format!(
                        "mirror {mirror} has no snapshot {snap:?} (see `mirror-mgr snapshots {mirror}`)"
                    )))
                }
            }
        }
    };
    let (a, b) = (resolve(from)?, resolve(to)?);
    let read =
        |d: &Path| crate::diff::read_index(d).map_err(|e| Failure::from_error(EXIT_FAILED, &e));
    let d = crate::diff::diff(&read(&a)?, &read(&b)?);
    if s.json {
        mirror_index::outln!(
            "{}",
            serde_json::to_string_pretty(&d).expect("serialisable")
        );
    } else {
        for p in &d.added {
            mirror_index::outln!("+ {p}");
        }
        for p in &d.removed {
            mirror_index::outln!("- {p}");
        }
        for c in &d.upgraded {
            mirror_index::outln!("^ {}.{} {} -> {}", c.name, c.arch, c.from, c.to);
        }
        for c in &d.downgraded {
            mirror_index::outln!("v {}.{} {} -> {}", c.name, c.arch, c.from, c.to);
        }
        if !s.quiet {
            eprintln!(
                "{mirror} {from} -> {to}: {} added, {} removed, {} upgraded, {} downgraded",
                d.added.len(),
                d.removed.len(),
                d.upgraded.len(),
                d.downgraded.len()
            );
        }
    }
    Ok(0)
}

fn print_index(s: &Settings, out: &index::IndexOutcome, say: bool) {
    for w in &out.skipped {
        eprintln!("warning: index: {w}");
    }
    for e in &out.errors {
        eprintln!("error: index: {e}");
    }
    if say && !s.quiet {
        if s.json {
            mirror_index::outln!(
                "{}",
                serde_json::json!({"index": out.map, "skipped": out.skipped, "errors": out.errors})
            );
        } else {
            mirror_index::outln!("index: {} mirrors", out.map.len());
        }
    }
}

fn mirror_specs(s: &Settings, args: &SyncArgs) -> Result<(Vec<MirrorSpec>, Option<Url>), Failure> {
    let single_upstream =
        args.url.is_some() || args.mirrorlist.is_some() || args.metalink.is_some();
    if single_upstream {
        let [name] = args.names.as_slice() else {
            return Err(Failure::usage(
                "--url/--mirrorlist/--metalink take exactly one mirror NAME",
            ));
        };
        let name = Settings::mirror_name(name)?;
        let upstream = if let Some(u) = &args.url {
            Upstream::Baseurl(vec![u.clone()])
        } else if let Some(u) = &args.mirrorlist {
            Upstream::Mirrorlist(u.clone())
        } else {
            Upstream::Metalink(args.metalink.clone().unwrap_or_default())
        };
        let mut vars = std::collections::BTreeMap::new();
        let arch = args.arch.clone().unwrap_or_else(|| "x86_64".into());
        vars.insert("basearch".into(), config::basearch(&arch).to_owned());
        vars.insert("arch".into(), arch);
        if let Some(r) = &args.releasever {
            vars.insert("releasever".into(), r.clone());
        }
        let base = s.config.mirror(name.as_str());
        if let Some(b) = base.filter(|b| !b.import) {
            return Err(Failure::usage(format!(
                "mirror {} is defined in the config with its own upstream; refusing to sync it from another URL \
                 (drop --url/--mirrorlist/--metalink, or mark it `import: true` in the config if it takes ad hoc imports)",
                b.name
            )));
        }
        let spec = MirrorSpec {
            name,
            upstream,
            vars: base.map_or(vars, |b| b.vars.clone()),
            xml_base: base.map_or(XmlBasePolicy::Error, |b| b.xml_base),
            xml_base_hosts: base.map(|b| b.xml_base_hosts.clone()).unwrap_or_default(),
            enabled: true,
            import: true,
        };
        return Ok((vec![spec], None));
    }
    if args.all {
        let all: Vec<_> = s
            .config
            .mirrors
            .iter()
            .filter(|m| m.enabled && m.upstream != Upstream::Import)
            .cloned()
            .collect();
        if all.is_empty() {
            return Err(Failure::usage(
                "sync --all: no enabled mirror is defined (use --config or --repo-config)",
            ));
        }
        return Ok((all, None));
    }
    if args.names.is_empty() {
        return Err(Failure::usage("sync: name mirrors to sync, or pass --all"));
    }
    let mut out = Vec::new();
    for n in &args.names {
        let m = s.config.mirror(n).ok_or_else(|| {
            Failure::usage(format!(
                "mirror {n:?} is not defined in the config; pass --url UPSTREAM to sync it ad hoc"
            ))
        })?;
        out.push(m.clone());
    }
    Ok((out, None))
}

fn cmd_sync(s: &Settings, args: &SyncArgs) -> Result<u8, Failure> {
    let root = s.root()?.to_path_buf();
    let base_url = if args.no_index {
        None
    } else {
        Some(
            s.base_url("sync writes the index at the end; pass --no-index to skip it")?
                .to_owned(),
        )
    };
    let (mut specs, _) = mirror_specs(s, args)?;
    for m in &mut specs {
        m.xml_base_hosts.extend(args.xml_base_host.iter().cloned());
    }
    if let Some(x) = args.xml_base {
        for m in &mut specs {
            m.xml_base = match x {
                XmlBaseArg::Error => XmlBasePolicy::Error,
                XmlBaseArg::Follow => XmlBasePolicy::Follow,
            };
        }
    }
    std::fs::create_dir_all(&root).map_err(|e| {
        Failure::usage(format!(
            "cannot create the mirror root {}: {e}",
            root.display()
        ))
    })?;
    let concurrency = args
        .concurrency
        .or(s.config.concurrency)
        .unwrap_or(16)
        .max(1);
    let backoff = std::env::var(env_vars::RETRY_BACKOFF_MS)
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_millis(500), Duration::from_millis);
    let ctx = SyncContext {
        root: root.clone(),
        fetch: FetchOptions {
            retries: args.retries,
            backoff,
            read_timeout: Duration::from_secs(args.timeout.max(1)),
            max_connections: concurrency,
            ..FetchOptions::default()
        },
        concurrency,
        wait_for_lock: s.wait,
    };
    let show_bars = !s.quiet && !s.json && std::io::stderr().is_terminal();
    let reporter = crate::cli_progress::BarReporter::new(show_bars);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::from_error(EXIT_FAILED, &e))?;
    let results: Vec<(SyncReport, bool)> = runtime.block_on(async {
        use futures_util::StreamExt;
        futures_util::stream::iter(specs.iter().map(|spec| {
            let ctx = &ctx;
            let reporter = &reporter;
            async move {
                match sync::sync_mirror(ctx, spec, None, reporter).await {
                    Ok(r) => (r, false),
                    Err(e) => (sync::failed_report(spec, &e), e.is_locked()),
                }
            }
        }))
        .buffered(args.jobs.max(1))
        .collect()
        .await
    });
    reporter.clear();

    let mut index_out = None;
    let mut index_err = None;
    if let Some(b) = &base_url {
        match index::write_index(&root, b) {
            Ok(o) => index_out = Some(o),
            Err(e) => index_err = Some(sync::error_chain(&e)),
        }
    }
    let reports: Vec<&SyncReport> = results.iter().map(|(r, _)| r).collect();
    if s.json {
        let v = serde_json::json!({
            "mirrors": reports,
            "index": index_out.as_ref().map(|o| serde_json::json!({"mirrors": o.map.len(), "skipped": o.skipped, "errors": o.errors})),
            "index_error": index_err,
        });
        mirror_index::outln!(
            "{}",
            serde_json::to_string_pretty(&v).expect("serialisable")
        );
    } else {
        for r in &reports {
            if r.status == Status::Failed {
                eprintln!("error: {}", r.summary());
            } else if !s.quiet {
                mirror_index::outln!("{}", r.summary());
            }
        }
    }
    if let Some(o) = &index_out {
        for w in &o.skipped {
            eprintln!("warning: index: {w}");
        }
        for e in &o.errors {
            eprintln!("error: index: {e}");
        }
    }
    if let Some(e) = &index_err {
        eprintln!("error: writing the index: {e}");
    }
    let failed = reports.iter().any(|r| r.status == Status::Failed)
        || index_err.is_some()
        || index_out.as_ref().is_some_and(|o| !o.errors.is_empty());
    let locked = results.iter().any(|(_, l)| *l);
    Ok(
        if locked
            && results
                .iter()
                .all(|(r, l)| *l || r.status != Status::Failed)
        {
            EXIT_LOCKED
        } else if failed {
            EXIT_FAILED
        } else if args.detailed_exitcode && reports.iter().any(|r| r.status == Status::NewSnapshot)
        {
            EXIT_NEW_SNAPSHOT
        } else {
            0
        },
    )
}

fn cmd_verify(s: &Settings, names: &[String], quick: bool) -> Result<u8, Failure> {
    let root = s.root()?;
    let mirrors = mirrors_or_all(root, names)?;
    let mut all = Vec::new();
    for m in &mirrors {
        let store = crate::store::Store::new(root, m.clone());
        if !store.dir.is_dir() {
            return Err(Failure {
                code: EXIT_FAILED,
                message: format!("mirror {m} does not exist under {}", root.display()),
            });
        }
        let mut targets: Vec<(String, PathBuf)> = store
            .snapshots()
            .map_err(|e| Failure::from_error(EXIT_FAILED, &e))?
            .into_iter()
            .map(|sn| (sn.to_string(), store.snapshot_dir(&sn)))
            .collect();
        if store.base().join("repodata/repomd.xml").exists() {
            targets.push(("base".into(), store.base()));
        }
        let pointer = store
            .latest_problem()
            .map_err(|e| Failure::from_error(EXIT_FAILED, &e))?;
        if let Some(p) = pointer {
            all.push(
                serde_json::json!({"mirror": m.as_str(), "target": "latest.txt", "problems": [p]}),
            );
        } else if targets.is_empty() {
            let why = store.last_error().map_or_else(
                || "no snapshot yet: no sync of this mirror has succeeded".to_owned(),
                |e| format!("no snapshot yet: its last sync failed at {e}"),
            );
            all.push(serde_json::json!({"mirror": m.as_str(), "target": "latest.txt", "problems": [why]}));
        }
        for (label, dir) in targets {
            let problems = lifecycle::check_snapshot(&dir, !quick)
                .map_err(|e| Failure::from_error(EXIT_FAILED, &e))?;
            all.push(
                serde_json::json!({"mirror": m.as_str(), "target": label, "problems": problems}),
            );
        }
    }
    let bad = all
        .iter()
        .filter(|v| v["problems"].as_array().is_some_and(|a| !a.is_empty()))
        .count();
    if s.json {
        mirror_index::outln!(
            "{}",
            serde_json::to_string_pretty(&all).expect("serialisable")
        );
    } else {
        for v in &all {
            let problems = v["problems"].as_array().cloned().unwrap_or_default();
            if problems.is_empty() {
                if !s.quiet {
                    mirror_index::outln!(
                        "{} {}: ok",
                        v["mirror"].as_str().unwrap_or(""),
                        v["target"].as_str().unwrap_or("")
                    );
                }
            } else {
                for p in problems {
                    mirror_index::outln!(
                        "{} {}: {}",
                        v["mirror"].as_str().unwrap_or(""),
                        v["target"].as_str().unwrap_or(""),
                        p.as_str().unwrap_or("")
                    );
                }
            }
        }
    }
    Ok(if bad > 0 { EXIT_FAILED } else { 0 })
}
