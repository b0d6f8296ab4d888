//! Envelopes: log lines wrapped by what carried them (syslog, journald, Docker, Kubernetes),
//! unwrapped before a line is detected and parsed.
//!
//! 1. An input's envelope is told from its head, once ([`sniff`]): the envelope that reads most
//!    of its first lines, if it reads at least half of them. A file in no envelope (the usual
//!    case) costs that one look and nothing per line or per block.
//! 2. An enveloped input is read through [`Unwrap`], a reader that hands out the lines inside:
//!    a syslog prefix sliced off, a JSON string unescaped, partial lines (CRI `P`, Docker's 16
//!    KiB pieces) joined, a journal record's `MESSAGE` taken out, a message of many lines given
//!    as many lines. A line in no envelope is handed out as it is, for the parsers to count.
//! 3. Where each line came from (the envelope's host and program or container) is noted in
//!    [`Origins`] by line number, a run per change, for the scan to look up.
//!
//! Each envelope lives in its own file and is listed once in [`Envelope::ALL`].

mod cri;
mod docker;
mod journal;
mod syslog;

pub use journal::json_cursor as journal_cursor;

use std::borrow::Cow;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::{Arc, Mutex};

use crate::formats::Stamp;
use crate::read::MAX_LINE;

/// The envelopes read, each from its own module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Envelope {
    /// `Feb  6 12:14:14 host prog[pid]: msg`, with or without `<PRI>`, or with an RFC 3339
    /// time as rsyslog writes its files by default.
    Rfc3164,
    /// `<165>1 2026-11-25T14:00:03Z host app procid msgid [sd] msg`.
    Rfc5424,
    /// `journalctl -o json`: one JSON object per entry.
    JournalJson,
    /// `journalctl -o export`: `KEY=VALUE` lines (or binary fields) per entry, a blank line
    /// after each.
    JournalExport,
    /// Docker's `json-file` logging driver: `{"log":"…\n","stream":"stderr","time":"…"}`.
    Docker,
    /// The Kubernetes CRI log format: `TIME STREAM P|F MESSAGE`.
    Cri,
}

/// One line unwrapped: where it came from, when the envelope says it was written, its
/// message, and whether the message goes on in the next line (a partial line).
#[derive(Debug, PartialEq, Eq)]
pub struct Unwrapped<'a> {
    pub host: Option<Cow<'a, [u8]>>,
    pub source: Option<Cow<'a, [u8]>>,
    /// The envelope's time: what a record with no time of its own (a Node stack, a Go crash
    /// dump) is placed by. `None` where the envelope writes none, or none with a year
    /// (RFC 3164's `Feb  6 12:14:14`).
    pub time: Option<Stamp>,
    pub message: Cow<'a, [u8]>,
    pub partial: bool,
}

impl<'a> Unwrapped<'a> {
    fn whole(host: Option<&'a [u8]>, source: Option<&'a [u8]>, message: &'a [u8]) -> Self {
        Unwrapped {
            host: host.map(Cow::Borrowed),
            source: source.map(Cow::Borrowed),
            time: None,
            message: Cow::Borrowed(message),
            partial: false,
        }
    }

    /// The same line, with the envelope's time.
    fn at(self, time: Option<Stamp>) -> Self {
        Unwrapped { time, ..self }
    }
}

impl Envelope {
    /// Every envelope read one line at a time, in the order they are tried.
    /// CRI before RFC 3164: a CRI line (`TIME stdout F msg`) reads as syslog from a host
    /// named `stdout` too.
    const LINES: [Envelope; 5] = [
        Self::Rfc5424,
        Self::Cri,
        Self::Rfc3164,
        Self::JournalJson,
        Self::Docker,
    ];

