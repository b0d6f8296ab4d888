//! `watch`'s state store and alert sinks: the store's batches are all-or-nothing and survive a
//! reopen exactly; the outbox reaches a webhook that is down at first, answers 5xx, refuses,
//! and sees the sink loop restarted, each alert once and in order; and a real Alertmanager
//! (Debian's `prometheus-alertmanager`) shows the alerts it was sent through its own API and
//! drops them once resolved. Everything listens on 127.0.0.1.
mod lab;

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use fivehundred::formats::Stamp;
use fivehundred::watch::detect::{Alert, AlertStatus};
use fivehundred::watch::live::{Counters, IncidentState, LiveIncident, Notification};
use fivehundred::watch::pipeline::Batch;
use fivehundred::watch::sinks::{Sink, SinkOptions, Sinks};
use fivehundred::watch::store::{OutboxRow, Store, StoreError, Unsent, Writer, Written};
use serde_json::Value;

/// How long any condition may take to come true before the test fails.
const DEADLINE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------

fn incident(id: i64, cause: &str, state: IncidentState, count: u64) -> LiveIncident {
    LiveIncident {
        id,
        state,
        cause: cause.to_owned(),
        status: BTreeMap::from([("500".to_owned(), count)]),
        count,
        first_seen: Some("2026-11-20T10:00:03+00:00".to_owned()),
        last_seen: Some("2026-11-20T10:00:09+00:00".to_owned()),
        paths: vec!["/checkout.php".to_owned()],
        file: Some("/srv/www/checkout.php".to_owned()),
        line: Some(42),
        language: None,
        exception: None,
        evidence: vec!["PHP Fatal error:  Allowed memory size exhausted".to_owned()],
        fix: "raise memory_limit or fix the leak".to_owned(),
        title: "PHP ran out of memory".to_owned(),
        host: None,
    }
}

/// A notification at `secs` seconds past a fixed day, told apart by `summary`.
fn notification(
    alert: &'static str,
    status: AlertStatus,
    secs: i64,
    summary: &str,
) -> Notification {
    let alert = Alert {
        alert,
        status,
        severity: "critical",
        rule: (alert == "error_spike").then_some("spike"),
        cause: None,
        summary: summary.to_owned(),
        at: Stamp {
            ms: 1_795_000_000_000 + secs * 1000,
            offset: 0,
        },
    };
    Notification::new(&alert, None)
}

/// `n` firing notifications, each its own alert (so each resolves nothing else).
fn numbered(from: usize, n: usize) -> Vec<Notification> {
    (from..from + n)
        .map(|k| {
            notification(
                "robots_txt_5xx",
                AlertStatus::Firing,
                k as i64,
                &format!("n{k}"),
            )
        })
        .collect()
}

/// A step that counted `lines` access lines (all 200 but one 500), opened or grew incidents
/// and raised notifications.
fn batch(lines: u64, incidents: Vec<LiveIncident>, notes: Vec<Notification>, ckpt: &[u8]) -> Batch {
    let mut counters = Counters::default();
    counters.responses.insert(200, lines - 1);
    counters.responses.insert(500, 1);
    counters
        .lines
        .insert(("access".to_owned(), "parsed".to_owned()), lines);
    counters
        .lines
        .insert(("error".to_owned(), "unparsed".to_owned()), 2);
    for i in &incidents {
        *counters.incidents.entry(i.cause.clone()).or_default() += 1;
    }
    for n in &notes {
        *counters.alerts.entry(n.alert.to_owned()).or_default() += 1;
    }
    Batch {
        counters,
        causes: incidents
            .iter()
            .map(|i| (i.cause.clone(), 1_795_000_000_000 + 1000 * lines as i64))
            .collect(),
        incidents,
        notifications: notes,
        checkpoint: Some(ckpt.to_vec()),
        ..Batch::default()
    }
}

fn sink_ids() -> Vec<String> {
    ["http://127.0.0.1:1/a", "http://127.0.0.1:1/b"]
        .iter()
        .map(|u| Sink::webhook(u).unwrap().id())
        .collect()
}

/// Everything the store holds, as its readers see it.
#[derive(Debug, PartialEq)]
struct Snapshot {
    resume: fivehundred::watch::store::Resume,
    newest: Vec<LiveIncident>,
    outbox: Vec<Vec<fivehundred::watch::store::OutboxRow>>,
}

