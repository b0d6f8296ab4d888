//! Java application servers' logs, read as Tomcat and Spring Boot write them by default.
//!
//! Tomcat's `OneLineFormatter` (its `catalina.DATE.log`, `localhost.DATE.log` and, through the
//! console, `catalina.out`) starts a record with the time, the level, the thread and the
//! logger's class and method, and indents the stack trace that follows with a tab:
//!
//! ```text
//! 07-Dec-2026 15:31:53.410 SEVERE [http-nio-127.0.0.1-46659-exec-3] org.apache.catalina.core.StandardWrapperValve.invoke Servlet.service() for servlet [faults] in context with path [] threw exception
//!     java.lang.IllegalStateException: order 42 has a bad quantity
//!         at lab.Orders.total(Orders.java:11)
//! ```
//!
//! Spring Boot's default console pattern (`%d %5p PID --- [app] [thread] logger : message`,
//! logback) writes the stack trace unindented after the header:
//!
//! ```text
//! 2026-02-19T12:22:37.451Z ERROR 128443 --- [myapp] [nio-8080-exec-1] o.a.c.c.C.[.[.[/].[dispatcherServlet]    : Servlet.service() for servlet [dispatcherServlet] in context with path [] threw exception
//! java.lang.IllegalStateException: boom
//!     at com.example.Shop.buy(Shop.java:12) ~[classes/:na]
//! ```
//!
//! A trace names frames as `at pkg.Class.method(File.java:N)` (after `java.base/` and the like
//! for modules): the file is the package's directory and the file name, as the sources are
//! laid out.

use jiff::tz::TimeZone;

use super::super::time::{parse_iso8601, parse_php, parse_python};
use super::super::{ErrorEvent, EventBuilder, Kind};
use super::{Language, trace::Trace};

/// java.util.logging's level names, as `OneLineFormatter` writes them.
const JUL_LEVELS: [&[u8]; 7] = [
    b"SEVERE", b"WARNING", b"INFO", b"CONFIG", b"FINE", b"FINER", b"FINEST",
];

/// logback's level names, right-aligned to five characters by `%5p`.
const LOGBACK_LEVELS: [&[u8]; 5] = [b"ERROR", b"WARN", b"INFO", b"DEBUG", b"TRACE"];

/// Frames of these packages are the platform's, the container's, the framework's or a common
/// library's (JDBC drivers, pools, ORMs, JSON), never the application's: a trace names no jar,
/// so a dependency is known by its package.
const FOREIGN: [&str; 18] = [
    "java.",
    "javax.",
    "jdk.",
    "sun.",
    "com.sun.",
    "jakarta.",
    "org.apache.",
    "org.springframework.",
    "org.eclipse.",
    "org.postgresql.",
    "org.mariadb.",
    "com.mysql.",
    "oracle.jdbc.",
    "org.hibernate.",
    "com.zaxxer.hikari.",
    "com.fasterxml.",
    "io.netty.",
    "kotlin.",
];

/// A Tomcat header's parts: the time, the level and what follows it (`[thread] logger msg`).
fn tomcat_parts(line: &[u8]) -> Option<(super::super::time::Civil, &[u8], &[u8])> {
    let (civil, rest) = parse_php(line)?;
    let space = memchr::memchr(b' ', rest)?;
    let (level, after) = (&rest[..space], &rest[space + 1..]);
    (JUL_LEVELS.contains(&level) && after.starts_with(b"[")).then_some((civil, level, after))
}

/// Whether a line starts a Tomcat (`OneLineFormatter`) record.
pub fn is_tomcat_header(line: &[u8]) -> bool {
    tomcat_parts(line).is_some()
}

/// Parses a Tomcat record: the level, the logger as module, and the message with the stack
/// trace (the rules read both).
pub fn parse_tomcat(record: &[u8], tz: &TimeZone) -> Option<ErrorEvent> {
    let (civil, level, after) = tomcat_parts(record)?;
    let thread_end = bracket_end(after)?;
    let rest = after.get(thread_end + 1..)?.strip_prefix(b" ")?;
    let logger_end = memchr::memchr2(b' ', b'\n', rest).unwrap_or(rest.len());
    let mut event = builder(record, civil.in_zone(tz));
    event.level(level);
    event.module(&rest[..logger_end]);
    event.message(rest.get(logger_end + 1..).unwrap_or_default());
    Some(event.finish())
}

