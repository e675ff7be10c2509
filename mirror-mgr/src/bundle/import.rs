//! `import-bundle`: a signed bundle made into the very same snapshots.
//!
//! Order, so that nothing is visible before everything is checked:
//! 1. the manifest and its signature (the first two entries) against the
//!    pinned key; the manifest checked whole;
//! 2. every file of every new snapshot found: carried by the bundle, or a
//!    local file with that size and sha256 (else refused, listing them);
//! 3. every carried content streamed into private staging (`.import/`),
//!    its size and sha256 checked;
//! 4. per mirror, under its lock: each snapshot built in `.staging/` from
//!    hard links, then published and committed as a sync's are (an
//!    existing snapshot of that name is never touched: identical, it is
//!    skipped; different, the import is refused).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use mirror_index::{MirrorName, SnapshotName};

use super::io::{Checker, Staging, sha_of};
use super::manifest::{MAX_MANIFEST, Manifest, SnapshotPart};
use super::{BundleError, MANIFEST, MANIFEST_SIG, OBJECTS};
use crate::store::{IoContext, Store};
use crate::trust::Keyring;

/// What an import did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Imported {
    /// `mirror/snapshot` made.
    pub snapshots: Vec<String>,
    /// Already there, identical.
    pub skipped: Vec<String>,
    /// Mirror -> the snapshot `latest` now names (when it moved).
    pub latest: BTreeMap<String, String>,
    /// Channel -> mirror -> snapshot: what the manifest says to apply.
    #[serde(skip)]
    pub channels: BTreeMap<String, BTreeMap<String, String>>,
    /// Contents received, their bytes, and files linked from this root.
    pub received: usize,
    pub received_bytes: u64,
    pub linked_locally: usize,
    /// The key that signed the manifest.
    pub signed_by: String,
}

/// How big a signature may be.
const MAX_SIG: u64 = 1 << 20;

