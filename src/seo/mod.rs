//! What crawlers saw: the access logs from the side of Googlebot, Bingbot and the other
//! crawlers of `crawlers.toml`.
//!
//! It runs on the parser threads of the same scan as `diagnose` (a
//! [`BlockObserver`]): in each block an Aho-Corasick search finds the few lines that name a
//! crawler or robots.txt, and only those are parsed. For each one it counts:
//! - per crawler (and per kind of its agent), requests by class, 5xx by status and 429;
//! - impostors: requests claiming a crawler from outside its published ranges, kept out of
//!   every other figure;
//! - every answer to `/robots.txt` (to anyone), kept to find its outages in time order;
//! - per path, the 5xx a crawler got and the last 2xx a crawler got (whether it recovered);
//! - per hour, crawler requests by class.
//!
//! A 429 counts as a 5xx does for crawling: Google slows crawling on 500, 503 and 429, and
//! takes a robots.txt answering 429 for a 5xx. The timeline of a robots.txt outage, as Google
//! documents it: a 5xx (or 429) on robots.txt makes Google treat the whole site as disallowed
//! and pause crawling (for up to 12 hours after the last failure, the spec's
//! `crawl_paused_until`); while it keeps failing, Google crawls with its last cached copy, for
//! up to 30 days from the start of the outage; past that, the site risks leaving the index.

pub mod crawlers;
pub mod fetch;

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

use serde::Serialize;

use crate::formats::{AccessRecord, Stamp, clean_text};
use crate::scan::{BlockAt, BlockObserver, InputReport, Scan};
use crate::scope::Scope;

pub use crawlers::{Crawler, Crawlers};

/// How long Google pauses crawling after a 5xx on robots.txt.
pub const PAUSE_MS: i64 = 12 * 3_600_000;
/// How long Google keeps crawling with a cached robots.txt while the live one fails.
pub const CACHED_COPY_MS: i64 = 30 * 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// Finds crawler and robots.txt lines in access-log blocks.
pub struct SeoObserver<'c> {
    pub crawlers: &'c Crawlers,
}

impl BlockObserver for SeoObserver<'_> {
    type Tally = SeoTally;

    fn observe(&self, block: &[u8], at: &BlockAt<'_>, tally: &mut SeoTally) {
        if self.crawlers.needs_every_line() {
            let mut start = 0;
            for line in crate::read::lines(block) {
                self.line(line, at, start, tally);
                start += line.len() + 1;
            }
            return;
        }
        // Only the lines with a token are parsed: most are neither a crawler's nor robots.txt.
        let mut from = 0;
        while let Some((start, end)) = self.crawlers.next_candidate(block, from) {
            self.line(&block[start..end], at, start, tally);
            from = end;
        }
    }

    fn merge(into: &mut SeoTally, other: SeoTally) {
        into.merge(other);
    }
}

impl SeoObserver<'_> {
    /// Counts one line, if it is a crawler's or robots.txt's (parsed again here: the main
    /// scan reads only the time and status of most lines).
    fn line(&self, line: &[u8], at: &BlockAt<'_>, offset: usize, tally: &mut SeoTally) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(r) = at.parse(line, offset) else {
            return;
        };
        if !at.window.contains(r.time) || !at.scope.admits_status(r.status) {
            return;
        }
        if at.scope.needs_record() && !at.scope.admits_place(&r) {
            return;
        }
        let crawler = self.crawlers.identify(&r.user_agent);
        let robots = r.path() == b"/robots.txt";
        if crawler.is_none() && !robots {
            return;
        }
        let server_error = (500..600).contains(&r.status);
        if let Some(c) = crawler
            && !self.crawlers.genuine(c, &r.client)
        {
            tally.impostors.add(r.status);
            *tally.impostors_by.entry(c).or_default() += 1;
            tally.impostor_robots_errors += u64::from(robots && server_error);
            tally.impostor_robots_rate_limited += u64::from(robots && r.status == RATE_LIMITED);
            return;
        }
        let order = (
            r.time.ms,
            at.input as u32,
            at.block_no << 32 | offset as u64,
        );
        if robots {
            let host = r.vhost.as_deref().map(clean_text).unwrap_or_default();
            tally.robots.entry(host).or_default().push(RobotsHit {
                time: r.time,
                order,
                status: r.status,
                crawler: crawler.map(|c| c as u8),
            });
        }
        let Some(c) = crawler else {
            return;
        };
        tally.counts(c).add(r.status);
        if let Some(t) = self.crawlers.list()[c].agent_type(&r.user_agent) {
            tally.types.entry((c, t)).or_default().add(r.status);
        }
        tally
            .hourly_classes
            .entry(r.time.ms.div_euclid(HOUR_MS))
            .or_default()
            .add(r.status);
        tally.span = Some(match tally.span {
            Some((a, b)) => (a.min(r.time), b.max(r.time)),
            None => (r.time, r.time),
        });
        if server_error {
            tally.failed(&r, c, order);
        } else if (200..300).contains(&r.status) {
            let last = tally.ok.entry(path_key(&r)).or_insert(order);
            *last = (*last).max(order);
        }
    }
}

