//! `fivehundred watch` following more files than it may hold open: started under an
//! open-file limit of 256 (soft and hard, as `ulimit -n 256` sets them), it follows 400 files
//! through appends, rename rotation and `copytruncate`, with 120 idle HTTP connections open
//! meanwhile, and counts every line exactly once.
//!
//! The limit is set on this test process and inherited by the child, so this file holds this
//! one test: no other test may run under it.
mod lab;
#[path = "watch_e2e/support.rs"]
#[allow(dead_code)]
mod support;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::resource::{Resource, setrlimit};
use support::{Watch, append, line, now_ms};

const FILES: u64 = 400;
const LIMIT: u64 = 256;
/// Idle HTTP connections held meanwhile (this process's own descriptors count too).
const IDLE: usize = 120;

fn log(dir: &Path, i: u64) -> PathBuf {
    dir.join(format!("site{i}.log"))
}

/// One `combined` line for file `i`, 20 minutes ago (history: no alert).
fn entry(i: u64, status: u16) -> String {
    line(now_ms() - 20 * 60_000, i, status, &format!("/site/{i}"))
}

/// `rename` rotation with the server writing on to the old file a moment: a 502 there, a
/// 200 in the new file.
fn rotate_by_rename(path: &Path, i: u64) {
    let mut old = OpenOptions::new().append(true).open(path).unwrap();
    fs::rename(path, path.with_extension("log.1")).unwrap();
    old.write_all(entry(i, 502).as_bytes()).unwrap();
    append(path, &entry(i, 200));
}

/// logrotate's `copytruncate`, then a 502 and a 200 in the truncated file.
fn copytruncate(path: &Path, i: u64) {
    fs::copy(path, path.with_extension("log.1")).unwrap();
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(path, &(entry(i, 502) + &entry(i, 200)));
}

#[test]
fn under_a_256_descriptor_limit_400_files_and_idle_connections_lose_and_double_no_line() {
    setrlimit(Resource::RLIMIT_NOFILE, LIMIT, LIMIT).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).unwrap();
    for i in 0..FILES {
        let text = entry(i, 200) + &entry(i, 500) + &entry(i, 200);
        append(&log(&logs, i), &text);
    }
    let args: Vec<OsString> = vec![logs.clone().into()];
    let mut watch = Watch::start(&args, &dir.path().join("state"));
    watch.wait_parsed(3 * FILES);
    // Idle connections on top, more than watch takes at this limit (a quarter of it): they
    // must cost neither a line nor `/metrics`.
    let idle: Vec<TcpStream> = (0..IDLE)
        .map(|_| TcpStream::connect(("127.0.0.1", watch.port)).unwrap())
        .collect();

    for i in 0..FILES {
        let path = log(&logs, i);
        match i % 25 {
            0 => rotate_by_rename(&path, i),
            1 => copytruncate(&path, i),
            _ => append(&path, &(entry(i, 502) + &entry(i, 200))),
        }
    }
    let want = BTreeMap::from([(200, 3 * FILES), (500, FILES), (502, FILES)]);
    watch.wait_metrics("every line counted", |m| m.responses() == want);
    // Nothing comes twice later either: a few seconds of polls (five a second).
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        let m = watch.metrics();
        assert_eq!(m.responses(), want, "{m:?}");
        assert_eq!(m.parsed(), 5 * FILES, "{m:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(idle);
    assert!(
        watch.output().contains("held open at once"),
        "the budget is said on stderr:\n{}",
        watch.output()
    );
}
