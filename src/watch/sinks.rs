//! Delivery of the alert outbox ([`super::store`]) to webhooks and Alertmanager.
//!
//! Each sink has its own tokio task and its own connection to the state file. It sends its
//! outbox rows oldest first, one at a time, and deletes a row only after a 2xx answer, so a
//! restart or crash at any point loses nothing (at worst the row in flight is sent again).
//! While a receiver is down, answers 5xx, 408 or 429, the same row is retried with
//! exponential backoff and the rows after it wait, so each sink gets its alerts in order.
//! Any other 4xx is a permanent refusal: logged, dropped, and the next row goes. A redirect
//! is never followed (a 302 would turn the POST into a GET, whose 200 says nothing of the
//! alert): a 3xx is a failed delivery like a 5xx, warned about with where it points.
//!
//! When the store cannot take notifications (a full disk), they wait in memory instead
//! ([`Sinks::send_unstored`]), after the stored rows, and go the same way; when it takes
//! writes again, those still waiting move into its outbox ([`Unsent`]).
//!
//! Alertmanager forgets an alert that is not re-sent within its `resolve_timeout` (5 min by
//! default), so the firing alerts it was given are posted again every
//! [`SinkOptions::resend_every`] until their resolution is delivered.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::detect::AlertStatus;
use super::live::{LiveIncident, Notification};
use super::store::{OutboxRow, Store, StoreError, Unsent};

/// The path of Alertmanager's v2 alerts API under its base URL.
const ALERTMANAGER_PATH: &str = "/api/v2/alerts";

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("{url:?}: not an http(s) URL")]
    BadUrl { url: String },
    #[error("HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("alert sink: state database task failed: {0}")]
    Task(String),
    #[error("alert sinks started outside a tokio runtime")]
    NoRuntime,
}

/// Where alerts go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkKind {
    /// The notification JSON, POSTed as is.
    Webhook,
    /// Alertmanager's v2 API.
    Alertmanager,
}

/// One configured receiver (`--webhook URL`, `--alertmanager URL`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sink {
    kind: SinkKind,
    /// Where to POST: the webhook's URL, or Alertmanager's alerts API.
    url: Url,
}

impl Sink {
    /// A webhook receiving the notification JSON.
    pub fn webhook(url: &str) -> Result<Sink, SinkError> {
        Ok(Sink {
            kind: SinkKind::Webhook,
            url: http_url(url)?,
        })
    }

    /// An Alertmanager, by its base URL (`http://127.0.0.1:9093`); a URL already ending in
    /// `/api/v2/alerts` is taken as is.
    pub fn alertmanager(base: &str) -> Result<Sink, SinkError> {
        let base = base.trim_end_matches('/');
        let full = if base.ends_with(ALERTMANAGER_PATH) {
            base.to_owned()
        } else {
            format!("{base}{ALERTMANAGER_PATH}")
        };
        Ok(Sink {
            kind: SinkKind::Alertmanager,
            url: http_url(&full)?,
        })
    }

    pub fn kind(&self) -> SinkKind {
        self.kind
    }

    /// What the outbox files this sink's rows under: stable across restarts while the
    /// configuration keeps the sink, and without its secrets: the [`Sink::label`] and a
    /// hash of the whole URL (which tells apart two sinks on one host).
    pub fn id(&self) -> String {
        format!(
            "{} {:016x}",
            self.label(),
            fnv1a(self.url.as_str().as_bytes())
        )
    }

    /// The id an older version filed this sink's rows under: its URL in the clear.
    fn legacy_id(&self) -> String {
        format!("{} {}", self.kind_name(), self.url)
    }

    /// The sink as logs show it: scheme, host and port only, since chat webhooks carry
    /// their secret in the path.
    pub fn label(&self) -> String {
        format!(
            "{} {}",
            self.kind_name(),
            self.url.origin().ascii_serialization()
        )
    }