/// 429 Too Many Requests: Google slows crawling on it as on 500 and 503, and takes a
/// robots.txt answering it for a 5xx.
pub const RATE_LIMITED: u16 = 429;

/// Whether an answer slows crawling and, on robots.txt, stops it: a 5xx or a 429.
pub fn slows_crawling(status: u16) -> bool {
    (500..600).contains(&status) || status == RATE_LIMITED
}

/// Requests by class: 2xx, 3xx, 4xx (429 apart), 429 and 5xx. Others (1xx, nginx's 0 or
/// 499…) are in no class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Classes<T> {
    #[serde(rename = "2xx")]
    pub success: T,
    #[serde(rename = "3xx")]
    pub redirect: T,
    #[serde(rename = "4xx")]
    pub client_error: T,
    #[serde(rename = "429")]
    pub rate_limited: T,
    #[serde(rename = "5xx")]
    pub server_error: T,
}

impl Classes<u64> {
    fn add(&mut self, status: u16) {
        match status {
            200..=299 => self.success += 1,
            300..=399 => self.redirect += 1,
            RATE_LIMITED => self.rate_limited += 1,
            400..=499 => self.client_error += 1,
            500..=599 => self.server_error += 1,
            _ => {}
        }
    }

    fn merge(&mut self, o: Classes<u64>) {
        self.success += o.success;
        self.redirect += o.redirect;
        self.client_error += o.client_error;
        self.rate_limited += o.rate_limited;
        self.server_error += o.server_error;
    }

    /// Each class as a share of `total` (0 to 1, four decimals; all 0 without requests).
    pub fn shares(&self, total: u64) -> Classes<f64> {
        let share = |n: u64| match total {
            0 => 0.0,
            t => (n as f64 / t as f64 * 10_000.0).round() / 10_000.0,
        };
        Classes {
            success: share(self.success),
            redirect: share(self.redirect),
            client_error: share(self.client_error),
            rate_limited: share(self.rate_limited),
            server_error: share(self.server_error),
        }
    }
}

impl<T: Copy> Classes<T> {
    /// `(name, value)` in the order reports show them.
    pub fn named(&self) -> [(&'static str, T); 5] {
        [
            ("2xx", self.success),
            ("3xx", self.redirect),
            ("4xx", self.client_error),
            ("429", self.rate_limited),
            ("5xx", self.server_error),
        ]
    }
}

/// Requests, the 5xx among them by status, the 429, and every class.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Counts {
    pub requests: u64,
    pub server_errors: u64,
    /// The 5xx statuses only, as in `diagnose`'s summary.
    pub by_status: BTreeMap<u16, u64>,
    /// 429 answers: rate limited.
    pub rate_limited: u64,
    pub by_class: Classes<u64>,
}

impl Counts {
    fn add(&mut self, status: u16) {
        self.requests += 1;
        self.by_class.add(status);
        if (500..600).contains(&status) {
            self.server_errors += 1;
            *self.by_status.entry(status).or_default() += 1;
        } else if status == RATE_LIMITED {
            self.rate_limited += 1;
        }
    }

    fn merge(&mut self, other: Counts) {
        self.requests += other.requests;
        self.server_errors += other.server_errors;
        self.rate_limited += other.rate_limited;
        self.by_class.merge(other.by_class);
        for (s, n) in other.by_status {
            *self.by_status.entry(s).or_default() += n;
        }
    }

    /// Whether a crawler got an answer that slows crawling (a 5xx or a 429).
    pub fn slowed(&self) -> bool {
        self.server_errors > 0 || self.rate_limited > 0
    }
}

/// Where a line stands among all: its time, then its input and place in it (block number
/// and offset), which order the lines a log stamps with the same second.
type Order = (i64, u32, u64);

