//! Issue 26, bandwidth caps over a real nginx upstream: `throttle` holds
//! one mirror's download rate, `max_download_rate` holds two mirrors
//! syncing at once to one shared rate, and a share of `bandwidth` is
//! read as dnf reads it. (The rates against a shaped link, HTTP/1.1 and
//! HTTP/2, are `bench/run`'s.)

// Rates are measured to a few percent: byte counts as floats are fine.
#![allow(clippy::cast_precision_loss)]

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use mirror_e2e::*;

/// 1 MiB/s, and 3 MiB of packages per mirror: about 3 s a mirror.
const RATE: f64 = 1_048_576.0;

fn repo(w: &World) -> u64 {
    let pkgs: Vec<Pkg> = (0..6)
        .map(|i| {
            let mut p = Pkg::new(&format!("big{i}"), "1.0", "1");
            p.size = 512 * 1024;
            p
        })
        .collect();
    build_rpms(&w.upstream(), "Packages", &pkgs);
    createrepo(&w.upstream(), &RepoOpts::default());
    files(&w.upstream().join("Packages"))
        .iter()
        .map(|f| {
            std::fs::metadata(w.upstream().join("Packages").join(f))
                .unwrap()
                .len()
        })
        .sum()
}

fn mgr_cfg(cfg: &Path) -> Command {
    let mut c = Command::new(bin("mirror-mgr"));
    c.arg("--config").arg(cfg);
    c
}

/// Bytes per second over the packages phase of each synced mirror.
fn package_rates(out: &std::process::Output, pkg_bytes: u64) -> Vec<f64> {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["status"], "new_snapshot", "{m}");
            pkg_bytes as f64 / m["phases"]["packages"].as_f64().unwrap()
        })
        .collect()
}

#[test]
fn throttle_holds_one_mirror_s_rate() {
    let w = World::new();
    let bytes = repo(&w);
    let cfg = w.top.path().join("t.yaml");
    write(
        &cfg,
        &format!(
            "root: {}\nmirrors:\n  - name: capped-el9\n    baseurl: {}\n    throttle: 1M\n  - name: share-el9\n    baseurl: {}\n    throttle: 50%\n    bandwidth: 2M\n",
            w.root().display(),
            w.upstream_url(),
            w.upstream_url()
        ),
    );
    for name in ["capped-el9", "share-el9"] {
        let out = run_ok(mgr_cfg(&cfg).args(["--json", "sync", name, "--no-index"]));
        let rate = package_rates(&out, bytes)[0];
        assert!(
            (0.85 * RATE..=1.10 * RATE).contains(&rate),
            "{name}: {rate:.0} B/s against a cap of {RATE} B/s"
        );
    }
    // Without a cap, loopback is far faster (the cap is what held it).
    let free = w.top.path().join("free.yaml");
    write(
        &free,
        &format!(
            "root: {}\nmirrors:\n  - name: free-el9\n    baseurl: {}\n",
            w.root().display(),
            w.upstream_url()
        ),
    );
    let out = run_ok(mgr_cfg(&free).args(["--json", "sync", "free-el9", "--no-index"]));
    assert!(package_rates(&out, bytes)[0] > 3.0 * RATE);
}

#[test]
fn max_download_rate_is_shared_by_mirrors_syncing_at_once() {
    let w = World::new();
    let bytes = repo(&w);
    let cfg = w.top.path().join("m.yaml");
    write(
        &cfg,
        &format!(
            "root: {}\nmax_download_rate: 1M\nmirrors:\n  - name: one-el9\n    baseurl: {}\n  - name: two-el9\n    baseurl: {}\n",
            w.root().display(),
            w.upstream_url(),
            w.upstream_url()
        ),
    );
    let t = Instant::now();
    let out = run_ok(mgr_cfg(&cfg).args(["--json", "sync", "--all", "--jobs", "2", "--no-index"]));
    let wall = t.elapsed().as_secs_f64();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let total: u64 = v["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["downloaded_bytes"].as_u64().unwrap())
        .sum();
    assert!(total >= 2 * bytes, "{v}");
    let rate = total as f64 / wall;
    assert!(
        (0.80 * RATE..=1.10 * RATE).contains(&rate),
        "{rate:.0} B/s for both mirrors against a cap of {RATE} B/s ({total} bytes in {wall:.1} s)"
    );
    // Both built at once: their package phases overlap, so together they
    // last about twice what one mirror alone needs at the cap (one after
    // the other, they would last 1.0x each). One mirror may start or end
    // alone for a moment, so the two are judged together, not each.
    let alone = bytes as f64 / RATE;
    let phases: f64 = package_rates(&out, bytes)
        .iter()
        .map(|r| bytes as f64 / r)
        .sum();
    assert!(
        phases >= 3.0 * alone,
        "package phases lasted {phases:.1} s together; one mirror alone at the cap needs {alone:.1} s"
    );
}

#[test]
fn bad_caps_name_the_key() {
    let d = tempdir();
    let cfg = d.path().join("b.yaml");
    for (text, needle) in [
        (
            "mirrors:\n  - name: x-el9\n    baseurl: http://m/\n    throttle: fast\n",
            "throttle=fast",
        ),
        (
            "mirrors:\n  - name: x-el9\n    baseurl: http://m/\n    throttle: 50%\n",
            "give bandwidth",
        ),
        (
            "max_download_rate: lots\nmirrors: []\n",
            "max_download_rate",
        ),
    ] {
        write(&cfg, text);
        let out = run(mgr_cfg(&cfg).arg("check-config"));
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(
            stderr(&out).contains("b.yaml") && stderr(&out).contains(needle),
            "{text}: {}",
            stderr(&out)
        );
    }
}