fn snapshot(store: &mut Store) -> Snapshot {
    Snapshot {
        resume: store.load().unwrap(),
        newest: store.incidents(100).unwrap(),
        outbox: sink_ids()
            .iter()
            .map(|s| store.pending(s, 100).unwrap())
            .collect(),
    }
}

#[test]
fn reopen_restores_counters_incidents_causes_checkpoint_and_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let sinks = sink_ids();
    let mut store = Store::open_in(&dir.path().join("state")).unwrap();
    let empty = store.load().unwrap();
    assert_eq!(empty.checkpoint, None);
    assert_eq!(empty.next_incident_id, 1);
    assert_eq!(empty.counters, Counters::default());

    let first = batch(
        10,
        vec![
            incident(1, "php_memory_limit", IncidentState::Open, 1),
            incident(2, "upstream_timeout", IncidentState::Open, 1),
        ],
        numbered(0, 2),
        b"ckpt-1",
    );
    store.apply(&first, &sinks).unwrap();
    // Incident 1 grows, 2 resolves, 3 opens; a cause is seen later.
    let second = batch(
        5,
        vec![
            incident(1, "php_memory_limit", IncidentState::Open, 4),
            incident(2, "upstream_timeout", IncidentState::Resolved, 1),
            incident(3, "php_memory_limit", IncidentState::Open, 1),
        ],
        numbered(2, 1),
        b"ckpt-2\0\xff",
    );
    store.apply(&second, &sinks).unwrap();
    // An older sighting of a cause does not move its time back (the second batch's, at
    // 5 s, was older than the first's, at 10 s, too).
    let mut third = Batch::default();
    third.causes.insert("php_memory_limit".to_owned(), 5);
    store.apply(&third, &sinks).unwrap();

    let before = snapshot(&mut store);
    let mut total = first.counters.clone();
    total.add(&second.counters);
    assert_eq!(before.resume.counters, total);
    assert_eq!(before.resume.counters.responses[&200], 9 + 4);
    assert_eq!(
        before.resume.checkpoint.as_deref(),
        Some(&b"ckpt-2\0\xff"[..])
    );
    assert_eq!(before.resume.next_incident_id, 4);
    assert_eq!(
        before.resume.open_incidents,
        vec![
            incident(1, "php_memory_limit", IncidentState::Open, 4),
            incident(3, "php_memory_limit", IncidentState::Open, 1),
        ]
    );
    assert_eq!(
        before.resume.causes,
        [
            ("php_memory_limit".to_owned(), 1_795_000_010_000),
            ("upstream_timeout".to_owned(), 1_795_000_010_000),
        ]
    );
    let ids: Vec<i64> = before.newest.iter().map(|i| i.id).collect();
    assert_eq!(ids, [3, 2, 1], "newest first");
    assert_eq!(before.newest[1].state, IncidentState::Resolved);
    assert_eq!(store.incidents(1).unwrap(), before.newest[..1]);
    for (rows, sink) in before.outbox.iter().zip(&sinks) {
        let summaries: Vec<String> = rows
            .iter()
            .map(|r| serde_json::from_str::<Value>(&r.body).unwrap()["summary"].to_string())
            .collect();
        assert_eq!(summaries, ["\"n0\"", "\"n1\"", "\"n2\""], "{sink}");
        assert!(
            rows.iter()
                .all(|r| r.firing && r.attempts == 0 && &r.sink == sink)
        );
    }
    assert_eq!(
        before.outbox[0][0].body,
        serde_json::to_string(&first.notifications[0]).unwrap()
    );

    drop(store);
    let mut reopened = Store::open(&dir.path().join("state/fivehundred.db")).unwrap();
    assert_eq!(snapshot(&mut reopened), before);
}