/// One answer to `/robots.txt`.
#[derive(Clone, Copy, Debug)]
struct RobotsHit {
    time: Stamp,
    order: Order,
    status: u16,
    crawler: Option<u8>,
}

/// The 5xx crawlers got on one path.
#[derive(Clone, Debug)]
struct Failing {
    host: String,
    path: String,
    errors: u64,
    first: Stamp,
    last: Stamp,
    /// Where the last one stands, for whether a 2xx came after it.
    last_order: Order,
    /// Which crawlers got them, one bit each.
    crawlers: u64,
}

/// What the observer counted, on one thread or all.
#[derive(Debug, Default)]
pub struct SeoTally {
    crawlers: Vec<Counts>,
    impostors: Counts,
    impostors_by: BTreeMap<usize, u64>,
    /// 5xx answers to robots.txt that only impostors got: the server failed all the same.
    impostor_robots_errors: u64,
    /// 429 answers to robots.txt that impostors got.
    impostor_robots_rate_limited: u64,
    /// Crawler requests by (crawler, the index of its agent's type).
    types: BTreeMap<(usize, usize), Counts>,
    /// Crawler requests by class, by hour since the epoch.
    hourly_classes: BTreeMap<i64, Classes<u64>>,
    /// Answers to robots.txt, by virtual host (`""` where the log names none).
    robots: HashMap<String, Vec<RobotsHit>>,
    /// Paths that answered 5xx to a crawler, by [`path_key`].
    failing: HashMap<u64, Failing>,
    /// The last 2xx a crawler got, by [`path_key`] (a hash: this holds every path crawled).
    ok: HashMap<u64, Order>,
    /// Crawler 5xx by hour since the epoch.
    hourly: BTreeMap<i64, u64>,
    /// The first and last crawler request.
    span: Option<(Stamp, Stamp)>,
}

/// A path's identity, with its virtual host, as a hash: every crawled path is remembered
/// for whether it recovered, so it must cost no more than a few words.
fn path_key(r: &AccessRecord<'_>) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    r.vhost.as_deref().unwrap_or_default().hash(&mut h);
    r.path().hash(&mut h);
    h.finish()
}

impl SeoTally {
    fn counts(&mut self, crawler: usize) -> &mut Counts {
        if self.crawlers.len() <= crawler {
            self.crawlers.resize(crawler + 1, Counts::default());
        }
        &mut self.crawlers[crawler]
    }

    fn failed(&mut self, r: &AccessRecord<'_>, crawler: usize, order: Order) {
        *self
            .hourly
            .entry(r.time.ms.div_euclid(HOUR_MS))
            .or_default() += 1;
        let f = self.failing.entry(path_key(r)).or_insert_with(|| Failing {
            host: r.vhost.as_deref().map(clean_text).unwrap_or_default(),
            path: clean_text(r.path()),
            errors: 0,
            first: r.time,
            last: r.time,
            last_order: order,
            crawlers: 0,
        });
        f.errors += 1;
        f.first = f.first.min(r.time);
        f.last = f.last.max(r.time);
        f.last_order = f.last_order.max(order);
        f.crawlers |= 1 << crawler;
    }

    fn merge(&mut self, other: SeoTally) {
        for (i, c) in other.crawlers.into_iter().enumerate() {
            self.counts(i).merge(c);
        }
        self.impostors.merge(other.impostors);
        for (c, n) in other.impostors_by {
            *self.impostors_by.entry(c).or_default() += n;
        }
        self.impostor_robots_errors += other.impostor_robots_errors;
        self.impostor_robots_rate_limited += other.impostor_robots_rate_limited;
        for (key, c) in other.types {
            self.types.entry(key).or_default().merge(c);
        }
        for (hour, c) in other.hourly_classes {
            self.hourly_classes.entry(hour).or_default().merge(c);
        }
        for (host, hits) in other.robots {
            self.robots.entry(host).or_default().extend(hits);
        }
        for (key, f) in other.failing {
            match self.failing.entry(key) {
                std::collections::hash_map::Entry::Occupied(mut e) => {
                    let had = e.get_mut();
                    had.errors += f.errors;
                    had.first = had.first.min(f.first);
                    had.last = had.last.max(f.last);
                    had.last_order = had.last_order.max(f.last_order);
                    had.crawlers |= f.crawlers;
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(f);
                }
            }
        }
        for (key, t) in other.ok {
            let last = self.ok.entry(key).or_insert(t);
            *last = (*last).max(t);
        }
        for (hour, n) in other.hourly {
            *self.hourly.entry(hour).or_default() += n;
        }
        self.span = match (self.span, other.span) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (s, None) | (None, s) => s,
        };
    }
}

