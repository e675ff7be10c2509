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

use super::bucket::{Bucket, PublishError, complete_in_bucket};
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

/// What an index becomes, given its current bytes (`None`: none there).
type Next<'a> = dyn Fn(Option<&[u8]>) -> Result<Vec<u8>, PublishError> + 'a;

/// Replace the object at `k` with what `next` makes of its current bytes
/// (`None`: none there), as a conditional write retried when another
/// host wrote in between. Returns the bytes that stand.
async fn update(
    bucket: &Bucket,
    k: &object_store::path::Path,
    next: &Next<'_>,
) -> Result<Vec<u8>, PublishError> {
    let mut tries = 0;
    loop {
        tries += 1;
        let current = bucket.get(k).await?;
        let body = next(current.as_ref().map(|(b, _)| b.as_slice()))?;
        if current.as_ref().is_some_and(|(b, _)| *b == body) {
            return Ok(body);
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
            .put_opts(k, PutPayload::from(body.clone()), opts)
            .await
        {
            Ok(_) => {
                crashpoint::hit("publish-index-written");
                return Ok(body);
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
            Err(e) => return Err(Bucket::err("writing", k)(e)),
        }
    }
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
    let json_file = mirror_index::layout::channel_index(name, "json");
    let k = bucket.key(&json_file);
    let body = update(bucket, &k, &|current| {
        let mut map = match (current, replace) {
            (Some(b), false) => parse(b, key, &json_file)?,
            _ => BTreeMap::new(),
        };
        for (mirror, url) in changes {
            match url {
                Some(u) => map.insert(mirror.clone(), u.clone()),
                None => map.remove(mirror),
            };
        }
        Ok(crate::channels::render_index(key, &map).0.into_bytes())
    })
    .await?;
    let mut map = parse(&body, key, &json_file)?;
    // The YAML follows the JSON; if another host moved the JSON meanwhile,
    // follow it again.
    let yaml_key = bucket.key(&mirror_index::layout::channel_index(name, "yaml"));
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

/// One mirror's entries in `all_snapshots.json`: its snapshots (oldest
/// first) and the URL of its signing key, if it has one. `None` removes it.
#[derive(Debug, Clone)]
pub struct SnapshotEntry {
    pub snapshots: Vec<mirror_index::SnapshotName>,
    pub key_url: Option<String>,
}

/// Merge mirrors' entries into the bucket's `all_snapshots.json` (time
/// travel for clients of the bucket: `mirror-client --at`), with the same
/// conditional write as the other indexes. Written after the snapshots
/// it names are complete and before removed ones are deleted, so it never
/// names a snapshot that is not there.
pub async fn merge_snapshots(
    bucket: &Bucket,
    changes: &BTreeMap<String, Option<SnapshotEntry>>,
    replace: bool,
) -> Result<(), PublishError> {
    let file = mirror_index::layout::SNAPSHOTS_JSON;
    let k = bucket.key(file);
    update(bucket, &k, &|current| {
        let mut doc = match (current, replace) {
            (Some(b), false) => mirror_index::all_snapshots::parse(b).map_err(|e| {
                PublishError::Config(format!(
                    "the bucket's {file} {e}; nothing was changed: rebuild it with `mirror-mgr index --from-bucket`"
                ))
            })?,
            _ => mirror_index::all_snapshots::AllSnapshots::default(),
        };
        for (mirror, entry) in changes {
            doc.snapshots.remove(mirror);
            doc.keys.remove(mirror);
            let Some(e) = entry else { continue };
            let Ok(name) = mirror_index::MirrorName::new(mirror) else {
                continue;
            };
            if !e.snapshots.is_empty() {
                doc.snapshots.insert(
                    mirror.clone(),
                    e.snapshots
                        .iter()
                        .map(|s| mirror_index::all_snapshots::Entry {
                            name: s.to_string(),
                            url: mirror_index::all_latest::snapshot_url(
                                &bucket.public_url,
                                &name,
                                s,
                            ),
                        })
                        .collect(),
                );
            }
            if let Some(u) = &e.key_url {
                doc.keys.insert(mirror.clone(), u.clone());
            }
        }
        Ok(doc.render().into_bytes())
    })
    .await?;
    Ok(())
}

/// Rebuild every index from the pointers in the bucket alone (`index
/// --from-bucket`): returns channel -> mirror -> URL.
pub async fn rebuild(
    bucket: &Bucket,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, PublishError> {
    let mut all: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut snapshots = BTreeMap::new();
    for mirror in bucket.dirs("").await? {
        let Ok(name) = mirror_index::MirrorName::new(&mirror) else {
            continue;
        };
        let key = crate::filter::sign::PUBLIC_KEY_FILE;
        let has_key = bucket
            .get(&bucket.key(&format!("{mirror}/{key}")))
            .await?
            .is_some();
        snapshots.insert(
            mirror.clone(),
            Some(SnapshotEntry {
                snapshots: complete_in_bucket(bucket, &name).await?,
                key_url: has_key
                    .then(|| format!("{}/{mirror}/{key}", bucket.public_url.trim_end_matches('/'))),
            }),
        );
        for f in bucket.files(&mirror).await? {
            // latest.txt and channel pointers only: any other *.txt is not
            // an index (a channel named like a tree file never was one).
            let channel = if f == mirror_index::layout::LATEST_FILE {
                Some("latest")
            } else {
                mirror_index::layout::channel_of_pointer(&f)
            };
            let Some(channel) = channel else {
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
    merge_snapshots(bucket, &snapshots, true).await?;
    Ok(all)
}
