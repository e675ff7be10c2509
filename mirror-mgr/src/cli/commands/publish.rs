//! `mirror-mgr publish` ([`ops::publish`]) and `index --from-bucket`.

use crate::cli::exit::{Failure, OK};
use crate::cli::output::Output;
use crate::cli::settings::{self, Settings};
use crate::ops;
use crate::publish::{self, Bucket};

/// `mirror-mgr publish NAME... | --all`.
pub fn run(s: &Settings, names: &[String], out: Output) -> Result<u8, Failure> {
    let mirrors = settings::mirrors_or_all(s.root()?, names)?;
    let (target, reports) = ops::publish(&s.ops()?, &mirrors)?;
    if out.json {
        out.json(&serde_json::json!({ "published": reports }));
    } else {
        for r in &reports {
            out.line(super::after::report_line(r, &target));
        }
    }
    Ok(OK)
}

/// `mirror-mgr index --from-bucket`.
pub fn index_from_bucket(s: &Settings, out: Output) -> Result<u8, Failure> {
    let spec = s.config.publish.as_ref().ok_or_else(|| {
        Failure::usage("no publish target: add `publish: s3: {...}` to the config (--config)")
    })?;
    let b = Bucket::open(spec).map_err(|e| Failure::from_error(&e))?;
    let all = ops::on_own_runtime(|| Box::pin(publish::index::rebuild(&b)))?
        .map_err(|e| Failure::from_error(&e))?;
    if out.json {
        out.json(&all);
    } else {
        for (channel, map) in &all {
            out.line(format!(
                "{}: all_{channel}.json: {} mirrors",
                b.shown,
                map.len()
            ));
        }
    }
    Ok(OK)
}
