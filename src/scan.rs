//! Reads every input, detects its format and parses it: access logs into request counts and
//! the 5xx [`Response`]s, error logs into [`ErrorEvent`]s. Access-log blocks go to a pool of
//! parser threads, one per core; error logs, multi-line, are read in order on this thread
//! meanwhile.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, mpsc};

use indicatif::ProgressBar;
use jiff::tz::TimeZone;
use serde::Serialize;

use crate::engine::stream::ErrorInput;
use crate::formats::access::{AccessFormat, FormatDirective};
use crate::formats::detect::{Detected, ErrorFormat, detect};
use crate::formats::envelope::{Enveloped, Origin, Origins};
use crate::formats::hop::{self, HopSample};
use crate::formats::time::ClfClock;
use crate::formats::{AccessRecord, ErrorEvent, Kind, Stamp, clean_text};
use crate::read::{self, Block, BlockSource, Blocks, ReadError, Source};
use crate::scope::Scope;

/// How to read: the zone for logs that write none, an optional time window, an optional
/// custom access format, and where to show progress (hidden unless the caller shows it).
#[derive(Clone, Debug)]
pub struct ScanOptions {
    pub tz: TimeZone,
    pub window: Window,
    pub access_format: Option<AccessFormat>,
    pub progress: ProgressBar,
    /// Parser threads for access logs.
    pub threads: usize,
    /// Whether error logs are parsed; `seo` needs only access logs, and an error log is
    /// then listed (kind and format) without being read past its head.
    pub error_logs: bool,
    /// Which responses count (`--host`, `--path`, `--status`).
    pub scope: Arc<Scope>,
}

/// One parser thread per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// A time window, in milliseconds since the epoch, both ends inclusive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    pub since: Option<i64>,
    pub until: Option<i64>,
}

impl Window {
    pub fn contains(&self, t: Stamp) -> bool {
        self.since.is_none_or(|s| t.ms >= s) && self.until.is_none_or(|u| t.ms <= u)
    }
}

/// More to compute from every access-log block, on the parser threads, beside the 5xx scan:
/// `seo`'s crawler figures. A tally per thread, merged at the end, so merging must not
/// depend on the order blocks were parsed in.
pub trait BlockObserver: Sync {
    type Tally: Default + Send;

    /// Looks at one block of whole lines.
    fn observe(&self, block: &[u8], at: &BlockAt<'_>, tally: &mut Self::Tally);

    /// Adds `other` into `into`.
    fn merge(into: &mut Self::Tally, other: Self::Tally);
}

/// Where a block comes from and how to read it.
pub struct BlockAt<'a> {
    pub format: &'a AccessFormat,
    /// The format the block's other lines are in, where most of it is not in the file's (see
    /// [`BlockAt::parse`]).
    pub also: Option<&'a AccessFormat>,
    /// The input's index in `Scan::inputs`.
    pub input: usize,
    /// The block's number in its input: with a line's offset in the block, its place.
    pub block_no: u64,
    pub window: Window,
    /// Which lines count, beside the window.
    pub scope: &'a Scope,
    /// Where directives in the block change the file's format (W3C's `#Fields:`): from each
    /// offset on, the lines are in its format.
    pub changes: &'a [(usize, AccessFormat)],
}

impl BlockAt<'_> {
    /// The line of the block at `offset`, in the file's format as the directives before it
    /// left it, or else the block's own.
    pub fn parse<'l>(&self, line: &'l [u8], offset: usize) -> Option<AccessRecord<'l>> {
        let format = self
            .changes
            .iter()
            .rev()
            .find(|(from, _)| *from <= offset)
            .map_or(self.format, |(_, f)| f);
        format
            .parse(line)
            .or_else(|| self.also.and_then(|f| f.parse(line)))
    }
}

/// Nothing more than the 5xx scan.
impl BlockObserver for () {
    type Tally = ();
    fn observe(&self, _: &[u8], _: &BlockAt<'_>, _: &mut ()) {}
    fn merge(_: &mut (), _: ()) {}
}

/// One input as reported in `inputs`. In the JSON, an `unknown` one has a `reason`, and one
/// read only in part an `error`.
#[derive(Clone, Debug)]
pub struct InputReport {
    pub path: String,
    pub kind: Kind,
    pub format: &'static str,
    pub lines: u64,
    pub unparsed: u64,
    /// Error records read that have no time of their own, no envelope's and no timed record
    /// before them in the file: nothing places them in time, so nothing ties them to a
    /// response. Reported only when some were.
    pub untimed: u64,
    /// Why reading stopped before the end (a `.gz` cut off in the middle); what was read
    /// before it is counted. For an input not read at all, why it could not be.
    pub error: Option<String>,
    /// The envelope its lines were unwrapped from (`syslog_rfc3164`, `docker_json`…), if any.
    pub envelope: Option<&'static str>,
    /// For an application server's access log read beside its proxy's: the proxy's log (its
    /// path), which counts the requests; this one's lines are read, never counted again (see
    /// [`crate::formats::hop`]).
    pub hop_of: Option<String>,
}

/// The `format` of an input with no line in it.
pub const EMPTY: &str = "empty";

impl InputReport {
    /// An input about to be read, nothing counted yet.
    pub fn new(path: String, kind: Kind, format: &'static str) -> InputReport {
        InputReport {
            path,
            kind,
            format,
            lines: 0,
            unparsed: 0,
            untimed: 0,
            error: None,
            envelope: None,
            hop_of: None,
        }
    }

    /// An input that could not be read at all: `why` says why.
    pub fn unread(path: String, why: String) -> InputReport {
        InputReport {
            error: Some(why),
            ..InputReport::new(path, Kind::Unknown, Detected::Unknown.format_name())
        }
    }

