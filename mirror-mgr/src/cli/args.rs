//! The command line's grammar: clap types whose doc comments are the
//! `--help` text. Nothing here decides anything; [`super::settings`]
//! resolves what these say.
//!
//! `-v`, `-q` and `--json` are global. The tree options (`--root`,
//! `--base-url`, `--config`, `--repo-config`, `--wait`) belong to the
//! subcommands, each listing in its `--help` only those it uses; written
//! before the subcommand (`mirror-mgr --root R sync ...`, as cron jobs and
//! scripts do) they are moved after it by [`hoist_tree_options`].

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

pub use super::options::{
    AdvisoriesArgs, ExportCliArgs, GcArgs, ImportBundleArgs, ServeLimitArgs, SyncArgs, TokenAction,
    TreeOpts, VarOpts, XmlBaseArg,
};
use super::options::{TREE_ARGS, USES};

/// Transactional snapshot mirrors of yum/dnf repositories.
///
/// Syncs each upstream repo into ROOT/NAME/base, publishes an immutable
/// snapshot ROOT/NAME/YYYY-MM-DD-HH-MM/ when upstream changed, points
/// ROOT/NAME/latest.txt at it, and writes ROOT/all_latest.{json,yaml,html}.
#[derive(Debug, Parser)]
#[command(name = "mirror-mgr", version, about, long_about, after_help = super::exit::HELP)]
pub struct Cli {
    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress bars and no summary lines (errors are still printed).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Log what is decided and fetched (-v info, -vv debug); RUST_LOG overrides.
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sync mirrors from upstream; publish a snapshot when upstream changed.
    Sync(SyncArgs),
    /// Rewrite all_latest.json / .yaml / .html from every mirror's latest.txt.
    Index {
        #[command(flatten)]
        tree: TreeOpts,
        /// Rebuild the bucket's index (the config's `publish:` target) from
        /// the pointers in the bucket alone, instead of the local index.
        #[arg(long)]
        from_bucket: bool,
    },
    /// Upload committed snapshots the bucket (the config's `publish:`
    /// target) lacks, then the pointers, then the shared index; remove
    /// from the bucket what gc removed here.
    Publish {
        #[command(flatten)]
        tree: TreeOpts,
        /// Mirrors to publish (default with --all: every mirror under the root).
        names: Vec<String>,
        /// Every mirror under the root.
        #[arg(long, conflicts_with = "names")]
        all: bool,
    },
    /// Point a mirror's latest.txt at an older (or any existing) snapshot, then re-index.
    Rollback {
        #[command(flatten)]
        tree: TreeOpts,
        /// The mirror.
        name: String,
        /// Snapshot to point at (default: the one before the current latest).
        #[arg(long, value_name = "SNAPSHOT")]
        to: Option<String>,
        /// Move this channel's pointer instead of latest.txt.
        #[arg(long, value_name = "CHANNEL")]
        channel: Option<String>,
    },
    /// Move a channel to a set of snapshots (a frozen map a CI job used)
    /// or to one mirror's snapshot; all_<channel>.json changes in one step.
    Promote {
        #[command(flatten)]
        tree: TreeOpts,
        /// The mirror (with SNAPSHOT), instead of --set.
        name: Option<String>,
        /// The snapshot of NAME.
        snapshot: Option<String>,
        /// A frozen map (mirror-client freeze -o FILE): every mirror it names.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["name", "snapshot"])]
        set: Option<PathBuf>,
        /// The channel to move (lowercase letters, digits, -; not latest).
        #[arg(long, value_name = "CHANNEL")]
        channel: String,
        /// Why, for the record.
        #[arg(long, value_name = "TEXT", default_value = "manual promotion")]
        reason: String,
        /// Show what the channel would gain and lose (packages, advisories
        /// and their CVEs), as the promotion would record it; move nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Record a CI job's verdict on the set it used; a channel whose policy
    /// the set now satisfies is promoted to it.
    Vote {
        #[command(flatten)]
        tree: TreeOpts,
        /// The frozen map the job used (mirror-client freeze -o FILE).
        #[arg(long, value_name = "FILE")]
        set: PathBuf,
        /// The job's name, as the config's channel policies name it.
        #[arg(long, value_name = "JOB")]
        job: String,
        /// The job passed.
        #[arg(long, conflicts_with = "fail", required_unless_present = "fail")]
        pass: bool,
        /// The job failed.
        #[arg(long)]
        fail: bool,
        /// Where the job's logs are.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// Free text for the record.
        #[arg(long, value_name = "TEXT")]
        notes: Option<String>,
    },
    /// The votes on a set (or every set).
    Votes {
        #[command(flatten)]
        tree: TreeOpts,
        /// Only the votes on this frozen map.
        #[arg(long, value_name = "FILE")]
        set: Option<PathBuf>,
    },
    /// Channel pointers per mirror, and each channel's recent promotions.
    Channels {
        #[command(flatten)]
        tree: TreeOpts,
        /// Only this mirror.
        name: Option<String>,
    },
    /// List a mirror's snapshots: creation time, package count, size, and
    /// which is latest, pinned or held back by a rollback.
    #[command(alias = "list")]
    Snapshots {
        #[command(flatten)]
        tree: TreeOpts,
        /// The mirror.
        name: String,
    },
    /// List the mirrors the configuration defines, with their expanded upstreams.
    Mirrors {
        #[command(flatten)]
        tree: TreeOpts,
        #[command(flatten)]
        vars: VarOpts,
    },
    /// Load and check a configuration, print the mirrors it defines; touch nothing.
    CheckConfig {
        #[command(flatten)]
        tree: TreeOpts,
        #[command(flatten)]
        vars: VarOpts,
    },
    /// Packages added, removed, upgraded and downgraded between two
    /// snapshots, and advisories added, removed, updated and newly applicable.
    Diff {
        #[command(flatten)]
        tree: TreeOpts,
        /// The mirror.
        name: String,
        /// The older side: a snapshot name, `latest`, a channel or `base`.
        from: String,
        /// The newer side: a snapshot name, `latest`, a channel or `base`.
        to: String,
    },
    /// The advisories of a snapshot or a channel, and whether CVEs are
    /// fixed there (with --cve: exit 0 when every one is, 1 when not).
    Advisories(AdvisoriesArgs),
    /// Write a signed bundle of snapshots for an air-gapped site: their
    /// metadata and only the packages the other side lacks.
    Export(ExportCliArgs),
    /// Check a bundle against a pinned key and make its snapshots here, as
    /// they are on the exporting side (names, metadata, pointers, channels).
    ImportBundle(ImportBundleArgs),
    /// Delete snapshots outside a retention policy (never the latest, a
    /// newer one held back by a rollback, or a pinned one).
    Gc(GcArgs),
    /// Protect a snapshot from gc (listed in <root>/<name>/pinned).
    Pin {
        #[command(flatten)]
        tree: TreeOpts,
        /// The mirror.
        name: String,
        /// The snapshot.
        snapshot: String,
    },
    /// Package locks (`mirror-client lock` files) the mirror keeps alive:
    /// gc keeps the snapshots a registered lock uses until it expires or
    /// is released.
    Lock {
        #[command(flatten)]
        tree: TreeOpts,
        #[command(subcommand)]
        action: LockAction,
    },
    /// The registered package locks: id, expiry, snapshots held.
    Locks {
        #[command(flatten)]
        tree: TreeOpts,
    },
    /// Remove a snapshot from the pin list.
    Unpin {
        #[command(flatten)]
        tree: TreeOpts,
        /// The mirror.
        name: String,
        /// The snapshot.
        snapshot: String,
    },
    /// Re-check snapshots and base/ against their own metadata.
    Verify {
        #[command(flatten)]
        tree: TreeOpts,
        /// Mirrors to check (default: every mirror under the root).
        names: Vec<String>,
        /// Only check presence and sizes, not checksums.
        #[arg(long)]
        quick: bool,
        /// Also re-check signatures (repomd.xml.asc, RPM headers) with the
        /// keys the config gives each mirror.
        #[arg(long)]
        signatures: bool,
    },
    /// Every snapshot of a mirror: time, packages, changes, size, unique size.
    History {
        #[command(flatten)]
        tree: TreeOpts,
        /// The mirror.
        name: String,
    },
    /// Serve the tree over HTTP (GET/HEAD, Range, listings; never private
    /// state or anything outside the root) with a JSON API under /api/v1/
    /// for votes, promotions, rollbacks and remote imports. Stops on
    /// SIGTERM/SIGINT after in-flight requests and running syncs.
    Serve {
        #[command(flatten)]
        tree: TreeOpts,
        /// Address to listen on.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// The tokens file (default: ROOT/.api-tokens.json).
        #[arg(long, value_name = "FILE")]
        tokens: Option<PathBuf>,
        /// Reads (files and the API) need a token too.
        #[arg(long)]
        protect_reads: bool,
        /// Parallel downloads of a sync started over the API or the scheduler.
        #[arg(long, value_name = "N")]
        concurrency: Option<usize>,
        /// Mirrors that build at once, of those synced over the API or on
        /// their `schedule:` together.
        #[arg(long, value_name = "N", default_value_t = 2)]
        jobs: usize,
        #[command(flatten)]
        limits: ServeLimitArgs,
    },
    /// API tokens for `serve`: `add NAME --scopes vote,promote,import,admin`
    /// (prints the token once; only its hash is kept), `list`, `revoke NAME`.
    Token {
        #[command(flatten)]
        tree: TreeOpts,
        /// The tokens file (default: ROOT/.api-tokens.json).
        #[arg(long, value_name = "FILE", global = true)]
        tokens: Option<PathBuf>,
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Every mirror's health, latest snapshot and its age, last attempt,
    /// last success and error; exits 1 when any mirror is not ok.
    Status {
        #[command(flatten)]
        tree: TreeOpts,
        /// Mirrors to show (default: every mirror under the root).
        names: Vec<String>,
    },
    /// The same as Prometheus metrics (text format, for node_exporter's
    /// textfile collector).
    Metrics {
        #[command(flatten)]
        tree: TreeOpts,
        /// Write them to this file (atomically) instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print shell completions (bash, zsh, fish, elvish, powershell) to stdout.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write man pages (mirror-mgr.1 and one per subcommand) into a directory.
    Man {
        /// Where to write them.
        #[arg(short, long, value_name = "DIR", default_value = ".")]
        output: PathBuf,
    },
}

/// The clap command with each subcommand's unused tree options hidden.
pub fn command() -> clap::Command {
    let mut cmd = Cli::command();
    for (sub, uses) in USES {
        cmd = cmd.mut_subcommand(*sub, |mut s| {
            for arg in TREE_ARGS.iter().filter(|a| !uses.contains(a)) {
                s = s.mut_arg(*arg, |a| a.hide(true));
            }
            s
        });
    }
    cmd
}

/// Tree options written before the subcommand, moved after it: `mirror-mgr
/// --root R sync x` reads as `mirror-mgr sync --root R x`.
pub fn hoist_tree_options(args: Vec<OsString>) -> Vec<OsString> {
    const WITH_VALUE: [&str; 4] = ["--root", "--base-url", "--config", "--repo-config"];
    let mut head = Vec::new();
    let mut hoisted = Vec::new();
    let mut it = args.into_iter();
    if let Some(bin) = it.next() {
        head.push(bin);
    }
    while let Some(a) = it.next() {
        let s = a.to_string_lossy().into_owned();
        let name = s.split('=').next().unwrap_or("");
        if WITH_VALUE.contains(&name) {
            let has_value = s.contains('=');
            hoisted.push(a);
            if !has_value && let Some(v) = it.next() {
                hoisted.push(v);
            }
        } else if s == "--wait" {
            hoisted.push(a);
        } else if s.starts_with('-') {
            head.push(a);
        } else {
            // The subcommand: what was hoisted goes right after it.
            head.push(a);
            head.append(&mut hoisted);
            head.extend(it);
            return head;
        }
    }
    head.extend(hoisted);
    head
}

/// Parse `args` (hoisting first).
pub fn parse(args: Vec<OsString>) -> Result<Cli, clap::Error> {
    let matches = command().try_get_matches_from(hoist_tree_options(args))?;
    Cli::from_arg_matches(&matches)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn tree_options_before_the_subcommand_are_hoisted() {
        let got = hoist_tree_options(argv(
            "mirror-mgr --root /r -v --base-url=http://b --wait sync a --url u",
        ));
        assert_eq!(
            got,
            argv("mirror-mgr -v sync --root /r --base-url=http://b --wait a --url u")
        );
        let cli = parse(argv("mirror-mgr --root /r --json snapshots m")).unwrap();
        assert!(cli.json);
        let Command::Snapshots { tree, name } = cli.command else {
            panic!()
        };
        assert_eq!(
            (tree.root.unwrap(), name.as_str()),
            (PathBuf::from("/r"), "m")
        );
    }

    #[test]
    fn each_help_lists_only_what_the_subcommand_uses() {
        let mut cmd = command();
        for (sub, uses) in USES {
            let help = cmd
                .find_subcommand_mut(sub)
                .unwrap()
                .render_help()
                .to_string();
            for arg in TREE_ARGS {
                let flag = format!("--{}", arg.replace('_', "-"));
                assert_eq!(
                    help.contains(&flag),
                    uses.contains(&arg),
                    "{sub} {flag}:\n{help}"
                );
            }
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum LockAction {
    /// Record which snapshots a lock file (YAML or JSON) uses; prints its id.
    Register {
        /// The lock file.
        file: std::path::PathBuf,
        /// How long gc keeps its snapshots (30d, 12h, 2w).
        #[arg(long, value_name = "DURATION", default_value = "90d")]
        expires: String,
    },
    /// End a lock: gc may remove its snapshots from now on.
    Release {
        /// The lock's id (as `lock register` printed it).
        id: String,
    },
}
