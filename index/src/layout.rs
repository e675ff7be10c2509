//! The mirror tree on disk (the tree contract; README, "Guarantees"),
//! defined once: every name both binaries use is a constant here, and
//! [`list_mirrors`] is the one answer to "which directories are mirrors".
//!
//! ```text
//! <root>/all_latest.{json,yaml,html}   the index (INDEX_*)
//! <root>/all_<channel>.{json,yaml}     a channel's index
//! <root>/all_snapshots.json            every snapshot, for time travel (SNAPSHOTS_JSON)
//! <root>/index.html                    the status page (STATUS_PAGE)
//! <root>/.<anything>                   private: locks, channel state, tokens, audit
//! <root>/<name>/latest.txt             "<snapshot>\n" (LATEST_FILE)
//! <root>/<name>/<channel>.txt          a channel's pointer (channel_pointer)
//! <root>/<name>/base/                  live mirror of upstream (BASE_DIR)
//! <root>/<name>/<snapshot>/            immutable complete repo, UTC %Y-%m-%d-%H-%M[-NN]
//! <root>/<name>/index.html             the mirror's status page
//! <root>/<name>/diff-<snapshot>.html   what a snapshot changed (diff_page)
//! <root>/<name>/RPM-GPG-KEY-mirror     the mirror's signing key (MIRROR_KEY)
//! <root>/<name>/pinned                 snapshots gc keeps (PIN_FILE)
//! <root>/<name>/.<anything>            private state, never served
//! ```
//!
//! A mirror's visible directories are `base/` and its snapshots, nothing
//! else: every other visible entry is a file.
//!
//! Invariants owned here: mirror names are single safe path components;
//! snapshot names sort lexicographically in creation order and are never
//! reused ([`SnapshotName::next`]).

use std::fmt;
use std::path::{Path, PathBuf};

/// File in a mirror directory that names its latest snapshot.
pub const LATEST_FILE: &str = "latest.txt";
/// Directory in a mirror directory holding the live copy of upstream.
pub const BASE_DIR: &str = "base";
/// Index file names at the root of the tree.
pub const INDEX_JSON: &str = "all_latest.json";
pub const INDEX_YAML: &str = "all_latest.yaml";
pub const INDEX_HTML: &str = "all_latest.html";
/// The status page of the root, and of each mirror in its directory.
pub const STATUS_PAGE: &str = "index.html";
/// Private entries of the root.
pub const INDEX_LOCK: &str = ".index.lock";
pub const CHANNELS_DIR: &str = ".channels";
pub const CHANNELS_LOCK: &str = ".channels.lock";
pub const TOKENS_FILE: &str = ".api-tokens.json";
pub const AUDIT_LOG: &str = ".api-audit.jsonl";
/// What `serve`'s scheduler plans and did, per mirror (for `status`).
pub const SCHEDULE_FILE: &str = ".schedule.json";
/// Where `import-bundle` stages a bundle's contents while it checks them.
pub const IMPORT_DIR: &str = ".import";
/// Registered package locks (`lock register`): one JSON record each.
pub const LOCKS_DIR: &str = ".locks";
/// Private entries of a mirror directory.
pub const MIRROR_LOCK: &str = ".lock";
pub const STAGING_DIR: &str = ".staging";
pub const PENDING_FILE: &str = ".pending";
pub const SOURCES_FILE: &str = ".sources";
pub const LAST_SNAPSHOT_FILE: &str = ".last-snapshot";
pub const ATTEMPTS_FILE: &str = ".attempts.jsonl";
pub const MANIFESTS_DIR: &str = ".manifests";
/// Served files of a mirror directory.
pub const MIRROR_KEY: &str = "RPM-GPG-KEY-mirror";
pub const PIN_FILE: &str = "pinned";

/// A channel's pointer in a mirror directory: `<channel>.txt`.
pub fn channel_pointer(channel: &str) -> String {
    format!("{channel}.txt")
}

/// The channel a file of a mirror directory is the pointer of, if it is
/// one (`<channel>.txt` with a valid channel name; `latest.txt` is not).
pub fn channel_of_pointer(file: &str) -> Option<&str> {
    file.strip_suffix(".txt")
        .filter(|c| check_channel(c).is_ok())
}

