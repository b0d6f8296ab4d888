//! `watch`'s live pipeline: whole lines from the tailer in; counters, incidents and alerts
//! out, in batches the store applies in one transaction with the tail checkpoint.
//!
//! It reuses `diagnose` as it is: lines are parsed by the same format code, and every tick
//! the 5xx responses that have settled (long enough for the error-log lines about them to have
//! been written) are explained together with the recent error records, by the same matcher
//! and rule table. The incidents that gives are merged into live ones by cause and place: an
//! incident is open while its responses keep coming and resolves after [`QUIET_MS`] without
//! one.
//!
//! A file's format is decided by the first line some format reads, together with the lines
//! after it in the same read (blank lines, a banner or garbage before it decide nothing and
//! are counted unparsed), and decided anew:
//! 1. in an access log, at a line of another access format (a reload with a new `log_format`);
//! 2. in an error log, at a line that continues no record and another format reads, or that
//!    would continue one (error records take any line that starts none: stack traces) and an
//!    access format reads (a PHP notice ahead of an access log);
//! 3. when the tailer reads the file from its start again (truncated and rewritten).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::detect::{Alert, AlertStatus, DetectConfig, Detector};
use super::live::{Counters, Failing, History, IncidentState, LiveIncident, Notification, Series};
use crate::diagnose::rules::Rules;
use crate::diagnose::{self, Incident};
use crate::formats::access::{AccessFormat, FormatDirective};
use crate::formats::detect::{Detected, ErrorFormat, detect};
use crate::formats::envelope::{Envelope, Unwrapper};
use crate::formats::time::ClfClock;
use crate::formats::{ErrorEvent, Kind, Stamp, clean_text};
use crate::read;
use crate::scan::{
    Client, ErrorRecords, InputReport, LineFate, OwnReason, Response, Responses, Scan, Strings,
};
use crate::seo::crawlers::Crawlers;

/// How long a 5xx waits before it is explained: the error-log lines about a request may be
/// written (or read by the tailer) a moment after its access line.
const SETTLE: Duration = Duration::from_millis(1500);
/// Most 5xx held unexplained while history is read ([`Pipeline::catch_up`]).
const MAX_HELD: usize = 100_000;
/// An incident with no new response for this long (log time) is resolved.
pub const QUIET_MS: i64 = 5 * 60_000;
/// Error records kept for explaining responses: this far back from the oldest waiting 5xx...
const ERROR_WINDOW_MS: i64 = 5 * 60_000;
/// ...and at most this many (a flood of error lines must not grow memory without bound).
const MAX_ERRORS: usize = 200_000;
/// An error record still waiting for continuation lines is complete after this long.
const RECORD_IDLE: Duration = Duration::from_secs(1);
/// Alerts about windows that ended longer ago than this are history, not news: they change
/// state but are not sent (a first start reads the logs from their beginning).
const NEWS_MS: i64 = 5 * 60_000;
/// Most paths and evidence lines kept per live incident, as in `diagnose`.
const MAX_PATHS: usize = 20;
const MAX_EVIDENCE: usize = 5;
/// Finds `/robots.txt` in a line; built once (building it per line cost 3% of ingest).
static ROBOTS_TXT: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"/robots.txt"));

/// How many lines decide a file's format: the first line some format reads and those after
/// it in the same read.
const SAMPLE_LINES: usize = 64;

/// What the pipeline is told.
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    /// The zone of logs that write none.
    pub tz: TimeZone,
    pub access_format: Option<AccessFormat>,
    pub detect: DetectConfig,
}

/// What a tick produced, for the store to apply with the checkpoint in one transaction.
#[derive(Debug, Default)]
pub struct Batch {
    /// Counts to add.
    pub counters: Counters,
    /// Incidents that opened, grew or resolved: their whole new state.
    pub incidents: Vec<LiveIncident>,
    /// Causes seen, with the log time (ms), for `new_cause` across restarts.
    pub causes: BTreeMap<String, i64>,
    /// Alerts to send.
    pub notifications: Vec<Notification>,
    /// Counts to add to the by-minute history: responses by status class as their lines are
    /// read, 5xx by cause as they are explained.
    pub history: History,
    /// 5xx by path, host and crawler to add, and the span of the lines read.
    pub failing: Failing,
    /// The tailer's position after the lines counted.
    pub checkpoint: Option<Vec<u8>>,
}

/// A firing alert as kept across restarts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FiringState {
    pub alert: String,
    pub rule: Option<String>,
    pub cause: Option<String>,
    pub severity: String,
    pub summary: String,
    pub at_ms: i64,
    pub offset: i32,
    /// Whether its firing was sent (it was news). A resolution is sent only for a firing
    /// that was; a state written before this field existed counts as sent.
    #[serde(default = "sent_by_default")]
    pub sent: bool,
}

fn sent_by_default() -> bool {
    true
}

impl FiringState {
    fn of(a: &Alert, sent: bool) -> FiringState {
        FiringState {
            alert: a.alert.to_owned(),
            rule: a.rule.map(str::to_owned),
            cause: a.cause.map(str::to_owned),
            severity: a.severity.to_owned(),
            summary: a.summary.clone(),
            at_ms: a.at.ms,
            offset: a.at.offset,
            sent,
        }
    }

