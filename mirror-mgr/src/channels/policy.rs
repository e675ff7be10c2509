//! The vote policy, pure: given a set, its votes, a channel's required
//! jobs, what the channel names now and what a rollback rejected, does the
//! set move the channel? One test per branch.

use std::collections::BTreeMap;

use mirror_index::MirrorName;

use super::model::{Set, Vote};

/// What a channel's policy is asked about one set.
pub struct Ballot<'a> {
    pub set: &'a Set,
    /// Every vote on the set, oldest first.
    pub votes: &'a [Vote],
    /// The jobs that must all have passed.
    pub require: &'a [String],
    /// mirror -> snapshot the channel names now.
    pub current: Option<&'a BTreeMap<String, String>>,
    /// mirror -> snapshots rolled back from on this channel.
    pub rejected: &'a BTreeMap<String, Vec<String>>,
}

/// The answer, and why not when it is not a promotion.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Promote {
        reason: String,
    },
    /// A vote on the set failed: it never moves a channel.
    Failed,
    /// A snapshot of the set was rolled back from this channel (an admin's
    /// promotion clears it; a late or retried CI job cannot undo a rollback).
    Rejected,
    /// These required jobs have not passed yet.
    Waiting(Vec<String>),
    /// A snapshot is older than the one the channel names: never backwards.
    Older,
    /// The channel names this set already.
    Already,
}

/// Whether `b`'s set moves the channel; `id` is the set's id, for the reason.
pub fn verdict(b: &Ballot<'_>, id: &str) -> Verdict {
    if b.votes.iter().any(|v| !v.pass) {
        return Verdict::Failed;
    }
    if b.set.iter().any(|(m, s)| {
        b.rejected
            .get(m.as_str())
            .is_some_and(|r| r.iter().any(|x| x == s.as_str()))
    }) {
        return Verdict::Rejected;
    }
    let waiting: Vec<String> = b
        .require
        .iter()
        .filter(|job| !b.votes.iter().any(|v| v.pass && &v.job == *job))
        .cloned()
        .collect();
    if !waiting.is_empty() {
        return Verdict::Waiting(waiting);
    }
    let here = |m: &MirrorName| b.current.and_then(|c| c.get(m.as_str()));
    if b.set
        .iter()
        .any(|(m, s)| here(m).is_some_and(|cur| s.as_str() < cur.as_str()))
    {
        return Verdict::Older;
    }
    if b.set
        .iter()
        .all(|(m, s)| here(m).is_some_and(|cur| cur == s.as_str()))
    {
        return Verdict::Already;
    }
    Verdict::Promote {
        reason: format!(
            "votes on set {id}: {}",
            b.require
                .iter()
                .map(|j| format!("{j} passed"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mirror_index::SnapshotName;

    fn set(s: &str) -> Set {
        Set::from([(
            MirrorName::new("a-el9").unwrap(),
            SnapshotName::parse(s).unwrap(),
        )])
    }

    fn vote(job: &str, pass: bool) -> Vote {
        Vote::new(job, pass, None, None).unwrap()
    }

    fn ask(set: &Set, votes: &[Vote], current: Option<&str>, rejected: Option<&str>) -> Verdict {
        let require = ["unit".to_owned(), "e2e".to_owned()];
        let current: Option<BTreeMap<String, String>> =
            current.map(|c| BTreeMap::from([("a-el9".to_owned(), c.to_owned())]));
        let rejected: BTreeMap<String, Vec<String>> = rejected
            .map(|r| BTreeMap::from([("a-el9".to_owned(), vec![r.to_owned()])]))
            .unwrap_or_default();
        verdict(
            &Ballot {
                set,
                votes,
                require: &require,
                current: current.as_ref(),
                rejected: &rejected,
            },
            "0123456789abcdef",
        )
    }

    #[test]
    fn each_branch() {
        let s2 = set("2026-01-02-00-00");
        let both = [vote("unit", true), vote("e2e", true)];
        assert_eq!(
            ask(&s2, &both, None, None),
            Verdict::Promote {
                reason: "votes on set 0123456789abcdef: unit passed, e2e passed".into()
            }
        );
        assert_eq!(
            ask(&s2, &both, Some("2026-01-01-00-00"), None),
            Verdict::Promote {
                reason: "votes on set 0123456789abcdef: unit passed, e2e passed".into()
            },
            "newer than the channel's"
        );
        assert_eq!(
            ask(&s2, &[vote("unit", true)], None, None),
            Verdict::Waiting(vec!["e2e".into()])
        );
        assert_eq!(
            ask(
                &s2,
                &[vote("unit", true), vote("e2e", false), vote("e2e", true)],
                None,
                None
            ),
            Verdict::Failed,
            "one failed vote spoils the set, whatever passes later"
        );
        assert_eq!(
            ask(&s2, &both, Some("2026-01-03-00-00"), None),
            Verdict::Older
        );
        assert_eq!(
            ask(&s2, &both, Some("2026-01-02-00-00"), None),
            Verdict::Already
        );
        assert_eq!(
            ask(
                &s2,
                &both,
                Some("2026-01-01-00-00"),
                Some("2026-01-02-00-00")
            ),
            Verdict::Rejected
        );
        // A vote for a job the policy does not require counts for nothing.
        assert_eq!(
            ask(&s2, &[vote("lint", true)], None, None),
            Verdict::Waiting(vec!["unit".into(), "e2e".into()])
        );
    }
}
