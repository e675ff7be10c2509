//! Fetching from upstream: http(s) over one keep-alive connection pool, and
//! `file://`. Bounded retries with exponential backoff for what is transient
//! (connection errors, timeouts, 5xx/429/408, bodies cut short or corrupted);
//! immediate failure for what is not (404 and other 4xx). Every error names
//! the URL.
//!
//! Invariant: [`Fetcher::download`] returns `Ok` only when `dest` holds
//! exactly the bytes whose size and checksum the metadata gives; on failure
//! `dest` is removed. It writes `dest` in place (no temp file and rename per
//! download), so callers only download into private staging directories:
//! build directories are deleted after a crash, and staged objects are
//! re-hashed before reuse. Durability comes from the store's publish.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::StreamExt;
use url::Url;

use mirror_repodata::checksum::Hasher;

use crate::access::{Access, Secret};

mod local;
pub mod rate;
mod types;

pub use types::{Expect, FetchError, FetchOptions, Shared, VerifyLocal};
use types::{create_file, file_err, file_path, shown};

/// Shared HTTP client plus counters for the report.
pub struct Fetcher {
    client: reqwest::Client,
    opts: FetchOptions,
    /// Basic auth, and the only hosts it is sent to.
    auth: Option<(String, Secret, Vec<String>)>,
    /// Requests sent (http) or files opened (file://), including retries.
    pub requests: AtomicU64,
    /// Bytes received.
    pub bytes: AtomicU64,
    /// Local (`file://`) packages: linked instead of copied.
    local: local::Local,
    /// This mirror's bandwidth cap (`throttle`), if any.
    throttle: Option<std::sync::Arc<rate::RateLimit>>,
}

fn net<'a>(url: &'a Url, what: &'static str) -> impl FnOnce(reqwest::Error) -> FetchError + 'a {
    // reqwest's own message repeats the URL, password included: drop it.
    move |source| FetchError::Network {
        url: shown(url),
        what,
        source: source.without_url(),
    }
}

impl Fetcher {
    /// A client for one mirror: its TLS settings and proxy, and basic
    /// auth sent only to `auth_hosts` (the mirror's own upstream).
    pub fn new(
        opts: FetchOptions,
        access: &Access,
        auth_hosts: Vec<String>,
    ) -> Result<Self, reqwest::Error> {
        let client = opts.shared.clients.get(&mirror_http::ClientOptions {
            connect_timeout: opts.connect_timeout,
            read_timeout: Some(opts.read_timeout),
            pool_per_host: opts.shared.hosts.limits().http1,
            env_proxy: !access.direct,
            proxy: access.proxy.clone(),
            tls: access.tls.clone(),
            ..mirror_http::ClientOptions::new(concat!("mirror-mgr/", env!("CARGO_PKG_VERSION")))
        })?;
        let verify_local = opts.verify_local;
        let auth = access
            .auth
            .clone()
            .map(|(user, password)| (user, password, auth_hosts));
        Ok(Self {
            client,
            opts,
            auth,
            requests: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            local: local::Local::new(verify_local),
            throttle: None,
        })
    }

    /// With a bandwidth cap for this mirror's downloads (`throttle`).
    #[must_use]
    pub fn with_throttle(mut self, bytes_per_second: Option<u64>) -> Self {
        self.throttle = bytes_per_second.map(|r| std::sync::Arc::new(rate::RateLimit::new(r)));
        self
    }

    /// Packages from a local upstream placed by reflink or hard link
    /// instead of copied.
    pub fn linked(&self) -> u64 {
        self.local.linked.load(Ordering::Relaxed)
    }

    pub fn options(&self) -> &FetchOptions {
        &self.opts
    }

    async fn retrying<T, F, Fut>(&self, retries: u32, attempt: F) -> Result<T, FetchError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, FetchError>>,
    {
        let backoff = mirror_http::Backoff {
            first: self.opts.backoff,
        };
        mirror_http::retry(retries, backoff, attempt, |e, n, delay| {
            tracing::warn!("{e}; retry {n}/{retries} in {delay:?}");
        })
        .await
    }

    /// GET a small file whole (repomd.xml, mirrorlists), at most `limit` bytes.
    pub async fn get(&self, url: &Url, limit: u64) -> Result<Bytes, FetchError> {
        self.get_retrying(url, limit, self.opts.retries).await
    }

    /// [`get`](Self::get) with its own retry count: 0 when another mirror
    /// can be tried instead.
    pub async fn get_retrying(
        &self,
        url: &Url,
        limit: u64,
        retries: u32,
    ) -> Result<Bytes, FetchError> {
        self.retrying(retries, || self.get_once(url, limit)).await
    }

