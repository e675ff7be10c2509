//! What a snapshot fixes (issue 24), with real tools: rpmbuild packages,
//! createrepo_c metadata whose updateinfo (added with modifyrepo_c) has
//! security, bugfix and enhancement advisories with CVEs, severities and
//! dates; nginx; dnf's own `updateinfo` as the reference; Chromium for the
//! diff page; the API beside the command line.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use mirror_e2e::*;

const MIRROR: &str = "adv-el9";

fn update(
    id: &str,
    kind: &str,
    severity: &str,
    issued: &str,
    updated: Option<&str>,
    cves: &[&str],
    pkgs: &[(&str, &str)],
) -> String {
    let mut refs = String::new();
    for c in cves {
        let _ = writeln!(
            refs,
            "      <reference href=\"https://www.cve.org/CVERecord?id={c}\" id=\"{c}\" type=\"cve\" title=\"{c}\"/>"
        );
    }
    let mut packages = String::new();
    for (n, v) in pkgs {
        let _ = writeln!(
            packages,
            "        <package name=\"{n}\" version=\"{v}\" release=\"1\" epoch=\"0\" arch=\"noarch\" src=\"{n}-{v}-1.src.rpm\">\n          <filename>{n}-{v}-1.noarch.rpm</filename>\n        </package>"
        );
    }
    let updated = updated
        .map(|u| format!("    <updated date=\"{u}\"/>\n"))
        .unwrap_or_default();
    format!(
        "  <update from=\"e2e@example.org\" status=\"stable\" type=\"{kind}\" version=\"2.0\">\n    <id>{id}</id>\n    <title>{id} title</title>\n    <issued date=\"{issued}\"/>\n{updated}    <severity>{severity}</severity>\n    <description>about {id}</description>\n    <references>\n{refs}    </references>\n    <pkglist>\n      <collection short=\"e2e\">\n        <name>e2e</name>\n{packages}      </collection>\n    </pkglist>\n  </update>\n"
    )
}

fn updates(items: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<updates>\n{}</updates>\n",
        items.concat()
    )
}

/// The first upstream state: four packages at 1.0, one security advisory.
fn first(w: &World) {
    build_rpms(
        &w.upstream(),
        "Packages",
        &["alpha", "beta", "gamma", "delta"].map(|n| Pkg::new(n, "1.0", "1")),
    );
    let u = updates(&[update(
        "ADV-2026-0001",
        "security",
        "Low",
        "2026-01-05 00:00:00",
        None,
        &["CVE-2026-1000"],
        &[("alpha", "1.0")],
    )]);
    createrepo(
        &w.upstream(),
        &RepoOpts {
            updateinfo: Some(u),
            ..RepoOpts::default()
        },
    );
}

