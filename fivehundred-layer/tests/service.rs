//! Starts the example service (built by `cargo test` with the other targets) on 127.0.0.1,
//! makes it fail on purpose, and checks the answers are generic pages with an incident id, and
//! that `fivehundred diagnose` reads its logs and ties each 5xx to the line that explains it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fivehundred::diagnose::{self, rules::Rules};
use fivehundred::formats::nginx_error;
use fivehundred::read;
use fivehundred::scan::{self, ScanOptions, Window};
use jiff::tz::TimeZone;

/// The example process, killed when the test ends however it ends.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `target/debug/examples/service`, next to this test's `target/debug/deps/`.
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(Path::parent).unwrap();
    let bin = profile
        .join("examples")
        .join(format!("service{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo test` (it builds the examples)",
        bin.display()
    );
    bin
}

fn start(logs: &Path) -> (Service, String) {
    let mut child = Command::new(example_binary())
        .args(["--listen", "127.0.0.1:0", "--logs"])
        .arg(logs)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (Service(child), addr)
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on its own connection, read to the end.
fn get(addr: &str, path: &str, accept: &str) -> Answer {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// Details that only the log may hold.
const SECRETS: [&str; 6] = [
    "sk_live_secret",
    "hunter2",
    "db.internal",
    "worker-3",
    "panic",
    "axum",
];

/// Waits until `path` holds `n` lines: the service writes its logs as it answers.
fn lines_when_complete(path: &Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        if lines.len() >= n || Instant::now() > deadline {
            assert_eq!(lines.len(), n, "{}:\n{text}", path.display());
            return lines;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn failures_answer_generic_pages_and_diagnose_ties_them_to_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (_service, addr) = start(dir.path());

    let html = "text/html,application/xhtml+xml,*/*;q=0.8";
    let cases = [
        ("/panic", html, 500),
        ("/error", html, 500),
        ("/busy", html, 503),
        ("/panic", "application/json", 500),
    ];
    let mut ids = Vec::new();
    for (path, accept, status) in cases {
        let a = get(&addr, path, accept);
        assert_eq!(a.status, status, "{path}");
        let id = a
            .header("x-incident-id")
            .expect("incident id header")
            .to_owned();
        assert!(a.body.contains(&id), "{path}: the page names the incident");
        assert_eq!(
            a.header("content-length")
                .map(|l| l.parse::<usize>().unwrap()),
            Some(a.body.len())
        );
        let everything = format!("{:?}{}", a.headers, a.body);
        for secret in SECRETS {
            assert!(
                !everything.contains(secret),
                "{path} leaks {secret}: {everything}"
            );
        }
        if accept == "application/json" {
            assert_eq!(a.header("content-type"), Some("application/json"));
            let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
            assert_eq!(v["incident"], id.as_str());
            assert_eq!(v["status"], 500);
        } else {
            assert_eq!(a.header("content-type"), Some("text/html; charset=utf-8"));
            assert!(a.body.starts_with("<!doctype html>"));
        }
        assert_eq!(a.header("retry-after").is_some(), status == 503, "{path}");
        ids.push((path, id));
    }
    assert_eq!(
        ids.iter()
            .map(|(_, id)| id)
            .collect::<std::collections::HashSet<_>>()
            .len(),
        4
    );

    let ok = get(&addr, "/powered", html);
    assert_eq!((ok.status, ok.body.as_str()), (200, "fine"));
    assert_eq!(
        (ok.header("server"), ok.header("x-powered-by")),
        (None, None)
    );

    let access = dir.path().join("access.log");
    let error = dir.path().join("error.log");
    lines_when_complete(&access, 5);
    let lines = lines_when_complete(&error, 4);

    // Each line is an nginx error record naming its request, client, id and cause.
    for ((path, id), line) in ids.iter().zip(&lines) {
        assert!(nginx_error::is_header(line.as_bytes()), "{line}");
        let e = nginx_error::parse(line.as_bytes(), &TimeZone::UTC).unwrap();
        assert_eq!(e.level, "error");
        assert_eq!(
            e.request.as_deref(),
            Some(format!("GET {path} HTTP/1.1").as_str())
        );
        assert_eq!(e.client.as_deref(), Some("127.0.0.1"));
        assert!(e.message.contains(&format!("[incident {id}]")), "{line}");
    }
    assert!(lines[0].contains("panic: order 42: cannot decrypt card with key sk_live_secret"));
    assert!(lines[1].contains("password=hunter2"));
    assert!(lines[2].contains("queue full"));

    // diagnose over both logs: every 5xx is explained by its own line.
    let (sources, warnings) = read::expand(&[access, error]).unwrap();
    assert!(warnings.is_empty());
    let opts = ScanOptions {
        tz: TimeZone::system(),
        window: Window::default(),
        access_format: None,
        progress: indicatif::ProgressBar::hidden(),
        threads: 1,
        error_logs: true,
    };
    let report = diagnose::diagnose(scan::scan(&sources, &opts).unwrap(), Rules::builtin());
    assert_eq!(report.summary.requests, 5);
    assert_eq!(report.summary.server_errors, 4);
    assert_eq!(report.incidents.iter().map(|i| i.count).sum::<u64>(), 4);
    assert!(report.other_errors.is_empty(), "{:?}", report.other_errors);
    let evidence: Vec<&String> = report.incidents.iter().flat_map(|i| &i.evidence).collect();
    for (path, id) in &ids {
        assert!(
            evidence.iter().any(|e| e.contains(id.as_str())),
            "{path} ({id}) not tied to its line: {:#?}",
            report.incidents
        );
    }
}
