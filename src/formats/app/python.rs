//! Python's application servers and `logging`:
//! - gunicorn's error log, `[2026-12-07 15:24:00 +0000] [21310] [CRITICAL] WORKER TIMEOUT
//!   (pid:21311)`, with, under `--capture-output`, the application's own `logging` records;
//! - Python's `logging` in the shapes Django and Flask write it: `2026-12-07 09:23:58,063
//!   ERROR django.request Internal Server Error: /boom` (`%(asctime)s %(levelname)s %(name)s
//!   %(message)s`), Flask's default `[2026-12-07 15:23:33,790] ERROR in app: Exception on
//!   /boom [GET]`, each followed by its traceback;
//! - uWSGI's log with `--log-date`: `Mon Dec  7 15:23:36 2026 - *** HARAKIRI ON WORKER 1
//!   (pid: 18665, try: 1) ***`, its request lines `[pid: 18665|app: 0|req: 1/1] 127.0.0.1 ()
//!   {24 vars in 254 bytes} [Mon Dec  7 15:23:33 2026] GET /boom => generated 265 bytes in 7
//!   msecs (HTTP/1.1 500) …`, and what the application wrote on stderr.
//!
//! Samples, with the servers that wrote them, are in docs/stacks.md.

use jiff::tz::TimeZone;

use super::Language;
use super::trace::Trace;
use crate::formats::access::parse_status;
use crate::formats::time::{Civil, parse_apache_error, parse_offset, parse_python};
use crate::formats::{AccessRecord, ErrorEvent, EventBuilder, Kind};
use std::borrow::Cow;

/// The levels Python's `logging` (and gunicorn) write.
const LEVELS: [&[u8]; 5] = [b"DEBUG", b"INFO", b"WARNING", b"ERROR", b"CRITICAL"];

/// The parts of a gunicorn header line.
struct Gunicorn<'a> {
    time: Civil,
    offset: Option<i32>,
    pid: &'a [u8],
    level: &'a [u8],
    message: &'a [u8],
}

/// `[2026-12-07 15:24:00 +0000] [21310] [LEVEL] message`.
fn gunicorn_header(line: &[u8]) -> Option<Gunicorn<'_>> {
    let (time, rest) = parse_python(line.strip_prefix(b"[")?)?;
    let close = memchr::memchr(b']', rest)?;
    let zone = rest[..close].trim_ascii();
    let offset = if zone.is_empty() {
        None
    } else {
        Some(parse_offset(zone)?)
    };
    let (pid, rest) = bracketed(&rest[close + 1..])?;
    let (level, message) = bracketed(rest)?;
    let message = message.strip_prefix(b" ").unwrap_or(message);
    pid.iter().all(u8::is_ascii_digit).then_some(())?;
    is_level(level).then_some(Gunicorn {
        time,
        offset,
        pid,
        level,
        message,
    })
}

/// ` [value] rest`: the value and what follows the bracket.
fn bracketed(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let inner = b.strip_prefix(b" [")?;
    let close = memchr::memchr(b']', inner)?;
    Some((&inner[..close], &inner[close + 1..]))
}

fn is_level(word: &[u8]) -> bool {
    LEVELS.contains(&word)
}

/// The parts of a `logging` header line.
struct Logging<'a> {
    /// None in `logging`'s default format, which writes none.
    time: Option<Civil>,
    /// The zone, where a `datefmt` with `%z` wrote one after the time.
    offset: Option<i32>,
    level: &'a [u8],
    message: &'a [u8],
}

/// A `logging` record's first line, with a time or in the default format.
fn logging_header(line: &[u8]) -> Option<Logging<'_>> {
    timed_header(line).or_else(|| default_header(line))
}

/// `logging`'s default format, `basicConfig()`'s `%(levelname)s:%(name)s:%(message)s`
/// (`ERROR:django.request:Internal Server Error: /x`): no time, so the record takes its
/// envelope's or that of the timed record before it.
fn default_header(line: &[u8]) -> Option<Logging<'_>> {
    let colon = memchr::memchr(b':', line)?;
    let level = &line[..colon];
    let rest = &line[colon + 1..];
    let end = memchr::memchr(b':', rest)?;
    let name = &rest[..end];
    let is_name = !name.is_empty() && !name.iter().any(u8::is_ascii_whitespace);
    (is_level(level) && is_name).then(|| Logging {
        time: None,
        offset: None,
        level,
        message: &rest[end + 1..],
    })
}

