//! Assignment as a whole: every (response, unit) pair that identity allows is ranked, and the
//! best pairs are taken first, so a record explains the response it fits best; one at the
//! same instant as one 5xx never explains another tens of seconds away because that one was
//! looked at first.
//!
//! A pair ranks by, in order: how surely the unit is about the response ([`Tier`]); how
//! close in time, by the second (logs stamp whole seconds); whether a rule names a cause in it;
//! whether that cause fits the status; the exact distance. Each unit explains one response
//! (servers write one record per failed request); a response takes its best unit, and from
//! other logs the records about the same failure: those that name it, and, where its own
//! record says only that the backend failed, the application's record of why.
//!
//! What that leaves saying only "the backend failed" (or nothing) gives way to a process
//! record near it that says why ([`refine`]): a worker killed by a signal, the pool at
//! `pm.max_children`. Those are episodes: one record stands for every request that failed
//! while the state held, which [`Episode`] follows from one failure to the next.

use std::collections::HashMap;

use super::identity::{self, Asked, Docroots, Sites, Tier};
use super::unit::{SAME_FAILURE_MS, Scope, Unit};
use crate::diagnose::rules::{Rules, Verdict};

/// How far apart a record and the response it explains may be logged, in milliseconds.
pub const REQUEST_WINDOW_MS: i64 = 300_000;
/// Logs stamp whole seconds, and one process may write a moment after another: a record
/// "before" a response may carry the next second.
pub const CLOCK_SLACK_MS: i64 = 1_000;
/// How far the nearest records shown for an unexplained response may be.
pub const NEAREST_MS: i64 = 60_000;
/// Most records one response weighs among those that do not name its path, nearest first.
const MAX_NEAREST: usize = 256;

/// A 5xx response to explain.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    pub ms: i64,
    pub status: u16,
    pub asked: Asked<'a>,
}

/// What explains one response: the units used (anchor first) and the verdict, or, for a
/// response nothing explains, the nearest units that may concern it (`shown`).
#[derive(Clone, Debug, Default)]
pub struct Decision {
    pub units: Vec<usize>,
    pub verdict: Option<Verdict>,
    pub shown: Vec<usize>,
}

/// The context every decision needs.
pub struct Context<'a> {
    pub rules: &'a Rules,
    pub sites: &'a Sites,
    pub roots: &'a Docroots,
}

impl Context<'_> {
    /// The span of log time in which records about `r` are written: before the response
    /// where the access log stamps the request's end (nginx), after it where it stamps the
    /// start (Apache's `%t`).
    pub fn window(&self, r: &Request) -> (i64, i64) {
        if self.sites.stamps_start(r.asked.input) {
            (r.ms - CLOCK_SLACK_MS, r.ms + REQUEST_WINDOW_MS)
        } else {
            (r.ms - REQUEST_WINDOW_MS, r.ms + CLOCK_SLACK_MS)
        }
    }
}

/// One ranked pair.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Pair {
    tier: Tier,
    seconds: i64,
    unclassified: bool,
    misfit: bool,
    distance: i64,
    request: usize,
    unit: usize,
}

/// The units of a segment, indexed for lookups.
struct Index<'u> {
    units: &'u [Unit],
    /// Units that name a request, by its path, in time order.
    by_target: HashMap<&'u str, Vec<usize>>,
    /// Units written for a request that do not name it, in time order.
    unnamed: Vec<usize>,
    /// Classified process units, in time order.
    process: Vec<usize>,
    /// Every unit, in time order.
    all: Vec<usize>,
}

impl<'u> Index<'u> {
    fn new(units: &'u [Unit]) -> Self {
        let mut index = Index {
            units,
            by_target: HashMap::new(),
            unnamed: Vec::new(),
            process: Vec::new(),
            all: (0..units.len()).collect(),
        };
        for (i, u) in units.iter().enumerate() {
            match (u.scope, &u.target) {
                (Scope::Process, _) if u.verdict.is_some() => index.process.push(i),
                (Scope::Process, _) => {}
                (_, Some(t)) => index.by_target.entry(t).or_default().push(i),
                (_, None) => index.unnamed.push(i),
            }
        }
        index
    }

    /// Units of a time-ordered `list` within `[from, to]`, at most `max`, nearest to `t` first.
    fn nearest(&self, list: &[usize], t: i64, (from, to): (i64, i64), max: usize) -> Vec<usize> {
        let ms = |i: usize| self.units[i].ms();
        let mid = list.partition_point(|&i| ms(i) < t);
        let (mut before, mut after) = (mid, mid);
        let mut out = Vec::new();
        while out.len() < max {
            let left = before
                .checked_sub(1)
                .map(|b| list[b])
                .filter(|&i| ms(i) >= from);
            let right = list.get(after).copied().filter(|&i| ms(i) <= to);
            match (left, right) {
                (Some(l), Some(r)) if t - ms(l) <= ms(r) - t => {
                    out.push(l);
                    before -= 1;
                }
                (Some(l), None) => {
                    out.push(l);
                    before -= 1;
                }
                (_, Some(r)) => {
                    out.push(r);
                    after += 1;
                }
                (None, None) => break,
            }
        }
        out
    }
}

