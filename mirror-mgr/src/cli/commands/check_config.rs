//! `mirror-mgr check-config` (and `mirrors`): load the configuration, say
//! what is wrong with it, and list the mirrors it defines with their
//! upstreams resolved (yum variables expanded). Touches nothing.

use crate::cli::args::TreeOpts;
use crate::cli::exit::{Failure, OK};
use crate::cli::output::Output;
use crate::cli::settings::Settings;
use crate::config::{self, Upstream};

/// `check-config`: like `mirrors`, and an error when there is nothing to check.
pub fn run(tree: &TreeOpts, s: &Settings, out: Output) -> Result<u8, Failure> {
    if tree.config.is_none() && tree.repo_config.is_none() {
        return Err(Failure::usage(
            "check-config: pass --config FILE and/or --repo-config FILE",
        ));
    }
    list(s, out);
    // Vote tokens that could satisfy a policy alone (the root's tokens file).
    let mut token_warnings = 0;
    if let Ok(root) = s.root() {
        let path = root.join(crate::tokens::DEFAULT_FILE);
        if let Ok(tokens) = crate::tokens::Tokens::load(&path) {
            for w in crate::tokens::policy_warnings(&tokens, &s.config.channels) {
                eprintln!("warning: {}: {w}", path.display());
                token_warnings += 1;
            }
        }
    }
    if !out.json {
        eprintln!(
            "configuration ok: {} mirrors{}",
            s.config.mirrors.len(),
            if s.warnings.len() + token_warnings == 0 {
                String::new()
            } else {
                format!(", {} warnings", s.warnings.len() + token_warnings)
            }
        );
    }
    Ok(OK)
}

/// `mirrors`: the mirrors the configuration defines.
pub fn list(s: &Settings, out: Output) -> u8 {
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
            let urls: Vec<String> = urls
                .iter()
                .map(|u| mirror_http::redact(&config::expand_vars(u, &m.vars)))
                .collect();
            serde_json::json!({
                "name": m.name.as_str(),
                "enabled": m.enabled,
                "kind": kind,
                "upstream": urls,
                "signatures": {
                    "repo": m.trust.repo_gpgcheck,
                    "packages": m.trust.pkg_gpgcheck,
                    "keys": m.trust.gpgkeys,
                    "fingerprints": m.trust.fingerprints,
                },
                "filter": m.filter.is_active().then(|| m.filter.fingerprint()),
                "sign_key": m.sign.as_ref().map(|k| k.key.display().to_string()),
                "schedule": m.schedule.as_ref().map(crate::schedule::Schedule::as_str),
            })
        })
        .collect();
    if out.json {
        out.json(&rows);
        return OK;
    }
    for r in &rows {
        let urls: Vec<&str> = r["upstream"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .collect();
        out.data(format!(
            "{:<32} {:<10} {}{}{}{}",
            r["name"].as_str().unwrap_or(""),
            r["kind"].as_str().unwrap_or(""),
            urls.join(" "),
            if r["enabled"] == false {
                "  (disabled)"
            } else {
                ""
            },
            r["filter"]
                .as_str()
                .map(|f| format!("  (filter: {f})"))
                .unwrap_or_default(),
            r["schedule"]
                .as_str()
                .map(|s| format!("  (schedule: {s})"))
                .unwrap_or_default()
        ));
    }
    OK
}
