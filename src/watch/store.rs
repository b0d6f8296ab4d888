//! What `watch` keeps across restarts and crashes, in one SQLite file (`--state
//! DIR/fivehundred.db`): the counters, the incidents, when each cause was last seen, the
//! tailer's checkpoint and the alert outbox.
//!
//! The pipeline writes each step with [`Store::apply`], in ONE transaction: the counts taken
//! from some lines and the checkpoint past those lines commit together or not at all, so a
//! `kill -9` at any moment neither loses a line nor counts one twice. The notifications a step
//! raised go into the outbox in that same transaction, so none is lost either; the sinks
//! ([`super::sinks`]) delete a row only once its receiver took it.
//!
//! Durability: WAL mode with `synchronous=FULL`, i.e. one fsync per commit. NORMAL would be
//! enough against a process crash, but after a power cut it may roll back the last commits,
//! and the outbox rows marked delivered in them would then be sent a second time. A step is
//! a batch of lines, so one fsync per step is cheap.
//!
//! Secrets: the directory is 0700 and the files 0600 (see [`prepare_dir`]); the outbox
//! files rows under a sink's id, never its URL (which may carry a token), and deleted rows
//! are overwritten (`secure_delete`), so a URL a store of an older version held is gone once
//! [`Store::rename_sink`] moved its rows.
//!
//! A full disk (or an I/O error) does not stop `watch`: the [`Writer`] holds what the store
//! could not take in memory, merged into one batch, and tries again every
//! [`Writer::RETRY`]; when a write goes through, it holds everything since, so the store
//! catches up whole. The alerts of the held batches are sent from memory meanwhile
//! ([`Unsent`]); those not delivered yet when the store catches up go into its outbox in
//! that same transaction (the catch-up waits for a delivery in flight to end first), so the
//! checkpoint never passes the lines of an alert that is neither delivered nor queued on
//! disk: nothing is lost, and nothing sent from memory is sent again.
//!
//! What cannot be made exactly-once: a stop or crash *while the disk is still full*. The
//! restart reads the held lines again from the stored checkpoint (nothing is lost), and the
//! alerts they raise are sent again, including those already delivered from memory: that a
//! receiver took them was never recorded, because recording anything needs the space that is
//! missing. A record kept elsewhere (another file system, a reserved file) would be a second
//! store with the same failure, and holding alerts until the disk has room would leave people
//! unwarned during the very failure `watch` exists to report; so a second delivery is the
//! price, said on stderr at the stop. (Alertmanager folds a repeated alert into the one it
//! has; a webhook receives it twice.)
//!
//! The dashboard's history goes the same way: each step's counts per minute (responses by
//! status class, 5xx by cause) and per 5xx path, host and crawler are *added* to their rows
//! in the step's transaction, with the checkpoint. Minutes are not written once "closed": a
//! minute still open in memory when the checkpoint passes its lines would be lost to a
//! `kill -9`, and lines of a minute may come late (another file read from its start). Added
//! with the checkpoint, each line's count is in the store exactly when the checkpoint is past
//! it: a crash loses none, and the lines read again after one are counted once. Minutes older
//! than [`HISTORY_MS`] before the newest are pruned, and the 5xx paths and hosts are kept to
//! the [`MAX_FACETS`] most failing (past that, the least failing are forgotten: their counts
//! start over if they fail again).
//!
//! Several connections may use the file at once (the pipeline, the sinks, the HTTP endpoints
//! each open their own `Store`): WAL lets readers run beside the one writer, and a writer
//! waits up to [`BUSY_TIMEOUT`] for another's commit.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::detect::AlertStatus;
use super::live::{
    Counters, Failing, HISTORY_MS, History, IncidentState, LiveIncident, Notification, Series,
};
use super::pipeline::Batch;
use crate::formats::Stamp;

/// The file name under `--state`.
pub const FILE_NAME: &str = "fivehundred.db";

/// The layout this binary writes; a file with a higher one was written by a newer binary.
/// Version 2 added the dashboard's history ([`SCHEMA_2`]).
pub const SCHEMA_VERSION: i64 = 2;

/// The most 5xx paths (and hosts, and crawlers) kept.
pub const MAX_FACETS: usize = 10_000;

/// The files SQLite keeps beside [`FILE_NAME`] in WAL mode.
const SIDE_FILES: [&str; 2] = ["-wal", "-shm"];

/// The state directory's mode: only its owner may list or enter it.
const DIR_MODE: u32 = 0o700;
/// The store files' mode: only their owner may read them.
const FILE_MODE: u32 = 0o600;

