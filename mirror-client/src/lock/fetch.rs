//! `fetch --lock`: a lock's files downloaded in parallel (per-host limits
//! as a mirror's sync has), each streamed into a hidden `.part` file while
//! its size and checksum are computed, and renamed to its name only when
//! both match. A file already there is kept when it verifies, replaced
//! when it does not: a second run fetches nothing, and a damaged file is
//! mended by the next.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::Digest;
use tokio::io::AsyncWriteExt;

use super::lockfile::{Entry, LockFile, shown};
use mirror_http::limit::{Gate, Limits};

/// Why one file is not as locked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Problem {
    #[error("HTTP {0}")]
    Status(u16),
    #[error("{got} bytes, the lock says {want}")]
    Size { got: u64, want: u64 },
    #[error("its checksum is not the lock's")]
    Checksum,
    #[error("{0}")]
    Http(String),
    #[error("{0}")]
    Io(String),
}

impl mirror_http::Transient for Problem {
    fn is_transient(&self) -> bool {
        match self {
            Problem::Status(s) => mirror_http::transient_status(*s),
            Problem::Http(_) => true,
            _ => false,
        }
    }
}

/// The network side shared by `check` and `fetch`.
pub struct Net {
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    gates: Mutex<HashMap<String, Arc<Gate>>>,
    retries: u32,
}

impl Net {
    pub fn new(timeout: Duration, retries: u32, allow_proxy: bool) -> Result<Arc<Self>, String> {
        let client = mirror_http::client(&mirror_http::ClientOptions {
            connect_timeout: timeout.min(Duration::from_secs(10)),
            read_timeout: Some(timeout),
            env_proxy: allow_proxy,
            ..mirror_http::ClientOptions::new(concat!("mirror-client/", env!("CARGO_PKG_VERSION")))
        })
        .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        Ok(Arc::new(Self {
            client,
            runtime,
            gates: Mutex::new(HashMap::new()),
            retries,
        }))
    }

    fn gate(&self, url: &str) -> Arc<Gate> {
        let host = url::Url::parse(url)
            .ok()
            .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
            .unwrap_or_default();
        let mut g = self
            .gates
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(
            g.entry(host)
                .or_insert_with(|| Arc::new(Gate::new(Limits::default().http1))),
        )
    }

    /// Run `job` for every item, all at once (the gates bound each host).
    pub fn run_all<T, R, F, Fut>(self: &Arc<Self>, items: Vec<T>, job: F) -> Vec<R>
    where
        T: Send + 'static,
        R: Send + 'static,
        F: Fn(Arc<Net>, T) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = R> + Send + 'static,
    {
        let job = Arc::new(job);
        let me = Arc::clone(self);
        self.runtime.block_on(async move {
            let mut set = tokio::task::JoinSet::new();
            for item in items {
                let job = Arc::clone(&job);
                let net = Arc::clone(&me);
                set.spawn(async move { job(net, item).await });
            }
            let mut out = Vec::new();
            while let Some(r) = set.join_next().await {
                out.push(r.expect("a transfer panicked"));
            }
            out
        })
    }

    /// Is `e.url` served with the locked size?
    pub async fn head(&self, e: &Entry) -> Result<(), Problem> {
        mirror_http::retry(
            self.retries,
            mirror_http::Backoff {
                first: Duration::from_millis(500),
            },
            || async {
                let (_permit, resp) = self.ok_response(&e.url, self.client.head(&e.url)).await?;
                declared_size_is(&resp, e)
            },
            |_, _, _| {},
        )
        .await
    }

    /// Send `req` within `url`'s host limit: a 200 answer, and the permit
    /// to hold while its body is read.
    async fn ok_response(
        &self,
        url: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<(mirror_http::limit::Permit, reqwest::Response), Problem> {
        let mut permit = self.gate(url).acquire().await;
        let resp = req
            .send()
            .await
            .map_err(|err| Problem::Http(mirror_http::redact(&err.to_string())))?;
        let status = resp.status().as_u16();
        if matches!(status, 429 | 503) {
            permit.overloaded();
        } else {
            permit.answered();
        }
        if status != 200 {
            return Err(Problem::Status(status));
        }
        Ok((permit, resp))
    }

    /// Download `e.url`, checking size and checksum; with `dest`, into
    /// `dest`'s directory as a hidden `.part` renamed to `dest` once both
    /// match (removed when they do not).
    pub async fn download(&self, e: &Entry, dest: Option<&Path>) -> Result<u64, Problem> {
        mirror_http::retry(
            self.retries,
            mirror_http::Backoff {
                first: Duration::from_millis(500),
            },
            || self.download_once(e, dest),
            |_, _, _| {},
        )
        .await
    }

    async fn download_once(&self, e: &Entry, dest: Option<&Path>) -> Result<u64, Problem> {
        let part = dest.map(part_path);
        let result = async {
            // The permit is held while the body is read.
            let (_permit, mut resp) = self.ok_response(&e.url, self.client.get(&e.url)).await?;
            declared_size_is(&resp, e)?;
            let mut file = match &part {
                Some(p) => Some(
                    tokio::fs::File::create(p)
                        .await
                        .map_err(|err| Problem::Io(format!("{}: {err}", p.display())))?,
                ),
                None => None,
            };
            let mut hash = Hasher::new(e.digest().0);
            let mut got = 0u64;
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|err| Problem::Http(mirror_http::redact(&err.to_string())))?
            {
                got += chunk.len() as u64;
                if got > e.size {
                    return Err(Problem::Size { got, want: e.size });
                }
                hash.update(&chunk);
                if let Some(f) = file.as_mut() {
                    f.write_all(&chunk)
                        .await
                        .map_err(|err| Problem::Io(err.to_string()))?;
                }
            }
            if got != e.size {
                return Err(Problem::Size { got, want: e.size });
            }
            if !hash.matches(e.digest().1) {
                return Err(Problem::Checksum);
            }
            if let (Some(f), Some(p), Some(d)) = (file, &part, dest) {
                f.sync_all()
                    .await
                    .map_err(|err| Problem::Io(err.to_string()))?;
                tokio::fs::rename(p, d)
                    .await
                    .map_err(|err| Problem::Io(format!("{}: {err}", d.display())))?;
            }
            Ok(got)
        }
        .await;
        if result.is_err()
            && let Some(p) = &part
        {
            let _ = tokio::fs::remove_file(p).await;
        }
        result
    }
}

