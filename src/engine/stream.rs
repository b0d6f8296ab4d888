//! Error logs as one time-ordered stream of [`Unit`]s, read in bounded memory on every core.
//!
//! - One reader thread per error input reads its blocks, moves the continuation lines that
//!   start a block (the end of a stack trace) back to the record they belong to, counts its
//!   lines, and hands the block to the parser threads. It may have at most [`CREDIT`] blocks
//!   in flight, so a log that runs ahead of the others in time waits instead of piling up.
//! - The parser threads (one per core) take the queued block whose first record is oldest
//!   (the one the merge waits for, see [`Jobs`]), put lines back into records and pass over
//!   those no rule reads and no server wrote at error level, from their raw bytes (the rule
//!   table's literal search and the level field), without building them; the rest are parsed.
//! - This thread takes each input's blocks in order, groups their records into units, and
//!   merges the inputs by time: the one whose next unit is oldest goes first. Inputs are
//!   opened in the order of their first timestamps, each when the merge reaches it, so a
//!   rotation set given in any order (an old `.gz` after the live file) is read oldest first
//!   and only the logs that overlap in time are open at once. Within an input, units up to
//!   [`REORDER_MS`] out of order are put back in order; one older than that is counted.
//! - A record with no time of its own (a Node stack, a Go crash dump, Puma's undated lines) is
//!   placed by its envelope's time where it came in one (journald, Docker, CRI, syslog), else
//!   by the nearest timed record before it in its log ([`Clock`]): its parser thread scans
//!   back from it in its block, and each block reports its last record's time, found the
//!   same way from its end, for a record its block has no time before (the merge gives it the
//!   last time of the blocks before). Only such records, and one record per block, pay for
//!   it. A record with neither is counted ([`Tally::untimed`]), never placed.

use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::io::{self, Read};
use std::ops::Range;
use std::sync::{Arc, Condvar, Mutex, mpsc};

use jiff::tz::TimeZone;

use super::unit::{Grouper, Keep, LineAt, Unit};
use crate::diagnose::rules::{Memos, Rules};
use crate::formats::Stamp;
use crate::formats::access::AccessFormat;
use crate::formats::detect::ErrorFormat;
use crate::formats::envelope::{Origin, Origins};
use crate::formats::time::ClfClock;
use crate::read::{self, Block, BlockSource, Blocks, Source};
use crate::scan::{ErrorRecords, Window};

/// Blocks one input may have read but not yet taken by the merge.
const CREDIT: usize = 3;
/// How far out of time order a unit may come in one log and still be put back in order.
pub const REORDER_MS: i64 = 10_000;

/// An error log waiting to be read. A file is closed until its turn comes (a rotation set of
/// a thousand logs must not hold a thousand descriptors and first blocks); stdin, which
/// cannot be opened again, keeps what was read of it.
pub struct ErrorInput {
    /// Its index in `inputs`.
    pub index: usize,
    pub format: ErrorFormat,
    /// The time of its first record, read from its head when it was detected.
    start: Option<i64>,
    source: Waiting,
    /// A mixed file's access format: its lines are skipped, read as its access log.
    pub skip: Option<AccessFormat>,
}

/// An input read in blocks.
pub type InputBlocks = Blocks<Box<dyn Read + Send>>;

/// Where an error log's bytes come from when its turn comes.
enum Waiting {
    /// A file, opened again (its head is read again).
    Reopen(Source),
    /// Stdin: the block read to detect its format, and the rest.
    Held(Vec<u8>, InputBlocks),
}

impl ErrorInput {
    /// An error log detected from its first block; `tz` reads the time of its first record.
    pub fn new(
        index: usize,
        format: ErrorFormat,
        source: &Source,
        first: Vec<u8>,
        blocks: InputBlocks,
        tz: &TimeZone,
    ) -> ErrorInput {
        let start = first_time(&first, format, tz);
        let source = match &source.path {
            Some(_) => Waiting::Reopen(source.clone()),
            None => Waiting::Held(first, blocks),
        };
        ErrorInput {
            index,
            format,
            start,
            source,
            skip: None,
        }
    }

    /// An error log to read from its start when its turn comes (the error lines of a mixed
    /// file already read as an access log), placed by the time of its first record.
    pub fn reopened(index: usize, format: ErrorFormat, source: &Source, tz: &TimeZone) -> Self {
        let start = read::open(source)
            .ok()
            .and_then(|(reader, _)| Blocks::new(reader).next_block().ok().flatten())
            .and_then(|first| first_time(&first, format, tz));
        ErrorInput {
            index,
            format,
            start,
            source: Waiting::Reopen(source.clone()),
            skip: None,
        }
    }

    /// Its first block and the rest, opening the file again where it was closed; and, for a
    /// file in an envelope, where its lines come from as they are read again (stdin's are the
    /// scan's, which went on reading it).
    pub fn open(self) -> io::Result<(Vec<u8>, BlockSource, Option<Origins>)> {
        match self.source {
            Waiting::Held(first, blocks) => Ok((first, BlockSource::Read(blocks), None)),
            Waiting::Reopen(source) => {
                let (reader, enveloped) = read::open(&source).map_err(io::Error::other)?;
                // Before a line is read: what places a record that has no time of its own.
                if let Some(e) = &enveloped {
                    e.origins.keep_times();
                }
                let mut blocks = Blocks::new(reader);
                let first = blocks.next_block()?.unwrap_or_default();
                let rest = BlockSource::after(&first, blocks, source.path.as_deref());
                Ok((first, rest, enveloped.map(|e| e.origins)))
            }
        }
    }
}

