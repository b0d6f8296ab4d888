//! Crawler traffic for the `seo` labs: requests with real Googlebot and Bingbot user agents,
//! from 127.0.0.1 or ::1, each recorded with the status it got and the clock around it. The
//! figures `fivehundred seo` must report ([`Expected`]) are derived from those answers, never
//! written down, and [`assert_seo`] checks a report against them.
//!
//! Sites generate `robots.txt` with PHP ([`ROBOTS_PHP`], nginx's
//! `NginxOptions::robots_txt_php`), so it fails the way the site's pages do when PHP-FPM is
//! gone: nginx answers 502.

use super::{LOOPBACK_V4, fetch_as, pretty};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;

/// Googlebot Smartphone, as Google documents it (with a real Chrome version for `W.X.Y.Z`).
pub const GOOGLEBOT_SMARTPHONE: &str = "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.204 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

/// Bingbot, the Edge-based agent Bing documents.
pub const BINGBOT: &str = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36";

/// A generated robots.txt (a PHP script, as CMSs serve it).
pub const ROBOTS_PHP: &str = "<?php\nheader('Content-Type: text/plain');\necho \"User-agent: *\\nDisallow: /private/\\n\";\n";

/// How long Google pauses crawling after a 5xx on robots.txt (after the last one).
pub const PAUSE: SignedDuration = SignedDuration::from_hours(12);

/// How long Google crawls by its cached robots.txt while the live one fails (from the start).
pub const CACHED_COPY: SignedDuration = SignedDuration::from_hours(30 * 24);

/// Who a request claims to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Agent {
    Googlebot,
    Bingbot,
    /// The lab's own client (`fivehundred-lab/1.0`): no crawler.
    Person,
}

impl Agent {
    pub fn user_agent(self) -> &'static str {
        match self {
            Agent::Googlebot => GOOGLEBOT_SMARTPHONE,
            Agent::Bingbot => BINGBOT,
            Agent::Person => super::LAB_AGENT,
        }
    }

    /// The crawler's id in the report (None for a person).
    pub fn crawler(self) -> Option<&'static str> {
        match self {
            Agent::Googlebot => Some("googlebot"),
            Agent::Bingbot => Some("bingbot"),
            Agent::Person => None,
        }
    }
}

/// The crawlers the report always lists, in its order.
pub const CRAWLERS: [Agent; 2] = [Agent::Googlebot, Agent::Bingbot];

/// One request and its answer.
#[derive(Clone, Debug)]
pub struct Sent {
    pub agent: Agent,
    pub from: IpAddr,
    pub path: String,
    pub status: u16,
    /// The clock just before the request and just after its answer: nginx logs a time in
    /// between, to the second.
    pub before: Timestamp,
    pub after: Timestamp,
}

impl Sent {
    /// Whether `t` (as logged, to the second) can be this request's time.
    pub fn logged_at(&self, t: Timestamp) -> bool {
        let floor = Timestamp::from_second(self.before.as_second()).expect("a valid second");
        floor <= t && t <= self.after
    }

    fn is_5xx(&self) -> bool {
        (500..600).contains(&self.status)
    }

    /// A 5xx or a 429: what slows Google's crawling, and on robots.txt stops it.
    fn slows_crawling(&self) -> bool {
        self.is_5xx() || self.status == 429
    }
}

/// A client that records every request it sends to one server.
pub struct Crawl {
    pub port: u16,
    pub sent: Vec<Sent>,
}

impl Crawl {
    pub fn new(port: u16) -> Crawl {
        Crawl {
            port,
            sent: Vec::new(),
        }
    }

    /// GET `path` from 127.0.0.1 as `agent`; returns the status.
    pub fn get(&mut self, agent: Agent, path: &str) -> u16 {
        self.get_from(LOOPBACK_V4, agent, path)
    }

