//! Package lock files (issue 25) with real tools: rpmbuild packages with
//! plain, versioned, rich, file and weak dependencies and an obsolete, for
//! x86_64, aarch64 and noarch; createrepo_c; nginx; mirror-mgr snapshots;
//! dnf's own solver as the reference and dnf installing what `fetch` got.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use mirror_e2e::*;

const ARCHES: [&str; 2] = ["x86_64", "aarch64"];

/// The package whose dependencies are plain, versioned, rich, a file and
/// weak.
fn app(version: &str, arch: &str) -> Pkg {
    Pkg::new("app", version, "1")
        .arch(arch)
        .dep("Requires: zlib-lite")
        .dep("Requires: libfoo >= 2")
        .dep("Requires: (ssl-a or ssl-b)")
        .dep("Requires: /usr/bin/helper")
        .dep("Recommends: extras")
}

/// One arch's repo at its first state.
fn first(repo: &Path, arch: &str) {
    build_rpms(
        repo,
        "Packages",
        &[app("1.0", arch), Pkg::new("libfoo", "2.0", "1").arch(arch)],
    );
    // One spec per version of a name.
    build_rpms(
        repo,
        "Packages",
        &[Pkg::new("libfoo", "1.0", "1").arch(arch)],
    );
    build_rpms(
        repo,
        "Packages",
        &[
            Pkg::new("ssl-b", "1.0", "1"),
            Pkg::new("zlib-lite", "1.0", "1"),
            Pkg::new("helper-tools", "1.0", "1").owns("/usr/bin/helper"),
            Pkg::new("extras", "1.0", "1"),
            Pkg::new("oldname", "1.0", "1"),
            Pkg::new("newname", "1.0", "1")
                .dep("Obsoletes: oldname < 2")
                .dep("Provides: oldname = 2"),
        ],
    );
    createrepo(repo, &RepoOpts::default());
}

/// Upstream moves on: app 1.1 and libfoo 2.1.
fn second(repo: &Path, arch: &str) {
    build_rpms(
        repo,
        "Packages",
        &[app("1.1", arch), Pkg::new("libfoo", "2.1", "1").arch(arch)],
    );
    createrepo(repo, &RepoOpts::default());
}

struct Lab {
    w: World,
}

impl Lab {
    fn upstream(&self, arch: &str) -> PathBuf {
        self.w.top.path().join(format!("upstream/el9-{arch}"))
    }
    fn sync_all(&self) {
        for arch in ARCHES {
            let url = self.w.nginx.url(&format!("upstream/el9-{arch}/"));
            run_ok(
                self.w
                    .mgr()
                    .args(["sync", &format!("el9-{arch}"), "--url", &url]),
            );
        }
    }
    fn index(&self) -> String {
        format!("{}/all_latest.json", self.w.base_url())
    }
    /// The job's repo file: upstream URLs, one section per arch.
    fn repo_file(&self, dir: &Path) -> PathBuf {
        let p = dir.join("el9.repo");
        let mut text = String::new();
        for arch in ARCHES {
            let _ = write!(
                text,
                "[el9-{arch}]\nname=el9 {arch}\nbaseurl={}\ngpgcheck=0\n\n",
                self.w.nginx.url(&format!("upstream/el9-{arch}/"))
            );
        }
        write(&p, &text);
        p
    }
    fn lock(&self, input: &Path, out: &Path) -> std::process::Output {
        run(client()
            .args(["lock", "--mirrors", &self.index(), "-f"])
            .arg(input)
            .arg("-o")
            .arg(out))
    }

    /// `lock` that must succeed: the lock's text.
    fn lock_ok(&self, input: &Path, out: &Path) -> String {
        let o = self.lock(input, out);
        assert!(o.status.success(), "lock failed: {}", stderr(&o));
        std::fs::read_to_string(out).unwrap()
    }
}

