//! Issue 19 on a big site's bad day (`examples/bigday.rs`: six vhosts, 100,000 requests, about
//! 2,900 5xx over some 300 paths): one incident per (host, cause, place), the JSON's figures
//! equal to what was generated, and a text report a person reads on one screen or two.

#[path = "../examples/bigday.rs"]
#[allow(dead_code)]
mod bigday;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn fivehundred(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .args(args)
        .args(["--tz", "UTC"])
        .arg(dir.join("access.log"))
        .arg(dir.join("error.log"))
        .output()
        .expect("run fivehundred")
}

fn json(dir: &Path) -> Value {
    let out = fivehundred(&["diagnose", "--format", "json"], dir);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

fn day() -> (tempfile::TempDir, bigday::Day) {
    let dir = tempfile::tempdir().unwrap();
    let day = bigday::generate(19, dir.path()).expect("generate the day");
    (dir, day)
}

#[test]
fn the_generator_gives_the_same_day_for_the_same_seed() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (da, db) = (
        bigday::generate(19, a.path()).unwrap(),
        bigday::generate(19, b.path()).unwrap(),
    );
    assert_eq!(da, db);
    for f in ["access.log", "error.log"] {
        let same =
            std::fs::read(a.path().join(f)).unwrap() == std::fs::read(b.path().join(f)).unwrap();
        assert!(same, "{f} differs between two runs with seed 19");
    }
    assert!(
        da.server_errors > 2_000 && da.by_cause.iter().all(|&n| n > 0),
        "{da:?}"
    );
}

