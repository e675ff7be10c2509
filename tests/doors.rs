//! Issue 22, acceptance 1: every verb done once through the command line
//! and once through the HTTP API, from identical starting trees, leaves
//! the same tree (pointers, index files, all_snapshots.json, status pages,
//! channel indexes) and the same bucket objects. Times, durations and the
//! audit records are the only differences allowed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use mirror_e2e::*;

const MIRROR: &str = "doors-el9";
/// Who promotes: the API's token, and the command line's `$USER` set to
/// the same name, so the journals compare.
const WHO: &str = "token:ci";

fn config(w: &World, root: &Path, s3: &Seaweed, prefix: &str) -> PathBuf {
    let cfg = root.with_extension("yaml");
    write(
        &cfg,
        &format!(
            "root: {}\nbase_url: {}\n{}mirrors:\n  - name: {MIRROR}\n    baseurl: {}\n    failing_after: 1\nchannels:\n  tested:\n    require: [integration]\n",
            root.display(),
            w.base_url(),
            s3.publish_yaml(prefix),
            w.upstream_url()
        ),
    );
    cfg
}

fn mgr_cfg(cfg: &Path) -> Command {
    let mut c = Command::new(bin("mirror-mgr"));
    c.arg("--config").arg(cfg).env("USER", WHO);
    c.env("MIRROR_MGR_RETRY_BACKOFF_MS", "10");
    with_s3_env(&mut c);
    c
}

/// Text with times replaced (`2026-12-07T18:23:01.5Z`, `2026-12-07 18:23`),
/// so two runs compare. Snapshot names (only dashes) stay.
fn normalize(text: &str) -> String {
    let b = text.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let digits = |i: usize, n: usize| (i..i + n).all(digit);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let time = digits(i, 4)
            && at(i + 4, b'-')
            && digits(i + 5, 2)
            && at(i + 7, b'-')
            && digits(i + 8, 2)
            && (at(i + 10, b'T') || at(i + 10, b' '))
            && digits(i + 11, 2)
            && at(i + 13, b':')
            && digits(i + 14, 2);
        if !time {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 16;
        if at(i, b':') && digits(i + 1, 2) {
            i += 3;
        }
        if at(i, b'.') {
            i += 1;
            while digit(i) {
                i += 1;
            }
        }
        if at(i, b'Z') {
            i += 1;
        } else if (at(i, b'+') || at(i, b'-')) && digits(i + 1, 2) && at(i + 3, b':') {
            i += 6;
        }
        out.extend_from_slice(b"<T>");
    }
    String::from_utf8(out).expect("only ASCII was replaced")
}

/// Every visible file under `dir` (no dot-entry at any depth): relative
/// path -> normalized text (or the bytes' length and hash for binaries).
fn visible_tree(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .filter_entry(|e| !e.file_name().to_string_lossy().starts_with('.'))
    {
        let e = e.unwrap();
        if !e.file_type().is_file() {
            continue;
        }
        let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
        let bytes = std::fs::read(e.path()).unwrap();
        out.insert(rel, shown(&bytes));
    }
    out
}

fn shown(bytes: &[u8]) -> String {
    if let Ok(t) = std::str::from_utf8(bytes) {
        normalize(t)
    } else {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut h);
        format!("{} bytes, hash {:x}", bytes.len(), h.finish())
    }
}

#[test]
fn normalize_masks_times_only() {
    assert_eq!(
        normalize(
            "at 2026-12-07T18:23:01.5Z, 2026-12-07 18:23 and 2026-12-07T18:23:01+02:00; snapshot 2026-12-07-18-23"
        ),
        "at <T>, <T> and <T>; snapshot 2026-12-07-18-23"
    );
}

/// Every object under `prefix/` in the bucket: key (without the prefix)
/// -> normalized content, the prefix's public URL replaced.
fn bucket_tree(s3: &Seaweed, prefix: &str) -> BTreeMap<String, String> {
    let public = s3.public_url(prefix);
    s3.list(&format!("{prefix}/"))
        .into_iter()
        .map(|key| {
            let (code, body) = Seaweed::get(&format!("{}/{}/{key}", s3.endpoint(), s3.bucket));
            assert_eq!(code, 200, "{key}");
            let text = shown(&body).replace(&public, "<PUBLIC>");
            (key[prefix.len() + 1..].to_owned(), text)
        })
        .collect()
}

fn assert_same(what: &str, cli: &BTreeMap<String, String>, api: &BTreeMap<String, String>) {
    let keys = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        keys(cli),
        keys(api),
        "{what}: the two doors left other files"
    );
    for (k, v) in cli {
        assert_eq!(
            v, &api[k],
            "{what}: {k} differs between the command line and the API"
        );
    }
}

