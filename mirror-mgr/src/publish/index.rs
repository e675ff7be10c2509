//! The bucket's index (`all_latest.json`/`.yaml`, `all_<channel>.json`/
//! `.yaml`), shared by every host that publishes into the bucket: each
//! merges its own mirrors' entries into what is there with a conditional
//! write (`If-Match` on the ETag it read, `If-None-Match: *` when there was
//! none) and retries when another host wrote in between, so no host's
//! update is lost. JSON (what clients read) and YAML are merged separately
//! the same way.

use std::collections::BTreeMap;

use object_store::{ObjectStore, PutMode, PutOptions, PutPayload, UpdateVersion};

use super::{Bucket, PublishError};
use crate::crashpoint;

/// Tries before giving up on a contended index.
const TRIES: u32 = 20;

/// One index: its wrapper key and, per mirror, the snapshot URL it names
/// (`None`: remove that mirror's entry).
pub type Changes = BTreeMap<String, Option<String>>;

/// The map an index file holds (empty when unreadable: it is rebuilt).
fn parse(bytes: &[u8], key: &str) -> BTreeMap<String, String> {
    let v: serde_yaml::Value = serde_yaml::from_slice(bytes).unwrap_or_default();
    v.get(key)
        .and_then(|m| serde_yaml::from_value(m.clone()).ok())
        .unwrap_or_default()
}

/// Merge `changes` into `all_<name>.json` and `.yaml` in the bucket.
/// `replace` starts from an empty map instead (a rebuild).
pub async fn merge(
    bucket: &Bucket,
    name: &str,
    key: &str,
    changes: &Changes,
    replace: bool,
) -> Result<(), PublishError> {
    // YAML first: the JSON, which clients read, is the last word.
    for (file, json) in [
        (format!("all_{name}.yaml"), false),
        (format!("all_{name}.json"), true),
    ] {
        let k = bucket.key(&file);
        let mut tries = 0;
        loop {
            tries += 1;
            let current = bucket.get(&k).await?;
            let mut map = match (&current, replace) {
                (Some((b, _)), false) => parse(b, key),
                _ => BTreeMap::new(),
            };
            for (mirror, url) in changes {
                match url {
                    Some(u) => map.insert(mirror.clone(), u.clone()),
                    None => map.remove(mirror),
                };
            }
            let (j, y) = crate::channels::render_index(key, &map);
            let body = if json { j } else { y }.into_bytes();
            if current.as_ref().is_some_and(|(b, _)| *b == body) {
                break;
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
                Ok(_) => break,
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
        }
        crashpoint::hit("publish-index-written");
    }
    Ok(())
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
