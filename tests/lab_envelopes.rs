//! Logs in envelopes, from real producers: a real nginx (upstream down: 502s) writes its access
//! and error lines to its own files, to one mixed file (both on one path, as the official image
//! sends both to the container's output) and to a real `rsyslogd` over UDP, which writes RFC
//! 3164, RFC 5424 and its default format; `systemd-journal-remote` turns the mixed stream into a
//! journal read back with `journalctl --file`; Docker's `json-file` and the CRI format wrap it as
//! those runtimes write it (`tests/fixtures/envelopes/README.md`). Every envelope must count
//! every 5xx exactly and give the diagnosis the unwrapped logs give.
mod lab;
#[path = "watch_e2e/support.rs"]
#[allow(dead_code)]
mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use lab::nginx::NginxOptions;
use lab::rsyslog::{Rsyslog, logger};
use lab::*;
use proptest::prelude::*;
use serde_json::{Value, json};

/// rsyslogd's three ways to write a file, each with the envelope its lines are in.
const SYSLOG_FILES: [(&str, &str, &str); 3] = [
    (
        "rfc3164.log",
        "RSYSLOG_TraditionalFileFormat",
        "syslog_rfc3164",
    ),
    (
        "rfc5424.log",
        "RSYSLOG_SyslogProtocol23Format",
        "syslog_rfc5424",
    ),
    ("default.log", "RSYSLOG_FileFormat", "syslog_rfc3164"),
];

