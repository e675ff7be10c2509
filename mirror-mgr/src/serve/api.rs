//! The JSON API under `/api/v1/`. Reads are open unless `--protect-reads`;
//! writes need `Authorization: Bearer <token>` with the right scope (401
//! without a valid token, 403 without the scope) and are recorded in the
//! audit log. Bad input is a 4xx JSON `{"error": ...}` naming what is
//! wrong, and changes nothing. Every write goes through the library
//! functions the command line uses, on the blocking pool, with their locks.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use mirror_index::{MirrorName, SnapshotName};
use serde_json::{Value, json};

use super::{AppState, St};
use crate::channels::{self, Channel, ChannelError};
use crate::config::Upstream;
use crate::lifecycle::LifecycleError;
use crate::store::Store;
use crate::tokens::{Scope, Token, Tokens};

/// Largest request body accepted.
pub const MAX_BODY: usize = 1 << 20;

/// An API failure: a status and a message.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

fn bad(m: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, m.into())
}

fn not_found(m: impl Into<String>) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, m.into())
}

fn internal(e: &(dyn std::error::Error + 'static)) -> ApiError {
    ApiError(
        StatusCode::INTERNAL_SERVER_ERROR,
        mirror_index::error_chain(e),
    )
}

fn channel_error(e: &ChannelError) -> ApiError {
    let code = match e {
        ChannelError::BadName(_)
        | ChannelError::Latest
        | ChannelError::Set(_)
        | ChannelError::BadVote(_)
        | ChannelError::BadReason(_) => StatusCode::BAD_REQUEST,
        ChannelError::NoSnapshot { .. } | ChannelError::NotOnChannel { .. } => {
            StatusCode::NOT_FOUND
        }
        ChannelError::Damaged { .. }
        | ChannelError::NothingOlder { .. }
        | ChannelError::Store(crate::store::StoreError::Locked { .. }) => StatusCode::CONFLICT,
        ChannelError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    ApiError(code, mirror_index::error_chain(e))
}

fn lifecycle_error(e: &LifecycleError) -> ApiError {
    let code = match e {
        LifecycleError::NoMirror { .. } | LifecycleError::NoSuchSnapshot { .. } => {
            StatusCode::NOT_FOUND
        }
        LifecycleError::NothingOlder { .. }
        | LifecycleError::NoLatest { .. }
        | LifecycleError::Damaged { .. }
        | LifecycleError::Store(crate::store::StoreError::Locked { .. }) => StatusCode::CONFLICT,
        LifecycleError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    ApiError(code, mirror_index::error_chain(e))
}

/// Check the request's token: `scope` for a write, any valid token for a
/// read when reads are protected. Returns the token (`None` for an open read).
pub(crate) fn authorize(
    st: &AppState,
    headers: &HeaderMap,
    scope: Option<Scope>,
) -> Result<Option<Token>, ApiError> {
    if scope.is_none() && !st.s.protect_reads {
        return Ok(None);
    }
    let unauthorized = |m: &str| ApiError(StatusCode::UNAUTHORIZED, m.to_owned());
    let Some(given) = super::bearer(headers) else {
        return Err(unauthorized(
            "this needs a token: send `Authorization: Bearer <token>`",
        ));
    };
    let tokens = Tokens::load(&st.s.tokens).map_err(|e| internal(&e))?;
    let Some(token) = tokens.check(given).cloned() else {
        return Err(unauthorized("the token is not valid (unknown or revoked)"));
    };
    if let Some(scope) = scope
        && !token.allows(scope)
    {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            format!("token {} lacks the {scope} scope", token.name),
        ));
    }
    Ok(Some(token))
}

/// Append one line to the audit log (time, token, request, result).
fn audit(st: &AppState, token: &str, request: &str, result: &Result<Value, ApiError>) {
    match result {
        Ok(v) => st.audit.accepted(token, request, 200, v),
        Err(e) => st
            .audit
            .accepted(token, request, e.0.as_u16(), &json!({"error": e.1})),
    }
}

/// The body as read, or why it could not be (too large, cut off).
type Body = Result<Bytes, BytesRejection>;

fn raw(b: &Body) -> Result<&Bytes, ApiError> {
    b.as_ref().map_err(|e| {
        let code = e.status();
        if code == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError(code, format!("the body is over {MAX_BODY} bytes"))
        } else {
            ApiError(code, e.body_text())
        }
    })
}

