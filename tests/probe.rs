//! `fivehundred probe` end to end against a local axum server on 127.0.0.1 whose routes leak
//! (a PHP fatal error in a 200, a Python traceback in a 500, a versioned `Server` header) or
//! stay clean (a generic 500):
//!
//! - the JSON names exactly the categories and severities each route leaks, and the exit code
//!   is 1 with a medium/high finding, 0 with only a low one, 2 when nothing could be fetched
//!   or on a bad URL;
//! - `--crawl` follows same-host links only: a second server, the "other host", gets nothing;
//! - the rate limit spaces requests; a timeout is reported in its target, not fatal;
//! - text output carries no control sequence from a hostile body;
//! - `-H`, `--cookie`, `--proxy`, `--insecure` and bare hosts; bad values are one line, exit 2;
//! - SARIF validated against the SARIF 2.1.0 schema, JUnit read back as XML;
//! - one finding per leak and site (the `Server` header once), debug endpoints once per site;
//! - the documented error pages of stacks no package installs here (Spring, ASP.NET, Laravel,
//!   Symfony, Yii, Struts, ColdFusion/Lucee; `tests/fixtures/probe/pages/SOURCES.md`) are found,
//!   their clean variants are not.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
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
/// Requests a server got: the request target as sent and its headers.
type Seen = Arc<Mutex<Vec<(String, axum::http::HeaderMap)>>>;

/// What a test server answers besides its fixed routes.
#[derive(Clone, Copy)]
enum Mode {
    /// The leaky and clean routes; `/crawl` links to this port on the other host.
    Routes(u16),
    /// The documented pages of `tests/fixtures/probe/pages/` under `/pages/NAME`.
    Pages,
    /// Spring Boot's actuator left exposed at `/actuator` and `/actuator/env`.
    Actuator,
}

const PHP_FATAL: &str = "<br />\n<b>Fatal error</b>:  Uncaught Exception: boom in /var/www/html/index.php:3\nStack trace:\n#0 {main}\n  thrown in <b>/var/www/html/index.php</b> on line <b>3</b><br />\n";
const PY_TRACEBACK: &str = "Traceback (most recent call last):\n  File \"/srv/app/app.py\", line 7, in index\n    return 1 / 0\nZeroDivisionError: division by zero\n";
const GENERIC_500: &str = "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.</p>\n";
const HOSTILE: &str = "Traceback (most recent call last):\u{1b}[2J\u{1b}]0;pwned\u{7}\n  File \"/srv/x.py\", line 1, in \u{1b}[31mf\u{9b}\n";

/// A server on 127.0.0.1 with its own runtime; `other` is a port the crawl page links to.
struct Server {
    addr: SocketAddr,
    log: Log,
    seen: Seen,
    _runtime: tokio::runtime::Runtime,
}

impl Server {
    fn start(other: Option<u16>) -> Server {
        Server::with_mode(Mode::Routes(other.unwrap_or(0)))
    }

