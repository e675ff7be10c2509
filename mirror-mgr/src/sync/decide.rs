//! What a sync does once it has upstream's repomd.xml: a pure function of
//! that file and the mirror's state, so every branch is tested without a
//! network or a disk.
//!
//! Downgrade protection lives here too: a repomd.xml older than what the
//! mirror has already published (a replayed, validly signed old file, or a
//! lagging mirror of a mirrorlist) never becomes a new latest unless the
//! mirror allows downgrades.

use mirror_index::SnapshotName;

/// The five outcomes, in the order they are checked.
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
    /// It is older than what the mirror published (see [`downgrade`]) and
    /// downgrades are not allowed: latest stays, the report says why.
    Downgrade { latest: SnapshotName, why: String },
    /// Build, publish and commit a new snapshot. `downgrade` says why it is
    /// one, when the mirror allows downgrades and this is one.
    New { downgrade: Option<String> },
}

/// The mirror's state as the decision sees it.
pub struct State<'a> {
    pub latest: Option<&'a SnapshotName>,
    pub pending: Option<&'a SnapshotName>,
    /// Every snapshot, oldest first.
    pub snapshots: &'a [SnapshotName],
    /// `allow_downgrade`: an older repomd.xml makes a new snapshot.
    pub allow_downgrade: bool,
}

/// What orders two repomd.xml of one upstream in time: its `<revision>`
/// (when a number) and its newest `<timestamp>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Freshness {
    pub revision: Option<u64>,
    pub timestamp: Option<u64>,
}

impl Freshness {
    /// Read from a repomd.xml, or from a filtered snapshot's
    /// [`source_record`]. Unreadable: empty.
    pub fn of(repomd: &[u8]) -> Self {
        mirror_repodata::repomd::parse(upstream_repomd(repomd)).map_or_else(
            |_| Self::default(),
            |md| Self {
                revision: md.revision.as_deref().and_then(|r| r.trim().parse().ok()),
                timestamp: md.newest_timestamp(),
            },
        )
    }

    /// Why `self` is older than `than`, if it is.
    pub fn older_than(&self, than: &Self) -> Option<String> {
        if let (Some(a), Some(b)) = (self.revision, than.revision)
            && a < b
        {
            return Some(format!("its revision {a} is older than {b}"));
        }
        if let (Some(a), Some(b)) = (self.timestamp, than.timestamp)
            && a < b
        {
            return Some(format!("its newest timestamp {a} is older than {b}"));
        }
        None
    }
}

/// What a filtered snapshot is made from, recorded with it and compared
/// instead of repomd.xml: a line naming the filter and signing key, then
/// upstream's repomd.xml.
pub fn source_record(filter: &str, sign_key: Option<&str>, repomd: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "{SOURCE_PREFIX}{filter} sign_key {}\n",
        sign_key.unwrap_or("none")
    )
    .into_bytes();
    out.extend_from_slice(repomd);
    out
}

const SOURCE_PREFIX: &str = "filter ";

/// Upstream's repomd.xml in a [`source_record`], or `record` itself when
/// it is a plain repomd.xml.
fn upstream_repomd(record: &[u8]) -> &[u8] {
    match record.strip_prefix(SOURCE_PREFIX.as_bytes()) {
        Some(rest) => rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(&[][..], |i| &rest[i + 1..]),
        None => record,
    }
}

