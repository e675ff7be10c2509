//! `export`: the snapshots asked for, as a signed bundle holding their
//! metadata and only the contents the other side does not have yet.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use mirror_index::{MirrorName, SnapshotName};

use super::manifest::{FORMAT, FileEntry, Manifest, MirrorPart, SnapshotPart};
use super::parts::Parts;
use super::{BundleError, MANIFEST, MANIFEST_SIG, OBJECTS};
use crate::filter::sign::Signer;
use crate::store::{IoContext, Store};

/// What the other side is known to have.
#[derive(Debug, Clone)]
pub enum Since {
    Nothing,
    /// The manifest of the last bundle sent: its snapshots and contents.
    Bundle(Box<Manifest>),
    /// This snapshot of each mirror.
    Snapshot(SnapshotName),
}

/// What to export, resolved by the caller.
#[derive(Debug)]
pub struct ExportRequest {
    pub root: PathBuf,
    /// Mirror -> the snapshots asked for, oldest first.
    pub snapshots: BTreeMap<MirrorName, Vec<SnapshotName>>,
    pub since: Since,
    pub out: PathBuf,
    pub split: Option<u64>,
    pub zstd: bool,
}

/// What a bundle holds (or, with `--plan`, would hold).
#[derive(Debug, Default, serde::Serialize)]
pub struct ExportReport {
    /// `mirror/snapshot`, in the bundle.
    pub snapshots: Vec<String>,
    /// Asked for, but the other side has them already.
    pub skipped: Vec<String>,
    /// Files the snapshots list, and their bytes.
    pub files: usize,
    pub bytes: u64,
    /// Contents carried (each once), and their bytes.
    pub objects: usize,
    pub object_bytes: u64,
    /// The bundle's files (parts in order), and its manifest beside them.
    pub written: Vec<PathBuf>,
    pub manifest: Option<PathBuf>,
    pub signed_by: Option<String>,
}

/// sha256 of files, each inode hashed once.
#[derive(Default)]
struct Hashes(HashMap<(u64, u64), String>);

impl Hashes {
    /// The sha256 of `path`: the one its repository lists (`listed`, for
    /// the same size), else read.
    fn known(
        &mut self,
        path: &Path,
        rel: &str,
        meta: &std::fs::Metadata,
        listed: &HashMap<String, (String, u64)>,
    ) -> Result<String, BundleError> {
        if let Some((sha, size)) = listed.get(rel)
            && *size == meta.len()
        {
            self.0.insert((meta.dev(), meta.ino()), sha.clone());
            return Ok(sha.clone());
        }
        self.of(path, meta)
    }

    fn of(&mut self, path: &Path, meta: &std::fs::Metadata) -> Result<String, BundleError> {
        if let Some(h) = self.0.get(&(meta.dev(), meta.ino())) {
            return Ok(h.clone());
        }
        let hex =
            mirror_repodata::checksum::hash_file(path, mirror_repodata::checksum::Kind::Sha256)
                .at(path)?
                .hex;
        self.0.insert((meta.dev(), meta.ino()), hex.clone());
        Ok(hex)
    }
}

/// The bundle's manifest and where each carried content is read from.
pub struct Plan {
    pub manifest: Manifest,
    pub sources: BTreeMap<String, PathBuf>,
    pub report: ExportReport,
}

