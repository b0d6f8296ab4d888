//! Response times per status class, where the access log carries them: nginx's
//! `$request_time` (seconds with milliseconds, `0.104`) or Apache's `%D` (microseconds)
//! appended to a `combined` or `vhost_combined` line, as many sites configure. Counted beside
//! the 5xx scan (by [`crate::line_figures`], in the same pass as the requests per host) into
//! fixed-size histograms (never a list of all the times), so a billion lines cost a few
//! kilobytes; percentiles are read off the histogram, to within its bucket width (an eighth
//! of an octave: about 9%).
//!
//! A block is looked at only if its first line ends with a time: a log without them costs one
//! line's look per block.

use std::collections::BTreeMap;

use memchr::memrchr;
use serde::Serialize;

use crate::scan::{BlockAt, BlockObserver};

/// Buckets per doubling of the time.
const SUB: u32 = 8;
/// Octaves of microseconds covered: up to 2^40 µs (12 days); longer times count in the last.
const OCTAVES: u32 = 41;
const BUCKETS: usize = (OCTAVES * SUB) as usize;

/// Response times of one status class, in microseconds, by bucket.
#[derive(Clone, Debug)]
struct Histogram {
    counts: Box<[u64; BUCKETS]>,
    total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: Box::new([0; BUCKETS]),
            total: 0,
        }
    }
}

/// The bucket of `us` microseconds: its octave, then which eighth of it.
fn bucket(us: u64) -> usize {
    let us = us.max(1);
    let octave = 63 - us.leading_zeros();
    let sub = if octave >= 3 {
        (us >> (octave - 3)) & 7
    } else {
        (us << (3 - octave)) & 7
    };
    ((octave * SUB) as usize + sub as usize).min(BUCKETS - 1)
}

/// The smallest time a bucket holds, in microseconds.
fn bucket_floor(index: usize) -> u64 {
    let (octave, sub) = (index as u32 / SUB, index as u64 % u64::from(SUB));
    ((8 + sub) << octave) >> 3
}

impl Histogram {
    fn add(&mut self, us: u64) {
        self.counts[bucket(us)] += 1;
        self.total += 1;
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.total += other.total;
    }

    /// The time under which a share `q` (0..1) of the responses came, in milliseconds: the
    /// middle of the bucket the rank falls in.
    fn quantile_ms(&self, q: f64) -> f64 {
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total.max(1));
        let mut seen = 0;
        for (i, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let (lo, hi) = (bucket_floor(i), bucket_floor(i + 1));
                return (lo + hi) as f64 / 2.0 / 1000.0;
            }
        }
        0.0
    }
}

/// The figures of one status class, as the JSON's `summary.response_times` has them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Percentiles {
    /// Responses with a time.
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
}

/// Response times by status class (1xx..5xx) of one parser thread, then of all.
#[derive(Debug, Default)]
pub struct TimesTally {
    classes: [Histogram; 5],
}

impl TimesTally {
    /// Counts a response of `status` (100 to 599) that took `us` microseconds.
    pub(crate) fn add(&mut self, status: u16, us: u64) {
        self.classes[usize::from(status / 100) - 1].add(us);
    }

    /// Adds `other` (another thread's) into this.
    pub(crate) fn merge(&mut self, other: &TimesTally) {
        for (a, b) in self.classes.iter_mut().zip(other.classes.iter()) {
            a.merge(b);
        }
    }

    /// The percentiles of each class that has times, keyed `1xx`…`5xx`; empty when the logs
    /// carry none.
    pub fn percentiles(&self) -> BTreeMap<String, Percentiles> {
        let round = |ms: f64| (ms * 1000.0).round() / 1000.0;
        self.classes
            .iter()
            .enumerate()
            .filter(|(_, h)| h.total > 0)
            .map(|(i, h)| {
                let figures = Percentiles {
                    count: h.total,
                    p50_ms: round(h.quantile_ms(0.50)),
                    p90_ms: round(h.quantile_ms(0.90)),
                    p99_ms: round(h.quantile_ms(0.99)),
                };
                (format!("{}xx", i + 1), figures)
            })
            .collect()
    }
}

