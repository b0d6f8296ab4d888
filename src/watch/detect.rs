//! The alert rules of `watch` (shared/spec/cli.md), run on the logs' own timestamps so that
//! replaying an old log gives the alerts living through it would have given:
//!
//! - `robots_txt_5xx` (critical) at the first 5xx or 429 answer to `/robots.txt` (Google
//!   takes a 429 there for a 5xx); resolved by the next 2xx or other 4xx answer to it (as an
//!   outage ends in `seo`).
//! - `error_spike` (critical), rule `spike`: over the last 60 s at least 10 responses were
//!   5xx, at least 5% of all, and that share is at least 10× the share of the hour before;
//!   resolved once the share has stayed under 1% for 5 minutes.
//! - `error_spike`, rule `slo_burn`, with an SLO (`--slo 99.9`): the multi-window burn-rate
//!   rule of Google's SRE workbook, the error ratio over the budget (1 − SLO) at least 14.4×
//!   over both 1 h and 5 min, or 6× over both 6 h and 30 min; resolved when neither holds.
//! - `new_cause` (warning): an incident opens with a cause not seen in the last 24 h; resolved
//!   when that incident resolves (the pipeline says when).
//!
//! Each rule fires once per episode and resolves once. Time moves on with each line, and by
//! the clock through [`Detector::advance`] while no line comes.

use std::collections::HashMap;

use serde::Serialize;

use crate::formats::Stamp;

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;

/// The spike rule's windows, in seconds.
const SPIKE_WINDOW: usize = 60;
const SPIKE_BASELINE: usize = 3600;
const SPIKE_MIN_ERRORS: u64 = 10;
const SPIKE_MIN_SHARE: f64 = 0.05;
const SPIKE_MIN_FACTOR: f64 = 10.0;
const CALM_SHARE: f64 = 0.01;
const CALM_FOR: i64 = 5 * MINUTE;
/// How long a cause stays "seen" for `new_cause`.
const CAUSE_MEMORY: i64 = 24 * HOUR;

/// The burn-rate windows in minutes (long, short) and the factor both must reach.
const BURN_RULES: [(usize, usize, f64); 2] = [(60, 5, 14.4), (360, 30, 6.0)];
const BURN_HISTORY: usize = 360;

/// An alert notification: one firing, or its resolution.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    pub alert: &'static str,
    pub status: AlertStatus,
    pub severity: &'static str,
    /// The rule that fired, where an alert has several (`spike`, `slo_burn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
    /// The cause, for `new_cause`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<&'static str>,
    /// One line for a person.
    pub summary: String,
    /// The log time it fired or resolved at.
    pub at: Stamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

/// What the detector is told besides the defaults.
#[derive(Clone, Copy, Debug, Default)]
pub struct DetectConfig {
    /// The availability objective in percent (`99.9`), for the burn-rate rule.
    pub slo: Option<f64>,
}

/// Counts of responses and 5xx in time buckets of one width, in a ring.
#[derive(Debug)]
struct Ring {
    width: i64,
    /// (bucket number, responses, 5xx); a slot holds the bucket its number says.
    slots: Vec<(i64, u64, u64)>,
}

impl Ring {
    fn new(width: i64, len: usize) -> Ring {
        Ring {
            width,
            slots: vec![(i64::MIN, 0, 0); len],
        }
    }

    fn add(&mut self, ms: i64, error: bool) {
        let n = ms.div_euclid(self.width);
        let i = n.rem_euclid(self.slots.len() as i64) as usize;
        let slot = &mut self.slots[i];
        if slot.0 != n {
            *slot = (n, 0, 0);
        }
        slot.1 += 1;
        slot.2 += u64::from(error);
    }

    /// Responses and 5xx in the `count` buckets ending `skip` buckets before the one at `ms`
    /// (inclusive of that one when `skip` is 0).
    fn sum(&self, ms: i64, skip: usize, count: usize) -> (u64, u64) {
        let last = ms.div_euclid(self.width) - skip as i64;
        (0..count as i64)
            .map(|k| last - k)
            .filter_map(|n| {
                let slot = self.slots[n.rem_euclid(self.slots.len() as i64) as usize];
                (slot.0 == n).then_some((slot.1, slot.2))
            })
            .fold((0, 0), |(a, b), (c, d)| (a + c, b + d))
    }
}

/// One rule's episode: firing or not.
#[derive(Debug, Default)]
struct Episode {
    firing: bool,
}