/// Work out what the bundle holds.
pub fn plan(req: &ExportRequest, now: &str) -> Result<Plan, BundleError> {
    let mut hashes = Hashes::default();
    let mut have: BTreeSet<String> = BTreeSet::new();
    let mut sent: BTreeSet<(String, String)> = BTreeSet::new();
    if let Since::Bundle(m) = &req.since {
        have = m.contents();
        sent = m.snapshots();
    }
    let mut report = ExportReport::default();
    let mut mirrors = BTreeMap::new();
    let mut objects = BTreeMap::new();
    let mut sources = BTreeMap::new();
    for (name, snaps) in &req.snapshots {
        let store = Store::new(&req.root, name.clone());
        let mut mine = have.clone();
        if let Since::Snapshot(s) = &req.since {
            let dir = store.snapshot_dir(s);
            if !dir.is_dir() {
                return Err(BundleError::Usage(format!(
                    "--since-snapshot {s}: mirror {name} has no such snapshot"
                )));
            }
            let listed = super::listed_sha256(&dir);
            for rel in crate::store::list_files(&dir)? {
                let p = dir.join(&rel);
                let meta = std::fs::metadata(&p).at(&p)?;
                mine.insert(hashes.known(&p, &rel, &meta, &listed)?);
            }
        }
        let mut part = MirrorPart {
            snapshots: Vec::new(),
            latest: store.latest()?.map(|l| l.to_string()),
            channels: crate::channels::pointers_of(&store.dir)?,
            key: std::fs::read_to_string(store.dir.join(crate::filter::sign::PUBLIC_KEY_FILE)).ok(),
        };
        for snap in snaps {
            let label = format!("{name}/{snap}");
            let known = sent.contains(&(name.to_string(), snap.to_string()))
                || matches!(&req.since, Since::Snapshot(s) if s == snap);
            if known {
                report.skipped.push(label);
                continue;
            }
            let dir = store.snapshot_dir(snap);
            let (listed, found) = listed_and_found(&dir)?;
            let mut files = Vec::new();
            for (rel, meta) in found {
                let p = dir.join(&rel);
                let sha = hashes.known(&p, &rel, &meta, &listed)?;
                report.files += 1;
                report.bytes += meta.len();
                if !mine.contains(&sha) && !objects.contains_key(&sha) {
                    objects.insert(sha.clone(), meta.len());
                    sources.insert(sha.clone(), p.clone());
                }
                files.push(FileEntry {
                    path: rel,
                    size: meta.len(),
                    sha256: sha,
                });
            }
            files.sort();
            part.snapshots.push(SnapshotPart {
                name: snap.to_string(),
                files,
                history: crate::history::manifest_of(&store, snap),
            });
            report.snapshots.push(label);
        }
        mirrors.insert(name.to_string(), part);
    }
    report.objects = objects.len();
    report.object_bytes = objects.values().sum();
    Ok(Plan {
        manifest: Manifest {
            format: FORMAT.into(),
            created: now.to_owned(),
            mirrors,
            objects,
        },
        sources,
        report,
    })
}

/// What a snapshot's metadata lists (path -> sha256, size), and its files
/// with their metadata: the metadata is read on a second thread while
/// the files are listed.
#[allow(clippy::type_complexity)]
fn listed_and_found(
    dir: &Path,
) -> Result<
    (
        HashMap<String, (String, u64)>,
        Vec<(String, std::fs::Metadata)>,
    ),
    BundleError,
> {
    std::thread::scope(|s| {
        let listed = s.spawn(|| super::listed_sha256(dir));
        let found = crate::store::list_files(dir)
            .map_err(BundleError::from)
            .and_then(|files| {
                files
                    .into_iter()
                    .map(|rel| {
                        let p = dir.join(&rel);
                        let meta = std::fs::metadata(&p).at(&p)?;
                        Ok((rel, meta))
                    })
                    .collect::<Result<Vec<_>, BundleError>>()
            });
        let listed = listed.join().expect("reading the metadata panicked");
        Ok((listed, found?))
    })
}

/// One tar entry: a regular file, mode 0644, the bundle's time.
fn header(path: &str, size: u64, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(mtime);
    h.set_entry_type(tar::EntryType::Regular);
    let _ = h.set_path(path);
    h.set_cksum();
    h
}

