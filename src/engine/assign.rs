//! Assignment as a whole: every (response, unit) pair that identity allows is ranked, and the
//! best pairs are taken first, so a record explains the response it fits best; one at the
//! same instant as one 5xx never explains another tens of seconds away because that one was
//! looked at first.
//!
//! A pair ranks by, in order: how surely the unit is about the response ([`Tier`]); whether
//! its cause fits the status (a refused backend connection is a 502/503, never a 500; a unit
//! that names nothing of the request and whose cause cannot give its status is no candidate
//! at all); how close in time, by the second (logs stamp whole seconds); whether a rule names
//! a cause in it; the exact distance. Each unit explains one response
//! (servers write one record per failed request); a response takes its best unit, and from
//! other logs the records about the same failure: those that name it, and, where its own
//! record says only that the backend failed, the application's record of why.
//!
//! What that leaves saying only "the backend failed" (or nothing) gives way to a process
//! record near it that says why ([`refine`]): a worker killed by a signal, the pool at
//! `pm.max_children`. Those are episodes: one record stands for every request that failed
//! while the state held, which [`Episode`] follows from one failure to the next.

use rustc_hash::{FxHashMap as HashMap, FxHashSet};

use super::identity::{self, Asked, Docroots, Sites, Tier};
use super::unit::{SAME_FAILURE_MS, Scope, Unit};
use crate::diagnose::rules::{Rules, Verdict};
use crate::formats::Kind;

/// How far apart a record and the response it explains may be logged, in milliseconds.
pub const REQUEST_WINDOW_MS: i64 = 300_000;
/// Logs stamp whole seconds, and one process may write a moment after another: a record
/// "before" a response may carry the next second.
pub const CLOCK_SLACK_MS: i64 = 1_000;
/// How far the nearest records shown for an unexplained response may be.
pub const NEAREST_MS: i64 = 60_000;
/// Most records one response weighs among those that do not name its path, nearest first.
const MAX_NEAREST: usize = 64;

/// A 5xx response to explain.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    pub ms: i64,
    pub status: u16,
    pub asked: Asked<'a>,
    /// What the access line itself says of why it failed (an `[[access_reason]]` row's
    /// verdict): evidence tied to the response by identity, which a record of higher weight
    /// about the same response overrides.
    pub own: Option<&'a Verdict>,
}

/// What explains one response: the units used (anchor first) and the verdict, or, for a
/// response nothing explains, the nearest units that may concern it (`shown`).
#[derive(Clone, Debug, Default)]
pub struct Decision {
    pub units: Vec<usize>,
    pub verdict: Option<Verdict>,
    pub shown: Vec<usize>,
    /// Its first unit fitted another response, of another path or status, just as well but
    /// for the exact time: the logs cannot tell which of the two it belongs to.
    pub ambiguous: bool,
    /// Whether the verdict is the response's own (its access line's reason).
    pub own: bool,
}

impl Decision {
    /// The decision a response starts from: its own reason's verdict, if its line gives one.
    fn of(r: &Request) -> Decision {
        Decision {
            verdict: r.own.cloned(),
            own: r.own.is_some(),
            ..Decision::default()
        }
    }

    /// Takes `v` as the verdict where it is more specific than the one held.
    fn weigh(&mut self, v: &Verdict) {
        if self.verdict.as_ref().is_none_or(|b| v.weight > b.weight) {
            self.verdict = Some(v.clone());
            self.own = false;
        }
    }
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
        window(self.sites, r)
    }
}

/// [`Context::window`]. Logs stamp whole seconds, cut down: a request stamped at its end
/// writes nothing after the next second. One stamped at its start may see PHP stamp its error
/// the second before (seen with mod_php); its own server's error log, which has the same clock
/// to the microsecond, writes nothing before it ([`before_start`]).
pub fn window(sites: &Sites, r: &Request) -> (i64, i64) {
    if sites.stamps_start(r.asked.input) {
        (r.ms - CLOCK_SLACK_MS, r.ms + REQUEST_WINDOW_MS)
    } else {
        (r.ms - REQUEST_WINDOW_MS, r.ms + CLOCK_SLACK_MS)
    }
}

/// Whether `u` was written before the request stamped at its start (`r`) began, by the web
/// server itself: then it is another request's.
fn before_start(sites: &Sites, r: &Request, u: &Unit) -> bool {
    sites.stamps_start(r.asked.input) && u.kind == Kind::Error && u.ms() < r.ms
}

