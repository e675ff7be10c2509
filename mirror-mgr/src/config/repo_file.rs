//! The yum `.repo`-style config (`--repo-config`): a section per mirror,
//! with dnf's option names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mirror_index::MirrorName;
use mirror_index::repofile::{Dialect, RepoFile};

use super::options::{
    self, CLIENT_SIDE_OPTIONS, FilterOptions, HONOURED_REPO_OPTIONS, config_key, config_path,
    proxy_spec, push_ignored, read, secret_source, split_list,
};
use super::spec::{Config, ConfigError, MirrorSpec, TrustSpec, XmlBasePolicy};
use super::vars::default_vars;
use crate::access::AccessSpec;
use crate::filter::SignSpec;
use crate::upstream::Upstream;

/// Load mirror definitions from a yum `.repo`-style file.
pub fn load_repo_file(
    path: &Path,
    arch: Option<&str>,
    releasever: Option<&str>,
) -> Result<Config, ConfigError> {
    let text = read(path)?;
    let file = RepoFile::parse(&text, Dialect::Ini).map_err(|source| ConfigError::Ini {
        path: path.to_path_buf(),
        source,
    })?;
    let mut cfg = Config::default();
    let mut ignored: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // [main]'s schedule is every mirror's default.
    let main = file.sections.iter().find(|s| s.id == "main");
    let default_of = |k: &str| main.and_then(|m| m.value(k));
    for section in &file.sections {
        if section.id == "main" {
            if let Some(n) = section
                .value("max_connections")
                .and_then(|v| v.parse().ok())
            {
                cfg.concurrency = Some(n);
            }
            continue;
        }
        let line = section.header_line + 1;
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: format!("line {line}: [{}]: {message}", section.id),
        };
        let name = MirrorName::new(&section.id).map_err(|e| invalid(e.to_string()))?;
        let upstream = if let Some(b) = section.value("baseurl") {
            let urls: Vec<String> = b
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            if urls.is_empty() {
                return Err(invalid("empty baseurl".into()));
            }
            Upstream::Baseurl(urls)
        } else if let Some(m) = section.value("metalink") {
            Upstream::Metalink(m.to_owned())
        } else if let Some(m) = section.value("mirrorlist") {
            Upstream::Mirrorlist(m.to_owned())
        } else {
            return Err(invalid("no baseurl, mirrorlist or metalink".into()));
        };
        // As dnf reads it, and as the YAML config does (options.rs).
        let boolean = |k: &str, default: bool| {
            options::boolean(k, section.value(k), default).map_err(&invalid)
        };
        let enabled = boolean("enabled", true)?;
        let schedule = options::schedule(
            section.value("schedule").or(default_of("schedule")),
            section
                .value("schedule_jitter")
                .or(default_of("schedule_jitter")),
        )
        .map_err(&invalid)?;
        let throttle =
            crate::fetch::rate::throttle(section.value("throttle"), section.value("bandwidth"))
                .map_err(&invalid)?;
        let health = options::health(section.value("stale_after"), section.value("failing_after"))
            .map_err(&invalid)?;
        for e in &section.entries {
            let honoured = HONOURED_REPO_OPTIONS.contains(&e.key.as_str());
            if !honoured && !CLIENT_SIDE_OPTIONS.contains(&e.key.as_str()) {
                ignored
                    .entry(e.key.clone())
                    .or_default()
                    .push(name.to_string());
            }
        }
        let sslverify = boolean("sslverify", true)?;
        let file_opt = |k: &str| {
            section
                .value(k)
                .map(|v| config_path(path, PathBuf::from(v)))
        };
        // `KEY`, `KEY_file` or `KEY_env`: at most one of them.
        let secret = |key: &str| {
            secret_source(
                key,
                section.value(key).map(str::to_owned),
                file_opt(&format!("{key}_file")),
                section.value(&format!("{key}_env")).map(str::to_owned),
            )
            .map_err(invalid)
        };
        let access = AccessSpec {
            sslcacert: file_opt("sslcacert"),
            sslclientcert: file_opt("sslclientcert"),
            sslclientkey: file_opt("sslclientkey"),
            sslverify,
            username: section.value("username").map(str::to_owned),
            password: secret("password")?,
            proxy: proxy_spec(section.value("proxy")),
            proxy_username: section.value("proxy_username").map(str::to_owned),
            proxy_password: secret("proxy_password")?,
        };
        let bool_opt = |k: &str| section.value(k).map(|_| boolean(k, false)).transpose();
        let list_opt = |k: &str| section.value(k).map(split_list).unwrap_or_default();
        let trust = TrustSpec {
            repo_gpgcheck: boolean("repo_gpgcheck", false)?,
            pkg_gpgcheck: boolean("gpgcheck", false)?,
            gpgkeys: section
                .value("gpgkey")
                .map(split_list)
                .unwrap_or_default()
                .into_iter()
                .map(|k| config_key(path, k))
                .collect(),
            fingerprints: section
                .value("gpgkey_fingerprints")
                .map(split_list)
                .unwrap_or_default(),
        };
        let filter = FilterOptions {
            exclude: ["exclude", "excludepkgs"]
                .iter()
                .filter_map(|k| section.value(k))
                .flat_map(split_list)
                .collect(),
            includepkgs: section
                .value("includepkgs")
                .map(split_list)
                .unwrap_or_default(),
            newest_only: bool_opt("newest_only")?,
            retain_versions: section
                .value("retain_versions")
                .map(|v| {
                    v.trim()
                        .parse()
                        .map_err(|_| invalid(format!("retain_versions={v}: expected a number")))
                })
                .transpose()?,
            arches: section.value("arches").map(split_list).unwrap_or_default(),
            source: bool_opt("source")?,
            advisory_ids: list_opt("exclude_advisories_ids"),
            advisory_types: list_opt("exclude_advisories_types"),
            advisory_severities: list_opt("exclude_advisories_severities"),
            advisories_issued_after: section
                .value("exclude_advisories_issued_after")
                .map(str::to_owned),
            security_only: bool_opt("security_only")?,
            issued_before: section.value("issued_before").map(str::to_owned),
        }
        .resolve()
        .map_err(invalid)?;
        let sign = match file_opt("sign_key") {
            Some(key) => Some(SignSpec {
                key,
                passphrase: secret("sign_key_passphrase")?,
            }),
            None => None,
        };
        cfg.mirrors.push(MirrorSpec {
            name,
            upstream,
            vars: default_vars(arch, releasever),
            xml_base: XmlBasePolicy::Error,
            xml_base_hosts: Vec::new(),
            enabled,
            import: false,
            access,
            trust,
            health,
            schedule,
            throttle,
            filter,
            sign,
            verify_local: crate::fetch::VerifyLocal::default(),
            allow_downgrade: false,
        });
    }
    push_ignored(&mut cfg.warnings, path, ignored);
    Ok(cfg)
}
