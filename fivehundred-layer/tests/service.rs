//! Starts the example service on 127.0.0.1,
//! makes it fail on purpose, and checks the answers are generic pages with an incident id, and
//! that `fivehundred diagnose` reads its logs and ties each 5xx to the line that explains it,
//! and that `fivehundred probe` finds nothing to report in its answers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use fivehundred::diagnose::{self, rules::Rules};
use fivehundred::formats::nginx_error;
use fivehundred::probe;
use fivehundred::read;
use fivehundred::scan::{self, ScanOptions, Window};
use jiff::tz::TimeZone;

#[path = "../examples/service.rs"]
#[allow(dead_code)] // the example's `main`: the test calls its `serve` instead
mod service;

/// Starts the example on 127.0.0.1 in a thread of its own; it lives as long as the test
/// process. One per process: the example installs the global `tracing` subscriber.
fn start(logs: &Path) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let logs = logs.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            service::serve(listener, &logs).await.unwrap();
        });
    });
    addr
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
fn failures_answer_generic_pages_that_probe_passes_and_diagnose_ties_to_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let addr = start(dir.path());

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
        assert_eq!(e.level(), "error");
        assert_eq!(e.request(), Some(format!("GET {path} HTTP/1.1").as_str()));
        assert_eq!(e.client(), Some("127.0.0.1"));
        assert!(e.message().contains(&format!("[incident {id}]")), "{line}");
    }
    assert!(lines[0].contains("panic: order 42: cannot decrypt card with key sk_live_secret"));
    assert!(
        lines[0].contains("backtrace: service::service::panic::"),
        "{}",
        lines[0]
    );
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
        scope: Default::default(),
    };
    let report = diagnose::diagnose(
        scan::scan(&sources, &opts).unwrap(),
        Rules::builtin(),
        false,
    );
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

    // The causes: a panic or a built 5xx is the application's own failure, located by the
    // backtrace's first frame; the error whose chain says the database refused is that.
    let causes: Vec<(&str, u64, Option<&str>, Option<u64>)> = report
        .incidents
        .iter()
        .map(|i| (i.cause, i.count, i.file.as_deref(), i.line))
        .collect();
    assert_eq!(causes.len(), 3, "{causes:?}");
    let panics = causes.iter().find(|c| c.0 == "app_error" && c.1 == 2);
    assert!(
        panics.is_some_and(
            |c| c.2.is_some_and(|f| f.ends_with("examples/service.rs")) && c.3 == Some(40)
        ),
        "{causes:?}"
    );
    assert!(causes.contains(&("app_error", 1, None, None)), "{causes:?}");
    assert!(
        causes.contains(&("db_unreachable", 1, None, None)),
        "{causes:?}"
    );

    // probe, after the logs were read: its requests add lines to them.
    let urls: Vec<reqwest::Url> = ["/", "/panic", "/error", "/busy", "/powered"]
        .iter()
        .map(|p| format!("http://{addr}{p}").parse().unwrap())
        .collect();
    let opts = probe::Options {
        crawl: 0,
        limits: probe::Limits {
            gap: Duration::from_millis(1),
            timeout: Duration::from_secs(10),
            body_cap: probe::DEFAULT_BODY_CAP,
        },
        session: probe::Session::default(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = runtime.block_on(probe::probe(&urls, &opts)).unwrap();
    assert_eq!(report.targets.len(), urls.len());
    for t in &report.targets {
        assert!(t.error.is_none(), "{t:?}");
        assert!(t.findings.is_empty(), "{t:#?}");
    }
    let statuses: Vec<_> = report.targets.iter().map(|t| t.status).collect();
    assert_eq!(
        statuses,
        [Some(200), Some(500), Some(500), Some(503), Some(200)]
    );
}