/// Private state (locks, staging, journals, tokens): never served,
/// never a mirror or a snapshot.
pub fn is_private(entry: &str) -> bool {
    entry.starts_with('.')
}

/// Whether `dir` is a mirror directory: one with a pointer, a base, a
/// sync's private state (a first sync creates its lock first) or a
/// snapshot (a mirror whose `latest.txt` was lost is still one).
pub fn is_mirror_dir(dir: &Path) -> bool {
    if !std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        return false;
    }
    [LATEST_FILE, BASE_DIR, MIRROR_LOCK, STAGING_DIR]
        .iter()
        .any(|f| dir.join(f).exists())
        || std::fs::read_dir(dir).is_ok_and(|entries| {
            entries
                .filter_map(Result::ok)
                .any(|e| SnapshotName::parse(&e.file_name().to_string_lossy()).is_ok())
        })
}

/// The mirrors of a root, sorted: every directory with a valid mirror
/// name that [`is_mirror_dir`]. A missing root has none.
pub fn list_mirrors(root: &Path) -> std::io::Result<Vec<MirrorName>> {
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut v = Vec::new();
    for e in entries {
        let e = e?;
        let Ok(name) = MirrorName::new(&e.file_name().to_string_lossy()) else {
            continue;
        };
        if is_mirror_dir(&e.path()) {
            v.push(name);
        }
    }
    v.sort();
    Ok(v)
}
/// Every snapshot of every mirror (time travel), beside the index.
pub const SNAPSHOTS_JSON: &str = "all_snapshots.json";

/// A name that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error(
        "invalid mirror name {0:?}: use letters, digits and - _ . : + @, not starting with '.'"
    )]
    Mirror(String),
    #[error(
        "mirror name {0:?} is reserved: the root of the tree uses it (base, index.html, all_*)"
    )]
    Reserved(String),
    #[error("invalid snapshot name {0:?}: expected UTC YYYY-MM-DD-HH-MM or YYYY-MM-DD-HH-MM-NN")]
    Snapshot(String),
    #[error("no free snapshot name after {0}: 99 snapshots in one minute")]
    Exhausted(String),
    #[error(
        "invalid channel name {0:?}: use lowercase letters, digits and - (at most 40, not starting with -)"
    )]
    Channel(String),
    #[error(
        "channel name {0:?} is reserved: the tree uses it (latest.txt, all_latest.*, all_snapshots.json, base/)"
    )]
    ReservedChannel(String),
}

/// Channel names the tree already uses: `latest` (`latest.txt`,
/// `all_latest.*`), `snapshots` (`all_snapshots.json`), `base` (`base/`).
pub const RESERVED_CHANNELS: &[&str] = &["latest", "snapshots", "base"];

/// Check a channel name, wherever one is read (`promote`, votes, the
/// client's `--channel`, a bucket's pointers): lowercase letters, digits
/// and `-`, at most 40 characters, not starting with `-`, not reserved.
pub fn check_channel(name: &str) -> Result<(), NameError> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        return Err(NameError::Channel(name.to_owned()));
    }
    if RESERVED_CHANNELS.contains(&name) {
        return Err(NameError::ReservedChannel(name.to_owned()));
    }
    Ok(())
}

/// A snapshot's diff page (what changed against the snapshot before it),
/// a plain file in its mirror's directory: `<name>/diff-<snapshot>.html` (not starting with the
/// snapshot's name, so `ls <name>/20*` lists snapshots only).
/// A mirror's only directories stay `base/` and its snapshots.
pub fn diff_page(snapshot: &SnapshotName) -> String {
    format!("diff-{snapshot}.html")
}

/// The snapshot a diff page is of, if `file` is one ([`diff_page`]).
pub fn diff_page_of(file: &str) -> Option<SnapshotName> {
    let name = file.strip_prefix("diff-")?.strip_suffix(".html")?;
    SnapshotName::parse(name).ok()
}

/// A channel's index at the root (`latest` too): `all_<channel>.<ext>`
/// with `ext` `json` or `yaml`.
pub fn channel_index(channel: &str, ext: &str) -> String {
    format!("all_{channel}.{ext}")
}