/// The second: alpha and beta 1.1; a critical and a moderate security
/// advisory, an enhancement whose package (gamma 1.1) is not in the repo,
/// a bugfix, and ADV-2026-0001 updated.
fn second(w: &World) {
    build_rpms(
        &w.upstream(),
        "Packages",
        &["alpha", "beta"].map(|n| Pkg::new(n, "1.1", "1")),
    );
    let u = updates(&[
        update(
            "ADV-2026-0001",
            "security",
            "Low",
            "2026-01-05 00:00:00",
            Some("2026-02-01 00:00:00"),
            &["CVE-2026-1000"],
            &[("alpha", "1.0")],
        ),
        update(
            "ADV-2026-0002",
            "security",
            "Critical",
            "2026-02-10 00:00:00",
            None,
            &["CVE-2026-1001"],
            &[("alpha", "1.1")],
        ),
        update(
            "ADV-2026-0003",
            "security",
            "Moderate",
            "2026-02-11 00:00:00",
            None,
            &["CVE-2026-1002", "CVE-2026-1004"],
            &[("beta", "1.1")],
        ),
        update(
            "ADV-2026-0004",
            "enhancement",
            "None",
            "2026-02-12 00:00:00",
            None,
            &["CVE-2026-1003"],
            &[("gamma", "1.1")],
        ),
        update(
            "ADV-2026-0005",
            "bugfix",
            "None",
            "2026-02-13 00:00:00",
            None,
            &[],
            &[("beta", "1.1")],
        ),
    ]);
    std::fs::remove_dir_all(w.upstream().join("repodata")).unwrap();
    createrepo(
        &w.upstream(),
        &RepoOpts {
            updateinfo: Some(u),
            ..RepoOpts::default()
        },
    );
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

fn ids(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Advisory id -> CVEs, as `dnf updateinfo info --all` shows them for the
/// repository at `url`, with every package name installed at 1.0.
fn dnf_advisories(dnf: &Dnf, url: &str) -> std::collections::BTreeMap<String, BTreeSet<String>> {
    let out = run_ok(
        dnf.cmd()
            .arg("--setopt=reposdir=/nonexistent")
            .arg(format!("--repofrompath=snap,{url}"))
            .args(["--repo", "snap", "updateinfo", "info", "--all"]),
    );
    let mut map = std::collections::BTreeMap::new();
    let mut current: Option<String> = None;
    for line in stdout(&out).lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        match k {
            "Update ID" => {
                current = Some(v.to_owned());
                map.insert(v.to_owned(), BTreeSet::new());
            }
            "CVEs" => {
                if let Some(c) = &current {
                    map.get_mut(c).unwrap().insert(v.to_owned());
                }
            }
            "" if v.starts_with("CVE-") => {
                if let Some(c) = &current {
                    map.get_mut(c).unwrap().insert(v.to_owned());
                }
            }
            _ => {}
        }
    }
    // Continuation lines of "CVEs" have no key: `             : CVE-...`.
    map
}

/// Every file under `dir` with its bytes (symlinks as their targets).
fn tree_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
            let bytes = if e.path_is_symlink() {
                std::fs::read_link(e.path())
                    .unwrap()
                    .display()
                    .to_string()
                    .into_bytes()
            } else if e.file_type().is_file() {
                std::fs::read(e.path()).unwrap()
            } else {
                b"dir".to_vec()
            };
            (rel, bytes)
        })
        .collect();
    v.sort();
    v
}

fn chromium_dom(page: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    stdout(&run_ok(
        Command::new(tool("chromium"))
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("file://{}", page.display())),
    ))
}

