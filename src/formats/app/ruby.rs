//! Ruby: Rails' `production.log` and Puma's own output.
//!
//! Rails (with the `rails new` production settings `log_formatter = ::Logger::Formatter.new`
//! and `log_tags = [:request_id]`) starts each record with Ruby's `Logger` header and the
//! request's id:
//!
//! ```text
//! I, [2026-12-07T15:25:08.391849 #24905]  INFO -- : [abc-123] Started GET "/checkout" for 127.0.0.1 at 2026-12-07 15:25:08 +0000
//! I, [2026-12-07T15:25:08.406039 #24905]  INFO -- : [abc-123] Completed 500 Internal Server Error in 13ms (Allocations: 193)
//! F, [2026-12-07T15:25:08.418077 #24905] FATAL -- : [abc-123]
//! [abc-123] KeyError (key not found: :price):
//! [abc-123]
//! [abc-123] app/models/cart.rb:8:in `fetch'
//! ```
//!
//! The exception and its backtrace continue on lines of their own, each behind the same tag,
//! so a record is the header line and the lines after it that do not start with a `Logger`
//! header. The `Started` and `Completed` lines are Rails' own record of the request (its path,
//! client and status); the exception record names none of that, only the request id and the
//! worker's pid.
//!
//! Puma (cluster mode) writes its master's and workers' events behind `[pid]`, with no time
//! (`[9660] ! Terminating timed out worker (worker failed to check in within 3 seconds): 9684`),
//! a line with the time at each start of `stdout_redirect` (`=== puma startup: 2026-12-07
//! 15:35:33 +0000 ===`), and errors the Rack app raised past every handler with the time first
//! (`2026-12-07 15:25:08 +0000 Rack app ("GET /x" - (127.0.0.1)): #<RuntimeError: boom>`).

use jiff::tz::TimeZone;
use memchr::memmem;

use super::Language;
use super::trace::Trace;
use crate::formats::time::{Civil, digits, parse_iso_local, parse_offset};
use crate::formats::{ErrorEvent, EventBuilder, Kind, Stamp};

/// Ruby `Logger::Formatter`'s severity letters (`DEBUG`..`UNKNOWN`, `ANY` as `A`).
const SEVERITY_LETTERS: &[u8] = b"DIWEFAU";

/// The parts of a Rails (Ruby `Logger`) header line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RailsHeader<'a> {
    pub time: Civil,
    pub pid: u32,
    /// `INFO`, `FATAL`…
    pub level: &'a [u8],
    /// The first tag (the request id with `log_tags = [:request_id]`), without its brackets.
    pub request_id: Option<&'a [u8]>,
    /// What follows the header and the tags, to the end of the record.
    pub message: &'a [u8],
}

/// Splits a Ruby `Logger::Formatter` line: `I, [2026-12-07T15:25:08.115576 #24905]  INFO -- : msg`.
pub fn rails_header(line: &[u8]) -> Option<RailsHeader<'_>> {
    let [letter, b',', b' ', b'[', rest @ ..] = line else {
        return None;
    };
    if !SEVERITY_LETTERS.contains(letter) {
        return None;
    }
    let (time, rest) = parse_iso_local(rest)?;
    let rest = rest.strip_prefix(b" #")?;
    let close = memchr::memchr(b']', rest)?;
    let pid = u32::try_from(digits(&rest[..close])?).ok()?;
    let rest = rest[close + 1..].trim_ascii_start();
    let dashes = memmem::find(rest, b" -- ")?;
    let level = &rest[..dashes];
    // The program name (empty in Rails) ends at the first `: `.
    let after = &rest[dashes + 4..];
    let colon = crate::formats::find_pair(after, b':', b' ')
        .or_else(|| after.ends_with(b":").then(|| after.len() - 1))?;
    let message = after.get(colon + 2..).unwrap_or_default();
    let (request_id, message) = first_tag(message);
    Some(RailsHeader {
        time,
        pid,
        level,
        request_id,
        message,
    })
}

/// Whether a line starts a Rails record.
pub fn is_rails_header(line: &[u8]) -> bool {
    rails_header(line).is_some()
}

