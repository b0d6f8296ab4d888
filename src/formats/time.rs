//! Timestamps as the log formats write them, parsed by hand: this runs once per access-log
//! line, so it must not allocate or go through a general date parser.

use jiff::tz::TimeZone;

/// A point in time from a log line: milliseconds since the Unix epoch plus the UTC offset the
/// line was written in (kept so reports show times the way the server's admin reads them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    pub ms: i64,
    /// Offset from UTC in seconds, east positive.
    pub offset: i32,
}

impl Stamp {
    /// Whole seconds since the epoch.
    pub fn secs(self) -> i64 {
        self.ms.div_euclid(1000)
    }

    /// RFC 3339 with the line's own offset, e.g. `2026-11-20T10:00:03+00:00`.
    pub fn rfc3339(self) -> String {
        let local = self.secs() + i64::from(self.offset);
        let (days, sod) = (local.div_euclid(86_400), local.rem_euclid(86_400));
        let (y, m, d) = civil_from_days(days);
        let sign = if self.offset < 0 { '-' } else { '+' };
        let off = self.offset.unsigned_abs();
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
            sod / 3600,
            sod % 3600 / 60,
            sod % 60,
            off / 3600,
            off % 3600 / 60
        )
    }
}

/// In JSON reports, a time is RFC 3339 with the line's own offset.
impl serde::Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.rfc3339())
    }
}

/// A calendar date and wall-clock time as written in a log line, before a zone is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub millis: u16,
}

impl Civil {
    /// Seconds since the epoch if this wall-clock time were UTC.
    fn utc_secs(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    /// The instant this time denotes at a fixed UTC offset.
    pub fn at_offset(&self, offset: i32) -> Stamp {
        Stamp {
            ms: (self.utc_secs() - i64::from(offset)) * 1000 + i64::from(self.millis),
            offset,
        }
    }

    /// The instant this time denotes in `tz` (an ambiguous local time takes the earlier one).
    pub fn in_zone(&self, tz: &TimeZone) -> Option<Stamp> {
        let dt = jiff::civil::DateTime::new(
            i16::try_from(self.year).ok()?,
            self.month as i8,
            self.day as i8,
            self.hour as i8,
            self.minute as i8,
            self.second as i8,
            0,
        )
        .ok()?;
        let ts = tz.to_ambiguous_timestamp(dt).compatible().ok()?;
        Some(self.at_offset(tz.to_offset(ts).seconds()))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i32, m: u8, d: u8) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `Jan`..`Dec` to 1..12.
pub fn month_abbrev(b: &[u8]) -> Option<u8> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let b = b.get(..3)?;
    MONTHS
        .iter()
        .position(|m| m.as_slice() == b)
        .map(|i| i as u8 + 1)
}

/// Decimal digits, at least one, at most a `u64`'s worth (18).
pub(crate) fn digits(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 18 {
        return None;
    }
    b.iter().try_fold(0u64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u64::from(c - b'0'))
    })
}

/// Up to three fraction digits as milliseconds (`5` is 500, `123456` is 123).
fn millis_of(frac: &[u8]) -> Option<u16> {
    let ms = digits(&frac[..frac.len().min(3)])?;
    Some((ms * 10u64.pow(3 - frac.len().min(3) as u32)) as u16)
}

fn num<T: TryFrom<u64>>(b: &[u8], range: std::ops::Range<usize>) -> Option<T> {
    T::try_from(digits(b.get(range)?)?).ok()
}

/// Checks ranges so that later arithmetic can't be fed nonsense.
fn valid(c: Civil) -> Option<Civil> {
    let ok = (1..=12).contains(&c.month)
        && (1..=31).contains(&c.day)
        && c.hour < 24
        && c.minute < 60
        && c.second <= 60;
    ok.then_some(c)
}

/// `HH:MM:SS` at `b[at..]`.
fn hms(b: &[u8], at: usize) -> Option<(u8, u8, u8)> {
    if b.get(at + 2) != Some(&b':') || b.get(at + 5) != Some(&b':') {
        return None;
    }
    Some((
        num(b, at..at + 2)?,
        num(b, at + 3..at + 5)?,
        num(b, at + 6..at + 8)?,
    ))
}

/// `[+-]HHMM` (or `[+-]HH:MM`) to seconds east of UTC.
pub fn parse_offset(b: &[u8]) -> Option<i32> {
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m): (i32, i32) = match b.len() {
        5 => (num(b, 1..3)?, num(b, 3..5)?),
        6 if b[3] == b':' => (num(b, 1..3)?, num(b, 4..6)?),
        _ => return None,
    };
    // RFC 3339 offsets: `+99:99` would come out as `+100:39`.
    if h > 23 || m > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

