//! Questions asked of snapshots' advisories, answered purely from what
//! [`super::read`] returned: which advisories match a filter, whether a
//! CVE is fixed, and how far a channel lags `latest` in security
//! advisories (its exposure).

use std::collections::BTreeMap;
use std::fmt::Write as _;

#[cfg(test)]
use super::model::Summary;
use super::model::{Adv, Advisories};

/// `--type`, `--severity`, `--cve`: each a list (any of), all of them at
/// once; compared without regard to case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub kinds: Vec<String>,
    pub severities: Vec<String>,
    pub cves: Vec<String>,
}

impl Filter {
    /// A filter from lists whose items may each hold several values split
    /// by commas (`--cve A,B --cve C`, `?cve=A,B`), checked: a CVE id is
    /// `CVE-YYYY-NNNN...`; a type or severity is a word of letters,
    /// digits, `-` and `_`, at most 64 long.
    pub fn parse(kinds: &[String], severities: &[String], cves: &[String]) -> Result<Self, String> {
        fn split(v: &[String]) -> Vec<String> {
            v.iter()
                .flat_map(|s| s.split(','))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        }
        let word = |what: &str, w: &String| {
            let ok = w.len() <= 64
                && w.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "{what} {:?}: give a word of letters, digits, - and _",
                    mirror_index::stdout::printable(&w.chars().take(80).collect::<String>())
                ))
            }
        };
        let f = Self {
            kinds: split(kinds),
            severities: split(severities),
            cves: split(cves),
        };
        for k in &f.kinds {
            word("advisory type", k)?;
        }
        for s in &f.severities {
            word("severity", s)?;
        }
        for c in &f.cves {
            if !is_cve(c) {
                return Err(format!(
                    "{:?} is not a CVE id (CVE-YYYY-NNNN)",
                    mirror_index::stdout::printable(&c.chars().take(80).collect::<String>())
                ));
            }
        }
        Ok(f)
    }

    pub fn matches(&self, s: &Adv<'_>) -> bool {
        let any = |want: &[String], have: &str| {
            want.is_empty() || want.iter().any(|w| w.eq_ignore_ascii_case(have))
        };
        any(&self.kinds, s.kind())
            && (self.severities.is_empty()
                || self
                    .severities
                    .iter()
                    .any(|w| w.eq_ignore_ascii_case(&s.severity_key())))
            && (self.cves.is_empty()
                || s.cves()
                    .any(|c| self.cves.iter().any(|w| w.eq_ignore_ascii_case(c))))
    }
}

/// `CVE-YYYY-NNNN` (four or more digits, any case).
pub fn is_cve(s: &str) -> bool {
    let mut parts = s.splitn(3, '-');
    let (Some(c), Some(y), Some(n)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    c.eq_ignore_ascii_case("cve")
        && y.len() == 4
        && y.bytes().all(|b| b.is_ascii_digit())
        && (4..=19).contains(&n.len())
        && n.bytes().all(|b| b.is_ascii_digit())
}

/// Does an advisory reference `cve`?
pub fn references(s: &Adv<'_>, cve: &str) -> bool {
    s.cves().any(|c| c.eq_ignore_ascii_case(cve))
}

/// What one snapshot says about one CVE.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CveState {
    /// Applicable advisories that reference it: the snapshot fixes it.
    pub fixed_by: Vec<String>,
    /// Advisories that reference it but whose packages are not all there.
    pub partial: Vec<String>,
}

impl CveState {
    pub fn of(adv: &Advisories, cve: &str) -> Self {
        let mut st = Self::default();
        for s in adv.iter().filter(|s| references(s, cve)) {
            if s.applicable() {
                st.fixed_by.push(s.id().to_owned());
            } else {
                st.partial.push(s.id().to_owned());
            }
        }
        st
    }

    pub fn fixed(&self) -> bool {
        !self.fixed_by.is_empty()
    }

    pub fn listed(&self) -> bool {
        self.fixed() || !self.partial.is_empty()
    }
}

/// A security advisory applicable in a snapshot, as its manifest keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Security {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cves: Vec<String>,
}

impl Security {
    /// The security advisories applicable in a snapshot, by id.
    pub fn of(adv: &Advisories) -> Vec<Self> {
        adv.iter()
            .filter(|s| s.is_security() && s.applicable())
            .map(|s| Self {
                id: s.id().to_owned(),
                severity: s.severity().map(str::to_owned),
                issued: s.issued(),
                cves: s.cves().map(str::to_owned).collect(),
            })
            .collect()
    }

    fn severity_key(&self) -> String {
        super::model::severity_key(self.severity.as_deref())
    }
}

/// How far a channel's snapshot lags `latest`: the security advisories
/// applicable in latest that are not applicable in the channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Exposure {
    /// How many, and how many of each severity (lower case; `unknown`).
    pub missing: usize,
    pub by_severity: BTreeMap<String, usize>,
    /// When the oldest of them was issued, and its age in whole days.
    #[serde(serialize_with = "super::model::time")]
    pub oldest_issued: Option<i64>,
    pub oldest_age_days: Option<i64>,
    /// Their ids, oldest first.
    pub advisories: Vec<String>,
}

/// The severities every exposure reports, zero or not (and any other seen).
pub const SEVERITIES: [&str; 5] = ["critical", "important", "moderate", "low", "unknown"];

