//! The verbs on one mirror's snapshots: rollback, pin/unpin, gc.

use mirror_index::{MirrorName, SnapshotName};

use super::context::{Done, Follow, Ops};
use super::error::OpError;
use crate::lifecycle::{self, GcReport, Retention};
use crate::webhooks::Event;

/// What a rollback of `latest` did.
#[derive(Debug, serde::Serialize)]
pub struct RolledBack {
    pub mirror: String,
    pub previous: Option<String>,
    pub latest: String,
}

/// `rollback NAME [--to S]`: point `latest.txt` back (default: the
/// snapshot before it), then the index and the bucket follow.
pub fn rollback(
    ops: &Ops,
    mirror: &MirrorName,
    to: Option<&str>,
) -> Result<Done<RolledBack>, OpError> {
    ops.base_url("rollback rewrites the index; it holds snapshot URLs")?;
    let (from, to) =
        lifecycle::rollback(&ops.root, mirror, to, ops.wait).map_err(|e| OpError::of(&e))?;
    let mut after = ops.follow(
        std::slice::from_ref(mirror),
        Follow {
            index: true,
            bucket: true,
        },
    );
    let value = RolledBack {
        mirror: mirror.to_string(),
        previous: from.map(|f| f.to_string()),
        latest: to.to_string(),
    };
    ops.emit(
        &[Event::Rollback {
            mirror: value.mirror.clone(),
            channel: "latest".into(),
            from: value.previous.clone(),
            to: value.latest.clone(),
        }],
        &mut after,
    );
    Ok(Done { value, after })
}

/// What `pin`/`unpin` left.
#[derive(Debug, serde::Serialize)]
pub struct Pins {
    pub mirror: String,
    pub pinned: Vec<String>,
}

/// `pin`/`unpin NAME SNAPSHOT`: the list gc never touches; the status
/// pages show it.
pub fn pin(
    ops: &Ops,
    mirror: &MirrorName,
    snapshot: &str,
    pin: bool,
) -> Result<Done<Pins>, OpError> {
    let list = lifecycle::set_pin(&ops.root, mirror, snapshot, pin, ops.wait)
        .map_err(|e| OpError::of(&e))?;
    let after = ops.follow(
        std::slice::from_ref(mirror),
        Follow {
            index: ops.base_url.is_some(),
            bucket: false,
        },
    );
    Ok(Done {
        value: Pins {
            mirror: mirror.to_string(),
            pinned: list.iter().map(SnapshotName::to_string).collect(),
        },
        after,
    })
}

/// What gc did to each mirror (or why it could not).
#[derive(Debug)]
pub struct Collected {
    pub mirrors: Vec<(MirrorName, Result<GcReport, OpError>)>,
}

/// `gc`: remove each mirror's snapshots outside `policy` (never one that
/// `latest`, a channel, a pin or a pending promotion needs: gc takes the
/// channel lock first), then the index and the bucket drop them.
pub fn gc(
    ops: &Ops,
    mirrors: &[MirrorName],
    policy: &Retention,
    dry_run: bool,
    now: jiff::Timestamp,
) -> Result<Done<Collected>, OpError> {
    if policy.keep_last.is_none() && policy.keep_within.is_none() {
        return Err(OpError::usage(
            "gc needs a policy: --keep-last N and/or --keep-within DURATION",
        ));
    }
    let mut results = Vec::new();
    let mut removed_any = false;
    for m in mirrors {
        let r = lifecycle::gc(&ops.root, m, policy, dry_run, ops.wait, now)
            .map_err(|e| OpError::of(&e));
        if let Ok(r) = &r {
            removed_any |= !r.removed.is_empty() && !dry_run;
        }
        results.push((m.clone(), r));
    }
    let after = if dry_run {
        super::context::After::default()
    } else {
        ops.follow(
            mirrors,
            Follow {
                index: removed_any,
                bucket: true,
            },
        )
    };
    Ok(Done {
        value: Collected { mirrors: results },
        after,
    })
}
