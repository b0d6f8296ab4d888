//! `#crawlers`: what each crawler saw (one `tr[data-row="crawler:NAME"][data-count]` per
//! crawler with its share of each class, its kinds of agent below it), and
//! `#robots-timeline`, the robots.txt outages on the logs' real time axis (its
//! `data-from-ms`/`data-to-ms`), one `.outage` each: a `.down` band as long as the outage
//! lasted (a `.tick` when it lasted no time), then the crawl pause after it.

use std::fmt::Write as _;

use super::escape;
use crate::formats::Stamp;
use crate::render::summary::{span, when};
use crate::seo::{Classes, Counts, Outage, SeoReport};

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
        "<p>robots.txt: {} request(s), {} × 5xx, {} × 429, {} outage(s).</p>",
        robots.requests,
        robots.server_errors,
        robots.rate_limited,
        robots.outages.len()
    );
    if !robots.outages.is_empty() {
        html += &timeline(report);
    }
    html += &at_risk(report);
    html + "</section>\n"
}

fn table(report: &SeoReport) -> String {
    let mut html = String::from(
        "<table><tr><th>Crawler</th><th>Requests</th><th>2xx</th><th>3xx</th><th>4xx</th><th>429</th><th>5xx</th><th>5xx by status</th></tr>\n",
    );
    let (shown, silent) = crate::render::seo::shown_crawlers(report);
    for (name, c) in shown {
        html += &row(
            &format!("crawler:{name}"),
            "",
            &c.label,
            &c.counts,
            &c.share_by_class,
        );
        for (kind, t) in &c.by_type {
            html += &row(
                &format!("type:{name}:{kind}"),
                " class=\"sub\"",
                kind,
                &t.counts,
                &t.share_by_class,
            );
        }
    }
    let imp = &report.impostors;
    if imp.requests > 0 {
        let _ = writeln!(
            html,
            "<tr data-row=\"impostors\" data-count=\"{0}\"><td>impostors</td><td class=\"n\">{0}</td><td></td><td></td><td></td><td class=\"n\">{1}</td><td class=\"n\">{2}</td><td>claimed a crawler from outside its published ranges; left out above</td></tr>",
            imp.requests, imp.rate_limited, imp.server_errors
        );
    }
    html += "</table>\n";
    if silent > 0 {
        let _ = writeln!(
            html,
            "<p class=\"meta\">{silent} other known crawler(s): no request.</p>"
        );
    }
    html
}

/// One crawler's (or kind's) row: requests, the share of 2xx, 3xx and 4xx, the 429 and 5xx
/// counts (with their share in the title), the 5xx by status.
fn row(key: &str, class: &str, label: &str, c: &Counts, share: &Classes<f64>) -> String {
    let pct = |x: f64| {
        if c.requests == 0 {
            String::new()
        } else {
            format!("{:.0}%", x * 100.0)
        }
    };
    let statuses: Vec<String> = c
        .by_status
        .iter()
        .map(|(s, n)| format!("{s}: {n}"))
        .collect();
    format!(
        "<tr{class} data-row=\"{}\" data-count=\"{}\"><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\" title=\"{}\">{}</td><td class=\"n\" title=\"{}\">{}</td><td>{}</td></tr>\n",
        escape(key),
        c.requests,
        escape(label),
        c.requests,
        pct(share.success),
        pct(share.redirect),
        pct(share.client_error),
        pct(share.rate_limited),
        c.rate_limited,
        pct(share.server_error),
        c.server_errors,
        escape(&statuses.join(", "))
    )
}

/// The hourly chart of crawler requests by class (`seo`'s page only: `diagnose`'s has its
/// own chart).
pub(super) fn hourly_chart(report: &SeoReport) -> String {
    let points: Vec<super::chart::Point<'_>> = report
        .crawler_requests_by_hour
        .iter()
        .flat_map(|h| {
            h.classes.named().map(|(class, count)| super::chart::Point {
                cause: class,
                at: h.hour,
                count,
            })
        })
        .collect();
    let chart = super::chart::chart_of(&points, &super::chart::CLASSES).unwrap_or_else(|| {
        "<p class=\"meta\">No crawler request in the access logs: nothing to chart.</p>\n"
            .to_owned()
    });
    format!("<section id=\"crawler-hours\"><h2>Crawler requests per hour</h2>\n{chart}</section>\n")
}

/// The outages on the logs' time axis, from the first crawler request (or outage) to the
/// newest line: each `.down` band is as long as its outage lasted (a `.tick` when it lasted no
/// time), the amber `.paused` band after it runs to Google's pause end or the axis end.
fn timeline(report: &SeoReport) -> String {
    let outages = &report.robots_txt.outages;
    let from = outages
        .iter()
        .map(|o| o.start.ms)
        .chain(report.first_crawler_request.map(|t| t.ms))
        .min()
        .unwrap_or(0);
    let to = outages
        .iter()
        .map(|o| o.recovered_at.unwrap_or(o.end).ms)
        .chain(report.as_of.map(|t| t.ms))
        .max()
        .unwrap_or(from)
        .max(from + 1000);
    let pct = |ms: i64| (ms.clamp(from, to) - from) as f64 * 100.0 / (to - from) as f64;
    let offset = report.as_of.map_or(0, |t| t.offset);
    let at = |ms: i64| when(&Stamp { ms, offset }.rfc3339());
    let mut html = format!(
        "<div id=\"robots-timeline\" data-from-ms=\"{from}\" data-to-ms=\"{to}\"><h3>robots.txt outages</h3>\
         <p class=\"axis\"><span>{}</span><span>{}</span></p><ol>\n",
        at(from),
        at(to)
    );
    for o in outages {
        let _ = writeln!(html, "{}", outage(o, &pct));
    }
    html + "</ol></div>\n"
}

/// One outage's `li`: its bands, then what happened in words.
fn outage(o: &Outage, pct: &dyn Fn(i64) -> f64) -> String {
    let (start, end, pause) = (pct(o.start.ms), pct(o.end.ms), pct(o.crawl_paused_until.ms));
    let down = if o.end.ms > o.start.ms {
        format!(
            "<span class=\"down\" style=\"left:{start:.3}%;width:{:.3}%\"></span>",
            end - start
        )
    } else {
        format!("<span class=\"down tick\" style=\"left:{start:.3}%\"></span>")
    };
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
    format!(
        "<li class=\"outage\" data-start-ms=\"{}\" data-end-ms=\"{}\"><div class=\"track\">{down}<span class=\"paused\" style=\"left:{end:.3}%;width:{:.3}%\"></span></div>\
         {host}{}: {} × {} to {who}; crawling paused until {}; {back}</li>",
        o.start.ms,
        o.end.ms,
        pause - end,
        span(&o.start.rfc3339(), &o.end.rfc3339()),
        o.failures(),
        o.answers(),
        when(&o.crawl_paused_until.rfc3339()),
    )
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
