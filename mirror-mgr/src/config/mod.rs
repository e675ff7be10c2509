//! Mirror definitions: from a YAML config (`--config`) or from a yum
//! `.repo`-style file (`--repo-config`, section id = mirror name), the way
//! operators already keep their upstream lists.
//!
//! Loading never ignores anything silently: options that this version does
//! not honour come back as [`Warning`]s for the binary to print, grouped by
//! option.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mirror_index::MirrorName;

use crate::access::{AccessSpec, ProxySpec, Secret, SecretSource};

/// Where a mirror's packages come from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Upstream {
    /// One or more base URLs, tried in order (yum's multi-line baseurl).
    Baseurl(Vec<String>),
    /// A yum mirrorlist URL (one base URL per line).
    Mirrorlist(String),
    /// A metalink URL (XML listing mirrors and repomd.xml hashes).
    Metalink(String),
    /// None: an import mirror, synced only from `sync NAME --url URL`.
    Import,
}

/// What to do with a package `<location xml:base="...">`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum XmlBasePolicy {
    /// Refuse the repository (default: the snapshot would not be self-contained).
    #[default]
    Error,
    /// Download the package from the xml:base URL and store it at its href.
    Follow,
}

/// One mirror, fully resolved (yum variables not yet expanded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorSpec {
    pub name: MirrorName,
    pub upstream: Upstream,
    /// yum variables: `basearch`, `arch`, `releasever`, and any from the config.
    pub vars: BTreeMap<String, String>,
    pub xml_base: XmlBasePolicy,
    /// Hosts an `xml:base` may point at under `xml_base: follow`, besides the
    /// host of the upstream itself (`xml_base_hosts` in the YAML config).
    pub xml_base_hosts: Vec<String>,
    /// `enabled=0` in a repo-config: skipped by `sync --all`.
    pub enabled: bool,
    /// TLS client certificate and CAs, basic auth, proxy.
    pub access: AccessSpec,
    /// Signatures checked at sync.
    pub trust: TrustSpec,
    /// When `status` calls the mirror stale or failing.
    pub health: crate::history::HealthPolicy,
    /// `import: true`: `sync NAME --url URL` may sync it from any URL (a
    /// repo someone built elsewhere). Without it `--url` is refused for a
    /// mirror the config defines, so its upstream cannot be swapped by accident.
    pub import: bool,
    /// Which packages the snapshots keep (none: all, metadata byte-identical).
    pub filter: crate::filter::FilterSpec,
    /// The key that signs regenerated metadata.
    pub sign: Option<crate::filter::SignSpec>,
    /// How a `file://` upstream's packages are verified (`verify_local`).
    pub verify_local: crate::fetch::VerifyLocal,
    /// `allow_downgrade: true` (or `sync --allow-downgrade`): accept a
    /// repomd.xml older than latest's (a replay, a lagging mirror) as a
    /// new snapshot instead of holding latest.
    pub allow_downgrade: bool,
}

impl MirrorSpec {
    /// This mirror, synced once from an upstream a caller supplied (`sync
    /// NAME --url`, the API's `"url"`). Credentials, the client certificate
    /// and proxy auth are bound to the configured upstream's hosts: unless
    /// every host of the new upstream is one of them, they are dropped, so
    /// a caller cannot have them sent to a host of its choosing. An import
    /// names exactly the repo wanted, older or not: downgrade protection
    /// (which guards a configured upstream against replays) does not apply.
    #[must_use]
    pub fn with_caller_upstream(&self, upstream: Upstream) -> Self {
        let configured = crate::upstream::own_hosts(&self.upstream, &self.vars);
        let new_hosts = crate::upstream::own_hosts(&upstream, &self.vars);
        let bound = !new_hosts.is_empty() && new_hosts.iter().all(|h| configured.contains(h));
        let mut spec = self.clone();
        spec.upstream = upstream;
        spec.allow_downgrade = true;
        if !bound {
            spec.access = spec.access.without_credentials();
        }
        spec
    }
}

