//! `fivehundred watch` put together: the tailer feeds the pipeline; each step's counts,
//! incidents, alerts and the tail position go to the store in one transaction; the HTTP
//! endpoints show the result and the sinks send the alerts.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::detect::DetectConfig;
use super::http::{self, FiringAlert, FollowedFile, Shared, Snapshot};
use super::journal::{Journal, JournalConfig, JournalError};
use super::live::{History, LiveIncident};
use super::pipeline::{Batch, FiringState, Pipeline, PipelineConfig};
use super::sinks::{Sink, SinkError, SinkOptions, Sinks};
use super::store::{self, Store, StoreError, Writer, Written};
use super::tail::{Mark, TailConfig, TailError, Tailer};
use crate::formats::access::{AccessFormat, FormatError};
use crate::scope::{BadFilter, Scope};

/// How long the loop rests when the files have nothing new.
const IDLE: Duration = Duration::from_millis(200);
/// Resolved incidents the dashboard and `/api/incidents` keep showing.
const SHOWN_RESOLVED: usize = 200;
/// How often, at most, the dashboard's history and overview are read again from the store
/// (the page reloads every 5 s; a catch-up must not read a day of minutes at every step).
const REREAD: Duration = Duration::from_secs(1);

/// Everything `watch` is told: the flags, or the same keys in the `--config` TOML file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct WatchConfig {
    /// Files and directories to follow.
    #[serde(default)]
    pub paths: Vec<PathBuf>,
    /// Where the HTTP endpoints listen (default 127.0.0.1:9500).
    pub listen: Option<SocketAddr>,
    /// Host names requests to the endpoints may name besides the listen address (a reverse
    /// proxy's, say): any other `Host` is refused, against DNS rebinding.
    #[serde(default)]
    pub allow_host: Vec<String>,
    /// Checkpoint and SQLite store.
    pub state: Option<PathBuf>,
    #[serde(default)]
    pub webhook: Vec<String>,
    pub alertmanager: Option<String>,
    /// Availability objective in percent, for the burn-rate rule.
    pub slo: Option<f64>,
    /// On a first start, begin at the end of the files.
    #[serde(default)]
    pub from_end: bool,
    pub tz: Option<String>,
    pub access_format: Option<String>,
    /// journald units to follow (`journalctl -u`), beside the files.
    #[serde(default)]
    pub journal: Vec<String>,
    /// Read the journal from this directory of journal files instead of the system's.
    pub journal_directory: Option<PathBuf>,
    /// The incidents the dashboard and `/api/incidents` show unless a query says otherwise:
    /// `diagnose`'s `--host`, `--path` and `--status`.
    pub host: Option<String>,
    pub path: Option<String>,
    pub status: Option<String>,
}

