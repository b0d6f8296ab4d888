//! The tailer against the ways logs get rotated, truncated, replaced and cut, and against
//! restarts at any moment: a writer appends numbered lines (`line <n>`), a consumer takes what
//! the tailer hands out and stores it only together with the commit (as `watch` stores events
//! and checkpoint), and at the end every number is there exactly once.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use fivehundred::watch::tail::{Mark, TailConfig, TailError, Tailer};

/// Appends numbered lines the way a web server writes its log: one `O_APPEND` handle, kept
/// until told to reopen (after a rotation).
struct Writer {
    file: File,
    next: u64,
    /// The second half of a line whose first half is written.
    rest: Option<String>,
}

impl Writer {
    fn new(path: &Path) -> Writer {
        Writer {
            file: append(path),
            next: 0,
            rest: None,
        }
    }

    fn reopen(&mut self, path: &Path) {
        self.finish();
        self.file = append(path);
    }

    /// Writes `lines` lines at once, as a server with a log buffer does.
    fn write(&mut self, lines: u64) {
        self.finish();
        let mut burst = String::new();
        for _ in 0..lines {
            burst += &format!("line {}\n", self.next);
            self.next += 1;
        }
        self.file.write_all(burst.as_bytes()).unwrap();
    }

    /// Writes the first half of a line: a reader may find it before the rest.
    fn half(&mut self) {
        self.finish();
        let mut line = format!("line {}\n", self.next);
        self.rest = Some(line.split_off(3));
        self.file.write_all(line.as_bytes()).unwrap();
        self.next += 1;
    }

    fn finish(&mut self) {
        if let Some(rest) = self.rest.take() {
            self.file.write_all(rest.as_bytes()).unwrap();
        }
    }
}

fn append(path: &Path) -> File {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
}

/// Takes what the tailer hands out and stores it (the numbers, the oversized count) only
/// together with the commit: dropping the tailer between a poll and its commit is a crash.
struct Consumer {
    config: TailConfig,
    tailer: Option<Tailer>,
    stored: Vec<u64>,
    oversized: u64,
}

impl Consumer {
    fn new(paths: Vec<PathBuf>, state_dir: &Path) -> Consumer {
        Consumer::with(paths, state_dir, false)
    }

    fn with(paths: Vec<PathBuf>, state_dir: &Path, from_end: bool) -> Consumer {
        Consumer {
            config: TailConfig {
                paths,
                state_dir: state_dir.to_path_buf(),
                from_end,
            },
            tailer: None,
            stored: Vec::new(),
            oversized: 0,
        }
    }

    /// The tailer, (re)started from the checkpoint after a crash.
    fn tailer(&mut self) -> &mut Tailer {
        let config = &self.config;
        self.tailer
            .get_or_insert_with(|| Tailer::open(config.clone()).unwrap())
    }

    /// One poll, stored and committed; whether more is ready.
    fn step(&mut self) -> bool {
        let tailer = self.tailer();
        let batch = tailer.poll();
        let mut got = Vec::new();
        for chunk in batch.chunks {
            got.extend(numbers(&chunk.bytes));
            tailer.recycle(chunk.bytes);
        }
        tailer.commit(&batch.mark).unwrap();
        self.stored.extend(got);
        self.oversized += batch.oversized;
        batch.more
    }

    /// A crash after a poll, before its commit: what it read is lost with the process.
    fn crash_after_poll(&mut self) {
        self.tailer().poll();
        self.tailer = None;
    }

    /// Polls until `want` lines are stored, then once more (nothing may follow).
    fn drain_to(&mut self, want: usize) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.stored.len() < want {
            assert!(
                Instant::now() < deadline,
                "stuck at {} of {want} lines",
                self.stored.len()
            );
            if !self.step() {
                thread::sleep(Duration::from_millis(2));
            }
        }
        self.step();
    }
}

/// The numbers of `line <n>` lines; anything else is a line cut or mixed up by the tailer.
fn numbers(bytes: &[u8]) -> Vec<u64> {
    assert!(bytes.ends_with(b"\n"), "a chunk ends inside a line");
    fivehundred::read::lines(bytes)
        .map(|line| {
            std::str::from_utf8(line)
                .ok()
                .and_then(|l| l.strip_prefix("line "))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("not a whole line: {:?}", String::from_utf8_lossy(line)))
        })
        .collect()
}