/// (name, evr, arch) of the transaction `dnf install --assumeno` shows.
fn dnf_would_install(
    reposdir: &Path,
    arch: &str,
    pkgs: &[&str],
    weak: bool,
) -> BTreeSet<(String, String, String)> {
    let dnf = Dnf::new();
    let out = run(dnf
        .cmd()
        .arg(format!("--setopt=reposdir={}", reposdir.display()))
        .arg(format!("--forcearch={arch}"))
        .arg(format!("--setopt=install_weak_deps={}", u8::from(weak)))
        .args(["install", "--assumeno"])
        .args(pkgs));
    let text = stdout(&out);
    let mut set = BTreeSet::new();
    for line in text.lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        if line.starts_with(' ') && t.len() >= 5 && ["noarch", arch].contains(&t[1]) {
            set.insert((t[0].to_owned(), t[2].to_owned(), t[1].to_owned()));
        }
    }
    assert!(
        !set.is_empty(),
        "dnf showed no transaction: {text}{}",
        stderr(&out)
    );
    set
}

/// (name, evr, arch) of one arch in a lock, arch taken from its URL.
fn locked(lock: &serde_yaml::Value, arch: &str) -> BTreeSet<(String, String, String)> {
    let a = lock["arches"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|a| a["arch"] == arch)
        .unwrap_or_else(|| panic!("no {arch} in the lock"));
    a["packages"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| {
            let url = p["url"].as_str().unwrap();
            let file_arch = url.rsplit('.').nth(1).unwrap().to_owned();
            (
                p["name"].as_str().unwrap().to_owned(),
                p["evr"].as_str().unwrap().to_owned(),
                file_arch,
            )
        })
        .collect()
}

/// The fields rpm-lockfile-prototype documents (and Hermeto reads).
fn assert_prototype_shape(lock: &serde_yaml::Value) {
    assert_eq!(lock["lockfileVersion"], 1);
    assert_eq!(lock["lockfileVendor"], "redhat");
    let top: BTreeSet<&str> = lock
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(
        top,
        BTreeSet::from(["lockfileVersion", "lockfileVendor", "arches"])
    );
    for a in lock["arches"].as_sequence().unwrap() {
        assert!(a["arch"].is_string());
        assert!(a["source"].is_sequence() && a["module_metadata"].is_sequence());
        for p in a["packages"].as_sequence().unwrap() {
            let url = p["url"].as_str().unwrap();
            assert!(
                url.starts_with("http://")
                    && Path::new(url).extension().is_some_and(|e| e == "rpm"),
                "{url}"
            );
            assert!(p["repoid"].is_string() && p["name"].is_string() && p["evr"].is_string());
            assert!(p["size"].as_u64().unwrap() > 0);
            assert!(p["sourcerpm"].as_str().unwrap().ends_with(".src.rpm"));
            let sum = p["checksum"].as_str().unwrap();
            let hex = sum
                .strip_prefix("sha256:")
                .unwrap_or_else(|| panic!("{sum}"));
            assert!(
                hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
                "{sum}"
            );
        }
    }
}

