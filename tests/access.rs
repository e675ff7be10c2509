//! Upstream access with real parts (issue 9): nginx over TLS requiring
//! client certificates made by openssl, nginx basic auth, and a real
//! tinyproxy with proxy authentication. Failures publish nothing and say
//! which file, URL or option is at fault; passwords appear in no output.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mirror_e2e::*;

fn openssl(dir: &Path, args: &[&str]) {
    run_ok(Command::new(tool("openssl")).args(args).current_dir(dir));
}

/// A new RSA key `<base>.key` and its signing request `<base>.csr`.
fn key_and_csr(dir: &Path, base: &str) {
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{base}.key"),
            "-out",
            &format!("{base}.csr"),
            "-subj",
            &format!("/CN={base}"),
        ],
    );
}

/// A CA, a server certificate for 127.0.0.1, and a client certificate.
fn make_pki(dir: &Path, name: &str) {
    let ext = dir.join(format!("{name}-ext.cnf"));
    std::fs::write(
        &ext,
        "[srv]\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n[cli]\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    let ca = format!("{name}-ca");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{ca}.key"),
            "-out",
            &format!("{ca}.crt"),
            "-days",
            "3",
            "-subj",
            &format!("/CN={ca}"),
        ],
    );
    for (who, section) in [("server", "srv"), ("client", "cli")] {
        let base = format!("{name}-{who}");
        key_and_csr(dir, &base);
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{base}.csr"),
                "-CA",
                &format!("{ca}.crt"),
                "-CAkey",
                &format!("{ca}.key"),
                "-CAcreateserial",
                "-out",
                &format!("{base}.crt"),
                "-days",
                "2",
                "-extfile",
                ext.to_str().unwrap(),
                "-extensions",
                section,
            ],
        );
    }
}

/// A client certificate of CA `name` that expired in 2020.
fn make_expired(dir: &Path, name: &str) -> PathBuf {
    let ca_dir = dir.join("ca-db");
    std::fs::create_dir_all(ca_dir.join("new")).unwrap();
    std::fs::write(ca_dir.join("index.txt"), "").unwrap();
    std::fs::write(ca_dir.join("serial"), "1000\n").unwrap();
    let cnf = dir.join("ca.cnf");
    std::fs::write(
        &cnf,
        format!(
            "[ca]\ndefault_ca=d\n[d]\ndatabase={db}/index.txt\nnew_certs_dir={db}/new\nserial={db}/serial\ndefault_md=sha256\npolicy=p\nx509_extensions=e\n[p]\ncommonName=supplied\n[e]\nextendedKeyUsage=clientAuth\n",
            db = ca_dir.display()
        ),
    )
    .unwrap();
    key_and_csr(dir, "old");
    openssl(
        dir,
        &[
            "ca",
            "-batch",
            "-config",
            cnf.to_str().unwrap(),
            "-cert",
            &format!("{name}-ca.crt"),
            "-keyfile",
            &format!("{name}-ca.key"),
            "-in",
            "old.csr",
            "-out",
            "old.crt",
            "-startdate",
            "20200101000000Z",
            "-enddate",
            "20200102000000Z",
            "-notext",
        ],
    );
    dir.join("old.crt")
}