    /// Like [`get`](Self::get) but a 404 is `Ok(None)` (optional files such as repomd.xml.asc).
    pub async fn get_optional(&self, url: &Url, limit: u64) -> Result<Option<Bytes>, FetchError> {
        match self.get(url, limit).await {
            Ok(b) => Ok(Some(b)),
            Err(FetchError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn get_once(&self, url: &Url, limit: u64) -> Result<Bytes, FetchError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!("GET {}", shown(url));
        if url.scheme() == "file" {
            let path = file_path(url)?;
            let data = tokio::fs::read(&path)
                .await
                .map_err(|source| file_err(url, source))?;
            if data.len() as u64 > limit {
                return Err(FetchError::TooLarge {
                    url: shown(url),
                    limit,
                });
            }
            return Ok(Bytes::from(data));
        }
        let (resp, _permit) = self.send(url).await?;
        let body = mirror_http::read_capped(resp, limit, |n| {
            self.bytes.fetch_add(n, Ordering::Relaxed);
        })
        .await
        .map_err(|e| match e {
            mirror_http::CapError::TooLarge { limit } => FetchError::TooLarge {
                url: shown(url),
                limit,
            },
            mirror_http::CapError::Body(source) => {
                net(url, "connection failed while reading the body")(source)
            }
        })?;
        Ok(Bytes::from(body))
    }

    /// GET `url` within its host's limit; the permit is held until the
    /// caller has read the body.
    async fn send(
        &self,
        url: &Url,
    ) -> Result<(reqwest::Response, mirror_http::limit::Permit), FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::Scheme { url: shown(url) });
        }
        let mut req = self.client.get(url.clone());
        if let Some((user, password, hosts)) = &self.auth
            && url.host_str().is_some_and(|h| hosts.iter().any(|a| a == h))
        {
            req = req.basic_auth(user, Some(password.expose()));
        }
        let gate = self.opts.shared.hosts.gate(url);
        let mut permit = gate.acquire().await;
        let resp = req.send().await.map_err(|source| {
            if source.is_redirect() {
                FetchError::Redirect {
                    url: shown(url),
                    source,
                }
            } else {
                // Refused, reset, timed out: a sign to slow down.
                permit.overloaded();
                net(url, "request failed")(source)
            }
        })?;
        if resp.version() == reqwest::Version::HTTP_2 {
            // One connection carries many streams.
            gate.set_ceiling(self.opts.shared.hosts.limits().http2);
        }
        let status = resp.status().as_u16();
        if matches!(status, 429 | 503) {
            permit.overloaded();
        } else {
            permit.answered();
        }
        match status {
            200 => Ok((resp, permit)),
            404 | 410 => Err(FetchError::NotFound {
                url: shown(url),
                status: Some(status),
            }),
            300..=399 => Err(FetchError::RedirectTo {
                url: shown(url),
                status,
                location: mirror_http::location(&resp),
            }),
            s => Err(FetchError::Status {
                url: shown(url),
                status: s,
            }),
        }
    }

    /// Download `url` to `dest`, verifying size and checksum (see module docs).
    /// `progress` is called with each chunk's length.
    pub async fn download(
        &self,
        url: &Url,
        dest: &Path,
        expect: &Expect,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<(), FetchError> {
        self.download_retrying(url, dest, expect, progress, self.opts.retries)
            .await
    }

    /// [`download`](Self::download) with its own retry count.
    pub async fn download_retrying(
        &self,
        url: &Url,
        dest: &Path,
        expect: &Expect,
        progress: &(dyn Fn(u64) + Sync),
        retries: u32,
    ) -> Result<(), FetchError> {
        self.retrying(retries, || async {
            let r = self.download_once(url, dest, expect, progress).await;
            if r.is_err() {
                let _ = std::fs::remove_file(dest);
            }
            r
        })
        .await
    }

    async fn download_once(
        &self,
        url: &Url,
        dest: &Path,
        expect: &Expect,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<(), FetchError> {
        use std::io::{Read, Write};
        self.requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!("GET {} -> {}", shown(url), dest.display());
        let werr = |source| FetchError::Write {
            path: dest.to_path_buf(),
            source,
        };
        if url.scheme() == "file" && expect.linkable {
            // Inline: spreading these over the blocking pool measured no
            // faster (bench/run --only local), the kernel's directory locks
            // serialise the links anyway.
            let placed = self.local.link(url, dest, expect)?;
            if let Some(size) = placed {
                progress(size);
                return Ok(());
            }
        }
        // Plain blocking writes into a 1 MiB buffer: writes to the page cache
        // take microseconds, while tokio::fs would hand every call to another
        // thread. Durability comes when the snapshot is published (see
        // `Store::publish`: the new files' fsyncs, or one syncfs for large
        // builds), not from an fsync here per download.
        let file = create_file(dest).map_err(werr)?;
        let mut file = std::io::BufWriter::with_capacity(1 << 20, file);
        let mut hasher: Hasher = expect.checksum.kind.hasher();
        let mut got = 0u64;
        let limit = expect.size.unwrap_or(u64::MAX);
        let mut add = |chunk: &[u8], got: &mut u64| -> Result<(), FetchError> {
            *got += chunk.len() as u64;
            if *got > limit {
                return Err(FetchError::Corrupt {
                    url: shown(url),
                    what: format!("body is larger than the {limit} bytes the metadata gives"),
                });
            }
            hasher.update(chunk);
            self.bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            progress(chunk.len() as u64);
            file.write_all(chunk).map_err(werr)
        };
        if url.scheme() == "file" {
            let path = file_path(url)?;
            let mut src = local::open_regular(url, &path)?;
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = src.read(&mut buf).map_err(|s| file_err(url, s))?;
                if n == 0 {
                    break;
                }
                add(&buf[..n], &mut got)?;
            }
        } else {
            let (resp, _permit) = self.send(url).await?;
            let mut stream = resp.bytes_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(net(url, "connection failed while reading the body"))?;
                // The caps: this mirror's, then the process's.
                for cap in [&self.throttle, &self.opts.shared.rate]
                    .into_iter()
                    .flatten()
                {
                    cap.take(chunk.len()).await;
                }
                add(&chunk, &mut got)?;
            }
        }
        if let Some(size) = expect.size
            && got != size
        {
            return Err(FetchError::Corrupt {
                url: shown(url),
                what: format!("got {got} bytes, metadata says {size}"),
            });
        }
        let actual = hasher.finish();
        if actual != expect.checksum {
            return Err(FetchError::Corrupt {
                url: shown(url),
                what: format!(
                    "checksum mismatch: expected {}, got {actual}",
                    expect.checksum
                ),
            });
        }
        file.flush().map_err(werr)?;
        Ok(())
    }
}