/// An event of a Java application server's log.
fn builder(record: &[u8], time: Option<super::super::Stamp>) -> EventBuilder<'_> {
    let mut event = EventBuilder::new(record, time, Kind::App);
    event.event.language = Some(Language::Java);
    event
}

/// The level a Tomcat record's header names.
pub fn tomcat_level(record: &[u8]) -> Option<&[u8]> {
    tomcat_parts(record).map(|(_, level, _)| level)
}

/// The level a Spring Boot record's header names.
pub fn spring_level(record: &[u8]) -> Option<&[u8]> {
    spring_parts(record).map(|h| h.level)
}

/// Whether a line is a stack trace's frame or cause (`\tat pkg.C.m(C.java:1)`, `Caused by:
/// …`, `... 24 more`), as both dialects continue their records: detection counts them, a
/// trace being most of the lines of a log that has one.
pub fn is_frame_line(line: &[u8]) -> bool {
    let tabs = line.iter().take_while(|&&c| c == b'\t').count();
    let rest = &line[tabs..];
    tabs > 0
        && ((rest.starts_with(b"at ") && memchr::memchr(b'(', rest).is_some())
            || rest.starts_with(b"Caused by: ")
            || (rest.starts_with(b"... ") && rest.ends_with(b" more")))
}

/// The end of a bracketed field at the start of `b` (thread names hold no `]`).
fn bracket_end(b: &[u8]) -> Option<usize> {
    b.strip_prefix(b"[")?;
    memchr::memchr(b']', b)
}

/// A Spring Boot header's parts: the time (with its zone, or local), the level, the pid and
/// what follows the `--- ` separator.
struct SpringHeader<'a> {
    time: SpringTime,
    level: &'a [u8],
    pid: Option<u32>,
    rest: &'a [u8],
}

enum SpringTime {
    Zoned(super::super::time::Stamp),
    Local(super::super::time::Civil),
}

/// The time a Spring Boot header starts with and what follows it: an RFC 3339 stamp (Boot 3),
/// or a local `2014-03-05 10:57:51.112` (Boot 2, whose space is the date's own).
fn spring_time(line: &[u8]) -> Option<(SpringTime, &[u8])> {
    let head = &line[..line.len().min(40)];
    let stamp_end = memchr::memchr(b' ', head.get(11..)?).map_or(head.len(), |at| at + 11);
    if let Some(stamp) = parse_iso8601(&head[..stamp_end]) {
        return Some((SpringTime::Zoned(stamp), &line[stamp_end..]));
    }
    let (civil, rest) = parse_python(head)?;
    Some((SpringTime::Local(civil), &line[head.len() - rest.len()..]))
}

fn spring_parts(line: &[u8]) -> Option<SpringHeader<'_>> {
    let (time, after_time) = spring_time(line)?;
    let body = after_time.trim_ascii_start();
    let level_end = memchr::memchr(b' ', body)?;
    let level = &body[..level_end];
    if !LOGBACK_LEVELS.contains(&level) {
        return None;
    }
    let body = body[level_end..].trim_ascii_start();
    // The pid and the separator, within the line's head.
    let sep = memchr::memmem::find(&body[..body.len().min(32)], b"--- ")?;
    let pid = std::str::from_utf8(body[..sep].trim_ascii())
        .ok()
        .and_then(|p| p.parse().ok());
    Some(SpringHeader {
        time,
        level,
        pid,
        rest: &body[sep + 4..],
    })
}

/// Whether a line starts a Spring Boot (default console pattern) record.
pub fn is_spring_header(line: &[u8]) -> bool {
    spring_parts(line).is_some()
}

/// Parses a Spring Boot record: level, pid, the logger as module, and the message after
/// ` : ` with the stack trace.
pub fn parse_spring(record: &[u8], tz: &TimeZone) -> Option<ErrorEvent> {
    let head = spring_parts(record)?;
    let time = match head.time {
        SpringTime::Zoned(s) => Some(s),
        SpringTime::Local(c) => c.in_zone(tz),
    };
    let mut event = builder(record, time);
    event.level(head.level);
    event.event.pid = head.pid;
    let line_end = memchr::memchr(b'\n', head.rest).unwrap_or(head.rest.len());
    match memchr::memmem::find(&head.rest[..line_end], b" : ") {
        Some(colon) => {
            // The logger follows the bracketed application name and thread.
            let names = &head.rest[..colon];
            let logger_start = memchr::memrchr(b']', names).map_or(0, |at| at + 1);
            event.module(names[logger_start..].trim_ascii());
            event.message(&head.rest[colon + 3..]);
        }
        None => event.message(head.rest),
    }
    Some(event.finish())
}

