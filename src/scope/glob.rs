//! Host and path patterns: `*` (any run of bytes, `/` included) and `?` (any one byte),
//! matched on bytes with no allocation, because a filter is asked once per access-log line.

/// Whether `text` matches `pattern`, bytes compared by `same`. Greedy with one backtrack
/// point (the last `*`): linear for the patterns people write, never recursive.
fn wildcard(pattern: &[u8], text: &[u8], same: impl Fn(u8, u8) -> bool) -> bool {
    let (mut p, mut t) = (0, 0);
    // The last `*` seen and where in the text it began to match.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || same(c, text[t]) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                // The `*` takes one more byte, and the rest is tried again after it.
                Some((s, from)) => {
                    star = Some((s, from + 1));
                    p = s + 1;
                    t = from + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Whether a pattern has a wildcard (else a path pattern is a prefix).
fn has_wildcard(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

/// Virtual hosts as `--host` names them: one or more comma-separated globs
/// (`shop.example.com`, `*.example.com`), matched without case and without the port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostGlobs {
    /// Each glob, lower case.
    globs: Vec<Box<[u8]>>,
}

impl HostGlobs {
    /// The globs of `--host`; `None` when the list names none.
    pub fn parse(text: &str) -> Option<HostGlobs> {
        let globs: Vec<Box<[u8]>> = text
            .split(',')
            .map(|g| host_part(g.trim().as_bytes()))
            .filter(|g| !g.is_empty())
            .map(|g| g.to_ascii_lowercase().into())
            .collect();
        (!globs.is_empty()).then_some(HostGlobs { globs })
    }

    /// Whether a host as logged (`Shop.Example.com:443`) is one of them.
    pub fn matches(&self, host: &[u8]) -> bool {
        let host = host_part(host);
        self.globs
            .iter()
            .any(|g| wildcard(g, host, |p, t| p == t.to_ascii_lowercase()))
    }
}

/// A host without its port (`example.com:8080`, `[::1]:443`) or a final dot.
fn host_part(host: &[u8]) -> &[u8] {
    let host = match host {
        [b'[', rest @ ..] => match memchr::memchr(b']', rest) {
            Some(end) => &rest[..end],
            None => rest,
        },
        _ => match memchr::memrchr(b':', host) {
            // One colon before digits is a port; more are an IPv6 address's.
            Some(colon)
                if memchr::memchr(b':', &host[..colon]).is_none()
                    && host[colon + 1..].iter().all(u8::is_ascii_digit) =>
            {
                &host[..colon]
            }
            _ => host,
        },
    };
    host.strip_suffix(b".").unwrap_or(host)
}

/// Request paths as `--path` names them: a prefix (`/api/` takes `/api/orders`), or, with a
/// `*` or `?` in it, a glob over the whole path (`/*.php`, `*/wp-login.php`). Case matters,
/// as it does to the servers; the query string is never part of the path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathPattern {
    Prefix(Box<[u8]>),
    Glob(Box<[u8]>),
}

impl PathPattern {
    /// The pattern of `--path`; `None` when it is empty.
    pub fn parse(text: &str) -> Option<PathPattern> {
        let bytes: Box<[u8]> = text.as_bytes().into();
        match text {
            "" => None,
            t if has_wildcard(t) => Some(PathPattern::Glob(bytes)),
            _ => Some(PathPattern::Prefix(bytes)),
        }
    }

    /// Whether a request's path (without its query) is one of those named.
    pub fn matches(&self, path: &[u8]) -> bool {
        match self {
            PathPattern::Prefix(p) => path.starts_with(p),
            PathPattern::Glob(g) => wildcard(g, path, |p, t| p == t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_star_takes_any_run_and_a_question_mark_one_byte() {
        let m = |p: &str, t: &str| wildcard(p.as_bytes(), t.as_bytes(), |a, b| a == b);
        assert!(m("*", ""));
        assert!(m("*.php", "/a/b.php"));
        assert!(!m("*.php", "/a/b.phps"));
        assert!(m("/a*b*c", "/aXbYbZc"));
        assert!(m("/?", "/x"));
        assert!(!m("/?", "/"));
        assert!(!m("/a", "/ab"));
        assert!(m("**a", "a"));
        // A long run that almost matches does not take time out of bounds.
        let long = "a".repeat(10_000);
        assert!(!m("*a*a*a*b", &long));
    }

    proptest::proptest! {
        /// The matcher agrees with the same glob as an anchored regex, on patterns and texts
        /// small enough to hit every backtracking case.
        #[test]
        fn a_glob_matches_what_its_regex_matches(
            pattern in "[ab*?]{0,8}",
            text in "[ab]{0,12}",
        ) {
            let translated: String = pattern
                .chars()
                .map(|c| match c {
                    '*' => ".*".to_owned(),
                    '?' => ".".to_owned(),
                    c => c.to_string(),
                })
                .collect();
            let re = regex::Regex::new(&format!("^(?s:{translated})$")).unwrap();
            let got = wildcard(pattern.as_bytes(), text.as_bytes(), |a, b| a == b);
            proptest::prop_assert_eq!(got, re.is_match(&text));
        }
    }

    #[test]
    fn hosts_match_without_case_or_port() {
        let h = HostGlobs::parse("*.Example.com, api.test").unwrap();
        assert!(h.matches(b"shop.example.COM:443"));
        assert!(h.matches(b"api.test"));
        assert!(h.matches(b"api.test."));
        assert!(!h.matches(b"example.com"));
        assert!(!h.matches(b"api.testing"));
        let v6 = HostGlobs::parse("::1").unwrap();
        assert!(v6.matches(b"[::1]:8080"));
        assert!(v6.matches(b"::1"));
        assert_eq!(HostGlobs::parse(" , "), None);
    }

    #[test]
    fn a_path_without_wildcard_is_a_prefix() {
        let p = PathPattern::parse("/api/").unwrap();
        assert!(p.matches(b"/api/orders"));
        assert!(!p.matches(b"/api"));
        let g = PathPattern::parse("*.php").unwrap();
        assert!(g.matches(b"/index.php"));
        assert!(!g.matches(b"/index.php/x"));
        assert_eq!(PathPattern::parse(""), None);
    }
}
