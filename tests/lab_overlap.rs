//! The overlap lab: several faults at once on real servers, every 5xx checked on its own.
//!
//! One nginx and one Apache (`mod_proxy_fcgi`, `vhost_combined`) each serve two name-based
//! virtual hosts, `shop.test` and `blog.test`, on a port of their own; each vhost has its own
//! document root and its own PHP-FPM pool in one FPM master (`php8.2-fpm`, which also keeps
//! Debian's idle `www` pool); a MariaDB sits behind the two `db.php` pages. Every request comes
//! from 127.0.0.1. The logs are where Debian puts them: `log/nginx/`, `log/apache2/`,
//! `log/php8.2-fpm.log`, and `log/php/blog-error.log`:
//!
//! - pool `shop`: PHP's messages travel over FastCGI stderr into the web server's error log
//!   (Debian's default); `memory_limit = 16M`.
//! - pool `blog`: PHP's messages go to its own `error_log` file (records that name no request);
//!   `pm.max_children = 2`, `listen.backlog = 2`, and both servers give up on it after 2 s
//!   (`fastcgi_read_timeout`, `ProxyTimeout`).
//!
//! The same paths exist on both vhosts; the faults, all in place at once:
//!
//! | page | shop.test | blog.test |
//! |---|---|---|
//! | `/syntax.php` | parse error: `php_syntax_error` | fine |
//! | `/report.php` | past 16M: `php_memory_limit` | fine |
//! | `/private.php` | fine | includes `lib/members.php`, `chmod 000`: `file_permissions` |
//! | `/drafts.php` | fine | `chmod 000` itself: FPM answers 403 (`Unable to open primary script`), no 5xx but error records beside the others |
//! | `/db.php` | PDO, uncaught: `db_unreachable` once MariaDB is stopped | mysqli, caught and `error_log()`ed: the same |
//! | `/busy.php` | 1.2 s, fine | 1.2 s, sent in bursts of 6 at once: the pool reaches `max_children`, queued requests wait past 2 s (504) or find the backlog full (nginx 502): `fpm_pool_exhausted` |
//! | `/index.php`, `/warns.php` (a 200 that logs a PHP Warning), `/style.css`, `/missing.html` (404) | fine | fine |
//!
//! Any request to blog.test can be caught in the full pool: a 502/503/504 there is
//! `fpm_pool_exhausted` whatever the page. MariaDB is stopped mid-run, so database errors, the
//! full pool and everything else interleave. [`expected`] is the oracle.
//!
//! For each seed (`FIVEHUNDRED_OVERLAP_SEEDS`, comma-separated, default `1,2,3`) a fresh lab
//! runs: the request list is shuffled by the seed and sent by [`CLIENTS`] concurrent clients;
//! MariaDB is stopped when [`DB_STOP_AT`] of the list has been sent; bursts are retried until
//! the full pool has shown on both servers (timing decides which requests fail, never whether).
//! Then `fivehundred diagnose --format json --trace` runs on the six log files, and for every
//! 5xx access-log line the test checks:
//!
//! - it is in exactly one incident's `responses`; counts add up to `summary.server_errors`;
//! - its incident's cause is the oracle's, and its `host` the line's;
//! - every record in its incident's `evidence_at` is the own record of a response of that
//!   incident ([`own`]): from that response's server (nginx's error log for an nginx
//!   response, Apache's for Apache; the FPM log and the blog pool's PHP log for either, from the
//!   vhost's pool only), naming that request (its `request: "GET /x"` and host, its script
//!   under the vhost's docroot, its `[client 127.0.0.1:PORT]`, its pool) and nothing else's,
//!   and written while that request was in flight (an episode record such as `server reached
//!   pm.max_children`: before it ended); a request turned away at connect (nginx 502, Apache
//!   503) never reached PHP, so no PHP message is its own; a record that names nothing but the
//!   pool (the blog's own log, FPM's) must say what this request's cause is about (the
//!   database, `max_children`). An incident may group several requests (paths, servers): each
//!   of its records must be the own record of one of its responses. Where the logs cannot tell identical requests apart (same server, host, path and
//!   second, no client port) either one's record is accepted.
//!
//! Figures per seed (responses, right cause, own evidence) are printed always (`--nocapture`);
//! a failure prints a table of every response that is wrong, with the records at fault. Without
//! `--trace` in the binary (an older engine) the per-response checks are skipped with a note.
//!
//! `FIVEHUNDRED_SAVE_FIXTURES=1` saves each seed's logs (lab dir rewritten to `/srv/lab`) under
//! `tests/fixtures/real/overlap/seed-N/`, with `expected.tsv`: per 5xx access-log line the
//! oracle's cause, the request's client port and times, and the records that may be its
//! evidence. `FIVEHUNDRED_LAB_KEEP=1` keeps the lab dirs.
#[path = "lab/db.rs"]
mod db;
mod lab;
#[path = "lab/vhosts.rs"]
mod vhosts;

use db::{APP_PASSWORD, DbOptions, MYSQLI_LOGGED, PDO_MYSQL};
use lab::php_fpm::{Fpm, FpmOptions, app};
use lab::*;
use regex::Regex;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use vhosts::Vhost;

const SHOP: &str = "shop.test";
const BLOG: &str = "blog.test";

/// Concurrent clients sending the shuffled list.
const CLIENTS: usize = 4;
/// MariaDB is stopped once this share of the list has been taken by the clients.
const DB_STOP_AT: f64 = 0.4;
/// Concurrent `/busy.php` requests in one burst at blog.test.
const BURST: usize = 6;
/// How long the servers wait for the blog pool (s).
const BLOG_TIMEOUT: u32 = 2;

// ---------------------------------------------------------------------------------------------
// The site.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Srv {
    Nginx,
    Apache,
}

impl Srv {
    const ALL: [Srv; 2] = [Srv::Nginx, Srv::Apache];

    fn name(self) -> &'static str {
        match self {
            Srv::Nginx => "nginx",
            Srv::Apache => "apache",
        }
    }

    /// The statuses a request caught in the full pool gets: nginx answers 502 when the
    /// backlog is full (EAGAIN) and 504 when a queued request waits past its timeout; Apache 503
    /// when it cannot connect, 504 past `ProxyTimeout`.
    fn pool_full_statuses(self) -> [u16; 2] {
        match self {
            Srv::Nginx => [502, 504],
            Srv::Apache => [503, 504],
        }
    }
}

/// What is wrong with a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    Syntax,
    Memory,
    Unreadable,
    /// Talks to MariaDB: fails once it is stopped.
    Db,
    /// Slow (1.2 s); on blog.test sent in bursts that fill the pool.
    Busy,
}

/// A page of one vhost: its path, its fault, how many times each server gets it per run, and
/// the status it answers when nothing is wrong.
#[derive(Debug, Clone, Copy)]
struct Page {
    host: &'static str,
    path: &'static str,
    fault: Fault,
    reps: usize,
    ok: u16,
}

const fn page(host: &'static str, path: &'static str, fault: Fault, reps: usize) -> Page {
    Page {
        host,
        path,
        fault,
        reps,
        ok: 200,
    }
}

const PAGES: &[Page] = &[
    page(SHOP, "/index.php", Fault::None, 4),
    page(SHOP, "/syntax.php", Fault::Syntax, 3),
    page(SHOP, "/report.php", Fault::Memory, 3),
    page(SHOP, "/private.php", Fault::None, 2),
    page(SHOP, "/warns.php", Fault::None, 2),
    page(SHOP, "/db.php", Fault::Db, 6),
    page(SHOP, "/busy.php", Fault::None, 1),
    page(SHOP, "/drafts.php", Fault::None, 1),
    page(SHOP, "/style.css", Fault::None, 2),
    Page {
        ok: 404,
        ..page(SHOP, "/missing.html", Fault::None, 1)
    },
    page(BLOG, "/index.php", Fault::None, 4),
    page(BLOG, "/syntax.php", Fault::None, 2),
    page(BLOG, "/report.php", Fault::None, 2),
    page(BLOG, "/private.php", Fault::Unreadable, 3),
    page(BLOG, "/warns.php", Fault::None, 2),
    page(BLOG, "/db.php", Fault::Db, 6),
    page(BLOG, "/busy.php", Fault::Busy, 1),
    Page {
        ok: 403,
        ..page(BLOG, "/drafts.php", Fault::None, 2)
    },
    page(BLOG, "/style.css", Fault::None, 2),
    Page {
        ok: 404,
        ..page(BLOG, "/missing.html", Fault::None, 1)
    },
];

