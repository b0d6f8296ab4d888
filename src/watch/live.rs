//! What `watch` knows at any moment, shared by the pipeline that updates it, the store that
//! keeps it across restarts, the HTTP endpoints that show it and the sinks that send alerts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::detect::{Alert, AlertStatus};
use crate::formats::Stamp;

/// The counters behind `/metrics`; they only grow, and survive restarts (the store keeps
/// them with the tail checkpoint, in one transaction, so no line counts twice).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// `fivehundred_responses_total{code}`: access-log responses by status.
    pub responses: BTreeMap<u16, u64>,
    /// `fivehundred_log_lines_total{kind,result}`: lines by input kind (`access`, `error`,
    /// `php_fpm`, `php_error`, `unknown`) and `parsed` / `unparsed`.
    pub lines: BTreeMap<(String, String), u64>,
    /// `fivehundred_incidents_total{cause}`: incidents opened.
    pub incidents: BTreeMap<String, u64>,
    /// `fivehundred_alerts_total{alert}`: firing notifications sent.
    pub alerts: BTreeMap<String, u64>,
}

impl Counters {
    /// Adds `other` (a batch's counts) to these.
    pub fn add(&mut self, other: &Counters) {
        fn add_map<K: Ord + Clone>(into: &mut BTreeMap<K, u64>, from: &BTreeMap<K, u64>) {
            for (k, n) in from {
                *into.entry(k.clone()).or_default() += n;
            }
        }
        add_map(&mut self.responses, &other.responses);
        add_map(&mut self.lines, &other.lines);
        add_map(&mut self.incidents, &other.incidents);
        add_map(&mut self.alerts, &other.alerts);
    }
}

/// Open while its responses keep coming; resolved after a quiet spell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    Open,
    Resolved,
}

/// An incident in `diagnose`'s JSON shape, with its id and state (`/api/incidents`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveIncident {
    pub id: i64,
    pub state: IncidentState,
    pub cause: String,
    pub status: BTreeMap<String, u64>,
    pub count: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub paths: Vec<String>,
    pub file: Option<String>,
    pub line: Option<u64>,
    /// As `diagnose`'s: the application's language and the exception class, for causes
    /// read from an application server's log (absent from incidents stored before them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
    pub evidence: Vec<String>,
    pub fix: String,
    pub title: String,
    /// The virtual host, where the logs name one: as in `diagnose`, the same failure on two
    /// hosts is two incidents (absent from incidents stored before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// What one of [`History`]'s counts is of.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Series {
    /// Responses of a status class, by its first digit (5 for `5xx`; 0 for nginx's `000`).
    Class(u8),
    /// 5xx responses explained by a cause (`unknown` for those no log explains).
    Cause(String),
}

impl Series {
    /// How the store and `/api/history` name the series' kind and key (`class`, `5xx`;
    /// `cause`, `fpm_down`).
    pub fn parts(&self) -> (&'static str, String) {
        match self {
            Series::Class(digit) => ("class", format!("{digit}xx")),
            Series::Cause(cause) => ("cause", cause.clone()),
        }
    }

    /// The series of [`Series::parts`]; `None` for names this build does not write.
    pub fn from_parts(kind: &str, key: &str) -> Option<Series> {
        match kind {
            "class" => {
                let digit = key.strip_suffix("xx")?;
                (digit.len() == 1).then_some(())?;
                Some(Series::Class(digit.parse().ok()?))
            }
            "cause" => Some(Series::Cause(key.to_owned())),
            _ => None,
        }
    }
}

/// The dashboard's history: counts per minute and [`Series`], the log's offset kept with each
/// minute (for the chart's clock). A batch carries the counts to add, the store keeps them
/// all (pruned after [`HISTORY_MS`]), the dashboard shows the last day.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// (minute start in UTC ms, series) → (UTC offset in seconds, count).
    pub minutes: BTreeMap<(i64, Series), (i32, u64)>,
}

/// How long the store keeps minutes, back from its newest: a week of minutes.
pub const HISTORY_MS: i64 = 7 * 24 * 3_600_000;

