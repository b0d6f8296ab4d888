//! `fivehundred watch` end to end: the built binary as a child process on 127.0.0.1 with its
//! own `--state`, real peers (a webhook receiver here, Debian's Alertmanager and Prometheus),
//! real files written, rotated, truncated and deleted under it, and `kill -9`.
//!
//! - a first start reads history (older than 5 minutes) into `/metrics` and `/api/incidents`
//!   but sends no alert, not even the resolution of an alert history left firing; a log
//!   bigger than one read still alerts for a spike of its last 5 minutes;
//! - a spike: steady traffic with a 1% trickle of 5xx alerts nobody; a burst of 5xx gives one
//!   `error_spike` within 5 s, healthy traffic in the next minutes (log time) one `resolved`;
//!   a 5xx on `/robots.txt` alerts at once;
//! - no loss, no double count: a fast writer, rotation by rename and by copytruncate,
//!   truncation, deletion and re-creation, and `kill -9` at random (seeded) moments; at the
//!   end every line is counted exactly once, by status code;
//! - a webhook receiver that is down, with `watch` killed and restarted meanwhile, gets the
//!   firing and its resolution once each, in order, when it comes up; a SIGTERM leaves no
//!   5xx out of the incidents;
//! - the fleet: a real Alertmanager shows the alert, a real Prometheus scrapes the counters;
//! - a TOML `--config` does what the flags do; a bad one, or a taken port, is one line on
//!   stderr and exit 2.
//!
//! Readiness is polled (`/healthz`, `/metrics`, the receiver), never slept for. The random
//! test prints its seed; `FIVEHUNDRED_E2E_SEED=N` replays one.
mod lab;
#[path = "watch_e2e/support.rs"]
mod support;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use lab::monitoring::{start_alertmanager, start_prometheus};
use serde_json::Value;
use support::{
    DEADLINE, Receiver, Rng, Watch, alertmanager_alerts, append, line, now_ms, prometheus_query,
    run_to_exit, wait,
};

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;

