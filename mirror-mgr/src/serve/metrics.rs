//! `GET /metrics`: the mirrors' families (as `mirror-mgr metrics` writes
//! them), then the server's own: requests by route, method and status,
//! their latency, and the syncs running. Readable without a token unless
//! `--protect-reads`.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::serve::state::St;

/// `GET /metrics`.
pub async fn handler(State(st): St, headers: HeaderMap) -> Response {
    if let Err(e) = super::api::common::authorize(&st, &headers, None) {
        return e.into_response();
    }
    let state = std::sync::Arc::clone(&st);
    let mirrors = tokio::task::spawn_blocking(move || {
        let root = &state.s.root;
        let now = jiff::Timestamp::now().as_second();
        let mut all = Vec::new();
        for m in mirror_index::layout::list_mirrors(root).unwrap_or_default() {
            let store = crate::store::Store::new(root, m.clone());
            if let Ok(s) = crate::history::mirror_status(&store, state.config.health_of(&m), now) {
                all.push(s);
            }
        }
        crate::metrics::render(&all) + &crate::metrics::render_webhooks(root)
    })
    .await
    .unwrap_or_default();
    let mut t = mirrors;
    st.requests.render(&mut t);
    let _ = writeln!(
        t,
        "# HELP mirror_mgr_syncs_running Syncs running in this server (API and scheduled).\n# TYPE mirror_mgr_syncs_running gauge\nmirror_mgr_syncs_running {}",
        st.jobs.running()
    );
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        t,
    )
        .into_response()
}
