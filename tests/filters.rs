//! Package filters with regenerated, re-signed metadata (issue 10), with
//! real tools: RPMs from rpmbuild (several versions, two architectures, a
//! source package), createrepo_c metadata with updateinfo and comps, nginx,
//! `dnf repoquery`/`dnf install` on the snapshots, the `createrepo_c` Python
//! bindings as the reference implementation, and gpg-made signing keys.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use mirror_e2e::*;

const UPDATEINFO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="e2e@example.org" status="stable" type="bugfix" version="1">
    <id>ADV-OLD</id>
    <title>alpha 1.0 only</title>
    <issued date="2026-01-01 00:00:00"/>
    <pkglist>
      <collection short="e2e">
        <name>e2e</name>
        <package name="alpha" version="1.0" release="1" epoch="0" arch="noarch" src="alpha-1.0-1.src.rpm">
          <filename>alpha-1.0-1.noarch.rpm</filename>
        </package>
      </collection>
    </pkglist>
  </update>
  <update from="e2e@example.org" status="stable" type="security" version="1">
    <id>ADV-MIX</id>
    <title>alpha 1.10 and beta 1.0</title>
    <issued date="2026-02-01 00:00:00"/>
    <pkglist>
      <collection short="e2e">
        <name>e2e</name>
        <package name="alpha" version="1.10" release="1" epoch="0" arch="noarch" src="alpha-1.10-1.src.rpm">
          <filename>alpha-1.10-1.noarch.rpm</filename>
        </package>
        <package name="beta" version="1.0" release="1" epoch="0" arch="noarch" src="beta-1.0-1.src.rpm">
          <filename>beta-1.0-1.noarch.rpm</filename>
        </package>
      </collection>
    </pkglist>
  </update>
  <update from="e2e@example.org" status="stable" type="enhancement" version="1">
    <id>ADV-DBG</id>
    <title>debuginfo</title>
    <issued date="2026-03-01 00:00:00"/>
    <pkglist>
      <collection short="e2e">
        <name>e2e</name>
        <package name="gamma-debuginfo" version="1.0" release="1" epoch="0" arch="noarch" src="gamma-1.0-1.src.rpm">
          <filename>gamma-debuginfo-1.0-1.noarch.rpm</filename>
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
    <description>alpha and tool</description>
    <default>false</default>
    <uservisible>true</uservisible>
    <packagelist>
      <packagereq type="mandatory">alpha</packagereq>
      <packagereq type="mandatory">tool</packagereq>
    </packagelist>
  </group>
</comps>
"#;

/// Every package of the fixture: three versions of alpha (1.10 sorts after
/// 1.9 in rpm's order, not in a string's), two of beta and of tool (x86_64),
/// a debuginfo-named package and alpha's source package.
const ALL: [&str; 9] = [
    "alpha-1.0-1.noarch",
    "alpha-1.1-1.noarch",
    "alpha-1.10-1.noarch",
    "alpha-1.10-1.src",
    "beta-1.0-1.noarch",
    "beta-2.0-1.noarch",
    "gamma-debuginfo-1.0-1.noarch",
    "tool-1.0-1.x86_64",
    "tool-2.0-1.x86_64",
];

fn fixture(w: &World) {
    fixture_signed(w, None);
}

/// The fixture, its packages signed by `signer` (gpg, fingerprint) when given.
fn fixture_signed(w: &World, signer: Option<(&Gpg, &str)>) {
    let up = w.upstream();
    build_rpms(
        &up,
        "Packages",
        &[
            Pkg::new("alpha", "1.0", "1"),
            Pkg::new("beta", "1.0", "1"),
            Pkg::new("gamma-debuginfo", "1.0", "1"),
            Pkg::new("tool", "1.0", "1").arch("x86_64"),
        ],
    );
    build_rpms(
        &up,
        "Packages",
        &[
            Pkg::new("alpha", "1.1", "1"),
            Pkg::new("beta", "2.0", "1"),
            Pkg::new("tool", "2.0", "1").arch("x86_64"),
        ],
    );
    build_rpms(&up, "Packages", &[Pkg::new("alpha", "1.10", "1")]);
    build_srpm(&up, "SRPMS", "alpha", "1.10", "1");
    if let Some((gpg, fpr)) = signer {
        for f in files(&up) {
            if Path::new(&f).extension().is_some_and(|e| e == "rpm") {
                gpg.rpmsign(fpr, &up.join(f));
            }
        }
    }
    createrepo(
        &up,
        &RepoOpts {
            updateinfo: Some(UPDATEINFO.into()),
            comps: Some(COMPS.into()),
            ..RepoOpts::default()
        },
    );
}

