//! `#crawlers`: what Googlebot and Bingbot saw, and `#robots-timeline`, the robots.txt
//! outages on one time line with the crawl pause each one causes (one `.outage` each).

use std::fmt::Write as _;

use super::escape;
use crate::render::summary::{span, when};
use crate::seo::{Outage, SeoReport};

/// How many at-risk paths are listed; the JSON has them all.
const SHOWN: usize = 10;

/// Whether the logs had anything for the panel: a crawler's request or one for robots.txt.
pub(super) fn has_data(report: &SeoReport) -> bool {
    report.robots_txt.requests > 0
        || report.impostors.requests > 0
        || report.crawlers.values().any(|c| c.counts.requests > 0)
}

/// The whole panel.
pub(super) fn panel(report: &SeoReport) -> String {
    let mut html = String::from("<section id=\"crawlers\"><h2>Crawlers</h2>\n");
    html += &table(report);
    let robots = &report.robots_txt;
    let _ = writeln!(
        html,
        "<p>robots.txt: {} request(s), {} × 5xx, {} outage(s).</p>",
        robots.requests,
        robots.server_errors,
        robots.outages.len()
    );
    if !robots.outages.is_empty() {
        html += &timeline(&robots.outages);
    }
    html += &at_risk(report);
    html + "</section>\n"
}

fn table(report: &SeoReport) -> String {
    let mut html = String::from(
        "<table><tr><th>Crawler</th><th>Requests</th><th>5xx</th><th>By status</th></tr>\n",
    );
    for c in report.crawlers.values() {
        let statuses: Vec<String> = c
            .counts
            .by_status
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect();
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            escape(&c.label),
            c.counts.requests,
            c.counts.server_errors,
            escape(&statuses.join(", "))
        );
    }
    let imp = &report.impostors;
    if imp.requests > 0 {
        let _ = writeln!(
            html,
            "<tr><td>impostors</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>claimed a crawler from outside its published ranges; left out above</td></tr>",
            imp.requests, imp.server_errors
        );
    }
    html + "</table>\n"
}

/// Each outage as a band on a line from the first outage's start to the last pause's end:
/// red while robots.txt failed, amber while Google pauses crawling after it.
fn timeline(outages: &[Outage]) -> String {
    let from = outages.iter().map(|o| o.start.ms).min().unwrap_or(0);
    let to = outages
        .iter()
        .map(|o| o.crawl_paused_until.ms)
        .max()
        .unwrap_or(from)
        .max(from + 1);
    let pct = |ms: i64| (ms - from) as f64 * 100.0 / (to - from) as f64;
    let mut html = String::from("<div id=\"robots-timeline\"><h3>robots.txt outages</h3><ol>\n");
    for o in outages {
        let (start, end, pause) = (pct(o.start.ms), pct(o.end.ms), pct(o.crawl_paused_until.ms));
        let back = o.recovered_at.map_or_else(
            || "still failing at the end of the logs".to_owned(),
            |t| format!("answered again {}", when(&t.rfc3339())),
        );
        let host = o
            .host
            .as_deref()
            .map_or_else(String::new, |h| format!("{} ", escape(h)));
        let who = if o.crawlers.is_empty() {
            "no crawler".to_owned()
        } else {
            escape(&o.crawlers.join(", "))
        };
        let _ = writeln!(
            html,
            "<li class=\"outage\"><div class=\"track\"><span class=\"down\" style=\"left:{start:.2}%;width:{:.2}%\"></span><span class=\"paused\" style=\"left:{end:.2}%;width:{:.2}%\"></span></div>\
             {host}{}: {} × 5xx to {who}; crawling paused until {}; {back}</li>",
            (end - start).max(0.5),
            (pause - end).max(0.5),
            span(&o.start.rfc3339(), &o.end.rfc3339()),
            o.server_errors,
            when(&o.crawl_paused_until.rfc3339()),
        );
    }
    html + "</ol></div>\n"
}

/// The paths that answered 5xx to a crawler, most first.
fn at_risk(report: &SeoReport) -> String {
    if report.at_risk.is_empty() {
        return String::new();
    }
    let mut html = format!(
        "<h3>Paths that answered 5xx to a crawler ({})</h3><table><tr><th>5xx</th><th>Path</th><th>First … last</th><th>State</th></tr>\n",
        report.at_risk.len()
    );
    for p in report.at_risk.iter().take(SHOWN) {
        let host = p.host.as_deref().unwrap_or_default();
        let state = if p.recovered {
            "recovered"
        } else {
            "not recovered"
        };
        let _ = writeln!(
            html,
            "<tr><td class=\"n\">{}</td><td><code>{}{}</code></td><td>{}</td><td>{state}</td></tr>",
            p.crawler_server_errors,
            escape(host),
            escape(&p.path),
            span(&p.first.rfc3339(), &p.last.rfc3339()),
        );
    }
    html + "</table>\n"
}