impl Episode {
    /// The transition, if `now` differs from the state.
    fn set(&mut self, now: bool) -> Option<AlertStatus> {
        if now == self.firing {
            return None;
        }
        self.firing = now;
        Some(if now {
            AlertStatus::Firing
        } else {
            AlertStatus::Resolved
        })
    }
}

/// The rules' state.
#[derive(Debug)]
pub struct Detector {
    config: DetectConfig,
    seconds: Ring,
    minutes: Ring,
    /// The newest time seen (lines or clock), and the offset to show it in.
    now: Option<Stamp>,
    /// The last second the rules were evaluated for.
    evaluated: Option<i64>,
    robots: Episode,
    spike: Episode,
    calm_since: Option<i64>,
    burn: Episode,
    /// When each cause was last seen, and which are firing `new_cause`.
    causes: HashMap<&'static str, i64>,
    new_causes: HashMap<&'static str, Episode>,
}

impl Detector {
    pub fn new(config: DetectConfig) -> Detector {
        Detector {
            config,
            seconds: Ring::new(SECOND, SPIKE_WINDOW + SPIKE_BASELINE + 1),
            minutes: Ring::new(MINUTE, BURN_HISTORY + 1),
            now: None,
            evaluated: None,
            robots: Episode::default(),
            spike: Episode::default(),
            calm_since: None,
            burn: Episode::default(),
            causes: HashMap::new(),
            new_causes: HashMap::new(),
        }
    }

    /// One access-log response. Lines a little out of order (several workers writing) count
    /// in their own second; time never moves back. The rules are evaluated as each second
    /// ends (by the next line's time or the clock), which keeps a line's cost constant.
    pub fn response(&mut self, at: Stamp, status: u16, robots_txt: bool) -> Vec<Alert> {
        let mut alerts = self.advance(at);
        let error = (500..600).contains(&status);
        self.seconds.add(at.ms, error);
        self.minutes.add(at.ms, error);
        if robots_txt {
            let firing = match status {
                s if crate::seo::slows_crawling(s) => Some(true),
                200..=299 | 400..=499 => Some(false),
                _ => None,
            };
            if let Some(t) = firing.and_then(|f| self.robots.set(f)) {
                alerts.push(self.robots_alert(t, status, at));
            }
        }
        alerts
    }

    /// Moves time on to `at` (a line's time, or the clock's while no line comes) and gives
    /// what the rules say at the end of each second passed.
    pub fn advance(&mut self, at: Stamp) -> Vec<Alert> {
        if self.now.is_some_and(|n| n.ms >= at.ms) {
            return Vec::new();
        }
        self.now = Some(at);
        let to = at.ms.div_euclid(SECOND);
        let start = match self.evaluated {
            Some(done) => done + 1,
            None => {
                self.evaluated = Some(to - 1);
                return Vec::new();
            }
        };
        let mut alerts = Vec::new();
        let mut s = start;
        while s < to {
            let end = Stamp {
                ms: s * SECOND + SECOND - 1,
                offset: at.offset,
            };
            alerts.extend(self.evaluate(end));
            self.evaluated = Some(s);
            s += 1;
            // Through a long stretch with no lines, once the last line has left the shortest
            // window nothing changes but the timers, which the stretch's end sees as well.
            if s > start + SPIKE_WINDOW as i64 && s < to - SPIKE_WINDOW as i64 {
                s = to - SPIKE_WINDOW as i64;
            }
        }
        alerts
    }

    /// Moves time on to `at` like [`Detector::advance`], then evaluates the rules for the
    /// window ending at `at` itself, within the second: a burst alerts at the next tick, not
    /// at the end of its second. Called by the clock, not per line (a rule costs a few
    /// thousand additions).
    pub fn tick(&mut self, at: Stamp) -> Vec<Alert> {
        let mut alerts = self.advance(at);
        if self.evaluated.is_some() {
            let now = self.now.map_or(at, |n| n.max(at));
            alerts.extend(self.evaluate(now));
        }
        alerts
    }

    /// An incident opened with `cause`: `new_cause` fires if that cause was not seen in the
    /// last 24 hours.
    pub fn incident_opened(&mut self, cause: &'static str, at: Stamp) -> Option<Alert> {
        let seen = self.causes.insert(cause, at.ms);
        let new = seen.is_none_or(|t| at.ms - t > CAUSE_MEMORY);
        if !new {
            return None;
        }
        let t = self.new_causes.entry(cause).or_default().set(true)?;
        Some(new_cause_alert(cause, t, at))
    }