/// A repo to serve, under `<top>/repo`.
fn serve_tree() -> tempfile::TempDir {
    let top = tempdir();
    let up = top.path().join("repo");
    build_rpms(&up, "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    createrepo(&up, &RepoOpts::default());
    top
}

fn sync_cfg(root: &Path, cfg: &Path, name: &str, retries: &str) -> (std::process::Output, String) {
    let out = run(mgr(root, "http://mirror.example/yum")
        .arg("--config")
        .arg(cfg)
        .args(["-vv", "--json", "sync", name, "--retries", retries]));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    (out, all)
}

/// Acceptance 1: nginx over TLS with `ssl_verify_client on`.
#[test]
fn tls_client_certificates() {
    let top = serve_tree();
    let pki = top.path().join("pki");
    std::fs::create_dir_all(&pki).unwrap();
    make_pki(&pki, "a");
    make_pki(&pki, "b");
    let expired = make_expired(&pki, "a");
    let p = |f: &str| pki.join(f).display().to_string();
    let root_dir = top.path().display().to_string();
    let nginx = Nginx::serve_server(&|port| {
        format!(
            "server {{\n listen 127.0.0.1:{port} ssl;\n ssl_certificate {};\n ssl_certificate_key {};\n ssl_client_certificate {};\n ssl_verify_client on;\n root {root_dir};\n }}\n",
            p("a-server.crt"),
            p("a-server.key"),
            p("a-ca.crt")
        )
    });
    let url = format!("https://127.0.0.1:{}/repo/", nginx.port);
    let cfg = top.path().join("m.yaml");
    let mirror = |name: &str, extra: &str| format!("  - name: {name}\n    baseurl: {url}\n{extra}");
    let cases = [
        (
            "good-el9",
            format!(
                "    sslcacert: {}\n    sslclientcert: {}\n    sslclientkey: {}\n",
                p("a-ca.crt"),
                p("a-client.crt"),
                p("a-client.key")
            ),
            None,
        ),
        (
            "nocert-el9",
            format!("    sslcacert: {}\n", p("a-ca.crt")),
            Some("HTTP 400"),
        ),
        (
            "otherca-el9",
            format!(
                "    sslcacert: {}\n    sslclientcert: {}\n    sslclientkey: {}\n",
                p("a-ca.crt"),
                p("b-client.crt"),
                p("b-client.key")
            ),
            Some("HTTP 400"),
        ),
        (
            "wrongbundle-el9",
            format!(
                "    sslcacert: {}\n    sslclientcert: {}\n    sslclientkey: {}\n",
                p("b-ca.crt"),
                p("a-client.crt"),
                p("a-client.key")
            ),
            Some("certificate"),
        ),
        (
            "mismatch-el9",
            format!(
                "    sslcacert: {}\n    sslclientcert: {}\n    sslclientkey: {}\n",
                p("a-ca.crt"),
                p("a-client.crt"),
                p("b-client.key")
            ),
            Some("does not match sslclientcert"),
        ),
        (
            "expired-el9",
            format!(
                "    sslcacert: {}\n    sslclientcert: {}\n    sslclientkey: {}\n",
                p("a-ca.crt"),
                expired.display(),
                pki.join("old.key").display()
            ),
            Some("expired on"),
        ),
        (
            "unreadable-el9",
            format!(
                "    sslcacert: {}\n    sslclientcert: {}\n",
                p("a-ca.crt"),
                p("nope.pem")
            ),
            Some("cannot read sslclientcert"),
        ),
    ];
    let yaml: String = cases.iter().map(|(n, e, _)| mirror(n, e)).collect();
    write(&cfg, &format!("mirrors:\n{yaml}"));
    let root = top.path().join("mirrors");
    for (name, _, fails) in &cases {
        nginx.clear_log();
        let (out, all) = sync_cfg(&root, &cfg, name, "0");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        match fails {
            None => {
                assert_eq!(out.status.code(), Some(0), "{name}: {all}");
                assert_eq!(v["mirrors"][0]["status"], "new_snapshot", "{name}: {v}");
            }
            Some(needle) => {
                assert_eq!(out.status.code(), Some(1), "{name}: {all}");
                let err = v["mirrors"][0]["error"].as_str().unwrap_or_default();
                assert!(err.contains(needle), "{name}: {err}");
                assert!(snapshots(&root.join(name)).is_empty(), "{name}: published");
                assert!(latest(&root.join(name)).is_none());
                if ["mismatch-el9", "expired-el9", "unreadable-el9"].contains(name) {
                    // Checked before any request, naming the file.
                    assert!(
                        nginx.requests().is_empty(),
                        "{name}: {:?}",
                        nginx.requests()
                    );
                    assert!(err.contains(&pki.display().to_string()), "{name}: {err}");
                }
            }
        }
    }
}

/// Acceptance 2: nginx basic auth; the password appears nowhere.
#[test]
fn basic_auth_and_no_password_anywhere() {
    let top = serve_tree();
    let secret = "s3cret-Pa55";
    let hash = stdout(&run_ok(
        Command::new(tool("openssl")).args(["passwd", "-apr1", secret]),
    ));
    let htpasswd = top.path().join("htpasswd");
    std::fs::write(&htpasswd, format!("ci:{}", hash.trim())).unwrap();
    let root_dir = top.path().display().to_string();
    let nginx = Nginx::serve_server(&|port| {
        format!(
            "server {{\n listen 127.0.0.1:{port};\n root {root_dir};\n location /repo/ {{ auth_basic \"mirror\"; auth_basic_user_file {}; }}\n }}\n",
            htpasswd.display()
        )
    });
    let url = nginx.url("repo/");
    let pw_file = top.path().join("pw.txt");
    std::fs::write(&pw_file, format!("{secret}\n")).unwrap();
    let cfg = top.path().join("m.yaml");
    write(
        &cfg,
        &format!(
            "mirrors:\n  - name: env-el9\n    baseurl: {url}\n    username: ci\n    password_env: MIRROR_TEST_PW\n  - name: file-el9\n    baseurl: {url}\n    username: ci\n    password_file: {}\n  - name: wrong-el9\n    baseurl: {url}\n    username: ci\n    password: not-{secret}\n  - name: none-el9\n    baseurl: {url}\n",
            pw_file.display()
        ),
    );
    let root = top.path().join("mirrors");
    let mut everything = String::new();
    for (name, ok) in [
        ("env-el9", true),
        ("file-el9", true),
        ("wrong-el9", false),
        ("none-el9", false),
    ] {
        let out = run(mgr(&root, "http://mirror.example/yum")
            .env("MIRROR_TEST_PW", secret)
            .arg("--config")
            .arg(&cfg)
            .args(["-vv", "--json", "sync", name, "--retries", "0"]));
        let all = format!("{}{}", stdout(&out), stderr(&out));
        if ok {
            assert_eq!(out.status.code(), Some(0), "{name}: {all}");
        } else {
            assert_eq!(out.status.code(), Some(1), "{name}: {all}");
            assert!(
                all.contains("HTTP 401") && all.contains(&url),
                "{name}: {all}"
            );
            assert!(snapshots(&root.join(name)).is_empty());
        }
        everything.push_str(&all);
    }
    let listing = run_ok(
        mgr(&root, "http://m/")
            .arg("--config")
            .arg(&cfg)
            .args(["--json", "mirrors"]),
    );
    everything.push_str(&stdout(&listing));
    let verify = run(mgr(&root, "http://m/").args(["verify"]));
    everything.push_str(&stdout(&verify));
    for f in walkdir::WalkDir::new(&root)
        .into_iter()
        .filter_map(Result::ok)
    {
        if f.file_type().is_file() && f.path().extension().is_none_or(|e| e != "rpm" && e != "gz") {
            everything.push_str(&String::from_utf8_lossy(&std::fs::read(f.path()).unwrap()));
        }
    }
    assert!(
        everything.contains("env-el9"),
        "the collected output is not empty"
    );
    assert!(!everything.contains(secret), "the password leaked");
}

/// tinyproxy on loopback with BasicAuth, stopped on drop.
struct Tinyproxy {
    port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl Tinyproxy {
    fn start(user: &str, password: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let conf = dir.path().join("tinyproxy.conf");
        std::fs::write(
            &conf,
            format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 30\nLogFile \"{d}/tinyproxy.log\"\nLogLevel Info\nMaxClients 20\nAllow 127.0.0.1\nBasicAuth {user} {password}\nDisableViaHeader Yes\n",
                d = dir.path().display()
            ),
        )
        .unwrap();
        let child = Command::new(tool("tinyproxy"))
            .arg("-d")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tinyproxy");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tinyproxy did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { port, dir, child }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("tinyproxy.log")).unwrap_or_default()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        stop_gracefully(&mut self.child, rustix::process::Signal::TERM);
    }
}

/// Acceptance 3: packages arrive through a real proxy with proxy auth;
/// `proxy: _none_` bypasses it; a wrong proxy password fails (tinyproxy
/// answers 401, squid 407).
#[test]
fn outbound_proxy_with_auth() {
    let top = serve_tree();
    let nginx = Nginx::serve(top.path());
    let proxy = Tinyproxy::start("pxuser", "pxpass-123");
    let url = nginx.url("repo/");
    let purl = format!("http://127.0.0.1:{}", proxy.port);
    let cfg = top.path().join("m.yaml");
    write(
        &cfg,
        &format!(
            "mirrors:\n  - name: via-el9\n    baseurl: {url}\n    proxy: {purl}\n    proxy_username: pxuser\n    proxy_password: pxpass-123\n  - name: direct-el9\n    baseurl: {url}\n    proxy: _none_\n  - name: badpx-el9\n    baseurl: {url}\n    proxy: {purl}\n    proxy_username: pxuser\n    proxy_password: wrong\n"
        ),
    );
    let root = top.path().join("mirrors");
    // tinyproxy closes idle connections: a request on one it just closed is
    // retried (transient), so keep the default retries here.
    let (out, all) = sync_cfg(&root, &cfg, "via-el9", "4");
    assert_eq!(out.status.code(), Some(0), "{all}");
    let log = proxy.log();
    assert!(log.contains("alpha-1.0-1.noarch.rpm"), "{log}");
    assert!(log.contains("repomd.xml"), "{log}");
    assert!(!all.contains("pxpass-123"), "{all}");

    let before = proxy.log().len();
    let (out, all) = sync_cfg(&root, &cfg, "direct-el9", "4");
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert_eq!(proxy.log().len(), before, "_none_ went through the proxy");

    let (out, all) = sync_cfg(&root, &cfg, "badpx-el9", "0");
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("HTTP 401") || all.contains("HTTP 407"),
        "{all}"
    );
    assert!(!all.contains("wrong\""), "{all}");
    assert!(snapshots(&root.join("badpx-el9")).is_empty());
}

