//! What `watch` knows at any moment, shared by the pipeline that updates it, the store that
//! keeps it across restarts, the HTTP endpoints that show it and the sinks that send alerts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::detect::{Alert, AlertStatus};

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

/// 5xx responses of one cause in one minute, for the dashboard's chart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelinePoint {
    pub cause: String,
    /// The minute's start, in the log's offset.
    pub at: crate::formats::Stamp,
    pub count: u64,
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
