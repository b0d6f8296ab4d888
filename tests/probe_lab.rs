//! `fivehundred probe` proven on real frameworks (issue 6): Flask with and without Werkzeug's
//! debugger, Django with `DEBUG = True` and `False`, Express in development and production, and
//! PHP-FPM behind nginx with `display_errors` On and Off. The apps live in `tests/probe_apps/`
//! and are installed by `tests/probe_apps/install.sh` (run by `scripts/test`). Issue 21 adds
//! Go (a panic's stack in the answer, net/http/pprof imported or not), Tomcat 10 (its error
//! report on or off) and Rails 6.1 (`consider_all_requests_local` on or off), from the lab
//! harness of `tests/lab/` (go.rs, tomcat.rs, rails.rs), and a Flask page behind a login.
//!
//! Every app has the same three routes: a healthy page, one that fails with a real database
//! error (a query on a table that does not exist: sqlite3 for Python, the lab's PostgreSQL for
//! Express and PHP) and one that fails on a file path (a missing report). Each test first proves
//! by plain HTTP that the leaky variant really leaks (traceback, debugger page, SQL error, path)
//! and the safe one answers a generic page, so a probe result is judged against known truth;
//! then it runs the built `fivehundred probe --format json` on the three URLs.
//!
//! Servers listen on free 127.0.0.1 ports and are stopped by pid when the test ends.

#[path = "lab/db.rs"]
mod db;
mod lab;
#[path = "lab/rails.rs"]
mod rails;

use lab::php_fpm::FpmOptions;
use lab::{Daemon, Lab};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The three routes of one running app, under its base URL.
struct Site {
    base: String,
    ok: &'static str,
    db: &'static str,
    file: &'static str,
}

