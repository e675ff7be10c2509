//! Issue 26, acceptance 2 and 5: signed webhook deliveries for a new
//! snapshot, a promotion by votes, a rollback and a failing sync (with its
//! health change), each HMAC checked with openssl; a receiver that is down
//! gets its events later, in order, without slowing any verb; a slow or
//! huge answer changes nothing; deliveries queued when `serve` is killed
//! arrive after a restart, each once.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mirror_e2e::*;

const SECRET: &str = "hook-secret-4f1c9e";

/// How the receiver answers.
const OK: u8 = 0;
const SLOW: u8 = 1;
const HUGE: u8 = 2;

/// One delivery as the receiver got it.
#[derive(Debug, Clone)]
struct Got {
    event: String,
    delivery: String,
    signature: String,
    body: String,
}

/// A webhook receiver on loopback that records every POST. `down()`
/// closes its port (connections are refused), `up()` opens it again.
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Got>>>,
    mode: Arc<AtomicU8>,
    listening: Option<(
        Arc<std::sync::atomic::AtomicBool>,
        std::thread::JoinHandle<()>,
    )>,
}

impl Receiver {
    fn start() -> Self {
        let port = free_port();
        let mut r = Self {
            port,
            got: Arc::default(),
            mode: Arc::new(AtomicU8::new(OK)),
            listening: None,
        };
        r.up();
        r
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn up(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).expect("bind the receiver");
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (got, mode, halt) = (
            Arc::clone(&self.got),
            Arc::clone(&self.mode),
            Arc::clone(&stop),
        );
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if halt.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (got, mode) = (Arc::clone(&got), Arc::clone(&mode));
                std::thread::spawn(move || answer(conn, &got, mode.load(Ordering::SeqCst)));
            }
        });
        self.listening = Some((stop, thread));
    }

    fn down(&mut self) {
        if let Some((stop, thread)) = self.listening.take() {
            stop.store(true, Ordering::SeqCst);
            let _ = TcpStream::connect(("127.0.0.1", self.port));
            thread.join().unwrap();
        }
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// Wait (up to `secs`) until `n` deliveries arrived.
    fn wait_for(&self, n: usize, secs: u64) -> Vec<Got> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.got();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.down();
    }
}

/// Read one request, record it, answer as `mode` says.
fn answer(mut conn: TcpStream, got: &Mutex<Vec<Got>>, mode: u8) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let (head, body) = loop {
        let Ok(n) = conn.read(&mut chunk) else { return };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        let len: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        while buf.len() < end + 4 + len {
            let Ok(n) = conn.read(&mut chunk) else { return };
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        break (
            head,
            String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).into_owned(),
        );
    };
    let header = |name: &str| -> String {
        head.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let g = Got {
        event: header("X-Mirror-Event"),
        delivery: header("X-Mirror-Delivery"),
        signature: header("X-Mirror-Signature-256"),
        body,
    };
    match mode {
        SLOW => {
            // Record only once the answer would have come: a minute later.
            std::thread::sleep(Duration::from_secs(60));
        }
        HUGE => {
            got.lock().unwrap().push(g);
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10737418240\r\n\r\n");
            let zeros = vec![0u8; 1 << 16];
            // Until the client hangs up (it reads 64 KiB at most).
            while conn.write_all(&zeros).is_ok() {}
            return;
        }
        _ => {}
    }
    if mode != SLOW {
        got.lock().unwrap().push(g);
    }
    let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
}

/// The signature openssl computes for `body` (an implementation other
/// than ours).
fn openssl_hmac(body: &str) -> String {
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-hmac", SECRET])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    format!("sha256={}", text.rsplit(' ').next().unwrap().trim())
}

fn check_signed(g: &Got) -> serde_json::Value {
    assert_eq!(g.signature, openssl_hmac(&g.body), "{g:?}");
    let v: serde_json::Value = serde_json::from_str(&g.body).unwrap();
    assert_eq!(v["event"], g.event.as_str(), "{g:?}");
    assert_eq!(v["delivery"], g.delivery.as_str(), "{g:?}");
    v
}

fn config(w: &World, root: &Path, hook: &str) -> std::path::PathBuf {
    let secret = root.with_extension("secret");
    write(&secret, &format!("{SECRET}\n"));
    let cfg = root.with_extension("yaml");
    write(
        &cfg,
        &format!(
            "root: {}\nbase_url: {}\nmirrors:\n  - name: hook-el9\n    baseurl: {}\n    failing_after: 1\nchannels:\n  tested:\n    require: [ci]\nwebhooks:\n  - url: {hook}\n    secret_file: {}\nwebhook_retry_for: 1h\n",
            root.display(),
            w.base_url(),
            w.upstream_url(),
            secret.display()
        ),
    );
    cfg
}

fn mgr_cfg(cfg: &Path) -> Command {
    let mut c = Command::new(bin("mirror-mgr"));
    c.arg("--config").arg(cfg);
    c.env("MIRROR_MGR_RETRY_BACKOFF_MS", "10");
    c.env("MIRROR_MGR_WEBHOOK_BACKOFF_MS", "200");
    c
}

