//! The text report: a one-line summary, then each incident with its cause in words, where,
//! the evidence and the fix. Log data in it has had terminal control sequences removed by the
//! parsers; colour is added only when asked (on a terminal).

use std::io::{self, Write};
use std::path::PathBuf;

use super::{Style, write_defaults, write_inputs};
use crate::diagnose::{Incident, Report};
use crate::formats::Kind;

/// Writes the report. `defaults` names the usual places read when no path was given.
pub fn write(
    out: &mut impl Write,
    report: &Report,
    defaults: Option<&[PathBuf]>,
    color: bool,
) -> io::Result<()> {
    let st = Style { on: color };
    write_defaults(out, defaults, &st)?;
    write_inputs(out, &report.inputs, &st)?;
    if let Some(scope) = report.scope.summary() {
        writeln!(out, "{}", st.dim(&scope))?;
    }
    writeln!(out, "{}", summary_line(report, &st))?;
    for (n, incident) in report.incidents.iter().enumerate() {
        writeln!(out)?;
        write_incident(out, n + 1, incident, &st)?;
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
            write_incident(out, n + 1, incident, &st)?;
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
        let span = if first == last {
            first.clone()
        } else {
            format!("{first} … {last}")
        };
        writeln!(out, "   when:     {span}")?;
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
        writeln!(out, "   requests: {}", i.paths.join(" "))?;
    }
    if i.evidence.is_empty() {
        writeln!(
            out,
            "   evidence: {}",
            st.dim("no error-log line near these responses")
        )?;
    } else {
        writeln!(out, "   evidence:")?;
        for e in &i.evidence {
            for line in e.lines() {
                writeln!(out, "     {}", st.dim(line))?;
            }
        }
    }
    writeln!(out, "   fix:      {}", i.fix)
}
