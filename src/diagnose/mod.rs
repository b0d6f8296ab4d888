//! Diagnosis: ties every 5xx response to the error records that explain it, names the cause
//! with the [rule table](rules), and groups the responses into incidents.
//!
//! How a response finds its explanation, most direct link first:
//! 1. records that name the same request path (nginx's `request: "GET /x HTTP/1.1"`,
//!    PHP-FPM's `(request: "GET /x")`), the nearest not yet used, with what other logs wrote
//!    about the same request at that moment. A request's own line that names no cause (a
//!    rate limit, say) still is its line: the response is `unknown` with it as evidence, not
//!    explained by another request's line;
//! 2. records of the same client without a request (Apache's `[client 1.2.3.4:5]`), from the
//!    moment the request was logged on, nearest first, each record explaining one response;
//! 3. records that carry neither (PHP's `error_log`, PHP messages in the PHP-FPM log), nearest
//!    in time, each explaining one response;
//! 4. if that leaves only "the upstream failed" (or nothing), a process-level record near it
//!    says why: a PHP-FPM child killed by a signal, the pool at `pm.max_children`.
//!
//! Records close together from the same process are read as one: a PHP warning
//! ("Permission denied") and the fatal error it leads to explain the same response, and the
//! more specific of the two names the cause. What none of this explains is `unknown`, shown
//! with the nearest records in time, never a guess.
//!
//! Each step looks at a bounded number of records, the nearest in time, so a log flooded
//! with errors costs linear time.

pub mod rules;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use serde::Serialize;

use crate::formats::detect::ErrorFormat;
use crate::formats::{ErrorEvent, Kind, Stamp, request_path};
use crate::scan::{InputReport, Response, Scan, Strings};
use rules::{Rules, UNKNOWN, Verdict};

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
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub requests: u64,
    pub server_errors: u64,
    /// The 5xx responses by status; they add up to `server_errors`.
    pub by_status: BTreeMap<String, u64>,
}

/// Responses (or, with error logs only, error records) with one cause and one place.
#[derive(Debug, Serialize)]
pub struct Incident {
    pub cause: &'static str,
    pub status: BTreeMap<String, u64>,
    pub count: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub paths: Vec<String>,
    pub file: Option<String>,
    pub line: Option<u64>,
    pub evidence: Vec<String>,
    pub fix: String,
    /// The cause in words, for people reading the JSON.
    pub title: String,
    /// When each 5xx response of the incident was logged, in time order: the HTML report's
    /// chart buckets them. Kept out of the JSON (the spec's shape has only the span); empty
    /// for incidents built from error records alone.
    #[serde(skip)]
    pub times: Vec<Stamp>,
}

/// How far apart a record and the response it explains may be logged, in milliseconds.
const REQUEST_WINDOW_MS: i64 = 300_000;
/// Logs stamp whole seconds, and one process may write a moment after another: a record
/// "before" a response may carry the next second.
const CLOCK_SLACK_MS: i64 = 1_000;
/// Records within this of each other from one process explain the same failure.
const SAME_FAILURE_MS: i64 = 1_000;
/// A record already used may explain another response only this close to it.
const REUSE_MS: i64 = 2_000;
/// How far the nearest records shown for an unexplained response may be.
const NEAREST_MS: i64 = 60_000;
/// Most records read as one failure (a fatal error and the warnings before it).
const MAX_CHAIN: usize = 16;
/// Most records one response looks at in a tier (the nearest ones in time).
const MAX_NEAREST: usize = 256;
/// Most evidence lines and paths kept per incident.
const MAX_EVIDENCE: usize = 5;
const MAX_PATHS: usize = 20;

/// How an error record can be tied to a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    /// Names the request (and usually the client).
    Request,
    /// Names the client only.
    Client,
    /// Written by the application for one request, but names neither.
    Script,
    /// About a process or the pool, not one request.
    Process,
}

/// An error record prepared for matching.
struct Candidate<'a> {
    event: &'a ErrorEvent,
    /// Index of the record in the scan's error list.
    index: usize,
    ms: i64,
    scope: Scope,
    /// The request target the record names (`/x.php?a=1`).
    target: Option<&'a str>,
    /// The script the message says it comes from (`… in /x/a.php on line 3`).
    origin: Option<String>,
    /// Boxed: most records match no rule, and a verdict inline would make up half of every
    /// candidate, one per record.
    verdict: Option<Box<Verdict>>,
}