/// Reads a Java stack trace: its exception and the application's first frame.
pub fn trace(text: &str) -> Trace {
    Trace::from_text(app_frame(text), exception(text))
}

/// The exception a Java stack trace is about: its root cause (the last `Caused by:`), else
/// the first line that names a throwable (`java.io.IOException: No space left on device`).
fn exception(text: &str) -> Option<&str> {
    let last_cause = text
        .lines()
        .rev()
        .find_map(|l| l.trim_start().strip_prefix("Caused by: "));
    last_cause
        .or_else(|| text.lines().skip(1).find(|l| throwable_name(l).is_some()))
        .and_then(throwable_name)
}

/// The class name a trace line starts with (`java.lang.OutOfMemoryError: Java heap space`
/// gives `java.lang.OutOfMemoryError`): a qualified name followed by `:` or the line's end.
fn throwable_name(line: &str) -> Option<&str> {
    let line = line.trim_start();
    let end = line.find(": ").unwrap_or(line.len());
    let name = &line[..end];
    let ident = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '$');
    (name.contains('.') && !name.starts_with("at ") && name.chars().all(ident))
        .then_some(name)
        .filter(|n| n.ends_with("Exception") || n.ends_with("Error") || n.ends_with("Throwable"))
}

/// The first frame of the application's own code in a Java stack trace, as the source path
/// (package directories and file name) and line: of the root cause's frames where it has one
/// (a `Caused by:` section lists its own frames first, then `... N more`), else of the
/// enclosing trace's.
fn app_frame(text: &str) -> Option<(String, u32)> {
    let sections: Vec<&str> = text.split("Caused by: ").collect();
    sections
        .iter()
        .rev()
        .find_map(|s| s.lines().filter_map(frame).find(|f| !is_foreign(f.0)))
        .map(|(class, file, line)| (source_path(class, file), line))
}

/// A frame line `at [module/]pkg.Class.method(File.java:12)` as the class, the file name and
/// the line; None for other lines and for frames without a line (`Native Method`).
fn frame(line: &str) -> Option<(&str, &str, u32)> {
    let at = line.trim_start().strip_prefix("at ")?;
    let open = at.find('(')?;
    let inside = &at[open + 1..at[open..].find(')')? + open];
    let (file, line) = inside.rsplit_once(':')?;
    let method = &at[..open];
    // `java.base/java.lang.Integer.parseInt`, `app//lab.Orders.total`: the module goes.
    let method = method.rsplit_once('/').map_or(method, |(_, m)| m);
    let (class, _) = method.rsplit_once('.')?;
    Some((class, file, line.parse().ok()?))
}

fn is_foreign(class: &str) -> bool {
    FOREIGN.iter().any(|p| class.starts_with(p))
}

