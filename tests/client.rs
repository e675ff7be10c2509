//! End-to-end tests of `mirror-client` over the real binary: maps served by
//! nginx (good, 404, refused, truncated), files rewritten in place, and real
//! dnf obeying the files the client wrote.

use std::path::Path;
use std::process::Command;

use mirror_e2e::*;

/// A synced mirror `demo-el9` with alpha 1.0 in its latest snapshot.
fn synced_world() -> (World, String) {
    let w = World::new();
    build_rpms(
        &w.upstream(),
        "Packages",
        &[Pkg::new("alpha", "1.0", "1"), Pkg::new("beta", "1.0", "1")],
    );
    createrepo(&w.upstream(), &RepoOpts::default());
    let r = w.sync("demo-el9");
    assert_eq!(r["status"], "new_snapshot", "{r}");
    (w, r["snapshot"].as_str().unwrap().to_owned())
}

/// A complete dnf config whose `[main]` sends everything through a dead
/// proxy, with `repos` appended as sections.
fn job_conf(dnf: &Dnf, repos: &str) -> String {
    let d = dnf.dir.path().display();
    format!(
        "# CI job's dnf configuration\n[main]\ncachedir={d}/cache\nlogdir={d}/log\npersistdir={d}/persist\nreposdir=/nonexistent\n\
         gpgcheck=0\nmetadata_expire=0\nproxy=http://127.0.0.1:9/\ntimeout=5\nretries=1\n\n{repos}"
    )
}

fn dnf_install_with(dnf: &Dnf, conf: &Path, pkgs: &[&str]) -> std::process::Output {
    let mut c = Command::new(tool("dnf"));
    c.arg("-y")
        .arg("-c")
        .arg(conf)
        .arg("--noplugins")
        .arg(format!("--installroot={}", dnf.installroot().display()))
        .arg("--releasever=1")
        .arg("install")
        .args(pkgs);
    for v in ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"] {
        c.env_remove(v);
    }
    run(&mut c)
}

/// Acceptance 6 (and 3): mirror-mgr syncs and indexes, nginx serves the
/// root, mirror-client reads the index over HTTP and rewrites the job's
/// file, and dnf installs through it although the file's metalink host is
/// unreachable and [main] points at a dead proxy.
#[test]
fn full_cycle_index_over_http_then_dnf_obeys_the_rewritten_file() {
    let (w, snap) = synced_world();
    let dnf = Dnf::new();
    let repos = "[demo-el9]\nname=Demo (upstream)\nmetalink=https://unreachable.invalid/metalink?repo=demo&arch=$basearch\ngpgcheck=0\n\n[not-mirrored]\nname=Left alone\nbaseurl=http://127.0.0.1:9/nothing/\nenabled=0\n";
    let conf = dnf.dir.path().join("job.conf");
    write(&conf, &job_conf(&dnf, repos));

    // Before injection dnf cannot reach anything.
    let out = dnf_install_with(&dnf, &conf, &["alpha"]);
    assert!(!out.status.success(), "dnf must fail before injection");

    let index = w.nginx.url("mirrors/all_latest.json");
    let out = run_ok(client().args(["--mirrors", &index]).arg(&conf));
    let summary = stderr(&out);
    assert!(
        summary.contains(&format!("demo-el9 -> {}/demo-el9/{snap}", w.base_url())),
        "{summary}"
    );
    assert!(
        summary.contains("left alone: main, not-mirrored"),
        "{summary}"
    );
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(!text.contains("metalink="), "{text}");
    assert!(
        text.contains(&format!(
            "baseurl={}/demo-el9/{snap}\nproxy=_none_\n",
            w.base_url()
        )),
        "{text}"
    );
    assert!(text.contains(
        "[not-mirrored]\nname=Left alone\nbaseurl=http://127.0.0.1:9/nothing/\nenabled=0\n"
    ));

    let out = dnf_install_with(&dnf, &conf, &["alpha"]);
    assert!(
        out.status.success(),
        "dnf install through the rewritten file failed: {}",
        stderr(&out)
    );
    assert_eq!(dnf.installed_version("alpha").as_deref(), Some("1.0-1"));
    // The packages came from our snapshot.
    let gets = w.nginx.requests();
    assert!(
        gets.iter().any(|l| l.contains(&format!(
            "/mirrors/demo-el9/{snap}/Packages/alpha-1.0-1.noarch.rpm"
        ))),
        "{gets:?}"
    );

    // A second run is a no-op.
    let before = std::fs::read(&conf).unwrap();
    let out = run_ok(client().args(["--mirrors", &index]).arg(&conf));
    assert!(stderr(&out).contains("unchanged"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&conf).unwrap(), before);
}

