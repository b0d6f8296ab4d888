//! Ruby: Rails 6.1 under Puma 5.6 (Debian's packages) behind a real nginx, with PostgreSQL
//! refusing the app's password, and each fault injected for real in one run (one Puma, one
//! nginx, one database, as the CI budget asks):
//!
//! - an uncaught exception in the app's own code (`KeyError` from `app/models/cart.rb`);
//! - the database refusing the password (`ActiveRecord::ConnectionNotEstablished`);
//! - a request past Puma's worker timeout (PBKDF2 with far too many rounds holds Ruby's
//!   interpreter lock, so the worker cannot check in and the master kills it: nginx 502);
//! - a worker killed mid-request (SIGKILL; Puma says nothing but boots a replacement: 502).
//!
//! The logs are nginx's (its access log with `$request_id` appended, the id Rails tags its
//! lines with), Rails' `production.log` and Puma's stdout/stderr; the test reads them with the
//! Ruby parsers and checks what they say against what was done, and that `diagnose` counts
//! each client request once.
#[path = "lab/db.rs"]
mod db;
mod lab;
#[path = "lab/rails.rs"]
mod rails;
#[path = "lab/records.rs"]
mod records;

use fivehundred::formats::app::ruby;
use lab::nginx::{Nginx, NginxOptions};
use lab::*;
use rails::Puma;
use records::{records, source_line};
use std::thread;

/// How many times each request is made.
const OK_N: usize = 3;
const EXCEPTION_N: usize = 2;

/// nginx's `combined` with the request id appended (an extra field `diagnose` reads past).
const LOG_FORMAT: &str = "log_format with_id '$remote_addr - $remote_user [$time_local] \
     \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" $request_id';";

fn nginx_in_front(lab: &Lab, puma: &Puma) -> Nginx {
    let access = lab.path("log/nginx-access.log");
    NginxOptions::new()
        .http(LOG_FORMAT)
        .server(&format!("access_log {} with_id;", access.display()))
        .default_location(&rails::proxy_location(puma.port))
        .start(lab)
}

/// The records of `production.log` at `level` (`FATAL`…).
fn rails_records(puma: &Puma, level: &[u8]) -> Vec<Vec<u8>> {
    records(&puma.production_log, ruby::is_rails_header)
        .into_iter()
        .filter(|r| ruby::rails_header(r).is_some_and(|h| h.level == level))
        .collect()
}

/// The 1-based line of the app's `file` that contains `needle`.
fn line_of(puma: &Puma, file: &str, needle: &str) -> u32 {
    let text = std::fs::read_to_string(puma.root.join(file)).expect("read the app's source");
    let at = text.lines().position(|l| l.contains(needle));
    at.map(|i| i as u32 + 1)
        .unwrap_or_else(|| panic!("{needle:?} not in {file}"))
}

#[test]
fn rails_under_puma_behind_nginx_logs_each_fault_in_its_own_words() {
    if lab::skip_unless_root("rails_under_puma_behind_nginx_logs_each_fault_in_its_own_words") {
        return;
    }
    let lab = Lab::new();
    let pg = db::DbOptions::postgres().start(&lab);
    let url = format!(
        "postgres://{}:{}@127.0.0.1:{}/{}",
        db::APP_USER,
        db::WRONG_PASSWORD,
        pg.port,
        db::DB_NAME
    );
    let mut puma = Puma::start(&lab, &url, 3);
    let nginx = nginx_in_front(&lab, &puma);

    let mut statuses = nginx.gets("/ok", OK_N);
    statuses.extend(nginx.gets("/checkout", EXCEPTION_N));
    statuses.push(get(nginx.port, "/orders"));
    statuses.push(get(nginx.port, "/login"));
    wait_for_log(&puma.puma_log, "Terminating timed out worker");
    puma.wait_booted(rails::WORKERS + 1);
    statuses.push(killed_mid_request(&mut puma, nginx.port));
    assert_eq!(
        statuses,
        [
            [200; OK_N].as_slice(),
            &[500; EXCEPTION_N],
            &[500, 502, 502]
        ]
        .concat(),
        "puma said:\n{}",
        std::fs::read_to_string(&puma.puma_log).unwrap_or_default()
    );
    nginx.wait_access_lines(statuses.len());

    exception_names_class_and_model_line(&puma, &nginx);
    refused_password_names_the_controller_line(&puma);
    timed_out_worker_is_the_one_serving_the_request(&puma);

    let logs = [
        nginx.access_log.as_path(),
        nginx.error_log.as_path(),
        puma.production_log.as_path(),
        puma.puma_log.as_path(),
    ];
    let report = diagnose(&logs);
    assert_server_errors(&report, count_5xx(&statuses), &[(500, 3), (502, 2)]);
}