/// How long a write waits for another connection's transaction before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The tables of [`SCHEMA_VERSION`]. Counters are rows `(metric, label a, label b)`; the
/// incident, checkpoint and notification bodies are stored as written (JSON, bytes), so the
/// layout does not follow every field of theirs.
const SCHEMA: &str = "
CREATE TABLE counter (
    metric TEXT NOT NULL, a TEXT NOT NULL, b TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (metric, a, b)
) WITHOUT ROWID;
CREATE TABLE incident (
    id INTEGER PRIMARY KEY, state TEXT NOT NULL, body TEXT NOT NULL
);
CREATE INDEX incident_open ON incident (state, id);
CREATE TABLE cause_seen (cause TEXT PRIMARY KEY, ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE checkpoint (id INTEGER PRIMARY KEY CHECK (id = 0), data BLOB NOT NULL);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sink TEXT NOT NULL, key TEXT NOT NULL, firing INTEGER NOT NULL, body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_sink ON outbox (sink, id);
CREATE TABLE firing (
    sink TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (sink, key)
) WITHOUT ROWID;
";

/// What version 2 adds to version 1: the dashboard's history. `minute` rows count a
/// [`Series`] (`kind` `class` or `cause`, and its key) in a minute (its start, UTC ms; with
/// the log's offset then); `facet` rows count 5xx by `kind` (`path`, `host`, `crawler`) and
/// key; `span` holds the oldest and newest line time.
const SCHEMA_2: &str = "
CREATE TABLE minute (
    ms INTEGER NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
    offset INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (ms, kind, key)
) WITHOUT ROWID;
CREATE TABLE facet (
    kind TEXT NOT NULL, key TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE INDEX facet_top ON facet (kind, n);
CREATE TABLE span (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    first_ms INTEGER NOT NULL, first_offset INTEGER NOT NULL,
    last_ms INTEGER NOT NULL, last_offset INTEGER NOT NULL
);
";

/// The kinds of `facet` rows, by the [`Failing`] map they hold.
const PATH: &str = "path";
const HOST: &str = "host";
const CRAWLER: &str = "crawler";

/// The metric names of [`Counters`]' four maps, as stored.
const RESPONSES: &str = "responses";
const LINES: &str = "lines";
const INCIDENTS: &str = "incidents";
const ALERTS: &str = "alerts";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("state database {path}: {source}")]
    Create { path: PathBuf, source: io::Error },
    #[error("state directory {path}: {source}")]
    Dir { path: PathBuf, source: io::Error },
    #[error(
        "state database {path} has schema version {found}, newer than this fivehundred knows \
         ({known}): run a newer fivehundred, or point --state elsewhere"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("state database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("state database: stored {what} unreadable: {detail}")]
    Corrupt { what: &'static str, detail: String },
    #[error("state database: cannot encode {what}: {source}")]
    Encode {
        what: &'static str,
        source: serde_json::Error,
    },
}

/// Everything the pipeline resumes from after a restart (what
/// [`super::pipeline::Pipeline::new`] takes, the counters and the tailer's checkpoint).
#[derive(Debug, PartialEq)]
pub struct Resume {
    pub counters: Counters,
    /// The incidents still open, oldest first: they go on growing.
    pub open_incidents: Vec<LiveIncident>,
    /// The id the next new incident gets (ids are never reused).
    pub next_incident_id: i64,
    /// When each cause was last seen (ms since the epoch), for `new_cause`; by cause.
    pub causes: Vec<(String, i64)>,
    pub checkpoint: Option<Vec<u8>>,
}

/// What the dashboard's overview reads from the store: the 5xx by path (the most failing
/// first), host and crawler, and the span of the lines read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overview {
    /// The most failing paths, with their 5xx counts, most first.
    pub top_paths: Vec<(String, u64)>,
    /// How many hosts got 5xx (as far as the access logs name them).
    pub hosts: u64,
    /// 5xx by crawler.
    pub crawlers: BTreeMap<String, u64>,
    pub span: Option<(Stamp, Stamp)>,
}

/// One notification waiting for one sink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub sink: String,
    /// [`Notification::key`]: which alert it is.
    pub key: String,
    /// A firing (true) or its resolution.
    pub firing: bool,
    /// The notification's JSON, as the webhook sends it.
    pub body: String,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Not to be tried before this wall-clock time (ms since the epoch).
    pub next_attempt_ms: i64,
}

/// One SQLite connection to the state file.
pub struct Store {
    conn: Connection,
}

/// Makes `dir` (`--state DIR`) private: creates it 0700, or takes group and other access off
/// it and off the store files in it; gives one note per mode changed (or that could not be:
/// not a reason to stop), for the user.
pub fn prepare_dir(dir: &Path) -> Result<Vec<String>, StoreError> {
    create_private_dir(dir).map_err(|source| StoreError::Dir {
        path: dir.to_path_buf(),
        source,
    })?;
    let db = dir.join(FILE_NAME);
    let mut paths = vec![dir.to_path_buf(), db.clone()];
    paths.extend(SIDE_FILES.map(|suffix| side_file(&db, suffix)));
    let mut notes = Vec::new();
    for path in paths {
        let wanted = if path == dir { DIR_MODE } else { FILE_MODE };
        match restrict(&path, wanted) {
            Ok(None) => {}
            Ok(Some(was)) => notes.push(format!(
                "{} was mode {was:o}, open to others; made it {wanted:o}",
                path.display()
            )),
            Err(e) => notes.push(format!(
                "{} should be mode {wanted:o}, and cannot be made so: {e}",
                path.display()
            )),
        }
    }
    Ok(notes)
}

