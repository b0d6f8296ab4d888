//! What a run looks at: `--host`, `--path` and `--status` narrow which access-log responses
//! count, and (for the incidents error records make on their own) which error records do.
//!
//! 1. An access-log line counts when its status is in `--status`, its virtual host matches
//!    `--host` and its path `--path` ([`Scope::admit`]); the status is read from every line
//!    anyway, the rest only when a host or path filter asks for it.
//! 2. An error record's incident counts when the host and the path it names match
//!    ([`Scope::admits_event`]); one that names no host (a PHP-FPM or PHP record) is left out
//!    under `--host`, one that names no request under `--path`: nothing places it there.
//!    Error records carry no status: `--status` leaves them as they are.
//! 3. The filters are asked before anything is counted, so every figure of a report
//!    (requests, 5xx, by status, incidents) is within the scope, and every 5xx in it still
//!    belongs to exactly one incident.

mod glob;
mod status;
pub mod when;

use serde::Serialize;

use crate::formats::AccessRecord;
use crate::formats::access::AccessFormat;
pub use glob::{HostGlobs, PathPattern};
pub use status::{BadStatus, StatusSet};

/// The filters of one run, and how the report echoes them (its `scope` object).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    host: Option<(String, HostGlobs)>,
    path: Option<(String, PathPattern)>,
    status: Option<(String, StatusSet)>,
    /// The window's ends as reports show them (RFC 3339), for the echo only.
    pub since: Option<String>,
    pub until: Option<String>,
}

/// A value of `--host`, `--path` or `--status` that is not one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BadFilter {
    #[error(
        "--host `{0}`: no host in it; use a host name or glob, e.g. shop.example.com or *.example.com (comma-separated for several)"
    )]
    Host(String),
    #[error("--path `{0}`: empty; use a path prefix (/api/) or a glob (*.php)")]
    Path(String),
    #[error(
        "--status `{value}`: {why}; use codes, classes and ranges such as 502,504 or 5xx or 500,502-504"
    )]
    Status { value: String, why: BadStatus },
}

impl Scope {
    /// The scope the three flags name (each optional).
    pub fn new(
        host: Option<&str>,
        path: Option<&str>,
        status: Option<&str>,
    ) -> Result<Scope, BadFilter> {
        let host = host
            .map(|h| {
                Ok((
                    h.to_owned(),
                    HostGlobs::parse(h).ok_or(BadFilter::Host(h.to_owned()))?,
                ))
            })
            .transpose()?;
        let path = path
            .map(|p| {
                Ok((
                    p.to_owned(),
                    PathPattern::parse(p).ok_or(BadFilter::Path(p.to_owned()))?,
                ))
            })
            .transpose()?;
        let status = status
            .map(|s| {
                StatusSet::parse(s)
                    .map(|set| (s.to_owned(), set))
                    .map_err(|why| BadFilter::Status {
                        value: s.to_owned(),
                        why,
                    })
            })
            .transpose()?;
        Ok(Scope {
            host,
            path,
            status,
            ..Scope::default()
        })
    }

    /// Whether a response with this status can count (the cheap first test, on every line).
    #[inline]
    pub fn admits_status(&self, status: u16) -> bool {
        self.status.as_ref().is_none_or(|(_, s)| s.contains(status))
    }

    /// Whether any access-log line may be left out (a status, host or path filter).
    pub fn filters_lines(&self) -> bool {
        self.status.is_some() || self.needs_record()
    }

    /// Whether telling a line's host or path needs the line parsed.
    #[inline]
    pub fn needs_record(&self) -> bool {
        self.host.is_some() || self.path.is_some()
    }

    /// Whether a parsed line's host and path are in the scope (its status is asked apart).
    pub fn admits_place(&self, r: &AccessRecord<'_>) -> bool {
        let host_ok = self
            .host
            .as_ref()
            .is_none_or(|(_, h)| r.vhost.as_deref().is_some_and(|v| h.matches(v)));
        host_ok && self.path.as_ref().is_none_or(|(_, p)| p.matches(r.path()))
    }

    /// Whether an access-log line of `status` counts, for an observer that reads its own
    /// figures from the lines (the line is parsed only for a host or path filter).
    pub fn admits_line(&self, format: &AccessFormat, line: &[u8], status: u16) -> bool {
        self.admits_status(status)
            && (!self.needs_record() || format.parse(line).is_some_and(|r| self.admits_place(&r)))
    }