/// Two observers over the same blocks (`seo`'s crawlers and the lines' figures).
impl<A: BlockObserver, B: BlockObserver> BlockObserver for (A, B) {
    type Tally = (A::Tally, B::Tally);

    fn observe(&self, block: &[u8], at: &BlockAt<'_>, tally: &mut Self::Tally) {
        self.0.observe(block, at, &mut tally.0);
        self.1.observe(block, at, &mut tally.1);
    }

    fn merge(into: &mut Self::Tally, other: Self::Tally) {
        A::merge(&mut into.0, other.0);
        B::merge(&mut into.1, other.1);
    }
}

/// The response time a line ends with, in microseconds: `$request_time` (`0.104`, three
/// decimals: nginx's own form, so no other field is mistaken for it), or `%D` (an integer)
/// right after the user agent's closing quote (a `common` line ends with its byte count).
pub(crate) fn trailing_time_us(line: &[u8]) -> Option<u64> {
    let space = memrchr(b' ', line)?;
    let token = &line[space + 1..];
    let digits = |b: &[u8]| {
        (!b.is_empty() && b.len() <= 12 && b.iter().all(u8::is_ascii_digit))
            .then(|| b.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')))
    };
    match token.iter().position(|&b| b == b'.') {
        Some(dot) if token.len() - dot == 4 => {
            Some(digits(&token[..dot])? * 1_000_000 + digits(&token[dot + 1..])? * 1_000)
        }
        Some(_) => None,
        None if space > 0 && line[space - 1] == b'"' => digits(token),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nginx_seconds_and_apache_microseconds_and_nothing_else() {
        let ua = br#"1.2.3.4 - - [25/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "x""#;
        let with = |tail: &str| [&ua[..], b" ", tail.as_bytes()].concat();
        assert_eq!(trailing_time_us(&with("0.104")), Some(104_000));
        assert_eq!(trailing_time_us(&with("60.001")), Some(60_001_000));
        assert_eq!(trailing_time_us(&with("1234")), Some(1234));
        assert_eq!(trailing_time_us(&with("-")), None);
        assert_eq!(trailing_time_us(&with("0.1")), None);
        assert_eq!(trailing_time_us(ua), None, "a user agent is no time");
        // `common`: the byte count ends the line.
        let common = br#"1.2.3.4 - - [25/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5123"#;
        assert_eq!(trailing_time_us(common), None);
        assert_eq!(trailing_time_us(b""), None);
        assert_eq!(trailing_time_us(&with("99999999999999999.999")), None);
    }

    #[test]
    fn buckets_are_an_eighth_of_an_octave() {
        // (Under 8 µs an octave has fewer than eight whole microseconds: no log writes those.)
        for us in [8, 9, 100, 104_000, 60_001_000, u64::MAX / 2] {
            let b = bucket(us);
            assert!(bucket_floor(b) <= us || b == BUCKETS - 1, "{us}");
            assert!(us < bucket_floor(b + 1) || b == BUCKETS - 1, "{us}");
        }
        assert!(bucket(104_000) < bucket(120_000));
    }

    #[test]
    fn percentiles_land_in_the_right_bucket() {
        let mut h = Histogram::default();
        for ms in 1..=100u64 {
            h.add(ms * 1000);
        }
        let within = |got: f64, want: f64| (got - want).abs() <= want * 0.07;
        assert!(within(h.quantile_ms(0.5), 50.0), "{}", h.quantile_ms(0.5));
        assert!(within(h.quantile_ms(0.9), 90.0), "{}", h.quantile_ms(0.9));
        assert!(within(h.quantile_ms(0.99), 99.0), "{}", h.quantile_ms(0.99));
    }
}