fn args(items: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<OsString> {
    items.iter().map(|a| a.as_ref().to_owned()).collect()
}

/// `per_second` lines a second from `from` (ms) for `secs` seconds, numbered on from `n`;
/// every `every`-th a 500 (none with 0), the rest 200. Gives the text and how many 200s and
/// 500s it has.
fn traffic(from: i64, secs: i64, per_second: i64, every: u64, n: &mut u64) -> (String, u64, u64) {
    let (mut text, mut ok, mut errors) = (String::new(), 0, 0);
    for s in 0..secs {
        for k in 0..per_second {
            *n += 1;
            let ms = from + s * SECOND + k * SECOND / per_second;
            if every > 0 && n.is_multiple_of(every) {
                text.push_str(&line(ms, *n, 500, "/checkout"));
                errors += 1;
            } else {
                text.push_str(&line(ms, *n, 200, "/"));
                ok += 1;
            }
        }
    }
    (text, ok, errors)
}

/// The notification has the spec's fields, of the right types, and is this alert.
fn assert_notification(n: &Value, alert: &str, status: &str) {
    assert_eq!(n["alert"], alert, "{n:#}");
    assert_eq!(n["status"], status, "{n:#}");
    assert_eq!(n["severity"], "critical", "{n:#}");
    let summary = n["summary"].as_str().unwrap_or_else(|| panic!("{n:#}"));
    assert!(!summary.is_empty() && !summary.contains('\n'), "{n:#}");
    assert!(
        n.get("incident").is_some(),
        "incident (object or null): {n:#}"
    );
    assert!(
        n["incident"].is_null() || n["incident"].is_object(),
        "{n:#}"
    );
    let at = n["at"].as_str().unwrap_or_else(|| panic!("{n:#}"));
    at.parse::<jiff::Timestamp>()
        .unwrap_or_else(|e| panic!("`at` is not RFC 3339 ({e}): {n:#}"));
    let text = n["text"].as_str().unwrap_or_else(|| panic!("{n:#}"));
    assert!(text.contains(alert) && text.contains(summary), "{n:#}");
}

/// (alert, status) of each notification.
fn kinds(bodies: &[Value]) -> Vec<(String, String)> {
    bodies
        .iter()
        .map(|b| {
            (
                b["alert"].as_str().unwrap_or("?").to_owned(),
                b["status"].as_str().unwrap_or("?").to_owned(),
            )
        })
        .collect()
}

fn pair(alert: &str, status: &str) -> (String, String) {
    (alert.to_owned(), status.to_owned())
}

// ---------------------------------------------------------------------------------------
// A first start
// ---------------------------------------------------------------------------------------

#[test]
fn a_first_start_reads_history_into_metrics_and_incidents_but_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).unwrap();
    let access = logs.join("access.log");
    let hook = Receiver::start();
    let t0 = now_ms() / SECOND * SECOND;
    // History, all older than 5 minutes: 50 minutes of calm traffic at 2/s with a robots.txt
    // 503 20 minutes in (left firing: no answer to robots.txt after it) and, 30 minutes in,
    // a 5xx burst (a spike, and its resolution, both long past).
    let mut n = 0;
    let start = t0 - 60 * MINUTE;
    let (calm, mut ok, mut errors) = traffic(start, 20 * 60, 2, 0, &mut n);
    append(&access, &calm);
    append(&access, &line(start + 20 * MINUTE, n, 503, "/robots.txt"));
    let robots_5xx = 1;
    let (more, o, e) = traffic(start + 20 * MINUTE + SECOND, 10 * 60, 2, 0, &mut n);
    append(&access, &more);
    (ok, errors) = (ok + o, errors + e);
    let (burst, o, e) = traffic(start + 30 * MINUTE, 30, 4, 2, &mut n);
    append(&access, &burst);
    (ok, errors) = (ok + o, errors + e);
    let (tail, o, e) = traffic(start + 30 * MINUTE + 30 * SECOND, 20 * 60, 2, 0, &mut n);
    append(&access, &tail);
    (ok, errors) = (ok + o, errors + e);
    let total = ok + errors + robots_5xx;

    let state = dir.path().join("state");
    let mut watch = Watch::start(&args(&[&logs, &"--webhook", &hook.url()]), &state);
    let m = watch.wait_parsed(total);
    assert_eq!(
        m.responses(),
        BTreeMap::from([(200, ok), (500, errors), (503, robots_5xx)]),
        "{m:?}"
    );
    assert_eq!(
        m.by_label("fivehundred_alerts_total"),
        BTreeMap::new(),
        "{m:?}"
    );
    // The dashboard lists the file, read to its end.
    let page = watch.get("/");
    assert_eq!(page.status, 200);
    let size = fs::metadata(&access).unwrap().len();
    assert!(
        page.body
            .contains(&format!("<code>{}</code>", access.display()))
            && page
                .body
                .contains(&format!("<td class=\"n\">{size}</td></tr>")),
        "{size} bytes of {} read in:\n{}",
        access.display(),
        page.body
    );
    // Each 5xx is explained once it has settled (its error-log lines may come a moment
    // later): every one ends up in an incident, each over (quiet far longer than 5 min).
    let count = |i: &Value| i["count"].as_u64().unwrap_or(0);
    let incidents = wait("every 5xx in a resolved incident", DEADLINE, || {
        let incidents = watch.incidents();
        let done = incidents.iter().map(count).sum::<u64>() == errors + robots_5xx
            && incidents.iter().all(|i| i["state"] == "resolved");
        if done {
            Ok(incidents)
        } else {
            Err(format!("{incidents:#?}"))
        }
    });
    let m = watch.metrics();
    let opened: u64 = m.by_label("fivehundred_incidents_total").values().sum();
    assert_eq!(opened, incidents.len() as u64, "{incidents:#?}");
    let mut ids: Vec<i64> = incidents
        .iter()
        .map(|i| i["id"].as_i64().unwrap_or_else(|| panic!("id: {i:#}")))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), incidents.len(), "ids are unique: {incidents:#?}");
    assert!(incidents.iter().all(|i| count(i) > 0), "{incidents:#?}");
    assert_eq!(
        m.by_label("fivehundred_alerts_total"),
        BTreeMap::new(),
        "{m:?}"
    );

    // Now, live: robots.txt answers again (ending the episode history left firing, whose
    // firing was never sent: no resolution either), then fails again, which is news. The
    // receiver gets its notifications in order, so the first to come shows nothing came
    // before it.
    append(&access, &line(now_ms(), n + 1, 200, "/robots.txt"));
    watch.wait_parsed(total + 1);
    append(&access, &line(now_ms(), n + 2, 503, "/robots.txt"));
    hook.wait_count(1, DEADLINE);
    let (status, said) = watch.terminate();
    assert!(status.success(), "{status}: {said}");
    let bodies = hook.bodies();
    assert_eq!(
        kinds(&bodies),
        [pair("robots_txt_5xx", "firing")],
        "{bodies:#?}"
    );
    assert_notification(&bodies[0], "robots_txt_5xx", "firing");
}

