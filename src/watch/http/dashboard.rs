//! `/`: one server-rendered page for a person glancing at a server: the verdict, the
//! overview figures (as the HTML report's row: requests, 5xx and their share, incidents,
//! hosts, time span, crawlers that got 5xx), what is firing, the chart, which incidents are
//! open and how to fix them, the top failing paths, the status mix and the files followed.
//! The figures are [`super::api`]'s, so the page says what `/api/overview` says.
//!
//! It is built from the HTML report's panels (same ids and classes, so the browser tests read
//! both alike), with no script and nothing loaded from elsewhere (the CSP forbids both); it
//! reloads itself with a meta refresh. Its 5xx chart is the report's, over the last 24 hours
//! of explained 5xx by minute and cause, from the stored history (a restart, even a
//! `kill -9`, loses none of it). Every piece of log data (paths, evidence, summaries, file
//! names) goes through [`escape`]: a log line is written by whoever sent the request.

use std::fmt::Write as _;

use super::api::{self, OverviewView};
use super::{CHART_MS, FiringAlert, FollowedFile, Snapshot};
use crate::render::html::chart::Point;
use crate::render::html::components::{IncidentView, incidents, status_mix, verdict};
use crate::render::html::{chart_panel, escape, page as html_page};
use crate::scope::Scope;
use crate::watch::live::IncidentState;

/// Seconds between reloads.
const REFRESH_SECONDS: u32 = 5;