/// Import the bundle at `path` into `root`.
pub fn import(
    root: &Path,
    path: &Path,
    key: &Keyring,
    pointers: bool,
    wait: bool,
) -> Result<Imported, BundleError> {
    let io = |e: std::io::Error| BundleError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let stream = super::parts::open_stream(path).map_err(io)?;
    let refused = |m: String| BundleError::Refused(format!("{}: {m}", path.display()));
    let mut archive = tar::Archive::new(stream);
    let mut entries = archive
        .entries()
        .map_err(|e| refused(format!("not a bundle (tar): {e}")))?;
    let mut next = |want: &str, max: u64| -> Result<Vec<u8>, BundleError> {
        let mut e = entries
            .next()
            .ok_or_else(|| refused(format!("ends before {want}")))?
            .map_err(|e| refused(format!("unreadable before {want}: {e}")))?;
        let name = e.path_bytes().into_owned();
        if name != want.as_bytes() {
            return Err(refused(format!(
                "{want} must come first, found {:?}",
                String::from_utf8_lossy(&name)
            )));
        }
        if e.size() > max {
            return Err(refused(format!("{want} is larger than {max} bytes")));
        }
        let mut buf = Vec::new();
        e.read_to_end(&mut buf)
            .map_err(|e| refused(format!("{want}: {e}")))?;
        Ok(buf)
    };
    let json = next(MANIFEST, MAX_MANIFEST)?;
    let asc = next(MANIFEST_SIG, MAX_SIG)?;
    let now = jiff::Timestamp::now().as_second();
    let signed_by = key
        .verify_detached("the bundle's manifest", &json, &asc, now)
        .map_err(|e| refused(mirror_index::error_chain(&e)))?;
    let text = std::str::from_utf8(&json).map_err(|_| refused("manifest is not UTF-8".into()))?;
    mirror_index::nesting::check(text, mirror_index::nesting::MAX_DEPTH)
        .map_err(|e| refused(format!("manifest: {e}")))?;
    let manifest: Manifest =
        serde_json::from_str(text).map_err(|e| refused(format!("manifest: {e}")))?;
    manifest
        .check()
        .map_err(|e| refused(format!("manifest: {e}")))?;

    // 2. Everything found before anything is received.
    let mut work = Work::new(root, &manifest, wait)?;
    let missing = work.locate()?;
    if !missing.is_empty() {
        let n = missing.len();
        let shown: Vec<&String> = missing.iter().take(20).collect();
        return Err(refused(format!(
            "{n} files are neither in the bundle nor in this root (was --since right?): {}{}",
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            if n > 20 { ", ..." } else { "" }
        )));
    }

    // 3. The contents, checked, into private staging: each straight to
    // the place its first use has in its snapshot's build, hashed on a
    // second thread while the next is read.
    let staging = Staging::new(root.join(mirror_index::layout::IMPORT_DIR))?;
    let staged = staging.0.as_path();
    let mut got: HashSet<&str> = HashSet::with_capacity(manifest.objects.len());
    let mut made: HashSet<PathBuf> = HashSet::new();
    let mut checker = Checker::new();
    let mut received_bytes = 0u64;
    for e in entries {
        let mut e = e.map_err(|e| refused(format!("unreadable: {e} (a part missing or cut?)")))?;
        let path = e.path_bytes();
        let listed = path
            .strip_prefix(OBJECTS.as_bytes())
            .and_then(|s| std::str::from_utf8(s).ok())
            .and_then(|s| manifest.objects.get_key_value(s));
        let Some((sha, &size)) = listed else {
            return Err(refused(format!(
                "an entry the manifest does not list: {:?}",
                String::from_utf8_lossy(&path)
            )));
        };
        drop(path);
        if !got.insert(sha.as_str()) || e.size() != size {
            return Err(refused(format!(
                "object {sha}: repeated, or not its listed size"
            )));
        }
        let mut file = match work.first_use.get(sha) {
            Some(rel) => {
                let dest = staged.join(rel);
                if let Some(p) = dest.parent()
                    && !made.contains(p)
                {
                    std::fs::create_dir_all(p).at(p)?;
                    made.insert(p.to_path_buf());
                }
                Some(std::fs::File::create(&dest).at(&dest)?)
            }
            // Used by no snapshot made here (those are there already).
            None => None,
        };
        checker
            .take(&mut e, file.as_mut(), sha)
            .map_err(|err| refused(format!("object {sha}: {err}")))?;
        received_bytes += size;
    }
    checker.finish().map_err(refused)?;
    if got.len() != manifest.objects.len() {
        return Err(refused(format!(
            "{} of its {} objects are missing (a part missing?)",
            manifest.objects.len() - got.len(),
            manifest.objects.len()
        )));
    }

    // 4. The snapshots, as a sync makes them.
    let mut done = Imported {
        received: got.len(),
        received_bytes,
        signed_by,
        ..Imported::default()
    };
    work.build(staged, pointers, &mut done)?;
    drop(staging);
    if pointers {
        for (m, part) in &manifest.mirrors {
            for (ch, snap) in &part.channels {
                done.channels
                    .entry(ch.clone())
                    .or_default()
                    .insert(m.clone(), snap.clone());
            }
        }
    }
    Ok(done)
}

/// Where each file of a new snapshot comes from.
enum Source {
    Carried(String),
    Local(PathBuf),
}

/// The mirrors of a bundle, locked (those that exist here already), and
/// the plan for their new snapshots.
struct Work<'a> {
    manifest: &'a Manifest,
    wait: bool,
    stores: Vec<(Store, Option<crate::store::LockGuard>)>,
    /// (mirror, snapshot) -> path -> source, for each snapshot made here.
    sources: BTreeMap<(String, String), BTreeMap<String, Source>>,
    /// (mirror, snapshot) -> its build's directory under the staging.
    builds: HashMap<(String, String), PathBuf>,
    /// Carried content -> its first use, under the staging: received
    /// there, it is already in place in that snapshot's build.
    first_use: HashMap<String, PathBuf>,
}