/// Which signatures a sync checks, and against which keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustSpec {
    /// repomd.xml must carry a valid repomd.xml.asc by a pinned key.
    pub repo_gpgcheck: bool,
    /// Every downloaded RPM must be signed by a pinned key (dnf's `gpgcheck`).
    pub pkg_gpgcheck: bool,
    /// Key locations: paths, `file://` or `https://` URLs (the last only
    /// with fingerprints pinned).
    pub gpgkeys: Vec<String>,
    /// Fingerprints of the keys to accept (`gpgkey_fingerprints`, and
    /// `allowed_keys` for packages).
    pub fingerprints: Vec<String>,
}

impl TrustSpec {
    pub fn enabled(&self) -> bool {
        self.repo_gpgcheck || self.pkg_gpgcheck
    }
}

/// Where `publish` uploads the tree: an S3-compatible bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Spec {
    /// The S3 API's URL (`https://s3.eu-west-1.amazonaws.com`, or a
    /// SeaweedFS/MinIO/Ceph gateway).
    pub endpoint: String,
    pub bucket: String,
    /// Key prefix of the tree in the bucket (no leading or trailing `/`).
    pub prefix: String,
    pub region: String,
    /// Credentials: from the environment or a file only, never inline.
    pub access_key: SecretSource,
    pub secret_key: SecretSource,
    /// What clients read the bucket at (its public endpoint or a CDN): the
    /// index's URLs start with it.
    pub public_url: String,
}

/// Everything a config file gives.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The object store `publish` uploads to.
    pub publish: Option<S3Spec>,
    /// Promotion policies: channel -> jobs whose passing votes move it.
    pub channels: BTreeMap<String, Vec<String>>,
    pub root: Option<PathBuf>,
    pub base_url: Option<String>,
    /// Parallel requests per host: HTTP/1.1 connections, HTTP/2 streams.
    pub concurrency: Option<usize>,
    pub http2_streams: Option<usize>,
    pub mirrors: Vec<MirrorSpec>,
    pub warnings: Vec<Warning>,
}

impl Config {
    pub fn mirror(&self, name: &str) -> Option<&MirrorSpec> {
        self.mirrors.iter().find(|m| m.name.as_str() == name)
    }

    /// When `status` calls `name` stale or failing: its own thresholds,
    /// else the defaults. Every door that writes the index asks this, so
    /// health does not flip with whoever wrote it last.
    pub fn health_of(&self, name: &MirrorName) -> crate::history::HealthPolicy {
        self.mirror(name.as_str())
            .map_or_else(crate::history::HealthPolicy::default, |m| m.health)
    }
}

/// Something in a config file this version does not act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub file: PathBuf,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("{}", path.display())]
    Ini {
        path: PathBuf,
        #[source]
        source: mirror_index::repofile::ParseError,
    },
}

/// Options of a repo section that only matter to the client side (or are
/// descriptive) and so are correct to pass over when mirroring.
const CLIENT_SIDE_OPTIONS: &[&str] = &[
    "name",
    "failovermethod",
    "skip_if_unavailable",
    "metadata_expire",
    "priority",
    "cost",
    "type",
    "enabled_metadata",
    "countme",
    "module_hotfixes",
];

/// dnf repository options that concern syncing but that this version does
/// not act on: a YAML mirror entry (copied from a .repo file) may carry
/// them, and is warned. Any key neither here nor in
/// [`CLIENT_SIDE_OPTIONS`] is a typo and an error.
const NOT_HONOURED_OPTIONS: &[&str] = &[
    "timeout",
    "retries",
    "minrate",
    "throttle",
    "bandwidth",
    "max_parallel_downloads",
    "deltarpm",
    "fastestmirror",
];

/// Options of a `.repo`-style mirror section that mirror-mgr acts on.
const HONOURED_REPO_OPTIONS: &[&str] = &[
    "baseurl",
    "mirrorlist",
    "metalink",
    "enabled",
    "sslcacert",
    "sslclientcert",
    "sslclientkey",
    "sslverify",
    "username",
    "password",
    "password_file",
    "password_env",
    "proxy",
    "proxy_username",
    "proxy_password",
    "proxy_password_file",
    "proxy_password_env",
    "gpgcheck",
    "repo_gpgcheck",
    "gpgkey",
    "gpgkey_fingerprints",
    "exclude",
    "excludepkgs",
    "includepkgs",
    "newest_only",
    "retain_versions",
    "arches",
    "source",
    "sign_key",
    "sign_key_passphrase",
    "sign_key_passphrase_file",
    "sign_key_passphrase_env",
];

