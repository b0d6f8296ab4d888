//! Failure units: the error records that tell of one failure, put together as they are read.
//!
//! PHP writes a warning and then the fatal error it leads to as records of their own, often
//! without a pid (`PHP Warning:  Unknown: Failed to open stream: Permission denied in Unknown
//! on line 0`, then `PHP Fatal error:  Failed opening required '…'`). Records next to each
//! other in one log, from the same process (or, where the log names none, about the same
//! script), within a second, up to the fatal error that ends the request, are one failure:
//! one [`Unit`], whose most specific record names the cause. Warnings alike without a fatal
//! error after them stay apart: two requests write them as readily as one.

use rustc_hash::FxHashSet;
use serde::Serialize;

use super::identity;
use crate::diagnose::rules::{Memos, Rules, Verdict};
use crate::formats::detect::ErrorFormat;
use crate::formats::{ErrorEvent, Kind, Stamp, nginx_error, request_path};

/// Where a line stands: its input (index into `inputs`) and its 1-based line number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct LineAt {
    pub input: usize,
    pub line: u64,
}

/// How a unit can be tied to a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Names the request it belongs to (nginx's `request: "GET /x"`, FPM's `(request: …)`).
    Request,
    /// Written for one request, but names at most its client, its id and its scripts.
    Script,
    /// About a process or a pool, not one request (a child killed, the pool full).
    Process,
}

/// Records within this of each other from one process tell of the same failure.
pub const SAME_FAILURE_MS: i64 = 1_000;
/// Most records one failure groups (a fatal error and the warnings before it).
const MAX_RECORDS: usize = 16;

/// One failure, as one or more error records tell it.
#[derive(Clone, Debug)]
pub struct Unit {
    pub time: Stamp,
    /// Whether `time` is its first record's own. A record that has none (a Node stack, a Go
    /// crash dump) is placed by its envelope's time or the nearest timed record before it in
    /// its log ([`super::stream`]).
    pub own_time: bool,
    /// The input the records come from.
    pub input: usize,
    pub kind: Kind,
    pub scope: Scope,
    /// Where each record starts, in log order.
    pub records: Vec<LineAt>,
    /// Each record's text (control characters removed), shown as evidence.
    pub texts: Vec<Box<str>>,
    /// The most specific verdict of its records (on a tie, the first record's).
    pub verdict: Option<Verdict>,
    /// The client address, in one spelling.
    pub client: Option<Box<str>>,
    /// The path of the request it names, without query.
    pub target: Option<Box<str>>,
    /// The virtual host it names, lower case, without port.
    pub host: Option<Box<str>>,
    /// The script and code files it names (`… in /srv/www/a.php on line 3`).
    pub files: Vec<Box<str>>,
    /// The PHP-FPM pool it names (`[pool www]`).
    pub pool: Option<Box<str>>,
    /// The upstream the proxy sent the request to (`fastcgi://unix:/run/php/www.sock:`).
    pub upstream: Option<Box<str>>,
    /// The id of the request it was written for (Rails' `[request-id]` tag).
    pub request_id: Option<Box<str>>,
    /// Who wrote it, as the log says: nginx's connection (`*7`), Apache's `pid N:tid M`, the
    /// PHP-FPM child's pid. Records of one failure come from one writer.
    writer: Option<Box<str>>,
    /// Where PHP says the first record's message comes from, for grouping records whose
    /// writer the log does not name: a warning and a fatal error share it.
    origin: Option<Box<str>>,
    /// Whether a record ends the request (a fatal error): nothing joins after it.
    closed: bool,
    is_php: bool,
}

impl Unit {
    pub fn ms(&self) -> i64 {
        self.time.ms
    }

    /// The first record's place.
    pub fn at(&self) -> LineAt {
        self.records[0]
    }

    /// Moves its records `lines` lines on (a block's records are numbered from its start).
    pub fn shift_lines(&mut self, lines: u64) {
        for r in &mut self.records {
            r.line += lines;
        }
    }