/// Acceptance 3: which proxy none-values dnf 4 honours. With `[main]
/// proxy=` at a dead port, `_none_`, `None` and an empty value all let dnf
/// reach the loopback snapshot; with --allow-proxy (no proxy line) it fails.
#[test]
fn dnf_honours_the_proxy_none_values() {
    let (w, _snap) = synced_world();
    let index = w.nginx.url("mirrors/all_latest.json");
    let repos = "[demo-el9]\nname=Demo\nmetalink=https://unreachable.invalid/metalink?repo=demo\ngpgcheck=0\n";
    for (flag, expect_ok) in [
        (Some("_none_"), true),
        (Some("None"), true),
        (Some(""), true),
        (None, false),
    ] {
        let dnf = Dnf::new();
        let conf = dnf.dir.path().join("job.conf");
        write(&conf, &job_conf(&dnf, repos));
        let mut c = client();
        c.args(["--mirrors", &index]);
        match flag {
            Some(v) => c.arg(format!("--none-value={v}")),
            None => c.arg("--allow-proxy"),
        };
        run_ok(c.arg(&conf));
        let text = std::fs::read_to_string(&conf).unwrap();
        match flag {
            Some(v) => assert!(text.contains(&format!("\nproxy={v}\n")), "{text}"),
            None => assert_eq!(
                text.matches("proxy=").count(),
                1,
                "--allow-proxy adds no proxy line: {text}"
            ),
        }
        let out = dnf_install_with(&dnf, &conf, &["beta"]);
        assert_eq!(
            out.status.success(),
            expect_ok,
            "proxy {flag:?}: {}",
            stderr(&out)
        );
    }
}

/// Acceptance 1 (network part): an index served by a real HTTP server:
/// good, 404, connection refused, truncated JSON. Failures leave files
/// untouched and exit 0, or exit 3 with --strict.
#[test]
fn index_over_http_good_404_refused_truncated() {
    let (w, snap) = synced_world();
    write(
        &w.top.path().join("truncated.json"),
        "{\"latest_ci_repos\": {\"demo-el9\": \"http://x/dem",
    );
    let dir = tempdir();
    let original = "[demo-el9]\nbaseurl=http://upstream.example/repo/\n";
    let cases = [
        (w.nginx.url("mirrors/all_latest.json"), true),
        (w.nginx.url("mirrors/missing.json"), false),
        (
            format!("http://127.0.0.1:{}/all_latest.json", free_port()),
            false,
        ),
        (w.nginx.url("truncated.json"), false),
    ];
    for (url, good) in cases {
        let f = dir.path().join("job.repo");
        write(&f, original);
        let out = run(client().args(["--retries", "1", "--mirrors", &url]).arg(&f));
        assert_eq!(out.status.code(), Some(0), "{url}: {}", stderr(&out));
        let text = std::fs::read_to_string(&f).unwrap();
        if good {
            assert!(text.contains(&format!("/demo-el9/{snap}")), "{text}");
        } else {
            assert_eq!(text, original, "{url}: file must stay untouched");
            let err = stderr(&out);
            assert!(
                err.contains("warning: cannot load the mirror map") && err.contains(&url),
                "{url}: {err}"
            );
            assert!(err.contains("leaving 1 files untouched"), "{err}");
            let out = run(client()
                .args(["--retries", "0", "--strict", "--mirrors", &url])
                .arg(&f));
            assert_eq!(
                out.status.code(),
                Some(3),
                "{url} --strict: {}",
                stderr(&out)
            );
            assert_eq!(std::fs::read_to_string(&f).unwrap(), original);
        }
    }
    // The truncated body was retried before giving up.
    let tries = w
        .nginx
        .requests()
        .iter()
        .filter(|l| l.contains("truncated.json"))
        .count();
    assert!(tries >= 2, "truncated body fetched {tries} times");
}

