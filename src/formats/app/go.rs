//! A Go `net/http` service's stderr, where the standard `log` package writes (`2026/12/07
//! 15:32:09 message`, local time) and where the runtime writes a crash. Two records matter:
//!
//! - a panic in a handler, which `net/http` recovers from, logs with the goroutine's stack and
//!   answers by closing the connection (the proxy's 502):
//!
//!   ```text
//!   2026/12/07 15:32:09 http: panic serving 127.0.0.1:38390: runtime error: index out of range [3] with length 0
//!   goroutine 7 [running]:
//!   net/http.(*conn).serve.func1()
//!       /usr/lib/go-1.19/src/net/http/server.go:1850 +0xbf
//!   main.cart({0x3b?, 0xffffffffffffffff?}, 0x4a5c13?)
//!       /srv/app/main.go:29 +0x3b
//!   ```
//!
//! - a panic nothing recovers (on a goroutine of its own): the process exits, after `panic:`
//!   (or `fatal error:`) and the dump of every goroutine, with no time on any line.
//!
//! The `log` lines and those two headers start records; the dump continues them.

use jiff::tz::TimeZone;

use super::super::time::parse_nginx_error;
use super::super::{ErrorEvent, EventBuilder, Kind};
use super::{Language, trace::Trace};

/// Lines the runtime starts a crash with.
const CRASH: [&[u8]; 2] = [b"panic: ", b"fatal error: "];

/// Where a handler's recovered panic is logged.
const HANDLER_PANIC: &[u8] = b"http: panic serving ";

/// Packages of the standard library whose frames are never the application's (a panic goes
/// through `runtime`, a handler through `net/http`).
const STDLIB: [&str; 11] = [
    "runtime", "net", "panic", "sync", "reflect", "internal", "fmt", "io", "os", "encoding",
    "testing",
];

/// The time of a `log` header (`2026/12/07 15:32:09`, with `.123456` under `log.Lmicroseconds`)
/// and the message after it. An nginx error line has the same time, then ` [level]`: not Go's.
fn log_parts(line: &[u8]) -> Option<(super::super::time::Civil, &[u8])> {
    let civil = parse_nginx_error(line)?;
    let rest = &line[19..];
    let rest = match rest.strip_prefix(b".") {
        Some(frac) => &frac[frac.iter().take_while(|c| c.is_ascii_digit()).count()..],
        None => rest,
    };
    let message = rest.strip_prefix(b" ")?;
    (!message.starts_with(b"[")).then_some((civil, message))
}

/// Whether a line starts a record: a `log` line, or the runtime's crash.
pub fn is_header(line: &[u8]) -> bool {
    CRASH.iter().any(|c| line.starts_with(c)) || log_parts(line).is_some()
}

/// Whether a line is a Go service's: a `log` line or a crash, a goroutine's header, or a
/// dump's location line (`\t/srv/app/main.go:29 +0x3b`), most of the lines of a log with a
/// panic in it.
pub fn sniff(line: &[u8]) -> bool {
    is_header(line) || is_goroutine_header(line) || is_location(line)
}

/// `\t/path/file.go:LINE +0x…` (or without the offset, for inlined frames).
fn is_location(line: &[u8]) -> bool {
    line.strip_prefix(b"\t").is_some_and(|rest| {
        let end = memchr::memmem::find(rest, b" +0x").unwrap_or(rest.len());
        memchr::memmem::rfind(&rest[..end], b".go:").is_some()
    })
}

/// The level of a panic's record (`panic`, `fatal error`); `log` lines have none.
pub fn level(record: &[u8]) -> Option<&[u8]> {
    if let Some(crash) = CRASH.iter().find(|c| record.starts_with(c)) {
        return Some(&record[..crash.len() - 2]);
    }
    let (_, message) = log_parts(record)?;
    message.starts_with(HANDLER_PANIC).then(|| &message[6..11])
}

