//! The built binary against inputs no log should contain, but some do: binary files, broken
//! UTF-8, endless lines, cut-off files and archives, paths that cannot be read, and terminal
//! escape sequences planted in requests and messages. Whatever comes in, the answer is clear:
//! no panic, an exit code the spec names, valid JSON whose counts add up, unparsable lines
//! counted, and no escape byte reaching a terminal.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// What one run of the binary gave.
struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

fn run<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out: Output = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    let r = Run {
        code: out.status.code().expect("exited, not killed by a signal"),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_sane(&r);
    r
}

/// No panic, no backtrace, an exit code of the spec, no escape byte on either stream.
fn assert_sane(r: &Run) {
    assert!(
        !r.stderr.contains("panicked") && !r.stderr.contains("backtrace"),
        "panic: {}",
        r.stderr
    );
    assert!((0..=2).contains(&r.code), "exit {}: {}", r.code, r.stderr);
    assert_no_escape("stdout", &r.stdout);
    assert_no_escape("stderr", r.stderr.as_bytes());
}

fn assert_no_escape(what: &str, b: &[u8]) {
    assert!(
        !b.contains(&0x1b),
        "ESC on {what}: {:?}",
        String::from_utf8_lossy(b)
    );
    assert!(
        !b.windows(2).any(|w| w == b"\xc2\x9b"),
        "8-bit CSI on {what}"
    );
    assert!(!b.contains(&0x07), "BEL on {what}");
}

/// `diagnose --format json` on `paths`: the exit code and the checked report.
fn diagnose_json(paths: &[&Path]) -> (Run, Value) {
    let mut args: Vec<&OsStr> = vec![
        "diagnose".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        "--tz".as_ref(),
        "UTC".as_ref(),
    ];
    args.extend(paths.iter().map(|p| p.as_os_str()));
    let r = run(&args);
    assert!(r.code != 2, "exit 2: {}", r.stderr);
    let v: Value = serde_json::from_slice(&r.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&r.stdout[..r.stdout.len().min(2000)])
        )
    });
    check_report(&v);
    let errors = v["summary"]["server_errors"].as_u64().unwrap();
    let found = if inputs(&v).iter().any(|i| i["kind"] == "access") {
        errors > 0
    } else {
        !v["incidents"].as_array().unwrap().is_empty()
    };
    assert_eq!(r.code, i32::from(found), "exit code and findings disagree");
    assert_times_are_rfc3339(&v);
    (r, v)
}

/// `diagnose` (text) on `paths`.
fn diagnose_text(paths: &[&Path]) -> Run {
    let mut args: Vec<&OsStr> = vec!["diagnose".as_ref(), "--tz".as_ref(), "UTC".as_ref()];
    args.extend(paths.iter().map(|p| p.as_os_str()));
    let r = run(&args);
    assert!(
        std::str::from_utf8(&r.stdout).is_ok(),
        "text output is UTF-8"
    );
    r
}

/// The spec's invariants, and no control character in any string of the document.
fn check_report(v: &Value) {
    assert_eq!(v["version"], 1);
    let incidents = v["incidents"].as_array().expect("incidents");
    let sum: u64 = incidents.iter().map(|i| i["count"].as_u64().unwrap()).sum();
    let errors = v["summary"]["server_errors"].as_u64().unwrap();
    let has_access = inputs(v).iter().any(|i| i["kind"] == "access");
    if has_access {
        assert_eq!(
            sum, errors,
            "sum(incidents[].count) != summary.server_errors"
        );
    }
    let by_status: u64 = v["summary"]["by_status"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with('5'))
        .map(|(_, n)| n.as_u64().unwrap())
        .sum();
    assert_eq!(by_status, errors, "by_status 5xx != server_errors");
    let counts: Vec<u64> = incidents
        .iter()
        .map(|i| i["count"].as_u64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "sorted by count");
    for i in inputs(v) {
        let kind = i["kind"].as_str().unwrap();
        assert!(
            ["access", "error", "php_fpm", "php_error", "unknown"].contains(&kind),
            "kind {kind}"
        );
        assert!(i["unparsed"].as_u64().unwrap() <= i["lines"].as_u64().unwrap());
    }
    walk_strings(v, &mut |s| {
        assert!(
            !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t'),
            "control character in a JSON string: {s:?}"
        )
    });
}

fn walk_strings(v: &Value, f: &mut impl FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter().for_each(|x| walk_strings(x, f)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            f(k);
            walk_strings(x, f)
        }),
        _ => {}
    }
}

fn inputs(v: &Value) -> &Vec<Value> {
    v["inputs"].as_array().expect("inputs")
}

/// The `inputs[]` entry whose path ends with `name`.
fn input<'a>(v: &'a Value, name: &str) -> &'a Value {
    inputs(v)
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("no input {name} in {v}"))
}

fn num(v: &Value, path: &[&str]) -> u64 {
    path.iter()
        .fold(v, |v, k| &v[*k])
        .as_u64()
        .unwrap_or_else(|| panic!("{path:?} in {v}"))
}

// ---------------------------------------------------------------------------------------------
// Inputs.

/// A `combined` access-log line, `i` seconds after 14:00:00.
fn access(i: usize, path: &str, status: u16) -> String {
    format!(
        "203.0.113.7 - - [25/Nov/2026:14:{:02}:{:02} +0000] \"GET {path} HTTP/1.1\" {status} 512 \"-\" \"Mozilla/5.0\"\n",
        i / 60 % 60,
        i % 60
    )
}

