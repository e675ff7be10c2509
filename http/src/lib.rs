//! `mirror-http`: how both binaries talk HTTP, in one place.
//!
//! - [`client`]: the one `reqwest` set-up (user agent, timeouts, keep-alive
//!   pool, proxies, and [`redirect_policy`]: within http(s) only, never in a
//!   loop, at most 10);
//! - [`Transient`] and [`retry`]: one rule for what deserves another
//!   attempt (connection errors, timeouts, 5xx, 429, 408, bodies cut short
//!   or corrupt) and one exponential backoff;
//! - [`read_capped`]: a response body read whole, never past a limit;
//! - [`redact`]: a URL as it may be shown (no password).
//!
//! Neither binary's domain logic lives here: the sync engine and the map
//! loader each decide what to fetch; this decides how.

pub mod limit;

use std::time::Duration;

/// What a client is built with.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// `mirror-mgr`, `mirror-client`: sent as `<name>/<version>`.
    pub user_agent: String,
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a response.
    pub read_timeout: Option<Duration>,
    /// Longest a whole request may take, body included.
    pub total_timeout: Option<Duration>,
    /// Idle keep-alive connections kept per host.
    pub pool_per_host: usize,
    /// Use `http_proxy`/`https_proxy`/`no_proxy` from the environment
    /// (when `proxy` is `None`).
    pub env_proxy: bool,
    /// A proxy of its own for every request, instead of the environment's.
    pub proxy: Option<ProxyVia>,
    pub tls: Tls,
}

/// An outbound proxy with optional credentials, sent on every request.
#[derive(Clone)]
pub struct ProxyVia {
    /// `http://`, `https://` or `socks5://` URL.
    pub url: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for ProxyVia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyVia")
            .field("url", &redact(&self.url))
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// TLS settings beyond the defaults (system roots, verification on).
#[derive(Clone, Default)]
pub struct Tls {
    /// PEM bundle: the only CAs trusted (dnf's `sslcacert`).
    pub ca_pem: Option<Vec<u8>>,
    /// PEM certificate chain followed by its private key (dnf's
    /// `sslclientcert` + `sslclientkey`).
    pub identity_pem: Option<Vec<u8>>,
    /// `false`: accept any server certificate (dnf's `sslverify=0`).
    pub skip_verify: bool,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("ca_pem", &self.ca_pem.as_ref().map(Vec::len))
            .field("identity_pem", &self.identity_pem.as_ref().map(|_| "***"))
            .field("skip_verify", &self.skip_verify)
            .finish()
    }
}

impl ClientOptions {
    pub fn new(user_agent: impl Into<String>) -> Self {
        Self {
            user_agent: user_agent.into(),
            connect_timeout: Duration::from_secs(15),
            read_timeout: None,
            total_timeout: None,
            pool_per_host: 16,
            env_proxy: true,
            proxy: None,
            tls: Tls::default(),
        }
    }
}

/// Build the client both binaries use.
pub fn client(opts: &ClientOptions) -> Result<reqwest::Client, reqwest::Error> {
    let mut b = reqwest::Client::builder()
        .user_agent(opts.user_agent.clone())
        .connect_timeout(opts.connect_timeout)
        .pool_max_idle_per_host(opts.pool_per_host)
        .tcp_nodelay(true)
        .redirect(redirect_policy());
    if let Some(t) = opts.read_timeout {
        b = b.read_timeout(t);
    }
    if let Some(t) = opts.total_timeout {
        b = b.timeout(t);
    }
    match &opts.proxy {
        Some(p) => {
            let mut proxy = reqwest::Proxy::all(&p.url)?;
            if let Some(u) = &p.username {
                proxy = proxy.basic_auth(u, p.password.as_deref().unwrap_or(""));
            }
            b = b.proxy(proxy);
        }
        None if !opts.env_proxy => b = b.no_proxy(),
        None => {}
    }
    if let Some(ca) = &opts.tls.ca_pem {
        b = b.tls_certs_only(reqwest::Certificate::from_pem_bundle(ca)?);
    }
    if let Some(id) = &opts.tls.identity_pem {
        b = b.identity(reqwest::Identity::from_pem(id)?);
    }
    if opts.tls.skip_verify {
        b = b.tls_danger_accept_invalid_certs(true);
    }
    b.build()
}

