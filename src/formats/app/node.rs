//! Node.js: what a Node server (Express) writes to stderr, as a process manager keeps it.
//!
//! Express's default error handler prints the error's stack and answers 500:
//!
//! ```text
//! TypeError: Cannot read properties of undefined (reading 'toFixed')
//!     at /srv/shop/cart.js:5:55
//!     at Array.reduce (<anonymous>)
//!     at Layer.handleRequest (/srv/shop/node_modules/router/lib/layer.js:169:33)
//! ```
//!
//! An exception nothing catches makes Node print where it was thrown, the stack, and its
//! version, and exit (the proxy then answers 502 until the process is back):
//!
//! ```text
//! /srv/shop/server.js:26
//!     throw new RangeError(`export batch too large: ${req.query.n || 0}`);
//!     ^
//!
//! RangeError: export batch too large: 7
//!     at Timeout._onTimeout (/srv/shop/server.js:26:11)
//!     at listOnTimeout (node:internal/timers:581:17)
//!
//! Node.js v20.20.2
//! ```
//!
//! and V8 running out of heap prints `<--- Last few GCs --->`, `FATAL ERROR: Reached heap
//! limit Allocation failed - JavaScript heap out of memory` and a native stack, then aborts.
//!
//! So a record starts at an error's first line (`Name: message`, `Name [CODE]: message`), at
//! the `file:line` Node prints before an uncaught one, at V8's GC and `FATAL ERROR` banners;
//! everything else (stack frames, an error's `{ code: … }` properties, the source line and its
//! caret) continues the record before it. So does `Node.js vX.Y.Z`: Node prints it only after
//! the uncaught exception it exits on, which it ends, so the exit is read with the error's
//! class and frames. None of these lines carries a time: that comes from the envelope
//! (journald, Docker, syslog) where there is one.

use memchr::memmem;

use super::Language;
use super::trace::Trace;
use crate::formats::time::digits;
use crate::formats::{ErrorEvent, EventBuilder, Kind};

/// What a Node stderr line starts, by its shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeLine<'a> {
    /// `TypeError: message`: an error's stack begins; the class and the message.
    Error { class: &'a [u8], message: &'a [u8] },
    /// `/srv/shop/server.js:26`: where an uncaught exception was thrown.
    Thrown { file: &'a [u8], line: u32 },
    /// `Node.js v20.20.2`: the process is exiting on an uncaught exception (the end of its
    /// record, not a record of its own).
    Exit,
    /// `FATAL ERROR: …` (V8, the heap) or `<--- Last few GCs --->`.
    Fatal { message: &'a [u8] },
}

/// Reads the start of a Node record; None for a line that continues one.
pub fn node_line(line: &[u8]) -> Option<NodeLine<'_>> {
    if let Some(message) = line.strip_prefix(b"FATAL ERROR: ") {
        return Some(NodeLine::Fatal { message });
    }
    if line.starts_with(b"<--- Last few GCs --->") || line.starts_with(b"<--- JS stacktrace --->") {
        return Some(NodeLine::Fatal { message: line });
    }
    if let Some(version) = line.strip_prefix(b"Node.js v") {
        return version
            .first()
            .is_some_and(u8::is_ascii_digit)
            .then_some(NodeLine::Exit);
    }
    if let Some((file, line)) = location(line) {
        return Some(NodeLine::Thrown { file, line });
    }
    error_head(line).map(|(class, message)| NodeLine::Error { class, message })
}

/// Whether a line starts a Node record.
pub fn is_header(line: &[u8]) -> bool {
    node_line(line).is_some_and(|l| l != NodeLine::Exit)
}

/// Whether a line is one only Node writes: its exit line, an uncaught exception's place, V8's
/// banners (an error's first line alone could be any language's).
pub fn sniff(line: &[u8]) -> bool {
    matches!(
        node_line(line),
        Some(NodeLine::Exit | NodeLine::Thrown { .. } | NodeLine::Fatal { .. })
    ) || line.starts_with(b"    at ")
}

/// Parses a Node record. Node writes no time: the record is read (its cause, its trace) but
/// tied to no response unless something in front of it gives one.
pub fn parse(record: &[u8]) -> Option<ErrorEvent> {
    let head = &record[..memchr::memchr(b'\n', record).unwrap_or(record.len())];
    let level: &[u8] = match node_line(head)? {
        NodeLine::Error { .. } | NodeLine::Thrown { .. } => b"error",
        NodeLine::Exit | NodeLine::Fatal { .. } => b"fatal",
    };
    let mut event = EventBuilder::new(record, None, Kind::App);
    event.event.language = Some(Language::Javascript);
    event.level(level);
    event.message(record);
    Some(event.finish())
}