/// `n` access lines, every fifth a 500.
fn access_lines(n: usize) -> (String, usize) {
    let mut s = String::new();
    let mut errors = 0;
    for i in 0..n {
        let status = if i % 5 == 4 { 500 } else { 200 };
        errors += usize::from(status == 500);
        s += &access(i, &format!("/page{i}.php"), status);
    }
    (s, errors)
}

/// An nginx error record for a memory-limit failure of `path` at 14:00:SS.
fn nginx_error(sec: usize, path: &str, message_extra: &str) -> String {
    format!(
        "2026/11/25 14:00:{sec:02} [error] 812#812: *5 FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted (tried to allocate 20480 bytes){message_extra} in /srv/www{path} on line 12\" while reading response header from upstream, client: 203.0.113.7, server: _, request: \"GET {path} HTTP/1.1\", upstream: \"fastcgi://unix:/run/php/php8.2-fpm.sock:\", host: \"example.org\"\n"
    )
}

/// Bytes that look like nothing: xorshift, so every run sees the same ones.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

fn write(dir: &Path, name: impl AsRef<Path>, data: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

// ---------------------------------------------------------------------------------------------
// Binary and broken text.

#[test]
fn random_binary_alone_is_named_and_exits_2_not_0() {
    // Nothing read is no answer: "no 5xx" (exit 0) would be read as one by a cron job.
    let dir = tempfile::tempdir().unwrap();
    let bin = write(dir.path(), "core.bin", noise(256 << 10, 7));
    for format in ["text", "json"] {
        let r = run([
            OsStr::new("diagnose"),
            "--format".as_ref(),
            format.as_ref(),
            bin.as_os_str(),
        ]);
        assert_one_line_error(&r, "core.bin");
    }
}

#[test]
fn binary_files_beside_logs_leave_the_logs_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (log, errors) = access_lines(50);
    write(dir.path(), "access.log", &log);
    write(dir.path(), "error.log", nginx_error(4, "/page4.php", ""));
    write(dir.path(), "junk.bin", noise(64 << 10, 11));
    write(dir.path(), "lastlog", [0u8; 4096]);
    let (r, v) = diagnose_json(&[dir.path()]);
    assert_eq!(r.code, 1);
    assert_eq!(num(&v, &["summary", "requests"]), 50);
    assert_eq!(num(&v, &["summary", "server_errors"]), errors as u64);
    assert_eq!(input(&v, "access.log")["unparsed"], 0);
    assert_eq!(input(&v, "lastlog")["kind"], "unknown");
}

#[test]
fn invalid_utf8_inside_valid_lines_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Vec::new();
    log.extend(access(0, "/ok", 200).as_bytes());
    log.extend(b"203.0.113.7 - - [25/Nov/2026:14:00:01 +0000] \"GET /caf\xe9/\xff\xfe.php HTTP/1.1\" 500 5 \"-\" \"ua \xc3\x28 \xed\xa0\x80\"\n");
    log.extend(b"203.0.113.7 - - [25/Nov/2026:14:00:02 +0000] \"GET /nul\x00byte HTTP/1.1\" 502 5 \"-\" \"\x00\"\r\n");
    log.extend(access(3, "/ok", 200).as_bytes());
    let p = write(dir.path(), "access.log", &log);
    let (_, v) = diagnose_json(&[&p]);
    assert_eq!(num(&v, &["summary", "requests"]), 4);
    assert_eq!(num(&v, &["summary", "server_errors"]), 2);
    assert_eq!(input(&v, "access.log")["unparsed"], 0);
    let paths: Vec<&str> = v["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["paths"].as_array().unwrap())
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(paths.iter().any(|p| p.contains('\u{fffd}')), "{paths:?}");
    diagnose_text(&[&p]);
}

#[test]
fn invalid_utf8_in_error_logs_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let acc = write(dir.path(), "access.log", access(3, "/r.php", 500));
    let err = write(
        dir.path(),
        "error.log",
        [
            nginx_error(3, "/r.php", " \u{fffd}").as_bytes(),
            b"2026/11/25 14:00:04 [crit] 1#1: *9 open() \"/srv/www/\xff\xfe\" failed (13: Permission denied), client: 1.2.3.4\xff, server: _\n",
        ]
        .concat(),
    );
    let (_, v) = diagnose_json(&[&acc, &err]);
    assert_eq!(input(&v, "error.log")["unparsed"], 0);
    assert_eq!(input(&v, "error.log")["lines"], 2);
    assert_eq!(v["incidents"][0]["cause"], "php_memory_limit");
}

// ---------------------------------------------------------------------------------------------
// Long, cut-off and empty.

#[test]
fn a_1mb_line_among_valid_ones_is_one_unparsed_line() {
    let dir = tempfile::tempdir().unwrap();
    let (head, e1) = access_lines(20);
    let (tail, e2) = access_lines(30);
    let long = "x".repeat(1 << 20);
    let p = write(dir.path(), "access.log", format!("{head}{long}\n{tail}"));
    let (_, v) = diagnose_json(&[&p]);
    assert_eq!(input(&v, "access.log")["lines"], 51);
    assert_eq!(input(&v, "access.log")["unparsed"], 1);
    assert_eq!(num(&v, &["summary", "requests"]), 50);
    assert_eq!(num(&v, &["summary", "server_errors"]), (e1 + e2) as u64);
}

