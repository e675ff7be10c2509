//! Concurrency and resource exhaustion with real processes: one writer per
//! mirror, parallel mirrors with an index that never interleaves, readers
//! that never see a missing or partial file while syncs and gc run, and a
//! full disk that fails cleanly.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mirror_e2e::fault::{Fault, FaultServer};
use mirror_e2e::*;

fn repo(dir: &Path, pkgs: &[Pkg]) {
    build_rpms(dir, "Packages", pkgs);
    createrepo(dir, &RepoOpts::default());
}

#[test]
fn same_mirror_twice_fails_fast_or_waits() {
    let top = tempdir();
    repo(
        &top.path().join("repo"),
        &[Pkg::new("alpha", "1.0", "1"), Pkg::new("beta", "1.0", "1")],
    );
    let server = FaultServer::serve(top.path());
    // Make the first sync slow: a package trickles in over ~1 s.
    server.always(
        "/repo/Packages/alpha-1.0-1.noarch.rpm",
        Fault::Trickle(Duration::from_millis(200)),
    );
    let root = top.path().join("mirrors");
    let url = server.url("repo/");
    let mut first = mgr(&root, "http://m/yum")
        .args(["sync", "busy-el9", "--url", &url, "-q"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.hits("/repo/Packages/alpha-1.0-1.noarch.rpm") == 0 {
        assert!(
            Instant::now() < deadline,
            "first sync never started downloading"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = run(mgr(&root, "http://m/yum").args(["sync", "busy-el9", "--url", &url]));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("mirror busy-el9 is locked by another mirror-mgr process"),
        "{}",
        stderr(&out)
    );
    // Fail fast means: while the first still holds the lock, not after it.
    assert!(
        first.try_wait().unwrap().is_none(),
        "the second sync only gave up after the first had finished"
    );
    // --wait queues behind the first and then finds nothing to do.
    let out =
        run_ok(mgr(&root, "http://m/yum").args(["--wait", "sync", "busy-el9", "--url", &url]));
    assert!(
        stdout(&out).contains("busy-el9: unchanged"),
        "{}",
        stdout(&out)
    );
    let status = first.wait().unwrap();
    assert!(status.success());
    assert_eq!(snapshots(&root.join("busy-el9")).len(), 1);
}

#[test]
fn different_mirrors_in_parallel_and_the_index_has_them_all() {
    let top = tempdir();
    let names: Vec<String> = (0..6).map(|i| format!("par{i}-el9")).collect();
    for (i, n) in names.iter().enumerate() {
        repo(
            &top.path().join(n),
            &[Pkg::new(&format!("pkg{i}"), "1.0", "1")],
        );
    }
    let server = FaultServer::serve(top.path());
    let root = top.path().join("mirrors");
    let children: Vec<_> = names
        .iter()
        .map(|n| {
            mgr(&root, "http://m/yum")
                .args(["sync", n, "-q", "--url", &server.url(&format!("{n}/"))])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("all_latest.json")).unwrap()).unwrap();
    let yaml: serde_yaml::Value =
        serde_yaml::from_slice(&std::fs::read(root.join("all_latest.yaml")).unwrap()).unwrap();
    for n in &names {
        let s = latest(&root.join(n)).unwrap();
        let want = format!("http://m/yum/{n}/{s}");
        assert_eq!(json["latest_ci_repos"][n], want.as_str());
        assert_eq!(
            yaml["latest_ci_repos"][n.as_str()].as_str(),
            Some(want.as_str())
        );
    }
    assert_eq!(
        json["latest_ci_repos"].as_object().unwrap().len(),
        names.len()
    );
}

#[test]
fn readers_never_see_a_missing_or_partial_file_during_syncs_and_gc() {
    let top = tempdir();
    let up = top.path().join("repo");
    let versions = 6;
    // Upstream states prepared up front: repo-N has alpha N.0 and beta.
    let states: Vec<std::path::PathBuf> = (1..=versions)
        .map(|v| {
            let d = top.path().join(format!("state-{v}"));
            repo(
                &d,
                &[
                    Pkg::new("alpha", &format!("{v}.0"), "1"),
                    Pkg::new("beta", "1.0", "1"),
                ],
            );
            d
        })
        .collect();
    let server = FaultServer::serve(top.path());
    let root = top.path().join("mirrors");
    let mdir = root.join("live-el9");
    let switch = |v: usize| {
        let _ = std::fs::remove_file(&up);
        std::os::unix::fs::symlink(&states[v], &up).unwrap();
    };
    switch(0);
    run_ok(mgr(&root, "http://m/yum").args(["sync", "live-el9", "--url", &server.url("repo/")]));

    let stop = AtomicBool::new(false);
    let checks = AtomicU64::new(0);
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                let name = latest(&mdir).expect("latest.txt is always there and complete");
                let problems =
                    mirror_mgr::lifecycle::check_snapshot(&mdir.join(&name), false).unwrap();
                assert!(
                    problems.is_empty(),
                    "reader saw {name} broken: {problems:?}"
                );
                for f in ["all_latest.json", "all_latest.yaml"] {
                    let text = std::fs::read_to_string(root.join(f)).unwrap();
                    assert!(
                        serde_yaml::from_str::<serde_yaml::Value>(&text).is_ok(),
                        "{f} partial: {text:?}"
                    );
                }
                checks.fetch_add(1, Ordering::Relaxed);
            }
        });
        for v in 1..versions {
            switch(v);
            run_ok(mgr(&root, "http://m/yum").args([
                "sync",
                "live-el9",
                "--url",
                &server.url("repo/"),
            ]));
            run_ok(mgr(&root, "http://m/yum").args(["gc", "live-el9", "--keep-last", "3"]));
        }
        stop.store(true, Ordering::Relaxed);
        reader.join().unwrap();
    });
    assert!(checks.load(Ordering::Relaxed) > 20, "the reader barely ran");
    assert_eq!(snapshots(&mdir).len(), 3);
}

