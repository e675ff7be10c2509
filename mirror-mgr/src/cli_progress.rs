//! The terminal [`Reporter`]: indicatif bars on stderr, or nothing when
//! stderr is not a terminal, `--quiet` or `--json`.

use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use mirror_index::MirrorName;

use crate::report::Reporter;

pub struct BarReporter {
    multi: Option<MultiProgress>,
    bar: Mutex<Option<ProgressBar>>,
}

impl BarReporter {
    pub fn new(enabled: bool) -> Self {
        Self {
            multi: enabled.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            bar: Mutex::new(None),
        }
    }

    pub fn clear(&self) {
        if let Some(b) = self.bar.lock().expect("not poisoned").take() {
            b.finish_and_clear();
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
        *self.bar.lock().expect("not poisoned") = Some(bar);
    }

    fn download_progress(&self, bytes: u64) {
        if let Some(b) = self.bar.lock().expect("not poisoned").as_ref() {
            b.inc(bytes);
        }
    }

    fn download_done(&self) {
        self.clear();
    }
}