/// The time of the first record of a block, if it has one.
fn first_time(block: &[u8], format: ErrorFormat, tz: &TimeZone) -> Option<i64> {
    let mut records = ErrorRecords::new(format);
    let mut first = None;
    let mut take = |r: &[u8], _| first = first.or_else(|| format.parse(r, tz).and_then(|e| e.time));
    for line in read::lines(block) {
        records.push(line, &mut take);
    }
    records.flush(&mut take);
    first.map(|t| t.ms)
}

/// The error logs a scan found, to read once the responses are known, and how to read them.
pub struct Pending {
    pub inputs: Vec<ErrorInput>,
    pub tz: TimeZone,
    pub window: Window,
    /// Parser threads.
    pub threads: usize,
    /// The scan's progress bar (its readers count what is read), cleared when all is read.
    pub progress: indicatif::ProgressBar,
    /// Filled as enveloped inputs are read again.
    pub origins: ErrorOrigins,
}

/// Where the lines of error logs read through an envelope come from, by input, as the stream
/// reads them again (the scan's origins cover only the head it read to detect them): what an
/// incident built from error records alone names as its machine and program.
#[derive(Clone, Debug, Default)]
pub struct ErrorOrigins(Arc<Mutex<HashMap<usize, Origins>>>);

impl ErrorOrigins {
    fn insert(&self, input: usize, origins: Origins) {
        self.lock().insert(input, origins);
    }

    /// The origin of a line, if its input was read again through an envelope.
    pub fn at(&self, at: LineAt) -> Option<Origin> {
        self.lock().get(&at.input)?.at(at.line)
    }

    /// The envelope's time of a line, if its input was read again through one that has times.
    fn time_at(&self, at: LineAt) -> Option<Stamp> {
        self.lock().get(&at.input)?.time_at(at.line)
    }