    /// Sets an alert's episode as firing or not, without a notification: firing for one that
    /// was firing before a restart (its episode goes on, and its resolution will be sent when
    /// it clears); not firing for one that fired in history and was never sent (should its
    /// condition still hold live, it fires anew). Unknown names are ignored.
    pub fn set_firing(&mut self, alert: &Alert, firing: bool) {
        let episode = match (alert.alert, alert.rule, alert.cause) {
            ("robots_txt_5xx", _, _) => &mut self.robots,
            ("error_spike", Some("slo_burn"), _) => &mut self.burn,
            ("error_spike", _, _) => &mut self.spike,
            ("new_cause", _, Some(cause)) => self.new_causes.entry(cause).or_default(),
            _ => return,
        };
        episode.firing = firing;
    }

    /// A cause seen before a restart, at `ms`: `new_cause` stays quiet for it for 24 hours.
    pub fn remember_cause(&mut self, cause: &'static str, ms: i64) {
        let last = self.causes.entry(cause).or_insert(ms);
        *last = (*last).max(ms);
    }

    /// The incident with `cause` resolved: its `new_cause` alert, if firing, resolves too.
    pub fn incident_resolved(&mut self, cause: &'static str, at: Stamp) -> Option<Alert> {
        let t = self.new_causes.get_mut(cause)?.set(false)?;
        Some(new_cause_alert(cause, t, at))
    }

    fn evaluate(&mut self, t: Stamp) -> Vec<Alert> {
        let mut alerts = Vec::new();
        alerts.extend(self.evaluate_spike(t));
        alerts.extend(self.evaluate_burn(t));
        alerts
    }

    fn evaluate_spike(&mut self, t: Stamp) -> Option<Alert> {
        let (total, errors) = self.seconds.sum(t.ms, 0, SPIKE_WINDOW);
        let share = ratio(errors, total);
        let (base_total, base_errors) = self.seconds.sum(t.ms, SPIKE_WINDOW, SPIKE_BASELINE);
        let base = ratio(base_errors, base_total);
        let spiking = errors >= SPIKE_MIN_ERRORS
            && share >= SPIKE_MIN_SHARE
            && share >= SPIKE_MIN_FACTOR * base;
        if share < CALM_SHARE {
            self.calm_since.get_or_insert(t.ms);
        } else {
            self.calm_since = None;
        }
        let calm = self.calm_since.is_some_and(|s| t.ms - s >= CALM_FOR);
        let next = if self.spike.firing { !calm } else { spiking };
        let status = self.spike.set(next)?;
        let summary = match status {
            AlertStatus::Firing => format!(
                "5xx spike: {errors} of {total} responses in the last minute ({:.1}%), {} the hour before",
                share * 100.0,
                if base_total == 0 {
                    "no traffic".to_owned()
                } else {
                    format!("{:.2}%", base * 100.0)
                }
            ),
            AlertStatus::Resolved => {
                "5xx share under 1% for 5 minutes: the spike is over".to_owned()
            }
        };
        Some(spike_alert(status, "spike", summary, t))
    }

    fn evaluate_burn(&mut self, t: Stamp) -> Option<Alert> {
        let budget = 1.0 - self.config.slo? / 100.0;
        if budget <= 0.0 {
            return None;
        }
        let burn = |minutes: usize| {
            let (total, errors) = self.minutes.sum(t.ms, 0, minutes);
            ratio(errors, total) / budget
        };
        let hit = BURN_RULES
            .iter()
            .find(|&&(long, short, factor)| burn(long) >= factor && burn(short) >= factor);
        let (fast, slow) = (burn(60), burn(360));
        let status = self.burn.set(hit.is_some())?;
        let summary = match (status, hit) {
            (AlertStatus::Firing, Some((long, _, factor))) => format!(
                "error budget burning at {:.1}× over {} (rule: ≥ {factor}×)",
                if *long == 60 { fast } else { slow },
                if *long == 60 {
                    "1 h and 5 min"
                } else {
                    "6 h and 30 min"
                }
            ),
            _ => "error budget burn back under the alert rates".to_owned(),
        };
        Some(spike_alert(status, "slo_burn", summary, t))
    }

