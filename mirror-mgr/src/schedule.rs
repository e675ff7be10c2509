//! When a scheduled mirror syncs next (pure): `schedule: 1h` (an interval
//! from the last start) or a cron expression (`0 */6 * * *`, `@hourly`;
//! five fields, UTC), plus a random jitter (`schedule_jitter`: `10%` of
//! the interval by default, or a duration) so that many mirrors on one
//! host do not all start at once.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr as _;

/// A mirror's schedule as the config wrote it, parsed.
#[derive(Debug, Clone)]
pub struct Schedule {
    text: String,
    kind: Kind,
    jitter: Jitter,
}

#[derive(Debug, Clone)]
enum Kind {
    Every(i64),
    Cron(Box<croner::Cron>),
}

/// How much later than due a run may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// Per mille of the interval (`10%` is 100).
    PerMille(u32),
    /// At most this many seconds.
    Seconds(i64),
}

impl Default for Jitter {
    fn default() -> Self {
        Jitter::PerMille(100)
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text && self.jitter == other.jitter
    }
}

impl Eq for Schedule {}

/// The shortest interval a schedule may have.
pub const MIN_INTERVAL_SECS: i64 = 60;

impl Schedule {
    /// `schedule` (a duration like `30m`, `1h`, `1d`, or a cron
    /// expression) and `schedule_jitter` (`10%` or a duration).
    pub fn parse(text: &str, jitter: Option<&str>) -> Result<Self, String> {
        let t = text.trim();
        let kind = if t.starts_with('@') || t.split_whitespace().count() == 5 {
            let cron = croner::Cron::from_str(t)
                .map_err(|e| format!("schedule {t:?} is not a cron expression: {e}"))?;
            Kind::Cron(Box::new(cron))
        } else {
            let secs = crate::lifecycle::retention::parse_duration(t)
                .map_err(|e| format!("schedule: {e} (or give a cron expression, `0 * * * *`)"))?;
            if secs < MIN_INTERVAL_SECS {
                return Err(format!(
                    "schedule {t:?} is shorter than {MIN_INTERVAL_SECS} seconds"
                ));
            }
            Kind::Every(secs)
        };
        let jitter = match jitter.map(str::trim) {
            None => Jitter::default(),
            Some(j) => match j.strip_suffix('%') {
                Some(p) => {
                    let p: u32 = p.trim().parse().ok().filter(|p| *p <= 100).ok_or_else(|| {
                        format!("schedule_jitter {j:?}: expected 0% to 100% or a duration")
                    })?;
                    Jitter::PerMille(p * 10)
                }
                None => Jitter::Seconds(
                    crate::lifecycle::retention::parse_duration(j)
                        .map_err(|e| format!("schedule_jitter: {e}"))?,
                ),
            },
        };
        Ok(Self {
            text: t.to_owned(),
            kind,
            jitter,
        })
    }

    /// As written in the config.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// When a run is due after one that started at `last` (or, with no run
    /// yet, at `now`): the next interval or cron time, plus `draw` per
    /// mille (a random number below 1000) of the jitter. `scale` divides
    /// intervals and jitter (tests shorten time with it; 1 otherwise).
    pub fn next_run(&self, last: Option<i64>, now: i64, draw: u32, scale: i64) -> i64 {
        let scale = scale.max(1);
        let (base, interval) = match &self.kind {
            Kind::Every(secs) => {
                let every = (secs / scale).max(1);
                match last {
                    // A run missed while the server was down starts now.
                    Some(l) if l + every > now => (l + every, every),
                    Some(_) | None => (now, every),
                }
            }
            Kind::Cron(cron) => {
                let after = last.map_or(now, |l| l.max(now));
                let next = next_cron(cron, after).unwrap_or(after + 3600);
                let then = next_cron(cron, next).unwrap_or(next + 3600);
                (next, (then - next).max(1))
            }
        };
        let spread = match self.jitter {
            Jitter::PerMille(pm) => interval * i64::from(pm) / 1000,
            Jitter::Seconds(s) => s / scale,
        };
        base + spread * i64::from(draw.min(999)) / 1000
    }
}

