//! `--host`, `--path`, `--status` and the forms of `--since`/`--until` (issue 19, "Scope"),
//! on the overlap lab's real logs (`tests/fixtures/real/overlap/seed-1`: nginx and Apache in
//! front of two PHP-FPM pools, vhosts `shop.test` and `blog.test`, 200s to 504s). Each figure
//! is checked against the access logs' lines counted here, and the spec's rule that the
//! incidents' counts add up to `server_errors` is checked within every scope.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn lab() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real/overlap/seed-1")
}

/// Both servers' access logs, and the error logs beside them.
fn lab_inputs() -> Vec<PathBuf> {
    let d = lab();
    vec![
        d.join("nginx/access.log"),
        d.join("apache2/access.log"),
        d.join("nginx/error.log"),
        d.join("apache2/error.log"),
        d.join("php8.2-fpm.log"),
        d.join("php/blog-error.log"),
    ]
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(cmd: &str, args: &[&str], inputs: &[PathBuf]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .env("NO_COLOR", "1")
        .arg(cmd)
        .args(args)
        .args(inputs)
        .output()
        .expect("the binary runs");
    Run {
        code: out.status.code().expect("exited"),
        stdout: String::from_utf8(out.stdout).expect("UTF-8"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `diagnose --format json` with `args`, checked for the spec's rules.
fn diagnose(args: &[&str], inputs: &[PathBuf]) -> Value {
    let mut all = vec!["--format", "json"];
    if !args.contains(&"--tz") {
        all.extend(["--tz", "UTC"]);
    }
    all.extend_from_slice(args);
    let r = run("diagnose", &all, inputs);
    assert!(r.code == 0 || r.code == 1, "{args:?}: {}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let errors = v["summary"]["server_errors"].as_u64().unwrap();
    let sum: u64 = v["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["count"].as_u64().unwrap())
        .sum();
    let access = v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["kind"] == "access");
    if access {
        assert_eq!(
            sum, errors,
            "{args:?}: every 5xx in scope is in one incident"
        );
    }
    assert_eq!(r.code, i32::from(sum > 0), "{args:?}");
    v
}

/// One access-log line as this test reads it: host (without port), path, status.
struct Line {
    host: String,
    path: String,
    status: u16,
}

/// The lines of the lab's two access logs (`vhost_combined`-shaped).
fn lines() -> Vec<Line> {
    let d = lab();
    ["nginx/access.log", "apache2/access.log"]
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(d.join(f))
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            Line {
                host: f[0].split(':').next().unwrap().to_owned(),
                path: f[7].split('?').next().unwrap().to_owned(),
                status: f[9].parse().unwrap(),
            }
        })
        .collect()
}

/// `(requests, server_errors, by_status of the 5xx)` of the lines `keep` keeps.
fn expected(keep: impl Fn(&Line) -> bool) -> (u64, u64, Value) {
    let kept: Vec<Line> = lines().into_iter().filter(|l| keep(l)).collect();
    let mut by_status = serde_json::Map::new();
    for l in kept.iter().filter(|l| l.status >= 500) {
        let n = by_status
            .entry(l.status.to_string())
            .or_insert(Value::from(0));
        *n = Value::from(n.as_u64().unwrap() + 1);
    }
    let errors = kept.iter().filter(|l| l.status >= 500).count() as u64;
    (kept.len() as u64, errors, Value::Object(by_status))
}

fn figures(v: &Value) -> (u64, u64, Value) {
    let s = &v["summary"];
    (
        s["requests"].as_u64().unwrap(),
        s["server_errors"].as_u64().unwrap(),
        s["by_status"].clone(),
    )
}

#[test]
fn the_lab_has_two_hosts_and_several_statuses_to_filter() {
    let all = diagnose(&[], &lab_inputs());
    assert_eq!(figures(&all), expected(|_| true));
    let (requests, errors, by_status) = figures(&all);
    assert!(requests > 150 && errors > 50, "{requests} {errors}");
    assert!(by_status.as_object().unwrap().len() >= 3, "{by_status}");
    let scope = serde_json::json!({"host": null, "path": null, "status": null, "since": null, "until": null});
    assert_eq!(all["scope"], scope);
}

#[test]
fn a_host_filter_counts_only_that_vhosts_responses_whatever_the_port() {
    for (flag, host) in [
        ("shop.test", "shop.test"),
        ("BLOG.test", "blog.test"),
        ("b*.test", "blog.test"),
    ] {
        let v = diagnose(&["--host", flag], &lab_inputs());
        assert_eq!(figures(&v), expected(|l| l.host == host), "{flag}");
        for i in v["incidents"].as_array().unwrap() {
            assert_eq!(i["host"], host, "{flag}: {i}");
        }
        assert_eq!(v["scope"]["host"], flag);
    }
    let both = diagnose(&["--host", "shop.test,blog.test"], &lab_inputs());
    assert_eq!(figures(&both), expected(|_| true));
    let none = diagnose(&["--host", "*.example.com"], &lab_inputs());
    assert_eq!(figures(&none), (0, 0, serde_json::json!({})));
}

#[test]
fn a_status_list_of_codes_classes_and_ranges_counts_only_those() {
    for (list, keep) in [
        ("502", &(|s: u16| s == 502) as &dyn Fn(u16) -> bool),
        ("500,504", &|s| s == 500 || s == 504),
        ("5xx", &|s| (500..600).contains(&s)),
        ("404,502-504", &|s| s == 404 || (502..=504).contains(&s)),
        ("2xx,4xx", &|s| {
            (200..300).contains(&s) || (400..500).contains(&s)
        }),
    ] {
        let v = diagnose(&["--status", list], &lab_inputs());
        assert_eq!(figures(&v), expected(|l| keep(l.status)), "{list}");
        for i in v["incidents"].as_array().unwrap() {
            for s in i["status"].as_object().unwrap().keys() {
                assert!(keep(s.parse().unwrap()), "{list}: {i}");
            }
        }
        assert_eq!(v["scope"]["status"], list);
    }
}

#[test]
fn a_path_is_a_prefix_or_else_a_glob_over_the_whole_path() {
    for (pattern, keep) in [
        (
            "/busy",
            &(|p: &str| p.starts_with("/busy")) as &dyn Fn(&str) -> bool,
        ),
        ("/d", &|p| p.starts_with("/d")),
        ("*.php", &|p| p.ends_with(".php")),
        ("/?b.php", &|p| p == "/db.php"),
    ] {
        let v = diagnose(&["--path", pattern], &lab_inputs());
        assert_eq!(figures(&v), expected(|l| keep(&l.path)), "{pattern}");
        for i in v["incidents"].as_array().unwrap() {
            for p in i["paths"].as_array().unwrap() {
                assert!(keep(p.as_str().unwrap()), "{pattern}: {i}");
            }
        }
    }
}

#[test]
fn the_text_report_says_its_scope_before_its_figures() {
    let r = run(
        "diagnose",
        &[
            "--host",
            "blog.test",
            "--status",
            "5xx",
            "--tz",
            "UTC",
            "--since",
            "2026-12-07 04:45",
        ],
        &lab_inputs(),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let scope = "Only host blog.test, status 5xx, since 2026-12-07T04:45:00+00:00.";
    let at = r.stdout.find(scope).expect(&r.stdout);
    assert!(at < r.stdout.find("requests").unwrap(), "{}", r.stdout);
    let all = run("diagnose", &[], &lab_inputs());
    assert!(!all.stdout.contains("Only "), "{}", all.stdout);
}

#[test]
fn a_scope_that_leaves_out_every_line_says_so_on_stderr() {
    // `combined` logs no host: under --host none of its lines is that host's.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let line = "127.0.0.1 - - [07/Dec/2026:04:45:00 +0000] \"GET / HTTP/1.1\" 502 1 \"-\" \"x\"\n";
    std::fs::write(&log, line).unwrap();
    let r = run(
        "diagnose",
        &["--host", "shop.test"],
        std::slice::from_ref(&log),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("no access-log line is within --host/--path/--status"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("combined"), "{}", r.stderr);
    let r = run("diagnose", &["--status", "502"], std::slice::from_ref(&log));
    assert_eq!(r.code, 1);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
}

#[test]
fn response_times_are_those_of_the_lines_in_scope() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let line = |host: &str, status: u16, time: &str| {
        format!(
            "{host}:80 127.0.0.1 - - [07/Dec/2026:04:45:00 +0000] \"GET / HTTP/1.1\" {status} 1 \"-\" \"x\" {time}\n"
        )
    };
    let text = [
        line("a.test", 200, "0.100"),
        line("a.test", 502, "0.300"),
        line("b.test", 200, "2.000"),
        line("b.test", 200, "2.000"),
    ]
    .concat();
    std::fs::write(&log, text).unwrap();
    let times = |args: &[&str]| {
        diagnose(args, std::slice::from_ref(&log))["summary"]["response_times"].clone()
    };
    let all = times(&[]);
    assert_eq!(all["2xx"]["count"], 3, "{all}");
    let a = times(&["--host", "a.test"]);
    assert_eq!(a["2xx"]["count"], 1, "{a}");
    assert!(a["2xx"]["p50_ms"].as_f64().unwrap() < 200.0, "{a}");
    assert_eq!(a["5xx"]["count"], 1, "{a}");
    let ok = times(&["--status", "2xx"]);
    assert_eq!(ok["2xx"]["count"], 3, "{ok}");
    assert!(ok.get("5xx").is_none(), "{ok}");
}

#[test]
fn the_html_report_says_its_scope_under_the_verdict_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let out = html.to_str().unwrap();
    let r = run(
        "diagnose",
        &[
            "--format",
            "html",
            "-o",
            out,
            "--host",
            "<b>blog.test",
            "--status",
            "5xx",
        ],
        &lab_inputs(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains(
            "<p class=\"meta\" id=\"scope\">Only host &lt;b&gt;blog.test, status 5xx.</p>"
        ),
        "{page}"
    );
    assert!(!page.contains("<b>blog"));
    let r = run("diagnose", &["--format", "html", "-o", out], &lab_inputs());
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        !std::fs::read_to_string(&html)
            .unwrap()
            .contains("id=\"scope\"")
    );
}

#[test]
fn filters_together_count_what_every_one_of_them_takes() {
    let v = diagnose(
        &["--host", "blog.test", "--path", "*.php", "--status", "5xx"],
        &lab_inputs(),
    );
    let want = expected(|l| l.host == "blog.test" && l.path.ends_with(".php") && l.status >= 500);
    assert!(want.1 > 0);
    assert_eq!(figures(&v), want);
}

#[test]
fn error_logs_alone_keep_the_records_of_the_host_and_path_they_name() {
    let d = lab();
    let nginx = vec![d.join("nginx/error.log")];
    let all = diagnose(&[], &nginx);
    let shop = diagnose(&["--host", "shop.test"], &nginx);
    let blog = diagnose(&["--host", "blog.test"], &nginx);
    let count = |v: &Value| -> u64 {
        v["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["count"].as_u64().unwrap())
            .sum()
    };
    assert!(count(&shop) > 0 && count(&blog) > 0);
    // Every nginx error record names its host: the two hosts share them out.
    assert_eq!(count(&shop) + count(&blog), count(&all));
    for i in shop["incidents"].as_array().unwrap() {
        assert_eq!(i["host"], "shop.test", "{i}");
    }
    // PHP's own error_log names no host and no request: under a host or a path filter
    // nothing places its records there.
    let php = vec![d.join("php/blog-error.log")];
    assert!(count(&diagnose(&[], &php)) > 0);
    assert_eq!(count(&diagnose(&["--host", "blog.test"], &php)), 0);
    assert_eq!(count(&diagnose(&["--path", "/"], &php)), 0);
    // Error records carry no status: a status filter leaves them.
    assert_eq!(
        count(&diagnose(&["--status", "502"], &php)),
        count(&diagnose(&[], &php))
    );
}

#[test]
fn seo_counts_crawlers_within_the_scope() {
    let dir = tempfile::tempdir().unwrap();
    let line = |host: &str, path: &str, status: u16| {
        format!(
            "{host}:80 66.249.66.1 - - [07/Dec/2026:04:45:00 +0000] \"GET {path} HTTP/1.1\" {status} 5 \"-\" \"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)\"\n"
        )
    };
    let log = dir.path().join("access.log");
    let text = [
        line("shop.test", "/robots.txt", 503),
        line("shop.test", "/a", 500),
        line("blog.test", "/b", 502),
        line("blog.test", "/c", 200),
    ]
    .concat();
    std::fs::write(&log, text).unwrap();
    let seo = |args: &[&str]| -> Value {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        let r = run("seo", &all, std::slice::from_ref(&log));
        serde_json::from_str(&r.stdout).unwrap_or_else(|_| panic!("{}", r.stderr))
    };
    let g = |v: &Value| {
        let c = &v["crawlers"]["googlebot"];
        (
            c["requests"].as_u64().unwrap(),
            c["server_errors"].as_u64().unwrap(),
        )
    };
    assert_eq!(g(&seo(&[])), (4, 3));
    let blog = seo(&["--host", "blog.test"]);
    assert_eq!(g(&blog), (2, 1));
    assert_eq!(blog["robots_txt"]["server_errors"], 0);
    assert_eq!(blog["scope"]["host"], "blog.test");
    assert_eq!(g(&seo(&["--status", "502,200"])), (2, 1));
    let robots = seo(&["--path", "/robots.txt"]);
    assert_eq!(g(&robots), (1, 1));
    assert_eq!(robots["robots_txt"]["server_errors"], 1);
}

// ---------------------------------------------------------------------------------------------
// --since and --until.

/// `(requests, server_errors)` of nginx's access log in the window `args` give, and the echo.
fn window(args: &[&str]) -> (u64, Value) {
    let v = diagnose(args, &[lab().join("nginx/access.log")]);
    (
        v["summary"]["requests"].as_u64().unwrap(),
        v["scope"].clone(),
    )
}

/// Lines of nginx's access log at or after `hms` (and at or before `until`).
fn nginx_between(hms: &str, until: &str) -> u64 {
    let text = std::fs::read_to_string(lab().join("nginx/access.log")).unwrap();
    text.lines()
        .map(|l| &l.split(' ').nth(4).unwrap()[13..21])
        .filter(|t| *t >= hms && *t <= until)
        .count() as u64
}

#[test]
fn durations_in_the_usual_forms_count_back_from_the_newest_line() {
    // The newest line is at 04:45:10.
    let all = nginx_between("00:00:00", "99");
    for (value, since) in [
        ("90m", "2026-12-07T03:15:10+00:00"),
        ("1h30m", "2026-12-07T03:15:10+00:00"),
        ("2h 30m", "2026-12-07T02:15:10+00:00"),
        ("2d", "2026-12-05T04:45:10+00:00"),
        ("1w", "2026-11-30T04:45:10+00:00"),
    ] {
        let (n, scope) = window(&["--since", value]);
        assert_eq!(n, all, "{value}");
        assert_eq!(scope["since"], since, "{value}");
    }
    assert_eq!(
        window(&["--since", "7s"]).0,
        nginx_between("04:45:03", "99")
    );
    assert_eq!(
        window(&["--since", "10s", "--until", "8s"]).0,
        nginx_between("04:45:00", "04:45:02")
    );
}

#[test]
fn dates_and_date_times_with_or_without_a_zone() {
    let all = nginx_between("00:00:00", "99");
    assert_eq!(window(&["--since", "2026-12-07"]).0, all);
    // A date as --until is its end.
    let (n, scope) = window(&["--until", "2026-12-07"]);
    assert_eq!(n, all);
    assert_eq!(scope["until"], "2026-12-07T23:59:59+00:00");
    assert_eq!(window(&["--until", "2026-12-06"]).0, 0);
    assert_eq!(window(&["--since", "2026-12-08"]).0, 0);
    let from_4503 = nginx_between("04:45:03", "99");
    for value in [
        "2026-12-07 04:45:03",
        "2026-12-07T04:45:03",
        "2026-12-07T05:45:03+01:00",
        "2026-12-07T04:45:03Z",
        "2026-12-07 04:45:03Z",
    ] {
        assert_eq!(window(&["--since", value]).0, from_4503, "{value}");
    }
    assert_eq!(
        window(&["--since", "2026-12-07 04:45"]).0,
        nginx_between("04:45:00", "99")
    );
    // A time without a zone is in --tz's.
    let v = diagnose(
        &["--tz", "Europe/Paris", "--since", "2026-12-07 05:45:03"],
        &[lab().join("nginx/access.log")],
    );
    assert_eq!(v["summary"]["requests"].as_u64().unwrap(), from_4503);
    assert_eq!(v["scope"]["since"], "2026-12-07T05:45:03+01:00");
}

#[test]
fn a_bad_value_is_one_line_naming_the_flag_and_what_would_do() {
    let log = [lab().join("nginx/access.log")];
    for (flag, value, mentions) in [
        ("--since", "1h3x", "90m, 1h30m, 2d"),
        ("--since", "yesterday", "2026-11-25"),
        ("--until", "2026-12-32", "2026-11-25 17:14"),
        ("--until", "-5m", "duration"),
        ("--status", "5o2", "502,504"),
        ("--status", "600-500", "5xx"),
        ("--host", ",", "*.example.com"),
        ("--path", "", "prefix"),
    ] {
        // `watch` takes the filters (not the window) for its dashboard, and refuses a bad one
        // before it starts.
        let watch = ["--status", "--host", "--path"].contains(&flag);
        for cmd in ["diagnose", "seo", "watch"]
            .into_iter()
            .filter(|c| *c != "watch" || watch)
        {
            // `--until=-5m`: a value starting with `-` is given with `=`, as clap wants.
            let r = run(cmd, &[&format!("{flag}={value}")], &log);
            assert_eq!(r.code, 2, "{cmd} {flag} {value}: {}", r.stderr);
            assert!(r.stdout.is_empty());
            let lines: Vec<&str> = r.stderr.lines().collect();
            assert_eq!(lines.len(), 1, "{:?}", r.stderr);
            let line = lines[0];
            assert!(line.contains(&format!("{flag} `{value}`")), "{line}");
            assert!(line.contains(mentions), "{line}");
            for internal in ["position", "failed to parse", "Error", "invalid digit"] {
                assert!(!line.contains(internal), "{line}");
            }
        }
    }
}
