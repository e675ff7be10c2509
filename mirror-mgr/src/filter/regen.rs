//! Regenerated metadata for a filtered build: run on the build directory
//! after upstream's metadata was downloaded and verified, before any
//! package is planned or fetched.
//!
//! - the primary is read once (streamed) to pick the packages to keep;
//! - primary, filelists, other (and filelists_ext) are rewritten by
//!   streaming, each kept record copied byte for byte, `packages=` fixed,
//!   compressed as upstream's were;
//! - updateinfo loses references to packages not kept (and advisories left
//!   with none), prestodelta the deltas to them; both stay as upstream's
//!   when nothing in them changes;
//! - sqlite and zchunk variants of rewritten types are not carried;
//! - repomd.xml is upstream's with those records replaced, a new revision,
//!   and, with a signing key, a new `repomd.xml.asc` and the public key
//!   as `repomd.xml.key`.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use mirror_repodata::checksum::{Checksum, Hasher, Kind};
use mirror_repodata::decompress::{self, Encoder};
use mirror_repodata::primary::Package;
use mirror_repodata::repo::{RepoDir, RepoError};
use mirror_repodata::repomd::{self, Record, Repomd};
use mirror_repodata::rewrite::{self, NewRecord, Outcome, Records};

use super::advisory::Verdicts;
use super::sign::{SignError, Signer};
use super::{Candidate, FilterSpec};

#[derive(Debug, thiserror::Error)]
pub enum RegenError {
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error("{}", path.display())]
    Rewrite {
        path: PathBuf,
        #[source]
        source: rewrite::RewriteError,
    },
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Inconsistent(String),
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// What a filter did to a build.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FilterReport {
    /// Packages upstream lists, and those the filter kept.
    pub upstream_packages: u64,
    pub kept: u64,
    /// Advisories dropped: excluded by the advisory filter, or left
    /// without any kept package.
    pub advisories_dropped: u64,
    /// Of those, the ones the advisory filter excluded.
    pub advisories_excluded: u64,
    /// Metadata types regenerated, and types left out (sqlite, zchunk).
    pub regenerated: Vec<String>,
    pub not_carried: Vec<String>,
    /// The fingerprint of the key that signed repomd.xml; `None`: unsigned.
    pub signed_by: Option<String>,
}

impl FilterReport {
    /// One phrase for the sync's summary line.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "filter kept {} of {} packages",
            self.kept, self.upstream_packages
        );
        if self.regenerated.is_empty() {
            s.push_str(", upstream's metadata kept as is");
            return s;
        }
        if self.advisories_excluded > 0 {
            let _ = write!(s, ", excluded {} advisories", self.advisories_excluded);
        }
        let without =
            self.advisories_dropped - self.advisories_excluded.min(self.advisories_dropped);
        if without > 0 {
            let _ = write!(s, ", dropped {without} advisories left without packages");
        }
        match &self.signed_by {
            Some(f) => {
                let _ = write!(s, ", metadata regenerated and signed by {f}");
            }
            None => s.push_str(", metadata regenerated: the snapshot is unsigned (no sign_key)"),
        }
        s
    }
}

