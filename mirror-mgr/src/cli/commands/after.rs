//! What every verb's consequences look like on the command line: the
//! index's warnings and errors, the bucket's lines, and the exit code
//! they add ([`crate::ops::After`]).

use crate::cli::exit::OK;
use crate::cli::output::Output;
use crate::ops::After;
use crate::publish::PublishReport;

/// Print what followed a verb; the exit code it adds.
pub fn render(after: &After, out: Output) -> u8 {
    for w in &after.warnings {
        out.warn(w);
    }
    if let Some(i) = &after.index {
        for w in &i.skipped {
            out.warn(format!("index: {w}"));
        }
        for e in &i.errors {
            out.error(format!("index: {e}"));
        }
    }
    if let Some(e) = &after.index_error {
        out.error(format!("writing the index: {e}"));
    }
    if !out.json
        && let (Some(target), Some(reports)) = (&after.target, &after.published)
    {
        for r in reports {
            out.line(report_line(r, target));
        }
    }
    if let Some(e) = &after.publish_error {
        out.error(e);
    }
    after.failure().map_or(OK, crate::ops::Kind::exit_code)
}

/// One mirror's publish, for humans.
pub fn report_line(r: &PublishReport, shown: &str) -> String {
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
