//! MariaDB 10.11 and PostgreSQL 15 from Debian, for the database faults (`db_auth`,
//! `db_unreachable`, `db_pool_exhausted`), plus the PHP pages that talk to them the ways real
//! apps do (PDO, mysqli, pg_connect).
//!
//! Each test gets its own server: a fault either stops it or fills its connection slots, which
//! would break any test sharing it. Startup stays cheap because the data directory (system
//! tables, the `shop` database and its `app` user) is built once, cached under
//! the system temp dir, and copied per server onto a tmpfs (`cp -a` of ~20-30 MB) instead
//! of running `mariadb-install-db` / `initdb` every time (0.6-1.5 s each on this machine).
//!
//! Each server writes its own log file in its lab sub-directory ([`Db::log`]), as a packaged
//! one does under /var/log.
//!
//! Include it with `#[path = "lab/db.rs"] mod db;` next to `mod lab;` (it uses `crate::lab`).
#![allow(dead_code)]

use crate::lab::{Daemon, Lab, free_port, log_contains, port_open};
use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The database every app reads from, its owner and the owner's real password.
pub const DB_NAME: &str = "shop";
pub const APP_USER: &str = "app";
pub const APP_PASSWORD: &str = "s3cret";
/// What a broken deploy put into the app's config instead.
pub const WRONG_PASSWORD: &str = "wrong-password";

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    MariaDb,
    Postgres,
}

impl Engine {
    /// Short name: the fixture family suffix (`db-mariadb`) and the lab sub-directory.
    pub fn name(self) -> &'static str {
        match self {
            Engine::MariaDb => "mariadb",
            Engine::Postgres => "postgres",
        }
    }

    /// The system user the server runs as (it refuses to run as root).
    fn system_user(self) -> &'static str {
        match self {
            Engine::MariaDb => "mysql",
            Engine::Postgres => "postgres",
        }
    }

    /// The server's log file name, in its lab sub-directory.
    fn log_file(self) -> &'static str {
        match self {
            Engine::MariaDb => "mariadb.log",
            Engine::Postgres => "postgresql.log",
        }
    }

    /// The server's log line that says it accepts connections.
    fn ready_line(self) -> &'static str {
        match self {
            Engine::MariaDb => "ready for connections",
            Engine::Postgres => "database system is ready to accept connections",
        }
    }
}

/// Server configuration, builder style: `DbOptions::mariadb().max_connections(10).start(&lab)`.
#[derive(Debug, Clone)]
pub struct DbOptions {
    pub engine: Engine,
    /// `max_connections`. MariaDB's minimum is 10 (smaller values are raised to 10).
    pub max_connections: u32,
    /// PostgreSQL's `superuser_reserved_connections` (its default is 3); 0 makes a full server
    /// answer every client `sorry, too many clients already`. Ignored by MariaDB, which always
    /// keeps one extra slot for a SUPER user.
    pub superuser_reserved: u32,
}

impl DbOptions {
    pub fn mariadb() -> Self {
        DbOptions {
            engine: Engine::MariaDb,
            max_connections: 20,
            superuser_reserved: 0,
        }
    }
    pub fn postgres() -> Self {
        DbOptions {
            engine: Engine::Postgres,
            max_connections: 20,
            superuser_reserved: 3,
        }
    }
    pub fn new(engine: Engine) -> Self {
        match engine {
            Engine::MariaDb => Self::mariadb(),
            Engine::Postgres => Self::postgres(),
        }
    }
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }
    pub fn superuser_reserved(mut self, n: u32) -> Self {
        self.superuser_reserved = n;
        self
    }
    pub fn start(self, lab: &Lab) -> Db {
        Db::start(lab, self)
    }
}

/// A running database server on 127.0.0.1 (TCP) and a unix socket in the lab dir.
pub struct Db {
    pub daemon: Daemon,
    pub opts: DbOptions,
    pub port: u16,
    /// `<lab>/<engine>`: data dir, socket, pid file.
    pub dir: PathBuf,
    /// MariaDB: the socket file; PostgreSQL: the socket directory (`host=` for libpq).
    pub socket: PathBuf,
    /// The server's own log file.
    pub log: PathBuf,
    /// How long the start took, copy of the data dir included.
    pub startup: std::time::Duration,
}

impl Db {
    /// A `postgres://` URL for the app user with the wrong password: what an app configured
    /// with it is refused with (`db_auth`).
    pub fn wrong_password_url(&self) -> String {
        format!(
            "postgres://{APP_USER}:{WRONG_PASSWORD}@127.0.0.1:{}/{DB_NAME}",
            self.port
        )
    }

