//! Syslog, as a relay sends it and as rsyslog writes it to files: RFC 3164
//! (`<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG`, the `<PRI>` gone in files, or an RFC 3339 time in
//! rsyslog's default file format) and RFC 5424 (`<PRI>1 TIME HOST APP PROCID MSGID SD MSG`).

use super::{Unwrapped, named, word};
use crate::formats::Stamp;
use crate::formats::time::parse_iso8601;

/// `<PRI>` at the head of a line, if it is there: the rest after it.
fn strip_pri(line: &[u8]) -> Option<&[u8]> {
    let rest = line.strip_prefix(b"<")?;
    let close = rest.iter().take(4).position(|&b| b == b'>')?;
    (close > 0 && rest[..close].iter().all(u8::is_ascii_digit)).then(|| &rest[close + 1..])
}

/// The rest of a line after its time and the space after it: `Mmm dd hh:mm:ss` (the day
/// padded with a space, no year: read as no time) or an RFC 3339 time
/// (`2026-11-25T14:00:03.123456+00:00`); and the time.
fn after_time(line: &[u8]) -> Option<(&[u8], Option<Stamp>)> {
    let classic = line.len() > 16
        && crate::formats::time::month_abbrev(&line[..3]).is_some()
        && line[3] == b' '
        && (line[4] == b' ' || line[4].is_ascii_digit())
        && line[5].is_ascii_digit()
        && line[6] == b' '
        && line[9] == b':'
        && line[12] == b':'
        && line[15] == b' ';
    if classic {
        return Some((&line[16..], None));
    }
    let (time, rest) = word(line)?;
    is_rfc3339(time).then(|| (rest, parse_iso8601(time)))
}

/// Whether `b` is an RFC 3339 time, whole: date, `T`, time, an optional fraction, and `Z` or
/// an offset.
pub(super) fn is_rfc3339(b: &[u8]) -> bool {
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let skeleton = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && matches!(b[10], b'T' | b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !skeleton {
        return false;
    }
    let mut zone = &b[19..];
    if let Some(fraction) = zone.strip_prefix(b".") {
        let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        zone = &fraction[n..];
    }
    matches!(zone, b"Z" | b"z")
        || (zone.len() == 6
            && matches!(zone[0], b'+' | b'-')
            && zone[3] == b':'
            && [1, 2, 4, 5].iter().all(|&i| zone[i].is_ascii_digit()))
}

/// Whether `b` can be a host name or address as syslog writes one.
fn is_host(b: &[u8]) -> bool {
    !b.is_empty()
        && b.len() <= 255
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b':'))
}

/// Whether `b` can be the program a tag names (`nginx`, `php-fpm8.2`, `/usr/sbin/cron`): it
/// starts with a letter or `/`. An AWS ELB line (`2015-05-13T23:39:43.945958Z my-lb
/// 192.168.131.39:2817 …`) has a time and a name where syslog has them, then a client
/// address where syslog has the tag.
fn is_program(b: &[u8]) -> bool {
    b.first()
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'/')
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b'/'))
}

/// An RFC 3164 line: host, then a tag (`nginx:`, `nginx[123]:`, or without the colon as
/// rsyslog writes the tag of a message that came in RFC 5424).
pub fn rfc3164(line: &[u8]) -> Option<Unwrapped<'_>> {
    let line = strip_pri(line).unwrap_or(line);
    let (rest, time) = after_time(line)?;
    let (host, rest) = word(rest)?;
    let (tag, message) = word(rest).unwrap_or((rest, b""));
    let tag = tag.strip_suffix(b":").unwrap_or(tag);
    let program = &tag[..memchr::memchr(b'[', tag).unwrap_or(tag.len())];
    if tag.len() > 64 || !is_program(program) || !is_host(host) {
        return None;
    }
    // The message as written after the one space that ends the tag: its own indentation (a
    // stack frame's `    at …`) is part of it.
    Some(Unwrapped::whole(named(host), named(program), message).at(time))
}

/// An RFC 5424 line, structured data skipped.
pub fn rfc5424(line: &[u8]) -> Option<Unwrapped<'_>> {
    let rest = strip_pri(line)?.strip_prefix(b"1 ")?;
    let (time, rest) = word(rest)?;
    if time != b"-" && !is_rfc3339(time) {
        return None;
    }
    let (host, rest) = word(rest)?;
    if host != b"-" && !is_host(host) {
        return None;
    }
    let (app, rest) = word(rest)?;
    let (_procid, rest) = word(rest)?;
    let (_msgid, rest) = word(rest)?;
    // After the space that ends the structured data, rsyslog keeps the space an RFC 3164
    // message had after its tag; any more are the message's own indentation.
    let message = skip_structured_data(rest)?;
    let message = message.strip_prefix(b" ").unwrap_or(message);
    let message = message.strip_prefix(b" ").unwrap_or(message);
    let message = message
        .strip_prefix("\u{feff}".as_bytes())
        .unwrap_or(message);
    Some(Unwrapped::whole(named(host), named(app), message).at(parse_iso8601(time)))
}

/// The rest of a line after its structured data: `-`, or `[id k="v" …]` elements, in whose
/// values `\]`, `\"` and `\\` are escaped.
fn skip_structured_data(rest: &[u8]) -> Option<&[u8]> {
    if let Some(after) = rest.strip_prefix(b"-") {
        return Some(after);
    }
    let mut i = 0;
    while rest.get(i) == Some(&b'[') {
        let mut quoted = false;
        loop {
            i += 1;
            match *rest.get(i)? {
                b'\\' if quoted => i += 1,
                b'"' => quoted = !quoted,
                b']' if !quoted => break,
                _ => {}
            }
        }
        i += 1;
    }
    (i > 0).then(|| &rest[i..])
}
