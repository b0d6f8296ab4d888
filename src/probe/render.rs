//! The probe report for a person: what leaked, where, and the one-line fix for that stack,
//! worst target first. Every string that came from a response is cleaned of control
//! characters before it reaches the terminal.

use std::io::{self, Write};

use super::detect::clean;
use super::signatures::Severity;
use super::{Report, Target};
use crate::render::Style;

/// Writes the report.
pub fn write(out: &mut impl Write, report: &Report, color: bool) -> io::Result<()> {
    let st = Style { on: color };
    writeln!(out, "{}", st.bold(&summary(report)))?;
    let mut targets: Vec<&Target> = report.targets.iter().collect();
    // Worst first; no finding sorts after `info`, a failed target last.
    targets.sort_by_key(|t| (t.error.is_some(), t.worst().map_or(4, |s| s as u8)));
    for t in targets {
        writeln!(out)?;
        write_target(out, t, &st)?;
    }
    Ok(())
}

fn summary(report: &Report) -> String {
    let count = |s: Severity| {
        report
            .targets
            .iter()
            .flat_map(|t| &t.findings)
            .filter(|f| f.severity == s)
            .count()
    };
    let failed = report.targets.iter().filter(|t| t.error.is_some()).count();
    let mut line = format!(
        "probed {} URL(s): {} high, {} medium, {} low finding(s)",
        report.targets.len(),
        count(Severity::High),
        count(Severity::Medium),
        count(Severity::Low)
    );
    if failed > 0 {
        line.push_str(&format!("; {failed} could not be fetched"));
    }
    line
}

fn write_target(out: &mut impl Write, t: &Target, st: &Style) -> io::Result<()> {
    let url = clean(&t.url);
    if let Some(e) = &t.error {
        return writeln!(
            out,
            "{} {}",
            st.bold(&url),
            st.red(&format!("could not be fetched: {}", clean(e)))
        );
    }
    let status = t.status.map_or_else(|| "-".to_owned(), |s| s.to_string());
    let verdict = if t.findings.is_empty() {
        format!(" {}", st.green("nothing leaked"))
    } else {
        String::new()
    };
    writeln!(out, "{} (status {status}){verdict}", st.bold(&url))?;
    let mut fixes_shown: Vec<&str> = Vec::new();
    for f in &t.findings {
        let sev = format!("{:<6}", f.severity.id());
        let sev = if f.severity.fails() {
            st.red(&sev)
        } else {
            st.dim(&sev)
        };
        writeln!(
            out,
            "  {sev} {} in {} ({}; request {}, status {})",
            f.category.id(),
            clean(&f.place),
            f.stack,
            f.request,
            f.status
        )?;
        writeln!(out, "         {}", clean(&f.excerpt))?;
        if !fixes_shown.contains(&f.fix.as_str()) {
            fixes_shown.push(&f.fix);
            writeln!(out, "         fix: {}", f.fix)?;
        }
    }
    for r in &t.failed_requests {
        let line = format!("  request {} got no answer: {}", r.request, clean(&r.error));
        writeln!(out, "{}", st.dim(&line))?;
    }
    Ok(())
}
