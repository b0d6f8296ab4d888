//! Real Apache fault lab: each fault is injected into a freshly started Apache 2.4 (Debian's
//! package, children as www-data) in one of the two configurations Debian offers for PHP, real
//! requests are sent, and `fivehundred diagnose` must name the cause, the status Apache really
//! sent, the exact count of 5xx the test caused, and the file/line the evidence names. Healthy
//! requests before and after each fault must add nothing.
//!
//! - `modphp`: `mpm_prefork` + mod_php 8.2, `combined` access log. PHP messages land in
//!   Apache's error log as `[php:error]`, or in a PHP `error_log` file.
//! - `fcgi`: `mpm_event` + `mod_proxy_fcgi` to PHP-FPM on a unix socket, `vhost_combined`
//!   access log. PHP messages arrive as `AH01071: Got error 'PHP message: ...'`, or land in a
//!   PHP `error_log` file or the FPM log ([`PhpLog::ALL`]).
//!
//! Faults whose evidence is a PHP message run under every place PHP messages can land in each
//! configuration. A mod_php child that dies mid-request leaves no access-log line at all (the
//! client gets no answer): [`modphp_child_crash`] asserts exactly that.
//!
//! `FIVEHUNDRED_SAVE_FIXTURES=1` also saves each run's logs under
//! `tests/fixtures/real/apache-<modphp|fcgi>/<cause>/<variant>/` (paths rewritten to /srv/lab).
mod lab;

use lab::apache::{AccessFormat, Apache, ApacheOptions};
use lab::php_fpm::{Fpm, FpmOptions, PhpLog, PhpScript, app};
use lab::*;
use std::os::unix::fs::PermissionsExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// The two ways Apache runs PHP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Config {
    ModPhp,
    Fcgi,
}

const BOTH: &[Config] = &[Config::ModPhp, Config::Fcgi];
const FCGI: &[Config] = &[Config::Fcgi];
const MODPHP: &[Config] = &[Config::ModPhp];

/// A configuration together with where PHP's own messages land.
#[derive(Debug, Clone, Copy)]
enum Setup {
    /// mod_php; `true`: PHP `error_log` file, `false`: Apache's error log.
    ModPhp {
        php_error_log: bool,
    },
    Fcgi(PhpLog),
}

impl Setup {
    /// Every setup a fault runs under.
    fn all_for(config: Config, php_routed: bool) -> Vec<Setup> {
        match (config, php_routed) {
            (Config::ModPhp, true) => vec![
                Setup::ModPhp {
                    php_error_log: false,
                },
                Setup::ModPhp {
                    php_error_log: true,
                },
            ],
            (Config::ModPhp, false) => vec![Setup::ModPhp {
                php_error_log: false,
            }],
            (Config::Fcgi, true) => PhpLog::ALL.iter().map(|&p| Setup::Fcgi(p)).collect(),
            (Config::Fcgi, false) => vec![Setup::Fcgi(PhpLog::FastCgiStderr)],
        }
    }

    fn family(self) -> &'static str {
        match self {
            Setup::ModPhp { .. } => "apache-modphp",
            Setup::Fcgi(_) => "apache-fcgi",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Setup::ModPhp {
                php_error_log: false,
            } => "apache_error_log",
            Setup::ModPhp {
                php_error_log: true,
            } => "php_error_log",
            Setup::Fcgi(p) => p.label(),
        }
    }
}

/// One Apache (+ PHP-FPM under proxy_fcgi). Field order is drop order: daemons stop before
/// the lab dir goes.
struct Stack {
    apache: Apache,
    fpm: Option<Fpm>,
    lab: Lab,
}