/// `dd?Mon?yyyy?hh:mm:ss`, as CLF (`17/May/2015:10:05:03`) and PHP (`25-Nov-2026 14:00:00`)
/// write it; the caller has checked the separators.
fn day_month_year(b: &[u8], millis: u16) -> Option<Civil> {
    let (hour, minute, second) = hms(b, 12)?;
    valid(Civil {
        year: num(b, 7..11)?,
        month: month_abbrev(&b[3..6])?,
        day: num(b, 0..2)?,
        hour,
        minute,
        second,
        millis,
    })
}

/// Common Log Format time, without brackets: `17/May/2015:10:05:03 +0000`.
pub fn parse_clf(b: &[u8]) -> Option<Stamp> {
    if b.len() < 26 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' || b[20] != b' ' {
        return None;
    }
    let c = day_month_year(b, 0)?;
    Some(c.at_offset(parse_offset(&b[21..26])?))
}

/// HAProxy's accept date, without brackets: `06/Feb/2009:12:14:14.655` (local time, no zone;
/// the milliseconds may be missing in custom formats that use `%t`).
pub fn parse_haproxy(b: &[u8]) -> Option<Civil> {
    if b.len() < 20 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' {
        return None;
    }
    let millis = match b.get(20..) {
        None | Some([]) => 0,
        Some([b'.', frac @ ..]) if frac.len() <= 6 => millis_of(frac)?,
        Some(_) => return None,
    };
    day_month_year(b, millis)
}

/// Parses CLF times, remembering the last date and offset: consecutive lines of a log share
/// them, and working a date out is most of the cost of a time.
#[derive(Clone, Debug, Default)]
pub struct ClfClock {
    /// `dd/Mon/yyyy` and `+zzzz` of the last time parsed, and the instant of its midnight.
    date: [u8; 11],
    zone: [u8; 5],
    offset: i32,
    midnight: Option<i64>,
}

impl ClfClock {
    /// Same result as [`parse_clf`].
    pub fn parse(&mut self, b: &[u8]) -> Option<Stamp> {
        if b.len() < 26 || b[11] != b':' || b[20] != b' ' {
            return None;
        }
        let (date, zone) = (&b[..11], &b[21..26]);
        if let Some(midnight) = self
            .midnight
            .filter(|_| self.date == date && self.zone == zone)
        {
            let (h, m, s) = hms(b, 12)?;
            if h < 24 && m < 60 && s <= 60 {
                let secs = midnight + i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s);
                return Some(Stamp {
                    ms: secs * 1000,
                    offset: self.offset,
                });
            }
            return None;
        }
        let stamp = parse_clf(b)?;
        let (h, m, s) = hms(b, 12)?;
        self.date.copy_from_slice(date);
        self.zone.copy_from_slice(zone);
        self.offset = stamp.offset;
        self.midnight =
            Some(stamp.secs() - (i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s)));
        Some(stamp)
    }
}

/// `yyyy?mm?dd?hh:mm:ss`, as nginx's error log (`2026/11/25 14:00:00`) and ISO 8601
/// (`2026-11-25T14:00:00`) write it; the caller has checked the separators.
fn year_month_day(b: &[u8], millis: u16) -> Option<Civil> {
    let (hour, minute, second) = hms(b, 11)?;
    valid(Civil {
        year: num(b, 0..4)?,
        month: num(b, 5..7)?,
        day: num(b, 8..10)?,
        hour,
        minute,
        second,
        millis,
    })
}

/// nginx error log time: `2026/11/25 14:00:00` (local time, no zone).
pub fn parse_nginx_error(b: &[u8]) -> Option<Civil> {
    if b.len() < 19 || b[4] != b'/' || b[7] != b'/' || b[10] != b' ' {
        return None;
    }
    year_month_day(b, 0)
}

/// `2026-11-25 14:00:00` (or `2026-11-25T14:00:00`) with an optional `,123` or `.123`
/// fraction, as Python's `logging` (`%(asctime)s`, or a `datefmt`) and gunicorn write it: the
/// time and what follows it (a zone, if any, is the caller's to read).
pub fn parse_python(b: &[u8]) -> Option<(Civil, &[u8])> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b' ' | b'T') {
        return None;
    }
    let rest = &b[19..];
    let (millis, rest) = match rest.first() {
        Some(b',') => {
            let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            (
                millis_of(rest.get(1..1 + n).filter(|d| !d.is_empty())?)?,
                &rest[1 + n..],
            )
        }
        _ => fraction(rest)?,
    };
    Some((year_month_day(b, millis)?, rest))
}

