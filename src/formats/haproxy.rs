//! HAProxy's HTTP log (`option httplog`), as HAProxy's configuration manual, section 8.2.3
//! "HTTP log format", declares it:
//!
//! ```text
//! %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r
//! 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1"
//! ```
//!
//! and its CLF layout (`option httplog clf`), which the manual declares as
//!
//! ```text
//! %{+Q}o %{-Q}ci - - [%trg] %r %ST %B "" "" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl
//! 127.0.0.1 - - [07/Dec/2026:13:10:32 +0000] "GET /a?b=1 HTTP/1.1" 503 217 "" "" 49324 492 "fe" "down" "s1" 0 0 -1 -1 3005 SC-- 1 1 0 0 3 0 0 "" "" "" ""
//! ```
//!
//! each with or without the syslog header HAProxy writes before it (`Feb  6 12:14:14 localhost
//! haproxy[14389]: `, or `<134>Feb  6 12:14:14 haproxy[14389]: ` with `format rfc3164`). The
//! termination state (`sH--`: the server timed out before its headers) is the line's own
//! reason for a 5xx, read through the `[[access_reason]]` rows of the rule table.
//!
//! The default layout's accept date carries no zone: it is read in the zone given for logs
//! that write none. The CLF layout's has its offset.

use std::borrow::Cow;

use jiff::tz::TimeZone;
use memchr::{memchr, memmem};

use super::access::{parse_clf_line, parse_status};
use super::time::parse_haproxy;
use super::{AccessRecord, Stamp};

/// The HAProxy HTTP log in one of its layouts, with the zone its dates are read in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HaproxyFormat {
    tz: TimeZone,
    layout: Layout,
}

/// Which of HAProxy's HTTP log layouts a file is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `option httplog`.
    Http,
    /// `option httplog clf`.
    Clf,
}

impl Default for HaproxyFormat {
    fn default() -> Self {
        HaproxyFormat::new(Layout::Http)
    }
}

/// How far into a line a syslog header may reach (priority, date, host, `haproxy[pid]: `).
const MAX_HEADER: usize = 320;

impl HaproxyFormat {
    /// The format in `layout`, its dates read in UTC where they write no zone.
    pub fn new(layout: Layout) -> Self {
        HaproxyFormat {
            tz: TimeZone::UTC,
            layout,
        }
    }

    /// The format, its dates read in `tz` where they write no zone.
    pub fn in_zone(self, tz: TimeZone) -> Self {
        HaproxyFormat { tz, ..self }
    }

    /// Parses one line; `None` if it is not an HAProxy HTTP log line in this layout.
    pub fn parse<'a>(&self, line: &'a [u8]) -> Option<AccessRecord<'a>> {
        let line = strip_syslog(line);
        match self.layout {
            Layout::Http => self.parse_http(line),
            Layout::Clf => parse_clf_layout(line),
        }
    }

    /// The default layout, its syslog header taken off.
    fn parse_http<'a>(&self, line: &'a [u8]) -> Option<AccessRecord<'a>> {
        let (client_port, rest) = word(line)?;
        let date = rest.strip_prefix(b"[")?;
        let close = memchr(b']', date)?;
        let (date, rest) = (&date[..close], date[close + 1..].strip_prefix(b" ")?);
        let (_frontend, rest) = word(rest)?;
        let (backend_server, rest) = word(rest)?;
        let (timers, rest) = word(rest)?;
        let (status, rest) = word(rest)?;
        let (_bytes, rest) = word(rest)?;
        let (_request_cookie, rest) = word(rest)?;
        let (_response_cookie, rest) = word(rest)?;
        let (state, rest) = word(rest)?;
        let (connections, rest) = word(rest)?;
        let (queues, rest) = word(rest)?;
        let shape = memchr::memchr_iter(b'/', timers).count() == 4
            && memchr::memchr_iter(b'/', connections).count() == 4
            && memchr::memchr_iter(b'/', queues).count() == 1
            && memchr(b'/', backend_server).is_some()
            && state.len() == 4;
        if !shape {
            return None;
        }
        let time = parse_haproxy(date)?.in_zone(&self.tz)?;
        Some(AccessRecord {
            time,
            client: Cow::Borrowed(client_of(client_port)),
            vhost: None,
            request: Cow::Borrowed(request_of(rest)?),
            status: status_of(status)?,
            user_agent: Cow::Borrowed(b""),
            reason: Some(Cow::Borrowed(state)),
            request_id: None,
        })
    }

    /// The time and status of a line, for counting; `None` where [`parse`](Self::parse) is.
    pub fn head(&self, line: &[u8]) -> Option<(Stamp, u16)> {
        self.parse(line).map(|r| (r.time, r.status))
    }
}

