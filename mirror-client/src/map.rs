//! The mirror map: which repo id goes to which snapshot URL, loaded from an
//! index URL, a local file or a `data:` URL, with the old client's
//! composition keys:
//!
//! - `include:` a list of URIs whose maps are merged in; the first
//!   definition of a repo id wins (own entries, then each include in order);
//! - `before:<id>` a list of `[new_id, url]` sections to insert before `[<id>]`;
//! - `include:before:` a list of `[prefix, uri]`: every `repo-<distro>` of the
//!   included map becomes an insert before `[<prefix>-<distro>]` (distro is
//!   the text after the last `-`).
//!
//! Insert lists concatenate: own, then each include in order, then
//! `include:before:`. Includes nest (up to [`MAX_DEPTH`]). Relative URLs
//! resolve against the URI they came from (not for `data:` sources, which
//! cannot be a base). Loading goes through a [`Loader`] so this module stays
//! pure and testable without a network.
//!
//! Invariants (the map is untrusted input that ends up in files):
//! - every URL and inserted id in [`Resolved::repos`] / [`Resolved::before`]
//!   passed [`mirror_index::map_value`]; an entry that did not is kept out
//!   and listed in [`Resolved::rejected`] under its key, so that a file that
//!   uses the key is refused rather than silently sent upstream;
//! - a map fetched over http(s) includes only http(s) URLs: a remote map
//!   can never make the client read a local file.

use std::collections::BTreeMap;

use base64::Engine as _;
use url::Url;

pub use crate::doc::MapDoc;
use crate::urls::Keep;
pub use crate::urls::RepoUrls;

/// How deep includes may nest before we call it a cycle.
pub const MAX_DEPTH: usize = 16;

/// A resolved map, ready to apply to files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    /// repo id -> URL.
    pub repos: RepoUrls,
    /// target id -> sections `(new_id, url)` to insert before `[target]`.
    pub before: BTreeMap<String, Vec<(String, String)>>,
    /// Keys whose value was refused (`<id>` or `before:<id>`) -> why.
    pub rejected: BTreeMap<String, String>,
}

impl Resolved {
    /// Nothing usable: no repo and no insert (refused entries do not count).
    pub fn is_empty(&self) -> bool {
        self.repos.is_empty() && self.before.is_empty()
    }

    /// Why `id` may not be rewritten, when the map refused its entry or the
    /// inserts before it.
    pub fn refusal(&self, id: &str) -> Option<(String, &str)> {
        if let Some(r) = self.rejected.get(id) {
            return Some((id.to_owned(), r));
        }
        let key = format!("before:{id}");
        self.rejected.get(&key).map(|r| (key, r.as_str()))
    }

    /// The flat form written by `freeze`: repo ids plus `before:<id>` keys.
    pub fn to_value(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for (k, v) in &self.repos {
            m.insert(k.to_owned(), serde_json::Value::String(v.to_owned()));
        }
        for (t, list) in &self.before {
            let items = list
                .iter()
                .map(|(id, url)| serde_json::json!([id, url]))
                .collect();
            m.insert(format!("before:{t}"), serde_json::Value::Array(items));
        }
        serde_json::Value::Object(m)
    }
}

/// Why a map could not be had.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    #[error("{uri}: {message}")]
    Load { uri: String, message: String },
    #[error("{uri}: not valid JSON or YAML: {message}")]
    Parse { uri: String, message: String },
    #[error("{uri}: {message}")]
    Shape { uri: String, message: String },
    #[error("{uri}: includes nest deeper than {MAX_DEPTH} levels (a cycle?)")]
    TooDeep { uri: String },
    #[error(
        "{parent}: includes {uri:?}, but a map fetched over http(s) may only include http(s) URLs"
    )]
    RemoteIncludesLocal { parent: String, uri: String },
}

/// Parses a body, given the wrapper key whose mapping is the map.
pub type ParseFn<'a> = dyn Fn(&[u8], Option<&str>) -> Result<MapDoc, String> + 'a;

/// Where maps come from; implemented by the binary for http and files.
pub trait Loader {
    /// Fetch `url` (http, https or file) and `parse` its body (once). A
    /// body that does not parse may be retried as truncated or corrupt.
    fn load(
        &self,
        url: &Url,
        parse: &dyn Fn(&[u8]) -> Result<MapDoc, String>,
    ) -> Result<MapDoc, String>;
}

/// A source URI as given: http(s), file://, a path, or data:.
#[derive(Debug, Clone)]
enum Source {
    Url(Url),
    Data(String),
}