/// The `seo` report (shared/spec/cli.md), with a few fields more: `as_of`, `inputs`, each
/// crawler's `verified`, the outages' meaning, `recovered` paths and the hourly 5xx.
#[derive(Debug, Serialize)]
pub struct SeoReport {
    pub version: u32,
    /// The newest access-log line: "now", as far as the logs tell.
    pub as_of: Option<Stamp>,
    pub inputs: Vec<InputReport>,
    pub crawlers: indexmap::IndexMap<String, CrawlerReport>,
    pub impostors: Impostors,
    pub robots_txt: RobotsTxt,
    pub at_risk: Vec<AtRisk>,
    /// Crawler 5xx per hour (hours with none left out).
    pub crawler_server_errors_by_hour: Vec<HourCount>,
    /// Crawler requests by class per hour (hours with none left out).
    pub crawler_requests_by_hour: Vec<HourClasses>,
    /// The oldest crawler request: where the report's time axis starts.
    pub first_crawler_request: Option<Stamp>,
    /// The filters every figure is within (`--host`, `--path`, `--status`, the window).
    pub scope: Scope,
}

#[derive(Debug, Serialize)]
pub struct CrawlerReport {
    /// As people write it (`Googlebot`).
    pub label: String,
    #[serde(flatten)]
    pub counts: Counts,
    /// Each class's share of its requests (0 to 1).
    pub share_by_class: Classes<f64>,
    /// Whether its published ranges were given, so impostors were left out.
    pub verified: bool,
    /// Where its operator publishes its ranges (`--fetch-ranges` downloads them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ranges_source: Option<String>,
    /// By kind of agent (Googlebot: smartphone, desktop, image…), kinds with requests only.
    #[serde(skip_serializing_if = "indexmap::IndexMap::is_empty")]
    pub by_type: indexmap::IndexMap<String, TypeReport>,
}

/// The requests of one kind of a crawler's agents.
#[derive(Debug, Serialize)]
pub struct TypeReport {
    #[serde(flatten)]
    pub counts: Counts,
    pub share_by_class: Classes<f64>,
}

#[derive(Debug, Serialize)]
pub struct Impostors {
    pub requests: u64,
    pub server_errors: u64,
    pub rate_limited: u64,
    /// Their 5xx answers to robots.txt: left out of `robots_txt`, but the server did fail.
    pub robots_txt_server_errors: u64,
    /// Their 429 answers to robots.txt.
    pub robots_txt_rate_limited: u64,
    /// Requests by the crawler they claimed to be.
    pub by_crawler: BTreeMap<String, u64>,
}

#[derive(Debug, Serialize)]
pub struct RobotsTxt {
    pub requests: u64,
    pub server_errors: u64,
    /// 429 answers, which Google takes for a 5xx on robots.txt.
    pub rate_limited: u64,
    /// Where crawling stands at `as_of`: `ok` (never failed), `recovered` (failed, then
    /// answered), `paused` (Google pauses crawling now), `cached_copy` (still failing after
    /// the pause: Google crawls by its cached copy), `deindex_risk` (failing for over 30 days).
    pub state: RobotsState,
    pub outages: Vec<Outage>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RobotsState {
    Ok,
    Recovered,
    CachedCopy,
    Paused,
    DeindexRisk,
}

/// Consecutive 5xx or 429 answers to robots.txt, with no 2xx or other 4xx between them.
#[derive(Debug, Serialize)]
pub struct Outage {
    /// The virtual host, where the log names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub start: Stamp,
    pub end: Stamp,
    /// Its 5xx answers.
    pub server_errors: u64,
    /// Its 429 answers.
    pub rate_limited: u64,
    /// Its answers by status (5xx and 429).
    pub by_status: BTreeMap<u16, u64>,
    /// The last failure plus 12 hours.
    pub crawl_paused_until: Stamp,
    /// The start plus 30 days: how long Google uses its cached copy while it keeps failing.
    pub cached_copy_until: Stamp,
    /// No 2xx or 4xx answer came after it in the logs.
    pub ongoing: bool,
    /// The 2xx or 4xx answer that ended it.
    pub recovered_at: Option<Stamp>,
    /// The crawlers that got its 5xx or 429.
    pub crawlers: Vec<String>,
}

impl Outage {
    /// What robots.txt answered: `5xx`, `429`, or `5xx and 429`.
    pub fn answers(&self) -> &'static str {
        match (self.server_errors > 0, self.rate_limited > 0) {
            (true, true) => "5xx and 429",
            (false, true) => "429",
            _ => "5xx",
        }
    }