/// The CLF layout, its syslog header taken off: a CLF line (the referer and user agent always
/// `""`), then the client port, the accept milliseconds, the frontend, backend and server
/// quoted, the five timers and the termination state.
fn parse_clf_layout(line: &[u8]) -> Option<AccessRecord<'_>> {
    let (mut record, _) = parse_clf_line(line)?;
    let request_end = memmem::find(line, b"] \"")?;
    let tail = memmem::find(&line[request_end..], b"\"\" \"\" ")? + request_end + 6;
    let mut fields = line[tail..].split(|&b| b == b' ');
    let mut next = || fields.next();
    let numbers = |f: &[u8]| !f.is_empty() && f.iter().all(u8::is_ascii_digit);
    let quoted = |f: &[u8]| f.len() >= 2 && f.starts_with(b"\"") && f.ends_with(b"\"");
    let shape = numbers(next()?) && numbers(next()?) && (0..3).all(|_| next().is_some_and(quoted));
    let timers = (0..5).all(|_| next().is_some_and(|t| numbers(t.strip_prefix(b"-").unwrap_or(t))));
    let state = next()?;
    if !(shape && timers && state.len() == 4) {
        return None;
    }
    record.reason = Some(Cow::Borrowed(state));
    Some(record)
}

/// The line without the syslog header HAProxy may write before it: up to the first `]: ` that
/// closes a process id (`haproxy[14389]: `), before any ` [` (the accept date's: a captured
/// header after it may hold anything). A line without one is returned as it is, so a line
/// whose envelope was already taken off reads the same.
fn strip_syslog(line: &[u8]) -> &[u8] {
    let head = &line[..line.len().min(MAX_HEADER)];
    let Some(end) = memmem::find(head, b"]: ") else {
        return line;
    };
    let head = &head[..end];
    let open = memchr::memrchr(b'[', head);
    match open {
        Some(open)
            if open + 1 < end
                && head[open + 1..].iter().all(u8::is_ascii_digit)
                && memmem::find(head, b" [").is_none() =>
        {
            &line[end + 3..]
        }
        _ => line,
    }
}

/// The next space-separated word (never empty) and what follows the space after it.
fn word(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = memchr(b' ', b)?;
    (end > 0).then(|| (&b[..end], &b[end + 1..]))
}

/// The address of `ip:port` (IPv6 too: `::1:41234`); a `unix` socket's client as it is.
fn client_of(client_port: &[u8]) -> &[u8] {
    match memchr::memrchr(b':', client_port) {
        Some(at) if at > 0 && client_port[at + 1..].iter().all(u8::is_ascii_digit) => {
            &client_port[..at]
        }
        _ => client_port,
    }
}

/// A status as HAProxy writes it: three digits, or `-1` when no response was received (read
/// as status 0, like nginx's `000`).
fn status_of(b: &[u8]) -> Option<u16> {
    match b {
        b"-1" => Some(0),
        _ => parse_status(b),
    }
}