fn parse_source(uri: &str, base: Option<&Url>) -> Result<Source, String> {
    if uri.starts_with("data:") {
        return Ok(Source::Data(uri.to_owned()));
    }
    // A one-letter "scheme" is a Windows drive, not a URL.
    if let Ok(u) = Url::parse(uri)
        && u.scheme().len() > 1
    {
        return match u.scheme() {
            "http" | "https" | "file" => Ok(Source::Url(u)),
            s => Err(format!(
                "unsupported URL scheme {s:?} (use http, https, file, data or a path)"
            )),
        };
    }
    if let Some(b) = base {
        return b
            .join(uri)
            .map(Source::Url)
            .map_err(|e| format!("cannot resolve {uri:?} against {b}: {e}"));
    }
    let path = std::path::Path::new(uri);
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| e.to_string())?
            .join(path)
    };
    Url::from_file_path(&abs)
        .map(Source::Url)
        .map_err(|()| format!("not a usable path: {uri:?}"))
}

/// Decode a `data:` URL: `Some(bytes)` for `application/json`, `None` for
/// any other media type (the old client treated those as an empty map).
pub fn decode_data_url(uri: &str) -> Result<Option<Vec<u8>>, String> {
    let rest = uri.strip_prefix("data:").ok_or("not a data: URL")?;
    let (header, data) = rest
        .split_once(',')
        .ok_or("data: URL without a ',' before its data")?;
    let mut params = header.split(';');
    let media = params.next().unwrap_or("").trim().to_ascii_lowercase();
    let base64 = header
        .split(';')
        .skip(1)
        .any(|p| p.trim().eq_ignore_ascii_case("base64"));
    if media != "application/json" {
        return Ok(None);
    }
    let raw: Vec<u8> = percent_encoding::percent_decode_str(data).collect();
    if base64 {
        let compact: Vec<u8> = raw
            .into_iter()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(&compact)
            .map(Some)
            .map_err(|e| format!("bad base64 in data: URL: {e}"))
    } else {
        Ok(Some(raw))
    }
}

fn parse_body(bytes: &[u8], wrapper: Option<&str>) -> Result<MapDoc, String> {
    crate::doc::parse(bytes, wrapper)
}

/// Load and resolve the map at `uri`.
pub fn resolve(uri: &str, wrapper_key: &str, loader: &dyn Loader) -> Result<Resolved, MapError> {
    resolve_with(uri, wrapper_key, loader, &parse_body)
}

/// [`resolve`] with the body parser given (tests count its calls).
fn resolve_with(
    uri: &str,
    wrapper_key: &str,
    loader: &dyn Loader,
    parse: &ParseFn<'_>,
) -> Result<Resolved, MapError> {
    let ctx = Ctx {
        key: wrapper_key,
        loader,
        parse,
    };
    resolve_at(uri, None, &ctx, 0)
}

/// What stays the same through every level of includes.
struct Ctx<'a> {
    key: &'a str,
    loader: &'a dyn Loader,
    parse: &'a ParseFn<'a>,
}

/// A map value quoted for an error message: escaped, and cut when long.
fn quoted(v: &str) -> String {
    let mut q = format!("{:?}", v.chars().take(80).collect::<String>());
    if v.chars().count() > 80 {
        q.push_str("...");
    }
    q
}