impl<'a> Work<'a> {
    fn new(root: &Path, manifest: &'a Manifest, wait: bool) -> Result<Self, BundleError> {
        let mut stores = Vec::new();
        for name in manifest.mirrors.keys() {
            let m = MirrorName::new(name).map_err(|e| BundleError::Refused(e.to_string()))?;
            let store = Store::new(root, m);
            // A mirror new here gets its directory once the bundle is
            // checked: a refused bundle leaves nothing behind.
            let lock = if store.dir.is_dir() {
                let lock = store.lock(wait)?;
                store.clean_staging()?;
                // A publish killed before its rename left a journal naming
                // a snapshot that is not there: drop it. One that is there
                // is committed with the bundle's latest at the end.
                if let Some(p) = store.pending()?
                    && !store.snapshot_dir(&p).is_dir()
                {
                    store.clear_pending()?;
                }
                Some(lock)
            } else {
                None
            };
            stores.push((store, lock));
        }
        Ok(Self {
            manifest,
            wait,
            stores,
            sources: BTreeMap::new(),
            builds: HashMap::new(),
            first_use: HashMap::new(),
        })
    }

    /// Find every file of every new snapshot; returns those found nowhere.
    fn locate(&mut self) -> Result<Vec<String>, BundleError> {
        let mut missing = Vec::new();
        let mut cache = HashMap::new();
        for (store, _) in &self.stores {
            let part = &self.manifest.mirrors[store.name.as_str()];
            let mut local_dirs: Vec<PathBuf> = store
                .snapshots()?
                .iter()
                .rev()
                .map(|s| store.snapshot_dir(s))
                .collect();
            local_dirs.push(store.base());
            // What each local repository lists: most packages need no reading.
            let mut listed: HashMap<PathBuf, HashMap<String, (String, u64)>> = HashMap::new();
            for snap in &part.snapshots {
                let name = SnapshotName::parse(&snap.name).expect("checked");
                let dir = store.snapshot_dir(&name);
                if dir.exists() {
                    same_snapshot(&dir, snap, &mut cache).map_err(|m| {
                        BundleError::Refused(format!(
                            "{}/{} exists here with other content ({m}); it is never overwritten",
                            store.name, snap.name
                        ))
                    })?;
                    continue;
                }
                let build = PathBuf::from(self.builds.len().to_string());
                let mut files = BTreeMap::new();
                for f in &snap.files {
                    if self.manifest.objects.contains_key(&f.sha256) {
                        files.insert(f.path.clone(), Source::Carried(f.sha256.clone()));
                        self.first_use
                            .entry(f.sha256.clone())
                            .or_insert_with(|| build.join(&f.path));
                        continue;
                    }
                    let found = local_dirs.iter().find_map(|d| {
                        let p = d.join(&f.path);
                        if !std::fs::symlink_metadata(&p)
                            .is_ok_and(|m| m.is_file() && m.len() == f.size)
                        {
                            return None;
                        }
                        let lists = listed
                            .entry(d.clone())
                            .or_insert_with(|| super::listed_sha256(d));
                        let same = match lists.get(&f.path) {
                            Some((sha, _)) => *sha == f.sha256,
                            None => sha_of(&p, &mut cache).as_deref() == Some(f.sha256.as_str()),
                        };
                        same.then_some(p)
                    });
                    match found {
                        Some(p) => {
                            files.insert(f.path.clone(), Source::Local(p));
                        }
                        None => missing.push(format!("{}/{}/{}", store.name, snap.name, f.path)),
                    }
                }
                let key = (store.name.to_string(), snap.name.clone());
                self.builds.insert(key.clone(), build);
                self.sources.insert(key, files);
            }
        }
        Ok(missing)
    }