/// Acceptance 1, 2, 4 and 6.
#[test]
fn lock_matches_dnf_fetch_installs_it_after_upstream_moves() {
    let lab = Lab { w: World::new() };
    for arch in ARCHES {
        first(&lab.upstream(arch), arch);
    }
    lab.sync_all();
    let job = lab.w.top.path().join("job");
    std::fs::create_dir_all(&job).unwrap();
    lab.repo_file(&job);
    let input = job.join("rpms.in.yaml");
    write(
        &input,
        "contentOrigin:\n  repofiles:\n    - el9.repo\narches:\n  - x86_64\n  - aarch64\npackages:\n  - app\n  - oldname\n",
    );
    let lock_path = job.join("rpms.lock.yaml");
    let text = lab.lock_ok(&input, &lock_path);
    let lock: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    assert_prototype_shape(&lock);

    // The same snapshots as dnf sees them through mirror-client's rewrite.
    let reposdir = lab.w.top.path().join("dnf-repos");
    std::fs::create_dir_all(&reposdir).unwrap();
    let rewritten = lab.repo_file(&reposdir);
    run_ok(client().args(["--mirrors", &lab.index()]).arg(&rewritten));
    let snapshot_urls = std::fs::read_to_string(&rewritten).unwrap();
    assert!(
        snapshot_urls.contains("/mirrors/el9-x86_64/20"),
        "{snapshot_urls}"
    );
    for arch in ARCHES {
        let ours = locked(&lock, arch);
        let dnfs = dnf_would_install(&reposdir, arch, &["app", "oldname"], true);
        assert_eq!(ours, dnfs, "{arch}: the lock is not dnf's transaction");
        let names: BTreeSet<&str> = ours.iter().map(|(n, _, _)| n.as_str()).collect();
        // Plain (zlib-lite), versioned (libfoo 2), rich (ssl-b), file (helper-tools), weak
        // (extras) and the obsolete (newname for oldname) all resolved.
        assert_eq!(
            names,
            BTreeSet::from([
                "app",
                "extras",
                "helper-tools",
                "libfoo",
                "newname",
                "ssl-b",
                "zlib-lite"
            ]),
            "{arch}"
        );
        assert!(ours.contains(&("libfoo".into(), "2.0-1".into(), arch.into())));
    }
    // Every URL points into a snapshot, never at upstream or latest.
    for line in text.lines().filter(|l| l.contains("url:")) {
        assert!(
            line.contains("/mirrors/el9-") && !line.contains("upstream"),
            "{line}"
        );
    }

    // Acceptance 4: the same input twice gives the same bytes.
    let again = job.join("again.lock.yaml");
    assert!(
        lab.lock_ok(&input, &again) == text,
        "two locks of one input differ"
    );

    // A frozen map (--set) locks the same.
    let set = job.join("set.yaml");
    run_ok(
        client()
            .args(["freeze", "--mirrors", &lab.index(), "-o"])
            .arg(&set),
    );
    let from_set = job.join("set.lock.yaml");
    run_ok(
        client()
            .args(["lock", "--set"])
            .arg(&set)
            .arg("-f")
            .arg(&input)
            .arg("-o")
            .arg(&from_set),
    );
    assert!(
        std::fs::read(&from_set).unwrap() == text.as_bytes(),
        "--set locked otherwise than --mirrors"
    );

    // Without weak dependencies, extras is not locked (as dnf).
    let lean_in = job.join("lean.in.yaml");
    write(
        &lean_in,
        "contentOrigin:\n  repofiles: [el9.repo]\narches: [x86_64]\npackages: [app]\ninstallWeakDeps: false\n",
    );
    let lean = job.join("lean.lock.yaml");
    let lean: serde_yaml::Value = serde_yaml::from_str(&lab.lock_ok(&lean_in, &lean)).unwrap();
    let lean_set = locked(&lean, "x86_64");
    assert_eq!(
        lean_set,
        dnf_would_install(&reposdir, "x86_64", &["app"], false)
    );
    assert!(!lean_set.iter().any(|(n, _, _)| n == "extras"));

    // Acceptance 2: upstream moves on and latest with it; the lock still
    // fetches and installs exactly what it locked.
    for arch in ARCHES {
        second(&lab.upstream(arch), arch);
    }
    lab.sync_all();
    let dir = lab.w.top.path().join("rpms");
    let fetch = |extra: &[&str]| {
        run(client()
            .args(["fetch", "--json", "--lock"])
            .arg(&lock_path)
            .arg("-d")
            .arg(&dir)
            .args(extra))
    };
    let out = fetch(&["--arch", "x86_64"]);
    assert!(out.status.success(), "fetch failed: {}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["fetched"], 7, "{v}");
    let out = fetch(&["--arch", "x86_64"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["fetched"].as_u64(), v["present"].as_u64()),
        (Some(0), Some(7)),
        "{v}"
    );
    let dnf = Dnf::new();
    let rpms: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rpm"))
        .collect();
    let out = run(dnf
        .cmd()
        .arg("--setopt=reposdir=/nonexistent")
        .arg("--forcearch=x86_64")
        .arg("install")
        .args(&rpms));
    assert!(
        out.status.success(),
        "dnf install of the fetched files: {}",
        stderr(&out)
    );
    let qa = run_ok(
        std::process::Command::new(tool("rpm"))
            .arg("--root")
            .arg(dnf.installroot())
            .args(["-qa", "--qf", "%{NAME} %{VERSION}-%{RELEASE} %{ARCH}\n"]),
    );
    let installed: BTreeSet<(String, String, String)> = stdout(&qa)
        .lines()
        .map(|l| {
            let t: Vec<&str> = l.split(' ').collect();
            (t[0].to_owned(), t[1].to_owned(), t[2].to_owned())
        })
        .collect();
    assert_eq!(installed, locked(&lock, "x86_64"));
    assert!(installed.contains(&("app".into(), "1.0-1".into(), "x86_64".into())));

    // Acceptance 6: a damaged file in the directory is replaced; a
    // corrupted or short download is refused and leaves nothing.
    let victim = rpms
        .iter()
        .find(|p| p.to_string_lossy().contains("libfoo"))
        .unwrap()
        .clone();
    let good = std::fs::read(&victim).unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x01;
    std::fs::write(&victim, &bad).unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(&fetch(&["--arch", "x86_64"]).stdout).unwrap();
    assert_eq!(v["fetched"], 1, "{v}");
    assert!(
        std::fs::read(&victim).unwrap() == good,
        "the damaged file was not replaced"
    );
    // The served copy itself damaged, then cut short.
    let served = lab
        .w
        .root()
        .join("el9-x86_64/base")
        .join("Packages")
        .join(victim.file_name().unwrap());
    std::fs::remove_file(&victim).unwrap();
    for (what, body) in [
        ("flipped byte", bad.clone()),
        ("short body", good[..good.len() - 100].to_vec()),
    ] {
        // A new inode: the snapshots keep theirs.
        let tmp = served.with_extension("tmp");
        std::fs::write(&tmp, &body).unwrap();
        let keep = served.with_extension("keep");
        std::fs::rename(&served, &keep).unwrap();
        std::fs::rename(&tmp, &served).unwrap();
        let snap_file = std::fs::read_dir(lab.w.root().join("el9-x86_64"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("20"))
            .map(|s| s.join("Packages").join(victim.file_name().unwrap()))
            .find(|p| {
                text.contains(
                    &p.strip_prefix(lab.w.root())
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                )
            })
            .unwrap();
        let snap_keep = snap_file.with_extension("keep");
        std::fs::rename(&snap_file, &snap_keep).unwrap();
        std::fs::write(&snap_file, &body).unwrap();
        let out = fetch(&["--arch", "x86_64"]);
        assert_eq!(out.status.code(), Some(1), "{what}: {}", stderr(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["failed"].as_object().unwrap().len(), 1, "{what}: {v}");
        assert!(
            !victim.exists(),
            "{what}: a refused download was left in place"
        );
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{what}: {leftovers:?}");
        // --check sees a size change; only --deep sees a changed byte.
        let check = |deep: bool| {
            let mut c = client();
            c.args(["lock", "--check"]).arg(&lock_path);
            if deep {
                c.arg("--deep");
            }
            run(&mut c)
        };
        let (plain, deep) = (check(false), check(true));
        let name = victim.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            deep.status.code() == Some(1) && stdout(&deep).contains(&name),
            "{what}: --deep: {}",
            stdout(&deep)
        );
        let short = what == "short body";
        assert_eq!(
            plain.status.code(),
            Some(i32::from(short)),
            "{what}: --check: {}",
            stdout(&plain)
        );
        std::fs::rename(&snap_keep, &snap_file).unwrap();
        std::fs::rename(&keep, &served).unwrap();
    }
    let v: serde_json::Value =
        serde_json::from_slice(&fetch(&["--arch", "x86_64"]).stdout).unwrap();
    assert_eq!(v["fetched"], 1, "{v}");
    assert!(std::fs::read(&victim).unwrap() == good);
    registered_locks_keep_their_snapshots(&lab, &lock_path, &text);
}

/// Acceptance 3: a registered lock keeps its snapshots through gc;
/// released, they go, `--check` names what is gone, and registering it
/// again is refused with nothing recorded.
fn registered_locks_keep_their_snapshots(lab: &Lab, lock_path: &Path, text: &str) {
    let locked_snap = |arch: &str| {
        let mark = format!("/mirrors/el9-{arch}/");
        let line = text.lines().find(|l| l.contains(&mark)).unwrap();
        line.split(&mark)
            .nth(1)
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .to_owned()
    };
    let out = run_ok(
        lab.w
            .mgr()
            .args(["lock", "register"])
            .arg(lock_path)
            .args(["--expires", "30d"]),
    );
    let id = stdout(&out).trim().to_owned();
    assert_eq!(id.len(), 16, "{id}");
    let gc = || {
        let out = run_ok(lab.w.mgr().args(["--json", "gc", "--keep-last", "1"]));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let v = gc();
    assert!(
        v.to_string().contains(&id),
        "gc does not say which lock keeps what: {v}"
    );
    for arch in ARCHES {
        let snap = locked_snap(arch);
        let dir = lab.w.root().join(format!("el9-{arch}")).join(&snap);
        assert!(dir.is_dir(), "gc removed {arch}'s locked {snap}");
    }
    let out = run(client().args(["lock", "--check"]).arg(lock_path));
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let record = |id: &str| {
        let out = run_ok(lab.w.mgr().args(["--json", "locks"]));
        let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut r = all
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} is not listed: {all}"));
        for k in ["since", "expires", "by"] {
            r.as_object_mut().unwrap().remove(k);
        }
        r
    };
    let by_cli = record(&id);
    run_ok(lab.w.mgr().args(["lock", "release", &id]));

    // The API's door records the same lock (same id, same snapshots), and
    // gc keeps them as it did.
    let token = stdout(&run_ok(
        lab.w
            .mgr()
            .args(["token", "add", "lock-ci", "--scopes", "vote"]),
    ))
    .trim()
    .to_owned();
    let server = Server::start({
        let mut c = lab.w.mgr();
        c.arg("serve");
        c
    });
    let (code, v) = server.json(
        "POST",
        "/api/v1/locks?expires=30d",
        Some(&token),
        Some(text),
    );
    assert_eq!(code, 201, "{v}");
    assert_eq!(v["id"], id.as_str(), "{v}");
    assert_eq!(record(&id), by_cli, "the API recorded another lock");
    gc();
    for arch in ARCHES {
        let dir = lab
            .w
            .root()
            .join(format!("el9-{arch}"))
            .join(locked_snap(arch));
        assert!(
            dir.is_dir(),
            "gc removed a snapshot of the lock registered over the API"
        );
    }
    run_ok(lab.w.mgr().args(["lock", "release", &id]));
    gc();
    for arch in ARCHES {
        let dir = lab
            .w
            .root()
            .join(format!("el9-{arch}"))
            .join(locked_snap(arch));
        assert!(!dir.exists(), "released, {arch}'s snapshot stayed");
    }
    let out = run(client().args(["lock", "--check"]).arg(lock_path));
    assert_eq!(out.status.code(), Some(1));
    let gone = stdout(&out);
    assert_eq!(
        gone.lines().filter(|l| l.starts_with("gone ")).count(),
        14,
        "{gone}"
    );
    let out = run(lab.w.mgr().args(["lock", "register"]).arg(lock_path));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("rpms.lock.yaml") && err.contains("does not have"),
        "{err}"
    );
    let (code, v) = server.json("POST", "/api/v1/locks", Some(&token), Some(text));
    assert_eq!(code, 404, "{v}");
    let listed = run_ok(lab.w.mgr().args(["--json", "locks"]));
    assert_eq!(stdout(&listed).trim(), "[]");
    server.stop();
}

/// Bad input: named with its file and line, nothing written.
#[test]
fn bad_input_is_named_and_nothing_is_written() {
    let lab = Lab { w: World::new() };
    first(&lab.upstream("x86_64"), "x86_64");
    let url = lab.w.nginx.url("upstream/el9-x86_64/");
    run_ok(lab.w.mgr().args(["sync", "el9-x86_64", "--url", &url]));
    let job = lab.w.top.path().join("job");
    std::fs::create_dir_all(&job).unwrap();
    write(
        &job.join("el9.repo"),
        &format!("[el9-x86_64]\nbaseurl={url}\ngpgcheck=0\n"),
    );
    let out_path = job.join("rpms.lock.yaml");
    for (text, line, says) in [
        (
            "contentOrigin:\n  repofiles: [el9.repo]\narches: [x86_64]\npackages:\n  - app\n  - no-such-package\n",
            ":6",
            "no-such-package",
        ),
        (
            "contentOrigin:\n  repofiles: [el9.repo]\narches: [x86_64, sparc]\npackages: [app]\n",
            ":3",
            "unknown architecture",
        ),
        (
            "contentOrigin:\n  repofiles: [el9.repo]\narches: [x86_64]\npackages: [app]\nfrobnicate: yes\n",
            ":5",
            "frobnicate",
        ),
        // app needs libfoo >= 2: with libfoo 1.0 asked for too, no answer.
        (
            "contentOrigin:\n  repofiles: [el9.repo]\narches: [x86_64]\npackages: [app, libfoo-1.0-1]\n",
            ":",
            "conflict",
        ),
    ] {
        let input = job.join("rpms.in.yaml");
        write(&input, text);
        let out = lab.lock(&input, &out_path);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!("rpms.in.yaml{line}")) && err.contains(says),
            "{err}"
        );
        assert!(!out_path.exists(), "a refused lock was written");
    }
    // A lock with a bad checksum or a non-http URL is refused by fetch and
    // --check, naming the line.
    let lock = "lockfileVersion: 1\nlockfileVendor: redhat\narches:\n- arch: x86_64\n  packages:\n  - url: file:///etc/passwd.rpm\n    repoid: r\n    size: 1\n    checksum: sha256:abc\n    name: x\n    evr: 1-1\n";
    let lp = job.join("bad.lock.yaml");
    write(&lp, lock);
    let out = run(client()
        .args(["fetch", "--lock"])
        .arg(&lp)
        .arg("-d")
        .arg(job.join("d")));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("bad.lock.yaml:6") && stderr(&out).contains("http"),
        "{}",
        stderr(&out)
    );
    write(
        &lp,
        &lock.replace("file:///etc/passwd.rpm", "http://x.invalid/a.rpm"),
    );
    let out = run(client().args(["lock", "--check"]).arg(&lp));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("sha256:abc"), "{}", stderr(&out));
}

