//! One nginx + PHP-FPM server that lives through every fault, one after another, with healthy
//! traffic in between, all into the same log files: what a real server's logs look like after
//! a bad day. `fivehundred diagnose` must give every incident its cause and exact count, and
//! the counts must add up to the 5xx nginx logged.
//!
//! The server: one FPM master with two pools (`www` for the site, `jobs` with one worker and a
//! backlog of 1 for slow background endpoints, killed after 2 s), PHP messages into a PHP
//! `error_log` file, nginx logging at `warn`, a `/reports/` location with a 1 s read timeout,
//! and a MariaDB (`max_connections = 10`) behind a shop app in `/shop/` (and a legacy copy in
//! `/legacy/` whose config still has an old password). The database faults come last: the
//! server is stopped for the final one.
//!
//! `FIVEHUNDRED_SAVE_DEMO=1` writes these logs to `demo/` (paths rewritten to /srv/www ...);
//! `FIVEHUNDRED_SAVE_FIXTURES=1` saves them under `tests/fixtures/real/nginx-fpm/mixed/`.
#[path = "lab/db.rs"]
mod db;
mod lab;

use db::{APP_PASSWORD, Db, DbOptions, MYSQLI_LOGGED, PDO_MYSQL, WRONG_PASSWORD};
use lab::faults::while_stopped;
use lab::nginx::{Nginx, NginxOptions};
use lab::php_fpm::{Fpm, FpmOptions, PhpLog, app};
use lab::*;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Field order is drop order: daemons stop before the lab dir goes.
struct Server {
    nginx: Nginx,
    fpm: Fpm,
    db: Db,
    lab: Lab,
}

