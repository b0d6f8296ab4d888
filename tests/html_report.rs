//! The HTML reports of the built binary, on logs written here whose paths, user agents and
//! error lines carry markup: the page escapes all of it (no script, no event handler, no
//! external URL in any tag), declares its CSP, and its chart agrees with the JSON of the same
//! run, as the contract the browser tests build on says.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "\\\"><img src=x onerror=alert(1)>";
/// The same without spaces, which a request path can hold.
const IMG_PATH: &str = "/\\\"><img/src=x/onerror=alert(1)>.php";

/// One combined line at `hms` on 2026-11-25, in UTC+01:00, by a user agent with markup in it.
fn line(hms: &str, path: &str, status: u16, agent: &str) -> String {
    format!(
        "198.51.100.4 - - [25/Nov/2026:{hms} +0100] \"GET {path} HTTP/1.1\" {status} 321 \"https://evil.example/{IMG}\" \"{agent} {SCRIPT} {IMG}\"\n"
    )
}

/// Two hours of traffic: 5xx of three causes, hostile paths, and robots.txt failing to
/// Googlebot twice.
fn write_logs(dir: &Path) -> Vec<PathBuf> {
    let google = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    let browser = "Mozilla/5.0 (X11; Linux x86_64)";
    let mut access = String::new();
    for (hms, path, status, agent) in [
        ("10:00:00", "/", 200, browser),
        ("10:00:05", "/report.php", 500, browser),
        ("10:00:06", "/robots.txt", 503, google),
        ("10:01:00", "/robots.txt", 503, google),
        ("10:02:00", "/robots.txt", 200, google),
        ("10:20:00", "/<script>alert(1)</script>.php", 502, browser),
        ("10:20:01", "/<script>alert(1)</script>.php", 502, google),
        ("10:40:00", IMG_PATH, 500, browser),
        ("11:10:00", "/report.php", 500, browser),
        ("11:10:01", "/", 200, google),
        ("11:30:00", "/robots.txt", 503, google),
        ("11:59:00", "/report.php", 500, browser),
    ] {
        access += &line(hms, path, status, agent);
    }
    let error = [
        "2026/11/25 10:00:05 [error] 7#7: *1 FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted (tried to allocate 20480 bytes) in /srv/www/report.php on line 12\" while reading response header from upstream, client: 198.51.100.4, server: _, request: \"GET /report.php HTTP/1.1\", host: \"example.org\"",
        "2026/11/25 10:20:00 [error] 7#7: *2 connect() to unix:/run/php/php-fpm.sock failed (111: Connection refused) while connecting to upstream, client: 198.51.100.4, server: _, request: \"GET /<script>alert(1)</script>.php HTTP/1.1\", upstream: \"fastcgi://unix:/run/php/php-fpm.sock:\", host: \"<script>alert(1)</script>\"",
        "2026/11/25 10:40:00 [error] 7#7: *3 FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Uncaught Exception: \"><img src=x onerror=alert(1)> in /srv/www/x.php:3\" while reading response header from upstream, client: 198.51.100.4, server: _, request: \"GET /\\\"><img/src=x/onerror=alert(1)>.php HTTP/1.1\", host: \"example.org\"",
        "2026/11/25 11:10:00 [error] 7#7: *3 FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted (tried to allocate 20480 bytes) in /srv/www/report.php on line 12\" while reading response header from upstream, client: 198.51.100.4, server: _, request: \"GET /report.php HTTP/1.1\", host: \"example.org\"",
    ]
    .join("\n")
        + "\n";
    let a = dir.join("access.log");
    let e = dir.join("error.log");
    std::fs::write(&a, access).unwrap();
    std::fs::write(&e, error).unwrap();
    vec![a, e]
}

/// Runs the binary; returns its exit code and stdout.
fn run(args: &[&str], logs: &[PathBuf]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .args(args)
        .args(["--tz", "Etc/GMT-1"])
        .args(logs)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        out.status.code().expect("exited"),
        String::from_utf8(out.stdout).unwrap(),
    )
}

/// The JSON and the HTML report of one command on the same logs.
fn both(command: &str, dir: &Path, logs: &[PathBuf]) -> (Value, String) {
    let (code, json) = run(&[command, "--format", "json"], logs);
    assert_eq!(code, 1, "{json}");
    let file = dir.join(format!("{command}.html"));
    let (code, stdout) = run(
        &[command, "--format", "html", "-o", file.to_str().unwrap()],
        logs,
    );
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    (
        serde_json::from_str(&json).unwrap(),
        std::fs::read_to_string(file).unwrap(),
    )
}

/// Every tag of the page, from `<` to `>` (escaped text holds neither).
fn tags(page: &str) -> Vec<&str> {
    page.split('<')
        .skip(1)
        .map(|rest| rest.split('>').next().unwrap_or(rest))
        .collect()
}

/// The value of `name="…"` in a tag.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let from = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    tag[from..].split('"').next()
}

