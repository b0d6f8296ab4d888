//! `fivehundred watch` loses no line to how it starts reading a file: the built binary as a
//! child process on 127.0.0.1 with its own `--state`, real files written under it.
//!
//! - a log whose first line is a banner is read as the log it is once its lines come, and
//!   the banner is counted as an unparsed line; one whose first line is a PHP notice, too
//!   (its access lines are not taken for the notice's stack trace);
//! - a log truncated and written anew in another format is read in its new format (its
//!   format is decided again, not kept from before the truncation);
//! - with `--from-end`, a line written as soon as `watch` says it is ready is read: the ends
//!   of the files are taken before that, not at some later first poll;
//! - a per-site log directory made after start (a real nginx writing `sites/site1/access.log`)
//!   is followed; a symlink loop and a log nine levels down are named once, never read.
//!
//! Readiness is polled (`/healthz`, `/metrics`), never slept for.
mod lab;
#[path = "watch_e2e/support.rs"]
#[allow(dead_code)]
mod support;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::{self, File};

use support::{DEADLINE, Watch, append, line, now_ms, wait};

const MINUTE: i64 = 60_000;

fn args(items: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<OsString> {
    items.iter().map(|a| a.as_ref().to_owned()).collect()
}

/// An nginx error-log line, one record each.
fn error_line(n: u64) -> String {
    format!("2026/11/25 14:00:0{n} [error] 812#812: *{n} upstream timed out, client: 10.0.0.1\n")
}

#[test]
fn a_banner_before_the_first_log_line_hides_no_5xx_from_watch() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(
        &log,
        "# access log of www.example.org, opened by logger 1.2\n",
    );
    let state = dir.path().join("state");
    let mut watch = Watch::start(&args(&[&log]), &state);
    let unparsed = r#"fivehundred_log_lines_total{kind="unknown",result="unparsed"}"#;
    watch.wait_metrics("the banner read", |m| m.value(unparsed) == 1.0);
    let at = now_ms() - 20 * MINUTE;
    append(&log, &(line(at, 1, 500, "/x") + &line(at, 2, 503, "/y")));
    let m = watch.wait_metrics("the 5xx counted", |m| {
        m.responses() == BTreeMap::from([(500, 1), (503, 1)])
    });
    assert_eq!((m.parsed(), m.value(unparsed)), (2, 1.0), "{m:?}");
}

/// A PHP notice (an error-log record, which takes any line starting no record as its stack
/// trace) read first: the access lines written after it are still read as access lines.
#[test]
fn a_php_notice_before_the_first_log_line_hides_no_5xx_from_watch() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(
        &log,
        "[25-Nov-2026 09:59:00 UTC] PHP Notice:  Undefined variable $cart in /var/www/cart.php on line 41\n",
    );
    let state = dir.path().join("state");
    let mut watch = Watch::start(&args(&[&log]), &state);
    let php = r#"fivehundred_log_lines_total{kind="php_error",result="parsed"}"#;
    watch.wait_metrics("the notice read", |m| m.value(php) == 1.0);
    let at = now_ms() - 20 * MINUTE;
    let access: String = (0..40)
        .map(|n| line(at, n, if n % 2 == 0 { 500 } else { 200 }, "/x"))
        .collect();
    append(&log, &access);
    let m = watch.wait_metrics("the 5xx counted", |m| {
        m.responses() == BTreeMap::from([(200, 20), (500, 20)])
    });
    assert_eq!((m.parsed(), m.value(php)), (40, 1.0), "{m:?}");
}

