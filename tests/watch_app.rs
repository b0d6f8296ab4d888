//! `fivehundred watch` following an application stack live (issue 18: `watch` reports the new
//! ids as they happen): the built binary as a child process, following a real nginx's access
//! and error logs (the access log with `$request_id`, read through `--access-format`), Rails'
//! `production.log` and Puma's own log, while Rails under Puma (the Ruby lab's app, cluster
//! mode) fails for real:
//!
//! - an uncaught `KeyError` in the app's own code → an `app_exception` incident at
//!   `app/models/cart.rb`, language `ruby`, and a `new_cause` alert for it;
//! - a worker SIGKILLed mid-request → `worker_crash` (nginx's `upstream prematurely closed`
//!   from an `http://` upstream);
//! - a worker killed by Puma's master for running past its timeout → `worker_timeout`.
//!
//! Each shows in `/api/incidents` (the `diagnose` shape, with `id` and `state`) once the logs
//! have it; readiness and results are polled, never slept for.
#[path = "lab/db.rs"]
mod db;
mod lab;
#[path = "lab/rails.rs"]
mod rails;
#[allow(dead_code)] // watch_e2e's harness; only `Watch`, `Receiver` and `wait` are used here
#[path = "watch_e2e/support.rs"]
mod support;

use std::ffi::OsString;

use lab::*;
use serde_json::Value;
use support::{DEADLINE, Receiver, Watch, wait};

/// The open incident of `cause` on `path`, once `watch` reports it.
fn wait_incident(watch: &mut Watch, cause: &str, path: &str) -> Value {
    wait(
        &format!("a live {cause} incident on {path}"),
        DEADLINE,
        || {
            watch.assert_running();
            let all = watch.incidents();
            all.iter()
                .find(|i| {
                    i["cause"] == cause
                        && i["paths"]
                            .as_array()
                            .is_some_and(|p| p.contains(&path.into()))
                })
                .cloned()
                .ok_or_else(|| pretty(&Value::Array(all)))
        },
    )
}

/// The `new_cause` alert for `cause`, once the webhook has it.
fn wait_new_cause(hook: &Receiver, cause: &str) -> Value {
    wait(&format!("a new_cause alert for {cause}"), DEADLINE, || {
        let bodies = hook.bodies();
        bodies
            .iter()
            .find(|b| b["alert"] == "new_cause" && b["incident"]["cause"] == cause)
            .cloned()
            .ok_or_else(|| pretty(&Value::Array(bodies)))
    })
}

#[test]
fn watch_reports_a_rails_apps_exception_crash_and_timeout_as_they_happen() {
    if skip_unless_root("watch_reports_a_rails_apps_exception_crash_and_timeout_as_they_happen") {
        return;
    }
    let lab = Lab::new();
    // No database: nothing here queries it (ActiveRecord connects on the first query).
    let mut puma = rails::Puma::start(&lab, "postgres://app:none@127.0.0.1:1/shop", 3);
    let nginx = rails::nginx_in_front(&lab, &puma);
    let hook = Receiver::start();
    let state = lab.mkdir("watch-state");
    let paths = [
        &nginx.access_log,
        &nginx.error_log,
        &puma.production_log,
        &puma.puma_log,
    ];
    let mut args: Vec<OsString> = paths.iter().map(|p| p.as_os_str().to_owned()).collect();
    args.extend(
        ["--access-format", rails::ACCESS_FORMAT, "--webhook"]
            .into_iter()
            .map(OsString::from),
    );
    args.push(hook.url().into());
    let mut watch = Watch::start(&args, &state);

    assert_eq!(get(nginx.port, "/checkout"), 500);
    let exception = wait_incident(&mut watch, "app_exception", "/checkout");
    assert_eq!(
        (
            &exception["language"],
            &exception["file"],
            &exception["exception"]
        ),
        (
            &Value::from("ruby"),
            &Value::from("app/models/cart.rb"),
            &Value::from("KeyError")
        ),
        "{}",
        pretty(&exception)
    );
    assert_eq!(exception["state"], "open", "{}", pretty(&exception));
    let alert = wait_new_cause(&hook, "app_exception");
    assert_eq!(alert["status"], "firing", "{}", pretty(&alert));

    assert_eq!(puma.killed_mid_request(nginx.port), 502);
    wait_incident(&mut watch, "worker_crash", "/slow");

    assert_eq!(get(nginx.port, "/login"), 502);
    let timeout = wait_incident(&mut watch, "worker_timeout", "/login");
    assert_eq!(timeout["language"], "ruby", "{}", pretty(&timeout));
    wait_new_cause(&hook, "worker_timeout");
}
