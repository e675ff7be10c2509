//! Signatures checked at sync (issue 9), with real gpg keys, `gpg
//! --detach-sign` on repomd.xml, `rpmsign` on packages, `rpmkeys
//! --checksig` as the referee, and dnf's own `repo_gpgcheck`.

use std::path::{Path, PathBuf};
use std::process::Command;

use mirror_e2e::*;

fn sync(w: &World, cfg: &Path, name: &str) -> (std::process::Output, serde_json::Value) {
    let out =
        run(w
            .mgr()
            .arg("--config")
            .arg(cfg)
            .args(["--json", "sync", name, "--retries", "0"]));
    let v = serde_json::from_slice(&out.stdout).unwrap_or_default();
    (out, v)
}

fn error_of(v: &serde_json::Value) -> String {
    v["mirrors"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Acceptance 4: repomd.xml signatures.
#[test]
fn repo_signatures() {
    let gpg = Gpg::new();
    let good = gpg.key("Mirror Test <good@example.org>", "1y", None);
    let other = gpg.key("Someone Else <other@example.org>", "1y", None);
    let old = gpg.key(
        "Old Key <old@example.org>",
        "2020-01-10",
        Some("20200101T000000"),
    );
    let w = World::new();
    let keys = w.top.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    for (f, k) in [
        ("good.asc", &good),
        ("other.asc", &other),
        ("old.asc", &old),
    ] {
        gpg.export(k, &keys.join(f));
    }
    let up = w.upstream();
    build_rpms(&up, "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    createrepo(&up, &RepoOpts::default());
    let repomd = up.join("repodata/repomd.xml");
    let asc = up.join("repodata/repomd.xml.asc");
    let cfg = w.top.path().join("m.yaml");
    let mirror = |name: &str, key: &str| {
        format!(
            "  - name: {name}\n    baseurl: {}\n    repo_gpgcheck: true\n    gpgkey: {}\n",
            w.upstream_url(),
            keys.join(key).display()
        )
    };
    write(
        &cfg,
        &format!(
            "mirrors:\n{}{}{}{}{}",
            mirror("signed-el9", "good.asc"),
            mirror("tampered-el9", "good.asc"),
            mirror("otherkey-el9", "good.asc"),
            mirror("missing-el9", "good.asc"),
            mirror("expired-el9", "old.asc"),
        ),
    );

    // Signed by the pinned key: syncs, and dnf (repo_gpgcheck=1) accepts it.
    gpg.sign_detached(&good, &repomd, None);
    let (out, v) = sync(&w, &cfg, "signed-el9");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let snap = v["mirrors"][0]["snapshot"].as_str().unwrap().to_owned();
    let snap_dir = w.root().join("signed-el9").join(&snap);
    assert_eq!(
        std::fs::read(snap_dir.join("repodata/repomd.xml.asc")).unwrap(),
        std::fs::read(&asc).unwrap()
    );
    let dnf = Dnf::new();
    let url = w.snapshot_url("signed-el9", &snap);
    let mut c = dnf.cmd();
    c.arg("--setopt=reposdir=/nonexistent")
        .arg(format!("--repofrompath=signed,{url}"))
        .args([
            "--repo",
            "signed",
            "--setopt=signed.gpgcheck=0",
            "--setopt=signed.repo_gpgcheck=1",
        ])
        .arg(format!(
            "--setopt=signed.gpgkey=file://{}",
            keys.join("good.asc").display()
        ))
        .args(["install", "alpha"]);
    let out = run(&mut c);
    assert!(
        out.status.success(),
        "dnf refused the snapshot: {}",
        stderr(&out)
    );
    assert_eq!(dnf.installed_version("alpha").as_deref(), Some("1.0-1"));

    // Tampered after signing.
    let text = std::fs::read_to_string(&repomd).unwrap();
    std::fs::write(&repomd, format!("{text}<!-- tampered -->\n")).unwrap();
    let (out, v) = sync(&w, &cfg, "tampered-el9");
    assert_eq!(out.status.code(), Some(1));
    let err = error_of(&v);
    assert!(
        err.contains("does not verify") && err.contains("repomd.xml"),
        "{err}"
    );
    std::fs::write(&repomd, &text).unwrap();

    // Signed by a key that is not pinned: names the key id.
    gpg.sign_detached(&other, &repomd, None);
    let (out, v) = sync(&w, &cfg, "otherkey-el9");
    assert_eq!(out.status.code(), Some(1));
    let err = error_of(&v);
    assert!(
        err.contains(&other[other.len() - 16..]),
        "{err} should name {other}"
    );

    // No signature at all.
    std::fs::remove_file(&asc).unwrap();
    let (out, v) = sync(&w, &cfg, "missing-el9");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        error_of(&v).contains("not signed") && error_of(&v).contains("repomd.xml.asc"),
        "{v}"
    );

    // An expired key (made and used in 2020).
    gpg.sign_detached(&old, &repomd, Some("20200102T000000"));
    let (out, v) = sync(&w, &cfg, "expired-el9");
    assert_eq!(out.status.code(), Some(1));
    assert!(error_of(&v).contains("expired"), "{v}");

    for name in ["tampered-el9", "otherkey-el9", "missing-el9", "expired-el9"] {
        assert!(
            snapshots(&w.root().join(name)).is_empty(),
            "{name} published"
        );
        assert!(latest(&w.root().join(name)).is_none(), "{name}");
    }
}

/// rpmkeys' verdict on a package, against an rpmdb holding `key`.
fn rpmkeys_ok(db: &Path, rpm: &Path) -> bool {
    let out = run(Command::new(tool("rpmkeys"))
        .arg("--dbpath")
        .arg(db)
        .arg("--checksig")
        .arg(rpm));
    let text = stdout(&out);
    out.status.success() && text.contains("signatures OK")
}

/// Acceptance 5: package signatures, with rpmkeys as the referee.
#[test]
fn package_signatures() {
    let gpg = Gpg::new();
    let good = gpg.key("Packager <pkg@example.org>", "1y", None);
    let other = gpg.key("Stranger <stranger@example.org>", "1y", None);
    let w = World::new();
    let key = w.top.path().join("RPM-GPG-KEY-test");
    gpg.export(&good, &key);
    let db = w.top.path().join("rpmdb");
    std::fs::create_dir_all(&db).unwrap();
    run_ok(
        Command::new(tool("rpmkeys"))
            .arg("--dbpath")
            .arg(&db)
            .arg("--import")
            .arg(&key),
    );

    let up = w.upstream();
    let pkgs = up.join("Packages");
    build_rpms(
        &up,
        "Packages",
        &[Pkg::new("alpha", "1.0", "1"), Pkg::new("beta", "1.0", "1")],
    );
    for f in ["alpha-1.0-1.noarch.rpm", "beta-1.0-1.noarch.rpm"] {
        gpg.rpmsign(&good, &pkgs.join(f));
    }
    createrepo(&up, &RepoOpts::default());
    let cfg = w.top.path().join("m.yaml");
    write(
        &cfg,
        &format!(
            "mirrors:\n  - name: p-el9\n    baseurl: {}\n    pkg_gpgcheck: true\n    gpgkey: file://{}\n    gpgkey_fingerprints: [{good}]\n",
            w.upstream_url(),
            key.display()
        ),
    );
    let verdicts = |dir: &Path| -> Vec<(PathBuf, bool)> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                let ok = rpmkeys_ok(&db, &p);
                (p, ok)
            })
            .collect()
    };
    let (out, v) = sync(&w, &cfg, "p-el9");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        verdicts(&pkgs).iter().all(|(_, ok)| *ok),
        "rpmkeys disagrees: {:?}",
        verdicts(&pkgs)
    );
    let s1 = v["mirrors"][0]["snapshot"].as_str().unwrap().to_owned();

    // An unsigned package arrives.
    build_rpms(&up, "Packages", &[Pkg::new("gamma", "1.0", "1")]);
    createrepo(&up, &RepoOpts::default());
    let (out, v) = sync(&w, &cfg, "p-el9");
    assert_eq!(out.status.code(), Some(1));
    let err = error_of(&v);
    assert!(
        err.contains("gamma-1.0-1.noarch.rpm") && err.contains("not signed"),
        "{err}"
    );
    assert!(!rpmkeys_ok(&db, &pkgs.join("gamma-1.0-1.noarch.rpm")));

    // Signed, but by another key: names the package and the key id.
    gpg.rpmsign(&other, &pkgs.join("gamma-1.0-1.noarch.rpm"));
    createrepo(&up, &RepoOpts::default());
    let (out, v) = sync(&w, &cfg, "p-el9");
    assert_eq!(out.status.code(), Some(1));
    let err = error_of(&v);
    assert!(
        err.contains("gamma-1.0-1.noarch.rpm") && err.contains(&other[other.len() - 16..]),
        "{err}"
    );
    assert!(!rpmkeys_ok(&db, &pkgs.join("gamma-1.0-1.noarch.rpm")));
    assert_eq!(
        snapshots(&w.root().join("p-el9")),
        std::slice::from_ref(&s1)
    );
    assert_eq!(
        latest(&w.root().join("p-el9")).as_deref(),
        Some(s1.as_str())
    );
    assert!(
        !w.root()
            .join("p-el9/base/Packages/gamma-1.0-1.noarch.rpm")
            .exists()
    );

    // Re-signed by the pinned key: syncs, and rpmkeys agrees on every package.
    gpg.rpmsign(&good, &pkgs.join("gamma-1.0-1.noarch.rpm"));
    createrepo(&up, &RepoOpts::default());
    let (out, v) = sync(&w, &cfg, "p-el9");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        verdicts(&pkgs).iter().all(|(_, ok)| *ok),
        "{:?}",
        verdicts(&pkgs)
    );

    // verify --signatures re-checks what is stored, with the config's keys.
    let verify = || {
        run(w
            .mgr()
            .arg("--config")
            .arg(&cfg)
            .args(["verify", "--signatures", "p-el9"]))
    };
    let out = verify();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let snap = v["mirrors"][0]["snapshot"].as_str().unwrap().to_owned();
    let stored = w
        .root()
        .join("p-el9")
        .join(&snap)
        .join("Packages/alpha-1.0-1.noarch.rpm");
    let unsigned = w.top.path().join("unsigned");
    std::fs::create_dir_all(&unsigned).unwrap();
    build_rpms(&unsigned, "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    std::fs::remove_file(&stored).unwrap();
    std::fs::copy(unsigned.join("Packages/alpha-1.0-1.noarch.rpm"), &stored).unwrap();
    let out = verify();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("Packages/alpha-1.0-1.noarch.rpm: not signed"),
        "{}",
        stdout(&out)
    );
    // Without the config the keys are unknown: a usage error, not a pass.
    let out = run(w.mgr().args(["verify", "--signatures", "p-el9"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
