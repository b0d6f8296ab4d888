//! Log formats: detecting what a file is from its first lines, and parsing its lines into
//! events. Access-log lines are parsed into borrowed [`AccessRecord`]s (the hot path, one per
//! request); error-log records, far fewer, into owned [`ErrorEvent`]s.

pub mod access;
pub mod apache_error;
pub mod detect;
pub mod nginx_error;
pub mod php;
pub mod time;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

pub use time::Stamp;

/// What a log file holds, as reported in `inputs[].kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Access,
    Error,
    PhpFpm,
    PhpError,
    Unknown,
}

/// One access-log line, borrowing from the input buffer where it can.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessRecord<'a> {
    pub time: Stamp,
    /// Client address as logged (`%h` / `$remote_addr`).
    pub client: Cow<'a, [u8]>,
    /// Virtual host, where the format carries one (`vhost_combined`, `$host` in JSON).
    pub vhost: Option<Cow<'a, [u8]>>,
    /// The request line, e.g. `GET /index.php?x=1 HTTP/1.1`.
    pub request: Cow<'a, [u8]>,
    pub status: u16,
    pub user_agent: Cow<'a, [u8]>,
}

impl AccessRecord<'_> {
    /// The request target's path, without the query string.
    pub fn path(&self) -> &[u8] {
        request_path(&self.request)
    }
}

/// The path of a request line (`GET /a/b.php?x HTTP/1.1` gives `/a/b.php`), or of a bare
/// target; the whole line if it does not look like a request.
pub fn request_path(request: &[u8]) -> &[u8] {
    let mut parts = request.split(|&b| b == b' ').filter(|p| !p.is_empty());
    let first = parts.next().unwrap_or_default();
    let target = if first.starts_with(b"/") {
        first
    } else {
        parts.next().unwrap_or(first)
    };
    let end = memchr::memchr2(b'?', b'#', target).unwrap_or(target.len());
    &target[..end]
}

/// The method of a request line (`GET`), if it has one.
pub fn request_method(request: &[u8]) -> Option<&[u8]> {
    let first = request.split(|&b| b == b' ').next()?;
    (!first.is_empty() && first.iter().all(u8::is_ascii_uppercase)).then_some(first)
}

/// One error-log record (a header line plus any continuation lines), with the fields the
/// format carries pulled out for correlation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorEvent {
    pub time: Option<Stamp>,
    pub kind: Option<Kind>,
    /// Severity as the server wrote it (`error`, `crit`, `WARNING`, `Fatal error`…).
    pub level: String,
    /// Apache module tag (`proxy_fcgi`, `php`, `core`…).
    pub module: String,
    pub pid: Option<u32>,
    /// Client address, without a port.
    pub client: Option<String>,
    /// The request line (or `METHOD TARGET` as PHP-FPM writes it).
    pub request: Option<String>,
    pub host: Option<String>,
    pub upstream: Option<String>,
    /// The message text, where rules look.
    pub message: String,
    /// The whole record as written (control characters removed), shown as evidence.
    pub text: String,
    /// Index of the input it came from, and of the record within it.
    pub input: usize,
    pub seq: usize,
}

impl ErrorEvent {
    /// Whether the event names the request it belongs to (or the client who sent it), so it
    /// can be tied to one access-log line rather than only to a moment.
    pub fn is_request_scoped(&self) -> bool {
        self.request.is_some() || self.client.is_some()
    }
}

/// The first `a` followed by `b` (a two-byte separator such as `": "`): a memchr for the
/// first byte, cheaper than building a substring searcher on every call.
pub(crate) fn find_pair(hay: &[u8], a: u8, b: u8) -> Option<usize> {
    memchr::memchr_iter(a, hay).find(|&i| hay.get(i + 1) == Some(&b))
}

/// Lossy UTF-8 with terminal control sequences removed: log data is attacker-controlled, and
/// it ends up on people's terminals and in JSON. Tabs stay; escape (and the CSI/OSC sequences
/// it starts) and other C0/C1 controls go.
pub fn clean_text(b: &[u8]) -> String {
    // Nearly all log text is printable UTF-8: copy it as it is. C1 controls are U+0080–U+009F,
    // which UTF-8 writes as 0xC2 0x80–0x9F, so any 0xC2 takes the careful path.
    // (A fold without early exit, so the compiler can check many bytes at once.)
    let plain = |c: u8| (c >= 0x20 && c != 0x7f && c != 0xc2) | (c == b'\t') | (c == b'\n');
    if b.iter().fold(true, |ok, &c| ok & plain(c))
        && let Ok(s) = std::str::from_utf8(b)
    {
        return s.to_owned();
    }
    let s = String::from_utf8_lossy(b);
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' | '\u{9b}' => skip_escape(c, &mut chars),
            '\t' | '\n' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Skips the rest of an escape sequence: CSI (`ESC [` … final byte), OSC (`ESC ]` … BEL/ST),
/// or a two-character escape.
fn skip_escape(first: char, chars: &mut std::iter::Peekable<std::str::Chars>) {
    let kind = if first == '\u{9b}' {
        Some('[')
    } else {
        chars.next()
    };
    match kind {
        Some('[') => {
            for c in chars.by_ref() {
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    break;
                }
            }
        }
        Some(']') | Some('P') | Some('_') | Some('^') => {
            while let Some(c) = chars.next() {
                if c == '\u{7}' || c == '\u{9c}' {
                    break;
                }
                if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                    chars.next();
                    break;
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_paths() {
        assert_eq!(request_path(b"GET /a/b.php?x=1 HTTP/1.1"), b"/a/b.php");
        assert_eq!(request_path(b"/x.php"), b"/x.php");
        assert_eq!(request_path(b"-"), b"-");
        assert_eq!(request_method(b"POST /up HTTP/1.1"), Some(&b"POST"[..]));
    }

    #[test]
    fn control_sequences_are_stripped() {
        let dirty = b"ok \x1b[31mred\x1b[0m \x1b]0;title\x07 bell\x07 \xff end";
        assert_eq!(clean_text(dirty), "ok red  bell \u{fffd} end");
    }
}
