//! Printing data to stdout from both binaries. When the reader goes away
//! (`mirror-mgr snapshots x | head`), the process exits quietly with status
//! 0, as `ls` or ripgrep do, instead of panicking in `println!`.

use std::io::Write as _;

/// Write `args` and a newline to stdout (see the module docs).
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        failed(&e);
    }
}

/// Write `args` to stdout (see the module docs).
pub fn text(args: std::fmt::Arguments<'_>) {
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        failed(&e);
    }
}

fn failed(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: cannot write to stdout: {e}");
    std::process::exit(1);
}

/// `println!` for data on stdout, quiet on a closed pipe.
#[macro_export]
macro_rules! outln {
    () => { $crate::stdout::line(format_args!("")) };
    ($($arg:tt)*) => { $crate::stdout::line(format_args!($($arg)*)) };
}

/// `print!` for data on stdout, quiet on a closed pipe.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::stdout::text(format_args!($($arg)*)) };
}

/// `s` with control characters (an escape sequence from an upstream's
/// package name, a newline that would forge another line) shown as
/// `\u{1b}`: safe to print to a terminal or a log.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(
        s.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(super::printable("alpha-1.0"), "alpha-1.0");
        assert_eq!(
            super::printable("a\u{1b}[31mred\nx"),
            "a\\u{1b}[31mred\\u{a}x"
        );
    }
}
