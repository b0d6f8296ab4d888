//! `fivehundred seo` on generated logs whose answers are known by construction: a day of
//! traffic (people, Googlebot, Bingbot, an impostor) written line by line here, with the
//! robots.txt outages, failing paths and crawler addresses each case needs. The real-server
//! proof is `tests/lab_seo.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const GOOGLEBOT: &str = "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.204 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
const GOOGLEBOT_IMAGE: &str = "Googlebot-Image/1.0";
const BINGBOT: &str = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/131.0.0.0 Safari/537.36";
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const GOOGLE_IP: &str = "66.249.66.1";
const GOOGLE_IP6: &str = "2001:4860:4801:10::2a";
const BING_IP: &str = "157.55.39.7";
const PERSON_IP: &str = "203.0.113.9";
const IMPOSTOR_IP: &str = "198.51.100.66";

/// The published-ranges file, in Google's shape.
const GOOGLE_RANGES: &str = r#"{"creationTime": "2026-11-20T14:46:11.000000", "prefixes": [
  {"ipv6Prefix": "2001:4860:4801:10::/64"}, {"ipv4Prefix": "66.249.64.0/27"},
  {"ipv4Prefix": "66.249.66.0/27"}]}"#;

/// A log being written: one request per call, at `minute` minutes after midnight UTC on
/// 2026-11-24, at second (lines written so far) mod 60, so lines of one minute stay in order.
#[derive(Default)]
struct Log {
    text: String,
    second: u32,
}

impl Log {
    fn hit(&mut self, minute: u32, ip: &str, path: &str, status: u16, ua: &str) -> &mut Self {
        self.second = (self.second + 1) % 60;
        let (h, m) = (minute / 60, minute % 60);
        let (day, h) = (24 + h / 24, h % 24);
        self.text.push_str(&format!(
            "{ip} - - [{day}/Nov/2026:{h:02}:{m:02}:{:02} +0000] \"GET {path} HTTP/1.1\" {status} 512 \"-\" \"{ua}\"\n",
            self.second
        ));
        self
    }

    /// A person browsing, so crawler lines are a few among many.
    fn people(&mut self, minute: u32, n: u32) -> &mut Self {
        for i in 0..n {
            let path = format!("/product/{i}?ref=home");
            self.hit(minute, PERSON_IP, &path, 200, BROWSER);
        }
        self
    }
}

struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Dir {
        Dir {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

/// Runs `seo --format json` with `args`; the report and the exit code.
fn seo(args: &[&str]) -> (Value, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .arg("seo")
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("JSON expected ({e}); stderr: {stderr}"));
    (report, out.status.code().unwrap())
}

fn seo_file(path: &Path, more: &[&str]) -> (Value, i32) {
    let mut args: Vec<&str> = more.to_vec();
    args.push(path.to_str().unwrap());
    seo(&args)
}

fn outages(r: &Value) -> &Vec<Value> {
    r["robots_txt"]["outages"].as_array().unwrap()
}

/// The at-risk entry for a path.
fn at_risk<'a>(r: &'a Value, path: &str) -> Option<&'a Value> {
    r["at_risk"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"] == path)
}