/// Bursts of [`BURST`] blog `/busy.php` per server in the shuffled list.
const BURSTS: usize = 2;

fn find_page(host: &str, path: &str) -> Option<&'static Page> {
    PAGES.iter().find(|p| p.host == host && p.path == path)
}

/// The pool that serves a vhost (and its docroot dir under `www/`): `shop` or `blog`.
fn pool(host: &str) -> &'static str {
    match host {
        SHOP => "shop",
        BLOG => "blog",
        _ => panic!("no vhost {host}"),
    }
}

/// Was the database up while the request ran?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DbState {
    Up,
    /// Being stopped while the request ran: either answer is right.
    Stopping,
    Down,
}

/// What the test knows about when a request ran: the status it got (on blog.test a 502, 503 or
/// 504 says it was caught in the full pool, whatever the page) and the database's state.
#[derive(Debug, Clone, Copy)]
struct When {
    status: u16,
    db: DbState,
}

/// The oracle: the cause of a 5xx answered by `server` for `host` + `path` `when`. Err when the
/// lab itself went wrong (a 5xx no injected fault explains).
fn expected(server: Srv, host: &str, path: &str, when: When) -> Result<&'static str, String> {
    let page = find_page(host, path).ok_or_else(|| format!("no page {host}{path}"))?;
    if host == BLOG && when.status != 500 {
        return if server.pool_full_statuses().contains(&when.status) {
            Ok("fpm_pool_exhausted")
        } else {
            Err(format!(
                "{} is not how {} says the pool is full",
                when.status,
                server.name()
            ))
        };
    }
    match (page.fault, when.status, when.db) {
        (Fault::Syntax, 500, _) => Ok("php_syntax_error"),
        (Fault::Memory, 500, _) => Ok("php_memory_limit"),
        (Fault::Unreadable, 500, _) => Ok("file_permissions"),
        (Fault::Db, 500, DbState::Stopping | DbState::Down) => Ok("db_unreachable"),
        (fault, status, db) => Err(format!(
            "{status} on a page with fault {fault:?} (database {db:?}): no injected fault explains it"
        )),
    }
}

/// The scripts of each vhost. The same names on both, broken on one only.
fn write_site(lab: &Lab, db_config: &str) {
    let blog_db = MYSQLI_LOGGED
        .source
        .replace("Like many CMSs", "The blog, like many CMSs")
        .replace("'shop: database", "'blog: database");
    let home = "<?php\necho 'home of ', $_SERVER['SERVER_NAME'], ' (memory_limit ', ini_get('memory_limit'), \")\\n\";\n";
    let private = "<?php\nrequire __DIR__ . '/lib/members.php';\necho members(), \"\\n\";\n";
    let members = "<?php\nfunction members(): string { return 'members only'; }\n";
    let files: [(&str, &str, &str); 11] = [
        ("index.php", home, home),
        (
            "syntax.php",
            app::SYNTAX_ERROR.code,
            "<?php\n$title = 'Blog';\necho $title;\n",
        ),
        (
            "report.php",
            app::MEMORY.code,
            "<?php\n$rows = array_fill(0, 100, 'row');\necho count($rows), \" rows\\n\";\n",
        ),
        ("private.php", private, private),
        ("lib/members.php", members, members),
        (
            "drafts.php",
            "<?php\necho \"drafts\\n\";\n",
            "<?php\necho \"drafts\\n\";\n",
        ),
        ("warns.php", app::WARNS.code, app::WARNS.code),
        ("db.php", PDO_MYSQL.source, &blog_db),
        ("busy.php", app::BUSY.code, app::BUSY.code),
        (
            "style.css",
            "body { color: #222; }\n",
            "body { color: #333; }\n",
        ),
        ("config.php", db_config, db_config),
    ];
    for (name, shop, blog) in files {
        lab.write(&format!("www/shop/{name}"), shop);
        lab.write(&format!("www/blog/{name}"), blog);
    }
    // The workers run as www-data: a mode-000 file owned by root is unreadable to them. An
    // included one fails the page (500); a requested one FPM answers 403 ("Access denied."),
    // which is no 5xx but leaves error records of its own beside the others.
    lab.chmod("www/blog/lib/members.php", 0o000);
    lab.chmod("www/blog/drafts.php", 0o000);
}

/// The running site. Field order is drop order: daemons stop before the lab dir goes.
struct Site {
    nginx: WebServer,
    apache: WebServer,
    fpm: Fpm,
    db: db::Db,
    lab: Lab,
}

impl Site {
    fn start() -> Site {
        let lab = Lab::new();
        let db = DbOptions::mariadb().start(&lab);
        write_site(&lab, &db.config(APP_PASSWORD).php());
        lab.mkdir("log/php");
        let blog_log = lab.www_owned("log/php/blog-error.log");
        let fpm = FpmOptions::new()
            .name("php8.2-fpm")
            .extra_pool(
                "shop",
                &[
                    "pm = dynamic",
                    "pm.max_children = 8",
                    "pm.start_servers = 2",
                    "pm.min_spare_servers = 1",
                    "pm.max_spare_servers = 4",
                    "php_admin_value[memory_limit] = 16M",
                ],
            )
            .extra_pool(
                "blog",
                &[
                    "pm = dynamic",
                    "pm.max_children = 2",
                    "pm.start_servers = 1",
                    "pm.min_spare_servers = 1",
                    // Fewer spare than max children, as in Debian's pool: an idle child is
                    // stopped, one is started again under load, and FPM warns of max_children
                    // once per episode (with max_spare = max_children it warns once, ever).
                    "pm.max_spare_servers = 1",
                    "listen.backlog = 2",
                    &format!("php_admin_value[error_log] = {}", blog_log.display()),
                ],
            )
            .start(&lab);
        let vhosts = [
            Vhost::new(SHOP, "www/shop", &fpm.pool_fastcgi_pass("shop")),
            Vhost::new(BLOG, "www/blog", &fpm.pool_fastcgi_pass("blog")).php_timeout(BLOG_TIMEOUT),
        ];
        let nginx = vhosts::nginx(&lab, &vhosts);
        let apache = vhosts::apache(&lab, &vhosts);
        Site {
            nginx,
            apache,
            fpm,
            db,
            lab,
        }
    }

    fn port(&self, srv: Srv) -> u16 {
        match srv {
            Srv::Nginx => self.nginx.port,
            Srv::Apache => self.apache.port,
        }
    }

    fn ports(&self) -> Ports {
        Ports {
            nginx: self.nginx.port,
            apache: self.apache.port,
        }
    }

    fn blog_log(&self) -> PathBuf {
        self.lab.path("log/php/blog-error.log")
    }

    /// The logs `diagnose` reads ([`LOGS`]), with where they are.
    fn logs(&self) -> Vec<(PathBuf, &'static str, Kind)> {
        LOGS.iter()
            .map(|&(name, kind)| {
                let path = match kind {
                    Kind::Access(Srv::Nginx) => self.nginx.access_log.clone(),
                    Kind::ServerError(Srv::Nginx) => self.nginx.error_log.clone(),
                    Kind::Access(Srv::Apache) => self.apache.access_log.clone(),
                    Kind::ServerError(Srv::Apache) => self.apache.error_log.clone(),
                    Kind::Fpm => self.fpm.log.clone(),
                    Kind::PoolPhp(_) => self.blog_log(),
                };
                (path, name, kind)
            })
            .collect()
    }
}

/// The logs `diagnose` reads, in this order, each with its name under the lab's `log/` and the
/// fixture dir.
const LOGS: [(&str, Kind); 6] = [
    ("nginx/access.log", Kind::Access(Srv::Nginx)),
    ("nginx/error.log", Kind::ServerError(Srv::Nginx)),
    ("apache2/access.log", Kind::Access(Srv::Apache)),
    ("apache2/error.log", Kind::ServerError(Srv::Apache)),
    ("php8.2-fpm.log", Kind::Fpm),
    ("php/blog-error.log", Kind::PoolPhp("blog")),
];

