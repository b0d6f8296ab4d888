//! The panels the reports and the watch dashboard share, each with the id the browser tests
//! look for: `#verdict`, `#status-mix`, `#incidents` (one `.incident[data-cause]` each).
//! Each returns its markup; every text from a log goes through [`escape`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{cause_colour, escape};
use crate::diagnose::{Incident, PathCount};
use crate::formats::Kind;
use crate::render::summary::span;
use crate::scan::InputReport;
use crate::watch::live::LiveIncident;

/// The one line to read first.
pub(crate) fn verdict(line: &str, bad: bool) -> String {
    let class = if bad { "bad" } else { "good" };
    format!("<p id=\"verdict\" class=\"{class}\">{}</p>\n", escape(line))
}

/// How many requests were answered, and the 5xx among them by status, with a bar of shares.
pub(crate) fn status_mix(requests: u64, server_errors: &[(String, u64)]) -> String {
    let errors: u64 = server_errors.iter().map(|(_, n)| n).sum();
    let share = |n: u64| n as f64 * 100.0 / requests.max(1) as f64;
    let mut html = format!(
        "<section id=\"status-mix\"><h2>Status mix</h2>\n<p>{errors} of {requests} responses were 5xx ({:.2}%).</p>\n",
        share(errors)
    );
    if server_errors.is_empty() {
        return html + "</section>\n";
    }
    html += "<div class=\"mix\" aria-hidden=\"true\">";
    for (_, n) in server_errors {
        let _ = write!(
            html,
            "<span style=\"width:{:.2}%\"></span>",
            share(*n).max(0.5)
        );
    }
    html += "</div>\n<table><tr><th>Status</th><th>Responses</th><th>Share</th></tr>\n";
    for (code, n) in server_errors {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td class=\"n\">{n}</td><td class=\"n\">{:.2}%</td></tr>",
            escape(code),
            share(*n)
        );
    }
    html + "</table></section>\n"
}

/// What an incident box shows, from a report's incident or a live one.
pub(crate) struct IncidentView<'a> {
    pub cause: &'a str,
    pub title: &'a str,
    pub status: &'a BTreeMap<String, u64>,
    pub count: u64,
    pub first_seen: Option<&'a str>,
    pub last_seen: Option<&'a str>,
    pub paths: &'a [String],
    /// The first paths with their counts (none for a live incident: `paths` then).
    pub top_paths: &'a [PathCount],
    /// How many paths there were in all (at least `paths`).
    pub distinct_paths: u64,
    pub file: Option<&'a str>,
    pub line: Option<u64>,
    pub evidence: &'a [String],
    pub fix: &'a str,
    /// The virtual host, where the logs name one.
    pub host: Option<&'a str>,
}

impl<'a> From<&'a Incident> for IncidentView<'a> {
    fn from(i: &'a Incident) -> Self {
        IncidentView {
            cause: i.cause,
            title: &i.title,
            status: &i.status,
            count: i.count,
            first_seen: i.first_seen.as_deref(),
            last_seen: i.last_seen.as_deref(),
            paths: &i.paths,
            top_paths: &i.top_paths,
            distinct_paths: i.distinct_paths,
            file: i.file.as_deref(),
            line: i.line,
            evidence: &i.evidence,
            fix: &i.fix,
            host: i.host.as_deref(),
        }
    }
}

impl<'a> From<&'a LiveIncident> for IncidentView<'a> {
    fn from(i: &'a LiveIncident) -> Self {
        IncidentView {
            cause: &i.cause,
            title: &i.title,
            status: &i.status,
            count: i.count,
            first_seen: i.first_seen.as_deref(),
            last_seen: i.last_seen.as_deref(),
            paths: &i.paths,
            top_paths: &[],
            distinct_paths: i.paths.len() as u64,
            file: i.file.as_deref(),
            line: i.line,
            evidence: &i.evidence,
            fix: &i.fix,
            host: None,
        }
    }
}

/// A section of incident boxes: `id` names the section, `class` each box (`incident` for the
/// 5xx incidents the contract counts).
pub(crate) fn incidents<'a>(
    id: &str,
    heading: &str,
    class: &str,
    list: impl ExactSizeIterator<Item = IncidentView<'a>>,
) -> String {
    let mut html = format!(
        "<section id=\"{id}\"><h2>{} ({})</h2>\n",
        escape(heading),
        list.len()
    );
    if list.len() == 0 {
        html += "<p class=\"good\">None.</p>\n";
    }
    for inc in list {
        html += &incident(&inc, class);
    }
    html + "</section>\n"
}

