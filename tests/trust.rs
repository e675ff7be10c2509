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

/// Issue 21, items 2 and 3: the key that actually signed is judged (a
/// subkey with its primary), and `allowed_keys` narrows a key file that
/// holds several keys.
#[test]
fn subkeys_and_narrowed_key_files() {
    let gpg = Gpg::new();
    let w = World::new();
    let keys = w.top.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let up = w.upstream();
    build_rpms(&up, "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    createrepo(&up, &RepoOpts::default());
    let repomd = up.join("repodata/repomd.xml");
    let cfg = w.top.path().join("m.yaml");
    let mirror = |name: &str, key: &str, extra: &str| {
        format!(
            "  - name: {name}\n    baseurl: {}\n    gpgkey: {}\n{extra}",
            w.upstream_url(),
            keys.join(key).display()
        )
    };
    let repo_check = "    repo_gpgcheck: true\n";

    // repomd.xml signed by a valid signing subkey: accepted.
    let p = gpg.key("Primary <p@example.org>", "1y", None);
    let s1 = gpg.add_subkey(&p, "1y", None);
    gpg.sign_detached(&format!("{s1}!"), &repomd, None);
    gpg.export(&p, &keys.join("p.asc"));
    // The same signature after the subkey is revoked: refused.
    gpg.revoke_subkey(&p, &s1);
    gpg.export(&p, &keys.join("p-revoked-sub.asc"));
    // An expired subkey of a primary that never expires (made in 2020).
    let q = gpg.key(
        "Old Primary <q@example.org>",
        "never",
        Some("20200101T000000"),
    );
    let s2 = gpg.add_subkey(&q, "1d", Some("20200102T000000"));
    gpg.export(&q, &keys.join("q.asc"));
    write(
        &cfg,
        &format!(
            "mirrors:\n{}{}{}",
            mirror("sub-ok-el9", "p.asc", repo_check),
            mirror("sub-revoked-el9", "p-revoked-sub.asc", repo_check),
            mirror("sub-expired-el9", "q.asc", repo_check),
        ),
    );
    let (out, _) = sync(&w, &cfg, "sub-ok-el9");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (out, v) = sync(&w, &cfg, "sub-revoked-el9");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(error_of(&v).contains("revoked"), "{v}");
    gpg.sign_detached(&format!("{s2}!"), &repomd, Some("20200102T120000"));
    let (out, v) = sync(&w, &cfg, "sub-expired-el9");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        error_of(&v).contains("expired") && error_of(&v).contains(&s2[s2.len() - 16..]),
        "{v}"
    );

    // Packages signed by a subkey: accepted while the key is good, refused
    // once the primary is revoked, and refused when the subkey is.
    let r = gpg.key("Packager <r@example.org>", "1y", None);
    let s3 = gpg.add_subkey(&r, "1y", None);
    let pkgs = up.join("Packages");
    gpg.rpmsign(&format!("{s3}!"), &pkgs.join("alpha-1.0-1.noarch.rpm"));
    createrepo(&up, &RepoOpts::default());
    gpg.export(&r, &keys.join("r.asc"));
    let s4 = gpg.add_subkey(&r, "1y", None);
    build_rpms(&up, "Extra", &[Pkg::new("beta", "1.0", "1")]);
    gpg.rpmsign(&format!("{s4}!"), &up.join("Extra/beta-1.0-1.noarch.rpm"));
    gpg.revoke_subkey(&r, &s4);
    gpg.export(&r, &keys.join("r-revoked-sub.asc"));
    gpg.revoke_key(&r);
    gpg.export(&r, &keys.join("r-revoked.asc"));
    // A file with two keys, A and B; only A allowed.
    let a = gpg.key("Key A <a@example.org>", "1y", None);
    let b = gpg.key("Key B <b@example.org>", "1y", None);
    let both = stdout(&run_ok(gpg.cmd().args(["--armor", "--export", &a, &b])));
    write(&keys.join("ab.asc"), &both);
    let pkg_check = |allowed: &str| format!("    pkg_gpgcheck: true\n{allowed}");
    write(
        &cfg,
        &format!(
            "mirrors:\n{}{}",
            mirror("pkg-sub-ok-el9", "r.asc", &pkg_check("")),
            mirror("pkg-primary-revoked-el9", "r-revoked.asc", &pkg_check("")),
        ),
    );
    let (out, _) = sync(&w, &cfg, "pkg-sub-ok-el9");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (out, v) = sync(&w, &cfg, "pkg-primary-revoked-el9");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        error_of(&v).contains("alpha-1.0-1.noarch.rpm") && error_of(&v).contains("revoked"),
        "{v}"
    );
    // beta, signed by the revoked subkey s4, replaces alpha.
    std::fs::remove_dir_all(&pkgs).unwrap();
    createrepo(&up, &RepoOpts::default());
    write(
        &cfg,
        &format!(
            "mirrors:\n{}",
            mirror("pkg-sub-revoked-el9", "r-revoked-sub.asc", &pkg_check("")),
        ),
    );
    let (out, v) = sync(&w, &cfg, "pkg-sub-revoked-el9");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        error_of(&v).contains("beta-1.0-1.noarch.rpm")
            && error_of(&v).contains("revoked")
            && error_of(&v).contains(&s4[s4.len() - 16..]),
        "{v}"
    );

    // allowed_keys [A] on a file holding A and B: a package signed by B is
    // refused; allowing both accepts it (the file itself is fine).
    std::fs::remove_dir_all(up.join("Extra")).unwrap();
    build_rpms(&up, "Packages", &[Pkg::new("gamma", "1.0", "1")]);
    gpg.rpmsign(&b, &up.join("Packages/gamma-1.0-1.noarch.rpm"));
    createrepo(&up, &RepoOpts::default());
    write(
        &cfg,
        &format!(
            "mirrors:\n{}{}",
            mirror(
                "pkg-narrowed-el9",
                "ab.asc",
                &pkg_check(&format!("    allowed_keys: [{a}]\n"))
            ),
            mirror(
                "pkg-wide-el9",
                "ab.asc",
                &pkg_check(&format!("    allowed_keys: [{a}, {b}]\n"))
            ),
        ),
    );
    let (out, v) = sync(&w, &cfg, "pkg-narrowed-el9");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        error_of(&v).contains("gamma-1.0-1.noarch.rpm")
            && error_of(&v).contains(&b[b.len() - 16..]),
        "{v}"
    );
    let (out, _) = sync(&w, &cfg, "pkg-wide-el9");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for name in [
        "sub-revoked-el9",
        "sub-expired-el9",
        "pkg-primary-revoked-el9",
        "pkg-sub-revoked-el9",
        "pkg-narrowed-el9",
    ] {
        assert!(latest(&w.root().join(name)).is_none(), "{name} published");
    }
}
