//! The text report's one-screen layout, the default on a terminal: a big site's bad day (a
//! few thousand 5xx, six vhosts, five causes) in about fifty lines of summary plus incidents
//! worth reading (issue 19). What it does to fit:
//!
//! 1. Each incident in three to five lines: its title and counts; its host, span, place and
//!    exception packed into as few lines as the width allows; its top paths as many as fit
//!    one line, "and N more"; the fix, wrapped. No evidence (the full layout, the HTML and the
//!    JSON have it).
//! 2. The `unknown` incidents of several hosts folded into one entry that names the hosts:
//!    they carry no evidence, so one host's differs from another's only in its paths.
//! 3. A fix already written for an entry above is "as in N.", not said again.
//! 4. `--limit` counts entries (default [`SCREEN_LIMIT`]); the rest are counted in one line.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::Style;
use super::summary::span;
use crate::diagnose::rules::UNKNOWN;
use crate::diagnose::{Incident, Report};

/// Entries shown when `--limit` is not given: with the summary and the table by cause above
/// them, about fifty lines.
pub const SCREEN_LIMIT: usize = 6;

/// Width used when the output is not a terminal (or its width cannot be read).
pub const DEFAULT_WIDTH: usize = 100;

/// One entry of the layout: an incident, or the `unknown` incidents of several hosts.
struct Entry<'a> {
    incidents: Vec<&'a Incident>,
}

impl<'a> Entry<'a> {
    fn count(&self) -> u64 {
        self.incidents.iter().map(|i| i.count).sum()
    }

    fn first(&self) -> &'a Incident {
        self.incidents[0]
    }
}

/// Writes the incidents (the summary and table by cause are already written): at most
/// `limit` entries (0: all), each fitted to `width` columns.
pub(super) fn write_incidents(
    out: &mut impl Write,
    report: &Report,
    st: &Style,
    limit: usize,
    width: usize,
) -> io::Result<()> {
    let entries = entries(&report.incidents);
    if entries.is_empty() {
        return Ok(());
    }
    let shown = if limit == 0 {
        entries.len()
    } else {
        limit.min(entries.len())
    };
    let mut fixes: Vec<&str> = Vec::new();
    for (n, entry) in entries[..shown].iter().enumerate() {
        writeln!(out)?;
        write_entry(out, n + 1, entry, &mut fixes, st, width)?;
    }
    writeln!(out)?;
    let rest = &entries[shown..];
    if !rest.is_empty() {
        let incidents: usize = rest.iter().map(|e| e.incidents.len()).sum();
        let responses: u64 = rest.iter().map(Entry::count).sum();
        let line = format!(
            "… and {incidents} more incident(s) ({responses} responses): --limit 0 shows all"
        );
        writeln!(out, "{}", st.bold(&line))?;
    }
    let hint =
        "Evidence and every path: --layout full (the default when piped), --format json or html";
    writeln!(out, "{}", st.dim(hint))
}

/// The incidents as entries, worst first, the `unknown` ones of several hosts folded into one
/// (placed by its summed count; the others keep the report's order).
fn entries(incidents: &[Incident]) -> Vec<Entry<'_>> {
    let (unknown, known): (Vec<&Incident>, Vec<&Incident>) =
        incidents.iter().partition(|i| i.cause == UNKNOWN);
    let mut entries: Vec<Entry> = known
        .into_iter()
        .map(|i| Entry { incidents: vec![i] })
        .collect();
    if unknown.len() == 1 || unknown.iter().all(|i| i.host.is_none()) {
        entries.extend(unknown.into_iter().map(|i| Entry { incidents: vec![i] }));
    } else if !unknown.is_empty() {
        entries.push(Entry { incidents: unknown });
    }
    // A stable sort: equal counts keep the report's order.
    entries.sort_by_key(|e| std::cmp::Reverse(e.count()));
    entries
}

fn write_entry<'a>(
    out: &mut impl Write,
    n: usize,
    entry: &Entry<'a>,
    fixes: &mut Vec<&'a str>,
    st: &Style,
    width: usize,
) -> io::Result<()> {
    let first = entry.first();
    writeln!(
        out,
        "{n}. {} [{}]: {}",
        st.bold(&first.title),
        first.cause,
        st.red(&statuses(entry))
    )?;
    for line in pack(&facts(entry, width), width) {
        writeln!(out, "   {line}")?;
    }
    if let Some(paths) = paths_line(entry, width) {
        writeln!(out, "   {paths}")?;
    }
    let fix = match fixes.iter().position(|f| *f == first.fix) {
        Some(at) => format!("fix: as in {}.", at + 1),
        None => format!("fix: {}", first.fix),
    };
    // Entries are numbered from 1 in the order written: the n-th fix seen is entry n's.
    fixes.push(&first.fix);
    for line in wrap(&fix, width.saturating_sub(3), "     ") {
        writeln!(out, "   {line}")?;
    }
    Ok(())
}