/// Apache 2.4 error log time, inside the brackets: `Wed Nov 25 14:00:00.123456 2026`
/// (the fraction is present with the default `ErrorLogFormat`, absent in 2.2 style logs).
pub fn parse_apache_error(b: &[u8]) -> Option<Civil> {
    if b.len() < 24 || b[3] != b' ' || b[7] != b' ' {
        return None;
    }
    let day_at = if b[8] == b' ' { 9 } else { 8 };
    let day: u8 = if day_at == 9 {
        num(b, 9..10)?
    } else {
        num(b, 8..10)?
    };
    let (hour, minute, second) = hms(b, 11)?;
    let mut at = 19;
    let mut millis = 0u16;
    if b.get(at) == Some(&b'.') {
        let frac_end = at
            + 1
            + b[at + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
        millis = millis_of(&b[at + 1..frac_end])?;
        at = frac_end;
    }
    if b.get(at) != Some(&b' ') {
        return None;
    }
    valid(Civil {
        year: num(b, at + 1..at + 5)?,
        month: month_abbrev(&b[4..7])?,
        day,
        hour,
        minute,
        second,
        millis,
    })
}

/// An optional `.123…` fraction of a second at the start of `b`: its milliseconds and what
/// follows it.
fn fraction(b: &[u8]) -> Option<(u16, &[u8])> {
    match b.strip_prefix(b".") {
        Some(digits) => {
            let n = digits.iter().take_while(|c| c.is_ascii_digit()).count();
            Some((millis_of(&digits[..n])?, &digits[n..]))
        }
        None => Some((0, b)),
    }
}

/// PHP and PHP-FPM time, inside the brackets: `25-Nov-2026 14:00:00` followed by an optional
/// `.123` (FPM with `log_level = debug`) and an optional zone name (PHP's `error_log`), which is
/// returned as the rest of the bracket.
pub fn parse_php(b: &[u8]) -> Option<(Civil, &[u8])> {
    if b.len() < 20 || b[2] != b'-' || b[6] != b'-' || b[11] != b' ' {
        return None;
    }
    let (millis, rest) = fraction(&b[20..])?;
    let c = day_month_year(b, millis)?;
    Some((c, rest.strip_prefix(b" ").unwrap_or(rest)))
}

/// ISO 8601 / RFC 3339 as JSON access logs and nginx `$time_iso8601` write it:
/// `2026-11-25T14:00:00+00:00`, `…Z`, `…T14:00:00.123Z`.
pub fn parse_iso8601(b: &[u8]) -> Option<Stamp> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') {
        return None;
    }
    let (millis, rest) = fraction(&b[19..])?;
    let c = year_month_day(b, millis)?;
    let offset = match rest {
        b"Z" | b"z" => 0,
        _ => parse_offset(rest)?,
    };
    Some(c.at_offset(offset))
}

/// A local ISO 8601 date and time without a zone, as Ruby's `Logger` writes it
/// (`2026-12-07T15:25:08.418077`) and Puma's error lines (`2026-12-07 15:25:08 +0000`): the
/// time and what follows it (a zone, or the rest of the line).
pub fn parse_iso_local(b: &[u8]) -> Option<(Civil, &[u8])> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') {
        return None;
    }
    let (millis, rest) = fraction(&b[19..])?;
    Some((year_month_day(b, millis)?, rest))
}

/// A W3C extended log's `date` and `time` fields (`2026-11-25`, `14:00:03` or `14:00:03.123`),
/// which IIS and CloudFront write in UTC.
pub fn parse_w3c(date: &[u8], time: &[u8]) -> Option<Stamp> {
    if date.len() != 10 || date[4] != b'-' || date[7] != b'-' || time.len() < 8 {
        return None;
    }
    let mut joined = [b' '; 19];
    joined[..10].copy_from_slice(date);
    joined[11..].copy_from_slice(&time[..8]);
    let (millis, rest) = fraction(&time[8..])?;
    if !rest.is_empty() {
        return None;
    }
    Some(year_month_day(&joined, millis)?.at_offset(0))
}

/// The last second of year 9999: later times have no four-digit year to print.
const MAX_EPOCH_SECS: i64 = 253_402_300_799;

