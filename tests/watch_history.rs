//! The dashboard's history across `kill -9`: `fivehundred watch` as a child process with its
//! own `--state`, fed an access log and an nginx error log, killed and restarted on the same
//! state directory.
//!
//! - killed three times (at seeded random moments) while the logs grow, restarted each time:
//!   every minute of `/api/history` counts each line once, by status class (the lines read
//!   again after a crash are not counted twice), and the 5xx by cause never exceed what the
//!   logs hold;
//! - killed once everything shows, then restarted: `/api/history` and `/api/overview` are the
//!   same as before, and lines appended after the restart are added to them;
//! - a first start on a big day's access and error logs, two files whose records are all
//!   history: its 5xx are explained by their causes as `diagnose` explains them, whichever file
//!   is read first.
//!
//! Readiness is polled (`/healthz`, `/api/history`), never slept for; the kills' moments come
//! from a seed the test prints (`FIVEHUNDRED_E2E_SEED=N` replays one).
#[path = "../examples/bigday.rs"]
#[allow(dead_code)]
mod bigday;
mod lab;
#[allow(dead_code)] // the shared harness; this file uses its `Watch` and helpers
#[path = "watch_e2e/support.rs"]
mod support;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;

use serde_json::Value;
use support::{DEADLINE, Rng, Watch, append, now_ms, wait};

const MINUTE: i64 = 60_000;
const GOOGLEBOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

/// What the logs hold, per minute (RFC 3339 in +00:00, as `/api/history` writes it): responses
/// by class, and the 5xx by the cause that explains them.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    class: BTreeMap<String, BTreeMap<String, u64>>,
    cause: BTreeMap<String, BTreeMap<String, u64>>,
    lines: u64,
}

impl Expected {
    fn count(&mut self, ms: i64, status: u16, cause: Option<&str>) {
        let minute = minute_of(ms);
        let class = format!("{}xx", status / 100);
        *self
            .class
            .entry(minute.clone())
            .or_default()
            .entry(class)
            .or_default() += 1;
        if let Some(c) = cause {
            *self
                .cause
                .entry(minute)
                .or_default()
                .entry(c.into())
                .or_default() += 1;
        }
        self.lines += 1;
    }
}