/// `66 × 500, 51 × 502` over the entry's incidents (or `N event(s)` without responses).
fn statuses(entry: &Entry) -> String {
    let mut by_status: BTreeMap<&str, u64> = BTreeMap::new();
    for i in &entry.incidents {
        for (code, k) in &i.status {
            *by_status.entry(code).or_default() += k;
        }
    }
    if by_status.is_empty() {
        return format!("{} event(s)", entry.count());
    }
    let parts: Vec<String> = by_status
        .iter()
        .map(|(code, k)| format!("{k} × {code}"))
        .collect();
    parts.join(", ")
}

/// Where and when: the host (or the folded hosts with their counts, as many as fit), the
/// span, the place the evidence names and the exception raised.
fn facts(entry: &Entry, width: usize) -> Vec<String> {
    let mut facts = Vec::new();
    if entry.incidents.len() > 1 {
        let hosts: Vec<String> = entry
            .incidents
            .iter()
            .map(|i| format!("{} ({})", i.host.as_deref().unwrap_or("no host"), i.count))
            .collect();
        let head = format!("on {} hosts:", hosts.len());
        facts.push(fit_list(&head, &hosts, ",", hosts.len() as u64, width));
    } else if let Some(host) = &entry.first().host {
        facts.push(host.clone());
    }
    let first = entry
        .incidents
        .iter()
        .filter_map(|i| i.first_seen.as_deref())
        .min_by_key(|t| instant(t));
    let last = entry
        .incidents
        .iter()
        .filter_map(|i| i.last_seen.as_deref())
        .max_by_key(|t| instant(t));
    if let (Some(a), Some(b)) = (first, last) {
        facts.push(span(a, b));
    }
    let i = entry.first();
    if let Some(file) = &i.file {
        facts.push(match i.line {
            Some(line) => format!("at {file}:{line}"),
            None => format!("at {file}"),
        });
    }
    if let Some(exception) = &i.exception {
        facts.push(format!("raised {exception}"));
    }
    facts
}

fn instant(rfc3339: &str) -> Option<jiff::Timestamp> {
    rfc3339.parse().ok()
}

/// The entry's top paths (with their hosts when folded), as many as fit one line, and how many
/// more there were.
fn paths_line(entry: &Entry, width: usize) -> Option<String> {
    let folded = entry.incidents.len() > 1;
    let mut top: Vec<(String, u64)> = Vec::new();
    let mut distinct = 0;
    for i in &entry.incidents {
        distinct += i.distinct_paths.max(i.paths.len() as u64);
        for p in &i.top_paths {
            let name = match &i.host {
                Some(host) if folded => format!("{host}{}", p.path),
                _ => p.path.clone(),
            };
            top.push((name, p.count));
        }
    }
    if top.is_empty() {
        return None;
    }
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let items: Vec<String> = top.iter().map(|(p, n)| format!("{p} ({n})")).collect();
    Some(fit_list("paths:", &items, "", distinct, width))
}

/// `head` and as many of `items` (joined by `sep` and a space) as fit a line of `width`
/// columns after the indent, at least one, then "and N more" of the `total`.
fn fit_list(head: &str, items: &[String], sep: &str, total: u64, width: usize) -> String {
    let room = width.saturating_sub(3 + " and 999999 more".len());
    let mut line = head.to_owned();
    let mut shown = 0u64;
    for item in items {
        let lead = if shown == 0 { "" } else { sep };
        if shown > 0 && columns(&line) + columns(lead) + 1 + columns(item) > room {
            break;
        }
        line.push_str(lead);
        line.push(' ');
        line.push_str(item);
        shown += 1;
    }
    let more = total.saturating_sub(shown);
    if more > 0 {
        line.push_str(&format!(" and {more} more"));
    }
    line
}

/// Packs short facts into lines of at most `width` columns (less the indent), two spaces
/// between facts; a fact longer than a line gets one of its own.
fn pack(facts: &[String], width: usize) -> Vec<String> {
    let room = width.saturating_sub(3);
    let mut lines: Vec<String> = Vec::new();
    for fact in facts {
        match lines.last_mut() {
            Some(line) if columns(line) + 2 + columns(fact) <= room => {
                line.push_str("  ");
                line.push_str(fact);
            }
            _ => lines.push(fact.clone()),
        }
    }
    lines
}

/// Words wrapped at `room` columns, the lines after the first indented.
pub(super) fn wrap(text: &str, room: usize, indent: &str) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let line = lines.last_mut().expect("one line at least");
        if line.trim().is_empty() || columns(line) + 1 + columns(word) <= room {
            if !line.trim().is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        } else {
            lines.push(format!("{indent}{word}"));
        }
    }
    lines
}

/// Columns a string takes on a terminal, near enough: its characters.
fn columns(s: &str) -> usize {
    s.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_are_packed_into_the_width_and_words_wrapped() {
        let facts = ["a".repeat(40), "b".repeat(40), "c".repeat(40)];
        let lines = pack(&facts, 100);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0].len(), 82);
        let wrapped = wrap("fix: one two three four", 12, "  ");
        assert_eq!(wrapped, ["fix: one two", "  three four"]);
        assert!(
            wrap(&"x".repeat(30), 10, " ").len() == 1,
            "a long word stays whole"
        );
    }
}