fn resolve_at(
    uri: &str,
    parent: Option<&Url>,
    ctx: &Ctx<'_>,
    depth: usize,
) -> Result<Resolved, MapError> {
    let key = ctx.key;
    if depth > MAX_DEPTH {
        return Err(MapError::TooDeep { uri: redact(uri) });
    }
    let load_err = |message: String| MapError::Load {
        uri: redact(uri),
        message,
    };
    let source = parse_source(uri, parent).map_err(load_err)?;
    if let Some(p) = parent.filter(|p| is_remote(p)) {
        let allowed = matches!(&source, Source::Url(u) if is_remote(u));
        if !allowed {
            return Err(MapError::RemoteIncludesLocal {
                parent: redact(p.as_str()),
                uri: redact(uri),
            });
        }
    }
    let shown = match &source {
        Source::Url(u) => redact(u.as_str()),
        Source::Data(_) => redact(uri),
    };
    let parse = |b: &[u8]| (ctx.parse)(b, Some(key));
    let (doc, own_base) = match &source {
        Source::Data(d) => match decode_data_url(d).map_err(load_err)? {
            Some(b) => (
                parse(&b).map_err(|message| MapError::Parse {
                    uri: shown.clone(),
                    message,
                })?,
                None,
            ),
            None => return Ok(Resolved::default()),
        },
        Source::Url(u) => (
            ctx.loader.load(u, &parse).map_err(load_err)?,
            Some(u.clone()),
        ),
    };
    let shape = |message: String| MapError::Shape {
        uri: shown.clone(),
        message,
    };
    if doc.not_a_mapping {
        return Err(shape("expected a mapping of repo ids to URLs".into()));
    }
    if doc.inner_not_a_mapping {
        return Err(shape(format!("`{key}` is not a mapping")));
    }
    let mut doc = match doc.inner {
        Some(inner) => *inner,
        None => doc,
    };
    // Resolve a value against its source and check the result ("" is not
    // joined: it would name the map itself).
    let join = |v: &str| -> Result<String, String> {
        let joined = match &own_base {
            Some(b) if Url::parse(v).is_err() && !v.is_empty() => {
                b.join(v).map_or_else(|_| v.to_owned(), |u| u.to_string())
            }
            _ => v.to_owned(),
        };
        mirror_index::map_value::check_chars(v)
            .and_then(|()| mirror_index::map_value::check_url(&joined))
            .map(|()| joined)
            .map_err(|e| format!("{} is refused: {e}", quoted(v)))
    };
    let mut out = Resolved::default();
    let mut includes: Vec<Resolved> = Vec::new();
    let mut include_before: Vec<(String, Resolved)> = Vec::new();
    // Entries with a string value are repos (checked in place in the
    // compact table), except the composition keys.
    let mut repos = std::mem::take(&mut doc.strings);
    let mut composition: Vec<(String, serde_yaml::Value)> = Vec::new();
    repos.retain_map(|k, v| {
        if k == "include:" || k == "include:before:" || k.starts_with("before:") {
            composition.push((k.to_owned(), serde_yaml::Value::String(v.to_owned())));
            return None;
        }
        match join(v) {
            Ok(u) if u == v => Some(None),
            Ok(u) => Some(Some(u)),
            Err(why) => {
                out.rejected.insert(k.to_owned(), why);
                None
            }
        }
    });
    repos.sort(Keep::Last);
    out.repos = repos;
    for (k, v) in doc.others.into_iter().chain(
        composition
            .into_iter()
            .map(|(k, v)| (serde_yaml::Value::String(k), v)),
    ) {
        let k = match k {
            serde_yaml::Value::String(s) => s,
            other => return Err(shape(format!("key {other:?} is not a string"))),
        };
        let v = &v;
        // In YAML an unquoted `include:` key reads as `include`; accept both spellings.
        let is_list = matches!(v, serde_yaml::Value::Sequence(_));
        if k == "include:" || (k == "include" && is_list) {
            for item in str_list(v).map_err(|m| shape(format!("include: {m}")))? {
                includes.push(resolve_at(&item, own_base.as_ref(), ctx, depth + 1)?);
            }
        } else if k == "include:before:" || (k == "include:before" && is_list) {
            for pair in pair_list(v).map_err(|m| shape(format!("include:before: {m}")))? {
                let inc = resolve_at(&pair.1, own_base.as_ref(), ctx, depth + 1)?;
                include_before.push((pair.0, inc));
            }
        } else if let Some(target) = k.strip_prefix("before:") {
            let list = pair_list(v).map_err(|m| shape(format!("{k}: {m}")))?;
            let checked: Result<Vec<(String, String)>, String> = list
                .into_iter()
                .map(|(id, url)| {
                    mirror_index::map_value::check_repo_id(&id)
                        .map_err(|e| format!("{} is refused: {e}", quoted(&id)))?;
                    Ok((id, join(&url)?))
                })
                .collect();
            match checked {
                Ok(list) => out
                    .before
                    .entry(target.to_owned())
                    .or_default()
                    .extend(list),
                Err(why) => {
                    out.before.remove(target);
                    out.rejected.insert(k, why);
                }
            }
        } else {
            return Err(shape(format!("the value of {k:?} is not a URL string")));
        }
    }
    for inc in includes {
        out.merge_include(inc);
    }
    for (prefix, inc) in include_before {
        for (id, url) in &inc.repos {
            if let Some((_, distro)) = id.rsplit_once('-') {
                let target = format!("{prefix}-{distro}");
                if !out.rejected.contains_key(&format!("before:{target}")) {
                    out.before
                        .entry(target)
                        .or_default()
                        .push((id.to_owned(), url.to_owned()));
                }
            }
        }
        // Only the included repos become inserts, so only their refusals count.
        for (id, why) in inc.rejected {
            if let Some((_, distro)) = id.rsplit_once('-').filter(|_| !id.starts_with("before:")) {
                let target = format!("{prefix}-{distro}");
                out.before.remove(&target);
                out.rejected
                    .entry(format!("before:{target}"))
                    .or_insert(why);
            }
        }
    }
    Ok(out)
}

