//! `mirror-mgr man -o DIR`: man pages generated from the clap definitions,
//! `mirror-mgr.1` and `mirror-mgr-<subcommand>.1`.

use std::path::Path;

use crate::cli::exit::{Failure, OK};
use crate::cli::output::Output;

pub fn run(dir: &Path, out: Output) -> Result<u8, Failure> {
    let io = |p: &Path, e: std::io::Error| Failure::failed(format!("{}: {e}", p.display()));
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let cmd = crate::cli::args::command();
    let mut pages = vec![("mirror-mgr".to_owned(), cmd.clone())];
    for sub in cmd.get_subcommands() {
        pages.push((format!("mirror-mgr-{}", sub.get_name()), sub.clone()));
    }
    for (name, page) in pages {
        let mut buf = Vec::new();
        clap_mangen::Man::new(page)
            .title(name.to_uppercase())
            .render(&mut buf)
            .map_err(|e| Failure::failed(e.to_string()))?;
        let path = dir.join(format!("{name}.1"));
        mirror_index::atomic::write_atomic(&path, &buf).map_err(|e| io(&e.path, e.source))?;
        out.line(path.display());
    }
    Ok(OK)
}