    /// The alert, with the names this build knows (a state from another version may name
    /// ones it does not: those are dropped).
    fn to_alert(&self, rules: &'static Rules) -> Option<Alert> {
        let known = |name: &str, list: &[&'static str]| list.iter().copied().find(|n| *n == name);
        Some(Alert {
            alert: known(&self.alert, &["robots_txt_5xx", "error_spike", "new_cause"])?,
            status: AlertStatus::Firing,
            severity: known(&self.severity, &["critical", "warning"])?,
            rule: match &self.rule {
                Some(r) => Some(known(r, &["spike", "slo_burn"])?),
                None => None,
            },
            cause: match &self.cause {
                Some(c) => Some(rules.cause_id(c)?),
                None => None,
            },
            summary: self.summary.clone(),
            at: Stamp {
                ms: self.at_ms,
                offset: self.offset,
            },
        })
    }
}

/// What tells alerts apart: name, rule and cause.
type AlertKey = (&'static str, Option<&'static str>, Option<&'static str>);

fn key_of(a: &Alert) -> AlertKey {
    (a.alert, a.rule, a.cause)
}

/// How a followed file is read.
enum Reader {
    /// No line of it was read as a log yet (or it started over): the first line that some
    /// format reads decides. Lines before it (blank, a banner, garbage) decide nothing.
    Detecting,
    Access(AccessFormat, ClfClock),
    Error(ErrorRecords, Option<Instant>),
}

/// Whether a followed file's lines are in an envelope.
enum Wrapping {
    /// Not decided yet: its first bytes decide (and again when it is read from its start).
    Undecided,
    Plain,
    Wrapped(Unwrapper),
}

/// One followed file.
struct Input {
    name: String,
    kind: Kind,
    format: &'static str,
    wrapping: Wrapping,
    reader: Reader,
    /// Lines read (also placing a 5xx among the responses logged in the same second).
    lines: u64,
    unparsed: u64,
    /// The time of its last timed error record: what a record with no time of its own read
    /// from history is placed by.
    last_time: Option<Stamp>,
    /// Records read from history with no time of their own and none before them.
    untimed: u64,
}

/// A 5xx waiting to be explained.
struct Waiting {
    arrived: Instant,
    time: Stamp,
    status: u16,
    input: usize,
    place: u64,
    client: String,
    path: String,
    vhost: Option<String>,
    /// The line's own reason for failing and the line, where its format writes one.
    reason: Option<(String, String)>,
    /// The request's id, where the format logs one.
    request_id: Option<String>,
}

/// What tells live incidents apart: cause, host, file and line (`diagnose`'s (host, cause,
/// place)).
type OpenKey = (String, Option<String>, Option<String>, Option<u64>);

/// A live incident and what merging needs.
struct Open {
    incident: LiveIncident,
    first_ms: i64,
    last_ms: i64,
    paths: BTreeMap<String, u64>,
}

/// The live pipeline.
pub struct Pipeline {
    config: PipelineConfig,
    rules: &'static Rules,
    inputs: Vec<Input>,
    by_key: HashMap<String, usize>,
    detector: Detector,
    waiting: Vec<Waiting>,
    errors: VecDeque<ErrorEvent>,
    /// Open incidents by cause, host, file and line.
    open: HashMap<OpenKey, Open>,
    next_id: i64,
    batch: Batch,
    /// The newest log time seen (for the clock to move on from).
    newest: Option<Stamp>,
    /// The alerts firing now, as they fired.
    firing: Vec<Alert>,
    /// Those of them whose firing was history, not sent: their resolution is not sent either.
    unsent: HashSet<AlertKey>,
    /// Per-line counts since the last batch, in arrays: a map entry per line would cost
    /// more than parsing it.
    tally: LineTally,
    /// Tells which crawler a 5xx went to, by its user agent.
    crawlers: Crawlers,
    /// Whether the logs were read up to now at the last step: lines read since are live.
    live: bool,
    /// When history was last read ([`Pipeline::catch_up`], or the tick that ends it): the 5xx
    /// held until then settle from that moment, giving the last error record read its time
    /// to complete.
    caught_up: Option<Instant>,
}

/// Responses by status and lines by kind and result, counted flat.
struct LineTally {
    responses: Box<[u64; 1000]>,
    /// By [`KINDS`] index: (parsed, unparsed).
    lines: [(u64, u64); KINDS.len()],
    /// Responses by minute and status class (first digit), one entry per run of lines in
    /// the same minute: logs are written in time order, so this is mostly one entry.
    minutes: Vec<(Stamp, [u64; 10])>,
}

/// The input kinds, in the order [`LineTally`] counts them.
const KINDS: [Kind; 6] = [
    Kind::Access,
    Kind::Error,
    Kind::PhpFpm,
    Kind::PhpError,
    Kind::App,
    Kind::Unknown,
];

impl Default for LineTally {
    fn default() -> Self {
        LineTally {
            responses: Box::new([0; 1000]),
            lines: [(0, 0); KINDS.len()],
            minutes: Vec::new(),
        }
    }
}

impl LineTally {
    fn line(&mut self, kind: Kind, parsed: bool) {
        let i = KINDS
            .iter()
            .position(|k| *k == kind)
            .unwrap_or(KINDS.len() - 1);
        let slot = &mut self.lines[i];
        if parsed {
            slot.0 += 1;
        } else {
            slot.1 += 1;
        }
    }

    /// Counts a response in its minute's status class.
    fn minute(&mut self, time: Stamp, status: u16) {
        let minute = time.ms.div_euclid(60_000);
        let class = usize::from(status / 100 % 10);
        match self.minutes.last_mut() {
            Some((at, classes)) if at.ms.div_euclid(60_000) == minute => classes[class] += 1,
            _ => {
                let mut classes = [0; 10];
                classes[class] = 1;
                self.minutes.push((time, classes));
            }
        }
    }

    /// Moves the counts into `counters` and `history`, leaving zeros.
    fn add_to(&mut self, counters: &mut Counters, history: &mut History) {
        for (at, classes) in self.minutes.drain(..) {
            for (digit, n) in (0u8..).zip(classes).filter(|(_, n)| *n > 0) {
                history.count(at, Series::Class(digit), n);
            }
        }
        for (status, n) in self
            .responses
            .iter_mut()
            .enumerate()
            .filter(|(_, n)| **n > 0)
        {
            *counters.responses.entry(status as u16).or_default() += std::mem::take(n);
        }
        for (kind, (parsed, unparsed)) in KINDS.iter().zip(self.lines.iter_mut()) {
            for (result, n) in [("parsed", parsed), ("unparsed", unparsed)] {
                if *n > 0 {
                    let key = (kind_name(*kind).to_owned(), result.to_owned());
                    *counters.lines.entry(key).or_default() += std::mem::take(n);
                }
            }
        }
    }
}

impl Pipeline {
    /// A pipeline whose incident ids continue from `next_id`, with the causes seen before a
    /// restart (cause, ms) and the incidents still open then.
    pub fn new(
        config: PipelineConfig,
        next_id: i64,
        causes_seen: &[(String, i64)],
        open: Vec<LiveIncident>,
    ) -> Pipeline {
        let mut detector = Detector::new(config.detect);
        let rules = Rules::builtin();
        for (cause, ms) in causes_seen {
            if let Some(id) = rules.cause_id(cause) {
                detector.remember_cause(id, *ms);
            }
        }
        let open = open
            .into_iter()
            .filter(|i| i.state == IncidentState::Open)
            .map(|i| {
                let (first_ms, last_ms) = (ms_of(&i.first_seen), ms_of(&i.last_seen));
                let key = (i.cause.clone(), i.host.clone(), i.file.clone(), i.line);
                let paths = i.paths.iter().map(|p| (p.clone(), 0)).collect();
                let open = Open {
                    incident: i,
                    first_ms,
                    last_ms,
                    paths,
                };
                (key, open)
            })
            .collect();
        Pipeline {
            config,
            rules: Rules::builtin(),
            inputs: Vec::new(),
            by_key: HashMap::new(),
            detector,
            waiting: Vec::new(),
            errors: VecDeque::new(),
            open,
            next_id,
            batch: Batch::default(),
            newest: None,
            firing: Vec::new(),
            unsent: HashSet::new(),
            tally: LineTally::default(),
            crawlers: Crawlers::builtin(),
            live: false,
            caught_up: None,
        }
    }

    /// The followed files as `inputs` reports them.
    pub fn inputs(&self) -> Vec<InputReport> {
        self.inputs
            .iter()
            .map(|i| InputReport {
                path: i.name.clone(),
                kind: i.kind,
                format: i.format,
                lines: i.lines,
                unparsed: i.unparsed,
                untimed: i.untimed,
                error: None,
                envelope: match &i.wrapping {
                    Wrapping::Wrapped(u) => Some(u.envelope().name()),
                    _ => None,
                },
                hop_of: None,
            })
            .collect()
    }

    /// The key each followed file was ingested under, in the order of [`Pipeline::inputs`].
    pub fn input_keys(&self) -> Vec<&str> {
        let mut keys = vec![""; self.inputs.len()];
        for (key, &i) in &self.by_key {
            keys[i] = key;
        }
        keys
    }

    /// The newest log time seen.
    pub fn newest(&self) -> Option<Stamp> {
        self.newest
    }

    /// Takes whole lines of the file known as `key` (stable through renames: the tailer's
    /// device and inode), now at `path`.
    pub fn ingest(&mut self, key: &str, path: &str, bytes: &[u8]) {
        let index = self.input(key);
        if self.inputs[index].name != path {
            self.inputs[index].name = path.to_owned();
        }
        let unwrapped = self.unwrap(index, bytes);
        let mut lines = read::lines(unwrapped.as_deref().unwrap_or(bytes));
        // Lines looked at to decide a format, not read yet. Nothing waits across calls: a
        // log that grows slowly is decided on what there is, and a restart loses nothing.
        let mut ahead = VecDeque::new();
        while let Some(line) = ahead.pop_front().or_else(|| lines.next()) {
            if self.line(index, line, true) {
                continue;
            }
            let more = SAMPLE_LINES - 1 - ahead.len().min(SAMPLE_LINES - 1);
            ahead.extend(lines.by_ref().take(more));
            self.decide(index, line, ahead.iter().copied());
            // Read by the format the sample voted for (unparsed if that one does not read
            // it): each decision takes a line, so a file that keeps changing still ends.
            self.line(index, line, false);
        }
    }

    /// An enveloped file's lines, unwrapped; `None` for a plain one, which costs this one
    /// check per call and nothing per line.
    fn unwrap(&mut self, index: usize, bytes: &[u8]) -> Option<Vec<u8>> {
        let input = &mut self.inputs[index];
        if matches!(input.wrapping, Wrapping::Undecided) && !bytes.is_empty() {
            input.wrapping = match Envelope::detect(bytes) {
                Some(e) => Wrapping::Wrapped(Unwrapper::new(e, None)),
                None => Wrapping::Plain,
            };
        }
        let Wrapping::Wrapped(unwrapper) = &mut input.wrapping else {
            return None;
        };
        let mut out = Vec::with_capacity(bytes.len());
        for line in read::lines(bytes) {
            unwrapper.line(line, &mut out);
        }
        Some(out)
    }

    /// The file known as `key` is read again from its start (truncated, or rewritten in
    /// place): its format is decided anew, as the new content may be of another.
    pub fn restart(&mut self, key: &str) {
        if let Some(&index) = self.by_key.get(key) {
            self.flush_record(index);
            let input = &mut self.inputs[index];
            (input.reader, input.kind, input.format) =
                (Reader::Detecting, Kind::Unknown, "unknown");
            input.wrapping = Wrapping::Undecided;
        }
    }

    fn input(&mut self, key: &str) -> usize {
        if let Some(&i) = self.by_key.get(key) {
            return i;
        }
        self.inputs.push(Input {
            name: key.to_owned(),
            kind: Kind::Unknown,
            format: "unknown",
            wrapping: Wrapping::Undecided,
            reader: Reader::Detecting,
            lines: 0,
            unparsed: 0,
            last_time: None,
            untimed: 0,
        });
        self.by_key.insert(key.to_owned(), self.inputs.len() - 1);
        self.inputs.len() - 1
    }

    /// What format a line alone is in, if any reads it.
    fn format_of(&self, line: &[u8]) -> Detected {
        detect(std::iter::once(line), self.config.access_format.as_ref())
    }

    /// Decides a file's format from `first`, a line some format reads, and the lines after
    /// it: what they read as together, or, where junk outvotes it, what `first` reads as.
    fn decide<'a>(&mut self, index: usize, first: &'a [u8], after: impl Iterator<Item = &'a [u8]>) {
        let access_format = self.config.access_format.as_ref();
        let detected = match detect(std::iter::once(first).chain(after), access_format) {
            Detected::Unknown => self.format_of(first),
            d => d,
        }
        .in_zone(&self.config.tz);
        self.flush_record(index);
        let input = &mut self.inputs[index];
        input.kind = detected.kind();
        input.format = detected.format_name();
        input.reader = match detected {
            Detected::Access(f) => Reader::Access(f, ClfClock::default()),
            Detected::Error(f) => Reader::Error(ErrorRecords::new(f), None),
            Detected::Unknown => Reader::Detecting,
        };
    }

    /// Reads one line and counts it. With `switch`, a line the file's reader does not read
    /// but another format does is left unread (false): the caller decides the format anew.
    fn line(&mut self, index: usize, line: &[u8], switch: bool) -> bool {
        if switch && self.access_line_in_a_record(index, line) {
            return false;
        }
        let input = &mut self.inputs[index];
        let (kind, place) = (input.kind, input.lines + 1);
        // Taken out while the line is handled, which needs the rest of the pipeline.
        let mut reader = std::mem::replace(&mut input.reader, Reader::Detecting);
        let parsed = self.parse(index, place, &mut reader, line);
        let begins_another = switch
            && parsed == Some(false)
            && match reader {
                // An access log goes on only as another access format: error-log lines in it
                // (a server writing both to one file) must not take the access lines after
                // them for their records' continuation.
                Reader::Access(..) => matches!(self.format_of(line), Detected::Access(_)),
                _ => self.format_of(line) != Detected::Unknown,
            };
        let input = &mut self.inputs[index];
        input.reader = reader;
        if begins_another {
            return false;
        }
        input.lines = place;
        if let Some(ok) = parsed {
            input.unparsed += u64::from(!ok);
            self.tally.line(kind, ok);
        }
        true
    }

    /// Whether `line` would be taken into an error record of the file as a continuation but
    /// is an access log's line. Asked only of continuation lines (most error-log lines start
    /// a record), and only of those with a `"` (every access format quotes the request).
    fn access_line_in_a_record(&self, index: usize, line: &[u8]) -> bool {
        matches!(&self.inputs[index].reader, Reader::Error(records, _) if records.continues(line))
            && memchr::memchr(b'"', line).is_some()
            && matches!(self.format_of(line), Detected::Access(_))
    }

    /// Hands one line to `reader`: whether it parsed (`None`: blank, not counted).
    fn parse(
        &mut self,
        index: usize,
        place: u64,
        reader: &mut Reader,
        line: &[u8],
    ) -> Option<bool> {
        match reader {
            Reader::Access(format, clock) => match format.head(line, clock) {
                Some((time, status)) => {
                    self.response(index, place, format, line, time, status);
                    Some(true)
                }
                None if line.trim_ascii().is_empty() => None,
                // A directive (W3C's `#Fields:`) is no request, and may change the format.
                None => match format.directive(line) {
                    Some(FormatDirective::Format(next)) => {
                        *format = next;
                        None
                    }
                    Some(FormatDirective::Other) => None,
                    // A web server's own error line in its access log's stream (the official
                    // nginx image writes both to one): a record of its error log.
                    None => match mixed_error(line) {
                        Some(f) => {
                            self.error_record(index, f, line);
                            Some(true)
                        }
                        None => Some(false),
                    },
                },
            },
            Reader::Error(records, pending_since) => {
                let mut done = None;
                let fate = records.push(line, |r, _| done = Some(r.to_vec()));
                *pending_since = records.pending().then(Instant::now);
                if let Some(record) = done {
                    self.error_record(index, records.format(), &record);
                }
                match fate {
                    LineFate::Kept => Some(true),
                    LineFate::Blank => None,
                    LineFate::Orphan => Some(false),
                }
            }
            Reader::Detecting => (!line.trim_ascii().is_empty()).then_some(false),
        }
    }

    fn response(
        &mut self,
        input: usize,
        place: u64,
        format: &AccessFormat,
        line: &[u8],
        time: Stamp,
        status: u16,
    ) {
        self.tally.responses[usize::from(status)] += 1;
        self.tally.minute(time, status);
        self.batch.failing.widen(time);
        self.newest = self.newest.max(Some(time));
        let server_error = (500..600).contains(&status);
        let robots = ROBOTS_TXT.find(line).is_some();
        let record = (server_error || robots)
            .then(|| format.parse(line))
            .flatten();
        let robots = record.as_ref().is_some_and(|r| r.path() == b"/robots.txt");
        let alerts = self.detector.response(time, status, robots);
        self.alerts(alerts, None);
        if let (true, Some(r)) = (server_error, record) {
            self.failed(&r);
            self.waiting.push(Waiting {
                arrived: Instant::now(),
                time,
                status,
                input,
                place,
                client: clean_text(&r.client),
                path: clean_text(r.path()),
                vhost: r.vhost.as_deref().map(clean_text),
                reason: r
                    .reason
                    .as_deref()
                    .map(|reason| (clean_text(reason), clean_text(line))),
                request_id: r.request_id.as_deref().map(clean_text),
            });
        }
    }

    /// Counts a 5xx by its path (after its host, where the log names one), host and crawler.
    fn failed(&mut self, r: &crate::formats::AccessRecord<'_>) {
        let failing = &mut self.batch.failing;
        let path = clean_text(r.path());
        let host = r.vhost.as_deref().map(clean_text);
        let place = match &host {
            Some(h) => format!("{h}{path}"),
            None => path,
        };
        *failing.paths.entry(place).or_default() += 1;
        if let Some(h) = host {
            *failing.hosts.entry(h).or_default() += 1;
        }
        if let Some(c) = self.crawlers.identify(&r.user_agent) {
            let label = &self.crawlers.list()[c].label;
            *failing.crawlers.entry(label.clone()).or_default() += 1;
        }
    }

    fn error_record(&mut self, input: usize, format: ErrorFormat, record: &[u8]) {
        let Some(mut e) = format.parse(record, &self.config.tz) else {
            return;
        };
        e.input = input;
        match e.time {
            Some(t) => self.inputs[input].last_time = Some(t),
            None => match self.time_of_untimed(input) {
                Some(t) => e.time = Some(t),
                None => {
                    self.inputs[input].untimed += 1;
                    return;
                }
            },
        }
        self.newest = self.newest.max(e.time);
        self.errors.push_back(e);
        if self.errors.len() > MAX_ERRORS {
            self.errors.pop_front();
        }
    }

    /// The time of a record of `input` that has none of its own (a Node stack, a Go crash
    /// dump): live, when it was read, as no timed line may come near it; from history, that of
    /// the nearest timed record before it in its log, as `diagnose` places it.
    fn time_of_untimed(&self, input: usize) -> Option<Stamp> {
        if !self.live {
            return self.inputs[input].last_time;
        }
        let now = jiff::Timestamp::now();
        let offset = self.config.tz.to_offset(now).seconds();
        Some(Stamp {
            ms: now.as_millisecond(),
            offset,
        })
    }

    /// Moves time on: completes error records the log has gone quiet on, explains the 5xx
    /// that have settled, resolves quiet incidents and lets the clock move the alert windows.
    /// `now` is the wall clock.
    pub fn tick(&mut self, now: jiff::Timestamp) {
        if !self.live {
            // The poll that ends history may have read its last records just now.
            self.caught_up = Some(Instant::now());
        }
        self.live = true;
        self.flush_idle_records();
        self.explain_settled(false);
        self.move_clock(now);
        self.forget_history();
    }

    /// Once the logs are read up to now, forgets the alerts that fired in history and were
    /// not sent: a condition that still holds live (robots.txt still failing) alerts anew
    /// instead of hiding behind an episode nobody was told of.
    fn forget_history(&mut self) {
        if self.unsent.is_empty() {
            return;
        }
        let unsent = std::mem::take(&mut self.unsent);
        for alert in self.firing.iter().filter(|a| unsent.contains(&key_of(a))) {
            self.detector.set_firing(alert, false);
        }
        self.firing.retain(|a| !unsent.contains(&key_of(a)));
    }

    /// Moves time on while the tailer still has lines to hand out (a first start reading
    /// history, a restart catching up): as [`Pipeline::tick`], but the windows go only as far
    /// as the newest line. The clock must not move them past lines not read yet: those would
    /// land in seconds already judged, and a spike among them would never be seen.
    ///
    /// History is read file after file (the least recently modified first), so the records
    /// that explain a 5xx may be in a file not read yet, or read long before it: the 5xx are
    /// held, and the error records kept whatever their age, until the tailer has handed out
    /// everything (then [`Pipeline::tick`] explains them together, as `diagnose` would), or
    /// until [`MAX_HELD`] are waiting. [`MAX_ERRORS`] still bounds the records.
    pub fn catch_up(&mut self) {
        self.live = false;
        self.caught_up = Some(Instant::now());
        self.flush_idle_records();
        if self.waiting.len() > MAX_HELD {
            self.explain_settled(true);
        }
        if let Some(t) = self
            .newest
            .and_then(|n| jiff::Timestamp::from_millisecond(n.ms).ok())
        {
            self.move_clock(t);
        }
    }

    /// Explains every 5xx still waiting (at shutdown, or in tests).
    pub fn drain(&mut self, now: jiff::Timestamp) {
        for i in 0..self.inputs.len() {
            self.flush_record(i);
        }
        self.explain_settled(true);
        self.move_clock(now);
    }

    /// The batch so far, leaving an empty one.
    pub fn take_batch(&mut self) -> Batch {
        self.tally
            .add_to(&mut self.batch.counters, &mut self.batch.history);
        std::mem::take(&mut self.batch)
    }

    /// The alerts firing now, as they fired (also those too old to have been sent).
    pub fn firing(&self) -> &[Alert] {
        &self.firing
    }

    /// The alerts firing now, to keep across a restart ([`Pipeline::restore_firing`]).
    pub fn firing_state(&self) -> Vec<FiringState> {
        self.firing
            .iter()
            .map(|a| FiringState::of(a, !self.unsent.contains(&key_of(a))))
            .collect()
    }

    /// Goes on with the alerts that were firing before a restart: no second firing for them,
    /// and their resolution when they clear.
    pub fn restore_firing(&mut self, states: &[FiringState]) {
        for state in states {
            if let Some(alert) = state.to_alert(self.rules) {
                self.detector.set_firing(&alert, true);
                if !state.sent {
                    self.unsent.insert(key_of(&alert));
                }
                self.firing.push(alert);
            }
        }
    }

    fn flush_idle_records(&mut self) {
        for i in 0..self.inputs.len() {
            let idle = matches!(
                self.inputs[i].reader,
                Reader::Error(_, Some(since)) if since.elapsed() >= RECORD_IDLE
            );
            if idle {
                self.flush_record(i);
            }
        }
    }

    fn flush_record(&mut self, index: usize) {
        let Reader::Error(records, pending) = &mut self.inputs[index].reader else {
            return;
        };
        let mut done = None;
        records.flush(|r, _| done = Some(r.to_vec()));
        *pending = None;
        let format = records.format();
        if let Some(record) = done {
            self.error_record(index, format, &record);
        }
    }

    /// Explains the 5xx that have waited [`SETTLE`] since they were read, or since history
    /// was last read if later (all of them with `all`), together.
    fn explain_settled(&mut self, all: bool) {
        let caught_up = self.caught_up;
        let since = |w: &Waiting| caught_up.map_or(w.arrived, |t| t.max(w.arrived));
        let (ready, waiting): (Vec<Waiting>, Vec<Waiting>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|w| all || since(w).elapsed() >= SETTLE);
        self.waiting = waiting;
        if ready.is_empty() {
            self.prune_errors();
            return;
        }
        let mut scan = self.batch_scan(&ready);
        let (incidents, _) = diagnose::explain(&mut scan, self.rules, false);
        for incident in incidents {
            self.merge(incident);
        }
        self.prune_errors();
    }

    /// A scan of these responses and the error records kept.
    fn batch_scan(&self, ready: &[Waiting]) -> Scan {
        let mut strings = Strings::default();
        let responses = ready
            .iter()
            .map(|w| Response {
                time: w.time,
                status: w.status,
                input: w.input as u32,
                place: w.place,
                client: Client::new(&w.client, &mut strings),
                path: strings.intern(&w.path),
                vhost: w.vhost.as_deref().map(|v| strings.intern(v)),
                reason: w.reason.as_ref().map(|(reason, line)| OwnReason {
                    reason: strings.intern(reason),
                    line: strings.intern(line),
                }),
                request_id: w.request_id.as_deref().map(|id| strings.intern(id)),
            })
            .collect();
        let mut errors: Vec<ErrorEvent> = self.errors.iter().cloned().collect();
        errors.sort_by_key(|e| e.time);
        Scan {
            inputs: self.inputs(),
            responses: Responses::from_vec(responses),
            strings,
            errors,
            ..Scan::default()
        }
    }

    /// Drops error records too old to explain any 5xx still to come.
    fn prune_errors(&mut self) {
        let oldest_waiting = self.waiting.iter().map(|w| w.time.ms).min();
        let Some(reference) = oldest_waiting.or(self.newest.map(|t| t.ms)) else {
            return;
        };
        let cutoff = reference - ERROR_WINDOW_MS;
        self.errors
            .retain(|e| e.time.is_none_or(|t| t.ms >= cutoff));
    }

    /// Adds a batch incident to the live one of its cause and place, opening one if needed.
    fn merge(&mut self, i: Incident) {
        let (first_ms, last_ms) = (ms_of(&i.first_seen), ms_of(&i.last_seen));
        let key = (i.cause.to_owned(), i.host.clone(), i.file.clone(), i.line);
        let opened = !self.open.contains_key(&key);
        if opened {
            let id = self.next_id;
            self.next_id += 1;
            *self
                .batch
                .counters
                .incidents
                .entry(i.cause.to_owned())
                .or_default() += 1;
            let live = LiveIncident {
                id,
                state: IncidentState::Open,
                cause: i.cause.to_owned(),
                status: BTreeMap::new(),
                count: 0,
                first_seen: i.first_seen.clone(),
                last_seen: i.last_seen.clone(),
                paths: Vec::new(),
                file: i.file.clone(),
                line: i.line,
                language: i.language.map(|l| l.name().to_owned()),
                exception: i.exception.clone(),
                evidence: Vec::new(),
                fix: i.fix.clone(),
                title: i.title.clone(),
                host: i.host.clone(),
            };
            let open = Open {
                incident: live,
                first_ms,
                last_ms,
                paths: BTreeMap::new(),
            };
            self.open.insert(key.clone(), open);
        }
        let o = self.open.get_mut(&key).expect("inserted above");
        grow(o, &i, first_ms, last_ms);
        for t in &i.times {
            let series = Series::Cause(i.cause.to_owned());
            self.batch.history.count(*t, series, 1);
        }
        let snapshot = o.incident.clone();
        let seen = self
            .batch
            .causes
            .entry(i.cause.to_owned())
            .or_insert(last_ms);
        *seen = (*seen).max(last_ms);
        // A 5xx no log explains is counted and shown, but is no "new cause" to wake anyone for:
        // the spike rule covers their number.
        if opened && i.cause != "unknown" {
            let at = Stamp {
                ms: first_ms,
                offset: 0,
            };
            if let Some(alert) = self.detector.incident_opened(i.cause, at) {
                self.alerts(vec![alert], Some(snapshot.clone()));
            }
        }
        self.changed(snapshot);
    }

    fn changed(&mut self, incident: LiveIncident) {
        self.batch.incidents.retain(|i| i.id != incident.id);
        self.batch.incidents.push(incident);
    }

    /// Moves the alert windows to the clock while no line comes, and resolves incidents that
    /// went quiet.
    fn move_clock(&mut self, now: jiff::Timestamp) {
        let Some(newest) = self.newest else {
            return;
        };
        // Log time moves on with the clock since the newest line, at the log's offset.
        let at = Stamp {
            ms: now.as_millisecond().max(newest.ms),
            offset: newest.offset,
        };
        let alerts = self.detector.tick(at);
        self.alerts(alerts, None);
        let quiet: Vec<_> = self
            .open
            .iter()
            .filter(|(_, o)| at.ms - o.last_ms >= QUIET_MS)
            .map(|(k, _)| k.clone())
            .collect();
        for key in quiet {
            let Some(mut o) = self.open.remove(&key) else {
                continue;
            };
            o.incident.state = IncidentState::Resolved;
            let cause = self.rules.cause_id(&o.incident.cause);
            let snapshot = o.incident.clone();
            if let Some(alert) = cause.and_then(|c| self.detector.incident_resolved(c, at)) {
                self.alerts(vec![alert], Some(snapshot.clone()));
            }
            self.changed(snapshot);
        }
    }

    /// Counts alerts and queues the recent ones to be sent; a resolution goes only where its
    /// firing went.
    fn alerts(&mut self, alerts: Vec<Alert>, incident: Option<LiveIncident>) {
        let now = jiff::Timestamp::now().as_millisecond();
        for alert in alerts {
            let key = key_of(&alert);
            self.firing.retain(|f| key_of(f) != key);
            let firing_unsent = self.unsent.remove(&key);
            let news = now - alert.at.ms <= NEWS_MS;
            if alert.status == AlertStatus::Firing {
                self.firing.push(alert.clone());
                if !news {
                    self.unsent.insert(key);
                }
            }
            if !news || (alert.status == AlertStatus::Resolved && firing_unsent) {
                continue;
            }
            if alert.status == AlertStatus::Firing {
                *self
                    .batch
                    .counters
                    .alerts
                    .entry(alert.alert.to_owned())
                    .or_default() += 1;
            }
            self.batch
                .notifications
                .push(Notification::new(&alert, incident.clone()));
        }
    }
}

/// An incident's RFC 3339 time in ms (0 when absent or unreadable).
fn ms_of(t: &Option<String>) -> i64 {
    t.as_deref()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map_or(0, |t| t.as_millisecond())
}

/// Adds what a batch incident counted to the live one.
fn grow(o: &mut Open, i: &Incident, first_ms: i64, last_ms: i64) {
    let live = &mut o.incident;
    live.count += i.count;
    for (status, n) in &i.status {
        *live.status.entry(status.clone()).or_default() += n;
    }
    if first_ms < o.first_ms {
        o.first_ms = first_ms;
        live.first_seen = i.first_seen.clone();
    }
    if last_ms >= o.last_ms {
        o.last_ms = last_ms;
        live.last_seen = i.last_seen.clone();
    }
    for p in &i.paths {
        *o.paths.entry(p.clone()).or_default() += 1;
    }
    let mut paths: Vec<(&String, &u64)> = o.paths.iter().collect();
    paths.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    live.paths = paths
        .into_iter()
        .take(MAX_PATHS)
        .map(|(p, _)| p.clone())
        .collect();
    for e in &i.evidence {
        if live.evidence.len() < MAX_EVIDENCE && !live.evidence.contains(e) {
            live.evidence.push(e.clone());
        }
    }
}

/// The web server error log a line of an access log's stream is a record of, if any: one
/// server's access and error lines mixed in one stream (`docker logs`, a journal) are read
/// each as what it is. (PHP's notices in an access log are no such line: they stay unparsed,
/// as `diagnose` reads them.)
fn mixed_error(line: &[u8]) -> Option<ErrorFormat> {
    [ErrorFormat::Nginx, ErrorFormat::Apache]
        .into_iter()
        .find(|f| f.is_header(line))
}

pub fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Access => "access",
        Kind::Error => "error",
        Kind::PhpFpm => "php_fpm",
        Kind::PhpError => "php_error",
        Kind::App => "app",
        Kind::Unknown => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline() -> Pipeline {
        let config = PipelineConfig {
            tz: TimeZone::UTC,
            access_format: None,
            detect: DetectConfig::default(),
        };
        Pipeline::new(config, 1, &[], Vec::new())
    }