fn serve(cfg: &Path) -> Server {
    Server::start({
        let mut c = mgr_cfg(cfg);
        c.arg("serve");
        c
    })
}

/// POST, expect 2xx; how long it took.
fn post(server: &Server, token: &str, path: &str, body: &str) -> (serde_json::Value, Duration) {
    let t = Instant::now();
    let (code, v) = server.json("POST", path, Some(token), Some(body));
    assert!((200..300).contains(&code), "POST {path}: {code} {v}");
    (v, t.elapsed())
}

fn sync(server: &Server, token: &str) -> serde_json::Value {
    let (job, _) = post(server, token, "/api/v1/mirrors/hook-el9/sync", "");
    server.wait_job(job["id"].as_u64().unwrap())
}

/// An upstream with one package, a receiver, a root whose config posts
/// every event to it, and an admin token.
fn hooked(
    name: &str,
) -> (
    World,
    Receiver,
    std::path::PathBuf,
    std::path::PathBuf,
    String,
) {
    let w = World::new();
    build_rpms(&w.upstream(), "Packages", &[Pkg::new("alpha", "1.0", "1")]);
    createrepo(&w.upstream(), &RepoOpts::default());
    let rx = Receiver::start();
    let root = w.top.path().join(name);
    std::fs::create_dir_all(&root).unwrap();
    let cfg = config(&w, &root, &rx.url());
    let token = stdout(&run_ok(
        mgr_cfg(&cfg).args(["token", "add", "ci", "--scopes", "admin"]),
    ))
    .trim()
    .to_owned();
    (w, rx, root, cfg, token)
}

