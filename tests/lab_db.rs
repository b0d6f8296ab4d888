//! Real database faults behind PHP: MariaDB and PostgreSQL servers from Debian, PHP pages
//! using PDO, mysqli and pg_connect served by nginx + PHP-FPM, and the three database causes
//! (`db_auth`, `db_unreachable`, `db_pool_exhausted`) injected the ways they happen in
//! production. Each case makes healthy requests first, injects the fault, makes failing
//! requests, then checks what `fivehundred diagnose` says about the logs the servers wrote.
//!
//! `FIVEHUNDRED_LAB_SAVE=1` also copies each case's logs under
//! `tests/fixtures/real/db-<engine>/<cause>/<case>/` (temp dir replaced by `/srv/lab`).
#[path = "lab/db.rs"]
mod db;
mod lab;

use db::*;
use lab::apache::ApacheOptions;
use lab::nginx::NginxOptions;
use lab::php_fpm::{Fpm, FpmOptions, PhpLog};
use lab::*;

/// Requests answered 200 before the fault (they must produce no incident).
const HEALTHY: usize = 2;
/// Requests made while the fault holds (each one a 500).
const FAILING: u64 = 3;

/// A way the database goes wrong for the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// A deploy put a wrong password into the app's config.php.
    WrongPassword,
    /// The server was stopped; the app connects over TCP ("Connection refused").
    Stopped,
    /// The server was stopped; the app connects through its unix socket, now gone
    /// ("No such file or directory").
    StoppedSocket,
    /// The config names a port nothing listens on.
    WrongPort,
    /// Other clients hold every connection slot (`max_connections` reached). On PostgreSQL
    /// with `superuser_reserved_connections = 0`: "sorry, too many clients already".
    PoolFull,
    /// PostgreSQL with its default 3 slots reserved for superusers: the app's user is told
    /// "remaining connection slots are reserved for non-replication superuser connections".
    PoolFullReserved,
}

impl Fault {
    /// The cause id the report must name.
    fn cause(self) -> &'static str {
        match self {
            Fault::WrongPassword => "db_auth",
            Fault::Stopped | Fault::StoppedSocket | Fault::WrongPort => "db_unreachable",
            Fault::PoolFull | Fault::PoolFullReserved => "db_pool_exhausted",
        }
    }

    /// The server's configuration: small pools where the fault fills them.
    fn db_options(self, engine: Engine) -> DbOptions {
        let o = DbOptions::new(engine);
        match (self, engine) {
            (Fault::PoolFull, Engine::MariaDb) => o.max_connections(10),
            (Fault::PoolFull, Engine::Postgres) => o.max_connections(6).superuser_reserved(0),
            (Fault::PoolFullReserved, _) => o.max_connections(6).superuser_reserved(3),
            _ => o,
        }
    }

    /// Breaks things. Returns the connection holder (for the pool faults), which must live
    /// until the failing requests are made.
    fn inject(self, lab: &Lab, db: &mut Db, config: AppConfig) -> Option<Holder> {
        match self {
            Fault::WrongPassword => {
                config.password(WRONG_PASSWORD).write(lab, "www");
            }
            Fault::WrongPort => {
                config.port(free_port()).write(lab, "www");
            }
            Fault::Stopped | Fault::StoppedSocket => db.stop(),
            Fault::PoolFull | Fault::PoolFullReserved => {
                return Some(db.hold_all_connections(lab));
            }
        }
        None
    }
}

/// One lab run: a page of the app, a fault, and the web stack (where PHP's messages go).
#[derive(Debug, Clone, Copy)]
struct Case {
    app: PhpApp,
    fault: Fault,
    stack: Stack,
}

/// The web server and how PHP runs under it.
#[derive(Debug, Clone, Copy)]
enum Stack {
    /// nginx + PHP-FPM; PHP's messages go where the [`PhpLog`] says.
    Nginx(PhpLog),
    /// Apache `mod_proxy_fcgi` + PHP-FPM.
    ApacheFpm(PhpLog),
    /// Apache + mod_php; PHP's messages in Apache's error log (false) or PHP's own
    /// `error_log` file (true).
    ModPhp { php_error_log: bool },
}