/// What one run of traffic left behind.
struct Run {
    lab: Lab,
    access: PathBuf,
    error: PathBuf,
    mixed: PathBuf,
    syslog: Vec<(PathBuf, &'static str)>,
    /// The 5xx the clients were answered.
    server_errors: u64,
}

/// Healthy requests and 502s through a real nginx logging everywhere at once; `long` adds a
/// 502 whose lines are longer than a container runtime's 16 KiB pieces (too long for syslog,
/// whose relays cut messages at a few KiB, so only the container tests send it).
fn traffic(long: bool) -> Run {
    let lab = Lab::new();
    let templates = SYSLOG_FILES.map(|(name, template, _)| (name, template));
    let rsyslog = Rsyslog::start(&lab, true, &templates);
    logger(
        &["--socket", &rsyslog.socket.display().to_string()],
        "pam_unix(cron:session): session opened for user root",
    );
    let dead = free_port();
    let (mixed, error) = (lab.path("log/mixed.log"), lab.path("log/edge-error.log"));
    let port = rsyslog.port.expect("a UDP port");
    let to_syslog = format!("syslog:server=127.0.0.1:{port},tag=nginx");
    let nginx = NginxOptions::new()
        .name("edge")
        .http("large_client_header_buffers 4 64k;")
        .http(&format!("access_log {} combined;", mixed.display()))
        .http(&format!("access_log {to_syslog} combined;"))
        .http(&format!("error_log {} error;", error.display()))
        .http(&format!("error_log {} error;", mixed.display()))
        .http(&format!("error_log {to_syslog} error;"))
        .default_location("location / { return 200 'ok'; }")
        .server(&format!(
            "location /api/ {{ proxy_pass http://127.0.0.1:{dead}; }}"
        ))
        .start(&lab);
    let mut statuses = Vec::new();
    let googlebot = |path: &str| {
        let agent = lab::seo::GOOGLEBOT_SMARTPHONE;
        fetch_as(
            LOOPBACK_V4,
            nginx.port,
            "GET",
            path,
            "localhost",
            agent,
            b"",
        )
        .status
    };
    for round in 0..4 {
        statuses.extend(nginx.gets("/", 3));
        statuses.extend(nginx.gets(&format!("/api/orders/{round}"), 2));
        statuses.push(googlebot(&format!("/api/items/{round}")));
    }
    if long {
        statuses.push(get(nginx.port, &format!("/api/{}", "x".repeat(40 << 10))));
    }
    let server_errors = count_5xx(&statuses);
    assert_eq!(server_errors, 12 + u64::from(long), "{statuses:?}");
    nginx.wait_access_lines(statuses.len());
    let errors = || count_in_file(&error, "[error]");
    wait_for("nginx's error lines", || errors() as u64 >= server_errors);
    let requests = statuses.len();
    wait_for("the mixed stream", || {
        count_in_file(&mixed, "HTTP/1.1\" ") == requests
            && count_in_file(&mixed, "[error]") == errors()
    });
    if !long {
        for file in &rsyslog.files {
            wait_for(&format!("{}", file.display()), || {
                count_in_file(file, "HTTP/1.1\" ") == requests
                    && count_in_file(file, "[error]") == errors()
            });
        }
    }
    Run {
        access: nginx.access_log.clone(),
        error,
        mixed,
        syslog: rsyslog
            .files
            .iter()
            .cloned()
            .zip(SYSLOG_FILES.map(|(_, _, envelope)| envelope))
            .collect(),
        server_errors,
        lab,
    }
}

/// What a diagnosis says, without where it read it: the summary, and each incident's cause,
/// count, statuses and paths.
fn answer(report: &Value) -> (Value, Vec<String>) {
    let mut incidents: Vec<String> = incidents(report)
        .iter()
        .map(|i| {
            format!(
                "{} {} {} {}",
                i["cause"], i["count"], i["status"], i["paths"]
            )
        })
        .collect();
    incidents.sort();
    (report["summary"].clone(), incidents)
}

/// Asserts `enveloped` read as `envelope` and said what `plain` said, with every 5xx counted.
fn assert_same(plain: &Value, enveloped: &Value, envelope: &str, server_errors: u64) {
    assert_eq!(
        enveloped["summary"]["server_errors"],
        server_errors,
        "{}",
        pretty(enveloped)
    );
    assert_eq!(
        answer(enveloped),
        answer(plain),
        "{envelope}:\n{}",
        pretty(enveloped)
    );
    for input in enveloped["inputs"].as_array().unwrap() {
        assert_eq!(input["envelope"], envelope, "{}", pretty(enveloped));
    }
}

/// The machine's name, as nginx puts it in its syslog messages.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn syslog_files_written_by_rsyslog_give_the_answer_the_plain_logs_give() {
    let run = traffic(false);
    let plain = diagnose(&[&run.access, &run.error]);
    assert_eq!(plain["summary"]["server_errors"], run.server_errors);
    let (plain_seo, exit, _) = lab::seo::run_seo(&[], &[&run.access]);
    assert_eq!(
        plain_seo["crawlers"]["googlebot"]["server_errors"],
        4,
        "{}",
        pretty(&plain_seo)
    );
    for (file, envelope) in &run.syslog {
        let report = diagnose(&[file]);
        assert_same(&plain, &report, envelope, run.server_errors);
        // `seo` reads through the envelope too: what the crawler saw, as the plain log says.
        let seo = lab::seo::run_seo(&[], &[file]);
        assert_eq!((&seo.0["crawlers"], seo.1), (&plain_seo["crawlers"], exit));
        // Read as one stream of both kinds: one report each, the other program's line the
        // only one neither reads.
        let inputs = report["inputs"].as_array().unwrap();
        let kinds: Vec<&Value> = inputs.iter().map(|i| &i["kind"]).collect();
        assert_eq!(
            kinds,
            [&json!("access"), &json!("error")],
            "{}",
            pretty(&report)
        );
        for i in incidents(&report) {
            assert_eq!(
                i["host"],
                hostname(),
                "the envelope's host: {}",
                pretty(&report)
            );
            // nginx's syslog tag is its name.
            assert_eq!(i["source"], "nginx", "{}", pretty(&report));
        }
    }
}