/// Parses a Rails record: its time (in `tz`: `Logger` writes local time without a zone), the
/// worker's pid, the level, and, for `Started GET "/path" for IP`, the path and the client.
pub fn parse_rails(record: &[u8], tz: &TimeZone) -> Option<ErrorEvent> {
    let h = rails_header(record)?;
    let mut event = builder(record, h.time.in_zone(tz));
    event.event.pid = Some(h.pid);
    event.level(h.level);
    if let Some(id) = h.request_id {
        event.request_id(id);
    }
    if let Some((_, target, client)) = started(h.message) {
        event.request(target);
        event.client(client);
    }
    event.message(h.message);
    Some(event.finish())
}

fn builder(record: &[u8], time: Option<Stamp>) -> EventBuilder<'_> {
    let mut event = EventBuilder::new(record, time, Kind::App);
    event.event.language = Some(Language::Ruby);
    event
}

/// `[tag] rest` to the tag and the rest; a tag is one word (a request id, a subdomain), so
/// a message that merely starts with a bracket is not taken for one.
fn first_tag(message: &[u8]) -> (Option<&[u8]>, &[u8]) {
    let Some(inner) = message.strip_prefix(b"[") else {
        return (None, message);
    };
    match memchr::memchr3(b']', b' ', b'\n', inner) {
        Some(close) if close > 0 && inner[close] == b']' => {
            let rest = &inner[close + 1..];
            (
                Some(&inner[..close]),
                rest.strip_prefix(b" ").unwrap_or(rest),
            )
        }
        _ => (None, message),
    }
}

/// Rails' `Started GET "/path?q" for 127.0.0.1 at …`: the method, the target and the client.
pub fn started(message: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let rest = message.strip_prefix(b"Started ")?;
    let space = memchr::memchr(b' ', rest)?;
    let method = &rest[..space];
    let quoted = rest[space + 1..].strip_prefix(b"\"")?;
    let end = memchr::memchr(b'"', quoted)?;
    let target = &quoted[..end];
    let client = quoted[end + 1..].strip_prefix(b" for ")?;
    let client = &client[..memchr::memchr(b' ', client).unwrap_or(client.len())];
    Some((method, target, client))
}

/// The status of Rails' `Completed 500 Internal Server Error in 13ms …`.
pub fn completed_status(message: &[u8]) -> Option<u16> {
    let rest = message.strip_prefix(b"Completed ")?;
    let status = digits(rest.get(..3)?)?;
    u16::try_from(status)
        .ok()
        .filter(|s| (100..600).contains(s))
}

/// The lines of a record after its header, each without the tags Rails repeats in front.
fn body_lines(record: &[u8]) -> impl Iterator<Item = &[u8]> {
    record
        .split(|&b| b == b'\n')
        .skip(1)
        .map(|line| strip_tags(line.trim_ascii_end()))
}

/// A continuation line without its `[tag] ` prefixes.
fn strip_tags(mut line: &[u8]) -> &[u8] {
    while let (Some(_), rest) = first_tag(line) {
        line = rest;
    }
    line
}

/// The class of the exception a Rails record reports: the first body line that reads
/// `Class::Name (message):` or, as Ruby prints an uncaught one, `file:line:in 'm': message
/// (Class::Name)`.
pub fn exception(record: &[u8]) -> Option<&[u8]> {
    body_lines(record)
        .map(<[u8]>::trim_ascii_start)
        .find(|l| !l.is_empty())
        .and_then(exception_class)
}

/// What a Ruby record's backtrace says: its exception class and its first app frame.
pub fn trace(text: &str) -> Trace {
    let b = text.as_bytes();
    Trace::from_bytes(
        first_app_frame(b),
        exception(b).or_else(|| inspected_class(b)),
    )
}

/// The class of the error Puma's error line shows as Ruby inspects it: `…: #<ArgumentError:
/// no throttle rule>` gives `ArgumentError`.
fn inspected_class(record: &[u8]) -> Option<&[u8]> {
    let at = memmem::find(record, b": #<")?;
    let rest = &record[at + 4..];
    let end = crate::formats::find_pair(rest, b':', b' ')
        .or_else(|| memchr::memchr(b'>', rest))
        .unwrap_or(rest.len());
    exception_class(&rest[..end])
}

/// `KeyError (key not found: :price):` gives `KeyError`; `ActiveRecord::NotFound (…` gives
/// `ActiveRecord::NotFound`.
fn exception_class(line: &[u8]) -> Option<&[u8]> {
    let end = memmem::find(line, b" (").unwrap_or(line.len());
    let class = &line[..end];
    let is_constant = class.first().is_some_and(u8::is_ascii_uppercase)
        && class
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b':');
    is_constant.then_some(class)
}

