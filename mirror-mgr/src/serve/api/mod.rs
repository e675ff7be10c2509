//! The JSON API under `/api/v1/`. Reads are open unless `--protect-reads`;
//! writes need `Authorization: Bearer <token>` with the right scope (401
//! without a valid token, 403 without the scope) and are recorded in the
//! audit log. Bad input is a 4xx JSON `{"error": ...}` naming what is
//! wrong, and changes nothing. Every write goes through the library
//! functions the command line uses, on the blocking pool, with their locks.

use std::sync::Arc;

use axum::Router;
use axum::routing::{any, get, post};

use crate::serve::state::AppState;

pub(crate) mod common;
mod reads;
mod writes;

use common::{ApiError, MAX_BODY, not_found};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/mirrors", get(reads::mirrors))
        .route("/api/v1/mirrors/{name}", get(reads::mirror))
        .route("/api/v1/mirrors/{name}/snapshots", get(reads::snapshots))
        .route("/api/v1/mirrors/{name}/diff", get(reads::diff))
        .route(
            "/api/v1/mirrors/{name}/advisories",
            get(reads::mirror_advisories),
        )
        .route("/api/v1/advisories", get(reads::all_advisories))
        .route("/api/v1/mirrors/{name}/rollback", post(writes::rollback))
        .route("/api/v1/mirrors/{name}/sync", post(writes::sync))
        .route("/api/v1/votes", get(reads::votes).post(writes::vote))
        .route("/api/v1/promote", post(writes::promote))
        .route("/api/v1/locks", post(writes::register_lock))
        .route("/api/v1/channels", get(reads::channel_list))
        .route("/api/v1/jobs/{id}", get(reads::job))
        .route("/api/{*rest}", any(unknown))
        .route("/api", any(unknown))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
}

async fn unknown() -> ApiError {
    not_found(
        "no such API route (see /api/v1/mirrors, /advisories, /votes, /promote, /channels, /jobs)",
    )
}