/// Every number below `n` exactly once.
fn assert_each_once(stored: &[u64], n: u64) {
    let mut sorted = stored.to_vec();
    sorted.sort_unstable();
    let dup = sorted.windows(2).find(|w| w[0] == w[1]);
    assert!(dup.is_none(), "line {} handed out twice", dup.unwrap()[0]);
    let missing: Vec<u64> = (0..n)
        .filter(|i| sorted.binary_search(i).is_err())
        .collect();
    assert!(missing.is_empty(), "lines lost: {missing:?}");
    assert_eq!(sorted.len() as u64, n, "lines that were never written");
}

/// `access.log.<i>`.
fn rotated(log: &Path, i: u32) -> PathBuf {
    PathBuf::from(format!("{}.{i}", log.display()))
}

/// Moves `access.log.<i>` to `access.log.<i+1>`, as logrotate does before rotating.
fn shift(log: &Path) {
    let last = (1..).find(|&i| !rotated(log, i).exists()).unwrap();
    for i in (1..last).rev() {
        fs::rename(rotated(log, i), rotated(log, i + 1)).unwrap();
    }
}

/// logrotate's `create` mode: rename, and the server reopens a new file.
fn rotate_by_rename(log: &Path, writer: &mut Writer) {
    shift(log);
    fs::rename(log, rotated(log, 1)).unwrap();
    writer.reopen(log);
}

/// logrotate's `copytruncate` mode. Lines written between the copy and the truncation are
/// lost by any tailer (the writer is held off here, as that loss is not the tailer's), and so
/// is a line cut in two by it.
fn copytruncate(log: &Path, writer: &mut Writer) {
    copy_for_rotation(log, writer);
    truncate(log);
}

/// The first half of `copytruncate`: the writer must write nothing until the truncation.
fn copy_for_rotation(log: &Path, writer: &mut Writer) {
    writer.finish();
    shift(log);
    fs::copy(log, rotated(log, 1)).unwrap();
}

fn truncate(log: &Path) {
    OpenOptions::new()
        .write(true)
        .open(log)
        .unwrap()
        .set_len(0)
        .unwrap();
}

/// A log directory with `access.log` and a state directory beside it.
struct Setup {
    _dir: tempfile::TempDir,
    logs: PathBuf,
    log: PathBuf,
    state: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).unwrap();
    Setup {
        log: logs.join("access.log"),
        state: dir.path().join("state"),
        logs,
        _dir: dir,
    }
}

impl Setup {
    /// Following the log by its path, or its whole directory.
    fn followed(&self, by_dir: bool) -> Vec<PathBuf> {
        vec![if by_dir { &self.logs } else { &self.log }.clone()]
    }
}

#[test]
fn rename_rotation_reads_the_old_file_to_its_end_then_the_new_one() {
    for by_dir in [false, true] {
        let s = setup();
        let mut w = Writer::new(&s.log);
        w.write(100);
        let mut c = Consumer::new(s.followed(by_dir), &s.state);
        c.drain_to(100);
        w.write(50);
        rotate_by_rename(&s.log, &mut w);
        w.write(50);
        c.drain_to(200);
        // In order: the old file's last lines before the new file's first.
        assert_eq!(c.stored, (0..200).collect::<Vec<_>>(), "by_dir {by_dir}");
        if by_dir {
            let lens = |p: &Path| fs::metadata(p).unwrap().len();
            let mut shown: Vec<(PathBuf, u64)> = c
                .tailer()
                .positions()
                .map(|(_, path, offset)| (path.to_path_buf(), offset))
                .collect();
            shown.sort();
            let want = [&s.log, &rotated(&s.log, 1)].map(|p| (p.clone(), lens(p)));
            assert_eq!(shown, want);
        }
    }
}

