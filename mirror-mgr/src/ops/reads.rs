//! The read verbs, the same from every door: `diff` (packages and
//! advisories between two snapshots) and `advisories` (what a snapshot or
//! a channel fixes, and where a CVE was first fixed).

use std::path::{Path, PathBuf};

use mirror_index::{MirrorName, SnapshotName, layout};

use super::error::OpError;
use crate::advisories::query::{CveState, Filter};
use crate::advisories::{self, Advisories, Summary};
use crate::snapshot_diff::SnapshotDiff;
use crate::store::Store;

/// A side of a diff or the subject of a question, found.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The snapshot it is (`None`: `base/`).
    pub snapshot: Option<SnapshotName>,
    pub dir: PathBuf,
}

/// The mirror `name` of `root`, which must exist.
pub fn mirror_store(root: &Path, name: &MirrorName) -> Result<Store, OpError> {
    let store = Store::new(root, name.clone());
    if !store.dir.is_dir() {
        return Err(OpError::not_found(format!(
            "no mirror {name} under {}",
            root.display()
        )));
    }
    Ok(store)
}

/// `which` of a mirror: `base`, `latest`, a channel's name, or a snapshot.
pub fn resolve(store: &Store, which: &str) -> Result<Resolved, OpError> {
    let found = |s: SnapshotName| Resolved {
        dir: store.snapshot_dir(&s),
        snapshot: Some(s),
    };
    if which == layout::BASE_DIR {
        return Ok(Resolved {
            snapshot: None,
            dir: store.base(),
        });
    }
    if which == "latest" {
        let l = store
            .latest()
            .map_err(|e| OpError::of(&e))?
            .ok_or_else(|| {
                OpError::not_found(format!("mirror {} has no latest snapshot", store.name))
            })?;
        return Ok(found(l));
    }
    if let Ok(s) = SnapshotName::parse(which)
        && store.snapshot_dir(&s).is_dir()
    {
        return Ok(found(s));
    }
    let pointers = crate::channels::pointers_of(&store.dir).map_err(|e| OpError::of(&e))?;
    if let Some(s) = pointers
        .get(which)
        .and_then(|s| SnapshotName::parse(s).ok())
        .filter(|s| store.snapshot_dir(s).is_dir())
    {
        return Ok(found(s));
    }
    let mut have: Vec<String> = store
        .snapshots()
        .map(|v| v.iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    have.extend(pointers.into_keys());
    have.push("latest".into());
    Err(OpError::not_found(format!(
        "mirror {} has no snapshot or channel {which:?}; it has: {}",
        store.name,
        have.join(", ")
    )))
}

/// `diff NAME A B`: packages and advisories from A to B.
pub fn diff(
    root: &Path,
    mirror: &MirrorName,
    from: &str,
    to: &str,
) -> Result<SnapshotDiff, OpError> {
    let store = mirror_store(root, mirror)?;
    let (a, b) = (resolve(&store, from)?, resolve(&store, to)?);
    crate::snapshot_diff::between(&a.dir, &b.dir).map_err(|e| OpError::of(&e))
}

/// `advisories`: which snapshot is asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum At {
    /// A snapshot's name, `latest` or `base`.
    Snapshot(String),
    Channel(String),
}

impl At {
    fn name(&self) -> &str {
        match self {
            Self::Snapshot(s) | Self::Channel(s) => s,
        }
    }
}

/// What `advisories` answers for one mirror.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MirrorAnswer {
    pub mirror: String,
    pub snapshot: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The advisories of the snapshot the filter selects.
    pub advisories: Vec<Summary>,
    /// One answer per `--cve`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cves: Vec<CveAnswer>,
}

/// "Is CVE-X fixed here?"
#[derive(Debug, Clone, serde::Serialize)]
pub struct CveAnswer {
    pub cve: String,
    /// `fixed`; `fixed_in_latest` (not here, but in latest);
    /// `partial` (listed here, its packages not all there); `not_fixed`.
    pub status: &'static str,
    #[serde(flatten)]
    pub here: CveState,
    /// Latest's snapshot and what fixes it there.
    pub latest: Option<LatestState>,
    /// The oldest snapshot of the mirror in which it is fixed.
    pub first_fixed_in: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct LatestState {
    pub snapshot: String,
    #[serde(flatten)]
    pub state: CveState,
}

impl CveAnswer {
    pub fn fixed(&self) -> bool {
        self.status == "fixed"
    }
}

/// `advisories --all-mirrors`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AllAnswer {
    pub mirrors: Vec<MirrorAnswer>,
    /// Mirrors not asked: `name: why` (no such channel, no snapshot).
    pub skipped: Vec<String>,
}