    /// Forgets the envelope's times of an input's lines before `at`: they have been merged.
    fn forget_times_before(&self, at: LineAt) {
        if let Some(o) = self.lock().get(&at.input) {
            o.forget_times_before(at.line);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<usize, Origins>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What reading one error input came to.
#[derive(Debug, Default)]
pub struct Tally {
    pub index: usize,
    pub lines: u64,
    pub unparsed: u64,
    /// The newest record time read.
    pub newest: Option<Stamp>,
    /// Units more than [`REORDER_MS`] older than one before them in the same log.
    pub out_of_order: u64,
    /// Records kept that have no time of their own, no envelope's, and no timed record before
    /// them in their log: read, but placed nowhere.
    pub untimed: u64,
    /// Why reading stopped before the end, if it did.
    pub error: Option<io::Error>,
}

/// How the parser threads read.
struct Options<'a> {
    tz: &'a TimeZone,
    window: Window,
    rules: &'a Rules,
    keep: &'a Keep,
    threads: usize,
}

/// One block for a parser thread.
struct Job {
    slot: usize,
    /// The input's index in `inputs`.
    input: usize,
    seq: u64,
    format: ErrorFormat,
    /// A mixed file's access format, whose lines are skipped.
    skip: Option<Arc<AccessFormat>>,
    block: Block,
}

/// What a parser thread made of one block.
struct Parsed {
    units: Vec<Unit>,
    lines: u64,
    unparsed: u64,
    /// How many of `units`, at their head, have no time of their own nor a timed record before
    /// them in the block: the merge places them by the blocks before.
    leading: usize,
    /// The time of the block's last timed record.
    last: Option<Stamp>,
}

/// What a reader or parser thread reports.
enum Report {
    Parsed {
        slot: usize,
        seq: u64,
        parsed: Parsed,
    },
    /// The input's reader is done: `blocks` blocks, and why it stopped early, if it did.
    Done {
        slot: usize,
        blocks: u64,
        oversized: u64,
        error: Option<io::Error>,
    },
}

/// Reads every input and hands its units to `push` in time order; returns each input's tally.
pub fn stream(
    pending: Pending,
    rules: &Rules,
    keep: &Keep,
    mut push: impl FnMut(Unit),
) -> Vec<Tally> {
    let Pending {
        inputs,
        tz,
        window,
        threads,
        progress,
        origins,
    } = pending;
    progress.set_message("error logs, merged by time");
    let opts = &Options {
        tz: &tz,
        window,
        rules,
        keep,
        threads,
    };
    let mut order: Vec<(Option<i64>, usize)> = inputs
        .iter()
        .enumerate()
        .map(|(slot, i)| (i.start, slot))
        .collect();
    // Inputs without a time first (they cannot be placed), then by first time.
    order.sort();
    let mut tallies: Vec<Tally> = inputs
        .iter()
        .map(|i| Tally {
            index: i.index,
            ..Tally::default()
        })
        .collect();
    let mut waiting: Vec<Option<ErrorInput>> = inputs.into_iter().map(Some).collect();
    let jobs = &Jobs::default();
    std::thread::scope(|scope| {
        // Closed however this ends (an unwinding merge too), or the parsers would wait for good.
        let _closing = Closing(jobs);
        let (report_tx, report_rx) = mpsc::channel::<Report>();
        for _ in 0..opts.threads.max(1) {
            let report_tx = report_tx.clone();
            scope.spawn(move || {
                let mut scratch = Scratch::default();
                while let Some(job) = jobs.pop() {
                    let _ = report_tx.send(parse_guarded(&job, opts, &mut scratch));
                }
            });
        }
        let mut merge = Merge {
            slots: (0..waiting.len()).map(|_| None).collect(),
            reports: report_rx,
            window: opts.window,
            origins: &origins,
        };
        let mut next = 0;
        loop {
            let head = merge.oldest(&mut tallies);
            // Open the next input once the merge has reached its first record.
            if let Some(&(start, slot)) = order.get(next)
                && head.is_none_or(|(ms, _)| start.is_none_or(|s| s <= ms))
            {
                next += 1;
                let input = waiting[slot].take().expect("each input opened once");
                let credit = merge.open(slot);
                let (reports, origins) = (report_tx.clone(), &origins);
                let tz = opts.tz;
                scope.spawn(move || read_input(input, origins, slot, credit, jobs, tz, reports));
                continue;
            }
            let Some((_, slot)) = head else { break };
            push(merge.pop(slot));
        }
    });
    progress.finish_and_clear();
    tallies
}

/// Reads one input's blocks and queues them for the parsers, [`CREDIT`] at a time.
fn read_input(
    input: ErrorInput,
    error_origins: &ErrorOrigins,
    slot: usize,
    credit: mpsc::Receiver<()>,
    jobs: &Jobs,
    tz: &TimeZone,
    reports: mpsc::Sender<Report>,
) {
    let (format, index) = (input.format, input.index);
    let skip = input.skip.clone().map(Arc::new);
    let (first, mut blocks) = match input.open() {
        Ok((first, blocks, origins)) => {
            if let Some(o) = origins {
                error_origins.insert(index, o);
            }
            (first, blocks)
        }
        Err(error) => {
            let _ = reports.send(Report::Done {
                slot,
                blocks: 0,
                oversized: 0,
                error: Some(error),
            });
            return;
        }
    };
    let mut pending = Some(Block::Owned(first));
    let mut seq = 0u64;
    let mut error = None;
    let mut rank = i64::MIN;
    while let Some(mut block) = pending.take() {
        let next = match blocks.next_block() {
            Ok(b) => b,
            Err(e) => {
                error = Some(e);
                None
            }
        };
        if let Some(mut next) = next {
            // Continuation lines at the head of the next block end this block's last record.
            let head = continuation_len(&next, format);
            block.take_head(&mut next, head);
            pending = Some(next);
        }
        if credit.recv().is_err() {
            return;
        }
        rank = head_time(&block, format, tz).unwrap_or(rank);
        let job = Job {
            slot,
            input: index,
            seq,
            format,
            skip: skip.clone(),
            block,
        };
        jobs.push(rank, job);
        seq += 1;
    }
    let _ = reports.send(Report::Done {
        slot,
        blocks: seq,
        oversized: blocks.oversized(),
        error,
    });
}

/// Lines at a block's head searched for a record header with a time (after its continuation
/// lines went to the block before, a block starts with one but for a garbled log).
const HEAD_LINES: usize = 8;

/// The time of a block's first record, from its header line alone: the rank of its job.
fn head_time(block: &[u8], format: ErrorFormat, tz: &TimeZone) -> Option<i64> {
    read::lines(block)
        .take(HEAD_LINES)
        .filter(|line| format.is_header(line))
        .find_map(|line| format.parse(line, tz)?.time)
        .map(|t| t.ms)
}

/// The parsers' work: the blocks read and not yet parsed. The one whose first record is
/// oldest goes first, whatever input it is of: that is the one the merge waits for. In
/// first-come order, the merge would wait on one log's block behind blocks of another that
/// it cannot take yet, while that log's reader, out of credit, reads nothing more.
#[derive(Default)]
struct Jobs {
    queue: Mutex<JobQueue>,
    ready: Condvar,
}

#[derive(Default)]
struct JobQueue {
    /// By rank, then by arrival.
    heap: BinaryHeap<std::cmp::Reverse<Ranked>>,
    arrived: u64,
    closed: bool,
}

/// A job and where it stands in the queue.
struct Ranked(i64, u64, Job);

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        (self.0, self.1) == (other.0, other.1)
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.0, self.1).cmp(&(other.0, other.1))
    }
}

impl Jobs {
    /// Queues a job; `rank`: the time of its block's first record. Readers are held back by
    /// their credit, not here.
    fn push(&self, rank: i64, job: Job) {
        let mut q = self.lock();
        let arrived = q.arrived;
        q.arrived += 1;
        q.heap.push(std::cmp::Reverse(Ranked(rank, arrived, job)));
        drop(q);
        self.ready.notify_one();
    }