/// A `logging` record's first line with a time (`%(asctime)s`, bare or in brackets), then,
/// among the next three words (`-` and `|` separators not counted), the level; the message
/// follows.
fn timed_header(line: &[u8]) -> Option<Logging<'_>> {
    let bracket = line.first() == Some(&b'[');
    let (time, mut rest) = parse_python(&line[usize::from(bracket)..])?;
    let offset = zone_after(&mut rest);
    if bracket {
        rest = rest.strip_prefix(b"]")?;
    }
    let mut words = 0;
    while words < 3 {
        rest = rest.trim_ascii_start();
        let end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
        let word = &rest[..end];
        if word.is_empty() {
            return None;
        }
        let bare = word.trim_ascii_end();
        let bare = bare.strip_suffix(b":").unwrap_or(bare);
        let bare = bare.strip_prefix(b"[").unwrap_or(bare);
        let bare = bare.strip_suffix(b"]").unwrap_or(bare);
        if is_level(bare) {
            let message = rest[end..].trim_ascii_start();
            let message = (message.strip_prefix(b"- "))
                .or_else(|| message.strip_prefix(b"| "))
                .unwrap_or(message);
            return Some(Logging {
                time: Some(time),
                offset,
                level: bare,
                message,
            });
        }
        if word != b"-" && word != b"|" {
            words += 1;
        }
        rest = &rest[end..];
    }
    None
}

/// A `+0100` right after the time (or after a space), taken off the front of `rest`.
fn zone_after(rest: &mut &[u8]) -> Option<i32> {
    let word = rest.strip_prefix(b" ").unwrap_or(rest);
    let end = word
        .iter()
        .position(|&c| c == b' ' || c == b']')
        .unwrap_or(word.len());
    let offset = parse_offset(&word[..end])?;
    *rest = &word[end..];
    Some(offset)
}

/// The instant of a header's time: at the offset it wrote, else in `tz`.
fn stamp(time: Civil, offset: Option<i32>, tz: &TimeZone) -> Option<crate::formats::Stamp> {
    match offset {
        Some(offset) => Some(time.at_offset(offset)),
        None => time.in_zone(tz),
    }
}

/// Whether a line is gunicorn's own.
pub fn gunicorn_sniff(line: &[u8]) -> bool {
    gunicorn_header(line).is_some()
}

/// Whether a line is a `logging` record's first, and not gunicorn's.
pub fn logging_sniff(line: &[u8]) -> bool {
    logging_header(line).is_some() && gunicorn_header(line).is_none()
}

/// Whether a line starts a record in gunicorn's error log or a `logging` file: either one's
/// header (the two share files).
pub fn is_header(line: &[u8]) -> bool {
    gunicorn_header(line).is_some() || logging_header(line).is_some()
}

/// The level a gunicorn or `logging` record's header names.
pub fn level(record: &[u8]) -> Option<&[u8]> {
    match gunicorn_header(record) {
        Some(g) => Some(g.level),
        None => logging_header(record).map(|l| l.level),
    }
}

/// Parses a gunicorn or `logging` record (its traceback included).
pub fn parse(record: &[u8], tz: &TimeZone) -> Option<ErrorEvent> {
    if let Some(g) = gunicorn_header(record) {
        let mut event = builder(record, stamp(g.time, g.offset, tz));
        event.event.pid = std::str::from_utf8(g.pid).ok().and_then(|p| p.parse().ok());
        event.level(g.level);
        finish(event, g.message)
    } else {
        let l = logging_header(record)?;
        let time = l.time.and_then(|t| stamp(t, l.offset, tz));
        let mut event = builder(record, time);
        event.level(l.level);
        finish(event, l.message)
    }
}

fn builder(record: &[u8], time: Option<crate::formats::Stamp>) -> EventBuilder<'_> {
    let mut event = EventBuilder::new(record, time, Kind::App);
    event.event.language = Some(Language::Python);
    event
}

/// Sets the message (the rest of the record, traceback and all) and the request path its
/// first line names, and builds the event.
fn finish(mut event: EventBuilder<'_>, message: &[u8]) -> Option<ErrorEvent> {
    if let Some(path) = named_path(first_line(message)) {
        event.request(path);
    }
    event.message(message);
    Some(event.finish())
}

fn first_line(b: &[u8]) -> &[u8] {
    &b[..memchr::memchr(b'\n', b).unwrap_or(b.len())]
}

/// The phrases before the path of the request a record is about: Django's, werkzeug/Flask's,
/// gunicorn's own.
const PATH_AFTER: [&[u8]; 3] = [
    b"Internal Server Error: ",
    b"Exception on ",
    b"Error handling request ",
];