/// The filter settings as written (YAML or `.repo`), checked and combined.
#[derive(Debug, Default)]
pub(super) struct FilterOptions {
    pub exclude: Vec<String>,
    pub includepkgs: Vec<String>,
    pub newest_only: Option<bool>,
    pub retain_versions: Option<u32>,
    pub arches: Vec<String>,
    pub source: Option<bool>,
}

impl FilterOptions {
    pub fn resolve(self) -> Result<crate::filter::FilterSpec, String> {
        let retain = match (self.newest_only, self.retain_versions) {
            (_, Some(0)) => return Err("retain_versions must be at least 1".into()),
            (Some(true), Some(n)) if n != 1 => {
                return Err(format!(
                    "newest_only keeps 1 version, retain_versions says {n}: give one of them"
                ));
            }
            (Some(true), _) => Some(1),
            (_, n) => n,
        };
        Ok(crate::filter::FilterSpec {
            exclude: self.exclude,
            includepkgs: self.includepkgs,
            retain_versions: retain,
            arches: self.arches,
            source: self.source.unwrap_or(true),
        })
    }
}

/// The 1-based line where `key:` is written as a mapping key, if found.
fn line_of_key(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ").trim_start();
            t.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map(|i| i + 1)
}

/// yum's `$basearch` for an arch.
pub fn basearch(arch: &str) -> &str {
    match arch {
        "i386" | "i486" | "i586" | "i686" => "i386",
        "armv7hl" | "armv7l" => "armhfp",
        other => other,
    }
}

/// The built-in yum variables: `arch` and `basearch` (x86_64 unless
/// given), and `releasever`/`releasever_major` when a release is given.
pub fn default_vars(arch: Option<&str>, releasever: Option<&str>) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    set_vars(&mut v, Some(arch.unwrap_or("x86_64")), releasever);
    v
}

/// Set `arch`/`basearch` and `releasever`/`releasever_major` from what is
/// given, keeping the rest. The command line applies its `--arch` and
/// `--releasever` this way over every mirror, so the precedence is:
/// command line > mirror entry > config defaults > built-in.
pub fn set_vars(vars: &mut BTreeMap<String, String>, arch: Option<&str>, releasever: Option<&str>) {
    if let Some(a) = arch {
        vars.insert("arch".into(), a.to_owned());
        vars.insert("basearch".into(), basearch(a).to_owned());
    }
    if let Some(r) = releasever {
        vars.insert("releasever".into(), r.to_owned());
        let major = r.split('.').next().unwrap_or(r);
        vars.insert("releasever_major".into(), major.to_owned());
    }
}

