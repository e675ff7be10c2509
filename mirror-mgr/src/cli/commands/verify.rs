//! `mirror-mgr verify [NAME...] [--quick]`: every snapshot, base/ and the
//! pointer of each mirror, checked against their own metadata.

use std::path::PathBuf;

use crate::cli::exit::{FAILED, Failure, OK};
use crate::cli::output::Output;
use crate::cli::settings::{self, Settings};
use crate::lifecycle::{self, LifecycleError};
use crate::store::Store;

pub fn run(
    s: &Settings,
    names: &[String],
    quick: bool,
    signatures: bool,
    out: Output,
) -> Result<u8, Failure> {
    let root = s.root()?;
    let mut all = Vec::new();
    for m in settings::mirrors_or_all(root, names)? {
        let store = Store::new(root, m.clone());
        if !store.dir.is_dir() {
            return Err(Failure::from_error(&LifecycleError::NoMirror {
                mirror: m,
                root: root.to_path_buf(),
            }));
        }
        let mut targets: Vec<(String, PathBuf, bool)> = store
            .snapshots()
            .map_err(|e| Failure::from_error(&e))?
            .into_iter()
            .map(|sn| {
                let regenerated = store.regenerated(&sn);
                (sn.to_string(), store.snapshot_dir(&sn), regenerated)
            })
            .collect();
        if store.base().join("repodata/repomd.xml").exists() {
            let regenerated = store
                .latest()
                .ok()
                .flatten()
                .is_some_and(|l| store.regenerated(&l));
            targets.push((
                mirror_index::layout::BASE_DIR.into(),
                store.base(),
                regenerated,
            ));
        }
        // A channel pointer naming a snapshot that is not there.
        for (ch, snap) in
            crate::channels::pointers_of(&store.dir).map_err(|e| Failure::from_error(&e))?
        {
            if !store.dir.join(&snap).is_dir() {
                all.push(serde_json::json!({
                    "mirror": m.as_str(),
                    "target": format!("{ch}.txt"),
                    "problems": [format!("channel {ch} names {snap}, which does not exist (repair it with `mirror-mgr promote {m} SNAPSHOT --channel {ch}`)")],
                }));
            }
        }
        let pointer = store
            .latest_problem()
            .map_err(|e| Failure::from_error(&e))?;
        if let Some(p) = pointer {
            all.push(
                serde_json::json!({"mirror": m.as_str(), "target": "latest.txt", "problems": [p]}),
            );
        } else if targets.is_empty() {
            let why = crate::history::last_error(&store).map_or_else(
                || "no snapshot yet: no sync of this mirror has succeeded".to_owned(),
                |e| format!("no snapshot yet: its last sync failed at {e}"),
            );
            all.push(serde_json::json!({"mirror": m.as_str(), "target": "latest.txt", "problems": [why]}));
        }
        let keyring = if signatures {
            keyring_for(s, &m)?
        } else {
            None
        };
        // Regenerated metadata is signed by the mirror's own key, if at all.
        let own_key = if signatures {
            mirror_key(&store)?
        } else {
            None
        };
        let mut seen = std::collections::HashSet::new();
        for (label, dir, regenerated) in targets {
            let mut problems =
                lifecycle::check_snapshot(&dir, !quick).map_err(|e| Failure::from_error(&e))?;
            if regenerated && let Some(ring) = &own_key {
                problems.extend(lifecycle::check_mirror_signature(&dir, ring));
            }
            if let Some((ring, trust)) = &keyring {
                let mut trust = trust.clone();
                trust.repo_gpgcheck &= !regenerated;
                problems.extend(lifecycle::check_signatures(&dir, ring, &trust, &mut seen));
            }
            all.push(
                serde_json::json!({"mirror": m.as_str(), "target": label, "problems": problems}),
            );
        }
    }
    let bad = all
        .iter()
        .filter(|v| v["problems"].as_array().is_some_and(|a| !a.is_empty()))
        .count();
    if out.json {
        out.json(&all);
    } else {
        for v in &all {
            let (mirror, target) = (
                v["mirror"].as_str().unwrap_or(""),
                v["target"].as_str().unwrap_or(""),
            );
            let problems = v["problems"].as_array().cloned().unwrap_or_default();
            if problems.is_empty() {
                out.line(format!("{mirror} {target}: ok"));
            }
            for p in problems {
                out.data(format!("{mirror} {target}: {}", p.as_str().unwrap_or("")));
            }
        }
    }
    Ok(if bad > 0 { FAILED } else { OK })
}

/// The mirror's own public key(s), `<mirror>/RPM-GPG-KEY-mirror`, when it has any.
fn mirror_key(store: &crate::store::Store) -> Result<Option<crate::trust::Keyring>, Failure> {
    let path = store.dir.join(crate::filter::sign::PUBLIC_KEY_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    crate::trust::Keyring::load(&[(path.display().to_string(), text)], &[])
        .map(Some)
        .map_err(|e| Failure::from_error(&e))
}

/// The mirror's pinned keys from the config, for `--signatures`.
fn keyring_for(
    s: &Settings,
    m: &mirror_index::MirrorName,
) -> Result<Option<(crate::trust::Keyring, crate::config::TrustSpec)>, Failure> {
    let Some(spec) = s.config.mirror(m.as_str()) else {
        return Err(Failure::usage(format!(
            "verify --signatures: mirror {m} is not defined in the config (pass --config): its keys are unknown"
        )));
    };
    if !spec.trust.enabled() {
        return Ok(None);
    }
    let access = spec
        .access
        .resolve(jiff::Timestamp::now().as_second())
        .map_err(|e| Failure::from_error(&e))?;
    let fetcher =
        crate::fetch::Fetcher::new(crate::fetch::FetchOptions::default(), &access, Vec::new())
            .map_err(|e| Failure::from_error(&e))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::from_error(&e))?;
    let ring = runtime
        .block_on(crate::trust::load_keyring(&fetcher, &spec.trust))
        .map_err(|e| Failure::from_error(&e))?;
    Ok(Some((ring, spec.trust.clone())))
}