impl Stack {
    /// Starts the stack for `fault` under `setup`, with the fault app in `www/`.
    fn start(fault: &Fault, setup: Setup) -> Stack {
        let lab = Lab::new();
        app::write(&lab, "www");
        (fault.setup)(&lab);
        let mut opts = ApacheOptions::new();
        let fpm = match setup {
            Setup::ModPhp { php_error_log } => {
                opts = opts.mod_php().php_error_log(php_error_log);
                for (k, v) in fault.php {
                    opts = opts.php_admin_value(k, v);
                }
                None
            }
            Setup::Fcgi(place) => {
                let mut fo = FpmOptions::new().php_log(place);
                for (k, v) in fault.php {
                    fo = fo.admin_value(k, v);
                }
                let fpm = (fault.fpm)(&lab, fo).start(&lab);
                opts = opts
                    .fcgi(&fpm)
                    .access_format(AccessFormat::VhostCombined)
                    .proxy_timeout(30);
                Some(fpm)
            }
        };
        let apache = (fault.apache)(opts).start(&lab);
        Stack { apache, fpm, lab }
    }

    fn fpm(&mut self) -> &mut Fpm {
        self.fpm.as_mut().expect("this fault needs PHP-FPM")
    }

    /// Every log file the stack writes, each with the name its fixture copy gets.
    fn logs(&self) -> Vec<(PathBuf, &'static str)> {
        let mut v = vec![
            (self.apache.access_log.clone(), "access.log"),
            (self.apache.error_log.clone(), "error.log"),
        ];
        v.extend(
            self.apache
                .php_error_log
                .clone()
                .map(|p| (p, "php_errors.log")),
        );
        if let Some(f) = &self.fpm {
            v.push((f.log.clone(), "php-fpm.log"));
            v.extend(f.php_error_log.clone().map(|p| (p, "php_errors.log")));
        }
        v
    }

    /// Stops the daemons (stopping flushes what the FPM master still holds from workers).
    fn stop(&mut self) {
        self.apache.daemon.stop();
        if let Some(f) = self.fpm.as_mut() {
            f.stop();
        }
    }
}

/// One fault, as data: where it can occur, how to break the stack, how to hit it, and what
/// the report must say.
struct Fault {
    cause: &'static str,
    /// Names the way the fault was produced (fixture dir); several faults share a cause.
    variant: &'static str,
    /// The configurations where it can occur.
    on: &'static [Config],
    /// The status Apache sends for it (the same wherever it occurs).
    status: u16,
    /// The script the fault is about.
    script: Option<PhpScript>,
    /// What `file`/`line` the report must give.
    names: Names,
    /// A string the real logs must contain once the fault happened (the key error line).
    evidence: &'static str,
    /// The evidence is a PHP message: run under every place PHP messages land.
    php_routed: bool,
    /// Every triggering request fails (false: timing decides, e.g. a full pool).
    all_fail: bool,
    /// PHP settings, given to whichever process runs PHP (mod_php or FPM).
    php: &'static [(&'static str, &'static str)],
    setup: fn(&Lab),
    fpm: fn(&Lab, FpmOptions) -> FpmOptions,
    apache: fn(ApacheOptions) -> ApacheOptions,
    trigger: Trigger,
}

fn no_setup(_: &Lab) {}
fn same_fpm(_: &Lab, o: FpmOptions) -> FpmOptions {
    o
}
fn same_apache(o: ApacheOptions) -> ApacheOptions {
    o
}

