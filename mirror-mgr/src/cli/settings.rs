//! Settings, resolved once before any work: flags, then environment
//! (through clap's `env`), then the config files, then built-in defaults.
//! yum variables follow the same order: command line > mirror entry >
//! config defaults > built-in.

use std::path::{Path, PathBuf};

use mirror_index::MirrorName;
use url::Url;

use super::args::{SyncArgs, TreeOpts, VarOpts, XmlBaseArg};
use super::exit::Failure;
use crate::config::{self, Config, MirrorSpec, Upstream, XmlBasePolicy};
use crate::env_vars;

/// Everything a command needs, merged.
#[derive(Debug, Default)]
pub struct Settings {
    pub root: Option<PathBuf>,
    pub base_url: Option<String>,
    pub config: Config,
    pub wait: bool,
    /// What the config files define but this version does not act on.
    pub warnings: Vec<String>,
}

impl Settings {
    /// Load the config files the options name and merge everything.
    pub fn resolve(tree: &TreeOpts, vars: &VarOpts) -> Result<Self, Failure> {
        let mut config = Config::default();
        if let Some(p) = &tree.config {
            config = config::load_yaml(p).map_err(|e| Failure::from_error(&e))?;
        }
        if let Some(p) = &tree.repo_config {
            let more =
                config::load_repo_file(p, None, None).map_err(|e| Failure::from_error(&e))?;
            for m in more.mirrors {
                if config.mirror(m.name.as_str()).is_some() {
                    return Err(Failure::usage(format!(
                        "mirror {} is defined both in {} and in {}",
                        m.name,
                        tree.config.as_deref().unwrap_or(Path::new("?")).display(),
                        p.display()
                    )));
                }
                config.mirrors.push(m);
            }
            config.warnings.extend(more.warnings);
            config.concurrency = config.concurrency.or(more.concurrency);
            config.http2_streams = config.http2_streams.or(more.http2_streams);
        }
        for m in &mut config.mirrors {
            config::set_vars(
                &mut m.vars,
                vars.arch.as_deref(),
                vars.releasever.as_deref(),
            );
        }
        let warnings = config
            .warnings
            .iter()
            .map(|w| format!("{}: {}", w.file.display(), w.message))
            .collect();
        let base_url = tree.base_url.clone().or_else(|| config.base_url.clone());
        if let Some(b) = &base_url {
            Url::parse(b)
                .map_err(|e| Failure::usage(format!("--base-url {b:?} is not a URL: {e}")))?;
            // Index values end up in CI jobs' repo files: refuse what could not stand there.
            mirror_index::map_value::check_url(b)
                .map_err(|e| Failure::usage(format!("--base-url {b:?} is refused: {e}")))?;
        }
        Ok(Self {
            root: tree.root.clone().or_else(|| config.root.clone()),
            base_url,
            config,
            wait: tree.wait,
            warnings,
        })
    }

    /// A mirror's health thresholds: its config's, else the defaults.
    pub fn health_of(&self, m: &MirrorName) -> crate::config::HealthPolicy {
        self.config.health_of(m)
    }

    pub fn root(&self) -> Result<&Path, Failure> {
        self.root.as_deref().ok_or_else(|| {
            Failure::usage(format!(
                "no mirror root: pass --root DIR, set {}, or set root in the config",
                env_vars::ROOT
            ))
        })
    }

    /// What the operations layer needs (the root is required).
    pub fn ops(&self) -> Result<crate::ops::Ops, Failure> {
        Ok(crate::ops::Ops {
            root: self.root()?.to_path_buf(),
            base_url: self.base_url.clone(),
            config: std::sync::Arc::new(self.config.clone()),
            wait: self.wait,
            // Before the process ends, webhooks get this long.
            deliver_within: Some(std::time::Duration::from_secs(10)),
        })
    }

    pub fn base_url(&self, why: &str) -> Result<&str, Failure> {
        self.base_url.as_deref().ok_or_else(|| {
            Failure::usage(format!(
                "no base URL: pass --base-url URL, set {}, or set base_url in the config ({why})",
                env_vars::BASE_URL
            ))
        })
    }
}

pub fn mirror_name(name: &str) -> Result<MirrorName, Failure> {
    MirrorName::new(name).map_err(|e| Failure::usage(e.to_string()))
}

/// The mirrors `sync` works on, with every override applied.
pub fn sync_specs(s: &Settings, args: &SyncArgs) -> Result<Vec<MirrorSpec>, Failure> {
    let mut specs = select_specs(s, args)?;
    for m in &mut specs {
        m.xml_base_hosts.extend(args.xml_base_host.iter().cloned());
        m.allow_downgrade |= args.allow_downgrade;
        if let Some(x) = args.xml_base {
            m.xml_base = match x {
                XmlBaseArg::Error => XmlBasePolicy::Error,
                XmlBaseArg::Follow => XmlBasePolicy::Follow,
            };
        }
    }
    Ok(specs)
}

