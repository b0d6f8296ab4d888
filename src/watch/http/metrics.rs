//! `/metrics` in the Prometheus text exposition format, version 0.0.4: the spec's counters
//! (names exactly as `shared/spec/cli.md` gives them) plus a few gauges for dashboards and
//! alerting rules.

use std::collections::BTreeMap;
use std::fmt::Display;

use super::Snapshot;
use crate::watch::live::IncidentState;

/// The `Content-Type` Prometheus reads this format by.
pub(super) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The whole exposition of a snapshot.
pub(super) fn render(s: &Snapshot) -> String {
    let c = &s.counters;
    let mut out = Exposition::default();

    let name = "fivehundred_responses_total";
    out.family(name, "counter", "Access-log responses by status code.");
    for (code, n) in &c.responses {
        out.sample(name, &[("code", &code.to_string())], n);
    }

    let name = "fivehundred_log_lines_total";
    out.family(
        name,
        "counter",
        "Log lines read, by input kind and parse result.",
    );
    for ((kind, result), n) in &c.lines {
        out.sample(name, &[("kind", kind), ("result", result)], n);
    }

    let name = "fivehundred_incidents_total";
    out.family(name, "counter", "Incidents opened, by cause.");
    for (cause, n) in &c.incidents {
        out.sample(name, &[("cause", cause)], n);
    }

    let name = "fivehundred_alerts_total";
    out.family(name, "counter", "Firing alert notifications, by alert.");
    for (alert, n) in &c.alerts {
        out.sample(name, &[("alert", alert)], n);
    }

    let name = "fivehundred_incidents_open";
    out.family(name, "gauge", "Incidents open now.");
    let open = s
        .incidents
        .iter()
        .filter(|i| i.state == IncidentState::Open);
    out.sample(name, &[], open.count());

    let name = "fivehundred_alert_firing";
    out.family(
        name,
        "gauge",
        "Alert episodes firing now, by alert (0: none).",
    );
    for (alert, n) in firing_by_alert(s) {
        out.sample(name, &[("alert", alert)], n);
    }

    let name = "fivehundred_last_line_timestamp_seconds";
    out.family(
        name,
        "gauge",
        "Log time of the newest line read, in Unix seconds.",
    );
    if let Some(t) = s.newest_line {
        out.sample(name, &[], seconds(t.ms));
    }

    let name = "fivehundred_start_time_seconds";
    out.family(
        name,
        "gauge",
        "Start time of this watch process, in Unix seconds.",
    );
    out.sample(name, &[], seconds(s.started.as_millisecond()));

    let name = "fivehundred_store_ok";
    out.family(
        name,
        "gauge",
        "1 while the state store takes every write; 0 while it cannot (disk full) and counts and alerts are held in memory.",
    );
    out.sample(name, &[], u8::from(s.store_ok));

    out.text
}

/// Episodes firing per alert name, with a 0 for every alert that fired before and is quiet
/// now, so a rule over the gauge sees the alert clear instead of vanish.
fn firing_by_alert(s: &Snapshot) -> BTreeMap<&str, usize> {
    let mut by: BTreeMap<&str, usize> = s.counters.alerts.keys().map(|a| (a.as_str(), 0)).collect();
    for f in &s.firing {
        *by.entry(f.alert.as_str()).or_default() += 1;
    }
    by
}

/// Milliseconds as Unix seconds (exact: an f64 holds any millisecond count of our era).
fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// The text being written.
#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    /// The `# HELP` and `# TYPE` lines that open a family (`help` holds no `\` or newline).
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        self.text += &format!("# HELP {name} {help}\n# TYPE {name} {kind}\n");
    }

    /// One sample line: `name{label="value",…} value`.
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.text += name;
        if !labels.is_empty() {
            let pairs: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                .collect();
            self.text += &format!("{{{}}}", pairs.join(","));
        }
        self.text += &format!(" {value}\n");
    }
}

/// A label value as the format wants it: `\`, `"` and newline escaped, nothing else.
fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::Stamp;
    use crate::watch::http::FiringAlert;

    #[test]
    fn label_values_escaped() {
        assert_eq!(escape_label("a\\b\"c\nd<é>"), "a\\\\b\\\"c\\nd<é>");
    }

    #[test]
    fn exact_exposition() {
        let mut s = Snapshot::new(jiff::Timestamp::from_millisecond(1_700_000_000_250).unwrap());
        s.counters.responses = [(200, 40), (500, 3)].into();
        s.counters.lines = [(("access".into(), "parsed".into()), 43)].into();
        s.counters.incidents = [("bad\"cause\\\n".into(), 1)].into();
        s.counters.alerts = [("error_spike".into(), 2), ("robots_txt_5xx".into(), 1)].into();
        let since = Stamp {
            ms: 1_700_000_100_000,
            offset: 3600,
        };
        s.firing = vec![FiringAlert {
            alert: "error_spike".into(),
            severity: "critical".into(),
            rule: Some("spike".into()),
            summary: "many 5xx".into(),
            since,
        }];
        s.newest_line = Some(since);
        assert_eq!(
            render(&s),
            "# HELP fivehundred_responses_total Access-log responses by status code.\n\
             # TYPE fivehundred_responses_total counter\n\
             fivehundred_responses_total{code=\"200\"} 40\n\
             fivehundred_responses_total{code=\"500\"} 3\n\
             # HELP fivehundred_log_lines_total Log lines read, by input kind and parse result.\n\
             # TYPE fivehundred_log_lines_total counter\n\
             fivehundred_log_lines_total{kind=\"access\",result=\"parsed\"} 43\n\
             # HELP fivehundred_incidents_total Incidents opened, by cause.\n\
             # TYPE fivehundred_incidents_total counter\n\
             fivehundred_incidents_total{cause=\"bad\\\"cause\\\\\\n\"} 1\n\
             # HELP fivehundred_alerts_total Firing alert notifications, by alert.\n\
             # TYPE fivehundred_alerts_total counter\n\
             fivehundred_alerts_total{alert=\"error_spike\"} 2\n\
             fivehundred_alerts_total{alert=\"robots_txt_5xx\"} 1\n\
             # HELP fivehundred_incidents_open Incidents open now.\n\
             # TYPE fivehundred_incidents_open gauge\n\
             fivehundred_incidents_open 0\n\
             # HELP fivehundred_alert_firing Alert episodes firing now, by alert (0: none).\n\
             # TYPE fivehundred_alert_firing gauge\n\
             fivehundred_alert_firing{alert=\"error_spike\"} 1\n\
             fivehundred_alert_firing{alert=\"robots_txt_5xx\"} 0\n\
             # HELP fivehundred_last_line_timestamp_seconds Log time of the newest line read, in Unix seconds.\n\
             # TYPE fivehundred_last_line_timestamp_seconds gauge\n\
             fivehundred_last_line_timestamp_seconds 1700000100\n\
             # HELP fivehundred_start_time_seconds Start time of this watch process, in Unix seconds.\n\
             # TYPE fivehundred_start_time_seconds gauge\n\
             fivehundred_start_time_seconds 1700000000.25\n\
             # HELP fivehundred_store_ok 1 while the state store takes every write; 0 while it cannot (disk full) and counts and alerts are held in memory.\n\
             # TYPE fivehundred_store_ok gauge\n\
             fivehundred_store_ok 1\n"
        );
    }
}
