//! The YAML config's `webhooks:` entries, checked.

use std::path::{Path, PathBuf};

use super::options::config_path;
use super::spec::WebhookSpec;
use crate::access::SecretSource;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct YamlWebhook {
    url: String,
    #[serde(default)]
    events: Vec<String>,
    secret_env: Option<String>,
    secret_file: Option<PathBuf>,
}

/// Longest webhook URL accepted.
const MAX_WEBHOOK_URL: usize = 2048;

/// A `webhooks:` entry, checked: an http(s) URL, known events (none: all),
/// a secret from the environment or a file.
pub(super) fn webhook(w: YamlWebhook, i: usize, config: &Path) -> Result<WebhookSpec, String> {
    let at = format!("webhooks[{i}]");
    let parsed = url::Url::parse(&w.url)
        .map_err(|e| format!("{at}: url {:?}: {e}", mirror_http::redact(&w.url)))?;
    if !matches!(parsed.scheme(), "http" | "https")
        || w.url.len() > MAX_WEBHOOK_URL
        || w.url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "{at}: url {:?} is not an http(s) URL of at most {MAX_WEBHOOK_URL} bytes",
            mirror_http::redact(&w.url)
        ));
    }
    let kinds = crate::webhooks::event::KINDS;
    if let Some(bad) = w.events.iter().find(|e| !kinds.contains(&e.as_str())) {
        return Err(format!(
            "{at}: unknown event {bad:?} (events: {})",
            kinds.join(", ")
        ));
    }
    let events = if w.events.is_empty() {
        kinds.iter().map(|k| (*k).to_owned()).collect()
    } else {
        w.events
    };
    let secret = match (w.secret_env, w.secret_file) {
        (Some(e), None) => SecretSource::Env(e),
        (None, Some(f)) => SecretSource::File(config_path(config, f)),
        _ => {
            return Err(format!(
                "{at}: give one of secret_env or secret_file (deliveries are signed)"
            ));
        }
    };
    Ok(WebhookSpec {
        url: w.url,
        events,
        secret,
    })
}
