//! How a mirror reaches its upstream: TLS client certificates and CA
//! bundles (the RHEL CDN's entitlement cert + key + `redhat-uep.pem`), HTTP
//! basic auth, and an outbound proxy, configured with dnf's option names.
//!
//! Invariants:
//! - everything is read and checked before the first request: an
//!   unreadable file, a certificate that has expired or is not valid yet,
//!   a key that does not match its certificate, a password variable that
//!   is not set are errors naming the file or variable;
//! - a password (inline, from a file or from the environment) is held in a
//!   [`Secret`], whose `Debug` and `Display` print `***`: it reaches the
//!   wire and nothing else (no log, report, listing or error message);
//! - basic-auth credentials go only to the hosts of the mirror's own
//!   upstream, never to another mirror of a mirrorlist or an `xml:base`
//!   host (and reqwest drops them on a redirect to another host).

use std::path::{Path, PathBuf};

use mirror_http::{ProxyVia, Tls};

/// A secret string that never shows itself.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Where a password comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Value(Secret),
    /// A file whose first line is the password.
    File(PathBuf),
    /// An environment variable holding it.
    Env(String),
}

/// The proxy a mirror uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ProxySpec {
    /// `http_proxy`/`https_proxy`/`no_proxy` from the environment.
    #[default]
    Environment,
    /// `_none_` (or an empty value): connect directly.
    Direct,
    /// `http://`, `https://` or `socks5://` URL.
    Url(String),
}

/// A mirror's access settings as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessSpec {
    pub sslcacert: Option<PathBuf>,
    pub sslclientcert: Option<PathBuf>,
    pub sslclientkey: Option<PathBuf>,
    pub sslverify: bool,
    pub username: Option<String>,
    pub password: Option<SecretSource>,
    pub proxy: ProxySpec,
    pub proxy_username: Option<String>,
    pub proxy_password: Option<SecretSource>,
}

impl Default for AccessSpec {
    fn default() -> Self {
        Self {
            sslcacert: None,
            sslclientcert: None,
            sslclientkey: None,
            sslverify: true,
            username: None,
            password: None,
            proxy: ProxySpec::Environment,
            proxy_username: None,
            proxy_password: None,
        }
    }
}

impl AccessSpec {
    /// The same settings without anything that proves who we are: basic
    /// auth, the client certificate and key, and proxy credentials. CA
    /// bundles, `sslverify` and the proxy itself stay.
    #[must_use]
    pub fn without_credentials(&self) -> Self {
        let proxy = match &self.proxy {
            ProxySpec::Url(u) => ProxySpec::Url(url::Url::parse(u).map_or_else(
                |_| u.clone(),
                |mut p| {
                    let _ = p.set_username("");
                    let _ = p.set_password(None);
                    p.to_string()
                },
            )),
            other => other.clone(),
        };
        Self {
            proxy,
            sslclientcert: None,
            sslclientkey: None,
            username: None,
            password: None,
            proxy_username: None,
            proxy_password: None,
            ..self.clone()
        }
    }
}

/// Access settings read, checked and ready for the HTTP client.
#[derive(Debug, Clone, Default)]
pub struct Access {
    pub tls: Tls,
    /// `None`: the environment's proxy (or `direct` says none).
    pub proxy: Option<ProxyVia>,
    pub direct: bool,
    /// Basic auth for the upstream's own hosts.
    pub auth: Option<(String, Secret)>,
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("cannot read {option} {}", path.display())]
    Read {
        option: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{option} {}: {message}", path.display())]
    Invalid {
        option: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error("sslclientkey {} does not match sslclientcert {}", key.display(), cert.display())]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error("{option}: the environment variable {name} is not set")]
    Env { option: &'static str, name: String },
    #[error("{0}")]
    Config(String),
}

fn read(option: &'static str, path: &Path) -> Result<Vec<u8>, AccessError> {
    std::fs::read(path).map_err(|source| AccessError::Read {
        option,
        path: path.to_path_buf(),
        source,
    })
}

/// The secret `src` gives: the value, a file's first line, or an
/// environment variable; errors name `option` and the file or variable.
pub fn secret(option: &'static str, src: &SecretSource) -> Result<Secret, AccessError> {
    match src {
        SecretSource::Value(s) => Ok(s.clone()),
        SecretSource::File(p) => {
            let bytes = read(option, p)?;
            let text = String::from_utf8_lossy(&bytes);
            Ok(Secret::new(text.lines().next().unwrap_or("")))
        }
        SecretSource::Env(name) => {
            std::env::var(name)
                .map(Secret::new)
                .map_err(|_| AccessError::Env {
                    option,
                    name: name.clone(),
                })
        }
    }
}

/// Every certificate of a PEM file must be valid at `now`.
fn check_certificates(
    option: &'static str,
    path: &Path,
    pem: &[u8],
    now: i64,
    check_dates: bool,
) -> Result<(), AccessError> {
    let invalid = |message: String| AccessError::Invalid {
        option,
        path: path.to_path_buf(),
        message,
    };
    let mut found = 0;
    for block in x509_parser::pem::Pem::iter_from_buffer(pem) {
        let block = block.map_err(|e| invalid(format!("not a PEM file: {e}")))?;
        if block.label != "CERTIFICATE" {
            continue;
        }
        found += 1;
        let cert = block
            .parse_x509()
            .map_err(|e| invalid(format!("not an X.509 certificate: {e}")))?;
        let validity = cert.validity();
        let subject = cert.subject().to_string();
        if check_dates && validity.not_after.timestamp() < now {
            return Err(invalid(format!(
                "the certificate for {subject} expired on {}",
                validity.not_after
            )));
        }
        if check_dates && validity.not_before.timestamp() > now {
            return Err(invalid(format!(
                "the certificate for {subject} is not valid before {}",
                validity.not_before
            )));
        }
    }
    if found == 0 {
        return Err(invalid("holds no PEM certificate".into()));
    }
    Ok(())
}