    /// `http` is the status robots.txt answered.
    fn robots_alert(&self, status: AlertStatus, http: u16, at: Stamp) -> Alert {
        let summary = match status {
            AlertStatus::Firing if http == crate::seo::RATE_LIMITED => {
                "robots.txt answered 429: Google takes it for a 5xx and pauses crawling the whole site (up to 12 h)"
            }
            AlertStatus::Firing => {
                "robots.txt answered 5xx: Google pauses crawling the whole site (up to 12 h)"
            }
            AlertStatus::Resolved => "robots.txt answers again",
        };
        Alert {
            alert: "robots_txt_5xx",
            status,
            severity: "critical",
            rule: None,
            cause: None,
            summary: summary.to_owned(),
            at,
        }
    }
}

fn spike_alert(status: AlertStatus, rule: &'static str, summary: String, at: Stamp) -> Alert {
    Alert {
        alert: "error_spike",
        status,
        severity: "critical",
        rule: Some(rule),
        cause: None,
        summary,
        at,
    }
}

fn new_cause_alert(cause: &'static str, status: AlertStatus, at: Stamp) -> Alert {
    let summary = match status {
        AlertStatus::Firing => format!("new cause of 5xx: {cause}"),
        AlertStatus::Resolved => format!("{cause}: the incident is resolved"),
    };
    Alert {
        alert: "new_cause",
        status,
        severity: "warning",
        rule: None,
        cause: Some(cause),
        summary,
        at,
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Stamp {
        Stamp { ms, offset: 0 }
    }

    /// `per_second` responses each second from `from` s for `secs` s, every `every`-th a 500.
    fn traffic(d: &mut Detector, from: i64, secs: i64, per_second: i64, every: i64) -> Vec<Alert> {
        let mut alerts = Vec::new();
        let mut n = 0;
        for s in from..from + secs {
            for k in 0..per_second {
                n += 1;
                let status = if every > 0 && n % every == 0 {
                    500
                } else {
                    200
                };
                alerts.extend(d.response(at(s * SECOND + k * 10), status, false));
            }
        }
        alerts
    }

    #[test]
    fn steady_traffic_with_a_trickle_of_5xx_does_not_alert() {
        let mut d = Detector::new(DetectConfig::default());
        // 10 requests/s for two hours, 1 in 50 a 500 (2%): under 5%.
        assert!(traffic(&mut d, 0, 7200, 10, 50).is_empty());
    }

    #[test]
    fn a_burst_fires_once_and_resolves_once() {
        let mut d = Detector::new(DetectConfig::default());
        assert!(traffic(&mut d, 0, 3600, 10, 200).is_empty());
        // 30 s with every other response a 500.
        let burst = traffic(&mut d, 3600, 30, 10, 2);
        assert_eq!(burst.len(), 1, "{burst:?}");
        assert_eq!(
            (burst[0].alert, burst[0].status),
            ("error_spike", AlertStatus::Firing)
        );
        // It fires once 5% of the last minute's 600 responses are 5xx: 6 s into the burst.
        assert_eq!(burst[0].at.ms, 3606 * SECOND - 1, "{:?}", burst[0]);
        // Healthy again: resolved after 5 minutes under 1% (the burst leaves the 60 s
        // window first).
        let after = traffic(&mut d, 3630, 600, 10, 0);
        assert_eq!(after.len(), 1, "{after:?}");
        assert_eq!(after[0].status, AlertStatus::Resolved);
        let resolved_at = after[0].at.ms;
        assert!(
            ((3630 + 60 + 300 - 5) * SECOND..(3630 + 60 + 300) * SECOND).contains(&resolved_at),
            "{resolved_at}"
        );
    }

    #[test]
    fn a_high_baseline_does_not_spike() {
        let mut d = Detector::new(DetectConfig::default());
        // A site that fails 4% of the time (under 5%), then 20%: not 10× the hour before.
        assert!(traffic(&mut d, 0, 3600, 10, 25).is_empty());
        assert!(traffic(&mut d, 3600, 600, 10, 5).is_empty());
    }

    #[test]
    fn the_clock_resolves_when_lines_stop() {
        let mut d = Detector::new(DetectConfig::default());
        let fired = traffic(&mut d, 0, 20, 10, 1);
        assert_eq!(fired.len(), 1);
        let later = d.advance(at(20 * SECOND + 10 * MINUTE));
        assert_eq!(later.len(), 1, "{later:?}");
        assert_eq!(later[0].status, AlertStatus::Resolved);
    }

    #[test]
    fn a_tick_sees_a_burst_within_its_second() {
        let mut d = Detector::new(DetectConfig::default());
        assert!(traffic(&mut d, 0, 600, 10, 0).is_empty());
        // 40 errors in the first 400 ms of second 600: 40 of the last minute's 640.
        for k in 0..40 {
            assert!(d.response(at(600 * SECOND + k * 10), 500, false).is_empty());
        }
        let fired = d.tick(at(600 * SECOND + 400));
        assert_eq!(fired.len(), 1, "{fired:?}");
        assert_eq!(fired[0].at.ms, 600 * SECOND + 400);
        // The end of that second finds it firing already: no second notification.
        assert!(d.tick(at(601 * SECOND + 10)).is_empty());
    }

    #[test]
    fn robots_txt_fires_at_the_first_5xx() {
        let mut d = Detector::new(DetectConfig::default());
        assert!(d.response(at(0), 200, true).is_empty());
        let a = d.response(at(1000), 503, true);
        assert_eq!(a.len(), 1);
        assert_eq!(
            (a[0].alert, a[0].status),
            ("robots_txt_5xx", AlertStatus::Firing)
        );
        assert!(
            d.response(at(2000), 502, true).is_empty(),
            "one per episode"
        );
        assert!(d.response(at(2500), 301, true).is_empty());
        let r = d.response(at(3000), 200, true);
        assert_eq!(r[0].status, AlertStatus::Resolved);
    }

    #[test]
    fn robots_txt_fires_at_a_429_too() {
        let mut d = Detector::new(DetectConfig::default());
        assert!(d.response(at(0), 200, true).is_empty());
        assert!(d.response(at(500), 429, false).is_empty(), "a page's 429");
        let a = d.response(at(1000), 429, true);
        assert_eq!(
            (a.len(), a[0].alert, a[0].status),
            (1, "robots_txt_5xx", AlertStatus::Firing)
        );
        assert!(a[0].summary.starts_with("robots.txt answered 429"), "{a:?}");
        assert!(
            d.response(at(1500), 503, true).is_empty(),
            "one per episode"
        );
        let r = d.response(at(2000), 404, true);
        assert_eq!(r[0].status, AlertStatus::Resolved);
    }

    #[test]
    fn new_cause_once_a_day() {
        let mut d = Detector::new(DetectConfig::default());
        let a = d.incident_opened("php_memory_limit", at(0)).unwrap();
        assert_eq!((a.alert, a.severity), ("new_cause", "warning"));
        assert!(d.incident_opened("php_memory_limit", at(HOUR)).is_none());
        let r = d
            .incident_resolved("php_memory_limit", at(2 * HOUR))
            .unwrap();
        assert_eq!(r.status, AlertStatus::Resolved);
        assert!(
            d.incident_resolved("php_memory_limit", at(2 * HOUR))
                .is_none()
        );
        assert!(
            d.incident_opened("php_memory_limit", at(3 * HOUR))
                .is_none()
        );
        assert!(
            d.incident_opened("php_memory_limit", at(30 * HOUR))
                .is_some()
        );
    }

    #[test]
    fn slo_burn_rate() {
        let mut d = Detector::new(DetectConfig { slo: Some(99.9) });
        // 2% errors (20× the 0.1% budget) for an hour: the 1 h / 5 min rule fires. The
        // spike rule does not (under 5%).
        let alerts = traffic(&mut d, 0, 3600, 10, 50);
        let burn: Vec<&Alert> = alerts
            .iter()
            .filter(|a| a.rule == Some("slo_burn"))
            .collect();
        assert_eq!(burn.len(), 1, "{alerts:?}");
        assert!(alerts.iter().all(|a| a.rule != Some("spike")));
        let fired = burn[0].at.ms;
        // 14.4× a 0.1% budget is 1.44%: reached in the first minute at 2%.
        assert!(fired < 2 * MINUTE, "{fired}");
        // Clean traffic: the 5 min window drops under 14.4× within minutes, the 30 min one
        // under 6× later, and then it resolves.
        let after = traffic(&mut d, 3600, 3600, 10, 0);
        let resolved: Vec<&Alert> = after
            .iter()
            .filter(|a| a.rule == Some("slo_burn"))
            .collect();
        assert_eq!(resolved.len(), 1, "{after:?}");
        assert_eq!(resolved[0].status, AlertStatus::Resolved);
    }
}
