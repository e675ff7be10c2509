//! The API's reads: status, snapshots, diffs, votes, channels, jobs.

use axum::Json;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};

use mirror_index::MirrorName;

use super::common::{ApiError, authorize, bad, blocking, existing, not_found, op_error};
use crate::advisories::query::Filter;
use crate::channels::{self, Channel};
use crate::ops::reads::At;
use crate::serve::state::AppState;
use crate::serve::state::St;
use crate::store::Store;

fn status_of(st: &AppState, store: &Store) -> Result<Value, ApiError> {
    let policy = st.s.config.health_of(&store.name);
    let status = crate::history::mirror_status(store, policy, jiff::Timestamp::now().as_second())
        .map_err(|e| op_error(&e))?;
    let mut v = serde_json::to_value(status).unwrap_or_default();
    v["channels"] =
        serde_json::to_value(channels::pointers_of(&store.dir).map_err(|e| op_error(&e))?)
            .unwrap_or_default();
    Ok(v)
}

pub(super) async fn mirrors(State(st): St, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    authorize(&st, &headers, None)?;
    blocking(move || {
        let mut out = Vec::new();
        let dirs = mirror_index::layout::list_mirrors(&st.s.root).map_err(|e| op_error(&e))?;
        for m in dirs {
            out.push(status_of(&st, &Store::new(&st.s.root, m))?);
        }
        Ok(Json(Value::Array(out)))
    })
    .await
}

pub(super) async fn mirror(
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
        .map_err(|e| op_error(&e))?
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

pub(super) async fn snapshots(
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
pub(super) struct DiffQuery {
    from: Option<String>,
    to: Option<String>,
}

pub(super) async fn diff(
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
        let m = MirrorName::new(&name).map_err(|e| bad(e.to_string()))?;
        let d = crate::ops::reads::diff(&st.s.root, &m, &from, &to)?;
        Ok(Json(serde_json::to_value(d).unwrap_or_default()))
    })
    .await
}

/// `?snapshot=S` or `?channel=C` (default: latest), `&type=`, `&severity=`,
/// `&cve=`: each a comma-separated list.
#[derive(serde::Deserialize)]
pub(super) struct AdvisoriesQuery {
    snapshot: Option<String>,
    channel: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    severity: Option<String>,
    cve: Option<String>,
}

impl AdvisoriesQuery {
    fn parse(self) -> Result<(At, Filter), ApiError> {
        let list = |v: Option<String>| v.into_iter().collect::<Vec<_>>();
        let filter =
            Filter::parse(&list(self.kind), &list(self.severity), &list(self.cve)).map_err(bad)?;
        let at = match (self.snapshot, self.channel) {
            (Some(_), Some(_)) => return Err(bad("give ?snapshot= or ?channel=, not both")),
            (None, Some(c)) => {
                Channel::new(&c).map_err(|e| bad(e.to_string()))?;
                At::Channel(c)
            }
            (Some(s), None) => At::Snapshot(s),
            (None, None) => At::Snapshot("latest".into()),
        };
        Ok((at, filter))
    }
}

/// `GET mirrors/{name}/advisories`: as `mirror-mgr advisories NAME --json`.
pub(super) async fn mirror_advisories(
    State(st): St,
    headers: HeaderMap,
    UrlPath(name): UrlPath<String>,
    Query(q): Query<AdvisoriesQuery>,
) -> Result<Json<Value>, ApiError> {
    authorize(&st, &headers, None)?;
    let (at, filter) = q.parse()?;
    blocking(move || {
        let m = MirrorName::new(&name).map_err(|e| bad(e.to_string()))?;
        let a = crate::ops::reads::advisories(&st.s.root, &m, &at, &filter)?;
        Ok(Json(serde_json::to_value(a).unwrap_or_default()))
    })
    .await
}

/// `GET advisories`: as `mirror-mgr advisories --all-mirrors --json`.
pub(super) async fn all_advisories(
    State(st): St,
    headers: HeaderMap,
    Query(q): Query<AdvisoriesQuery>,
) -> Result<Json<Value>, ApiError> {
    authorize(&st, &headers, None)?;
    let (at, filter) = q.parse()?;
    blocking(move || {
        let a = crate::ops::reads::advisories_all(&st.s.root, &at, &filter)?;
        Ok(Json(serde_json::to_value(a).unwrap_or_default()))
    })
    .await
}

#[derive(serde::Deserialize)]
pub(super) struct VotesQuery {
    set: Option<String>,
}

pub(super) async fn votes(
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

pub(super) async fn channel_list(
    State(st): St,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    authorize(&st, &headers, None)?;
    blocking(move || {
        let all = channels::pointers(&st.s.root).map_err(|e| op_error(&e))?;
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

pub(super) async fn job(
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
