//! `export` and `import-bundle`: snapshots carried to an air-gapped site
//! ([`crate::bundle`]). An import has a sync's consequences: pointers and
//! channels (as promotions), the index, the bucket.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use mirror_index::{MirrorName, SnapshotName, layout};

use super::context::{Done, Follow, Ops};
use super::error::{Kind, OpError};
use crate::access::SecretSource;
use crate::bundle::export::{self, ExportReport, ExportRequest, Since};
use crate::bundle::import::Imported;
use crate::bundle::manifest::{MAX_MANIFEST, Manifest};
use crate::channels::{self, Channel};
use crate::filter::sign::Signer;

/// Which snapshots of each mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Which {
    All,
    Latest,
    Snapshot(String),
    Channel(String),
}

/// `export`, as a door parsed it.
#[derive(Debug, Clone)]
pub struct ExportArgs {
    /// Empty: every mirror of the root.
    pub mirrors: Vec<MirrorName>,
    pub which: Which,
    /// A manifest (or a bundle) the other side has imported.
    pub since: Option<PathBuf>,
    pub since_snapshot: Option<String>,
    /// A file, or a directory to write a dated bundle in.
    pub out: Option<PathBuf>,
    pub split: Option<u64>,
    pub zstd: bool,
    pub plan: bool,
    pub sign_key: Option<PathBuf>,
    pub passphrase: Option<SecretSource>,
}

