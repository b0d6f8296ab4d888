//! Shared harness for the real-server fault lab.
//!
//! Every `tests/lab_<family>.rs` binary starts with `mod lab;`. The harness starts real daemons
//! from Debian's packages as foreground child processes, with configs, sockets and logs under a
//! per-test temp dir, talks to them over 127.0.0.1 only, and runs the built `fivehundred` binary
//! on the logs they wrote. Nothing here sleeps a fixed time to wait for a daemon: readiness is
//! polled (port accepts, socket exists, a log line appears) with a deadline.
#![allow(dead_code)]

pub mod apache;
pub mod faults;
pub mod go;
pub mod haproxy;
pub mod monitoring;
pub mod nginx;
pub mod php_fpm;
pub mod rsyslog;
pub mod seo;
pub mod tomcat;

use serde_json::Value;
use std::fs;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long any readiness wait may take before the test fails.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A per-test directory for configs, document roots, sockets and logs.
///
/// It is chmod 0755 so daemon workers running as `www-data` can traverse it (the tests run as
/// root, but a chmod fault is only real when the worker is not root). Removed on Drop, after
/// unmounting any tmpfs mounted through [`Lab::mount_tmpfs`] (kept when the environment has
/// `FIVEHUNDRED_LAB_KEEP`).
pub struct Lab {
    pub dir: PathBuf,
    mounts: Mutex<Vec<PathBuf>>,
    tmp: Option<tempfile::TempDir>,
}

impl Lab {
    pub fn new() -> Lab {
        let tmp = tempfile::Builder::new()
            .prefix("fivehundred-lab-")
            .tempdir()
            .expect("create lab temp dir");
        let dir = tmp.path().to_path_buf();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).expect("chmod lab dir");
        Lab {
            dir,
            mounts: Mutex::new(Vec::new()),
            tmp: Some(tmp),
        }
    }

    /// A lab whose whole dir is its own tmpfs of `size`, so what a test finds about free space
    /// is about the lab, not about the machine it runs on. None (after a note) where mounting
    /// is not allowed.
    pub fn on_tmpfs(size: &str) -> Option<Lab> {
        let lab = Lab::new();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(&lab.dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!(
                "note: cannot mount a tmpfs at {}: test skipped",
                lab.dir.display()
            );
            return None;
        }
        lab.mounts.lock().unwrap().push(lab.dir.clone());
        Some(lab)
    }

    /// `rel` resolved inside the lab dir.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// Writes a file (mode 0644), creating parent directories (mode 0755).
    pub fn write(&self, rel: &str, contents: &str) -> PathBuf {
        let p = self.path(rel);
        self.mkdir_p(p.parent().expect("file has a parent"));
        fs::write(&p, contents).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).expect("chmod 644");
        p
    }

    /// Creates a directory (and its parents) inside the lab, all mode 0755.
    pub fn mkdir(&self, rel: &str) -> PathBuf {
        let p = self.path(rel);
        self.mkdir_p(&p);
        p
    }

    fn mkdir_p(&self, p: &Path) {
        fs::create_dir_all(p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
        // Every level below the lab dir must be traversable by www-data.
        let mut cur = p.to_path_buf();
        while cur.starts_with(&self.dir) && cur != self.dir {
            let _ = fs::set_permissions(&cur, fs::Permissions::from_mode(0o755));
            if !cur.pop() {
                break;
            }
        }
    }

    /// Creates an empty file (or directory when `rel` ends with `/`) owned by www-data, for the
    /// things a worker writes: PHP error logs, upload and cache dirs.
    pub fn www_owned(&self, rel: &str) -> PathBuf {
        let p = if let Some(d) = rel.strip_suffix('/') {
            self.mkdir(d)
        } else {
            let p = self.path(rel);
            if !p.exists() {
                self.write(rel, "");
            }
            p
        };
        chown_www_data(&p);
        p
    }

    /// Mounts a tmpfs of `size` (e.g. "64k") at `rel` (mode 0777 so www-data can fill it).
    /// Returns None (after printing a note) when not root or mounting is not allowed.
    pub fn mount_tmpfs(&self, rel: &str, size: &str) -> Option<PathBuf> {
        self.mount_tmpfs_with(rel, &format!("size={size}"))
    }

    /// [`Lab::mount_tmpfs`] with any tmpfs options (`size=1m,nr_inodes=16`).
    pub fn mount_tmpfs_with(&self, rel: &str, options: &str) -> Option<PathBuf> {
        let p = self.mkdir(rel);
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("{options},mode=0777"),
                "tmpfs",
            ])
            .arg(&p)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            eprintln!("note: cannot mount tmpfs at {} (not root?)", p.display());
            return None;
        }
        self.mounts.lock().unwrap().push(p.clone());
        Some(p)
    }

    /// Sets the mode of `rel` (e.g. 0o000 to make a file unreadable to the workers).
    pub fn chmod(&self, rel: &str, mode: u32) {
        fs::set_permissions(self.path(rel), fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("chmod {rel}: {e}"));
    }

    /// Copies `src` to `dest`, replacing this lab's temp-dir prefix by `/srv/lab` in every line.
    /// Used to save real logs as fixtures.
    pub fn save_redacted(&self, src: &Path, dest: &Path) {
        let text = fs::read_to_string(src).unwrap_or_default();
        let out = text.replace(self.dir.to_str().unwrap(), "/srv/lab");
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).expect("mkdir fixture dir");
        }
        fs::write(dest, out).expect("write fixture");
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for m in self.mounts.lock().unwrap().drain(..).rev() {
            let _ = Command::new("umount").arg("-l").arg(&m).status();
        }
        // FIVEHUNDRED_LAB_KEEP=1 keeps the dir (configs and logs) for a look after a failure.
        if std::env::var_os("FIVEHUNDRED_LAB_KEEP").is_some()
            && let Some(t) = self.tmp.take()
        {
            eprintln!("note: lab kept at {}", t.keep().display());
        }
    }
}

