//! The fault catalogue shared by every web server that runs PHP (nginx + PHP-FPM, Apache +
//! PHP-FPM, Apache + mod_php), and the runner that proves a fault on a real stack.
//!
//! A fault is data ([`Fault`]): where it can occur, how to break the stack, how to hit it, and
//! what the report must say. The faults of PHP itself and of PHP-FPM's workers are written here
//! once, as associated consts of [`Fault`] (`Fault::SYNTAX_ERROR`); each
//! `tests/lab_<server>.rs` adds its server's own faults and says through [`Web`] how to start
//! its stack, which status it answers when FPM is gone, and where its logs are.
//!
//! [`run`] starts a fresh stack per setup (every place PHP messages can land, when the evidence
//! is a PHP message), sends healthy traffic, the fault, healthy traffic again, then checks what
//! the server logged and what `fivehundred diagnose` says: the cause, the status the server
//! really sent, the exact count of 5xx the fault caused, and the file/line the evidence names.
//! Healthy requests must add nothing.

use super::php_fpm::{Fpm, FpmOptions, PhpLog, PhpScript, app};
use super::*;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// One stack a fault runs on: the web server, the PHP-FPM behind it (None when PHP runs inside
/// the server), and the lab dir. Field order is drop order: daemons stop before the lab dir
/// goes.
pub struct Stack {
    pub server: WebServer,
    pub fpm: Option<Fpm>,
    pub lab: Lab,
}

impl Stack {
    /// The PHP-FPM behind the server (panics when PHP runs inside it).
    pub fn fpm(&mut self) -> &mut Fpm {
        self.fpm.as_mut().expect("this fault needs PHP-FPM")
    }

    /// Every log file the stack writes, each with the name its fixture copy gets.
    pub fn logs(&self) -> Vec<NamedLog> {
        let fpm = self.fpm.iter().flat_map(Fpm::logs);
        self.server.logs().into_iter().chain(fpm).collect()
    }

    /// Stops the daemons (stopping flushes what the FPM master still holds from its workers).
    pub fn stop(&mut self) {
        self.server.daemon.stop();
        if let Some(f) = self.fpm.as_mut() {
            f.stop();
        }
    }
}

/// A server family that runs PHP (nginx + FPM; Apache with mod_php or proxy_fcgi): how its
/// stack starts for a fault, in which setups, and the status it answers when FPM is gone.
pub trait Web: Sized {
    /// The server's own options, which a fault may change ([`Fault::web`]).
    type Options;
    /// A configuration of the server a fault can occur in (Apache: mod_php or proxy_fcgi).
    type Config: Copy + 'static;
    /// One run: a configuration and where PHP's messages land in it.
    type Setup: Copy;
    /// Every configuration: where a fault occurs unless it says otherwise.
    const CONFIGS: &'static [Self::Config];
    /// The configurations where PHP runs in PHP-FPM (where FPM's own faults occur).
    const FPM: &'static [Self::Config];
    /// The status the server answers when PHP-FPM drops a request (a worker killed
    /// mid-request) or is not there at all (stopped).
    const FPM_GONE: u16;

    /// Every setup a fault runs under in `config`: each place PHP messages can land when its
    /// evidence is a PHP message (`php_routed`), else one.
    fn setups(config: Self::Config, php_routed: bool) -> Vec<Self::Setup>;
    /// The fixture family of a setup (`nginx-fpm`, `apache-modphp`, ...).
    fn family(setup: Self::Setup) -> &'static str;
    /// Where PHP messages go in a setup, for fixture and failure names.
    fn label(setup: Self::Setup) -> &'static str;
    /// Starts the daemons for `fault` under `setup` in `lab` (see [`start`]).
    fn start_in(lab: Lab, fault: &Fault<Self>, setup: Self::Setup) -> Stack;
}