/// The path a record's first line names (`Internal Server Error: /boom`, `Exception on /boom
/// [GET]`, `Error handling request /boom`).
fn named_path(line: &[u8]) -> Option<&[u8]> {
    let (at, phrase) = PATH_AFTER
        .iter()
        .find_map(|p| memchr::memmem::find(line, p).map(|at| (at, p)))?;
    let rest = &line[at + phrase.len()..];
    let end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|p| p.first() == Some(&b'/'))
}

/// uWSGI's `--log-date` prefix: `Mon Dec  7 15:23:36 2026 - `; the time and the message.
fn uwsgi_dated(line: &[u8]) -> Option<(Civil, &[u8])> {
    let time = parse_apache_error(line.get(..24)?)?;
    Some((time, line.get(24..)?.strip_prefix(b" - ")?))
}

/// What uWSGI starts its own undated lines with.
const UWSGI_OWN: [&[u8]; 5] = [
    b"*** ",
    b"DAMN ! worker ",
    b"Respawned uWSGI ",
    b"spawned uWSGI ",
    b"!!! uWSGI ",
];

/// uWSGI's request line: `[pid: 18665|app: 0|req: 1/1] 127.0.0.1 () {…} [date] GET /boom
/// => generated …`.
pub fn is_request_line(line: &[u8]) -> bool {
    line.starts_with(b"[pid: ") && memchr::memchr(b'|', line).is_some()
}

/// Whether a line is uWSGI's own.
pub fn uwsgi_sniff(line: &[u8]) -> bool {
    is_request_line(line)
        || uwsgi_dated(line).is_some()
        || UWSGI_OWN.iter().any(|p| line.starts_with(p))
}

/// Whether a line starts a record in uWSGI's log: its own lines (but the lines of a worker's
/// status that follow `*** HARAKIRI ON WORKER` and name the request it was serving) and the
/// application's `logging` records. Its request lines are its access log, read as such.
pub fn uwsgi_is_header(line: &[u8]) -> bool {
    match uwsgi_dated(line) {
        Some((_, message)) => !message.starts_with(b"HARAKIRI "),
        None => UWSGI_OWN.iter().any(|p| line.starts_with(p)) || is_header(line),
    }
}

/// uWSGI's records have no level; the application's `logging` records in its log do.
pub fn uwsgi_level(record: &[u8]) -> Option<&[u8]> {
    level(record)
}

/// Parses a record of uWSGI's log. Its own undated lines (without `--log-date`) have no time:
/// they are read, but no response can be tied to them.
pub fn uwsgi_parse(record: &[u8], tz: &TimeZone) -> Option<ErrorEvent> {
    if let Some((time, message)) = uwsgi_dated(record) {
        let mut event = builder(record, time.in_zone(tz));
        harakiri_request(message, &mut event);
        event.event.pid = worker_pid(message);
        event.message(message);
        return Some(event.finish());
    }
    if UWSGI_OWN.iter().any(|p| record.starts_with(p)) {
        let mut event = builder(record, None);
        event.event.pid = worker_pid(record);
        event.message(record);
        return Some(event.finish());
    }
    parse(record, tz)
}

/// The request a worker killed by `harakiri` was serving, from its status lines:
/// `HARAKIRI [core 0] 127.0.0.1 - GET /slow since 1796657013`.
fn harakiri_request(message: &[u8], event: &mut EventBuilder<'_>) {
    let Some(at) = memchr::memmem::find(message, b"HARAKIRI [core ") else {
        return;
    };
    let line = first_line(&message[at..]);
    let Some(close) = memchr::memchr(b']', line) else {
        return;
    };
    let rest = line[close + 1..].trim_ascii_start();
    let Some(dash) = memchr::memmem::find(rest, b" - ") else {
        return;
    };
    event.client(&rest[..dash]);
    let request = &rest[dash + 3..];
    let end = memchr::memmem::find(request, b" since ").unwrap_or(request.len());
    event.request(&request[..end]);
}

/// The worker pid a uWSGI line names: `(pid: 18665` or `(pid: 18665,`.
fn worker_pid(message: &[u8]) -> Option<u32> {
    let at = memchr::memmem::find(first_line(message), b"(pid: ")?;
    let digits = &message[at + 6..];
    let n = digits.iter().take_while(|c| c.is_ascii_digit()).count();
    std::str::from_utf8(&digits[..n]).ok()?.parse().ok()
}

