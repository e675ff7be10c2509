//! What a snapshot fixes: the advisories its updateinfo lists, each judged
//! against the packages the snapshot holds.
//!
//! An advisory is *applicable* in a snapshot when the snapshot holds every
//! binary package the advisory lists at that version or newer (rpm's
//! order). Source packages (`src`, `nosrc`) are not asked for: binary
//! repositories do not hold them. An advisory the metadata lists whose
//! packages are not all there is *partial*, with the missing ones named.
//!
//! - [`read`]: a snapshot's advisories (duplicates merged), judged;
//! - [`changes`]: what two snapshots' advisories differ by;
//! - [`query`]: "is CVE-X fixed in tested?", the first snapshot that fixed
//!   it, and how far a channel lags `latest` in security advisories.

pub mod changes;
mod model;
pub mod query;

use std::collections::HashMap;
use std::path::Path;

use mirror_repodata::evr::Evr;
use mirror_repodata::repo::RepoDir;
use mirror_repodata::updateinfo::Advisory;

use crate::diff::Index;
use crate::store::StoreError;

pub use changes::{Changes, changes};
pub use model::{Advisories, Summary, severity_key};

/// The advisories of the repository at `dir` that `wanted` selects (all:
/// `|_| true`), duplicates merged, each judged against `pkgs` (the
/// repository's own packages, [`crate::diff::read_index`]).
pub fn read(
    dir: &Path,
    pkgs: &Index,
    wanted: &dyn Fn(&Advisory) -> bool,
) -> Result<Advisories, StoreError> {
    let repo = RepoDir::open(dir)?;
    let mut list: Vec<Summary> = Vec::new();
    let mut refs: Vec<Vec<mirror_repodata::updateinfo::PackageRef>> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    let read = repo.for_each_advisory(|a: Advisory| {
        if !wanted(&a) {
            return Ok::<_, std::convert::Infallible>(());
        }
        let (s, pkgs) = Summary::of(a);
        if let Some(&i) = at.get(&s.id) {
            merge(&mut list[i], &mut refs[i], s, pkgs);
        } else {
            at.insert(s.id.clone(), list.len());
            list.push(s);
            refs.push(pkgs);
        }
        Ok(())
    })?;
    let Ok(_) = read;
    drop(at);
    for (s, mut r) in list.iter_mut().zip(refs) {
        r.sort();
        r.dedup();
        judge(s, &r, pkgs);
    }
    list.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Advisories { list })
}

/// Fold a duplicate record of one id in (EPEL and Photon OS ship them):
/// the union of packages and CVEs, the newest dates, fields it lacked.
fn merge(
    s: &mut Summary,
    refs: &mut Vec<mirror_repodata::updateinfo::PackageRef>,
    other: Summary,
    other_refs: Vec<mirror_repodata::updateinfo::PackageRef>,
) {
    refs.extend(other_refs);
    s.cves.extend(other.cves);
    s.cves.sort();
    s.cves.dedup();
    s.issued = s.issued.max(other.issued);
    s.updated = s.updated.max(other.updated);
    if s.severity.is_none() {
        s.severity = other.severity;
    }
    if s.title.is_empty() {
        s.title = other.title;
    }
    if s.kind.is_empty() {
        s.kind = other.kind;
    }
}

/// Fill in the packages, and whether `pkgs` holds each binary one.
fn judge(s: &mut Summary, refs: &[mirror_repodata::updateinfo::PackageRef], pkgs: &Index) {
    s.packages = refs
        .iter()
        .map(mirror_repodata::updateinfo::PackageRef::nevra)
        .collect();
    s.missing = refs
        .iter()
        .filter(|p| p.arch != "src" && p.arch != "nosrc")
        .filter(|p| {
            let evr = Evr {
                epoch: p.epoch.clone(),
                version: p.version.clone(),
                release: p.release.clone(),
            };
            !pkgs.holds_at_least(&p.name, &p.arch, &evr)
        })
        .map(mirror_repodata::updateinfo::PackageRef::nevra)
        .collect();
    s.applicable = s.missing.is_empty();
}