#[derive(Debug, Clone, Copy)]
struct Ports {
    nginx: u16,
    apache: u16,
}

impl Ports {
    fn of(self, srv: Srv) -> u16 {
        match srv {
            Srv::Nginx => self.nginx,
            Srv::Apache => self.apache,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Traffic.

/// One request as the client saw it.
#[derive(Debug, Clone)]
struct Sent {
    srv: Srv,
    host: &'static str,
    path: &'static str,
    status: u16,
    /// The client's own port: Apache names it in its error records (`[client 127.0.0.1:P]`).
    port: u16,
    start: SystemTime,
    end: SystemTime,
    body: String,
}

impl Sent {
    fn describe(&self) -> String {
        format!(
            "{} {} GET {} {} (client port {}, {}..{})",
            self.srv.name(),
            self.host,
            self.path,
            self.status,
            self.port,
            clock(self.start),
            clock(self.end)
        )
    }
}

/// `HH:MM:SS.mmm` (UTC) of a moment, for tables.
fn clock(t: SystemTime) -> String {
    let ms = t.duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    jiff::Timestamp::from_millisecond(ms)
        .map(|ts| ts.strftime("%H:%M:%S%.3f").to_string())
        .unwrap_or_default()
}

fn secs(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// One GET with `Connection: close`, from 127.0.0.1; status 0 if no answer.
fn send(srv: Srv, port: u16, host: &'static str, path: &'static str) -> Sent {
    let start = SystemTime::now();
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("connect to {} on {port}: {e}", srv.name()));
    let local = s.local_addr().unwrap().port();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let head = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {LAB_AGENT}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).expect("send request");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let answer = lab::parse_response(&raw);
    Sent {
        srv,
        host,
        path,
        status: answer.status,
        port: local,
        start,
        end: SystemTime::now(),
        body: answer.body,
    }
}

/// One item of the list the clients work through.
#[derive(Debug, Clone, Copy)]
enum Job {
    Get(Srv, &'static str, &'static str),
    /// [`BURST`] concurrent GETs of blog.test's `/busy.php`.
    Burst(Srv),
}

fn run_job(job: Job, ports: Ports) -> Vec<Sent> {
    match job {
        Job::Get(srv, host, path) => vec![send(srv, ports.of(srv), host, path)],
        Job::Burst(srv) => concurrent(srv, ports.of(srv), &[(BLOG, "/busy.php"); BURST]),
    }
}

/// Sends these GETs at once, one thread each.
fn concurrent(srv: Srv, port: u16, reqs: &[(&'static str, &'static str)]) -> Vec<Sent> {
    thread::scope(|sc| {
        let hs: Vec<_> = reqs
            .iter()
            .map(|&(host, path)| sc.spawn(move || send(srv, port, host, path)))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// A small deterministic generator (splitmix64) for the shuffle.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// Every page `reps` times on each server, the bursts, shuffled by `seed`.
fn job_list(seed: u64) -> Vec<Job> {
    let mut jobs = Vec::new();
    for srv in Srv::ALL {
        for p in PAGES {
            jobs.extend(std::iter::repeat_n(Job::Get(srv, p.host, p.path), p.reps));
        }
        jobs.extend(std::iter::repeat_n(Job::Burst(srv), BURSTS));
    }
    Rng(seed).shuffle(&mut jobs);
    jobs
}

/// When the database was being stopped.
#[derive(Debug, Clone, Copy)]
struct DbStop {
    begin: SystemTime,
    end: SystemTime,
}

impl DbStop {
    fn state(&self, s: &Sent) -> DbState {
        if s.end < self.begin {
            DbState::Up
        } else if s.start > self.end {
            DbState::Down
        } else {
            DbState::Stopping
        }
    }
}

/// Sends the list with [`CLIENTS`] clients; the database is stopped (in its own thread, the
/// clients going on) when the client taking item `stop_at` says so.
fn traffic(site: &mut Site, jobs: &[Job], stop_at: usize) -> (Vec<Sent>, DbStop) {
    let ports = site.ports();
    let next = AtomicUsize::new(0);
    let sent = Mutex::new(Vec::new());
    let (tx, rx) = mpsc::channel::<()>();
    let db = &mut site.db;
    let stop = thread::scope(|sc| {
        let controller = sc.spawn(move || {
            rx.recv().expect("a client asks for the database stop");
            let begin = SystemTime::now();
            db.stop();
            DbStop {
                begin,
                end: SystemTime::now(),
            }
        });
        for _ in 0..CLIENTS {
            let (tx, next, sent) = (tx.clone(), &next, &sent);
            sc.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&job) = jobs.get(i) else { break };
                    if i == stop_at {
                        tx.send(()).unwrap();
                    }
                    let got = run_job(job, ports);
                    sent.lock().unwrap().extend(got);
                }
            });
        }
        drop(tx);
        controller.join().unwrap()
    });
    (sent.into_inner().unwrap(), stop)
}

/// Whether the full pool showed on `srv` (a blog.test request got its status).
fn pool_full_seen(sent: &[Sent], srv: Srv) -> bool {
    sent.iter()
        .any(|s| s.srv == srv && s.host == BLOG && srv.pool_full_statuses().contains(&s.status))
}

/// FPM's once-per-episode line for the blog pool.
const MAX_CHILDREN: &str = "[pool blog] server reached pm.max_children setting";

/// The full pool is a matter of timing: until it has shown on both servers (and FPM has said
/// so), more bursts, each with healthy blog.test traffic beside it. Never flaky: up to 10
/// rounds per server, each almost sure to show it.
fn until_pool_full(site: &Site, sent: &mut Vec<Sent>) {
    for srv in Srv::ALL {
        let mut rounds = 0;
        while !pool_full_seen(sent, srv) {
            rounds += 1;
            assert!(
                rounds <= 10,
                "{}: 10 bursts and the blog pool never turned a request away",
                srv.name()
            );
            let mut reqs = vec![(BLOG, "/busy.php"); BURST];
            reqs.extend([(BLOG, "/index.php"), (SHOP, "/index.php")]);
            sent.extend(concurrent(srv, site.port(srv), &reqs));
        }
    }
    let log = site.fpm.log.clone();
    let start = Instant::now();
    // FPM notices a full pool at its next heartbeat (every second or less).
    while !log_contains(&log, MAX_CHILDREN) {
        assert!(
            start.elapsed() < READY_TIMEOUT,
            "the pool turned requests away but FPM never logged {MAX_CHILDREN:?}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// Every (server, vhost) has shown a database failure: one more `/db.php` where one has not
/// (the database is down by now).
fn until_db_failed(site: &Site, sent: &mut Vec<Sent>) {
    for srv in Srv::ALL {
        for host in [SHOP, BLOG] {
            let mut tries = 0;
            while !sent
                .iter()
                .any(|s| s.srv == srv && s.host == host && s.path == "/db.php" && s.status == 500)
            {
                tries += 1;
                assert!(tries <= 10, "{} {host}/db.php never failed", srv.name());
                sent.push(send(srv, site.port(srv), host, "/db.php"));
            }
        }
    }
}

/// Waits until the blog pool has worked off what the servers gave up on (FPM still runs every
/// queued request): a blog.test page answers 200 within half a second. The probes are
/// requests like any other.
fn settle(site: &Site, sent: &mut Vec<Sent>) {
    for _ in 0..60 {
        let s = send(Srv::Nginx, site.nginx.port, BLOG, "/index.php");
        let quick = s.end.duration_since(s.start).unwrap_or_default() < Duration::from_millis(500);
        let ok = s.status == 200;
        sent.push(s);
        if ok && quick {
            return;
        }
    }
    panic!("the blog pool never drained");
}

/// Before the run: every page answers as it should on both servers (a config mistake fails
/// here, not as a puzzle in the report), and each vhost is served by its own pool. These
/// requests are part of the logs like any other.
fn sanity(site: &Site, sent: &mut Vec<Sent>) {
    for srv in Srv::ALL {
        for p in PAGES.iter().filter(|p| p.fault == Fault::None) {
            let s = send(srv, site.port(srv), p.host, p.path);
            assert_eq!(s.status, p.ok, "sanity: {}", s.describe());
            sent.push(s);
        }
        for host in [SHOP, BLOG] {
            let r = send(srv, site.port(srv), host, "/index.php");
            let limit = if host == SHOP { "16M" } else { "128M" };
            assert!(
                r.status == 200
                    && r.body
                        .contains(&format!("home of {host} (memory_limit {limit})")),
                "{} {host}: served by the wrong pool? {r:?}",
                srv.name()
            );
            sent.push(r);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the logs back.

/// What a log file is, for the checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Access(Srv),
    /// A web server's own error log.
    ServerError(Srv),
    /// The FPM master log (every pool).
    Fpm,
    /// PHP's `error_log` file of one pool.
    PoolPhp(&'static str),
}

/// One log file as the test reads it.
struct LogFile {
    path: PathBuf,
    name: &'static str,
    kind: Kind,
    lines: Vec<String>,
}

fn read_logs(files: Vec<(PathBuf, &'static str, Kind)>) -> Vec<LogFile> {
    files
        .into_iter()
        .map(|(path, name, kind)| {
            let text =
                String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()).into_owned();
            LogFile {
                lines: text.lines().map(str::to_string).collect(),
                path,
                name,
                kind,
            }
        })
        .collect()
}

/// One access-log line.
#[derive(Debug, Clone)]
struct AccessLine {
    /// Index into the log list (= `inputs[]` index when diagnose got them in that order).
    file: usize,
    /// 1-based.
    line: usize,
    srv: Srv,
    host: String,
    path: String,
    status: u16,
    time: i64,
}

static ACCESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^([^:\s]+):\d+ (\S+) \S+ \S+ \[([^\]]+)\] "(\S+) (\S+) [^"]*" (\d{3}) "#).unwrap()
});

fn access_lines(logs: &[LogFile]) -> Vec<AccessLine> {
    let mut out = Vec::new();
    for (fi, f) in logs.iter().enumerate() {
        let Kind::Access(srv) = f.kind else { continue };
        for (i, l) in f.lines.iter().enumerate() {
            let c = ACCESS
                .captures(l)
                .unwrap_or_else(|| panic!("{}:{}: not vhost_combined: {l}", f.name, i + 1));
            assert_eq!(&c[2], "127.0.0.1", "{}:{}", f.name, i + 1);
            let time = jiff::fmt::strtime::parse("%d/%b/%Y:%H:%M:%S %z", &c[3])
                .and_then(|t| t.to_timestamp())
                .unwrap_or_else(|e| panic!("{}:{}: time {}: {e}", f.name, i + 1, &c[3]))
                .as_second();
            out.push(AccessLine {
                file: fi,
                line: i + 1,
                srv,
                host: c[1].to_string(),
                path: c[5].to_string(),
                status: c[6].parse().unwrap(),
                time,
            });
        }
    }
    out
}

/// The access log's time of a request: nginx stamps the line when the request ends, Apache's
/// `%t` is when it started.
fn logged_time(s: &Sent) -> i64 {
    match s.srv {
        Srv::Nginx => secs(s.end),
        Srv::Apache => secs(s.start),
    }
}

/// Pairs each 5xx access line with the client's record of it: same server, host, path and
/// status, by the line's time field and then completion order (identical requests are
/// interchangeable for every check but the instance ones: the time window, and Apache's
/// client port). Panics when the access logs and the clients
/// disagree about how many requests got what.
fn pair(lines: &[AccessLine], sent: &[Sent]) -> Vec<(AccessLine, Sent)> {
    type Key = (Srv, String, String, u16);
    let mut by_key_lines: BTreeMap<Key, Vec<&AccessLine>> = BTreeMap::new();
    for l in lines {
        by_key_lines
            .entry((l.srv, l.host.clone(), l.path.clone(), l.status))
            .or_default()
            .push(l);
    }
    let mut by_key_sent: BTreeMap<Key, Vec<&Sent>> = BTreeMap::new();
    for s in sent {
        by_key_sent
            .entry((s.srv, s.host.to_string(), s.path.to_string(), s.status))
            .or_default()
            .push(s);
    }
    fn count<T>(m: &BTreeMap<Key, Vec<T>>) -> BTreeMap<Key, usize> {
        m.iter().map(|(k, v)| (k.clone(), v.len())).collect()
    }
    assert_eq!(
        count(&by_key_lines),
        count(&by_key_sent),
        "the access logs and the clients disagree on (server, host, path, status) counts"
    );
    let mut out = Vec::new();
    for (k, mut ls) in by_key_lines {
        if k.3 < 500 {
            continue;
        }
        let mut ss = by_key_sent.remove(&k).unwrap();
        // A server writes the line when the request ends (file order is completion order);
        // its time field is the end (nginx) or the start (Apache) second.
        ls.sort_by_key(|l| (l.time, l.file, l.line));
        ss.sort_by_key(|s| (logged_time(s), s.end));
        out.extend(ls.into_iter().cloned().zip(ss.into_iter().cloned()));
    }
    out.sort_by_key(|(l, _)| (l.file, l.line));
    out
}

/// A 5xx response with everything the test knows about it.
struct Response {
    line: AccessLine,
    sent: Sent,
    db: DbState,
    expected: &'static str,
}

impl Response {
    fn label(&self, logs: &[LogFile]) -> String {
        format!(
            "{}:{} {} GET {} {}",
            logs[self.line.file].name,
            self.line.line,
            self.line.host,
            self.line.path,
            self.line.status
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Error-log records and whose they are.

static NGINX_TIME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) \[").unwrap());
static APACHE_TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\[(\w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2})(?:\.\d+)? (\d{4})\] ").unwrap()
});
static PHP_TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\[(\d{2}-\w{3}-\d{4} \d{2}:\d{2}:\d{2})(?: (\S+))?\] ").unwrap()
});
static REQUEST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"request: "(\S+) (\S+) HTTP/[0-9.]+""#).unwrap());
static HOST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?:host: "([^"]+)"|server: ([^,\s]+))"#).unwrap());
static POOL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\[pool (\w+)\]").unwrap());
static SOCKET: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"php8\.2-fpm(?:-(\w+))?\.sock").unwrap());
static CLIENT_PORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[client 127\.0\.0\.1:(\d+)\]").unwrap());

