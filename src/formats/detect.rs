//! Telling what a file is from its first lines, never from its name.

use jiff::tz::TimeZone;

use super::access::{AccessFormat, CustomFormat, parse_clf_line, parse_json_line};
use super::haproxy::{HaproxyFormat, Layout};
use super::{ErrorEvent, Kind, apache_error, nginx_error, php};

/// The error-log formats, each read record by record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorFormat {
    Nginx,
    Apache,
    PhpFpm,
    Php,
}

impl ErrorFormat {
    const ALL: [ErrorFormat; 4] = [Self::Nginx, Self::Apache, Self::PhpFpm, Self::Php];

    /// The name reported in `inputs[].format`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Nginx => "nginx_error",
            Self::Apache => "apache_error",
            Self::PhpFpm => "php_fpm",
            Self::Php => "php_error",
        }
    }

    pub fn kind(self) -> Kind {
        match self {
            Self::Nginx | Self::Apache => Kind::Error,
            Self::PhpFpm => Kind::PhpFpm,
            Self::Php => Kind::PhpError,
        }
    }

    /// Whether `line` starts a new record; other lines continue the previous one.
    pub fn is_header(self, line: &[u8]) -> bool {
        match self {
            Self::Nginx => nginx_error::is_header(line),
            Self::Apache => apache_error::is_header(line),
            Self::PhpFpm => php::is_fpm_header(line),
            Self::Php => php::is_php_header(line),
        }
    }

    /// The head of a header line that alone decides it is one (nginx's time and ` [`, PHP's
    /// bracketed time), where there is such: a line that starts with the same bytes is a header
    /// too, without reading the time again (the lines of one second share it).
    pub fn header_key(self, line: &[u8]) -> Option<&[u8]> {
        match self {
            Self::Nginx => line.get(..21),
            Self::Php => memchr::memchr(b']', line).map(|at| &line[..=at]),
            Self::Apache | Self::PhpFpm => None,
        }
    }

    /// Whether a raw record was written at error level or worse, read from its level field
    /// without parsing the rest (PHP's own log says it in words the rule table reads).
    pub fn is_error_level(self, record: &[u8]) -> bool {
        let level = match self {
            Self::Nginx => record
                .get(19..)
                .and_then(|r| r.strip_prefix(b" ["))
                .and_then(|r| r.split(|&b| b == b']').next()),
            Self::Apache => apache_error::level(record),
            Self::PhpFpm => record
                .iter()
                .position(|&b| b == b']')
                .and_then(|at| record.get(at + 2..))
                .and_then(|r| r.split(|&b| b == b':').next()),
            Self::Php => None,
        };
        level.is_some_and(is_error_word)
    }

    /// Parses a whole record (lines joined with `\n`).
    pub fn parse(self, record: &[u8], tz: &TimeZone) -> Option<ErrorEvent> {
        match self {
            Self::Nginx => nginx_error::parse(record, tz),
            Self::Apache => apache_error::parse(record, tz),
            Self::PhpFpm => php::parse_fpm(record, tz),
            Self::Php => php::parse_php_error(record, tz),
        }
    }
}

/// Error level or worse, in nginx's, Apache's and PHP-FPM's words.
pub fn is_error_word(level: &[u8]) -> bool {
    [
        &b"error"[..],
        b"crit",
        b"alert",
        b"emerg",
        b"fatal error",
        b"parse error",
    ]
    .iter()
    .any(|w| level.eq_ignore_ascii_case(w))
}

/// What a file turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detected {
    Access(AccessFormat),
    Error(ErrorFormat),
    Unknown,
}

impl Detected {
    pub fn kind(&self) -> Kind {
        match self {
            Detected::Access(_) => Kind::Access,
            Detected::Error(f) => f.kind(),
            Detected::Unknown => Kind::Unknown,
        }
    }

    /// The detected format, its times read in `tz` where its lines write no zone.
    pub fn in_zone(self, tz: &TimeZone) -> Detected {
        match self {
            Detected::Access(f) => Detected::Access(f.in_zone(tz)),
            other => other,
        }
    }

    pub fn format_name(&self) -> &'static str {
        match self {
            Detected::Access(f) => f.name(),
            Detected::Error(f) => f.name(),
            Detected::Unknown => "unknown",
        }
    }
}

/// Lines every one of which one format reads, after which the sample is not read further.
const UNANIMOUS: usize = 512;