    /// The kind as ids and logs name it.
    fn kind_name(&self) -> &'static str {
        match self.kind {
            SinkKind::Webhook => "webhook",
            SinkKind::Alertmanager => "alertmanager",
        }
    }
}

/// 64-bit FNV-1a: a hash that stays the same across builds and Rust versions (the std one
/// may not), so a sink keeps its id.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Parses `url`, accepting only http and https.
fn http_url(url: &str) -> Result<Url, SinkError> {
    Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| SinkError::BadUrl {
            url: url.to_owned(),
        })
}

/// How the sinks behave; [`Default`] is what `watch` uses, tests shorten the times.
#[derive(Clone, Debug)]
pub struct SinkOptions {
    /// Alertmanager's `instance` label: this host.
    pub instance: String,
    /// Alertmanager's `generatorURL`: the dashboard, when it is reachable from there.
    pub generator_url: Option<String>,
    /// The wait after the first failed attempt; it doubles with each further one…
    pub first_retry: Duration,
    /// …up to this.
    pub max_retry: Duration,
    /// How often firing alerts are re-sent to Alertmanager (well within its 5 min
    /// resolve_timeout); also how often an idle sink looks at the outbox unasked.
    pub resend_every: Duration,
    /// The limit on each request, connecting included.
    pub timeout: Duration,
}

impl Default for SinkOptions {
    fn default() -> SinkOptions {
        SinkOptions {
            instance: host_name(),
            generator_url: None,
            first_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(300),
            resend_every: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
        }
    }
}

/// This machine's name, for the `instance` label (`localhost` if it cannot be read).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The running sink tasks. Dropping this stops them too, between two deliveries.
pub struct Sinks {
    /// Sent `false` (unchanged) to wake the tasks, `true` to stop them.
    signal: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// Each sink's id and its rows the store could not take.
    unstored: Vec<(String, Unstored)>,
    /// The id the next unstored row gets: negative, so no stored row has it.
    next_unstored_id: i64,
}

/// A sink's notifications waiting in memory.
type Unstored = Arc<Mutex<Queue>>;

/// Notifications waiting in memory, oldest first, as outbox rows (with negative ids).
#[derive(Debug, Default)]
struct Queue {
    rows: VecDeque<OutboxRow>,
    /// The first row is being sent: it stays here until the attempt is settled.
    in_flight: bool,
}

