//! Every environment variable mirror-mgr reads, in one place.

/// Default for `--root`.
pub const ROOT: &str = "MIRRORS_ROOT";
/// Default for `--base-url`.
pub const BASE_URL: &str = "MIRRORS_BASE_URL";
/// Default for `--config`.
pub const CONFIG: &str = "MIRROR_MGR_CONFIG";
/// Test hook: first retry delay in milliseconds (default 500).
pub const RETRY_BACKOFF_MS: &str = "MIRROR_MGR_RETRY_BACKOFF_MS";
/// Test hook: kill the process at a named point (see `crashpoint`).
pub const CRASH_AT: &str = "MIRROR_MGR_CRASH_AT";
/// Test hook: files larger than this many bytes are published in parts
/// (default 32 MiB), so small test packages exercise multipart uploads.
pub const MULTIPART_OVER: &str = "MIRROR_MGR_MULTIPART_OVER";
/// Bench hook: make every build durable with one `syncfs` (the behaviour
/// before per-file fsyncs), to compare the two.
pub const SYNCFS: &str = "MIRROR_MGR_SYNCFS";
/// Test hook: `serve`'s scheduler divides every interval and jitter by
/// this (a 1-minute schedule runs every 2 s with 30).
pub const SCHEDULE_SCALE: &str = "MIRROR_MGR_SCHEDULE_SCALE";
/// Test hook: first delay before a failed webhook delivery is tried
/// again, in milliseconds (default 5000, doubling per attempt).
pub const WEBHOOK_BACKOFF_MS: &str = "MIRROR_MGR_WEBHOOK_BACKOFF_MS";
/// Log filter, as for every `tracing` program.
pub const LOG: &str = "RUST_LOG";
/// Disable colour.
pub const NO_COLOR: &str = "NO_COLOR";