    /// Why an `unknown` input was not read as a log; `None` for every other kind.
    pub fn reason(&self) -> Option<&str> {
        if self.kind != Kind::Unknown {
            return None;
        }
        Some(match (&self.error, self.format) {
            (Some(e), _) => e.as_str(),
            (None, EMPTY) => EMPTY,
            (None, _) => "not a log format fivehundred reads",
        })
    }

    /// Whether nothing in it could be read as a log: unknown, and not merely empty.
    pub fn is_skipped(&self) -> bool {
        self.kind == Kind::Unknown && self.reason() != Some(EMPTY)
    }
}

impl Serialize for InputReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut m = s.serialize_struct("InputReport", 9)?;
        m.serialize_field("path", &self.path)?;
        m.serialize_field("kind", &self.kind)?;
        m.serialize_field("format", self.format)?;
        m.serialize_field("lines", &self.lines)?;
        m.serialize_field("unparsed", &self.unparsed)?;
        match self.untimed {
            0 => m.skip_field("untimed")?,
            n => m.serialize_field("untimed", &n)?,
        }
        // For an input not read at all, its error is its reason, said once.
        match (self.reason(), &self.error) {
            (Some(r), _) => m.serialize_field("reason", r)?,
            (None, Some(e)) => m.serialize_field("error", e)?,
            (None, None) => m.skip_field("error")?,
        }
        match self.envelope {
            Some(e) => m.serialize_field("envelope", e)?,
            None => m.skip_field("envelope")?,
        }
        match &self.hop_of {
            Some(proxy) => m.serialize_field("hop_of", proxy)?,
            None => m.skip_field("hop_of")?,
        }
        m.end()
    }
}

/// A 5xx answer from an access log. Compact, because a big log holds hundreds of thousands:
/// its texts are [`Sym`]s into the scan's [`Strings`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response {
    pub time: Stamp,
    pub status: u16,
    pub input: u32,
    /// Where in its input the line stands (block number and line in it): the order of
    /// responses logged in the same millisecond.
    pub place: u64,
    pub client: Client,
    /// The request's path, without the query string (all that matching and reports use;
    /// queries would make nearly every 5xx a string of its own).
    pub path: Sym,
    pub vhost: Option<Sym>,
    /// Where the line says itself why it failed (HAProxy's termination state).
    pub reason: Option<OwnReason>,
    /// The request's id, where the access format logs one (nginx's `$request_id`).
    pub request_id: Option<Sym>,
}

/// A response's own reason for failing, as its format wrote it, and its whole line: the
/// evidence shown for the cause the reason names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnReason {
    pub reason: Sym,
    pub line: Sym,
}

/// Who sent a request: an address in 16 bytes (most clients of a 5xx burst are distinct, so
/// their text would cost more than the rest of a response), or whatever else was logged (a
/// host name, `-`) among the scan's strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Client {
    Ip(IpAddr),
    Name(Sym),
}

impl Client {
    pub fn new(text: &str, strings: &mut Strings) -> Client {
        text.parse()
            .map_or_else(|_| Client::Name(strings.intern(text)), Client::Ip)
    }

    /// The address as text.
    pub fn text<'s>(&self, strings: &'s Strings) -> Cow<'s, str> {
        match self {
            Client::Ip(ip) => Cow::Owned(ip.to_string()),
            Client::Name(sym) => Cow::Borrowed(strings.get(*sym)),
        }
    }
}

impl Response {
    fn from_record(
        (r, line): (&AccessRecord<'_>, &[u8]),
        input: usize,
        place: u64,
        strings: &Mutex<Strings>,
    ) -> Response {
        let (client, path, vhost) = (
            clean_text(&r.client),
            clean_text(r.path()),
            r.vhost.as_deref().map(clean_text),
        );
        let mut strings = strings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Response {
            time: r.time,
            status: r.status,
            input: input as u32,
            place,
            client: Client::new(&client, &mut strings),
            path: strings.intern(&path),
            vhost: vhost.map(|v| strings.intern(&v)),
            reason: r.reason.as_deref().map(|reason| OwnReason {
                reason: strings.intern(&clean_text(reason)),
                line: strings.intern(&clean_text(line)),
            }),
            request_id: r
                .request_id
                .as_deref()
                .map(|id| strings.intern(&clean_text(id))),
        }
    }
}

/// The 5xx responses: kept in the chunks the parsers made (laying them end to end would
/// need their memory twice over at the moment it is done), read in time order.
#[derive(Debug, Default)]
pub struct Responses {
    chunks: Vec<Vec<Response>>,
    /// (chunk, index) of every response, in time order.
    order: Vec<(u32, u32)>,
}

impl Responses {
    /// Responses gathered elsewhere (`watch`'s live batches), put in time order.
    pub fn from_vec(list: Vec<Response>) -> Responses {
        let mut r = Responses::default();
        r.push_chunk(list);
        r.sort();
        r
    }

    fn push_chunk(&mut self, chunk: Vec<Response>) {
        let c = self.chunks.len() as u32;
        self.order.extend((0..chunk.len() as u32).map(|i| (c, i)));
        self.chunks.push(chunk);
    }

    fn get(&self, (c, i): (u32, u32)) -> &Response {
        &self.chunks[c as usize][i as usize]
    }

