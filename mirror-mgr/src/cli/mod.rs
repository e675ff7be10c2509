//! The command line of `mirror-mgr`, as uv and ripgrep lay theirs out:
//!
//! - `args.rs`: the clap grammar (the `--help` text);
//! - `settings.rs`: flags + environment + config files + yum variables,
//!   resolved once, before any work;
//! - [`exit`]: the exit codes and which error gets which;
//! - `output.rs`: stdout for data (one JSON printer), stderr for the rest;
//! - `progress.rs`: the terminal [`crate::report::Reporter`] (indicatif);
//! - `commands/`: one file per subcommand.

mod args;
mod commands;
pub mod exit;
mod options;
mod output;
mod progress;
mod settings;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::process::ExitCode;

use crate::env_vars;

/// Entry point of the binary.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match args::parse(args.into_iter().collect()) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    init_logging(cli.verbose);
    let out = output::Output {
        json: cli.json,
        quiet: cli.quiet,
    };
    match commands::run(&cli, out) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            out.error(&f.message);
            ExitCode::from(f.code)
        }
    }
}

/// Logs on stderr, filtered by `-v`/`-vv` or `RUST_LOG`; with timestamps
/// when stderr is not a terminal (cron and CI logs), colour only on one.
fn init_logging(verbose: u8) {
    // Our crates only: a dependency's debug output could carry request
    // headers (credentials).
    let default = match verbose {
        0 => "warn",
        1 => "warn,mirror_mgr=info",
        _ => "warn,mirror_mgr=debug,mirror_http=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env(env_vars::LOG)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let terminal = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::env::var_os(env_vars::NO_COLOR).is_none() && terminal)
        .with_target(false);
    let _ = if terminal {
        builder.without_time().try_init()
    } else {
        builder.try_init()
    };
}
