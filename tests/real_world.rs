//! `diagnose` on logs written by real servers outside this project (`shared/data/real-world`,
//! beside the repository, as CI lays it out): every line read, every 5xx counted, and, with no
//! error log to explain them, every 5xx `unknown` rather than a guess.

use std::path::PathBuf;
use std::process::Command;

/// The real-world data directory, if this checkout has `shared/` beside it.
fn real_world(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/real-world")
        .join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "note: {} not found: shared/ is not beside this checkout; skipped",
            p.display()
        );
        None
    }
}

#[test]
fn public_apache_combined_log() {
    let Some(log) = real_world("apache_logs") else {
        return;
    };
    let out = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .args(["diagnose", "--format", "json"])
        .arg(&log)
        .output()
        .expect("run fivehundred");
    assert_eq!(out.status.code(), Some(1), "5xx found means exit 1");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let input = &r["inputs"][0];
    assert_eq!(
        (input["kind"].as_str(), input["format"].as_str()),
        (Some("access"), Some("combined"))
    );
    // 10,000 lines, one of them with an unterminated user agent: all read.
    assert_eq!(
        (input["lines"].as_u64(), input["unparsed"].as_u64()),
        (Some(10_000), Some(0))
    );
    assert_eq!(r["summary"]["requests"], 10_000);
    assert_eq!(r["summary"]["server_errors"], 3);
    assert_eq!(r["summary"]["by_status"], serde_json::json!({"500": 3}));
    let incidents = r["incidents"].as_array().expect("incidents");
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0]["cause"], "unknown");
    assert_eq!(incidents[0]["count"], 3);
    assert_eq!(incidents[0]["status"]["500"], 3);
    assert!(incidents[0]["file"].is_null() && incidents[0]["line"].is_null());
    assert_eq!(incidents[0]["first_seen"], "2015-05-18T03:05:34+00:00");
}