/// One fault, as data: where it can occur, how to break the stack, how to hit it, and what the
/// report must say.
pub struct Fault<W: Web> {
    pub cause: &'static str,
    /// Names the way the fault was produced (fixture dir); several faults share a cause.
    pub variant: &'static str,
    /// The configurations where it can occur.
    pub on: &'static [W::Config],
    /// The status the server sends for it (the same wherever it occurs).
    pub status: u16,
    /// The script the fault is about.
    pub script: Option<PhpScript>,
    /// What `file`/`line` the report must give.
    pub names: Names,
    /// A string the real logs must contain once the fault happened (the key error line).
    pub evidence: &'static str,
    /// The evidence is a PHP message: run under every place PHP messages land.
    pub php_routed: bool,
    /// Every triggering request fails (false: timing decides, e.g. a full pool).
    pub all_fail: bool,
    /// PHP settings, given to whichever process runs PHP (mod_php or FPM).
    pub php: &'static [(&'static str, &'static str)],
    /// Changes to the lab before anything starts (the fault app is in `www/` already).
    pub setup: fn(&Lab),
    /// Changes to the PHP-FPM pool.
    pub fpm: fn(&Lab, FpmOptions) -> FpmOptions,
    /// Changes to the server's own configuration.
    pub web: fn(&Lab, W::Options) -> W::Options,
    pub trigger: Trigger,
}

fn no_setup(_: &Lab) {}

fn unchanged<O>(_: &Lab, o: O) -> O {
    o
}

