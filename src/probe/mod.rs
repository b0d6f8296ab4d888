//! `fivehundred probe`: requests a site's URLs (and a few variants that commonly make an
//! application fail) and reports what its answers leak: stack traces, SQL errors, file paths,
//! versions, debug consoles, internal addresses.
//!
//! [`plan`] says what to request, [`fetch`] requests it (same host only, rate-limited),
//! [`detect`] applies the [`signatures`] table to each answer, [`group`] folds the same leak
//! seen on several URLs of a site into one finding, and [`render`], [`sarif`] and [`junit`]
//! write the text, SARIF and JUnit reports; the JSON report is [`Report`] serialised.
//!
//! 1. Each URL given (and each link `--crawl` allows) gets the URL as given and its variants;
//!    each answer's hits keep one finding per category and place (the first, most specific
//!    row wins: a traceback and its frames are one stack trace).
//! 2. The first time a site (scheme, host, port) is met, its debug endpoints (the table's
//!    `debug_paths`: `/actuator`, `/debug/pprof/`, …) are requested once; one that leaks
//!    something medium or high becomes a target of its own.
//! 3. [`group`]: findings of one site with the same category, place and normalised excerpt
//!    are one, with the list of URLs they were seen on.

pub mod detect;
pub mod fetch;
pub mod group;
pub mod junit;
pub mod plan;
pub mod render;
pub mod sarif;
pub mod signatures;

use std::collections::{HashSet, VecDeque};

use reqwest::Url;
use serde::Serialize;

use detect::{Answer, Hit, Probe};
pub use fetch::{FetchError, Limits, Session};
use fetch::{Fetched, Fetcher};
pub use group::SiteFinding;
use signatures::{Category, Severity, Signatures};

/// Default rate: a few requests a second, polite to a production site.
pub const DEFAULT_RATE: f64 = 4.0;
/// Default timeout per request, in seconds.
pub const DEFAULT_TIMEOUT: f64 = 10.0;
/// Default body cap: leaks show at the top of a page, and a huge body must not exhaust memory.
pub const DEFAULT_BODY_CAP: usize = 2 * 1024 * 1024;

/// What a run may do.
#[derive(Clone, Debug)]
pub struct Options {
    /// Same-host links followed from the pages fetched, at most.
    pub crawl: usize,
    pub limits: Limits,
    pub session: Session,
}

/// The JSON report (cli.md, `probe`).
#[derive(Debug, Serialize)]
pub struct Report {
    pub version: u32,
    pub targets: Vec<Target>,
    /// The targets' findings, one per leak and site with the URLs it was seen on (an
    /// addition to the spec's shape), worst first.
    pub findings: Vec<SiteFinding>,
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
#[derive(Clone, Debug, Serialize)]
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
    fn new(targets: Vec<Target>) -> Report {
        let findings = group::by_site(&targets);
        Report {
            version: 1,
            targets,
            findings,
        }
    }

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

/// Probes every URL, then the links `--crawl` allows, one request at a time; each site's
/// debug endpoints once, after its first URL.
pub async fn probe(urls: &[Url], opts: &Options) -> Result<Report, FetchError> {
    let mut fetcher = Fetcher::new(opts.limits, &opts.session)?;
    let mut queue: VecDeque<Url> = VecDeque::new();
    let mut seen: HashSet<Url> = HashSet::new();
    for url in urls {
        if seen.insert(url.clone()) {
            queue.push_back(url.clone());
        }
    }
    let mut crawl_left = opts.crawl;
    let mut sites: HashSet<String> = HashSet::new();
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
        let reached = target.error.is_none();
        targets.push(target);
        if reached && sites.insert(group::site_of(&url)) {
            targets.extend(probe_debug_paths(&mut fetcher, &url, &seen).await);
        }
    }
    Ok(Report::new(targets))
}

/// The site's debug endpoints (the table's `debug_paths`) not already probed, each requested
/// once; those whose answer leaks something medium or high, as targets.
async fn probe_debug_paths(fetcher: &mut Fetcher, site: &Url, seen: &HashSet<Url>) -> Vec<Target> {
    let host = site.host_str().unwrap_or_default();
    let mut found = Vec::new();
    for path in &Signatures::builtin().debug_paths {
        let Ok(url) = site.join(path) else { continue };
        if seen.contains(&url) {
            continue;
        }
        let req = plan::debug_path(&url);
        let Ok(answer) = fetcher.get(&req).await else {
            continue;
        };
        let mut target = Target::new(&url);
        target.status = Some(answer.status);
        add_findings(&mut target, &answer, host, &req);
        if target.worst().is_some_and(Severity::fails) {
            target.findings.sort_by_key(|f| (f.severity, f.category));
            found.push(target);
        }
    }
    found
}

/// One target: the URL as given, then its variants; returns the links its page holds.
async fn probe_target(fetcher: &mut Fetcher, url: &Url) -> (Target, Vec<Url>) {
    let host = url.host_str().unwrap_or_default();
    let mut target = Target::new(url);
    let mut links = Vec::new();
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
        add_findings(&mut target, &answer, host, req);
    }
    target.findings.sort_by_key(|f| (f.severity, f.category));
    (target, links)
}

/// Adds the hits of one answer that say something new: one finding per category and place
/// per target. Several rows of one category often match one page (a traceback's header and
/// its frames; `SQLSTATE[42P01]` and PostgreSQL's `relation … does not exist` on the same
/// line), and each printed alone read as the same finding twice.
/// What an answer to one request leaks, added to its target: one finding per category and
/// place (two rows of one category matching the same line are one leak).
fn add_findings(target: &mut Target, answer: &Fetched, host: &str, req: &plan::Request) {
    let probe = Probe {
        host,
        payloads: &req.payloads,
    };
    let (request, status) = (req.name, answer.status);
    for hit in detect::detect(&as_answer(answer), &probe) {
        let known = target
            .findings
            .iter()
            .any(|f| f.category == hit.signature.category && f.place == hit.place);
        if !known {
            target.findings.push(finding(hit, request, status));
        }
    }
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