/// What a segment comes to: a decision per response, and the failures no response accounts
/// for (each a decision of its own).
#[derive(Debug, Default)]
pub struct Solution {
    pub decisions: Vec<Decision>,
    pub leftovers: Vec<Decision>,
}

/// Decides every response of a segment (`requests` and `units`, each in time order), then
/// reads the classified units no response used as failures of their own.
pub fn solve(ctx: &Context, requests: &[Request], units: &[Unit]) -> Solution {
    let index = Index::new(units);
    let paths: std::collections::HashSet<&str> = requests.iter().map(|r| r.asked.path).collect();
    let mut pairs = Vec::new();
    for (ri, r) in requests.iter().enumerate() {
        let window = ctx.window(r);
        let others = |p: &str| p != r.asked.path && paths.contains(p);
        let named = index
            .by_target
            .get(r.asked.path)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let near = index
            .nearest(named, r.ms, window, usize::MAX)
            .into_iter()
            .chain(index.nearest(&index.unnamed, r.ms, window, MAX_NEAREST));
        for ui in near {
            let u = &units[ui];
            let Some(tier) = identity::fit(&r.asked, u, ctx.sites, ctx.roots, &others) else {
                continue;
            };
            let distance = (u.ms() - r.ms).abs();
            pairs.push(Pair {
                tier,
                seconds: distance / 1000,
                unclassified: u.verdict.is_none(),
                misfit: u
                    .verdict
                    .as_ref()
                    .is_some_and(|v| !ctx.rules.fits_status(v.cause, r.status)),
                distance,
                request: ri,
                unit: ui,
            });
        }
    }
    pairs.sort_unstable();
    let mut decisions = vec![Decision::default(); requests.len()];
    let mut used = vec![false; units.len()];
    for p in pairs {
        if used[p.unit] || !takes(&decisions[p.request], &p, units) {
            continue;
        }
        used[p.unit] = true;
        let d = &mut decisions[p.request];
        d.units.push(p.unit);
        if let Some(v) = &units[p.unit].verdict
            && d.verdict.as_ref().is_none_or(|b| v.weight > b.weight)
        {
            d.verdict = Some(v.clone());
        }
    }
    refine_all(ctx, requests, &index, &mut decisions, &mut used);
    for (r, d) in requests.iter().zip(&mut decisions) {
        if d.units.is_empty() {
            d.shown = nearest_shown(ctx, r, &index);
        }
    }
    let leftovers = leftovers(ctx, &index, &mut used);
    Solution {
        decisions,
        leftovers,
    }
}

/// Whether a response that has taken the units of `d` also takes the unit of `p`: its first
/// unit; then, from another log and about the same moment, a unit that names it, or, where
/// what it has says only that the backend failed, one that says why.
fn takes(d: &Decision, p: &Pair, units: &[Unit]) -> bool {
    let Some(&anchor) = d.units.first() else {
        return true;
    };
    let u = &units[p.unit];
    let same_log = d.units.iter().any(|&i| units[i].input == u.input);
    let same_moment = (u.ms() - units[anchor].ms()).abs() <= SAME_FAILURE_MS;
    let wants_why = d.verdict.as_ref().is_none_or(|v| !v.refined_by.is_empty());
    !same_log && same_moment && (p.tier == Tier::Named || (wants_why && u.verdict.is_some()))
}

/// Whether a decision needs a process record to say why: it says only that the backend
/// failed, or nothing (and no record of the request's own stands in it).
fn wants_process(d: &Decision) -> bool {
    match &d.verdict {
        Some(v) => !v.refined_by.is_empty(),
        None => d.units.is_empty(),
    }
}

/// An episode: a process record (a pool full) explains failures from its time, and from each
/// failure it explains, for its reach: the time of the last failure it explained.
struct Episode {
    last: i64,
}

/// [`refine`] for every decision, in time order, so an episode is followed failure by failure.
fn refine_all(
    ctx: &Context,
    requests: &[Request],
    index: &Index,
    decisions: &mut [Decision],
    used: &mut [bool],
) {
    let mut episodes: HashMap<usize, Episode> = HashMap::new();
    for (r, d) in requests.iter().zip(decisions.iter_mut()) {
        if !wants_process(d) {
            continue;
        }
        let (_, late) = ctx.window(r);
        let found = refine(
            ctx,
            &r.asked,
            r.ms,
            late,
            d.verdict.as_ref(),
            index,
            used,
            &episodes,
        );
        if let Some(i) = found {
            let v = index.units[i]
                .verdict
                .clone()
                .expect("process units are classified");
            episodes.entry(i).or_insert(Episode { last: r.ms }).last = r.ms;
            d.verdict = Some(v);
            d.units.push(i);
            used[i] = true;
        }
    }
}

