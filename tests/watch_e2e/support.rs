//! What the end-to-end tests of `watch` share: the built binary as a child process, a webhook
//! receiver, access-log lines, `/metrics` read back, and the real Alertmanager and Prometheus.
//! Daemons, ports and HTTP requests come from the lab harness (`tests/lab`).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::lab;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_fivehundred");

/// How long anything may take before a test fails: generous, the machine is shared.
pub const DEADLINE: Duration = Duration::from_secs(90);

/// Wall-clock milliseconds since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Calls `probe` every 20 ms until it gives a value; after `limit`, panics with `what` and
/// what the last attempt saw.
pub fn wait<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        match probe() {
            Ok(v) => return v,
            Err(seen) if start.elapsed() > limit => {
                panic!("timed out after {limit:?} waiting for {what}; last saw: {seen}")
            }
            Err(_) => thread::sleep(Duration::from_millis(20)),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Access-log lines
// ---------------------------------------------------------------------------------------

/// One `combined` line at `ms` (UTC), from a client told apart by `n`.
pub fn line(ms: i64, n: u64, status: u16, path: &str) -> String {
    let t = jiff::Timestamp::from_millisecond(ms)
        .unwrap()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC);
    format!(
        "10.0.{}.{} - - [{} +0000] \"GET {path} HTTP/1.1\" {status} 512 \"-\" \"Mozilla/5.0 (e2e)\"\n",
        n / 250 % 250,
        n % 250,
        t.strftime("%d/%b/%Y:%H:%M:%S")
    )
}

/// Appends `text` to `path` (created if missing) in one write.
pub fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    f.write_all(text.as_bytes()).unwrap();
}

// ---------------------------------------------------------------------------------------
// `fivehundred watch` as a child process
// ---------------------------------------------------------------------------------------

/// A running `fivehundred watch`, on 127.0.0.1 at `port`, with its stderr collected. Dropped,
/// it is killed (SIGKILL) and reaped.
pub struct Watch {
    child: Child,
    pub port: u16,
    output: Arc<Mutex<String>>,
}

/// What a child writes on `streams`, line by line as it comes, gathered in one text.
pub fn collect_output(
    streams: impl IntoIterator<Item = Box<dyn Read + Send>>,
) -> Arc<Mutex<String>> {
    let output = Arc::new(Mutex::new(String::new()));
    for stream in streams {
        let out = Arc::clone(&output);
        thread::spawn(move || {
            for l in BufReader::new(stream).lines().map_while(Result::ok) {
                out.lock().unwrap().push_str(&format!("{l}\n"));
            }
        });
    }
    output
}

impl Watch {
    /// Starts `fivehundred watch ARGS… --state STATE --listen 127.0.0.1:PORT` on a free port
    /// and waits until `/healthz` answers `ok`.
    pub fn start(args: &[OsString], state: &Path) -> Watch {
        let port = lab::free_port();
        let mut all = args.to_vec();
        all.extend([
            "--state".into(),
            state.into(),
            "--listen".into(),
            format!("127.0.0.1:{port}").into(),
        ]);
        Watch::start_raw(&all, port)
    }