/// The key a channel's index wraps its map in: `latest_ci_repos`,
/// `tested_ci_repos`, ...
pub fn wrapper_key(channel: &str) -> String {
    format!("{channel}_ci_repos")
}

/// A mirror's name: the yum repo id it serves, and its directory under the root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MirrorName(String);

impl MirrorName {
    pub fn new(name: &str) -> Result<Self, NameError> {
        let ok = !name.is_empty()
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:+@".contains(c));
        if !ok {
            return Err(NameError::Mirror(name.to_owned()));
        }
        if Self::is_reserved(name) {
            return Err(NameError::Reserved(name.to_owned()));
        }
        Ok(Self(name.to_owned()))
    }

    /// Names the layout gives to other things: `base` inside a mirror, and
    /// at the root the index files (`all_latest.*`, and `all_<channel>.*`
    /// to come) and a directory index page.
    fn is_reserved(name: &str) -> bool {
        name == BASE_DIR
            || name.starts_with("all_")
            || name.eq_ignore_ascii_case(STATUS_PAGE)
            || name.eq_ignore_ascii_case("index.htm")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `<root>/<name>`
    pub fn dir(&self, root: &Path) -> PathBuf {
        root.join(&self.0)
    }
}

impl fmt::Display for MirrorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How far a snapshot's name may lie ahead of the clock before it is called
/// wrong (clocks of hosts drift a little): [`SnapshotName::ahead_of`].
pub const CLOCK_SLACK: jiff::SignedDuration = jiff::SignedDuration::from_secs(300);

/// A snapshot directory name: `YYYY-MM-DD-HH-MM` (UTC) with an optional
/// `-NN` (01..99) for further snapshots in the same minute. String order is
/// creation order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SnapshotName(String);

impl SnapshotName {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let b = s.as_bytes();
        let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        let minute_ok = b.len() >= 16
            && digits(0..4)
            && b[4] == b'-'
            && digits(5..7)
            && b[7] == b'-'
            && digits(8..10)
            && b[10] == b'-'
            && digits(11..13)
            && b[13] == b'-'
            && digits(14..16);
        let suffix_ok = b.len() == 16
            || (b.len() == 19 && b[16] == b'-' && digits(17..19) && &b[17..19] != b"00");
        // A real minute of the calendar: 9999-99-99-99-99 is no snapshot.
        let real = minute_ok
            && suffix_ok
            && jiff::civil::DateTime::strptime("%Y-%m-%d-%H-%M", &s[..16]).is_ok();
        if real {
            Ok(Self(s.to_owned()))
        } else {
            Err(NameError::Snapshot(s.to_owned()))
        }
    }

    /// The name for `now` (UTC), made strictly greater than `newest_existing`
    /// so that names never repeat and always sort in creation order, even when
    /// two snapshots fall in one minute or the clock stepped back.
    pub fn next(
        now: jiff::Timestamp,
        newest_existing: Option<&SnapshotName>,
    ) -> Result<Self, NameError> {
        let minute = now.strftime("%Y-%m-%d-%H-%M").to_string();
        let candidate = Self(minute);
        match newest_existing {
            Some(newest) if &candidate <= newest => newest.bump(),
            _ => Ok(candidate),
        }
    }

    /// The next name after this one: the next suffix of its minute, or,
    /// after `-99`, the next minute (so names never run out, even when a
    /// clock that was once wrong left the newest name in the future).
    fn bump(&self) -> Result<Self, NameError> {
        let (minute, n) = if self.0.len() == 19 {
            (&self.0[..16], self.0[17..].parse::<u8>().unwrap_or(0))
        } else {
            (&self.0[..], 0)
        };
        if n >= 99 {
            let next = self
                .timestamp()
                .and_then(|t| t.checked_add(jiff::SignedDuration::from_secs(60)).ok())
                .ok_or_else(|| NameError::Exhausted(self.0.clone()))?;
            return Ok(Self(next.strftime("%Y-%m-%d-%H-%M").to_string()));
        }
        Ok(Self(format!("{minute}-{:02}", n + 1)))
    }