/// A log bigger than one read of the tailer (8 MB) is replayed on its own time: the clock
/// does not jump to now between two reads and leave what the second read brings unjudged.
#[test]
fn a_first_start_on_a_big_log_alerts_for_a_spike_of_the_last_5_minutes() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).unwrap();
    let access = logs.join("access.log");
    let hook = Receiver::start();
    let t0 = now_ms() / SECOND * SECOND;
    // An hour at 40/s (over 12 MB), 0.5% 5xx, with a burst 3 minutes ago: news.
    let mut n = 0;
    let (before, mut ok, mut errors) = traffic(t0 - 60 * MINUTE, 57 * 60, 40, 200, &mut n);
    let burst_at = t0 - 3 * MINUTE;
    let mut burst = String::new();
    for k in 0..300 {
        n += 1;
        burst.push_str(&line(burst_at + k, n, 500, "/checkout"));
    }
    errors += 300;
    let (after, o, e) = traffic(burst_at + SECOND, 170, 40, 200, &mut n);
    (ok, errors) = (ok + o, errors + e);
    append(&access, &format!("{before}{burst}{after}"));
    assert!(fs::metadata(&access).unwrap().len() > 12 << 20);

    let mut watch = Watch::start(
        &args(&[&logs, &"--webhook", &hook.url()]),
        &dir.path().join("state"),
    );
    let m = watch.wait_parsed(ok + errors);
    assert_eq!(m.responses(), BTreeMap::from([(200, ok), (500, errors)]));
    hook.wait_count(1, DEADLINE);
    let m = watch.metrics();
    assert_eq!(m.alerts("error_spike"), 1, "{m:?}");
    let (status, said) = watch.terminate();
    assert!(status.success(), "{status}: {said}");
    let bodies = hook.bodies();
    assert_eq!(
        kinds(&bodies),
        [pair("error_spike", "firing")],
        "{bodies:#?}"
    );
    let at: jiff::Timestamp = bodies[0]["at"].as_str().unwrap().parse().unwrap();
    let late = at.as_millisecond() - burst_at;
    assert!(
        (0..2 * SECOND).contains(&late),
        "fired at log time {at}, {late} ms after the burst"
    );
}

// ---------------------------------------------------------------------------------------
// A spike
// ---------------------------------------------------------------------------------------

