//! `watch`'s HTTP endpoints over real HTTP on 127.0.0.1, fed a snapshot whose log data is
//! hostile (`<script>…`, `"><img …>` in paths, evidence, file names and a label value):
//!
//! - `/metrics` is well-formed Prometheus text (every line's shape checked here) with the
//!   exact values, and follows the snapshot when the pipeline publishes a new one;
//! - `/api/incidents` round-trips to the same incidents, newest first, filtered and limited;
//! - `/` shows the escaped text and never the raw markup;
//! - every answer carries the security headers and no `Server`; 404, 405 and a bad query are
//!   generic pages; `/healthz` says `ok` only while the snapshot is fresh; a taken port is an
//!   error, not a panic;
//! - a real Prometheus (Debian's `prometheus`) scrapes `/metrics` every second and reads back
//!   the exact values, the hostile label value included, and the target is `up`.
mod lab;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use fivehundred::formats::Stamp;
use fivehundred::scope::Scope;
use fivehundred::watch::http::{
    DEFAULT_MAX_AGE, FiringAlert, FollowedFile, HttpError, HttpOptions, Server, Shared, Snapshot,
    serve,
};
use fivehundred::watch::live::{IncidentState, LiveIncident};
use lab::Lab;
use lab::monitoring::start_prometheus;
use reqwest::{StatusCode, header};
use serde_json::Value;

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "\"><img src=x onerror=alert(1)>";
const SCRIPT_ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;";
const IMG_ESCAPED: &str = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;";

/// A cause label value that needs every escape the format has.
fn hostile_cause() -> String {
    format!("php_fatal\\\"\n{SCRIPT}")
}

const STARTED_MS: i64 = 1_763_630_000_500;
const NEWEST_LINE: Stamp = Stamp {
    ms: 1_763_632_803_250,
    offset: 3600,
};

fn incident(id: i64, state: IncidentState, cause: &str) -> LiveIncident {
    LiveIncident {
        id,
        state,
        cause: cause.to_string(),
        status: [("500".to_string(), 7), ("503".to_string(), 2)].into(),
        count: 9,
        first_seen: Some("2025-11-20T10:00:03+01:00".into()),
        last_seen: Some("2025-11-20T10:00:09+01:00".into()),
        paths: vec![format!("/search{SCRIPT}"), format!("/p{IMG}")],
        file: Some(format!("/var/www/{IMG}/index.php")),
        line: Some(42),
        language: None,
        exception: None,
        evidence: vec![format!(
            "PHP Fatal error:  Uncaught Error: {SCRIPT} in /var/www/{IMG}/index.php:42"
        )],
        fix: format!("Fix the code {SCRIPT}"),
        title: format!("Uncaught PHP error {IMG}"),
        host: None,
    }
}

/// Known counters, three incidents (two open), one alert firing, one file.
fn known_snapshot() -> Snapshot {
    let mut s = Snapshot::new(jiff::Timestamp::from_millisecond(STARTED_MS).unwrap());
    let c = &mut s.counters;
    c.responses = [(200, 1234), (500, 7), (503, 2)].into();
    c.lines = [
        (("access".into(), "parsed".into()), 1243),
        (("access".into(), "unparsed".into()), 1),
        (("php_error".into(), "parsed".into()), 9),
    ]
    .into();
    c.incidents = [("fpm_down".into(), 1), (hostile_cause(), 2)].into();
    c.alerts = [("error_spike".into(), 1), ("new_cause".into(), 2)].into();
    s.incidents = vec![
        incident(3, IncidentState::Open, &hostile_cause()),
        incident(1, IncidentState::Resolved, "fpm_down"),
        incident(4, IncidentState::Open, &hostile_cause()),
    ];
    s.firing = vec![FiringAlert {
        alert: "error_spike".into(),
        severity: "critical".into(),
        rule: Some("spike".into()),
        summary: format!("9 of 40 responses were 5xx in 60 s {SCRIPT}"),
        since: NEWEST_LINE,
    }];
    s.files = vec![FollowedFile {
        path: format!("/var/log/{IMG}/access.log"),
        kind: "access".into(),
        format: "combined".into(),
        lines: 1244,
        unparsed: 1,
        offset: 190_000,
    }];
    s.newest_line = Some(NEWEST_LINE);
    s
}

