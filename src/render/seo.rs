//! The `seo` report as text, read top-down in ten seconds: the verdict (robots.txt first, then
//! crawler 5xx), the crawler table, an hourly sparkline of crawler 5xx, the robots.txt outages
//! and the paths most at risk. Paths and hosts have had control sequences removed by the
//! parsers.

use std::io::{self, Write};
use std::path::PathBuf;

use super::{Style, write_defaults, write_inputs};
use crate::formats::Stamp;
use crate::seo::{Classes, Counts, CrawlerReport, Outage, RobotsState, SeoReport, outage_state};

/// How many outages and at-risk paths are listed; JSON has them all.
const SHOWN: usize = 10;
/// The widest sparkline; longer spans put several hours in one mark.
const SPARK_WIDTH: i64 = 72;

/// Writes the report. `defaults` names the usual places read when no path was given.
pub fn write(
    out: &mut impl Write,
    report: &SeoReport,
    defaults: Option<&[PathBuf]>,
    color: bool,
) -> io::Result<()> {
    let st = Style { on: color };
    write_verdict(out, report, &st)?;
    write_defaults(out, defaults, &st)?;
    write_inputs(out, &report.inputs, &st)?;
    if let Some(scope) = report.scope.summary() {
        writeln!(out, "{}", st.dim(&scope))?;
    }
    writeln!(out)?;
    write_crawlers(out, report, &st)?;
    write_sparkline(out, report)?;
    write_outages(out, report, &st)?;
    write_at_risk(out, report, &st)
}

/// `2026-11-25 03:12:07 +00:00`.
fn when(t: Stamp) -> String {
    let s = t.rfc3339();
    format!("{} {}", s[..19].replacen('T', " ", 1), &s[19..])
}

/// `A … B`, or `A` when they are the same second.
fn span(a: Stamp, b: Stamp) -> String {
    let (a, b) = (when(a), when(b));
    if a == b { a } else { format!("{a} … {b}") }
}

/// Also the HTML report's verdict, joined into one line.
pub(super) fn write_verdict(
    out: &mut impl Write,
    report: &SeoReport,
    st: &Style,
) -> io::Result<()> {
    let robots = &report.robots_txt;
    // The outage that decides where crawling stands now, else the latest.
    let decisive = robots
        .outages
        .iter()
        .max_by_key(|o| (outage_state(o, report.as_of), o.end));
    if let Some(o) = decisive {
        writeln!(out, "{}", st.red(&robots_verdict(o, report)))?;
        let earlier = robots.outages.len() - 1;
        if earlier > 0 {
            writeln!(
                out,
                "  ({earlier} other robots.txt outage(s) listed below.)"
            )?;
        }
    }
    for line in crawler_verdicts(report) {
        writeln!(out, "{}", st.red(&line))?;
    }
    let imp = &report.impostors;
    let impostor_robots = imp.robots_txt_server_errors + imp.robots_txt_rate_limited;
    if robots.outages.is_empty() && impostor_robots > 0 {
        let line = format!(
            "robots.txt answered 5xx or 429 {impostor_robots} time(s), to impostors only (left out of the figures below): the server refused, and a real crawler would have got the same."
        );
        writeln!(out, "{}", st.red(&line))?;
    }
    if !report.found() {
        let line = match report.as_of {
            Some(t) => format!(
                "No crawler got a 5xx or a 429 and robots.txt never failed (logs up to {}).",
                when(t)
            ),
            None => "No access-log line read: nothing to tell about crawlers.".to_owned(),
        };
        writeln!(out, "{}", st.green(&line))?;
    }
    Ok(())
}

/// The crawlers' 5xx (with the paths they hit), then their 429, a line each when any.
fn crawler_verdicts(report: &SeoReport) -> Vec<String> {
    let got = |what: &str, n: fn(&CrawlerReport) -> u64| -> Vec<String> {
        (report.crawlers.values())
            .filter(|c| n(c) > 0)
            .map(|c| format!("{} got {} × {what}", c.label, n(c)))
            .collect()
    };
    let mut lines = Vec::new();
    let failing = got("5xx", |c| c.counts.server_errors);
    if !failing.is_empty() {
        let open = report.at_risk.iter().filter(|p| !p.recovered).count();
        lines.push(format!(
            "{} on {} path(s), {open} of them not recovered.",
            failing.join(", "),
            report.at_risk.len()
        ));
    }
    let limited = got("429", |c| c.counts.rate_limited);
    if !limited.is_empty() {
        lines.push(format!(
            "{}: rate limited. Google slows crawling on 429 as on 500 and 503; a 429 kept up drops URLs from the index.",
            limited.join(", ")
        ));
    }
    lines
}

