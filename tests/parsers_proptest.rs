//! Property tests for every log parser, through the public API only:
//! - arbitrary bytes (uniform, and a "soup" of the fragments real formats are made of) never
//!   panic, and whatever parses comes out sane (a valid RFC 3339 time, a 3-digit status, text
//!   without terminal control characters);
//! - lines generated from the real formats with random field values parse back to those values;
//! - generated lines, truncated at any byte or with bytes flipped, inserted or deleted, never
//!   panic.
//!
//! The case count is modest so the file runs in seconds; `PROPTEST_CASES=5000 cargo test --test
//! parsers_proptest` digs deeper.

use std::io::{self, Read};
use std::sync::LazyLock;

use fivehundred::formats::access::{
    AccessFormat, ClfVariant, CustomFormat, JSON_CLIENT, JSON_HOST, JSON_METHOD, JSON_PATH,
    JSON_REQUEST, JSON_STATUS, JSON_TIME, JSON_UA, parse_clf_line, parse_json_line, parse_status,
};
use fivehundred::formats::app::{AppLog, Language};
use fivehundred::formats::detect::{Detected, ErrorFormat, detect};
use fivehundred::formats::haproxy::{HaproxyFormat, Layout};
use fivehundred::formats::time::{
    ClfClock, Stamp, month_abbrev, parse_apache_error, parse_clf, parse_epoch, parse_iso8601,
    parse_nginx_error, parse_offset, parse_php, parse_python,
};
use fivehundred::formats::{
    AccessRecord, ErrorEvent, Kind, apache_error, clean_text, nginx_error, php, request_method,
    request_path,
};
use fivehundred::read::{Blocks, lines};
use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value, json};

fn config() -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 96;
    }
    c.failure_persistence = None;
    c
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Zones error logs are read in: UTC, a fixed odd offset, and zones with DST (falling back to
/// UTC where the machine has no tzdb: the expectations use the same lookup).
fn zones() -> &'static [TimeZone] {
    static ZONES: LazyLock<Vec<TimeZone>> = LazyLock::new(|| {
        let mut z = vec![
            TimeZone::UTC,
            TimeZone::fixed(Offset::from_seconds(-(3 * 3600 + 1800)).unwrap()),
        ];
        for name in [
            "Europe/Berlin",
            "America/New_York",
            "Asia/Kolkata",
            "Australia/Adelaide",
        ] {
            z.push(TimeZone::get(name).unwrap_or(TimeZone::UTC));
        }
        z
    });
    &ZONES
}

fn zone() -> impl Strategy<Value = TimeZone> {
    select(zones().to_vec())
}

// ---------------------------------------------------------------------------------------------
// Invariants of anything a parser accepts.

/// A stamp must print as RFC 3339 that a strict parser reads back to the same second.
fn check_stamp(s: Stamp) {
    let text = s.rfc3339();
    let ts: jiff::Timestamp = text
        .parse()
        .unwrap_or_else(|e| panic!("{s:?} prints as {text:?}, not RFC 3339: {e}"));
    // Offsets of whole minutes print exactly; a local mean time from before 1900 (Berlin was
    // +00:53:28) cannot be written in RFC 3339 and loses its seconds.
    let slack = i64::from(s.offset % 60).abs();
    assert!(
        (ts.as_second() - s.secs()).abs() <= slack,
        "{text} is not {s:?}"
    );
}

fn no_controls(what: &str, s: &str) {
    assert!(
        !s.chars().any(|c| c.is_control() && c != '\t' && c != '\n'),
        "{what} keeps a control character: {s:?}"
    );
}

fn check_record(r: &AccessRecord<'_>) {
    assert!(
        r.status == 0 || (100..=999).contains(&r.status),
        "status {}",
        r.status
    );
    check_stamp(r.time);
    let path = r.path();
    let req: &[u8] = &r.request;
    let inside = path.is_empty()
        || (path.as_ptr() >= req.as_ptr()
            && path.as_ptr() as usize + path.len() <= req.as_ptr() as usize + req.len());
    assert!(inside, "path is not a part of the request");
}

fn check_event(e: &ErrorEvent) {
    if let Some(t) = e.time {
        check_stamp(t);
    }
    no_controls("text", e.text());
    no_controls("message", e.message());
    no_controls("level", e.level());
    no_controls("module", e.module());
    for f in [e.client(), e.request(), e.host(), e.upstream()]
        .into_iter()
        .flatten()
    {
        no_controls("field", f);
    }
}

fn custom_formats() -> &'static [CustomFormat] {
    static FORMATS: LazyLock<Vec<CustomFormat>> = LazyLock::new(|| {
        [
        r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#,
        r#"$time_iso8601 ${host} $status "$request_method $request_uri" $request_time"#,
        "$msec|$status|$remote_addr|$request|$http_user_agent",
        "$status $msec",
    ]
    .iter()
    .map(|f| CustomFormat::compile(f).unwrap())
    .collect()
    });
    &FORMATS
}

/// Runs every parser on `b`; none may panic, and what they accept must be sane.
fn exercise(b: &[u8]) {
    if let Some((r, _)) = parse_clf_line(b) {
        check_record(&r);
    }
    if let Some(r) = parse_json_line(b) {
        check_record(&r);
    }
    // The quick read (time and status only) accepts exactly what the full parse accepts.
    let formats = custom_formats()
        .iter()
        .cloned()
        .map(AccessFormat::Custom)
        .chain([
            AccessFormat::Json,
            AccessFormat::Clf(ClfVariant::Combined),
            AccessFormat::Haproxy(HaproxyFormat::default().in_zone(zones()[2].clone())),
        ]);
    for f in formats {
        let full = f.parse(b);
        if let Some(r) = &full {
            check_record(r);
        }
        let head = f.head(b, &mut ClfClock::default());
        assert_eq!(head, full.map(|r| (r.time, r.status)), "{f:?}");
    }
    let _ = AccessFormat::Json.parse(b);
    let _ = AccessFormat::Clf(ClfVariant::Common).parse(b);
    if let Ok(f) = CustomFormat::compile(&String::from_utf8_lossy(b))
        && let Some(r) = f.parse(b)
    {
        check_record(&r);
    }
    if let Some(s) = parse_status(b) {
        assert!(s == 0 || (100..=999).contains(&s));
    }
    for tz in [TimeZone::UTC, zones()[2].clone()] {
        let _ = nginx_error::is_header(b);
        let _ = apache_error::is_header(b);
        let _ = php::is_fpm_header(b);
        let _ = php::is_php_header(b);
        for e in [
            nginx_error::parse(b, &tz),
            apache_error::parse(b, &tz),
            php::parse_fpm(b, &tz),
            php::parse_php_error(b, &tz),
        ]
        .into_iter()
        .flatten()
        {
            check_event(&e);
        }
        for app in AppLog::ALL {
            let _ = (app.sniff(b), app.is_header(b), app.level(b));
            if let Some(e) = app.parse(b, &tz) {
                check_event(&e);
                let language = e.language.unwrap_or(Language::Python);
                let _ = fivehundred::formats::app::trace::read(language, e.text());
            }
        }
    }
    // The time parsers at every start position of the first bytes, as the line parsers call them.
    for i in 0..b.len().min(24) {
        let t = &b[i..];
        for s in [parse_clf(t), parse_iso8601(t), parse_epoch(t)]
            .into_iter()
            .flatten()
        {
            check_stamp(s);
        }
        for c in [
            parse_nginx_error(t),
            parse_apache_error(t),
            parse_php(t).map(|(c, _)| c),
            parse_python(t).map(|(c, _)| c),
        ]
        .into_iter()
        .flatten()
        {
            check_stamp(c.at_offset(0));
            if let Some(s) = c.in_zone(&zones()[2]) {
                check_stamp(s);
            }
        }
        let _ = parse_offset(t);
        let _ = month_abbrev(t);
    }
    let _ = detect(lines(b), None);
    let _ = detect(
        lines(b),
        Some(&AccessFormat::Custom(custom_formats()[0].clone())),
    );
    let cleaned = clean_text(b);
    no_controls("clean_text", &cleaned);
    assert_eq!(
        clean_text(cleaned.as_bytes()),
        cleaned,
        "clean_text is idempotent"
    );
    let path = request_path(b);
    assert!(path.len() <= b.len());
    if let Some(m) = request_method(b) {
        assert!(b.starts_with(m));
    }
}