/// `GET /slow` holds a worker; SIGKILL it while it does: nginx answers 502.
fn killed_mid_request(puma: &mut Puma, port: u16) -> u16 {
    let pending = thread::spawn(move || get(port, "/slow"));
    wait_for("a worker to start /slow", || {
        puma.worker_serving("/slow") != 0
    });
    let pid = puma.worker_serving("/slow");
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill the worker");
    assert!(killed.success(), "kill -KILL {pid}");
    let status = pending.join().expect("the /slow request");
    puma.wait_booted(rails::WORKERS + 2);
    status
}

/// Both exceptions: `KeyError` at `app/models/cart.rb`'s `fetch(:price)` line, each tagged
/// with the request id nginx logged on its 500 line.
fn exception_names_class_and_model_line(puma: &Puma, nginx: &Nginx) {
    let fatal: Vec<_> = rails_records(puma, b"FATAL")
        .into_iter()
        .filter(|r| ruby::exception(r) == Some(b"KeyError"))
        .collect();
    assert_eq!(fatal.len(), EXCEPTION_N);
    let line = line_of(puma, "app/models/cart.rb", "fetch(:price)");
    let access = std::fs::read_to_string(&nginx.access_log).unwrap();
    for record in &fatal {
        assert_eq!(
            ruby::first_app_frame(record),
            Some((&b"app/models/cart.rb"[..], line))
        );
        assert!(source_line(&puma.root.join("app/models/cart.rb"), line).contains("fetch"));
        let id = ruby::rails_header(record)
            .and_then(|h| h.request_id)
            .unwrap();
        let id = std::str::from_utf8(id).unwrap();
        let tied = access.lines().find(|l| l.ends_with(id)).unwrap();
        assert!(tied.contains("\"GET /checkout HTTP/1.1\" 500 "), "{tied}");
    }
}

/// PostgreSQL refused the password: Rails' record says so, at the controller's query line.
fn refused_password_names_the_controller_line(puma: &Puma) {
    let records = rails_records(puma, b"FATAL");
    let refused = records
        .iter()
        .find(|r| ruby::exception(r) == Some(b"ActiveRecord::ConnectionNotEstablished"))
        .expect("a ConnectionNotEstablished record");
    let text = String::from_utf8_lossy(refused);
    assert!(
        text.contains("password authentication failed for user \"app\""),
        "{text}"
    );
    let line = line_of(puma, "app/controllers/orders_controller.rb", "select_value");
    assert_eq!(
        ruby::first_app_frame(refused),
        Some((&b"app/controllers/orders_controller.rb"[..], line))
    );
}

/// Puma's master names the worker it killed: the one Rails' `Started GET "/login"` came from.
fn timed_out_worker_is_the_one_serving_the_request(puma: &Puma) {
    let killed: Vec<u32> = records(&puma.puma_log, ruby::is_puma_header)
        .iter()
        .filter_map(|r| match ruby::puma_line(r) {
            Some(ruby::PumaLine::Event { message, .. }) => ruby::timed_out_worker(message),
            _ => None,
        })
        .collect();
    assert_eq!(killed, [puma.worker_serving("/login")]);
}
