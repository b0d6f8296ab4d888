//! The JSON views of `/api/history` and `/api/overview`, computed from a [`Snapshot`]. The
//! dashboard renders the very same values, so what a person reads there is what a script
//! reads here (the browser tests compare the two).

use std::collections::BTreeMap;

use serde::Serialize;

use super::Snapshot;
use crate::formats::Stamp;
use crate::watch::live::{IncidentState, Series};

/// `/api/history`: the minutes the chart covers, oldest first.
#[derive(Debug, PartialEq, Serialize)]
pub struct HistoryView {
    pub minutes: Vec<MinuteView>,
}

/// One minute: responses by status class (`2xx`…) and explained 5xx by cause.
#[derive(Debug, PartialEq, Serialize)]
pub struct MinuteView {
    /// The minute's start, RFC 3339 in the log's offset.
    pub at: String,
    pub class: BTreeMap<String, u64>,
    pub cause: BTreeMap<String, u64>,
}

/// `/api/overview`: the figures of the dashboard's overview row, and its top paths.
#[derive(Debug, PartialEq, Serialize)]
pub struct OverviewView {
    /// Responses counted since the logs began.
    pub requests: u64,
    /// Of them, 5xx.
    pub server_errors: u64,
    /// `server_errors` in percent of `requests`, to two decimals (as the page shows it).
    pub server_error_percent: f64,
    /// Incidents opened since the logs began, and those open now.
    pub incidents: u64,
    pub open_incidents: u64,
    /// Hosts that got 5xx, where the access log names the host.
    pub hosts: u64,
    /// The oldest and newest response read, RFC 3339 in the log's offset.
    pub first_line: Option<String>,
    pub last_line: Option<String>,
    /// 5xx by crawler (`Googlebot`, `Bingbot`).
    pub crawlers: BTreeMap<String, u64>,
    /// The most failing paths (after their host, where the log names one), most first.
    pub top_paths: Vec<PathCount>,
}

#[derive(Debug, PartialEq, Serialize)]
pub struct PathCount {
    pub path: String,
    pub count: u64,
}

/// The snapshot's history as `/api/history` gives it.
pub fn history(s: &Snapshot) -> HistoryView {
    let mut minutes: BTreeMap<i64, MinuteView> = BTreeMap::new();
    for ((ms, series), &(offset, n)) in &s.history.minutes {
        let minute = minutes.entry(*ms).or_insert_with(|| MinuteView {
            at: Stamp { ms: *ms, offset }.rfc3339(),
            class: BTreeMap::new(),
            cause: BTreeMap::new(),
        });
        let into = match series {
            Series::Class(_) => &mut minute.class,
            Series::Cause(_) => &mut minute.cause,
        };
        into.insert(series.parts().1, n);
    }
    HistoryView {
        minutes: minutes.into_values().collect(),
    }
}

/// The snapshot's overview figures as `/api/overview` gives them.
pub fn overview(s: &Snapshot) -> OverviewView {
    let responses = &s.counters.responses;
    let requests = responses.values().sum();
    let server_errors = responses.range(500..600).map(|(_, n)| n).sum();
    let o = &s.overview;
    OverviewView {
        requests,
        server_errors,
        server_error_percent: percent(server_errors, requests),
        incidents: s.counters.incidents.values().sum(),
        open_incidents: s
            .incidents
            .iter()
            .filter(|i| i.state == IncidentState::Open)
            .count() as u64,
        hosts: o.hosts,
        first_line: o.span.map(|(first, _)| first.rfc3339()),
        last_line: o.span.map(|(_, last)| last.rfc3339()),
        crawlers: o.crawlers.clone(),
        top_paths: o
            .top_paths
            .iter()
            .map(|(path, count)| PathCount {
                path: path.clone(),
                count: *count,
            })
            .collect(),
    }
}

/// `part` in percent of `whole`, rounded to two decimals (0 of nothing).
pub fn percent(part: u64, whole: u64) -> f64 {
    (part as f64 * 10_000.0 / whole.max(1) as f64).round() / 100.0
}
