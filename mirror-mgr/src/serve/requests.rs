//! The requests the server answered, counted for `/metrics`: by route
//! pattern (never by path), method and status, with a latency histogram.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Latency histogram bounds, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Counts {
    n: u64,
    sum: f64,
    /// Requests at or under each bound of [`BUCKETS`].
    le: [u64; BUCKETS.len()],
}

/// Every request the server answered, by (route, method, status).
#[derive(Default)]
pub struct Requests {
    inner: Mutex<BTreeMap<(String, String, u16), Counts>>,
}

impl Requests {
    /// Count one request. `route` is the API route's pattern
    /// (`/api/v1/mirrors/{name}`) or `files`: never the requested path,
    /// so clients cannot grow the table.
    pub fn record(&self, route: &str, method: &str, status: u16, secs: f64) {
        let mut all = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let c = all
            .entry((route.to_owned(), method.to_owned(), status))
            .or_default();
        c.n += 1;
        c.sum += secs;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                c.le[i] += 1;
            }
        }
    }

    /// The two families, appended to `t`.
    pub fn render(&self, t: &mut String) {
        let all = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = writeln!(
            t,
            "# HELP mirror_mgr_http_requests_total Requests answered, by route, method and status.\n# TYPE mirror_mgr_http_requests_total counter"
        );
        for ((route, method, status), c) in all.iter() {
            let _ = writeln!(
                t,
                "mirror_mgr_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {}",
                crate::metrics::label(route),
                crate::metrics::label(method),
                c.n
            );
        }
        let _ = writeln!(
            t,
            "# HELP mirror_mgr_http_request_duration_seconds Time to answer, by route and method.\n# TYPE mirror_mgr_http_request_duration_seconds histogram"
        );
        // The histogram is per route and method (statuses summed).
        let mut by_route: BTreeMap<(&str, &str), Counts> = BTreeMap::new();
        for ((route, method, _), c) in all.iter() {
            let r = by_route.entry((route, method)).or_default();
            r.n += c.n;
            r.sum += c.sum;
            for i in 0..BUCKETS.len() {
                r.le[i] += c.le[i];
            }
        }
        for ((route, method), c) in &by_route {
            let l = format!(
                "route=\"{}\",method=\"{}\"",
                crate::metrics::label(route),
                crate::metrics::label(method)
            );
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    t,
                    "mirror_mgr_http_request_duration_seconds_bucket{{{l},le=\"{b}\"}} {}",
                    c.le[i]
                );
            }
            let _ = writeln!(
                t,
                "mirror_mgr_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}\nmirror_mgr_http_request_duration_seconds_sum{{{l}}} {}\nmirror_mgr_http_request_duration_seconds_count{{{l}}} {}",
                c.n, c.sum, c.n
            );
        }
    }
}
