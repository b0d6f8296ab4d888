//! Requests per virtual host, for the per-host table of the HTML report and the JSON's
//! `summary.requests_by_host`: how much traffic each host had beside its 5xx. Counted beside
//! the 5xx scan by a [`BlockObserver`], one tally per parser thread merged at the end.
//!
//! The scan itself reads a host only from the 5xx lines; counting every line's host costs a
//! look at each line, so it is paid only where the log carries a host: a block is looked at
//! only if its first line names one (a log without hosts costs one line's parse per block).
//! CLF-family lines (`vhost_combined`) are read up to their status, as the scan reads them;
//! other formats with a host field (JSON, W3C, the load balancers') are parsed whole.
//!
//! Hosts are counted by their bytes as logged (port off) and named as the incidents name
//! them (without case, cleaned of control characters) at the end. At most [`MAX_KEYS`]
//! distinct hosts per thread: a log of random `Host` headers stays bounded, the lines of hosts
//! past it counted in `other` (only then may the figures depend on which thread saw a host
//! first).

use std::collections::BTreeMap;

use memchr::memchr;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::engine::identity::host_key;
use crate::formats::access::{AccessFormat, clf_host_head};
use crate::formats::clean_text;
use crate::formats::time::ClfClock;
use crate::scan::{BlockAt, BlockObserver};

/// Distinct hosts counted per thread.
pub const MAX_KEYS: usize = 100_000;

/// Hosts listed in the JSON, the most requested first.
pub const MAX_LISTED: usize = 1_000;

/// One host's requests, as `summary.requests_by_host` lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HostRequests {
    pub host: String,
    pub requests: u64,
}

/// Requests by host of one parser thread, then of all.
#[derive(Debug, Default)]
pub struct HostTally {
    counts: FxHashMap<Box<[u8]>, u64>,
    /// Lines of hosts past [`MAX_KEYS`].
    other: u64,
}

impl HostTally {
    fn add(&mut self, host: &[u8], n: u64) {
        if let Some(count) = self.counts.get_mut(host) {
            *count += n;
        } else if self.counts.len() < MAX_KEYS {
            self.counts.insert(host.into(), n);
        } else {
            self.other += n;
        }
    }

    /// The hosts by name as the incidents have them, the most requested first (then by
    /// name), at most [`MAX_LISTED`]; empty when no line named a host.
    pub fn top(&self) -> Vec<HostRequests> {
        let mut by: BTreeMap<Box<str>, u64> = BTreeMap::new();
        for (raw, n) in &self.counts {
            *by.entry(host_key(&clean_text(raw))).or_default() += n;
        }
        let mut list: Vec<HostRequests> = by
            .into_iter()
            .map(|(host, requests)| HostRequests {
                host: host.into(),
                requests,
            })
            .collect();
        list.sort_by(|a, b| {
            b.requests
                .cmp(&a.requests)
                .then_with(|| a.host.cmp(&b.host))
        });
        list.truncate(MAX_LISTED);
        list
    }
}

/// Counts the requests of each host the access lines name, within the window and scope.
pub struct HostObserver;

impl BlockObserver for HostObserver {
    type Tally = HostTally;

    fn observe(&self, block: &[u8], at: &BlockAt<'_>, tally: &mut HostTally) {
        let first = &block[..memchr(b'\n', block).unwrap_or(block.len())];
        let first = first.strip_suffix(b"\r").unwrap_or(first);
        if at.parse(first, 0).is_none_or(|r| r.vhost.is_none()) {
            return;
        }
        let mut clock = ClfClock::default();
        for line in crate::read::lines(block) {
            let offset = line.as_ptr() as usize - block.as_ptr() as usize;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let (time, status, host) = match at.format {
                AccessFormat::Clf(_) => match clf_host_head(line, &mut clock) {
                    Some((time, status, Some(host))) => (time, status, host.into()),
                    _ => continue,
                },
                _ => match at.parse(line, offset) {
                    Some(r) => match r.vhost {
                        Some(host) => (r.time, r.status, host),
                        None => continue,
                    },
                    None => continue,
                },
            };
            if at.window.contains(time) && at.scope.admits_line(at.format, line, status) {
                tally.add(&host, 1);
            }
        }
    }

    fn merge(into: &mut HostTally, other: HostTally) {
        into.other += other.other;
        for (host, n) in other.counts {
            into.add(&host, n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::access::ClfVariant;
    use crate::scan::Window;
    use crate::scope::Scope;

    fn count(format: AccessFormat, scope: &Scope, block: &[u8]) -> Vec<HostRequests> {
        let at = BlockAt {
            format: &format,
            also: None,
            input: 0,
            block_no: 0,
            window: Window::default(),
            scope,
            changes: &[],
        };
        let mut tally = HostTally::default();
        HostObserver.observe(block, &at, &mut tally);
        tally.top()
    }

    fn line(host: &str, status: u16) -> String {
        format!(
            "{host} 10.0.0.1 - - [25/Nov/2026:14:00:03 +0000] \"GET / HTTP/1.1\" {status} 12 \"-\" \"x\" 0.104\n"
        )
    }

    #[test]
    fn hosts_are_counted_as_incidents_name_them_and_only_where_the_log_names_them() {
        let block = [
            line("Shop.Example.com:443", 200),
            line("shop.example.com", 502),
            line("blog.example.com:80", 200),
            "garbage \x1b[31m\n".to_owned(),
        ]
        .concat();
        let vhost = AccessFormat::Clf(ClfVariant::VhostCombined);
        let all = count(vhost.clone(), &Scope::default(), block.as_bytes());
        let want = |list: &[(&str, u64)]| -> Vec<HostRequests> {
            list.iter()
                .map(|&(host, requests)| HostRequests {
                    host: host.to_owned(),
                    requests,
                })
                .collect()
        };
        assert_eq!(
            all,
            want(&[("shop.example.com", 2), ("blog.example.com", 1)])
        );
        let five = Scope::new(None, None, Some("5xx")).unwrap();
        assert_eq!(
            count(vhost, &five, block.as_bytes()),
            want(&[("shop.example.com", 1)])
        );
        // A `combined` log names no host: its block is left at its first line.
        let combined =
            br#"10.0.0.1 - - [25/Nov/2026:14:00:03 +0000] "GET / HTTP/1.1" 200 12 "-" "x""#;
        let format = AccessFormat::Clf(ClfVariant::Combined);
        assert!(count(format, &Scope::default(), combined).is_empty());
    }

    #[test]
    fn random_hosts_past_the_bound_are_counted_apart() {
        let mut tally = HostTally::default();
        for i in 0..MAX_KEYS + 10 {
            tally.add(format!("h{i}.test").as_bytes(), 1);
        }
        assert_eq!(tally.counts.len(), MAX_KEYS);
        assert_eq!(tally.other, 10);
        assert_eq!(tally.top().len(), MAX_LISTED);
    }
}