/// The time a record starts with (whole seconds), None for a continuation line.
fn record_time(line: &str) -> Option<i64> {
    let system = jiff::tz::TimeZone::system();
    let local = |fmt: &str, s: &str| {
        jiff::civil::DateTime::strptime(fmt, s)
            .ok()
            .and_then(|dt| system.to_timestamp(dt).ok())
            .map(|t| t.as_second())
    };
    if let Some(c) = NGINX_TIME.captures(line) {
        return local("%Y/%m/%d %H:%M:%S", &c[1]);
    }
    if let Some(c) = APACHE_TIME.captures(line) {
        return local("%a %b %d %H:%M:%S %Y", &format!("{} {}", &c[1], &c[2]));
    }
    if let Some(c) = PHP_TIME.captures(line) {
        let dt = jiff::civil::DateTime::strptime("%d-%b-%Y %H:%M:%S", &c[1]).ok()?;
        let tz = match c.get(2).map(|m| m.as_str()) {
            Some(name) => jiff::tz::TimeZone::get(name).ok()?,
            None => system,
        };
        return tz.to_timestamp(dt).ok().map(|t| t.as_second());
    }
    None
}

/// One error-log record: where it starts, its text (continuation lines included) and what it
/// names.
#[derive(Debug, Clone)]
struct Record {
    file: usize,
    line: usize,
    kind: Kind,
    text: String,
    time: Option<i64>,
    /// (method, path) of `request: "..."`.
    requests: Vec<(String, String)>,
    hosts: Vec<String>,
    /// Paths under the lab's `www/`.
    scripts: Vec<String>,
    pools: Vec<String>,
    ports: Vec<u16>,
}

/// Every error-log record of the logs, by (log index, 1-based line where it starts).
type Records = BTreeMap<(usize, usize), Record>;

