//! The command line as users script against it (`/work/shared/spec/cli.md`, "Inputs" and
//! "diagnose"): exit codes, `-` for stdin, `.gz` read transparently, directories expanded,
//! custom nginx formats, JSON lines, `--since`/`--until`, the HTML report, `--help`. Every
//! input is made here, in a temporary directory.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fivehundred"));
    c.env("NO_COLOR", "1").env_remove("RUST_BACKTRACE");
    c
}

/// Runs the binary with `args` and `stdin` (empty when `None`).
fn run_with<I, S>(args: I, stdin: Option<&[u8]>) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.unwrap_or_default().to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let r = Run {
        code: out.status.code().expect("exited, not killed by a signal"),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !r.stderr.contains("panicked") && !r.stderr.contains("backtrace"),
        "{}",
        r.stderr
    );
    r
}

fn run<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_with(args, None)
}

/// `diagnose --format json --tz UTC ARGS…`, checked against the spec's shape.
fn json<I, S>(args: I) -> (i32, Value)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    json_with(args, None)
}

fn json_with<I, S>(args: I, stdin: Option<&[u8]>) -> (i32, Value)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut all: Vec<std::ffi::OsString> = ["diagnose", "--format", "json", "--tz", "UTC"]
        .iter()
        .map(Into::into)
        .collect();
    all.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
    let r = run_with(&all, stdin);
    assert_ne!(r.code, 2, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).expect("one JSON document on stdout");
    check_shape(&v);
    (r.code, v)
}

/// The fields the spec fixes, and its invariants.
fn check_shape(v: &Value) {
    assert_eq!(v["version"], 1);
    for i in v["inputs"].as_array().unwrap() {
        for k in ["path", "kind", "format"] {
            assert!(i[k].is_string(), "inputs[].{k} in {i}");
        }
        for k in ["lines", "unparsed"] {
            assert!(i[k].is_u64(), "inputs[].{k} in {i}");
        }
    }
    assert!(v["summary"]["requests"].is_u64());
    assert!(v["summary"]["server_errors"].is_u64());
    assert!(v["summary"]["by_status"].is_object());
    let incidents = v["incidents"].as_array().unwrap();
    for inc in incidents {
        assert!(inc["cause"].is_string());
        assert!(inc["status"].is_object());
        assert!(inc["count"].is_u64());
        assert!(inc["paths"].is_array());
        assert!(inc["file"].is_string() || inc["file"].is_null());
        assert!(inc["line"].is_u64() || inc["line"].is_null());
        assert!(inc["evidence"].is_array());
        assert!(inc["fix"].is_string());
        for k in ["first_seen", "last_seen"] {
            let t = inc[k].as_str().unwrap();
            assert!(t.parse::<jiff::Timestamp>().is_ok(), "{k}: {t}");
            assert!(t.len() == 25 && !t.ends_with('Z'), "with offset: {t}");
        }
    }
    let counts: Vec<u64> = incidents
        .iter()
        .map(|i| i["count"].as_u64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "sorted by count");
    if v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["kind"] == "access")
    {
        assert_eq!(
            counts.iter().sum::<u64>(),
            v["summary"]["server_errors"].as_u64().unwrap()
        );
    }
}

fn errors(v: &Value) -> u64 {
    v["summary"]["server_errors"].as_u64().unwrap()
}

fn requests(v: &Value) -> u64 {
    v["summary"]["requests"].as_u64().unwrap()
}