#[test]
fn a_log_truncated_and_rewritten_in_another_format_is_read_in_its_new_format() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).unwrap();
    let log = logs.join("site.log");
    append(&log, &(1..=3).map(error_line).collect::<String>());
    let state = dir.path().join("state");
    let mut watch = Watch::start(&args(&[&logs, &"--tz", &"UTC"]), &state);
    let errors = r#"fivehundred_log_lines_total{kind="error",result="parsed"}"#;
    watch.wait_metrics("the error lines read", |m| m.value(errors) == 3.0);
    // Rewritten at once, while the last error record may still wait for continuation lines:
    // these must not be taken for them.
    File::create(&log).unwrap();
    let at = now_ms() - 20 * MINUTE;
    let access: String = (0..5)
        .map(|n| line(at + n as i64, n, if n < 3 { 500 } else { 200 }, "/x"))
        .collect();
    append(&log, &access);
    let m = watch.wait_metrics("the access lines read", |m| {
        m.responses() == BTreeMap::from([(200, 2), (500, 3)])
    });
    assert_eq!(m.parsed(), 5, "{m:?}");
}

/// How many starts: the old race lost the line in about one start of four under load.
const FROM_END_STARTS: usize = 12;

#[test]
fn a_line_written_as_soon_as_a_from_end_start_is_ready_is_read() {
    for start in 0..FROM_END_STARTS {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        let history: String = (0..50)
            .map(|n| line(now_ms() - 30 * MINUTE, n, 200, "/old"))
            .collect();
        append(&log, &history);
        let state = dir.path().join("state");
        let mut watch = Watch::start(&args(&[&log, &"--from-end"]), &state);
        append(&log, &line(now_ms(), 1, 500, "/first"));
        wait(
            &format!("the first line after start {start}"),
            DEADLINE,
            || {
                let m = watch.metrics();
                match m.parsed() {
                    0 => Err(format!("{m:?}")),
                    _ => Ok(()),
                }
            },
        );
        assert_eq!(
            watch.metrics().responses(),
            BTreeMap::from([(500, 1)]),
            "start {start}: only the line written after it"
        );
    }
}

/// `watch` follows `sites/`, empty at its start. Then a per-site directory is made, with a
/// link in it back up (a loop) and, beside it, a log nine directory levels down (one deeper
/// than read); nginx starts writing `sites/site1/access.log` (`access_log` in its server
/// block) and answers 500 (a rewrite cycle). Its 500s are counted like a file's in `sites/`
/// itself; the loop and the deep log are each named once on stderr, and neither is read.
#[test]
fn a_per_site_log_directory_made_after_start_is_followed() {
    if lab::skip_unless_root("a_per_site_log_directory_made_after_start_is_followed") {
        return;
    }
    let lab = lab::Lab::new();
    let sites = lab.mkdir("sites");
    let mut watch = Watch::start(&args(&[&sites]), &lab.path("state"));
    let site = lab.mkdir("sites/site1");
    std::os::unix::fs::symlink("..", site.join("up")).unwrap();
    let deep = (1..=9).fold(sites.clone(), |p, level| p.join(format!("d{level}")));
    fs::create_dir_all(&deep).unwrap();
    append(&deep.join("access.log"), &line(now_ms(), 1, 503, "/deep"));
    let nginx = lab::nginx::NginxOptions::new()
        .rewrite_loop()
        .server(&format!(
            "access_log {} combined;",
            site.join("access.log").display()
        ))
        .start(&lab);
    assert_eq!(nginx.gets("/loop", 3), vec![500; 3]);
    watch.wait_metrics("nginx's 500s in site1/", |m| {
        m.responses().get(&500) == Some(&3)
    });
    let said = |watch: &Watch, what: &str| {
        let output = watch.output();
        output.lines().filter(|l| l.contains(what)).count()
    };
    wait(
        "the loop and the deep directory named",
        DEADLINE,
        || match said(&watch, "site1/up: a link to a directory it is in")
            + said(&watch, "d9: more than 8 directory levels down")
        {
            2 => Ok(()),
            _ => Err(watch.output()),
        },
    );
    // More polls go by (one more request read): each is still named once, nothing else read.
    assert_eq!(nginx.gets("/loop", 1), vec![500]);
    let m = watch.wait_metrics("one more 500", |m| m.responses().get(&500) == Some(&4));
    assert_eq!(m.responses(), BTreeMap::from([(500, 4)]), "{m:?}");
    assert_eq!(said(&watch, "site1/up"), 1, "{}", watch.output());
    assert_eq!(said(&watch, "/d9"), 1, "{}", watch.output());
}
