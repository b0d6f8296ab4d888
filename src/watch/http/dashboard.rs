//! `/`: one server-rendered page for a person glancing at a server: what is firing, which
//! incidents are open and how to fix them, the 5xx counts, and the files followed. No script
//! and nothing loaded from elsewhere (the CSP forbids both); it reloads itself with a meta
//! refresh. Every piece of log data (paths, evidence, summaries, file names) goes through
//! [`escape`]: a log line is written by whoever sent the request.

use super::{FiringAlert, FollowedFile, Snapshot};
use crate::render::html::escape;
use crate::watch::live::{IncidentState, LiveIncident};

/// Seconds between reloads.
const REFRESH_SECONDS: u32 = 5;

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;max-width:72em;margin:1.5em auto;\
padding:0 1em;color:#222}h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}\
.meta{color:#666}.ok{color:#1b5e20}.critical{color:#b00020;font-weight:600}.warning{color:#8a5a00;\
font-weight:600}.incident{border:1px solid #ddd;border-radius:6px;padding:.5em 1em;margin:.8em 0}\
.cause{font-weight:600}pre{background:#f6f6f6;padding:.5em;overflow-x:auto;white-space:pre-wrap}\
table{border-collapse:collapse}td,th{padding:.15em .6em;text-align:left;border-bottom:1px solid #eee}\
td.n{text-align:right}";

/// The whole page.
pub(super) fn page(s: &Snapshot) -> String {
    let newest = s
        .newest_line
        .map_or_else(|| "none yet".to_string(), |t| t.rfc3339());
    let mut html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>fivehundred watch</title><style>{STYLE}</style></head><body>\n\
         <h1>fivehundred watch</h1>\n<p class=\"meta\">Started {}; newest line {}; \
         reloads every {REFRESH_SECONDS} s.</p>\n",
        escape(&s.started.to_string()),
        escape(&newest),
    );
    html += &alerts(&s.firing);
    html += &open_incidents(s);
    html += &errors(s);
    html += &files(&s.files);
    html += "</body></html>\n";
    html
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

/// The open incidents, newest first, each with its evidence and fix.
fn open_incidents(s: &Snapshot) -> String {
    let open = s.newest_incidents(Some(IncidentState::Open), None);
    let mut html = format!("<h2>Open incidents ({})</h2>\n", open.len());
    if open.is_empty() {
        return html + "<p class=\"ok\">None.</p>\n";
    }
    for inc in open {
        html += &incident(inc);
    }
    html
}

/// One incident's box.
fn incident(inc: &LiveIncident) -> String {
    let statuses: Vec<String> = inc
        .status
        .iter()
        .map(|(code, n)| format!("{n}&times;{}", escape(code)))
        .collect();
    let mut html = format!(
        "<div class=\"incident\"><p><span class=\"cause\">{}</span> ({}): \
         <span class=\"critical\">{} responses</span> [{}]</p>\n",
        escape(&inc.title),
        escape(&inc.cause),
        inc.count,
        statuses.join(", "),
    );
    if let (Some(first), Some(last)) = (&inc.first_seen, &inc.last_seen) {
        html += &format!("<p>From {} to {}</p>\n", escape(first), escape(last));
    }
    if let Some(file) = &inc.file {
        let line = inc.line.map_or_else(String::new, |l| format!(":{l}"));
        html += &format!("<p>At <code>{}{line}</code></p>\n", escape(file));
    }
    if !inc.paths.is_empty() {
        let paths: Vec<String> = inc
            .paths
            .iter()
            .map(|p| format!("<code>{}</code>", escape(p)))
            .collect();
        html += &format!("<p>Requests: {}</p>\n", paths.join(" "));
    }
    for e in &inc.evidence {
        html += &format!("<pre>{}</pre>\n", escape(e));
    }
    html + &format!("<p>Fix: {}</p></div>\n", escape(&inc.fix))
}

/// The 5xx counters by code, and all responses for scale.
fn errors(s: &Snapshot) -> String {
    let responses = &s.counters.responses;
    let total: u64 = responses.values().sum();
    let errors: Vec<(&u16, &u64)> = responses.range(500..600).collect();
    let sum: u64 = errors.iter().map(|(_, n)| **n).sum();
    let mut html = format!(
        "<h2>5xx responses</h2>\n<p>{sum} of {total} responses since the logs began.</p>\n"
    );
    if errors.is_empty() {
        return html;
    }
    html += "<table><tr><th>Status</th><th>Responses</th></tr>\n";
    for (code, n) in errors {
        html += &format!("<tr><td>{code}</td><td class=\"n\">{n}</td></tr>\n");
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
            evidence: vec![format!("PHP Fatal error: {SCRIPT}")],
            fix: format!("fix{SCRIPT}"),
            title: format!("title{IMG}"),
        }];
        s.firing = vec![FiringAlert {
            alert: format!("a{SCRIPT}"),
            severity: format!("critical{IMG}"),
            rule: Some(format!("r{IMG}")),
            summary: format!("s{SCRIPT}"),
            since: Stamp { ms: 0, offset: 0 },
        }];
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
        let html = page(&hostile());
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    }

    #[test]
    fn shows_alerts_incidents_and_5xx() {
        let html = page(&hostile());
        assert!(html.contains("Alerts firing (1)"));
        assert!(html.contains("Open incidents (1)"));
        assert!(
            html.contains(
                "<code>/var/www/&quot;&gt;&lt;img src=x onerror=alert(1)&gt;.php:7</code>"
            )
        );
        assert!(html.contains("<tr><td>502</td><td class=\"n\">4</td></tr>"));
        assert!(html.contains("4 of 14 responses"));
        assert!(html.contains("<meta http-equiv=\"refresh\" content=\"5\">"));
    }
}