/// Creates `dir` and its missing parents 0700 (an existing one is left as it is).
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
}

/// Takes the bits outside `wanted` off `path`'s mode; gives the old mode if it changed.
/// A missing file is left for SQLite to create (see [`Store::open`]).
fn restrict(path: &Path, wanted: u32) -> io::Result<Option<u32>> {
    let mode = match fs::metadata(path) {
        Ok(m) => m.permissions().mode() & 0o7777,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if mode & !wanted == 0 {
        return Ok(None);
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode & wanted))?;
    Ok(Some(mode))
}

/// `db` with `suffix` appended to its name (`fivehundred.db-wal`).
fn side_file(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Creates an empty `path` 0600 unless it exists: SQLite gives a new database the umask's
/// mode (0644 usually), and its `-wal` and `-shm` files the database's.
fn create_private_file(path: &Path) -> io::Result<()> {
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
    {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

impl Store {
    /// Opens `dir/fivehundred.db`, creating the directory (0700) if needed (`--state DIR`).
    pub fn open_in(dir: &Path) -> Result<Store, StoreError> {
        create_private_dir(dir).map_err(|source| StoreError::Dir {
            path: dir.to_path_buf(),
            source,
        })?;
        Store::open(&dir.join(FILE_NAME))
    }

    /// Opens (or creates, 0600) the state file, checks its schema version and creates the
    /// tables of a new one.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        create_private_file(path).map_err(|source| StoreError::Create {
            path: path.to_path_buf(),
            source,
        })?;
        let opened = || -> Result<Connection, rusqlite::Error> {
            let conn = Connection::open(path)?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            // Deleted rows (an old store's sink URLs among them) are overwritten, not left
            // in free space.
            conn.pragma_update(None, "secure_delete", "ON")?;
            Ok(conn)
        };
        let mut conn = opened().map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        migrate(&mut conn, path)?;
        Ok(Store { conn })
    }

    /// Writes one pipeline batch ([`super::pipeline::Pipeline::take_batch`]), all of it or
    /// (on any error) none of it: counter deltas, incidents (inserted or replaced by id),
    /// cause times (kept at their latest), the notifications (one outbox row per sink in
    /// `sinks`, ids as [`super::sinks::Sink::id`] gives them) and the checkpoint (`None`
    /// leaves it as it was). Call [`super::sinks::Sinks::wake`] after it.
    pub fn apply(&mut self, batch: &Batch, sinks: &[String]) -> Result<(), StoreError> {
        self.apply_with(batch, sinks, &[])
    }

    /// [`Store::apply`], with `unsent` (alerts sent from memory, not delivered yet) queued in
    /// the outbox ahead of the batch's own notifications, as they are older.
    fn apply_with(
        &mut self,
        batch: &Batch,
        sinks: &[String],
        unsent: &[OutboxRow],
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        add_counters(&tx, &batch.counters)?;
        upsert_incidents(&tx, &batch.incidents)?;
        upsert_causes(&tx, &batch.causes)?;
        requeue(&tx, unsent)?;
        enqueue(&tx, &batch.notifications, sinks)?;
        add_history(&tx, &batch.history)?;
        add_failing(&tx, &batch.failing)?;
        if let Some(data) = &batch.checkpoint {
            tx.execute(
                "INSERT INTO checkpoint (id, data) VALUES (0, ?1)
                 ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                [data],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// What the pipeline needs to carry on where it stopped, read in one snapshot.
    pub fn load(&mut self) -> Result<Resume, StoreError> {
        let tx = self.conn.transaction()?;
        let resume = Resume {
            counters: counters(&tx)?,
            open_incidents: incidents_where(
                &tx,
                "WHERE state = ?1 ORDER BY id",
                params![state_name(IncidentState::Open)],
            )?,
            next_incident_id: tx.query_row(
                "SELECT COALESCE(MAX(id), 0) + 1 FROM incident",
                [],
                |r| r.get(0),
            )?,
            causes: tx
                .prepare("SELECT cause, ms FROM cause_seen ORDER BY cause")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?,
            checkpoint: tx
                .query_row("SELECT data FROM checkpoint WHERE id = 0", [], |r| r.get(0))
                .optional()?,
        };
        tx.commit()?;
        Ok(resume)
    }

    /// The counters as stored.
    pub fn counters(&self) -> Result<Counters, StoreError> {
        counters(&self.conn)
    }

    /// The history's minutes from `window` ms before its newest one on, read in one
    /// snapshot (the dashboard's chart and `/api/history`).
    pub fn history(&self, window: i64) -> Result<History, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT ms, kind, key, offset, n FROM minute
             WHERE ms >= (SELECT MAX(ms) FROM minute) - ?1",
        )?;
        let rows = stmt.query_map([window], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i32>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        let mut history = History::default();
        for row in rows {
            let (ms, kind, key, offset, n) = row?;
            let series = Series::from_parts(&kind, &key)
                .ok_or_else(|| corrupt("minute", format!("series {kind:?} {key:?}")))?;
            let n = u64::try_from(n).map_err(|_| corrupt("minute", format!("count {n}")))?;
            history.minutes.insert((ms, series), (offset, n));
        }
        Ok(history)
    }

    /// The overview's figures, with the `top` most failing paths.
    pub fn overview(&mut self, top: usize) -> Result<Overview, StoreError> {
        let tx = self.conn.transaction()?;
        let facets = |kind: &str, limit: i64| -> Result<Vec<(String, u64)>, StoreError> {
            let mut stmt = tx.prepare_cached(
                "SELECT key, n FROM facet WHERE kind = ?1 ORDER BY n DESC, key LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![kind, limit], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            rows.map(|row| {
                let (key, n) = row?;
                Ok((key, u64::try_from(n).unwrap_or(0)))
            })
            .collect()
        };
        let overview = Overview {
            top_paths: facets(PATH, i64::try_from(top).unwrap_or(i64::MAX))?,
            hosts: tx
                .query_row("SELECT COUNT(*) FROM facet WHERE kind = ?1", [HOST], |r| {
                    r.get::<_, i64>(0)
                })?
                .unsigned_abs(),
            crawlers: facets(CRAWLER, -1)?.into_iter().collect(),
            span: tx
                .query_row(
                    "SELECT first_ms, first_offset, last_ms, last_offset FROM span",
                    [],
                    |r| {
                        let stamp = |ms, offset| Stamp { ms, offset };
                        Ok((stamp(r.get(0)?, r.get(1)?), stamp(r.get(2)?, r.get(3)?)))
                    },
                )
                .optional()?,
        };
        tx.commit()?;
        Ok(overview)
    }

    /// The `limit` newest incidents (highest ids, i.e. opened last) first, for
    /// `/api/incidents`.
    pub fn incidents(&self, limit: usize) -> Result<Vec<LiveIncident>, StoreError> {
        incidents_where(
            &self.conn,
            "ORDER BY id DESC LIMIT ?1",
            params![i64::try_from(limit).unwrap_or(i64::MAX)],
        )
    }

    /// Up to `limit` rows waiting for `sink`, oldest first (the order they must arrive in).
    pub fn pending(&self, sink: &str, limit: usize) -> Result<Vec<OutboxRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, sink, key, firing, body, attempts, next_attempt_ms FROM outbox
             WHERE sink = ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(
            params![sink, i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| {
                Ok(OutboxRow {
                    id: r.get(0)?,
                    sink: r.get(1)?,
                    key: r.get(2)?,
                    firing: r.get(3)?,
                    body: r.get(4)?,
                    attempts: r.get(5)?,
                    next_attempt_ms: r.get(6)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Takes `row` out of the outbox once its sink is done with it: `delivered` (a 2xx) or
    /// given up on (a permanent refusal). A delivered firing joins the sink's firing alerts
    /// (which Alertmanager needs re-sent); a resolution, delivered or not, leaves them, so a
    /// refused resolution does not keep its alert alive by re-sending.
    pub fn finish(&mut self, row: &OutboxRow, delivered: bool) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM outbox WHERE id = ?1", [row.id])?;
        if !row.firing {
            tx.execute(
                "DELETE FROM firing WHERE sink = ?1 AND key = ?2",
                params![row.sink, row.key],
            )?;
        } else if delivered {
            tx.execute(
                "INSERT INTO firing (sink, key, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT (sink, key) DO UPDATE SET body = excluded.body",
                params![row.sink, row.key, row.body],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records a failed attempt at `row`: it is tried again at `next_attempt_ms`, and keeps
    /// its place (the rows after it wait, so they arrive in order).
    pub fn postpone(&mut self, row: &OutboxRow, next_attempt_ms: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?2 WHERE id = ?1",
            params![row.id, next_attempt_ms],
        )?;
        Ok(())
    }

    /// The alerts firing at `sink` (delivered, not yet resolved): key → notification JSON.
    pub fn firing(&self, sink: &str) -> Result<BTreeMap<String, String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT key, body FROM firing WHERE sink = ?1")?;
        let rows = stmt.query_map([sink], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Forgets what waits for sinks no longer configured (else their rows would wait
    /// forever); returns how many outbox rows went.
    pub fn retain_sinks(&mut self, sinks: &[String]) -> Result<usize, StoreError> {
        let tx = self.conn.transaction()?;
        let stale: Vec<String> = tx
            .prepare("SELECT sink FROM outbox UNION SELECT sink FROM firing")?
            .query_map([], |r| r.get(0))?
            .filter(|s| !matches!(s, Ok(s) if sinks.contains(s)))
            .collect::<Result<_, _>>()?;
        let mut dropped = 0;
        for sink in &stale {
            dropped += tx.execute("DELETE FROM outbox WHERE sink = ?1", [sink])?;
            tx.execute("DELETE FROM firing WHERE sink = ?1", [sink])?;
        }
        tx.commit()?;
        if !stale.is_empty() {
            self.truncate_wal()?;
        }
        Ok(dropped)
    }

    /// Files the rows of sink `from` under `to` (an older version filed them under the
    /// sink's URL); returns how many rows moved. The old text is overwritten in the file
    /// and cut from the WAL.
    pub fn rename_sink(&mut self, from: &str, to: &str) -> Result<usize, StoreError> {
        let tx = self.conn.transaction()?;
        let moved = tx.execute("UPDATE outbox SET sink = ?2 WHERE sink = ?1", [from, to])?
            + tx.execute(
                "UPDATE OR REPLACE firing SET sink = ?2 WHERE sink = ?1",
                [from, to],
            )?;
        tx.commit()?;
        if moved > 0 {
            self.truncate_wal()?;
        }
        Ok(moved)
    }

    /// Copies the WAL into the file and empties it, so what was deleted is in neither (a
    /// reader in the way only delays it: a busy result is not an error).
    fn truncate_wal(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
}

/// Writes the pipeline's batches to the store, holding them in memory while it cannot take
/// them (see the module comment).
#[derive(Debug)]
pub struct Writer {
    /// The checkpoint the store has: a step that would write only the same is skipped.
    stored: Option<Vec<u8>>,
    /// What the store has not taken yet, without its notifications (handed back to be sent
    /// from memory).
    held: Option<Batch>,
    /// While the store fails: when to try again.
    retry_at: Option<Instant>,
}

/// The alerts sent from memory while the store could not take them
/// ([`super::sinks::Sinks`]), seen from the [`Writer`]: a catch-up takes those not delivered
/// yet into the outbox.
pub trait Unsent {
    /// Takes the rows not delivered yet out of memory, in order; `None` while one of them is
    /// being sent (whether it arrives is not known yet: the catch-up waits).
    fn take(&mut self) -> Option<Vec<OutboxRow>>;
    /// Gives back rows taken that the store did not take after all, ahead of any newer.
    fn put_back(&mut self, rows: Vec<OutboxRow>);
}

/// What became of a batch given to [`Writer::write`].
#[derive(Debug)]
pub enum Written {
    /// In the store, with all that was held before it; `caught_up` if something was.
    Stored { caught_up: bool },
    /// Held in memory. `error` is why, the first time the store failed (`None` while it
    /// is known to fail). The notifications (of this batch alone) are given back, for the
    /// sinks to send from memory.
    Held {
        error: Option<StoreError>,
        notifications: Vec<Notification>,
    },
}

impl Writer {
    /// How long the store rests after a failed write before the next try.
    pub const RETRY: Duration = Duration::from_secs(5);

    /// A writer to a store whose checkpoint is `stored`.
    pub fn new(stored: Option<Vec<u8>>) -> Writer {
        Writer {
            stored,
            held: None,
            retry_at: None,
        }
    }

    /// Writes `batch` with what is held, or holds it with them (not trying before the retry
    /// time: a full disk is not written to five times a second). A batch with nothing new
    /// is not written (no fsync five times a second either). A catch-up also writes the
    /// `unsent` alerts into the outbox, or waits for the next step while one is in flight.
    pub fn write(
        &mut self,
        store: &mut Store,
        batch: &Batch,
        sinks: &[String],
        unsent: &mut impl Unsent,
    ) -> Written {
        if self.held.is_none() && is_empty(batch) && self.stored == batch.checkpoint {
            return Written::Stored { caught_up: false };
        }
        let mut all = self.held.take().unwrap_or_default();
        merge(&mut all, batch);
        let now = Instant::now();
        if self.retry_at.is_some_and(|at| now < at) {
            return self.hold(all, None);
        }
        let moved = match self.retry_at {
            Some(_) => match unsent.take() {
                Some(rows) => rows,
                None => return self.hold(all, None),
            },
            None => Vec::new(),
        };
        match store.apply_with(&all, sinks, &moved) {
            Ok(()) => {
                self.stored = all.checkpoint;
                Written::Stored {
                    caught_up: self.retry_at.take().is_some(),
                }
            }
            Err(e) => {
                unsent.put_back(moved);
                let first = self.retry_at.replace(now + Writer::RETRY).is_none();
                self.hold(all, first.then_some(e))
            }
        }
    }

    fn hold(&mut self, mut all: Batch, error: Option<StoreError>) -> Written {
        let notifications = std::mem::take(&mut all.notifications);
        self.held = Some(all);
        Written::Held {
            error,
            notifications,
        }
    }

    /// What is held: the incidents the store lacks, for the dashboard to show.
    pub fn held(&self) -> Option<&Batch> {
        self.held.as_ref()
    }
}

/// Whether a batch counted, changed or sent nothing.
fn is_empty(batch: &Batch) -> bool {
    batch.counters == Counters::default()
        && batch.incidents.is_empty()
        && batch.causes.is_empty()
        && batch.notifications.is_empty()
        && batch.history.is_empty()
        && batch.failing.is_empty()
}

/// Adds the later batch `from` to `into`: counts summed, each incident's newest state, each
/// cause's latest time, notifications in order, the newest checkpoint.
fn merge(into: &mut Batch, from: &Batch) {
    into.counters.add(&from.counters);
    into.history.add(&from.history);
    into.failing.add(&from.failing);
    for incident in &from.incidents {
        match into.incidents.iter_mut().find(|i| i.id == incident.id) {
            Some(older) => *older = incident.clone(),
            None => into.incidents.push(incident.clone()),
        }
    }
    for (cause, ms) in &from.causes {
        let latest = into.causes.entry(cause.clone()).or_insert(*ms);
        *latest = (*latest).max(*ms);
    }
    into.notifications
        .extend(from.notifications.iter().cloned());
    if from.checkpoint.is_some() {
        into.checkpoint.clone_from(&from.checkpoint);
    }
}

/// Checks the file's schema version, creating the tables when there are none yet. One
/// immediate transaction, so two connections opening a new file at once do not both create.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
        [],
    )?;
    let found: Option<i64> = tx
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    match found {
        None => {
            tx.execute_batch(SCHEMA)?;
            tx.execute_batch(SCHEMA_2)?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                [SCHEMA_VERSION],
            )?;
        }
        Some(1) => {
            tx.execute_batch(SCHEMA_2)?;
            tx.execute(
                "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
                [SCHEMA_VERSION],
            )?;
        }
        Some(v) if v > SCHEMA_VERSION => {
            return Err(StoreError::NewerSchema {
                path: path.to_path_buf(),
                found: v,
                known: SCHEMA_VERSION,
            });
        }
        Some(_) => {}
    }
    tx.commit()?;
    Ok(())
}

/// [`Counters`] as `(metric, a, b, n)` rows.
fn counter_rows(c: &Counters) -> impl Iterator<Item = (&'static str, String, String, u64)> + '_ {
    /// A map with one label, `b` left empty.
    fn single<'a>(
        metric: &'static str,
        map: &'a BTreeMap<String, u64>,
    ) -> impl Iterator<Item = (&'static str, String, String, u64)> + 'a {
        map.iter()
            .map(move |(a, n)| (metric, a.clone(), String::new(), *n))
    }
    c.responses
        .iter()
        .map(|(code, n)| (RESPONSES, code.to_string(), String::new(), *n))
        .chain(
            c.lines
                .iter()
                .map(|((kind, result), n)| (LINES, kind.clone(), result.clone(), *n)),
        )
        .chain(single(INCIDENTS, &c.incidents))
        .chain(single(ALERTS, &c.alerts))
}

fn add_counters(tx: &Transaction, delta: &Counters) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO counter (metric, a, b, n) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (metric, a, b) DO UPDATE SET n = n + excluded.n",
    )?;
    for (metric, a, b, n) in counter_rows(delta) {
        stmt.execute(params![metric, a, b, i64::try_from(n).unwrap_or(i64::MAX)])?;
    }
    Ok(())
}

fn counters(conn: &Connection) -> Result<Counters, StoreError> {
    let mut c = Counters::default();
    let mut stmt = conn.prepare_cached("SELECT metric, a, b, n FROM counter")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    for row in rows {
        let (metric, a, b, n) = row?;
        let n = u64::try_from(n).map_err(|_| corrupt("counter", format!("{metric} {a}: {n}")))?;
        match metric.as_str() {
            RESPONSES => {
                let code = a
                    .parse()
                    .map_err(|_| corrupt("counter", format!("status code {a:?}")))?;
                c.responses.insert(code, n);
            }
            LINES => {
                c.lines.insert((a, b), n);
            }
            INCIDENTS => {
                c.incidents.insert(a, n);
            }
            ALERTS => {
                c.alerts.insert(a, n);
            }
            other => return Err(corrupt("counter", format!("unknown metric {other:?}"))),
        }
    }
    Ok(c)
}

/// Adds a batch's minutes, then prunes those older than [`HISTORY_MS`] before the newest.
fn add_history(tx: &Transaction, history: &History) -> Result<(), StoreError> {
    if history.is_empty() {
        return Ok(());
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO minute (ms, kind, key, offset, n) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (ms, kind, key) DO UPDATE SET n = n + excluded.n",
    )?;
    for ((ms, series), (offset, n)) in &history.minutes {
        let (kind, key) = series.parts();
        stmt.execute(params![ms, kind, key, offset, count(*n)])?;
    }
    tx.execute(
        "DELETE FROM minute WHERE ms <= (SELECT MAX(ms) FROM minute) - ?1",
        [HISTORY_MS],
    )?;
    Ok(())
}

/// Adds a batch's 5xx by path, host and crawler (keeping the [`MAX_FACETS`] most failing of
/// each), and widens the span.
fn add_failing(tx: &Transaction, failing: &Failing) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO facet (kind, key, n) VALUES (?1, ?2, ?3)
         ON CONFLICT (kind, key) DO UPDATE SET n = n + excluded.n",
    )?;
    for (kind, map) in [
        (PATH, &failing.paths),
        (HOST, &failing.hosts),
        (CRAWLER, &failing.crawlers),
    ] {
        for (key, n) in map {
            stmt.execute(params![kind, key, count(*n)])?;
        }
        if !map.is_empty() {
            prune_facets(tx, kind)?;
        }
    }
    if let Some((first, last)) = failing.span {
        tx.execute(
            "INSERT INTO span (id, first_ms, first_offset, last_ms, last_offset)
             VALUES (0, ?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET
               first_offset = CASE WHEN excluded.first_ms < first_ms THEN excluded.first_offset ELSE first_offset END,
               first_ms = MIN(first_ms, excluded.first_ms),
               last_offset = CASE WHEN excluded.last_ms > last_ms THEN excluded.last_offset ELSE last_offset END,
               last_ms = MAX(last_ms, excluded.last_ms)",
            params![first.ms, first.offset, last.ms, last.offset],
        )?;
    }
    Ok(())
}

/// Keeps the [`MAX_FACETS`] most failing rows of `kind` (ties: the first keys). Counting
/// first: the sort is paid only by a store that has gone past the bound.
fn prune_facets(tx: &Transaction, kind: &str) -> Result<(), StoreError> {
    let max = i64::try_from(MAX_FACETS).unwrap_or(i64::MAX);
    let rows: i64 = tx.query_row("SELECT COUNT(*) FROM facet WHERE kind = ?1", [kind], |r| {
        r.get(0)
    })?;
    if rows > max {
        tx.execute(
            "DELETE FROM facet WHERE kind = ?1 AND key IN (SELECT key FROM facet
             WHERE kind = ?1 ORDER BY n DESC, key LIMIT -1 OFFSET ?2)",
            params![kind, max],
        )?;
    }
    Ok(())
}

/// A count as SQLite stores it.
fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn upsert_incidents(tx: &Transaction, incidents: &[LiveIncident]) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO incident (id, state, body) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, body = excluded.body",
    )?;
    for i in incidents {
        let body = serde_json::to_string(i).map_err(|source| StoreError::Encode {
            what: "incident",
            source,
        })?;
        stmt.execute(params![i.id, state_name(i.state), body])?;
    }
    Ok(())
}

/// The incidents `clause` (after `FROM incident`) selects.
fn incidents_where(
    conn: &Connection,
    clause: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<LiveIncident>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT body FROM incident {clause}"))?;
    let bodies = stmt.query_map(args, |r| r.get::<_, String>(0))?;
    bodies
        .map(|b| serde_json::from_str(&b?).map_err(|e| corrupt("incident", e.to_string())))
        .collect()
}

fn upsert_causes(tx: &Transaction, causes: &BTreeMap<String, i64>) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO cause_seen (cause, ms) VALUES (?1, ?2)
         ON CONFLICT (cause) DO UPDATE SET ms = MAX(ms, excluded.ms)",
    )?;
    for (cause, ms) in causes {
        stmt.execute(params![cause, ms])?;
    }
    Ok(())
}

