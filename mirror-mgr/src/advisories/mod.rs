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

use std::path::Path;

use mirror_repodata::evr::Evr;
use mirror_repodata::repo::RepoDir;
use mirror_repodata::updateinfo::{Advisory, PackageRef};

use crate::diff::Index;
use crate::store::StoreError;

pub use changes::{Changes, changes};
pub use model::{Adv, Advisories, Summary, severity_key};

/// The advisories of the repository at `dir` that `wanted` selects (all:
/// `|_| true`), duplicates merged, each judged against `pkgs` (the
/// repository's own packages, [`crate::diff::read_index`]) as it is read.
pub fn read(
    dir: &Path,
    pkgs: &Index,
    wanted: &dyn Fn(&Advisory) -> bool,
) -> Result<Advisories, StoreError> {
    let repo = RepoDir::open(dir)?;
    let mut set = Advisories::default();
    let read = repo.for_each_advisory(|a: Advisory| {
        if !wanted(&a) {
            return Ok(());
        }
        set.push(&judged(a, pkgs))
    })?;
    read.map_err(|model::TooLarge| {
        StoreError::Repo(mirror_repodata::repo::RepoError::Listed {
            dir: dir.to_path_buf(),
            message: "its updateinfo holds more than 4 GiB of advisory text".into(),
        })
    })?;
    Ok(set.finish())
}

/// One advisory with its packages, and whether `pkgs` holds each binary one.
fn judged(a: Advisory, pkgs: &Index) -> Summary {
    let cves = a.cves().into_iter().map(str::to_owned).collect();
    let mut refs = a.packages;
    refs.sort();
    refs.dedup();
    let missing: Vec<String> = refs
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
        .map(PackageRef::nevra)
        .collect();
    Summary {
        id: a.id,
        kind: a.kind,
        severity: a.severity,
        issued: a.issued,
        updated: a.updated,
        title: a.title,
        cves,
        packages: refs.iter().map(PackageRef::nevra).collect(),
        applicable: missing.is_empty(),
        missing,
    }
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

    fn pref(name: &str, v: &str, arch: &str) -> PackageRef {
        PackageRef {
            name: name.into(),
            epoch: "0".into(),
            version: v.into(),
            release: "1".into(),
            arch: arch.into(),
        }
    }

    fn adv(refs: Vec<PackageRef>) -> Advisory {
        Advisory {
            id: "X".into(),
            kind: "security".into(),
            packages: refs,
            ..Advisory::default()
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
        // Newer than listed, exactly as listed, and a source package not asked for.
        let s = judged(
            adv(vec![
                pref("a", "1.5", "x86_64"),
                pref("b", "1.0", "noarch"),
                pref("a", "1.5", "src"),
            ]),
            &pkgs,
        );
        assert!(s.applicable && s.missing.is_empty());
        assert_eq!(s.packages.len(), 3);
        // One older than listed, one of an arch not held: partial, both named.
        let s = judged(
            adv(vec![pref("a", "2.1", "x86_64"), pref("b", "1.0", "i686")]),
            &pkgs,
        );
        assert!(!s.applicable);
        assert_eq!(s.missing, ["a-0:2.1-1.x86_64", "b-0:1.0-1.i686"]);
        // An advisory that lists no package is applicable (nothing is missing).
        assert!(judged(adv(vec![]), &pkgs).applicable);
    }

    #[test]
    fn duplicates_merge() {
        let mut a = summary("D", "security", None, &["CVE-1"]);
        let mut b = summary("D", "security", Some("Low"), &["CVE-2", "CVE-1"]);
        b.updated = Some(5);
        b.packages = vec!["c-0:1-1.noarch".into()];
        a.merge(b);
        assert_eq!(a.cves, ["CVE-1", "CVE-2"]);
        assert_eq!(a.severity.as_deref(), Some("Low"));
        assert_eq!((a.updated, a.packages.len()), (Some(5), 2));
    }

    #[test]
    fn severity_keys() {
        let s = severity_key;
        assert_eq!(s(Some("Critical")), "critical");
        assert_eq!(s(Some("None")), "unknown");
        assert_eq!(s(None), "unknown");
    }
}
