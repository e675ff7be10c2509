//! `mirror-mgr lock register|release` and `locks` ([`ops::register_lock`]).

use crate::cli::args::LockAction;
use crate::cli::exit::Failure;
use crate::cli::output::Output;
use crate::cli::settings::Settings;
use crate::locks::Registered;
use crate::ops;

fn describe(r: &Registered) -> String {
    let expires = jiff::Timestamp::from_second(r.expires)
        .map_or_else(|_| r.expires.to_string(), |t| t.to_string());
    let held: Vec<String> = r
        .snapshots
        .iter()
        .flat_map(|(m, snaps)| snaps.iter().map(move |s| format!("{m}/{s}")))
        .collect();
    format!(
        "{} until {expires}: {}{}",
        r.id,
        held.join(", "),
        if r.elsewhere > 0 {
            format!(" ({} URLs elsewhere)", r.elsewhere)
        } else {
            String::new()
        }
    )
}

pub fn run(s: &Settings, action: &LockAction, out: Output) -> Result<u8, Failure> {
    let ops = s.ops()?;
    let done = match action {
        LockAction::Register { file, expires, .. } => {
            let ttl = crate::lifecycle::parse_duration(expires)
                .map_err(|e| ops::OpError::usage(format!("--expires: {e}")))?;
            let meta = std::fs::metadata(file)
                .map_err(|e| ops::OpError::usage(format!("{}: {e}", file.display())))?;
            if meta.len() > crate::locks::MAX_LOCK as u64 {
                return Err(ops::OpError::usage(format!(
                    "{}: larger than {} bytes",
                    file.display(),
                    crate::locks::MAX_LOCK
                ))
                .into());
            }
            let text = std::fs::read_to_string(file)
                .map_err(|e| ops::OpError::usage(format!("{}: {e}", file.display())))?;
            let who = std::env::var("USER").unwrap_or_else(|_| "command line".into());
            ops::register_lock(&ops, &text, ttl, &who).map_err(|e| {
                ops::OpError::new(e.kind, format!("{}: {}", file.display(), e.message))
            })?
        }
        LockAction::Release { id, .. } => ops::release_lock(&ops, id)?,
    };
    if out.json {
        out.json(&done.value);
    } else {
        match action {
            LockAction::Register { .. } => out.line(done.value.id.clone()),
            LockAction::Release { .. } => out.line(format!("released {}", describe(&done.value))),
        }
    }
    Ok(super::after::render(&done.after, out))
}

pub fn list(s: &Settings, out: Output) -> Result<u8, Failure> {
    let all = ops::list_locks(&s.ops()?);
    if out.json {
        out.json(&all);
    } else if all.is_empty() {
        out.line("no registered locks".to_string());
    } else {
        let now = jiff::Timestamp::now().as_second();
        for r in &all {
            let state = if r.expires > now { "" } else { " (expired)" };
            out.line(format!("{}{state}", describe(r)));
        }
    }
    Ok(0)
}