/// A snapshot's packages and advisories, read once.
pub fn read_all(dir: &Path) -> Result<(Index, Advisories), StoreError> {
    let pkgs = crate::diff::read_index(dir)?;
    let adv = read(dir, &pkgs, &|_| true)?;
    Ok((pkgs, adv))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A summary for tests: `packages` as `name-e:v-r.arch`.
    pub fn summary(id: &str, kind: &str, sev: Option<&str>, cves: &[&str]) -> Summary {
        Summary {
            id: id.into(),
            kind: kind.into(),
            severity: sev.map(Into::into),
            issued: Some(1_700_000_000),
            updated: None,
            title: format!("{id} title"),
            cves: cves.iter().map(|c| (*c).to_owned()).collect(),
            packages: vec![format!("{}-0:1-1.noarch", id.to_lowercase())],
            applicable: true,
            missing: Vec::new(),
        }
    }

    fn pref(
        name: &str,
        e: &str,
        v: &str,
        r: &str,
        arch: &str,
    ) -> mirror_repodata::updateinfo::PackageRef {
        mirror_repodata::updateinfo::PackageRef {
            name: name.into(),
            epoch: e.into(),
            version: v.into(),
            release: r.into(),
            arch: arch.into(),
        }
    }

    #[test]
    fn applicable_when_every_binary_package_is_held_at_that_version_or_newer() {
        let k = |n: &str, a: &str| (n.to_owned(), a.to_owned());
        let e = |v: &str| Evr {
            epoch: "0".into(),
            version: v.into(),
            release: "1".into(),
        };
        let pkgs: Index = [
            (k("a", "x86_64"), vec![e("2.0")]),
            (k("b", "noarch"), vec![e("1.0")]),
        ]
        .into_iter()
        .collect();
        let mut s = summary("X", "security", None, &[]);
        // Newer than listed, exactly as listed, and a source package not asked for.
        let refs = [
            pref("a", "0", "1.5", "1", "x86_64"),
            pref("b", "0", "1.0", "1", "noarch"),
            pref("a", "0", "1.5", "1", "src"),
        ];
        judge(&mut s, &refs, &pkgs);
        assert!(s.applicable && s.missing.is_empty());
        assert_eq!(s.packages.len(), 3);
        // One older than listed, one of an arch not held: partial, both named.
        let refs = [
            pref("a", "0", "2.1", "1", "x86_64"),
            pref("b", "0", "1.0", "1", "i686"),
        ];
        judge(&mut s, &refs, &pkgs);
        assert!(!s.applicable);
        assert_eq!(s.missing, ["a-0:2.1-1.x86_64", "b-0:1.0-1.i686"]);
        // An advisory that lists no package is applicable (nothing is missing).
        judge(&mut s, &[], &pkgs);
        assert!(s.applicable);
    }

    #[test]
    fn duplicates_merge() {
        let mut a = summary("D", "security", None, &["CVE-1"]);
        let mut refs = vec![pref("a", "0", "1", "1", "noarch")];
        let mut b = summary("D", "security", Some("Low"), &["CVE-2", "CVE-1"]);
        b.updated = Some(5);
        merge(
            &mut a,
            &mut refs,
            b,
            vec![pref("c", "0", "1", "1", "noarch")],
        );
        assert_eq!(a.cves, ["CVE-1", "CVE-2"]);
        assert_eq!(a.severity.as_deref(), Some("Low"));
        assert_eq!((a.updated, refs.len()), (Some(5), 2));
    }

    #[test]
    fn severity_keys() {
        let s = |v: Option<&str>| summary("S", "security", v, &[]).severity_key();
        assert_eq!(s(Some("Critical")), "critical");
        assert_eq!(s(Some("None")), "unknown");
        assert_eq!(s(None), "unknown");
    }
}
