//! Operator commands over real trees: gc with pins and link-count
//! accounting, verify catching damage, hostile metadata refused.

use std::process::Command;

use mirror_e2e::*;

/// Three snapshots S1..S3 of `m-el9` (alpha 1.0, 2.0, 3.0; beta shared by all).
fn three_snapshots() -> (World, Vec<String>) {
    let w = World::new();
    let up = w.upstream();
    let mut snaps = Vec::new();
    build_rpms(&up, "Packages", &[Pkg::new("beta", "1.0", "1")]);
    for (i, v) in ["1.0", "2.0", "3.0"].iter().enumerate() {
        if i > 0 {
            let prev = ["1.0", "2.0"][i - 1];
            std::fs::remove_file(up.join(format!("Packages/alpha-{prev}-1.noarch.rpm"))).unwrap();
        }
        let mut p = Pkg::new("alpha", v, "1");
        p.size = 64 * 1024;
        build_rpms(&up, "Packages", &[p]);
        createrepo(&up, &RepoOpts::default());
        let r = w.sync("m-el9");
        assert_eq!(r["status"], "new_snapshot", "{r}");
        snaps.push(r["snapshot"].as_str().unwrap().to_owned());
    }
    (w, snaps)
}

#[test]
fn gc_keeps_latest_pinned_and_recent_and_reports_freed_bytes() {
    let (w, s) = three_snapshots();
    let mdir = w.root().join("m-el9");
    // Roll back to S2: S3 is newer but not latest.
    run_ok(w.mgr().args(["rollback", "m-el9", "--to", &s[1]]));
    run_ok(w.mgr().args(["pin", "m-el9", &s[0]]));
    assert_eq!(
        std::fs::read_to_string(mdir.join("pinned")).unwrap(),
        format!("{}\n", s[0])
    );
    let out = run(w.mgr().args(["pin", "m-el9", "2001-01-01-00-00"]));
    assert_eq!(
        out.status.code(),
        Some(2),
        "pinning a missing snapshot fails"
    );

    let out = run(w.mgr().args(["gc", "m-el9"]));
    assert_eq!(
        out.status.code(),
        Some(2),
        "gc without a policy is refused: {}",
        stderr(&out)
    );

    // keep-last 1: S3 (newest) kept by count, S2 as latest, S1 pinned: nothing to do.
    let out = run_ok(w.mgr().args(["gc", "m-el9", "--keep-last", "1", "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["removed"], serde_json::json!([]), "{v}");

    // Unpin S1; a dry run reports it and its freed bytes (alpha 1.0 is only in S1) but changes nothing.
    run_ok(w.mgr().args(["unpin", "m-el9", &s[0]]));
    let alpha1 = std::fs::metadata(mdir.join(&s[0]).join("Packages/alpha-1.0-1.noarch.rpm"))
        .unwrap()
        .len();
    let out = run_ok(
        w.mgr()
            .args(["gc", "m-el9", "--keep-last", "1", "--dry-run", "--json"]),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["removed"], serde_json::json!([s[0]]), "{v}");
    let freed = v[0]["bytes_freed"].as_u64().unwrap();
    // alpha 1.0 plus S1's own metadata; beta is shared with S2/S3/base and frees nothing.
    let meta: u64 = files(&mdir.join(&s[0]).join("repodata"))
        .iter()
        .map(|f| {
            std::fs::metadata(mdir.join(&s[0]).join("repodata").join(f))
                .unwrap()
                .len()
        })
        .sum();
    assert!(
        freed >= alpha1 && freed <= alpha1 + meta,
        "freed {freed}, alpha {alpha1}, meta {meta}"
    );
    assert!(mdir.join(&s[0]).is_dir(), "dry run removed nothing");

    // keep-within a day keeps everything (all made just now).
    let out = run_ok(
        w.mgr()
            .args(["gc", "m-el9", "--keep-within", "1d", "--json"]),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["removed"], serde_json::json!([]));

    let out = run_ok(w.mgr().args(["gc", "--keep-last", "1"]));
    assert!(
        stdout(&out).contains(&format!("m-el9: removed 1 snapshots ({})", s[0])),
        "{}",
        stdout(&out)
    );
    assert_eq!(snapshots(&mdir), vec![s[1].clone(), s[2].clone()]);
    assert_eq!(latest(&mdir).as_deref(), Some(s[1].as_str()));
    // Issue 22.2: nothing the index writes names the removed snapshot.
    // (A name may be a prefix of the next one's: compare whole names.)
    let all = std::fs::read_to_string(w.root().join("all_snapshots.json")).unwrap();
    let quoted = |n: &str| format!("\"{n}\"");
    assert!(
        !all.contains(&quoted(&s[0])) && all.contains(&quoted(&s[1])),
        "{all}"
    );
    for page in ["index.html", "m-el9/index.html"] {
        let html = std::fs::read_to_string(w.root().join(page)).unwrap();
        for named in [format!("\"{}/\"", s[0]), format!(">{}<", s[0])] {
            assert!(!html.contains(&named), "{page} names {}", s[0]);
        }
    }
    // And time travel to the removed snapshot's minute never hands it out.
    let frozen = w.top.path().join("at.json");
    let out = run(client()
        .arg("freeze")
        .arg("--mirrors")
        .arg(w.root().join("all_latest.json"))
        .args(["--at", &s[0], "-o"])
        .arg(&frozen));
    let map = std::fs::read_to_string(&frozen).unwrap_or_default();
    assert!(!map.contains(&s[0]), "{map}");
    assert!(
        stderr(&out).contains("no snapshot made at or before"),
        "{}",
        stderr(&out)
    );
    // Shared packages survive in the remaining snapshots and base.
    assert!(
        mdir.join(&s[1])
            .join("Packages/beta-1.0-1.noarch.rpm")
            .exists()
    );
    run_ok(w.mgr().args(["verify", "m-el9"]));
    assert!(files(&mdir.join(".staging")).is_empty());
}

#[test]
fn verify_finds_damage() {
    let (w, s) = three_snapshots();
    let mdir = w.root().join("m-el9");
    run_ok(w.mgr().args(["verify"]));
    // Corrupt one byte of a package (same size): only the deep check sees it.
    let victim = mdir.join(&s[0]).join("Packages/alpha-1.0-1.noarch.rpm");
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[100] ^= 0xff;
    std::fs::remove_file(&victim).unwrap(); // break the link so only S1 is damaged
    std::fs::write(&victim, &bytes).unwrap();
    write(
        &mdir.join(&s[1]).join("Packages/stray.rpm"),
        "not in metadata",
    );
    let out = run(w.mgr().args(["verify", "--quick", "m-el9"]));
    assert_eq!(
        out.status.code(),
        Some(1),
        "verify --quick flags the stray file"
    );
    assert!(
        stdout(&out).contains("stray.rpm: not listed in the metadata"),
        "{}",
        stdout(&out)
    );
    assert!(
        !stdout(&out).contains("checksum"),
        "--quick does not hash: {}",
        stdout(&out)
    );
    let out = run(w.mgr().args(["verify", "m-el9", "--json"]));
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let problems = |t: &str| -> String {
        v.as_array()
            .unwrap()
            .iter()
            .find(|x| x["target"] == t)
            .map(|x| x["problems"].to_string())
            .unwrap_or_default()
    };
    assert!(
        problems(&s[0]).contains("alpha-1.0-1.noarch.rpm: checksum"),
        "{v}"
    );
    assert!(
        problems(&s[1]).contains("stray.rpm: not listed in the metadata"),
        "{v}"
    );
    assert_eq!(problems(&s[2]), "[]");
    // Rollback refuses the damaged snapshot and changes nothing.
    let out = run(w.mgr().args(["rollback", "m-el9", "--to", &s[1]]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("incomplete or damaged"),
        "{}",
        stderr(&out)
    );
    assert_eq!(latest(&mdir).as_deref(), Some(s[2].as_str()));
}

/// Serve a hand-made repo: real createrepo_c output, then one metadata file
/// replaced by hostile text with repomd.xml re-checksummed to match.
fn hostile_repo(w: &World, name: &str, edit: impl Fn(&str) -> String) -> String {
    let up = w.top.path().join("upstream").join(name);
    build_rpms(&up, "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    run_ok(
        Command::new(tool("createrepo_c"))
            .args([
                "--quiet",
                "--no-database",
                "--simple-md-filenames",
                "--general-compress-type",
                "xz",
            ])
            .arg(&up),
    );
    let primary = up.join("repodata/primary.xml.xz");
    let text = run_ok(Command::new("xz").arg("-dc").arg(&primary));
    let new = edit(&stdout(&text));
    std::fs::write(up.join("repodata/primary.xml"), &new).unwrap();
    std::fs::remove_file(&primary).unwrap();
    let sum = stdout(&run_ok(
        Command::new("sha256sum").arg(up.join("repodata/primary.xml")),
    ));
    let sum = sum.split_whitespace().next().unwrap();
    let repomd = std::fs::read_to_string(up.join("repodata/repomd.xml")).unwrap();
    // Point the primary record at the plain file with its real checksum and size.
    let start = repomd.find("<data type=\"primary\">").unwrap();
    let end = start + repomd[start..].find("</data>").unwrap() + "</data>".len();
    let record = format!(
        "<data type=\"primary\">\n    <checksum type=\"sha256\">{sum}</checksum>\n    <location href=\"repodata/primary.xml\"/>\n    <size>{}</size>\n  </data>",
        new.len()
    );
    std::fs::write(
        up.join("repodata/repomd.xml"),
        format!("{}{record}{}", &repomd[..start], &repomd[end..]),
    )
    .unwrap();
    w.nginx.url(&format!("upstream/{name}/"))
}

/// A change made to a primary.xml's text.
type Edit = Box<dyn Fn(&str) -> String>;

#[test]
fn hostile_metadata_is_refused_and_nothing_escapes() {
    let w = World::new();
    let outside = w.top.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let href = |to: &'static str| {
        move |p: &str| {
            p.replace(
                "href=\"Packages/alpha-1.0-1.noarch.rpm\"",
                &format!("href=\"{to}\""),
            )
        }
    };
    let abs = format!("{}/evil.rpm", outside.display());
    let abs: &'static str = Box::leak(abs.into_boxed_str());
    let cases: Vec<(&str, Edit, &str)> = vec![
        ("abs-el9", Box::new(href(abs)), "absolute path"),
        (
            "dotdot-el9",
            Box::new(href("../../outside/evil.rpm")),
            "'.' or '..' component",
        ),
        ("empty-el9", Box::new(href("")), "empty path"),
        (
            "repodata-el9",
            Box::new(href("repodata/repomd.xml")),
            "package inside repodata/",
        ),
        (
            "hidden-el9",
            Box::new(href(".lock")),
            "hidden top-level entry",
        ),
        (
            "xmlbase-el9",
            Box::new(|p: &str| {
                p.replace(
                    "<location href=",
                    "<location xml:base=\"http://evil.example/\" href=",
                )
            }),
            "xml:base",
        ),
        (
            "laughs-el9",
            Box::new(|p: &str| {
                p.replacen(
                    "<metadata",
                    "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>\n<metadata",
                    1,
                )
                .replace("<name>alpha</name>", "<name>&lol2;</name>")
            }),
            "DOCTYPE",
        ),
        (
            "xxe-el9",
            Box::new(|p: &str| p.replace("<name>alpha</name>", "<name>&xxe;</name>")),
            "undefined entity",
        ),
        (
            "dup-el9",
            Box::new(|p: &str| {
                let start = p.find("<package").unwrap();
                let end = p.find("</package>").unwrap() + "</package>".len();
                let pkg = &p[start..end];
                let other = pkg.replacen("pkgid=\"YES\">", "pkgid=\"YES\">0", 1);
                let other = other.replacen(
                    &other[other.find("pkgid=\"YES\">").unwrap() + 12
                        ..other.find("</checksum>").unwrap()],
                    &"0".repeat(64),
                    1,
                );
                format!("{}{pkg}{other}{}", &p[..start], &p[end..])
            }),
            "listed twice with different checksums",
        ),
    ];
    for (name, edit, needle) in cases {
        let url = hostile_repo(&w, name, edit);
        let out = run(w
            .mgr()
            .args(["sync", name, "--retries", "0", "--url", &url]));
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(needle), "{name}: expected {needle:?} in {err}");
        assert!(
            err.contains(&format!("upstream/{name}/")),
            "{name}: the error names the URL: {err}"
        );
        assert!(snapshots(&w.root().join(name)).is_empty(), "{name}");
        assert!(latest(&w.root().join(name)).is_none(), "{name}");
    }
    assert!(
        files(&outside).is_empty(),
        "something was written outside the mirror"
    );

    // A package that declares a gigantic size: nothing is preallocated or
    // buffered; the download fails on the size mismatch, naming the URL.
    let url = hostile_repo(&w, "huge-el9", |p: &str| {
        let i = p.find("<size package=\"").unwrap() + "<size package=\"".len();
        let j = i + p[i..].find('"').unwrap();
        format!("{}{}{}", &p[..i], "900000000000000", &p[j..])
    });
    let out = run(w
        .mgr()
        .args(["sync", "huge-el9", "--retries", "0", "--url", &url]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("metadata says 900000000000000"),
        "{}",
        stderr(&out)
    );
    assert!(snapshots(&w.root().join("huge-el9")).is_empty());

    // Names with odd characters (spaces, +, %, unicode) are fetched and stored as named.
    let odd = w.top.path().join("upstream/odd-el9");
    build_rpms(&odd, "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    std::fs::rename(
        odd.join("Packages/alpha-1.0-1.noarch.rpm"),
        odd.join("Packages/odd name+1 100% (ü).rpm"),
    )
    .unwrap();
    run_ok(
        Command::new(tool("createrepo_c"))
            .args(["--quiet", "--no-database"])
            .arg(&odd),
    );
    let out = run_ok(w.mgr().args([
        "--json",
        "sync",
        "odd-el9",
        "--url",
        &w.nginx.url("upstream/odd-el9/"),
    ]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let snap = v["mirrors"][0]["snapshot"].as_str().unwrap().to_owned();
    assert!(
        w.root()
            .join("odd-el9")
            .join(&snap)
            .join("Packages/odd name+1 100% (ü).rpm")
            .is_file()
    );
    run_ok(w.mgr().args(["verify", "odd-el9"]));

    // The same package listed twice identically is harmless.
    let url = hostile_repo(&w, "samedup-el9", |p: &str| {
        let start = p.find("<package").unwrap();
        let end = p.find("</package>").unwrap() + "</package>".len();
        format!("{}{}{}", &p[..end], &p[start..end], &p[end..])
    });
    let out = run_ok(
        w.mgr()
            .args(["--json", "sync", "samedup-el9", "--url", &url]),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mirrors"][0]["packages"], 1, "{v}");

    // A symlink planted in base/ is never written through.
    let url = hostile_repo(&w, "link-el9", |p: &str| p.to_owned());
    std::fs::create_dir_all(w.root().join("link-el9/base")).unwrap();
    std::os::unix::fs::symlink(&outside, w.root().join("link-el9/base/Packages")).unwrap();
    let out = run(w.mgr().args(["sync", "link-el9", "--url", &url]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is a symlink; refusing to write through it"),
        "{}",
        stderr(&out)
    );
    assert!(files(&outside).is_empty(), "wrote through the symlink");
    assert!(latest(&w.root().join("link-el9")).is_none());
}

/// `--xml-base follow`: packages whose location points at another host are
/// fetched from there and stored in the snapshot at their href. (The
/// metadata stays byte-identical, so it still names that host; see README.)
#[test]
fn xml_base_follow_downloads_from_the_named_host() {
    let w = World::new();
    let elsewhere = w.top.path().join("upstream/elsewhere");
    let base = w.nginx.url("upstream/elsewhere/");
    let url = hostile_repo(&w, "xb-el9", |p: &str| {
        p.replace(
            "<location href=",
            &format!("<location xml:base=\"{base}\" href="),
        )
    });
    let up = w.top.path().join("upstream/xb-el9");
    std::fs::create_dir_all(elsewhere.join("Packages")).unwrap();
    std::fs::rename(
        up.join("Packages/alpha-1.0-1.noarch.rpm"),
        elsewhere.join("Packages/alpha-1.0-1.noarch.rpm"),
    )
    .unwrap();
    // Refused by default...
    let out = run(w.mgr().args(["sync", "xb-el9", "--url", &url]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("xml_base: follow"),
        "{}",
        stderr(&out)
    );
    // ... followed when asked.
    let out = run_ok(w.mgr().args([
        "--json",
        "sync",
        "xb-el9",
        "--xml-base",
        "follow",
        "--url",
        &url,
    ]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let snap = v["mirrors"][0]["snapshot"].as_str().unwrap().to_owned();
    assert!(
        w.root()
            .join("xb-el9")
            .join(&snap)
            .join("Packages/alpha-1.0-1.noarch.rpm")
            .is_file()
    );
    let gets = w.nginx.requests();
    assert!(
        gets.iter()
            .any(|l| l.contains("/upstream/elsewhere/Packages/alpha-1.0-1.noarch.rpm")),
        "{gets:?}"
    );
    run_ok(w.mgr().args(["verify", "xb-el9"]));
}

/// Issue 21, item 12: one sync made while the clock was years ahead. Later
/// syncs say so (names must follow it, and never run out), and after a
/// rollback gc removes the snapshots named in the future.
#[test]
fn a_snapshot_named_in_the_future_is_reported_and_can_be_removed() {
    let w = World::new();
    let up = w.upstream();
    build_rpms(&up, "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    createrepo(&up, &RepoOpts::default());
    let s0 = w.sync("m-el9")["snapshot"].as_str().unwrap().to_owned();
    build_rpms(&up, "Packages", &[Pkg::new("alpha", "1.1", "1")]);
    createrepo(&up, &RepoOpts::default());
    let s1 = w.sync("m-el9")["snapshot"].as_str().unwrap().to_owned();
    // As if S1 had been made with the clock in 2036.
    let mdir = w.root().join("m-el9");
    let future = "2036-01-01-00-00";
    std::fs::rename(mdir.join(&s1), mdir.join(future)).unwrap();
    std::fs::write(mdir.join("latest.txt"), format!("{future}\n")).unwrap();

    build_rpms(&up, "Packages", &[Pkg::new("alpha", "1.2", "1")]);
    createrepo(&up, &RepoOpts::default());
    let r = w.sync("m-el9");
    assert_eq!(r["snapshot"], "2036-01-01-00-00-01", "{r}");
    let warned = r["warnings"].to_string();
    assert!(
        warned.contains(future) && warned.contains("ahead of this host's clock"),
        "{r}"
    );
    // The human summary says it too.
    let out = run_ok(w.mgr().args(["sync", "m-el9", "--url", &w.upstream_url()]));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        all.contains("(warning: the newest snapshot 2036-01-01-00-00-01"),
        "{all}"
    );

    // Roll back to the real one; gc removes what was named in the future
    // (keep-last and keep-within do not count it, and it is not "held back").
    run_ok(w.mgr().args(["rollback", "m-el9", "--to", &s0]));
    let out = run_ok(w.mgr().args([
        "gc",
        "m-el9",
        "--keep-last",
        "1",
        "--keep-within",
        "1d",
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v[0]["removed"],
        serde_json::json!([future, "2036-01-01-00-00-01"]),
        "{v}"
    );
    assert_eq!(snapshots(&mdir), vec![s0.clone()]);
    // Names come from the clock again.
    build_rpms(&up, "Packages", &[Pkg::new("alpha", "1.3", "1")]);
    createrepo(&up, &RepoOpts::default());
    let r = w.sync("m-el9");
    let name = r["snapshot"].as_str().unwrap();
    assert!(
        name.starts_with("20") && name < future && name > s0.as_str(),
        "{r}"
    );
    assert!(r.get("warnings").is_none(), "{r}");
}