/// What the audit log shows of a request body (bounded).
fn shown(b: &Body) -> String {
    b.as_ref().map_or_else(
        |_| "(unreadable body)".to_owned(),
        |b| mirror_http::redact(&String::from_utf8_lossy(&b[..b.len().min(2048)])),
    )
}

/// After a verb moved pointers of `mirrors`: the config's bucket follows,
/// as it does for the same verb on the command line ([`crate::ops`]). The
/// answer says what was published; a bucket that cannot follow is a 502
/// (the change is made here, the bucket is behind until the next publish).
async fn follow_bucket(
    st: &Arc<AppState>,
    mirrors: &[MirrorName],
    mut v: Value,
) -> Result<Value, ApiError> {
    if st.s.config.publish.is_none() || mirrors.is_empty() {
        return Ok(v);
    }
    // A thread of its own: the publish runs on its own runtime, which
    // tokio does not allow inside this one (not even on the blocking pool).
    let (st, mirrors) = (Arc::clone(st), mirrors.to_vec());
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(crate::ops::follow_bucket_blocking(
            &st.s.config,
            &st.s.root,
            &mirrors,
        ));
    });
    let followed = rx.await.map_err(|e| {
        ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("publishing stopped: {e}"),
        )
    })?;
    match followed {
        Ok(Some((_, reports))) => {
            v["published"] = serde_json::to_value(reports).unwrap_or_default();
            Ok(v)
        }
        Ok(None) => Ok(v),
        Err(e) => Err(ApiError(
            StatusCode::BAD_GATEWAY,
            format!(
                "done here, but the bucket did not follow (the next publish will): {}",
                mirror_index::error_chain(&e)
            ),
        )),
    }
}

/// The mirrors a promotion record (JSON) moved.
fn moved_by(record: &Value) -> Vec<MirrorName> {
    record["set"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.keys())
        .filter_map(|k| MirrorName::new(k).ok())
        .collect()
}

/// How promotions, votes and jobs name the token that asked.
fn who(token: &Token) -> String {
    format!("token:{}", token.name)
}

