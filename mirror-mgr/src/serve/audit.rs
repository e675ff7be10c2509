//! The API's audit log, `<root>/.api-audit.jsonl`: one JSON line per write
//! request (time, token, request, status, result).
//!
//! Invariants: the file is private (mode 0600); accepted writes are
//! recorded in full and fsynced; refused requests (no valid token, wrong
//! scope) are recorded without their bodies, not fsynced, and at most
//! [`REFUSED_PER_MINUTE`] a minute, the rest counted in one line when the
//! minute ends; the file is rotated to `.api-audit.jsonl.1` past
//! [`ROTATE_AT`] bytes, so no one who reaches the port can fill the disk.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The log's file name, beside the root's other private state.
pub use mirror_index::layout::AUDIT_LOG;
/// Refused requests recorded per minute; the rest are counted.
pub const REFUSED_PER_MINUTE: u32 = 60;
/// Size past which the log is rotated (one old file is kept).
pub const ROTATE_AT: u64 = 16 * 1024 * 1024;
/// Longest request line recorded for a refused request.
const REFUSED_REQUEST_CHARS: usize = 200;

/// Decides which refused requests are recorded (pure; tested below).
#[derive(Debug, Default)]
pub struct Limiter {
    window: Option<Instant>,
    recorded: u32,
    suppressed: u64,
}

/// What to do with one refused request.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Record it; first record that `suppressed` were left out before it.
    Record { suppressed: u64 },
    /// Leave it out (counted).
    Skip,
}

impl Limiter {
    pub fn refused(&mut self, now: Instant) -> Verdict {
        let expired = self
            .window
            .is_none_or(|w| now.duration_since(w) >= Duration::from_secs(60));
        if expired {
            self.window = Some(now);
            self.recorded = 0;
        }
        if self.recorded < REFUSED_PER_MINUTE {
            self.recorded += 1;
            Verdict::Record {
                suppressed: std::mem::take(&mut self.suppressed),
            }
        } else {
            self.suppressed += 1;
            Verdict::Skip
        }
    }
}

/// The audit log of one server.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    limiter: std::sync::Mutex<Limiter>,
}

impl AuditLog {
    pub fn new(root: &Path) -> Self {
        Self {
            path: root.join(AUDIT_LOG),
            limiter: std::sync::Mutex::new(Limiter::default()),
        }
    }

    /// Record a write request that was carried out or failed on its merits.
    pub fn accepted(&self, token: &str, request: &str, status: u16, result: &Value) {
        let line = json!({
            "time": jiff::Timestamp::now().to_string(),
            "token": token,
            "request": request,
            "status": status,
            "result": result,
        });
        let _guard = self.limiter.lock();
        self.append(&[line], true);
    }

    /// Record a request refused before it was read (no valid token, or a
    /// scope it lacks): its request line only, rate-limited.
    pub fn refused(&self, token: &str, request: &str, status: u16) {
        let mut limiter = self
            .limiter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Verdict::Record { suppressed } = limiter.refused(Instant::now()) else {
            return;
        };
        let time = jiff::Timestamp::now().to_string();
        // Method and path only: never the body of a refused request.
        let mut head: String = request.splitn(3, ' ').take(2).collect::<Vec<_>>().join(" ");
        if head.chars().count() > REFUSED_REQUEST_CHARS {
            head = head.chars().take(REFUSED_REQUEST_CHARS).collect::<String>() + "...";
        }
        let mut lines = Vec::new();
        if suppressed > 0 {
            lines.push(json!({"time": time, "refused_not_recorded": suppressed}));
        }
        lines.push(json!({"time": time, "token": token, "request": head, "status": status}));
        self.append(&lines, false);
    }

    fn append(&self, lines: &[Value], durable: bool) {
        if let Err(e) = self.try_append(lines, durable) {
            eprintln!("audit log {}: {e}", self.path.display());
        }
    }

    fn try_append(&self, lines: &[Value], durable: bool) -> std::io::Result<()> {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        if std::fs::metadata(&self.path).is_ok_and(|m| m.len() > ROTATE_AT) {
            let mut old = self.path.clone().into_os_string();
            old.push(".1");
            std::fs::rename(&self.path, old)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)?;
        let meta = f.metadata()?;
        if meta.permissions().mode() & 0o077 != 0 {
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        let mut text = String::new();
        for l in lines {
            text.push_str(&l.to_string());
            text.push('\n');
        }
        f.write_all(text.as_bytes())?;
        if durable {
            f.sync_data()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_requests_are_limited_per_minute_and_counted() {
        let mut l = Limiter::default();
        let t0 = Instant::now();
        for _ in 0..REFUSED_PER_MINUTE {
            assert_eq!(l.refused(t0), Verdict::Record { suppressed: 0 });
        }
        for _ in 0..5 {
            assert_eq!(l.refused(t0 + Duration::from_secs(30)), Verdict::Skip);
        }
        // The next minute records again, saying how many were left out.
        let t1 = t0 + Duration::from_secs(61);
        assert_eq!(l.refused(t1), Verdict::Record { suppressed: 5 });
        assert_eq!(l.refused(t1), Verdict::Record { suppressed: 0 });
    }

    #[test]
    fn log_is_private_rotated_and_bodiless_for_refusals() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path());
        log.refused(
            "(no valid token)",
            "POST /api/v1/votes {\"secret\": \"body\"}",
            401,
        );
        let path = dir.path().join(AUDIT_LOG);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("POST /api/v1/votes"), "{text}");
        assert!(!text.contains("secret"), "{text}");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // Past the limit, the next append starts a new file.
        let f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.set_len(ROTATE_AT + 1).unwrap();
        log.accepted("ci", "POST /api/v1/votes {}", 200, &json!({"ok": true}));
        assert!(std::fs::metadata(&path).unwrap().len() < 1000);
        let mut old = path.clone().into_os_string();
        old.push(".1");
        assert_eq!(std::fs::metadata(old).unwrap().len(), ROTATE_AT + 1);
    }
}
