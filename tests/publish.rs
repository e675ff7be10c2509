//! Publishing to S3-compatible object storage (issue 14), on a real
//! distributed engine: SeaweedFS (single node, S3 gateway, anonymous read
//! like a CDN), with dnf and mirror-client reading the bucket.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use mirror_e2e::*;

fn config(w: &World, root: &Path, s3: &Seaweed, prefix: &str, name: &str) -> PathBuf {
    config_in(w, root, s3, prefix, name, "tree")
}

/// A config publishing `name` to `prefix` in the bucket `layout`.
fn config_in(
    w: &World,
    root: &Path,
    s3: &Seaweed,
    prefix: &str,
    name: &str,
    layout: &str,
) -> PathBuf {
    let cfg = root.with_extension(format!("{prefix}.yaml"));
    write(
        &cfg,
        &format!(
            "root: {}\nbase_url: {}\n{}    layout: {layout}\nmirrors:\n  - name: {name}\n    baseurl: {}\n",
            root.display(),
            w.base_url(),
            s3.publish_yaml(prefix),
            w.upstream_url()
        ),
    );
    cfg
}

fn mgr_cfg(cfg: &Path) -> Command {
    let mut c = Command::new(bin("mirror-mgr"));
    c.arg("--config").arg(cfg);
    with_s3_env(&mut c);
    c
}

/// What a client of the bucket sees: every mirror the index names installs
/// `pkg` at the version it expects (None: that mirror is not indexed).
fn installs_from_index(public: &str, mirror: &str, pkg: &str) -> Option<String> {
    let (code, body) = Seaweed::get(&format!("{public}/all_latest.json"));
    if code == 404 {
        return None;
    }
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    let v: serde_json::Value = serde_json::from_slice(&body).expect("the index parses");
    let url = v["latest_ci_repos"][mirror].as_str()?.to_owned();
    let dnf = Dnf::new();
    let out = dnf.install_from("bucket", &format!("{url}/"), &[pkg]);
    assert!(
        out.status.success(),
        "the index names {url}, which dnf cannot install from: {}",
        stderr(&out)
    );
    dnf.installed_version(pkg)
}

/// The snapshots the bucket's all_snapshots.json lists for `mirror`.
fn bucket_snapshots(public: &str, mirror: &str) -> Vec<String> {
    let (code, body) = Seaweed::get(&format!("{public}/all_snapshots.json"));
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    v["snapshots"][mirror]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let (name, url) = (e["name"].as_str().unwrap(), e["url"].as_str().unwrap());
            assert_eq!(url, format!("{public}/{mirror}/{name}"));
            name.to_owned()
        })
        .collect()
}

/// What `mirror-client freeze --at` makes of the bucket's index: the
/// frozen map, then what it said.
fn client_at(w: &World, public: &str, at: &str) -> (String, String) {
    let frozen = w.top.path().join("frozen-at.json");
    let _ = std::fs::remove_file(&frozen);
    let out = run(client()
        .args([
            "freeze",
            "--mirrors",
            &format!("{public}/all_latest.json"),
            "--at",
            at,
            "-o",
        ])
        .arg(&frozen));
    (
        std::fs::read_to_string(&frozen).unwrap_or_default(),
        stderr(&out),
    )
}

