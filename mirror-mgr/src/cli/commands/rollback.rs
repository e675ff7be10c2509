//! `mirror-mgr rollback NAME [--to SNAPSHOT]`: move latest.txt ([`ops::rollback`]).

use crate::cli::exit::Failure;
use crate::cli::output::Output;
use crate::cli::settings::{self, Settings};
use crate::ops;

pub fn run(s: &Settings, name: &str, to: Option<&str>, out: Output) -> Result<u8, Failure> {
    let name = settings::mirror_name(name)?;
    let done = ops::rollback(&s.ops()?, &name, to)?;
    if out.json {
        out.json(&done);
    } else {
        out.line(format!(
            "{name}: latest.txt now names {} (was {})",
            done.value.latest,
            done.value.previous.as_deref().unwrap_or("nothing")
        ));
    }
    Ok(super::after::render(&done.after, out))
}
