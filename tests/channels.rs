//! Channels (issue 11, first part): a set a CI job used is promoted to a
//! channel, clients on that channel install its versions while `latest`
//! moves on, gc keeps what a channel needs, channel rollback, refusals,
//! and SIGKILL at every step of a promotion.

use std::path::Path;

use mirror_e2e::*;

/// `all_<channel>.json` as mirror -> snapshot name.
/// Replace the upstream at `up` with one package, `pkg-<name>-<version>-1`.
fn publish_upstream(up: &Path, name: &str, version: &str) {
    let _ = std::fs::remove_dir_all(up.join("Packages"));
    build_rpms(
        up,
        "Packages",
        &[Pkg::new(&format!("pkg-{name}"), version, "1")],
    );
    createrepo(up, &RepoOpts::default());
}

fn channel_set(root: &Path, ch: &str) -> std::collections::BTreeMap<String, String> {
    let text = std::fs::read_to_string(root.join(format!("all_{ch}.json"))).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&text).expect("the channel index always parses");
    v[format!("{ch}_ci_repos")]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, u)| {
            (
                k.clone(),
                u.as_str().unwrap().rsplit('/').next().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn promote_client_gc_rollback_and_crashes() {
    let w = World::new();
    let ups = [
        w.top.path().join("upstream/a"),
        w.top.path().join("upstream/b"),
    ];
    let sync_all = |version: &str| -> Vec<String> {
        ["a-el9", "b-el9"]
            .iter()
            .zip(&ups)
            .map(|(name, up)| {
                publish_upstream(up, name, version);
                let url = w.nginx.url(&format!(
                    "upstream/{}/",
                    up.file_name().unwrap().to_string_lossy()
                ));
                let out = run_ok(w.mgr().args(["--json", "sync", name, "--url", &url]));
                let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                v["mirrors"][0]["snapshot"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    let set_a = sync_all("1.0");
    let index = w.nginx.url("mirrors/all_latest.json");
    let frozen_a = w.top.path().join("set-a.yaml");
    run_ok(
        client()
            .args(["freeze", "--mirrors", &index, "-o"])
            .arg(&frozen_a),
    );
    let set_b = sync_all("2.0");

    // Promote set A: both mirrors move at once; the record is kept.
    run_ok(
        w.mgr()
            .args([
                "promote",
                "--channel",
                "tested",
                "--reason",
                "job-a and job-b passed",
                "--set",
            ])
            .arg(&frozen_a),
    );
    let root = w.root();
    let got = channel_set(&root, "tested");
    assert_eq!(got["a-el9"], set_a[0]);
    assert_eq!(got["b-el9"], set_a[1]);
    let ch: serde_json::Value =
        serde_json::from_slice(&run_ok(w.mgr().args(["--json", "channels"])).stdout).unwrap();
    assert_eq!(ch["tested"]["pointers"]["a-el9"], set_a[0].as_str(), "{ch}");
    assert_eq!(
        ch["tested"]["promotions"][0]["reason"], "job-a and job-b passed",
        "{ch}"
    );
    assert!(
        !ch["tested"]["promotions"][0]["by"]
            .as_str()
            .unwrap()
            .is_empty(),
        "{ch}"
    );
    let h: serde_json::Value =
        serde_json::from_slice(&run_ok(w.mgr().args(["--json", "history", "a-el9"])).stdout)
            .unwrap();
    assert_eq!(h[0]["channels"], serde_json::json!(["tested"]), "{h}");
    assert_eq!(h[1]["channels"], serde_json::json!(["latest"]), "{h}");

    // A job on `tested` installs A's versions; one on latest gets B's.
    for (channel, version) in [(Some("tested"), "1.0-1"), (None, "2.0-1")] {
        let dnf = Dnf::new();
        let d = dnf.dir.path().display();
        let conf = dnf.dir.path().join("job.conf");
        write(
            &conf,
            &format!(
                "[main]\ncachedir={d}/cache\nlogdir={d}/log\npersistdir={d}/persist\nreposdir=/nonexistent\ngpgcheck=0\nmetadata_expire=0\n\n[a-el9]\nbaseurl=http://127.0.0.1:9/\n"
            ),
        );
        let mut c = client();
        c.args(["--mirrors", &index]);
        if let Some(ch) = channel {
            c.args(["--channel", ch]);
        }
        run_ok(c.arg(&conf));
        let mut install = dnf.cmd();
        install.arg("-c").arg(&conf).args(["install", "pkg-a-el9"]);
        let out = run(&mut install);
        assert!(out.status.success(), "{channel:?}: {}", stderr(&out));
        assert_eq!(
            dnf.installed_version("pkg-a-el9").as_deref(),
            Some(version),
            "{channel:?}"
        );
    }

    // gc keeps what the channel needs, and says so.
    let out = run_ok(w.mgr().args(["gc", "--keep-last", "1"]));
    assert!(
        stdout(&out).contains(&format!("{} for channel tested", set_a[0])),
        "{}",
        stdout(&out)
    );
    assert!(root.join("a-el9").join(&set_a[0]).is_dir());

    // Refusals change nothing: an unknown snapshot (exit 2), a damaged one.
    let out = run(w.mgr().args([
        "promote",
        "a-el9",
        "2001-01-01-00-00",
        "--channel",
        "tested",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    std::fs::remove_file(
        root.join("b-el9")
            .join(&set_b[1])
            .join("repodata/repomd.xml"),
    )
    .unwrap();
    let out = run(w
        .mgr()
        .args(["promote", "b-el9", &set_b[1], "--channel", "tested"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("does not verify"), "{}", stderr(&out));
    assert_eq!(channel_set(&root, "tested")["b-el9"], set_a[1]);

    // Channel rollback: forward to B for a-el9, then back.
    run_ok(
        w.mgr()
            .args(["promote", "a-el9", &set_b[0], "--channel", "tested"]),
    );
    assert_eq!(channel_set(&root, "tested")["a-el9"], set_b[0]);
    run_ok(w.mgr().args(["rollback", "a-el9", "--channel", "tested"]));
    assert_eq!(channel_set(&root, "tested")["a-el9"], set_a[0]);
    assert_eq!(
        std::fs::read_to_string(root.join("a-el9/tested.txt"))
            .unwrap()
            .trim(),
        set_a[0]
    );
    let ch: serde_json::Value =
        serde_json::from_slice(&run_ok(w.mgr().args(["--json", "channels"])).stdout).unwrap();
    assert_eq!(
        ch["tested"]["promotions"].as_array().unwrap().len(),
        3,
        "{ch}"
    );

    // SIGKILL at every step of a promotion of both mirrors to B: clients see
    // A or B whole, and the next promotion finishes the job.
    let frozen_b = w.top.path().join("set-b.yaml");
    write(
        &frozen_b,
        &format!(
            "a-el9: {}/a-el9/{}\nb-el9: {}/b-el9/{}\n",
            w.base_url(),
            set_b[0],
            w.base_url(),
            set_a[1]
        ),
    );
    let old = channel_set(&root, "tested");
    for point in [
        "promote-journal-written",
        "promote-pointer-written@1",
        "promote-pointer-written@2",
        "promote-index-written",
    ] {
        // Back to the old state first.
        run_ok(
            w.mgr()
                .args(["promote", "a-el9", &set_a[0], "--channel", "tested"]),
        );
        let out = run(w
            .mgr()
            .env("MIRROR_MGR_CRASH_AT", point)
            .args(["promote", "--channel", "tested", "--set"])
            .arg(&frozen_b));
        assert!(!out.status.success(), "{point}: not killed");
        let seen = channel_set(&root, "tested");
        let new: std::collections::BTreeMap<String, String> = [
            ("a-el9".to_owned(), set_b[0].clone()),
            ("b-el9".to_owned(), set_a[1].clone()),
        ]
        .into();
        assert!(seen == old || seen == new, "{point}: a mix: {seen:?}");
        // Any next promotion first finishes the interrupted one.
        run_ok(
            w.mgr()
                .args(["promote", "b-el9", &set_a[1], "--channel", "tested"]),
        );
        if point != "promote-journal-written" || seen == new {
            assert_eq!(channel_set(&root, "tested"), new, "{point}: not finished");
        }
    }
}

/// Acceptance 1 and 4: a policy promotes a set when every required job
/// passed on it and none failed; 20 concurrent votes all count and cause
/// exactly one promotion.
#[test]
fn votes_promote_by_policy() {
    let w = World::new();
    let ups = [
        w.top.path().join("upstream/a"),
        w.top.path().join("upstream/b"),
    ];
    let cfg = w.top.path().join("m.yaml");
    let jobs: Vec<String> = (0..20).map(|i| format!("j{i}")).collect();
    write(
        &cfg,
        &format!(
            "mirrors:\n  - name: a-el9\n    baseurl: {}\n  - name: b-el9\n    baseurl: {}\nchannels:\n  tested:\n    require: [job-a, job-b]\n  smoke:\n    require: [{}]\n",
            w.nginx.url("upstream/a/"),
            w.nginx.url("upstream/b/"),
            jobs.join(", ")
        ),
    );
    let mgr = || {
        let mut c = w.mgr();
        c.arg("--config").arg(&cfg);
        c
    };
    let index = w.nginx.url("mirrors/all_latest.json");
    let mut frozen = Vec::new();
    for version in ["1.0", "2.0"] {
        for (name, up) in ["a-el9", "b-el9"].iter().zip(&ups) {
            publish_upstream(up, name, version);
        }
        run_ok(mgr().args(["sync", "--all"]));
        let f = w.top.path().join(format!("set-{version}.yaml"));
        run_ok(client().args(["freeze", "--mirrors", &index, "-o"]).arg(&f));
        frozen.push(f);
    }
    let (a, b) = (&frozen[0], &frozen[1]);
    let vote = |set: &Path, job: &str, verdict: &str| {
        run_ok(
            mgr()
                .args(["vote", "--job", job, verdict, "--set"])
                .arg(set),
        );
    };
    let root = w.root();
    vote(a, "job-a", "--pass");
    assert!(
        !root.join("all_tested.json").exists(),
        "promoted on one of two jobs"
    );
    vote(a, "job-b", "--pass");
    let set_a = channel_set(&root, "tested");
    assert_eq!(set_a.len(), 2);
    // A failure on B keeps tested at A, whatever passes after it.
    vote(b, "job-b", "--fail");
    vote(b, "job-a", "--pass");
    vote(b, "job-b", "--pass");
    assert_eq!(channel_set(&root, "tested"), set_a);
    // An unknown snapshot in a set is refused.
    let bad = w.top.path().join("bad.yaml");
    write(
        &bad,
        &format!("a-el9: {}/a-el9/2001-01-01-00-00\n", w.base_url()),
    );
    let out = run(mgr()
        .args(["vote", "--job", "x", "--pass", "--set"])
        .arg(&bad));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    // 20 jobs vote at the same moment on A.
    let children: Vec<_> = jobs
        .iter()
        .map(|j| {
            mgr()
                .args(["vote", "--job", j, "--pass", "--set"])
                .arg(a)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&run_ok(mgr().args(["--json", "votes", "--set"]).arg(a)).stdout)
            .unwrap();
    assert_eq!(v["votes"].as_array().unwrap().len(), 22, "{v}");
    let ch: serde_json::Value =
        serde_json::from_slice(&run_ok(mgr().args(["--json", "channels"])).stdout).unwrap();
    assert_eq!(
        ch["smoke"]["promotions"].as_array().unwrap().len(),
        1,
        "{ch}"
    );
    assert_eq!(channel_set(&root, "smoke"), set_a);
}

/// Acceptance 3: `--at` picks, per mirror, the newest snapshot made at or
/// before a time; a mirror with none that old is left alone with a warning
/// (exit 3 with --strict); `freeze --at` then `--mirrors frozen` agree.
#[test]
fn time_travel() {
    let w = World::new();
    let sync = |name: &str, version: &str| -> String {
        let up = w.top.path().join("upstream").join(name);
        publish_upstream(&up, name, version);
        let url = w.nginx.url(&format!("upstream/{name}/"));
        let out = run_ok(w.mgr().args(["--json", "sync", name, "--url", &url]));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["mirrors"][0]["snapshot"].as_str().unwrap().to_owned()
    };
    let a1 = sync("a-el9", "1.0");
    let a2 = sync("a-el9", "2.0");
    // Snapshot names have minute precision: b-el9's first snapshot must
    // fall in a later minute to be "made after" a2.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    std::thread::sleep(std::time::Duration::from_secs(61 - secs % 60));
    let b1 = sync("b-el9", "1.0");
    assert!(a1 < a2 && a2 < b1);
    let index = w.nginx.url("mirrors/all_latest.json");
    let job = w.top.path().join("job.repo");
    let original = "[a-el9]\nbaseurl=http://up/a/\n\n[b-el9]\nbaseurl=http://up/b/\n";
    let rewrite = |at: &str, strict: bool| -> (std::process::Output, String) {
        write(&job, original);
        let mut c = client();
        c.args(["--mirrors", &index, "--at", at]);
        if strict {
            c.arg("--strict");
        }
        let out = run(c.arg(&job));
        (out, std::fs::read_to_string(&job).unwrap())
    };
    let url = |m: &str, s: &str| format!("{}/{m}/{s}", w.base_url());

    let (out, text) = rewrite("2001-01-01T00:00:00Z", false);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("no snapshot made at or before") && stderr(&out).contains("a-el9"),
        "{}",
        stderr(&out)
    );
    assert_eq!(text, original);
    let (out, _) = rewrite("2001-01-01T00:00:00Z", true);
    assert_eq!(out.status.code(), Some(3));

    let (out, text) = rewrite(&a1, false);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        text.contains(&format!("baseurl={}", url("a-el9", &a1))),
        "{text}"
    );
    assert!(
        text.contains("baseurl=http://up/b/"),
        "b-el9 did not exist yet: {text}"
    );
    assert!(stderr(&out).contains("b-el9"), "{}", stderr(&out));

    let (_, text) = rewrite(&a2, false);
    assert!(
        text.contains(&format!("baseurl={}", url("a-el9", &a2))),
        "{text}"
    );

    let (out, text) = rewrite("2100-01-01T00:00:00Z", true);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        text.contains(&format!("baseurl={}", url("a-el9", &a2))),
        "{text}"
    );
    assert!(
        text.contains(&format!("baseurl={}", url("b-el9", &b1))),
        "{text}"
    );

    // freeze --at, then the frozen map: the same file.
    let frozen = w.top.path().join("frozen.yaml");
    run_ok(
        client()
            .args(["freeze", "--mirrors", &index, "--at", &a2, "-o"])
            .arg(&frozen),
    );
    let (_, via_at) = rewrite(&a2, false);
    write(&job, original);
    run_ok(client().arg("--mirrors").arg(&frozen).arg(&job));
    assert_eq!(std::fs::read_to_string(&job).unwrap(), via_at);
}

/// Issue 21, items 9, 10 and 14: a rolled-back set stays off its channel
/// whatever votes arrive until an admin promotes it; channel names the
/// tree uses are refused (promote, config, the client); a vote token bound
/// to jobs votes only as them, and `token list` / `check-config` warn about
/// a token that could satisfy a policy alone; votes are appended, capped.
#[test]
fn rollback_holds_reserved_names_and_bound_tokens() {
    let w = World::new();
    let up = w.top.path().join("upstream/a");
    let cfg = w.top.path().join("m.yaml");
    write(
        &cfg,
        &format!(
            "mirrors:\n  - name: a-el9\n    baseurl: {}\nchannels:\n  tested:\n    require: [unit, e2e]\n",
            w.nginx.url("upstream/a/"),
        ),
    );
    let mgr = || {
        let mut c = w.mgr();
        c.arg("--config").arg(&cfg);
        c
    };
    let mut snaps = Vec::new();
    for version in ["1.0", "2.0"] {
        publish_upstream(&up, "a-el9", version);
        let out = run_ok(mgr().args(["--json", "sync", "a-el9"]));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        snaps.push(v["mirrors"][0]["snapshot"].as_str().unwrap().to_owned());
    }
    let root = w.root();
    let set_of = |snap: &str| {
        let f = w.top.path().join(format!("set-{snap}.yaml"));
        write(&f, &format!("a-el9: {}/a-el9/{snap}\n", w.base_url()));
        f
    };
    let (s1, s2) = (set_of(&snaps[0]), set_of(&snaps[1]));
    let vote = |set: &Path, job: &str| {
        run_ok(
            mgr()
                .args(["vote", "--job", job, "--pass", "--set"])
                .arg(set),
        );
    };
    vote(&s1, "unit");
    vote(&s1, "e2e");
    vote(&s2, "unit");
    vote(&s2, "e2e");
    assert_eq!(channel_set(&root, "tested")["a-el9"], snaps[1]);

    // Roll tested back to the first set; a late passing vote on the second
    // (a retried CI job) does not move it forward again.
    run_ok(mgr().args(["rollback", "a-el9", "--channel", "tested"]));
    assert_eq!(channel_set(&root, "tested")["a-el9"], snaps[0]);
    vote(&s2, "e2e");
    vote(&s2, "unit");
    assert_eq!(
        channel_set(&root, "tested")["a-el9"],
        snaps[0],
        "a vote undid the rollback"
    );
    // An admin's promotion brings it back, and clears the rejection.
    run_ok(mgr().args(["promote", "a-el9", &snaps[1], "--channel", "tested"]));
    assert_eq!(channel_set(&root, "tested")["a-el9"], snaps[1]);

    // Reserved channel names, everywhere one is read.
    for name in ["snapshots", "base", "latest"] {
        let out = run(mgr().args(["promote", "a-el9", &snaps[0], "--channel", name]));
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
    }
    assert!(!root.join("a-el9/snapshots.txt").exists());
    let bad_cfg = w.top.path().join("bad.yaml");
    write(
        &bad_cfg,
        "mirrors: []\nchannels:\n  snapshots:\n    require: [unit]\n",
    );
    let out = run(w.mgr().arg("check-config").arg("--config").arg(&bad_cfg));
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("reserved"), "{}", stderr(&out));
    for (name, why) in [("snapshots", "reserved"), ("Tested", "lowercase")] {
        let out = run(client()
            .args([
                "--mirrors",
                &w.nginx.url("mirrors/all_latest.json"),
                "--channel",
                name,
                "freeze",
                "-o",
            ])
            .arg(w.top.path().join("f.yaml")));
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        assert!(stderr(&out).contains(why), "{name}: {}", stderr(&out));
    }

    // Tokens: one unbound vote token draws a warning; a bound one votes
    // only as its jobs, over the API.
    let add = |name: &str, jobs: Option<&str>| {
        let mut c = mgr();
        c.args(["token", "add", name, "--scopes", "vote"]);
        if let Some(j) = jobs {
            c.args(["--jobs", j]);
        }
        stdout(&run_ok(&mut c)).trim().to_owned()
    };
    let unit = add("ci-unit", Some("unit"));
    let out = run_ok(mgr().args(["token", "list"]));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    assert!(stdout(&out).contains("ci-unit") && stdout(&out).contains("unit"));
    add("ci-any", None);
    let out = run_ok(mgr().args(["token", "list"]));
    assert!(
        stderr(&out).contains("token ci-any is not bound") && stderr(&out).contains("tested"),
        "{}",
        stderr(&out)
    );
    let out = run_ok(mgr().arg("check-config"));
    assert!(stderr(&out).contains("token ci-any"), "{}", stderr(&out));
    let server = Server::start({
        let mut c = mgr();
        c.arg("serve");
        c
    });
    let body = |job: &str| {
        format!(
            r#"{{"set": {{"a-el9": "{}"}}, "job": "{job}", "result": "pass"}}"#,
            snaps[0]
        )
    };
    let (code, v) = server.json("POST", "/api/v1/votes", Some(&unit), Some(&body("e2e")));
    assert_eq!(code, 403, "{v}");
    let (code, v) = server.json("POST", "/api/v1/votes", Some(&unit), Some(&body("unit")));
    assert_eq!(code, 201, "{v}");
    drop(server);

    // Votes are appended (a line cut by a crash spoils only itself).
    let votes_dir = root.join(".channels/votes");
    let file = std::fs::read_dir(&votes_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.extension().is_some_and(|e| e == "jsonl")
                && std::fs::read_to_string(p).unwrap().contains("\"unit\"")
        })
        .unwrap();
    let before = std::fs::read_to_string(&file).unwrap();
    let mut cut = before.clone();
    cut.push_str("{\"time\": \"2026-");
    std::fs::write(&file, &cut).unwrap();
    vote(&s1, "late");
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(after.starts_with(&cut), "votes were rewritten");
    let v: serde_json::Value =
        serde_json::from_slice(&run_ok(mgr().args(["--json", "votes", "--set"]).arg(&s1)).stdout)
            .unwrap();
    let jobs: Vec<&str> = v["votes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["job"].as_str().unwrap())
        .collect();
    assert_eq!(jobs.last(), Some(&"late"), "{v}");
}
