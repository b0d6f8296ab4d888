//! Diagnosis: the [engine](crate::engine) over what a scan read, its decisions named with
//! the [rule table](rules) and grouped into incidents: one per (host, cause, place), the same
//! path on two virtual hosts being two incidents.
//!
//! With `--trace`, each incident also lists every access-log line it accounts for and every
//! error-log record tied to it, as (input, line): what lets a person or a test check every
//! single attribution against the logs.

pub mod rules;

use std::borrow::Cow;
use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use serde::Serialize;

use crate::engine::assign::Request;
use crate::engine::identity::{self, Asked, Sites};
use crate::engine::unit::{self, Keep, LineAt};
use crate::engine::{Engine, Finding, Sink, stream};
use crate::formats::Stamp;
use crate::formats::app::Language;
use crate::response_times::Percentiles;
use crate::scan::{InputReport, Scan, Sym};
use rules::{Rules, UNKNOWN};

/// The `diagnose` JSON document.
#[derive(Debug, Serialize)]
pub struct Report {
    pub version: u32,
    pub inputs: Vec<InputReport>,
    pub summary: Summary,
    pub incidents: Vec<Incident>,
    /// Error-log incidents that no 5xx in the access logs accounts for (a worker that died
    /// before the request was logged, an error the application recovered from). Empty when
    /// only error logs were read: they are the incidents then.
    pub other_errors: Vec<Incident>,
    /// The filters every figure is within (`--host`, `--path`, `--status`, the window).
    pub scope: crate::scope::Scope,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub requests: u64,
    pub server_errors: u64,
    /// The 5xx responses by status; they add up to `server_errors`.
    pub by_status: BTreeMap<String, u64>,
    /// Every response by status class, `1xx` to `5xx` (each present, 0 if none): the status
    /// mix beside the 5xx. Counted from the per-status tally the scan keeps anyway.
    pub by_class: BTreeMap<String, u64>,
    /// The (host, path) pairs that answered the most 5xx, most first (at most
    /// [`MAX_TOP_PATHS`]).
    pub top_paths: Vec<PathCount>,
    /// Response times by status class (`{"2xx": {"count", "p50_ms", "p90_ms", "p99_ms"}}`),
    /// where the access logs carry them (`$request_time`, `%D`); left out when none do.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub response_times: BTreeMap<String, Percentiles>,
    /// Requests by virtual host (`[{"host", "requests"}]`, the most first, at most
    /// [`crate::host_requests::MAX_LISTED`]), where the access logs name hosts; left out when
    /// none do.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requests_by_host: Vec<crate::host_requests::HostRequests>,
}

/// A path and how many 5xx it answered (with its host in the summary's list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathCount {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub path: String,
    pub count: u64,
}

/// Responses (or, with error logs only, error records) with one cause and one place.
#[derive(Debug, Serialize)]
pub struct Incident {
    pub cause: &'static str,
    pub status: BTreeMap<String, u64>,
    pub count: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// The paths that answered the incident's 5xx, most first: at most [`MAX_PATHS`], so that a
    /// million responses over 100,000 paths stay a short list (`distinct_paths` says how many
    /// there were).
    pub paths: Vec<String>,
    /// The first [`MAX_TOP_PATHS`] of `paths` with their counts.
    pub top_paths: Vec<PathCount>,
    /// How many different paths answered the incident's 5xx (`paths` lists the first).
    pub distinct_paths: u64,
    pub file: Option<String>,
    pub line: Option<u64>,
    /// The language of the application whose log explains it (`python`, `ruby`…), for
    /// causes read from an application server's log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    /// The exception class the application's stack trace ends with (`KeyError`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
    pub evidence: Vec<String>,
    pub fix: String,
    /// The cause in words, for people reading the JSON.
    pub title: String,
    /// The virtual host, where the logs name one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The program or container that wrote its access lines, where an envelope (syslog,
    /// journald, Docker, CRI) names one: two containers failing alike are two incidents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// With `--trace`: every access-log line the incident accounts for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responses: Option<Vec<LineAt>>,
    /// With `--trace`: every error-log record tied to it (for an unexplained response, the
    /// nearest records shown with it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence_at: Option<Vec<LineAt>>,
    /// With `--trace`: the responses among `responses` whose record fitted another response
    /// (of another path or status) just as well but for the exact time: where the logs
    /// cannot tell, the attribution is the engine's best reading, not a certainty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ambiguous: Option<Vec<LineAt>>,
    /// When each 5xx response of the incident was logged, in time order: the HTML report's
    /// chart buckets them. Kept out of the JSON (the spec's shape has only the span); empty
    /// for incidents built from error records alone.
    #[serde(skip)]
    pub times: Vec<Stamp>,
}