    pub fn start(lab: &Lab, opts: DbOptions) -> Db {
        let t0 = std::time::Instant::now();
        let engine = opts.engine;
        // On tmpfs when possible: copying the data dir onto ext4 here costs ~1 s for
        // PostgreSQL, onto tmpfs ~0.1 s (and the servers run faster there too).
        let dir = lab
            .mount_tmpfs(engine.name(), "256m")
            .unwrap_or_else(|| lab.mkdir(engine.name()));
        copy_dir(&template(engine).join("data"), &dir.join("data"));
        chown_recursive(&dir, engine.system_user());
        let port = free_port();
        let socket = match engine {
            Engine::MariaDb => dir.join("mysqld.sock"),
            Engine::Postgres => dir.clone(),
        };
        let mut cmd = match engine {
            Engine::MariaDb => mariadbd(&dir, port, &opts),
            Engine::Postgres => postgres(&dir, port, &opts),
        };
        let mut daemon = Daemon::spawn(&format!("{}d", engine.name()), &mut cmd);
        let log = dir.join(engine.log_file());
        let ready = engine.ready_line();
        daemon.wait_until(ready, || log_contains(&log, ready) && port_open(port));
        Db {
            daemon,
            opts,
            port,
            dir,
            socket,
            log,
            startup: t0.elapsed(),
        }
    }

    pub fn engine(&self) -> Engine {
        self.opts.engine
    }

    /// Shuts the server down cleanly and waits for it, the way `systemctl stop` does: MariaDB
    /// on SIGTERM; PostgreSQL on SIGINT ("fast": SIGTERM is "smart" and would wait for every
    /// client to leave).
    pub fn stop(&mut self) {
        if self.engine() == Engine::Postgres {
            self.daemon.signal("INT");
        }
        self.daemon.stop();
    }

    /// The app's `config.php` pointing at this server over TCP, with `password`.
    pub fn config(&self, password: &str) -> AppConfig {
        AppConfig {
            host: "127.0.0.1".into(),
            port: self.port,
            socket: None,
            password: password.into(),
        }
    }

    /// The PDO DSN for this server over TCP.
    pub fn pdo_dsn(&self) -> String {
        let driver = match self.engine() {
            Engine::MariaDb => "mysql",
            Engine::Postgres => "pgsql",
        };
        format!(
            "{driver}:host=127.0.0.1;port={};dbname={DB_NAME}",
            self.port
        )
    }