    /// A unit of one record, if it has a time and is worth keeping; [`Grouper::push_unit`]
    /// puts it together with the records of the same failure.
    ///
    /// `near`: where the rule prefilter found literals in the record's bytes, if they are its
    /// text (see [`Rules::classify_near`]).
    pub fn of(
        e: &ErrorEvent,
        rules: &Rules,
        keep: &Keep,
        near: Option<&[usize]>,
        memos: &mut Memos,
    ) -> Option<Unit> {
        let time = e.time?;
        let verdict = rules.classify_memo(e, near, memos);
        if !keep.event(e, verdict.is_some()) {
            return None;
        }
        let msg = e.message();
        let text = e.text();
        Some(Unit {
            time,
            own_time: true,
            input: e.input,
            kind: e.kind.unwrap_or(Kind::Error),
            scope: scope_of(e),
            records: vec![LineAt {
                input: e.input,
                line: e.line,
            }],
            texts: vec![text.into()],
            verdict,
            client: e.client().map(|c| identity::client_key(c).into()),
            target: e
                .request()
                .map(|r| String::from_utf8_lossy(request_path(r.as_bytes())).into()),
            host: e.host().map(identity::host_key),
            files: identity::files_named(text),
            pool: identity::pool_named(text).map(Into::into),
            upstream: e.upstream().map(Into::into),
            request_id: e.request_id().map(Into::into),
            writer: writer_of(e),
            origin: origin_of(msg).map(Into::into),
            closed: is_fatal(msg),
            is_php: is_php(msg),
        })
    }

    /// Whether `next`, the record after this unit's last in the same log, tells of the same
    /// failure: the fatal error that ends what this unit's warnings began. (Two warnings
    /// alike are two requests' as likely as one's: each stands alone.)
    fn joins(&self, next: &Unit) -> bool {
        let same_origin = self.origin.is_some() && self.origin == next.origin;
        !self.closed
            && next.closed
            && self.is_php
            && next.is_php
            && self.records.len() < MAX_RECORDS
            && self.scope == next.scope
            && self.writer == next.writer
            && (self.writer.is_some() || same_origin)
            && self.client == next.client
            && self.target == next.target
            && (next.ms() - self.ms()).abs() <= SAME_FAILURE_MS
    }

    /// Takes `next` in: its records, what it names, and its verdict if more specific.
    fn absorb(&mut self, next: Unit) {
        self.records.extend(next.records);
        self.texts.extend(next.texts);
        for f in next.files {
            if !self.files.contains(&f) {
                self.files.push(f);
            }
        }
        if let Some(v) = next.verdict
            && self.verdict.as_ref().is_none_or(|b| v.weight > b.weight)
        {
            self.verdict = Some(v);
        }
        self.closed |= next.closed;
        self.pool = self.pool.take().or(next.pool);
    }
}

/// Where PHP says a message comes from: `in /srv/a.php on line 3`, `in /srv/a.php:3`, or
/// `in Unknown on line 0` (the requested script could not be opened).
fn origin_of(msg: &str) -> Option<&str> {
    static AT: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r" in (\S+?)(?: on line |:)\d+").expect("the pattern compiles")
    });
    // The whole match is found faster than its group, which is what is left of it without
    // ` in `, the (greedy) line number and the separator before it.
    let found = AT.find(msg)?.as_str();
    let rest = found[4..].trim_end_matches(|c: char| c.is_ascii_digit());
    rest.strip_suffix(" on line ")
        .or_else(|| rest.strip_suffix(':'))
}

