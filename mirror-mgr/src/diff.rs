//! `mirror-mgr diff NAME A B`: what changed between two snapshots, as a
//! release engineer reads it: packages added, removed, upgraded and
//! downgraded, by `name.arch`, ordered with rpm's own version comparison.
//! (With advisories: [`crate::snapshot_diff`].)

use std::cmp::Ordering;
use std::path::Path;

use mirror_repodata::evr::{Evr, rpmvercmp};
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

/// Every (name, arch, EVR) a repo lists, compactly: the strings of all of
/// them in one buffer, and rows sorted by name, arch, then rpm's version
/// order, without repeats. About 60 bytes a package, where a map of owned
/// strings took 300 (a 50,000-package repo, twice for a diff).
#[derive(Debug, Default)]
pub struct Index {
    text: String,
    rows: Vec<Row>,
}

/// One package: where its five strings start in the buffer, and their lengths.
#[derive(Debug, Clone, Copy)]
struct Row {
    at: usize,
    lens: [usize; 5],
}

impl Index {
    fn push(&mut self, name: &str, arch: &str, evr: (&str, &str, &str)) {
        let at = self.text.len();
        let parts = [name, arch, evr.0, evr.1, evr.2];
        for p in parts {
            self.text.push_str(p);
        }
        self.rows.push(Row {
            at,
            lens: parts.map(str::len),
        });
    }

    fn part(&self, r: &Row, i: usize) -> &str {
        let start = r.at + r.lens[..i].iter().sum::<usize>();
        &self.text[start..start + r.lens[i]]
    }

    fn key(&self, r: &Row) -> (&str, &str) {
        (self.part(r, 0), self.part(r, 1))
    }

    fn evr_parts(&self, r: &Row) -> (&str, &str, &str) {
        (self.part(r, 2), self.part(r, 3), self.part(r, 4))
    }

    fn evr(&self, r: &Row) -> Evr {
        let (e, v, rel) = self.evr_parts(r);
        Evr {
            epoch: e.to_owned(),
            version: v.to_owned(),
            release: rel.to_owned(),
        }
    }

    /// rpm's order of two rows' EVRs.
    fn cmp_evr(&self, a: &Row, b: &Row) -> Ordering {
        let ((ea, va, ra), (eb, vb, rb)) = (self.evr_parts(a), self.evr_parts(b));
        let epoch = |e: &str| e.parse::<u64>().unwrap_or(0);
        epoch(ea)
            .cmp(&epoch(eb))
            .then_with(|| rpmvercmp(va, vb))
            .then_with(|| rpmvercmp(ra, rb))
    }

    /// Sort by name, arch and version; drop repeated rows.
    fn finish(&mut self) {
        let mut rows = std::mem::take(&mut self.rows);
        rows.sort_by(|a, b| {
            self.key(a)
                .cmp(&self.key(b))
                .then_with(|| self.cmp_evr(a, b))
        });
        rows.dedup_by(|b, a| self.key(a) == self.key(b) && self.evr_parts(a) == self.evr_parts(b));
        rows.shrink_to_fit();
        self.rows = rows;
    }

    /// Packages listed (distinct name, arch and EVR).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Does the repo hold `name.arch` at `evr` or newer (rpm's order)?
    pub fn holds_at_least(&self, name: &str, arch: &str, evr: &Evr) -> bool {
        let end = self.rows.partition_point(|r| self.key(r) <= (name, arch));
        end > 0
            && self.key(&self.rows[end - 1]) == (name, arch)
            && self.evr(&self.rows[end - 1]) >= *evr
    }

    /// The rows of each `name.arch`, in order.
    fn groups(&self) -> impl Iterator<Item = &[Row]> {
        self.rows.chunk_by(|a, b| self.key(a) == self.key(b))
    }
}

impl<K: AsRef<str>> FromIterator<((K, K), Vec<Evr>)> for Index {
    fn from_iter<I: IntoIterator<Item = ((K, K), Vec<Evr>)>>(iter: I) -> Self {
        let mut ix = Index::default();
        for ((name, arch), evrs) in iter {
            for e in evrs {
                ix.push(
                    name.as_ref(),
                    arch.as_ref(),
                    (&e.epoch, &e.version, &e.release),
                );
            }
        }
        ix.finish();
        ix
    }
}

