//! `mirror-mgr serve`: settings resolved here, then [`crate::serve`] runs.

use std::path::Path;

use crate::cli::exit::{Failure, OK};
use crate::cli::settings::Settings;
use crate::serve::{self, ServeSettings};

#[derive(Clone, Copy)]
pub struct Options<'a> {
    pub listen: std::net::SocketAddr,
    pub tokens: Option<&'a Path>,
    pub protect_reads: bool,
    pub concurrency: Option<usize>,
    pub jobs: usize,
    pub limits: serve::ConnLimits,
}

pub fn run(s: &Settings, o: Options<'_>) -> Result<u8, Failure> {
    let root = s.root()?.to_path_buf();
    let base_url = s
        .base_url("the API reads and writes snapshot URLs under it")?
        .to_owned();
    if !root.is_dir() {
        return Err(Failure::usage(format!(
            "the mirror root {} is not a directory",
            root.display()
        )));
    }
    let settings = ServeSettings {
        tokens: o
            .tokens
            .map_or_else(|| root.join(crate::tokens::DEFAULT_FILE), Path::to_path_buf),
        root,
        base_url,
        listen: o.listen,
        protect_reads: o.protect_reads,
        sync: crate::ops::SyncSettings::resolve(
            &s.config,
            &crate::ops::sync::SyncOverrides {
                concurrency: o.concurrency,
                jobs: Some(o.jobs),
                ..Default::default()
            },
        )
        .shared(),
        config: s.config.clone(),
        limits: o.limits,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::from_error(&e))?;
    let root_shown = settings.root.display().to_string();
    runtime
        .block_on(serve::serve(settings, |addr| {
            eprintln!("serving {root_shown} on http://{addr}/ (API under /api/v1/)");
        }))
        .map_err(|e| Failure::from_error(&e))?;
    Ok(OK)
}
