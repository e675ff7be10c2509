//! `mirror-mgr pin|unpin NAME SNAPSHOT`: the list gc never touches.

use crate::cli::exit::{Failure, OK};
use crate::cli::output::Output;
use crate::cli::settings::{self, Settings};
use crate::lifecycle;

pub fn run(
    s: &Settings,
    name: &str,
    snapshot: &str,
    pin: bool,
    out: Output,
) -> Result<u8, Failure> {
    let root = s.root()?;
    let mirror = settings::mirror_name(name)?;
    let list = lifecycle::set_pin(root, &mirror, snapshot, pin, s.wait)
        .map_err(|e| Failure::from_error(&e))?;
    let names: Vec<String> = list.iter().map(ToString::to_string).collect();
    if out.json {
        out.json(&serde_json::json!({"mirror": mirror.as_str(), "pinned": names}));
    } else {
        out.line(format!(
            "{mirror}: pinned: {}",
            if names.is_empty() {
                "nothing".into()
            } else {
                names.join(", ")
            }
        ));
    }
    Ok(OK)
}
