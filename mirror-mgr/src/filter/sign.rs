//! The mirror's own OpenPGP key: regenerated metadata cannot carry
//! upstream's signature, so `repomd.xml.asc` is made with this key, and its
//! public half is published as `<root>/<name>/RPM-GPG-KEY-mirror`.
//!
//! Invariants: the secret key and its passphrase never appear in output,
//! logs or errors (errors name the key file and what is wrong); a key that
//! cannot sign (wrong passphrase, no signing-capable key) fails the sync
//! before anything is downloaded.

use std::path::{Path, PathBuf};

use pgp::composed::{
    ArmorOptions, Deserializable, DetachedSignature, SignedPublicKey, SignedSecretKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::types::{KeyDetails, Password};

use crate::access::SecretSource;

/// The file beside a mirror's snapshots that holds its public signing key(s).
pub use mirror_index::layout::MIRROR_KEY as PUBLIC_KEY_FILE;

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("sign_key {}: {message}", path.display())]
    Key { path: PathBuf, message: String },
    #[error("sign_key passphrase: {0}")]
    Passphrase(String),
    #[error("signing repomd.xml with sign_key {}: {message}", path.display())]
    Sign { path: PathBuf, message: String },
}

/// A loaded secret key, ready to sign.
pub struct Signer {
    path: PathBuf,
    key: SignedSecretKey,
    password: Password,
    /// Upper-case hex fingerprint of the primary key.
    pub fingerprint: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("path", &self.path)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// Read the key (armored or binary) and check, by signing, that it
    /// can sign with the passphrase given.
    pub fn load(path: &Path, passphrase: Option<&SecretSource>) -> Result<Self, SignError> {
        let bad = |message: String| SignError::Key {
            path: path.to_path_buf(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
        let key = if bytes.starts_with(b"-----BEGIN") {
            SignedSecretKey::from_armor_single(bytes.as_slice()).map(|(k, _)| k)
        } else {
            SignedSecretKey::from_bytes(bytes.as_slice())
        }
        .map_err(|e| bad(format!("not an OpenPGP secret key ({e})")))?;
        key.verify_bindings()
            .map_err(|e| bad(format!("its self-signatures do not verify ({e})")))?;
        let password = match passphrase {
            Some(src) => Password::from(
                crate::access::secret("sign_key_passphrase", src)
                    .map_err(|e| SignError::Passphrase(e.to_string()))?
                    .expose(),
            ),
            None => Password::empty(),
        };
        let fingerprint = hex::encode_upper(key.fingerprint().as_bytes());
        let signer = Self {
            path: path.to_path_buf(),
            key,
            password,
            fingerprint,
        };
        signer.sign(b"mirror-mgr key check").map_err(|e| match e {
            SignError::Sign { message, .. } => bad(format!(
                "cannot sign with it ({message}); is the passphrase right?"
            )),
            other => other,
        })?;
        Ok(signer)
    }

    /// An armored detached signature of `data`, as `gpg --detach-sign --armor` makes.
    pub fn sign(&self, data: &[u8]) -> Result<String, SignError> {
        let err = |message: String| SignError::Sign {
            path: self.path.clone(),
            message,
        };
        let sig = DetachedSignature::sign_binary_data(
            rand::thread_rng(),
            &self.key.primary_key,
            &self.password,
            HashAlgorithm::Sha256,
            data,
        )
        .map_err(|e| err(e.to_string()))?;
        sig.to_armored_string(ArmorOptions::default())
            .map_err(|e| err(e.to_string()))
    }

    /// The public key, armored.
    pub fn public_armored(&self) -> Result<String, SignError> {
        self.key
            .to_public_key()
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| SignError::Key {
                path: self.path.clone(),
                message: format!("cannot export its public key: {e}"),
            })
    }
}

/// The text `RPM-GPG-KEY-mirror` should hold: what it holds now plus the
/// signer's public key when that is not among them yet (so snapshots signed
/// with an earlier key keep verifying after a key change). `None` when the
/// file already has the key.
pub fn public_key_file(
    existing: Option<&str>,
    signer: &Signer,
) -> Result<Option<String>, SignError> {
    let mut have = Vec::new();
    if let Some(text) = existing
        && let Ok((keys, _)) = SignedPublicKey::from_armor_many(text.as_bytes())
    {
        for k in keys.flatten() {
            have.push(hex::encode_upper(k.fingerprint().as_bytes()));
        }
    }
    if have.contains(&signer.fingerprint) {
        return Ok(None);
    }
    let mut out = existing.unwrap_or_default().to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&signer.public_armored()?);
    Ok(Some(out))
}
