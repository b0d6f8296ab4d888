//! Java on Tomcat 10 (Debian's `tomcat10`) behind a real nginx: a servlet compiled by `javac`
//! (tests/lab/app_java/) fails for real, and `fivehundred diagnose` on nginx's logs and
//! Tomcat's own (`catalina.DATE.log`, `localhost.DATE.log`, `OneLineFormatter`, and its access
//! valve's `localhost_access_log.DATE.txt`, nginx's hop: nginx connects from 127.0.0.2) must
//! name the cause of each 5xx, count each client request once, and say `java`, the exception
//! (a wrapped one's root cause) and the application's own frame: the source path under the
//! app's source root and the line its marker comment is on.
//!
//! - an uncaught exception (`IllegalStateException` caused by a `NumberFormatException`):
//!   Tomcat's 500, `app_exception`;
//! - a write to a full 64 KiB tmpfs: `java.io.IOException: No space left on device`, 500,
//!   `disk_full`;
//! - an allocation past `-Xmx`: `java.lang.OutOfMemoryError: Java heap space`, which Tomcat
//!   logs as "Failed to complete processing" and answers by closing: nginx's 502,
//!   `out_of_memory`;
//! - a JDBC connection refused the password, then refused by a stopped server: 500s,
//!   `db_auth` and `db_unreachable`;
//! - a thread pool of one thread and a queue of one, and bursts of slow requests until some are
//!   refused: "Executor rejected socket", nginx's 502, `worker_pool_exhausted`;
//! - a servlet slower than nginx's `proxy_read_timeout` (Tomcat has no timeout of its own):
//!   nginx's 504, `upstream_timeout`;
//! - the JVM killed with SIGKILL mid-request: Tomcat writes nothing, nginx's 502 (its HTTP
//!   upstream closed), `worker_crash`.
#[path = "lab/db.rs"]
mod db;
mod lab;
#[path = "lab/stack.rs"]
mod stack;

use lab::tomcat::{Tomcat, TomcatOptions, app_dir};
use lab::*;
use stack::{Expect, assert_app_incident_status, line_of};

/// The frame the app's `file` (under its source root) has on the line marked `// lab: MARK`.
fn frame<'a>(file: &'a str, mark: &str) -> Option<(&'a str, u64)> {
    Some((
        file,
        line_of(&app_dir().join(file), &format!("// lab: {mark}")),
    ))
}

/// Asserts one incident of `cause` for `path`: `count` responses answered `status`, said to be
/// Java's, with `exception` at `place`.
fn assert_java(
    report: &serde_json::Value,
    (cause, path, status, count): (&str, &str, u16, u64),
    exception: &str,
    place: Option<(&str, u64)>,
) {
    let want = Expect {
        cause,
        paths: &[path],
        count,
        language: "java",
        place,
        exception: Some(exception),
    };
    assert_app_incident_status(report, &want, status);
}

/// diagnose on nginx's access and error logs and Tomcat's: its own logs read as `tomcat`, its
/// access valve's (the requests nginx passed it, from nginx's address) as nginx's hop, read
/// and never counted again.
fn diagnose_stack(tomcat: &Tomcat, nginx: &nginx::Nginx) -> serde_json::Value {
    let mut logs = nginx.logs();
    logs.extend(tomcat.logs());
    let report = diagnose(&log_paths(&logs));
    let proxy = nginx.access_log.display().to_string();
    for input in report["inputs"].as_array().into_iter().flatten().skip(2) {
        match input["format"].as_str() {
            Some("common") => assert_eq!(input["hop_of"], proxy, "{}", pretty(&report)),
            format => assert_eq!(format, Some("tomcat"), "{}", pretty(&report)),
        }
    }
    assert_eq!(
        report["summary"]["requests"].as_u64(),
        Some(count_lines(&nginx.access_log)),
        "each request counted once: {}",
        pretty(&report)
    );
    report
}

/// The lines of a file.
fn count_lines(path: &std::path::Path) -> u64 {
    std::fs::read(path).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count() as u64)
}