// ---------------------------------------------------------------------------------------------
// Arbitrary input.

/// Pieces real log lines are made of, to reach deeper into the parsers than uniform bytes do.
const FRAGMENTS: &[&[u8]] = &[
    b"[",
    b"]",
    b"\"",
    b"\\",
    b" ",
    b"  ",
    b"\n",
    b"\r",
    b"\t",
    b"-",
    b":",
    b"/",
    b".",
    b",",
    b"#",
    b"*",
    b"(",
    b")",
    b"{",
    b"}",
    b"0",
    b"1",
    b"9",
    b"25",
    b"2026",
    b"14:00:03",
    b"99:99:99",
    b"Nov",
    b"Wed",
    b"+0000",
    b"-9999",
    b"+99:99",
    b"Z",
    b"T",
    b"25/Nov/2026:14:00:03 +0000",
    b"2026/11/25 14:00:03",
    b"Wed Nov 25 14:00:03.123456 2026",
    b"Wed Nov  5 14:00:03 2026",
    b"25-Nov-2026 14:00:03",
    b"2026-11-25T14:00:03",
    b".123",
    b"1764079203.5",
    b"999999999999.999",
    b"500",
    b"1000",
    b"GET / HTTP/1.1",
    b"[error] ",
    b"812#812: ",
    b"*5 ",
    b", client: ",
    b", server: ",
    b", request: \"",
    b", upstream: \"",
    b", host: \"",
    b"\", ",
    b", referer: ",
    b"[pid ",
    b"[client ",
    b"[client [::1]:4",
    b"(13)Permission denied: ",
    b"(-1)x: [client ",
    b"[proxy_fcgi:error] ",
    b"WARNING: ",
    b"[pool www] ",
    b"child ",
    b"(request: \"",
    b" UTC] ",
    b" Europe/Berlin",
    b" Mars/Olympus",
    b"PHP Fatal error:  ",
    b"{\"status\":",
    b"\"time\":",
    b"\"ts\":",
    b"1e300",
    b"-1",
    b"$status",
    b"$time_local",
    b"${host",
    b"$",
    b"07-Dec-2026 15:31:53.410 SEVERE [",
    b"\tat a.B.c(B.java:1)",
    b"Caused by: ",
    b"panic: ",
    b"goroutine 1 [running]:",
    b"http: panic serving ",
    b"\t/a.go:1 +0x1",
    b"fail: A.B[1]",
    b"   at A.B() in /a.cs:line 1",
    b" --- [",
    b"RequestPath:",
    b"\x1b[31m",
    b"\x1b]0;t\x07",
    b"\x1b",
    b"\xc2\x9b",
    b"\xff",
    b"\xe2\x82",
    b"\xc3\xa9",
    b"\0",
];

fn soup() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(select(FRAGMENTS), 0..40).prop_map(|v| v.concat())
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..300)
}

// ---------------------------------------------------------------------------------------------
// Generated times.

#[derive(Clone, Copy, Debug)]
struct When {
    y: i16,
    mo: i8,
    d: i8,
    h: i8,
    mi: i8,
    s: i8,
    micros: u32,
    /// UTC offset in minutes, for formats that write one.
    off: i32,
}

fn when() -> impl Strategy<Value = When> {
    (
        1000i16..=9998,
        1i8..=12,
        1i8..=31,
        0i8..24,
        0i8..60,
        0i8..60,
        0u32..1_000_000,
        -14 * 60..=14 * 60i32,
    )
        .prop_map(|(y, mo, d, h, mi, s, micros, off)| When {
            y,
            mo,
            d: d.min(jiff::civil::date(y, mo, 1).days_in_month()),
            h,
            mi,
            s,
            micros,
            off,
        })
}

impl When {
    fn datetime(&self) -> DateTime {
        jiff::civil::datetime(self.y, self.mo, self.d, self.h, self.mi, self.s, 0)
    }
    fn mon(&self) -> &'static str {
        MONTHS[self.mo as usize - 1]
    }
    fn fixed(&self) -> TimeZone {
        TimeZone::fixed(Offset::from_seconds(self.off * 60).unwrap())
    }
    fn millis(&self) -> i64 {
        i64::from(self.micros / 1000)
    }
    /// `+HHMM`, or `+HH:MM`.
    fn offset(&self, colon: bool) -> String {
        let sign = if self.off < 0 { '-' } else { '+' };
        let a = self.off.abs();
        let sep = if colon { ":" } else { "" };
        format!("{sign}{:02}{sep}{:02}", a / 60, a % 60)
    }
    fn hms(&self) -> String {
        format!("{:02}:{:02}:{:02}", self.h, self.mi, self.s)
    }
    fn clf(&self) -> String {
        format!(
            "{:02}/{}/{:04}:{} {}",
            self.d,
            self.mon(),
            self.y,
            self.hms(),
            self.offset(false)
        )
    }
    fn nginx(&self) -> String {
        format!("{:04}/{:02}/{:02} {}", self.y, self.mo, self.d, self.hms())
    }
    /// `Wed Nov 25 14:00:03.123456 2026`; a day below 10 zero- or space-padded.
    fn apache(&self, space_pad: bool, fraction: bool) -> String {
        let wday = self.datetime().strftime("%a").to_string();
        let day = if space_pad {
            format!("{:>2}", self.d)
        } else {
            format!("{:02}", self.d)
        };
        let frac = if fraction {
            format!(".{:06}", self.micros)
        } else {
            String::new()
        };
        format!(
            "{wday} {} {day} {}{frac} {:04}",
            self.mon(),
            self.hms(),
            self.y
        )
    }
    fn php(&self, millis: bool) -> String {
        let frac = if millis {
            format!(".{:03}", self.millis())
        } else {
            String::new()
        };
        format!(
            "{:02}-{}-{:04} {}{frac}",
            self.d,
            self.mon(),
            self.y,
            self.hms()
        )
    }
    /// `2026-11-25T14:00:03[.fff…](Z|+HH:MM|+HHMM)` with `digits` fraction digits; the
    /// milliseconds it denotes.
    fn iso(&self, digits: usize, zulu: bool, colon: bool) -> (String, i64) {
        let frac6 = format!("{:06}", self.micros);
        let (frac, ms) = if digits == 0 {
            (String::new(), 0)
        } else {
            let kept = &frac6[..digits.min(6)];
            let padded = format!("{:0<3}", &kept[..kept.len().min(3)]);
            (
                format!(".{kept}{}", "0".repeat(digits.saturating_sub(6))),
                padded.parse().unwrap(),
            )
        };
        let zone = if zulu {
            "Z".to_owned()
        } else {
            self.offset(colon)
        };
        let text = format!(
            "{:04}-{:02}-{:02}T{}{frac}{zone}",
            self.y,
            self.mo,
            self.d,
            self.hms()
        );
        (text, ms)
    }
    /// The stamp this wall-clock time denotes at the line's own offset (`zulu`: UTC).
    fn stamp_at_offset(&self, zulu: bool, millis: i64) -> (i64, i32) {
        let tz = if zulu { TimeZone::UTC } else { self.fixed() };
        let z = self.datetime().to_zoned_datetime(tz).unwrap();
        (
            z.timestamp().as_millisecond() + millis,
            z.offset().seconds(),
        )
    }
}

/// What a zone-less wall-clock time means in `tz`; `None` in a DST gap (a time no clock
/// showed, which a log does not write).
fn in_zone(w: &When, tz: &TimeZone, millis: i64) -> Option<(i64, i32, String)> {
    let z = w.datetime().to_zoned_datetime(tz.clone()).ok()?;
    if z.datetime() != w.datetime() {
        return None;
    }
    Some((
        z.timestamp().as_millisecond() + millis,
        z.offset().seconds(),
        z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
    ))
}

