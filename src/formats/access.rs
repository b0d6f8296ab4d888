//! Access logs: the Common Log Format family (`common`, `combined`, `vhost_combined`, each
//! also with extra fields appended), JSON lines (among them Cloudflare Logpush and Google
//! Cloud load balancer exports), HAProxy's HTTP log, custom formats given as an nginx
//! `log_format` or an Apache `LogFormat` string, W3C extended logs (IIS, CloudFront, in
//! [`super::w3c`]) and AWS load balancer logs (in [`super::aws`]).

use std::borrow::Cow;
use std::sync::Arc;

use memchr::memchr;
use serde_json::Value;

use super::aws::AwsLb;
use super::haproxy::{HaproxyFormat, Layout as HaproxyLayout};
use super::time::{ClfClock, parse_clf, parse_epoch, parse_epoch_units, parse_iso8601};
use super::w3c::{self, Layout};
use super::{AccessRecord, Stamp, split_url};

/// How the lines of one access log are laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccessFormat {
    /// `common`, `combined` or `vhost_combined`: one parser reads all three.
    Clf(ClfVariant),
    /// One JSON object per line.
    Json,
    /// A custom nginx `log_format`, given with `--access-format`.
    Custom(CustomFormat),
    /// HAProxy's HTTP log (`option httplog`).
    Haproxy(HaproxyFormat),
    /// JSON lines from Cloudflare Logpush (HTTP requests dataset): read like [`Json`](Self::Json).
    Cloudflare,
    /// JSON lines of Google Cloud HTTP(S) load balancer requests exported from Cloud Logging:
    /// read like [`Json`](Self::Json).
    GcpLb,
    /// W3C extended (IIS, CloudFront), in the column layout of the `#Fields:` line in effect.
    W3c(Arc<Layout>),
    /// An AWS load balancer's access log.
    Aws(AwsLb),
    /// uWSGI's request lines, in its own log (times read in the zone given).
    Uwsgi(jiff::tz::TimeZone),
}

/// A line of an access log that is not a request but says how to read the lines after it.
#[derive(Debug, PartialEq, Eq)]
pub enum FormatDirective {
    /// The lines after it are in this format (a W3C `#Fields:` line).
    Format(AccessFormat),
    /// Nothing to read (another W3C directive).
    Other,
}

/// Which member of the CLF family a file is, for the `format` field of `inputs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClfVariant {
    Common,
    Combined,
    VhostCombined,
}

impl AccessFormat {
    /// The name reported in `inputs[].format`.
    pub fn name(&self) -> &'static str {
        match self {
            AccessFormat::Clf(ClfVariant::Common) => "common",
            AccessFormat::Clf(ClfVariant::Combined) => "combined",
            AccessFormat::Clf(ClfVariant::VhostCombined) => "vhost_combined",
            AccessFormat::Json => "json",
            AccessFormat::Custom(_) => "custom",
            AccessFormat::Haproxy(_) => "haproxy",
            AccessFormat::Cloudflare => "cloudflare",
            AccessFormat::GcpLb => "gcp_lb",
            AccessFormat::W3c(layout) => layout.name(),
            AccessFormat::Aws(lb) => lb.name(),
            AccessFormat::Uwsgi(_) => "uwsgi_requests",
        }
    }

    /// The format with its times read in `tz` where its lines write no zone (HAProxy's);
    /// detection reads them in UTC, which decides nothing but the time.
    pub fn in_zone(self, tz: &jiff::tz::TimeZone) -> AccessFormat {
        match self {
            AccessFormat::Haproxy(f) => AccessFormat::Haproxy(f.in_zone(tz.clone())),
            AccessFormat::Uwsgi(_) => AccessFormat::Uwsgi(tz.clone()),
            other => other,
        }
    }

    /// Whether lines of the format named `name` are stamped when the request arrived, not
    /// when it was answered, whichever server wrote them (HAProxy's accept date, classic
    /// ELB's `timestamp`, Cloudflare's `EdgeStartTimestamp`).
    pub fn stamps_start(name: &str) -> bool {
        matches!(name, "haproxy" | "elb" | "cloudflare" | "uwsgi_requests")
    }

    /// Whether lines of the format named `name` are only ever an application server's own
    /// record of the requests a proxy passed it, whose clients are the proxy's (uWSGI writes
    /// the `REMOTE_ADDR` the proxy sends): the same requests' second hop wherever another
    /// access log has them too ([`super::hop`]).
    pub fn is_hop(name: &str) -> bool {
        name == "uwsgi_requests"
    }

    /// The time and status of one line (without its newline); `None` if it is not of this
    /// format. Accepts exactly the lines [`parse`](Self::parse) accepts, for less work.
    pub fn head(&self, line: &[u8], clock: &mut ClfClock) -> Option<(Stamp, u16)> {
        match self {
            AccessFormat::Clf(_) => clf_head(line, clock),
            AccessFormat::Haproxy(f) => f.head(line),
            AccessFormat::W3c(layout) => layout.head(line),
            AccessFormat::Aws(lb) => lb.head(line),
            _ => self.parse(line).map(|r| (r.time, r.status)),
        }
    }

    /// [`AccessFormat::head`] and, for a CLF-family line that names one, its virtual host
    /// (port off), from the same split.
    pub fn head_host<'l>(
        &self,
        line: &'l [u8],
        clock: &mut ClfClock,
    ) -> Option<(Stamp, u16, Option<&'l [u8]>)> {
        match self {
            AccessFormat::Clf(_) => clf_host_head(line, clock),
            _ => self
                .head(line, clock)
                .map(|(time, status)| (time, status, None)),
        }
    }

    /// Parses one line (without its newline); `None` if it is not of this format.
    pub fn parse<'a>(&self, line: &'a [u8]) -> Option<AccessRecord<'a>> {
        match self {
            AccessFormat::Clf(_) => parse_clf_line(line).map(|(r, _)| r),
            AccessFormat::Json | AccessFormat::Cloudflare | AccessFormat::GcpLb => {
                parse_json_line(line)
            }
            AccessFormat::Custom(f) => f.parse(line),
            AccessFormat::Haproxy(f) => f.parse(line),
            AccessFormat::W3c(layout) => layout.parse(line),
            AccessFormat::Aws(lb) => lb.parse(line),
            AccessFormat::Uwsgi(tz) => super::app::python::request_record(line, tz),
        }
    }

    /// What a line this format does not read as a request says, if it is a directive of it
    /// (only W3C logs have them). Asked only of lines [`head`](Self::head) did not read, so
    /// the other formats' lines never get here.
    pub fn directive(&self, line: &[u8]) -> Option<FormatDirective> {
        match self {
            AccessFormat::W3c(_) => Some(match w3c::directive(line)? {
                w3c::Directive::Fields(layout) => {
                    FormatDirective::Format(AccessFormat::W3c(layout))
                }
                w3c::Directive::Other => FormatDirective::Other,
            }),
            _ => None,
        }
    }

    /// Where directives in `block` change the format, and to what: the offset of the line
    /// after each (empty for the formats without directives, at no cost).
    pub fn changes(&self, block: &[u8]) -> Vec<(usize, AccessFormat)> {
        match self {
            AccessFormat::W3c(_) => w3c::layouts(block)
                .into_iter()
                .map(|(at, layout)| (at, AccessFormat::W3c(layout)))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The format the lines after `block` are in, where a directive in it changed it: the
    /// state a block hands to the next one, which another thread may parse.
    pub fn after(&self, block: &[u8]) -> Option<AccessFormat> {
        match self {
            AccessFormat::W3c(_) => w3c::last_layout(block).map(AccessFormat::W3c),
            _ => None,
        }
    }
}

/// The fixed skeleton of a CLF-family line: what stands before the `[time]`, the time, the
/// request line, the status, and the rest (size, referer, user agent, extra fields).
struct ClfParts<'a> {
    prefix: &'a [u8],
    /// How many fields `prefix` holds: 3, or 4 with the virtual host first.
    fields: usize,
    time: &'a [u8],
    request: &'a [u8],
    status: u16,
    rest: &'a [u8],
}