/// The running web side, with the app's pages in `www/`. The daemons are kept only to be
/// stopped on Drop (the web server first).
struct Web {
    server: WebServer,
    fpm: Option<Fpm>,
}

impl Web {
    /// opcache is off so a rewritten config.php takes effect at the next request (with
    /// Debian's opcache settings it may be served stale for up to 2 s).
    fn start(lab: &Lab, stack: Stack) -> Web {
        let fpm = |log| {
            FpmOptions::new()
                .php_log(log)
                .admin_value("opcache.enable", "0")
                .start(lab)
        };
        let (server, fpm) = match stack {
            Stack::Nginx(log) => {
                let fpm = fpm(log);
                (NginxOptions::new().fastcgi(&fpm).start(lab), Some(fpm))
            }
            Stack::ApacheFpm(log) => {
                let fpm = fpm(log);
                (ApacheOptions::new().fcgi(&fpm).start(lab), Some(fpm))
            }
            Stack::ModPhp { php_error_log } => {
                let apache = ApacheOptions::new()
                    .mod_php()
                    .php_error_log(php_error_log)
                    .php_admin_value("opcache.enable", "0")
                    .start(lab);
                (apache, None)
            }
        };
        Web { server, fpm }
    }

    /// The log files `diagnose` is given: what an admin has under /var/log.
    fn logs(&self) -> Vec<NamedLog> {
        let fpm = self.fpm.iter().flat_map(Fpm::logs);
        self.server.logs().into_iter().chain(fpm).collect()
    }

    /// GETs `path` `n` times, asserting each status.
    fn get_all(&self, path: &str, n: usize, want: u16) {
        for i in 0..n {
            let r = fetch(self.server.port, "GET", path, "localhost", b"");
            assert_eq!(r.status, want, "GET {path} #{i}: body {:?}", r.body);
        }
    }
}

/// Runs one case end to end and checks the report.
fn run(name: &str, case: Case) {
    if skip_unless_root(name) {
        return;
    }
    let lab = Lab::new();
    let mut db = case.fault.db_options(case.app.engine).start(&lab);
    let mut config = db.config(APP_PASSWORD);
    if case.fault == Fault::StoppedSocket {
        config = config.via_socket(&db);
    }
    config.write(&lab, "www");
    case.app.install(&lab, "www");
    let web = Web::start(&lab, case.stack);
    let path = format!("/{}", case.app.file);

    web.get_all(&path, HEALTHY, 200);
    let holder = case.fault.inject(&lab, &mut db, config);
    web.get_all(&path, FAILING as usize, 500);
    web.server.wait_access_lines(HEALTHY + FAILING as usize);
    drop(holder);

    let logs = web.logs();
    save_fixture(&lab, name, case, &logs, &db);
    let report = diagnose(&log_paths(&logs));
    check_report(&report, case);
}

/// The report holds exactly the failing requests, all under the fault's cause, at the app's
/// connect line when the evidence names one (else with `file`/`line` null).
fn check_report(report: &serde_json::Value, case: Case) {
    let cause = case.fault.cause();
    assert_server_errors(report, FAILING, &[(500, FAILING)]);
    assert_eq!(
        causes(report),
        vec![cause.to_string()],
        "{}",
        pretty(report)
    );
    match case.app.expected_location() {
        Some((file, line)) => assert_incident(report, cause, 500, FAILING, Some(file), Some(line)),
        None => {
            assert_incident(report, cause, 500, FAILING, None, None);
            for inc in incidents(report) {
                assert!(
                    inc["file"].is_null() && inc["line"].is_null(),
                    "the evidence names no file/line, the report must not invent one:\n{}",
                    pretty(report)
                );
            }
        }
    }
}

/// With `FIVEHUNDRED_LAB_SAVE` set, keeps this case's logs as fixtures.
fn save_fixture(lab: &Lab, name: &str, case: Case, logs: &[NamedLog], db: &Db) {
    if std::env::var_os("FIVEHUNDRED_LAB_SAVE").is_none() {
        return;
    }
    let dir = fixtures_dir()
        .join(format!("db-{}", case.app.engine.name()))
        .join(case.fault.cause())
        .join(name);
    for p in logs.iter().map(|(p, _)| p).chain([&db.log]) {
        lab.save_redacted(p, &dir.join(p.file_name().unwrap()));
    }
}

