//! The probe report for a person, one site at a time (worst first): each leak once, with the
//! URLs it was seen on and the one-line fix for that stack, then the URLs that leaked nothing
//! or could not be fetched. Every string that came from a response is cleaned of control
//! characters before it reaches the terminal.

use std::io::{self, Write};

use super::detect::clean;
use super::group::{SiteFinding, sites, target_site};
use super::signatures::Severity;
use super::{Report, Target};
use crate::render::Style;

/// URLs listed under a finding; the rest are counted.
const URLS_SHOWN: usize = 5;

/// Writes the report.
pub fn write(out: &mut impl Write, report: &Report, color: bool) -> io::Result<()> {
    let st = Style { on: color };
    writeln!(out, "{}", st.bold(&summary(report)))?;
    let mut sites = sites(&report.targets);
    // Worst first; a site without findings sorts after `info`.
    let worst = |site: &String| {
        report
            .findings
            .iter()
            .filter(|f| &f.site == site)
            .map(|f| f.first.severity as u8)
            .min()
            .unwrap_or(4)
    };
    sites.sort_by_key(worst);
    for site in &sites {
        writeln!(out)?;
        write_site(out, report, site, &st)?;
    }
    Ok(())
}

fn summary(report: &Report) -> String {
    let count = |s: Severity| {
        report
            .findings
            .iter()
            .filter(|f| f.first.severity == s)
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

fn write_site(out: &mut impl Write, report: &Report, site: &str, st: &Style) -> io::Result<()> {
    writeln!(out, "{}", st.bold(&clean(site)))?;
    let mut fixes_shown: Vec<&str> = Vec::new();
    for f in report.findings.iter().filter(|f| f.site == site) {
        write_finding(out, f, !fixes_shown.contains(&f.first.fix.as_str()), st)?;
        fixes_shown.push(&f.first.fix);
    }
    let targets = report.targets.iter().filter(|t| target_site(t) == site);
    for t in targets {
        write_target_line(out, t, st)?;
    }
    Ok(())
}

fn write_finding(
    out: &mut impl Write,
    seen: &SiteFinding,
    fix: bool,
    st: &Style,
) -> io::Result<()> {
    let f = &seen.first;
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
    writeln!(out, "         on {}", url_list(&seen.urls))?;
    if fix {
        writeln!(out, "         fix: {}", f.fix)?;
    }
    Ok(())
}

/// `a, b and 3 more`.
fn url_list(urls: &[String]) -> String {
    let shown: Vec<String> = urls.iter().take(URLS_SHOWN).map(|u| clean(u)).collect();
    let mut line = shown.join(", ");
    if urls.len() > URLS_SHOWN {
        line.push_str(&format!(" and {} more", urls.len() - URLS_SHOWN));
    }
    line
}

/// A URL that leaked nothing or could not be fetched, and its requests that got no answer.
fn write_target_line(out: &mut impl Write, t: &Target, st: &Style) -> io::Result<()> {
    let url = clean(&t.url);
    if let Some(e) = &t.error {
        let why = format!("could not be fetched: {}", clean(e));
        return writeln!(out, "  {url} {}", st.red(&why));
    }
    if t.findings.is_empty() {
        let status = t.status.map_or_else(|| "-".to_owned(), |s| s.to_string());
        writeln!(
            out,
            "  {url} (status {status}) {}",
            st.green("nothing leaked")
        )?;
    }
    for r in &t.failed_requests {
        let line = format!(
            "  request {} of {url} got no answer: {}",
            r.request,
            clean(&r.error)
        );
        writeln!(out, "{}", st.dim(&line))?;
    }
    Ok(())
}