/// Binds 127.0.0.1:0 and serves `shared` in this test's runtime.
async fn start(shared: Shared) -> SocketAddr {
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), shared)
        .await
        .expect("bind 127.0.0.1:0");
    let addr = server.local_addr();
    tokio::spawn(server.run());
    addr
}

/// A client that never goes through a proxy from the environment.
fn client() -> reqwest::Client {
    fivehundred::tls::client_builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("build HTTP client")
}

async fn get(addr: SocketAddr, path: &str) -> reqwest::Response {
    client()
        .get(format!("http://{addr}{path}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// GET `path`: status, `Content-Type` and body.
async fn get_text(addr: SocketAddr, path: &str) -> (StatusCode, String, String) {
    let r = get(addr, path).await;
    let status = r.status();
    let ctype = r.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_string();
    (status, ctype, r.text().await.unwrap())
}

/// One sample of an exposition: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Parses Prometheus text format 0.0.4 as `/metrics` must write it, checking the shape of
/// every line: a family opens with `# HELP name text` then `# TYPE name counter|gauge`, its
/// samples follow (`name{label="value",…} number`, the label values escaped), each family
/// once, no other lines, a newline at the end.
fn parse_exposition(text: &str) -> Vec<Sample> {
    assert!(text.ends_with('\n'), "exposition ends with a newline");
    let mut samples = Vec::new();
    let mut families: Vec<String> = Vec::new();
    let mut helped: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP name text");
            assert!(
                is_metric_name(name) && !help.is_empty(),
                "HELP line: {line:?}"
            );
            assert!(!families.iter().any(|f| f == name), "family {name} twice");
            helped = Some(name.to_string());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert_eq!(
                helped.take().as_deref(),
                Some(name),
                "TYPE right after HELP"
            );
            assert!(["counter", "gauge"].contains(&kind), "TYPE line: {line:?}");
            families.push(name.to_string());
        } else {
            let sample = parse_sample(line);
            assert_eq!(
                Some(&sample.0),
                families.last(),
                "sample of the open family: {line:?}"
            );
            samples.push(sample);
        }
    }
    samples
}

fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(s: &str) -> bool {
    is_metric_name(s) && !s.contains(':')
}

/// `name{label="value",…} value` or `name value`.
fn parse_sample(line: &str) -> Sample {
    let end = line
        .find(['{', ' '])
        .unwrap_or_else(|| panic!("sample line: {line:?}"));
    let name = &line[..end];
    assert!(is_metric_name(name), "metric name in {line:?}");
    let mut rest = &line[end..];
    let mut labels = BTreeMap::new();
    if let Some(r) = rest.strip_prefix('{') {
        rest = r;
        loop {
            let (label, r) = rest.split_once("=\"").expect("label=\"");
            assert!(is_label_name(label), "label name {label:?} in {line:?}");
            let (value, r) = unescape_label_value(r);
            assert!(
                labels.insert(label.to_string(), value).is_none(),
                "{line:?}"
            );
            if let Some(r) = r.strip_prefix(',') {
                rest = r;
            } else {
                rest = r.strip_prefix('}').expect("labels end with }");
                break;
            }
        }
    }
    let value = rest.strip_prefix(' ').expect("one space before the value");
    assert!(!value.contains(' '), "no timestamp, nothing else: {line:?}");
    let value: f64 = value
        .parse()
        .unwrap_or_else(|_| panic!("value in {line:?}"));
    (name.to_string(), labels, value)
}

/// A label value up to its closing quote, unescaped; only `\\`, `\"` and `\n` are escapes.
fn unescape_label_value(s: &str) -> (String, &str) {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (out, &s[i + 1..]),
            '\\' => match chars.next().map(|(_, c)| c) {
                Some('\\') => out.push('\\'),
                Some('"') => out.push('"'),
                Some('n') => out.push('\n'),
                other => panic!("bad escape \\{other:?} in label value {s:?}"),
            },
            '\n' => panic!("raw newline in label value"),
            c => out.push(c),
        }
    }
    panic!("unterminated label value {s:?}")
}

fn sample(name: &str, labels: &[(&str, &str)], value: f64) -> Sample {
    let labels = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (name.to_string(), labels, value)
}