impl Site {
    /// The routes of the Python and Express apps.
    fn routes(port: u16) -> Site {
        Site {
            base: format!("http://127.0.0.1:{port}"),
            ok: "/",
            db: "/orders",
            file: "/report",
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// What the probe is given: every route.
    fn urls(&self) -> Vec<String> {
        [self.ok, self.db, self.file]
            .iter()
            .map(|p| self.url(p))
            .collect()
    }
}

/// One HTTP answer, as curl saw it.
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    /// The whole answer, for an assertion message.
    fn show(&self, url: &str) -> String {
        format!("GET {url}:\n{}\n\n{}", self.head, self.body)
    }
}

/// GETs `url` with curl (it de-chunks bodies and keeps the headers apart).
fn get(url: &str) -> Answer {
    let out = Command::new("curl")
        .args(["-s", "-i", "--max-time", "30", url])
        .output()
        .expect("run curl (scripts/test installs it)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Answer {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

/// GETs `url`; asserts its status and that the body holds every `leaks` string.
fn assert_leaks(url: &str, status: u16, leaks: &[&str]) -> Answer {
    let a = get(url);
    assert_eq!(a.status, status, "status; {}", a.show(url));
    for s in leaks {
        assert!(
            a.body.contains(s),
            "body should contain {s:?}; {}",
            a.show(url)
        );
    }
    a
}

/// GETs `url`; asserts its status, that the body holds `page` (the generic text) and none of
/// `internals`.
fn assert_generic(url: &str, status: u16, page: &str, internals: &[String]) -> Answer {
    let a = assert_leaks(url, status, &[page]);
    for s in internals {
        assert!(
            !a.body.contains(s),
            "body must not contain {s:?}; {}",
            a.show(url)
        );
    }
    a
}

/// What no generic error page shows: the failing table and query, the missing file, the lab's
/// paths, a traceback.
fn internals(lab: &Lab) -> Vec<String> {
    let dir = lab.dir.display().to_string();
    ["orders", "SELECT", "daily.csv", "Traceback", "Stack trace"]
        .iter()
        .map(|s| s.to_string())
        .chain([dir])
        .collect()
}

fn apps_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/probe_apps")
}

/// A path that `tests/probe_apps/install.sh` creates; the test fails saying so when missing.
fn installed(p: PathBuf) -> PathBuf {
    assert!(
        p.exists(),
        "{} is missing: run `bash tests/probe_apps/install.sh` (scripts/test does) first",
        p.display()
    );
    p
}

/// Starts `cmd` as a daemon and waits until it answers HTTP on `port` (an open port is not
/// enough: a development server may accept before it serves, and a CI run once got no
/// answer to its first request).
fn serve(name: &str, port: u16, cmd: &mut Command) -> Daemon {
    let mut d = Daemon::spawn(name, cmd);
    let root = format!("http://127.0.0.1:{port}/");
    d.wait_until(&format!("{name} answering on port {port}"), || {
        lab::port_open(port) && get(&root).status != 0
    });
    d
}

/// Starts a Python app of `tests/probe_apps/python/` with the venv's interpreter; its data
/// directory (SQLite file, missing reports) is the lab dir.
fn python_app(lab: &Lab, script: &str, args: &[&str], env: &[(&str, &str)]) -> (Daemon, Site) {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("probe-venv/bin/python");
    let port = lab::free_port();
    let mut cmd = Command::new(installed(venv));
    cmd.arg(apps_dir().join("python").join(script))
        .args(args.iter().map(|a| a.replace("{port}", &port.to_string())))
        .env("PROBE_DATA", &lab.dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .envs(env.iter().copied());
    (serve(script, port, &mut cmd), Site::routes(port))
}

fn flask(lab: &Lab, mode: &str) -> (Daemon, Site) {
    python_app(lab, "flask_app.py", &["{port}", mode], &[])
}

fn django(lab: &Lab, debug: bool) -> (Daemon, Site) {
    let args = ["runserver", "--noreload", "127.0.0.1:{port}"];
    let debug = if debug { "1" } else { "0" };
    python_app(lab, "django_app.py", &args, &[("PROBE_DEBUG", debug)])
}

/// The Express app in `node_env`, reading from `pg` (the lab's PostgreSQL).
fn express(lab: &Lab, pg: &db::Db, node_env: &str) -> (Daemon, Site) {
    let dir = apps_dir().join("express");
    installed(dir.join("node_modules/express"));
    let port = lab::free_port();
    let url = format!(
        "postgres://{}:{}@127.0.0.1:{}/{}",
        db::APP_USER,
        db::APP_PASSWORD,
        pg.port,
        db::DB_NAME
    );
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("server.js"))
        .arg(port.to_string())
        .env("NODE_ENV", node_env)
        .env("DATABASE_URL", url)
        .env("PROBE_DATA", &lab.dir);
    (serve("express", port, &mut cmd), Site::routes(port))
}

/// The PHP app (`tests/probe_apps/php/`) under nginx + PHP-FPM with `display_errors` set so,
/// reading from `pg`. Returns both servers (kept alive by the caller) and the site.
fn php(
    lab: &Lab,
    pg: &db::Db,
    display_errors: &str,
) -> (lab::php_fpm::Fpm, lab::nginx::Nginx, Site) {
    for script in ["index.php", "orders.php", "report.php"] {
        let code = std::fs::read_to_string(apps_dir().join("php").join(script)).expect("read app");
        lab.write(&format!("www/{script}"), &code);
    }
    let config = format!(
        "<?php\nreturn ['dsn' => '{}', 'user' => '{}', 'password' => '{}'];\n",
        pg.pdo_dsn(),
        db::APP_USER,
        db::APP_PASSWORD
    );
    lab.write("www/config.php", &config);
    let fpm = FpmOptions::new().start(lab);
    // Per request from nginx: the lab's pool already sets `php_admin_flag[display_errors]`, and
    // FPM applies a pool's admin values last-written-first, so a second one in the pool would
    // lose to it.
    let display = format!("fastcgi_param PHP_ADMIN_VALUE \"display_errors={display_errors}\";");
    let nginx = lab::nginx::NginxOptions::new()
        .fastcgi(&fpm)
        .php(&display)
        .start(lab);
    let site = Site {
        base: format!("http://127.0.0.1:{}", nginx.port),
        ok: "/index.php",
        db: "/orders.php",
        file: "/report.php",
    };
    (fpm, nginx, site)
}

// ---------------------------------------------------------------------------------------------
// `fivehundred probe` on the apps.

/// Runs `fivehundred probe --format json` on the site's routes; returns the report and the
/// exit code.
fn probe(site: &Site) -> (Value, Option<i32>) {
    probe_urls(&site.urls(), &[])
}

/// Runs `fivehundred probe --format json ARGS URLS`; returns the report and the exit code,
/// after checking that no leak is reported twice (issue 21: one leak of one page was printed
/// twice when two rows of a category matched the same line).
fn probe_urls(urls: &[String], args: &[&str]) -> (Value, Option<i32>) {
    let out = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .args(["probe", "--format", "json"])
        .args(args)
        .args(urls)
        .output()
        .expect("run fivehundred probe");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "probe output is not JSON ({e}); exit {:?}\nstdout:\n{stdout}\nstderr:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_no_duplicate(&report);
    (report, out.status.code())
}

/// Each target names a category in a place once; the grouped list names a leak once per site.
fn assert_no_duplicate(report: &Value) {
    let show = serde_json::to_string_pretty(report).unwrap_or_default();
    let key = |f: &Value| (f["category"].to_string(), f["where"].to_string());
    for t in report["targets"].as_array().into_iter().flatten() {
        let keys: Vec<_> = t["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .map(key)
            .collect();
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            keys.len(),
            unique.len(),
            "{}: a finding twice; report:\n{show}",
            t["url"]
        );
    }
    let grouped: Vec<_> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| (f["site"].to_string(), key(f), f["excerpt"].to_string()))
        .collect();
    let mut unique = grouped.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        grouped.len(),
        unique.len(),
        "a site finding twice; report:\n{show}"
    );
}