    /// The oldest job, waiting for one; `None` once closed and empty.
    fn pop(&self) -> Option<Job> {
        let mut q = self.lock();
        loop {
            if let Some(std::cmp::Reverse(Ranked(_, _, job))) = q.heap.pop() {
                return Some(job);
            }
            if q.closed {
                return None;
            }
            q = self.ready.wait(q).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// No more jobs will come: the parsers stop once the queue is empty.
    fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, JobQueue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Closes the parsers' queue when dropped.
struct Closing<'a>(&'a Jobs);

impl Drop for Closing<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// How many bytes at the head of a block continue the record before it: the lines before its
/// first record header. A block with no header at all goes whole to the one before it, up to
/// a limit, past which its lines are orphans where they stand.
fn continuation_len(block: &[u8], format: ErrorFormat) -> usize {
    for line in read::lines(block) {
        // Where the line starts (`lines` drops a `\r` before `\n`, so lengths would not add up).
        let at = line.as_ptr() as usize - block.as_ptr() as usize;
        if format.is_header(line) || at > read::BLOCK {
            return at;
        }
    }
    block.len()
}

/// [`parse_block`], where a panic (a bug, on some input no test had) costs that block,
/// counted unparsed and said on stderr, not the run: the merge waits for every block, so a
/// parser thread that died would leave it waiting for good.
fn parse_guarded(job: &Job, opts: &Options, scratch: &mut Scratch) -> Report {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parse_block(job, opts, scratch)))
        .unwrap_or_else(|_| {
            let lines = read::lines(&job.block).count() as u64;
            eprintln!(
                "fivehundred: warning: input {}: a block of {lines} lines could not be read (internal error); counted unparsed",
                job.input + 1
            );
            Report::Parsed {
                slot: job.slot,
                seq: job.seq,
                parsed: Parsed {
                    units: Vec::new(),
                    lines,
                    unparsed: lines,
                    leading: 0,
                    last: None,
                },
            }
        })
}

/// A parser thread's buffers, kept from block to block: grown once to a block's needs
/// instead of allocated (and, being large, mapped and faulted in afresh) for every block.
#[derive(Default)]
struct Scratch {
    spots: Vec<Spot>,
    text: Vec<u8>,
    read: Vec<Option<Range<usize>>>,
    near: Vec<usize>,
    joined: Vec<u8>,
    memos: Memos,
}

/// Parses one block: every record, built only where it may matter. Lines are numbered
/// from the block's start (the merge adds where the block starts).
fn parse_block(job: &Job, opts: &Options, scratch: &mut Scratch) -> Report {
    let Scratch {
        spots,
        text,
        read,
        near,
        joined,
        memos,
    } = scratch;
    let (lines, orphans) = records_of(&job.block, job.format, job.skip.as_deref(), spots);
    rule_texts(&job.block, spots, job.format, opts.keep, text, read);
    let hits = opts.rules.candidates(text, job.format.kind());
    let mut next_hit = 0;
    let (mut units, mut unparsed, mut leading) = (Vec::new(), 0u64, 0usize);
    let mut clock = Clock::default();
    let (block, format, tz) = (&job.block[..], job.format, opts.tz);
    for (i, (spot, read)) in spots.iter().zip(read.iter()).enumerate() {
        let Some(read) = read else { continue };
        // The matches in this record's part, from its start.
        near.clear();
        while let Some(&at) = hits.get(next_hit).filter(|&&at| at < read.end) {
            near.extend(at.checked_sub(read.start));
            next_hit += 1;
        }
        let record = spot.bytes(&job.block, joined);
        // The part searched, in the record as joined (where it was not, search it again).
        let part = match spot.plain {
            true => &record[..read.len() - 1],
            false => opts.keep.rule_text(record, job.format).unwrap_or(record),
        };
        // Where the rules may look in the record as built: nowhere if the prefilter found
        // nothing, around its matches if the record is the block's bytes, else anywhere.
        let found = (near.is_empty() || spot.plain).then_some(near.as_slice());
        if !opts
            .keep
            .raw(record, part, job.format, opts.rules, found, memos)
        {
            continue;
        }
        let Some(mut e) = job.format.parse(record, opts.tz) else {
            unparsed += 1;
            continue;
        };
        // The window is the merge's to apply to a borrowed time (an envelope's may replace it).
        let before = match e.time {
            Some(t) => {
                clock.saw(i, t);
                if !opts.window.contains(t) {
                    continue;
                }
                None
            }
            None => Some(clock.before(i, |j| record_time(&spots[j], block, joined, format, tz))),
        };
        // A record no time is known before yet is placed by the merge; this one stands in.
        let placeholder = Stamp { ms: 0, offset: 0 };
        e.time = e.time.or(before.flatten()).or(Some(placeholder));
        e.input = job.input;
        e.line = spot.line;
        if let Some(mut u) = Unit::of(&e, opts.rules, opts.keep, found, memos) {
            if let Some(before) = before {
                u.own_time = false;
                leading += usize::from(before.is_none());
            }
            units.push(u);
        }
    }
    let last = clock.before(spots.len(), |j| {
        record_time(&spots[j], block, joined, format, tz)
    });
    Report::Parsed {
        slot: job.slot,
        seq: job.seq,
        parsed: Parsed {
            units,
            lines,
            unparsed: unparsed + orphans,
            leading,
            last,
        },
    }
}

/// The time of a record of a block, parsed for nothing else.
fn record_time(
    spot: &Spot,
    block: &[u8],
    joined: &mut Vec<u8>,
    format: ErrorFormat,
    tz: &TimeZone,
) -> Option<Stamp> {
    format.parse(spot.bytes(block, joined), tz)?.time
}

/// The nearest timed record before a place in a block (by record index), found by scanning
/// back from it no further than the place asked before: each record's time is parsed at most
/// once, and only where a record without one is kept (and once at the block's end).
#[derive(Default)]
struct Clock {
    /// The time of the nearest timed record before `upto`.
    known: Option<Stamp>,
    upto: usize,
}