/// What `serve`'s scheduler plans and did for one mirror, kept in
/// `<root>/.schedule.json` so that `status` shows it too.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Planned {
    /// The schedule as configured.
    pub schedule: String,
    /// RFC 3339 time of the next run.
    pub next_run: String,
    pub last_start: Option<String>,
    /// Runs started, and runs skipped because the last one still ran.
    pub runs: u64,
    pub skipped: u64,
    /// When and why the last run was skipped.
    pub last_skipped: Option<String>,
}

/// The scheduler's plan of every mirror (empty when no `serve` schedules).
pub fn read_plan(root: &Path) -> BTreeMap<String, Planned> {
    std::fs::read(root.join(mirror_index::layout::SCHEDULE_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Replace the plan (atomically).
pub fn write_plan(
    root: &Path,
    plan: &BTreeMap<String, Planned>,
) -> Result<(), mirror_index::atomic::AtomicWriteError> {
    mirror_index::atomic::write_atomic(
        &root.join(mirror_index::layout::SCHEDULE_FILE),
        (serde_json::to_string_pretty(plan).expect("serialisable") + "\n").as_bytes(),
    )
}

/// The first cron time strictly after `t` (Unix seconds).
fn next_cron(cron: &croner::Cron, t: i64) -> Option<i64> {
    let at = chrono::DateTime::<chrono::Utc>::from_timestamp(t, 0)?;
    cron.find_next_occurrence(&at, false)
        .ok()
        .map(|d| d.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_from_the_last_start_with_jitter() {
        let s = Schedule::parse("1h", None).unwrap();
        // No run yet: now (no jitter drawn), or up to 10% of the hour later.
        assert_eq!(s.next_run(None, 1000, 0, 1), 1000);
        assert_eq!(s.next_run(None, 1000, 500, 1), 1000 + 180);
        // From the last start, not from now.
        assert_eq!(s.next_run(Some(1000), 1500, 0, 1), 4600);
        // Missed while down: due now.
        assert_eq!(s.next_run(Some(1000), 9000, 0, 1), 9000);
        // A scale shortens the interval and the jitter alike.
        assert_eq!(s.next_run(Some(0), 1, 500, 60), 60 + 3);
        let fixed = Schedule::parse("30m", Some("2m")).unwrap();
        assert_eq!(fixed.next_run(Some(0), 1, 500, 1), 1800 + 60);
        let none = Schedule::parse("30m", Some("0%")).unwrap();
        assert_eq!(none.next_run(Some(0), 1, 900, 1), 1800);
    }

    #[test]
    fn cron_expressions_in_utc() {
        let s = Schedule::parse("0 */6 * * *", Some("0%")).unwrap();
        // 2026-01-01T01:00:00Z -> 06:00.
        let t = 1_767_229_200;
        assert_eq!(s.next_run(None, t, 0, 1), t + 5 * 3600);
        assert_eq!(
            s.next_run(Some(t + 5 * 3600), t + 5 * 3600, 0, 1),
            t + 11 * 3600
        );
        let hourly = Schedule::parse("@hourly", None).unwrap();
        // 10% of the hour between two runs.
        assert_eq!(hourly.next_run(None, t, 500, 1), t + 3600 + 180);
    }

    #[test]
    fn refusals_name_the_value() {
        for (s, j, needle) in [
            ("10s", None, "shorter than 60 seconds"),
            ("soon", None, "schedule: bad duration"),
            ("61 * * * *", None, "not a cron expression"),
            ("1h", Some("150%"), "schedule_jitter \"150%\""),
            ("1h", Some("x"), "schedule_jitter: bad duration"),
        ] {
            let e = Schedule::parse(s, j).unwrap_err();
            assert!(e.contains(needle), "{s} {j:?}: {e}");
        }
        assert_eq!(Schedule::parse(" 1h ", None).unwrap().as_str(), "1h");
    }
}
