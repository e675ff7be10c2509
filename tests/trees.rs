//! Installer trees and deltarpms (issue 16.14, 16.15), over the real
//! binary: an "os" tree with `.treeinfo` (kernel, initrd, install.img, EFI
//! image) and a repo whose prestodelta lists deltarpms are mirrored whole,
//! each file checked against what the metadata says; clients fetch the
//! images and dnf installs from the snapshot, served by nginx with the
//! bundled example config.

use std::fmt::Write as _;
use std::process::Command;

use mirror_e2e::*;

fn sha256(bytes: &[u8]) -> String {
    mirror_repodata::checksum::Checksum::of(mirror_repodata::checksum::Kind::Sha256, bytes).hex
}

fn random(n: usize) -> Vec<u8> {
    let mut f = std::fs::File::open("/dev/urandom").unwrap();
    let mut v = vec![0u8; n];
    std::io::Read::read_exact(&mut f, &mut v).unwrap();
    v
}

const IMAGES: [&str; 4] = [
    "images/pxeboot/vmlinuz",
    "images/pxeboot/initrd.img",
    "images/install.img",
    "EFI/BOOT/BOOTX64.EFI",
];

/// Write the images and a productmd-style `.treeinfo` listing them.
fn write_tree(up: &std::path::Path) -> String {
    let mut sums = String::new();
    for (i, img) in IMAGES.iter().enumerate() {
        let bytes = random(4096 * (i + 1));
        std::fs::create_dir_all(up.join(img).parent().unwrap()).unwrap();
        std::fs::write(up.join(img), &bytes).unwrap();
        let _ = writeln!(sums, "{img} = sha256:{}", sha256(&bytes));
    }
    let ti = format!(
        "[header]\ntype = productmd.treeinfo\nversion = 1.2\n\n[release]\nname = Demo\nshort = Demo\nversion = 9\n\n\
         [tree]\narch = x86_64\nplatforms = x86_64\nvariants = BaseOS\n\n\
         [images-x86_64]\nkernel = images/pxeboot/vmlinuz\ninitrd = images/pxeboot/initrd.img\nefiboot = EFI/BOOT/BOOTX64.EFI\n\n\
         [stage2]\nmainimage = images/install.img\n\n\
         [variant-BaseOS]\nid = BaseOS\npackages = Packages\nrepository = .\n\n\
         [variant-AppStream]\nid = AppStream\nrepository = ../../../AppStream/x86_64/os\n\n\
         [checksums]\n{sums}"
    );
    std::fs::write(up.join(".treeinfo"), &ti).unwrap();
    ti
}

/// GET a URL with curl: (status, body).
fn get(url: &str) -> (u16, Vec<u8>) {
    let out = run_ok(Command::new(tool("curl")).args(["-s", "-w", "\n%{http_code}", url]));
    let body = out.stdout;
    let nl = body.iter().rposition(|b| *b == b'\n').unwrap();
    let code = String::from_utf8_lossy(&body[nl + 1..]).parse().unwrap();
    (code, body[..nl].to_vec())
}

