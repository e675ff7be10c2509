//! The option groups and argument sets of the subcommands ([`super::args`]
//! holds the command tree): the tree and variable options every command
//! shares, `sync`'s and `gc`'s arguments, `token`'s actions, `serve`'s limits.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::env_vars;

/// Where the tree is and where mirrors are defined; every subcommand takes
/// these, and hides in its help those it does not use.
#[derive(Debug, Clone, Default, Args)]
pub struct TreeOpts {
    /// Root of the mirror tree.
    #[arg(long, env = env_vars::ROOT, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// URL at which the root is served; used in the index.
    #[arg(long, env = env_vars::BASE_URL, value_name = "URL")]
    pub base_url: Option<String>,
    /// YAML config: root, base_url and the list of mirrors.
    #[arg(long, env = env_vars::CONFIG, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Mirror definitions in yum .repo style (section id = mirror name).
    #[arg(long, value_name = "FILE")]
    pub repo_config: Option<PathBuf>,
    /// Wait for another process's lock on a mirror instead of failing.
    #[arg(long)]
    pub wait: bool,
}

/// Values of yum variables, over every mirror's own.
#[derive(Debug, Clone, Default, Args)]
pub struct VarOpts {
    /// Value of $basearch/$arch in upstream URLs (over the config's).
    #[arg(long)]
    pub arch: Option<String>,
    /// Value of $releasever (and $releasever_major) in upstream URLs (over the config's).
    #[arg(long)]
    pub releasever: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Make a token; it is printed once, on stdout.
    Add {
        /// A name for who holds it (shown in promotions and the audit log).
        name: String,
        /// What it may do: vote, promote, import, admin (admin: everything).
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        /// The only CI jobs it may vote as (default: any job, so one token
        /// could satisfy a policy that requires several jobs).
        #[arg(long, value_delimiter = ',', value_name = "JOB,...")]
        jobs: Option<Vec<String>>,
    },
    /// The tokens: name, scopes, when made (never the token).
    List,
    /// Remove a token; requests with it fail from then on.
    Revoke {
        /// The token's name.
        name: String,
    },
}

#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // each is a documented flag of `sync`
pub struct SyncArgs {
    #[command(flatten)]
    pub tree: TreeOpts,
    #[command(flatten)]
    pub vars: VarOpts,
    /// Mirrors to sync (names from the config, or one name with --url).
    pub names: Vec<String>,
    /// Sync every enabled mirror of the config.
    #[arg(long, conflicts_with = "names")]
    pub all: bool,
    /// Upstream base URL (http, https, file or a path) for a single mirror.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Upstream mirrorlist URL for a single mirror.
    #[arg(long, value_name = "URL", conflicts_with_all = ["url", "metalink"])]
    pub mirrorlist: Option<String>,
    /// Upstream metalink URL for a single mirror.
    #[arg(long, value_name = "URL", conflicts_with = "url")]
    pub metalink: Option<String>,
    /// Do not rewrite the index after syncing.
    #[arg(long)]
    pub no_index: bool,
    /// Parallel requests per upstream host over HTTP/1.1, i.e. connections
    /// (default 10, as Pulp; the limit adapts below it: see README).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Parallel requests per upstream host over HTTP/2, as streams on one
    /// connection (default 64).
    #[arg(long, value_name = "N")]
    pub http2_streams: Option<usize>,
    /// Mirrors building snapshots (downloading) at the same time. Every
    /// mirror checks its upstream at once (up to 64), within the per-host
    /// limits, so a round with no change costs a round trip or two.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub jobs: usize,
    /// Retries for transient network errors [default: 4].
    #[arg(long, value_name = "N")]
    pub retries: Option<u32>,
    /// Seconds to wait for data before retrying a request [default: 60].
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// What to do with packages whose location has an xml:base: refuse the
    /// repo (default), or fetch them from that host and store them at their
    /// href. Metadata stays byte-identical, so clients still see the xml:base.
    #[arg(long, value_enum)]
    pub xml_base: Option<XmlBaseArg>,
    /// A host that an xml:base may point at with --xml-base follow, besides
    /// the upstream's own host (repeatable).
    #[arg(long, value_name = "HOST")]
    pub xml_base_host: Vec<String>,
    /// Exit with 10 when a new snapshot was made (0 when all were unchanged).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Accept a repomd.xml older than latest's (its revision or newest
    /// timestamp is older, or its bytes equal an older snapshot's) as a new
    /// snapshot. Without it such a sync holds latest and says why.
    #[arg(long)]
    pub allow_downgrade: bool,
    /// After syncing, publish the synced mirrors to the config's `publish:` bucket.
    #[arg(long)]
    pub publish: bool,
}