fn assert_stamp(s: Stamp, ms: i64, offset: i32) {
    assert_eq!((s.ms, s.offset), (ms, offset), "{}", s.rfc3339());
    check_stamp(s);
}

// ---------------------------------------------------------------------------------------------
// Generated access-log lines.

/// A quoted CLF field's content: anything but `"`, `\` and newlines, with some `\"` escapes.
fn quoted_text() -> impl Strategy<Value = String> {
    prop::collection::vec("[^\"\\\\\n]{0,12}", 1..4).prop_map(|v| v.join("\\\""))
}

#[derive(Clone, Debug)]
struct ClfLine {
    line: String,
    variant: ClfVariant,
    client: String,
    vhost: Option<String>,
    request: String,
    status: u16,
    ua: String,
    ms: i64,
    offset: i32,
}

fn clf_line() -> impl Strategy<Value = ClfLine> {
    (
        (
            select(vec![
                ClfVariant::Common,
                ClfVariant::Combined,
                ClfVariant::VhostCombined,
            ]),
            "[0-9a-f.:]{1,39}|-",
            "[a-z0-9.-]{1,20}",
            prop::option::of(1u32..65536),
            "-|[^ \\[\n]{1,10}",
        ),
        when(),
        quoted_text(),
        100u16..=999,
        "-|[0-9]{1,9}",
        quoted_text(),
        quoted_text(),
        prop::option::of(" [0-9]{1,6}( [0-9.]{1,6})?"),
    )
        .prop_map(
            |(
                (variant, client, host, port, user),
                w,
                request,
                status,
                size,
                referer,
                ua,
                extra,
            )| {
                let vhost_field = match port {
                    Some(p) => format!("{host}:{p}"),
                    None => host.clone(),
                };
                let prefix = match variant {
                    ClfVariant::VhostCombined => format!("{vhost_field} {client} - {user}"),
                    _ => format!("{client} - {user}"),
                };
                let mut line = format!("{prefix} [{}] \"{request}\" {status} {size}", w.clf());
                if variant != ClfVariant::Common {
                    line += &format!(" \"{referer}\" \"{ua}\"");
                    line += extra.as_deref().unwrap_or_default();
                }
                let (ms, offset) = w.stamp_at_offset(false, 0);
                ClfLine {
                    line,
                    variant,
                    client,
                    vhost: (variant == ClfVariant::VhostCombined).then_some(host),
                    request,
                    status,
                    ua: if variant == ClfVariant::Common {
                        String::new()
                    } else {
                        ua
                    },
                    ms,
                    offset,
                }
            },
        )
}

#[derive(Clone, Debug)]
struct HaproxyLine {
    line: String,
    /// In the CLF layout (`option httplog clf`), whose time has its offset.
    clf: bool,
    client: String,
    request: String,
    status: u16,
    state: String,
    when: When,
}

/// A number HAProxy logs, or `-1` where it has none (a timer never reached).
fn counter() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("-1".to_owned()),
        (0u32..200_000).prop_map(|n| n.to_string())
    ]
}

fn counters(n: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(counter(), n).prop_map(|v| v.join("/"))
}

/// An `option httplog` line, or one in its CLF layout (HAProxy's configuration manual, 8.2.3),
/// with random field values, captured headers or not, and no syslog header, the classic one,
/// or `format rfc3164`'s.
fn haproxy_line() -> impl Strategy<Value = HaproxyLine> {
    (
        (
            "[0-9a-f.:]{1,39}",
            1u32..65536,
            when(),
            "[A-Za-z0-9_.-]{1,12}~?",
            "[a-z0-9_.-]{1,12}/([a-z0-9_.-]{1,12}|<NOSRV>)",
            counters(5),
            prop_oneof![(100u16..=999).prop_map(|s| (s.to_string(), s)), Just(("-1".to_owned(), 0))],
        ),
        (
            "[0-9]{1,9}",
            "-|[A-Za-z0-9=]{1,10}",
            "[CcSsPLRIDUK-][RQCHDLT-][NIDVEOU-][NIUPRD-]",
            counters(5),
            counters(2),
            prop::collection::vec("[^}\n]{0,20}", 0..3),
            "[^\"\\\\\n]{0,40}",
            select(vec![
                "",
                "Feb  6 12:14:14 localhost haproxy[14389]: ",
                "<134>Dec  7 10:00:01 haproxy[7]: ",
            ]),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (client, port, when, frontend, backend, timers, (status_text, status)),
                (bytes, cookie, state, conns, queues, captures, request, header, clf),
            )| {
                // The CLF layout's status is read as CLF's: three digits.
                let (status_text, status) = match (clf, status) {
                    (true, 0) => ("502".to_owned(), 502),
                    _ => (status_text, status),
                };
                let captured: String = captures.iter().map(|c| format!("{{{c}}} ")).collect();
                let date = format!(
                    "{:02}/{}/{:04}:{}.{:03}",
                    when.d,
                    when.mon(),
                    when.y,
                    when.hms(),
                    when.millis()
                );
                let line = if clf {
                    let (be, srv) = backend.split_once('/').expect("backend/server");
                    let spaced = |s: &str| s.replace('/', " ");
                    format!(
                        "{header}{client} - - [{}] \"{request}\" {status_text} {bytes} \"\" \"\" {port} {:03} \"{frontend}\" \"{be}\" \"{srv}\" {} {state} {} {} \"{cookie}\" \"\" \"{}\" \"\"",
                        when.clf(),
                        when.millis(),
                        spaced(&timers),
                        spaced(&conns),
                        spaced(&queues),
                        captures.join("|"),
                    )
                } else {
                    format!(
                        "{header}{client}:{port} [{date}] {frontend} {backend} {timers} {status_text} {bytes} {cookie} - {state} {conns} {queues} {captured}\"{request}\""
                    )
                };
                HaproxyLine {
                    line,
                    clf,
                    client,
                    request,
                    status,
                    state,
                    when,
                }
            },
        )
}

#[derive(Clone, Debug)]
struct JsonLine {
    line: String,
    client: String,
    host: Option<String>,
    request: String,
    status: u16,
    ua: String,
    ms: i64,
    offset: i32,
}

/// How a JSON line writes its time.
#[derive(Clone, Copy, Debug)]
enum JsonTime {
    Iso { digits: usize, zulu: bool },
    Clf,
    EpochSeconds,
    EpochMillis,
    EpochString,
}

fn json_time() -> impl Strategy<Value = JsonTime> {
    prop_oneof![
        (0usize..=9, any::<bool>()).prop_map(|(digits, zulu)| JsonTime::Iso { digits, zulu }),
        Just(JsonTime::Clf),
        Just(JsonTime::EpochSeconds),
        Just(JsonTime::EpochMillis),
        Just(JsonTime::EpochString),
    ]
}

