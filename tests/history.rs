//! What every snapshot holds and how the mirrors are doing (issue 13):
//! manifests checked against `diff`, the attempt log, health going
//! `failing` and back, and metrics that `promtool` accepts.

use mirror_e2e::*;

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

#[test]
fn history_status_health_and_metrics() {
    let w = World::new();
    let up = w.upstream();
    let cfg = w.top.path().join("m.yaml");
    write(
        &cfg,
        &format!(
            "mirrors:\n  - name: h-el9\n    baseurl: {}\n    failing_after: 2\n",
            w.upstream_url()
        ),
    );
    let mgr = || {
        let mut c = w.mgr();
        c.arg("--config").arg(&cfg);
        c
    };
    // Five upstream changes: new packages, upgrades, a removal.
    let steps: [&[(&str, &str)]; 5] = [
        &[("alpha", "1.0"), ("beta", "1.0")],
        &[("alpha", "1.1"), ("beta", "1.0"), ("gamma", "1.0")],
        &[("alpha", "1.1"), ("gamma", "1.0")],
        &[("alpha", "2.0"), ("gamma", "1.0"), ("delta", "1.0")],
        &[
            ("alpha", "2.0"),
            ("gamma", "1.1"),
            ("delta", "1.0"),
            ("eps", "1.0"),
        ],
    ];
    let mut snaps = Vec::new();
    for pkgs in steps {
        let _ = std::fs::remove_dir_all(up.join("Packages"));
        let list: Vec<Pkg> = pkgs.iter().map(|(n, v)| Pkg::new(n, v, "1")).collect();
        build_rpms(&up, "Packages", &list);
        createrepo(&up, &RepoOpts::default());
        let out = run_ok(mgr().args(["--json", "sync", "h-el9"]));
        snaps.push(
            json(&out)["mirrors"][0]["snapshot"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    run_ok(mgr().args(["sync", "h-el9"])); // unchanged
    let hidden = up.with_file_name("hidden");
    std::fs::rename(&up, &hidden).unwrap();
    let out = run(mgr().args(["sync", "h-el9", "--retries", "0"]));
    assert_eq!(out.status.code(), Some(1));

    // history: 5 snapshots, counts and changes as diff sees them.
    let h = json(&run_ok(mgr().args(["--json", "history", "h-el9"])));
    let rows = h.as_array().unwrap();
    assert_eq!(rows.len(), 5, "{h}");
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r["snapshot"], snaps[i].as_str());
        assert!(
            r["created"].as_str().unwrap().starts_with(&snaps[i][..10]),
            "{r}"
        );
        assert_eq!(r["packages"], steps[i].len(), "{r}");
        let from = if i == 0 {
            "base".to_owned()
        } else {
            snaps[i - 1].clone()
        };
        if i > 0 {
            let d = json(&run_ok(
                mgr().args(["--json", "diff", "h-el9", &from, &snaps[i]]),
            ));
            for (k, key) in [
                ("added", "added"),
                ("removed", "removed"),
                ("upgraded", "upgraded"),
                ("downgraded", "downgraded"),
            ] {
                assert_eq!(
                    r[k],
                    d[key].as_array().unwrap().len(),
                    "{k} of {}: {r} vs {d}",
                    snaps[i]
                );
            }
        }
        assert!(
            r["bytes"].as_u64().unwrap() > 0 && r["unique_bytes"].as_u64().unwrap() > 0,
            "{r}"
        );
    }
    assert_eq!(rows[4]["channels"], serde_json::json!(["latest"]));
    assert_eq!(
        (rows[1]["added"].as_u64(), rows[1]["upgraded"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(rows[2]["removed"].as_u64(), Some(1));

    // status: the failure is the last attempt; one failure is not yet failing.
    let st = run(mgr().args(["--json", "status"]));
    let s = &json(&st)[0];
    assert_eq!(s["last_attempt"]["status"], "failed", "{s}");
    assert!(
        s["last_attempt"]["error"]
            .as_str()
            .unwrap()
            .contains("upstream/repo"),
        "{s}"
    );
    assert_eq!(s["health"], "ok", "{s}");
    assert_eq!(st.status.code(), Some(0));
    assert_eq!(s["latest"], snaps[4].as_str());
    assert_eq!(s["latest_packages"], 4);
    assert_eq!(s["snapshots"], 5);

    // A second failure: failing (failing_after: 2), and status exits 1.
    run(mgr().args(["sync", "h-el9", "--retries", "0"]));
    let st = run(mgr().args(["--json", "status"]));
    assert_eq!(json(&st)[0]["health"], "failing");
    assert_eq!(st.status.code(), Some(1));

    // metrics agree with status and pass promtool.
    let m = stdout(&run_ok(mgr().args(["metrics"])));
    assert!(
        m.contains("mirror_mgr_health{mirror=\"h-el9\",health=\"failing\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("mirror_mgr_snapshots{mirror=\"h-el9\"} 5"),
        "{m}"
    );
    assert!(
        m.contains("mirror_mgr_latest_packages{mirror=\"h-el9\"} 4"),
        "{m}"
    );
    assert_promtool_accepts(&m);
    let file = w.top.path().join("mirror_mgr.prom");
    run_ok(mgr().arg("metrics").arg("-o").arg(&file));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap().trim_end(),
        m.trim_end()
    );

    // Back: a success makes it ok again.
    std::fs::rename(&hidden, &up).unwrap();
    run_ok(mgr().args(["sync", "h-el9"]));
    let st = run(mgr().args(["--json", "status"]));
    assert_eq!(json(&st)[0]["health"], "ok");
    assert_eq!(st.status.code(), Some(0));

    // A snapshot without a manifest (made before this feature) gets one on
    // first need, with the same figures.
    let man = w
        .root()
        .join("h-el9/.manifests")
        .join(format!("{}.json", snaps[2]));
    let before = std::fs::read_to_string(&man).unwrap();
    std::fs::remove_file(&man).unwrap();
    let again = json(&run_ok(mgr().args(["--json", "history", "h-el9"])));
    assert_eq!(again[2]["packages"], rows[2]["packages"]);
    assert_eq!(again[2]["added"], rows[2]["added"]);
    assert!(man.exists() && !before.is_empty());
}
