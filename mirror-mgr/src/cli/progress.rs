//! The terminal [`Reporter`]: indicatif bars on stderr, one per mirror being
//! synced (several with `--jobs`), or nothing when stderr is not a terminal,
//! `--quiet` or `--json`.

use std::collections::HashMap;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use mirror_index::MirrorName;

use crate::report::Reporter;

pub struct BarReporter {
    multi: Option<MultiProgress>,
    bars: Mutex<HashMap<MirrorName, ProgressBar>>,
}

impl BarReporter {
    pub fn new(enabled: bool) -> Self {
        Self {
            multi: enabled.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            bars: Mutex::new(HashMap::new()),
        }
    }

    /// Remove every bar (at the end of a run).
    pub fn clear(&self) {
        for (_, b) in self.bars.lock().expect("not poisoned").drain() {
            b.finish_and_clear();
        }
    }

    fn with_bar(&self, mirror: &MirrorName, f: impl FnOnce(&ProgressBar)) {
        if let Some(b) = self.bars.lock().expect("not poisoned").get(mirror) {
            f(b);
        }
    }
}

impl Reporter for BarReporter {
    fn phase(&self, mirror: &MirrorName, phase: &str) {
        if let Some(m) = &self.multi {
            let _ = m.println(format!("{mirror}: {phase}"));
        }
    }

    fn download_start(&self, mirror: &MirrorName, files: u64, bytes: u64) {
        let Some(m) = &self.multi else { return };
        let bar = m.add(ProgressBar::new(bytes));
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {msg} eta {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(mirror.to_string());
        bar.set_message(format!("{files} files"));
        if let Some(old) = self
            .bars
            .lock()
            .expect("not poisoned")
            .insert(mirror.clone(), bar)
        {
            old.finish_and_clear();
        }
    }

    fn download_progress(&self, mirror: &MirrorName, bytes: u64) {
        self.with_bar(mirror, |b| b.inc(bytes));
    }

    fn download_done(&self, mirror: &MirrorName) {
        if let Some(b) = self.bars.lock().expect("not poisoned").remove(mirror) {
            b.finish_and_clear();
        }
    }
}