    /// GET `path` as `agent` from `from` (a loopback address the server listens on).
    pub fn get_from(&mut self, from: IpAddr, agent: Agent, path: &str) -> u16 {
        let before = Timestamp::now();
        let status = fetch_as(
            from,
            self.port,
            "GET",
            path,
            "localhost",
            agent.user_agent(),
            b"",
        )
        .status;
        let after = Timestamp::now();
        assert_ne!(status, 0, "GET {path} as {agent:?} from {from}: no answer");
        self.sent.push(Sent {
            agent,
            from,
            path: path.to_string(),
            status,
            before,
            after,
        });
        status
    }

    /// GETs each path in turn from 127.0.0.1; returns the statuses.
    pub fn visit(&mut self, agent: Agent, paths: &[&str]) -> Vec<u16> {
        self.visit_from(LOOPBACK_V4, agent, paths)
    }

    pub fn visit_from(&mut self, from: IpAddr, agent: Agent, paths: &[&str]) -> Vec<u16> {
        paths
            .iter()
            .map(|p| self.get_from(from, agent, p))
            .collect()
    }

    /// Every status, in the order sent (the order nginx logs them: one request at a time).
    pub fn statuses(&self) -> Vec<u16> {
        self.sent.iter().map(|s| s.status).collect()
    }

    /// What `seo` must report about these requests, when `genuine(agent, from)` tells which
    /// crawler requests come from the crawler's published ranges (`|_, _| true` when no
    /// ranges are given).
    pub fn expected(&self, genuine: impl Fn(Agent, IpAddr) -> bool) -> Expected {
        let mut want = Expected::default();
        for a in CRAWLERS {
            want.crawlers
                .insert(a.crawler().unwrap(), Counts::default());
        }
        let mut open: Option<ExpectedOutage> = None;
        for s in &self.sent {
            let crawler = s.agent.crawler();
            if let Some(name) = crawler
                && !genuine(s.agent, s.from)
            {
                want.impostors.add(s.status);
                *want.impostors_by.entry(name).or_default() += 1;
                if s.path == "/robots.txt" && s.is_5xx() {
                    want.impostor_robots_errors += 1;
                }
                if s.path == "/robots.txt" && s.status == 429 {
                    want.impostor_robots_rate_limited += 1;
                }
                continue;
            }
            if s.path == "/robots.txt" {
                want.robots_requests += 1;
                match s.status {
                    _ if s.slows_crawling() => {
                        let o = open.get_or_insert_with(|| ExpectedOutage {
                            server_errors: 0,
                            rate_limited: 0,
                            first: s.clone(),
                            last: s.clone(),
                            recovered_by: None,
                            crawlers: Vec::new(),
                        });
                        if s.is_5xx() {
                            want.robots_errors += 1;
                            o.server_errors += 1;
                        } else {
                            want.robots_rate_limited += 1;
                            o.rate_limited += 1;
                        }
                        o.last = s.clone();
                        if !o.crawlers.contains(&s.agent) && crawler.is_some() {
                            o.crawlers.push(s.agent);
                        }
                    }
                    200..=299 | 400..=499 => {
                        if let Some(mut o) = open.take() {
                            o.recovered_by = Some(s.clone());
                            want.outages.push(o);
                        }
                    }
                    _ => {}
                }
            }
            let Some(name) = crawler else {
                continue;
            };
            want.crawlers.get_mut(name).unwrap().add(s.status);
            if s.is_5xx() {
                let p = want
                    .at_risk
                    .entry(s.path.clone())
                    .or_insert_with(|| ExpectedPath {
                        errors: 0,
                        first: s.clone(),
                        last: s.clone(),
                        recovered: false,
                        crawlers: Vec::new(),
                    });
                p.errors += 1;
                p.last = s.clone();
                p.recovered = false;
                if !p.crawlers.contains(&s.agent) {
                    p.crawlers.push(s.agent);
                }
            } else if (200..300).contains(&s.status)
                && let Some(p) = want.at_risk.get_mut(&s.path)
            {
                // nginx logs one request at a time, in order: a 2xx in the second of the
                // last 5xx is a recovery too (the log's order tells).
                p.recovered = true;
            }
        }
        if let Some(o) = open {
            want.outages.push(o);
        }
        for o in &mut want.outages {
            o.crawlers.sort();
        }
        for p in want.at_risk.values_mut() {
            p.crawlers.sort();
        }
        want
    }
}

