//! The 5xx-over-time chart: server-rendered SVG, bars stacked by cause, in buckets of a round
//! width aligned on the log's own clock, so an administrator reads "10:05" as the log wrote
//! it. The markup is a contract with the browser tests: one `g.series[data-cause]` per cause,
//! one `rect.bar[data-bucket][data-count]` per bucket where that cause has responses.
//!
//! `seo`'s page draws crawler requests with it, stacked by class (2xx … 5xx, 429) instead
//! of cause ([`CLASSES`]; `data-cause` then names the class), in buckets of an hour or more.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{cause_colour, escape};
use crate::diagnose::Incident;
use crate::formats::Stamp;

/// 5xx responses of one cause at one time: a response of a report, or a minute of `watch`'s
/// live record.
#[derive(Clone, Copy, Debug)]
pub struct Point<'a> {
    pub cause: &'a str,
    pub at: Stamp,
    pub count: u64,
}

/// The points of a report's incidents: one per 5xx response.
pub(crate) fn points_of(incidents: &[Incident]) -> Vec<Point<'_>> {
    incidents
        .iter()
        .flat_map(|i| {
            i.times.iter().map(|&at| Point {
                cause: i.cause,
                at,
                count: 1,
            })
        })
        .collect()
}

/// What a chart counts and how it stacks and colours its series.
pub(crate) struct Kind {
    /// `5xx responses`, as the caption and the image's label say it.
    pub what: &'static str,
    /// What the series are: `cause`.
    pub by: &'static str,
    pub colour: fn(&str) -> String,
    /// The narrowest bucket.
    pub min_width: i64,
}

/// 5xx responses by cause (`diagnose`, `watch`).
pub(crate) const CAUSES: Kind = Kind {
    what: "5xx responses",
    by: "cause",
    colour: cause_colour,
    min_width: MINUTE,
};

/// Crawler requests by class (`seo`), an hour a bar at least.
pub(crate) const CLASSES: Kind = Kind {
    what: "Crawler requests",
    by: "class",
    colour: class_colour,
    min_width: 60 * MINUTE,
};

/// A colour per status class: green, blue, grey, amber for 429, red for 5xx.
fn class_colour(class: &str) -> String {
    match class {
        "2xx" => "#3a8f4a",
        "3xx" => "#3b78c4",
        "429" => "#e08a00",
        "5xx" => "#b00020",
        _ => "#999",
    }
    .to_owned()
}

/// At most this many bars: more would be thinner than a pixel column in a narrow window.
const MAX_BUCKETS: i64 = 60;
const MINUTE: i64 = 60_000;
const DAY: i64 = 1_440 * MINUTE;
/// The round widths a person reads at a glance; past a day, whole days.
const WIDTHS: [i64; 8] = [
    MINUTE,
    5 * MINUTE,
    15 * MINUTE,
    60 * MINUTE,
    180 * MINUTE,
    360 * MINUTE,
    720 * MINUTE,
    DAY,
];

/// The drawing's size in SVG units; CSS scales it to the window.
const W: f64 = 960.0;
const H: f64 = 280.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 44.0;
/// Labels along the time axis, about.
const X_LABELS: usize = 6;

/// Time buckets of one width, the first starting on a multiple of it in the log's local time.
#[derive(Debug, PartialEq, Eq)]
struct Buckets {
    /// UTC ms.
    start: i64,
    width: i64,
    count: usize,
    /// The log's UTC offset in seconds.
    offset: i32,
}

impl Buckets {
    /// The narrowest round width, `min_width` or more, that spans `first..=last` (UTC ms)
    /// in at most [`MAX_BUCKETS`].
    fn spanning(first: i64, last: i64, offset: i32, min_width: i64) -> Buckets {
        let off = i64::from(offset) * 1000;
        let fit = |width: i64| {
            let start = (first + off).div_euclid(width) * width - off;
            let count = (last - start).div_euclid(width) + 1;
            Buckets {
                start,
                width,
                count: usize::try_from(count).unwrap_or(usize::MAX),
                offset,
            }
        };
        let fits = |b: &Buckets| b.count as i64 <= MAX_BUCKETS;
        let round = WIDTHS.into_iter().filter(|&w| w >= min_width);
        if let Some(b) = round.map(fit).find(fits) {
            return b;
        }
        let mut days = (last - first) / (DAY * (MAX_BUCKETS - 1)) + 1;
        loop {
            let b = fit(days * DAY);
            if fits(&b) {
                return b;
            }
            days += 1;
        }
    }