fn input_formats(v: &Value) -> Vec<(String, String, String)> {
    let mut f: Vec<(String, String, String)> = v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let p = Path::new(i["path"].as_str().unwrap());
            (
                p.file_name().unwrap().to_str().unwrap().to_owned(),
                i["kind"].as_str().unwrap().to_owned(),
                i["format"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    f.sort();
    f
}

/// Exit 2 with exactly one line on stderr naming `mentions`, nothing on stdout.
fn assert_input_error(r: &Run, mentions: &str) {
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{:?}", r.stderr);
    assert!(lines[0].contains(mentions), "{:?}", r.stderr);
}

// ---------------------------------------------------------------------------------------------
// Inputs.

/// A `combined` line at 2026-11-25 `hh:mm:ss` UTC.
fn combined(hms: &str, path: &str, status: u16) -> String {
    format!(
        "198.51.100.4 - - [25/Nov/2026:{hms} +0000] \"GET {path} HTTP/1.1\" {status} 321 \"https://example.org/\" \"Mozilla/5.0 (X11; Linux x86_64)\"\n"
    )
}

fn ok_log() -> String {
    [
        combined("10:00:00", "/", 200),
        combined("10:00:01", "/missing", 404),
        combined("10:00:02", "/login", 302),
    ]
    .concat()
}

/// Three 500s from `/report.php`, one an hour from 10:00, and one 200.
fn failing_log() -> String {
    [
        combined("10:00:00", "/report.php", 500),
        combined("11:00:00", "/report.php", 500),
        combined("11:30:00", "/", 200),
        combined("12:00:00", "/report.php", 500),
    ]
    .concat()
}

/// nginx's record of the memory-limit failure of `/report.php` at `hms`.
fn nginx_error(hms: &str) -> String {
    format!(
        "2026/11/25 {hms} [error] 812#812: *5 FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted (tried to allocate 20480 bytes) in /srv/www/report.php on line 12\" while reading response header from upstream, client: 198.51.100.4, server: _, request: \"GET /report.php HTTP/1.1\", upstream: \"fastcgi://unix:/run/php/php8.2-fpm.sock:\", host: \"example.org\"\n"
    )
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

fn write(dir: &Path, name: &str, data: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

// ---------------------------------------------------------------------------------------------
// Exit codes.

#[test]
fn exit_0_without_5xx_and_1_with() {
    let dir = tempfile::tempdir().unwrap();
    let ok = write(dir.path(), "ok.log", ok_log());
    let bad = write(dir.path(), "bad.log", failing_log());
    let (code, v) = json([&ok]);
    assert_eq!((code, requests(&v), errors(&v)), (0, 3, 0));
    assert!(v["incidents"].as_array().unwrap().is_empty());
    let (code, v) = json([&bad]);
    assert_eq!((code, requests(&v), errors(&v)), (1, 4, 3));
    assert_eq!(v["summary"]["by_status"]["500"], 3);
    // The text output exits the same way.
    assert_eq!(run([OsStr::new("diagnose"), ok.as_os_str()]).code, 0);
    assert_eq!(run([OsStr::new("diagnose"), bad.as_os_str()]).code, 1);
    // 5xx anywhere among the inputs.
    let (code, _) = json([&ok, &bad]);
    assert_eq!(code, 1);
}

#[test]
fn exit_2_on_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access.log", failing_log());
    let log = log.to_str().unwrap();
    for args in [
        vec!["diagnose", "--bogus", log],
        vec!["diagnose", "--format", "xml", log],
        vec!["diagnose", "--since"],
        vec!["frobnicate", log],
        vec![],
    ] {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}");
        // One clear line, pointing at --help.
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.starts_with("fivehundred: ") && r.stderr.contains("--help"),
            "{args:?}: {}",
            r.stderr
        );
    }
}

#[test]
fn exit_2_with_one_line_on_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access.log", failing_log());
    let log = log.to_str().unwrap();
    let missing = dir.path().join("nope.log");
    let missing = missing.to_str().unwrap();
    let unwritable = dir.path().join("no/such/dir/report.html");
    let unwritable = unwritable.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["diagnose", missing], "nope.log"),
        (vec!["diagnose", log, missing], "nope.log"),
        (
            vec!["diagnose", "--access-format", "$remote_addr $request", log],
            "access-format",
        ),
        (
            vec!["diagnose", "--access-format", "$status$time_local", log],
            "access-format",
        ),
        (
            vec!["diagnose", "--access-format", "${status $time_local", log],
            "closing",
        ),
        (vec!["diagnose", "--since", "yesterday", log], "--since"),
        (
            vec!["diagnose", "--since", "2026-13-45T99:00:00Z", log],
            "--since",
        ),
        (vec!["diagnose", "--since", "90x", log], "--since"),
        (vec!["diagnose", "--until", "soon", log], "--until"),
        (vec!["diagnose", "--tz", "Mars/Olympus_Mons", log], "Mars"),
        (vec!["diagnose", "--format", "html", log], "-o"),
        (
            vec!["diagnose", "--format", "html", "-o", unwritable, log],
            "report.html",
        ),
        (vec!["diagnose", "--since", "2h", "-"], "stdin"),
    ];
    for (args, mentions) in cases {
        let r = run(&args);
        assert_input_error(&r, mentions);
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs: stdin, gzip, directories.

#[test]
fn dash_reads_stdin() {
    let (code, v) = json_with(["-"], Some(failing_log().as_bytes()));
    assert_eq!((code, requests(&v), errors(&v)), (1, 4, 3));
    assert_eq!(v["inputs"][0]["path"], "-");
    assert_eq!(v["inputs"][0]["format"], "combined");
    // gzip on stdin too.
    let (code, v) = json_with(["-"], Some(&gzip(ok_log().as_bytes())));
    assert_eq!((code, requests(&v)), (0, 3));
    // Beside files.
    let dir = tempfile::tempdir().unwrap();
    let ok = write(dir.path(), "ok.log", ok_log());
    let (_, v) = json_with(
        [ok.as_os_str(), OsStr::new("-")],
        Some(failing_log().as_bytes()),
    );
    assert_eq!((requests(&v), errors(&v)), (7, 3));
    // Text output from stdin.
    let r = run_with(["diagnose", "-"], Some(failing_log().as_bytes()));
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("/report.php"), "{}", r.stdout);
}

#[test]
fn gzip_is_read_transparently() {
    let dir = tempfile::tempdir().unwrap();
    let gz = write(
        dir.path(),
        "access.log.2.gz",
        gzip(failing_log().as_bytes()),
    );
    let (code, v) = json([&gz]);
    assert_eq!((code, requests(&v), errors(&v)), (1, 4, 3));
    assert_eq!(v["inputs"][0]["format"], "combined");
    assert_eq!(v["inputs"][0]["lines"], 4);
    // By content, not by name: gzip without `.gz`, plain text named `.gz`.
    let hidden = write(dir.path(), "access.log.1", gzip(ok_log().as_bytes()));
    let plain = write(dir.path(), "plain.gz", ok_log());
    let (code, v) = json([&hidden, &plain]);
    assert_eq!((code, requests(&v)), (0, 6));
    // Several gzip members one after another (`cat a.gz b.gz`).
    let two = [gzip(ok_log().as_bytes()), gzip(failing_log().as_bytes())].concat();
    let multi = write(dir.path(), "multi.gz", two);
    let (_, v) = json([&multi]);
    assert_eq!((requests(&v), errors(&v)), (7, 3));
}