/// One ranked pair.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Pair {
    tier: Tier,
    misfit: bool,
    seconds: i64,
    unclassified: bool,
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
    /// Units that tell of a state (classified process units, and episode records of any
    /// kind), in time order.
    states: Vec<usize>,
    /// Every unit, in time order.
    all: Vec<usize>,
}

impl<'u> Index<'u> {
    fn new(units: &'u [Unit]) -> Self {
        let mut index = Index {
            units,
            by_target: HashMap::default(),
            unnamed: Vec::new(),
            states: Vec::new(),
            all: (0..units.len()).collect(),
        };
        for (i, u) in units.iter().enumerate() {
            let episode = u.verdict.as_ref().is_some_and(|v| v.episode);
            if episode || (u.scope == Scope::Process && u.verdict.is_some()) {
                index.states.push(i);
            }
            match (u.scope, &u.target) {
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
        // The window's part of the list, so the answer is allocated once, at its size.
        let lo = list.partition_point(|&i| ms(i) < from);
        let hi = lo + list[lo..].partition_point(|&i| ms(i) <= to);
        let mid = lo + list[lo..hi].partition_point(|&i| ms(i) < t);
        let (mut before, mut after) = (mid, mid);
        let mut out = Vec::with_capacity(max.min(hi - lo));
        while out.len() < max {
            let left = before.checked_sub(1).filter(|&b| b >= lo).map(|b| list[b]);
            let right = (after < hi).then(|| list[after]);
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
    let paths: FxHashSet<&str> = requests.iter().map(|r| r.asked.path).collect();
    let mut pairs = Vec::new();
    // The scripts each unit names, found when a request first meets it (most units, far from
    // every 5xx, meet none).
    let mut scripts: Vec<Option<Vec<&str>>> = vec![None; units.len()];
    for (ri, r) in requests.iter().enumerate() {
        // Its own line says it never reached the application: no record can be about it.
        if r.own.is_some_and(|v| v.unreached) {
            continue;
        }
        let window = ctx.window(r);
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
            if before_start(ctx.sites, r, u) {
                continue;
            }
            let scripts = scripts[ui].get_or_insert_with(|| identity::script_paths(u, &paths));
            let Some(tier) = identity::fit(&r.asked, u, ctx.sites, ctx.roots, scripts) else {
                continue;
            };
            let misfit = u.verdict.as_ref().is_some_and(|v| !fits(v, r.status));
            if misfit && tier != Tier::Named {
                continue;
            }
            let distance = (u.ms() - r.ms).abs();
            pairs.push(Pair {
                tier,
                misfit,
                seconds: distance / 1000,
                unclassified: u.verdict.is_none(),
                distance,
                request: ri,
                unit: ui,
            });
        }
    }
    pairs.sort_unstable();
    let mut decisions: Vec<Decision> = requests.iter().map(Decision::of).collect();
    let mut used = vec![false; units.len()];
    for p in &pairs {
        if used[p.unit] || !takes(&decisions[p.request], p, units) {
            continue;
        }
        used[p.unit] = true;
        let d = &mut decisions[p.request];
        d.units.push(p.unit);
        if let Some(v) = &units[p.unit].verdict {
            d.weigh(v);
        }
    }
    mark_ambiguous(requests, &pairs, &mut decisions);
    refine_all(ctx, requests, &index, &mut decisions, &mut used);
    for (r, d) in requests.iter().zip(&mut decisions) {
        if d.units.is_empty() && !d.own {
            d.shown = nearest_shown(ctx, r, &index);
        }
    }
    let leftovers = leftovers(ctx, &index, &mut used);
    Solution {
        decisions,
        leftovers,
    }
}

/// Marks the decisions whose first unit another response (of another path or status) could
/// have taken as well, identity, status and the second alike: only the exact time, which
/// logs do not always write, chose between them.
fn mark_ambiguous(requests: &[Request], pairs: &[Pair], decisions: &mut [Decision]) {
    let owner: HashMap<usize, usize> = decisions
        .iter()
        .enumerate()
        .filter_map(|(r, d)| Some((*d.units.first()?, r)))
        .collect();
    let rank = |p: &Pair| (p.tier, p.misfit, p.seconds);
    let anchor: HashMap<usize, (Tier, bool, i64)> = pairs
        .iter()
        .filter(|p| owner.get(&p.unit) == Some(&p.request))
        .map(|p| (p.request, rank(p)))
        .collect();
    for p in pairs {
        let Some(&taker) = owner.get(&p.unit) else {
            continue;
        };
        let (a, b) = (&requests[taker], &requests[p.request]);
        // The other response wanted it too: nothing it took fits it better.
        let wanted = anchor.get(&p.request).is_none_or(|k| *k >= rank(p));
        if taker != p.request
            && wanted
            && anchor.get(&taker) == Some(&rank(p))
            && (a.asked.path != b.asked.path || a.status != b.status)
        {
            decisions[taker].ambiguous = true;
        }
    }
}

/// Whether a server answers `status` for the failure a verdict names.
fn fits(v: &Verdict, status: u16) -> bool {
    v.statuses.is_empty() || v.statuses.contains(&status)
}

/// Whether a response that has taken the units of `d` also takes the unit of `p`: its first
/// unit; then, from another log and about the same moment, a unit that names it, or, where
/// what it has says only that the backend failed, one that says why.
fn takes(d: &Decision, p: &Pair, units: &[Unit]) -> bool {
    let Some(&anchor) = d.units.first() else {
        return true;
    };
    if d.verdict.as_ref().is_some_and(|v| v.unreached) {
        return false;
    }
    let u = &units[p.unit];
    // One record per kind of log: rotated pieces of one log are one log.
    let same_log = d.units.iter().any(|&i| units[i].kind == u.kind);
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
    let mut episodes: HashMap<usize, Episode> = HashMap::default();
    for (r, d) in requests.iter().zip(decisions.iter_mut()) {
        if !wants_process(d) {
            continue;
        }
        // A state that began after the response's own record (its end) cannot explain it.
        let late = match d.units.first() {
            Some(&a) => index.units[a].ms().max(r.ms) + CLOCK_SLACK_MS,
            None => ctx.window(r).1,
        };
        let upstream = d
            .units
            .first()
            .and_then(|&a| index.units[a].upstream.as_deref());
        let found = refine(
            ctx,
            (&r.asked, upstream),
            (r.ms, Some(r.status)),
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
            d.own = false;
            d.units.push(i);
            used[i] = true;
        }
    }
}

/// The process unit that says why a failure at `t` (answered `status`, where a response)
/// happened, among the causes its verdict allows (any, without one) that fit the status: one
/// that may concern the response, whose reach (or episode) covers `t`, logged no later than
/// `late`; not yet used first, then nearest, then the more specific.
#[allow(clippy::too_many_arguments)]
fn refine(
    ctx: &Context,
    (asked, upstream): (&Asked, Option<&str>),
    (t, status): (i64, Option<u16>),
    late: i64,
    verdict: Option<&Verdict>,
    index: &Index,
    used: &[bool],
    episodes: &HashMap<usize, Episode>,
) -> Option<usize> {
    let allowed = |cause: &str| verdict.is_none_or(|v| v.refined_by.contains(&cause));
    let max_reach = REQUEST_WINDOW_MS;
    let from = index
        .states
        .partition_point(|&i| index.units[i].ms() < t - max_reach);
    index.states[from..]
        .iter()
        .copied()
        .take_while(|&i| index.units[i].ms() <= late.max(t + CLOCK_SLACK_MS))
        .filter(|&i| {
            let u = &index.units[i];
            let v = u.verdict.as_ref().expect("process units are classified");
            let last = episodes.get(&i).map_or(u.ms(), |e| e.last.max(u.ms()));
            allowed(v.cause)
                && status.is_none_or(|s| fits(v, s))
                && t <= last + v.reach_ms
                && identity::state_fits(asked, upstream, u, ctx.roots)
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
                identity::fit(&r.asked, u, ctx.sites, ctx.roots, &[]).is_some()
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
            ..Decision::default()
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
                request_id: u.request_id.as_deref(),
            };
            if wants_process(&d)
                && let Some(p) = refine(
                    ctx,
                    (&asked, u.upstream.as_deref()),
                    (u.ms(), None),
                    u.ms() + CLOCK_SLACK_MS,
                    d.verdict.as_ref(),
                    index,
                    used,
                    &HashMap::default(),
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
    let mut kinds = vec![u.kind];
    let mut out = Vec::new();
    for j in index.nearest(list, u.ms(), window, MAX_NEAREST) {
        let v = &index.units[j];
        let agrees = |a: &Option<Box<str>>, b: &Option<Box<str>>| match (a, b) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        if !used[j]
            && !kinds.contains(&v.kind)
            && agrees(&u.client, &v.client)
            && agrees(&u.host, &v.host)
        {
            kinds.push(v.kind);
            out.push(j);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    //! Each rule on lines from the overlap lab (`tests/fixtures/real/overlap/`).
    use super::*;
    use crate::engine::unit::units_of;
    use crate::formats::detect::ErrorFormat;
    use crate::formats::{Kind, time::parse_nginx_error};
    use crate::scan::InputReport;
    use jiff::tz::TimeZone;

    /// The lab's inputs: where each log is, as `Sites` reads it.
    const INPUTS: [(&str, &str); 7] = [
        ("/l/nginx/access.log", "vhost_combined"),
        ("/l/nginx/error.log", "nginx_error"),
        ("/l/apache2/access.log", "vhost_combined"),
        ("/l/apache2/error.log", "apache_error"),
        ("/l/php/blog-error.log", "php_error"),
        ("/l/php8.2-fpm.log", "php_fpm"),
        ("/l/haproxy/access.log", "haproxy"),
    ];
    const NGINX: usize = 0;
    const APACHE: usize = 2;
    const HAPROXY: usize = 6;

    fn sites() -> Sites {
        let reports: Vec<InputReport> = INPUTS
            .iter()
            .map(|(path, format)| InputReport {
                path: (*path).into(),
                kind: Kind::Access,
                format,
                lines: 0,
                unparsed: 0,
                untimed: 0,
                error: None,
                envelope: None,
                hop_of: None,
            })
            .collect();
        Sites::new(&reports)
    }

    /// Units of real records, each `(input, text)`; the format follows from the input.
    fn units(records: &[(usize, &str)]) -> Vec<Unit> {
        let events: Vec<_> = records
            .iter()
            .enumerate()
            .map(|(n, (input, text))| {
                let format = match *input {
                    1 => ErrorFormat::Nginx,
                    3 => ErrorFormat::Apache,
                    4 => ErrorFormat::Php,
                    _ => ErrorFormat::PhpFpm,
                };
                let mut e = format.parse(text.as_bytes(), &TimeZone::UTC).unwrap();
                e.input = *input;
                e.line = n as u64 + 1;
                e
            })
            .collect();
        units_of(&events, Rules::builtin(), &crate::engine::unit::Keep::all())
    }

    fn at(hms: &str) -> i64 {
        let t = format!("2026/12/07 {hms}");
        parse_nginx_error(t.as_bytes())
            .unwrap()
            .in_zone(&TimeZone::UTC)
            .unwrap()
            .ms
    }

    fn request<'a>(
        input: usize,
        hms: &str,
        status: u16,
        path: &'a str,
        host: &'a str,
    ) -> Request<'a> {
        Request {
            ms: at(hms),
            status,
            asked: Asked {
                input,
                client: "127.0.0.1",
                path,
                host: Some(host),
                request_id: None,
            },
            own: None,
        }
    }

    /// Each response's cause and the lines of the records it used.
    fn decide(requests: &[Request], units: &[Unit]) -> Vec<(Option<&'static str>, Vec<u64>)> {
        let (sites, roots) = (sites(), Docroots::default());
        let ctx = Context {
            rules: Rules::builtin(),
            sites: &sites,
            roots: &roots,
        };
        solve(&ctx, requests, units)
            .decisions
            .iter()
            .map(|d| {
                let lines = d
                    .units
                    .iter()
                    .flat_map(|&u| units[u].records.iter().map(|r| r.line));
                (d.verdict.as_ref().map(|v| v.cause), lines.collect())
            })
            .collect()
    }

    const REPORT_MEMORY: &str = "2026/12/07 04:45:00 [error] 32173#32173: *35 FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Allowed memory size of 16777216 bytes exhausted (tried to allocate 2097152 bytes) in /srv/lab/www/shop/report.php on line 3\" while reading response header from upstream, client: 127.0.0.1, server: shop.test, request: \"GET /report.php HTTP/1.1\", upstream: \"fastcgi://unix:/srv/lab/run/php8.2-fpm-shop.sock:\", host: \"shop.test\"";
    const BUSY_EAGAIN: &str = "2026/12/07 04:45:00 [error] 32173#32173: *45 connect() to unix:/srv/lab/run/php8.2-fpm-blog.sock failed (11: Resource temporarily unavailable) while connecting to upstream, client: 127.0.0.1, server: blog.test, request: \"GET /busy.php HTTP/1.1\", upstream: \"fastcgi://unix:/srv/lab/run/php8.2-fpm-blog.sock:\", host: \"blog.test\"";

    #[test]
    fn a_record_that_names_another_request_or_server_never_explains() {
        let units = units(&[(1, REPORT_MEMORY), (1, BUSY_EAGAIN)]);
        let requests = [
            request(NGINX, "04:45:00", 500, "/report.php", "shop.test"),
            request(NGINX, "04:45:00", 500, "/syntax.php", "shop.test"),
            // Apache's response for the same path: nginx's line is not its.
            request(APACHE, "04:45:00", 500, "/report.php", "shop.test"),
        ];
        let got = decide(&requests, &units);
        assert_eq!(got[0], (Some("php_memory_limit"), vec![1]));
        assert_eq!(got[1], (None, vec![]));
        assert_eq!(got[2], (None, vec![]));
    }

    #[test]
    fn a_record_goes_to_the_response_it_fits_best_not_the_first_looked_at() {
        let later = REPORT_MEMORY.replace("04:45:00", "04:45:40");
        let units = units(&[(1, &later)]);
        let requests = [
            request(NGINX, "04:45:10", 500, "/report.php", "shop.test"),
            request(NGINX, "04:45:40", 500, "/report.php", "shop.test"),
        ];
        let got = decide(&requests, &units);
        assert_eq!(got[0].0, None);
        assert_eq!(got[1], (Some("php_memory_limit"), vec![1]));
    }

    /// Rails' exception records of two requests on the two workers, in the same second: they
    /// name no path, only the request id.
    const RAILS_KEY_ERROR: &str = "F, [2026-12-07T04:45:00.120000 #7] FATAL -- : [aaa1]\n[aaa1] KeyError (key not found: :price):\n[aaa1] app/models/cart.rb:8:in `fetch'";
    const RAILS_DB_AUTH: &str = "F, [2026-12-07T04:45:00.130000 #8] FATAL -- : [bbb2]\n[bbb2] ActiveRecord::ConnectionNotEstablished (connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication failed for user \"app\"\n):\n[bbb2] app/controllers/orders_controller.rb:28:in `index'";

    #[test]
    fn an_application_record_goes_to_the_response_with_its_request_id() {
        let rails = ErrorFormat::App(crate::formats::app::AppLog::Rails);
        let events: Vec<_> = [RAILS_KEY_ERROR, RAILS_DB_AUTH]
            .iter()
            .enumerate()
            .map(|(n, text)| {
                let mut e = rails.parse(text.as_bytes(), &TimeZone::UTC).unwrap();
                e.line = n as u64 + 1;
                e
            })
            .collect();
        let units = units_of(&events, Rules::builtin(), &crate::engine::unit::Keep::all());
        // Logged by nginx in the order that time alone would pair the other way round.
        let mut requests = [
            request(NGINX, "04:45:00", 500, "/orders", "shop.test"),
            request(NGINX, "04:45:00", 500, "/checkout", "shop.test"),
        ];
        requests[0].asked.request_id = Some("bbb2");
        requests[1].asked.request_id = Some("aaa1");
        let got = decide(&requests, &units);
        assert_eq!(got[0], (Some("db_auth"), vec![2]));
        assert_eq!(got[1], (Some("app_exception"), vec![1]));
        // Another id is another request's, however near in time.
        requests[1].asked.request_id = Some("ccc3");
        assert_eq!(decide(&requests[1..], &units)[0], (None, vec![]));
    }

    const TIMEOUT_0265: &str = "[Mon Dec 07 04:45:02.653627 2026] [proxy_fcgi:error] [pid 32178:tid 32182] (70007)The timeout specified has expired: [client 127.0.0.1:44412] AH01075: Error dispatching request to : (polling)";
    const TIMEOUT_0573: &str = "[Mon Dec 07 04:45:05.735024 2026] [proxy_fcgi:error] [pid 32178:tid 32211] (70007)The timeout specified has expired: [client 127.0.0.1:44478] AH01075: Error dispatching request to : (polling)";
    const DB_DOWN: &str =
        "[07-Dec-2026 04:45:03 UTC] blog: database connection failed: Connection refused";

    #[test]
    fn apache_stamps_the_start_and_a_timeout_is_never_a_php_error() {
        // Apache's 504s started at :00 and :03; their timeouts were logged at 02.65 and 05.73.
        // A database error at :03 (a 500's cause) is no candidate for either.
        let units = units(&[(3, TIMEOUT_0265), (4, DB_DOWN), (3, TIMEOUT_0573)]);
        let requests = [
            request(APACHE, "04:45:00", 504, "/busy.php", "blog.test"),
            request(APACHE, "04:45:03", 504, "/busy.php", "blog.test"),
            request(APACHE, "04:45:03", 500, "/db.php", "blog.test"),
        ];
        let got = decide(&requests, &units);
        assert_eq!(got[0], (Some("upstream_timeout"), vec![1]));
        assert_eq!(got[1], (Some("upstream_timeout"), vec![3]));
        assert_eq!(got[2], (Some("db_unreachable"), vec![2]));
    }

    const POOL_FULL: &str = "[07-Dec-2026 04:45:15] WARNING: [pool blog] server reached pm.max_children setting (2), consider raising it";

    #[test]
    fn a_full_pool_explains_the_timeouts_of_its_site_while_it_holds() {
        // FPM logs the warning once; a later burst shows the pool still full through nginx's
        // refused connections, which count for Apache's requests to the same site too.
        let eagain = BUSY_EAGAIN.replace("04:45:00", "04:45:20");
        let timeout = TIMEOUT_0265.replace("04:45:02.653627", "04:45:22.490999");
        let shop_timeout = TIMEOUT_0573.replace("04:45:05.735024", "04:45:22.5");
        let units = units(&[
            (5, POOL_FULL),
            (1, &eagain),
            (3, &timeout),
            (3, &shop_timeout),
        ]);
        let requests = [
            request(NGINX, "04:45:20", 502, "/busy.php", "blog.test"),
            request(APACHE, "04:45:20", 504, "/busy.php", "blog.test"),
            request(APACHE, "04:45:20", 504, "/slow.php", "shop.test"),
        ];
        let got = decide(&requests, &units);
        assert_eq!(got[0], (Some("fpm_pool_exhausted"), vec![2]));
        assert_eq!(got[1].0, Some("fpm_pool_exhausted"));
        assert!(got[1].1.contains(&3) && got[1].1.contains(&2), "{got:?}");
        // Another site's timeout: the blog pool's state is not its.
        assert_eq!(got[2].0, Some("upstream_timeout"));
    }

    #[test]
    fn another_pool_being_full_does_not_explain_a_timeout() {
        // The mixed lab: the `jobs` pool refuses connections, then a slow report on the main
        // pool times out on the same host. Each names its upstream: two pools.
        let eagain = "2026/12/07 04:55:28 [error] 20575#20575: *178 connect() to unix:/run/php-fpm-jobs.sock failed (11: Resource temporarily unavailable) while connecting to upstream, client: 127.0.0.1, server: localhost, request: \"GET /jobs/busy.php HTTP/1.1\", upstream: \"fastcgi://unix:/run/php-fpm-jobs.sock:\", host: \"localhost\"";
        let timeout = "2026/12/07 04:55:31 [error] 20575#20575: *235 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 127.0.0.1, server: localhost, request: \"GET /reports/slow.php HTTP/1.1\", upstream: \"fastcgi://unix:/run/php-fpm.sock\", host: \"localhost\"";
        let units = units(&[(1, eagain), (1, timeout)]);
        let requests = [
            request(NGINX, "04:55:28", 502, "/jobs/busy.php", "localhost"),
            request(NGINX, "04:55:31", 504, "/reports/slow.php", "localhost"),
        ];
        let got = decide(&requests, &units);
        assert_eq!(got[0].0, Some("fpm_pool_exhausted"));
        assert_eq!(got[1], (Some("upstream_timeout"), vec![2]));
    }

    #[test]
    fn what_only_the_exact_time_decides_is_marked_ambiguous() {
        // Apache names only the client's port in a time-out, and its access log no port: two
        // requests of one client to two scripts, timing out in the same second, are told
        // apart by the exact time alone.
        let other = TIMEOUT_0265.replace("02.653627", "02.700000");
        let units = units(&[(3, TIMEOUT_0265), (3, &other)]);
        let requests = [
            request(APACHE, "04:45:00", 504, "/busy.php", "blog.test"),
            request(APACHE, "04:45:00", 504, "/slow.php", "blog.test"),
        ];
        let (sites, roots) = (sites(), Docroots::default());
        let ctx = Context {
            rules: Rules::builtin(),
            sites: &sites,
            roots: &roots,
        };
        let solution = solve(&ctx, &requests, &units);
        assert!(
            solution
                .decisions
                .iter()
                .all(|d| d.ambiguous && d.units.len() == 1)
        );
        // Identical requests taking each other's alike records are no ambiguity worth a word.
        let same = [
            request(APACHE, "04:45:00", 504, "/busy.php", "blog.test"),
            request(APACHE, "04:45:00", 504, "/busy.php", "blog.test"),
        ];
        let solution = solve(&ctx, &same, &units);
        assert!(solution.decisions.iter().all(|d| !d.ambiguous));
    }

    #[test]
    fn a_request_turned_away_at_connect_has_no_php_messages() {
        let eagain = BUSY_EAGAIN
            .replace("04:45:00", "04:45:03")
            .replace("/busy.php", "/private.php");
        let warning = "[07-Dec-2026 04:45:03 UTC] PHP Warning:  require(/srv/lab/www/blog/lib/members.php): Failed to open stream: Permission denied in /srv/lab/www/blog/private.php on line 2";
        let fatal = "[07-Dec-2026 04:45:03 UTC] PHP Fatal error:  Uncaught Error: Failed opening required '/srv/lab/www/blog/lib/members.php' (include_path='.:/usr/share/php') in /srv/lab/www/blog/private.php:2";
        let units = units(&[(1, &eagain), (4, warning), (4, fatal)]);
        let requests = [
            request(NGINX, "04:45:03", 502, "/private.php", "blog.test"),
            request(APACHE, "04:45:02", 500, "/private.php", "blog.test"),
        ];
        let got = decide(&requests, &units);
        assert_eq!(got[0], (Some("fpm_pool_exhausted"), vec![1]));
        assert_eq!(got[1], (Some("file_permissions"), vec![2, 3]));
    }

    #[test]
    fn an_access_lines_own_reason_stands_unless_a_weightier_record_explains_it() {
        // HAProxy stamps the accept date: PHP's fatal error a second later is the slow
        // request's, and says more than HAProxy's "timeout server" (`sH`).
        let fatal = "[07-Dec-2026 04:45:03 UTC] PHP Fatal error:  Maximum execution time of 1 second exceeded in /srv/lab/www/blog/slow.php on line 3";
        let units = units(&[(4, fatal)]);
        let with = |mut r: Request<'static>, reason: &str| {
            r.own = Rules::builtin().classify_reason("haproxy", reason);
            r
        };
        let requests = [
            with(
                request(HAPROXY, "04:45:02", 504, "/slow.php", "blog.test"),
                "sH--",
            ),
            with(
                request(HAPROXY, "04:45:02", 504, "/other.php", "blog.test"),
                "sH--",
            ),
            // Refused at connect: never reached PHP, so PHP's record is not its.
            with(
                request(HAPROXY, "04:45:02", 503, "/slow.php", "blog.test"),
                "SC--",
            ),
            with(
                request(HAPROXY, "04:45:02", 500, "/slow.php", "blog.test"),
                "----",
            ),
        ];
        let got = decide(&requests, &units);
        assert_eq!(got[0], (Some("php_timeout"), vec![1]));
        assert_eq!(got[1], (Some("upstream_timeout"), vec![]));
        assert_eq!(got[2], (Some("upstream_unavailable"), vec![]));
        assert_eq!(got[3], (None, vec![]));
        let (sites, roots) = (sites(), Docroots::default());
        let ctx = Context {
            rules: Rules::builtin(),
            sites: &sites,
            roots: &roots,
        };
        let own: Vec<bool> = solve(&ctx, &requests, &units)
            .decisions
            .iter()
            .map(|d| d.own)
            .collect();
        assert_eq!(own, [false, true, true, false]);
    }
}