#[test]
fn signed_deliveries_in_order_never_slowing_a_verb() {
    let (w, mut rx, _root, cfg, token) = hooked("hooked");
    let server = serve(&cfg);

    // A new snapshot.
    let job = sync(&server, &token);
    assert_eq!(job["state"], "succeeded", "{job}");
    let s1 = job["report"]["snapshot"].as_str().unwrap().to_owned();
    let got = rx.wait_for(1, 20);
    assert_eq!(got.len(), 1, "{got:?}");
    let v = check_signed(&got[0]);
    assert_eq!(
        (v["event"].as_str(), v["snapshot"].as_str()),
        (Some("snapshot"), Some(s1.as_str()))
    );
    assert_eq!(v["mirror"], "hook-el9");

    // A promotion by votes.
    post(
        &server,
        &token,
        "/api/v1/votes",
        &format!(r#"{{"set": {{"hook-el9": "{s1}"}}, "job": "ci", "result": "pass"}}"#),
    );
    let got = rx.wait_for(2, 20);
    let v = check_signed(&got[1]);
    assert_eq!(
        (v["event"].as_str(), v["channel"].as_str()),
        (Some("promotion"), Some("tested")),
        "{v}"
    );

    // A second snapshot, then a rollback of latest.
    build_rpms(&w.upstream(), "Packages", &[Pkg::new("alpha", "2.0", "1")]);
    createrepo(&w.upstream(), &RepoOpts::default());
    sync(&server, &token);
    post(&server, &token, "/api/v1/mirrors/hook-el9/rollback", "");
    let got = rx.wait_for(4, 20);
    let v = check_signed(&got[3]);
    assert_eq!(
        (
            v["event"].as_str(),
            v["channel"].as_str(),
            v["snapshot"].as_str()
        ),
        (Some("rollback"), Some("latest"), Some(s1.as_str())),
        "{v}"
    );

    // A failing sync: failure, and health ok -> failing (failing_after: 1).
    let repodata = w.upstream().join("repodata");
    std::fs::rename(&repodata, w.upstream().join("off")).unwrap();
    assert_eq!(sync(&server, &token)["state"], "failed");
    std::fs::rename(w.upstream().join("off"), &repodata).unwrap();
    let got = rx.wait_for(6, 20);
    let kinds: Vec<(String, String)> = got[4..]
        .iter()
        .map(|g| {
            let v = check_signed(g);
            (
                g.event.clone(),
                v["health"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("failure".into(), String::new()),
            ("health".into(), "failing".into())
        ]
    );

    // The receiver down for three events: the verbs take no longer, and
    // once it is up it gets all three, in order.
    rx.down();
    let mut slowest = Duration::ZERO;
    for body in [
        r#"{"channel": "stable", "mirror": "hook-el9", "snapshot": "S1", "reason": "r1"}"#,
        r#"{"channel": "stable-2", "mirror": "hook-el9", "snapshot": "S1", "reason": "r2"}"#,
        r#"{"channel": "stable-3", "mirror": "hook-el9", "snapshot": "S1", "reason": "r3"}"#,
    ] {
        let (_, took) = post(&server, &token, "/api/v1/promote", &body.replace("S1", &s1));
        slowest = slowest.max(took);
    }
    assert!(
        slowest < Duration::from_secs(3),
        "a promotion took {slowest:?}"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(rx.got().len(), 6, "delivered while down?");
    rx.up();
    let got = rx.wait_for(9, 30);
    let channels: Vec<String> = got[6..]
        .iter()
        .map(|g| check_signed(g)["channel"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(channels, ["stable", "stable-2", "stable-3"]);

    // A receiver that answers after a minute, then one that answers 10 GiB:
    // the syncs take no longer, and the queue goes on.
    rx.mode.store(SLOW, Ordering::SeqCst);
    build_rpms(&w.upstream(), "Packages", &[Pkg::new("beta", "1.0", "1")]);
    createrepo(&w.upstream(), &RepoOpts::default());
    let t = Instant::now();
    assert_eq!(sync(&server, &token)["state"], "succeeded");
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    // Its deliveries (the snapshot, health failing -> ok) meet the slow
    // receiver: the first hangs until its 10 s timeout.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(rx.got().len(), 9, "a slow answer counted");
    rx.mode.store(HUGE, Ordering::SeqCst);
    let t = Instant::now();
    post(&server, &token, "/api/v1/mirrors/hook-el9/rollback", "");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    // Retried, the huge answer is a 2xx (read in part); order kept.
    let got = rx.wait_for(12, 40);
    let events: Vec<&str> = got[9..].iter().map(|g| g.event.as_str()).collect();
    assert_eq!(events, ["snapshot", "health", "rollback"], "{got:?}");
    rx.mode.store(OK, Ordering::SeqCst);

    // Every delivery id once; /metrics counts them; no secret anywhere.
    let ids: BTreeSet<&str> = got.iter().map(|g| g.delivery.as_str()).collect();
    assert_eq!(ids.len(), got.len());
    let (_, _, m) = server.request("GET", "/metrics", None, None, &[]);
    let m = String::from_utf8(m).unwrap();
    assert_promtool_accepts(&m);
    assert!(
        m.contains("mirror_mgr_webhook_deliveries_total{hook="),
        "{m}"
    );
    let log = server.stop();
    let status = stdout(&run_ok(mgr_cfg(&cfg).arg("status")));
    assert!(status.contains("webhook http://127.0.0.1:"), "{status}");
    for text in [&log, &status, &m] {
        assert!(!text.contains(SECRET), "the secret was printed");
    }
}

/// Deliveries in the queue.
fn queued(root: &Path) -> usize {
    std::fs::read_dir(root.join(".webhooks/queue"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
        })
        .count()
}

/// Acceptance 5: SIGKILL of serve with deliveries queued; after a restart
/// they arrive, each once, none lost.
#[test]
fn queued_deliveries_survive_a_killed_server() {
    let (_w, mut rx, root, cfg, token) = hooked("killed");
    // A command-line sync queues and delivers itself.
    let out = run_ok(mgr_cfg(&cfg).args(["--json", "sync", "hook-el9"]));
    let s1 =
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["mirrors"][0]["snapshot"]
            .as_str()
            .unwrap()
            .to_owned();
    assert_eq!(rx.wait_for(1, 5)[0].event, "snapshot");

    rx.down();
    let mut server = serve(&cfg);
    for ch in ["one", "two", "three", "four"] {
        post(
            &server,
            &token,
            "/api/v1/promote",
            &format!(r#"{{"channel": "{ch}", "mirror": "hook-el9", "snapshot": "{s1}"}}"#),
        );
    }
    assert_eq!(queued(&root), 4);
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(server);

    rx.up();
    let server = serve(&cfg);
    let got = rx.wait_for(5, 30);
    server.stop();
    let channels: Vec<String> = got[1..]
        .iter()
        .map(|g| check_signed(g)["channel"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(channels, ["one", "two", "three", "four"]);
    let ids: BTreeSet<&str> = got.iter().map(|g| g.delivery.as_str()).collect();
    assert_eq!(ids.len(), 5, "a delivery came twice: {got:?}");
    assert_eq!(queued(&root), 0);
}

#[test]
fn webhooks_config_is_checked() {
    let d = tempdir();
    let cfg = d.path().join("w.yaml");
    for (hooks, needle) in [
        (
            "  - url: ftp://h/x\n    secret_env: S\n",
            "not an http(s) URL",
        ),
        (
            "  - url: http://h/x\n    events: [snapshot, launch]\n    secret_env: S\n",
            "unknown event \"launch\"",
        ),
        ("  - url: http://h/x\n", "secret_env or secret_file"),
        ("  - url: http://h/x\n    secret: inline\n", "unknown field"),
    ] {
        write(&cfg, &format!("mirrors: []\nwebhooks:\n{hooks}"));
        let out = run(mgr_cfg(&cfg).arg("check-config"));
        assert_eq!(out.status.code(), Some(2), "{hooks}");
        assert!(
            stderr(&out).contains("w.yaml") && stderr(&out).contains(needle),
            "{hooks}: {}",
            stderr(&out)
        );
    }
}