/// Why `repomd` would take the mirror back in time, if it would: its bytes
/// equal a snapshot older than latest, or its revision or newest timestamp
/// is older than latest's or the newest snapshot's. Equal to latest or to a
/// snapshot newer than latest (a rollback's hold) is no downgrade.
pub fn downgrade(
    repomd: &[u8],
    state: &State<'_>,
    repomd_of: impl Fn(&SnapshotName) -> Option<Vec<u8>>,
) -> Option<String> {
    let latest = state.latest?;
    if let Some(s) = state
        .snapshots
        .iter()
        .rev()
        .filter(|s| *s < latest)
        .find(|s| repomd_of(s).as_deref() == Some(repomd))
    {
        return Some(format!("it is the repomd.xml of the older snapshot {s}"));
    }
    let mine = Freshness::of(repomd);
    let newest = state.snapshots.iter().max().filter(|n| *n > latest);
    std::iter::once(latest).chain(newest).find_map(|s| {
        let theirs = Freshness::of(&repomd_of(s)?);
        mine.older_than(&theirs).map(|why| format!("{why}, {s}'s"))
    })
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
    let down = downgrade(repomd, state, &repomd_of);
    match (down, state.latest) {
        (Some(why), Some(l)) if !state.allow_downgrade => Decision::Downgrade {
            latest: l.clone(),
            why,
        },
        (down, _) => Decision::New { downgrade: down },
    }
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
            allow_downgrade: false,
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
        // An older snapshot's content again: a replay, latest holds...
        assert_eq!(
            decide(b"A", &st(Some(1), None), &of),
            Decision::Downgrade {
                latest: snaps[1].clone(),
                why: format!("it is the repomd.xml of the older snapshot {}", snaps[0]),
            }
        );
        // ...unless the mirror allows downgrades.
        let allowed = State {
            allow_downgrade: true,
            ..st(Some(1), None)
        };
        assert!(matches!(
            decide(b"A", &allowed, &of),
            Decision::New { downgrade: Some(_) }
        ));
        assert_eq!(
            decide(b"D", &st(Some(2), None), &of),
            Decision::New { downgrade: None }
        );
        assert_eq!(
            decide(b"C", &st(None, None), &of),
            Decision::New { downgrade: None }
        );
    }

    fn repomd(revision: &str, timestamps: &[u64]) -> Vec<u8> {
        use std::fmt::Write as _;
        let mut x = format!("<repomd><revision>{revision}</revision>");
        for (i, t) in timestamps.iter().enumerate() {
            let kind = if i == 0 {
                "primary".to_owned()
            } else {
                format!("t{i}")
            };
            let _ = write!(
                x,
                "<data type=\"{kind}\"><checksum type=\"sha256\">{}</checksum><location href=\"repodata/{kind}.xml\"/><timestamp>{t}</timestamp></data>",
                "a".repeat(64)
            );
        }
        x.push_str("</repomd>");
        x.into_bytes()
    }

    #[test]
    fn older_revision_or_timestamp_is_a_downgrade() {
        let snaps = vec![s("2026-11-20-00-00"), s("2026-11-22-00-00")];
        let v1 = repomd("100", &[100, 90]);
        let v3 = repomd("300", &[300, 290]);
        let of = |x: &SnapshotName| {
            Some(if x == &snaps[0] {
                v1.clone()
            } else {
                v3.clone()
            })
        };
        let st = |latest: usize| State {
            latest: Some(&snaps[latest]),
            pending: None,
            snapshots: &snaps,
            allow_downgrade: false,
        };
        // v2: newer than v1, older than v3 (latest).
        let v2 = repomd("200", &[200, 190]);
        let Decision::Downgrade { why, .. } = decide(&v2, &st(1), of) else {
            panic!("v2 after v3 is a downgrade");
        };
        assert!(why.contains("revision 200 is older than 300"), "{why}");
        // Rolled back to v1: v2 is still older than the newest snapshot.
        assert!(matches!(
            decide(&v2, &st(0), of),
            Decision::Downgrade { .. }
        ));
        // A revision that is not a number: the timestamps decide.
        let named = repomd("stream-9", &[250]);
        let Decision::Downgrade { why, .. } = decide(&named, &st(1), of) else {
            panic!("older timestamps are a downgrade");
        };
        assert!(why.contains("timestamp 250 is older than 300"), "{why}");
        // Newer in both: new.
        let v4 = repomd("400", &[400]);
        assert_eq!(decide(&v4, &st(1), of), Decision::New { downgrade: None });
        // Same revision, same newest timestamp, other bytes: not older.
        let v3b = repomd("300", &[300, 1]);
        assert_eq!(decide(&v3b, &st(1), of), Decision::New { downgrade: None });
        // A filtered mirror's source record is read past its filter line.
        let rec = source_record("abc", None, &v2);
        assert!(rec.starts_with(b"filter abc sign_key none\n"));
        assert_eq!(Freshness::of(&rec).revision, Some(200));
    }
}
