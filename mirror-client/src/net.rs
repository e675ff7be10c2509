//! Loading map sources: `file://` from disk, http(s) with a timeout,
//! bounded retries with backoff for connection errors, 5xx and bodies that
//! fail validation (truncated or corrupt), and environment proxies ignored
//! unless allowed. Only the binary's runtime drives it.

use std::time::Duration;

use url::Url;

use crate::map::Loader;

pub struct NetLoader {
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    retries: u32,
    backoff: Duration,
}

impl NetLoader {
    pub fn new(timeout: Duration, retries: u32, allow_proxy: bool) -> Result<Self, String> {
        let mut b = reqwest::Client::builder()
            .user_agent(concat!("mirror-client/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)));
        if !allow_proxy {
            b = b.no_proxy();
        }
        let client = b
            .build()
            .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        Ok(Self {
            client,
            runtime,
            retries,
            backoff: Duration::from_millis(200),
        })
    }

    async fn once(&self, url: &Url) -> Result<Vec<u8>, (bool, String)> {
        let resp = self.client.get(url.clone()).send().await.map_err(|e| {
            (
                true,
                format!("request failed: {}", mirror_index::error_chain(&e)),
            )
        })?;
        let status = resp.status();
        if !status.is_success() {
            let transient =
                status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408;
            return Err((transient, format!("HTTP {status}")));
        }
        resp.bytes().await.map(|b| b.to_vec()).map_err(|e| {
            (
                true,
                format!("body cut short: {}", mirror_index::error_chain(&e)),
            )
        })
    }
}

impl Loader for NetLoader {
    fn load(
        &self,
        url: &Url,
        check: &dyn Fn(&[u8]) -> Result<(), String>,
    ) -> Result<Vec<u8>, String> {
        if url.scheme() == "file" {
            let path = url
                .to_file_path()
                .map_err(|()| "not a local file URL".to_owned())?;
            return std::fs::read(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()));
        }
        let mut delay = self.backoff;
        let mut attempt = 0;
        loop {
            let result =
                self.runtime
                    .block_on(self.once(url))
                    .and_then(|body| match check(&body) {
                        Ok(()) => Ok(body),
                        Err(e) => Err((true, format!("invalid or truncated body: {e}"))),
                    });
            match result {
                Ok(body) => return Ok(body),
                Err((true, msg)) if attempt < self.retries => {
                    attempt += 1;
                    eprintln!(
                        "warning: {url}: {msg}; retry {attempt}/{} in {delay:?}",
                        self.retries
                    );
                    std::thread::sleep(delay);
                    delay *= 2;
                }
                Err((_, msg)) if attempt > 0 => {
                    return Err(format!("{msg} (after {} attempts)", attempt + 1));
                }
                Err((_, msg)) => return Err(msg),
            }
        }
    }
}