/// What a Node record's stack says: the error's class and the first app frame.
pub fn trace(text: &str) -> Trace {
    let b = text.as_bytes();
    Trace::from_bytes(first_app_frame(b), exception(b))
}

/// `TypeError: msg`, `Error [ERR_HTTP_HEADERS_SENT]: msg`, pg's `error: msg`, a bare
/// `Error`: the class and the message. The class must read like one (an identifier ending in
/// `Error` or `Exception`, or pg's lowercase `error`) so that prose is not taken for a stack.
fn error_head(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let name_len = line
        .iter()
        .take_while(|&&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'.')
        .count();
    let class = &line[..name_len];
    let named = class.ends_with(b"Error") || class.ends_with(b"Exception") || class == b"error";
    if !named || !class[0].is_ascii_alphabetic() {
        return None;
    }
    let mut rest = &line[name_len..];
    if let Some(code) = rest.strip_prefix(b" [") {
        rest = &code[memchr::memchr(b']', code)? + 1..];
    }
    match rest {
        [] => Some((class, rest)),
        _ => rest.strip_prefix(b": ").map(|m| (class, m)),
    }
}

/// A whole line that is `path:line` (Node's header for an uncaught exception:
/// `/srv/shop/server.js:26`, `node:internal/process/promises:289`, `file:///srv/app.mjs:3`).
fn location(line: &[u8]) -> Option<(&[u8], u32)> {
    let colon = memchr::memrchr(b':', line)?;
    let number = u32::try_from(digits(&line[colon + 1..])?).ok()?;
    let file = &line[..colon];
    let pathlike =
        file.starts_with(b"/") || file.starts_with(b"node:") || file.starts_with(b"file:");
    (pathlike && !file.contains(&b' ')).then_some((strip_scheme(file), number))
}

/// The class of the error a record reports, from its first line or, for an uncaught
/// exception's record, from the first error line after the thrown source line.
pub fn exception(record: &[u8]) -> Option<&[u8]> {
    record
        .split(|&b| b == b'\n')
        .take(6)
        .find_map(|l| error_head(l.trim_ascii_end()).map(|(class, _)| class))
}

/// The first frame of the application's own code in a record: the `file:line` an uncaught
/// exception's record starts with, else the first stack frame (`    at f (/srv/x.js:5:9)`,
/// `    at /srv/x.js:5:9`) outside `node_modules`, Node's internals and native code.
pub fn first_app_frame(record: &[u8]) -> Option<(&[u8], u32)> {
    let mut lines = record.split(|&b| b == b'\n').map(<[u8]>::trim_ascii_end);
    if let Some((file, line)) = lines.next().and_then(location)
        && is_app_file(file)
    {
        return Some((file, line));
    }
    lines.filter_map(frame).find(|(file, _)| is_app_file(file))
}

/// `    at name (file:line:column)` or `    at file:line:column` to the file and line.
fn frame(line: &[u8]) -> Option<(&[u8], u32)> {
    let at = line.trim_ascii_start().strip_prefix(b"at ")?;
    // The last frame of an error with properties runs into their `{`.
    let at = at.strip_suffix(b" {").unwrap_or(at);
    let place = match at.strip_suffix(b")") {
        Some(inner) => &inner[memchr::memrchr(b'(', inner)? + 1..],
        None => at,
    };
    let column = memchr::memrchr(b':', place)?;
    let head = &place[..column];
    let colon = memchr::memrchr(b':', head)?;
    let number = u32::try_from(digits(&head[colon + 1..])?).ok()?;
    Some((strip_scheme(&head[..colon]), number))
}

/// Code that is not the application's: installed packages, Node's own modules, V8's.
const LIBRARY_MARKERS: [&[u8]; 3] = [b"/node_modules/", b"/usr/share/nodejs/", b"/usr/lib/node"];

fn is_app_file(file: &[u8]) -> bool {
    let internal =
        file.starts_with(b"node:") || file.starts_with(b"internal/") || file.starts_with(b"<");
    !internal
        && !LIBRARY_MARKERS
            .iter()
            .any(|m| memmem::find(file, m).is_some())
}