impl Sinks {
    /// Starts one task per sink on the current tokio runtime, each with its own connection
    /// to the state file at `db`. Outbox rows of sinks no longer configured are dropped
    /// (logged), else they would wait forever.
    pub fn start(db: &Path, sinks: &[Sink], options: SinkOptions) -> Result<Sinks, SinkError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| SinkError::NoRuntime)?;
        let ids: Vec<String> = sinks.iter().map(Sink::id).collect();
        let mut store = Store::open(db)?;
        for sink in sinks {
            store.rename_sink(&sink.legacy_id(), &sink.id())?;
        }
        let dropped = store.retain_sinks(&ids)?;
        if dropped > 0 {
            eprintln!(
                "fivehundred: warning: dropped {dropped} queued alerts for sinks no longer configured"
            );
        }
        let client = crate::tls::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .build()?;
        let options = Arc::new(options);
        let (signal, _) = watch::channel(false);
        let mut tasks = Vec::new();
        let mut unstored = Vec::new();
        for sink in sinks {
            let queue = Unstored::default();
            unstored.push((sink.id(), Arc::clone(&queue)));
            let delivery = Delivery {
                unstored: queue,
                unrecorded: Vec::new(),
                id: sink.id(),
                label: sink.label(),
                sink: sink.clone(),
                store: Arc::new(Mutex::new(Store::open(db)?)),
                client: client.clone(),
                options: Arc::clone(&options),
                signal: signal.subscribe(),
            };
            tasks.push(runtime.spawn(delivery.run()));
        }
        Ok(Sinks {
            signal,
            tasks,
            unstored,
            next_unstored_id: -1,
        })
    }

    /// Tells the tasks new rows are in the outbox (after [`Store::apply`]).
    pub fn wake(&self) {
        self.signal.send_modify(|_| {});
    }

    /// Queues `notes` for every sink in memory, when the store could not take them: sent
    /// after the stored rows. Lost if `watch` stops first, but then the store's checkpoint
    /// is from before the lines that raised them, which the next start reads again.
    pub fn send_unstored(&mut self, notes: &[Notification]) {
        for note in notes {
            let body = match serde_json::to_string(note) {
                Ok(body) => body,
                Err(e) => {
                    eprintln!("fivehundred: warning: alert {} not sent: {e}", note.key());
                    continue;
                }
            };
            for (sink, queue) in &self.unstored {
                lock(queue).rows.push_back(OutboxRow {
                    id: self.next_unstored_id,
                    sink: sink.clone(),
                    key: note.key(),
                    firing: note.status == AlertStatus::Firing,
                    body: body.clone(),
                    attempts: 0,
                    next_attempt_ms: 0,
                });
                self.next_unstored_id -= 1;
            }
        }
        self.wake();
    }

    /// Stops the tasks and waits for them: a request in flight is finished and recorded
    /// first, so a restart sends nothing twice.
    ///
    /// Rows still in memory then (the store never took them) are said: the next start
    /// raises them again from the lines it reads again.
    pub async fn stop(self) {
        self.signal.send_replace(true);
        for task in self.tasks {
            if let Err(e) = task.await {
                eprintln!("fivehundred: warning: alert sink task failed: {e}");
            }
        }
        let left: usize = self.unstored.iter().map(|(_, q)| lock(q).rows.len()).sum();
        if left > 0 {
            eprintln!(
                "fivehundred: warning: {left} alert deliveries held in memory were not made; the next start raises those alerts again"
            );
        }
    }
}

impl Unsent for Sinks {
    /// Every sink's queue at once (locked together, so no task starts an attempt halfway),
    /// unless one has a row in flight.
    fn take(&mut self) -> Option<Vec<OutboxRow>> {
        let mut queues: Vec<_> = self.unstored.iter().map(|(_, q)| lock(q)).collect();
        if queues.iter().any(|q| q.in_flight) {
            return None;
        }
        Some(queues.iter_mut().flat_map(|q| q.rows.drain(..)).collect())
    }

    fn put_back(&mut self, rows: Vec<OutboxRow>) {
        for (sink, queue) in &self.unstored {
            let mut queue = lock(queue);
            for row in rows.iter().rev().filter(|row| &row.sink == sink) {
                queue.rows.push_front(row.clone());
            }
        }
    }
}

/// What one attempt at a request came to.
#[derive(Debug, PartialEq)]
enum Outcome {
    Delivered,
    /// Worth retrying: no connection, a timeout, 3xx, 5xx, 408, 429.
    Failed(String),
    /// Never worth retrying: another 4xx, or a row that cannot be sent.
    Refused(String),
}

/// Tells what an answer means for the row: its status, and for a redirect its `Location`
/// (resolved against `url`, the one posted to), which the warning names.
fn outcome(status: StatusCode, location: Option<&[u8]>, url: &Url) -> Outcome {
    if status.is_success() {
        Outcome::Delivered
    } else if status.is_redirection() {
        let target = location.map_or_else(|| "nowhere".to_owned(), |l| redirect_target(l, url));
        Outcome::Failed(format!(
            "answered {status}, a redirect to {target}, not followed: fix the URL"
        ))
    } else if status.is_client_error()
        && status != StatusCode::REQUEST_TIMEOUT
        && status != StatusCode::TOO_MANY_REQUESTS
    {
        Outcome::Refused(format!("answered {status}"))
    } else {
        Outcome::Failed(format!("answered {status}"))
    }
}

