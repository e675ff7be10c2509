//! What `serve` refuses to let a client do (issue 21, items 6, 7, 8, 15):
//! follow a planted symlink into private state, redirect off-host, hold
//! the server with half-sent or idle connections (or stall its SIGTERM),
//! or grow the audit log without bound. Bearer is case-insensitive.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use mirror_e2e::*;

fn world_with_mirror() -> World {
    let w = World::new();
    build_rpms(&w.upstream(), "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    createrepo(&w.upstream(), &RepoOpts::default());
    w.sync("m-el9");
    w
}

fn add_token(w: &World, name: &str, scopes: &str) -> String {
    stdout(&run_ok(
        w.mgr().args(["token", "add", name, "--scopes", scopes]),
    ))
    .trim()
    .to_owned()
}

/// Connect to `port` on 127.0.0.1 from the loopback address `from` (std
/// cannot bind before connecting; rustix can).
fn connect_from(from: &str, port: u16) -> TcpStream {
    use rustix::net::{AddressFamily, SocketType, bind, connect, socket};
    let fd = socket(AddressFamily::INET, SocketType::STREAM, None).unwrap();
    let local: SocketAddr = format!("{from}:0").parse().unwrap();
    bind(&fd, &local).unwrap();
    let remote: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    connect(&fd, &remote).unwrap();
    let sock = TcpStream::from(fd);
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    sock
}

/// Whether the server closed `s` (EOF or reset) within `within`.
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn symlinks_into_private_state_redirects_and_bearer_case() {
    let w = world_with_mirror();
    let admin = add_token(&w, "ops", "admin");
    let root = w.root();
    // Links planted in the tree, pointing at private state inside the root.
    std::os::unix::fs::symlink("../.api-tokens.json", root.join("m-el9/tokens")).unwrap();
    std::os::unix::fs::symlink(".api-tokens.json", root.join("tokens-too")).unwrap();
    std::fs::create_dir_all(root.join("m-el9/.private")).unwrap();
    std::fs::write(root.join("m-el9/.private/x"), "private").unwrap();
    std::os::unix::fs::symlink(".private", root.join("m-el9/pub")).unwrap();
    assert!(root.join(".api-tokens.json").is_file());
    let server = Server::start({
        let mut c = w.mgr();
        c.arg("serve");
        c
    });
    for path in [
        "/m-el9/tokens",
        "/tokens-too",
        "/m-el9/pub/x",
        "/m-el9/pub/",
    ] {
        let (code, _, body) = server.request("GET", path, None, None, &[]);
        assert_eq!(code, 404, "{path}: {}", String::from_utf8_lossy(&body));
    }
    // A plain snapshot file is still served.
    let (code, _, _) = server.request("GET", "/m-el9/latest.txt", None, None, &[]);
    assert_eq!(code, 200);
    // `//m-el9` must not redirect to the host `m-el9`.
    let (code, head, _) = server.request("GET", "//m-el9", None, None, &[]);
    assert_eq!(code, 301, "{head}");
    assert_eq!(header(&head, "location"), Some("/m-el9/"), "{head}");
    // The scheme is case-insensitive: `bearer` is a token, not a 401.
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let auth = format!("{scheme} {admin}");
        let (code, _, body) = server.request(
            "POST",
            "/api/v1/mirrors/m-el9/rollback",
            None,
            Some("{}"),
            &[("Authorization", &auth)],
        );
        assert_ne!(code, 401, "{scheme}: {}", String::from_utf8_lossy(&body));
        assert_ne!(code, 403, "{scheme}");
    }
}

