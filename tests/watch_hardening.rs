//! `fivehundred watch` under the faults issue 16's audit found, the built binary as a child
//! process on 127.0.0.1:
//!
//! - a webhook answering 302 (an http→https redirect is enough) is a failed delivery: the
//!   alert stays queued and is retried, stderr names the status and where it points, and the
//!   redirect is never followed;
//! - a webhook URL's password and token never reach the state directory, which is 0700 with
//!   its store 0600 (an existing 0755 directory is tightened, and said so);
//! - with its descriptors limited to 256, 600 idle connections do not stop `/metrics`
//!   answering at once, and a `Host` other than its own or an `--allow-host` name gets a 421;
//! - with the store's disk full, counting and alerting go on from memory and the store
//!   catches up when space returns; an alert not delivered from memory by then is queued on
//!   disk with it (not lost at a restart), and arrives once.
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
    while let Some((head, _)) = support::read_request(&mut reader) {
        let post = head
            .first()
            .is_some_and(|l| l.to_ascii_lowercase().starts_with("post "));
        let answer = if post {
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

/// `fivehundred watch --listen 127.0.0.1:PORT ARGS…` started by `sh -c SCRIPT` (which ends
/// in `exec "$0" watch "$@"`) under `wrapper` (a command prefix, maybe none), with its output
/// collected; ready once `/healthz` answers, killed when dropped.
struct Wrapped {
    child: Child,
    port: u16,
    output: Arc<Mutex<String>>,
}

impl Wrapped {
    fn start(wrapper: &[&str], script: &str, port: u16, args: &[OsString]) -> Wrapped {
        let (program, before) = match wrapper {
            [program, rest @ ..] => (*program, rest),
            [] => ("sh", &[][..]),
        };
        let mut command = Command::new(program);
        if !wrapper.is_empty() {
            command.args(before).arg("sh");
        }
        let mut child = command
            .arg("-c")
            .arg(script)
            .arg(BIN)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {program}: {e}"));
        let output = support::collect_output([
            Box::new(child.stderr.take().unwrap()) as Box<dyn Read + Send>
        ]);
        let mut wrapped = Wrapped {
            child,
            port,
            output,
        };
        wait("/healthz", support::DEADLINE, || {
            if let Ok(Some(status)) = wrapped.child.try_wait() {
                panic!("watch exited ({status}): {}", wrapped.output());
            }
            let r = lab::fetch(port, "GET", "/healthz", "127.0.0.1", b"");
            if r.status == 200 {
                Ok(())
            } else {
                Err(wrapped.output())
            }
        });
        wrapped
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// `/metrics`, parsed; fails the test (with what watch said) when it does not answer.
    fn metrics(&self) -> support::Metrics {
        let r = lab::fetch(self.port, "GET", "/metrics", "127.0.0.1", b"");
        assert_eq!(r.status, 200, "watch said:\n{}", self.output());
        support::Metrics::parse(&r.body)
    }

    /// Polls `/metrics` until `cond` holds.
    fn wait_metrics(&self, what: &str, cond: impl Fn(&support::Metrics) -> bool) {
        wait(what, support::DEADLINE, || {
            let m = self.metrics();
            if cond(&m) {
                Ok(())
            } else {
                Err(format!("{m:?}\n{}", self.output()))
            }
        });
    }
}

impl Drop for Wrapped {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
    let _watch = Wrapped::start(
        &[],
        "ulimit -n 256 && exec \"$0\" watch \"$@\"",
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

/// Access lines at now: `ok` 200s, then a 500 on `/robots.txt` if `robots`.
fn traffic(ok: u64, robots: bool) -> String {
    let mut text: String = (0..ok).map(|n| line(now_ms(), n, 200, "/")).collect();
    if robots {
        text.push_str(&line(now_ms(), ok, 500, "/robots.txt"));
    }
    text
}

/// Writes to `path` until the file system is full.
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let chunk = vec![0xA5; 64 * 1024];
    while f.write_all(&chunk).and_then(|()| f.sync_all()).is_ok() {}
}

/// `watch` on `log` with its state directory on a 1 MiB tmpfs of its own (in a user and
/// mount namespace), and a webhook at `hook`.
struct FullDisk {
    watch: Wrapped,
    /// The state directory as seen from here, through /proc.
    inside: std::path::PathBuf,
    dir: tempfile::TempDir,
    log: std::path::PathBuf,
}

impl FullDisk {
    /// `None` where namespaces cannot be made (the test is then skipped, and says so).
    fn start(hook: &str) -> Option<FullDisk> {
        let can_mount = Command::new("unshare")
            .args(["-rm", "true"])
            .status()
            .is_ok_and(|s| s.success());
        if !can_mount {
            eprintln!(
                "note: skipping: no user and mount namespaces here (unshare -rm) for a tmpfs"
            );
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        append(&log, &traffic(1, false));
        let state = dir.path().join("state");
        std::fs::create_dir(&state).unwrap();
        let script = "mount -t tmpfs -o size=1m none \"$STATE\" && exec \"$0\" watch \"$@\"";
        let watch = Wrapped::start(
            &[
                "env",
                &format!("STATE={}", state.display()),
                "unshare",
                "-rm",
            ],
            script,
            lab::free_port(),
            &[
                log.clone().into(),
                "--state".into(),
                state.clone().into(),
                "--webhook".into(),
                hook.into(),
            ],
        );
        let inside = Path::new("/proc")
            .join(watch.child.id().to_string())
            .join("root")
            .join(state.strip_prefix("/").unwrap());
        watch.wait_metrics("the first line", |m| m.parsed() == 1);
        Some(FullDisk {
            watch,
            inside,
            dir,
            log,
        })
    }

    /// SIGTERM; what watch said, once it exited.
    fn stop(mut self) -> String {
        let pid = self.watch.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = self.watch.child.wait().unwrap();
        assert!(status.success(), "{status}: {}", self.watch.output());
        self.watch.output()
    }

    fn filler(&self) -> std::path::PathBuf {
        self.inside.join("filler")
    }

    /// How many lines of watch's stderr contain `what`.
    fn said(&self, what: &str) -> usize {
        let output = self.watch.output();
        output.lines().filter(|l| l.contains(what)).count()
    }

    /// A copy of the store as it is now (SQLite resolves /proc/PID/root to this namespace's
    /// own root, so it cannot open it there).
    fn store_copy(&self, name: &str) -> rusqlite::Connection {
        let copy = self.dir.path().join(name);
        std::fs::create_dir(&copy).unwrap();
        for file in ["fivehundred.db", "fivehundred.db-wal"] {
            std::fs::copy(self.inside.join(file), copy.join(file)).unwrap();
        }
        rusqlite::Connection::open(copy.join("fivehundred.db")).unwrap()
    }
}

fn count(db: &rusqlite::Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_full_disk_under_the_store_keeps_counting_and_alerting_then_catches_up() {
    let rx = Receiver::start();
    let Some(disk) = FullDisk::start(&rx.url()) else {
        return;
    };
    let watch = &disk.watch;
    fill(&disk.filler());
    append(&disk.log, &traffic(9, true));
    watch.wait_metrics("10 lines more, held", |m| {
        m.parsed() == 11 && m.value("fivehundred_store_ok") == 0.0
    });
    rx.wait_count(1, RETRIES);
    assert_eq!(
        rx.bodies()[0]["alert"],
        "robots_txt_5xx",
        "sent from memory"
    );
    append(&disk.log, &traffic(5, false));
    watch.wait_metrics("5 lines more", |m| m.parsed() == 16);
    assert_eq!(
        disk.said("go on in memory"),
        1,
        "said once: {}",
        watch.output()
    );

    std::fs::remove_file(disk.filler()).unwrap();
    watch.wait_metrics("the store writable again", |m| {
        m.value("fivehundred_store_ok") == 1.0
    });
    assert_eq!(disk.said("takes writes again"), 1, "{}", watch.output());
    let db = disk.store_copy("copy");
    let responses = "SELECT n FROM counter WHERE metric = 'responses' AND a = ";
    assert_eq!(count(&db, &format!("{responses} '200'")), 15, "caught up");
    assert_eq!(count(&db, &format!("{responses} '500'")), 1, "caught up");
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM outbox"),
        0,
        "nothing left to send"
    );
    assert_eq!(rx.bodies().len(), 1, "the alert once: {:?}", rx.bodies());
}

/// An alert raised while the disk is full, whose webhook is down then: when space returns,
/// the store's catch-up moves it into the outbox with the lines that raised it (before, it
/// stayed in memory only, and a restart, which reads those lines no more, lost it); the
/// webhook up again gets it exactly once.
#[test]
fn an_alert_held_in_memory_is_queued_on_disk_when_space_returns_and_arrives_once() {
    let port = lab::free_port();
    let hook = format!("http://127.0.0.1:{port}/hook");
    let Some(disk) = FullDisk::start(&hook) else {
        return;
    };
    let watch = &disk.watch;
    fill(&disk.filler());
    append(&disk.log, &traffic(4, true));
    watch.wait_metrics("5 lines more, held", |m| {
        m.parsed() == 6 && m.value("fivehundred_store_ok") == 0.0
    });
    wait("a failed delivery from memory", RETRIES, || {
        match disk.said("robots_txt_5xx") > 0 && disk.said("not delivered") > 0 {
            true => Ok(()),
            false => Err(watch.output()),
        }
    });

    std::fs::remove_file(disk.filler()).unwrap();
    watch.wait_metrics("the store writable again", |m| {
        m.value("fivehundred_store_ok") == 1.0
    });
    let db = disk.store_copy("caught-up");
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM outbox WHERE key LIKE 'robots_txt_5xx%'"
        ),
        1,
        "queued on disk: {}",
        watch.output()
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM outbox"), 1);

    let rx = Receiver::start_on(port);
    rx.wait_count(1, RETRIES);
    wait("the delivery recorded", RETRIES, || {
        let n = count(
            &disk.store_copy(&format!("after-{}", now_ms())),
            "SELECT COUNT(*) FROM outbox",
        );
        if n == 0 {
            Ok(())
        } else {
            Err(format!("{n} rows"))
        }
    });
    // Stopped, nothing is left in memory either (it would be said): once, and only once.
    let output = disk.stop();
    assert_eq!(rx.bodies().len(), 1, "once: {:?}", rx.bodies());
    assert_eq!(rx.bodies()[0]["alert"], "robots_txt_5xx");
    assert!(!output.contains("were not made"), "{output}");
}