/// Every page of `engine`'s app, answered 200 against a healthy server: no 5xx, no incident.
/// Also prints the server's startup time (data-dir copy included).
fn healthy(name: &str, engine: Engine, apps: &[PhpApp]) {
    if skip_unless_root(name) {
        return;
    }
    let lab = Lab::new();
    let db = DbOptions::new(engine).start(&lab);
    eprintln!("{} ready in {:?}", engine.name(), db.startup);
    db.config(APP_PASSWORD).write(&lab, "www");
    for app in apps {
        app.install(&lab, "www");
    }
    let web = Web::start(&lab, Stack::Nginx(PhpLog::File));
    for app in apps {
        web.get_all(&format!("/{}", app.file), HEALTHY, 200);
    }
    web.server.wait_access_lines(HEALTHY * apps.len());
    assert_no_incident(&diagnose(&log_paths(&web.logs())));
}

#[test]
fn mariadb_healthy() {
    healthy(
        "mariadb_healthy",
        Engine::MariaDb,
        &[PDO_MYSQL, MYSQLI, MYSQLI_LOGGED],
    );
}

#[test]
fn postgres_healthy() {
    healthy(
        "postgres_healthy",
        Engine::Postgres,
        &[PDO_PGSQL, PG_CONNECT],
    );
}

/// One #[test] per case, all driven by [`run`]: for each fault, the pages and stacks it is
/// tried with.
macro_rules! cases {
    ($($fault:ident => { $($name:ident: $app:expr, $stack:expr;)* })*) => {$($(
        #[test]
        fn $name() {
            run(stringify!($name), Case { app: $app, fault: $fault, stack: $stack });
        }
    )*)*};
}

use Fault::*;
use PhpLog::{FastCgiStderr, File, FpmLog};
use Stack::{ApacheFpm, ModPhp, Nginx as Ng};

cases! {
    WrongPassword => {
        mariadb_auth_pdo: PDO_MYSQL, Ng(FastCgiStderr);
        mariadb_auth_mysqli: MYSQLI, Ng(File);
        mariadb_auth_logged: MYSQLI_LOGGED, Ng(FastCgiStderr);
        mariadb_auth_pdo_mod_php: PDO_MYSQL, ModPhp { php_error_log: false };
        postgres_auth_pdo: PDO_PGSQL, Ng(FastCgiStderr);
        postgres_auth_pg_connect: PG_CONNECT, Ng(File);
        postgres_auth_pdo_apache_fpm: PDO_PGSQL, ApacheFpm(FastCgiStderr);
    }
    Stopped => {
        mariadb_stopped_pdo: PDO_MYSQL, Ng(File);
        mariadb_stopped_logged_mod_php: MYSQLI_LOGGED, ModPhp { php_error_log: true };
        postgres_stopped_pdo: PDO_PGSQL, Ng(File);
        postgres_stopped_pg_connect: PG_CONNECT, Ng(FastCgiStderr);
        postgres_stopped_pg_connect_mod_php: PG_CONNECT, ModPhp { php_error_log: false };
    }
    StoppedSocket => {
        mariadb_stopped_socket_mysqli: MYSQLI, Ng(FastCgiStderr);
    }
    WrongPort => {
        mariadb_wrong_port_logged: MYSQLI_LOGGED, Ng(File);
        postgres_wrong_port_pdo: PDO_PGSQL, Ng(FpmLog);
    }
    PoolFull => {
        mariadb_pool_pdo: PDO_MYSQL, Ng(FastCgiStderr);
        mariadb_pool_mysqli_fpm_log: MYSQLI, Ng(FpmLog);
        mariadb_pool_logged: MYSQLI_LOGGED, Ng(File);
        mariadb_pool_logged_apache_fpm: MYSQLI_LOGGED, ApacheFpm(FastCgiStderr);
        postgres_pool_pdo: PDO_PGSQL, Ng(FastCgiStderr);
        postgres_pool_pg_connect: PG_CONNECT, Ng(File);
        postgres_pool_pdo_mod_php: PDO_PGSQL, ModPhp { php_error_log: true };
    }
    PoolFullReserved => {
        postgres_pool_reserved_pdo: PDO_PGSQL, Ng(File);
    }
}
