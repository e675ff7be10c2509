//! Air-gapped sites (issue 27): a signed bundle exported from one root and
//! imported into another gives the very same snapshots, pointers and
//! channels; an incremental one carries only what changed; a tampered one
//! is refused with nothing visible. Real rpmbuild packages, createrepo_c,
//! nginx, gpg keys, dnf through mirror-client on the importing side.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use mirror_e2e::*;

const PASS: &str = "bundle-pass-7d1e";

struct Site {
    w: World,
    gpg: Gpg,
    secret: PathBuf,
    public: PathBuf,
}

fn site() -> Site {
    let w = World::new();
    let gpg = Gpg::new();
    let fpr = gpg.key_with_passphrase("Bundles <bundles@example.org>", PASS);
    let secret = w.top.path().join("bundle-secret.asc");
    gpg.export_secret(&fpr, PASS, &secret);
    let public = w.top.path().join("bundle-public.asc");
    gpg.export(&fpr, &public);
    Site {
        w,
        gpg,
        secret,
        public,
    }
}

/// Packages of 64 KiB: `n` of them at version `v`.
fn packages(up: &Path, names: &[String], v: &str) {
    let pkgs: Vec<Pkg> = names
        .iter()
        .map(|n| {
            let mut p = Pkg::new(n, v, "1");
            p.size = 64 * 1024;
            p
        })
        .collect();
    build_rpms(up, "Packages", &pkgs);
}

fn refresh(up: &Path) {
    let _ = std::fs::remove_dir_all(up.join("repodata"));
    createrepo(up, &RepoOpts::default());
}

impl Site {
    fn sync_both(&self) -> String {
        let snaps: Vec<String> = ["a-el9", "b-el9"]
            .iter()
            .map(|m| self.w.sync(m)["snapshot"].as_str().unwrap().to_owned())
            .collect();
        snaps[1].clone()
    }

    fn export(&self, args: &[&str], out: &Path) -> std::process::Output {
        run(self
            .w
            .mgr()
            .arg("export")
            .args(args)
            .arg("-o")
            .arg(out)
            .arg("--sign-key")
            .arg(&self.secret)
            .args(["--sign-key-passphrase-env", "E2E_BUNDLE_PASS"])
            .env("E2E_BUNDLE_PASS", PASS))
    }
}

/// Every file of a root's mirrors (snapshots, pointers, keys; not the
/// private state or the pages), with its bytes; index files with the base
/// URL masked.
fn tree(root: &Path, base_url: &str) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for rel in files(root) {
        let top = rel.split('/').next().unwrap_or_default();
        let private = rel.split('/').any(|c| c.starts_with('.'));
        let ext = Path::new(&rel)
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if private || ext == "html" || top.starts_with('.') {
            continue;
        }
        let mut bytes = std::fs::read(root.join(&rel)).unwrap();
        if ext == "json" || ext == "yaml" {
            bytes = String::from_utf8(bytes)
                .unwrap()
                .replace(base_url, "BASE")
                .into_bytes();
        }
        out.insert(rel, bytes);
    }
    out
}