/// Who wrote a record (see [`Unit::writer`]).
fn writer_of(e: &ErrorEvent) -> Option<Box<str>> {
    let text = e.text();
    // The header's first 96 bytes, cut back to a character boundary (log text is any text).
    let mut cut = text.len().min(96);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &text[..cut];
    if let Some(at) = head.find("[pid ") {
        let rest = &head[at + 1..];
        return rest.find(']').map(|end| rest[..end].into());
    }
    if e.kind == Some(Kind::Error)
        && let Some(at) = head.find(": *")
    {
        let conn = &head[at + 2..];
        let end = conn[1..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(conn.len(), |n| n + 1);
        return Some(conn[..end].into());
    }
    e.pid.map(|p| p.to_string().into())
}

fn scope_of(e: &ErrorEvent) -> Scope {
    if e.request().is_some() {
        Scope::Request
    } else if e.client().is_some()
        || e.request_id().is_some()
        || e.kind == Some(Kind::PhpError)
        || e.message().contains("said into stderr")
    {
        Scope::Script
    } else {
        Scope::Process
    }
}

/// Whether a record holds a PHP message (PHP's own log, or relayed by FPM, nginx, Apache).
fn is_php(msg: &str) -> bool {
    msg.contains("PHP ")
}

/// Whether a PHP message ends the request.
fn is_fatal(msg: &str) -> bool {
    msg.contains("Fatal error") || msg.contains("Parse error")
}

/// Which records are worth keeping: those a rule names a cause in (but never a PHP
/// deprecation), and, where there are responses to explain, those a server or PHP wrote at
/// error level or worse (a request's own line that names no cause must still keep another
/// request's line from explaining it), but only if the request path and the client they name,
/// where they name them, got a 5xx. Notices, warnings, deprecations and relayed PHP warnings
/// that no rule reads are counted, not kept; so is a scanner's flood of `open() failed` for
/// paths that answered 404, and a TLS handshake that failed for a client that got no 5xx.
#[derive(Clone, Debug, Default)]
pub struct Keep {
    /// Whether error-level records no rule reads are kept at all.
    own_lines: bool,
    /// The paths that answered 5xx (`None`: any).
    paths: Option<FxHashSet<Box<str>>>,
    /// The clients that got a 5xx (`None`: any): a record naming another client is no failed
    /// response's own.
    clients: Option<Clients>,
}

/// Client addresses: IPv6 ones as addresses (they have many spellings), others as written.
#[derive(Clone, Debug, Default)]
struct Clients {
    v6: FxHashSet<std::net::Ipv6Addr>,
    /// The last 16 bits of each of `v6`: an address whose last group is none of them is not
    /// among them, however it is spelled, and is turned away without being read whole.
    v6_last: FxHashSet<u16>,
    names: FxHashSet<Box<str>>,
    /// Whether a name has a `:` (an address `v6` could not read): then every spelling with
    /// one is looked up as written too.
    names_with_colon: bool,
}

impl Clients {
    fn insert(&mut self, client: &str) {
        match v6(client) {
            Some(ip) => {
                self.v6_last.insert(ip.segments()[7]);
                self.v6.insert(ip);
            }
            None => {
                self.names_with_colon |= client.contains(':');
                self.names.insert(client.into());
            }
        }
    }

    fn contains(&self, client: &str) -> bool {
        if !self.names_with_colon
            && last_group(client).is_some_and(|last| !self.v6_last.contains(&last))
        {
            return false;
        }
        match v6(client) {
            Some(ip) => self.v6.contains(&ip),
            None => self.names.contains(client),
        }
    }
}

/// The last group of an IPv6 address as written (`0` for one ending in `::`), where it is
/// plain hex: `None` for no `:` or an IPv4 tail (`::ffff:192.0.2.1`), which are read whole.
fn last_group(client: &str) -> Option<u16> {
    let last = &client.as_bytes()[memchr::memrchr(b':', client.as_bytes())? + 1..];
    if last.len() > 4 {
        return None;
    }
    // Plain hex digits only (`from_str_radix` would take a sign too).
    last.iter().try_fold(0u16, |n, &c| {
        let digit = (c as char).to_digit(16)?;
        Some(n << 4 | digit as u16)
    })
}

/// An address with a `:` in it, read as one (see [`identity::client_key`]).
fn v6(client: &str) -> Option<std::net::Ipv6Addr> {
    client.contains(':').then(|| client.parse().ok()).flatten()
}

impl Keep {
    /// Only records a rule names a cause in: there is no response for a line to be own to.
    pub fn classified() -> Keep {
        Keep::default()
    }

    /// Also error-level records, of the requests for these 5xx paths from these clients
    /// (a client the access log leaves blank or `-` stands for any).
    pub fn own_lines_of<'p>(
        paths: impl IntoIterator<Item = &'p str>,
        clients: impl IntoIterator<Item = &'p str>,
    ) -> Keep {
        let (mut set, mut any_client) = (Clients::default(), false);
        for c in clients {
            any_client |= c.is_empty() || c == "-";
            set.insert(c);
        }
        // Each path once before it is copied: a burst of 5xx asks for a few paths many times.
        let paths: FxHashSet<&str> = paths.into_iter().collect();
        Keep {
            own_lines: true,
            paths: Some(paths.into_iter().map(Into::into).collect()),
            clients: (!any_client).then_some(set),
        }
    }

    /// Also every error-level record.
    pub fn all() -> Keep {
        Keep {
            own_lines: true,
            paths: None,
            clients: None,
        }
    }

    /// Whether a parsed record is kept (`verdict`: a rule names a cause in it).
    fn event(&self, e: &ErrorEvent, verdict: bool) -> bool {
        if e.kind == Some(Kind::PhpError) && e.level() == "Deprecated" {
            return false;
        }
        verdict
            || (self.own_lines
                && is_error_level(e)
                && !relays_minor_php(e.message())
                && e.request()
                    .is_none_or(|r| self.path_answered_5xx(request_path(r.as_bytes())))
                && e.client().is_none_or(|c| self.client_got_5xx(c)))
    }

    fn path_answered_5xx(&self, path: &[u8]) -> bool {
        match &self.paths {
            None => true,
            Some(paths) => std::str::from_utf8(path).is_ok_and(|p| paths.contains(p)),
        }
    }

    fn client_got_5xx(&self, client: &str) -> bool {
        match &self.clients {
            None => true,
            Some(clients) => client.is_empty() || clients.contains(client),
        }
    }

    /// The part of a raw record the rule table reads (the message, and the header before it),
    /// or `None` for a record never kept: a PHP deprecation.
    pub fn rule_text<'r>(&self, record: &'r [u8], format: ErrorFormat) -> Option<&'r [u8]> {
        match format {
            ErrorFormat::Php if is_deprecation(record) => None,
            ErrorFormat::Nginx => Some(&record[..nginx_error::message_end(record)]),
            _ => Some(record),
        }
    }

    /// Whether a raw record may be kept, decided from its bytes without building it: a
    /// superset of what [`Keep::event`] keeps. `near`: where the rule table's prefilter found
    /// literals in `part`, the record's [`Keep::rule_text`] (which must be `Some`), as
    /// [`Rules::may_classify`] takes it.
    pub fn raw(
        &self,
        record: &[u8],
        part: &[u8],
        format: ErrorFormat,
        rules: &Rules,
        near: Option<&[usize]>,
        memos: &mut Memos,
    ) -> bool {
        // No literal found: no rule reads it (the common case, decided before anything else).
        let may_classify = !near.is_some_and(<[usize]>::is_empty)
            && match format.message_start(part) {
                Some(at) => rules.may_classify_message(part, at, format.kind(), near, memos),
                None => rules.may_classify(part, format.kind(), near),
            };
        if may_classify {
            return true;
        }
        // The cheap tests first: the level, then the path and client, then a search for
        // PHP's levels.
        self.own_lines
            && format.is_error_level(record)
            && self.names_a_5xx(record, part, format)
            && !relays_minor_php(record)
    }

    /// Whether a raw record's request and client (where it names them, plainly) may be those
    /// of a 5xx. nginx names them in the fields after the message, the only place searched.
    fn names_a_5xx(&self, record: &[u8], part: &[u8], format: ErrorFormat) -> bool {
        let fields = match format {
            ErrorFormat::Nginx => &record[part.len()..],
            _ => record,
        };
        // The client first: it needs no search, and few clients got a 5xx.
        let client = (format == ErrorFormat::Nginx)
            .then(|| nginx_error::raw_client(fields))
            .flatten();
        let client_ok = match client.filter(|c| plain(c)).map(std::str::from_utf8) {
            Some(Ok(c)) => self.client_got_5xx(c),
            _ => true,
        };
        client_ok
            && match raw_request_path(fields) {
                Some(path) if plain(path) => self.path_answered_5xx(path),
                _ => true,
            }
    }
}

