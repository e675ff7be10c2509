//! `mirror-mgr diff NAME A B`: what changed between two snapshots, as a
//! release engineer reads it: packages added, removed, upgraded and
//! downgraded, by `name.arch`, ordered with rpm's own version comparison.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use mirror_repodata::evr::Evr;
use mirror_repodata::primary::Package;
use mirror_repodata::repo::RepoDir;

use crate::store::StoreError;

/// A version change of one `name.arch`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub name: String,
    pub arch: String,
    pub from: Evr,
    pub to: Evr,
}

/// The difference between two repos.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Diff {
    /// `name-epoch:version-release.arch` present only in the second.
    pub added: Vec<String>,
    /// Present only in the first.
    pub removed: Vec<String>,
    pub upgraded: Vec<Change>,
    pub downgraded: Vec<Change>,
}

type Index = BTreeMap<(String, String), Vec<Evr>>;

/// name.arch -> every EVR the repo at `dir` lists (newest last).
pub fn read_index(dir: &Path) -> Result<Index, StoreError> {
    let repo = RepoDir::open(dir)?;
    let mut out: Index = BTreeMap::new();
    repo.for_each_package(|p: Package| {
        out.entry((p.name, p.arch)).or_default().push(Evr {
            epoch: p.epoch,
            version: p.version,
            release: p.release,
        });
        Ok::<_, ()>(())
    })?
    .expect("callback never fails");
    for v in out.values_mut() {
        v.sort();
        v.dedup();
    }
    Ok(out)
}

/// Compare two package indexes: the newest EVR of each name.arch decides
/// upgrade or downgrade; other versions that appear or vanish are listed as
/// added or removed.
pub fn diff(a: &Index, b: &Index) -> Diff {
    let mut d = Diff::default();
    let nevra = |(n, arch): &(String, String), e: &Evr| format!("{n}-{e}.{arch}");
    let keys: BTreeSet<&(String, String)> = a.keys().chain(b.keys()).collect();
    for k in keys {
        let (va, vb) = (
            a.get(k).map_or(&[][..], Vec::as_slice),
            b.get(k).map_or(&[][..], Vec::as_slice),
        );
        if let (Some(na), Some(nb)) = (va.last(), vb.last()) {
            let change = || Change {
                name: k.0.clone(),
                arch: k.1.clone(),
                from: na.clone(),
                to: nb.clone(),
            };
            match nb.cmp(na) {
                Ordering::Greater => d.upgraded.push(change()),
                Ordering::Less => d.downgraded.push(change()),
                Ordering::Equal => {}
            }
        }
        let newest = |v: &[Evr]| v.last().cloned();
        let (ma, mb) = (newest(va), newest(vb));
        for e in vb.iter().filter(|e| !va.contains(e)) {
            if !(Some(e) == mb.as_ref() && ma.is_some()) {
                d.added.push(nevra(k, e));
            }
        }
        for e in va.iter().filter(|e| !vb.contains(e)) {
            if !(Some(e) == ma.as_ref() && mb.is_some()) {
                d.removed.push(nevra(k, e));
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evr(e: &str, v: &str, r: &str) -> Evr {
        Evr {
            epoch: e.into(),
            version: v.into(),
            release: r.into(),
        }
    }

    #[test]
    fn diff_classifies_changes() {
        let k = |n: &str| (n.to_owned(), "noarch".to_owned());
        let a: Index = [
            (k("up"), vec![evr("0", "1.0", "1")]),
            (k("down"), vec![evr("0", "2.0", "1")]),
            (k("gone"), vec![evr("0", "1", "1")]),
            (k("same"), vec![evr("0", "1", "1")]),
            (k("epoch"), vec![evr("0", "9.0", "1")]),
        ]
        .into();
        let b: Index = [
            (k("up"), vec![evr("0", "1.0", "1"), evr("0", "1.0", "2")]),
            (k("down"), vec![evr("0", "1.9", "1")]),
            (k("new"), vec![evr("0", "0.1", "1")]),
            (k("same"), vec![evr("0", "1", "1")]),
            (k("epoch"), vec![evr("1", "1.0", "1")]),
        ]
        .into();
        let d = diff(&a, &b);
        assert_eq!(d.added, ["new-0:0.1-1.noarch"]);
        assert_eq!(d.removed, ["gone-0:1-1.noarch"]);
        let up: Vec<_> = d
            .upgraded
            .iter()
            .map(|c| format!("{} {} -> {}", c.name, c.from, c.to))
            .collect();
        assert_eq!(up, ["epoch 0:9.0-1 -> 1:1.0-1", "up 0:1.0-1 -> 0:1.0-2"]);
        let down: Vec<_> = d
            .downgraded
            .iter()
            .map(|c| format!("{} {} -> {}", c.name, c.from, c.to))
            .collect();
        assert_eq!(down, ["down 0:2.0-1 -> 0:1.9-1"]);
    }
}
