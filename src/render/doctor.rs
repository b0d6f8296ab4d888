//! `doctor`'s text report, read top-down: a count line (and a plain line when no web server
//! was found), then each critical and warning finding with its detail and fix, then one line
//! per finding that passed or was skipped, and last the servers looked for and found.

use std::io::{self, Write};

use super::Style;
use crate::doctor::seen::{self, Presence};
use crate::doctor::{Finding, Report, Status};
use crate::formats::clean_text;

pub fn write(out: &mut impl Write, report: &Report, color: bool) -> io::Result<()> {
    let st = Style { on: color };
    let count = |s: Status| report.checks.iter().filter(|f| f.status == s).count();
    let (crit, warn) = (count(Status::Critical), count(Status::Warning));
    let summary = format!(
        "doctor: {crit} critical, {warn} warning, {} ok, {} skipped",
        count(Status::Ok),
        count(Status::Skipped)
    );
    let painted = if crit > 0 {
        st.red(&summary)
    } else if warn > 0 {
        st.bold(&summary)
    } else {
        st.green(&summary)
    };
    writeln!(out, "{painted}")?;
    if seen::no_web_server(&report.servers) {
        let line =
            "No web server found (neither nginx nor Apache): the checks that need one are skipped.";
        writeln!(out, "{}", st.bold(line))?;
    }
    for f in report.checks.iter().filter(|f| f.status <= Status::Warning) {
        write_problem(out, f, &st)?;
    }
    let rest: Vec<&Finding> = report
        .checks
        .iter()
        .filter(|f| f.status > Status::Warning)
        .collect();
    if !rest.is_empty() {
        writeln!(out)?;
    }
    for f in rest {
        let line = format!(
            "{:<8} {:<20} {}  {}",
            label(f.status),
            f.check,
            clean(&f.subject),
            clean(&f.detail)
        );
        writeln!(out, "{}", st.dim(&line))?;
    }
    write_servers(out, report, &st)
}

/// `servers: nginx found, Apache not found, …`, after a blank line.
fn write_servers(out: &mut impl Write, report: &Report, st: &Style) -> io::Result<()> {
    let looked: Vec<String> = report
        .servers
        .iter()
        .filter(|s| s.status != Presence::NotLookedFor)
        .map(|s| {
            let found = if s.status == Presence::Found {
                "found"
            } else {
                "not found"
            };
            format!("{} {found}", s.name)
        })
        .collect();
    if looked.is_empty() {
        return Ok(());
    }
    let line = format!("servers: {}", looked.join(", "));
    writeln!(out, "\n{}", st.dim(&line))
}

fn write_problem(out: &mut impl Write, f: &Finding, st: &Style) -> io::Result<()> {
    let head = format!("{:<8} {}  {}", label(f.status), f.check, clean(&f.subject));
    let head = if f.status == Status::Critical {
        st.red(&head)
    } else {
        st.bold(&head)
    };
    writeln!(out, "\n{head}")?;
    writeln!(out, "  {}", clean(&f.detail))?;
    if !f.fix.is_empty() {
        writeln!(out, "  {} {}", st.bold("fix:"), clean(&f.fix))?;
    }
    Ok(())
}

fn label(s: Status) -> &'static str {
    match s {
        Status::Critical => "CRITICAL",
        Status::Warning => "WARNING",
        Status::Ok => "ok",
        Status::Skipped => "skipped",
    }
}

/// Paths and command output come from the host: no control sequence reaches the terminal.
fn clean(s: &str) -> String {
    clean_text(s.as_bytes()).replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn critical_first_with_fixes_and_no_escape_sequences() {
        let report = Report {
            version: 1,
            servers: Vec::new(),
            checks: vec![
                Finding::new("php_display_errors", Status::Critical, "pool www")
                    .detail("display_errors is 1")
                    .fix("Set display_errors = Off"),
                Finding::new("disk_space", Status::Ok, "/srv/\x1b[31mevil").detail("10% used"),
            ],
        };
        let mut out = Vec::new();
        write(&mut out, &report, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("doctor: 1 critical, 0 warning, 1 ok, 0 skipped\n"),
            "{text}"
        );
        assert!(text.contains("CRITICAL php_display_errors  pool www\n  display_errors is 1\n  fix: Set display_errors = Off"), "{text}");
        assert!(!text.contains('\x1b'), "{text}");
        assert!(text.find("CRITICAL") < text.find("ok "), "{text}");
    }
}