/// `lab.Orders` and `Orders.java` give `lab/Orders.java`.
fn source_path(class: &str, file: &str) -> String {
    match class.rsplit_once('.') {
        Some((package, _)) => format!("{}/{file}", package.replace('.', "/")),
        None => file.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines Tomcat 10.1.60 (Debian's `tomcat10`) wrote in the lab (tests/lab_java.rs), the
    /// trace cut short.
    const TOMCAT_CHECKOUT: &str = "07-Dec-2026 15:31:53.410 SEVERE [http-nio-127.0.0.1-46659-exec-3] org.apache.catalina.core.StandardWrapperValve.invoke Servlet.service() for servlet [faults] in context with path [] threw exception
\tjava.lang.IllegalStateException: order 42 has a bad quantity
\t\tat lab.Orders.total(Orders.java:11)
\t\tat lab.FaultServlet.doGet(FaultServlet.java:19)
\t\tat jakarta.servlet.http.HttpServlet.service(HttpServlet.java:564)
\t\tat org.apache.catalina.core.StandardWrapperValve.invoke(StandardWrapperValve.java:166)
\t\tat java.base/java.lang.Thread.run(Thread.java:840)
\tCaused by: java.lang.NumberFormatException: For input string: \"x\"
\t\tat java.base/java.lang.NumberFormatException.forInputString(NumberFormatException.java:67)
\t\tat java.base/java.lang.Integer.parseInt(Integer.java:668)
\t\tat java.base/java.lang.Integer.parseInt(Integer.java:786)
\t\tat lab.Orders.total(Orders.java:9)
\t\t... 24 more";

    const TOMCAT_DISK_FULL: &str = "07-Dec-2026 15:31:53.746 SEVERE [http-nio-127.0.0.1-46659-exec-7] org.apache.catalina.core.StandardWrapperValve.invoke Servlet.service() for servlet [faults] in context with path [] threw exception
\tjava.io.IOException: No space left on device
\t\tat java.base/java.io.FileOutputStream.writeBytes(Native Method)
\t\tat java.base/java.io.FileOutputStream.write(FileOutputStream.java:336)
\t\tat lab.Export.write(Export.java:12)
\t\tat lab.FaultServlet.doGet(FaultServlet.java:21)";

    const TOMCAT_OOM: &str = "07-Dec-2026 15:31:53.606 SEVERE [http-nio-127.0.0.1-46659-exec-4] org.apache.coyote.AbstractProtocol$ConnectionHandler.process Failed to complete processing of a request
\tjava.lang.OutOfMemoryError: Java heap space
\t\tat lab.Reports.build(Reports.java:8)
\t\tat lab.FaultServlet.doGet(FaultServlet.java:20)";

    const TOMCAT_REJECTED: &str = "07-Dec-2026 15:40:34.001 WARNING [http-nio-127.0.0.1-40701-Poller] org.apache.tomcat.util.net.AbstractEndpoint.processSocket Executor rejected socket [org.apache.tomcat.util.net.NioEndpoint$NioSocketWrapper@1360e2e2:org.apache.tomcat.util.net.NioChannel@af111ee:java.nio.channels.SocketChannel[connected local=/127.0.0.1:40701 remote=/127.0.0.1:47736]] for processing
\tjava.util.concurrent.RejectedExecutionException: Queue capacity is full";

    /// From Spring Boot's reference documentation, "Logging" (docs.spring.io/spring-boot/
    /// reference/features/logging.html), and the 2.x layout it showed before (`2014-03-05
    /// 10:57:51.112  INFO 45469 --- [           main] …`).
    const SPRING_START: &str = "2026-02-19T12:22:37.451Z  INFO 128443 --- [myapp] [           main] o.s.b.d.f.logexample.MyApplication       : Starting MyApplication using Java 25.0.2 with PID 128443 (/opt/apps/myapp.jar started by myuser in /opt/apps/)";
    const SPRING_2: &str = "2014-03-05 10:57:51.112  INFO 45469 --- [           main] org.apache.catalina.core.StandardEngine  : Starting Servlet Engine: Apache Tomcat/7.0.52";
    /// The 3.x layout with the exception Spring's dispatcher servlet logs (its message as
    /// Tomcat's `StandardWrapperValve` words it) and an application frame.
    const SPRING_ERROR: &str = "2026-12-07T12:00:00.123Z ERROR 4242 --- [shop] [nio-8080-exec-1] o.a.c.c.C.[.[.[/].[dispatcherServlet]    : Servlet.service() for servlet [dispatcherServlet] in context with path [] threw exception [Request processing failed: java.lang.IllegalStateException: boom] with root cause
java.lang.IllegalStateException: boom
\tat com.example.shop.CartController.add(CartController.java:31) ~[classes/:na]
\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103) ~[na:na]
\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885) ~[spring-webmvc-6.1.1.jar:6.1.1]";

    #[test]
    fn tomcat_headers_and_their_trace_lines() {
        let mut lines = TOMCAT_CHECKOUT.lines();
        assert!(is_tomcat_header(lines.next().unwrap().as_bytes()));
        assert!(lines.all(|l| !is_tomcat_header(l.as_bytes())));
        assert!(!is_tomcat_header(b"2026/12/07 15:31:53 [error] 1#1: *1 x"));
        assert!(!is_tomcat_header(b"07-Dec-2026 15:31:53.410 LOUD [main] x"));
        assert!(!is_tomcat_header(SPRING_START.as_bytes()));
    }

    #[test]
    fn a_tomcat_servlet_exception_is_its_root_cause_at_the_apps_frame() {
        let e = parse_tomcat(TOMCAT_CHECKOUT.as_bytes(), &TimeZone::UTC).unwrap();
        assert_eq!(e.level(), "SEVERE");
        assert_eq!(
            e.module(),
            "org.apache.catalina.core.StandardWrapperValve.invoke"
        );
        assert!(
            e.message()
                .starts_with("Servlet.service() for servlet [faults]")
        );
        assert!(e.message().contains("NumberFormatException"));
        assert_eq!(e.language, Some(Language::Java));
        assert_eq!(e.time.unwrap().rfc3339(), "2026-12-07T15:31:53+00:00");
        assert_eq!(exception(e.text()), Some("java.lang.NumberFormatException"));
        assert_eq!(app_frame(e.text()), Some(("lab/Orders.java".into(), 9)));
    }

    #[test]
    fn tomcat_disk_full_oom_and_a_rejected_socket() {
        let full = parse_tomcat(TOMCAT_DISK_FULL.as_bytes(), &TimeZone::UTC).unwrap();
        assert_eq!(exception(full.text()), Some("java.io.IOException"));
        assert_eq!(app_frame(full.text()), Some(("lab/Export.java".into(), 12)));
        let oom = parse_tomcat(TOMCAT_OOM.as_bytes(), &TimeZone::UTC).unwrap();
        assert_eq!(
            oom.module(),
            "org.apache.coyote.AbstractProtocol$ConnectionHandler.process"
        );
        assert_eq!(exception(oom.text()), Some("java.lang.OutOfMemoryError"));
        assert_eq!(app_frame(oom.text()), Some(("lab/Reports.java".into(), 8)));
        let rejected = parse_tomcat(TOMCAT_REJECTED.as_bytes(), &TimeZone::UTC).unwrap();
        assert_eq!(rejected.level(), "WARNING");
        assert!(rejected.message().starts_with("Executor rejected socket"));
        assert_eq!(app_frame(rejected.text()), None);
    }

    #[test]
    fn spring_boot_headers_of_both_layouts() {
        let e = parse_spring(SPRING_START.as_bytes(), &TimeZone::UTC).unwrap();
        assert_eq!((e.level(), e.pid), ("INFO", Some(128443)));
        assert_eq!(e.module(), "o.s.b.d.f.logexample.MyApplication");
        assert!(e.message().starts_with("Starting MyApplication"));
        let old = parse_spring(SPRING_2.as_bytes(), &TimeZone::UTC).unwrap();
        assert_eq!(old.module(), "org.apache.catalina.core.StandardEngine");
        assert_eq!(old.time.unwrap().rfc3339(), "2014-03-05T10:57:51+00:00");
        assert!(!is_spring_header(b"java.lang.IllegalStateException: boom"));
        assert!(!is_spring_header(b"\tat com.example.A.b(A.java:1)"));
        assert!(!is_spring_header(TOMCAT_OOM.as_bytes()));
    }

    #[test]
    fn a_spring_exception_skips_the_frameworks_frames() {
        let mut lines = SPRING_ERROR.lines();
        assert!(is_spring_header(lines.next().unwrap().as_bytes()));
        assert!(lines.all(|l| !is_spring_header(l.as_bytes())));
        let e = parse_spring(SPRING_ERROR.as_bytes(), &TimeZone::UTC).unwrap();
        assert_eq!(e.level(), "ERROR");
        assert_eq!(exception(e.text()), Some("java.lang.IllegalStateException"));
        assert_eq!(
            app_frame(e.text()),
            Some(("com/example/shop/CartController.java".into(), 31))
        );
    }

    #[test]
    fn hostile_records_do_not_panic() {
        for bad in [
            &b"07-Dec-2026 15:31:53.410 SEVERE ["[..],
            b"07-Dec-2026 15:31:53.410 SEVERE [x] ",
            b"2026-02-19T12:22:37.451Z  INFO",
            b"2026-02-19T12:22:37.451Z  INFO 1 --- ",
            b"\xff\xfe at (:",
        ] {
            let _ = parse_tomcat(bad, &TimeZone::UTC);
            let _ = parse_spring(bad, &TimeZone::UTC);
        }
        assert_eq!(app_frame("\tat (x.java:1)\n\tat a.B.c(:)"), None);
    }
}