fn minute_of(ms: i64) -> String {
    let t = jiff::Timestamp::from_millisecond(ms / MINUTE * MINUTE).unwrap();
    t.strftime("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

fn access_line(ms: i64, status: u16, path: &str, agent: &str) -> String {
    let t = jiff::Timestamp::from_millisecond(ms).unwrap();
    format!(
        "203.0.113.9 - - [{}] \"GET {path} HTTP/1.1\" {status} 99 \"-\" \"{agent}\"\n",
        t.strftime("%d/%b/%Y:%H:%M:%S +0000")
    )
}

/// nginx's error line for a request whose PHP-FPM socket is gone, in the machine's zone (as
/// nginx writes it, and as `watch` reads a log without a zone).
fn fpm_gone(ms: i64, path: &str) -> String {
    let t = jiff::Timestamp::from_millisecond(ms)
        .unwrap()
        .to_zoned_datetime(jiff::tz::TimeZone::system());
    format!(
        "{} [error] 7339#7339: *1 connect() to unix:/run/php/php8.2-fpm.sock failed (2: No such \
         file or directory) while connecting to upstream, client: 203.0.113.9, server: localhost, \
         request: \"GET {path} HTTP/1.1\", upstream: \"fastcgi://unix:/run/php/php8.2-fpm.sock:\", \
         host: \"localhost\"\n",
        t.strftime("%Y/%m/%d %H:%M:%S")
    )
}

/// `minutes` minutes of traffic from `start` (ms), appended to the logs a minute at a time
/// and counted into `want`.
fn traffic(logs: &Path, start: i64, minutes: i64, want: &mut Expected) {
    for m in 0..minutes {
        one_minute(logs, start + m * MINUTE, want);
    }
}

/// The minute from `t` (ms): 100 lines 200, 20 404, and 5xx: three 502 on /pay with the
/// PHP-FPM socket gone (the third to Googlebot), one 500 on /report nothing explains.
/// Appends it to the logs and counts it into `want`.
fn one_minute(logs: &Path, t: i64, want: &mut Expected) {
    let (mut access, mut error) = (String::new(), String::new());
    for i in 0..120 {
        let (status, at) = (if i % 6 == 5 { 404 } else { 200 }, t + i * 100);
        access += &access_line(at, status, &format!("/p/{i}"), "Mozilla/5.0");
        want.count(at, status, None);
    }
    for k in 0..3 {
        let at = t + 20_000 + k * 1000;
        let agent = if k == 2 { GOOGLEBOT } else { "Mozilla/5.0" };
        access += &access_line(at, 502, "/pay", agent);
        error += &fpm_gone(at, "/pay");
        want.count(at, 502, Some("upstream_unavailable"));
    }
    access += &access_line(t + 30_000, 500, "/report", "Mozilla/5.0");
    want.count(t + 30_000, 500, Some("unknown"));
    // The error lines first: a 5xx is explained a moment after its access line is read.
    append(&logs.join("error.log"), &error);
    append(&logs.join("access.log"), &access);
}

/// `/api/history` as (class, cause) per minute.
type Minutes = (
    BTreeMap<String, BTreeMap<String, u64>>,
    BTreeMap<String, BTreeMap<String, u64>>,
);

fn history(watch: &Watch) -> (Value, Minutes) {
    let r = watch.get("/api/history");
    assert_eq!(r.status, 200, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    let (mut class, mut cause) = (BTreeMap::new(), BTreeMap::new());
    for m in v["minutes"].as_array().expect("minutes") {
        let at = m["at"].as_str().unwrap().to_string();
        let counts = |key: &str| -> BTreeMap<String, u64> {
            serde_json::from_value(m[key].clone()).expect("counts")
        };
        let (c, k) = (counts("class"), counts("cause"));
        if !c.is_empty() {
            class.insert(at.clone(), c);
        }
        if !k.is_empty() {
            cause.insert(at, k);
        }
    }
    (v, (class, cause))
}

fn overview(watch: &Watch) -> Value {
    let r = watch.get("/api/overview");
    assert_eq!(r.status, 200, "{}", r.body);
    serde_json::from_str(&r.body).unwrap()
}

/// Waits until `/api/history` shows every line of `want` and every 5xx explained.
fn wait_history(watch: &mut Watch, want: &Expected) -> Value {
    wait("the history to show every line", DEADLINE, || {
        watch.assert_running();
        let (v, got) = history(watch);
        if got == (want.class.clone(), want.cause.clone()) {
            Ok(v)
        } else {
            Err(format!("{got:?}"))
        }
    })
}

fn watch_args(logs: &Path) -> Vec<OsString> {
    vec!["watch".into(), logs.into()]
}

#[test]
fn the_history_survives_kill_9_and_counts_no_line_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (logs, state) = (dir.path().join("logs"), dir.path().join("state"));
    std::fs::create_dir(&logs).unwrap();
    let start = (now_ms() / MINUTE - 60) * MINUTE;
    let mut want = Expected::default();
    let mut rng = Rng::from_env();

    // The logs grow a minute at a time; every fifth minute, a moment after it is written,
    // `kill -9` and a restart: whatever the store had, the restart reads on from its
    // checkpoint and counts each line once.
    let mut watch = Watch::start(&watch_args(&logs), &state);
    for m in 0..20 {
        one_minute(&logs, start + m * MINUTE, &mut want);
        if m % 5 == 4 && m < 19 {
            std::thread::sleep(rng.pause(0, 400));
            watch.kill9();
            watch = Watch::start(&watch_args(&logs), &state);
        }
    }
    watch.wait_parsed(want.lines);
    let classes = wait("every line by class", DEADLINE, || {
        let (_, (class, _)) = history(&watch);
        if class == want.class {
            Ok(class)
        } else {
            Err(format!("{class:?}"))
        }
    });
    assert_eq!(classes, want.class);
    // A 5xx still settling at a kill was never explained (its line is past the stored
    // checkpoint), and one read again after a restart may be explained without the error
    // records read before it (`unknown`): the causes of a minute may count fewer 5xx than
    // it holds, never more.
    let (_, (_, causes)) = history(&watch);
    for (minute, by) in &causes {
        let explained: u64 = by.values().sum();
        let held = want.class[minute]["5xx"];
        assert!(explained <= held, "{minute}: {by:?} of {held} 5xx");
    }

    // On a fresh state: everything shown, then killed: the restart shows the same.
    let state = dir.path().join("state2");
    let mut watch = Watch::start(&watch_args(&logs), &state);
    let before = wait_history(&mut watch, &want);
    let overview_before = overview(&watch);
    assert_eq!(overview_before["requests"], want.lines);
    assert_eq!(overview_before["server_errors"], 20 * 4);
    assert_eq!(overview_before["crawlers"]["Googlebot"], 20);
    assert_eq!(
        overview_before["top_paths"],
        serde_json::json!([{"path": "/pay", "count": 60}, {"path": "/report", "count": 20}])
    );
    assert_eq!(
        overview_before["first_line"],
        jiff::Timestamp::from_millisecond(start)
            .unwrap()
            .strftime("%Y-%m-%dT%H:%M:%S+00:00")
            .to_string()
    );
    watch.kill9();
    let mut watch = Watch::start(&watch_args(&logs), &state);
    let (after, _) = history(&watch);
    assert_eq!(after, before, "the history right after the restart");
    watch.wait_parsed(want.lines);
    assert_eq!(
        history(&watch).0,
        before,
        "once the restart has looked at the logs"
    );
    assert_eq!(overview(&watch), overview_before);

    // New lines are added to the history kept.
    traffic(&logs, start + 20 * MINUTE, 3, &mut want);
    wait_history(&mut watch, &want);
    assert_eq!(overview(&watch)["server_errors"], 23 * 4);
}

/// The 5xx by cause over every minute of `/api/history`.
fn causes(watch: &Watch) -> BTreeMap<String, u64> {
    let (_, (_, by_minute)) = history(watch);
    let mut total = BTreeMap::new();
    for by in by_minute.values() {
        for (cause, n) in by {
            *total.entry(cause.clone()).or_default() += n;
        }
    }
    total
}

/// A first start reads history file after file (the least recently modified first): the big
/// day's access log before its error log, then the other way round. Either way each 5xx waits
/// for the records of the file not read yet, and the day's causes are the generator's, not
/// `unknown`.
#[test]
fn a_first_start_ties_history_5xx_to_the_records_of_a_file_read_after_them() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let day = bigday::generate_shaped(
        19,
        &logs,
        bigday::Shape {
            requests: 6_000,
            ..bigday::Shape::default()
        },
    )
    .expect("generate the day");
    let want: BTreeMap<String, u64> = bigday::CAUSES
        .iter()
        .zip(day.by_cause)
        .map(|(c, n)| (c.to_string(), n))
        .collect();
    let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let touch = |name: &str, at: std::time::SystemTime| {
        let file = std::fs::File::options()
            .append(true)
            .open(logs.join(name))
            .unwrap();
        file.set_modified(at).unwrap();
    };
    for (n, (first, then)) in [("access.log", "error.log"), ("error.log", "access.log")]
        .into_iter()
        .enumerate()
    {
        touch(first, an_hour_ago);
        touch(then, std::time::SystemTime::now());
        let args: Vec<OsString> = vec!["watch".into(), "--tz".into(), "UTC".into(), (&logs).into()];
        let mut watch = Watch::start(&args, &dir.path().join(format!("state{n}")));
        watch.wait_parsed(day.requests);
        let got = wait("every 5xx explained", DEADLINE, || {
            watch.assert_running();
            let got = causes(&watch);
            if got.values().sum::<u64>() == day.server_errors {
                Ok(got)
            } else {
                Err(format!("{got:?}"))
            }
        });
        assert_eq!(got, want, "{first} read first");
        watch.terminate();
    }
}
