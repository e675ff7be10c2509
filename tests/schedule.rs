//! Issue 26, acceptance 1: `serve` syncs mirrors on their `schedule:`,
//! each about once an interval with jitter; a sync slower than its
//! interval never overlaps itself (the run is skipped and recorded); the
//! index and status after scheduled syncs equal those after command-line
//! syncs. Time is shortened with the test hook (a 1-minute schedule runs
//! every 2 s).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use mirror_e2e::fault::{Fault, FaultServer};
use mirror_e2e::*;

/// 1 minute / 30 = 2 s.
const SCALE: &str = "30";

fn config(root: &Path, fast: &str, slow: &str) -> PathBuf {
    let cfg = root.with_extension("yaml");
    write(
        &cfg,
        &format!(
            "root: {}\nbase_url: http://mirror.example/yum\nschedule: 1m\nschedule_jitter: 10%\nmirrors:\n  - name: a-el9\n    baseurl: {fast}\n  - name: b-el9\n    baseurl: {fast}\n  - name: slow-el9\n    baseurl: {slow}\n  - name: manual-el9\n    baseurl: {fast}\n    schedule: \"0 0 1 1 *\"\n",
            root.display()
        ),
    );
    cfg
}

fn mgr_cfg(cfg: &Path) -> Command {
    let mut c = Command::new(bin("mirror-mgr"));
    c.arg("--config").arg(cfg);
    c.env("MIRROR_MGR_RETRY_BACKOFF_MS", "10");
    c.env("MIRROR_MGR_SCHEDULE_SCALE", SCALE);
    c
}

/// (start, end) in seconds of every attempt of `mirror`, oldest first.
fn attempts(root: &Path, mirror: &str) -> Vec<(f64, f64, String)> {
    let text =
        std::fs::read_to_string(root.join(mirror).join(".attempts.jsonl")).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            let t: f64 = v["time"]
                .as_str()
                .and_then(|t| {
                    let out = Command::new("date")
                        .args(["-u", "-d", t, "+%s.%N"])
                        .output()
                        .ok()?;
                    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
                })
                .unwrap_or(0.0);
            let secs = v["seconds"].as_f64().unwrap_or(0.0);
            (t, t + secs, v["status"].as_str().unwrap_or("").to_owned())
        })
        .collect()
}

