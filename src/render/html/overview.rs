//! The panels that open the `diagnose` report, so a big day reads from the top: `#overview`
//! (the figures row), `#status-mix` (every status class), `#causes` (the table by cause),
//! `#response-times` (percentiles per status class, where the logs carry times), `#hosts`
//! (per virtual host, when there are several) and `#top-paths`. Each figure carries
//! `data-figure` and each table row `data-count` (and `data-row`, where the key is ours: a
//! class, a cause id; a host or path from the logs stays out of attributes), for the browser
//! tests to compare with the JSON; the numbers shown are the same ones.

use std::fmt::Write as _;

use super::{cause_colour, escape, layer_of};
use crate::diagnose::Report;
use crate::render::summary::{by_cause, by_host, host_path, percent, span};
use crate::seo::SeoReport;

/// A count as people read it: `100,000`.
pub(crate) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One figure of the row: its value, its label and, under them, a note.
fn figure(name: &str, value: &str, label: &str, note: &str) -> String {
    let note = if note.is_empty() {
        String::new()
    } else {
        format!("<span class=\"note\">{}</span>", escape(note))
    };
    format!(
        "<div class=\"figure\" data-figure=\"{name}\"><span class=\"value\">{}</span>\
         <span class=\"label\">{}</span>{note}</div>",
        escape(value),
        escape(label)
    )
}

/// Requests, 5xx and their share, incidents, hosts, the time span of the 5xx and the
/// crawlers that got 5xx (from the `seo` pass the HTML report makes).
pub(crate) fn overview(report: &Report, seo: Option<&SeoReport>) -> String {
    let s = &report.summary;
    let hosts = by_host(&report.incidents);
    let named = hosts.iter().filter(|(h, _)| h.is_some()).count();
    let first = report
        .incidents
        .iter()
        .filter_map(|i| i.first_seen.as_deref());
    let last = report
        .incidents
        .iter()
        .filter_map(|i| i.last_seen.as_deref());
    let instant = |t: &&str| t.parse::<jiff::Timestamp>().ok();
    let when = match (first.min_by_key(instant), last.max_by_key(instant)) {
        (Some(a), Some(b)) => span(a, b),
        _ => "none".to_owned(),
    };
    let crawled: Vec<(&str, u64)> = seo
        .map(|r| {
            r.crawlers
                .values()
                .filter(|c| c.counts.server_errors > 0)
                .map(|c| (c.label.as_str(), c.counts.server_errors))
                .collect()
        })
        .unwrap_or_default();
    let crawler_errors: u64 = crawled.iter().map(|c| c.1).sum();
    let who: Vec<&str> = crawled.iter().map(|c| c.0).collect();
    let mut html =
        String::from("<section id=\"overview\"><h2>Overview</h2><div class=\"figures\">");
    html += &figure("requests", &grouped(s.requests), "requests", "");
    html += &figure(
        "server_errors",
        &grouped(s.server_errors),
        "5xx",
        &format!("{} of requests", percent(s.server_errors, s.requests)),
    );
    html += &figure(
        "incidents",
        &grouped(report.incidents.len() as u64),
        "incidents",
        &format!("{} cause(s)", by_cause(&report.incidents).len()),
    );
    html += &figure("hosts", &grouped(named as u64), "hosts with 5xx", "");
    html += &figure("span", &when, "first … last 5xx", "");
    if seo.is_some() {
        html += &figure(
            "crawler_errors",
            &grouped(crawler_errors),
            "5xx to crawlers",
            &who.join(", "),
        );
    }
    html + "</div></section>\n"
}

/// The colours of the status classes, 1xx to 5xx.
const CLASS_COLOURS: [&str; 5] = ["#9e9e9e", "#4caf50", "#42a5f5", "#f9a825", "#c62828"];