/// Builds incidents from what a scan read (reading the error logs it found on the way);
/// `trace` adds where each line and record stands.
pub fn diagnose(mut scan: Scan, rules: &Rules, trace: bool) -> Report {
    let (incidents, other_errors) = explain(&mut scan, rules, trace);
    Report {
        version: 1,
        summary: Summary {
            requests: scan.requests,
            server_errors: scan.responses.len() as u64,
            by_status: scan
                .by_status
                .range(500..600)
                .map(|(s, n)| (s.to_string(), *n))
                .collect(),
            by_class: by_class(&scan.by_status),
            top_paths: top_paths(&scan),
            response_times: BTreeMap::new(),
            requests_by_host: Vec::new(),
        },
        scope: crate::scope::Scope::clone(&scan.scope),
        inputs: scan.inputs,
        incidents,
        other_errors,
    }
}

/// Responses by status class, `1xx` to `5xx`, each present (`000`, nginx's closed
/// connection, is in none).
fn by_class(by_status: &BTreeMap<u16, u64>) -> BTreeMap<String, u64> {
    (1..=5u16)
        .map(|c| {
            let n = by_status
                .range(c * 100..c * 100 + 100)
                .map(|(_, n)| n)
                .sum();
            (format!("{c}xx"), n)
        })
        .collect()
}

/// The (host, path) pairs with the most 5xx, counted on the interned strings: no text is
/// copied but the few kept.
fn top_paths(scan: &Scan) -> Vec<PathCount> {
    let mut counts: FxHashMap<(Option<Sym>, Sym), u64> = FxHashMap::default();
    for r in scan.responses.iter() {
        *counts.entry((r.vhost, r.path)).or_default() += 1;
    }
    let text = |s: Sym| scan.strings.get(s);
    let mut list: Vec<(u64, Option<&str>, &str)> = counts
        .into_iter()
        .map(|((host, path), n)| (n, host.map(text), text(path)))
        .collect();
    list.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| (a.1, a.2).cmp(&(b.1, b.2))));
    list.into_iter()
        .take(MAX_TOP_PATHS)
        .map(|(count, host, path)| PathCount {
            host: host.map(str::to_owned),
            path: path.to_owned(),
            count,
        })
        .collect()
}

/// The incidents of a scan: those its 5xx responses make, and those of the error records no
/// response accounts for (with no access log, the incidents are those).
pub fn explain(scan: &mut Scan, rules: &Rules, trace: bool) -> (Vec<Incident>, Vec<Incident>) {
    let pending = scan.pending_errors.take();
    let scan_ref: &Scan = scan;
    let (answered, unanswered, tallies) = explain_with(scan_ref, pending, rules, trace);
    for t in tallies {
        note_tally(scan, t);
    }
    if scan.has_access_logs() {
        (
            answered.into_incidents(rules),
            unanswered.into_incidents(rules),
        )
    } else {
        (unanswered.into_incidents(rules), Vec::new())
    }
}

/// The newest time the scan's lines carry, reading its error logs for theirs (the reference
/// for `--since 2h`).
pub fn newest(mut scan: Scan) -> Option<i64> {
    let access = scan.newest();
    let Some(pending) = scan.pending_errors.take() else {
        return access;
    };
    let tallies = stream::stream(pending, Rules::builtin(), &Keep::classified(), |_| {});
    let errors = tallies.iter().filter_map(|t| t.newest).map(|t| t.ms).max();
    access.max(errors)
}

/// Adds what reading an error log came to into its input report, and says on stderr when
/// its records came out of order or reading stopped early.
fn note_tally(scan: &mut Scan, t: stream::Tally) {
    let Some(report) = scan.inputs.get_mut(t.index) else {
        return;
    };
    report.lines += t.lines;
    report.unparsed += t.unparsed;
    report.untimed += t.untimed;
    if let Some(e) = t.error {
        let e = crate::read::ReadError::Io {
            path: report.path.clone(),
            error: e,
        };
        eprintln!("fivehundred: warning: {e} (the lines before it were read)");
        report.error = Some(e.to_string());
    }
    if t.out_of_order > 0 {
        eprintln!(
            "fivehundred: warning: {}: {} record(s) more than {} s out of time order were read on their own",
            report.path,
            t.out_of_order,
            stream::REORDER_MS / 1000
        );
    }
    if t.untimed > 0 {
        eprintln!(
            "fivehundred: warning: {}: {} record(s) with no time of their own, no envelope's and no timed line before them were read but tied to nothing",
            report.path, t.untimed
        );
    }
}