/// Acceptance 1 and 2: sync and publish; dnf installs from the bucket and
/// through mirror-client; an upstream update uploads only the changed
/// package's bytes (the others are copied inside the bucket); both
/// snapshots install; rollback and gc act on the bucket.
#[test]
fn publish_install_update_and_lifecycle() {
    let s3 = Seaweed::start("mirrors");
    let w = World::new();
    build_rpms(
        &w.upstream(),
        "Packages",
        &[
            Pkg::new("alpha", "1.0", "1"),
            Pkg::new("beta", "1.0", "1"),
            Pkg::new("gamma", "1.0", "1"),
        ],
    );
    createrepo(&w.upstream(), &RepoOpts::default());
    let root = w.root();
    let cfg = config(&w, &root, &s3, "yum", "pub-el9");
    let public = s3.public_url("yum");

    let out = run_ok(mgr_cfg(&cfg).args(["--json", "sync", "pub-el9", "--publish"]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s1 = v["mirrors"][0]["snapshot"].as_str().unwrap().to_owned();
    let p = &v["published"][0];
    assert_eq!(p["snapshots_uploaded"][0], s1.as_str(), "{v}");
    assert_eq!(p["files_copied"], 0, "{v}");
    // Credentials never show.
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        !all.contains(S3_SECRET) && !all.contains(S3_ACCESS),
        "{all}"
    );

    // dnf installs straight from the bucket, and through mirror-client.
    let dnf = Dnf::new();
    let out = dnf.install_from("b", &format!("{public}/pub-el9/{s1}/"), &["alpha", "beta"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let job = w.top.path().join("job.repo");
    write(
        &job,
        "[pub-el9]\nname=x\nmirrorlist=http://unreachable.invalid/ml\ngpgcheck=0\n",
    );
    run_ok(
        Command::new(bin("mirror-client"))
            .arg("--mirrors")
            .arg(format!("{public}/all_latest.json"))
            .arg(&job),
    );
    let text = std::fs::read_to_string(&job).unwrap();
    assert!(
        text.contains(&format!("baseurl={public}/pub-el9/{s1}")),
        "{text}"
    );
    let dnf = Dnf::new();
    let mut c = dnf.cmd();
    c.arg(format!(
        "--setopt=reposdir={}",
        job.parent().unwrap().display()
    ))
    .args(["--repo", "pub-el9", "install", "gamma"]);
    let out = run(&mut c);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(dnf.installed_version("gamma").as_deref(), Some("1.0-1"));

    // An update: one new package; the unchanged ones are not sent again.
    build_rpms(&w.upstream(), "Packages", &[Pkg::new("alpha", "2.0", "1")]);
    std::fs::remove_file(w.upstream().join("Packages/alpha-1.0-1.noarch.rpm")).unwrap();
    createrepo(&w.upstream(), &RepoOpts::default());
    let (puts, copies) = (s3.requests("PUT", 200), s3.requests("COPY", 200));
    let out = run_ok(mgr_cfg(&cfg).args(["--json", "sync", "pub-el9", "--publish"]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s2 = v["mirrors"][0]["snapshot"].as_str().unwrap().to_owned();
    let p = &v["published"][0];
    let snap2 = root.join("pub-el9").join(&s2);
    let metadata = files(&snap2.join("repodata"));
    let new_pkg = std::fs::metadata(snap2.join("Packages/alpha-2.0-1.noarch.rpm"))
        .unwrap()
        .len();
    let meta_bytes: u64 = metadata
        .iter()
        .map(|f| {
            std::fs::metadata(snap2.join("repodata").join(f))
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(p["files_copied"], 2, "beta and gamma are copies: {p}");
    assert_eq!(p["files_uploaded"], 1 + metadata.len(), "{p}");
    assert_eq!(p["bytes_uploaded"], new_pkg + meta_bytes, "{p}");
    // The server agrees: two copies, and PUTs for the new package, the
    // metadata, latest.txt, the index (JSON and YAML) and
    // all_snapshots.json only.
    assert_eq!(s3.requests("COPY", 200) - copies, 2);
    assert_eq!(
        s3.requests("PUT", 200) - puts,
        1 + metadata.len() as u64 + 1 + 2 + 1,
        "{p}"
    );
    // Time travel against the bucket: all_snapshots.json names both, and
    // `mirror-client --at` the first hands dnf a URL in the bucket.
    assert_eq!(
        bucket_snapshots(&public, "pub-el9"),
        [s1.clone(), s2.clone()]
    );
    let (at_s1, said) = client_at(&w, &public, &s1);
    assert!(
        at_s1.contains(&format!("{public}/pub-el9/{s1}")),
        "{at_s1}{said}"
    );
    let dnf = Dnf::new();
    let out = dnf.install_from("at", &format!("{public}/pub-el9/{s1}/"), &["alpha"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        installs_from_index(&public, "pub-el9", "alpha").as_deref(),
        Some("2.0-1")
    );
    let dnf = Dnf::new();
    let out = dnf.install_from("old", &format!("{public}/pub-el9/{s1}/"), &["alpha"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(dnf.installed_version("alpha").as_deref(), Some("1.0-1"));

    // A publish with nothing new sends nothing.
    let out = run_ok(mgr_cfg(&cfg).args(["--json", "publish", "--all"]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["published"][0]["files_uploaded"], 0, "{v}");

    // rollback moves the bucket's pointer and index too; gc removes there too.
    run_ok(mgr_cfg(&cfg).args(["rollback", "pub-el9"]));
    let (_, latest) = Seaweed::get(&format!("{public}/pub-el9/latest.txt"));
    assert_eq!(String::from_utf8_lossy(&latest).trim(), s1);
    assert_eq!(
        installs_from_index(&public, "pub-el9", "alpha").as_deref(),
        Some("1.0-1")
    );
    run_ok(mgr_cfg(&cfg).args(["rollback", "pub-el9", "--to", &s2]));
    run_ok(mgr_cfg(&cfg).args(["gc", "pub-el9", "--keep-last", "1"]));
    let (code, _) = Seaweed::get(&format!("{public}/pub-el9/{s1}/repodata/repomd.xml"));
    assert_eq!(code, 404, "gc left {s1} in the bucket");
    let (code, _) = Seaweed::get(&format!(
        "{public}/pub-el9/{s1}/Packages/beta-1.0-1.noarch.rpm"
    ));
    assert_eq!(code, 404);
    assert_eq!(
        installs_from_index(&public, "pub-el9", "alpha").as_deref(),
        Some("2.0-1")
    );
    // Acceptance 2 of issue 22, the bucket's side: gc's removal is gone
    // from all_snapshots.json too, and --at never answers with it.
    assert_eq!(
        bucket_snapshots(&public, "pub-el9"),
        std::slice::from_ref(&s2)
    );
    let (at_s1, said) = client_at(&w, &public, &s1);
    assert!(!at_s1.contains(&s1), "{at_s1}");
    assert!(said.contains("no snapshot made at or before"), "{said}");

    // A promotion moves the channel's pointer and index in the bucket too.
    run_ok(mgr_cfg(&cfg).args(["promote", "pub-el9", &s2, "--channel", "tested"]));
    let (code, body) = Seaweed::get(&format!("{public}/all_tested.json"));
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["tested_ci_repos"]["pub-el9"],
        format!("{public}/pub-el9/{s2}"),
        "{v}"
    );
    let (_, pointer) = Seaweed::get(&format!("{public}/pub-el9/tested.txt"));
    assert_eq!(String::from_utf8_lossy(&pointer).trim(), s2);

    // The index can be rebuilt from the bucket alone.
    let (_, before) = Seaweed::get(&format!("{public}/all_latest.json"));
    run_ok(
        Command::new("curl")
            .args(["-s", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user"])
            .arg(format!("{S3_ACCESS}:{S3_SECRET}"))
            .args(["-X", "DELETE"])
            .arg(format!("{public}/all_latest.json")),
    );
    assert_eq!(Seaweed::get(&format!("{public}/all_latest.json")).0, 404);
    let (_, snapshots_before) = Seaweed::get(&format!("{public}/all_snapshots.json"));
    run_ok(mgr_cfg(&cfg).args(["index", "--from-bucket"]));
    let (_, after) = Seaweed::get(&format!("{public}/all_latest.json"));
    assert_eq!(after, before);
    let (_, snapshots_after) = Seaweed::get(&format!("{public}/all_snapshots.json"));
    assert_eq!(
        String::from_utf8_lossy(&snapshots_after),
        String::from_utf8_lossy(&snapshots_before)
    );
}

/// Acceptance 3: SIGKILL at every publish step; the bucket always serves a
/// complete previous or new state (dnf installs from whatever the index
/// names), and the next publish completes.
#[test]
fn killed_publishes_leave_a_complete_state() {
    let s3 = Seaweed::start("crash");
    let w = World::new();
    build_rpms(
        &w.upstream(),
        "Packages",
        &[Pkg::new("alpha", "1.0", "1"), Pkg::new("beta", "1.0", "1")],
    );
    createrepo(&w.upstream(), &RepoOpts::default());
    // Host state before and after an update: root_a has S1, root_b S1 and S2.
    let root_a = w.top.path().join("root-a");
    let cfg0 = config(&w, &root_a, &s3, "unused", "crashy-el9");
    run_ok(mgr_cfg(&cfg0).args(["sync", "crashy-el9"]));
    build_rpms(
        &w.upstream(),
        "Packages",
        &[Pkg::new("alpha", "2.0", "1"), Pkg::new("delta", "1.0", "1")],
    );
    createrepo(&w.upstream(), &RepoOpts::default());
    let root_b = w.top.path().join("root-b");
    run_ok(Command::new("cp").arg("-a").arg(&root_a).arg(&root_b));
    let cfg_b0 = config(&w, &root_b, &s3, "unused", "crashy-el9");
    run_ok(mgr_cfg(&cfg_b0).args(["sync", "crashy-el9"]));

    let mut points: Vec<String> = [
        "publish-packages-uploaded",
        "publish-metadata-uploaded",
        "publish-snapshot-complete",
        "publish-pointer-written",
        "publish-index-written@1",
        "publish-index-written@2",
    ]
    .iter()
    .map(|p| (*p).to_owned())
    .collect();
    points.extend((1..=3).map(|n| format!("publish-file-uploaded@{n}")));
    // Both layouts (issue 23: the pool's packages, rewritten metadata and
    // repomd.xml go up in the same order).
    let rounds = ["tree", "pool"]
        .iter()
        .flat_map(|l| points.iter().enumerate().map(move |(i, p)| (*l, i, p)));
    for (layout, i, point) in rounds {
        let prefix = format!("crash-{layout}-{i}");
        let public = s3.public_url(&prefix);
        let cfg_a = config_in(&w, &root_a, &s3, &prefix, "crashy-el9", layout);
        let cfg_b = config_in(&w, &root_b, &s3, &prefix, "crashy-el9", layout);
        run_ok(mgr_cfg(&cfg_a).args(["publish", "--all"]));
        assert_eq!(
            installs_from_index(&public, "crashy-el9", "alpha").as_deref(),
            Some("1.0-1")
        );
        // Packages over 1 KiB go up in parts here: killed multipart uploads too.
        let out = run(mgr_cfg(&cfg_b)
            .env("MIRROR_MGR_CRASH_AT", point)
            .env("MIRROR_MGR_MULTIPART_OVER", "1024")
            .args(["publish", "--all"]));
        assert_eq!(
            out.status.signal(),
            Some(9),
            "{layout} {point}: not killed: {}",
            stderr(&out)
        );
        // Whatever the index names installs: the old or the new state.
        let seen = installs_from_index(&public, "crashy-el9", "alpha");
        assert!(
            matches!(seen.as_deref(), Some("1.0-1" | "2.0-1")),
            "{layout} {point}: {seen:?}"
        );
        run_ok(
            mgr_cfg(&cfg_b)
                .env("MIRROR_MGR_MULTIPART_OVER", "1024")
                .args(["publish", "--all"]),
        );
        assert_eq!(
            installs_from_index(&public, "crashy-el9", "alpha").as_deref(),
            Some("2.0-1"),
            "{layout} {point}: the next publish did not finish"
        );
        assert_yaml_follows_json(&public, point);
    }
}

/// The bucket's all_latest.yaml holds exactly what its all_latest.json holds.
fn assert_yaml_follows_json(public: &str, when: &str) {
    let (_, json) = Seaweed::get(&format!("{public}/all_latest.json"));
    let (code, yaml) = Seaweed::get(&format!("{public}/all_latest.yaml"));
    assert_eq!(code, 200, "{when}: no YAML index");
    let j: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let y: serde_json::Value = serde_yaml::from_slice(&yaml).unwrap();
    assert_eq!(j, y, "{when}: the YAML index does not match the JSON");
}

/// Issue 21, item 13: a YAML index left behind by a killed publish is
/// rewritten by the next publish; a shared index that does not parse fails
/// the publish (naming it and the way to rebuild) instead of being replaced
/// by this host's mirrors alone; `index --from-bucket` then rebuilds it.
#[test]
fn stale_or_unreadable_bucket_indexes() {
    let s3 = Seaweed::start("stale");
    let w = World::new();
    build_rpms(&w.upstream(), "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    createrepo(&w.upstream(), &RepoOpts::default());
    let hosts: Vec<PathBuf> = ["one-el9", "two-el9"]
        .iter()
        .map(|name| {
            let root = w.top.path().join(format!("host-{name}"));
            let cfg = config(&w, &root, &s3, "idx", name);
            run_ok(mgr_cfg(&cfg).args(["sync", name]));
            run_ok(mgr_cfg(&cfg).args(["publish", "--all"]));
            cfg
        })
        .collect();
    let public = s3.public_url("idx");
    assert_yaml_follows_json(&public, "two hosts");
    // A YAML index behind the JSON (as a killed publish leaves it).
    s3.put("idx/all_latest.yaml", b"latest_ci_repos: {}\n");
    run_ok(mgr_cfg(&hosts[0]).args(["publish", "--all"]));
    assert_yaml_follows_json(&public, "after a publish");
    // An unreadable JSON index: the publish fails and keeps it as it is.
    s3.put(
        "idx/all_latest.json",
        b"{\"latest_ci_repos\": {\"two-el9\": ",
    );
    let out = run(mgr_cfg(&hosts[0]).args(["publish", "--all"]));
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("all_latest.json") && stderr(&out).contains("--from-bucket"),
        "{}",
        stderr(&out)
    );
    let (_, body) = Seaweed::get(&format!("{public}/all_latest.json"));
    assert!(body.starts_with(b"{\"latest_ci_repos\": {\"two-el9\": "));
    // Rebuilt from the pointers: both hosts' mirrors are back. A file named
    // like a tree file, or not like a channel, is no channel pointer.
    let (_, snap) = Seaweed::get(&format!("{public}/one-el9/latest.txt"));
    s3.put("idx/one-el9/snapshots.txt", &snap);
    s3.put("idx/one-el9/README.txt", &snap);
    run_ok(mgr_cfg(&hosts[0]).args(["index", "--from-bucket"]));
    let (code, body) = Seaweed::get(&format!("{public}/all_snapshots.json"));
    assert!(
        code == 404 || !String::from_utf8_lossy(&body).contains("snapshots_ci_repos"),
        "a pointer named snapshots.txt became an index: {}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(Seaweed::get(&format!("{public}/all_README.json")).0, 404);
    let (_, body) = Seaweed::get(&format!("{public}/all_latest.json"));
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let names: Vec<&String> = v["latest_ci_repos"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["one-el9", "two-el9"], "{v}");
    assert_yaml_follows_json(&public, "after the rebuild");
}

/// Several publishers, one bucket: hosts publishing their own mirrors at
/// the same time never lose each other's index entries.
#[test]
fn concurrent_publishers_share_the_index() {
    let s3 = Seaweed::start("shared");
    let w = World::new();
    build_rpms(&w.upstream(), "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    createrepo(&w.upstream(), &RepoOpts::default());
    let hosts: Vec<(PathBuf, String)> = (0..4)
        .map(|i| {
            let root = w.top.path().join(format!("host-{i}"));
            let name = format!("host{i}-el9");
            let cfg = config(&w, &root, &s3, "shared", &name);
            run_ok(mgr_cfg(&cfg).args(["sync", &name]));
            (cfg, name)
        })
        .collect();
    for _round in 0..3 {
        let handles: Vec<_> = hosts
            .iter()
            .map(|(cfg, _)| {
                let cfg = cfg.clone();
                std::thread::spawn(move || run(mgr_cfg(&cfg).args(["publish", "--all"])))
            })
            .collect();
        for h in handles {
            let out = h.join().unwrap();
            assert!(out.status.success(), "{}", stderr(&out));
        }
    }
    let public = s3.public_url("shared");
    let (_, body) = Seaweed::get(&format!("{public}/all_latest.json"));
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    for (_, name) in &hosts {
        assert!(v["latest_ci_repos"][name].is_string(), "{name} lost: {v}");
    }
    let (_, yaml) = Seaweed::get(&format!("{public}/all_latest.yaml"));
    let y: serde_yaml::Value = serde_yaml::from_slice(&yaml).unwrap();
    assert_eq!(
        y["latest_ci_repos"]
            .as_mapping()
            .map(serde_yaml::Mapping::len),
        Some(hosts.len())
    );
}

/// Issue 22: votes that promote, promotions and rollbacks made over the
/// API reach the bucket, as the same verbs on the command line do.
#[test]
fn api_verbs_reach_the_bucket() {
    let s3 = Seaweed::start("api");
    let w = World::new();
    build_rpms(&w.upstream(), "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    createrepo(&w.upstream(), &RepoOpts::default());
    let root = w.root();
    let cfg = config(&w, &root, &s3, "api", "api-el9");
    let text = std::fs::read_to_string(&cfg).unwrap();
    write(
        &cfg,
        &format!("{text}channels:\n  tested:\n    require: [unit]\n"),
    );
    let public = s3.public_url("api");
    let snap = |v: &serde_json::Value| v["mirrors"][0]["snapshot"].as_str().unwrap().to_owned();
    let out = run_ok(mgr_cfg(&cfg).args(["--json", "sync", "api-el9", "--publish"]));
    let s1 = snap(&serde_json::from_slice(&out.stdout).unwrap());
    build_rpms(&w.upstream(), "Packages", &[Pkg::new("alpha", "2.0", "1")]);
    createrepo(&w.upstream(), &RepoOpts::default());
    let out = run_ok(mgr_cfg(&cfg).args(["--json", "sync", "api-el9", "--publish"]));
    let s2 = snap(&serde_json::from_slice(&out.stdout).unwrap());
    let token = stdout(&run_ok(mgr_cfg(&cfg).args([
        "token",
        "add",
        "ci",
        "--scopes",
        "vote,admin",
    ])))
    .trim()
    .to_owned();
    let server = Server::start({
        let mut c = mgr_cfg(&cfg);
        c.arg("serve");
        c
    });
    let bucket_index = |name: &str| -> serde_json::Value {
        let (code, body) = Seaweed::get(&format!("{public}/all_{name}.json"));
        assert_eq!(code, 200, "all_{name}.json");
        serde_json::from_slice(&body).unwrap()
    };
    // A vote that promotes: the bucket's channel index follows.
    let body = format!(r#"{{"set": {{"api-el9": "{s1}"}}, "job": "unit", "result": "pass"}}"#);
    let (code, v) = server.json("POST", "/api/v1/votes", Some(&token), Some(&body));
    assert_eq!(code, 201, "{v}");
    assert_eq!(v["published"][0]["mirror"], "api-el9", "{v}");
    let tested = bucket_index("tested");
    assert!(
        tested["tested_ci_repos"]["api-el9"]
            .as_str()
            .unwrap()
            .ends_with(&s1),
        "{tested}"
    );
    // A rollback of latest: the bucket's latest follows.
    let (code, v) = server.json(
        "POST",
        "/api/v1/mirrors/api-el9/rollback",
        Some(&token),
        Some(&format!(r#"{{"to": "{s1}"}}"#)),
    );
    assert_eq!(code, 200, "{v}");
    let latest = bucket_index("latest");
    assert!(
        latest["latest_ci_repos"]["api-el9"]
            .as_str()
            .unwrap()
            .ends_with(&s1),
        "{latest}"
    );
    assert_ne!(s1, s2);
}

/// Issue 22, acceptance 6 (its key part): a filtered, re-signed mirror's
/// key (`RPM-GPG-KEY-mirror`) is in the bucket, and dnf with
/// `repo_gpgcheck=1` installs from the bucket's snapshot with the key
/// fetched from the bucket.
#[test]
fn the_signing_key_is_in_the_bucket() {
    const PASS: &str = "bucket-key-pass";
    let s3 = Seaweed::start("keyed");
    let gpg = Gpg::new();
    let fpr = gpg.key_with_passphrase("Mirror Signing <mirror@example.org>", PASS);
    let w = World::new();
    build_rpms(&w.upstream(), "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    build_rpms(&w.upstream(), "Packages", &[Pkg::new("alpha", "1.1", "1")]);
    createrepo(&w.upstream(), &RepoOpts::default());
    let secret = w.top.path().join("mirror-secret.asc");
    gpg.export_secret(&fpr, PASS, &secret);
    let root = w.root();
    let cfg = w.top.path().join("keyed.yaml");
    write(
        &cfg,
        &format!(
            "root: {}\nbase_url: {}\n{}mirrors:\n  - name: lean-el9\n    baseurl: {}\n    newest_only: true\n    sign_key: {}\n    sign_key_passphrase_env: E2E_SIGN_PASS\n",
            root.display(),
            w.base_url(),
            s3.publish_yaml("keyed"),
            w.upstream_url(),
            secret.display()
        ),
    );
    let out = run_ok(mgr_cfg(&cfg).env("E2E_SIGN_PASS", PASS).args([
        "--json",
        "sync",
        "lean-el9",
        "--publish",
    ]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let snap = v["mirrors"][0]["snapshot"].as_str().unwrap().to_owned();
    let public = s3.public_url("keyed");
    let key_url = format!("{public}/lean-el9/RPM-GPG-KEY-mirror");
    let (code, key) = Seaweed::get(&key_url);
    assert_eq!(code, 200, "the bucket lacks the mirror's key");
    assert_eq!(
        key,
        std::fs::read(root.join("lean-el9/RPM-GPG-KEY-mirror")).unwrap()
    );
    let dnf = Dnf::new();
    let url = format!("{public}/lean-el9/{snap}/");
    let out = dnf.install_signed(&url, &key_url, "alpha");
    assert!(
        out.status.success(),
        "dnf refused the bucket's snapshot: {}",
        stderr(&out)
    );
    assert_eq!(dnf.installed_version("alpha").as_deref(), Some("1.1-1"));
}