#[test]
fn a_1mb_request_in_a_valid_line_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let long_path = format!("/{}", "a".repeat(1 << 20));
    let p = write(
        dir.path(),
        "access.log",
        [access(0, "/x", 200), access(1, &long_path, 503)].concat(),
    );
    let (r, v) = diagnose_json(&[&p]);
    assert_eq!(num(&v, &["summary", "server_errors"]), 1);
    assert_eq!(input(&v, "access.log")["unparsed"], 0);
    assert!(r.stdout.len() > 1 << 20, "the path is reported whole");
}

#[test]
fn a_20mb_line_without_newline_is_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (head, e1) = access_lines(40);
    let (tail, e2) = access_lines(10);
    let huge = "y".repeat(20 << 20);
    // In the middle, at the very start, and at the end with no newline after it.
    let cases = [
        ("middle.log", format!("{head}{huge}\n{tail}"), 50, e1 + e2),
        ("first.log", format!("{huge}\n{head}{tail}"), 50, e1 + e2),
        ("last.log", format!("{head}{huge}"), 40, e1),
    ];
    for (name, text, requests, errors) in cases {
        let p = write(dir.path(), name, text);
        let (_, v) = diagnose_json(&[&p]);
        let i = input(&v, name);
        assert_eq!(i["kind"], "access", "{name}");
        assert_eq!(i["unparsed"], 1, "{name}");
        assert_eq!(i["lines"], requests + 1, "{name}");
        assert_eq!(num(&v, &["summary", "requests"]), requests, "{name}");
        assert_eq!(
            num(&v, &["summary", "server_errors"]),
            errors as u64,
            "{name}"
        );
        std::fs::remove_file(p).unwrap();
    }
}

#[test]
fn a_20mb_line_in_an_error_log_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let acc = write(dir.path(), "access.log", access(3, "/r.php", 500));
    let text = format!(
        "{}{}\n{}",
        nginx_error(1, "/other.php", ""),
        "z".repeat(20 << 20),
        nginx_error(3, "/r.php", "")
    );
    let err = write(dir.path(), "error.log", text);
    let (_, v) = diagnose_json(&[&acc, &err]);
    assert_eq!(input(&v, "error.log")["unparsed"], 1);
    assert_eq!(v["incidents"][0]["cause"], "php_memory_limit");
    assert_eq!(v["incidents"][0]["paths"][0], "/r.php");
}

/// PHP notices, as a misconfigured `error_log` writes them into the access log.
fn php_notices(n: usize) -> String {
    (0..n)
        .map(|i| format!("[25-Nov-2026 14:00:00 UTC] PHP Notice:  Undefined index: q in /srv/www/a.php on line {i}\n"))
        .collect()
}