    fn with_mode(mode: Mode) -> Server {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let log: Log = Arc::default();
        let seen: Seen = Arc::default();
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let app = Router::new()
            .fallback(handle)
            .with_state((log.clone(), seen.clone(), mode));
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
        Server {
            addr,
            log,
            seen,
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

async fn handle(
    State((log, seen, mode)): State<(Log, Seen, Mode)>,
    uri: Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    log.lock()
        .unwrap()
        .push((uri.path().to_owned(), Instant::now()));
    seen.lock()
        .unwrap()
        .push((uri.to_string(), headers.clone()));
    let html = [(header::CONTENT_TYPE, "text/html; charset=UTF-8")];
    let text = [(header::CONTENT_TYPE, "text/plain")];
    let other = match mode {
        Mode::Routes(other) => other,
        Mode::Pages => return page(uri.path()),
        Mode::Actuator => return actuator(uri.path()),
    };
    let cookie = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match uri.path() {
        // Behind a login: a redirect to it without the session cookie, the leak with it.
        "/account" if !cookie.split("; ").any(|c| c == "session=lab") => {
            (StatusCode::FOUND, [(header::LOCATION, "/login")], "").into_response()
        }
        "/account" => (StatusCode::INTERNAL_SERVER_ERROR, text, PY_TRACEBACK).into_response(),
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

/// A documented page of `tests/fixtures/probe/pages/`: HTML as a 500, JSON as a 200.
fn page(path: &str) -> Response {
    let name = path.strip_prefix("/pages/").unwrap_or("missing");
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/probe/pages")
        .join(name);
    let Ok(body) = std::fs::read_to_string(file) else {
        return (StatusCode::NOT_FOUND, "").into_response();
    };
    if name.ends_with(".json") {
        let status = if name.contains("404") {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::OK
        };
        (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    } else {
        let mut response = (StatusCode::INTERNAL_SERVER_ERROR, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            "text/html; charset=UTF-8".parse().unwrap(),
        );
        for (name, value) in page_headers(name) {
            headers.insert(*name, value.parse().unwrap());
        }
        response
    }
}

/// The headers the stack of a documented page sends with it.
fn page_headers(name: &str) -> &'static [(&'static str, &'static str)] {
    match name {
        "aspnet-ysod.html" => &[
            ("x-aspnet-version", "4.0.30319"),
            ("x-aspnetmvc-version", "5.2"),
            ("x-powered-by", "ASP.NET"),
        ],
        "symfony-profiler.html" => &[
            ("x-debug-token", "a1b2c3"),
            ("x-debug-token-link", "http://127.0.0.1/_profiler/a1b2c3"),
        ],
        _ => &[],
    }
}

/// Spring Boot with its actuator exposed: the index and the environment; a page elsewhere.
fn actuator(path: &str) -> Response {
    match path {
        "/actuator" => page("/pages/spring-actuator.json"),
        "/actuator/env" => page("/pages/spring-actuator-env.json"),
        _ => ([(header::CONTENT_TYPE, "text/html")], "<p>shop</p>").into_response(),
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
    let mut want: BTreeSet<String> = ["/a", "/b", "/crawl"].map(String::from).into();
    want.extend(DEBUG_PATHS.map(String::from));
    assert_eq!(paths, want);
}

/// The debug endpoints of `signatures.toml`, requested once per site.
const DEBUG_PATHS: [&str; 5] = [
    "/actuator",
    "/actuator/env",
    "/debug/pprof/",
    "/_profiler/",
    "/_ignition/health-check",
];

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
    // The URL, its six variants and the site's five debug endpoints.
    assert_eq!(times.len(), 7 + DEBUG_PATHS.len());
    // Sent 100 ms apart. One request held up on its way (a loaded machine) arrives closer to
    // the next, so pairs are not all 100 ms apart on arrival; the span is: N requests cannot
    // arrive within less than N-1 gaps, less the first one's delay.
    let span = times[times.len() - 1] - times[0];
    let least = Duration::from_millis(100) * (times.len() as u32 - 1) - Duration::from_millis(150);
    assert!(span >= least, "{} requests within {span:?}", times.len());
    let close = times
        .windows(2)
        .filter(|p| p[1] - p[0] < Duration::from_millis(80))
        .count();
    assert!(close <= 2, "{close} pairs of requests under 80 ms apart");
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

/// A self-signed certificate for 127.0.0.1 (OpenSSL) in `dir`, and Python's TLS server on it;
/// gives the server and its port.
fn tls_server(dir: &Path) -> (std::process::Child, String) {
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
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let mut server = Command::new("python3")
        .args(["-c", TLS_SERVER])
        .current_dir(dir)
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
    (server, port.trim().to_owned())
}

/// A real TLS server on 127.0.0.1 (Python's ssl module, OpenSSL's self-signed certificate for
/// 127.0.0.1): probe's https runs on rustls with ring (reqwest carries no provider of its own,
/// and panics without one). Unknown to the system's trust store the certificate is refused;
/// trusted through SSL_CERT_FILE the page is fetched and read.
#[test]
fn https_runs_on_rustls_with_ring_and_verifies_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, port) = tls_server(dir.path());
    let url = format!("https://127.0.0.1:{port}/");

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

/// The headers a server got on its requests for `path`.
fn headers_for(s: &Server, path: &str) -> Vec<axum::http::HeaderMap> {
    s.seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(target, _)| target.split('?').next() == Some(path))
        .map(|(_, h)| h.clone())
        .collect()
}

#[test]
fn headers_and_cookies_go_with_every_request_and_open_a_page_behind_a_login() {
    let s = Server::start(None);
    let without = probe(&["--format", "json", "--rate", "500", &s.url("/account")]);
    assert_eq!(
        without.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&without.stderr)
    );
    let report = json(&without);
    // Redirected to the login page (same site), which leaks nothing.
    assert_eq!(report["targets"][0]["status"], 200, "{report:#}");
    let with = probe(&[
        "--format",
        "json",
        "--rate",
        "500",
        "--cookie",
        "theme=dark; session=lab",
        "-H",
        "X-Tenant: acme",
        "--header",
        "Authorization: Bearer t0k",
        &s.url("/account"),
    ]);
    assert_eq!(
        with.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&with.stderr)
    );
    let report = json(&with);
    assert_eq!(report["targets"][0]["status"], 500, "{report:#}");
    assert!(findings(&report["targets"][0]).contains(&(
        "stack_trace".to_owned(),
        "body".to_owned(),
        "high".to_owned()
    )));
    let sent = headers_for(&s, "/account");
    // 7 requests without the cookie, 7 with.
    assert_eq!(sent.len(), 14);
    for h in &sent[7..] {
        assert_eq!(h["cookie"], "theme=dark; session=lab");
        assert_eq!(h["x-tenant"], "acme");
        assert_eq!(h["authorization"], "Bearer t0k");
        assert!(
            h["user-agent"]
                .to_str()
                .unwrap()
                .starts_with("fivehundred-probe/")
        );
    }
    // The debug endpoints carry them too.
    assert_eq!(headers_for(&s, "/actuator")[1]["x-tenant"], "acme");
}

#[test]
fn bad_header_cookie_and_proxy_values_are_one_line_and_exit_2() {
    for bad in [
        ["-H", "NoColon"],
        ["-H", "Bad Name: x"],
        ["-H", "X-Ok: line\u{7}bell"],
        ["--cookie", "novalue"],
        ["--cookie", "=x"],
        ["--proxy", "socks5://127.0.0.1:1080"],
        ["--proxy", "not a url"],
    ] {
        let out = probe(&[bad[0], bad[1], "http://127.0.0.1:9/"]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{bad:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{bad:?}");
    }
}

#[test]
fn a_proxy_carries_every_request_and_is_not_a_target() {
    let proxy = Server::start(None);
    // A host that does not resolve: only the proxy can answer for it.
    let out = probe(&[
        "--format",
        "json",
        "--rate",
        "500",
        "--proxy",
        &proxy.url(""),
        "http://shop.invalid/py",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    assert_eq!(report["targets"][0]["url"], "http://shop.invalid/py");
    assert_eq!(report["targets"][0]["status"], 500);
    let seen: Vec<String> = proxy
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|(t, _)| t.clone())
        .collect();
    assert_eq!(seen.len(), 7 + DEBUG_PATHS.len(), "{seen:?}");
    // Absolute-form requests: the proxy was asked for the target, never the other way round.
    assert!(
        seen.iter().all(|t| t.starts_with("http://shop.invalid/")),
        "{seen:?}"
    );
}

#[test]
fn the_same_leak_on_every_url_of_a_site_is_one_finding() {
    let s = Server::start(None);
    let urls = ["/apache", "/apache?x=1", "/py", "/account"].map(|p| s.url(p));
    let mut args = vec![
        "--format",
        "json",
        "--rate",
        "500",
        "--cookie",
        "session=lab",
    ];
    args.extend(urls.iter().map(String::as_str));
    let report = json(&probe(&args));
    let grouped = report["findings"].as_array().unwrap();
    let summary: Vec<(&str, &str, usize)> = grouped
        .iter()
        .map(|f| {
            (
                f["category"].as_str().unwrap(),
                f["where"].as_str().unwrap(),
                f["urls"].as_array().unwrap().len(),
            )
        })
        .collect();
    // The same traceback behind /py and /account; the Apache header on both /apache URLs.
    assert_eq!(
        summary,
        vec![
            ("stack_trace", "body", 2),
            ("file_path", "body", 2),
            ("version_disclosure", "header:Server", 2)
        ],
        "{report:#}"
    );
    assert_eq!(grouped[0]["site"], format!("http://{}", s.addr));
    // Per target, as the spec has it: each URL keeps its own.
    assert_eq!(
        report["targets"][0]["findings"].as_array().unwrap().len(),
        1
    );
    let mut text_args = vec![
        "--rate",
        "500",
        "--color",
        "never",
        "--cookie",
        "session=lab",
    ];
    text_args.extend(urls.iter().map(String::as_str));
    let out = probe(&text_args);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.matches("version_disclosure in header:Server").count(),
        1,
        "{text}"
    );
    assert_eq!(text.matches("stack_trace in body").count(), 1, "{text}");
    assert!(
        text.contains(&format!("on {}, {}", urls[0], urls[1])),
        "{text}"
    );
}

#[test]
fn an_exposed_actuator_is_found_once_per_site() {
    let s = Server::with_mode(Mode::Actuator);
    let out = probe(&[
        "--format",
        "json",
        "--rate",
        "500",
        &s.url("/"),
        &s.url("/cart"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    let urls: Vec<&str> = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["url"].as_str().unwrap())
        .collect();
    let (index, env) = (s.url("/actuator"), s.url("/actuator/env"));
    assert_eq!(
        urls,
        vec![s.url("/").as_str(), &index, &env, &s.url("/cart")]
    );
    let signatures: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["signature"].as_str().unwrap())
        .collect();
    assert_eq!(
        signatures,
        ["spring_actuator", "spring_actuator_env"],
        "{report:#}"
    );
    assert_eq!(report["targets"][1]["findings"][0]["request"], "debug_path");
    assert_eq!(s.paths().iter().filter(|p| *p == "/actuator").count(), 1);
}

/// The SARIF 2.1.0 schema, vendored from the OASIS SARIF TC's repository (CI has no network):
/// https://github.com/oasis-tcs/sarif-spec/blob/main/Schemata/sarif-schema-2.1.0.json
/// (published as https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json).
const SARIF_SCHEMA: &str = include_str!("fixtures/probe/sarif-schema-2.1.0.json");

#[test]
fn sarif_is_valid_sarif_2_1_0_with_one_rule_per_category() {
    let s = Server::start(None);
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}/gone", l.local_addr().unwrap().port())
    };
    let urls = [
        s.url("/php"),
        s.url("/py"),
        s.url("/apache"),
        s.url("/apache?x=1"),
        dead.clone(),
    ];
    let mut args = vec!["--format", "sarif", "--rate", "500"];
    args.extend(urls.iter().map(String::as_str));
    let out = probe(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = json(&out);
    let schema: Value = serde_json::from_str(SARIF_SCHEMA).unwrap();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles");
    let errors: Vec<String> = validator.iter_errors(&log).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}\n{log:#}");
    // And the schema does refuse what is not SARIF.
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&broken));

    let run = &log["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        [
            "debug_console",
            "stack_trace",
            "sql_error",
            "file_path",
            "version_disclosure",
            "internal_address"
        ]
    );
    let results = run["results"].as_array().unwrap();
    let by_rule = |id: &'static str| results.iter().filter(move |r| r["ruleId"] == id);
    assert!(by_rule("stack_trace").all(|r| r["level"] == "error"));
    assert!(by_rule("file_path").all(|r| r["level"] == "warning"));
    let header = by_rule("version_disclosure").next().unwrap();
    assert_eq!(header["level"], "note");
    let uris: Vec<&str> = header["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(uris, [urls[2].as_str(), urls[3].as_str()]);
    let failed = &run["invocations"][0]["toolExecutionNotifications"][0];
    assert!(
        failed["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with(&dead)
    );
}

#[test]
fn junit_has_a_case_per_url_and_a_failure_per_medium_or_high_finding() {
    let s = Server::start(None);
    let urls = [
        s.url("/php"),
        s.url("/apache"),
        s.url("/clean"),
        s.url("/hostile"),
    ];
    let mut args = vec!["--format", "junit", "--rate", "500"];
    args.extend(urls.iter().map(String::as_str));
    let out = probe(&args);
    assert_eq!(out.status.code(), Some(1));
    let xml = String::from_utf8(out.stdout).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("4"));
    let cases: Vec<roxmltree::Node> = root
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let names: Vec<&str> = cases.iter().map(|c| c.attribute("name").unwrap()).collect();
    assert_eq!(names, urls.iter().map(String::as_str).collect::<Vec<_>>());
    let failures = |c: &roxmltree::Node| c.children().filter(|n| n.has_tag_name("failure")).count();
    // /php: a stack trace and a path; /apache: only a low header (system-out); /clean: none;
    // /hostile: a traceback and a path, its control characters gone.
    assert_eq!(cases.iter().map(failures).collect::<Vec<_>>(), [2, 0, 0, 2]);
    let out_text = cases[1]
        .children()
        .find(|n| n.has_tag_name("system-out"))
        .unwrap();
    assert!(out_text.text().unwrap().contains("header:Server"), "{xml}");
    assert_eq!(root.attribute("failures"), Some("4"));
    assert!(!xml.contains('\u{1b}'), "{xml:?}");
}

#[test]
fn insecure_accepts_a_self_signed_certificate_on_a_bare_host_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, port) = tls_server(dir.path());
    let bare = format!("127.0.0.1:{port}");
    let refused = probe(&["--format", "json", &bare]);
    let accepted = probe(&["--format", "json", "--insecure", &bare]);
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("UnknownIssuer"));
    assert_eq!(
        accepted.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&accepted.stderr)
    );
    let report = json(&accepted);
    assert_eq!(
        report["targets"][0]["url"],
        format!("https://127.0.0.1:{port}/")
    );
    assert_eq!(report["targets"][0]["status"], 200);
    let stderr = String::from_utf8(accepted.stderr).unwrap();
    assert!(
        stderr.contains("--insecure: TLS certificates are NOT verified"),
        "{stderr}"
    );
}