/// Every response by status class, with a bar of shares, and the 5xx by status under it.
pub(crate) fn class_mix(report: &Report) -> String {
    let s = &report.summary;
    let mut html = format!(
        "<section id=\"status-mix\"><h2>Status mix</h2>\n<p>{} of {} responses were 5xx ({}).</p>\n\
         <div class=\"mix classes\" aria-hidden=\"true\">",
        grouped(s.server_errors),
        grouped(s.requests),
        percent(s.server_errors, s.requests)
    );
    for ((_, n), colour) in s.by_class.iter().zip(CLASS_COLOURS) {
        if *n > 0 {
            let width = *n as f64 * 100.0 / s.requests.max(1) as f64;
            let _ = write!(
                html,
                "<span style=\"width:{width:.2}%;background:{colour}\"></span>"
            );
        }
    }
    html +=
        "</div>\n<table id=\"classes\"><tr><th>Status</th><th>Responses</th><th>Share</th></tr>\n";
    for ((class, n), colour) in s.by_class.iter().zip(CLASS_COLOURS) {
        let _ = writeln!(
            html,
            "<tr data-row=\"{class}\" data-count=\"{n}\"><td><span class=\"swatch\" style=\"background:{colour}\"></span>{class}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            grouped(*n),
            percent(*n, s.requests)
        );
        if class == "5xx" {
            for (code, k) in &s.by_status {
                let _ = writeln!(
                    html,
                    "<tr class=\"sub\" data-row=\"{code}\" data-count=\"{k}\"><td>{code}</td>\
                     <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                    grouped(*k),
                    percent(*k, s.requests),
                    code = escape(code)
                );
            }
        }
    }
    html + "</table></section>\n"
}