#[test]
fn dozens_of_php_notices_at_the_head_of_an_access_log_hide_none_of_its_5xx() {
    let dir = tempfile::tempdir().unwrap();
    let (log, errors) = access_lines(2000);
    let p = write(
        dir.path(),
        "access.log",
        format!("{}{log}", php_notices(43)),
    );
    let (r, v) = diagnose_json(&[&p]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(input(&v, "access.log")["kind"], "access");
    assert_eq!(input(&v, "access.log")["unparsed"], 43);
    assert_eq!(num(&v, &["summary", "server_errors"]), errors as u64);
}

#[test]
fn an_access_log_whose_format_changes_after_a_banner_loses_no_5xx_in_either() {
    // Over a block (2 MiB) in each format, so blocks wholly in the second, and one with both.
    // Where the change falls in that block decides whether the new format is most of it or
    // a few thousand lines at its end: both must be read.
    let (combined, e1) = access_lines(25_000);
    let block = 2 << 20;
    let at = combined.len() % block;
    for cut in [
        0,
        (block - at).saturating_sub(600_000),
        (block - at).saturating_sub(100_000),
    ] {
        // `cut` more bytes of combined lines before the change, in whole lines.
        let (more, e2) = access_lines(cut / (combined.len() / 25_000));
        format_change_after_banner(
            &(combined.clone() + &more),
            e1 + e2,
            25_000 + more.lines().count(),
        );
    }
}

/// `combined` (`errors` 5xx in `lines` lines), a banner, then 25,000 JSON lines: diagnose
/// and seo count every request and 5xx of both.
fn format_change_after_banner(combined: &str, errors: usize, lines: usize) {
    let dir = tempfile::tempdir().unwrap();
    // Every 100th a crawler's (so `seo` too must read this part).
    let json: String = (0..25_000)
        .map(|i| {
            let status = if i % 4 == 3 { 502 } else { 200 };
            let agent = match i % 100 {
                3 => "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                _ => "curl/8.5",
            };
            format!(
                "{{\"time\":\"2026-11-25T15:{:02}:{:02}+00:00\",\"remote_addr\":\"198.51.100.4\",\"request\":\"GET /j{i} HTTP/1.1\",\"status\":{status},\"http_user_agent\":\"{agent}\"}}\n",
                i / 60 % 60,
                i % 60
            )
        })
        .collect();
    let banner = "=== log_format changed to json at reload ===\n";
    let p = write(
        dir.path(),
        "access.log",
        format!("{combined}{banner}{json}"),
    );
    let (_, v) = diagnose_json(&[&p]);
    let at = format!("{} combined lines", lines);
    assert_eq!(
        input(&v, "access.log")["unparsed"],
        1,
        "the banner only, {at}"
    );
    assert_eq!(
        num(&v, &["summary", "requests"]),
        (lines + 25_000) as u64,
        "{at}"
    );
    assert_eq!(
        num(&v, &["summary", "server_errors"]),
        (errors + 25_000 / 4) as u64,
        "{at}"
    );
    let seo = run([
        OsStr::new("seo"),
        "--format".as_ref(),
        "json".as_ref(),
        p.as_os_str(),
    ]);
    let seo: Value = serde_json::from_slice(&seo.stdout).unwrap();
    assert_eq!(
        num(&seo, &["crawlers", "googlebot", "server_errors"]),
        250,
        "{at}"
    );
}

#[test]
fn a_block_of_garbage_at_the_head_or_in_the_middle_loses_no_line_around_it() {
    let dir = tempfile::tempdir().unwrap();
    let (head, e1) = access_lines(1500);
    let (tail, e2) = access_lines(1500);
    // Garbage as a crash leaves it: many short "lines" of noise (with no `\n`, one long one).
    let junk: Vec<u8> = noise(200_000, 7)
        .chunks(60)
        .flat_map(|c| {
            let line = c
                .iter()
                .map(|&b| if b == b'\n' || b == b'\r' { b'.' } else { b });
            line.chain([b'\n'])
        })
        .collect();
    let junk_lines = junk.iter().filter(|&&b| b == b'\n').count() as u64;
    let at_head = [&junk, head.as_bytes(), tail.as_bytes()].concat();
    let in_middle = [head.as_bytes(), &junk, tail.as_bytes()].concat();
    for (name, data) in [
        ("head.log", at_head.clone()),
        ("middle.log", in_middle.clone()),
        ("head.log.gz", gzip(&at_head)),
        ("middle.log.gz", gzip(&in_middle)),
    ] {
        let p = write(dir.path(), name, data);
        let (r, v) = diagnose_json(&[&p]);
        assert_eq!(r.code, 1, "{name}: {}", r.stderr);
        assert_eq!(input(&v, name)["kind"], "access", "{name}");
        assert_eq!(input(&v, name)["lines"], 3000 + junk_lines, "{name}");
        assert_eq!(input(&v, name)["unparsed"], junk_lines, "{name}");
        assert_eq!(
            num(&v, &["summary", "server_errors"]),
            (e1 + e2) as u64,
            "{name}"
        );
    }
}

/// `diagnose --format json --trace` of one log given by its path, and given on stdin: the
/// two reports, with the input's name taken out.
fn from_file_and_stdin(path: &Path) -> (Value, Value) {
    let report = |file: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fivehundred"));
        cmd.args(["diagnose", "--format", "json", "--trace", "--tz", "UTC"]);
        if file {
            cmd.arg(path).stdin(Stdio::null());
        } else {
            cmd.arg("-").stdin(std::fs::File::open(path).unwrap());
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.code().is_some_and(|c| c < 2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut v: Value = serde_json::from_slice(&out.stdout).unwrap();
        for input in v["inputs"].as_array_mut().unwrap() {
            input.as_object_mut().unwrap().remove("path");
        }
        v
    };
    (report(true), report(false))
}

#[test]
fn a_log_big_enough_to_be_mapped_reads_exactly_as_one_read_through_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    // Over 8 MB each (files that big are mapped, stdin never is), with a 20 MB line among them
    // and lines across every block boundary.
    let (access, errors) = access_lines(120_000);
    let huge = "x".repeat(20 << 20);
    let p = write(
        dir.path(),
        "access.log",
        format!("{access}{huge}\n{access}"),
    );
    let (file, piped) = from_file_and_stdin(&p);
    assert_eq!(file, piped);
    assert_eq!(num(&file, &["summary", "server_errors"]), 2 * errors as u64);
    assert_eq!(file["inputs"][0]["unparsed"], 1);
    let records: String = (0..30_000)
        .map(|i| nginx_error(i % 60, &format!("/p{}.php", i % 97), ""))
        .collect();
    let p = write(dir.path(), "error.log", records);
    let (file, piped) = from_file_and_stdin(&p);
    assert_eq!(file, piped);
    assert!(!file["incidents"].as_array().unwrap().is_empty());
}

#[test]
fn a_truncated_last_line_is_unparsed_and_the_rest_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (log, errors) = access_lines(25);
    let cut = &access(99, "/cut.php", 500)[..40];
    let p = write(dir.path(), "access.log", format!("{log}{cut}"));
    let (_, v) = diagnose_json(&[&p]);
    assert_eq!(input(&v, "access.log")["lines"], 26);
    assert_eq!(input(&v, "access.log")["unparsed"], 1);
    assert_eq!(num(&v, &["summary", "server_errors"]), errors as u64);
    // A whole last line without its newline is a line like any other.
    let whole = access(99, "/last.php", 500);
    let p = write(
        dir.path(),
        "access2.log",
        format!("{log}{}", whole.trim_end()),
    );
    let (_, v) = diagnose_json(&[&p]);
    assert_eq!(input(&v, "access2.log")["unparsed"], 0);
    assert_eq!(num(&v, &["summary", "server_errors"]), errors as u64 + 1);
}

