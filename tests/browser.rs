//! The HTML report and the live dashboard in a real browser: Debian's Chromium, headless,
//! driven by `tests/browser/inspect.mjs` (playwright-core). Log lines carry hostile paths and
//! user agents; scripts stay enabled in the browser, so anything the escaping let through
//! would really run.
//!
//! - `diagnose --format html`: no dialog, `window.__pwned` unset, no injected element, no
//!   console error, no request but the file itself, the CSP `<meta>` of the contract; the
//!   chart has one series per cause and its bars add up, per cause, to the JSON's incidents;
//!   the robots.txt timeline has one `.outage` per outage `seo` finds;
//! - `seo --format html`: the same safety, the outages, each crawler's row (requests, 429,
//!   5xx) and the hourly chart by class equal to the JSON's, and each outage's `.down` band as
//!   long as the outage on the time axis (a one-answer outage is a tick, not the whole bar);
//! - `watch`'s `/`: the same safety and the CSP header; after lines are appended, the page
//!   reloads itself (meta refresh, no script) until its chart shows the new count;
//! - the demo logs: the chart adds up;
//! - a big site's bad day (`examples/bigday.rs`: six vhosts, 100,000 requests, ~2,900 5xx):
//!   the overview figures, the rows by status class, cause and host and the chart equal the
//!   JSON's, the page stays small and inert, and `FIVEHUNDRED_SAVE_SCREENSHOT=1` saves the
//!   README's screenshot (`docs/report.png`) from it:
//!   `FIVEHUNDRED_SAVE_SCREENSHOT=1 cargo test --test browser big_day`.
//!
//! Screenshots go to `<target>/tmp/browser/`. Chromium comes from Debian and playwright-core
//! from `npm ci` in `tests/browser` (`scripts/test` installs both); without them the tests
//! fail saying so.
#[path = "../examples/bigday.rs"]
#[allow(dead_code)]
mod bigday;
mod lab;
#[allow(dead_code)] // watch_e2e's harness; only its `Watch` and helpers are used here
#[path = "watch_e2e/support.rs"]
mod support;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde::Deserialize;
use serde_json::{Value, json};
use support::{BIN, DEADLINE, Watch, append, now_ms, wait};

/// The `<meta>` CSP every report carries (the HTML contract).
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// What attackers put in request paths and user agents.
const HOSTILE: [&str; 3] = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "<svg onload=window.__pwned=1>",
];

// ---------------------------------------------------------------------------------------
// The browser
// ---------------------------------------------------------------------------------------

/// What `inspect.mjs` saw of a page (its DOM now, and everything since launch).
#[derive(Debug, Deserialize)]
struct Page {
    url: String,
    csp_meta: Option<String>,
    csp_header: Option<String>,
    pwned: bool,
    chart: bool,
    series: usize,
    bars: Vec<Bar>,
    verdict: Option<String>,
    status_mix: Option<String>,
    crawlers_panel: bool,
    outages: usize,
    #[serde(default)]
    timeline: Option<Timeline>,
    #[serde(default)]
    incidents: usize,
    /// `#overview`'s figures as shown, by their `data-figure`.
    #[serde(default)]
    figures: BTreeMap<String, String>,
    /// The rows of the report's tables that carry a `data-count`.
    #[serde(default)]
    rows: Vec<Row>,
    body_text: String,
    active_elements: Vec<String>,
    console_errors: Vec<String>,
    requests: Vec<String>,
    dialogs: Vec<String>,
    timed_out: bool,
}

/// A table row of the report: its section, key (`data-row`, where it has one), count and the
/// text of its cells.
#[derive(Debug, Deserialize)]
struct Row {
    section: String,
    key: Option<String>,
    count: u64,
    /// The first numeric cell's text: the count as shown.
    shown: Option<String>,
    cells: Vec<String>,
}

/// `#robots-timeline`: its axis and each outage's band as laid out.
#[derive(Debug, Deserialize)]
struct Timeline {
    from_ms: i64,
    to_ms: i64,
    outages: Vec<OutageBand>,
}

#[derive(Debug, Deserialize)]
struct OutageBand {
    start_ms: i64,
    end_ms: i64,
    tick: bool,
    track_px: f64,
    left_px: f64,
    width_px: f64,
}

/// One `rect.bar` of the chart.
#[derive(Debug, Deserialize)]
struct Bar {
    cause: Option<String>,
    count: u64,
}

