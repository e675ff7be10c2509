//! The operations layer (issue 22, growing): what a verb does after its
//! engine function has run, the same whichever door asked (the command
//! line, the HTTP API, later the scheduler). A front door parses, calls
//! one function here, and renders; it composes no follow-up step itself.
//!
//! - [`follow_bucket`]: after a promotion, vote, rollback or gc, the
//!   config's `publish:` bucket gets the moved pointers, the index and the
//!   removals.

use std::path::Path;

use mirror_index::MirrorName;

use crate::config::Config;
use crate::publish::{self, Bucket, PublishError, PublishReport};

/// [`follow_bucket`] on a runtime of its own, for a caller that is not
/// async (the command line) or whose futures must be `Send` (the API's
/// handlers run it on the blocking pool).
pub fn follow_bucket_blocking(
    config: &Config,
    root: &Path,
    mirrors: &[MirrorName],
) -> Result<Option<(String, Vec<PublishReport>)>, PublishError> {
    if config.publish.is_none() || mirrors.is_empty() {
        return Ok(None);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| PublishError::Config(format!("cannot start a runtime: {e}")))?;
    rt.block_on(follow_bucket(config, root, mirrors))
}

/// Make the config's bucket follow what changed locally for `mirrors`
/// (pointers, index, snapshots removed). `Ok(None)` when the config has
/// no `publish:` target or nothing moved.
pub async fn follow_bucket(
    config: &Config,
    root: &Path,
    mirrors: &[MirrorName],
) -> Result<Option<(String, Vec<PublishReport>)>, PublishError> {
    let Some(spec) = &config.publish else {
        return Ok(None);
    };
    if mirrors.is_empty() {
        return Ok(None);
    }
    let bucket = Bucket::open(spec)?;
    let reports = publish::publish(&bucket, root, mirrors).await?;
    Ok(Some((bucket.shown.clone(), reports)))
}
