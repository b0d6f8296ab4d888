//! `fivehundred probe` end to end against a local axum server on 127.0.0.1 whose routes leak
//! (a PHP fatal error in a 200, a Python traceback in a 500, a versioned `Server` header) or
//! stay clean (a generic 500):
//!
//! - the JSON names exactly the categories and severities each route leaks, and the exit code
//!   is 1 with a medium/high finding, 0 with only a low one, 2 when nothing could be fetched
//!   or on a bad URL;
//! - `--crawl` follows same-host links only: a second server, the "other host", gets nothing;
//! - the rate limit spaces requests; a timeout is reported in its target, not fatal;
//! - text output carries no control sequence from a hostile body.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// Requests a server got: path and arrival time.
type Log = Arc<Mutex<Vec<(String, Instant)>>>;

const PHP_FATAL: &str = "<br />\n<b>Fatal error</b>:  Uncaught Exception: boom in /var/www/html/index.php:3\nStack trace:\n#0 {main}\n  thrown in <b>/var/www/html/index.php</b> on line <b>3</b><br />\n";
const PY_TRACEBACK: &str = "Traceback (most recent call last):\n  File \"/srv/app/app.py\", line 7, in index\n    return 1 / 0\nZeroDivisionError: division by zero\n";
const GENERIC_500: &str = "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.</p>\n";
const HOSTILE: &str = "Traceback (most recent call last):\u{1b}[2J\u{1b}]0;pwned\u{7}\n  File \"/srv/x.py\", line 1, in \u{1b}[31mf\u{9b}\n";

/// A server on 127.0.0.1 with its own runtime; `other` is a port the crawl page links to.
struct Server {
    addr: SocketAddr,
    log: Log,
    _runtime: tokio::runtime::Runtime,
}

impl Server {
    fn start(other: Option<u16>) -> Server {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let log: Log = Arc::default();
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let app = Router::new()
            .fallback(handle)
            .with_state((log.clone(), other.unwrap_or(0)));
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
        Server {
            addr,
            log,
            _runtime: runtime,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn paths(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|(p, _)| p.clone())
            .collect()
    }
}

async fn handle(State((log, other)): State<(Log, u16)>, uri: Uri) -> Response {
    log.lock()
        .unwrap()
        .push((uri.path().to_owned(), Instant::now()));
    let html = [(header::CONTENT_TYPE, "text/html; charset=UTF-8")];
    let text = [(header::CONTENT_TYPE, "text/plain")];
    match uri.path() {
        "/php" => (StatusCode::OK, html, PHP_FATAL).into_response(),
        "/py" => (StatusCode::INTERNAL_SERVER_ERROR, text, PY_TRACEBACK).into_response(),
        "/apache" => (
            [(header::SERVER, "Apache/2.4.57 (Debian)")],
            html,
            "<p>It works</p>",
        )
            .into_response(),
        "/clean" => (StatusCode::INTERNAL_SERVER_ERROR, html, GENERIC_500).into_response(),
        "/hostile" => (StatusCode::INTERNAL_SERVER_ERROR, text, HOSTILE).into_response(),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "late".into_response()
        }
        "/crawl" => {
            let page = format!(
                "<a href=\"/a\">a</a> <a href='b'>b</a> <a href=\"http://127.0.0.1:{other}/x\">off</a> <img src=\"/a\">"
            );
            (html, page).into_response()
        }
        _ => (html, "<p>fine</p>").into_response(),
    }
}

fn probe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .arg("probe")
        .args(args)
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A target's findings as (category, where, severity), each once.
fn findings(target: &Value) -> BTreeSet<(String, String, String)> {
    target["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap().to_owned();
            (s("category"), s("where"), s("severity"))
        })
        .collect()
}

fn set(items: &[(&str, &str, &str)]) -> BTreeSet<(String, String, String)> {
    items
        .iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect()
}