/// `file:///srv/app.mjs` to `/srv/app.mjs`.
fn strip_scheme(file: &[u8]) -> &[u8] {
    file.strip_prefix(b"file://").unwrap_or(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by Node 20.20.2 and Express 5.3.0 in tests/lab/node.rs (`GET /checkout`).
    const EXPRESS: &[u8] = b"TypeError: Cannot read properties of undefined (reading 'toFixed')
    at /srv/shop/cart.js:5:55
    at Array.reduce (<anonymous>)
    at cartTotal (/srv/shop/cart.js:5:16)
    at /srv/shop/server.js:19:19
    at Layer.handleRequest (/srv/shop/node_modules/router/lib/layer.js:169:33)
    at next (/srv/shop/node_modules/router/lib/route.js:163:13)";

    /// The same app, `GET /export`: a throw in a timer, which nothing catches.
    const UNCAUGHT: [&[u8]; 3] = [
        b"/srv/shop/server.js:26
    throw new RangeError(`export batch too large: ${req.query.n || 0}`);
    ^
",
        b"RangeError: export batch too large: 7
    at Timeout._onTimeout (/srv/shop/server.js:26:11)
    at listOnTimeout (node:internal/timers:581:17)
    at process.processTimers (node:internal/timers:519:7)
",
        b"Node.js v20.20.2",
    ];

    #[test]
    fn an_express_stack_is_one_record_with_its_class_and_first_app_frame() {
        let lines: Vec<&[u8]> = EXPRESS.split(|&b| b == b'\n').collect();
        assert!(is_header(lines[0]));
        assert!(lines[1..].iter().all(|l| !is_header(l)));
        assert_eq!(exception(EXPRESS), Some(&b"TypeError"[..]));
        assert_eq!(
            first_app_frame(EXPRESS),
            Some((&b"/srv/shop/cart.js"[..], 5))
        );
    }

    #[test]
    fn an_uncaught_exception_splits_into_where_what_and_the_exit() {
        assert_eq!(
            node_line(b"/srv/shop/server.js:26"),
            Some(NodeLine::Thrown {
                file: b"/srv/shop/server.js",
                line: 26
            })
        );
        assert_eq!(
            first_app_frame(UNCAUGHT[0]),
            Some((&b"/srv/shop/server.js"[..], 26))
        );
        assert!(
            matches!(node_line(UNCAUGHT[1]), Some(NodeLine::Error { class, .. }) if class == b"RangeError")
        );
        assert_eq!(
            first_app_frame(UNCAUGHT[1]),
            Some((&b"/srv/shop/server.js"[..], 26))
        );
        assert_eq!(node_line(UNCAUGHT[2]), Some(NodeLine::Exit));
        assert!(!is_header(UNCAUGHT[2]), "the exit ends the error's record");
    }

    #[test]
    fn a_rejection_nothing_handles_is_thrown_from_node_internals() {
        let record = b"node:internal/process/promises:289
            triggerUncaughtException(err, true /* fromPromise */);
            ^
";
        assert!(is_header(b"node:internal/process/promises:289"));
        assert_eq!(first_app_frame(record), None);
    }

    /// pg's error class is lowercase `error`, its stack all inside node_modules.
    #[test]
    fn a_pg_error_names_its_class_and_no_app_frame() {
        let record = b"error: password authentication failed for user \"app\"
    at /srv/shop/node_modules/pg/lib/client.js:545:17
    at process.processTicksAndRejections (node:internal/process/task_queues:95:5) {
  length: 104,
  severity: 'FATAL',
  code: '28P01',
}";
        assert_eq!(exception(record), Some(&b"error"[..]));
        assert_eq!(first_app_frame(record), None);
        assert!(!is_header(b"  severity: 'FATAL',"));
        assert!(!is_header(b"}"));
    }

    #[test]
    fn v8_banners_and_node_codes_start_records() {
        assert!(matches!(
            node_line(b"FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory"),
            Some(NodeLine::Fatal { message }) if message.ends_with(b"out of memory")
        ));
        assert!(is_header(b"<--- Last few GCs --->"));
        assert_eq!(
            error_head(b"Error [ERR_HTTP_HEADERS_SENT]: Cannot set headers after they are sent to the client"),
            Some((&b"Error"[..], &b"Cannot set headers after they are sent to the client"[..]))
        );
    }

    #[test]
    fn prose_and_stdout_lines_do_not_start_records() {
        for line in [
            &b"listening on 127.0.0.1:39002"[..],
            b"Server error: boom",
            b"    at /srv/shop/server.js:19:19",
            b"Node.js version",
            b"see /srv/shop/x.js:3",
        ] {
            assert!(!is_header(line), "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn hostile_lines_never_panic() {
        for s in [
            &b""[..],
            b":",
            b"Error [",
            b"Error [x",
            b"    at (",
            b"    at x (:)",
            b"/x:99999999999",
            b"\xff\xfeError: \xc3",
        ] {
            let _ = node_line(s);
            let _ = exception(s);
            let _ = first_app_frame(s);
        }
    }
}