/// Acceptance 4: a malformed file is left byte-for-byte untouched and
/// reported; the other files of the run are rewritten; exit status 1.
#[test]
fn malformed_file_untouched_others_rewritten() {
    let dir = tempdir();
    let good = dir.path().join("good.repo");
    let bad_dup = dir.path().join("dup.repo");
    let bad_utf8 = dir.path().join("latin1.repo");
    let list = dir.path().join("job.repos");
    write(&good, "[a-el7]\nmirrorlist=http://ml/\n");
    write(&bad_dup, "[a-el7]\nbaseurl=x\nbaseurl=y\n");
    std::fs::write(&bad_utf8, b"[a-el7]\nname=caf\xe9\n").unwrap();
    write(&list, "a-el7,http://up/a\n");
    let map = r#"data:application/json,{"a-el7":"http://m/a/S1"}"#;
    let out = run(client()
        .args(["--mirrors", map])
        .arg(&good)
        .arg(&bad_dup)
        .arg(&bad_utf8)
        .arg(&list));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("dup.repo: line 3: duplicate option \"baseurl\" in section [a-el7]"),
        "{err}"
    );
    assert!(
        err.contains("latin1.repo: line 2: not valid UTF-8"),
        "{err}"
    );
    assert!(err.contains("2 of 4 files could not be rewritten"), "{err}");
    assert_eq!(
        std::fs::read(&bad_dup).unwrap(),
        b"[a-el7]\nbaseurl=x\nbaseurl=y\n"
    );
    assert_eq!(
        std::fs::read(&bad_utf8).unwrap(),
        b"[a-el7]\nname=caf\xe9\n"
    );
    assert_eq!(
        std::fs::read_to_string(&good).unwrap(),
        "[a-el7]\nbaseurl=http://m/a/S1\nproxy=_none_\n"
    );
    assert_eq!(
        std::fs::read_to_string(&list).unwrap(),
        "a-el7,http://m/a/S1\n"
    );
}

/// Acceptance 5: freeze, then use the frozen file: same result as the live index.
#[test]
fn freeze_gives_the_same_result_as_the_live_index() {
    let (w, _snap) = synced_world();
    let index = w.nginx.url("mirrors/all_latest.json");
    let dir = tempdir();
    // A composed map: the live index included, plus an insert.
    write(
        &w.top.path().join("mirrors/composed.yaml"),
        "\"include:\": [all_latest.json]\nbefore:demo-el9:\n  - [demo-gated-el9, demo-el9/gated]\n",
    );
    let composed = w.nginx.url("mirrors/composed.yaml");
    let text = "[main]\ngpgcheck=0\n\n[demo-el9]\nmetalink=http://mm/x\n";
    let (live, frozen_repo) = (dir.path().join("live.repo"), dir.path().join("frozen.repo"));
    write(&live, text);
    write(&frozen_repo, text);
    for out_name in ["frozen.yaml", "frozen.json"] {
        let frozen = dir.path().join(out_name);
        run_ok(
            client()
                .args(["freeze", "--mirrors", &composed, "-o"])
                .arg(&frozen),
        );
        let shown = run_ok(client().args(["show", "--json", "--mirrors"]).arg(&frozen));
        let live_shown = run_ok(client().args(["show", "--json", "--mirrors", &composed]));
        assert_eq!(stdout(&shown), stdout(&live_shown));
    }
    run_ok(client().args(["--mirrors", &composed]).arg(&live));
    run_ok(
        client()
            .arg("--mirrors")
            .arg(dir.path().join("frozen.yaml"))
            .arg(&frozen_repo),
    );
    let a = std::fs::read_to_string(&live).unwrap();
    assert_eq!(a, std::fs::read_to_string(&frozen_repo).unwrap());
    assert!(
        a.contains(&format!(
            "[demo-gated-el9]\nbaseurl={}/demo-el9/gated\n",
            w.base_url()
        )),
        "{a}"
    );
    // CI_MIRRORS_URL is the default source.
    let third = dir.path().join("env.repo");
    write(&third, text);
    run_ok(client().env("CI_MIRRORS_URL", &index).arg(&third));
    assert!(
        std::fs::read_to_string(&third)
            .unwrap()
            .contains("/demo-el9/")
    );
}

