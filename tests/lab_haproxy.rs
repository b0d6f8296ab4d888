//! Real HAProxy (Debian's package) in front of backends that fail in the ways its termination
//! state names: a port nothing listens on (`SC`, 503), a backend that never answers within
//! `timeout server` (`sH`, 504), a slot held by such a request while another waits past
//! `timeout queue` (`sQ`, 503), and a backend that answers 500 itself (`----`: the line says
//! nothing, so without the backend's own logs the cause is `unknown`). `fivehundred diagnose`
//! must read HAProxy's log as written (raw, with the syslog header of `format rfc3164`, and in
//! the CLF layout of `option httplog clf`),
//! count every 5xx exactly, and name the cause the `[[access_reason]]` rows map each state to,
//! with the access line as its evidence.
//!
//! In front of nginx and PHP-FPM, an `sH` whose request PHP's own log explains (a script past
//! `max_execution_time`) is that cause, `php_timeout`; one PHP says nothing about (a script
//! sleeping, which is no CPU time) stays `upstream_timeout`.
mod lab;

use lab::haproxy::Haproxy;
use lab::nginx::NginxOptions;
use lab::php_fpm::{FpmOptions, PhpLog, app};
use lab::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

/// A backend on 127.0.0.1: answers every request with `answer` (a whole HTTP response), or,
/// without one, reads the request and holds the connection until the peer closes it.
struct Backend {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

fn backend(answer: Option<&'static str>) -> Backend {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a backend port");
    let port = listener.local_addr().expect("backend address").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            thread::spawn(move || serve(conn, answer));
        }
    });
    Backend { port, accepted }
}

fn serve(mut conn: TcpStream, answer: Option<&str>) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    match answer {
        Some(a) => {
            let _ = conn.write_all(a.as_bytes());
        }
        // Until HAProxy gives up on it and closes.
        None => while conn.read(&mut buf).is_ok_and(|n| n > 0) {},
    }
}

const OK: &str = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
const BROKEN: &str =
    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// The failures one run provokes, by path prefix (= backend).
const DOWN: usize = 3;
const HANG: usize = 2;
const BROKEN_N: usize = 2;
const OK_N: usize = 4;

fn run(log: (&str, &str)) {
    let lab = Lab::new();
    let (ok, broken, hang, held) = (
        backend(Some(OK)),
        backend(Some(BROKEN)),
        backend(None),
        backend(None),
    );
    let proxies = format!(
        "backend ok\n  server s1 127.0.0.1:{}\n\
         backend broken\n  server s1 127.0.0.1:{}\n\
         backend down\n  server s1 127.0.0.1:{}\n\
         backend hang\n  server s1 127.0.0.1:{}\n\
         backend queued\n  timeout queue 300ms\n  server s1 127.0.0.1:{} maxconn 1\n",
        ok.port,
        broken.port,
        free_port(),
        hang.port,
        held.port
    );
    let defaults = "  retries 0\n  timeout connect 2s\n  timeout client 10s\n  timeout server 1s";
    let routes = ["ok", "broken", "down", "hang", "queued"];
    let mut haproxy = Haproxy::start(&lab, log, defaults, &routes, &proxies);

    let mut statuses = gets(haproxy.port, "/ok/index.html", OK_N);
    statuses.extend(gets(haproxy.port, "/broken/app.php", BROKEN_N));
    statuses.extend(gets(haproxy.port, "/down/app.php", DOWN));
    // Both at once: each holds the backend until `timeout server`.
    let port = haproxy.port;
    let hung: Vec<_> = (0..HANG)
        .map(|_| thread::spawn(move || get(port, "/hang/slow.php")))
        .collect();
    // The queued backend's one slot taken, then a second request waits for it in the queue.
    let first = thread::spawn(move || get(port, "/queued/report.php"));
    wait_for("the queued backend's slot to be taken", || {
        held.accepted.load(Ordering::SeqCst) == 1
    });
    statuses.push(get(port, "/queued/report.php"));
    statuses.push(first.join().expect("the first queued request"));
    statuses.extend(
        hung.into_iter()
            .map(|h| h.join().expect("a hanging request")),
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        OK_N,
        "{statuses:?}"
    );

    let total = OK_N + BROKEN_N + DOWN + HANG + 2;
    haproxy.wait_logged(total);
    let report = diagnose(&[&haproxy.log]);
    assert_eq!(
        report["inputs"][0]["format"],
        "haproxy",
        "{}",
        pretty(&report)
    );
    assert_eq!(report["inputs"][0]["unparsed"], 0, "{}", pretty(&report));
    assert_eq!(report["summary"]["requests"], total as u64);
    assert_eq!(report["summary"]["server_errors"], count_5xx(&statuses));
    assert_incident(
        &report,
        "upstream_unavailable",
        503,
        DOWN as u64,
        None,
        None,
    );
    assert_incident(
        &report,
        "upstream_timeout",
        504,
        HANG as u64 + 1,
        None,
        None,
    );
    assert_incident(&report, "worker_pool_exhausted", 503, 1, None, None);
    assert_incident(&report, "unknown", 500, BROKEN_N as u64, None, None);
    // The line that says why is the evidence, with the state the cause was read from.
    for (cause, state) in [
        ("upstream_unavailable", " SC-- "),
        ("upstream_timeout", " sH-- "),
        ("worker_pool_exhausted", " sQ-- "),
    ] {
        let incident = incidents(&report)
            .into_iter()
            .find(|i| i["cause"] == cause)
            .expect("the incident");
        let evidence = incident["evidence"][0].as_str().unwrap_or_default();
        assert!(
            evidence.contains(state) && evidence.contains("HTTP/1.1"),
            "{cause}: {evidence}"
        );
    }
}