/// A source URI as it may be shown: a password in it is masked and a long
/// `data:` URL is cut.
pub fn redact(uri: &str) -> String {
    if uri.starts_with("data:") {
        return quoted(uri).trim_matches('"').to_owned();
    }
    mirror_http::redact(uri)
}

/// Time travel: the map of the snapshots each mirror had at `at`, from the
/// `all_snapshots.json` beside the index `uri` (`{"snapshots": {mirror:
/// [{name, url}, ...]}}`). `at` is RFC 3339 or a snapshot name; a snapshot
/// counts from the minute its name gives. Returns the map and the mirrors
/// that had no snapshot yet.
pub fn resolve_at_time(
    uri: &str,
    at: &str,
    loader: &dyn Loader,
) -> Result<(Resolved, Vec<String>), MapError> {
    let load_err = |message: String| MapError::Load {
        uri: redact(uri),
        message,
    };
    let limit = at_limit(at).map_err(load_err)?;
    let Source::Url(index) = parse_source(uri, None).map_err(load_err)? else {
        return Err(load_err(
            "--at needs an index URL or path, not a data: URL".into(),
        ));
    };
    let url = index
        .join(mirror_index::layout::SNAPSHOTS_JSON)
        .map_err(|e| load_err(e.to_string()))?;
    let doc = loader
        .load(&url, &|b| parse_body(b, None))
        .map_err(|message| MapError::Load {
            uri: redact(url.as_str()),
            message,
        })?;
    let shape = |message: String| MapError::Shape {
        uri: redact(url.as_str()),
        message,
    };
    let Some(serde_yaml::Value::Mapping(mirrors)) = doc.other("snapshots") else {
        return Err(shape("expected {\"snapshots\": {mirror: [...]}}".into()));
    };
    let mut out = Resolved::default();
    let mut missing = Vec::new();
    for (k, list) in mirrors {
        let Some(name) = k.as_str() else { continue };
        let best = list
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|s| Some((s.get("name")?.as_str()?, s.get("url")?.as_str()?)))
            // Only snapshot names order in time: anything else is no snapshot.
            .filter(|(n, _)| mirror_index::SnapshotName::parse(n).is_ok())
            .filter(|(n, _)| limit.admits(n))
            .max_by_key(|(n, _)| *n);
        match best {
            Some((_, u)) => match mirror_index::map_value::check_url(u) {
                Ok(()) => {
                    out.repos.insert(name, u);
                }
                Err(e) => {
                    out.rejected
                        .insert(name.to_owned(), format!("{} is refused: {e}", quoted(u)));
                }
            },
            None => missing.push(name.to_owned()),
        }
    }
    Ok((out, missing))
}

/// The newest snapshot name a `--at` admits.
enum AtLimit {
    /// A snapshot name: names up to it.
    Name(String),
    /// A time: names whose minute is at or before it.
    Minute(String),
}

impl AtLimit {
    fn admits(&self, name: &str) -> bool {
        match self {
            Self::Name(n) => name <= n.as_str(),
            Self::Minute(m) => name.get(..16).is_some_and(|p| p <= m.as_str()),
        }
    }
}

fn at_limit(at: &str) -> Result<AtLimit, String> {
    if mirror_index::SnapshotName::parse(at).is_ok() {
        return Ok(AtLimit::Name(at.to_owned()));
    }
    let t: jiff::Timestamp = at.parse().map_err(|e| {
        format!("--at {at:?}: use RFC 3339 (2026-11-20T12:00:00Z) or a snapshot name: {e}")
    })?;
    Ok(AtLimit::Minute(t.strftime("%Y-%m-%d-%H-%M").to_string()))
}

fn is_remote(u: &Url) -> bool {
    matches!(u.scheme(), "http" | "https")
}

impl Resolved {
    /// Merge an include: the first definition of an id (good or refused) wins.
    fn merge_include(&mut self, inc: Resolved) {
        let mut added = RepoUrls::default();
        for (id, url) in &inc.repos {
            if !self.rejected.contains_key(id) && !self.repos.contains_key(id) {
                added.push_unsorted(id, url);
            }
        }
        if !added.is_empty() {
            for (id, url) in &added {
                self.repos.push_unsorted(id, url);
            }
            self.repos.sort(Keep::First);
        }
        for (key, why) in inc.rejected {
            if let Some(target) = key.strip_prefix("before:") {
                // Insert lists concatenate, so a refused part refuses the whole list.
                self.before.remove(target);
                self.rejected.entry(key).or_insert(why);
            } else if !self.repos.contains_key(&key) {
                self.rejected.entry(key).or_insert(why);
            }
        }
        for (t, list) in inc.before {
            if !self.rejected.contains_key(&format!("before:{t}")) {
                self.before.entry(t).or_default().extend(list);
            }
        }
    }
}

