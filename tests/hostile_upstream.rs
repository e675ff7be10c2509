//! `mirror-mgr` against hostile or half-broken upstreams, over the real
//! binary (issue 16): decompression bombs, `xml:base` pointing at local
//! files or foreign hosts, redirects to `file://` and in loops, and
//! mirrorlists whose first mirror is a captive portal, serves broken
//! metadata, lacks a package or refuses connections.

use std::io::Write as _;
use std::path::Path;
use std::process::Command;

use mirror_e2e::fault::{Fault, FaultServer};
use mirror_e2e::*;

/// A real repo with two packages at `dir`.
fn real_repo(dir: &Path) {
    build_rpms(
        dir,
        "Packages",
        &[Pkg::new("alpha", "1.0", "1"), Pkg::new("beta", "1.0", "1")],
    );
    createrepo(dir, &RepoOpts::default());
}

fn sync_json(w: &World, args: &[&str]) -> (std::process::Output, serde_json::Value) {
    let out = run(w.mgr().arg("--json").arg("sync").args(args));
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, v)
}

/// Nothing under the mirror that a client could see.
fn nothing_published(w: &World, name: &str) {
    let dir = w.root().join(name);
    assert!(snapshots(&dir).is_empty(), "{:?}", snapshots(&dir));
    assert!(latest(&dir).is_none());
}

/// Issue 16.5: a primary.xml.gz of ~1 MB that inflates to 1 GiB is refused
/// with an error naming it, whether its repomd.xml declares a (false)
/// open-size or none; nothing is published.
#[test]
fn decompression_bombs_are_refused() {
    let w = World::new();
    real_repo(&w.upstream());
    // 1 MiB of text and an element inside <name>, as gzip members repeated
    // 1024 times (each text under the bound on one event, so that the
    // decompression bound is what trips).
    let mut head = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    head.write_all(b"<?xml version=\"1.0\"?>\n<metadata xmlns=\"http://linux.duke.edu/metadata/common\" packages=\"1\"><package type=\"rpm\"><name>")
        .unwrap();
    let mut bomb = head.finish().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let mut chunk = vec![b'a'; (1 << 20) - 4];
    chunk.extend_from_slice(b"<a/>");
    gz.write_all(&chunk).unwrap();
    let member = gz.finish().unwrap();
    for _ in 0..1024 {
        bomb.extend_from_slice(&member);
    }
    assert!(bomb.len() < 2 << 20, "{} bytes", bomb.len());
    for (open_size, needle) in [
        (
            Some(5000),
            "more than 5000 bytes, the open-size its repomd.xml declares",
        ),
        (None, "the ceiling for metadata without an open-size"),
    ] {
        replace_primary(&w.upstream(), "bomb-primary.xml.gz", &bomb, open_size);
        let (out, v) = sync_json(&w, &["bomb-el9", "--url", &w.upstream_url()]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let err = v["mirrors"][0]["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            err.contains("bomb-primary.xml.gz") && err.contains(needle),
            "{open_size:?}: {err}"
        );
        nothing_published(&w, "bomb-el9");
    }
}

/// Issue 16.6: under `--xml-base follow`, an xml:base of `file://` is never
/// read (the mirror host's own files must not be published, nor their
/// sizes leaked), and a host the operator did not allow is refused.
#[test]
fn xml_base_follows_only_allowed_http_hosts() {
    let w = World::new();
    real_repo(&w.upstream());
    let primary = w
        .upstream()
        .join("repodata")
        .read_dir()
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("primary.xml"))
        .unwrap();
    let text = stdout(&run_ok(Command::new("gzip").arg("-dc").arg(&primary)));
    let secret = w.top.path().join("secret");
    std::fs::create_dir_all(secret.join("Packages")).unwrap();
    for f in ["alpha-1.0-1.noarch.rpm", "beta-1.0-1.noarch.rpm"] {
        std::fs::copy(
            w.upstream().join("Packages").join(f),
            secret.join("Packages").join(f),
        )
        .unwrap();
    }
    let other_host = w
        .nginx
        .url("upstream/repo/")
        .replace("127.0.0.1", "localhost");
    for (base, needle, allow) in [
        (
            format!("file://{}/", secret.display()),
            "is not an http(s) URL",
            None,
        ),
        (
            other_host.clone(),
            "host \"localhost\" is not allowed",
            None,
        ),
        (other_host.clone(), "", Some("localhost")),
    ] {
        let edited = text.replace(
            "<location href=",
            &format!("<location xml:base=\"{base}\" href="),
        );
        replace_primary(&w.upstream(), "xb-primary.xml", edited.as_bytes(), None);
        let mut args = vec!["xb-el9", "--xml-base", "follow", "--url"];
        let url = w.upstream_url();
        args.push(&url);
        if let Some(h) = allow {
            args.extend(["--xml-base-host", h]);
        }
        let (out, v) = sync_json(&w, &args);
        if needle.is_empty() {
            assert_eq!(v["mirrors"][0]["status"], "new_snapshot", "{v}");
            continue;
        }
        assert_eq!(out.status.code(), Some(1), "{base}: {}", stderr(&out));
        let err = v["mirrors"][0]["error"].as_str().unwrap_or_default();
        assert!(err.contains(needle), "{base}: {err}");
        assert!(!err.contains("secret/Packages"), "{err}");
        nothing_published(&w, "xb-el9");
    }
}