/// The engine over a scan's responses and its error records (read now where they are
/// pending): the incidents being built, and what reading each error log came to.
fn explain_with(
    scan: &Scan,
    pending: Option<stream::Pending>,
    rules: &Rules,
    trace: bool,
) -> (Groups, Groups, Vec<stream::Tally>) {
    let responses: Vec<_> = scan.responses.iter().collect();
    // In one spelling (an address the scan read as one is written in it already), written once
    // per client, not per response.
    let mut spelled: FxHashMap<crate::scan::Client, usize> = FxHashMap::default();
    let mut spellings: Vec<Cow<str>> = Vec::new();
    let clients: Vec<usize> = responses
        .iter()
        .map(|r| {
            *spelled.entry(r.client).or_insert_with(|| {
                spellings.push(match r.client.text(&scan.strings) {
                    Cow::Borrowed(name) => identity::client_key(name),
                    address => address,
                });
                spellings.len() - 1
            })
        })
        .collect();
    let hosts: Vec<Option<Box<str>>> = responses
        .iter()
        .map(|r| r.vhost.map(|v| identity::host_key(scan.strings.get(v))))
        .collect();
    let requests: Vec<Request> = responses
        .iter()
        .enumerate()
        .map(|(i, r)| Request {
            ms: r.time.ms,
            status: r.status,
            asked: Asked {
                input: r.input as usize,
                client: &spellings[clients[i]],
                path: scan.strings.get(r.path),
                host: hosts[i].as_deref(),
                request_id: r.request_id.map(|id| scan.strings.get(id)),
            },
            own: r.reason.and_then(|own| {
                let format = scan.inputs.get(r.input as usize)?.format;
                rules.classify_reason(format, scan.strings.get(own.reason))
            }),
        })
        .collect();
    let sink = Incidents {
        answered: Groups::new(trace),
        unanswered: Groups::new(trace),
        responses: &responses,
        scan,
        error_origins: pending
            .as_ref()
            .map(|p| p.origins.clone())
            .unwrap_or_default(),
    };
    // With no response to explain, a line that names no cause is no one's own (and with no
    // error log, there is nothing to keep).
    let keep = if scan.has_access_logs() && (pending.is_some() || !scan.errors.is_empty()) {
        Keep::own_lines_of(
            requests.iter().map(|r| r.asked.path),
            spellings.iter().map(|c| &**c),
        )
    } else {
        Keep::classified()
    };
    let mut engine = Engine::new(rules, Sites::new(&scan.inputs), requests, sink);
    for u in unit::units_of(&scan.errors, rules, &keep) {
        engine.push(u);
    }
    let tallies = match pending {
        Some(p) => stream::stream(p, rules, &keep, |u| engine.push(u)),
        None => Vec::new(),
    };
    let sink = engine.finish();
    (sink.answered, sink.unanswered, tallies)
}

/// The engine's decisions, grouped as they come.
struct Incidents<'s> {
    answered: Groups,
    unanswered: Groups,
    responses: &'s [&'s crate::scan::Response],
    scan: &'s Scan,
    /// Where the error logs read through an envelope came from, as they are read.
    error_origins: stream::ErrorOrigins,
}

impl Sink for Incidents<'_> {
    fn response(&mut self, index: usize, finding: Finding<'_>) {
        let r = self.responses[index];
        // The HTTP host, else the machine the line's envelope names.
        let origin = self.scan.envelope_origin(r).unwrap_or_default();
        let host = match r.vhost {
            Some(v) => Some(identity::host_key(self.scan.strings.get(v))),
            None => origin.host,
        };
        let at = LineAt {
            input: r.input as usize,
            line: self.scan.response_line(r),
        };
        let seen = Seen {
            time: r.time,
            status: Some(r.status),
            path: Some(self.scan.strings.get(r.path)),
            host: host.as_deref(),
            source: origin.source.as_deref(),
            at: Some(at),
        };
        let own = r
            .reason
            .filter(|_| finding.own)
            .map(|own| (self.scan.strings.get(own.line), at));
        self.answered.add(&finding, &seen, own);
    }

    fn leftover(&mut self, finding: Finding<'_>) {
        let Some(first) = finding.units.first() else {
            return;
        };
        // Filtered by the HTTP host and path its records name, not its envelope's machine.
        let named = |f: fn(&unit::Unit) -> Option<&str>| finding.units.iter().find_map(|u| f(u));
        let (host, path) = (named(|u| u.host.as_deref()), named(|u| u.target.as_deref()));
        if !self.scan.scope.admits_event(host, path) {
            return;
        }
        // The HTTP host a record names, else the machine its envelope names.
        let at = first.at();
        let origin = (self.error_origins.at(at))
            .or_else(|| self.scan.origin_at(at.input, at.line))
            .unwrap_or_default();
        let seen = Seen {
            time: first.time,
            status: None,
            path: None,
            host: host.or(origin.host.as_deref()),
            source: origin.source.as_deref(),
            at: None,
        };
        self.unanswered.add(&finding, &seen, None);
    }
}

