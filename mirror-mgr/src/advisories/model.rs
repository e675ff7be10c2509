//! What one advisory is in a snapshot ([`Summary`], owned, for output) and
//! a snapshot's advisories by id ([`Advisories`], compact: every string in
//! one buffer, about 250 bytes an advisory where owned summaries took 900;
//! a diff holds two snapshots' worth). [`Adv`] reads one in place.

use std::ops::Range;

/// One advisory as a snapshot has it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub severity: Option<String>,
    #[serde(serialize_with = "time")]
    pub issued: Option<i64>,
    #[serde(serialize_with = "time")]
    pub updated: Option<i64>,
    pub title: String,
    pub cves: Vec<String>,
    /// `name-epoch:version-release.arch` of every package it lists.
    pub packages: Vec<String>,
    pub applicable: bool,
    /// Binary packages listed but not held at that version or newer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

#[allow(clippy::ref_option)] // serde's serialize_with passes `&Option`.
pub(crate) fn time<S: serde::Serializer>(t: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match t.and_then(|t| jiff::Timestamp::from_second(t).ok()) {
        Some(t) => s.serialize_str(&t.to_string()),
        None => s.serialize_none(),
    }
}

impl Summary {
    /// Is it a security advisory?
    pub fn is_security(&self) -> bool {
        self.kind.eq_ignore_ascii_case("security")
    }

    /// Fold a duplicate record of the same id in (EPEL and Photon OS ship
    /// them): the union of packages, missing packages and CVEs, the newest
    /// dates, fields this one lacked.
    pub fn merge(&mut self, other: Summary) {
        let union = |a: &mut Vec<String>, b: Vec<String>| {
            a.extend(b);
            a.sort();
            a.dedup();
        };
        union(&mut self.cves, other.cves);
        union(&mut self.packages, other.packages);
        union(&mut self.missing, other.missing);
        self.applicable = self.missing.is_empty();
        self.issued = self.issued.max(other.issued);
        self.updated = self.updated.max(other.updated);
        if self.severity.is_none() {
            self.severity = other.severity;
        }
        if self.title.is_empty() {
            self.title = other.title;
        }
        if self.kind.is_empty() {
            self.kind = other.kind;
        }
    }
}

/// A severity, lower case; `unknown` for none (or upstream's `None`).
pub fn severity_key(severity: Option<&str>) -> String {
    severity
        .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("none"))
        .map_or_else(|| "unknown".to_owned(), str::to_ascii_lowercase)
}

/// Where a string is in the buffer.
type Span = (u32, u32);

#[derive(Debug, Clone, Copy)]
struct Row {
    id: Span,
    kind: Span,
    severity: Option<Span>,
    title: Span,
    issued: Option<i64>,
    updated: Option<i64>,
    /// Ranges of `Advisories::items`.
    cves: (u32, u32),
    packages: (u32, u32),
    missing: (u32, u32),
    applicable: bool,
}

/// A snapshot's advisories, by id.
#[derive(Debug, Clone, Default)]
pub struct Advisories {
    text: String,
    items: Vec<Span>,
    rows: Vec<Row>,
}

/// The buffer grew past what a span can address (4 GiB of advisory text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge;

impl Advisories {
    /// From owned summaries (any order; duplicates merged).
    #[cfg(test)]
    pub fn from_summaries(v: Vec<Summary>) -> Self {
        let mut a = Self::default();
        for s in v {
            a.push(&s).expect("small sets fit");
        }
        a.finish()
    }

    fn span(&mut self, s: &str) -> Result<Span, TooLarge> {
        let at = u32::try_from(self.text.len()).map_err(|_| TooLarge)?;
        let len = u32::try_from(s.len()).map_err(|_| TooLarge)?;
        at.checked_add(len).ok_or(TooLarge)?;
        self.text.push_str(s);
        Ok((at, len))
    }

    fn list(&mut self, v: &[String]) -> Result<(u32, u32), TooLarge> {
        let start = u32::try_from(self.items.len()).map_err(|_| TooLarge)?;
        for s in v {
            let sp = self.span(s)?;
            self.items.push(sp);
        }
        let end = u32::try_from(self.items.len()).map_err(|_| TooLarge)?;
        Ok((start, end))
    }

    /// Add one (call [`finish`](Self::finish) after the last).
    pub fn push(&mut self, s: &Summary) -> Result<(), TooLarge> {
        let row = Row {
            id: self.span(&s.id)?,
            kind: self.span(&s.kind)?,
            severity: s.severity.as_deref().map(|v| self.span(v)).transpose()?,
            title: self.span(&s.title)?,
            issued: s.issued,
            updated: s.updated,
            cves: self.list(&s.cves)?,
            packages: self.list(&s.packages)?,
            missing: self.list(&s.missing)?,
            applicable: s.applicable,
        };
        self.rows.push(row);
        Ok(())
    }

