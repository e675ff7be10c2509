//! One file per subcommand. Each takes its parsed arguments and the
//! [`Output`], does its work through the library, prints, and returns the
//! exit code (or a [`Failure`] that carries one).

mod advisories;
mod after;
mod bundle;
mod channels;
mod check_config;
mod diff;
mod gc;
mod history;
mod index;
mod locks;
mod man;
mod pin;
mod publish;
mod rollback;
mod serve;
mod snapshots;
mod sync;
mod token;
mod verify;

use super::args::{Cli, Command};
use super::exit::Failure;
use super::output::Output;
use super::settings::Settings;

pub fn run(cli: &Cli, out: Output) -> Result<u8, Failure> {
    // Settings for the commands that read a tree or a config.
    let resolve = |tree, vars| -> Result<Settings, Failure> {
        let s = Settings::resolve(tree, vars)?;
        for w in &s.warnings {
            out.warn(w);
        }
        Ok(s)
    };
    let no_vars = super::args::VarOpts::default();
    match &cli.command {
        Command::Sync(args) => sync::run(&resolve(&args.tree, &args.vars)?, args, out),
        Command::Index { tree, from_bucket } => {
            let s = resolve(tree, &no_vars)?;
            if *from_bucket {
                publish::index_from_bucket(&s, out)
            } else {
                index::run(&s, out)
            }
        }
        Command::Publish { tree, names, all } => {
            let s = resolve(tree, &no_vars)?;
            if names.is_empty() && !*all {
                return Err(Failure::usage("publish: name mirrors, or pass --all"));
            }
            publish::run(&s, names, out)
        }
        Command::Rollback {
            tree,
            name,
            to,
            channel: Some(ch),
        } => channels::rollback(&resolve(tree, &no_vars)?, name, ch, to.as_deref(), out),
        Command::Rollback {
            tree,
            name,
            to,
            channel: None,
        } => rollback::run(&resolve(tree, &no_vars)?, name, to.as_deref(), out),
        Command::Promote {
            tree,
            name,
            snapshot,
            set,
            channel,
            reason,
            dry_run,
        } => channels::promote(
            &resolve(tree, &no_vars)?,
            channels::Target {
                name: name.as_deref(),
                snapshot: snapshot.as_deref(),
                set: set.as_deref(),
                dry_run: *dry_run,
            },
            channel,
            reason,
            out,
        ),
        Command::Vote {
            tree,
            set,
            job,
            pass,
            fail: _,
            url,
            notes,
        } => channels::vote(
            &resolve(tree, &no_vars)?,
            set,
            &crate::channels::Vote::new(job, *pass, url.as_deref(), notes.as_deref())
                .map_err(|e| Failure::usage(mirror_index::error_chain(&e)))?,
            out,
        ),
        Command::Votes { tree, set } => {
            channels::votes(&resolve(tree, &no_vars)?, set.as_deref(), out)
        }
        Command::Channels { tree, name } => {
            channels::list(&resolve(tree, &no_vars)?, name.as_deref(), out)
        }
        Command::Snapshots { tree, name } => snapshots::run(&resolve(tree, &no_vars)?, name, out),
        Command::Mirrors { tree, vars } => Ok(check_config::list(&resolve(tree, vars)?, out)),
        Command::CheckConfig { tree, vars } => check_config::run(tree, &resolve(tree, vars)?, out),
        Command::Diff {
            tree,
            name,
            from,
            to,
        } => diff::run(&resolve(tree, &no_vars)?, name, from, to, out),
        Command::Advisories(args) => advisories::run(&resolve(&args.tree, &no_vars)?, args, out),
        Command::Export(args) => bundle::export(&resolve(&args.tree, &no_vars)?, args, out),
        Command::ImportBundle(args) => bundle::import(&resolve(&args.tree, &no_vars)?, args, out),
        Command::Gc(args) => gc::run(&resolve(&args.tree, &no_vars)?, args, out),
        Command::Lock { tree, action } => locks::run(&resolve(tree, &no_vars)?, action, out),
        Command::Locks { tree } => locks::list(&resolve(tree, &no_vars)?, out),
        Command::Pin {
            tree,
            name,
            snapshot,
        } => pin::run(&resolve(tree, &no_vars)?, name, snapshot, true, out),
        Command::Unpin {
            tree,
            name,
            snapshot,
        } => pin::run(&resolve(tree, &no_vars)?, name, snapshot, false, out),
        Command::Verify {
            tree,
            names,
            quick,
            signatures,
        } => verify::run(&resolve(tree, &no_vars)?, names, *quick, *signatures, out),
        Command::History { tree, name } => history::history(&resolve(tree, &no_vars)?, name, out),
        Command::Serve {
            tree,
            listen,
            tokens,
            protect_reads,
            concurrency,
            jobs,
            limits,
        } => serve::run(
            &resolve(tree, &no_vars)?,
            serve::Options {
                listen: *listen,
                tokens: tokens.as_deref(),
                protect_reads: *protect_reads,
                concurrency: *concurrency,
                jobs: *jobs,
                limits: crate::serve::ConnLimits {
                    header_timeout: std::time::Duration::from_secs(limits.header_timeout.max(1)),
                    max_connections: limits.max_connections.max(1),
                    max_per_ip: limits.max_connections_per_ip.max(1),
                    shutdown_timeout: std::time::Duration::from_secs(limits.shutdown_timeout),
                },
            },
        ),
        Command::Token {
            tree,
            tokens,
            action,
        } => token::run(&resolve(tree, &no_vars)?, tokens.as_deref(), action, out),
        Command::Status { tree, names } => history::status(&resolve(tree, &no_vars)?, names, out),
        Command::Metrics { tree, output } => {
            history::metrics(&resolve(tree, &no_vars)?, output.as_deref(), out)
        }
        Command::Completions { shell } => {
            let mut cmd = super::args::command();
            clap_complete::generate(*shell, &mut cmd, "mirror-mgr", &mut std::io::stdout());
            Ok(super::exit::OK)
        }
        Command::Man { output } => man::run(output, out),
    }
}
