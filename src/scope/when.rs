//! `--since` and `--until`: a duration back from the newest line, a date, or a date-time with
//! or without a zone, read with jiff's parsers (its "friendly" durations and ISO 8601 /
//! RFC 3339 times) rather than by hand.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, SpanRelativeTo, Timestamp};

/// The forms a window end takes, for the one line that says a value is none of them.
pub const FORMS: &str = "a duration back from the newest line (90m, 1h30m, 2d, 1w), a date \
     (2026-11-25), a date-time (2026-11-25 17:14, 2026-11-25T17:14:05) or one with a zone \
     (2026-11-25T17:14:05+01:00, ...Z)";

/// A window end as given, before the newest line is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhenSpec {
    /// This long before the newest line.
    Back(SignedDuration),
    /// This instant.
    At(Timestamp),
    /// A whole day in the logs' zone: its start for `--since`, its end for `--until`.
    Day(Date),
}

/// Which end of the window a value is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Since,
    Until,
}

/// What is wrong with a value: the flag, the value, and the forms that would do (not the
/// parser's own words, which speak of positions and grammar).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{flag} `{value}`: not a time; use {FORMS}")]
pub struct BadWhen {
    flag: &'static str,
    value: String,
}

impl End {
    pub fn flag(self) -> &'static str {
        match self {
            End::Since => "--since",
            End::Until => "--until",
        }
    }
}

impl WhenSpec {
    /// Reads a value in `tz` (the zone of times written without one); durations are
    /// whole units of at most weeks, a day being 24 hours, and not negative.
    pub fn parse(value: &str, tz: &TimeZone, end: End) -> Result<WhenSpec, BadWhen> {
        let bad = || BadWhen {
            flag: end.flag(),
            value: value.to_owned(),
        };
        let value = value.trim();
        if let Ok(span) = value.parse::<Span>() {
            let back = span
                .to_duration(SpanRelativeTo::days_are_24_hours())
                .map_err(|_| bad())?;
            return if back.is_negative() {
                Err(bad())
            } else {
                Ok(WhenSpec::Back(back))
            };
        }
        if let Ok(at) = value.parse::<Timestamp>() {
            return Ok(WhenSpec::At(at));
        }
        // jiff reads a date from a date-time too, dropping its time: only a value with no
        // time in it is a whole day.
        if !value.contains([':', 'T', 't', ' '])
            && let Ok(day) = value.parse::<Date>()
        {
            return Ok(WhenSpec::Day(day));
        }
        let civil: DateTime = value.parse().map_err(|_| bad())?;
        let at = tz.to_timestamp(civil).map_err(|_| bad())?;
        Ok(WhenSpec::At(at))
    }

    /// Whether the value counts back from the newest line (which must then be read first).
    pub fn is_relative(&self) -> bool {
        matches!(self, WhenSpec::Back(_))
    }

    /// The end in ms since the epoch: `newest` is the newest line's (0 when unknown).
    pub fn resolve(&self, newest: i64, tz: &TimeZone, end: End) -> Option<i64> {
        match *self {
            WhenSpec::Back(d) => {
                let back = i64::try_from(d.as_millis()).ok()?;
                newest.checked_sub(back)
            }
            WhenSpec::At(t) => Some(t.as_millisecond()),
            WhenSpec::Day(day) => {
                let start = tz.to_timestamp(day.to_datetime(jiff::civil::Time::midnight()));
                match end {
                    End::Since => start.ok().map(|t| t.as_millisecond()),
                    End::Until => {
                        let next = day
                            .tomorrow()
                            .ok()?
                            .to_datetime(jiff::civil::Time::midnight());
                        tz.to_timestamp(next).ok().map(|t| t.as_millisecond() - 1)
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEWEST: i64 = 1_795_626_840_000; // 2026-11-25T17:14:00Z

    /// A value read and resolved, as the command line does; `None` when out of range.
    fn window_end(
        value: &str,
        newest: i64,
        tz: &TimeZone,
        end: End,
    ) -> Result<Option<i64>, BadWhen> {
        Ok(WhenSpec::parse(value, tz, end)?.resolve(newest, tz, end))
    }

    fn since(value: &str, tz: &TimeZone) -> Result<i64, BadWhen> {
        Ok(window_end(value, NEWEST, tz, End::Since)?.expect("in range"))
    }

    #[test]
    fn durations_in_the_usual_forms_count_back_from_the_newest_line() {
        let utc = TimeZone::UTC;
        for (value, minutes) in [
            ("90m", 90),
            ("1h30m", 90),
            ("1h 30m", 90),
            ("2h30m", 150),
            ("2d", 2 * 1440),
            ("1w", 7 * 1440),
            ("90s", 1),
            ("1 hour", 60),
            ("PT1H", 60),
        ] {
            let want = NEWEST - minutes * 60_000 - i64::from(value == "90s") * 30_000;
            assert_eq!(since(value, &utc), Ok(want), "{value}");
        }
    }

    #[test]
    fn dates_and_date_times_are_read_in_the_logs_zone_unless_they_name_one() {
        let paris = TimeZone::get("Europe/Paris").unwrap();
        let ms = |s: &str| s.parse::<Timestamp>().unwrap().as_millisecond();
        assert_eq!(since("2026-11-25", &paris), Ok(ms("2026-11-24T23:00:00Z")));
        assert_eq!(
            window_end("2026-11-25", NEWEST, &paris, End::Until),
            Ok(Some(ms("2026-11-25T23:00:00Z") - 1))
        );
        assert_eq!(
            since("2026-11-25 17:14", &paris),
            Ok(ms("2026-11-25T16:14:00Z"))
        );
        assert_eq!(
            since("2026-11-25T17:14", &paris),
            Ok(ms("2026-11-25T16:14:00Z"))
        );
        assert_eq!(
            since("2026-11-25T17:14:05", &paris),
            Ok(ms("2026-11-25T16:14:05Z"))
        );
        assert_eq!(
            since("2026-11-25T17:14+01:00", &paris),
            Ok(ms("2026-11-25T16:14:00Z"))
        );
        assert_eq!(
            since("2026-11-25T17:14:00Z", &paris),
            Ok(ms("2026-11-25T17:14:00Z"))
        );
        assert_eq!(since("1970-01-01T00:00:01Z", &paris), Ok(1000));
    }

    #[test]
    fn a_bad_value_names_the_flag_the_value_and_the_forms_without_parser_internals() {
        let utc = TimeZone::UTC;
        for bad in [
            "yesterday",
            "-5m",
            "5m ago",
            "2026-13-01",
            "1h3x",
            "",
            "3 months",
            "1y",
        ] {
            let e = since(bad, &utc).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("--since `{bad}`: not a time; use ")),
                "{e}"
            );
            assert!(e.contains("90m, 1h30m, 2d, 1w"), "{e}");
            assert!(!e.contains("position") && !e.contains('\n'), "{e}");
        }
        // More weeks than a span holds.
        assert!(since("99999999w", &utc).is_err());
    }
}
