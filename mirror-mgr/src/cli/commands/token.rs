//! `mirror-mgr token add|list|revoke`: the API tokens file.

use std::path::Path;

use crate::cli::args::TokenAction;
use crate::cli::exit::{Failure, OK};
use crate::cli::output::Output;
use crate::cli::settings::Settings;
use crate::tokens::{Scope, TokenError, Tokens};

fn failure(e: &TokenError) -> Failure {
    match e {
        TokenError::File { .. } => Failure::from_error(e),
        _ => Failure::usage(e.to_string()),
    }
}

pub fn run(
    s: &Settings,
    file: Option<&Path>,
    action: &TokenAction,
    out: Output,
) -> Result<u8, Failure> {
    let path = match file {
        Some(f) => f.to_path_buf(),
        None => s.root()?.join(crate::tokens::DEFAULT_FILE),
    };
    let mut tokens = Tokens::load(&path).map_err(|e| failure(&e))?;
    match action {
        TokenAction::Add { name, scopes, jobs } => {
            let scopes = scopes
                .iter()
                .map(|x| Scope::parse(x))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| failure(&e))?;
            let token = tokens
                .add(name, scopes, jobs.clone())
                .map_err(|e| failure(&e))?;
            tokens.save(&path).map_err(|e| failure(&e))?;
            if out.json {
                out.json(&serde_json::json!({"name": name, "token": token}));
            } else {
                // stdout holds the token alone, for `TOKEN=$(mirror-mgr token add ...)`.
                out.data(token);
                if !out.quiet {
                    eprintln!(
                        "token {name} added to {}; it is shown only now",
                        path.display()
                    );
                }
            }
        }
        TokenAction::List => {
            if out.json {
                let list: Vec<serde_json::Value> = tokens
                    .tokens
                    .iter()
                    .map(|t| serde_json::json!({"name": t.name, "scopes": t.scopes, "jobs": t.jobs, "created": t.created}))
                    .collect();
                out.json(&list);
            } else {
                for t in &tokens.tokens {
                    let scopes: Vec<String> = t.scopes.iter().map(ToString::to_string).collect();
                    let jobs = t
                        .jobs
                        .as_ref()
                        .map_or_else(|| "any job".to_owned(), |j| j.join(","));
                    out.data(format!(
                        "{:<24} {:<28} {:<24} {}",
                        t.name,
                        scopes.join(","),
                        jobs,
                        t.created
                    ));
                }
            }
            for w in crate::tokens::policy_warnings(&tokens, &s.config.channels) {
                eprintln!("warning: {w}");
            }
        }
        TokenAction::Revoke { name } => {
            tokens.revoke(name).map_err(|e| failure(&e))?;
            tokens.save(&path).map_err(|e| failure(&e))?;
            out.line(format!("token {name} revoked"));
        }
    }
    Ok(OK)
}
