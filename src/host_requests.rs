//! Requests per virtual host, for the per-host table of the HTML report and the JSON's
//! `summary.requests_by_host`: how much traffic each host had beside its 5xx. Counted by the
//! scan's own pass for the CLF family (`vhost_combined`), by [`crate::line_figures`] for the
//! other formats that name a host (one tally per parser thread, merged at the end), only where
//! the log names hosts.
//!
//! Hosts are counted by their bytes as logged (port off) and named as the incidents name
//! them (without case, cleaned of control characters) at the end. At most [`MAX_KEYS`]
//! distinct hosts per thread: a log of random `Host` headers stays bounded, the lines of hosts
//! past it counted in `other` (only then may the figures depend on which thread saw a host
//! first).

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::engine::identity::host_key;
use crate::formats::clean_text;

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
    /// Counts `n` requests for `host` (as logged, port off).
    pub(crate) fn add(&mut self, host: &[u8], n: u64) {
        if let Some(count) = self.counts.get_mut(host) {
            *count += n;
        } else if self.counts.len() < MAX_KEYS {
            self.counts.insert(host.into(), n);
        } else {
            self.other += n;
        }
    }

    /// Adds `other` (another thread's) into this.
    pub(crate) fn merge(&mut self, other: HostTally) {
        self.other += other.other;
        for (host, n) in other.counts {
            self.add(&host, n);
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

#[cfg(test)]
mod tests {
    use super::*;

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