    /// Orders them by time; input and place make every key distinct, so an unstable sort
    /// (no scratch memory) is as deterministic as a stable one.
    fn sort(&mut self) {
        let mut order = std::mem::take(&mut self.order);
        order.sort_unstable_by_key(|&at| {
            let r = self.get(at);
            (r.time, r.input, r.place)
        });
        self.order = order;
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Response> {
        self.order.iter().map(|&at| self.get(at))
    }
}

/// A string in [`Strings`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Sym(u32);

/// The texts 5xx responses share (paths and hosts repeat a lot), each stored once.
#[derive(Debug, Default)]
pub struct Strings {
    index: HashMap<Arc<str>, Sym>,
    list: Vec<Arc<str>>,
}

impl Strings {
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.index.get(s) {
            return sym;
        }
        let sym = Sym(self.list.len() as u32);
        let shared: Arc<str> = Arc::from(s);
        self.list.push(Arc::clone(&shared));
        self.index.insert(shared, sym);
        sym
    }

    pub fn get(&self, sym: Sym) -> &str {
        &self.list[sym.0 as usize]
    }
}

/// Everything read from the inputs.
#[derive(Default)]
pub struct Scan {
    pub inputs: Vec<InputReport>,
    pub requests: u64,
    pub by_status: BTreeMap<u16, u64>,
    /// The 5xx responses, read in time order.
    pub responses: Responses,
    /// The texts the responses refer to.
    pub strings: Strings,
    /// Error-log records already read (`watch`'s live batches), in time order.
    pub errors: Vec<ErrorEvent>,
    /// Error logs detected but not yet read: `diagnose` streams them through the engine.
    pub pending_errors: Option<crate::engine::stream::Pending>,
    /// The newest access-log time.
    pub newest_access: Option<Stamp>,
    /// Requests per virtual host of the CLF-family lines that name one (`vhost_combined`),
    /// counted as they are read (other formats' hosts are [`crate::line_figures`]'s).
    pub hosts: crate::host_requests::HostTally,
    /// Per access input, the line each of its blocks starts on (0-based), for telling where
    /// a response's line stands.
    pub block_starts: HashMap<usize, Vec<u64>>,
    /// Per enveloped input, where each of its lines came from.
    pub origins: HashMap<usize, Origins>,
    /// Per access input, its head's sample, until the scan has told which is another's hop.
    pub hop_samples: Vec<(usize, HopSample)>,
    /// The filters it was read with: what error records' incidents must match too.
    pub scope: Arc<Scope>,
}

impl Scan {
    /// The newest time any line carries, in ms (the reference for `--since 2h`).
    pub fn newest(&self) -> Option<i64> {
        let access = self.newest_access.map(|t| t.ms);
        let error = self
            .errors
            .iter()
            .filter_map(|e| e.time)
            .map(|t| t.ms)
            .max();
        access.max(error)
    }

    /// The 1-based line of its input a response stands on (0 where not known: `watch`).
    pub fn response_line(&self, r: &Response) -> u64 {
        let (block, line) = ((r.place >> 32) as usize, r.place & 0xffff_ffff);
        self.block_starts
            .get(&(r.input as usize))
            .and_then(|starts| starts.get(block))
            .map_or(0, |start| start + line + 1)
    }

    /// The error logs still to read, started with the scan's options if none was yet.
    fn pending_errors(&mut self, opts: &ScanOptions) -> &mut crate::engine::stream::Pending {
        self.pending_errors
            .get_or_insert_with(|| crate::engine::stream::Pending {
                inputs: Vec::new(),
                tz: opts.tz.clone(),
                window: opts.window,
                threads: opts.threads,
                progress: opts.progress.clone(),
                origins: Default::default(),
            })
    }

    /// Notes the envelope input `index` was read from: in its report, and its lines' origins.
    fn note_envelope(&mut self, index: usize, enveloped: Enveloped) {
        // A mixed file's two reports stand from `index` on.
        for (at, report) in self.inputs.iter_mut().enumerate().skip(index) {
            report.envelope = Some(enveloped.envelope.name());
            self.origins.insert(at, enveloped.origins.clone());
        }
    }

    /// Where a response's line came from, as its envelope said: the machine and the program
    /// or container.
    pub fn envelope_origin(&self, r: &Response) -> Option<Origin> {
        self.origin_at(r.input as usize, self.response_line(r))
    }

    /// Where the 1-based `line` of an input came from, as its envelope said (as far as the
    /// scan read it).
    pub fn origin_at(&self, input: usize, line: u64) -> Option<Origin> {
        self.origins.get(&input)?.at(line)
    }

    /// Finds the access inputs that are another's upstream hop, says so in their reports, and
    /// returns them.
    fn note_hops(&mut self) -> Vec<usize> {
        // Needed no more once told.
        let taken = std::mem::take(&mut self.hop_samples);
        let samples: Vec<&HopSample> = taken.iter().map(|(_, s)| s).collect();
        let found: Vec<(usize, usize)> = hop::hops(&samples)
            .into_iter()
            .zip(&taken)
            .filter_map(|(proxy, (input, _))| Some((*input, taken[proxy?].0)))
            .collect();
        for &(input, proxy) in &found {
            let path = self.inputs.get(proxy).map(|p| p.path.clone());
            if let Some(report) = self.inputs.get_mut(input) {
                report.hop_of = path;
            }
        }
        found.into_iter().map(|(input, _)| input).collect()
    }