/// Clients by the options they were built with: mirrors with the same
/// TLS and proxy settings share one client, and so its open connections
/// (a round of no-change syncs of many mirrors on one host then costs one
/// round trip each, not a new connection each).
#[derive(Default)]
pub struct Clients(std::sync::Mutex<std::collections::HashMap<Vec<u8>, reqwest::Client>>);

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map_or(0, |m| m.len());
        write!(f, "Clients({n})")
    }
}

impl Clients {
    /// The client for `opts`, built on first use.
    pub fn get(&self, opts: &ClientOptions) -> Result<reqwest::Client, reqwest::Error> {
        let key = client_key(opts);
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(c) = map.get(&key) {
            return Ok(c.clone());
        }
        let c = client(opts)?;
        map.insert(key, c.clone());
        Ok(c)
    }
}

/// Every setting of `opts`, length-prefixed: equal keys, equal clients.
fn client_key(opts: &ClientOptions) -> Vec<u8> {
    let mut k = Vec::new();
    let mut put = |b: &[u8]| {
        k.extend_from_slice(&(b.len() as u64).to_le_bytes());
        k.extend_from_slice(b);
    };
    let dur = |d: Option<Duration>| d.map_or(u128::MAX, |d| d.as_nanos()).to_le_bytes();
    put(opts.user_agent.as_bytes());
    put(&dur(Some(opts.connect_timeout)));
    put(&dur(opts.read_timeout));
    put(&dur(opts.total_timeout));
    put(&(opts.pool_per_host as u64).to_le_bytes());
    put(&[u8::from(opts.env_proxy), u8::from(opts.tls.skip_verify)]);
    match &opts.proxy {
        Some(p) => {
            put(b"proxy");
            put(p.url.as_bytes());
            put(p.username.as_deref().unwrap_or("\0").as_bytes());
            put(p.password.as_deref().unwrap_or("\0").as_bytes());
        }
        None => put(b"no proxy"),
    }
    put(opts.tls.ca_pem.as_deref().unwrap_or(b"\0"));
    put(opts.tls.identity_pem.as_deref().unwrap_or(b"\0"));
    k
}

/// Redirects are followed within http(s) only, at most 10, never in a
/// loop; a refusal says where the redirect pointed and why. (A redirect to
/// another scheme is not even offered to the policy by reqwest: it comes
/// back as the 3xx response, which callers report with [`location`].)
pub fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let to = attempt.url().clone();
        if !matches!(to.scheme(), "http" | "https") {
            let msg = format!(
                "redirected to {}: refused, only redirects to http and https are followed",
                redact(to.as_str())
            );
            return attempt.error(msg);
        }
        if attempt.previous().contains(&to) {
            let msg = format!(
                "redirected to {} again: a redirect loop",
                redact(to.as_str())
            );
            return attempt.error(msg);
        }
        if attempt.previous().len() > 10 {
            let msg = format!(
                "redirected to {}: more than 10 redirects",
                redact(to.as_str())
            );
            return attempt.error(msg);
        }
        attempt.follow()
    })
}

/// Where a 3xx response pointed, for an error message.
pub fn location(resp: &reqwest::Response) -> String {
    resp.headers().get(reqwest::header::LOCATION).map_or_else(
        || "nowhere (no Location header)".into(),
        |l| {
            redact(
                &String::from_utf8_lossy(l.as_bytes())
                    .chars()
                    .take(200)
                    .collect::<String>(),
            )
        },
    )
}

/// Whether a failure deserves another attempt.
pub trait Transient {
    fn is_transient(&self) -> bool;
}

/// Is an HTTP status worth retrying (5xx, 429 Too Many Requests, 408)?
pub fn transient_status(status: u16) -> bool {
    status >= 500 || status == 429 || status == 408
}

/// Is a request error worth retrying? Connection errors, timeouts and
/// bodies cut short are; a refused redirect or a bad URL is not.
pub fn transient_error(e: &reqwest::Error) -> bool {
    !e.is_redirect() && !e.is_builder()
}

/// Exponential backoff: the first delay, doubled each retry, capped at 30 s.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
}