fn json_line() -> impl Strategy<Value = JsonLine> {
    let text = || "(?s).{0,24}";
    (
        (
            select(JSON_TIME.to_vec()),
            json_time(),
            when(),
            // Epoch milliseconds where the number is unambiguous (after 1973, before 5138).
            100_000_000_001i64..100_000_000_000_000,
        ),
        (select(JSON_STATUS.to_vec()), 100u16..=999, any::<bool>()),
        (select(JSON_CLIENT.to_vec()), text()),
        prop::option::of((select(JSON_HOST.to_vec()), text())),
        prop_oneof![
            (select(JSON_REQUEST.to_vec()), text()).prop_map(|(k, r)| (k, r, None)),
            (
                select(JSON_METHOD.to_vec()),
                "[A-Z]{1,7}",
                select(JSON_PATH.to_vec()),
                text(),
            )
                .prop_map(|(mk, m, pk, p)| (mk, m, Some((pk, p)))),
        ],
        (select(JSON_UA.to_vec()), text()),
        any::<bool>(),
    )
        .prop_map(
            |(
                (tkey, tform, w, epoch_ms),
                (skey, status, status_as_number),
                (ckey, client),
                host,
                request,
                (ukey, ua),
                nested,
            )| {
                let (time, ms, offset): (Value, i64, i32) = match tform {
                    JsonTime::Iso { digits, zulu } => {
                        let (text, millis) = w.iso(digits, zulu, true);
                        let (ms, off) = w.stamp_at_offset(zulu, millis);
                        (json!(text), ms, off)
                    }
                    JsonTime::Clf => {
                        let (ms, off) = w.stamp_at_offset(false, 0);
                        (json!(w.clf()), ms, off)
                    }
                    JsonTime::EpochSeconds => (json!(epoch_ms as f64 / 1000.0), epoch_ms, 0),
                    JsonTime::EpochMillis => (json!(epoch_ms), epoch_ms, 0),
                    JsonTime::EpochString => (
                        json!(format!("{}.{:03}", epoch_ms / 1000, epoch_ms % 1000)),
                        epoch_ms,
                        0,
                    ),
                };
                let mut top = Map::new();
                let mut inner = Map::new();
                top.insert(tkey.into(), time);
                top.insert(
                    skey.into(),
                    if status_as_number {
                        json!(status)
                    } else {
                        json!(status.to_string())
                    },
                );
                // Caddy nests the request's own fields in a `request` object.
                let nest = nested && request.2.is_some();
                let req_obj = if nest { &mut inner } else { &mut top };
                req_obj.insert(ckey.into(), json!(client));
                if let Some((hk, h)) = &host {
                    req_obj.insert((*hk).into(), json!(h));
                }
                req_obj.insert(ukey.into(), json!(ua));
                let expected_request = match &request {
                    (k, r, None) => {
                        req_obj.insert((*k).into(), json!(r));
                        r.clone()
                    }
                    (mk, m, Some((pk, p))) => {
                        req_obj.insert((*mk).into(), json!(m));
                        req_obj.insert((*pk).into(), json!(p));
                        format!("{m} {p}")
                    }
                };
                if nest {
                    top.insert("request".into(), Value::Object(inner));
                }
                JsonLine {
                    line: Value::Object(top).to_string(),
                    client,
                    host: host.map(|(_, h)| h),
                    request: expected_request,
                    status,
                    ua,
                    ms,
                    offset,
                }
            },
        )
}

/// A variable of a generated nginx `log_format`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Var {
    Addr,
    TimeLocal,
    TimeIso,
    Msec,
    Request,
    Method,
    Uri,
    Status,
    Host,
    Ua,
    RequestTime,
    Upstream,
}

impl Var {
    fn name(self) -> &'static str {
        match self {
            Var::Addr => "remote_addr",
            Var::TimeLocal => "time_local",
            Var::TimeIso => "time_iso8601",
            Var::Msec => "msec",
            Var::Request => "request",
            Var::Method => "request_method",
            Var::Uri => "request_uri",
            Var::Status => "status",
            Var::Host => "host",
            Var::Ua => "http_user_agent",
            Var::RequestTime => "request_time",
            Var::Upstream => "upstream_addr",
        }
    }

    /// The Apache `LogFormat` directive that writes the same.
    fn apache(self) -> &'static str {
        match self {
            Var::Addr => "%a",
            Var::TimeLocal => "%{%d/%b/%Y:%H:%M:%S %z}t",
            Var::TimeIso => "%{%Y-%m-%dT%H:%M:%S%z}t",
            Var::Msec => "%{sec}t",
            Var::Request => "%r",
            Var::Method => "%m",
            Var::Uri => "%U",
            Var::Status => "%>s",
            Var::Host => "%{Host}i",
            Var::Ua => "%{User-Agent}i",
            Var::RequestTime => "%D",
            Var::Upstream => "%{X-Upstream}o",
        }
    }
}

/// Literals between variables; generated values never hold `|`, `~`, `;` or a tab.
const SEPARATORS: &[&str] = &[" | ", "\t", " ~ ", ";", "|", " ;; ", "~"];

#[derive(Clone, Debug)]
struct CustomLine {
    format: String,
    /// The same format as an Apache `LogFormat` string.
    apache: String,
    line: String,
    client: String,
    host: Option<String>,
    request: String,
    status: u16,
    ua: String,
    ms: i64,
    offset: i32,
}

fn custom_line() -> impl Strategy<Value = CustomLine> {
    let free =
        |n: usize| proptest::string::string_regex(&format!("[^|~;\t\n\r]{{1,{n}}}")).unwrap();
    (
        (
            select(vec![Var::TimeLocal, Var::TimeIso, Var::Msec]),
            prop::collection::vec(any::<bool>(), 6),
            0u8..3,
        )
            .prop_map(|(time, on, request_kind)| {
                let mut vars = vec![time, Var::Status];
                let optional = [
                    Var::Addr,
                    Var::Host,
                    Var::Ua,
                    Var::RequestTime,
                    Var::Upstream,
                ];
                vars.extend(
                    optional
                        .iter()
                        .zip(&on)
                        .filter(|(_, o)| **o)
                        .map(|(v, _)| *v),
                );
                match request_kind {
                    0 => vars.push(Var::Request),
                    1 => vars.extend([Var::Method, Var::Uri]),
                    _ => {}
                }
                vars
            })
            .prop_shuffle(),
        prop::collection::vec((select(SEPARATORS), any::<bool>()), 12),
        (select(vec!["", "[", "~ "]), select(vec!["", " ;", "\t~"])),
        when(),
        0i64..100_000_000_000_000,
        (
            "[0-9a-f.:]{1,39}",
            free(30),
            "[A-Z]{1,7}",
            free(30),
            100u16..=999,
            "[a-z0-9.-]{1,20}",
            prop::option::of(1u32..65536),
            free(40),
        ),
    )
        .prop_map(|(vars, seps, (lead, trail), w, epoch_ms, values)| {
            let (addr, request, method, uri, status, host, port, ua) = values;
            let mut format = lead.to_string();
            let mut apache = lead.to_string();
            let mut line = lead.to_string();
            let (mut ms, mut offset) = (0, 0);
            for (i, v) in vars.iter().enumerate() {
                if i > 0 {
                    format += seps[i].0;
                    apache += seps[i].0;
                    line += seps[i].0;
                }
                apache += v.apache();
                format += &if seps[i].1 {
                    format!("${{{}}}", v.name())
                } else {
                    format!("${}", v.name())
                };
                line += &match v {
                    Var::Addr => addr.clone(),
                    Var::TimeLocal => {
                        (ms, offset) = w.stamp_at_offset(false, 0);
                        w.clf()
                    }
                    Var::TimeIso => {
                        let (text, millis) = w.iso(0, false, true);
                        (ms, offset) = w.stamp_at_offset(false, millis);
                        text
                    }
                    Var::Msec => {
                        (ms, offset) = (epoch_ms, 0);
                        format!("{}.{:03}", epoch_ms / 1000, epoch_ms % 1000)
                    }
                    Var::Request => request.clone(),
                    Var::Method => method.clone(),
                    Var::Uri => uri.clone(),
                    Var::Status => status.to_string(),
                    Var::Host => match port {
                        Some(p) => format!("{host}:{p}"),
                        None => host.clone(),
                    },
                    Var::Ua => ua.clone(),
                    Var::RequestTime => "0.012".into(),
                    Var::Upstream => "unix:/run/php/fpm.sock".into(),
                };
            }
            format += trail;
            apache += trail;
            line += trail;
            let has = |v: Var| vars.contains(&v);
            let expected_request = if has(Var::Request) {
                request
            } else {
                let m = if has(Var::Method) { method } else { "-".into() };
                let u = if has(Var::Uri) { uri } else { "-".into() };
                format!("{m} {u}")
            };
            CustomLine {
                format,
                apache,
                line,
                client: if has(Var::Addr) { addr } else { String::new() },
                host: has(Var::Host).then_some(host),
                request: expected_request,
                status,
                ua: if has(Var::Ua) { ua } else { String::new() },
                ms,
                offset,
            }
        })
}

// ---------------------------------------------------------------------------------------------
// Generated error-log records.

/// Message text as the servers write it: no `,` (nginx's context separator), and not starting
/// with what the parsers read as a field (`*5 `, `[tag]`, `(13)…`).
fn message() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9 /._()'=:é$-]{0,60}"
}

