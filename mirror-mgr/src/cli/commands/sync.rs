//! `mirror-mgr sync`: sync mirrors (`--jobs` at a time), then write the
//! index, then report and pick the exit code.

use std::io::IsTerminal;
use std::time::Duration;

use crate::cli::args::SyncArgs;
use crate::cli::exit::{self, Failure};
use crate::cli::output::Output;
use crate::cli::progress::BarReporter;
use crate::cli::settings::{self, Settings};
use crate::env_vars;
use crate::fetch::FetchOptions;
use crate::index;
use crate::report::{Status, SyncReport};
use crate::sync::{self, SyncContext};

pub fn run(s: &Settings, args: &SyncArgs, out: Output) -> Result<u8, Failure> {
    let root = s.root()?.to_path_buf();
    let base_url = if args.no_index {
        None
    } else {
        Some(
            s.base_url("sync writes the index at the end; pass --no-index to skip it")?
                .to_owned(),
        )
    };
    let specs = settings::sync_specs(s, args)?;
    std::fs::create_dir_all(&root).map_err(|e| {
        Failure::usage(format!(
            "cannot create the mirror root {}: {e}",
            root.display()
        ))
    })?;
    let defaults = mirror_http::limit::Limits::default();
    let limits = mirror_http::limit::Limits {
        http1: args
            .concurrency
            .or(s.config.concurrency)
            .unwrap_or(defaults.http1)
            .max(1),
        http2: args
            .http2_streams
            .or(s.config.http2_streams)
            .unwrap_or(defaults.http2)
            .max(1),
    };
    let backoff = std::env::var(env_vars::RETRY_BACKOFF_MS)
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_millis(500), Duration::from_millis);
    let ctx = SyncContext {
        root: root.clone(),
        fetch: FetchOptions {
            retries: args.retries,
            backoff,
            read_timeout: Duration::from_secs(args.timeout.max(1)),
            shared: std::sync::Arc::new(crate::fetch::Shared::new(limits)),
            ..FetchOptions::default()
        },
        builds: Some(std::sync::Arc::new(tokio::sync::Semaphore::new(
            args.jobs.max(1),
        ))),
        wait_for_lock: s.wait,
    };
    let show_bars = !out.quiet && !out.json && std::io::stderr().is_terminal();
    let reporter = BarReporter::new(show_bars);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::from_error(&e))?;
    let results: Vec<(SyncReport, bool)> = runtime.block_on(async {
        use futures_util::StreamExt;
        futures_util::stream::iter(specs.iter().map(|spec| {
            let (ctx, reporter) = (&ctx, &reporter);
            async move {
                match sync::sync_mirror(ctx, spec, reporter).await {
                    Ok(r) => (r, false),
                    Err(e) => (sync::failed_report(spec, &e), e.is_locked()),
                }
            }
        }))
        // Every mirror checks upstream at once (up to CHECKS_AT_ONCE); only
        // `--jobs` of them build at a time (SyncContext::builds).
        .buffered(args.jobs.max(sync::CHECKS_AT_ONCE))
        .collect()
        .await
    });
    reporter.clear();

    let (index_out, index_err) = match &base_url {
        Some(b) => match index::write_index_with(&root, b, &|m| s.health_of(m)) {
            Ok(o) => (Some(o), None),
            Err(e) => (None, Some(mirror_index::error_chain(&e))),
        },
        None => (None, None),
    };
    let reports: Vec<&SyncReport> = results.iter().map(|(r, _)| r).collect();
    // --publish: the mirrors that synced go to the bucket, after the local index.
    let (published, publish_err) = if args.publish {
        let ok: Vec<mirror_index::MirrorName> = reports
            .iter()
            .filter(|r| r.status != Status::Failed)
            .filter_map(|r| mirror_index::MirrorName::new(&r.mirror).ok())
            .collect();
        match super::publish::publish_mirrors(s, &ok, out) {
            Ok(p) => (Some(p), None),
            Err(f) => (None, Some(f.message)),
        }
    } else {
        (None, None)
    };
    if out.json {
        out.json(&serde_json::json!({
            "mirrors": reports,
            "index": index_out.as_ref().map(|o| serde_json::json!({"mirrors": o.map.len(), "skipped": o.skipped, "errors": o.errors})),
            "index_error": index_err,
            "published": published,
            "publish_error": publish_err,
        }));
    } else {
        for r in &reports {
            if r.status == Status::Failed {
                out.error(r.summary());
            } else {
                out.line(r.summary());
            }
        }
    }
    if let Some(o) = &index_out {
        super::index::report(o, out);
    }
    if let Some(e) = &index_err {
        out.error(format!("writing the index: {e}"));
    }
    if let Some(e) = &publish_err {
        out.error(e);
    }
    let failed = reports.iter().any(|r| r.status == Status::Failed)
        || index_err.is_some()
        || publish_err.is_some()
        || index_out.as_ref().is_some_and(|o| !o.errors.is_empty());
    let only_locked = results.iter().any(|(_, l)| *l)
        && results
            .iter()
            .all(|(r, l)| *l || r.status != Status::Failed);
    Ok(if only_locked {
        exit::LOCKED
    } else if failed {
        exit::FAILED
    } else if args.detailed_exitcode && reports.iter().any(|r| r.status == Status::NewSnapshot) {
        exit::NEW_SNAPSHOT
    } else {
        exit::OK
    })
}