impl History {
    /// Counts `n` of `series` in the minute of `at`.
    pub fn count(&mut self, at: Stamp, series: Series, n: u64) {
        let minute = at.ms.div_euclid(60_000) * 60_000;
        self.minutes
            .entry((minute, series))
            .or_insert((at.offset, 0))
            .1 += n;
    }

    /// Adds `other` (a later batch's counts) to these.
    pub fn add(&mut self, other: &History) {
        for (key, &(offset, n)) in &other.minutes {
            self.minutes.entry(key.clone()).or_insert((offset, 0)).1 += n;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.minutes.is_empty()
    }

    /// The explained 5xx by minute and cause, for the chart.
    pub fn causes(&self) -> impl Iterator<Item = (&str, Stamp, u64)> {
        self.minutes
            .iter()
            .filter_map(|((ms, series), &(offset, n))| match series {
                Series::Cause(cause) => Some((cause.as_str(), Stamp { ms: *ms, offset }, n)),
                Series::Class(_) => None,
            })
    }

    /// The responses of each status class (by first digit) over all minutes.
    pub fn classes(&self) -> BTreeMap<u8, u64> {
        let mut by = BTreeMap::new();
        for ((_, series), &(_, n)) in &self.minutes {
            if let Series::Class(digit) = series {
                *by.entry(*digit).or_default() += n;
            }
        }
        by
    }
}

/// What the 5xx were beyond their minute, for the dashboard's overview and top paths: counts
/// by path (with its virtual host in front where the log names one), by host, and by the
/// crawler that got them; and the time span of the lines read. A batch carries what to add.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Failing {
    pub paths: BTreeMap<String, u64>,
    pub hosts: BTreeMap<String, u64>,
    pub crawlers: BTreeMap<String, u64>,
    /// The oldest and newest line time seen.
    pub span: Option<(Stamp, Stamp)>,
}

impl Failing {
    /// Adds `other` (a later batch's) to this.
    pub fn add(&mut self, other: &Failing) {
        for (into, from) in [
            (&mut self.paths, &other.paths),
            (&mut self.hosts, &other.hosts),
            (&mut self.crawlers, &other.crawlers),
        ] {
            for (k, n) in from {
                *into.entry(k.clone()).or_default() += n;
            }
        }
        if let Some((first, last)) = other.span {
            self.widen(first);
            self.widen(last);
        }
    }

    /// Takes a line's time into the span.
    pub fn widen(&mut self, at: Stamp) {
        self.span = Some(match self.span {
            Some((first, last)) => (first.min(at), last.max(at)),
            None => (at, at),
        });
    }

    pub fn is_empty(&self) -> bool {
        *self == Failing::default()
    }
}

/// One alert as sinks send it: the spec's webhook JSON, with `text` for chat webhooks.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Notification {
    pub alert: &'static str,
    pub status: AlertStatus,
    pub severity: &'static str,
    pub summary: String,
    pub incident: Option<LiveIncident>,
    /// RFC 3339, the log time it fired or resolved at.
    pub at: String,
    /// The rule that fired (`spike`, `slo_burn`), where the alert has several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
    /// For chat tools (Slack, Mattermost, Rocket.Chat read `text`).
    pub text: String,
}

impl Notification {
    pub fn new(alert: &Alert, incident: Option<LiveIncident>) -> Notification {
        let mark = match alert.status {
            AlertStatus::Firing => "FIRING",
            AlertStatus::Resolved => "RESOLVED",
        };
        Notification {
            alert: alert.alert,
            status: alert.status,
            severity: alert.severity,
            summary: alert.summary.clone(),
            incident,
            at: alert.at.rfc3339(),
            rule: alert.rule,
            text: format!(
                "[{mark}] {} ({}): {}",
                alert.alert, alert.severity, alert.summary
            ),
        }
    }

    /// What makes two notifications the same alert (Alertmanager's labels, the outbox's
    /// de-duplication): its name, rule and cause.
    pub fn key(&self) -> String {
        let cause = self.incident.as_ref().map_or("", |i| i.cause.as_str());
        format!("{}/{}/{}", self.alert, self.rule.unwrap_or(""), cause)
    }
}