impl Page {
    /// The chart's bar counts summed per series' cause.
    fn chart_by_cause(&self) -> BTreeMap<String, u64> {
        let mut by = BTreeMap::new();
        for b in &self.bars {
            let cause = b.cause.clone().unwrap_or_else(|| "(no series)".into());
            *by.entry(cause).or_default() += b.count;
        }
        by
    }

    fn chart_total(&self) -> u64 {
        self.bars.iter().map(|b| b.count).sum()
    }
}

/// Chromium under playwright-core, one page open across commands.
struct Browser {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Browser {
    /// Starts `node inspect.mjs`; fails clearly when Chromium or playwright-core is missing.
    fn launch() -> Browser {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
        assert!(
            dir.join("node_modules/playwright-core").is_dir(),
            "playwright-core is not installed: run `npm ci` in {} (bash scripts/test does)",
            dir.display()
        );
        let chromium =
            std::env::var_os("FIVEHUNDRED_CHROMIUM").unwrap_or("/usr/bin/chromium".into());
        assert!(
            Path::new(&chromium).exists(),
            "Chromium not found at {}: install Debian's `chromium` (bash scripts/test does) or set FIVEHUNDRED_CHROMIUM",
            Path::new(&chromium).display()
        );
        let mut child = Command::new("node")
            .arg(dir.join("inspect.mjs"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run node (nodejs is needed for the browser tests)");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Browser {
            child,
            stdin,
            stdout,
        }
    }

    /// Sends one command and reads its answer; an `error`/`fatal` answer fails the test.
    fn send(&mut self, cmd: Value) -> Page {
        writeln!(self.stdin, "{cmd}").expect("write to inspect.mjs");
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read inspect.mjs");
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("inspect.mjs answered {line:?} to {cmd}: {e}"));
        if let Some(e) = v.get("fatal").or(v.get("error")) {
            panic!(
                "inspect.mjs failed on {cmd}: {}",
                e.as_str().unwrap_or_default()
            );
        }
        serde_json::from_value(v).expect("inspect.mjs's answer has every field")
    }

    /// Opens `url` and screenshots the whole page to `shot`.
    fn open(&mut self, url: &str, shot: &Path) -> Page {
        self.send(json!({"open": url, "screenshot": shot}))
    }