/// Requests, their 5xx by status, their 429, and their classes (2xx, 3xx, 4xx but 429, 429,
/// 5xx).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub requests: u64,
    pub server_errors: u64,
    pub by_status: BTreeMap<u16, u64>,
    pub rate_limited: u64,
    pub by_class: BTreeMap<String, u64>,
}

impl Counts {
    fn add(&mut self, status: u16) {
        self.requests += 1;
        if (500..600).contains(&status) {
            self.server_errors += 1;
            *self.by_status.entry(status).or_default() += 1;
        }
        if status == 429 {
            self.rate_limited += 1;
        }
        let class = match status {
            429 => "429".to_string(),
            s => format!("{}xx", s / 100),
        };
        *self.by_class.entry(class).or_default() += 1;
    }

    /// The same figures read from a report's object (`requests`, `server_errors`,
    /// `by_status`).
    fn of(v: &Value) -> Counts {
        Counts {
            requests: v["requests"].as_u64().unwrap_or(u64::MAX),
            server_errors: v["server_errors"].as_u64().unwrap_or(u64::MAX),
            by_status: v["by_status"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, n)| (k.parse().unwrap(), n.as_u64().unwrap()))
                        .collect()
                })
                .unwrap_or_default(),
            rate_limited: v["rate_limited"].as_u64().unwrap_or(u64::MAX),
            // Classes with none are left out, as `add` never makes them.
            by_class: v["by_class"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
                        .filter(|(_, n)| *n > 0)
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// What `seo` must report, derived from the answers the clients got.
#[derive(Debug, Default)]
pub struct Expected {
    /// By crawler id.
    pub crawlers: BTreeMap<&'static str, Counts>,
    /// `by_status` is not in the report's `impostors`; requests and 5xx are.
    pub impostors: Counts,
    pub impostors_by: BTreeMap<&'static str, u64>,
    /// 5xx answers to robots.txt that impostors got: the server failed, so exit 1.
    pub impostor_robots_errors: u64,
    /// 429 answers to robots.txt that impostors got.
    pub impostor_robots_rate_limited: u64,
    pub robots_requests: u64,
    pub robots_errors: u64,
    pub robots_rate_limited: u64,
    pub outages: Vec<ExpectedOutage>,
    /// By path.
    pub at_risk: BTreeMap<String, ExpectedPath>,
}

/// A run of 5xx or 429 answers to robots.txt.
#[derive(Debug)]
pub struct ExpectedOutage {
    pub server_errors: u64,
    pub rate_limited: u64,
    pub first: Sent,
    pub last: Sent,
    /// The 2xx or 4xx answer that ended it.
    pub recovered_by: Option<Sent>,
    /// Crawlers that got its 5xx, in the report's order.
    pub crawlers: Vec<Agent>,
}

/// A path that answered 5xx to a crawler.
#[derive(Debug)]
pub struct ExpectedPath {
    pub errors: u64,
    pub first: Sent,
    pub last: Sent,
    /// A crawler got a 2xx for it after its last 5xx.
    pub recovered: bool,
    pub crawlers: Vec<Agent>,
}

impl Expected {
    /// 5xx answers to crawlers.
    pub fn crawler_errors(&self) -> u64 {
        self.crawlers.values().map(|c| c.server_errors).sum()
    }

    /// The exit code the spec gives: 1 when robots.txt answered 5xx or 429 to anyone
    /// (impostors too) or a crawler got one.
    pub fn exit(&self) -> i32 {
        let robots = self.robots_errors
            + self.robots_rate_limited
            + self.impostor_robots_errors
            + self.impostor_robots_rate_limited;
        let crawlers: u64 = self
            .crawlers
            .values()
            .map(|c| c.server_errors + c.rate_limited)
            .sum();
        (robots + crawlers > 0) as i32
    }

    /// `robots_txt.state` at the end of a log that lasts less than 12 hours: `paused` while
    /// an outage goes on, `recovered` once all ended, `ok` with none.
    pub fn robots_state(&self) -> &'static str {
        match self.outages.last() {
            None => "ok",
            Some(o) if o.recovered_by.is_none() => "paused",
            Some(_) => "recovered",
        }
    }
}