/// Rows that waited in memory, each for its own sink, with its attempts so far, in order.
fn requeue(tx: &Transaction, rows: &[OutboxRow]) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO outbox (sink, key, firing, body, attempts, next_attempt_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for row in rows {
        stmt.execute(params![
            row.sink,
            row.key,
            row.firing,
            row.body,
            row.attempts,
            row.next_attempt_ms
        ])?;
    }
    Ok(())
}

/// One outbox row per notification and sink, in the notifications' order.
fn enqueue(tx: &Transaction, notes: &[Notification], sinks: &[String]) -> Result<(), StoreError> {
    let mut stmt =
        tx.prepare_cached("INSERT INTO outbox (sink, key, firing, body) VALUES (?1, ?2, ?3, ?4)")?;
    for note in notes {
        let body = serde_json::to_string(note).map_err(|source| StoreError::Encode {
            what: "notification",
            source,
        })?;
        let firing = note.status == AlertStatus::Firing;
        for sink in sinks {
            stmt.execute(params![sink, note.key(), firing, body])?;
        }
    }
    Ok(())
}

/// How an incident's state is stored (as its JSON says it).
fn state_name(state: IncidentState) -> &'static str {
    match state {
        IncidentState::Open => "open",
        IncidentState::Resolved => "resolved",
    }
}