/// uWSGI's request line as an access record: its client, request, status and time (when the
/// request started, in `tz`). The same request's other hop behind a proxy (see
/// [`AccessFormat::is_hop`](crate::formats::access::AccessFormat::is_hop)).
pub fn request_record<'a>(line: &'a [u8], tz: &TimeZone) -> Option<AccessRecord<'a>> {
    if !is_request_line(line) {
        return None;
    }
    let rest = line[memchr::memchr(b']', line)? + 1..].trim_ascii_start();
    let client = &rest[..memchr::memchr(b' ', rest)?];
    let open = memchr::memchr(b'[', rest)?;
    let close = open + memchr::memchr(b']', &rest[open..])?;
    let time = parse_apache_error(&rest[open + 1..close])?.in_zone(tz)?;
    let after = rest[close + 1..].trim_ascii_start();
    let arrow = memchr::memmem::find(after, b" => ")?;
    // `… (HTTP/1.1 500) 2 headers …`: the status after the protocol.
    let proto = memchr::memmem::find(&after[arrow..], b" (HTTP/")? + arrow + 2;
    let status = after[proto..].split(|&b| b == b' ').nth(1)?;
    let status = parse_status(status.strip_suffix(b")")?)?;
    Some(AccessRecord {
        time,
        client: Cow::Borrowed(client),
        vhost: None,
        request: Cow::Borrowed(&after[..arrow]),
        status,
        user_agent: Cow::Borrowed(b""),
        reason: None,
        request_id: None,
    })
}

/// Reads a Python traceback: the exception of its last part (the one raised last, after
/// `During handling of the above exception…`), and the frame nearest to it in the
/// application's own code (tracebacks list the innermost call last); earlier parts are read
/// only where the last has no application frame.
pub fn trace(text: &str) -> Trace {
    let parts: Vec<&str> = text.split("Traceback (most recent call last):").collect();
    if parts.len() < 2 {
        return Trace::default();
    }
    let last = parts[parts.len() - 1];
    let frame = parts[1..]
        .iter()
        .rev()
        .find_map(|part| app_frames(part).last());
    Trace {
        file: frame.map(|(file, _)| file.to_owned()),
        line: frame.map(|(_, line)| line),
        exception: exception_of(last).map(str::to_owned),
    }
}

/// The application's frames of one traceback, outermost first: `  File "/srv/app/views.py",
/// line 15, in boom`.
fn app_frames(part: &str) -> impl DoubleEndedIterator<Item = (&str, u64)> {
    part.lines().filter_map(|l| {
        let rest = l.trim_start().strip_prefix("File \"")?;
        let (file, rest) = rest.split_once("\", line ")?;
        let digits = rest.split(|c: char| !c.is_ascii_digit()).next()?;
        let line = digits.parse().ok()?;
        (!is_library(file)).then_some((file, line))
    })
}

/// Where Python's own modules and installed packages live: not the application's code.
fn is_library(file: &str) -> bool {
    file.starts_with('<')
        || ["/site-packages/", "/dist-packages/", "/lib/python"]
            .iter()
            .any(|p| file.contains(p))
}

