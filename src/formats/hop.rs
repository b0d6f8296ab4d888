//! Which access logs are another's upstream hop: an application server behind a proxy
//! (gunicorn's `--access-logfile`, Tomcat's access valve, uWSGI's request lines) logging the
//! requests the proxy passed it. Read beside the proxy's access log, its lines are the same
//! client requests a second time: evidence, never counted again. Read alone, they are the
//! count.
//!
//! Told from content only, on a sample of each access log's head (a file's name says nothing
//! a rotation or a container keeps): a log is the hop of another when
//! - every request it logs came from one address (the proxy connecting to it) while the
//!   other's came from another (the proxy's clients), or its format is one only
//!   an application server writes, behind whatever proxy ([`AccessFormat::is_hop`]); two
//!   peers behind a load balancer, or two servers tested from one address, see the same
//!   client(s) and are never taken for each other's hop;
//! - and most of its requests (method and path) match one of the other's each, within a few
//!   seconds (the hop logs when it started or ended, the proxy after it; a request the proxy
//!   gave up on has another status in each, and the hop may have begun it only later, from
//!   its queue, once a worker was free).
//!
//! Where each of two logs could be the other's hop (a lab's clients on one address, its proxy
//! on another), the one whose requests the other has more of is the hop (the proxy also
//! logged what it answered itself: the upstream down, or too slow).

use std::hash::BuildHasher;

use rustc_hash::FxBuildHasher;

use super::access::AccessFormat;
use super::{request_method, request_path};
use crate::read;

/// Requests of an access log's head looked at.
const SAMPLE: usize = 2048;

/// How far apart the two hops of one request may be logged: a request's duration (the hop
/// may stamp its start, the proxy its end) and both clocks' rounding to the second.
const WINDOW_MS: i64 = 3_000;

/// How much later than the proxy the hop may log a request the proxy gave up on (a 499, 502,
/// 503 or 504): one that waited in the application server's queue until a worker was free,
/// which its own timeout bounds (gunicorn's 30 s by default, uWSGI's harakiri).
const QUEUED_MS: i64 = 60_000;

/// Of the hop's requests in the other's sampled span, the share (in fifths) that must match
/// one of the other's: all but the few the proxy gave up on or the hop never finished.
const MATCHED_FIFTHS: usize = 4;

/// What the head of one access log says about who sent its requests and which they were.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HopSample {
    /// The first two distinct client addresses (two tell "one" from "more").
    clients: Vec<Box<[u8]>>,
    /// Whether its format is an application server's own behind a proxy (uWSGI's).
    named: bool,
    /// Each sampled request, in time order: small, as every access input of a run keeps its
    /// sample until all are read.
    requests: Vec<Sampled>,
}

/// One request of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Sampled {
    /// When it was logged, in ms.
    ms: i64,
    /// Its method and path, hashed.
    key: u64,
    /// Whether the server logging it gave up on it (499, 502, 503, 504): its upstream may
    /// have begun it only later.
    gave_up: bool,
}

impl HopSample {
    /// The sample of a block (a file's first) of an access log in `format`.
    pub fn of(format: &AccessFormat, block: &[u8]) -> HopSample {
        let mut s = HopSample {
            named: AccessFormat::is_hop(format.name()),
            ..HopSample::default()
        };
        for r in read::lines(block)
            .filter_map(|l| format.parse(l))
            .take(SAMPLE)
        {
            if s.clients.len() < 2 && !s.clients.iter().any(|c| **c == *r.client) {
                s.clients.push(r.client.as_ref().into());
            }
            s.requests.push(Sampled {
                ms: r.time.ms,
                key: request_key(&r.request),
                gave_up: matches!(r.status, 499 | 502..=504),
            });
        }
        s.requests.sort_unstable();
        s
    }

    /// Whether its requests may be another log's hop: all from one peer, or in a format only
    /// an application server writes.
    fn may_be_hop(&self) -> bool {
        self.named || self.clients.len() == 1
    }

    /// Whether it may be `hop`'s proxy: another kind of log than an application server's, whose
    /// clients are not only the hop's one peer.
    fn may_proxy(&self, hop: &HopSample) -> bool {
        !self.named && (hop.named || self.clients.iter().any(|c| Some(c) != hop.clients.first()))
    }