/// The first frame of the application's own code in a Ruby backtrace (`app/models/cart.rb:8:in
/// 'total'`, `/srv/app/lib/x.rb:3:in …`, `\tfrom …`), skipping gems, the standard library and
/// Ruby's internals: the file and line.
pub fn first_app_frame(record: &[u8]) -> Option<(&[u8], u32)> {
    body_lines(record)
        .filter_map(frame)
        .find(|(file, _)| is_app_file(file))
}

/// `path:line:in …` (optionally behind `from `) to the path and the line.
fn frame(line: &[u8]) -> Option<(&[u8], u32)> {
    let line = line.trim_ascii_start();
    let line = line.strip_prefix(b"from ").unwrap_or(line);
    let at = memmem::find(line, b":in ")?;
    let head = &line[..at];
    let colon = memchr::memrchr(b':', head)?;
    let number = u32::try_from(digits(&head[colon + 1..])?).ok()?;
    let file = &head[..colon];
    (!file.is_empty() && !file.contains(&b' ')).then_some((file, number))
}

/// Where Ruby code that is not the application's lives: installed gems (system-wide, Debian's
/// `rubygems-integration`, Bundler's `vendor/bundle`), the standard library, the interpreter.
const LIBRARY_MARKERS: [&[u8]; 6] = [
    b"/gems/",
    b"/rubygems-integration/",
    b"/vendor/bundle/",
    b"/lib/ruby/",
    b"/usr/lib/ruby/",
    b"<internal:",
];

fn is_app_file(file: &[u8]) -> bool {
    !file.starts_with(b"<")
        && !LIBRARY_MARKERS
            .iter()
            .any(|m| memmem::find(file, m).is_some())
}

/// What a Puma line says, by its shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PumaLine<'a> {
    /// `[pid] message`: the master's or a worker's event, without a time.
    Event { pid: u32, message: &'a [u8] },
    /// `=== puma startup: 2026-12-07 15:35:33 +0000 ===`.
    Startup { time: Civil, offset: i32 },
    /// `2026-12-07 15:25:08 +0000 Rack app ("GET /x" - (127.0.0.1)): #<RuntimeError: boom>`.
    Error {
        time: Civil,
        offset: i32,
        message: &'a [u8],
    },
}

/// Reads a Puma line; None when it is none of Puma's shapes.
pub fn puma_line(line: &[u8]) -> Option<PumaLine<'_>> {
    if let Some(rest) = line.strip_prefix(b"=== puma startup: ") {
        let (time, offset, _) = zoned_time(rest)?;
        return Some(PumaLine::Startup { time, offset });
    }
    if let Some(inner) = line.strip_prefix(b"[") {
        let close = memchr::memchr(b']', inner)?;
        let pid = u32::try_from(digits(&inner[..close])?).ok()?;
        let message = inner[close + 1..].strip_prefix(b" ")?;
        return Some(PumaLine::Event { pid, message });
    }
    let (time, offset, message) = zoned_time(line)?;
    Some(PumaLine::Error {
        time,
        offset,
        message,
    })
}

/// Whether a line starts a Puma record.
pub fn is_puma_header(line: &[u8]) -> bool {
    puma_line(line).is_some()
}

/// What Puma's master and workers start their own `[pid]` lines with.
const PUMA_MARKS: [&[u8]; 5] = [b"* ", b"- ", b"! ", b"Puma starting", b"Use Ctrl-C"];

/// Whether a line is one only Puma writes: its dated lines, and `[pid]` lines with its marks
/// (a bracketed number alone is too common to tell a file by).
pub fn puma_sniff(line: &[u8]) -> bool {
    match puma_line(line) {
        Some(PumaLine::Event { message, .. }) => PUMA_MARKS.iter().any(|m| message.starts_with(m)),
        Some(_) => true,
        None => false,
    }
}