/// Write the bundle `plan` describes, signed by `signer`. On failure
/// nothing is left: parts are written under temporary names.
pub fn write(
    req: &ExportRequest,
    plan: Plan,
    signer: &Signer,
) -> Result<ExportReport, BundleError> {
    let Plan {
        manifest,
        sources,
        mut report,
    } = plan;
    let json = serde_json::to_vec_pretty(&manifest).expect("serialisable");
    let asc = signer.sign(&json)?;
    let io = |e: std::io::Error| BundleError::Io {
        path: req.out.clone(),
        source: e,
    };
    let mut parts = Parts::create(&req.out, req.split).map_err(io)?;
    let body = Body {
        json: &json,
        asc: asc.as_bytes(),
        manifest: &manifest,
        sources: &sources,
        mtime: jiff::Timestamp::now().as_second().max(0).unsigned_abs(),
        out: &req.out,
    };
    let written = if req.zstd {
        zstd::stream::write::Encoder::new(&mut parts, 3)
            .map_err(io)
            .and_then(|enc| body.fill(enc))
            .and_then(|enc| enc.finish().map(|_| ()).map_err(io))
    } else {
        body.fill(&mut parts).map(|_| ())
    };
    if let Err(e) = written {
        parts.abandon();
        return Err(e);
    }
    report.written = parts.finish().map_err(io)?;
    let beside = super::manifest_beside(&req.out);
    mirror_index::atomic::write_atomic(&beside, &json)?;
    report.manifest = Some(beside);
    report.signed_by = Some(signer.fingerprint.clone());
    Ok(report)
}

/// How many contents are read ahead of the writer, and up to which size a
/// content is read whole (larger ones are streamed): memory stays under
/// `PREFETCH * READ_WHOLE`.
const PREFETCH: usize = 16;
const READ_WHOLE: u64 = 1 << 20;

/// A content to write: read whole, or open to be streamed.
enum Content {
    Read(Vec<u8>),
    Open(std::fs::File),
}

/// Open the content at `src`, planned at `size` bytes, and read it when it
/// is small.
fn open_content(src: &Path, size: u64) -> Result<Content, BundleError> {
    let mut f = std::fs::File::open(src).at(src)?;
    let got = f.metadata().at(src)?.len();
    if got != size {
        return Err(BundleError::Refused(format!(
            "{} changed while it was exported ({got} bytes, {size} planned)",
            src.display()
        )));
    }
    if size > READ_WHOLE {
        return Ok(Content::Open(f));
    }
    let mut bytes = vec![0u8; usize::try_from(size).expect("at most READ_WHOLE")];
    f.read_exact(&mut bytes).at(src)?;
    Ok(Content::Read(bytes))
}

/// What goes into the tar stream, in order: the manifest, its signature,
/// then each content once.
struct Body<'a> {
    json: &'a [u8],
    asc: &'a [u8],
    manifest: &'a Manifest,
    sources: &'a BTreeMap<String, PathBuf>,
    mtime: u64,
    out: &'a Path,
}

impl Body<'_> {
    fn fill<W: Write>(&self, w: W) -> Result<W, BundleError> {
        let io = |e: std::io::Error| BundleError::Io {
            path: self.out.to_path_buf(),
            source: e,
        };
        let mut tar = tar::Builder::new(w);
        tar.append(
            &header(MANIFEST, self.json.len() as u64, self.mtime),
            self.json,
        )
        .map_err(io)?;
        tar.append(
            &header(MANIFEST_SIG, self.asc.len() as u64, self.mtime),
            self.asc,
        )
        .map_err(io)?;
        // Contents are opened and read on a second thread while this one
        // writes the previous ones (each a few system calls, most small).
        std::thread::scope(|s| {
            let (tx, rx) = std::sync::mpsc::sync_channel(PREFETCH);
            s.spawn(move || {
                for (sha, size) in &self.manifest.objects {
                    let read = open_content(&self.sources[sha], *size);
                    let failed = read.is_err();
                    if tx.send(read).is_err() || failed {
                        return;
                    }
                }
            });
            for (sha, size) in &self.manifest.objects {
                let header = header(&format!("{OBJECTS}{sha}"), *size, self.mtime);
                let written = match rx.recv().expect("one answer per content")? {
                    Content::Read(bytes) => tar.append(&header, bytes.as_slice()),
                    Content::Open(f) => tar.append(&header, f.take(*size)),
                };
                written.map_err(io)?;
            }
            Ok::<_, BundleError>(())
        })?;
        tar.into_inner().map_err(io)
    }
}