/// What the report's `file`/`line` must be.
#[derive(Clone, Copy)]
enum Names {
    /// The fault's script and the line PHP names (`in FILE on line N`).
    ScriptLine,
    /// The fault's script, line unchecked (FPM's timeout line names the script only).
    Script,
    /// This file under the lab dir, line unchecked: the one a permission problem is about.
    File(&'static str),
    /// This file under the lab dir and a null line: Apache names an `.htaccess` but no line.
    FileNoLine(&'static str),
    /// This directory under the lab dir or a file inside it (an upload dir, a full tmpfs).
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
    /// POST a body of this many bytes to this path this many times.
    Post(&'static str, usize, usize),
    /// Anything else (stopping FPM, retrying until a pool is full).
    Custom(fn(&mut Stack) -> Vec<u16>),
}

impl Trigger {
    /// Sends the requests; returns the statuses the clients saw.
    fn fire(&self, fault: &Fault, s: &mut Stack) -> Vec<u16> {
        match *self {
            Trigger::Script(n) => gets(s, &app::url(&fault.script.expect("script")), n),
            Trigger::Get(path, n) => gets(s, path, n),
            Trigger::Post(path, len, n) => {
                let body = vec![b'x'; len];
                (0..n)
                    .map(|_| request(s.apache.port, "POST", path, "localhost", &body))
                    .collect()
            }
            Trigger::Custom(f) => f(s),
        }
    }
}

/// `n` sequential GETs.
fn gets(s: &Stack, path: &str, n: usize) -> Vec<u16> {
    (0..n).map(|_| s.apache.get(path)).collect()
}

/// The common shape of a PHP fault: one script, requested a few times, PHP names file:line,
/// Apache answers 500 in both configurations.
const fn php_fault(cause: &'static str, script: PhpScript, evidence: &'static str) -> Fault {
    Fault {
        cause,
        variant: "",
        on: BOTH,
        status: 500,
        script: Some(script),
        names: Names::ScriptLine,
        evidence,
        php_routed: true,
        all_fail: true,
        php: &[],
        setup: no_setup,
        fpm: same_fpm,
        apache: same_apache,
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
    php: &[("memory_limit", "16M")],
    ..php_fault(
        "php_memory_limit",
        app::MEMORY,
        "Allowed memory size of 16777216 bytes exhausted",
    )
};

/// CPU time past `max_execution_time`: a PHP Fatal error, 500 in both configurations.
const MAX_EXECUTION_TIME: Fault = Fault {
    variant: "max_execution_time",
    php: &[("max_execution_time", "1")],
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

/// `require` of a file the PHP process (www-data) cannot read: Warning + Fatal.
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

/// The page cache lives on a 64 KiB tmpfs, too small for the page: PHP's write fails
/// (a Notice, `errno=28 No space left on device` at the script's line 4) and the app throws
/// (500). The evidence names the script and line of the failed write.
const CACHE_DISK_FULL: Fault = Fault {
    variant: "php_cache_write",
    setup: |lab| {
        lab.mount_tmpfs("cache", "64k").expect("tmpfs for cache");
    },
    trigger: Trigger::Script(2),
    ..php_fault("disk_full", app::CACHE, "No space left on device")
};

/// A fault of the server rather than of PHP: one place its evidence lands.
const fn server_fault(
    cause: &'static str,
    variant: &'static str,
    on: &'static [Config],
    status: u16,
    evidence: &'static str,
) -> Fault {
    Fault {
        cause,
        variant,
        on,
        status,
        script: None,
        names: Names::Null,
        evidence,
        php_routed: false,
        all_fail: true,
        php: &[],
        setup: no_setup,
        fpm: same_fpm,
        apache: same_apache,
        trigger: Trigger::Get("/ok.php", 1),
    }
}

/// An `.htaccess` fault: the file under `www/<dir>/`, a page there requested twice.
const fn htaccess_fault(
    variant: &'static str,
    on: &'static [Config],
    names: Names,
    trigger: Trigger,
    evidence: &'static str,
) -> Fault {
    Fault {
        names,
        trigger,
        ..server_fault("htaccess_invalid", variant, on, 500, evidence)
    }
}

/// Directories with an `.htaccess` each: (dir, contents). One per way `.htaccess` breaks.
const HTACCESS: &[(&str, &str)] = &[
    (
        "blog",
        "RewriteEngine On\nRewriteRul ^old$ /new [R=301,L]\n",
    ),
    (
        "shop",
        "# security headers\nHeader set X-Frame-Options DENY\n",
    ),
    ("admin", "Options -Indexes\nListen 8080\n"),
    ("legacy", "php_value upload_max_filesize 64M\n"),
    ("tuning", "php_admin_value memory_limit 512M\n"),
    (
        "loop",
        "RewriteEngine On\nRewriteRule ^(.*)$ /loop/$1 [L]\n",
    ),
];

/// Writes every `.htaccess` of [`HTACCESS`] with an index page beside it.
fn write_htaccess(lab: &Lab) {
    for (dir, text) in HTACCESS {
        lab.write(&format!("www/{dir}/.htaccess"), text);
        lab.write(&format!("www/{dir}/index.html"), "<p>section</p>\n");
    }
}

/// A misspelled directive (`RewriteRul`).
const HTACCESS_MISSPELLED: Fault = Fault {
    setup: write_htaccess,
    ..htaccess_fault(
        "misspelled",
        BOTH,
        Names::FileNoLine("www/blog/.htaccess"),
        Trigger::Get("/blog/", 2),
        "Invalid command 'RewriteRul'",
    )
};

/// A directive of a module that is not loaded (`Header`, mod_headers).
const HTACCESS_MODULE_NOT_LOADED: Fault = Fault {
    setup: write_htaccess,
    ..htaccess_fault(
        "module_not_loaded",
        BOTH,
        Names::FileNoLine("www/shop/.htaccess"),
        Trigger::Get("/shop/index.html", 2),
        "Invalid command 'Header'",
    )
};

/// A directive that is never allowed in `.htaccess` (`Listen`), even under AllowOverride All.
const HTACCESS_NOT_ALLOWED: Fault = Fault {
    setup: write_htaccess,
    ..htaccess_fault(
        "not_allowed_here",
        BOTH,
        Names::FileNoLine("www/admin/.htaccess"),
        Trigger::Get("/admin/", 2),
        "Listen not allowed here",
    )
};

/// The classic after moving from mod_php to PHP-FPM: `php_value` left in `.htaccess`.
const HTACCESS_PHP_VALUE: Fault = Fault {
    setup: write_htaccess,
    ..htaccess_fault(
        "php_value_without_mod_php",
        FCGI,
        Names::FileNoLine("www/legacy/.htaccess"),
        Trigger::Get("/legacy/", 2),
        "Invalid command 'php_value'",
    )
};

/// Under mod_php, `php_admin_value` exists but is not allowed in `.htaccess`.
const HTACCESS_PHP_ADMIN_VALUE: Fault = Fault {
    setup: write_htaccess,
    ..htaccess_fault(
        "php_admin_value_in_htaccess",
        MODPHP,
        Names::FileNoLine("www/tuning/.htaccess"),
        Trigger::Get("/tuning/", 2),
        "php_admin_value not allowed here",
    )
};

/// A RewriteRule that rewrites to itself: AH00124 after 10 internal redirects.
const REWRITE_LOOP: Fault = Fault {
    setup: write_htaccess,
    trigger: Trigger::Get("/loop/start", 3),
    ..server_fault(
        "rewrite_loop",
        "htaccess_rewrite_rule",
        BOTH,
        500,
        "AH00124: Request exceeded the limit of 10 internal redirects",
    )
};

/// FPM kills the worker after 1 s; Apache reads no FastCGI header (AH01067): 503.
const REQUEST_TERMINATE_TIMEOUT: Fault = Fault {
    script: Some(app::SLOW),
    names: Names::Script,
    fpm: |_, o| o.request_terminate_timeout(1),
    trigger: Trigger::Script(2),
    ..server_fault(
        "php_timeout",
        "request_terminate_timeout",
        FCGI,
        503,
        "execution timed out",
    )
};

/// The FPM worker segfaults mid-request: 503, `AH01067` + FPM's `exited on signal 11`.
const FPM_CRASH_SIGSEGV: Fault = Fault {
    trigger: Trigger::Get("/segv.php", 2),
    ..server_fault(
        "fpm_crash",
        "sigsegv",
        FCGI,
        503,
        "exited on signal 11 (SIGSEGV)",
    )
};

/// The FPM worker is SIGKILLed mid-request (what the OOM killer does).
const FPM_CRASH_SIGKILL: Fault = Fault {
    trigger: Trigger::Get("/oom.php", 2),
    ..server_fault(
        "fpm_crash",
        "sigkill",
        FCGI,
        503,
        "exited on signal 9 (SIGKILL)",
    )
};

/// Where FPM's own access log goes: the lab waits on it for the pool to drain.
fn fpm_access_log(lab: &Lab) -> PathBuf {
    lab.path("log/fpm-access.log")
}

/// How many requests for `/busy.php` FPM has finished.
fn busy_done(s: &Stack) -> usize {
    count_in_file(&fpm_access_log(&s.lab), "/busy.php")
}

/// Sends bursts of 4 concurrent slow requests until some fail, waiting after each burst until
/// FPM has worked off every queued one (Apache gave up on them, FPM did not); returns every
/// answer. Apache's connect() to a unix socket blocks rather than fail when the backlog is
/// full, so a full pool shows as requests queued past `ProxyTimeout`: 504.
fn until_pool_overflows(s: &mut Stack) -> Vec<u16> {
    let mut all = Vec::new();
    for _ in 0..5 {
        all.extend(get_concurrent(s.apache.port, "/busy.php", 4));
        let sent = all.len();
        wait_for("FPM to finish the queued requests", || busy_done(s) >= sent);
        if count_5xx(&all) > 0 {
            break;
        }
    }
    all
}

/// One FPM worker (`pm = dynamic`, so FPM logs `server reached pm.max_children setting`),
/// `ProxyTimeout 2`, requests of 1.2 s: the first is served, the queued ones time out (504).
const POOL_EXHAUSTED: Fault = Fault {
    all_fail: false,
    names: Names::Unchecked,
    fpm: |lab, o| {
        o.pm("dynamic")
            .max_children(1)
            .pool_line(&format!("access.log = {}", fpm_access_log(lab).display()))
    },
    apache: |o| o.proxy_timeout(2),
    trigger: Trigger::Custom(until_pool_overflows),
    ..server_fault(
        "fpm_pool_exhausted",
        "max_children_dynamic",
        FCGI,
        504,
        "server reached pm.max_children setting (1)",
    )
};

/// FPM stopped cleanly (socket removed): 503 until it is started again.
const FPM_STOPPED: Fault = Fault {
    names: Names::Unchecked,
    trigger: Trigger::Custom(|s| {
        s.fpm().stop();
        let statuses = [gets(s, "/ok.php", 2), gets(s, "/checkout.php", 1)].concat();
        s.fpm().restart();
        statuses
    }),
    ..server_fault(
        "upstream_unavailable",
        "fpm_stopped",
        FCGI,
        503,
        "(2)No such file or directory: AH02454",
    )
};

/// FPM died at once, master and workers (SIGKILL to the process group): the socket file is
/// left behind and nobody listens on it, `(111)Connection refused`: 503.
const FPM_KILLED: Fault = Fault {
    names: Names::Unchecked,
    trigger: Trigger::Custom(|s| {
        let pgid = s.fpm().daemon.pid();
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .status();
        let sock = s.fpm().socket.clone();
        assert!(sock.exists(), "a SIGKILLed FPM leaves its socket");
        wait_for("FPM to be gone", || {
            std::os::unix::net::UnixStream::connect(&sock).is_err()
        });
        let statuses = gets(s, "/ok.php", 2);
        s.fpm().restart();
        statuses
    }),
    ..server_fault(
        "upstream_unavailable",
        "fpm_killed_socket_left",
        FCGI,
        503,
        "(111)Connection refused: AH02454",
    )
};

/// `ProxyTimeout 1` against a script sleeping 5 s: 504. A static pool of 4 keeps workers
/// free for the healthy traffic (and never logs `max_children`: nothing explains it better).
const PROXY_TIMEOUT: Fault = Fault {
    fpm: |_, o| o.pm("static").max_children(4),
    apache: |o| o.proxy_timeout(1),
    trigger: Trigger::Get("/slow.php", 2),
    ..server_fault(
        "upstream_timeout",
        "proxy_timeout",
        FCGI,
        504,
        "(70007)The timeout specified has expired",
    )
};

fn chmod(lab: &Lab, rel: &str, mode: u32) {
    std::fs::set_permissions(lab.path(rel), std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {rel}: {e}"));
}

/// Runs a fault under every setup it applies to; reports every failing setup at once.
fn run(fault: &Fault) {
    if skip_unless_root(fault.cause) {
        return;
    }
    let setups = fault
        .on
        .iter()
        .flat_map(|&c| Setup::all_for(c, fault.php_routed));
    let failures: Vec<String> = setups
        .filter_map(|setup| {
            catch_unwind(AssertUnwindSafe(|| run_once(fault, setup)))
                .err()
                .map(|e| {
                    format!(
                        "{}/{} on {} ({}): {}",
                        fault.cause,
                        fault.variant,
                        setup.family(),
                        setup.label(),
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
/// what Apache logged and what `diagnose` says about it.
fn run_once(fault: &Fault, setup: Setup) {
    let mut s = Stack::start(fault, setup);
    let mut requests = healthy_traffic(s.apache.port);
    let statuses = fault.trigger.fire(fault, &mut s);
    requests += statuses.len() + healthy_traffic(s.apache.port);

    let n = check_statuses(fault, &statuses);
    s.apache.wait_access_lines(requests);
    assert_eq!(
        access_log_statuses(&s.apache.access_log).len(),
        requests,
        "one access-log line per request"
    );
    assert_eq!(access_log_5xx(&s.apache.access_log), n, "5xx in access log");
    let logs = s.logs();
    wait_for(&format!("{:?} in the logs", fault.evidence), || {
        logs.iter().any(|(p, _)| log_contains(p, fault.evidence))
    });
    s.stop();
    save(fault, setup, &s, &logs);

    let paths: Vec<&Path> = logs.iter().map(|(p, _)| p.as_path()).collect();
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
            Names::FileNoLine(rel) => {
                assert_eq!(file, Some(lab.path(rel)), "{}", ctx());
                assert_eq!(line, None, "{}", ctx());
            }
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

/// The fixture dir of one run: `<cause>/<variant>[-<where PHP messages went>]`.
fn save(fault: &Fault, setup: Setup, s: &Stack, logs: &[(PathBuf, &'static str)]) {
    let variant = match (fault.php_routed, fault.variant) {
        (true, "") => setup.label().to_string(),
        (true, v) => format!("{v}-{}", setup.label()),
        (false, v) => v.to_string(),
    };
    let files: Vec<(&Path, &str)> = logs.iter().map(|(p, n)| (p.as_path(), *n)).collect();
    save_fixtures(&s.lab, setup.family(), fault.cause, &variant, &files);
}

/// mod_php: the Apache child running the script dies (`posix_kill(getmypid(), SIG)`). What
/// really happens: the client gets no answer at all and Apache writes **no access-log line**
/// for the request, so with the access log there is no 5xx to explain (and the healthy
/// traffic adds none). A segfault is logged by the parent when it reaps the child (`AH00052:
/// child pid N exit signal Segmentation fault (11)`): from the error log alone each crash is an
/// `fpm_crash` event. A SIGKILL (the OOM killer) is one of the signals Apache takes for a
/// normal exit and logs nothing at all: then no log has anything to say.
struct ChildCrash {
    variant: &'static str,
    script: PhpScript,
    /// The parent's line for each crash; None: it logs nothing.
    evidence: Option<&'static str>,
}

const CHILD_SIGSEGV: ChildCrash = ChildCrash {
    variant: "apache_child_sigsegv",
    script: app::SEGV,
    evidence: Some("AH00052: child pid"),
};

const CHILD_SIGKILL: ChildCrash = ChildCrash {
    variant: "apache_child_sigkill",
    script: app::KILLED,
    evidence: None,
};

fn modphp_child_crash(crash: &ChildCrash) {
    if skip_unless_root("fpm_crash") {
        return;
    }
    let fault = Fault {
        script: Some(crash.script),
        ..server_fault("fpm_crash", "", MODPHP, 0, "")
    };
    let setup = Setup::ModPhp {
        php_error_log: false,
    };
    let mut s = Stack::start(&fault, setup);
    let mut requests = healthy_traffic(s.apache.port);
    let crashes = 2;
    let statuses = gets(&s, &app::url(&crash.script), crashes);
    assert_eq!(statuses, vec![0; crashes], "no answer from a dead child");
    requests += healthy_traffic(s.apache.port);
    s.apache.wait_access_lines(requests);
    let error_log = s.apache.error_log.clone();
    if let Some(evidence) = crash.evidence {
        wait_for(&format!("{crashes} x {evidence:?}"), || {
            count_in_file(&error_log, evidence) >= crashes
        });
    }
    // Stopping reaps every child: what the parent logs about them is in the log after this.
    s.stop();
    assert_eq!(
        count_in_file(&error_log, "AH00052"),
        crash.evidence.map_or(0, |_| crashes),
        "AH00052 lines"
    );
    assert_eq!(
        access_log_statuses(&s.apache.access_log).len(),
        requests,
        "the crashed requests have no access-log line"
    );
    assert_eq!(count_in_file(&s.apache.access_log, crash.script.path), 0);
    let logs = s.logs();
    let files: Vec<(&Path, &str)> = logs.iter().map(|(p, n)| (p.as_path(), *n)).collect();
    save_fixtures(&s.lab, setup.family(), "fpm_crash", crash.variant, &files);

    let with_access = diagnose(&[&s.apache.access_log, &error_log]);
    assert_server_errors(&with_access, 0, &[]);
    assert!(
        incidents(&with_access).is_empty(),
        "{}",
        pretty(&with_access)
    );

    let errors_only = diagnose_errors_only(&[&error_log]);
    let events: u64 = incidents(&errors_only)
        .iter()
        .filter(|i| i["cause"] == "fpm_crash")
        .map(|i| i["count"].as_u64().unwrap_or(0))
        .sum();
    let expected = crash.evidence.map_or(0, |_| crashes as u64);
    assert_eq!(events, expected, "{}", pretty(&errors_only));
    let want: Vec<String> = if expected > 0 {
        vec!["fpm_crash".into()]
    } else {
        vec![]
    };
    assert_eq!(causes(&errors_only), want, "only this cause");
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
fn htaccess_invalid_misspelled() {
    run(&HTACCESS_MISSPELLED);
}

#[test]
fn htaccess_invalid_module_not_loaded() {
    run(&HTACCESS_MODULE_NOT_LOADED);
}

#[test]
fn htaccess_invalid_not_allowed_here() {
    run(&HTACCESS_NOT_ALLOWED);
}

#[test]
fn htaccess_invalid_php_value_under_fcgi() {
    run(&HTACCESS_PHP_VALUE);
}

#[test]
fn htaccess_invalid_php_admin_value_under_mod_php() {
    run(&HTACCESS_PHP_ADMIN_VALUE);
}

#[test]
fn rewrite_loop() {
    run(&REWRITE_LOOP);
}

#[test]
fn fpm_crash_sigsegv() {
    run(&FPM_CRASH_SIGSEGV);
}

#[test]
fn fpm_crash_sigkill() {
    run(&FPM_CRASH_SIGKILL);
}

#[test]
fn fpm_crash_modphp_child_sigsegv() {
    modphp_child_crash(&CHILD_SIGSEGV);
}

#[test]
fn fpm_crash_modphp_child_sigkill() {
    modphp_child_crash(&CHILD_SIGKILL);
}

#[test]
fn fpm_pool_exhausted() {
    run(&POOL_EXHAUSTED);
}

#[test]
fn upstream_unavailable_fpm_stopped() {
    run(&FPM_STOPPED);
}

#[test]
fn upstream_unavailable_fpm_killed() {
    run(&FPM_KILLED);
}

#[test]
fn upstream_timeout_proxy_timeout() {
    run(&PROXY_TIMEOUT);
}