#[test]
fn rename_rotations_while_stopped_are_caught_up_from_the_checkpoint() {
    for by_dir in [false, true] {
        let s = setup();
        let mut w = Writer::new(&s.log);
        w.write(100);
        let mut c = Consumer::new(s.followed(by_dir), &s.state);
        c.drain_to(50);
        c.crash_after_poll();
        // Two rotations while stopped: the file we were in is now access.log.2.
        w.write(10);
        rotate_by_rename(&s.log, &mut w);
        w.write(10);
        rotate_by_rename(&s.log, &mut w);
        w.write(10);
        // By its path alone, access.log.1 (written and rotated while we were away) is
        // out of sight: only what the checkpoint knows is caught up.
        let expected = if by_dir { 130 } else { 120 };
        c.drain_to(expected);
        let mut want: Vec<u64> = (0..110).chain(120..130).collect();
        if by_dir {
            want.extend(110..120);
        }
        let mut got = c.stored.clone();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "by_dir {by_dir}");
    }
}

/// When the tailer sees the copy relative to the truncation.
#[derive(Clone, Copy, Debug)]
enum Seen {
    /// A poll between the copy and the truncation: the copy is held as dormant.
    CopyBeforeTruncation,
    /// Copy and truncation between two polls: the copy continues the ghost.
    BothBetweenPolls,
    /// Both while the tailer is down: the ghost comes from the checkpoint.
    WhileStopped,
}

#[test]
fn copytruncate_reads_the_copy_only_past_what_was_read() {
    use Seen::*;
    for by_dir in [false, true] {
        for seen in [CopyBeforeTruncation, BothBetweenPolls, WhileStopped] {
            let s = setup();
            let mut w = Writer::new(&s.log);
            w.write(100);
            let mut c = Consumer::new(s.followed(by_dir), &s.state);
            c.drain_to(100);
            // Written after our last read, only in the copy once the log is truncated.
            w.write(50);
            if let WhileStopped = seen {
                c.crash_after_poll();
            }
            shift(&s.log);
            fs::copy(&s.log, rotated(&s.log, 1)).unwrap();
            if let CopyBeforeTruncation = seen {
                c.step();
            }
            truncate(&s.log);
            w.write(50);
            println!("followed by directory: {by_dir}, {seen:?}");
            c.drain_to(200);
            assert_each_once(&c.stored, 200);
        }
    }
}

#[test]
fn repeated_copytruncate_with_the_copies_shifted_along() {
    let s = setup();
    let mut w = Writer::new(&s.log);
    let mut c = Consumer::new(vec![s.logs.clone()], &s.state);
    for round in 0..5 {
        w.write(40);
        if round % 2 == 0 {
            c.step();
        }
        w.write(10);
        copytruncate(&s.log, &mut w);
    }
    w.write(10);
    c.drain_to(260);
    assert_each_once(&c.stored, 260);
}

#[test]
fn a_copy_made_while_catching_up_goes_on_from_where_reading_was() {
    let s = setup();
    let mut w = Writer::new(&s.log);
    // History longer than two polls read: the copy comes while we are far behind.
    w.write(2_000_000);
    let mut c = Consumer::new(vec![s.logs.clone()], &s.state);
    assert!(c.step(), "history is read over several polls");
    fs::copy(&s.log, rotated(&s.log, 1)).unwrap();
    assert!(c.step());
    truncate(&s.log);
    w.write(10);
    c.drain_to(2_000_010);
    assert_each_once(&c.stored, 2_000_010);
}

#[test]
fn a_copy_of_a_live_file_is_not_read_again() {
    let s = setup();
    let mut w = Writer::new(&s.log);
    w.write(200);
    let mut c = Consumer::new(vec![s.logs.clone()], &s.state);
    c.drain_to(200);
    // A copy longer than the fingerprint.
    w.write(20);
    fs::copy(&s.log, s.logs.join("backup.log")).unwrap();
    w.write(20);
    c.drain_to(240);
    // A copy caught just begun, shorter than the fingerprint: held until it tells.
    let copy = s.logs.join("copy.log");
    fs::write(&copy, &fs::read(&s.log).unwrap()[..30]).unwrap();
    c.step();
    fs::copy(&s.log, &copy).unwrap();
    w.write(20);
    c.drain_to(260);
    assert_eq!(c.stored, (0..260).collect::<Vec<_>>());
}