/// Every finding of the targets whose URL has `path` (the route as given, or a request the
/// probe derived from it, e.g. with a query added).
fn findings_on<'a>(report: &'a Value, path: &str) -> Vec<&'a Value> {
    let targets = report["targets"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    targets
        .iter()
        .filter(|t| {
            let url = t["url"].as_str().unwrap_or("");
            let rest = url.split_once("//").map(|(_, r)| r).unwrap_or(url);
            let route = rest.find('/').map(|i| &rest[i..]).unwrap_or("/");
            route.split(['?', '#']).next() == Some(path)
        })
        .flat_map(|t| t["findings"].as_array().into_iter().flatten())
        .collect()
}

/// The severity the spec gives a category found in the body.
fn body_severity(category: &str) -> &'static str {
    match category {
        "file_path" | "version_disclosure" => "medium",
        _ => "high",
    }
}

/// A leaky variant: exit 1, and on each `(route, categories)` a body finding of every category
/// at the spec's severity.
fn assert_probe_leaks(site: &Site, expected: &[(&str, &[&str])]) {
    let (report, exit) = probe(site);
    let show = serde_json::to_string_pretty(&report).unwrap_or_default();
    assert_eq!(exit, Some(1), "probe exit code; report:\n{show}");
    for (route, categories) in expected {
        let found = findings_on(&report, route);
        for cat in *categories {
            let want = body_severity(cat);
            assert!(
                found.iter().any(|f| f["category"] == *cat
                    && f["severity"] == want
                    && f["where"] == "body"),
                "{route}: no {cat} finding at {want} in the body; report:\n{show}"
            );
        }
    }
}

/// A safe variant: exit 0, no finding above `low` on any request the probe made. Returns the
/// report for further checks.
fn assert_probe_safe(site: &Site) -> Value {
    let (report, exit) = probe(site);
    assert_safe(report, exit)
}

