//! Signatures checked at sync, so that nothing unverified ever becomes a
//! snapshot: repomd.xml against its detached `repomd.xml.asc`, and each
//! RPM's header signature (and, through it, the payload digest) against
//! the mirror's pinned keys. Pure Rust: the `pgp` crate for OpenPGP, the
//! `rpm` crate for RPM headers; no gpg is run.
//!
//! Invariants: a key is used only when its bindings verify, it is not
//! revoked and not expired at the time of the check; the component that
//! actually made a signature is judged, a subkey as well as its primary
//! (binding valid, signing-capable, not revoked, not expired); only the
//! pinned keys of a key file holding several are kept; a key given by an
//! https URL is used only when its fingerprint is pinned; every refusal
//! names the file or URL and the key ids involved.

use std::io::Read as _;
use std::path::Path;

use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};
use pgp::types::KeyDetails;

/// A set of public keys to verify against.
#[derive(Clone, Default)]
pub struct Keyring {
    keys: Vec<SignedPublicKey>,
    /// The armored text of every key kept (for the rpm crate's verifier).
    armored: Vec<String>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.fingerprints()).finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("{source_name}: not an OpenPGP public key: {message}")]
    BadKey {
        source_name: String,
        message: String,
    },
    #[error("no key of {} has a pinned fingerprint ({})", sources.join(", "), pinned.join(", "))]
    NotPinned {
        sources: Vec<String>,
        pinned: Vec<String>,
    },
    #[error("{what}: not signed (no {missing})")]
    Unsigned { what: String, missing: String },
    #[error(
        "{what}: signature by key {key_ids} does not verify with the pinned keys ({pinned}){detail}"
    )]
    BadSignature {
        what: String,
        key_ids: String,
        pinned: String,
        detail: String,
    },
    #[error("{what}: signed by key {key_ids}, which {why}")]
    KeyUnusable {
        what: String,
        key_ids: String,
        why: String,
    },
    #[error("{what}: {message}")]
    Package { what: String, message: String },
}