    /// Whether any access log was read (else incidents come from error events alone).
    pub fn has_access_logs(&self) -> bool {
        self.inputs.iter().any(|i| i.kind == Kind::Access)
    }
}

/// How many lines of a file's head decide its format: its whole first block, in practice
/// (dozens of PHP notices, a banner or a damaged stretch at the head of an access log must not
/// make it read as something else).
const SAMPLE_LINES: usize = 1 << 16;

/// Reads all sources. Access-log blocks of every input go to one pool of parser threads,
/// so small files keep both cores busy too, and error logs are read on this thread while
/// the pool works.
pub fn scan(sources: &[Source], opts: &ScanOptions) -> Result<Scan, ReadError> {
    scan_with(sources, opts, &()).map(|(scan, ())| scan)
}

/// [`scan`], with `observer` shown every access-log block as well; returns its tally too.
pub fn scan_with<O: BlockObserver>(
    sources: &[Source],
    opts: &ScanOptions,
    observer: &O,
) -> Result<(Scan, O::Tally), ReadError> {
    let mut out = Scan {
        scope: Arc::clone(&opts.scope),
        ..Scan::default()
    };
    let total: Option<u64> = sources.iter().map(read::size).sum();
    opts.progress.set_length(total.unwrap_or(0));
    opts.progress.reset();
    let observed = std::thread::scope(|scope| {
        let pool = ParserPool::start(scope, opts, observer);
        let read = read_all(sources, opts, &pool, &mut out);
        let (tallies, strings, observed) = pool.finish();
        let hops = out.note_hops();
        for (input, tally) in tallies {
            // An application server's requests, with its proxy's access log read: the same
            // requests' second hop, read but not counted twice.
            tally.add_to(&mut out, input, !hops.contains(&input));
        }
        out.strings = strings;
        read.map(|()| observed)
    })?;
    // With error logs still to read, the bar goes on while they are.
    if out.pending_errors.is_none() {
        opts.progress.finish_and_clear();
    }
    out.responses.sort();
    Ok((out, observed))
}

fn read_all<O: BlockObserver>(
    sources: &[Source],
    opts: &ScanOptions,
    pool: &ParserPool<'_, O>,
    out: &mut Scan,
) -> Result<(), ReadError> {
    for source in sources {
        // A mixed file has two reports: an input's index is where its report goes.
        let index = out.inputs.len();
        opts.progress.set_message(source.name.clone());
        let opened = read::open_raw(source).and_then(|raw| {
            // Counting bytes for the bar costs a zero-fill per read; only pay it when it shows.
            let raw: Box<dyn Read + Send> = if opts.progress.is_hidden() {
                raw
            } else {
                Box::new(opts.progress.wrap_read(raw))
            };
            read::decode(source, raw)
        });
        let (reader, enveloped) = match opened {
            Ok(r) => r,
            // A file could be opened when the arguments were expanded: one gone now was
            // rotated away or deleted meanwhile, which must not end the run. Stdin's
            // failure is the run's. The caller says it on stderr, with the other inputs not
            // read.
            Err(e) if source.path.is_some() => {
                out.inputs
                    .push(InputReport::unread(source.name.clone(), e.reason()));
                continue;
            }
            Err(e) => return Err(e),
        };
        // A stream that fails part-way (a `.gz` cut off by a full disk or a rotation in
        // progress) keeps what was read before the failure, and the other inputs are read.
        // One not read at all is said by the caller, with the other inputs not read.
        let read_some = |out: &Scan| out.inputs.last().is_some_and(|i| !i.is_skipped());
        let scanned = scan_one(source, index, reader, opts, pool, out);
        if let Some(e) = enveloped {
            out.note_envelope(index, e);
        }
        if let Err(error) = scanned
            && read_some(out)
        {
            let e = ReadError::Io {
                path: source.name.clone(),
                error,
            };
            warn(opts, format!("{e} (the lines before it were read)"));
        }
    }
    Ok(())
}

/// One line on stderr, above the progress bar; once per run even though `--since 2h` reads
/// the inputs twice.
fn warn(opts: &ScanOptions, message: String) {
    static SHOWN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let first_time = SHOWN
        .lock()
        .map_or(true, |mut shown| shown.insert(message.clone()));
    if first_time {
        opts.progress.suspend(|| warning(&message));
    }
}

/// One warning line on stderr, control characters escaped: messages quote paths and values
/// as given.
pub fn warning(message: &str) {
    eprintln!("fivehundred: warning: {}", read::escape_controls(message));
}

/// Reads one input into `out`; its report is added even when reading fails part-way, with
/// what was read before the failure. A file whose lines are access and error lines of one
/// server (a container's single stream) is read twice from the same bytes: as an access log
/// whose error lines are skipped, then as an error log whose access lines are, each with its
/// own report, next to each other in `inputs`.
fn scan_one<O: BlockObserver>(
    source: &Source,
    index: usize,
    reader: Box<dyn Read + Send>,
    opts: &ScanOptions,
    pool: &ParserPool<'_, O>,
    out: &mut Scan,
) -> std::io::Result<()> {
    let mut blocks = Blocks::new(reader);
    let (first, failed) = match blocks.next_block() {
        Ok(b) => (b.unwrap_or_default(), None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let detected = detect(
        read::lines(&first).take(SAMPLE_LINES),
        opts.access_format.as_ref(),
    )
    .in_zone(&opts.tz);
    // Stdin cannot be read twice: it is read as what most of it is.
    let mixed = source
        .path
        .as_ref()
        .and_then(|_| mixed(&first, &detected, opts.access_format.as_ref()));
    let (detected, skip) = match mixed {
        Some((access, error)) => (Detected::Access(access.in_zone(&opts.tz)), Some(error)),
        None => (detected, None),
    };
    // A file with no line (or only blank ones) is unknown too, but says why.
    let format = if detected == Detected::Unknown && failed.is_none() && is_blank(&first) {
        EMPTY
    } else {
        detected.format_name()
    };
    let mut report = InputReport::new(source.name.clone(), detected.kind(), format);
    let (result, oversized) = match (&detected, failed) {
        (_, Some(e)) => (Err(e), blocks.oversized),
        (Detected::Access(format), None) => {
            out.hop_samples.push((index, HopSample::of(format, &first)));
            let mut rest = BlockSource::after(&first, blocks, source.path.as_deref());
            let job = Arc::new(JobFormat {
                format: format.clone(),
                skip: skip.filter(|_| opts.error_logs),
            });
            let parsed = pool.parse(Block::Owned(first), &mut rest, job, index, opts);
            (parsed, rest.oversized())
        }
        (Detected::Error(format), None) if opts.error_logs => {
            let input = ErrorInput::new(index, *format, source, first, blocks, &opts.tz);
            out.pending_errors(opts).inputs.push(input);
            (Ok(()), 0)
        }
        (Detected::Error(_) | Detected::Unknown, None) => (Ok(()), blocks.oversized),
    };
    report.unparsed += oversized;
    report.lines += oversized;
    report.error = result.as_ref().err().map(ToString::to_string);
    out.inputs.push(report);
    if let (Some(error), Detected::Access(access), true) = (skip, &detected, opts.error_logs) {
        let path = source.name.clone();
        out.inputs
            .push(InputReport::new(path, error.kind(), error.name()));
        let mut input = ErrorInput::reopened(index + 1, error, source, &opts.tz);
        input.skip = Some(access.clone());
        out.pending_errors(opts).inputs.push(input);
    }
    result
}

/// The access and error formats of a file whose head holds lines of both (a container's
/// stdout and stderr in one stream): the lines the detected format does not read are
/// detected on their own, and are of the other kind. Only a web server's own error log
/// (nginx's, Apache's) mixes so; PHP's notices in an access log are lines it does not read.
fn mixed(
    first: &[u8],
    detected: &Detected,
    custom: Option<&AccessFormat>,
) -> Option<(AccessFormat, ErrorFormat)> {
    let mut clock = ClfClock::default();
    let sample = read::lines(first).take(MIXED_SAMPLE);
    match detected {
        Detected::Access(a) => {
            let unread = sample.filter(|l| a.head(l, &mut clock).is_none());
            match detect(unread, None) {
                Detected::Error(e) if e.mixes_with_access() => Some((a.clone(), e)),
                _ => None,
            }
        }
        Detected::Error(e) if e.mixes_with_access() => match e.own_access() {
            // An application server's own request lines, however few among its tracebacks.
            Some(a) => {
                let mut sample = sample;
                sample
                    .any(|l| a.head(l, &mut clock).is_some())
                    .then_some((a, *e))
            }
            None => {
                let unread = sample.filter(|l| !e.is_header(l));
                match detect(unread, custom) {
                    Detected::Access(a) => Some((a, *e)),
                    _ => None,
                }
            }
        },
        Detected::Error(_) | Detected::Unknown => None,
    }
}

/// Lines of a file's head looked at for lines of the other kind.
const MIXED_SAMPLE: usize = 4096;

/// Whether a block holds nothing but blank lines.
fn is_blank(block: &[u8]) -> bool {
    read::lines(block).all(|l| l.trim_ascii().is_empty())
}

/// What one block of an access log adds up to.
#[derive(Default)]
struct AccessTally {
    lines: u64,
    unparsed: u64,
    requests: u64,
    by_status: BTreeMap<u16, u64>,
    /// One chunk per block, each allocated to size, moved and never copied (a growing vector
    /// would hold up to twice their memory).
    responses: Vec<Vec<Response>>,
    newest: Option<Stamp>,
    /// Lines per block, by block number.
    block_lines: Vec<(u64, u64)>,
    hosts: crate::host_requests::HostTally,
}

impl AccessTally {
    /// Adds one input's tally to the scan (its report is `out.inputs[input]`); its requests
    /// and responses only if `counted`.
    fn add_to(self, out: &mut Scan, input: usize, counted: bool) {
        if let Some(report) = out.inputs.get_mut(input) {
            report.lines += self.lines;
            report.unparsed += self.unparsed;
        }
        if counted {
            out.requests += self.requests;
            for (s, n) in self.by_status {
                *out.by_status.entry(s).or_default() += n;
            }
            for chunk in self.responses {
                out.responses.push_chunk(chunk);
            }
            out.hosts.merge(self.hosts);
        }
        out.newest_access = out.newest_access.max(self.newest);
        let mut blocks = self.block_lines;
        blocks.sort_unstable();
        let mut line = 0;
        let starts = blocks
            .into_iter()
            .map(|(_, n)| {
                let start = line;
                line += n;
                start
            })
            .collect();
        out.block_starts.insert(input, starts);
    }

    fn merge(&mut self, other: AccessTally) {
        self.newest = self.newest.max(other.newest);
        self.lines += other.lines;
        self.unparsed += other.unparsed;
        self.requests += other.requests;
        for (s, n) in other.by_status {
            *self.by_status.entry(s).or_default() += n;
        }
        self.responses.extend(other.responses);
        self.block_lines.extend(other.block_lines);
        self.hosts.merge(other.hosts);
    }
}

/// Parses one block in `format`, and lines it does not read in `also` where given (see
/// [`tally_block_any`]); statuses are counted in a flat array first because a map lookup per
/// line would dominate the parse. A directive line (W3C's `#Fields:`) changes `format` for the
/// lines after it, and is neither a request nor unparsed. Lines out of `scope` are read, not
/// counted.
fn tally_block(
    block: &[u8],
    (format, also): (&AccessFormat, Option<&AccessFormat>),
    skip: Option<ErrorFormat>,
    (index, block_no, window, scope): Place<'_>,
    strings: &Mutex<Strings>,
) -> AccessTally {
    let mut format = Cow::Borrowed(format);
    let mut t = AccessTally::default();
    let mut counts = [0u64; 1000];
    let mut newest: Option<Stamp> = None;
    let mut clock = ClfClock::default();
    let mut responses = Vec::new();
    let filtered = scope.filters_lines();
    for (line_no, line) in read::lines(block).enumerate() {
        t.lines += 1;
        // A CLF line's host comes with its head, split once (`vhost_combined`'s first field).
        let head = match format.head_host(line, &mut clock) {
            Some(head) => Some((&*format, head)),
            None => also.and_then(|f| f.head_host(line, &mut clock).map(|head| (f, head))),
        };
        match head {
            Some((format, (time, status, host))) if window.contains(time) => {
                newest = newest.max(Some(time));
                // Only a 5xx is parsed (to keep it), unless a filter must see the line first: a
                // host or path filter parses the 5xx it admits twice, so that the loop without
                // one moves no record on every line.
                if filtered && !scope.admits_line(format, line, status) {
                    continue;
                }
                counts[usize::from(status)] += 1;
                if let Some(host) = host {
                    t.hosts.add(host, 1);
                }
                if (500..600).contains(&status)
                    && let Some(r) = format.parse(line)
                {
                    let place = block_no << 32 | line_no as u64;
                    responses.push(Response::from_record((&r, line), index, place, strings));
                }
            }
            Some(_) => {}
            None if line.trim_ascii().is_empty() => {}
            // A mixed file's error lines, read as its error log (an application's, all its
            // lines but its requests: a traceback's lines are no header).
            None if skip.is_some_and(|f| f.kind() == Kind::App || f.is_header(line)) => {}
            None => match format.directive(line) {
                Some(FormatDirective::Format(next)) => format = Cow::Owned(next),
                Some(FormatDirective::Other) => {}
                None => t.unparsed += 1,
            },
        }
    }
    t.newest = newest;
    t.block_lines.push((block_no, t.lines));
    if !responses.is_empty() {
        responses.shrink_to_fit();
        t.responses.push(responses);
    }
    for (status, &n) in counts.iter().enumerate().filter(|(_, n)| **n > 0) {
        t.requests += n;
        t.by_status.insert(status as u16, n);
    }
    t
}

/// Where a block stands and what of it counts: its input, its number, the window, the scope.
type Place<'s> = (usize, u64, Window, &'s Scope);

/// Lines of a block its file's format does not read from which on they are looked at for
/// another access format, though they are fewer than its lines in that format: more than a
/// crash's cut lines make (one in tens of thousands), as many as a log_format changed at a
/// reload leaves in the block it happens in.
const FOREIGN_LINES: u64 = 64;

/// [`tally_block`] in the file's format; where many of a block's lines are not in it (a log
/// whose format changed at a reload, after a banner, or a stretch written by another server),
/// each of its lines in the file's format or else in the one the others are in, if that is
/// another access format: what is a log line is read wherever it is, not only at the head.
/// Returns the tally, and that other format where it was used.
fn tally_block_any(
    block: &[u8],
    job: &JobFormat,
    place: Place<'_>,
    tz: &TimeZone,
    strings: &Mutex<Strings>,
) -> (AccessTally, Option<AccessFormat>) {
    let (format, skip) = (&job.format, job.skip);
    let t = tally_block(block, (format, None), skip, place, strings);
    if t.unparsed < FOREIGN_LINES && t.unparsed * 2 <= t.lines {
        return (t, None);
    }
    // What the lines the file's format does not read are in (among the built-in formats: a
    // custom format is the file's, which reads none of them).
    let mut clock = ClfClock::default();
    let unread = read::lines(block).filter(|l| format.head(l, &mut clock).is_none());
    match detect(unread, None) {
        Detected::Access(own) if own != *format => {
            let own = own.in_zone(tz);
            let t = tally_block(block, (format, Some(&own)), skip, place, strings);
            (t, Some(own))
        }
        _ => (t, None),
    }
}

/// How to read an access input's blocks: its format, and for a mixed file the format of its
/// error lines, skipped (read as its error log), not counted unparsed.
struct JobFormat {
    format: AccessFormat,
    skip: Option<ErrorFormat>,
}

/// One block of an access log to parse.
struct Job {
    input: usize,
    block_no: u64,
    format: Arc<JobFormat>,
    block: Block,
}

/// What one parser thread counted: per input, and the observer's.
type ThreadTally<O> = (HashMap<usize, AccessTally>, <O as BlockObserver>::Tally);

/// Parses access logs on every core: the reading thread hands blocks to one parser thread
/// per core through a short queue (so reading and parsing overlap, and memory stays
/// bounded), and takes parsed blocks back for reuse. Tallies add up the same in any order,
/// and responses carry their place in the file, so the result does not depend on which
/// thread parsed what.
struct ParserPool<'scope, O: BlockObserver> {
    work: mpsc::SyncSender<Job>,
    returned: mpsc::Receiver<Block>,
    threads: Vec<std::thread::ScopedJoinHandle<'scope, ThreadTally<O>>>,
    /// Shared by the parsers: one lock per 5xx line, a few percent of lines.
    strings: Arc<Mutex<Strings>>,
}

impl<'scope, O: BlockObserver> ParserPool<'scope, O> {
    fn start<'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        opts: &'env ScanOptions,
        observer: &'env O,
    ) -> Self {
        let (window, tz) = (opts.window, &opts.tz);
        let threads = opts.threads.max(1);
        let (work, queue) = mpsc::sync_channel::<Job>(threads);
        let queue = Arc::new(Mutex::new(queue));
        let (give_back, returned) = mpsc::channel::<Block>();
        let strings = Arc::new(Mutex::new(Strings::default()));
        let threads = (0..threads)
            .map(|_| {
                let (queue, give_back) = (Arc::clone(&queue), give_back.clone());
                let strings = Arc::clone(&strings);
                scope.spawn(move || {
                    let mut tallies: HashMap<usize, AccessTally> = HashMap::new();
                    let mut observed = O::Tally::default();
                    while let Some(job) = next_job(&queue) {
                        let (block, format) = (&job.block, &job.format.format);
                        let place = (job.input, job.block_no, window, &*opts.scope);
                        let (t, also) = tally_block_any(block, &job.format, place, tz, &strings);
                        tallies.entry(job.input).or_default().merge(t);
                        let changes = format.changes(block);
                        let at = BlockAt {
                            format,
                            also: also.as_ref(),
                            input: job.input,
                            block_no: job.block_no,
                            window,
                            scope: &opts.scope,
                            changes: &changes,
                        };
                        observer.observe(block, &at, &mut observed);
                        let _ = give_back.send(job.block);
                    }
                    (tallies, observed)
                })
            })
            .collect();
        ParserPool {
            work,
            returned,
            threads,
            strings,
        }
    }