#[test]
fn a_spike_alerts_once_and_resolves_once_and_robots_txt_alerts_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).unwrap();
    let access = logs.join("access.log");
    let hook = Receiver::start();
    // An hour of steady traffic up to now, 10/s with 1% 5xx: the first 55 minutes are
    // history (the baseline, nothing sent), the last 5 news. 6 5xx a minute: no spike.
    let t0 = now_ms() / SECOND * SECOND;
    let mut n = 0;
    let (steady, mut ok, mut errors) = traffic(t0 - 60 * MINUTE, 3600, 10, 100, &mut n);
    append(&access, &steady);

    let state = dir.path().join("state");
    let mut watch = Watch::start(&args(&[&logs, &"--webhook", &hook.url()]), &state);
    let m = watch.wait_parsed(ok + errors);
    assert_eq!(
        m.by_label("fivehundred_alerts_total"),
        BTreeMap::new(),
        "{m:?}"
    );
    assert_eq!(m.firing("error_spike"), 0, "{m:?}");

    // A burst at about now: 200 500s in one second (with the steady lines of the last minute:
    // over 25% 5xx, the hour before 1%).
    let burst_at = now_ms();
    let mut burst = String::new();
    for k in 0..200 {
        n += 1;
        burst.push_str(&line(burst_at + k, n, 500, "/checkout"));
    }
    errors += 200;
    let written = Instant::now();
    append(&access, &burst);
    let came = hook.wait_count(1, DEADLINE);
    let latency = came.duration_since(written);
    assert!(
        latency <= Duration::from_secs(5),
        "the spike alert came {latency:?} after the burst"
    );
    let bodies = hook.bodies();
    assert_eq!(
        kinds(&bodies),
        [pair("error_spike", "firing")],
        "{bodies:#?}"
    );
    assert_notification(&bodies[0], "error_spike", "firing");

    // Healthy traffic from now on, timestamped up to 6.5 minutes ahead: log time moves the
    // windows (the burst leaves the last minute, then 5 minutes under 1%).
    let (healthy, o, _) = traffic(now_ms(), 390, 10, 0, &mut n);
    ok += o;
    append(&access, &healthy);
    hook.wait_count(2, DEADLINE);
    watch.wait_parsed(ok + errors);

    // A 5xx on robots.txt: at once.
    n += 1;
    let written = Instant::now();
    append(&access, &line(now_ms(), n, 503, "/robots.txt"));
    let came = hook.wait_count(3, DEADLINE);
    let latency = came.duration_since(written);
    assert!(
        latency <= Duration::from_secs(5),
        "the robots.txt alert came {latency:?} after its line"
    );
    let m = watch.wait_parsed(ok + errors + 1);
    assert_eq!(m.alerts("error_spike"), 1, "{m:?}");
    assert_eq!(m.alerts("robots_txt_5xx"), 1, "{m:?}");
    assert_eq!(m.firing("error_spike"), 0, "{m:?}");
    assert_eq!(m.firing("robots_txt_5xx"), 1, "{m:?}");
    assert_eq!(
        m.responses(),
        BTreeMap::from([(200, ok), (500, errors), (503, 1)])
    );

    let (status, said) = watch.terminate();
    assert!(status.success(), "{status}: {said}");
    let bodies = hook.bodies();
    assert_eq!(
        kinds(&bodies),
        [
            pair("error_spike", "firing"),
            pair("error_spike", "resolved"),
            pair("robots_txt_5xx", "firing"),
        ],
        "{bodies:#?}"
    );
    assert_notification(&bodies[1], "error_spike", "resolved");
    assert_notification(&bodies[2], "robots_txt_5xx", "firing");
    assert_eq!(bodies[0]["rule"], "spike");
    // The resolution is at log time: after the 6 minutes of burst window and calm.
    let at = |b: &Value| {
        b["at"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
    };
    let calm = at(&bodies[1]).as_millisecond() - at(&bodies[0]).as_millisecond();
    assert!(
        (5 * MINUTE..7 * MINUTE).contains(&calm),
        "resolved {calm} ms after firing"
    );
}

// ---------------------------------------------------------------------------------------
// No loss, no double count
// ---------------------------------------------------------------------------------------

/// The status of the `n`th line written: 90% 200, then 301, 404, 500 and 503.
fn status_of(n: u64) -> u16 {
    match n % 100 {
        0..=89 => 200,
        90..=92 => 301,
        93..=96 => 404,
        97..=98 => 500,
        _ => 503,
    }
}

/// A web server's access log: lines appended through `file` (`O_APPEND`, as servers open
/// their logs), the count of each status kept once its write succeeded. Holding the lock
/// holds the writer.
struct Log {
    path: PathBuf,
    file: File,
    written: BTreeMap<u16, u64>,
    total: u64,
}

impl Log {
    fn open(path: &Path) -> File {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap()
    }

    /// `lines` new lines in one write.
    fn write(&mut self, lines: u64) {
        let mut text = String::new();
        let mut counts = BTreeMap::new();
        let ms = now_ms();
        for k in 0..lines {
            let n = self.total + k;
            let status = status_of(n);
            text.push_str(&line(ms, n, status, &format!("/item/{n}")));
            *counts.entry(status).or_insert(0) += 1;
        }
        self.file.write_all(text.as_bytes()).unwrap();
        for (status, c) in counts {
            *self.written.entry(status).or_insert(0) += c;
        }
        self.total += lines;
    }

    /// The server reopens its log (after a rotation): a new file if there is none.
    fn reopen(&mut self) {
        self.file = Log::open(&self.path);
    }
}