/// An installer tree is mirrored whole: `.treeinfo` and every image it
/// lists, checked against its [checksums]; images fetched from the
/// snapshot (through the bundled nginx example config) match; dnf installs
/// from it; verify checks the images; a corrupt image upstream fails the
/// sync, naming it, and publishes nothing.
#[test]
fn installer_tree_is_mirrored_and_checked() {
    let w = World::new();
    let up = w.upstream();
    build_rpms(&up, "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    createrepo(&up, &RepoOpts::default());
    let ti = write_tree(&up);
    let r = w.sync("os-el9");
    assert_eq!(r["status"], "new_snapshot", "{r}");
    assert_eq!(r["packages"], 1, "{r}");
    let snap = r["snapshot"].as_str().unwrap().to_owned();
    let dir = w.root().join("os-el9").join(&snap);
    assert_eq!(std::fs::read_to_string(dir.join(".treeinfo")).unwrap(), ti);
    run_ok(w.mgr().args(["verify", "os-el9"]));

    // Served by nginx with examples/nginx-mirrors.conf: .treeinfo and the
    // images are reachable and match; private state is not.
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/nginx-mirrors.conf"),
    )
    .unwrap();
    let root = w.root();
    let nginx = Nginx::serve_server(&|port| {
        example
            .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
            .replace("/srv/mirrors/repos/yum/", &format!("{}/", root.display()))
    });
    let base = nginx.url(&format!("repos/yum/os-el9/{snap}/"));
    let (code, body) = get(&format!("{base}.treeinfo"));
    assert_eq!((code, body), (200, ti.clone().into_bytes()));
    for line in ti.lines().skip_while(|l| *l != "[checksums]").skip(1) {
        let (path, sum) = line.split_once(" = sha256:").unwrap();
        let (code, body) = get(&format!("{base}{path}"));
        assert_eq!(code, 200, "{path}");
        assert_eq!(sha256(&body), sum, "{path}");
    }
    assert_eq!(get(&nginx.url("repos/yum/os-el9/.lock")).0, 403);
    let dnf = Dnf::new();
    let out = dnf.install_from("os-el9", &base, &["alpha"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(dnf.installed_version("alpha").as_deref(), Some("1.0-1"));

    // Damage in the snapshot is found by verify.
    let img = dir.join("images/install.img");
    let good = std::fs::read(&img).unwrap();
    let mut bad = good.clone();
    bad[10] ^= 0xff;
    std::fs::remove_file(&img).unwrap(); // a new inode: base keeps its copy
    std::fs::write(&img, &bad).unwrap();
    let out = run(w.mgr().args(["verify", "os-el9"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("images/install.img: checksum"),
        "{}",
        stdout(&out)
    );
    std::fs::remove_file(&img).unwrap();
    std::fs::hard_link(w.root().join("os-el9/base/images/install.img"), &img).unwrap();
    run_ok(w.mgr().args(["verify", "os-el9"]));

    // A new image upstream whose bytes do not match what .treeinfo says
    // (tampered or half-copied) fails the sync. (An image whose listed
    // checksum did not change is taken from base/, already verified.)
    std::fs::write(up.join("images/install.img"), &bad).unwrap();
    let other = sha256(&random(100));
    std::fs::write(up.join(".treeinfo"), ti.replace(&sha256(&good), &other)).unwrap();
    build_rpms(&up, "Packages", &[Pkg::new("beta", "1.0", "1")]);
    createrepo(&up, &RepoOpts::default());
    let out = run(w
        .mgr()
        .args(["--json", "sync", "os-el9", "--url", &w.upstream_url()]));
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let err = v["mirrors"][0]["error"].as_str().unwrap();
    assert!(
        err.contains("images/install.img") && err.contains("checksum mismatch"),
        "{err}"
    );
    assert_eq!(
        snapshots(&w.root().join("os-el9")),
        std::slice::from_ref(&snap)
    );

    // Repaired upstream: the new snapshot reuses the unchanged images from
    // base/ instead of downloading them again.
    std::fs::write(up.join("images/install.img"), &good).unwrap();
    std::fs::write(up.join(".treeinfo"), &ti).unwrap();
    w.nginx.clear_log();
    let r = w.sync("os-el9");
    assert_eq!(r["status"], "new_snapshot", "{r}");
    let gets = w.nginx.requests();
    assert!(!gets.iter().any(|l| l.contains("/images/")), "{gets:?}");
    let snap2 = r["snapshot"].as_str().unwrap();
    let dir2 = w.root().join("os-el9").join(snap2);
    assert!(dir2.join("Packages/beta-1.0-1.noarch.rpm").is_file());
    assert_eq!(
        inode(&dir2.join("images/install.img")),
        inode(&dir.join("images/install.img"))
    );
    run_ok(w.mgr().args(["verify", "os-el9"]));
}

/// Regenerate metadata keeping the extra types (prestodelta) in place.
fn createrepo_update(repo: &std::path::Path) {
    run_ok(
        Command::new(tool("createrepo_c"))
            .args([
                "--quiet",
                "--no-database",
                "--update",
                "--keep-all-metadata",
            ])
            .arg(repo),
    );
}

/// Deltarpms listed in prestodelta are mirrored and checked; unchanged ones
/// are not downloaded again; a corrupt one fails the sync naming it.
#[test]
fn deltarpms_are_mirrored() {
    let w = World::new();
    let up = w.upstream();
    build_rpms(&up, "Packages", &[Pkg::new("alpha", "2.0", "1")]);
    createrepo(&up, &RepoOpts::default());
    let drpm = random(3000);
    std::fs::create_dir_all(up.join("drpms")).unwrap();
    std::fs::write(up.join("drpms/alpha-1.0-1_2.0-1.noarch.drpm"), &drpm).unwrap();
    let presto = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<prestodelta>\n  <newpackage name=\"alpha\" epoch=\"0\" version=\"2.0\" release=\"1\" arch=\"noarch\">\n    \
         <delta oldepoch=\"0\" oldversion=\"1.0\" oldrelease=\"1\">\n      <filename>drpms/alpha-1.0-1_2.0-1.noarch.drpm</filename>\n      \
         <sequence>alpha-1.0-1-00</sequence>\n      <size>{}</size>\n      <checksum type=\"sha256\">{}</checksum>\n    </delta>\n  </newpackage>\n</prestodelta>\n",
        drpm.len(),
        sha256(&drpm)
    );
    let presto_file = w.top.path().join("prestodelta.xml");
    std::fs::write(&presto_file, presto).unwrap();
    run_ok(
        Command::new(tool("modifyrepo_c"))
            .arg("--mdtype=prestodelta")
            .arg(&presto_file)
            .arg(up.join("repodata")),
    );
    let r = w.sync("d-el9");
    assert_eq!(r["status"], "new_snapshot", "{r}");
    let snap = r["snapshot"].as_str().unwrap().to_owned();
    let got = std::fs::read(
        w.root()
            .join("d-el9")
            .join(&snap)
            .join("drpms/alpha-1.0-1_2.0-1.noarch.drpm"),
    )
    .unwrap();
    assert_eq!(got, drpm);
    run_ok(w.mgr().args(["verify", "d-el9"]));

    // Another package arrives: the deltarpm is not fetched again.
    build_rpms(&up, "Packages", &[Pkg::new("beta", "1.0", "1")]);
    createrepo_update(&up);
    w.nginx.clear_log();
    let r = w.sync("d-el9");
    assert_eq!(r["status"], "new_snapshot", "{r}");
    let gets = w.nginx.requests();
    assert!(!gets.iter().any(|l| l.contains(".drpm")), "{gets:?}");
    assert!(gets.iter().any(|l| l.contains("prestodelta")), "{gets:?}");

    // A corrupt deltarpm upstream fails the next sync.
    std::fs::write(up.join("drpms/alpha-1.0-1_2.0-1.noarch.drpm"), random(3000)).unwrap();
    std::fs::remove_dir_all(w.root().join("d-el9/base/drpms")).unwrap();
    build_rpms(&up, "Packages", &[Pkg::new("gamma", "1.0", "1")]);
    createrepo_update(&up);
    let out = run(w
        .mgr()
        .args(["--json", "sync", "d-el9", "--url", &w.upstream_url()]));
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let err = v["mirrors"][0]["error"].as_str().unwrap();
    assert!(
        err.contains("alpha-1.0-1_2.0-1.noarch.drpm") && err.contains("checksum mismatch"),
        "{err}"
    );
}