    /// A Go service's crash (tests/lab/app_go): `panic:` and the goroutine dump, no time.
    const CRASH: &str = "panic: cache reload failed\n\ngoroutine 23 [running]:\n\
                         main.reload(0xc00007d050?)\n\t/srv/app/main.go:41 +0x27\n";

    #[test]
    fn a_record_without_a_time_takes_the_one_before_it_or_live_when_it_was_read() {
        let mut p = pipeline();
        let log = format!("2026/12/07 15:32:09 listening on 127.0.0.1:37221\n{CRASH}");
        p.ingest("go", "go.log", log.as_bytes());
        p.flush_record(0);
        assert_eq!(p.inputs[0].format, "go");
        let crash = p.errors.back().expect("the crash is kept");
        assert_eq!(crash.time.unwrap().rfc3339(), "2026-12-07T15:32:09+00:00");
        // Once the log is read up to now, a crash is placed when it was read.
        p.tick(jiff::Timestamp::now());
        let before = jiff::Timestamp::now().as_millisecond();
        p.ingest("go", "go.log", CRASH.as_bytes());
        p.flush_record(0);
        assert!(p.errors.back().unwrap().time.unwrap().ms >= before);
        assert_eq!(p.inputs()[0].untimed, 0);
    }

    #[test]
    fn a_record_from_history_with_no_time_before_it_is_counted_not_kept() {
        let mut p = pipeline();
        p.ingest("go", "go.log", CRASH.as_bytes());
        p.flush_record(0);
        assert_eq!(p.inputs[0].format, "go");
        assert!(p.errors.is_empty());
        assert_eq!(p.inputs()[0].untimed, 1);
    }