/// `advisories NAME [SNAPSHOT|--channel C] [--type] [--severity] [--cve]`.
pub fn advisories(
    root: &Path,
    mirror: &MirrorName,
    at: &At,
    filter: &Filter,
) -> Result<MirrorAnswer, OpError> {
    let store = mirror_store(root, mirror)?;
    let here = match at {
        At::Channel(c) => {
            let snap = crate::channels::pointers_of(&store.dir)
                .map_err(|e| OpError::of(&e))?
                .remove(c)
                .ok_or_else(|| {
                    OpError::not_found(format!("mirror {mirror} is not in channel {c}"))
                })?;
            resolve(&store, &snap)?
        }
        At::Snapshot(s) => resolve(&store, s)?,
    };
    let adv = read(&here.dir)?;
    let mut cves = Vec::new();
    if !filter.cves.is_empty() {
        let latest = match store.latest().map_err(|e| OpError::of(&e))? {
            Some(l) if Some(&l) == here.snapshot.as_ref() => Some((l, None)),
            Some(l) => Some((l.clone(), Some(read(&store.snapshot_dir(&l))?))),
            None => None,
        };
        let mut known: Vec<(&SnapshotName, &Advisories)> = Vec::new();
        if let Some(s) = &here.snapshot {
            known.push((s, &adv));
        }
        if let Some((l, Some(a))) = &latest {
            known.push((l, a));
        }
        let first = first_fixed(&store, &filter.cves, &known)?;
        for (cve, first) in filter.cves.iter().zip(first) {
            let st = CveState::of(&adv, cve);
            let latest = latest.as_ref().map(|(l, a)| LatestState {
                snapshot: l.to_string(),
                state: CveState::of(a.as_ref().unwrap_or(&adv), cve),
            });
            let status = if st.fixed() {
                "fixed"
            } else if latest.as_ref().is_some_and(|l| l.state.fixed()) {
                "fixed_in_latest"
            } else if st.listed() {
                "partial"
            } else {
                "not_fixed"
            };
            cves.push(CveAnswer {
                cve: cve.clone(),
                status,
                here: st,
                latest,
                first_fixed_in: first.map(|s| s.to_string()),
            });
        }
    }
    Ok(MirrorAnswer {
        mirror: mirror.to_string(),
        snapshot: here.snapshot.map(|s| s.to_string()),
        channel: match at {
            At::Channel(c) => Some(c.clone()),
            At::Snapshot(_) => None,
        },
        advisories: adv
            .iter()
            .filter(|s| filter.matches(s))
            .map(crate::advisories::Adv::to_summary)
            .collect(),
        cves,
    })
}

/// `advisories --all-mirrors`: the same question of every mirror of the
/// root; a mirror without that channel or snapshot is skipped, saying so.
pub fn advisories_all(root: &Path, at: &At, filter: &Filter) -> Result<AllAnswer, OpError> {
    let mut all = AllAnswer {
        mirrors: Vec::new(),
        skipped: Vec::new(),
    };
    let mirrors = layout::list_mirrors(root).map_err(|e| {
        OpError::new(
            super::Kind::Internal,
            format!("cannot list the mirrors of {}: {e}", root.display()),
        )
    })?;
    for m in mirrors {
        match advisories(root, &m, at, filter) {
            Ok(a) => all.mirrors.push(a),
            Err(e) if e.kind == super::Kind::NotFound => {
                all.skipped.push(format!("{m}: {}", e.message));
            }
            Err(e) => return Err(e),
        }
    }
    if all.mirrors.is_empty() {
        return Err(OpError::not_found(format!(
            "no mirror under {} has {}",
            root.display(),
            at.name()
        )));
    }
    Ok(all)
}

fn read(dir: &Path) -> Result<Advisories, OpError> {
    advisories::read_all(dir)
        .map(|(_, a)| a)
        .map_err(|e| OpError::of(&e))
}

/// For each CVE, the oldest snapshot of the mirror that fixes it.
/// Snapshots already read (`known`), and those whose primary and
/// updateinfo are those of the one before (the same checksums), are not
/// read again.
fn first_fixed(
    store: &Store,
    cves: &[String],
    known: &[(&SnapshotName, &Advisories)],
) -> Result<Vec<Option<SnapshotName>>, OpError> {
    let mut first: Vec<Option<SnapshotName>> = vec![None; cves.len()];
    let mut last_key: Option<Vec<String>> = None;
    let mut last: Option<std::borrow::Cow<'_, Advisories>> = None;
    for snap in store.snapshots().map_err(|e| OpError::of(&e))? {
        if first.iter().all(Option::is_some) {
            break;
        }
        let dir = store.snapshot_dir(&snap);
        let key = content_key(&dir);
        let same = matches!((&last_key, &key), (Some(k), Some(new)) if k == new);
        if let Some((_, a)) = known.iter().find(|(s, _)| **s == snap) {
            last = Some(std::borrow::Cow::Borrowed(*a));
        } else if !same || last.is_none() {
            let pkgs = crate::diff::read_index(&dir).map_err(|e| OpError::of(&e))?;
            let wanted = |a: &mirror_repodata::updateinfo::Advisory| {
                a.cves()
                    .iter()
                    .any(|c| cves.iter().any(|w| w.eq_ignore_ascii_case(c)))
            };
            let read = advisories::read(&dir, &pkgs, &wanted).map_err(|e| OpError::of(&e))?;
            last = Some(std::borrow::Cow::Owned(read));
        }
        let adv = last.as_deref().expect("set above");
        for (i, cve) in cves.iter().enumerate() {
            if first[i].is_none() && CveState::of(adv, cve).fixed() {
                first[i] = Some(snap.clone());
            }
        }
        last_key = key;
    }
    Ok(first)
}

/// The checksums of a snapshot's primary and updateinfo: equal keys,
/// equal answers.
fn content_key(dir: &Path) -> Option<Vec<String>> {
    let repo = mirror_repodata::repo::RepoDir::open(dir).ok()?;
    Some(
        repo.repomd
            .records
            .iter()
            .filter(|r| r.kind == "primary" || r.kind == "updateinfo")
            .map(|r| format!("{}:{}", r.kind, r.checksum.hex))
            .collect(),
    )
}