/// `root` is the lab dir (`/srv/lab` in the fixtures): scripts are named under `root/www/`.
fn parse_records(logs: &[LogFile], root: &Path) -> Records {
    let www = format!("{}/www/", root.display());
    let script_re = Regex::new(&format!(r"{}[A-Za-z0-9_./-]+", regex::escape(&www))).unwrap();
    let mut out = Records::new();
    for (fi, f) in logs.iter().enumerate() {
        if matches!(f.kind, Kind::Access(_)) {
            continue;
        }
        for (i, l) in f.lines.iter().enumerate() {
            if record_time(l).is_some()
                && let Some(r) = Record::read(logs, &script_re, fi, i + 1)
            {
                out.insert((fi, i + 1), r);
            }
        }
    }
    out
}

impl Record {
    fn read(logs: &[LogFile], script_re: &Regex, file: usize, line: usize) -> Option<Record> {
        let f = logs.get(file)?;
        let first = f.lines.get(line.checked_sub(1)?)?;
        let mut text = first.clone();
        for l in &f.lines[line..] {
            if record_time(l).is_some() {
                break;
            }
            text.push('\n');
            text.push_str(l);
        }
        let mut pools: Vec<String> = POOL
            .captures_iter(&text)
            .map(|c| c[1].to_string())
            .collect();
        pools.extend(SOCKET.captures_iter(&text).map(|c| {
            c.get(1)
                .map_or("www".to_string(), |m| m.as_str().to_string())
        }));
        if let Kind::PoolPhp(p) = f.kind {
            pools.push(p.to_string());
        }
        pools.sort();
        pools.dedup();
        Some(Record {
            file,
            line,
            kind: f.kind,
            time: record_time(first),
            requests: REQUEST
                .captures_iter(&text)
                .map(|c| (c[1].to_string(), c[2].to_string()))
                .collect(),
            hosts: HOST
                .captures_iter(&text)
                .map(|c| c.get(1).or(c.get(2)).unwrap().as_str().to_string())
                .collect(),
            scripts: script_re
                .find_iter(&text)
                .map(|m| m.as_str().trim_end_matches('.').to_string())
                .collect(),
            pools,
            ports: CLIENT_PORT
                .captures_iter(&text)
                .filter_map(|c| c[1].parse().ok())
                .collect(),
            text,
        })
    }

    /// A record that opens a state (the pool full) rather than telling of one request.
    fn episode(&self) -> bool {
        self.text.contains("server reached pm.max_children") || self.text.contains("max_children")
    }

    fn at(&self, logs: &[LogFile]) -> String {
        format!("{}:{}", logs[self.file].name, self.line)
    }

    fn short(&self) -> String {
        let t: String = self.text.replace('\n', "\\n");
        if t.chars().count() > 220 {
            format!("{}…", t.chars().take(220).collect::<String>())
        } else {
            t
        }
    }
}

/// What a record that names nothing of its request but its pool (a line of the pool's own PHP
/// log, an FPM line) must say to be the evidence of a response of this cause. In this lab only
/// two causes have such records: the pool's `max_children` warning and the blog's own
/// `error_log()` line about the database. PHP's errors for the syntax error, the memory limit
/// and the unreadable include name the script; the nameless `PHP Request Startup: Failed to
/// open stream: Permission denied in Unknown on line 0` is the 403 of the unreadable
/// `/drafts.php`, never a 5xx's.
fn nameless_signature(cause: &str) -> &'static [&'static str] {
    match cause {
        "fpm_pool_exhausted" => &["max_children"],
        "db_unreachable" => &[
            "database",
            "SQLSTATE",
            "Connection refused",
            "MySQL",
            "MariaDB",
            "gone away",
            "Lost connection",
        ],
        _ => &[],
    }
}

