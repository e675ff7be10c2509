//! `mirror-client` against a hostile or broken mirror map, over the real
//! binary: values that try to add lines to a `.repo` file (real dnf must
//! still refuse an unsigned package), to break out of a mock config (real
//! Python must `exec` it to the same `config_opts`), remote maps that try
//! to read local files, endless bodies, a FIFO with no writer, and an empty
//! map under `--strict`.

use std::io::Write as _;
use std::path::Path;
use std::process::Command;

use mirror_e2e::*;

/// A map file holding `{"<id>": value}` (JSON, so any string can be said).
fn map_file(dir: &Path, id: &str, value: &str) -> std::path::PathBuf {
    let p = dir.join("map.json");
    write(
        &p,
        &serde_json::json!({"latest_ci_repos": {id: value}}).to_string(),
    );
    p
}

/// The values an attacker who controls one index entry would try.
const HOSTILE: &[&str] = &[
    "http://m/x\ngpgcheck=0\n[main]",
    "http://m/x\rgpgcheck=0",
    "http://m/x\"\"\"+open('PWNED','w').write('1')+\"\"\"",
    "http://m/x'''+open('PWNED','w').write('1')+'''",
    "http://m/a b",
    "http://m/a,other-id,http://evil/",
    "http://m/x\\\"\\\"\\\"",
    "",
];

/// Issue 16.1: a value with `\n` must not switch off gpgcheck. The job's
/// repo is signed-only (gpgcheck=1) and the package is unsigned: dnf
/// refuses it before the attempt and still refuses it after.
#[test]
fn injected_lines_cannot_switch_off_gpgcheck() {
    let w = World::new();
    build_rpms(&w.upstream(), "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    createrepo(&w.upstream(), &RepoOpts::default());
    let dnf = Dnf::new();
    let d = dnf.dir.path().display();
    let conf = dnf.dir.path().join("job.conf");
    let text = format!(
        "[main]\ncachedir={d}/cache\nlogdir={d}/log\npersistdir={d}/persist\nreposdir=/nonexistent\nmetadata_expire=0\n\n\
         [demo-el9]\nname=demo\nbaseurl={}\ngpgcheck=1\n",
        w.upstream_url()
    );
    write(&conf, &text);
    let install = || {
        let mut c = dnf.cmd();
        c.arg("-c").arg(&conf).args(["install", "alpha"]);
        run(&mut c)
    };
    let before = install();
    assert!(
        !before.status.success(),
        "an unsigned package must be refused"
    );
    assert!(
        stderr(&before).contains("not signed") || stdout(&before).contains("not signed"),
        "{}",
        stderr(&before)
    );

    let map = map_file(
        dnf.dir.path(),
        "demo-el9",
        &format!("{}\ngpgcheck=0\n[main]", w.upstream_url()),
    );
    let out = run(client().arg("--mirrors").arg(&map).arg(&conf));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("\"demo-el9\"") && err.contains("U+000A") && err.contains("job.conf"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), text);
    let after = install();
    assert!(!after.status.success(), "dnf installed an unsigned package");
    assert!(
        stderr(&after).contains("not signed") || stdout(&after).contains("not signed"),
        "{}",
        stderr(&after)
    );
    assert!(dnf.installed_version("alpha").is_none());
}

/// `config_opts` of a mock config as real Python `exec`s it, as JSON.
fn exec_mock(cfg: &Path, cwd: &Path) -> String {
    let py = "import json,sys\nco={}\nexec(open(sys.argv[1]).read(), {'config_opts': co})\nprint(json.dumps(co, sort_keys=True))\n";
    let out = run_ok(
        Command::new(tool("python3"))
            .arg("-c")
            .arg(py)
            .arg(cfg)
            .current_dir(cwd),
    );
    stdout(&out)
}

