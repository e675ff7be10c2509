//! The status page in a real browser (issue 13): headless Chromium renders
//! the root page and a mirror page to PNG (kept in target/test-artifacts),
//! and its DOM shows every mirror, one plot point per snapshot, relative
//! links that all resolve, and upstream text escaped.

use std::path::{Path, PathBuf};
use std::process::Command;

use mirror_e2e::*;

fn chromium(args: &[&str], url: &str) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    run_ok(
        Command::new(tool("chromium"))
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .arg(url),
    )
}

fn artifacts() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every `href="..."` of `dom`, relative ones resolved against `dir`, must exist.
fn links_resolve(dom: &str, dir: &Path) -> usize {
    let mut n = 0;
    for part in dom.split("href=\"").skip(1) {
        let href = part.split('"').next().unwrap();
        if href.contains("://") {
            continue;
        }
        let target = dir.join(href.trim_end_matches('/'));
        assert!(
            target.exists(),
            "broken link {href} (from {})",
            dir.display()
        );
        n += 1;
    }
    n
}

#[test]
fn status_page_in_a_real_browser() {
    let w = World::new();
    let up = w.upstream();
    let mut snaps = Vec::new();
    for (i, v) in ["1.0", "1.1", "2.0"].iter().enumerate() {
        build_rpms(
            &up,
            "Packages",
            &[
                Pkg::new("alpha", v, "1"),
                Pkg::new(&format!("extra{i}"), "1.0", "1"),
            ],
        );
        createrepo(&up, &RepoOpts::default());
        snaps.push(w.sync("page-el9")["snapshot"].as_str().unwrap().to_owned());
    }
    build_rpms(
        &w.top.path().join("upstream/other"),
        "Packages",
        &[Pkg::new("zeta", "1.0", "1")],
    );
    createrepo(&w.top.path().join("upstream/other"), &RepoOpts::default());
    run_ok(w.mgr().args([
        "sync",
        "other-el9",
        "--url",
        &w.nginx.url("upstream/other/"),
    ]));
    // Upstream breaks, with a hostile key in its .treeinfo: the error quotes it.
    std::fs::write(
        up.join(".treeinfo"),
        "[checksums]\n<script>alert(1)</script> = not-a-checksum\n",
    )
    .unwrap();
    build_rpms(&up, "Packages", &[Pkg::new("beta", "1.0", "1")]);
    createrepo(&up, &RepoOpts::default());
    let out = run(w
        .mgr()
        .args(["sync", "page-el9", "--url", &w.upstream_url()]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    let root = w.root();
    let root_page = root.join("index.html");
    let mirror_page = root.join("page-el9/index.html");
    assert!(root_page.is_file() && mirror_page.is_file());
    let file_url = |p: &Path| format!("file://{}", p.display());

    // The root page: every mirror, links that resolve.
    let dom = stdout(&chromium(&["--dump-dom"], &file_url(&root_page)));
    assert!(
        dom.contains("page-el9") && dom.contains("other-el9"),
        "{dom}"
    );
    assert!(links_resolve(&dom, &root) >= 4, "{dom}");

    // The mirror page: one plot point per snapshot, diff pages, the
    // failed attempt with the upstream's text escaped.
    let dom = stdout(&chromium(&["--dump-dom"], &file_url(&mirror_page)));
    assert_eq!(dom.matches("class=\"pt\"").count(), snaps.len(), "{dom}");
    assert!(dom.contains("<svg"), "{dom}");
    assert!(
        links_resolve(&dom, &root.join("page-el9")) >= snaps.len() * 2,
        "{dom}"
    );
    assert!(
        dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{dom}"
    );
    assert!(
        !dom.contains("<script>"),
        "a script element reached the page: {dom}"
    );
    let diff_page = root
        .join("page-el9")
        .join(format!("diff-{}.html", snaps[1]));
    let dom = stdout(&chromium(&["--dump-dom"], &file_url(&diff_page)));
    assert!(
        dom.contains("^ alpha.noarch 0:1.0-1 -&gt; 0:1.1-1"),
        "{dom}"
    );
    links_resolve(&dom, &root.join("page-el9"));
    // The tree's contract: a mirror's only directories are base/ and snapshots.
    let mut dirs: Vec<String> = std::fs::read_dir(root.join("page-el9"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    dirs.sort();
    let mut want = vec!["base".to_owned()];
    want.extend(snaps.iter().cloned());
    want.sort();
    assert_eq!(
        dirs, want,
        "a mirror holds a directory that is not base/ or a snapshot"
    );

    // Screenshots, narrow (a phone) and wide.
    for (name, page, size) in [
        ("status-root.png", &root_page, "1280,800"),
        ("status-mirror.png", &mirror_page, "1280,1400"),
        ("status-mirror-phone.png", &mirror_page, "390,1400"),
    ] {
        let png = artifacts().join(name);
        let _ = std::fs::remove_file(&png);
        chromium(
            &[
                &format!("--screenshot={}", png.display()),
                &format!("--window-size={size}"),
            ],
            &file_url(page),
        );
        let bytes = std::fs::read(&png).unwrap_or_default();
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 5000,
            "{name}: {} bytes",
            bytes.len()
        );
    }
}