/// Continuation lines (stack traces): never starting like a record header.
fn continuation() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("(#[0-9]{1,2}|  thrown in|Stack trace:)[^\n,\"]{0,30}", 0..4)
}

#[derive(Clone, Debug)]
struct NginxRecord {
    record: String,
    level: String,
    pid: u32,
    message: String,
    client: Option<String>,
    request: Option<String>,
    upstream: Option<String>,
    host: Option<String>,
    when: When,
}

fn nginx_record() -> impl Strategy<Value = NginxRecord> {
    (
        when(),
        select(vec![
            "debug", "info", "notice", "warn", "error", "crit", "alert", "emerg",
        ]),
        (
            1u32..4_000_000,
            1u32..4_000_000,
            prop::option::of(1u64..1 << 40),
        ),
        message(),
        continuation(),
        prop::option::of((
            "[0-9a-f.:]{1,39}",
            "[a-z_.]{1,12}",
            prop::option::of("[^\",\n]{0,30}"),
            prop::option::of("[a-z]{2,8}://[^\",\n]{0,30}"),
            prop::option::of(("[a-z0-9.-]{1,20}", prop::option::of(1u32..65536))),
        )),
    )
        .prop_map(|(w, level, (pid, tid, conn), msg, more, context)| {
            let conn = conn.map(|c| format!("*{c} ")).unwrap_or_default();
            let message = std::iter::once(msg)
                .chain(more)
                .collect::<Vec<_>>()
                .join("\n");
            let mut record = format!("{} [{level}] {pid}#{tid}: {conn}{message}", w.nginx());
            let (mut client, mut request, mut upstream, mut host) = (None, None, None, None);
            if let Some((c, server, r, u, h)) = context {
                record += &format!(", client: {c}, server: {server}");
                client = Some(c);
                if let Some(r) = r {
                    record += &format!(", request: \"{r}\"");
                    request = Some(r);
                }
                if let Some(u) = u {
                    record += &format!(", upstream: \"{u}\"");
                    upstream = Some(u);
                }
                if let Some((name, port)) = h {
                    match port {
                        Some(p) => record += &format!(", host: \"{name}:{p}\""),
                        None => record += &format!(", host: \"{name}\""),
                    }
                    host = Some(name);
                }
            }
            NginxRecord {
                record,
                level: level.into(),
                pid,
                message,
                client,
                request: request.map(|r| clean_text(r.as_bytes())),
                upstream: upstream.map(|u| clean_text(u.as_bytes())),
                host,
                when: w,
            }
        })
}

#[derive(Clone, Debug)]
struct ApacheRecord {
    record: String,
    module: String,
    level: String,
    pid: Option<u32>,
    client: Option<String>,
    message: String,
    when: When,
    fraction: bool,
}

fn apache_record() -> impl Strategy<Value = ApacheRecord> {
    (
        (when(), any::<bool>(), any::<bool>()),
        prop::option::of("[a-z_]{1,12}"),
        select(vec![
            "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug", "trace1",
        ]),
        prop::option::of((1u32..4_000_000, prop::option::of(1u64..1 << 47))),
        prop::option::of(prop::option::of("\\([0-9]{1,3}\\)[A-Za-z ]{1,30}: ")),
        prop::option::of((
            prop_oneof![
                "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
                "[0-9a-f]{0,4}::[0-9a-f]{0,4}"
            ],
            prop::option::of(1u32..65536),
        )),
        ("AH[0-9]{5}: ", message()),
        prop::option::of("https?://[^\n]{0,30}"),
    )
        .prop_map(
            |((w, space_pad, fraction), module, level, pid, errno_client, client, msg, referer)| {
                let mut record = format!("[{}]", w.apache(space_pad, fraction));
                match &module {
                    Some(m) => record += &format!(" [{m}:{level}]"),
                    None => record += &format!(" [{level}]"),
                }
                if let Some((p, tid)) = pid {
                    match tid {
                        Some(t) => record += &format!(" [pid {p}:tid {t}]"),
                        None => record += &format!(" [pid {p}]"),
                    }
                }
                // An `(errno)Text: ` only ever stands before a client tag.
                let errno = match (&errno_client, &client) {
                    (Some(Some(e)), Some(_)) => e.clone(),
                    _ => String::new(),
                };
                record += " ";
                record += &errno;
                let client = client.map(|(ip, port)| {
                    let shown = if ip.contains(':') && port.is_some() {
                        format!("[{ip}]")
                    } else {
                        ip.clone()
                    };
                    match port {
                        Some(p) => record += &format!("[client {shown}:{p}] "),
                        None => record += &format!("[client {shown}] "),
                    }
                    ip
                });
                let message = format!("{errno}{}{}", msg.0, msg.1);
                record += &msg.0;
                record += &msg.1;
                if let Some(r) = referer {
                    record += &format!(", referer: {r}");
                }
                ApacheRecord {
                    record,
                    module: module.unwrap_or_default(),
                    level: level.into(),
                    pid: pid.map(|p| p.0),
                    client,
                    message,
                    when: w,
                    fraction,
                }
            },
        )
}

#[derive(Clone, Debug)]
struct FpmRecord {
    record: String,
    level: String,
    pid: Option<u32>,
    request: Option<String>,
    message: String,
    when: When,
    millis: bool,
}

fn fpm_record() -> impl Strategy<Value = FpmRecord> {
    (
        (when(), any::<bool>()),
        select(vec!["DEBUG", "NOTICE", "WARNING", "ERROR", "ALERT"]),
        prop::option::of("[a-z0-9_-]{1,10}"),
        1u32..4_000_000,
        prop_oneof![
            Just(0u8),
            Just(1u8),
            Just(2u8),
            Just(3u8)
        ],
        ("[A-Z]{3,6}", "/[^\"\n]{0,30}", message()),
    )
        .prop_map(|((w, millis), level, pool, pid, kind, (method, uri, msg))| {
            let (body, has_pid, request) = match kind {
                0 => (
                    format!("child {pid} exited on signal 11 (SIGSEGV) after 1.5 seconds from start"),
                    true,
                    None,
                ),
                1 => (
                    format!(
                        "child {pid}, script '/srv/www/x.php' (request: \"{method} {uri}\") execution timed out (2.012 sec), terminating"
                    ),
                    true,
                    Some(format!("{method} {uri}")),
                ),
                2 => (
                    "server reached pm.max_children setting (5), consider raising it".into(),
                    false,
                    None,
                ),
                _ => (msg, false, None),
            };
            let pool_tag = pool.map(|p| format!("[pool {p}] ")).unwrap_or_default();
            FpmRecord {
                record: format!("[{}] {level}: {pool_tag}{body}", w.php(millis)),
                level: level.into(),
                pid: has_pid.then_some(pid),
                request: request.map(|r| clean_text(r.as_bytes())),
                message: body,
                when: w,
                millis,
            }
        })
}

#[derive(Clone, Debug)]
struct PhpRecord {
    record: String,
    zone: &'static str,
    level: String,
    message: String,
    when: When,
}

fn php_record() -> impl Strategy<Value = PhpRecord> {
    (
        when(),
        select(vec![
            "UTC",
            "Europe/Berlin",
            "America/New_York",
            "Asia/Kolkata",
            "Australia/Adelaide",
        ]),
        prop::option::of(select(vec![
            "Fatal error",
            "Warning",
            "Notice",
            "Parse error",
            "Deprecated",
        ])),
        message(),
        continuation(),
    )
        .prop_map(|(w, zone, level, msg, more)| {
            let first = match level {
                Some(l) => format!("PHP {l}:  {msg}"),
                None => msg,
            };
            let message = std::iter::once(first)
                .chain(more)
                .collect::<Vec<_>>()
                .join("\n");
            PhpRecord {
                record: format!("[{} {zone}] {message}", w.php(false)),
                zone,
                level: level.unwrap_or_default().into(),
                message,
                when: w,
            }
        })
}