    /// How this log has `hop`'s requests, where it has most of those within its sample's span
    /// (each of its own matched once).
    fn cover(&self, hop: &HopSample) -> Option<Cover> {
        let (first, last) = (self.requests.first()?, self.requests.last()?);
        let span = first.ms - WINDOW_MS..=last.ms + WINDOW_MS;
        let mut used = vec![false; self.requests.len()];
        let mut c = Cover::default();
        for r in hop.requests.iter().filter(|r| span.contains(&r.ms)) {
            c.seen += 1;
            if let Some(i) = self.same_request(r, &used) {
                used[i] = true;
                c.matched += 1;
                c.lag_ms += self.requests[i].ms - r.ms;
            }
        }
        (c.seen > 0 && c.matched * 5 >= c.seen * MATCHED_FIFTHS).then_some(c)
    }

    /// The place of this log's request, not yet `used`, that is `hop`'s request: the first
    /// with its method and path logged within [`WINDOW_MS`] of it, else the last one this log
    /// gave up on within [`QUEUED_MS`] before it.
    fn same_request(&self, hop: &Sampled, used: &[bool]) -> Option<usize> {
        let at = |from: i64| self.requests.partition_point(|r| r.ms < from);
        let (queued, near) = (at(hop.ms - QUEUED_MS), at(hop.ms - WINDOW_MS));
        let fits = |i: &usize| self.requests[*i].key == hop.key && !used[*i];
        (near..self.requests.len())
            .take_while(|&i| self.requests[i].ms <= hop.ms + WINDOW_MS)
            .find(fits)
            .or_else(|| {
                (queued..near)
                    .rev()
                    .find(|i| fits(i) && self.requests[*i].gave_up)
            })
    }
}

/// How much of one log's sample another has.
#[derive(Debug, Default, Clone, Copy)]
struct Cover {
    /// Its requests within the other's span, and those matched.
    seen: usize,
    matched: usize,
    /// How much later the other logged the matched requests, in all.
    lag_ms: i64,
}

/// The log `hop` (at `h`) covered by `proxy` (at `p`, `by` how), if it is `proxy`'s hop: unless
/// `proxy` could as well be its hop (two logs of one address each, as a lab's clients and its
/// proxy are, covering each other), it is; else the hop is the one more of whose requests the
/// other has, then the one with fewer requests, then the one logging earlier (an upstream is
/// done before its proxy), then the one given later.
fn is_hop_of((h, hop): (usize, &HopSample), (p, proxy): (usize, &HopSample), by: Cover) -> bool {
    let back = (proxy.may_be_hop() && hop.may_proxy(proxy)).then(|| hop.cover(proxy));
    let Some(back) = back.flatten() else {
        return true;
    };
    let share = (by.matched * back.seen).cmp(&(back.matched * by.seen));
    share
        .then(proxy.requests.len().cmp(&hop.requests.len()))
        .then(by.lag_ms.cmp(&back.lag_ms))
        .then(h.cmp(&p))
        .is_gt()
}

/// The method and path of a request line (`GET /a`, the query left out as everywhere), hashed.
fn request_key(request: &[u8]) -> u64 {
    let method = request_method(request).unwrap_or_default();
    FxBuildHasher.hash_one((method, request_path(request)))
}

