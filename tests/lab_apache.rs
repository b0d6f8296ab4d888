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
//! The faults of PHP and PHP-FPM are the shared catalogue of `tests/lab/faults.rs` (the same
//! tests in the nginx lab); this file adds Apache's own faults (`.htaccess`, proxy_fcgi).
//!
//! `FIVEHUNDRED_SAVE_FIXTURES=1` also saves each run's logs under
//! `tests/fixtures/real/apache-<modphp|fcgi>/<cause>/<variant>/` (paths rewritten to /srv/lab).
mod lab;

use lab::apache::{AccessFormat, ApacheOptions};
use lab::faults::{self, Names, Stack, Trigger, Web, run, server_fault};
use lab::php_fpm::{PhpLog, PhpScript, app};
use lab::*;
use std::path::PathBuf;

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

/// Apache running PHP either way; mod_proxy_fcgi answers 503 when FPM drops a request (no
/// FastCGI header, AH01067) or is gone.
struct ApachePhp;

impl Web for ApachePhp {
    type Options = ApacheOptions;
    type Config = Config;
    type Setup = Setup;
    const CONFIGS: &'static [Config] = BOTH;
    const FPM: &'static [Config] = FCGI;
    const FPM_GONE: u16 = 503;

    fn setups(config: Config, php_routed: bool) -> Vec<Setup> {
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

    fn family(setup: Setup) -> &'static str {
        match setup {
            Setup::ModPhp { .. } => "apache-modphp",
            Setup::Fcgi(_) => "apache-fcgi",
        }
    }

    fn label(setup: Setup) -> &'static str {
        match setup {
            Setup::ModPhp {
                php_error_log: false,
            } => "apache_error_log",
            Setup::ModPhp {
                php_error_log: true,
            } => "php_error_log",
            Setup::Fcgi(p) => p.label(),
        }
    }

    /// mod_php takes the fault's PHP settings as `php_admin_value`; under proxy_fcgi Apache
    /// logs `vhost_combined` and waits 30 s for FPM unless the fault says otherwise.
    fn start_in(lab: Lab, fault: &Fault, setup: Setup) -> Stack {
        let (opts, fpm) = match setup {
            Setup::ModPhp { php_error_log } => {
                let opts = ApacheOptions::new().mod_php().php_error_log(php_error_log);
                let opts = (fault.php.iter()).fold(opts, |o, (k, v)| o.php_admin_value(k, v));
                (opts, None)
            }
            Setup::Fcgi(place) => {
                let fpm = fault.fpm_options(&lab, place).start(&lab);
                let opts = ApacheOptions::new()
                    .fcgi(&fpm)
                    .access_format(AccessFormat::VhostCombined)
                    .proxy_timeout(30);
                (opts, Some(fpm))
            }
        };
        let server = (fault.web)(&lab, opts).start(&lab);
        Stack { server, fpm, lab }
    }
}

type Fault = faults::Fault<ApachePhp>;

/// A fault of Apache under proxy_fcgi.
const fn fcgi_fault(
    cause: &'static str,
    variant: &'static str,
    status: u16,
    evidence: &'static str,
) -> Fault {
    Fault {
        on: FCGI,
        ..server_fault(cause, variant, status, evidence)
    }
}