    /// Its failed answers, 5xx and 429.
    pub fn failures(&self) -> u64 {
        self.server_errors + self.rate_limited
    }
}

/// A path that answered 5xx to a crawler.
#[derive(Debug, Serialize)]
pub struct AtRisk {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub crawler_server_errors: u64,
    pub first: Stamp,
    pub last: Stamp,
    /// A crawler got a 2xx for it after the last 5xx.
    pub recovered: bool,
    pub crawlers: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct HourCount {
    pub hour: Stamp,
    pub server_errors: u64,
}

/// Crawler requests of one hour by class.
#[derive(Debug, Serialize)]
pub struct HourClasses {
    pub hour: Stamp,
    #[serde(flatten)]
    pub classes: Classes<u64>,
}

impl SeoReport {
    /// Whether anything was found: robots.txt answered 5xx or 429 (to anyone, impostors
    /// too), or a crawler got a 5xx or a 429.
    pub fn found(&self) -> bool {
        self.robots_txt.server_errors > 0
            || self.robots_txt.rate_limited > 0
            || self.impostors.robots_txt_server_errors > 0
            || self.impostors.robots_txt_rate_limited > 0
            || self.crawlers.values().any(|c| c.counts.slowed())
    }

    /// A crawler's label (`Googlebot`) from its id.
    pub fn label<'a>(&'a self, id: &'a str) -> &'a str {
        self.crawlers.get(id).map_or(id, |c| c.label.as_str())
    }
}

/// Builds the report from a scan and what the observer counted.
pub fn report(scan: Scan, tally: SeoTally, crawlers: &Crawlers) -> SeoReport {
    let names = |mask: u64| -> Vec<String> {
        (0..crawlers.list().len())
            .filter(|i| mask & 1 << i != 0)
            .map(|i| crawlers.list()[i].name.clone())
            .collect()
    };
    let as_of = scan.newest_access;
    let crawler_reports = crawlers
        .list()
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let counts = tally.crawlers.get(i).cloned().unwrap_or_default();
            let report = CrawlerReport {
                label: c.label.clone(),
                share_by_class: counts.by_class.shares(counts.requests),
                counts,
                verified: c.verified(),
                ranges_source: c.builtin.and_then(|b| b.ranges.clone()),
                by_type: by_type(&tally.types, i, c),
            };
            (c.name.clone(), report)
        })
        .collect();
    let impostors = Impostors {
        requests: tally.impostors.requests,
        server_errors: tally.impostors.server_errors,
        rate_limited: tally.impostors.rate_limited,
        robots_txt_server_errors: tally.impostor_robots_errors,
        robots_txt_rate_limited: tally.impostor_robots_rate_limited,
        by_crawler: tally
            .impostors_by
            .iter()
            .map(|(&c, &n)| (crawlers.list()[c].name.clone(), n))
            .collect(),
    };
    let robots_txt = robots_txt(tally.robots, as_of, &names);
    let mut at_risk: Vec<AtRisk> = tally
        .failing
        .into_iter()
        .map(|(key, f)| AtRisk {
            recovered: tally.ok.get(&key).is_some_and(|&t| t > f.last_order),
            host: (!f.host.is_empty()).then_some(f.host),
            path: f.path,
            crawler_server_errors: f.errors,
            first: f.first,
            last: f.last,
            crawlers: names(f.crawlers),
        })
        .collect();
    at_risk.sort_by(|a, b| {
        (b.crawler_server_errors, &a.host, &a.path).cmp(&(
            a.crawler_server_errors,
            &b.host,
            &b.path,
        ))
    });
    let offset = tally.span.map_or(0, |(_, last)| last.offset);
    let crawler_server_errors_by_hour = tally
        .hourly
        .into_iter()
        .map(|(hour, n)| HourCount {
            hour: Stamp {
                ms: hour * HOUR_MS,
                offset,
            },
            server_errors: n,
        })
        .collect();
    let crawler_requests_by_hour = tally
        .hourly_classes
        .into_iter()
        .map(|(hour, classes)| HourClasses {
            hour: Stamp {
                ms: hour * HOUR_MS,
                offset,
            },
            classes,
        })
        .collect();
    SeoReport {
        version: 1,
        as_of,
        inputs: scan.inputs,
        crawlers: crawler_reports,
        impostors,
        robots_txt,
        at_risk,
        crawler_server_errors_by_hour,
        crawler_requests_by_hour,
        first_crawler_request: tally.span.map(|(first, _)| first),
        scope: Scope::clone(&scan.scope),
    }
}