/// Writes about `rate` lines a second, in writes of 100, until `stop`.
fn writer(log: Arc<Mutex<Log>>, stop: Arc<AtomicBool>, rate: u64) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let start = Instant::now();
        let mut sent = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
            if sent >= due {
                thread::sleep(Duration::from_millis(1));
                continue;
            }
            log.lock().unwrap().write(100);
            sent += 100;
        }
    })
}

/// `access.log.N` → `access.log.N+1`, for every N there is (none is deleted: what `watch`
/// has not read yet must still be there for it).
fn shift_rotated(logs: &Path) {
    let mut numbers: Vec<u32> = fs::read_dir(logs)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().ok()?;
            name.strip_prefix("access.log.")?.parse().ok()
        })
        .collect();
    numbers.sort_unstable_by(|a, b| b.cmp(a));
    for k in numbers {
        fs::rename(
            logs.join(format!("access.log.{k}")),
            logs.join(format!("access.log.{}", k + 1)),
        )
        .unwrap();
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Step {
    /// `rename` rotation: the server writes on to the renamed file until it reopens.
    Rename,
    /// `copytruncate`, the writer held between the copy and the truncation.
    CopyTruncate,
    /// Truncated in place once `watch` has read it all.
    Truncate,
    /// Deleted once read, then created again.
    Recreate,
    /// `kill -9`, perhaps a rotation while down, and a restart.
    Kill,
}

struct Run {
    logs: PathBuf,
    state: PathBuf,
    log: Arc<Mutex<Log>>,
    rng: Rng,
    watch: Option<Watch>,
}

impl Run {
    fn watch(&mut self) -> &mut Watch {
        self.watch.as_mut().expect("watch is running")
    }

    fn start(&mut self) {
        let watch = Watch::start(&args(&[&self.logs]), &self.state);
        self.watch = Some(watch);
    }

    /// Waits (the writer held by `log`) until `watch` has counted every line written.
    fn caught_up(watch: &mut Watch, log: &Log) {
        let want = log.written.clone();
        watch.wait_metrics("watch to catch up with the writer", |m| {
            m.responses() == want
        });
    }

    fn step(&mut self, step: Step) {
        let access = self.logs.join("access.log");
        match step {
            Step::Rename => {
                shift_rotated(&self.logs);
                fs::rename(&access, self.logs.join("access.log.1")).unwrap();
                File::create(&access).unwrap();
                // The server writes on to the renamed file for a moment.
                thread::sleep(self.rng.pause(0, 300));
                self.log.lock().unwrap().reopen();
            }
            Step::CopyTruncate => {
                let _held = self.log.lock().unwrap();
                shift_rotated(&self.logs);
                fs::copy(&access, self.logs.join("access.log.1")).unwrap();
                OpenOptions::new()
                    .write(true)
                    .open(&access)
                    .unwrap()
                    .set_len(0)
                    .unwrap();
            }
            Step::Truncate => {
                let log = self.log.lock().unwrap();
                Run::caught_up(self.watch.as_mut().unwrap(), &log);
                log.file.set_len(0).unwrap();
            }
            Step::Recreate => {
                let mut log = self.log.lock().unwrap();
                Run::caught_up(self.watch.as_mut().unwrap(), &log);
                fs::remove_file(&access).unwrap();
                thread::sleep(self.rng.pause(0, 500));
                log.reopen();
            }
            Step::Kill => {
                self.watch.take().unwrap().kill9();
                thread::sleep(self.rng.pause(0, 500));
                match self.rng.below(3) {
                    0 => self.step(Step::Rename),
                    1 => self.step(Step::CopyTruncate),
                    _ => {}
                }
                self.start();
            }
        }
    }
}

#[test]
fn no_line_is_lost_or_counted_twice_through_rotation_truncation_deletion_and_kill_9() {
    let mut rng = Rng::from_env();
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).unwrap();
    let access = logs.join("access.log");
    let log = Arc::new(Mutex::new(Log {
        file: Log::open(&access),
        path: access,
        written: BTreeMap::new(),
        total: 0,
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let writing = writer(Arc::clone(&log), Arc::clone(&stop), 30_000);

    let mut steps = vec![
        Step::Rename,
        Step::Rename,
        Step::Rename,
        Step::CopyTruncate,
        Step::CopyTruncate,
        Step::CopyTruncate,
        Step::Truncate,
        Step::Truncate,
        Step::Recreate,
        Step::Recreate,
        Step::Kill,
        Step::Kill,
        Step::Kill,
        Step::Kill,
        Step::Kill,
    ];
    rng.shuffle(&mut steps);
    eprintln!("steps: {steps:?}");
    let mut run = Run {
        logs: logs.clone(),
        state: dir.path().join("state"),
        log: Arc::clone(&log),
        rng,
        watch: None,
    };
    run.start();
    for step in steps {
        let pause = run.rng.pause(100, 800);
        thread::sleep(pause);
        run.step(step);
    }
    thread::sleep(run.rng.pause(100, 800));
    stop.store(true, Ordering::Relaxed);
    writing.join().unwrap();

    let (written, total) = {
        let log = log.lock().unwrap();
        (log.written.clone(), log.total)
    };
    eprintln!("{total} lines written: {written:?}");
    assert!(total > 100_000, "the writer wrote {total} lines");
    let watch = run.watch();
    watch.wait_metrics("every line counted", |m| {
        m.responses().values().sum::<u64>() >= total
    });
    let check = |watch: &mut Watch| {
        let m = watch.metrics();
        assert_eq!(m.responses(), written, "by status code");
        assert_eq!(m.parsed(), total, "{m:?}");
        assert_eq!(
            m.value(r#"fivehundred_log_lines_total{kind="access",result="unparsed"}"#),
            0.0,
            "{m:?}"
        );
    };
    check(watch);
    // And it stays so: nothing is read again (the poll runs every 200 ms; orphans are let
    // go after 5 s quiet).
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        check(watch);
        thread::sleep(Duration::from_millis(200));
    }
    // Through a clean stop and a start, too.
    let (status, said) = run.watch.take().unwrap().terminate();
    assert!(status.success(), "{status}: {said}");
    run.start();
    let watch = run.watch();
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        check(watch);
        thread::sleep(Duration::from_millis(200));
    }
    let (status, said) = run.watch.take().unwrap().terminate();
    assert!(status.success(), "{status}: {said}");
}

// ---------------------------------------------------------------------------------------
// A webhook receiver that is down
// ---------------------------------------------------------------------------------------

#[test]
fn a_receiver_down_through_a_kill_9_gets_the_alert_and_its_resolution_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).unwrap();
    let access = logs.join("access.log");
    let state = dir.path().join("state");
    // Nothing listens there yet.
    let port = lab::free_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let watch_args = args(&[&logs, &"--webhook", &url]);

    let mut watch = Watch::start(&watch_args, &state);
    append(&access, &line(now_ms(), 1, 200, "/"));
    append(&access, &line(now_ms(), 2, 503, "/robots.txt"));
    watch.wait_metrics("the robots.txt alert", |m| m.alerts("robots_txt_5xx") == 1);
    wait("a failed delivery", DEADLINE, || {
        let said = watch.output();
        if said.contains("not delivered") {
            Ok(())
        } else {
            Err(said)
        }
    });
    watch.kill9();

    // Its resolution, written while watch is down.
    append(&access, &line(now_ms(), 3, 200, "/robots.txt"));
    let mut watch = Watch::start(&watch_args, &state);
    watch.wait_metrics("the resolution", |m| {
        m.parsed() == 3 && m.firing("robots_txt_5xx") == 0
    });
    wait("a failed delivery after the restart", DEADLINE, || {
        let said = watch.output();
        if said.contains("not delivered") {
            Ok(())
        } else {
            Err(said)
        }
    });

    let hook = Receiver::start_on(port);
    hook.wait_count(2, DEADLINE);
    let (status, said) = watch.terminate();
    assert!(status.success(), "{status}: {said}");
    let bodies = hook.bodies();
    assert_eq!(
        kinds(&bodies),
        [
            pair("robots_txt_5xx", "firing"),
            pair("robots_txt_5xx", "resolved")
        ],
        "{bodies:#?}"
    );
    assert_notification(&bodies[0], "robots_txt_5xx", "firing");
    assert_notification(&bodies[1], "robots_txt_5xx", "resolved");

    // A start with nothing queued sends nothing again.
    let watch = Watch::start(&watch_args, &state);
    let (status, said) = watch.terminate();
    assert!(status.success(), "{status}: {said}");
    assert_eq!(hook.bodies().len(), 2, "{:#?}", hook.bodies());
}