/// Splits a CLF-family line up to its status; `None` if it is not one. The part before the
/// time must hold three fields (`host ident user`) or four (`vhost:port` first).
fn split_clf(line: &[u8]) -> Option<ClfParts<'_>> {
    let open = memchr(b'[', line)?;
    let prefix = &line[..open];
    let fields = field_count(prefix);
    if !(3..=4).contains(&fields) {
        return None;
    }
    let rest = &line[open + 1..];
    // `dd/Mon/yyyy:hh:mm:ss +zzzz` is 26 bytes: look there before searching.
    let close = match rest.get(26) {
        Some(b']') => 26,
        _ => memchr(b']', rest)?,
    };
    let time = &rest[..close];
    let rest = rest[close + 1..].strip_prefix(b" \"")?;
    let (request, rest) = quoted(rest);
    let rest = rest.strip_prefix(b" ")?;
    let (status_tok, rest) = token(rest);
    Some(ClfParts {
        prefix,
        fields,
        time,
        request,
        status: parse_status(status_tok)?,
        rest,
    })
}

/// How many space-separated fields `b` holds (a plain loop: the prefix is a few dozen bytes,
/// and this runs once per line).
fn field_count(b: &[u8]) -> usize {
    let mut count = 0;
    let mut in_field = false;
    for &c in b {
        let starts = c != b' ' && !in_field;
        count += usize::from(starts);
        in_field = c != b' ';
    }
    count
}

/// The time and status of a CLF-family line, without reading the rest: most lines are not
/// 5xx, and counting them is all they need.
fn clf_head(line: &[u8], clock: &mut ClfClock) -> Option<(Stamp, u16)> {
    let parts = split_clf(line)?;
    Some((clock.parse(parts.time)?, parts.status))
}

/// [`clf_head`] and the virtual host, where the line has one (`vhost_combined`: four fields
/// before the time, the first `host:port`), its port taken off; for counting requests per
/// host without parsing the rest of the line.
pub fn clf_host_head<'l>(
    line: &'l [u8],
    clock: &mut ClfClock,
) -> Option<(Stamp, u16, Option<&'l [u8]>)> {
    let parts = split_clf(line)?;
    let vhost = (parts.fields == 4).then(|| {
        let prefix = parts.prefix.trim_ascii_start();
        strip_port(&prefix[..memchr(b' ', prefix).unwrap_or(prefix.len())])
    });
    Some((clock.parse(parts.time)?, parts.status, vhost))
}

/// Parses a CLF-family line and says which variant it is.
pub fn parse_clf_line(line: &[u8]) -> Option<(AccessRecord<'_>, ClfVariant)> {
    let parts = split_clf(line)?;
    let time = parse_clf(parts.time)?;
    let mut fields = parts.prefix.split(|&b| b == b' ').filter(|t| !t.is_empty());
    let first = fields.next()?;
    let (vhost, client) = match parts.fields {
        3 => (None, first),
        _ => (Some(first), fields.next()?),
    };
    let rest = parts.rest;
    let (_bytes, rest) = token(rest.strip_prefix(b" ").unwrap_or(rest));
    let (user_agent, has_ua) = match rest.strip_prefix(b" \"") {
        Some(r) => {
            let (_referer, r) = quoted(r);
            match r.strip_prefix(b" \"") {
                Some(r) => (quoted(r).0, true),
                None => (&b""[..], false),
            }
        }
        None => (&b""[..], false),
    };
    let variant = match (vhost.is_some(), has_ua) {
        (true, _) => ClfVariant::VhostCombined,
        (false, true) => ClfVariant::Combined,
        (false, false) => ClfVariant::Common,
    };
    let record = AccessRecord {
        time,
        client: Cow::Borrowed(client),
        vhost: vhost.map(|v| Cow::Borrowed(strip_port(v))),
        request: Cow::Borrowed(parts.request),
        status: parts.status,
        user_agent: Cow::Borrowed(user_agent),
        reason: None,
        request_id: None,
    };
    Some((record, variant))
}

/// A `host:port` without the port (IPv6 in brackets keeps its colons).
pub(crate) fn strip_port(v: &[u8]) -> &[u8] {
    match memchr::memrchr(b':', v) {
        Some(i) if v[i + 1..].iter().all(u8::is_ascii_digit) && !v.starts_with(b"[") => &v[..i],
        _ => v,
    }
}

