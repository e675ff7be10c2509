//! Exit codes, in one place: what each means, and which errors map to
//! which, so the same failure exits the same way in every subcommand.

use crate::ops::error::{OpError, classify};

/// Success (a snapshot made or not).
pub const OK: u8 = 0;
/// A sync or command failed.
pub const FAILED: u8 = 1;
/// Bad usage or configuration, or a name (mirror, snapshot) that does not exist.
pub const USAGE: u8 = 2;
/// Another mirror-mgr holds the mirror's lock (`--wait` queues instead).
pub const LOCKED: u8 = 3;
/// With `sync --detailed-exitcode`: success, and at least one new snapshot.
pub const NEW_SNAPSHOT: u8 = 10;

/// The table, as `--help` and the README show it.
pub const HELP: &str = "Exit status: 0 success (snapshot made or not), 1 failed, \
2 bad usage or configuration, or an unknown mirror or snapshot, \
3 mirror locked by another process, 10 new snapshot (only with sync --detailed-exitcode).";

/// A failure with its exit code and the message for stderr.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: USAGE,
            message: message.into(),
        }
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            code: FAILED,
            message: message.into(),
        }
    }

    /// An error, with the code [`code_of`] gives it and its whole cause chain.
    pub fn from_error(err: &(dyn std::error::Error + 'static)) -> Self {
        Self {
            code: code_of(err),
            message: mirror_index::error_chain(err),
        }
    }
}

/// The exit code for an error: its [`crate::ops::Kind`]'s (one classification for
/// every door, `crate::ops::error`).
pub fn code_of(err: &(dyn std::error::Error + 'static)) -> u8 {
    classify(err).exit_code()
}

impl From<OpError> for Failure {
    fn from(e: OpError) -> Self {
        Self {
            code: e.kind.exit_code(),
            message: e.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::LifecycleError;
    use crate::store::StoreError;
    use mirror_index::MirrorName;

    #[test]
    fn codes() {
        let m = MirrorName::new("m").unwrap();
        let locked = LifecycleError::Store(StoreError::Locked { mirror: m.clone() });
        assert_eq!(code_of(&locked), LOCKED);
        let unknown = LifecycleError::NoSuchSnapshot {
            mirror: m.clone(),
            name: "x".into(),
            available: vec![],
        };
        assert_eq!(code_of(&unknown), USAGE);
        let no_mirror = LifecycleError::NoMirror {
            mirror: m.clone(),
            root: "/r".into(),
        };
        assert_eq!(code_of(&no_mirror), USAGE);
        let older = LifecycleError::NothingOlder {
            mirror: m,
            latest: "2026-01-01-00-00".into(),
        };
        assert_eq!(code_of(&older), FAILED);
        assert_eq!(
            code_of(&LifecycleError::NoLatest {
                mirror: MirrorName::new("m").unwrap()
            }),
            FAILED
        );
        assert_eq!(code_of(&std::io::Error::other("disk")), FAILED);
        assert_eq!(Failure::from_error(&unknown).code, USAGE);
        assert!(HELP.contains("3 mirror locked"));
    }
}
