//! A fault-injecting HTTP/1.1 server for upstream failure tests: it serves a
//! directory (a real createrepo_c repo) and, per path, misbehaves on purpose:
//! error statuses, connections closed mid-body, corrupted or truncated
//! bodies, stalls, trickles, a lying Content-Length, or a different file.
//!
//! Written directly on tokio's TCP so every byte on the wire is ours to get
//! wrong; it runs on its own thread and stops when dropped. It listens on
//! 127.0.0.1 only.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// What to do to requests for one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and a short body.
    Status(u16),
    /// Send the headers and half the body, then close the connection.
    CloseMidBody,
    /// Send a body of the right length with one byte flipped.
    Corrupt,
    /// Declare the full Content-Length, send a third, close.
    Truncate,
    /// Send nothing for this long, then the real response.
    Stall(Duration),
    /// Send the body in 512-byte pieces with this pause between them.
    Trickle(Duration),
    /// Declare a Content-Length 100 bytes larger than the body, then close.
    LongContentLength,
    /// Serve the bytes of this file instead (e.g. a newer repomd.xml).
    Replace(PathBuf),
    /// Answer `302 Found` with this `Location`.
    Redirect(String),
}

#[derive(Debug, Clone)]
struct Rule {
    fault: Fault,
    /// Apply to this many requests, then serve normally (None: always).
    times: Option<u32>,
    /// Serve this many requests normally before the fault starts.
    after: u32,
}

#[derive(Default)]
struct State {
    rules: HashMap<String, Rule>,
    hits: HashMap<String, u32>,
    /// Every request's header lines, lower-cased names, in arrival order.
    headers: Vec<String>,
}

/// The server; stopped on drop.
pub struct FaultServer {
    pub port: u16,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FaultServer {
    /// Serve `root` on 127.0.0.1 at a free port.
    pub fn serve(root: &Path) -> Self {
        let root = root.to_path_buf();
        let state = Arc::new(Mutex::new(State::default()));
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let port = std_listener.local_addr().expect("addr").port();
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
                loop {
                    tokio::select! {
                        _ = &mut rx => break,
                        conn = listener.accept() => {
                            let Ok((sock, _)) = conn else { continue };
                            let (root, st) = (root.clone(), st.clone());
                            tokio::spawn(async move { let _ = handle(sock, &root, &st).await; });
                        }
                    }
                }
            });
            rt.shutdown_timeout(Duration::from_millis(100));
        });
        Self {
            port,
            state,
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!(
            "http://127.0.0.1:{}/{}",
            self.port,
            path.trim_start_matches('/')
        )
    }

    /// Misbehave on every request for `path` (e.g. "/repo/Packages/a.rpm").
    pub fn always(&self, path: &str, fault: Fault) {
        self.rule(path, fault, None, 0);
    }

    /// Misbehave on the first `times` requests for `path`, then serve it.
    pub fn first(&self, path: &str, fault: Fault, times: u32) {
        self.rule(path, fault, Some(times), 0);
    }

    /// Serve `path` normally `after` times, then misbehave on every request.
    pub fn after(&self, path: &str, after: u32, fault: Fault) {
        self.rule(path, fault, None, after);
    }

    fn rule(&self, path: &str, fault: Fault, times: Option<u32>, after: u32) {
        let mut s = self.state.lock().expect("lock");
        s.rules.insert(
            path.to_owned(),
            Rule {
                fault,
                times,
                after,
            },
        );
        s.hits.remove(path);
    }

    /// Forget every fault and count.
    pub fn heal(&self) {
        let mut s = self.state.lock().expect("lock");
        s.rules.clear();
        s.hits.clear();
    }

    /// The header block of every request so far (request line included).
    pub fn request_headers(&self) -> Vec<String> {
        self.state.lock().expect("lock").headers.clone()
    }

    /// Requests seen for `path`.
    pub fn hits(&self, path: &str) -> u32 {
        self.state
            .lock()
            .expect("lock")
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn handle(
    sock: tokio::net::TcpStream,
    root: &Path,
    state: &Mutex<State>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(sock);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        // Headers, kept for tests that check what a client sent.
        let mut block = line.clone();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).await? == 0 || h == "\r\n" || h == "\n" {
                break;
            }
            block.push_str(&h);
        }
        state.lock().expect("lock").headers.push(block);
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let fault = {
            let mut s = state.lock().expect("lock");
            let n = {
                let e = s.hits.entry(path.clone()).or_insert(0);
                *e += 1;
                *e
            };
            s.rules.get(&path).and_then(|r| {
                let active = n > r.after && r.times.is_none_or(|t| n - r.after <= t);
                active.then(|| r.fault.clone())
            })
        };
        let rel = path.split('?').next().unwrap_or("").trim_start_matches('/');
        let file = match &fault {
            Some(Fault::Replace(p)) => std::fs::read(p),
            _ if rel.split('/').any(|c| c == "..") => Err(std::io::ErrorKind::NotFound.into()),
            _ => std::fs::read(root.join(rel)),
        };
        let sock = reader.get_mut();
        if let Some(Fault::Redirect(to)) = &fault {
            let msg = format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\n\r\n");
            sock.write_all(msg.as_bytes()).await?;
            continue;
        }
        let Ok(body) = file else {
            sock.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found")
                .await?;
            continue;
        };
        let head = |len: usize| {
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
        };
        match fault {
            None | Some(Fault::Replace(_) | Fault::Redirect(_)) => {
                sock.write_all(head(body.len()).as_bytes()).await?;
                sock.write_all(&body).await?;
            }
            Some(Fault::Status(code)) => {
                let msg = format!("HTTP/1.1 {code} Injected\r\nContent-Length: 8\r\n\r\ninjected");
                sock.write_all(msg.as_bytes()).await?;
            }
            Some(Fault::CloseMidBody) => {
                sock.write_all(head(body.len()).as_bytes()).await?;
                sock.write_all(&body[..body.len() / 2]).await?;
                sock.flush().await?;
                return Ok(());
            }
            Some(Fault::Truncate) => {
                sock.write_all(head(body.len()).as_bytes()).await?;
                sock.write_all(&body[..body.len() / 3]).await?;
                sock.shutdown().await?;
                return Ok(());
            }
            Some(Fault::Corrupt) => {
                let mut b = body.clone();
                let i = b.len() / 2;
                b[i] ^= 0x5a;
                sock.write_all(head(b.len()).as_bytes()).await?;
                sock.write_all(&b).await?;
            }
            Some(Fault::Stall(d)) => {
                tokio::time::sleep(d).await;
                sock.write_all(head(body.len()).as_bytes()).await?;
                sock.write_all(&body).await?;
            }
            Some(Fault::Trickle(d)) => {
                sock.write_all(head(body.len()).as_bytes()).await?;
                for chunk in body.chunks(512) {
                    sock.write_all(chunk).await?;
                    sock.flush().await?;
                    tokio::time::sleep(d).await;
                }
            }
            Some(Fault::LongContentLength) => {
                sock.write_all(head(body.len() + 100).as_bytes()).await?;
                sock.write_all(&body).await?;
                sock.flush().await?;
                return Ok(());
            }
        }
        sock.flush().await?;
    }
}