#[test]
fn servlet_exceptions_a_full_disk_and_a_heap_out_of_memory_behind_nginx() {
    if skip_unless_root("tomcat servlet faults") {
        return;
    }
    let lab = Lab::new();
    let export = lab
        .mount_tmpfs("export", "64k")
        .expect("tmpfs for the export");
    let mark = lab.path("tomcat/temp/hang.started");
    let mut tomcat = TomcatOptions::new()
        .heap("48m")
        .prop("lab.export.dir", &export.to_string_lossy())
        // Longer than a process-level record's reach (5 s): the heap's OutOfMemoryError
        // before it explains none of what follows the slow request.
        .prop("lab.slow.ms", "6000")
        .prop("lab.mark", &mark.to_string_lossy())
        .start(&lab);
    let nginx = tomcat.behind_nginx(&lab);
    let mut statuses = nginx.gets("/ok", 1);
    for path in ["/checkout", "/report", "/export"] {
        statuses.extend(nginx.gets(path, 2));
    }
    statuses.extend(nginx.gets("/ok", 1));
    // Its logs written before it is killed (their handlers write from a thread of their own).
    tomcat.wait_logged("localhost.", "threw exception", 4);
    tomcat.wait_logged("catalina.", "Failed to complete processing", 2);
    // Tomcat has no timeout of its own: nginx gives up on a slow servlet after a second.
    statuses.extend(nginx.gets("/late", 1));
    wait_for("Tomcat's access line for /late", || {
        log_contains(&tomcat.access_log(), "/late")
    });
    // Tomcat killed mid-request (the OOM killer's SIGKILL): it writes nothing, nginx's
    // upstream closed.
    let port = nginx.port;
    let client = std::thread::spawn(move || get(port, "/hang"));
    wait_for("the /hang servlet to start", || mark.exists());
    tomcat.kill();
    statuses.push(client.join().expect("client thread"));
    assert_eq!(statuses, [200, 500, 500, 502, 502, 500, 500, 200, 504, 502]);
    nginx.wait_access_lines(statuses.len());

    let report = diagnose_stack(&tomcat, &nginx);
    assert_server_errors(&report, 8, &[(500, 4), (502, 3), (504, 1)]);
    for (cause, path, status) in [
        ("upstream_timeout", "/late", 504),
        ("worker_crash", "/hang", 502),
    ] {
        let i = stack::incident(&report, cause, &[path]);
        assert_eq!(i["count"], 1, "{cause}: {}", pretty(&report));
        assert_eq!(
            i["status"][status.to_string()],
            1,
            "{cause}: {}",
            pretty(&report)
        );
    }
    assert_java(
        &report,
        ("app_exception", "/checkout", 500, 2),
        "java.lang.NumberFormatException",
        frame("lab/Orders.java", "checkout"),
    );
    assert_java(
        &report,
        ("disk_full", "/export", 500, 2),
        "java.io.IOException",
        frame("lab/Export.java", "export"),
    );
    assert_java(
        &report,
        ("out_of_memory", "/report", 502, 2),
        "java.lang.OutOfMemoryError",
        frame("lab/Reports.java", "report"),
    );
    save(&lab, &tomcat, &nginx, "servlet_faults");
}

#[test]
fn a_full_thread_pool_rejects_sockets_and_nginx_answers_502() {
    let lab = Lab::new();
    let mut tomcat = TomcatOptions::new()
        .pool(1, 1)
        .prop("lab.slow.ms", "1500")
        .start(&lab);
    let nginx = tomcat.behind_nginx(&lab);
    let statuses = bursts_until_5xx(nginx.port, "/slow", 6, 10, |_| {});
    let failed = count_5xx(&statuses);
    assert!(failed > 0, "no burst filled the pool: {statuses:?}");
    assert!(
        statuses.iter().all(|&s| s == 200 || s == 502),
        "{statuses:?}"
    );
    nginx.wait_access_lines(statuses.len());
    tomcat.wait_logged("catalina.", "Executor rejected socket", 1);

    let report = diagnose_stack(&tomcat, &nginx);
    assert_server_errors(&report, failed, &[(502, failed)]);
    assert_java(
        &report,
        ("worker_pool_exhausted", "/slow", 502, failed),
        "java.util.concurrent.RejectedExecutionException",
        None,
    );
    save(&lab, &tomcat, &nginx, "pool_full");
}

/// `FIVEHUNDRED_SAVE_FIXTURES=1`: the run's logs under `tests/fixtures/real/tomcat/`.
fn save(lab: &Lab, tomcat: &Tomcat, nginx: &nginx::Nginx, variant: &str) {
    let mut logs = nginx.logs();
    logs.extend(tomcat.logs());
    save_fixtures(lab, "tomcat", variant, "nginx", &logs);
}

/// PostgreSQL's JDBC driver (Debian's `libpostgresql-jdbc-java`) in the app.
const PG_JDBC: &str = "/usr/share/java/postgresql.jar";

/// The servlet connects to PostgreSQL (tests/lab/db.rs) over JDBC with the wrong password, then
/// to the same server stopped: Tomcat logs `threw exception [cannot load the orders] with root
/// cause` and the root cause (the driver's `PSQLException` with the server's own words for the
/// password, `java.net.ConnectException` from the driver's frames for the stopped server), 500
/// each: `db_auth`, then `db_unreachable`, at the
/// app's `DriverManager.getConnection` line.
#[test]
fn a_database_refusing_the_password_then_stopped_behind_a_servlet() {
    if skip_unless_root("tomcat database faults") {
        return;
    }
    let lab = Lab::new();
    let mut pg = db::DbOptions::postgres().start(&lab);
    let url = format!("jdbc:postgresql://127.0.0.1:{}/{}", pg.port, db::DB_NAME);
    let mut tomcat = TomcatOptions::new()
        .lib(PG_JDBC)
        .prop("lab.db.url", &url)
        .prop("lab.db.password", db::WRONG_PASSWORD)
        .start(&lab);
    let nginx = tomcat.behind_nginx(&lab);
    let mut statuses = nginx.gets("/orders", 2);
    tomcat.wait_logged("localhost.", "password authentication failed", 2);
    pg.stop();
    statuses.extend(nginx.gets("/orders", 2));
    assert_eq!(statuses, [500, 500, 500, 500]);
    nginx.wait_access_lines(statuses.len());
    tomcat.wait_logged("localhost.", "java.net.ConnectException", 2);

    let report = diagnose_stack(&tomcat, &nginx);
    assert_server_errors(&report, 4, &[(500, 4)]);
    for (cause, exception) in [
        ("db_auth", "org.postgresql.util.PSQLException"),
        ("db_unreachable", "java.net.ConnectException"),
    ] {
        let place = frame("lab/OrdersDb.java", "db");
        assert_java(&report, (cause, "/orders", 500, 2), exception, place);
    }
    save(&lab, &tomcat, &nginx, "database");
}