fn scope_of(e: &ErrorEvent) -> Scope {
    if e.request().is_some() {
        Scope::Request
    } else if e.client().is_some() {
        Scope::Client
    } else if e.kind == Some(Kind::PhpError) || e.message().contains("said into stderr") {
        Scope::Script
    } else {
        Scope::Process
    }
}

/// The target of a request line (`/x.php?a=1`), for comparing nginx's and PHP-FPM's forms.
fn target_of(request: &str) -> &str {
    let mut parts = request.split(' ').filter(|p| !p.is_empty());
    let first = parts.next().unwrap_or_default();
    if first.starts_with('/') {
        first
    } else {
        parts.next().unwrap_or(first)
    }
}

/// A failed request as the matcher sees it: a 5xx response, or (with no access log) an
/// error record that stands for one.
struct Failure<'s> {
    time: Stamp,
    client: Cow<'s, str>,
    /// The request's path, without query.
    path: &'s str,
    /// The virtual host, where the access log names it (`vhost_combined`, JSON, `$host`).
    vhost: Option<&'s str>,
    /// `None` for a record standing in for a response.
    status: Option<u16>,
}

impl<'s> Failure<'s> {
    fn of(r: &Response, strings: &'s Strings) -> Self {
        Failure {
            time: r.time,
            client: r.client.text(strings),
            path: strings.get(r.path),
            vhost: r.vhost.map(|v| strings.get(v)),
            status: Some(r.status),
        }
    }

    /// The request's path, without query.
    fn path(&self) -> &'s str {
        self.path
    }
}

/// What explains one response: the records used (candidate indices) and the verdict.
struct Explanation {
    used: Vec<usize>,
    verdict: Option<Verdict>,
}

/// A request path and the client that asked for it.
type PathClient<'a> = (&'a [u8], Option<Cow<'a, str>>);

struct Matcher<'a> {
    /// Every timed error record, in time order.
    candidates: Vec<Candidate<'a>>,
    used: Vec<bool>,
    /// The classified candidates of each scope, in time order.
    by_scope: [Vec<usize>; 4],
    /// The candidates that name a request, by its path, in time order.
    by_path: HashMap<&'a [u8], Vec<usize>>,
    /// The same, by path and client (`None` for records that name no client, PHP-FPM's):
    /// on a busy path, a response finds its own record among its client's few.
    by_path_client: HashMap<PathClient<'a>, Vec<usize>>,
    /// Candidate index by input and seq (`by_seq[input][seq]`): record numbers are dense, so
    /// a table, a fraction of the size of a hash map over every record.
    by_seq: Vec<Vec<Option<u32>>>,
    /// How long after a response's time a record about it may be written: a moment where
    /// access logs stamp the end of a request (nginx), the whole request where they stamp its
    /// start (Apache's `%t`).
    late_ms: i64,
}

impl<'a> Matcher<'a> {
    fn new(errors: &'a [ErrorEvent], rules: &Rules, access_stamps_start: bool) -> Self {
        // One candidate per record at most, and a log can hold millions: sized once, where
        // collecting the filtered iterator would grow by doubling, up to twice the memory.
        let mut candidates: Vec<Candidate<'a>> = Vec::with_capacity(errors.len());
        candidates.extend(errors.iter().enumerate().filter_map(|(index, e)| {
            Some(Candidate {
                event: e,
                index,
                ms: e.time?.ms,
                scope: scope_of(e),
                target: e.request().map(target_of),
                origin: rules.code_location(e.message()),
                verdict: rules.classify(e).map(Box::new),
            })
        }));
        let mut by_scope: [Vec<usize>; 4] = Default::default();
        let mut by_path: HashMap<&[u8], Vec<usize>> = HashMap::new();
        let mut by_path_client: HashMap<_, Vec<usize>> = HashMap::new();
        for (i, c) in candidates.iter().enumerate() {
            if c.verdict.is_some() {
                by_scope[c.scope as usize].push(i);
            }
            // Unclassified ones too: a request's own line that names no cause must not let
            // another request's line explain it.
            if let Some(target) = c.target {
                let path = request_path(target.as_bytes());
                by_path.entry(path).or_default().push(i);
                let client = c.event.client().map(client_key);
                by_path_client.entry((path, client)).or_default().push(i);
            }
        }
        let mut by_seq: Vec<Vec<Option<u32>>> = Vec::new();
        for (i, c) in candidates.iter().enumerate() {
            let (input, seq) = (c.event.input, c.event.seq);
            if by_seq.len() <= input {
                by_seq.resize_with(input + 1, Vec::new);
            }
            let row = &mut by_seq[input];
            if row.len() <= seq {
                row.resize(seq + 1, None);
            }
            // Past 4 billion records a candidate has no neighbours, rather than wrong ones.
            row[seq] = u32::try_from(i).ok();
        }
        let late_ms = if access_stamps_start {
            REQUEST_WINDOW_MS
        } else {
            CLOCK_SLACK_MS
        };
        Matcher {
            used: vec![false; candidates.len()],
            candidates,
            by_scope,
            by_path,
            by_path_client,
            by_seq,
            late_ms,
        }
    }

