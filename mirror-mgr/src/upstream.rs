//! Where a mirror's sync starts: its configured upstream (baseurl list,
//! mirrorlist or metalink), with yum variables expanded, becomes either the
//! base URLs to try or the list URL to fetch first (parsed by
//! [`mirror_repodata::mirrorlist`]).

use url::Url;

use mirror_repodata::mirrorlist::{MirrorList, parse_base_url};

use crate::config::vars::expand_vars;

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

/// The URL to fetch for a mirrorlist/metalink upstream, or the base URLs directly.
pub enum Plan {
    Direct(MirrorList),
    Fetch { url: Url },
}

pub fn plan(
    upstream: &Upstream,
    vars: &std::collections::BTreeMap<String, String>,
) -> Result<Plan, String> {
    let expand = |s: &str| expand_vars(s, vars);
    Ok(match upstream {
        Upstream::Baseurl(urls) => Plan::Direct(MirrorList {
            bases: urls
                .iter()
                .map(|u| parse_base_url(&expand(u)))
                .collect::<Result<_, _>>()?,
            repomd_hashes: Vec::new(),
        }),
        Upstream::Mirrorlist(u) | Upstream::Metalink(u) => Plan::Fetch {
            url: parse_base_url(&expand(u))?,
        },
        Upstream::Import => {
            return Err(
                "an import mirror has no upstream of its own: sync it with --url URL".into(),
            );
        }
    })
}

/// The hosts of a mirror's own upstream (its baseurls, or its mirrorlist or
/// metalink URL): the only hosts basic-auth credentials are sent to.
pub fn own_hosts(
    upstream: &Upstream,
    vars: &std::collections::BTreeMap<String, String>,
) -> Vec<String> {
    let urls: Vec<&String> = match upstream {
        Upstream::Baseurl(u) => u.iter().collect(),
        Upstream::Mirrorlist(u) | Upstream::Metalink(u) => vec![u],
        Upstream::Import => Vec::new(),
    };
    urls.into_iter()
        .filter_map(|u| parse_base_url(&expand_vars(u, vars)).ok())
        .filter_map(|u| u.host_str().map(str::to_owned))
        .collect()
}