/// Why `watch` could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Tail(#[from] TailError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error(transparent)]
    Http(#[from] http::HttpError),
    #[error("--access-format: {0}")]
    Format(#[from] FormatError),
    #[error("unknown time zone `{0}`")]
    Zone(String),
    #[error("slo {0}: expected a percentage between 0 and 100, such as 99.9")]
    Slo(f64),
    #[error("starting the runtime: {0}")]
    Runtime(std::io::Error),
    #[error("the stored checkpoint cannot be read; move the state directory away to start over")]
    Checkpoint,
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Scope(#[from] BadFilter),
}

impl WatchConfig {
    /// Puts the command line's settings over these (the config file's): flags win.
    pub fn merge_flags(&mut self, flags: WatchConfig) {
        if !flags.paths.is_empty() {
            self.paths = flags.paths;
        }
        if !flags.webhook.is_empty() {
            self.webhook = flags.webhook;
        }
        if !flags.allow_host.is_empty() {
            self.allow_host = flags.allow_host;
        }
        self.listen = flags.listen.or(self.listen);
        self.state = flags.state.or(self.state.take());
        self.alertmanager = flags.alertmanager.or(self.alertmanager.take());
        self.slo = flags.slo.or(self.slo);
        self.from_end |= flags.from_end;
        self.tz = flags.tz.or(self.tz.take());
        self.access_format = flags.access_format.or(self.access_format.take());
        if !flags.journal.is_empty() {
            self.journal = flags.journal;
        }
        self.journal_directory = flags.journal_directory.or(self.journal_directory.take());
        self.host = flags.host.or(self.host.take());
        self.path = flags.path.or(self.path.take());
        self.status = flags.status.or(self.status.take());
    }

    /// The journal to follow, if units are named.
    fn journal(&self) -> Option<JournalConfig> {
        (!self.journal.is_empty()).then(|| JournalConfig {
            units: self.journal.clone(),
            directory: self.journal_directory.clone(),
        })
    }

    /// The listen address (127.0.0.1:9500 unless set).
    pub fn listen(&self) -> SocketAddr {
        self.listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9500)))
    }

    fn pipeline(&self) -> Result<PipelineConfig, WatchError> {
        let tz = match &self.tz {
            Some(name) => {
                jiff::tz::TimeZone::get(name).map_err(|_| WatchError::Zone(name.clone()))?
            }
            None => jiff::tz::TimeZone::system(),
        };
        if let Some(slo) = self.slo
            && !(slo > 0.0 && slo < 100.0)
        {
            return Err(WatchError::Slo(slo));
        }
        Ok(PipelineConfig {
            tz,
            access_format: self
                .access_format
                .as_deref()
                .map(AccessFormat::from_flag)
                .transpose()?,
            detect: DetectConfig { slo: self.slo },
        })
    }

    fn sinks(&self) -> Result<Vec<Sink>, WatchError> {
        let mut sinks: Vec<Sink> = self
            .webhook
            .iter()
            .map(|u| Sink::webhook(u))
            .collect::<Result<_, _>>()?;
        if let Some(am) = &self.alertmanager {
            sinks.push(Sink::alertmanager(am)?);
        }
        Ok(sinks)
    }
}

/// What the store keeps as the checkpoint: the tailer's position and the alerts firing, so
/// a restart neither re-reads a line nor fires an alert twice.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Checkpoint {
    tail: Option<String>,
    firing: Vec<FiringState>,
    /// The cursor of the last journal entry read (`--journal`).
    #[serde(default)]
    journal: Option<String>,
}

