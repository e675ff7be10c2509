//! `mirror-mgr pin|unpin NAME SNAPSHOT`: the list gc never touches ([`ops::pin`]).

use crate::cli::exit::Failure;
use crate::cli::output::Output;
use crate::cli::settings::{self, Settings};
use crate::ops;

pub fn run(
    s: &Settings,
    name: &str,
    snapshot: &str,
    pin: bool,
    out: Output,
) -> Result<u8, Failure> {
    let mirror = settings::mirror_name(name)?;
    let done = ops::pin(&s.ops()?, &mirror, snapshot, pin)?;
    if out.json {
        out.json(&done);
    } else {
        let names = &done.value.pinned;
        out.line(format!(
            "{mirror}: pinned: {}",
            if names.is_empty() {
                "nothing".into()
            } else {
                names.join(", ")
            }
        ));
    }
    Ok(super::after::render(&done.after, out))
}
