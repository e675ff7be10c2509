//! What every verb shares: the settings a door resolved ([`Ops`]), what a
//! verb returns ([`Done`], [`After`]), and the consequences every verb
//! has (the index, the bucket).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mirror_index::MirrorName;

use super::error::{Kind, OpError};
use crate::config::Config;
use crate::index::IndexOutcome;
use crate::publish::{self, Bucket, PublishReport};

/// What every verb needs, resolved once by the door that runs it.
#[derive(Debug, Clone)]
pub struct Ops {
    pub root: PathBuf,
    /// The URL the tree is served under; without it no index is written
    /// (the verbs that need one say so).
    pub base_url: Option<String>,
    pub config: Arc<Config>,
    /// Wait for another process's mirror lock instead of failing.
    pub wait: bool,
    /// Post the webhooks a verb queued before returning, for at most this
    /// long (the command line: its process ends after); `None`: a
    /// deliverer of the process's own does it (`serve`).
    pub deliver_within: Option<std::time::Duration>,
}

/// A verb's result and what followed from it.
#[derive(Debug, serde::Serialize)]
pub struct Done<T> {
    #[serde(flatten)]
    pub value: T,
    #[serde(flatten)]
    pub after: After,
}

/// The consequences of a verb: the index written, the bucket followed.
#[derive(Debug, Default, serde::Serialize)]
pub struct After {
    /// The index: mirrors in it, warnings, broken pointers (kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<IndexSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_error: Option<String>,
    /// The bucket's reports, when the config has a `publish:` target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<Vec<PublishReport>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish_error: Option<String>,
    /// Where it was published (`s3://bucket/prefix`).
    #[serde(skip)]
    pub target: Option<String>,
    #[serde(skip)]
    pub failure: Option<Kind>,
    /// Webhook deliveries made before the verb returned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhooks: Option<crate::webhooks::deliver::Pass>,
    /// What was not done and why (no base URL: no index).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, serde::Serialize)]
pub struct IndexSummary {
    pub mirrors: usize,
    pub skipped: Vec<String>,
    pub errors: Vec<String>,
}

impl After {
    /// The worst consequence that failed, if any.
    pub fn failure(&self) -> Option<Kind> {
        self.failure
    }

    fn fail(&mut self, kind: Kind) {
        // Keep the first failure: it is the one that stopped the rest.
        self.failure.get_or_insert(kind);
    }
}

/// Which consequences a verb has.
#[derive(Clone, Copy)]
pub(crate) struct Follow {
    /// Rewrite the root index and status pages.
    pub index: bool,
    /// Make the bucket follow (when configured).
    pub bucket: bool,
}

impl Ops {
    pub(crate) fn base_url(&self, why: &str) -> Result<&str, OpError> {
        self.base_url.as_deref().ok_or_else(|| {
            OpError::usage(format!(
                "no base URL: pass --base-url URL, set {}, or set base_url in the config ({why})",
                crate::env_vars::BASE_URL
            ))
        })
    }

    /// Rewrite the index, then make the bucket follow `moved`.
    pub(crate) fn follow(&self, moved: &[MirrorName], what: Follow) -> After {
        let mut after = After::default();
        if what.index {
            match self.base_url.as_deref() {
                Some(base) => match write_index(self, base) {
                    Ok(o) => {
                        if !o.errors.is_empty() {
                            after.fail(Kind::Damaged);
                        }
                        after.index = Some(IndexSummary {
                            mirrors: o.map.len(),
                            skipped: o.skipped,
                            errors: o.errors,
                        });
                    }
                    Err(e) => {
                        after.fail(e.kind);
                        after.index_error = Some(e.message);
                    }
                },
                None => after.warnings.push(
                    "no base URL: the index, all_snapshots.json and the status pages were not rewritten; run `mirror-mgr index`"
                        .to_owned(),
                ),
            }
        }
        if what.bucket && self.config.publish.is_some() && !moved.is_empty() {
            match follow_bucket(&self.config, &self.root, moved) {
                Ok(Some((target, reports))) => {
                    after.target = Some(target);
                    after.published = Some(reports);
                }
                Ok(None) => {}
                Err(e) => {
                    after.fail(e.kind);
                    after.publish_error = Some(e.message);
                }
            }
        }
        after
    }
}

impl Ops {
    /// Queue `events` for the config's webhooks, then (on the command
    /// line) post what is due within `deliver_within`. Never fails the
    /// verb: a problem is a warning, a delivery that fails is retried later.
    pub(crate) fn emit(&self, events: &[crate::webhooks::Event], after: &mut After) {
        if self.config.webhooks.is_empty() || events.is_empty() {
            return;
        }
        if let Err(e) = crate::webhooks::enqueue(&self.root, &self.config, events) {
            after
                .warnings
                .push(format!("webhooks: cannot queue the events: {e}"));
            return;
        }
        if let Some(within) = self.deliver_within {
            let deadline = std::time::Instant::now() + within;
            if let Ok(pass) = on_own_runtime(|| {
                Box::pin(crate::webhooks::deliver(
                    &self.root,
                    &self.config,
                    Some(deadline),
                ))
            }) {
                after.webhooks = Some(pass);
            }
        }
    }
}

pub(super) fn write_index(ops: &Ops, base: &str) -> Result<IndexOutcome, OpError> {
    crate::index::write_index_with(&ops.root, base, &|m| ops.config.health_of(m))
        .map_err(|e| OpError::of(&e))
}

/// Run `f` on a thread of its own with its own runtime: the verbs are
/// called from plain threads, the command line's main thread and inside
/// the API's runtime alike, and a runtime cannot start inside another.
pub fn on_own_runtime<'a, T: Send>(
    f: impl FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + 'a>> + Send,
) -> Result<T, OpError> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| {
                        OpError::new(Kind::Internal, format!("cannot start a runtime: {e}"))
                    })?;
                Ok(rt.block_on(f()))
            })
            .join()
            .map_err(|_| OpError::new(Kind::Internal, "the worker thread panicked"))?
    })
}

/// Make the config's bucket follow what changed locally for `mirrors`
/// (snapshots, pointers, index, snapshots removed). `Ok(None)` when the
/// config has no `publish:` target.
pub(super) fn follow_bucket(
    config: &Config,
    root: &Path,
    mirrors: &[MirrorName],
) -> Result<Option<(String, Vec<PublishReport>)>, OpError> {
    let Some(spec) = &config.publish else {
        return Ok(None);
    };
    if mirrors.is_empty() {
        return Ok(None);
    }
    let bucket = Bucket::open(spec).map_err(|e| OpError::of(&e))?;
    // The pool layout re-signs each snapshot's repomd.xml with its mirror's key.
    let keys: publish::Keys = config
        .mirrors
        .iter()
        .filter_map(|m| Some((m.name.to_string(), m.sign.clone()?)))
        .collect();
    let reports = on_own_runtime(|| Box::pin(publish::publish(&bucket, root, mirrors, &keys)))?
        .map_err(|e| {
            let mut err = OpError::of(&e);
            err.message = format!("publish to {}: {}", bucket.shown, err.message);
            err
        })?;
    Ok(Some((bucket.shown.clone(), reports)))
}