/// True when running as root (chmod faults, tmpfs and dropping to www-data need it).
pub fn is_root() -> bool {
    // SAFETY-free way: the owner of /proc/self is our effective uid.
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Prints a note and returns true when the test must be skipped for lack of root.
pub fn skip_unless_root(test: &str) -> bool {
    if is_root() {
        return false;
    }
    eprintln!("note: skipping {test}: needs root (daemons drop to www-data, chmod/tmpfs faults)");
    true
}

/// uid and gid of `www-data`, read from /etc/passwd.
pub fn www_data_ids() -> (u32, u32) {
    let passwd = fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    for line in passwd.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() > 3 && f[0] == "www-data" {
            return (f[2].parse().unwrap(), f[3].parse().unwrap());
        }
    }
    panic!("no www-data user");
}

pub fn chown_www_data(p: &Path) {
    let (uid, gid) = www_data_ids();
    std::os::unix::fs::chown(p, Some(uid), Some(gid))
        .unwrap_or_else(|e| panic!("chown www-data {}: {e}", p.display()));
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind 127.0.0.1:0")
        .local_addr()
        .unwrap()
        .port()
}

/// A daemon running in the foreground as our child. Its stdout/stderr are collected so a
/// failing test can show what the daemon said. Drop stops it: SIGTERM, wait, SIGKILL after 5 s.
pub struct Daemon {
    pub name: String,
    child: Option<Child>,
    output: Arc<Mutex<String>>,
}