    /// At most [`MAX_NEAREST`] classified candidates of `scope` in `[from, to]` ms, nearest to
    /// `t` first: however busy a log, one response looks at a bounded number of records.
    fn nearest_of(&self, scope: Scope, t: i64, from: i64, to: i64) -> Vec<usize> {
        self.nearest_in(&self.by_scope[scope as usize], t, from, to)
    }

    /// At most [`MAX_NEAREST`] candidates of a time-ordered `list` in `[from, to]` ms,
    /// nearest to `t` first.
    fn nearest_in(&self, list: &[usize], t: i64, from: i64, to: i64) -> Vec<usize> {
        let ms = |i: usize| self.candidates[i].ms;
        let mid = list.partition_point(|&i| ms(i) < t);
        let (mut before, mut after) = (mid, mid);
        let mut out = Vec::new();
        while out.len() < MAX_NEAREST {
            let left = before
                .checked_sub(1)
                .map(|b| list[b])
                .filter(|&i| ms(i) >= from);
            let right = list.get(after).copied().filter(|&i| ms(i) <= to);
            let take_left = match (left, right) {
                (Some(l), Some(r)) => t - ms(l) <= ms(r) - t,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            if take_left {
                out.extend(left);
                before -= 1;
            } else {
                out.extend(right);
                after += 1;
            }
        }
        out
    }

    fn verdict(&self, i: usize) -> &Verdict {
        self.candidates[i]
            .verdict
            .as_ref()
            .expect("the scope lists hold classified records only")
    }

    fn explain(&mut self, r: &Failure) -> Explanation {
        let t = r.time.ms;
        let mut best = self
            .by_request(r, t)
            .or_else(|| self.by_nearest(r, Scope::Client, -2_000))
            .or_else(|| self.by_nearest(r, Scope::Script, -REQUEST_WINDOW_MS))
            .unwrap_or(Explanation {
                used: Vec::new(),
                verdict: None,
            });
        self.refine(&mut best, t);
        for &i in &best.used {
            self.used[i] = true;
        }
        best
    }

    /// Step 1: records naming this request, logged before the response (a server writes the
    /// access line when the request ends): the nearest one not yet used, with what other logs
    /// wrote about the same request at that moment (nginx's line and PHP-FPM's).
    fn by_request(&self, r: &Failure, t: i64) -> Option<Explanation> {
        let path = r.path().as_bytes();
        let from_this_client =
            |i: &usize| same_client(self.candidates[*i].event.client(), &r.client);
        // The records of this client and those that name none; all, when the access log
        // names no client.
        let lists: Vec<&Vec<usize>> = if r.client.is_empty() || r.client == "-" {
            self.by_path.get(path).into_iter().collect()
        } else {
            let mine = (path, Some(client_key(&r.client)));
            [
                self.by_path_client.get(&mine),
                self.by_path_client.get(&(path, None)),
            ]
            .into_iter()
            .flatten()
            .collect()
        };
        let near = |t: i64, from: i64, to: i64| -> Vec<usize> {
            lists
                .iter()
                .flat_map(|list| self.nearest_in(list, t, from, to))
                .collect()
        };
        // A record another response already used explains this one only if very close: a
        // server writes one line per failed request.
        let usable = |i: &usize| !self.used[*i] || (self.candidates[*i].ms - t).abs() <= REUSE_MS;
        let anchor = near(t, t - REQUEST_WINDOW_MS, t + self.late_ms)
            .into_iter()
            .filter(from_this_client)
            .filter(usable)
            .min_by_key(|&i| {
                // Not yet used, nearest by the second, of the same virtual host where both
                // logs name one, one that names a cause, nearest.
                let dt = (self.candidates[i].ms - t).abs();
                let other_host = match (r.vhost, self.candidates[i].event.host()) {
                    (Some(a), Some(b)) => !a.eq_ignore_ascii_case(b),
                    _ => false,
                };
                (
                    self.used[i],
                    dt / 1000,
                    other_host,
                    self.candidates[i].verdict.is_none(),
                    dt,
                )
            })?;
        let mut ex = self.failure_at(anchor);
        let (at, input) = (
            self.candidates[anchor].ms,
            self.candidates[anchor].event.input,
        );
        let others: Vec<usize> = near(at, at - SAME_FAILURE_MS, at + SAME_FAILURE_MS)
            .into_iter()
            .filter(from_this_client)
            .filter(|&j| self.candidates[j].event.input != input)
            .collect();
        for j in others {
            let Some(v) = &self.candidates[j].verdict else {
                continue;
            };
            if ex
                .verdict
                .as_ref()
                .is_none_or(|best| v.weight > best.weight)
            {
                ex.verdict = Some(Verdict::clone(v));
            }
            ex.used.push(j);
        }
        Some(ex)
    }

    /// Steps 2 and 3: the nearest record of `scope` from `before` ms on (one that names the
    /// response's path first, then one not yet used; a used one only very close), read with
    /// the records of the same failure around it.
    fn by_nearest(&self, r: &Failure, scope: Scope, before: i64) -> Option<Explanation> {
        let t = r.time.ms;
        let path = r.path();
        // `/` and empty paths are in every message; they say nothing. A record from another
        // script than the one requested is the last choice.
        let names_path =
            |i: usize| path.len() > 1 && self.candidates[i].event.message().contains(path);
        let other_script = |i: usize| {
            path.ends_with(".php")
                && self.candidates[i]
                    .origin
                    .as_deref()
                    .is_some_and(|o| !o.ends_with(path))
        };
        let usable = |i: &usize| {
            let c = &self.candidates[*i];
            same_client(c.event.client(), &r.client)
                && (!self.used[*i] || (c.ms - t).abs() <= REUSE_MS)
        };
        let i = self
            .nearest_of(scope, t, t + before, t + REQUEST_WINDOW_MS)
            .into_iter()
            .filter(usable)
            .min_by_key(|&i| {
                (
                    !names_path(i),
                    other_script(i),
                    self.used[i],
                    (self.candidates[i].ms - t).abs(),
                )
            })?;
        Some(self.failure_at(i))
    }

    /// The record at `i` with the records of the same failure. PHP writes the warnings that
    /// lead to a fatal error ("Permission denied", "No space left on device") as records of
    /// their own, just before it, from the same process (or, where the log names none, the
    /// same script), within a second: those are read with it, up to the fatal error that ends
    /// the request. The most specific record gives the verdict (on a tie, the one at `i`).
    fn failure_at(&self, i: usize) -> Explanation {
        let c = &self.candidates[i];
        let same = |j: usize| {
            let d = &self.candidates[j];
            is_php(d.event.message())
                && d.scope == c.scope
                && d.event.pid == c.event.pid
                && (c.event.pid.is_some() || (c.origin.is_some() && d.origin == c.origin))
                && d.event.client() == c.event.client()
                && d.target == c.target
                && (d.ms - c.ms).abs() <= SAME_FAILURE_MS
        };
        let neighbour = |j: usize, step: isize| {
            let e = self.candidates[j].event;
            e.seq
                .checked_add_signed(step)
                .and_then(|s| *self.by_seq.get(e.input)?.get(s)?)
                .map(|k| k as usize)
                .filter(|&k| same(k))
        };
        let fatal = |j: usize| is_fatal(self.candidates[j].event.message());
        let mut chain = vec![i];
        if is_php(c.event.message()) {
            // Back over the warnings before it; forward to the fatal error, if `i` is not one.
            // A bounded walk: a script flooding its log with one warning must not make every
            // response walk the flood.
            let mut j = i;
            while let Some(k) = neighbour(j, -1).filter(|&k| !fatal(k) && chain.len() < MAX_CHAIN) {
                chain.push(k);
                j = k;
            }
            let mut j = i;
            while !fatal(j) && chain.len() < MAX_CHAIN {
                let Some(k) = neighbour(j, 1) else { break };
                chain.push(k);
                j = k;
            }
        }
        // The record at `i` always counts as used (a request's own line, even one that names
        // no cause); the others only if they name one.
        let used: Vec<usize> = chain
            .into_iter()
            .filter(|&j| j == i || self.candidates[j].verdict.is_some())
            .collect();
        let verdict = used
            .iter()
            .filter_map(|&j| self.candidates[j].verdict.as_deref().map(|v| (v, j == i)))
            .max_by_key(|(v, anchor)| (v.weight, *anchor))
            .map(|(v, _)| v.clone());
        Explanation { used, verdict }
    }

    /// Step 4: a verdict that says only that the upstream failed (or none) gives way to a
    /// process-level record that says why, among the causes the rule allows: the nearest one
    /// (not yet used first) within its reach.
    fn refine(&self, e: &mut Explanation, t: i64) {
        let allowed = |cause: &str| match &e.verdict {
            None => true,
            Some(v) => v.refined_by.contains(&cause),
        };
        // A verdict that says why, or a record of the request's own that says something else
        // (a rate limit, a client that went away): nothing to refine.
        let own_line = e.verdict.is_none() && !e.used.is_empty();
        if own_line || e.verdict.as_ref().is_some_and(|v| v.refined_by.is_empty()) {
            return;
        }
        let found = self
            .nearest_of(Scope::Process, t, t - REQUEST_WINDOW_MS, t + self.late_ms)
            .into_iter()
            .filter(|&i| {
                let v = self.verdict(i);
                allowed(v.cause) && self.candidates[i].ms >= t - v.reach_ms
            })
            .min_by_key(|&i| {
                let dt = (self.candidates[i].ms - t).abs();
                (self.used[i], dt, std::cmp::Reverse(self.verdict(i).weight))
            });
        if let Some(i) = found {
            e.verdict = Some(self.verdict(i).clone());
            e.used.push(i);
        }
    }

    /// The error records nearest in time to `t` (classified or not), for an unexplained
    /// response.
    fn nearest(&self, t: i64, n: usize) -> Vec<usize> {
        let from = self.candidates.partition_point(|c| c.ms < t - NEAREST_MS);
        let mut near: Vec<&Candidate> = self.candidates[from..]
            .iter()
            .take_while(|c| c.ms <= t + NEAREST_MS)
            .collect();
        near.sort_by_key(|c| (c.ms - t).abs());
        near.into_iter().take(n).map(|c| c.index).collect()
    }
}

/// Whether a record holds a PHP message (PHP's own log, or relayed by FPM, nginx, Apache).
fn is_php(msg: &str) -> bool {
    msg.contains("PHP ")
}

/// Whether a PHP message ends the request.
fn is_fatal(msg: &str) -> bool {
    msg.contains("Fatal error") || msg.contains("Parse error")
}

/// A client address in one spelling (IPv6 can be written several ways), to index by.
fn client_key(client: &str) -> Cow<'_, str> {
    match client.parse::<IpAddr>() {
        Ok(ip) if client.contains(':') => Cow::Owned(ip.to_string()),
        _ => Cow::Borrowed(client),
    }
}

