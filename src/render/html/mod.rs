//! One self-contained HTML page per report: inline CSS and SVG, no script, nothing loaded from
//! elsewhere (a Content-Security-Policy in the head says so to the browser too), so it works
//! offline, mailed or archived. Every piece of log data goes through [`escape`]: a log line is
//! written by whoever sent the request.
//!
//! The panels ([`components`], [`chart`], [`crawlers`]) are shared with `watch`'s dashboard;
//! their ids and classes are a contract with the browser tests.

pub(crate) mod chart;
pub(crate) mod components;
mod crawlers;
pub(crate) mod overview;

use std::io::{self, Write};

use super::Style;
use crate::diagnose::Report;
use crate::diagnose::rules::Rules;
use crate::render::summary::limited;
use crate::seo::SeoReport;
use components::{IncidentView, incidents, inputs, verdict};

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Allows inline styles and nothing else: no script, no fetch, even if escaping failed.
pub(crate) const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;max-width:72em;margin:1.5em auto;\
padding:0 1em;color:#222}h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}h3{font-size:1em}\
#verdict{font-size:1.15em;font-weight:600;padding:.5em .8em;border-radius:6px}\
.bad{background:#fdecea;color:#8e0015}.good{color:#1b5e20}.meta{color:#666}\
.critical{color:#b00020;font-weight:600}.warning{color:#8a5a00;font-weight:600}\
.incident,.other-error{border:1px solid #ddd;border-left:6px solid #888;border-radius:6px;\
padding:.4em 1em;margin:.8em 0;break-inside:avoid}.count{color:#b00020;font-weight:600}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;margin:.4em 0}dt{color:#666}\
dd{margin:0;min-width:0}pre{background:#f6f6f6;padding:.5em;margin:.2em 0;overflow-x:auto;\
white-space:pre-wrap;overflow-wrap:anywhere}code{overflow-wrap:anywhere}\
table{border-collapse:collapse}td,th{padding:.15em .6em;text-align:left;border-bottom:1px solid #eee}\
td.n{text-align:right}figure{margin:0}svg.chart{width:100%;height:auto;display:block}\
svg.chart text{font-size:12px;fill:#555}svg.chart text.y{text-anchor:end}\
svg.chart line.grid{stroke:#e4e4e4}.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3em 1.2em}\
.swatch{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.35em;\
vertical-align:-.05em}.mix{display:flex;height:.8em;background:#cfe8cf;border-radius:3px;overflow:hidden;max-width:40em}\
.mix span{display:block;background:#b00020;border-right:1px solid #fff}\
.track{position:relative;height:.7em;background:#eee;border-radius:3px;margin:.3em 0}\
.track span{position:absolute;top:0;bottom:0}.track .down{background:#b00020;min-width:2px}.track .paused{background:#e0a000}\
.track .tick{width:2px;margin-left:-1px}.axis{display:flex;justify-content:space-between;color:#666;font-size:.85em;margin:.2em 0}\
.figures{display:flex;flex-wrap:wrap;gap:.6em}.figure{border:1px solid #ddd;border-radius:6px;\
padding:.4em .9em;flex:1 1 7em}.figure[data-figure=span]{flex:3 1 16em}.figure .value{display:block;font-size:1.5em;font-weight:600}\
.figure[data-figure=span] .value{font-size:1em;padding:.35em 0}.figure .label{display:block;color:#666}\
.figure .note{display:block;color:#666;font-size:.85em}.mix.classes{background:#eee}\
tr.sub td:first-child{padding-left:1.8em;color:#666}details summary{cursor:pointer;color:#555}\
@media (prefers-color-scheme:dark){body{background:#16181c;color:#ddd}.meta,dt,.figure .label,\
.figure .note,tr.sub td:first-child,details summary{color:#aaa}.bad{background:#3b1217;color:#ffb3b8}\
.good{color:#8fd694}.critical,.count{color:#ff7b84}.warning{color:#ffcc66}pre{background:#23262b}\
.incident,.other-error,.figure{border-color:#3a3d42}td,th{border-bottom-color:#2c2f34}\
svg.chart text{fill:#bbb}svg.chart line.grid{stroke:#33363b}.track,.mix.classes{background:#2c2f34}}\
@media (max-width:40em){body{margin:.5em auto;font-size:14px}dl{grid-template-columns:1fr}td,th{padding:.1em .3em}}\
@media print{body{max-width:none;margin:0;font-size:11pt;color:#000}#verdict{border:1px solid #000}\
pre{white-space:pre-wrap;background:none;border:1px solid #ccc}section{break-inside:avoid-page}\
.mix span,.track span,.swatch,svg.chart{print-color-adjust:exact;-webkit-print-color-adjust:exact}}";

/// A whole page: the head with the CSP, the style, `head` (more head elements, such as a
/// refresh) and the title; then `body`.
pub(crate) fn page(title: &str, head: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">{head}\
         <title>{}</title><style>{STYLE}</style></head><body>\n{body}</body></html>\n",
        escape(title)
    )
}

/// Where in the stack a cause lies: each layer has its hue, so a page of causes reads as a
/// few families of colour rather than a rainbow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layer {
    Php,
    Workers,
    Upstream,
    Database,
    Disk,
    Config,
    /// `unknown`, and causes no layer claims.
    Other,
}

impl Layer {
    pub fn name(self) -> &'static str {
        match self {
            Layer::Php => "PHP / application",
            Layer::Workers => "workers",
            Layer::Upstream => "upstream",
            Layer::Database => "database",
            Layer::Disk => "disk",
            Layer::Config => "config",
            Layer::Other => "unexplained",
        }
    }

    /// The layer's hue (HSL degrees); `None`: grey.
    fn hue(self) -> Option<u32> {
        match self {
            Layer::Php => Some(275),
            Layer::Workers => Some(28),
            Layer::Upstream => Some(210),
            Layer::Database => Some(350),
            Layer::Disk => Some(48),
            Layer::Config => Some(140),
            Layer::Other => None,
        }
    }
}

/// The layer of a cause id (ids of `causes.md`; a new id falls in by its prefix).
pub(crate) fn layer_of(cause: &str) -> Layer {
    match cause {
        "app_exception" | "app_error" => Layer::Php,
        "out_of_memory" => Layer::Workers,
        "rate_limited" => Layer::Upstream,
        "disk_full" => Layer::Disk,
        "file_permissions" | "htaccess_invalid" | "rewrite_loop" => Layer::Config,
        c if c.starts_with("php_") => Layer::Php,
        c if c.starts_with("fpm_") || c.starts_with("worker_") => Layer::Workers,
        c if c.starts_with("upstream_") => Layer::Upstream,
        c if c.starts_with("db_") => Layer::Database,
        _ => Layer::Other,
    }
}

/// A colour per cause, the same in every report and the dashboard: its layer's hue, the causes
/// of one layer told apart by lightness (in the order of the rule table); grey for `unknown`
/// and causes no layer claims.
pub(crate) fn cause_colour(cause: &str) -> String {
    let layer = layer_of(cause);
    let Some(hue) = layer.hue() else {
        return "#888".to_owned();
    };
    let rank = Rules::builtin()
        .cause_ids()
        .filter(|c| layer_of(c) == layer)
        .position(|c| c == cause)
        .unwrap_or(0);
    format!("hsl({hue},62%,{}%)", 30 + rank * 9 % 40)
}

/// The `diagnose` report: the verdict, the overview figures and the table by cause first (a
/// big day's page opens on them), then 5xx over time, the status mix, the response times,
/// the tables by host and path, the `limit` worst incidents (0: all),
/// what crawlers saw when `seo` has crawler or robots.txt lines, and the inputs.
pub fn write(
    out: &mut impl Write,
    report: &Report,
    seo: Option<&SeoReport>,
    limit: usize,
) -> io::Result<()> {
    let s = &report.summary;
    let mut body = String::from("<h1>fivehundred diagnose</h1>\n");
    body += &verdict(&diagnose_verdict(report), !report.incidents.is_empty());
    body += &scope_line(&report.scope);
    body += &overview::overview(report, seo);
    if !report.incidents.is_empty() {
        body += &overview::causes(report);
    }
    body += &chart_panel(&chart::points_of(&report.incidents));
    body += &overview::class_mix(report);
    body += &overview::response_times(report);
    body += &overview::hosts(report);
    body += &overview::top_paths(report);
    let (shown, hidden, responses) = limited(report, limit);
    body += &incidents(
        "incidents",
        "Incidents",
        "incident",
        shown.iter().map(IncidentView::from),
    );
    body += &overview::more_incidents(hidden, responses);
    if let Some(seo) = seo.filter(|r| crawlers::has_data(r)) {
        body += &crawlers::panel(seo);
    }
    if !report.other_errors.is_empty() {
        body += &incidents(
            "other-errors",
            "Also in the error logs, with no 5xx response in the access logs",
            "other-error",
            report.other_errors.iter().map(IncidentView::from),
        );
    }
    body += &inputs(&report.inputs);
    let title = format!("fivehundred: {} server errors", s.server_errors);
    out.write_all(page(&title, "", &body).as_bytes())
}

/// The `seo` report: its verdict and the crawler panel.
pub fn write_seo(out: &mut impl Write, report: &SeoReport) -> io::Result<()> {
    let mut body = String::from("<h1>fivehundred seo</h1>\n");
    body += &verdict(&seo_verdict(report)?, report.found());
    body += &scope_line(&report.scope);
    body += &crawlers::panel(report);
    body += &crawlers::hourly_chart(report);
    body += &inputs(&report.inputs);
    out.write_all(page("fivehundred: what crawlers saw", "", &body).as_bytes())
}

/// The filters and window the figures are within, under the verdict (nothing without any).
fn scope_line(scope: &crate::scope::Scope) -> String {
    scope.summary().map_or_else(String::new, |s| {
        format!("<p class=\"meta\" id=\"scope\">{}</p>\n", escape(&s))
    })
}

/// The 5xx chart, or a line saying why there is none.
pub(crate) fn chart_panel(points: &[chart::Point<'_>]) -> String {
    let chart = chart::chart(points).unwrap_or_else(|| {
        "<p class=\"meta\">No 5xx response in the access logs: nothing to chart.</p>\n".to_owned()
    });
    format!("<section id=\"timeline\"><h2>5xx over time</h2>\n{chart}</section>\n")
}

/// The text report's summary line, and the cause of most responses.
fn diagnose_verdict(report: &Report) -> String {
    let line = super::text::summary_line(report, &Style { on: false });
    match report.incidents.first() {
        Some(top) if report.incidents.len() > 1 => format!(
            "{line}. Most: {} ({} of {}).",
            top.title,
            top.count,
            report.incidents.iter().map(|i| i.count).sum::<u64>()
        ),
        Some(top) => format!("{line}: {}.", top.title),
        None => line,
    }
}

/// The text report's verdict lines, joined into one.
fn seo_verdict(report: &SeoReport) -> io::Result<String> {
    let mut text = Vec::new();
    super::seo::write_verdict(&mut text, report, &Style { on: false })?;
    let text = String::from_utf8_lossy(&text);
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("<script>\"&'"), "&lt;script&gt;&quot;&amp;&#39;");
    }

    #[test]
    fn causes_keep_distinct_colours() {
        let ids: Vec<&str> = Rules::builtin().cause_ids().collect();
        let colours: std::collections::BTreeSet<String> =
            ids.iter().map(|c| cause_colour(c)).collect();
        assert_eq!(colours.len(), ids.len());
        assert_eq!(cause_colour("unknown"), "#888");
        assert_eq!(cause_colour("<x>"), "#888");
    }

    #[test]
    fn pages_forbid_scripts_and_fetches() {
        let html = page("t<", "", "<p>b</p>");
        assert!(html.contains(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        ));
        assert!(html.contains("<title>t&lt;</title>"));
        assert!(!html.contains("http://") && !html.contains("https://"));
    }
}