fn upper_hex(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

/// A fingerprint as written in configs: hex, spaces and case ignored.
pub fn normalize_fingerprint(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .trim_start_matches("0x")
        .to_ascii_uppercase()
}

/// A time for messages.
fn show_time(secs: i64) -> String {
    jiff::Timestamp::from_second(secs).map_or_else(|_| secs.to_string(), |t| t.to_string())
}

/// Seconds since the epoch of a pgp timestamp.
fn secs(t: pgp::types::Timestamp) -> i64 {
    i64::from(t.as_secs())
}

impl Keyring {
    /// Load every key of the armored `sources` (label, text). With
    /// `pinned` fingerprints, only those keys are kept, and at least one
    /// must be found.
    pub fn load(sources: &[(String, String)], pinned: &[String]) -> Result<Self, TrustError> {
        let pinned: Vec<String> = pinned.iter().map(|p| normalize_fingerprint(p)).collect();
        let mut ring = Self::default();
        for (label, text) in sources {
            let bad = |message: String| TrustError::BadKey {
                source_name: label.clone(),
                message,
            };
            let (keys, _) =
                SignedPublicKey::from_string_many(text).map_err(|e| bad(e.to_string()))?;
            let mut found = 0;
            for key in keys {
                let key = key.map_err(|e| bad(e.to_string()))?;
                key.verify_bindings()
                    .map_err(|e| bad(format!("bad key bindings: {e}")))?;
                found += 1;
                let fp = upper_hex(key.fingerprint().as_bytes());
                if pinned.is_empty() || pinned.contains(&fp) {
                    // This key alone, not the whole file: a file holding
                    // keys A and B with only A pinned must not let B verify.
                    let armored = key
                        .to_armored_string(pgp::composed::ArmorOptions::default())
                        .map_err(|e| bad(format!("cannot re-armor key {fp}: {e}")))?;
                    ring.armored.push(armored);
                    ring.keys.push(key);
                }
            }
            if found == 0 {
                return Err(bad("no public key in it".into()));
            }
        }
        if !pinned.is_empty() && ring.keys.is_empty() {
            return Err(TrustError::NotPinned {
                sources: sources.iter().map(|(l, _)| l.clone()).collect(),
                pinned,
            });
        }
        Ok(ring)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn fingerprints(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|k| upper_hex(k.fingerprint().as_bytes()))
            .collect()
    }

    fn pinned_list(&self) -> String {
        self.fingerprints().join(", ")
    }

    /// Whether the component of `key` with key id `id` (the primary or one
    /// of its subkeys) may sign at `now`: `Err(why)` when not. `None` for
    /// an id that is no component of `key`.
    fn signer_state(key: &SignedPublicKey, id: &[u8], now: i64) -> Option<Result<(), String>> {
        let state = |why: Option<String>| why.map_or(Ok(()), Err);
        if key.primary_key.legacy_key_id().as_ref() == id {
            return Some(state(
                Self::unusable(key, now).or_else(|| Self::primary_cannot_sign(key)),
            ));
        }
        let sub = key
            .public_subkeys
            .iter()
            .find(|sk| sk.key.legacy_key_id().as_ref() == id)?;
        Some(state(Self::unusable(key, now).map_or_else(
            || Self::subkey_unusable(sub, now),
            |why| Some(format!("has a primary key that {why}")),
        )))
    }

    /// A primary key whose newest self-signature gives key flags without
    /// "sign" is not a signing key (keys without flags are old and allowed).
    fn primary_cannot_sign(key: &SignedPublicKey) -> Option<String> {
        let newest = Self::newest_self_sig(key)?;
        let flags = newest.key_flags();
        let any =
            flags.sign() || flags.certify() || flags.encrypt_comms() || flags.encrypt_storage();
        (any && !flags.sign()).then(|| "is not a signing key (its key flags lack \"sign\")".into())
    }

    /// Why a subkey may not sign at `now`: revoked, no binding, bound
    /// without the signing flag, or expired.
    fn subkey_unusable(sub: &pgp::composed::SignedPublicSubKey, now: i64) -> Option<String> {
        use pgp::packet::SignatureType;
        let id = upper_hex(sub.key.legacy_key_id().as_ref());
        if sub
            .signatures
            .iter()
            .any(|s| s.typ() == Some(SignatureType::SubkeyRevocation))
        {
            return Some(format!("is subkey {id}, which is revoked"));
        }
        let Some(binding) = sub
            .signatures
            .iter()
            .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding))
            .max_by_key(|s| s.created().map_or(0, secs))
        else {
            return Some(format!("is subkey {id}, which has no binding signature"));
        };
        if !binding.key_flags().sign() {
            return Some(format!("is subkey {id}, which is not bound for signing"));
        }
        if let Some(expiry) = binding.key_expiration_time() {
            let until = secs(sub.key.created_at()) + i64::from(expiry.as_secs());
            if until < now {
                return Some(format!(
                    "is subkey {id}, which expired on {}",
                    show_time(until)
                ));
            }
        }
        None
    }

    /// The primary's newest self-signature (user ids' and direct ones):
    /// what its flags and expiry currently are.
    fn newest_self_sig(key: &SignedPublicKey) -> Option<&pgp::packet::Signature> {
        key.details
            .users
            .iter()
            .flat_map(|u| u.signatures.iter())
            .chain(key.details.direct_signatures.iter())
            .max_by_key(|s| s.created().map_or(0, secs))
    }

    /// Why `key` (its primary) may not be used at `now`, if so.
    fn unusable(key: &SignedPublicKey, now: i64) -> Option<String> {
        if !key.details.revocation_signatures.is_empty() {
            return Some("is revoked".into());
        }
        let created = secs(key.primary_key.created_at());
        if let Some(expiry) =
            Self::newest_self_sig(key).and_then(pgp::packet::Signature::key_expiration_time)
        {
            let until = created + i64::from(expiry.as_secs());
            if until < now {
                return Some(format!("expired on {}", show_time(until)));
            }
        }
        None
    }

    /// Verify a detached armored signature `asc` of `data` (`what` names
    /// the signed file in errors). Returns the fingerprint of the key that
    /// signed it.
    pub fn verify_detached(
        &self,
        what: &str,
        data: &[u8],
        asc: &[u8],
        now: i64,
    ) -> Result<String, TrustError> {
        let (sig, _) =
            DetachedSignature::from_armor_single(std::io::Cursor::new(asc)).map_err(|e| {
                TrustError::BadSignature {
                    what: what.to_owned(),
                    key_ids: "?".into(),
                    pinned: self.pinned_list(),
                    detail: format!(": unreadable signature: {e}"),
                }
            })?;
        let issuers: Vec<String> = sig
            .signature
            .issuer_key_id()
            .iter()
            .map(|k| upper_hex(k.as_ref()))
            .chain(
                sig.signature
                    .issuer_fingerprint()
                    .iter()
                    .map(|f| upper_hex(f.as_bytes())),
            )
            .collect();
        let key_ids = if issuers.is_empty() {
            "?".to_owned()
        } else {
            issuers.join("/")
        };
        for key in &self.keys {
            // The component that made the signature is judged, with its primary.
            let signer = std::iter::once(key.primary_key.legacy_key_id())
                .filter(|_| sig.verify(&key.primary_key, data).is_ok())
                .chain(
                    key.public_subkeys
                        .iter()
                        .filter(|sk| sig.verify(&sk.key, data).is_ok())
                        .map(|sk| sk.key.legacy_key_id()),
                )
                .next();
            if let Some(id) = signer {
                if let Some(Err(why)) = Self::signer_state(key, id.as_ref(), now) {
                    return Err(TrustError::KeyUnusable {
                        what: what.to_owned(),
                        key_ids,
                        why,
                    });
                }
                return Ok(upper_hex(key.fingerprint().as_bytes()));
            }
        }
        Err(TrustError::BadSignature {
            what: what.to_owned(),
            key_ids,
            pinned: self.pinned_list(),
            detail: String::new(),
        })
    }

    /// Verify an RPM file's header signature (which covers the payload
    /// digest) and its payload against that digest.
    pub fn verify_rpm(&self, what: &str, path: &Path, now: i64) -> Result<(), TrustError> {
        let pkg_err = |message: String| TrustError::Package {
            what: what.to_owned(),
            message,
        };
        let file = std::fs::File::open(path).map_err(|e| pkg_err(e.to_string()))?;
        let mut reader = std::io::BufReader::new(file);
        let meta = rpm::PackageMetadata::parse(&mut reader)
            .map_err(|e| pkg_err(format!("not an RPM: {e}")))?;
        let mut verifier = rpm::signature::pgp::Verifier::new();
        for a in &self.armored {
            verifier
                .load_from_asc(a)
                .map_err(|e| pkg_err(format!("key: {e}")))?;
        }
        let key_ids = signer_key_ids(&meta);
        if key_ids.is_empty() {
            return Err(TrustError::Unsigned {
                what: what.to_owned(),
                missing: "RSA/DSA/EdDSA header signature".into(),
            });
        }
        if let Err(e) = meta.verify_signature(verifier) {
            return Err(TrustError::BadSignature {
                what: what.to_owned(),
                key_ids,
                pinned: self.pinned_list(),
                detail: format!(": {e}"),
            });
        }
        // The header signature covers the payload digest; check the payload.
        let want = meta
            .header
            .get_entry_data_as_string_array(rpm::IndexTag::RPMTAG_PAYLOADSHA256)
            .ok()
            .and_then(|v| v.first().map(|s| s.to_ascii_lowercase()));
        if let Some(want) = want {
            let mut h = <sha2::Sha256 as sha2::Digest>::new();
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = reader.read(&mut buf).map_err(|e| pkg_err(e.to_string()))?;
                if n == 0 {
                    break;
                }
                sha2::Digest::update(&mut h, &buf[..n]);
            }
            let got = hex::encode(sha2::Digest::finalize(h));
            if want.len() == 64 && got != want {
                return Err(pkg_err(format!(
                    "payload digest {got} does not match the signed header's {want}"
                )));
            }
        }
        // The component that signed (the primary or a subkey) must be
        // usable now, and so must its primary.
        let mut known = false;
        for id in key_ids.split('/').filter_map(|id| hex::decode(id).ok()) {
            for key in &self.keys {
                match Self::signer_state(key, &id, now) {
                    Some(Err(why)) => {
                        return Err(TrustError::KeyUnusable {
                            what: what.to_owned(),
                            key_ids,
                            why,
                        });
                    }
                    Some(Ok(())) => known = true,
                    None => {}
                }
            }
        }
        if !known {
            return Err(TrustError::BadSignature {
                what: what.to_owned(),
                key_ids,
                pinned: self.pinned_list(),
                detail: ": the signing key id is none of the pinned keys' or their subkeys'".into(),
            });
        }
        Ok(())
    }
}

