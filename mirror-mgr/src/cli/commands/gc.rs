//! `mirror-mgr gc`: delete snapshots outside a retention policy.

use crate::cli::args::GcArgs;
use crate::cli::exit::{Failure, OK};
use crate::cli::output::Output;
use crate::cli::settings::{self, Settings};
use crate::lifecycle;
use crate::report::human_bytes;

pub fn run(s: &Settings, args: &GcArgs, out: Output) -> Result<u8, Failure> {
    let root = s.root()?;
    if args.keep_last.is_none() && args.keep_within.is_none() {
        return Err(Failure::usage(
            "gc needs a policy: --keep-last N and/or --keep-within DURATION",
        ));
    }
    let policy = lifecycle::Retention {
        keep_last: args.keep_last,
        keep_within: args
            .keep_within
            .as_deref()
            .map(lifecycle::parse_duration)
            .transpose()
            .map_err(Failure::usage)?,
    };
    let now = jiff::Timestamp::now();
    let mut reports = Vec::new();
    let mut code = OK;
    let mirrors = settings::mirrors_or_all(root, &args.names)?;
    let mut removed_any = false;
    for m in &mirrors {
        match lifecycle::gc(root, m, &policy, args.dry_run, s.wait, now) {
            Ok(r) => {
                removed_any |= !r.removed.is_empty() && !args.dry_run;
                if !out.json {
                    let verb = if args.dry_run {
                        "would remove"
                    } else {
                        "removed"
                    };
                    let by_channel: Vec<String> = r
                        .channels
                        .iter()
                        .map(|(snap, chs)| format!("{snap} for channel {}", chs.join(", ")))
                        .collect();
                    out.line(format!(
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
                    ));
                }
                reports.push(serde_json::to_value(&r).expect("serialisable"));
            }
            Err(e) => {
                let f = Failure::from_error(&e);
                out.error(&f.message);
                code = code.max(f.code);
                reports.push(serde_json::json!({"mirror": m.as_str(), "error": f.message}));
            }
        }
    }
    if out.json {
        out.json(&reports);
    }
    if removed_any {
        // all_snapshots.json and the status pages must not name what is
        // gone (mirror-client --at would hand dnf a 404).
        match s.base_url("gc rewrites the index") {
            Ok(base) => {
                match crate::index::write_index_with(root, base, &|m| s.health_of(m)) {
                    Ok(o) => {
                        super::index::report(&o, out);
                        code = code.max(super::index::code(&o));
                    }
                    Err(e) => {
                        let f = Failure::from_error(&e);
                        out.error(format!("index: {}", f.message));
                        code = code.max(f.code);
                    }
                }
            }
            Err(_) => out.warn(
                "no --base-url: all_snapshots.json and the status pages still name the removed snapshots; run `mirror-mgr index`"
                    .to_owned(),
            ),
        }
    }
    if !args.dry_run {
        // The bucket drops what was removed here.
        code = code.max(super::publish::follow(s, &mirrors, out));
    }
    Ok(code)
}