/// A JSON body, at most [`MAX_BODY`] bytes.
fn body<T: serde::de::DeserializeOwned>(b: &Body) -> Result<T, ApiError> {
    let bytes = raw(b)?;
    if bytes.len() > MAX_BODY {
        return Err(ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over {MAX_BODY} bytes"),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| bad(format!("malformed JSON body: {e}")))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
}

/// A write: authorize, run, audit, answer.
async fn write<F, Fut>(
    st: Arc<AppState>,
    headers: &HeaderMap,
    scope: Scope,
    request: String,
    ok: StatusCode,
    f: F,
) -> Response
where
    F: FnOnce(Arc<AppState>, Token) -> Fut,
    Fut: std::future::Future<Output = Result<Value, ApiError>>,
{
    let token = match authorize(&st, headers, Some(scope)) {
        Ok(Some(t)) => t,
        Ok(None) => unreachable!("a scope always needs a token"),
        Err(e) => {
            // Refused writes are recorded too, under the name the token has, if any.
            let who = super::bearer(headers)
                .and_then(|b| {
                    Tokens::load(&st.s.tokens)
                        .ok()?
                        .check(b)
                        .map(|t| t.name.clone())
                })
                .unwrap_or_else(|| "(no valid token)".into());
            st.audit.refused(&who, &request, e.0.as_u16());
            return e.into_response();
        }
    };
    let result = f(Arc::clone(&st), token.clone()).await;
    audit(&st, &token.name, &request, &result);
    match result {
        Ok(v) => (ok, Json(v)).into_response(),
        Err(e) => e.into_response(),
    }
}

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/mirrors", get(mirrors))
        .route("/api/v1/mirrors/{name}", get(mirror))
        .route("/api/v1/mirrors/{name}/snapshots", get(snapshots))
        .route("/api/v1/mirrors/{name}/diff", get(diff))
        .route("/api/v1/mirrors/{name}/rollback", post(rollback))
        .route("/api/v1/mirrors/{name}/sync", post(sync))
        .route("/api/v1/votes", get(votes).post(vote))
        .route("/api/v1/promote", post(promote))
        .route("/api/v1/channels", get(channel_list))
        .route("/api/v1/jobs/{id}", get(job))
        .route("/api/{*rest}", any(unknown))
        .route("/api", any(unknown))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
}

async fn unknown() -> ApiError {
    not_found("no such API route (see /api/v1/mirrors, /votes, /promote, /channels, /jobs)")
}

/// An existing mirror directory's store.
fn existing(st: &AppState, name: &str) -> Result<Store, ApiError> {
    let m = MirrorName::new(name).map_err(|e| bad(e.to_string()))?;
    let store = Store::new(&st.s.root, m);
    if !store.dir.is_dir() {
        return Err(not_found(format!("no mirror {name}")));
    }
    Ok(store)
}

fn snapshot_of(store: &Store, name: &str) -> Result<SnapshotName, ApiError> {
    SnapshotName::parse(name)
        .ok()
        .filter(|s| store.snapshot_dir(s).is_dir())
        .ok_or_else(|| not_found(format!("mirror {} has no snapshot {name}", store.name)))
}

fn status_of(st: &AppState, store: &Store) -> Result<Value, ApiError> {
    let policy =
        st.s.config
            .mirror(store.name.as_str())
            .map(|m| m.health)
            .unwrap_or_default();
    let status = crate::history::mirror_status(store, policy, jiff::Timestamp::now().as_second())
        .map_err(|e| internal(&e))?;
    let mut v = serde_json::to_value(status).unwrap_or_default();
    v["channels"] =
        serde_json::to_value(channels::pointers_of(&store.dir).map_err(|e| internal(&e))?)
            .unwrap_or_default();
    Ok(v)
}

async fn mirrors(State(st): St, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    authorize(&st, &headers, None)?;
    blocking(move || {
        let mut out = Vec::new();
        let mut dirs: Vec<_> = std::fs::read_dir(&st.s.root)
            .map_err(|e| internal(&e))?
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| MirrorName::new(&e.file_name().to_string_lossy()).ok())
            .collect();
        dirs.sort();
        for m in dirs {
            out.push(status_of(&st, &Store::new(&st.s.root, m))?);
        }
        Ok(Json(Value::Array(out)))
    })
    .await
}

async fn mirror(
    State(st): St,
    headers: HeaderMap,
    UrlPath(name): UrlPath<String>,
) -> Result<Json<Value>, ApiError> {
    authorize(&st, &headers, None)?;
    blocking(move || {
        let store = existing(&st, &name)?;
        let mut v = status_of(&st, &store)?;
        v["snapshot_list"] = snapshot_list(&st, &store)?;
        Ok(Json(v))
    })
    .await
}

fn snapshot_list(st: &AppState, store: &Store) -> Result<Value, ApiError> {
    let latest = store.latest().ok().flatten();
    let list: Vec<Value> = store
        .snapshots()
        .map_err(|e| internal(&e))?
        .iter()
        .map(|s| {
            json!({
                "name": s.as_str(),
                "url": mirror_index::all_latest::snapshot_url(&st.s.base_url, &store.name, s),
                "latest": latest.as_ref() == Some(s),
                "channels": channels::channels_at(&store.dir, s),
            })
        })
        .collect();
    Ok(Value::Array(list))
}

async fn snapshots(
    State(st): St,
    headers: HeaderMap,
    UrlPath(name): UrlPath<String>,
) -> Result<Json<Value>, ApiError> {
    authorize(&st, &headers, None)?;
    blocking(move || {
        let store = existing(&st, &name)?;
        Ok(Json(snapshot_list(&st, &store)?))
    })
    .await
}

#[derive(serde::Deserialize)]
struct DiffQuery {
    from: Option<String>,
    to: Option<String>,
}