/// Runs until SIGINT or SIGTERM, or an error. `ready` is told the address the endpoints
/// listen on once they do.
pub fn run(
    config: &WatchConfig,
    state: PathBuf,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), WatchError> {
    let pipeline_config = config.pipeline()?;
    let scope = Scope::new(
        config.host.as_deref(),
        config.path.as_deref(),
        config.status.as_deref(),
    )?;
    let sinks = config.sinks()?;
    let sink_ids: Vec<String> = sinks.iter().map(Sink::id).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(WatchError::Runtime)?;
    let stop = Arc::new(AtomicBool::new(false));
    runtime.spawn(stop_on_signal(Arc::clone(&stop)));
    for note in store::prepare_dir(&state)? {
        eprintln!("fivehundred: note: {note}");
    }
    let mut store = Store::open_in(&state)?;
    let resume = store.load()?;
    let saved: Checkpoint = match &resume.checkpoint {
        Some(bytes) => serde_json::from_slice(bytes).map_err(|_| WatchError::Checkpoint)?,
        None => Checkpoint::default(),
    };
    let mark = saved.tail.as_deref().map(Mark::from_json).transpose()?;
    let tail_config = TailConfig {
        paths: config.paths.clone(),
        state_dir: state.clone(),
        from_end: config.from_end,
    };
    super::tail::raise_descriptor_limit();
    let mut tailer = Tailer::resume(tail_config, mark)?;
    let mut pipeline = Pipeline::new(
        pipeline_config,
        resume.next_incident_id,
        &resume.causes,
        resume.open_incidents.clone(),
    );
    pipeline.restore_firing(&saved.firing);
    let mut snapshot = Snapshot::new(jiff::Timestamp::now());
    snapshot.counters = resume.counters.clone();
    snapshot.incidents = store.incidents(SHOWN_RESOLVED)?;
    snapshot.history = store.history(http::CHART_MS)?;
    snapshot.overview = store.overview(http::TOP_PATHS)?;
    let shared = Shared::new(snapshot, http::DEFAULT_MAX_AGE);
    let options = http::HttpOptions {
        allow_hosts: config.allow_host.clone(),
        scope: Arc::new(scope),
        ..http::HttpOptions::default()
    };
    let server = runtime.block_on(http::Server::bind_with(
        config.listen(),
        shared.clone(),
        options,
    ))?;
    ready(server.local_addr());
    runtime.spawn(async move {
        if let Err(e) = server.run().await {
            eprintln!("fivehundred: error: {e}");
        }
    });
    let db = state.join(store::FILE_NAME);
    let mut sinks =
        runtime.block_on(async { Sinks::start(&db, &sinks, SinkOptions::default()) })?;
    let mut tail = saved.tail;
    let journal_config = config.journal();
    let mut journal = journal_config
        .as_ref()
        .map(|j| Journal::start(j, saved.journal.as_deref(), config.from_end))
        .transpose()?;
    let journal_name = journal_config.map(|j| format!("journal:{}", j.units.join(",")));
    let mut writer = Writer::new(resume.checkpoint.clone());
    let mut behind = false;
    // How far each file was read (the last known, for one let go): for the dashboard.
    let mut offsets: HashMap<String, u64> = HashMap::new();
    let mut reread = Reread::default();
    while !stop.load(Ordering::Relaxed) {
        let polled = tailer.poll();
        for w in tailer.take_warnings() {
            eprintln!("fivehundred: warning: {w}");
        }
        for chunk in polled.chunks {
            let key = chunk.file.to_string();
            if chunk.offset == 0 {
                pipeline.restart(&key);
            }
            pipeline.ingest(&key, &chunk.path.display().to_string(), &chunk.bytes);
            tailer.recycle(chunk.bytes);
        }
        for (key, _, offset) in tailer.positions() {
            offsets.insert(key.to_string(), offset);
        }
        let mut more = polled.more;
        if let (Some(journal), Some(name)) = (&mut journal, &journal_name) {
            let mut entries = Vec::new();
            more |= journal.poll(&mut entries);
            if !entries.is_empty() {
                pipeline.ingest(name, name, &entries);
            }
        }
        let cursor = journal.as_ref().and_then(|j| j.cursor());
        if more {
            pipeline.catch_up();
        } else {
            pipeline.tick(jiff::Timestamp::now());
        }
        behind = more;
        tail = Some(polled.mark.to_json()?);
        let batch = step(
            &mut pipeline,
            (tail.as_deref(), cursor),
            &mut writer,
            &mut store,
            &sink_ids,
            &mut sinks,
        )?;
        publish(&shared, &pipeline, &offsets, &batch, &store, &writer);
        reread.after(&batch, &shared, &mut store, &writer);
        if !more {
            std::thread::sleep(IDLE);
        }
    }
    // The 5xx still settling are explained now, and stored at the same position: the next
    // start goes on after their lines, so this is their last chance to be in an incident.
    // (Still catching up, the clock stays at the newest line, as in the loop.)
    let until = match pipeline.newest() {
        Some(newest) if behind => jiff::Timestamp::from_millisecond(newest.ms).ok(),
        _ => None,
    };
    pipeline.drain(until.unwrap_or_else(jiff::Timestamp::now));
    step(
        &mut pipeline,
        (tail.as_deref(), journal.as_ref().and_then(|j| j.cursor())),
        &mut writer,
        &mut store,
        &sink_ids,
        &mut sinks,
    )?;
    if writer.held().is_some() {
        eprintln!(
            "fivehundred: warning: the state store still cannot be written: what was held in memory is lost, and the next start reads those lines again (their alerts already delivered are sent a second time)"
        );
    }
    runtime.block_on(sinks.stop());
    Ok(())
}

