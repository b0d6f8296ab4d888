//! PHP-FPM 8.2 from Debian, started in the foreground (`php-fpm8.2 -F -y CONF`) with one pool
//! listening on a unix socket in the lab dir, workers running as www-data.
//!
//! Debian's own `/etc/php/8.2/fpm/php.ini` still applies (display_errors Off, log_errors On,
//! no error_log): that is what a real server runs, so by default PHP messages travel to the
//! web server over FastCGI stderr. The options route them elsewhere the ways admins do.

use super::{Daemon, Lab, NamedLog};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where PHP's own error messages (fatal errors, warnings) end up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhpLog {
    /// No `error_log`: PHP sends them over FastCGI stderr, nginx logs
    /// `FastCGI sent in stderr: "PHP message: ..."`, Apache logs `AH01071: Got error '...'`.
    FastCgiStderr,
    /// `php_admin_value[error_log] = <lab>/php/error.log`: PHP's own log file.
    File,
    /// `fastcgi.logging = 0` + `catch_workers_output = yes`: PHP writes to the worker's stderr,
    /// which the FPM master copies into its log as `child N said into stderr: "..."`.
    FpmLog,
    /// `catch_workers_output = yes` alone: PHP 8.2 sends each message both ways, over FastCGI
    /// stderr (the web server's error log) and into the FPM log. The same error twice.
    FpmLogAndStderr,
}

impl PhpLog {
    /// Every routing, for tests that cover them all.
    pub const ALL: [PhpLog; 4] = [
        PhpLog::FastCgiStderr,
        PhpLog::File,
        PhpLog::FpmLog,
        PhpLog::FpmLogAndStderr,
    ];

    /// Short label for test and fixture names.
    pub fn label(self) -> &'static str {
        match self {
            PhpLog::FastCgiStderr => "fastcgi_stderr",
            PhpLog::File => "php_error_log",
            PhpLog::FpmLog => "fpm_log",
            PhpLog::FpmLogAndStderr => "fpm_log_and_stderr",
        }
    }
}

/// Pool configuration, builder style: `FpmOptions::new().max_children(2).start(&lab)`.
#[derive(Debug, Clone)]
pub struct FpmOptions {
    pub name: String,
    pub php_log: PhpLog,
    pub catch_workers_output: bool,
    pub pm: String,
    pub max_children: u32,
    pub listen_backlog: Option<i32>,
    pub request_terminate_timeout: Option<u32>,
    pub admin_values: Vec<(String, String)>,
    pub log_level: String,
    /// Raw lines appended to the pool section.
    pub pool_extra: Vec<String>,
    /// More pools in the same master (one log, `[pool NAME]` in its lines), as
    /// (name, raw directives); each listens on `run/<instance>-<pool>.sock` as www-data and
    /// shares the main pool's PHP log routing and admin values.
    pub extra_pools: Vec<(String, Vec<String>)>,
}

impl Default for FpmOptions {
    fn default() -> Self {
        FpmOptions {
            name: "php-fpm".into(),
            php_log: PhpLog::FastCgiStderr,
            catch_workers_output: false,
            pm: "dynamic".into(),
            max_children: 5,
            listen_backlog: None,
            request_terminate_timeout: None,
            admin_values: Vec::new(),
            log_level: "notice".into(),
            pool_extra: Vec::new(),
            extra_pools: Vec::new(),
        }
    }
}