fn sync_json(cfg: &Path) -> serde_json::Value {
    let out = run_ok(mgr_cfg(cfg).args(["--json", "sync", MIRROR, "--publish"]));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn every_verb_through_either_door_leaves_the_same_tree_and_bucket() {
    let s3 = Seaweed::start("doors");
    let w = World::new();
    build_rpms(&w.upstream(), "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    createrepo(&w.upstream(), &RepoOpts::default());
    let (root_cli, root_api) = (w.top.path().join("cli"), w.top.path().join("api"));
    let cfg_cli = config(&w, &root_cli, &s3, "cli");
    let cfg_api = config(&w, &root_api, &s3, "api");

    // Identical starting trees: two snapshots made once, then copied.
    let s1 = sync_json(&cfg_cli)["mirrors"][0]["snapshot"]
        .as_str()
        .unwrap()
        .to_owned();
    build_rpms(&w.upstream(), "Packages", &[Pkg::new("alpha", "2.0", "1")]);
    createrepo(&w.upstream(), &RepoOpts::default());
    let s2 = sync_json(&cfg_cli)["mirrors"][0]["snapshot"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(s1, s2);
    run_ok(Command::new("cp").arg("-a").arg(&root_cli).arg(&root_api));
    run_ok(mgr_cfg(&cfg_api).args(["publish", "--all"]));
    let token = stdout(&run_ok(
        mgr_cfg(&cfg_api).args(["token", "add", "ci", "--scopes", "admin"]),
    ))
    .trim()
    .to_owned();
    let server = Server::start({
        let mut c = mgr_cfg(&cfg_api);
        c.arg("serve");
        c
    });
    let post = |path: &str, body: &str| -> serde_json::Value {
        let (code, v) = server.json("POST", path, Some(&token), Some(body));
        assert!((200..300).contains(&code), "POST {path} {body}: {code} {v}");
        v
    };

    // 1. A sync that fails, with failing_after: 1: both doors say failing.
    let repodata = w.upstream().join("repodata");
    std::fs::rename(&repodata, w.upstream().join("repodata.off")).unwrap();
    let out = run(mgr_cfg(&cfg_cli).args(["sync", MIRROR]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let job = post(&format!("/api/v1/mirrors/{MIRROR}/sync"), "");
    let job = server.wait_job(job["id"].as_u64().unwrap());
    assert_eq!(job["state"], "failed", "{job}");
    std::fs::rename(w.upstream().join("repodata.off"), &repodata).unwrap();
    for root in [&root_cli, &root_api] {
        let page = std::fs::read_to_string(root.join("index.html")).unwrap();
        assert!(page.contains("failing"), "{}: {page}", root.display());
    }

    // 2. A rollback of latest.
    run_ok(mgr_cfg(&cfg_cli).args(["rollback", MIRROR]));
    post(&format!("/api/v1/mirrors/{MIRROR}/rollback"), "");

    // 3. A promotion.
    run_ok(mgr_cfg(&cfg_cli).args([
        "promote",
        MIRROR,
        &s2,
        "--channel",
        "stable",
        "--reason",
        "release 7",
    ]));
    post(
        "/api/v1/promote",
        &format!(
            r#"{{"channel": "stable", "mirror": "{MIRROR}", "snapshot": "{s2}", "reason": "release 7"}}"#
        ),
    );

    // 4. A vote that promotes (tested requires integration).
    let set = w.top.path().join("set.json");
    write(
        &set,
        &format!(r#"{{"{MIRROR}": "{}/{MIRROR}/{s1}"}}"#, w.base_url()),
    );
    run_ok(
        mgr_cfg(&cfg_cli)
            .args(["vote", "--job", "integration", "--pass", "--set"])
            .arg(&set),
    );
    let v = post(
        "/api/v1/votes",
        &format!(r#"{{"set": {{"{MIRROR}": "{s1}"}}, "job": "integration", "result": "pass"}}"#),
    );
    assert_eq!(v["promotions"][0]["channel"], "tested", "{v}");

    // 5. A channel rollback (stable: s2 -> s1).
    run_ok(mgr_cfg(&cfg_cli).args(["rollback", MIRROR, "--channel", "stable"]));
    post(
        &format!("/api/v1/mirrors/{MIRROR}/rollback"),
        r#"{"channel": "stable"}"#,
    );
    server.stop();

    // The same tree, file for file.
    let (cli, api) = (visible_tree(&root_cli), visible_tree(&root_api));
    for f in [
        "all_latest.json",
        "all_snapshots.json",
        "all_tested.json",
        "all_stable.json",
        "index.html",
    ] {
        assert!(cli.contains_key(f), "{f} missing: {:?}", cli.keys());
    }
    assert!(cli[&format!("{MIRROR}/latest.txt")].contains(&s1));
    assert!(cli[&format!("{MIRROR}/stable.txt")].contains(&s1));
    assert!(cli[&format!("{MIRROR}/tested.txt")].contains(&s1));
    assert_same("tree", &cli, &api);
    assert_only_base_and_snapshots(&root_cli.join(MIRROR));

    // The same bucket, object for object (each door has its prefix).
    let (cli, api) = (bucket_tree(&s3, "cli"), bucket_tree(&s3, "api"));
    assert!(cli.contains_key("all_stable.json"), "{:?}", cli.keys());
    assert!(cli.contains_key("all_snapshots.json"), "{:?}", cli.keys());
    assert!(
        cli[&format!("{MIRROR}/stable.txt")].contains(&s1),
        "the bucket's stable pointer followed the channel rollback"
    );
    assert_same("bucket", &cli, &api);
}

#[test]
fn the_tree_check_catches_a_stray_directory() {
    let d = tempfile::tempdir().unwrap();
    for dir in [
        "base",
        "2026-01-01-00-00",
        "2026-01-01-00-00-02",
        ".staging",
    ] {
        std::fs::create_dir(d.path().join(dir)).unwrap();
    }
    std::fs::write(d.path().join("index.html"), "").unwrap();
    assert_only_base_and_snapshots(d.path());
    std::fs::create_dir(d.path().join("diffs")).unwrap();
    let caught = std::panic::catch_unwind(|| assert_only_base_and_snapshots(d.path()));
    assert!(caught.is_err(), "a stray diffs/ directory passed");
}