/// A redirect's `Location` as a warning shows it: resolved against `base`, without a password
/// or query (they may hold a token); text that is no URL is quoted with control characters
/// escaped, so it cannot drive the terminal.
fn redirect_target(location: &[u8], base: &Url) -> String {
    let text = String::from_utf8_lossy(location);
    let Ok(mut url) = base.join(&text) else {
        return format!("{:?}", text.chars().take(200).collect::<String>());
    };
    // Both fail only for URLs that cannot have them, which then have none to hide.
    let _ = url.set_password(None);
    if url.query().is_some() {
        url.set_query(Some("..."));
    }
    url.to_string()
}

/// The wait after `attempts` failed attempts: `first` doubled each time, at most `max`.
fn backoff(first: Duration, max: Duration, attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(31);
    first.saturating_mul(1 << doublings).min(max)
}

/// An outbox row as logs show it: `error_spike/spike (firing)`.
fn describe(row: &OutboxRow) -> String {
    let status = if row.firing { "firing" } else { "resolved" };
    format!("{} ({status})", row.key.trim_end_matches('/'))
}

/// An error and its sources on one line: reqwest's own message alone ("error sending
/// request") does not say what went wrong.
fn causes(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        line.push_str(": ");
        line.push_str(&s.to_string());
        source = s.source();
    }
    line
}

/// Wall-clock milliseconds since the epoch (the outbox's retry times survive restarts).
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// One sink's delivery loop.
struct Delivery {
    sink: Sink,
    id: String,
    label: String,
    store: Arc<Mutex<Store>>,
    /// Rows the store could not take, sent after its own.
    unstored: Unstored,
    /// Stored rows done with (delivered: true, or refused) whose removal the store did not
    /// take (a full disk): never sent again, recorded once it does.
    unrecorded: Vec<(OutboxRow, bool)>,
    client: reqwest::Client,
    options: Arc<SinkOptions>,
    signal: watch::Receiver<bool>,
}