/// Nothing from the logs can run or fetch: no script or img tag, no event handler in a tag,
/// no URL in a tag or in the style, and the CSP in the head; the `escaped` forms of the
/// hostile texts are there, as text.
fn assert_inert(page: &str, escaped: &[&str]) {
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
    ));
    for text in escaped {
        assert!(page.contains(text), "{text} not in {page}");
    }
    for tag in tags(page) {
        let lower = tag.to_lowercase();
        assert!(!lower.starts_with("script"), "<{tag}>");
        assert!(!lower.starts_with("img"), "<{tag}>");
        for bad in [
            "onerror",
            "onload",
            "http://",
            "https://",
            "url(",
            "javascript:",
        ] {
            assert!(!lower.contains(bad), "{bad} in <{tag}>");
        }
    }
    let style = page
        .split("<style>")
        .nth(1)
        .unwrap()
        .split("</style>")
        .next();
    assert!(!style.unwrap().contains("url("));
}

/// The chart's bars: cause → (bucket → count).
fn chart_bars(page: &str) -> BTreeMap<String, BTreeMap<usize, u64>> {
    let svg = page
        .split("<svg class=\"chart\"")
        .nth(1)
        .expect("a chart")
        .split("</svg>")
        .next()
        .unwrap();
    let mut bars: BTreeMap<String, BTreeMap<usize, u64>> = BTreeMap::new();
    let mut cause = None;
    for tag in tags(svg) {
        if tag.starts_with("g class=\"series\"") {
            let c = attr(tag, "data-cause").unwrap().to_owned();
            assert!(!bars.contains_key(&c), "two series for {c}");
            bars.insert(c.clone(), BTreeMap::new());
            cause = Some(c);
        } else if tag.starts_with("rect class=\"bar\"") {
            let bucket = attr(tag, "data-bucket").unwrap().parse().unwrap();
            let count: u64 = attr(tag, "data-count").unwrap().parse().unwrap();
            assert!(count > 0);
            let series = bars
                .get_mut(cause.as_ref().expect("bars in a series"))
                .unwrap();
            assert!(
                series.insert(bucket, count).is_none(),
                "two bars in {bucket}"
            );
        }
    }
    bars
}

/// How many times `class="…"` names exactly `class` inside the element with `id`.
fn count_in(page: &str, id: &str, class: &str) -> usize {
    let section = page
        .split(&format!("id=\"{id}\""))
        .nth(1)
        .unwrap_or_else(|| panic!("no #{id}"));
    let section = section.split("</section>").next().unwrap();
    tags(section)
        .iter()
        .filter(|t| attr(t, "class") == Some(class))
        .count()
}

#[test]
fn diagnose_report_is_inert_and_its_chart_matches_the_json() {
    let dir = tempfile::tempdir().unwrap();
    let logs = write_logs(dir.path());
    let (json, page) = both("diagnose", dir.path(), &logs);
    assert_inert(
        &page,
        &[
            "&lt;script&gt;alert(1)&lt;/script&gt;",
            "&lt;img src=x onerror=alert(1)&gt;",
            "&lt;img/src=x/onerror=alert(1)&gt;",
        ],
    );

    let incidents = json["incidents"].as_array().unwrap();
    let mut by_cause: BTreeMap<String, u64> = BTreeMap::new();
    for i in incidents {
        *by_cause
            .entry(i["cause"].as_str().unwrap().to_owned())
            .or_default() += i["count"].as_u64().unwrap();
    }
    assert!(by_cause.len() >= 2, "{json}");
    let bars = chart_bars(&page);
    let sums: BTreeMap<String, u64> = bars
        .iter()
        .map(|(c, b)| (c.clone(), b.values().sum()))
        .collect();
    assert_eq!(
        sums, by_cause,
        "per cause, the bars add up to its incidents"
    );
    assert_eq!(
        sums.values().sum::<u64>(),
        json["summary"]["server_errors"].as_u64().unwrap()
    );
    // 10:00:05 to 11:59:00 in 5-minute buckets from 10:00 (24 of them), on the log's own
    // clock.
    let last = bars.values().flat_map(|b| b.keys()).max().copied();
    assert_eq!(last, Some(23));
    assert!(
        page.contains("5xx responses per 5 min (UTC+01:00)"),
        "{page}"
    );
    assert!(page.contains(">11-25 10:00</text>"), "{page}");

    assert_eq!(count_in(&page, "incidents", "incident"), incidents.len());
    for i in incidents {
        let cause = i["cause"].as_str().unwrap();
        assert!(page.contains(&format!("class=\"incident\" data-cause=\"{cause}\"")));
    }
    assert!(page.contains("<p id=\"verdict\""));
    assert!(page.contains("id=\"status-mix\""));
    assert_eq!(count_in(&page, "crawlers", "outage"), 2, "{page}");
}

#[test]
fn seo_report_is_inert_and_lists_every_outage() {
    let dir = tempfile::tempdir().unwrap();
    let logs = write_logs(dir.path());
    let (json, page) = both("seo", dir.path(), &logs);
    assert_inert(&page, &["&lt;script&gt;alert(1)&lt;/script&gt;"]);
    let outages = json["robots_txt"]["outages"].as_array().unwrap().len();
    assert_eq!(outages, 2);
    assert_eq!(count_in(&page, "robots-timeline", "outage"), outages);
    assert!(page.contains("<p id=\"verdict\" class=\"bad\">robots.txt"));
    assert!(page.contains("<td>Googlebot</td>"), "{page}");
}

#[test]
fn html_needs_an_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let logs = write_logs(dir.path());
    for command in ["diagnose", "seo"] {
        let (code, stdout) = run(&[command, "--format", "html"], &logs);
        assert_eq!(code, 2);
        assert!(stdout.is_empty());
    }
}