    /// Queues every block of one input; returns the read error that ended it early, if any
    /// (the lines read before it still count).
    fn parse(
        &self,
        first: Block,
        blocks: &mut BlockSource,
        format: Arc<JobFormat>,
        input: usize,
        opts: &ScanOptions,
    ) -> std::io::Result<()> {
        let mut next = Some(first);
        let mut block_no = 0u64;
        let mut format = format;
        while let Some(block) = next {
            // A mapped file is not read through the progress bar's counting reader.
            if let Block::Mapped(..) = block {
                opts.progress.inc(block.len() as u64);
            }
            // The format this block ends in is the one the next starts in (W3C's `#Fields:`).
            let after = format.format.after(&block).map(|f| {
                Arc::new(JobFormat {
                    format: f,
                    skip: format.skip,
                })
            });
            let job = Job {
                input,
                block_no,
                format: Arc::clone(&format),
                block,
            };
            if let Some(after) = after {
                format = after;
            }
            if self.work.send(job).is_err() {
                break;
            }
            block_no += 1;
            self.returned.try_iter().for_each(|b| blocks.recycle(b));
            next = blocks.next_block()?;
        }
        Ok(())
    }

    /// Waits for the parsers; each input's tally, the texts their responses refer to, and the
    /// observer's tally.
    fn finish(self) -> (BTreeMap<usize, AccessTally>, Strings, O::Tally) {
        drop(self.work);
        let mut total: BTreeMap<usize, AccessTally> = BTreeMap::new();
        let mut observed = O::Tally::default();
        for t in self.threads {
            let (tallies, more) = t.join().expect("a parser thread panicked");
            for (input, tally) in tallies {
                total.entry(input).or_default().merge(tally);
            }
            O::merge(&mut observed, more);
        }
        let strings = Arc::into_inner(self.strings)
            .expect("the parsers are done")
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (total, strings, observed)
    }
}