/// nginx's error lines alone, as rsyslog wrote them (their program renamed, after 24 MB of
/// another's): the incidents made of error records carry the program their envelope names (and the HTTP host nginx's records name, which outranks
/// the machine), from every line however far into the file (the engine reads error logs again
/// after the scan has looked at their head).
#[test]
fn error_records_read_through_syslog_keep_their_machine_and_program() {
    let run = traffic(false);
    for (file, envelope) in &run.syslog {
        let text = std::fs::read_to_string(file).unwrap();
        let errors: String = text
            .lines()
            .filter(|l| l.contains(" [error] ") || l.contains(" [crit] "))
            // Written by another program than the lines ahead of them: the origin of a line
            // far into the file is its own, not the head's.
            .map(|l| format!("{}\n", l.replacen(" nginx", " edge", 1)))
            .collect();
        assert!(!errors.is_empty(), "{envelope}: no error line in\n{text}");
        // Past the head the scan reads (its first block): 24 MB of notices ahead of them.
        let first = text.lines().find(|l| l.contains(" [error] ")).unwrap();
        let level = first.find(" [error] ").unwrap();
        let notice = format!("{} [notice] 1#1: signal process started\n", &first[..level]);
        let errors = notice.repeat((24 << 20) / notice.len()) + &errors;
        let path = run.lab.write(&format!("errors-{envelope}.log"), &errors);
        let report = diagnose_errors_only(&[&path]);
        let found = incidents(&report);
        assert!(!found.is_empty(), "{envelope}: {}", pretty(&report));
        for i in found {
            assert_eq!(
                (&i["host"], &i["source"]),
                (&json!("localhost"), &json!("edge")),
                "{envelope}: {}",
                pretty(&report)
            );
        }
    }
}

#[test]
fn the_mixed_stream_gives_the_diagnosis_the_two_files_give() {
    let run = traffic(false);
    let plain = diagnose(&[&run.access, &run.error]);
    let mixed = diagnose(&[&run.mixed]);
    assert_eq!(answer(&mixed), answer(&plain), "{}", pretty(&mixed));
    let inputs = mixed["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 2, "{}", pretty(&mixed));
    assert_eq!(
        (&inputs[0]["kind"], &inputs[1]["kind"]),
        (&json!("access"), &json!("error"))
    );
    // Error lines in the access view and access lines in the error view are not unparsed.
    for input in inputs {
        assert_eq!(input["unparsed"], 0, "{}", pretty(&mixed));
    }
    // `--trace` places every 5xx and its evidence on the lines of the one file.
    let out = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .args(["diagnose", "--format", "json", "--trace"])
        .arg(&run.mixed)
        .output()
        .unwrap();
    let traced: Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = std::fs::read_to_string(&run.mixed).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for i in incidents(&traced) {
        for r in i["responses"].as_array().unwrap() {
            let line = lines[r["line"].as_u64().unwrap() as usize - 1];
            assert!(line.contains("\" 502 "), "{line}");
        }
        for e in i["evidence_at"].as_array().unwrap() {
            assert_eq!(e["input"], 1);
            let line = lines[e["line"].as_u64().unwrap() as usize - 1];
            assert!(line.contains("[error]"), "{line}");
        }
    }
}

/// The stream a line of the mixed file went to in the official image: error lines to stderr.
fn stream_of(line: &str) -> &'static str {
    let b = line.as_bytes();
    if b.len() > 10 && b[4] == b'/' && b[7] == b'/' {
        "stderr"
    } else {
        "stdout"
    }
}

/// Container runtimes cut a line into pieces of at most this many bytes.
const PIECE: usize = 16 << 10;

/// The pieces of a line as a runtime writes them, each with whether more follow.
fn pieces(line: &str) -> Vec<(&str, bool)> {
    let mut out = Vec::new();
    let mut rest = line;
    while rest.len() > PIECE {
        let (piece, after) = rest.split_at(PIECE);
        out.push((piece, true));
        rest = after;
    }
    out.push((rest, false));
    out
}

/// A time as the runtimes write it, RFC 3339 with nanoseconds, `n` ns after a fixed moment.
fn nanos(n: usize) -> String {
    format!("2026-12-07T10:00:00.{n:09}Z")
}

/// The mixed stream as Docker's `json-file` driver writes it.
fn docker_json(mixed: &str) -> String {
    let mut out = String::new();
    for (n, line) in mixed.lines().enumerate() {
        for (piece, more) in pieces(line) {
            let log = if more {
                piece.to_owned()
            } else {
                format!("{piece}\n")
            };
            let entry = json!({"log": log, "stream": stream_of(line), "time": nanos(n)});
            out += &format!("{entry}\n");
        }
    }
    out
}

/// The mixed stream as the kubelet's runtime writes it (CRI).
fn cri(mixed: &str) -> String {
    let mut out = String::new();
    for (n, line) in mixed.lines().enumerate() {
        for (piece, more) in pieces(line) {
            let tag = if more { "P" } else { "F" };
            out += &format!("{} {} {tag} {piece}\n", nanos(n), stream_of(line));
        }
    }
    out
}

