//! Python behind a real nginx: Django under gunicorn and Flask under uWSGI (Debian's
//! packages), one nginx in front of both (`/dj/…` proxied to gunicorn, `/fl/…` passed to
//! uWSGI), each fault provoked for real:
//! - an uncaught exception in a view (`KeyError`): Django logs `Internal Server Error: /dj/boom`
//!   and Flask `Exception on /fl/boom [GET]`, each with the traceback → `app_exception`, at the
//!   view's own line, not Django's or Flask's;
//! - a view that allocates more than the machine can give (`MemoryError`) → `out_of_memory`,
//!   in each app;
//! - a view that writes into a full filesystem (a tmpfs, `[Errno 28]`) → `disk_full`, in each;
//! - a view whose database refuses the password (PostgreSQL from tests/lab/db.rs, psycopg2,
//!   through Django's ORM and directly from Flask) → `db_auth`; the same views once the
//!   database is stopped → `db_unreachable`;
//! - a view that runs past gunicorn's `--timeout` (`WORKER TIMEOUT`) or uWSGI's `harakiri`
//!   → `worker_timeout`: nginx answers 502 and says only that the upstream closed the
//!   connection; the application server's record says why;
//! - a worker killed with SIGKILL mid-request → `worker_crash`, the same way;
//! - uWSGI's listen queue full behind its one busy worker, nginx giving up on the waiting
//!   requests (504, `upstream timed out`) → `worker_pool_exhausted`;
//! - gunicorn's backlog behind its one busy worker: gunicorn writes nothing for the requests
//!   waiting there, nginx gives up on them (504) → `upstream_timeout`, nginx's word.
//!
//! `fivehundred diagnose` reads nginx's logs with gunicorn's (its error log and its
//! `--access-logfile`) and uWSGI's as written and must count each client request once:
//! gunicorn's access lines (nginx connects from 127.0.0.2, `proxy_bind`) and uWSGI's own
//! request lines are the same requests' other hop, and `inputs[].hop_of` says so; read alone,
//! they are the count. Each 5xx must come with its cause, `language: python`, the exception and the first frame of the app's code.
#[path = "lab/db.rs"]
mod db;
mod lab;
#[path = "lab/python.rs"]
mod python;
#[path = "lab/stack.rs"]
mod stack;

use db::{APP_USER, DB_NAME, DbOptions, WRONG_PASSWORD};
use lab::nginx::NginxOptions;
use lab::*;
use python::{AppServer, app_dir};
use serde_json::Value;
use std::process::Command;
use std::thread;

/// Asserts an incident's count, language, place (file under the app dir, and the line that
/// holds a needle) and exception.
fn assert_app_incident(
    report: &Value,
    (cause, paths, count): (&str, &[&str], u64),
    place: Option<(&str, &str)>,
    exception: Option<&str>,
) {
    let place = place.map(|(file, needle)| {
        let path = app_dir().join(file);
        (path.display().to_string(), stack::line_of(&path, needle))
    });
    stack::assert_app_incident(
        report,
        &stack::Expect {
            cause,
            paths,
            count,
            language: "python",
            place: place.as_ref().map(|(file, line)| (file.as_str(), *line)),
            exception,
        },
    );
}

/// Sends a GET for a slow view in the background, waits until the view has started, kills
/// the worker serving it with SIGKILL, and returns the status the client got.
fn killed_mid_request(nginx_port: u16, app: &AppServer, path: &'static str) -> u16 {
    app.forget_started();
    let client = thread::spawn(move || get(nginx_port, path));
    let pid = app.wait_started();
    app.kill_worker(pid);
    client.join().expect("client thread")
}

/// What uWSGI's master writes when a socket's listen queue is full.
const QUEUE_FULL: &str = "listen queue of socket";
/// Requests sent at once behind a held worker: more than its listen queue (2) holds.
const QUEUED: u64 = 6;

