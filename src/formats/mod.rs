//! Log formats: detecting what a file is from its first lines, and parsing its lines into
//! events. Access-log lines are parsed into borrowed [`AccessRecord`]s (the hot path, one per
//! request); error-log records, far fewer, into owned [`ErrorEvent`]s.

pub mod access;
pub mod apache_error;
pub mod app;
pub mod aws;
pub mod detect;
pub mod envelope;
pub mod haproxy;
pub mod hop;
pub mod nginx_error;
pub mod php;
pub mod time;
pub mod w3c;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

pub use time::Stamp;

/// What a log file holds, as reported in `inputs[].kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Access,
    Error,
    PhpFpm,
    PhpError,
    /// An application server's own log (gunicorn, uWSGI, Python's `logging`, Rails, Tomcat…).
    App,
    Unknown,
}

/// One access-log line, borrowing from the input buffer where it can.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessRecord<'a> {
    pub time: Stamp,
    /// Client address as logged (`%h` / `$remote_addr`).
    pub client: Cow<'a, [u8]>,
    /// Virtual host, where the format carries one (`vhost_combined`, `$host` in JSON).
    pub vhost: Option<Cow<'a, [u8]>>,
    /// The request line, e.g. `GET /index.php?x=1 HTTP/1.1`.
    pub request: Cow<'a, [u8]>,
    pub status: u16,
    pub user_agent: Cow<'a, [u8]>,
    /// Why the line's own format says the request failed, where it says (HAProxy's
    /// termination state `sH--`, an ALB `-` target status, CloudFront's `OriginConnectError`,
    /// GCP's `statusDetails`…), in the format's own words (the W3C, AWS and JSON formats write
    /// `name=value` pairs of their field names); the rule table's `[[access_reason]]` rows name
    /// a cause for it. `None` for the formats that say nothing of the kind, and for lines that
    /// are not 5xx.
    pub reason: Option<Cow<'a, [u8]>>,
    /// The request's id, where the format logs one (nginx's `$request_id`, passed on to the
    /// application as `X-Request-ID`): the application's records that carry it are this
    /// request's, whatever their time.
    pub request_id: Option<Cow<'a, [u8]>>,
}

impl AccessRecord<'_> {
    /// The request target's path, without the query string.
    pub fn path(&self) -> &[u8] {
        request_path(&self.request)
    }
}

/// The path of a request line (`GET /a/b.php?x HTTP/1.1` gives `/a/b.php`), or of a bare
/// target; the whole line if it does not look like a request.
pub fn request_path(request: &[u8]) -> &[u8] {
    let mut parts = request.split(|&b| b == b' ').filter(|p| !p.is_empty());
    let first = parts.next().unwrap_or_default();
    let target = if first.starts_with(b"/") {
        first
    } else {
        parts.next().unwrap_or(first)
    };
    let end = memchr::memchr2(b'?', b'#', target).unwrap_or(target.len());
    &target[..end]
}

/// An absolute URL (`https://example.com:443/a?b`, as load balancers log the target) split
/// into its host (with any port) and its path with the query (`/` when it has none); `None`
/// if `target` is not an absolute URL.
pub fn split_url(target: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = memchr::memmem::find(target, b"://")?;
    if at == 0 || !target[..at].iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    let rest = &target[at + 3..];
    let slash = memchr::memchr2(b'/', b'?', rest).unwrap_or(rest.len());
    let path = match &rest[slash..] {
        [] => &b"/"[..],
        p => p,
    };
    Some((&rest[..slash], path))
}

/// The method of a request line (`GET`), if it has one.
pub fn request_method(request: &[u8]) -> Option<&[u8]> {
    let first = request.split(|&b| b == b' ').next()?;
    (!first.is_empty() && first.iter().all(u8::is_ascii_uppercase)).then_some(first)
}

/// One error-log record (a header line plus any continuation lines), with the fields the
/// format carries pulled out for correlation.
///
/// `diagnose` holds every record of its window in memory, so a record is one allocation: the
/// cleaned text, with the fields as byte ranges of it. A field whose cleaned text is not a
/// part of the record's (an Apache message with its errno put back in front, a value that
/// lost a control sequence) is appended behind the record's text instead.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorEvent {
    pub time: Option<Stamp>,
    pub kind: Option<Kind>,
    pub pid: Option<u32>,
    /// Index of the input it came from.
    pub input: usize,
    /// The 1-based line of its input the record starts on (0 where not counted).
    pub line: u64,
    /// The language of the application that wrote it, for an application server's log: how
    /// its stack traces are read.
    pub language: Option<app::Language>,
    /// The record's text, then any field text that is not a part of it.
    buf: Box<str>,
    /// Where the record's text ends in `buf`.
    text_end: u32,
    level: Span,
    module: Span,
    message: Span,
    client: Option<Span>,
    request: Option<Span>,
    host: Option<Span>,
    upstream: Option<Span>,
    request_id: Option<Span>,
}