    /// Waits, without reloading it, until the page reloaded itself and its chart adds up to
    /// `chart_total` (when given) and its `#status-mix` shows every number of `status_mix`.
    fn await_reload(&mut self, chart_total: Option<u64>, status_mix: &[u64], shot: &Path) -> Page {
        let numbers: Vec<String> = status_mix.iter().map(u64::to_string).collect();
        self.send(json!({
            "await_sum": chart_total,
            "await_status_mix": numbers,
            "timeout_ms": DEADLINE.as_millis() as u64,
            "screenshot": shot,
        }))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where this run's screenshots go (kept after the test, unlike its temp dir).
fn shot(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{name}.png"));
    eprintln!("screenshot: {}", p.display());
    p
}

// ---------------------------------------------------------------------------------------
// Assertions
// ---------------------------------------------------------------------------------------

/// Nothing ran and nothing was fetched: no dialog, no `__pwned`, no element or handler that
/// only injected markup brings, no console error (CSP violations are reported there), and no
/// request but for `url` itself.
fn assert_inert(page: &Page, url: &str) {
    assert!(
        page.dialogs.is_empty(),
        "a dialog opened: {:?}",
        page.dialogs
    );
    assert!(
        !page.pwned,
        "window.__pwned is set: an injected handler ran"
    );
    assert!(
        page.active_elements.is_empty(),
        "injected elements: {:?}",
        page.active_elements
    );
    assert!(
        page.console_errors.is_empty(),
        "console errors: {:?}",
        page.console_errors
    );
    let other: Vec<&String> = page.requests.iter().filter(|r| *r != url).collect();
    assert!(other.is_empty(), "requests besides {url}: {other:?}");
    assert_eq!(page.url, url);
}

/// The hostile strings are shown as text: escaped, not dropped.
fn assert_shows_hostile_text(page: &Page) {
    assert!(
        HOSTILE.iter().any(|h| page.body_text.contains(h)),
        "no hostile string shown as text in: {}",
        page.body_text
    );
}

/// One series per cause, and per cause the bars add up to its incidents' counts.
fn assert_chart(page: &Page, by_cause: &BTreeMap<String, u64>) {
    assert_eq!(
        page.series,
        by_cause.len(),
        "one g.series per cause {by_cause:?}; bars {:?}",
        page.bars
    );
    assert!(page.bars.iter().all(|b| b.count > 0), "{:?}", page.bars);
    assert_eq!(&page.chart_by_cause(), by_cause, "bars per cause");
}

/// Sum of `count` per `cause` over incidents (a `diagnose` report's or `/api/incidents`).
fn counts_by_cause(incidents: &[Value]) -> BTreeMap<String, u64> {
    let mut by = BTreeMap::new();
    for i in incidents {
        let cause = i["cause"].as_str().expect("cause").to_string();
        *by.entry(cause).or_default() += i["count"].as_u64().expect("count");
    }
    by
}

// ---------------------------------------------------------------------------------------
// Logs and the binary
// ---------------------------------------------------------------------------------------

/// One `combined` access-log line at `ms`, in the machine's zone like the error log's.
fn access_line(ms: i64, status: u16, path: &str, agent: &str) -> String {
    let t = zoned(ms);
    // nginx writes a `"` of the request or agent as \x22.
    let (path, agent) = (path.replace('"', "\\x22"), agent.replace('"', "\\x22"));
    format!(
        "203.0.113.7 - - [{}] \"GET {path} HTTP/1.1\" {status} 157 \"-\" \"{agent}\"\n",
        t.strftime("%d/%b/%Y:%H:%M:%S %z")
    )
}

/// One nginx `error.log` line at `ms` about a request for `path`.
fn error_line(ms: i64, message: &str, path: &str) -> String {
    format!(
        "{} [error] 7339#7339: *1 {message}, client: 203.0.113.7, server: localhost, \
         request: \"GET {} HTTP/1.1\", upstream: \"fastcgi://unix:/run/php/php8.2-fpm.sock:\", \
         host: \"localhost\"\n",
        zoned(ms).strftime("%Y/%m/%d %H:%M:%S"),
        path.replace('"', "\\x22"),
    )
}

fn zoned(ms: i64) -> jiff::ZonedDateTime {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap()
        .to_zoned_datetime(jiff::tz::TimeZone::system())
}

/// Logs of `rounds` minutes from `start_ms`: each minute, healthy traffic, a 502 with the
/// PHP-FPM socket gone, a 504 timed out, a 500 nothing explains, and (every other minute) a
/// 503 to Googlebot on /robots.txt; paths and agents hostile. Returns (access, error, 5xx).
fn hostile_logs(start_ms: i64, rounds: i64) -> (String, String, u64) {
    let (mut access, mut error, mut errors) = (String::new(), String::new(), 0);
    for r in 0..rounds {
        let t = start_ms + r * 60_000;
        let [script, img, svg] = HOSTILE;
        let bot = format!(
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html){svg}"
        );
        access += &access_line(t, 200, &format!("/ok{svg}"), img);
        access += &access_line(t, 200, "/robots.txt", &bot);
        access += &access_line(t + 1000, 502, &format!("/a{script}"), img);
        error += &error_line(
            t + 1000,
            "connect() to unix:/run/php/php8.2-fpm.sock failed (2: No such file or directory) while connecting to upstream",
            &format!("/a{script}"),
        );
        access += &access_line(t + 2000, 504, &format!("/b{img}"), script);
        error += &error_line(
            t + 2000,
            "upstream timed out (110: Connection timed out) while reading response header from upstream",
            &format!("/b{img}"),
        );
        access += &access_line(t + 3000, 500, &format!("/c{svg}"), &bot);
        errors += 3;
        if r % 2 == 0 {
            access += &access_line(t + 4000, 503, "/robots.txt", &bot);
            access += &access_line(t + 5000, 200, "/robots.txt", &bot);
            errors += 1;
        }
    }
    (access, error, errors)
}

/// Writes `access.log` and `error.log` under `root`, in a directory whose path is hostile too
/// (`<script>alert(1)</script>`: the `/` makes it two levels); returns that directory.
fn write_logs(root: &Path, (access, error, _): &(String, String, u64)) -> PathBuf {
    let dir = root.join(HOSTILE[0]);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("access.log"), access).unwrap();
    std::fs::write(dir.join("error.log"), error).unwrap();
    dir
}

/// Runs the binary; returns exit code, stdout and stderr.
fn run(args: &[OsString]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run fivehundred");
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    (
        out.status.code().unwrap_or(-1),
        text(out.stdout),
        text(out.stderr),
    )
}

/// `fivehundred CMD --format json PATH`, parsed.
fn json_of(cmd: &str, path: &Path) -> Value {
    let args: [OsString; 4] = [cmd.into(), "--format".into(), "json".into(), path.into()];
    let (code, out, err) = run(&args);
    assert!(code == 0 || code == 1, "{cmd} exit {code}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{cmd} JSON: {e}: {out}"))
}

