//! Upstream failures injected for real by a misbehaving HTTP server. For
//! each fault: transient ones are retried and the sync succeeds; permanent
//! ones fail with a message naming the URL and the reason, publish nothing,
//! keep latest.txt and every snapshot intact; and the next sync against a
//! healthy upstream succeeds.

use std::process::Command;
use std::time::Duration;

use mirror_e2e::fault::{Fault, FaultServer};
use mirror_e2e::*;

struct Case {
    name: &'static str,
    /// "pkg", "primary" or "repomd"
    target: &'static str,
    fault: Fault,
    /// Some(n): only the first n requests misbehave.
    times: Option<u32>,
    /// Serve normally this many times first.
    after: u32,
    extra: &'static [&'static str],
    /// None: the sync succeeds; Some(text): it fails saying this.
    fails_with: Option<&'static str>,
    /// Expected requests for the faulty path (None: not checked).
    hits: Option<u32>,
}

#[test]
fn upstream_fault_matrix() {
    let top = tempdir();
    let up = top.path().join("repo");
    build_rpms(
        &up,
        "Packages",
        &[Pkg::new("alpha", "1.0", "1"), Pkg::new("beta", "1.0", "1")],
    );
    createrepo(&up, &RepoOpts::default());
    let server = FaultServer::serve(top.path());
    let url = server.url("repo/");
    let root = top.path().join("mirrors");
    let mgr_at = |root: &std::path::Path| mgr(root, "http://mirror.example/yum");
    let out = run_ok(mgr_at(&root).args(["--json", "sync", "f-el9", "--url", &url]));
    let s1: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s1 = s1["mirrors"][0]["snapshot"].as_str().unwrap().to_owned();

    // Upstream moves on: alpha 2.0. Every case starts from the S1 tree.
    std::fs::remove_file(up.join("Packages/alpha-1.0-1.noarch.rpm")).unwrap();
    let mut big = Pkg::new("alpha", "2.0", "1");
    big.size = 8 * 1024;
    build_rpms(&up, "Packages", &[big]);
    createrepo(&up, &RepoOpts::default());
    let pristine = top.path().join("pristine");
    run_ok(Command::new("cp").arg("-a").arg(&root).arg(&pristine));
    let repomd = std::fs::read_to_string(up.join("repodata/repomd.xml")).unwrap();
    let primary_href = repomd
        .split("<location href=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .find(|h| h.contains("primary.xml"))
        .unwrap()
        .to_owned();
    let newer_repomd = top.path().join("newer-repomd.xml");
    std::fs::write(&newer_repomd, format!("{repomd}<!-- republished -->\n")).unwrap();

    let cases = vec![
        Case {
            name: "404 on a package",
            target: "pkg",
            fault: Fault::Status(404),
            times: None,
            after: 0,
            extra: &[],
            fails_with: Some("not found (HTTP 404)"),
            hits: Some(1),
        },
        Case {
            name: "410 on a package",
            target: "pkg",
            fault: Fault::Status(410),
            times: None,
            after: 0,
            extra: &[],
            fails_with: Some("not found (HTTP 410)"),
            hits: Some(1),
        },
        Case {
            name: "403 on a package",
            target: "pkg",
            fault: Fault::Status(403),
            times: None,
            after: 0,
            extra: &[],
            fails_with: Some("HTTP 403"),
            hits: Some(1),
        },
        Case {
            name: "500 every time",
            target: "pkg",
            fault: Fault::Status(500),
            times: None,
            after: 0,
            extra: &["--retries", "2"],
            fails_with: Some("HTTP 500"),
            hits: Some(3),
        },
        Case {
            name: "503 twice, then fine",
            target: "pkg",
            fault: Fault::Status(503),
            times: Some(2),
            after: 0,
            extra: &[],
            fails_with: None,
            hits: Some(3),
        },
        Case {
            name: "429 once",
            target: "pkg",
            fault: Fault::Status(429),
            times: Some(1),
            after: 0,
            extra: &[],
            fails_with: None,
            hits: Some(2),
        },
        Case {
            name: "closed mid-body once",
            target: "pkg",
            fault: Fault::CloseMidBody,
            times: Some(1),
            after: 0,
            extra: &[],
            fails_with: None,
            hits: Some(2),
        },
        Case {
            name: "closed mid-body every time",
            target: "pkg",
            fault: Fault::CloseMidBody,
            times: None,
            after: 0,
            extra: &["--retries", "1"],
            fails_with: Some("connection failed while reading the body"),
            hits: Some(2),
        },
        Case {
            name: "truncated every time",
            target: "pkg",
            fault: Fault::Truncate,
            times: None,
            after: 0,
            extra: &["--retries", "1"],
            fails_with: Some("end of file before message length reached"),
            hits: Some(2),
        },
        Case {
            name: "corrupted once",
            target: "pkg",
            fault: Fault::Corrupt,
            times: Some(1),
            after: 0,
            extra: &[],
            fails_with: None,
            hits: Some(2),
        },
        Case {
            name: "corrupted every time",
            target: "pkg",
            fault: Fault::Corrupt,
            times: None,
            after: 0,
            extra: &["--retries", "1"],
            fails_with: Some("checksum mismatch"),
            hits: Some(2),
        },
        Case {
            name: "Content-Length larger than the body",
            target: "pkg",
            fault: Fault::LongContentLength,
            times: None,
            after: 0,
            extra: &["--retries", "0"],
            fails_with: Some("end of file before message length reached"),
            hits: Some(1),
        },
        Case {
            name: "stalls past the timeout",
            target: "pkg",
            fault: Fault::Stall(Duration::from_secs(3)),
            times: None,
            after: 0,
            extra: &["--timeout", "1", "--retries", "1"],
            fails_with: Some("operation timed out"),
            hits: Some(2),
        },
        Case {
            name: "stalls once",
            target: "pkg",
            fault: Fault::Stall(Duration::from_secs(3)),
            times: Some(1),
            after: 0,
            extra: &["--timeout", "1"],
            fails_with: None,
            hits: Some(2),
        },
        Case {
            name: "trickles slowly",
            target: "pkg",
            fault: Fault::Trickle(Duration::from_millis(15)),
            times: None,
            after: 0,
            extra: &[],
            fails_with: None,
            hits: Some(1),
        },
        Case {
            name: "primary does not match repomd.xml",
            target: "primary",
            fault: Fault::Corrupt,
            times: None,
            after: 0,
            extra: &["--retries", "1"],
            fails_with: Some("checksum mismatch"),
            hits: Some(2),
        },
        Case {
            name: "repomd.xml 500",
            target: "repomd",
            fault: Fault::Status(500),
            times: None,
            after: 0,
            extra: &["--retries", "1"],
            fails_with: Some("HTTP 500"),
            hits: Some(2),
        },
        Case {
            name: "repomd.xml changes mid-sync",
            target: "repomd",
            fault: Fault::Replace(newer_repomd.clone()),
            times: None,
            after: 1,
            extra: &[],
            fails_with: Some("changed during the sync"),
            hits: Some(2),
        },
    ];
    let mut table = Vec::new();
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        // Every case runs; a failing one is named at the end with the others.
        let run_case = || -> String {
            let path = match c.target {
                "pkg" => "/repo/Packages/alpha-2.0-1.noarch.rpm".to_owned(),
                "primary" => format!("/repo/{primary_href}"),
                _ => "/repo/repodata/repomd.xml".to_owned(),
            };
            let root = top.path().join(format!("case-{i}"));
            run_ok(Command::new("cp").arg("-a").arg(&pristine).arg(&root));
            server.heal();
            match (c.times, c.after) {
                (Some(n), _) => server.first(&path, c.fault.clone(), n),
                (None, 0) => server.always(&path, c.fault.clone()),
                (None, a) => server.after(&path, a, c.fault.clone()),
            }
            let out = run(mgr_at(&root)
                .args(["sync", "f-el9", "--url", &url])
                .args(c.extra));
            let hits = server.hits(&path);
            if let Some(h) = c.hits {
                assert_eq!(hits, h, "{}: requests for {path}", c.name);
            }
            let mdir = root.join("f-el9");
            let err = stderr(&out);
            match c.fails_with {
                None => {
                    assert!(
                        out.status.success(),
                        "{}: expected success after retries: {err}",
                        c.name
                    );
                    assert_ne!(latest(&mdir).as_deref(), Some(s1.as_str()), "{}", c.name);
                }
                Some(needle) => {
                    assert_eq!(out.status.code(), Some(1), "{}: {err}", c.name);
                    assert!(
                        err.contains(needle),
                        "{}: expected {needle:?} in {err}",
                        c.name
                    );
                    assert!(
                        err.contains(&path),
                        "{}: the error names the URL {path}: {err}",
                        c.name
                    );
                    assert_eq!(
                        snapshots(&mdir),
                        vec![s1.clone()],
                        "{}: published something",
                        c.name
                    );
                    assert_eq!(latest(&mdir).as_deref(), Some(s1.as_str()), "{}", c.name);
                    run_ok(mgr_at(&root).args(["verify", "f-el9"]));
                    // Healthy again: the next sync completes.
                    server.heal();
                    let again = run(mgr_at(&root).args(["sync", "f-el9", "--url", &url]));
                    assert!(
                        again.status.success(),
                        "{}: recovery sync: {}",
                        c.name,
                        stderr(&again)
                    );
                    assert_ne!(latest(&mdir).as_deref(), Some(s1.as_str()), "{}", c.name);
                }
            }
            run_ok(mgr_at(&root).args(["verify", "f-el9"]));
            let outcome = if c.fails_with.is_some() {
                format!(
                    "failed cleanly after {hits} requests: {}",
                    err.trim()
                        .rsplit(": ")
                        .take(2)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect::<Vec<_>>()
                        .join(": ")
                )
            } else {
                format!("retried, synced ({hits} requests)")
            };
            let _ = std::fs::remove_dir_all(&root);
            outcome
        };
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run_case)) {
            Ok(outcome) => table.push(format!("{:<38} {outcome}", c.name)),
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                table.push(format!("{:<38} FAILED", c.name));
                failures.push(format!("{}: {msg}", c.name));
            }
        }
    }
    eprintln!("fault matrix:\n  {}", table.join("\n  "));
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