#[test]
fn lines_across_block_boundaries_are_all_counted() {
    // Bigger than the reader's 4 MiB blocks, plain and gzip, lines of every length (CRLF
    // ones too), with any number of parser threads: every line is counted exactly once.
    let dir = tempfile::tempdir().unwrap();
    let mut log = String::new();
    let (mut requests, mut errors) = (0u64, 0u64);
    let mut i = 0usize;
    while log.len() < 10 << 20 {
        let status = if i % 7 == 3 { 503 } else { 200 };
        let pad = "p".repeat(i * 7919 % 700);
        let mut line = access(i % 3600, &format!("/{i}/{pad}"), status);
        if i.is_multiple_of(5) {
            line.insert(line.len() - 1, '\r');
        }
        log += &line;
        requests += 1;
        errors += u64::from(status == 503);
        i += 1;
    }
    let plain = write(dir.path(), "big.log", &log);
    let gz = write(dir.path(), "big.log.1.gz", gzip(log.as_bytes()));
    for p in [&plain, &gz] {
        for threads in ["1", "3"] {
            let r = run([
                OsStr::new("diagnose"),
                "--format".as_ref(),
                "json".as_ref(),
                "--threads".as_ref(),
                threads.as_ref(),
                p.as_os_str(),
            ]);
            let v: Value = serde_json::from_slice(&r.stdout).unwrap();
            check_report(&v);
            let name = p.file_name().unwrap().to_str().unwrap();
            assert_eq!(input(&v, name)["lines"], requests, "{name}");
            assert_eq!(input(&v, name)["unparsed"], 0, "{name}");
            assert_eq!(num(&v, &["summary", "requests"]), requests, "{name}");
            assert_eq!(num(&v, &["summary", "server_errors"]), errors, "{name}");
        }
    }
}

#[test]
fn empty_files_and_files_of_newlines_are_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.log", "");
    let newlines = write(dir.path(), "newlines.log", "\n".repeat(10_000));
    let blanks = write(dir.path(), "blanks.log", " \r\n\t\n\r\n".repeat(1000));
    for p in [&empty, &newlines, &blanks] {
        let (r, v) = diagnose_json(&[p]);
        assert_eq!(r.code, 0);
        assert_eq!(inputs(&v).len(), 1);
        assert_eq!(inputs(&v)[0]["unparsed"], 0);
        assert_eq!(num(&v, &["summary", "requests"]), 0);
        assert_eq!(diagnose_text(&[p]).code, 0);
    }
    // Blank lines between valid ones change nothing.
    let (log, errors) = access_lines(10);
    let spaced = log.replace('\n', "\n\n\r\n");
    let p = write(dir.path(), "spaced.log", spaced);
    let (_, v) = diagnose_json(&[&p]);
    assert_eq!(num(&v, &["summary", "requests"]), 10);
    assert_eq!(num(&v, &["summary", "server_errors"]), errors as u64);
    assert_eq!(input(&v, "spaced.log")["unparsed"], 0);
}

#[test]
fn a_gzip_cut_in_the_middle_keeps_its_lines_and_warns() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = access_lines(3000);
    let gz = gzip(log.as_bytes());
    let cut = write(dir.path(), "access.log.2.gz", &gz[..gz.len() / 2]);
    let (r, v) = diagnose_json(&[&cut]);
    let i = input(&v, "access.log.2.gz");
    assert_eq!(i["kind"], "access");
    let lines = i["lines"].as_u64().unwrap();
    assert!(lines > 100 && lines < 3000, "{i}");
    assert!(num(&v, &["summary", "server_errors"]) > 0);
    let warnings: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(warnings.len(), 1, "{}", r.stderr);
    assert!(warnings[0].contains("access.log.2.gz"), "{}", r.stderr);

    // Inside a directory, the other files are still read.
    let sub = dir.path().join("logs");
    std::fs::create_dir(&sub).unwrap();
    std::fs::rename(&cut, sub.join("access.log.2.gz")).unwrap();
    write(&sub, "access.log", access(0, "/fresh.php", 502));
    write(
        &sub,
        "access.log.3.gz",
        [0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad],
    );
    let (r, v) = diagnose_json(&[&sub]);
    assert_eq!(input(&v, "/access.log")["lines"], 1);
    assert_eq!(inputs(&v).len(), 3);
    assert!(r.stderr.contains("access.log.3.gz"), "{}", r.stderr);
    let paths = v["incidents"].to_string();
    assert!(paths.contains("/fresh.php"), "{paths}");
    diagnose_text(&[&sub]);
}

// ---------------------------------------------------------------------------------------------
// Paths that cannot be read.

/// Exactly one line on stderr, exit 2, nothing on stdout.
fn assert_one_line_error(r: &Run, mentions: &str) {
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{:?}", r.stderr);
    assert!(lines[0].contains(mentions), "{:?}", r.stderr);
}

#[test]
fn a_named_path_that_cannot_be_read_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "access.log", access(0, "/", 500));
    let missing = dir.path().join("missing.log");
    let under_a_file = file.join("x.log");
    let dangling = dir.path().join("dangling.log");
    std::os::unix::fs::symlink(dir.path().join("gone"), &dangling).unwrap();
    let looping = dir.path().join("loop.log");
    std::os::unix::fs::symlink(&looping, &looping).unwrap();
    for p in [&missing, &under_a_file, &dangling, &looping] {
        for format in ["text", "json"] {
            let r = run([
                OsStr::new("diagnose"),
                "--format".as_ref(),
                format.as_ref(),
                p.as_os_str(),
            ]);
            let name = p.file_name().unwrap().to_str().unwrap();
            assert_one_line_error(&r, name);
        }
        // Named next to a good file, it is still an error.
        let r = run([OsStr::new("diagnose"), file.as_os_str(), p.as_os_str()]);
        assert_one_line_error(&r, p.file_name().unwrap().to_str().unwrap());
    }
}