#[test]
fn documented_pages_of_stacks_without_a_package_are_found() {
    let s = Server::with_mode(Mode::Pages);
    // (page, the signatures it must give; none: a clean variant, nothing above low).
    let pages: [(&str, &[&str]); 18] = [
        ("spring-whitelabel.html", &["spring_whitelabel"]),
        ("spring-custom-error.html", &[]),
        ("spring-actuator.json", &["spring_actuator"]),
        ("spring-actuator-env.json", &["spring_actuator_env"]),
        ("spring-404.json", &[]),
        (
            "aspnet-ysod.html",
            &[
                "aspnet_error_page",
                "x_aspnet_version",
                "x_aspnetmvc_version",
                "x_powered_by_aspnet",
            ],
        ),
        ("aspnet-custom-errors.html", &[]),
        ("laravel-ignition.html", &["laravel_ignition"]),
        ("laravel-production-500.html", &[]),
        (
            "symfony-profiler.html",
            &[
                "symfony_debug",
                "symfony_debug_token",
                "symfony_debug_token_link",
            ],
        ),
        ("symfony-production-500.html", &[]),
        ("yii-debug.html", &["yii_debug_page"]),
        ("yii-production-error.html", &[]),
        ("struts-problem-report.html", &["struts_problem_report"]),
        ("struts-error-page.html", &[]),
        ("coldfusion-robust.html", &["coldfusion_error"]),
        ("lucee-error.html", &["coldfusion_error"]),
        ("lucee-error-public.html", &[]),
    ];
    let urls: Vec<String> = pages
        .iter()
        .map(|(p, _)| s.url(&format!("/pages/{p}")))
        .collect();
    let mut args = vec!["--format", "json", "--rate", "500"];
    args.extend(urls.iter().map(String::as_str));
    let report = json(&probe(&args));
    let targets = report["targets"].as_array().unwrap();
    for ((page, want), t) in pages.iter().zip(targets) {
        let found: Vec<(&str, &str)> = t["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["signature"].as_str().unwrap(),
                    f["severity"].as_str().unwrap(),
                )
            })
            .collect();
        if want.is_empty() {
            assert!(
                found.iter().all(|(_, sev)| *sev == "low" || *sev == "info"),
                "{page} is a clean variant: {found:?}"
            );
            continue;
        }
        for sig in *want {
            assert!(
                found.iter().any(|(s, _)| s == sig),
                "{page}: no {sig}: {found:?}"
            );
        }
        assert!(
            found.iter().any(|(_, sev)| *sev == "high"),
            "{page}: {found:?}"
        );
    }
}
