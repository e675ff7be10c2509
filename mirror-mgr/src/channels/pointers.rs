//! The pointers (`<mirror>/<channel>.txt`) and each channel's index
//! (`all_<channel>.json`/`.yaml`), read and written.

use std::collections::BTreeMap;
use std::path::Path;

use mirror_index::atomic::write_atomic;
use mirror_index::layout;
use mirror_index::{MirrorName, SnapshotName};

use super::model::{Channel, wrapper_key};
use crate::store::{IoContext, StoreError};

/// Every channel pointer under `root`: channel -> mirror -> snapshot.
pub fn pointers(root: &Path) -> Result<BTreeMap<String, BTreeMap<String, String>>, StoreError> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for mirror in layout::list_mirrors(root).at(root)? {
        for (ch, s) in pointers_of(&mirror.dir(root))? {
            out.entry(ch).or_default().insert(mirror.to_string(), s);
        }
    }
    Ok(out)
}

fn read_pointer(path: &Path) -> Result<Option<SnapshotName>, StoreError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(layout::parse_latest(&t).ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).at(path),
    }
}

/// The channel pointers of the mirror in `mirror_dir`: channel -> snapshot.
pub fn pointers_of(mirror_dir: &Path) -> Result<BTreeMap<String, String>, StoreError> {
    let mut out = BTreeMap::new();
    for f in std::fs::read_dir(mirror_dir).at(mirror_dir)? {
        let f = f.at(mirror_dir)?;
        let name = f.file_name().to_string_lossy().into_owned();
        if let Some(ch) = layout::channel_of_pointer(&name)
            && let Some(s) = read_pointer(&f.path())?
        {
            out.insert(ch.to_owned(), s.to_string());
        }
    }
    Ok(out)
}

/// The channels that point at `snapshot` of the mirror in `mirror_dir`.
pub fn channels_at(mirror_dir: &Path, snapshot: &SnapshotName) -> Vec<String> {
    pointers_of(mirror_dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, s)| s == snapshot.as_str())
        .map(|(ch, _)| ch)
        .collect()
}

/// A channel index's JSON and YAML: `{key: {mirror: url}}`.
pub fn render_index(key: &str, map: &BTreeMap<String, String>) -> (String, String) {
    let json = serde_json::to_string_pretty(&serde_json::json!({ key: map }))
        .expect("serialisable")
        + "\n";
    let yaml = serde_yaml::to_string(&BTreeMap::from([(key, map)])).expect("serialisable");
    (json, yaml)
}

/// `all_<channel>.json` / `.yaml` from every mirror's `<channel>.txt`.
pub fn write_channel_index(
    root: &Path,
    base_url: &str,
    channel: &Channel,
) -> Result<(), StoreError> {
    let all = pointers(root)?;
    let map: BTreeMap<String, String> = all
        .get(channel.as_str())
        .map(|m| {
            m.iter()
                .filter_map(|(mirror, snap)| {
                    let name = MirrorName::new(mirror).ok()?;
                    let s = SnapshotName::parse(snap).ok()?;
                    Some((
                        mirror.clone(),
                        mirror_index::all_latest::snapshot_url(base_url, &name, &s),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let (json, yaml) = render_index(&wrapper_key(channel.as_str()), &map);
    write_atomic(
        &root.join(layout::channel_index(channel.as_str(), "yaml")),
        yaml.as_bytes(),
    )?;
    // The JSON is what clients read: it goes last, in one rename.
    write_atomic(
        &root.join(layout::channel_index(channel.as_str(), "json")),
        json.as_bytes(),
    )?;
    Ok(())
}