#[test]
fn docker_and_cri_files_of_the_mixed_stream_count_every_5xx_even_split_lines() {
    let run = traffic(true);
    let plain = diagnose(&[&run.access, &run.error]);
    let mixed = std::fs::read_to_string(&run.mixed).unwrap();
    assert!(
        mixed.lines().any(|l| l.len() > 2 * PIECE),
        "a line split in three"
    );
    for (name, text, envelope) in [
        ("docker.log", docker_json(&mixed), "docker_json"),
        ("cri.log", cri(&mixed), "cri"),
    ] {
        let file = run.lab.write(&format!("containers/{name}"), &text);
        let report = diagnose(&[&file]);
        assert_same(&plain, &report, envelope, run.server_errors);
    }
}

/// Lines as journal export entries from one host and unit, the first numbered `first` (the
/// entries of one journal must come in order).
fn export_entries<'a>(lines: impl IntoIterator<Item = &'a str>, first: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for (n, line) in lines.into_iter().enumerate() {
        let n = n + first;
        let fields = [
            format!(
                "__REALTIME_TIMESTAMP={}",
                1_796_637_600_000_000u64 + n as u64
            ),
            format!("__MONOTONIC_TIMESTAMP={}", n + 1),
            "_BOOT_ID=0123456789abcdef0123456789abcdef".to_owned(),
            "_HOSTNAME=web-journal".to_owned(),
            "SYSLOG_IDENTIFIER=nginx".to_owned(),
            "_SYSTEMD_UNIT=nginx.service".to_owned(),
        ];
        for f in fields {
            out.extend_from_slice(f.as_bytes());
            out.push(b'\n');
        }
        // The message as a binary field, as journald stores one that is not plain text.
        out.extend_from_slice(b"MESSAGE\n");
        out.extend_from_slice(&(line.len() as u64).to_le_bytes());
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\n\n");
    }
    out
}

/// Writes `entries` (export format) to a new journal file with systemd-journal-remote.
fn journal_file(dir: &Path, entries: &[u8]) -> PathBuf {
    let file = dir.join("nginx.journal");
    let mut child = Command::new("/lib/systemd/systemd-journal-remote")
        .arg("-o")
        .arg(&file)
        .arg("-")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("systemd-journal-remote (Debian's systemd-journal-remote)");
    child.stdin.take().unwrap().write_all(entries).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    file
}

#[test]
fn journal_files_read_back_as_json_and_export_give_the_answer_the_plain_logs_give() {
    let run = traffic(true);
    let plain = diagnose(&[&run.access, &run.error]);
    let mixed = std::fs::read_to_string(&run.mixed).unwrap();
    let journal = journal_file(&run.lab.mkdir("journal"), &export_entries(mixed.lines(), 0));
    for (output, envelope) in [("json", "journal_json"), ("export", "journal_export")] {
        // `--all`: without it, `-o json` writes fields over 4 KiB as null.
        let out = Command::new("journalctl")
            .arg("--file")
            .arg(&journal)
            .args(["--all", "-o", output])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let file = run.lab.path(&format!("journal/nginx.{output}"));
        std::fs::write(&file, &out.stdout).unwrap();
        let report = diagnose(&[&file]);
        assert_same(&plain, &report, envelope, run.server_errors);
        for i in incidents(&report) {
            assert_eq!(i["host"], "web-journal", "{}", pretty(&report));
            assert_eq!(i["source"], "nginx", "{}", pretty(&report));
        }
    }
}

/// The statuses of the access lines among `lines`, counted.
fn statuses<'a>(lines: impl IntoIterator<Item = &'a str>) -> std::collections::BTreeMap<u16, u64> {
    let mut counts = std::collections::BTreeMap::new();
    for line in lines {
        let status = line
            .split('"')
            .nth(2)
            .and_then(|s| s.split_whitespace().next());
        if let Some(status) = status.and_then(|s| s.parse().ok()) {
            *counts.entry(status).or_default() += 1;
        }
    }
    counts
}