/// Issue 21, item 4: an import (`sync NAME --url`, or the API's `"url"`)
/// never carries the mirror's basic-auth password, client certificate or
/// proxy credentials to a host the caller chose; the configured upstream
/// still gets them.
#[test]
fn imports_get_no_credentials() {
    let top = serve_tree();
    let attacker = mirror_e2e::fault::FaultServer::serve(top.path());
    let secret = "imp0rt-Pa55";
    let cfg = top.path().join("m.yaml");
    write(
        &cfg,
        &format!(
            "mirrors:\n  - name: imp-el9\n    import: true\n    username: ci\n    password_env: MIRROR_TEST_PW\n  - name: own-el9\n    import: true\n    baseurl: {}\n    username: ci\n    password_env: MIRROR_TEST_PW\n",
            attacker.url("repo/")
        ),
    );
    let root = top.path().join("mirrors");
    let cli = |name: &str| {
        run(mgr(&root, "http://mirror.example/yum")
            .env("MIRROR_TEST_PW", secret)
            .arg("--config")
            .arg(&cfg)
            .args(["--json", "sync", name, "--url", &attacker.url("repo/")]))
    };
    // The command-line door.
    let out = cli("imp-el9");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let seen = attacker.request_headers();
    assert!(!seen.is_empty(), "the import reached the server");
    assert!(
        seen.iter()
            .all(|h| !h.to_ascii_lowercase().contains("authorization:")),
        "credentials sent to the caller's URL: {seen:?}"
    );
    // The API door.
    let token = stdout(&run_ok(
        mgr(&root, "http://mirror.example/yum")
            .args(["token", "add", "farm", "--scopes", "import"]),
    ))
    .trim()
    .to_owned();
    let mut serve = mgr(&root, "http://mirror.example/yum");
    serve
        .env("MIRROR_TEST_PW", secret)
        .arg("--config")
        .arg(&cfg)
        .arg("serve");
    let server = Server::start(serve);
    let before = attacker.request_headers().len();
    let body = format!(r#"{{"url": "{}"}}"#, attacker.url("repo/"));
    let (code, v) = server.json(
        "POST",
        "/api/v1/mirrors/imp-el9/sync",
        Some(&token),
        Some(&body),
    );
    assert_eq!(code, 202, "{v}");
    let id = v["id"].as_u64().unwrap();
    server.wait_job(id);
    drop(server);
    let seen = attacker.request_headers();
    assert!(seen.len() > before, "the API import reached the server");
    assert!(
        seen.iter()
            .all(|h| !h.to_ascii_lowercase().contains("authorization:")),
        "credentials sent to the caller's URL over the API: {seen:?}"
    );
    // Its own configured host still gets them, for the same URL.
    let out = cli("own-el9");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        attacker
            .request_headers()
            .iter()
            .any(|h| h.to_ascii_lowercase().contains("authorization: basic")),
        "the configured upstream lost its credentials"
    );
}
