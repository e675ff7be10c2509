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