/// Two client addresses are the same (as addresses, however each log spelled them), or one
/// side does not know it.
fn same_client(a: Option<&str>, b: &str) -> bool {
    match a {
        Some(a) if !a.is_empty() && !b.is_empty() && b != "-" => {
            // Only IPv6 has several spellings of one address.
            a == b
                || (a.contains(':')
                    && b.contains(':')
                    && matches!((a.parse::<IpAddr>(), b.parse::<IpAddr>()), (Ok(x), Ok(y)) if x == y))
        }
        _ => true,
    }
}

/// Builds incidents from what a scan read.
pub fn diagnose(scan: Scan, rules: &Rules) -> Report {
    let (incidents, other_errors) = explain(&scan, rules);
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
        },
        inputs: scan.inputs,
        incidents,
        other_errors,
    }
}

/// The incidents of a scan: those its 5xx responses make, and those of the error records no
/// response accounts for (with no access log, the incidents are those).
pub fn explain(scan: &Scan, rules: &Rules) -> (Vec<Incident>, Vec<Incident>) {
    // Apache's access logs stamp when a request arrived; where its error log is read, its
    // access logs are likely too.
    let apache = scan
        .inputs
        .iter()
        .any(|i| i.format == ErrorFormat::Apache.name());
    let mut matcher = Matcher::new(&scan.errors, rules, apache);
    let mut answered = Groups::default();
    for r in scan.responses.iter() {
        let failure = Failure::of(r, &scan.strings);
        let ex = matcher.explain(&failure);
        let evidence = if ex.used.is_empty() {
            matcher.nearest(r.time.ms, 3)
        } else {
            matcher.error_indices(&ex.used)
        };
        answered.add(
            ex.verdict.as_ref(),
            Some(&failure),
            r.time,
            &evidence,
            &scan.errors,
        );
    }
    let mut unanswered = Groups::default();
    matcher.explain_leftovers(&mut unanswered, &scan.errors);
    if scan.has_access_logs() {
        (
            answered.into_incidents(rules),
            unanswered.into_incidents(rules),
        )
    } else {
        (unanswered.into_incidents(rules), Vec::new())
    }
}

