//! What two snapshots' advisories differ by: added (listed in B only),
//! removed (in A only), updated (in both, with another date, type,
//! severity, title, CVEs or packages), and newly applicable (in both,
//! partial in A and applicable in B: the packages arrived). Pure.

use std::cmp::Ordering;

use super::model::{Adv, Advisories, Summary};

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Changes {
    /// As B has them.
    pub added: Vec<Summary>,
    /// As A had them.
    pub removed: Vec<Summary>,
    /// As B has them.
    pub updated: Vec<Summary>,
    pub newly_applicable: Vec<Summary>,
}

/// The advisory changes from `a` to `b`; only the advisories that
/// changed are copied out.
pub fn changes(a: &Advisories, b: &Advisories) -> Changes {
    let mut c = Changes::default();
    let (mut x, mut y) = (a.iter().peekable(), b.iter().peekable());
    loop {
        let order = match (x.peek(), y.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(p), Some(q)) => p.id().cmp(q.id()),
        };
        match order {
            Ordering::Less => c.removed.extend(x.next().map(Adv::to_summary)),
            Ordering::Greater => c.added.extend(y.next().map(Adv::to_summary)),
            Ordering::Equal => {
                let (p, q) = (x.next().expect("peeked"), y.next().expect("peeked"));
                if !p.same_content(&q) {
                    c.updated.push(q.to_summary());
                } else if !p.applicable() && q.applicable() {
                    c.newly_applicable.push(q.to_summary());
                }
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::super::tests::summary;
    use super::*;

    fn set(v: Vec<Summary>) -> Advisories {
        Advisories::from_summaries(v)
    }

    #[test]
    fn each_kind_of_change() {
        let same = summary("SAME", "bugfix", None, &[]);
        let mut partial = summary("LATE", "security", Some("Important"), &["CVE-2"]);
        partial.applicable = false;
        partial.missing = vec!["late-0:1-1.noarch".into()];
        let old = summary("UPD", "security", Some("Low"), &["CVE-3"]);
        let gone = summary("GONE", "enhancement", None, &[]);
        let a = set(vec![same.clone(), partial.clone(), old.clone(), gone]);

        let mut arrived = partial.clone();
        arrived.applicable = true;
        arrived.missing.clear();
        let mut new_version = old.clone();
        new_version.updated = Some(1_800_000_000);
        new_version.cves.push("CVE-4".into());
        let new = summary("NEW", "security", Some("Critical"), &["CVE-1"]);
        let b = set(vec![same, arrived, new_version, new]);

        let c = changes(&a, &b);
        let ids = |v: &[Summary]| v.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&c.added), ["NEW"]);
        assert_eq!(ids(&c.removed), ["GONE"]);
        assert_eq!(ids(&c.updated), ["UPD"]);
        assert_eq!(c.updated[0].cves, ["CVE-3", "CVE-4"]);
        assert_eq!(ids(&c.newly_applicable), ["LATE"]);
        // Nothing changes from a set to itself.
        assert_eq!(changes(&b, &b), Changes::default());
    }
}