/// What the report's `file`/`line` must be: the path the evidence is about, else the script
/// and line PHP names, else null.
#[derive(Clone, Copy)]
pub enum Names {
    /// The fault's script and the line PHP names (`in FILE on line N`).
    ScriptLine,
    /// The fault's script, line unchecked (FPM's timeout line names the script only).
    Script,
    /// This file under the lab dir, line unchecked: the one a permission problem is about.
    File(&'static str),
    /// This file under the lab dir and a null line: Apache names an `.htaccess` but no line.
    FileNoLine(&'static str),
    /// This directory under the lab dir or a file inside it (an upload dir, a full tmpfs: the
    /// message names a per-request file in it).
    InDir(&'static str),
    /// `file` and `line` are null: the evidence names no file.
    Null,
    /// Not checked (the evidence names only a socket; the spec leaves that open).
    Unchecked,
}

/// How a fault is hit.
pub enum Trigger {
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
    fn fire(&self, script: Option<PhpScript>, s: &mut Stack) -> Vec<u16> {
        let port = s.server.port;
        match *self {
            Trigger::Script(n) => gets(port, &app::url(&script.expect("fault script")), n),
            Trigger::Get(path, n) => gets(port, path, n),
            Trigger::Concurrent(path, n) => get_concurrent(port, path, n),
            Trigger::Post(path, len, n) => posts(port, path, len, n),
            Trigger::Custom(f) => f(s),
        }
    }
}

/// A fault of the server (or of FPM) rather than of PHP: wherever the server runs, one place its
/// evidence lands, no file named, one GET of a healthy page unless it says otherwise.
pub const fn server_fault<W: Web>(
    cause: &'static str,
    variant: &'static str,
    status: u16,
    evidence: &'static str,
) -> Fault<W> {
    Fault {
        cause,
        variant,
        on: W::CONFIGS,
        status,
        script: None,
        names: Names::Null,
        evidence,
        php_routed: false,
        all_fail: true,
        php: &[],
        setup: no_setup,
        fpm: unchanged::<FpmOptions>,
        web: unchanged::<W::Options>,
        trigger: Trigger::Get("/ok.php", 1),
    }
}

/// The common shape of a PHP fault: one script, requested a few times, PHP names file:line,
/// the server answers 500 wherever PHP runs.
const fn php_fault<W: Web>(
    cause: &'static str,
    script: PhpScript,
    evidence: &'static str,
) -> Fault<W> {
    Fault {
        script: Some(script),
        names: Names::ScriptLine,
        php_routed: true,
        trigger: Trigger::Script(3),
        ..server_fault(cause, "", 500, evidence)
    }
}

/// A fault of PHP-FPM: where FPM runs PHP, answered with the server's [`Web::FPM_GONE`].
const fn fpm_fault<W: Web>(
    cause: &'static str,
    variant: &'static str,
    evidence: &'static str,
) -> Fault<W> {
    Fault {
        on: W::FPM,
        ..server_fault(cause, variant, W::FPM_GONE, evidence)
    }
}

/// The catalogue: PHP's faults (500 wherever PHP runs) and FPM's.
impl<W: Web> Fault<W> {
    pub const SYNTAX_ERROR: Self =
        php_fault("php_syntax_error", app::SYNTAX_ERROR, "PHP Parse error");

    pub const UNDEFINED_FUNCTION: Self = php_fault(
        "php_undefined_function",
        app::UNDEFINED_FUNCTION,
        "Call to undefined function curl_init()",
    );

    pub const MEMORY_LIMIT: Self = Fault {
        php: &[("memory_limit", "16M")],
        ..php_fault(
            "php_memory_limit",
            app::MEMORY,
            "Allowed memory size of 16777216 bytes exhausted",
        )
    };

    /// CPU time past `max_execution_time`: a PHP Fatal error.
    pub const MAX_EXECUTION_TIME: Self = Fault {
        variant: "max_execution_time",
        php: &[("max_execution_time", "1")],
        trigger: Trigger::Script(2),
        ..php_fault(
            "php_timeout",
            app::CPU_LOOP,
            "Maximum execution time of 1 second exceeded",
        )
    };

    pub const UNCAUGHT_EXCEPTION: Self = php_fault(
        "php_uncaught_exception",
        app::EXCEPTION,
        "Uncaught RuntimeException: payment gateway returned 402",
    );

    /// `require` of a file the PHP process (www-data) cannot read: Warning (Permission
    /// denied) + Fatal.
    pub const UNREADABLE_INCLUDE: Self = Fault {
        variant: "unreadable_include",
        setup: |lab| lab.chmod(&format!("www/{}", app::INCLUDED.path), 0o000),
        names: Names::File("www/lib/config.php"),
        ..php_fault(
            "file_permissions",
            app::INCLUDES,
            "Failed to open stream: Permission denied",
        )
    };

    /// An upload dir owned by root (755): the app's write fails and it answers 500.
    pub const UNWRITABLE_UPLOAD_DIR: Self = Fault {
        variant: "unwritable_upload_dir",
        names: Names::InDir("www/uploads"),
        trigger: Trigger::Post("/upload.php", 2048, 2),
        ..php_fault(
            "file_permissions",
            app::UPLOAD,
            "Failed to open stream: Permission denied",
        )
    };

    /// The page cache lives on a 64 KiB tmpfs, too small for the page: PHP's write fails (a
    /// Notice, `errno=28 No space left on device` at the script's line 4) and the app throws
    /// (500). The evidence names the script and line of the failed write.
    pub const CACHE_DISK_FULL: Self = Fault {
        variant: "php_cache_write",
        setup: |lab| {
            lab.mount_tmpfs("cache", "64k").expect("tmpfs for cache");
        },
        trigger: Trigger::Script(2),
        ..php_fault("disk_full", app::CACHE, "No space left on device")
    };

    /// FPM kills the worker after 1 s (`request_terminate_timeout`) against a script sleeping
    /// 5 s; FPM's line names the script only.
    pub const REQUEST_TERMINATE_TIMEOUT: Self = Fault {
        script: Some(app::SLOW),
        names: Names::Script,
        fpm: |_, o| o.request_terminate_timeout(1),
        trigger: Trigger::Script(2),
        ..fpm_fault(
            "php_timeout",
            "request_terminate_timeout",
            "execution timed out",
        )
    };

    /// The FPM worker segfaults mid-request.
    pub const FPM_CRASH_SIGSEGV: Self = Fault {
        trigger: Trigger::Get("/segv.php", 2),
        ..fpm_fault("fpm_crash", "sigsegv", "exited on signal 11 (SIGSEGV)")
    };

    /// The FPM worker is SIGKILLed mid-request (what the OOM killer does).
    pub const FPM_CRASH_SIGKILL: Self = Fault {
        trigger: Trigger::Get("/oom.php", 2),
        ..fpm_fault("fpm_crash", "sigkill", "exited on signal 9 (SIGKILL)")
    };

    /// FPM stopped cleanly (socket removed): every request fails until it is started again.
    /// `evidence` is the server's line about the missing socket.
    pub const fn fpm_stopped(evidence: &'static str) -> Self {
        Fault {
            names: Names::Unchecked,
            trigger: Trigger::Custom(|s| {
                let port = s.server.port;
                while_stopped(s.fpm(), port)
            }),
            ..fpm_fault("upstream_unavailable", "fpm_stopped", evidence)
        }
    }

    /// The FPM options for this fault under `place`: its PHP settings, then its pool changes.
    pub fn fpm_options(&self, lab: &Lab, place: PhpLog) -> FpmOptions {
        let o = (self.php.iter()).fold(FpmOptions::new().php_log(place), |o, (k, v)| {
            o.admin_value(k, v)
        });
        (self.fpm)(lab, o)
    }
}

/// Stops FPM, sends two GETs of a healthy page and one of another script, starts FPM again;
/// returns the statuses.
pub fn while_stopped(fpm: &mut Fpm, port: u16) -> Vec<u16> {
    fpm.stop();
    let statuses = [gets(port, "/ok.php", 2), gets(port, "/checkout.php", 1)].concat();
    fpm.restart();
    statuses
}

/// A fresh stack for `fault` under `setup`: a new lab with the fault app in `www/`, the fault's
/// setup done, the daemons started.
pub fn start<W: Web>(fault: &Fault<W>, setup: W::Setup) -> Stack {
    let lab = Lab::new();
    app::write(&lab, "www");
    (fault.setup)(&lab);
    W::start_in(lab, fault, setup)
}

/// Runs a fault under every setup it applies to; reports every failing setup at once.
pub fn run<W: Web>(fault: &Fault<W>) {
    if skip_unless_root(fault.cause) {
        return;
    }
    let setups = (fault.on.iter()).flat_map(|&c| W::setups(c, fault.php_routed));
    let failures: Vec<String> = setups
        .filter_map(|setup| {
            catch_unwind(AssertUnwindSafe(|| run_once(fault, setup)))
                .err()
                .map(|e| {
                    format!(
                        "{}/{} on {} ({}): {}",
                        fault.cause,
                        fault.variant,
                        W::family(setup),
                        W::label(setup),
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

/// Starts the stack, sends healthy traffic, the fault, healthy traffic again, then checks what
/// the server logged and what `diagnose` says about it.
fn run_once<W: Web>(fault: &Fault<W>, setup: W::Setup) {
    let mut s = start(fault, setup);
    let mut requests = healthy_traffic(s.server.port);
    let statuses = fault.trigger.fire(fault.script, &mut s);
    requests += statuses.len() + healthy_traffic(s.server.port);

    let n = check_statuses(fault, &statuses);
    let access_log = &s.server.access_log;
    s.server.wait_access_lines(requests);
    assert_eq!(
        access_log_statuses(access_log).len(),
        requests,
        "one access-log line per request"
    );
    assert_eq!(access_log_5xx(access_log), n, "5xx in access log");
    let logs = s.logs();
    wait_for(&format!("{:?} in the logs", fault.evidence), || {
        logs.iter().any(|(p, _)| log_contains(p, fault.evidence))
    });
    s.stop();
    save(fault, setup, &s.lab, &logs);

    let report = diagnose(&log_paths(&logs));
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
fn check_statuses<W: Web>(fault: &Fault<W>, statuses: &[u16]) -> u64 {
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
fn check_location<W: Web>(fault: &Fault<W>, lab: &Lab, report: &Value) {
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

/// Saves the run's logs as fixtures: `<family>/<cause>/<variant>[-<where PHP messages went>]`.
fn save<W: Web>(fault: &Fault<W>, setup: W::Setup, lab: &Lab, logs: &[NamedLog]) {
    let variant = match (fault.php_routed, fault.variant) {
        (true, "") => W::label(setup).to_string(),
        (true, v) => format!("{v}-{}", W::label(setup)),
        (false, v) => v.to_string(),
    };
    save_fixtures(lab, W::family(setup), fault.cause, &variant, logs);
}

/// The tests of the catalogue's faults as they are, on the stack `$web`: one `#[test]` each,
/// named the same in every server's lab. A server's own faults, and its own versions of
/// these, have tests of their own. (Every lab binary compiles this module; only the server labs
/// use the macro, hence the allows, like `dead_code` for the harness.)
#[allow(unused_macros)]
macro_rules! catalogue_tests {
    ($web:ty) => {
        $crate::lab::faults::catalogue_tests! { $web;
            php_syntax_error: SYNTAX_ERROR,
            php_undefined_function: UNDEFINED_FUNCTION,
            php_memory_limit: MEMORY_LIMIT,
            php_timeout_max_execution_time: MAX_EXECUTION_TIME,
            php_uncaught_exception: UNCAUGHT_EXCEPTION,
            file_permissions_unreadable_include: UNREADABLE_INCLUDE,
            file_permissions_unwritable_upload_dir: UNWRITABLE_UPLOAD_DIR,
            disk_full_php_cache_write: CACHE_DISK_FULL,
            fpm_crash_sigsegv: FPM_CRASH_SIGSEGV,
            fpm_crash_sigkill: FPM_CRASH_SIGKILL,
        }
    };
    ($web:ty; $($name:ident: $fault:ident,)*) => {$(
        #[test]
        fn $name() {
            $crate::lab::faults::run(&$crate::lab::faults::Fault::<$web>::$fault);
        }
    )*};
}
#[allow(unused_imports)]
pub(crate) use catalogue_tests;