/// The content of a quoted field whose opening quote is already consumed, and what follows
/// the closing quote. Backslash escapes (`\"`) are skipped over; an unterminated field runs
/// to the end of the line (real logs have those: a user agent cut off by a length limit).
pub(crate) fn quoted(b: &[u8]) -> (&[u8], &[u8]) {
    let mut i = 0;
    while let Some(j) = memchr::memchr2(b'"', b'\\', &b[i..]) {
        let at = i + j;
        if b[at] == b'\\' {
            i = at + 2;
            if i >= b.len() {
                break;
            }
            continue;
        }
        return (&b[..at], &b[at + 1..]);
    }
    (b, &[])
}

/// The bytes up to the next space, and the rest starting at that space.
fn token(b: &[u8]) -> (&[u8], &[u8]) {
    let end = memchr(b' ', b).unwrap_or(b.len());
    (&b[..end], &b[end..])
}

/// A three-digit HTTP status, or `000`: nginx's for a connection closed before any response.
pub fn parse_status(b: &[u8]) -> Option<u16> {
    match b {
        b"000" => Some(0),
        [a @ b'1'..=b'9', c, d] if c.is_ascii_digit() && d.is_ascii_digit() => {
            Some(u16::from(a - b'0') * 100 + u16::from(c - b'0') * 10 + u16::from(d - b'0'))
        }
        _ => None,
    }
}

/// Field names JSON access logs use for each thing we need, most common first (nginx
/// `escape=json` formats, Apache `mod_log_json`-style, Traefik, Caddy, Logstash).
pub const JSON_TIME: &[&str] = &[
    "time",
    "@timestamp",
    "timestamp",
    "time_iso8601",
    "time_local",
    "ts",
    "msec",
    "StartUTC",
];
pub const JSON_STATUS: &[&str] = &[
    "status",
    "status_code",
    "response_status",
    "DownstreamStatus",
    "code",
];
pub const JSON_CLIENT: &[&str] = &[
    "remote_addr",
    "client",
    "client_ip",
    "remote_ip",
    "ip",
    "ClientHost",
    "clientip",
];
pub const JSON_REQUEST: &[&str] = &["request", "request_line"];
pub const JSON_METHOD: &[&str] = &["method", "request_method", "RequestMethod", "verb"];
pub const JSON_PATH: &[&str] = &["request_uri", "uri", "path", "url", "RequestPath"];
pub const JSON_HOST: &[&str] = &["host", "vhost", "server_name", "http_host", "RequestHost"];
pub const JSON_UA: &[&str] = &[
    "http_user_agent",
    "user_agent",
    "agent",
    "useragent",
    "request_User-Agent",
];
/// Field names of cloud services' JSON exports (Cloudflare Logpush's HTTP requests, Cloud
/// Logging's `httpRequest`), tried after the usual ones: they cost nothing until those are
/// missing.
pub const CLOUD_TIME: &[&str] = &["EdgeStartTimestamp"];
pub const CLOUD_STATUS: &[&str] = &["EdgeResponseStatus"];
pub const CLOUD_CLIENT: &[&str] = &["ClientIP", "remoteIp"];
pub const CLOUD_METHOD: &[&str] = &["ClientRequestMethod", "requestMethod"];
pub const CLOUD_PATH: &[&str] = &["ClientRequestURI", "requestUrl"];
pub const CLOUD_HOST: &[&str] = &["ClientRequestHost"];
pub const CLOUD_UA: &[&str] = &["ClientRequestUserAgent", "userAgent"];

/// The names of one field: the usual ones, then the cloud exports'.
type Names = (&'static [&'static str], &'static [&'static str]);

/// Objects a record's request fields may be nested in: Caddy's `request`, Cloud Logging's
/// `httpRequest`.
const JSON_NESTED: &[&str] = &["request", "httpRequest"];

/// Parses a JSON-lines access record. Nested request objects (Caddy's `request`, Cloud
/// Logging's `httpRequest`) are looked into; an absolute URL as the path (`requestUrl`) gives
/// the host too.
pub fn parse_json_line(line: &[u8]) -> Option<AccessRecord<'static>> {
    let trimmed = line.trim_ascii();
    if !trimmed.starts_with(b"{") {
        return None;
    }
    let v: Value = serde_json::from_slice(trimmed).ok()?;
    let obj = v.as_object()?;
    let nested = JSON_NESTED
        .iter()
        .find_map(|n| obj.get(*n).and_then(Value::as_object));
    let get = |(usual, cloud): Names| -> Option<&Value> {
        usual
            .iter()
            .chain(cloud)
            .find_map(|n| obj.get(*n).or_else(|| nested.and_then(|o| o.get(*n))))
            .filter(|v| !v.is_object())
    };
    let text = |names: Names| -> Option<Vec<u8>> {
        get(names).map(|v| match v {
            Value::String(s) => s.as_bytes().to_vec(),
            other => other.to_string().into_bytes(),
        })
    };
    let status = match get((JSON_STATUS, CLOUD_STATUS))? {
        Value::Number(n) => u16::try_from(n.as_u64()?)
            .ok()
            .filter(|s| *s == 0 || (100..1000).contains(s))?,
        Value::String(s) => parse_status(s.as_bytes())?,
        _ => return None,
    };
    let time = json_time(get((JSON_TIME, CLOUD_TIME))?)?;
    let mut url_host = None;
    let request = match text((JSON_REQUEST, &[])) {
        Some(r) => r,
        None => {
            let mut r = text((JSON_METHOD, CLOUD_METHOD)).unwrap_or_else(|| b"-".to_vec());
            r.push(b' ');
            let path = text((JSON_PATH, CLOUD_PATH)).unwrap_or_else(|| b"-".to_vec());
            match split_url(&path) {
                Some((host, p)) => {
                    url_host = Some(strip_port(host).to_vec());
                    r.extend_from_slice(p);
                }
                None => r.extend(path),
            }
            r
        }
    };
    Some(AccessRecord {
        time,
        client: Cow::Owned(text((JSON_CLIENT, CLOUD_CLIENT)).unwrap_or_default()),
        vhost: text((JSON_HOST, CLOUD_HOST)).or(url_host).map(Cow::Owned),
        request: Cow::Owned(request),
        status,
        user_agent: Cow::Owned(text((JSON_UA, CLOUD_UA)).unwrap_or_default()),
        reason: (status >= 500)
            .then(|| json_reason(obj, status))
            .flatten()
            .map(Cow::Owned),
        request_id: None,
    })
}