/// What was seen failing: a response, or (with no access line) a failure in the error logs.
struct Seen<'a> {
    time: Stamp,
    status: Option<u16>,
    path: Option<&'a str>,
    host: Option<&'a str>,
    /// The program or container its envelope names.
    source: Option<&'a str>,
    at: Option<LineAt>,
}

/// Where an incident is: the file the evidence names, or its directory when the name is one
/// made up per request (`/var/lib/nginx/body/0000000042`, `uploads/php8f3a9c2e1b.tmp`,
/// `sessions/sess_…`): a full disk or an unwritable upload dir is one incident, not one per
/// temporary file.
fn place_of(file: &str, line: Option<u64>) -> String {
    let (dir, name) = file.rsplit_once('/').unwrap_or(("", file));
    if line.is_none() && !dir.is_empty() && is_generated_name(name) {
        dir.to_owned()
    } else {
        file.to_owned()
    }
}

/// A file name with a long run of digits, of hex with digits in it, or of letters and digits
/// (a session id): names programs generate, not ones people choose.
fn is_generated_name(name: &str) -> bool {
    let b = name.as_bytes();
    has_run(b, |c| c.is_ascii_digit(), 6, 0)
        || has_run(b, |c| c.is_ascii_hexdigit(), 8, 2)
        || has_run(b, |c| c.is_ascii_alphanumeric(), 16, 3)
}

/// Whether `b` has a run of at least `len` bytes that `keep` accepts, with at least `digits`
/// ASCII digits in it.
fn has_run(b: &[u8], keep: fn(&u8) -> bool, len: usize, digits: usize) -> bool {
    b.split(|c| !keep(c))
        .any(|run| run.len() >= len && run.iter().filter(|c| c.is_ascii_digit()).count() >= digits)
}

/// What makes an incident one: its host and source, its cause and the place the evidence names.
type GroupKey = (Where, &'static str, Option<String>, Option<u64>);

/// The host and the source (program or container) an incident was seen on.
type Where = (Option<String>, Option<String>);

/// An incident being built, with what it still needs counted.
struct Group {
    incident: Incident,
    paths: FxHashMap<String, u64>,
    span: (Stamp, Stamp),
}

/// Incidents being built, in order of first appearance.
struct Groups {
    order: Vec<GroupKey>,
    map: FxHashMap<GroupKey, Group>,
    trace: bool,
}

impl Groups {
    fn new(trace: bool) -> Groups {
        Groups {
            order: Vec::new(),
            map: FxHashMap::default(),
            trace,
        }
    }

    /// Counts one decision in its incident; `own`: the access line that is its evidence (where
    /// the verdict is the line's own reason) and where it is.
    fn add(&mut self, finding: &Finding, seen: &Seen, own: Option<(&str, LineAt)>) {
        let at = (seen.host.map(str::to_owned), seen.source.map(str::to_owned));
        let key: GroupKey = match finding.verdict {
            Some(v) => (
                at,
                v.cause,
                v.file.as_deref().map(|f| place_of(f, v.line)),
                v.line,
            ),
            None => (at, UNKNOWN, None, None),
        };
        let trace = self.trace;
        let group = self.map.entry(key.clone()).or_insert_with(|| {
            self.order.push(key.clone());
            Group {
                incident: Incident {
                    cause: key.1,
                    status: BTreeMap::new(),
                    count: 0,
                    first_seen: None,
                    last_seen: None,
                    paths: Vec::new(),
                    top_paths: Vec::new(),
                    distinct_paths: 0,
                    file: key.2.clone(),
                    line: key.3,
                    language: finding.verdict.as_ref().and_then(|v| v.language),
                    exception: finding.verdict.as_ref().and_then(|v| v.exception.clone()),
                    evidence: Vec::new(),
                    fix: String::new(),
                    title: String::new(),
                    host: key.0.0.clone(),
                    source: key.0.1.clone(),
                    responses: trace.then(Vec::new),
                    evidence_at: trace.then(Vec::new),
                    ambiguous: trace.then(Vec::new),
                    times: Vec::new(),
                },
                paths: FxHashMap::default(),
                span: (seen.time, seen.time),
            }
        });
        let incident = &mut group.incident;
        incident.count += 1;
        if let Some(status) = seen.status {
            // Counted under its text, made once per status and incident, not per response.
            let mut buf = itoa::Buffer::new();
            let text = buf.format(status);
            match incident.status.get_mut(text) {
                Some(n) => *n += 1,
                None => drop(incident.status.insert(text.to_owned(), 1)),
            }
            incident.times.push(seen.time);
        }
        if let Some(path) = seen.path {
            match group.paths.get_mut(path) {
                Some(n) => *n += 1,
                None => drop(group.paths.insert(path.to_owned(), 1)),
            }
        }
        if let (Some(list), Some(at)) = (&mut incident.responses, seen.at) {
            list.push(at);
        }
        if let (Some(list), Some(at), true) = (&mut incident.ambiguous, seen.at, finding.ambiguous)
        {
            list.push(at);
        }
        if let Some((line, at)) = own {
            add_texts(incident, [line], [at]);
        }
        for u in &finding.units {
            add_texts(
                incident,
                u.texts.iter().map(|t| &**t),
                u.records.iter().copied(),
            );
        }
        group.span = (group.span.0.min(seen.time), group.span.1.max(seen.time));
    }

    fn into_incidents(mut self, rules: &Rules) -> Vec<Incident> {
        let mut out: Vec<Incident> = Vec::with_capacity(self.order.len());
        for key in self.order {
            let group = self
                .map
                .remove(&key)
                .expect("every key in order has a group");
            let mut incident = group.incident;
            incident.first_seen = Some(group.span.0.rfc3339());
            incident.last_seen = Some(group.span.1.rfc3339());
            let mut paths: Vec<(String, u64)> = group.paths.into_iter().collect();
            paths.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            incident.distinct_paths = paths.len() as u64;
            paths.truncate(MAX_PATHS);
            incident.top_paths = paths
                .iter()
                .take(MAX_TOP_PATHS)
                .map(|(path, count)| PathCount {
                    host: None,
                    path: path.clone(),
                    count: *count,
                })
                .collect();
            incident.paths = paths.into_iter().map(|(p, _)| p).collect();
            for list in [&mut incident.responses, &mut incident.ambiguous]
                .into_iter()
                .flatten()
            {
                list.sort_unstable();
            }
            if let Some(list) = &mut incident.evidence_at {
                list.sort_unstable();
                list.dedup();
            }
            if let Some(text) = rules.cause(incident.cause) {
                incident.fix = text.fix.clone();
                incident.title = text.title.clone();
            }
            out.push(incident);
        }
        out.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.first_seen.cmp(&b.first_seen))
                .then_with(|| a.host.cmp(&b.host))
        });
        out
    }
}

