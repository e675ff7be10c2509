//! Thin binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    mirror_client::cli::run(std::env::args_os())
}
