//! The report in SARIF 2.1.0 (OASIS), as CI systems and code-scanning dashboards read it: one
//! rule per finding category with its description, one result per leak and site (see
//! [`super::group`]) whose locations are the URLs it was seen on, its level from the severity
//! (high: `error`, medium: `warning`, low: `note`), and the URLs that could not be fetched as
//! the run's tool notifications. `tests/probe.rs` validates it against the SARIF schema.

use serde_json::{Value, json};

use super::group::SiteFinding;
use super::signatures::{Category, Severity};
use super::{Report, Target};

/// The schema's own id, for `$schema`.
const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The SARIF log of a report.
pub fn log(report: &Report) -> Value {
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "fivehundred probe",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": Category::ALL.iter().map(|c| rule(*c)).collect::<Vec<_>>(),
            }},
            "invocations": [invocation(&report.targets)],
            "results": report.findings.iter().map(result).collect::<Vec<_>>(),
        }],
    })
}

/// SARIF's level for a severity.
fn level(s: Severity) -> &'static str {
    match s {
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
        Severity::Info => "none",
    }
}

/// The level a category has in a page's body (in a header, versions and addresses are low).
fn default_level(c: Category) -> &'static str {
    match c {
        Category::DebugConsole | Category::StackTrace | Category::SqlError => "error",
        Category::FilePath | Category::VersionDisclosure | Category::InternalAddress => "warning",
    }
}

fn rule(c: Category) -> Value {
    json!({
        "id": c.id(),
        "shortDescription": {"text": c.description()},
        "fullDescription": {"text": format!(
            "{} Found in what a live site answers to its URLs and to requests made to fail.",
            c.description()
        )},
        "defaultConfiguration": {"level": default_level(c)},
        "properties": {"tags": ["security", "information-disclosure"]},
    })
}

fn result(seen: &SiteFinding) -> Value {
    let f = &seen.first;
    let rule_index = Category::ALL.iter().position(|c| *c == f.category);
    json!({
        "ruleId": f.category.id(),
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": {"text": format!(
            "{} in {} ({}): {}. Fix: {}",
            f.category.id(), f.place, f.stack, f.excerpt, f.fix
        )},
        "locations": seen.urls.iter().map(|u| json!({
            "physicalLocation": {"artifactLocation": {"uri": u}},
        })).collect::<Vec<_>>(),
        "properties": {
            "severity": f.severity.id(),
            "where": f.place,
            "excerpt": f.excerpt,
            "signature": f.signature,
            "stack": f.stack,
            "fix": f.fix,
            "site": seen.site,
            "request": f.request,
            "status": f.status,
        },
    })
}

/// The run: successful when any URL was fetched; each URL that was not, a notification.
fn invocation(targets: &[Target]) -> Value {
    let failed: Vec<Value> = targets
        .iter()
        .filter_map(|t| {
            let e = t.error.as_ref()?;
            Some(json!({
                "level": "error",
                "message": {"text": format!("{} could not be fetched: {e}", t.url)},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": t.url}}}],
            }))
        })
        .collect();
    json!({
        "executionSuccessful": failed.len() < targets.len(),
        "toolExecutionNotifications": failed,
    })
}