/// The next block for a parser thread; `None` once reading is done. The lock is held only to
/// take one block.
fn next_job(queue: &Mutex<mpsc::Receiver<Job>>) -> Option<Job> {
    queue.lock().ok()?.recv().ok()
}

/// The most continuation text one error record keeps: PHP stack traces are a few KB, a
/// hostile stream of headerless lines must not grow one record without bound.
pub const MAX_RECORD: usize = 64 << 10;

/// Puts an error log's lines back into records: a header line and the continuation lines
/// after it (a PHP stack trace). Shared by the scan and `watch`, which feeds it lines as they
/// come and flushes the last record when the log goes quiet.
#[derive(Debug)]
pub struct ErrorRecords {
    format: ErrorFormat,
    record: Vec<u8>,
    /// Lines taken so far, and the 1-based line the record being put together starts on.
    lines: u64,
    start: u64,
}

/// What one line did to the record being put together.
pub enum LineFate {
    /// Started a record or continued one.
    Kept,
    /// A blank line.
    Blank,
    /// Not part of any record (no header before it, or the record is full).
    Orphan,
}

impl ErrorRecords {
    pub fn new(format: ErrorFormat) -> ErrorRecords {
        ErrorRecords {
            format,
            record: Vec::new(),
            lines: 0,
            start: 0,
        }
    }

