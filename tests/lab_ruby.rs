//! Ruby: Rails 6.1 under Puma 5.6 (Debian's packages) behind a real nginx, with PostgreSQL
//! refusing the app's password, and each fault injected for real in one run (one Puma, one
//! nginx, one database, as the CI budget asks):
//!
//! - an uncaught exception in the app's own code (`KeyError` from `app/models/cart.rb`) →
//!   `app_exception` at that line;
//! - the database refusing the password (`ActiveRecord::ConnectionNotEstablished`) → `db_auth`
//!   at the controller's query line;
//! - that exception and the database's at once on the two workers, logged by nginx in the same
//!   second: each response gets its own cause, tied by the request id nginx logs
//!   (`$request_id`, read through `--access-format`) and Rails tags its records with;
//! - an export written into a full filesystem (`Errno::ENOSPC`) → `disk_full` at the write;
//! - a report bigger than memory (`NoMemoryError`, which Ruby raises without a backtrace) →
//!   `out_of_memory`;
//! - the database stopped (`… Connection refused / Is the server running on that host …`) →
//!   `db_unreachable`;
//! - a request past Puma's worker timeout (PBKDF2 with far too many rounds holds Ruby's
//!   interpreter lock, so the worker cannot check in and the master kills it: nginx 502) →
//!   `worker_timeout`;
//! - an exception raised in a Rack middleware in front of Rails' own handler: Puma answers
//!   500 and logs `Rack app ("GET /throttled" - (…)): #<ArgumentError: …>` → `app_exception`;
//! - a worker killed mid-request (SIGKILL: Puma says nothing of it, nginx 502) → nginx's own
//!   line, `upstream prematurely closed` from an `http://` upstream → `worker_crash`.
//!
//! The logs are nginx's (its access log with `$request_id` appended, the id Rails tags its
//! lines with), Rails' `production.log` and Puma's stdout/stderr. Rails' own `Started` and
//! `Completed 500` lines are the same requests' other hop: each client request is counted
//! once, from nginx's access log.
#[path = "lab/db.rs"]
mod db;
mod lab;
#[path = "lab/rails.rs"]
mod rails;
#[path = "lab/stack.rs"]
mod stack;

use fivehundred::formats::app::ruby;
use lab::nginx::Nginx;
use lab::*;
use rails::Puma;
use stack::{Expect, assert_app_incident, line_of, records};
use std::thread;

/// How many times each request is made.
const OK_N: usize = 3;
const EXCEPTION_N: usize = 2;

#[test]
fn rails_under_puma_behind_nginx_fails_for_named_reasons_each_counted_once() {
    if lab::skip_unless_root(
        "rails_under_puma_behind_nginx_fails_for_named_reasons_each_counted_once",
    ) {
        return;
    }
    let lab = Lab::new();
    let mut pg = db::DbOptions::postgres().start(&lab);
    let url = pg.wrong_password_url();
    let mut puma = Puma::start(&lab, &url, 3);
    let nginx = rails::nginx_in_front(&lab, &puma);

    let mut statuses = nginx.gets("/ok", OK_N);
    statuses.extend(nginx.gets("/checkout", EXCEPTION_N));
    statuses.push(get(nginx.port, "/orders"));
    let pairs = overlapping_failures(&puma, &nginx);
    statuses.extend([500; 2].repeat(pairs));
    statuses.push(get(nginx.port, "/export"));
    statuses.push(get(nginx.port, "/report"));
    pg.stop();
    statuses.push(get(nginx.port, "/orders"));
    statuses.push(get(nginx.port, "/throttled"));
    // The kill before the timeout: Puma's timeout line explains the proxy's 502s of the few
    // seconds after it too (its reach), and the kill leaves no line of its own.
    statuses.push(puma.killed_mid_request(nginx.port));
    statuses.push(get(nginx.port, "/login"));
    wait_for_log(&puma.puma_log, "Terminating timed out worker");
    assert_eq!(
        statuses,
        [
            [200; OK_N].as_slice(),
            &[500; EXCEPTION_N],
            &[500],
            &[500; 2].repeat(pairs),
            &[500, 500, 500, 500, 502, 502]
        ]
        .concat(),
        "puma said:\n{}",
        std::fs::read_to_string(&puma.puma_log).unwrap_or_default()
    );
    nginx.wait_access_lines(statuses.len());
    exceptions_carry_the_request_id_nginx_logged(&puma, &nginx, EXCEPTION_N + 4 + 2 * pairs);
    timed_out_worker_is_the_one_serving_the_request(&puma);

    let logs = [
        nginx.access_log.as_path(),
        nginx.error_log.as_path(),
        puma.production_log.as_path(),
        puma.puma_log.as_path(),
    ];
    let named: Vec<NamedLog> = logs
        .iter()
        .zip(["access.log", "error.log", "production.log", "puma.log"])
        .map(|(p, name)| (p.to_path_buf(), name))
        .collect();
    save_fixtures(&lab, "nginx-puma", "mixed", "rails", &named);
    // Read with the request ids: each Rails exception is tied to its own request by its id.
    let report = diagnose_with(&["--access-format", rails::ACCESS_FORMAT], &logs);
    let formats: Vec<&str> = incidents_inputs(&report);
    assert_eq!(formats[2..], ["rails", "puma"], "{}", pretty(&report));
    // Every client request once: Rails' `Completed 500` lines are no second 5xx.
    let rails_500s = EXCEPTION_N as u64 + 5 + 2 * pairs as u64;
    assert_server_errors(
        &report,
        count_5xx(&statuses),
        &[(500, rails_500s), (502, 2)],
    );
    let ruby = |cause, paths, count, place, exception| Expect {
        cause,
        paths,
        count,
        language: "ruby",
        place,
        exception,
    };
    let cart = "app/models/cart.rb";
    let controller = "app/controllers/orders_controller.rb";
    assert_app_incident(
        &report,
        &ruby(
            "app_exception",
            &["/checkout"],
            (EXCEPTION_N + pairs) as u64,
            Some((cart, line_of(&puma.root.join(cart), "fetch(:price)"))),
            Some("KeyError"),
        ),
    );
    let query = Some((
        controller,
        line_of(&puma.root.join(controller), "select_value"),
    ));
    let exception = Some("ActiveRecord::ConnectionNotEstablished");
    let auth = ruby("db_auth", &["/orders"], 1 + pairs as u64, query, exception);
    assert_app_incident(&report, &auth);
    let export = "app/controllers/orders_controller.rb";
    let write = Some((export, line_of(&puma.root.join(export), "File.write")));
    let disk = ruby("disk_full", &["/export"], 1, write, Some("Errno::ENOSPC"));
    assert_app_incident(&report, &disk);
    // Ruby raises its one preallocated NoMemoryError without a backtrace; the one Rails logs
    // starts where a frame first re-raised it (the lab's Rack middleware), not at the
    // allocation: that is the place the record gives.
    let app = "config/application.rb";
    let reraised = Some((app, line_of(&puma.root.join(app), "@app.call(env)")));
    let memory = ruby(
        "out_of_memory",
        &["/report"],
        1,
        reraised,
        Some("NoMemoryError"),
    );
    assert_app_incident(&report, &memory);
    let unreachable = ruby("db_unreachable", &["/orders"], 1, query, exception);
    assert_app_incident(&report, &unreachable);
    assert_app_incident(&report, &ruby("worker_timeout", &["/login"], 1, None, None));
    // Raised in a middleware before Rails' handler: Puma's own line, without a backtrace.
    let throttled = ruby(
        "app_exception",
        &["/throttled"],
        1,
        None,
        Some("ArgumentError"),
    );
    assert_app_incident(&report, &throttled);
    // Puma writes nothing when a worker dies of a signal: nginx's own line is all there is,
    // and its upstream (`http://…`, not PHP-FPM's `fastcgi://`) says whose worker died.
    let killed = stack::incident(&report, "worker_crash", &["/slow"]);
    assert_eq!(killed["count"], 1, "{}", pretty(&report));
    assert!(
        !pretty(&report).contains("\"fpm_crash\""),
        "no PHP behind this nginx: {}",
        pretty(&report)
    );
}