/// One fault of the day: the cause the report must give, and the requests that hit it.
type Step = (&'static str, fn(&mut Server) -> Vec<u16>);

/// The day, in order. Several steps share a cause (two ways to crash a worker, two timeouts,
/// two permission problems, two full disks, two loops): the report must merge them per cause.
const DAY: &[Step] = &[
    ("php_syntax_error", |s| s.nginx.gets("/syntax.php", 3)),
    ("php_undefined_function", |s| s.nginx.gets("/fetch.php", 2)),
    ("php_memory_limit", |s| s.nginx.gets("/report.php", 4)),
    ("php_timeout", |s| s.nginx.gets("/export.php", 2)),
    ("php_uncaught_exception", |s| {
        s.nginx.gets("/checkout.php", 3)
    }),
    ("fpm_crash", |s| {
        [s.nginx.gets("/segv.php", 2), s.nginx.gets("/oom.php", 1)].concat()
    }),
    ("php_timeout", |s| s.nginx.gets("/jobs/slow.php", 1)),
    ("fpm_pool_exhausted", |s| {
        bursts_until_5xx(s.nginx.port, "/jobs/busy.php", 6, 10, |_| {})
    }),
    ("upstream_unavailable", |s| {
        while_stopped(&mut s.fpm, s.nginx.port)
    }),
    ("upstream_timeout", |s| {
        get_concurrent(s.nginx.port, "/reports/slow.php", 2)
    }),
    ("file_permissions", |s| {
        s.lab.chmod("www/lib/config.php", 0o000);
        let port = s.nginx.port;
        let statuses = [
            gets(port, "/account.php", 2),
            posts(port, "/upload.php", 2048, 2),
        ]
        .concat();
        s.lab.chmod("www/lib/config.php", 0o644);
        statuses
    }),
    ("disk_full", |s| {
        let port = s.nginx.port;
        [
            gets(port, "/page.php", 2),
            posts(port, "/import.php", 1_000_000, 1),
        ]
        .concat()
    }),
    ("rewrite_loop", |s| {
        [s.nginx.gets("/loop", 2), s.nginx.gets("/app/settings", 1)].concat()
    }),
    ("db_auth", |s| {
        let shop = s.nginx.gets("/shop/pdo_mysql.php", 1);
        assert_eq!(shop, [200], "the shop works before the legacy copy fails");
        [shop, s.nginx.gets("/legacy/pdo_mysql.php", 2)].concat()
    }),
    ("db_pool_exhausted", |s| {
        let _holder = s.db.hold_all_connections(&s.lab);
        s.nginx.gets("/shop/pdo_mysql.php", 2)
    }),
    ("db_unreachable", |s| {
        s.db.stop();
        [
            s.nginx.gets("/shop/mysqli_logged.php", 2),
            s.nginx.gets("/shop/pdo_mysql.php", 1),
        ]
        .concat()
    }),
];

/// Starts the server: the fault app, full disks already in place (tmpfs for the page cache
/// and for nginx's request-body buffer), and the configuration described at the top.
fn start() -> Option<Server> {
    let lab = Lab::new();
    app::write(&lab, "www");
    for (dir, script) in [
        ("jobs", app::SLOW),
        ("jobs", app::BUSY),
        ("reports", app::SLOW),
    ] {
        lab.write(&format!("www/{dir}/{}", script.path), script.code);
    }
    lab.mount_tmpfs("cache", "64k")?;
    lab.mount_tmpfs("body", "64k")?;
    let db = DbOptions::mariadb().max_connections(10).start(&lab);
    for (dir, password) in [("www/shop", APP_PASSWORD), ("www/legacy", WRONG_PASSWORD)] {
        db.config(password).write(&lab, dir);
        PDO_MYSQL.install(&lab, dir);
    }
    MYSQLI_LOGGED.install(&lab, "www/shop");
    let fpm = FpmOptions::new()
        .php_log(PhpLog::File)
        .admin_value("memory_limit", "16M")
        .admin_value("max_execution_time", "1")
        .extra_pool(
            "jobs",
            &[
                "pm = dynamic",
                "pm.max_children = 1",
                "pm.start_servers = 1",
                "pm.min_spare_servers = 1",
                "pm.max_spare_servers = 1",
                "listen.backlog = 1",
                "request_terminate_timeout = 2s",
            ],
        )
        .start(&lab);
    let php_location = |prefix: &str, pass: &str, extra: &str| {
        format!(
            "location ^~ /{prefix}/ {{ location ~ \\.php$ {{ include /etc/nginx/fastcgi.conf; \
             {extra} fastcgi_pass {pass}; }} }}"
        )
    };
    let nginx = NginxOptions::new()
        .fastcgi(&fpm)
        .error_level("warn")
        .body_temp(&lab.path("body"))
        .rewrite_loop()
        .try_files_loop()
        .server(&php_location("jobs", &fpm.pool_fastcgi_pass("jobs"), ""))
        .server(&php_location(
            "reports",
            &fpm.fastcgi_pass(),
            "fastcgi_read_timeout 1s;",
        ))
        .start(&lab);
    Some(Server {
        nginx,
        fpm,
        db,
        lab,
    })
}

/// Status counts per cause, as the clients saw them.
type Expected = BTreeMap<&'static str, BTreeMap<u16, u64>>;

fn run_day(s: &mut Server) -> (Expected, usize) {
    let mut expected = Expected::new();
    let mut requests = healthy_traffic(s.nginx.port);
    for (cause, hit) in DAY {
        let statuses = hit(s);
        let n = count_5xx(&statuses);
        assert!(n > 0, "{cause}: no 5xx in {statuses:?}");
        let per = expected.entry(cause).or_default();
        for st in statuses.iter().filter(|&&st| st >= 500) {
            *per.entry(*st).or_default() += 1;
        }
        requests += statuses.len() + healthy_traffic(s.nginx.port);
    }
    (expected, requests)
}

#[test]
fn a_bad_day_on_nginx_and_php_fpm() {
    if skip_unless_root("a_bad_day_on_nginx_and_php_fpm") {
        return;
    }
    let Some(mut s) = start() else {
        eprintln!("note: skipping: tmpfs not available");
        return;
    };
    let (expected, requests) = run_day(&mut s);
    s.nginx.wait_access_lines(requests);
    s.nginx.daemon.stop();
    s.fpm.stop();
    let logs = [s.nginx.logs(), s.fpm.logs()].concat();
    save(&s, &logs);

    let total: u64 = expected.values().flat_map(|m| m.values()).sum();
    assert_eq!(
        access_log_5xx(&s.nginx.access_log),
        total,
        "5xx nginx logged"
    );
    let report = diagnose(&log_paths(&logs));
    assert_server_errors(&report, total, &[]);
    for (cause, by_status) in &expected {
        let pairs: Vec<(u16, u64)> = by_status.iter().map(|(k, v)| (*k, *v)).collect();
        assert_cause_statuses(&report, cause, &pairs);
    }
    let want: Vec<String> = expected.keys().map(|c| c.to_string()).collect();
    assert_eq!(causes(&report), want, "causes (no unknown)");
}

/// Saves the day's logs as fixtures and, on request, as the README's demo.
fn save(s: &Server, logs: &[NamedLog]) {
    save_fixtures(&s.lab, "nginx-fpm", "mixed", "php_error_log", logs);
    if std::env::var_os("FIVEHUNDRED_SAVE_DEMO").is_some() {
        save_demo(&s.lab, logs);
    }
}

/// Writes the logs to `demo/` with the lab's paths rewritten to a usual server layout.
fn save_demo(lab: &Lab, files: &[NamedLog]) {
    let d = lab.dir.display().to_string();
    let rewrites = [
        (format!("{d}/www"), "/srv/www".to_string()),
        (
            format!("{d}/run/php-fpm-jobs.sock"),
            "/run/php/jobs.sock".into(),
        ),
        (
            format!("{d}/run/php-fpm.sock"),
            "/run/php/php8.2-fpm.sock".into(),
        ),
        (format!("{d}/cache"), "/srv/cache".into()),
        (format!("{d}/body"), "/var/lib/nginx/body".into()),
        (d.clone(), "/srv".into()),
    ];
    let demo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("demo");
    std::fs::create_dir_all(&demo).unwrap();
    for (src, name) in files {
        let mut text = std::fs::read_to_string(src).unwrap_or_default();
        for (from, to) in &rewrites {
            text = text.replace(from.as_str(), to);
        }
        std::fs::write(demo.join(name), text).unwrap();
    }
}