/// A lock still usable after a panic elsewhere: a queue of whole rows.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Delivery {
    /// Delivers until told to stop: each turn sends the oldest due row, or waits for one.
    async fn run(mut self) {
        // Firing alerts are re-sent at once after a start: Alertmanager may have let them
        // expire while `watch` was down.
        let mut resend_at = Instant::now();
        loop {
            if *self.signal.borrow_and_update() {
                return;
            }
            let wait = self.turn(&mut resend_at).await;
            if let Some(wait) = wait {
                tokio::select! {
                    // A wake or a stop; a closed channel (Sinks dropped) means stop.
                    changed = self.signal.changed() => if changed.is_err() { return },
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
    }

    /// Sends the oldest row if it is due; gives how long to wait before the next turn
    /// (`None`: go on at once).
    async fn turn(&mut self, resend_at: &mut Instant) -> Option<Duration> {
        self.record_unrecorded().await;
        let id = self.id.clone();
        let done: Vec<i64> = self.unrecorded.iter().map(|(row, _)| row.id).collect();
        let limit = done.len() + 1;
        let head = match self.with_store(move |s| s.pending(&id, limit)).await {
            Ok(rows) => rows
                .into_iter()
                .find(|row| !done.contains(&row.id))
                .or_else(|| lock(&self.unstored).rows.front().cloned()),
            Err(e) => {
                eprintln!(
                    "fivehundred: warning: {}: reading the outbox: {e}",
                    self.label
                );
                return Some(self.options.first_retry);
            }
        };
        let Some(row) = head else {
            return Some(self.idle(resend_at).await);
        };
        let due_in = row.next_attempt_ms.saturating_sub(now_ms());
        if due_in > 0 {
            // Capped, so a wall clock set back does not hold the row for long.
            let wait = Duration::from_millis(due_in.unsigned_abs());
            return Some(wait.min(self.options.max_retry));
        }
        if row.id < 0 && !self.begin_unstored(row.id) {
            // Moved into the store meanwhile: read the outbox again.
            return None;
        }
        self.deliver(row).await
    }

    /// Nothing queued: re-sends Alertmanager's firing alerts when due; gives the wait until
    /// the next re-send (or outbox look).
    async fn idle(&mut self, resend_at: &mut Instant) -> Duration {
        let now = Instant::now();
        if self.sink.kind == SinkKind::Alertmanager && now >= *resend_at {
            self.resend_firing().await;
        }
        if now >= *resend_at {
            *resend_at = now + self.options.resend_every;
        }
        resend_at.saturating_duration_since(now)
    }

    /// Posts every firing alert again (one request); a failure is logged and left to the
    /// next re-send.
    async fn resend_firing(&mut self) {
        let id = self.id.clone();
        let firing = match self.with_store(move |s| s.firing(&id)).await {
            Ok(f) => f,
            Err(e) => {
                eprintln!(
                    "fivehundred: warning: {}: reading firing alerts: {e}",
                    self.label
                );
                return;
            }
        };
        if firing.is_empty() {
            return;
        }
        let alerts: Result<Vec<PostableAlert>, String> = firing
            .values()
            .map(|body| PostableAlert::new(body, true, None, &self.options))
            .collect();
        let outcome = match alerts {
            Ok(alerts) => self.post(&alerts).await,
            Err(why) => Outcome::Refused(why),
        };
        if outcome != Outcome::Delivered {
            eprintln!(
                "fivehundred: warning: {}: re-sending {} firing alerts: {outcome:?}",
                self.label,
                firing.len()
            );
        }
    }

    /// One attempt at `row`, recorded in the store: delivered or refused rows leave the
    /// outbox; a failed one waits its backoff.
    async fn deliver(&mut self, row: OutboxRow) -> Option<Duration> {
        let outcome = match self.sink.kind {
            SinkKind::Webhook => self.post_body(row.body.clone()).await,
            SinkKind::Alertmanager => self.post_to_alertmanager(&row).await,
        };
        let (delivered, retry) = match outcome {
            Outcome::Delivered => (true, None),
            Outcome::Refused(why) => {
                eprintln!(
                    "fivehundred: warning: {}: dropped alert {} ({why})",
                    self.label,
                    describe(&row)
                );
                (false, None)
            }
            Outcome::Failed(why) => {
                let attempts = row.attempts.saturating_add(1);
                let wait = backoff(self.options.first_retry, self.options.max_retry, attempts);
                eprintln!(
                    "fivehundred: warning: {}: alert {} not delivered ({why}); attempt {attempts}, next in {wait:?}",
                    self.label,
                    describe(&row)
                );
                (false, Some(wait))
            }
        };
        if row.id < 0 {
            self.settle_unstored(row, delivered, retry).await;
            return retry;
        }
        let Some(wait) = retry else {
            let done = row.clone();
            if let Err(e) = self.with_store(move |s| s.finish(&done, delivered)).await {
                eprintln!(
                    "fivehundred: warning: {}: recording alert {}: {e}; it is not sent again, and recorded once the store takes it",
                    self.label,
                    describe(&row)
                );
                self.unrecorded.push((row, delivered));
            }
            return None;
        };
        let at = now_ms().saturating_add(i64::try_from(wait.as_millis()).unwrap_or(0));
        if let Err(e) = self.with_store(move |s| s.postpone(&row, at)).await {
            eprintln!(
                "fivehundred: warning: {}: recording a failed attempt: {e}",
                self.label
            );
        }
        Some(wait)
    }

    /// Records the rows done with that the store did not take before; keeps those it still
    /// does not.
    async fn record_unrecorded(&mut self) {
        if self.unrecorded.is_empty() {
            return;
        }
        let rows = std::mem::take(&mut self.unrecorded);
        let left = self
            .with_store(move |s| {
                Ok(rows
                    .into_iter()
                    .filter(|(row, delivered)| s.finish(row, *delivered).is_err())
                    .collect())
            })
            .await;
        match left {
            Ok(left) => self.unrecorded = left,
            Err(e) => eprintln!(
                "fivehundred: warning: {}: recording deliveries: {e} (those alerts may be sent again)",
                self.label
            ),
        }
    }

    /// Marks the unstored row `id` in flight, if it is still the head of the queue (a
    /// catch-up may have moved it into the store since it was looked at): a catch-up then
    /// waits for [`Delivery::settle_unstored`].
    fn begin_unstored(&self, id: i64) -> bool {
        let mut queue = lock(&self.unstored);
        let head = queue.rows.front().is_some_and(|row| row.id == id);
        queue.in_flight = head;
        head
    }

    /// Records an attempt at an unstored row (the head of the queue, in flight): a failed
    /// one waits its backoff in the queue; one done with leaves it, and its firing state goes
    /// to the store if that takes it now.
    async fn settle_unstored(&mut self, row: OutboxRow, delivered: bool, retry: Option<Duration>) {
        {
            let mut queue = lock(&self.unstored);
            queue.in_flight = false;
            if let Some(wait) = retry {
                if let Some(head) = queue.rows.front_mut() {
                    head.attempts = head.attempts.saturating_add(1);
                    head.next_attempt_ms =
                        now_ms().saturating_add(i64::try_from(wait.as_millis()).unwrap_or(0));
                }
                return;
            }
            queue.rows.pop_front();
        }
        let what = describe(&row);
        if let Err(e) = self.with_store(move |s| s.finish(&row, delivered)).await {
            eprintln!(
                "fivehundred: warning: {}: alert {what} sent, but not recorded as firing: {e}",
                self.label
            );
        }
    }

    /// Sends `row` to Alertmanager; a resolution starts when its firing started.
    async fn post_to_alertmanager(&mut self, row: &OutboxRow) -> Outcome {
        let started = if row.firing {
            None
        } else {
            let (id, key) = (self.id.clone(), row.key.clone());
            match self.with_store(move |s| s.firing(&id)).await {
                Ok(mut firing) => firing.remove(&key),
                Err(e) => return Outcome::Failed(format!("reading firing alerts: {e}")),
            }
        };
        match PostableAlert::new(&row.body, row.firing, started.as_deref(), &self.options) {
            Ok(alert) => self.post(&[alert]).await,
            Err(why) => Outcome::Refused(why),
        }
    }

    /// POSTs `value` as JSON.
    async fn post(&self, value: &impl Serialize) -> Outcome {
        match serde_json::to_string(value) {
            Ok(body) => self.post_body(body).await,
            Err(e) => Outcome::Refused(format!("cannot encode: {e}")),
        }
    }

    /// POSTs a JSON body to the sink's URL.
    async fn post_body(&self, body: String) -> Outcome {
        let sent = self
            .client
            .post(self.sink.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        match sent {
            Ok(answer) => {
                let location = answer.headers().get(LOCATION).map(|v| v.as_bytes());
                outcome(answer.status(), location, &self.sink.url)
            }
            // Without the URL: it may carry a secret.
            Err(e) => Outcome::Failed(causes(&e.without_url())),
        }
    }

    /// Runs `f` on this sink's store connection off the async threads (a commit fsyncs).
    async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, SinkError> {
        let store = Arc::clone(&self.store);
        let result = tokio::task::spawn_blocking(move || {
            let mut store = store.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut store)
        })
        .await;
        match result {
            Ok(r) => Ok(r?),
            Err(e) => Err(SinkError::Task(e.to_string())),
        }
    }
}

/// The fields of a stored notification Alertmanager needs (the rest is ignored).
#[derive(Deserialize)]
struct Stored {
    alert: String,
    severity: String,
    summary: String,
    incident: Option<LiveIncident>,
    at: String,
    rule: Option<String>,
}

/// One alert in Alertmanager's v2 API shape (`postableAlert` in its OpenAPI spec).
#[derive(Debug, PartialEq, Serialize)]
struct PostableAlert {
    labels: BTreeMap<&'static str, String>,
    annotations: BTreeMap<&'static str, String>,
    #[serde(rename = "startsAt")]
    starts_at: String,
    /// Set for a resolution only: a firing alert has none, and Alertmanager keeps it active
    /// for its resolve_timeout after each post.
    #[serde(rename = "endsAt", skip_serializing_if = "Option::is_none")]
    ends_at: Option<String>,
    #[serde(rename = "generatorURL", skip_serializing_if = "Option::is_none")]
    generator_url: Option<String>,
}

impl PostableAlert {
    /// The alert for the notification JSON `body`: firing, or resolved at its `at` (started
    /// at `started`, its firing's JSON, when known). The labels are what identifies the
    /// alert to Alertmanager, as [`super::live::Notification::key`] does here.
    fn new(
        body: &str,
        firing: bool,
        started: Option<&str>,
        options: &SinkOptions,
    ) -> Result<PostableAlert, String> {
        let note: Stored =
            serde_json::from_str(body).map_err(|e| format!("unreadable notification: {e}"))?;
        let started_at = match started {
            Some(firing) => {
                serde_json::from_str::<Stored>(firing)
                    .map_err(|e| format!("unreadable notification: {e}"))?
                    .at
            }
            None => note.at.clone(),
        };
        let mut labels = BTreeMap::from([
            ("alertname", note.alert),
            ("severity", note.severity),
            ("instance", options.instance.clone()),
        ]);
        labels.extend(note.rule.map(|r| ("rule", r)));
        let mut annotations = BTreeMap::from([("summary", note.summary)]);
        if let Some(i) = note.incident {
            labels.insert("cause", i.cause);
            annotations.insert("description", format!("{}. Fix: {}", i.title, i.fix));
        }
        Ok(PostableAlert {
            labels,
            annotations,
            starts_at: started_at,
            ends_at: (!firing).then_some(note.at),
            generator_url: options.generator_url.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::Stamp;
    use crate::watch::detect::{Alert, AlertStatus};
    use crate::watch::live::{IncidentState, Notification};

    fn options() -> SinkOptions {
        SinkOptions {
            instance: "web1".to_owned(),
            generator_url: Some("http://web1:9500/".to_owned()),
            ..SinkOptions::default()
        }
    }

    fn note(status: AlertStatus, secs: i64, incident: Option<LiveIncident>) -> String {
        let alert = Alert {
            alert: "new_cause",
            status,
            severity: "warning",
            rule: None,
            cause: Some("php_memory_limit"),
            summary: "new cause of 5xx: php_memory_limit".to_owned(),
            at: Stamp {
                ms: secs * 1000,
                offset: 3600,
            },
        };
        serde_json::to_string(&Notification::new(&alert, incident)).unwrap()
    }

    fn incident() -> LiveIncident {
        LiveIncident {
            id: 7,
            state: IncidentState::Open,
            cause: "php_memory_limit".to_owned(),
            status: BTreeMap::from([("500".to_owned(), 3)]),
            count: 3,
            first_seen: None,
            last_seen: None,
            paths: vec!["/report.php".to_owned()],
            file: None,
            line: None,
            language: None,
            exception: None,
            evidence: vec![],
            fix: "raise memory_limit".to_owned(),
            title: "PHP memory limit exhausted".to_owned(),
            host: None,
        }
    }

    #[test]
    fn alertmanager_shape_of_a_firing_and_its_resolution() {
        let firing = note(AlertStatus::Firing, 0, Some(incident()));
        let a = PostableAlert::new(&firing, true, None, &options()).unwrap();
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            serde_json::json!({
                "labels": {"alertname": "new_cause", "severity": "warning",
                           "cause": "php_memory_limit", "instance": "web1"},
                "annotations": {"summary": "new cause of 5xx: php_memory_limit",
                                "description": "PHP memory limit exhausted. Fix: raise memory_limit"},
                "startsAt": "1970-01-01T01:00:00+01:00",
                "generatorURL": "http://web1:9500/"
            })
        );
        let resolved = note(AlertStatus::Resolved, 60, Some(incident()));
        let r = PostableAlert::new(&resolved, false, Some(&firing), &options()).unwrap();
        assert_eq!(r.labels, a.labels, "the same alert to Alertmanager");
        assert_eq!(r.starts_at, "1970-01-01T01:00:00+01:00");
        assert_eq!(r.ends_at.as_deref(), Some("1970-01-01T01:01:00+01:00"));
        // Without its firing (refused earlier), it starts when it ends: still valid.
        let alone = PostableAlert::new(&resolved, false, None, &options()).unwrap();
        assert_eq!(Some(alone.starts_at), alone.ends_at);
    }

    #[test]
    fn unreadable_rows_are_refused_not_retried() {
        assert!(PostableAlert::new("{", true, None, &options()).is_err());
    }

    #[test]
    fn which_answers_are_retried() {
        let url = Url::parse("http://127.0.0.1:9/hook").unwrap();
        let outcome = |code: u16| outcome(StatusCode::from_u16(code).unwrap(), None, &url);
        assert_eq!(outcome(200), Outcome::Delivered);
        assert_eq!(outcome(202), Outcome::Delivered);
        for retried in [500, 502, 503, 408, 429, 301, 302, 303, 307, 308] {
            assert!(matches!(outcome(retried), Outcome::Failed(_)), "{retried}");
        }
        for refused in [400, 401, 404, 410, 422] {
            assert!(matches!(outcome(refused), Outcome::Refused(_)), "{refused}");
        }
    }

    #[test]
    fn a_redirect_is_named_without_secrets_or_control_characters() {
        let url = Url::parse("http://127.0.0.1:9/hook?token=t").unwrap();
        let named = |location: &[u8]| match outcome(StatusCode::FOUND, Some(location), &url) {
            Outcome::Failed(why) => why,
            other => panic!("{other:?}"),
        };
        let why = named(b"https://u:pw@hooks.example.com/in?token=abc");
        assert!(why.contains("302 Found"), "{why}");
        assert!(why.contains("https://u@hooks.example.com/in?..."), "{why}");
        assert!(named(b"/elsewhere").contains("http://127.0.0.1:9/elsewhere"));
        let why = named(b"http://[\x1b]2;owned\x07");
        assert!(!why.contains('\x1b') && !why.contains('\x07'), "{why:?}");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let (first, max) = (Duration::from_secs(1), Duration::from_secs(300));
        let waits: Vec<u64> = (1..=11).map(|n| backoff(first, max, n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(backoff(first, max, u32::MAX), max);
    }

    #[test]
    fn urls() {
        let am = Sink::alertmanager("http://127.0.0.1:9093/").unwrap();
        assert_eq!(am.url.as_str(), "http://127.0.0.1:9093/api/v2/alerts");
        assert_eq!(
            Sink::alertmanager("http://am:9093/api/v2/alerts")
                .unwrap()
                .url,
            am.url.join("//am:9093/api/v2/alerts").unwrap()
        );
        let hook = Sink::webhook("https://hooks.example.com/services/T0/B0/secret").unwrap();
        assert_eq!(hook.label(), "webhook https://hooks.example.com");
        let other = Sink::webhook("https://hooks.example.com/services/T0/B0/other").unwrap();
        assert_ne!(hook.id(), other.id(), "ids tell sinks apart");
        assert!(!hook.id().contains("secret"), "{}", hook.id());
        assert_eq!(
            hook.id(),
            "webhook https://hooks.example.com dc2c0d2db0fd152b",
            "stable across builds"
        );
        assert!(Sink::webhook("ftp://example.com/").is_err());
        assert!(Sink::webhook("not a url").is_err());
    }
}
