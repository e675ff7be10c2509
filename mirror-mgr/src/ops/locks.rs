//! Package locks the mirror keeps alive: register, list, release (both
//! doors: `mirror-mgr lock ...` and `POST /api/v1/locks`).

use super::context::{After, Done, Ops};
use super::error::{Kind, OpError};
use crate::locks::{self, LocksError, Registered};

fn op(e: LocksError) -> OpError {
    match e {
        LocksError::Refused(m) => OpError::usage(m),
        LocksError::Missing(m) | LocksError::NotFound(m) => OpError::new(Kind::NotFound, m),
        LocksError::Store(e) => OpError::of(&e),
    }
}

/// Record which snapshots the lock `text` uses, for `ttl` seconds.
pub fn register_lock(
    ops: &Ops,
    text: &str,
    ttl: i64,
    by: &str,
) -> Result<Done<Registered>, OpError> {
    if ttl <= 0 {
        return Err(OpError::usage("--expires must be a positive duration"));
    }
    let now = jiff::Timestamp::now().as_second();
    let value = locks::register(&ops.root, text, ttl, by, now).map_err(op)?;
    Ok(Done {
        value,
        after: After::default(),
    })
}

/// End the lock `id`.
pub fn release_lock(ops: &Ops, id: &str) -> Result<Done<Registered>, OpError> {
    let value = locks::release(&ops.root, id).map_err(|e| match e {
        LocksError::NotFound(id) => OpError::not_found(format!("no registered lock {id:?}")),
        other => op(other),
    })?;
    Ok(Done {
        value,
        after: After::default(),
    })
}

/// Every registered lock.
pub fn list_locks(ops: &Ops) -> Vec<Registered> {
    locks::list(&ops.root)
}