/// Why a JSON record says its request failed, where its format says: Google Cloud's
/// `jsonPayload.statusDetails` (`statusDetails=failed_to_connect_to_backend`), or Cloudflare's
/// edge status with the origin's where logged (`EdgeResponseStatus=522
/// OriginResponseStatus=0`: Cloudflare's own 52x codes say what went wrong with the origin),
/// in the format's own field names.
fn json_reason(obj: &serde_json::Map<String, Value>, status: u16) -> Option<Vec<u8>> {
    let details = obj
        .get("jsonPayload")
        .and_then(|p| p.get("statusDetails"))
        .and_then(Value::as_str);
    if let Some(d) = details {
        return Some(format!("statusDetails={d}").into_bytes());
    }
    if !obj.contains_key("EdgeResponseStatus") {
        return None;
    }
    let mut reason = format!("EdgeResponseStatus={status}");
    if let Some(origin) = obj.get("OriginResponseStatus").and_then(Value::as_u64) {
        reason.push_str(&format!(" OriginResponseStatus={origin}"));
    }
    Some(reason.into_bytes())
}

/// A JSON time value: RFC 3339, CLF (`$time_local`), or epoch seconds as number or string.
fn json_time(v: &Value) -> Option<Stamp> {
    match v {
        Value::String(s) => {
            let b = s.as_bytes();
            parse_iso8601(b)
                .or_else(|| parse_clf(b))
                .or_else(|| parse_epoch(b))
        }
        Value::Number(n) => {
            // Seconds, or milli-, micro- or nanoseconds (Cloudflare's `unixnano`), told apart by
            // size: in seconds, 1e11 is the year 5138.
            let f = n.as_f64()?;
            let divisor = [1e9, 1e6, 1e3]
                .into_iter()
                .find(|d| f > 1e8 * d)
                .unwrap_or(1.0);
            let secs = f / divisor;
            parse_epoch(format!("{secs:.3}").as_bytes())
        }
        _ => None,
    }
}

/// A compiled custom format, given with `--access-format` as an nginx `log_format` or an Apache
/// `LogFormat` string: literal text and fields, in order. Both syntaxes compile into the same
/// parts, read by one parser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomFormat {
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(Vec<u8>),
    Var(Field),
}

/// What a variable or directive means to us; those we do not need are skipped over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Client,
    TimeLocal,
    TimeIso,
    /// Seconds since the epoch, with a fraction or not (`$msec`, `%{sec}t`).
    Epoch,
    /// Milliseconds or microseconds since the epoch, as an integer (`%{msec}t`, `%{usec}t`):
    /// the number of sub-second digits.
    EpochUnits(usize),
    Request,
    Method,
    Uri,
    Status,
    Host,
    UserAgent,
    /// The request's id (`$request_id`, the `X-Request-ID` header): what ties it to the
    /// application's records of it.
    RequestId,
    Other,
}

/// Error from compiling a `--access-format` string.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("access format has no {0}")]
    Missing(&'static str),
    #[error("access format has two fields with nothing between them: {0}")]
    Adjacent(String),
    #[error("access format has `{0}` without its closing `}}`")]
    Unclosed(String),
    #[error(
        "`{0}` is neither a format's name ({names}) nor an nginx log_format or Apache LogFormat string",
        names = names()
    )]
    Unknown(String),
    #[error("access format has `{0}`, which is not an Apache LogFormat directive")]
    Directive(String),
    #[error(
        "access format has `%{{{0}}}t`: the time formats read are %t, %{{sec}}t, %{{msec}}t, %{{usec}}t, %{{%d/%b/%Y:%H:%M:%S %z}}t and %{{%Y-%m-%dT%H:%M:%S%z}}t"
    )]
    TimeFormat(String),
}

/// The parts of a format as they are compiled: text is gathered into literals, and a field
/// must follow a literal (two fields in a row could not be told apart).
#[derive(Default)]
struct PartsBuilder {
    parts: Vec<Part>,
    literal: Vec<u8>,
}

impl PartsBuilder {
    fn text(&mut self, b: &[u8]) {
        self.literal.extend_from_slice(b);
    }

    /// Adds a field; `name` is how the format spelled it, for the error.
    fn field(&mut self, field: Field, name: &str) -> Result<(), FormatError> {
        if !self.literal.is_empty() {
            self.parts
                .push(Part::Literal(std::mem::take(&mut self.literal)));
        }
        if let Some(Part::Var(_)) = self.parts.last() {
            return Err(FormatError::Adjacent(name.to_owned()));
        }
        self.parts.push(Part::Var(field));
        Ok(())
    }

    /// The format, if it has a status and a time; `syntax` says how to spell them.
    fn finish(mut self, syntax: Syntax) -> Result<CustomFormat, FormatError> {
        if !self.literal.is_empty() {
            self.parts.push(Part::Literal(self.literal));
        }
        let has = |f: &dyn Fn(Field) -> bool| {
            self.parts
                .iter()
                .any(|p| matches!(p, Part::Var(v) if f(*v)))
        };
        let (status, time) = match syntax {
            Syntax::Nginx => (
                "$status",
                "time variable (needs $status and one of $time_local, $time_iso8601, $msec)",
            ),
            Syntax::Apache => ("%>s", "time directive (needs %>s and %t or %{…}t)"),
        };
        if !has(&|f| f == Field::Status) {
            return Err(FormatError::Missing(status));
        }
        let is_time = |f| {
            matches!(
                f,
                Field::TimeLocal | Field::TimeIso | Field::Epoch | Field::EpochUnits(_)
            )
        };
        if !has(&is_time) {
            return Err(FormatError::Missing(time));
        }
        Ok(CustomFormat { parts: self.parts })
    }
}

/// Which syntax a custom format string is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Syntax {
    Nginx,
    Apache,
}