#[test]
fn a_batch_that_fails_midway_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fivehundred.db");
    let sinks = sink_ids();
    let mut store = Store::open(&db).unwrap();
    store
        .apply(
            &batch(
                10,
                vec![incident(1, "php_memory_limit", IncidentState::Open, 1)],
                numbered(0, 1),
                b"ckpt-1",
            ),
            &sinks,
        )
        .unwrap();
    let before = snapshot(&mut store);

    // The checkpoint is the batch's last write: make it fail, after the counters, incidents,
    // causes and outbox rows were written in the transaction.
    let raw = rusqlite::Connection::open(&db).unwrap();
    let mode: String = raw
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    raw.execute_batch(
        "CREATE TRIGGER fail_checkpoint BEFORE UPDATE ON checkpoint
         BEGIN SELECT RAISE(ABORT, 'simulated failure'); END;",
    )
    .unwrap();
    let second = batch(
        7,
        vec![
            incident(1, "php_memory_limit", IncidentState::Resolved, 9),
            incident(2, "upstream_timeout", IncidentState::Open, 1),
        ],
        numbered(1, 2),
        b"ckpt-2",
    );
    let err = store.apply(&second, &sinks).unwrap_err();
    assert!(err.to_string().contains("simulated failure"), "{err}");
    assert_eq!(snapshot(&mut store), before, "nothing of the failed batch");
    drop(store);
    assert_eq!(snapshot(&mut Store::open(&db).unwrap()), before);

    // Once the failure is gone the same batch goes through whole.
    raw.execute_batch("DROP TRIGGER fail_checkpoint").unwrap();
    let mut store = Store::open(&db).unwrap();
    store.apply(&second, &sinks).unwrap();
    let after = snapshot(&mut store);
    assert_eq!(after.resume.checkpoint.as_deref(), Some(&b"ckpt-2"[..]));
    assert_eq!(after.resume.counters.responses[&200], 9 + 6);
    assert_eq!(after.outbox[0].len(), 3);
    assert_eq!(after.newest.len(), 2);
}

/// What the sinks hold in memory while the store fails, as the writer sees it: rows (as
/// `Sinks::send_unstored` makes them, negative ids), one of them possibly being sent, and how
/// often a catch-up asked for them.
#[derive(Default)]
struct Memory {
    rows: VecDeque<OutboxRow>,
    in_flight: bool,
    asked: usize,
}

impl Memory {
    /// Each notification for each sink, as the sinks queue them.
    fn queue(&mut self, notes: &[Notification], sinks: &[String]) {
        for note in notes {
            for sink in sinks {
                let id = -(self.rows.len() as i64) - 1;
                self.rows.push_back(OutboxRow {
                    id,
                    sink: sink.clone(),
                    key: note.key(),
                    firing: true,
                    body: serde_json::to_string(note).unwrap(),
                    attempts: 0,
                    next_attempt_ms: 0,
                });
            }
        }
    }
}

impl Unsent for Memory {
    fn take(&mut self) -> Option<Vec<OutboxRow>> {
        self.asked += 1;
        (!self.in_flight).then(|| self.rows.drain(..).collect())
    }

    fn put_back(&mut self, rows: Vec<OutboxRow>) {
        for row in rows.into_iter().rev() {
            self.rows.push_front(row);
        }
    }
}