/// A byte range of [`ErrorEvent`]'s text; `u32` keeps the record small, and a record (one line
/// of at most 8 MiB plus 64 KiB of continuation lines, cleaned) is far from 4 GiB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

impl ErrorEvent {
    /// The whole record as written (control characters removed), shown as evidence.
    pub fn text(&self) -> &str {
        self.get(Span {
            start: 0,
            end: self.text_end,
        })
    }

    /// The message text, where rules look.
    pub fn message(&self) -> &str {
        self.get(self.message)
    }

    /// Where the message starts in the record's text, if it is a part of it (not text put
    /// together behind it).
    pub fn message_start(&self) -> Option<usize> {
        (self.message.end <= self.text_end).then_some(self.message.start as usize)
    }

    /// Severity as the server wrote it (`error`, `crit`, `WARNING`, `Fatal error`…).
    pub fn level(&self) -> &str {
        self.get(self.level)
    }

    /// Apache module tag (`proxy_fcgi`, `php`, `core`…).
    pub fn module(&self) -> &str {
        self.get(self.module)
    }

    /// Client address, without a port.
    pub fn client(&self) -> Option<&str> {
        self.client.map(|s| self.get(s))
    }

    /// The request line (or `METHOD TARGET` as PHP-FPM writes it).
    pub fn request(&self) -> Option<&str> {
        self.request.map(|s| self.get(s))
    }

    /// The virtual host, without a port.
    pub fn host(&self) -> Option<&str> {
        self.host.map(|s| self.get(s))
    }

    /// The upstream nginx passed the request to (`fastcgi://unix:/run/php/fpm.sock:`).
    pub fn upstream(&self) -> Option<&str> {
        self.upstream.map(|s| self.get(s))
    }

    /// The id of the request it was written for (Rails' `[request-id]` tag), as the proxy's
    /// access log may carry it.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.map(|s| self.get(s))
    }

    /// Whether the event names the request it belongs to (or the client who sent it), so it
    /// can be tied to one access-log line rather than only to a moment.
    pub fn is_request_scoped(&self) -> bool {
        self.request.is_some() || self.client.is_some()
    }

    /// The text of a span; checked slicing, so a span can never panic.
    fn get(&self, s: Span) -> &str {
        self.buf
            .get(s.start as usize..s.end as usize)
            .unwrap_or_default()
    }
}

/// Puts an [`ErrorEvent`] together from its raw record: the parsers hand it parts of the record
/// (subslices of it) and it finds their cleaned text in the record's cleaned text.
pub(crate) struct EventBuilder<'r> {
    record: &'r [u8],
    buf: String,
    event: ErrorEvent,
}

impl<'r> EventBuilder<'r> {
    pub(crate) fn new(record: &'r [u8], time: Option<Stamp>, kind: Kind) -> Self {
        let buf = clean_text(record);
        EventBuilder {
            record,
            event: ErrorEvent {
                time,
                kind: Some(kind),
                text_end: span_end(buf.len()),
                ..ErrorEvent::default()
            },
            buf,
        }
    }

    /// The span of `part` (a subslice of the record), cleaned.
    fn part(&mut self, part: &[u8]) -> Span {
        let value = clean_cow(part);
        self.text_at(part, &value)
    }

    /// The span of `value`, cleaned text that stands in the record where `near` (a subslice of
    /// it) starts, if nothing before it was cleaned away; else `value` is appended. The check
    /// compares the text itself, so a wrong guess costs memory, never correctness.
    fn text_at(&mut self, near: &[u8], value: &str) -> Span {
        let text = &self.buf[..self.event.text_end as usize];
        let start = (near.as_ptr() as usize).wrapping_sub(self.record.as_ptr() as usize);
        if let Some(end) = start.checked_add(value.len())
            && text.get(start..end) == Some(value)
        {
            return Span {
                start: span_end(start),
                end: span_end(end),
            };
        }
        let start = self.buf.len();
        self.buf.push_str(value);
        Span {
            start: span_end(start),
            end: span_end(self.buf.len()),
        }
    }

    pub(crate) fn level(&mut self, part: &[u8]) {
        self.event.level = self.part(part);
    }

    pub(crate) fn module(&mut self, part: &[u8]) {
        self.event.module = self.part(part);
    }

    pub(crate) fn message(&mut self, part: &[u8]) {
        self.event.message = self.part(part);
    }

