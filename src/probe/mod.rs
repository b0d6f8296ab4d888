//! `fivehundred probe`: requests a site's URLs (and a few variants that commonly make an
//! application fail) and reports what its answers leak: stack traces, SQL errors, file paths,
//! versions, debug consoles, internal addresses.
//!
//! [`plan`] says what to request, [`fetch`] requests it (same host only, rate-limited),
//! [`detect`] applies the [`signatures`] table to each answer, [`render`] writes the text
//! report; the JSON report is [`Report`] serialised.

pub mod detect;
pub mod fetch;
pub mod plan;
pub mod render;
pub mod signatures;

use std::collections::{HashSet, VecDeque};

use reqwest::Url;
use serde::Serialize;

use detect::{Answer, Hit, Probe};
pub use fetch::{FetchError, Limits};
use fetch::{Fetched, Fetcher};
use signatures::{Category, Severity};

/// Default rate: a few requests a second, polite to a production site.
pub const DEFAULT_RATE: f64 = 4.0;
/// Default timeout per request, in seconds.
pub const DEFAULT_TIMEOUT: f64 = 10.0;
/// Default body cap: leaks show at the top of a page, and a huge body must not exhaust memory.
pub const DEFAULT_BODY_CAP: usize = 2 * 1024 * 1024;

/// What a run may do.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Same-host links followed from the pages fetched, at most.
    pub crawl: usize,
    pub limits: Limits,
}

/// The JSON report (cli.md, `probe`).
#[derive(Debug, Serialize)]
pub struct Report {
    pub version: u32,
    pub targets: Vec<Target>,
}

/// One URL probed: given on the command line or found by `--crawl`.
#[derive(Debug, Serialize)]
pub struct Target {
    pub url: String,
    /// The status of the URL as given; `null` when it got no answer.
    pub status: Option<u16>,
    /// Worst first.
    pub findings: Vec<Finding>,
    /// Why the URL got no answer (the target's other requests are then not sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Variants that got no answer (a timeout is worth knowing, not fatal).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed_requests: Vec<FailedRequest>,
}

/// A variant that got no answer.
#[derive(Debug, Serialize)]
pub struct FailedRequest {
    pub request: &'static str,
    pub error: String,
}

/// One leak.
#[derive(Debug, Serialize)]
pub struct Finding {
    pub category: Category,
    #[serde(rename = "where")]
    pub place: String,
    pub excerpt: String,
    pub severity: Severity,
    /// The signature's id in the table.
    pub signature: String,
    /// The stack the leak points to, in words.
    pub stack: String,
    /// The one-line fix for that stack.
    pub fix: String,
    /// The request that got it (`as_given`, `quote`, …).
    pub request: &'static str,
    /// The status of the answer it was in.
    pub status: u16,
}

impl Report {
    /// The worst severity found, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.targets.iter().filter_map(Target::worst).min()
    }

    /// Whether the spec's exit code is 1: any finding of severity medium or high.
    pub fn fails(&self) -> bool {
        self.worst().is_some_and(Severity::fails)
    }
}

impl Target {
    fn new(url: &Url) -> Target {
        Target {
            url: url.to_string(),
            status: None,
            findings: Vec::new(),
            error: None,
            failed_requests: Vec::new(),
        }
    }

    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).min()
    }
}

/// Probes every URL, then the links `--crawl` allows, one request at a time.
pub async fn probe(urls: &[Url], opts: &Options) -> Result<Report, FetchError> {
    let mut fetcher = Fetcher::new(opts.limits)?;
    let mut queue: VecDeque<Url> = VecDeque::new();
    let mut seen: HashSet<Url> = HashSet::new();
    for url in urls {
        if seen.insert(url.clone()) {
            queue.push_back(url.clone());
        }
    }
    let mut crawl_left = opts.crawl;
    let mut targets = Vec::new();
    while let Some(url) = queue.pop_front() {
        let (target, links) = probe_target(&mut fetcher, &url).await;
        for link in links {
            if crawl_left == 0 {
                break;
            }
            if seen.insert(link.clone()) {
                queue.push_back(link);
                crawl_left -= 1;
            }
        }
        targets.push(target);
    }
    Ok(Report {
        version: 1,
        targets,
    })
}

/// One target: the URL as given, then its variants; returns the links its page holds.
async fn probe_target(fetcher: &mut Fetcher, url: &Url) -> (Target, Vec<Url>) {
    let host = url.host_str().unwrap_or_default();
    let mut target = Target::new(url);
    let mut links = Vec::new();
    let mut reported = HashSet::new();
    for (i, req) in plan::requests(url).iter().enumerate() {
        let answer = match fetcher.get(req).await {
            Ok(answer) => answer,
            Err(e) if i == 0 => {
                target.error = Some(e.to_string());
                break;
            }
            Err(e) => {
                target.failed_requests.push(FailedRequest {
                    request: req.name,
                    error: e.to_string(),
                });
                continue;
            }
        };
        if i == 0 {
            target.status = Some(answer.status);
            links = page_links(&answer);
        }
        let probe = Probe {
            host,
            payloads: &req.payloads,
        };
        for hit in detect::detect(&as_answer(&answer), &probe) {
            let key = (
                hit.signature.category,
                hit.place.clone(),
                hit.signature.id.as_str(),
            );
            if reported.insert(key) {
                target.findings.push(finding(hit, req.name, answer.status));
            }
        }
    }
    target.findings.sort_by_key(|f| (f.severity, f.category));
    (target, links)
}

fn as_answer(f: &Fetched) -> Answer<'_> {
    Answer {
        headers: &f.headers,
        body: &f.body,
        path: f.url.path(),
    }
}

/// Links of an HTML answer (other answers are not crawled).
fn page_links(f: &Fetched) -> Vec<Url> {
    let html = f
        .headers
        .iter()
        .any(|(n, v)| n == "content-type" && v.to_ascii_lowercase().contains("html"));
    if html {
        plan::links(&f.url, &String::from_utf8_lossy(&f.body))
    } else {
        Vec::new()
    }
}

fn finding(hit: Hit, request: &'static str, status: u16) -> Finding {
    let sig = hit.signature;
    Finding {
        category: sig.category,
        place: hit.place,
        excerpt: hit.excerpt,
        severity: sig.severity,
        signature: sig.id.clone(),
        stack: sig.stack.name.clone(),
        fix: sig.stack.fix.clone(),
        request,
        status,
    }
}
