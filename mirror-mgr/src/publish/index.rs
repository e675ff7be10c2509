//! The bucket's index (`all_latest.json`/`.yaml`, `all_<channel>.json`/
//! `.yaml`), shared by every host that publishes into the bucket: each
//! merges its own mirrors' entries into what is there with a conditional
//! write (`If-Match` on the ETag it read, `If-None-Match: *` when there was
//! none) and retries when another host wrote in between, so no host's
//! update is lost. The YAML is always the JSON's map rendered (written
//! after it, and rewritten by any publish that finds it behind); an index
//! that does not parse is an error, never silently replaced.

use std::collections::BTreeMap;

use object_store::{ObjectStore, PutMode, PutOptions, PutPayload, UpdateVersion};

use super::{Bucket, PublishError};
use crate::crashpoint;

/// Tries before giving up on a contended index.
const TRIES: u32 = 20;

/// One index: its wrapper key and, per mirror, the snapshot URL it names
/// (`None`: remove that mirror's entry).
pub type Changes = BTreeMap<String, Option<String>>;

/// The map a JSON index holds. An index that does not parse is an error,
/// never replaced by this host's entries alone (that would drop every other
/// host's); serde_json bounds nesting, so a hostile index fails fast.
fn parse(bytes: &[u8], key: &str, name: &str) -> Result<BTreeMap<String, String>, PublishError> {
    let bad = |why: String| {
        PublishError::Config(format!(
            "the bucket's index {name} {why}; nothing was changed: rebuild it from the pointers with `mirror-mgr index --from-bucket`"
        ))
    };
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("does not parse ({e})")))?;
    let m = v
        .get(key)
        .ok_or_else(|| bad(format!("has no {key:?} key")))?;
    serde_json::from_value(m.clone()).map_err(|e| bad(format!("is not a map of URLs ({e})")))
}

/// Merge `changes` into `all_<name>.json` in the bucket (a conditional
/// write, retried when another host wrote in between), then make
/// `all_<name>.yaml` the rendering of the JSON's map. The YAML is derived,
/// never merged on its own, so a publish killed between the two leaves it
/// behind only until the next publish, which rewrites it. `replace` starts
/// from an empty map instead (a rebuild).
pub async fn merge(
    bucket: &Bucket,
    name: &str,
    key: &str,
    changes: &Changes,
    replace: bool,
) -> Result<(), PublishError> {
    let json_file = format!("all_{name}.json");
    let k = bucket.key(&json_file);
    let mut tries = 0;
    let mut map = loop {
        tries += 1;
        let current = bucket.get(&k).await?;
        let mut map = match (&current, replace) {
            (Some((b, _)), false) => parse(b, key, &json_file)?,
            _ => BTreeMap::new(),
        };
        for (mirror, url) in changes {
            match url {
                Some(u) => map.insert(mirror.clone(), u.clone()),
                None => map.remove(mirror),
            };
        }
        let (body, _) = crate::channels::render_index(key, &map);
        let body = body.into_bytes();
        if current.as_ref().is_some_and(|(b, _)| *b == body) {
            break map;
        }
        let mode = match &current {
            Some((_, etag)) => PutMode::Update(UpdateVersion {
                e_tag: etag.clone(),
                version: None,
            }),
            None => PutMode::Create,
        };
        let opts = PutOptions {
            mode,
            ..PutOptions::default()
        };
        match bucket
            .store
            .put_opts(&k, PutPayload::from(body), opts)
            .await
        {
            Ok(_) => {
                crashpoint::hit("publish-index-written");
                break map;
            }
            Err(
                object_store::Error::Precondition { .. }
                | object_store::Error::AlreadyExists { .. },
            ) if tries < TRIES => {
                // Another host wrote it meanwhile: read again, merge again.
                let wait = 20 * u64::from(tries) + u64::from(rand::random::<u8>() % 50);
                tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
            }
            Err(
                object_store::Error::Precondition { .. }
                | object_store::Error::AlreadyExists { .. },
            ) => {
                return Err(PublishError::Contended {
                    key: k.to_string(),
                    tries,
                });
            }
            Err(e) => return Err(Bucket::err("writing", &k)(e)),
        }
    };
    // The YAML follows the JSON; if another host moved the JSON meanwhile,
    // follow it again.
    let yaml_key = bucket.key(&format!("all_{name}.yaml"));
    for _ in 0..TRIES {
        let (_, yaml) = crate::channels::render_index(key, &map);
        let current = bucket.get(&yaml_key).await?;
        if current.as_ref().is_none_or(|(b, _)| *b != yaml.as_bytes()) {
            bucket.put(&yaml_key, yaml.into_bytes()).await?;
            crashpoint::hit("publish-index-written");
        }
        let now = match bucket.get(&k).await? {
            Some((b, _)) => parse(&b, key, &json_file)?,
            None => BTreeMap::new(),
        };
        if now == map {
            return Ok(());
        }
        map = now;
    }
    Err(PublishError::Contended {
        key: yaml_key.to_string(),
        tries: TRIES,
    })
}

/// Rebuild every index from the pointers in the bucket alone (`index
/// --from-bucket`): returns channel -> mirror -> URL.
pub async fn rebuild(
    bucket: &Bucket,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, PublishError> {
    let mut all: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for mirror in bucket.dirs("").await? {
        let Ok(name) = mirror_index::MirrorName::new(&mirror) else {
            continue;
        };
        for f in bucket.files(&mirror).await? {
            // latest.txt and channel pointers only: any other *.txt is not
            // an index (a channel named like a tree file never was one).
            let Some(channel) = f
                .strip_suffix(".txt")
                .filter(|c| *c == "latest" || crate::channels::Channel::new(c).is_ok())
            else {
                continue;
            };
            let Some((b, _)) = bucket.get(&bucket.key(&format!("{mirror}/{f}"))).await? else {
                continue;
            };
            let Ok(snap) = mirror_index::SnapshotName::parse(String::from_utf8_lossy(&b).trim())
            else {
                continue;
            };
            // Only a snapshot whose repomd.xml is there (complete) is indexed.
            let repomd = bucket.key(&format!("{mirror}/{snap}/repodata/repomd.xml"));
            if bucket.get(&repomd).await?.is_none() {
                continue;
            }
            all.entry(channel.to_owned()).or_default().insert(
                mirror.clone(),
                mirror_index::all_latest::snapshot_url(&bucket.public_url, &name, &snap),
            );
        }
    }
    for (channel, map) in &all {
        let changes: Changes = map
            .iter()
            .map(|(m, u)| (m.clone(), Some(u.clone())))
            .collect();
        merge(
            bucket,
            channel,
            &crate::channels::wrapper_key(channel),
            &changes,
            true,
        )
        .await?;
    }
    Ok(all)
}