impl Exposure {
    /// "3 security advisories (1 critical), oldest 6 days", or "no security advisories".
    pub fn phrase(&self) -> String {
        if self.missing == 0 {
            return "no security advisories".into();
        }
        let mut s = format!(
            "{} security advisor{}",
            self.missing,
            if self.missing == 1 { "y" } else { "ies" }
        );
        let sev: Vec<String> = ["critical", "important"]
            .iter()
            .filter_map(|k| self.by_severity.get(*k).map(|n| format!("{n} {k}")))
            .collect();
        if !sev.is_empty() {
            let _ = write!(s, " ({})", sev.join(", "));
        }
        if let Some(d) = self.oldest_age_days {
            let _ = write!(s, ", oldest {d} day{}", if d == 1 { "" } else { "s" });
        }
        s
    }
}

/// The exposure of a channel whose snapshot's applicable security
/// advisories are `channel`, against latest's, at `now` (seconds).
pub fn exposure(latest: &[Security], channel: &[Security], now: i64) -> Exposure {
    let held: std::collections::HashSet<&str> = channel.iter().map(|s| s.id.as_str()).collect();
    let mut lacking: Vec<&Security> = latest
        .iter()
        .filter(|s| !held.contains(s.id.as_str()))
        .collect();
    lacking.sort_by_key(|s| (s.issued.unwrap_or(i64::MAX), s.id.clone()));
    let mut e = Exposure {
        missing: lacking.len(),
        ..Exposure::default()
    };
    for s in &lacking {
        *e.by_severity.entry(s.severity_key()).or_default() += 1;
    }
    e.oldest_issued = lacking.iter().filter_map(|s| s.issued).min();
    e.oldest_age_days = e.oldest_issued.map(|t| (now - t).max(0) / 86_400);
    e.advisories = lacking.iter().map(|s| s.id.clone()).collect();
    e
}

#[cfg(test)]
mod tests {
    use super::super::tests::summary;
    use super::*;

    fn set(v: Vec<Summary>) -> Advisories {
        Advisories::from_summaries(v)
    }

    #[test]
    fn filters_combine() {
        let s = summary("A", "security", Some("Critical"), &["CVE-2024-1"]);
        let f = |k: &[&str], sv: &[&str], c: &[&str]| Filter {
            kinds: k.iter().map(|x| (*x).into()).collect(),
            severities: sv.iter().map(|x| (*x).into()).collect(),
            cves: c.iter().map(|x| (*x).into()).collect(),
        };
        let one = set(vec![s]);
        let s = one.get("A").unwrap();
        assert!(f(&[], &[], &[]).matches(&s));
        assert!(f(&["Security"], &["critical", "low"], &["cve-2024-1"]).matches(&s));
        assert!(!f(&["bugfix"], &[], &[]).matches(&s));
        assert!(!f(&[], &["low"], &[]).matches(&s));
        assert!(!f(&[], &[], &["CVE-2024-2"]).matches(&s));
    }

    #[test]
    fn filters_parse_lists_and_refuse_junk() {
        let v = |x: &[&str]| x.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let f = Filter::parse(
            &v(&["security,bugfix"]),
            &v(&[]),
            &v(&["CVE-2024-1234, cve-2023-12345", "CVE-2022-0001"]),
        )
        .unwrap();
        assert_eq!(f.kinds, ["security", "bugfix"]);
        assert_eq!(f.cves.len(), 3);
        for bad in [
            "CVE-24-1234",
            "CVE-2024-12",
            "2024-1234",
            "CVE-2024-1234x",
            "CVE-2024-1234;rm",
        ] {
            let e = Filter::parse(&[], &[], &v(&[bad])).unwrap_err();
            assert!(e.contains("not a CVE id"), "{bad}: {e}");
        }
        let e = Filter::parse(&[], &v(&["high<script>"]), &[]).unwrap_err();
        assert!(e.starts_with("severity"), "{e}");
    }

    #[test]
    fn cve_states() {
        let mut partial = summary("P", "security", None, &["CVE-2"]);
        partial.applicable = false;
        let adv = set(vec![summary("F", "security", None, &["CVE-1"]), partial]);
        let fixed = CveState::of(&adv, "cve-1");
        assert!(fixed.fixed() && fixed.fixed_by == ["F"]);
        let listed = CveState::of(&adv, "CVE-2");
        assert!(!listed.fixed() && listed.listed() && listed.partial == ["P"]);
        assert!(!CveState::of(&adv, "CVE-3").listed());
    }

    #[test]
    fn exposure_counts_what_latest_fixes_and_the_channel_does_not() {
        let day = 86_400;
        let mut crit = summary("C", "security", Some("Critical"), &["CVE-1"]);
        crit.issued = Some(10 * day);
        let mut imp = summary("I", "security", Some("Important"), &[]);
        imp.issued = Some(12 * day);
        let held = summary("H", "security", Some("Low"), &[]);
        let bug = summary("B", "bugfix", None, &[]);
        let mut not_there = summary("N", "security", Some("Low"), &[]);
        not_there.applicable = false;
        let latest = Security::of(&set(vec![
            crit.clone(),
            imp.clone(),
            held.clone(),
            bug,
            not_there,
        ]));
        // The channel lists I too, but without its packages.
        let mut imp_partial = imp;
        imp_partial.applicable = false;
        let channel = Security::of(&set(vec![held, imp_partial]));
        assert_eq!(latest.len(), 3);
        assert_eq!(channel.len(), 1);
        let e = exposure(&latest, &channel, 16 * day + 5);
        assert_eq!(e.missing, 2);
        assert_eq!(e.advisories, ["C", "I"]);
        assert_eq!(e.by_severity.get("critical"), Some(&1));
        assert_eq!(e.oldest_age_days, Some(6));
        assert_eq!(
            e.phrase(),
            "2 security advisories (1 critical, 1 important), oldest 6 days"
        );
        // Promoted to latest: nothing lags.
        let none = exposure(&latest, &latest, 16 * day);
        assert_eq!(
            (none.missing, none.phrase().as_str()),
            (0, "no security advisories")
        );
    }
}
