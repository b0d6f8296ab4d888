//! Parsing on several threads gives exactly the report one thread gives: same counts, same
//! incidents, same evidence, byte for byte, on a log many blocks long.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// A deterministic access log (~24 MB, several 4 MiB blocks) whose 5xx come in bursts, many
/// in the same second, and an nginx error log explaining some of them.
fn write_logs(dir: &Path) {
    let mut access = String::new();
    let mut error = String::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        // xorshift64: enough to vary paths and statuses, the same on every run.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..100_000u64 {
        let r = next();
        let secs = i / 20;
        let (h, m, s) = (secs / 3600 % 24, secs / 60 % 60, secs % 60);
        let day = 1 + secs / 86_400;
        let path = format!("/p{}.php?q={}", r % 50, r % 7);
        let status = match r % 100 {
            0..=2 => 500,
            3 => 502,
            4 => 504,
            5..=9 => 404,
            _ => 200,
        };
        let ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 padding-padding-padding-padding";
        writeln!(
            access,
            "10.0.{}.{} - - [{day:02}/Nov/2026:{h:02}:{m:02}:{s:02} +0000] \"GET {path} HTTP/1.1\" {status} {} \"-\" \"{ua}\"",
            r % 200,
            r % 250,
            r % 5000
        )
        .unwrap();
        if status == 500 && r % 2 == 0 {
            writeln!(
                error,
                "2026/11/{day:02} {h:02}:{m:02}:{s:02} [error] 7#7: *{i} FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted in /srv/www/p{}.php on line 9\" while reading response header from upstream, client: 10.0.{}.{}, server: _, request: \"GET {path} HTTP/1.1\", upstream: \"fastcgi://unix:/run/php/fpm.sock:\", host: \"example.org\"",
                r % 50,
                r % 200,
                r % 250
            )
            .unwrap();
        }
    }
    std::fs::write(dir.join("access.log"), access).unwrap();
    std::fs::write(dir.join("error.log"), error).unwrap();
}

fn diagnose(dir: &Path, threads: &str) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .args([
            "diagnose",
            "--format",
            "json",
            "--tz",
            "UTC",
            "--threads",
            threads,
        ])
        .arg(dir)
        .output()
        .expect("run fivehundred");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn threads_do_not_change_the_report() {
    let dir = tempfile::tempdir().unwrap();
    write_logs(dir.path());
    let one = diagnose(dir.path(), "1");
    let report: serde_json::Value = serde_json::from_slice(&one).unwrap();
    assert_eq!(report["inputs"][0]["lines"], 100_000);
    let errors = report["summary"]["server_errors"].as_u64().unwrap();
    assert!(errors > 4_000, "the log has bursts of 5xx: {errors}");
    let incidents = report["incidents"].as_array().unwrap();
    assert!(incidents.iter().any(|i| i["cause"] == "php_memory_limit"));
    assert!(incidents.iter().any(|i| i["cause"] == "unknown"));
    for threads in ["2", "3", "8"] {
        assert!(
            one == diagnose(dir.path(), threads),
            "--threads {threads} differs from --threads 1"
        );
    }
}