impl Syntax {
    /// nginx's if the string has a `$variable`, else Apache's if it has a `%` directive.
    fn of(spec: &str) -> Syntax {
        let b = spec.as_bytes();
        let nginx = memchr::memchr_iter(b'$', b).any(|i| {
            b.get(i + 1)
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_' || *c == b'{')
        });
        if !nginx && memchr(b'%', b).is_some() {
            Syntax::Apache
        } else {
            Syntax::Nginx
        }
    }
}

/// The formats `--access-format` takes by name: their `inputs[].format` names (HAProxy's CLF
/// layout, reported as `haproxy` too, is `haproxy_clf` here; W3C in IIS's default columns).
const NAMED: [(&str, MakeFormat); 11] = [
    ("combined", || AccessFormat::Clf(ClfVariant::Combined)),
    ("common", || AccessFormat::Clf(ClfVariant::Common)),
    ("vhost_combined", || {
        AccessFormat::Clf(ClfVariant::VhostCombined)
    }),
    ("json", || AccessFormat::Json),
    ("haproxy", || {
        AccessFormat::Haproxy(HaproxyFormat::new(HaproxyLayout::Http))
    }),
    ("haproxy_clf", || {
        AccessFormat::Haproxy(HaproxyFormat::new(HaproxyLayout::Clf))
    }),
    ("w3c", || AccessFormat::W3c(Layout::iis_default())),
    ("alb", || AccessFormat::Aws(AwsLb::Alb)),
    ("elb", || AccessFormat::Aws(AwsLb::Elb)),
    ("cloudflare", || AccessFormat::Cloudflare),
    ("gcp_lb", || AccessFormat::GcpLb),
];

type MakeFormat = fn() -> AccessFormat;

/// The names `--access-format` takes, for its error message.
fn names() -> String {
    NAMED.map(|(name, _)| name).join(", ")
}

impl AccessFormat {
    /// What `--access-format` names: a built-in format by its `inputs[].format` name, for a log
    /// detection cannot tell (a few lines, or lines more than one format reads), else an nginx
    /// `log_format` or Apache `LogFormat` string ([`CustomFormat::compile`]).
    pub fn from_flag(spec: &str) -> Result<AccessFormat, FormatError> {
        let name = spec.trim();
        match NAMED.iter().find(|(n, _)| *n == name) {
            Some((_, format)) => Ok(format()),
            None if !name.contains(['$', '%']) => Err(FormatError::Unknown(name.to_owned())),
            None => CustomFormat::compile(spec).map(AccessFormat::Custom),
        }
    }
}

impl CustomFormat {
    /// Compiles an nginx `log_format` string such as
    /// `'$remote_addr [$time_local] "$request" $status $request_time'`, or an Apache
    /// `LogFormat` string such as `%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"`
    /// (told apart by their `$variables` and `%` directives).
    pub fn compile(spec: &str) -> Result<CustomFormat, FormatError> {
        match Syntax::of(spec) {
            Syntax::Nginx => compile_nginx(spec),
            Syntax::Apache => compile_apache(spec),
        }
    }

    /// Parses one line; `None` if the literals do not line up or a needed field is bad.
    pub fn parse<'a>(&self, line: &'a [u8]) -> Option<AccessRecord<'a>> {
        let mut rest = line;
        let mut rec = AccessRecord {
            time: Stamp { ms: 0, offset: 0 },
            client: Cow::Borrowed(b""),
            vhost: None,
            request: Cow::Borrowed(b""),
            status: 0,
            user_agent: Cow::Borrowed(b""),
            reason: None,
            request_id: None,
        };
        let (mut method, mut uri) = (None, None);
        let mut have_time = false;
        for (k, part) in self.parts.iter().enumerate() {
            match part {
                Part::Literal(lit) => rest = rest.strip_prefix(lit.as_slice())?,
                Part::Var(field) => {
                    let value = match self.parts.get(k + 1) {
                        Some(Part::Literal(next)) => {
                            let at = memchr::memmem::find(rest, next)?;
                            &rest[..at]
                        }
                        _ => rest,
                    };
                    rest = &rest[value.len()..];
                    match field {
                        Field::Client => rec.client = Cow::Borrowed(value),
                        Field::TimeLocal => rec.time = parse_clf(value)?,
                        Field::TimeIso => rec.time = parse_iso8601(value)?,
                        Field::Epoch => rec.time = parse_epoch(value)?,
                        Field::EpochUnits(digits) => rec.time = parse_epoch_units(value, *digits)?,
                        Field::Request => rec.request = Cow::Borrowed(value),
                        Field::Method => method = Some(value),
                        Field::Uri => uri = Some(value),
                        Field::Status => rec.status = parse_status(value)?,
                        Field::Host => rec.vhost = Some(Cow::Borrowed(strip_port(value))),
                        Field::UserAgent => rec.user_agent = Cow::Borrowed(value),
                        Field::RequestId => {
                            rec.request_id = (value != b"-").then_some(Cow::Borrowed(value));
                        }
                        Field::Other => {}
                    }
                    have_time |= matches!(
                        field,
                        Field::TimeLocal | Field::TimeIso | Field::Epoch | Field::EpochUnits(_)
                    );
                }
            }
        }
        if !have_time {
            return None;
        }
        if rec.request.is_empty() {
            let mut r = method.unwrap_or(b"-").to_vec();
            r.push(b' ');
            r.extend_from_slice(uri.unwrap_or(b"-"));
            rec.request = Cow::Owned(r);
        }
        Some(rec)
    }
}

/// Compiles an nginx `log_format` string: `$name` and `${name}` variables.
fn compile_nginx(spec: &str) -> Result<CustomFormat, FormatError> {
    let spec = spec.trim().trim_matches('\'');
    let mut parts = PartsBuilder::default();
    let b = spec.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let braced = b.get(i + 1) == Some(&b'{');
            let start = i + 1 + usize::from(braced);
            let len = b[start..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
            if len > 0 {
                let name = &spec[start..start + len];
                // `${host` would swallow the character after the name.
                if braced && b.get(start + len) != Some(&b'}') {
                    return Err(FormatError::Unclosed(format!("${{{name}")));
                }
                parts.field(nginx_field(name), &format!("${name}"))?;
                i = start + len + usize::from(braced);
                continue;
            }
        }
        parts.text(&b[i..=i]);
        i += 1;
    }
    parts.finish(Syntax::Nginx)
}