#[test]
fn a_store_that_cannot_be_written_holds_steps_in_memory_and_catches_up_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fivehundred.db");
    let sinks = sink_ids();
    let mut store = Store::open(&db).unwrap();
    let raw = rusqlite::Connection::open(&db).unwrap();
    raw.execute_batch(
        "CREATE TRIGGER full BEFORE INSERT ON checkpoint BEGIN SELECT RAISE(FAIL, 'disk full'); END;",
    )
    .unwrap();
    let mut writer = Writer::new(None);
    let mut memory = Memory::default();
    let first = batch(
        10,
        vec![incident(1, "php_memory_limit", IncidentState::Open, 1)],
        numbered(0, 1),
        b"ckpt-1",
    );
    let second = batch(
        5,
        vec![
            incident(1, "php_memory_limit", IncidentState::Open, 4),
            incident(2, "upstream_timeout", IncidentState::Open, 1),
        ],
        numbered(1, 2),
        b"ckpt-2",
    );
    // The first failure is reported; the next step is held without trying (not due yet).
    // Each step's notifications come back, for the sinks to send from memory.
    match writer.write(&mut store, &first, &sinks, &mut memory) {
        Written::Held {
            error: Some(e),
            notifications,
        } => {
            assert!(e.to_string().contains("disk full"), "{e}");
            assert_eq!(notifications, first.notifications);
        }
        other => panic!("{other:?}"),
    }
    memory.queue(&first.notifications, &sinks);
    match writer.write(&mut store, &second, &sinks, &mut memory) {
        Written::Held {
            error: None,
            notifications,
        } => assert_eq!(notifications, second.notifications),
        other => panic!("{other:?}"),
    }
    memory.queue(&second.notifications, &sinks);
    // The first sink delivered the first alert from memory; the rest wait.
    let delivered = memory.rows.pop_front().unwrap();
    let waiting: Vec<OutboxRow> = memory.rows.iter().cloned().collect();
    let held = writer.held().unwrap();
    assert_eq!(
        held.incidents, second.incidents,
        "each incident's newest state"
    );
    assert!(held.notifications.is_empty());
    assert_eq!(store.load().unwrap().checkpoint, None, "nothing written");
    assert_eq!(memory.asked, 0, "no catch-up tried yet");

    let idle = Batch {
        checkpoint: Some(b"ckpt-2".to_vec()),
        ..Batch::default()
    };
    // A catch-up that fails gives the rows back, in order.
    let start = Instant::now();
    while memory.asked == 0 {
        assert!(matches!(
            writer.write(&mut store, &idle, &sinks, &mut memory),
            Written::Held { error: None, .. }
        ));
        assert!(start.elapsed() < DEADLINE, "never tried again");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(memory.rows, waiting, "given back whole");

    // With space again, a delivery in flight holds the catch-up back: its row may or may
    // not arrive, and must not be queued on disk as well.
    raw.execute_batch("DROP TRIGGER full").unwrap();
    memory.in_flight = true;
    let asked = memory.asked;
    while memory.asked == asked {
        assert!(matches!(
            writer.write(&mut store, &idle, &sinks, &mut memory),
            Written::Held { error: None, .. }
        ));
        assert!(start.elapsed() < 2 * DEADLINE, "never tried again");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(store.load().unwrap().checkpoint, None, "nothing written");
    memory.in_flight = false;
    assert!(matches!(
        writer.write(&mut store, &idle, &sinks, &mut memory),
        Written::Stored { caught_up: true }
    ));
    assert!(writer.held().is_none());
    assert!(memory.rows.is_empty(), "all moved to the store");
    let after = snapshot(&mut store);
    let mut total = first.counters.clone();
    total.add(&second.counters);
    assert_eq!(after.resume.counters, total);
    assert_eq!(after.resume.checkpoint.as_deref(), Some(&b"ckpt-2"[..]));
    assert_eq!(after.resume.open_incidents, second.incidents);
    // Every row not delivered from memory is in the outbox, in order, for its own sink: a
    // restart now (which reads no line again) sends each once, and never the delivered one.
    for (sink, outbox) in sinks.iter().zip(&after.outbox) {
        let want: Vec<(&str, &str)> = waiting
            .iter()
            .filter(|r| &r.sink == sink)
            .map(|r| (r.key.as_str(), r.body.as_str()))
            .collect();
        let got: Vec<(&str, &str)> = outbox
            .iter()
            .map(|r| (r.key.as_str(), r.body.as_str()))
            .collect();
        assert_eq!(got, want, "{sink}");
    }
    assert!(
        !after.outbox[0].iter().any(|r| r.body == delivered.body),
        "the delivered alert is not queued again"
    );
}

#[test]
fn a_state_directory_and_store_open_to_others_are_made_private_and_said_so() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let set = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
    let dir = tempfile::tempdir().unwrap();

    // New: created private, nothing to say.
    let fresh = dir.path().join("new/state");
    assert!(
        fivehundred::watch::store::prepare_dir(&fresh)
            .unwrap()
            .is_empty()
    );
    let open = Store::open_in(&fresh).unwrap();
    assert_eq!(mode(&fresh), 0o700);
    for name in ["fivehundred.db", "fivehundred.db-wal", "fivehundred.db-shm"] {
        assert_eq!(mode(&fresh.join(name)), 0o600, "{name}");
    }
    drop(open);

    // Made by an older version (or by hand): tightened, one note each. (The WAL is there
    // while a connection is open.)
    let old = dir.path().join("old");
    let _open = Store::open_in(&old).unwrap();
    set(&old, 0o755).unwrap();
    set(&old.join("fivehundred.db"), 0o644).unwrap();
    set(&old.join("fivehundred.db-wal"), 0o640).unwrap();
    let notes = fivehundred::watch::store::prepare_dir(&old).unwrap();
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(notes[0].contains("was mode 755") && notes[0].ends_with("made it 700"));
    assert_eq!(mode(&old), 0o700);
    assert_eq!(mode(&old.join("fivehundred.db")), 0o600);
    assert_eq!(mode(&old.join("fivehundred.db-wal")), 0o600);
}