    /// The name reported in `inputs[].envelope`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rfc3164 => "syslog_rfc3164",
            Self::Rfc5424 => "syslog_rfc5424",
            Self::JournalJson => "journal_json",
            Self::JournalExport => "journal_export",
            Self::Docker => "docker_json",
            Self::Cri => "cri",
        }
    }

    /// One line of a line-based envelope, `None` if it is not one.
    pub fn unwrap_line(self, line: &[u8]) -> Option<Unwrapped<'_>> {
        match self {
            Self::Rfc3164 => syslog::rfc3164(line),
            Self::Rfc5424 => syslog::rfc5424(line),
            Self::JournalJson => journal::json_line(line),
            Self::Docker => docker::line(line),
            Self::Cri => cri::line(line),
            Self::JournalExport => None,
        }
    }

    /// The envelope of an input whose head is `head`, if it has one: journal export if its
    /// first line is a journal field, else the line-based envelope that reads most of its
    /// first lines, if that is at least half of them.
    pub fn detect(head: &[u8]) -> Option<Envelope> {
        // The last line of a head cut short is not judged.
        let whole = match memchr::memrchr(b'\n', head) {
            Some(nl) if head.len() >= SNIFF => &head[..=nl],
            _ => head,
        };
        let lines = crate::read::lines(whole).filter(|l| !l.trim_ascii().is_empty());
        let mut lines = lines.take(SNIFF_LINES).peekable();
        if lines.peek().is_some_and(|l| journal::is_export_start(l)) {
            return Some(Self::JournalExport);
        }
        let mut counts = [0usize; Self::LINES.len()];
        let mut total = 0;
        for line in lines {
            total += 1;
            if let Some(i) = Self::LINES
                .iter()
                .position(|e| e.unwrap_line(line).is_some())
            {
                counts[i] += 1;
            }
        }
        let (best, n) = counts.iter().enumerate().max_by_key(|(_, n)| **n)?;
        (*n > 0 && n * 2 >= total).then_some(Self::LINES[best])
    }
}

/// Bytes of an input's head read to tell its envelope.
const SNIFF: usize = 64 << 10;
/// Lines of the head judged.
const SNIFF_LINES: usize = 256;

/// Where a line came from, as its envelope said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// The machine (syslog `HOSTNAME`, journald `_HOSTNAME`), not the HTTP virtual host.
    pub host: Option<Box<str>>,
    /// The program or container (syslog tag or `APP-NAME`, journald identifier).
    pub source: Option<Box<str>>,
}

impl Origin {
    fn of(line: &Unwrapped<'_>) -> Origin {
        let text =
            |b: &Option<Cow<'_, [u8]>>| b.as_deref().map(|b| super::clean_text(b).into_boxed_str());
        Origin {
            host: text(&line.host),
            source: text(&line.source),
        }
    }

    /// Whether `line` says the same as this origin, without building one from it.
    fn same(&self, line: &Unwrapped<'_>) -> bool {
        let eq = |a: &Option<Box<str>>, b: &Option<Cow<'_, [u8]>>| {
            a.as_deref().map(str::as_bytes) == b.as_deref()
        };
        eq(&self.host, &line.host) && eq(&self.source, &line.source)
    }
}

/// The origin of each line an [`Unwrap`] handed out: runs of lines, each from the (1-based)
/// line it starts on; and, where asked for ([`Origins::keep_times`]), their envelope's times,
/// likewise. Shared between the reader, which adds to it, and whoever reads the lines.
#[derive(Clone, Debug, Default)]
pub struct Origins(Arc<Mutex<Runs>>);

/// [`Origins`]' runs. A time run starts wherever the envelope's time changes, nearly every
/// line of a busy log: they are kept only for an error log being read by the engine, which
/// forgets them once the lines are read ([`Origins::forget_times_before`]), so they cost the
/// lines in flight, not the file.
#[derive(Debug, Default)]
struct Runs {
    origins: Vec<(u64, Origin)>,
    times: std::collections::VecDeque<(u64, Option<Stamp>)>,
    keep_times: bool,
}

impl Origins {
    fn runs(&self) -> std::sync::MutexGuard<'_, Runs> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The origin of the 1-based `line`, if its envelope named one.
    pub fn at(&self, line: u64) -> Option<Origin> {
        let runs = &self.runs().origins;
        let after = runs.partition_point(|(start, _)| *start <= line);
        after.checked_sub(1).map(|i| runs[i].1.clone())
    }

    /// The envelope's time of the 1-based `line`, if it wrote one and times are kept.
    pub fn time_at(&self, line: u64) -> Option<Stamp> {
        let runs = &self.runs().times;
        let after = runs.partition_point(|(start, _)| *start <= line);
        after.checked_sub(1).and_then(|i| runs[i].1)
    }

    /// Keeps the times of the lines handed out from now on.
    pub fn keep_times(&self) {
        self.runs().keep_times = true;
    }