/// Apply `filter` to the build at `dir`, whose repodata `md` (parsed from
/// `repomd_bytes`) describes. `now` is the time written into new records.
pub fn apply(
    dir: &Path,
    repomd_bytes: &[u8],
    md: &Repomd,
    filter: &FilterSpec,
    signer: Option<&Signer>,
    now: i64,
) -> Result<(Repomd, FilterReport), RegenError> {
    let repo = RepoDir::with_repomd(dir, md.clone());
    let mut cands = Vec::new();
    let mut ids = Vec::new();
    let listed = repo.for_each_package(|p: Package| {
        ids.push(p.checksum.hex.clone());
        cands.push(Candidate {
            name: p.name,
            arch: p.arch,
            epoch: p.epoch,
            version: p.version,
            release: p.release,
        });
        Ok::<_, std::convert::Infallible>(())
    })?;
    let Ok(_) = listed;
    let mut verdicts = Verdicts::default();
    if filter.advisories.is_active() {
        let read = repo.for_each_advisory(|a| {
            verdicts.add(&filter.advisories, &a);
            Ok::<_, std::convert::Infallible>(())
        })?;
        let Ok(_) = read;
    }
    let allowed = verdicts.allowed(&filter.advisories, &cands);
    let keep = filter.select_allowed(&cands, &allowed);
    let kept = keep.iter().filter(|k| **k).count() as u64;
    let mut report = FilterReport {
        upstream_packages: cands.len() as u64,
        kept,
        ..FilterReport::default()
    };
    let packages_changed = kept != report.upstream_packages;
    report.advisories_excluded = verdicts.excluded_ids.len() as u64;
    if !packages_changed && verdicts.excluded_ids.is_empty() {
        return Ok((md.clone(), report));
    }
    let mut keep_ids = HashSet::new();
    let mut keep_nevras = HashSet::new();
    for ((c, id), k) in cands.iter().zip(ids).zip(&keep) {
        if *k {
            keep_nevras.insert(rewrite::nevra_key(
                &c.name, &c.epoch, &c.version, &c.release, &c.arch,
            ));
            keep_ids.insert(id);
        }
    }
    drop(cands);

    let mut new_records = Vec::new();
    for r in &md.records {
        let (mut records, count): (Box<dyn Records + '_>, Option<u64>) = match r.kind.as_str() {
            "primary" if packages_changed => (Box::new(rewrite::primary(&keep_ids)), Some(kept)),
            "filelists" | "other" | "filelists_ext" if packages_changed => {
                (Box::new(rewrite::filelists_or_other(&keep_ids)), Some(kept))
            }
            "updateinfo" => (
                Box::new(rewrite::updateinfo(&keep_nevras, &verdicts.excluded_ids)),
                None,
            ),
            "prestodelta" | "deltainfo" => (Box::new(rewrite::prestodelta(&keep_nevras)), None),
            _ => continue,
        };
        let (new, outcome) = rewrite_file(dir, r, records.as_mut(), count, now)?;
        if let Some(n) = count
            && outcome.kept != n
        {
            return Err(RegenError::Inconsistent(format!(
                "{}: {} of its records belong to kept packages, but the primary keeps {n}",
                r.href.as_str(),
                outcome.kept
            )));
        }
        if r.kind == "updateinfo" {
            report.advisories_dropped = outcome.dropped;
        }
        new_records.extend(new);
    }
    let rewritten: HashSet<&str> = new_records.iter().map(|n| n.kind.as_str()).collect();
    let derived = |kind: &str| {
        ["_db", "_zck"].iter().any(|suffix| {
            kind.strip_suffix(suffix)
                .is_some_and(|base| rewritten.contains(base))
        })
    };
    for r in md.records.iter().filter(|r| derived(&r.kind)) {
        let p = r.href.under(dir);
        std::fs::remove_file(&p).map_err(|source| RegenError::Io { path: p, source })?;
        report.not_carried.push(r.kind.clone());
    }
    report.regenerated = new_records.iter().map(|n| n.kind.clone()).collect();

    let repomd_path = dir.join(mirror_repodata::repo::REPOMD);
    let bytes = rewrite::repomd(repomd_bytes, &now.to_string(), &new_records, &derived).map_err(
        |source| RegenError::Rewrite {
            path: repomd_path.clone(),
            source,
        },
    )?;
    for extra in ["repodata/repomd.xml.asc", "repodata/repomd.xml.key"] {
        let p = dir.join(extra);
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(RegenError::Io { path: p, source: e });
            }
            _ => {}
        }
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RegenError::Io { path, source }
    };
    std::fs::write(&repomd_path, &bytes).map_err(io(&repomd_path))?;
    if let Some(s) = signer {
        let asc = dir.join("repodata/repomd.xml.asc");
        std::fs::write(&asc, s.sign(&bytes)?).map_err(io(&asc))?;
        // The signing key beside the signature, where zypper (and SUSE's
        // repos) look for it.
        let key = dir.join("repodata/repomd.xml.key");
        std::fs::write(&key, s.public_armored()?).map_err(io(&key))?;
        report.signed_by = Some(s.fingerprint.clone());
    }
    let md = repomd::parse(&bytes).map_err(|e| {
        RegenError::Inconsistent(format!(
            "the regenerated repomd.xml does not parse (a bug): {e}"
        ))
    })?;
    Ok((md, report))
}

/// Rewrite one metadata file through `records`, compressed as it was.
/// Returns its new record, or `None` (and the file left as it was) when
/// nothing in it changed and no count had to change.
pub(crate) fn rewrite_file(
    dir: &Path,
    r: &Record,
    records: &mut dyn Records,
    count: Option<u64>,
    now: i64,
) -> Result<(Option<NewRecord>, Outcome), RegenError> {
    let original = r.href.under(dir);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RegenError::Io { path, source }
    };
    let compression = decompress::detect_file(&original).map_err(io(&original))?;
    let input = r.open_in(dir).map_err(io(&original))?;
    let tmp = dir.join(format!("repodata/.regen-{}", r.kind));
    let file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    let kind = r.checksum.kind;
    let stored = Hashing::new(BufWriter::new(file), kind);
    let encoder = Encoder::new(compression, stored).map_err(io(&tmp))?;
    let mut open = Hashing::new(encoder, kind);
    let outcome = rewrite::rewrite(input, &mut open, count, records).map_err(|source| {
        RegenError::Rewrite {
            path: original.clone(),
            source,
        }
    })?;
    if count.is_none() && outcome.changed == 0 && outcome.dropped == 0 {
        std::fs::remove_file(&tmp).map_err(io(&tmp))?;
        return Ok((None, outcome));
    }
    let (encoder, open_checksum, open_size) = open.finish();
    let stored = encoder.finish().map_err(io(&tmp))?;
    let (buffered, checksum, size) = stored.finish();
    buffered
        .into_inner()
        .map_err(|e| RegenError::Io {
            path: tmp.clone(),
            source: e.into_error(),
        })?
        .sync_all()
        .map_err(io(&tmp))?;
    let href = format!(
        "repodata/{}-{}.xml{}",
        checksum.hex,
        r.kind.replace('_', "-"),
        compression.suffix()
    );
    // The original goes first: its name may be the new one (same content).
    std::fs::remove_file(&original).map_err(io(&original))?;
    let dest = dir.join(&href);
    std::fs::rename(&tmp, &dest).map_err(io(&dest))?;
    Ok((
        Some(NewRecord {
            kind: r.kind.clone(),
            href,
            checksum,
            open_checksum,
            size,
            open_size,
            timestamp: now,
        }),
        outcome,
    ))
}

/// A writer that hashes and counts what passes through.
struct Hashing<W> {
    inner: W,
    hasher: Hasher,
    size: u64,
}

impl<W: Write> Hashing<W> {
    fn new(inner: W, kind: Kind) -> Self {
        Self {
            inner,
            hasher: kind.hasher(),
            size: 0,
        }
    }

    fn finish(self) -> (W, Checksum, u64) {
        (self.inner, self.hasher.finish(), self.size)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