#[test]
fn a_newer_schema_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fivehundred.db");
    drop(Store::open(&db).unwrap());
    let raw = rusqlite::Connection::open(&db).unwrap();
    raw.execute(
        "UPDATE meta SET value = 99 WHERE key = 'schema_version'",
        [],
    )
    .unwrap();
    let err = Store::open(&db)
        .err()
        .expect("a newer schema must not open");
    assert!(
        matches!(
            err,
            StoreError::NewerSchema {
                found: 99,
                known: fivehundred::watch::store::SCHEMA_VERSION,
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&db.display().to_string()) && message.contains("newer"),
        "{message}"
    );
    // Not a database at all: an error naming the file, not a panic.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![b'x'; 4096]).unwrap();
    let err = Store::open(&junk).err().expect("junk must not open");
    assert!(err.to_string().contains("junk.db"), "{err}");
}

// ---------------------------------------------------------------------------------------
// Webhook
// ---------------------------------------------------------------------------------------

/// What the test webhook receiver saw.
#[derive(Default)]
struct Received {
    /// Bodies answered 200, in arrival order.
    accepted: Vec<Value>,
    /// Answers to give (instead of 200) to the next requests.
    answers: VecDeque<StatusCode>,
    /// The answer to every request while set (after `answers`).
    down: Option<StatusCode>,
    /// Requests answered with one of `answers` or `down`.
    refused: usize,
    /// Requests whose Content-Type was not application/json.
    not_json: usize,
}

type Receiver = Arc<Mutex<Received>>;