    /// This scope with the filters given in place of its own (`watch`'s query over its
    /// flags); an empty value takes a filter away.
    pub fn with(
        &self,
        host: Option<&str>,
        path: Option<&str>,
        status: Option<&str>,
    ) -> Result<Scope, BadFilter> {
        /// The new filter where a value was given, else the own one.
        fn pick<T: Clone>(given: Option<&str>, new: Option<T>, own: &Option<T>) -> Option<T> {
            if given.is_some() { new } else { own.clone() }
        }
        fn given(v: Option<&str>) -> Option<&str> {
            v.filter(|v| !v.is_empty())
        }
        let new = Scope::new(given(host), given(path), given(status))?;
        Ok(Scope {
            host: pick(host, new.host, &self.host),
            path: pick(path, new.path, &self.path),
            status: pick(status, new.status, &self.status),
            ..self.clone()
        })
    }

    /// Whether no filter is set (the window aside).
    pub fn is_everything(&self) -> bool {
        self.host.is_none() && self.path.is_none() && self.status.is_none()
    }

    /// Whether an incident as `watch` keeps it is in the scope: its host matches, one of its
    /// paths does, one of its statuses is in the list. One with no status (made of error
    /// records alone) is left as it is by a status list, as in `diagnose`.
    pub fn admits_incident<'a>(
        &self,
        host: Option<&str>,
        mut paths: impl Iterator<Item = &'a str>,
        statuses: &[u16],
    ) -> bool {
        let host_ok = self
            .host
            .as_ref()
            .is_none_or(|(_, h)| host.is_some_and(|v| h.matches(v.as_bytes())));
        let path_ok = self
            .path
            .as_ref()
            .is_none_or(|(_, p)| paths.any(|v| p.matches(v.as_bytes())));
        let status_ok = statuses.is_empty() || statuses.iter().any(|&s| self.admits_status(s));
        host_ok && path_ok && status_ok
    }

    /// Whether an error record's incident counts, by the host and request path it names.
    pub fn admits_event(&self, host: Option<&str>, path: Option<&str>) -> bool {
        let host_ok = self
            .host
            .as_ref()
            .is_none_or(|(_, h)| host.is_some_and(|v| h.matches(v.as_bytes())));
        host_ok
            && self
                .path
                .as_ref()
                .is_none_or(|(_, p)| path.is_some_and(|v| p.matches(v.as_bytes())))
    }

    /// The filters and window applied, in one line for the text reports (`None` without
    /// any): whoever reads the figures must know they are not the whole logs'.
    pub fn summary(&self) -> Option<String> {
        let filters = [
            ("host", self.host.as_ref().map(|(t, _)| t)),
            ("path", self.path.as_ref().map(|(t, _)| t)),
            ("status", self.status.as_ref().map(|(t, _)| t)),
            ("since", self.since.as_ref()),
            ("until", self.until.as_ref()),
        ];
        let set: Vec<String> = filters
            .iter()
            .filter_map(|(name, v)| v.map(|v| format!("{name} {v}")))
            .collect();
        (!set.is_empty()).then(|| format!("Only {}.", set.join(", ")))
    }
}

