//! Real nginx + PHP-FPM fault lab: each fault is injected into a freshly started nginx and
//! PHP-FPM (Debian's packages, workers as www-data), real requests are sent, and
//! `fivehundred diagnose` must name the cause, the status nginx really sent, the exact count of
//! 5xx the test caused, and the file/line the evidence names. Healthy requests before and after
//! each fault must add nothing.
//!
//! Faults whose evidence is a PHP message run once per place PHP messages can land
//! ([`PhpLog::ALL`]): nginx's `FastCGI sent in stderr`, a PHP `error_log` file, the FPM log via
//! `catch_workers_output` with `fastcgi.logging = 0`, and `catch_workers_output` alone (both).
//!
//! The faults of PHP and PHP-FPM are the shared catalogue of `tests/lab/faults.rs` (the same
//! tests in the Apache lab); this file adds nginx's own faults and its way to hit a few.
//!
//! `FIVEHUNDRED_SAVE_FIXTURES=1` also saves each run's logs under
//! `tests/fixtures/real/nginx-fpm/<cause>/<variant>/` (paths rewritten to /srv/lab).
mod lab;

use lab::faults::{self, Names, Stack, Trigger, Web, run, server_fault};
use lab::nginx::NginxOptions;
use lab::php_fpm::PhpLog;
use lab::*;

/// nginx with `\.php$` passed to PHP-FPM, its one configuration; it answers 502 when FPM
/// drops a request or is gone.
struct NginxFpm;

impl Web for NginxFpm {
    type Options = NginxOptions;
    type Config = ();
    type Setup = PhpLog;
    const CONFIGS: &'static [()] = &[()];
    const FPM: &'static [()] = &[()];
    const FPM_GONE: u16 = 502;

    fn setups(_: (), php_routed: bool) -> Vec<PhpLog> {
        if php_routed {
            PhpLog::ALL.to_vec()
        } else {
            vec![PhpLog::FastCgiStderr]
        }
    }

    fn family(_: PhpLog) -> &'static str {
        "nginx-fpm"
    }

    fn label(place: PhpLog) -> &'static str {
        place.label()
    }

    fn start_in(lab: Lab, fault: &Fault, place: PhpLog) -> Stack {
        let fpm = fault.fpm_options(&lab, place).start(&lab);
        let server = (fault.web)(&lab, NginxOptions::new().fastcgi(&fpm)).start(&lab);
        Stack {
            server,
            fpm: Some(fpm),
            lab,
        }
    }
}

type Fault = faults::Fault<NginxFpm>;

/// FPM kills the worker after 1 s; nginx sees the connection reset: 502.
const REQUEST_TERMINATE_TIMEOUT: Fault = Fault {
    trigger: Trigger::Concurrent("/slow.php", 2),
    ..Fault::REQUEST_TERMINATE_TIMEOUT
};

/// One worker, a backlog of 1: bursts of 6 concurrent slow requests overflow the socket queue
/// until nginx's connect() gets EAGAIN (502). `pm = dynamic` also logs "server reached
/// pm.max_children".
const POOL_EXHAUSTED: Fault = Fault {
    all_fail: false,
    names: Names::Unchecked,
    fpm: |_, o| o.pm("dynamic").max_children(1).listen_backlog(1),
    trigger: Trigger::Custom(|s| bursts_until_5xx(s.server.port, "/busy.php", 6, 10, |_| {})),
    ..server_fault(
        "fpm_pool_exhausted",
        "max_children_dynamic",
        502,
        "Resource temporarily unavailable",
    )
};

/// The same with `pm = ondemand`, whose warning reads differently ("server reached
/// max_children setting", no `pm.`) and is not always written: nginx's EAGAIN is the evidence.
const POOL_EXHAUSTED_ONDEMAND: Fault = Fault {
    fpm: |_, o| o.pm("ondemand").max_children(1).listen_backlog(1),
    variant: "max_children_ondemand",
    ..POOL_EXHAUSTED
};

/// FPM stopped (socket gone): 502 until it is started again.
const FPM_STOPPED: Fault =
    Fault::fpm_stopped("No such file or directory) while connecting to upstream");

/// fastcgi_read_timeout 1s against a script sleeping 5 s: 504.
const READ_TIMEOUT: Fault = Fault {
    web: |_, o| o.php("fastcgi_read_timeout 1s;"),
    trigger: Trigger::Concurrent("/slow.php", 2),
    ..server_fault(
        "upstream_timeout",
        "fastcgi_read_timeout",
        504,
        "upstream timed out",
    )
};

/// nginx buffers a 1 MB request body to client_body_temp_path, a full 64 KiB tmpfs: 500.
const BODY_TEMP_DISK_FULL: Fault = Fault {
    names: Names::InDir("body"),
    setup: |lab| {
        lab.mount_tmpfs("body", "64k")
            .expect("tmpfs for request bodies");
    },
    web: |lab, o| o.body_temp(&lab.path("body")),
    trigger: Trigger::Post("/import.php", 1_000_000, 2),
    ..server_fault(
        "disk_full",
        "client_body_temp",
        500,
        "No space left on device",
    )
};

const REWRITE_LOOP: Fault = Fault {
    web: |_, o| o.rewrite_loop(),
    trigger: Trigger::Get("/loop", 3),
    ..server_fault(
        "rewrite_loop",
        "rewrite",
        500,
        "rewrite or internal redirection cycle",
    )
};

/// nginx's own rate limit: the first request passes, the next ones get 503 with their own
/// "limiting requests" line, which names the cause (rate_limited, beyond causes.md).
const RATE_LIMIT: Fault = Fault {
    web: |_, o| o.rate_limit(),
    trigger: Trigger::Get("/limited", 4),
    all_fail: false,
    ..server_fault(
        "rate_limited",
        "limit_req",
        503,
        "limiting requests, excess:",
    )
};

const TRY_FILES_LOOP: Fault = Fault {
    variant: "try_files",
    web: |_, o| o.try_files_loop(),
    trigger: Trigger::Get("/app/settings", 3),
    ..REWRITE_LOOP
};

faults::catalogue_tests!(NginxFpm);

#[test]
fn php_timeout_request_terminate_timeout() {
    run(&REQUEST_TERMINATE_TIMEOUT);
}

#[test]
fn fpm_pool_exhausted() {
    run(&POOL_EXHAUSTED);
}

#[test]
fn fpm_pool_exhausted_ondemand() {
    run(&POOL_EXHAUSTED_ONDEMAND);
}

#[test]
fn upstream_unavailable_fpm_stopped() {
    run(&FPM_STOPPED);
}

#[test]
fn upstream_timeout_fastcgi_read_timeout() {
    run(&READ_TIMEOUT);
}

#[test]
fn disk_full_client_body_temp() {
    run(&BODY_TEMP_DISK_FULL);
}

#[test]
fn rewrite_loop_rewrite() {
    run(&REWRITE_LOOP);
}

#[test]
fn rate_limited_limit_req() {
    run(&RATE_LIMIT);
}

#[test]
fn rewrite_loop_try_files() {
    run(&TRY_FILES_LOOP);
}