async fn hook(State(rx): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let mut rx = rx.lock().unwrap();
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/json") {
        rx.not_json += 1;
    }
    if let Some(answer) = rx.answers.pop_front().or(rx.down) {
        rx.refused += 1;
        return answer;
    }
    match serde_json::from_str(&body) {
        Ok(v) => {
            rx.accepted.push(v);
            StatusCode::OK
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

/// Starts the receiver on 127.0.0.1:`port` (`POST /hook`).
async fn start_receiver(port: u16, rx: Receiver) {
    let app = Router::new().route("/hook", post(hook)).with_state(rx);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap_or_else(|e| panic!("bind 127.0.0.1:{port}: {e}"));
    tokio::spawn(async move { axum::serve(listener, app).await });
}

/// Times short enough for a test.
fn fast() -> SinkOptions {
    SinkOptions {
        instance: "test-host".to_owned(),
        generator_url: None,
        first_retry: Duration::from_millis(20),
        max_retry: Duration::from_millis(200),
        resend_every: Duration::from_millis(200),
        timeout: Duration::from_secs(5),
    }
}

/// Polls `cond` every 10 ms until true; fails with `what` after [`DEADLINE`].
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn summaries(rx: &Receiver) -> Vec<String> {
    rx.lock()
        .unwrap()
        .accepted
        .iter()
        .map(|v| v["summary"].as_str().unwrap_or("?").to_owned())
        .collect()
}

fn enqueue(db: &Path, notes: Vec<Notification>, sink: &Sink) {
    let batch = Batch {
        notifications: notes,
        ..Batch::default()
    };
    Store::open(db)
        .unwrap()
        .apply(&batch, &[sink.id()])
        .unwrap();
}

fn pending(db: &Path, sink: &Sink) -> Vec<fivehundred::watch::store::OutboxRow> {
    Store::open(db).unwrap().pending(&sink.id(), 100).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_down_then_up_gets_every_alert_once_in_order_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fivehundred.db");
    let port = lab::free_port();
    let sink = Sink::webhook(&format!("http://127.0.0.1:{port}/hook")).unwrap();
    enqueue(&db, numbered(0, 3), &sink);
    let sinks = Sinks::start(&db, std::slice::from_ref(&sink), fast()).unwrap();

    // The receiver is down: the first row is retried, with backoff, and stays queued.
    eventually("retries while the receiver is down", || {
        pending(&db, &sink).first().is_some_and(|r| r.attempts >= 3)
    })
    .await;
    assert_eq!(pending(&db, &sink).len(), 3);

    // Up, but its first answer is a 500: retried too.
    let rx = Receiver::default();
    rx.lock()
        .unwrap()
        .answers
        .push_back(StatusCode::INTERNAL_SERVER_ERROR);
    start_receiver(port, Arc::clone(&rx)).await;
    enqueue(&db, numbered(3, 2), &sink);
    sinks.wake();
    eventually("5 alerts", || rx.lock().unwrap().accepted.len() >= 5).await;
    assert_eq!(summaries(&rx), ["n0", "n1", "n2", "n3", "n4"]);
    assert_eq!(rx.lock().unwrap().refused, 1);
    // The body is the notification JSON, text field included.
    let n0 = serde_json::to_value(&numbered(0, 1)[0]).unwrap();
    assert_eq!(rx.lock().unwrap().accepted[0], n0);
    assert!(
        n0["text"]
            .as_str()
            .unwrap()
            .starts_with("[FIRING] robots_txt_5xx")
    );

    // 503s hold n5 (and n6, n7 behind it) when the sink loop stops.
    rx.lock().unwrap().down = Some(StatusCode::SERVICE_UNAVAILABLE);
    enqueue(&db, numbered(5, 3), &sink);
    sinks.wake();
    eventually("n5 retried", || rx.lock().unwrap().refused >= 3).await;
    sinks.stop().await;
    let held = pending(&db, &sink);
    assert_eq!(held.len(), 3, "{held:?}");
    assert!(held[0].attempts >= 2, "{held:?}");
    rx.lock().unwrap().down = None;

    // A new loop over a reopened store sends what was left, nothing twice.
    let sinks = Sinks::start(&db, std::slice::from_ref(&sink), fast()).unwrap();
    eventually("8 alerts", || rx.lock().unwrap().accepted.len() >= 8).await;
    sinks.stop().await;
    assert_eq!(
        summaries(&rx),
        ["n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7"]
    );
    assert!(pending(&db, &sink).is_empty());
    assert_eq!(rx.lock().unwrap().not_json, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4xx_drops_the_alert_and_the_next_ones_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fivehundred.db");
    let port = lab::free_port();
    let sink = Sink::webhook(&format!("http://127.0.0.1:{port}/hook")).unwrap();
    let rx = Receiver::default();
    // 429 (slow down) is retried; 400 is final.
    rx.lock()
        .unwrap()
        .answers
        .extend([StatusCode::TOO_MANY_REQUESTS, StatusCode::BAD_REQUEST]);
    start_receiver(port, Arc::clone(&rx)).await;
    enqueue(&db, numbered(0, 3), &sink);
    let sinks = Sinks::start(&db, std::slice::from_ref(&sink), fast()).unwrap();
    eventually("2 alerts", || rx.lock().unwrap().accepted.len() >= 2).await;
    sinks.stop().await;
    assert_eq!(summaries(&rx), ["n1", "n2"]);
    assert_eq!(rx.lock().unwrap().refused, 2);
    assert!(pending(&db, &sink).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_of_a_sink_no_longer_configured_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fivehundred.db");
    let gone = Sink::webhook("http://127.0.0.1:1/gone").unwrap();
    let kept = Sink::webhook("http://127.0.0.1:1/kept").unwrap();
    enqueue(&db, numbered(0, 2), &gone);
    enqueue(&db, numbered(2, 2), &kept);
    Sinks::start(&db, std::slice::from_ref(&kept), fast())
        .unwrap()
        .stop()
        .await;
    assert!(pending(&db, &gone).is_empty());
    assert_eq!(pending(&db, &kept).len(), 2, "nothing listens on port 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_delivered_while_the_store_cannot_record_it_is_not_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fivehundred.db");
    let port = lab::free_port();
    let sink = Sink::webhook(&format!("http://127.0.0.1:{port}/hook")).unwrap();
    enqueue(&db, numbered(0, 2), &sink);
    // The store takes no removal from the outbox (as on a full disk, a DELETE's WAL frames
    // need room).
    let raw = rusqlite::Connection::open(&db).unwrap();
    raw.execute_batch(
        "CREATE TRIGGER full BEFORE DELETE ON outbox BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
    )
    .unwrap();
    let rx = Receiver::default();
    start_receiver(port, Arc::clone(&rx)).await;
    let sinks = Sinks::start(&db, std::slice::from_ref(&sink), fast()).unwrap();
    eventually("2 alerts", || rx.lock().unwrap().accepted.len() >= 2).await;
    assert_eq!(summaries(&rx), ["n0", "n1"], "each once, in order");
    assert_eq!(pending(&db, &sink).len(), 2, "not recorded yet");

    raw.execute_batch("DROP TRIGGER full").unwrap();
    sinks.wake();
    eventually("the deliveries recorded", || pending(&db, &sink).is_empty()).await;
    sinks.stop().await;
    assert_eq!(summaries(&rx), ["n0", "n1"]);
}

/// What a receiver that redirects every POST saw.
#[derive(Default)]
struct Redirects {
    /// POSTs answered with the redirect.
    posts: usize,
    /// Requests that reached the redirect's target.
    landed: usize,
}

/// A receiver on 127.0.0.1 answering every POST to the webhook or Alertmanager path with
/// `status` and `Location: /landing`, where anything gets a 200.
async fn start_redirector(status: StatusCode) -> (u16, Arc<Mutex<Redirects>>) {
    let seen = Arc::new(Mutex::new(Redirects::default()));
    let redirect = move |State(seen): State<Arc<Mutex<Redirects>>>| async move {
        seen.lock().unwrap().posts += 1;
        (status, [(axum::http::header::LOCATION, "/landing")])
    };
    let land = |State(seen): State<Arc<Mutex<Redirects>>>| async move {
        seen.lock().unwrap().landed += 1;
        StatusCode::OK
    };
    let app = Router::new()
        .route("/hook", post(redirect))
        .route("/api/v2/alerts", post(redirect))
        .route("/landing", axum::routing::any(land))
        .with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_answering_3xx_keeps_the_alert_and_retries_it_without_following() {
    for (status, kind) in [
        (StatusCode::FOUND, "webhook"),
        (StatusCode::TEMPORARY_REDIRECT, "alertmanager"),
        (StatusCode::MOVED_PERMANENTLY, "alertmanager"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("fivehundred.db");
        let (port, seen) = start_redirector(status).await;
        let sink = match kind {
            "webhook" => Sink::webhook(&format!("http://127.0.0.1:{port}/hook")),
            _ => Sink::alertmanager(&format!("http://127.0.0.1:{port}")),
        }
        .unwrap();
        enqueue(&db, numbered(0, 1), &sink);
        let sinks = Sinks::start(&db, std::slice::from_ref(&sink), fast()).unwrap();
        eventually(&format!("{kind} {status}: 3 attempts"), || {
            seen.lock().unwrap().posts >= 3
        })
        .await;
        sinks.stop().await;
        let held = pending(&db, &sink);
        assert_eq!(held.len(), 1, "{kind} {status}: the alert is kept");
        assert!(held[0].attempts >= 2, "{kind} {status}: {held:?}");
        assert_eq!(seen.lock().unwrap().landed, 0, "{kind} {status}: followed");
    }
}

/// Every file in `dir`, each file's bytes one after the other.
fn bytes_in(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        all.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_store_filing_alerts_under_a_sink_url_delivers_them_and_forgets_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fivehundred.db");
    let port = lab::free_port();
    let url = format!("http://user:secret@127.0.0.1:{port}/hook?token=abc");
    let sink = Sink::webhook(&url).unwrap();
    // What an older version wrote: rows filed under the URL itself.
    let legacy = format!("webhook {}", reqwest::Url::parse(&url).unwrap());
    let mut old = Store::open(&db).unwrap();
    let batch = Batch {
        notifications: numbered(0, 2),
        ..Batch::default()
    };
    old.apply(&batch, std::slice::from_ref(&legacy)).unwrap();
    drop(old);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "INSERT INTO firing (sink, key, body) VALUES (?1, 'earlier/', '{}')",
            [&legacy],
        )
        .unwrap();
    assert!(contains(&bytes_in(dir.path()), "token=abc"), "the old form");

    let rx = Receiver::default();
    start_receiver(port, Arc::clone(&rx)).await;
    let sinks = Sinks::start(&db, std::slice::from_ref(&sink), fast()).unwrap();
    eventually("2 alerts", || rx.lock().unwrap().accepted.len() >= 2).await;
    sinks.stop().await;
    assert_eq!(summaries(&rx), ["n0", "n1"]);
    let store = Store::open(&db).unwrap();
    assert!(store.pending(&sink.id(), 10).unwrap().is_empty());
    assert!(store.firing(&sink.id()).unwrap().contains_key("earlier/"));
    drop(store);
    let bytes = bytes_in(dir.path());
    for secret in ["secret", "token=abc"] {
        assert!(!contains(&bytes, secret), "{secret} still in the store");
    }
}

// ---------------------------------------------------------------------------------------
// A real Alertmanager
// ---------------------------------------------------------------------------------------

use lab::monitoring::start_alertmanager;

/// Alertmanager's active alerts (`GET /api/v2/alerts`), by alertname.
fn active_alerts(port: u16) -> BTreeMap<String, Value> {
    let r = lab::fetch(port, "GET", "/api/v2/alerts", "127.0.0.1", b"");
    assert_eq!(r.status, 200, "{}", r.body);
    let alerts: Vec<Value> = serde_json::from_str(&r.body).unwrap();
    alerts
        .into_iter()
        .map(|a| (a["labels"]["alertname"].as_str().unwrap().to_owned(), a))
        .collect()
}

/// A notification at the current time (Alertmanager sees a resolution's end as past).
fn now_notification(
    alert: &'static str,
    status: AlertStatus,
    incident: Option<LiveIncident>,
) -> Notification {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let alert = Alert {
        alert,
        status,
        severity: if alert == "new_cause" {
            "warning"
        } else {
            "critical"
        },
        rule: (alert == "error_spike").then_some("spike"),
        cause: None,
        summary: format!("{alert} summary"),
        at: Stamp { ms, offset: 0 },
    };
    Notification::new(&alert, incident)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_alertmanager_shows_the_alert_then_its_resolution() {
    let dir = tempfile::tempdir().unwrap();
    let (mut daemon, port) = start_alertmanager(dir.path());
    let db = dir.path().join("fivehundred.db");
    let sink = Sink::alertmanager(&format!("http://127.0.0.1:{port}")).unwrap();
    let sinks = Sinks::start(&db, std::slice::from_ref(&sink), fast()).unwrap();

    let spike = now_notification("error_spike", AlertStatus::Firing, None);
    let cause = now_notification(
        "new_cause",
        AlertStatus::Firing,
        Some(incident(1, "php_memory_limit", IncidentState::Open, 3)),
    );
    enqueue(&db, vec![spike, cause], &sink);
    sinks.wake();
    eventually("both alerts in Alertmanager", || {
        active_alerts(port).len() == 2
    })
    .await;
    let active = active_alerts(port);
    let a = &active["error_spike"];
    assert_eq!(
        a["labels"],
        serde_json::json!({"alertname": "error_spike", "severity": "critical",
                           "rule": "spike", "instance": "test-host"})
    );
    assert_eq!(
        a["annotations"],
        serde_json::json!({"summary": "error_spike summary"})
    );
    assert_eq!(a["status"]["state"], "active");
    let c = &active["new_cause"];
    assert_eq!(
        c["labels"],
        serde_json::json!({"alertname": "new_cause", "severity": "warning",
                           "cause": "php_memory_limit", "instance": "test-host"})
    );
    assert_eq!(
        c["annotations"]["description"],
        "PHP ran out of memory. Fix: raise memory_limit or fix the leak"
    );

    // While firing, the alert is re-sent (Alertmanager would let it time out otherwise).
    let updated = a["updatedAt"].clone();
    eventually("a re-send", || {
        active_alerts(port)["error_spike"]["updatedAt"] != updated
    })
    .await;

    enqueue(
        &db,
        vec![now_notification("error_spike", AlertStatus::Resolved, None)],
        &sink,
    );
    sinks.wake();
    eventually("error_spike resolved", || {
        !active_alerts(port).contains_key("error_spike")
    })
    .await;
    assert!(
        active_alerts(port).contains_key("new_cause"),
        "the other stays"
    );
    sinks.stop().await;
    assert!(pending(&db, &sink).is_empty());
    assert_eq!(
        Store::open(&db).unwrap().firing(&sink.id()).unwrap().len(),
        1,
        "only new_cause is re-sent from now on"
    );
    daemon.assert_running();
}