/// What `/metrics` must say for [`known_snapshot`].
fn expected_samples() -> Vec<Sample> {
    let cause = hostile_cause();
    vec![
        sample("fivehundred_responses_total", &[("code", "200")], 1234.0),
        sample("fivehundred_responses_total", &[("code", "500")], 7.0),
        sample("fivehundred_responses_total", &[("code", "503")], 2.0),
        sample(
            "fivehundred_log_lines_total",
            &[("kind", "access"), ("result", "parsed")],
            1243.0,
        ),
        sample(
            "fivehundred_log_lines_total",
            &[("kind", "access"), ("result", "unparsed")],
            1.0,
        ),
        sample(
            "fivehundred_log_lines_total",
            &[("kind", "php_error"), ("result", "parsed")],
            9.0,
        ),
        sample("fivehundred_incidents_total", &[("cause", "fpm_down")], 1.0),
        sample("fivehundred_incidents_total", &[("cause", &cause)], 2.0),
        sample("fivehundred_alerts_total", &[("alert", "error_spike")], 1.0),
        sample("fivehundred_alerts_total", &[("alert", "new_cause")], 2.0),
        sample("fivehundred_incidents_open", &[], 2.0),
        sample("fivehundred_alert_firing", &[("alert", "error_spike")], 1.0),
        sample("fivehundred_alert_firing", &[("alert", "new_cause")], 0.0),
        sample(
            "fivehundred_last_line_timestamp_seconds",
            &[],
            1_763_632_803.25,
        ),
        sample("fivehundred_start_time_seconds", &[], 1_763_630_000.5),
        sample("fivehundred_store_ok", &[], 1.0),
    ]
}

/// The value of the sample named `name` with `label` = `value`.
fn value_of(samples: &[Sample], name: &str, label: (&str, &str)) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| n == name && l.get(label.0).map(String::as_str) == Some(label.1))
        .map(|s| s.2)
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_the_exact_values() {
    let addr = start(Shared::new(known_snapshot(), DEFAULT_MAX_AGE)).await;
    let (status, ctype, body) = get_text(addr, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype, "text/plain; version=0.0.4; charset=utf-8");
    assert_eq!(parse_exposition(&body), expected_samples(), "{body}");
    for family in [
        "fivehundred_responses_total counter",
        "fivehundred_log_lines_total counter",
        "fivehundred_incidents_total counter",
        "fivehundred_alerts_total counter",
        "fivehundred_incidents_open gauge",
    ] {
        assert!(body.contains(&format!("\n# TYPE {family}\n")), "{family}");
    }
}

#[tokio::test]
async fn publishing_a_new_snapshot_changes_the_metrics() {
    let shared = Shared::new(known_snapshot(), DEFAULT_MAX_AGE);
    let addr = start(shared.clone()).await;
    let metrics = async || parse_exposition(&get_text(addr, "/metrics").await.2);
    let responses = "fivehundred_responses_total";
    assert_eq!(
        value_of(&metrics().await, responses, ("code", "500")),
        Some(7.0)
    );

    shared.update(|s| {
        s.counters.responses.insert(500, 8);
        s.counters.responses.insert(504, 1);
        s.firing.clear();
    });
    let after = metrics().await;
    assert_eq!(value_of(&after, responses, ("code", "500")), Some(8.0));
    assert_eq!(value_of(&after, responses, ("code", "504")), Some(1.0));
    let firing = ("alert", "error_spike");
    assert_eq!(
        value_of(&after, "fivehundred_alert_firing", firing),
        Some(0.0)
    );

    shared.publish(Snapshot::new(jiff::Timestamp::from_millisecond(0).unwrap()));
    let empty = metrics().await;
    assert_eq!(value_of(&empty, responses, ("code", "500")), None);
    let start_time = sample("fivehundred_start_time_seconds", &[], 0.0);
    assert!(empty.contains(&start_time));

    shared.update(|s| s.store_ok = false);
    let holding = sample("fivehundred_store_ok", &[], 0.0);
    assert!(metrics().await.contains(&holding));
}