/// For each sample (by its place in `samples`), the place of the log it is the hop of, if any:
/// the first that covers it.
pub fn hops(samples: &[&HopSample]) -> Vec<Option<usize>> {
    samples
        .iter()
        .enumerate()
        .map(|(h, hop)| {
            if !hop.may_be_hop() {
                return None;
            }
            samples.iter().enumerate().find_map(|(p, proxy)| {
                let by = (p != h && proxy.may_proxy(hop)).then(|| proxy.cover(hop))??;
                is_hop_of((h, hop), (p, proxy), by).then_some(p)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::access::ClfVariant;

    fn combined(lines: &[(&str, &str, &str, u16)]) -> HopSample {
        let text: String = lines
            .iter()
            .map(|(client, time, path, status)| {
                format!(
                    "{client} - - [25/Nov/2026:{time} +0000] \"GET {path} HTTP/1.1\" {status} 5 \"-\" \"x\"\n"
                )
            })
            .collect();
        HopSample::of(&AccessFormat::Clf(ClfVariant::Combined), text.as_bytes())
    }

    /// nginx's log of clients, and gunicorn's of the same requests from nginx's address: the
    /// second is the first's hop, whatever the order they are given in; the 504 nginx gave
    /// up on is the request gunicorn finished later, with its own status.
    #[test]
    fn an_app_servers_log_of_the_proxys_requests_is_its_hop() {
        let nginx = combined(&[
            ("203.0.113.7", "10:00:00", "/a", 200),
            ("198.51.100.2", "10:00:01", "/b?x=1", 500),
            ("203.0.113.7", "10:00:05", "/slow", 504),
            ("203.0.113.7", "10:00:06", "/static.css", 200),
        ]);
        let app = combined(&[
            ("127.0.0.2", "10:00:00", "/a", 200),
            ("127.0.0.2", "10:00:01", "/b?x=2", 500),
            ("127.0.0.2", "10:00:07", "/slow", 200),
        ]);
        assert_eq!(hops(&[&nginx, &app]), [None, Some(0)]);
        assert_eq!(hops(&[&app, &nginx]), [Some(1), None]);
        assert_eq!(hops(&[&app]), [None]);
    }

    /// uWSGI's request lines behind nginx: three requests nginx gave up on (504) after a
    /// second, which uWSGI began seconds later, once its worker was free, are still the same
    /// requests; a request nginx answered is not matched that late.
    #[test]
    fn requests_the_proxy_gave_up_on_may_be_begun_later_by_its_hop() {
        let mut nginx = vec![
            ("203.0.113.7", "10:00:00", "/a", 200),
            ("203.0.113.7", "10:00:00", "/b", 500),
        ];
        nginx.extend([("198.51.100.2", "10:00:02", "/queued", 504); 3]);
        let mut app = vec![
            ("127.0.0.2", "10:00:00", "/a", 200),
            ("127.0.0.2", "10:00:00", "/b", 500),
        ];
        app.extend([("127.0.0.2", "10:00:09", "/queued", 200); 3]);
        nginx.push(("203.0.113.7", "10:00:10", "/c", 200));
        app.push(("127.0.0.2", "10:00:10", "/c", 200));
        assert_eq!(hops(&[&combined(&nginx), &combined(&app)]), [None, Some(0)]);
        nginx.iter_mut().for_each(|r| r.3 = 200);
        assert_eq!(hops(&[&combined(&nginx), &combined(&app)]), [None, None]);
    }

    /// A lab's nginx, its clients on 127.0.0.1, and Tomcat's access valve, nginx connecting
    /// from 127.0.0.2: each could be the other's hop. Tomcat's is, for nginx also answered a
    /// request Tomcat never logged; with the same requests in both, the one given later.
    #[test]
    fn of_two_single_address_logs_the_one_with_less_is_the_hop() {
        let nginx = combined(&[
            ("127.0.0.1", "10:00:00", "/a", 200),
            ("127.0.0.1", "10:00:01", "/b", 500),
            ("127.0.0.1", "10:00:02", "/hang", 502),
        ]);
        let tomcat = combined(&[
            ("127.0.0.2", "10:00:00", "/a", 200),
            ("127.0.0.2", "10:00:01", "/b", 500),
        ]);
        assert_eq!(hops(&[&nginx, &tomcat]), [None, Some(0)]);
        assert_eq!(hops(&[&tomcat, &nginx]), [Some(1), None]);
        let same = combined(&[
            ("127.0.0.1", "10:00:00", "/a", 200),
            ("127.0.0.1", "10:00:01", "/b", 500),
        ]);
        assert_eq!(hops(&[&same, &tomcat]), [None, Some(0)]);
        assert_eq!(hops(&[&tomcat, &same]), [None, Some(0)]);
    }

    /// Two servers tested from one address (or two peers behind one balancer) see the same
    /// client: neither is the other's hop, however alike their requests.
    #[test]
    fn peers_with_the_same_clients_are_both_counted() {
        let one = combined(&[("127.0.0.1", "10:00:00", "/a", 200)]);
        let other = combined(&[("127.0.0.1", "10:00:00", "/a", 200)]);
        assert_eq!(hops(&[&one, &other]), [None, None]);
    }

    /// One peer's log whose requests are not the other's (other paths, other times, or
    /// only a few of them) is a log of its own.
    #[test]
    fn other_requests_from_one_peer_are_not_a_hop() {
        let nginx = combined(&[
            ("203.0.113.7", "10:00:00", "/a", 200),
            ("198.51.100.2", "10:00:01", "/b", 200),
        ]);
        let elsewhere = combined(&[("10.0.0.9", "10:00:00", "/c", 200)]);
        let later = combined(&[("10.0.0.9", "11:00:00", "/a", 200)]);
        let twice = combined(&[
            ("10.0.0.9", "10:00:00", "/a", 200),
            ("10.0.0.9", "10:00:00", "/a", 200),
        ]);
        for log in [&elsewhere, &later, &twice] {
            assert_eq!(hops(&[&nginx, log]), [None, None], "{log:?}");
        }
    }
}