fn names(agents: &[Agent]) -> Vec<&'static str> {
    agents.iter().filter_map(|a| a.crawler()).collect()
}

/// An RFC 3339 time of the report.
pub fn time(v: &Value) -> Timestamp {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("not a time string: {v}"));
    s.parse()
        .unwrap_or_else(|e| panic!("{s:?} is not an RFC 3339 time: {e}"))
}

/// Checks the report against what the clients got: every crawler's requests and 5xx by
/// status, the impostors, robots.txt's answers, its outages (when, how many, which crawlers,
/// how they ended, the pause and cached-copy deadlines), the paths at risk (in order, with
/// their recovery), and the hourly 5xx adding up.
pub fn assert_seo(report: &Value, want: &Expected) {
    let ctx = || format!("report:\n{}", pretty(report));
    for (name, counts) in &want.crawlers {
        let got = Counts::of(&report["crawlers"][name]);
        assert_eq!(&got, counts, "crawlers.{name}; {}", ctx());
    }
    let imp = &report["impostors"];
    assert_eq!(
        (
            imp["requests"].as_u64(),
            imp["server_errors"].as_u64(),
            imp["robots_txt_server_errors"].as_u64(),
            imp["robots_txt_rate_limited"].as_u64()
        ),
        (
            Some(want.impostors.requests),
            Some(want.impostors.server_errors),
            Some(want.impostor_robots_errors),
            Some(want.impostor_robots_rate_limited)
        ),
        "impostors; {}",
        ctx()
    );
    let by: BTreeMap<String, u64> = want
        .impostors_by
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    assert_eq!(
        imp["by_crawler"],
        serde_json::json!(by),
        "impostors.by_crawler; {}",
        ctx()
    );

    let robots = &report["robots_txt"];
    assert_eq!(
        (
            robots["requests"].as_u64(),
            robots["server_errors"].as_u64(),
            robots["rate_limited"].as_u64()
        ),
        (
            Some(want.robots_requests),
            Some(want.robots_errors),
            Some(want.robots_rate_limited)
        ),
        "robots_txt requests, server_errors, rate_limited; {}",
        ctx()
    );
    assert_eq!(
        robots["state"],
        want.robots_state(),
        "robots_txt.state; {}",
        ctx()
    );
    let outages = robots["outages"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        outages.len(),
        want.outages.len(),
        "robots_txt.outages; {}",
        ctx()
    );
    for (o, w) in outages.iter().zip(&want.outages) {
        let (start, end) = (time(&o["start"]), time(&o["end"]));
        assert!(
            w.first.logged_at(start),
            "outage start {start} is not when its first 5xx was sent ({} .. {}); {}",
            w.first.before,
            w.first.after,
            ctx()
        );
        assert!(
            w.last.logged_at(end),
            "outage end {end} is not when its last 5xx was sent ({} .. {}); {}",
            w.last.before,
            w.last.after,
            ctx()
        );
        assert_eq!(
            (o["server_errors"].as_u64(), o["rate_limited"].as_u64()),
            (Some(w.server_errors), Some(w.rate_limited)),
            "outage server_errors, rate_limited; {}",
            ctx()
        );
        assert_eq!(
            time(&o["crawl_paused_until"]),
            end + PAUSE,
            "crawl_paused_until = end + 12 h; {}",
            ctx()
        );
        assert_eq!(
            time(&o["cached_copy_until"]),
            start + CACHED_COPY,
            "cached_copy_until = start + 30 days; {}",
            ctx()
        );
        assert_eq!(
            o["crawlers"],
            serde_json::json!(names(&w.crawlers)),
            "outage crawlers; {}",
            ctx()
        );
        assert_eq!(
            o["ongoing"],
            w.recovered_by.is_none(),
            "outage ongoing; {}",
            ctx()
        );
        match &w.recovered_by {
            Some(r) => {
                let at = time(&o["recovered_at"]);
                assert!(
                    r.logged_at(at) && at >= end,
                    "recovered_at {at}: the answer that ended it was sent {} .. {}; {}",
                    r.before,
                    r.after,
                    ctx()
                );
            }
            None => assert!(o["recovered_at"].is_null(), "recovered_at; {}", ctx()),
        }
        assert!(
            o.get("host").is_none(),
            "combined logs name no host; {}",
            ctx()
        );
    }

    let at_risk = report["at_risk"].as_array().cloned().unwrap_or_default();
    let got: Vec<&str> = at_risk.iter().filter_map(|p| p["path"].as_str()).collect();
    // Most errors first, then by path.
    let mut order: Vec<(&String, &ExpectedPath)> = want.at_risk.iter().collect();
    order.sort_by(|a, b| b.1.errors.cmp(&a.1.errors).then(a.0.cmp(b.0)));
    let paths: Vec<&str> = order.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(got, paths, "at_risk paths, most errors first; {}", ctx());
    for (p, (_, w)) in at_risk.iter().zip(&order) {
        let path = p["path"].as_str().unwrap_or_default();
        assert_eq!(
            p["crawler_server_errors"].as_u64(),
            Some(w.errors),
            "at_risk {path}; {}",
            ctx()
        );
        assert_eq!(
            p["recovered"],
            w.recovered,
            "at_risk {path} recovered; {}",
            ctx()
        );
        assert_eq!(
            p["crawlers"],
            serde_json::json!(names(&w.crawlers)),
            "at_risk {path} crawlers; {}",
            ctx()
        );
        let (first, last) = (time(&p["first"]), time(&p["last"]));
        assert!(
            w.first.logged_at(first) && w.last.logged_at(last),
            "at_risk {path}: first {first} / last {last} are not when its 5xx were sent; {}",
            ctx()
        );
    }

    let hourly: u64 = report["crawler_server_errors_by_hour"]
        .as_array()
        .map(|h| h.iter().filter_map(|x| x["server_errors"].as_u64()).sum())
        .unwrap_or(u64::MAX);
    assert_eq!(
        hourly,
        want.crawler_errors(),
        "crawler_server_errors_by_hour adds up to the crawlers' 5xx; {}",
        ctx()
    );
}