    fn index(&self, ms: i64) -> usize {
        usize::try_from((ms - self.start) / self.width).unwrap_or(0)
    }

    /// The start of bucket `i` on the log's clock: `11-20 10:05`, `10:05` or `11-20`.
    fn label(&self, i: usize, with_date: bool) -> String {
        let at = Stamp {
            ms: self.start + self.width * i as i64,
            offset: self.offset,
        }
        .rfc3339();
        let date = at.get(5..10).unwrap_or_default();
        let time = at.get(11..16).unwrap_or_default();
        match (self.width >= DAY, with_date) {
            (true, _) => date.to_owned(),
            (false, true) => format!("{date} {time}"),
            (false, false) => time.to_owned(),
        }
    }

    /// `5 min`, `3 h`, `1 d`.
    fn width_words(&self) -> String {
        match self.width {
            w if w % DAY == 0 => format!("{} d", w / DAY),
            w if w % (60 * MINUTE) == 0 => format!("{} h", w / (60 * MINUTE)),
            w => format!("{} min", w / MINUTE),
        }
    }
}

/// `UTC+01:00`.
fn zone(offset: i32) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    let off = offset.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", off / 3600, off % 3600 / 60)
}

/// One cause's responses per bucket.
struct Series<'a> {
    cause: &'a str,
    total: u64,
    counts: BTreeMap<usize, u64>,
}

/// The causes' series, largest first (the incidents of one cause, at several places, add up).
fn series<'a>(points: &[Point<'a>], buckets: &Buckets) -> Vec<Series<'a>> {
    let mut by_cause: Vec<Series<'a>> = Vec::new();
    for p in points.iter().filter(|p| p.count > 0) {
        let pos = match by_cause.iter().position(|s| s.cause == p.cause) {
            Some(i) => i,
            None => {
                by_cause.push(Series {
                    cause: p.cause,
                    total: 0,
                    counts: BTreeMap::new(),
                });
                by_cause.len() - 1
            }
        };
        let s = &mut by_cause[pos];
        *s.counts.entry(buckets.index(p.at.ms)).or_default() += p.count;
        s.total += p.count;
    }
    by_cause.sort_by(|a, b| b.total.cmp(&a.total).then(a.cause.cmp(b.cause)));
    by_cause
}

/// The 5xx chart with its legend, or `None` when there is no 5xx to show (no access log, or
/// none failed).
pub(crate) fn chart(points: &[Point<'_>]) -> Option<String> {
    chart_of(points, &CAUSES)
}

/// The chart of `kind` with its legend, or `None` when no point counts anything.
pub(crate) fn chart_of(points: &[Point<'_>], kind: &Kind) -> Option<String> {
    let shown = || points.iter().filter(|p| p.count > 0);
    let first = shown().map(|p| p.at.ms).min()?;
    let last = shown().max_by_key(|p| p.at.ms)?.at;
    let buckets = Buckets::spanning(first, last.ms, last.offset, kind.min_width);
    let series = series(points, &buckets);
    let mut totals = vec![0u64; buckets.count];
    for s in &series {
        for (&i, &n) in &s.counts {
            if let Some(t) = totals.get_mut(i) {
                *t += n;
            }
        }
    }
    let max = totals.iter().copied().max().unwrap_or(1).max(1);
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{} over time, stacked by {}\">\n",
        kind.what, kind.by
    );
    svg += &axes(&buckets, max);
    svg += &bars(&series, &buckets, max, kind.colour);
    svg += "</svg>\n";
    Some(format!(
        "<figure>{svg}<figcaption>{} per {} ({}), stacked by {}.</figcaption>{}</figure>\n",
        kind.what,
        buckets.width_words(),
        zone(buckets.offset),
        kind.by,
        legend(&series, kind.colour)
    ))
}

fn plot_w() -> f64 {
    W - LEFT - RIGHT
}

fn plot_h() -> f64 {
    H - TOP - BOTTOM
}

/// The y axis (0, half, max) and the time labels.
fn axes(buckets: &Buckets, max: u64) -> String {
    let mut svg = String::new();
    let mut ticks = vec![0, max];
    if max >= 4 {
        ticks.insert(1, max / 2);
    }
    for v in ticks {
        let y = TOP + plot_h() - v as f64 / max as f64 * plot_h();
        let _ = writeln!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text class=\"y\" x=\"{}\" y=\"{:.1}\">{v}</text>",
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0
        );
    }
    let bar_w = plot_w() / buckets.count as f64;
    let step = buckets.count.div_ceil(X_LABELS).max(1);
    let days_differ =
        buckets.label(0, true).get(..5) != buckets.label(buckets.count, true).get(..5);
    for i in (0..buckets.count).step_by(step) {
        let x = LEFT + i as f64 * bar_w;
        let _ = writeln!(
            svg,
            "<text class=\"x\" x=\"{x:.1}\" y=\"{}\">{}</text>",
            H - BOTTOM + 18.0,
            escape(&buckets.label(i, days_differ || i == 0))
        );
    }
    svg
}