#[test]
fn a_robots_txt_outage_in_the_middle_of_a_day() {
    let mut log = Log::default();
    for hour in 0..24 {
        let m = hour * 60;
        log.people(m, 5);
        let robots = if (12..14).contains(&hour) { 503 } else { 200 };
        log.hit(m + 1, GOOGLE_IP, "/robots.txt", robots, GOOGLEBOT);
        log.hit(m + 2, BING_IP, "/robots.txt", robots, BINGBOT);
        log.hit(m + 3, GOOGLE_IP, "/product/1", 200, GOOGLEBOT);
    }
    let d = Dir::new();
    let (r, code) = seo_file(&d.file("access.log", &log.text), &[]);
    assert_eq!(code, 1, "robots.txt answered 5xx");
    let o = outages(&r);
    assert_eq!(o.len(), 1, "{r:#}");
    assert_eq!(o[0]["start"], "2026-11-24T12:01:42+00:00");
    assert_eq!(o[0]["end"], "2026-11-24T13:02:51+00:00");
    assert_eq!(o[0]["server_errors"], 4);
    assert_eq!(o[0]["crawl_paused_until"], "2026-11-25T01:02:51+00:00");
    assert_eq!(o[0]["cached_copy_until"], "2026-12-24T12:01:42+00:00");
    assert_eq!(o[0]["ongoing"], false);
    assert_eq!(o[0]["recovered_at"], "2026-11-24T14:01:58+00:00");
    assert_eq!(
        o[0]["crawlers"],
        serde_json::json!(["googlebot", "bingbot"])
    );
    assert_eq!(r["robots_txt"]["requests"], 48);
    assert_eq!(r["robots_txt"]["server_errors"], 4);
    assert_eq!(r["robots_txt"]["state"], "recovered");
    let g = &r["crawlers"]["googlebot"];
    assert_eq!(
        (g["requests"].as_u64(), g["server_errors"].as_u64()),
        (Some(48), Some(2))
    );
    assert_eq!(g["by_status"], serde_json::json!({"503": 2}));
    assert_eq!(r["crawlers"]["bingbot"]["server_errors"], 2);
    // robots.txt recovered too: a crawler got a 200 for it after the last 5xx.
    let robots = at_risk(&r, "/robots.txt").unwrap();
    assert_eq!(robots["crawler_server_errors"], 4);
    assert_eq!(robots["recovered"], true);
}

#[test]
fn two_outages_separated_by_a_200_and_redirects_that_do_not_end_one() {
    let mut log = Log::default();
    log.hit(60, GOOGLE_IP, "/robots.txt", 200, GOOGLEBOT)
        .hit(120, GOOGLE_IP, "/robots.txt", 500, GOOGLEBOT)
        .hit(125, PERSON_IP, "/robots.txt", 301, BROWSER)
        .hit(130, PERSON_IP, "/robots.txt", 502, BROWSER)
        .hit(180, GOOGLE_IP, "/robots.txt", 200, GOOGLEBOT)
        .hit(240, BING_IP, "/robots.txt", 500, BINGBOT)
        .hit(250, PERSON_IP, "/robots.txt", 404, BROWSER)
        .hit(300, PERSON_IP, "/robots.txt", 503, BROWSER);
    let d = Dir::new();
    let (r, code) = seo_file(&d.file("access.log", &log.text), &[]);
    assert_eq!(code, 1);
    let o = outages(&r);
    assert_eq!(o.len(), 3, "{r:#}");
    assert_eq!(
        (&o[0]["start"], &o[0]["end"], &o[0]["server_errors"]),
        (
            &Value::from("2026-11-24T02:00:02+00:00"),
            &Value::from("2026-11-24T02:10:04+00:00"),
            &Value::from(2)
        ),
        "a 301 between two 5xx does not end the outage"
    );
    assert_eq!(o[0]["crawlers"], serde_json::json!(["googlebot"]));
    assert_eq!(o[1]["crawlers"], serde_json::json!(["bingbot"]));
    assert_eq!(
        o[1]["recovered_at"], "2026-11-24T04:10:07+00:00",
        "a 404 ends it"
    );
    assert_eq!(o[2]["crawlers"], serde_json::json!([]));
    assert_eq!(o[2]["ongoing"], true);
    assert_eq!(o[2]["recovered_at"], Value::Null);
    // The last line of the log is that 5xx: crawling is paused now.
    assert_eq!(r["as_of"], "2026-11-24T05:00:08+00:00");
    assert_eq!(r["robots_txt"]["state"], "paused");
    assert_eq!(r["robots_txt"]["requests"], 8);
    assert_eq!(r["robots_txt"]["server_errors"], 4);
}

#[test]
fn an_outage_that_outlasts_the_pause_falls_back_to_the_cached_copy() {
    let mut log = Log::default();
    log.hit(60, GOOGLE_IP, "/robots.txt", 500, GOOGLEBOT)
        // People still get pages a day later; robots.txt has not answered since.
        .hit(60 * 26, PERSON_IP, "/", 200, BROWSER);
    let d = Dir::new();
    let (r, _) = seo_file(&d.file("access.log", &log.text), &[]);
    assert_eq!(r["robots_txt"]["state"], "cached_copy");
    assert_eq!(outages(&r)[0]["ongoing"], true);
}

