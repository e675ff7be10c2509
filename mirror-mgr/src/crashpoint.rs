//! Named moments in a sync at which the crash tests kill this process with
//! SIGKILL, so that crash safety is proven at exact, reproducible points
//! (the tests also kill at random times from outside).
//!
//! Set `MIRROR_MGR_CRASH_AT=<point>` or `<point>@<n>` (the n-th time the point
//! is reached, 1-based). Unset, [`hit`] is one relaxed atomic load.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use crate::env_vars;

static TARGET: OnceLock<Option<(String, u64)>> = OnceLock::new();
static COUNTS: Mutex<Option<HashMap<String, u64>>> = Mutex::new(None);

fn target() -> Option<&'static (String, u64)> {
    TARGET
        .get_or_init(|| {
            let v = std::env::var(env_vars::CRASH_AT).ok()?;
            Some(match v.split_once('@') {
                Some((p, n)) => (p.to_owned(), n.parse().unwrap_or(1)),
                None => (v, 1),
            })
        })
        .as_ref()
}

/// Kill this process with SIGKILL if the crash tests asked for `point`.
pub fn hit(point: &str) {
    let Some((want, nth)) = target() else {
        return;
    };
    if want != point {
        return;
    }
    let mut guard = COUNTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let count = guard
        .get_or_insert_with(HashMap::new)
        .entry(point.to_owned())
        .or_insert(0);
    *count += 1;
    if *count == *nth {
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
        // SIGKILL cannot be caught; make sure nothing runs past this point meanwhile.
        loop {
            std::thread::park();
        }
    }
}
