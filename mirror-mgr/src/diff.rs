//! `mirror-mgr diff NAME A B`: what changed between two snapshots, as a
//! release engineer reads it: packages added, removed, upgraded and
//! downgraded, by `name.arch`, ordered with rpm's own version comparison.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::primary::{self, Package};
use crate::repomd;
use crate::store::{IoContext, StoreError};

/// epoch:version-release, compared the way rpm does.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Evr {
    pub epoch: String,
    pub version: String,
    pub release: String,
}

impl std::fmt::Display for Evr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}-{}", self.epoch, self.version, self.release)
    }
}

impl Ord for Evr {
    fn cmp(&self, other: &Self) -> Ordering {
        let epoch = |e: &str| e.parse::<u64>().unwrap_or(0);
        epoch(&self.epoch)
            .cmp(&epoch(&other.epoch))
            .then_with(|| rpmvercmp(&self.version, &other.version))
            .then_with(|| rpmvercmp(&self.release, &other.release))
    }
}

impl PartialOrd for Evr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// rpm's version segment comparison (rpmvercmp), including `~` (sorts
/// before everything) and `^` (sorts after the base version only).
#[allow(clippy::match_same_arms)] // the arms' order is rpm's precedence; merging them would change it
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    let sep = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    loop {
        while a.first().is_some_and(|&c| sep(c)) {
            a = &a[1..];
        }
        while b.first().is_some_and(|&c| sep(c)) {
            b = &b[1..];
        }
        match (a.first(), b.first()) {
            (Some(b'~'), Some(b'~')) => {
                a = &a[1..];
                b = &b[1..];
                continue;
            }
            (Some(b'~'), _) => return Ordering::Less,
            (_, Some(b'~')) => return Ordering::Greater,
            (Some(b'^'), Some(b'^')) => {
                a = &a[1..];
                b = &b[1..];
                continue;
            }
            (Some(b'^'), None) => return Ordering::Greater,
            (None, Some(b'^')) => return Ordering::Less,
            (Some(b'^'), _) => return Ordering::Less,
            (_, Some(b'^')) => return Ordering::Greater,
            (None, _) | (_, None) => break,
            _ => {}
        }
        let numeric = a[0].is_ascii_digit();
        let take = |s: &[u8]| -> usize {
            s.iter()
                .take_while(|c| {
                    if numeric {
                        c.is_ascii_digit()
                    } else {
                        c.is_ascii_alphabetic()
                    }
                })
                .count()
        };
        let (na, nb) = (take(a), take(b));
        let (sa, sb) = (&a[..na], &b[..nb]);
        if nb == 0 {
            // Segments of different types: numeric is newer than alpha.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let ord = if numeric {
            let trim = |s: &[u8]| -> usize { s.iter().take_while(|&&c| c == b'0').count() };
            let (ta, tb) = (&sa[trim(sa)..], &sb[trim(sb)..]);
            ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb))
        } else {
            sa.cmp(sb)
        };
        if ord != Ordering::Equal {
            return ord;
        }
        a = &a[na..];
        b = &b[nb..];
    }
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

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
    let repomd_path = dir.join("repodata/repomd.xml");
    let bytes = std::fs::read(&repomd_path).at(&repomd_path)?;
    let md = repomd::parse(&bytes).map_err(|source| StoreError::Repomd {
        path: repomd_path.clone(),
        source,
    })?;
    let rec = md.primary().expect("parse checks primary");
    let primary = rec.href.under(dir);
    let reader = rec.open_in(dir).at(&primary)?;
    let mut out: Index = BTreeMap::new();
    primary::for_each_package(reader, |p: Package| {
        out.entry((p.name, p.arch)).or_default().push(Evr {
            epoch: p.epoch,
            version: p.version,
            release: p.release,
        });
        Ok::<_, ()>(())
    })
    .map_err(|source| StoreError::Primary {
        path: primary,
        source,
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

    #[test]
    fn rpmvercmp_matches_rpm() {
        use Ordering::{Equal, Greater, Less};
        // Cases from rpm's own test suite (rpmvercmp.at).
        let cases = [
            ("1.0", "1.0", Equal),
            ("1.0", "2.0", Less),
            ("2.0.1", "2.0", Greater),
            ("2.0.1a", "2.0.1", Greater),
            ("5.5p1", "5.5p2", Less),
            ("5.5p10", "5.5p1", Greater),
            ("10xyz", "10.1xyz", Less),
            ("xyz10", "xyz10.1", Less),
            ("xyz.4", "8", Less),
            ("5.5p1", "5.5.p1", Equal),
            ("1.0010", "1.9", Greater),
            ("1.05", "1.5", Equal),
            ("1.0", "1", Greater),
            ("2.50", "2.5", Greater),
            ("fc4", "fc.4", Equal),
            ("FC5", "fc4", Less),
            ("2a", "2.0", Less),
            ("1.0~rc1", "1.0", Less),
            ("1.0~rc1", "1.0~rc2", Less),
            ("1.0~rc1~git123", "1.0~rc1", Less),
            ("1.0^", "1.0", Greater),
            ("1.0^git1", "1.0^git2", Less),
            ("1.0^git1", "1.01", Less),
            ("1.0^git1~pre", "1.0^git1", Less),
            ("1.0~rc1^git1", "1.0~rc1", Greater),
        ];
        for (a, b, want) in cases {
            assert_eq!(rpmvercmp(a, b), want, "{a} vs {b}");
            assert_eq!(rpmvercmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

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
