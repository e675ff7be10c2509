//! Advisory filters (`exclude_advisories`, `security_only`,
//! `issued_before`): which packages and advisories a snapshot keeps, by
//! what upstream's updateinfo says about them. Semantics follow Katello's
//! errata filters. Pure: advisories in, verdicts out.
//!
//! - `exclude_advisories: {ids, types, severities, issued_after}`: an
//!   advisory is excluded when its id is listed, or when it matches every
//!   other criterion given (types, severities: any of; issued_after: issued
//!   strictly after that date). `{types: [enhancement], issued_after:
//!   2026-03-01}` excludes the enhancements issued after March 1st.
//! - `issued_before: DATE`, the patch level as of a date: every advisory
//!   issued after DATE is excluded.
//! - Excluded advisories are left out of updateinfo, and so are the
//!   packages they list, unless an advisory that is kept lists them too.
//! - `security_only: true`: a package version newer than the oldest version
//!   of its `name.arch` in the repository is kept only when a kept security
//!   advisory lists it.
//!
//! An advisory without a readable date is never matched by a date.

use std::collections::{HashMap, HashSet};

use mirror_repodata::evr::Evr;
use mirror_repodata::rewrite::nevra_key;
use mirror_repodata::updateinfo::Advisory;

use super::candidate::Candidate;

/// A mirror's advisory filter, as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdvisoryFilter {
    pub exclude_ids: Vec<String>,
    pub exclude_types: Vec<String>,
    pub exclude_severities: Vec<String>,
    /// Seconds since the epoch.
    pub exclude_issued_after: Option<i64>,
    pub issued_before: Option<i64>,
    pub security_only: bool,
}

impl AdvisoryFilter {
    pub fn is_active(&self) -> bool {
        *self != Self::default()
    }

    /// Canonical, for [`super::FilterSpec::fingerprint`].
    pub fn fingerprint(&self) -> String {
        let list = |v: &[String]| {
            let mut v: Vec<String> = v.iter().map(|s| s.to_ascii_lowercase()).collect();
            v.sort();
            v.dedup();
            v.join(",")
        };
        let date = |d: Option<i64>| d.map_or_else(|| "-".into(), |d| d.to_string());
        format!(
            "exclude_advisories=ids:{};types:{};severities:{};issued_after:{};issued_before={};security_only={}",
            self.exclude_ids.join(","),
            list(&self.exclude_types),
            list(&self.exclude_severities),
            date(self.exclude_issued_after),
            date(self.issued_before),
            self.security_only
        )
    }

    /// Does the filter leave this advisory out?
    pub fn excludes(&self, a: &Advisory) -> bool {
        if self.exclude_ids.contains(&a.id) {
            return true;
        }
        if let (Some(before), Some(issued)) = (self.issued_before, a.issued)
            && issued > before
        {
            return true;
        }
        let criteria = !self.exclude_types.is_empty()
            || !self.exclude_severities.is_empty()
            || self.exclude_issued_after.is_some();
        let any = |want: &[String], have: Option<&str>| {
            want.is_empty() || have.is_some_and(|h| want.iter().any(|w| w.eq_ignore_ascii_case(h)))
        };
        criteria
            && any(&self.exclude_types, Some(&a.kind))
            && any(
                &self.exclude_severities,
                Some(crate::advisories::severity_key(a.severity.as_deref()).as_str()),
            )
            && self
                .exclude_issued_after
                .is_none_or(|after| a.issued.is_some_and(|t| t > after))
    }
}

/// What the advisories of a repository say, for the filter: built by
/// [`Verdicts::add`] one advisory at a time.
#[derive(Debug, Default)]
pub struct Verdicts {
    /// Advisories left out.
    pub excluded_ids: HashSet<String>,
    /// NEVRAs ([`nevra_key`]) listed by an excluded advisory, by a kept
    /// one, by a kept security advisory.
    excluded: HashSet<String>,
    kept: HashSet<String>,
    security: HashSet<String>,
}

impl Verdicts {
    pub fn add(&mut self, f: &AdvisoryFilter, a: &Advisory) {
        let excluded = f.excludes(a);
        let security = a.kind.eq_ignore_ascii_case("security");
        for p in &a.packages {
            let key = p.nevra();
            if excluded {
                self.excluded.insert(key);
            } else {
                if security {
                    self.security.insert(key.clone());
                }
                self.kept.insert(key);
            }
        }
        if excluded {
            self.excluded_ids.insert(a.id.clone());
        }
    }

