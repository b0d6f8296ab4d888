//! A Go `net/http` service (Debian's `golang-go`, tests/lab/app_go/) behind a real nginx: a
//! handler that indexes past a slice's end (net/http recovers, logs `http: panic serving` with
//! the goroutine's stack and drops the connection: nginx's 502), a panic on a goroutine of its
//! own that kills the process (the request in flight and every one after it: 502), and a route
//! that runs the runtime out of memory under `ulimit -v` (502).
//! `fivehundred diagnose` on nginx's logs and the service's stderr must name the cause of each
//! 5xx, count each request once, and say `go`, the panic's kind and the app's own frame: the
//! real path of `main.go` and the line marked in it.
#[path = "lab/db.rs"]
mod db;
mod lab;
#[path = "lab/stack.rs"]
mod stack;

use lab::go::{GoApp, source};
use lab::nginx::NginxOptions;
use lab::*;
use stack::{Expect, assert_app_incident_status, line_of};

/// The Go app behind nginx (`proxy_pass` of every path), its `/orders` querying the database
/// at `database_url`.
fn stack(lab: &Lab, database_url: &str) -> (GoApp, nginx::Nginx) {
    let app = GoApp::start(lab, database_url);
    let nginx = NginxOptions::new()
        .default_location(&format!(
            "location / {{ proxy_pass http://127.0.0.1:{}; }}",
            app.port
        ))
        .start(lab);
    (app, nginx)
}

/// diagnose on nginx's logs and the app's stderr, which must read as Go's.
fn diagnose_stack(
    lab: &Lab,
    app: &GoApp,
    nginx: &nginx::Nginx,
    variant: &str,
) -> serde_json::Value {
    let mut logs = nginx.logs();
    logs.extend(app.logs());
    let report = diagnose(&log_paths(&logs));
    assert_eq!(report["inputs"][2]["format"], "go", "{}", pretty(&report));
    save_fixtures(lab, "go", variant, "nginx", &logs);
    report
}

/// A handler's panic, which net/http recovers from; and `/orders`, whose database (PostgreSQL,
/// through database/sql and lib/pq) refuses the password the deploy gave: the handler logs
/// lib/pq's `pq: password authentication failed for user "app"` and answers 500.
#[test]
fn a_handlers_panic_is_an_app_exception_and_a_refused_password_db_auth() {
    let lab = Lab::new();
    let pg = db::DbOptions::postgres().start(&lab);
    // lib/pq asks for TLS unless told not to; the lab's server has none.
    let url = format!("{}?sslmode=disable", pg.wrong_password_url());
    let (app, nginx) = stack(&lab, &url);
    let mut statuses = nginx.gets("/ok", 1);
    statuses.extend(nginx.gets("/cart?item=3", 2));
    statuses.extend(nginx.gets("/ok", 1));
    statuses.extend(nginx.gets("/orders", 1));
    assert_eq!(statuses, [200, 502, 502, 200, 500]);
    nginx.wait_access_lines(statuses.len());
    wait_for("both panics logged", || {
        count_in_file(&app.log, "http: panic serving") == 2
    });

    let report = diagnose_stack(&lab, &app, &nginx, "handler_panic");
    assert_server_errors(&report, 3, &[(502, 2), (500, 1)]);
    // A `log` line names no frame and no exception.
    let refused = Expect {
        cause: "db_auth",
        paths: &["/orders"],
        count: 1,
        language: "go",
        place: None,
        exception: None,
    };
    assert_app_incident_status(&report, &refused, 500);
    let want = Expect {
        cause: "app_exception",
        paths: &["/cart"],
        count: 2,
        language: "go",
        place: Some((&source_path(), line_of(&source(), "// lab: cart"))),
        exception: Some("runtime.Error"),
    };
    assert_app_incident_status(&report, &want, 502);
}

/// `/export` writes into a full tmpfs: the handler logs Go's `write …: no space left on
/// device` and answers 500. (A stack of its own: its `log` line names no request, and another
/// such failure in the same logged second could be told apart by nothing.)
#[test]
fn a_write_to_a_full_disk_is_disk_full() {
    let lab = Lab::new();
    let (app, nginx) = stack(&lab, "");
    let mut statuses = nginx.gets("/ok", 1);
    statuses.extend(nginx.gets("/export", 1));
    assert_eq!(statuses, [200, 500]);
    nginx.wait_access_lines(statuses.len());
    wait_for("the failed export logged", || {
        log_contains(&app.log, "no space left on device")
    });

    let report = diagnose_stack(&lab, &app, &nginx, "disk_full");
    assert_server_errors(&report, 1, &[(500, 1)]);
    let want = Expect {
        cause: "disk_full",
        paths: &["/export"],
        count: 1,
        language: "go",
        place: None,
        exception: None,
    };
    assert_app_incident_status(&report, &want, 500);
}

/// A panic on a goroutine of its own kills the process; the runtime writes it with no time on
/// any line, so it is placed by the `log` line before it (the app's start). The request in
/// flight is a `worker_crash` at the panicking goroutine's line; those after it, refused while
/// nothing listens, are nginx's `upstream_unavailable`.
#[test]
fn a_crashed_process_is_a_worker_crash_at_the_panicking_goroutines_line() {
    let lab = Lab::new();
    let (app, nginx) = stack(&lab, "");
    let mut statuses = nginx.gets("/ok", 1);
    statuses.extend(nginx.gets("/refresh", 1));
    wait_for("the crash", || log_contains(&app.log, "goroutine"));
    wait_for("the app to exit", || !port_open(app.port));
    statuses.extend(nginx.gets("/ok", 2));
    assert_eq!(statuses, [200, 502, 502, 502]);
    nginx.wait_access_lines(statuses.len());

    let report = diagnose_stack(&lab, &app, &nginx, "crash");
    assert_server_errors(&report, 3, &[(502, 3)]);
    let want = Expect {
        cause: "worker_crash",
        paths: &["/refresh"],
        count: 1,
        language: "go",
        place: Some((&source_path(), line_of(&source(), "// lab: refresh"))),
        exception: Some("panic"),
    };
    assert_app_incident_status(&report, &want, 502);
    assert_incident(&report, "upstream_unavailable", 502, 2, None, None);
    assert!(
        report["inputs"][2].get("untimed").is_none(),
        "{}",
        pretty(&report)
    );
}

/// `/report` keeps what it allocates until the runtime, under the lab's `ulimit -v`, cannot
/// map more: `fatal error: out of memory` with no time, placed by the app's start line, is the
/// request's `out_of_memory` at the allocating line. (Its own stack: two deaths of one process
/// in one logged second, each with only a time to go by, could be told apart by nothing.)
#[test]
fn a_process_out_of_address_space_is_out_of_memory_at_the_allocating_line() {
    let lab = Lab::new();
    let (app, nginx) = stack(&lab, "");
    let statuses = nginx.gets("/report", 1);
    wait_for("the runtime to run out of memory", || {
        log_contains(&app.log, "fatal error: out of memory")
    });
    assert_eq!(statuses, [502]);
    nginx.wait_access_lines(statuses.len());

    let report = diagnose_stack(&lab, &app, &nginx, "out_of_memory");
    assert_server_errors(&report, 1, &[(502, 1)]);
    let want = Expect {
        cause: "out_of_memory",
        paths: &["/report"],
        count: 1,
        language: "go",
        place: Some((&source_path(), line_of(&source(), "// lab: report"))),
        exception: None,
    };
    assert_app_incident_status(&report, &want, 502);
}

/// The app's source file as a report names it.
fn source_path() -> String {
    source().to_string_lossy().into_owned()
}
