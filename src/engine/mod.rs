//! The engine: ties every 5xx response to the error records that explain it, identity first
//! and time only to break ties, over a time-ordered stream of records held in a bounded
//! window. Shared by `diagnose` (over files) and `watch` (over live batches).
//!
//! - [`unit`]: records put together into failures as they are read (a PHP warning and the
//!   fatal error it leads to are one failure);
//! - [`identity`]: whose record it is (which server, request, client, host, script, pool);
//! - [`assign`]: every response decided as a whole (best pairs first), then the process
//!   records (a pool full, a worker killed) that say why a backend failed, as episodes.
//!
//! Streaming: the responses are known first (access logs are parsed on every core into a
//! compact list), and each one can only be explained by records inside its window: before it
//! where the access log stamps a request's end (nginx), after it where it stamps its start
//! (Apache). Overlapping windows make [`Segment`]s. Records arrive in time order; those
//! outside every segment can explain no response and are read as failures of their own (for
//! `other_errors`) in small batches; a segment is decided as soon as the stream passes its
//! end, and its records are dropped. Memory is the responses plus one segment's records.

pub mod assign;
pub mod identity;
pub mod stream;
pub mod unit;

use std::ops::Range;

use assign::{Context, Decision, NEAREST_MS, REQUEST_WINDOW_MS, Request, Solution};
use identity::{Docroots, Sites};
use unit::Unit;

use crate::diagnose::rules::{Rules, Verdict};

/// Records outside every segment are read as failures of their own once this many wait.
const GAP_BATCH: usize = 4096;

/// What one decision comes to, for the sink: its verdict and the units it used (or, for a
/// response nothing explains, the nearest units shown with it).
pub struct Finding<'u> {
    pub verdict: Option<&'u Verdict>,
    pub units: Vec<&'u Unit>,
    /// Whether `units` are only shown (the nearest records), not an explanation.
    pub shown_only: bool,
    /// Whether the logs cannot tell this response's record from another's (see
    /// [`Decision::ambiguous`](assign::Decision)).
    pub ambiguous: bool,
    /// Whether the verdict is the response's own: its access line says why it failed, and is
    /// the evidence.
    pub own: bool,
}

/// Where decisions go as segments are decided.
pub trait Sink {
    /// The decision for the response at `index` (into the request list given to the engine).
    fn response(&mut self, index: usize, finding: Finding<'_>);
    /// A failure no response accounts for.
    fn leftover(&mut self, finding: Finding<'_>);
}

/// A span of log time whose responses and records are decided together.
#[derive(Clone, Debug)]
struct Segment {
    from: i64,
    to: i64,
    requests: Range<usize>,
}

/// The streaming engine. Push units in time order, then [`Engine::finish`].
pub struct Engine<'a, S: Sink> {
    rules: &'a Rules,
    sites: Sites,
    roots: Docroots,
    /// Every response, in time order.
    requests: Vec<Request<'a>>,
    /// Each request's index in the caller's list.
    order: Vec<usize>,
    segments: Vec<Segment>,
    /// The first segment not yet decided.
    current: usize,
    /// Units of the current segment.
    held: Vec<Unit>,
    /// Units before the current segment, waiting to be read as failures of their own.
    gap: Vec<Unit>,
    sink: S,
}

impl<'a, S: Sink> Engine<'a, S> {
    /// An engine for these responses (any order), with the inputs' servers and the rules.
    pub fn new(rules: &'a Rules, sites: Sites, requests: Vec<Request<'a>>, sink: S) -> Self {
        let mut order: Vec<usize> = (0..requests.len()).collect();
        order.sort_by_key(|&i| requests[i].ms);
        let mut slots: Vec<Option<Request<'a>>> = requests.into_iter().map(Some).collect();
        let requests: Vec<Request<'a>> = order
            .iter()
            .map(|&i| slots[i].take().expect("each request once"))
            .collect();
        let segments = segments(&sites, &requests);
        Engine {
            rules,
            sites,
            roots: Docroots::default(),
            requests,
            order,
            segments,
            current: 0,
            held: Vec::new(),
            gap: Vec::new(),
            sink,
        }
    }

    /// Takes the next unit (in time order).
    pub fn push(&mut self, u: Unit) {
        self.roots.learn(&u);
        let t = u.ms();
        // A unit out of order is fine within the current segment; one older than a decided
        // segment can only be read on its own (the stream counts those, see `REORDER_MS`).
        while self.segments.get(self.current).is_some_and(|s| t > s.to) {
            self.decide_segment();
        }
        match self.segments.get(self.current) {
            Some(s) if t >= s.from => self.held.push(u),
            _ => {
                self.gap.push(u);
                if self.gap.len() >= GAP_BATCH {
                    self.decide_gap();
                }
            }
        }
    }

    /// Decides everything still held; returns the sink.
    pub fn finish(mut self) -> S {
        while self.current < self.segments.len() {
            self.decide_segment();
        }
        self.decide_gap();
        self.sink
    }

    fn context(&self) -> Context<'_> {
        Context {
            rules: self.rules,
            sites: &self.sites,
            roots: &self.roots,
        }
    }

    /// Decides the units before the current segment alone.
    fn decide_gap(&mut self) {
        if self.gap.is_empty() {
            return;
        }
        let mut units = std::mem::take(&mut self.gap);
        units.sort_by_key(|u| (u.ms(), u.at()));
        let solution = assign::solve(&self.context(), &[], &units);
        self.emit(&solution, &units, 0);
    }

    /// Decides the current segment with the units held for it.
    fn decide_segment(&mut self) {
        self.decide_gap();
        let segment = self.segments[self.current].clone();
        self.current += 1;
        let mut units = std::mem::take(&mut self.held);
        units.sort_by_key(|u| (u.ms(), u.at()));
        let requests = &self.requests[segment.requests.clone()];
        let solution = assign::solve(&self.context(), requests, &units);
        self.emit(&solution, &units, segment.requests.start);
    }

    fn emit(&mut self, solution: &Solution, units: &[Unit], first: usize) {
        for (k, d) in solution.decisions.iter().enumerate() {
            let index = self.order[first + k];
            self.sink.response(index, finding(d, units));
        }
        for d in &solution.leftovers {
            self.sink.leftover(finding(d, units));
        }
    }
}

fn finding<'u>(d: &'u Decision, units: &'u [Unit]) -> Finding<'u> {
    let shown_only = d.units.is_empty();
    let list = if shown_only { &d.shown } else { &d.units };
    Finding {
        verdict: d.verdict.as_ref(),
        units: list.iter().map(|&i| &units[i]).collect(),
        shown_only,
        ambiguous: d.ambiguous,
        own: d.own,
    }
}

/// The segments of time-ordered requests: each request's span (its window, widened by what a
/// process record's reach and the nearest records shown may need), overlapping spans merged.
fn segments(sites: &Sites, requests: &[Request]) -> Vec<Segment> {
    let span = |r: &Request| {
        let (from, to) = assign::window(sites, r);
        (
            from.min(r.ms - REQUEST_WINDOW_MS),
            to.max(r.ms + NEAREST_MS),
        )
    };
    let mut out: Vec<Segment> = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        let (from, to) = span(r);
        match out.last_mut() {
            // Requests are in time order and every span reaches as far back from its request,
            // so a span that starts before the last segment ends overlaps it.
            Some(s) if from <= s.to => {
                s.to = s.to.max(to);
                s.requests.end = i + 1;
            }
            _ => out.push(Segment {
                from,
                to,
                requests: i..i + 1,
            }),
        }
    }
    out
}
