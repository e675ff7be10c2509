//! The pool layout (`publish: s3: layout: pool`): each package stored once
//! in the bucket under `pool/sha256/<2 hex>/<sha256>/<file name>`, shared
//! by every snapshot and mirror of the bucket; a snapshot in the bucket
//! holds only its `repodata/`, whose primary points each package at the
//! pool (`<location xml:base="<public_url>/pool/..." href="<file>"/>`,
//! which dnf and librepo honour) and whose `repomd.xml` is regenerated and
//! signed with the mirror's `sign_key` (unsigned without one).
//!
//! The bucket's view of a snapshot is built in the mirror's private
//! staging, from hard links of its metadata, by the streaming rewrite the
//! filters use (one record in memory). The local tree is never changed.
//! The view is a function of the snapshot alone (its time is the one
//! written into new records), so a publish killed and run again makes the
//! same bytes.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use mirror_repodata::repomd;
use mirror_repodata::rewrite::{Records, Verdict, xml_escape};
use mirror_repodata::xml::{self, BytesStart, Ev};

use super::bucket::PublishError;
use crate::filter::sign::Signer;
use crate::store::Store;

/// The pool's directory in the bucket.
pub const POOL_DIR: &str = "pool";

/// Where a content lives in the bucket (relative to the prefix).
pub fn pool_rel(sha256: &str, file_name: &str) -> String {
    format!("{POOL_DIR}/sha256/{}/{sha256}/{file_name}", &sha256[..2])
}

/// A snapshot as the bucket holds it in the pool layout.
pub struct PoolView {
    /// A private directory holding the bucket's `repodata/` (removed on drop).
    pub dir: tempfile::TempDir,
    /// Package path in the snapshot -> (its sha256, its size).
    pub packages: BTreeMap<String, (String, u64)>,
    pub signed_by: Option<String>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PublishError + '_ {
    move |source| PublishError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Build the bucket's view of `snap`: its packages' content addresses and
/// its rewritten, re-signed `repodata/`.
pub fn view(
    store: &Store,
    snap: &mirror_index::SnapshotName,
    public_url: &str,
    signer: Option<&Signer>,
) -> Result<PoolView, PublishError> {
    let src = store.snapshot_dir(snap);
    let listed = crate::bundle::listed_sha256(&src);
    let mut packages = BTreeMap::new();
    let mut base_of = HashMap::new();
    let public = public_url.trim_end_matches('/');
    for rel in crate::store::list_files(&src)? {
        if rel.starts_with("repodata/") {
            continue;
        }
        let path = src.join(&rel);
        let size = std::fs::metadata(&path).map_err(io(&path))?.len();
        let sha = match listed.get(&rel) {
            Some((sha, s)) if *s == size => sha.clone(),
            _ => {
                mirror_repodata::checksum::hash_file(&path, mirror_repodata::checksum::Kind::Sha256)
                    .map_err(io(&path))?
                    .hex
            }
        };
        let file = rel.rsplit('/').next().unwrap_or(&rel).to_owned();
        let dir = pool_rel(&sha, "");
        base_of.insert(rel.clone(), (format!("{public}/{dir}"), file));
        packages.insert(rel, (sha, size));
    }
    let staging = store.staging();
    std::fs::create_dir_all(&staging).map_err(io(&staging))?;
    let dir = tempfile::Builder::new()
        .prefix("pool-view-")
        .tempdir_in(&staging)
        .map_err(io(&staging))?;
    let md_dir = dir.path().join("repodata");
    std::fs::create_dir_all(&md_dir).map_err(io(&md_dir))?;
    for entry in std::fs::read_dir(src.join("repodata")).map_err(io(&src))? {
        let entry = entry.map_err(io(&src))?;
        let to = md_dir.join(entry.file_name());
        std::fs::hard_link(entry.path(), &to).map_err(io(&to))?;
    }
    let repomd_path = dir.path().join(mirror_repodata::repo::REPOMD);
    let repomd_bytes = std::fs::read(&repomd_path).map_err(io(&repomd_path))?;
    let md = repomd::parse(&repomd_bytes)
        .map_err(|e| PublishError::Config(format!("{}/{snap}: repomd.xml: {e}", store.name)))?;
    let now = snap.timestamp().map_or(0, jiff::Timestamp::as_second);
    let primary = md
        .records
        .iter()
        .find(|r| r.kind == "primary")
        .ok_or_else(|| PublishError::Config(format!("{}/{snap}: no primary", store.name)))?;
    let mut records = Locations {
        base_of: &base_of,
        location: None,
    };
    let (new, _) = crate::filter::regen::rewrite_file(dir.path(), primary, &mut records, None, now)
        .map_err(|e| {
            PublishError::Config(format!(
                "{}/{snap}: {}",
                store.name,
                mirror_index::error_chain(&e)
            ))
        })?;
    let new: Vec<_> = new.into_iter().collect();
    // The primary's sqlite and zchunk forms would still point into the
    // snapshot: they are not carried.
    let derived = |kind: &str| kind == "primary_db" || kind == "primary_zck";
    for r in md.records.iter().filter(|r| derived(&r.kind)) {
        let p = r.href.under(dir.path());
        std::fs::remove_file(&p).map_err(io(&p))?;
    }
    let bytes =
        mirror_repodata::rewrite::repomd(&repomd_bytes, &now.to_string(), &new, &derived)
            .map_err(|e| PublishError::Config(format!("{}/{snap}: repomd.xml: {e}", store.name)))?;
    // The snapshot's repomd.xml was replaced (hard link removed first, so
    // the snapshot keeps its own).
    std::fs::remove_file(&repomd_path).map_err(io(&repomd_path))?;
    std::fs::write(&repomd_path, &bytes).map_err(io(&repomd_path))?;
    for extra in ["repomd.xml.asc", "repomd.xml.key"] {
        let p = md_dir.join(extra);
        if p.exists() {
            std::fs::remove_file(&p).map_err(io(&p))?;
        }
    }
    let signed_by = match signer {
        Some(s) => {
            let sig = s
                .sign(&bytes)
                .map_err(|e| PublishError::Config(format!("signing {}/{snap}: {e}", store.name)))?;
            let asc = md_dir.join("repomd.xml.asc");
            std::fs::write(&asc, sig).map_err(io(&asc))?;
            let key = md_dir.join("repomd.xml.key");
            let public = s
                .public_armored()
                .map_err(|e| PublishError::Config(e.to_string()))?;
            std::fs::write(&key, public).map_err(io(&key))?;
            Some(s.fingerprint.clone())
        }
        None => None,
    };
    Ok(PoolView {
        dir,
        packages,
        signed_by,
    })
}

impl PoolView {
    /// The view's metadata files, relative to the snapshot (`repodata/...`).
    pub fn metadata(&self) -> Result<Vec<(String, PathBuf)>, PublishError> {
        Ok(crate::store::list_files(self.dir.path())?
            .into_iter()
            .map(|rel| {
                let p = self.dir.path().join(&rel);
                (rel, p)
            })
            .collect())
    }
}

/// Primary records with their `<location>` pointed at the pool.
struct Locations<'a> {
    /// Package path -> (the pool directory's URL, the file name).
    base_of: &'a HashMap<String, (String, String)>,
    /// The record's location tag as written, and what replaces it.
    location: Option<(Vec<u8>, Vec<u8>)>,
}