fn op(e: &(dyn std::error::Error + 'static)) -> OpError {
    OpError::of(e)
}

/// A manifest file, or the manifest inside a bundle (its first entry).
fn read_since(path: &Path) -> Result<Manifest, OpError> {
    let bad = |m: String| OpError::usage(format!("--since {}: {m}", path.display()));
    let head = std::fs::read(path)
        .map(|b| b.first().copied())
        .map_err(|e| bad(e.to_string()))?;
    let text = if head == Some(b'{') {
        let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
        if meta.len() > MAX_MANIFEST {
            return Err(bad(format!("larger than {MAX_MANIFEST} bytes")));
        }
        std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?
    } else {
        let stream = crate::bundle::parts::open_stream(path).map_err(|e| bad(e.to_string()))?;
        let mut a = tar::Archive::new(stream);
        let mut first = a
            .entries()
            .map_err(|e| bad(e.to_string()))?
            .next()
            .ok_or_else(|| bad("an empty bundle".into()))?
            .map_err(|e| bad(e.to_string()))?;
        let mut text = String::new();
        (&mut first)
            .take(MAX_MANIFEST)
            .read_to_string(&mut text)
            .map_err(|e| bad(e.to_string()))?;
        text
    };
    mirror_index::nesting::check(&text, mirror_index::nesting::MAX_DEPTH)
        .map_err(|e| bad(e.to_string()))?;
    let m: Manifest = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    m.check().map_err(bad)?;
    Ok(m)
}

/// `export`: write a signed bundle (or, with `plan`, say what it would hold).
pub fn export(ops: &Ops, a: &ExportArgs) -> Result<ExportReport, OpError> {
    let mirrors = if a.mirrors.is_empty() {
        layout::list_mirrors(&ops.root).map_err(|e| {
            OpError::new(
                Kind::Internal,
                format!("cannot list the mirrors of {}: {e}", ops.root.display()),
            )
        })?
    } else {
        a.mirrors.clone()
    };
    if mirrors.is_empty() {
        return Err(OpError::not_found(format!(
            "no mirror under {} to export",
            ops.root.display()
        )));
    }
    let mut snapshots = BTreeMap::new();
    for m in &mirrors {
        let store = super::reads::mirror_store(&ops.root, m)?;
        let chosen: Vec<SnapshotName> = match &a.which {
            Which::All => store.snapshots().map_err(|e| op(&e))?,
            Which::Latest => vec![resolved(&store, "latest")?],
            Which::Snapshot(s) => vec![resolved(&store, s)?],
            Which::Channel(c) => {
                let snap = channels::pointers_of(&store.dir)
                    .map_err(|e| op(&e))?
                    .remove(c)
                    .ok_or_else(|| {
                        OpError::not_found(format!("mirror {m} is not in channel {c}"))
                    })?;
                vec![resolved(&store, &snap)?]
            }
        };
        snapshots.insert(m.clone(), chosen);
    }
    let since = match (&a.since, &a.since_snapshot) {
        (Some(p), None) => Since::Bundle(Box::new(read_since(p)?)),
        (None, Some(s)) => Since::Snapshot(
            SnapshotName::parse(s)
                .map_err(|e| OpError::usage(format!("--since-snapshot {s}: {e}")))?,
        ),
        (None, None) => Since::Nothing,
        (Some(_), Some(_)) => {
            return Err(OpError::usage("give --since or --since-snapshot, not both"));
        }
    };
    let now = jiff::Timestamp::now();
    let out = match &a.out {
        Some(p) if p.is_dir() => p.join(format!(
            "mirror-bundle-{}.tar{}",
            now.strftime("%Y-%m-%d-%H-%M-%S"),
            if a.zstd { ".zst" } else { "" }
        )),
        Some(p) => p.clone(),
        None if a.plan => PathBuf::from("-"),
        None => return Err(OpError::usage("give -o FILE_OR_DIR for the bundle")),
    };
    let zstd = a.zstd || out.extension().is_some_and(|e| e == "zst");
    let req = ExportRequest {
        root: ops.root.clone(),
        snapshots,
        since,
        out,
        split: a.split,
        zstd,
    };
    let plan = export::plan(&req, &now.to_string()).map_err(|e| op(&e))?;
    if a.plan {
        return Ok(plan.report);
    }
    let signer = match (&a.sign_key, &ops.config.sign) {
        (Some(key), _) => Signer::load(key, a.passphrase.as_ref()),
        (None, Some(spec)) => Signer::load(&spec.key, spec.passphrase.as_ref()),
        (None, None) => {
            return Err(OpError::usage(
                "give --sign-key FILE (or a top-level sign_key: in the config): a bundle is signed, and trusted only by that key",
            ));
        }
    }
    .map_err(|e| op(&e))?;
    export::write(&req, plan, &signer).map_err(|e| op(&e))
}

fn resolved(store: &crate::store::Store, which: &str) -> Result<SnapshotName, OpError> {
    super::reads::resolve(store, which)?
        .snapshot
        .ok_or_else(|| OpError::usage("base/ is not a snapshot: it cannot be exported"))
}

/// What `import-bundle` did.
#[derive(Debug, serde::Serialize)]
pub struct ImportReport {
    #[serde(flatten)]
    pub imported: Imported,
    /// `channel: mirror -> snapshot` moved.
    pub channels: Vec<String>,
}

/// `import-bundle PATH --key KEY`: check the bundle against the pinned
/// key, make its snapshots, apply its pointers and channels (unless
/// `pointers` is false), then the index and the bucket.
pub fn import_bundle(
    ops: &Ops,
    path: &Path,
    key: &Path,
    pointers: bool,
    by: &str,
) -> Result<Done<ImportReport>, OpError> {
    let text = std::fs::read_to_string(key)
        .map_err(|e| OpError::usage(format!("--key {}: {e}", key.display())))?;
    let ring = crate::trust::Keyring::load(&[(key.display().to_string(), text)], &[])
        .map_err(|e| OpError::usage(format!("--key: {}", mirror_index::error_chain(&e))))?;
    let imported = crate::bundle::import::import(&ops.root, path, &ring, pointers, ops.wait)
        .map_err(|e| op(&e))?;
    let mut moved: Vec<MirrorName> = imported
        .snapshots
        .iter()
        .chain(imported.latest.keys())
        .filter_map(|s| MirrorName::new(s.split('/').next().unwrap_or_default()).ok())
        .collect();
    moved.sort();
    moved.dedup();
    let mut channels_moved = Vec::new();
    let mut warnings = Vec::new();
    for (ch, set) in &imported.channels {
        let Ok(channel) = Channel::new(ch) else {
            continue;
        };
        let current = set.iter().all(|(m, s)| {
            channels::pointers_of(&ops.root.join(m))
                .ok()
                .and_then(|p| p.get(ch).cloned())
                .as_deref()
                == Some(s.as_str())
        });
        // Pointers already there are not enough: a promotion killed after
        // them has its channel index still to write (its journal says so).
        if current && !channels::is_pending(&ops.root, &channel) {
            continue;
        }
        let set: channels::Set = set
            .iter()
            .filter_map(|(m, s)| Some((MirrorName::new(m).ok()?, SnapshotName::parse(s).ok()?)))
            .collect();
        match super::verbs::promote(ops, &channel, &set, "imported from a bundle", by) {
            Ok(done) => {
                channels_moved.extend(
                    done.value
                        .set
                        .iter()
                        .map(|(m, s)| format!("{ch}: {m} -> {s}")),
                );
                warnings.extend(done.after.warnings);
            }
            Err(e) => warnings.push(format!("channel {ch} not moved: {}", e.message)),
        }
    }
    let mut after = ops.follow(
        &moved,
        Follow {
            index: true,
            bucket: true,
        },
    );
    after.warnings.extend(warnings);
    Ok(Done {
        value: ImportReport {
            imported,
            channels: channels_moved,
        },
        after,
    })
}