#[test]
fn truncation_without_a_copy_starts_over() {
    let s = setup();
    let mut w = Writer::new(&s.log);
    w.write(100);
    let mut c = Consumer::new(vec![s.log.clone()], &s.state);
    c.drain_to(100);
    // Shorter than where we were.
    truncate(&s.log);
    w.write(30);
    c.drain_to(130);
    // Longer than where we were, between two polls: only the first bytes tell.
    truncate(&s.log);
    w.write(200);
    c.drain_to(330);
    // And while stopped.
    c.crash_after_poll();
    truncate(&s.log);
    w.write(300);
    c.drain_to(630);
    assert_each_once(&c.stored, 630);
}

#[test]
fn deleted_and_recreated_files_are_read_to_their_end_then_anew() {
    for by_dir in [false, true] {
        let s = setup();
        let mut w = Writer::new(&s.log);
        w.write(100);
        let mut c = Consumer::new(s.followed(by_dir), &s.state);
        c.drain_to(100);
        // Unread when the file goes: read through the handle still open.
        w.write(20);
        fs::remove_file(&s.log).unwrap();
        w.reopen(&s.log);
        w.write(30);
        c.drain_to(150);
        // Deleted and recreated while stopped (the new file may even get the old inode
        // number): its first bytes say it is another file.
        c.crash_after_poll();
        fs::remove_file(&s.log).unwrap();
        w.reopen(&s.log);
        w.write(50);
        c.drain_to(200);
        assert_each_once(&c.stored, 200);
    }
}

#[test]
fn a_symlink_pointed_elsewhere_is_followed_to_its_new_file() {
    let s = setup();
    let (a, b, link) = (
        s.logs.join("a.log"),
        s.logs.join("b.log"),
        s.logs.join("current.log"),
    );
    let mut w = Writer::new(&a);
    std::os::unix::fs::symlink("a.log", &link).unwrap();
    w.write(50);
    let mut c = Consumer::new(vec![link.clone()], &s.state);
    c.drain_to(50);
    w.write(10);
    w.reopen(&b);
    let tmp = s.logs.join("current.tmp");
    std::os::unix::fs::symlink("b.log", &tmp).unwrap();
    fs::rename(&tmp, &link).unwrap();
    w.write(40);
    c.drain_to(100);
    assert_eq!(c.stored, (0..100).collect::<Vec<_>>());
    // Pointed back while stopped: a.log is known, read on from where it was.
    c.crash_after_poll();
    w.reopen(&a);
    std::os::unix::fs::symlink("a.log", &tmp).unwrap();
    fs::rename(&tmp, &link).unwrap();
    w.write(20);
    c.drain_to(120);
    assert_each_once(&c.stored, 120);
}

#[test]
fn a_partial_line_waits_for_its_newline_even_across_a_restart() {
    let s = setup();
    let mut f = append(&s.log);
    f.write_all(b"line 0\nline 1\nli").unwrap();
    let mut c = Consumer::new(vec![s.log.clone()], &s.state);
    c.step();
    c.step();
    assert_eq!(c.stored, vec![0, 1]);
    c.crash_after_poll();
    f.write_all(b"ne 2").unwrap();
    c.step();
    assert_eq!(c.stored, vec![0, 1]);
    f.write_all(b"\nline 3\n").unwrap();
    c.drain_to(4);
    assert_eq!(c.stored, vec![0, 1, 2, 3]);
}

#[test]
fn new_files_in_a_followed_directory_are_read_from_their_start() {
    let s = setup();
    let mut w = Writer::new(&s.log);
    w.write(10);
    let mut c = Consumer::new(vec![s.logs.clone()], &s.state);
    c.drain_to(10);
    // Created empty first, written later: as a server creates its log.
    let other = s.logs.join("other.log");
    File::create(&other).unwrap();
    c.step();
    w.reopen(&other);
    w.write(10);
    c.drain_to(20);
    // Created while stopped.
    c.crash_after_poll();
    w.reopen(&s.logs.join("third.log"));
    w.write(10);
    c.drain_to(30);
    assert_each_once(&c.stored, 30);
}