    /// Fills every connection slot an ordinary user can get, the way other clients (a cron
    /// job, a leaking worker pool) do: a PHP CLI process opens connections as `app` until the
    /// server refuses one, then holds them until the returned daemon is dropped. Panics unless
    /// the refusal is the server's "full" error, so a test never runs on a half-made fault.
    pub fn hold_all_connections(&self, lab: &Lab) -> Holder {
        let script = lab.write("cli/hold.php", HOLD_PHP);
        let status = lab.path("cli/hold.status");
        let mut daemon = Daemon::spawn(
            "connection holder",
            Command::new("php")
                .arg(&script)
                .arg(&status)
                .arg(self.pdo_dsn())
                .arg(APP_USER)
                .arg(APP_PASSWORD),
        );
        daemon.wait_until("the holder to fill the server", || {
            log_contains(&status, " held; next: ")
        });
        let said = fs::read_to_string(&status).unwrap_or_default();
        let full = match self.engine() {
            Engine::MariaDb => "Too many connections",
            Engine::Postgres if self.opts.superuser_reserved == 0 => "too many clients already",
            Engine::Postgres => "remaining connection slots are reserved",
        };
        assert!(
            said.contains(full),
            "holder did not fill the server: {said}"
        );
        let held = said.split(' ').next().and_then(|n| n.trim().parse().ok());
        Holder {
            daemon,
            held: held.unwrap_or(0),
            refusal: said.trim().to_string(),
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Other clients holding a server's connection slots (see [`Db::hold_all_connections`]).
pub struct Holder {
    pub daemon: Daemon,
    /// How many connections it holds.
    pub held: u32,
    /// What the server answered the one connection too many.
    pub refusal: String,
}

/// `mariadbd` in the foreground on a copy of the template data dir. The options keep it small
/// and quick (16 MB buffer pool, no performance schema, no binlog); everything else is
/// Debian's build default, the same messages a real server logs.
fn mariadbd(dir: &Path, port: u16, o: &DbOptions) -> Command {
    let mut c = Command::new("mariadbd");
    c.arg("--no-defaults")
        .arg(format!("--datadir={}", dir.join("data").display()))
        .arg(format!("--socket={}", dir.join("mysqld.sock").display()))
        .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
        .arg(format!("--port={port}"))
        .arg("--bind-address=127.0.0.1")
        .arg("--user=mysql")
        .arg(format!("--max-connections={}", o.max_connections))
        .arg(format!("--log-error={}", dir.join("mariadb.log").display()))
        .args(MARIADB_SMALL)
        .args(["--skip-log-bin", "--performance-schema=OFF"])
        // Debian's default writes a 12 MB temporary tablespace at every start.
        .arg("--innodb-temp-data-file-path=ibtmp1:1M:autoextend");
    c
}

/// Sizing shared by the template bootstrap and every start (the redo log must match).
const MARIADB_SMALL: [&str; 3] = [
    "--innodb-buffer-pool-size=16M",
    "--innodb-log-file-size=4M",
    "--skip-name-resolve",
];

/// `postgres` in the foreground as the postgres user (`setpriv` execs, so the child's pid is the
/// postmaster's). Durability is off (fsync) since the data is thrown away; the log prefix is
/// Debian's `postgresql.conf` one, so lines look like a packaged server's.
fn postgres(dir: &Path, port: u16, o: &DbOptions) -> Command {
    // stderr appended to the log file the way Debian's pg_ctlcluster does it (no logging
    // collector: its process outlives the postmaster and would be left behind).
    let mut c = as_user("postgres", "/bin/sh");
    c.arg("-c")
        .arg(r#"log="$1"; shift; exec "$@" 2>>"$log""#)
        .arg("sh")
        .arg(dir.join("postgresql.log"))
        .arg(format!("{PG_BIN}/postgres"))
        .arg("-D")
        .arg(dir.join("data"))
        .arg("-k")
        .arg(dir)
        .arg("-p")
        .arg(port.to_string());
    for setting in [
        "listen_addresses=127.0.0.1".to_string(),
        format!("max_connections={}", o.max_connections),
        format!("superuser_reserved_connections={}", o.superuser_reserved),
        "shared_buffers=8MB".into(),
        "fsync=off".into(),
        "synchronous_commit=off".into(),
        "full_page_writes=off".into(),
        "log_line_prefix=%m [%p] %q%u@%d ".into(),
    ] {
        c.arg("-c").arg(setting);
    }
    c
}

/// A command run as `user` (its uid, gid and groups) through `setpriv`, which execs.
fn as_user(user: &str, program: &str) -> Command {
    let mut c = Command::new("setpriv");
    c.arg(format!("--reuid={user}"))
        .arg(format!("--regid={user}"))
        .arg("--init-groups")
        .arg(program);
    c
}

// ---------------------------------------------------------------------------------------------
// Template data directories, built once and cached.

/// SQL that gives a fresh MariaDB the app's database, user and one row. Run by `mariadbd
/// --bootstrap`, which starts with grant tables off: FLUSH PRIVILEGES turns them on so CREATE
/// USER works.
const MARIADB_SETUP: &str = "use mysql;
FLUSH PRIVILEGES;
CREATE DATABASE shop;
CREATE USER 'app'@'%' IDENTIFIED BY 's3cret';
GRANT ALL ON shop.* TO 'app'@'%';
CREATE TABLE shop.items (id int primary key, name varchar(20));
INSERT INTO shop.items VALUES (1, 'apple');
";

/// The same for PostgreSQL, run by single-user `postgres --single`, one database at a time.
const PG_SETUP_POSTGRES: &str = "CREATE ROLE app LOGIN PASSWORD 's3cret';
CREATE DATABASE shop OWNER app;
";
const PG_SETUP_SHOP: &str = "CREATE TABLE items (id int primary key, name text);
INSERT INTO items VALUES (1, 'apple');
ALTER TABLE items OWNER TO app;
";

/// Bumped when the way templates are built changes (anything not in the hashed SQL).
const TEMPLATE_REVISION: u32 = 2;

/// The cached template for `engine` (its `data/` is what [`Db::start`] copies).
fn template(engine: Engine) -> &'static Path {
    static MARIADB: OnceLock<PathBuf> = OnceLock::new();
    static POSTGRES: OnceLock<PathBuf> = OnceLock::new();
    let cell = match engine {
        Engine::MariaDb => &MARIADB,
        Engine::Postgres => &POSTGRES,
    };
    cell.get_or_init(|| cached_template(engine))
}

/// `$TMPDIR/fivehundred-db-templates/<engine>-<key>`, where the key hashes the setup SQL and
/// the server's version, so a change to either builds a new one. Built under a temporary name
/// and renamed, so a concurrent test binary never sees a half-built one.
fn cached_template(engine: Engine) -> PathBuf {
    // Under the system temp dir, not the build dir: the database users build the template
    // there, and the checkout may sit under a directory they cannot enter (/root).
    let root = std::env::temp_dir().join("fivehundred-db-templates");
    let mut h = DefaultHasher::new();
    (
        MARIADB_SETUP,
        PG_SETUP_POSTGRES,
        PG_SETUP_SHOP,
        MARIADB_SMALL,
    )
        .hash(&mut h);
    TEMPLATE_REVISION.hash(&mut h);
    server_version(engine).hash(&mut h);
    let dest = root.join(format!("{}-{:016x}", engine.name(), h.finish()));
    if dest.join("data").is_dir() {
        return dest;
    }
    let tmp = root.join(format!("{}.tmp-{}", engine.name(), std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).expect("mkdir template");
    chown_recursive(&tmp, engine.system_user());
    match engine {
        Engine::MariaDb => init_mariadb(&tmp),
        Engine::Postgres => init_postgres(&tmp),
    }
    if fs::rename(&tmp, &dest).is_err() {
        // Another test binary finished first: use its copy.
        let _ = fs::remove_dir_all(&tmp);
    }
    remove_stale_templates(&root, engine, &dest);
    assert!(
        dest.join("data").is_dir(),
        "no template at {}",
        dest.display()
    );
    dest
}

/// Removes this engine's templates built by older test code or another server version.
fn remove_stale_templates(root: &Path, engine: Engine, keep: &Path) {
    let prefix = format!("{}-", engine.name());
    for e in fs::read_dir(root).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(&prefix) && e.path() != keep {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

fn server_version(engine: Engine) -> String {
    let out = match engine {
        Engine::MariaDb => Command::new("mariadbd").arg("--version").output(),
        Engine::Postgres => Command::new(format!("{PG_BIN}/postgres"))
            .arg("--version")
            .output(),
    };
    let out = out.unwrap_or_else(|e| panic!("{} --version: {e}", engine.name()));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn init_mariadb(dir: &Path) {
    let data = dir.join("data");
    run(Command::new("mariadb-install-db")
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .args(["--user=mysql", "--auth-root-authentication-method=normal"])
        .arg("--skip-test-db")
        .args(MARIADB_SMALL));
    run_with_stdin(
        Command::new("mariadbd")
            .args(["--no-defaults", "--bootstrap", "--user=mysql"])
            .arg(format!("--datadir={}", data.display()))
            .args(MARIADB_SMALL),
        MARIADB_SETUP,
    );
}

fn init_postgres(dir: &Path) {
    let data = dir.join("data");
    run(as_user("postgres", &format!("{PG_BIN}/initdb"))
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
        ])
        .args([
            "--no-sync",
            "--no-instructions",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ])
        // 1 MB WAL segments instead of 16: less to copy per server.
        .arg("--wal-segsize=1"));
    for (db, sql) in [("postgres", PG_SETUP_POSTGRES), ("shop", PG_SETUP_SHOP)] {
        run_with_stdin(
            as_user("postgres", &format!("{PG_BIN}/postgres"))
                .arg("--single")
                .arg("-D")
                .arg(&data)
                .args(["-c", "fsync=off", db]),
            sql,
        );
    }
}

/// Runs a setup command to completion; panics with its output if it fails.
fn run(cmd: &mut Command) {
    let out = cmd
        .current_dir("/")
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn run_with_stdin(cmd: &mut Command, input: &str) {
    use std::io::Write;
    let mut child = cmd
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .expect("write setup SQL");
    let out = child.wait_with_output().expect("wait for setup");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // postgres --single exits 0 even when a statement fails; its errors say "ERROR:".
    assert!(
        out.status.success() && !stdout.contains("ERROR:"),
        "{cmd:?} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_dir(src: &Path, dest: &Path) {
    run(Command::new("cp").arg("-a").arg(src).arg(dest));
}

fn chown_recursive(p: &Path, user: &str) {
    run(Command::new("chown")
        .arg("-R")
        .arg(format!("{user}:{user}"))
        .arg(p));
}

// ---------------------------------------------------------------------------------------------
// The PHP side.

/// What the app's `config.php` says about its database.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub host: String,
    pub port: u16,
    /// MariaDB only: connect through this unix socket instead of TCP.
    pub socket: Option<PathBuf>,
    pub password: String,
}

impl AppConfig {
    /// Connect through the server's unix socket (as `host=localhost` apps do by default).
    pub fn via_socket(mut self, db: &Db) -> Self {
        self.host = "localhost".into();
        self.socket = Some(db.socket.clone());
        self
    }
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
    pub fn password(mut self, password: &str) -> Self {
        self.password = password.into();
        self
    }

    /// The file as an installer writes it (a PHP array the pages `require`).
    pub fn php(&self) -> String {
        let socket = self
            .socket
            .as_ref()
            .map(|s| format!("'{}'", s.display()))
            .unwrap_or_else(|| "null".into());
        format!(
            "<?php\n// The shop's database settings, as its installer wrote them.\nreturn [\
             'host' => '{}', 'port' => {}, 'socket' => {socket}, 'dbname' => '{DB_NAME}', \
             'user' => '{APP_USER}', 'password' => '{}'];\n",
            self.host, self.port, self.password
        )
    }

    /// Writes it as `<www>/config.php`.
    pub fn write(&self, lab: &Lab, www: &str) -> PathBuf {
        lab.write(&format!("{www}/config.php"), &self.php())
    }
}

/// A page of the shop app: how it connects and how it fails.
#[derive(Debug, Clone, Copy)]
pub struct PhpApp {
    pub file: &'static str,
    pub engine: Engine,
    pub source: &'static str,
    /// True when the error log names the page's file and line (an uncaught exception, a PHP
    /// warning); false when the app catches the error and logs only its message.
    pub names_line: bool,
}

impl PhpApp {
    /// Line of the connect call (comments skipped): where PHP's message points.
    pub fn connect_line(&self) -> u64 {
        let needle = ["new PDO(", "new mysqli(", "pg_connect("];
        let i = self
            .source
            .lines()
            .position(|l| !l.starts_with("//") && needle.iter().any(|n| l.contains(n)))
            .expect("app has a connect call");
        i as u64 + 1
    }

    /// The (file suffix, line) the report must name, or None when the evidence names none.
    pub fn expected_location(&self) -> Option<(&'static str, u64)> {
        self.names_line.then(|| (self.file, self.connect_line()))
    }

    /// Writes the page into `<www>/`.
    pub fn install(&self, lab: &Lab, www: &str) -> PathBuf {
        lab.write(&format!("{www}/{}", self.file), self.source)
    }
}

/// The page `file` of the shop app: the file `tests/lab/shop/<file>`.
macro_rules! page {
    ($file:literal, $engine:ident, names_line: $names_line:expr) => {
        PhpApp {
            file: $file,
            engine: Engine::$engine,
            names_line: $names_line,
            source: include_str!(concat!("shop/", $file)),
        }
    };
}

/// MariaDB through PDO; the PDOException is not caught, so PHP answers 500 and logs
/// `PHP Fatal error:  Uncaught PDOException: SQLSTATE[...] ... in FILE:LINE`.
pub const PDO_MYSQL: PhpApp = page!("pdo_mysql.php", MariaDb, names_line: true);

/// MariaDB through mysqli, which throws `mysqli_sql_exception` since PHP 8.1 (uncaught: 500).
pub const MYSQLI: PhpApp = page!("mysqli.php", MariaDb, names_line: true);

/// Like many CMSs: catches the mysqli error, `error_log()`s its message (no file, no line) and
/// answers 500 with "Error establishing a database connection".
pub const MYSQLI_LOGGED: PhpApp = page!("mysqli_logged.php", MariaDb, names_line: false);

/// PostgreSQL through PDO, uncaught: `Uncaught PDOException: SQLSTATE[08006] [7] connection to
/// server at "127.0.0.1", port N failed: ...`.
pub const PDO_PGSQL: PhpApp = page!("pdo_pgsql.php", Postgres, names_line: true);

/// PostgreSQL through pg_connect(), which only warns (`PHP Warning:  pg_connect(): Unable to
/// connect to PostgreSQL server: ... in FILE on line N`) and returns false; the app logs a line
/// of its own and answers 500.
pub const PG_CONNECT: PhpApp = page!("pg_connect.php", Postgres, names_line: true);

/// CLI: opens PDO connections until the server refuses one, writes how many it holds and the
/// refusal to a status file, then holds them until killed.
const HOLD_PHP: &str = r#"<?php
// Opens connections until the server refuses one, then holds them until killed.
[, $status, $dsn, $user, $password] = $argv;
$held = [];
while (true) {
    try { $held[] = new PDO($dsn, $user, $password); } catch (PDOException $e) { break; }
}
file_put_contents($status, count($held) . ' held; next: ' . $e->getMessage() . "\n");
while (true) { sleep(60); }
"#;