/// An event of a Go service's log.
fn builder(record: &[u8], time: Option<super::super::Stamp>) -> EventBuilder<'_> {
    let mut event = EventBuilder::new(record, time, Kind::App);
    event.event.language = Some(Language::Go);
    event
}

/// `goroutine 7 [running]:`.
fn is_goroutine_header(line: &[u8]) -> bool {
    line.strip_prefix(b"goroutine ")
        .is_some_and(|r| r.first().is_some_and(u8::is_ascii_digit) && r.ends_with(b"]:"))
}

/// Parses a record: a `log` line (with its time; `panic` as the level of a handler's panic),
/// or a crash (`panic` or `fatal error`, no time).
pub fn parse(record: &[u8], tz: &TimeZone) -> Option<ErrorEvent> {
    let (time, message) = match CRASH.iter().any(|c| record.starts_with(c)) {
        true => (None, record),
        false => log_parts(record).map(|(civil, m)| (civil.in_zone(tz), m))?,
    };
    let mut event = builder(record, time);
    if let Some(level) = level(record) {
        event.level(level);
    }
    event.message(message);
    Some(event.finish())
}

/// Reads a goroutine dump: the panic's kind and the application's first frame.
pub fn trace(text: &str) -> Trace {
    Trace::from_text(app_frame(text), exception(text))
}

/// The exception of a panic: `runtime.Error` for the runtime's own (`runtime error: index out
/// of range…`), else `panic` (a panic's value has no class the log names).
fn exception(text: &str) -> Option<&str> {
    let first = text.lines().next()?;
    let value = match first.find("http: panic serving ") {
        // `http: panic serving ADDR: VALUE`
        Some(at) => first[at + 20..].split_once(": ")?.1,
        None => first.strip_prefix("panic: ")?,
    };
    Some(match value.starts_with("runtime error: ") {
        true => "runtime.Error",
        false => "panic",
    })
}

/// The first frame of the application's code in a goroutine dump, as its file and line: a
/// function line (`main.cart(…)`, `created by main.refresh`) whose package is not the standard
/// library's, then its tab-indented `/path/file.go:LINE +0x…`.
fn app_frame(text: &str) -> Option<(String, u32)> {
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        let function = l.strip_prefix("created by ").unwrap_or(l);
        if l.starts_with('\t') || !is_function(function) || is_stdlib(function) {
            continue;
        }
        let location = lines.next()?.strip_prefix('\t')?;
        let location = location.split(" +0x").next()?;
        let (file, line) = location.rsplit_once(':')?;
        return Some((file.to_string(), line.parse().ok()?));
    }
    None
}

/// A dump's function line: `pkg.Func(args)` or `path/pkg.(*T).Method(...)`, or the creator
/// named by `created by pkg.Func` (no parentheses, maybe ` in goroutine N`).
fn is_function(l: &str) -> bool {
    let name = l.split(['(', ' ']).next().unwrap_or_default();
    !name.is_empty() && name.contains('.') && !name.contains(':') && !l.starts_with("goroutine ")
}

/// Whether a function is the standard library's: its package path's first element is one of
/// [`STDLIB`] (modules outside it start with a domain: `github.com/…`; the app is `main`).
fn is_stdlib(function: &str) -> bool {
    let first = function.split(['/', '.', '(']).next().unwrap_or_default();
    STDLIB.contains(&first)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the lab's Go 1.19 service (Debian's `golang-go`, tests/lab_go.rs) wrote to stderr.
    const HANDLER: &str = "2026/12/07 15:32:09 http: panic serving 127.0.0.1:38390: runtime error: index out of range [3] with length 0