impl Records for Locations<'_> {
    fn tag(&self) -> &'static str {
        "package"
    }

    fn begin(&mut self, _: &BytesStart<'_>, _: &[u8]) -> Result<(), String> {
        self.location = None;
        Ok(())
    }

    fn inner(&mut self, ev: &Ev<'_>, depth: usize, raw: &[u8]) -> Result<(), String> {
        let (e, empty) = match ev {
            // A child of <package>: an empty one leaves the depth at 2, a
            // start tag makes it 3.
            Ev::Empty(e) if depth == 2 => (e, true),
            Ev::Start(e) if depth == 3 => (e, false),
            _ => return Ok(()),
        };
        if xml::local(e) != "location" {
            return Ok(());
        }
        let href = xml::attr(e, "href")?.ok_or("a <location> without href")?;
        let (base, file) = self
            .base_of
            .get(&href)
            .ok_or_else(|| format!("{href}: listed, but not in the snapshot"))?;
        let tag = format!(
            "<location xml:base=\"{}\" href=\"{}\"{}>",
            xml_escape(base),
            xml_escape(file),
            if empty { "/" } else { "" }
        );
        // The raw event starts with the whitespace before the tag.
        let at = raw
            .iter()
            .position(|b| *b == b'<')
            .ok_or("a <location> tag that is not one")?;
        self.location = Some((raw[at..].to_vec(), tag.into_bytes()));
        Ok(())
    }

    fn end(&mut self, record: &[u8]) -> Result<Verdict, String> {
        let (old, new) = self
            .location
            .take()
            .ok_or("a <package> without a <location>")?;
        let at = record
            .windows(old.len())
            .position(|w| w == old.as_slice())
            .ok_or("its <location> tag was not found again")?;
        let mut out = Vec::with_capacity(record.len() + new.len());
        out.extend_from_slice(&record[..at]);
        out.extend_from_slice(&new);
        out.extend_from_slice(&record[at + old.len()..]);
        Ok(Verdict::Replace(out))
    }
}
