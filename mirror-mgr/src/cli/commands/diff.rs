//! `mirror-mgr diff NAME A B`: packages added, removed, upgraded and
//! downgraded between two snapshots (or `latest`, `base`).

use std::path::{Path, PathBuf};

use crate::cli::exit::{Failure, OK};
use crate::cli::output::Output;
use crate::cli::settings::{self, Settings};
use crate::lifecycle::LifecycleError;
use crate::store::Store;

pub fn run(s: &Settings, name: &str, from: &str, to: &str, out: Output) -> Result<u8, Failure> {
    let root = s.root()?;
    let mirror = settings::mirror_name(name)?;
    let store = Store::new(root, mirror.clone());
    let unknown = |which: &str| -> Failure {
        let available = store
            .snapshots()
            .map(|v| v.iter().map(ToString::to_string).collect())
            .unwrap_or_default();
        Failure::from_error(&LifecycleError::NoSuchSnapshot {
            mirror: mirror.clone(),
            name: which.to_owned(),
            available,
        })
    };
    let side = |which: &str| -> Result<PathBuf, Failure> {
        match which {
            b if b == mirror_index::layout::BASE_DIR => Ok(store.base()),
            "latest" => store
                .latest()
                .map_err(|e| Failure::from_error(&e))?
                .map(|l| store.snapshot_dir(&l))
                .ok_or_else(|| {
                    Failure::from_error(&LifecycleError::NoLatest {
                        mirror: mirror.clone(),
                    })
                }),
            snap => {
                let dir = store.dir.join(snap);
                if mirror_index::SnapshotName::parse(snap).is_ok() && dir.is_dir() {
                    Ok(dir)
                } else {
                    Err(unknown(snap))
                }
            }
        }
    };
    let (a, b) = (side(from)?, side(to)?);
    let read = |d: &Path| crate::diff::read_index(d).map_err(|e| Failure::from_error(&e));
    let d = crate::diff::diff(&read(&a)?, &read(&b)?);
    if out.json {
        out.json(&d);
        return Ok(OK);
    }
    // Names come from upstream: no control character reaches the terminal.
    let show = |s: String| mirror_index::stdout::printable(&s).into_owned();
    for p in &d.added {
        out.data(show(format!("+ {p}")));
    }
    for p in &d.removed {
        out.data(show(format!("- {p}")));
    }
    for c in &d.upgraded {
        out.data(show(format!(
            "^ {}.{} {} -> {}",
            c.name, c.arch, c.from, c.to
        )));
    }
    for c in &d.downgraded {
        out.data(show(format!(
            "v {}.{} {} -> {}",
            c.name, c.arch, c.from, c.to
        )));
    }
    if !out.quiet {
        eprintln!(
            "{mirror} {from} -> {to}: {} added, {} removed, {} upgraded, {} downgraded",
            d.added.len(),
            d.removed.len(),
            d.upgraded.len(),
            d.downgraded.len()
        );
    }
    Ok(OK)
}