/// The key ids of an RPM's header signature (empty when unsigned).
fn signer_key_ids(meta: &rpm::PackageMetadata) -> String {
    use rpm::IndexSignatureTag as T;
    let mut ids = Vec::new();
    for tag in [T::RPMSIGTAG_RSA, T::RPMSIGTAG_DSA, T::RPMSIGTAG_OPENPGP] {
        if let Ok(bytes) = meta.signature.get_entry_data_as_binary(tag) {
            let mut cursor = std::io::Cursor::new(bytes);
            for p in pgp::packet::PacketParser::new(&mut cursor).flatten() {
                if let pgp::packet::Packet::Signature(s) = p {
                    ids.extend(s.issuer_key_id().iter().map(|k| upper_hex(k.as_ref())));
                    // A v4 fingerprint ends with the key id.
                    ids.extend(s.issuer_fingerprint().iter().filter_map(|f| {
                        let b = f.as_bytes();
                        (b.len() == 20).then(|| upper_hex(&b[12..]))
                    }));
                }
            }
            if ids.is_empty() {
                ids.push("?".into());
            }
        }
    }
    ids.sort();
    ids.dedup();
    ids.join("/")
}
/// Why a mirror's keys could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Fetch(#[from] crate::fetch::FetchError),
    #[error(transparent)]
    Trust(#[from] TrustError),
}