/// The `scope` object of a report: each filter as given and the window's ends, `null` where
/// none was.
impl Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut m = s.serialize_struct("Scope", 5)?;
        m.serialize_field("host", &self.host.as_ref().map(|(t, _)| t))?;
        m.serialize_field("path", &self.path.as_ref().map(|(t, _)| t))?;
        m.serialize_field("status", &self.status.as_ref().map(|(t, _)| t))?;
        m.serialize_field("since", &self.since)?;
        m.serialize_field("until", &self.until)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(
        vhost: Option<&'static str>,
        request: &'static str,
        status: u16,
    ) -> AccessRecord<'static> {
        AccessRecord {
            time: crate::formats::Stamp { ms: 0, offset: 0 },
            client: b"1.2.3.4".as_slice().into(),
            vhost: vhost.map(|v| v.as_bytes().into()),
            request: request.as_bytes().into(),
            status,
            user_agent: b"x".as_slice().into(),
            reason: None,
            request_id: None,
        }
    }

    #[test]
    fn no_filter_admits_everything_without_parsing() {
        let s = Scope::default();
        assert!(s.admits_status(200) && !s.needs_record());
        assert!(s.admits_event(None, None));
        assert!(s.admits_place(&record(None, "GET / HTTP/1.1", 500)));
    }

    #[test]
    fn host_and_path_must_both_match_and_a_line_naming_no_host_is_out() {
        let s = Scope::new(Some("*.example.com"), Some("/api/"), None).unwrap();
        assert!(s.admits_place(&record(
            Some("Shop.example.com:443"),
            "GET /api/x?y HTTP/1.1",
            502
        )));
        assert!(!s.admits_place(&record(Some("shop.example.com"), "GET /web HTTP/1.1", 502)));
        assert!(!s.admits_place(&record(None, "GET /api/x HTTP/1.1", 502)));
        assert!(s.admits_event(Some("a.example.com"), Some("/api/v1")));
        assert!(!s.admits_event(None, Some("/api/v1")));
        assert!(!s.admits_event(Some("a.example.com"), None));
    }

    #[test]
    fn a_line_out_of_status_is_not_parsed_and_a_5xx_in_scope_is() {
        let s = Scope::new(None, None, Some("502-504")).unwrap();
        let f = AccessFormat::Clf(crate::formats::access::ClfVariant::Combined);
        let line =
            b"1.2.3.4 - - [25/Nov/2026:14:00:04 +0000] \"GET /b HTTP/1.1\" 502 1 \"-\" \"x\"";
        assert!(!s.admits_line(&f, line, 500));
        assert!(s.admits_line(&f, line, 502));
        assert!(!s.needs_record());
        let all = Scope::default();
        assert!(all.admits_line(&f, line, 200));
    }

    #[test]
    fn bad_values_name_their_flag() {
        let e = Scope::new(None, None, Some("5o2")).unwrap_err().to_string();
        assert!(
            e.starts_with("--status `5o2`: `5o2` is not a status code"),
            "{e}"
        );
        assert!(
            Scope::new(Some(","), None, None)
                .unwrap_err()
                .to_string()
                .starts_with("--host `,`")
        );
        assert!(
            Scope::new(None, Some(""), None)
                .unwrap_err()
                .to_string()
                .starts_with("--path ``")
        );
    }

    #[test]
    fn a_query_replaces_the_filters_it_names_and_an_empty_value_clears_one() {
        let flags = Scope::new(Some("a.test"), Some("/api/"), None).unwrap();
        let q = flags.with(Some("b.test"), Some(""), Some("502")).unwrap();
        assert_eq!(q, Scope::new(Some("b.test"), None, Some("502")).unwrap());
        assert_eq!(flags.with(None, None, None).unwrap(), flags);
        assert!(flags.with(None, None, Some("5o2")).is_err());
        assert!(Scope::default().is_everything() && !flags.is_everything());
    }

    #[test]
    fn an_incident_is_in_when_its_host_one_path_and_one_status_are() {
        let s = Scope::new(Some("a.test"), Some("/api/"), Some("502")).unwrap();
        let paths = ["/web", "/api/x"];
        assert!(s.admits_incident(Some("a.test"), paths.into_iter(), &[500, 502]));
        assert!(!s.admits_incident(Some("a.test"), paths.into_iter(), &[500]));
        assert!(s.admits_incident(Some("a.test"), paths.into_iter(), &[]));
        assert!(!s.admits_incident(None, paths.into_iter(), &[502]));
        assert!(!s.admits_incident(Some("a.test"), ["/web"].into_iter(), &[502]));
    }

    #[test]
    fn the_text_reports_say_the_scope_in_one_line() {
        assert_eq!(Scope::default().summary(), None);
        let mut s = Scope::new(Some("*.a.test"), None, Some("5xx")).unwrap();
        s.since = Some("2026-11-25T00:00:00+00:00".into());
        assert_eq!(
            s.summary().unwrap(),
            "Only host *.a.test, status 5xx, since 2026-11-25T00:00:00+00:00."
        );
    }

    #[test]
    fn the_echo_has_every_field_null_where_no_filter_is() {
        let s = Scope::new(Some("a.test"), None, Some("5xx")).unwrap();
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"host": "a.test", "path": null, "status": "5xx", "since": null, "until": null})
        );
    }
}
