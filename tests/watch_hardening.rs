//! `fivehundred watch` under the faults issue 16's audit found, the built binary as a child
//! process on 127.0.0.1:
//!
//! - a webhook answering 302 (an http→https redirect is enough) is a failed delivery: the
//!   alert stays queued and is retried, stderr names the status and where it points, and the
//!   redirect is never followed;
//! - a webhook URL's password and token never reach the state directory, which is 0700 with
//!   its store 0600 (an existing 0755 directory is tightened, and said so);
//! - with its descriptors limited to 256, 600 idle connections do not stop `/metrics`
//!   answering at once, and a `Host` other than its own or an `--allow-host` name gets a 421.
//!
//! Readiness is polled, never slept for.
mod lab;
#[allow(dead_code)] // watch_e2e's harness; only `Watch`, `Receiver` and helpers are used here
#[path = "watch_e2e/support.rs"]
mod support;

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use support::{BIN, Receiver, Watch, append, line, now_ms, wait};

/// How long a retried delivery may take to show.
const RETRIES: Duration = Duration::from_secs(30);

/// A log whose one line, written now, is a 500 on `/robots.txt`: `robots_txt_5xx` fires at
/// once, even on a first start.
fn robots_500(dir: &Path) -> std::path::PathBuf {
    let log = dir.join("access.log");
    append(&log, &line(now_ms(), 1, 500, "/robots.txt"));
    log
}

/// What the redirecting webhook saw.
#[derive(Default, Debug)]
struct Seen {
    posts: usize,
    landed: usize,
}

/// A webhook on 127.0.0.1 that answers every POST `302 Found` to its own `/landing`, where
/// anything gets a 200; it counts both. Runs until the test ends.
fn redirecting_webhook() -> (u16, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let counts = Arc::clone(&seen);
    thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let counts = Arc::clone(&counts);
            thread::spawn(move || answer_redirecting(stream, port, &counts));
        }
    });
    (port, seen)
}

/// Answers the requests of one connection of [`redirecting_webhook`] until it closes.
fn answer_redirecting(stream: TcpStream, port: u16, seen: &Mutex<Seen>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut head = Vec::new();
        loop {
            let mut l = String::new();
            match reader.read_line(&mut l) {
                Ok(0) | Err(_) => return,
                Ok(_) if l.trim_end().is_empty() => break,
                Ok(_) => head.push(l.to_ascii_lowercase()),
            }
        }
        let length: usize = head
            .iter()
            .find_map(|h| h.strip_prefix("content-length:")?.trim().parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let answer = if head.first().is_some_and(|l| l.starts_with("post ")) {
            seen.lock().unwrap().posts += 1;
            format!(
                "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{port}/landing\r\n\
                 Content-Length: 0\r\n\r\n"
            )
        } else {
            seen.lock().unwrap().landed += 1;
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_owned()
        };
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

#[test]
fn a_webhook_answering_302_is_a_failed_delivery_retried_and_warned() {
    let dir = tempfile::tempdir().unwrap();
    let log = robots_500(dir.path());
    let state = dir.path().join("state");
    let (port, seen) = redirecting_webhook();
    let hook: OsString = format!("http://127.0.0.1:{port}/hook").into();
    let watch = Watch::start(&[log.into(), "--webhook".into(), hook], &state);

    wait("3 attempts at the alert", RETRIES, || {
        let s = seen.lock().unwrap();
        if s.posts >= 3 {
            Ok(())
        } else {
            Err(format!("{s:?}"))
        }
    });
    let warned = wait("the warning", RETRIES, || {
        let out = watch.output();
        let warning = out
            .lines()
            .find(|l| l.contains("302 Found"))
            .map(str::to_owned);
        warning.ok_or(out)
    });
    assert!(warned.contains("warning"), "{warned}");
    assert!(
        warned.contains(&format!("http://127.0.0.1:{port}/landing")),
        "names where it points: {warned}"
    );
    assert!(warned.contains("not followed"), "{warned}");
    let (_, out) = watch.terminate();
    assert_eq!(
        seen.lock().unwrap().landed,
        0,
        "followed; watch said:\n{out}"
    );
    let queued: i64 = rusqlite::Connection::open(state.join("fivehundred.db"))
        .unwrap()
        .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))
        .unwrap();
    assert_eq!(queued, 1, "the alert is kept for the next attempt");
}