/// Runs the built binary `seo --format json ARGS PATHS`; returns the report, the exit code
/// and stderr. Panics when stdout is not JSON.
pub fn run_seo(args: &[&str], paths: &[&Path]) -> (Value, i32, String) {
    let (stdout, exit, stderr) = run(&[&["--format", "json"], args].concat(), paths);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("seo output is not JSON ({e}); exit {exit}\nstdout:\n{stdout}\nstderr:\n{stderr}")
    });
    (report, exit, stderr)
}

/// Runs the built binary `seo ARGS PATHS` (text); returns stdout and the exit code.
pub fn run_seo_text(args: &[&str], paths: &[&Path]) -> (String, i32) {
    let (stdout, exit, _) = run(args, paths);
    (stdout, exit)
}

/// Runs the built binary `seo --format json PATHS`, whatever it prints: stdout, the exit code
/// and stderr.
pub fn run_seo_output(paths: &[&Path]) -> (String, i32, String) {
    run(&["--format", "json"], paths)
}

fn run(args: &[&str], paths: &[&Path]) -> (String, i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .arg("seo")
        .args(args)
        .args(paths)
        .env("NO_COLOR", "1")
        .output()
        .expect("run fivehundred seo");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A time of the report as the text output writes it: `2026-11-25 15:09:55 +00:00`.
pub fn text_time(v: &Value) -> String {
    let s = v.as_str().unwrap_or_default();
    format!("{} {}", s[..19].replacen('T', " ", 1), &s[19..])
}

/// The ranges file Google publishes (`googlebot.json`), with these prefixes.
pub fn ranges_json(v4: &[&str], v6: &[&str]) -> String {
    let prefixes: Vec<Value> = (v4.iter().map(|p| serde_json::json!({"ipv4Prefix": p})))
        .chain(v6.iter().map(|p| serde_json::json!({"ipv6Prefix": p})))
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "creationTime": "2026-11-20T15:46:02.000000",
        "prefixes": prefixes,
    }))
    .unwrap()
}