/// Most evidence lines and paths kept per incident.
const MAX_EVIDENCE: usize = 5;
pub const MAX_PATHS: usize = 20;
/// Most paths listed with their counts, per incident and in the summary.
pub const MAX_TOP_PATHS: usize = 10;

/// Adds records (a unit's, or a response's own line) to an incident's evidence: their text
/// (the first few, once each) and, with `--trace`, where each stands.
fn add_texts<'t>(
    incident: &mut Incident,
    texts: impl IntoIterator<Item = &'t str>,
    at: impl IntoIterator<Item = LineAt>,
) {
    for text in texts {
        if incident.evidence.len() < MAX_EVIDENCE && !incident.evidence.iter().any(|e| e == text) {
            incident.evidence.push(text.to_owned());
        }
    }
    if let Some(list) = &mut incident.evidence_at {
        list.extend(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_file_names_give_their_directory() {
        assert_eq!(
            place_of("/var/lib/nginx/body/0000000042", None),
            "/var/lib/nginx/body"
        );
        assert_eq!(
            place_of("/srv/www/uploads/up6b06f6d19cd5f.bin", None),
            "/srv/www/uploads"
        );
        assert_eq!(
            place_of(
                "/var/lib/php/sessions/sess_k2j3h4g5f6d7s8a9q0w1e2r3t4",
                None
            ),
            "/var/lib/php/sessions"
        );
        assert_eq!(
            place_of("/srv/www/lib/config.php", None),
            "/srv/www/lib/config.php"
        );
        assert_eq!(place_of("/srv/www/avatar.png", None), "/srv/www/avatar.png");
        // A script with a line is code, whatever its name.
        assert_eq!(
            place_of("/srv/www/v20261125/index.php", Some(3)),
            "/srv/www/v20261125/index.php"
        );
    }

    /// Diagnoses logs given as text, one file each, in UTC.
    fn run(files: &[&str]) -> Report {
        let dir = tempfile::tempdir().unwrap();
        let sources: Vec<crate::read::Source> = files
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let path = dir.path().join(format!("{i}.log"));
                std::fs::write(&path, text).unwrap();
                crate::read::Source {
                    name: path.display().to_string(),
                    path: Some(path),
                }
            })
            .collect();
        let opts = crate::scan::ScanOptions {
            tz: jiff::tz::TimeZone::UTC,
            window: crate::scan::Window::default(),
            access_format: None,
            progress: indicatif::ProgressBar::hidden(),
            threads: 2,
            error_logs: true,
            scope: Default::default(),
        };
        diagnose(
            crate::scan::scan(&sources, &opts).unwrap(),
            Rules::builtin(),
            true,
        )
    }

    fn causes(r: &Report) -> Vec<(&str, u64)> {
        r.incidents.iter().map(|i| (i.cause, i.count)).collect()
    }

    fn access(lines: &[(&str, &str, &str, u16)]) -> String {
        lines
            .iter()
            .map(|(client, time, path, status)| {
                format!("{client} - - [25/Nov/2026:{time} +0000] \"GET {path} HTTP/1.1\" {status} 5 \"-\" \"x\"\n")
            })
            .collect()
    }

    fn nginx(time: &str, client: &str, path: &str, message: &str) -> String {
        format!(
            "2026/11/25 {time} [error] 7#7: *1 {message}, client: {client}, server: _, request: \"GET {path} HTTP/1.1\", host: \"x\"\n"
        )
    }

    #[test]
    fn a_request_own_line_wins_over_another_request_line_for_the_same_path() {
        let log = access(&[
            ("1.1.1.1", "10:00:00", "/s", 500),
            ("2.2.2.2", "10:00:30", "/s", 503),
        ]);
        let errors = nginx(
            "10:00:00",
            "1.1.1.1",
            "/s",
            "FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Uncaught Exception: x in /w/s.php:3\"",
        ) + &nginx(
            "10:00:30",
            "2.2.2.2",
            "/s",
            "limiting requests, excess: 3.1 by zone \"z\"",
        );
        let r = run(&[&log, &errors]);
        assert_eq!(
            causes(&r),
            [("php_uncaught_exception", 1), ("rate_limited", 1)]
        );
    }

    #[test]
    fn an_unexplained_response_is_unknown_with_the_nearest_lines() {
        let log = access(&[
            ("1.1.1.1", "10:00:00", "/a", 500),
            ("1.1.1.1", "10:00:20", "/b", 500),
        ]);
        let errors = nginx(
            "10:00:00",
            "1.1.1.1",
            "/a",
            "FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Allowed memory size of 2 bytes exhausted in /w/a.php on line 9\"",
        ) + "2026/11/25 10:00:19 [alert] 7#7: worker process 9 exited on signal 9\n";
        let r = run(&[&log, &errors]);
        assert_eq!(causes(&r), [("php_memory_limit", 1), ("unknown", 1)]);
        let unknown = &r.incidents[1];
        assert_eq!(unknown.paths, ["/b"]);
        // The nearest line that may concern it; never the line of another request.
        assert_eq!(unknown.evidence.len(), 1, "{unknown:?}");
        assert!(
            unknown.evidence[0].contains("worker process 9"),
            "nearest line shown: {unknown:?}"
        );
        assert_eq!((unknown.file.as_deref(), unknown.line), (None, None));
    }

    #[test]
    fn the_virtual_host_tells_two_requests_for_one_path_apart() {
        let log = "{\"time\":\"2026-11-25T10:00:00+00:00\",\"remote_addr\":\"1.1.1.1\",\"request\":\"GET /index.php HTTP/1.1\",\"status\":500,\"host\":\"b.example\"}\n";
        let line = |host: &str, message: &str| {
            format!(
                "2026/11/25 10:00:00 [error] 7#7: *1 {message}, client: 1.1.1.1, server: _, request: \"GET /index.php HTTP/1.1\", host: \"{host}\"\n"
            )
        };
        let errors = line(
            "a.example",
            "FastCGI sent in stderr: \"PHP message: PHP Parse error:  syntax error in /a/index.php on line 1\"",
        ) + &line(
            "b.example",
            "FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Allowed memory size of 2 bytes exhausted in /b/index.php on line 2\"",
        );
        let r = run(&[log, &errors]);
        assert_eq!(causes(&r), [("php_memory_limit", 1)]);
    }

    #[test]
    fn a_reset_connection_is_refined_by_the_signal_not_by_a_full_pool() {
        let log = access(&[("1.1.1.1", "10:00:00", "/crash.php", 502)]);
        let errors = nginx(
            "10:00:00",
            "1.1.1.1",
            "/crash.php",
            "recv() failed (104: Connection reset by peer) while reading response header from upstream",
        );
        let fpm = "[25-Nov-2026 10:00:00] WARNING: [pool www] child 9 exited on signal 11 (SIGSEGV) after 1.0 seconds from start\n\
                   [25-Nov-2026 10:00:01] WARNING: [pool jobs] server reached pm.max_children setting (1), consider raising it\n";
        let r = run(&[&log, &errors, fpm]);
        assert_eq!(causes(&r), [("fpm_crash", 1)]);
        assert_eq!(r.incidents[0].evidence.len(), 2, "nginx's line and FPM's");
    }

    #[test]
    fn a_warning_and_the_fatal_error_it_leads_to_are_one_failure() {
        let log = access(&[("1.1.1.1", "10:00:00", "/settings.php", 500)]);
        let php = "[25-Nov-2026 10:00:00 UTC] PHP Warning:  require(/w/lib/config.php): Failed to open stream: Permission denied in /w/settings.php on line 2\n\
                   [25-Nov-2026 10:00:00 UTC] PHP Fatal error:  Uncaught Error: Failed opening required '/w/lib/config.php' in /w/settings.php:2\n";
        let r = run(&[&log, php]);
        assert_eq!(causes(&r), [("file_permissions", 1)]);
        assert_eq!(r.incidents[0].file.as_deref(), Some("/w/lib/config.php"));
        assert!(
            r.other_errors.is_empty(),
            "the fatal error is part of the same failure"
        );
    }

    #[test]
    fn a_django_traceback_in_gunicorns_log_explains_its_500_with_the_app_frame() {
        let log = access(&[
            ("1.1.1.1", "10:00:00", "/boom", 500),
            ("1.1.1.1", "10:00:05", "/slow", 502),
        ]);
        let gunicorn = "[2026-11-25 10:00:00 +0000] [9] [INFO] Booting worker with pid: 10\n\
2026-11-25 10:00:00,063 ERROR django.request Internal Server Error: /boom\n\
Traceback (most recent call last):\n  \
File \"/usr/lib/python3/dist-packages/django/core/handlers/base.py\", line 181, in _get_response\n    \
response = wrapped_callback(request)\n  \
File \"/srv/app/views.py\", line 15, in boom\n    \
return HttpResponse(order[\"customer\"])\n\
KeyError: 'customer'\n\
[2026-11-25 10:00:05 +0000] [9] [CRITICAL] WORKER TIMEOUT (pid:10)\n";
        let r = run(&[&log, gunicorn]);
        assert_eq!(r.inputs[1].format, "gunicorn");
        assert_eq!(causes(&r), [("app_exception", 1), ("worker_timeout", 1)]);
        let boom = &r.incidents[0];
        assert_eq!(
            (boom.file.as_deref(), boom.line, boom.exception.as_deref()),
            (Some("/srv/app/views.py"), Some(15), Some("KeyError"))
        );
        assert_eq!(boom.language, Some(Language::Python));
        let json = serde_json::to_value(boom).unwrap();
        assert_eq!(
            (json["language"].as_str(), json["exception"].as_str()),
            (Some("python"), Some("KeyError"))
        );
    }

    #[test]
    fn uwsgis_request_lines_are_counted_only_without_a_proxys_access_log() {
        let log = access(&[("127.0.0.1", "10:00:00", "/fl/boom", 500)]);
        let uwsgi = "Wed Nov 25 10:00:00 2026 - spawned uWSGI worker 1 (pid: 7, cores: 1)\n\
[2026-11-25 10:00:00,100] ERROR in app: Exception on /fl/boom [GET]\n\
Traceback (most recent call last):\n  \
File \"/srv/flaskapp.py\", line 20, in boom\n    \
return str(prices[\"coffee\"] * 2)\n\
KeyError: 'coffee'\n\
[pid: 7|app: 0|req: 2/2] 127.0.0.1 () {32 vars in 384 bytes} [Wed Nov 25 10:00:00 2026] GET /fl/boom => generated 265 bytes in 17 msecs (HTTP/1.1 500) 2 headers in 99 bytes (1 switches on core 0)\n";
        for files in [vec![log.as_str(), uwsgi], vec![uwsgi]] {
            let r = run(&files);
            let formats: Vec<&str> = r.inputs.iter().map(|i| i.format).collect();
            assert_eq!(formats[files.len() - 1..], ["uwsgi_requests", "uwsgi"]);
            assert_eq!((r.summary.requests, r.summary.server_errors), (1, 1));
            assert_eq!(causes(&r), [("app_exception", 1)]);
            assert_eq!(r.incidents[0].line, Some(20));
        }
    }

    /// nginx's "upstream prematurely closed" is a PHP worker's crash behind FastCGI and an
    /// application worker's behind HTTP (Tomcat killed mid-request writes nothing itself).
    #[test]
    fn an_upstream_closed_mid_request_is_a_crash_of_what_the_upstream_is() {
        let log = access(&[("1.1.1.1", "10:00:00", "/hang", 502)]);
        for (upstream, cause) in [
            ("fastcgi://unix:/run/php/fpm.sock:", "fpm_crash"),
            ("http://127.0.0.1:8080/hang", "worker_crash"),
        ] {
            let error = format!(
                "2026/11/25 10:00:00 [error] 7#7: *1 upstream prematurely closed connection while reading response header from upstream, client: 1.1.1.1, server: _, request: \"GET /hang HTTP/1.1\", upstream: \"{upstream}\", host: \"x\"\n"
            );
            assert_eq!(causes(&run(&[&log, &error])), [(cause, 1)], "{upstream}");
        }
    }

    /// gunicorn's `--access-logfile` (nginx's requests again, from nginx's address, in the
    /// same `combined` shape) beside nginx's: read, said to be nginx's hop, never counted; its
    /// error log explains nginx's 500. Alone, it is the count.
    #[test]
    fn an_app_servers_access_log_beside_the_proxys_is_counted_once() {
        let nginx = access(&[
            ("203.0.113.7", "10:00:00", "/dj/ok", 200),
            ("198.51.100.2", "10:00:01", "/dj/boom", 500),
        ]);
        let gunicorn = access(&[
            ("127.0.0.1", "10:00:00", "/dj/ok", 200),
            ("127.0.0.1", "10:00:01", "/dj/boom", 500),
        ]);
        let errors = "2026-11-25 10:00:01,100 ERROR django.request Internal Server Error: /dj/boom\n\
Traceback (most recent call last):\n  \
File \"/srv/app/views.py\", line 15, in boom\n    \
return order[\"customer\"]\n\
KeyError: 'customer'\n";
        let r = run(&[&nginx, &gunicorn, errors]);
        assert_eq!(
            r.inputs[1].hop_of.as_deref(),
            Some(r.inputs[0].path.as_str())
        );
        assert_eq!((r.summary.requests, r.summary.server_errors), (2, 1));
        assert_eq!(causes(&r), [("app_exception", 1)]);
        let r = run(&[&gunicorn, errors]);
        assert_eq!(r.inputs[0].hop_of, None);
        assert_eq!((r.summary.requests, r.summary.server_errors), (2, 1));
        assert_eq!(causes(&r), [("app_exception", 1)]);
    }

    /// Rails' `Started`/`Completed 500` lines are its hop of the proxy's requests: read, never
    /// counted; its FATAL record explains the 500 at the same moment, at the app's own frame.
    #[test]
    fn a_rails_exception_explains_its_500_once_with_the_app_frame() {
        let log = access(&[
            ("1.1.1.1", "10:00:00", "/ok", 200),
            ("1.1.1.1", "10:00:05", "/checkout", 500),
        ]);
        let rails = "I, [2026-11-25T10:00:00.100000 #7]  INFO -- : [a1] Started GET \"/ok\" for 1.1.1.1 at 2026-11-25 10:00:00 +0000\n\
I, [2026-11-25T10:00:00.110000 #7]  INFO -- : [a1] Completed 200 OK in 1ms (Views: 0.8ms | Allocations: 731)\n\
I, [2026-11-25T10:00:05.100000 #7]  INFO -- : [b2] Started GET \"/checkout\" for 1.1.1.1 at 2026-11-25 10:00:05 +0000\n\
I, [2026-11-25T10:00:05.120000 #7]  INFO -- : [b2] Completed 500 Internal Server Error in 13ms (Allocations: 193)\n\
F, [2026-11-25T10:00:05.130000 #7] FATAL -- : [b2]   \n\
[b2] KeyError (key not found: :price):\n\
[b2]   \n\
[b2] app/models/cart.rb:8:in `fetch'\n";
        let r = run(&[&log, rails]);
        assert_eq!(r.inputs[1].format, "rails");
        assert_eq!(causes(&r), [("app_exception", 1)]);
        let boom = &r.incidents[0];
        assert_eq!(
            (boom.file.as_deref(), boom.line, boom.exception.as_deref()),
            (Some("app/models/cart.rb"), Some(8), Some("KeyError"))
        );
        assert_eq!(boom.language, Some(Language::Ruby));
    }

    #[test]
    fn error_logs_alone_count_events() {
        let errors = nginx(
            "10:00:00",
            "1.1.1.1",
            "/loop",
            "rewrite or internal redirection cycle while processing \"/loop\"",
        ) + &nginx(
            "10:00:01",
            "1.1.1.1",
            "/loop",
            "rewrite or internal redirection cycle while processing \"/loop\"",
        );
        let r = run(&[&errors]);
        assert_eq!(causes(&r), [("rewrite_loop", 2)]);
        assert!(r.incidents[0].status.is_empty());
        assert_eq!(r.summary.server_errors, 0);
    }
}