/// Whether `r` is the own record of the request `s` (whose cause is `cause`, when known); Err
/// says why not. `www` is the lab's `www` dir: each vhost's docroot is `www/<pool>`.
fn own(r: &Record, s: &Sent, cause: Option<&str>, www: &str) -> Result<(), String> {
    let my_pool = pool(s.host);
    let docroot = format!("{www}/{my_pool}/");
    let script = format!("{www}/{my_pool}{}", s.path);
    match r.kind {
        Kind::ServerError(srv) if srv != s.srv => {
            return Err(format!(
                "{}'s error log, for an {} response",
                srv.name(),
                s.srv.name()
            ));
        }
        Kind::PoolPhp(p) if p != my_pool => {
            return Err(format!("pool {p}'s PHP log, for a {my_pool} response"));
        }
        Kind::Access(_) => return Err("an access-log line".into()),
        _ => {}
    }
    // Turned away at connect (nginx 502: EAGAIN, Apache 503), a request never reached PHP: a
    // PHP message naming its script is another request's.
    let php_message = matches!(r.kind, Kind::PoolPhp(_))
        || ["FastCGI sent in stderr", "AH01071"]
            .iter()
            .any(|w| r.text.contains(w));
    let turned_away = matches!((s.srv, s.status), (Srv::Nginx, 502) | (Srv::Apache, 503));
    if turned_away && php_message {
        return Err(
            "a PHP message, for a request that never reached PHP (turned away at connect)".into(),
        );
    }
    if let Some((m, p)) = r.requests.iter().find(|(m, p)| m != "GET" || p != s.path) {
        return Err(format!("names another request: {m} {p}"));
    }
    if let Some(h) = r.hosts.iter().find(|h| h.as_str() != s.host) {
        return Err(format!("names another host: {h}"));
    }
    // Another vhost's file, or another page of this one; a file the page includes is its own.
    let other_page = |x: &str| {
        PAGES
            .iter()
            .any(|p| pool(p.host) == my_pool && x == format!("{www}/{my_pool}{}", p.path))
    };
    if let Some(x) = (r.scripts.iter())
        .find(|x| x.as_str() != script && (!x.starts_with(&docroot) || other_page(x)))
    {
        return Err(format!("names another script: {x}"));
    }
    if let Some(p) = r.pools.iter().find(|p| p.as_str() != my_pool) {
        return Err(format!("names another pool: {p}"));
    }
    if let Some(p) = r.ports.iter().find(|&&p| p != s.port) {
        return Err(format!("names another client: port {p}"));
    }
    let names_me = r.ports.contains(&s.port)
        || r.scripts.contains(&script)
        || r.requests.iter().any(|(_, p)| p == s.path);
    if !names_me {
        if r.pools.is_empty() {
            return Err(
                "names nothing of this request (no request line, script, client or pool)".into(),
            );
        }
        if let Some(cause) = cause
            && !nameless_signature(cause).iter().any(|w| r.text.contains(w))
        {
            return Err(format!("names only the pool, and says nothing of {cause}"));
        }
    }
    let Some(t) = r.time else {
        return Err("has no time".into());
    };
    let (start, end) = (secs(s.start), secs(s.end));
    if r.episode() {
        if t > end + 1 {
            return Err(format!("written {}s after the request ended", t - end));
        }
    } else if t < start - 1 || t > end + 1 {
        return Err(format!(
            "written {}, outside the request's time ({}..{})",
            clock(UNIX_EPOCH + Duration::from_secs(t as u64)),
            clock(s.start),
            clock(s.end)
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// diagnose.

/// Runs `diagnose --format json --trace` on the logs; None when this binary has no `--trace`
/// (an engine older than issue 14), after a note.
fn diagnose_trace(paths: &[&Path]) -> Option<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .args(["diagnose", "--format", "json", "--trace"])
        .args(paths)
        .output()
        .expect("run fivehundred");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(2) && stderr.contains("--trace") {
        eprintln!(
            "note: this fivehundred has no --trace ({}): per-response checks skipped",
            stderr.trim()
        );
        return None;
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "diagnose --trace output is not JSON ({e}); exit {:?}\nstderr:\n{stderr}",
            out.status.code()
        )
    });
    Some(report)
}

/// `{"input": I, "line": N}` references of an incident.
fn refs(inc: &Value, field: &str) -> Vec<(usize, usize)> {
    inc[field]
        .as_array()
        .unwrap_or_else(|| panic!("incident without {field}: {inc}"))
        .iter()
        .map(|r| {
            (
                r["input"].as_u64().expect("input") as usize,
                r["line"].as_u64().expect("line") as usize,
            )
        })
        .collect()
}

/// Per seed: how the engine did.
#[derive(Default)]
struct Figures {
    responses: usize,
    right_cause: usize,
    right_host: usize,
    own_evidence: usize,
    with_evidence: usize,
}

impl Figures {
    fn pct(n: usize, of: usize) -> f64 {
        if of == 0 {
            100.0
        } else {
            100.0 * n as f64 / of as f64
        }
    }

    fn line(&self, label: &str) -> String {
        let n = self.responses;
        format!(
            "{label}: {n} responses 5xx; right cause {}/{n} ({:.1}%), right host {}/{n} ({:.1}%), only own evidence {}/{n} ({:.1}%), own evidence shown {}/{n} ({:.1}%)",
            self.right_cause,
            Self::pct(self.right_cause, n),
            self.right_host,
            Self::pct(self.right_host, n),
            self.own_evidence,
            Self::pct(self.own_evidence, n),
            self.with_evidence,
            Self::pct(self.with_evidence, n),
        )
    }
}

/// Checks the report against the oracle, per response. Returns the figures and the failures
/// (a readable table), empty when all is right.
fn check_report(report: &Value, seen: &Seen) -> (Figures, Vec<String>) {
    let Seen {
        logs,
        records,
        www,
        responses,
        sent: all_sent,
    } = *seen;
    let mut failures = Vec::new();
    // inputs[] index -> our log index.
    let inputs = report["inputs"].as_array().expect("inputs");
    let input_to_log: Vec<Option<usize>> = inputs
        .iter()
        .map(|i| {
            let p = i["path"].as_str().unwrap_or("");
            logs.iter().position(|l| l.path == Path::new(p))
        })
        .collect();
    let to_log = |(input, line): (usize, usize)| -> (usize, usize) {
        let l = input_to_log
            .get(input)
            .copied()
            .flatten()
            .unwrap_or_else(|| panic!("input {input} is none of the lab's logs: {inputs:?}"));
        (l, line)
    };

    let mut groups: Vec<(&str, &Value)> = Vec::new();
    let incidents = report["incidents"].as_array().expect("incidents");
    let others = report["other_errors"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for inc in incidents {
        groups.push(("incident", inc));
    }
    for inc in &others {
        groups.push(("other_errors", inc));
    }

    // Counts.
    let server_errors = report["summary"]["server_errors"].as_u64().unwrap_or(0) as usize;
    let sum: usize = incidents
        .iter()
        .map(|i| i["count"].as_u64().unwrap_or(0) as usize)
        .sum();
    if server_errors != responses.len() || sum != server_errors {
        failures.push(format!(
            "counts: {} 5xx in the access logs, summary.server_errors {server_errors}, sum of incident counts {sum}",
            responses.len()
        ));
    }

    // Which group holds each access line.
    let mut holder: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
    for (gi, (_, inc)) in groups.iter().enumerate() {
        let rs = refs(inc, "responses");
        if groups[gi].0 == "incident" && inc["count"].as_u64() != Some(rs.len() as u64) {
            failures.push(format!(
                "incident {gi} ({}): count {} but {} responses",
                inc["cause"],
                inc["count"],
                rs.len()
            ));
        }
        for r in rs {
            holder.entry(to_log(r)).or_default().push(gi);
        }
    }
    let by_at: BTreeMap<(usize, usize), usize> = responses
        .iter()
        .enumerate()
        .map(|(i, r)| ((r.line.file, r.line.line), i))
        .collect();
    for (at, gs) in &holder {
        if !by_at.contains_key(at) {
            failures.push(format!(
                "{}:{} is in {} group(s) but is no 5xx access line: {:?}",
                logs[at.0].name,
                at.1,
                gs.len(),
                logs[at.0].lines.get(at.1 - 1)
            ));
        }
    }

    // Which group each 5xx response is in (the first, when wrongly in several).
    let group_of = |i: usize| -> Option<usize> {
        let r = &responses[i];
        holder
            .get(&(r.line.file, r.line.line))
            .and_then(|g| g.first().copied())
    };
    let group_name = |g: usize| -> String {
        let (what, inc) = groups[g];
        let kind = if what == "incident" {
            "incident"
        } else {
            "other_errors"
        };
        format!(
            "{kind} #{g} ({}, host {})",
            inc["cause"].as_str().unwrap_or("?"),
            inc["host"].as_str().unwrap_or("null")
        )
    };

    // Evidence of each group: whose own record each one is.
    let mut foreign: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut owned_by: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for (gi, (_, inc)) in groups.iter().enumerate() {
        let members: Vec<usize> = refs(inc, "responses")
            .into_iter()
            .filter_map(|r| by_at.get(&to_log(r)).copied())
            .collect();
        // An error-log incident with no response (other_errors) is shown for no 5xx.
        if refs(inc, "responses").is_empty() {
            continue;
        }
        for e in refs(inc, "evidence_at") {
            let (file, line) = to_log(e);
            let Some(rec) = records.get(&(file, line)) else {
                foreign.entry(gi).or_default().push(format!(
                    "{}:{line}: no record starts there: {:?}",
                    logs[file].name,
                    logs[file].lines.get(line.wrapping_sub(1))
                ));
                continue;
            };
            let mut owners = Vec::new();
            let mut why = Vec::new();
            for &m in &members {
                let r = &responses[m];
                match own(rec, &r.sent, Some(r.expected), www) {
                    Ok(()) => owners.push(m),
                    Err(w) => why.push(w),
                }
            }
            if !owners.is_empty() {
                owned_by.entry(gi).or_default().extend(owners);
                continue;
            }
            why.sort();
            why.dedup();
            // Whose record it really is: a 5xx response of another group, or another request.
            let mut really: Vec<String> = (0..responses.len())
                .filter(|&i| own(rec, &responses[i].sent, Some(responses[i].expected), www).is_ok())
                .take(3)
                .map(|i| {
                    format!(
                        "{} {} in {}",
                        responses[i].label(logs),
                        responses[i].expected,
                        group_of(i).map_or("no group".into(), group_name)
                    )
                })
                .collect();
            if really.is_empty() {
                really = all_sent
                    .iter()
                    .filter(|s| s.status < 500 && own(rec, s, None, www).is_ok())
                    .take(3)
                    .map(|s| format!("(maybe) {}", s.describe()))
                    .collect();
            }
            foreign.entry(gi).or_default().push(format!(
                "{} {:?}\n        not own to any of its {} responses: {}\n        it is the record of: {}",
                rec.at(logs),
                rec.short(),
                members.len(),
                why.join("; "),
                if really.is_empty() {
                    "no request of the lab".to_string()
                } else {
                    really.join(" | ")
                }
            ));
        }
    }

    let mut fig = Figures {
        responses: responses.len(),
        ..Figures::default()
    };
    let mut table = Vec::new();
    for (i, r) in responses.iter().enumerate() {
        let at = (r.line.file, r.line.line);
        let gs = holder.get(&at).cloned().unwrap_or_default();
        let (got, host, foreign_n, shown) = match gs.as_slice() {
            [g] => {
                let inc = groups[*g].1;
                let got = if groups[*g].0 == "incident" {
                    inc["cause"].as_str().unwrap_or("?").to_string()
                } else {
                    format!("{} (other_errors)", inc["cause"].as_str().unwrap_or("?"))
                };
                let host = inc["host"].as_str().map(str::to_string);
                let n = foreign.get(g).map_or(0, Vec::len);
                let shown = owned_by.get(g).is_some_and(|o| o.contains(&i));
                (got, host, n, shown)
            }
            [] => ("(in no incident)".into(), None, 0, false),
            more => (format!("(in groups {more:?})"), None, 0, false),
        };
        let cause_ok = gs.len() == 1 && got == r.expected;
        let host_ok = host.as_deref() == Some(r.line.host.as_str());
        let evidence_ok = gs.len() == 1 && foreign_n == 0;
        fig.right_cause += cause_ok as usize;
        fig.right_host += host_ok as usize;
        fig.own_evidence += evidence_ok as usize;
        fig.with_evidence += shown as usize;
        if cause_ok && host_ok && evidence_ok {
            continue;
        }
        let mut row = format!(
            "{:<48} expected {:<18} got {:<18} {} | host {} | db {:?} | client port {} ({}..{}){}",
            r.label(logs),
            r.expected,
            got,
            gs.first().map_or(String::new(), |&g| format!("#{g}")),
            host.as_deref().unwrap_or("null"),
            r.db,
            r.sent.port,
            clock(r.sent.start),
            clock(r.sent.end),
            if foreign_n > 0 {
                format!(" | {foreign_n} foreign records in its incident")
            } else {
                String::new()
            }
        );
        if !cause_ok {
            // Its own lines, and what the engine shows for its incident.
            let mine: Vec<&Record> = (records.values())
                .filter(|rec| own(rec, &r.sent, Some(r.expected), www).is_ok())
                .collect();
            for rec in mine.iter().take(4) {
                write!(row, "\n      its own: {} {}", rec.at(logs), rec.short()).unwrap();
            }
            if mine.is_empty() {
                write!(row, "\n      its own: none in the logs").unwrap();
            }
            if let Some(&g) = gs.first() {
                for e in refs(groups[g].1, "evidence_at").into_iter().take(4) {
                    let (f, l) = to_log(e);
                    let text = records.get(&(f, l)).map(Record::short).unwrap_or_default();
                    write!(row, "\n      engine shows: {}:{l} {text}", logs[f].name).unwrap();
                }
            }
        }
        table.push(row);
    }
    if !table.is_empty() {
        failures.push(format!(
            "{} of {} responses wrong (#N: the group they are in, in incidents then other_errors order):\n  {}",
            table.len(),
            responses.len(),
            table.join("\n  ")
        ));
    }
    if !foreign.is_empty() {
        let mut out = String::from("foreign evidence, by group:");
        for (g, recs) in &foreign {
            write!(out, "\n  {}:", group_name(*g)).unwrap();
            for rec in recs {
                write!(out, "\n    {rec}").unwrap();
            }
        }
        failures.push(out);
    }
    (fig, failures)
}

/// The records each 5xx response may show as evidence (its own, by [`own`]).
fn own_records(seen: &Seen, r: &Response) -> Vec<(usize, usize)> {
    (seen.records.iter())
        .filter(|(_, rec)| own(rec, &r.sent, Some(r.expected), seen.www).is_ok())
        .map(|(at, _)| *at)
        .collect()
}

/// What the checks read: the logs, their records, the lab's `www` dir, the 5xx responses with
/// the oracle's causes, and every request sent.
#[derive(Clone, Copy)]
struct Seen<'a> {
    logs: &'a [LogFile],
    records: &'a Records,
    www: &'a str,
    responses: &'a [Response],
    sent: &'a [Sent],
}

/// The report a perfect engine would give, in `--trace`'s shape: one incident per (server,
/// host, path, cause), its evidence every own record of its responses. Used to check the
/// checker: it must pass this one, and fail it once a record is moved to another incident.
fn perfect_report(seen: &Seen) -> Value {
    let (logs, responses) = (seen.logs, seen.responses);
    // (server, host, path, cause) -> (responses, evidence).
    type Group = (Vec<usize>, BTreeSet<(usize, usize)>);
    let mut groups: BTreeMap<(Srv, String, String, &str), Group> = BTreeMap::new();
    for (i, r) in responses.iter().enumerate() {
        let g = groups
            .entry((
                r.line.srv,
                r.line.host.clone(),
                r.line.path.clone(),
                r.expected,
            ))
            .or_default();
        g.0.push(i);
        g.1.extend(own_records(seen, r));
    }
    let refs = |v: &mut dyn Iterator<Item = (usize, usize)>| -> Value {
        v.map(|(f, l)| serde_json::json!({"input": f, "line": l}))
            .collect()
    };
    let incidents: Vec<Value> = groups
        .into_iter()
        .map(|((_, host, _, cause), (members, evidence))| {
            serde_json::json!({
                "cause": cause,
                "host": host,
                "count": members.len(),
                "responses": refs(&mut members.iter().map(|&m| (responses[m].line.file, responses[m].line.line))),
                "evidence_at": refs(&mut evidence.into_iter()),
            })
        })
        .collect();
    serde_json::json!({
        "inputs": logs.iter().map(|l| serde_json::json!({"path": l.path})).collect::<Vec<_>>(),
        "summary": {"server_errors": responses.len()},
        "incidents": incidents,
        "other_errors": [],
    })
}

/// Checks the checker on this seed's logs: the perfect report passes (and every response has
/// an own record in the logs: the logs can tell); with one incident's first record moved to an
/// incident of another cause, that incident's responses fail.
fn check_the_checker(seen: &Seen) {
    let responses = seen.responses;
    let none: Vec<String> = responses
        .iter()
        .filter(|r| own_records(seen, r).is_empty())
        .map(|r| r.label(seen.logs))
        .collect();
    assert!(
        none.is_empty(),
        "responses with no own record in the logs: {none:?}"
    );
    let mut report = perfect_report(seen);
    let (fig, failures) = check_report(&report, seen);
    assert!(
        failures.is_empty(),
        "the checker fails a perfect report:\n{}",
        failures.join("\n")
    );
    assert_eq!(fig.own_evidence, responses.len());
    let incs = report["incidents"].as_array_mut().unwrap();
    let (from, to) = (0..incs.len())
        .flat_map(|a| (0..incs.len()).map(move |b| (a, b)))
        .find(|&(a, b)| incs[a]["cause"] != incs[b]["cause"])
        .expect("two causes");
    let moved = incs[from]["evidence_at"][0].clone();
    incs[to]["evidence_at"].as_array_mut().unwrap().push(moved);
    let n = incs[to]["count"].as_u64().unwrap() as usize;
    let (fig, failures) = check_report(&report, seen);
    assert_eq!(
        fig.own_evidence,
        responses.len() - n,
        "a foreign record must fail its incident's {n} responses: {failures:?}"
    );
}

/// Saves the seed's logs and `expected.tsv` under `tests/fixtures/real/overlap/seed-N/`.
fn save(seed: u64, site: &Site, seen: &Seen) {
    let (logs, responses) = (seen.logs, seen.responses);
    if std::env::var_os("FIVEHUNDRED_SAVE_FIXTURES").is_none() {
        return;
    }
    let dir = fixtures_dir().join("overlap").join(format!("seed-{seed}"));
    let _ = std::fs::remove_dir_all(&dir);
    for f in logs {
        site.lab.save_redacted(&f.path, &dir.join(f.name));
    }
    let ts = |t: SystemTime| {
        jiff::Timestamp::from_millisecond(t.duration_since(UNIX_EPOCH).unwrap().as_millis() as i64)
            .unwrap()
            .to_string()
    };
    let mut tsv = String::from(
        "# Every 5xx access-log line of this run and what the lab knows about it: the oracle's cause,\n\
         # the client's port (Apache's error records name it), when the request ran (UTC), whether\n\
         # MariaDB was up, and the error records that may be its evidence (its own: its server's or\n\
         # its pool's, naming this request and nothing else's, written while it ran).\n\
         file\tline\tserver\thost\tmethod\tpath\tstatus\tcause\tclient_port\tstart\tend\tdb\town_records\n",
    );
    for r in responses {
        writeln!(
            tsv,
            "{}\t{}\t{}\t{}\tGET\t{}\t{}\t{}\t{}\t{}\t{}\t{:?}\t{}",
            logs[r.line.file].name,
            r.line.line,
            r.line.srv.name(),
            r.line.host,
            r.line.path,
            r.line.status,
            r.expected,
            r.sent.port,
            ts(r.sent.start),
            ts(r.sent.end),
            r.db,
            own_records(seen, r)
                .iter()
                .map(|(f, l)| format!("{}:{l}", logs[*f].name))
                .collect::<Vec<_>>()
                .join(",")
        )
        .unwrap();
    }
    std::fs::write(dir.join("expected.tsv"), tsv).expect("write expected.tsv");
}

// ---------------------------------------------------------------------------------------------
// The test.

fn seeds() -> Vec<u64> {
    std::env::var("FIVEHUNDRED_OVERLAP_SEEDS")
        .ok()
        .map(|s| {
            s.split(',')
                .filter(|x| !x.trim().is_empty())
                .map(|x| {
                    x.trim()
                        .parse()
                        .expect("FIVEHUNDRED_OVERLAP_SEEDS: comma-separated integers")
                })
                .collect()
        })
        .unwrap_or_else(|| vec![1, 2, 3])
}

/// One seed: a fresh site, the shuffled run, the checks. Returns the figures line and the
/// failures.
fn run_seed(seed: u64) -> (String, Vec<String>) {
    let t0 = Instant::now();
    let mut site = Site::start();
    let mut sent = Vec::new();
    sanity(&site, &mut sent);
    let jobs = job_list(seed);
    let stop_at = (jobs.len() as f64 * DB_STOP_AT) as usize;
    let (run, db_stop) = traffic(&mut site, &jobs, stop_at);
    sent.extend(run);
    until_pool_full(&site, &mut sent);
    until_db_failed(&site, &mut sent);
    settle(&site, &mut sent);
    for srv in Srv::ALL {
        let n = sent.iter().filter(|s| s.srv == srv).count();
        let server = match srv {
            Srv::Nginx => &site.nginx,
            Srv::Apache => &site.apache,
        };
        server.wait_access_lines(n);
    }
    assert!(
        sent.iter().all(|s| s.status != 0),
        "a request got no answer"
    );
    site.nginx.daemon.stop();
    site.apache.daemon.stop();
    site.fpm.stop();

    let logs = read_logs(site.logs());
    let lines = access_lines(&logs);
    let pairs = pair(&lines, &sent);
    let mut surprises = Vec::new();
    let responses: Vec<Response> = pairs
        .into_iter()
        .filter_map(|(line, s)| {
            let db = if s.path == "/db.php" {
                db_stop.state(&s)
            } else {
                DbState::Up
            };
            let when = When {
                status: line.status,
                db,
            };
            match expected(line.srv, &line.host, &line.path, when) {
                Ok(cause) => Some(Response {
                    line,
                    sent: s,
                    db,
                    expected: cause,
                }),
                Err(e) => {
                    surprises.push(format!(
                        "{}:{} {}: {e}",
                        logs[line.file].name,
                        line.line,
                        s.describe()
                    ));
                    None
                }
            }
        })
        .collect();
    assert!(
        surprises.is_empty(),
        "seed {seed}: the lab made 5xx it did not inject:\n{}",
        surprises.join("\n")
    );
    let records = parse_records(&logs, &site.lab.dir);
    let www = site.lab.path("www").display().to_string();
    let seen = Seen {
        logs: &logs,
        records: &records,
        www: &www,
        responses: &responses,
        sent: &sent,
    };
    save(seed, &site, &seen);
    check_the_checker(&seen);

    let mut by_cause: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &responses {
        *by_cause.entry(r.expected).or_default() += 1;
    }
    let mut by_srv: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &responses {
        *by_srv.entry(r.line.srv.name()).or_default() += 1;
    }
    let summary = format!(
        "{} requests, {} 5xx {by_srv:?}: {by_cause:?}; ran {:.1}s",
        sent.len(),
        responses.len(),
        t0.elapsed().as_secs_f64()
    );
    let paths: Vec<&Path> = logs.iter().map(|l| l.path.as_path()).collect();
    let Some(report) = diagnose_trace(&paths) else {
        // An engine without --trace: only the totals per cause can be compared, for information.
        let report = diagnose(&paths);
        let mut got: BTreeMap<String, u64> = BTreeMap::new();
        for inc in incidents(&report) {
            *got.entry(inc["cause"].as_str().unwrap_or("?").to_string())
                .or_default() += inc["count"].as_u64().unwrap_or(0);
        }
        return (
            format!(
                "seed {seed}: {summary}\n    no --trace, not checked; the report's totals per cause: {got:?}"
            ),
            vec![],
        );
    };
    let (fig, failures) = check_report(&report, &seen);
    (
        format!("{}\n    {summary}", fig.line(&format!("seed {seed}"))),
        failures,
    )
}

#[test]
fn overlapping_faults_each_5xx_gets_its_own_cause_and_evidence() {
    if skip_unless_root("overlapping_faults") {
        return;
    }
    let mut figures = Vec::new();
    let mut failures = Vec::new();
    for seed in seeds() {
        let (fig, fails) = run_seed(seed);
        eprintln!("{fig}");
        figures.push(fig);
        if !fails.is_empty() {
            failures.push(format!("seed {seed}:\n{}", fails.join("\n")));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\n{}",
        failures.join("\n\n"),
        figures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// The same checks on the saved fixtures.

/// The rows of a fixture's `expected.tsv` as responses (what the lab knew when it saved them).
fn parse_expected(dir: &Path, logs: &[LogFile]) -> Vec<Response> {
    const CAUSES: [&str; 5] = [
        "fpm_pool_exhausted",
        "db_unreachable",
        "file_permissions",
        "php_syntax_error",
        "php_memory_limit",
    ];
    let text = std::fs::read_to_string(dir.join("expected.tsv")).expect("expected.tsv");
    let time = |s: &str| {
        let ms = s
            .parse::<jiff::Timestamp>()
            .expect("RFC 3339")
            .as_millisecond();
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    };
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("file\t"))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let file = logs.iter().position(|x| x.name == f[0]).expect("log name");
            let srv = if f[2] == "nginx" {
                Srv::Nginx
            } else {
                Srv::Apache
            };
            let page = find_page(f[3], f[5]).expect("a page of the lab");
            let status = f[6].parse().unwrap();
            let db = match f[11] {
                "Up" => DbState::Up,
                "Down" => DbState::Down,
                _ => DbState::Stopping,
            };
            Response {
                line: AccessLine {
                    file,
                    line: f[1].parse().unwrap(),
                    srv,
                    host: page.host.to_string(),
                    path: page.path.to_string(),
                    status,
                    time: 0,
                },
                sent: Sent {
                    srv,
                    host: page.host,
                    path: page.path,
                    status,
                    port: f[8].parse().unwrap(),
                    start: time(f[9]),
                    end: time(f[10]),
                    body: String::new(),
                },
                db,
                expected: CAUSES
                    .iter()
                    .find(|c| **c == f[7])
                    .expect("a cause of the lab"),
            }
        })
        .collect()
}

/// The checks of the lab on `tests/fixtures/real/overlap/seed-N/` (no daemons, no root): the
/// saved logs, the oracle's `expected.tsv`, `diagnose --trace`. Quick to run while working on
/// the engine; the lab itself is the proof on fresh interleavings.
#[test]
fn overlap_fixtures_each_5xx_gets_its_own_cause_and_evidence() {
    let root = fixtures_dir().join("overlap");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.join("expected.tsv").exists())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    assert!(
        !dirs.is_empty(),
        "no overlap fixtures under {}",
        root.display()
    );
    let (mut figures, mut failures) = (Vec::new(), Vec::new());
    for dir in dirs {
        let label = dir.file_name().unwrap().to_string_lossy().into_owned();
        let logs = read_logs(
            LOGS.iter()
                .map(|&(name, kind)| (dir.join(name), name, kind))
                .collect(),
        );
        let responses = parse_expected(&dir, &logs);
        let in_logs = access_lines(&logs)
            .iter()
            .filter(|l| l.status >= 500)
            .count();
        assert_eq!(
            responses.len(),
            in_logs,
            "{label}: expected.tsv rows vs 5xx lines"
        );
        let sent: Vec<Sent> = responses.iter().map(|r| r.sent.clone()).collect();
        let records = parse_records(&logs, Path::new("/srv/lab"));
        let seen = Seen {
            logs: &logs,
            records: &records,
            www: "/srv/lab/www",
            responses: &responses,
            sent: &sent,
        };
        check_the_checker(&seen);
        let paths: Vec<&Path> = logs.iter().map(|l| l.path.as_path()).collect();
        let Some(report) = diagnose_trace(&paths) else {
            return;
        };
        let (fig, fails) = check_report(&report, &seen);
        let fig = fig.line(&format!("fixture {label}"));
        eprintln!("{fig}");
        figures.push(fig);
        if !fails.is_empty() {
            failures.push(format!("fixture {label}:\n{}", fails.join("\n")));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n\n{}",
        failures.join("\n\n"),
        figures.join("\n")
    );
}
