//! Mirror definitions: from a YAML config (`--config`) or from a yum
//! `.repo`-style file (`--repo-config`, section id = mirror name), the way
//! operators already keep their upstream lists.
//!
//! Loading never ignores anything silently: options that this version does
//! not honour come back as [`Warning`]s for the binary to print, grouped by
//! option.

mod options;
mod repo_file;
pub(crate) mod spec;
pub(crate) mod vars;
mod yaml;
mod yaml_webhooks;

pub use crate::upstream::Upstream;
pub use repo_file::load_repo_file;
pub use spec::{
    BucketLayout, Config, ConfigError, HealthPolicy, MirrorSpec, S3Spec, TrustSpec, WebhookSpec,
    XmlBasePolicy,
};
pub use vars::{default_vars, expand_vars, set_vars};
pub use yaml::load_yaml;

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::access::{ProxySpec, SecretSource};

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
            "root: /srv/m\nbase_url: http://m/yum\nmirrors:\n  - name: a-el7\n    upstream: http://u/$releasever/$basearch/\n    releasever: 7\n    exclude: foo*\n    throttle: 1M\n    minrate: 1k\n  - name: b\n    mirrorlist: http://ml/?r=1\n  - name: c\n    baseurl: [http://x/, http://y/]\n",
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
            cfg.warnings[0].message.contains("`minrate`")
                && cfg.warnings[0].message.contains("a-el7")
        );
        // dnf's throttle is honoured (issue 26): 1M is 1 MiB/s.
        assert_eq!(a.throttle, Some(1 << 20));
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

    /// One reading of a mirror's settings for both formats: the health
    /// thresholds mean the same in YAML and in a `.repo` file.
    #[test]
    fn health_keys_in_both_formats() {
        let (_d, p) = write(
            "[a-el9]\nbaseurl=http://m/\nstale_after=2d\nfailing_after=1\n",
            "m.conf",
        );
        let repo = load_repo_file(&p, None, None).unwrap();
        assert!(repo.warnings.is_empty(), "{:?}", repo.warnings);
        let (_d, p) = write(
            "mirrors:\n  - name: a-el9\n    baseurl: http://m/\n    stale_after: 2d\n    failing_after: 1\n",
            "m.yaml",
        );
        let yaml = load_yaml(&p).unwrap();
        assert_eq!(repo.mirrors[0].health, yaml.mirrors[0].health);
        assert_eq!(
            repo.mirrors[0].health,
            HealthPolicy {
                stale_after_secs: 2 * 86_400,
                failing_after: 1
            }
        );
        let (_d, p) = write("[a-el9]\nbaseurl=http://m/\nfailing_after=x\n", "m.conf");
        let err = load_repo_file(&p, None, None).unwrap_err().to_string();
        assert!(err.contains("failing_after=x"), "{err}");
    }

    /// Every boolean key reads alike in both formats, and a value dnf would
    /// not take is an error naming the key (never silently false).
    #[test]
    fn boolean_keys_in_both_formats() {
        for (value, want) in [("1", true), ("on", true), ("no", false), ("false", false)] {
            let (_d, p) = write(
                &format!(
                    "[a-el9]\nbaseurl=http://m/\ngpgkey=/k\ngpgcheck={value}\nrepo_gpgcheck={value}\nsslverify={value}\n"
                ),
                "m.conf",
            );
            let repo = load_repo_file(&p, None, None).unwrap();
            let (_d, p) = write(
                &format!(
                    "mirrors:\n  - name: a-el9\n    baseurl: http://m/\n    gpgkey: /k\n    gpgcheck: {value}\n    repo_gpgcheck: {value}\n    sslverify: {value}\n"
                ),
                "m.yaml",
            );
            let yaml = load_yaml(&p).unwrap();
            let (r, y) = (&repo.mirrors[0], &yaml.mirrors[0]);
            assert_eq!(r.trust, y.trust, "{value}");
            assert_eq!(r.access.sslverify, y.access.sslverify, "{value}");
            assert_eq!(
                (r.trust.pkg_gpgcheck, r.access.sslverify),
                (want, want),
                "{value}"
            );
        }
        for (text, name, needle) in [
            (
                "[a-el9]\nbaseurl=http://m/\ngpgcheck=maybe\n",
                "m.conf",
                "gpgcheck=maybe",
            ),
            (
                "mirrors:\n  - name: a-el9\n    baseurl: http://m/\n    repo_gpgcheck: maybe\n",
                "m.yaml",
                "repo_gpgcheck=maybe",
            ),
        ] {
            let (_d, p) = write(text, name);
            let err = if name == "m.conf" {
                load_repo_file(&p, None, None).unwrap_err().to_string()
            } else {
                load_yaml(&p).unwrap_err().to_string()
            };
            assert!(err.contains(name) && err.contains(needle), "{err}");
        }
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
        assert_eq!(s3.layout, BucketLayout::Tree, "tree is the default layout");
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
                "access_key_env: A\n    secret_key_env: S\n    layout: cubes",
                "layout \"cubes\": give tree or pool",
            ),
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
