//! A compact repo id -> URL table. Maps of 100,000 entries are real (one
//! entry per repo of a big CI estate), and a `BTreeMap<String, String>`
//! spends ~120 bytes an entry on nodes and two allocations; this keeps every
//! id and URL in one text buffer and a sorted vector of 16-byte spans.
//!
//! Invariant: outside this module `pairs` is sorted by id with no
//! duplicates, so lookups are binary searches.

use std::cmp::Ordering;
use std::fmt;

#[derive(Debug, Clone, Copy)]
struct Pair {
    id: (u32, u32),
    url: (u32, u32),
}

#[derive(Clone, Default)]
pub struct RepoUrls {
    buf: String,
    pairs: Vec<Pair>,
}

/// Which of two entries with the same id stays when sorting.
#[derive(Clone, Copy)]
pub(crate) enum Keep {
    First,
    Last,
}

impl RepoUrls {
    fn text(&self, (start, len): (u32, u32)) -> &str {
        &self.buf[start as usize..(start + len) as usize]
    }

    fn put(&mut self, s: &str) -> (u32, u32) {
        let start = u32::try_from(self.buf.len()).expect("a mirror map under 4 GiB");
        self.buf.push_str(s);
        (
            start,
            u32::try_from(s.len()).expect("a mirror map under 4 GiB"),
        )
    }

    fn id_of(&self, p: &Pair) -> &str {
        self.text(p.id)
    }

    fn find(&self, id: &str) -> Result<usize, usize> {
        self.pairs.binary_search_by(|p| self.id_of(p).cmp(id))
    }

    /// Append without keeping the order: [`RepoUrls::sort`] must follow.
    pub(crate) fn push_unsorted(&mut self, id: &str, url: &str) {
        let pair = Pair {
            id: self.put(id),
            url: self.put(url),
        };
        self.pairs.push(pair);
    }

    /// Drop, keep or re-point every entry, in place: `f` returns `None` to
    /// drop it, `Some(None)` to keep it, `Some(Some(url))` for a new URL.
    pub(crate) fn retain_map(&mut self, mut f: impl FnMut(&str, &str) -> Option<Option<String>>) {
        let pairs = std::mem::take(&mut self.pairs);
        let mut kept = Vec::with_capacity(pairs.len());
        for p in pairs {
            let decision = f(self.text(p.id), self.text(p.url));
            match decision {
                None => {}
                Some(None) => kept.push(p),
                Some(Some(url)) => {
                    let url = self.put(&url);
                    kept.push(Pair { id: p.id, url });
                }
            }
        }
        self.pairs = kept;
    }

    /// Restore the invariant: sort by id, keep one entry per id.
    pub(crate) fn sort(&mut self, keep: Keep) {
        let mut pairs = std::mem::take(&mut self.pairs);
        // Stable: entries with the same id stay in insertion order.
        pairs.sort_by(|a, b| self.id_of(a).cmp(self.id_of(b)));
        let mut out: Vec<Pair> = Vec::with_capacity(pairs.len());
        for p in pairs {
            match out.last_mut() {
                Some(last) if self.id_of(last) == self.id_of(&p) => {
                    if let Keep::Last = keep {
                        *last = p;
                    }
                }
                _ => out.push(p),
            }
        }
        out.shrink_to_fit();
        self.pairs = out;
    }

    pub fn get(&self, id: &str) -> Option<&str> {
        self.find(id).ok().map(|i| self.text(self.pairs[i].url))
    }

    pub fn contains_key(&self, id: &str) -> bool {
        self.find(id).is_ok()
    }

    /// Set `id`'s URL (replacing any); linear in the table's size, for
    /// building small tables one entry at a time.
    pub fn insert(&mut self, id: &str, url: &str) {
        let url = self.put(url);
        match self.find(id) {
            Ok(i) => self.pairs[i].url = url,
            Err(i) => {
                let id = self.put(id);
                self.pairs.insert(i, Pair { id, url });
            }
        }
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// (id, URL) in id order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs
            .iter()
            .map(|p| (self.text(p.id), self.text(p.url)))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.iter().map(|(k, _)| k)
    }
}

impl<'a> IntoIterator for &'a RepoUrls {
    type Item = (&'a str, &'a str);
    type IntoIter = Box<dyn Iterator<Item = (&'a str, &'a str)> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl std::ops::Index<&str> for RepoUrls {
    type Output = str;

    fn index(&self, id: &str) -> &str {
        self.get(id)
            .unwrap_or_else(|| panic!("no URL for {id:?} in the map"))
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for RepoUrls {
    /// Later entries win, as with a map's `insert`.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut t = Self::default();
        for (k, v) in iter {
            t.push_unsorted(k.as_ref(), v.as_ref());
        }
        t.sort(Keep::Last);
        t
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> From<[(K, V); N]> for RepoUrls {
    fn from(a: [(K, V); N]) -> Self {
        a.into_iter().collect()
    }
}

impl PartialEq for RepoUrls {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().cmp(other.iter()) == Ordering::Equal
    }
}

impl Eq for RepoUrls {}

impl fmt::Debug for RepoUrls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_a_sorted_map() {
        let mut t: RepoUrls = [("b", "http://b/1"), ("a", "http://a/"), ("b", "http://b/2")].into();
        assert_eq!(t.len(), 2);
        assert_eq!(t.get("b"), Some("http://b/2"), "later entries win");
        assert_eq!(t.get("c"), None);
        t.insert("c", "http://c/");
        t.insert("a", "http://a/2");
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            [("a", "http://a/2"), ("b", "http://b/2"), ("c", "http://c/")]
        );
        assert_eq!(&t["c"], "http://c/");
        let mut first = RepoUrls::default();
        for (k, v) in [("x", "1"), ("w", "2"), ("x", "3")] {
            first.push_unsorted(k, v);
        }
        first.sort(Keep::First);
        assert_eq!(first.iter().collect::<Vec<_>>(), [("w", "2"), ("x", "1")]);
        first.retain_map(|k, _| (k == "x").then(|| Some("new".to_owned())));
        assert_eq!(first.iter().collect::<Vec<_>>(), [("x", "new")]);
        assert_eq!(format!("{first:?}"), r#"{"x": "new"}"#);
        assert_ne!(first, t);
    }
}