impl Clock {
    /// Record `i` has time `t`.
    fn saw(&mut self, i: usize, t: Stamp) {
        (self.known, self.upto) = (Some(t), i + 1);
    }

    /// The time of the nearest timed record before record `i` (`time_of` reads one's).
    fn before(&mut self, i: usize, time_of: impl FnMut(usize) -> Option<Stamp>) -> Option<Stamp> {
        let found = (self.upto..i).rev().find_map(time_of).or(self.known);
        (self.known, self.upto) = (found, i.max(self.upto));
        found
    }
}

/// The part of each record rules read ([`Keep::rule_text`]), one after another, each ended by
/// a newline, for one search over them all (a deprecation, or an nginx record's request
/// fields, are most of the bytes, and none of them is read); and where each one's is in it
/// (`None`: the record is never kept). Both are written into the buffers given.
fn rule_texts(
    block: &[u8],
    spots: &[Spot],
    format: ErrorFormat,
    keep: &Keep,
    text: &mut Vec<u8>,
    read: &mut Vec<Option<Range<usize>>>,
) {
    text.clear();
    // The parts are at most the block, and a newline each.
    text.reserve(block.len() + spots.len());
    read.clear();
    read.extend(spots.iter().map(|spot| {
        keep.rule_text(&block[spot.span.clone()], format)
            .map(|part| {
                let at = text.len();
                text.extend_from_slice(part);
                // In lower case for the prefilter, while it is in the cache.
                text[at..].make_ascii_lowercase();
                text.push(b'\n');
                at..text.len()
            })
    }));
}

/// Where a record lies in its block, as [`records_of`] finds it.
#[derive(Debug)]
struct Spot {
    /// From its first line's start to its last line's end.
    span: Range<usize>,
    /// The (1-based, in the block) line it starts on.
    line: u64,
    /// Whether the block's bytes are the record as joined: no blank line or `\r` within.
    plain: bool,
}

impl Spot {
    /// The record as [`ErrorRecords`] joins it: the block's bytes where they are that, else
    /// its lines joined into `joined`.
    fn bytes<'b>(&self, block: &'b [u8], joined: &'b mut Vec<u8>) -> &'b [u8] {
        let raw = &block[self.span.clone()];
        if self.plain {
            return raw;
        }
        joined.clear();
        for l in read::lines(raw).filter(|l| !l.trim_ascii().is_empty()) {
            if !joined.is_empty() {
                joined.push(b'\n');
            }
            joined.extend_from_slice(l);
        }
        joined
    }
}

/// Finds every record of a block, exactly as [`ErrorRecords`] puts them together, without
/// copying any, into `spots`. Returns the lines read and the orphans among them (lines that
/// belong to no record).
fn records_of<'b>(
    block: &'b [u8],
    format: ErrorFormat,
    skip: Option<&AccessFormat>,
    spots: &mut Vec<Spot>,
) -> (u64, u64) {
    let mut clock = ClfClock::default();
    let mut skipped = |line: &[u8]| skip.is_some_and(|a| a.head(line, &mut clock).is_some());
    let (mut lines, mut orphans) = (0u64, 0u64);
    spots.clear();
    // The open record's length as joined, and whether a blank line came since its last line.
    let (mut len, mut gap) = (0usize, false);
    let mut last_key: &[u8] = &[];
    let mut is_header = |line: &'b [u8]| {
        if !last_key.is_empty() && line.starts_with(last_key) {
            return true;
        }
        let header = format.is_header(line);
        if header {
            last_key = format.header_key(line).unwrap_or_default();
        }
        header
    };
    for line in read::lines(block) {
        lines += 1;
        let at = line.as_ptr() as usize - block.as_ptr() as usize;
        let end = at + line.len();
        let cr = block.get(end) == Some(&b'\r');
        if is_header(line) {
            spots.push(Spot {
                span: at..end,
                line: lines,
                plain: !cr,
            });
            (len, gap) = (line.len(), false);
        } else if line.trim_ascii().is_empty() || skipped(line) {
            // A blank line, or a mixed file's access line: no part of a record.
            gap = true;
        } else if let Some(o) = spots
            .last_mut()
            .filter(|_| len + line.len() < crate::scan::MAX_RECORD)
        {
            o.plain &= !cr && !gap && block.get(o.span.end) != Some(&b'\r');
            o.span.end = end;
            (len, gap) = (len + 1 + line.len(), false);
        } else {
            orphans += 1;
        }
    }
    (lines, orphans)
}

/// One input being merged.
struct Slot {
    credit: mpsc::SyncSender<()>,
    /// Parsed blocks that came before their turn, by number.
    early: BTreeMap<u64, Parsed>,
    next_seq: u64,
    /// The lines of the blocks taken so far: where the next one starts.
    lines_before: u64,
    /// Set once the reader is done: how many blocks it sent.
    blocks: Option<u64>,
    /// Every block taken and the last unit grouped.
    done: bool,
    grouper: Grouper,
    /// Units not yet merged, oldest on top.
    heap: BinaryHeap<std::cmp::Reverse<Queued>>,
    /// Units released in order, waiting for their turn in the merge.
    ready: VecDeque<Unit>,
    newest_seen: i64,
    last_released: i64,
    /// The time of the last timed record of the blocks taken.
    last_time: Option<Stamp>,
}