    /// Forgets the times of the lines before `line`: they have been read.
    pub fn forget_times_before(&self, line: u64) {
        let times = &mut self.runs().times;
        while times.get(1).is_some_and(|&(start, _)| start <= line) {
            times.pop_front();
        }
    }

    fn push(&self, line: u64, origin: Origin) {
        self.runs().origins.push((line, origin));
    }

    /// Notes the time of the lines from `line` on, if times are kept and it changed.
    fn push_time(&self, line: u64, time: Option<Stamp>) {
        let runs = &mut *self.runs();
        if runs.keep_times && runs.times.back().is_none_or(|&(_, last)| last != time) {
            runs.times.push_back((line, time));
        }
    }
}

/// An input's envelope and its lines' origins, for the scan to report and look up.
#[derive(Clone, Debug)]
pub struct Enveloped {
    pub envelope: Envelope,
    pub origins: Origins,
}

/// Reads `raw`'s head and, if it is in an envelope, wraps it in an [`Unwrap`], else hands its
/// bytes back as they are. A read error in the head (a `.gz` cut short) comes after the
/// bytes read before it, as it would have without the look.
pub fn sniff(raw: Box<dyn Read + Send>) -> (Box<dyn Read + Send>, Option<Enveloped>) {
    let mut head = Vec::with_capacity(SNIFF);
    let mut limited = raw.take(SNIFF as u64);
    let rest: Box<dyn Read + Send> = match limited.read_to_end(&mut head) {
        Ok(_) => limited.into_inner(),
        Err(e) => Box::new(Failed(Some(e))),
    };
    let envelope = Envelope::detect(&head);
    let stream = io::Cursor::new(head).chain(rest);
    match envelope {
        None => (Box::new(stream), None),
        Some(envelope) => {
            let origins = Origins::default();
            let reader = Unwrap::new(stream, envelope, origins.clone());
            (Box::new(reader), Some(Enveloped { envelope, origins }))
        }
    }
}

/// A stream that failed: its error, once, then its end.
struct Failed(Option<io::Error>);

impl Read for Failed {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        self.0.take().map_or(Ok(0), Err)
    }
}

/// A message being put together from partial lines.
#[derive(Default)]
struct Partial {
    message: Vec<u8>,
    origin: Origin,
    /// Its first piece's time.
    time: Option<Stamp>,
}

/// Unwraps an envelope's lines one by one into plain lines: the state a stream of them
/// needs (a partial line waiting for its end, the last origin noted). `watch` keeps one per
/// followed input; [`Unwrap`] wraps one around a reader.
pub struct Unwrapper {
    envelope: Envelope,
    /// Where origins go, for inputs read whole (`watch` notes none).
    origins: Option<Origins>,
    /// Lines handed out so far.
    lines: u64,
    /// The origin of the last run noted.
    last: Option<Origin>,
    partial: Partial,
}

impl Unwrapper {
    pub fn new(envelope: Envelope, origins: Option<Origins>) -> Self {
        Unwrapper {
            envelope,
            origins,
            lines: 0,
            last: None,
            partial: Partial::default(),
        }
    }

    pub fn envelope(&self) -> Envelope {
        self.envelope
    }

    /// Unwraps one raw line (without its newline) of a line-based envelope into `out`; a line
    /// in no envelope goes out as it is, for the parsers to count.
    pub fn line(&mut self, line: &[u8], out: &mut Vec<u8>) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match self.envelope.unwrap_line(line) {
            Some(u) => self.take(u, out),
            None => self.emit(line, Some(Origin::default()), None, out),
        }
    }

    /// Hands out a partial line still waiting for its end (the input ended).
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.partial.message.is_empty() {
            let Partial {
                message,
                origin,
                time,
            } = std::mem::take(&mut self.partial);
            self.emit(&message, Some(origin), time, out);
        }
    }

    /// One unwrapped line: joined to the partial lines before it, or kept for the next.
    fn take(&mut self, u: Unwrapped<'_>, out: &mut Vec<u8>) {
        if u.partial || !self.partial.message.is_empty() {
            if self.partial.message.is_empty() {
                self.partial.origin = Origin::of(&u);
                self.partial.time = u.time;
            }
            let room = MAX_LINE.saturating_sub(self.partial.message.len());
            self.partial
                .message
                .extend_from_slice(&u.message[..u.message.len().min(room)]);
            if !u.partial {
                self.finish(out);
            }
            return;
        }
        let same = self.last.as_ref().is_some_and(|o| o.same(&u));
        let change = (!same).then(|| Origin::of(&u));
        self.emit(&u.message, change, u.time, out);
    }

    /// Hands out a message, a line for each of its lines; `origin`, where it may differ from
    /// the last line's, is noted if it does, and its time.
    fn emit(
        &mut self,
        message: &[u8],
        origin: Option<Origin>,
        time: Option<Stamp>,
        out: &mut Vec<u8>,
    ) {
        let message = message.strip_suffix(b"\n").unwrap_or(message);
        if let Some(origins) = &self.origins {
            origins.push_time(self.lines + 1, time);
        }
        if let Some(origin) = origin
            && self.last.as_ref() != Some(&origin)
        {
            if let Some(origins) = &self.origins {
                origins.push(self.lines + 1, origin.clone());
            }
            self.last = Some(origin);
        }
        for line in message.split(|&b| b == b'\n') {
            out.extend_from_slice(line);
            out.push(b'\n');
            self.lines += 1;
        }
    }
}

