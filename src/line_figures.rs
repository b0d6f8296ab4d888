//! What `diagnose` counts from every access line beside the 5xx scan: the response times per
//! status class ([`crate::response_times`]) and the requests per virtual host
//! ([`crate::host_requests`]). The scan reads only the 5xx lines whole; these figures need a
//! look at every line, so they share one pass over each block and one split of each line:
//!
//! 1. A block is looked at only if its first line carries a figure: a time at its end (a
//!    CLF-family line), a virtual host (any format). A log with neither costs one line's parse
//!    per block.
//! 2. Each line is split once up to its status (CLF family: the time, the status and the host
//!    in front, as the scan reads them) or parsed whole (the other formats with a host field:
//!    JSON, W3C, the load balancers').
//! 3. A line counts within the window and the scope, as the scan's own figures do.

use std::borrow::Cow;

use memchr::memchr;

use crate::formats::Stamp;
use crate::formats::access::{AccessFormat, clf_host_head};
use crate::formats::time::ClfClock;
use crate::host_requests::HostTally;
use crate::response_times::{TimesTally, trailing_time_us};
use crate::scan::{BlockAt, BlockObserver};

/// Counts the response times and the requests per host of the access lines.
pub struct LineFigures;

/// What one parser thread counted.
#[derive(Debug, Default)]
pub struct FiguresTally {
    pub times: TimesTally,
    pub hosts: HostTally,
}

impl BlockObserver for LineFigures {
    type Tally = FiguresTally;

    fn observe(&self, block: &[u8], at: &BlockAt<'_>, tally: &mut FiguresTally) {
        let first = &block[..memchr(b'\n', block).unwrap_or(block.len())];
        let first = first.strip_suffix(b"\r").unwrap_or(first);
        let times = matches!(at.format, AccessFormat::Clf(_)) && trailing_time_us(first).is_some();
        // A CLF line's host is counted by the scan itself, which splits the line anyway.
        let hosts = !matches!(at.format, AccessFormat::Clf(_))
            && at.parse(first, 0).is_some_and(|r| r.vhost.is_some());
        if !times && !hosts {
            return;
        }
        let mut clock = ClfClock::default();
        for line in crate::read::lines(block) {
            let offset = line.as_ptr() as usize - block.as_ptr() as usize;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let us = times.then(|| trailing_time_us(line)).flatten();
            if !hosts && us.is_none() {
                continue;
            }
            let Some((time, status, host)) = head(at, line, offset, &mut clock) else {
                continue;
            };
            if !at.window.contains(time) || !at.scope.admits_line(at.format, line, status) {
                continue;
            }
            if let Some(us) = us.filter(|_| (100..600).contains(&status)) {
                tally.times.add(status, us);
            }
            if let Some(host) = host.filter(|_| hosts) {
                tally.hosts.add(&host, 1);
            }
        }
    }

    fn merge(into: &mut FiguresTally, other: FiguresTally) {
        into.times.merge(&other.times);
        into.hosts.merge(other.hosts);
    }
}

/// A line's time, status and virtual host (as logged).
type Head<'l> = (Stamp, u16, Option<Cow<'l, [u8]>>);

/// A line's [`Head`]: a CLF-family line read up to its status, another parsed whole.
fn head<'l>(
    at: &BlockAt<'_>,
    line: &'l [u8],
    offset: usize,
    clock: &mut ClfClock,
) -> Option<Head<'l>> {
    match at.format {
        AccessFormat::Clf(_) => clf_host_head(line, clock)
            .map(|(time, status, host)| (time, status, host.map(Cow::Borrowed))),
        _ => at.parse(line, offset).map(|r| (r.time, r.status, r.vhost)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::access::ClfVariant;
    use crate::scan::Window;
    use crate::scope::Scope;

    fn count(format: AccessFormat, scope: &Scope, block: &[u8]) -> FiguresTally {
        let at = BlockAt {
            format: &format,
            also: None,
            input: 0,
            block_no: 0,
            window: Window::default(),
            scope,
            changes: &[],
        };
        let mut tally = FiguresTally::default();
        LineFigures.observe(block, &at, &mut tally);
        tally
    }

    fn line(host: &str, status: u16) -> String {
        format!(
            "{host} 10.0.0.1 - - [25/Nov/2026:14:00:03 +0000] \"GET / HTTP/1.1\" {status} 12 \"-\" \"x\" 0.104\n"
        )
    }

    #[test]
    fn times_are_counted_within_the_scope_and_clf_hosts_are_left_to_the_scan() {
        let block = [
            line("Shop.Example.com:443", 200),
            line("shop.example.com", 502),
            line("blog.example.com:80", 200),
            "garbage \x1b[31m\n".to_owned(),
        ]
        .concat();
        let vhost = AccessFormat::Clf(ClfVariant::VhostCombined);
        let all = count(vhost.clone(), &Scope::default(), block.as_bytes());
        assert!(all.hosts.top().is_empty());
        assert_eq!(all.times.percentiles()["2xx"].count, 2);
        assert_eq!(all.times.percentiles()["5xx"].count, 1);
        let five = Scope::new(None, None, Some("5xx")).unwrap();
        let some = count(vhost, &five, block.as_bytes());
        assert!(!some.times.percentiles().contains_key("2xx"));
        // A `combined` log without times: its block is left at its first line.
        let combined =
            br#"10.0.0.1 - - [25/Nov/2026:14:00:03 +0000] "GET / HTTP/1.1" 200 12 "-" "x""#;
        let format = AccessFormat::Clf(ClfVariant::Combined);
        let none = count(format, &Scope::default(), combined);
        assert!(none.hosts.top().is_empty() && none.times.percentiles().is_empty());
    }
}
