//! One self-contained HTML page (no scripts, no external resources); every piece of log data
//! is escaped.

use std::io::{self, Write};

use crate::diagnose::{Incident, Report};

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

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 1em;color:#222}\
h1{font-size:1.4em}.incident{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;margin:1em 0}\
.cause{font-weight:600}.count{color:#b00020;font-weight:600}pre{background:#f6f6f6;padding:.5em;overflow-x:auto;white-space:pre-wrap}\
table{border-collapse:collapse}td,th{padding:.15em .6em;text-align:left;border-bottom:1px solid #eee}";

/// Writes the report as HTML.
pub fn write(out: &mut impl Write, report: &Report) -> io::Result<()> {
    let s = &report.summary;
    writeln!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
    )?;
    writeln!(
        out,
        "<title>fivehundred: {} server errors</title><style>{STYLE}</style></head><body>",
        s.server_errors
    )?;
    writeln!(
        out,
        "<h1>{} requests, {} server errors, {} incidents</h1>",
        s.requests,
        s.server_errors,
        report.incidents.len()
    )?;
    writeln!(
        out,
        "<table><tr><th>input</th><th>kind</th><th>format</th><th>lines</th><th>unparsed</th></tr>"
    )?;
    for i in &report.inputs {
        writeln!(
            out,
            "<tr><td>{}</td><td>{:?}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&i.path),
            i.kind,
            i.format,
            i.lines,
            i.unparsed
        )?;
    }
    writeln!(out, "</table>")?;
    write_incidents(out, &report.incidents)?;
    if !report.other_errors.is_empty() {
        writeln!(
            out,
            "<h2>Also in the error logs, with no 5xx response in the access logs</h2>"
        )?;
        write_incidents(out, &report.other_errors)?;
    }
    writeln!(out, "</body></html>")
}

fn write_incidents(out: &mut impl Write, incidents: &[Incident]) -> io::Result<()> {
    for inc in incidents {
        let statuses: Vec<String> = inc
            .status
            .iter()
            .map(|(c, n)| format!("{n} × {c}"))
            .collect();
        writeln!(
            out,
            "<div class=\"incident\"><p><span class=\"cause\">{}</span> <code>{}</code> <span class=\"count\">{} ({})</span></p>",
            escape(&inc.title),
            inc.cause,
            inc.count,
            statuses.join(", ")
        )?;
        if let Some(file) = &inc.file {
            let line = inc.line.map(|l| format!(":{l}")).unwrap_or_default();
            writeln!(out, "<p>Where: <code>{}{line}</code></p>", escape(file))?;
        }
        if let (Some(a), Some(b)) = (&inc.first_seen, &inc.last_seen) {
            writeln!(out, "<p>When: {} … {}</p>", escape(a), escape(b))?;
        }
        if !inc.paths.is_empty() {
            let paths: Vec<String> = inc
                .paths
                .iter()
                .map(|p| format!("<code>{}</code>", escape(p)))
                .collect();
            writeln!(out, "<p>Requests: {}</p>", paths.join(" "))?;
        }
        for e in &inc.evidence {
            writeln!(out, "<pre>{}</pre>", escape(e))?;
        }
        writeln!(out, "<p>Fix: {}</p></div>", escape(&inc.fix))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::escape("<script>\"&'"),
            "&lt;script&gt;&quot;&amp;&#39;"
        );
    }
}