    /// How far this name lies more than [`CLOCK_SLACK`] ahead of `now`,
    /// when it does: a snapshot named while the clock was wrong.
    pub fn ahead_of(&self, now: jiff::Timestamp) -> Option<jiff::SignedDuration> {
        let t = self.timestamp()?;
        let ahead = t.duration_since(now);
        (ahead > CLOCK_SLACK).then_some(ahead)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The UTC time of the minute this snapshot was named after.
    pub fn timestamp(&self) -> Option<jiff::Timestamp> {
        let civil = jiff::civil::DateTime::strptime("%Y-%m-%d-%H-%M", &self.0[..16]).ok()?;
        civil
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp())
    }
}

impl fmt::Display for SnapshotName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Text of `latest.txt` for `snapshot`.
pub fn format_latest(snapshot: &SnapshotName) -> String {
    format!("{snapshot}\n")
}

/// Parse the text of `latest.txt` (surrounding whitespace ignored).
pub fn parse_latest(text: &str) -> Result<SnapshotName, NameError> {
    SnapshotName::parse(text.trim())
}

/// Read `<mirror_dir>/latest.txt`; `Ok(None)` when the mirror has no snapshot yet.
pub fn read_latest(mirror_dir: &Path) -> Result<Option<SnapshotName>, LayoutError> {
    let path = mirror_dir.join(LATEST_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_latest(&text)
            .map(Some)
            .map_err(|source| LayoutError::BadLatest { path, source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(LayoutError::Io { path, source }),
    }
}

/// Every snapshot directory of a mirror, oldest first. Anything that is not a
/// directory with a snapshot name (base/, dot-files, latest.txt) is skipped.
pub fn list_snapshots(mirror_dir: &Path) -> Result<Vec<SnapshotName>, LayoutError> {
    let io = |source| LayoutError::Io {
        path: mirror_dir.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(mirror_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io)?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if let Ok(snap) = SnapshotName::parse(&name)
            && entry.file_type().map_err(io)?.is_dir()
        {
            out.push(snap);
        }
    }
    out.sort();
    Ok(out)
}

/// Failure reading the tree.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{} does not name a snapshot (repair it with `mirror-mgr rollback <mirror> --to <snapshot>`)",
        path.display()
    )]
    BadLatest {
        path: PathBuf,
        #[source]
        source: NameError,
    },
}

#[cfg(test)]
mod tree_tests {
    use super::*;

