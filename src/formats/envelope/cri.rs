//! The Kubernetes CRI container log format, as the kubelet's runtime writes it under
//! `/var/log/pods`: `TIME STREAM TAGS MESSAGE`, TIME in RFC 3339 with nanoseconds, STREAM
//! `stdout` or `stderr`, TAGS `P` (a partial line, continued in the next) or `F` (full),
//! possibly with more tags after a `:` (the kubelet's CRI logging design, "CRI Container Log").

use super::syslog::is_rfc3339;
use super::{Unwrapped, word};

/// One CRI line; `None` if it is not one.
pub fn line(line: &[u8]) -> Option<Unwrapped<'_>> {
    let (time, rest) = word(line)?;
    let (stream, rest) = word(rest)?;
    if !is_rfc3339(time) || !matches!(stream, b"stdout" | b"stderr") {
        return None;
    }
    let (tags, message) = word(rest).unwrap_or((rest, b""));
    let partial = match tags.split(|&b| b == b':').next()? {
        b"P" => true,
        b"F" => false,
        _ => return None,
    };
    Some(Unwrapped {
        partial,
        time: crate::formats::time::parse_iso8601(time),
        ..Unwrapped::whole(None, None, message)
    })
}