#[test]
fn from_end_skips_history_only_on_a_first_start() {
    let s = setup();
    let mut w = Writer::new(&s.log);
    w.write(100);
    // Ends inside a line: skipped to its newline, never handed out cut.
    let mut f = append(&s.log);
    f.write_all(b"half a li").unwrap();
    let mut c = Consumer::with(vec![s.logs.clone()], &s.state, true);
    c.step();
    assert!(c.stored.is_empty());
    f.write_all(b"ne\n").unwrap();
    w.write(10);
    c.drain_to(10);
    c.crash_after_poll();
    w.write(10);
    c.drain_to(20);
    assert_eq!(c.stored, (100..120).collect::<Vec<_>>());
}

#[test]
fn lines_too_long_are_skipped_and_counted_even_across_a_restart() {
    let s = setup();
    let mut f = append(&s.log);
    let long = vec![b'x'; 9 << 20];
    f.write_all(b"line 0\n").unwrap();
    f.write_all(&long).unwrap();
    f.write_all(b"\nline 1\n").unwrap();
    let mut c = Consumer::new(vec![s.log.clone()], &s.state);
    c.drain_to(2);
    assert_eq!((c.stored.clone(), c.oversized), (vec![0, 1], 1));
    // A long line still being written: skipped while it grows, also after a restart.
    f.write_all(&long).unwrap();
    c.step();
    assert_eq!(c.oversized, 2);
    c.tailer = None;
    f.write_all(b"rest of the long line\nline 2\n").unwrap();
    c.drain_to(3);
    assert_eq!((c.stored.clone(), c.oversized), (vec![0, 1, 2], 2));
}

#[test]
fn compressed_files_are_not_followed() {
    let s = setup();
    fs::write(s.logs.join("access.log.2.gz"), "line 7\n").unwrap();
    let named = s.logs.join("error.log.3.zst");
    fs::write(&named, "line 8\n").unwrap();
    Writer::new(&s.log).write(5);
    let mut c = Consumer::new(vec![s.logs.clone(), named], &s.state);
    c.drain_to(5);
    assert_each_once(&c.stored, 5);
    let warnings: Vec<String> = c
        .tailer()
        .take_warnings()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].ends_with("error.log.3.zst: compressed, not followed"));
}

/// Whether this process runs as root, whom file permissions do not stop.
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

#[test]
fn an_unreadable_file_warns_once_and_is_read_once_permitted() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    const NAME: &str = "an_unreadable_file_warns_once_and_is_read_once_permitted";
    if is_root() {
        // Run this test again as `nobody`, for the permissions to mean something.
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([NAME, "--exact", "--nocapture"])
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains("1 passed"), "{text}");
        return;
    }
    let s = setup();
    Writer::new(&s.log).write(10);
    let secret = s.logs.join("secret.log");
    let mut w = Writer::new(&secret);
    w.next = 10;
    w.write(10);
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).unwrap();
    let mut c = Consumer::new(vec![s.logs.clone()], &s.state);
    c.drain_to(10);
    c.step();
    let warnings = c.tailer().take_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let TailError::Io { path, error } = &warnings[0] else {
        panic!("{:?}", warnings[0])
    };
    assert!(path.ends_with("secret.log"));
    assert_eq!(error.kind(), std::io::ErrorKind::PermissionDenied);
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o644)).unwrap();
    c.drain_to(20);
    assert_each_once(&c.stored, 20);
    assert!(c.tailer().take_warnings().is_empty());
}

#[test]
fn a_consumer_can_keep_the_mark_in_its_own_store() {
    let s = setup();
    let mut w = Writer::new(&s.log);
    w.write(10);
    let config = TailConfig {
        paths: vec![s.logs.clone()],
        state_dir: s.state.clone(),
        from_end: false,
    };
    // The "store": lines and mark, saved together.
    let mut stored = Vec::new();
    let mut saved: Option<String> = None;
    for round in 0..3 {
        let mark = saved.as_deref().map(|j| Mark::from_json(j).unwrap());
        let mut tailer = Tailer::resume(config.clone(), mark).unwrap();
        let batch = tailer.poll();
        for chunk in &batch.chunks {
            stored.extend(numbers(&chunk.bytes));
        }
        saved = Some(batch.mark.to_json().unwrap());
        // Read but not saved: lost with the crash, read again.
        w.write(10);
        tailer.poll();
        drop(tailer);
        assert_eq!(stored.len(), 10 * (round + 1));
    }
    assert_each_once(&stored, 30);
    assert!(!s.state.join("tail.json").exists());
}

