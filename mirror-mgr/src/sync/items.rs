//! The list of files a snapshot must hold, built from the primary (and the
//! extra files the repository lists) in constant memory per package, and
//! linked into a build.

use std::collections::HashSet;
use std::path::Path;

use url::Url;

use mirror_repodata::checksum::Checksum;
use mirror_repodata::primary::Package;
use mirror_repodata::repo::RepoDir;

use super::context::SyncError;
use crate::config::XmlBasePolicy;
use crate::fetch;
use crate::store::{IoContext, Store};

/// The part of a package a sync keeps in memory (about 150 bytes each).
#[derive(Debug, Clone)]
pub(super) struct Item {
    pub href: String,
    pub checksum: Checksum,
    /// Unknown only for installer-tree files (`.treeinfo` gives no sizes).
    pub size: Option<u64>,
    /// Index into the list of `xml:base` URLs when upstream gave one (and
    /// `xml_base: follow`); otherwise the package comes from the mirror's base URL.
    pub location_base: Option<u32>,
    pub from_base: bool,
}

/// Stream the primary into the compact item list (sorted by href), refusing
/// duplicates that disagree. Also returns the distinct `xml:base` URLs items
/// refer to.
pub(super) fn read_items(
    repo: &RepoDir,
    url: &Url,
    policy: XmlBasePolicy,
    allowed_hosts: &[String],
    extras: Vec<mirror_repodata::content::Listed>,
) -> Result<(Vec<Item>, Vec<Url>, u64), SyncError> {
    let mut items: Vec<Item> = Vec::new();
    let mut bases: Vec<Url> = Vec::new();
    let bad = |message: String| SyncError::BadMetadata {
        url: mirror_http::redact(url.as_str()),
        message,
    };
    let res = repo.for_each_package(|p: Package| -> Result<(), SyncError> {
        let href = p.href.as_str().to_owned();
        let location_base = match (&p.location_base, policy) {
            (None, _) => None,
            (Some(b), XmlBasePolicy::Follow) => {
                let b = fetch::parse_base_url(b).map_err(|e| bad(format!("{href}: xml:base: {e}")))?;
                // Only the network, and only hosts the operator allowed: a
                // file:// base would publish the mirror host's own files.
                if !matches!(b.scheme(), "http" | "https") {
                    return Err(bad(format!(
                        "{href}: xml:base {b} is not an http(s) URL; only http(s) bases are followed"
                    )));
                }
                let host = b.host_str().unwrap_or("");
                if !allowed_hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
                    return Err(bad(format!(
                        "{href}: xml:base host {host:?} is not allowed (the upstream's own host is; add others with xml_base_hosts or --xml-base-host)"
                    )));
                }
                let i = bases.iter().position(|x| *x == b).unwrap_or_else(|| {
                    bases.push(b);
                    bases.len() - 1
                });
                Some(u32::try_from(i).map_err(|_| bad("too many distinct xml:base URLs".into()))?)
            }
            (Some(b), XmlBasePolicy::Error) => {
                return Err(bad(format!(
                    "{} ({href}) has xml:base={b:?}: the snapshot would depend on another host; set `xml_base: follow` for this mirror to download from there",
                    p.nevra()
                )));
            }
        };
        items.push(Item {
            href,
            checksum: p.checksum,
            size: Some(p.size),
            location_base,
            from_base: false,
        });
        Ok(())
    })
    .map_err(|source| SyncError::Repo {
        url: mirror_http::redact(url.as_str()),
        source,
    })?;
    res?;
    sort_dedup(&mut items).map_err(&bad)?;
    let packages = items.len() as u64;
    if !extras.is_empty() {
        items.extend(extras.into_iter().map(|l| Item {
            href: l.href.as_str().to_owned(),
            checksum: l.checksum,
            size: l.size,
            location_base: None,
            from_base: false,
        }));
        sort_dedup(&mut items).map_err(&bad)?;
    }
    items.shrink_to_fit();
    Ok((items, bases, packages))
}

/// Sort by href and drop repeats. The same file listed twice is harmless;
/// two different files claiming one path are not. Sorting (rather than a
/// map of hrefs) keeps memory at one copy of each href.
fn sort_dedup(items: &mut Vec<Item>) -> Result<(), String> {
    items.sort_unstable_by(|a, b| a.href.cmp(&b.href));
    let mut conflict = None;
    items.dedup_by(|later, first| {
        if later.href != first.href {
            return false;
        }
        if (later.checksum != first.checksum || later.size != first.size) && conflict.is_none() {
            conflict = Some(format!(
                "{} is listed twice with different checksums or sizes ({} and {})",
                first.href, first.checksum, later.checksum
            ));
        }
        true
    });
    conflict.map_or(Ok(()), Err)
}

pub(super) fn link_build(store: &Store, build: &Path, items: &[Item]) -> Result<(), SyncError> {
    let base = store.base();
    let mut made = HashSet::new();
    for item in items {
        let dst = build.join(&item.href);
        let src = if item.from_base {
            base.join(&item.href)
        } else {
            store.object_path(&item.checksum)
        };
        crate::store::ensure_parent(&dst, &mut made)?;
        std::fs::hard_link(&src, &dst).at(&dst)?;
    }
    Ok(())
}
