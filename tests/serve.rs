//! `mirror-mgr serve` (issue 12): the tree over HTTP and the authenticated
//! API, with real dnf, curl, nginx as a build job's server and
//! mirror-client reading the served index.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use mirror_e2e::*;

fn serve_cmd(w: &World, cfg: Option<&Path>, extra: &[&str]) -> Command {
    let mut c = w.mgr();
    if let Some(cfg) = cfg {
        c.arg("--config").arg(cfg);
    }
    c.arg("serve").args(extra);
    c
}

fn add_token(w: &World, name: &str, scopes: &str) -> String {
    let out = run_ok(w.mgr().args(["token", "add", name, "--scopes", scopes]));
    stdout(&out).trim().to_owned()
}

/// Every file under `dir` with its bytes, private logs left out.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    files(dir)
        .into_iter()
        .filter(|f| !f.ends_with(".api-audit.jsonl"))
        .map(|f| {
            let b = std::fs::read(dir.join(&f)).unwrap_or_default();
            (f, b)
        })
        .collect()
}

/// Acceptance 1: dnf installs from the served tree; Range, HEAD and
/// conditional requests work; traversal, encoded traversal, a planted
/// symlink and private state all get 404 and nothing outside is read.
#[test]
fn files_are_served_and_nothing_else() {
    let w = World::new();
    build_rpms(
        &w.upstream(),
        "Packages",
        &[Pkg::new("alpha", "1.0", "1"), Pkg::new("beta", "1.0", "1")],
    );
    createrepo(&w.upstream(), &RepoOpts::default());
    let r = w.sync("files-el9");
    let snap = r["snapshot"].as_str().unwrap().to_owned();
    let server = Server::start(serve_cmd(&w, None, &[]));

    let dnf = Dnf::new();
    let out = dnf.install_from(
        "served",
        &server.url(&format!("files-el9/{snap}/")),
        &["alpha", "beta"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(dnf.installed_version("alpha").as_deref(), Some("1.0-1"));

    // Range and HEAD, with curl.
    let rpm = format!("files-el9/{snap}/Packages/alpha-1.0-1.noarch.rpm");
    let whole = std::fs::read(w.root().join(&rpm)).unwrap();
    let out = run_ok(
        Command::new("curl")
            .args(["-sf", "-r", "100-199"])
            .arg(server.url(&rpm)),
    );
    assert_eq!(out.stdout, whole[100..200]);
    let out = run_ok(Command::new("curl").args(["-sfI"]).arg(server.url(&rpm)));
    let head = stdout(&out);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(
        header(&head, "content-length").unwrap(),
        whole.len().to_string()
    );
    assert!(header(&head, "last-modified").is_some(), "{head}");
    let etag = header(&head, "etag").expect("an ETag").to_owned();
    let (code, _, body) = server.request(
        "GET",
        &format!("/{rpm}"),
        None,
        None,
        &[("If-None-Match", &etag)],
    );
    assert_eq!((code, body.len()), (304, 0));
    let (code, head, _) = server.request(
        "GET",
        &format!("/files-el9/{snap}/repodata/repomd.xml"),
        None,
        None,
        &[],
    );
    assert_eq!(code, 200);
    assert!(
        header(&head, "content-type").unwrap().contains("xml"),
        "{head}"
    );
    // A snapshot directory lists its contents; a directory without its slash redirects.
    let (code, _, body) = server.request(
        "GET",
        &format!("/files-el9/{snap}/Packages/"),
        None,
        None,
        &[],
    );
    assert_eq!(code, 200);
    assert!(String::from_utf8_lossy(&body).contains("alpha-1.0-1.noarch.rpm"));
    let (code, head, _) = server.request("GET", &format!("/files-el9/{snap}"), None, None, &[]);
    assert_eq!(code, 301);
    assert_eq!(
        header(&head, "location"),
        Some(format!("/files-el9/{snap}/").as_str())
    );

    // What must never be served.
    let outside = w.top.path().join("secret.txt");
    std::fs::write(&outside, "TOP-SECRET-OUTSIDE-ROOT").unwrap();
    let snapdir = w.root().join("files-el9").join(&snap);
    std::os::unix::fs::symlink(&outside, snapdir.join("Packages/planted.rpm")).unwrap();
    std::os::unix::fs::symlink("/etc", snapdir.join("etc")).unwrap();
    std::fs::create_dir_all(w.root().join("files-el9/.staging/objects")).unwrap();
    std::fs::write(w.root().join("files-el9/.staging/objects/x"), "staged").unwrap();
    for path in [
        "/../etc/passwd".to_owned(),
        "/../../../../etc/passwd".to_owned(),
        "/%2e%2e/%2e%2e/%2e%2e/etc/passwd".to_owned(),
        "/files-el9/%2E%2E/%2E%2E/secret.txt".to_owned(),
        "/files-el9/..%2f..%2fsecret.txt".to_owned(),
        format!("/files-el9/{snap}/Packages/planted.rpm"),
        format!("/files-el9/{snap}/etc/passwd"),
        "/files-el9/.staging/".to_owned(),
        "/files-el9/.staging/objects/x".to_owned(),
        "/files-el9/.lock".to_owned(),
        "/.api-tokens.json".to_owned(),
    ] {
        let (code, _, body) = server.request("GET", &path, None, None, &[]);
        let text = String::from_utf8_lossy(&body);
        assert!(
            code == 404 || code == 403 || code == 400,
            "{path}: {code} {text}"
        );
        assert!(
            !text.contains("TOP-SECRET") && !text.contains("root:") && !text.contains("staged"),
            "{path}: {text}"
        );
    }
    let (code, _, _) = server.request("DELETE", &format!("/{rpm}"), None, None, &[]);
    assert_eq!(code, 405);
    // One log line per request.
    let log = server.stop();
    assert!(log.contains(&format!("GET /{rpm} 206")), "{log}");
}

/// Acceptance 2: two CI jobs vote over HTTP, the policy promotes, and
/// mirror-client reads the promoted channel from the served tree; a
/// missing token is 401, a vote token on promote 403, and neither changes
/// anything. Bad input is a 4xx naming what is wrong.
#[test]
fn votes_promote_and_auth() {
    let w = World::new();
    build_rpms(&w.upstream(), "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    createrepo(&w.upstream(), &RepoOpts::default());
    let cfg = w.top.path().join("m.yaml");
    write(
        &cfg,
        &format!(
            "channels:\n  tested:\n    require: [unit, integration]\nmirrors:\n  - name: voted-el9\n    baseurl: {}\n",
            w.upstream_url()
        ),
    );
    let snap = w.sync("voted-el9")["snapshot"].as_str().unwrap().to_owned();
    let unit = add_token(&w, "ci-unit", "vote");
    let integ = add_token(&w, "ci-integration", "vote");
    let release = add_token(&w, "release", "promote");
    let tokens = std::fs::read_to_string(w.root().join(".api-tokens.json")).unwrap();
    assert!(!tokens.contains(&unit[4..]) && !tokens.contains(&release[4..]));

    let server = Server::start(serve_cmd(&w, Some(&cfg), &[]));
    let vote = |job: &str| {
        format!(
            r#"{{"set": {{"voted-el9": "{}"}}, "job": "{job}", "result": "pass", "url": "https://ci.example/{job}/1"}}"#,
            w.snapshot_url("voted-el9", &snap).trim_end_matches('/')
        )
    };

    // Refusals change nothing.
    let before = tree(&w.root());
    let (code, v) = server.json("POST", "/api/v1/votes", None, Some(&vote("unit")));
    assert_eq!(code, 401, "{v}");
    let (code, v) = server.json(
        "POST",
        "/api/v1/votes",
        Some("mmt_forged"),
        Some(&vote("unit")),
    );
    assert_eq!(code, 401, "{v}");
    let promote =
        format!(r#"{{"channel": "tested", "mirror": "voted-el9", "snapshot": "{snap}"}}"#);
    let (code, v) = server.json("POST", "/api/v1/promote", Some(&unit), Some(&promote));
    assert_eq!(code, 403, "{v}");
    assert!(v["error"].as_str().unwrap().contains("promote"), "{v}");
    for (body, want, needle) in [
        ("{not json", 400, "malformed JSON"),
        (
            r#"{"set": {"voted-el9": "2020-01-01-00-00"}, "job": "unit", "result": "pass"}"#,
            404,
            "no snapshot",
        ),
        (
            r#"{"set": {"nope-el9": "2020-01-01-00-00"}, "job": "unit", "result": "pass"}"#,
            404,
            "no snapshot",
        ),
        (
            r#"{"set": {"voted-el9": "x"}, "job": "unit", "result": "maybe"}"#,
            400,
            "pass",
        ),
        (
            r#"{"set": {}, "job": "unit", "result": "pass"}"#,
            400,
            "names no snapshot",
        ),
    ] {
        let (code, v) = server.json("POST", "/api/v1/votes", Some(&unit), Some(body));
        assert_eq!(code, want, "{body}: {v}");
        assert!(
            v["error"].as_str().unwrap_or_default().contains(needle),
            "{body}: {v}"
        );
    }
    let big = format!(r#"{{"notes": "{}"}}"#, "x".repeat(2 << 20));
    let (code, v) = server.json("POST", "/api/v1/votes", Some(&unit), Some(&big));
    assert_eq!(code, 413, "{v}");
    let (code, v) = server.json(
        "POST",
        "/api/v1/promote",
        Some(&release),
        Some(r#"{"channel": "Bad Name!", "mirror": "voted-el9", "snapshot": "x"}"#),
    );
    assert_eq!(code, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("channel"), "{v}");
    let (code, _) = server.json("GET", "/api/v1/nothing-here", None, None);
    assert_eq!(code, 404);
    assert_eq!(
        tree(&w.root()),
        before,
        "a refused request changed the tree"
    );

    // Two jobs pass: the policy promotes.
    let (code, v) = server.json("POST", "/api/v1/votes", Some(&unit), Some(&vote("unit")));
    assert_eq!(code, 201, "{v}");
    assert_eq!(v["promotions"].as_array().unwrap().len(), 0, "{v}");
    let set_id = v["set_id"].as_str().unwrap().to_owned();
    let (code, v) = server.json(
        "POST",
        "/api/v1/votes",
        Some(&integ),
        Some(&vote("integration")),
    );
    assert_eq!(code, 201, "{v}");
    assert_eq!(v["promotions"][0]["channel"], "tested", "{v}");
    assert_eq!(v["promotions"][0]["by"], "token:ci-integration", "{v}");
    let (code, v) = server.json("GET", &format!("/api/v1/votes?set={set_id}"), None, None);
    assert_eq!(code, 200);
    assert_eq!(v["votes"].as_array().unwrap().len(), 2, "{v}");
    let (_, v) = server.json("GET", "/api/v1/channels", None, None);
    assert_eq!(v["tested"]["pointers"]["voted-el9"], snap.as_str(), "{v}");
    let (_, v) = server.json("GET", "/api/v1/mirrors/voted-el9", None, None);
    assert_eq!(v["latest"], snap.as_str(), "{v}");
    assert_eq!(v["channels"]["tested"], snap.as_str(), "{v}");
    let (code, _) = server.json("GET", "/api/v1/mirrors/nope-el9", None, None);
    assert_eq!(code, 404);

    // mirror-client reads the promoted channel from the served tree, dnf installs.
    let job = w.top.path().join("job.repo");
    write(
        &job,
        &format!(
            "[voted-el9]\nname=x\nbaseurl={}\ngpgcheck=0\n",
            w.upstream_url()
        ),
    );
    run_ok(
        Command::new(bin("mirror-client"))
            .args(["--channel", "tested", "--mirrors"])
            .arg(server.url("all_latest.json"))
            .arg(&job),
    );
    let text = std::fs::read_to_string(&job).unwrap();
    let want = format!("{}/voted-el9/{snap}", w.base_url());
    assert!(text.contains(&want), "{text}");
    let dnf = Dnf::new();
    let out = dnf.install_from("c", &server.url(&format!("voted-el9/{snap}/")), &["alpha"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // Every write, refused or not, is in the audit log; tokens never are.
    let audit = std::fs::read_to_string(w.root().join(".api-audit.jsonl")).unwrap();
    assert!(audit.lines().count() >= 10, "{audit}");
    assert!(audit.contains("\"token\":\"ci-integration\"") && audit.contains("\"status\":403"));
    assert!(
        !audit.contains(&unit[4..]) && !audit.contains(&integ[4..]),
        "{audit}"
    );

    // Rollbacks need admin: of latest, and of a channel.
    build_rpms(&w.upstream(), "Packages", &[Pkg::new("alpha", "2.0", "1")]);
    createrepo(&w.upstream(), &RepoOpts::default());
    let s2 = w.sync("voted-el9")["snapshot"].as_str().unwrap().to_owned();
    let admin = add_token(&w, "ops", "admin");
    let (code, _) = server.json(
        "POST",
        "/api/v1/mirrors/voted-el9/rollback",
        Some(&release),
        Some("{}"),
    );
    assert_eq!(code, 403);
    let (code, v) = server.json(
        "POST",
        "/api/v1/mirrors/voted-el9/rollback",
        Some(&admin),
        Some(r#"{"to": "1999-01-01-00-00"}"#),
    );
    assert_eq!(code, 404, "{v}");
    let (code, v) = server.json(
        "POST",
        "/api/v1/mirrors/voted-el9/rollback",
        Some(&admin),
        None,
    );
    assert_eq!(code, 200, "{v}");
    assert_eq!(
        (v["previous"].as_str(), v["latest"].as_str()),
        (Some(s2.as_str()), Some(snap.as_str())),
        "{v}"
    );
    assert_eq!(
        latest(&w.root().join("voted-el9")).as_deref(),
        Some(snap.as_str())
    );
    let idx = std::fs::read_to_string(w.root().join("all_latest.json")).unwrap();
    assert!(idx.contains(&format!("voted-el9/{snap}")), "{idx}");
    let (code, v) = server.json(
        "POST",
        "/api/v1/mirrors/voted-el9/rollback",
        Some(&admin),
        Some(r#"{"channel": "tested"}"#),
    );
    assert_eq!(code, 409, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("no snapshot older"),
        "{v}"
    );
    let body = format!(r#"{{"channel": "tested", "mirror": "voted-el9", "snapshot": "{s2}"}}"#);
    let (code, v) = server.json("POST", "/api/v1/promote", Some(&release), Some(&body));
    assert_eq!(code, 200, "{v}");
    let (code, v) = server.json(
        "POST",
        "/api/v1/mirrors/voted-el9/rollback",
        Some(&admin),
        Some(r#"{"channel": "tested"}"#),
    );
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["set"]["voted-el9"], snap.as_str(), "{v}");
    assert_eq!(v["by"], "token:ops", "{v}");

    // Revoked tokens fail at once.
    run_ok(w.mgr().args(["token", "revoke", "ci-unit"]));
    let (code, _) = server.json("POST", "/api/v1/votes", Some(&unit), Some(&vote("unit")));
    assert_eq!(code, 401);
}

/// Hold a mirror's writer lock (as a running sync or gc would).
fn hold_lock(w: &World, mirror: &str) -> std::fs::File {
    let dir = w.root().join(mirror);
    std::fs::create_dir_all(&dir).unwrap();
    let f = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".lock"))
        .unwrap();
    f.lock().unwrap();
    f
}

/// Acceptance 3: a build job serves a repo on its own nginx and asks for
/// it to be imported; one job per mirror at a time; file:// refused. And
/// SIGTERM waits for a running sync.
#[test]
fn remote_import() {
    let w = World::new();
    let build = tempdir();
    let repo = build.path().join("repo");
    build_rpms(&repo, "Packages", &[Pkg::new("built", "0.1", "1")]);
    createrepo(&repo, &RepoOpts::default());
    let build_server = Nginx::serve(build.path());
    let cfg = w.top.path().join("m.yaml");
    write(
        &cfg,
        &format!(
            "mirrors:\n  - name: builds-el9\n    import: true\n  - name: fixed-el9\n    baseurl: {}\n",
            w.upstream_url()
        ),
    );
    let importer = add_token(&w, "build-farm", "import");
    let voter = add_token(&w, "ci", "vote");
    let server = Server::start(serve_cmd(&w, Some(&cfg), &[]));
    let body = format!(r#"{{"url": "{}"}}"#, build_server.url("repo/"));

    let (code, _) = server.json(
        "POST",
        "/api/v1/mirrors/builds-el9/sync",
        Some(&voter),
        Some(&body),
    );
    assert_eq!(code, 403);
    for (mirror, body, want) in [
        ("builds-el9", r#"{"url": "file:///etc/"}"#.to_owned(), 400),
        ("builds-el9", "{}".to_owned(), 400),
        ("fixed-el9", body.clone(), 400),
        ("unknown-el9", body.clone(), 404),
    ] {
        let (code, v) = server.json(
            "POST",
            &format!("/api/v1/mirrors/{mirror}/sync"),
            Some(&importer),
            Some(&body),
        );
        assert_eq!(code, want, "{mirror} {body}: {v}");
    }
    assert!(snapshots(&w.root().join("builds-el9")).is_empty());

    // While the mirror is locked the job waits; a second request gets it back.
    let lock = hold_lock(&w, "builds-el9");
    let (code, first) = server.json(
        "POST",
        "/api/v1/mirrors/builds-el9/sync",
        Some(&importer),
        Some(&body),
    );
    assert_eq!(code, 202, "{first}");
    assert_eq!(first["state"], "running");
    let (code, again) = server.json(
        "POST",
        "/api/v1/mirrors/builds-el9/sync",
        Some(&importer),
        Some(&body),
    );
    assert_eq!(code, 202);
    assert_eq!(again["id"], first["id"], "{again}");
    assert_eq!(again["new"], false);
    drop(lock);
    let done = server.wait_job(first["id"].as_u64().unwrap());
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["report"]["status"], "new_snapshot", "{done}");
    let snaps = snapshots(&w.root().join("builds-el9"));
    assert_eq!(snaps.len(), 1);
    assert!(
        build_server
            .requests()
            .iter()
            .any(|r| r.contains("built-0.1-1.noarch.rpm"))
    );
    let (_, v) = server.json("GET", "/api/v1/mirrors/builds-el9/snapshots", None, None);
    assert_eq!(v[0]["name"], snaps[0].as_str(), "{v}");
    assert_eq!(v[0]["latest"], true, "{v}");

    // SIGTERM while a sync runs: the server waits for it, then exits.
    let lock = hold_lock(&w, "fixed-el9");
    build_rpms(&w.upstream(), "Packages", &[Pkg::new("fixed", "1", "1")]);
    createrepo(&w.upstream(), &RepoOpts::default());
    let (code, v) = server.json(
        "POST",
        "/api/v1/mirrors/fixed-el9/sync",
        Some(&importer),
        None,
    );
    assert_eq!(code, 202, "{v}");
    let mut server = server;
    let pid = rustix::process::Pid::from_raw(server.child.id().cast_signed()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "exited with a sync running"
    );
    drop(lock);
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = server.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "serve did not exit after its sync"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    assert_eq!(snapshots(&w.root().join("fixed-el9")).len(), 1);
    let log = server.stop();
    assert!(log.contains("waiting for 1 running sync"), "{log}");
}

/// Acceptance 4: 200 concurrent reads and 20 concurrent votes while a sync
/// runs: no error responses, every vote recorded.
#[test]
fn concurrent_reads_and_votes_during_a_sync() {
    let w = World::new();
    let pkgs: Vec<Pkg> = (0..40)
        .map(|i| Pkg::new(&format!("p{i:02}"), "1", "1"))
        .collect();
    build_rpms(&w.upstream(), "Packages", &pkgs);
    createrepo(&w.upstream(), &RepoOpts::default());
    let cfg = w.top.path().join("m.yaml");
    write(
        &cfg,
        &format!(
            "channels:\n  tested:\n    require: [j00]\nmirrors:\n  - name: busy-el9\n    baseurl: {}\n",
            w.upstream_url()
        ),
    );
    let snap = w.sync("busy-el9")["snapshot"].as_str().unwrap().to_owned();
    let token = add_token(&w, "ci", "vote,import");
    let server = Server::start(serve_cmd(&w, Some(&cfg), &[]));
    // A sync running meanwhile (upstream changed: a real one).
    build_rpms(&w.upstream(), "Packages", &[Pkg::new("late", "1", "1")]);
    createrepo(&w.upstream(), &RepoOpts::default());
    let (code, job) = server.json("POST", "/api/v1/mirrors/busy-el9/sync", Some(&token), None);
    assert_eq!(code, 202, "{job}");
    let port = server.port;
    let mut handles = Vec::new();
    for i in 0..200 {
        let path = match i % 4 {
            0 => "/api/v1/mirrors".to_owned(),
            1 => "/api/v1/mirrors/busy-el9/snapshots".to_owned(),
            2 => "/all_latest.json".to_owned(),
            _ => format!("/busy-el9/{snap}/repodata/repomd.xml"),
        };
        handles.push(std::thread::spawn(move || {
            let (code, _, _) = http_request(port, "GET", &path, None, None, &[]);
            (path, code)
        }));
    }
    for j in 0..20 {
        let token = token.clone();
        let body =
            format!(r#"{{"set": {{"busy-el9": "{snap}"}}, "job": "j{j:02}", "result": "pass"}}"#);
        handles.push(std::thread::spawn(move || {
            let (code, _, _) = http_request(
                port,
                "POST",
                "/api/v1/votes",
                Some(&token),
                Some(&body),
                &[],
            );
            ("vote".to_owned(), code)
        }));
    }
    for h in handles {
        let (what, code) = h.join().unwrap();
        assert!(code == 200 || code == 201, "{what}: {code}");
    }
    let set_id = {
        let (_, v) = server.json(
            "POST",
            "/api/v1/votes",
            Some(&token),
            Some(&format!(
                r#"{{"set": {{"busy-el9": "{snap}"}}, "job": "last", "result": "pass"}}"#
            )),
        );
        v["set_id"].as_str().unwrap().to_owned()
    };
    let (_, v) = server.json("GET", &format!("/api/v1/votes?set={set_id}"), None, None);
    let jobs: std::collections::BTreeSet<String> = v["votes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["job"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(jobs.len(), 21, "{v}");
    let done = server.wait_job(job["id"].as_u64().unwrap());
    assert_eq!(done["state"], "succeeded", "{done}");
    let out = run(w.mgr().arg("--config").arg(&cfg).arg("verify"));
    assert!(out.status.success(), "{}", stdout(&out));
}

/// The bundled nginx site (examples/nginx-serve-tls.conf) terminates TLS in
/// front of `serve`: dnf installs over https, and an API write passes
/// through with its token.
#[test]
fn behind_the_example_tls_proxy() {
    let w = World::new();
    build_rpms(&w.upstream(), "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    createrepo(&w.upstream(), &RepoOpts::default());
    let snap = w.sync("tls-el9")["snapshot"].as_str().unwrap().to_owned();
    let cfg = w.top.path().join("m.yaml");
    write(&cfg, "channels:\n  tested:\n    require: [tls-job]\n");
    let token = add_token(&w, "tls-ci", "vote");
    let server = Server::start(serve_cmd(&w, Some(&cfg), &[]));

    let pki = w.top.path().join("pki");
    std::fs::create_dir_all(&pki).unwrap();
    run_ok(
        Command::new(tool("openssl"))
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args([
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .arg("-keyout")
            .arg(pki.join("key.pem"))
            .arg("-out")
            .arg(pki.join("cert.pem")),
    );
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/nginx-serve-tls.conf"),
    )
    .unwrap();
    // The TLS server block, as shipped, pointed at this test's ports and certificate.
    let start = example.find("server {").unwrap();
    let mut depth = 0;
    let mut end = start;
    for (i, c) in example[start..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    end = start + i + 1;
                    break;
                }
            }
            _ => {}
        }
    }
    let block = example[start..end].to_owned();
    let serve_port = server.port;
    let pki2 = pki.clone();
    let proxy = Nginx::serve_server(&move |port| {
        block
            .replace("listen 443 ssl", &format!("listen 127.0.0.1:{port} ssl"))
            .replace("127.0.0.1:8080", &format!("127.0.0.1:{serve_port}"))
            .replace(
                "/etc/pki/tls/certs/mirrors.example.org.crt",
                &pki2.join("cert.pem").display().to_string(),
            )
            .replace(
                "/etc/pki/tls/private/mirrors.example.org.key",
                &pki2.join("key.pem").display().to_string(),
            )
    });
    let https = |path: &str| format!("https://127.0.0.1:{}/{path}", proxy.port);
    let ca = pki.join("cert.pem");

    let dnf = Dnf::new();
    let mut c = dnf.cmd();
    c.arg("--setopt=reposdir=/nonexistent")
        .arg(format!(
            "--repofrompath=tls,{}",
            https(&format!("tls-el9/{snap}/"))
        ))
        .args(["--repo", "tls", "--setopt=tls.gpgcheck=0"])
        .arg(format!("--setopt=tls.sslcacert={}", ca.display()))
        .args(["install", "alpha"]);
    let out = run(&mut c);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(dnf.installed_version("alpha").as_deref(), Some("1.0-1"));

    let body = format!(r#"{{"set": {{"tls-el9": "{snap}"}}, "job": "tls-job", "result": "pass"}}"#);
    let out = run_ok(
        Command::new("curl")
            .args(["-sS", "--fail-with-body", "--cacert"])
            .arg(&ca)
            .args(["-H", &format!("Authorization: Bearer {token}")])
            .args(["-H", "Content-Type: application/json", "-d", &body])
            .arg(https("api/v1/votes")),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["promotions"][0]["channel"], "tested", "{v}");
    assert_eq!(
        std::fs::read_to_string(w.root().join("tls-el9/tested.txt"))
            .unwrap()
            .trim(),
        snap
    );
}