fn corrupt(what: &'static str, detail: String) -> StoreError {
    StoreError::Corrupt { what, detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn at(ms: i64) -> Stamp {
        Stamp { ms, offset: 3600 }
    }

    /// A batch of `n` 5xx of `cause` at `ms` on `path`, with its checkpoint.
    fn batch(ms: i64, n: u64, cause: &str, path: &str, checkpoint: &[u8]) -> Batch {
        let mut b = Batch::default();
        b.history.count(at(ms), Series::Class(5), n);
        b.history.count(at(ms), Series::Cause(cause.into()), n);
        b.failing.paths.insert(path.into(), n);
        b.failing.hosts.insert("shop.example".into(), n);
        b.failing.crawlers.insert("Googlebot".into(), 1);
        b.failing.widen(at(ms));
        b.checkpoint = Some(checkpoint.to_vec());
        b
    }

    fn minute(h: &History, ms: i64, series: Series) -> Option<u64> {
        h.minutes.get(&(ms, series)).map(|&(_, n)| n)
    }

    #[test]
    fn history_and_failing_paths_add_up_across_steps_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join(FILE_NAME);
        let mut store = Store::open(&db).unwrap();
        let t = 1_700_000_000_000 / MIN * MIN;
        store
            .apply(&batch(t + 5, 2, "fpm_down", "/a", b"1"), &[])
            .unwrap();
        store
            .apply(&batch(t + 50_000, 3, "fpm_down", "/a", b"2"), &[])
            .unwrap();
        store
            .apply(&batch(t + MIN, 1, "db_down", "/b", b"3"), &[])
            .unwrap();
        drop(store);
        let mut store = Store::open(&db).unwrap();
        let h = store.history(HISTORY_MS).unwrap();
        assert_eq!(minute(&h, t, Series::Class(5)), Some(5));
        assert_eq!(minute(&h, t, Series::Cause("fpm_down".into())), Some(5));
        assert_eq!(
            minute(&h, t + MIN, Series::Cause("db_down".into())),
            Some(1)
        );
        assert_eq!(
            h.minutes[&(t, Series::Class(5))].0,
            3600,
            "the log's offset"
        );
        let o = store.overview(10).unwrap();
        assert_eq!(o.top_paths, [("/a".to_string(), 5), ("/b".to_string(), 1)]);
        assert_eq!(o.hosts, 1);
        assert_eq!(o.crawlers, BTreeMap::from([("Googlebot".to_string(), 3)]));
        assert_eq!(o.span, Some((at(t + 5), at(t + MIN))));
        assert_eq!(store.load().unwrap().checkpoint.as_deref(), Some(&b"3"[..]));
    }

    /// The history goes with the checkpoint or not at all: a step the store refuses (a full
    /// disk, here a trigger) leaves no minute, path or span behind, so the lines read again
    /// from the old checkpoint are counted once.
    #[test]
    fn a_step_that_fails_leaves_no_history_behind() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join(FILE_NAME);
        let mut store = Store::open(&db).unwrap();
        store
            .apply(&batch(0, 1, "fpm_down", "/a", b"1"), &[])
            .unwrap();
        store
            .conn
            .execute_batch(
                "CREATE TRIGGER full BEFORE UPDATE ON checkpoint
                 BEGIN SELECT RAISE(FAIL, 'disk full'); END;",
            )
            .unwrap();
        let before = (
            store.history(HISTORY_MS).unwrap(),
            store.overview(10).unwrap(),
        );
        let refused = store.apply(&batch(MIN, 5, "db_down", "/b", b"2"), &[]);
        assert!(refused.is_err());
        let after = (
            store.history(HISTORY_MS).unwrap(),
            store.overview(10).unwrap(),
        );
        assert_eq!(after, before);
        assert_eq!(store.load().unwrap().checkpoint.as_deref(), Some(&b"1"[..]));
    }

    #[test]
    fn minutes_older_than_a_week_before_the_newest_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join(FILE_NAME)).unwrap();
        let t = 1_700_000_000_000 / MIN * MIN;
        store
            .apply(&batch(t, 1, "fpm_down", "/a", b"1"), &[])
            .unwrap();
        store
            .apply(&batch(t + MIN, 1, "fpm_down", "/a", b"2"), &[])
            .unwrap();
        store
            .apply(&batch(t + HISTORY_MS, 1, "fpm_down", "/a", b"3"), &[])
            .unwrap();
        let minutes: Vec<i64> = store
            .history(i64::MAX / 2)
            .unwrap()
            .minutes
            .keys()
            .map(|(ms, _)| *ms)
            .collect();
        assert_eq!(
            minutes,
            [t + MIN, t + MIN, t + HISTORY_MS, t + HISTORY_MS],
            "the first minute is gone"
        );
        // The chart's window is back from the newest minute.
        assert_eq!(store.history(0).unwrap().minutes.len(), 2);
    }

    #[test]
    fn only_the_most_failing_paths_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join(FILE_NAME)).unwrap();
        let mut b = batch(0, 5, "fpm_down", "/hot", b"1");
        for i in 0..MAX_FACETS {
            b.failing.paths.insert(format!("/cold/{i}"), 1);
        }
        store.apply(&b, &[]).unwrap();
        let kept: i64 = store
            .conn
            .query_row("SELECT COUNT(*) FROM facet WHERE kind = 'path'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(kept, MAX_FACETS as i64);
        assert_eq!(store.overview(1).unwrap().top_paths, [("/hot".into(), 5)]);
    }

    #[test]
    fn a_version_1_store_gets_the_history_tables_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join(FILE_NAME);
        {
            let conn = Connection::open(&db).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            conn.execute_batch(
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
                 INSERT INTO meta VALUES ('schema_version', 1);
                 INSERT INTO counter VALUES ('responses', '502', '', 7);",
            )
            .unwrap();
        }
        let mut store = Store::open(&db).unwrap();
        assert_eq!(store.counters().unwrap().responses[&502], 7);
        assert!(store.history(HISTORY_MS).unwrap().is_empty());
        store
            .apply(&batch(0, 1, "fpm_down", "/a", b"1"), &[])
            .unwrap();
        assert_eq!(store.history(HISTORY_MS).unwrap().minutes.len(), 2);
        let version: i64 = store
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
    }
}