/// Parses a Puma record. The master's and workers' `[pid]` lines carry no time unless a
/// `log_formatter` dates them: undated, they are read but tied to no response. The pid of a
/// timed-out worker's line is the worker's.
pub fn parse_puma(record: &[u8]) -> Option<ErrorEvent> {
    let (time, message, pid) = match puma_line(record)? {
        PumaLine::Event { pid, message } => {
            (None, message, timed_out_worker(message).or(Some(pid)))
        }
        PumaLine::Startup { time, offset } => (Some(time.at_offset(offset)), record, None),
        PumaLine::Error {
            time,
            offset,
            message,
        } => (
            Some(time.at_offset(offset)),
            message,
            dated_event_pid(message),
        ),
    };
    let mut event = builder(record, time);
    event.event.pid = pid;
    if let Some((request, client)) = puma_error_request(message) {
        event.request(request);
        event.client(client);
    }
    event.message(message);
    Some(event.finish())
}

/// `2026-12-07 15:35:33 +0000 rest` (Ruby's `Time#to_s`): the time, its offset and the rest.
fn zoned_time(b: &[u8]) -> Option<(Civil, i32, &[u8])> {
    let (time, rest) = parse_iso_local(b)?;
    let zone = rest.strip_prefix(b" ")?;
    let end = memchr::memchr(b' ', zone).unwrap_or(zone.len());
    let offset = parse_offset(&zone[..end])?;
    Some((time, offset, zone.get(end + 1..).unwrap_or_default()))
}

/// The pid a dated event names (a `log_formatter` that puts the time in front, as Puma's own
/// error lines have it, with or without Puma's `[pid]`: `2026-12-07 15:58:02 +0000 ! Terminating
/// timed out worker …: 23224`): the timed-out worker's, else the writer's.
fn dated_event_pid(message: &[u8]) -> Option<u32> {
    match puma_line(message) {
        Some(PumaLine::Event { pid, message }) => timed_out_worker(message).or(Some(pid)),
        _ => timed_out_worker(message),
    }
}

/// The pid of the worker Puma's master killed for not checking in:
/// `! Terminating timed out worker (worker failed to check in within 3 seconds): 9684`.
pub fn timed_out_worker(message: &[u8]) -> Option<u32> {
    let rest = message.strip_prefix(b"! Terminating timed out worker")?;
    let colon = memchr::memrchr(b':', rest)?;
    u32::try_from(digits(rest[colon + 1..].trim_ascii())?).ok()
}