#[test]
fn one_incident_per_host_cause_and_place_with_the_figures_generated() {
    let (dir, day) = day();
    let r = json(dir.path());
    let s = &r["summary"];
    assert_eq!(s["requests"], day.requests);
    assert_eq!(s["server_errors"], day.server_errors);
    for (class, n) in ["1xx", "2xx", "3xx", "4xx", "5xx"].iter().zip(day.by_class) {
        assert_eq!(s["by_class"][class], n, "{class}");
    }
    // Every line names its vhost: the requests of each, the most first.
    let by_host: Vec<(String, u64)> = s["requests_by_host"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["host"].as_str().unwrap().to_owned(),
                h["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut want: Vec<(String, u64)> = bigday::HOSTS
        .iter()
        .zip(day.requests_by_host)
        .map(|((host, _), n)| (host.to_string(), n))
        .collect();
    want.sort_by_key(|h| std::cmp::Reverse(h.1));
    assert_eq!(by_host, want);
    // Every line ends with $request_time: the 504s waited a minute for the API.
    let times = &s["response_times"];
    for (class, n) in ["2xx", "3xx", "4xx", "5xx"].iter().zip(&day.by_class[1..]) {
        assert_eq!(times[class]["count"], *n, "{class}");
    }
    let p99 = times["5xx"]["p99_ms"].as_f64().unwrap();
    assert!((55_000.0..66_000.0).contains(&p99), "5xx p99 {p99} ms");
    let incidents = r["incidents"].as_array().unwrap();
    let count = |i: &Value| i["count"].as_u64().unwrap();
    assert_eq!(incidents.iter().map(count).sum::<u64>(), day.server_errors);
    for (cause, n) in bigday::CAUSES.iter().zip(day.by_cause) {
        let got: u64 = incidents
            .iter()
            .filter(|i| i["cause"] == *cause)
            .map(count)
            .sum();
        assert_eq!(got, n, "{cause}");
    }
    for ((host, _), n) in bigday::HOSTS.iter().zip(day.by_host) {
        let got: u64 = incidents
            .iter()
            .filter(|i| i["host"] == *host)
            .map(count)
            .sum();
        assert_eq!(got, n, "{host}");
    }
    // The price formatter's failure on a few hundred product pages is one incident, its paths
    // bounded, counted and listed with their counts.
    let shop: Vec<&Value> = incidents
        .iter()
        .filter(|i| i["cause"] == "php_uncaught_exception")
        .collect();
    assert_eq!(shop.len(), 1);
    let shop = shop[0];
    assert_eq!(shop["host"], "shop.example.com");
    assert!(
        shop["distinct_paths"].as_u64().unwrap() > 200,
        "{}",
        shop["distinct_paths"]
    );
    assert_eq!(shop["paths"].as_array().unwrap().len(), 20);
    let top = shop["top_paths"].as_array().unwrap();
    assert_eq!(top.len(), 10);
    assert_eq!(top[0]["path"], shop["paths"][0]);
    assert!(
        top.windows(2)
            .all(|w| w[0]["count"].as_u64() >= w[1]["count"].as_u64())
    );
    // The database outage on two vhosts is two incidents, one per host.
    let db: Vec<&str> = incidents
        .iter()
        .filter(|i| i["cause"] == "db_unreachable")
        .map(|i| i["host"].as_str().unwrap())
        .collect();
    assert_eq!(db, ["www.example.com", "blog.example.com"]);
    // The summary's top paths are (host, path) pairs, most 5xx first.
    let top = s["top_paths"].as_array().unwrap();
    assert_eq!(top.len(), 10);
    assert!(
        top.iter()
            .all(|p| p["host"].is_string() && p["count"].as_u64() > Some(0))
    );
}

#[test]
fn the_text_report_starts_with_the_causes_and_fits_a_screen_or_two() {
    let (dir, day) = day();
    let out = fivehundred(&["diagnose"], dir.path());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // The summary and the table by cause: one row per cause, within the first screenful.
    assert!(
        lines[0].contains(&format!("{} server errors", day.server_errors)),
        "{}",
        lines[0]
    );
    assert!(
        lines[2].starts_with("cause") && lines[2].contains("share"),
        "{}",
        lines[2]
    );
    let table = &lines[3..3 + bigday::CAUSES.len()];
    for (row, cause) in table
        .iter()
        .zip(["php_uncaught_exception", "db_unreachable"])
    {
        assert!(row.starts_with(cause), "{row}");
    }
    assert!(table.iter().all(|r| r.contains('%')), "{table:#?}");
    // Ten incidents worst first, the rest in one line; well under the 8,166 lines.
    assert!(lines.len() <= 120, "{} lines:\n{text}", lines.len());
    assert!(
        text.contains("\n10. ") && !text.contains("\n11. "),
        "{text}"
    );
    let r = json(dir.path());
    let last = r["incidents"].as_array().unwrap().last().unwrap()["count"].clone();
    let more = format!("… and 1 more incident(s) ({last} responses): --limit 0 shows all");
    assert!(text.contains(&more), "no {more:?} in:\n{text}");
    assert!(
        text.contains("and 2") && text.contains(" more\n"),
        "no 'and N more' paths:\n{text}"
    );
    // --limit 0 shows all.
    let all = fivehundred(&["diagnose", "--limit", "0"], dir.path());
    let all = String::from_utf8(all.stdout).unwrap();
    assert!(
        all.contains("\n11. ") && !all.contains("more incident"),
        "{all}"
    );
}

/// The requests per host are those in the scope: one host's alone, or the 5xx alone (then
/// each host's requests are its 5xx).
#[test]
fn requests_by_host_are_within_the_scope() {
    let (dir, day) = day();
    let scoped = |flags: &[&str]| -> Value {
        let args = [&["diagnose", "--format", "json"], flags].concat();
        let out = fivehundred(&args, dir.path());
        serde_json::from_slice(&out.stdout).expect("JSON report")
    };
    let list = |r: &Value| -> Vec<(String, u64)> {
        r["summary"]["requests_by_host"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["host"].as_str().unwrap().to_owned(),
                    h["requests"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let shop = scoped(&["--host", "SHOP.example.com"]);
    assert_eq!(
        list(&shop),
        [("shop.example.com".to_owned(), day.requests_by_host[0])]
    );
    let errors = list(&scoped(&["--status", "5xx"]));
    for ((host, _), n) in bigday::HOSTS.iter().zip(day.by_host) {
        assert!(
            errors.contains(&(host.to_string(), n)),
            "{host}: {errors:?}"
        );
    }
}

/// The layout a terminal gets (`--layout screen`, forced here as stdout is a pipe): the day in
/// one screen of 50 lines at most, none wider than the 100 columns assumed off a terminal,
/// every incident in it (the `unknown` ones of six hosts folded into one entry) with the
/// JSON's counts, and a fix said once.
#[test]
fn the_screen_layout_fits_the_day_in_fifty_lines_with_the_jsons_counts() {
    let (dir, day) = day();
    let out = fivehundred(&["diagnose", "--layout", "screen"], dir.path());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() <= 50, "{} lines:\n{text}", lines.len());
    let wide: Vec<&&str> = lines.iter().filter(|l| l.chars().count() > 100).collect();
    assert!(wide.is_empty(), "wider than 100 columns: {wide:#?}");
    assert!(lines[0].contains(&format!("{} server errors", day.server_errors)));
    let r = json(dir.path());
    let incidents = r["incidents"].as_array().unwrap();
    let entries = screen_entries(&lines);
    assert_eq!(entries.len(), 6, "{text}");
    let mut seen = 0;
    for (cause, host, statuses) in &entries {
        let of_entry: Vec<&Value> = incidents
            .iter()
            .filter(|i| i["cause"] == *cause)
            .filter(|i| host.as_ref().is_none_or(|h| i["host"] == *h))
            .collect();
        seen += of_entry.len();
        let mut want = std::collections::BTreeMap::new();
        for i in &of_entry {
            for (code, n) in i["status"].as_object().unwrap() {
                *want.entry(code.clone()).or_insert(0) += n.as_u64().unwrap();
            }
        }
        assert_eq!(statuses, &want, "{cause} on {host:?}");
    }
    assert_eq!(seen, incidents.len(), "every incident in one entry");
    let folded = format!(
        "on {} hosts:",
        incidents.iter().filter(|i| i["cause"] == "unknown").count()
    );
    assert!(text.contains(&folded), "no {folded:?} in:\n{text}");
    assert_eq!(
        text.matches("Start the database server").count(),
        1,
        "{text}"
    );
    assert!(text.contains("fix: as in 2."), "{text}");
    assert!(!text.contains("evidence:"), "{text}");
    // Piped, the default is the full layout.
    let full = fivehundred(&["diagnose", "--layout", "full"], dir.path());
    let piped = fivehundred(&["diagnose"], dir.path());
    assert_eq!(full.stdout, piped.stdout);
}

/// The screen layout's entries: (cause, host, responses by status), the host `None` for the
/// folded entry (`on N hosts: …`).
fn screen_entries(
    lines: &[&str],
) -> Vec<(
    String,
    Option<String>,
    std::collections::BTreeMap<String, u64>,
)> {
    let mut entries = Vec::new();
    for (at, line) in lines.iter().enumerate() {
        let Some((number, rest)) = line.split_once(". ") else {
            continue;
        };
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let (_, rest) = rest.rsplit_once(" [").expect("[cause]");
        let (cause, counts) = rest.split_once("]: ").expect("]: counts");
        let statuses = counts
            .split(", ")
            .map(|c| {
                let (n, code) = c.split_once(" × ").expect("N × CODE");
                (code.to_owned(), n.parse().unwrap())
            })
            .collect();
        let facts = lines[at + 1].trim_start();
        let host =
            (!facts.starts_with("on ")).then(|| facts.split("  ").next().unwrap().to_owned());
        entries.push((cause.to_owned(), host, statuses));
    }
    entries
}

/// A million 5xx over 40 vhosts and 100,000 paths: the HTML page stays under 2 MB (its
/// incidents, paths, hosts and evidence are bounded, its chart bucketed) and the JSON small.
#[test]
fn a_million_5xx_make_a_page_under_2_mb() {
    let dir = tempfile::tempdir().unwrap();
    bigday::generate_flood(dir.path(), 1_000_000).expect("generate");
    let log = dir.path().join("access.log");
    let html = dir.path().join("report.html");
    let out = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .args(["diagnose", "--format", "html", "-o"])
        .arg(&html)
        .arg(&log)
        .output()
        .expect("run fivehundred");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.len() < 2 << 20, "the page is {} bytes", page.len());
    assert!(page.contains("1,000,000"), "no figure of a million");
    let json = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .args(["diagnose", "--format", "json"])
        .arg(&log)
        .output()
        .expect("run fivehundred");
    std::fs::remove_file(&log).ok();
    assert!(
        json.stdout.len() < 1 << 20,
        "the JSON is {} bytes",
        json.stdout.len()
    );
    let r: Value = serde_json::from_slice(&json.stdout).unwrap();
    let incidents = r["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 40);
    assert!(
        incidents
            .iter()
            .all(|i| i["paths"].as_array().unwrap().len() == 20
                && i["distinct_paths"].as_u64() > Some(2_000))
    );
}
