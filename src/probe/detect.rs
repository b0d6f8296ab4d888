//! Finding leaks in one answer: the page's text is recovered (tags stripped and entities
//! decoded for HTML, string values for JSON), our own payloads are cut out, generic error
//! pages and JS/CSS bundles are set aside, then every signature of the table runs on the body
//! and the headers. Everything here reads attacker-controlled bytes: nothing may panic.

use std::net::IpAddr;

use super::signatures::{Category, Check, Place, Signature, Signatures};

/// Bytes of a line kept either side of a match in an excerpt.
const EXCERPT_BEFORE: usize = 80;
const EXCERPT_AFTER: usize = 160;
/// Characters an excerpt is cut to.
const EXCERPT_CHARS: usize = 240;
/// Generic error pages are short; longer text is never checked against the phrases.
const GENERIC_MAX: usize = 4096;

/// One HTTP answer, as read.
pub struct Answer<'a> {
    /// Header names in lower case (as HTTP/2 and reqwest give them) and values.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    /// The path requested, for a bundle served without a Content-Type.
    pub path: &'a str,
}

/// What the request put in: cut out of the text before matching, so that an echo of our own
/// input (a requested path that looks like a file path, a payload) is not a leak.
pub struct Probe<'a> {
    /// The host probed: an address or name equal to it is not `internal_address`.
    pub host: &'a str,
    pub payloads: &'a [String],
}

/// A signature that matched.
#[derive(Clone, Debug)]
pub struct Hit {
    pub signature: &'static Signature,
    /// `body` or `header:Name`.
    pub place: String,
    pub excerpt: String,
}

/// How a body is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyKind {
    Html,
    Json,
    /// JavaScript or CSS: full of stack-like and path-like strings that are code, not leaks.
    Bundle,
    Text,
}

/// Categories not looked for in JS/CSS bundles: code and source maps carry frames and paths
/// on purpose.
const BUNDLE_SKIPS: [Category; 2] = [Category::StackTrace, Category::FilePath];

/// Every leak in one answer, fallbacks dropped where a specific row said the same.
pub fn detect(answer: &Answer<'_>, probe: &Probe<'_>) -> Vec<Hit> {
    detect_with(Signatures::builtin(), answer, probe)
}

fn detect_with(table: &'static Signatures, answer: &Answer<'_>, probe: &Probe<'_>) -> Vec<Hit> {
    let mut hits = header_hits(table, answer.headers, probe.host);
    hits.extend(body_hits(table, answer, probe));
    drop_covered_fallbacks(hits)
}

fn header_hits(table: &'static Signatures, headers: &[(String, String)], host: &str) -> Vec<Hit> {
    let mut hits = Vec::new();
    for (name, value) in headers {
        for sig in table.rows.iter().filter(|s| s.place == Place::Header) {
            if sig
                .header
                .as_ref()
                .is_some_and(|h| !h.eq_ignore_ascii_case(name))
            {
                continue;
            }
            if let Some((start, end)) = first_match(sig, value, host) {
                let shown = sig.header.clone().unwrap_or_else(|| title_case(name));
                hits.push(Hit {
                    signature: sig,
                    place: format!("header:{shown}"),
                    excerpt: excerpt(value, start, end),
                });
            }
        }
    }
    hits
}

fn body_hits(table: &'static Signatures, answer: &Answer<'_>, probe: &Probe<'_>) -> Vec<Hit> {
    let raw_full = String::from_utf8_lossy(answer.body);
    let kind = body_kind(answer.headers, answer.path, &raw_full);
    let raw = remove_payloads(&raw_full, probe.payloads);
    let text = remove_payloads(&page_text(kind, &raw_full), probe.payloads);
    if is_generic(table, &text) {
        return Vec::new();
    }
    let in_text = literal_positions(table, &text);
    let in_raw = literal_positions(table, &raw);
    let mut hits = Vec::new();
    for (i, sig) in table.rows.iter().enumerate() {
        if sig.place != Place::Body
            || (kind == BodyKind::Bundle && BUNDLE_SKIPS.contains(&sig.category))
        {
            continue;
        }
        let (hay, seen) = if sig.raw {
            (&raw, &in_raw)
        } else {
            (&text, &in_text)
        };
        if sig.has_literals && seen[i].is_none() {
            continue;
        }
        let found = match &sig.regex {
            Some(_) => first_match(sig, hay, probe.host),
            None => seen[i],
        };
        if let Some((start, end)) = found {
            hits.push(Hit {
                signature: sig,
                place: "body".to_owned(),
                excerpt: excerpt(hay, start, end),
            });
        }
    }
    hits
}