    /// A message that is not one part of the record (Apache's errno put back before it):
    /// `value`, cleaned, expected where `near` starts.
    pub(crate) fn message_text(&mut self, near: &[u8], value: &str) {
        self.event.message = self.text_at(near, value);
    }

    pub(crate) fn client(&mut self, part: &[u8]) {
        self.event.client = Some(self.part(part));
    }

    pub(crate) fn request(&mut self, part: &[u8]) {
        self.event.request = Some(self.part(part));
    }

    pub(crate) fn upstream(&mut self, part: &[u8]) {
        self.event.upstream = Some(self.part(part));
    }

    pub(crate) fn request_id(&mut self, part: &[u8]) {
        self.event.request_id = Some(self.part(part));
    }

    /// The host without its port: the cleaned value up to its first `:`.
    pub(crate) fn host(&mut self, part: &[u8]) {
        let value = clean_cow(part);
        let host = value.split(':').next().unwrap_or_default();
        self.event.host = Some(self.text_at(part, host));
    }

    pub(crate) fn finish(self) -> ErrorEvent {
        ErrorEvent {
            buf: self.buf.into_boxed_str(),
            ..self.event
        }
    }
}

/// A length or offset as a span end; saturates (and then reads as empty) rather than wrap.
fn span_end(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The first `a` followed by `b` (a two-byte separator such as `": "`): a memchr for the
/// first byte, cheaper than building a substring searcher on every call.
pub(crate) fn find_pair(hay: &[u8], a: u8, b: u8) -> Option<usize> {
    memchr::memchr_iter(a, hay).find(|&i| hay.get(i + 1) == Some(&b))
}

/// Lossy UTF-8 with terminal control sequences removed: log data is attacker-controlled, and
/// it ends up on people's terminals and in JSON. Tabs stay; escape (and the CSI/OSC sequences
/// it starts) and other C0/C1 controls go.
pub fn clean_text(b: &[u8]) -> String {
    clean_cow(b).into_owned()
}

/// [`clean_text`], borrowing when there is nothing to clean.
fn clean_cow(b: &[u8]) -> Cow<'_, str> {
    if let Some(s) = plain_text(b) {
        return Cow::Borrowed(s);
    }
    let s = String::from_utf8_lossy(b);
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' | '\u{9b}' => skip_escape(c, &mut chars),
            '\t' | '\n' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The bytes as text when cleaning would leave them as they are (see [`clean_text`]): UTF-8
/// with no control character but tab and newline, as nearly all log text is.
pub fn plain_text(b: &[u8]) -> Option<&str> {
    // C1 controls are U+0080–U+009F, which UTF-8 writes as 0xC2 0x80–0x9F, so any 0xC2 takes
    // the careful path. (A fold without early exit, so the compiler can check many bytes at
    // once.)
    let plain = |c: u8| (c >= 0x20 && c != 0x7f && c != 0xc2) | (c == b'\t') | (c == b'\n');
    if b.iter().fold(true, |ok, &c| ok & plain(c)) {
        std::str::from_utf8(b).ok()
    } else {
        None
    }
}

/// Skips the rest of an escape sequence: CSI (`ESC [` … final byte), OSC (`ESC ]` … BEL/ST),
/// or a two-character escape.
fn skip_escape(first: char, chars: &mut std::iter::Peekable<std::str::Chars>) {
    let kind = if first == '\u{9b}' {
        Some('[')
    } else {
        chars.next()
    };
    match kind {
        Some('[') => {
            for c in chars.by_ref() {
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    break;
                }
            }
        }
        Some(']') | Some('P') | Some('_') | Some('^') => {
            while let Some(c) = chars.next() {
                if c == '\u{7}' || c == '\u{9c}' {
                    break;
                }
                if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                    chars.next();
                    break;
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_paths() {
        assert_eq!(request_path(b"GET /a/b.php?x=1 HTTP/1.1"), b"/a/b.php");
        assert_eq!(request_path(b"/x.php"), b"/x.php");
        assert_eq!(request_path(b"-"), b"-");
        assert_eq!(request_method(b"POST /up HTTP/1.1"), Some(&b"POST"[..]));
        assert_eq!(
            split_url(b"http://www.example.com:80/a?b"),
            Some((&b"www.example.com:80"[..], &b"/a?b"[..]))
        );
        assert_eq!(
            split_url(b"https://ex.org"),
            Some((&b"ex.org"[..], &b"/"[..]))
        );
        assert_eq!(split_url(b"/a"), None);
    }

    #[test]
    fn control_sequences_are_stripped() {
        let dirty = b"ok \x1b[31mred\x1b[0m \x1b]0;title\x07 bell\x07 \xff end";
        assert_eq!(clean_text(dirty), "ok red  bell \u{fffd} end");
    }
}