#[tokio::test]
async fn incidents_round_trip_newest_first_filtered_and_limited() {
    let snapshot = known_snapshot();
    let addr = start(Shared::new(snapshot.clone(), DEFAULT_MAX_AGE)).await;
    let by_id = |id: i64| {
        snapshot
            .incidents
            .iter()
            .find(|i| i.id == id)
            .unwrap()
            .clone()
    };
    for (query, ids) in [
        ("", vec![4, 3, 1]),
        ("?state=open", vec![4, 3]),
        ("?state=resolved", vec![1]),
        ("?limit=2", vec![4, 3]),
        ("?state=open&limit=1", vec![4]),
        ("?limit=0", vec![]),
    ] {
        let (status, ctype, body) = get_text(addr, &format!("/api/incidents{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert_eq!(ctype, "application/json");
        let got: Vec<LiveIncident> = serde_json::from_str(&body).expect(&body);
        let want: Vec<LiveIncident> = ids.into_iter().map(by_id).collect();
        assert_eq!(got, want, "{query}");
        // The wire shape: diagnose's fields plus `id` and `state`, as the spec names them.
        let wire: Vec<Value> = serde_json::from_str(&body).unwrap();
        for (v, inc) in wire.iter().zip(&want) {
            let state = match inc.state {
                IncidentState::Open => "open",
                IncidentState::Resolved => "resolved",
            };
            assert_eq!(
                (&v["id"], &v["state"]),
                (&Value::from(inc.id), &Value::from(state))
            );
            assert!(v["evidence"].is_array() && v["cause"].is_string(), "{v}");
        }
    }
    for bad in ["?state=closed", "?limit=-1", "?limit=x"] {
        let (status, _, body) = get_text(addr, &format!("/api/incidents{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_generic(&body, "400 Bad Request");
    }
}

/// Incidents of two hosts, with paths and statuses to filter on, and one made of error
/// records alone (no host, no path, no status).
fn scoped_snapshot() -> Snapshot {
    let mut s = Snapshot::new(jiff::Timestamp::from_millisecond(STARTED_MS).unwrap());
    let of = |id, host: Option<&str>, status: &[(&str, u64)], paths: &[&str]| LiveIncident {
        host: host.map(str::to_owned),
        status: status.iter().map(|(s, n)| (s.to_string(), *n)).collect(),
        count: status.iter().map(|(_, n)| n).sum(),
        paths: paths.iter().map(|p| p.to_string()).collect(),
        ..incident(id, IncidentState::Open, "upstream_unavailable")
    };
    s.incidents = vec![
        of(1, Some("shop.test"), &[("502", 3)], &["/api/orders"]),
        of(2, Some("blog.test"), &[("500", 2)], &["/wp-login.php"]),
        of(3, None, &[], &[]),
        of(
            4,
            Some("api.shop.test"),
            &[("504", 1), ("500", 1)],
            &["/api/x", "/y"],
        ),
    ];
    s
}

/// The ids `/api/incidents` answers `query` with.
async fn incident_ids(addr: SocketAddr, query: &str) -> Vec<i64> {
    let (status, _, body) = get_text(addr, &format!("/api/incidents{query}")).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    let got: Vec<LiveIncident> = serde_json::from_str(&body).expect(&body);
    got.iter().map(|i| i.id).collect()
}

#[tokio::test]
async fn incidents_are_filtered_by_host_path_and_status_and_a_bad_value_is_a_400() {
    let addr = start(Shared::new(scoped_snapshot(), DEFAULT_MAX_AGE)).await;
    for (query, ids) in [
        ("", vec![4, 3, 2, 1]),
        ("?host=shop.test", vec![1]),
        ("?host=SHOP.test:443", vec![1]),
        ("?host=*.shop.test,shop.test", vec![4, 1]),
        // An incident of error records alone has no status for a list to leave out.
        ("?status=502-504", vec![4, 3, 1]),
        ("?status=5xx&host=blog.test", vec![2]),
        ("?path=/api/", vec![4, 1]),
        ("?path=*.php", vec![2]),
        ("?host=*shop.test&state=open&limit=1", vec![4]),
        ("?host=", vec![4, 3, 2, 1]),
    ] {
        assert_eq!(incident_ids(addr, query).await, ids, "{query}");
    }
    for bad in ["?status=5o2", "?status=600-500", "?host=,", "?status=2"] {
        for page in ["/api/incidents", "/"] {
            let (status, _, body) = get_text(addr, &format!("{page}{bad}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{page}{bad}");
            assert_generic(&body, "400 Bad Request");
        }
    }
    let (_, _, html) = get_text(addr, "/?host=blog.test").await;
    assert!(html.contains("<code>/wp-login.php</code>"), "{html}");
    assert!(!html.contains("/api/orders"), "{html}");
    // The page says its scope, and that what is not an incident is the whole site's.
    assert!(html.contains("Only host blog.test."), "{html}");
    assert!(html.contains("whole-site"), "{html}");
}

#[tokio::test]
async fn watchs_own_scope_is_the_default_a_query_replaces() {
    let options = HttpOptions {
        scope: std::sync::Arc::new(Scope::new(Some("blog.test"), None, None).unwrap()),
        ..HttpOptions::default()
    };
    let server = Server::bind_with(
        "127.0.0.1:0".parse().unwrap(),
        Shared::new(scoped_snapshot(), DEFAULT_MAX_AGE),
        options,
    )
    .await
    .unwrap();
    let addr = server.local_addr();
    tokio::spawn(server.run());
    assert_eq!(incident_ids(addr, "").await, [2]);
    assert_eq!(incident_ids(addr, "?host=shop.test").await, [1]);
    assert_eq!(incident_ids(addr, "?host=").await, [4, 3, 2, 1]);
    assert_eq!(incident_ids(addr, "?status=502").await, [] as [i64; 0]);
    let (_, _, html) = get_text(addr, "/").await;
    assert!(
        html.contains("/wp-login.php") && !html.contains("/api/orders"),
        "{html}"
    );
}

#[tokio::test]
async fn dashboard_shows_the_state_with_all_log_data_escaped() {
    let addr = start(Shared::new(known_snapshot(), DEFAULT_MAX_AGE)).await;
    let (status, ctype, html) = get_text(addr, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype, "text/html; charset=utf-8");
    assert!(
        !html.contains(SCRIPT) && !html.contains("<script"),
        "{html}"
    );
    assert!(!html.contains(IMG) && !html.contains("<img"), "{html}");
    for shown in [
        format!("PHP Fatal error:  Uncaught Error: {SCRIPT_ESCAPED} in /var/www/{IMG_ESCAPED}"),
        format!("<code>/var/www/{IMG_ESCAPED}/index.php:42</code>"),
        format!("<code>/search{SCRIPT_ESCAPED}</code>"),
        format!("<dt>Fix</dt><dd>Fix the code {SCRIPT_ESCAPED}</dd>"),
        format!("9 of 40 responses were 5xx in 60 s {SCRIPT_ESCAPED}"),
        format!("<code>/var/log/{IMG_ESCAPED}/access.log</code>"),
        "Alerts firing (1)".to_string(),
        "Open incidents (2)".to_string(),
        "9 of 1243 responses".to_string(),
        "<tr><td>500</td><td class=\"n\">7</td>".to_string(),
        "<meta http-equiv=\"refresh\" content=\"5\">".to_string(),
    ] {
        assert!(html.contains(&shown), "{shown:?} in {html}");
    }
}

/// The page every error answer is: its status line and nothing from the request.
fn assert_generic(body: &str, title: &str) {
    assert_eq!(
        body,
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}\
             </title></head><body><h1>{title}</h1></body></html>\n"
        )
    );
}

#[tokio::test]
async fn every_answer_is_hardened_and_errors_are_generic() {
    let addr = start(Shared::new(known_snapshot(), DEFAULT_MAX_AGE)).await;
    let http = client();
    let url = |path: &str| format!("http://{addr}{path}");
    let requests = [
        http.get(url("/")),
        http.get(url("/metrics")),
        http.get(url("/api/incidents")),
        http.get(url("/healthz")),
        http.head(url("/metrics")),
        http.get(url("/api/incidents?state=nope")),
        http.get(url("/nope/%3Cscript%3Ealert(1)%3C/script%3E")),
        http.post(url("/metrics")).body("<script>"),
        http.delete(url("/api/incidents")),
    ];
    for request in requests {
        let r = request.send().await.unwrap();
        let h = r.headers();
        let what = format!("{} {}", r.status(), r.url());
        assert_eq!(
            h[header::CONTENT_SECURITY_POLICY],
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
            "{what}"
        );
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{what}");
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer", "{what}");
        assert!(h.get(header::SERVER).is_none(), "{what}");
    }

    let (status, ctype, body) = get_text(addr, "/nope/%3Cscript%3E").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(ctype, "text/html; charset=utf-8");
    assert_generic(&body, "404 Not Found");

    let r = http.post(url("/metrics")).body("x").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers()[header::ALLOW], "GET,HEAD");
    assert_generic(&r.text().await.unwrap(), "405 Method Not Allowed");
}

#[tokio::test]
async fn healthz_is_ok_only_while_the_snapshot_is_fresh() {
    let fresh = start(Shared::new(known_snapshot(), DEFAULT_MAX_AGE)).await;
    let (status, ctype, body) = get_text(fresh, "/healthz").await;
    assert_eq!(
        (status, ctype.as_str(), body.as_str()),
        (StatusCode::OK, "text/plain; charset=utf-8", "ok\n")
    );

    // Stale from the start: no publication can be newer than zero seconds by the time a
    // request arrives.
    let stale = start(Shared::new(known_snapshot(), Duration::ZERO)).await;
    let (status, _, body) = get_text(stale, "/healthz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_generic(&body, "503 Service Unavailable");
}

#[tokio::test]
async fn a_taken_port_is_an_error_not_a_panic() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let shared = Shared::new(known_snapshot(), DEFAULT_MAX_AGE);
    let err = Server::bind(addr, shared.clone()).await.unwrap_err();
    assert!(
        matches!(err, HttpError::Bind { addr: a, .. } if a == addr),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("cannot listen on {addr}: ")),
        "{err}"
    );
    assert!(matches!(
        serve(addr, shared).await,
        Err(HttpError::Bind { .. })
    ));
}

/// GET `path` naming `host` in the `Host` header: status and body.
async fn get_as(addr: SocketAddr, path: &str, host: &str) -> (StatusCode, String) {
    let r = client()
        .get(format!("http://{addr}{path}"))
        .header(header::HOST, host)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path} as {host}: {e}"));
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn a_request_naming_another_host_gets_a_421_generic_page() {
    let addr = start(Shared::new(known_snapshot(), DEFAULT_MAX_AGE)).await;
    let port = addr.port();
    for path in ["/", "/metrics", "/api/incidents", "/healthz", "/nope"] {
        for host in [
            "evil.example".to_owned(),
            format!("evil.example:{port}"),
            format!("127.0.0.1:{}", port + 1),
        ] {
            let (status, body) = get_as(addr, path, &host).await;
            assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{path} as {host}");
            assert_generic(&body, "421 Misdirected Request");
        }
    }
    for host in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
        assert_eq!(get_as(addr, "/metrics", &host).await.0, StatusCode::OK);
    }

    // A name allowed (a reverse proxy's) is answered, on any port.
    let options = HttpOptions {
        allow_hosts: vec!["dash.example".to_owned()],
        ..HttpOptions::default()
    };
    let server = Server::bind_with(
        "127.0.0.1:0".parse().unwrap(),
        Shared::new(known_snapshot(), DEFAULT_MAX_AGE),
        options,
    )
    .await
    .unwrap();
    let proxied = server.local_addr();
    tokio::spawn(server.run());
    for host in ["dash.example", "Dash.Example:443"] {
        assert_eq!(get_as(proxied, "/", host).await.0, StatusCode::OK, "{host}");
    }
    let (status, _) = get_as(proxied, "/", "evil.example").await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST);
}