async fn diff(
    State(st): St,
    headers: HeaderMap,
    UrlPath(name): UrlPath<String>,
    Query(q): Query<DiffQuery>,
) -> Result<Json<Value>, ApiError> {
    authorize(&st, &headers, None)?;
    let (Some(from), Some(to)) = (q.from, q.to) else {
        return Err(bad("give ?from=SNAPSHOT&to=SNAPSHOT (or latest)"));
    };
    blocking(move || {
        let store = existing(&st, &name)?;
        let side = |which: &str| -> Result<std::path::PathBuf, ApiError> {
            if which == "latest" {
                let l = store
                    .latest()
                    .map_err(|e| internal(&e))?
                    .ok_or_else(|| not_found(format!("mirror {name} has no latest snapshot")))?;
                return Ok(store.snapshot_dir(&l));
            }
            Ok(store.snapshot_dir(&snapshot_of(&store, which)?))
        };
        let (a, b) = (side(&from)?, side(&to)?);
        let read = |d: &std::path::Path| crate::diff::read_index(d).map_err(|e| internal(&e));
        let d = crate::diff::diff(&read(&a)?, &read(&b)?);
        Ok(Json(serde_json::to_value(d).unwrap_or_default()))
    })
    .await
}

#[derive(serde::Deserialize)]
struct VotesQuery {
    set: Option<String>,
}

async fn votes(
    State(st): St,
    headers: HeaderMap,
    Query(q): Query<VotesQuery>,
) -> Result<Json<Value>, ApiError> {
    authorize(&st, &headers, None)?;
    let Some(id) = q.set else {
        return Err(bad("give ?set=SET_ID (as POST /api/v1/votes returns it)"));
    };
    let (set, votes) = channels::votes_by_id(&st.s.root, &id)
        .ok_or_else(|| not_found(format!("no votes on a set {id}")))?;
    Ok(Json(json!({"set_id": id, "set": set, "votes": votes})))
}