impl FpmOptions {
    pub fn new() -> Self {
        Self::default()
    }
    /// File-name stem for this instance's conf, socket and log (several FPMs per lab).
    pub fn name(mut self, n: &str) -> Self {
        self.name = n.into();
        self
    }
    pub fn php_log(mut self, l: PhpLog) -> Self {
        self.php_log = l;
        if matches!(l, PhpLog::FpmLog | PhpLog::FpmLogAndStderr) {
            self.catch_workers_output = true;
        }
        self
    }
    /// Shorthand: a PHP `error_log` file on (true) or FastCGI stderr (false).
    pub fn php_error_log(self, on: bool) -> Self {
        self.php_log(if on {
            PhpLog::File
        } else {
            PhpLog::FastCgiStderr
        })
    }
    pub fn catch_workers_output(mut self, on: bool) -> Self {
        self.catch_workers_output = on;
        self
    }
    /// `static`, `dynamic` or `ondemand`.
    pub fn pm(mut self, pm: &str) -> Self {
        self.pm = pm.into();
        self
    }
    pub fn max_children(mut self, n: u32) -> Self {
        self.max_children = n;
        self
    }
    pub fn listen_backlog(mut self, n: i32) -> Self {
        self.listen_backlog = Some(n);
        self
    }
    pub fn request_terminate_timeout(mut self, secs: u32) -> Self {
        self.request_terminate_timeout = Some(secs);
        self
    }
    /// `php_admin_value[key] = value` (memory_limit, max_execution_time, ...).
    pub fn admin_value(mut self, key: &str, value: &str) -> Self {
        self.admin_values.push((key.into(), value.into()));
        self
    }
    pub fn log_level(mut self, level: &str) -> Self {
        self.log_level = level.into();
        self
    }
    pub fn pool_line(mut self, line: &str) -> Self {
        self.pool_extra.push(line.into());
        self
    }
    /// Adds a pool `name` with these raw directives (`pm = static`, `pm.max_children = 1`, ...).
    pub fn extra_pool(mut self, name: &str, directives: &[&str]) -> Self {
        self.extra_pools.push((
            name.into(),
            directives.iter().map(|d| d.to_string()).collect(),
        ));
        self
    }
    pub fn start(self, lab: &Lab) -> Fpm {
        Fpm::start(lab, self)
    }
}

/// A running PHP-FPM master with one pool `www`.
pub struct Fpm {
    pub daemon: Daemon,
    pub opts: FpmOptions,
    /// The pool's unix socket (`fastcgi_pass unix:...`).
    pub socket: PathBuf,
    /// The FPM master log (`[global] error_log`).
    pub log: PathBuf,
    /// PHP's `error_log` file, when [`PhpLog::File`].
    pub php_error_log: Option<PathBuf>,
    pub conf: PathBuf,
}

impl Fpm {
    pub fn start(lab: &Lab, opts: FpmOptions) -> Fpm {
        let n = &opts.name;
        let socket = lab.path(&format!("run/{n}.sock"));
        lab.mkdir("run");
        let log = lab.path(&format!("log/{n}.log"));
        lab.mkdir("log");
        let php_error_log = (opts.php_log == PhpLog::File).then(|| {
            lab.mkdir("log/php");
            lab.www_owned(&format!("log/php/{n}-error.log"))
        });
        let conf_text = render_conf(lab, &opts, &socket, &log, php_error_log.as_ref());
        let conf = lab.write(&format!("conf/{n}.conf"), &conf_text);
        let readies = ready_count(&log);
        let mut fpm = Fpm {
            daemon: spawn(n, &conf),
            opts,
            socket,
            log,
            php_error_log,
            conf,
        };
        fpm.wait_ready(readies);
        fpm
    }

    /// `fastcgi_pass` / `SetHandler` target, e.g. `unix:/tmp/.../run/php-fpm.sock`.
    pub fn fastcgi_pass(&self) -> String {
        format!("unix:{}", self.socket.display())
    }

    /// The file where PHP's own messages land under this configuration (None: FastCGI stderr,
    /// i.e. the web server's error log).
    pub fn php_messages_file(&self) -> Option<PathBuf> {
        match self.opts.php_log {
            PhpLog::File => self.php_error_log.clone(),
            PhpLog::FpmLog | PhpLog::FpmLogAndStderr => Some(self.log.clone()),
            PhpLog::FastCgiStderr => None,
        }
    }

    /// `fastcgi_pass` target of an extra pool.
    pub fn pool_fastcgi_pass(&self, pool: &str) -> String {
        format!("unix:{}", pool_socket(&self.socket, pool).display())
    }

    /// The logs this FPM writes: its master log, and PHP's error_log file when there is one.
    pub fn logs(&self) -> Vec<NamedLog> {
        let mut v = vec![(self.log.clone(), "php-fpm.log")];
        v.extend(self.php_error_log.clone().map(|p| (p, "php_errors.log")));
        v
    }

    /// Stops the master (its log says `exiting, bye-bye!`); the socket is removed.
    pub fn stop(&mut self) {
        self.daemon.stop();
        let _ = std::fs::remove_file(&self.socket);
    }

    /// Starts it again with the same configuration, appending to the same logs.
    pub fn restart(&mut self) {
        self.stop();
        let readies = ready_count(&self.log);
        self.daemon = spawn(&self.opts.name, &self.conf);
        self.wait_ready(readies);
    }

