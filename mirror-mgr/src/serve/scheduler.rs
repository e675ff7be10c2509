//! The scheduler: `serve` syncs each mirror with a `schedule:` on its own,
//! through the same job and operation as `POST mirrors/{name}/sync` (so
//! the index, status pages and bucket follow as for a command-line sync).
//!
//! A run never overlaps another sync of the same mirror: one started over
//! the API or by the scheduler is found running and the run is skipped
//! (and recorded); one from the command line holds the mirror's lock, which
//! the job waits for. Builds are bounded by `serve --jobs`, shared with the
//! API's syncs. Plans are written to `<root>/.schedule.json` for `status`.
//! On shutdown no new run starts; running ones finish.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::schedule::{Planned, Schedule};
use crate::serve::state::AppState;

/// How often the scheduler looks for due runs.
const TICK: Duration = Duration::from_millis(250);

/// Who starts scheduled jobs, as jobs and attempts show it.
pub const BY: &str = "scheduler";

/// The scheduler's thread and its stop flag.
pub struct Scheduler {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Scheduler {
    /// Start scheduling every mirror of the config that has a `schedule:`
    /// (none: no thread).
    pub fn start(st: &Arc<AppState>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let any = st.config.mirrors.iter().any(|m| m.schedule.is_some());
        let thread = any.then(|| {
            let (st, stop) = (Arc::clone(st), Arc::clone(&stop));
            std::thread::spawn(move || run(&st, &stop))
        });
        Self { stop, thread }
    }

    /// Start nothing more; return once the loop has ended (running jobs
    /// go on: `Jobs::wait_all` waits for them).
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Test hook: divide every interval and jitter by this (a 1-minute
/// schedule runs every 2 s with 30).
fn scale() -> i64 {
    std::env::var(crate::env_vars::SCHEDULE_SCALE)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

fn rfc3339(secs: i64) -> String {
    jiff::Timestamp::from_second(secs).map_or_else(|_| secs.to_string(), |t| t.to_string())
}

/// One mirror's schedule and when it is next due.
struct Due {
    schedule: Schedule,
    next: i64,
    planned: Planned,
}

fn run(st: &Arc<AppState>, stop: &AtomicBool) {
    let scale = scale();
    let now = jiff::Timestamp::now().as_second();
    let previous = crate::schedule::read_plan(&st.s.root);
    let mut due: BTreeMap<String, Due> = st
        .config
        .mirrors
        .iter()
        .filter_map(|m| {
            let schedule = m.schedule.clone()?;
            let name = m.name.to_string();
            let mut planned = previous.get(&name).cloned().unwrap_or_default();
            schedule.as_str().clone_into(&mut planned.schedule);
            // After a restart the interval counts from the last start.
            let last = planned
                .last_start
                .as_deref()
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .map(jiff::Timestamp::as_second);
            let next = schedule.next_run(last, now, rand::random::<u32>() % 1000, scale);
            planned.next_run = rfc3339(next);
            Some((
                name,
                Due {
                    schedule,
                    next,
                    planned,
                },
            ))
        })
        .collect();
    let mut written = None;
    while !stop.load(Ordering::SeqCst) {
        let now = jiff::Timestamp::now().as_second();
        for (name, d) in &mut due {
            if now < d.next {
                continue;
            }
            let Some(spec) = st.config.mirror(name).cloned() else {
                continue;
            };
            let ops = crate::ops::Ops {
                wait: true,
                ..st.ops()
            };
            let (_, started) = st.jobs.start(super::jobs::Start {
                ops,
                settings: st.s.sync.clone(),
                spec,
                url: None,
                by: BY.to_owned(),
                publish: st.config.publish.is_some(),
            });
            if started {
                d.planned.runs += 1;
                d.planned.last_start = Some(rfc3339(now));
            } else {
                d.planned.skipped += 1;
                d.planned.last_skipped =
                    Some(format!("{}: the previous sync still runs", rfc3339(now)));
                tracing::warn!("{name}: scheduled sync skipped: the previous one still runs");
            }
            d.next = d
                .schedule
                .next_run(Some(now), now, rand::random::<u32>() % 1000, scale)
                .max(now + 1);
            d.planned.next_run = rfc3339(d.next);
        }
        let plan: BTreeMap<String, Planned> = due
            .iter()
            .map(|(n, d)| (n.clone(), d.planned.clone()))
            .collect();
        if written.as_ref() != Some(&plan) {
            if let Err(e) = crate::schedule::write_plan(&st.s.root, &plan) {
                tracing::warn!("schedule: {}", mirror_index::error_chain(&e));
            }
            written = Some(plan);
        }
        std::thread::sleep(TICK);
    }
}