impl AccessSpec {
    /// Read and check everything (see the module docs). `now` is a Unix time.
    pub fn resolve(&self, now: i64) -> Result<Access, AccessError> {
        let mut tls = Tls {
            skip_verify: !self.sslverify,
            ..Tls::default()
        };
        if let Some(p) = &self.sslcacert {
            let pem = read("sslcacert", p)?;
            check_certificates("sslcacert", p, &pem, now, false)?;
            tls.ca_pem = Some(pem);
        }
        match (&self.sslclientcert, &self.sslclientkey) {
            (Some(cert), key) => {
                let mut pem = read("sslclientcert", cert)?;
                check_certificates("sslclientcert", cert, &pem, now, true)?;
                if let Some(k) = key {
                    pem.push(b'\n');
                    pem.extend(read("sslclientkey", k)?);
                }
                // rustls refuses a key that does not match the certificate.
                let mut probe = mirror_http::ClientOptions::new("probe");
                probe.tls.identity_pem = Some(pem.clone());
                if let Err(e) = mirror_http::client(&probe) {
                    let chain = mirror_index::error_chain(&e);
                    return Err(match key {
                        Some(k)
                            if chain.contains("KeyMismatch")
                                || chain.contains("InconsistentKeys") =>
                        {
                            AccessError::KeyMismatch {
                                cert: cert.clone(),
                                key: k.clone(),
                            }
                        }
                        _ => AccessError::Invalid {
                            option: if key.is_some() {
                                "sslclientkey"
                            } else {
                                "sslclientcert"
                            },
                            path: key.clone().unwrap_or_else(|| cert.clone()),
                            message: "no usable private key for the client certificate".into(),
                        },
                    });
                }
                tls.identity_pem = Some(pem);
            }
            (None, Some(_)) => {
                return Err(AccessError::Config(
                    "sslclientkey is set but sslclientcert is not".into(),
                ));
            }
            (None, None) => {}
        }
        let auth = match (&self.username, &self.password) {
            (Some(u), Some(p)) => Some((u.clone(), secret("password", p)?)),
            (Some(u), None) => Some((u.clone(), Secret::new(""))),
            (None, Some(_)) => {
                return Err(AccessError::Config(
                    "a password is set but no username".into(),
                ));
            }
            (None, None) => None,
        };
        let (proxy, direct) = match &self.proxy {
            ProxySpec::Environment => (None, false),
            ProxySpec::Direct => (None, true),
            ProxySpec::Url(u) => {
                let parsed = url::Url::parse(u).map_err(|e| {
                    AccessError::Config(format!("proxy {}: {e}", mirror_http::redact(u)))
                })?;
                if !matches!(parsed.scheme(), "http" | "https" | "socks5" | "socks5h") {
                    return Err(AccessError::Config(format!(
                        "proxy {}: use an http, https or socks5 URL, or _none_",
                        mirror_http::redact(u)
                    )));
                }
                let password = self
                    .proxy_password
                    .as_ref()
                    .map(|p| secret("proxy_password", p))
                    .transpose()?;
                (
                    Some(ProxyVia {
                        url: u.clone(),
                        username: self.proxy_username.clone(),
                        password: password.map(|p| p.expose().to_owned()),
                    }),
                    false,
                )
            }
        };
        Ok(Access {
            tls,
            proxy,
            direct,
            auth,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        let spec = AccessSpec {
            password: Some(SecretSource::Value(s)),
            username: Some("u".into()),
            ..AccessSpec::default()
        };
        assert!(!format!("{spec:?}").contains("hunter2"));
        let a = spec.resolve(0).unwrap();
        assert!(!format!("{a:?}").contains("hunter2"));
        assert_eq!(a.auth.unwrap().1.expose(), "hunter2");
    }

    #[test]
    fn sources_and_config_errors() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("pw");
        std::fs::write(&f, "from-file\nignored\n").unwrap();
        let spec = |p| AccessSpec {
            username: Some("u".into()),
            password: Some(p),
            ..AccessSpec::default()
        };
        let a = spec(SecretSource::File(f)).resolve(0).unwrap();
        assert_eq!(a.auth.unwrap().1.expose(), "from-file");
        let err = spec(SecretSource::Env("MIRROR_TEST_SURELY_UNSET".into()))
            .resolve(0)
            .unwrap_err();
        assert!(
            err.to_string().contains("MIRROR_TEST_SURELY_UNSET"),
            "{err}"
        );
        let err = spec(SecretSource::File(d.path().join("nope")))
            .resolve(0)
            .unwrap_err();
        assert!(
            err.to_string().contains("cannot read password") && err.to_string().contains("nope"),
            "{err}"
        );
        let bad = AccessSpec {
            proxy: ProxySpec::Url("ftp://p:secret@x/".into()),
            ..AccessSpec::default()
        };
        let err = bad.resolve(0).unwrap_err().to_string();
        assert!(err.contains("socks5") && !err.contains("secret"), "{err}");
    }
}