/// What one robots.txt outage means, in a sentence or two.
fn robots_verdict(o: &Outage, report: &SeoReport) -> String {
    let who = if o.crawlers.is_empty() {
        "clients (no crawler among them)".to_owned()
    } else {
        labels(&o.crawlers, report)
    };
    let host = o
        .host
        .as_deref()
        .map_or(String::new(), |h| format!(" on {h}"));
    let times = if o.failures() == 1 {
        format!("at {}", when(o.start))
    } else if when(o.start) == when(o.end) {
        format!("{} times at {}", o.failures(), when(o.start))
    } else {
        format!(
            "{} times from {} to {}",
            o.failures(),
            when(o.start),
            when(o.end)
        )
    };
    let head = format!("robots.txt{host} answered {} to {who} {times}", o.answers());
    let paused = when(o.crawl_paused_until);
    let cached = when(o.cached_copy_until);
    match outage_state(o, report.as_of) {
        RobotsState::Paused => format!(
            "{head}; Google pauses crawling the whole site until {paused}. It was still failing at the end of the logs."
        ),
        RobotsState::CachedCopy => format!(
            "{head}, and nothing has answered since: Google crawls by its cached copy until {cached}; if robots.txt still fails then, the site may leave Google's index."
        ),
        RobotsState::DeindexRisk => format!(
            "{head}, failing for over 30 days: Google may be dropping the site from its index."
        ),
        RobotsState::Recovered | RobotsState::Ok => {
            let back = o.recovered_at.map_or(String::new(), |t| {
                format!(" It answered again at {}.", when(t))
            });
            format!("{head}; Google may have paused crawling the site until {paused}.{back}")
        }
    }
}

/// Crawler ids as people write them: `Googlebot and Bingbot`.
fn labels(ids: &[String], report: &SeoReport) -> String {
    let names: Vec<&str> = ids.iter().map(|id| report.label(id)).collect();
    names.join(" and ")
}

/// The crawlers that had requests (Googlebot and Bingbot always), each with its share by
/// class, the 429 and 5xx, and its kinds of agent below it.
fn write_crawlers(out: &mut impl Write, report: &SeoReport, st: &Style) -> io::Result<()> {
    writeln!(
        out,
        "{}",
        st.bold(&format!(
            "{:<20} {:>9} {:>6} {:>6} {:>6} {:>7} {:>7}  5xx by status",
            "crawler", "requests", "2xx", "3xx", "4xx", "429", "5xx"
        ))
    )?;
    let (shown, silent) = shown_crawlers(report);
    for (_, c) in shown {
        writeln!(
            out,
            "{}",
            crawler_row(&c.label, &c.counts, &c.share_by_class)
        )?;
        for (kind, t) in &c.by_type {
            let label = format!("  {kind}");
            writeln!(
                out,
                "{}",
                st.dim(&crawler_row(&label, &t.counts, &t.share_by_class))
            )?;
        }
    }
    if silent > 0 {
        writeln!(
            out,
            "{}",
            st.dim(&format!("({silent} other known crawler(s): no request.)"))
        )?;
    }
    let imp = &report.impostors;
    if imp.requests > 0 {
        let claimed: Vec<String> = imp
            .by_crawler
            .iter()
            .map(|(c, n)| format!("{c}: {n}"))
            .collect();
        writeln!(
            out,
            "{:<20} {:>9} {:>6} {:>6} {:>6} {:>7} {:>7}  {}",
            "impostors",
            imp.requests,
            "",
            "",
            "",
            imp.rate_limited,
            imp.server_errors,
            st.dim(&format!(
                "claimed a crawler from outside its published ranges ({}); left out above",
                claimed.join(", ")
            ))
        )?;
    }
    let unverified: Vec<&str> = report
        .crawlers
        .iter()
        .filter(|(_, c)| !c.verified && c.ranges_source.is_some() && c.counts.requests > 0)
        .map(|(name, _)| name.as_str())
        .collect();
    if !unverified.is_empty() {
        let line = format!(
            "Counted by user agent alone: `fivehundred seo --fetch-ranges DIR` downloads the published ranges, `--crawler-ranges DIR` leaves impostors out ({}).",
            unverified.join(", ")
        );
        writeln!(out, "{}", st.dim(&line))?;
    }
    Ok(())
}

/// Googlebot and Bingbot are listed even without a request: their silence is news.
const ALWAYS_SHOWN: usize = 2;