/// Unmounts on drop, whatever the test's outcome.
struct Unmount<'a>(&'a Path);

impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

#[test]
fn disk_full_fails_cleanly_and_frees_staging() {
    let top = tempdir();
    let mut pkgs = Vec::new();
    for i in 0..4 {
        let mut p = Pkg::new(&format!("fat{i}"), "1.0", "1");
        p.size = 700 * 1024;
        pkgs.push(p);
    }
    repo(&top.path().join("repo"), &pkgs);
    let server = FaultServer::serve(top.path());
    let small = top.path().join("small");
    std::fs::create_dir_all(&small).unwrap();
    let out = run(Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1500k", "tmpfs"])
        .arg(&small));
    assert!(
        out.status.success(),
        "this test mounts a small tmpfs to fill it and needs root (CI runs as root): {}",
        stderr(&out)
    );
    let _guard = Unmount(&small);
    let root = small.join("mirrors");
    let out =
        run(mgr(&root, "http://m/yum").args(["sync", "full-el9", "--url", &server.url("repo/")]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("No space left on device"), "{err}");
    assert!(
        err.contains(&small.display().to_string()),
        "names the path: {err}"
    );
    let mdir = root.join("full-el9");
    assert!(snapshots(&mdir).is_empty());
    assert!(latest(&mdir).is_none());
    assert!(
        files(&mdir.join(".staging")).is_empty(),
        "staging not freed: {:?}",
        files(&mdir.join(".staging"))
    );
}

/// Issue 22, acceptance 3: gc and a promotion of the snapshot gc is about
/// to remove, at the same moment, 50 rounds. Whatever wins, no channel and
/// no `latest` ever names a missing snapshot, `verify` agrees, and dnf
/// installs through the channel afterwards.
#[test]
fn gc_and_promotions_never_leave_a_pointer_to_nothing() {
    let w = World::new();
    let ups = [
        w.top.path().join("upstream/a"),
        w.top.path().join("upstream/b"),
    ];
    repo(&ups[0], &[Pkg::new("alpha", "1.0", "1")]);
    repo(&ups[1], &[Pkg::new("alpha", "2.0", "1")]);
    let mirror = w.root().join("race-el9");
    let sync = |i: usize| {
        let url = w.nginx.url(if i.is_multiple_of(2) {
            "upstream/a/"
        } else {
            "upstream/b/"
        });
        let out = run_ok(w.mgr().args(["--json", "sync", "race-el9", "--url", &url]));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["mirrors"][0]["snapshot"].as_str().unwrap().to_owned()
    };
    let mut previous = sync(0);
    let mut promoted = 0;
    for round in 1..=50 {
        let newest = sync(round);
        assert_ne!(newest, previous);
        // Promote the snapshot before latest while gc removes everything
        // but the newest (and what a channel needs).
        let promote = w
            .mgr()
            .args(["promote", "race-el9", &previous, "--channel", "tested"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let gc = w
            .mgr()
            .args(["gc", "race-el9", "--keep-last", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let p = promote.wait_with_output().unwrap();
        let g = gc.wait_with_output().unwrap();
        assert!(g.status.success(), "round {round}: gc: {}", stderr(&g));
        if p.status.success() {
            promoted += 1;
        } else {
            assert_eq!(p.status.code(), Some(2), "round {round}: {}", stderr(&p));
        }
        for pointer in ["latest.txt", "tested.txt"] {
            if let Ok(text) = std::fs::read_to_string(mirror.join(pointer)) {
                let snap = text.trim();
                assert!(
                    mirror.join(snap).is_dir(),
                    "round {round}: {pointer} names {snap}, which gc removed"
                );
            }
        }
        previous = newest;
    }
    assert!(promoted > 0, "no promotion ever won: the race was not run");
    let out = run(w.mgr().args(["verify", "race-el9"]));
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.root().join("all_tested.json")).unwrap()).unwrap();
    let url = index["tested_ci_repos"]["race-el9"]
        .as_str()
        .unwrap()
        .to_owned();
    let dnf = Dnf::new();
    let out = dnf.install_from("tested", &format!("{url}/"), &["alpha"]);
    assert!(
        out.status.success(),
        "dnf through the channel: {}",
        stderr(&out)
    );
    // verify reports a channel pointer that names a missing snapshot.
    std::fs::write(mirror.join("tested.txt"), "2001-01-01-00-00\n").unwrap();
    let out = run(w.mgr().args(["verify", "race-el9"]));
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("channel tested names 2001-01-01-00-00"),
        "{}",
        stdout(&out)
    );
}
