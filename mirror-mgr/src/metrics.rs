//! The Prometheus text exposition of the mirrors' state (`mirror-mgr
//! metrics`, and `serve`'s `/metrics` before its own families).

use std::fmt::Write as _;

use crate::history::MirrorStatus;

/// A Prometheus label value: `\`, `"` and newlines escaped.
pub fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn unix(rfc3339: &str) -> Option<i64> {
    rfc3339
        .parse::<jiff::Timestamp>()
        .ok()
        .map(jiff::Timestamp::as_second)
}

/// The Prometheus text exposition of `all`.
pub fn render(all: &[MirrorStatus]) -> String {
    let mut t = String::new();
    let mut family = |name: &str, help: &str, typ: &str, rows: Vec<(String, String)>| {
        let _ = writeln!(
            t,
            "# HELP mirror_mgr_{name} {help}\n# TYPE mirror_mgr_{name} {typ}"
        );
        for (labels, value) in rows {
            let _ = writeln!(t, "mirror_mgr_{name}{{{labels}}} {value}");
        }
    };
    let m = |s: &MirrorStatus| format!("mirror=\"{}\"", label(&s.mirror));
    family(
        "last_attempt_timestamp_seconds",
        "Unix time of the last sync attempt.",
        "gauge",
        all.iter()
            .filter_map(|s| Some((m(s), unix(&s.last_attempt.as_ref()?.time)?.to_string())))
            .collect(),
    );
    family(
        "last_success_timestamp_seconds",
        "Unix time of the last sync that did not fail.",
        "gauge",
        all.iter()
            .filter_map(|s| Some((m(s), unix(s.last_success.as_deref()?)?.to_string())))
            .collect(),
    );
    family(
        "last_sync_duration_seconds",
        "Duration of the last sync attempt.",
        "gauge",
        all.iter()
            .filter_map(|s| Some((m(s), s.last_attempt.as_ref()?.seconds.to_string())))
            .collect(),
    );
    family(
        "last_status",
        "1 for the status of the last sync attempt.",
        "gauge",
        all.iter()
            .filter_map(|s| {
                let a = s.last_attempt.as_ref()?;
                Some((
                    format!("{},status=\"{}\"", m(s), label(&a.status)),
                    "1".into(),
                ))
            })
            .collect(),
    );
    family(
        "health",
        "1 for the mirror's health: ok, stale or failing.",
        "gauge",
        all.iter()
            .map(|s| {
                (
                    format!(
                        "{},health=\"{}\"",
                        m(s),
                        format!("{:?}", s.health).to_lowercase()
                    ),
                    "1".into(),
                )
            })
            .collect(),
    );
    family(
        "snapshots",
        "Snapshots kept.",
        "gauge",
        all.iter()
            .map(|s| (m(s), s.snapshots.to_string()))
            .collect(),
    );
    family(
        "disk_bytes",
        "Bytes on disk, each hard-linked file counted once.",
        "gauge",
        all.iter()
            .map(|s| (m(s), s.disk_bytes.to_string()))
            .collect(),
    );
    family(
        "latest_packages",
        "Packages in the latest snapshot.",
        "gauge",
        all.iter()
            .filter_map(|s| Some((m(s), s.latest_packages?.to_string())))
            .collect(),
    );
    family(
        "channel_security_advisories_behind",
        "Security advisories applicable in latest and not in the channel's snapshot, by severity.",
        "gauge",
        all.iter()
            .flat_map(|s| {
                s.exposure.iter().flat_map(move |e| {
                    let mut sev: Vec<(&str, usize)> = crate::advisories::query::SEVERITIES
                        .iter()
                        .map(|k| (*k, e.exposure.by_severity.get(*k).copied().unwrap_or(0)))
                        .collect();
                    for (k, n) in &e.exposure.by_severity {
                        if !crate::advisories::query::SEVERITIES.contains(&k.as_str()) {
                            sev.push((k.as_str(), *n));
                        }
                    }
                    sev.into_iter().map(move |(k, n)| {
                        (
                            format!(
                                "{},channel=\"{}\",severity=\"{}\"",
                                m(s),
                                label(&e.channel),
                                label(k)
                            ),
                            n.to_string(),
                        )
                    })
                })
            })
            .collect(),
    );
    family(
        "channel_oldest_security_advisory_behind_age_seconds",
        "Age of the oldest security advisory applicable in latest and not in the channel (0: none).",
        "gauge",
        all.iter()
            .flat_map(|s| {
                let now = jiff::Timestamp::now().as_second();
                s.exposure.iter().map(move |e| {
                    (
                        format!("{},channel=\"{}\"", m(s), label(&e.channel)),
                        e.exposure
                            .oldest_issued
                            .map_or(0, |t| (now - t).max(0))
                            .to_string(),
                    )
                })
            })
            .collect(),
    );
    family(
        "schedule_next_run_timestamp_seconds",
        "Unix time of the next scheduled sync (serve's scheduler).",
        "gauge",
        all.iter()
            .filter_map(|s| Some((m(s), unix(&s.schedule.as_ref()?.next_run)?.to_string())))
            .collect(),
    );
    family(
        "schedule_runs_total",
        "Scheduled syncs started.",
        "counter",
        all.iter()
            .filter_map(|s| Some((m(s), s.schedule.as_ref()?.runs.to_string())))
            .collect(),
    );
    family(
        "schedule_skipped_total",
        "Scheduled syncs skipped because the previous one still ran.",
        "counter",
        all.iter()
            .filter_map(|s| Some((m(s), s.schedule.as_ref()?.skipped.to_string())))
            .collect(),
    );
    t
}

/// The webhooks' families: per hook (URL, password masked), deliveries
/// made, attempts failed, deliveries dropped, deliveries queued.
pub fn render_webhooks(root: &std::path::Path) -> String {
    let states = crate::webhooks::queue::state(root);
    let mut t = String::new();
    for (name, help, typ, get) in [
        (
            "webhook_deliveries_total",
            "Webhook deliveries a receiver accepted (2xx).",
            "counter",
            (|s: &crate::webhooks::queue::HookState| s.delivered) as fn(&_) -> u64,
        ),
        (
            "webhook_failed_attempts_total",
            "Webhook delivery attempts that failed (retried later).",
            "counter",
            |s| s.failed_attempts,
        ),
        (
            "webhook_expired_total",
            "Webhook deliveries dropped after webhook_retry_for.",
            "counter",
            |s| s.expired,
        ),
        (
            "webhook_queued",
            "Webhook deliveries waiting.",
            "gauge",
            |s| s.queued,
        ),
    ] {
        let _ = writeln!(
            t,
            "# HELP mirror_mgr_{name} {help}\n# TYPE mirror_mgr_{name} {typ}"
        );
        for (hook, s) in &states {
            let _ = writeln!(
                t,
                "mirror_mgr_{name}{{hook=\"{}\"}} {}",
                label(hook),
                get(s)
            );
        }
    }
    t
}