fn str_list(v: &serde_yaml::Value) -> Result<Vec<String>, String> {
    match v {
        serde_yaml::Value::String(s) => Ok(vec![s.clone()]),
        serde_yaml::Value::Sequence(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| "expected a list of URIs".to_owned())
            })
            .collect(),
        _ => Err("expected a list of URIs".into()),
    }
}

fn pair_list(v: &serde_yaml::Value) -> Result<Vec<(String, String)>, String> {
    let serde_yaml::Value::Sequence(items) = v else {
        return Err("expected a list of [name, url] pairs".into());
    };
    items
        .iter()
        .map(|i| match i.as_sequence().map(Vec::as_slice) {
            Some([a, b]) => match (a.as_str(), b.as_str()) {
                (Some(a), Some(b)) => Ok((a.to_owned(), b.to_owned())),
                _ => Err("expected [name, url] pairs of strings".to_owned()),
            },
            _ => Err("expected a list of [name, url] pairs".to_owned()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    /// Issue 21.15: `--at` takes real minutes only, and only snapshot names
    /// of all_snapshots.json count.
    #[test]
    fn at_takes_real_names_only() {
        assert!(at_limit("9999-99-99-99-99").is_err());
        assert!(at_limit("2026-02-30-00-00").is_err());
        assert!(at_limit("2026-11-21-09-30").is_ok());
        assert!(at_limit("2026-11-21T09:30:00Z").is_ok());
        let dir = tempfile::tempdir().unwrap();
        let index = dir.path().join("all_latest.json");
        std::fs::write(&index, "{\"latest_ci_repos\": {}}").unwrap();
        std::fs::write(
            dir.path().join(mirror_index::layout::SNAPSHOTS_JSON),
            r#"{"snapshots": {"a-el9": [
                {"name": "2026-11-20-00-00", "url": "http://m/a-el9/2026-11-20-00-00"},
                {"name": "~~~~", "url": "http://evil/x"},
                {"name": "2026-11-21-00-00x", "url": "http://evil/y"}
            ]}}"#,
        )
        .unwrap();
        let loader =
            crate::net::NetLoader::new(std::time::Duration::from_secs(5), 0, false, 1 << 20)
                .unwrap();
        let (map, missing) =
            resolve_at_time(index.to_str().unwrap(), "2026-11-22T00:00:00Z", &loader).unwrap();
        assert!(missing.is_empty());
        assert_eq!(
            map.repos.get("a-el9"),
            Some("http://m/a-el9/2026-11-20-00-00")
        );
    }

    use super::*;
    use std::collections::HashMap;

    /// Serves fixed bodies by URL.
    struct Fake(HashMap<String, String>);
    impl Loader for Fake {
        fn load(
            &self,
            url: &Url,
            parse: &dyn Fn(&[u8]) -> Result<MapDoc, String>,
        ) -> Result<MapDoc, String> {
            let b = self
                .0
                .get(url.as_str())
                .ok_or_else(|| "HTTP 404".to_owned())?;
            parse(b.as_bytes())
        }
    }

    fn fake(items: &[(&str, &str)]) -> Fake {
        Fake(
            items
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn data_urls() {
        let none = fake(&[]);
        let r = resolve(
            r#"data:application/json,{"a-el7":"http://m/a/1"}"#,
            "latest_ci_repos",
            &none,
        )
        .unwrap();
        assert_eq!(&r.repos["a-el7"], "http://m/a/1");
        let r = resolve(
            &format!(
                "data:application/json;base64,{}",
                b64(r#"{"latest_ci_repos":{"b":"http://m/b"}}"#)
            ),
            "latest_ci_repos",
            &none,
        )
        .unwrap();
        assert_eq!(&r.repos["b"], "http://m/b");
        let r = resolve(
            "data:application/json,%7B%22c%22%3A%22http%3A//m/c%22%7D",
            "latest_ci_repos",
            &none,
        )
        .unwrap();
        assert_eq!(&r.repos["c"], "http://m/c");
        // Non-JSON data URLs give an empty map, as in the old client.
        for uri in [
            r#"data:text/plain,{"a":"b"}"#,
            r#"data:,{"a":"b"}"#,
            &format!("data:text/plain;base64,{}", b64(r#"{"a":"b"}"#)),
            &format!("data:;base64,{}", b64(r#"{"a":"b"}"#)),
        ] {
            assert!(
                resolve(uri, "latest_ci_repos", &none).unwrap().is_empty(),
                "{uri}"
            );
        }
        assert!(resolve("data:application/json,{oops", "latest_ci_repos", &none).is_err());
        assert!(resolve("data:application/json;base64,!!!", "latest_ci_repos", &none).is_err());
    }

    #[test]
    fn include_and_before_composition() {
        let loader = fake(&[
            (
                "http://idx/main.yaml",
                "a-el7: http://m/a/own\nbefore:a-el7:\n  - [own-ins, http://m/own-ins]\n\"include:\":\n  - inc1.yaml\n  - http://other/inc2.json\ninclude:before:\n  - [base, ib.yaml]\n",
            ),
            (
                "http://idx/inc1.yaml",
                "a-el7: http://m/a/inc1\nb-el7: rel/b\nbefore:a-el7:\n  - [inc1-ins, http://m/inc1-ins]\ninclude: [nested/inc3.yaml]\n",
            ),
            (
                "http://idx/nested/inc3.yaml",
                "c-el7: ../c\nb-el7: http://m/b/inc3\n",
            ),
            (
                "http://other/inc2.json",
                r#"{"latest_ci_repos": {"b-el7": "http://m/b/inc2", "d": "d/1", "before:a-el7": [["inc2-ins", "x"]]}}"#,
            ),
            (
                "http://idx/ib.yaml",
                "repo-el7: http://m/gated-el7\nrepo-el8: http://m/gated-el8\nnodash: http://m/x\n",
            ),
        ]);
        let r = resolve("http://idx/main.yaml", "latest_ci_repos", &loader).unwrap();
        assert_eq!(&r.repos["a-el7"], "http://m/a/own", "own definition wins");
        assert_eq!(
            &r.repos["b-el7"], "http://idx/rel/b",
            "first include wins, relative to its source"
        );
        assert_eq!(
            &r.repos["c-el7"], "http://idx/c",
            "nested include, relative to the nested file"
        );
        assert_eq!(&r.repos["d"], "http://other/d/1");
        let ins: Vec<&str> = r.before["a-el7"]
            .iter()
            .map(|(id, _)| id.as_str())
            .collect();
        assert_eq!(ins, ["own-ins", "inc1-ins", "inc2-ins"]);
        assert_eq!(r.before["a-el7"][2].1, "http://other/x");
        assert_eq!(
            r.before["base-el7"],
            vec![("repo-el7".to_owned(), "http://m/gated-el7".to_owned())]
        );
        assert_eq!(
            r.before["base-el8"],
            vec![("repo-el8".to_owned(), "http://m/gated-el8".to_owned())]
        );
        assert_eq!(r.before.len(), 3);
    }

    struct Files;
    impl Loader for Files {
        fn load(
            &self,
            url: &Url,
            parse: &dyn Fn(&[u8]) -> Result<MapDoc, String>,
        ) -> Result<MapDoc, String> {
            parse(&std::fs::read(url.to_file_path().unwrap()).map_err(|e| e.to_string())?)
        }
    }

    #[test]
    fn relative_urls_against_file_and_cycles() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("sub/map.json"), r#"{"x": "../snap/x"}"#).unwrap();
        let p = d.path().join("sub/map.json");
        let r = resolve(p.to_str().unwrap(), "latest_ci_repos", &Files).unwrap();
        let want = Url::from_file_path(d.path().join("snap/x"))
            .unwrap()
            .to_string();
        assert_eq!(&r.repos["x"], want);
        // A data: source cannot be a base: a relative URL there cannot be
        // resolved, so the entry is refused.
        let r = resolve(
            r#"data:application/json,{"x":"rel/x","y":"http://m/y"}"#,
            "latest_ci_repos",
            &Files,
        )
        .unwrap();
        assert!(r.rejected["x"].contains("not an http"), "{r:?}");
        assert_eq!(r.repos.keys().collect::<Vec<_>>(), ["y"]);

        let cyc = fake(&[
            ("http://i/a.yaml", "include: [b.yaml]\n"),
            ("http://i/b.yaml", "include: [a.yaml]\n"),
        ]);
        let err = resolve("http://i/a.yaml", "latest_ci_repos", &cyc).unwrap_err();
        assert!(err.to_string().contains("nest deeper"), "{err}");
    }

    #[test]
    fn shape_errors_name_the_source() {
        for (body, needle) in [
            ("[1, 2]", "expected a mapping"),
            ("a: [1]", "not a URL string"),
            ("before:x: notalist", "pairs"),
            ("latest_ci_repos: 3", "not a mapping"),
            ("{\"a\": ", "EOF while parsing a value"),
        ] {
            let l = fake(&[("http://i/m", body)]);
            let err = resolve("http://i/m", "latest_ci_repos", &l)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("http://i/m") && err.contains(needle),
                "{body}: {err}"
            );
        }
    }

    /// Values that would add lines to a .repo file, fields to a .repos
    /// list or code to a mock config are refused under their key; the good
    /// entries stay. An empty value is refused (joined, it names the map).
    #[test]
    fn hostile_values_are_refused_by_key() {
        let body = serde_json::json!({"latest_ci_repos": {
            "good-el9": "http://m/good",
            "nl-el9": "http://m/x\ngpgcheck=0\n[main]",
            "cr-el9": "http://m/x\rgpgcheck=0",
            "mock-el9": "http://m/x\"\"\"+__import__('os').system('id')+\"\"\"",
            "quote-el9": "http://m/'x'",
            "space-el9": "http://m/a b",
            "empty-el9": "",
            "csv-el9": "http://m/a,evil-id,http://evil/",
            "before:good-el9": [["ins]\n[evil", "http://m/i"]],
            "before:other": [["fine", "http://m/ok"], ["also", "http://m/bad\n"]],
        }});
        let l = fake(&[("http://i/m.json", &body.to_string())]);
        let r = resolve("http://i/m.json", "latest_ci_repos", &l).unwrap();
        assert_eq!(r.repos.keys().collect::<Vec<_>>(), ["good-el9"]);
        assert!(r.before.is_empty(), "{:?}", r.before);
        for (key, needle) in [
            ("nl-el9", "U+000A"),
            ("cr-el9", "U+000D"),
            ("mock-el9", "'\"'"),
            ("quote-el9", "'\\''"),
            ("space-el9", "whitespace"),
            ("empty-el9", "empty value"),
            ("csv-el9", "','"),
            ("before:good-el9", "repo id"),
            ("before:other", "U+000A"),
        ] {
            let why = r
                .rejected
                .get(key)
                .unwrap_or_else(|| panic!("{key} not refused: {r:?}"));
            assert!(why.contains(needle), "{key}: {why}");
        }
        assert_eq!(r.rejected.len(), 9);
        assert_eq!(r.refusal("good-el9").unwrap().0, "before:good-el9");
        assert!(r.refusal("unknown").is_none());
    }

    /// The first definition of an id wins, refused or not: a refused own
    /// entry is not replaced by an include's, and a refused part of an
    /// insert list refuses the whole list.
    #[test]
    fn refusals_follow_the_first_definition_rule() {
        let l = fake(&[
            (
                "http://i/a.yaml",
                "x: \"http://m/x\\nbad\"\ny: http://m/y\ninclude: [b.yaml]\nbefore:t: [[own, http://m/own]]\n",
            ),
            (
                "http://i/b.yaml",
                "x: http://m/x-from-b\ny: \"\"\nz: \"\"\nbefore:t: [[inc, \"http://m/a b\"]]\n",
            ),
        ]);
        let r = resolve("http://i/a.yaml", "latest_ci_repos", &l).unwrap();
        assert!(
            !r.repos.contains_key("x") && r.rejected.contains_key("x"),
            "{r:?}"
        );
        assert_eq!(&r.repos["y"], "http://m/y");
        assert!(r.rejected.contains_key("z"));
        assert!(
            !r.before.contains_key("t") && r.rejected.contains_key("before:t"),
            "{r:?}"
        );
    }

    /// A map fetched over http(s) may include only http(s): never a local
    /// file, a device or a data: URL (whose includes could be local).
    #[test]
    fn remote_maps_cannot_include_local_sources() {
        for inc in [
            "file:///etc/passwd",
            "file:///dev/zero",
            "data:application/json,{}",
        ] {
            let l = fake(&[(
                "http://i/m.yaml",
                &format!("a: http://m/a\ninclude: [\"{inc}\"]\n"),
            )]);
            let err = resolve("http://i/m.yaml", "latest_ci_repos", &l)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("may only include http(s)") && err.contains("http://i/m.yaml"),
                "{inc}: {err}"
            );
            let l = fake(&[(
                "http://i/m.yaml",
                &format!("include:before: [[p, \"{inc}\"]]\n"),
            )]);
            assert!(
                resolve("http://i/m.yaml", "latest_ci_repos", &l).is_err(),
                "{inc}"
            );
        }
        // Relative includes of a remote map (even "/dev/zero") resolve
        // against it: they stay remote.
        let l = fake(&[
            ("http://i/d/m.yaml", "include: [../n.yaml, /dev/zero]\n"),
            ("http://i/n.yaml", "a: http://m/a\n"),
            ("http://i/dev/zero", "b: http://m/b\n"),
        ]);
        let r = resolve("http://i/d/m.yaml", "latest_ci_repos", &l).unwrap();
        assert_eq!((&r.repos["a"], &r.repos["b"]), ("http://m/a", "http://m/b"));
        // A local map may include local files.
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("inc.json"), r#"{"b": "http://m/b"}"#).unwrap();
        std::fs::write(d.path().join("top.yaml"), "include: [inc.json]\n").unwrap();
        let r = resolve(
            d.path().join("top.yaml").to_str().unwrap(),
            "latest_ci_repos",
            &Files,
        )
        .unwrap();
        assert_eq!(&r.repos["b"], "http://m/b");
    }

    /// Issue 8: the body of each source is parsed once (it was parsed once
    /// to validate it and again to read it).
    #[test]
    fn each_body_is_parsed_once() {
        struct Counting(std::cell::Cell<u32>);
        impl Loader for Counting {
            fn load(
                &self,
                url: &Url,
                parse: &dyn Fn(&[u8]) -> Result<MapDoc, String>,
            ) -> Result<MapDoc, String> {
                self.0.set(self.0.get() + 1);
                let body = if url.path().ends_with("top.json") {
                    r#"{"a": "http://m/a", "include:": ["inc.json"]}"#
                } else {
                    r#"{"b": "http://m/b"}"#
                };
                parse(body.as_bytes())
            }
        }
        let parses = std::cell::Cell::new(0u32);
        let counting = Counting(std::cell::Cell::new(0));
        let r = resolve_with(
            "http://i/top.json",
            "latest_ci_repos",
            &counting,
            &|b, w| {
                parses.set(parses.get() + 1);
                parse_body(b, w)
            },
        )
        .unwrap();
        assert_eq!(r.repos.len(), 2);
        assert_eq!((counting.0.get(), parses.get()), (2, 2));
    }

    #[test]
    fn errors_never_show_a_password() {
        let l = fake(&[]);
        let err = resolve("http://ci:s3cret@i/m.json", "latest_ci_repos", &l)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("s3cret") && err.contains("ci:***@i"), "{err}");
    }

    #[test]
    fn freeze_form_round_trips() {
        let l = fake(&[("http://i/m", "a: http://m/a\nbefore:a:\n  - [n, rel]\n")]);
        let r = resolve("http://i/m", "latest_ci_repos", &l).unwrap();
        let frozen = serde_json::to_string(&r.to_value()).unwrap();
        let again = resolve(
            &format!("data:application/json,{frozen}"),
            "latest_ci_repos",
            &l,
        )
        .unwrap();
        assert_eq!(again, r);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    struct Nothing;
    impl Loader for Nothing {
        fn load(
            &self,
            url: &Url,
            _: &dyn Fn(&[u8]) -> Result<MapDoc, String>,
        ) -> Result<MapDoc, String> {
            Err(format!("no network in this test: {url}"))
        }
    }

    proptest! {
        #[test]
        fn any_data_url_gives_a_map_or_an_error(body in "\\PC{0,200}", b64 in any::<bool>()) {
            let uri = if b64 {
                format!("data:application/json;base64,{}", base64::engine::general_purpose::STANDARD.encode(&body))
            } else {
                format!("data:application/json,{body}")
            };
            let _ = resolve(&uri, "latest_ci_repos", &Nothing);
        }

        #[test]
        fn json_shaped_maps_never_panic(keys in prop::collection::vec("(include:|before:|include:before:)?[a-z]{0,5}", 0..6), vals in prop::collection::vec(prop_oneof![Just("\"http://x/\"".to_owned()), Just("[\"a\"]".to_owned()), Just("[[\"a\",\"b\"]]".to_owned()), Just("3".to_owned()), Just("{}".to_owned())], 0..6)) {
            let body: Vec<String> = keys.iter().zip(vals.iter()).map(|(k, v)| format!("\"{k}\": {v}")).collect();
            let uri = format!("data:application/json,{{{}}}", body.join(","));
            let _ = resolve(&uri, "latest_ci_repos", &Nothing);
        }
    }
}