/// Where each row's first literal occurs in `hay` (by row index), if anywhere.
fn literal_positions(table: &Signatures, hay: &str) -> Vec<Option<(usize, usize)>> {
    let mut seen = vec![None; table.rows.len()];
    for m in table.literals.find_overlapping_iter(hay) {
        let row = table.owner.get(m.pattern().as_usize()).copied();
        if let Some(slot) = row.and_then(|r| seen.get_mut(r)) {
            slot.get_or_insert((m.start(), m.end()));
        }
    }
    seen
}

/// The first match of the row's regex that passes its check.
fn first_match(sig: &Signature, hay: &str, host: &str) -> Option<(usize, usize)> {
    let re = sig.regex.as_ref()?;
    let Some(check) = sig.check else {
        return re.find(hay).map(|m| (m.start(), m.end()));
    };
    re.captures_iter(hay).find_map(|c| {
        let addr = c.name("addr")?;
        passes(check, addr.as_str(), host).then(|| (addr.start(), addr.end()))
    })
}

/// Whether `addr` is internal and not the host probed.
fn passes(check: Check, addr: &str, host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if addr.eq_ignore_ascii_case(host) {
        return false;
    }
    match check {
        Check::InternalHost => true,
        Check::InternalIp => match addr.parse::<IpAddr>() {
            Ok(ip) => is_internal(ip) && !(ip.is_loopback() && host_is_loopback(host)),
            Err(_) => false,
        },
    }
}

/// Private, loopback, link-local, shared (CGNAT) or unique-local: not routable from outside.
fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback() || first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfe80
        }
    }
}

/// A loopback host probed: the loopback addresses in its pages are its own.
fn host_is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A row marked `fallback` is dropped when another row of its category matched the same place.
fn drop_covered_fallbacks(hits: Vec<Hit>) -> Vec<Hit> {
    let covered = |h: &Hit| {
        hits.iter().any(|o| {
            !o.signature.fallback
                && o.signature.category == h.signature.category
                && o.place == h.place
        })
    };
    let keep: Vec<bool> = hits
        .iter()
        .map(|h| !h.signature.fallback || !covered(h))
        .collect();
    hits.into_iter()
        .zip(keep)
        .filter_map(|(h, k)| k.then_some(h))
        .collect()
}

fn body_kind(headers: &[(String, String)], path: &str, raw: &str) -> BodyKind {
    let ct = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.to_ascii_lowercase())
        .unwrap_or_default();
    let path = path
        .split(['?', '#'])
        .next()
        .unwrap_or(path)
        .to_ascii_lowercase();
    if ct.contains("javascript") || ct.contains("ecmascript") || ct.contains("text/css") {
        BodyKind::Bundle
    } else if ct.contains("html") || ct.contains("xml") {
        BodyKind::Html
    } else if ct.contains("json") {
        BodyKind::Json
    } else if ct.is_empty()
        && [".js", ".mjs", ".css", ".map"]
            .iter()
            .any(|e| path.ends_with(e))
    {
        BodyKind::Bundle
    } else if ct.is_empty() && raw.trim_start().starts_with('<') {
        BodyKind::Html
    } else {
        BodyKind::Text
    }
}

/// The text a person would read.
fn page_text(kind: BodyKind, raw: &str) -> String {
    match kind {
        BodyKind::Html => unescape(&strip_tags(raw)),
        BodyKind::Json => json_strings(raw).unwrap_or_else(|| raw.to_owned()),
        BodyKind::Bundle | BodyKind::Text => raw.to_owned(),
    }
}

/// The string values (and keys) of a JSON document, one a line, escapes decoded: a stack in
/// `{"stack": "Error: x\n    at …"}` reads as it would on a page.
fn json_strings(raw: &str) -> Option<String> {
    fn walk(v: &serde_json::Value, out: &mut String) {
        match v {
            serde_json::Value::String(s) => {
                out.push_str(s);
                out.push('\n');
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            serde_json::Value::Object(o) => o.iter().for_each(|(k, x)| {
                out.push_str(k);
                out.push('\n');
                walk(x, out);
            }),
            other => {
                out.push_str(&other.to_string());
                out.push('\n');
            }
        }
    }
    let v: serde_json::Value = serde_json::from_str(raw).ok()?;
    let mut out = String::new();
    walk(&v, &mut out);
    Some(out)
}

fn remove_payloads(text: &str, payloads: &[String]) -> String {
    payloads
        .iter()
        .filter(|p| !p.is_empty())
        .fold(text.to_owned(), |t, p| t.replace(p.as_str(), ""))
}

/// A page made only of the phrases of a default error page (numbers and punctuation aside).
fn is_generic(table: &Signatures, text: &str) -> bool {
    if text.len() > GENERIC_MAX {
        return false;
    }
    let mut flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for re in &table.generic_phrases {
        flat = re.replace_all(&flat, " ").into_owned();
    }
    !flat.chars().any(char::is_alphanumeric)
}

/// Tags that end a line of text: stripping them must not glue two lines into one.
const BLOCK_TAGS: &[&str] = &[
    "br",
    "p",
    "div",
    "pre",
    "tr",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "td",
    "th",
    "title",
    "hr",
    "address",
    "ul",
    "ol",
    "dt",
    "dd",
    "section",
    "header",
    "footer",
    "blockquote",
];

/// HTML without its markup: tags dropped (block tags become line breaks), comments, scripts
/// and styles dropped whole. A `<` that opens no tag (`a < b`) is text.
pub fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let tag = &rest[i..];
        if let Some(after) = tag.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |j| &after[j + 3..]);
            continue;
        }
        let Some(name) = tag_name(tag) else {
            out.push('<');
            rest = &tag[1..];
            continue;
        };
        rest = tag.find('>').map_or("", |j| &tag[j + 1..]);
        if name == "script" || name == "style" {
            rest = after_closing(rest, &name);
        }
        if BLOCK_TAGS.contains(&name.trim_start_matches('/')) {
            out.push('\n');
        }
    }
    out.push_str(rest);
    out
}

