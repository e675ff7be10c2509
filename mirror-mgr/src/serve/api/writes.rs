//! The API's writes: each parses its body, calls one verb of
//! [`crate::ops`] on the blocking pool (the same function, locks and
//! consequences as the command line), and answers what it returned.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mirror_index::MirrorName;
use serde_json::Value;

use super::common::{ApiError, Body, bad, blocking, body, not_found, raw, shown, who, write};
use crate::channels::{self, Channel};
use crate::config::Upstream;
use crate::ops::{self, Done, OpError};
use crate::serve::state::AppState;
use crate::serve::state::St;
use crate::tokens::{Scope, Token};

/// A verb's answer: its value and what followed. A bucket that did not
/// follow is a 502 (the change is made here; the next publish catches up).
fn answer<T: serde::Serialize>(done: &Done<T>) -> Result<Value, ApiError> {
    let v = serde_json::to_value(done).unwrap_or_default();
    if let Some(e) = &done.after.publish_error {
        return Err(ApiError::from(OpError::new(
            ops::Kind::Bucket,
            format!("done here, but the bucket did not follow (the next publish will): {e}"),
        )));
    }
    Ok(v)
}

fn set_of(map: &BTreeMap<String, String>, st: &AppState) -> Result<channels::Set, ApiError> {
    channels::set_from_map(map, &st.s.base_url).map_err(|e| super::common::op_error(&e))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct VoteBody {
    set: BTreeMap<String, String>,
    job: String,
    result: String,
    url: Option<String>,
    notes: Option<String>,
}

pub(super) async fn vote(State(st): St, headers: HeaderMap, bytes: Body) -> Response {
    let request = format!("POST /api/v1/votes {}", shown(&bytes));
    write(
        st,
        &headers,
        Scope::Vote,
        request,
        StatusCode::CREATED,
        |st, token| async move {
            let b: VoteBody = body(&bytes)?;
            let pass = match b.result.as_str() {
                "pass" => true,
                "fail" => false,
                other => {
                    return Err(bad(format!(
                        "result must be \"pass\" or \"fail\", not {other:?}"
                    )));
                }
            };
            let set = set_of(&b.set, &st)?;
            let v = channels::Vote::new(&b.job, pass, b.url.as_deref(), b.notes.as_deref())
                .map_err(|e| super::common::op_error(&e))?;
            if !token.may_vote_as(&v.job) {
                return Err(ApiError(
                    StatusCode::FORBIDDEN,
                    format!(
                        "token {} may vote only as {}, not as job {:?}",
                        token.name,
                        token.jobs.as_deref().unwrap_or_default().join(", "),
                        v.job
                    ),
                ));
            }
            blocking(move || answer(&ops::vote(&st.ops(), &set, &v, &who(&token))?)).await
        },
    )
    .await
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PromoteBody {
    channel: String,
    set: Option<BTreeMap<String, String>>,
    mirror: Option<String>,
    snapshot: Option<String>,
    reason: Option<String>,
    /// What the promotion would record, with nothing moved.
    #[serde(default)]
    dry_run: bool,
}

pub(super) async fn promote(State(st): St, headers: HeaderMap, bytes: Body) -> Response {
    let request = format!("POST /api/v1/promote {}", shown(&bytes));
    write(
        st,
        &headers,
        Scope::Promote,
        request,
        StatusCode::OK,
        |st, token| async move {
            let b: PromoteBody = body(&bytes)?;
            let channel = Channel::new(&b.channel).map_err(|e| super::common::op_error(&e))?;
            let set = match (b.set, b.mirror, b.snapshot) {
                (Some(set), None, None) => set_of(&set, &st)?,
                (None, Some(m), Some(s)) => set_of(&BTreeMap::from([(m, s)]), &st)?,
                _ => {
                    return Err(bad(
                        "give {\"channel\", \"set\"} or {\"channel\", \"mirror\", \"snapshot\"}",
                    ));
                }
            };
            let reason = b
                .reason
                .unwrap_or_else(|| format!("promoted over the API by {}", token.name));
            if b.dry_run {
                return blocking(move || {
                    let record =
                        ops::promote_preview(&st.ops(), &channel, &set, &reason, &who(&token))?;
                    Ok(serde_json::json!({ "dry_run": true, "promotion": record }))
                })
                .await;
            }
            blocking(move || {
                answer(&ops::promote(
                    &st.ops(),
                    &channel,
                    &set,
                    &reason,
                    &who(&token),
                )?)
            })
            .await
        },
    )
    .await
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RollbackBody {
    to: Option<String>,
    channel: Option<String>,
}

pub(super) async fn rollback(
    State(st): St,
    headers: HeaderMap,
    UrlPath(name): UrlPath<String>,
    bytes: Body,
) -> Response {
    let request = format!("POST /api/v1/mirrors/{name}/rollback {}", shown(&bytes));
    write(
        st,
        &headers,
        Scope::Admin,
        request,
        StatusCode::OK,
        |st, token| async move {
            let b: RollbackBody = if raw(&bytes)?.is_empty() {
                RollbackBody::default()
            } else {
                body(&bytes)?
            };
            blocking(move || {
                let store = super::common::existing(&st, &name)?;
                if let Some(t) = &b.to {
                    super::common::snapshot_of(&store, t)?;
                }
                let ops = st.ops();
                match b.channel {
                    Some(ch) => {
                        let channel = Channel::new(&ch).map_err(|e| super::common::op_error(&e))?;
                        answer(&ops::channel_rollback(
                            &ops,
                            &channel,
                            &store.name,
                            b.to.as_deref(),
                            &who(&token),
                        )?)
                    }
                    None => answer(&ops::rollback(&ops, &store.name, b.to.as_deref())?),
                }
            })
            .await
        },
    )
    .await
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SyncBody {
    url: Option<String>,
    /// Publish to the config's bucket afterwards (as `sync --publish`).
    #[serde(default)]
    publish: bool,
}

pub(super) async fn sync(
    State(st): St,
    headers: HeaderMap,
    UrlPath(name): UrlPath<String>,
    bytes: Body,
) -> Response {
    let request = format!("POST /api/v1/mirrors/{name}/sync {}", shown(&bytes));
    write(
        st,
        &headers,
        Scope::Import,
        request,
        StatusCode::ACCEPTED,
        |st, token| async move { start_sync(&st, &token, &name, &bytes) },
    )
    .await
}

/// The spec to sync for `POST mirrors/{name}/sync`, then the job.
fn start_sync(
    st: &Arc<AppState>,
    token: &Token,
    name: &str,
    bytes: &Body,
) -> Result<Value, ApiError> {
    let b: SyncBody = if raw(bytes)?.is_empty() {
        SyncBody::default()
    } else {
        body(bytes)?
    };
    MirrorName::new(name).map_err(|e| bad(e.to_string()))?;
    let Some(defined) = st.s.config.mirror(name) else {
        return Err(not_found(format!(
            "mirror {name} is not in the server's config (only configured mirrors sync over the API)"
        )));
    };
    if b.publish && st.s.config.publish.is_none() {
        return Err(bad(
            "\"publish\": the server's config has no publish target",
        ));
    }
    let mut spec = defined.clone();
    match &b.url {
        Some(u) => {
            if !defined.import {
                return Err(bad(format!(
                    "mirror {name} has its own upstream; only `import: true` mirrors take a url"
                )));
            }
            let parsed = url::Url::parse(u).map_err(|e| bad(format!("url: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(bad(format!(
                    "url {} is not http(s): the server syncs only from the network",
                    mirror_http::redact(u)
                )));
            }
            spec = defined.with_caller_upstream(Upstream::Baseurl(vec![u.clone()]));
        }
        None if defined.upstream == Upstream::Import => {
            return Err(bad(format!(
                "mirror {name} is an import mirror: give its \"url\""
            )));
        }
        None => {}
    }
    // A sync over the API queues behind another process's lock.
    let ops = ops::Ops {
        wait: true,
        ..st.ops()
    };
    let (job, started) = st.jobs.start(crate::serve::jobs::Start {
        ops,
        settings: st.s.sync.clone(),
        spec,
        url: b.url.clone(),
        by: who(token),
        publish: b.publish,
    });
    let mut v = serde_json::to_value(job).unwrap_or_default();
    v["new"] = started.into();
    Ok(v)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LockQuery {
    /// How long gc keeps the lock's snapshots (default 90d).
    expires: Option<String>,
}

/// `POST /api/v1/locks[?expires=90d]`: the body is a lock file as it is
/// (YAML or JSON); the answer is its record, `id` first.
pub(super) async fn register_lock(
    State(st): St,
    axum::extract::Query(q): axum::extract::Query<LockQuery>,
    headers: HeaderMap,
    bytes: Body,
) -> Response {
    let request = format!(
        "POST /api/v1/locks ({} bytes)",
        bytes.as_ref().map_or(0, bytes::Bytes::len)
    );
    write(
        st,
        &headers,
        Scope::Vote,
        request,
        StatusCode::CREATED,
        |st, token| async move {
            let ttl = crate::lifecycle::parse_duration(q.expires.as_deref().unwrap_or("90d"))
                .map_err(|e| bad(format!("expires: {e}")))?;
            let text = std::str::from_utf8(raw(&bytes)?)
                .map_err(|_| bad("the lock is not UTF-8"))?
                .to_owned();
            blocking(move || {
                let done = ops::register_lock(&st.ops(), &text, ttl, &who(&token))?;
                Ok(serde_json::to_value(&done.value).unwrap_or_default())
            })
            .await
        },
    )
    .await
}