/// A 5xx waits a moment before it is explained (its error-log lines may come later); a
/// SIGTERM in that moment still puts it in an incident.
#[test]
fn a_clean_stop_leaves_no_5xx_out_of_the_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).unwrap();
    let access = logs.join("access.log");
    let state = dir.path().join("state");
    let mut watch = Watch::start(&args(&[&logs]), &state);
    let mut text = String::new();
    for n in 0..10 {
        text.push_str(&line(
            now_ms(),
            n,
            if n % 2 == 0 { 502 } else { 200 },
            "/api",
        ));
    }
    append(&access, &text);
    watch.wait_parsed(10);
    let (status, said) = watch.terminate();
    assert!(status.success(), "{status}: {said}");

    let watch = Watch::start(&args(&[&logs]), &state);
    let incidents = watch.incidents();
    let counted: u64 = incidents.iter().map(|i| i["count"].as_u64().unwrap()).sum();
    assert_eq!(counted, 5, "{incidents:#?}");
    let (status, said) = watch.terminate();
    assert!(status.success(), "{status}: {said}");
}

// ---------------------------------------------------------------------------------------
// The fleet: a real Alertmanager and Prometheus
// ---------------------------------------------------------------------------------------

#[test]
fn a_real_alertmanager_shows_the_alert_and_a_real_prometheus_scrapes_the_counts() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).unwrap();
    let access = logs.join("access.log");
    let (mut alertmanager, am_port) = start_alertmanager(dir.path());
    let am = format!("http://127.0.0.1:{am_port}");
    let mut watch = Watch::start(
        &args(&[&logs, &"--alertmanager", &am]),
        &dir.path().join("state"),
    );
    let (mut prometheus, prom_port) =
        start_prometheus(dir.path(), &format!("127.0.0.1:{}", watch.port));

    let mut text = String::new();
    for n in 0..20 {
        text.push_str(&line(now_ms(), n, 200, "/"));
    }
    text.push_str(&line(now_ms(), 20, 503, "/api"));
    text.push_str(&line(now_ms(), 21, 503, "/robots.txt"));
    text.push_str(&line(now_ms(), 22, 503, "/api"));
    append(&access, &text);
    watch.wait_parsed(23);

    let seen = wait("robots_txt_5xx active in Alertmanager", DEADLINE, || {
        alertmanager.assert_running();
        let alerts = alertmanager_alerts(am_port);
        let active = alerts.iter().any(|a| {
            a["labels"]["alertname"] == "robots_txt_5xx" && a["status"]["state"] == "active"
        });
        if active {
            Ok(alerts)
        } else {
            Err(format!("{alerts:#?}"))
        }
    });
    let robots: Vec<&Value> = seen
        .iter()
        .filter(|a| a["labels"]["alertname"] == "robots_txt_5xx")
        .collect();
    assert_eq!(robots.len(), 1, "{seen:#?}");
    assert_eq!(robots[0]["labels"]["severity"], "critical");
    assert!(
        robots[0]["annotations"]["summary"]
            .as_str()
            .is_some_and(|s| s.contains("robots.txt")),
        "{seen:#?}"
    );

    let query = r#"fivehundred_responses_total{code="503"}"#;
    let got = wait("Prometheus to scrape 3 503s", DEADLINE, || {
        prometheus.assert_running();
        let series = prometheus_query(prom_port, query);
        if series.len() == 1 && series[0].1 == "3" {
            Ok(series)
        } else {
            Err(format!("{series:?}"))
        }
    });
    assert_eq!(got[0].0["job"], "fivehundred", "{got:?}");
    let ok = prometheus_query(prom_port, r#"fivehundred_responses_total{code="200"}"#);
    assert_eq!(ok.len(), 1, "{ok:?}");
    assert_eq!(ok[0].1, "20");
    let (status, said) = watch.terminate();
    assert!(status.success(), "{status}: {said}");
}