#[test]
fn directories_are_expanded_with_rotated_and_gz_files() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("nginx");
    std::fs::create_dir(&logs).unwrap();
    write(
        &logs,
        "access.log",
        combined("12:00:00", "/report.php", 500),
    );
    write(
        &logs,
        "access.log.1",
        combined("11:00:00", "/report.php", 500),
    );
    write(
        &logs,
        "access.log.2.gz",
        gzip(combined("10:00:00", "/report.php", 500).as_bytes()),
    );
    write(
        &logs,
        "access.log.3.gz",
        gzip(combined("09:00:00", "/", 200).as_bytes()),
    );
    write(&logs, "error.log", nginx_error("12:00:00"));
    write(&logs, "error.log.1", nginx_error("11:00:00"));
    write(
        &logs,
        "error.log.2.gz",
        gzip(nginx_error("10:00:00").as_bytes()),
    );
    let (code, v) = json([&logs]);
    assert_eq!(code, 1);
    let kinds: Vec<(String, String, String)> = input_formats(&v);
    let expect = |n: &str, k: &str, f: &str| (n.to_owned(), k.to_owned(), f.to_owned());
    assert_eq!(
        kinds,
        vec![
            expect("access.log", "access", "combined"),
            expect("access.log.1", "access", "combined"),
            expect("access.log.2.gz", "access", "combined"),
            expect("access.log.3.gz", "access", "combined"),
            expect("error.log", "error", "nginx_error"),
            expect("error.log.1", "error", "nginx_error"),
            expect("error.log.2.gz", "error", "nginx_error"),
        ]
    );
    assert_eq!((requests(&v), errors(&v)), (4, 3));
    // The 500s are explained by the rotated error logs too.
    let inc = &v["incidents"][0];
    assert_eq!(inc["cause"], "php_memory_limit");
    assert_eq!(inc["count"], 3);
    assert_eq!(inc["file"], "/srv/www/report.php");
    assert_eq!(inc["line"], 12);
    assert_eq!(inc["first_seen"], "2026-11-25T10:00:00+00:00");
    assert_eq!(inc["last_seen"], "2026-11-25T12:00:00+00:00");
    // Two directories, and a directory beside a file.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let extra = write(&other, "access.log", ok_log());
    let (_, v) = json([&logs, &other]);
    assert_eq!(requests(&v), 7);
    let (_, v) = json([logs.as_path(), extra.as_path()]);
    assert_eq!(requests(&v), 7);
}

// ---------------------------------------------------------------------------------------------
// Directories walked: subdirectories, depth, links.

/// The inputs' paths, in the report's order.
fn input_paths(v: &Value) -> Vec<String> {
    v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap().to_owned())
        .collect()
}

/// The `reason` of the input whose path ends with `name`.
fn reason_of<'v>(v: &'v Value, name: &str) -> &'v str {
    let i = v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("no input {name} in {v}"));
    assert_eq!(i["kind"], "unknown", "{i}");
    i["reason"]
        .as_str()
        .unwrap_or_else(|| panic!("no reason in {i}"))
}

#[test]
fn a_log_in_a_subdirectory_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for site in ["site1", "site2/old"] {
        std::fs::create_dir_all(root.join(site)).unwrap();
    }
    write(root, "access.log", combined("10:00:00", "/", 200));
    write(
        root,
        "site1/access.log",
        combined("10:00:01", "/a.php", 500),
    );
    write(
        root,
        "site1/access.log.1.gz",
        gzip(combined("09:00:00", "/a.php", 502).as_bytes()),
    );
    write(
        root,
        "site2/old/access.log.9",
        combined("08:00:00", "/b", 503),
    );
    write(root, "zz.log", combined("10:00:02", "/", 200));
    let (code, v) = json([root]);
    assert_eq!(code, 1);
    assert_eq!((requests(&v), errors(&v)), (5, 3));
    // Each directory's entries by name, subdirectories where they sort: the same every run.
    let names: Vec<String> = input_paths(&v)
        .iter()
        .map(|p| p.strip_prefix(root.to_str().unwrap()).unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "/access.log",
            "/site1/access.log",
            "/site1/access.log.1.gz",
            "/site2/old/access.log.9",
            "/zz.log"
        ]
    );
}