/// Bytes of a file name that cannot stand for themselves in a URL path.
/// `%` is among them: an href is a file path, so `100%` names a file called
/// `100%`, not the start of an escape.
const PATH_ESCAPE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|')
    .add(b'[')
    .add(b']');

/// Join a relative file path (`/`-separated, from metadata) onto a base URL
/// that names a directory, escaping each segment.
pub fn join(base: &Url, rel: &str) -> Result<Url, url::ParseError> {
    let mut b = base.clone();
    if !b.path().ends_with('/') {
        let p = format!("{}/", b.path());
        b.set_path(&p);
    }
    let escaped: Vec<String> = rel
        .split('/')
        .map(|seg| percent_encoding::utf8_percent_encode(seg, PATH_ESCAPE).to_string())
        .collect();
    b.join(&escaped.join("/"))
}

pub use mirror_repodata::mirrorlist::parse_base_url;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mirror_repodata::checksum::Checksum;

    use super::*;

    #[test]
    fn join_treats_base_as_directory() {
        let b = Url::parse("http://h/repo/x86_64/os").unwrap();
        assert_eq!(
            join(&b, "repodata/repomd.xml").unwrap().as_str(),
            "http://h/repo/x86_64/os/repodata/repomd.xml"
        );
        let b = Url::parse("http://h/repo/").unwrap();
        assert_eq!(
            join(&b, "Packages/a b.rpm").unwrap().as_str(),
            "http://h/repo/Packages/a%20b.rpm"
        );
        assert_eq!(
            parse_base_url("/srv/up").unwrap().as_str(),
            "file:///srv/up/"
        );
        assert!(
            parse_base_url("ftp://x/")
                .unwrap_err()
                .contains("unsupported")
        );
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn file_download_verifies_and_leaves_nothing_on_mismatch() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("src.rpm");
        std::fs::write(&src, b"abc").unwrap();
        let url = Url::from_file_path(&src).unwrap();
        let f = Fetcher::new(
            FetchOptions {
                retries: 1,
                backoff: Duration::from_millis(1),
                ..FetchOptions::default()
            },
            &Access::default(),
            Vec::new(),
        )
        .unwrap();
        let dest = d.path().join("dest.rpm");
        let good = Expect {
            size: Some(3),
            checksum: Checksum::of(mirror_repodata::checksum::Kind::Sha256, b"abc"),
            linkable: false,
        };
        rt().block_on(f.download(&url, &dest, &good, &|_| {}))
            .unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"abc");

        let dest2 = d.path().join("dest2.rpm");
        let bad = Expect {
            size: Some(3),
            checksum: Checksum::of(mirror_repodata::checksum::Kind::Sha256, b"xyz"),
            linkable: false,
        };
        let err = rt()
            .block_on(f.download(&url, &dest2, &bad, &|_| {}))
            .unwrap_err();
        assert!(err.to_string().contains("checksum mismatch"), "{err}");
        assert!(err.to_string().contains("src.rpm"), "{err}");
        assert!(!dest2.exists());
        // Two attempts (1 retry) for a transient error, plus the good one.
        assert_eq!(f.requests.load(Ordering::Relaxed), 3);

        let short = Expect {
            size: Some(4),
            ..good
        };
        let err = rt()
            .block_on(f.download(&url, &dest2, &short, &|_| {}))
            .unwrap_err();
        assert!(
            err.to_string().contains("got 3 bytes, metadata says 4"),
            "{err}"
        );

        let missing = Url::from_file_path(d.path().join("nope")).unwrap();
        let err = rt().block_on(f.get(&missing, 100)).unwrap_err();
        assert!(matches!(err, FetchError::NotFound { .. }));
        assert_eq!(rt().block_on(f.get_optional(&missing, 100)).unwrap(), None);
    }
}