/// Largest key file fetched.
const MAX_KEY_BYTES: u64 = 16 * 1024 * 1024;

/// A mirror's pinned keys: files and `file://` URLs read, `https://` (or
/// `http://`) keys fetched, which requires their fingerprints pinned.
pub async fn load_keyring(
    fetcher: &crate::fetch::Fetcher,
    trust: &crate::config::spec::TrustSpec,
) -> Result<Keyring, KeyringError> {
    let cfg = KeyringError::Config;
    if trust.gpgkeys.is_empty() {
        return Err(cfg("repo_gpgcheck/gpgcheck need gpgkey".into()));
    }
    let mut sources = Vec::new();
    for k in &trust.gpgkeys {
        let text = if k.starts_with("http://") || k.starts_with("https://") {
            if trust.fingerprints.is_empty() {
                return Err(cfg(format!(
                    "gpgkey {k} is fetched over the network: pin it with gpgkey_fingerprints"
                )));
            }
            let url = url::Url::parse(k).map_err(|e| cfg(format!("gpgkey {k}: {e}")))?;
            fetcher.get(&url, MAX_KEY_BYTES).await?.to_vec()
        } else {
            let path = match k.strip_prefix("file://") {
                Some(p) => std::path::PathBuf::from(p),
                None => std::path::PathBuf::from(k),
            };
            std::fs::read(&path)
                .map_err(|e| cfg(format!("cannot read gpgkey {}: {e}", path.display())))?
        };
        sources.push((k.clone(), String::from_utf8_lossy(&text).into_owned()));
    }
    Ok(Keyring::load(&sources, &trust.fingerprints)?)
}
