//! `mirror-mgr snapshots NAME`: every snapshot with its creation time,
//! package count and size, and which is latest, pinned or held back.

use crate::cli::exit::{Failure, OK};
use crate::cli::output::Output;
use crate::cli::settings::{self, Settings};
use crate::lifecycle;
use crate::report::human_bytes;

pub fn run(s: &Settings, name: &str, out: Output) -> Result<u8, Failure> {
    let root = s.root()?;
    let name = settings::mirror_name(name)?;
    let rows = lifecycle::snapshots(root, &name).map_err(|e| Failure::from_error(&e))?;
    if out.json {
        out.json(&rows);
        return Ok(OK);
    }
    out.data(format!(
        "{:<22} {:<20} {:>8} {:>12}  notes",
        "snapshot", "created (UTC)", "packages", "size"
    ));
    for r in rows {
        let mut notes = Vec::new();
        if r.latest {
            notes.push("latest");
        }
        if r.pinned {
            notes.push("pinned");
        }
        if r.held_back {
            notes.push("held back by a rollback");
        }
        out.data(format!(
            "{:<22} {:<20} {:>8} {:>12}  {}",
            r.name,
            r.created.as_deref().unwrap_or("-"),
            r.packages,
            human_bytes(r.bytes),
            notes.join(", ")
        ));
    }
    Ok(OK)
}