/// `export`.
#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // each is a flag of the command line
pub struct ExportCliArgs {
    #[command(flatten)]
    pub tree: TreeOpts,
    /// The mirrors to export (or --all).
    #[arg(required_unless_present = "all")]
    pub names: Vec<String>,
    /// Every mirror of the root.
    #[arg(long, conflicts_with = "names")]
    pub all: bool,
    /// Only this snapshot of each mirror (default: all of them).
    #[arg(long, value_name = "SNAPSHOT", conflicts_with_all = ["channel", "latest"])]
    pub snapshot: Option<String>,
    /// Only the snapshot each mirror's channel names.
    #[arg(long, value_name = "CHANNEL", conflicts_with = "latest")]
    pub channel: Option<String>,
    /// Only each mirror's latest snapshot.
    #[arg(long)]
    pub latest: bool,
    /// The manifest of the last bundle the other side imported (or that
    /// bundle): what it has is not sent again.
    #[arg(long, value_name = "MANIFEST", conflicts_with = "since_snapshot")]
    pub since: Option<PathBuf>,
    /// A snapshot the other side has (of each mirror).
    #[arg(long, value_name = "SNAPSHOT")]
    pub since_snapshot: Option<String>,
    /// The bundle file, or a directory to write a dated one in.
    #[arg(short = 'o', long = "output", value_name = "DIR_OR_FILE")]
    pub output: Option<PathBuf>,
    /// Cut the bundle into parts of this size (NAME.000, NAME.001...; e.g. 4G).
    #[arg(long, value_name = "SIZE")]
    pub split: Option<String>,
    /// Compress with zstd (also when the file name ends in .zst).
    #[arg(long)]
    pub zstd: bool,
    /// Print what the bundle would hold; write nothing.
    #[arg(long)]
    pub plan: bool,
    /// The OpenPGP secret key that signs the bundle's manifest.
    #[arg(long, value_name = "FILE")]
    pub sign_key: Option<PathBuf>,
    /// A file whose first line is the key's passphrase.
    #[arg(long, value_name = "FILE", conflicts_with = "sign_key_passphrase_env")]
    pub sign_key_passphrase_file: Option<PathBuf>,
    /// An environment variable holding the key's passphrase.
    #[arg(long, value_name = "VAR")]
    pub sign_key_passphrase_env: Option<String>,
}

/// `import-bundle`.
#[derive(Debug, Args)]
pub struct ImportBundleArgs {
    #[command(flatten)]
    pub tree: TreeOpts,
    /// The bundle, or its first part (NAME.000) when it was split.
    pub path: PathBuf,
    /// The public key the bundle must be signed by (pinned: required).
    #[arg(long, value_name = "KEY_FILE")]
    pub key: PathBuf,
    /// Make the snapshots only: leave latest and channels as they are.
    #[arg(long)]
    pub no_pointers: bool,
}

/// `advisories`.
#[derive(Debug, Args)]
pub struct AdvisoriesArgs {
    #[command(flatten)]
    pub tree: TreeOpts,
    /// The mirror (none with --all-mirrors).
    #[arg(required_unless_present = "all_mirrors")]
    pub name: Option<String>,
    /// The snapshot asked about: a name, `latest` (the default), a channel or `base`.
    #[arg(conflicts_with = "channel")]
    pub snapshot: Option<String>,
    /// Ask about the snapshot a channel points at.
    #[arg(long, value_name = "CHANNEL")]
    pub channel: Option<String>,
    /// Only advisories of these types (security, bugfix, enhancement...;
    /// repeat or comma-separate).
    #[arg(long = "type", value_name = "TYPE")]
    pub kinds: Vec<String>,
    /// Only advisories of these severities (critical, important, moderate,
    /// low, unknown).
    #[arg(long = "severity", value_name = "SEVERITY")]
    pub severities: Vec<String>,
    /// Is this CVE fixed here? Also says where it was first fixed, and
    /// whether latest fixes it.
    #[arg(long = "cve", value_name = "CVE-YYYY-NNNN")]
    pub cves: Vec<String>,
    /// Ask every mirror of the root (mirrors without the channel or
    /// snapshot are skipped, saying so).
    #[arg(long, conflicts_with = "name")]
    pub all_mirrors: bool,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    #[command(flatten)]
    pub tree: TreeOpts,
    /// Mirrors to clean (default: every mirror under the root).
    pub names: Vec<String>,
    /// Keep the newest N snapshots.
    #[arg(long, value_name = "N")]
    pub keep_last: Option<usize>,
    /// Keep snapshots younger than this (e.g. 30d, 12h, 2w).
    #[arg(long, value_name = "DURATION")]
    pub keep_within: Option<String>,
    /// Report what would be removed and the bytes it would free; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum XmlBaseArg {
    Error,
    Follow,
}

/// The tree options each subcommand uses; the others are hidden from its
/// help (and still accepted, so `mirror-mgr --root R --base-url U <any>`
/// keeps working).
pub(super) const USES: &[(&str, &[&str])] = &[
    (
        "sync",
        &["root", "base_url", "config", "repo_config", "wait"],
    ),
    ("index", &["root", "base_url", "config"]),
    ("publish", &["root", "config", "wait"]),
    ("rollback", &["root", "base_url", "config", "wait"]),
    ("promote", &["root", "base_url", "config"]),
    ("channels", &["root", "config"]),
    ("vote", &["root", "base_url", "config"]),
    ("votes", &["root", "base_url", "config"]),
    ("snapshots", &["root", "config"]),
    ("mirrors", &["config", "repo_config"]),
    ("check-config", &["config", "repo_config"]),
    ("diff", &["root", "config"]),
    ("gc", &["root", "config", "wait"]),
    ("pin", &["root", "config", "wait"]),
    ("unpin", &["root", "config", "wait"]),
    ("verify", &["root", "config"]),
    ("history", &["root", "config"]),
    ("status", &["root", "config"]),
    ("metrics", &["root", "config"]),
    ("serve", &["root", "base_url", "config", "repo_config"]),
    ("token", &["root", "config"]),
];

pub(super) const TREE_ARGS: [&str; 5] = ["root", "base_url", "config", "repo_config", "wait"];

/// How much `serve` lets clients hold.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct ServeLimitArgs {
    /// Seconds a client has to send a request's headers, and that an idle
    /// keep-alive connection stays open.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub header_timeout: u64,
    /// Open connections at most; past it, new ones wait to be accepted.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_connections: usize,
    /// Open connections from one IP address at most; past it, a new one is
    /// closed at once.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_connections_per_ip: usize,
    /// Seconds SIGTERM waits for in-flight requests before closing them.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub shutdown_timeout: u64,
}