/// Any generated line or record, with what it should be detected as.
fn any_line() -> impl Strategy<Value = (String, Detected)> {
    prop_oneof![
        clf_line().prop_map(|l| (l.line, Detected::Access(AccessFormat::Clf(l.variant)))),
        json_line().prop_map(|l| (l.line, Detected::Access(AccessFormat::Json))),
        haproxy_line().prop_map(|l| {
            let layout = if l.clf { Layout::Clf } else { Layout::Http };
            (
                l.line,
                Detected::Access(AccessFormat::Haproxy(HaproxyFormat::new(layout))),
            )
        }),
        nginx_record().prop_map(|r| (r.record, Detected::Error(ErrorFormat::Nginx))),
        apache_record().prop_map(|r| (r.record, Detected::Error(ErrorFormat::Apache))),
        fpm_record().prop_map(|r| (r.record, Detected::Error(ErrorFormat::PhpFpm))),
        php_record().prop_map(|r| (r.record, Detected::Error(ErrorFormat::Php))),
    ]
}

/// Records gunicorn, uWSGI and Python's `logging` wrote in tests/lab_python.rs, Rails, Puma and
/// Node in tests/lab_ruby.rs and tests/lab_node.rs.
const APP_RECORDS: [&str; 10] = [
    "[2026-12-07 15:44:22 +0000] [25074] [CRITICAL] WORKER TIMEOUT (pid:25134)",
    "2026-12-07 15:44:19,751 ERROR django.request Internal Server Error: /dj/boom\nTraceback (most recent call last):\n  File \"/srv/djapp/views.py\", line 15, in boom\n    return HttpResponse(order[\"customer\"])\nKeyError: 'customer'",
    "[2026-12-07 15:44:23,588] ERROR in app: Exception on /fl/boom [GET]\nTraceback (most recent call last):\n  File \"/srv/flaskapp.py\", line 20, in boom\nKeyError: 'coffee'",
    "Mon Dec  7 15:44:26 2026 - *** HARAKIRI ON WORKER 1 (pid: 25161, try: 1) ***\nMon Dec  7 15:44:26 2026 - HARAKIRI [core 0] 127.0.0.1 - GET /fl/slow since 1796658263",
    "[pid: 25161|app: 0|req: 2/2] 127.0.0.1 () {32 vars in 384 bytes} [Mon Dec  7 15:44:23 2026] GET /fl/boom => generated 265 bytes in 17 msecs (HTTP/1.1 500) 2 headers in 99 bytes (1 switches on core 0)",
    "F, [2026-12-07T16:09:52.149942 #25502] FATAL -- : [0abeda1355a24eec8cc124f2e9a2cd83]   \n[0abeda1355a24eec8cc124f2e9a2cd83] KeyError (key not found: :price):\n[0abeda1355a24eec8cc124f2e9a2cd83]   \n[0abeda1355a24eec8cc124f2e9a2cd83] app/models/cart.rb:8:in `fetch'",
    "I, [2026-12-07T15:25:08.391849 #24905]  INFO -- : [abc-123] Started GET \"/checkout\" for 127.0.0.1 at 2026-12-07 15:25:08 +0000",
    "2026-12-07 16:09:56 +0000 ! Terminating timed out worker (worker failed to check in within 3 seconds): 25503",
    "TypeError: Cannot read properties of undefined (reading 'toFixed')\n    at /srv/app_node/cart.js:5:55\n    at Layer.handleRequest (/srv/node_modules/router/lib/layer.js:169:33)",
    "/srv/app_node/server.js:26\n    throw new RangeError(`export batch too large: ${req.query.n || 0}`);\n    ^\n",
];

/// One edit to a real line.
#[derive(Clone, Debug)]
enum Mutation {
    Truncate(usize),
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let byte = prop_oneof![
        any::<u8>(),
        select(b"[]\"\\ :/.,#*(){}0123456789\n\r\x1b\xff".to_vec())
    ];
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), byte.clone()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<usize>(), byte).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
    ]
}

fn mutate(mut b: Vec<u8>, edits: &[Mutation]) -> Vec<u8> {
    for m in edits {
        let n = b.len();
        match *m {
            Mutation::Truncate(i) => b.truncate(i % (n + 1)),
            Mutation::Set(i, x) if n > 0 => b[i % n] = x,
            Mutation::Insert(i, x) => b.insert(i % (n + 1), x),
            Mutation::Delete(i) if n > 0 => {
                b.remove(i % n);
            }
            _ => {}
        }
    }
    b
}

