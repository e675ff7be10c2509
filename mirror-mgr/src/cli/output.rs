//! What a command prints: data on stdout (JSON with `--json`, else lines
//! for people), everything else on stderr. One JSON printer for every
//! subcommand; a closed stdout ends the process quietly
//! ([`mirror_index::outln`]).

/// How to print, from the global flags.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
    pub quiet: bool,
}

// Every method takes the printer, so call sites read the same whether or not
// a flag matters to that method today.
#[allow(clippy::unused_self)]
impl Output {
    /// Print `value` as pretty JSON on stdout.
    pub fn json(self, value: &impl serde::Serialize) {
        mirror_index::outln!(
            "{}",
            serde_json::to_string_pretty(value).expect("report types serialise")
        );
    }

    /// A line of data for people on stdout (suppressed by `--quiet`).
    pub fn line(self, text: impl std::fmt::Display) {
        if !self.quiet {
            mirror_index::outln!("{text}");
        }
    }

    /// A line of data on stdout even under `--quiet` (the command's answer).
    pub fn data(self, text: impl std::fmt::Display) {
        mirror_index::outln!("{text}");
    }

    pub fn warn(self, text: impl std::fmt::Display) {
        eprintln!("warning: {text}");
    }

    pub fn error(self, text: impl std::fmt::Display) {
        eprintln!("error: {text}");
    }
}