/// The lower-case name of the tag `s` opens (`/p` for a closing one, `!` for a doctype),
/// or `None` when `<` opens no tag.
fn tag_name(s: &str) -> Option<String> {
    let body = s.get(1..)?;
    if body.starts_with('!') || body.starts_with('?') {
        return Some("!".to_owned());
    }
    let (slash, name) = body.strip_prefix('/').map_or(("", body), |n| ("/", n));
    let len = name
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(name.len());
    let name = &name[..len];
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        .then(|| format!("{slash}{}", name.to_ascii_lowercase()))
}

/// What follows `</name …>` in `s` (nothing when it is never closed).
fn after_closing<'a>(s: &'a str, name: &str) -> &'a str {
    let close = format!("</{name}");
    let at = s
        .as_bytes()
        .windows(close.len())
        .position(|w| w.eq_ignore_ascii_case(close.as_bytes()));
    match at {
        Some(i) => s[i..].find('>').map_or("", |j| &s[i + j + 1..]),
        None => "",
    }
}

/// Decodes character references: the named ones error pages use, and every numeric one. An
/// unknown or malformed reference stays as written.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        match tail.get(1..).and_then(reference) {
            Some((c, used)) => {
                out.push(c);
                rest = &tail[1 + used..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character a reference (text after `&`) stands for, and the bytes it takes with `;`.
fn reference(s: &str) -> Option<(char, usize)> {
    let end = s.get(..s.len().min(12))?.find(';')?;
    let name = &s[..end];
    let c = if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        char::from_u32(code)
            .filter(|&c| c != '\0')
            .unwrap_or('\u{fffd}')
    } else {
        match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            "nbsp" => '\u{a0}',
            "hellip" => '…',
            "ndash" => '–',
            "mdash" => '—',
            "laquo" => '«',
            "raquo" => '»',
            "copy" => '©',
            _ => return None,
        }
    };
    Some((c, end + 1))
}

/// The line around a match, cut to a readable length and cleaned.
fn excerpt(hay: &str, start: usize, end: usize) -> String {
    let from = hay[..start]
        .rfind('\n')
        .map_or(0, |i| i + 1)
        .max(start.saturating_sub(EXCERPT_BEFORE));
    let from = hay.floor_char_boundary(from);
    let line_end = hay[end..].find('\n').map_or(hay.len(), |i| end + i);
    let to = hay.ceil_char_boundary(line_end.min(end + EXCERPT_AFTER).max(end));
    clean(&hay[from..to])
}

/// Text safe for a terminal and a report: escape sequences and control and bidirectional
/// formatting characters removed, whitespace collapsed, cut to a readable length.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(EXCERPT_CHARS * 4));
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            skip_escape(&mut chars);
        } else if c.is_whitespace() {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
        } else if !c.is_control() && !is_format_char(c) {
            out.push(c);
        }
    }
    let trimmed = out.trim_end();
    match trimmed.char_indices().nth(EXCERPT_CHARS) {
        Some((i, _)) => format!("{}…", &trimmed[..i]),
        None => trimmed.to_owned(),
    }
}

/// Drops the rest of an escape sequence after ESC: CSI (`[` … final byte), OSC (`]` … BEL or
/// ST), or the one character of a two-character sequence.
fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.next() {
        Some('[') => {
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        }
        Some(']') => {
            while let Some(c) = chars.next() {
                if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                    break;
                }
            }
        }
        _ => {}
    }
}

/// Zero-width and bidirectional controls: invisible, and able to reorder what a terminal shows.
fn is_format_char(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// `x-powered-by` → `X-Powered-By`, as headers are usually written.
fn title_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut cs = part.chars();
            cs.next()
                .map(|f| f.to_ascii_uppercase().to_string() + &cs.as_str().to_ascii_lowercase())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}
