//! How the library tells the binary what is happening: a [`Reporter`] for
//! live progress (the binary draws bars with it), and a [`SyncReport`] per
//! mirror at the end (printed as a line, or as JSON with `--json`).

use mirror_index::MirrorName;

/// Live progress of a sync. All methods default to doing nothing.
pub trait Reporter: Send + Sync {
    /// A new phase began ("fetching metadata", "downloading", ...).
    fn phase(&self, _mirror: &MirrorName, _phase: &str) {}
    /// Downloads are about to start: this many files and bytes.
    fn download_start(&self, _mirror: &MirrorName, _files: u64, _bytes: u64) {}
    /// `bytes` more arrived.
    fn download_progress(&self, _mirror: &MirrorName, _bytes: u64) {}
    /// One file finished.
    fn file_done(&self, _mirror: &MirrorName) {}
    /// Downloads are over (successfully or not).
    fn download_done(&self, _mirror: &MirrorName) {}
}

/// A reporter that reports nothing.
pub struct Silent;
impl Reporter for Silent {}

/// What a sync did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Unchanged,
    NewSnapshot,
    Failed,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The result of syncing one mirror.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SyncReport {
    pub mirror: String,
    pub status: Status,
    /// The latest snapshot after the sync (the new one when one was made).
    pub snapshot: Option<String>,
    /// The latest snapshot before the sync.
    pub previous: Option<String>,
    /// The base URL that served this sync.
    pub upstream: Option<String>,
    /// Packages in the snapshot.
    pub packages: u64,
    /// (path, checksum) pairs new since the previous base, and gone from it.
    pub added: u64,
    pub removed: u64,
    pub downloaded_files: u64,
    pub downloaded_bytes: u64,
    /// Of the downloaded files, those from a local upstream placed by
    /// reflink or hard link (their bytes were not copied).
    #[serde(skip_serializing_if = "is_zero")]
    pub linked_files: u64,
    /// HTTP requests sent, retries included.
    pub requests: u64,
    pub seconds: f64,
    /// Seconds spent per phase (metadata, packages, snapshot, commit).
    pub phases: std::collections::BTreeMap<&'static str, f64>,
    /// Upstream mirrors passed over (from a mirrorlist, metalink or several
    /// baseurls) and why: "URL: reason".
    pub skipped_mirrors: Vec<String>,
    /// Extra explanation (e.g. a recovered crash, a rollback hold).
    pub note: Option<String>,
    /// Why upstream's repomd.xml was refused as a downgrade (latest held).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downgrade_refused: Option<String>,
    /// Things the operator should look at (a snapshot named ahead of the clock).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// What the mirror's package filter kept, regenerated and signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<crate::filter::regen::FilterReport>,
    /// The whole error chain, when failed.
    pub error: Option<String>,
}

impl SyncReport {
    pub fn new(mirror: &MirrorName) -> Self {
        Self {
            mirror: mirror.to_string(),
            status: Status::Failed,
            snapshot: None,
            previous: None,
            upstream: None,
            packages: 0,
            added: 0,
            removed: 0,
            downloaded_files: 0,
            downloaded_bytes: 0,
            linked_files: 0,
            requests: 0,
            seconds: 0.0,
            phases: std::collections::BTreeMap::new(),
            skipped_mirrors: Vec::new(),
            note: None,
            downgrade_refused: None,
            warnings: Vec::new(),
            filter: None,
            error: None,
        }
    }

    /// One line for humans.
    pub fn summary(&self) -> String {
        let mut note = self
            .note
            .as_ref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        if let Some(f) = &self.filter {
            note = format!("{note} ({})", f.summary());
        }
        if self.linked_files > 0 {
            note = format!(
                "{note} ({} packages linked from the local upstream, not copied)",
                self.linked_files
            );
        }
        if !self.skipped_mirrors.is_empty() {
            note = format!(
                "{note} (skipped upstream mirrors: {})",
                self.skipped_mirrors.join("; ")
            );
        }
        for w in &self.warnings {
            note = format!("{note} (warning: {w})");
        }
        match self.status {
            Status::Unchanged => format!(
                "{}: unchanged, latest {}{note} [{:.1}s]",
                self.mirror,
                self.snapshot.as_deref().unwrap_or("-"),
                self.seconds
            ),
            Status::NewSnapshot => format!(
                "{}: new snapshot {} ({} packages, +{} -{}, downloaded {} files / {}){note} [{:.1}s]",
                self.mirror,
                self.snapshot.as_deref().unwrap_or("-"),
                self.packages,
                self.added,
                self.removed,
                self.downloaded_files,
                human_bytes(self.downloaded_bytes),
                self.seconds
            ),
            Status::Failed => format!(
                "{}: FAILED: {}",
                self.mirror,
                self.error.as_deref().unwrap_or("unknown error")
            ),
        }
    }
}

/// `1.5 MiB` style sizes.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    #[allow(clippy::cast_precision_loss)]
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }
}