/// Snapshot names (`2026-12-07-18-23[-NN]`) replaced, so trees made at
/// other minutes compare.
fn mask_snapshots(text: &str) -> String {
    let b = text.as_bytes();
    let d = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let dash = |i: usize| b.get(i) == Some(&b'-');
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let snap = (0..4).all(|k| d(i + k))
            && [4, 7, 10, 13].iter().all(|&k| dash(i + k))
            && [5, 8, 11, 14].iter().all(|&k| d(i + k) && d(i + k + 1));
        if snap {
            i += 16;
            if dash(i) && d(i + 1) && d(i + 2) {
                i += 3;
            }
            out.push_str("<S>");
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

#[test]
fn scheduled_syncs_run_on_time_never_overlap_and_leave_the_cli_s_tree() {
    let d = tempdir();
    let up = d.path().join("repo");
    build_rpms(&up, "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    createrepo(&up, &RepoOpts::default());
    let fast = Nginx::serve(d.path());
    let slow = FaultServer::serve(d.path());
    // Every repomd.xml fetch of the slow mirror takes 3 s: its sync (two
    // fetches) outlasts the 2 s interval.
    slow.always(
        "/repo/repodata/repomd.xml",
        Fault::Stall(Duration::from_secs(3)),
    );
    let root = d.path().join("sched");
    let cfg = config(&root, &fast.url("repo/"), &slow.url("repo/"));
    std::fs::create_dir_all(&root).unwrap();

    let server = Server::start({
        let mut c = mgr_cfg(&cfg);
        c.arg("serve");
        c
    });
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(13));
    // What the scheduler plans shows in the API and in `status`.
    let (code, v) = server.json("GET", "/api/v1/mirrors/a-el9", None, None);
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["schedule"]["schedule"], "1m", "{v}");
    assert!(v["schedule"]["next_run"].as_str().is_some(), "{v}");
    // Issue 26, acceptance 4: /metrics passes promtool, its request
    // counter grows with requests, and it shows the scheduler's plan.
    let metrics = |server: &Server| -> String {
        let (code, _, body) = server.request("GET", "/metrics", None, None, &[]);
        assert_eq!(code, 200);
        String::from_utf8(body).unwrap()
    };
    let count = |m: &str| -> u64 {
        m.lines()
            .find(|l| {
                l.starts_with("mirror_mgr_http_requests_total{route=\"/api/v1/mirrors/{name}\",method=\"GET\",status=\"200\"}")
            })
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0)
    };
    let m1 = metrics(&server);
    assert_promtool_accepts(&m1);
    assert!(
        m1.contains("mirror_mgr_schedule_runs_total{mirror=\"a-el9\"}"),
        "{m1}"
    );
    assert!(m1.contains("mirror_mgr_syncs_running"), "{m1}");
    for _ in 0..3 {
        server.json("GET", "/api/v1/mirrors/a-el9", None, None);
    }
    let m2 = metrics(&server);
    assert_promtool_accepts(&m2);
    assert_eq!(count(&m2), count(&m1) + 3, "{m2}");
    // Paths never become labels: only route patterns and `files`.
    server.request("GET", "/no/such/path/12345", None, None, &[]);
    assert!(!metrics(&server).contains("12345"));
    let stopped = server.stop();
    let elapsed = started.elapsed().as_secs_f64();

    for m in ["a-el9", "b-el9"] {
        let a = attempts(&root, m);
        // About one run every 2 s (plus up to 10% jitter) over ~13 s.
        assert!(
            (4..=8).contains(&a.len()),
            "{m}: {} runs in {elapsed:.1} s: {a:?}\n{stopped}",
            a.len()
        );
        assert!(a.iter().all(|(_, _, s)| s != "failed"), "{m}: {a:?}");
    }
    // The slow mirror: never two syncs at once, and skipped runs recorded.
    let a = attempts(&root, "slow-el9");
    assert!(!a.is_empty(), "the slow mirror never synced\n{stopped}");
    for w in a.windows(2) {
        assert!(w[1].0 >= w[0].1 - 0.01, "overlapping syncs: {w:?}");
    }
    let status = run_ok(mgr_cfg(&cfg).args(["--json", "status"]));
    let st: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let slow_st = st
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mirror"] == "slow-el9")
        .unwrap();
    assert!(
        slow_st["schedule"]["skipped"].as_u64().unwrap() >= 1,
        "{slow_st}"
    );
    assert!(
        slow_st["schedule"]["last_skipped"]
            .as_str()
            .unwrap()
            .contains("still runs"),
        "{slow_st}"
    );
    let text = stdout(&run(mgr_cfg(&cfg).arg("status")));
    assert!(text.contains("schedule 1m: next sync 20"), "{text}");
    // A cron schedule far away: not run, its next run named.
    assert!(attempts(&root, "manual-el9").is_empty());
    // It never synced, so `status` does not list it: the plan names it,
    // due on the next 1 January, plus up to the default jitter (10% of the
    // year between two runs).
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join(".schedule.json")).unwrap()).unwrap();
    let next = plan["manual-el9"]["next_run"].as_str().unwrap_or_default();
    let year: u32 = plan["a-el9"]["last_start"].as_str().unwrap()[..4]
        .parse()
        .unwrap();
    assert!(
        next.starts_with(&format!("{}-01-", year + 1))
            || next.starts_with(&format!("{}-02-", year + 1)),
        "{plan}"
    );
    assert_eq!(plan["manual-el9"]["runs"], 0, "{plan}");

    // The same mirrors synced from the command line leave the same index
    // and status (snapshot names and times aside).
    let cli_root = d.path().join("cli");
    let cli_cfg = config(&cli_root, &fast.url("repo/"), &slow.url("repo/"));
    run_ok(mgr_cfg(&cli_cfg).args(["sync", "a-el9", "b-el9", "slow-el9"]));
    for f in ["all_latest.json", "all_latest.yaml"] {
        let sched = std::fs::read_to_string(root.join(f)).unwrap();
        let cli = std::fs::read_to_string(cli_root.join(f)).unwrap();
        assert_eq!(mask_snapshots(&sched), mask_snapshots(&cli), "{f}");
    }
    let health = |cfg: &Path| -> Vec<(String, String, u64)> {
        let out = run_ok(mgr_cfg(cfg).args(["--json", "status", "a-el9", "b-el9", "slow-el9"]));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["mirror"].as_str().unwrap().to_owned(),
                    m["health"].as_str().unwrap().to_owned(),
                    m["snapshots"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(health(&cfg), health(&cli_cfg));
}

#[test]
fn masking_snapshot_names() {
    assert_eq!(
        mask_snapshots("a/2026-12-07-18-23 b/2026-12-07-18-23-02/ 2026-12-07"),
        "a/<S> b/<S>/ 2026-12-07"
    );
}

#[test]
fn a_bad_schedule_names_the_mirror_and_the_value() {
    let d = tempdir();
    let cfg = d.path().join("c.yaml");
    for (line, needle) in [
        ("schedule: 10s", "shorter than 60 seconds"),
        ("schedule: \"61 * * * *\"", "not a cron expression"),
        ("schedule: 1h\n    schedule_jitter: 200%", "schedule_jitter"),
    ] {
        write(
            &cfg,
            &format!("mirrors:\n  - name: x-el9\n    baseurl: http://m/\n    {line}\n"),
        );
        let out = run(mgr_cfg(&cfg).args(["check-config"]));
        assert_eq!(out.status.code(), Some(2), "{line}");
        let err = stderr(&out);
        assert!(
            err.contains("c.yaml") && err.contains("x-el9") && err.contains(needle),
            "{line}: {err}"
        );
    }
}

/// `/metrics` is readable without a token, unless `--protect-reads`:
/// then it needs one, like the files and the API's reads.
#[test]
fn metrics_and_reads_behind_protect_reads() {
    let d = tempdir();
    let root = d.path().join("p");
    std::fs::create_dir_all(root.join("a-el9")).unwrap();
    write(&root.join("a-el9/latest.txt"), "garbage\n");
    let cfg = d.path().join("p.yaml");
    write(
        &cfg,
        &format!(
            "root: {}\nbase_url: http://mirror.example/yum\nmirrors: []\n",
            root.display()
        ),
    );
    let token = stdout(&run_ok(
        mgr_cfg(&cfg).args(["token", "add", "reader", "--scopes", "vote"]),
    ))
    .trim()
    .to_owned();
    let open = Server::start({
        let mut c = mgr_cfg(&cfg);
        c.arg("serve");
        c
    });
    assert_eq!(open.request("GET", "/metrics", None, None, &[]).0, 200);
    open.stop();
    let closed = Server::start({
        let mut c = mgr_cfg(&cfg);
        c.args(["serve", "--protect-reads"]);
        c
    });
    for path in ["/metrics", "/api/v1/mirrors", "/a-el9/latest.txt"] {
        assert_eq!(
            closed.request("GET", path, None, None, &[]).0,
            401,
            "{path}"
        );
        assert_eq!(
            closed.request("GET", path, Some(&token), None, &[]).0,
            200,
            "{path} with a token"
        );
    }
    closed.stop();
}
