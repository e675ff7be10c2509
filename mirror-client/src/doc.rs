//! A mirror map document as parsed: entries whose value is a string go
//! straight into a compact [`RepoUrls`] table while the body is read (no
//! tree of values per entry); anything else (include lists, `before:`
//! pairs, `snapshots`, mistakes) is kept as a YAML value for the resolver
//! to read or refuse.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_yaml::Value;

use crate::urls::RepoUrls;

/// A parsed map body.
#[derive(Default)]
pub struct MapDoc {
    /// Entries with a string value, in document order (not yet sorted).
    pub strings: RepoUrls,
    /// Every other entry, in document order; keys that are not strings
    /// are kept as they were (the resolver refuses them).
    pub others: Vec<(Value, Value)>,
    /// The mapping under the wrapper key, when the document has one.
    pub inner: Option<Box<MapDoc>>,
    /// The wrapper key was present but not a mapping.
    pub inner_not_a_mapping: bool,
    /// The document is not a mapping at all (a shape error, not a parse
    /// error: it is not retried as a truncated body).
    pub not_a_mapping: bool,
}

impl MapDoc {
    /// An entry other than a string, by key.
    pub fn other(&self, key: &str) -> Option<&Value> {
        self.others
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }
}

/// Parse a map body: JSON through serde_json, anything else as YAML.
/// `wrapper` names the key whose mapping is the map (`latest_ci_repos`).
pub fn parse(bytes: &[u8], wrapper: Option<&str>) -> Result<MapDoc, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    if text.trim().is_empty() {
        return Err("empty document".into());
    }
    // serde_yaml's time grows with the square of the nesting: bound it first.
    mirror_index::nesting::check(text, mirror_index::nesting::MAX_DEPTH)
        .map_err(|e| e.to_string())?;
    let seed = DocSeed { wrapper };
    let doc = if text.trim_start().starts_with('{') {
        let mut de = serde_json::Deserializer::from_str(text);
        let doc = seed.deserialize(&mut de).map_err(|e| e.to_string())?;
        de.end().map_err(|e| e.to_string())?;
        doc
    } else {
        seed.deserialize(serde_yaml::Deserializer::from_str(text))
            .map_err(|e| e.to_string())?
    };
    Ok(doc.unwrap_or(MapDoc {
        not_a_mapping: true,
        ..MapDoc::default()
    }))
}

/// Deserializes a mapping into a [`MapDoc`]; anything else is `None`.
struct DocSeed<'w> {
    wrapper: Option<&'w str>,
}

impl<'de> DeserializeSeed<'de> for DocSeed<'_> {
    type Value = Option<MapDoc>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(DocVisitor {
            wrapper: self.wrapper,
        })
    }
}

struct DocVisitor<'w> {
    wrapper: Option<&'w str>,
}

/// Accept any non-mapping as "not a document" (the caller says why).
macro_rules! not_a_mapping {
    ($($name:ident: $t:ty),*) => {
        $(fn $name<E: de::Error>(self, _: $t) -> Result<Self::Value, E> { Ok(None) })*
    };
}

impl<'de> Visitor<'de> for DocVisitor<'_> {
    type Value = Option<MapDoc>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping of repo ids to URLs")
    }

    not_a_mapping!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut doc = MapDoc::default();
        while let Some(key) = map.next_key::<Value>()? {
            let is_wrapper = self.wrapper.is_some() && key.as_str() == self.wrapper;
            if is_wrapper {
                match map.next_value_seed(DocSeed { wrapper: None })? {
                    Some(inner) => doc.inner = Some(Box::new(inner)),
                    None => doc.inner_not_a_mapping = true,
                }
                continue;
            }
            match (key, map.next_value_seed(EntrySeed)?) {
                (Value::String(k), Entry::Str(v)) => doc.strings.push_unsorted(&k, &v),
                (k, Entry::Str(v)) => doc.others.push((k, Value::String(v))),
                (k, Entry::Other(v)) => doc.others.push((k, v)),
            }
        }
        Ok(Some(doc))
    }
}

/// One entry's value: a string, or any other YAML value.
enum Entry {
    Str(String),
    Other(Value),
}

struct EntrySeed;

impl<'de> DeserializeSeed<'de> for EntrySeed {
    type Value = Entry;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Entry, D::Error> {
        d.deserialize_any(EntryVisitor)
    }
}

struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = Entry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a URL, a list or a mapping")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Entry, E> {
        Ok(Entry::Str(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Entry, E> {
        Ok(Entry::Str(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Entry, E> {
        Ok(Entry::Other(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Entry, E> {
        Ok(Entry::Other(Value::Number(v.into())))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Entry, E> {
        Ok(Entry::Other(Value::Number(v.into())))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Entry, E> {
        Ok(Entry::Other(Value::Number(v.into())))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Entry, E> {
        Ok(Entry::Other(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<Entry, E> {
        Ok(Entry::Other(Value::Null))
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Entry, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Entry, A::Error> {
        Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Entry::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Entry, A::Error> {
        Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(Entry::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_go_to_the_table_and_the_rest_is_kept() {
        for body in [
            r#"{"a": "http://a/", "include:": ["x"], "n": 1, "latest_ci_repos": {"b": "http://b/"}}"#,
            "a: http://a/\ninclude:: [x]\nn: 1\nlatest_ci_repos:\n  b: http://b/\n",
        ] {
            let doc = parse(body.as_bytes(), Some("latest_ci_repos")).unwrap();
            assert_eq!(doc.strings.iter().collect::<Vec<_>>(), [("a", "http://a/")]);
            assert_eq!(doc.others.len(), 2, "{body}");
            assert_eq!(doc.other("n"), Some(&Value::Number(1.into())));
            let inner = doc.inner.unwrap();
            assert_eq!(
                inner.strings.iter().collect::<Vec<_>>(),
                [("b", "http://b/")]
            );
        }
        let doc = parse(b"{\"latest_ci_repos\": 3}", Some("latest_ci_repos")).unwrap();
        assert!(doc.inner_not_a_mapping && doc.inner.is_none());
        for shape in [&b"[1, 2]"[..], b"just text"] {
            assert!(parse(shape, None).unwrap().not_a_mapping, "{shape:?}");
        }
        for bad in [&b"  "[..], b"{\"a\": }", b"\xff"] {
            assert!(parse(bad, None).is_err(), "{bad:?}");
        }
    }
}
