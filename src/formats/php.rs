//! The PHP-FPM master log and PHP's own `error_log`. Both start records with
//! `[25-Nov-2026 14:00:03…]`; PHP adds the zone name (`[25-Nov-2026 14:00:03 UTC]`), FPM a
//! level (`] WARNING: [pool www] child 57 exited on signal 11 (SIGSEGV)`). PHP's stack traces
//! continue on lines of their own.

use jiff::tz::TimeZone;

use super::time::parse_php;
use super::{ErrorEvent, EventBuilder, Kind};

/// Severity words PHP-FPM writes after the time.
const FPM_LEVELS: [&[u8]; 5] = [
    b"DEBUG: ",
    b"NOTICE: ",
    b"WARNING: ",
    b"ERROR: ",
    b"ALERT: ",
];

/// Splits `[time…] rest` and parses the time; returns the zone text and what follows.
fn header(line: &[u8]) -> Option<(super::time::Civil, &[u8], &[u8])> {
    let inner = line.strip_prefix(b"[")?;
    let close = memchr::memchr(b']', inner)?;
    let (civil, zone) = parse_php(&inner[..close])?;
    let rest = &inner[close + 1..];
    Some((civil, zone, rest.strip_prefix(b" ").unwrap_or(rest)))
}

/// Where a raw `error_log` record's message starts (what [`parse_php_error`] reads as its
/// message), if it has a header.
pub fn message_start(record: &[u8]) -> Option<usize> {
    header(record).map(|(_, _, rest)| record.len() - rest.len())
}

/// Whether a line starts a PHP-FPM record.
pub fn is_fpm_header(line: &[u8]) -> bool {
    header(line).is_some_and(|(_, zone, rest)| zone.is_empty() && fpm_level(rest).is_some())
}

/// Whether a line starts a PHP `error_log` record.
pub fn is_php_header(line: &[u8]) -> bool {
    header(line).is_some_and(|(_, zone, _)| !zone.is_empty())
}

fn fpm_level(rest: &[u8]) -> Option<usize> {
    FPM_LEVELS
        .iter()
        .find(|l| rest.starts_with(l))
        .map(|l| l.len())
}

/// Parses a PHP-FPM record.
pub fn parse_fpm(record: &[u8], tz: &TimeZone) -> Option<ErrorEvent> {
    let (civil, _, rest) = header(record)?;
    let level_len = fpm_level(rest)?;
    let mut message = &rest[level_len..];
    let mut event = EventBuilder::new(record, civil.in_zone(tz), Kind::PhpFpm);
    event.level(&rest[..level_len - 2]);
    if let Some(after_pool) = message.strip_prefix(b"[pool ") {
        let close = memchr::memchr(b']', after_pool).unwrap_or(after_pool.len());
        message = after_pool.get(close + 2..).unwrap_or_default();
    }
    if let Some(child) = message.strip_prefix(b"child ") {
        let n = child.iter().take_while(|c| c.is_ascii_digit()).count();
        event.event.pid = std::str::from_utf8(&child[..n])
            .ok()
            .and_then(|p| p.parse().ok());
    }
    // `execution timed out` warnings name the request: `(request: "GET /slow.php")`.
    if let Some(at) = memchr::memmem::find(message, b"(request: \"") {
        let r = &message[at + 11..];
        let end = memchr::memchr(b'"', r).unwrap_or(r.len());
        event.request(&r[..end]);
    }
    event.message(message);
    Some(event.finish())
}

/// Parses a PHP `error_log` record; the zone in the brackets decides its time, falling back to
/// `tz` for a zone name we cannot resolve.
pub fn parse_php_error(record: &[u8], tz: &TimeZone) -> Option<ErrorEvent> {
    let (civil, zone, rest) = header(record)?;
    let time = std::str::from_utf8(zone)
        .ok()
        .and_then(|z| TimeZone::get(z).ok())
        .and_then(|z| civil.in_zone(&z))
        .or_else(|| civil.in_zone(tz));
    let mut event = EventBuilder::new(record, time, Kind::PhpError);
    if let Some(level) = rest
        .strip_prefix(b"PHP ")
        .and_then(|r| memchr::memchr(b':', r).map(|c| &r[..c]))
    {
        event.level(level);
    }
    event.message(rest);
    Some(event.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fpm_records() {
        let l = b"[25-Nov-2026 14:00:03] WARNING: [pool www] child 57, script '/srv/www/slow.php' (request: \"GET /slow.php?a=1\") execution timed out (2.012 sec), terminating";
        assert!(is_fpm_header(l) && !is_php_header(l));
        let e = parse_fpm(l, &TimeZone::UTC).unwrap();
        assert_eq!((e.pid, e.request()), (Some(57), Some("GET /slow.php?a=1")));
        assert_eq!(e.level(), "WARNING");
        assert!(e.message().starts_with("child 57, script"));
    }

    #[test]
    fn php_error_record_with_zone() {
        let l = b"[25-Nov-2026 14:00:03 Europe/Berlin] PHP Fatal error:  Allowed memory size of 2097152 bytes exhausted in /srv/www/mem.php on line 3";
        assert!(is_php_header(l) && !is_fpm_header(l));
        let e = parse_php_error(l, &TimeZone::UTC).unwrap();
        assert_eq!(e.level(), "Fatal error");
        assert_eq!(e.time.unwrap().rfc3339(), "2026-11-25T14:00:03+01:00");
    }
}
