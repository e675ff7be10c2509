//! What moving a channel changes, per mirror: packages (+ - ^ v) and the
//! advisories that become applicable or stop being so, with their CVEs.
//! `promote --dry-run` shows it; a promotion records it beside its reason.

use std::collections::BTreeMap;
use std::path::Path;

use mirror_index::{MirrorName, SnapshotName};

use crate::advisories::{self, Adv, Advisories};
use crate::store::Store;

/// The most entries of each list a record keeps (the counts are whole).
pub const MAX_LISTED: usize = 200;

/// One advisory, as a promotion's summary names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AdvisoryRef {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cves: Vec<String>,
}

impl From<Adv<'_>> for AdvisoryRef {
    fn from(s: Adv<'_>) -> Self {
        Self {
            id: s.id().to_owned(),
            kind: s.kind().to_owned(),
            severity: s.severity().map(str::to_owned),
            cves: s.cves().map(str::to_owned).collect(),
        }
    }
}

/// How many of each, whole (the lists stop at [`MAX_LISTED`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    pub added: usize,
    pub removed: usize,
    pub upgraded: usize,
    pub downgraded: usize,
    pub gained: usize,
    pub lost: usize,
}

/// What one mirror's pointer moving does.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MirrorChange {
    /// The snapshot the channel named before (`None`: the mirror joins it).
    pub from: Option<String>,
    pub to: String,
    pub counts: Counts,
    /// `name-epoch:version-release.arch`.
    #[serde(default)]
    pub added: Vec<String>,
    #[serde(default)]
    pub removed: Vec<String>,
    /// `name.arch from -> to`.
    #[serde(default)]
    pub upgraded: Vec<String>,
    #[serde(default)]
    pub downgraded: Vec<String>,
    /// Advisories applicable after the move that were not before.
    #[serde(default)]
    pub gained: Vec<AdvisoryRef>,
    /// Advisories applicable before that are not after (a move back).
    #[serde(default)]
    pub lost: Vec<AdvisoryRef>,
    /// Why it could not be worked out (the promotion went ahead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The advisories applicable in `b` and not in `a` (gained), and the
/// other way round (lost).
pub fn applicable_delta<'a>(a: &'a Advisories, b: &'a Advisories) -> (Vec<Adv<'a>>, Vec<Adv<'a>>) {
    let held = |set: &Advisories, id: &str| set.get(id).is_some_and(|s| s.applicable());
    let gained = b
        .iter()
        .filter(|s| s.applicable() && !held(a, s.id()))
        .collect();
    let lost = a
        .iter()
        .filter(|s| s.applicable() && !held(b, s.id()))
        .collect();
    (gained, lost)
}

fn capped<T: Clone>(v: &[T]) -> Vec<T> {
    v.iter().take(MAX_LISTED).cloned().collect()
}

/// What moving the mirror in `store` from `from` to `to` changes.
pub fn mirror_change(
    store: &Store,
    from: Option<&SnapshotName>,
    to: &SnapshotName,
) -> MirrorChange {
    let mut c = MirrorChange {
        from: from.map(ToString::to_string),
        to: to.to_string(),
        ..MirrorChange::default()
    };
    if let Err(e) = fill(&mut c, store, from, to) {
        c.error = Some(mirror_index::error_chain(&e));
    }
    c
}

fn fill(
    c: &mut MirrorChange,
    store: &Store,
    from: Option<&SnapshotName>,
    to: &SnapshotName,
) -> Result<(), crate::store::StoreError> {
    let (pb, ab) = advisories::read_all(&store.snapshot_dir(to))?;
    let (pa, aa) = match from {
        Some(f) if store.snapshot_dir(f).is_dir() => advisories::read_all(&store.snapshot_dir(f))?,
        _ => Default::default(),
    };
    let d = crate::diff::diff(&pa, &pb);
    let change = |v: &[crate::diff::Change]| -> Vec<String> {
        v.iter()
            .take(MAX_LISTED)
            .map(|x| format!("{}.{} {} -> {}", x.name, x.arch, x.from, x.to))
            .collect()
    };
    let (gained, lost) = applicable_delta(&aa, &ab);
    c.counts = Counts {
        added: d.added.len(),
        removed: d.removed.len(),
        upgraded: d.upgraded.len(),
        downgraded: d.downgraded.len(),
        gained: gained.len(),
        lost: lost.len(),
    };
    c.added = capped(&d.added);
    c.removed = capped(&d.removed);
    c.upgraded = change(&d.upgraded);
    c.downgraded = change(&d.downgraded);
    c.gained = gained
        .into_iter()
        .take(MAX_LISTED)
        .map(AdvisoryRef::from)
        .collect();
    c.lost = lost
        .into_iter()
        .take(MAX_LISTED)
        .map(AdvisoryRef::from)
        .collect();
    Ok(())
}

/// What moving each mirror of `set` from the snapshot `current` names
/// for it (none: it joins the channel) changes.
pub fn summarize(
    root: &Path,
    current: &BTreeMap<MirrorName, SnapshotName>,
    set: &BTreeMap<MirrorName, SnapshotName>,
) -> BTreeMap<String, MirrorChange> {
    set.iter()
        .map(|(m, s)| {
            let store = Store::new(root, m.clone());
            (m.to_string(), mirror_change(&store, current.get(m), s))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisories::tests::summary;

    #[test]
    fn gained_and_lost_are_by_applicability() {
        let mut partial = summary("P", "security", None, &[]);
        partial.applicable = false;
        let a = Advisories::from_summaries(vec![
            summary("A", "bugfix", None, &[]),
            partial.clone(),
            summary("S", "security", None, &[]),
        ]);
        let mut arrived = partial;
        arrived.applicable = true;
        let b = Advisories::from_summaries(vec![
            arrived,
            summary("S", "security", None, &[]),
            summary("T", "security", None, &["CVE-1"]),
        ]);
        let (g, l) = applicable_delta(&a, &b);
        let ids = |v: &[Adv<'_>]| v.iter().map(|s| s.id().to_owned()).collect::<Vec<_>>();
        assert_eq!(ids(&g), ["P", "T"]);
        assert_eq!(ids(&l), ["A"]);
        let (g, l) = applicable_delta(&b, &b);
        assert!(g.is_empty() && l.is_empty());
    }
}