/// An `.htaccess` fault: the file under `www/<dir>/` (all of [`HTACCESS`] are written), a page
/// there requested twice; Apache names the file but no line.
const fn htaccess_fault(
    variant: &'static str,
    on: &'static [Config],
    file: &'static str,
    path: &'static str,
    evidence: &'static str,
) -> Fault {
    Fault {
        on,
        setup: write_htaccess,
        names: Names::FileNoLine(file),
        trigger: Trigger::Get(path, 2),
        ..server_fault("htaccess_invalid", variant, 500, evidence)
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
const HTACCESS_MISSPELLED: Fault = htaccess_fault(
    "misspelled",
    BOTH,
    "www/blog/.htaccess",
    "/blog/",
    "Invalid command 'RewriteRul'",
);

/// A directive of a module that is not loaded (`Header`, mod_headers).
const HTACCESS_MODULE_NOT_LOADED: Fault = htaccess_fault(
    "module_not_loaded",
    BOTH,
    "www/shop/.htaccess",
    "/shop/index.html",
    "Invalid command 'Header'",
);

/// A directive that is never allowed in `.htaccess` (`Listen`), even under AllowOverride All.
const HTACCESS_NOT_ALLOWED: Fault = htaccess_fault(
    "not_allowed_here",
    BOTH,
    "www/admin/.htaccess",
    "/admin/",
    "Listen not allowed here",
);

/// The classic after moving from mod_php to PHP-FPM: `php_value` left in `.htaccess`.
const HTACCESS_PHP_VALUE: Fault = htaccess_fault(
    "php_value_without_mod_php",
    FCGI,
    "www/legacy/.htaccess",
    "/legacy/",
    "Invalid command 'php_value'",
);

/// Under mod_php, `php_admin_value` exists but is not allowed in `.htaccess`.
const HTACCESS_PHP_ADMIN_VALUE: Fault = htaccess_fault(
    "php_admin_value_in_htaccess",
    MODPHP,
    "www/tuning/.htaccess",
    "/tuning/",
    "php_admin_value not allowed here",
);

/// A RewriteRule that rewrites to itself: AH00124 after 10 internal redirects.
const REWRITE_LOOP: Fault = Fault {
    setup: write_htaccess,
    trigger: Trigger::Get("/loop/start", 3),
    ..server_fault(
        "rewrite_loop",
        "htaccess_rewrite_rule",
        500,
        "AH00124: Request exceeded the limit of 10 internal redirects",
    )
};

/// Where FPM's own access log goes: the lab waits on it for the pool to drain.
fn fpm_access_log(lab: &Lab) -> PathBuf {
    lab.path("log/fpm-access.log")
}

/// One FPM worker (`pm = dynamic`, so FPM logs `server reached pm.max_children setting`),
/// `ProxyTimeout 2`, requests of 1.2 s: the first is served, the queued ones time out (504).
/// Bursts of 4 concurrent slow requests until some fail, waiting after each burst until FPM
/// has worked off every queued one (Apache gave up on them, FPM did not). Apache's connect()
/// to a unix socket blocks rather than fail when the backlog is full, so a full pool shows as
/// requests queued past `ProxyTimeout`.
const POOL_EXHAUSTED: Fault = Fault {
    all_fail: false,
    names: Names::Unchecked,
    fpm: |lab, o| {
        o.pm("dynamic")
            .max_children(1)
            .pool_line(&format!("access.log = {}", fpm_access_log(lab).display()))
    },
    web: |_, o| o.proxy_timeout(2),
    trigger: Trigger::Custom(|s| {
        let done = fpm_access_log(&s.lab);
        bursts_until_5xx(s.server.port, "/busy.php", 4, 5, |sent| {
            wait_for("FPM to finish the queued requests", || {
                count_in_file(&done, "/busy.php") >= sent
            })
        })
    }),
    ..fcgi_fault(
        "fpm_pool_exhausted",
        "max_children_dynamic",
        504,
        "server reached pm.max_children setting (1)",
    )
};

/// FPM stopped cleanly (socket removed): 503 until it is started again.
const FPM_STOPPED: Fault = Fault::fpm_stopped("(2)No such file or directory: AH02454");

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
        let statuses = s.server.gets("/ok.php", 2);
        s.fpm().restart();
        statuses
    }),
    ..fcgi_fault(
        "upstream_unavailable",
        "fpm_killed_socket_left",
        503,
        "(111)Connection refused: AH02454",
    )
};

/// `ProxyTimeout 1` against a script sleeping 5 s: 504. A static pool of 4 keeps workers
/// free for the healthy traffic (and never logs `max_children`: nothing explains it better).
const PROXY_TIMEOUT: Fault = Fault {
    fpm: |_, o| o.pm("static").max_children(4),
    web: |_, o| o.proxy_timeout(1),
    trigger: Trigger::Get("/slow.php", 2),
    ..fcgi_fault(
        "upstream_timeout",
        "proxy_timeout",
        504,
        "(70007)The timeout specified has expired",
    )
};

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
        on: MODPHP,
        script: Some(crash.script),
        ..server_fault("fpm_crash", "", 0, "")
    };
    let setup = Setup::ModPhp {
        php_error_log: false,
    };
    let mut s = faults::start(&fault, setup);
    let mut requests = healthy_traffic(s.server.port);
    let crashes = 2;
    let statuses = s.server.gets(&app::url(&crash.script), crashes);
    assert_eq!(statuses, vec![0; crashes], "no answer from a dead child");
    requests += healthy_traffic(s.server.port);
    s.server.wait_access_lines(requests);
    let error_log = s.server.error_log.clone();
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
        access_log_statuses(&s.server.access_log).len(),
        requests,
        "the crashed requests have no access-log line"
    );
    assert_eq!(count_in_file(&s.server.access_log, crash.script.path), 0);
    let family = ApachePhp::family(setup);
    save_fixtures(&s.lab, family, "fpm_crash", crash.variant, &s.logs());

    let both = diagnose(&[&s.server.access_log, &error_log]);
    assert_no_incident(&both);
    let expected = crash.evidence.map_or(0, |_| crashes as u64);
    // No 5xx to attribute, but the crashes are reported beside the incidents.
    let crashed: u64 = both["other_errors"]
        .as_array()
        .expect("other_errors")
        .iter()
        .filter(|i| i["cause"] == "fpm_crash")
        .map(|i| i["count"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(crashed, expected, "other_errors: {}", pretty(&both));

    let errors_only = diagnose_errors_only(&[&error_log]);
    let events: u64 = incidents(&errors_only)
        .iter()
        .filter(|i| i["cause"] == "fpm_crash")
        .map(|i| i["count"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(events, expected, "{}", pretty(&errors_only));
    let want: Vec<String> = if expected > 0 {
        vec!["fpm_crash".into()]
    } else {
        vec![]
    };
    assert_eq!(causes(&errors_only), want, "only this cause");
}

faults::catalogue_tests!(ApachePhp);

#[test]
fn php_timeout_request_terminate_timeout() {
    run(&Fault::REQUEST_TERMINATE_TIMEOUT);
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
