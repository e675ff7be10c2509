//! What every API handler shares: the error and its status, the token
//! check, the audit record, bodies, and the blocking pool.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mirror_index::{MirrorName, SnapshotName};
use serde_json::{Value, json};

use crate::ops::{Kind, OpError};
use crate::serve::state::{AppState, bearer};
use crate::store::Store;
use crate::tokens::{Scope, Token, Tokens};

/// Largest request body accepted.
pub const MAX_BODY: usize = 1 << 20;

/// An API failure: a status and a message.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let kind = kind_of_status(self.0);
        (self.0, Json(json!({"error": self.1, "kind": kind}))).into_response()
    }
}

/// The kind an error status stands for (the first in [`Kind::ALL`] that
/// maps to it; 401/403 and body errors are the API's own).
pub(super) fn kind_of_status(code: StatusCode) -> &'static str {
    match code.as_u16() {
        401 => "unauthorized",
        403 => "forbidden",
        413 => "usage",
        n => Kind::ALL
            .iter()
            .find(|k| k.http_status() == n)
            .map_or("internal", |k| k.as_str()),
    }
}

pub(super) fn bad(m: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, m.into())
}

pub(super) fn not_found(m: impl Into<String>) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, m.into())
}

impl From<OpError> for ApiError {
    fn from(e: OpError) -> Self {
        Self::of(e.kind, e.message)
    }
}

impl ApiError {
    /// A failure of a [`Kind`]: its status, its name in the body.
    fn of(kind: Kind, message: String) -> Self {
        ApiError(
            StatusCode::from_u16(kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            message,
        )
    }
}

/// Any library error, classified once ([`crate::ops::error`]).
pub(super) fn op_error(e: &(dyn std::error::Error + 'static)) -> ApiError {
    OpError::of(e).into()
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
    let Some(given) = bearer(headers) else {
        return Err(unauthorized(
            "this needs a token: send `Authorization: Bearer <token>`",
        ));
    };
    let tokens = Tokens::load(&st.s.tokens).map_err(|e| op_error(&e))?;
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
pub(super) fn audit(st: &AppState, token: &str, request: &str, result: &Result<Value, ApiError>) {
    match result {
        Ok(v) => st.audit.accepted(token, request, 200, v),
        Err(e) => st
            .audit
            .accepted(token, request, e.0.as_u16(), &json!({"error": e.1})),
    }
}

/// The body as read, or why it could not be (too large, cut off).
pub(super) type Body = Result<Bytes, BytesRejection>;

pub(super) fn raw(b: &Body) -> Result<&Bytes, ApiError> {
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
pub(super) fn shown(b: &Body) -> String {
    b.as_ref().map_or_else(
        |_| "(unreadable body)".to_owned(),
        |b| mirror_http::redact(&String::from_utf8_lossy(&b[..b.len().min(2048)])),
    )
}

/// How promotions, votes and jobs name the token that asked.
pub(super) fn who(token: &Token) -> String {
    format!("token:{}", token.name)
}

/// A JSON body, at most [`MAX_BODY`] bytes.
pub(super) fn body<T: serde::de::DeserializeOwned>(b: &Body) -> Result<T, ApiError> {
    let bytes = raw(b)?;
    if bytes.len() > MAX_BODY {
        return Err(ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over {MAX_BODY} bytes"),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| bad(format!("malformed JSON body: {e}")))
}

pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
}

/// A write: authorize, run, audit, answer.
pub(super) async fn write<F, Fut>(
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
            let who = bearer(headers)
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

/// An existing mirror directory's store.
pub(super) fn existing(st: &AppState, name: &str) -> Result<Store, ApiError> {
    let m = MirrorName::new(name).map_err(|e| bad(e.to_string()))?;
    let store = Store::new(&st.s.root, m);
    if !store.dir.is_dir() {
        return Err(not_found(format!("no mirror {name}")));
    }
    Ok(store)
}

pub(super) fn snapshot_of(store: &Store, name: &str) -> Result<SnapshotName, ApiError> {
    SnapshotName::parse(name)
        .ok()
        .filter(|s| store.snapshot_dir(s).is_dir())
        .ok_or_else(|| not_found(format!("mirror {} has no snapshot {name}", store.name)))
}