/// Reads from `stream` until the server closes it (end of file or an error); gives how long
/// that took from `opened`.
async fn until_closed(stream: &mut tokio::net::TcpStream, opened: Instant) -> Duration {
    use tokio::io::AsyncReadExt;
    let mut buf = [0; 4096];
    while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
    opened.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_slow_and_idle_connections_are_closed_and_metrics_still_answer() {
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpStream;
    let addr = start(Shared::new(known_snapshot(), DEFAULT_MAX_AGE)).await;
    let limit = Duration::from_secs(25);
    let opened = Instant::now();

    // Connects and says nothing.
    let silent = tokio::spawn(async move {
        let mut s = TcpStream::connect(addr).await.unwrap();
        until_closed(&mut s, opened).await
    });
    // Sends its request head one byte a second, for ever (slowloris).
    let slow = tokio::spawn(async move {
        let s = TcpStream::connect(addr).await.unwrap();
        let (mut read, mut write) = s.into_split();
        let head = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
        let drip = async move {
            for b in head.iter().chain(std::iter::repeat(&b'a')) {
                if write.write_all(&[*b]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        };
        let mut buf = [0; 64];
        tokio::select! {
            () = drip => {}
            _ = tokio::io::AsyncReadExt::read(&mut read, &mut buf) => {}
        }
        opened.elapsed()
    });
    // Asks once, keeps the connection, then idles.
    let idle = tokio::spawn(async move {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .unwrap();
        until_closed(&mut s, opened).await
    });

    // Meanwhile the endpoints answer.
    let (status, _, _) = get_text(addr, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    for (what, task) in [("silent", silent), ("slowloris", slow), ("idle", idle)] {
        let took = tokio::time::timeout(limit, task)
            .await
            .unwrap_or_else(|_| panic!("the {what} connection still open after {limit:?}"))
            .unwrap();
        assert!(took < limit, "{what}: {took:?}");
    }
}

/// Calls `probe` every 200 ms until it gives a value; panics with `what` and the last
/// attempt's description after `limit`.
async fn poll<T, F: Future<Output = Result<T, String>>>(
    what: &str,
    limit: Duration,
    mut probe: impl FnMut() -> F,
) -> T {
    let start = Instant::now();
    loop {
        match probe().await {
            Ok(v) => return v,
            Err(last) if start.elapsed() > limit => {
                panic!("timed out after {limit:?} waiting for {what}; last: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Prometheus's answer to an instant query: each series' labels and value.
async fn prometheus_query(port: u16, query: &str) -> Result<Vec<(Value, String)>, String> {
    let url = reqwest::Url::parse_with_params(
        &format!("http://127.0.0.1:{port}/api/v1/query"),
        [("query", query)],
    )
    .map_err(|e| e.to_string())?;
    let r = client().get(url).send().await.map_err(|e| e.to_string())?;
    let body: Value = r.json().await.map_err(|e| e.to_string())?;
    let result = body["data"]["result"]
        .as_array()
        .ok_or_else(|| format!("no result in {body}"))?;
    Ok(result
        .iter()
        .map(|s| {
            (
                s["metric"].clone(),
                s["value"][1].as_str().unwrap_or("").to_string(),
            )
        })
        .collect())
}

/// `label` → value of each series `query` gives.
async fn series_by(
    port: u16,
    query: &str,
    label: &str,
) -> Result<BTreeMap<String, String>, String> {
    Ok(prometheus_query(port, query)
        .await?
        .into_iter()
        .map(|(metric, v)| (metric[label].as_str().unwrap_or("").to_string(), v))
        .collect())
}

fn strings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_real_prometheus_scrapes_the_exact_values() {
    let lab = Lab::new();
    let shared = Shared::new(known_snapshot(), DEFAULT_MAX_AGE);
    let addr = start(shared.clone()).await;
    let (mut prometheus, port) = start_prometheus(&lab.dir, &addr.to_string());
    let limit = Duration::from_secs(30);

    let want = &strings(&[("200", "1234"), ("500", "7"), ("503", "2")]);
    let got = poll(
        "Prometheus to scrape fivehundred_responses_total",
        limit,
        || {
            prometheus.assert_running();
            async move {
                let got = series_by(port, "fivehundred_responses_total", "code").await?;
                if got == *want {
                    Ok(got)
                } else {
                    Err(format!("{got:?}"))
                }
            }
        },
    )
    .await;
    assert_eq!(&got, want);

    // The target is healthy: every scrape parsed, not just one sample.
    let r: Value = client()
        .get(format!("http://127.0.0.1:{port}/api/v1/targets"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let targets = r["data"]["activeTargets"].as_array().unwrap();
    assert_eq!(targets.len(), 1, "{r}");
    assert_eq!(targets[0]["health"], "up", "{r}");
    assert_eq!(targets[0]["lastError"], "", "{r}");
    assert_eq!(targets[0]["labels"]["instance"], addr.to_string());
    let up = prometheus_query(port, "up{job=\"fivehundred\"}")
        .await
        .unwrap();
    assert_eq!(up.len(), 1);
    assert_eq!(up[0].1, "1");

    // A real parser reads the escaped label value back exactly.
    let causes = series_by(port, "fivehundred_incidents_total", "cause")
        .await
        .unwrap();
    assert_eq!(
        causes,
        strings(&[("fpm_down", "1"), (&hostile_cause(), "2")])
    );
    let lines = prometheus_query(
        port,
        "fivehundred_log_lines_total{kind=\"access\",result=\"parsed\"}",
    )
    .await
    .unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].1, "1243");

    // What the pipeline publishes next is what the next scrapes see.
    shared.update(|s| {
        s.counters.responses.insert(500, 12);
    });
    let want = &strings(&[("200", "1234"), ("500", "12"), ("503", "2")]);
    poll("Prometheus to see the new count", limit, || {
        prometheus.assert_running();
        async move {
            let got = series_by(port, "fivehundred_responses_total", "code").await?;
            if got == *want {
                Ok(())
            } else {
                Err(format!("{got:?}"))
            }
        }
    })
    .await;
}
