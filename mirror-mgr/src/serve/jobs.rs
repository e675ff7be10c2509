//! Syncs started over the API: each runs on its own thread (with its own
//! runtime, like the command line's), one per mirror at a time; a second
//! request for a mirror whose sync is running gets that job back. The
//! mirror's lock still orders it against syncs from the command line.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::thread::JoinHandle;

use crate::config::MirrorSpec;
use crate::report::Status;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Running,
    Succeeded,
    Failed,
}

/// What `GET /api/v1/jobs/{id}` shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Job {
    pub id: u64,
    pub mirror: String,
    /// The upstream asked for (password masked), when one was given.
    pub url: Option<String>,
    pub state: State,
    /// Who started it (the token's name).
    pub by: String,
    pub started: String,
    pub finished: Option<String>,
    /// The sync's report once it ended.
    pub report: Option<serde_json::Value>,
}

#[derive(Default)]
pub struct Jobs {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next: u64,
    jobs: BTreeMap<u64, Job>,
    /// mirror -> its running job.
    running: HashMap<String, u64>,
    threads: Vec<JoinHandle<()>>,
}

/// What a job needs to run.
pub struct Start {
    pub ops: crate::ops::Ops,
    pub settings: crate::ops::SyncSettings,
    pub spec: MirrorSpec,
    pub url: Option<String>,
    pub by: String,
    /// Publish to the config's bucket afterwards.
    pub publish: bool,
}

impl Jobs {
    pub fn get(&self, id: u64) -> Option<Job> {
        self.lock().jobs.get(&id).cloned()
    }

    /// Syncs still running.
    pub fn running(&self) -> usize {
        self.lock().running.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Start a sync, or return the one running for that mirror (`false`:
    /// nothing new was started).
    pub fn start(self: &std::sync::Arc<Self>, start: Start) -> (Job, bool) {
        let mut inner = self.lock();
        let mirror = start.spec.name.to_string();
        if let Some(id) = inner.running.get(&mirror) {
            return (inner.jobs[id].clone(), false);
        }
        // Unique across restarts: ids start from the server's start time
        // (in microseconds, below 2^53 for JSON readers until 2255).
        if inner.next == 0 {
            inner.next = u64::try_from(jiff::Timestamp::now().as_microsecond()).unwrap_or(1);
        }
        inner.next += 1;
        let id = inner.next;
        let job = Job {
            id,
            mirror: mirror.clone(),
            url: start.url.as_deref().map(mirror_http::redact),
            state: State::Running,
            by: start.by.clone(),
            started: jiff::Timestamp::now().to_string(),
            finished: None,
            report: None,
        };
        inner.jobs.insert(id, job.clone());
        inner.running.insert(mirror.clone(), id);
        // Keep the last 1,000 finished jobs.
        while inner.jobs.len() > 1000 {
            let Some(oldest) = inner
                .jobs
                .iter()
                .find(|(_, j)| j.state != State::Running)
                .map(|(k, _)| *k)
            else {
                break;
            };
            inner.jobs.remove(&oldest);
        }
        let me = std::sync::Arc::clone(self);
        let handle = std::thread::spawn(move || {
            let (state, report) = run(&start);
            let mut inner = me.lock();
            inner.running.remove(&mirror);
            if let Some(j) = inner.jobs.get_mut(&id) {
                j.state = state;
                j.report = Some(report);
                j.finished = Some(jiff::Timestamp::now().to_string());
            }
        });
        inner.threads.retain(|t| !t.is_finished());
        inner.threads.push(handle);
        (job, true)
    }

    /// Block until every job thread has ended.
    pub fn wait_all(&self) {
        let threads = std::mem::take(&mut self.lock().threads);
        for t in threads {
            let _ = t.join();
        }
    }
}

/// One sync through [`crate::ops::sync`]: the index, the status pages
/// and (when asked) the bucket follow, as for `mirror-mgr sync`.
fn run(start: &Start) -> (State, serde_json::Value) {
    let done = crate::ops::sync(
        &start.ops,
        &start.settings,
        &crate::ops::SyncRequest {
            specs: std::slice::from_ref(&start.spec),
            index: true,
            publish: start.publish,
        },
        &crate::report::Silent,
    );
    let done = match done {
        Ok(d) => d,
        Err(e) => {
            return (
                State::Failed,
                serde_json::json!({"error": e.message, "kind": e.kind}),
            );
        }
    };
    let Some(report) = done.reports.first() else {
        return (
            State::Failed,
            serde_json::json!({"error": "nothing synced"}),
        );
    };
    let state = if report.status == Status::Failed || done.after.failure().is_some() {
        State::Failed
    } else {
        State::Succeeded
    };
    let mut v = serde_json::to_value(report).unwrap_or_default();
    let after = serde_json::to_value(&done.after).unwrap_or_default();
    if let (Some(v), Some(after)) = (v.as_object_mut(), after.as_object()) {
        v.extend(after.clone());
    }
    (state, v)
}
