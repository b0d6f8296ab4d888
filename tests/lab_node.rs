//! Node: an Express app (Express 5 and pg from npm, pinned) behind a real nginx, with
//! PostgreSQL refusing the app's password, and each fault injected for real in one run:
//!
//! - an exception in the app's own code that Express's default error handler answers 500;
//! - the database refusing the password (pg's `error: password authentication failed`);
//! - a write to a full 64 KiB tmpfs (`Error: ENOSPC: no space left on device`), 500;
//! - the database stopped (`Error: connect ECONNREFUSED`, from node:net), 500;
//! - an exception nothing catches (thrown in a timer): Node prints it and exits, nginx answers
//!   502 for that request and for the next one while nothing listens;
//! - V8 running out of heap in a route that keeps what it builds: Node aborts, 502.
//!
//! The logs are nginx's and Node's stdout/stderr, kept twice: as written (no time on any line)
//! and as a real rsyslogd wrote them from `logger` (each line with the time it came). The test
//! reads Node's with the Node parser and checks what it says against what was done; `diagnose`
//! on the syslog file ties each 5xx to Node's record of it (cause, app frame, language,
//! exception), counting each client request once; on the plain file, Node's records are
//! counted as untimed and tied to nothing.
#[path = "lab/db.rs"]
mod db;
mod lab;
#[path = "lab/node.rs"]
mod node;
#[path = "lab/stack.rs"]
mod stack;

use fivehundred::formats::app::node::{self as parse, NodeLine};
use lab::nginx::NginxOptions;
use lab::*;
use node::Node;
use stack::{Expect, assert_app_incident_status, line_of, records};

const OK_N: usize = 3;
const EXCEPTION_N: usize = 2;

/// The path of the app's `file` and its 1-based line that contains `needle`.
fn place(file: &str, needle: &str) -> (String, u32) {
    let path = node::app_dir().join(file);
    let line = line_of(&path, needle) as u32;
    (path.display().to_string(), line)
}

/// A record's header line (what [`parse::node_line`] reads).
fn first_line(record: &[u8]) -> &[u8] {
    record.split(|&b| b == b'\n').next().unwrap_or_default()
}

#[test]
fn express_under_node_behind_nginx_logs_each_fault_in_its_own_words() {
    if lab::skip_unless_root("express_under_node_behind_nginx_logs_each_fault_in_its_own_words") {
        return;
    }
    let lab = Lab::new();
    let mut pg = db::DbOptions::postgres().start(&lab);
    let url = pg.wrong_password_url();
    let mut app = Node::start(&lab, &url);
    let nginx = NginxOptions::new()
        .default_location(&node::proxy_location(app.port))
        .start(&lab);

    let mut statuses = nginx.gets("/ok", OK_N);
    statuses.extend(nginx.gets("/checkout", EXCEPTION_N));
    statuses.push(get(nginx.port, "/orders"));
    statuses.push(get(nginx.port, "/upload"));
    pg.stop();
    statuses.push(get(nginx.port, "/orders"));
    statuses.push(get(nginx.port, "/export?n=7"));
    app.wait_exited();
    statuses.push(get(nginx.port, "/ok"));
    app.restart();
    statuses.push(get(nginx.port, "/report"));
    app.wait_exited();
    assert_eq!(
        statuses,
        [
            [200; OK_N].as_slice(),
            &[500; EXCEPTION_N],
            &[500, 500, 500, 502, 502, 502]
        ]
        .concat(),
        "node said:\n{}",
        std::fs::read_to_string(&app.log).unwrap_or_default()
    );
    nginx.wait_access_lines(statuses.len());

    let records = records(&app.log, parse::is_header);
    handled_exception_names_class_and_app_line(&records);
    refused_password_is_pg_s_error(&records);
    uncaught_exception_names_where_it_was_thrown_and_the_exit(&records);
    heap_exhaustion_is_v8_s_fatal_error(&records);

    app.wait_syslog();
    // The records a rule names a cause in: both `TypeError`s, pg's refusal, the full disk, pg
    // finding no server, the `RangeError` Node exited on, V8's `FATAL ERROR`.
    untimed_records_are_counted_not_tied(&nginx, &app, &statuses, EXCEPTION_N + 5);
    let logs = [
        nginx.access_log.as_path(),
        nginx.error_log.as_path(),
        app.syslog.as_path(),
    ];
    let named: Vec<NamedLog> = logs
        .iter()
        .zip(["access.log", "error.log", "node-syslog.log"])
        .map(|(p, name)| (p.to_path_buf(), name))
        .collect();
    save_fixtures(&lab, "nginx-node", "mixed", "express", &named);
    let report = diagnose(&logs);
    assert_eq!(report["inputs"][2]["format"], "node", "{}", pretty(&report));
    assert_eq!(report["inputs"][2]["envelope"], "syslog_rfc3164");
    // Every client request once, each explained by the record Node wrote for it, placed by
    // the time rsyslogd wrote its lines.
    assert_server_errors(&report, count_5xx(&statuses), &[(500, 5), (502, 3)]);
    let (cart, line) = place("cart.js", "toFixed");
    let incident = |cause, paths, count, place, exception| Expect {
        cause,
        paths,
        count,
        language: "javascript",
        place,
        exception,
    };
    let handled = incident(
        "app_exception",
        &["/checkout"],
        EXCEPTION_N as u64,
        Some((&cart, u64::from(line))),
        Some("TypeError"),
    );
    assert_app_incident_status(&report, &handled, 500);
    // pg's frames are all in node_modules: no app frame to name.
    let refused = incident("db_auth", &["/orders"], 1, None, Some("error"));
    assert_app_incident_status(&report, &refused, 500);
    let (server, line) = place("server.js", "// lab: upload");
    let full = incident(
        "disk_full",
        &["/upload"],
        1,
        Some((&server, u64::from(line))),
        Some("Error"),
    );
    assert_app_incident_status(&report, &full, 500);
    // With the database stopped, pg hands on node:net's own error, `Error: connect
    // ECONNREFUSED 127.0.0.1:PORT`, whose stack and properties name no database: read as
    // what it says, an exception the app did not handle.
    let unreachable = incident("app_exception", &["/orders"], 1, None, Some("Error"));
    assert_app_incident_status(&report, &unreachable, 500);
    // The request in flight when Node exited, at the throw of the exception it exited on; the
    // one after, refused, is nginx's own.
    let (server, thrown) = place("server.js", "throw new RangeError");
    let exited = incident(
        "worker_crash",
        &["/export"],
        1,
        Some((&server, u64::from(thrown))),
        Some("RangeError"),
    );
    assert_app_incident_status(&report, &exited, 502);
    assert_incident(&report, "upstream_unavailable", 502, 1, None, None);
    let heap = incident("out_of_memory", &["/report"], 1, None, None);
    assert_app_incident_status(&report, &heap, 502);
}