/// name.arch -> every EVR the repo at `dir` lists.
pub fn read_index(dir: &Path) -> Result<Index, StoreError> {
    let repo = RepoDir::open(dir)?;
    let mut out = Index::default();
    repo.for_each_package(|p: Package| {
        out.push(&p.name, &p.arch, (&p.epoch, &p.version, &p.release));
        Ok::<_, ()>(())
    })?
    .expect("callback never fails");
    out.finish();
    Ok(out)
}

/// Compare two package indexes: the newest EVR of each name.arch decides
/// upgrade or downgrade; other versions that appear or vanish are listed as
/// added or removed.
pub fn diff(a: &Index, b: &Index) -> Diff {
    let mut d = Diff::default();
    let (mut ga, mut gb) = (a.groups().peekable(), b.groups().peekable());
    loop {
        // The next name.arch in order, from either side or both.
        let (x, y) = (ga.peek().copied(), gb.peek().copied());
        let order = match (x, y) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(x), Some(y)) => a.key(&x[0]).cmp(&b.key(&y[0])),
        };
        let empty: &[Row] = &[];
        let (va, vb) = match order {
            Ordering::Less => (ga.next().unwrap_or(empty), empty),
            Ordering::Greater => (empty, gb.next().unwrap_or(empty)),
            Ordering::Equal => (ga.next().unwrap_or(empty), gb.next().unwrap_or(empty)),
        };
        let (name, arch) = va.first().map_or_else(|| b.key(&vb[0]), |r| a.key(r));
        let nevra = |ix: &Index, r: &Row| format!("{name}-{}.{arch}", ix.evr(r));
        let same = |x: &Row, y: &Row| a.evr_parts(x) == b.evr_parts(y);
        let (na, nb) = (va.last(), vb.last());
        if let (Some(x), Some(y)) = (na, nb) {
            let (from, to) = (a.evr(x), b.evr(y));
            let change = || Change {
                name: name.to_owned(),
                arch: arch.to_owned(),
                from: from.clone(),
                to: to.clone(),
            };
            match to.cmp(&from) {
                Ordering::Greater => d.upgraded.push(change()),
                Ordering::Less => d.downgraded.push(change()),
                Ordering::Equal => {}
            }
        }
        for y in vb.iter().filter(|y| !va.iter().any(|x| same(x, y))) {
            let is_newest = nb.is_some_and(|n| std::ptr::eq(n, y));
            if !(is_newest && na.is_some()) {
                d.added.push(nevra(b, y));
            }
        }
        for x in va.iter().filter(|x| !vb.iter().any(|y| same(x, y))) {
            let is_newest = na.is_some_and(|n| std::ptr::eq(n, x));
            if !(is_newest && nb.is_some()) {
                d.removed.push(nevra(a, x));
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
    fn holds_at_least_compares_the_newest() {
        let k = |n: &str| (n.to_owned(), "x86_64".to_owned());
        let ix: Index = [
            (k("a"), vec![evr("0", "1.0", "1"), evr("0", "1.10", "1")]),
            (k("b"), vec![evr("1", "0.1", "1")]),
        ]
        .into_iter()
        .collect();
        assert!(ix.holds_at_least("a", "x86_64", &evr("0", "1.9", "1")));
        assert!(ix.holds_at_least("a", "x86_64", &evr("0", "1.10", "1")));
        assert!(!ix.holds_at_least("a", "x86_64", &evr("0", "1.10", "2")));
        assert!(!ix.holds_at_least("a", "noarch", &evr("0", "1", "1")));
        assert!(ix.holds_at_least("b", "x86_64", &evr("0", "9", "9")));
        assert!(!ix.holds_at_least("c", "x86_64", &evr("0", "1", "1")));
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
        .into_iter()
        .collect();
        let b: Index = [
            (k("up"), vec![evr("0", "1.0", "1"), evr("0", "1.0", "2")]),
            (k("down"), vec![evr("0", "1.9", "1")]),
            (k("new"), vec![evr("0", "0.1", "1")]),
            (k("same"), vec![evr("0", "1", "1")]),
            (k("epoch"), vec![evr("1", "1.0", "1")]),
        ]
        .into_iter()
        .collect();
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
