//! The bucket: an S3-compatible store behind `object_store`, the keys of
//! the tree under its prefix, and the few operations publishing needs
//! (get with its ETag, put, list, copy, multipart upload).

use std::collections::HashSet;
use std::path::PathBuf;

use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, S3ConditionalPut};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use mirror_index::{MirrorName, SnapshotName};

use crate::access::{Secret, SecretSource};
use crate::config::S3Spec;
use crate::store::StoreError;

/// Files above this size go up in parts.
const MULTIPART_OVER: u64 = 32 << 20;
/// Part size of multipart uploads.
const PART: usize = 16 << 20;
/// Uploads in flight at once.
pub(super) const PARALLEL: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("publish: {0}")]
    Config(String),
    #[error("{what} {key}")]
    Bucket {
        what: &'static str,
        key: String,
        #[source]
        source: object_store::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the index {key} kept changing under other publishers; gave up after {tries} tries")]
    Contended { key: String, tries: u32 },
}

/// A credential (the config allows only files and the environment), trimmed.
fn secret(what: &'static str, src: &SecretSource) -> Result<Secret, PublishError> {
    crate::access::secret(what, src)
        .map(|s| Secret::new(s.expose().trim()))
        .map_err(|e| PublishError::Config(e.to_string()))
}

/// A bucket and the prefix the tree lives under.
pub struct Bucket {
    pub(super) store: AmazonS3,
    pub(super) prefix: String,
    /// What clients read the bucket at.
    pub public_url: String,
    /// For messages: `s3://bucket/prefix`.
    pub shown: String,
    pub layout: crate::config::BucketLayout,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl Bucket {
    /// Connect (nothing is sent yet); credentials are read here.
    pub fn open(spec: &S3Spec) -> Result<Self, PublishError> {
        let access = secret("access_key", &spec.access_key)?;
        let secret_key = secret("secret_key", &spec.secret_key)?;
        let store = AmazonS3Builder::new()
            .with_endpoint(&spec.endpoint)
            .with_bucket_name(&spec.bucket)
            .with_region(&spec.region)
            .with_access_key_id(access.expose())
            .with_secret_access_key(secret_key.expose())
            .with_allow_http(spec.endpoint.starts_with("http://"))
            .with_virtual_hosted_style_request(false)
            .with_conditional_put(S3ConditionalPut::ETagMatch)
            .build()
            .map_err(|e| {
                PublishError::Config(format!(
                    "s3 endpoint {}: {e}",
                    mirror_http::redact(&spec.endpoint)
                ))
            })?;
        Ok(Self {
            store,
            prefix: spec.prefix.clone(),
            public_url: spec.public_url.clone(),
            shown: format!("s3://{}/{}", spec.bucket, spec.prefix),
            layout: spec.layout,
        })
    }

    /// The key of `rel` (a path in the tree).
    pub fn key(&self, rel: &str) -> Key {
        let full = if self.prefix.is_empty() {
            rel.to_owned()
        } else {
            format!("{}/{rel}", self.prefix)
        };
        // parse keeps names as they are ('~', '+', '%' ...); only empty
        // segments and `.`/`..` are refused, which local trees never have.
        Key::parse(&full).unwrap_or_else(|_| Key::from(full.as_str()))
    }

    pub(super) fn err(
        what: &'static str,
        key: &Key,
    ) -> impl FnOnce(object_store::Error) -> PublishError {
        let key = key.to_string();
        move |source| PublishError::Bucket { what, key, source }
    }

    /// The bytes at `key`, when it exists, with its ETag.
    pub async fn get(&self, key: &Key) -> Result<Option<(Vec<u8>, Option<String>)>, PublishError> {
        match self.store.get(key).await {
            Ok(r) => {
                let etag = r.meta.e_tag.clone();
                let b = r.bytes().await.map_err(Self::err("reading", key))?;
                Ok(Some((b.to_vec(), etag)))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Self::err("reading", key)(e)),
        }
    }

    /// Does `key` exist (and with which size)?
    pub async fn size_of(&self, key: &Key) -> Result<Option<u64>, PublishError> {
        match self.store.head(key).await {
            Ok(m) => Ok(Some(m.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Self::err("reading", key)(e)),
        }
    }

    pub async fn put(&self, key: &Key, data: Vec<u8>) -> Result<(), PublishError> {
        self.store
            .put(key, PutPayload::from(data))
            .await
            .map(|_| ())
            .map_err(Self::err("uploading", key))
    }

    /// Every key under `rel/` (relative to `rel`).
    pub async fn list(&self, rel: &str) -> Result<HashSet<String>, PublishError> {
        let base = self.key(rel);
        let strip = format!("{base}/");
        self.store
            .list(Some(&base))
            .map_ok(|m| {
                m.location
                    .as_ref()
                    .strip_prefix(&strip)
                    .unwrap_or(m.location.as_ref())
                    .to_owned()
            })
            .try_collect()
            .await
            .map_err(Self::err("listing", &base))
    }

    /// What lies right under `rel`: the names of its "directories" and of
    /// its objects (files).
    pub async fn entries(&self, rel: &str) -> Result<(Vec<String>, Vec<String>), PublishError> {
        let base = self.key(rel);
        let r = self
            .store
            .list_with_delimiter(Some(&base))
            .await
            .map_err(Self::err("listing", &base))?;
        let names = |keys: Vec<&Key>| -> Vec<String> {
            keys.into_iter()
                .filter_map(|k| k.filename().map(str::to_owned))
                .collect()
        };
        Ok((
            names(r.common_prefixes.iter().collect()),
            names(r.objects.iter().map(|m| &m.location).collect()),
        ))
    }

    pub async fn dirs(&self, rel: &str) -> Result<Vec<String>, PublishError> {
        Ok(self.entries(rel).await?.0)
    }

    pub async fn files(&self, rel: &str) -> Result<Vec<String>, PublishError> {
        Ok(self.entries(rel).await?.1)
    }

    pub(super) async fn exists(&self, key: &Key) -> Result<bool, PublishError> {
        match self.store.head(key).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(Self::err("checking", key)(e)),
        }
    }

    pub(super) async fn delete(&self, key: &Key) -> Result<(), PublishError> {
        match self.store.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(Self::err("deleting", key)(e)),
        }
    }