/// The two trees are the same; if not, say which files differ (not their bytes).
fn assert_same_tree(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>, what: &str) {
    let differ: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| {
            let side = match (a.contains_key(k), b.contains_key(k)) {
                (true, false) => " (only in the first)",
                (false, true) => " (only in the second)",
                _ => "",
            };
            format!("{k}{side}")
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(differ.is_empty(), "{what}: these differ: {differ:?}");
}

fn nothing_visible(root: &Path) {
    let left: Vec<String> = files(root)
        .into_iter()
        .filter(|f| !f.split('/').any(|c| c.starts_with('.')))
        .collect();
    assert!(left.is_empty(), "visible after a refused import: {left:?}");
}

#[test]
fn round_trip_incremental_and_tampering() {
    let s = site();
    let w = &s.w;
    let up = w.upstream();
    let names: Vec<String> = (0..20).map(|i| format!("pkg{i:02}")).collect();
    packages(&up, &names, "1.0");
    refresh(&up);
    let s1 = s.sync_both();
    packages(&up, &names[..2], "1.1");
    refresh(&up);
    let s2 = s.sync_both();
    packages(&up, &names[2..3], "1.1");
    refresh(&up);
    let s3 = s.sync_both();
    assert!(s1 < s2 && s2 < s3);
    run_ok(
        w.mgr()
            .args(["promote", "a-el9", &s2, "--channel", "tested"]),
    );
    run_ok(
        w.mgr()
            .args(["promote", "b-el9", &s2, "--channel", "tested"]),
    );

    // --plan says what a bundle would hold and writes nothing.
    let plan = w.top.path().join("plan.tar");
    let out = run_ok(
        w.mgr()
            .args(["--json", "export", "--all", "--plan", "-o"])
            .arg(&plan),
    );
    let p: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(p["snapshots"].as_array().unwrap().len(), 6, "{p}");
    assert!(!plan.exists());

    // The config's top-level sign_key signs when --sign-key is not given.
    let cfg = w.top.path().join("sign.yaml");
    write(
        &cfg,
        &format!(
            "sign_key: {}\nsign_key_passphrase_env: E2E_BUNDLE_PASS\nmirrors: []\n",
            s.secret.display()
        ),
    );
    let out = run(w
        .mgr()
        .arg("--config")
        .arg(&cfg)
        .args(["--json", "export", "a-el9", "--latest", "-o"])
        .arg(w.top.path().join("by-config.tar"))
        .env("E2E_BUNDLE_PASS", PASS));
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["signed_by"].as_str().is_some_and(|f| f.len() == 40),
        "{v}"
    );
    let out = run(w
        .mgr()
        .args(["export", "a-el9", "-o"])
        .arg(w.top.path().join("unsigned.tar")));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--sign-key"), "{}", stderr(&out));
    assert!(!w.top.path().join("unsigned.tar").exists());

    // 1. Round trip into an empty root, served by the same nginx.
    let bundle = w.top.path().join("full.tar");
    let out = s.export(&["--all"], &bundle);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!format!("{}{}", stdout(&out), stderr(&out)).contains(PASS));
    // Each content once: the two mirrors share every file.
    let listing = stdout(&run_ok(Command::new("tar").arg("tf").arg(&bundle)));
    let entries: Vec<&str> = listing.lines().collect();
    assert_eq!(&entries[..2], ["MANIFEST.json", "MANIFEST.json.asc"]);
    let distinct: std::collections::BTreeSet<Vec<u8>> = [&s1, &s2, &s3]
        .iter()
        .flat_map(|snap| {
            let dir = w.root().join("a-el9").join(snap);
            files(&dir)
                .into_iter()
                .map(move |f| std::fs::read(dir.join(f)).unwrap())
        })
        .collect();
    assert_eq!(entries.len() - 2, distinct.len(), "{listing}");
    let other = w.top.path().join("other");
    let other_url = w.nginx.url("other");
    let import = |path: &Path, key: &Path| {
        run(mgr(&other, &other_url)
            .arg("import-bundle")
            .arg(path)
            .arg("--key")
            .arg(key))
    };
    let out = import(&bundle, &s.public);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_same_tree(
        &tree(&other, &other_url),
        &tree(&w.root(), &w.base_url()),
        "the imported tree",
    );
    run_ok(mgr(&other, &other_url).arg("verify"));
    // Importing it again changes nothing.
    let again = run_ok(
        mgr(&other, &other_url)
            .args(["--json", "import-bundle"])
            .arg(&bundle)
            .arg("--key")
            .arg(&s.public),
    );
    let v: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(v["snapshots"], serde_json::json!([]), "{v}");
    assert_eq!(v["skipped"].as_array().unwrap().len(), 6);
    // dnf installs from the imported channel through mirror-client.
    let dnf = Dnf::new();
    let d = dnf.dir.path().display();
    let conf = dnf.dir.path().join("job.conf");
    write(
        &conf,
        &format!(
            "[main]\ncachedir={d}/cache\nlogdir={d}/log\npersistdir={d}/persist\nreposdir=/nonexistent\ngpgcheck=0\nmetadata_expire=0\n\n[a-el9]\nbaseurl=http://127.0.0.1:9/\n"
        ),
    );
    let index = format!("{other_url}/all_latest.json");
    run_ok(
        client()
            .args(["--mirrors", &index, "--channel", "tested"])
            .arg(&conf),
    );
    let mut c = dnf.cmd();
    let out = run(c.arg("-c").arg(&conf).args(["install", "pkg00"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(dnf.installed_version("pkg00").as_deref(), Some("1.1-1"));

    // 2. Incremental: 5% of the packages change, one new snapshot each.
    packages(&up, &names[3..4], "1.1");
    refresh(&up);
    let s4 = s.sync_both();
    let inc = w.top.path().join("inc.tar");
    let since = w.top.path().join("full.tar.manifest.json");
    let out = s.export(&["--all", "--since", since.to_str().unwrap()], &inc);
    assert!(out.status.success(), "{}", stderr(&out));
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.top.path().join("inc.tar.manifest.json")).unwrap())
            .unwrap();
    let carried: u64 = m["objects"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    // The changed package and s4's metadata (shared by both mirrors).
    let new_pkg = std::fs::metadata(
        w.root()
            .join("a-el9")
            .join(&s4)
            .join("Packages/pkg03-1.1-1.noarch.rpm"),
    )
    .unwrap()
    .len();
    let md: u64 = files(&w.root().join("a-el9").join(&s4).join("repodata"))
        .iter()
        .map(|f| {
            std::fs::metadata(w.root().join("a-el9").join(&s4).join("repodata").join(f))
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(carried, new_pkg + md, "{m}");
    let manifest_bytes = std::fs::metadata(w.top.path().join("inc.tar.manifest.json"))
        .unwrap()
        .len();
    let size = std::fs::metadata(&inc).unwrap().len();
    let floor = new_pkg + md + manifest_bytes;
    assert!(
        size * 100 <= floor * 110,
        "{size} bytes against {floor} of contents and manifest"
    );
    let out = import(&inc, &s.public);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_same_tree(
        &tree(&other, &other_url),
        &tree(&w.root(), &w.base_url()),
        "the imported tree",
    );

    // An incremental bundle for a root that lacks its base is refused,
    // naming what is missing, with nothing visible.
    let empty = w.top.path().join("empty");
    let out = run(mgr(&empty, &other_url)
        .arg("import-bundle")
        .arg(&inc)
        .arg("--key")
        .arg(&s.public));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("neither in the bundle nor in this root")
            && stderr(&out).contains("Packages/pkg00-1.0-1.noarch.rpm"),
        "{}",
        stderr(&out)
    );
    nothing_visible(&empty);

    // 3. Tampering, each refused with nothing visible.
    let fresh = |tag: &str| w.top.path().join(format!("fresh-{tag}"));
    let bytes = std::fs::read(&bundle).unwrap();
    let manifest_len = bytes[512..].iter().position(|b| *b == 0).unwrap();
    let rpm = std::fs::read(
        w.root()
            .join("a-el9")
            .join(&s1)
            .join("Packages/pkg05-1.0-1.noarch.rpm"),
    )
    .unwrap();
    let in_bundle = bytes
        .windows(256)
        .position(|win| win == &rpm[..256])
        .expect("the package is in the bundle");
    for (tag, at, needle) in [
        ("manifest", 512 + manifest_len / 2, "signature"),
        ("object", in_bundle + 30_000, "does not match its checksum"),
    ] {
        let bad = w.top.path().join(format!("bad-{tag}.tar"));
        let mut b = bytes.clone();
        b[at] ^= 0x01;
        std::fs::write(&bad, b).unwrap();
        let root = fresh(tag);
        let out = run(mgr(&root, &other_url)
            .arg("import-bundle")
            .arg(&bad)
            .arg("--key")
            .arg(&s.public));
        assert_ne!(out.status.code(), Some(0), "{tag}");
        assert!(stderr(&out).contains(needle), "{tag}: {}", stderr(&out));
        nothing_visible(&root);
    }
    // Signed by another key.
    let stranger = s.gpg.key("Stranger <x@example.org>", "1y", None);
    let stranger_pub = w.top.path().join("stranger.asc");
    s.gpg.export(&stranger, &stranger_pub);
    let root = fresh("key");
    let out = run(mgr(&root, &other_url)
        .arg("import-bundle")
        .arg(&bundle)
        .arg("--key")
        .arg(&stranger_pub));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("signature"), "{}", stderr(&out));
    nothing_visible(&root);
    // A part missing.
    let split = w.top.path().join("split.tar");
    let out = s.export(&["--all", "--split", "1M"], &split);
    assert!(out.status.success(), "{}", stderr(&out));
    let part0 = PathBuf::from(format!("{}.000", split.display()));
    assert!(PathBuf::from(format!("{}.001", split.display())).exists());
    let out = import(&part0, &s.public);
    assert!(out.status.success(), "split, whole: {}", stderr(&out));
    std::fs::remove_file(format!("{}.001", split.display())).unwrap();
    let root = fresh("part");
    let out = run(mgr(&root, &other_url)
        .arg("import-bundle")
        .arg(&part0)
        .arg("--key")
        .arg(&s.public));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("bundle refused"), "{}", stderr(&out));
    nothing_visible(&root);
    // A manifest naming a path outside the root, signed by the right key.
    let work = w.top.path().join("evil");
    std::fs::create_dir_all(&work).unwrap();
    run_ok(
        Command::new("tar")
            .arg("xf")
            .arg(&bundle)
            .arg("-C")
            .arg(&work),
    );
    let text = std::fs::read_to_string(work.join("MANIFEST.json")).unwrap();
    let evil = text.replacen(
        "\"Packages/pkg00-1.0-1.noarch.rpm\"",
        "\"../../../evil.rpm\"",
        1,
    );
    assert_ne!(evil, text);
    std::fs::write(work.join("MANIFEST.json"), evil).unwrap();
    std::fs::remove_file(work.join("MANIFEST.json.asc")).unwrap();
    let fpr = stdout(&run_ok(s.gpg.cmd().args([
        "--with-colons",
        "--list-secret-keys",
        "bundles@example.org",
    ])))
    .lines()
    .find_map(|l| {
        l.strip_prefix("fpr:")
            .map(|r| r.trim_matches(':').to_owned())
    })
    .unwrap();
    run_ok(
        s.gpg
            .cmd()
            .args([
                "--batch",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                PASS,
                "--armor",
                "--detach-sign",
                "-u",
                &fpr,
                "-o",
            ])
            .arg(work.join("MANIFEST.json.asc"))
            .arg(work.join("MANIFEST.json")),
    );
    let evil_tar = w.top.path().join("evil.tar");
    run_ok(
        Command::new("tar")
            .arg("cf")
            .arg(&evil_tar)
            .arg("-C")
            .arg(&work)
            .args(["MANIFEST.json", "MANIFEST.json.asc", "objects"]),
    );
    let root = fresh("evil");
    let out = run(mgr(&root, &other_url)
        .arg("import-bundle")
        .arg(&evil_tar)
        .arg("--key")
        .arg(&s.public));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("../../../evil.rpm"),
        "{}",
        stderr(&out)
    );
    nothing_visible(&root);
    assert!(!w.top.path().join("evil.rpm").exists());
}