/// One incident: cause, count, when, where, requests, evidence, fix.
fn incident(i: &IncidentView<'_>, class: &str) -> String {
    let statuses: Vec<String> = i
        .status
        .iter()
        .map(|(code, n)| format!("{n} × {}", escape(code)))
        .collect();
    let count = if statuses.is_empty() {
        format!("{} event(s)", i.count)
    } else {
        statuses.join(", ")
    };
    let mut html = format!(
        "<article class=\"{class}\" data-cause=\"{cause}\" style=\"border-left-color:{colour}\">\
         <h3><span class=\"swatch\" style=\"background:{colour}\"></span>{} <code>{cause}</code> \
         <span class=\"count\">{count}</span></h3>\n<dl>",
        escape(i.title),
        cause = escape(i.cause),
        colour = cause_colour(i.cause),
    );
    if let Some(host) = i.host {
        let _ = write!(html, "<dt>Host</dt><dd><code>{}</code></dd>", escape(host));
    }
    if let (Some(first), Some(last)) = (i.first_seen, i.last_seen) {
        let _ = write!(html, "<dt>When</dt><dd>{}</dd>", escape(&span(first, last)));
    }
    if let Some(file) = i.file {
        let line = i.line.map(|l| format!(":{l}")).unwrap_or_default();
        let _ = write!(
            html,
            "<dt>Where</dt><dd><code>{}{line}</code></dd>",
            escape(file)
        );
    }
    if !i.paths.is_empty() {
        let _ = write!(html, "<dt>Requests</dt><dd>{}</dd>", requests(i));
    }
    html += "<dt>Evidence</dt><dd>";
    match i.evidence.split_first() {
        None => html += "no error-log line near these responses",
        Some((first, rest)) => {
            let _ = write!(html, "<pre>{}</pre>", escape(first));
            if !rest.is_empty() {
                let _ = write!(
                    html,
                    "<details><summary>{} more record(s)</summary>",
                    rest.len()
                );
                for e in rest {
                    let _ = write!(html, "<pre>{}</pre>", escape(e));
                }
                html += "</details>";
            }
        }
    }
    let _ = writeln!(
        html,
        "</dd><dt>Fix</dt><dd>{}</dd></dl></article>",
        escape(i.fix)
    );
    html
}

/// An incident's paths, with their counts where known, and how many more there were.
fn requests(i: &IncidentView<'_>) -> String {
    let mut parts: Vec<String> = if i.top_paths.is_empty() {
        i.paths
            .iter()
            .map(|p| format!("<code>{}</code>", escape(p)))
            .collect()
    } else {
        i.top_paths
            .iter()
            .map(|p| format!("<code>{}</code>&nbsp;({})", escape(&p.path), p.count))
            .collect()
    };
    let more = i.distinct_paths.saturating_sub(parts.len() as u64);
    if more > 0 {
        parts.push(format!("<span class=\"meta\">and {more} more</span>"));
    }
    parts.join(" ")
}

/// What people call a log of this kind and format (`PHP-FPM log`, not `php_fpm`).
fn log_name(kind: Kind, format: &str) -> &'static str {
    match format {
        "combined" | "common" | "vhost_combined" => "access log (nginx/Apache)",
        "json" | "custom" => "access log",
        "haproxy" => "HAProxy log",
        "cloudflare" => "Cloudflare Logpush",
        "gcp_lb" => "Google Cloud load balancer log",
        "uwsgi_requests" | "uwsgi" => "uWSGI log",
        "nginx_error" => "nginx error log",
        "apache_error" => "Apache error log",
        "php_fpm" => "PHP-FPM log",
        "php_error" => "PHP error log",
        "gunicorn" => "Gunicorn log",
        "python" => "Python application log",
        "rails" => "Rails log",
        "puma" => "Puma log",
        "node" => "Node.js log",
        "tomcat" => "Tomcat log",
        "spring" => "Spring Boot log",
        "go" => "Go server log",
        "aspnet" => "ASP.NET Core log",
        "empty" => "empty file",
        _ => match kind {
            Kind::Access => "access log",
            Kind::Error => "error log",
            Kind::PhpFpm => "PHP-FPM log",
            Kind::PhpError => "PHP error log",
            Kind::App => "application log",
            Kind::Unknown => "not a log read here",
        },
    }
}

/// The inputs read, with their kind, format and unparsed lines.
pub(crate) fn inputs(inputs: &[InputReport]) -> String {
    let mut html = String::from(
        "<section id=\"inputs\"><h2>Inputs</h2><table><tr><th>Input</th><th>Log</th><th>Format</th><th>Lines</th><th>Unparsed</th></tr>\n",
    );
    for i in inputs {
        let _ = writeln!(
            html,
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"meta\"><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&i.path),
            log_name(i.kind, i.format),
            escape(i.format),
            i.lines,
            i.unparsed
        );
    }
    html + "</table></section>\n"
}