#[test]
fn a_directory_deeper_than_eight_levels_is_named_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut deep = dir.path().to_path_buf();
    for level in 1..=9 {
        deep.push(format!("d{level}"));
        std::fs::create_dir(&deep).unwrap();
        write(&deep, "access.log", combined("10:00:00", "/", 500));
    }
    let r = run([OsStr::new("diagnose"), dir.path().as_os_str()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let (_, v) = json([dir.path()]);
    // Eight levels down are read; the ninth is named with why.
    assert_eq!(errors(&v), 8);
    assert!(reason_of(&v, "/d9").contains("levels"), "{v}");
    assert!(
        r.stderr.contains("d9") && r.stderr.contains("levels"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_symlink_loop_in_a_log_directory_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site1");
    std::fs::create_dir(&site).unwrap();
    write(&site, "access.log", combined("10:00:00", "/a.php", 500));
    // A link back up (a loop), and a second name for a file already read.
    std::os::unix::fs::symlink("..", site.join("up")).unwrap();
    std::os::unix::fs::symlink("access.log", site.join("current.log")).unwrap();
    let (code, v) = json([dir.path()]);
    assert_eq!(code, 1);
    assert_eq!(errors(&v), 1, "read once: {v}");
    assert!(reason_of(&v, "/up").contains("already read"), "{v}");
    assert!(reason_of(&v, "/current.log").contains("same file"), "{v}");
}

// ---------------------------------------------------------------------------------------------
// Never a silent zero: what is not read is said, and nothing read is an error.

#[test]
fn a_file_skipped_inside_a_directory_is_named_on_stderr_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    write(&logs, "access.log", failing_log());
    write(&logs, "notes.txt", "not a log\nat all\n");
    std::os::unix::fs::symlink(dir.path().join("gone"), logs.join("access.log.1")).unwrap();
    let html = dir.path().join("report.html");
    for format in [
        vec!["--format", "text"],
        vec!["--format", "json"],
        vec!["--format", "html", "-o", html.to_str().unwrap()],
    ] {
        for command in ["diagnose", "seo"] {
            let mut args = vec![command];
            args.extend(&format);
            args.push(logs.to_str().unwrap());
            let r = run(&args);
            assert_ne!(r.code, 2, "{args:?}: {}", r.stderr);
            let lines: Vec<&str> = r.stderr.lines().collect();
            assert_eq!(lines.len(), 2, "{args:?}: {}", r.stderr);
            assert!(
                lines[0].contains("notes.txt") && lines[0].contains("not a log format"),
                "{args:?}: {}",
                r.stderr
            );
            assert!(
                lines[1].contains("access.log.1") && lines[1].contains("No such file"),
                "{args:?}: {}",
                r.stderr
            );
        }
    }
    let (_, v) = json([&logs]);
    assert!(reason_of(&v, "notes.txt").contains("not a log format"));
    assert!(reason_of(&v, "access.log.1").contains("No such file"));
}

#[test]
fn a_file_of_only_garbage_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let junk = write(dir.path(), "access.log", "garbage\n\x01\x02 more garbage\n");
    for command in ["diagnose", "seo"] {
        for format in ["text", "json"] {
            let r = run([command, "--format", format, junk.to_str().unwrap()]);
            assert_input_error(&r, "access.log");
            assert!(
                r.stderr.contains("no input could be read as a log")
                    && r.stderr.contains("not a log format"),
                "{}",
                r.stderr
            );
        }
    }
}

#[test]
fn a_directory_with_no_log_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_input_error(&run([OsStr::new("diagnose"), empty.as_os_str()]), "empty");
    // Nothing in it a log: each file named with why, on the one line.
    let junk = dir.path().join("junk");
    std::fs::create_dir(&junk).unwrap();
    write(&junk, "a.bin", [0u8, 1, 2, 3, 0xff]);
    std::os::unix::fs::symlink(dir.path().join("gone"), junk.join("b.log")).unwrap();
    for command in ["diagnose", "seo"] {
        let r = run([OsStr::new(command), junk.as_os_str()]);
        assert_input_error(&r, "a.bin");
        assert!(r.stderr.contains("b.log: No such file"), "{}", r.stderr);
    }
}