fn select_specs(s: &Settings, args: &SyncArgs) -> Result<Vec<MirrorSpec>, Failure> {
    let ad_hoc = args.url.is_some() || args.mirrorlist.is_some() || args.metalink.is_some();
    if ad_hoc {
        let [name] = args.names.as_slice() else {
            return Err(Failure::usage(
                "--url/--mirrorlist/--metalink take exactly one mirror NAME",
            ));
        };
        let name = mirror_name(name)?;
        let defined = s.config.mirror(name.as_str());
        if let Some(b) = defined.filter(|b| !b.import) {
            return Err(Failure::usage(format!(
                "mirror {} is defined in the config with its own upstream; refusing to sync it from another URL \
                 (drop --url/--mirrorlist/--metalink, or mark it `import: true` in the config if it takes ad hoc imports)",
                b.name
            )));
        }
        let upstream = if let Some(u) = &args.url {
            Upstream::Baseurl(vec![u.clone()])
        } else if let Some(u) = &args.mirrorlist {
            Upstream::Mirrorlist(u.clone())
        } else {
            Upstream::Metalink(args.metalink.clone().unwrap_or_default())
        };
        // An import mirror keeps its own settings; an unknown one gets the built-ins.
        let unknown = || MirrorSpec {
            name: name.clone(),
            upstream: Upstream::Import,
            vars: config::default_vars(None, None),
            xml_base: XmlBasePolicy::Error,
            xml_base_hosts: Vec::new(),
            enabled: true,
            import: true,
            access: crate::access::AccessSpec::default(),
            trust: crate::config::TrustSpec::default(),
            health: crate::config::HealthPolicy::default(),
            filter: crate::filter::FilterSpec::none(),
            sign: None,
            verify_local: crate::fetch::VerifyLocal::default(),
            allow_downgrade: false,
            schedule: None,
            throttle: None,
        };
        // Credentials stay bound to the configured upstream's hosts.
        let mut spec = defined
            .cloned()
            .unwrap_or_else(unknown)
            .with_caller_upstream(upstream);
        config::set_vars(
            &mut spec.vars,
            args.vars.arch.as_deref(),
            args.vars.releasever.as_deref(),
        );
        return Ok(vec![spec]);
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
        return Ok(all);
    }
    if args.names.is_empty() {
        return Err(Failure::usage("sync: name mirrors to sync, or pass --all"));
    }
    args.names
        .iter()
        .map(|n| {
            s.config.mirror(n).cloned().ok_or_else(|| {
                Failure::usage(format!(
                    "mirror {n:?} is not defined in the config; pass --url UPSTREAM to sync it ad hoc"
                ))
            })
        })
        .collect()
}

/// Mirrors named on the command line, or every mirror directory under the root.
pub fn mirrors_or_all(root: &Path, names: &[String]) -> Result<Vec<MirrorName>, Failure> {
    if !names.is_empty() {
        return names.iter().map(|n| mirror_name(n)).collect();
    }
    mirror_index::layout::list_mirrors(root)
        .map_err(|e| Failure::usage(format!("{}: {e}", root.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn sync_args(cmdline: &str) -> SyncArgs {
        #[derive(clap::Parser)]
        struct T {
            #[command(flatten)]
            a: SyncArgs,
        }
        T::parse_from(std::iter::once("t").chain(cmdline.split_whitespace())).a
    }

    fn settings_with(yaml: &str, vars: &VarOpts) -> (tempfile::TempDir, Result<Settings, Failure>) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("m.yaml");
        std::fs::write(&p, yaml).unwrap();
        let tree = TreeOpts {
            config: Some(p),
            ..TreeOpts::default()
        };
        let s = Settings::resolve(&tree, vars);
        (d, s)
    }

    /// Issue 8: --arch/--releasever reach mirrors defined in a YAML config.
    #[test]
    fn command_line_variables_reach_config_mirrors() {
        let yaml = "mirrors:\n  - name: a\n    baseurl: http://up/$basearch/$releasever/\n";
        let vars = VarOpts {
            arch: Some("aarch64".into()),
            releasever: Some("10.1".into()),
        };
        let (_d, s) = settings_with(yaml, &vars);
        let s = s.unwrap();
        let a = s.config.mirror("a").unwrap();
        let Upstream::Baseurl(urls) = &a.upstream else {
            panic!()
        };
        assert_eq!(
            config::expand_vars(&urls[0], &a.vars),
            "http://up/aarch64/10.1/"
        );
    }

    /// Issue 8: a mirror given by --url gets $releasever_major too.
    #[test]
    fn ad_hoc_mirrors_get_every_variable() {
        let s = Settings::default();
        let specs = sync_specs(
            &s,
            &sync_args("x --url http://up/$releasever_major/ --releasever 9.4"),
        )
        .unwrap();
        let Upstream::Baseurl(urls) = &specs[0].upstream else {
            panic!()
        };
        assert_eq!(
            config::expand_vars(&urls[0], &specs[0].vars),
            "http://up/9/"
        );
    }

    #[test]
    fn url_is_refused_for_configured_mirrors_only() {
        let yaml =
            "mirrors:\n  - name: a\n    baseurl: http://up/\n  - name: imp\n    import: true\n";
        let (_d, s) = settings_with(yaml, &VarOpts::default());
        let s = s.unwrap();
        let err = sync_specs(&s, &sync_args("a --url http://other/")).unwrap_err();
        assert_eq!(err.code, super::super::exit::USAGE);
        assert!(err.message.contains("own upstream"), "{}", err.message);
        let specs = sync_specs(&s, &sync_args("imp --url http://other/")).unwrap();
        assert_eq!(
            specs[0].upstream,
            Upstream::Baseurl(vec!["http://other/".into()])
        );
        let all = sync_specs(&s, &sync_args("--all")).unwrap();
        assert_eq!(
            all.len(),
            1,
            "the import mirror has nothing to sync by itself"
        );
    }

    #[test]
    fn base_url_is_checked() {
        let tree = TreeOpts {
            base_url: Some("http://m/x\ny".into()),
            ..TreeOpts::default()
        };
        let err = Settings::resolve(&tree, &VarOpts::default()).unwrap_err();
        assert_eq!(err.code, super::super::exit::USAGE);
    }
}