/// Exit 0 and no finding above `low` in `report`; gives it back.
fn assert_safe(report: Value, exit: Option<i32>) -> Value {
    let show = serde_json::to_string_pretty(&report).unwrap_or_default();
    assert_eq!(exit, Some(0), "probe exit code; report:\n{show}");
    let targets = report["targets"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for t in targets {
        for f in t["findings"].as_array().into_iter().flatten() {
            assert!(
                f["severity"] == "low" || f["severity"] == "info",
                "{}: finding above low on a safe app: {f}; report:\n{show}",
                t["url"]
            );
        }
    }
    report
}

/// nginx's `Server: nginx/1.22.1` is a `low` version finding (header:server) on every route.
fn assert_nginx_version_low(report: &Value, site: &Site) {
    let show = serde_json::to_string_pretty(report).unwrap_or_default();
    let found = findings_on(report, site.ok);
    assert!(
        found.iter().any(|f| f["category"] == "version_disclosure"
            && f["severity"] == "low"
            && f["where"].as_str().map(str::to_ascii_lowercase).as_deref()
                == Some("header:server")),
        "no low version_disclosure in header:server; report:\n{show}"
    );
}

// ---------------------------------------------------------------------------------------------
// Flask

#[test]
fn flask_debugger_leaks_everything() {
    let lab = Lab::new();
    let (_app, site) = flask(&lab, "debug");
    assert_leaks(&site.url(site.ok), 200, &["Welcome"]);
    let debugger = "Werkzeug Debugger";
    let traceback = "Traceback (most recent call last)";
    assert_leaks(
        &site.url(site.db),
        500,
        &[
            debugger,
            traceback,
            "no such table: orders",
            "SELECT id, total FROM orders",
        ],
    );
    let path = lab.path("reports/daily.csv").display().to_string();
    assert_leaks(
        &site.url(site.file),
        500,
        &[debugger, traceback, "FileNotFoundError", &path],
    );
    assert_probe_leaks(
        &site,
        &[
            (site.db, &["debug_console", "stack_trace", "sql_error"]),
            (site.file, &["debug_console", "stack_trace", "file_path"]),
        ],
    );
}

/// A page behind a login: without the session cookie Flask redirects to its login page (401),
/// which leaks nothing; with `--cookie` the probe reaches the page and its debugger.
#[test]
fn flask_page_behind_a_login_is_probed_with_the_cookie() {
    let lab = Lab::new();
    let (_app, site) = flask(&lab, "debug");
    let account = site.url("/account");
    let redirect = get(&account);
    assert_eq!(redirect.status, 302, "{}", redirect.show(&account));
    assert_eq!(get(&site.url("/login")).status, 401);
    let (report, exit) = probe_urls(std::slice::from_ref(&account), &[]);
    let show = serde_json::to_string_pretty(&report).unwrap_or_default();
    assert_eq!(exit, Some(0), "{show}");
    assert_eq!(report["targets"][0]["status"], 401, "{show}");
    let (report, exit) = probe_urls(&[account], &["--cookie", "session=lab"]);
    let show = serde_json::to_string_pretty(&report).unwrap_or_default();
    assert_eq!(exit, Some(1), "{show}");
    assert_eq!(report["targets"][0]["status"], 500, "{show}");
    for cat in ["debug_console", "stack_trace", "sql_error"] {
        assert!(
            findings_on(&report, "/account")
                .iter()
                .any(|f| f["category"] == cat),
            "no {cat} behind the login; report:\n{show}"
        );
    }
}

#[test]
fn flask_without_debugger_answers_generic_pages() {
    let lab = Lab::new();
    let (_app, site) = flask(&lab, "production");
    let lacks = internals(&lab);
    assert_leaks(&site.url(site.ok), 200, &["Welcome"]);
    for route in [site.db, site.file] {
        assert_generic(&site.url(route), 500, "Internal Server Error", &lacks);
    }
    assert_probe_safe(&site);
}

// ---------------------------------------------------------------------------------------------
// Django

#[test]
fn django_debug_page_leaks_everything() {
    let lab = Lab::new();
    let (_app, site) = django(&lab, true);
    assert_leaks(&site.url(site.ok), 200, &["Welcome"]);
    let debug = "DEBUG = True";
    assert_leaks(
        &site.url(site.db),
        500,
        &[
            debug,
            "Traceback",
            "no such table: orders",
            "SELECT id, total FROM orders",
        ],
    );
    let path = lab.path("reports/daily.csv").display().to_string();
    assert_leaks(
        &site.url(site.file),
        500,
        &[debug, "Traceback", "FileNotFoundError", &path],
    );
    assert_probe_leaks(
        &site,
        &[
            (site.db, &["debug_console", "stack_trace", "sql_error"]),
            (site.file, &["debug_console", "stack_trace", "file_path"]),
        ],
    );
}

#[test]
fn django_without_debug_answers_generic_pages() {
    let lab = Lab::new();
    let (_app, site) = django(&lab, false);
    let lacks = internals(&lab);
    assert_leaks(&site.url(site.ok), 200, &["Welcome"]);
    for route in [site.db, site.file] {
        assert_generic(&site.url(route), 500, "Server Error (500)", &lacks);
    }
    assert_probe_safe(&site);
}

// ---------------------------------------------------------------------------------------------
// Express

#[test]
fn express_development_leaks_stack_sql_and_paths() {
    if lab::skip_unless_root("express_development_leaks_stack_sql_and_paths") {
        return;
    }
    let lab = Lab::new();
    let pg = db::DbOptions::postgres().start(&lab);
    let (_app, site) = express(&lab, &pg, "development");
    assert_leaks(&site.url(site.ok), 200, &["Welcome"]);
    assert_leaks(
        &site.url(site.db),
        500,
        &[
            "relation &quot;orders&quot; does not exist",
            "node_modules/pg/lib/client.js",
        ],
    );
    let path = lab.path("reports/daily.csv").display().to_string();
    assert_leaks(
        &site.url(site.file),
        500,
        &["ENOENT: no such file or directory", &path, "server.js:"],
    );
    assert_probe_leaks(
        &site,
        &[
            (site.db, &["stack_trace", "sql_error"]),
            (site.file, &["stack_trace", "file_path"]),
        ],
    );
}

#[test]
fn express_production_answers_generic_pages() {
    if lab::skip_unless_root("express_production_answers_generic_pages") {
        return;
    }
    let lab = Lab::new();
    let pg = db::DbOptions::postgres().start(&lab);
    let (_app, site) = express(&lab, &pg, "production");
    let mut lacks = internals(&lab);
    lacks.push("node_modules".into());
    assert_leaks(&site.url(site.ok), 200, &["Welcome"]);
    for route in [site.db, site.file] {
        assert_generic(&site.url(route), 500, "Internal Server Error", &lacks);
    }
    assert_probe_safe(&site);
}

// ---------------------------------------------------------------------------------------------
// PHP-FPM behind nginx

#[test]
fn php_display_errors_on_leaks_sql_stack_and_paths() {
    if lab::skip_unless_root("php_display_errors_on_leaks_sql_stack_and_paths") {
        return;
    }
    let lab = Lab::new();
    let pg = db::DbOptions::postgres().start(&lab);
    let (_fpm, nginx, site) = php(&lab, &pg, "On");
    let ok = assert_leaks(&site.url(site.ok), 200, &["Welcome"]);
    assert!(ok.head.contains("Server: nginx/1.22.1"), "{}", ok.head);
    let script = nginx.root.join("orders.php").display().to_string();
    // The uncaught exception: displayed, so PHP answers 200.
    assert_leaks(
        &site.url(site.db),
        200,
        &[
            "Uncaught PDOException",
            "SQLSTATE[42P01]",
            "relation",
            "Stack trace",
            &script,
        ],
    );
    // The caught failure that sets 500: PHP's warning names the missing file first.
    let path = nginx.root.join("reports/daily.csv").display().to_string();
    assert_leaks(
        &site.url(site.file),
        500,
        &[
            "file_get_contents(",
            &path,
            "Failed to open stream",
            "Report unavailable",
        ],
    );
    assert_probe_leaks(
        &site,
        &[
            (site.db, &["stack_trace", "sql_error", "file_path"]),
            (site.file, &["file_path"]),
        ],
    );
}

#[test]
fn php_display_errors_off_answers_generic_pages() {
    if lab::skip_unless_root("php_display_errors_off_answers_generic_pages") {
        return;
    }
    let lab = Lab::new();
    let pg = db::DbOptions::postgres().start(&lab);
    let (_fpm, _nginx, site) = php(&lab, &pg, "Off");
    let lacks = internals(&lab);
    let ok = assert_leaks(&site.url(site.ok), 200, &["Welcome"]);
    assert!(ok.head.contains("Server: nginx/1.22.1"), "{}", ok.head);
    // The uncaught exception: not displayed, so a bare 500.
    let db = assert_generic(&site.url(site.db), 500, "", &lacks);
    assert!(
        db.body.trim().is_empty(),
        "bare 500 expected: {:?}",
        db.body
    );
    assert_generic(&site.url(site.file), 500, "Report unavailable", &lacks);
    let report = assert_probe_safe(&site);
    assert_nginx_version_low(&report, &site);
}

// ---------------------------------------------------------------------------------------------
// Go (net/http)

/// The Go app of `tests/probe_apps/go/`, built with or without net/http/pprof, answering
/// panics with their stack (`debug`) or a generic page.
fn go_app(debug: bool) -> (Daemon, String) {
    let (name, tags, mode): (&str, &[&str], &str) = if debug {
        ("probe-go-debug", &["pprof"], "debug")
    } else {
        ("probe-go-production", &[], "production")
    };
    let bin = lab::go::build(name, &apps_dir().join("go"), tags);
    let port = lab::free_port();
    let mut cmd = Command::new(bin);
    cmd.arg(format!("127.0.0.1:{port}")).arg(mode);
    (
        serve(name, port, &mut cmd),
        format!("http://127.0.0.1:{port}"),
    )
}

#[test]
fn go_debug_build_leaks_its_panics_and_pprof() {
    let (_app, base) = go_app(true);
    let cart = format!("{base}/cart?item=3");
    assert_leaks(
        &cart,
        500,
        &[
            "panic: runtime error: index out of range",
            "goroutine ",
            " [running]:",
            "main.go:",
        ],
    );
    assert_leaks(
        &format!("{base}/debug/pprof/"),
        200,
        &["Types of profiles available"],
    );
    let (report, exit) = probe_urls(&[format!("{base}/"), cart], &[]);
    let show = serde_json::to_string_pretty(&report).unwrap_or_default();
    assert_eq!(exit, Some(1), "{show}");
    let found = findings_on(&report, "/cart");
    assert!(
        found.iter().any(|f| f["category"] == "stack_trace"
            && f["severity"] == "high"
            && f["stack"] == "Go"),
        "no Go stack trace on /cart; report:\n{show}"
    );
    let pprof = findings_on(&report, "/debug/pprof/");
    assert!(
        pprof
            .iter()
            .any(|f| f["signature"] == "go_pprof" && f["request"] == "debug_path"),
        "the pprof index was not found; report:\n{show}"
    );
}

#[test]
fn go_production_build_answers_generic_pages() {
    let (_app, base) = go_app(false);
    let cart = format!("{base}/cart?item=3");
    let lacks = ["goroutine", "panic", "main.go"].map(String::from);
    assert_generic(&cart, 500, "Internal Server Error", &lacks);
    assert_eq!(get(&format!("{base}/debug/pprof/")).status, 404);
    let (report, exit) = probe_urls(&[format!("{base}/"), cart], &[]);
    assert_safe(report, exit);
}

// ---------------------------------------------------------------------------------------------
// Tomcat 10

#[test]
fn tomcat_error_report_leaks_the_stack_and_its_version() {
    let lab = Lab::new();
    let tomcat = lab::tomcat::TomcatOptions::new().start(&lab);
    let checkout = format!("http://127.0.0.1:{}/checkout", tomcat.port);
    assert_leaks(
        &checkout,
        500,
        &[
            "Exception Report",
            "IllegalStateException",
            "NumberFormatException",
            "lab.Orders.total",
            "Apache Tomcat/10",
        ],
    );
    let (report, exit) = probe_urls(&[checkout], &[]);
    let show = serde_json::to_string_pretty(&report).unwrap_or_default();
    assert_eq!(exit, Some(1), "{show}");
    let found = findings_on(&report, "/checkout");
    for (category, severity) in [("stack_trace", "high"), ("version_disclosure", "medium")] {
        assert!(
            found.iter().any(|f| f["category"] == category
                && f["severity"] == severity
                && f["stack"] == "Apache Tomcat"),
            "no {category} from Tomcat's report; report:\n{show}"
        );
    }
}

#[test]
fn tomcat_without_report_or_server_info_leaks_nothing() {
    let lab = Lab::new();
    let tomcat = lab::tomcat::TomcatOptions::new()
        .error_report(false)
        .start(&lab);
    let checkout = format!("http://127.0.0.1:{}/checkout", tomcat.port);
    let lacks = ["Exception", "lab.Orders", "Tomcat/"].map(String::from);
    assert_generic(&checkout, 500, "HTTP Status 500", &lacks);
    let (report, exit) = probe_urls(&[checkout], &[]);
    assert_safe(report, exit);
}

// ---------------------------------------------------------------------------------------------
// Rails 6.1 under Puma

/// Puma with the lab's Rails app, its debug pages on (`RAILS_SHOW_ERRORS=1`) or off. No
/// database: the routes probed fail before any query.
fn rails_app(lab: &Lab, show_errors: bool) -> (rails::Puma, String) {
    let show = if show_errors { "1" } else { "0" };
    let puma = rails::Puma::start_with(
        lab,
        "postgres://app@127.0.0.1:1/none",
        30,
        &[("RAILS_SHOW_ERRORS", show)],
    );
    let base = format!("http://127.0.0.1:{}", puma.port);
    (puma, base)
}

#[test]
fn rails_debug_pages_leak_the_exception_and_the_routes() {
    if lab::skip_unless_root("rails_debug_pages_leak_the_exception_and_the_routes") {
        return;
    }
    let lab = Lab::new();
    let (_puma, base) = rails_app(&lab, true);
    let (checkout, nowhere) = (format!("{base}/checkout"), format!("{base}/nowhere"));
    assert_leaks(
        &checkout,
        500,
        &[
            "Action Controller: Exception caught",
            "KeyError",
            "cart.rb:",
        ],
    );
    assert_leaks(
        &nowhere,
        404,
        &[
            "Routing Error",
            "No route matches [GET] &quot;/nowhere&quot;",
        ],
    );
    let (report, exit) = probe_urls(&[checkout, nowhere], &[]);
    let show = serde_json::to_string_pretty(&report).unwrap_or_default();
    assert_eq!(exit, Some(1), "{show}");
    let on = |path: &str, sig: &str| {
        findings_on(&report, path)
            .iter()
            .any(|f| f["signature"] == sig && f["severity"] == "high")
    };
    assert!(on("/checkout", "rails_exception_page"), "{show}");
    assert!(on("/checkout", "ruby_frame"), "{show}");
    assert!(on("/nowhere", "rails_exception_page"), "{show}");
}

#[test]
fn rails_without_local_requests_answers_empty_pages() {
    if lab::skip_unless_root("rails_without_local_requests_answers_empty_pages") {
        return;
    }
    let lab = Lab::new();
    let (_puma, base) = rails_app(&lab, false);
    let (checkout, nowhere) = (format!("{base}/checkout"), format!("{base}/nowhere"));
    let lacks = ["KeyError", "cart.rb", "Routing Error"].map(String::from);
    assert_generic(&checkout, 500, "", &lacks);
    assert_generic(&nowhere, 404, "", &lacks);
    let (report, exit) = probe_urls(&[checkout, nowhere], &[]);
    assert_safe(report, exit);
}
