//! The command line as a release engineer meets it (issue 8): variables
//! from the command line reach config mirrors, `check-config`, per-command
//! help, completions and man pages, `snapshots` columns, and logs that say
//! what a sync decides, with timestamps when stderr is not a terminal.

use std::process::Command;

use mirror_e2e::*;

/// The bug: `--arch`/`--releasever` were ignored for mirrors defined in a
/// YAML config (`up/$basearch/$releasever/` became `up/x86_64/$releasever/`
/// and was refused as unexpanded). `mirrors` shows the resolved upstream.
#[test]
fn command_line_variables_reach_yaml_mirrors() {
    let w = World::new();
    let up = w.top.path().join("upstream/aarch64/10.1");
    build_rpms(&up, "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    createrepo(&up, &RepoOpts::default());
    let cfg = w.top.path().join("m.yaml");
    write(
        &cfg,
        &format!(
            "mirrors:\n  - name: v-el10\n    baseurl: {}$basearch/$releasever/\n",
            w.nginx.url("upstream/")
        ),
    );
    let out = run_ok(w.mgr().arg("--config").arg(&cfg).args([
        "mirrors",
        "--arch",
        "aarch64",
        "--releasever",
        "10.1",
    ]));
    assert!(
        stdout(&out).contains("upstream/aarch64/10.1/"),
        "{}",
        stdout(&out)
    );
    let out = run(w.mgr().arg("--config").arg(&cfg).args([
        "--json",
        "sync",
        "v-el10",
        "--arch",
        "aarch64",
        "--releasever",
        "10.1",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mirrors"][0]["status"], "new_snapshot", "{v}");
}

/// `check-config`: a typo is an error naming the file and line; a good
/// config lists its mirrors and touches nothing.
#[test]
fn check_config_names_the_line_and_touches_nothing() {
    let d = tempdir();
    let cfg = d.path().join("mirrors.yaml");
    write(
        &cfg,
        "root: /nonexistent/root\nmirrors:\n  - name: a-el9\n    baseurl: http://up/$basearch/\n    arhc: aarch64\n",
    );
    let out = run(Command::new(bin("mirror-mgr"))
        .arg("check-config")
        .arg("--config")
        .arg(&cfg));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("mirrors.yaml") && err.contains("line 5") && err.contains("arhc"),
        "{err}"
    );
    write(
        &cfg,
        "root: /nonexistent/root\nmirrors:\n  - name: a-el9\n    baseurl: http://up/$basearch/\n    exclude: foo*\n    minrate: 10k\n",
    );
    let out = run_ok(
        Command::new(bin("mirror-mgr"))
            .args(["check-config", "--arch", "ppc64le", "--config"])
            .arg(&cfg),
    );
    assert!(
        stdout(&out).contains("a-el9") && stdout(&out).contains("http://up/ppc64le/"),
        "{}",
        stdout(&out)
    );
    // Filters are honoured and shown; options this version does not act on are warned.
    assert!(
        stdout(&out).contains("(filter: exclude=foo*;"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("`minrate`") && !stderr(&out).contains("exclude"),
        "{}",
        stderr(&out)
    );
    assert!(!std::path::Path::new("/nonexistent/root").exists());
}

/// Per-command help lists only what the command uses; completions and
/// man pages come from the same definitions.
#[test]
fn help_completions_and_man_pages() {
    let help = stdout(&run_ok(
        Command::new(bin("mirror-mgr")).args(["snapshots", "--help"]),
    ));
    assert!(help.contains("--root") && !help.contains("--base-url") && !help.contains("--wait"));
    let help = stdout(&run_ok(Command::new(bin("mirror-mgr")).arg("--help")));
    assert!(help.contains("3 mirror locked"), "{help}");
    for shell in ["bash", "zsh", "fish"] {
        let out = run_ok(Command::new(bin("mirror-mgr")).args(["completions", shell]));
        let text = stdout(&out);
        assert!(
            text.contains("mirror-mgr")
                && text.contains("check-config")
                && text.contains("keep-within"),
            "{shell}"
        );
    }
    if std::process::Command::new("bash")
        .arg("--version")
        .output()
        .is_ok()
    {
        let out = run_ok(Command::new(bin("mirror-mgr")).args(["completions", "bash"]));
        let f = tempdir();
        let script = f.path().join("c.bash");
        std::fs::write(&script, out.stdout).unwrap();
        run_ok(Command::new("bash").arg("-n").arg(&script));
    }
    let d = tempdir();
    run_ok(
        Command::new(bin("mirror-mgr"))
            .args(["man", "-o"])
            .arg(d.path()),
    );
    let page = std::fs::read_to_string(d.path().join("mirror-mgr-sync.1")).unwrap();
    assert!(
        page.contains(".TH") && page.contains("detailed\\-exitcode"),
        "{page}"
    );
    assert!(d.path().join("mirror-mgr.1").is_file());
}

/// `snapshots` shows creation time, pinned and held-back snapshots; `-v`
/// logs what the sync decided, with timestamps when stderr is not a tty.
#[test]
fn snapshots_columns_and_verbose_logs() {
    let w = World::new();
    let up = w.upstream();
    build_rpms(&up, "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    createrepo(&up, &RepoOpts::default());
    let a = w.sync("m-el9")["snapshot"].as_str().unwrap().to_owned();
    build_rpms(&up, "Packages", &[Pkg::new("beta", "1.0", "1")]);
    createrepo(&up, &RepoOpts::default());
    let b = w.sync("m-el9")["snapshot"].as_str().unwrap().to_owned();
    run_ok(w.mgr().args(["pin", "m-el9", &a]));
    run_ok(w.mgr().args(["rollback", "m-el9", "--to", &a]));
    let out = stdout(&run_ok(w.mgr().args(["snapshots", "m-el9"])));
    let line = |s: &str| out.lines().find(|l| l.starts_with(s)).unwrap().to_owned();
    let created = format!(
        "{}-{}-{}T{}:{}Z",
        &a[..4],
        &a[5..7],
        &a[8..10],
        &a[11..13],
        &a[14..16]
    );
    assert!(
        line(&a).contains(&created) && line(&a).contains("latest, pinned"),
        "{out}"
    );
    assert!(line(&b).contains("held back by a rollback"), "{out}");

    let out = run_ok(
        w.mgr()
            .args(["-v", "sync", "m-el9", "--url", &w.upstream_url()]),
    );
    let log = stderr(&out);
    let first = log.lines().find(|l| l.contains("INFO")).unwrap_or_default();
    assert!(
        first.starts_with("20") && first.contains('T'),
        "no timestamp: {log}"
    );
    assert!(log.contains("held back"), "{log}");
}