impl Daemon {
    pub fn spawn(name: &str, cmd: &mut Command) -> Daemon {
        use std::os::unix::process::CommandExt;
        // Own process group, so stop() can also reap workers orphaned by a killed master.
        cmd.process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name} ({cmd:?}): {e}"));
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let out = Arc::clone(&output);
            thread::spawn(move || collect(stream, out));
        }
        Daemon {
            name: name.to_string(),
            child: Some(child),
            output,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// What the daemon wrote to stdout/stderr so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Panics (with the daemon's output) if it already exited.
    pub fn assert_running(&mut self) {
        if let Some(c) = self.child.as_mut()
            && let Ok(Some(status)) = c.try_wait()
        {
            panic!(
                "{} exited early ({status}); it said:\n{}",
                self.name,
                self.output()
            );
        }
    }

    /// Polls `ready` until true; fails fast with the daemon's output if it exits meanwhile.
    pub fn wait_until(&mut self, what: &str, mut ready: impl FnMut() -> bool) {
        let start = Instant::now();
        loop {
            if ready() {
                return;
            }
            self.assert_running();
            if start.elapsed() > READY_TIMEOUT {
                panic!(
                    "{}: timed out waiting for {what}; it said:\n{}",
                    self.name,
                    self.output()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal by name (e.g. "TERM", "USR1") to the daemon's main process.
    pub fn signal(&self, sig: &str) {
        if self.pid() != 0 {
            let _ = Command::new("kill")
                .arg(format!("-{sig}"))
                .arg(self.pid().to_string())
                .status();
        }
    }

    /// Stops the daemon and waits for it: SIGTERM, then SIGKILL after 5 s; then SIGKILL to
    /// whatever is left of its process group (workers whose master was killed keep serving).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pgid = child.id();
        if let Ok(None) = child.try_wait() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let start = Instant::now();
            while let Ok(None) = child.try_wait() {
                if start.elapsed() > Duration::from_secs(5) {
                    let _ = child.kill();
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = child.wait();
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
        if thread::panicking() {
            eprintln!("--- {} output ---\n{}", self.name, self.output());
        }
    }
}

fn collect(mut stream: Box<dyn Read + Send>, out: Arc<Mutex<String>>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.lock()
            .unwrap()
            .push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

/// A log file a daemon writes, with the name its fixture copy gets (`access.log`, `error.log`,
/// `php-fpm.log`, `php_errors.log`).
pub type NamedLog = (PathBuf, &'static str);

/// The paths of named logs, as `diagnose` takes them.
pub fn log_paths(logs: &[NamedLog]) -> Vec<&Path> {
    logs.iter().map(|(p, _)| p.as_path()).collect()
}

/// What a web server's config is rendered from: its port, document root and logs.
pub struct WebFiles {
    pub port: u16,
    /// Absolute document root.
    pub root: PathBuf,
    pub access_log: PathBuf,
    pub error_log: PathBuf,
    /// PHP's own `error_log` file, when PHP runs inside the server (mod_php) and logs there.
    pub php_error_log: Option<PathBuf>,
}

/// A running web server (nginx, Apache) on 127.0.0.1: its main process, port, document root
/// and logs (`log/<name>-access.log`, `log/<name>-error.log`).
pub struct WebServer {
    pub daemon: Daemon,
    pub port: u16,
    pub access_log: PathBuf,
    pub error_log: PathBuf,
    /// See [`WebFiles::php_error_log`].
    pub php_error_log: Option<PathBuf>,
    /// Absolute document root.
    pub root: PathBuf,
    pub conf: PathBuf,
}

impl WebServer {
    /// Starts the web server `name`: picks a free port, makes the document root `root` (relative
    /// to the lab dir) and `log/`, writes `conf/<name>.conf` as `render` gives it, runs
    /// `command(conf)` in the foreground and waits until the port accepts.
    pub fn start(
        lab: &Lab,
        name: &str,
        root: &str,
        php_error_log: Option<PathBuf>,
        render: impl FnOnce(&WebFiles) -> String,
        command: impl FnOnce(&Path) -> Command,
    ) -> WebServer {
        let port = free_port();
        let logdir = lab.mkdir("log");
        let f = WebFiles {
            port,
            root: lab.mkdir(root),
            access_log: logdir.join(format!("{name}-access.log")),
            error_log: logdir.join(format!("{name}-error.log")),
            php_error_log,
        };
        let conf = lab.write(&format!("conf/{name}.conf"), &render(&f));
        let mut daemon = Daemon::spawn(name, &mut command(&conf));
        daemon.wait_until(&format!("{name} port"), || port_open(port));
        wait_for_port(port);
        WebServer {
            daemon,
            port,
            access_log: f.access_log,
            error_log: f.error_log,
            php_error_log: f.php_error_log,
            root: f.root,
            conf,
        }
    }

    /// The access log, the error log and PHP's error_log file when there is one.
    pub fn logs(&self) -> Vec<NamedLog> {
        let mut v = vec![
            (self.access_log.clone(), "access.log"),
            (self.error_log.clone(), "error.log"),
        ];
        v.extend(self.php_error_log.clone().map(|p| (p, "php_errors.log")));
        v
    }

    /// `n` GETs, one after another.
    pub fn gets(&self, path: &str, n: usize) -> Vec<u16> {
        gets(self.port, path, n)
    }

    /// Waits until the access log holds at least `n` lines (the server writes the line after
    /// the answer, so a client can see the status a moment before the line lands).
    pub fn wait_access_lines(&self, n: usize) {
        let p = &self.access_log;
        wait_for(&format!("{n} lines in {}", p.display()), || {
            line_count(p) >= n
        });
    }
}

/// Polls `cond` every 20 ms; panics with `what` after [`READY_TIMEOUT`].
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > READY_TIMEOUT {
            panic!("timed out waiting for {what}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

pub fn port_open(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

pub fn wait_for_port(port: u16) {
    wait_for(&format!("127.0.0.1:{port} to accept"), || port_open(port));
}

pub fn wait_for_path(p: &Path) {
    wait_for(&format!("{} to exist", p.display()), || p.exists());
}

/// Polls until the file contains `needle` (logs are written asynchronously by workers).
pub fn wait_for_log(p: &Path, needle: &str) {
    wait_for(&format!("{:?} in {}", needle, p.display()), || {
        log_contains(p, needle)
    });
}

pub fn log_contains(p: &Path, needle: &str) -> bool {
    fs::read(p)
        .map(|b| String::from_utf8_lossy(&b).contains(needle))
        .unwrap_or(false)
}

/// How many times `needle` occurs in the file (0 if missing).
pub fn count_in_file(p: &Path, needle: &str) -> usize {
    fs::read(p)
        .map(|b| String::from_utf8_lossy(&b).matches(needle).count())
        .unwrap_or(0)
}

/// Number of lines in a file (0 if missing): used to wait until an access log has caught up.
pub fn line_count(p: &Path) -> usize {
    fs::read(p)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

/// One HTTP answer: status (0 if the connection closed with no answer) and body text.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// One HTTP/1.1 request to 127.0.0.1:port with `Connection: close`; returns status and body.
/// A request body that the server stops reading (it answered early) is not an error: the
/// answer is read anyway.
pub fn fetch(port: u16, method: &str, path: &str, host: &str, body: &[u8]) -> Response {
    fetch_as(LOOPBACK_V4, port, method, path, host, LAB_AGENT, body)
}

/// The user agent of the lab's own requests.
pub const LAB_AGENT: &str = "fivehundred-lab/1.0";

/// 127.0.0.1, where every lab server listens.
pub const LOOPBACK_V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// ::1, where a server listens too when asked (`NginxOptions::listen_ipv6_loopback`).
pub const LOOPBACK_V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

/// Whether this machine has the IPv6 loopback (`::1` can be bound): containers often lack it.
pub fn ipv6_loopback() -> bool {
    TcpListener::bind((LOOPBACK_V6, 0)).is_ok()
}

/// [`fetch`] to the server at `ip` (a loopback address: the request then also comes from it,
/// as the access log shows) with this `User-Agent`.
pub fn fetch_as(
    ip: IpAddr,
    port: u16,
    method: &str,
    path: &str,
    host: &str,
    user_agent: &str,
    body: &[u8],
) -> Response {
    let Ok(mut s) = TcpStream::connect((ip, port)) else {
        return Response {
            status: 0,
            body: String::new(),
        };
    };
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {user_agent}\r\nConnection: close\r\n"
    );
    if !body.is_empty() || method == "POST" || method == "PUT" {
        head.push_str(&format!(
            "Content-Type: application/octet-stream\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    if s.write_all(head.as_bytes()).is_ok() {
        let _ = s.write_all(body);
    }
    // No shutdown(Write) here: nginx takes a half-closed client for one that went away (499).
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse_response(&raw)
}

/// The status and body of a raw HTTP answer.
pub fn parse_response(raw: &[u8]) -> Response {
    let text = String::from_utf8_lossy(raw);
    let status = text
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Response { status, body }
}

/// One HTTP/1.1 request; returns the status code (0 if closed with no answer).
pub fn request(port: u16, method: &str, path: &str, host: &str, body: &[u8]) -> u16 {
    fetch(port, method, path, host, body).status
}

pub fn get(port: u16, path: &str) -> u16 {
    request(port, "GET", path, "localhost", b"")
}

/// `n` GETs, one after another; returns their statuses.
pub fn gets(port: u16, path: &str, n: usize) -> Vec<u16> {
    (0..n).map(|_| get(port, path)).collect()
}

/// `n` POSTs of a `len`-byte body, one after another; returns their statuses.
pub fn posts(port: u16, path: &str, len: usize, n: usize) -> Vec<u16> {
    let body = vec![b'x'; len];
    (0..n)
        .map(|_| request(port, "POST", path, "localhost", &body))
        .collect()
}

/// Sends bursts of `burst` concurrent GETs, at most `rounds` of them, until some fail (which
/// ones do is up to the scheduler); `settle(sent so far)` runs after each burst. Returns every
/// answer.
pub fn bursts_until_5xx(
    port: u16,
    path: &str,
    burst: usize,
    rounds: usize,
    mut settle: impl FnMut(usize),
) -> Vec<u16> {
    let mut all = Vec::new();
    for _ in 0..rounds {
        all.extend(get_concurrent(port, path, burst));
        settle(all.len());
        if count_5xx(&all) > 0 {
            break;
        }
    }
    all
}

/// Sends `n` GETs concurrently (one thread each) and returns their statuses.
pub fn get_concurrent(port: u16, path: &str, n: usize) -> Vec<u16> {
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let path = path.to_string();
            thread::spawn(move || get(port, &path))
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// Counts the statuses >= 500 in a list of answers.
pub fn count_5xx(statuses: &[u16]) -> u64 {
    statuses.iter().filter(|&&s| s >= 500).count() as u64
}

/// Runs the built binary `diagnose --format json PATHS`, checks the exit code against the
/// spec (1 when any 5xx was found, else 0) and that every 5xx belongs to exactly one
/// incident, and returns the parsed report.
pub fn diagnose(paths: &[&Path]) -> Value {
    diagnose_with(&[], paths)
}

/// [`diagnose`] with more flags (`--access-format …`).
pub fn diagnose_with(flags: &[&str], paths: &[&Path]) -> Value {
    let (report, exit, stderr) = run_diagnose(flags, paths);
    let errors = report["summary"]["server_errors"]
        .as_u64()
        .unwrap_or_else(|| panic!("no summary.server_errors in:\n{}", pretty(&report)));
    let expected_exit = if errors > 0 { 1 } else { 0 };
    assert_eq!(
        exit,
        Some(expected_exit),
        "diagnose exit code (server_errors = {errors}); stderr:\n{stderr}\nreport:\n{}",
        pretty(&report)
    );
    let sum: u64 = incidents(&report)
        .iter()
        .map(|i| i["count"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(
        sum,
        errors,
        "sum(incidents[].count) must equal summary.server_errors:\n{}",
        pretty(&report)
    );
    report
}

/// Runs `diagnose --format json` on error logs only (no access log): incidents are then built
/// from error events (spec: `count` is the number of events, `status` is `{}`). Checks that
/// shape and the exit code (1 when any incident was found, else 0); returns the report.
pub fn diagnose_errors_only(paths: &[&Path]) -> Value {
    let (report, exit, stderr) = run_diagnose(&[], paths);
    let found = !incidents(&report).is_empty();
    assert_eq!(
        exit,
        Some(found as i32),
        "diagnose exit code (incidents found: {found}); stderr:\n{stderr}\nreport:\n{}",
        pretty(&report)
    );
    for inc in incidents(&report) {
        assert_eq!(inc["status"], serde_json::json!({}), "{}", pretty(&report));
    }
    report
}

/// Runs the built binary `diagnose --format json FLAGS PATHS`; returns the parsed report, the
/// exit code and what it wrote to stderr. Panics when stdout is not JSON.
fn run_diagnose(flags: &[&str], paths: &[&Path]) -> (Value, Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .args(["diagnose", "--format", "json"])
        .args(flags)
        .args(paths)
        .output()
        .expect("run fivehundred");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "diagnose output is not JSON ({e}); exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            out.status.code()
        )
    });
    (report, out.status.code(), stderr)
}

pub fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

pub fn incidents(report: &Value) -> Vec<Value> {
    report["incidents"].as_array().cloned().unwrap_or_default()
}

/// Asserts the report holds exactly `n` responses attributed to `cause`, all with `status`,
/// and (when given) that each such incident names a file ending with `file_suffix` and `line`.
pub fn assert_incident(
    report: &Value,
    cause: &str,
    status: u16,
    n: u64,
    file_suffix: Option<&str>,
    line: Option<u64>,
) {
    let all = incidents(report);
    let mine: Vec<&Value> = all.iter().filter(|i| i["cause"] == cause).collect();
    let ctx = || format!("cause {cause}, report:\n{}", pretty(report));
    let total: u64 = mine.iter().map(|i| i["count"].as_u64().unwrap_or(0)).sum();
    assert_eq!(total, n, "responses attributed to {}", ctx());
    for inc in &mine {
        let statuses = inc["status"].as_object().cloned().unwrap_or_default();
        for (code, count) in &statuses {
            assert_eq!(
                code,
                &status.to_string(),
                "{cause}: unexpected status {code} (x{count}); {}",
                ctx()
            );
        }
        if let Some(suffix) = file_suffix {
            let f = inc["file"].as_str().unwrap_or("");
            assert!(
                f.ends_with(suffix),
                "file {f:?} should end with {suffix:?}; {}",
                ctx()
            );
        }
        if let Some(l) = line {
            assert_eq!(inc["line"].as_u64(), Some(l), "line; {}", ctx());
        }
    }
}

/// Asserts the responses attributed to `cause`, split by status, are exactly `by_status`
/// (for a cause that shows up as several statuses, e.g. php_timeout as 500 and 502).
pub fn assert_cause_statuses(report: &Value, cause: &str, by_status: &[(u16, u64)]) {
    let mut got: std::collections::BTreeMap<String, u64> = Default::default();
    for inc in incidents(report).iter().filter(|i| i["cause"] == cause) {
        for (code, n) in inc["status"].as_object().cloned().unwrap_or_default() {
            *got.entry(code).or_default() += n.as_u64().unwrap_or(0);
        }
    }
    let want: std::collections::BTreeMap<String, u64> = by_status
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(c, n)| (c.to_string(), *n))
        .collect();
    assert_eq!(
        got,
        want,
        "statuses of {cause}; report:\n{}",
        pretty(report)
    );
}

/// Asserts the report's 5xx total and its per-status split (healthy traffic adds nothing).
pub fn assert_server_errors(report: &Value, total: u64, by_status: &[(u16, u64)]) {
    assert_eq!(
        report["summary"]["server_errors"].as_u64(),
        Some(total),
        "summary.server_errors; report:\n{}",
        pretty(report)
    );
    for (code, n) in by_status {
        assert_eq!(
            report["summary"]["by_status"][code.to_string()].as_u64(),
            Some(*n),
            "summary.by_status[{code}]; report:\n{}",
            pretty(report)
        );
    }
}

/// Asserts the report has no 5xx and no incident (healthy traffic, or 5xx no log records).
pub fn assert_no_incident(report: &Value) {
    assert_server_errors(report, 0, &[]);
    assert!(incidents(report).is_empty(), "{}", pretty(report));
}

/// The set of causes in the report (for asserting that nothing else was reported).
pub fn causes(report: &Value) -> Vec<String> {
    let mut c: Vec<String> = incidents(report)
        .iter()
        .filter_map(|i| i["cause"].as_str().map(str::to_string))
        .collect();
    c.sort();
    c.dedup();
    c
}

/// Counts the access-log lines whose status field is >= 500 (combined format: the status is
/// the field after the quoted request). What nginx/Apache logged, independent of the engine.
pub fn access_log_5xx(p: &Path) -> u64 {
    access_log_statuses(p).iter().filter(|&&s| s >= 500).count() as u64
}

/// The status of every line of a combined-format access log.
pub fn access_log_statuses(p: &Path) -> Vec<u16> {
    let text = fs::read_to_string(p).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let after = l.splitn(3, '"').nth(2)?;
            after.split_whitespace().next()?.parse().ok()
        })
        .collect()
}

/// Healthy traffic against the fault app (`php_fpm::app`) in the document root: a static page,
/// two PHP pages (one of which logs a PHP Warning, as real apps do), a small POST and a 404.
/// Asserts each answer and returns how many requests were made; none may become an incident.
pub fn healthy_traffic(port: u16) -> usize {
    let expected: [(&str, &str, &[u8], u16); 5] = [
        ("GET", "/", b"", 200),
        ("GET", "/ok.php", b"", 200),
        ("GET", "/warns.php", b"", 200),
        ("POST", "/import.php", b"name=lab&rows=3", 200),
        ("GET", "/no-such-page.html", b"", 404),
    ];
    for (method, path, body, status) in expected {
        assert_eq!(
            request(port, method, path, "localhost", body),
            status,
            "healthy {method} {path}"
        );
    }
    expected.len()
}

/// Saves real logs as fixtures under `tests/fixtures/real/<family>/<cause>/<variant>/`, with
/// the lab dir rewritten to `/srv/lab`, when the environment has `FIVEHUNDRED_SAVE_FIXTURES`
/// (running the lab must not rewrite the source tree otherwise).
pub fn save_fixtures(lab: &Lab, family: &str, cause: &str, variant: &str, files: &[NamedLog]) {
    if std::env::var_os("FIVEHUNDRED_SAVE_FIXTURES").is_none() {
        return;
    }
    let dir = fixtures_dir().join(family).join(cause).join(variant);
    let _ = fs::remove_dir_all(&dir);
    for (src, name) in files {
        if src.exists() {
            lab.save_redacted(src, &dir.join(name));
        }
    }
}

/// Root of the saved real-log fixtures.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real")
}
