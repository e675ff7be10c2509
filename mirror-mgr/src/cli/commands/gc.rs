//! `mirror-mgr gc`: delete snapshots outside a retention policy ([`ops::gc`]).

use crate::cli::args::GcArgs;
use crate::cli::exit::{Failure, OK};
use crate::cli::output::Output;
use crate::cli::settings::{self, Settings};
use crate::lifecycle;
use crate::ops;
use crate::report::human_bytes;

pub fn run(s: &Settings, args: &GcArgs, out: Output) -> Result<u8, Failure> {
    let root = s.root()?;
    let policy = lifecycle::Retention {
        keep_last: args.keep_last,
        keep_within: args
            .keep_within
            .as_deref()
            .map(lifecycle::parse_duration)
            .transpose()
            .map_err(Failure::usage)?,
    };
    let mirrors = settings::mirrors_or_all(root, &args.names)?;
    let done = ops::gc(
        &s.ops()?,
        &mirrors,
        &policy,
        args.dry_run,
        jiff::Timestamp::now(),
    )?;
    let mut code = OK;
    let mut reports = Vec::new();
    for (m, r) in &done.value.mirrors {
        match r {
            Ok(r) => {
                if !out.json {
                    out.line(line(m.as_str(), r));
                }
                reports.push(serde_json::to_value(r).expect("serialisable"));
            }
            Err(e) => {
                out.error(&e.message);
                code = code.max(e.kind.exit_code());
                reports.push(
                    serde_json::json!({"mirror": m.as_str(), "error": e.message, "kind": e.kind}),
                );
            }
        }
    }
    if out.json {
        out.json(&reports);
    }
    Ok(code.max(super::after::render(&done.after, out)))
}

fn line(m: &str, r: &lifecycle::GcReport) -> String {
    let verb = if r.dry_run { "would remove" } else { "removed" };
    let by_channel: Vec<String> = r
        .channels
        .iter()
        .map(|(snap, chs)| format!("{snap} for channel {}", chs.join(", ")))
        .collect();
    format!(
        "{m}: {verb} {} snapshots ({}), {} freed; kept {}{}",
        r.removed.len(),
        if r.removed.is_empty() {
            "none".into()
        } else {
            r.removed.join(", ")
        },
        human_bytes(r.bytes_freed),
        r.kept.len(),
        if by_channel.is_empty() {
            String::new()
        } else {
            format!(" ({})", by_channel.join("; "))
        }
    )
}