async fn channel_list(State(st): St, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    authorize(&st, &headers, None)?;
    blocking(move || {
        let all = channels::pointers(&st.s.root).map_err(|e| internal(&e))?;
        let mut out = serde_json::Map::new();
        for (ch, pointers) in all {
            let promotions = Channel::new(&ch).map_or_else(
                |_| Vec::new(),
                |c| {
                    let mut p = channels::promotions(&st.s.root, &c);
                    let keep = p.len().saturating_sub(10);
                    p.drain(..keep);
                    p
                },
            );
            out.insert(ch, json!({"pointers": pointers, "promotions": promotions}));
        }
        Ok(Json(Value::Object(out)))
    })
    .await
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

async fn vote(State(st): St, headers: HeaderMap, bytes: Body) -> Response {
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
            let set =
                channels::set_from_map(&b.set, &st.s.base_url).map_err(|e| channel_error(&e))?;
            let v = channels::Vote::new(&b.job, pass, b.url.as_deref(), b.notes.as_deref())
                .map_err(|e| channel_error(&e))?;
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
            let state = Arc::clone(&st);
            let answer = blocking(move || {
                let by = who(&token);
                let made = channels::vote(
                    &st.s.root,
                    &st.s.base_url,
                    &set,
                    &v,
                    &st.s.config.channels,
                    &by,
                )
                .map_err(|e| channel_error(&e))?;
                Ok(json!({"set_id": channels::set_id(&set), "recorded": v, "promotions": made}))
            })
            .await?;
            let moved: Vec<MirrorName> = answer["promotions"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(moved_by)
                .collect();
            follow_bucket(&state, &moved, answer).await
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
}

async fn promote(State(st): St, headers: HeaderMap, bytes: Body) -> Response {
    let request = format!("POST /api/v1/promote {}", shown(&bytes));
    write(
        st,
        &headers,
        Scope::Promote,
        request,
        StatusCode::OK,
        |st, token| async move {
            let b: PromoteBody = body(&bytes)?;
            let channel = Channel::new(&b.channel).map_err(|e| channel_error(&e))?;
            let set = match (b.set, b.mirror, b.snapshot) {
                (Some(set), None, None) => {
                    channels::set_from_map(&set, &st.s.base_url).map_err(|e| channel_error(&e))?
                }
                (None, Some(m), Some(s)) => {
                    channels::set_from_map(&BTreeMap::from([(m, s)]), &st.s.base_url)
                        .map_err(|e| channel_error(&e))?
                }
                _ => {
                    return Err(bad(
                        "give {\"channel\", \"set\"} or {\"channel\", \"mirror\", \"snapshot\"}",
                    ));
                }
            };
            let reason = b
                .reason
                .unwrap_or_else(|| format!("promoted over the API by {}", token.name));
            channels::check_reason(&reason).map_err(|e| channel_error(&e))?;
            let state = Arc::clone(&st);
            let answer = blocking(move || {
                let by = who(&token);
                let record =
                    channels::promote(&st.s.root, &st.s.base_url, &channel, &set, &reason, &by)
                        .map_err(|e| channel_error(&e))?;
                Ok(serde_json::to_value(record).unwrap_or_default())
            })
            .await?;
            let moved = moved_by(&answer);
            follow_bucket(&state, &moved, answer).await
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

async fn rollback(
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
            let state = Arc::clone(&st);
            let moved: Vec<MirrorName> = MirrorName::new(&name).into_iter().collect();
            let answer = blocking(move || {
                let store = existing(&st, &name)?;
                let to =
                    b.to.as_deref()
                        .map(|t| snapshot_of(&store, t))
                        .transpose()?;
                if let Some(ch) = b.channel {
                    let channel = Channel::new(&ch).map_err(|e| channel_error(&e))?;
                    let by = who(&token);
                    let record = channels::rollback(
                        &st.s.root,
                        &st.s.base_url,
                        &channel,
                        &store.name,
                        to,
                        &by,
                    )
                    .map_err(|e| channel_error(&e))?;
                    return Ok(serde_json::to_value(record).unwrap_or_default());
                }
                let to = to.map(|t| t.to_string());
                let (from, to) =
                    crate::lifecycle::rollback(&st.s.root, &store.name, to.as_deref(), false)
                        .map_err(|e| lifecycle_error(&e))?;
                crate::index::write_index_with(&st.s.root, &st.s.base_url, &|m| {
                    st.s.config.health_of(m)
                })
                .map_err(|e| internal(&e))?;
                Ok(json!({
                    "mirror": store.name.as_str(),
                    "previous": from.map(|f| f.to_string()),
                    "latest": to.as_str(),
                }))
            })
            .await?;
            follow_bucket(&state, &moved, answer).await
        },
    )
    .await
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SyncBody {
    url: Option<String>,
}

async fn sync(
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
    let ctx = crate::sync::SyncContext {
        root: st.s.root.clone(),
        fetch: crate::fetch::FetchOptions {
            // Per job (one per mirror at a time), not per server: two
            // mirrors on one host synced over the API at once each get it.
            shared: std::sync::Arc::new(crate::fetch::Shared::new(mirror_http::limit::Limits {
                http1: st.s.concurrency,
                ..mirror_http::limit::Limits::default()
            })),
            ..crate::fetch::FetchOptions::default()
        },
        wait_for_lock: true,
        builds: None,
    };
    let (job, started) = st.jobs.start(super::jobs::Start {
        ctx,
        spec,
        url: b.url.clone(),
        by: who(token),
        base_url: st.s.base_url.clone(),
        config: std::sync::Arc::new(st.s.config.clone()),
        root: st.s.root.clone(),
    });
    let mut v = serde_json::to_value(job).unwrap_or_default();
    v["new"] = started.into();
    Ok(v)
}

async fn job(
    State(st): St,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<Value>, ApiError> {
    authorize(&st, &headers, None)?;
    let id: u64 = id
        .parse()
        .map_err(|_| bad(format!("job id {id:?} is not a number")))?;
    let job = st
        .jobs
        .get(id)
        .ok_or_else(|| not_found(format!("no job {id}")))?;
    Ok(Json(serde_json::to_value(job).unwrap_or_default()))
}