/// `fivehundred CMD --format html -o OUT PATH`; `None` when the command refuses html.
fn html_of(cmd: &str, path: &Path, out_file: &Path) -> Option<String> {
    let args: [OsString; 6] = [
        cmd.into(),
        "--format".into(),
        "html".into(),
        "-o".into(),
        out_file.into(),
        path.into(),
    ];
    let (code, _, err) = run(&args);
    if code == 2 && err.contains("html") && !out_file.exists() {
        return None;
    }
    assert!(
        code == 0 || code == 1,
        "{cmd} --format html exit {code}: {err}"
    );
    Some(format!("file://{}", out_file.display()))
}

/// Opens a report file and checks what every report must be: inert, self-contained, with
/// the contract's CSP `<meta>`.
fn open_report(browser: &mut Browser, url: &str, name: &str) -> Page {
    let page = browser.open(url, &shot(name));
    assert_inert(&page, url);
    assert_eq!(
        page.csp_meta.as_deref(),
        Some(CSP),
        "the report's CSP <meta>"
    );
    page
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

/// 2026-11-25 10:00 UTC: a fixed day for the file reports.
const DAY_MS: i64 = 1_795_600_800_000;

#[test]
fn diagnose_report_is_inert_and_its_chart_adds_up() {
    let dir = tempfile::tempdir().unwrap();
    let logs = hostile_logs(DAY_MS, 12);
    let logs_dir = write_logs(dir.path(), &logs);
    let report = json_of("diagnose", &logs_dir);
    assert_eq!(report["summary"]["server_errors"].as_u64(), Some(logs.2));
    let by_cause = counts_by_cause(report["incidents"].as_array().unwrap());
    let outages = json_of("seo", &logs_dir)["robots_txt"]["outages"]
        .as_array()
        .unwrap()
        .len();

    let out = dir.path().join("report.html");
    let url = html_of("diagnose", &logs_dir, &out).expect("diagnose --format html");
    let mut browser = Browser::launch();
    let page = open_report(&mut browser, &url, "diagnose-hostile");
    assert_shows_hostile_text(&page);
    assert_chart(&page, &by_cause);
    assert_eq!(
        page.chart_total(),
        logs.2,
        "bars add up to summary.server_errors"
    );
    assert!(
        page.verdict.is_some_and(|v| !v.trim().is_empty()),
        "#verdict"
    );
    assert!(page.crawlers_panel, "#crawlers");
    assert_eq!(page.outages, outages, "one .outage per robots.txt outage");
}

#[test]
fn seo_report_is_inert_and_shows_the_outages() {
    let dir = tempfile::tempdir().unwrap();
    let logs_dir = write_logs(dir.path(), &hostile_logs(DAY_MS, 12));
    let seo = json_of("seo", &logs_dir);
    let out = dir.path().join("seo.html");
    let Some(url) = html_of("seo", &logs_dir, &out) else {
        eprintln!("note: `seo --format html` is refused by this build; nothing to open");
        return;
    };
    let mut browser = Browser::launch();
    let page = open_report(&mut browser, &url, "seo-hostile");
    assert!(page.crawlers_panel, "#crawlers");
    let outages = seo["robots_txt"]["outages"].as_array().unwrap();
    assert!(!outages.is_empty());
    assert_eq!(
        page.outages,
        outages.len(),
        "one .outage per robots.txt outage"
    );
    assert_seo_figures(&page, &seo);
    assert_outage_bands(&page, outages);
}

/// Each crawler's row shows the JSON's requests, 429 and 5xx; the hourly chart's bars add up,
/// per class, to `crawler_requests_by_hour`.
fn assert_seo_figures(page: &Page, seo: &Value) {
    for (name, c) in seo["crawlers"].as_object().unwrap() {
        let row = page
            .rows
            .iter()
            .find(|r| r.key.as_deref() == Some(&format!("crawler:{name}")));
        let requests = c["requests"].as_u64().unwrap();
        let Some(row) = row else {
            assert_eq!(requests, 0, "{name} has requests but no row");
            continue;
        };
        assert_eq!(
            (row.section.as_str(), row.count),
            ("crawlers", requests),
            "{name}"
        );
        assert_eq!(
            row.shown.as_deref(),
            Some(requests.to_string().as_str()),
            "{name}"
        );
        assert_eq!(
            row.cells[5],
            c["rate_limited"].to_string(),
            "{name}: 429 cell"
        );
        assert_eq!(
            row.cells[6],
            c["server_errors"].to_string(),
            "{name}: 5xx cell"
        );
    }
    let mut by_class: BTreeMap<String, u64> = BTreeMap::new();
    for h in seo["crawler_requests_by_hour"].as_array().unwrap() {
        for class in ["2xx", "3xx", "4xx", "429", "5xx"] {
            let n = h[class].as_u64().unwrap();
            if n > 0 {
                *by_class.entry(class.to_owned()).or_default() += n;
            }
        }
    }
    assert!(!by_class.is_empty());
    assert_chart(page, &by_class);
}

/// On the timeline's axis each outage's band starts at its start and is as long as it lasted
/// (at least the 2 px a tick is); an outage of one answer is a tick, not the whole track.
fn assert_outage_bands(page: &Page, outages: &[Value]) {
    let t = page.timeline.as_ref().expect("#robots-timeline");
    assert_eq!(t.outages.len(), outages.len());
    let span = (t.to_ms - t.from_ms) as f64;
    for (band, o) in t.outages.iter().zip(outages) {
        let (start, end) = (time_ms(&o["start"]), time_ms(&o["end"]));
        assert_eq!((band.start_ms, band.end_ms), (start, end));
        let px = |ms: i64| (ms - t.from_ms) as f64 / span * band.track_px;
        assert!((band.left_px - px(start)).abs() <= 1.5, "{band:?} on {t:?}");
        let width = (px(end) - px(start)).max(2.0);
        assert!(
            (band.width_px - width).abs() <= 1.5,
            "{band:?}: {width} px wanted"
        );
        assert_eq!(band.tick, start == end, "{band:?}");
        if start == end {
            assert!(
                band.width_px <= 3.0,
                "a 0-second outage is a tick: {band:?}"
            );
        }
    }
}

/// An RFC 3339 time of a report, in ms.
fn time_ms(v: &Value) -> i64 {
    let t: jiff::Timestamp = v.as_str().unwrap().parse().unwrap();
    t.as_millisecond()
}

#[test]
fn watch_dashboard_is_inert_and_refreshes_itself() {
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let start = now_ms() - 10 * 60_000;
    let logs = hostile_logs(start, 4);
    let logs_dir = write_logs(dir.path(), &logs);
    let watch = Watch::start(&[logs_dir.clone().into()], state.path());
    let by_cause = wait_incidents(&watch, logs.2);

    let (mut browser, url, page) = open_dashboard(&watch, "watch-hostile");
    assert_shows_hostile_text(&page);
    assert_chart(&page, &by_cause);
    let requests = |logs: &(String, String, u64)| logs.0.lines().count() as u64;
    let mix = page.status_mix.clone().unwrap_or_default();
    let numbers: Vec<&str> = mix.split(|c: char| !c.is_ascii_digit()).collect();
    for n in [logs.2, requests(&logs)] {
        assert!(
            numbers.contains(&n.to_string().as_str()),
            "#status-mix lacks {n}: {mix}"
        );
    }

    // Six more minutes of the same, up to now: the open page must catch up by itself.
    let more = hostile_logs(start + 4 * 60_000, 6);
    append(&logs_dir.join("access.log"), &more.0);
    append(&logs_dir.join("error.log"), &more.1);
    let (total, all) = (logs.2 + more.2, requests(&logs) + requests(&more));
    let by_cause = wait_incidents(&watch, total);
    let page = browser.await_reload(
        page.chart.then_some(total),
        &[total, all],
        &shot("watch-refreshed"),
    );
    assert!(
        !page.timed_out,
        "the page did not reload itself to show {total} of {all} responses 5xx within \
         {DEADLINE:?}; #status-mix: {:?}, chart total {}",
        page.status_mix,
        page.chart_total()
    );
    assert_inert(&page, &url);
    assert_chart(&page, &by_cause);
}

/// Polls `/api/incidents` until its counts add up to `total`; returns them per cause.
fn wait_incidents(watch: &Watch, total: u64) -> BTreeMap<String, u64> {
    wait("watch's incidents to count every 5xx", DEADLINE, || {
        let by = counts_by_cause(&watch.incidents());
        let sum: u64 = by.values().sum();
        if sum == total {
            Ok(by)
        } else {
            Err(format!("{sum} of {total}: {by:?}"))
        }
    })
}

#[test]
fn demo_report_chart_adds_up() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo");
    let dir = tempfile::tempdir().unwrap();
    let report = json_of("diagnose", &demo);
    let by_cause = counts_by_cause(report["incidents"].as_array().unwrap());
    let out = dir.path().join("demo.html");
    let url = html_of("diagnose", &demo, &out).expect("diagnose --format html");
    let mut browser = Browser::launch();
    let page = open_report(&mut browser, &url, "demo");
    assert_chart(&page, &by_cause);
    assert_eq!(
        Some(page.chart_total()),
        report["summary"]["server_errors"].as_u64()
    );
}