    /// Build, publish and commit each new snapshot, oldest first.
    fn build(
        &mut self,
        staged: &Path,
        pointers: bool,
        done: &mut Imported,
    ) -> Result<(), BundleError> {
        // Content -> where its first use is (in its build, and once
        // published): a later use links to whichever exists.
        let mut placed: HashMap<String, (PathBuf, PathBuf)> = HashMap::new();
        for (store, lock) in &mut self.stores {
            if lock.is_none() {
                std::fs::create_dir_all(&store.dir).at(&store.dir)?;
                *lock = Some(store.lock(self.wait)?);
                store.clean_staging()?;
            }
            let part = &self.manifest.mirrors[store.name.as_str()];
            for snap in &part.snapshots {
                let label = format!("{}/{}", store.name, snap.name);
                let Some(files) = self
                    .sources
                    .get(&(store.name.to_string(), snap.name.clone()))
                else {
                    done.skipped.push(label);
                    continue;
                };
                let name = SnapshotName::parse(&snap.name).expect("checked");
                let build = staged.join(&self.builds[&(store.name.to_string(), snap.name.clone())]);
                std::fs::create_dir_all(build.join("repodata")).at(&build)?;
                crate::store::set_dir_mode(&build)?;
                let mut durable = HashSet::new();
                let mut made: HashSet<PathBuf> = HashSet::new();
                for (rel, src) in files {
                    let dest = build.join(rel);
                    if let Some(p) = dest.parent()
                        && !made.contains(p)
                    {
                        std::fs::create_dir_all(p).at(p)?;
                        made.insert(p.to_path_buf());
                    }
                    let from = match src {
                        Source::Carried(sha) => {
                            // A content's first use was received in place;
                            // later ones link to it, published or not yet.
                            match placed.get(sha) {
                                Some((in_build, _)) if in_build.exists() => in_build.clone(),
                                Some((_, published)) => published.clone(),
                                None => {
                                    let published = store.snapshot_dir(&name).join(rel);
                                    placed.insert(sha.clone(), (dest.clone(), published));
                                    continue;
                                }
                            }
                        }
                        Source::Local(p) => {
                            durable.insert(rel.clone());
                            done.linked_locally += 1;
                            p.clone()
                        }
                    };
                    if std::fs::hard_link(&from, &dest).is_err() {
                        std::fs::copy(&from, &dest).at(&dest)?;
                    }
                }
                crate::crashpoint::hit("import-built");
                store.publish(&build, &name, None, &durable)?;
                if let Some(h) = &snap.history {
                    crate::history::write_manifest(store, h)?;
                }
                done.snapshots.push(label);
            }
            let target = part
                .latest
                .as_deref()
                .and_then(|l| SnapshotName::parse(l).ok())
                .filter(|l| store.snapshot_dir(l).is_dir());
            match target {
                Some(l) if pointers => {
                    if store.latest()?.as_ref() != Some(&l) || store.pending()?.is_some() {
                        store.commit(&l)?;
                        done.latest.insert(store.name.to_string(), l.to_string());
                    }
                }
                _ => store.clear_pending()?,
            }
            if let Some(k) = &part.key {
                store.write_public_key(k)?;
            }
        }
        Ok(())
    }
}

/// Does the snapshot at `dir` hold exactly the files `snap` lists?
fn same_snapshot(
    dir: &Path,
    snap: &SnapshotPart,
    cache: &mut HashMap<PathBuf, String>,
) -> Result<(), String> {
    let here = crate::store::list_files(dir).map_err(|e| e.to_string())?;
    let listed: Vec<&str> = snap.files.iter().map(|f| f.path.as_str()).collect();
    let mut here_sorted = here.clone();
    here_sorted.sort();
    if here_sorted
        .iter()
        .map(String::as_str)
        .ne(listed.iter().copied())
    {
        return Err("other files".into());
    }
    for f in snap
        .files
        .iter()
        .filter(|f| f.path.starts_with("repodata/"))
    {
        if sha_of(&dir.join(&f.path), cache).as_deref() != Some(f.sha256.as_str()) {
            return Err(format!("{} differs", f.path));
        }
    }
    Ok(())
}