impl Matcher<'_> {
    /// Error-record indices of candidates.
    fn error_indices(&self, used: &[usize]) -> Vec<usize> {
        used.iter().map(|&j| self.candidates[j].index).collect()
    }

    /// Groups the explaining records no response used: each failure once, read the way a
    /// response would read it (a record naming a request stands for that request).
    fn explain_leftovers(&mut self, groups: &mut Groups, errors: &[ErrorEvent]) {
        for i in 0..self.candidates.len() {
            if self.used[i] || self.candidates[i].verdict.is_none() {
                continue;
            }
            let e = self.candidates[i].event;
            let time = e.time.expect("candidates have times");
            let ex = if self.candidates[i].scope == Scope::Process {
                let mut ex = self.failure_at(i);
                self.refine(&mut ex, time.ms);
                for &j in &ex.used {
                    self.used[j] = true;
                }
                ex
            } else {
                let stand_in = Failure {
                    time,
                    client: Cow::Borrowed(e.client().unwrap_or_default()),
                    path: std::str::from_utf8(request_path(
                        e.request().unwrap_or_default().as_bytes(),
                    ))
                    .unwrap_or_default(),
                    vhost: e.host(),
                    status: None,
                };
                self.explain(&stand_in)
            };
            self.used[i] = true;
            groups.add(
                ex.verdict.as_ref(),
                None,
                time,
                &self.error_indices(&ex.used),
                errors,
            );
        }
    }
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