#[test]
fn slow_and_idle_clients_cannot_hold_the_server() {
    let w = world_with_mirror();
    let server = Server::start({
        let mut c = w.mgr();
        c.args([
            "serve",
            "--header-timeout",
            "2",
            "--max-connections-per-ip",
            "8",
        ]);
        c
    });
    // A half-sent request is closed once the header timeout passes.
    let mut half = connect_from("127.0.0.1", server.port);
    half.write_all(b"GET /m-el9/latest.txt HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let started = Instant::now();
    assert!(
        closed_within(&mut half, Duration::from_secs(10)),
        "half-sent request still open"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "closed before the timeout"
    );
    // An idle connection too.
    let mut idle = connect_from("127.0.0.1", server.port);
    assert!(
        closed_within(&mut idle, Duration::from_secs(10)),
        "idle connection still open"
    );

    // Eight idle connections from one address fill its share: the ninth is
    // closed at once, and another address is served meanwhile.
    let hogs: Vec<TcpStream> = (0..8)
        .map(|_| connect_from("127.0.0.1", server.port))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut ninth = connect_from("127.0.0.1", server.port);
    assert!(
        closed_within(&mut ninth, Duration::from_secs(1)),
        "ninth connection accepted"
    );
    let mut other = connect_from("127.0.0.2", server.port);
    other
        .write_all(b"GET /m-el9/latest.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    other
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = other.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(hogs);
}

#[test]
fn sigterm_is_not_stalled_by_a_half_sent_request() {
    let w = world_with_mirror();
    let mut server = Server::start({
        let mut c = w.mgr();
        c.args([
            "serve",
            "--header-timeout",
            "600",
            "--shutdown-timeout",
            "2",
        ]);
        c
    });
    let mut half = connect_from("127.0.0.1", server.port);
    half.write_all(b"POST /api/v1/votes HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pid = rustix::process::Pid::from_raw(server.child.id().cast_signed()).unwrap();
    let started = Instant::now();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(st) = server.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "serve still running 20 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn refused_requests_do_not_grow_the_audit_log_without_bound() {
    use std::os::unix::fs::PermissionsExt as _;
    let w = world_with_mirror();
    let server = Server::start({
        let mut c = w.mgr();
        c.arg("serve");
        c
    });
    let body = format!(r#"{{"snapshot_set": "SECRET-BODY-{}"}}"#, "x".repeat(2000));
    for _ in 0..150 {
        let (code, _, _) = server.request("POST", "/api/v1/votes", None, Some(&body), &[]);
        assert_eq!(code, 401);
    }
    let log = w.root().join(".api-audit.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    let lines = text.lines().count();
    assert!(
        (1..=61).contains(&lines),
        "{lines} lines for 150 refused requests"
    );
    assert!(!text.contains("SECRET-BODY"), "a refused body was recorded");
    assert!(text.contains("POST /api/v1/votes"), "{text}");
    assert!(text.len() < 61 * 300, "{} bytes", text.len());
    let mode = std::fs::metadata(&log).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
}

/// Start `serve` with `cfg`, sync m-el9 over the API, wait for the job,
/// stop the server; the job's id.
fn api_sync(w: &World, cfg: &std::path::Path, token: &str) -> u64 {
    let server = Server::start({
        let mut c = w.mgr();
        c.arg("--config").arg(cfg).arg("serve");
        c
    });
    let (code, v) = server.json("POST", "/api/v1/mirrors/m-el9/sync", Some(token), None);
    assert_eq!(code, 202, "{v}");
    let id = v["id"].as_u64().unwrap();
    server.wait_job(id);
    id
}

/// Issue 21, item 15: job ids do not start again at 1 after a restart.
#[test]
fn job_ids_are_unique_across_restarts() {
    let w = world_with_mirror();
    let cfg = w.top.path().join("m.yaml");
    write(
        &cfg,
        &format!(
            "mirrors:\n  - name: m-el9\n    baseurl: {}\n",
            w.upstream_url()
        ),
    );
    let token = add_token(&w, "ops", "import");
    let mut ids = Vec::new();
    for _ in 0..2 {
        ids.push(api_sync(&w, &cfg, &token));
    }
    assert!(ids[1] > ids[0], "{ids:?}");
    assert!(ids[0] > 1_000_000, "{ids:?}");
}

/// Issue 22 (health flips with the door): a sync that fails over the API
/// leaves the same health in the index as one from the command line, with
/// the mirror's own `failing_after`.
#[test]
fn api_syncs_write_the_index_with_the_config_health() {
    let w = world_with_mirror();
    let dead_port = DeadPort::new();
    let dead = dead_port.url("");
    let cfg = w.top.path().join("m.yaml");
    write(
        &cfg,
        &format!("mirrors:\n  - name: m-el9\n    baseurl: {dead}\n    failing_after: 1\n"),
    );
    let token = add_token(&w, "ops", "import");
    let health = || {
        let out = run(w.mgr().arg("--config").arg(&cfg).args(["--json", "status"]));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let page = std::fs::read_to_string(w.root().join("index.html")).unwrap();
        (
            v.to_string().contains("\"failing\""),
            page.contains("failing"),
        )
    };
    api_sync(&w, &cfg, &token);
    assert_eq!(
        health(),
        (true, true),
        "the API's index forgot failing_after: 1"
    );
}
