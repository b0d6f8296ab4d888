//! AWS load balancer access logs: Application Load Balancer (`alb`) and Classic Load Balancer
//! (`elb`) entries, space-separated with some fields in double quotes.
//!
//! - ALB: `type time elb client:port target:port request_processing_time
//!   target_processing_time response_processing_time elb_status_code target_status_code
//!   received_bytes sent_bytes "request" "user_agent" ssl_cipher ssl_protocol target_group_arn
//!   "trace_id" "domain_name" "chosen_cert_arn" matched_rule_priority request_creation_time
//!   "actions_executed" "redirect_url" "error_reason" …` (newer logs add fields at the end).
//! - Classic ELB: `timestamp elb client:port backend:port request_processing_time
//!   backend_processing_time response_processing_time elb_status_code backend_status_code
//!   received_bytes sent_bytes "request" "user_agent" ssl_cipher ssl_protocol`.
//!
//! A `-` target (backend) status means no target answered: the load balancer made the 5xx
//! itself (it could not connect, the target closed the connection, or it timed out), which is
//! the line's reason; ALB's `error_reason` says why a Lambda target failed.

use std::borrow::Cow;

use super::access::{parse_status, quoted, strip_port};
use super::time::parse_iso8601;
use super::{AccessRecord, Stamp, split_url};

/// Which of the two layouts: they differ by ALB's leading `type` field and what follows the
/// user agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AwsLb {
    Alb,
    Elb,
}

/// The fields we read, by position after the ALB `type` field (ELB has none).
const TIME: usize = 0;
const CLIENT: usize = 2;
const ELB_STATUS: usize = 7;
const TARGET_STATUS: usize = 8;
const REQUEST: usize = 11;
const USER_AGENT: usize = 12;
/// ALB's `error_reason`, counted like the others (after `type`).
const ERROR_REASON: usize = 23;
/// Fields up to and including the user agent and TLS fields that every entry has.
const MIN_FIELDS: usize = 15;

/// ALB's request types.
const ALB_TYPES: [&[u8]; 7] = [b"http", b"https", b"h2", b"grpcs", b"ws", b"wss", b"grpc"];

/// The fields of one entry, after ALB's `type`; `MAX` is as far as we read.
const MAX: usize = ERROR_REASON + 1;

impl AwsLb {
    /// The name reported in `inputs[].format`.
    pub fn name(self) -> &'static str {
        match self {
            AwsLb::Alb => "alb",
            AwsLb::Elb => "elb",
        }
    }

    /// The fields of a line of this layout (quoted ones without their quotes) and how many
    /// there are; `None` if it is not one.
    fn fields(self, line: &[u8]) -> Option<([&[u8]; MAX], usize)> {
        let mut rest = line;
        if self == AwsLb::Alb {
            let (kind, after) = field(rest);
            if !ALB_TYPES.contains(&kind) {
                return None;
            }
            rest = after?;
        } else if !looks_like_iso8601(rest) {
            // Most lines that get here are not ELB's: no need to read them through.
            return None;
        }
        let mut values: [&[u8]; MAX] = [b"-"; MAX];
        let mut n = 0;
        loop {
            let (value, after) = field(rest);
            if let Some(slot) = values.get_mut(n) {
                *slot = value;
            }
            n += 1;
            match after {
                Some(after) => rest = after,
                None => break,
            }
        }
        let enough = match self {
            AwsLb::Alb => n > MIN_FIELDS,
            AwsLb::Elb => n == MIN_FIELDS - 1 || n == MIN_FIELDS,
        };
        enough.then_some((values, n))
    }

    /// The time and status of a line, without building its record.
    pub fn head(self, line: &[u8]) -> Option<(Stamp, u16)> {
        let (v, _) = self.fields(line)?;
        Some((parse_iso8601(v[TIME])?, parse_status(v[ELB_STATUS])?))
    }

    /// Parses one line.
    pub fn parse(self, line: &[u8]) -> Option<AccessRecord<'_>> {
        let (v, n) = self.fields(line)?;
        let time = parse_iso8601(v[TIME])?;
        let status = parse_status(v[ELB_STATUS])?;
        let (host, request) = origin_form(v[REQUEST]);
        let reason = (status >= 500)
            .then(|| self.reason(&v, n))
            .flatten()
            .map(Cow::Owned);
        Some(AccessRecord {
            time,
            client: Cow::Borrowed(strip_port(v[CLIENT])),
            vhost: host.map(|h| Cow::Borrowed(strip_port(h))),
            request,
            status,
            user_agent: Cow::Borrowed(v[USER_AGENT]),
            reason,
            request_id: None,
        })
    }

    /// Why the load balancer answered a 5xx itself, in the log's own field names: ALB's
    /// `error_reason` (`error_reason=LambdaUnhandled`) where it gives one, else a `-` target
    /// status with the status the load balancer answered (`elb_status_code=504
    /// target_status_code=-`: no target answered); `None` when a target answered the 5xx (its
    /// own logs say why).
    fn reason(self, v: &[&[u8]; MAX], n: usize) -> Option<Vec<u8>> {
        let error = v[ERROR_REASON];
        if self == AwsLb::Alb && n > ERROR_REASON && !error.is_empty() && error != b"-" {
            return Some([&b"error_reason="[..], error].concat());
        }
        if v[TARGET_STATUS] != b"-" {
            return None;
        }
        let target = match self {
            AwsLb::Alb => &b" target_status_code=-"[..],
            AwsLb::Elb => b" backend_status_code=-",
        };
        Some([&b"elb_status_code="[..], v[ELB_STATUS], target].concat())
    }
}

