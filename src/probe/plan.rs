//! What to request: each URL as given plus a few harmless variants that commonly make an
//! application fail, and which links found in its pages may be followed (same host only).

use std::sync::OnceLock;

use regex::Regex;
use reqwest::Url;

use super::detect::unescape;

/// Marks every payload, so that an echo of it is recognised and cut out before matching.
pub const MARKER: &str = "fh5x";
/// Length of the over-long parameter (long enough to overflow fixed-size columns and
/// buffers, short enough for every server's request-line limit).
const LONG_LEN: usize = 4000;

/// One request to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `as_given`, `accept_json`, `malformed`, `array`, `quote`, `long`, `bad_percent`.
    pub name: &'static str,
    pub url: Url,
    pub accept_json: bool,
    /// What we put in, in the forms a page may echo it (as sent, decoded, HTML-escaped).
    pub payloads: Vec<String>,
}

/// The URL as given and its variants. The variants put a payload in the first query
/// parameter (or `id` when there is none), since that is where applications read input.
pub fn requests(url: &Url) -> Vec<Request> {
    let key = first_key(url).unwrap_or_else(|| "id".to_owned());
    let long = format!("{MARKER}{}", "A".repeat(LONG_LEN));
    let variants: [(&'static str, String); 5] = [
        ("malformed", format!("{key}={MARKER}%00")),
        ("array", format!("{key}[]={MARKER}")),
        ("quote", format!("{key}={MARKER}%27%22")),
        ("long", format!("{key}={long}")),
        ("bad_percent", format!("{key}={MARKER}%E0%A4%A")),
    ];
    let mut out = vec![
        plain(url, "as_given", false),
        plain(url, "accept_json", true),
    ];
    for (name, pair) in variants {
        let mut u = url.clone();
        u.set_query(Some(&replace_pair(url.query(), &key, &pair)));
        let value = pair.split_once('=').map_or("", |(_, v)| v);
        out.push(Request {
            name,
            url: u,
            accept_json: false,
            payloads: echo_forms(value),
        });
    }
    out
}

/// The one request sent to a site's debug endpoint.
pub fn debug_path(url: &Url) -> Request {
    plain(url, "debug_path", false)
}

fn plain(url: &Url, name: &'static str, accept_json: bool) -> Request {
    Request {
        name,
        url: url.clone(),
        accept_json,
        payloads: Vec::new(),
    }
}

/// The name of the first query parameter, decoded (`a%5B%5D` is `a[]`: keep it as sent).
fn first_key(url: &Url) -> Option<String> {
    let q = url.query()?;
    let first = q.split('&').find(|p| !p.is_empty())?;
    let key = first.split_once('=').map_or(first, |(k, _)| k);
    (!key.is_empty()).then(|| key.to_owned())
}

/// The query with the first `key=…` pair replaced by `pair` (or `pair` appended).
fn replace_pair(query: Option<&str>, key: &str, pair: &str) -> String {
    let pairs: Vec<&str> = query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .collect();
    let at = pairs
        .iter()
        .position(|p| p.split_once('=').map_or(*p, |(k, _)| k) == key);
    let mut out: Vec<&str> = pairs.clone();
    match at {
        Some(i) => out[i] = pair,
        None => out.push(pair),
    }
    out.join("&")
}

/// A payload as sent, percent-decoded (invalid UTF-8 replaced), and HTML-escaped.
fn echo_forms(sent: &str) -> Vec<String> {
    let decoded = percent_decode(sent);
    let escaped = decoded
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    let mut forms = vec![sent.to_owned(), decoded, escaped];
    // Longest first: a form inside another must not cut it in two.
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms.dedup();
    forms
}

/// `%XX` decoded; a `%` without two hex digits stays as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `b` is on the same site as `a`: same host and same port (a scheme's default port
/// on both sides counts as the same, so http → https on one host stays on it).
pub fn same_site(a: &Url, b: &Url) -> bool {
    a.host_str() == b.host_str()
        && (a.port_or_known_default() == b.port_or_known_default()
            || (a.port().is_none() && b.port().is_none()))
}

/// Files that cannot leak a page's internals and only spend the crawl budget.
const SKIPPED_EXTENSIONS: &[&str] = &[
    ".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico", ".svg", ".woff", ".woff2", ".ttf", ".eot",
    ".pdf", ".zip", ".gz", ".mp4", ".webm", ".mp3",
];

/// The same-site http(s) links (`href`, `src`) of an HTML page, resolved, without fragments,
/// in page order, each once.
pub fn links(page: &Url, html: &str) -> Vec<Url> {
    static ATTR: OnceLock<Regex> = OnceLock::new();
    let attr = ATTR.get_or_init(|| {
        Regex::new(r#"(?i)\b(?:href|src)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))"#)
            .expect("the link pattern compiles")
    });
    let mut out: Vec<Url> = Vec::new();
    for c in attr.captures_iter(html) {
        let Some(value) = c.get(1).or_else(|| c.get(2)).or_else(|| c.get(3)) else {
            continue;
        };
        let Ok(mut url) = page.join(unescape(value.as_str()).trim()) else {
            continue;
        };
        url.set_fragment(None);
        let path = url.path().to_ascii_lowercase();
        let wanted = matches!(url.scheme(), "http" | "https")
            && same_site(page, &url)
            && !SKIPPED_EXTENSIONS.iter().any(|e| path.ends_with(e));
        if wanted && !out.contains(&url) {
            out.push(url);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn variants_put_payloads_in_the_first_parameter() {
        let reqs = requests(&url("http://127.0.0.1:8080/item?page=2&x=1"));
        let got: Vec<(&str, String, bool)> = reqs
            .iter()
            .map(|r| (r.name, r.url.to_string(), r.accept_json))
            .collect();
        let base = "http://127.0.0.1:8080/item?";
        let long = format!("{base}page=fh5x{}&x=1", "A".repeat(LONG_LEN));
        assert_eq!(
            got,
            vec![
                ("as_given", format!("{base}page=2&x=1"), false),
                ("accept_json", format!("{base}page=2&x=1"), true),
                ("malformed", format!("{base}page=fh5x%00&x=1"), false),
                ("array", format!("{base}page[]=fh5x&x=1"), false),
                ("quote", format!("{base}page=fh5x%27%22&x=1"), false),
                ("long", long, false),
                ("bad_percent", format!("{base}page=fh5x%E0%A4%A&x=1"), false),
            ]
        );
    }

    #[test]
    fn without_a_query_the_parameter_is_id() {
        let reqs = requests(&url("http://h/a.php"));
        assert_eq!(reqs[2].url.as_str(), "http://h/a.php?id=fh5x%00");
        assert_eq!(reqs[6].url.query(), Some("id=fh5x%E0%A4%A"));
    }

    #[test]
    fn payload_forms_cover_echoes() {
        let quote = &requests(&url("http://h/"))[4];
        assert_eq!(
            quote.payloads,
            vec!["fh5x&#39;&quot;", "fh5x%27%22", "fh5x'\""]
        );
        assert_eq!(percent_decode("a%E0%A4%A"), "a\u{fffd}%A");
        assert_eq!(percent_decode("%"), "%");
    }

    #[test]
    fn crawled_links_stay_on_the_host() {
        let page = url("http://127.0.0.1:8080/dir/index.html");
        let html = r#"<a href="/a">x</a> <a href='b?q=1#frag'>y</a> <img src=/logo.png>
            <a href="http://127.0.0.1:9090/other">off port</a> <a href="http://evil.example/x">off host</a>
            <a href="mailto:x@y">m</a> <script src="/app.js"></script> <a href="/a">again</a>
            <a href="&#x2f;c&amp;d">escaped</a> <a href="javascript:alert(1)">js</a>"#;
        let got: Vec<String> = links(&page, html).iter().map(Url::to_string).collect();
        assert_eq!(
            got,
            vec![
                "http://127.0.0.1:8080/a",
                "http://127.0.0.1:8080/dir/b?q=1",
                "http://127.0.0.1:8080/app.js",
                "http://127.0.0.1:8080/c&d",
            ]
        );
    }

    #[test]
    fn same_site_is_host_and_port() {
        assert!(same_site(&url("http://a/x"), &url("https://a/y")));
        assert!(same_site(&url("http://a:81/"), &url("http://a:81/z")));
        assert!(!same_site(&url("http://a:81/"), &url("http://a:82/")));
        assert!(!same_site(&url("http://a/"), &url("http://b/")));
        assert!(!same_site(&url("http://a/"), &url("http://a.evil/")));
    }
}