/// The whole page; under a `scope` (`?host=` …), a note says what it narrows.
pub(super) fn page(s: &Snapshot, scope: &Scope) -> String {
    let newest = s
        .newest_line
        .map_or_else(|| "none yet".to_string(), |t| t.rfc3339());
    let open = s.newest_incidents(Some(IncidentState::Open), None);
    let (total, errors) = five_hundreds(s);
    let mut body = format!(
        "<h1>fivehundred watch</h1>\n<p class=\"meta\">Started {}; newest line {}; \
         reloads every {REFRESH_SECONDS} s.</p>\n",
        escape(&s.started.to_string()),
        escape(&newest),
    );
    let bad = !s.firing.is_empty() || !open.is_empty();
    body += &verdict(
        &watch_verdict(s.firing.len(), open.len(), total, &errors),
        bad,
    );
    body += &scope_note(scope);
    let figures = api::overview(s);
    body += &overview(&figures);
    body += &alerts(&s.firing);
    let points: Vec<Point<'_>> = s
        .history
        .causes()
        .map(|(cause, at, count)| Point { cause, at, count })
        .collect();
    body += &chart_panel(&points);
    body += &window(s);
    body += &incidents(
        "incidents",
        "Open incidents",
        "incident",
        open.into_iter().map(IncidentView::from),
    );
    body += &top_paths(&figures);
    body += &status_mix(total, &errors);
    body += &files(&s.files);
    let refresh = format!("<meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">");
    html_page("fivehundred watch", &refresh, &body)
}

/// What a scope narrows on the page, said above the figures. The store keeps its minutes,
/// paths and counters for the whole site (by status class and cause, not by host or status:
/// narrowing them would need every access line parsed, where `watch` parses only the 5xx), so
/// only the incidents are filtered, and a person must not read the rest as the scope's.
fn scope_note(scope: &Scope) -> String {
    let Some(only) = scope.summary() else {
        return String::new();
    };
    format!(
        "<p class=\"meta\" id=\"scope\">{} The open incidents are those in this scope; the \
         figures, chart, top paths and status mix are whole-site.</p>\n",
        escape(&only)
    )
}

/// All responses counted, and the 5xx among them by status.
fn five_hundreds(s: &Snapshot) -> (u64, Vec<(String, u64)>) {
    let responses = &s.counters.responses;
    let errors = responses
        .range(500..600)
        .map(|(code, n)| (code.to_string(), *n))
        .collect();
    (responses.values().sum(), errors)
}

/// The overview row, in the HTML report's markup: one `.figure[data-figure]` per figure,
/// its `.value` the number `/api/overview` gives (the browser tests compare them), its
/// `.label` and a `.note`.
fn overview(o: &OverviewView) -> String {
    let span = match (&o.first_line, &o.last_line) {
        (Some(first), Some(last)) => format!("{first} … {last}"),
        _ => "none yet".to_owned(),
    };
    let each: Vec<String> = o.crawlers.iter().map(|(c, n)| format!("{c} {n}")).collect();
    let crawled: u64 = o.crawlers.values().sum();
    let figures = [
        (
            "requests",
            o.requests.to_string(),
            "requests",
            String::new(),
        ),
        (
            "server_errors",
            o.server_errors.to_string(),
            "5xx",
            format!("{:.2}% of requests", o.server_error_percent),
        ),
        (
            "incidents",
            o.incidents.to_string(),
            "incidents",
            format!("{} open", o.open_incidents),
        ),
        (
            "hosts",
            o.hosts.to_string(),
            "hosts with 5xx",
            String::new(),
        ),
        ("span", span, "first … last line", String::new()),
        (
            "crawler_errors",
            crawled.to_string(),
            "5xx to crawlers",
            each.join(", "),
        ),
    ];
    let mut html =
        String::from("<section id=\"overview\"><h2>Overview</h2><div class=\"figures\">");
    for (name, value, label, note) in figures {
        let note = if note.is_empty() {
            String::new()
        } else {
            format!("<span class=\"note\">{}</span>", escape(&note))
        };
        let _ = write!(
            html,
            "<div class=\"figure\" data-figure=\"{name}\"><span class=\"value\">{}</span>\
             <span class=\"label\">{label}</span>{note}</div>",
            escape(&value)
        );
    }
    html + "</div></section>\n"
}

/// Under the chart: the responses of its hours by status class, from the stored history.
fn window(s: &Snapshot) -> String {
    let classes = s.history.classes();
    let total: u64 = classes.values().sum();
    let each: Vec<String> = classes
        .iter()
        .map(|(digit, n)| format!("{n} × {digit}xx"))
        .collect();
    format!(
        "<p class=\"meta\" id=\"window\">Last {} h of the logs: {total} responses{}.</p>\n",
        CHART_MS / 3_600_000,
        if each.is_empty() {
            String::new()
        } else {
            format!(" ({})", each.join(", "))
        }
    )
}

/// The most failing paths, as the HTML report's table: one `tr[data-count]` each, the path
/// in its first cell, its share of the 5xx.
fn top_paths(o: &OverviewView) -> String {
    let mut html = String::from("<section id=\"top-paths\"><h2>Top failing paths</h2>\n");
    if o.top_paths.is_empty() {
        return html + "<p class=\"good\">None.</p></section>\n";
    }
    html += "<table><tr><th>Path</th><th>5xx</th><th>Share</th></tr>\n";
    for p in &o.top_paths {
        let _ = writeln!(
            html,
            "<tr data-count=\"{n}\"><td><code>{}</code></td><td class=\"n\">{n}</td>\
             <td class=\"n\">{:.1}%</td></tr>",
            escape(&p.path),
            p.count as f64 * 100.0 / o.server_errors.max(1) as f64,
            n = p.count
        );
    }
    html + "</table></section>\n"
}

/// One line: what fires, what is open, how many 5xx.
fn watch_verdict(firing: usize, open: usize, total: u64, errors: &[(String, u64)]) -> String {
    let five: u64 = errors.iter().map(|(_, n)| n).sum();
    if firing == 0 && open == 0 {
        return format!(
            "All quiet: no alert firing, no open incident ({five} of {total} responses 5xx since the logs began)."
        );
    }
    format!(
        "{firing} alert(s) firing, {open} open incident(s); {five} of {total} responses 5xx since the logs began."
    )
}

/// The alerts firing now, or a line saying none is.
fn alerts(firing: &[FiringAlert]) -> String {
    let mut html = format!("<h2>Alerts firing ({})</h2>\n", firing.len());
    if firing.is_empty() {
        return html + "<p class=\"ok\">None.</p>\n";
    }
    html += "<table><tr><th>Alert</th><th>Severity</th><th>Since</th><th>Summary</th></tr>\n";
    for a in firing {
        let rule = a
            .rule
            .as_ref()
            .map_or_else(String::new, |r| format!(" ({})", escape(r)));
        html += &format!(
            "<tr><td>{}{rule}</td><td class=\"{sev}\">{sev}</td><td>{}</td><td>{}</td></tr>\n",
            escape(&a.alert),
            escape(&a.since.rfc3339()),
            escape(&a.summary),
            sev = escape(&a.severity),
        );
    }
    html + "</table>\n"
}

/// The files followed, with how far each was read.
fn files(files: &[FollowedFile]) -> String {
    let mut html = format!("<h2>Files followed ({})</h2>\n", files.len());
    if files.is_empty() {
        return html;
    }
    html += "<table><tr><th>File</th><th>Kind</th><th>Format</th><th>Lines</th>\
             <th>Unparsed</th><th>Bytes read</th></tr>\n";
    for f in files {
        html += &format!(
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
            escape(&f.path),
            escape(&f.kind),
            escape(&f.format),
            f.lines,
            f.unparsed,
            f.offset,
        );
    }
    html + "</table>\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::Stamp;
    use crate::watch::live::LiveIncident;
    use crate::watch::store::Overview;

    const SCRIPT: &str = "<script>alert(1)</script>";
    const IMG: &str = "\"><img src=x onerror=alert(1)>";

    /// A snapshot with hostile text in every field that comes from a log or a file name.
    fn hostile() -> Snapshot {
        let mut s = Snapshot::new(jiff::Timestamp::UNIX_EPOCH);
        s.counters.responses = [(200, 10), (502, 4)].into();
        s.incidents = vec![LiveIncident {
            id: 1,
            state: IncidentState::Open,
            cause: format!("cause{IMG}"),
            status: [(format!("502{SCRIPT}"), 4)].into(),
            count: 4,
            first_seen: Some(format!("t1{SCRIPT}")),
            last_seen: Some(format!("t2{IMG}")),
            paths: vec![format!("/x{SCRIPT}"), format!("/y{IMG}")],
            file: Some(format!("/var/www/{IMG}.php")),
            line: Some(7),
            language: None,
            exception: None,
            evidence: vec![format!("PHP Fatal error: {SCRIPT}")],
            fix: format!("fix{SCRIPT}"),
            title: format!("title{IMG}"),
            host: None,
        }];
        s.firing = vec![FiringAlert {
            alert: format!("a{SCRIPT}"),
            severity: format!("critical{IMG}"),
            rule: Some(format!("r{IMG}")),
            summary: format!("s{SCRIPT}"),
            since: Stamp { ms: 0, offset: 0 },
        }];
        s.overview = Overview {
            top_paths: vec![(format!("/top{SCRIPT}"), 3)],
            hosts: 1,
            crawlers: [(format!("bot{IMG}"), 2)].into(),
            span: Some((
                Stamp { ms: 0, offset: 0 },
                Stamp {
                    ms: 60_000,
                    offset: 0,
                },
            )),
        };
        s.files = vec![FollowedFile {
            path: format!("/logs/{SCRIPT}{IMG}"),
            kind: format!("k{IMG}"),
            format: format!("f{SCRIPT}"),
            lines: 14,
            unparsed: 0,
            offset: 1400,
        }];
        s
    }

    #[test]
    fn log_data_is_escaped_everywhere() {
        let html = page(&hostile(), &Scope::default());
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    }

    /// The ids and classes the browser tests read, as in the HTML report.
    #[test]
    fn uses_the_report_panels() {
        let html = page(&hostile(), &Scope::default());
        assert!(
            html.contains("<p id=\"verdict\" class=\"bad\">1 alert(s) firing, 1 open incident(s)")
        );
        assert!(html.contains("<section id=\"incidents\">"));
        assert_eq!(
            html.matches("<article class=\"incident\" data-cause=")
                .count(),
            1
        );
        assert!(html.contains("<section id=\"status-mix\">"));
        assert!(
            html.contains(
                "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\""
            )
        );
    }

    /// The overview row says what `/api/overview` says, in the report's markup the browser
    /// tests read; the top paths come with their counts.
    #[test]
    fn the_overview_row_and_top_paths_are_the_apis() {
        let s = hostile();
        let html = page(&s, &Scope::default());
        let o = api::overview(&s);
        assert_eq!((o.requests, o.server_errors, o.incidents), (14, 4, 0));
        assert_eq!(o.server_error_percent, 28.57);
        let figure = |name: &str, value: &str, rest: &str| {
            format!(
                "<div class=\"figure\" data-figure=\"{name}\"><span class=\"value\">{value}</span>{rest}</div>"
            )
        };
        for want in [
            figure("requests", "14", "<span class=\"label\">requests</span>"),
            figure(
                "server_errors",
                "4",
                "<span class=\"label\">5xx</span><span class=\"note\">28.57% of requests</span>",
            ),
            figure(
                "incidents",
                "0",
                "<span class=\"label\">incidents</span><span class=\"note\">1 open</span>",
            ),
            figure(
                "span",
                "1970-01-01T00:00:00+00:00 … 1970-01-01T00:01:00+00:00",
                "<span class=\"label\">first … last line</span>",
            ),
            figure(
                "crawler_errors",
                "2",
                "<span class=\"label\">5xx to crawlers</span><span class=\"note\">bot&quot;&gt;&lt;img src=x onerror=alert(1)&gt; 2</span>",
            ),
        ] {
            assert!(html.contains(&want), "{want}\n{html}");
        }
        assert!(html.contains(
            "<tr data-count=\"3\"><td><code>/top&lt;script&gt;alert(1)&lt;/script&gt;</code></td><td class=\"n\">3</td><td class=\"n\">75.0%</td></tr>"
        ));
    }

    #[test]
    fn shows_alerts_incidents_and_5xx() {
        let html = page(&hostile(), &Scope::default());
        assert!(html.contains("Alerts firing (1)"));
        assert!(html.contains("Open incidents (1)"));
        assert!(
            html.contains(
                "<code>/var/www/&quot;&gt;&lt;img src=x onerror=alert(1)&gt;.php:7</code>"
            )
        );
        assert!(html.contains("<tr><td>502</td><td class=\"n\">4</td>"));
        assert!(html.contains("4 of 14 responses"));
        assert!(html.contains("<meta http-equiv=\"refresh\" content=\"5\">"));
    }

    #[test]
    fn a_scope_is_said_above_the_figures_escaped_and_that_they_are_whole_site() {
        let plain = page(&hostile(), &Scope::default());
        assert!(!plain.contains("id=\"scope\""));
        let scope = Scope::new(Some("<b>.test"), None, Some("5xx")).unwrap();
        let html = page(&hostile(), &scope);
        let note = html.find("id=\"scope\"").expect("the scope's note");
        assert!(note < html.find("id=\"overview\"").unwrap());
        assert!(html.contains("host &lt;b&gt;.test, status 5xx"), "{html}");
        assert!(html.contains("are whole-site"));
    }
}