impl Backoff {
    pub fn delay(self, retry: u32) -> Duration {
        self.first
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)))
            .min(Duration::from_secs(30))
    }
}

/// Run `attempt` until it succeeds, fails for good, or `retries` retries
/// are spent; `on_retry(error, retry, delay)` is told before each wait.
pub async fn retry<T, E, F, Fut>(
    retries: u32,
    backoff: Backoff,
    mut attempt: F,
    mut on_retry: impl FnMut(&E, u32, Duration),
) -> Result<T, E>
where
    E: Transient,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_transient() && tries < retries => {
                tries += 1;
                let delay = backoff.delay(tries);
                on_retry(&e, tries, delay);
                tokio::time::sleep(delay).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Why a capped body could not be had.
#[derive(Debug)]
pub enum CapError {
    /// More than the limit (declared or received).
    TooLarge { limit: u64 },
    /// The connection failed while reading.
    Body(reqwest::Error),
}

/// Read a response body whole, failing as soon as it exceeds `limit`
/// bytes; `on_chunk` sees each chunk's length (for counters and progress).
pub async fn read_capped(
    mut resp: reqwest::Response,
    limit: u64,
    mut on_chunk: impl FnMut(u64),
) -> Result<Vec<u8>, CapError> {
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(CapError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(CapError::Body)? {
        on_chunk(chunk.len() as u64);
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(CapError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A URL as it may be shown: a password in it is masked; anything that is
/// not a URL is returned as it is.
pub fn redact(s: &str) -> String {
    match url::Url::parse(s) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let b = Backoff {
            first: Duration::from_millis(500),
        };
        assert_eq!(b.delay(1), Duration::from_millis(500));
        assert_eq!(b.delay(2), Duration::from_secs(1));
        assert_eq!(b.delay(3), Duration::from_secs(2));
        assert_eq!(b.delay(10), Duration::from_secs(30));
    }

    #[test]
    fn clients_are_shared_only_between_equal_settings() {
        let a = ClientOptions::new("t/1");
        let mut b = a.clone();
        assert_eq!(client_key(&a), client_key(&b));
        b.tls.identity_pem = Some(b"cert and key".to_vec());
        assert_ne!(client_key(&a), client_key(&b));
        let mut c = a.clone();
        c.proxy = Some(ProxyVia {
            url: "http://p:3128".into(),
            username: Some("u".into()),
            password: Some("one".into()),
        });
        let mut d = c.clone();
        d.proxy.as_mut().unwrap().password = Some("two".into());
        assert_ne!(client_key(&c), client_key(&d));
        let clients = Clients::default();
        clients.get(&a).unwrap();
        clients.get(&a.clone()).unwrap();
        clients.get(&c).unwrap();
        assert_eq!(format!("{clients:?}"), "Clients(2)");
    }

    #[test]
    fn statuses_and_redaction() {
        for (s, t) in [
            (500, true),
            (503, true),
            (429, true),
            (408, true),
            (404, false),
            (403, false),
            (302, false),
        ] {
            assert_eq!(transient_status(s), t, "{s}");
        }
        assert_eq!(redact("http://u:secret@h/x"), "http://u:***@h/x");
        assert_eq!(redact("http://h/x"), "http://h/x");
        assert_eq!(redact("not a url"), "not a url");
    }

    #[derive(Debug)]
    struct E(bool);
    impl Transient for E {
        fn is_transient(&self) -> bool {
            self.0
        }
    }

    #[test]
    fn retry_counts_and_stops_on_permanent_errors() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let b = Backoff {
            first: Duration::from_millis(1),
        };
        let mut calls = 0;
        let mut seen = Vec::new();
        let r: Result<(), E> = rt.block_on(retry(
            3,
            b,
            || {
                calls += 1;
                async { Err(E(true)) }
            },
            |_, n, _| seen.push(n),
        ));
        assert!(r.is_err());
        assert_eq!((calls, seen), (4, vec![1, 2, 3]));
        let mut calls = 0;
        let r: Result<(), E> = rt.block_on(retry(
            3,
            b,
            || {
                calls += 1;
                async { Err(E(false)) }
            },
            |_, _, _| {},
        ));
        assert!(r.is_err());
        assert_eq!(calls, 1);
    }
}