/// A unit in a slot's reorder heap, ordered by time, then place.
struct Queued(Unit);

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.0.ms(), self.0.at()).cmp(&(other.0.ms(), other.0.at()))
    }
}

/// The merge of the open inputs.
struct Merge<'a> {
    slots: Vec<Option<Slot>>,
    reports: mpsc::Receiver<Report>,
    window: Window,
    /// The envelopes' times of the inputs read through one.
    origins: &'a ErrorOrigins,
}

impl Merge<'_> {
    /// Opens a slot; returns the credit its reader draws on.
    fn open(&mut self, slot: usize) -> mpsc::Receiver<()> {
        let (credit, draw) = mpsc::sync_channel(CREDIT);
        for _ in 0..CREDIT {
            let _ = credit.send(());
        }
        self.slots[slot] = Some(Slot {
            credit,
            early: BTreeMap::new(),
            next_seq: 0,
            lines_before: 0,
            blocks: None,
            done: false,
            grouper: Grouper::default(),
            heap: BinaryHeap::new(),
            ready: VecDeque::new(),
            newest_seen: i64::MIN,
            last_released: i64::MIN,
            last_time: None,
        });
        draw
    }

    /// The oldest unit ready among the open inputs (its time and slot), reading on until every
    /// open input has one ready or is done; `None` when all open inputs are done.
    fn oldest(&mut self, tallies: &mut [Tally]) -> Option<(i64, usize)> {
        for slot in 0..self.slots.len() {
            while self.slots[slot]
                .as_ref()
                .is_some_and(|s| s.ready.is_empty() && !s.finished())
            {
                self.advance(slot, tallies);
            }
        }
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((s.as_ref()?.ready.front()?.ms(), i)))
            .min()
    }

    /// Takes the next unit of a slot.
    fn pop(&mut self, slot: usize) -> Unit {
        self.slots[slot]
            .as_mut()
            .and_then(|s| s.ready.pop_front())
            .expect("oldest() found a unit there")
    }

    /// Moves a slot on: its next block if it has come, else waits for a report.
    fn advance(&mut self, slot: usize, tallies: &mut [Tally]) {
        let s = self.slots[slot].as_mut().expect("open slot");
        if let Some(parsed) = s.early.remove(&s.next_seq) {
            s.next_seq += 1;
            let _ = s.credit.try_send(());
            let t = &mut tallies[slot];
            t.lines += parsed.lines;
            t.unparsed += parsed.unparsed;
            let offset = s.lines_before;
            s.lines_before += parsed.lines;
            for (k, mut u) in parsed.units.into_iter().enumerate() {
                u.shift_lines(offset);
                if !u.own_time {
                    let before = if k < parsed.leading {
                        s.last_time
                    } else {
                        Some(u.time)
                    };
                    match self.origins.time_at(u.at()).or(before) {
                        Some(time) if self.window.contains(time) => u.time = time,
                        Some(_) => continue,
                        None => {
                            t.untimed += 1;
                            continue;
                        }
                    }
                }
                t.newest = t.newest.max(Some(u.time));
                if let Some(u) = s.grouper.push_unit(u) {
                    s.queue(u, &mut t.out_of_order);
                }
            }
            s.last_time = parsed.last.or(s.last_time);
            self.origins.forget_times_before(LineAt {
                input: t.index,
                line: s.lines_before + 1,
            });
            s.release(false);
            return;
        }
        if s.blocks.is_some_and(|n| s.next_seq >= n) {
            if let Some(u) = s.grouper.finish() {
                s.queue(u, &mut tallies[slot].out_of_order);
            }
            s.release(true);
            s.done = true;
            return;
        }
        match self.reports.recv() {
            Ok(Report::Parsed {
                slot: from,
                seq,
                parsed,
            }) => {
                if let Some(s) = self.slots[from].as_mut() {
                    s.early.insert(seq, parsed);
                }
            }
            Ok(Report::Done {
                slot: from,
                blocks,
                oversized,
                error,
            }) => {
                if let Some(s) = self.slots[from].as_mut() {
                    s.blocks = Some(blocks);
                }
                let t = &mut tallies[from];
                t.lines += oversized;
                t.unparsed += oversized;
                t.error = error;
            }
            Err(_) => {
                // Every reader and parser is gone: nothing more will come.
                for s in self.slots.iter_mut().flatten() {
                    s.release(true);
                    s.done = true;
                }
            }
        }
    }
}

impl Slot {
    fn finished(&self) -> bool {
        self.done && self.heap.is_empty()
    }

    fn queue(&mut self, u: Unit, out_of_order: &mut u64) {
        if u.ms() < self.last_released {
            *out_of_order += 1;
        }
        self.newest_seen = self.newest_seen.max(u.ms());
        self.heap.push(std::cmp::Reverse(Queued(u)));
    }