/// What makes an incident one: its cause and the place the evidence names.
type GroupKey = (&'static str, Option<String>, Option<u64>);

/// An incident being built, with what it still needs counted.
struct Group {
    incident: Incident,
    paths: HashMap<String, u64>,
    span: (Stamp, Stamp),
}

/// Incidents being built, in order of first appearance.
#[derive(Default)]
struct Groups {
    order: Vec<GroupKey>,
    map: HashMap<GroupKey, Group>,
}

impl Groups {
    fn add(
        &mut self,
        verdict: Option<&Verdict>,
        response: Option<&Failure>,
        time: Stamp,
        evidence: &[usize],
        errors: &[ErrorEvent],
    ) {
        let key: GroupKey = match verdict {
            Some(v) => (
                v.cause,
                v.file.as_deref().map(|f| place_of(f, v.line)),
                v.line,
            ),
            None => (UNKNOWN, None, None),
        };
        let group = self.map.entry(key.clone()).or_insert_with(|| {
            self.order.push(key.clone());
            Group {
                incident: Incident {
                    cause: key.0,
                    status: BTreeMap::new(),
                    count: 0,
                    first_seen: None,
                    last_seen: None,
                    paths: Vec::new(),
                    file: key.1.clone(),
                    line: key.2,
                    evidence: Vec::new(),
                    fix: String::new(),
                    title: String::new(),
                    times: Vec::new(),
                },
                paths: HashMap::new(),
                span: (time, time),
            }
        });
        let incident = &mut group.incident;
        incident.count += 1;
        if let Some(r) = response {
            if let Some(status) = r.status {
                *incident.status.entry(status.to_string()).or_default() += 1;
                incident.times.push(time);
            }
            *group.paths.entry(r.path().to_owned()).or_default() += 1;
        }
        for &i in evidence {
            let text = errors[i].text();
            if incident.evidence.len() < MAX_EVIDENCE
                && !incident.evidence.iter().any(|e| e == text)
            {
                incident.evidence.push(text.to_owned());
            }
        }
        group.span = (group.span.0.min(time), group.span.1.max(time));
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
            incident.paths = paths.into_iter().take(MAX_PATHS).map(|(p, _)| p).collect();
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
        });
        out
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
        };
        diagnose(
            crate::scan::scan(&sources, &opts).unwrap(),
            Rules::builtin(),
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
        );
        let r = run(&[&log, &errors]);
        assert_eq!(causes(&r), [("php_memory_limit", 1), ("unknown", 1)]);
        let unknown = &r.incidents[1];
        assert_eq!(unknown.paths, ["/b"]);
        assert!(
            unknown.evidence[0].contains("Allowed memory size"),
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
