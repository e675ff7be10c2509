//! A bundle's manifest: every snapshot it brings (name, files with size
//! and sha256, the snapshot's history manifest), the pointers and channel
//! states to apply, the mirror keys, and the objects (file contents) the
//! bundle carries. Checked whole before anything is used: names, paths,
//! checksums and sizes.

use std::collections::{BTreeMap, BTreeSet};

use mirror_index::{MirrorName, SnapshotName};

use crate::history::Manifest as History;

/// The format this version writes and reads.
pub const FORMAT: &str = "mirror-bundle/1";

/// The largest mirror key a manifest may carry.
pub const MAX_KEY: usize = 1 << 20;

/// The largest manifest read (a 100,000-file snapshot takes about 15 MB).
pub const MAX_MANIFEST: u64 = 256 << 20;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    /// RFC 3339, when the bundle was made.
    pub created: String,
    pub mirrors: BTreeMap<String, MirrorPart>,
    /// The contents the bundle carries: sha256 -> size.
    pub objects: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MirrorPart {
    /// Oldest first.
    pub snapshots: Vec<SnapshotPart>,
    /// What `latest.txt` names on the exporting side.
    pub latest: Option<String>,
    /// Channel -> the snapshot it names on the exporting side.
    #[serde(default)]
    pub channels: BTreeMap<String, String>,
    /// The mirror's public signing key (`RPM-GPG-KEY-mirror`), if any.
    #[serde(default)]
    pub key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotPart {
    pub name: String,
    /// Sorted by path.
    pub files: Vec<FileEntry>,
    /// Its history manifest (packages, bytes, changes, upstream).
    #[serde(default)]
    pub history: Option<History>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Manifest {
    /// Every sha256 the snapshots it lists hold: what the other side has
    /// once it imported this bundle (`--since`).
    pub fn contents(&self) -> BTreeSet<String> {
        self.mirrors
            .values()
            .flat_map(|m| &m.snapshots)
            .flat_map(|s| &s.files)
            .map(|f| f.sha256.clone())
            .collect()
    }

    /// Every (mirror, snapshot) it lists.
    pub fn snapshots(&self) -> BTreeSet<(String, String)> {
        self.mirrors
            .iter()
            .flat_map(|(m, p)| p.snapshots.iter().map(move |s| (m.clone(), s.name.clone())))
            .collect()
    }

    /// Refuse anything a bundle may not say: another format, a bad mirror,
    /// snapshot or channel name, a path outside a snapshot, a malformed
    /// checksum, a file whose content neither the bundle carries nor a
    /// snapshot of the bundle lists with that size.
    pub fn check(&self) -> Result<(), String> {
        if self.format != FORMAT {
            return Err(format!(
                "format {:?} (this mirror-mgr reads {FORMAT})",
                self.format
            ));
        }
        for sha in self.objects.keys() {
            if !is_sha256(sha) {
                return Err(format!("object {sha:?} is not a sha256"));
            }
        }
        for (name, m) in &self.mirrors {
            MirrorName::new(name).map_err(|e| format!("mirror {name:?}: {e}"))?;
            let mut names = BTreeSet::new();
            for s in &m.snapshots {
                SnapshotName::parse(&s.name)
                    .map_err(|e| format!("{name}: snapshot {:?}: {e}", s.name))?;
                if !names.insert(s.name.as_str()) {
                    return Err(format!("{name}: snapshot {} listed twice", s.name));
                }
                let mut paths = BTreeSet::new();
                for f in &s.files {
                    mirror_repodata::href::check(&f.path)
                        .map_err(|e| format!("{name}/{}: file {:?}: {e}", s.name, f.path))?;
                    if !is_sha256(&f.sha256) {
                        return Err(format!("{name}/{}/{}: bad sha256", s.name, f.path));
                    }
                    if !paths.insert(f.path.as_str()) {
                        return Err(format!("{name}/{}/{}: listed twice", s.name, f.path));
                    }
                    if let Some(size) = self.objects.get(&f.sha256)
                        && *size != f.size
                    {
                        return Err(format!(
                            "{name}/{}/{}: {} bytes, but its object has {size}",
                            s.name, f.path, f.size
                        ));
                    }
                }
                if !paths.contains(mirror_repodata::repo::REPOMD) {
                    return Err(format!("{name}/{}: no repodata/repomd.xml", s.name));
                }
            }
            for snap in m.latest.iter().chain(m.channels.values()) {
                SnapshotName::parse(snap).map_err(|e| format!("{name}: pointer {snap:?}: {e}"))?;
            }
            for ch in m.channels.keys() {
                crate::channels::Channel::new(ch).map_err(|e| format!("{name}: {e}"))?;
            }
            // The key becomes a served file (RPM-GPG-KEY-mirror).
            if let Some(k) = &m.key {
                let armored = k
                    .trim_start()
                    .starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----")
                    && k.trim_end().ends_with("-----END PGP PUBLIC KEY BLOCK-----");
                if !armored || k.len() > MAX_KEY {
                    return Err(format!(
                        "{name}: its key is not an armored OpenPGP public key of at most {MAX_KEY} bytes"
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, sha: char, size: u64) -> FileEntry {
        FileEntry {
            path: path.into(),
            size,
            sha256: sha.to_string().repeat(64),
        }
    }

    pub(crate) fn sample() -> Manifest {
        Manifest {
            format: FORMAT.into(),
            created: "2026-12-07T00:00:00Z".into(),
            mirrors: BTreeMap::from([(
                "el9".into(),
                MirrorPart {
                    snapshots: vec![SnapshotPart {
                        name: "2026-12-07-10-00".into(),
                        files: vec![
                            file("Packages/a.rpm", 'a', 10),
                            file("repodata/repomd.xml", 'b', 5),
                        ],
                        history: None,
                    }],
                    latest: Some("2026-12-07-10-00".into()),
                    channels: BTreeMap::from([("tested".into(), "2026-12-07-10-00".into())]),
                    key: None,
                },
            )]),
            objects: BTreeMap::from([("a".repeat(64), 10)]),
        }
    }

    type Flaw = fn(&mut Manifest);

    #[test]
    fn a_sound_manifest_passes_and_each_flaw_is_named() {
        assert_eq!(sample().check(), Ok(()));
        let flaws: [(&str, Flaw); 8] = [
            ("format", |m| m.format = "x/9".into()),
            ("file \"../../etc/passwd\"", |m| {
                m.mirrors.get_mut("el9").unwrap().snapshots[0].files[0].path =
                    "../../etc/passwd".into();
            }),
            ("snapshot \"now\"", |m| {
                m.mirrors.get_mut("el9").unwrap().snapshots[0].name = "now".into();
            }),
            ("bad sha256", |m| {
                m.mirrors.get_mut("el9").unwrap().snapshots[0].files[0].sha256 = "x".into();
            }),
            ("its object has 10", |m| {
                m.mirrors.get_mut("el9").unwrap().snapshots[0].files[0].size = 11;
            }),
            ("mirror \"../x\"", |m| {
                let p = m.mirrors.remove("el9").unwrap();
                m.mirrors.insert("../x".into(), p);
            }),
            ("no repodata/repomd.xml", |m| {
                m.mirrors.get_mut("el9").unwrap().snapshots[0].files.pop();
            }),
            ("not an armored OpenPGP public key", |m| {
                m.mirrors.get_mut("el9").unwrap().key = Some("<script>".into());
            }),
        ];
        for (needle, flaw) in flaws {
            let mut m = sample();
            flaw(&mut m);
            let e = m.check().unwrap_err();
            assert!(e.contains(needle), "{needle}: {e}");
        }
        assert_eq!(sample().contents().len(), 2);
    }
}