/// The request of Puma's error line, `Rack app ("GET /x" - (127.0.0.1)): …`: the method and
/// target, and the client.
pub fn puma_error_request(message: &[u8]) -> Option<(&[u8], &[u8])> {
    let open = memmem::find(message, b" (\"")?;
    let rest = &message[open + 3..];
    let quote = memchr::memchr(b'"', rest)?;
    let request = &rest[..quote];
    let client = rest[quote..].strip_prefix(b"\" - (")?;
    let close = memchr::memchr(b')', client)?;
    Some((request, &client[..close]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by Rails 6.1.7 (Debian's `ruby-rails`) under Puma 5.6.5 in tests/lab/rails.rs:
    /// `GET /checkout` with `X-Request-Id: abc-123` raising from `app/models/cart.rb`.
    const STARTED: &[u8] = b"I, [2026-12-07T15:25:08.391849 #24905]  INFO -- : [abc-123] Started GET \"/checkout?x=1\" for 127.0.0.1 at 2026-12-07 15:25:08 +0000";
    const COMPLETED: &[u8] = b"I, [2026-12-07T15:25:08.406039 #24905]  INFO -- : [abc-123] Completed 500 Internal Server Error in 13ms (Allocations: 193)";
    const FATAL: &[u8] = b"F, [2026-12-07T15:25:08.418077 #24905] FATAL -- : [abc-123]   \n\
[abc-123] KeyError (key not found: :price):\n\
[abc-123]   \n\
[abc-123] app/models/cart.rb:8:in `fetch'\n\
[abc-123] app/models/cart.rb:8:in `block in total'\n\
[abc-123] app/models/cart.rb:8:in `total'\n\
[abc-123] app/controllers/orders_controller.rb:9:in `checkout'";
    /// The same lab, the database refusing the connection: the message spans lines.
    const DB_REFUSED: &[u8] = b"F, [2026-12-07T15:25:08.505296 #24904] FATAL -- : [6ccdd68b-1c8d-4d9d-adb8-7f11a0be12dc]   \n\
[6ccdd68b-1c8d-4d9d-adb8-7f11a0be12dc] ActiveRecord::ConnectionNotEstablished (connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\
\tIs the server running on that host and accepting TCP/IP connections?\n\
):\n\
[6ccdd68b-1c8d-4d9d-adb8-7f11a0be12dc]   \n\
[6ccdd68b-1c8d-4d9d-adb8-7f11a0be12dc] app/controllers/orders_controller.rb:27:in `index'";

    #[test]
    fn a_rails_header_gives_time_pid_level_request_id_and_message() {
        let h = rails_header(STARTED).unwrap();
        assert_eq!((h.time.hour, h.time.minute, h.time.second), (15, 25, 8));
        assert_eq!(h.time.millis, 391);
        assert_eq!(h.pid, 24905);
        assert_eq!(h.level, b"INFO");
        assert_eq!(h.request_id, Some(&b"abc-123"[..]));
        assert_eq!(
            started(h.message),
            Some((&b"GET"[..], &b"/checkout?x=1"[..], &b"127.0.0.1"[..]))
        );
        let fatal = rails_header(FATAL).unwrap();
        assert_eq!(fatal.level, b"FATAL");
        assert_eq!(fatal.request_id, Some(&b"abc-123"[..]));
    }

    #[test]
    fn completed_names_the_status_rails_answered() {
        let h = rails_header(COMPLETED).unwrap();
        assert_eq!(completed_status(h.message), Some(500));
        assert_eq!(completed_status(b"Completed 2xx"), None);
        assert_eq!(completed_status(b"Started GET"), None);
    }

    #[test]
    fn backtrace_lines_behind_their_tag_are_not_headers() {
        for line in FATAL.split(|&b| b == b'\n').skip(1) {
            assert!(!is_rails_header(line), "{}", String::from_utf8_lossy(line));
        }
        assert!(!is_rails_header(b"[9660] ! Terminating timed out worker"));
        assert!(!is_rails_header(
            b"X, [2026-12-07T15:25:08.1 #1]  INFO -- : a"
        ));
    }

    #[test]
    fn the_exception_and_its_first_app_frame_are_read_through_the_tags() {
        assert_eq!(exception(FATAL), Some(&b"KeyError"[..]));
        assert_eq!(
            first_app_frame(FATAL),
            Some((&b"app/models/cart.rb"[..], 8))
        );
        assert_eq!(
            exception(DB_REFUSED),
            Some(&b"ActiveRecord::ConnectionNotEstablished"[..])
        );
        assert_eq!(
            first_app_frame(DB_REFUSED),
            Some((&b"app/controllers/orders_controller.rb"[..], 27))
        );
    }

    #[test]
    fn gem_and_standard_library_frames_are_skipped() {
        let record = b"F, [2026-12-07T15:25:08.418077 #1] FATAL -- : boom\n\
/usr/lib/ruby/vendor_ruby/rack/lint.rb:12:in `call'\n\
/usr/lib/x86_64-linux-gnu/rubygems-integration/3.1.0/gems/puma-5.6.5/lib/puma/request.rb:76:in `block in handle_request'\n\
<internal:kernel>:90:in `tap'\n\
\tfrom /srv/shop/lib/tasks/export.rb:14:in `run'";
        assert_eq!(
            first_app_frame(record),
            Some((&b"/srv/shop/lib/tasks/export.rb"[..], 14))
        );
    }

    /// Puma 5.6.5's cluster master in tests/lab/rails.rs, `stdout_redirect` to a file.
    #[test]
    fn puma_lines_name_the_timed_out_worker_and_the_startup_time() {
        let timeout = b"[9660] ! Terminating timed out worker (worker failed to check in within 3 seconds): 9684";
        let Some(PumaLine::Event { pid, message }) = puma_line(timeout) else {
            panic!("not an event");
        };
        assert_eq!(pid, 9660);
        assert_eq!(timed_out_worker(message), Some(9684));
        let booted = b"[9660] - Worker 1 (PID: 10046) booted in 2.67s, phase: 0";
        assert!(is_puma_header(booted));
        assert_eq!(timed_out_worker(&booted[7..]), None);
        let Some(PumaLine::Startup { time, offset }) =
            puma_line(b"=== puma startup: 2026-12-07 15:35:33 +0000 ===")
        else {
            panic!("not a startup");
        };
        assert_eq!((time.hour, time.minute, offset), (15, 35, 0));
    }

    /// Puma's `ErrorLogger#title` (lib/puma/error_logger.rb): time, text, request, error.
    #[test]
    fn a_puma_error_line_names_the_request_and_client() {
        let line = b"2026-12-07 15:25:08 +0100 Rack app (\"GET /x?a=1\" - (10.0.0.7)): #<RuntimeError: boom>";
        let Some(PumaLine::Error {
            offset, message, ..
        }) = puma_line(line)
        else {
            panic!("not an error line");
        };
        assert_eq!(offset, 3600);
        assert_eq!(
            puma_error_request(message),
            Some((&b"GET /x?a=1"[..], &b"10.0.0.7"[..]))
        );
    }

    #[test]
    fn a_fatal_record_parses_to_a_ruby_event_whose_trace_names_the_model_line() {
        let e = parse_rails(FATAL, &TimeZone::UTC).unwrap();
        assert_eq!(
            (e.kind, e.language),
            (Some(Kind::App), Some(Language::Ruby))
        );
        assert_eq!((e.pid, e.level()), (Some(24905), "FATAL"));
        assert_eq!(e.time.unwrap().rfc3339(), "2026-12-07T15:25:08+00:00");
        let t = trace(e.text());
        assert_eq!(
            (t.file.as_deref(), t.line, t.exception.as_deref()),
            (Some("app/models/cart.rb"), Some(8), Some("KeyError"))
        );
        let s = parse_rails(STARTED, &TimeZone::UTC).unwrap();
        assert_eq!(
            (s.request(), s.client()),
            (Some("/checkout?x=1"), Some("127.0.0.1"))
        );
    }

    #[test]
    fn puma_events_have_no_time_and_the_timed_out_worker_s_pid() {
        let e = parse_puma(b"[9660] ! Terminating timed out worker (worker failed to check in within 3 seconds): 9684").unwrap();
        assert_eq!((e.time, e.pid), (None, Some(9684)));
        assert!(puma_sniff(
            b"[9660] - Worker 1 (PID: 10046) booted in 2.67s, phase: 0"
        ));
        assert!(!puma_sniff(b"[42] hello"));
        let r = parse_puma(
            b"2026-12-07 15:25:08 +0000 Rack app (\"GET /x\" - (127.0.0.1)): #<RuntimeError: boom>",
        )
        .unwrap();
        assert_eq!(
            (r.request(), r.client()),
            (Some("GET /x"), Some("127.0.0.1"))
        );
        assert!(r.time.is_some());
        // Written by the lab's Puma: a Rack middleware in front of Rails raised.
        let rack = b"2026-12-07 16:19:50 +0000 Rack app (\"GET /throttled\" - (127.0.0.1)): #<ArgumentError: no throttle rule for /throttled>";
        let e = parse_puma(rack).unwrap();
        assert_eq!(
            (e.request(), e.client()),
            (Some("GET /throttled"), Some("127.0.0.1"))
        );
        assert_eq!(trace(e.text()).exception.as_deref(), Some("ArgumentError"));
        let dated = parse_puma(b"2026-12-07 15:35:41 +0000 [9660] ! Terminating timed out worker (worker failed to check in within 3 seconds): 9684").unwrap();
        assert_eq!((dated.time.is_some(), dated.pid), (true, Some(9684)));
        // Written by the lab's Puma, whose `log_formatter` replaces the `[pid]` with the time.
        let formatted = parse_puma(b"2026-12-07 15:58:02 +0000 ! Terminating timed out worker (worker failed to check in within 3 seconds): 23224").unwrap();
        assert_eq!(formatted.pid, Some(23224));
    }

    #[test]
    fn hostile_lines_never_panic() {
        let samples: [&[u8]; 8] = [
            b"",
            b"I, [",
            b"I, [2026-12-07T15:25:08.1 #",
            b"I, [2026-12-07T15:25:08.1 #99999999999999999999] INFO -- : x",
            b"[",
            b"[]",
            b"=== puma startup: ",
            b"\xff\xfe[abc] \xc3",
        ];
        for s in samples {
            let _ = rails_header(s);
            let _ = puma_line(s);
            let _ = exception(s);
            let _ = first_app_frame(s);
            let _ = started(s);
            let _ = timed_out_worker(s);
            let _ = puma_error_request(s);
            let _ = parse_rails(s, &TimeZone::UTC);
            let _ = parse_puma(s);
        }
    }
}