/// Seconds since the epoch with a fraction, as nginx `$msec` writes it: `1764079200.123`.
pub fn parse_epoch(b: &[u8]) -> Option<Stamp> {
    let (int, frac) = match memchr::memchr(b'.', b) {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &b""[..]),
    };
    if int.len() > 12 || frac.len() > 9 {
        return None;
    }
    let secs = i64::try_from(digits(int)?)
        .ok()
        .filter(|s| *s <= MAX_EPOCH_SECS)?;
    let ms = if frac.is_empty() {
        0
    } else {
        i64::from(millis_of(frac)?)
    };
    Some(Stamp {
        ms: secs * 1000 + ms,
        offset: 0,
    })
}

/// Epoch time as a whole number of units with `digits` decimals of a second (Apache's
/// `%{msec}t` has 3, `%{usec}t` 6).
pub fn parse_epoch_units(b: &[u8], digits: usize) -> Option<Stamp> {
    let split = b.len().checked_sub(digits).filter(|&n| n > 0)?;
    let (int, frac) = b.split_at(split);
    let mut stamp = parse_epoch(int).filter(|_| memchr::memchr(b'.', b).is_none())?;
    stamp.ms += i64::from(millis_of(frac)?);
    Some(stamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clf_round_trips_through_rfc3339() {
        let s = parse_clf(b"17/May/2015:10:05:03 +0200").unwrap();
        assert_eq!(s.rfc3339(), "2015-05-17T10:05:03+02:00");
        assert_eq!(s.secs(), 1_431_849_903);
    }

    #[test]
    fn error_log_times() {
        let c = parse_nginx_error(b"2026/11/25 14:00:09 [error]").unwrap();
        assert_eq!(c.at_offset(0).rfc3339(), "2026-11-25T14:00:09+00:00");
        let c = parse_apache_error(b"Wed Nov 25 14:00:09.123456 2026").unwrap();
        assert_eq!((c.second, c.millis), (9, 123));
        let c = parse_apache_error(b"Wed Nov  5 14:00:09 2026").unwrap();
        assert_eq!(c.day, 5);
        let (c, zone) = parse_php(b"25-Nov-2026 14:00:09 Europe/Paris").unwrap();
        assert_eq!((c.day, zone), (25, &b"Europe/Paris"[..]));
        let z = TimeZone::get("Europe/Paris").unwrap();
        assert_eq!(
            c.in_zone(&z).unwrap().rfc3339(),
            "2026-11-25T14:00:09+01:00"
        );
    }

    #[test]
    fn iso_and_epoch() {
        let s = parse_iso8601(b"2026-11-25T14:00:09.5Z").unwrap();
        assert_eq!(s.ms % 1000, 500);
        assert_eq!(parse_epoch(b"1795615209.500").unwrap(), s);
    }

    #[test]
    fn clock_agrees_with_parse_clf() {
        let mut clock = ClfClock::default();
        for t in [
            &b"17/May/2015:10:05:03 +0200"[..],
            b"17/May/2015:23:59:60 +0200",
            b"17/May/2015:24:00:00 +0200",
            b"18/May/2015:00:00:01 +0200",
            b"18/May/2015:00:00:01 -0700",
            b"18/May/2015:0x:00:01 -0700",
        ] {
            assert_eq!(
                clock.parse(t),
                parse_clf(t),
                "{}",
                String::from_utf8_lossy(t)
            );
        }
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(parse_clf(b"99/Foo/2015:10:05:03 +0000").is_none());
        assert!(parse_nginx_error(b"2026/13/25 14:00:09").is_none());
        assert!(parse_iso8601(b"2026-11-25T14:00:09+0").is_none());
    }

    #[test]
    fn out_of_range_offsets_and_epochs_are_rejected() {
        // Both used to be accepted and printed as non-RFC 3339 (`+100:39`, a five-digit year).
        assert_eq!(parse_offset(b"+9999"), None);
        assert_eq!(parse_offset(b"-24:00"), None);
        assert_eq!(parse_offset(b"+0060"), None);
        assert_eq!(parse_offset(b"+1400"), Some(50_400));
        assert!(parse_clf(b"17/May/2015:10:05:03 +9999").is_none());
        assert!(parse_epoch(b"999999999999.5").is_none());
        let last = parse_epoch(b"253402300799.999").unwrap();
        assert_eq!(last.rfc3339(), "9999-12-31T23:59:59+00:00");
    }
}