/// One `g.series` per cause, its bars stacked on those of the larger causes.
fn bars(series: &[Series<'_>], buckets: &Buckets, max: u64, colour: fn(&str) -> String) -> String {
    let bar_w = plot_w() / buckets.count as f64;
    let gap = if bar_w > 4.0 { bar_w * 0.15 } else { 0.0 };
    let mut below = vec![0u64; buckets.count];
    let mut svg = String::new();
    for s in series {
        let _ = writeln!(
            svg,
            "<g class=\"series\" data-cause=\"{}\" fill=\"{}\">",
            escape(s.cause),
            colour(s.cause)
        );
        for (&i, &n) in &s.counts {
            let Some(base) = below.get_mut(i) else {
                continue;
            };
            *base += n;
            let y = TOP + plot_h() - *base as f64 / max as f64 * plot_h();
            let _ = writeln!(
                svg,
                "<rect class=\"bar\" data-bucket=\"{i}\" data-count=\"{n}\" x=\"{:.2}\" y=\"{y:.2}\" width=\"{:.2}\" height=\"{:.2}\"><title>{}: {n} at {}</title></rect>",
                LEFT + i as f64 * bar_w + gap / 2.0,
                bar_w - gap,
                n as f64 / max as f64 * plot_h(),
                escape(s.cause),
                escape(&buckets.label(i, true))
            );
        }
        svg += "</g>\n";
    }
    svg
}

/// The causes with their colours and totals.
fn legend(series: &[Series<'_>], colour: fn(&str) -> String) -> String {
    let mut html = String::from("<ul class=\"legend\">");
    for s in series {
        let _ = write!(
            html,
            "<li><span class=\"swatch\" style=\"background:{}\"></span><code>{}</code> {}</li>",
            colour(s.cause),
            escape(s.cause),
            s.total
        );
    }
    html + "</ul>"
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_795_593_600_000; // 2026-11-25T08:00:00Z

    #[test]
    fn picks_the_narrowest_round_width() {
        let b = Buckets::spanning(T0 + 5_000, T0 + 59 * MINUTE, 0, MINUTE);
        assert_eq!((b.start, b.width, b.count), (T0, MINUTE, 60));
        let b = Buckets::spanning(T0, T0 + 60 * MINUTE, 0, MINUTE);
        assert_eq!((b.width, b.count), (5 * MINUTE, 13));
        let b = Buckets::spanning(T0, T0 + 40 * DAY, 0, MINUTE);
        assert_eq!((b.width, b.count), (DAY, 41));
        let b = Buckets::spanning(T0, T0 + 200 * DAY, 0, MINUTE);
        assert_eq!(b.width % DAY, 0);
        assert!(b.count <= 60, "{b:?}");
    }

    #[test]
    fn a_kind_sets_the_narrowest_width() {
        let b = Buckets::spanning(T0 + 5_000, T0 + 20 * MINUTE, 0, 60 * MINUTE);
        assert_eq!((b.start, b.width, b.count), (T0, 60 * MINUTE, 1));
        let b = Buckets::spanning(T0, T0 + 100 * 60 * MINUTE, 0, 60 * MINUTE);
        assert_eq!(b.width, 180 * MINUTE);
    }

    #[test]
    fn aligns_on_the_log_clock() {
        // 08:00Z is 09:30 at +01:30: hours start on the local hour.
        let b = Buckets::spanning(T0, T0 + 10 * 3_600_000, 5400, MINUTE);
        assert_eq!(b.width, 15 * MINUTE);
        assert_eq!(b.label(0, false), "09:30");
        let b = Buckets::spanning(T0, T0 + 30 * 3_600_000, 5400, MINUTE);
        assert_eq!(b.width, 60 * MINUTE);
        assert_eq!(b.label(0, true), "11-25 09:00");
        assert_eq!(zone(5400), "UTC+01:30");
        assert_eq!(zone(-18000), "UTC-05:00");
    }
}
