//! What the text and HTML reports show before the incidents, computed once for both: the
//! table by cause, the split by virtual host, and the one way times are written.

use std::collections::BTreeMap;

use crate::diagnose::{Incident, PathCount, Report};

/// Incidents shown by the text report's full layout (pipes, files) when `--limit` is not
/// given; the one-screen layout has its own, [`super::screen::SCREEN_LIMIT`].
pub const TEXT_LIMIT: usize = 10;

/// Incidents shown by the HTML report when `--limit` is not given: a page for a million 5xx
/// stays small; the rest are counted in one line.
pub const HTML_LIMIT: usize = 50;

/// A time as every report writes it: `2026-11-25 09:40:03 +00:00`, in the offset its log line
/// carried (the logs' zone). Anything not RFC 3339 is shown as it is.
pub fn when(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..19), rfc3339.get(19..)) {
        (Some(date), Some(time), Some(zone)) if rfc3339.as_bytes()[10] == b'T' => {
            let zone = if zone == "Z" { "+00:00" } else { zone };
            format!("{date} {time} {zone}")
        }
        _ => rfc3339.to_owned(),
    }
}

/// A span `first … last`, the date and zone of `last` left out where they repeat `first`'s.
pub fn span(first: &str, last: &str) -> String {
    let (a, b) = (when(first), when(last));
    if a == b {
        return a;
    }
    let same_day = a.get(..10) == b.get(..10) && a.get(19..) == b.get(19..);
    match b.get(11..19) {
        Some(time) if same_day => format!("{a} … {time}"),
        _ => format!("{a} … {b}"),
    }
}

/// One row of the table by cause.
#[derive(Debug)]
pub struct CauseRow<'a> {
    pub cause: &'static str,
    pub title: &'a str,
    pub count: u64,
    pub incidents: usize,
    pub first_seen: Option<&'a str>,
    pub last_seen: Option<&'a str>,
    /// The path with the most 5xx among the cause's incidents (with its host).
    pub top_path: Option<PathCount>,
}

/// The incidents summed by cause, most responses first.
pub fn by_cause(incidents: &[Incident]) -> Vec<CauseRow<'_>> {
    let mut rows: Vec<CauseRow> = Vec::new();
    for i in incidents {
        let at = match rows.iter().position(|r| r.cause == i.cause) {
            Some(at) => at,
            None => {
                rows.push(CauseRow {
                    cause: i.cause,
                    title: &i.title,
                    count: 0,
                    incidents: 0,
                    first_seen: None,
                    last_seen: None,
                    top_path: None,
                });
                rows.len() - 1
            }
        };
        let row = &mut rows[at];
        row.count += i.count;
        row.incidents += 1;
        row.first_seen = earliest(row.first_seen, i.first_seen.as_deref(), false);
        row.last_seen = earliest(row.last_seen, i.last_seen.as_deref(), true);
        if let Some(top) = i.top_paths.first()
            && row.top_path.as_ref().is_none_or(|t| top.count > t.count)
        {
            row.top_path = Some(PathCount {
                host: i.host.clone(),
                ..top.clone()
            });
        }
    }
    rows.sort_by(|a, b| b.count.cmp(&a.count).then(a.cause.cmp(b.cause)));
    rows
}

/// The earlier of two RFC 3339 times (the later with `latest`), compared as instants.
fn earliest<'a>(a: Option<&'a str>, b: Option<&'a str>, latest: bool) -> Option<&'a str> {
    let instant = |s: &str| s.parse::<jiff::Timestamp>().ok();
    match (a, b) {
        (Some(x), Some(y)) => {
            let later = instant(y) > instant(x);
            Some(if later == latest { y } else { x })
        }
        (x, y) => x.or(y),
    }
}

/// One row of the table by virtual host.
#[derive(Debug, Default)]
pub struct HostRow<'a> {
    pub count: u64,
    pub incidents: usize,
    /// The cause with the most 5xx on the host.
    pub top_cause: Option<(&'static str, u64)>,
    pub first_seen: Option<&'a str>,
    pub last_seen: Option<&'a str>,
}

/// The incidents summed by virtual host (those without one under `None`), most 5xx first.
pub fn by_host(incidents: &[Incident]) -> Vec<(Option<&str>, HostRow<'_>)> {
    let mut hosts: BTreeMap<Option<&str>, (HostRow, BTreeMap<&'static str, u64>)> = BTreeMap::new();
    for i in incidents {
        let (row, causes) = hosts.entry(i.host.as_deref()).or_default();
        row.count += i.count;
        row.incidents += 1;
        row.first_seen = earliest(row.first_seen, i.first_seen.as_deref(), false);
        row.last_seen = earliest(row.last_seen, i.last_seen.as_deref(), true);
        *causes.entry(i.cause).or_default() += i.count;
    }
    let mut rows: Vec<(Option<&str>, HostRow)> = hosts
        .into_iter()
        .map(|(host, (mut row, causes))| {
            row.top_cause = causes
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)));
            (host, row)
        })
        .collect();
    rows.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(&b.0)));
    rows
}

/// The incidents a report shows under `limit` (0: all), and what the rest add up to:
/// `(shown, hidden incidents, their responses)`.
pub fn limited(report: &Report, limit: usize) -> (&[Incident], usize, u64) {
    let all = &report.incidents;
    let n = if limit == 0 {
        all.len()
    } else {
        limit.min(all.len())
    };
    let rest = &all[n..];
    (&all[..n], rest.len(), rest.iter().map(|i| i.count).sum())
}

/// A share in percent, one decimal.
pub fn percent(part: u64, whole: u64) -> String {
    format!("{:.1}%", part as f64 * 100.0 / whole.max(1) as f64)
}

/// A path with its host in front, as people read a URL without its scheme.
pub fn host_path(p: &PathCount) -> String {
    match &p.host {
        Some(h) => format!("{h}{}", p.path),
        None => p.path.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_one_way_in_their_own_zone() {
        assert_eq!(
            when("2026-11-25T09:40:03+01:00"),
            "2026-11-25 09:40:03 +01:00"
        );
        assert_eq!(when("garbage"), "garbage");
        assert_eq!(
            span("2026-11-25T09:40:03+00:00", "2026-11-25T11:09:58+00:00"),
            "2026-11-25 09:40:03 +00:00 … 11:09:58"
        );
        assert_eq!(
            span("2026-11-25T23:59:00+00:00", "2026-11-26T00:01:00+00:00"),
            "2026-11-25 23:59:00 +00:00 … 2026-11-26 00:01:00 +00:00"
        );
    }

    #[test]
    fn instants_not_texts_decide_which_time_is_first() {
        // 10:00 at +02:00 is 08:00 UTC: before 09:00 UTC.
        let (a, b) = ("2026-11-25T09:00:00+00:00", "2026-11-25T10:00:00+02:00");
        assert_eq!(earliest(Some(a), Some(b), false), Some(b));
        assert_eq!(earliest(Some(a), Some(b), true), Some(a));
        assert_eq!(earliest(None, Some(a), true), Some(a));
    }
}