/// Whether a raw record of PHP's own log is a deprecation: PHP never fails a request for one,
/// whatever its text says, so none is kept (they are most of a busy site's PHP log).
fn is_deprecation(record: &[u8]) -> bool {
    memchr::memchr(b']', record)
        .and_then(|at| record.get(at + 1..))
        .is_some_and(|rest| {
            let rest = rest.strip_prefix(b" ").unwrap_or(rest);
            rest.starts_with(b"PHP Deprecated:")
        })
}

/// The path of the request a raw record names (nginx's `request: "GET /x?y HTTP/1.1"` as the
/// last field, PHP-FPM's `(request: "GET /x")`), as the parsers would read it.
fn raw_request_path(record: &[u8]) -> Option<&[u8]> {
    static REQUEST: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"request: \""));
    let at = REQUEST.find_iter(record).last()?;
    let value = &record[at + 10..];
    let end = memchr::memchr(b'"', value).unwrap_or(value.len());
    Some(request_path(&value[..end]))
}

/// Whether raw bytes read the same once cleaned (printable ASCII): where they do not, only the
/// built record can tell.
fn plain(b: &[u8]) -> bool {
    b.iter().all(|c| (0x21..0x7f).contains(c))
}

/// Whether a message only relays PHP notices, warnings or deprecations: nginx and Apache log
/// every PHP message they relay at error level, whatever PHP's own level was. Works on raw
/// records too, so the reader can pass them over unbuilt.
pub fn relays_minor_php(msg: impl AsRef<[u8]>) -> bool {
    static LEVELS: std::sync::LazyLock<aho_corasick::AhoCorasick> =
        std::sync::LazyLock::new(|| {
            aho_corasick::AhoCorasick::new([
                "PHP Warning:",
                "PHP Notice:",
                "PHP Deprecated:",
                "PHP Strict Standards:",
                "Fatal error",
                "Parse error",
            ])
            .expect("literals compile")
        });
    let mut minor = false;
    for m in LEVELS.find_iter(msg.as_ref()) {
        if m.pattern().as_usize() >= 4 {
            return false;
        }
        minor = true;
    }
    minor
}