// ---------------------------------------------------------------------------------------
// The config file
// ---------------------------------------------------------------------------------------

/// Exactly one non-empty line on stderr, an error naming `about`.
fn assert_one_line(stderr: &str, about: &str) {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line on stderr, got:\n{stderr}");
    assert!(lines[0].starts_with("fivehundred: error: "), "{stderr}");
    assert!(lines[0].contains(about), "{about:?} in {stderr}");
}

/// TOML's basic string for `p`.
fn toml_path(p: &Path) -> String {
    serde_json::to_string(p.to_str().unwrap()).unwrap()
}

#[test]
fn a_config_file_does_what_the_flags_do() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).unwrap();
    let access = logs.join("access.log");
    let state = dir.path().join("state");
    let hook = Receiver::start();
    let port = lab::free_port();
    let config = dir.path().join("watch.toml");
    fs::write(
        &config,
        format!(
            "paths = [{}]\nlisten = \"127.0.0.1:{port}\"\nstate = {}\nwebhook = [\"{}\"]\n\
             slo = 99.9\ntz = \"UTC\"\n",
            toml_path(&logs),
            toml_path(&state),
            hook.url()
        ),
    )
    .unwrap();
    let mut watch = Watch::start_raw(&args(&[&"--config", &config]), port);
    assert!(
        state.join("fivehundred.db").exists(),
        "the state is where the file says"
    );
    append(&access, &line(now_ms(), 1, 200, "/"));
    append(&access, &line(now_ms(), 2, 503, "/robots.txt"));
    hook.wait_count(1, DEADLINE);
    // `slo` from the file adds the burn-rate rule: one 5xx in two responses burns a 0.1%
    // budget 500 times over.
    hook.wait_count(2, DEADLINE);
    let m = watch.wait_parsed(2);
    assert_eq!(m.alerts("robots_txt_5xx"), 1, "{m:?}");
    assert_eq!(m.alerts("error_spike"), 1, "{m:?}");
    let (status, said) = watch.terminate();
    assert!(status.success(), "{status}: {said}");
    let bodies = hook.bodies();
    let mut got = kinds(&bodies);
    got.sort();
    assert_eq!(
        got,
        [
            pair("error_spike", "firing"),
            pair("robots_txt_5xx", "firing")
        ],
        "{bodies:#?}"
    );
    let burn = bodies.iter().find(|b| b["alert"] == "error_spike").unwrap();
    assert_eq!(burn["rule"], "slo_burn", "{burn:#}");
}