/// The answer's `Content-Length` (the header itself: reqwest's
/// `content_length()` is the empty body's for a HEAD) is the lock's size,
/// when it says one.
fn declared_size_is(resp: &reqwest::Response, e: &Entry) -> Result<(), Problem> {
    let declared = resp
        .headers()
        .get(reqwest::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    match declared {
        Some(n) if n != e.size => Err(Problem::Size {
            got: n,
            want: e.size,
        }),
        _ => Ok(()),
    }
}

/// sha256 or sha512, as the lock names it.
pub enum Hasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    pub fn new(algo: &str) -> Self {
        if algo == "sha512" {
            Hasher::Sha512(sha2::Sha512::new())
        } else {
            Hasher::Sha256(sha2::Sha256::new())
        }
    }

    pub fn update(&mut self, b: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(b),
            Hasher::Sha512(h) => h.update(b),
        }
    }

    pub fn matches(self, hex_want: &str) -> bool {
        let got = match self {
            Hasher::Sha256(h) => hex::encode(h.finalize()),
            Hasher::Sha512(h) => hex::encode(h.finalize()),
        };
        got.eq_ignore_ascii_case(hex_want)
    }
}

fn part_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dest.with_file_name(format!(".{name}.part"))
}

/// Does the file at `p` have `e`'s size and checksum?
fn verified(p: &Path, e: &Entry) -> bool {
    let Ok(meta) = std::fs::metadata(p) else {
        return false;
    };
    if !meta.is_file() || meta.len() != e.size {
        return false;
    }
    let Ok(mut f) = std::fs::File::open(p) else {
        return false;
    };
    let mut h = Hasher::new(e.digest().0);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match std::io::Read::read(&mut f, &mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(_) => return false,
        }
    }
    h.matches(e.digest().1)
}

/// What a fetch did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Fetched {
    pub arches: Vec<String>,
    pub fetched: usize,
    pub bytes: u64,
    /// Already there and verified.
    pub present: usize,
    /// File name -> why it could not be had.
    pub failed: BTreeMap<String, String>,
}

/// Which arches of `lock` to fetch: those asked, else the only one, else
/// the host's.
pub fn choose_arches(lock: &LockFile, asked: &[String]) -> Result<Vec<String>, String> {
    let have: Vec<&str> = lock.arches.iter().map(|a| a.arch.as_str()).collect();
    if !asked.is_empty() {
        for a in asked {
            if !have.contains(&a.as_str()) {
                return Err(format!("--arch {a}: the lock has {}", have.join(", ")));
            }
        }
        return Ok(asked.to_vec());
    }
    match have.as_slice() {
        [one] => Ok(vec![(*one).to_owned()]),
        _ if have.contains(&std::env::consts::ARCH) => Ok(vec![std::env::consts::ARCH.to_owned()]),
        _ => Err(format!(
            "the lock has several architectures ({}); choose with --arch",
            have.join(", ")
        )),
    }
}

/// Fetch the packages (and sources, with `sources`) of `arches` into `dir`.
pub fn fetch(
    net: &Arc<Net>,
    lock: &LockFile,
    arches: &[String],
    sources: bool,
    dir: &Path,
) -> Result<Fetched, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut by_name: BTreeMap<String, Entry> = BTreeMap::new();
    for a in lock.arches.iter().filter(|a| arches.contains(&a.arch)) {
        let extra: &[Entry] = if sources { &a.source } else { &[] };
        for e in a.packages.iter().chain(extra) {
            let name = e.file_name().to_owned();
            if name.contains(['/', '\\']) || name.starts_with('.') || name.is_empty() {
                return Err(format!("{}: not a file name", shown(&e.url)));
            }
            match by_name.get(&name) {
                Some(seen) if seen.checksum != e.checksum => {
                    return Err(format!(
                        "two different files would be {name}: {} and {}",
                        shown(&seen.url),
                        shown(&e.url)
                    ));
                }
                Some(_) => {}
                None => {
                    by_name.insert(name, e.clone());
                }
            }
        }
    }
    let mut out = Fetched {
        arches: arches.to_vec(),
        ..Fetched::default()
    };
    let mut todo = Vec::new();
    for (name, e) in by_name {
        let dest = dir.join(&name);
        if verified(&dest, &e) {
            out.present += 1;
        } else {
            todo.push((name, e, dest));
        }
    }
    let results = net.run_all(
        todo,
        |net: Arc<Net>, (name, e, dest): (String, Entry, PathBuf)| async move {
            let r = net.download(&e, Some(&dest)).await;
            (name, r)
        },
    );
    for (name, r) in results {
        match r {
            Ok(n) => {
                out.fetched += 1;
                out.bytes += n;
            }
            Err(p) => {
                out.failed.insert(name, p.to_string());
            }
        }
    }
    Ok(out)
}