/// The crawlers a table lists (those with requests, and the first [`ALWAYS_SHOWN`]), and how
/// many are left out.
pub(super) fn shown_crawlers(report: &SeoReport) -> (Vec<(&String, &CrawlerReport)>, usize) {
    let (shown, silent): (Vec<_>, Vec<_>) = report
        .crawlers
        .iter()
        .enumerate()
        .partition(|(i, (_, c))| c.counts.requests > 0 || *i < ALWAYS_SHOWN);
    (shown.into_iter().map(|(_, c)| c).collect(), silent.len())
}

/// One line of the crawler table: requests, shares of 2xx/3xx/4xx, the 429 and 5xx counts.
fn crawler_row(label: &str, counts: &Counts, shares: &Classes<f64>) -> String {
    let pct = |x: f64| {
        if counts.requests == 0 {
            String::new()
        } else {
            format!("{:.0}%", x * 100.0)
        }
    };
    let statuses: Vec<String> = counts
        .by_status
        .iter()
        .map(|(s, n)| format!("{s}: {n}"))
        .collect();
    let line = format!(
        "{label:<20} {:>9} {:>6} {:>6} {:>6} {:>7} {:>7}  {}",
        counts.requests,
        pct(shares.success),
        pct(shares.redirect),
        pct(shares.client_error),
        counts.rate_limited,
        counts.server_errors,
        statuses.join(", ")
    );
    line.trim_end().to_owned()
}

/// One mark per hour (or per few hours) from the first crawler 5xx to the last.
fn write_sparkline(out: &mut impl Write, report: &SeoReport) -> io::Result<()> {
    let hours = &report.crawler_server_errors_by_hour;
    let (Some(first), Some(last)) = (hours.first(), hours.last()) else {
        return Ok(());
    };
    let hour = 3_600_000;
    let span = (last.hour.ms - first.hour.ms) / hour + 1;
    let per_mark = (span + SPARK_WIDTH - 1) / SPARK_WIDTH;
    let marks = (span + per_mark - 1) / per_mark;
    let mut buckets = vec![0u64; marks as usize];
    for h in hours {
        let i = ((h.hour.ms - first.hour.ms) / hour / per_mark) as usize;
        buckets[i] += h.server_errors;
    }
    let max = buckets.iter().copied().max().unwrap_or(1).max(1);
    let line: String = buckets
        .iter()
        .map(|&n| match n {
            0 => '·',
            _ => ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'][((n * 8 - 1) / max).min(7) as usize],
        })
        .collect();
    let unit = if per_mark == 1 {
        "per hour".to_owned()
    } else {
        format!("per {per_mark} hours")
    };
    let end = Stamp {
        ms: last.hour.ms + hour - 1000,
        offset: last.hour.offset,
    };
    writeln!(out)?;
    writeln!(
        out,
        "Crawler 5xx {unit} (max {max}), {} … {}:",
        when(first.hour),
        when(end)
    )?;
    writeln!(out, "  {line}")
}

fn write_outages(out: &mut impl Write, report: &SeoReport, st: &Style) -> io::Result<()> {
    let robots = &report.robots_txt;
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        st.bold(&format!(
            "robots.txt: {} request(s), {} × 5xx, {} × 429, {} outage(s)",
            robots.requests,
            robots.server_errors,
            robots.rate_limited,
            robots.outages.len()
        ))
    )?;
    for o in robots.outages.iter().rev().take(SHOWN) {
        let end = match o.recovered_at {
            Some(t) => format!("answered again {}", when(t)),
            None => "still failing at the end of the logs".to_owned(),
        };
        let host = o.host.as_deref().map_or(String::new(), |h| format!("{h} "));
        writeln!(
            out,
            "  {host}{}  {} × {}  {}; paused until {}; {end}",
            span(o.start, o.end),
            o.failures(),
            o.answers(),
            if o.crawlers.is_empty() {
                "no crawler".to_owned()
            } else {
                labels(&o.crawlers, report)
            },
            when(o.crawl_paused_until)
        )?;
    }
    Ok(())
}

fn write_at_risk(out: &mut impl Write, report: &SeoReport, st: &Style) -> io::Result<()> {
    if report.at_risk.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        st.bold(&format!(
            "Paths that answered 5xx to a crawler ({}, most first):",
            report.at_risk.len()
        ))
    )?;
    for p in report.at_risk.iter().take(SHOWN) {
        let state = if p.recovered {
            st.dim("recovered")
        } else {
            st.red("not recovered")
        };
        let host = p.host.as_deref().unwrap_or_default();
        writeln!(
            out,
            "  {:>6}  {host}{}  {}  {}  {state}",
            p.crawler_server_errors,
            p.path,
            span(p.first, p.last),
            labels(&p.crawlers, report)
        )?;
    }
    Ok(())
}
