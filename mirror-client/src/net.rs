//! Loading map sources: `file://` from disk, http(s) through the shared
//! client of [`mirror_http`] (its retry rule for connection errors, 5xx and
//! bodies that fail to parse, i.e. truncated or corrupt), with environment
//! proxies ignored unless allowed. Only the binary's runtime drives it.
//!
//! Invariant: no source can hold the client longer than the timeout or make
//! it read more than `max_bytes` (an endless body, `/dev/zero`, a FIFO with
//! no writer all end in an error naming the source).

use std::time::Duration;

use url::Url;

use crate::map::{Loader, MapDoc, redact};

pub struct NetLoader {
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    retries: u32,
    timeout: Duration,
    max_bytes: u64,
}

/// One failed attempt: whether to try again, and why it failed.
struct Attempt {
    transient: bool,
    message: String,
}

impl mirror_http::Transient for Attempt {
    fn is_transient(&self) -> bool {
        self.transient
    }
}

impl NetLoader {
    pub fn new(
        timeout: Duration,
        retries: u32,
        allow_proxy: bool,
        max_bytes: u64,
    ) -> Result<Self, String> {
        let client = mirror_http::client(&mirror_http::ClientOptions {
            connect_timeout: timeout.min(Duration::from_secs(10)),
            total_timeout: Some(timeout),
            env_proxy: allow_proxy,
            ..mirror_http::ClientOptions::new(concat!("mirror-client/", env!("CARGO_PKG_VERSION")))
        })
        .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        Ok(Self {
            client,
            runtime,
            retries,
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

    /// One GET, its body capped. Errors are shown without their URL: the
    /// caller names the source, with any password masked.
    async fn once(&self, url: &Url) -> Result<Vec<u8>, Attempt> {
        let fail = |transient, message| Attempt { transient, message };
        let resp = self.client.get(url.clone()).send().await.map_err(|e| {
            fail(
                mirror_http::transient_error(&e),
                format!(
                    "request failed: {}",
                    mirror_index::error_chain(&e.without_url())
                ),
            )
        })?;
        let status = resp.status();
        if status.is_redirection() {
            return Err(fail(
                false,
                format!(
                    "HTTP {status} redirected to {}: refused, only redirects to http and https are followed",
                    mirror_http::location(&resp)
                ),
            ));
        }
        if !status.is_success() {
            return Err(fail(
                mirror_http::transient_status(status.as_u16()),
                format!("HTTP {status}"),
            ));
        }
        mirror_http::read_capped(resp, self.max_bytes, |_| {})
            .await
            .map_err(|e| match e {
                mirror_http::CapError::TooLarge { .. } => fail(false, self.too_large()),
                mirror_http::CapError::Body(e) => fail(
                    true,
                    format!(
                        "body cut short: {}",
                        mirror_index::error_chain(&e.without_url())
                    ),
                ),
            })
    }
}

impl Loader for NetLoader {
    fn load(
        &self,
        url: &Url,
        parse: &dyn Fn(&[u8]) -> Result<MapDoc, String>,
    ) -> Result<MapDoc, String> {
        // Parsing counts against --timeout too, per request: reading and
        // parsing one body must fit in it (retries each get their own).
        let too_slow = || {
            format!(
                "reading and parsing took over {:?} (--timeout)",
                self.timeout
            )
        };
        if url.scheme() == "file" {
            let began = std::time::Instant::now();
            let doc = parse(&self.read_file(url)?)?;
            return if began.elapsed() > self.timeout {
                Err(too_slow())
            } else {
                Ok(doc)
            };
        }
        // A body that does not parse is not retried: the same bytes come
        // back (a body cut short is caught by its length, and retried).
        let attempt = || async {
            let began = std::time::Instant::now();
            let body = self.once(url).await?;
            let fail = |message| Attempt {
                transient: false,
                message,
            };
            let doc = parse(&body).map_err(|e| fail(format!("invalid body: {e}")))?;
            if began.elapsed() > self.timeout {
                return Err(fail(too_slow()));
            }
            Ok(doc)
        };
        let backoff = mirror_http::Backoff {
            first: Duration::from_millis(200),
        };
        let mut tries = 0;
        self.runtime
            .block_on(mirror_http::retry(
                self.retries,
                backoff,
                attempt,
                |e, n, delay| {
                    tries = n;
                    eprintln!(
                        "warning: {}: {}; retry {n}/{} in {delay:?}",
                        redact(url.as_str()),
                        e.message,
                        self.retries
                    );
                },
            ))
            .map_err(|e| {
                if tries > 0 {
                    format!("{} (after {} attempts)", e.message, tries + 1)
                } else {
                    e.message
                }
            })
    }
}