    /// Which candidates the advisory filter lets through (the package
    /// filters decide the rest).
    pub fn allowed(&self, f: &AdvisoryFilter, pkgs: &[Candidate]) -> Vec<bool> {
        let key = |p: &Candidate| nevra_key(&p.name, &p.epoch, &p.version, &p.release, &p.arch);
        let mut allow: Vec<bool> = pkgs
            .iter()
            .map(|p| {
                let k = key(p);
                !self.excluded.contains(&k) || self.kept.contains(&k)
            })
            .collect();
        if f.security_only {
            let mut oldest: HashMap<(&str, &str), Evr> = HashMap::new();
            for p in pkgs {
                let e = p.evr();
                oldest
                    .entry((&p.name, &p.arch))
                    .and_modify(|o| {
                        if e < *o {
                            *o = e.clone();
                        }
                    })
                    .or_insert(e);
            }
            for (i, p) in pkgs.iter().enumerate() {
                let is_oldest = oldest
                    .get(&(p.name.as_str(), p.arch.as_str()))
                    .is_some_and(|o| p.evr().cmp(o) == std::cmp::Ordering::Equal);
                if !is_oldest && !self.security.contains(&key(p)) {
                    allow[i] = false;
                }
            }
        }
        allow
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mirror_repodata::updateinfo::PackageRef;

    fn adv(
        id: &str,
        kind: &str,
        sev: Option<&str>,
        issued: i64,
        pkgs: &[(&str, &str)],
    ) -> Advisory {
        Advisory {
            id: id.into(),
            kind: kind.into(),
            severity: sev.map(Into::into),
            issued: Some(issued),
            packages: pkgs
                .iter()
                .map(|(n, v)| PackageRef {
                    name: (*n).into(),
                    epoch: "0".into(),
                    version: (*v).into(),
                    release: "1".into(),
                    arch: "noarch".into(),
                })
                .collect(),
            ..Advisory::default()
        }
    }

    fn cand(n: &str, v: &str) -> Candidate {
        Candidate {
            name: n.into(),
            arch: "noarch".into(),
            epoch: "0".into(),
            version: v.into(),
            release: "1".into(),
        }
    }

    const DAY: i64 = 86_400;

    #[test]
    fn exclusion_rules() {
        let sec = adv("S-1", "security", Some("Low"), 10 * DAY, &[]);
        let enh = adv("E-1", "enhancement", None, 20 * DAY, &[]);
        let f = |x: AdvisoryFilter| (x.excludes(&sec), x.excludes(&enh));
        // ids alone.
        let ids = AdvisoryFilter {
            exclude_ids: vec!["E-1".into()],
            ..AdvisoryFilter::default()
        };
        assert_eq!(f(ids), (false, true));
        // types AND a date: enhancements after day 15.
        let late_enh = AdvisoryFilter {
            exclude_types: vec!["Enhancement".into()],
            exclude_issued_after: Some(15 * DAY),
            ..AdvisoryFilter::default()
        };
        assert_eq!(f(late_enh.clone()), (false, true));
        let early = AdvisoryFilter {
            exclude_issued_after: Some(25 * DAY),
            ..late_enh
        };
        assert_eq!(f(early), (false, false));
        // Severities: `unknown` names advisories without one.
        let unknown = AdvisoryFilter {
            exclude_severities: vec!["unknown".into()],
            ..AdvisoryFilter::default()
        };
        assert_eq!(f(unknown), (false, true));
        // The patch level as of a date.
        let asof = AdvisoryFilter {
            issued_before: Some(15 * DAY),
            ..AdvisoryFilter::default()
        };
        assert_eq!(f(asof), (false, true));
        // No date: never matched by one.
        let mut undated = enh.clone();
        undated.issued = None;
        let asof = AdvisoryFilter {
            issued_before: Some(0),
            ..AdvisoryFilter::default()
        };
        assert!(!asof.excludes(&undated));
        assert!(!AdvisoryFilter::default().is_active());
    }

    #[test]
    fn excluded_packages_unless_a_kept_advisory_lists_them() {
        let f = AdvisoryFilter {
            exclude_types: vec!["enhancement".into()],
            ..AdvisoryFilter::default()
        };
        let mut v = Verdicts::default();
        v.add(
            &f,
            &adv("E-1", "enhancement", None, 0, &[("a", "2"), ("b", "2")]),
        );
        v.add(&f, &adv("B-1", "bugfix", None, 0, &[("b", "2")]));
        let pkgs = [
            cand("a", "1"),
            cand("a", "2"),
            cand("b", "2"),
            cand("c", "1"),
        ];
        assert_eq!(v.allowed(&f, &pkgs), [true, false, true, true]);
        assert_eq!(v.excluded_ids, HashSet::from(["E-1".to_owned()]));
    }

    #[test]
    fn security_only_keeps_the_oldest_and_what_security_advisories_list() {
        let f = AdvisoryFilter {
            security_only: true,
            ..AdvisoryFilter::default()
        };
        let mut v = Verdicts::default();
        v.add(
            &f,
            &adv("S-1", "security", Some("Important"), 0, &[("a", "2")]),
        );
        v.add(&f, &adv("B-1", "bugfix", None, 0, &[("a", "3")]));
        let pkgs = [
            cand("a", "1"),
            cand("a", "2"),
            cand("a", "3"),
            cand("a", "10"),
            cand("b", "5"),
        ];
        // a-1 (the oldest), a-2 (security); a-3 (bugfix) and a-10 (no advisory) not; b-5 alone is its oldest.
        assert_eq!(v.allowed(&f, &pkgs), [true, true, false, false, true]);
        // An excluded security advisory does not let its packages in.
        let both = AdvisoryFilter {
            exclude_ids: vec!["S-1".into()],
            security_only: true,
            ..AdvisoryFilter::default()
        };
        let mut v = Verdicts::default();
        v.add(&both, &adv("S-1", "security", None, 0, &[("a", "2")]));
        assert_eq!(v.allowed(&both, &pkgs[..2]), [true, false]);
    }
}
