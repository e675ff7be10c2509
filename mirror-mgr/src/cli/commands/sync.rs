//! `mirror-mgr sync`: sync mirrors ([`ops::sync`]), then report and pick
//! the exit code.

use std::io::IsTerminal;

use crate::cli::args::SyncArgs;
use crate::cli::exit::{self, Failure};
use crate::cli::output::Output;
use crate::cli::progress::BarReporter;
use crate::cli::settings::{self, Settings};
use crate::ops::{self, SyncRequest, SyncSettings, sync::SyncOverrides};
use crate::report::Status;

pub fn run(s: &Settings, args: &SyncArgs, out: Output) -> Result<u8, Failure> {
    let ops = s.ops()?;
    let specs = settings::sync_specs(s, args)?;
    let settings = SyncSettings::resolve(
        &s.config,
        &SyncOverrides {
            concurrency: args.concurrency,
            http2_streams: args.http2_streams,
            retries: args.retries,
            timeout_secs: args.timeout,
            jobs: Some(args.jobs),
        },
    );
    let show_bars = !out.quiet && !out.json && std::io::stderr().is_terminal();
    let reporter = BarReporter::new(show_bars);
    let done = ops::sync(
        &ops,
        &settings,
        &SyncRequest {
            specs: &specs,
            index: !args.no_index,
            publish: args.publish,
        },
        &reporter,
    );
    reporter.clear();
    let done = done?;
    if out.json {
        out.json(&serde_json::json!({
            "mirrors": done.reports,
            "index": done.after.index,
            "index_error": done.after.index_error,
            "published": done.after.published,
            "publish_error": done.after.publish_error,
        }));
    } else {
        for r in &done.reports {
            if r.status == Status::Failed {
                out.error(r.summary());
            } else {
                out.line(r.summary());
            }
        }
    }
    let after = super::after::render(&done.after, out);
    let failed = done.reports.iter().any(|r| r.status == Status::Failed) || after != exit::OK;
    Ok(if done.only_locked {
        exit::LOCKED
    } else if failed {
        exit::FAILED
    } else if args.detailed_exitcode && done.reports.iter().any(|r| r.status == Status::NewSnapshot)
    {
        exit::NEW_SNAPSHOT
    } else {
        exit::OK
    })
}
