//! `mirror-mgr index`: rewrite the root index from every mirror's pointer
//! ([`ops::index`]).

use crate::cli::exit::{FAILED, Failure, OK};
use crate::cli::output::Output;
use crate::cli::settings::Settings;
use crate::ops;

pub fn run(s: &Settings, out: Output) -> Result<u8, Failure> {
    let o = ops::index(&s.ops()?)?;
    for w in &o.skipped {
        out.warn(format!("index: {w}"));
    }
    for e in &o.errors {
        out.error(format!("index: {e}"));
    }
    if out.json {
        out.json(&serde_json::json!({"index": o.map, "skipped": o.skipped, "errors": o.errors}));
    } else {
        out.line(format!("index: {} mirrors", o.map.len()));
    }
    Ok(if o.errors.is_empty() { OK } else { FAILED })
}