/// Node's own output, with no time on any line and no envelope, beside nginx's logs: each
/// record kept (`classified` of them, here) is counted in `inputs[].untimed`, never tied to a
/// response; the 5xx are what nginx's own lines say.
fn untimed_records_are_counted_not_tied(
    nginx: &lab::nginx::Nginx,
    app: &Node,
    statuses: &[u16],
    classified: usize,
) {
    let report = diagnose(&[&nginx.access_log, &nginx.error_log, &app.log]);
    assert_eq!(report["inputs"][2]["format"], "node", "{}", pretty(&report));
    assert_eq!(
        report["inputs"][2]["untimed"].as_u64(),
        Some(classified as u64),
        "{}",
        pretty(&report)
    );
    assert_server_errors(&report, count_5xx(statuses), &[(500, 5), (502, 3)]);
    // nginx's own lines: the upstream closed (an HTTP upstream's `worker_crash`), refused;
    // the 500s nginx writes nothing for are `unknown`. No incident is Node's.
    let causes = causes(&report);
    assert!(
        causes
            .iter()
            .all(|c| ["unknown", "worker_crash", "upstream_unavailable"].contains(&c.as_str())),
        "{causes:?}"
    );
    assert!(
        incidents(&report)
            .iter()
            .all(|i| i.get("language").is_none()),
        "{}",
        pretty(&report)
    );
}

/// Both `TypeError`s, at `cart.js`'s `toFixed` line (not Express's `node_modules` frames).
fn handled_exception_names_class_and_app_line(records: &[Vec<u8>]) {
    let (file, line) = place("cart.js", "toFixed");
    let handled: Vec<_> = records
        .iter()
        .filter(|r| parse::exception(r) == Some(b"TypeError"))
        .collect();
    assert_eq!(handled.len(), EXCEPTION_N);
    for r in handled {
        assert_eq!(parse::first_app_frame(r), Some((file.as_bytes(), line)));
    }
}

/// pg's `error:` record: the password was refused; every frame is pg's own.
fn refused_password_is_pg_s_error(records: &[Vec<u8>]) {
    let refused = records
        .iter()
        .find(|r| parse::exception(r) == Some(b"error"))
        .expect("pg's error record");
    let text = String::from_utf8_lossy(refused);
    assert!(
        text.contains("password authentication failed for user \"app\""),
        "{text}"
    );
    assert!(text.contains("node_modules/pg"), "{text}");
}

/// Where the `RangeError` was thrown (`server.js`'s `throw` line), then the error with the
/// same first app frame, with Node's exit line in its record.
fn uncaught_exception_names_where_it_was_thrown_and_the_exit(records: &[Vec<u8>]) {
    let (file, line) = place("server.js", "throw new RangeError");
    let thrown = records
        .iter()
        .position(|r| {
            matches!(parse::node_line(first_line(r)), Some(NodeLine::Thrown { file: f, line: l })
                if f == file.as_bytes() && l == line)
        })
        .expect("the thrown-at record");
    let error = &records[thrown + 1];
    assert_eq!(parse::exception(error), Some(&b"RangeError"[..]));
    assert_eq!(parse::first_app_frame(error), Some((file.as_bytes(), line)));
    let mut lines = error.split(|&b| b == b'\n');
    assert!(lines.any(|l| parse::node_line(l) == Some(NodeLine::Exit)));
}

/// V8's `FATAL ERROR: … JavaScript heap out of memory`.
fn heap_exhaustion_is_v8_s_fatal_error(records: &[Vec<u8>]) {
    let oom = records.iter().any(|r| {
        matches!(parse::node_line(first_line(r)), Some(NodeLine::Fatal { message })
            if message.ends_with(b"JavaScript heap out of memory"))
    });
    assert!(oom, "no heap-exhaustion record");
}