/// The quoted request line at the end, after the captured headers (`{…}`, which may hold
/// spaces); `None` if the line does not end that way.
fn request_of(mut rest: &[u8]) -> Option<&[u8]> {
    while let Some(inner) = rest.strip_prefix(b"{") {
        let close = memchr(b'}', inner)?;
        rest = inner[close + 1..].strip_prefix(b" ")?;
    }
    let request = rest.strip_prefix(b"\"")?;
    let request = request.strip_suffix(b"\"").unwrap_or(request);
    Some(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The manual's example (section 8.2.3), without its syslog header.
    const RAW: &[u8] = b"10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} \"GET /index.html HTTP/1.1\"";

    fn parse(line: &[u8]) -> Option<AccessRecord<'_>> {
        HaproxyFormat::default().parse(line)
    }

    #[test]
    fn the_manuals_example_with_and_without_its_syslog_header() {
        let r = parse(RAW).unwrap();
        assert_eq!(
            (r.status, &*r.client, r.path(), r.reason.as_deref()),
            (
                200,
                &b"10.0.1.2"[..],
                &b"/index.html"[..],
                Some(&b"----"[..])
            )
        );
        assert_eq!(r.time.rfc3339(), "2009-02-06T12:14:14+00:00");
        assert_eq!(r.time.ms % 1000, 655);
        for header in [
            &b"Feb  6 12:14:14 localhost haproxy[14389]: "[..],
            b"<134>Feb  6 12:14:14 haproxy[14389]: ",
        ] {
            assert_eq!(parse(&[header, RAW].concat()).unwrap(), r);
        }
    }

    #[test]
    fn a_timeout_with_captured_headers_and_ipv6() {
        let line = b"::1:41234 [07/Dec/2026:10:00:01.002] fe be/app1 0/0/0/-1/2001 504 198 - - sH-- 1/1/0/0/0 0/0 {host.test|Mozilla/5.0 (X11; Linux)} \"GET /slow.php?x=1 HTTP/1.1\"";
        let r = parse(line).unwrap();
        assert_eq!(
            (r.status, &*r.client, r.path(), r.reason.as_deref()),
            (504, &b"::1"[..], &b"/slow.php"[..], Some(&b"sH--"[..]))
        );
        // A captured header that looks like a syslog tag is the header's, not an envelope.
        let tagged = b"10.0.0.1:5 [07/Dec/2026:10:00:01.002] fe be/app1 0/0/0/-1/2001 504 198 - - sH-- 1/1/0/0/0 0/0 {x[1]: y} \"GET / HTTP/1.1\"";
        assert_eq!(parse(tagged).map(|r| r.status), Some(504));
        let aborted = b"10.0.0.1:5 [07/Dec/2026:10:00:01.002] fe be/<NOSRV> -1/-1/-1/-1/0 -1 0 - - CR-- 1/1/0/0/0 0/0 \"<BADREQ>\"";
        assert_eq!(parse(aborted).map(|r| r.status), Some(0));
    }

    #[test]
    fn the_clf_layout() {
        // Written by HAProxy 2.6 with `option httplog clf` and a captured Host header.
        let line = b"127.0.0.1 - - [07/Dec/2026:13:10:32 +0000] \"GET /a?b=1 HTTP/1.1\" 503 217 \"\" \"\" 49324 492 \"fe\" \"down\" \"s1\" 0 0 -1 -1 3005 SC-- 1 1 0 0 3 0 0 \"\" \"\" \"127.0.0.1:18731\" ";
        let clf = HaproxyFormat::new(Layout::Clf);
        for header in [&b""[..], b"Dec  7 13:10:32 localhost haproxy[9]: "] {
            let written = [header, line].concat();
            let r = clf.parse(&written).unwrap();
            assert_eq!(
                (r.status, &*r.client, r.path(), r.reason.as_deref()),
                (503, &b"127.0.0.1"[..], &b"/a"[..], Some(&b"SC--"[..]))
            );
            assert_eq!(r.time.rfc3339(), "2026-12-07T13:10:32+00:00");
        }
        let combined =
            br#"1.2.3.4 - - [25/Nov/2026:14:00:03 +0000] "GET / HTTP/1.1" 200 1 "-" "x""#;
        assert!(clf.parse(combined).is_none());
        assert!(HaproxyFormat::default().parse(line).is_none());
    }

    #[test]
    fn other_lines_are_not_read() {
        let clf = br#"1.2.3.4 - - [25/Nov/2026:14:00:03 +0000] "GET / HTTP/1.1" 200 1 "-" "x""#;
        assert!(parse(clf).is_none());
        let tcp =
            b"10.0.1.2:33313 [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0";
        assert!(parse(tcp).is_none());
        assert!(
            parse(b"Feb  6 12:14:14 localhost haproxy[14389]: Proxy http-in started.").is_none()
        );
        assert!(parse(b"").is_none());
    }
}