/// Issue 16.1 against every format: each hostile value is refused with an
/// error naming its key, every file stays byte-identical, the mock config
/// `exec`s to the same `config_opts` and runs no injected code, and the
/// same files are rewritten when the value is a good URL.
#[test]
fn hostile_values_leave_ini_repos_and_mock_files_untouched() {
    let dir = tempdir();
    let d = dir.path();
    let files = [
        (
            "job.repo",
            "[demo-el9]\nname=demo\nbaseurl=http://up/\ngpgcheck=1\n",
        ),
        ("job.repos", "demo-el9,http://up/\nother,http://up2/\n"),
        (
            "epel-9.cfg",
            "config_opts['root'] = 'demo'\nconfig_opts['dnf.conf'] = \"\"\"\n[main]\nkeepcache=1\n\n[demo-el9]\nname=demo\nmirrorlist=http://ml/\ngpgcheck=1\n\"\"\"\nconfig_opts['other'] = '''x'''\n",
        ),
    ];
    for (name, text) in files {
        write(&d.join(name), text);
    }
    let mock_before = exec_mock(&d.join("epel-9.cfg"), d);
    for value in HOSTILE {
        let map = map_file(d, "demo-el9", value);
        let out = run(client()
            .arg("--mirrors")
            .arg(&map)
            .args(files.map(|(n, _)| d.join(n))));
        assert_eq!(out.status.code(), Some(1), "{value:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("mirror map entry \"demo-el9\"") && err.contains("refused"),
            "{value:?}: {err}"
        );
        for (name, text) in files {
            assert_eq!(
                std::fs::read_to_string(d.join(name)).unwrap(),
                text,
                "{value:?} changed {name}"
            );
            assert!(err.contains(name), "{value:?}: {name} not reported: {err}");
        }
        assert_eq!(exec_mock(&d.join("epel-9.cfg"), d), mock_before);
        assert!(!d.join("PWNED").exists(), "{value:?} ran code");
    }
    // The same files take a good value.
    let map = map_file(d, "demo-el9", "http://m.example/demo-el9/2026-11-22-00-00");
    run_ok(
        client()
            .arg("--mirrors")
            .arg(&map)
            .args(files.map(|(n, _)| d.join(n))),
    );
    for (name, _) in files {
        let t = std::fs::read_to_string(d.join(name)).unwrap();
        assert!(
            t.contains("http://m.example/demo-el9/2026-11-22-00-00"),
            "{t}"
        );
    }
    let mock_after: serde_json::Value =
        serde_json::from_str(&exec_mock(&d.join("epel-9.cfg"), d)).unwrap();
    assert!(
        mock_after["dnf.conf"]
            .as_str()
            .unwrap()
            .contains("baseurl=http://m.example/demo-el9/2026-11-22-00-00\n"),
        "{mock_after}"
    );
}

/// Issue 16.2: a map served over http cannot make the client read local
/// files, even ones that hold a valid map.
#[test]
fn remote_map_cannot_include_local_files() {
    let w = World::new();
    let local = w.top.path().join("local.json");
    write(&local, r#"{"demo-el9": "http://evil.example/x"}"#);
    for inc in [
        format!("file://{}", local.display()),
        "file:///dev/zero".to_owned(),
        "data:application/json,{\"demo-el9\":\"http://evil.example/x\"}".to_owned(),
    ] {
        write(
            &w.top.path().join("map.yaml"),
            &format!("include:\n  - {}\n", serde_json::json!(inc)),
        );
        let job = w.top.path().join("job.repo");
        let text = "[demo-el9]\nbaseurl=http://up/\n";
        write(&job, text);
        let url = w.nginx.url("map.yaml");
        let out = run(client().args(["--mirrors", &url]).arg(&job));
        assert_eq!(out.status.code(), Some(0), "{inc}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("may only include http(s) URLs") && err.contains(&url),
            "{inc}: {err}"
        );
        assert_eq!(std::fs::read_to_string(&job).unwrap(), text);
        let out = run(client().args(["--strict", "--mirrors", &url]).arg(&job));
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    }
}

/// Issue 16.3: no source can exhaust memory or hang the client: an endless
/// HTTP body, `/dev/zero` included from a local map, a FIFO nobody writes.
#[test]
fn endless_sources_are_cut_off() {
    // An HTTP server whose body never ends (bounded here at 512 MiB).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = std::io::Read::read(&mut s, &mut buf);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"a\": \"");
        let chunk = vec![b'a'; 64 * 1024];
        for _ in 0..8192 {
            if s.write_all(&chunk).is_err() {
                return true;
            }
        }
        false
    });
    let dir = tempdir();
    let job = dir.path().join("job.repo");
    let text = "[a]\nbaseurl=http://up/\n";
    write(&job, text);
    let url = format!("http://127.0.0.1:{port}/map.json");
    let out = run(client()
        .args(["--max-map-size", "2M", "--retries", "0", "--mirrors", &url])
        .arg(&job));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("larger than the 2097152 byte limit"),
        "{}",
        stderr(&out)
    );
    assert!(
        server.join().unwrap(),
        "the client read the whole endless body"
    );
    assert_eq!(std::fs::read_to_string(&job).unwrap(), text);

    // /dev/zero included by a local map.
    let local = dir.path().join("map.yaml");
    write(&local, "include: [/dev/zero]\n");
    let out = run(client()
        .args(["--max-map-size", "1M", "--mirrors"])
        .arg(&local)
        .arg(&job));
    assert!(
        stderr(&out).contains("larger than the 1048576 byte limit"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&job).unwrap(), text);

    // A FIFO with no writer: --timeout covers file sources too.
    let fifo = dir.path().join("fifo.json");
    run_ok(Command::new(tool("mkfifo")).arg(&fifo));
    let out = run(client()
        .args(["--timeout", "1", "--strict", "--mirrors"])
        .arg(&fifo)
        .arg(&job));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing within"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&job).unwrap(), text);
}

