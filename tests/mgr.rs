//! End-to-end tests of `mirror-mgr` with real tools: RPMs from rpmbuild,
//! metadata from createrepo_c, nginx on 127.0.0.1 as upstream and as the
//! mirror's web server, and dnf installing from the snapshots.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

use mirror_e2e::*;

fn same_bytes(a: &Path, b: &Path) {
    assert_eq!(
        std::fs::read(a).unwrap_or_else(|e| panic!("{}: {e}", a.display())),
        std::fs::read(b).unwrap_or_else(|e| panic!("{}: {e}", b.display())),
        "{} and {} differ",
        a.display(),
        b.display()
    );
}

#[test]
fn sync_snapshot_install_update_and_rollback() {
    let w = World::new();
    let up = w.upstream();
    build_rpms(
        &up,
        "Packages",
        &[
            Pkg::new("alpha", "1.0", "1"),
            Pkg::new("beta", "1.0", "1"),
            Pkg::new("gamma", "1.0", "1"),
        ],
    );
    createrepo(&up, &RepoOpts::default());
    write(
        &up.join("repodata/repomd.xml.asc"),
        "-----BEGIN PGP SIGNATURE-----\nstand-in\n-----END PGP SIGNATURE-----\n",
    );

    // First sync: snapshot S1, latest.txt, index.
    let r1 = w.sync("demo-el9");
    assert_eq!(r1["status"], "new_snapshot", "{r1}");
    assert_eq!(r1["packages"], 3);
    assert_eq!(r1["added"], 3);
    let mdir = w.root().join("demo-el9");
    let s1 = latest(&mdir).expect("latest.txt written");
    assert_eq!(r1["snapshot"], s1.as_str());
    assert_eq!(snapshots(&mdir), vec![s1.clone()]);

    // Acceptance 3: metadata byte-identical (signature included), packages are hard links.
    let snap1 = mdir.join(&s1);
    for f in files(&up.join("repodata")) {
        same_bytes(
            &up.join("repodata").join(&f),
            &snap1.join("repodata").join(&f),
        );
    }
    assert!(snap1.join("repodata/repomd.xml.asc").exists());
    for f in files(&up.join("Packages")) {
        same_bytes(
            &up.join("Packages").join(&f),
            &snap1.join("Packages").join(&f),
        );
        assert_eq!(
            inode(&snap1.join("Packages").join(&f)),
            inode(&mdir.join("base/Packages").join(&f)),
            "{f} is not a hard link into base/"
        );
    }
    assert_eq!(
        files(&snap1),
        files(&mdir.join("base")),
        "base/ mirrors the snapshot"
    );

    // Acceptance 1: dnf installs from S1 as served by nginx.
    let dnf = Dnf::new();
    let out = dnf.install_from("demo-el9", &w.snapshot_url("demo-el9", &s1), &["alpha"]);
    assert!(
        out.status.success(),
        "dnf install from S1 failed: {}",
        stderr(&out)
    );
    assert_eq!(dnf.installed_version("alpha").as_deref(), Some("1.0-1"));

    // Acceptance 2: a second sync with no upstream change fetches only repomd.xml.
    w.nginx.clear_log();
    let r = w.sync("demo-el9");
    assert_eq!(r["status"], "unchanged", "{r}");
    assert_eq!(r["snapshot"], s1.as_str());
    assert_eq!(
        w.nginx.requests(),
        vec!["GET /upstream/repo/repodata/repomd.xml HTTP/1.1".to_owned()]
    );
    assert_eq!(snapshots(&mdir), vec![s1.clone()]);

    // Upstream moves: alpha 2.0 replaces 1.0, gamma is dropped, delta is new.
    std::fs::remove_file(up.join("Packages/alpha-1.0-1.noarch.rpm")).unwrap();
    std::fs::remove_file(up.join("Packages/gamma-1.0-1.noarch.rpm")).unwrap();
    build_rpms(
        &up,
        "Packages",
        &[Pkg::new("alpha", "2.0", "1"), Pkg::new("delta", "1.0", "1")],
    );
    run_ok(
        Command::new(tool("createrepo_c"))
            .args(["--quiet", "--no-database", "--update"])
            .arg(&up),
    );
    std::fs::remove_file(up.join("repodata/repomd.xml.asc")).unwrap();

    w.nginx.clear_log();
    let r2 = w.sync("demo-el9");
    assert_eq!(r2["status"], "new_snapshot", "{r2}");
    assert_eq!(
        (r2["added"].as_u64(), r2["removed"].as_u64()),
        (Some(2), Some(2)),
        "{r2}"
    );
    let s2 = latest(&mdir).unwrap();
    assert!(
        s2 > s1,
        "snapshot names sort in creation order: {s1} then {s2}"
    );
    assert_eq!(snapshots(&mdir), vec![s1.clone(), s2.clone()]);
    // Only the two new packages were downloaded; beta came from base/.
    let pkg_gets: Vec<_> = w
        .nginx
        .requests()
        .into_iter()
        .filter(|l| l.contains(".rpm"))
        .collect();
    assert_eq!(pkg_gets.len(), 2, "{pkg_gets:?}");
    let snap2 = mdir.join(&s2);
    assert!(
        !snap2.join("repodata/repomd.xml.asc").exists(),
        "a signature upstream dropped is not carried over"
    );
    assert_eq!(
        inode(&snap1.join("Packages/beta-1.0-1.noarch.rpm")),
        inode(&snap2.join("Packages/beta-1.0-1.noarch.rpm"))
    );
    // base/ follows upstream; S1 keeps what upstream dropped.
    assert!(!mdir.join("base/Packages/gamma-1.0-1.noarch.rpm").exists());
    assert!(snap1.join("Packages/gamma-1.0-1.noarch.rpm").exists());
    assert!(snap1.join("Packages/alpha-1.0-1.noarch.rpm").exists());

    // diff names what changed between the two snapshots.
    let out = run_ok(w.mgr().args(["diff", "demo-el9", &s1, "latest", "--json"]));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        d["added"],
        serde_json::json!(["delta-0:1.0-1.noarch"]),
        "{d}"
    );
    assert_eq!(
        d["removed"],
        serde_json::json!(["gamma-0:1.0-1.noarch"]),
        "{d}"
    );
    assert_eq!(d["upgraded"][0]["name"], "alpha");
    assert_eq!(d["upgraded"][0]["to"]["version"], "2.0");
    assert_eq!(d["downgraded"], serde_json::json!([]));
    let out = run_ok(w.mgr().args(["diff", "demo-el9", &s1, &s2]));
    assert!(
        stdout(&out).contains("^ alpha.noarch 0:1.0-1 -> 0:2.0-1"),
        "{}",
        stdout(&out)
    );

    // Installing from S1 still gives the old version, from S2 the new one;
    // a package removed upstream still installs from S1.
    let old = Dnf::new();
    let out = old.install_from(
        "demo-el9",
        &w.snapshot_url("demo-el9", &s1),
        &["alpha", "gamma"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(old.installed_version("alpha").as_deref(), Some("1.0-1"));
    assert_eq!(old.installed_version("gamma").as_deref(), Some("1.0-1"));
    let new = Dnf::new();
    let out = new.install_from(
        "demo-el9",
        &w.snapshot_url("demo-el9", &s2),
        &["alpha", "delta"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(new.installed_version("alpha").as_deref(), Some("2.0-1"));
    let out = Dnf::new().install_from("demo-el9", &w.snapshot_url("demo-el9", &s2), &["gamma"]);
    assert!(!out.status.success(), "gamma must be gone from S2");

    // Acceptance 6: the index has the documented shapes.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.root().join("all_latest.json")).unwrap()).unwrap();
    let want = format!("{}/demo-el9/{s2}", w.base_url());
    assert_eq!(
        json,
        serde_json::json!({"latest_ci_repos": {"demo-el9": want}})
    );
    let yaml: serde_yaml::Value =
        serde_yaml::from_slice(&std::fs::read(w.root().join("all_latest.yaml")).unwrap()).unwrap();
    assert_eq!(
        yaml["latest_ci_repos"]["demo-el9"].as_str(),
        Some(want.as_str())
    );
    let html = std::fs::read_to_string(w.root().join("all_latest.html")).unwrap();
    assert!(html.contains("demo-el9") && html.contains(&s2));

    // Rollback to a missing snapshot: clear error, nothing changes.
    let index_before = std::fs::read(w.root().join("all_latest.json")).unwrap();
    let out = run(w
        .mgr()
        .args(["rollback", "demo-el9", "--to", "2001-01-01-00-00"]));
    // An unknown snapshot exits 2 in every command (issue 8: rollback
    // said 1 and diff 2).
    assert_eq!(out.status.code(), Some(2));
    let diff = run(w
        .mgr()
        .args(["diff", "demo-el9", "2001-01-01-00-00", "latest"]));
    assert_eq!(diff.status.code(), Some(2), "{}", stderr(&diff));
    assert!(
        stderr(&diff).contains("no snapshot or channel \"2001-01-01-00-00\""),
        "{}",
        stderr(&diff)
    );
    let err = stderr(&out);
    assert!(
        err.contains("no snapshot \"2001-01-01-00-00\"") && err.contains(&s1),
        "{err}"
    );
    assert_eq!(latest(&mdir).as_deref(), Some(s2.as_str()));
    assert_eq!(
        std::fs::read(w.root().join("all_latest.json")).unwrap(),
        index_before
    );

    // Rollback (default: the previous snapshot) re-points latest and re-indexes.
    let out = run_ok(w.mgr().args(["rollback", "demo-el9"]));
    assert!(
        stdout(&out).contains(&format!("now names {s1}")),
        "{}",
        stdout(&out)
    );
    assert_eq!(latest(&mdir).as_deref(), Some(s1.as_str()));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.root().join("all_latest.json")).unwrap()).unwrap();
    assert_eq!(
        json["latest_ci_repos"]["demo-el9"],
        format!("{}/demo-el9/{s1}", w.base_url())
    );

    // The next sync, upstream unchanged, keeps the rollback.
    let r = w.sync("demo-el9");
    assert_eq!(r["status"], "unchanged", "{r}");
    assert!(r["note"].as_str().unwrap_or("").contains("held"), "{r}");
    assert_eq!(latest(&mdir).as_deref(), Some(s1.as_str()));

    // snapshots lists both, marks the latest.
    let out = run_ok(w.mgr().args(["snapshots", "demo-el9", "--json"]));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2);
    assert_eq!(rows[0]["name"], s1.as_str());
    assert_eq!(rows[0]["latest"], true);
    assert_eq!(rows[0]["packages"], 3);
    assert_eq!(rows[1]["latest"], false);

    // Every snapshot verifies.
    run_ok(w.mgr().args(["verify", "demo-el9"]));
}

