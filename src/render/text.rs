//! The text report: a one-line summary, a table by cause, then the incidents worst first (as
//! many as `--limit` says, the rest counted in one line). In the full layout each incident
//! has its cause in words, where, its top paths, the first of its evidence and the fix; the
//! one-screen layout ([`super::screen`], the default on a terminal) keeps each to a few lines.
//! Log data in it has had terminal control sequences removed by the parsers; colour is added
//! only when asked (on a terminal).

use std::borrow::Cow;
use std::io::{self, Write};
use std::path::PathBuf;

use super::summary::{TEXT_LIMIT, by_cause, host_path, limited, percent, span};
use super::{Style, screen, write_defaults, write_inputs};
use crate::diagnose::{Incident, Report};
use crate::formats::Kind;

/// How the incidents are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// A few lines each, to fit a terminal this many columns wide ([`screen`]).
    Screen { width: usize },
    /// Every incident with its evidence, for pipes, files and `less`.
    Full,
}

/// Writes the report. `defaults` names the usual places read when no path was given; `limit`
/// is how many incidents to show (0: all; by default the layout's own).
pub fn write(
    out: &mut impl Write,
    report: &Report,
    defaults: Option<&[PathBuf]>,
    color: bool,
    limit: Option<usize>,
    layout: Layout,
) -> io::Result<()> {
    let st = Style { on: color };
    write_defaults(out, defaults, &st)?;
    write_inputs(out, &report.inputs, &st)?;
    if let Some(scope) = report.scope.summary() {
        writeln!(out, "{}", st.dim(&scope))?;
    }
    let width = match layout {
        Layout::Screen { width } => Some(width),
        Layout::Full => None,
    };
    match width {
        Some(w) => {
            for line in screen_summary(report, &st, w) {
                writeln!(out, "{line}")?;
            }
        }
        None => writeln!(out, "{}", summary_line(report, &st))?,
    }
    if report.incidents.len() > 1 {
        writeln!(out)?;
        write_cause_table(out, report, &st, width)?;
    }
    match layout {
        Layout::Screen { width } => {
            let limit = limit.unwrap_or(screen::SCREEN_LIMIT);
            screen::write_incidents(out, report, &st, limit, width)?;
            if !report.other_errors.is_empty() {
                let line = format!(
                    "Also {} incident(s) in the error logs with no 5xx response: --layout full shows them",
                    report.other_errors.len()
                );
                writeln!(out, "{}", st.dim(&line))?;
            }
            Ok(())
        }
        Layout::Full => write_full(out, report, &st, limit.unwrap_or(TEXT_LIMIT)),
    }
}

/// The incidents, each with its evidence, then the error-log incidents without a 5xx.
fn write_full(out: &mut impl Write, report: &Report, st: &Style, limit: usize) -> io::Result<()> {
    let (shown, hidden, responses) = limited(report, limit);
    for (n, incident) in shown.iter().enumerate() {
        writeln!(out)?;
        write_incident(out, n + 1, incident, st)?;
    }
    if hidden > 0 {
        let what = if report.summary.server_errors > 0 {
            "responses"
        } else {
            "events"
        };
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            st.bold(&format!(
                "… and {hidden} more incident(s) ({responses} {what}): --limit 0 shows all"
            ))
        )?;
    }
    if !report.other_errors.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            st.bold("Also in the error logs, with no 5xx response in the access logs:")
        )?;
        for (n, incident) in report.other_errors.iter().enumerate() {
            writeln!(out)?;
            write_incident(out, n + 1, incident, st)?;
        }
    }
    Ok(())
}

/// Also the HTML report's verdict.
pub(super) fn summary_line(report: &Report, st: &Style) -> String {
    let s = &report.summary;
    let read = report
        .inputs
        .iter()
        .filter(|i| i.kind != Kind::Unknown)
        .count();
    let has_access = report.inputs.iter().any(|i| i.kind == Kind::Access);
    if read == 0 {
        return st
            .bold("no log lines read: nothing to diagnose")
            .to_string();
    }
    if !has_access {
        let events: u64 = report.incidents.iter().map(|i| i.count).sum();
        return format!(
            "{read} error log(s), no access log: {} error event(s) explained in {} incident(s)",
            st.bold(&events.to_string()),
            report.incidents.len()
        );
    }
    let statuses: Vec<String> = s
        .by_status
        .iter()
        .map(|(code, n)| format!("{code}: {n}"))
        .collect();
    let errors = if s.server_errors > 0 {
        st.red(&format!("{} server errors", s.server_errors))
    } else {
        st.bold("no server errors")
    };
    let detail = if statuses.is_empty() {
        String::new()
    } else {
        format!(" ({})", statuses.join(", "))
    };
    format!(
        "{} requests, {errors}{detail} in {} incident(s), from {read} log(s)",
        s.requests,
        report.incidents.len()
    )
}