// ---------------------------------------------------------------------------------------------
// The properties.

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic(b in bytes()) {
        exercise(&b);
    }

    #[test]
    fn fragment_soup_never_panics(b in soup()) {
        exercise(&b);
    }

    #[test]
    fn mutated_lines_never_panic(
        (line, _) in any_line(),
        edits in prop::collection::vec(mutation(), 1..4),
    ) {
        let b = line.into_bytes();
        // Every truncation point of the first edit's line, then the random edits.
        let cut = match edits[0] {
            Mutation::Truncate(i) => i % (b.len() + 1),
            _ => b.len(),
        };
        exercise(&b[..cut]);
        exercise(&mutate(b, &edits));
    }

    #[test]
    fn mutated_application_server_records_never_panic(
        record in select(APP_RECORDS.to_vec()),
        edits in prop::collection::vec(mutation(), 1..6),
    ) {
        exercise(&mutate(record.as_bytes().to_vec(), &edits));
    }

    #[test]
    fn arbitrary_custom_formats_never_panic(spec in "(?s).{0,60}", line in soup()) {
        if let Ok(f) = CustomFormat::compile(&spec)
            && let Some(r) = f.parse(&line)
        {
            check_record(&r);
        }
    }

    #[test]
    fn clf_round_trip(l in clf_line()) {
        let (r, variant) = parse_clf_line(l.line.as_bytes()).expect(&l.line);
        prop_assert_eq!(variant, l.variant);
        prop_assert_eq!(&*r.client, l.client.as_bytes());
        prop_assert_eq!(r.vhost.as_deref(), l.vhost.as_deref().map(str::as_bytes));
        prop_assert_eq!(&*r.request, l.request.as_bytes());
        prop_assert_eq!(r.status, l.status);
        prop_assert_eq!(&*r.user_agent, l.ua.as_bytes());
        assert_stamp(r.time, l.ms, l.offset);
        check_record(&r);
        // The same line through the format's dispatcher.
        let again = AccessFormat::Clf(variant).parse(l.line.as_bytes()).unwrap();
        prop_assert_eq!(again, r);
    }

    #[test]
    fn haproxy_round_trip(l in haproxy_line(), zone in 0usize..6) {
        let tz = &zones()[zone];
        let (layout, (ms, offset)) = if l.clf {
            (Layout::Clf, l.when.stamp_at_offset(false, 0))
        } else {
            let Some((ms, offset, _)) = in_zone(&l.when, tz, l.when.millis()) else {
                return Ok(());
            };
            (Layout::Http, (ms, offset))
        };
        let f = AccessFormat::Haproxy(HaproxyFormat::new(layout).in_zone(tz.clone()));
        let r = f.parse(l.line.as_bytes()).unwrap_or_else(|| panic!("{}", l.line));
        prop_assert_eq!(&*r.client, l.client.as_bytes());
        prop_assert_eq!(&*r.request, l.request.as_bytes());
        prop_assert_eq!(r.status, l.status);
        prop_assert_eq!(r.reason.as_deref(), Some(l.state.as_bytes()));
        assert_stamp(r.time, ms, offset);
        check_record(&r);
        prop_assert_eq!(f.head(l.line.as_bytes(), &mut ClfClock::default()), Some((r.time, r.status)));
    }

    #[test]
    fn json_round_trip(l in json_line()) {
        let r = parse_json_line(l.line.as_bytes()).expect(&l.line);
        prop_assert_eq!(&*r.client, l.client.as_bytes());
        prop_assert_eq!(r.vhost.as_deref(), l.host.as_deref().map(str::as_bytes));
        prop_assert_eq!(&*r.request, l.request.as_bytes());
        prop_assert_eq!(r.status, l.status);
        prop_assert_eq!(&*r.user_agent, l.ua.as_bytes());
        assert_stamp(r.time, l.ms, l.offset);
        check_record(&r);
        // Whitespace around the object changes nothing.
        let padded = format!("  {}\t", l.line);
        prop_assert_eq!(parse_json_line(padded.as_bytes()), Some(r));
    }

    #[test]
    fn custom_nginx_format_round_trip(l in custom_line()) {
        let f = CustomFormat::compile(&l.format).expect(&l.format);
        let r = f.parse(l.line.as_bytes()).unwrap_or_else(|| panic!("{:?} does not read {:?}", l.format, l.line));
        prop_assert_eq!(&*r.client, l.client.as_bytes());
        prop_assert_eq!(r.vhost.as_deref(), l.host.as_deref().map(str::as_bytes));
        prop_assert_eq!(&*r.request, l.request.as_bytes());
        prop_assert_eq!(r.status, l.status);
        prop_assert_eq!(&*r.user_agent, l.ua.as_bytes());
        assert_stamp(r.time, l.ms, l.offset);
        // Quoted the way nginx.conf writes it, too.
        let quoted = CustomFormat::compile(&format!("'{}'", l.format)).unwrap();
        prop_assert_eq!(quoted.parse(l.line.as_bytes()), Some(r));
    }

    #[test]
    fn nginx_combined_as_custom_format(
        (client, user, w, request, status, size, referer, ua) in (
            "[0-9a-f.:]{1,39}",
            "-|[a-z]{1,8}",
            when(),
            "[^\"\\\\\n]{1,30}",
            100u16..=999,
            "-|[0-9]{1,9}",
            "[^\"\\\\\n]{0,30}",
            "[^\"\\\\\n]{0,30}",
        ),
    ) {
        // nginx's own `combined`, given as a custom format: split at its literals (nginx
        // writes `"` and `\` in values as `\x22`, `\x5C`).
        let line = format!("{client} - {user} [{}] \"{request}\" {status} {size} \"{referer}\" \"{ua}\"", w.clf());
        let r = custom_formats()[0].parse(line.as_bytes()).expect(&line);
        prop_assert_eq!(&*r.client, client.as_bytes());
        prop_assert_eq!(&*r.request, request.as_bytes());
        prop_assert_eq!(r.status, status);
        prop_assert_eq!(&*r.user_agent, ua.as_bytes());
        let (ms, off) = w.stamp_at_offset(false, 0);
        assert_stamp(r.time, ms, off);
        // The built-in CLF parser reads the same line the same way.
        let (clf, variant) = parse_clf_line(line.as_bytes()).unwrap();
        prop_assert_eq!(variant, ClfVariant::Combined);
        prop_assert_eq!((clf.time, clf.status, clf.request, clf.user_agent), (r.time, r.status, r.request, r.user_agent));
    }

    #[test]
    fn nginx_error_round_trip(r in nginx_record(), tz in zone()) {
        let first = r.record.lines().next().unwrap();
        prop_assert!(nginx_error::is_header(first.as_bytes()));
        for cont in r.record.lines().skip(1) {
            prop_assert!(!nginx_error::is_header(cont.as_bytes()), "{:?}", cont);
        }
        let e = nginx_error::parse(r.record.as_bytes(), &tz).expect(&r.record);
        prop_assert_eq!(e.kind, Some(Kind::Error));
        prop_assert_eq!(e.level(), r.level.as_str());
        prop_assert_eq!(e.pid, Some(r.pid));
        prop_assert_eq!(e.message(), clean_text(r.message.as_bytes()));
        prop_assert_eq!(e.client(), r.client.as_deref());
        prop_assert_eq!(e.request(), r.request.as_deref());
        prop_assert_eq!(e.upstream(), r.upstream.as_deref());
        prop_assert_eq!(e.host(), r.host.as_deref());
        prop_assert_eq!(e.text(), clean_text(r.record.as_bytes()));
        prop_assert_eq!(e.is_request_scoped(), r.client.is_some());
        check_event(&e);
        if let Some((ms, off, text)) = in_zone(&r.when, &tz, 0) {
            let t = e.time.unwrap();
            assert_stamp(t, ms, off);
            if off % 60 == 0 {
                prop_assert_eq!(t.rfc3339(), text);
            }
        }
        prop_assert_eq!(ErrorFormat::Nginx.parse(r.record.as_bytes(), &tz), Some(e));
    }

    #[test]
    fn apache_error_round_trip(r in apache_record(), tz in zone()) {
        prop_assert!(apache_error::is_header(r.record.as_bytes()));
        let e = apache_error::parse(r.record.as_bytes(), &tz).expect(&r.record);
        prop_assert_eq!(e.kind, Some(Kind::Error));
        prop_assert_eq!(e.module(), r.module.as_str());
        prop_assert_eq!(e.level(), r.level.as_str());
        prop_assert_eq!(e.pid, r.pid);
        prop_assert_eq!(e.client(), r.client.as_deref());
        prop_assert_eq!(e.message(), r.message.as_str());
        check_event(&e);
        let millis = if r.fraction { r.when.millis() } else { 0 };
        if let Some((ms, off, _)) = in_zone(&r.when, &tz, millis) {
            assert_stamp(e.time.unwrap(), ms, off);
        }
    }

    #[test]
    fn php_fpm_round_trip(r in fpm_record(), tz in zone()) {
        prop_assert!(php::is_fpm_header(r.record.as_bytes()));
        prop_assert!(!php::is_php_header(r.record.as_bytes()));
        let e = php::parse_fpm(r.record.as_bytes(), &tz).expect(&r.record);
        prop_assert_eq!(e.kind, Some(Kind::PhpFpm));
        prop_assert_eq!(e.level(), r.level.as_str());
        prop_assert_eq!(e.pid, r.pid);
        prop_assert_eq!(e.request(), r.request.as_deref());
        prop_assert_eq!(e.message(), clean_text(r.message.as_bytes()));
        check_event(&e);
        let millis = if r.millis { r.when.millis() } else { 0 };
        if let Some((ms, off, _)) = in_zone(&r.when, &tz, millis) {
            assert_stamp(e.time.unwrap(), ms, off);
        }
    }

    #[test]
    fn php_error_log_round_trip(r in php_record(), tz in zone()) {
        let first = r.record.lines().next().unwrap();
        prop_assert!(php::is_php_header(first.as_bytes()));
        prop_assert!(!php::is_fpm_header(first.as_bytes()));
        for cont in r.record.lines().skip(1) {
            prop_assert!(!php::is_php_header(cont.as_bytes()));
        }
        let e = php::parse_php_error(r.record.as_bytes(), &tz).expect(&r.record);
        prop_assert_eq!(e.kind, Some(Kind::PhpError));
        prop_assert_eq!(e.level(), r.level.as_str());
        prop_assert_eq!(e.message(), clean_text(r.message.as_bytes()));
        check_event(&e);
        // The zone in the brackets decides, not `tz`.
        let own = TimeZone::get(r.zone).unwrap_or(tz);
        if let Some((ms, off, _)) = in_zone(&r.when, &own, 0) {
            assert_stamp(e.time.unwrap(), ms, off);
        }
    }

    #[test]
    fn time_parsers_round_trip(w in when(), digits in 0usize..=9, zulu: bool, colon: bool) {
        assert_stamp(parse_clf(w.clf().as_bytes()).unwrap(), w.stamp_at_offset(false, 0).0, w.off * 60);
        let (iso, millis) = w.iso(digits, zulu, colon);
        let (ms, off) = w.stamp_at_offset(zulu, millis);
        assert_stamp(parse_iso8601(iso.as_bytes()).expect(&iso), ms, off);
        let c = parse_nginx_error(w.nginx().as_bytes()).unwrap();
        prop_assert_eq!((c.year, c.month, c.day), (i32::from(w.y), w.mo as u8, w.d as u8));
        prop_assert_eq!((c.hour, c.minute, c.second, c.millis), (w.h as u8, w.mi as u8, w.s as u8, 0));
        for (space, frac) in [(false, false), (false, true), (true, false), (true, true)] {
            let text = w.apache(space, frac);
            let c = parse_apache_error(text.as_bytes()).expect(&text);
            prop_assert_eq!((c.year, c.month, c.day), (i32::from(w.y), w.mo as u8, w.d as u8));
            prop_assert_eq!(u64::from(c.millis), if frac { w.micros as u64 / 1000 } else { 0 });
        }
        let php_time = format!("{} Europe/Paris", w.php(true));
        let (c, zone) = parse_php(php_time.as_bytes()).unwrap();
        prop_assert_eq!(zone, &b"Europe/Paris"[..]);
        prop_assert_eq!((c.day, c.second, i64::from(c.millis)), (w.d as u8, w.s as u8, w.millis()));
        // Civil times applied at an offset agree with jiff.
        let (ms, off) = w.stamp_at_offset(false, 0);
        assert_stamp(c.at_offset(off), ms + w.millis(), off);
        prop_assert_eq!(parse_offset(w.offset(colon).as_bytes()), Some(w.off * 60));
        prop_assert_eq!(month_abbrev(w.mon().as_bytes()), Some(w.mo as u8));
    }

    #[test]
    fn clf_clock_agrees_with_parse_clf(
        base in when(),
        steps in prop::collection::vec(
            (0u8..4, when(), 0u32..86_400, prop::collection::vec(mutation(), 0..3)),
            1..24,
        ),
    ) {
        // Lines of one day and zone (what the clock caches), days and zones changing, and
        // times cut or corrupted, through one clock, in order.
        let mut clock = ClfClock::default();
        let day = base.clf();
        for (kind, other, secs, edits) in steps {
            let text = match kind {
                0 | 1 => format!(
                    "{}{:02}:{:02}:{:02}{}",
                    &day[..12],
                    secs / 3600,
                    secs / 60 % 60,
                    secs % 60,
                    &day[20..]
                ),
                2 => other.clf(),
                _ => String::from_utf8_lossy(&mutate(day.clone().into_bytes(), &edits)).into_owned(),
            };
            let expected = parse_clf(text.as_bytes());
            prop_assert_eq!(clock.parse(text.as_bytes()), expected, "{}", text);
            // And the same through the access-log quick read.
            let line = format!("1.2.3.4 - - [{text}] \"GET / HTTP/1.1\" 503 1");
            let full = parse_clf_line(line.as_bytes()).map(|(r, _)| (r.time, r.status));
            prop_assert_eq!(AccessFormat::Clf(ClfVariant::Common).head(line.as_bytes(), &mut clock), full);
        }
    }

    #[test]
    fn epoch_round_trip(ms in 0i64..253_402_300_800_000) {
        let text = format!("{}.{:03}", ms / 1000, ms % 1000);
        assert_stamp(parse_epoch(text.as_bytes()).unwrap(), ms, 0);
    }

    #[test]
    fn detection_round_trip(
        lines_of in prop::collection::vec(any_line(), 1..12),
        pick in any::<prop::sample::Index>(),
    ) {
        // A file of one format: the kind of one generated line, repeated with fresh values.
        let (_, want) = &lines_of[pick.index(lines_of.len())];
        let same: Vec<&String> = lines_of
            .iter()
            .filter(|(_, d)| d == want)
            .map(|(l, _)| l)
            .collect();
        let text = same.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n");
        let got = detect(lines(text.as_bytes()), None);
        prop_assert_eq!(got.kind(), want.kind());
        prop_assert_eq!(&got, want, "{}", text);
    }

    #[test]
    fn apache_logformat_compiles_to_the_nginx_formats_parts(l in custom_line()) {
        let apache = CustomFormat::compile(&l.apache).expect(&l.apache);
        prop_assert_eq!(&apache, &CustomFormat::compile(&l.format).unwrap(), "{}", l.apache);
        let r = apache.parse(l.line.as_bytes()).unwrap_or_else(|| panic!("{:?} does not read {:?}", l.apache, l.line));
        prop_assert_eq!(r.status, l.status);
        assert_stamp(r.time, l.ms, l.offset);
    }

    #[test]
    fn detection_with_custom_format(ls in prop::collection::vec(custom_line(), 1..6)) {
        let f = AccessFormat::Custom(CustomFormat::compile(&ls[0].format).unwrap());
        let text = ls.iter().filter_map(|l| f.parse(l.line.as_bytes()).is_some().then_some(l.line.as_str())).collect::<Vec<_>>();
        prop_assume!(!text.is_empty());
        let got = detect(text.iter().map(|l| l.as_bytes()), Some(&f));
        prop_assert_eq!(got, Detected::Access(f));
    }

    #[test]
    fn clean_text_removes_controls_and_keeps_plain_text(
        plain in "[ -~\t\né€😀]{0,40}",
        dirty in soup(),
    ) {
        prop_assert_eq!(clean_text(plain.as_bytes()), plain.clone());
        let c = clean_text(&dirty);
        no_controls("clean_text", &c);
        prop_assert!(!c.contains('\u{1b}'), "ESC kept in {:?}", c);
        prop_assert_eq!(clean_text(c.as_bytes()), c.clone());
    }

    #[test]
    fn block_reader_yields_every_line(
        data in soup(),
        chunks in prop::collection::vec(1usize..64, 1..16),
        fail_at in prop::option::of(any::<prop::sample::Index>()),
        recycle: bool,
    ) {
        // A stream that fails part-way hands out what it read before failing, then the
        // error, once.
        let fail_at = fail_at.map(|i| i.index(data.len() + 1));
        let data_read = data[..fail_at.unwrap_or(data.len())].to_vec();
        let mut blocks = Blocks::new(Chunked { data: data.clone(), chunks, at: 0, turn: 0, fail_at });
        let mut got: Vec<Vec<u8>> = Vec::new();
        let mut errors = 0;
        loop {
            match blocks.next_block() {
                Ok(Some(block)) => {
                    prop_assert_eq!(errors, 0, "data after the error");
                    got.extend(lines(&block).map(<[u8]>::to_vec));
                    if recycle {
                        blocks.recycle(block);
                    }
                }
                Ok(None) => break,
                Err(_) => errors += 1,
            }
        }
        prop_assert_eq!(errors, usize::from(fail_at.is_some()));
        let data = data_read;
        let expected: Vec<Vec<u8>> = if data.is_empty() {
            Vec::new()
        } else {
            data.strip_suffix(b"\n")
                .unwrap_or(&data)
                .split(|&b| b == b'\n')
                .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
                .collect()
        };
        prop_assert_eq!(got, expected);
        prop_assert_eq!(blocks.oversized, 0);
    }
}