/// The lines inside an enveloped stream, as a stream (see the module comment).
pub struct Unwrap<R> {
    inner: BufReader<R>,
    unwrapper: Unwrapper,
    /// Unwrapped lines not yet read, from `at`.
    out: Vec<u8>,
    at: usize,
    raw: Vec<u8>,
    eof: bool,
}

/// How much is unwrapped at a time.
const OUT: usize = 256 << 10;

impl<R: Read> Unwrap<R> {
    pub fn new(inner: R, envelope: Envelope, origins: Origins) -> Self {
        Unwrap {
            inner: BufReader::with_capacity(1 << 16, inner),
            unwrapper: Unwrapper::new(envelope, Some(origins)),
            out: Vec::new(),
            at: 0,
            raw: Vec::new(),
            eof: false,
        }
    }

    /// Unwraps whole lines (or journal records) until [`OUT`] bytes are waiting or the input ends.
    fn refill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.at = 0;
        while self.out.len() < OUT && !self.eof {
            match self.unwrapper.envelope {
                Envelope::JournalExport => self.export_record()?,
                _ => self.next_line()?,
            }
        }
        if self.eof {
            self.unwrapper.finish(&mut self.out);
        }
        Ok(())
    }

    /// Reads one raw line of a line-based envelope and unwraps it.
    fn next_line(&mut self) -> io::Result<()> {
        self.raw.clear();
        if !read_line(&mut self.inner, &mut self.raw)? {
            self.eof = true;
            return Ok(());
        }
        let line = self.raw.strip_suffix(b"\n").unwrap_or(&self.raw);
        self.unwrapper.line(line, &mut self.out);
        Ok(())
    }

    /// Reads one journal export record and hands out its message.
    fn export_record(&mut self) -> io::Result<()> {
        match journal::export_record(&mut self.inner)? {
            Some(record) => {
                if let Some(u) = record.unwrapped() {
                    self.unwrapper.take(u, &mut self.out);
                }
            }
            None => self.eof = true,
        }
        Ok(())
    }
}

impl<R: Read> Read for Unwrap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.out.len() {
            self.refill()?;
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Reads one line (with its `\n`) into `buf`; a line longer than [`MAX_LINE`] is cut there and
/// the rest of it skipped. `false` at the end of the input.
fn read_line(inner: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<bool> {
    let n = inner
        .by_ref()
        .take(MAX_LINE as u64)
        .read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(false);
    }
    if buf.last() != Some(&b'\n') && n == MAX_LINE {
        let mut skipped = Vec::new();
        while inner
            .by_ref()
            .take(1 << 16)
            .read_until(b'\n', &mut skipped)?
            > 0
        {
            if skipped.last() == Some(&b'\n') {
                break;
            }
            skipped.clear();
        }
    }
    Ok(true)
}

/// The bytes of `line` after the first space, and before it; `None` without one.
fn word(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let sp = memchr::memchr(b' ', line)?;
    Some((&line[..sp], &line[sp + 1..]))
}

/// A value that says "none" in syslog and journald (`-`, empty) as `None`.
fn named(value: &[u8]) -> Option<&[u8]> {
    (!value.is_empty() && value != b"-").then_some(value)
}

#[cfg(test)]
mod tests;
