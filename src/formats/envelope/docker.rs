//! Docker's `json-file` logging driver: a JSON object per line of a container's output,
//! `{"log":"…\n","stream":"stdout|stderr","time":"…"}`, a line longer than 16 KiB split into
//! pieces of which only the last ends in `\n`; `attrs` holds the `--log-opt` labels and tag
//! where set (<https://docs.docker.com/engine/logging/drivers/json-file/>).

use std::borrow::Cow;

use serde::Deserialize;

use super::Unwrapped;

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    log: Cow<'a, str>,
    #[serde(borrow)]
    stream: Cow<'a, str>,
    #[serde(default, borrow)]
    attrs: Option<Attrs<'a>>,
    /// When the runtime read the line (RFC 3339 with nanoseconds).
    #[serde(default, borrow)]
    time: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Attrs<'a> {
    #[serde(default, borrow)]
    tag: Option<Cow<'a, str>>,
}

/// A string's bytes, borrowed where it was.
fn bytes(s: Cow<'_, str>) -> Cow<'_, [u8]> {
    match s {
        Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
    }
}

/// One `json-file` line; `None` if it is not one.
pub fn line(line: &[u8]) -> Option<Unwrapped<'_>> {
    if line.first() != Some(&b'{') || memchr::memmem::find(line, b"\"log\"").is_none() {
        return None;
    }
    let parsed: Line = serde_json::from_slice(line).ok()?;
    if !matches!(&*parsed.stream, "stdout" | "stderr") {
        return None;
    }
    let partial = !parsed.log.ends_with('\n');
    Some(Unwrapped {
        host: None,
        source: parsed.attrs.and_then(|a| a.tag).map(bytes),
        time: parsed
            .time
            .and_then(|t| crate::formats::time::parse_iso8601(t.as_bytes())),
        message: bytes(parsed.log),
        partial,
    })
}