/// The exception line of a traceback: the first line after its frames that is not indented
/// (`KeyError: 'customer'`, `MemoryError`), its class being what comes before `: `.
fn exception_of(part: &str) -> Option<&str> {
    let mut in_frames = false;
    for l in part.lines() {
        if l.starts_with(' ') || l.starts_with('\t') {
            in_frames = true;
        } else if in_frames && !l.is_empty() {
            let class = l.split(": ").next().unwrap_or(l).trim_end_matches(':');
            let ok = class
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
            return (ok && !class.is_empty()).then_some(class);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Python 3.11's `logging.basicConfig()` writes for Django's request logger and the
    /// root logger (run with `exc_info=True` on a `KeyError`).
    const DEFAULT_FORMAT: &str = "ERROR:django.request:Internal Server Error: /dj/boom
Traceback (most recent call last):
  File \"/srv/app/djapp/views.py\", line 15, in boom
    return {}[\"customer\"]
KeyError: 'customer'
WARNING:root:disk almost full";

    #[test]
    fn the_default_format_is_read_without_a_time() {
        let lines: Vec<&str> = DEFAULT_FORMAT.lines().collect();
        let headers: Vec<bool> = lines.iter().map(|l| is_header(l.as_bytes())).collect();
        assert_eq!(headers, [true, false, false, false, false, true]);
        assert!(logging_sniff(lines[0].as_bytes()));
        for other in [
            "Error: boom",
            "ERROR: no name",
            "ERROR:two words:x",
            "Traceback (most recent call last):",
        ] {
            assert!(!is_header(other.as_bytes()), "{other}");
        }
        let record = lines[..5].join("\n");
        let e = parse(record.as_bytes(), &TimeZone::UTC).unwrap();
        assert_eq!((e.level(), e.time), ("ERROR", None));
        assert_eq!(e.request(), Some("/dj/boom"));
        assert!(e.message().starts_with("Internal Server Error: /dj/boom"));
        let v = crate::diagnose::rules::Rules::builtin()
            .classify(&e)
            .unwrap();
        assert_eq!(v.cause, "app_exception");
        assert_eq!(v.exception.as_deref(), Some("KeyError"));
        assert_eq!(
            (v.file.as_deref(), v.line),
            (Some("/srv/app/djapp/views.py"), Some(15))
        );
    }

    const DJANGO: &str = "2026-12-07 09:23:58,063 ERROR django.request Internal Server Error: /boom\n\
Traceback (most recent call last):\n  \
File \"/usr/lib/python3/dist-packages/django/core/handlers/exception.py\", line 47, in inner\n    \
response = get_response(request)\n  \
File \"/srv/app/djapp/views.py\", line 15, in boom\n    \
return HttpResponse(order[\"customer\"])\n\
KeyError: 'customer'";

    #[test]
    fn a_django_record_names_its_path_exception_and_app_frame() {
        assert!(logging_sniff(DJANGO.as_bytes()) && !gunicorn_sniff(DJANGO.as_bytes()));
        let e = parse(DJANGO.as_bytes(), &TimeZone::UTC).unwrap();
        assert_eq!(e.kind, Some(Kind::App));
        assert_eq!(e.language, Some(Language::Python));
        assert_eq!((e.level(), e.request()), ("ERROR", Some("/boom")));
        assert_eq!(e.time.unwrap().rfc3339(), "2026-12-07T09:23:58+00:00");
        let t = trace(e.text());
        assert_eq!(
            (t.file.as_deref(), t.line, t.exception.as_deref()),
            (Some("/srv/app/djapp/views.py"), Some(15), Some("KeyError"))
        );
    }

    #[test]
    fn logging_times_with_a_t_or_a_zone_are_read() {
        let l = b"2026-12-07T15:24:00+0100 ERROR app.views Payment failed";
        let e = parse(l, &TimeZone::UTC).unwrap();
        assert_eq!(e.time.unwrap().rfc3339(), "2026-12-07T15:24:00+01:00");
        let l = b"2026-12-07 15:24:00 -0500 | ERROR | app.views | Payment failed";
        let e = parse(l, &TimeZone::UTC).unwrap();
        assert_eq!(
            (e.level(), e.message()),
            ("ERROR", "app.views | Payment failed")
        );
        assert_eq!(e.time.unwrap().rfc3339(), "2026-12-07T15:24:00-05:00");
    }

    #[test]
    fn gunicorn_lines_carry_their_offset_pid_and_level() {
        let l = b"[2026-12-07 15:24:00 +0100] [21310] [CRITICAL] WORKER TIMEOUT (pid:21311)";
        assert!(gunicorn_sniff(l) && !logging_sniff(l) && is_header(l));
        let e = parse(l, &TimeZone::UTC).unwrap();
        assert_eq!((e.pid, e.level()), (Some(21310), "CRITICAL"));
        assert_eq!(e.message(), "WORKER TIMEOUT (pid:21311)");
        assert_eq!(e.time.unwrap().rfc3339(), "2026-12-07T15:24:00+01:00");
        let g = b"[2026-12-07 15:24:00 +0000] [7] [ERROR] Error handling request /up";
        assert_eq!(parse(g, &TimeZone::UTC).unwrap().request(), Some("/up"));
    }

    #[test]
    fn flask_names_the_path_and_traceback_lines_are_no_headers() {
        let l = b"[2026-12-07 15:23:33,790] ERROR in app: Exception on /boom [GET]";
        let e = parse(l, &TimeZone::UTC).unwrap();
        assert_eq!((e.level(), e.request()), ("ERROR", Some("/boom")));
        for line in [
            "Traceback (most recent call last):",
            "  File \"/srv/app.py\", line 6, in boom",
            "ValueError: boom",
            "psycopg2.OperationalError: connection to server at \"127.0.0.1\", port 5432 failed",
        ] {
            assert!(!is_header(line.as_bytes()) && !uwsgi_is_header(line.as_bytes()));
        }
    }

    #[test]
    fn uwsgi_harakiri_is_one_record_naming_the_request() {
        let record =
            b"Mon Dec  7 15:23:36 2026 - *** HARAKIRI ON WORKER 1 (pid: 18665, try: 1) ***\n\
Mon Dec  7 15:23:36 2026 - HARAKIRI !!! worker 1 status !!!\n\
Mon Dec  7 15:23:36 2026 - HARAKIRI [core 0] 127.0.0.1 - GET /slow since 1796657013";
        let lines: Vec<&[u8]> = record.split(|&b| b == b'\n').collect();
        assert!(uwsgi_is_header(lines[0]) && uwsgi_sniff(lines[0]));
        assert!(!uwsgi_is_header(lines[1]) && !uwsgi_is_header(lines[2]));
        let e = uwsgi_parse(record, &TimeZone::UTC).unwrap();
        assert_eq!(
            (e.pid, e.client(), e.request()),
            (Some(18665), Some("127.0.0.1"), Some("GET /slow"))
        );
        assert_eq!(e.time.unwrap().rfc3339(), "2026-12-07T15:23:36+00:00");
    }

    #[test]
    fn uwsgi_request_lines_are_its_access_log() {
        let l = b"[pid: 18665|app: 0|req: 1/1] 127.0.0.1 () {24 vars in 254 bytes} [Mon Dec  7 15:23:33 2026] GET /boom => generated 265 bytes in 7 msecs (HTTP/1.1 500) 2 headers in 99 bytes (1 switches on core 0)";
        assert!(uwsgi_sniff(l) && !uwsgi_is_header(l));
        let r = request_record(l, &TimeZone::UTC).unwrap();
        assert_eq!(
            (&*r.client, &*r.request, r.status),
            (&b"127.0.0.1"[..], &b"GET /boom"[..], 500)
        );
        assert_eq!(r.time.rfc3339(), "2026-12-07T15:23:33+00:00");
        let cut = b"[pid: 1|app: 0] 127.0.0.1 () {} [Mon Dec  7 15:23:33 2026] GET /x => generated";
        assert!(request_record(cut, &TimeZone::UTC).is_none());
        let damn = b"DAMN ! worker 1 (pid: 18665) died, killed by signal 9 :( trying respawn ...";
        assert!(uwsgi_is_header(damn));
        assert_eq!(uwsgi_parse(damn, &TimeZone::UTC).unwrap().time, None);
    }

    #[test]
    fn the_last_chained_exception_and_the_nearest_app_frame_win() {
        let text = "Traceback (most recent call last):\n  \
File \"/usr/lib/python3/dist-packages/psycopg2/__init__.py\", line 122, in connect\n    \
conn = _connect(dsn)\n\
psycopg2.OperationalError: connection failed: FATAL:  password authentication failed for user \"app\"\n\n\
The above exception was the direct cause of the following exception:\n\n\
Traceback (most recent call last):\n  \
File \"/srv/app/views.py\", line 24, in db\n    \
with connection.cursor() as cursor:\n  \
File \"/usr/lib/python3.11/contextlib.py\", line 3, in x\n    \
y()\n\
django.db.utils.OperationalError: connection failed: FATAL:  password authentication failed\n";
        let t = trace(text);
        assert_eq!(t.file.as_deref(), Some("/srv/app/views.py"));
        assert_eq!(t.line, Some(24));
        assert_eq!(
            t.exception.as_deref(),
            Some("django.db.utils.OperationalError")
        );
        assert_eq!(trace("no traceback here"), Trace::default());
    }

    #[test]
    fn hostile_bytes_never_panic() {
        for l in [
            &b"[2026-12-07 15:24:00"[..],
            b"[2026-12-07 15:24:00 +0000] [",
            b"[2026-12-07 15:24:00,] ERROR",
            b"[pid: |",
            b"[pid: 1|app] x [Mon Dec  7 15:23:33 2026",
            b"Mon Dec  7 15:23:36 2026 - HARAKIRI [core 0] x",
            b"2026-12-07 15:24:00,1 - - - -",
            b"\xff\xfe2026-12-07 15:24:00 ERROR \xff",
        ] {
            for f in [parse, uwsgi_parse] {
                let _ = f(l, &TimeZone::UTC);
            }
            let _ = (is_header(l), uwsgi_is_header(l), level(l));
        }
    }
}
