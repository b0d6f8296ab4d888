//! Real nginx + PHP-FPM fault lab: each fault is injected into a freshly started nginx and
//! PHP-FPM (Debian's packages, workers as www-data), real requests are sent, and
//! `fivehundred diagnose` must name the cause, the status nginx really sent, the exact count of
//! 5xx the test caused, and the file/line the evidence names. Healthy requests before and after
//! each fault must add nothing.
//!
//! Faults whose evidence is a PHP message run once per place PHP messages can land
//! ([`PhpLog::ALL`]): nginx's `FastCGI sent in stderr`, a PHP `error_log` file, the FPM log via
//! `catch_workers_output` with `fastcgi.logging = 0`, and `catch_workers_output` alone (both).
//!
//! `FIVEHUNDRED_SAVE_FIXTURES=1` also saves each run's logs under
//! `tests/fixtures/real/nginx-fpm/<cause>/<variant>/` (paths rewritten to /srv/lab).
mod lab;

use lab::nginx::{Nginx, NginxOptions};
use lab::php_fpm::{Fpm, FpmOptions, PhpLog, PhpScript, app};
use lab::*;
use std::os::unix::fs::PermissionsExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

/// One nginx + FPM stack. Field order is drop order: daemons stop before the lab dir goes.
struct Stack {
    nginx: Nginx,
    fpm: Fpm,
    lab: Lab,
}

/// One fault, as data: how to break the stack, how to hit it, and what the report must say.
struct Fault {
    cause: &'static str,
    /// Names the way the fault was produced (fixture dir); several faults share a cause.
    variant: &'static str,
    /// The status nginx sends for it.
    status: u16,
    /// The script the fault is about.
    script: Option<PhpScript>,
    /// What `file`/`line` the report must give.
    names: Names,
    /// A string the real logs must contain once the fault happened (the key error line).
    evidence: &'static str,
    /// The evidence is a PHP message: run under every [`PhpLog`] routing.
    php_routed: bool,
    /// Every triggering request fails (false: timing decides, e.g. a full pool).
    all_fail: bool,
    setup: fn(&Lab),
    fpm: fn(FpmOptions) -> FpmOptions,
    nginx: fn(&Lab, NginxOptions) -> NginxOptions,
    trigger: Trigger,
}

fn no_setup(_: &Lab) {}
fn same_fpm(o: FpmOptions) -> FpmOptions {
    o
}
fn same_nginx(_: &Lab, o: NginxOptions) -> NginxOptions {
    o
}

