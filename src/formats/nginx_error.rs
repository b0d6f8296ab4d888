//! nginx `error.log`:
//! `2026/11/25 14:00:03 [error] 812#812: *5 MESSAGE, client: 127.0.0.1, server: _,
//! request: "GET /x HTTP/1.1", upstream: "fastcgi://unix:/run/php.sock:", host: "localhost"`.
//! A `FastCGI sent in stderr` message keeps the application's newlines, so one record can
//! span several lines; the context fields then close the last one.

use jiff::tz::TimeZone;

use super::time::parse_nginx_error;
use super::{ErrorEvent, EventBuilder, Kind, find_pair};

/// Whether a line starts a new nginx error record.
pub fn is_header(line: &[u8]) -> bool {
    parse_nginx_error(line).is_some() && line.get(19..21) == Some(b" [")
}

/// Parses one record (header line plus continuation lines, joined by `\n`).
pub fn parse(record: &[u8], tz: &TimeZone) -> Option<ErrorEvent> {
    let time = parse_nginx_error(record)?.in_zone(tz);
    let head = head(record)?;
    let rest = &record[head.message_at..];
    let mut event = EventBuilder::new(record, time, Kind::Error);
    event.event.pid = head.pid;
    event.level(head.level);
    let (message, fields) = rest.split_at(message_end(rest));
    if !fields.is_empty() {
        read_context(&fields[2..], &mut event);
    }
    event.message(message);
    Some(event.finish())
}

/// What a record's header says, after its time.
struct Head<'r> {
    level: &'r [u8],
    pid: Option<u32>,
    /// Where the message starts in the record.
    message_at: usize,
}

/// Reads the header after the time: `[level] pid#tid: ` and an optional `*5 ` connection
/// number.
fn head(record: &[u8]) -> Option<Head<'_>> {
    let rest = record.get(19..)?.strip_prefix(b" [")?;
    let close = memchr::memchr(b']', rest)?;
    let level = &rest[..close];
    let mut rest = rest[close + 1..]
        .strip_prefix(b" ")
        .unwrap_or(&rest[close + 1..]);
    let mut pid = None;
    if let Some(hash) = memchr::memchr(b'#', rest).filter(|&h| h < 12) {
        pid = std::str::from_utf8(&rest[..hash])
            .ok()
            .and_then(|p| p.parse().ok());
        let colon = memchr::memchr(b':', rest)?;
        rest = rest[colon + 1..]
            .strip_prefix(b" ")
            .unwrap_or(&rest[colon + 1..]);
    }
    if rest.first() == Some(&b'*') {
        let sp = memchr::memchr(b' ', rest).unwrap_or(rest.len());
        rest = rest.get(sp + 1..).unwrap_or_default();
    }
    Some(Head {
        level,
        pid,
        message_at: record.len() - rest.len(),
    })
}

/// Where a raw record's message starts (what [`parse`] reads as its message, and its
/// fields), if it has a header: the part that repeats from record to record.
pub fn message_start(record: &[u8]) -> Option<usize> {
    head(record).map(|h| h.message_at)
}

/// Where a raw record's message ends: before its request fields (`, client: …`, the last
/// such text: a message may hold it too), if it has them.
pub fn message_end(record: &[u8]) -> usize {
    // Back from the end, comma by comma: the fields are a few short values at the end, and
    // the message before them may be a long stack trace.
    memchr::memrchr_iter(b',', record)
        .find(|&at| record[at..].starts_with(b", client: "))
        .unwrap_or(record.len())
}

/// The client a record's fields name (`fields`: from [`message_end`] on), as `parse` reads it.
pub fn raw_client(fields: &[u8]) -> Option<&[u8]> {
    let value = fields.strip_prefix(b", client: ")?;
    Some(find_pair(value, b',', b' ').map_or(value, |end| &value[..end]))
}

/// The end of a quoted context value: a `"` followed by `, ` (values may hold quotes).
fn find_closing_quote(q: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'"', q).find(|&i| q[i + 1..].starts_with(b", "))
}

/// Reads `client: A, server: B, request: "C", upstream: "D", host: "E"` into the event.
fn read_context(mut b: &[u8], event: &mut EventBuilder) {
    while let Some(colon) = find_pair(b, b':', b' ') {
        let key = &b[..colon];
        let after = &b[colon + 2..];
        let (value, rest) = match after.strip_prefix(b"\"") {
            Some(q) => {
                match find_closing_quote(q).or_else(|| q.strip_suffix(b"\"").map(|s| s.len())) {
                    Some(end) => (&q[..end], q.get(end + 1..).unwrap_or_default()),
                    None => (q, &b""[..]),
                }
            }
            None => match find_pair(after, b',', b' ') {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, &b""[..]),
            },
        };
        match key {
            b"client" => event.client(value),
            b"request" => event.request(value),
            b"upstream" => event.upstream(value),
            b"host" => event.host(value),
            _ => {}
        }
        b = rest.strip_prefix(b", ").unwrap_or(rest);
        if rest.is_empty() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fastcgi_stderr_record() {
        let rec = b"2026/11/25 14:00:03 [error] 812#812: *5 FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Uncaught Exception: boom in /srv/www/ex.php:3\nStack trace:\n#0 {main}\n  thrown in /srv/www/ex.php on line 3\" while reading response header from upstream, client: 127.0.0.1, server: _, request: \"GET /ex.php HTTP/1.1\", upstream: \"fastcgi://unix:/run/php/fpm.sock:\", host: \"127.0.0.1:8080\"";
        let e = parse(rec, &TimeZone::UTC).unwrap();
        assert_eq!(e.level(), "error");
        assert_eq!(e.pid, Some(812));
        assert_eq!(e.client(), Some("127.0.0.1"));
        assert_eq!(e.request(), Some("GET /ex.php HTTP/1.1"));
        assert_eq!(e.host(), Some("127.0.0.1"));
        assert!(e.message().starts_with("FastCGI sent in stderr"));
        assert!(e.message().contains("thrown in /srv/www/ex.php on line 3"));
    }

    #[test]
    fn header_detection() {
        assert!(is_header(b"2026/11/25 14:00:03 [crit] 1#1: x"));
        assert!(!is_header(b"Stack trace:"));
        let e = parse(
            b"2026/11/25 14:00:03 [notice] 1#1: signal process started",
            &TimeZone::UTC,
        )
        .unwrap();
        assert_eq!((e.message(), e.client()), ("signal process started", None));
    }
}