/// The process unit that says why a failure at `t` happened, among the causes its verdict
/// allows (any, without one): one that may concern the response, whose reach (or episode)
/// covers `t`, logged no later than `late`; not yet used first, then nearest, then the more
/// specific.
#[allow(clippy::too_many_arguments)]
fn refine(
    ctx: &Context,
    asked: &Asked,
    t: i64,
    late: i64,
    verdict: Option<&Verdict>,
    index: &Index,
    used: &[bool],
    episodes: &HashMap<usize, Episode>,
) -> Option<usize> {
    let allowed = |cause: &str| verdict.is_none_or(|v| v.refined_by.contains(&cause));
    let max_reach = REQUEST_WINDOW_MS;
    let from = index
        .process
        .partition_point(|&i| index.units[i].ms() < t - max_reach);
    index.process[from..]
        .iter()
        .copied()
        .take_while(|&i| index.units[i].ms() <= late.max(t + CLOCK_SLACK_MS))
        .filter(|&i| {
            let u = &index.units[i];
            let v = u.verdict.as_ref().expect("process units are classified");
            let last = episodes.get(&i).map_or(u.ms(), |e| e.last.max(u.ms()));
            allowed(v.cause)
                && t <= last + v.reach_ms
                && identity::process_fits(asked, u, ctx.roots)
        })
        .min_by_key(|&i| {
            let u = &index.units[i];
            let weight = u.verdict.as_ref().map_or(0, |v| v.weight);
            (used[i], (u.ms() - t).abs(), std::cmp::Reverse(weight))
        })
}

/// For a response nothing explains: the nearest units (of any kind) that may concern it.
fn nearest_shown(ctx: &Context, r: &Request, index: &Index) -> Vec<usize> {
    let window = (r.ms - NEAREST_MS, r.ms + NEAREST_MS);
    index
        .nearest(&index.all, r.ms, window, MAX_NEAREST)
        .into_iter()
        .filter(|&i| {
            let u = &index.units[i];
            if u.scope == Scope::Process {
                identity::process_fits(&r.asked, u, ctx.roots)
            } else {
                identity::fit(&r.asked, u, ctx.sites, ctx.roots, &|_| false).is_some()
            }
        })
        .take(3)
        .collect()
}

/// The classified units no response used, each read as a failure of its own, the way a
/// response would read it: with the units of other logs that name the same request at the
/// same moment, and refined by a process unit near it where it says only that the backend
/// failed. Process units no failure used stand alone.
fn leftovers(ctx: &Context, index: &Index, used: &mut [bool]) -> Vec<Decision> {
    let units = index.units;
    let mut out = Vec::new();
    for i in 0..units.len() {
        let u = &units[i];
        if used[i] || u.verdict.is_none() {
            continue;
        }
        used[i] = true;
        let mut d = Decision {
            units: vec![i],
            verdict: u.verdict.clone(),
            shown: Vec::new(),
        };
        if u.scope != Scope::Process {
            for j in same_failure(index, i, used) {
                used[j] = true;
                d.units.push(j);
                if let Some(v) = &units[j].verdict
                    && d.verdict.as_ref().is_none_or(|b| v.weight > b.weight)
                {
                    d.verdict = Some(v.clone());
                }
            }
            let asked = Asked {
                input: u.input,
                client: u.client.as_deref().unwrap_or_default(),
                path: u.target.as_deref().unwrap_or_default(),
                host: u.host.as_deref(),
            };
            if wants_process(&d)
                && let Some(p) = refine(
                    ctx,
                    &asked,
                    u.ms(),
                    u.ms() + CLOCK_SLACK_MS,
                    d.verdict.as_ref(),
                    index,
                    used,
                    &HashMap::new(),
                )
            {
                used[p] = true;
                d.units.push(p);
                d.verdict = units[p].verdict.clone();
            }
        }
        out.push(d);
    }
    out
}

/// The unused units of other logs that name the same request as unit `i`, at the same moment.
fn same_failure(index: &Index, i: usize, used: &[bool]) -> Vec<usize> {
    let u = &index.units[i];
    let Some(target) = u.target.as_deref() else {
        return Vec::new();
    };
    let list = index
        .by_target
        .get(target)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let window = (u.ms() - SAME_FAILURE_MS, u.ms() + SAME_FAILURE_MS);
    let mut inputs = vec![u.input];
    let mut out = Vec::new();
    for j in index.nearest(list, u.ms(), window, MAX_NEAREST) {
        let v = &index.units[j];
        let agrees = |a: &Option<Box<str>>, b: &Option<Box<str>>| match (a, b) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        if !used[j]
            && !inputs.contains(&v.input)
            && agrees(&u.client, &v.client)
            && agrees(&u.host, &v.host)
        {
            inputs.push(v.input);
            out.push(j);
        }
    }
    out
}