/// Error level or worse, in each log's own words (Apache's `[module:level]` too).
fn is_error_level(e: &ErrorEvent) -> bool {
    let level = e.level();
    let level = level.rsplit(':').next().unwrap_or(level);
    crate::formats::detect::is_error_word(level.as_bytes())
}

/// Groups one input's records into units, in log order: hand it every record kept, take the
/// units it completes.
#[derive(Default)]
pub struct Grouper {
    open: Option<Unit>,
    memos: Memos,
}

impl Grouper {
    /// Takes the next record of the input; returns the unit it completes, if any. Records not
    /// worth keeping are passed over: they neither join a unit nor end one.
    pub fn push(&mut self, e: &ErrorEvent, rules: &Rules, keep: &Keep) -> Option<Unit> {
        let unit = Unit::of(e, rules, keep, None, &mut self.memos)?;
        self.push_unit(unit)
    }

    /// [`Grouper::push`] for a record already made a unit (by a parser thread).
    pub fn push_unit(&mut self, next: Unit) -> Option<Unit> {
        match &mut self.open {
            Some(open) if open.joins(&next) => {
                open.absorb(next);
                None
            }
            open => open.replace(next),
        }
    }

    /// The unit still open, at the end of the input.
    pub fn finish(&mut self) -> Option<Unit> {
        self.open.take()
    }
}

