//! Which upstream serves a sync: the mirror's upstream resolved to base
//! URLs (a mirrorlist or metalink fetched and parsed first), the first base
//! that serves a usable repomd.xml, and per-file failover to the others.

use url::Url;

use mirror_repodata::mirrorlist::{self, MirrorList};
use mirror_repodata::repomd;

use super::context::{SMALL_FILE_LIMIT, SyncError};
use crate::config::MirrorSpec;
use crate::fetch::{self, Expect, FetchError, Fetcher};
use crate::upstream::{self, Plan};
use mirror_index::error_chain;
use std::path::Path;

/// The base URLs to try for `spec`, in order, and the repomd.xml hashes a
/// metalink requires.
pub(super) async fn resolve(fetcher: &Fetcher, spec: &MirrorSpec) -> Result<MirrorList, SyncError> {
    let cfg_err = |message: String| SyncError::Config {
        mirror: spec.name.to_string(),
        message,
    };
    match upstream::plan(&spec.upstream, &spec.vars).map_err(cfg_err)? {
        Plan::Direct(r) => Ok(r),
        Plan::Fetch { url, .. } => {
            let body = fetcher.get(&url, SMALL_FILE_LIMIT).await?;
            mirrorlist::parse_list(&body, &url).map_err(cfg_err)
        }
    }
}

/// The upstream mirrors a sync may take files from, best first, and the
/// ones it passed over. A file that one mirror fails to serve (missing,
/// corrupt, refused connection) is tried at the next: every file is checked
/// against the metadata's checksum, so which mirror served it does not
/// matter. Only the last candidate retries transient errors; for the others
/// the next mirror is the retry.
pub(super) struct Upstreams {
    candidates: Vec<Url>,
    skipped: std::sync::Mutex<std::collections::BTreeMap<String, (String, u64)>>,
}

impl Upstreams {
    fn skip(&self, base: &Url, why: &dyn std::fmt::Display) {
        let mut s = self.skipped.lock().expect("not poisoned");
        s.entry(mirror_http::redact(base.as_str()))
            .or_insert_with(|| (why.to_string(), 0))
            .1 += 1;
    }

    /// "URL: first reason (N files)" for the report.
    pub(super) fn skipped_report(&self) -> Vec<String> {
        let s = self.skipped.lock().expect("not poisoned");
        s.iter()
            .map(|(url, (why, n))| {
                if *n > 1 {
                    format!("{url}: {why} ({n} times)")
                } else {
                    format!("{url}: {why}")
                }
            })
            .collect()
    }

    pub(super) fn primary(&self) -> &Url {
        &self.candidates[0]
    }

    /// Download `rel` into `dest` from the first candidate that serves it.
    pub(super) async fn download(
        &self,
        fetcher: &Fetcher,
        rel: &str,
        dest: &Path,
        expect: &Expect,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<(), SyncError> {
        let mut first_err: Option<FetchError> = None;
        for (i, base) in self.candidates.iter().enumerate() {
            let last = i + 1 == self.candidates.len();
            let url = fetch::join(base, rel).map_err(|e| SyncError::BadMetadata {
                url: mirror_http::redact(base.as_str()),
                message: format!("{rel}: {e}"),
            })?;
            let retries = if last { fetcher.options().retries } else { 0 };
            match fetcher
                .download_retrying(&url, dest, expect, progress, retries)
                .await
            {
                Ok(()) => return Ok(()),
                Err(e @ FetchError::Write { .. }) => return Err(e.into()),
                Err(e) => {
                    if !last {
                        self.skip(base, &e);
                    }
                    first_err.get_or_insert(e);
                }
            }
        }
        Err(first_err.expect("at least one candidate").into())
    }
}

/// Find the first base that serves a usable repomd.xml: reachable, matching
/// the metalink's hashes, and parseable (a captive portal's HTML page is
/// not). Returns the upstreams to download from (that base, then the ones
/// after it), the bytes and the parsed repomd.
///
/// A base whose repomd.xml is older than what the mirror published
/// (`older` says why, see [`super::decide::downgrade`]) is passed over for
/// the next; when no base serves a newer one, the first older one is
/// returned, and the decision holds latest.
pub(super) async fn fetch_repomd(
    fetcher: &Fetcher,
    spec: &MirrorSpec,
    resolved: &MirrorList,
    older: &(dyn Fn(&[u8]) -> Option<String> + Sync),
) -> Result<(Upstreams, bytes::Bytes), SyncError> {
    let mut fallback: Option<(usize, bytes::Bytes)> = None;
    let ups = Upstreams {
        candidates: Vec::new(),
        skipped: std::sync::Mutex::default(),
    };
    let mut errors = Vec::new();
    let n = resolved.bases.len();
    for (i, base) in resolved.bases.iter().enumerate() {
        if base.as_str().contains('$') {
            let why = "has an unexpanded yum variable (set it in the mirror's config)";
            errors.push(format!("{}: {why}", mirror_http::redact(base.as_str())));
            ups.skip(base, &why);
            continue;
        }
        let url = fetch::join(base, "repodata/repomd.xml").expect("constant path joins");
        let retries = if i + 1 == n {
            fetcher.options().retries
        } else {
            0
        };
        let why = match fetcher.get_retrying(&url, SMALL_FILE_LIMIT, retries).await {
            Ok(bytes) if !resolved.repomd_ok(&bytes) => {
                "repomd.xml does not match the metalink's checksums (stale mirror?)".to_owned()
            }
            Ok(bytes) => match repomd::parse(&bytes) {
                Ok(_)
                    if i + 1 < n
                        && let Some(why) = older(&bytes) =>
                {
                    fallback.get_or_insert((i, bytes));
                    format!("serves an older repomd.xml than this mirror published: {why}")
                }
                Ok(_) => {
                    return Ok((
                        Upstreams {
                            candidates: resolved.bases[i..].to_vec(),
                            skipped: ups.skipped,
                        },
                        bytes,
                    ));
                }
                Err(e) if n == 1 => {
                    return Err(SyncError::Repomd {
                        url: mirror_http::redact(url.as_str()),
                        source: e,
                    });
                }
                Err(e) => format!("unusable repomd.xml: {}", error_chain(&e)),
            },
            Err(e) if n == 1 => return Err(e.into()),
            Err(e) => error_chain(&e),
        };
        errors.push(format!("{}: {why}", mirror_http::redact(url.as_str())));
        ups.skip(base, &why);
    }
    if let Some((i, bytes)) = fallback {
        return Ok((
            Upstreams {
                candidates: resolved.bases[i..].to_vec(),
                skipped: ups.skipped,
            },
            bytes,
        ));
    }
    Err(SyncError::NoUpstream {
        mirror: spec.name.to_string(),
        errors,
    })
}
