//! Downgrade protection (issue 21, item 1): a replayed older repomd.xml,
//! validly signed or not, never becomes the new latest; a mirror of a
//! multi-mirror upstream that lags is passed over; `--allow-downgrade`
//! accepts it and says so.

use std::path::Path;

use mirror_e2e::*;

fn revision(up: &Path, rev: &str) {
    createrepo(
        up,
        &RepoOpts {
            revision: Some(rev.into()),
            ..RepoOpts::default()
        },
    );
}

fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let dest = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

fn sync(w: &World, cfg: &Path, extra: &[&str]) -> (std::process::Output, serde_json::Value) {
    let out = run(w
        .mgr()
        .arg("--config")
        .arg(cfg)
        .args(["--json", "sync", "d-el9", "--retries", "0"])
        .args(extra));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    (out, v["mirrors"][0].clone())
}

#[test]
fn an_older_repomd_never_becomes_latest() {
    let w = World::new();
    let up = w.upstream();
    let saved = w.top.path().join("saved");
    // v1, v2 and v3 of one upstream; v2's metadata is kept aside.
    build_rpms(&up, "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    revision(&up, "100");
    copy_dir(&up.join("repodata"), &saved.join("v1"));
    build_rpms(&up, "Packages", &[Pkg::new("alpha", "1.1", "1")]);
    revision(&up, "200");
    copy_dir(&up.join("repodata"), &saved.join("v2"));
    build_rpms(&up, "Packages", &[Pkg::new("alpha", "1.2", "1")]);
    let cfg = w.top.path().join("m.yaml");
    write(
        &cfg,
        &format!(
            "mirrors:\n  - name: d-el9\n    baseurl: {}\n",
            w.upstream_url()
        ),
    );
    let mirror = w.root().join("d-el9");

    copy_dir(&saved.join("v1"), &up.join("repodata"));
    let (out, v) = sync(&w, &cfg, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s1 = v["snapshot"].as_str().unwrap().to_owned();
    revision(&up, "300");
    copy_dir(&up.join("repodata"), &saved.join("v3"));
    let (out, v) = sync(&w, &cfg, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s3 = v["snapshot"].as_str().unwrap().to_owned();
    assert_ne!(s1, s3);

    // Upstream now serves the older v2 (a replay, or a lagging mirror).
    copy_dir(&saved.join("v2"), &up.join("repodata"));
    let (out, v) = sync(&w, &cfg, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(v["status"], "unchanged", "{v}");
    assert!(
        v["downgrade_refused"]
            .as_str()
            .is_some_and(|w| w.contains("revision 200 is older than 300")),
        "{v}"
    );
    assert!(
        v["note"].as_str().unwrap().contains("allow_downgrade"),
        "{v}"
    );
    assert_eq!(latest(&mirror).as_deref(), Some(s3.as_str()));
    assert_eq!(snapshots(&mirror), vec![s1.clone(), s3.clone()]);

    // v1's exact bytes again: also refused (same bytes as an older snapshot).
    copy_dir(&saved.join("v1"), &up.join("repodata"));
    let (out, v) = sync(&w, &cfg, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        v["downgrade_refused"]
            .as_str()
            .is_some_and(|w| w.contains(&s1)),
        "{v}"
    );
    assert_eq!(latest(&mirror).as_deref(), Some(s3.as_str()));

    // Two baseurls: the first lags (v2), the second has v3: the second serves.
    let lag = w.top.path().join("upstream/lag");
    copy_dir(&up, &lag);
    copy_dir(&saved.join("v2"), &lag.join("repodata"));
    copy_dir(&saved.join("v3"), &up.join("repodata"));
    write(
        &cfg,
        &format!(
            "mirrors:\n  - name: d-el9\n    baseurl:\n      - {}\n      - {}\n",
            w.nginx.url("upstream/lag/"),
            w.upstream_url()
        ),
    );
    let (out, v) = sync(&w, &cfg, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(v["status"], "unchanged", "{v}");
    assert!(v.get("downgrade_refused").is_none(), "{v}");
    let skipped = v["skipped_mirrors"].to_string();
    assert!(
        skipped.contains("upstream/lag") && skipped.contains("older repomd.xml"),
        "{v}"
    );

    // --allow-downgrade accepts the older one, and says so.
    write(
        &cfg,
        &format!(
            "mirrors:\n  - name: d-el9\n    baseurl: {}\n",
            w.nginx.url("upstream/lag/")
        ),
    );
    let (out, v) = sync(&w, &cfg, &["--allow-downgrade"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(v["status"], "new_snapshot", "{v}");
    assert!(
        v["note"].as_str().unwrap().contains("accepted a downgrade"),
        "{v}"
    );
    let s2 = v["snapshot"].as_str().unwrap().to_owned();
    assert_eq!(latest(&mirror).as_deref(), Some(s2.as_str()));
    let meta = std::fs::read_to_string(mirror.join(&s2).join("repodata/repomd.xml")).unwrap();
    assert!(meta.contains("<revision>200</revision>"), "{meta}");
}
