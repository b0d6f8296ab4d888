//! The benchmark's log generator (`examples/genlog.rs`): the same seed gives the same bytes,
//! and `diagnose` reads its logs as it wrote them: every access line (the malformed ones as
//! unparsed), every 5xx, each under the cause its burst was made of.

#[path = "../examples/genlog.rs"]
#[allow(dead_code)]
mod genlog;

use std::process::Command;

use serde_json::Value;

fn generate(size: u64, seed: u64) -> (Vec<u8>, Vec<u8>, genlog::Stats) {
    let (mut access, mut error) = (Vec::new(), Vec::new());
    let stats = genlog::generate(size, seed, &mut access, &mut error).expect("generate");
    (access, error, stats)
}

#[test]
fn same_seed_same_bytes_another_seed_other_bytes() {
    let (a1, e1, s1) = generate(1 << 20, 42);
    let (a2, e2, s2) = generate(1 << 20, 42);
    assert!(a1 == a2, "access.log differs between two runs with seed 42");
    assert!(e1 == e2, "error.log differs between two runs with seed 42");
    assert_eq!(s1, s2);
    assert!(a1.len() as u64 >= 1 << 20 && s1.bytes == a1.len() as u64);
    assert_eq!(s1.error_bytes, e1.len() as u64);
    assert_eq!(s1.lines, a1.iter().filter(|&&b| b == b'\n').count() as u64);

    let (a3, e3, _) = generate(1 << 20, 43);
    assert!(a1 != a3 && e1 != e3, "seeds 42 and 43 gave the same logs");

    // The size only says where to stop: a smaller file is the start of a larger one.
    let (small, small_errors, _) = generate(256 << 10, 42);
    assert!(a1.starts_with(&small) && e1.starts_with(&small_errors));
}

/// FNV-1a, to pin the generator's output without storing it.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Benchmark figures are only comparable across commits on the same bytes. If the generator
/// is changed on purpose, update these and say so in bench/RESULTS.md (earlier figures were
/// measured on other data).
#[test]
fn output_is_pinned() {
    let (access, error, stats) = generate(256 << 10, 42);
    assert_eq!(
        (fnv1a(&access), fnv1a(&error), stats.lines),
        (18_305_304_141_059_549_550, 2_235_513_260_969_403_174, 982),
        "genlog's output changed"
    );
}

fn diagnose(args: &[&std::path::Path]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .args(["diagnose", "--format", "json", "--tz", "UTC"])
        .args(args)
        .output()
        .expect("run fivehundred");
    assert_eq!(
        out.status.code(),
        Some(1),
        "5xx found means exit 1; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

#[test]
fn diagnose_reads_every_line_and_names_every_burst() {
    for seed in [42, 7] {
        let dir = tempfile::tempdir().unwrap();
        let s = genlog::write_logs(dir.path(), 3 << 20, seed).expect("write logs");
        // The file has what the checks below are about.
        assert!(
            s.malformed > 0 && s.bursts >= 2 && s.server_errors > 100,
            "seed {seed}: {s:?}"
        );
        let access = dir.path().join("access.log");
        let error = dir.path().join("error.log");
        let r = diagnose(&[&access, &error]);

        let inputs = r["inputs"].as_array().unwrap();
        let acc = inputs.iter().find(|i| i["kind"] == "access").unwrap();
        assert_eq!(acc["format"], "combined", "seed {seed}");
        assert_eq!(acc["lines"], s.lines, "seed {seed}");
        assert_eq!(acc["unparsed"], s.malformed, "seed {seed}: malformed lines");
        let err = inputs.iter().find(|i| i["kind"] == "error").unwrap();
        assert_eq!(err["format"], "nginx_error", "seed {seed}");
        assert_eq!(err["unparsed"], 0, "seed {seed}");

        let summary = &r["summary"];
        assert_eq!(summary["requests"], s.requests, "seed {seed}");
        assert_eq!(summary["server_errors"], s.server_errors, "seed {seed}");
        let by_status: serde_json::Map<String, Value> = s
            .by_status
            .iter()
            .map(|(st, n)| (st.to_string(), Value::from(*n)))
            .collect();
        assert_eq!(
            summary["by_status"],
            Value::Object(by_status),
            "seed {seed}"
        );

        let incidents = r["incidents"].as_array().unwrap();
        let total: u64 = incidents.iter().map(|i| i["count"].as_u64().unwrap()).sum();
        assert_eq!(
            total, s.server_errors,
            "seed {seed}: sum of incident counts"
        );

        // Each burst's records name its cause; the 503s no record explains are unknown.
        let mut by_cause = [0u64; genlog::CAUSES.len()];
        for i in incidents {
            let cause = i["cause"].as_str().unwrap();
            let at = genlog::CAUSES
                .iter()
                .position(|c| *c == cause)
                .unwrap_or_else(|| panic!("seed {seed}: unexpected cause {cause}"));
            by_cause[at] += i["count"].as_u64().unwrap();
        }
        let named = |counts: &[u64]| -> Vec<(&str, u64)> {
            genlog::CAUSES
                .iter()
                .copied()
                .zip(counts.iter().copied())
                .filter(|(_, n)| *n > 0)
                .collect()
        };
        assert_eq!(
            named(&by_cause),
            named(&s.by_cause),
            "seed {seed}: 5xx by cause"
        );
        // The error log's noise (scanner 404s, PHP warnings on pages that worked, reloads)
        // is no incident of its own.
        assert_eq!(
            r["other_errors"].as_array().map(Vec::len),
            Some(0),
            "seed {seed}: {}",
            r["other_errors"]
        );

        // The access log alone: the same 5xx, none explained.
        let alone = diagnose(&[&access]);
        assert_eq!(alone["summary"], r["summary"], "seed {seed}");
        assert!(
            alone["incidents"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["cause"] == "unknown"),
            "seed {seed}"
        );
    }
}