/// Every unit of a list of records (in (input, log) order), each input grouped on its own.
pub fn units_of<'e>(
    records: impl IntoIterator<Item = &'e ErrorEvent>,
    rules: &Rules,
    keep: &Keep,
) -> Vec<Unit> {
    let mut out = Vec::new();
    let mut groupers: Vec<Grouper> = Vec::new();
    for e in records {
        if groupers.len() <= e.input {
            groupers.resize_with(e.input + 1, Grouper::default);
        }
        out.extend(groupers[e.input].push(e, rules, keep));
    }
    out.extend(groupers.iter_mut().filter_map(Grouper::finish));
    out.sort_by_key(|u| (u.ms(), u.at()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::tz::TimeZone;

    fn php_log(text: &str) -> Vec<ErrorEvent> {
        let mut records = crate::scan::ErrorRecords::new(crate::formats::detect::ErrorFormat::Php);
        let mut out = Vec::new();
        let mut keep = |r: &[u8], line: u64| {
            let mut e = crate::formats::php::parse_php_error(r, &TimeZone::UTC).unwrap();
            e.line = line;
            out.push(e);
        };
        for line in text.lines() {
            records.push(line.as_bytes(), &mut keep);
        }
        records.flush(&mut keep);
        out
    }

    #[test]
    fn a_warning_and_the_fatal_it_leads_to_are_one_failure_even_without_a_file() {
        // As PHP-FPM writes it when the requested script cannot be opened (lab, chmod 000).
        let records = php_log(
            "[25-Nov-2026 10:00:00 UTC] PHP Warning:  Unknown: Failed to open stream: Permission denied in Unknown on line 0\n\
             [25-Nov-2026 10:00:00 UTC] PHP Fatal error:  Failed opening required '/srv/blog/secret.php' (include_path='.:/usr/share/php') in Unknown on line 0\n\
             [25-Nov-2026 10:00:00 UTC] PHP Fatal error:  Allowed memory size of 2097152 bytes exhausted in /srv/shop/mem.php on line 3\n",
        );
        let units = units_of(&records, Rules::builtin(), &Keep::all());
        assert_eq!(units.len(), 2, "{units:#?}");
        let first = &units[0];
        assert_eq!(first.records.len(), 2);
        assert_eq!(first.verdict.as_ref().unwrap().cause, "file_permissions");
        assert!(first.files.iter().any(|f| &**f == "/srv/blog/secret.php"));
        assert_eq!(units[1].verdict.as_ref().unwrap().cause, "php_memory_limit");
        assert_eq!(units[1].records[0].line, 3);
    }

    #[test]
    fn a_script_that_could_not_be_opened_ends_its_request() {
        // Overlap lab: FPM refuses an unreadable requested script (a 403); the fatal error
        // right after it is another request's, about another script.
        let records = php_log(
            "[07-Dec-2026 04:56:13 UTC] PHP Warning:  PHP Request Startup: Failed to open stream: Permission denied in Unknown on line 0\n\
             [07-Dec-2026 04:56:13 UTC] PHP Fatal error:  Uncaught mysqli_sql_exception: MySQL server has gone away in /srv/lab/www/blog/db.php:11\n",
        );
        let units = units_of(&records, Rules::builtin(), &Keep::all());
        assert_eq!(units.len(), 2, "{units:#?}");
        assert_eq!(units[1].verdict.as_ref().unwrap().cause, "db_unreachable");
    }

    #[test]
    fn only_lines_a_failed_response_could_own_are_kept() {
        let keep = Keep::own_lines_of(["/cart"], ["203.0.113.9", "2001:db8::1"]);
        let nginx = ErrorFormat::Nginx;
        let kept = |record: &str| {
            let raw = record.as_bytes();
            let part = keep.rule_text(raw, nginx).unwrap();
            let e = nginx.parse(raw, &TimeZone::UTC).unwrap();
            let event = keep.event(&e, false);
            assert!(
                keep.raw(
                    raw,
                    part,
                    nginx,
                    Rules::builtin(),
                    Some(&[]),
                    &mut Memos::default()
                ) || !event,
                "the raw test keeps what the parsed one keeps: {record}"
            );
            event
        };
        let line = |client: &str, path: &str| {
            format!(
                "2026/03/02 00:05:11 [error] 9#9: *4 access forbidden by rule, client: {client}, server: x, request: \"GET {path} HTTP/1.1\", host: \"x\""
            )
        };
        assert!(kept(&line("203.0.113.9", "/cart")));
        // The same address spelled otherwise.
        assert!(kept(&line("2001:0db8:0:0::1", "/cart?x=1")));
        assert!(!kept(&line("198.51.100.7", "/cart")), "another client");
        assert!(!kept(&line("203.0.113.9", "/other")), "another path");
        // No request: a handshake that failed, from a client that got no 5xx.
        assert!(!kept(
            "2026/03/02 00:05:11 [crit] 9#9: *5 SSL_do_handshake() failed (SSL: error:0A00006C:SSL routines::bad key share) while SSL handshaking, client: 198.51.100.7, server: 0.0.0.0:443"
        ));
        // An access log without clients: any client may be a 5xx's.
        let any = Keep::own_lines_of(["/cart"], ["-"]);
        assert!(any.client_got_5xx("198.51.100.7"));
    }

    #[test]
    fn an_ipv6_client_is_found_in_any_spelling_and_others_are_turned_away() {
        let keep = Keep::own_lines_of(["/"], ["2001:db8::1", "2001:db8::", "::ffff:192.0.2.1"]);
        for spelled in [
            "2001:db8::1",
            "2001:DB8:0:0:0:0:0:0001",
            "2001:db8::0:0",
            "2001:db8::",
        ] {
            assert!(keep.client_got_5xx(spelled), "{spelled}");
        }
        assert!(
            keep.client_got_5xx("::ffff:c000:201"),
            "the IPv4 tail in hex"
        );
        for other in [
            "2001:db8::2",
            "2001:db8::1:0",
            "2001:db8::+1",
            "fe80::1%eth0",
            "x:",
        ] {
            assert!(!keep.client_got_5xx(other), "{other}");
        }
        // A client the access log wrote with a `:` that is no address is looked up as written.
        let odd = Keep::own_lines_of(["/"], ["unix:"]);
        assert!(odd.client_got_5xx("unix:"));
        assert!(!odd.client_got_5xx("unix:x"));
    }

    #[test]
    fn where_php_says_a_message_comes_from() {
        assert_eq!(origin_of("x in /srv/a.php on line 3"), Some("/srv/a.php"));
        assert_eq!(
            origin_of("Uncaught E: y in /srv/a1.php:12\nStack"),
            Some("/srv/a1.php")
        );
        assert_eq!(
            origin_of("in Unknown on line 0"),
            None,
            "no space before `in`"
        );
        assert_eq!(origin_of("x in Unknown on line 0"), Some("Unknown"));
        assert_eq!(origin_of("x in a:1:2"), Some("a"));
        assert_eq!(origin_of("x in /a.php on line"), None);
    }

    #[test]
    fn a_header_cut_inside_a_character_does_not_panic() {
        let line = format!(
            "[25-Nov-2026 10:00:00 UTC] PHP Fatal error:  {}x in /a.php on line 1\n",
            "é".repeat(60)
        );
        let units = units_of(&php_log(&line), Rules::builtin(), &Keep::all());
        assert_eq!(units.len(), 1);
    }

    #[test]
    fn records_of_two_scripts_are_two_failures() {
        let records = php_log(
            "[25-Nov-2026 10:00:00 UTC] PHP Warning:  file_put_contents(/srv/a/up/x): Failed to open stream: No space left on device in /srv/a/upload.php on line 4\n\
             [25-Nov-2026 10:00:00 UTC] PHP Warning:  require(/srv/b/lib/config.php): Failed to open stream: Permission denied in /srv/b/account.php on line 2\n",
        );
        let units = units_of(&records, Rules::builtin(), &Keep::all());
        assert_eq!(units.len(), 2);
    }
}