/// A duration as people read it: `0.4 ms`, `86 ms`, `60.8 s`.
fn duration(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// Response-time percentiles per status class, when the access logs carry the times.
pub(crate) fn response_times(report: &Report) -> String {
    let times = &report.summary.response_times;
    if times.is_empty() {
        return String::new();
    }
    let mut html = String::from(
        "<section id=\"response-times\"><h2>Response times</h2><table><tr><th>Status</th>\
         <th>Timed</th><th>Median</th><th>90th percentile</th><th>99th percentile</th></tr>\n",
    );
    for (class, p) in times {
        let _ = writeln!(
            html,
            "<tr data-row=\"{class}\" data-count=\"{count}\"><td>{class}</td><td class=\"n\">{shown}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            duration(p.p50_ms),
            duration(p.p90_ms),
            duration(p.p99_ms),
            class = escape(class),
            count = p.count,
            shown = grouped(p.count),
        );
    }
    html + "</table><p class=\"meta\">From the time each access line ends with (nginx's \
            <code>$request_time</code>, Apache's <code>%D</code>), within about 9%.</p></section>\n"
}

/// The incidents summed by cause: the table the text report starts with, with each cause's
/// layer (PHP, workers, upstream…) and colour.
pub(crate) fn causes(report: &Report) -> String {
    let rows = by_cause(&report.incidents);
    let total: u64 = rows.iter().map(|r| r.count).sum();
    let mut html = String::from(
        "<section id=\"causes\"><h2>By cause</h2><table><tr><th>Cause</th><th>Layer</th>\
         <th>5xx</th><th>Share</th><th>Incidents</th><th>First … last seen</th><th>Top path</th></tr>\n",
    );
    for r in &rows {
        let seen = match (r.first_seen, r.last_seen) {
            (Some(a), Some(b)) => span(a, b),
            _ => String::new(),
        };
        let top = r.top_path.as_ref().map_or(String::new(), |p| {
            format!(
                "<code>{}</code> ({})",
                escape(&host_path(p)),
                grouped(p.count)
            )
        });
        let _ = writeln!(
            html,
            "<tr data-row=\"{cause}\" data-count=\"{count}\"><td><span class=\"swatch\" style=\"background:{colour}\"></span>\
             {title} <code>{cause}</code></td><td>{layer}</td><td class=\"n\">{shown}</td><td class=\"n\">{share}</td>\
             <td class=\"n\">{incidents}</td><td>{seen}</td><td>{top}</td></tr>",
            cause = escape(r.cause),
            count = r.count,
            colour = cause_colour(r.cause),
            title = escape(r.title),
            layer = layer_of(r.cause).name(),
            shown = grouped(r.count),
            share = percent(r.count, total),
            incidents = r.incidents,
            seen = escape(&seen),
        );
    }
    html + "</table></section>\n"
}

/// Most hosts listed: a shared host's thousand vhosts stay a short table.
const MAX_HOSTS: usize = 30;

/// The 5xx per virtual host, when the logs name more than one (the [`MAX_HOSTS`] with the
/// most, the rest counted in a last row), beside each host's requests and the share of them
/// that were 5xx.
pub(crate) fn hosts(report: &Report) -> String {
    let rows = by_host(&report.incidents);
    if rows.iter().filter(|(h, _)| h.is_some()).count() < 2 {
        return String::new();
    }
    let total: u64 = rows.iter().map(|r| r.1.count).sum();
    let requests = &report.summary.requests_by_host;
    let mut html = String::from(
        "<section id=\"hosts\"><h2>By host</h2><table><tr><th>Host</th><th>5xx</th><th>Share</th>\
         <th>Requests</th><th>5xx rate</th><th>Incidents</th><th>Most 5xx from</th>\
         <th>First … last seen</th></tr>\n",
    );
    for (host, r) in rows.iter().take(MAX_HOSTS) {
        let name = host.unwrap_or("(no host named)");
        // The host's requests where the access lines name it (else the cells stay empty).
        let (asked, rate) = host
            .and_then(|h| requests.iter().find(|q| q.host == h))
            .map_or((String::new(), String::new()), |q| {
                (grouped(q.requests), percent(r.count, q.requests))
            });
        let top = r.top_cause.map_or(String::new(), |(cause, n)| {
            format!(
                "<span class=\"swatch\" style=\"background:{}\"></span><code>{}</code> ({})",
                cause_colour(cause),
                escape(cause),
                grouped(n)
            )
        });
        let seen = match (r.first_seen, r.last_seen) {
            (Some(a), Some(b)) => span(a, b),
            _ => String::new(),
        };
        let _ = writeln!(
            html,
            "<tr data-count=\"{count}\"><td><code>{name}</code></td><td class=\"n\">{shown}</td>\
             <td class=\"n\">{share}</td><td class=\"n\">{asked}</td><td class=\"n\">{rate}</td>\
             <td class=\"n\">{incidents}</td><td>{top}</td><td>{seen}</td></tr>",
            name = escape(name),
            count = r.count,
            shown = grouped(r.count),
            share = percent(r.count, total),
            incidents = r.incidents,
            seen = escape(&seen),
        );
    }
    if let Some(rest) = rows.get(MAX_HOSTS..).filter(|r| !r.is_empty()) {
        let n: u64 = rest.iter().map(|r| r.1.count).sum();
        let _ = writeln!(
            html,
            "<tr class=\"meta\"><td>and {} more hosts</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td></td><td></td><td></td><td></td><td></td></tr>",
            rest.len(),
            grouped(n),
            percent(n, total)
        );
    }
    html + "</table></section>\n"
}

/// The (host, path) pairs that answered the most 5xx.
pub(crate) fn top_paths(report: &Report) -> String {
    let top = &report.summary.top_paths;
    if top.is_empty() {
        return String::new();
    }
    let mut html = String::from(
        "<section id=\"top-paths\"><h2>Top failing paths</h2><table><tr><th>Path</th><th>5xx</th><th>Share</th></tr>\n",
    );
    for p in top {
        let _ = writeln!(
            html,
            "<tr data-count=\"{count}\"><td><code>{shown}</code></td><td class=\"n\">{n}</td><td class=\"n\">{share}</td></tr>",
            shown = escape(&host_path(p)),
            count = p.count,
            n = grouped(p.count),
            share = percent(p.count, report.summary.server_errors),
        );
    }
    html + "</table></section>\n"
}

/// The line under the incidents shown, for those `--limit` left out.
pub(crate) fn more_incidents(hidden: usize, responses: u64) -> String {
    if hidden == 0 {
        return String::new();
    }
    format!(
        "<p id=\"more-incidents\" class=\"meta\">… and {hidden} more incident(s) ({} responses): \
         <code>--limit 0</code> shows all, <code>--format json</code> lists all.</p>\n",
        grouped(responses)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(100_000), "100,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration(0.43), "0.4 ms");
        assert_eq!(duration(86.016), "86 ms");
        assert_eq!(duration(60_817.4), "60.8 s");
    }
}