    #[test]
    fn which_directories_are_mirrors() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        for (dir, marker) in [
            ("a-el9", Some(LATEST_FILE)),
            ("b-el9", Some(BASE_DIR)),
            ("c-el9", Some(MIRROR_LOCK)),
            ("d-el9", Some("2026-01-01-00-00")),
            ("stray", None),
            (".hidden", Some(MIRROR_LOCK)),
            ("all_x", Some(MIRROR_LOCK)),
        ] {
            std::fs::create_dir_all(r.join(dir)).unwrap();
            if let Some(m) = marker {
                std::fs::create_dir_all(r.join(dir).join(m)).unwrap();
            }
        }
        std::fs::write(r.join("file"), "").unwrap();
        let names: Vec<String> = list_mirrors(r)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(names, ["a-el9", "b-el9", "c-el9", "d-el9"]);
        assert!(list_mirrors(&r.join("missing")).unwrap().is_empty());
        assert_eq!(channel_of_pointer("tested.txt"), Some("tested"));
        assert_eq!(channel_of_pointer("latest.txt"), None);
        assert_eq!(channel_of_pointer("Bad.txt"), None);
        assert!(is_private(MIRROR_LOCK) && !is_private(BASE_DIR));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn snapshot_names_parse() {
        for ok in [
            "2026-11-21-09-30",
            "2026-11-21-09-30-01",
            "2016-12-13-13-30-99",
        ] {
            assert_eq!(SnapshotName::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "base",
            "2026-11-21-09",
            "2026-11-21-09-30-00",
            "2026-11-21-09-30-1",
            "2026-11-21T09-30",
            "../x",
            "9999-99-99-99-99",
            "2026-02-30-00-00",
            "2026-11-21-24-00",
            "2026-11-21-09-60",
        ] {
            assert!(SnapshotName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn next_name_is_unique_and_ordered() {
        let now = ts("2026-11-21T09:30:12Z");
        let a = SnapshotName::next(now, None).unwrap();
        assert_eq!(a.as_str(), "2026-11-21-09-30");
        let b = SnapshotName::next(now, Some(&a)).unwrap();
        assert_eq!(b.as_str(), "2026-11-21-09-30-01");
        let c = SnapshotName::next(now, Some(&b)).unwrap();
        assert_eq!(c.as_str(), "2026-11-21-09-30-02");
        assert!(a < b && b < c);
        // The next minute sorts after every suffix of the previous one.
        let d = SnapshotName::next(ts("2026-11-21T09:31:00Z"), Some(&c)).unwrap();
        assert_eq!(d.as_str(), "2026-11-21-09-31");
        assert!(c < d);
        // A clock that stepped back still yields a newer name.
        let e = SnapshotName::next(ts("2026-11-21T08:00:00Z"), Some(&d)).unwrap();
        assert_eq!(e.as_str(), "2026-11-21-09-31-01");
        // After -99 the next minute: names never run out.
        let full = SnapshotName::parse("2026-11-21-09-31-99").unwrap();
        let f = SnapshotName::next(now, Some(&full)).unwrap();
        assert_eq!(f.as_str(), "2026-11-21-09-32");
        assert!(full < f);
        let end_of_day = SnapshotName::parse("2036-12-31-23-59-99").unwrap();
        assert_eq!(
            SnapshotName::next(now, Some(&end_of_day)).unwrap().as_str(),
            "2037-01-01-00-00"
        );
        // A name ahead of the clock says by how much.
        assert_eq!(
            end_of_day
                .ahead_of(now)
                .map(|d| d.as_secs() > 86_400 * 365 * 9),
            Some(true)
        );
        assert_eq!(a.ahead_of(ts("2026-11-21T10:00:00Z")), None);
        // Within the slack is not ahead.
        assert_eq!(a.ahead_of(ts("2026-11-21T09:27:00Z")), None);
    }

    #[test]
    fn mirror_names() {
        for ok in ["centos-base-el7", "epel-el8", "ovirt-4.4:x86_64", "a_b+c@d"] {
            MirrorName::new(ok).unwrap();
        }
        for bad in ["", ".lock", "a/b", "..", "a b", "ü"] {
            assert_eq!(MirrorName::new(bad), Err(NameError::Mirror(bad.into())));
        }
        for reserved in [
            "base",
            "all_latest.json",
            "all_latest.yaml",
            "all_stable.json",
            "index.html",
        ] {
            let err = MirrorName::new(reserved).unwrap_err();
            assert_eq!(err, NameError::Reserved(reserved.into()));
            assert!(err.to_string().contains("reserved"), "{err}");
        }
    }

    #[test]
    fn latest_round_trip_and_listing() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_latest(dir.path()).unwrap(), None);
        let s = SnapshotName::parse("2026-11-21-09-30").unwrap();
        std::fs::write(dir.path().join(LATEST_FILE), format_latest(&s)).unwrap();
        assert_eq!(read_latest(dir.path()).unwrap(), Some(s.clone()));
        std::fs::write(dir.path().join(LATEST_FILE), "garbage\n").unwrap();
        let err = read_latest(dir.path()).unwrap_err().to_string();
        assert!(err.contains("latest.txt"), "{err}");

        for d in [
            "base",
            ".staging",
            "2026-11-21-09-31",
            "2026-11-21-09-30",
            "2026-11-21-09-30-01",
        ] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        std::fs::write(
            dir.path().join("2026-11-22-00-00"),
            "a file, not a snapshot",
        )
        .unwrap();
        let names: Vec<_> = list_snapshots(dir.path())
            .unwrap()
            .into_iter()
            .map(|s| s.0)
            .collect();
        assert_eq!(
            names,
            [
                "2026-11-21-09-30",
                "2026-11-21-09-30-01",
                "2026-11-21-09-31"
            ]
        );
        let ts = SnapshotName::parse("2026-11-21-09-30-01")
            .unwrap()
            .timestamp()
            .unwrap();
        assert_eq!(ts, "2026-11-21T09:30:00Z".parse().unwrap());
    }
}