    /// Waits for the socket and for one more "ready" line than `before`, counted before the
    /// master was spawned: counted after, a fast master's line would already be in it.
    fn wait_ready(&mut self, before: usize) {
        let (sock, log) = (self.socket.clone(), self.log.clone());
        self.daemon.wait_until("php-fpm socket", || {
            sock.exists() && ready_count(&log) > before
        });
    }
}

/// How many times the FPM log says the master is ready.
fn ready_count(log: &std::path::Path) -> usize {
    super::count_in_file(log, "ready to handle connections")
}

fn spawn(name: &str, conf: &std::path::Path) -> Daemon {
    Daemon::spawn(
        name,
        Command::new("php-fpm8.2").arg("-F").arg("-y").arg(conf),
    )
}

fn pool_socket(main: &Path, pool: &str) -> PathBuf {
    let stem = main.file_stem().unwrap().to_string_lossy();
    main.with_file_name(format!("{stem}-{pool}.sock"))
}

fn render_conf(
    lab: &Lab,
    o: &FpmOptions,
    socket: &Path,
    log: &Path,
    php_error_log: Option<&PathBuf>,
) -> String {
    let mut c = String::new();
    let pid = lab.path(&format!("run/{}.pid", o.name));
    writeln!(c, "[global]").unwrap();
    writeln!(c, "pid = {}", pid.display()).unwrap();
    writeln!(c, "error_log = {}", log.display()).unwrap();
    writeln!(c, "log_level = {}", o.log_level).unwrap();
    writeln!(c, "daemonize = no").unwrap();
    writeln!(c, "\n[www]").unwrap();
    pool_common(&mut c, o, socket, php_error_log);
    if let Some(b) = o.listen_backlog {
        writeln!(c, "listen.backlog = {b}").unwrap();
    }
    writeln!(c, "pm = {}", o.pm).unwrap();
    writeln!(c, "pm.max_children = {}", o.max_children).unwrap();
    match o.pm.as_str() {
        "dynamic" => {
            let max_spare = o.max_children.clamp(1, 3);
            writeln!(c, "pm.start_servers = 1\npm.min_spare_servers = 1").unwrap();
            writeln!(c, "pm.max_spare_servers = {max_spare}").unwrap();
        }
        "ondemand" => writeln!(c, "pm.process_idle_timeout = 10s").unwrap(),
        _ => {}
    }
    if let Some(t) = o.request_terminate_timeout {
        writeln!(c, "request_terminate_timeout = {t}s").unwrap();
    }
    for l in &o.pool_extra {
        writeln!(c, "{l}").unwrap();
    }
    for (name, directives) in &o.extra_pools {
        writeln!(c, "\n[{name}]").unwrap();
        pool_common(&mut c, o, &pool_socket(socket, name), php_error_log);
        for d in directives {
            writeln!(c, "{d}").unwrap();
        }
    }
    c
}

/// The lines every pool shares: identity, socket, PHP log routing, admin values.
fn pool_common(c: &mut String, o: &FpmOptions, socket: &Path, php_error_log: Option<&PathBuf>) {
    writeln!(c, "user = www-data\ngroup = www-data").unwrap();
    writeln!(c, "listen = {}", socket.display()).unwrap();
    writeln!(c, "listen.owner = www-data\nlisten.group = www-data").unwrap();
    writeln!(c, "listen.mode = 0660").unwrap();
    if o.catch_workers_output {
        writeln!(
            c,
            "catch_workers_output = yes\ndecorate_workers_output = yes"
        )
        .unwrap();
    }
    writeln!(c, "php_admin_flag[log_errors] = on").unwrap();
    // FPM applies the first of two admin lines for one setting: a test's own wins.
    if !o.admin_values.iter().any(|(k, _)| k == "display_errors") {
        writeln!(c, "php_admin_flag[display_errors] = off").unwrap();
    }
    match (o.php_log, php_error_log) {
        (PhpLog::File, Some(p)) => {
            writeln!(c, "php_admin_value[error_log] = {}", p.display()).unwrap()
        }
        (PhpLog::FpmLog, _) => writeln!(c, "php_admin_value[fastcgi.logging] = 0").unwrap(),
        _ => {}
    }
    for (k, v) in &o.admin_values {
        writeln!(c, "php_admin_value[{k}] = {v}").unwrap();
    }
}

/// A PHP script of the fault app: where it lives under the document root, its code, and the
/// line PHP names when it fails (None when the failure names no line).
#[derive(Debug, Clone, Copy)]
pub struct PhpScript {
    pub path: &'static str,
    pub code: &'static str,
    pub line: Option<u64>,
}