/// The bytes of every file under `dir`, and each path with its mode.
fn files_under(dir: &Path, bytes: &mut Vec<u8>, modes: &mut Vec<(String, u32)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        modes.push((path.display().to_string(), mode));
        if path.is_dir() {
            files_under(&path, bytes, modes);
        } else {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn a_webhook_password_and_token_never_reach_the_private_store() {
    let dir = tempfile::tempdir().unwrap();
    let log = robots_500(dir.path());
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
    let rx = Receiver::start();
    let hook = format!("http://user:secret@127.0.0.1:{}/hook?token=abc", rx.port);
    let watch = Watch::start(&[log.into(), "--webhook".into(), hook.into()], &state);
    rx.wait_count(1, RETRIES);
    let (status, out) = watch.terminate();
    assert!(status.success(), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("note") && l.contains("was mode 755") && l.contains("700")),
        "the tightening is said: {out}"
    );

    let (mut bytes, mut modes) = (Vec::new(), Vec::new());
    files_under(&state, &mut bytes, &mut modes);
    for secret in ["secret", "abc"] {
        assert!(!contains(&bytes, secret), "{secret:?} is in {modes:?}");
    }
    let db = state.join("fivehundred.db").display().to_string();
    assert!(modes.iter().any(|(p, _)| *p == db), "{modes:?}");
    for (path, mode) in &modes {
        if *path == db || path.starts_with(&format!("{db}-")) {
            assert_eq!(*mode, 0o600, "{path}");
        }
    }
    let dir_mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
    assert_eq!(dir_mode, 0o700);
}

/// `fivehundred watch ARGS…` with its descriptors limited to `nofile` (soft and hard), on
/// 127.0.0.1:`port`; killed when dropped.
struct Limited(Child);

impl Limited {
    fn start(nofile: u32, port: u16, args: &[OsString]) -> Limited {
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -n {nofile} && exec \"$0\" watch --listen 127.0.0.1:{port} \"$@\""
            ))
            .arg(BIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sh");
        let limited = Limited(child);
        wait("/healthz", support::DEADLINE, || {
            let r = lab::fetch(port, "GET", "/healthz", "127.0.0.1", b"");
            if r.status == 200 {
                Ok(())
            } else {
                Err(format!("{}", r.status))
            }
        });
        limited
    }
}

impl Drop for Limited {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET path` naming `host`, given `limit` to answer: the status line, or what went wrong.
fn get_within(port: u16, path: &str, host: &str, limit: Duration) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(limit)).unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    s.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    match BufReader::new(s).read_line(&mut answer) {
        Ok(_) => answer.trim_end().to_owned(),
        Err(e) => format!("no answer: {e}"),
    }
}

#[test]
fn idle_connections_beyond_the_descriptor_limit_do_not_stop_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let log = robots_500(dir.path());
    let state = dir.path().join("state");
    let port = lab::free_port();
    let _watch = Limited::start(
        256,
        port,
        &[
            log.into(),
            "--state".into(),
            state.into(),
            "--allow-host".into(),
            "dash.example".into(),
        ],
    );
    let idle: Vec<TcpStream> = (0..600)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    let asked = Instant::now();
    let status = get_within(port, "/metrics", "127.0.0.1", Duration::from_secs(5));
    assert_eq!(status, "HTTP/1.1 200 OK", "after {:?}", asked.elapsed());
    let host = format!("dash.example:{port}");
    assert_eq!(
        get_within(port, "/", &host, Duration::from_secs(5)),
        "HTTP/1.1 200 OK"
    );
    assert_eq!(
        get_within(port, "/", "evil.example", Duration::from_secs(5)),
        "HTTP/1.1 421 Misdirected Request"
    );
    drop(idle);
}