#[test]
fn watch_follows_a_journal_and_a_kill_9_restart_loses_and_doubles_no_entry() {
    let run = traffic(false);
    let mixed = std::fs::read_to_string(&run.mixed).unwrap();
    let lines: Vec<&str> = mixed.lines().collect();
    let (before, after) = lines.split_at(lines.len() / 2);
    let dir = run.lab.mkdir("journal");
    journal_file(&dir, &export_entries(before.iter().copied(), 0));
    let state = run.lab.mkdir("state");
    let args: Vec<std::ffi::OsString> = vec![
        "--journal".into(),
        "nginx.service".into(),
        "--journal-directory".into(),
        dir.clone().into(),
    ];
    let mut watch = support::Watch::start(&args, &state);
    let first = statuses(before.iter().copied());
    // Every line is read: the access lines, and the error lines among them as error records.
    let read = |lines: &[&str]| lines.iter().filter(|l| !l.trim().is_empty()).count() as u64;
    let m = watch.wait_parsed(read(before));
    assert_eq!(m.responses(), first, "{}", watch.output());
    watch.kill9();
    // More entries while it is down, then a start from the stored cursor.
    journal_file(&dir, &export_entries(after.iter().copied(), before.len()));
    let mut watch = support::Watch::start(&args, &state);
    let all = statuses(lines.iter().copied());
    assert_eq!(all.get(&502), Some(&run.server_errors));
    let m = watch.wait_parsed(read(&lines));
    assert_eq!(m.responses(), all, "{}", watch.output());
}

/// An access or nginx error line, as the lab's nginx writes them.
fn log_line() -> impl Strategy<Value = String> {
    let access = (
        "[a-z]{1,12}",
        prop::sample::select(vec![200u16, 404, 500, 502, 503]),
    )
        .prop_map(|(p, s)| {
            format!(
                "127.0.0.1 - - [07/Dec/2026:10:00:00 +0000] \"GET /{p} HTTP/1.1\" {s} 2 \"-\" \"x\""
            )
        });
    let error = "[ -~]{0,40}".prop_map(|m| format!("2026/12/07 10:00:00 [error] 7#7: *1 {m}"));
    prop_oneof![access, error]
}

/// Every line `sniff` hands out for `bytes`.
fn unwrapped(bytes: Vec<u8>) -> (Option<&'static str>, String) {
    let (mut reader, env) =
        fivehundred::formats::envelope::sniff(Box::new(std::io::Cursor::new(bytes)));
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut out).unwrap();
    (
        env.map(|e| e.envelope.name()),
        String::from_utf8(out).unwrap(),
    )
}

proptest! {
    #[test]
    fn every_envelope_hands_back_the_lines_it_wraps_whole_and_in_order(
        lines in prop::collection::vec(log_line(), 1..40),
        cut in 1usize..60,
    ) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let wrapped = [
            ("syslog_rfc3164", lines.iter().map(|l| format!("Dec  7 10:00:00 web1 nginx: {l}\n")).collect::<String>().into_bytes()),
            ("syslog_rfc5424", lines.iter().map(|l| format!("<190>1 2026-12-07T10:00:00Z web1 nginx - - [a b=\"]\"] {l}\n")).collect::<String>().into_bytes()),
            ("cri", lines.iter().enumerate().flat_map(|(n, l)| {
                let at = cut.min(l.len());
                [format!("{} stdout P {}\n", nanos(n), &l[..at]), format!("{} stdout F {}\n", nanos(n), &l[at..])]
            }).collect::<String>().into_bytes()),
            ("docker_json", lines.iter().flat_map(|l| {
                let at = cut.min(l.len());
                [json!({"log": &l[..at], "stream": "stdout", "time": nanos(0)}), json!({"log": format!("{}\n", &l[at..]), "stream": "stdout", "time": nanos(0)})]
            }).map(|v| format!("{v}\n")).collect::<String>().into_bytes()),
            ("journal_json", lines.iter().enumerate().map(|(n, l)| format!("{}\n", json!({"__CURSOR": format!("s=1;i={n}"), "MESSAGE": l, "_HOSTNAME": "h"}))).collect::<String>().into_bytes()),
            ("journal_export", export_entries(text.lines(), 0)),
        ];
        for (name, bytes) in wrapped {
            let (env, out) = unwrapped(bytes);
            prop_assert_eq!(env, Some(name));
            prop_assert_eq!(&out, &text);
        }
    }
}
