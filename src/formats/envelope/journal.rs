//! journald's entries as `journalctl` writes them: `-o json` (an object per line, fields as
//! strings, or arrays of bytes where not UTF-8) and `-o export` (`KEY=VALUE` lines, a field
//! that is not text as `KEY`, a 64-bit little-endian length and the bytes, a blank line after
//! each entry). The entry's `MESSAGE` is the line; `_HOSTNAME` its host; the container,
//! syslog identifier or unit its source.

use std::borrow::Cow;
use std::io::{self, BufRead, Read};

use serde::Deserialize;

use super::{Unwrapped, read_line};
use crate::read::MAX_LINE;

/// A field's value in `-o json`: text, bytes, or (a field given many times) a list of them,
/// of which the first is taken.
#[derive(Deserialize)]
#[serde(untagged)]
enum Value<'a> {
    #[serde(borrow)]
    Text(Cow<'a, str>),
    Bytes(Vec<u8>),
    Many(Vec<serde_json::Value>),
}

impl Value<'_> {
    fn bytes(&self) -> Option<Cow<'_, [u8]>> {
        match self {
            Value::Text(t) => Some(Cow::Borrowed(t.as_bytes())),
            Value::Bytes(b) => Some(Cow::Borrowed(b)),
            Value::Many(list) => match list.first()? {
                serde_json::Value::String(s) => Some(Cow::Owned(s.clone().into_bytes())),
                _ => None,
            },
        }
    }
}

/// The fields of an entry this reads, in `-o json`.
#[derive(Deserialize)]
struct JsonEntry<'a> {
    #[serde(rename = "MESSAGE", borrow)]
    message: Option<Value<'a>>,
    #[serde(rename = "_HOSTNAME", borrow)]
    hostname: Option<Value<'a>>,
    #[serde(rename = "CONTAINER_NAME", borrow)]
    container: Option<Value<'a>>,
    #[serde(rename = "SYSLOG_IDENTIFIER", borrow)]
    identifier: Option<Value<'a>>,
    #[serde(rename = "_SYSTEMD_UNIT", borrow)]
    unit: Option<Value<'a>>,
    #[serde(rename = "__CURSOR", borrow)]
    cursor: Option<Value<'a>>,
    #[serde(rename = "__REALTIME_TIMESTAMP", borrow)]
    realtime: Option<Value<'a>>,
}

/// `__REALTIME_TIMESTAMP`: when journald received the entry, in microseconds since the epoch.
fn realtime(micros: &[u8]) -> Option<crate::formats::Stamp> {
    crate::formats::time::parse_epoch_units(micros, 6)
}

/// One `-o json` line; `None` if it is not a journal entry (it must have a cursor or a
/// realtime stamp, as every entry `journalctl` writes has).
pub fn json_line(line: &[u8]) -> Option<Unwrapped<'static>> {
    if line.first() != Some(&b'{') || memchr::memmem::find(line, b"\"__CURSOR\"").is_none() {
        return None;
    }
    let entry: JsonEntry = serde_json::from_slice(line).ok()?;
    entry.cursor.as_ref()?;
    let owned = |v: &Option<Value>| {
        v.as_ref()
            .and_then(|v| v.bytes())
            .map(|b| Cow::Owned(b.into_owned()))
    };
    let source = [&entry.container, &entry.identifier, &entry.unit]
        .into_iter()
        .find_map(&owned);
    Some(Unwrapped {
        host: owned(&entry.hostname),
        source,
        time: entry.realtime.as_ref().and_then(|v| realtime(&v.bytes()?)),
        message: owned(&entry.message).unwrap_or_default(),
        partial: false,
    })
}

/// The cursor of a `-o json` line, for `watch --journal` to start after.
pub fn json_cursor(line: &[u8]) -> Option<String> {
    let entry: JsonEntry = serde_json::from_slice(line).ok()?;
    let cursor = entry.cursor?;
    Some(String::from_utf8_lossy(&cursor.bytes()?).into_owned())
}

/// Whether a line starts an export record: a field every entry begins with.
pub fn is_export_start(line: &[u8]) -> bool {
    [&b"__CURSOR="[..], b"__REALTIME_TIMESTAMP=", b"__SEQNUM_ID="]
        .iter()
        .any(|p| line.starts_with(p))
}

/// The fields of one export record this reads.
#[derive(Default)]
pub struct ExportRecord {
    fields: Vec<(Vec<u8>, Vec<u8>)>,
}

impl ExportRecord {
    fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }

    /// Its message, host and source; `None` for a record without a message.
    pub fn unwrapped(&self) -> Option<Unwrapped<'_>> {
        let message = self.get(b"MESSAGE")?;
        let source = [
            &b"CONTAINER_NAME"[..],
            b"SYSLOG_IDENTIFIER",
            b"_SYSTEMD_UNIT",
        ]
        .iter()
        .find_map(|k| self.get(k));
        let time = self.get(b"__REALTIME_TIMESTAMP").and_then(realtime);
        Some(Unwrapped::whole(self.get(b"_HOSTNAME"), source, message).at(time))
    }
}

/// The fields an export record is read for (the others are skipped, never kept).
const KEPT: [&[u8]; 6] = [
    b"MESSAGE",
    b"__REALTIME_TIMESTAMP",
    b"_HOSTNAME",
    b"CONTAINER_NAME",
    b"SYSLOG_IDENTIFIER",
    b"_SYSTEMD_UNIT",
];

/// Reads the next export record; `None` at the end of the input. A binary field longer than
/// [`MAX_LINE`] is skipped; a record cut short ends with what it has.
pub fn export_record(inner: &mut impl BufRead) -> io::Result<Option<ExportRecord>> {
    let mut record = ExportRecord::default();
    let mut line = Vec::new();
    let mut any = false;
    loop {
        line.clear();
        if !read_line(inner, &mut line)? {
            return Ok(any.then_some(record));
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        if text.is_empty() {
            if any {
                return Ok(Some(record));
            }
            continue;
        }
        any = true;
        let (key, value) = match memchr::memchr(b'=', text) {
            Some(eq) => (&text[..eq], Cow::Borrowed(&text[eq + 1..])),
            None => match binary_value(inner) {
                Ok(value) => (text, Cow::Owned(value)),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Ok(Some(record));
                }
                Err(e) => return Err(e),
            },
        };
        if KEPT.contains(&key) {
            record.fields.push((key.to_vec(), value.into_owned()));
        }
    }
}

/// A binary field's value: its length (64-bit little-endian), its bytes and a `\n`. One too
/// long is skipped and read as empty.
fn binary_value(inner: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 8];
    inner.read_exact(&mut len)?;
    let len = u64::from_le_bytes(len);
    let mut value = Vec::new();
    if len <= MAX_LINE as u64 {
        inner.by_ref().take(len).read_to_end(&mut value)?;
    } else {
        io::copy(&mut inner.by_ref().take(len), &mut io::sink())?;
    }
    let mut nl = [0u8; 1];
    inner.read_exact(&mut nl)?;
    Ok(value)
}