    /// Sorted by id, duplicates merged (their text is left unused: they
    /// are rare).
    pub fn finish(mut self) -> Self {
        let mut rows = std::mem::take(&mut self.rows);
        rows.sort_by(|a, b| self.str(a.id).cmp(self.str(b.id)));
        let dup = rows
            .windows(2)
            .any(|w| self.str(w[0].id) == self.str(w[1].id));
        if !dup {
            self.rows = rows;
            return self;
        }
        let groups: Vec<Vec<Row>> = rows
            .chunk_by(|a, b| self.str(a.id) == self.str(b.id))
            .map(<[Row]>::to_vec)
            .collect();
        for g in groups {
            if g.len() == 1 {
                self.rows.push(g[0]);
                continue;
            }
            let mut merged = self.summary(&g[0]);
            for r in &g[1..] {
                merged.merge(self.summary(r));
            }
            // Only if the buffer is full does the first record stand alone.
            if self.push(&merged).is_err() {
                self.rows.push(g[0]);
            }
        }
        self
    }

    fn str(&self, (at, len): Span) -> &str {
        &self.text[at as usize..(at + len) as usize]
    }

    fn strs(&self, (start, end): (u32, u32)) -> impl Iterator<Item = &str> {
        self.items[start as usize..end as usize]
            .iter()
            .map(|s| self.str(*s))
    }

    fn summary(&self, r: &Row) -> Summary {
        Adv { set: self, row: r }.to_summary()
    }

    pub fn iter(&self) -> impl Iterator<Item = Adv<'_>> {
        self.rows.iter().map(|row| Adv { set: self, row })
    }

    pub fn get(&self, id: &str) -> Option<Adv<'_>> {
        self.rows
            .binary_search_by(|r| self.str(r.id).cmp(id))
            .ok()
            .map(|i| Adv {
                set: self,
                row: &self.rows[i],
            })
    }

    /// The ids, in order.
    #[cfg(test)]
    pub fn ids(&self) -> Vec<String> {
        self.iter().map(|a| a.id().to_owned()).collect()
    }
}

/// One advisory of an [`Advisories`], read in place.
#[derive(Debug, Clone, Copy)]
pub struct Adv<'a> {
    set: &'a Advisories,
    row: &'a Row,
}

impl<'a> Adv<'a> {
    pub fn id(&self) -> &'a str {
        self.set.str(self.row.id)
    }

    pub fn kind(&self) -> &'a str {
        self.set.str(self.row.kind)
    }

    pub fn severity(&self) -> Option<&'a str> {
        self.row.severity.map(|s| self.set.str(s))
    }

    pub fn title(&self) -> &'a str {
        self.set.str(self.row.title)
    }

    pub fn issued(&self) -> Option<i64> {
        self.row.issued
    }

    pub fn updated(&self) -> Option<i64> {
        self.row.updated
    }

    pub fn applicable(&self) -> bool {
        self.row.applicable
    }

    pub fn cves(&self) -> impl Iterator<Item = &'a str> {
        self.set.strs(self.row.cves)
    }

    pub fn packages(&self) -> impl Iterator<Item = &'a str> {
        self.set.strs(self.row.packages)
    }

    pub fn is_security(&self) -> bool {
        self.kind().eq_ignore_ascii_case("security")
    }

    pub fn severity_key(&self) -> String {
        severity_key(self.severity())
    }

    /// The same content (applicability aside)?
    pub fn same_content(&self, o: &Adv<'_>) -> bool {
        self.kind() == o.kind()
            && self.severity() == o.severity()
            && self.issued() == o.issued()
            && self.updated() == o.updated()
            && self.title() == o.title()
            && self.cves().eq(o.cves())
            && self.packages().eq(o.packages())
    }

    pub fn to_summary(self) -> Summary {
        let own = |i: Range<u32>| -> Vec<String> {
            self.set.strs((i.start, i.end)).map(str::to_owned).collect()
        };
        Summary {
            id: self.id().to_owned(),
            kind: self.kind().to_owned(),
            severity: self.severity().map(str::to_owned),
            issued: self.issued(),
            updated: self.updated(),
            title: self.title().to_owned(),
            cves: own(self.row.cves.0..self.row.cves.1),
            packages: own(self.row.packages.0..self.row.packages.1),
            applicable: self.applicable(),
            missing: own(self.row.missing.0..self.row.missing.1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::summary;
    use super::*;

    #[test]
    fn compact_store_round_trips_and_merges_duplicates() {
        let a = summary("B", "security", Some("Low"), &["CVE-1"]);
        let mut b = summary("A", "bugfix", None, &[]);
        b.applicable = false;
        b.missing = vec!["x-0:1-1.noarch".into()];
        let mut b2 = b.clone();
        b2.packages = vec!["y-0:1-1.noarch".into()];
        b2.missing = vec![];
        b2.cves = vec!["CVE-9".into()];
        b2.updated = Some(9);
        let set = Advisories::from_summaries(vec![a.clone(), b.clone(), b2]);
        assert_eq!(set.ids(), ["A", "B"]);
        assert_eq!(set.get("B").unwrap().to_summary(), a);
        let m = set.get("A").unwrap().to_summary();
        assert_eq!(m.packages, ["a-0:1-1.noarch", "y-0:1-1.noarch"]);
        assert_eq!((m.missing.len(), m.applicable), (1, false));
        assert_eq!((m.cves, m.updated), (vec!["CVE-9".to_owned()], Some(9)));
        assert!(set.get("C").is_none());
        assert!(set.get("B").unwrap().same_content(&set.get("B").unwrap()));
        assert!(!set.get("A").unwrap().same_content(&set.get("B").unwrap()));
    }
}
