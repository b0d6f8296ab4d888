//! What the application-stack labs check: an application server's log cut into records the way
//! the engine cuts it (to read what a parser says about each), and the incidents `diagnose`
//! reports for them (cause, paths, count, language, first app frame, exception).
//!
//! Include it with `#[path = "lab/stack.rs"] mod stack;` next to `mod lab;`.
#![allow(dead_code)]

use crate::lab::pretty;
use serde_json::Value;
use std::path::Path;

/// The records of a log: a line `is_header` accepts starts one, every other line continues
/// the one before it (lines before the first header are left out).
pub fn records(path: &Path, is_header: fn(&[u8]) -> bool) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap_or_default();
    let mut out: Vec<Vec<u8>> = Vec::new();
    for line in bytes.split(|&b| b == b'\n') {
        if is_header(line) {
            out.push(line.to_vec());
        } else if let Some(last) = out.last_mut() {
            last.push(b'\n');
            last.extend_from_slice(line);
        }
    }
    out
}

/// The 1-based line of the file at `path` that holds `needle`: where a stack trace must point.
pub fn line_of(path: &Path, needle: &str) -> u64 {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let at = text.lines().position(|l| l.contains(needle));
    at.unwrap_or_else(|| panic!("{needle:?} not in {}", path.display())) as u64 + 1
}

/// The one incident of `cause` whose paths are exactly `paths` (in any order).
pub fn incident<'r>(report: &'r Value, cause: &str, paths: &[&str]) -> &'r Value {
    let sorted = |v: &Value| {
        let mut p: Vec<String> = serde_json::from_value(v.clone()).unwrap_or_default();
        p.sort();
        p
    };
    let mut want: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
    want.sort();
    let all = report["incidents"].as_array().expect("incidents");
    let mine: Vec<&Value> = all
        .iter()
        .filter(|i| i["cause"] == cause && sorted(&i["paths"]) == want)
        .collect();
    assert_eq!(
        mine.len(),
        1,
        "one {cause} incident for {paths:?}; report:\n{}",
        pretty(report)
    );
    mine[0]
}

/// What an application incident must say: its cause, paths and count, the language, the first
/// app frame (file as reported, line) and the exception class.
pub struct Expect<'a> {
    pub cause: &'a str,
    pub paths: &'a [&'a str],
    pub count: u64,
    pub language: &'a str,
    pub place: Option<(&'a str, u64)>,
    pub exception: Option<&'a str>,
}

/// Asserts the incident `want` describes.
pub fn assert_app_incident(report: &Value, want: &Expect) {
    let i = incident(report, want.cause, want.paths);
    let ctx = || {
        format!(
            "{} {:?}; report:\n{}",
            want.cause,
            want.paths,
            pretty(report)
        )
    };
    assert_eq!(i["count"].as_u64(), Some(want.count), "count; {}", ctx());
    assert_eq!(
        i["language"].as_str(),
        Some(want.language),
        "language; {}",
        ctx()
    );
    if let Some((file, line)) = want.place {
        assert_eq!(i["file"].as_str(), Some(file), "file; {}", ctx());
        assert_eq!(i["line"].as_u64(), Some(line), "line; {}", ctx());
    }
    assert_eq!(
        i["exception"].as_str(),
        want.exception,
        "exception; {}",
        ctx()
    );
}

/// [`assert_app_incident`], and that every response of the incident was answered `status`.
pub fn assert_app_incident_status(report: &Value, want: &Expect, status: u16) {
    assert_app_incident(report, want);
    let i = incident(report, want.cause, want.paths);
    let mut statuses = serde_json::Map::new();
    statuses.insert(status.to_string(), want.count.into());
    assert_eq!(
        i["status"],
        Value::Object(statuses),
        "statuses of {}; report:\n{}",
        want.cause,
        pretty(report)
    );
}