    pub fn format(&self) -> ErrorFormat {
        self.format
    }

    /// Takes one line; a header line first hands the record it ends to `done`, with the line
    /// that record starts on.
    pub fn push(&mut self, line: &[u8], done: impl FnOnce(&[u8], u64)) -> LineFate {
        self.lines += 1;
        if self.format.is_header(line) {
            if !self.record.is_empty() {
                done(&self.record, self.start);
            }
            self.record.clear();
            self.record.extend_from_slice(line);
            self.start = self.lines;
            LineFate::Kept
        } else if line.trim_ascii().is_empty() {
            LineFate::Blank
        } else if !self.record.is_empty() && self.record.len() + line.len() < MAX_RECORD {
            self.record.push(b'\n');
            self.record.extend_from_slice(line);
            LineFate::Kept
        } else {
            LineFate::Orphan
        }
    }

    /// Whether `line` would go into the record being put together as one of its
    /// continuation lines (a stack trace's), rather than start one.
    pub fn continues(&self, line: &[u8]) -> bool {
        self.pending() && !self.format.is_header(line) && !line.trim_ascii().is_empty()
    }

    /// Hands over the record being put together, if any (at the end of the input).
    pub fn flush(&mut self, done: impl FnOnce(&[u8], u64)) {
        if !self.record.is_empty() {
            done(&self.record, self.start);
            self.record.clear();
        }
    }

