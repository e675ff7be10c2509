//! `mirror-mgr index`: rewrite the root index from every mirror's pointer.

use crate::cli::exit::{FAILED, Failure, OK};
use crate::cli::output::Output;
use crate::cli::settings::Settings;
use crate::index::{self, IndexOutcome};

pub fn run(s: &Settings, out: Output) -> Result<u8, Failure> {
    let root = s.root()?;
    let base = s.base_url("the index holds snapshot URLs")?;
    let o = index::write_index_with(root, base, &|m| s.health_of(m))
        .map_err(|e| Failure::from_error(&e))?;
    report(&o, out);
    if out.json {
        out.json(&serde_json::json!({"index": o.map, "skipped": o.skipped, "errors": o.errors}));
    } else {
        out.line(format!("index: {} mirrors", o.map.len()));
    }
    Ok(code(&o))
}

/// Warnings and errors of an index run, on stderr.
pub fn report(o: &IndexOutcome, out: Output) {
    for w in &o.skipped {
        out.warn(format!("index: {w}"));
    }
    for e in &o.errors {
        out.error(format!("index: {e}"));
    }
}

/// 1 when a mirror's pointer is broken (its old entry was kept), else 0.
pub fn code(o: &IndexOutcome) -> u8 {
    if o.errors.is_empty() { OK } else { FAILED }
}
