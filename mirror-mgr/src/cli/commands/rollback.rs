//! `mirror-mgr rollback NAME [--to SNAPSHOT]`: move latest.txt, re-index.

use crate::cli::exit::Failure;
use crate::cli::output::Output;
use crate::cli::settings::{self, Settings};
use crate::{index, lifecycle};

pub fn run(s: &Settings, name: &str, to: Option<&str>, out: Output) -> Result<u8, Failure> {
    let root = s.root()?;
    let base = s.base_url("rollback re-writes the index; it holds snapshot URLs")?;
    let name = settings::mirror_name(name)?;
    let (from, to) =
        lifecycle::rollback(root, &name, to, s.wait).map_err(|e| Failure::from_error(&e))?;
    let o = index::write_index_with(root, base, &|m| s.health_of(m))
        .map_err(|e| Failure::from_error(&e))?;
    let from = from.as_ref().map(ToString::to_string);
    if out.json {
        out.json(&serde_json::json!({"mirror": name.as_str(), "previous": from, "latest": to.as_str(), "index": o.map}));
    } else {
        out.line(format!(
            "{name}: latest.txt now names {to} (was {})",
            from.as_deref().unwrap_or("nothing")
        ));
    }
    super::index::report(&o, out);
    let published = super::publish::follow(s, std::slice::from_ref(&name), out);
    Ok(super::index::code(&o).max(published))
}