/// The snapshots of every mirror under `root`: mirror/snapshot -> path -> bytes.
fn snapshot_files(root: &Path) -> BTreeMap<String, BTreeMap<String, Vec<u8>>> {
    let mut out = BTreeMap::new();
    for m in ["a-el9", "b-el9"] {
        for snap in snapshots(&root.join(m)) {
            let dir = root.join(m).join(&snap);
            let files: BTreeMap<String, Vec<u8>> = files(&dir)
                .into_iter()
                .map(|f| {
                    let b = std::fs::read(dir.join(&f)).unwrap();
                    (f, b)
                })
                .collect();
            out.insert(format!("{m}/{snap}"), files);
        }
    }
    out
}

/// Acceptance 4: an import killed (SIGKILL) at named steps and at timed
/// moments never shows a partial snapshot or a pointer to one, and the next
/// import completes.
#[test]
fn killed_imports_never_show_a_partial_snapshot() {
    use std::os::unix::process::ExitStatusExt;
    let s = site();
    let w = &s.w;
    let up = w.upstream();
    let names: Vec<String> = (0..10).map(|i| format!("pkg{i:02}")).collect();
    packages(&up, &names, "1.0");
    refresh(&up);
    s.sync_both();
    packages(&up, &names[..3], "1.1");
    refresh(&up);
    let s2 = s.sync_both();
    run_ok(
        w.mgr()
            .args(["promote", "a-el9", &s2, "--channel", "tested"]),
    );
    let bundle = w.top.path().join("full.tar");
    let out = s.export(&["--all"], &bundle);
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = snapshot_files(&w.root());

    let other = w.top.path().join("other");
    let other_url = w.nginx.url("other");
    let import = || {
        let mut c = mgr(&other, &other_url);
        c.arg("import-bundle")
            .arg(&bundle)
            .arg("--key")
            .arg(&s.public)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        c
    };
    let check = |round: &str| {
        // Every visible snapshot is whole, and every pointer names one.
        for (name, files) in snapshot_files(&other) {
            assert_eq!(
                Some(&files),
                expected.get(&name),
                "{round}: {name} is partial"
            );
        }
        for m in ["a-el9", "b-el9"] {
            if let Some(l) = latest(&other.join(m)) {
                assert!(
                    other.join(m).join(&l).is_dir(),
                    "{round}: latest of {m} names {l}"
                );
            }
            if let Ok(t) = std::fs::read_to_string(other.join(m).join("tested.txt")) {
                assert!(
                    other.join(m).join(t.trim()).is_dir(),
                    "{round}: tested names {t}"
                );
            }
        }
    };
    let mut killed = 0;
    let points = [
        "import-built@1",
        "before-publish@1",
        "after-publish@1",
        "import-built@3",
        "latest-written@1",
        "base-package-linked@4",
        "base-repomd-swapped@1",
        "promote-journal-written@1",
        "promote-pointer-written@1",
        "promote-index-written@1",
    ];
    for point in points {
        let status = run(import().env("MIRROR_MGR_CRASH_AT", point)).status;
        killed += usize::from(status.signal() == Some(9));
        check(point);
    }
    for delay_ms in [5, 15, 30, 60, 100, 150] {
        let mut child = import().spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let status = child.wait().unwrap();
        killed += usize::from(status.signal() == Some(9));
        check(&format!("after {delay_ms} ms"));
    }
    assert!(killed >= 10, "only {killed} imports were killed");
    let out = run(import()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped()));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_same_tree(
        &snapshot_files(&other)
            .into_iter()
            .flat_map(|(k, v)| v.into_iter().map(move |(f, b)| (format!("{k}/{f}"), b)))
            .collect(),
        &expected
            .iter()
            .flat_map(|(k, v)| v.iter().map(move |(f, b)| (format!("{k}/{f}"), b.clone())))
            .collect(),
        "the imported snapshots",
    );
    assert_same_tree(
        &tree(&other, &other_url),
        &tree(&w.root(), &w.base_url()),
        "the imported tree",
    );
    run_ok(mgr(&other, &other_url).arg("verify"));
}
