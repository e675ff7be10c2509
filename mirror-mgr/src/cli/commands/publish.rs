//! `mirror-mgr publish`, `index --from-bucket`, and the publish step of
//! `sync --publish`, `gc` and `rollback` when the config has a `publish:`
//! target.

use mirror_index::MirrorName;

use crate::cli::exit::{FAILED, Failure, OK};
use crate::cli::output::Output;
use crate::cli::settings::{self, Settings};
use crate::publish::{self, Bucket, PublishReport};

fn bucket(s: &Settings) -> Result<Bucket, Failure> {
    let spec = s.config.publish.as_ref().ok_or_else(|| {
        Failure::usage("no publish target: add `publish: s3: {...}` to the config (--config)")
    })?;
    Bucket::open(spec).map_err(|e| Failure::usage(mirror_index::error_chain(&e)))
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::from_error(&e))
}

/// Publish `mirrors`; print a line (or JSON) per mirror.
pub fn publish_mirrors(
    s: &Settings,
    mirrors: &[MirrorName],
    out: Output,
) -> Result<Vec<PublishReport>, Failure> {
    let root = s.root()?;
    let b = bucket(s)?;
    let reports = runtime()?
        .block_on(publish::publish(&b, root, mirrors))
        .map_err(|e| {
            Failure::failed(format!(
                "publish to {}: {}",
                b.shown,
                mirror_index::error_chain(&e)
            ))
        })?;
    if !out.json {
        for r in &reports {
            out.line(report_line(r, &b.shown));
        }
    }
    Ok(reports)
}

/// One mirror's publish, for humans.
fn report_line(r: &PublishReport, shown: &str) -> String {
    format!(
        "{}: published to {shown}: {} new snapshots, {} files uploaded ({}), {} copied in the bucket, {} already there{}{}",
        r.mirror,
        r.snapshots_uploaded.len(),
        r.files_uploaded,
        crate::report::human_bytes(r.bytes_uploaded),
        r.files_copied,
        r.files_present,
        if r.pointers_updated.is_empty() {
            String::new()
        } else {
            format!(", moved {}", r.pointers_updated.join(", "))
        },
        if r.snapshots_deleted.is_empty() {
            String::new()
        } else {
            format!(", removed {}", r.snapshots_deleted.join(", "))
        },
    )
}

/// `mirror-mgr publish NAME... | --all`.
pub fn run(s: &Settings, names: &[String], out: Output) -> Result<u8, Failure> {
    let root = s.root()?;
    let mirrors = settings::mirrors_or_all(root, names)?;
    let reports = publish_mirrors(s, &mirrors, out)?;
    if out.json {
        out.json(&serde_json::json!({ "published": reports }));
    }
    Ok(OK)
}

/// After gc or rollback: when the config has a publish target, make the
/// bucket follow (pointers, index, removed snapshots). Returns the exit
/// code to combine.
pub fn follow(s: &Settings, mirrors: &[MirrorName], out: Output) -> u8 {
    let Ok(root) = s.root() else {
        return OK;
    };
    let followed = crate::ops::follow_bucket_blocking(&s.config, root, mirrors)
        .map_err(|e| mirror_index::error_chain(&e));
    match followed {
        Ok(Some((shown, reports))) => {
            if !out.json {
                for r in &reports {
                    out.line(report_line(r, &shown));
                }
            }
            OK
        }
        Ok(None) => OK,
        Err(message) => {
            out.error(format!("publish: {message}"));
            FAILED
        }
    }
}

/// `mirror-mgr index --from-bucket`.
pub fn index_from_bucket(s: &Settings, out: Output) -> Result<u8, Failure> {
    let b = bucket(s)?;
    let all = runtime()?
        .block_on(publish::index::rebuild(&b))
        .map_err(|e| Failure::failed(mirror_index::error_chain(&e)))?;
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