    /// Upload a local file (in parts when large).
    pub(super) async fn upload_file(
        &self,
        key: &Key,
        path: &std::path::Path,
        size: u64,
    ) -> Result<(), PublishError> {
        let io = |source| PublishError::Io {
            path: path.to_path_buf(),
            source,
        };
        let over = std::env::var(crate::env_vars::MULTIPART_OVER)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(MULTIPART_OVER);
        if size <= over {
            let data = tokio::fs::read(path).await.map_err(io)?;
            return self.put(key, data).await;
        }
        let upload = self
            .store
            .put_multipart(key)
            .await
            .map_err(Self::err("starting an upload of", key))?;
        let mut w = object_store::WriteMultipart::new_with_chunk_size(upload, PART);
        let mut f = tokio::fs::File::open(path).await.map_err(io)?;
        let mut buf = vec![0u8; PART];
        loop {
            let n = tokio::io::AsyncReadExt::read(&mut f, &mut buf)
                .await
                .map_err(io)?;
            if n == 0 {
                break;
            }
            w.wait_for_capacity(4)
                .await
                .map_err(Self::err("uploading", key))?;
            w.write(&buf[..n]);
        }
        w.finish()
            .await
            .map_err(Self::err("finishing the upload of", key))?;
        Ok(())
    }
}
/// The snapshots of a mirror the bucket holds completely (their
/// `repomd.xml` is there; it goes up last).
pub async fn complete_in_bucket(
    bucket: &Bucket,
    name: &MirrorName,
) -> Result<Vec<SnapshotName>, PublishError> {
    let mut out = Vec::new();
    for d in bucket.dirs(name.as_str()).await? {
        if let Ok(s) = SnapshotName::parse(&d)
            && bucket
                .exists(&bucket.key(&format!("{name}/{s}/repodata/repomd.xml")))
                .await?
        {
            out.push(s);
        }
    }
    out.sort();
    Ok(out)
}
