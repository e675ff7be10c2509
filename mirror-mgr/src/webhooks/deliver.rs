//! One pass over the queue: post what is due, in order per hook and
//! mirror (a delivery that fails holds back the later ones of its mirror
//! for that hook), retry later with backoff, drop what is older than
//! `webhook_retry_for`. One process delivers at a time (a lock).

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use super::queue::{self, HookState, Item};
use crate::config::{Config, WebhookSpec};

/// Longest wait for a receiver's answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Most of a receiver's answer read (the rest is dropped).
const MAX_ANSWER: usize = 64 * 1024;
/// Longest wait between two tries.
const MAX_BACKOFF_MS: i64 = 3600 * 1000;

/// What a pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Pass {
    pub delivered: u64,
    pub failed: u64,
    pub expired: u64,
    /// Left for later (not due yet, held back, or out of time).
    pub left: u64,
}

/// First retry delay (doubling per attempt); a test hook shortens it.
fn backoff_ms(attempts: u32) -> i64 {
    let base: i64 = std::env::var(crate::env_vars::WEBHOOK_BACKOFF_MS)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    base.saturating_mul(1 << attempts.min(20))
        .min(MAX_BACKOFF_MS)
}

/// Post what is due, until `deadline` (none: until the queue is done).
pub async fn deliver(root: &Path, config: &Config, deadline: Option<Instant>) -> Pass {
    let mut pass = Pass::default();
    if queue::is_empty(root) {
        return pass;
    }
    let Some(_lock) = queue::try_lock(root) else {
        // Another process delivers now; it will get these too.
        return pass;
    };
    // Listed under the lock: what another deliverer sent is gone.
    let items = queue::list(root);
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("mirror-mgr/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("webhooks: cannot start an HTTP client: {e}");
            pass.left = items.len() as u64;
            return pass;
        }
    };
    let mut states = queue::state(root);
    let mut held: HashSet<(String, String)> = HashSet::new();
    for (path, mut item) in items {
        let key = (item.url.clone(), item.mirror.clone());
        let shown = mirror_http::redact(&item.url);
        let now = jiff::Timestamp::now();
        let Some(hook) = config.webhooks.iter().find(|h| h.url == item.url) else {
            // The hook left the config: nobody wants these any more.
            let _ = std::fs::remove_file(&path);
            continue;
        };
        if now.as_second() - item.created > config.webhook_retry_for() {
            let _ = std::fs::remove_file(&path);
            states.entry(shown).or_default().expired += 1;
            pass.expired += 1;
            continue;
        }
        let out_of_time = deadline.is_some_and(|d| Instant::now() >= d);
        if out_of_time || held.contains(&key) || item.next_try_ms > now.as_millisecond() {
            held.insert(key);
            pass.left += 1;
            continue;
        }
        let timeout = deadline.map_or(TIMEOUT, |d| {
            TIMEOUT.min(d.saturating_duration_since(Instant::now()))
        });
        let st: &mut HookState = states.entry(shown).or_default();
        match post(&client, hook, &item, timeout).await {
            Ok(()) => {
                let _ = std::fs::remove_file(&path);
                st.delivered += 1;
                st.last_delivered = Some(now.to_string());
                pass.delivered += 1;
            }
            Err(why) => {
                item.attempts += 1;
                item.next_try_ms = now.as_millisecond() + backoff_ms(item.attempts - 1);
                item.last_error = Some(why.clone());
                let _ = queue::update(&path, &item);
                st.failed_attempts += 1;
                st.last_error = Some(format!("{now}: {why}"));
                held.insert(key);
                pass.failed += 1;
            }
        }
    }
    for st in states.values_mut() {
        st.queued = 0;
    }
    for (_, item) in queue::list(root) {
        states
            .entry(mirror_http::redact(&item.url))
            .or_default()
            .queued += 1;
    }
    if let Err(e) = queue::write_state(root, &states) {
        tracing::warn!("webhooks: cannot record their state: {e}");
    }
    pass
}

/// Post one delivery; `Err` says why it did not count (never the secret).
async fn post(
    client: &reqwest::Client,
    hook: &WebhookSpec,
    item: &Item,
    timeout: Duration,
) -> Result<(), String> {
    let secret = crate::access::secret("webhook secret", &hook.secret)
        .map_err(|e| mirror_index::error_chain(&e))?;
    let signature = super::hmac::signature(secret.expose().as_bytes(), item.body.as_bytes());
    let send = client
        .post(&item.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Mirror-Event", &item.event)
        .header("X-Mirror-Delivery", &item.delivery)
        .header("X-Mirror-Signature-256", signature)
        .body(item.body.clone())
        .send();
    let answer = async {
        let mut resp = send
            .await
            .map_err(|e| mirror_http::redact(&mirror_index::error_chain(&e.without_url())))?;
        let status = resp.status();
        // Read a little of the answer (some servers want it read), no more.
        let mut read = 0;
        while read < MAX_ANSWER {
            match resp.chunk().await {
                Ok(Some(c)) => read += c.len(),
                Ok(None) | Err(_) => break,
            }
        }
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("answered {status}"))
        }
    };
    tokio::time::timeout(timeout, answer)
        .await
        .map_err(|_| format!("no answer within {} s", timeout.as_secs()))?
}