/// The rpm file name of a NEVRA from [`ALL`].
fn file_of(nevra: &str) -> String {
    format!("{nevra}.rpm")
}

fn sync(w: &World, cfg: &Path, name: &str) -> serde_json::Value {
    let out = run(w
        .mgr()
        .arg("--config")
        .arg(cfg)
        .args(["--json", "sync", name]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("sync {name}: {e}: {}", stderr(&out)));
    assert_eq!(
        out.status.code(),
        Some(0),
        "sync {name}: {v} {}",
        stderr(&out)
    );
    v["mirrors"][0].clone()
}

/// `name-version-release.arch` of every package dnf sees in the repo at `url`.
fn repoquery(url: &str, extra: &[&str]) -> BTreeSet<String> {
    let dnf = Dnf::new();
    let mut c = dnf.cmd();
    c.arg("--setopt=reposdir=/nonexistent")
        .arg(format!("--repofrompath=r,{url}"))
        .args(["--repo", "r", "--setopt=r.gpgcheck=0"])
        .args(extra)
        .args([
            "-q",
            "repoquery",
            "--qf",
            "%{name}-%{version}-%{release}.%{arch}",
        ]);
    let out = run_ok(&mut c);
    stdout(&out)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The Python interpreter that has the `createrepo_c` bindings (the
/// PyPI createrepo_c scripts/test installs).
fn python() -> PathBuf {
    let bin = modern_createrepo("createrepo_c");
    bin.with_file_name("python3")
}

/// What the reference implementation reads from a repository: every
/// package's identity, checksum, dependencies and files (primary,
/// filelists, other), and every advisory's package file names.
const DESCRIBE: &str = r#"
import json, sys, createrepo_c as cr
md = cr.Metadata()
md.locate_and_load_xml(sys.argv[1])
pkgs = {}
for key in md.keys():
    p = md.get(key)
    deps = lambda l: sorted([list(map(str, d)) for d in l])
    pkgs[p.pkgId] = dict(
        nevra="%s-%s:%s-%s.%s" % (p.name, p.epoch, p.version, p.release, p.arch),
        checksum_type=p.checksum_type, href=p.location_href,
        size=p.size_package, installed=p.size_installed, archive=p.size_archive,
        summary=p.summary, description=p.description, license=p.rpm_license,
        sourcerpm=p.rpm_sourcerpm, header=[p.rpm_header_start, p.rpm_header_end],
        requires=deps(p.requires), provides=deps(p.provides),
        conflicts=deps(p.conflicts), obsoletes=deps(p.obsoletes),
        files=sorted([list(map(str, f)) for f in p.files]),
        changelogs=[list(map(str, c)) for c in p.changelogs])
updates = {}
path = cr.Repomd(sys.argv[1] + "/repodata/repomd.xml")
for rec in path.records:
    if rec.type == "updateinfo":
        ui = cr.UpdateInfo(sys.argv[1] + "/" + rec.location_href)
        for u in ui.updates:
            updates[u.id] = sorted(pk.filename for c in u.collections for pk in c.packages)
print(json.dumps(dict(packages=pkgs, updates=updates), sort_keys=True))
"#;

fn describe(repo: &Path) -> serde_json::Value {
    let out = run_ok(Command::new(python()).arg("-c").arg(DESCRIBE).arg(repo));
    serde_json::from_slice(&out.stdout).expect("describe prints JSON")
}

/// Acceptance 1 and 2: each filter alone and combined; what dnf lists is
/// exactly what the filter keeps; packages filtered out are never
/// requested; dnf installs; updateinfo loses what the snapshot does not
/// hold; comps is carried; createrepo_c over exactly the kept packages
/// describes the same packages as our regenerated metadata.
#[test]
fn each_filter_alone_and_combined() {
    let w = World::new();
    fixture(&w);
    let cfg = w.top.path().join("filters.yaml");
    let cases: Vec<(&str, &str, Vec<&str>)> = vec![
        (
            "f-exclude",
            "exclude: \"*-debuginfo beta-1*\"",
            vec![
                "alpha-1.0-1.noarch",
                "alpha-1.1-1.noarch",
                "alpha-1.10-1.noarch",
                "alpha-1.10-1.src",
                "beta-2.0-1.noarch",
                "tool-1.0-1.x86_64",
                "tool-2.0-1.x86_64",
            ],
        ),
        (
            "f-include",
            "includepkgs: [alpha, tool.x86_64]",
            vec![
                "alpha-1.0-1.noarch",
                "alpha-1.1-1.noarch",
                "alpha-1.10-1.noarch",
                "alpha-1.10-1.src",
                "tool-1.0-1.x86_64",
                "tool-2.0-1.x86_64",
            ],
        ),
        (
            "f-newest",
            "newest_only: true",
            vec![
                "alpha-1.10-1.noarch",
                "alpha-1.10-1.src",
                "beta-2.0-1.noarch",
                "gamma-debuginfo-1.0-1.noarch",
                "tool-2.0-1.x86_64",
            ],
        ),
        (
            "f-retain",
            "retain_versions: 2",
            vec![
                "alpha-1.1-1.noarch",
                "alpha-1.10-1.noarch",
                "alpha-1.10-1.src",
                "beta-1.0-1.noarch",
                "beta-2.0-1.noarch",
                "gamma-debuginfo-1.0-1.noarch",
                "tool-1.0-1.x86_64",
                "tool-2.0-1.x86_64",
            ],
        ),
        (
            "f-arches",
            "arches: [x86_64]",
            vec!["tool-1.0-1.x86_64", "tool-2.0-1.x86_64"],
        ),
        (
            "f-nosource",
            "source: false",
            ALL.iter()
                .copied()
                .filter(|p| Path::new(p).extension().is_none_or(|e| e != "src"))
                .collect(),
        ),
        (
            "f-combined",
            "exclude: gamma*\n    newest_only: true\n    source: false\n    arches: [x86_64, noarch]",
            vec![
                "alpha-1.10-1.noarch",
                "beta-2.0-1.noarch",
                "tool-2.0-1.x86_64",
            ],
        ),
    ];
    let mut yaml = String::from("mirrors:\n");
    for (name, filter, _) in &cases {
        let _ = write!(
            yaml,
            "  - name: {name}\n    baseurl: {}\n    {filter}\n",
            w.upstream_url()
        );
    }
    let _ = write!(
        yaml,
        "  - name: unfiltered\n    baseurl: {}\n",
        w.upstream_url()
    );
    write(&cfg, &yaml);

    // dnf sees every package of the fixture upstream (source packages too).
    assert_eq!(repoquery(&w.upstream_url(), &[]), set(&ALL));
    let upstream = describe(&w.upstream());

    for (name, _, expect) in &cases {
        w.nginx.clear_log();
        let r = sync(&w, &cfg, name);
        assert_eq!(r["status"], "new_snapshot", "{name}: {r}");
        assert_eq!(r["packages"], expect.len(), "{name}: {r}");
        assert_eq!(r["filter"]["kept"], expect.len(), "{name}: {r}");
        assert_eq!(r["filter"]["upstream_packages"], ALL.len(), "{name}: {r}");
        assert!(r["filter"]["signed_by"].is_null(), "{r}");
        let snap = r["snapshot"].as_str().unwrap().to_owned();

        // Filtered-out packages were never requested; kept ones were.
        let requests = w.nginx.requests().join("\n");
        for p in ALL {
            let asked = requests.contains(&format!("/{}", file_of(p)));
            assert_eq!(
                asked,
                expect.contains(&p),
                "{name}: {p} requested={asked}\n{requests}"
            );
        }

        // dnf lists exactly the kept packages.
        let url = w.snapshot_url(name, &snap);
        assert_eq!(repoquery(&url, &[]), set(expect), "{name}");

        let dir = w.root().join(name).join(&snap);
        // The reference implementation over exactly the kept packages.
        let reference = w.top.path().join(format!("ref-{name}"));
        for f in files(&dir)
            .iter()
            .filter(|f| Path::new(f).extension().is_some_and(|e| e == "rpm"))
        {
            let to = reference.join(f);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(dir.join(f), &to).unwrap();
        }
        std::fs::create_dir_all(&reference).unwrap();
        run_ok(
            Command::new(modern_createrepo("createrepo_c"))
                .args(["--quiet", "--no-database"])
                .arg(&reference),
        );
        let ours = describe(&dir);
        let theirs = describe(&reference);
        assert_eq!(
            ours["packages"], theirs["packages"],
            "{name}: our metadata and createrepo_c's describe different packages"
        );
        let kept: BTreeSet<String> = ours["packages"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| p["nevra"].as_str().unwrap().replace("-0:", "-"))
            .collect();
        assert_eq!(kept, set(expect), "{name}");
        // Each kept record is upstream's own (same pkgid, same everything).
        for (id, p) in ours["packages"].as_object().unwrap() {
            assert_eq!(&upstream["packages"][id], p, "{name}: {id}");
        }

        // updateinfo: references to packages not held are gone, and
        // advisories left with none; the rest as upstream had them.
        let held: BTreeSet<String> = expect.iter().map(|p| file_of(p)).collect();
        let mut want = BTreeMap::new();
        for (id, pkgs) in upstream["updates"].as_object().unwrap() {
            let left: Vec<&str> = pkgs
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|f| f.as_str())
                .filter(|f| held.contains(*f))
                .collect();
            if !left.is_empty() {
                want.insert(id.clone(), left);
            }
        }
        assert_eq!(
            ours["updates"],
            serde_json::to_value(&want).unwrap(),
            "{name}"
        );
        assert_eq!(
            r["filter"]["advisories_dropped"],
            3 - want.len(),
            "{name}: {r}"
        );

        // comps is carried as upstream wrote it.
        let comps_of = |d: &Path| {
            files(&d.join("repodata"))
                .into_iter()
                .find(|f| f.ends_with("comps.xml"))
                .map(|f| std::fs::read(d.join("repodata").join(f)).unwrap())
        };
        assert_eq!(comps_of(&dir), comps_of(&w.upstream()), "{name}");
        // No sqlite or zchunk of a regenerated type, no upstream signature.
        assert!(!dir.join("repodata/repomd.xml.asc").exists());
    }

    // dnf installs from a filtered snapshot: the newest alpha, and the group.
    let newest = latest(&w.root().join("f-newest")).unwrap();
    let dnf = Dnf::new();
    let out = dnf.install_from("n", &w.snapshot_url("f-newest", &newest), &["alpha"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(dnf.installed_version("alpha").as_deref(), Some("1.10-1"));
    let combined = latest(&w.root().join("f-combined")).unwrap();
    let dnf = Dnf::new();
    let out = dnf.install_from(
        "c",
        &w.snapshot_url("f-combined", &combined),
        &["@e2e-tools"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(dnf.installed_version("tool").as_deref(), Some("2.0-1"));

    // An unfiltered mirror of the same upstream stays byte-identical.
    let r = sync(&w, &cfg, "unfiltered");
    assert!(r.get("filter").is_none(), "{r}");
    let snap = w
        .root()
        .join("unfiltered")
        .join(r["snapshot"].as_str().unwrap());
    for f in files(&w.upstream().join("repodata")) {
        assert_eq!(
            std::fs::read(snap.join("repodata").join(&f)).unwrap(),
            std::fs::read(w.upstream().join("repodata").join(&f)).unwrap(),
            "{f}"
        );
    }

    // verify, snapshots and diff work on filtered snapshots.
    let out = run(w.mgr().arg("--config").arg(&cfg).args(["verify"]));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let out = run_ok(w.mgr().args(["--json", "snapshots", "f-combined"]));
    assert!(stdout(&out).contains(&combined), "{}", stdout(&out));
}

/// A filter change makes a new snapshot although upstream did not change;
/// a sync with the same filter and upstream is unchanged; gc and diff work;
/// a sync killed after publishing is finished by the next one.
#[test]
fn filter_changes_and_lifecycle() {
    let w = World::new();
    fixture(&w);
    let cfg = w.top.path().join("m.yaml");
    let conf = |filter: &str| {
        write(
            &cfg,
            &format!(
                "mirrors:\n  - name: lc\n    baseurl: {}\n    {filter}\n",
                w.upstream_url()
            ),
        );
    };
    conf("newest_only: true");
    let r1 = sync(&w, &cfg, "lc");
    let s1 = r1["snapshot"].as_str().unwrap().to_owned();
    w.nginx.clear_log();
    let again = sync(&w, &cfg, "lc");
    assert_eq!(again["status"], "unchanged", "{again}");
    assert_eq!(again["packages"], 5, "{again}");
    // One request: upstream's repomd.xml.
    assert_eq!(w.nginx.requests().len(), 1, "{:?}", w.nginx.requests());

    conf("retain_versions: 2");
    let r2 = sync(&w, &cfg, "lc");
    assert_eq!(r2["status"], "new_snapshot", "{r2}");
    let s2 = r2["snapshot"].as_str().unwrap().to_owned();
    assert_ne!(s1, s2);
    let out = run_ok(w.mgr().args(["--json", "diff", "lc", &s1, &s2]));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let added: BTreeSet<String> = d["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(added.len(), 3, "{d}");

    // Killed right after publishing: the next sync finishes that commit.
    conf("newest_only: true\n    source: false");
    let out = run(w
        .mgr()
        .arg("--config")
        .arg(&cfg)
        .env("MIRROR_MGR_CRASH_AT", "after-publish")
        .args(["sync", "lc"]));
    assert_eq!(out.status.signal(), Some(9), "{}", stderr(&out));
    assert_eq!(latest(&w.root().join("lc")).as_deref(), Some(s2.as_str()));
    let r3 = sync(&w, &cfg, "lc");
    assert!(
        r3["note"]
            .as_str()
            .unwrap_or_default()
            .contains("finished the commit"),
        "{r3}"
    );
    let s3 = r3["snapshot"].as_str().unwrap().to_owned();
    assert_eq!(snapshots(&w.root().join("lc")).len(), 3);
    assert_eq!(r3["packages"], 4);

    // gc keeps the latest and forgets what it removed.
    let out = run(w.mgr().args(["gc", "lc", "--keep-last", "1"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(snapshots(&w.root().join("lc")), vec![s3.clone()]);
    let sources: Vec<String> = files(&w.root().join("lc/.sources"));
    assert_eq!(sources, vec![s3.clone()]);
    let out = run(w.mgr().arg("--config").arg(&cfg).args(["verify", "lc"]));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

/// Acceptance 3: with `sign_key`, dnf (`repo_gpgcheck=1`, the published
/// key) accepts the filtered snapshot; tampering with any metadata file
/// after signing makes dnf refuse it. The passphrase never shows.
#[test]
fn signed_filtered_snapshots() {
    const PASS: &str = "pass-9f3c1d-word";
    let gpg = Gpg::new();
    let fpr = gpg.key_with_passphrase("Mirror Signing <mirror@example.org>", PASS);
    let w = World::new();
    // The chain: upstream's key verifies the input (and signs its
    // packages), the mirror's signs the output.
    let upstream_fpr = gpg.key("Upstream <upstream@example.org>", "1y", None);
    fixture_signed(&w, Some((&gpg, &upstream_fpr)));
    let key = w.top.path().join("mirror-secret.asc");
    gpg.export_secret(&fpr, PASS, &key);
    let upstream_key = w.top.path().join("upstream.asc");
    gpg.export(&upstream_fpr, &upstream_key);
    gpg.sign_detached(
        &upstream_fpr,
        &w.upstream().join("repodata/repomd.xml"),
        None,
    );
    let cfg = w.top.path().join("m.yaml");
    let mirror = |name: &str, pass: &str| {
        format!(
            "  - name: {name}\n    baseurl: {}\n    repo_gpgcheck: true\n    gpgkey: {}\n    newest_only: true\n    sign_key: {}\n    sign_key_passphrase_env: {pass}\n",
            w.upstream_url(),
            upstream_key.display(),
            key.display()
        )
    };
    write(
        &cfg,
        &format!(
            "mirrors:\n{}{}",
            mirror("signed", "E2E_SIGN_PASS"),
            mirror("wrongpass", "E2E_WRONG_PASS")
        ),
    );
    let out = run(w
        .mgr()
        .arg("--config")
        .arg(&cfg)
        .env("E2E_SIGN_PASS", PASS)
        .args(["--json", "sync", "signed"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!all.contains(PASS), "the passphrase was printed");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &v["mirrors"][0];
    assert_eq!(r["filter"]["signed_by"], fpr.as_str(), "{r}");
    let snap = r["snapshot"].as_str().unwrap().to_owned();
    let pubkey = w.root().join("signed/RPM-GPG-KEY-mirror");
    assert!(pubkey.exists());
    // Listed in the index.
    run_ok(w.mgr().arg("--config").arg(&cfg).arg("index"));
    let idx: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.root().join("all_snapshots.json")).unwrap())
            .unwrap();
    assert_eq!(
        idx["keys"]["signed"],
        format!("{}/signed/RPM-GPG-KEY-mirror", w.base_url()),
        "{idx}"
    );

    assert_only_base_and_snapshots(&w.root().join("signed"));

    // Beside the signature, for zypper: the mirror's public key.
    let snap_key = std::fs::read_to_string(
        w.root()
            .join("signed")
            .join(&snap)
            .join("repodata/repomd.xml.key"),
    )
    .unwrap();
    assert_eq!(
        snap_key.trim(),
        std::fs::read_to_string(&pubkey).unwrap().trim(),
        "repomd.xml.key is not the mirror's key"
    );

    // dnf reads every metadata file: changelogs (other), then an install
    // with a group (primary, filelists, comps, updateinfo). The README's
    // recipe: repo_gpgcheck and gpgcheck, with the mirror's key (it signs
    // repomd.xml) and upstream's (packages keep their signatures).
    let install = |url: &str| {
        let dnf = Dnf::new();
        let base = |c: &mut Command| {
            c.arg("--setopt=reposdir=/nonexistent")
                .arg(format!("--repofrompath=s,{url}"))
                .args([
                    "--repo",
                    "s",
                    "--setopt=s.gpgcheck=1",
                    "--setopt=s.repo_gpgcheck=1",
                ])
                .arg(format!(
                    "--setopt=s.gpgkey=file://{} file://{}",
                    pubkey.display(),
                    upstream_key.display()
                ));
        };
        let mut c = dnf.cmd();
        base(&mut c);
        let log = run(c.args(["-q", "repoquery", "--changelogs", "alpha"]));
        if !log.status.success() {
            return (log, dnf);
        }
        let mut c = dnf.cmd();
        base(&mut c);
        let out = run(c.args(["install", "alpha", "@e2e-tools"]));
        (out, dnf)
    };
    let (out, dnf) = install(&w.snapshot_url("signed", &snap));
    assert!(out.status.success(), "dnf refused: {}", stderr(&out));
    assert_eq!(dnf.installed_version("alpha").as_deref(), Some("1.10-1"));

    // Tamper with each metadata file of a copy of the snapshot.
    let dir = w.root().join("signed").join(&snap);
    // (dnf reads comps from comps.xml.gz when both are listed, so the plain
    // comps.xml is one file it never reads.)
    let metadata: Vec<String> = files(&dir.join("repodata"))
        .into_iter()
        .filter(|f| {
            Path::new(f)
                .extension()
                .is_none_or(|e| e != "asc" && e != "key")
                && !f.ends_with("comps.xml")
        })
        .collect();
    assert_eq!(metadata.len(), 6, "{metadata:?}");
    for (i, f) in metadata.iter().enumerate() {
        let copy = w.top.path().join(format!("tampered-{i}"));
        for rel in files(&dir) {
            let to = copy.join(&rel);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(dir.join(&rel), &to).unwrap();
        }
        let target = copy.join("repodata").join(f);
        let mut bytes = std::fs::read(&target).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x20;
        std::fs::write(&target, bytes).unwrap();
        let (out, dnf) = install(&w.nginx.url(&format!("tampered-{i}/")));
        assert!(
            !out.status.success() && dnf.installed_version("alpha").is_none(),
            "dnf accepted the snapshot with {f} tampered"
        );
    }

    // verify --signatures checks the mirror's own signature on regenerated
    // metadata, and finds a repomd.xml changed after signing.
    let verify = || {
        run(w
            .mgr()
            .arg("--config")
            .arg(&cfg)
            .args(["verify", "--signatures", "signed"]))
    };
    let out = verify();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let repomd = dir.join("repodata/repomd.xml");
    let text = std::fs::read_to_string(&repomd).unwrap();
    std::fs::write(&repomd, text.replace("<revision>", "<revision>1")).unwrap();
    let out = verify();
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("does not verify"), "{}", stdout(&out));

    // A wrong passphrase: refused before anything is fetched, named, not shown.
    let out = run(w
        .mgr()
        .arg("--config")
        .arg(&cfg)
        .env("E2E_WRONG_PASS", "not-the-passphrase")
        .args(["sync", "wrongpass"]));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out) + &stdout(&out);
    assert!(
        err.contains(&key.display().to_string()) && err.contains("passphrase"),
        "{err}"
    );
    assert!(!err.contains("not-the-passphrase"), "{err}");
    assert!(snapshots(&w.root().join("wrongpass")).is_empty());
}

/// Acceptance 4: the real oVirt reposync config's `exclude=` lines load
/// without a warning, and one of them drops exactly what dnf's own exclude
/// drops from the same upstream.
#[test]
fn real_exclude_lines_match_dnf() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../mirror-client/tests/fixtures/corpus/09_ovirt-jenkins_mirrors-reposync.conf");
    let out = run(Command::new(bin("mirror-mgr"))
        .arg("--repo-config")
        .arg(&corpus)
        .arg("check-config"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("exclude"), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("(filter: exclude=0ad*,FlightGear*,"),
        "{}",
        stdout(&out)
    );
    let conf = std::fs::read_to_string(&corpus).unwrap();
    // The first exclude= with its continuation lines, as dnf reads it.
    let start = conf.find("\nexclude=").unwrap() + 1;
    let mut line = String::new();
    for (i, l) in conf[start..].lines().enumerate() {
        if i > 0 && !l.starts_with(char::is_whitespace) {
            break;
        }
        line.push(' ');
        line.push_str(l.trim_start_matches("exclude="));
    }
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(line.contains("root-*") && line.contains("i3-*"), "{line}");

    let w = World::new();
    let names = [
        "root",
        "root-core",
        "rootfiles",
        "0ad-data",
        "kicad",
        "i3",
        "i3-wm",
        "stellarium-data",
        "f38-backgrounds-extras-gnome",
        "openclipart",
        "openclipart-extra",
        "qt-doc",
        "qt",
        "wesnoth",
        "alpha",
    ];
    let pkgs: Vec<Pkg> = names.iter().map(|n| Pkg::new(n, "1.0", "1")).collect();
    build_rpms(&w.upstream(), "Packages", &pkgs);
    createrepo(&w.upstream(), &RepoOpts::default());
    let dnf_says = repoquery(
        &w.upstream_url(),
        &[&format!("--setopt=r.excludepkgs={line}")],
    );
    let everything = repoquery(&w.upstream_url(), &[]);
    assert!(dnf_says.len() < everything.len() && !dnf_says.is_empty());

    let cfg = w.top.path().join("ovirt.repo");
    write(
        &cfg,
        &format!(
            "[ovirt-like]\nbaseurl = {}\nexclude={line}\n",
            w.upstream_url()
        ),
    );
    let out = run(w
        .mgr()
        .arg("--repo-config")
        .arg(&cfg)
        .args(["--json", "sync", "ovirt-like"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let snap = v["mirrors"][0]["snapshot"].as_str().unwrap().to_owned();
    assert_eq!(
        repoquery(&w.snapshot_url("ovirt-like", &snap), &[]),
        dnf_says
    );
}