/// The summary line fitted to `width` columns: without its count of logs when that is what
/// makes it too wide, wrapped when still too wide.
fn screen_summary(report: &Report, st: &Style, width: usize) -> Vec<String> {
    let line = summary_line(report, st);
    let short = match line.rsplit_once(", from ") {
        Some((head, _)) if line.chars().count() > width => head.to_owned(),
        _ => line,
    };
    screen::wrap(&short, width, "  ")
}

/// The incidents summed by cause: count, share, first and last seen, the top path (cut to
/// `width` columns when given, so that a row does not wrap on a terminal).
fn write_cause_table(
    out: &mut impl Write,
    report: &Report,
    st: &Style,
    width: Option<usize>,
) -> io::Result<()> {
    let rows = by_cause(&report.incidents);
    let total: u64 = rows.iter().map(|r| r.count).sum();
    let spans: Vec<String> = rows
        .iter()
        .map(|r| match (r.first_seen, r.last_seen) {
            (Some(a), Some(b)) => span(a, b),
            _ => String::new(),
        })
        .collect();
    const SEEN: &str = "first … last seen";
    let seen_width = spans
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0)
        .max(SEEN.chars().count());
    let cause_width = rows.iter().map(|r| r.cause.len()).max().unwrap_or(0).max(5);
    let header = format!(
        "{:<cause_width$} {:>7} {:>6}  {SEEN:<seen_width$}  top path",
        "cause", "count", "share"
    );
    writeln!(out, "{}", st.bold(&header))?;
    for (r, seen) in rows.iter().zip(&spans) {
        let top = r
            .top_path
            .as_ref()
            .map_or(String::new(), |p| format!("{} ({})", host_path(p), p.count));
        let row = format!(
            "{:<cause_width$} {:>7} {:>6}  {seen:<seen_width$}  {top}",
            r.cause,
            r.count,
            percent(r.count, total),
        );
        writeln!(out, "{}", width_cut(&row, width))?;
    }
    Ok(())
}

/// `s` cut to `width` characters, the last one `…` (as it is without a width).
fn width_cut(s: &str, width: Option<usize>) -> Cow<'_, str> {
    match width {
        Some(w) if s.chars().count() > w => {
            let kept: String = s.chars().take(w.saturating_sub(1)).collect();
            Cow::Owned(format!("{kept}…"))
        }
        _ => Cow::Borrowed(s),
    }
}

fn write_incident(out: &mut impl Write, n: usize, i: &Incident, st: &Style) -> io::Result<()> {
    let statuses: Vec<String> = i
        .status
        .iter()
        .map(|(code, k)| format!("{k} × {code}"))
        .collect();
    let count = if statuses.is_empty() {
        format!("{} event(s)", i.count)
    } else {
        statuses.join(", ")
    };
    writeln!(
        out,
        "{n}. {} [{}]: {}",
        st.bold(&i.title),
        i.cause,
        st.red(&count)
    )?;
    if let Some(host) = &i.host {
        writeln!(out, "   host:     {}", st.bold(host))?;
    }
    if let (Some(first), Some(last)) = (&i.first_seen, &i.last_seen) {
        writeln!(out, "   when:     {}", span(first, last))?;
    }
    if let Some(file) = &i.file {
        let place = match i.line {
            Some(line) => format!("{file}:{line}"),
            None => file.clone(),
        };
        writeln!(out, "   where:    {}", st.bold(&place))?;
    }
    if let Some(exception) = &i.exception {
        let language = i.language.map_or("", |l| l.name());
        writeln!(out, "   raised:   {} ({language})", st.bold(exception))?;
    }
    if !i.paths.is_empty() {
        writeln!(out, "   requests: {}", requests_line(i))?;
    }
    match i.evidence.split_first() {
        None => writeln!(
            out,
            "   evidence: {}",
            st.dim("no error-log line near these responses")
        )?,
        Some((first, rest)) => {
            writeln!(out, "   evidence:")?;
            for line in first.lines() {
                writeln!(out, "     {}", st.dim(line))?;
            }
            if !rest.is_empty() {
                let more = format!("({} more record(s) in --format json or html)", rest.len());
                writeln!(out, "     {}", st.dim(&more))?;
            }
        }
    }
    writeln!(out, "   fix:      {}", i.fix)
}

/// The incident's top paths with their counts, and how many more there were.
fn requests_line(i: &Incident) -> String {
    const SHOWN: usize = 5;
    let mut parts: Vec<String> = if i.top_paths.is_empty() {
        i.paths.iter().take(SHOWN).cloned().collect()
    } else {
        i.top_paths
            .iter()
            .take(SHOWN)
            .map(|p| format!("{} ({})", p.path, p.count))
            .collect()
    };
    let more = (i.distinct_paths.max(i.paths.len() as u64)).saturating_sub(parts.len() as u64);
    if more > 0 {
        parts.push(format!("and {more} more"));
    }
    parts.join(" ")
}