/// Decides a file's format from a sample of its first lines: the format that reads the most
/// of them wins, if it reads at least a third (junk lines at the head of a file should not
/// hide its format), or, for error logs, whose records can run over many lines (stack
/// traces), if it reads the first line. A custom access format, when given, is tried first.
pub fn detect<'a>(
    lines: impl Iterator<Item = &'a [u8]>,
    custom: Option<&CustomFormat>,
) -> Detected {
    let mut total = 0usize;
    let mut custom_hits = 0usize;
    let mut clf = [0usize; 3];
    let mut json = 0usize;
    // HAProxy's two layouts, `option httplog` and `option httplog clf`.
    let mut haproxy = [0usize; 2];
    let haproxy_formats = [Layout::Http, Layout::Clf].map(HaproxyFormat::new);
    let mut errors = [0usize; 4];
    let mut first_error = None;
    for line in lines.filter(|l| !l.trim_ascii().is_empty()) {
        // Every line so far read alike, and enough of them: the rest would only agree.
        if total >= UNANIMOUS
            && [
                custom_hits,
                clf.iter().sum(),
                json,
                haproxy[0],
                haproxy[1],
                errors.iter().copied().max().unwrap_or(0),
            ]
            .contains(&total)
        {
            break;
        }
        total += 1;
        if total == 1 {
            first_error = ErrorFormat::ALL.iter().position(|f| f.is_header(line));
        }
        if custom.is_some_and(|c| c.parse(line).is_some()) {
            custom_hits += 1;
        }
        if let Some((_, v)) = parse_clf_line(line) {
            // HAProxy's CLF layout is a CLF line with its own fields after it.
            match haproxy_formats[1].parse(line) {
                Some(_) => haproxy[1] += 1,
                None => clf[v as usize] += 1,
            }
        } else if line.first() == Some(&b'{') && parse_json_line(line).is_some() {
            json += 1;
        } else if let Some(i) = haproxy_formats.iter().position(|f| f.parse(line).is_some()) {
            // With their syslog header, HAProxy's lines are no CLF lines in either layout.
            haproxy[i] += 1;
        }
        for (i, f) in ErrorFormat::ALL.iter().enumerate() {
            errors[i] += usize::from(f.is_header(line));
        }
    }
    let enough = |n: usize| n > 0 && n * 3 >= total;
    if let Some(c) = custom.filter(|_| enough(custom_hits)) {
        return Detected::Access(AccessFormat::Custom(c.clone()));
    }
    let clf_total: usize = clf.iter().sum();
    let best_error = (0..4).max_by_key(|&i| errors[i]).unwrap_or(0);
    let error_ok = enough(errors[best_error]) || first_error == Some(best_error);
    let candidates = [
        (
            clf_total,
            enough(clf_total),
            Detected::Access(AccessFormat::Clf(clf_variant(clf))),
        ),
        (json, enough(json), Detected::Access(AccessFormat::Json)),
        (
            errors[best_error],
            error_ok,
            Detected::Error(ErrorFormat::ALL[best_error]),
        ),
    ];
    let haproxy = haproxy_formats
        .into_iter()
        .zip(haproxy)
        .map(|(f, n)| (n, enough(n), Detected::Access(AccessFormat::Haproxy(f))));
    candidates
        .into_iter()
        .chain(haproxy)
        .filter(|(_, ok, _)| *ok)
        .map(|(n, _, d)| (n, d))
        .max_by_key(|(n, _)| *n)
        .map_or(Detected::Unknown, |(_, d)| d)
}

/// The CLF variant most lines have; a file with some `combined` lines among `common` ones
/// (lines without user agent) is still `combined`.
fn clf_variant(counts: [usize; 3]) -> super::access::ClfVariant {
    use super::access::ClfVariant::*;
    if counts[VhostCombined as usize] > 0
        && counts[VhostCombined as usize] * 2 >= counts.iter().sum()
    {
        VhostCombined
    } else if counts[Combined as usize] > 0 {
        Combined
    } else {
        Common
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Detected {
        detect(text.lines().map(str::as_bytes), None)
    }

    #[test]
    fn detects_each_kind() {
        let combined = r#"1.2.3.4 - - [25/Nov/2026:14:00:03 +0000] "GET / HTTP/1.1" 200 1 "-" "x""#;
        assert_eq!(d(combined).format_name(), "combined");
        assert_eq!(
            d("2026/11/25 14:00:03 [error] 1#1: *1 boom\n").format_name(),
            "nginx_error"
        );
        assert_eq!(
            d("[Wed Nov 25 14:00:03.1 2026] [core:alert] [pid 1] x").format_name(),
            "apache_error"
        );
        assert_eq!(
            d("[25-Nov-2026 14:00:03] NOTICE: fpm is running, pid 1").kind(),
            Kind::PhpFpm
        );
        let php = "[25-Nov-2026 14:00:03 UTC] PHP Fatal error:  x\nStack trace:\n#0 {main}\n#1 a\n#2 b\n#3 c\n";
        assert_eq!(d(php).kind(), Kind::PhpError);
        let haproxy = "Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 503 212 - - SC-- 1/1/1/1/0 0/0 \"GET / HTTP/1.1\"";
        assert_eq!(d(haproxy).format_name(), "haproxy");
        let clf = "127.0.0.1 - - [07/Dec/2026:13:10:32 +0000] \"GET / HTTP/1.1\" 503 217 \"\" \"\" 49324 492 \"fe\" \"down\" \"s1\" 0 0 -1 -1 3005 SC-- 1 1 0 0 3 0 0 \"\" \"\" \"\" \"\"";
        let Detected::Access(f) = d(clf) else {
            panic!("{clf}")
        };
        assert_eq!(
            f.parse(clf.as_bytes()).unwrap().reason.as_deref(),
            Some(&b"SC--"[..])
        );
        assert_eq!(d("hello\nworld\n"), Detected::Unknown);
        assert_eq!(d(""), Detected::Unknown);
    }
}