/// `--sources`: the source packages of what was locked, from the enabled
/// source repo's snapshot, fetched and verified like the rest.
#[test]
fn sources_come_from_the_source_repo_snapshot() {
    let lab = Lab { w: World::new() };
    first(&lab.upstream("x86_64"), "x86_64");
    let src = lab.w.top.path().join("upstream/el9-source");
    // Every test package is built from one spec, e2e-bundle-1-1.
    build_srpm(&src, "SRPMS", "e2e-bundle", "1", "1");
    createrepo(&src, &RepoOpts::default());
    for name in ["el9-x86_64", "el9-source"] {
        let url = lab.w.nginx.url(&format!("upstream/{name}/"));
        run_ok(lab.w.mgr().args(["sync", name, "--url", &url]));
    }
    let job = lab.w.top.path().join("job");
    let mut repo = String::new();
    for name in ["el9-x86_64", "el9-source"] {
        let _ = write!(
            repo,
            "[{name}]\nbaseurl={}\ngpgcheck=0\n\n",
            lab.w.nginx.url(&format!("upstream/{name}/"))
        );
    }
    write(&job.join("el9.repo"), &repo);
    let input = job.join("rpms.in.yaml");
    write(
        &input,
        "contentOrigin:\n  repofiles: [el9.repo]\narches: [x86_64]\npackages: [app]\n",
    );
    let lock_path = job.join("rpms.lock.yaml");
    run_ok(
        client()
            .args(["lock", "--sources", "--mirrors", &lab.index(), "-f"])
            .arg(&input)
            .arg("-o")
            .arg(&lock_path),
    );
    let lock: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&lock_path).unwrap()).unwrap();
    let sources = lock["arches"][0]["source"].as_sequence().unwrap();
    assert_eq!(sources.len(), 1, "{sources:?}");
    assert_eq!(sources[0]["name"], "e2e-bundle");
    let url = sources[0]["url"].as_str().unwrap();
    assert!(
        url.contains("/mirrors/el9-source/20") && url.ends_with("e2e-bundle-1-1.src.rpm"),
        "{url}"
    );
    let dir = lab.w.top.path().join("rpms");
    let out = run_ok(
        client()
            .args(["fetch", "--json", "--sources", "--lock"])
            .arg(&lock_path)
            .arg("-d")
            .arg(&dir),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["fetched"], 7, "{v}");
    assert!(dir.join("e2e-bundle-1-1.src.rpm").is_file());
}