#[test]
fn a_directory_with_one_good_log_among_unreadable_ones_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "access.log", failing_log());
    std::os::unix::fs::symlink(dir.path().join("gone"), dir.path().join("access.log.1")).unwrap();
    write(
        dir.path(),
        "access.log.2.gz",
        [0x1f, 0x8b, 0x08, 0x00, 0xde],
    );
    write(dir.path(), "core", [0u8; 512]);
    let r = run([OsStr::new("diagnose"), dir.path().as_os_str()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    for name in ["access.log.1", "access.log.2.gz", "core"] {
        assert!(r.stderr.contains(name), "{name}: {}", r.stderr);
    }
    assert_eq!(r.stderr.lines().count(), 3, "{}", r.stderr);
    let (_, v) = json([dir.path()]);
    assert_eq!(errors(&v), 3);
    // Only good lines: exit by what was found.
    let ok = tempfile::tempdir().unwrap();
    write(ok.path(), "access.log", ok_log());
    std::os::unix::fs::symlink(ok.path().join("gone"), ok.path().join("access.log.1")).unwrap();
    let r = run([OsStr::new("seo"), ok.path().as_os_str()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn empty_logs_are_read_not_skipped() {
    // A log just rotated is empty: nothing in it, and nothing to warn about.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "access.log", "");
    write(dir.path(), "error.log", "\n\n");
    let r = run([OsStr::new("diagnose"), dir.path().as_os_str()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
}

// ---------------------------------------------------------------------------------------------
// Formats.

#[test]
fn custom_nginx_log_format() {
    let dir = tempfile::tempdir().unwrap();
    let format = r#"$remote_addr - [$time_local] "$request" $status $body_bytes_sent rt=$request_time ua="$http_user_agent" host=$host"#;
    let line = |hms: &str, path: &str, status: u16| {
        format!(
            "198.51.100.4 - [25/Nov/2026:{hms} +0000] \"GET {path} HTTP/1.1\" {status} 12 rt=60.001 ua=\"curl/8.5\" host=example.org:443\n"
        )
    };
    let log = write(
        dir.path(),
        "access.log",
        [
            line("10:00:00", "/slow.php", 504),
            line("10:00:01", "/", 200),
            line("10:00:02", "/slow.php", 504),
        ]
        .concat(),
    );
    let (code, v) = json([
        OsStr::new("--access-format"),
        OsStr::new(format),
        log.as_os_str(),
    ]);
    assert_eq!((code, requests(&v), errors(&v)), (1, 3, 2));
    assert_eq!(v["inputs"][0]["format"], "custom");
    assert_eq!(v["inputs"][0]["unparsed"], 0);
    assert_eq!(v["incidents"][0]["paths"][0], "/slow.php");
    // Pasted from nginx.conf, quotes and all.
    let quoted = format!("'{format}'");
    let (_, v) = json([
        OsStr::new("--access-format"),
        OsStr::new(&quoted),
        log.as_os_str(),
    ]);
    assert_eq!(errors(&v), 2);
    // Without the format the file is not read as an access log: nothing read, exit 2.
    let r = run([OsStr::new("diagnose"), log.as_os_str()]);
    assert_input_error(&r, "not a log format");
    // With it, standard files next to the custom one are still detected as they are.
    let std_log = write(dir.path(), "combined.log", failing_log());
    let (_, v) = json([
        OsStr::new("--access-format"),
        OsStr::new(format),
        log.as_os_str(),
        std_log.as_os_str(),
    ]);
    assert_eq!((requests(&v), errors(&v)), (7, 5));
    assert_eq!(
        input_formats(&v),
        vec![
            ("access.log".into(), "access".into(), "custom".into()),
            ("combined.log".into(), "access".into(), "combined".into()),
        ]
    );
    // $time_iso8601 and $msec.
    let iso = write(
        dir.path(),
        "iso.log",
        "2026-11-25T10:00:00+01:00|502|GET /a HTTP/1.1\n1764064800.250|200|GET /b HTTP/1.1\n",
    );
    let (_, v) = json([
        OsStr::new("--access-format"),
        OsStr::new("$time_iso8601|$status|$request"),
        iso.as_os_str(),
    ]);
    assert_eq!((requests(&v), errors(&v)), (1, 1));
    assert_eq!(v["incidents"][0]["first_seen"], "2026-11-25T10:00:00+01:00");
    assert_eq!(v["inputs"][0]["unparsed"], 1);
}

#[test]
fn json_lines_access_logs() {
    let dir = tempfile::tempdir().unwrap();
    // nginx `escape=json`, Caddy (nested request, epoch seconds), Traefik-style names.
    let nginx = concat!(
        r#"{"time_iso8601":"2026-11-25T10:00:00+00:00","remote_addr":"198.51.100.4","request":"GET /api/items HTTP/1.1","status":"502","http_user_agent":"curl/8.5","host":"example.org"}"#,
        "\n",
        r#"{"time_iso8601":"2026-11-25T10:00:01+00:00","remote_addr":"198.51.100.4","request":"GET / HTTP/1.1","status":"200","http_user_agent":"curl/8.5","host":"example.org"}"#,
        "\n"
    );
    let caddy = concat!(
        r#"{"level":"info","ts":1764064802.5,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"198.51.100.4","proto":"HTTP/2.0","method":"POST","host":"example.org","uri":"/api/items?x=1"},"status":503,"duration":0.01}"#,
        "\n"
    );
    let traefik = concat!(
        r#"{"StartUTC":"2026-11-25T10:00:03.123456789Z","ClientHost":"198.51.100.4","RequestMethod":"GET","RequestPath":"/api/items","DownstreamStatus":500,"RequestHost":"example.org"}"#,
        "\n"
    );
    let n = write(dir.path(), "nginx.json", nginx);
    let c = write(dir.path(), "caddy.log", caddy);
    let t = write(dir.path(), "traefik.log", traefik);
    let (code, v) = json([&n, &c, &t]);
    assert_eq!((code, requests(&v), errors(&v)), (1, 4, 3));
    for i in v["inputs"].as_array().unwrap() {
        assert_eq!(
            (i["kind"].as_str(), i["format"].as_str()),
            (Some("access"), Some("json"))
        );
        assert_eq!(i["unparsed"], 0);
    }
    assert_eq!(v["summary"]["by_status"]["502"], 1);
    assert_eq!(v["summary"]["by_status"]["503"], 1);
    assert_eq!(v["summary"]["by_status"]["500"], 1);
    let paths = v["incidents"].to_string();
    assert!(paths.contains("/api/items"), "{paths}");
}

// ---------------------------------------------------------------------------------------------
// Time window.

#[test]
fn since_and_until_with_rfc3339_times() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access.log", failing_log());
    let count = |args: &[&str]| {
        let mut all: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        all.push(log.as_os_str());
        let (code, v) = json(all);
        assert_eq!(code, i32::from(errors(&v) > 0));
        (requests(&v), errors(&v))
    };
    assert_eq!(count(&[]), (4, 3));
    assert_eq!(count(&["--since", "2026-11-25T11:00:00Z"]), (3, 2));
    assert_eq!(count(&["--until", "2026-11-25T11:00:00Z"]), (2, 2));
    assert_eq!(
        count(&[
            "--since",
            "2026-11-25T10:30:00Z",
            "--until",
            "2026-11-25T11:45:00Z"
        ]),
        (2, 1)
    );
    // An offset is honoured: 12:00+01:00 is 11:00Z.
    assert_eq!(count(&["--since", "2026-11-25T12:00:00+01:00"]), (3, 2));
    assert_eq!(count(&["--since", "2026-11-25T12:00:01Z"]), (0, 0));
    assert_eq!(count(&["--until", "2026-11-25T09:59:59Z"]), (0, 0));
}

#[test]
fn since_and_until_with_durations() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access.log", failing_log());
    let count = |args: &[&str]| {
        let mut all: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        all.push(log.as_os_str());
        let (_, v) = json(all);
        (requests(&v), errors(&v))
    };
    // Back from the newest line, 12:00.
    assert_eq!(count(&["--since", "90m"]), (3, 2));
    assert_eq!(count(&["--since", "2h"]), (4, 3));
    assert_eq!(count(&["--since", "30m"]), (2, 1));
    assert_eq!(count(&["--since", "7d"]), (4, 3));
    assert_eq!(count(&["--since", "3600s"]), (3, 2));
    assert_eq!(count(&["--until", "1h"]), (2, 2));
    assert_eq!(count(&["--since", "2h", "--until", "45m"]), (2, 2));
    // The newest line of an error log counts as the newest line too.
    let err = write(dir.path(), "error.log", nginx_error("14:00:00"));
    let (_, v) = json([
        OsStr::new("--since"),
        OsStr::new("150m"),
        log.as_os_str(),
        err.as_os_str(),
    ]);
    assert_eq!(errors(&v), 1);
}

#[test]
fn tz_places_zone_less_error_logs() {
    let dir = tempfile::tempdir().unwrap();
    let err = write(dir.path(), "error.log", nginx_error("10:00:00"));
    // Error logs alone: incidents are the error events, `status` is `{}`, exit 1.
    let r = run([
        OsStr::new("diagnose"),
        OsStr::new("--format"),
        OsStr::new("json"),
        OsStr::new("--tz"),
        OsStr::new("Europe/Berlin"),
        err.as_os_str(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    check_shape(&v);
    let inc = &v["incidents"][0];
    assert_eq!(inc["cause"], "php_memory_limit");
    assert_eq!(inc["count"], 1);
    assert_eq!(inc["status"], serde_json::json!({}));
    assert_eq!(inc["first_seen"], "2026-11-25T10:00:00+01:00");
    // --since applies to it in that zone: 10:00+01:00 is 09:00Z.
    let r = run([
        OsStr::new("diagnose"),
        OsStr::new("--format"),
        OsStr::new("json"),
        OsStr::new("--tz"),
        OsStr::new("Europe/Berlin"),
        OsStr::new("--since"),
        OsStr::new("2026-11-25T09:30:00Z"),
        err.as_os_str(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
}

// ---------------------------------------------------------------------------------------------
// Output.

#[test]
fn text_output_says_cause_place_evidence_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let acc = write(
        dir.path(),
        "access.log",
        combined("10:00:00", "/report.php", 500),
    );
    let err = write(dir.path(), "error.log", nginx_error("10:00:00"));
    let r = run([
        OsStr::new("diagnose"),
        OsStr::new("--tz"),
        OsStr::new("UTC"),
        acc.as_os_str(),
        err.as_os_str(),
    ]);
    assert_eq!(r.code, 1);
    let first = r.stdout.lines().next().unwrap();
    assert!(
        first.contains("1 server error") || first.contains('1'),
        "{first}"
    );
    assert!(r.stdout.contains("/srv/www/report.php:12"), "{}", r.stdout);
    assert!(r.stdout.contains("Allowed memory size"), "{}", r.stdout);
    let (_, v) = json([&acc, &err]);
    let fix = v["incidents"][0]["fix"].as_str().unwrap();
    assert!(!fix.is_empty() && r.stdout.contains(fix), "{}", r.stdout);
    // Output to a file: nothing on stdout.
    let out = dir.path().join("report.json");
    let r = run([
        OsStr::new("diagnose"),
        OsStr::new("--format"),
        OsStr::new("json"),
        OsStr::new("-o"),
        out.as_os_str(),
        acc.as_os_str(),
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.is_empty());
    let v: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    check_shape(&v);
}

#[test]
fn html_report_is_self_contained_and_escapes_log_data() {
    let dir = tempfile::tempdir().unwrap();
    let xss = "/<script>alert(1)</script>.php";
    let acc = write(
        dir.path(),
        "acc<b>ess.log",
        [
            combined("10:00:00", xss, 500),
            combined("10:00:01", "/<i>\\\"x\\\".php", 502),
        ]
        .concat(),
    );
    let err = write(
        dir.path(),
        "error.log",
        "2026/11/25 10:00:00 [error] 1#1: *1 FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Uncaught Exception: <img src=x onerror=alert(2)> in /srv/www/x.php:3\" while reading response header from upstream, client: 198.51.100.4, server: _, request: \"GET /<script>alert(1)</script>.php HTTP/1.1\", host: \"example.org\"\n",
    );
    let html = dir.path().join("report.html");
    let r = run([
        OsStr::new("diagnose"),
        OsStr::new("--format"),
        OsStr::new("html"),
        OsStr::new("--tz"),
        OsStr::new("UTC"),
        OsStr::new("-o"),
        html.as_os_str(),
        acc.as_os_str(),
        err.as_os_str(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(page.trim_end().ends_with("</html>"));
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(
        page.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "{page}"
    );
    assert!(page.contains("acc&lt;b&gt;ess.log"), "{page}");
    assert!(page.contains("&lt;i&gt;"), "{page}");
    let lower = page.to_lowercase();
    for raw in ["<script", "<img", "<b>ess", "<i>", "alert(1)</"] {
        assert!(!lower.contains(raw), "{raw} in {page}");
    }
    // Self-contained: nothing fetched from elsewhere.
    for fetch in ["<link", "<iframe", "src=\"", "src='", "@import", "url(http"] {
        assert!(!lower.contains(fetch), "{fetch} in {page}");
    }
}

// ---------------------------------------------------------------------------------------------
// Output files.

/// How many `write` system calls a run made, by `strace -c`; `None` where strace cannot run.
fn write_calls(args: &[&OsStr]) -> Option<u64> {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("strace.txt");
    let out = Command::new("strace")
        .args(["-f", "-c", "-e", "trace=write", "-o"])
        .arg(&summary)
        .arg(env!("CARGO_BIN_EXE_fivehundred"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .ok()?;
    assert!(out.status.code().is_some_and(|c| c < 2), "{out:?}");
    let text = std::fs::read_to_string(summary).ok()?;
    // `% time  seconds  usecs/call  calls  [errors]  syscall`: calls is the fourth column.
    text.lines()
        .find(|l| l.trim_end().ends_with(" write"))
        .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
}

#[test]
fn a_big_report_to_a_file_is_written_in_blocks_not_field_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    let log: String = (0..20_000)
        .map(|i| {
            format!(
                "66.249.66.1 - - [25/Nov/2026:10:{:02}:{:02} +0000] \"GET /p/{i} HTTP/1.1\" 500 9 \"-\" \"{bot}\"\n",
                i / 60 % 60,
                i % 60
            )
        })
        .collect();
    let log = write(dir.path(), "access.log", log);
    for (command, out) in [("seo", "seo.json"), ("diagnose", "diagnose.json")] {
        let out = dir.path().join(out);
        let args: Vec<&OsStr> = vec![
            command.as_ref(),
            "--format".as_ref(),
            "json".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
            log.as_os_str(),
        ];
        let Some(calls) = write_calls(&args) else {
            eprintln!("strace cannot run here: skipped");
            return;
        };
        let report = std::fs::read(&out).unwrap();
        let v: Value = serde_json::from_slice(&report).expect("the whole report, valid JSON");
        assert_eq!(v["version"], 1);
        // One call per 64 KiB block and a few for the rest; unbuffered it was one per field.
        let blocks = report.len() as u64 / (64 << 10) + 1;
        assert!(
            calls <= blocks + 10,
            "{command}: {calls} writes for {} bytes",
            report.len()
        );
    }
}

#[test]
fn a_report_to_a_full_disk_is_one_line_and_exit_2() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access.log", failing_log());
    for command in ["diagnose", "seo"] {
        let r = run([
            command,
            "--format",
            "json",
            "-o",
            "/dev/full",
            log.to_str().unwrap(),
        ]);
        assert_input_error(&r, "/dev/full");
        assert!(r.stderr.contains("No space left"), "{}", r.stderr);
    }
}

// ---------------------------------------------------------------------------------------------
// doctor on a host with nothing to check.

/// `fivehundred doctor ARGS…` where no server can be found: the sbin directories hidden under
/// empty mounts in a mount namespace of its own, PATH empty. `None` where that cannot be done
/// (not root, no `unshare`).
fn doctor_without_servers(args: &str) -> Option<Run> {
    let script = format!(
        "for d in /usr/sbin /usr/local/sbin /usr/local/bin; do mount -t tmpfs none $d || exit 99; done; exec env -i PATH=/nonexistent NO_COLOR=1 {} doctor {args}",
        env!("CARGO_BIN_EXE_fivehundred")
    );
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .stderr(Stdio::piped())
        .output()
        .ok()?;
    let code = out.status.code()?;
    if code == 99 || out.stderr.starts_with(b"unshare:") {
        return None;
    }
    Some(Run {
        code,
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

#[test]
fn doctor_with_no_web_server_says_so_and_lists_every_check_skipped_with_why() {
    let Some(r) = doctor_without_servers("--format json") else {
        eprintln!("no mount namespace here: skipped");
        return;
    };
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["version"], 1);
    for server in ["nginx", "apache", "php-fpm"] {
        let s = v["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["server"] == server)
            .unwrap_or_else(|| panic!("{server} not said: {v}"));
        assert_eq!(s["status"], "not_found", "{s}");
    }
    let checks = v["checks"].as_array().unwrap();
    for id in [
        "disk_space",
        "disk_inodes",
        "file_permissions",
        "htaccess_invalid",
        "php_display_errors",
        "php_log_errors",
        "php_memory_limit",
        "fpm_max_children",
        "server_config_syntax",
        "db_reachable",
    ] {
        let c = checks
            .iter()
            .find(|c| c["check"] == id)
            .unwrap_or_else(|| panic!("{id} vanished: {v}"));
        for k in ["status", "subject", "detail", "fix"] {
            assert!(c[k].is_string(), "{k} in {c}");
        }
        assert_eq!(c["status"], "skipped", "{c}");
        assert!(!c["detail"].as_str().unwrap().is_empty(), "{c}");
    }
    let text = doctor_without_servers("").unwrap();
    assert!(
        text.stdout.contains("No web server found"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("nginx not found"), "{}", text.stdout);
}

#[test]
fn help_and_version() {
    for args in [
        vec!["--help"],
        vec!["-h"],
        vec!["help"],
        vec!["diagnose", "--help"],
        vec!["help", "diagnose"],
    ] {
        let r = run(&args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(r.stdout.contains("diagnose"), "{args:?}: {}", r.stdout);
        assert!(r.stderr.is_empty(), "{args:?}: {}", r.stderr);
    }
    let r = run(["diagnose", "--help"]);
    for flag in [
        "--format",
        "--since",
        "--until",
        "--tz",
        "--access-format",
        "--output",
    ] {
        assert!(r.stdout.contains(flag), "{flag}: {}", r.stdout);
    }
    let r = run(["--version"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with("fivehundred "), "{}", r.stdout);
}

const SUBCOMMANDS: [&str; 8] = [
    "diagnose",
    "seo",
    "watch",
    "probe",
    "explain",
    "doctor",
    "completions",
    "man",
];

#[test]
fn every_subcommand_help_ends_with_examples() {
    for sub in SUBCOMMANDS {
        let r = run([sub, "--help"]);
        assert_eq!(r.code, 0, "{sub}: {}", r.stderr);
        let examples = r.stdout.split("Examples:\n").nth(1);
        let first = examples.and_then(|e| e.lines().next()).unwrap_or_default();
        assert!(
            first.trim_start().starts_with("fivehundred ") || first.contains(" fivehundred "),
            "{sub} --help has no example after `Examples:`: {}",
            r.stdout
        );
    }
}

#[test]
fn a_mistyped_command_or_flag_keeps_clap_s_suggestion_on_its_one_line() {
    for (args, suggestion) in [
        (vec!["diagnos", "demo"], "'diagnose'"),
        (vec!["diagnose", "--formt", "json", "demo"], "'--format'"),
    ] {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("tip: ") && r.stderr.contains(suggestion),
            "{args:?}: {}",
            r.stderr
        );
    }
}

#[test]
fn completions_are_printed_for_every_shell_clap_knows() {
    for (shell, registers) in [
        ("bash", "complete -F _fivehundred"),
        ("zsh", "#compdef fivehundred"),
        ("fish", "complete -c fivehundred"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[fivehundred]"),
    ] {
        let r = run(["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(r.stdout.contains(registers), "{shell}: {}", r.stdout);
        for sub in SUBCOMMANDS {
            assert!(r.stdout.contains(sub), "{shell} does not offer {sub}");
        }
    }
    let r = run(["completions", "tcsh"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
}

/// What bash offers for `fivehundred WORDS…<TAB>` once the generated script is sourced.
fn bash_completes(words: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let script = write(
        dir.path(),
        "fivehundred.bash",
        run(["completions", "bash"]).stdout,
    );
    let line = words.join(" ");
    let out = Command::new("bash")
        .arg("-c")
        .arg(
            r#"source "$1"; shift
            func=$(complete -p fivehundred | sed -n 's/.*-F \([^ ]*\).*/\1/p')
            COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
            "$func" fivehundred "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
            printf '%s\n' "${COMPREPLY[@]}""#,
        )
        .arg("_")
        .arg(&script)
        .args(words)
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "{line}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let offered = String::from_utf8(out.stdout).unwrap();
    offered
        .lines()
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_a_subcommand_and_its_flags() {
    assert_eq!(bash_completes(&["fivehundred", "dia"]), ["diagnose"]);
    assert_eq!(
        bash_completes(&["fivehundred", "diagnose", "--form"]),
        ["--format"]
    );
    assert_eq!(
        bash_completes(&["fivehundred", "completions", "fi"]),
        ["fish"]
    );
}

#[test]
fn man_prints_the_main_page_and_writes_one_per_subcommand() {
    let r = run(["man"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(".TH fivehundred 1"), "{}", r.stdout);
    // The main page sends the reader on to each command's own page.
    assert!(
        r.stdout.contains("fivehundred\\-diagnose(1)"),
        "{}",
        r.stdout
    );

    let dir = tempfile::tempdir().unwrap();
    let man1 = dir.path().join("man1");
    let r = run([OsStr::new("man"), OsStr::new("--dir"), man1.as_os_str()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut pages: Vec<String> = std::fs::read_dir(&man1)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    pages.sort();
    let mut expected: Vec<String> = SUBCOMMANDS
        .iter()
        .map(|s| format!("fivehundred-{s}.1"))
        .chain(["fivehundred.1".to_owned()])
        .collect();
    expected.sort();
    assert_eq!(pages, expected);
    let diagnose = std::fs::read_to_string(man1.join("fivehundred-diagnose.1")).unwrap();
    assert!(
        diagnose.contains(".TH fivehundred-diagnose 1"),
        "{diagnose}"
    );
    assert!(diagnose.contains("\\-\\-access\\-format"), "{diagnose}");
    let examples = diagnose.split(".SH EXAMPLES\n").nth(1).unwrap_or_default();
    assert!(
        examples.starts_with("  fivehundred diagnose "),
        "{diagnose}"
    );
}