#[test]
fn diff_and_cve_answers_agree_with_dnf_and_across_doors() {
    let w = World::new();
    first(&w);
    let s1 = w.sync(MIRROR)["snapshot"].as_str().unwrap().to_owned();
    second(&w);
    let s2 = w.sync(MIRROR)["snapshot"].as_str().unwrap().to_owned();
    assert_ne!(s1, s2);

    // 1. diff --json lists exactly the advisories dnf shows as new in s2.
    let dnf = Dnf::new();
    let installed = dnf.install_from(
        "first",
        &w.snapshot_url(MIRROR, &s1),
        &["alpha", "beta", "gamma", "delta"],
    );
    assert!(installed.status.success(), "{}", stderr(&installed));
    let before = dnf_advisories(&dnf, &w.snapshot_url(MIRROR, &s1));
    let after = dnf_advisories(&dnf, &w.snapshot_url(MIRROR, &s2));
    assert_eq!(before.len(), 1, "{before:?}");
    let new_in_dnf: BTreeSet<String> = after
        .keys()
        .filter(|k| !before.contains_key(*k))
        .cloned()
        .collect();
    assert_eq!(new_in_dnf.len(), 4, "{after:?}");
    let d = json(&run_ok(w.mgr().args(["diff", MIRROR, &s1, &s2, "--json"])));
    let adv = &d["advisories"];
    assert_eq!(ids(&adv["added"]), new_in_dnf, "{adv}");
    for a in adv["added"].as_array().unwrap() {
        let id = a["id"].as_str().unwrap();
        let cves: BTreeSet<String> = a["cves"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(cves, after[id], "{id}: {a}");
        // Applicable unless its package (gamma 1.1) is not in the repo.
        assert_eq!(a["applicable"], id != "ADV-2026-0004", "{a}");
    }
    let partial = adv["added"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "ADV-2026-0004")
        .unwrap();
    assert_eq!(
        partial["missing"],
        serde_json::json!(["gamma-0:1.1-1.noarch"])
    );
    assert_eq!(
        ids(&adv["updated"]),
        BTreeSet::from(["ADV-2026-0001".to_owned()])
    );
    assert!(ids(&adv["removed"]).is_empty());
    let critical = adv["added"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "ADV-2026-0002")
        .unwrap();
    assert_eq!(critical["severity"], "Critical");
    assert_eq!(critical["issued"], "2026-02-10T00:00:00Z");
    assert_eq!(
        critical["packages"],
        serde_json::json!(["alpha-0:1.1-1.noarch"])
    );
    // The text form names them too; the other way round, they are removed.
    let text = stdout(&run_ok(w.mgr().args(["diff", MIRROR, &s1, &s2])));
    assert!(
        text.contains("A+ ADV-2026-0002 security/Critical CVE-2026-1001"),
        "{text}"
    );
    let back = json(&run_ok(w.mgr().args(["diff", MIRROR, &s2, &s1, "--json"])));
    assert_eq!(ids(&back["advisories"]["removed"]), new_in_dnf);

    // The status page of s2 shows them, in a real browser.
    let dom = chromium_dom(&w.root().join(MIRROR).join(format!("diff-{s2}.html")));
    let added = dom
        .split("id=\"advisories-added\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no added advisories on the page: {dom}"));
    let added = added.split("</table>").next().unwrap();
    for id in &new_in_dnf {
        assert!(added.contains(id.as_str()), "{id}: {added}");
    }
    assert!(
        added.contains("CVE-2026-1001") && added.contains("no: 1 missing"),
        "{added}"
    );

    // 2. "Is CVE-X fixed in tested?", with tested on s1 and latest on s2.
    run_ok(
        w.mgr()
            .args(["promote", MIRROR, &s1, "--channel", "tested"]),
    );
    let ask = |cve: &str| {
        let out = run(w.mgr().args([
            "advisories",
            MIRROR,
            "--channel",
            "tested",
            "--cve",
            cve,
            "--json",
        ]));
        let v = json(&out);
        (out.status.code(), v)
    };
    let (code, v) = ask("CVE-2026-1001");
    assert_eq!(code, Some(1), "{v}");
    let c = &v["cves"][0];
    assert_eq!(c["status"], "fixed_in_latest", "{v}");
    assert_eq!(c["latest"]["snapshot"], s2.as_str());
    assert_eq!(
        c["latest"]["fixed_by"],
        serde_json::json!(["ADV-2026-0002"])
    );
    assert_eq!(c["first_fixed_in"], s2.as_str());
    assert_eq!(v["snapshot"], s1.as_str());
    let (code, v) = ask("CVE-2026-1000");
    assert_eq!(
        (code, &v["cves"][0]["status"]),
        (Some(0), &"fixed".into()),
        "{v}"
    );
    assert_eq!(v["cves"][0]["first_fixed_in"], s1.as_str());
    let (code, v) = ask("CVE-2026-9999");
    assert_eq!(code, Some(1));
    assert_eq!(v["cves"][0]["status"], "not_fixed", "{v}");
    assert!(v["cves"][0]["first_fixed_in"].is_null());
    // Listed in latest, but its package is not there: never fixed.
    let out = run(w
        .mgr()
        .args(["advisories", MIRROR, "--cve", "CVE-2026-1003"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("CVE-2026-1003 is listed in adv-el9 snapshot")
            && stdout(&out).contains("not all of its packages are there"),
        "{}",
        stdout(&out)
    );
    let text = stdout(&run(w.mgr().args([
        "advisories",
        MIRROR,
        "--channel",
        "tested",
        "--cve",
        "CVE-2026-1001",
    ])));
    assert!(
        text.contains(&format!(
            "CVE-2026-1001 is not fixed in adv-el9 tested (snapshot {s1}); it is fixed in latest (snapshot {s2}) by ADV-2026-0002"
        )),
        "{text}"
    );

    // Filters: type and severity, and bad input named.
    let v = json(&run_ok(w.mgr().args([
        "advisories",
        MIRROR,
        "--type",
        "security",
        "--severity",
        "critical,moderate",
        "--json",
    ])));
    assert_eq!(
        ids(&v["advisories"]),
        BTreeSet::from(["ADV-2026-0002".to_owned(), "ADV-2026-0003".to_owned()])
    );
    let out = run(w.mgr().args(["advisories", MIRROR, "--cve", "CVE-1"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a CVE id"), "{}", stderr(&out));
    let out = run(w.mgr().args([
        "advisories",
        MIRROR,
        "--channel",
        "nope",
        "--cve",
        "CVE-2026-1001",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not in channel nope"),
        "{}",
        stderr(&out)
    );

    // 3. promote --dry-run: nothing changes, and it lists what the
    // promotion then records.
    let before = tree_bytes(&w.root());
    let dry = json(&run_ok(w.mgr().args([
        "promote",
        MIRROR,
        &s2,
        "--channel",
        "tested",
        "--dry-run",
        "--json",
    ])));
    let text = stdout(&run_ok(w.mgr().args([
        "promote",
        MIRROR,
        &s2,
        "--channel",
        "tested",
        "--dry-run",
    ])));
    assert_eq!(tree_bytes(&w.root()), before, "a dry run changed the tree");
    let change = &dry["promotion"]["summary"][MIRROR];
    assert_eq!(change["from"], s1.as_str(), "{dry}");
    assert_eq!(change["to"], s2.as_str());
    assert_eq!(change["counts"]["upgraded"], 2, "{change}");
    assert_eq!(
        ids(&change["gained"]),
        BTreeSet::from([
            "ADV-2026-0002".to_owned(),
            "ADV-2026-0003".to_owned(),
            "ADV-2026-0005".to_owned()
        ])
    );
    assert!(
        text.contains("^ alpha.noarch 0:1.0-1 -> 0:1.1-1")
            && text.contains("A+ ADV-2026-0002 security/Critical CVE-2026-1001"),
        "{text}"
    );

    // 6. Exposure: tested lags latest by the two security advisories.
    let status = json(&run_ok(w.mgr().args(["status", "--json"])));
    let lag = &status[0]["exposure"][0];
    assert_eq!(lag["channel"], "tested", "{status}");
    assert_eq!(lag["missing"], 2, "{lag}");
    assert_eq!(lag["by_severity"]["critical"], 1);
    assert_eq!(
        lag["advisories"],
        serde_json::json!(["ADV-2026-0002", "ADV-2026-0003"])
    );
    let metrics = stdout(&run_ok(w.mgr().arg("metrics")));
    assert_promtool_accepts(&metrics);
    let gauge = |sev: &str| {
        let key = format!(
            "mirror_mgr_channel_security_advisories_behind{{mirror=\"{MIRROR}\",channel=\"tested\",severity=\"{sev}\"}} "
        );
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(key.as_str()))
            .unwrap_or_else(|| panic!("no {key} in {metrics}"))
            .to_owned()
    };
    assert_eq!(
        (gauge("critical"), gauge("moderate"), gauge("low")),
        ("1".into(), "1".into(), "0".into())
    );
    let page = std::fs::read_to_string(w.root().join(MIRROR).join("index.html")).unwrap();
    assert!(
        page.contains("lags latest by 2 security advisories (1 critical), oldest"),
        "{page}"
    );

    // The API gives the same JSON as the command line.
    let server = Server::start({
        let mut c = w.mgr();
        c.arg("serve");
        c
    });
    let cli = ask("CVE-2026-1001").1;
    let (code, api) = server.json(
        "GET",
        &format!("/api/v1/mirrors/{MIRROR}/advisories?channel=tested&cve=CVE-2026-1001"),
        None,
        None,
    );
    assert_eq!(code, 200, "{api}");
    assert_eq!(api, cli);
    let (code, api_diff) = server.json(
        "GET",
        &format!("/api/v1/mirrors/{MIRROR}/diff?from={s1}&to={s2}"),
        None,
        None,
    );
    assert_eq!((code, &api_diff), (200, &d));
    let (code, bad) = server.json(
        "GET",
        &format!("/api/v1/mirrors/{MIRROR}/advisories?cve=CVE-x"),
        None,
        None,
    );
    assert_eq!(code, 400, "{bad}");

    // The API's dry run is the command line's.
    let token = stdout(&run_ok(
        w.mgr().args(["token", "add", "ci", "--scopes", "admin"]),
    ))
    .trim()
    .to_owned();
    let (code, api_dry) = server.json(
        "POST",
        "/api/v1/promote",
        Some(&token),
        Some(&format!(
            r#"{{"channel": "tested", "mirror": "{MIRROR}", "snapshot": "{s2}", "dry_run": true}}"#
        )),
    );
    assert_eq!(code, 200, "{api_dry}");
    assert_eq!(api_dry["promotion"]["summary"], dry["promotion"]["summary"]);

    // The answers change after a promotion, by either door; the promotion
    // records what the dry run listed, and `channels` shows it.
    let done = json(&run_ok(w.mgr().args([
        "promote",
        MIRROR,
        &s2,
        "--channel",
        "tested",
        "--json",
    ])));
    assert_eq!(done["summary"], dry["promotion"]["summary"], "{done}");
    let channels = stdout(&run_ok(w.mgr().arg("channels")));
    assert!(
        channels.contains(&format!(
            "{MIRROR} {s1} -> {s2}: packages +0 -0 ^2 v0; advisories gained 3 (2 security), lost 0"
        )),
        "{channels}"
    );
    let status = json(&run_ok(w.mgr().args(["status", "--json"])));
    assert_eq!(status[0]["exposure"][0]["missing"], 0, "{status}");
    let metrics = stdout(&run_ok(w.mgr().arg("metrics")));
    assert_promtool_accepts(&metrics);
    assert!(
        metrics.contains(&format!(
            "mirror_mgr_channel_security_advisories_behind{{mirror=\"{MIRROR}\",channel=\"tested\",severity=\"critical\"}} 0"
        )),
        "{metrics}"
    );
    let (code, v) = ask("CVE-2026-1001");
    assert_eq!(
        (code, &v["cves"][0]["status"]),
        (Some(0), &"fixed".into()),
        "{v}"
    );
    let (_, api) = server.json(
        "GET",
        &format!("/api/v1/mirrors/{MIRROR}/advisories?channel=tested&cve=CVE-2026-1001"),
        None,
        None,
    );
    assert_eq!(api, v);
    // Across every mirror: one more mirror, without the channel, is skipped.
    run_ok(
        w.mgr()
            .args(["sync", "other-el9", "--url", &w.upstream_url()]),
    );
    let (code, all) = server.json(
        "GET",
        "/api/v1/advisories?channel=tested&cve=CVE-2026-1001",
        None,
        None,
    );
    assert_eq!(code, 200, "{all}");
    assert_eq!(all["mirrors"].as_array().unwrap().len(), 1, "{all}");
    assert!(
        all["skipped"][0].as_str().unwrap().starts_with("other-el9"),
        "{all}"
    );
    let out = run(w.mgr().args([
        "advisories",
        "--all-mirrors",
        "--cve",
        "CVE-2026-1001",
        "--json",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["mirrors"].as_array().unwrap().len(), 2);
    server.stop();
    assert_only_base_and_snapshots(&w.root().join(MIRROR));
}

/// A filtered mirror: its name, the packages and advisories dnf sees, and
/// the versions `upgrade --security` leaves.
type Case<'a> = (&'a str, BTreeSet<String>, BTreeSet<String>, [&'a str; 4]);

/// Acceptance 4: each advisory filter alone and combined, checked with
/// dnf's own `repoquery`, `updateinfo list` and `upgrade --security`; the
/// combined one re-signed and read with `repo_gpgcheck=1`.
#[test]
fn advisory_filters_as_dnf_sees_them() {
    const PASS: &str = "adv-pass-51c0";
    let w = World::new();
    let up = w.upstream();
    for (n, versions) in [
        ("alpha", &["1.0", "1.1", "1.2"][..]),
        ("beta", &["1.0", "2.0"]),
        ("gamma", &["1.0", "1.1"]),
        ("delta", &["1.0"]),
    ] {
        for v in versions {
            build_rpms(&up, "Packages", &[Pkg::new(n, v, "1")]);
        }
    }
    let u = updates(&[
        update(
            "SEC-1",
            "security",
            "Important",
            "2026-02-01",
            None,
            &["CVE-2026-2001"],
            &[("alpha", "1.1")],
        ),
        update(
            "SEC-2",
            "security",
            "Low",
            "2026-04-01",
            None,
            &["CVE-2026-2002"],
            &[("alpha", "1.2")],
        ),
        update(
            "BUG-1",
            "bugfix",
            "None",
            "2026-03-01",
            None,
            &[],
            &[("beta", "2.0")],
        ),
        update(
            "ENH-1",
            "enhancement",
            "None",
            "2026-05-01",
            None,
            &[],
            &[("gamma", "1.1")],
        ),
    ]);
    createrepo(
        &up,
        &RepoOpts {
            updateinfo: Some(u),
            ..RepoOpts::default()
        },
    );
    let gpg = Gpg::new();
    let fpr = gpg.key_with_passphrase("Mirror <mirror@example.org>", PASS);
    let key = w.top.path().join("mirror-secret.asc");
    gpg.export_secret(&fpr, PASS, &key);
    let cfg = w.top.path().join("f.yaml");
    let url = w.upstream_url();
    write(
        &cfg,
        &format!(
            "mirrors:
  - name: noenh-el9
    baseurl: {url}
    exclude_advisories: {{types: [enhancement]}}
  - name: seconly-el9
    baseurl: {url}
    security_only: true
  - name: asof-el9
    baseurl: {url}
    issued_before: 2026-03-15
  - name: combined-el9
    baseurl: {url}
    security_only: true
    exclude_advisories:
      severities: [low]
    sign_key: {}
    sign_key_passphrase_env: E2E_SIGN_PASS
",
            key.display()
        ),
    );
    let out = run_ok(
        w.mgr()
            .arg("--config")
            .arg(&cfg)
            .env("E2E_SIGN_PASS", PASS)
            .args(["--json", "sync", "--all"]),
    );
    let v = json(&out);
    let snap_of = |name: &str| -> String {
        let m = v["mirrors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["mirror"] == name)
            .unwrap_or_else(|| panic!("{name} not synced: {v}"));
        m["snapshot"].as_str().unwrap().to_owned()
    };
    let set = |items: &[&str]| {
        items
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<BTreeSet<String>>()
    };
    // name -> (packages, advisories, versions after `upgrade --security`)
    let cases: [Case<'_>; 4] = [
        (
            "noenh-el9",
            set(&[
                "alpha-1.0-1",
                "alpha-1.1-1",
                "alpha-1.2-1",
                "beta-1.0-1",
                "beta-2.0-1",
                "gamma-1.0-1",
                "delta-1.0-1",
            ]),
            set(&["SEC-1", "SEC-2", "BUG-1"]),
            ["1.2-1", "1.0-1", "1.0-1", "1.0-1"],
        ),
        (
            "seconly-el9",
            set(&[
                "alpha-1.0-1",
                "alpha-1.1-1",
                "alpha-1.2-1",
                "beta-1.0-1",
                "gamma-1.0-1",
                "delta-1.0-1",
            ]),
            set(&["SEC-1", "SEC-2"]),
            ["1.2-1", "1.0-1", "1.0-1", "1.0-1"],
        ),
        (
            "asof-el9",
            set(&[
                "alpha-1.0-1",
                "alpha-1.1-1",
                "beta-1.0-1",
                "beta-2.0-1",
                "gamma-1.0-1",
                "delta-1.0-1",
            ]),
            set(&["SEC-1", "BUG-1"]),
            ["1.1-1", "1.0-1", "1.0-1", "1.0-1"],
        ),
        (
            "combined-el9",
            set(&[
                "alpha-1.0-1",
                "alpha-1.1-1",
                "beta-1.0-1",
                "gamma-1.0-1",
                "delta-1.0-1",
            ]),
            set(&["SEC-1"]),
            ["1.1-1", "1.0-1", "1.0-1", "1.0-1"],
        ),
    ];
    let pubkey = w.root().join("combined-el9/RPM-GPG-KEY-mirror");
    for (name, packages, advisories, upgraded) in cases {
        let snap = snap_of(name);
        let url = w.snapshot_url(name, &snap);
        let dnf = Dnf::new();
        let signed = name == "combined-el9";
        let base = |c: &mut Command| {
            c.arg("--setopt=reposdir=/nonexistent")
                .arg(format!("--repofrompath=s,{url}"))
                .args(["--repo", "s"]);
            if signed {
                c.arg("--setopt=s.repo_gpgcheck=1")
                    .arg(format!("--setopt=s.gpgkey=file://{}", pubkey.display()));
            }
        };
        let dnf_run = |args: &[&str]| {
            let mut c = dnf.cmd();
            base(&mut c);
            run_ok(c.args(args))
        };
        dnf_run(&["install", "alpha-1.0", "beta-1.0", "gamma-1.0", "delta-1.0"]);
        let q = stdout(&dnf_run(&[
            "-q",
            "repoquery",
            "--available",
            "--qf",
            "%{name}-%{version}-%{release}",
        ]));
        let got: BTreeSet<String> = q
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        assert_eq!(got, packages, "{name}: repoquery");
        let list = stdout(&dnf_run(&["-q", "updateinfo", "list", "--all"]));
        let got: BTreeSet<String> = list
            .split_whitespace()
            .filter(|t| ["SEC-", "BUG-", "ENH-"].iter().any(|p| t.starts_with(p)))
            .map(str::to_owned)
            .collect();
        assert_eq!(got, advisories, "{name}: updateinfo list --all\n{list}");
        dnf_run(&["upgrade", "--security"]);
        let versions: Vec<String> = ["alpha", "beta", "gamma", "delta"]
            .iter()
            .map(|p| dnf.installed_version(p).unwrap_or_default())
            .collect();
        assert_eq!(versions, upgraded, "{name}: upgrade --security");
    }
    // The report says what the filter did.
    let combined = v["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mirror"] == "combined-el9")
        .unwrap();
    assert_eq!(combined["filter"]["advisories_excluded"], 1, "{combined}");
    assert_eq!(combined["filter"]["signed_by"], fpr.as_str());
    // A bad date or key names itself.
    for (text, needle) in [
        (
            "issued_before: last-tuesday",
            "issued_before=\"last-tuesday\"",
        ),
        ("exclude_advisories: {kinds: [bugfix]}", "kinds"),
        (
            "exclude_advisories: {issued_after: 2026-13-01}",
            "exclude_advisories.issued_after",
        ),
    ] {
        let bad = w.top.path().join("bad.yaml");
        write(
            &bad,
            &format!("mirrors:\n  - name: x-el9\n    baseurl: {url}\n    {text}\n"),
        );
        let out = run(w.mgr().arg("--config").arg(&bad).arg("check-config"));
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(
            stderr(&out).contains("bad.yaml") && stderr(&out).contains(needle),
            "{text}: {}",
            stderr(&out)
        );
    }
}

/// Add a `<data type="updateinfo">` record to `repo`'s repomd.xml for
/// `bytes` stored as `repodata/<file>` (real checksum and size, the given
/// open-size): for metadata no tool would write.
fn add_updateinfo(repo: &Path, file: &str, open_size: u64) {
    let path = repo.join("repodata").join(file);
    let sha = stdout(&run_ok(Command::new("sha256sum").arg(&path)));
    let sum = sha.split_whitespace().next().unwrap().to_owned();
    let size = std::fs::metadata(&path).unwrap().len();
    let repomd_path = repo.join("repodata/repomd.xml");
    let repomd = std::fs::read_to_string(&repomd_path).unwrap();
    let record = format!(
        "<data type=\"updateinfo\">\n    <checksum type=\"sha256\">{sum}</checksum>\n    <location href=\"repodata/{file}\"/>\n    <size>{size}</size>\n    <open-size>{open_size}</open-size>\n  </data>\n</repomd>"
    );
    write(&repomd_path, &repomd.replace("</repomd>", &record));
}

/// Acceptance 5: hostile updateinfo gives a clear answer or a clear error
/// (the memory bound is `bench/run --only advisories`'s).
#[test]
fn hostile_updateinfo_gives_clear_answers_or_errors() {
    let w = World::new();
    let up = w.upstream();
    build_rpms(&up, "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    build_rpms(&up, "Packages", &[Pkg::new("alpha", "1.1", "1")]);
    let fresh = |updateinfo: Option<String>| {
        let _ = std::fs::remove_dir_all(up.join("repodata"));
        createrepo(
            &up,
            &RepoOpts {
                updateinfo,
                ..RepoOpts::default()
            },
        );
    };
    let advisories = |name: &str, extra: &[&str]| {
        run_ok(w.mgr().args(["sync", name, "--url", &w.upstream_url()]));
        let out = run(w.mgr().args(["advisories", name, "--json"]).args(extra));
        (out.status.code(), stdout(&out), stderr(&out))
    };

    // Entity tricks: refused, naming the file and why.
    let mut doctype = String::from(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE updates [\n  <!ENTITY a \"aaaaaaaaaaaaaaaa\">\n",
    );
    for i in 1..12 {
        let _ = writeln!(doctype, "  <!ENTITY a{i} \"&a{}; &a{};\">", i - 1, i - 1);
    }
    doctype = doctype.replace("&a0;", "&a;");
    doctype.push_str("]>\n<updates><update type=\"security\"><id>&a11;</id></update></updates>\n");
    fresh(Some(doctype));
    let (code, _, err) = advisories("entities-el9", &[]);
    assert_ne!(code, Some(0));
    assert!(
        err.contains("updateinfo") && err.contains("DOCTYPE declarations are not accepted"),
        "{err}"
    );
    let out = run(w.mgr().args(["diff", "entities-el9", "latest", "latest"]));
    let (code, err) = (out.status.code(), stderr(&out));
    assert_ne!(code, Some(0));
    assert!(err.contains("DOCTYPE"), "{err}");

    // A 1 GiB decompression: one endless text, refused at 16 MiB.
    fresh(None);
    run_ok(Command::new("sh").arg("-c").arg(format!(
        "(printf '<updates><update type=\"security\"><id>'; head -c 1073741824 /dev/zero | tr '\\0' x) | gzip -1 > {}",
        up.join("repodata/bomb-updateinfo.xml.gz").display()
    )));
    add_updateinfo(&up, "bomb-updateinfo.xml.gz", (1 << 30) + 48);
    let (code, _, err) = advisories("bomb-el9", &[]);
    assert_ne!(code, Some(0));
    assert!(
        err.contains("bomb-updateinfo.xml.gz") && err.contains("longer than 16777216 bytes"),
        "{err}"
    );

    // 100,000 advisories: all read, each judged.
    let mut many = String::from("<?xml version=\"1.0\"?>\n<updates>\n");
    for i in 0..100_000 {
        let _ = writeln!(
            many,
            "<update type=\"security\"><id>MANY-{i}</id><issued date=\"2026-01-01\"/><severity>Low</severity><references><reference id=\"CVE-2026-{i:05}\" type=\"cve\"/></references><pkglist><collection><package name=\"alpha\" version=\"1.{}\" release=\"1\" epoch=\"0\" arch=\"noarch\"/></collection></pkglist></update>",
            i % 3
        );
    }
    many.push_str("</updates>\n");
    fresh(Some(many));
    // (Asked by CVE, so that only the answers are printed.) alpha 1.2 is
    // not in the repo: MANY-2 is listed, not applicable (exit 1).
    let (code, out, err) = advisories(
        "many-el9",
        &["--cve", "CVE-2026-99999", "--cve", "CVE-2026-00002"],
    );
    assert_eq!(code, Some(1), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["cves"][0]["fixed_by"],
        serde_json::json!(["MANY-99999"]),
        "{v}"
    );
    assert_eq!(v["cves"][1]["status"], "partial", "{v}");
    let many2 = v["advisories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "MANY-2")
        .unwrap();
    assert_eq!(
        many2["missing"],
        serde_json::json!(["alpha-0:1.2-1.noarch"])
    );

    // Duplicate ids are merged; an advisory naming packages not in the
    // repo is reported as such.
    let dup = updates(&[
        update(
            "DUP-1",
            "security",
            "Low",
            "2026-01-01",
            None,
            &["CVE-2026-3001"],
            &[("alpha", "1.0")],
        ),
        update(
            "DUP-1",
            "security",
            "Low",
            "2026-01-01",
            Some("2026-02-01"),
            &["CVE-2026-3002"],
            &[("alpha", "1.1")],
        ),
        update(
            "GHOST-1",
            "bugfix",
            "None",
            "2026-01-01",
            None,
            &[],
            &[("ghost", "9.9")],
        ),
    ]);
    fresh(Some(dup));
    let (code, out, err) = advisories("dup-el9", &[]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        ids(&v["advisories"]),
        BTreeSet::from(["DUP-1".to_owned(), "GHOST-1".to_owned()])
    );
    let d = &v["advisories"][0];
    assert_eq!(
        d["cves"],
        serde_json::json!(["CVE-2026-3001", "CVE-2026-3002"]),
        "{d}"
    );
    assert_eq!(d["packages"].as_array().unwrap().len(), 2, "{d}");
    assert_eq!(d["updated"], "2026-02-01T00:00:00Z");
    let g = &v["advisories"][1];
    assert_eq!(
        (g["applicable"].clone(), g["missing"].clone()),
        (
            serde_json::json!(false),
            serde_json::json!(["ghost-0:9.9-1.noarch"])
        )
    );
}
