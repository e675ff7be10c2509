//! What an operator's mistake or a damaged tree must not do (issue 16):
//! a broken `latest.txt` must not drop a mirror from the index or go
//! unnoticed, gc must not undo a rollback, names are never reused, `--url`
//! must not replace a configured upstream, reserved names are refused, and
//! the CLI behaves in pipes and reports what a sync saw.

use std::process::Stdio;

use mirror_e2e::*;

/// A world with `m-el9` synced twice (alpha 1.0, then 2.0): returns the two
/// snapshot names.
fn two_snapshots() -> (World, String, String) {
    let w = World::new();
    let up = w.upstream();
    build_rpms(&up, "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    createrepo(&up, &RepoOpts::default());
    let a = w.sync("m-el9")["snapshot"].as_str().unwrap().to_owned();
    std::fs::remove_file(up.join("Packages/alpha-1.0-1.noarch.rpm")).unwrap();
    build_rpms(&up, "Packages", &[Pkg::new("alpha", "2.0", "1")]);
    createrepo(&up, &RepoOpts::default());
    let b = w.sync("m-el9")["snapshot"].as_str().unwrap().to_owned();
    assert!(a < b);
    (w, a, b)
}

fn index_map(w: &World) -> serde_json::Value {
    let text = std::fs::read_to_string(w.root().join("all_latest.json")).unwrap();
    serde_json::from_str::<serde_json::Value>(&text).unwrap()["latest_ci_repos"].clone()
}

/// Issue 16.10: garbage, `../..`, `/etc`, `base`, empty, dangling or missing
/// latest.txt: verify reports it (exit 1), index keeps the previous entry
/// and exits 1, and `rollback --to` repairs it.
#[test]
fn broken_latest_is_reported_kept_in_the_index_and_repairable() {
    let (w, a, b) = two_snapshots();
    let m = w.root().join("m-el9");
    let good = index_map(&w);
    assert_eq!(good["m-el9"], format!("{}/m-el9/{b}", w.base_url()));
    for broken in [
        Some("garbage\n"),
        Some("../..\n"),
        Some("/etc\n"),
        Some("base\n"),
        Some(""),
        Some("2030-01-01-00-00\n"),
        None,
    ] {
        match broken {
            Some(t) => std::fs::write(m.join("latest.txt"), t).unwrap(),
            None => std::fs::remove_file(m.join("latest.txt")).unwrap(),
        }
        let out = run(w.mgr().args(["verify", "m-el9"]));
        assert_eq!(out.status.code(), Some(1), "{broken:?}: {}", stdout(&out));
        assert!(
            stdout(&out).contains("m-el9 latest.txt:"),
            "{broken:?}: {}",
            stdout(&out)
        );

        let out = run(w.mgr().arg("index"));
        assert_eq!(out.status.code(), Some(1), "{broken:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("keeping its previous entry"),
            "{broken:?}: {}",
            stderr(&out)
        );
        assert_eq!(index_map(&w), good, "{broken:?}");

        let out = run_ok(w.mgr().args(["rollback", "m-el9", "--to", &a]));
        assert!(
            stdout(&out).contains(&format!("now names {a}")),
            "{}",
            stdout(&out)
        );
        assert_eq!(latest(&m).as_deref(), Some(a.as_str()));
        assert_eq!(
            index_map(&w)["m-el9"],
            format!("{}/m-el9/{a}", w.base_url())
        );
        run_ok(w.mgr().args(["rollback", "m-el9", "--to", &b]));
        run_ok(w.mgr().args(["verify", "m-el9"]));
    }
    // An unknown mirror is an error, not silence (exit 2, as for any
    // unknown name: see the exit code table).
    let out = run(w.mgr().args(["verify", "no-such-el9"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no-such-el9 does not exist"),
        "{}",
        stderr(&out)
    );
}

/// Issue 16.11: after a rollback, gc keeps the rejected (newer) snapshot,
/// so the next sync keeps the rollback instead of republishing it; and a
/// snapshot name is never handed out twice, even after its snapshot is gone.
#[test]
fn gc_keeps_a_rollback_and_names_are_never_reused() {
    let (w, a, b) = two_snapshots();
    let m = w.root().join("m-el9");
    run_ok(w.mgr().args(["rollback", "m-el9"]));
    assert_eq!(latest(&m).as_deref(), Some(a.as_str()));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = run_ok(
        w.mgr()
            .args(["--json", "gc", "m-el9", "--keep-within", "1s"]),
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r[0]["removed"], serde_json::json!([]), "{r}");
    assert!(snapshots(&m).contains(&b));
    let again = w.sync("m-el9");
    assert_eq!(again["status"], "unchanged", "{again}");
    assert_eq!(latest(&m).as_deref(), Some(a.as_str()));

    // The operator deletes the newest snapshot by hand; the next one made
    // still gets a name never used before.
    run_ok(w.mgr().args(["rollback", "m-el9", "--to", &a]));
    std::fs::remove_dir_all(m.join(&b)).unwrap();
    let up = w.upstream();
    std::fs::remove_file(up.join("Packages/alpha-2.0-1.noarch.rpm")).unwrap();
    build_rpms(&up, "Packages", &[Pkg::new("alpha", "3.0", "1")]);
    createrepo(&up, &RepoOpts::default());
    let c = w.sync("m-el9")["snapshot"].as_str().unwrap().to_owned();
    assert!(c > b, "{c} reuses or precedes {b}");
}

/// Issue 16.12 and 16.13: `--url` is refused for a mirror the config defines
/// (unless it is an import mirror), and reserved names are refused at load.
#[test]
fn url_cannot_replace_a_configured_upstream_and_reserved_names_are_refused() {
    let w = World::new();
    build_rpms(&w.upstream(), "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    createrepo(&w.upstream(), &RepoOpts::default());
    let cfg = w.top.path().join("mirrors.yaml");
    write(
        &cfg,
        &format!(
            "mirrors:\n  - name: alpha-el9\n    baseurl: {}\n  - name: drop-el9\n    import: true\n",
            w.upstream_url()
        ),
    );
    let other = w.nginx.url("upstream/other/");
    let out = run(w
        .mgr()
        .arg("--config")
        .arg(&cfg)
        .args(["sync", "alpha-el9", "--url", &other]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("own upstream"), "{}", stderr(&out));
    assert!(snapshots(&w.root().join("alpha-el9")).is_empty());
    // An import mirror takes --url; without it there is nothing to sync.
    let out = run(w.mgr().arg("--config").arg(&cfg).args(["sync", "drop-el9"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("import mirror"), "{}", stderr(&out));
    run_ok(w.mgr().arg("--config").arg(&cfg).args([
        "sync",
        "drop-el9",
        "--url",
        &w.upstream_url(),
    ]));
    // sync --all passes over the import mirror.
    let out = run_ok(
        w.mgr()
            .arg("--config")
            .arg(&cfg)
            .args(["--json", "sync", "--all"]),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mirrors"].as_array().unwrap().len(), 1, "{v}");

    for reserved in ["all_latest.json", "all_latest.yaml", "index.html", "base"] {
        write(
            &cfg,
            &format!(
                "mirrors:\n  - name: {reserved}\n    baseurl: {}\n",
                w.upstream_url()
            ),
        );
        let out = run(w.mgr().arg("--config").arg(&cfg).arg("mirrors"));
        assert_eq!(out.status.code(), Some(2), "{reserved}");
        assert!(
            stderr(&out).contains("mirrors.yaml") && stderr(&out).contains("reserved"),
            "{reserved}: {}",
            stderr(&out)
        );
        let out = run(w.mgr().args(["sync", reserved, "--url", &w.upstream_url()]));
        assert_eq!(out.status.code(), Some(2), "{reserved}");
    }
    assert!(!w.root().join("all_latest.json").is_dir());
}

/// Issue 16.16: a closed pipe ends the command quietly; an unchanged sync
/// reports the package count; a failed first sync shows in verify and in
/// the index's warnings.
#[test]
fn pipes_unchanged_counts_and_failed_first_syncs() {
    let (w, _, b) = two_snapshots();
    for args in [
        &["snapshots", "m-el9"][..],
        &["--json", "snapshots", "m-el9"],
        &["verify"],
        &["diff", "m-el9", "base", "latest"],
    ] {
        let mut child = w
            .mgr()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(
            !stderr(&out).contains("panicked"),
            "{args:?}: {}",
            stderr(&out)
        );
    }

    let r = w.sync("m-el9");
    assert_eq!(r["status"], "unchanged");
    assert_eq!(r["snapshot"], b.as_str());
    assert_eq!(r["packages"], 1, "{r}");

    let dead_port = DeadPort::new();
    let dead = dead_port.url("nothing/");
    let out = run(w
        .mgr()
        .args(["sync", "new-el9", "--retries", "0", "--url", &dead]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("warning: index: new-el9: no snapshot yet; its last sync failed"),
        "{}",
        stderr(&out)
    );
    let out = run(w.mgr().arg("verify"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("new-el9 latest.txt: no snapshot yet: its last sync failed"),
        "{}",
        stdout(&out)
    );
    // A later success clears it.
    run_ok(
        w.mgr()
            .args(["sync", "new-el9", "--url", &w.upstream_url()]),
    );
    run_ok(w.mgr().arg("verify"));
}