    /// Starts `fivehundred watch ARGS…` (which listen on `port`) and waits until ready.
    pub fn start_raw(args: &[OsString], port: u16) -> Watch {
        use std::os::unix::process::CommandExt;
        let mut child = Command::new(BIN)
            .arg("watch")
            .args(args)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn fivehundred watch");
        let output = collect_output([
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ]);
        let mut watch = Watch {
            child,
            port,
            output,
        };
        watch.wait_ready();
        watch
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it wrote to stdout and stderr so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Panics, with its output, if it has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("watch exited early ({status}); it said:\n{}", self.output());
        }
    }

    /// Polls `/healthz` until it answers 200 `ok`.
    fn wait_ready(&mut self) {
        let start = Instant::now();
        loop {
            let r = lab::fetch(self.port, "GET", "/healthz", "127.0.0.1", b"");
            if r.status == 200 && r.body.trim() == "ok" {
                return;
            }
            self.assert_running();
            assert!(
                start.elapsed() < DEADLINE,
                "watch not ready on port {} after {DEADLINE:?}; it said:\n{}",
                self.port,
                self.output()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// `GET path` on its port: status and body (status 0 if nothing answered).
    pub fn get(&self, path: &str) -> lab::Response {
        lab::fetch(self.port, "GET", path, "127.0.0.1", b"")
    }

    /// `/metrics`, parsed.
    pub fn metrics(&mut self) -> Metrics {
        let r = self.get("/metrics");
        if r.status != 200 {
            self.assert_running();
            panic!("/metrics answered {}: {}", r.status, r.body);
        }
        Metrics::parse(&r.body)
    }

    /// `/api/incidents`.
    pub fn incidents(&self) -> Vec<Value> {
        let r = self.get("/api/incidents");
        assert_eq!(r.status, 200, "{}", r.body);
        serde_json::from_str(&r.body).unwrap()
    }

    /// Polls `/metrics` until `cond` holds of it.
    pub fn wait_metrics(&mut self, what: &str, mut cond: impl FnMut(&Metrics) -> bool) -> Metrics {
        let start = Instant::now();
        loop {
            let m = self.metrics();
            if cond(&m) {
                return m;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "timed out after {DEADLINE:?} waiting for {what}; /metrics:\n{m:?}\nwatch said:\n{}",
                self.output()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls until `fivehundred_log_lines_total{kind="access",result="parsed"}` is `n`.
    pub fn wait_parsed(&mut self, n: u64) -> Metrics {
        self.wait_metrics(&format!("{n} access lines parsed"), |m| m.parsed() == n)
    }

    /// Sends `sig` (`TERM`, `KILL`) to its pid.
    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -{sig} {}", self.pid());
    }

    /// SIGTERM, and waits for it to exit.
    pub fn terminate(mut self) -> (ExitStatus, String) {
        self.signal("TERM");
        let status = self.wait_exit();
        (status, self.output())
    }

    /// `kill -9`, and waits for it to be gone.
    pub fn kill9(mut self) {
        self.signal("KILL");
        self.wait_exit();
    }

    fn wait_exit(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "watch (pid {}) did not exit; it said:\n{}",
                self.pid(),
                self.output()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if thread::panicking() {
            eprintln!("--- watch (port {}) said ---\n{}", self.port, self.output());
        }
    }
}

/// Runs `fivehundred watch ARGS…` expecting it to stop by itself: its exit code and stderr.
pub fn run_to_exit(args: &[OsString]) -> (Option<i32>, String) {
    let mut child = Command::new(BIN)
        .arg("watch")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fivehundred watch");
    let mut stderr = child.stderr.take().unwrap();
    let reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("watch {args:?} kept running; it should have stopped");
        }
        thread::sleep(Duration::from_millis(20));
    };
    (status.code(), reader.join().unwrap())
}

// ---------------------------------------------------------------------------------------
// `/metrics`
// ---------------------------------------------------------------------------------------

/// The samples of a Prometheus text exposition, by series as written
/// (`fivehundred_responses_total{code="200"}`).
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics(pub BTreeMap<String, f64>);

impl Metrics {
    pub fn parse(text: &str) -> Metrics {
        Metrics(
            text.lines()
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(|l| {
                    let (series, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("{l:?}"));
                    (
                        series.to_owned(),
                        value.parse().unwrap_or_else(|_| panic!("{l:?}")),
                    )
                })
                .collect(),
        )
    }

    /// A series' value, 0 when absent (a counter not started yet).
    pub fn value(&self, series: &str) -> f64 {
        self.0.get(series).copied().unwrap_or(0.0)
    }

    /// Every series of `name`, by the value of its one label.
    pub fn by_label(&self, name: &str) -> BTreeMap<String, u64> {
        let prefix = format!("{name}{{");
        self.0
            .iter()
            .filter_map(|(series, v)| {
                let labels = series.strip_prefix(&prefix)?.strip_suffix("\"}")?;
                let (_, value) = labels.split_once("=\"")?;
                Some((value.to_owned(), *v as u64))
            })
            .collect()
    }

    /// `fivehundred_responses_total` by status code.
    pub fn responses(&self) -> BTreeMap<u16, u64> {
        self.by_label("fivehundred_responses_total")
            .into_iter()
            .map(|(code, n)| (code.parse().unwrap(), n))
            .collect()
    }

    /// `fivehundred_log_lines_total{kind="access",result="parsed"}`.
    pub fn parsed(&self) -> u64 {
        self.value(r#"fivehundred_log_lines_total{kind="access",result="parsed"}"#) as u64
    }

    /// `fivehundred_alerts_total{alert=…}`.
    pub fn alerts(&self, alert: &str) -> u64 {
        self.value(&format!(r#"fivehundred_alerts_total{{alert="{alert}"}}"#)) as u64
    }

    /// `fivehundred_alert_firing{alert=…}` (0 when absent).
    pub fn firing(&self, alert: &str) -> u64 {
        self.value(&format!(r#"fivehundred_alert_firing{{alert="{alert}"}}"#)) as u64
    }
}

// ---------------------------------------------------------------------------------------
// A webhook receiver
// ---------------------------------------------------------------------------------------

/// An HTTP server on 127.0.0.1 that answers every request 200 and keeps each POST's body
/// (parsed as JSON; a body that is not JSON is kept as a string, to fail a test visibly).
/// Dropped, it closes its port.
pub struct Receiver {
    pub port: u16,
    got: Arc<Mutex<Vec<(Instant, Value)>>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        Receiver::on(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    /// A receiver on `port`, which was closed until now.
    pub fn start_on(port: u16) -> Receiver {
        Receiver::on(TcpListener::bind(("127.0.0.1", port)).unwrap())
    }

    fn on(listener: TcpListener) -> Receiver {
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let got = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let (got, stop) = (Arc::clone(&got), Arc::clone(&stop));
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let got = Arc::clone(&got);
                            thread::spawn(move || serve(stream, &got));
                        }
                        Err(_) => thread::sleep(Duration::from_millis(10)),
                    }
                }
            })
        };
        Receiver {
            port,
            got,
            stop,
            accept: Some(accept),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// The bodies received so far, in order.
    pub fn bodies(&self) -> Vec<Value> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Waits until `n` bodies have come; gives when the `n`th came.
    pub fn wait_count(&self, n: usize, limit: Duration) -> Instant {
        wait(&format!("{n} webhook notifications"), limit, || {
            let got = self.got.lock().unwrap();
            match got.get(n - 1) {
                Some((at, _)) => Ok(*at),
                None => Err(format!(
                    "{:#?}",
                    got.iter().map(|g| &g.1).collect::<Vec<_>>()
                )),
            }
        })
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// Reads one HTTP/1.1 request: its head's lines (request line first, each as sent) and its
/// body (by `Content-Length`); `None` once the connection closes or breaks.
pub fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(Vec<String>, Vec<u8>)> {
    let mut head = Vec::new();
    loop {
        let mut l = String::new();
        match reader.read_line(&mut l) {
            Ok(0) | Err(_) => return None,
            Ok(_) if l.trim_end().is_empty() => break,
            Ok(_) => head.push(l),
        }
    }
    let length: usize = head
        .iter()
        .find_map(|h| {
            let (name, value) = h.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((head, body))
}

/// Answers the requests of one connection (keep-alive or not) until it closes.
fn serve(stream: TcpStream, got: &Mutex<Vec<(Instant, Value)>>) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    while let Some((head, body)) = read_request(&mut reader) {
        if head.first().is_some_and(|l| l.starts_with("POST ")) {
            let text = String::from_utf8_lossy(&body).into_owned();
            let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            got.lock().unwrap().push((Instant::now(), value));
        }
        if writer
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------
// A real Alertmanager and Prometheus (Debian's packages)
// ---------------------------------------------------------------------------------------

/// Prometheus' answer to an instant query: each series' labels and value.
pub fn prometheus_query(port: u16, query: &str) -> Vec<(Value, String)> {
    let encoded: String = query
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let r = lab::fetch(
        port,
        "GET",
        &format!("/api/v1/query?query={encoded}"),
        "127.0.0.1",
        b"",
    );
    let Ok(body) = serde_json::from_str::<Value>(&r.body) else {
        return Vec::new();
    };
    body["data"]["result"]
        .as_array()
        .map(|result| {
            result
                .iter()
                .map(|s| {
                    (
                        s["metric"].clone(),
                        s["value"][1].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Alertmanager's alerts (`GET /api/v2/alerts`).
pub fn alertmanager_alerts(port: u16) -> Vec<Value> {
    let r = lab::fetch(port, "GET", "/api/v2/alerts", "127.0.0.1", b"");
    assert_eq!(r.status, 200, "{}", r.body);
    serde_json::from_str(&r.body).unwrap()
}

// ---------------------------------------------------------------------------------------
// Seeded randomness
// ---------------------------------------------------------------------------------------

/// SplitMix64: small, seeded, good enough to pick moments and orders.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `FIVEHUNDRED_E2E_SEED`, else the clock; says its seed on stderr so that a
    /// failed run can be replayed.
    pub fn from_env() -> Rng {
        let seed = std::env::var("FIVEHUNDRED_E2E_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| now_ms() as u64);
        eprintln!("seed {seed} (FIVEHUNDRED_E2E_SEED={seed} replays this run)");
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A pause of `min..max` ms.
    pub fn pause(&mut self, min: u64, max: u64) -> Duration {
        Duration::from_millis(min + self.below(max - min))
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i as u64 + 1) as usize);
        }
    }
}