/// Crawler `index`'s requests by kind of agent, in the table's order, kinds with requests
/// only.
fn by_type(
    types: &BTreeMap<(usize, usize), Counts>,
    index: usize,
    crawler: &Crawler,
) -> indexmap::IndexMap<String, TypeReport> {
    crawler
        .type_names()
        .into_iter()
        .enumerate()
        .filter_map(|(t, name)| {
            let counts = types.get(&(index, t))?.clone();
            let share_by_class = counts.by_class.shares(counts.requests);
            Some((
                name.to_owned(),
                TypeReport {
                    counts,
                    share_by_class,
                },
            ))
        })
        .collect()
}

/// Counts the answers to robots.txt and finds its outages, host by host in time order.
fn robots_txt(
    by_host: HashMap<String, Vec<RobotsHit>>,
    as_of: Option<Stamp>,
    names: &dyn Fn(u64) -> Vec<String>,
) -> RobotsTxt {
    let mut requests = 0;
    let mut server_errors = 0;
    let mut rate_limited = 0;
    let mut outages = Vec::new();
    for (host, mut hits) in by_host {
        hits.sort_unstable_by_key(|h| h.order);
        requests += hits.len() as u64;
        let host = (!host.is_empty()).then_some(host);
        let mut open: Option<Outage> = None;
        let mut mask = 0u64;
        for h in hits {
            match h.status {
                s if slows_crawling(s) => {
                    let o = open.get_or_insert_with(|| new_outage(host.clone(), h.time));
                    o.end = h.time;
                    *o.by_status.entry(s).or_default() += 1;
                    if s == RATE_LIMITED {
                        rate_limited += 1;
                        o.rate_limited += 1;
                    } else {
                        server_errors += 1;
                        o.server_errors += 1;
                    }
                    if let Some(c) = h.crawler {
                        mask |= 1 << c;
                    }
                }
                200..=299 | 400..=499 => {
                    if let Some(mut o) = open.take() {
                        o.recovered_at = Some(h.time);
                        outages.push(finish_outage(o, std::mem::take(&mut mask), names));
                    }
                }
                _ => {}
            }
        }
        if let Some(mut o) = open {
            o.ongoing = true;
            outages.push(finish_outage(o, mask, names));
        }
    }
    outages.sort_by_key(|o| (o.start, o.host.clone()));
    let state = outages
        .iter()
        .map(|o| outage_state(o, as_of))
        .max()
        .unwrap_or(RobotsState::Ok);
    RobotsTxt {
        requests,
        server_errors,
        rate_limited,
        state,
        outages,
    }
}

fn new_outage(host: Option<String>, start: Stamp) -> Outage {
    Outage {
        host,
        start,
        end: start,
        server_errors: 0,
        rate_limited: 0,
        by_status: BTreeMap::new(),
        crawl_paused_until: start,
        cached_copy_until: start,
        ongoing: false,
        recovered_at: None,
        crawlers: Vec::new(),
    }
}

fn finish_outage(mut o: Outage, crawlers: u64, names: &dyn Fn(u64) -> Vec<String>) -> Outage {
    o.crawl_paused_until = Stamp {
        ms: o.end.ms.saturating_add(PAUSE_MS),
        offset: o.end.offset,
    };
    o.cached_copy_until = Stamp {
        ms: o.start.ms.saturating_add(CACHED_COPY_MS),
        offset: o.start.offset,
    };
    o.crawlers = names(crawlers);
    o
}

/// Where one outage leaves crawling at `as_of`.
pub fn outage_state(o: &Outage, as_of: Option<Stamp>) -> RobotsState {
    let now = as_of.map_or(o.end.ms, |t| t.ms);
    if !o.ongoing {
        RobotsState::Recovered
    } else if now < o.crawl_paused_until.ms {
        RobotsState::Paused
    } else if now < o.cached_copy_until.ms {
        RobotsState::CachedCopy
    } else {
        RobotsState::DeindexRisk
    }
}