#[test]
fn an_entry_of_a_directory_that_cannot_be_read_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let (log, errors) = access_lines(20);
    write(dir.path(), "access.log", &log);
    std::os::unix::fs::symlink(dir.path().join("gone"), dir.path().join("access.log.1")).unwrap();
    let (r, v) = diagnose_json(&[dir.path()]);
    assert_eq!(num(&v, &["summary", "server_errors"]), errors as u64);
    // Listed as not read, with why.
    assert_eq!(inputs(&v).len(), 2);
    assert_eq!(input(&v, "access.log.1")["kind"], "unknown");
    assert!(input(&v, "access.log.1")["reason"].is_string());
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", r.stderr);
    assert!(
        lines[0].contains("warning") && lines[0].contains("access.log.1"),
        "{}",
        r.stderr
    );
}

#[test]
fn an_unreadable_file_in_a_directory_is_a_warning_or_read() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (log, errors) = access_lines(20);
    write(dir.path(), "access.log", &log);
    let locked = write(dir.path(), "access.log.1", access(0, "/locked.php", 500));
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    // root reads it anyway; anyone else gets a warning and the rest.
    let readable = std::fs::File::open(&locked).is_ok();
    let (r, v) = diagnose_json(&[dir.path()]);
    if readable {
        assert_eq!(num(&v, &["summary", "server_errors"]), errors as u64 + 1);
    } else {
        assert_eq!(num(&v, &["summary", "server_errors"]), errors as u64);
        assert!(r.stderr.contains("access.log.1"), "{}", r.stderr);
    }
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o644)).unwrap();
}

/// The binary run as `nobody` (root reads every file whatever its mode); `None` where that
/// cannot be done (not root, no `setpriv`).
fn run_as_nobody(args: &[&OsStr]) -> Option<Run> {
    let is_root = std::fs::metadata("/proc/self").ok()?;
    if std::os::unix::fs::MetadataExt::uid(&is_root) != 0 {
        return None;
    }
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_fivehundred"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let r = Run {
        code: out.status.code()?,
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_sane(&r);
    Some(r)
}

#[test]
fn a_log_denied_by_its_mode_is_named_on_stderr_whatever_the_format() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (log, errors) = access_lines(20);
    write(dir.path(), "access.log", &log);
    let locked = write(dir.path(), "access.log.1", access(0, "/locked.php", 500));
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let formats: [&[&str]; 3] = [
        &["--format", "text"],
        &["--format", "json"],
        &["--format", "html", "-o", "/dev/null"],
    ];
    for format in formats {
        let mut args: Vec<&OsStr> = vec!["diagnose".as_ref()];
        args.extend(format.iter().map(OsStr::new));
        args.push(dir.path().as_os_str());
        let Some(r) = run_as_nobody(&args) else {
            eprintln!("cannot run as nobody here: skipped");
            return;
        };
        assert_eq!(r.code, 1, "{format:?}: {}", r.stderr);
        let lines: Vec<&str> = r.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{format:?}: {}", r.stderr);
        assert!(
            lines[0].contains("access.log.1") && lines[0].contains("Permission denied"),
            "{format:?}: {}",
            r.stderr
        );
        if format[1] == "json" {
            let v: Value = serde_json::from_slice(&r.stdout).unwrap();
            assert_eq!(num(&v, &["summary", "server_errors"]), errors as u64);
            assert!(
                input(&v, "access.log.1")["reason"]
                    .as_str()
                    .unwrap()
                    .contains("Permission denied")
            );
        }
    }
    // With every log locked, nothing could be read: exit 2, the one line naming why.
    std::fs::create_dir(dir.path().join("only")).unwrap();
    let only = write(dir.path(), "only/access.log", &log);
    std::fs::set_permissions(&only, std::fs::Permissions::from_mode(0o000)).unwrap();
    let r = run_as_nobody(&["seo".as_ref(), only.parent().unwrap().as_os_str()]).unwrap();
    assert_one_line_error(&r, "Permission denied");
}

// ---------------------------------------------------------------------------------------------
// Terminal escape sequences.

const ESCAPES: &[&str] = &[
    "\x1b[31m",
    "\x1b[2J\x1b[H",
    "\x1b]0;pwned\x07",
    "\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\",
    "\u{9b}31m",
    "\x07",
    "\x08\x08\x08",
];