/// Issue 16.7: a redirect to file:// is refused with where it pointed and
/// why; a redirect loop fails at once, not after every retry.
#[test]
fn redirects_are_explained_and_loops_fail_at_once() {
    let d = tempdir();
    let up = d.path().join("repo");
    real_repo(&up);
    let fault = FaultServer::serve(d.path());
    let w = World::new();
    let base = fault.url("repo/");
    fault.always(
        "/repo/repodata/repomd.xml",
        Fault::Redirect("file:///etc/passwd".into()),
    );
    let (out, v) = sync_json(&w, &["redir-el9", "--url", &base]);
    assert_eq!(out.status.code(), Some(1));
    let err = v["mirrors"][0]["error"].as_str().unwrap_or_default();
    assert!(
        err.contains("redirected to file:///etc/passwd")
            && err.contains("only redirects to http and https"),
        "{err}"
    );
    assert_eq!(
        fault.hits("/repo/repodata/repomd.xml"),
        1,
        "refusal was retried"
    );

    fault.always(
        "/repo/repodata/repomd.xml",
        Fault::Redirect(fault.url("repo/repodata/repomd.xml")),
    );
    let (out, v) = sync_json(&w, &["redir-el9", "--url", &base]);
    assert_eq!(out.status.code(), Some(1));
    let err = v["mirrors"][0]["error"].as_str().unwrap_or_default();
    assert!(err.contains("redirect loop"), "{err}");
    assert_eq!(
        fault.hits("/repo/repodata/repomd.xml"),
        1,
        "loop was retried"
    );
    nothing_published(&w, "redir-el9");
}

/// Issue 16.9: when the first mirror of a mirrorlist is a captive portal,
/// serves a corrupt primary, lacks a package, or refuses connections, the
/// sync moves on to the next mirror (per sync or per file), succeeds, and
/// says which mirror it skipped and why. A refused connection is not retried.
#[test]
fn mirrorlist_fails_over_past_bad_mirrors() {
    let d = tempdir();
    let up = d.path().join("repo");
    real_repo(&up);
    let bad = FaultServer::serve(d.path());
    let good = Nginx::serve(d.path());
    let portal = d.path().join("portal.html");
    write(
        &portal,
        "<html><body>Please log in to the hotel wifi</body></html>\n",
    );
    let primary = std::fs::read_dir(up.join("repodata"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.contains("primary.xml"))
        .unwrap();
    let dead_port = DeadPort::new();
    let dead = dead_port.url("repo/");
    // (label, fault on the first mirror, first mirror's URL, expected reason)
    let cases = [
        (
            "portal",
            Some((
                "/repo/repodata/repomd.xml".to_owned(),
                Fault::Replace(portal.clone()),
            )),
            bad.url("repo/"),
            "unusable repomd.xml",
        ),
        (
            "corrupt",
            Some((format!("/repo/repodata/{primary}"), Fault::Corrupt)),
            bad.url("repo/"),
            "checksum mismatch",
        ),
        (
            "partial",
            Some((
                "/repo/Packages/beta-1.0-1.noarch.rpm".to_owned(),
                Fault::Status(404),
            )),
            bad.url("repo/"),
            "not found",
        ),
        ("refused", None, dead.clone(), "request failed"),
    ];
    for (i, (label, fault, first, why)) in cases.into_iter().enumerate() {
        bad.heal();
        if let Some((path, f)) = fault {
            bad.always(&path, f);
        }
        let w = World::new();
        let list = d.path().join(format!("mirrorlist-{i}"));
        write(&list, &format!("{first}\n{}\n", good.url("repo/")));
        let name = format!("fo{i}-el9");
        let list_url = format!("file://{}", list.display());
        let (out, v) = sync_json(&w, &[&name, "--mirrorlist", &list_url]);
        assert_eq!(out.status.code(), Some(0), "{label}: {}", stderr(&out));
        let r = &v["mirrors"][0];
        assert_eq!(r["status"], "new_snapshot", "{label}: {r}");
        let skipped = r["skipped_mirrors"].to_string();
        assert!(
            skipped.contains(&first) && skipped.contains(why),
            "{label}: {skipped}"
        );
        assert!(!stderr(&out).contains("retry"), "{label}: {}", stderr(&out));
        let snap = r["snapshot"].as_str().unwrap();
        run_ok(w.mgr().args(["verify", &name]));
        let dnf = Dnf::new();
        let out = dnf.install_from(
            &name,
            &format!("file://{}/{name}/{snap}/", w.root().display()),
            &["beta"],
        );
        assert!(out.status.success(), "{label}: {}", stderr(&out));
    }
}