    /// Fed the demo logs in small pieces, the pipeline finds the incidents `diagnose` finds.
    #[test]
    fn live_incidents_match_diagnose_on_the_demo_logs() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("demo");
        let names = ["access.log", "error.log", "php-fpm.log", "php_errors.log"];
        let texts: Vec<Vec<u8>> = names
            .iter()
            .map(|n| std::fs::read(dir.join(n)).unwrap())
            .collect();
        let mut p = pipeline();
        // Round-robin, a few lines of each file at a time.
        let mut rests: Vec<&[u8]> = texts.iter().map(Vec::as_slice).collect();
        while rests.iter().any(|r| !r.is_empty()) {
            for (name, rest) in names.iter().zip(rests.iter_mut()) {
                let cut = rest
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| **b == b'\n')
                    .nth(6)
                    .map_or(rest.len(), |(i, _)| i + 1);
                let (piece, more) = rest.split_at(cut);
                p.ingest(name, name, piece);
                *rest = more;
            }
        }
        // At the newest line's time: nothing has been quiet for 5 minutes yet.
        let newest = jiff::Timestamp::from_millisecond(p.newest().unwrap().ms).unwrap();
        p.drain(newest);
        let batch = p.take_batch();
        let mut live: Vec<(String, u64)> = batch
            .incidents
            .iter()
            .map(|i| (i.cause.clone(), i.count))
            .collect();
        live.sort();

        let sources: Vec<read::Source> = names
            .iter()
            .map(|n| read::Source {
                name: n.to_string(),
                path: Some(dir.join(n)),
            })
            .collect();
        let opts = crate::scan::ScanOptions {
            tz: TimeZone::UTC,
            window: crate::scan::Window::default(),
            access_format: None,
            progress: indicatif::ProgressBar::hidden(),
            threads: 1,
            error_logs: true,
            scope: Default::default(),
        };
        let report = diagnose::diagnose(
            crate::scan::scan(&sources, &opts).unwrap(),
            Rules::builtin(),
            false,
        );
        let mut want: Vec<(String, u64)> = report
            .incidents
            .iter()
            .map(|i| (i.cause.to_owned(), i.count))
            .collect();
        want.sort();
        assert_eq!(live, want);
        let responses: u64 = batch.counters.responses.values().sum();
        assert_eq!(responses, report.summary.requests);
        assert!(
            batch
                .incidents
                .iter()
                .all(|i| i.state == IncidentState::Open)
        );
        assert_eq!(
            batch.counters.incidents.values().sum::<u64>(),
            want.len() as u64
        );
        // Ten minutes on, by the clock alone, every incident is resolved.
        p.tick(newest + jiff::SignedDuration::from_mins(10));
        let later = p.take_batch();
        assert_eq!(later.incidents.len(), want.len());
        assert!(
            later
                .incidents
                .iter()
                .all(|i| i.state == IncidentState::Resolved)
        );
    }

    /// HAProxy's lines say why they failed in watch as in diagnose: the termination state names
    /// the cause, and the line is the evidence.
    #[test]
    fn haproxy_termination_states_name_the_causes_live() {
        let t = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(20);
        let date = t.strftime("%d/%b/%Y:%H:%M:%S%.3f");
        let line = |state: &str, status: u16| {
            format!(
                "10.0.0.1:4000 [{date}] fe be/s1 0/0/0/-1/1000 {status} 198 - - {state} 1/1/0/0/0 0/0 \"GET /slow HTTP/1.1\"\n"
            )
        };
        let text = line("sH--", 504) + &line("SC--", 503) + &line("SC--", 503) + &line("----", 200);
        let mut p = pipeline();
        p.ingest("k", "haproxy.log", text.as_bytes());
        p.drain(jiff::Timestamp::now());
        let batch = p.take_batch();
        let mut live: Vec<(&str, u64, bool)> = batch
            .incidents
            .iter()
            .map(|i| {
                let own = i
                    .evidence
                    .first()
                    .is_some_and(|e| text.contains(e.as_str()));
                (i.cause.as_str(), i.count, own)
            })
            .collect();
        live.sort();
        assert_eq!(
            live,
            [
                ("upstream_timeout", 1, true),
                ("upstream_unavailable", 2, true)
            ]
        );
    }

    /// As in `diagnose`, the same failure on two virtual hosts is two incidents, each naming
    /// its host (what `/api/incidents?host=` filters on).
    #[test]
    fn the_same_failure_on_two_hosts_is_two_live_incidents_each_with_its_host() {
        let t = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(20);
        let date = t.strftime("%d/%b/%Y:%H:%M:%S +0000");
        let line = |host: &str| {
            format!("{host}:80 10.0.0.1 - - [{date}] \"GET /a HTTP/1.1\" 502 1 \"-\" \"x\"\n")
        };
        let text = line("Shop.test") + &line("blog.test") + &line("blog.test");
        let mut p = pipeline();
        p.ingest("k", "access.log", text.as_bytes());
        p.drain(jiff::Timestamp::now());
        let mut live: Vec<(Option<String>, u64)> = (p.take_batch().incidents.iter())
            .map(|i| (i.host.clone(), i.count))
            .collect();
        live.sort();
        assert_eq!(
            live,
            [(Some("blog.test".into()), 2), (Some("shop.test".into()), 1)]
        );
    }

    /// One stream with nginx's access and error lines (its official image's output): the
    /// error lines are read as its error log's records, not counted unparsed, and explain
    /// the 5xx beside them.
    #[test]
    fn a_mixed_stream_is_read_line_by_line() {
        let t = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(20);
        let error = format!(
            "{} [error] 29#29: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.1, server: _, request: \"GET /x HTTP/1.1\", upstream: \"http://127.0.0.1:9/x\", host: \"localhost\"\n",
            t.strftime("%Y/%m/%d %H:%M:%S")
        );
        let text = access("200") + &error + &access("502") + &error + &access("502");
        let mut p = pipeline();
        p.ingest("k", "mixed.log", text.as_bytes());
        p.drain(jiff::Timestamp::now());
        let batch = p.take_batch();
        assert_eq!(
            batch.counters.lines,
            lines(&[("access", "parsed", 5)]),
            "error lines are read, not unparsed"
        );
        let live: Vec<(&str, u64)> = batch
            .incidents
            .iter()
            .map(|i| (i.cause.as_str(), i.count))
            .collect();
        assert_eq!(live, [("upstream_unavailable", 2)]);
    }

    /// The dashboard's history: responses by minute and class as read, 5xx by cause as
    /// explained; 5xx by host and path, and by crawler; the span of the lines.
    #[test]
    fn a_batch_carries_the_minutes_paths_hosts_and_crawlers_of_its_lines() {
        let minute = |m: i64| (jiff::Timestamp::now().as_millisecond() / 60_000 - 30 + m) * 60_000;
        let line = |ms: i64, host: &str, status: u16, path: &str, agent: &str| {
            let t = jiff::Timestamp::from_millisecond(ms).unwrap();
            let ts = t.strftime("%d/%b/%Y:%H:%M:%S +0000");
            format!(
                "{host}:443 10.0.0.1 - - [{ts}] \"GET {path}?q=1 HTTP/1.1\" {status} 1 \"-\" \"{agent}\"\n"
            )
        };
        let bot = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)";
        let text = line(minute(0), "a.example", 200, "/", "ua")
            + &line(minute(0) + 1000, "a.example", 302, "/", "ua")
            + &line(minute(0) + 2000, "a.example", 500, "/x", bot)
            + &line(minute(1), "b.example", 502, "/x", "ua")
            + &line(minute(1) + 500, "b.example", 404, "/y", "ua");
        let mut p = pipeline();
        p.ingest("k", "access.log", text.as_bytes());
        p.drain(jiff::Timestamp::now());
        let b = p.take_batch();
        let count =
            |m: i64, series: Series| b.history.minutes.get(&(minute(m), series)).map(|v| v.1);
        assert_eq!(count(0, Series::Class(2)), Some(1));
        assert_eq!(count(0, Series::Class(3)), Some(1));
        assert_eq!(count(0, Series::Class(5)), Some(1));
        assert_eq!(count(1, Series::Class(4)), Some(1));
        assert_eq!(count(1, Series::Class(5)), Some(1));
        assert_eq!(count(0, Series::Cause("unknown".into())), Some(1));
        assert_eq!(count(1, Series::Cause("unknown".into())), Some(1));
        assert_eq!(b.history.minutes.len(), 7, "{:?}", b.history);
        let f = &b.failing;
        let map = |v: &[(&str, u64)]| v.iter().map(|(k, n)| (k.to_string(), *n)).collect();
        assert_eq!(f.paths, map(&[("a.example/x", 1), ("b.example/x", 1)]));
        assert_eq!(f.hosts, map(&[("a.example", 1), ("b.example", 1)]));
        assert_eq!(f.crawlers, map(&[("Bingbot", 1)]));
        let span = f.span.map(|(a, b)| (a.ms, b.ms));
        assert_eq!(
            span,
            Some((minute(0), minute(1))),
            "whole seconds, as logged"
        );
    }

    /// A `combined` line with this status, 20 minutes ago (history: no alert is sent).
    fn access(status: &str) -> String {
        let t = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(20);
        let ts = t.strftime("%d/%b/%Y:%H:%M:%S +0000");
        format!("10.0.0.1 - - [{ts}] \"GET /x HTTP/1.1\" {status} 1 \"-\" \"ua\"\n")
    }

    /// The same request as a JSON line (nginx `log_format ... escape=json`).
    fn json(status: u16) -> String {
        let t = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(20);
        format!(
            "{{\"time\":\"{}\",\"remote_addr\":\"10.0.0.1\",\"request\":\"GET /x HTTP/1.1\",\"status\":{status}}}\n",
            t.strftime("%Y-%m-%dT%H:%M:%S+00:00")
        )
    }

    /// Feeds `pieces` one read at a time, as the tailer hands them out: the responses counted
    /// by status, and the lines by kind and result.
    fn feed(pieces: &[&str]) -> (BTreeMap<u16, u64>, BTreeMap<(String, String), u64>) {
        let mut p = pipeline();
        for piece in pieces {
            p.ingest("k", "access.log", piece.as_bytes());
        }
        let counters = p.take_batch().counters;
        (counters.responses, counters.lines)
    }

    fn lines(of: &[(&str, &str, u64)]) -> BTreeMap<(String, String), u64> {
        of.iter()
            .map(|(k, r, n)| ((k.to_string(), r.to_string()), *n))
            .collect()
    }

    #[test]
    fn enveloped_lines_are_unwrapped_a_cri_partial_line_joined_across_reads() {
        let line = access("502");
        let (head, tail) = line.trim_end().split_at(20);
        let cri = [
            format!("2026-11-25T14:00:03.1Z stdout F {}", access("200")),
            format!("2026-11-25T14:00:03.2Z stdout P {head}\n"),
            format!("2026-11-25T14:00:03.3Z stdout F {tail}\n"),
        ];
        let pieces: Vec<&str> = cri.iter().map(String::as_str).collect();
        let (responses, counted) = feed(&pieces);
        assert_eq!(responses, BTreeMap::from([(200, 1), (502, 1)]));
        assert_eq!(counted, lines(&[("access", "parsed", 2)]));
        let syslog = format!("<190>Nov 25 14:00:03 web1 nginx: {}", access("503"));
        assert_eq!(feed(&[&syslog]).0, BTreeMap::from([(503, 1)]));
    }

    #[test]
    fn a_blank_first_line_does_not_hide_later_5xx_from_watch() {
        let later = access("500") + &access("200");
        let (responses, counted) = feed(&["\n", "\r\n", &later]);
        assert_eq!(responses, BTreeMap::from([(200, 1), (500, 1)]));
        // Blank lines are no lines of any kind.
        assert_eq!(counted, lines(&[("access", "parsed", 2)]));
    }

    /// nginx logs status `000` for a connection closed before any response.
    #[test]
    fn a_000_status_first_line_is_read_as_access_and_hides_no_later_5xx() {
        let (responses, counted) = feed(&[&access("000"), &access("502")]);
        assert_eq!(responses, BTreeMap::from([(0, 1), (502, 1)]));
        assert_eq!(counted, lines(&[("access", "parsed", 2)]));
    }

    /// IIS restarted with its fields in another order: each line is read in the layout of the
    /// `#Fields:` line before it, and the directives are no lines of any kind once the log is
    /// known (before, nothing says what they are: unknown, unparsed).
    #[test]
    fn a_w3c_fields_line_changes_the_layout_watch_reads() {
        let t = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(20);
        let (date, time) = (t.strftime("%Y-%m-%d"), t.strftime("%H:%M:%S"));
        let header = "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n";
        let first = format!(
            "#Fields: date time c-ip cs-method cs-uri-stem sc-status\n\
             {date} {time} 10.0.0.1 GET /a 500\n{date} {time} 10.0.0.1 GET /b 200\n"
        );
        let restarted = format!(
            "#Software: Microsoft Internet Information Services 10.0\n\
             #Fields: sc-status date time cs-uri-stem c-ip\n502 {date} {time} /c 10.0.0.1\n"
        );
        let (responses, counted) = feed(&[header, &first, &restarted]);
        assert_eq!(responses, BTreeMap::from([(200, 1), (500, 1), (502, 1)]));
        assert_eq!(
            counted,
            lines(&[("unknown", "unparsed", 2), ("access", "parsed", 3)])
        );
    }

    #[test]
    fn a_banner_first_line_is_counted_unparsed_and_hides_no_later_5xx() {
        let banner = "#Software: nginx\n#Fields: combined\n";
        let (responses, counted) = feed(&[banner, &access("503")]);
        assert_eq!(responses, BTreeMap::from([(503, 1)]));
        assert_eq!(
            counted,
            lines(&[("unknown", "unparsed", 2), ("access", "parsed", 1)])
        );
    }

    /// More garbage than a sample's worth, in the same read as the lines after it.
    #[test]
    fn a_garbage_block_before_the_log_lines_hides_no_5xx_after_it() {
        let mut text = "\u{1}\u{7f}garbage, not a log line\n".repeat(3 * SAMPLE_LINES);
        text += &access("500").repeat(3);
        text += "more garbage\n";
        text += &access("504");
        let (responses, counted) = feed(&[&text]);
        assert_eq!(responses, BTreeMap::from([(500, 3), (504, 1)]));
        let junk = 3 * SAMPLE_LINES as u64;
        assert_eq!(
            counted,
            lines(&[
                ("unknown", "unparsed", junk),
                ("access", "parsed", 4),
                ("access", "unparsed", 1)
            ])
        );
    }

    /// A PHP notice is an error-log record, whose continuation lines (a stack trace) are any
    /// lines that start no record: the access lines after it must not be taken for those.
    #[test]
    fn a_php_notice_first_line_does_not_take_the_access_log_after_it_for_a_stack_trace() {
        let notice = "[25-Nov-2026 09:59:00 UTC] PHP Notice:  Undefined variable $cart in \
                      /var/www/shop/cart.php on line 41\n";
        let trace = "PHP Stack trace:\nPHP   1. {main}() /var/www/shop/cart.php:0\n";
        let later = access("200") + &access("500") + &access("503");
        let want = BTreeMap::from([(200, 1), (500, 1), (503, 1)]);
        let (responses, counted) = feed(&[&format!("{notice}{trace}{later}")]);
        assert_eq!(responses, want);
        assert_eq!(counted.values().sum::<u64>(), 6, "{counted:?}");
        // Read apart, as watch may get them: the notice and its trace decided first.
        let (responses, counted) = feed(&[notice, trace, &later]);
        assert_eq!(responses, want);
        assert_eq!(
            counted,
            lines(&[("php_error", "parsed", 3), ("access", "parsed", 3)])
        );
    }

    /// nginx reloaded with another `log_format` goes on writing to the same file.
    #[test]
    fn a_new_access_format_in_the_same_file_is_read_from_its_first_line() {
        let before = access("200").repeat(5) + &access("500");
        let after = json(200) + &json(502) + &json(500);
        let (responses, counted) = feed(&[&before, &after]);
        assert_eq!(responses, BTreeMap::from([(200, 6), (500, 2), (502, 1)]));
        assert_eq!(counted, lines(&[("access", "parsed", 9)]));
    }

    /// nginx writing its errors and its requests to one file: a burst of error lines in an
    /// access log is read as its error log's records, and the access lines after it are read.
    #[test]
    fn error_lines_in_an_access_log_do_not_swallow_the_access_lines_after_them() {
        let error =
            "2026/11/25 14:00:03 [error] 812#812: *5 upstream timed out, client: 10.0.0.1\n";
        let burst = error.repeat(2 * SAMPLE_LINES);
        let (responses, counted) = feed(&[&access("200"), &burst, &access("502")]);
        assert_eq!(responses, BTreeMap::from([(200, 1), (502, 1)]));
        let errors = 2 * SAMPLE_LINES as u64;
        assert_eq!(counted, lines(&[("access", "parsed", 2 + errors)]));
    }

    /// Truncated in place and written anew in another format (the tailer says so by handing
    /// out the file from its start again).
    #[test]
    fn a_file_restarted_in_another_format_is_detected_anew() {
        let error =
            "2026/11/25 14:00:03 [error] 812#812: *5 upstream timed out, client: 10.0.0.1\n";
        let mut p = pipeline();
        p.ingest("k", "x.log", error.as_bytes());
        p.restart("k");
        // Without the restart, these would continue the error record still open.
        p.ingest("k", "x.log", access("500").as_bytes());
        let counters = p.take_batch().counters;
        assert_eq!(counters.responses, BTreeMap::from([(500, 1)]));
    }

    /// robots.txt rate limited (429, as a `limit_req` keyed on crawlers answers) alerts as a
    /// 5xx does, and a page's 429 does not.
    #[test]
    fn robots_txt_429_alerts() {
        let now = jiff::Timestamp::now().as_millisecond();
        let line = |secs: i64, path: &str, status: u16| {
            let t = jiff::Timestamp::from_millisecond(now + secs * 1000).unwrap();
            let ts = t.strftime("%d/%b/%Y:%H:%M:%S +0000");
            format!("1.2.3.4 - - [{ts}] \"GET {path} HTTP/1.1\" {status} 1 \"-\" \"Googlebot\"\n")
        };
        let mut p = pipeline();
        p.ingest("k", "access.log", line(0, "/page", 429).as_bytes());
        assert!(p.take_batch().notifications.is_empty(), "a page's 429");
        p.ingest("k", "access.log", line(1, "/robots.txt", 429).as_bytes());
        let fired = p.take_batch().notifications;
        assert_eq!(fired.len(), 1);
        assert_eq!(
            (fired[0].alert, fired[0].status),
            ("robots_txt_5xx", AlertStatus::Firing)
        );
        assert!(fired[0].summary.contains("429"), "{}", fired[0].summary);
        p.ingest("k", "access.log", line(2, "/robots.txt", 200).as_bytes());
        let resolved = p.take_batch().notifications;
        assert_eq!(resolved[0].status, AlertStatus::Resolved);
    }

    #[test]
    fn firing_alerts_go_on_after_a_restart() {
        let now = jiff::Timestamp::now().as_millisecond();
        let line = |secs: i64, status: u16| {
            let t = jiff::Timestamp::from_millisecond(now + secs * 1000).unwrap();
            let ts = t.strftime("%d/%b/%Y:%H:%M:%S +0000");
            format!("1.2.3.4 - - [{ts}] \"GET /robots.txt HTTP/1.1\" {status} 1 \"-\" \"x\"\n")
        };
        let mut p = pipeline();
        p.ingest("k", "access.log", line(0, 503).as_bytes());
        assert_eq!(p.take_batch().notifications.len(), 1);
        let state = p.firing_state();
        // A new process: the alert is not sent again, and its resolution is.
        let mut p = pipeline();
        p.restore_firing(&state);
        assert_eq!(p.firing().len(), 1);
        p.ingest("k", "access.log", line(1, 502).as_bytes());
        assert!(p.take_batch().notifications.is_empty());
        p.ingest("k", "access.log", line(2, 200).as_bytes());
        let resolved = p.take_batch().notifications;
        assert_eq!(resolved.len(), 1);
        assert_eq!(
            (resolved[0].alert, resolved[0].status),
            ("robots_txt_5xx", AlertStatus::Resolved)
        );
        assert!(p.firing().is_empty());
    }

    /// An alert that fired in history (more than 5 minutes ago, on a first start) was not
    /// sent, so neither is its resolution, also after a restart.
    #[test]
    fn a_resolution_goes_only_where_its_firing_went() {
        let now = jiff::Timestamp::now().as_millisecond();
        let line = |ms: i64, status: u16| {
            let t = jiff::Timestamp::from_millisecond(ms).unwrap();
            let ts = t.strftime("%d/%b/%Y:%H:%M:%S +0000");
            format!("1.2.3.4 - - [{ts}] \"GET /robots.txt HTTP/1.1\" {status} 1 \"-\" \"x\"\n")
        };
        let mut p = pipeline();
        p.ingest("k", "access.log", line(now - 20 * 60_000, 503).as_bytes());
        assert!(p.take_batch().notifications.is_empty(), "history");
        assert_eq!(p.firing().len(), 1, "firing all the same");
        let state = p.firing_state();
        assert!(!state[0].sent);
        let mut again = pipeline();
        again.restore_firing(&state);
        for p in [&mut p, &mut again] {
            p.ingest("k", "access.log", line(now, 200).as_bytes());
            assert!(p.take_batch().notifications.is_empty());
            assert!(p.firing().is_empty());
            // The next episode is news: it is sent, and so is its end.
            p.ingest("k", "access.log", line(now, 503).as_bytes());
            p.ingest("k", "access.log", line(now, 200).as_bytes());
            let sent = p.take_batch().notifications;
            let got: Vec<_> = sent.iter().map(|n| (n.alert, n.status)).collect();
            assert_eq!(
                got,
                [
                    ("robots_txt_5xx", AlertStatus::Firing),
                    ("robots_txt_5xx", AlertStatus::Resolved)
                ]
            );
        }
        // A state from before `sent` was kept counts as sent.
        let old: FiringState = serde_json::from_str(
            r#"{"alert":"robots_txt_5xx","rule":null,"cause":null,"severity":"critical",
                "summary":"s","at_ms":0,"offset":0}"#,
        )
        .unwrap();
        assert!(old.sent);
    }

    /// robots.txt failing since before the first start and still failing live: once the
    /// logs are read up to now, the next live 5xx alerts (the history episode, never sent,
    /// does not hide it).
    #[test]
    fn a_condition_from_history_that_still_holds_alerts_live() {
        let now = jiff::Timestamp::now();
        let line = |ms: i64, status: u16| {
            let t = jiff::Timestamp::from_millisecond(ms).unwrap();
            let ts = t.strftime("%d/%b/%Y:%H:%M:%S +0000");
            format!("1.2.3.4 - - [{ts}] \"GET /robots.txt HTTP/1.1\" {status} 1 \"-\" \"x\"\n")
        };
        let mut p = pipeline();
        let ms = now.as_millisecond();
        p.ingest("k", "access.log", line(ms - 20 * 60_000, 503).as_bytes());
        p.tick(now);
        assert!(p.take_batch().notifications.is_empty(), "history");
        p.ingest("k", "access.log", line(ms + 1000, 503).as_bytes());
        let sent = p.take_batch().notifications;
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(
            (sent[0].alert, sent[0].status),
            ("robots_txt_5xx", AlertStatus::Firing)
        );
    }
}
