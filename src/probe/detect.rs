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
/// A page without text (a script-only debugger) is not one: its markup may still leak.
fn is_generic(table: &Signatures, text: &str) -> bool {
    if text.len() > GENERIC_MAX || !text.chars().any(char::is_alphanumeric) {
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

#[cfg(test)]
mod tests {
    use super::*;

    const HTML: &str = "text/html; charset=UTF-8";

    fn scan_as(ct: &str, path: &str, body: &str, payloads: &[String]) -> Vec<(String, String)> {
        let headers = vec![("content-type".to_owned(), ct.to_owned())];
        let answer = Answer {
            headers: &headers,
            body: body.as_bytes(),
            path,
        };
        let probe = Probe {
            host: "203.0.113.5",
            payloads,
        };
        detect(&answer, &probe)
            .into_iter()
            .map(|h| (h.signature.category.id().to_owned(), h.signature.id.clone()))
            .collect()
    }

    fn scan(ct: &str, body: &str) -> Vec<(String, String)> {
        scan_as(ct, "/", body, &[])
    }

    fn has(found: &[(String, String)], category: &str, id: &str) -> bool {
        found.iter().any(|(c, i)| c == category && i == id)
    }

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String, String)> {
        let headers: Vec<(String, String)> = pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        let answer = Answer {
            headers: &headers,
            body: b"",
            path: "/",
        };
        let probe = Probe {
            host: "app.internal",
            payloads: &[],
        };
        detect(&answer, &probe)
            .into_iter()
            .map(|h| {
                (
                    h.signature.id.clone(),
                    h.place,
                    h.signature.severity.id().to_owned(),
                )
            })
            .collect()
    }

    /// One hand-written answer per signature family, each expected to give that signature.
    #[test]
    fn every_family_is_found() {
        let cases: &[(&str, &str, &str, &str)] = &[
            (
                HTML,
                "<br />\n<b>Fatal error</b>:  Allowed memory size of 134217728 bytes exhausted in <b>/var/www/html/report.php</b> on line <b>12</b><br />",
                "file_path",
                "php_error_message",
            ),
            (
                HTML,
                "<b>Warning</b>:  Undefined variable $x in <b>/srv/app/index.php</b> on line <b>3</b>",
                "file_path",
                "php_error_message",
            ),
            (
                HTML,
                "<b>Parse error</b>: syntax error, unexpected token \"}\" in C:\\inetpub\\wwwroot\\a.php on line 9",
                "file_path",
                "php_error_message",
            ),
            (
                HTML,
                "<b>Fatal error</b>:  Uncaught Exception: boom in /var/www/html/x.php:3\nStack trace:\n#0 {main}\n  thrown in <b>/var/www/html/x.php</b> on line <b>3</b>",
                "stack_trace",
                "php_uncaught",
            ),
            (
                HTML,
                "<b>Fatal error</b>:  Uncaught Exception: boom in /var/www/html/x.php:3\nStack trace:\n#0 {main}",
                "stack_trace",
                "php_stack_trace",
            ),
            (
                HTML,
                "<script>window.ignite(window.data)</script>",
                "debug_console",
                "laravel_ignition",
            ),
            (
                HTML,
                "<div class=\"Whoops container\"><div class=\"stack-container\">",
                "debug_console",
                "php_whoops",
            ),
            (
                HTML,
                "<div class=\"sf-toolbar\" id=\"sfwdt\"></div>",
                "debug_console",
                "symfony_debug",
            ),
            (
                "text/plain",
                "Traceback (most recent call last):\n  File \"/app/app.py\", line 7, in index\n    1/0\nZeroDivisionError: division by zero",
                "stack_trace",
                "python_traceback",
            ),
            (
                "text/plain",
                "  File \"/usr/lib/python3/dist-packages/flask/app.py\", line 1484, in full_dispatch_request",
                "stack_trace",
                "python_frame",
            ),
            (
                HTML,
                "<title>ZeroDivisionError // Werkzeug Debugger</title>",
                "debug_console",
                "werkzeug_debugger",
            ),
            (
                HTML,
                "<link rel=\"stylesheet\" href=\"?__debugger__=yes&amp;cmd=resource&amp;f=style.css\">",
                "debug_console",
                "werkzeug_debugger",
            ),
            (
                HTML,
                "<p>You&#x27;re seeing this error because you have <code>DEBUG = True</code> in your Django settings file.</p>",
                "debug_console",
                "django_debug_page",
            ),
            (
                HTML,
                "<tr><th>Django Version:</th>\n<td>4.2.7</td></tr>",
                "version_disclosure",
                "framework_version_line",
            ),
            (
                HTML,
                "<pre>Error: boom<br> &nbsp; &nbsp;at /srv/app/index.js:5:9<br> &nbsp; &nbsp;at Layer.handle [as handle_request] (/srv/app/node_modules/express/lib/router/layer.js:95:5)</pre>",
                "stack_trace",
                "node_frame",
            ),
            (
                "application/json",
                "{\"error\":\"boom\",\"stack\":\"TypeError: x is undefined\\n    at handler (file:///app/server.mjs:12:3)\"}",
                "stack_trace",
                "node_frame",
            ),
            (
                "text/plain",
                "java.lang.NullPointerException\n\tat com.example.web.ItemController.show(ItemController.java:42)\n\tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)",
                "stack_trace",
                "java_frame",
            ),
            (
                "text/plain",
                "Exception in thread \"main\" java.lang.IllegalStateException: x",
                "stack_trace",
                "java_exception_in_thread",
            ),
            (
                HTML,
                "<h1>Server Error in '/' Application.</h1><b> Exception Details: </b>System.DivideByZeroException",
                "debug_console",
                "aspnet_error_page",
            ),
            (
                HTML,
                "<title>/debug/pprof/</title>\n<p>Types of profiles available:</p>",
                "debug_console",
                "go_pprof",
            ),
            (
                HTML,
                "<h1>Routing Error</h1><p>No route matches [GET] \"/nowhere\"</p>",
                "debug_console",
                "rails_routing_error",
            ),
            (
                HTML,
                "<pre>java.lang.NumberFormatException: For input string: \"x\"\n\tjava.base/java.lang.Integer.parseInt(Integer.java:661)\n\tlab.Orders.total(Orders.java:12)\n</pre>",
                "stack_trace",
                "java_frame_tab",
            ),
            (
                HTML,
                "<h3>Apache Tomcat/10.1.60</h3>",
                "version_disclosure",
                "tomcat_version_in_body",
            ),
            (
                HTML,
                "<h1>An unhandled exception occurred while processing the request.</h1>",
                "debug_console",
                "aspnetcore_developer_page",
            ),
            (
                "text/plain",
                "   at Shop.Controllers.ItemController.Show(Int32 id) in C:\\src\\Shop\\Controllers\\ItemController.cs:line 42",
                "stack_trace",
                "dotnet_frame",
            ),
            (
                HTML,
                "<title>Action Controller: Exception caught</title>",
                "debug_console",
                "rails_exception_page",
            ),
            (
                "text/plain",
                "app/controllers/items_controller.rb:12:in `show'",
                "stack_trace",
                "ruby_frame",
            ),
            (
                "text/plain",
                "goroutine 7 [running]:\nmain.handler(...)\n\t/home/dev/app/main.go:31 +0x1d",
                "stack_trace",
                "go_goroutine",
            ),
            (
                "text/plain",
                "panic: runtime error: index out of range [3] with length 2\n",
                "stack_trace",
                "go_panic",
            ),
            (
                "text/plain",
                "main.handler()\n\t/home/dev/app/main.go:31 +0x1d",
                "stack_trace",
                "go_frame",
            ),
            (
                HTML,
                "You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version",
                "sql_error",
                "mysql_syntax",
            ),
            (
                HTML,
                "Table 'shop.items' doesn't exist",
                "sql_error",
                "mysql_schema",
            ),
            (
                HTML,
                "SQLSTATE[42S02]: Base table or view not found",
                "sql_error",
                "sqlstate",
            ),
            (
                "text/plain",
                "ERROR:  relation \"items\" does not exist\nLINE 1: SELECT * FROM items",
                "sql_error",
                "postgres_error",
            ),
            (
                "text/plain",
                "psycopg2.errors.UndefinedTable: relation \"x\" does not exist",
                "sql_error",
                "postgres_driver",
            ),
            (
                "text/plain",
                "PG::UndefinedTable: ERROR: x",
                "sql_error",
                "postgres_driver",
            ),
            (
                "text/plain",
                "sqlite3.OperationalError: no such table: items",
                "sql_error",
                "sqlite_error",
            ),
            (
                HTML,
                "<h1>OperationalError at /db</h1>",
                "sql_error",
                "db_api_error",
            ),
            (
                "text/plain",
                "ORA-00942: table or view does not exist",
                "sql_error",
                "oracle_error",
            ),
            (
                "text/plain",
                "Unclosed quotation mark after the character string 'x'.",
                "sql_error",
                "mssql_error",
            ),
            (
                "text/plain",
                "could not open /var/www/shop/config/settings.ini",
                "file_path",
                "unix_path",
            ),
            (
                "text/plain",
                "FileNotFoundError: [Errno 2] No such file or directory: '/work/app/reports/daily.csv'",
                "file_path",
                "path_in_error",
            ),
            (
                "text/plain",
                "Error: ENOENT: no such file or directory, open '/data/site/reports/daily.csv'",
                "file_path",
                "path_in_error",
            ),
            (
                "text/plain",
                "error: relation \"orders\" does not exist",
                "sql_error",
                "postgres_error",
            ),
            (
                "text/plain",
                "template not found: C:\\inetpub\\wwwroot\\views\\item.cshtml",
                "file_path",
                "windows_path",
            ),
            (
                HTML,
                "<address>Apache/2.4.57 (Debian) with PHP/8.2.7</address><p>hello</p>",
                "version_disclosure",
                "product_version_in_body",
            ),
            (
                "text/plain",
                "Werkzeug/3.0.1 Python/3.11.2",
                "version_disclosure",
                "product_version_in_body",
            ),
            (
                "text/plain",
                "could not connect to server at 10.0.3.7 port 5432",
                "internal_address",
                "private_ipv4_in_body",
            ),
            (
                "text/plain",
                "upstream fd12:3456:789a::1 refused",
                "internal_address",
                "private_ipv6_in_body",
            ),
            (
                "text/plain",
                "connect to db01.prod.internal failed",
                "internal_address",
                "internal_host_in_body",
            ),
        ];
        for (ct, body, category, id) in cases {
            let found = scan(ct, body);
            assert!(
                has(&found, category, id),
                "{id} not found in {body:?}: {found:?}"
            );
        }
    }

    #[test]
    fn headers_are_low_except_debug_tokens() {
        let got = headers(&[
            ("server", "Apache/2.4.57 (Debian)"),
            ("x-powered-by", "PHP/8.2.7"),
            ("x-aspnet-version", "4.0.30319"),
            ("x-aspnetmvc-version", "5.2"),
            ("x-debug-token", "a1b2c3"),
            ("x-debug-token-link", "http://x/_profiler/a1b2c3"),
            ("x-backend", "10.1.2.3"),
            ("via", "1.1 cache01.corp"),
            ("x-upstream", "app.internal"),
        ]);
        let want = [
            ("server_apache_version", "header:Server", "low"),
            ("x_powered_by_php", "header:X-Powered-By", "low"),
            ("x_aspnet_version", "header:X-AspNet-Version", "low"),
            ("x_aspnetmvc_version", "header:X-AspNetMvc-Version", "low"),
            ("symfony_debug_token", "header:X-Debug-Token", "high"),
            (
                "symfony_debug_token_link",
                "header:X-Debug-Token-Link",
                "high",
            ),
            ("private_ipv4_in_header", "header:X-Backend", "low"),
            ("internal_host_in_header", "header:Via", "low"),
        ];
        let want: Vec<(String, String, String)> = want
            .iter()
            .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_fallback_only_speaks_when_nothing_specific_did() {
        let nginx = headers(&[("server", "nginx/1.22.1")]);
        assert_eq!(nginx.len(), 1);
        assert_eq!(nginx[0].0, "server_nginx_version");
        let other = headers(&[("server", "Caddy/2.7"), ("x-powered-by", "Express")]);
        let ids: Vec<&str> = other.iter().map(|h| h.0.as_str()).collect();
        assert_eq!(ids, ["server_version", "x_powered_by_express"]);
        assert!(headers(&[("server", "nginx")]).is_empty());
    }

    #[test]
    fn generic_error_pages_are_not_findings() {
        let pages = [
            "<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n<center><h1>500 Internal Server Error</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>",
            "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>500 Internal Server Error</title>\n</head><body>\n<h1>Internal Server Error</h1>\n<p>The server encountered an internal error or\nmisconfiguration and was unable to complete\nyour request.</p>\n<p>Please contact the server administrator at \n webmaster@localhost to inform them of the time this error occurred,\n and the actions you performed just before this error.</p>\n<p>More information about this error may be available\nin the server error log.</p>\n<hr>\n<address>Apache/2.4.57 (Debian) Server at 127.0.0.1 Port 8080</address>\n</body></html>",
            "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.</p>",
            "\n<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Server Error (500)</title>\n</head>\n<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n",
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n<pre>Internal Server Error</pre>\n</body>\n</html>\n",
        ];
        for page in pages {
            assert_eq!(scan(HTML, page), vec![], "{page}");
        }
        // A generic title does not hide what follows it.
        let leaky = "<title>500 Internal Server Error</title><b>Fatal error</b>: x in /var/www/a.php on line 2";
        assert!(has(&scan(HTML, leaky), "file_path", "php_error_message"));
    }

    #[test]
    fn our_own_payload_echoed_back_is_not_a_leak() {
        let echo = "<p>No page at /var/www/fh5x.php</p>";
        let payloads = vec!["/var/www/fh5x.php".to_owned()];
        assert!(has(&scan(HTML, echo), "file_path", "unix_path"));
        assert_eq!(scan_as(HTML, "/", echo, &payloads), vec![]);
    }

    #[test]
    fn bundles_are_not_scanned_for_stacks_or_paths() {
        let js = "function f(){throw new Error('x')}\n    at run (/home/ci/build/src/main.js:10:5)\nvar p='/var/www/html/app.js';";
        assert_eq!(scan("application/javascript", js), vec![]);
        assert_eq!(scan("text/css; charset=utf-8", js), vec![]);
        assert_eq!(scan_as("", "/static/app.js?v=3", js, &[]), vec![]);
        assert!(has(&scan("text/plain", js), "stack_trace", "node_frame"));
    }

    #[test]
    fn sql_text_without_an_error_is_not_sql_error() {
        let admin = "<h2>Query</h2><pre>SELECT id, name FROM users WHERE id = 1 ORDER BY name;\nINSERT INTO log (msg) VALUES ('x');</pre><p>2 rows</p>";
        assert_eq!(scan(HTML, admin), vec![]);
    }

    #[test]
    fn addresses_of_the_host_probed_and_public_ones_are_not_internal() {
        let body = "served by 203.0.113.5 via 8.8.8.8, build 10.0.0.1.2, Chrome/10.1.2.3";
        assert_eq!(scan("text/plain", body), vec![]);
        let probe = Probe {
            host: "127.0.0.1",
            payloads: &[],
        };
        assert!(!passes(Check::InternalIp, "127.0.0.1", probe.host));
        assert!(!passes(Check::InternalIp, "127.0.0.2", "localhost"));
        assert!(passes(Check::InternalIp, "127.0.0.1", "203.0.113.5"));
        assert!(passes(Check::InternalIp, "fe80::1", "203.0.113.5"));
        assert!(!passes(Check::InternalIp, "999.1.1.1", "x"));
        assert!(!passes(Check::InternalHost, "APP.internal", "app.internal"));
    }

    #[test]
    fn strip_and_unescape() {
        assert_eq!(
            strip_tags(
                "<p>a<b>b</b></p><script>var s='<p>x</p>';</script><!-- <c> -->c < d<br/>e<STYLE>p{}</style>f"
            ),
            "\nab\nc < d\nef"
        );
        assert_eq!(strip_tags("x<p unclosed"), "x\n");
        assert_eq!(strip_tags("x<script>never closed"), "x");
        assert_eq!(
            unescape("&lt;a&gt; &amp;amp; &#39;&#x27;&quot; &#0; &#xFFFFFF; &bogus; & &#;"),
            "<a> &amp; ''\" \u{fffd} \u{fffd} &bogus; & &#;"
        );
        assert_eq!(unescape("&"), "&");
        assert_eq!(
            unescape("&#12345678901234567890;"),
            "&#12345678901234567890;"
        );
    }

    #[test]
    fn excerpts_are_cleaned() {
        assert_eq!(
            clean("a\u{1b}[31mred\u{1b}[0m b\u{1b}]0;title\u{7} c"),
            "ared b c"
        );
        assert_eq!(clean("x\u{202e}y\u{0}z\r\n\t w\u{9b}"), "xyz w");
        assert_eq!(clean(&"é".repeat(300)).chars().count(), EXCERPT_CHARS + 1);
        let hay = "line one\nSQLSTATE[42S02]: \u{1b}[2Jtable gone\nline three";
        let at = hay.find("SQLSTATE").unwrap();
        assert_eq!(excerpt(hay, at, at + 15), "SQLSTATE[42S02]: table gone");
    }

    #[test]
    fn hostile_bytes_never_panic() {
        let bodies: [&[u8]; 5] = [
            b"\xff\xfe<\xe0\xa4",
            b"<",
            b"&#",
            "é<p>&#xD800;é".as_bytes(),
            b"{\"a\": [1, {\"b\": null}]",
        ];
        for ct in [HTML, "application/json", "text/plain", ""] {
            for b in bodies {
                let headers = vec![("content-type".to_owned(), ct.to_owned())];
                let answer = Answer {
                    headers: &headers,
                    body: b,
                    path: "/",
                };
                let _ = detect(
                    &answer,
                    &Probe {
                        host: "h",
                        payloads: &["é".to_owned()],
                    },
                );
            }
        }
        assert_eq!(title_case("x-aspnetmvc-version"), "X-Aspnetmvc-Version");
    }
}