#[test]
fn a_bad_config_file_or_a_taken_port_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).unwrap();
    let state = dir.path().join("state");
    let base = format!(
        "paths = [{}]\nstate = {}\n",
        toml_path(&logs),
        toml_path(&state)
    );
    let cases = [
        // An unknown key (a typo of `webhook`).
        ("webhooks = [\"http://127.0.0.1:9/\"]\n", "webhooks"),
        // Bad values.
        ("listen = \"nowhere\"\n", "listen"),
        ("listen = 9500\n", "listen"),
        ("slo = 150.0\n", "slo"),
        ("webhook = [\"ftp://example.com/\"]\n", "ftp://example.com/"),
        ("tz = \"Mars/Olympus\"\n", "Mars/Olympus"),
        // Not TOML.
        ("paths = [\n", "watch.toml"),
    ];
    let config = dir.path().join("watch.toml");
    for (extra, about) in cases {
        fs::write(&config, format!("{base}{extra}")).unwrap();
        let (code, stderr) = run_to_exit(&args(&[&"--config", &config]));
        assert_eq!(code, Some(2), "{extra:?}: {stderr}");
        assert_one_line(&stderr, about);
    }
    let (code, stderr) = run_to_exit(&args(&[&"--config", &dir.path().join("missing.toml")]));
    assert_eq!(code, Some(2), "{stderr}");
    assert_one_line(&stderr, "missing.toml");

    // A port something else holds.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let (code, stderr) = run_to_exit(&args(&[&logs, &"--state", &state, &"--listen", &listen]));
    assert_eq!(code, Some(2), "{stderr}");
    assert_one_line(&stderr, &listen);
    // The same from the config file.
    fs::write(&config, format!("{base}listen = \"{listen}\"\n")).unwrap();
    let (code, stderr) = run_to_exit(&args(&[&"--config", &config]));
    assert_eq!(code, Some(2), "{stderr}");
    assert_one_line(&stderr, &listen);
    drop(taken);
}