#[test]
fn django_under_gunicorn_and_flask_under_uwsgi_fail_for_named_reasons_each_counted_once() {
    if skip_unless_root("lab_python") {
        return;
    }
    let lab = Lab::new();
    let mut pg = db::Db::start(&lab, DbOptions::postgres());
    let upload = lab.mount_tmpfs("upload", "64k");
    let mut env = vec![
        ("LAB_PG_PORT", pg.port.to_string()),
        ("LAB_PG_DB", DB_NAME.to_string()),
        ("LAB_PG_USER", APP_USER.to_string()),
        ("LAB_PG_PASSWORD", WRONG_PASSWORD.to_string()),
    ];
    if let Some(dir) = &upload {
        env.push(("LAB_UPLOAD", dir.display().to_string()));
    }
    let gunicorn = AppServer::gunicorn(&lab, 2, &env);
    let uwsgi = AppServer::uwsgi(&lab, 2, &env);
    let nginx = NginxOptions::new()
        .server(&format!(
            // nginx connects from an address of its own, as a proxy in front of clients
            // does: gunicorn's access log then names nginx, not the clients.
            "location /dj/ {{ proxy_pass http://127.0.0.1:{}; proxy_bind 127.0.0.2; }}",
            gunicorn.port
        ))
        // Where nginx waits for gunicorn only a second: requests in its backlog.
        .server(&format!(
            "location /dj/queued {{ proxy_pass http://127.0.0.1:{}; proxy_bind 127.0.0.2; \
             proxy_read_timeout 1s; }}",
            gunicorn.port
        ))
        .server(&format!(
            "location /fl/ {{ include /etc/nginx/uwsgi_params; uwsgi_pass 127.0.0.1:{}; }}",
            uwsgi.port
        ))
        // Where nginx waits for uWSGI only a second: requests queued behind a busy worker.
        .server(&format!(
            "location /fl/queued {{ include /etc/nginx/uwsgi_params; uwsgi_pass 127.0.0.1:{}; \
             uwsgi_connect_timeout 1s; uwsgi_read_timeout 1s; }}",
            uwsgi.port
        ))
        .start(&lab);
    let port = nginx.port;

    let mut statuses = vec![get(port, "/dj/ok"), get(port, "/fl/ok")];
    assert_eq!(statuses, [200, 200], "the apps answer");
    let mut expect = |path: &str, got: Vec<u16>, want: u16| {
        assert!(
            got.iter().all(|&s| s == want),
            "{path}: {got:?}, want {want}"
        );
        statuses.extend(got);
    };
    expect("/dj/boom", gets(port, "/dj/boom", 2), 500);
    expect("/dj/memory", vec![get(port, "/dj/memory")], 500);
    expect("/dj/db", vec![get(port, "/dj/db")], 500);
    expect("/fl/db", vec![get(port, "/fl/db")], 500);
    pg.stop();
    expect("/dj/db-down", vec![get(port, "/dj/db-down")], 500);
    expect("/fl/db-down", vec![get(port, "/fl/db-down")], 500);
    if upload.is_some() {
        expect("/dj/disk", vec![get(port, "/dj/disk")], 500);
        expect("/fl/disk", vec![get(port, "/fl/disk")], 500);
    }
    expect("/fl/memory", vec![get(port, "/fl/memory")], 500);
    expect("/dj/slow", vec![get(port, "/dj/slow")], 502);
    gunicorn.wait_logged("Booting worker", 2);
    let killed = killed_mid_request(port, &gunicorn, "/dj/stuck");
    expect("/dj/stuck", vec![killed], 502);
    gunicorn.wait_logged("Booting worker", 3);
    // gunicorn's backlog: its one worker held, requests wait in the kernel's listen queue,
    // which gunicorn neither sees nor logs; nginx gives up on them after a second (504) and
    // says only that the upstream timed out: `upstream_timeout`, nginx's word.
    gunicorn.forget_started();
    let hold = thread::spawn(move || get(port, "/dj/hold"));
    gunicorn.wait_started();
    expect("/dj/queued", get_concurrent(port, "/dj/queued", 2), 504);
    expect("/dj/hold", vec![hold.join().expect("client thread")], 502);
    gunicorn.wait_logged("Booting worker", 4);
    expect("/fl/boom", vec![get(port, "/fl/boom")], 500);
    expect("/fl/slow", vec![get(port, "/fl/slow")], 502);
    uwsgi.wait_logged("Respawned uWSGI worker", 1);
    let killed = killed_mid_request(port, &uwsgi, "/fl/stuck");
    expect("/fl/stuck", vec![killed], 502);
    uwsgi.wait_logged("Respawned uWSGI worker", 2);
    // The listen queue full: the one worker held by a slow request (until harakiri ends it),
    // more requests than the queue holds behind it, which nginx gives up on after a second.
    // uWSGI's master looks at the queue once a second: again until it has seen it full.
    let mut rounds: u64 = 0;
    while rounds == 0 || (rounds < 3 && count_in_file(&uwsgi.log, QUEUE_FULL) == 0) {
        uwsgi.forget_started();
        let hold = thread::spawn(move || get(port, "/fl/hold"));
        uwsgi.wait_started();
        expect(
            "/fl/queued",
            get_concurrent(port, "/fl/queued", QUEUED as usize),
            504,
        );
        expect("/fl/hold", vec![hold.join().expect("client thread")], 502);
        rounds += 1;
        uwsgi.wait_logged("Respawned uWSGI worker", 2 + rounds as usize);
    }
    uwsgi.wait_logged(QUEUE_FULL, 1);
    nginx.wait_access_lines(statuses.len());

    let gunicorn_access = gunicorn.access_log.as_ref().expect("gunicorn's access log");
    let report = diagnose(&[
        &nginx.access_log,
        &nginx.error_log,
        &gunicorn.log,
        gunicorn_access,
        &uwsgi.log,
    ]);
    let formats: Vec<&str> = report["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|i| i["format"].as_str().unwrap_or_default())
        .collect();
    // uWSGI's log is read twice: its request lines as an access log, the rest as its own.
    let want = ["gunicorn", "combined", "uwsgi_requests", "uwsgi"];
    assert_eq!(formats[2..], want, "{}", pretty(&report));
    // gunicorn's access log and uWSGI's request lines are nginx's requests' second hop, and
    // inputs[] says so.
    let proxy = nginx.access_log.display().to_string();
    let hops: Vec<Option<&str>> = report["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|i| i["hop_of"].as_str())
        .collect();
    let want = [
        None,
        None,
        None,
        Some(proxy.as_str()),
        Some(proxy.as_str()),
        None,
    ];
    assert_eq!(hops, want, "{}", pretty(&report));
    // Every client request once: uWSGI's request lines are the same requests' second hop.
    assert_server_errors(&report, count_5xx(&statuses), &[]);
    assert_eq!(
        report["summary"]["requests"].as_u64(),
        Some(statuses.len() as u64),
        "{}",
        pretty(&report)
    );

    let views = "djapp/views.py";
    assert_app_incident(
        &report,
        ("app_exception", &["/dj/boom"], 2),
        Some((views, "order[\"customer\"]")),
        Some("KeyError"),
    );
    assert_app_incident(
        &report,
        ("out_of_memory", &["/dj/memory"], 1),
        Some((views, "bytearray(")),
        Some("MemoryError"),
    );
    assert_app_incident(
        &report,
        ("db_auth", &["/dj/db"], 1),
        Some((views, "connection.cursor()")),
        Some("django.db.utils.OperationalError"),
    );
    assert_app_incident(
        &report,
        ("db_unreachable", &["/dj/db-down"], 1),
        Some((views, "connection.cursor()")),
        Some("django.db.utils.OperationalError"),
    );
    if upload.is_some() {
        assert_app_incident(
            &report,
            ("disk_full", &["/dj/disk"], 1),
            Some((views, "f.write(")),
            Some("OSError"),
        );
    }
    assert_app_incident(
        &report,
        ("app_exception", &["/fl/boom"], 1),
        Some(("flaskapp.py", "prices[\"coffee\"]")),
        Some("KeyError"),
    );
    assert_app_incident(
        &report,
        ("out_of_memory", &["/fl/memory"], 1),
        Some(("flaskapp.py", "bytearray(")),
        Some("MemoryError"),
    );
    for (cause, path) in [("db_auth", "/fl/db"), ("db_unreachable", "/fl/db-down")] {
        assert_app_incident(
            &report,
            (cause, &[path], 1),
            Some(("flaskapp.py", "psycopg2.connect(")),
            Some("psycopg2.OperationalError"),
        );
    }
    if upload.is_some() {
        assert_app_incident(
            &report,
            ("disk_full", &["/fl/disk"], 1),
            Some(("flaskapp.py", "f.write(")),
            Some("OSError"),
        );
    }
    // gunicorn's timeout and uWSGI's harakiri are one cause in one place: one incident.
    let slow = (
        "worker_timeout",
        &["/dj/slow", "/dj/hold", "/fl/slow", "/fl/hold"][..],
        3 + rounds,
    );
    assert_app_incident(&report, slow, None, None);
    let killed = ("worker_crash", &["/dj/stuck", "/fl/stuck"][..], 2);
    assert_app_incident(&report, killed, None, None);
    let queued = (
        "worker_pool_exhausted",
        &["/fl/queued"][..],
        QUEUED * rounds,
    );
    assert_app_incident(&report, queued, None, None);
    let backlog = stack::incident(&report, "upstream_timeout", &["/dj/queued"]);
    assert_eq!(backlog["count"], 2, "{}", pretty(&report));

    // doctor, with the servers running: nginx waits 60 s for both apps, longer than their own
    // timeouts (ok), but only 1 s at /fl/queued and /dj/queued, less than uWSGI's harakiri and
    // gunicorn's timeout (warnings).
    let doctor = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .args(["doctor", "--format", "json", "--nginx-conf"])
        .arg(&nginx.conf)
        .output()
        .expect("run fivehundred doctor");
    let doctor: Value = serde_json::from_slice(&doctor.stdout).expect("doctor's JSON");
    let mut timeouts: Vec<(String, String)> = doctor["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["check"] == "app_timeout")
        .map(|c| {
            (
                c["subject"].as_str().unwrap_or_default().to_owned(),
                c["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    timeouts.sort();
    let subject = |kind: &str, port: u16, location: &str| {
        format!("{kind} 127.0.0.1:{port} (location {location})")
    };
    let mut want = vec![
        (subject("gunicorn", gunicorn.port, "/dj/"), "ok".to_owned()),
        (
            subject("gunicorn", gunicorn.port, "/dj/queued"),
            "warning".to_owned(),
        ),
        (subject("uwsgi", uwsgi.port, "/fl/"), "ok".to_owned()),
        (
            subject("uwsgi", uwsgi.port, "/fl/queued"),
            "warning".to_owned(),
        ),
    ];
    want.sort();
    assert_eq!(timeouts, want, "{}", pretty(&doctor));

    // gunicorn's logs alone: its access lines are the count. It answered 500 itself for each
    // exception (the workers it timed out or that were killed answered nothing).
    let alone = diagnose(&[&gunicorn.log, gunicorn_access]);
    assert_eq!(
        alone["inputs"][1]["format"],
        "combined",
        "{}",
        pretty(&alone)
    );
    assert_eq!(
        alone["inputs"][1]["hop_of"],
        Value::Null,
        "{}",
        pretty(&alone)
    );
    let answered = 5 + u64::from(upload.is_some());
    assert_server_errors(&alone, answered, &[(500, answered)]);
    assert_app_incident(
        &alone,
        ("app_exception", &["/dj/boom"], 2),
        Some((views, "order[\"customer\"]")),
        Some("KeyError"),
    );

    // uWSGI's log alone: its request lines are the count. It answered 5xx itself only for
    // the exceptions (the workers it killed answered nothing, and it served the queued
    // requests after nginx had given up on them): what it did not answer is in other_errors.
    let alone = diagnose(&[&uwsgi.log]);
    let answered = 4 + u64::from(upload.is_some());
    assert_server_errors(&alone, answered, &[(500, answered)]);
    assert_app_incident(
        &alone,
        ("app_exception", &["/fl/boom"], 1),
        Some(("flaskapp.py", "prices[\"coffee\"]")),
        Some("KeyError"),
    );
    let others: Vec<&str> = alone["other_errors"]
        .as_array()
        .expect("other_errors")
        .iter()
        .map(|i| i["cause"].as_str().unwrap_or_default())
        .collect();
    for cause in ["worker_timeout", "worker_crash", "worker_pool_exhausted"] {
        assert!(
            others.contains(&cause),
            "{cause} in other_errors: {}",
            pretty(&alone)
        );
    }
}
