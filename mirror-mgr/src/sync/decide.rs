//! What a sync does once it has upstream's repomd.xml: a pure function of
//! that file and the mirror's state, so every branch is tested without a
//! network or a disk.

use mirror_index::SnapshotName;

/// The four outcomes, in the order they are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// repomd.xml equals latest's: nothing to do. `stale_pending` when a
    /// crashed commit left its journal behind after moving `latest.txt`.
    Unchanged {
        latest: SnapshotName,
        stale_pending: bool,
    },
    /// It equals the snapshot a crashed sync published but did not
    /// commit: finish that commit.
    FinishPending(SnapshotName),
    /// It equals a snapshot newer than latest that is not pending: latest
    /// was rolled back on purpose; keep it.
    HeldBack {
        latest: SnapshotName,
        matches: SnapshotName,
    },
    /// Build, publish and commit a new snapshot.
    New,
}

/// The mirror's state as the decision sees it.
pub struct State<'a> {
    pub latest: Option<&'a SnapshotName>,
    pub pending: Option<&'a SnapshotName>,
    /// Every snapshot, oldest first.
    pub snapshots: &'a [SnapshotName],
}

/// Decide, given upstream's `repomd` and how to read a snapshot's.
pub fn decide(
    repomd: &[u8],
    state: &State<'_>,
    repomd_of: impl Fn(&SnapshotName) -> Option<Vec<u8>>,
) -> Decision {
    let same = |s: &SnapshotName| repomd_of(s).as_deref() == Some(repomd);
    if let Some(l) = state.latest
        && same(l)
    {
        return Decision::Unchanged {
            latest: l.clone(),
            stale_pending: state.pending == Some(l),
        };
    }
    if let Some(p) = state.pending
        && same(p)
    {
        return Decision::FinishPending(p.clone());
    }
    if let Some(l) = state.latest
        && let Some(s) = state
            .snapshots
            .iter()
            .rev()
            .filter(|s| *s > l)
            .find(|s| same(s))
    {
        return Decision::HeldBack {
            latest: l.clone(),
            matches: s.clone(),
        };
    }
    Decision::New
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: &str) -> SnapshotName {
        SnapshotName::parse(n).unwrap()
    }

    /// Snapshots a, b, c whose repomd.xml are "A", "B", "C".
    fn world() -> (Vec<SnapshotName>, impl Fn(&SnapshotName) -> Option<Vec<u8>>) {
        let snaps = vec![
            s("2026-11-20-00-00"),
            s("2026-11-21-00-00"),
            s("2026-11-22-00-00"),
        ];
        let names = snaps.clone();
        let of = move |x: &SnapshotName| {
            let i = names.iter().position(|n| n == x)?;
            Some(vec![b"ABC"[i]])
        };
        (snaps, of)
    }

    #[test]
    fn each_branch() {
        let (snaps, of) = world();
        let st = |latest: Option<usize>, pending: Option<usize>| State {
            latest: latest.map(|i| &snaps[i]),
            pending: pending.map(|i| &snaps[i]),
            snapshots: &snaps,
        };
        assert_eq!(
            decide(b"C", &st(Some(2), None), &of),
            Decision::Unchanged {
                latest: snaps[2].clone(),
                stale_pending: false
            }
        );
        assert_eq!(
            decide(b"C", &st(Some(2), Some(2)), &of),
            Decision::Unchanged {
                latest: snaps[2].clone(),
                stale_pending: true
            }
        );
        assert_eq!(
            decide(b"C", &st(Some(1), Some(2)), &of),
            Decision::FinishPending(snaps[2].clone())
        );
        assert_eq!(
            decide(b"A", &st(None, Some(0)), &of),
            Decision::FinishPending(snaps[0].clone())
        );
        assert_eq!(
            decide(b"C", &st(Some(0), None), &of),
            Decision::HeldBack {
                latest: snaps[0].clone(),
                matches: snaps[2].clone()
            }
        );
        // An older snapshot's content is new again: a new snapshot, not a hold.
        assert_eq!(decide(b"A", &st(Some(1), None), &of), Decision::New);
        assert_eq!(decide(b"D", &st(Some(2), None), &of), Decision::New);
        assert_eq!(decide(b"C", &st(None, None), &of), Decision::New);
    }
}