/// --dry-run prints a unified diff and writes nothing.
#[test]
fn dry_run_prints_a_diff_and_writes_nothing() {
    let dir = tempdir();
    let f = dir.path().join("x.repo");
    write(&f, "[a-el7]\nname=A\nmirrorlist=http://ml/\n");
    let out = run_ok(
        client()
            .args([
                "--dry-run",
                "--mirrors",
                r#"data:application/json,{"a-el7":"http://m/a"}"#,
            ])
            .arg(&f),
    );
    let diff = stdout(&out);
    assert!(
        diff.contains("-mirrorlist=http://ml/\n+baseurl=http://m/a\n+proxy=_none_\n"),
        "{diff}"
    );
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "[a-el7]\nname=A\nmirrorlist=http://ml/\n"
    );
}

/// The README's first command: the bundled example runs offline end to end.
#[test]
fn bundled_example_runs_offline() {
    let top = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    tool("dnf");
    let out = run_ok(Command::new(top.join("examples/run")).env("MIRROR_EXAMPLE_NO_BUILD", "1"));
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(text.contains("example-el9: new snapshot"), "{text}");
    assert!(text.contains("example-el9: unchanged"), "{text}");
    assert!(text.contains("example-el9 -> file://"), "{text}");
    assert!(
        text.contains("installed: mirror-demo-tools 2.1-3, mirror-demo-data 0.3-1"),
        "{text}"
    );
    let job = std::fs::read_to_string(top.join("examples/out/ci-job.repo")).unwrap();
    assert!(
        !job.contains("metalink=") && job.contains("baseurl=file://"),
        "{job}"
    );
}

/// Issue 21, item 18: zypper reads `proxy=None` as a host named None; a
/// zypper repo file (under zypp/repos.d/, or with zypper-only keys) gets
/// `_none_`, a dnf file keeps the old client's `None`, and --none-value
/// still wins.
#[test]
fn zypper_repo_files_get_a_proxy_value_zypper_reads() {
    let (w, _snap) = synced_world();
    let index = w.nginx.url("mirrors/all_latest.json");
    let dir = w.top.path().join("job");
    let zypp = dir.join("etc/zypp/repos.d");
    let yum = dir.join("etc/yum.repos.d");
    std::fs::create_dir_all(&zypp).unwrap();
    std::fs::create_dir_all(&yum).unwrap();
    let section = "[demo-el9]\nname=demo\nbaseurl=http://upstream.invalid/\nenabled=1\n";
    write(&zypp.join("demo.repo"), section);
    write(&yum.join("demo.repo"), section);
    write(
        &yum.join("obs.repo"),
        &section.replace("enabled=1\n", "enabled=1\nautorefresh=1\n"),
    );
    run_ok(
        client()
            .args(["--mirrors", &index])
            .arg(zypp.join("demo.repo"))
            .arg(yum.join("demo.repo"))
            .arg(yum.join("obs.repo")),
    );
    let proxy = |p: &Path| {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("proxy=").map(str::to_owned))
    };
    assert_eq!(proxy(&zypp.join("demo.repo")).as_deref(), Some("_none_"));
    assert_eq!(proxy(&yum.join("obs.repo")).as_deref(), Some("_none_"));
    // demo-el9 ends in -elN: the old rule already says _none_ for dnf.
    assert_eq!(proxy(&yum.join("demo.repo")).as_deref(), Some("_none_"));
    let other = section.replace("demo-el9", "demo-x");
    write(&zypp.join("x.repo"), &other);
    write(&yum.join("x.repo"), &other);
    let map = w.top.path().join("map.yaml");
    write(&map, &format!("demo-x: {}/demo-el9/x\n", w.base_url()));
    run_ok(
        client()
            .arg("--mirrors")
            .arg(&map)
            .arg(zypp.join("x.repo"))
            .arg(yum.join("x.repo")),
    );
    assert_eq!(proxy(&zypp.join("x.repo")).as_deref(), Some("_none_"));
    assert_eq!(proxy(&yum.join("x.repo")).as_deref(), Some("None"));
    write(&zypp.join("x.repo"), &other);
    run_ok(
        client()
            .arg("--mirrors")
            .arg(&map)
            .args(["--none-value", ""])
            .arg(zypp.join("x.repo")),
    );
    assert_eq!(proxy(&zypp.join("x.repo")).as_deref(), Some(""));
}