/// A reader that hands its data out in the given chunk sizes, as pipes and decoders do.
/// With `fail_at`, it fails once that many bytes are out, as a cut-off `.gz` does.
struct Chunked {
    data: Vec<u8>,
    chunks: Vec<usize>,
    at: usize,
    turn: usize,
    fail_at: Option<usize>,
}

impl Read for Chunked {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let end = self.fail_at.unwrap_or(self.data.len());
        if self.at == end && self.fail_at.is_some() {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut off"));
        }
        let want = self.chunks[self.turn % self.chunks.len()].min(buf.len());
        self.turn += 1;
        let n = want.min(end - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

// ---------------------------------------------------------------------------------------------
// Regressions found by the properties above, kept as plain tests.

#[test]
fn offsets_out_of_range_are_rejected() {
    // `+9999` printed as `+100:39`: not RFC 3339.
    assert_eq!(parse_offset(b"+9999"), None);
    assert_eq!(parse_offset(b"+2400"), None);
    assert_eq!(parse_offset(b"+0160"), None);
    assert_eq!(parse_offset(b"+1400"), Some(14 * 3600));
    assert_eq!(parse_offset(b"-12:00"), Some(-12 * 3600));
    assert!(parse_clf(b"25/Nov/2026:14:00:04 +9999").is_none());
    assert!(parse_iso8601(b"2026-11-25T14:00:04+99:00").is_none());
}

#[test]
fn epochs_past_year_9999_are_rejected() {
    // 12-digit seconds printed as a five-digit year.
    assert!(parse_epoch(b"999999999999.000").is_none());
    assert!(parse_epoch(b"253402300799").is_some());
    let line = br#"{"ts":9e17,"status":500}"#;
    if let Some(r) = parse_json_line(line) {
        check_record(&r);
    }
}
