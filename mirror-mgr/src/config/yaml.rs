//! The YAML config (`--config`): root, base_url, defaults and mirrors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mirror_index::MirrorName;

use super::options::{
    self, CLIENT_SIDE_OPTIONS, FilterOptions, NOT_HONOURED_OPTIONS, check_unique, config_key,
    config_path, line_of_key, proxy_spec, push_ignored, read, scalar, secret_source, split_list,
};
use super::spec::{
    BucketLayout, Config, ConfigError, MirrorSpec, S3Spec, TrustSpec, XmlBasePolicy,
};
use super::vars::{default_vars, set_vars};
use super::yaml_webhooks::{YamlWebhook, webhook};
use crate::access::{AccessSpec, SecretSource};
use crate::filter::SignSpec;
use crate::upstream::Upstream;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlFile {
    root: Option<PathBuf>,
    base_url: Option<String>,
    concurrency: Option<usize>,
    http2_streams: Option<usize>,
    #[serde(default)]
    vars: BTreeMap<String, String>,
    #[serde(default)]
    mirrors: Vec<YamlMirror>,
    #[serde(default)]
    channels: BTreeMap<String, YamlChannel>,
    publish: Option<YamlPublish>,
    /// Defaults for every mirror without its own.
    schedule: Option<String>,
    schedule_jitter: Option<String>,
    max_download_rate: Option<serde_yaml::Value>,
    #[serde(default)]
    webhooks: Vec<YamlWebhook>,
    webhook_retry_for: Option<String>,
    /// The key that signs bundles (`export`) unless --sign-key says otherwise.
    sign_key: Option<PathBuf>,
    sign_key_passphrase: Option<String>,
    sign_key_passphrase_file: Option<PathBuf>,
    sign_key_passphrase_env: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlPublish {
    s3: YamlS3,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlS3 {
    endpoint: String,
    bucket: String,
    #[serde(default)]
    prefix: String,
    region: Option<String>,
    access_key_env: Option<String>,
    access_key_file: Option<PathBuf>,
    secret_key_env: Option<String>,
    secret_key_file: Option<PathBuf>,
    public_url: String,
    layout: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlChannel {
    /// Jobs that must all pass on a set for it to be promoted.
    require: Vec<String>,
}

#[derive(serde::Deserialize)]
#[allow(clippy::struct_excessive_bools)] // dnf's own boolean options, by their names
struct YamlMirror {
    name: String,
    #[serde(alias = "upstream")]
    baseurl: Option<serde_yaml::Value>,
    mirrorlist: Option<String>,
    metalink: Option<String>,
    arch: Option<String>,
    releasever: Option<serde_yaml::Value>,
    #[serde(default)]
    vars: BTreeMap<String, String>,
    #[serde(default)]
    xml_base: XmlBasePolicy,
    #[serde(default)]
    xml_base_hosts: Vec<String>,
    enabled: Option<serde_yaml::Value>,
    import: Option<serde_yaml::Value>,
    #[serde(default)]
    verify_local: crate::fetch::VerifyLocal,
    allow_downgrade: Option<serde_yaml::Value>,
    sslcacert: Option<PathBuf>,
    sslclientcert: Option<PathBuf>,
    sslclientkey: Option<PathBuf>,
    sslverify: Option<serde_yaml::Value>,
    username: Option<String>,
    password: Option<String>,
    password_file: Option<PathBuf>,
    password_env: Option<String>,
    proxy: Option<String>,
    proxy_username: Option<String>,
    proxy_password: Option<String>,
    proxy_password_file: Option<PathBuf>,
    proxy_password_env: Option<String>,
    repo_gpgcheck: Option<serde_yaml::Value>,
    #[serde(alias = "gpgcheck")]
    pkg_gpgcheck: Option<serde_yaml::Value>,
    gpgkey: Option<serde_yaml::Value>,
    #[serde(default)]
    gpgkey_fingerprints: Vec<String>,
    #[serde(default)]
    allowed_keys: Vec<String>,
    stale_after: Option<String>,
    failing_after: Option<usize>,
    schedule: Option<String>,
    schedule_jitter: Option<String>,
    throttle: Option<serde_yaml::Value>,
    bandwidth: Option<serde_yaml::Value>,
    #[serde(alias = "excludepkgs")]
    exclude: Option<serde_yaml::Value>,
    includepkgs: Option<serde_yaml::Value>,
    newest_only: Option<serde_yaml::Value>,
    retain_versions: Option<u32>,
    arches: Option<serde_yaml::Value>,
    source: Option<serde_yaml::Value>,
    exclude_advisories: Option<YamlExcludeAdvisories>,
    security_only: Option<serde_yaml::Value>,
    issued_before: Option<serde_yaml::Value>,
    sign_key: Option<PathBuf>,
    sign_key_passphrase: Option<String>,
    sign_key_passphrase_file: Option<PathBuf>,
    sign_key_passphrase_env: Option<String>,
    #[serde(flatten)]
    other: BTreeMap<String, serde_yaml::Value>,
}

/// `exclude_advisories:` of a mirror.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlExcludeAdvisories {
    ids: Option<serde_yaml::Value>,
    types: Option<serde_yaml::Value>,
    severities: Option<serde_yaml::Value>,
    issued_after: Option<serde_yaml::Value>,
}

/// The `publish: s3:` block, checked: URLs parse, credentials come from the
/// environment or a file (exactly one of each).
fn s3_spec(s: YamlS3, config: &Path) -> Result<S3Spec, String> {
    for (k, v) in [("endpoint", &s.endpoint), ("public_url", &s.public_url)] {
        // Shown masked: a URL may carry a password.
        let shown = mirror_http::redact(v);
        let u = url::Url::parse(v).map_err(|e| format!("{k} {shown:?}: {e}"))?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err(format!("{k} {shown:?} is not an http(s) URL"));
        }
        if !u.username().is_empty() || u.password().is_some() {
            return Err(format!(
                "{k} {shown:?} holds credentials: give them as access_key_env/secret_key_env (or _file), never in the URL"
            ));
        }
    }
    if s.bucket.is_empty() || s.bucket.contains('/') {
        return Err(format!("bucket {:?} is not a bucket name", s.bucket));
    }
    // The index hands public_url to CI jobs' repo files, as base_url.
    mirror_index::map_value::check_url(&s.public_url)
        .map_err(|e| format!("public_url {:?} is refused: {e}", s.public_url))?;
    let prefix = s.prefix.trim_matches('/');
    let bad_segment = |seg: &str| {
        seg.is_empty() || seg == "." || seg == ".." || seg.chars().any(char::is_control)
    };
    if !prefix.is_empty() && prefix.split('/').any(bad_segment) {
        return Err(format!(
            "prefix {:?}: empty, `.` or `..` segments and control characters are refused",
            s.prefix
        ));
    }
    let secret = |name: &str, env: Option<String>, file: Option<PathBuf>| match (env, file) {
        (Some(e), None) => Ok(SecretSource::Env(e)),
        (None, Some(f)) => Ok(SecretSource::File(config_path(config, f))),
        _ => Err(format!(
            "give exactly one of {name}_env and {name}_file (credentials are never written in the config)"
        )),
    };
    Ok(S3Spec {
        endpoint: s.endpoint,
        bucket: s.bucket,
        prefix: prefix.to_owned(),
        region: s.region.unwrap_or_else(|| "us-east-1".into()),
        access_key: secret("access_key", s.access_key_env, s.access_key_file)?,
        secret_key: secret("secret_key", s.secret_key_env, s.secret_key_file)?,
        public_url: s.public_url.trim_end_matches('/').to_owned(),
        layout: match s.layout.as_deref() {
            None | Some("tree") => BucketLayout::Tree,
            Some("pool") => BucketLayout::Pool,
            Some(other) => return Err(format!("layout {other:?}: give tree or pool")),
        },
    })
}

/// A YAML list, or one string of dnf's whitespace- or comma-separated items.
fn list(v: Option<serde_yaml::Value>) -> Vec<String> {
    match v {
        None => Vec::new(),
        Some(serde_yaml::Value::Sequence(items)) => items
            .iter()
            .filter_map(scalar)
            .flat_map(|s| split_list(&s))
            .collect(),
        Some(v) => scalar(&v).map(|s| split_list(&s)).unwrap_or_default(),
    }
}

/// A `sign_key` with its passphrase (at most one source), paths relative
/// to the config; the same for the top level (bundles) and a mirror.
fn sign_spec(
    config: &Path,
    key: Option<PathBuf>,
    passphrase: Option<String>,
    file: Option<PathBuf>,
    env: Option<String>,
) -> Result<Option<SignSpec>, String> {
    key.map(|key| {
        Ok(SignSpec {
            key: config_path(config, key),
            passphrase: secret_source(
                "sign_key_passphrase",
                passphrase,
                file.map(|p| config_path(config, p)),
                env,
            )?,
        })
    })
    .transpose()
}

/// Load a YAML config.
pub fn load_yaml(path: &Path) -> Result<Config, ConfigError> {
    let text = read(path)?;
    let invalid = |message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    mirror_index::nesting::check(&text, mirror_index::nesting::MAX_DEPTH)
        .map_err(|e| invalid(e.to_string()))?;
    let file: YamlFile = serde_yaml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    for ch in file.channels.keys() {
        mirror_index::layout::check_channel(ch).map_err(|e| invalid(format!("channels: {e}")))?;
    }
    let publish = file
        .publish
        .map(|p| s3_spec(p.s3, path))
        .transpose()
        .map_err(|e| invalid(format!("publish.s3: {e}")))?;
    let mut cfg = Config {
        publish,
        channels: file
            .channels
            .into_iter()
            .map(|(k, v)| (k, v.require))
            .collect(),
        root: file.root,
        base_url: file.base_url,
        concurrency: file.concurrency,
        http2_streams: file.http2_streams,
        webhooks: file
            .webhooks
            .into_iter()
            .enumerate()
            .map(|(i, w)| webhook(w, i, path))
            .collect::<Result<_, _>>()
            .map_err(&invalid)?,
        sign: sign_spec(
            path,
            file.sign_key,
            file.sign_key_passphrase,
            file.sign_key_passphrase_file,
            file.sign_key_passphrase_env,
        )
        .map_err(&invalid)?,
        max_download_rate: file
            .max_download_rate
            .as_ref()
            .map(|v| {
                crate::fetch::rate::parse_size(&scalar(v).unwrap_or_default())
                    .map_err(|e| invalid(format!("max_download_rate: {e}")))
            })
            .transpose()?
            .filter(|r| *r > 0),
        webhook_retry_for: file
            .webhook_retry_for
            .as_deref()
            .map(crate::lifecycle::retention::parse_duration)
            .transpose()
            .map_err(|e| invalid(format!("webhook_retry_for: {e}")))?,
        ..Config::default()
    };
    let mut ignored: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in file.mirrors {
        let name = MirrorName::new(&m.name).map_err(|e| invalid(e.to_string()))?;
        // Booleans read as in a .repo file (options.rs): YAML's true/false,
        // 1/0, and dnf's words (YAML 1.2 reads `off` and `yes` as text).
        let boolean = |key: &str, v: &Option<serde_yaml::Value>, default: bool| {
            options::yaml_boolean(key, v.as_ref(), default)
                .map_err(|e| invalid(format!("mirror {name}: {e}")))
        };
        let upstream = match (m.baseurl, m.mirrorlist, m.metalink) {
            (Some(b), None, None) => Upstream::Baseurl(match b {
                serde_yaml::Value::Sequence(items) => items.iter().filter_map(scalar).collect(),
                other => scalar(&other).into_iter().collect(),
            }),
            (None, Some(l), None) => Upstream::Mirrorlist(l),
            (None, None, Some(l)) => Upstream::Metalink(l),
            (None, None, None) if boolean("import", &m.import, false)? => Upstream::Import,
            _ => {
                return Err(invalid(format!(
                    "mirror {name}: give exactly one of baseurl (or upstream), mirrorlist, metalink (or none with import: true)"
                )));
            }
        };
        if matches!(&upstream, Upstream::Baseurl(v) if v.is_empty()) {
            return Err(invalid(format!("mirror {name}: empty baseurl")));
        }
        let releasever = m.releasever.as_ref().and_then(scalar);
        // built-in < the file's vars < the mirror entry (arch, releasever, vars)
        let mut vars = default_vars(None, None);
        vars.extend(file.vars.clone());
        set_vars(&mut vars, m.arch.as_deref(), releasever.as_deref());
        vars.extend(m.vars);
        for key in m.other.keys() {
            let client_side = CLIENT_SIDE_OPTIONS.contains(&key.as_str());
            if !client_side && !NOT_HONOURED_OPTIONS.contains(&key.as_str()) {
                return Err(invalid(format!(
                    "{}mirror {name}: unknown key `{key}`",
                    line_of_key(&text, key)
                        .map(|l| format!("line {l}: "))
                        .unwrap_or_default()
                )));
            }
            if !client_side {
                ignored
                    .entry(key.clone())
                    .or_default()
                    .push(name.to_string());
            }
        }
        let sslverify = boolean("sslverify", &m.sslverify, true)?;
        let access = AccessSpec {
            sslcacert: m.sslcacert.map(|p| config_path(path, p)),
            sslclientcert: m.sslclientcert.map(|p| config_path(path, p)),
            sslclientkey: m.sslclientkey.map(|p| config_path(path, p)),
            sslverify,
            username: m.username,
            password: secret_source(
                "password",
                m.password,
                m.password_file.map(|p| config_path(path, p)),
                m.password_env,
            )
            .map_err(|e| invalid(format!("mirror {name}: {e}")))?,
            proxy: proxy_spec(m.proxy.as_deref()),
            proxy_username: m.proxy_username,
            proxy_password: secret_source(
                "proxy_password",
                m.proxy_password,
                m.proxy_password_file.map(|p| config_path(path, p)),
                m.proxy_password_env,
            )
            .map_err(|e| invalid(format!("mirror {name}: {e}")))?,
        };
        let gpgkeys = list(m.gpgkey);
        let ex = m.exclude_advisories.unwrap_or_default();
        let filter = FilterOptions {
            exclude: list(m.exclude),
            includepkgs: list(m.includepkgs),
            newest_only: m
                .newest_only
                .as_ref()
                .map(|_| boolean("newest_only", &m.newest_only, false))
                .transpose()?,
            retain_versions: m.retain_versions,
            arches: list(m.arches),
            source: m
                .source
                .as_ref()
                .map(|_| boolean("source", &m.source, true))
                .transpose()?,
            security_only: m
                .security_only
                .as_ref()
                .map(|_| boolean("security_only", &m.security_only, false))
                .transpose()?,
            issued_before: m.issued_before.as_ref().and_then(scalar),
            advisories_issued_after: ex.issued_after.as_ref().and_then(scalar),
            advisory_ids: list(ex.ids),
            advisory_types: list(ex.types),
            advisory_severities: list(ex.severities),
        }
        .resolve()
        .map_err(|e| invalid(format!("mirror {name}: {e}")))?;
        let sign = sign_spec(
            path,
            m.sign_key,
            m.sign_key_passphrase,
            m.sign_key_passphrase_file,
            m.sign_key_passphrase_env,
        )
        .map_err(|e| invalid(format!("mirror {name}: {e}")))?;
        let trust = TrustSpec {
            repo_gpgcheck: boolean("repo_gpgcheck", &m.repo_gpgcheck, false)?,
            pkg_gpgcheck: boolean("gpgcheck", &m.pkg_gpgcheck, false)?
                || !m.allowed_keys.is_empty(),
            gpgkeys: gpgkeys.into_iter().map(|k| config_key(path, k)).collect(),
            fingerprints: m
                .gpgkey_fingerprints
                .into_iter()
                .chain(m.allowed_keys)
                .collect(),
        };
        if trust.enabled() && trust.gpgkeys.is_empty() {
            return Err(invalid(format!(
                "mirror {name}: repo_gpgcheck/pkg_gpgcheck need gpgkey"
            )));
        }
        // The same spellings and meaning as in a .repo file (options.rs).
        let enabled = boolean("enabled", &m.enabled, true)?;
        let import = boolean("import", &m.import, false)?;
        let allow_downgrade = boolean("allow_downgrade", &m.allow_downgrade, false)?;
        let schedule = options::schedule(
            m.schedule.as_deref().or(file.schedule.as_deref()),
            m.schedule_jitter
                .as_deref()
                .or(file.schedule_jitter.as_deref()),
        )
        .map_err(|e| invalid(format!("mirror {name}: {e}")))?;
        let throttle = crate::fetch::rate::throttle(
            m.throttle.as_ref().and_then(scalar).as_deref(),
            m.bandwidth.as_ref().and_then(scalar).as_deref(),
        )
        .map_err(|e| invalid(format!("mirror {name}: {e}")))?;
        let health = options::health(
            m.stale_after.as_deref(),
            m.failing_after.map(|n| n.to_string()).as_deref(),
        )
        .map_err(|e| invalid(format!("mirror {name}: {e}")))?;
        cfg.mirrors.push(MirrorSpec {
            name,
            upstream,
            vars,
            xml_base: m.xml_base,
            xml_base_hosts: m.xml_base_hosts,
            enabled,
            import,
            access,
            trust,
            health,
            schedule,
            throttle,
            filter,
            sign,
            verify_local: m.verify_local,
            allow_downgrade,
        });
    }
    push_ignored(&mut cfg.warnings, path, ignored);
    check_unique(&cfg.mirrors, path)?;
    Ok(cfg)
}