/// What the report's `file`/`line` must be: the path the evidence is about, else the script
/// and line PHP names, else null.
#[derive(Clone, Copy)]
enum Names {
    /// The fault's script and the line PHP names (`in FILE on line N`).
    ScriptLine,
    /// The fault's script, no line (FPM's timeout line names the script only).
    Script,
    /// This file under the lab dir: the one a permission problem is about; line unchecked.
    File(&'static str),
    /// This directory under the lab dir or a file inside it (an upload dir, a full tmpfs:
    /// the message names a per-request file in it).
    InDir(&'static str),
    /// `file` and `line` are null: the evidence names no file.
    Null,
    /// Not checked (the evidence names only a socket; the spec leaves that open).
    Unchecked,
}

/// How a fault is hit.
enum Trigger {
    /// GET the fault's script this many times, one after another.
    Script(usize),
    /// GET this path this many times, one after another.
    Get(&'static str, usize),
    /// GET this path this many times at once.
    Concurrent(&'static str, usize),
    /// POST a body of this many bytes to this path this many times.
    Post(&'static str, usize, usize),
    /// Anything else (stopping FPM, retrying until a pool is full).
    Custom(fn(&mut Stack) -> Vec<u16>),
}

impl Trigger {
    /// Sends the requests; returns the statuses the clients saw.
    fn fire(&self, fault: &Fault, s: &mut Stack) -> Vec<u16> {
        let port = s.nginx.port;
        match *self {
            Trigger::Script(n) => {
                let url = app::url(&fault.script.expect("fault script"));
                gets(s, &url, n)
            }
            Trigger::Get(path, n) => gets(s, path, n),
            Trigger::Concurrent(path, n) => get_concurrent(port, path, n),
            Trigger::Post(path, len, n) => {
                let body = vec![b'x'; len];
                (0..n)
                    .map(|_| request(port, "POST", path, "localhost", &body))
                    .collect()
            }
            Trigger::Custom(f) => f(s),
        }
    }
}

/// `n` sequential GETs.
fn gets(s: &Stack, path: &str, n: usize) -> Vec<u16> {
    (0..n).map(|_| s.nginx.get(path)).collect()
}

/// The common shape of a PHP fault: one script, requested a few times, PHP names file:line.
const fn php_fault(cause: &'static str, script: PhpScript, evidence: &'static str) -> Fault {
    Fault {
        cause,
        variant: "",
        status: 500,
        script: Some(script),
        names: Names::ScriptLine,
        evidence,
        php_routed: true,
        all_fail: true,
        setup: no_setup,
        fpm: same_fpm,
        nginx: same_nginx,
        trigger: Trigger::Script(3),
    }
}

const SYNTAX_ERROR: Fault = php_fault("php_syntax_error", app::SYNTAX_ERROR, "PHP Parse error");

const UNDEFINED_FUNCTION: Fault = php_fault(
    "php_undefined_function",
    app::UNDEFINED_FUNCTION,
    "Call to undefined function curl_init()",
);

const MEMORY_LIMIT: Fault = Fault {
    fpm: |o| o.admin_value("memory_limit", "16M"),
    ..php_fault(
        "php_memory_limit",
        app::MEMORY,
        "Allowed memory size of 16777216 bytes exhausted",
    )
};

const MAX_EXECUTION_TIME: Fault = Fault {
    variant: "max_execution_time",
    fpm: |o| o.admin_value("max_execution_time", "1"),
    trigger: Trigger::Script(2),
    ..php_fault(
        "php_timeout",
        app::CPU_LOOP,
        "Maximum execution time of 1 second exceeded",
    )
};

const UNCAUGHT_EXCEPTION: Fault = php_fault(
    "php_uncaught_exception",
    app::EXCEPTION,
    "Uncaught RuntimeException: payment gateway returned 402",
);

/// `require` of a file the worker cannot read: PHP Warning (Permission denied) + Fatal.
const UNREADABLE_INCLUDE: Fault = Fault {
    variant: "unreadable_include",
    setup: |lab| chmod(lab, &format!("www/{}", app::INCLUDED.path), 0o000),
    names: Names::File("www/lib/config.php"),
    ..php_fault(
        "file_permissions",
        app::INCLUDES,
        "Failed to open stream: Permission denied",
    )
};

/// An upload dir owned by root (755): the app's write fails and it answers 500.
const UNWRITABLE_UPLOAD_DIR: Fault = Fault {
    variant: "unwritable_upload_dir",
    names: Names::InDir("www/uploads"),
    trigger: Trigger::Post("/upload.php", 2048, 2),
    ..php_fault(
        "file_permissions",
        app::UPLOAD,
        "Failed to open stream: Permission denied",
    )
};

/// The page cache lives on a full 64 KiB tmpfs: PHP's write fails (errno=28).
const CACHE_DISK_FULL: Fault = Fault {
    variant: "php_cache_write",
    setup: |lab| {
        lab.mount_tmpfs("cache", "64k").expect("tmpfs for cache");
    },
    trigger: Trigger::Script(2),
    ..php_fault("disk_full", app::CACHE, "No space left on device")
};

/// The fault table's non-PHP-routed part starts from this shape.
const fn server_fault(
    cause: &'static str,
    variant: &'static str,
    status: u16,
    evidence: &'static str,
) -> Fault {
    Fault {
        cause,
        variant,
        status,
        script: None,
        names: Names::Null,
        evidence,
        php_routed: false,
        all_fail: true,
        setup: no_setup,
        fpm: same_fpm,
        nginx: same_nginx,
        trigger: Trigger::Get("/ok.php", 1),
    }
}

/// FPM kills the worker after 1 s; nginx sees the connection reset: 502.
const REQUEST_TERMINATE_TIMEOUT: Fault = Fault {
    script: Some(app::SLOW),
    names: Names::Script,
    fpm: |o| o.request_terminate_timeout(1),
    trigger: Trigger::Concurrent("/slow.php", 2),
    ..server_fault(
        "php_timeout",
        "request_terminate_timeout",
        502,
        "execution timed out",
    )
};

const CRASH_SIGSEGV: Fault = Fault {
    trigger: Trigger::Get("/segv.php", 2),
    ..server_fault("fpm_crash", "sigsegv", 502, "exited on signal 11 (SIGSEGV)")
};

const CRASH_SIGKILL: Fault = Fault {
    trigger: Trigger::Get("/oom.php", 2),
    ..server_fault("fpm_crash", "sigkill", 502, "exited on signal 9 (SIGKILL)")
};

/// Sends bursts of 6 concurrent slow requests until some fail (which ones do is up to the
/// scheduler); returns every answer.
fn until_pool_overflows(s: &mut Stack) -> Vec<u16> {
    let mut all = Vec::new();
    for _ in 0..10 {
        all.extend(get_concurrent(s.nginx.port, "/busy.php", 6));
        if count_5xx(&all) > 0 {
            break;
        }
    }
    all
}

/// One worker, a backlog of 1: concurrent slow requests overflow the socket queue and nginx's
/// connect() gets EAGAIN (502). `pm = dynamic` also logs "server reached pm.max_children".
const POOL_EXHAUSTED: Fault = Fault {
    all_fail: false,
    names: Names::Unchecked,
    fpm: |o| o.pm("dynamic").max_children(1).listen_backlog(1),
    trigger: Trigger::Custom(until_pool_overflows),
    ..server_fault(
        "fpm_pool_exhausted",
        "max_children_dynamic",
        502,
        "Resource temporarily unavailable",
    )
};

/// The same with `pm = ondemand`, whose warning reads differently ("server reached
/// max_children setting", no `pm.`) and is not always written: nginx's EAGAIN is the evidence.
const POOL_EXHAUSTED_ONDEMAND: Fault = Fault {
    fpm: |o| o.pm("ondemand").max_children(1).listen_backlog(1),
    variant: "max_children_ondemand",
    ..POOL_EXHAUSTED
};

/// FPM stopped (socket gone): 502 until it is started again.
const FPM_STOPPED: Fault = Fault {
    names: Names::Unchecked,
    trigger: Trigger::Custom(|s| {
        s.fpm.stop();
        let statuses = [gets(s, "/ok.php", 2), gets(s, "/checkout.php", 1)].concat();
        s.fpm.restart();
        statuses
    }),
    ..server_fault(
        "upstream_unavailable",
        "fpm_stopped",
        502,
        "No such file or directory) while connecting to upstream",
    )
};

/// fastcgi_read_timeout 1s against a script sleeping 5 s: 504.
const READ_TIMEOUT: Fault = Fault {
    nginx: |_, o| o.php("fastcgi_read_timeout 1s;"),
    trigger: Trigger::Concurrent("/slow.php", 2),
    ..server_fault(
        "upstream_timeout",
        "fastcgi_read_timeout",
        504,
        "upstream timed out",
    )
};

/// nginx buffers a 1 MB request body to client_body_temp_path, a full 64 KiB tmpfs: 500.
const BODY_TEMP_DISK_FULL: Fault = Fault {
    names: Names::InDir("body"),
    setup: |lab| {
        lab.mount_tmpfs("body", "64k")
            .expect("tmpfs for request bodies");
    },
    nginx: |lab, o| {
        o.server(&format!(
            "client_body_temp_path {};",
            lab.path("body").display()
        ))
        .server("client_max_body_size 10m;")
    },
    trigger: Trigger::Post("/import.php", 1_000_000, 2),
    ..server_fault(
        "disk_full",
        "client_body_temp",
        500,
        "No space left on device",
    )
};

const REWRITE_LOOP: Fault = Fault {
    nginx: |_, o| o.server("location /loop { rewrite ^ /loop last; }"),
    trigger: Trigger::Get("/loop", 3),
    ..server_fault(
        "rewrite_loop",
        "rewrite",
        500,
        "rewrite or internal redirection cycle",
    )
};

const TRY_FILES_LOOP: Fault = Fault {
    nginx: |_, o| o.server("location /app/ { try_files $uri /app/; }"),
    trigger: Trigger::Get("/app/settings", 3),
    ..server_fault(
        "rewrite_loop",
        "try_files",
        500,
        "rewrite or internal redirection cycle",
    )
};

fn chmod(lab: &Lab, rel: &str, mode: u32) {
    std::fs::set_permissions(lab.path(rel), std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {rel}: {e}"));
}

/// Runs a fault under every routing it applies to; reports every failing routing at once.
fn run(fault: &Fault) {
    if skip_unless_root(fault.cause) {
        return;
    }
    let places: Vec<PhpLog> = if fault.php_routed {
        PhpLog::ALL.to_vec()
    } else {
        vec![PhpLog::FastCgiStderr]
    };
    let failures: Vec<String> = places
        .into_iter()
        .filter_map(|place| {
            catch_unwind(AssertUnwindSafe(|| run_once(fault, place)))
                .err()
                .map(|e| {
                    format!(
                        "{} under {}: {}",
                        fault.cause,
                        place.label(),
                        panic_text(&e)
                    )
                })
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn panic_text(e: &Box<dyn std::any::Any + Send>) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// Starts the stack, sends healthy traffic, the fault, healthy traffic again, then checks
/// what nginx logged and what `diagnose` says about it.
fn run_once(fault: &Fault, place: PhpLog) {
    let lab = Lab::new();
    app::write(&lab, "www");
    (fault.setup)(&lab);
    let fpm = (fault.fpm)(FpmOptions::new().php_log(place)).start(&lab);
    let nginx = (fault.nginx)(&lab, NginxOptions::new().fastcgi(&fpm)).start(&lab);
    let mut s = Stack { nginx, fpm, lab };

    let mut requests = healthy_traffic(s.nginx.port);
    let statuses = fault.trigger.fire(fault, &mut s);
    requests += statuses.len() + healthy_traffic(s.nginx.port);

    let n = check_statuses(fault, &statuses);
    s.nginx.wait_access_lines(requests);
    assert_eq!(access_log_5xx(&s.nginx.access_log), n, "5xx in access log");
    let logs = log_files(&s);
    wait_for(&format!("{:?} in the logs", fault.evidence), || {
        logs.iter().any(|p| log_contains(p, fault.evidence))
    });
    // Stopping flushes what the FPM master still holds from its workers.
    s.nginx.daemon.stop();
    s.fpm.stop();
    save(fault, place, &s, &logs);

    let paths: Vec<&std::path::Path> = logs.iter().map(PathBuf::as_path).collect();
    let report = diagnose(&paths);
    assert_server_errors(&report, n, &[(fault.status, n)]);
    assert_incident(&report, fault.cause, fault.status, n, None, None);
    check_location(fault, &s.lab, &report);
    assert_eq!(
        causes(&report),
        vec![fault.cause.to_string()],
        "only this cause"
    );
}

/// Asserts the clients saw the fault's status (and only healthy 200s besides, when timing
/// decides); returns the number of 5xx.
fn check_statuses(fault: &Fault, statuses: &[u16]) -> u64 {
    let n = count_5xx(statuses);
    assert!(n > 0, "the fault produced no 5xx: {statuses:?}");
    for &st in statuses {
        let ok = st == fault.status || (!fault.all_fail && st == 200);
        assert!(
            ok,
            "{}: unexpected status {st} in {statuses:?}",
            fault.cause
        );
    }
    n
}

fn log_files(s: &Stack) -> Vec<PathBuf> {
    [s.nginx.log_files(), s.fpm.log_files()].concat()
}

/// Checks every incident of the fault's cause names what [`Names`] says.
fn check_location(fault: &Fault, lab: &Lab, report: &serde_json::Value) {
    let script = || lab.path(&format!("www/{}", fault.script.expect("script").path));
    for inc in incidents(report)
        .iter()
        .filter(|i| i["cause"] == fault.cause)
    {
        let file = inc["file"].as_str().map(PathBuf::from);
        let line = inc["line"].as_u64();
        let ctx = || {
            format!(
                "{}: file {file:?} line {line:?}\n{}",
                fault.cause,
                pretty(report)
            )
        };
        match fault.names {
            Names::ScriptLine => {
                assert_eq!(file, Some(script()), "{}", ctx());
                assert_eq!(line, fault.script.and_then(|s| s.line), "{}", ctx());
            }
            Names::Script => assert_eq!(file, Some(script()), "{}", ctx()),
            Names::File(rel) => assert_eq!(file, Some(lab.path(rel)), "{}", ctx()),
            Names::InDir(rel) => assert!(
                file.as_ref().is_some_and(|f| f.starts_with(lab.path(rel))),
                "{}",
                ctx()
            ),
            Names::Null => assert!(file.is_none() && line.is_none(), "{}", ctx()),
            Names::Unchecked => {}
        }
    }
}

fn save(fault: &Fault, place: PhpLog, s: &Stack, logs: &[PathBuf]) {
    let variant = match (fault.php_routed, fault.variant) {
        (true, "") => place.label().to_string(),
        (true, v) => format!("{v}-{}", place.label()),
        (false, v) => v.to_string(),
    };
    let names = ["access.log", "error.log", "php-fpm.log", "php_errors.log"];
    let files: Vec<(&std::path::Path, &str)> = logs
        .iter()
        .zip(names)
        .map(|(p, n)| (p.as_path(), n))
        .collect();
    save_fixtures(&s.lab, "nginx-fpm", fault.cause, &variant, &files);
}

#[test]
fn php_syntax_error() {
    run(&SYNTAX_ERROR);
}

#[test]
fn php_undefined_function() {
    run(&UNDEFINED_FUNCTION);
}

#[test]
fn php_memory_limit() {
    run(&MEMORY_LIMIT);
}

#[test]
fn php_timeout_max_execution_time() {
    run(&MAX_EXECUTION_TIME);
}

#[test]
fn php_timeout_request_terminate_timeout() {
    run(&REQUEST_TERMINATE_TIMEOUT);
}

#[test]
fn php_uncaught_exception() {
    run(&UNCAUGHT_EXCEPTION);
}

#[test]
fn fpm_crash_sigsegv() {
    run(&CRASH_SIGSEGV);
}

#[test]
fn fpm_crash_sigkill() {
    run(&CRASH_SIGKILL);
}

#[test]
fn fpm_pool_exhausted() {
    run(&POOL_EXHAUSTED);
}

#[test]
fn fpm_pool_exhausted_ondemand() {
    run(&POOL_EXHAUSTED_ONDEMAND);
}

#[test]
fn upstream_unavailable_fpm_stopped() {
    run(&FPM_STOPPED);
}

#[test]
fn upstream_timeout_fastcgi_read_timeout() {
    run(&READ_TIMEOUT);
}

#[test]
fn file_permissions_unreadable_include() {
    run(&UNREADABLE_INCLUDE);
}

#[test]
fn file_permissions_unwritable_upload_dir() {
    run(&UNWRITABLE_UPLOAD_DIR);
}

#[test]
fn disk_full_php_cache_write() {
    run(&CACHE_DISK_FULL);
}

#[test]
fn disk_full_client_body_temp() {
    run(&BODY_TEMP_DISK_FULL);
}

#[test]
fn rewrite_loop_rewrite() {
    run(&REWRITE_LOOP);
}

#[test]
fn rewrite_loop_try_files() {
    run(&TRY_FILES_LOOP);
}
