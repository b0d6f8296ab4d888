//! Apache 2.4 `error_log` with the default `ErrorLogFormat`:
//! `[Wed Nov 25 14:00:03.123456 2026] [proxy_fcgi:error] [pid 812:tid 9] (104)Connection
//! reset by peer: [client 127.0.0.1:5555] AH01075: Error dispatching request to :`.
//! Apache escapes newlines in messages, so every record is one line.

use std::sync::LazyLock;

use jiff::tz::TimeZone;
use memchr::memmem::FinderRev;

use super::time::parse_apache_error;
use super::{ErrorEvent, EventBuilder, Kind, clean_text, find_pair};

/// Whether a line starts a new Apache error record.
pub fn is_header(line: &[u8]) -> bool {
    line.starts_with(b"[") && bracket(line).is_some_and(|(t, _)| parse_apache_error(t).is_some())
}

/// The content of the leading `[…]` and what follows it.
fn bracket(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let b = b.strip_prefix(b"[")?;
    let mut close = memchr::memchr(b']', b)?;
    // `[client [::1]:40000]`: an IPv6 address brings its own brackets.
    if memchr::memchr(b'[', &b[..close]).is_some() {
        close += 1 + memchr::memchr(b']', &b[close + 1..])?;
    }
    let rest = &b[close + 1..];
    Some((&b[..close], rest.strip_prefix(b" ").unwrap_or(rest)))
}

/// The level of a raw record (`[proxy_fcgi:error]` and 2.2's `[error]` give `error`), read
/// without parsing the rest.
pub fn level(record: &[u8]) -> Option<&[u8]> {
    let (_, rest) = bracket(record)?;
    let (tag, _) = bracket(rest)?;
    Some(memchr::memrchr(b':', tag).map_or(tag, |c| &tag[c + 1..]))
}

/// Parses one record.
pub fn parse(record: &[u8], tz: &TimeZone) -> Option<ErrorEvent> {
    let (time, mut rest) = bracket(record)?;
    let time = parse_apache_error(time)?.in_zone(tz);
    let mut event = EventBuilder::new(record, time, Kind::Error);
    // Then `[module:level]`, `[pid N:tid M]`, and in 2.4 `[client ip:port]`, in that order;
    // an `(errno)Text: ` can stand before the client tag: it is kept, it says what failed.
    let mut errno: &[u8] = b"";
    while rest.starts_with(b"[") || errno_prefix(rest).is_some() {
        if let Some(after) = errno_prefix(rest) {
            errno = &rest[..rest.len() - after.len()];
            rest = after;
            continue;
        }
        let Some((tag, after)) = bracket(rest) else {
            break;
        };
        if !read_tag(tag, &mut event) {
            break;
        }
        rest = after;
    }
    static REFERER: LazyLock<FinderRev<'static>> = LazyLock::new(|| FinderRev::new(", referer: "));
    let message = match REFERER.rfind(rest) {
        Some(at) => &rest[..at],
        None => rest,
    };
    if errno.is_empty() {
        event.message(message);
    } else {
        event.message_text(errno, &clean_text(&[errno, message].concat()));
    }
    Some(event.finish())
}

/// `(13)Permission denied: ` before the client tag: returns what follows it, starting at
/// the client tag.
fn errno_prefix(b: &[u8]) -> Option<&[u8]> {
    let b = b.strip_prefix(b"(")?;
    let close = memchr::memchr(b')', b)?;
    if close == 0 || !b[..close].iter().all(|c| c.is_ascii_digit() || *c == b'-') {
        return None;
    }
    let colon = find_pair(&b[close..], b':', b' ')?;
    let after = &b[close + colon + 2..];
    after.starts_with(b"[client ").then_some(after)
}

/// Reads one bracketed tag into the event; false if it is not a tag we know (then it is part
/// of the message).
fn read_tag(tag: &[u8], event: &mut EventBuilder) -> bool {
    if let Some(pid) = tag.strip_prefix(b"pid ") {
        let end = pid.iter().take_while(|c| c.is_ascii_digit()).count();
        event.event.pid = std::str::from_utf8(&pid[..end])
            .ok()
            .and_then(|p| p.parse().ok());
    } else if let Some(client) = tag
        .strip_prefix(b"client ")
        .or_else(|| tag.strip_prefix(b"remote "))
    {
        event.client(strip_port(client));
    } else if let Some(colon) = memchr::memchr(b':', tag).filter(|_| !tag.contains(&b' ')) {
        event.module(&tag[..colon]);
        event.level(&tag[colon + 1..]);
    } else if !tag.contains(&b' ') && !tag.is_empty() {
        // Apache 2.2 style `[error]`.
        event.level(tag);
    } else {
        return false;
    }
    true
}

/// `127.0.0.1:5555` or `[::1]:5555` without the port.
fn strip_port(b: &[u8]) -> &[u8] {
    if let Some(v6) = b.strip_prefix(b"[") {
        return memchr::memchr(b']', v6).map_or(v6, |e| &v6[..e]);
    }
    let colons = memchr::memchr_iter(b':', b).count();
    match memchr::memrchr(b':', b) {
        Some(i) if colons == 1 => &b[..i],
        _ => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fcgi_error_with_errno_and_client() {
        let l = b"[Wed Nov 25 14:00:03.123456 2026] [proxy_fcgi:error] [pid 812:tid 9] (104)Connection reset by peer: [client 127.0.0.1:5555] AH01075: Error dispatching request to : , referer: http://x/";
        let e = parse(l, &TimeZone::UTC).unwrap();
        assert_eq!(
            (e.module(), e.level(), e.pid),
            ("proxy_fcgi", "error", Some(812))
        );
        assert_eq!(e.client(), Some("127.0.0.1"));
        assert_eq!(
            e.message(),
            "(104)Connection reset by peer: AH01075: Error dispatching request to : "
        );
        assert!(e.text().contains("(104)Connection reset by peer"));
    }

    #[test]
    fn php_error_under_mod_php() {
        let l = b"[Wed Nov 25 14:00:03.1 2026] [php:error] [pid 9] [client [::1]:40000] PHP Fatal error:  Uncaught Exception: x in /srv/www/a.php:2";
        let e = parse(l, &TimeZone::UTC).unwrap();
        assert_eq!(e.client(), Some("::1"));
        assert!(e.message().starts_with("PHP Fatal error"));
        assert!(is_header(l));
        assert!(!is_header(b"[pool www] nope"));
    }
}