#[test]
fn impostors_from_outside_the_published_ranges_are_left_out() {
    let mut log = Log::default();
    log.people(0, 20)
        .hit(10, GOOGLE_IP, "/robots.txt", 200, GOOGLEBOT)
        .hit(11, GOOGLE_IP6, "/a", 200, GOOGLEBOT)
        .hit(12, "::ffff:66.249.66.3", "/img.png", 200, GOOGLEBOT_IMAGE)
        // The impostor: a scraper that says it is Googlebot, and gets 5xx.
        .hit(20, IMPOSTOR_IP, "/robots.txt", 500, GOOGLEBOT)
        .hit(21, IMPOSTOR_IP, "/search", 500, GOOGLEBOT)
        .hit(22, IMPOSTOR_IP, "/search", 200, GOOGLEBOT)
        // A Googlebot UA from an IPv6 address outside the ranges.
        .hit(23, "2a00:1450::1", "/a", 502, GOOGLEBOT)
        .hit(30, BING_IP, "/a", 200, BINGBOT);
    let d = Dir::new();
    let access = d.file("access.log", &log.text);
    let ranges = d.file("googlebot.json", GOOGLE_RANGES);
    let (r, code) = seo_file(&access, &["--crawler-ranges", ranges.to_str().unwrap()]);
    // robots.txt failed, if only to an impostor: the server did fail.
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(r["impostors"]["robots_txt_server_errors"], 1);
    let g = &r["crawlers"]["googlebot"];
    assert_eq!(g["requests"], 3);
    assert_eq!(g["server_errors"], 0);
    assert_eq!(g["verified"], true);
    assert_eq!(r["crawlers"]["bingbot"]["verified"], false);
    assert_eq!(r["crawlers"]["bingbot"]["requests"], 1);
    assert_eq!(r["impostors"]["requests"], 4);
    assert_eq!(r["impostors"]["server_errors"], 3);
    assert_eq!(
        r["impostors"]["by_crawler"],
        serde_json::json!({"googlebot": 4})
    );
    assert_eq!(r["robots_txt"]["requests"], 1);
    assert_eq!(r["robots_txt"]["server_errors"], 0);
    assert!(outages(&r).is_empty());
    assert!(r["at_risk"].as_array().unwrap().is_empty());

    // Without the ranges, every claim counts.
    let (r, code) = seo_file(&access, &[]);
    assert_eq!(code, 1);
    assert_eq!(r["crawlers"]["googlebot"]["requests"], 7);
    assert_eq!(r["crawlers"]["googlebot"]["server_errors"], 3);
    assert_eq!(r["impostors"]["requests"], 0);
    assert_eq!(outages(&r).len(), 1);

    // Named explicitly, in any file name.
    let renamed = d.file("ranges-google.json", GOOGLE_RANGES);
    let spec = format!("googlebot={}", renamed.display());
    let (r, _) = seo_file(&access, &["--crawler-ranges", &spec]);
    assert_eq!(r["impostors"]["requests"], 4);
}