/// The fault app: small PHP scripts (`tests/lab/app/`) that fail the ways real applications do.
/// Shared by every PHP server family (nginx + FPM, Apache + FPM, mod_php) so they prove the
/// same faults. Line numbers are part of the contract: tests assert the engine reports them.
pub mod app {
    use super::PhpScript;

    /// The script at `path` under the document root: the file `tests/lab/app/<path>`.
    macro_rules! script {
        ($path:literal, $line:expr) => {
            PhpScript {
                path: $path,
                code: include_str!(concat!("app/", $path)),
                line: $line,
            }
        };
    }

    /// A static page.
    pub const INDEX_HTML: PhpScript = script!("index.html", None);
    /// 200 (a healthy page).
    pub const OK: PhpScript = script!("ok.php", None);
    /// 200 that still logs a PHP Warning: noise every real log has, never a 5xx cause.
    pub const WARNS: PhpScript = script!("warns.php", Some(3));
    /// 200 for a small POST (kept in memory by the server, never touches disk).
    pub const IMPORT: PhpScript = script!("import.php", None);
    pub const SYNTAX_ERROR: PhpScript = script!("syntax.php", Some(3));
    /// `curl_init()` without php-curl installed (the lab's PHP has no curl, gd or mbstring).
    pub const UNDEFINED_FUNCTION: PhpScript = script!("fetch.php", Some(2));
    /// Allocates 1 MiB per iteration: past any small memory_limit.
    pub const MEMORY: PhpScript = script!("report.php", Some(3));
    /// Burns CPU until max_execution_time (CPU time under FPM) stops it.
    pub const CPU_LOOP: PhpScript = script!("export.php", Some(3));
    /// Sleeps 5 s (sleep is not CPU time: max_execution_time does not stop it; FPM's
    /// request_terminate_timeout or the proxy's read timeout does).
    pub const SLOW: PhpScript = script!("slow.php", None);
    /// Sleeps 1.2 s: long enough to hold a worker across an FPM heartbeat (pool exhaustion).
    pub const BUSY: PhpScript = script!("busy.php", None);
    pub const EXCEPTION: PhpScript = script!("checkout.php", Some(3));
    /// The worker segfaults (11 = SIGSEGV; pcntl's constants are CLI-only on Debian).
    pub const SEGV: PhpScript = script!("segv.php", None);
    /// The worker is SIGKILLed mid-request (what the OOM killer does).
    pub const KILLED: PhpScript = script!("oom.php", None);
    /// Requires `lib/config.php`, which a test makes unreadable (chmod 000).
    pub const INCLUDES: PhpScript = script!("account.php", Some(2));
    pub const INCLUDED: PhpScript = script!("lib/config.php", None);
    /// Saves the request body under `uploads/` and fails with an exception (500) when it
    /// cannot, as real upload handlers do. Line 4 is the failing write.
    pub const UPLOAD: PhpScript = script!("upload.php", Some(4));
    /// Writes a 260 KB page cache file into `../cache` (a tiny tmpfs in the disk_full fault)
    /// and fails with an exception (500) when the write fails. Line 4 is the failing write.
    pub const CACHE: PhpScript = script!("page.php", Some(4));

    pub const ALL: [PhpScript; 17] = [
        OK,
        WARNS,
        IMPORT,
        SYNTAX_ERROR,
        UNDEFINED_FUNCTION,
        MEMORY,
        CPU_LOOP,
        SLOW,
        BUSY,
        EXCEPTION,
        SEGV,
        KILLED,
        INCLUDES,
        INCLUDED,
        UPLOAD,
        CACHE,
        INDEX_HTML,
    ];

    /// Writes every script under `root` (relative to the lab dir, e.g. "www"), plus the
    /// directories they use: `uploads/` (root-owned 755: not writable by www-data until a test
    /// makes it so) and `../cache` (www-data owned, writable).
    pub fn write(lab: &super::super::Lab, root: &str) {
        for s in ALL {
            lab.write(&format!("{root}/{}", s.path), s.code);
        }
        lab.mkdir(&format!("{root}/uploads"));
        let parent = std::path::Path::new(root)
            .parent()
            .map(|p| p.to_string_lossy().to_string())
            .unwrap_or_default();
        let cache = if parent.is_empty() {
            "cache/".to_string()
        } else {
            format!("{parent}/cache/")
        };
        lab.www_owned(&cache);
    }

    /// URL path of a script.
    pub fn url(s: &PhpScript) -> String {
        format!("/{}", s.path)
    }
}