const UPDATEINFO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="e2e@example.invalid" status="stable" type="security" version="2.0">
    <id>E2E-2026-0001</id>
    <title>alpha security update</title>
    <issued date="2026-11-01 00:00:00"/>
    <updated date="2026-11-01 00:00:00"/>
    <rights>MIT</rights>
    <release>e2e</release>
    <severity>Important</severity>
    <summary>alpha fix</summary>
    <description>Fixes alpha.</description>
    <references/>
    <pkglist>
      <collection short="e2e">
        <name>e2e</name>
        <package name="alpha" version="1.0" release="1" epoch="0" arch="noarch" src="alpha-1.0-1.src.rpm">
          <filename>alpha-1.0-1.noarch.rpm</filename>
        </package>
      </collection>
    </pkglist>
  </update>
</updates>
"#;

const COMPS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<comps>
  <group>
    <id>e2e-tools</id>
    <name>E2E tools</name>
    <description>Test group</description>
    <default>true</default>
    <uservisible>true</uservisible>
    <packagelist>
      <packagereq type="mandatory">beta</packagereq>
    </packagelist>
  </group>
</comps>
"#;

type Variant = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    bool,
    bool,
);

/// Acceptance 4: every compression and checksum createrepo_c writes, with
/// updateinfo and comps; dnf sees both from the snapshot.
#[test]
fn metadata_formats_checksums_updateinfo_and_comps() {
    let w = World::new();
    // (name, compression, checksum, PyPI createrepo_c, check with dnf)
    // libdnf 0.69 aborts on sha224 package checksums (hy-iutil.cpp checksumt_l2h),
    // so that variant is synced and verified but not handed to dnf.
    let variants: [Variant; 5] = [
        ("xz-sha1", Some("xz"), Some("sha1"), false, true),
        ("bz2-sha512", Some("bz2"), Some("sha512"), false, true),
        ("zstd-sha256", Some("zstd"), Some("sha256"), true, true),
        ("gz-sha384", Some("gz"), Some("sha384"), false, true),
        ("zstd-sha224", Some("zstd"), Some("sha224"), true, false),
    ];
    for (name, compress, checksum, modern, with_dnf) in variants {
        let up = w.top.path().join("upstream").join(name);
        build_rpms(&up, "Packages/a", &[Pkg::new("alpha", "1.0", "1")]);
        build_rpms(&up, "Packages/b", &[Pkg::new("beta", "1.0", "1")]);
        createrepo(
            &up,
            &RepoOpts {
                checksum,
                compress,
                comps: Some(COMPS.into()),
                updateinfo: Some(UPDATEINFO.into()),
                modern,
                ..RepoOpts::default()
            },
        );
        let repomd = std::fs::read_to_string(up.join("repodata/repomd.xml")).unwrap();
        let ext = match compress.unwrap() {
            "zstd" => ".zst",
            "gz" => ".gz",
            other => other,
        };
        assert!(
            repomd.contains(&format!(
                "primary.xml{}",
                if ext.starts_with('.') {
                    ext.to_owned()
                } else {
                    format!(".{ext}")
                }
            )),
            "{name}: {repomd}"
        );
        assert!(
            repomd.contains(&format!("type=\"{}\"", checksum.unwrap())),
            "{name}"
        );
        assert!(
            repomd.contains("type=\"updateinfo\"") && repomd.contains("type=\"group\""),
            "{name}"
        );

        let out = run_ok(w.mgr().args([
            "sync",
            name,
            "--url",
            &w.nginx.url(&format!("upstream/{name}/")),
            "--json",
        ]));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["mirrors"][0]["status"], "new_snapshot", "{name}: {v}");
        let mdir = w.root().join(name);
        let snap = latest(&mdir).unwrap();
        for f in files(&up.join("repodata")) {
            same_bytes(
                &up.join("repodata").join(&f),
                &mdir.join(&snap).join("repodata").join(&f),
            );
        }
        run_ok(w.mgr().args(["verify", name]));
        if !with_dnf {
            continue;
        }
        let url = w.snapshot_url(name, &snap);

        // dnf installs from it, sees the advisory (dnf lists advisories of installed
        // packages) and installs the group.
        let dnf = Dnf::new();
        let out = dnf.install_from(name, &url, &["alpha"]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let mut c = dnf.cmd();
        c.args([
            "--setopt=reposdir=/nonexistent",
            &format!("--repofrompath={name},{url}"),
            "--repo",
            name,
            "updateinfo",
            "list",
            "--all",
        ]);
        let out = run_ok(&mut c);
        assert!(
            stdout(&out).contains("E2E-2026-0001"),
            "{name}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        let mut c = dnf.cmd();
        c.args([
            "--setopt=reposdir=/nonexistent",
            &format!("--repofrompath={name},{url}"),
            "--repo",
            name,
            &format!("--setopt={name}.gpgcheck=0"),
            "group",
            "install",
            "e2e-tools",
        ]);
        let out = run(&mut c);
        assert!(
            out.status.success(),
            "{name}: group install: {}",
            stderr(&out)
        );
        assert_eq!(
            dnf.installed_version("beta").as_deref(),
            Some("1.0-1"),
            "{name}"
        );
        assert_eq!(dnf.installed_version("alpha").as_deref(), Some("1.0-1"));
    }
}

fn copy_tree(from: &Path, to: &Path) {
    // cp -a keeps hard links between base/ and snapshots inside the copy.
    run_ok(Command::new("cp").arg("-a").arg(from).arg(to));
}

/// After a crash: every visible snapshot verifies, latest.txt names one of
/// them, the index parses, nothing half-built is visible.
fn assert_consistent(w: &World, root: &Path, name: &str, allowed_latest: &[&str], ctx: &str) {
    let mdir = root.join(name);
    let snaps = snapshots(&mdir);
    let l = latest(&mdir).unwrap_or_else(|| panic!("{ctx}: latest.txt missing"));
    assert!(
        allowed_latest.contains(&l.as_str()),
        "{ctx}: latest.txt names {l}, expected one of {allowed_latest:?}"
    );
    assert!(
        snaps.contains(&l),
        "{ctx}: latest.txt names {l}, not among {snaps:?}"
    );
    let out = run(mgr(root, &w.base_url()).args(["verify", name, "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{ctx}: verify --json: {e}: {}", stderr(&out)));
    for t in v.as_array().unwrap() {
        let target = t["target"].as_str().unwrap();
        if target != "base" {
            assert_eq!(
                t["problems"],
                serde_json::json!([]),
                "{ctx}: {target} does not verify"
            );
        }
    }
    for f in ["all_latest.json", "all_latest.yaml"] {
        let text =
            std::fs::read_to_string(root.join(f)).unwrap_or_else(|e| panic!("{ctx}: {f}: {e}"));
        let v: serde_yaml::Value = serde_yaml::from_str(&text)
            .unwrap_or_else(|e| panic!("{ctx}: {f} does not parse: {e}"));
        let url = v["latest_ci_repos"][name]
            .as_str()
            .unwrap_or_else(|| panic!("{ctx}: {f} lacks {name}"));
        let snap = url.rsplit('/').next().unwrap();
        assert!(
            snaps.iter().any(|s| s == snap),
            "{ctx}: {f} names {snap}, which is not a snapshot"
        );
    }
}

/// Acceptance 5: SIGKILL at every named step of a sync (and at timed moments
/// from outside); each time nothing partial is visible, latest.txt is
/// unchanged or names the complete new snapshot, and the next sync completes.
#[test]
fn sync_killed_at_any_point_recovers() {
    let w = World::new();
    let up = w.upstream();
    let first: Vec<Pkg> = (1..=12)
        .map(|i| Pkg::new(&format!("p{i:02}"), "1.0", "1"))
        .collect();
    build_rpms(&up, "Packages", &first);
    createrepo(&up, &RepoOpts::default());
    let r = w.sync("crashy");
    assert_eq!(r["status"], "new_snapshot");
    let s1 = r["snapshot"].as_str().unwrap().to_owned();
    // Upstream changes: 4 bumped, 2 removed, 3 added.
    for i in 1..=4 {
        std::fs::remove_file(up.join(format!("Packages/p{i:02}-1.0-1.noarch.rpm"))).unwrap();
    }
    for i in 11..=12 {
        std::fs::remove_file(up.join(format!("Packages/p{i:02}-1.0-1.noarch.rpm"))).unwrap();
    }
    let mut next: Vec<Pkg> = (1..=4)
        .map(|i| Pkg::new(&format!("p{i:02}"), "2.0", "1"))
        .collect();
    next.extend((13..=15).map(|i| Pkg::new(&format!("p{i:02}"), "1.0", "1")));
    build_rpms(&up, "Packages", &next);
    createrepo(&up, &RepoOpts::default());

    let pristine = w.top.path().join("pristine");
    copy_tree(&w.root(), &pristine);
    // Every named step of the commit, and every single package download and
    // base/ link (7 downloads, 13 links in this update).
    let mut points: Vec<String> = [
        "metadata-downloaded",
        "snapshot-linked",
        "before-publish",
        "after-publish",
        "base-packages-done",
        "base-repomd-swapped",
        "base-cleaned",
        "latest-written",
        "index-json-written",
    ]
    .iter()
    .map(|p| (*p).to_owned())
    .collect();
    points.extend((1..=7).map(|n| format!("package-downloaded@{n}")));
    points.extend((1..=13).map(|n| format!("base-package-linked@{n}")));
    let mut killed = 0;
    for (i, point) in points.iter().enumerate() {
        let root = w.top.path().join(format!("crash-{i}"));
        copy_tree(&pristine, &root);
        let out = run(mgr(&root, &w.base_url())
            .env("MIRROR_MGR_CRASH_AT", point)
            .args(["sync", "crashy", "--url", &w.upstream_url()]));
        assert_eq!(
            out.status.signal(),
            Some(9),
            "{point}: sync was not killed: {} {}",
            out.status,
            stderr(&out)
        );
        killed += 1;
        let new_snaps: Vec<String> = snapshots(&root.join("crashy"))
            .into_iter()
            .filter(|s| *s != s1)
            .collect();
        let mut allowed = vec![s1.as_str()];
        allowed.extend(new_snaps.iter().map(String::as_str));
        assert_consistent(
            &w,
            &root,
            "crashy",
            &allowed,
            &format!("after kill at {point}"),
        );
        if [
            "metadata-downloaded",
            "package-downloaded@1",
            "snapshot-linked",
            "before-publish",
        ]
        .contains(&point.as_str())
        {
            assert!(
                new_snaps.is_empty(),
                "{point}: a snapshot appeared before it was published: {new_snaps:?}"
            );
            assert_eq!(
                latest(&root.join("crashy")).as_deref(),
                Some(s1.as_str()),
                "{point}"
            );
        }
        // The next sync finishes the job.
        let out = run_ok(mgr(&root, &w.base_url()).args([
            "sync",
            "crashy",
            "--url",
            &w.upstream_url(),
            "--json",
        ]));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let r = &v["mirrors"][0];
        assert_ne!(r["status"], "failed", "{point}: {r}");
        let l = latest(&root.join("crashy")).unwrap();
        assert_ne!(l, s1, "{point}: recovery sync did not move latest: {r}");
        assert!(
            snapshots(&root.join("crashy")).len() <= 2,
            "{point}: recovery made an extra snapshot: {:?}",
            snapshots(&root.join("crashy"))
        );
        assert_consistent(
            &w,
            &root,
            "crashy",
            &[l.as_str()],
            &format!("after recovery from {point}"),
        );
        run_ok(mgr(&root, &w.base_url()).args(["verify", "crashy"]));
        let staging = files(&root.join("crashy/.staging"));
        assert!(
            staging.is_empty(),
            "{point}: staging not cleaned: {staging:?}"
        );
        let _ = std::fs::remove_dir_all(&root);
    }
    assert_eq!(killed, points.len(), "every named point was reached");

    // Kills from outside at spread-out moments, not only at named points.
    // 100 moments spread over 80% of how long this sync takes here.
    let mut took = Vec::new();
    for i in 0..3 {
        let root = w.top.path().join(format!("clock-{i}"));
        copy_tree(&pristine, &root);
        let start = std::time::Instant::now();
        run_ok(mgr(&root, &w.base_url()).args([
            "sync",
            "crashy",
            "--url",
            &w.upstream_url(),
            "--concurrency",
            "2",
            "-q",
        ]));
        took.push(start.elapsed());
        let _ = std::fs::remove_dir_all(&root);
    }
    took.sort();
    let span = took[1];
    // Kill at evenly spread moments until 100 kills have landed mid-sync
    // (bounded: syncs that finish first under a noisy machine just retry).
    let mut timed_kills = 0;
    for (i, delay) in (0..400u32).map(|i| span * 8 * (i % 100) / 1000).enumerate() {
        if timed_kills >= 100 {
            break;
        }
        let delay = &delay;
        let root = w.top.path().join(format!("timed-{i}"));
        copy_tree(&pristine, &root);
        let mut child = mgr(&root, &w.base_url())
            .args([
                "sync",
                "crashy",
                "--url",
                &w.upstream_url(),
                "--concurrency",
                "2",
                "-q",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(*delay);
        let finished_first = child.try_wait().unwrap().is_some();
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        let was_killed = !finished_first && status.signal() == Some(9);
        let mut allowed = vec![s1.clone()];
        allowed.extend(snapshots(&root.join("crashy")));
        let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
        assert_consistent(
            &w,
            &root,
            "crashy",
            &allowed,
            &format!("after kill at {delay:?}"),
        );
        run_ok(mgr(&root, &w.base_url()).args(["sync", "crashy", "--url", &w.upstream_url()]));
        run_ok(mgr(&root, &w.base_url()).args(["verify", "crashy"]));
        assert_ne!(
            latest(&root.join("crashy")).as_deref(),
            Some(s1.as_str()),
            "after kill at {delay:?}"
        );
        let _ = std::fs::remove_dir_all(&root);
        killed += usize::from(was_killed);
        timed_kills += usize::from(was_killed);
    }
    eprintln!(
        "{killed} syncs killed with SIGKILL ({} at named points)",
        points.len()
    );
    assert!(killed >= 100, "only {killed} syncs were killed mid-way");
}

/// Invariant 5: a second sync of the same mirror fails fast while the first holds the lock.
#[test]
fn concurrent_sync_of_one_mirror_fails_fast() {
    let w = World::new();
    let up = w.upstream();
    build_rpms(&up, "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    createrepo(&up, &RepoOpts::default());
    std::fs::create_dir_all(w.root().join("locked")).unwrap();
    // Hold the lock the way a running sync does.
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(w.root().join("locked/.lock"))
        .unwrap();
    lock.try_lock().unwrap();
    let out = run(w.mgr().args(["sync", "locked", "--url", &w.upstream_url()]));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("locked by another mirror-mgr process"),
        "{}",
        stderr(&out)
    );
    assert!(snapshots(&w.root().join("locked")).is_empty());
    drop(lock);
    run_ok(w.mgr().args(["sync", "locked", "--url", &w.upstream_url()]));
    assert_eq!(snapshots(&w.root().join("locked")).len(), 1);
}

/// Upstream given as a mirrorlist (the first mirror is dead: failover) and
/// as a metalink (whose repomd.xml checksum is enforced).
#[test]
fn mirrorlist_and_metalink_upstreams() {
    let w = World::new();
    let up = w.upstream();
    build_rpms(&up, "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    createrepo(&up, &RepoOpts::default());
    let dead_port = DeadPort::new();
    let dead = dead_port.url("repo/");
    write(
        &w.top.path().join("mirrorlist.txt"),
        &format!("# mirrors\n{dead}\n{}\n", w.upstream_url()),
    );
    let out = run_ok(w.mgr().args([
        "--json",
        "sync",
        "ml-el9",
        "--retries",
        "0",
        "--mirrorlist",
        &w.nginx.url("mirrorlist.txt"),
    ]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mirrors"][0]["status"], "new_snapshot", "{v}");
    assert_eq!(v["mirrors"][0]["upstream"], w.upstream_url());

    let repomd = std::fs::read(up.join("repodata/repomd.xml")).unwrap();
    let sha = run_ok(Command::new("sha256sum").arg(up.join("repodata/repomd.xml")));
    let sha = stdout(&sha).split_whitespace().next().unwrap().to_owned();
    assert_eq!(
        repomd.len() as u64,
        std::fs::metadata(up.join("repodata/repomd.xml"))
            .unwrap()
            .len()
    );
    let metalink = |hash: &str| {
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/"><files><file name="repomd.xml">
<verification><hash type="sha256">{hash}</hash></verification>
<resources><url protocol="http" preference="100">{}repodata/repomd.xml</url></resources>
</file></files></metalink>"#,
            w.upstream_url()
        )
    };
    write(&w.top.path().join("good.metalink"), &metalink(&sha));
    write(
        &w.top.path().join("stale.metalink"),
        &metalink(&"0".repeat(64)),
    );
    let r = run_ok(w.mgr().args([
        "--json",
        "sync",
        "mlk-el9",
        "--metalink",
        &w.nginx.url("good.metalink"),
    ]));
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["mirrors"][0]["status"], "new_snapshot", "{v}");
    let out = run(w.mgr().args([
        "sync",
        "stale-el9",
        "--metalink",
        &w.nginx.url("stale.metalink"),
    ]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("does not match the metalink's checksums"),
        "{}",
        stderr(&out)
    );
    assert!(snapshots(&w.root().join("stale-el9")).is_empty());
}

/// The real 30-mirror reposync config loads; unhonoured options are reported.
#[test]
fn real_reposync_config_loads() {
    let conf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../mirror-client/tests/fixtures/corpus/09_ovirt-jenkins_mirrors-reposync.conf");
    let out = run_ok(
        Command::new(bin("mirror-mgr"))
            .arg("--repo-config")
            .arg(&conf)
            .args(["mirrors", "--json"]),
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert!(rows.len() >= 30, "{} mirrors", rows.len());
    let base = rows
        .iter()
        .find(|r| r["name"] == "centos-base-el8stream")
        .unwrap();
    assert_eq!(
        base["upstream"][0],
        "http://mirror.centos.org/centos/8-stream/BaseOS/x86_64/os/"
    );
    assert!(rows.iter().any(|r| r["kind"] == "mirrorlist"));
    // exclude= is honoured (issue 10): the mirrors that have one filter.
    let err = stderr(&out);
    assert!(!err.contains("exclude"), "{err}");
    let filtered: Vec<&serde_json::Value> =
        rows.iter().filter(|r| r["filter"].is_string()).collect();
    assert!(filtered.len() >= 6, "{filtered:?}");
    assert!(
        filtered[0]["filter"]
            .as_str()
            .unwrap()
            .contains("0ad*,FlightGear*"),
        "{filtered:?}"
    );
    // gpgcheck/gpgkey are understood (issue 9): package signatures are
    // checked at sync against the configured key.
    assert_eq!(base["signatures"]["packages"], true, "{base}");
    assert_eq!(
        base["signatures"]["keys"][0],
        "file:///usr/share/distribution-gpg-keys/centos/RPM-GPG-KEY-CentOS-Official"
    );
    assert!(
        !err.contains("`gpgkey`") && !err.contains("`gpgcheck`"),
        "{err}"
    );
}

/// --detailed-exitcode, and root/base URL from the environment.
#[test]
fn detailed_exit_code_and_environment() {
    let w = World::new();
    build_rpms(&w.upstream(), "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    createrepo(&w.upstream(), &RepoOpts::default());
    let mut c = Command::new(bin("mirror-mgr"));
    c.env("MIRRORS_ROOT", w.root())
        .env("MIRRORS_BASE_URL", w.base_url());
    let out = run(c.args([
        "sync",
        "env-el9",
        "--detailed-exitcode",
        "--url",
        &w.upstream_url(),
    ]));
    assert_eq!(out.status.code(), Some(10), "{}", stderr(&out));
    let out = run(Command::new(bin("mirror-mgr"))
        .env("MIRRORS_ROOT", w.root())
        .env("MIRRORS_BASE_URL", w.base_url())
        .args([
            "sync",
            "env-el9",
            "--detailed-exitcode",
            "--url",
            &w.upstream_url(),
        ]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("env-el9: unchanged"));
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.root().join("all_latest.json")).unwrap()).unwrap();
    assert!(
        index["latest_ci_repos"]["env-el9"]
            .as_str()
            .unwrap()
            .starts_with(&w.base_url())
    );
}