#[test]
fn paths_that_fail_then_recover() {
    let mut log = Log::default();
    log.hit(10, GOOGLE_IP, "/recovers", 500, GOOGLEBOT)
        .hit(11, GOOGLE_IP, "/recovers?page=2", 503, GOOGLEBOT)
        .hit(40, BING_IP, "/recovers", 200, BINGBOT)
        .hit(12, GOOGLE_IP, "/keeps-failing", 500, GOOGLEBOT)
        .hit(50, GOOGLE_IP, "/keeps-failing", 500, GOOGLEBOT)
        .hit(51, GOOGLE_IP, "/keeps-failing", 500, GOOGLEBOT)
        // A 200 before the failures is not a recovery.
        .hit(5, GOOGLE_IP, "/failed-after-a-200", 200, GOOGLEBOT)
        .hit(20, GOOGLE_IP, "/failed-after-a-200", 502, GOOGLEBOT)
        // Recovered within the second of its last 5xx: the log's order tells.
        .hit(70, GOOGLE_IP, "/same-second", 500, GOOGLEBOT)
        .hit(70, GOOGLE_IP, "/same-second", 200, GOOGLEBOT)
        // A 200 to a person is not a crawler's.
        .hit(60, PERSON_IP, "/keeps-failing", 200, BROWSER)
        // 5xx to people only: not at risk with crawlers.
        .hit(30, PERSON_IP, "/people-only", 500, BROWSER);
    let d = Dir::new();
    let (r, code) = seo_file(&d.file("access.log", &log.text), &[]);
    assert_eq!(code, 1);
    let list: Vec<(&str, u64, bool)> = r["at_risk"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["path"].as_str().unwrap(),
                p["crawler_server_errors"].as_u64().unwrap(),
                p["recovered"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        list,
        [
            ("/keeps-failing", 3, false),
            ("/recovers", 2, true),
            ("/failed-after-a-200", 1, false),
            ("/same-second", 1, true),
        ],
        "most errors first; queries are one path"
    );
    let keeps = at_risk(&r, "/keeps-failing").unwrap();
    assert_eq!(keeps["first"], "2026-11-24T00:12:04+00:00");
    assert_eq!(keeps["last"], "2026-11-24T00:51:06+00:00");
    assert_eq!(keeps["crawlers"], serde_json::json!(["googlebot"]));
    assert_eq!(r["crawlers"]["googlebot"]["server_errors"], 7);
    let hours = r["crawler_server_errors_by_hour"].as_array().unwrap();
    assert_eq!(hours.len(), 2);
    assert_eq!(hours[0]["hour"], "2026-11-24T00:00:00+00:00");
    assert_eq!(hours[0]["server_errors"], 6);
    assert_eq!(hours[1]["server_errors"], 1);
}

#[test]
fn virtual_hosts_have_their_own_robots_txt() {
    // vhost_combined: an outage on one host is not ended by the other host's 200.
    let line = |host: &str, t: &str, status: u16| {
        format!(
            "{host}:443 {GOOGLE_IP} - - [24/Nov/2026:{t} +0000] \"GET /robots.txt HTTP/1.1\" {status} 10 \"-\" \"{GOOGLEBOT}\"\n"
        )
    };
    let text = [
        line("shop.example.com", "10:00:00", 500),
        line("blog.example.com", "10:00:01", 200),
        line("shop.example.com", "10:00:02", 500),
        line("shop.example.com", "10:00:03", 200),
    ]
    .concat();
    let d = Dir::new();
    let (r, _) = seo_file(&d.file("access.log", &text), &[]);
    let o = outages(&r);
    assert_eq!(o.len(), 1, "{r:#}");
    assert_eq!(o[0]["host"], "shop.example.com");
    assert_eq!(o[0]["server_errors"], 2);
    assert_eq!(
        at_risk(&r, "/robots.txt").unwrap()["host"],
        "shop.example.com"
    );
}

#[test]
fn json_access_logs_and_custom_crawlers() {
    let json = |ip: &str, path: &str, status: u16, ua: &str| {
        format!(
            "{{\"time\":\"2026-11-24T10:00:00+00:00\",\"remote_addr\":\"{ip}\",\"request\":\"GET {path} HTTP/1.1\",\"status\":{status},\"http_user_agent\":\"{ua}\"}}\n"
        )
    };
    let text = [
        json(GOOGLE_IP, "/robots.txt", 503, GOOGLEBOT),
        json(
            "77.75.77.1",
            "/a",
            500,
            "Mozilla/5.0 (compatible; SeznamBot/4.0; +https://o-seznam.cz/napoveda/vyhledavani/en/seznambot-crawler/)",
        ),
        json(
            "5.255.231.1",
            "/b",
            200,
            "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
        ),
        json(PERSON_IP, "/b", 200, BROWSER),
    ]
    .concat();
    let d = Dir::new();
    let access = d.file("access.json", &text);
    let (r, code) = seo_file(&access, &["--crawler", "seznam=(?i)seznambot"]);
    assert_eq!(code, 1);
    assert_eq!(r["inputs"][0]["format"], "json");
    assert_eq!(r["robots_txt"]["server_errors"], 1);
    assert_eq!(r["crawlers"]["seznam"]["server_errors"], 1);
    assert_eq!(
        at_risk(&r, "/a").unwrap()["crawlers"],
        serde_json::json!(["seznam"])
    );
    // YandexBot is built in, by the token Yandex documents.
    assert_eq!(r["crawlers"]["yandexbot"]["requests"], 1);
    assert_eq!(r["crawlers"]["yandexbot"]["by_class"]["2xx"], 1);
}

#[test]
fn the_result_does_not_depend_on_blocks_or_threads() {
    // Several MiB, so crawler lines fall in many blocks parsed by different threads, and
    // outages span block boundaries.
    let mut log = Log::default();
    for minute in 0..(60 * 24 * 3) {
        log.people(minute, 12);
        let robots = if minute % 700 < 3 { 500 } else { 200 };
        log.hit(minute, GOOGLE_IP, "/robots.txt", robots, GOOGLEBOT);
        if minute % 97 == 0 {
            log.hit(
                minute,
                BING_IP,
                &format!("/p/{}", minute % 13),
                502,
                BINGBOT,
            );
        }
    }
    assert!(log.text.len() > 8 << 20);
    let d = Dir::new();
    let access = d.file("access.log", &log.text);
    let (one, _) = seo_file(&access, &["--threads", "1"]);
    let (two, _) = seo_file(&access, &["--threads", "2"]);
    assert_eq!(one, two);
    assert_eq!(outages(&one).len(), 7, "minutes 0, 700, 1400, …");
    assert!(outages(&one).iter().all(|o| o["server_errors"] == 3));
    assert_eq!(one["robots_txt"]["requests"], 60 * 24 * 3);
    assert_eq!(
        one["crawlers"]["bingbot"]["server_errors"],
        (60 * 24 * 3 + 96) / 97
    );
}

#[test]
fn the_window_limits_what_is_counted() {
    let mut log = Log::default();
    log.hit(10, GOOGLE_IP, "/robots.txt", 500, GOOGLEBOT)
        .hit(120, GOOGLE_IP, "/robots.txt", 200, GOOGLEBOT)
        .hit(180, GOOGLE_IP, "/a", 200, GOOGLEBOT);
    let d = Dir::new();
    let access = d.file("access.log", &log.text);
    let (r, code) = seo_file(&access, &["--since", "2026-11-24T01:00:00Z"]);
    assert_eq!(code, 0);
    assert_eq!(r["robots_txt"]["requests"], 1);
    assert_eq!(r["crawlers"]["googlebot"]["requests"], 2);
    let (r, _) = seo_file(&access, &["--since", "3h"]);
    assert_eq!(r["robots_txt"]["server_errors"], 1);
}

#[test]
fn hostile_lines_are_skipped_not_fatal() {
    let mut text: Vec<u8> = Vec::new();
    text.extend_from_slice(b"\xff\xfe garbage Googlebot robots.txt\n");
    text.extend_from_slice(
        format!("{GOOGLE_IP} - - [24/Nov/2026:10:00:00 +0000] \"GET /robots.txt\x1b[31m HTTP/1.1\" 500 1 \"-\" \"Googlebot").as_bytes(),
    );
    text.extend_from_slice(b"\xff\"\n");
    text.extend(std::iter::repeat_n(b'G', 9 << 20));
    text.extend_from_slice(b"ooglebot\n");
    let mut log = Log::default();
    log.hit(600, GOOGLE_IP, "/x\u{1b}]0;pwned\u{7}", 500, GOOGLEBOT);
    text.extend_from_slice(log.text.as_bytes());
    let d = Dir::new();
    let p = d.dir.path().join("access.log");
    std::fs::write(&p, &text).unwrap();
    let (r, code) = seo_file(&p, &[]);
    assert_eq!(code, 1);
    assert_eq!(r["crawlers"]["googlebot"]["server_errors"], 2);
    let shown = serde_json::to_string(&r["at_risk"]).unwrap();
    assert!(
        !shown.contains('\u{1b}') && !shown.contains('\u{7}'),
        "{shown}"
    );
    // The text report, too, prints no control sequence.
    let out = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .args(["seo", "--color", "never"])
        .arg(&p)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(text.starts_with("Googlebot got 2 × 5xx"), "{text}");
}

#[test]
fn text_verdict_comes_first() {
    let mut log = Log::default();
    log.people(0, 3)
        .hit(192, GOOGLE_IP, "/robots.txt", 503, GOOGLEBOT)
        .hit(195, PERSON_IP, "/", 200, BROWSER);
    let d = Dir::new();
    let out = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .args(["seo", "--color", "never"])
        .arg(d.file("access.log", &log.text))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("robots.txt answered 5xx to Googlebot at 2026-11-24 03:12:04 +00:00")
            && first.contains("pauses crawling the whole site until 2026-11-24 15:12:04 +00:00"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn bad_ranges_and_crawler_flags_are_one_line_errors() {
    let d = Dir::new();
    let access = d.file("access.log", "");
    let bad = d.file(
        "googlebot.json",
        "{\"prefixes\": [{\"ipv4Prefix\": \"1.2.3/8\"}]}",
    );
    let unknown = d.file("special-crawlers.json", GOOGLE_RANGES);
    for args in [
        vec!["--crawler-ranges", bad.to_str().unwrap()],
        vec!["--crawler-ranges", unknown.to_str().unwrap()],
        vec!["--crawler-ranges", "/nonexistent/googlebot.json"],
        vec!["--crawler", "noequals"],
        vec!["--crawler", "x=("],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
            .arg("seo")
            .args(&args)
            .arg(&access)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("fivehundred: error: "), "{stderr}");
    }
}

/// Serves range files on 127.0.0.1 as the operators do on theirs: every `.json` path answers
/// Google's shape with `prefix`, but Bing's path answers broken JSON and any other path 404.
/// Returns the base URL; the server thread lives as long as the test process.
fn range_server(prefix: &'static str) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            // The rest of the head, up to the blank line.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request.split(' ').nth(1).unwrap_or_default().to_owned();
            let (status, body) = if path == "/toolbox/bingbot.json" {
                ("200 OK", "{\"prefixes\": [".to_owned())
            } else if path.ends_with(".json") {
                let body = format!(
                    "{{\"creationTime\": \"2026-11-20T00:00:00\", \"prefixes\": [{{\"ipv4Prefix\": \"{prefix}\"}}]}}"
                );
                ("200 OK", body)
            } else {
                ("404 Not Found", String::new())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

/// `--fetch-ranges DIR` saves each operator's file as DIR/NAME.json (here from a 127.0.0.1
/// server standing in for the operators' hosts, by the paths they publish at), refuses a
/// broken one (exit 2, and no file), and `--crawler-ranges DIR` then tells impostors apart.
#[test]
fn fetched_ranges_are_read_from_their_directory() {
    let base = range_server("66.249.64.0/19");
    let d = Dir::new();
    let dir = d.dir.path().join("ranges");
    let out = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .args(["seo", "--fetch-ranges"])
        .arg(&dir)
        .env("FIVEHUNDRED_RANGES_BASE", &base)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "Bing's file is broken\n{stderr}"
    );
    assert!(
        stderr.contains("bingbot") && stderr.contains("/toolbox/bingbot.json"),
        "{stderr}"
    );
    assert!(
        stdout.contains(&format!(
            "{base}/static/crawling/ipranges/common-crawlers.json"
        )),
        "{stdout}"
    );
    for name in [
        "googlebot",
        "applebot",
        "duckduckbot",
        "gptbot",
        "oai-searchbot",
        "chatgpt-user",
        "claudebot",
        "perplexitybot",
        "ccbot",
    ] {
        assert!(
            dir.join(format!("{name}.json")).is_file(),
            "{name}: {stdout}"
        );
    }
    assert!(!dir.join("bingbot.json").exists() && !dir.join("yandexbot.json").exists());
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| n.ends_with(".json")),
        "no partial file left: {names:?}"
    );

    let mut log = Log::default();
    log.hit(0, GOOGLE_IP, "/a", 200, GOOGLEBOT)
        .hit(1, IMPOSTOR_IP, "/b", 200, GOOGLEBOT)
        .hit(2, BING_IP, "/c", 200, BINGBOT);
    let access = d.file("access.log", &log.text);
    let (r, code) = seo_file(&access, &["--crawler-ranges", dir.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(r["crawlers"]["googlebot"]["verified"], true);
    assert_eq!(r["crawlers"]["googlebot"]["requests"], 1);
    assert_eq!(r["impostors"]["by_crawler"]["googlebot"], 1);
    assert_eq!(
        r["crawlers"]["bingbot"]["verified"], false,
        "its file failed"
    );
    assert_eq!(r["crawlers"]["gptbot"]["verified"], true);
    assert_eq!(
        r["crawlers"]["googlebot"]["ranges_source"],
        "https://developers.google.com/static/crawling/ipranges/common-crawlers.json"
    );
}

/// Every published source the table fetches is named in `seo --help`.
#[test]
fn help_names_every_ranges_source() {
    let out = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .args(["seo", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout).replace('\n', " ");
    let (r, _) = seo(&["/dev/null"]);
    let crawlers = r["crawlers"].as_object().expect("crawlers");
    assert!(crawlers.len() >= 14);
    for (name, c) in crawlers {
        if let Some(url) = c["ranges_source"].as_str() {
            assert!(help.contains(url), "{name}: {url} not in --help");
        }
    }
}

/// 429 only, never a 5xx: a crawler rate limited is found (exit 1), robots.txt's 429 opens an
/// outage as a 5xx would, a 429 that only an impostor got still counts as the server refusing,
/// and the classes and Googlebot's kinds add up.
#[test]
fn rate_limited_crawlers_without_a_5xx() {
    let mut log = Log::default();
    log.hit(0, GOOGLE_IP, "/robots.txt", 200, GOOGLEBOT)
        .hit(1, GOOGLE_IP, "/a", 429, GOOGLEBOT)
        .hit(1, GOOGLE_IP, "/robots.txt", 429, GOOGLEBOT)
        .hit(2, GOOGLE_IP, "/img.png", 429, GOOGLEBOT_IMAGE)
        .hit(3, GOOGLE_IP, "/old", 301, GOOGLEBOT)
        .hit(4, GOOGLE_IP, "/gone", 404, GOOGLEBOT)
        .hit(5, PERSON_IP, "/robots.txt", 200, BROWSER)
        .hit(6, BING_IP, "/", 200, BINGBOT);
    let d = Dir::new();
    let access = d.file("access.log", &log.text);
    let (r, code) = seo_file(&access, &[]);
    assert_eq!(code, 1, "a rate-limited crawler is found: {r:#}");
    let g = &r["crawlers"]["googlebot"];
    assert_eq!(
        (g["requests"].as_u64(), g["rate_limited"].as_u64()),
        (Some(6), Some(3))
    );
    assert_eq!(g["server_errors"], 0);
    assert_eq!(
        g["by_class"],
        serde_json::json!({"2xx": 1, "3xx": 1, "4xx": 1, "429": 3, "5xx": 0})
    );
    assert_eq!(g["share_by_class"]["429"], 0.5);
    assert_eq!(g["by_type"]["smartphone"]["requests"], 5);
    assert_eq!(g["by_type"]["image"]["rate_limited"], 1);
    assert!(
        g["by_type"].get("desktop").is_none(),
        "kinds with requests only"
    );
    let o = outages(&r);
    assert_eq!(o.len(), 1);
    assert_eq!(
        (
            o[0]["server_errors"].as_u64(),
            o[0]["rate_limited"].as_u64()
        ),
        (Some(0), Some(1))
    );
    assert_eq!(o[0]["by_status"], serde_json::json!({"429": 1}));
    assert_eq!(o[0]["ongoing"], false, "the person's 200 ended it");
    assert_eq!(r["robots_txt"]["rate_limited"], 1);
    assert!(
        r["at_risk"].as_array().unwrap().is_empty(),
        "at_risk is 5xx only"
    );
    let hours = r["crawler_requests_by_hour"].as_array().unwrap();
    let sum = |class: &str| {
        hours
            .iter()
            .map(|h| h[class].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(
        (sum("2xx"), sum("429")),
        (2, 3),
        "Googlebot's and Bingbot's"
    );

    // Only an impostor got robots.txt's 429: no outage, but the server refused: exit 1.
    let mut log = Log::default();
    log.hit(0, GOOGLE_IP, "/", 200, GOOGLEBOT)
        .hit(1, IMPOSTOR_IP, "/robots.txt", 429, GOOGLEBOT);
    let access = d.file("impostor.log", &log.text);
    let ranges = d.file("googlebot.json", GOOGLE_RANGES);
    let (r, code) = seo_file(&access, &["--crawler-ranges", ranges.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(outages(&r).is_empty());
    assert_eq!(r["impostors"]["robots_txt_rate_limited"], 1);
    assert_eq!(r["impostors"]["rate_limited"], 1);
    assert_eq!(r["crawlers"]["googlebot"]["rate_limited"], 0);
}