#[test]
fn haproxy_raw_log_termination_states_name_the_causes() {
    run(("raw", "httplog"));
}

#[test]
fn haproxy_rfc3164_log_termination_states_name_the_causes() {
    run(("rfc3164", "httplog"));
}

#[test]
fn haproxy_clf_log_termination_states_name_the_causes() {
    run(("raw", "httplog clf"));
}

#[test]
fn haproxy_timeout_behind_which_php_says_why_is_phps_cause() {
    let lab = Lab::new();
    app::write(&lab, "www");
    let fpm = FpmOptions::new()
        .php_log(PhpLog::File)
        .admin_value("max_execution_time", "1")
        .start(&lab);
    let nginx = NginxOptions::new().fastcgi(&fpm).start(&lab);
    // HAProxy gives up before PHP does (half a second against a second of CPU).
    let proxies = format!("backend web\n  server nginx 127.0.0.1:{}\n", nginx.port);
    let defaults =
        "  timeout connect 2s\n  timeout client 10s\n  timeout server 500ms\n  default_backend web";
    let mut haproxy = Haproxy::start(&lab, ("raw", "httplog"), defaults, &[], &proxies);

    let port = haproxy.port;
    let mut statuses = gets(port, &app::url(&app::OK), 2);
    statuses.extend(gets(port, &app::url(&app::CPU_LOOP), 2));
    statuses.push(get(port, &app::url(&app::SLOW)));
    assert_eq!(statuses, [200, 200, 504, 504, 504]);
    haproxy.wait_logged(statuses.len());
    let php_log = fpm.php_error_log.clone().expect("PHP's error_log file");
    wait_for("PHP's two timeouts", || {
        count_in_file(&php_log, "Maximum execution time of 1 second exceeded") == 2
    });

    let report = diagnose(&[&haproxy.log, &php_log]);
    assert_eq!(report["summary"]["server_errors"], 3, "{}", pretty(&report));
    assert_incident(
        &report,
        "php_timeout",
        504,
        2,
        Some(app::CPU_LOOP.path),
        app::CPU_LOOP.line,
    );
    assert_incident(&report, "upstream_timeout", 504, 1, None, None);
    let timeout = incidents(&report)
        .into_iter()
        .find(|i| i["cause"] == "upstream_timeout")
        .expect("the timeout incident");
    assert_eq!(timeout["paths"], serde_json::json!([app::url(&app::SLOW)]));
}