    /// Whether a record is waiting for more lines.
    pub fn pending(&self) -> bool {
        !self.record.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ScanOptions {
        ScanOptions {
            tz: TimeZone::UTC,
            window: Window::default(),
            access_format: None,
            progress: ProgressBar::hidden(),
            threads: 2,
            error_logs: true,
            scope: Arc::default(),
        }
    }

    fn scan_text(text: &[u8]) -> Scan {
        let mut out = Scan::default();
        let src = Source {
            name: "t".into(),
            path: None,
        };
        let opts = opts();
        std::thread::scope(|scope| {
            let pool = ParserPool::start(scope, &opts, &());
            let reader = Box::new(std::io::Cursor::new(text.to_vec()));
            scan_one(&src, 0, reader, &opts, &pool, &mut out).unwrap();
            let (tallies, strings, ()) = pool.finish();
            for (input, tally) in tallies {
                tally.add_to(&mut out, input, true);
            }
            out.strings = strings;
        });
        out
    }

    #[test]
    fn a_vhost_combined_lines_host_is_counted_as_incidents_name_it() {
        let line = |host: &str, status: u16| {
            format!(
                "{host} 10.0.0.1 - - [25/Nov/2026:14:00:03 +0000] \"GET / HTTP/1.1\" {status} 12 \"-\" \"x\"\n"
            )
        };
        let log = [
            line("Shop.Example.com:443", 200),
            line("shop.example.com", 502),
            line("blog.example.com:80", 200),
        ]
        .concat();
        let top: Vec<(String, u64)> = scan_text(log.as_bytes())
            .hosts
            .top()
            .into_iter()
            .map(|h| (h.host, h.requests))
            .collect();
        let want = [("shop.example.com", 2), ("blog.example.com", 1)];
        assert_eq!(top, want.map(|(h, n)| (h.to_owned(), n)));
        // A `combined` log names no host.
        let combined =
            b"10.0.0.1 - - [25/Nov/2026:14:00:03 +0000] \"GET / HTTP/1.1\" 200 12 \"-\" \"x\"\n";
        assert!(scan_text(combined).hosts.top().is_empty());
    }

    #[test]
    fn access_counts_and_5xx() {
        let log =
            b"1.2.3.4 - - [25/Nov/2026:14:00:03 +0000] \"GET /a HTTP/1.1\" 200 1 \"-\" \"x\"\n\
                    garbage\xff\n\
                    1.2.3.4 - - [25/Nov/2026:14:00:04 +0000] \"GET /b HTTP/1.1\" 502 1 \"-\" \"x\"";
        let s = scan_text(log);
        assert_eq!((s.requests, s.responses.len()), (2, 1));
        assert_eq!((s.inputs[0].lines, s.inputs[0].unparsed), (3, 1));
        assert_eq!(s.strings.get(s.responses.iter().next().unwrap().path), "/b");
    }

    #[test]
    fn error_logs_are_left_to_the_engine_with_their_head() {
        let log =
            b"[25-Nov-2026 14:00:03 UTC] PHP Fatal error:  Uncaught Exception: x in /a.php:3\n\
                    Stack trace:\n#0 {main}\n  thrown in /a.php on line 3\n";
        let s = scan_text(log);
        let mut pending = s.pending_errors.expect("an error log waits to be streamed");
        assert_eq!(pending.inputs.len(), 1);
        // Stdin cannot be read again: what was read to detect it is kept.
        let (first, _, _) = pending.inputs.remove(0).open().unwrap();
        assert_eq!(first, log);
        assert_eq!(s.inputs[0].kind, Kind::PhpError);
    }

    #[test]
    fn a_file_gone_since_the_arguments_were_read_is_skipped() {
        // Used to end the run with exit 2 (logrotate deleting the oldest file meanwhile).
        let dir = tempfile::tempdir().unwrap();
        let here = dir.path().join("access.log");
        std::fs::write(
            &here,
            "1.2.3.4 - - [25/Nov/2026:14:00:03 +0000] \"GET / HTTP/1.1\" 500 1\n",
        )
        .unwrap();
        let sources: Vec<Source> = [dir.path().join("access.log.9.gz"), here]
            .into_iter()
            .map(|p| Source {
                name: p.display().to_string(),
                path: Some(p),
            })
            .collect();
        let s = scan(&sources, &opts()).unwrap();
        assert_eq!(s.inputs.len(), 2);
        assert_eq!(s.inputs[0].kind, Kind::Unknown);
        assert!(
            s.inputs[0]
                .error
                .as_deref()
                .unwrap()
                .contains("No such file")
        );
        assert_eq!(s.responses.len(), 1);
    }

    #[test]
    fn a_gz_cut_off_keeps_what_was_read_and_the_other_inputs() {
        // A truncated `.gz` used to end the whole run with exit 2, every other input unread.
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let line = |i: usize| {
            format!(
                "1.2.3.4 - - [25/Nov/2026:14:00:03 +0000] \"GET /p{i} HTTP/1.1\" 500 1 \"-\" \"{}\"\n",
                i * 7919 % 10007
            )
        };
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for i in 0..5000 {
            gz.write_all(line(i).as_bytes()).unwrap();
        }
        let full = gz.finish().unwrap();
        let cut = dir.path().join("access.log.2.gz");
        std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
        let plain = dir.path().join("access.log");
        std::fs::write(&plain, line(1)).unwrap();
        let sources: Vec<Source> = [cut, plain]
            .into_iter()
            .map(|p| Source {
                name: p.display().to_string(),
                path: Some(p),
            })
            .collect();
        let s = scan(&sources, &opts()).unwrap();
        let cut_report = &s.inputs[0];
        assert_eq!(cut_report.kind, Kind::Access);
        assert!(cut_report.error.is_some(), "{cut_report:?}");
        assert!(
            cut_report.lines > 100 && cut_report.lines < 5000,
            "{cut_report:?}"
        );
        // Every whole line read is a 500; only the cut one can be unparsed.
        assert!(cut_report.unparsed <= 1);
        assert_eq!(s.inputs[1].lines, 1);
        assert_eq!(s.requests, cut_report.lines - cut_report.unparsed + 1);
        assert_eq!(s.responses.len() as u64, s.requests);
    }
}
