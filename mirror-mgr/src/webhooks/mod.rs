//! Webhooks: each event a verb makes (a snapshot, a promotion, a rollback,
//! a failed sync, a health change) is queued for every hook subscribed to
//! it, then posted, signed, by the process that made it (`serve`'s
//! deliverer, or the command line before it exits, within a budget).
//!
//! - [`event`]: the kinds and the document posted;
//! - [`queue`]: the persistent queue and each hook's state;
//! - [`deliver`]: one pass over the queue (in order per hook and mirror,
//!   retried with backoff until `webhook_retry_for`);
//! - [`hmac`]: the `X-Mirror-Signature-256` header.
//!
//! A receiver that is down, slow, redirects, answers an error or a huge
//! body never delays or fails a verb: deliveries happen after it, with
//! timeouts and a size limit, and what fails is retried later.

pub mod deliver;
pub mod event;
pub mod hmac;
pub mod queue;

use std::path::Path;

pub use deliver::deliver;
pub use event::Event;

use crate::config::Config;

/// Longest error text an event carries.
const MAX_ERROR: usize = 4096;

/// A new delivery id: 128 random bits, hex.
fn delivery_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Queue `events` for every hook subscribed to them. Returns how many
/// deliveries were queued.
pub fn enqueue(root: &Path, config: &Config, events: &[Event]) -> std::io::Result<usize> {
    if config.webhooks.is_empty() || events.is_empty() {
        return Ok(0);
    }
    let now = jiff::Timestamp::now();
    let mut items = Vec::new();
    for ev in events {
        let ev = match ev {
            Event::Failure { mirror, error } if error.len() > MAX_ERROR => Event::Failure {
                mirror: mirror.clone(),
                error: error.chars().take(MAX_ERROR).collect(),
            },
            e => e.clone(),
        };
        for hook in config
            .webhooks
            .iter()
            .filter(|h| h.events.iter().any(|k| k == ev.kind()))
        {
            let delivery = delivery_id();
            items.push(queue::Item {
                body: ev.body(&delivery, &now.to_string()).to_string(),
                delivery,
                url: hook.url.clone(),
                event: ev.kind().to_owned(),
                mirror: ev.mirror(),
                created: now.as_second(),
                attempts: 0,
                next_try_ms: 0,
                last_error: None,
            });
        }
    }
    queue::push(root, &items)?;
    Ok(items.len())
}