/// A count as the report shows it (`100,000`), read back.
fn shown_number(text: &str) -> Option<u64> {
    let digits: String = text.chars().filter(|c| *c != ',').collect();
    digits.trim().parse().ok()
}

#[test]
fn big_day_report_matches_the_json_and_makes_the_readme_screenshot() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let day = bigday::generate(19, &logs).expect("generate the day");
    let with = |cmd: &str, more: &[&str]| -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![cmd.into(), "--tz".into(), "UTC".into()];
        args.extend(more.iter().map(OsString::from));
        args.push(logs.clone().into());
        args
    };
    let json = |cmd: &str| -> Value {
        let (code, out, err) = run(&with(cmd, &["--format", "json"]));
        assert_eq!(code, 1, "{cmd}: {err}");
        serde_json::from_str(&out).unwrap()
    };
    let (report, seo) = (json("diagnose"), json("seo"));
    let out = dir.path().join("day.html");
    let (code, _, err) = run(&with(
        "diagnose",
        &["--format", "html", "-o", out.to_str().unwrap()],
    ));
    assert_eq!(code, 1, "{err}");
    let size = std::fs::metadata(&out).unwrap().len();
    assert!(size < 200_000, "the big day's page is {size} bytes");
    let url = format!("file://{}", out.display());
    let mut browser = Browser::launch();
    let page = open_report(&mut browser, &url, "big-day");

    // The overview figures are the JSON's (and the generator's).
    let s = &report["summary"];
    let incidents = report["incidents"].as_array().unwrap();
    let crawler_errors: u64 = seo["crawlers"]
        .as_object()
        .unwrap()
        .values()
        .map(|c| c["server_errors"].as_u64().unwrap())
        .sum();
    assert_eq!(crawler_errors, day.crawler_errors);
    let hosts: std::collections::BTreeSet<&str> = incidents
        .iter()
        .filter_map(|i| i["host"].as_str())
        .collect();
    let figure = |name: &str| page.figures.get(name).and_then(|t| shown_number(t));
    assert_eq!(
        figure("requests"),
        s["requests"].as_u64(),
        "{:?}",
        page.figures
    );
    assert_eq!(figure("server_errors"), s["server_errors"].as_u64());
    assert_eq!(figure("incidents"), Some(incidents.len() as u64));
    assert_eq!(figure("hosts"), Some(hosts.len() as u64));
    assert_eq!(figure("crawler_errors"), Some(crawler_errors));
    assert!(
        page.figures["span"].contains("2026-11-25"),
        "{:?}",
        page.figures
    );

    // Every row's shown count is its data-count, and those are the JSON's.
    let rows = |section: &str| -> Vec<&Row> {
        page.rows.iter().filter(|r| r.section == section).collect()
    };
    for r in &page.rows {
        assert_eq!(
            r.shown.as_deref().and_then(shown_number),
            Some(r.count),
            "{r:?}"
        );
    }
    let classes: BTreeMap<String, u64> = rows("status-mix")
        .iter()
        .filter_map(|r| Some((r.key.clone()?, r.count)))
        .collect();
    for (class, n) in s["by_class"].as_object().unwrap() {
        assert_eq!(classes.get(class).copied(), n.as_u64(), "{class}");
    }
    for (status, n) in s["by_status"].as_object().unwrap() {
        assert_eq!(classes.get(status).copied(), n.as_u64(), "{status}");
    }
    let by_cause = counts_by_cause(incidents);
    let causes: BTreeMap<String, u64> = rows("causes")
        .iter()
        .filter_map(|r| Some((r.key.clone()?, r.count)))
        .collect();
    assert_eq!(causes, by_cause);
    let mut by_host: BTreeMap<String, u64> = BTreeMap::new();
    for i in incidents {
        *by_host
            .entry(i["host"].as_str().unwrap().to_owned())
            .or_default() += i["count"].as_u64().unwrap();
    }
    let host_rows: BTreeMap<String, u64> = rows("hosts")
        .iter()
        .map(|r| (r.cells[0].clone(), r.count))
        .collect();
    assert_eq!(host_rows, by_host);
    // Each host's requests, as the JSON's `requests_by_host` (grouped by thousands).
    let requests: BTreeMap<String, String> = s["requests_by_host"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let n = h["requests"].as_u64().unwrap();
            let grouped = format!("{},{:03}", n / 1000, n % 1000);
            (h["host"].as_str().unwrap().to_owned(), grouped)
        })
        .collect();
    let shown: BTreeMap<String, String> = rows("hosts")
        .iter()
        .map(|r| (r.cells[0].clone(), r.cells[3].clone()))
        .collect();
    assert_eq!(shown, requests);
    let top: Vec<(String, u64)> = rows("top-paths")
        .iter()
        .map(|r| (r.cells[0].clone(), r.count))
        .collect();
    let json_top: Vec<(String, u64)> = s["top_paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let host = p["host"].as_str().unwrap();
            (
                format!("{host}{}", p["path"].as_str().unwrap()),
                p["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(top, json_top);
    let timed: BTreeMap<String, u64> = rows("response-times")
        .iter()
        .filter_map(|r| Some((r.key.clone()?, r.count)))
        .collect();
    let json_timed: BTreeMap<String, u64> = s["response_times"]
        .as_object()
        .expect("the day's lines end with $request_time")
        .iter()
        .map(|(class, p)| (class.clone(), p["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(timed, json_timed);
    assert_eq!(json_timed.values().sum::<u64>(), day.requests);
    assert_chart(&page, &by_cause);
    assert_eq!(page.incidents, incidents.len().min(50));

    if std::env::var_os("FIVEHUNDRED_SAVE_SCREENSHOT").is_some() {
        let png = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.png");
        browser.send(json!({"open": url, "screenshot": png, "full_page": false}));
        let size = std::fs::metadata(&png).unwrap().len();
        assert!(size < 300_000, "{} is {size} bytes", png.display());
        eprintln!("saved {}", png.display());
    }
}

/// The day's access and error logs as one stream in time order, an error record (with its
/// continuation lines) ahead of the access lines of its second: what the official nginx image
/// writes to its stdout. `watch` reads it as the requests came; two separate history files
/// it would read one after the other on a first start, explaining the first file's 5xx
/// before it has read the second.
fn one_stream(access: &str, error: &str) -> String {
    let mut records: Vec<(String, u8, String)> = Vec::new();
    for line in error.lines() {
        match jiff::civil::DateTime::strptime("%Y/%m/%d %H:%M:%S", line.get(..19).unwrap_or("")) {
            Ok(t) => records.push((t.to_string(), 0, format!("{line}\n"))),
            Err(_) => records.last_mut().expect("a record first").2 += &format!("{line}\n"),
        }
    }
    for line in access.lines() {
        let at = line.split_once('[').and_then(|(_, rest)| rest.get(..20));
        let t = jiff::civil::DateTime::strptime("%d/%b/%Y:%H:%M:%S", at.unwrap_or(""))
            .unwrap_or_else(|e| panic!("{line}: {e}"));
        records.push((t.to_string(), 1, format!("{line}\n")));
    }
    records.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    records.into_iter().map(|r| r.2).collect()
}

/// `GET path` on `watch`, as JSON.
fn api(watch: &Watch, path: &str) -> Value {
    let r = watch.get(path);
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    serde_json::from_str(&r.body).unwrap()
}

/// `/api/history`'s 5xx per cause, over its minutes.
fn history_by_cause(history: &Value) -> BTreeMap<String, u64> {
    let mut by = BTreeMap::new();
    for minute in history["minutes"].as_array().expect("minutes") {
        for (cause, n) in minute["cause"].as_object().expect("cause") {
            *by.entry(cause.clone()).or_default() += n.as_u64().unwrap();
        }
    }
    by
}

/// `watch`'s `/` on a big site's bad day (`examples/bigday.rs`): the overview figures and
/// the top failing paths are `/api/overview`'s, the chart's bars per cause `/api/history`'s
/// and the incidents', nothing runs, and `FIVEHUNDRED_SAVE_SCREENSHOT=1` saves
/// `docs/dashboard.png` (`FIVEHUNDRED_SAVE_SCREENSHOT=1 cargo test --test browser big_day`).
#[test]
fn watch_dashboard_on_a_big_day_shows_the_apis_figures_and_makes_its_screenshot() {
    let dir = tempfile::tempdir().unwrap();
    let day_dir = dir.path().join("day");
    let day = bigday::generate(19, &day_dir).unwrap();
    let stream = dir.path().join("stream");
    std::fs::create_dir(&stream).unwrap();
    let read = |name: &str| std::fs::read_to_string(day_dir.join(name)).unwrap();
    std::fs::write(
        stream.join("nginx.log"),
        one_stream(&read("access.log"), &read("error.log")),
    )
    .unwrap();
    let state = dir.path().join("state");
    let watch = Watch::start(&[stream.into(), "--tz".into(), "UTC".into()], &state);
    let by_cause = wait_incidents(&watch, day.server_errors);
    let overview = wait("the overview to count the whole day", DEADLINE, || {
        let o = api(&watch, "/api/overview");
        let history = history_by_cause(&api(&watch, "/api/history"));
        if o["requests"] == day.requests && history == by_cause {
            Ok(o)
        } else {
            Err(format!("{o} / {history:?}"))
        }
    });
    assert_eq!(overview["server_errors"], day.server_errors);
    assert_eq!(overview["hosts"], bigday::HOSTS.len());
    assert_eq!(overview["first_line"], "2026-11-25T00:00:00+00:00");

    // The page of a big day stays small: top paths and open incidents, not every 5xx.
    let size = watch.get("/").body.len();
    assert!(size < 100_000, "the dashboard is {size} bytes");

    let (mut browser, url, page) = open_dashboard(&watch, "watch-bigday");
    // Each figure's value as shown (digits grouped or not) is the API's.
    let shown = |name: &str| page.figures.get(name).map(|t| t.replace(',', ""));
    let crawled: u64 = overview["crawlers"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    let span = format!(
        "{} … {}",
        overview["first_line"].as_str().unwrap(),
        overview["last_line"].as_str().unwrap()
    );
    for (name, want) in [
        ("requests", overview["requests"].to_string()),
        ("server_errors", overview["server_errors"].to_string()),
        ("incidents", overview["incidents"].to_string()),
        ("hosts", overview["hosts"].to_string()),
        ("span", span),
        ("crawler_errors", crawled.to_string()),
    ] {
        assert_eq!(shown(name), Some(want), "{name}: {:?}", page.figures);
    }
    assert_eq!(page.figures.len(), 6, "{:?}", page.figures);
    let crawlers = page.body_text.clone();
    for (crawler, n) in overview["crawlers"].as_object().unwrap() {
        assert!(
            crawlers.contains(&format!("{crawler} {n}")),
            "{crawler} {n}"
        );
    }
    // The top paths: path and count as `/api/overview` gives them, most first.
    let rows: Vec<(String, u64)> = page
        .rows
        .iter()
        .filter(|r| r.section == "top-paths")
        .map(|r| (r.cells[0].clone(), r.count))
        .collect();
    let top: Vec<(String, u64)> = overview["top_paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["path"].as_str().unwrap().to_owned(),
                p["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(top.len(), 10);
    assert_eq!(rows, top, "#top-paths");
    assert_eq!(
        Some(page.incidents as u64),
        overview["open_incidents"].as_u64(),
        "one box per open incident"
    );
    for r in page.rows.iter().filter(|r| r.section == "top-paths") {
        assert!(
            r.key.is_none(),
            "a path from the logs is kept out of attributes"
        );
        assert_eq!(
            r.shown.as_deref().map(|s| s.replace(',', "")),
            Some(r.count.to_string())
        );
    }
    assert_chart(&page, &by_cause);
    assert_eq!(
        page.chart_total(),
        day.server_errors,
        "bars add up to every 5xx"
    );

    if std::env::var_os("FIVEHUNDRED_SAVE_SCREENSHOT").is_some() {
        let png = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/dashboard.png");
        browser.send(json!({"open": url, "screenshot": png, "full_page": false}));
        let size = std::fs::metadata(&png).unwrap().len();
        assert!(size < 300_000, "{} is {size} bytes", png.display());
        eprintln!("saved {}", png.display());
    }
}

/// `watch`'s dashboard in a browser (kept for reloads), its URL and the page as first shown:
/// inert, and served with the CSP header.
fn open_dashboard(watch: &Watch, name: &str) -> (Browser, String, Page) {
    let url = format!("http://127.0.0.1:{}/", watch.port);
    let mut browser = Browser::launch();
    let page = browser.open(&url, &shot(name));
    assert_inert(&page, &url);
    assert!(
        page.csp_header
            .as_deref()
            .is_some_and(|h| h.starts_with(CSP)),
        "the dashboard's CSP header: {:?}",
        page.csp_header
    );
    (browser, url, page)
}