/// Issue 16.4: an empty map is a failure under --strict and a warning
/// without it; files stay untouched either way.
#[test]
fn empty_map_fails_under_strict() {
    let dir = tempdir();
    let job = dir.path().join("job.repo");
    let text = "[a]\nbaseurl=http://up/\n";
    write(&job, text);
    for body in ["{}", "{\"latest_ci_repos\": {}}", "data:text/plain,{}"] {
        let map = if body.starts_with("data:") {
            std::path::PathBuf::from(body)
        } else {
            let p = dir.path().join("map.json");
            write(&p, body);
            p
        };
        let out = run(client()
            .arg("--strict")
            .arg("--mirrors")
            .arg(&map)
            .arg(&job));
        assert_eq!(out.status.code(), Some(3), "{body}: {}", stderr(&out));
        assert!(stderr(&out).contains("no usable entry"), "{}", stderr(&out));
        let out = run(client().arg("--mirrors").arg(&map).arg(&job));
        assert_eq!(out.status.code(), Some(0), "{body}: {}", stderr(&out));
        assert!(stderr(&out).contains("warning"), "{}", stderr(&out));
        assert_eq!(std::fs::read_to_string(&job).unwrap(), text);
        let out = run(client().arg("show").arg("--mirrors").arg(&map));
        assert_eq!(out.status.code(), Some(3), "{body}: {}", stderr(&out));
    }
}

/// Issue 21, item 11: a map nested 100,000 deep (200 KB) is refused before
/// parsing, well within --timeout, and a body that does not parse is asked
/// for once, not retried.
#[test]
fn deeply_nested_maps_are_refused_fast_and_not_retried() {
    let n = 100_000;
    let deep = format!("latest_ci_repos: {}x{}\n", "{a: ".repeat(n), "}".repeat(n));
    let top = tempdir();
    std::fs::write(top.path().join("deep.yaml"), &deep).unwrap();
    std::fs::write(
        top.path().join("broken.json"),
        b"{\"latest_ci_repos\": {\"a\": ",
    )
    .unwrap();
    let server = mirror_e2e::fault::FaultServer::serve(top.path());
    let job = top.path().join("job.repo");
    let text = "[a]\nbaseurl=http://up/\n";
    write(&job, text);
    for (file, why) in [
        ("deep.yaml", "nested deeper than 64 levels"),
        ("broken.json", "invalid body"),
    ] {
        let started = std::time::Instant::now();
        let out = run(client()
            .args(["--timeout", "5", "--retries", "3", "--strict", "--mirrors"])
            .arg(server.url(file))
            .arg(&job));
        let took = started.elapsed();
        assert_eq!(out.status.code(), Some(3), "{file}: {}", stderr(&out));
        assert!(stderr(&out).contains(why), "{file}: {}", stderr(&out));
        assert!(
            took < std::time::Duration::from_secs(4),
            "{file}: took {took:?}"
        );
        assert_eq!(
            server.hits(&format!("/{file}")),
            1,
            "{file} was asked for again"
        );
        assert_eq!(std::fs::read_to_string(&job).unwrap(), text);
    }
    // The same from a local file, and from mirror-mgr's own YAML readers.
    let local = top.path().join("deep.yaml");
    let out = run(client()
        .args(["--strict", "--mirrors"])
        .arg(&local)
        .arg(&job));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("nested deeper"), "{}", stderr(&out));
    let cfg = top.path().join("m.yaml");
    write(
        &cfg,
        &format!("mirrors: {}x{}\n", "[".repeat(n), "]".repeat(n)),
    );
    let out = run(Command::new(bin("mirror-mgr"))
        .arg("check-config")
        .arg("--config")
        .arg(&cfg));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("m.yaml") && stderr(&out).contains("nested deeper"),
        "{}",
        stderr(&out)
    );
}
