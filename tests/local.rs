//! Local imports (issue 15, row 4), over the real binary: an upstream on
//! the mirror's own filesystem (a path) is placed into base/ and the
//! snapshot by reflink or hard link, not copied; it is still verified
//! (checksums by default; sizes only with `verify_local: size`, whose
//! blind spot `verify` then finds); an upstream on another filesystem is
//! copied as before. dnf installs from the snapshot.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use mirror_e2e::*;

fn config(w: &World, up: &Path, extra: &str) -> PathBuf {
    let cfg = w.top.path().join("local.yaml");
    write(
        &cfg,
        &format!(
            "mirrors:\n  - name: local-el9\n    baseurl: {}\n{extra}",
            up.display()
        ),
    );
    cfg
}

fn sync(w: &World, cfg: &Path) -> (Option<i32>, serde_json::Value, String) {
    let out = run(w
        .mgr()
        .arg("--config")
        .arg(cfg)
        .args(["--json", "sync", "local-el9"]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("sync: {e}: {}", stderr(&out)));
    (out.status.code(), v["mirrors"][0].clone(), stderr(&out))
}

fn fs_type(p: &Path) -> String {
    stdout(&run_ok(
        Command::new("stat").args(["-f", "-c", "%T"]).arg(p),
    ))
    .trim()
    .to_owned()
}

/// A package's path in a snapshot of the mirror.
fn in_snapshot(w: &World, snap: &str, pkg: &Pkg) -> PathBuf {
    w.root()
        .join("local-el9")
        .join(snap)
        .join("Packages")
        .join(pkg.file_name())
}

fn package_bytes(up: &Path) -> u64 {
    std::fs::read_dir(up.join("Packages"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

/// A path upstream on the same filesystem: every package is linked (the
/// report says so, and the snapshot's files are the upstream's inodes, or
/// clones where the filesystem has reflinks), only metadata is copied, and
/// dnf installs from the snapshot.
#[test]
fn same_filesystem_upstream_is_linked_not_copied() {
    let w = World::new();
    let up = w.upstream();
    let pkgs = [
        Pkg::new("alpha", "1.0", "1"),
        Pkg::new("beta", "2.0", "1"),
        Pkg::new("gamma", "3.0", "1"),
    ];
    build_rpms(&up, "Packages", &pkgs);
    createrepo(&up, &RepoOpts::default());
    let cfg = config(&w, &up, "");
    let (code, r, err) = sync(&w, &cfg);
    assert_eq!(code, Some(0), "{r} {err}");
    assert_eq!(r["status"], "new_snapshot", "{r}");
    assert_eq!(r["packages"], 3, "{r}");
    assert_eq!(r["linked_files"], 3, "every package linked: {r}");
    let copied = r["downloaded_bytes"].as_u64().unwrap();
    assert!(
        copied < package_bytes(&up),
        "only metadata is copied: {copied} bytes of {} in packages",
        package_bytes(&up)
    );
    let snap = r["snapshot"].as_str().unwrap();
    let reflinks = matches!(fs_type(&up).as_str(), "btrfs" | "xfs");
    for p in &pkgs {
        let ours = in_snapshot(&w, snap, p);
        let theirs = up.join("Packages").join(p.file_name());
        assert_eq!(
            std::fs::read(&ours).unwrap(),
            std::fs::read(&theirs).unwrap()
        );
        let (a, b) = (
            std::fs::metadata(&ours).unwrap(),
            std::fs::metadata(&theirs).unwrap(),
        );
        assert!(
            a.ino() == b.ino() || reflinks,
            "{}: a hard link on {} (inode {} vs {})",
            p.file_name(),
            fs_type(&up),
            a.ino(),
            b.ino()
        );
    }
    let dnf = Dnf::new();
    let out = dnf.install_from("local", &w.snapshot_url("local-el9", snap), &["beta"]);
    assert!(out.status.success(), "dnf: {}", stderr(&out));
    assert_eq!(dnf.installed_version("beta").as_deref(), Some("2.0-1"));
    run_ok(
        w.mgr()
            .arg("--config")
            .arg(&cfg)
            .args(["verify", "local-el9"]),
    );
}

/// Flip a byte in the middle of a file, keeping its size.
fn corrupt(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(path, bytes).unwrap();
}

/// By default a linked package is read and checked: a package corrupted
/// upstream (same size) fails the sync, naming it, and nothing moves.
/// With `verify_local: size` the same sync trusts the store and succeeds:
/// the trade-off, which `verify` then reports.
#[test]
fn local_packages_are_checked_unless_the_store_is_trusted() {
    let w = World::new();
    let up = w.upstream();
    build_rpms(&up, "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    createrepo(&up, &RepoOpts::default());
    let cfg = config(&w, &up, "");
    let (code, first, err) = sync(&w, &cfg);
    assert_eq!(code, Some(0), "{first} {err}");
    let latest = || std::fs::read_to_string(w.root().join("local-el9/latest.txt")).unwrap();
    let before = latest();

    let bad = Pkg::new("delta", "1.0", "1");
    build_rpms(&up, "Packages", std::slice::from_ref(&bad));
    createrepo(&up, &RepoOpts::default());
    corrupt(&up.join("Packages").join(bad.file_name()));
    let (code, r, err) = sync(&w, &cfg);
    assert_ne!(code, Some(0), "a corrupt local package must fail: {r}");
    let shown = format!("{r} {err}");
    assert!(
        shown.contains(&bad.file_name()) && shown.contains("checksum mismatch"),
        "{shown}"
    );
    assert_eq!(latest(), before, "latest.txt did not move");
    let base = w
        .root()
        .join("local-el9/base/Packages")
        .join(bad.file_name());
    assert!(!base.exists(), "the corrupt package did not enter base/");

    let trusting = config(&w, &up, "    verify_local: size\n");
    let (code, r, err) = sync(&w, &trusting);
    assert_eq!(code, Some(0), "sizes only: {r} {err}");
    assert_eq!(r["status"], "new_snapshot", "{r}");
    assert_eq!(r["linked_files"], 1, "{r}");
    let out = run(w
        .mgr()
        .arg("--config")
        .arg(&trusting)
        .args(["verify", "local-el9"]));
    assert!(!out.status.success(), "verify must find what sizes missed");
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(said.contains(&bad.file_name()), "{said}");
}

/// An upstream on another filesystem cannot be linked: it is copied (and
/// checked) as any download, and the snapshot owns its inodes.
#[test]
fn other_filesystem_upstream_is_copied() {
    let w = World::new();
    let shm = tempfile::Builder::new()
        .prefix("mirror-e2e-local-")
        .tempdir_in("/dev/shm")
        .expect("a tempdir in /dev/shm");
    let up = shm.path().join("repo");
    assert_ne!(
        std::fs::metadata(shm.path()).unwrap().dev(),
        std::fs::metadata(w.root()).unwrap().dev(),
        "this test needs the mirror root and /dev/shm on different filesystems"
    );
    let pkg = Pkg::new("alpha", "1.0", "1");
    build_rpms(&up, "Packages", std::slice::from_ref(&pkg));
    createrepo(&up, &RepoOpts::default());
    let (code, r, err) = sync(&w, &config(&w, &up, ""));
    assert_eq!(code, Some(0), "{r} {err}");
    assert!(r.get("linked_files").is_none(), "nothing linked: {r}");
    assert!(
        r["downloaded_bytes"].as_u64().unwrap() > package_bytes(&up),
        "{r}"
    );
    let snap = r["snapshot"].as_str().unwrap();
    let ours = in_snapshot(&w, snap, &pkg);
    assert_eq!(
        std::fs::read(&ours).unwrap(),
        std::fs::read(up.join("Packages").join(pkg.file_name())).unwrap()
    );
}

/// Issue 21, item 5: a symbolic link planted in a local store (its target a
/// valid package, so the checksum matches through the store's path) never
/// enters base/ or a snapshot, with either `verify_local`; the sync names
/// the file and publishes nothing.
#[test]
fn a_symlink_in_a_store_is_refused() {
    for verify in ["checksum", "size"] {
        let w = World::new();
        let up = w.upstream();
        let real = Pkg::new("alpha", "1.0", "1");
        build_rpms(&up, "Packages", std::slice::from_ref(&real));
        createrepo(&up, &RepoOpts::default());
        // The store keeps the package elsewhere; Packages/ holds a relative link.
        let elsewhere = up.join("pool");
        std::fs::create_dir_all(&elsewhere).unwrap();
        let file = real.file_name();
        std::fs::rename(up.join("Packages").join(&file), elsewhere.join(&file)).unwrap();
        std::os::unix::fs::symlink(format!("../pool/{file}"), up.join("Packages").join(&file))
            .unwrap();
        let cfg = config(&w, &up, &format!("    verify_local: {verify}\n"));
        let (code, v, err) = sync(&w, &cfg);
        assert_eq!(code, Some(1), "{verify}: {v} {err}");
        let e = v["error"].as_str().unwrap_or_default();
        assert!(
            e.contains(&file) && e.contains("not a regular file"),
            "{verify}: {e}"
        );
        let mirror = w.root().join("local-el9");
        assert!(snapshots(&mirror).is_empty(), "{verify}: published");
        assert!(latest(&mirror).is_none());
        for entry in walkdir::WalkDir::new(&mirror) {
            let entry = entry.unwrap();
            assert!(
                !entry.path_is_symlink(),
                "{verify}: a link entered the mirror: {}",
                entry.path().display()
            );
        }
    }
}
