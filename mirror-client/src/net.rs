//! Loading map sources: `file://` from disk, http(s) with a timeout,
//! bounded retries with backoff for connection errors, 5xx and bodies that
//! fail validation (truncated or corrupt), and environment proxies ignored
//! unless allowed. Only the binary's runtime drives it.
//!
//! Invariant: no source can hold the client longer than the timeout or make
//! it read more than `max_bytes` (an endless body, `/dev/zero`, a FIFO with
//! no writer all end in an error naming the source).

use std::time::Duration;

use url::Url;

use crate::map::Loader;

pub struct NetLoader {
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    retries: u32,
    backoff: Duration,
    timeout: Duration,
    max_bytes: u64,
}

impl NetLoader {
    pub fn new(
        timeout: Duration,
        retries: u32,
        allow_proxy: bool,
        max_bytes: u64,
    ) -> Result<Self, String> {
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
            timeout,
            max_bytes,
        })
    }

    fn too_large(&self) -> String {
        format!(
            "larger than the {} byte limit for a mirror map (--max-map-size)",
            self.max_bytes
        )
    }

    /// Read a local file, at most `max_bytes`, within the timeout. The read
    /// runs on its own thread: opening a FIFO with no writer blocks in the
    /// kernel, and only giving up on the thread bounds that.
    fn read_file(&self, url: &Url) -> Result<Vec<u8>, String> {
        use std::io::Read as _;
        let path = url
            .to_file_path()
            .map_err(|()| "not a local file URL".to_owned())?;
        let limit = self.max_bytes;
        let (tx, rx) = std::sync::mpsc::channel();
        let p = path.clone();
        std::thread::spawn(move || {
            let read = || -> std::io::Result<Vec<u8>> {
                let mut out = Vec::new();
                std::fs::File::open(&p)?
                    .take(limit.saturating_add(1))
                    .read_to_end(&mut out)?;
                Ok(out)
            };
            let _ = tx.send(read());
        });
        match rx.recv_timeout(self.timeout) {
            Ok(Ok(b)) if b.len() as u64 > limit => Err(self.too_large()),
            Ok(Ok(b)) => Ok(b),
            Ok(Err(e)) => Err(format!("cannot read {}: {e}", path.display())),
            Err(_) => Err(format!(
                "cannot read {}: nothing within {:?} (--timeout)",
                path.display(),
                self.timeout
            )),
        }
    }

    async fn once(&self, url: &Url) -> Result<Vec<u8>, (bool, String)> {
        // Errors are shown without their URL: the caller names the source,
        // with any password masked.
        let resp = self.client.get(url.clone()).send().await.map_err(|e| {
            (
                true,
                format!(
                    "request failed: {}",
                    mirror_index::error_chain(&e.without_url())
                ),
            )
        })?;
        let status = resp.status();
        if !status.is_success() {
            let transient =
                status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408;
            return Err((transient, format!("HTTP {status}")));
        }
        if resp.content_length().is_some_and(|n| n > self.max_bytes) {
            return Err((false, self.too_large()));
        }
        let mut resp = resp;
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if (body.len() + chunk.len()) as u64 > self.max_bytes {
                        return Err((false, self.too_large()));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body),
                Err(e) => {
                    return Err((
                        true,
                        format!(
                            "body cut short: {}",
                            mirror_index::error_chain(&e.without_url())
                        ),
                    ));
                }
            }
        }
    }
}

impl Loader for NetLoader {
    fn load(
        &self,
        url: &Url,
        check: &dyn Fn(&[u8]) -> Result<(), String>,
    ) -> Result<Vec<u8>, String> {
        if url.scheme() == "file" {
            return self.read_file(url);
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
                        "warning: {}: {msg}; retry {attempt}/{} in {delay:?}",
                        crate::map::redact(url.as_str()),
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
