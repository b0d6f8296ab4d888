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
use lab::nginx::{Nginx, NginxOptions};
use lab::php_fpm::{Fpm, FpmOptions, PhpLog, app};
use lab::*;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Field order is drop order: daemons stop before the lab dir goes.
struct Server {
    nginx: Nginx,
    fpm: Fpm,
    db: Db,
    lab: Lab,
}

/// One fault of the day: the cause the report must give, and the requests that hit it.
struct Step {
    cause: &'static str,
    hit: fn(&mut Server) -> Vec<u16>,
}

fn gets(s: &Server, path: &str, n: usize) -> Vec<u16> {
    (0..n).map(|_| s.nginx.get(path)).collect()
}

fn posts(s: &Server, path: &str, len: usize, n: usize) -> Vec<u16> {
    let body = vec![b'x'; len];
    (0..n)
        .map(|_| request(s.nginx.port, "POST", path, "localhost", &body))
        .collect()
}

/// The day, in order. Several steps share a cause (two ways to crash a worker, two timeouts,
/// two permission problems, two full disks, two loops): the report must merge them per cause.
const DAY: &[Step] = &[
    Step {
        cause: "php_syntax_error",
        hit: |s| gets(s, "/syntax.php", 3),
    },
    Step {
        cause: "php_undefined_function",
        hit: |s| gets(s, "/fetch.php", 2),
    },
    Step {
        cause: "php_memory_limit",
        hit: |s| gets(s, "/report.php", 4),
    },
    Step {
        cause: "php_timeout",
        hit: |s| gets(s, "/export.php", 2),
    },
    Step {
        cause: "php_uncaught_exception",
        hit: |s| gets(s, "/checkout.php", 3),
    },
    Step {
        cause: "fpm_crash",
        hit: |s| [gets(s, "/segv.php", 2), gets(s, "/oom.php", 1)].concat(),
    },
    Step {
        cause: "php_timeout",
        hit: |s| gets(s, "/jobs/slow.php", 1),
    },
    Step {
        cause: "fpm_pool_exhausted",
        hit: |s| {
            let mut all = Vec::new();
            for _ in 0..10 {
                all.extend(get_concurrent(s.nginx.port, "/jobs/busy.php", 6));
                if count_5xx(&all) > 0 {
                    break;
                }
            }
            all
        },
    },
    Step {
        cause: "upstream_unavailable",
        hit: |s| {
            s.fpm.stop();
            let statuses = [gets(s, "/ok.php", 2), gets(s, "/checkout.php", 1)].concat();
            s.fpm.restart();
            statuses
        },
    },
    Step {
        cause: "upstream_timeout",
        hit: |s| get_concurrent(s.nginx.port, "/reports/slow.php", 2),
    },
    Step {
        cause: "file_permissions",
        hit: |s| {
            chmod(&s.lab, "www/lib/config.php", 0o000);
            let statuses = [gets(s, "/account.php", 2), posts(s, "/upload.php", 2048, 2)].concat();
            chmod(&s.lab, "www/lib/config.php", 0o644);
            statuses
        },
    },
    Step {
        cause: "disk_full",
        hit: |s| {
            [
                gets(s, "/page.php", 2),
                posts(s, "/import.php", 1_000_000, 1),
            ]
            .concat()
        },
    },
    Step {
        cause: "rewrite_loop",
        hit: |s| [gets(s, "/loop", 2), gets(s, "/app/settings", 1)].concat(),
    },
    Step {
        cause: "db_auth",
        hit: |s| {
            let shop = gets(s, "/shop/pdo_mysql.php", 1);
            assert_eq!(shop, [200], "the shop works before the legacy copy fails");
            [shop, gets(s, "/legacy/pdo_mysql.php", 2)].concat()
        },
    },
    Step {
        cause: "db_pool_exhausted",
        hit: |s| {
            let _holder = s.db.hold_all_connections(&s.lab);
            gets(s, "/shop/pdo_mysql.php", 2)
        },
    },
    Step {
        cause: "db_unreachable",
        hit: |s| {
            s.db.stop();
            [
                gets(s, "/shop/mysqli_logged.php", 2),
                gets(s, "/shop/pdo_mysql.php", 1),
            ]
            .concat()
        },
    },
];

fn chmod(lab: &Lab, rel: &str, mode: u32) {
    std::fs::set_permissions(lab.path(rel), std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {rel}: {e}"));
}

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
        .server(&format!(
            "client_body_temp_path {};",
            lab.path("body").display()
        ))
        .server("client_max_body_size 10m;")
        .server("location /loop { rewrite ^ /loop last; }")
        .server("location /app/ { try_files $uri /app/; }")
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
    for step in DAY {
        let statuses = (step.hit)(s);
        let n = count_5xx(&statuses);
        assert!(n > 0, "{}: no 5xx in {statuses:?}", step.cause);
        let per = expected.entry(step.cause).or_default();
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
    let logs = [s.nginx.log_files(), s.fpm.log_files()].concat();
    save(&s, &logs);

    let total: u64 = expected.values().flat_map(|m| m.values()).sum();
    assert_eq!(
        access_log_5xx(&s.nginx.access_log),
        total,
        "5xx nginx logged"
    );
    let paths: Vec<&Path> = logs.iter().map(PathBuf::as_path).collect();
    let report = diagnose(&paths);
    assert_server_errors(&report, total, &[]);
    for (cause, by_status) in &expected {
        let pairs: Vec<(u16, u64)> = by_status.iter().map(|(k, v)| (*k, *v)).collect();
        assert_cause_statuses(&report, cause, &pairs);
    }
    let want: Vec<String> = expected.keys().map(|c| c.to_string()).collect();
    assert_eq!(causes(&report), want, "causes (no unknown)");
}

/// Saves the day's logs as fixtures and, on request, as the README's demo.
fn save(s: &Server, logs: &[PathBuf]) {
    let names = ["access.log", "error.log", "php-fpm.log", "php_errors.log"];
    let files: Vec<(&Path, &str)> = logs.iter().map(PathBuf::as_path).zip(names).collect();
    save_fixtures(&s.lab, "nginx-fpm", "mixed", "php_error_log", &files);
    if std::env::var_os("FIVEHUNDRED_SAVE_DEMO").is_some() {
        save_demo(&s.lab, &files);
    }
}

/// Writes the logs to `demo/` with the lab's paths rewritten to a usual server layout.
fn save_demo(lab: &Lab, files: &[(&Path, &str)]) {
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