#[test]
fn escape_sequences_never_reach_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut acc = String::new();
    let mut err = String::new();
    for (i, e) in ESCAPES.iter().enumerate() {
        let path = format!("/a{e}b{i}.php");
        acc += &access(i, &path, 500);
        acc += &access(i, &format!("/ok{e}"), 200);
        err += &nginx_error(i, &path, e);
    }
    // PHP's and Apache's own logs, with escapes in the message.
    let php = format!(
        "[25-Nov-2026 14:00:01 UTC] PHP Fatal error:  Uncaught Exception: {} in /srv/www/x.php:3\nStack trace:\n#0 {}{{main}}\n",
        ESCAPES.join(" "),
        ESCAPES[2]
    );
    let apache = format!(
        "[Wed Nov 25 14:00:02.000001 2026] [php:error] [pid 9] [client 203.0.113.7:4000] PHP Fatal error:  {} in /srv/www/y.php on line 2\n",
        ESCAPES.join("")
    );
    write(dir.path(), "access.log", &acc);
    write(dir.path(), "error.log", &err);
    write(dir.path(), "php_errors.log", &php);
    write(dir.path(), "apache_error.log", &apache);
    // A file name with an escape, holding junk so the text output names it.
    write(dir.path(), "evil\x1b]0;title\x07.log", "junk\x1b[31m\n");
    let (_, v) = diagnose_json(&[dir.path()]);
    assert_eq!(num(&v, &["summary", "server_errors"]), ESCAPES.len() as u64);
    assert!(
        inputs(&v)
            .iter()
            .any(|i| i["path"].as_str().unwrap().contains("evil")),
        "{v}"
    );
    let text = diagnose_text(&[dir.path()]);
    let text_out = String::from_utf8(text.stdout).unwrap();
    assert!(text_out.contains("evil"), "{text_out}");
    let html = dir.path().join("report.html");
    let r = run([
        OsStr::new("diagnose"),
        "--format".as_ref(),
        "html".as_ref(),
        "-o".as_ref(),
        html.as_os_str(),
        dir.path().as_os_str(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_no_escape("html", &std::fs::read(&html).unwrap());
    // A missing path with an escape in its name: the one error line is clean too.
    let r = run([
        OsStr::new("diagnose"),
        dir.path().join("nope\x1b[2J.log").as_os_str(),
    ]);
    assert_one_line_error(&r, "nope");
}

#[test]
fn escape_sequences_in_flag_values_never_reach_stderr() {
    // Each value is echoed in the one error line; `run` fails on any escape byte in it.
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access.log", access(0, "/", 500));
    let log = log.to_str().unwrap();
    let evil = dir.path().join("out\x1b]0;t\x07/r.html");
    let evil = evil.to_str().unwrap();
    for e in ESCAPES {
        let x = format!("{e}X");
        let ranges = format!("google={e}.json");
        let crawler = format!("a{e}=(");
        let cases: Vec<Vec<&str>> = vec![
            vec!["diagnose", "--since", &x, log],
            vec!["diagnose", "--until", &x, log],
            vec!["diagnose", "--tz", &x, log],
            vec!["diagnose", "--access-format", &x, log],
            vec!["diagnose", "--threads", &x, log],
            vec!["diagnose", "--format", &x, log],
            vec!["diagnose", &x],
            vec!["diagnose", "--format", "json", "-o", evil, log],
            vec!["seo", "--crawler-ranges", &ranges, log],
            vec!["seo", "--crawler", &crawler, log],
            vec!["explain", &x],
            vec!["doctor", "--nginx-conf", &x],
            vec!["probe", &x],
            vec!["watch", "--config", &x],
        ];
        for args in cases {
            let r = run(&args);
            assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
            assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        }
    }
}

#[test]
fn escapes_through_stdin_are_stripped() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .args(["diagnose", "--tz", "UTC", "-"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut data = String::new();
    for (i, e) in ESCAPES.iter().enumerate() {
        data += &access(i, &format!("/{e}"), 500);
    }
    child
        .stdin
        .take()
        .unwrap()
        .write_all(data.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let r = Run {
        code: out.status.code().unwrap(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_sane(&r);
    assert_eq!(r.code, 1);
}

// ---------------------------------------------------------------------------------------------
// Shapes built to hurt a parser.

#[test]
fn json_lines_built_to_hurt() {
    let dir = tempfile::tempdir().unwrap();
    let ok = |i: usize, status: u16| {
        format!(
            "{{\"time\":\"2026-11-25T14:00:{:02}+00:00\",\"remote_addr\":\"1.2.3.4\",\"request\":\"GET /j{i} HTTP/1.1\",\"status\":{status},\"http_user_agent\":\"x\"}}\n",
            i % 60
        )
    };
    let mut log = String::new();
    for i in 0..10 {
        log += &ok(i, if i % 2 == 0 { 500 } else { 200 });
    }
    // Nesting deeper than any parser's stack, numbers out of every range, a status that is no
    // status, keys repeated, a truncated object.
    log += &format!("{{\"a\":{}{}}}\n", "[".repeat(200_000), "]".repeat(200_000));
    log += "{\"time\":\"2026-11-25T14:00:00Z\",\"status\":1e999}\n";
    log += "{\"time\":\"2026-11-25T14:00:00Z\",\"status\":-500}\n";
    log += "{\"time\":\"2026-11-25T14:00:00Z\",\"status\":99999999999999999999999}\n";
    log += "{\"time\":1e300,\"status\":500}\n";
    log += "{\"time\":-1,\"status\":500}\n";
    log += "{\"time\":\"2026-11-25T14:00:00+99:99\",\"status\":500}\n";
    log += "{\"time\":\"2026-11-25T14:00:00Z\",\"status\":500,\"status\":200}\n";
    log += "{\"time\":\"2026-11-25T14:00:00Z\",\"status\":\"5xx\"}\n";
    log += "{\"time\":\"2026-11-25T14:00:00Z\",\"status\":500,\"request\":{\"uri\":{\"deep\":1}}\n";
    let p = write(dir.path(), "access.json", &log);
    let (_, v) = diagnose_json(&[&p]);
    let i = input(&v, "access.json");
    assert_eq!(i["format"], "json");
    assert!(num(&v, &["summary", "requests"]) >= 10);
    assert!(num(&v, &["summary", "server_errors"]) >= 5);
    assert!(i["unparsed"].as_u64().unwrap() >= 7, "{i}");
    assert_times_are_rfc3339(&v);
}

/// `YYYY-MM-DDTHH:MM:SS(.f+)?(Z|±HH:MM)`, each field in range.
fn is_rfc3339(t: &str) -> bool {
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>, max: u32| {
        b.get(r.clone())
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
            && t[r].parse::<u32>().unwrap() <= max
    };
    if b.len() < 20
        || !(digits(0..4, 9999)
            && b[4] == b'-'
            && digits(5..7, 12)
            && b[7] == b'-'
            && digits(8..10, 31)
            && b[10] == b'T'
            && digits(11..13, 23)
            && b[13] == b':'
            && digits(14..16, 59)
            && b[16] == b':'
            && digits(17..19, 60))
    {
        return false;
    }
    let mut rest = &t[19..];
    if let Some(f) = rest.strip_prefix('.') {
        let n = f.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &f[n..];
    }
    rest == "Z"
        || (rest.len() == 6
            && (rest.starts_with('+') || rest.starts_with('-'))
            && rest[1..3].bytes().all(|c| c.is_ascii_digit())
            && rest[1..3].parse::<u32>().unwrap() <= 23
            && &rest[3..4] == ":"
            && rest[4..6].bytes().all(|c| c.is_ascii_digit())
            && rest[4..6].parse::<u32>().unwrap() <= 59)
}

fn assert_times_are_rfc3339(v: &Value) {
    for key in ["incidents", "other_errors"] {
        for inc in v[key].as_array().into_iter().flatten() {
            for k in ["first_seen", "last_seen"] {
                if let Some(t) = inc[k].as_str() {
                    assert!(is_rfc3339(t), "{k} = {t}");
                }
            }
        }
    }
}

#[test]
fn times_out_of_range_never_reach_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        "1.2.3.4 - - [25/Nov/2026:14:00:04 +9999] \"GET /a HTTP/1.1\" 500 1 \"-\" \"x\"",
        "1.2.3.4 - - [31/Feb/2026:14:00:04 +0000] \"GET /b HTTP/1.1\" 500 1 \"-\" \"x\"",
        "1.2.3.4 - - [01/Jan/0000:00:00:00 +1400] \"GET /c HTTP/1.1\" 500 1 \"-\" \"x\"",
        "1.2.3.4 - - [31/Dec/9999:23:59:59 -2359] \"GET /d HTTP/1.1\" 500 1 \"-\" \"x\"",
        "1.2.3.4 - - [25/Nov/2026:99:00:04 +0000] \"GET /e HTTP/1.1\" 500 1 \"-\" \"x\"",
    ];
    let p = write(dir.path(), "access.log", lines.join("\n"));
    let (_, v) = diagnose_json(&[&p]);
    assert_times_are_rfc3339(&v);
    // `+9999` and hour 99 are no times.
    assert_eq!(input(&v, "access.log")["unparsed"], 2);
}

#[test]
fn an_error_log_of_endless_continuation_lines() {
    let dir = tempfile::tempdir().unwrap();
    let acc = write(dir.path(), "access.log", access(1, "/r.php", 500));
    // One header, then 200 000 lines that continue it: the record stays bounded.
    let mut text = nginx_error(1, "/r.php", "");
    text += &"#1 /srv/www/r.php(3): f()\n".repeat(200_000);
    let err = write(dir.path(), "error.log", &text);
    let (r, v) = diagnose_json(&[&acc, &err]);
    assert_eq!(input(&v, "error.log")["lines"], 200_001);
    assert!(r.stdout.len() < 1 << 20, "evidence is bounded");
    // And headerless lines alone are junk, not a format.
    let junk = write(
        dir.path(),
        "junk.log",
        "Stack trace:\n#0 {main}\n".repeat(50_000),
    );
    let (_, v) = diagnose_json(&[&acc, &junk]);
    assert_eq!(input(&v, "junk.log")["kind"], "unknown");
}

#[test]
fn fragments_of_every_format_in_one_file() {
    // Lines of each format, then the same line cut at every tenth byte, in one file: never a
    // panic, the format still recognised, and every line accounted for.
    let samples = [
        access(1, "/a.php", 500),
        nginx_error(1, "/a.php", ""),
        "[Wed Nov 25 14:00:03.123456 2026] [proxy_fcgi:error] [pid 812:tid 9] (104)Connection reset by peer: [client 127.0.0.1:5555] AH01075: Error dispatching request to : , referer: http://x/\n".into(),
        "[25-Nov-2026 14:00:03] WARNING: [pool www] child 57, script '/srv/www/slow.php' (request: \"GET /slow.php?a=1\") execution timed out (2.012 sec), terminating\n".into(),
        "[25-Nov-2026 14:00:03 Europe/Berlin] PHP Fatal error:  Allowed memory size of 2097152 bytes exhausted in /srv/www/mem.php on line 3\n".into(),
        "{\"ts\":1764079203.5,\"request\":{\"remote_ip\":\"1.2.3.4\",\"method\":\"GET\",\"uri\":\"/b\"},\"status\":500}\n".into(),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (k, s) in samples.iter().enumerate() {
        let mut text = s.repeat(20);
        let mut lines = 20;
        for cut in (1..s.len()).step_by(10) {
            if s.is_char_boundary(cut) {
                text += &s[..cut];
                text += "\n";
                lines += 1;
            }
        }
        let p = write(dir.path(), format!("f{k}.log"), &text);
        let (_, v) = diagnose_json(&[&p]);
        let i = input(&v, &format!("f{k}.log"));
        assert_ne!(i["kind"], "unknown", "{k}: {i}");
        assert_eq!(i["lines"], lines, "{k}: {i}");
    }
}