fn nginx_field(name: &str) -> Field {
    match name {
        "remote_addr" | "realip_remote_addr" | "http_x_forwarded_for" | "binary_remote_addr" => {
            Field::Client
        }
        "time_local" => Field::TimeLocal,
        "time_iso8601" => Field::TimeIso,
        "msec" => Field::Epoch,
        "request" => Field::Request,
        "request_method" => Field::Method,
        "request_uri" | "uri" | "document_uri" => Field::Uri,
        "status" => Field::Status,
        "host" | "http_host" | "server_name" => Field::Host,
        "http_user_agent" => Field::UserAgent,
        "request_id" | "http_x_request_id" => Field::RequestId,
        _ => Field::Other,
    }
}

/// Compiles an Apache `LogFormat` string (mod_log_config): `%` directives, with their
/// conditions (`%!200,304{…}i`), `<`/`>` (`%>s`) and `{argument}`; `%%` is a `%`, and the
/// backslash escapes of Apache's quoted strings (`\"`, `\\`, `\t`, `\n`) are read as such, so
/// the string can be copied from the configuration as it stands. `%t` is `[` the CLF time `]`.
fn compile_apache(spec: &str) -> Result<CustomFormat, FormatError> {
    let spec = spec.trim();
    let spec = spec
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(spec);
    let b = spec.as_bytes();
    let mut parts = PartsBuilder::default();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if i + 1 < b.len() => {
                let c = match b[i + 1] {
                    b't' => b'\t',
                    b'n' => b'\n',
                    c => c,
                };
                parts.text(&[c]);
                i += 2;
            }
            b'%' => {
                let (directive, next) = apache_directive(spec, i)?;
                add_apache(&mut parts, &directive)?;
                i = next;
            }
            _ => {
                parts.text(&b[i..=i]);
                i += 1;
            }
        }
    }
    parts.finish(Syntax::Apache)
}

/// One Apache directive as written (`%>s`, `%{User-Agent}i`): its letter and argument.
struct Directive<'s> {
    written: &'s str,
    arg: Option<&'s str>,
    letter: u8,
}

/// The directive starting at the `%` at `at`, and where the text after it starts.
fn apache_directive(spec: &str, at: usize) -> Result<(Directive<'_>, usize), FormatError> {
    let b = spec.as_bytes();
    let mut i = at + 1;
    // Conditions (`!200,304`) and which request of an internal redirect (`<`, `>`).
    while b
        .get(i)
        .is_some_and(|c| matches!(c, b'!' | b',' | b'<' | b'>') || c.is_ascii_digit())
    {
        i += 1;
    }
    let mut arg = None;
    if b.get(i) == Some(&b'{') {
        let close = spec[i..]
            .find('}')
            .ok_or_else(|| FormatError::Unclosed(spec[at..].to_owned()))?;
        arg = Some(&spec[i + 1..i + close]);
        i += close + 1;
    }
    match b.get(i) {
        Some(&letter) if letter.is_ascii_alphabetic() || letter == b'%' => Ok((
            Directive {
                written: &spec[at..=i],
                arg,
                letter,
            },
            i + 1,
        )),
        // What was written up to the character that is no directive (which may be any).
        _ => {
            let end = spec[i..].chars().next().map_or(i, |c| i + c.len_utf8());
            Err(FormatError::Directive(spec[at..end].to_owned()))
        }
    }
}

/// Adds what one directive stands for.
fn add_apache(parts: &mut PartsBuilder, d: &Directive) -> Result<(), FormatError> {
    let field = match (d.letter, d.arg) {
        (b'%', _) => {
            parts.text(b"%");
            return Ok(());
        }
        (b't', None) => {
            parts.text(b"[");
            parts.field(Field::TimeLocal, d.written)?;
            parts.text(b"]");
            return Ok(());
        }
        (b't', Some(arg)) => apache_time(arg)?,
        // `%U%q`: the path's value reads on through the query string, which is cut off later.
        (b'q', _)
            if parts.literal.is_empty() && parts.parts.last() == Some(&Part::Var(Field::Uri)) =>
        {
            return Ok(());
        }
        (b'h' | b'a', _) => Field::Client,
        (b'r', _) => Field::Request,
        (b'm', _) => Field::Method,
        (b'U', _) => Field::Uri,
        (b's', _) => Field::Status,
        (b'v' | b'V', _) => Field::Host,
        (b'i', Some(h)) if h.eq_ignore_ascii_case("user-agent") => Field::UserAgent,
        (b'i', Some(h)) if h.eq_ignore_ascii_case("host") => Field::Host,
        (b'i', Some(h)) if h.eq_ignore_ascii_case("x-forwarded-for") => Field::Client,
        (b'i', Some(h)) if h.eq_ignore_ascii_case("x-request-id") => Field::RequestId,
        _ => Field::Other,
    };
    parts.field(field, d.written)
}