goroutine 7 [running]:
net/http.(*conn).serve.func1()
\t/usr/lib/go-1.19/src/net/http/server.go:1850 +0xbf
panic({0x65bae0, 0xc00012a030})
\t/usr/lib/go-1.19/src/runtime/panic.go:890 +0x262
main.cart({0x3b?, 0xffffffffffffffff?}, 0x4a5c13?)
\t/work/wt-jvm/tests/lab/app_go/main.go:29 +0x3b
net/http.HandlerFunc.ServeHTTP(0xc000050af0?, {0x6e49a8?, 0xc0001300e0?}, 0x0?)
\t/usr/lib/go-1.19/src/net/http/server.go:2109 +0x2f
created by net/http.(*Server).Serve
\t/usr/lib/go-1.19/src/net/http/server.go:3102 +0x4db";

    const CRASHED: &str = "panic: cache reload failed: no upstream

goroutine 23 [running]:
main.reload(0xc00007d050?)
\t/work/wt-jvm/tests/lab/app_go/main.go:41 +0x27
created by main.refresh
\t/work/wt-jvm/tests/lab/app_go/main.go:36 +0x6a
";

    #[test]
    fn headers_are_log_lines_and_crashes_not_the_dump_or_nginx() {
        assert!(is_header(
            b"2026/12/07 15:32:09 listening on 127.0.0.1:37221"
        ));
        assert!(is_header(
            b"2026/12/07 15:32:09.123456 http: TLS handshake error"
        ));
        assert!(is_header(b"panic: boom"));
        assert!(is_header(b"fatal error: concurrent map writes"));
        for l in HANDLER.lines().skip(1).chain(CRASHED.lines().skip(1)) {
            assert!(!is_header(l.as_bytes()), "{l}");
        }
        assert!(!is_header(
            b"2026/12/07 15:31:53 [error] 4094#4094: *9 upstream"
        ));
        // The header, the goroutine's and each frame's location: most of a dump's lines.
        let sniffed = HANDLER.lines().filter(|l| sniff(l.as_bytes())).count();
        assert!(sniffed * 2 > HANDLER.lines().count(), "{sniffed}");
        assert!(!sniff(
            b"2026/12/07 15:31:53 [error] 4094#4094: *9 upstream"
        ));
        assert!(!sniff(b"\tat lab.Orders.total(Orders.java:11)"));
    }

    #[test]
    fn a_handlers_panic_names_the_apps_frame() {
        let e = parse(HANDLER.as_bytes(), &TimeZone::UTC).unwrap();
        assert_eq!(e.level(), "panic");
        assert!(
            e.message()
                .starts_with("http: panic serving 127.0.0.1:38390")
        );
        assert_eq!(e.time.unwrap().rfc3339(), "2026-12-07T15:32:09+00:00");
        assert_eq!(exception(e.text()), Some("runtime.Error"));
        assert_eq!(
            app_frame(e.text()),
            Some(("/work/wt-jvm/tests/lab/app_go/main.go".into(), 29))
        );
    }

    #[test]
    fn a_crash_has_no_time_and_names_the_panicking_goroutines_frame() {
        let e = parse(CRASHED.as_bytes(), &TimeZone::UTC).unwrap();
        assert_eq!((e.level(), e.time), ("panic", None));
        assert_eq!(exception(e.text()), Some("panic"));
        assert_eq!(
            app_frame(e.text()),
            Some(("/work/wt-jvm/tests/lab/app_go/main.go".into(), 41))
        );
        let fatal = parse(b"fatal error: concurrent map writes", &TimeZone::UTC).unwrap();
        assert_eq!(fatal.level(), "fatal error");
    }

    #[test]
    fn modules_outside_the_standard_library_are_the_apps() {
        let dump = "goroutine 1 [running]:\ngithub.com/acme/shop/cart.(*Cart).Add(...)\n\t/src/cart/cart.go:12 +0x1d\n";
        assert_eq!(app_frame(dump), Some(("/src/cart/cart.go".into(), 12)));
        assert_eq!(app_frame("main.x()\n"), None);
        assert_eq!(app_frame("main.x()\n\tno-line +0x1"), None);
    }
}