/// Stores what the pipeline did since the last step with the tail position and journal
/// cursor `at` and the alerts firing, in one transaction, and wakes the sinks for new notifications. While the
/// store cannot be written, the writer holds the step and the sinks get its notifications in
/// memory.
fn step(
    pipeline: &mut Pipeline,
    (tail, journal): (Option<&str>, Option<&str>),
    writer: &mut Writer,
    store: &mut Store,
    sink_ids: &[String],
    sinks: &mut Sinks,
) -> Result<Batch, WatchError> {
    let mut batch = pipeline.take_batch();
    let checkpoint = Checkpoint {
        tail: tail.map(str::to_owned),
        firing: pipeline.firing_state(),
        journal: journal.map(str::to_owned),
    };
    batch.checkpoint = Some(serde_json::to_vec(&checkpoint).map_err(|_| WatchError::Checkpoint)?);
    match writer.write(store, &batch, sink_ids, sinks) {
        Written::Stored { caught_up } => {
            if caught_up {
                eprintln!(
                    "fivehundred: note: the state store takes writes again; what was held in memory is in it"
                );
            }
            if caught_up || !batch.notifications.is_empty() {
                sinks.wake();
            }
        }
        Written::Held {
            error,
            notifications,
        } => {
            if let Some(e) = error {
                eprintln!(
                    "fivehundred: warning: {e}; counting and alerting go on in memory, and the store is tried again every {} s",
                    Writer::RETRY.as_secs()
                );
            }
            if !notifications.is_empty() {
                sinks.send_unstored(&notifications);
            }
        }
    }
    Ok(batch)
}

/// Sets `stop` at SIGINT or SIGTERM: the loop ends after the step it is in, stored whole.
async fn stop_on_signal(stop: Arc<AtomicBool>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    stop.store(true, Ordering::Relaxed);
}

/// Updates what the endpoints show after a step: incidents as stored, with the newer states
/// the writer holds over them.
fn publish(
    shared: &Shared,
    pipeline: &Pipeline,
    offsets: &HashMap<String, u64>,
    batch: &Batch,
    store: &Store,
    writer: &Writer,
) {
    let incidents = if batch.incidents.is_empty() {
        None
    } else {
        match store.incidents(SHOWN_RESOLVED) {
            Ok(list) => Some(with_held(list, writer.held())),
            Err(e) => {
                eprintln!("fivehundred: warning: reading incidents for the dashboard: {e}");
                None
            }
        }
    };
    shared.update(|s| {
        s.counters.add(&batch.counters);
        if let Some(list) = incidents {
            s.incidents = list;
        }
        s.firing = pipeline.firing().iter().map(FiringAlert::from).collect();
        s.files = pipeline
            .inputs()
            .iter()
            .zip(pipeline.input_keys())
            .map(|(i, key)| FollowedFile::new(i, offsets.get(key).copied().unwrap_or(0)))
            .collect();
        s.newest_line = pipeline.newest();
        s.store_ok = writer.held().is_none();
    });
}

/// When the dashboard's history and overview are read again from the store: once steps
/// changed them, at most every [`REREAD`].
#[derive(Default)]
struct Reread {
    due: bool,
    last: Option<Instant>,
}

impl Reread {
    /// After a step: reads the history and overview again if they are due, into `shared`
    /// (with the minutes the writer holds, while the store cannot take them). A failed read
    /// is said on stderr and tried again [`REREAD`] later, not at every step.
    fn after(&mut self, batch: &Batch, shared: &Shared, store: &mut Store, writer: &Writer) {
        self.due |= !batch.history.is_empty() || !batch.failing.is_empty();
        let waited = self.last.is_none_or(|at| at.elapsed() >= REREAD);
        if !self.due || !waited {
            return;
        }
        self.last = Some(Instant::now());
        let read = store
            .history(http::CHART_MS)
            .and_then(|h| Ok((h, store.overview(http::TOP_PATHS)?)));
        match read {
            Ok((history, overview)) => {
                let history = with_held_history(history, writer.held());
                shared.update(|s| (s.history, s.overview) = (history, overview));
                self.due = false;
            }
            Err(e) => eprintln!("fivehundred: warning: reading history for the dashboard: {e}"),
        }
    }
}

/// `stored` with the minutes `held` in memory added (those are not in the store yet).
fn with_held_history(mut stored: History, held: Option<&Batch>) -> History {
    if let Some(b) = held {
        stored.add(&b.history);
    }
    stored
}

/// `stored` with each incident `held` in memory in its newer state.
fn with_held(mut stored: Vec<LiveIncident>, held: Option<&Batch>) -> Vec<LiveIncident> {
    for incident in held.map_or(&[][..], |b| &b.incidents) {
        stored.retain(|i| i.id != incident.id);
        stored.push(incident.clone());
    }
    stored
}
