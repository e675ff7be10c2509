//! How both config formats read a mirror's settings: the option lists,
//! dnf's spellings (booleans, lists, proxies, secrets, paths) and the
//! filter and health settings, so a key means the same in YAML and in a
//! `.repo` file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::spec::{ConfigError, HealthPolicy, MirrorSpec, Warning};
use crate::access::{ProxySpec, Secret, SecretSource};

/// Options of a repo section that only matter to the client side (or are
/// descriptive) and so are correct to pass over when mirroring.
pub(super) const CLIENT_SIDE_OPTIONS: &[&str] = &[
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
pub(super) const NOT_HONOURED_OPTIONS: &[&str] = &[
    "timeout",
    "retries",
    "minrate",
    "max_parallel_downloads",
    "deltarpm",
    "fastestmirror",
];

/// Options of a `.repo`-style mirror section that mirror-mgr acts on.
pub(super) const HONOURED_REPO_OPTIONS: &[&str] = &[
    "baseurl",
    "mirrorlist",
    "metalink",
    "enabled",
    "stale_after",
    "failing_after",
    "schedule",
    "schedule_jitter",
    "throttle",
    "bandwidth",
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
    "exclude_advisories_ids",
    "exclude_advisories_types",
    "exclude_advisories_severities",
    "exclude_advisories_issued_after",
    "security_only",
    "issued_before",
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
    /// `exclude_advisories: {ids, types, severities, issued_after}` (YAML),
    /// `exclude_advisories_ids=` ... (`.repo`).
    pub advisory_ids: Vec<String>,
    pub advisory_types: Vec<String>,
    pub advisory_severities: Vec<String>,
    pub advisories_issued_after: Option<String>,
    pub security_only: Option<bool>,
    pub issued_before: Option<String>,
}

/// A date of an advisory filter: `YYYY-MM-DD[ HH:MM[:SS]]` (UTC) or seconds.
fn filter_date(key: &str, v: Option<&str>) -> Result<Option<i64>, String> {
    v.map(|v| {
        mirror_repodata::updateinfo::parse_date(v).ok_or_else(|| {
            format!(
                "{key}={:?}: give a date, YYYY-MM-DD (UTC)",
                mirror_index::stdout::printable(&v.chars().take(64).collect::<String>())
            )
        })
    })
    .transpose()
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
        let advisories = crate::filter::advisory::AdvisoryFilter {
            exclude_ids: self.advisory_ids,
            exclude_types: self.advisory_types,
            exclude_severities: self.advisory_severities,
            exclude_issued_after: filter_date(
                "exclude_advisories.issued_after",
                self.advisories_issued_after.as_deref(),
            )?,
            issued_before: filter_date("issued_before", self.issued_before.as_deref())?,
            security_only: self.security_only.unwrap_or(false),
        };
        Ok(crate::filter::FilterSpec {
            exclude: self.exclude,
            includepkgs: self.includepkgs,
            retain_versions: retain,
            arches: self.arches,
            source: self.source.unwrap_or(true),
            advisories,
        })
    }
}

/// The 1-based line where `key:` is written as a mapping key, if found.
pub(super) fn line_of_key(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ").trim_start();
            t.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map(|i| i + 1)
}

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

/// A boolean option of a `.repo` section, as dnf reads it: `1/0`,
/// `yes/no`, `true/false`, `on/off`, any case; anything else is an error
/// naming the option (never silently false: `gpgcheck=maybe` is refused).
pub(super) fn boolean(key: &str, v: Option<&str>, default: bool) -> Result<bool, String> {
    v.map_or(Ok(default), |v| {
        yes_no(v).ok_or_else(|| format!("{key}={v}: expected true/false, yes/no, on/off or 1/0"))
    })
}

/// A boolean option of the YAML config, with the same spellings as in a
/// `.repo` file ([`boolean`]): YAML's `true`, `1`, and dnf's words.
pub(super) fn yaml_boolean(
    key: &str,
    v: Option<&serde_yaml::Value>,
    default: bool,
) -> Result<bool, String> {
    let text = v.map(|v| match v {
        serde_yaml::Value::Bool(b) => b.to_string(),
        v => scalar(v).unwrap_or_else(|| format!("{v:?}")),
    });
    boolean(key, text.as_deref(), default)
}

/// `schedule` and `schedule_jitter` (each falling back to the file's
/// default), parsed.
pub(super) fn schedule(
    schedule: Option<&str>,
    jitter: Option<&str>,
) -> Result<Option<crate::schedule::Schedule>, String> {
    schedule
        .map(|s| crate::schedule::Schedule::parse(s, jitter))
        .transpose()
}

/// `stale_after` (a duration: `12h`, `2d`) and `failing_after` (a count).
pub(super) fn health(
    stale_after: Option<&str>,
    failing_after: Option<&str>,
) -> Result<HealthPolicy, String> {
    let defaults = HealthPolicy::default();
    Ok(HealthPolicy {
        stale_after_secs: match stale_after {
            Some(d) => crate::lifecycle::retention::parse_duration(d)
                .map_err(|e| format!("stale_after: {e}"))?,
            None => defaults.stale_after_secs,
        },
        failing_after: match failing_after {
            Some(n) => n
                .trim()
                .parse::<usize>()
                .map_err(|_| format!("failing_after={n}: expected a number"))?
                .max(1),
            None => defaults.failing_after,
        },
    })
}
