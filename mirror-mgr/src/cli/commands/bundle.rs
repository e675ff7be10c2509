//! `export` and `import-bundle`: snapshots carried to an air-gapped site.

use crate::access::SecretSource;
use crate::cli::exit::{Failure, OK};
use crate::cli::options::{ExportCliArgs, ImportBundleArgs};
use crate::cli::output::Output;
use crate::cli::settings::{self, Settings};
use crate::ops::bundle::{ExportArgs, Which};
use crate::report::human_bytes;

pub fn export(s: &Settings, a: &ExportCliArgs, out: Output) -> Result<u8, Failure> {
    let mirrors = a
        .names
        .iter()
        .map(|n| settings::mirror_name(n))
        .collect::<Result<Vec<_>, _>>()?;
    let which = match (&a.snapshot, &a.channel, a.latest) {
        (Some(snap), _, _) => Which::Snapshot(snap.clone()),
        (None, Some(c), _) => {
            crate::channels::Channel::new(c).map_err(|e| Failure::from_error(&e))?;
            Which::Channel(c.clone())
        }
        (None, None, true) => Which::Latest,
        (None, None, false) => Which::All,
    };
    let split = a
        .split
        .as_deref()
        .map(|v| {
            crate::fetch::rate::parse_size(v)
                .map_err(|e| Failure::usage(format!("--split {e}")))
                .and_then(|n| {
                    if n < 1 << 20 {
                        Err(Failure::usage("--split: give at least 1M"))
                    } else {
                        Ok(n)
                    }
                })
        })
        .transpose()?;
    let passphrase = match (&a.sign_key_passphrase_file, &a.sign_key_passphrase_env) {
        (Some(f), _) => Some(SecretSource::File(f.clone())),
        (None, Some(v)) => Some(SecretSource::Env(v.clone())),
        (None, None) => None,
    };
    let args = ExportArgs {
        mirrors,
        which,
        since: a.since.clone(),
        since_snapshot: a.since_snapshot.clone(),
        out: a.output.clone(),
        split,
        zstd: a.zstd,
        plan: a.plan,
        sign_key: a.sign_key.clone(),
        passphrase,
    };
    let r = crate::ops::bundle::export(&s.ops()?, &args)?;
    if out.json {
        out.json(&r);
        return Ok(OK);
    }
    for snap in &r.snapshots {
        out.data(format!("snapshot {snap}"));
    }
    for snap in &r.skipped {
        out.data(format!("skipped {snap} (the other side has it)"));
    }
    out.data(format!(
        "{} snapshots, {} files ({}); carries {} contents ({})",
        r.snapshots.len(),
        r.files,
        human_bytes(r.bytes),
        r.objects,
        human_bytes(r.object_bytes)
    ));
    for p in &r.written {
        out.line(format!("wrote {}", p.display()));
    }
    if let (Some(m), Some(k)) = (&r.manifest, &r.signed_by) {
        out.line(format!(
            "signed by {k}; its manifest is {} (pass it as --since next time)",
            m.display()
        ));
    }
    Ok(OK)
}

pub fn import(s: &Settings, a: &ImportBundleArgs, out: Output) -> Result<u8, Failure> {
    let done = crate::ops::bundle::import_bundle(
        &s.ops()?,
        &a.path,
        &a.key,
        !a.no_pointers,
        &crate::channels::current_user(),
    )?;
    if out.json {
        out.json(&done);
    } else {
        let v = &done.value;
        for snap in &v.imported.snapshots {
            out.line(format!("imported {snap}"));
        }
        for snap in &v.imported.skipped {
            out.line(format!("already here: {snap}"));
        }
        for (m, l) in &v.imported.latest {
            out.line(format!("latest: {m} -> {l}"));
        }
        for c in &v.channels {
            out.line(c.clone());
        }
        out.line(format!(
            "received {} contents ({}), linked {} files already here; signed by {}",
            v.imported.received,
            human_bytes(v.imported.received_bytes),
            v.imported.linked_locally,
            v.imported.signed_by
        ));
    }
    Ok(super::after::render(&done.after, out))
}