/// The `format` of each input, in order.
fn incidents_inputs(report: &serde_json::Value) -> Vec<&str> {
    report["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|i| i["format"].as_str().unwrap_or_default())
        .collect()
}

/// `/checkout` (a `KeyError`) and `/orders` (the database refusing the password) on the two
/// workers, the first held until the second is answered: Rails logs the `KeyError` first, nginx
/// the `/orders` 500 first. Again until nginx logs both in the same second: Rails' exception
/// records name no path, and time pairs them the wrong way round; only the request id tells
/// which is whose. Returns how many pairs it took.
fn overlapping_failures(puma: &Puma, nginx: &Nginx) -> usize {
    let port = nginx.port;
    let mut lines = line_count(&nginx.access_log);
    for pairs in 1..=10 {
        let _ = std::fs::remove_file(&puma.hold_file);
        let logged = count_in_file(&puma.production_log, "KeyError (");
        let held = thread::spawn(move || get(port, "/checkout?hold"));
        wait_for("the held request's KeyError", || {
            count_in_file(&puma.production_log, "KeyError (") > logged
        });
        assert_eq!(get(port, "/orders"), 500);
        std::fs::write(&puma.hold_file, "").expect("release the held request");
        assert_eq!(held.join().expect("the held request"), 500);
        lines += 2;
        nginx.wait_access_lines(lines);
        let access = std::fs::read_to_string(&nginx.access_log).unwrap();
        let second = |l: &str| {
            l.split('[')
                .nth(1)
                .and_then(|t| t.split(']').next())
                .map(str::to_owned)
        };
        let last: Vec<_> = access.lines().rev().take(2).map(second).collect();
        if last[0] == last[1] {
            return pairs;
        }
    }
    panic!("ten pairs of requests and never two in the same second");
}

/// Each of the `n` exception records is tagged with the request id nginx logged on that
/// request's 500 line: what `diagnose` ties them by.
fn exceptions_carry_the_request_id_nginx_logged(puma: &Puma, nginx: &Nginx, n: usize) {
    let access = std::fs::read_to_string(&nginx.access_log).unwrap();
    let fatal: Vec<_> = records(&puma.production_log, ruby::is_rails_header)
        .into_iter()
        .filter_map(|r| {
            ruby::rails_header(&r)
                .filter(|h| h.level == b"FATAL")
                .map(|h| String::from_utf8_lossy(h.request_id.unwrap_or_default()).into_owned())
        })
        .collect();
    assert_eq!(fatal.len(), n);
    for id in fatal {
        let tied = access.lines().find(|l| l.ends_with(&id));
        assert!(
            tied.is_some_and(|l| l.contains("\" 500 ")),
            "{id} not on a 500 line:\n{access}"
        );
    }
}

/// Puma's master names the worker it killed: the one Rails' `Started GET "/login"` came from.
fn timed_out_worker_is_the_one_serving_the_request(puma: &Puma) {
    let killed: Vec<u32> = records(&puma.puma_log, ruby::is_puma_header)
        .iter()
        .filter(|r| r.windows(12).any(|w| w == b"timed out wo"))
        .filter_map(|r| ruby::parse_puma(r).and_then(|e| e.pid))
        .collect();
    assert_eq!(killed, [puma.worker_serving("/login")]);
}