#[test]
fn leaks_are_named_and_fail_the_probe() {
    let s = Server::start(None);
    let urls = ["/php", "/py", "/apache", "/clean"].map(|p| s.url(p));
    let mut args = vec!["--format", "json", "--rate", "500"];
    args.extend(urls.iter().map(String::as_str));
    let out = probe(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    assert_eq!(report["version"], 1);
    let targets = report["targets"].as_array().unwrap();
    let by_url: Vec<(&str, u64)> = targets
        .iter()
        .map(|t| (t["url"].as_str().unwrap(), t["status"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        by_url,
        vec![
            (urls[0].as_str(), 200),
            (urls[1].as_str(), 500),
            (urls[2].as_str(), 200),
            (urls[3].as_str(), 500)
        ]
    );
    let high_stack = ("stack_trace", "body", "high");
    let medium_path = ("file_path", "body", "medium");
    assert_eq!(findings(&targets[0]), set(&[high_stack, medium_path]));
    assert_eq!(findings(&targets[1]), set(&[high_stack, medium_path]));
    assert_eq!(
        findings(&targets[2]),
        set(&[("version_disclosure", "header:Server", "low")])
    );
    assert_eq!(findings(&targets[3]), set(&[]));
    let php = &targets[0]["findings"][0];
    assert_eq!(php["request"], "as_given");
    assert!(
        php["fix"]
            .as_str()
            .unwrap()
            .contains("display_errors = Off")
    );
    assert!(
        php["excerpt"]
            .as_str()
            .unwrap()
            .contains("Uncaught Exception: boom")
    );
    assert!(
        targets[2]["findings"][0]["fix"]
            .as_str()
            .unwrap()
            .contains("ServerTokens Prod")
    );
    // Every target got the URL as given and its six variants.
    assert_eq!(s.paths().iter().filter(|p| *p == "/clean").count(), 7);
}

#[test]
fn only_low_findings_exit_zero() {
    let s = Server::start(None);
    let out = probe(&["--rate", "500", &s.url("/apache"), &s.url("/clean")]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("version_disclosure in header:Server"),
        "{text}"
    );
    assert!(
        text.contains("fix: apache2.conf: ServerTokens Prod"),
        "{text}"
    );
    assert!(text.contains("nothing leaked"), "{text}");
}

#[test]
fn crawl_follows_same_host_links_only() {
    let other = Server::start(None);
    let s = Server::start(Some(other.addr.port()));
    let out = probe(&[
        "--format",
        "json",
        "--rate",
        "500",
        "--crawl",
        "5",
        &s.url("/crawl"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let report = json(&out);
    let urls: Vec<&str> = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["url"].as_str().unwrap())
        .collect();
    assert_eq!(urls, vec![s.url("/crawl"), s.url("/a"), s.url("/b")]);
    assert!(
        other.paths().is_empty(),
        "the other host got {:?}",
        other.paths()
    );
    let paths: BTreeSet<String> = s.paths().into_iter().collect();
    assert_eq!(paths, ["/a", "/b", "/crawl"].map(String::from).into());
}

#[test]
fn crawl_stops_at_n() {
    let s = Server::start(Some(1));
    let out = probe(&[
        "--format",
        "json",
        "--rate",
        "500",
        "--crawl",
        "1",
        &s.url("/crawl"),
    ]);
    let report = json(&out);
    assert_eq!(report["targets"].as_array().unwrap().len(), 2);
    assert!(!s.paths().contains(&"/b".to_owned()));
}

#[test]
fn the_rate_limit_spaces_requests() {
    let s = Server::start(None);
    let out = probe(&["--format", "json", "--rate", "10", &s.url("/clean")]);
    assert_eq!(out.status.code(), Some(0));
    let times: Vec<Instant> = s.log.lock().unwrap().iter().map(|(_, t)| *t).collect();
    assert_eq!(times.len(), 7);
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        // 100 ms apart at the client; arrival may be a little closer than that.
        assert!(gap >= Duration::from_millis(80), "requests {gap:?} apart");
    }
}

#[test]
fn a_timeout_is_reported_not_fatal() {
    let s = Server::start(None);
    let out = probe(&[
        "--format",
        "json",
        "--rate",
        "500",
        "--timeout",
        "0.5",
        &s.url("/slow"),
        &s.url("/php"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    let slow = &report["targets"][0];
    assert_eq!(slow["status"], Value::Null);
    assert!(
        slow["error"].as_str().unwrap().contains("timed out"),
        "{slow}"
    );
    assert_eq!(findings(slow), set(&[]));
    assert!(
        !report["targets"][1]["findings"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("/slow: timed out"), "{stderr}");
}

#[test]
fn nothing_fetched_or_a_bad_url_is_exit_2() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = probe(&["--format", "json", &format!("http://127.0.0.1:{port}/")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no URL could be fetched"), "{stderr}");
    for bad in ["not a url", "ftp://127.0.0.1/", "file:///etc/passwd"] {
        let out = probe(&[bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    for bad_rate in ["0", "-1", "NaN", "inf"] {
        assert_eq!(
            probe(&["--rate", bad_rate, "http://127.0.0.1/"])
                .status
                .code(),
            Some(2)
        );
    }
}

#[test]
fn text_output_carries_no_control_sequences() {
    let s = Server::start(None);
    let out = probe(&["--rate", "500", "--color", "never", &s.url("/hostile")]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Traceback (most recent call last):"),
        "{text}"
    );
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{text:?}"
    );
}

/// Python's http.server behind its ssl module, with the certificate in `dir`; prints its port
/// once it listens.
const TLS_SERVER: &str = r#"
import http.server, ssl
srv = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain("cert.pem", "key.pem")
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#;

/// A real TLS server on 127.0.0.1 (Python's ssl module, OpenSSL's self-signed certificate for
/// 127.0.0.1): probe's https runs on rustls with ring (reqwest carries no provider of its own,
/// and panics without one). Unknown to the system's trust store the certificate is refused;
/// trusted through SSL_CERT_FILE the page is fetched and read.
#[test]
fn https_runs_on_rustls_with_ring_and_verifies_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-keyout", "key.pem", "-out", "cert.pem"])
        .current_dir(dir.path())
        .output()
        .expect("openssl runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let mut server = Command::new("python3")
        .args(["-c", TLS_SERVER])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 runs");
    let mut port = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().unwrap()),
        &mut port,
    )
    .unwrap();
    let url = format!("https://127.0.0.1:{}/", port.trim());

    let untrusted = probe(&["--format", "json", &url]);
    let trusted = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .env("SSL_CERT_FILE", dir.path().join("cert.pem"))
        .args(["probe", "--format", "json", &url])
        .output()
        .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();

    assert_eq!(untrusted.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&untrusted.stderr);
    assert!(stderr.contains("UnknownIssuer"), "{stderr}");
    assert_eq!(
        trusted.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    let report = json(&trusted);
    assert_eq!(report["targets"][0]["status"], 200, "{report:#}");
    // Python's `Server: SimpleHTTP/0.6 Python/3.x`, read from the decrypted answer.
    assert!(
        findings(&report["targets"][0])
            .iter()
            .any(|(category, _, severity)| category == "version_disclosure" && severity == "low"),
        "{report:#}"
    );
}