/// Whether `b` starts like an ISO 8601 time (`2015-05-13T23:39:43`).
fn looks_like_iso8601(b: &[u8]) -> bool {
    b.len() >= 19 && b[4] == b'-' && b[7] == b'-' && b[10] == b'T'
}

/// One field at the start of `b`: a quoted one's content, or up to the next space; and the
/// rest after the space that ends it, if there is more.
fn field(b: &[u8]) -> (&[u8], Option<&[u8]>) {
    let (value, rest) = match b.strip_prefix(b"\"") {
        Some(inner) => quoted(inner),
        None => {
            let end = memchr::memchr(b' ', b).unwrap_or(b.len());
            (&b[..end], &b[end..])
        }
    };
    (value, rest.strip_prefix(b" "))
}

/// The request line with an absolute target (`GET http://host:80/p?q HTTP/1.1`, as the load
/// balancers log it) in origin form (`GET /p?q HTTP/1.1`), and the host it named.
fn origin_form(request: &[u8]) -> (Option<&[u8]>, Cow<'_, [u8]>) {
    let mut parts = request.splitn(3, |&b| b == b' ');
    let (method, target, version) = (parts.next(), parts.next(), parts.next());
    match (method, target.and_then(split_url)) {
        (Some(method), Some((host, path))) => {
            let mut line = method.to_vec();
            line.push(b' ');
            line.extend_from_slice(path);
            if let Some(v) = version {
                line.push(b' ');
                line.extend_from_slice(v);
            }
            (Some(host), Cow::Owned(line))
        }
        _ => (None, Cow::Borrowed(request)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALB_502: &[u8] = br#"http 2018-11-30T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 - 0.000 0.001 0.000 502 - 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337364-23a8c76965a2ef7629b185e3" "-" "-" 0 2018-11-30T22:22:48.364000Z "forward" "-" "LambdaInvalidResponse""#;

    #[test]
    fn alb_entry_with_its_reason() {
        let r = AwsLb::Alb.parse(ALB_502).unwrap();
        assert_eq!(
            (r.status, &*r.client, r.vhost.as_deref(), &*r.request),
            (
                502,
                &b"192.168.131.39"[..],
                Some(&b"www.example.com"[..]),
                &b"GET / HTTP/1.1"[..]
            )
        );
        assert_eq!(
            r.reason.as_deref(),
            Some(&b"error_reason=LambdaInvalidResponse"[..])
        );
        // Without an error reason, a `-` target status says no target answered.
        let no_target = String::from_utf8_lossy(ALB_502).replace("LambdaInvalidResponse", "-");
        let r = AwsLb::Alb.parse(no_target.as_bytes()).unwrap();
        assert_eq!(
            r.reason.as_deref(),
            Some(&b"elb_status_code=502 target_status_code=-"[..])
        );
        assert_eq!(AwsLb::Alb.head(ALB_502), Some((r.time, 502)));
        assert!(AwsLb::Elb.parse(ALB_502).is_none());
    }

    #[test]
    fn elb_entry() {
        let ok = br#"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 0.001048 0.000057 200 200 0 29 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" - -"#;
        let r = AwsLb::Elb.parse(ok).unwrap();
        assert_eq!((r.status, r.reason), (200, None));
        let timeout = br#"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 - -1 -1 -1 504 - 0 0 "GET http://www.example.com:80/slow HTTP/1.1" "curl/7.38.0" - -"#;
        let r = AwsLb::Elb.parse(timeout).unwrap();
        assert_eq!(
            (r.path(), r.reason.as_deref()),
            (
                &b"/slow"[..],
                Some(&b"elb_status_code=504 backend_status_code=-"[..])
            )
        );
        // A TCP listener's entry has no HTTP status.
        let tcp = br#"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.001069 0.000028 0.000041 - - 82 305 "- - - " "-" - -"#;
        assert!(AwsLb::Elb.parse(tcp).is_none());
        assert!(AwsLb::Alb.parse(ok).is_none());
    }
}