    /// Moves units out of the reorder heap once nothing older can come (all, at the end).
    fn release(&mut self, all: bool) {
        while let Some(std::cmp::Reverse(q)) = self.heap.peek() {
            if !all && q.0.ms() > self.newest_seen - REORDER_MS {
                break;
            }
            let std::cmp::Reverse(Queued(u)) = self.heap.pop().expect("peeked");
            self.last_released = self.last_released.max(u.ms());
            self.ready.push_back(u);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(logs: &[(&str, ErrorFormat)]) -> Pending {
        let inputs = logs
            .iter()
            .enumerate()
            .map(|(index, (text, format))| {
                let stdin = Source {
                    name: "-".into(),
                    path: None,
                };
                let rest = Blocks::new(Box::new(io::empty()) as Box<dyn Read + Send>);
                ErrorInput::new(
                    index,
                    *format,
                    &stdin,
                    text.as_bytes().to_vec(),
                    rest,
                    &TimeZone::UTC,
                )
            })
            .collect();
        Pending {
            inputs,
            tz: TimeZone::UTC,
            window: Window::default(),
            threads: 2,
            progress: indicatif::ProgressBar::hidden(),
            origins: ErrorOrigins::default(),
        }
    }

    #[test]
    fn inputs_are_merged_by_time_and_stack_traces_stay_in_their_record() {
        let php = "[25-Nov-2026 14:00:03 UTC] PHP Fatal error:  Uncaught Exception: x in /a.php:3\n\
                   Stack trace:\n#0 {main}\n  thrown in /a.php on line 3\n\
                   [25-Nov-2026 14:00:05 UTC] PHP Notice:  Undefined index: q in /b.php on line 1\n\
                   [25-Nov-2026 14:00:09 UTC] PHP Fatal error:  Allowed memory size of 2 bytes exhausted in /c.php on line 2\n";
        let fpm = "[25-Nov-2026 14:00:04] WARNING: [pool www] server reached pm.max_children setting (5), consider raising it\n";
        let mut units = Vec::new();
        let tallies = stream(
            pending(&[(php, ErrorFormat::Php), (fpm, ErrorFormat::PhpFpm)]),
            Rules::builtin(),
            &Keep::all(),
            |u| units.push(u),
        );
        let seen: Vec<(usize, u64)> = units.iter().map(|u| (u.input, u.at().line)).collect();
        assert_eq!(
            seen,
            [(0, 1), (1, 1), (0, 6)],
            "the notice is counted, not kept"
        );
        assert!(units[0].texts[0].ends_with("thrown in /a.php on line 3"));
        assert_eq!((tallies[0].lines, tallies[0].unparsed), (6, 0));
        assert_eq!(tallies[1].lines, 1);
    }

    #[test]
    fn a_record_whose_lines_are_not_plain_is_still_read_by_the_rules() {
        // CRLF line ends and a blank line inside: the record is joined, not sliced, and the
        // prefilter's offsets into the block do not hold for it.
        let php = "[25-Nov-2026 14:00:03 UTC] PHP Notice:  Undefined index: q in /b.php on line 1\r\n\
                   [25-Nov-2026 14:00:04 UTC] PHP Fatal error:  Uncaught PDOException: SQLSTATE[HY000] [2002] Connection refused in /a.php:3\r\n\
                   \r\n\
                   Stack trace:\r\n#0 {main}\r\n";
        let mut units = Vec::new();
        let tallies = stream(
            pending(&[(php, ErrorFormat::Php)]),
            Rules::builtin(),
            &Keep::classified(),
            |u| units.push(u),
        );
        assert_eq!(
            units.len(),
            1,
            "the notice is counted, the fatal error kept"
        );
        let verdict = units[0].verdict.as_ref().expect("a rule reads it");
        assert_eq!(verdict.cause, "db_unreachable");
        assert!(units[0].texts[0].ends_with("#0 {main}"));
        assert_eq!(tallies[0].lines, 5);
    }

    #[test]
    fn the_oldest_input_is_read_first_whatever_the_order_given() {
        let new = "2026/11/25 15:00:00 [error] 7#7: *1 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 1.1.1.1, server: _, request: \"GET /b HTTP/1.1\", host: \"x\"\n";
        let old = "2026/11/24 15:00:00 [error] 7#7: *1 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 1.1.1.1, server: _, request: \"GET /a HTTP/1.1\", host: \"x\"\n";
        let mut order = Vec::new();
        stream(
            pending(&[(new, ErrorFormat::Nginx), (old, ErrorFormat::Nginx)]),
            Rules::builtin(),
            &Keep::all(),
            |u| order.push(u.input),
        );
        assert_eq!(order, [1, 0]);
    }

    const GO: ErrorFormat = ErrorFormat::App(crate::formats::app::AppLog::GoHttp);
    /// A Go service's stderr (tests/lab/app_go): a `log` line, then a crash with no time.
    const GO_LOG: &str = "2026/12/07 15:32:09 listening on 127.0.0.1:37221\n";
    const CRASH: &str = "panic: cache reload failed: no upstream\n\n\
                         goroutine 23 [running]:\nmain.reload(0xc00007d050?)\n\
                         \t/srv/app/main.go:41 +0x27\n";

    /// The units of one Go log whose first block is `first` and whose later bytes are `rest`
    /// (read as blocks of their own), and its tally.
    fn go_units(first: &str, rest: &str) -> (Vec<Unit>, Tally) {
        let mut p = pending(&[(first, GO)]);
        let rest = Box::new(io::Cursor::new(rest.as_bytes().to_vec())) as Box<dyn Read + Send>;
        p.inputs[0] = ErrorInput::new(
            0,
            GO,
            &Source {
                name: "-".into(),
                path: None,
            },
            first.as_bytes().to_vec(),
            Blocks::new(rest),
            &TimeZone::UTC,
        );
        let mut units = Vec::new();
        let mut tallies = stream(p, Rules::builtin(), &Keep::all(), |u| units.push(u));
        (units, tallies.remove(0))
    }

    #[test]
    fn a_record_without_a_time_takes_the_time_of_the_record_before_it() {
        let (units, tally) = go_units(&format!("{GO_LOG}{CRASH}"), "");
        assert_eq!(units.len(), 1, "{units:#?}");
        let crash = &units[0];
        assert_eq!(crash.verdict.as_ref().unwrap().cause, "worker_crash");
        assert_eq!(crash.time.rfc3339(), "2026-12-07T15:32:09+00:00");
        assert!(!crash.own_time);
        assert_eq!((crash.at().line, tally.untimed), (2, 0));
    }

    #[test]
    fn a_record_at_the_head_of_a_block_takes_the_last_time_of_the_block_before() {
        let (units, tally) = go_units(GO_LOG, CRASH);
        assert_eq!(units.len(), 1, "{units:#?}");
        assert_eq!(units[0].time.rfc3339(), "2026-12-07T15:32:09+00:00");
        assert_eq!((units[0].at().line, tally.lines, tally.untimed), (2, 6, 0));
    }

    #[test]
    fn a_record_with_no_time_before_it_is_counted_not_placed() {
        let (units, tally) = go_units(CRASH, "");
        assert!(units.is_empty(), "{units:#?}");
        assert_eq!(tally.untimed, 1);
        // Nor placed by a later one.
        let (units, tally) = go_units(CRASH, GO_LOG);
        assert!(units.is_empty(), "{units:#?}");
        assert_eq!(tally.untimed, 1);
    }

    #[test]
    fn a_record_without_a_time_takes_its_envelopes() {
        // Docker's json-file, as the runtime writes a container's stderr: its own times.
        let docker: String = format!("{GO_LOG}{CRASH}")
            .lines()
            .enumerate()
            .map(|(n, l)| {
                let log = serde_json::to_string(&format!("{l}\n")).unwrap();
                format!(
                    "{{\"log\":{log},\"stream\":\"stderr\",\"time\":\"2026-12-07T15:40:0{n}.5Z\"}}\n"
                )
            })
            .collect();
        let dir = std::env::temp_dir().join(format!("fivehundred-stamp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("app.log");
        std::fs::write(&path, docker).unwrap();
        let source = Source {
            name: path.display().to_string(),
            path: Some(path.clone()),
        };
        let mut p = pending(&[]);
        p.inputs = vec![ErrorInput::reopened(0, GO, &source, &TimeZone::UTC)];
        let mut units = Vec::new();
        stream(p, Rules::builtin(), &Keep::all(), |u| units.push(u));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(units.len(), 1, "{units:#?}");
        // The crash's first line is the envelope's second.
        assert_eq!(units[0].time.rfc3339(), "2026-12-07T15:40:01+00:00");
        assert_eq!(units[0].time.ms % 1000, 500);
    }

    #[test]
    fn the_clock_parses_each_record_at_most_once() {
        let mut clock = Clock::default();
        let mut asked = Vec::new();
        let times = [Some(1), None, None, None];
        let mut time_of = |j: usize| {
            asked.push(j);
            times[j].map(|ms| Stamp { ms, offset: 0 })
        };
        assert_eq!(clock.before(2, &mut time_of).map(|t| t.ms), Some(1));
        assert_eq!(clock.before(3, &mut time_of).map(|t| t.ms), Some(1));
        assert_eq!(clock.before(4, &mut time_of).map(|t| t.ms), Some(1));
        assert_eq!(asked, [1, 0, 2, 3]);
    }

    #[test]
    fn a_block_hands_its_leading_continuation_lines_back() {
        let block = b"Stack trace:\n#0 {main}\n[25-Nov-2026 14:00:03 UTC] PHP Warning:  x\n";
        assert_eq!(continuation_len(block, ErrorFormat::Php), 23);
        // Lines ending in CRLF: the header starts after both bytes of each line end.
        let crlf = b"Stack trace:\r\n#0 {main}\r\n[25-Nov-2026 14:00:03 UTC] PHP Warning:  x\r\n";
        assert_eq!(continuation_len(crlf, ErrorFormat::Php), 25);
        assert_eq!(continuation_len(b"#0 {main}\n", ErrorFormat::Php), 10);
    }

    #[test]
    fn raw_levels() {
        assert!(ErrorFormat::Nginx.is_error_level(b"2026/11/25 14:00:03 [crit] 1#1: x"));
        assert!(!ErrorFormat::Nginx.is_error_level(b"2026/11/25 14:00:03 [warn] 1#1: x"));
        assert!(
            ErrorFormat::Apache
                .is_error_level(b"[Wed Nov 25 14:00:03.1 2026] [proxy_fcgi:error] [pid 1] x")
        );
        assert!(
            !ErrorFormat::Apache
                .is_error_level(b"[Wed Nov 25 14:00:03.1 2026] [core:notice] [pid 1] x")
        );
        assert!(
            ErrorFormat::PhpFpm.is_error_level(b"[25-Nov-2026 14:00:03] ERROR: unable to bind")
        );
        assert!(!ErrorFormat::PhpFpm.is_error_level(b"[25-Nov-2026 14:00:03] NOTICE: ready"));
    }
}