/// The field of a `%{format}t` time: epoch counts, or the strftime formats that write the
/// CLF time or ISO 8601 (`begin:`/`end:` prefixes say which end of the request; either reads).
fn apache_time(arg: &str) -> Result<Field, FormatError> {
    let format = arg
        .strip_prefix("begin:")
        .or_else(|| arg.strip_prefix("end:"))
        .unwrap_or(arg);
    match format {
        "sec" => Ok(Field::Epoch),
        "msec" => Ok(Field::EpochUnits(3)),
        "usec" => Ok(Field::EpochUnits(6)),
        "%d/%b/%Y:%H:%M:%S %z" => Ok(Field::TimeLocal),
        "%Y-%m-%dT%H:%M:%S%z" | "%Y-%m-%d %H:%M:%S%z" | "%FT%T%z" => Ok(Field::TimeIso),
        _ => Err(FormatError::TimeFormat(arg.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMBINED: &[u8] = br#"127.0.0.1 - - [25/Nov/2026:14:00:03 +0000] "GET /mem.php?x=1 HTTP/1.1" 500 5 "-" "curl/8.0""#;

    #[test]
    fn clf_family() {
        let (r, v) = parse_clf_line(COMBINED).unwrap();
        assert_eq!(
            (v, r.status, r.path()),
            (ClfVariant::Combined, 500, &b"/mem.php"[..])
        );
        let common = br#"::1 - bob [25/Nov/2026:14:00:03 +0000] "GET / HTTP/1.0" 502 -"#;
        assert_eq!(parse_clf_line(common).unwrap().1, ClfVariant::Common);
        let vhost = br#"example.org:443 10.0.0.1 - - [25/Nov/2026:14:00:03 +0000] "GET / HTTP/1.1" 503 12 "-" "x" 1234"#;
        let (r, v) = parse_clf_line(vhost).unwrap();
        assert_eq!(
            (v, r.vhost.as_deref()),
            (ClfVariant::VhostCombined, Some(&b"example.org"[..]))
        );
        assert_eq!(&*r.client, b"10.0.0.1");
    }

    #[test]
    fn head_agrees_with_the_full_parse() {
        let mut clock = ClfClock::default();
        let lines: [&[u8]; 5] = [
            COMBINED,
            br#"::1 - bob [25/Nov/2026:14:00:03 +0000] "GET / HTTP/1.0" 502 -"#,
            br#"a b c d e [25/Nov/2026:14:00:03 +0000] "GET / HTTP/1.0" 502 -"#,
            br#"1.2.3.4 - - [26/Nov/2026:00:00:00 -0130] "GET / HTTP/1.0" 200 1"#,
            b"garbage",
        ];
        for line in lines {
            let full = parse_clf_line(line).map(|(r, _)| (r.time, r.status));
            assert_eq!(
                AccessFormat::Clf(ClfVariant::Combined).head(line, &mut clock),
                full
            );
        }
    }

    #[test]
    fn a_000_status_is_read_as_status_0() {
        let line = br#"10.0.0.1 - - [25/Nov/2026:14:00:03 +0000] "GET / HTTP/1.1" 000 0 "-" "-""#;
        assert_eq!(parse_clf_line(line).map(|(r, _)| r.status), Some(0));
        let json = br#"{"time":"2026-11-25T14:00:03+00:00","request":"GET / HTTP/1.1","status":0}"#;
        assert_eq!(parse_json_line(json).map(|r| r.status), Some(0));
        assert_eq!(parse_status(b"00"), None);
        assert_eq!(parse_status(b"099"), None);
    }

    #[test]
    fn clf_edge_cases() {
        let escaped = br#"1.2.3.4 - - [25/Nov/2026:14:00:03 +0000] "GET /\"a\" HTTP/1.1" 500 1 "-" "ua \"q\"""#;
        assert_eq!(parse_clf_line(escaped).unwrap().0.status, 500);
        let cut =
            br#"1.2.3.4 - - [25/Nov/2026:14:00:03 +0000] "GET / HTTP/1.1" 200 1 "-" "Googlebot"#;
        assert_eq!(&*parse_clf_line(cut).unwrap().0.user_agent, b"Googlebot");
        assert!(parse_clf_line(b"garbage [ here").is_none());
        assert!(parse_clf_line(br#"1 - - [25/Nov/2026:14:00:03 +0000] "GET /" abc 1"#).is_none());
    }

    #[test]
    fn json_lines() {
        let l = br#"{"time":"2026-11-25T14:00:03+00:00","remote_addr":"1.2.3.4","request":"GET /a HTTP/1.1","status":"502","http_user_agent":"x","host":"ex.org"}"#;
        let r = parse_json_line(l).unwrap();
        assert_eq!(
            (r.status, r.path(), r.vhost.as_deref()),
            (502, &b"/a"[..], Some(&b"ex.org"[..]))
        );
        let caddy = br#"{"ts":1764079203.5,"request":{"remote_ip":"1.2.3.4","method":"GET","uri":"/b"},"status":500}"#;
        assert_eq!(parse_json_line(caddy).unwrap().path(), b"/b");
        assert!(parse_json_line(b"{not json").is_none());
    }

    #[test]
    fn cloud_json_exports() {
        let cloudflare = br#"{"ClientIP":"192.0.2.1","ClientRequestHost":"ex.org","ClientRequestMethod":"GET","ClientRequestURI":"/a?b=1","EdgeResponseStatus":522,"OriginResponseStatus":0,"EdgeStartTimestamp":1764079203500000000,"ClientRequestUserAgent":"curl/8"}"#;
        let r = parse_json_line(cloudflare).unwrap();
        assert_eq!(
            (r.status, &*r.client, r.vhost.as_deref(), r.path()),
            (522, &b"192.0.2.1"[..], Some(&b"ex.org"[..]), &b"/a"[..])
        );
        assert_eq!(r.time.ms, 1_764_079_203_500);
        assert_eq!(
            r.reason.as_deref(),
            Some(&b"EdgeResponseStatus=522 OriginResponseStatus=0"[..])
        );
        let gcp = br#"{"httpRequest":{"requestMethod":"POST","requestUrl":"https://ex.org:443/r?x","status":504,"userAgent":"ua","remoteIp":"2001:db8::7"},"jsonPayload":{"statusDetails":"backend_timeout"},"timestamp":"2020-06-08T23:42:01.5Z"}"#;
        let r = parse_json_line(gcp).unwrap();
        assert_eq!(
            (r.status, &*r.request, r.vhost.as_deref(), &*r.client),
            (
                504,
                &b"POST /r?x"[..],
                Some(&b"ex.org"[..]),
                &b"2001:db8::7"[..]
            )
        );
        assert_eq!(
            r.reason.as_deref(),
            Some(&b"statusDetails=backend_timeout"[..])
        );
        // Only 5xx lines carry a reason; plain JSON lines never do.
        let ok = br#"{"httpRequest":{"status":200},"jsonPayload":{"statusDetails":"response_sent_by_backend"},"timestamp":"2020-06-08T23:42:01Z"}"#;
        assert_eq!(parse_json_line(ok).unwrap().reason, None);
        let plain =
            br#"{"time":"2026-11-25T14:00:03+00:00","request":"GET / HTTP/1.1","status":502}"#;
        assert_eq!(parse_json_line(plain).unwrap().reason, None);
    }

    #[test]
    fn formats_by_name() {
        for (name, _) in NAMED {
            let f = AccessFormat::from_flag(name).unwrap();
            // Each is the format detection names so (HAProxy's CLF layout is `haproxy` too).
            assert_eq!(f.name(), name.trim_end_matches("_clf"));
        }
        let line = br#"10.0.0.1 - - [25/Nov/2026:14:00:03 +0000] "GET /a HTTP/1.1" 502 0 "-" "x""#;
        assert_eq!(
            AccessFormat::from_flag("combined")
                .unwrap()
                .parse(line)
                .unwrap()
                .status,
            502
        );
        let e = AccessFormat::from_flag("nginx").unwrap_err().to_string();
        assert!(
            e.contains("`nginx` is neither") && e.contains("gcp_lb"),
            "{e}"
        );
        assert!(matches!(
            AccessFormat::from_flag("$remote_addr [$time_local] \"$request\" $status"),
            Ok(AccessFormat::Custom(_))
        ));
    }

    #[test]
    fn custom_nginx_format() {
        let f = CustomFormat::compile(
            r#"$remote_addr [$time_local] "$request" $status $request_time ${host}"#,
        )
        .unwrap();
        let r = f
            .parse(
                br#"1.2.3.4 [25/Nov/2026:14:00:03 +0000] "GET /x HTTP/1.1" 504 60.001 example.org"#,
            )
            .unwrap();
        assert_eq!(
            (r.status, r.vhost.as_deref()),
            (504, Some(&b"example.org"[..]))
        );
        assert!(CustomFormat::compile("$remote_addr $request").is_err());
        assert!(CustomFormat::compile("$status$time_local").is_err());
    }

    #[test]
    fn a_request_id_is_read_where_the_format_logs_one() {
        let nginx =
            CustomFormat::compile(r#"$remote_addr [$time_local] "$request" $status $request_id"#)
                .unwrap();
        let line = br#"1.2.3.4 [25/Nov/2026:14:00:03 +0000] "GET /x HTTP/1.1" 500 0abeda1355a24eec8cc124f2e9a2cd83"#;
        let id = nginx.parse(line).unwrap().request_id;
        assert_eq!(
            id.as_deref(),
            Some(&b"0abeda1355a24eec8cc124f2e9a2cd83"[..])
        );
        let unset = br#"1.2.3.4 [25/Nov/2026:14:00:03 +0000] "GET /x HTTP/1.1" 500 -"#;
        assert_eq!(nginx.parse(unset).unwrap().request_id, None);
        let apache = CustomFormat::compile(r#"%h %t \"%r\" %>s %{X-Request-ID}i"#).unwrap();
        let line = br#"1.2.3.4 [25/Nov/2026:14:00:03 +0000] "GET /x HTTP/1.1" 500 abc-1"#;
        assert_eq!(
            apache.parse(line).unwrap().request_id.as_deref(),
            Some(&b"abc-1"[..])
        );
    }

    #[test]
    fn unclosed_brace_is_an_error() {
        // Used to eat the space after `status` and report two adjacent variables.
        let e = CustomFormat::compile("${status $time_local").unwrap_err();
        assert_eq!(
            e.to_string(),
            "access format has `${status` without its closing `}`"
        );
        assert!(CustomFormat::compile("$time_local ${status").is_err());
        assert!(CustomFormat::compile("$time_local ${status} ${}").is_ok());
    }

    #[test]
    fn apache_logformat_strings_compile_into_the_same_parts() {
        let combined = CustomFormat::compile(
            r#"%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\""#,
        )
        .unwrap();
        let r = combined.parse(COMBINED).unwrap();
        assert_eq!(parse_clf_line(COMBINED).unwrap().0, r);
        // Copied with its quotes from the configuration, or written unescaped: the same.
        let quoted = CustomFormat::compile(
            r#""%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"""#,
        )
        .unwrap();
        assert_eq!(quoted, combined);
        let plain =
            CustomFormat::compile(r#"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i""#);
        assert_eq!(plain.unwrap(), combined);
    }

    #[test]
    fn apache_directives_hosts_times_and_conditions() {
        let f = CustomFormat::compile(
            r#"%v:%p %a %{%Y-%m-%dT%H:%M:%S%z}t "%m %U%q %H" %>s %D %T %!200,304{Host}i 100%%"#,
        )
        .unwrap();
        let r = f
            .parse(br#"shop.test:80 10.0.0.1 2026-12-07T10:00:01+0100 "GET /a.php?x=1 HTTP/1.1" 503 1200 0 shop.test:80 100%"#)
            .unwrap();
        assert_eq!(
            (r.status, &*r.client, r.vhost.as_deref(), r.path()),
            (
                503,
                &b"10.0.0.1"[..],
                Some(&b"shop.test"[..]),
                &b"/a.php"[..]
            )
        );
        assert_eq!(r.time.rfc3339(), "2026-12-07T10:00:01+01:00");
        let ms = CustomFormat::compile("%{msec}t %s %r").unwrap();
        let r = ms.parse(b"1796637601123 500 GET / HTTP/1.1").unwrap();
        assert_eq!(r.time.ms, 1_796_637_601_123);
        let us = CustomFormat::compile("%{end:usec}t %s %r").unwrap();
        assert_eq!(
            us.parse(b"1796637601123456 500 GET / HTTP/1.1")
                .unwrap()
                .time
                .ms,
            1_796_637_601_123
        );
        let sec = CustomFormat::compile("%{begin:sec}t %>s").unwrap();
        assert_eq!(
            sec.parse(b"1796637601 502").unwrap().time.ms,
            1_796_637_601_000
        );
    }

    #[test]
    fn apache_format_errors_say_what_is_wrong() {
        let err = |spec: &str| CustomFormat::compile(spec).unwrap_err().to_string();
        assert_eq!(err("%h %t %b"), "access format has no %>s");
        assert!(err("%h %>s").contains("time directive"));
        assert!(err("%t %>s%b").contains("%b"));
        assert!(err("%t %>s %{Referer").contains("closing"));
        assert!(err("%t %>s %{%H:%M}t").contains("%{%H:%M}t"));
        assert!(err("%t %>s %").contains("not an Apache LogFormat directive"));
        // A `$` variable makes it nginx's, whatever `%` it holds.
        assert!(CustomFormat::compile("$time_local 100% $status").is_ok());
    }
}