#[test]
fn a_second_tailer_on_the_same_state_is_refused() {
    let s = setup();
    let config = TailConfig {
        paths: vec![s.logs.clone()],
        state_dir: s.state.clone(),
        from_end: false,
    };
    let first = Tailer::open(config.clone()).unwrap();
    let second = Tailer::open(config.clone());
    assert!(matches!(second, Err(TailError::Busy { .. })));
    drop(first);
    Tailer::open(config).unwrap();
}

/// xorshift64: the same sequence of crashes and rotations on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn crashes_between_poll_and_commit_at_random_points_lose_and_repeat_nothing() {
    let s = setup();
    let mut w = Writer::new(&s.log);
    let mut c = Consumer::new(vec![s.logs.clone()], &s.state);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // A copy made, its truncation still to come: polls and crashes may fall in between.
    let mut copied = false;
    for _ in 0..600 {
        let action = rng.below(11);
        if copied && matches!(action, 0..=3 | 8..=10) {
            truncate(&s.log);
            copied = false;
        }
        match action {
            0..=2 => w.write(1 + rng.below(30)),
            3 => w.half(),
            4 | 5 => {
                c.step();
            }
            6 => c.crash_after_poll(),
            7 => c.tailer = None,
            8 => rotate_by_rename(&s.log, &mut w),
            9 => copytruncate(&s.log, &mut w),
            _ => {
                copy_for_rotation(&s.log, &mut w);
                copied = true;
            }
        }
    }
    w.finish();
    let n = w.next;
    c.drain_to(n as usize);
    assert_each_once(&c.stored, n);
}

#[test]
fn a_fast_writer_through_rotations_and_restarts_loses_and_repeats_nothing() {
    let s = setup();
    let writer = Arc::new(Mutex::new(Writer::new(&s.log)));
    let stop = Arc::new(AtomicBool::new(false));
    // As fast as it can, a write per line, a line in halves now and then, until told to
    // stop (or it has written enough).
    const MOST: u64 = 2_000_000;
    let feeder = {
        let (writer, stop) = (writer.clone(), stop.clone());
        thread::spawn(move || {
            let mut burst = 0;
            while !stop.load(Ordering::SeqCst) {
                let mut w = writer.lock().unwrap();
                if w.next >= MOST {
                    break;
                }
                burst = (burst + 7) % 50;
                for _ in 0..burst {
                    w.write(1);
                }
                w.half();
                w.finish();
            }
        })
    };
    let mut c = Consumer::new(vec![s.logs.clone()], &s.state);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut renames, mut copies, mut crashes) = (0, 0, 0);
    // The writer held off from a copy to its truncation, polls and crashes in between.
    let mut copying = None;
    for _ in 0..600 {
        match (rng.below(30), copying.take()) {
            (0 | 1, Some(held)) => {
                truncate(&s.log);
                drop(held);
                copies += 1;
            }
            (0, None) => {
                rotate_by_rename(&s.log, &mut writer.lock().unwrap());
                renames += 1;
            }
            (1, None) => {
                let mut held = writer.lock().unwrap();
                copy_for_rotation(&s.log, &mut held);
                copying = Some(held);
            }
            (action, held) => {
                copying = held;
                if action < 4 {
                    c.crash_after_poll();
                    crashes += 1;
                } else {
                    c.step();
                }
            }
        }
    }
    if let Some(held) = copying.take() {
        truncate(&s.log);
        drop(held);
    }
    stop.store(true, Ordering::SeqCst);
    feeder.join().unwrap();
    let n = writer.lock().unwrap().next;
    c.drain_to(n as usize);
    assert_each_once(&c.stored, n);
    assert!(
        renames >= 5 && copies >= 5 && crashes >= 5,
        "{renames} {copies} {crashes}"
    );
    println!("{n} lines, {renames} renames, {copies} copytruncates, {crashes} crashes");
}