/// Expand `$name` and `${name}` from `vars`; unknown variables stay literal, as in yum.
pub fn expand_vars(s: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, consumed) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match vars.get(name) {
            Some(v) if !name.is_empty() => {
                out.push_str(v);
                rest = &after[consumed..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

mod repo_file;
mod yaml;

pub use repo_file::load_repo_file;
pub use yaml::load_yaml;

/// dnf's boolean spellings.
pub(super) fn yes_no(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Some(true),
        "0" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// dnf's `proxy`: unset means the environment's; `_none_`, `none` or empty, none.
pub(super) fn proxy_spec(v: Option<&str>) -> ProxySpec {
    match v.map(str::trim) {
        None => ProxySpec::Environment,
        Some("" | "_none_") => ProxySpec::Direct,
        Some(v) if v.eq_ignore_ascii_case("none") => ProxySpec::Direct,
        Some(v) => ProxySpec::Url(v.to_owned()),
    }
}

/// At most one of an inline value, a file and an environment variable.
pub(super) fn secret_source(
    option: &str,
    inline: Option<String>,
    file: Option<PathBuf>,
    env: Option<String>,
) -> Result<Option<SecretSource>, String> {
    match (inline, file, env) {
        (None, None, None) => Ok(None),
        (Some(v), None, None) => Ok(Some(SecretSource::Value(Secret::new(v)))),
        (None, Some(f), None) => Ok(Some(SecretSource::File(f))),
        (None, None, Some(e)) => Ok(Some(SecretSource::Env(e))),
        _ => Err(format!(
            "give at most one of {option}, {option}_file, {option}_env"
        )),
    }
}

/// dnf's lists: whitespace or comma separated.
pub(super) fn split_list(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A key location from a config: URLs as they are, paths relative to the file.
pub(super) fn config_key(config: &Path, k: String) -> String {
    if k.contains("://") {
        k
    } else {
        config_path(config, PathBuf::from(k)).display().to_string()
    }
}

/// A path from a config file, relative to the file's directory.
pub(super) fn config_path(config: &Path, p: PathBuf) -> PathBuf {
    if p.is_absolute() {
        p
    } else {
        config.parent().unwrap_or(Path::new(".")).join(p)
    }
}

pub(super) fn scalar(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(super) fn push_ignored(
    warnings: &mut Vec<Warning>,
    path: &Path,
    ignored: BTreeMap<String, Vec<String>>,
) {
    for (key, mirrors) in ignored {
        warnings.push(Warning {
            file: path.to_path_buf(),
            message: format!(
                "option `{key}` is not honoured yet and is ignored (every package is mirrored) for: {}",
                mirrors.join(", ")
            ),
        });
    }
}

pub(super) fn check_unique(mirrors: &[MirrorSpec], path: &Path) -> Result<(), ConfigError> {
    let mut seen = std::collections::HashSet::new();
    for m in mirrors {
        if !seen.insert(&m.name) {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: format!("mirror {} is defined twice", m.name),
            });
        }
    }
    Ok(())
}

/// Largest config file read (a real one with 30+ mirrors is a few KiB).
const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

pub(super) fn read(path: &Path) -> Result<String, ConfigError> {
    let io = |source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_CONFIG_BYTES {
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            message: format!("{len} bytes, over the {MAX_CONFIG_BYTES} a config may have"),
        });
    }
    std::fs::read_to_string(path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str, name: &str) -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(name);
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    #[test]
    fn expands_yum_variables() {
        let vars = default_vars(Some("i686"), Some("8.4"));
        assert_eq!(
            expand_vars(
                "http://m/$releasever/${basearch}/$arch/$releasever_major/$infra/$",
                &vars
            ),
            "http://m/8.4/i386/i686/8/$infra/$"
        );
    }

    /// Issue 8: a typo in a YAML mirror entry is an error naming its line,
    /// not a warning.
    #[test]
    fn unknown_yaml_keys_are_errors_with_their_line() {
        let (_d, p) = write(
            "mirrors:\n  - name: a-el9\n    baseurl: http://u/$basearch/\n    arhc: aarch64\n",
            "c.yaml",
        );
        let err = load_yaml(&p).unwrap_err().to_string();
        assert!(
            err.contains("c.yaml") && err.contains("line 4") && err.contains("unknown key `arhc`"),
            "{err}"
        );
    }

    /// Issue 8: command line > mirror entry > config defaults > built-in.
    #[test]
    fn variable_precedence() {
        let (_d, p) = write(
            "vars: {releasever: '9', arch: ppc64le, basearch: ppc64le}\nmirrors:\n  - name: own\n    baseurl: http://u/$basearch/$releasever/$releasever_major/\n    arch: s390x\n  - name: plain\n    baseurl: http://u/$basearch/$releasever/\n",
            "c.yaml",
        );
        let cfg = load_yaml(&p).unwrap();
        let own = cfg.mirror("own").unwrap();
        assert_eq!(
            (
                own.vars["basearch"].as_str(),
                own.vars["releasever"].as_str()
            ),
            ("s390x", "9")
        );
        let plain = cfg.mirror("plain").unwrap();
        assert_eq!(plain.vars["basearch"], "ppc64le");
        let mut v = own.vars.clone();
        set_vars(&mut v, Some("aarch64"), Some("10.1"));
        assert_eq!(
            expand_vars("http://u/$basearch/$releasever/$releasever_major/", &v),
            "http://u/aarch64/10.1/10/"
        );
        let builtin = default_vars(None, None);
        assert_eq!(
            (builtin["basearch"].as_str(), builtin.get("releasever")),
            ("x86_64", None)
        );
    }

    #[test]
    fn yaml_config_loads_and_warns_on_unknown_keys() {
        let (_d, p) = write(
            "root: /srv/m\nbase_url: http://m/yum\nmirrors:\n  - name: a-el7\n    upstream: http://u/$releasever/$basearch/\n    releasever: 7\n    exclude: foo*\n    throttle: 1M\n  - name: b\n    mirrorlist: http://ml/?r=1\n  - name: c\n    baseurl: [http://x/, http://y/]\n",
            "c.yaml",
        );
        let cfg = load_yaml(&p).unwrap();
        assert_eq!(cfg.root.as_deref(), Some(Path::new("/srv/m")));
        let a = cfg.mirror("a-el7").unwrap();
        assert_eq!(
            a.upstream,
            Upstream::Baseurl(vec!["http://u/$releasever/$basearch/".into()])
        );
        assert_eq!(a.vars["releasever"], "7");
        assert_eq!(
            cfg.mirror("b").unwrap().upstream,
            Upstream::Mirrorlist("http://ml/?r=1".into())
        );
        assert_eq!(
            cfg.mirror("c").unwrap().upstream,
            Upstream::Baseurl(vec!["http://x/".into(), "http://y/".into()])
        );
        assert_eq!(cfg.warnings.len(), 1);
        assert!(
            cfg.warnings[0].message.contains("`throttle`")
                && cfg.warnings[0].message.contains("a-el7")
        );
        // Filters are honoured (issue 10).
        assert_eq!(a.filter.exclude, ["foo*"]);
        assert!(a.filter.is_active() && !cfg.mirror("b").unwrap().filter.is_active());
    }

    #[test]
    fn yaml_errors_name_the_file() {
        for (text, needle) in [
            ("mirrors:\n  - name: a\n", "exactly one of"),
            (
                "mirrors:\n  - name: ../x\n    baseurl: http://u/\n",
                "invalid mirror name",
            ),
            (
                "mirrors:\n  - {name: a, baseurl: http://u/}\n  - {name: a, baseurl: http://v/}\n",
                "defined twice",
            ),
            ("rooot: /x\n", "unknown field"),
        ] {
            let (_d, p) = write(text, "bad.yaml");
            let err = load_yaml(&p).unwrap_err().to_string();
            assert!(err.contains("bad.yaml") && err.contains(needle), "{err}");
        }
    }

    /// Issue 22.4: `enabled` means the same in both formats, as dnf reads it.
    #[test]
    fn enabled_spellings_in_both_formats() {
        for (value, want) in [
            ("1", true),
            ("yes", true),
            ("true", true),
            ("on", true),
            ("True", true),
            ("0", false),
            ("no", false),
            ("false", false),
            ("off", false),
            ("OFF", false),
        ] {
            let (_d, p) = write(
                &format!("[a-el9]\nbaseurl=http://m/\nenabled={value}\n"),
                "m.conf",
            );
            let cfg = load_repo_file(&p, None, None).unwrap();
            assert_eq!(cfg.mirrors[0].enabled, want, "repo file: enabled={value}");
            let (_d, p) = write(
                &format!(
                    "mirrors:\n  - name: a-el9\n    baseurl: http://m/\n    enabled: {value}\n"
                ),
                "m.yaml",
            );
            let cfg = load_yaml(&p).unwrap();
            assert_eq!(cfg.mirrors[0].enabled, want, "yaml: enabled: {value}");
        }
        let (_d, p) = write("[a-el9]\nbaseurl=http://m/\nenabled=maybe\n", "m.conf");
        let err = load_repo_file(&p, None, None).unwrap_err().to_string();
        assert!(
            err.contains("m.conf") && err.contains("enabled=maybe"),
            "{err}"
        );
        let (_d, p) = write(
            "mirrors:\n  - name: a-el9\n    baseurl: http://m/\n    enabled: maybe\n",
            "m.yaml",
        );
        let err = load_yaml(&p).unwrap_err().to_string();
        assert!(err.contains("m.yaml") && err.contains("enabled"), "{err}");
    }

    #[test]
    fn repo_style_config() {
        let (_d, p) = write(
            "[main]\nmax_connections=50\n\n[base-el8]\nname=Base\nbaseurl = http://m/$basearch/os/\ngpgcheck=1\nexclude=a*\n    b*\n\n[epel-el8]\nmirrorlist=http://ml/?repo=epel-8&arch=$basearch\nenabled=0\nsslverify=0\n",
            "mirrors.conf",
        );
        let cfg = load_repo_file(&p, None, None).unwrap();
        assert_eq!(cfg.concurrency, Some(50));
        assert_eq!(cfg.mirrors.len(), 2);
        assert_eq!(
            cfg.mirrors[0].upstream,
            Upstream::Baseurl(vec!["http://m/$basearch/os/".into()])
        );
        assert!(!cfg.mirrors[1].enabled);
        let msgs: Vec<_> = cfg.warnings.iter().map(|w| w.message.as_str()).collect();
        assert!(msgs.is_empty(), "{msgs:?}");
        // exclude= with a continuation line, as dnf reads it.
        assert_eq!(cfg.mirrors[0].filter.exclude, ["a*", "b*"]);
        // Access options are honoured now (issue 9), with dnf's spellings.
        assert!(!cfg.mirrors[1].access.sslverify);
        assert!(cfg.mirrors[0].access.sslverify);
    }

    /// Issue 14: the publish target; credentials only from env or files.
    #[test]
    fn publish_target_loads_and_is_checked() {
        let (d, p) = write(
            "publish:\n  s3:\n    endpoint: http://127.0.0.1:8333\n    bucket: mirrors\n    prefix: /repos/yum/\n    access_key_env: AK\n    secret_key_file: keys/s3.secret\n    public_url: https://cdn.example/repos/yum/\nmirrors: []\n",
            "p.yaml",
        );
        let cfg = load_yaml(&p).unwrap();
        let s3 = cfg.publish.unwrap();
        assert_eq!(
            (s3.bucket.as_str(), s3.prefix.as_str()),
            ("mirrors", "repos/yum")
        );
        assert_eq!(s3.region, "us-east-1");
        assert_eq!(s3.public_url, "https://cdn.example/repos/yum");
        assert_eq!(s3.access_key, SecretSource::Env("AK".into()));
        assert_eq!(
            s3.secret_key,
            SecretSource::File(d.path().join("keys/s3.secret"))
        );
        for (block, needle) in [
            (
                "access_key: AKIA\n    secret_key_env: S",
                "unknown field `access_key`",
            ),
            ("secret_key_env: S", "exactly one of access_key_env"),
            (
                "access_key_env: A\n    access_key_file: f\n    secret_key_env: S",
                "exactly one of access_key_env",
            ),
        ] {
            let (_d, p) = write(
                &format!(
                    "publish:\n  s3:\n    endpoint: http://h/\n    bucket: b\n    public_url: http://h/b\n    {block}\n"
                ),
                "bad.yaml",
            );
            let err = load_yaml(&p).unwrap_err().to_string();
            assert!(err.contains("bad.yaml") && err.contains(needle), "{err}");
        }
        let (_d, p) = write(
            "publish:\n  s3:\n    endpoint: ftp://h/\n    bucket: b\n    public_url: http://h/b\n    access_key_env: A\n    secret_key_env: S\n",
            "bad.yaml",
        );
        let err = load_yaml(&p).unwrap_err().to_string();
        assert!(err.contains("publish.s3: endpoint"), "{err}");
        // Issue 21.15: a password in the endpoint is refused, never shown.
        let (_d, p) = write(
            "publish:\n  s3:\n    endpoint: https://ak:hunter2-s3@s3.example/\n    bucket: b\n    public_url: http://h/b\n    access_key_env: A\n    secret_key_env: S\n",
            "bad.yaml",
        );
        let err = load_yaml(&p).unwrap_err().to_string();
        assert!(err.contains("holds credentials"), "{err}");
        assert!(!err.contains("hunter2-s3"), "{err}");
        for (field, needle) in [
            ("prefix: a/../b\n    public_url: http://h/b", "prefix"),
            ("public_url: \"http://h/b\\ngpgcheck=0\"", "public_url"),
        ] {
            let (_d, p) = write(
                &format!(
                    "publish:\n  s3:\n    endpoint: http://h/\n    bucket: b\n    {field}\n    access_key_env: A\n    secret_key_env: S\n"
                ),
                "bad.yaml",
            );
            let err = load_yaml(&p).unwrap_err().to_string();
            assert!(err.contains(needle) && err.contains("refused"), "{err}");
        }
    }

    /// Issue 10: filter options in both formats, and their errors.
    #[test]
    fn filter_options_load_and_are_checked() {
        let (_d, p) = write(
            "mirrors:\n  - name: a\n    baseurl: http://u/\n    exclude: [\"*-debuginfo\", \"kernel* texlive-*\"]\n    includepkgs: a,b\n    newest_only: true\n    arches: x86_64 noarch\n    source: false\n    sign_key: keys/mirror.asc\n    sign_key_passphrase_env: SIGN_PW\n",
            "f.yaml",
        );
        let cfg = load_yaml(&p).unwrap();
        let a = cfg.mirror("a").unwrap();
        assert_eq!(a.filter.exclude, ["*-debuginfo", "kernel*", "texlive-*"]);
        assert_eq!(a.filter.includepkgs, ["a", "b"]);
        assert_eq!(a.filter.retain_versions, Some(1));
        assert_eq!(a.filter.arches, ["x86_64", "noarch"]);
        assert!(!a.filter.source);
        let sign = a.sign.as_ref().unwrap();
        assert!(sign.key.ends_with("keys/mirror.asc") && sign.key.is_absolute());
        for (text, needle) in [
            ("retain_versions: 0", "at least 1"),
            (
                "newest_only: true\n    retain_versions: 3",
                "give one of them",
            ),
            (
                "sign_key: k\n    sign_key_passphrase: x\n    sign_key_passphrase_env: Y",
                "at most one of sign_key_passphrase",
            ),
        ] {
            let (_d, p) = write(
                &format!("mirrors:\n  - name: a\n    baseurl: http://u/\n    {text}\n"),
                "bad.yaml",
            );
            let err = load_yaml(&p).unwrap_err().to_string();
            assert!(err.contains("bad.yaml") && err.contains(needle), "{err}");
        }
        let (_d, p) = write(
            "[a]\nbaseurl=http://u/\nretain_versions=3\nsource=0\narches=aarch64\n\n[b]\nbaseurl=http://u/\nsource=maybe\n",
            "bad.repo",
        );
        let err = load_repo_file(&p, None, None).unwrap_err().to_string();
        assert!(
            err.contains("line 7") && err.contains("source=maybe"),
            "{err}"
        );
    }

    /// Issue 9: access options in both config formats, with paths relative
    /// to the config file and passwords from a file or the environment.
    #[test]
    fn access_options_load() {
        let (d, p) = write(
            "mirrors:\n  - name: cdn\n    baseurl: https://cdn.example/content/\n    sslcacert: ca/redhat-uep.pem\n    sslclientcert: /etc/pki/entitlement/1.pem\n    sslclientkey: /etc/pki/entitlement/1-key.pem\n    sslverify: true\n  - name: auth\n    baseurl: https://auth.example/\n    username: ci\n    password_env: MIRROR_PW\n    proxy: http://proxy.example:3128\n    proxy_username: p\n    proxy_password_file: pw.txt\n  - name: direct\n    baseurl: http://x/\n    proxy: _none_\n",
            "m.yaml",
        );
        let cfg = load_yaml(&p).unwrap();
        let cdn = &cfg.mirror("cdn").unwrap().access;
        assert_eq!(
            cdn.sslcacert.as_deref(),
            Some(d.path().join("ca/redhat-uep.pem").as_path())
        );
        assert_eq!(
            cdn.sslclientkey.as_deref(),
            Some(Path::new("/etc/pki/entitlement/1-key.pem"))
        );
        let auth = &cfg.mirror("auth").unwrap().access;
        assert_eq!(auth.password, Some(SecretSource::Env("MIRROR_PW".into())));
        assert_eq!(
            auth.proxy,
            ProxySpec::Url("http://proxy.example:3128".into())
        );
        assert_eq!(
            auth.proxy_password,
            Some(SecretSource::File(d.path().join("pw.txt")))
        );
        assert_eq!(
            cfg.mirror("direct").unwrap().access.proxy,
            ProxySpec::Direct
        );
        assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
        let (_d, p) = write(
            "mirrors:\n  - name: two\n    baseurl: http://x/\n    password: a\n    password_env: B\n",
            "m.yaml",
        );
        assert!(
            load_yaml(&p)
                .unwrap_err()
                .to_string()
                .contains("at most one of password")
        );
    }
}
