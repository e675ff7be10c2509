//! The pool layout in the bucket (issue 23) on real SeaweedFS with real
//! dnf: each package stored once under `pool/`, snapshots holding only
//! their rewritten, re-signed `repodata/`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use mirror_e2e::*;

const PASS: &str = "pool-key-pass";
const MIRROR: &str = "pool-el9";
/// The same upstream, without a sign_key.
const UNSIGNED: &str = "pool-el9-plain";

fn mgr_cfg(cfg: &Path) -> Command {
    let mut c = Command::new(bin("mirror-mgr"));
    c.arg("--config").arg(cfg).env("E2E_SIGN_PASS", PASS);
    with_s3_env(&mut c);
    c
}

fn publish_sync(cfg: &Path) -> serde_json::Value {
    let out = run_ok(mgr_cfg(cfg).args(["--json", "sync", MIRROR, "--publish"]));
    serde_json::from_slice(&out.stdout).expect("sync --json")
}

/// dnf installs `pkg` from the bucket snapshot at `url` with
/// `repo_gpgcheck=1` and the key published beside it; its version.
fn install(url: &str, key_url: &str, pkg: &str) -> Result<Option<String>, String> {
    let dnf = Dnf::new();
    let out = dnf.install_signed(&format!("{url}/"), key_url, pkg);
    if out.status.success() {
        Ok(dnf.installed_version(pkg))
    } else {
        Err(stderr(&out))
    }
}

/// Acceptance 1 (and the storage it promises): three snapshots, the
/// second and third changing a package each; every bucket snapshot holds
/// only repodata/, each package is in the pool once, dnf installs from
/// each with repo_gpgcheck, mirror-client finds them through the bucket's
/// index and --at, and a flipped byte in the bucket's primary is refused.
#[test]
fn each_package_once_every_snapshot_installs() {
    let s3 = Seaweed::start("pool");
    let gpg = Gpg::new();
    let fpr = gpg.key_with_passphrase("Pool Mirror <pool@example.org>", PASS);
    let w = World::new();
    let names: Vec<String> = (0..20).map(|i| format!("p{i:02}")).collect();
    let pkgs: Vec<Pkg> = names.iter().map(|n| Pkg::new(n, "1.0", "1")).collect();
    build_rpms(&w.upstream(), "Packages", &pkgs);
    createrepo(&w.upstream(), &RepoOpts::default());
    let secret = w.top.path().join("mirror-secret.asc");
    gpg.export_secret(&fpr, PASS, &secret);
    let cfg = w.top.path().join("pool.yaml");
    write(
        &cfg,
        &format!(
            "root: {}\nbase_url: {}\n{}    layout: pool\nmirrors:\n  - name: {MIRROR}\n    baseurl: {}\n    sign_key: {}\n    sign_key_passphrase_env: E2E_SIGN_PASS\n  - name: {UNSIGNED}\n    baseurl: {}\n",
            w.root().display(),
            w.base_url(),
            s3.publish_yaml("pooled"),
            w.upstream_url(),
            secret.display(),
            w.upstream_url(),
        ),
    );
    let mut snaps = Vec::new();
    let mut reports = Vec::new();
    for bump in [None, Some("p03"), Some("p11")] {
        if let Some(n) = bump {
            // Upstream replaces one package with a newer version.
            let old = w
                .upstream()
                .join("Packages")
                .join(format!("{n}-1.0-1.noarch.rpm"));
            std::fs::remove_file(old).unwrap();
            build_rpms(&w.upstream(), "Packages", &[Pkg::new(n, "2.0", "1")]);
            createrepo(&w.upstream(), &RepoOpts::default());
        }
        let v = publish_sync(&cfg);
        snaps.push(v["mirrors"][0]["snapshot"].as_str().unwrap().to_owned());
        reports.push(v);
    }
    // Another mirror of the same upstream: every package is in the pool
    // already (shared across mirrors); no sign_key, so it says unsigned.
    let out = run_ok(mgr_cfg(&cfg).args(["--json", "sync", UNSIGNED, "--publish"]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let plain_snap = v["mirrors"][0]["snapshot"].as_str().unwrap().to_owned();
    let p = &v["published"][0];
    assert_eq!(p["pool_hits"], 20, "{p}");
    assert_eq!(p["unsigned"][0], plain_snap.as_str(), "{p}");
    let public = s3.public_url("pooled");
    let dnf = Dnf::new();
    let out = dnf.install_from(
        "plain",
        &format!("{public}/{UNSIGNED}/{plain_snap}/"),
        &["p11"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(dnf.installed_version("p11").as_deref(), Some("2.0-1"));
    let keys = s3.list("pooled/");
    for snap in &snaps {
        let inside: Vec<&String> = keys
            .iter()
            .filter(|k| k.starts_with(&format!("pooled/{MIRROR}/{snap}/")))
            .collect();
        assert!(!inside.is_empty(), "{snap} is not in the bucket");
        assert!(
            inside.iter().all(|k| k.contains("/repodata/")),
            "a bucket snapshot holds more than its repodata: {inside:?}"
        );
    }
    let pooled: BTreeSet<&String> = keys
        .iter()
        .filter(|k| k.starts_with("pooled/pool/sha256/"))
        .collect();
    assert_eq!(
        pooled.len(),
        22,
        "20 packages and 2 new versions, each once: {pooled:?}"
    );
    let second = reports[1]["published"][0].clone();
    assert_eq!(second["pool_hits"], 19, "{second}");
    assert!(
        second["unsigned"].as_array().is_some_and(Vec::is_empty),
        "{second}"
    );

    let key_url = format!("{public}/{MIRROR}/RPM-GPG-KEY-mirror");
    for (snap, (pkg, want)) in
        snaps
            .iter()
            .zip([("p03", "1.0-1"), ("p03", "2.0-1"), ("p11", "2.0-1")])
    {
        let got =
            install(&format!("{public}/{MIRROR}/{snap}"), &key_url, pkg).unwrap_or_else(|e| {
                panic!("dnf cannot install {pkg} from bucket snapshot {snap}: {e}")
            });
        assert_eq!(got.as_deref(), Some(want), "{snap}");
    }
    // mirror-client through the bucket's index, and back in time.
    let show = |extra: &[&str]| {
        let out = run_ok(
            client()
                .args(["show", "--mirrors", &format!("{public}/all_latest.json")])
                .args(extra),
        );
        stdout(&out)
    };
    assert!(show(&[]).contains(&format!("{public}/{MIRROR}/{}", snaps[2])));
    assert!(show(&["--at", &snaps[0]]).contains(&format!("{public}/{MIRROR}/{}", snaps[0])));

    // A flipped byte in the bucket's primary: dnf refuses the snapshot.
    let md_key = keys
        .iter()
        .find(|k| {
            k.starts_with(&format!("pooled/{MIRROR}/{}/repodata/", snaps[2]))
                && k.contains("-primary.xml")
        })
        .unwrap()
        .clone();
    let (code, mut body) = Seaweed::get(&format!(
        "{}/{md_key}",
        s3.public_url("").trim_end_matches('/')
    ));
    assert_eq!(code, 200);
    let mid = body.len() / 2;
    body[mid] ^= 0x01;
    s3.put(&md_key, &body);
    let refused = install(&format!("{public}/{MIRROR}/{}", snaps[2]), &key_url, "p11");
    assert!(
        refused.is_err(),
        "dnf took a damaged primary from the bucket"
    );
}
