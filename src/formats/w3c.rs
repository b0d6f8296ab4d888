//! The W3C extended log file format (<https://www.w3.org/TR/WD-logfile.html>), as IIS writes it
//! (`w3c`, space-separated) and as CloudFront writes its standard logs (`cloudfront`,
//! tab-separated): `#`-directives, among which `#Fields:` names the columns of the lines that
//! follow it, until the next one (IIS writes a new header block when it restarts or its logging
//! settings change, so the order can change in the middle of a file).
//!
//! The column order is state carried from a `#Fields:` line to the lines after it, possibly in
//! later blocks of the file, which are parsed on other threads: each block is handed out with
//! the layout in effect at its start ([`last_layout`] of the blocks before it, found by the
//! reading thread), and a `#Fields:` line inside a block changes it for the rest of that block
//! ([`directive`]).
//!
//! Times are UTC (IIS and CloudFront both log in UTC whatever the server's zone).

use std::borrow::Cow;
use std::sync::Arc;

use super::access::parse_status;
use super::time::parse_w3c;
use super::{AccessRecord, Stamp};

/// What a column of a W3C line is to us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Date,
    Time,
    Client,
    Method,
    Stem,
    Query,
    Status,
    Substatus,
    Win32,
    Host,
    UserAgent,
    EdgeResult,
    EdgeDetail,
}

/// How many [`Slot`]s there are: the size of the per-line value array.
const SLOTS: usize = 13;

impl Slot {
    /// The slot a field identifier fills; `None` for fields we do not read. Of the host
    /// fields, the `Host` header the client sent (`cs-host`, CloudFront's `x-host-header`) is
    /// preferred to CloudFront's distribution name (`cs(Host)`), see [`Layout::compile`].
    fn of(name: &str) -> Option<Slot> {
        Some(match name {
            "date" => Slot::Date,
            "time" => Slot::Time,
            "c-ip" => Slot::Client,
            "cs-method" => Slot::Method,
            "cs-uri-stem" => Slot::Stem,
            "cs-uri-query" => Slot::Query,
            "sc-status" => Slot::Status,
            "sc-substatus" => Slot::Substatus,
            "sc-win32-status" => Slot::Win32,
            "cs-host" | "x-host-header" | "cs(Host)" => Slot::Host,
            "cs(User-Agent)" => Slot::UserAgent,
            "x-edge-result-type" => Slot::EdgeResult,
            "x-edge-detailed-result-type" => Slot::EdgeDetail,
            _ => return None,
        })
    }
}

/// The column layout a `#Fields:` line gives, compiled: for each column, the slot it fills.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    columns: Vec<Option<Slot>>,
    /// Whether the fields are CloudFront's (`x-edge-…`): the format's name, and its reasons.
    cloudfront: bool,
}

/// IIS's default `#Fields:` (IIS 7 and later), for lines whose header was cut off.
const IIS_DEFAULT: &str = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username \
                           c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus \
                           sc-win32-status time-taken";

impl Layout {
    /// Compiles the field list of a `#Fields:` line; `None` if it lacks what a request needs
    /// (a date, a time and a status).
    pub fn compile(fields: &[u8]) -> Option<Arc<Layout>> {
        let text = std::str::from_utf8(fields).ok()?;
        let names: Vec<&str> = text.split_ascii_whitespace().collect();
        let mut columns: Vec<Option<Slot>> = names.iter().map(|n| Slot::of(n)).collect();
        // A line with both `cs(Host)` (CloudFront's distribution) and `x-host-header` (the
        // name the viewer asked for) keeps the latter as the host.
        if names.contains(&"x-host-header")
            && let Some(at) = names.iter().position(|n| *n == "cs(Host)")
        {
            columns[at] = None;
        }
        let has = |s: Slot| columns.contains(&Some(s));
        if !(has(Slot::Date) && has(Slot::Time) && has(Slot::Status)) {
            return None;
        }
        let cloudfront = names.iter().any(|n| n.starts_with("x-edge-"));
        Some(Arc::new(Layout {
            columns,
            cloudfront,
        }))
    }

    /// IIS's default layout.
    pub fn iis_default() -> Arc<Layout> {
        Layout::compile(IIS_DEFAULT.as_bytes()).expect("the default names date, time, status")
    }

    /// The name reported in `inputs[].format`.
    pub fn name(&self) -> &'static str {
        if self.cloudfront { "cloudfront" } else { "w3c" }
    }

    /// The values of one line's columns, by slot; `None` if the line is not one of this
    /// layout (a directive, too few or too many columns).
    fn split<'a>(&self, line: &'a [u8]) -> Option<[&'a [u8]; SLOTS]> {
        if line.first().is_none_or(|&b| b == b'#') {
            return None;
        }
        // CloudFront ends some lines with a separator (an empty last column).
        let line = match line.last() {
            Some(b' ' | b'\t') => &line[..line.len() - 1],
            _ => line,
        };
        let mut values: [&[u8]; SLOTS] = [b"-"; SLOTS];
        let mut column = 0;
        for field in line.split(|&b| b == b' ' || b == b'\t') {
            if let Some(slot) = *self.columns.get(column)? {
                values[slot as usize] = field;
            }
            column += 1;
        }
        (column == self.columns.len()).then_some(values)
    }

    /// The time and status of a line, without building its record.
    pub fn head(&self, line: &[u8]) -> Option<(Stamp, u16)> {
        let v = self.split(line)?;
        let time = parse_w3c(v[Slot::Date as usize], v[Slot::Time as usize])?;
        Some((time, parse_status(v[Slot::Status as usize])?))
    }

    /// Parses one line into a record.
    pub fn parse<'a>(&self, line: &'a [u8]) -> Option<AccessRecord<'a>> {
        let v = self.split(line)?;
        let get = |s: Slot| Some(v[s as usize]).filter(|x| *x != b"-");
        let time = parse_w3c(v[Slot::Date as usize], v[Slot::Time as usize])?;
        let status = parse_status(v[Slot::Status as usize])?;
        let mut request = get(Slot::Method).unwrap_or(b"-").to_vec();
        request.push(b' ');
        request.extend_from_slice(get(Slot::Stem).unwrap_or(b"-"));
        if let Some(q) = get(Slot::Query) {
            request.push(b'?');
            request.extend_from_slice(q);
        }
        Some(AccessRecord {
            time,
            client: Cow::Borrowed(v[Slot::Client as usize]),
            vhost: get(Slot::Host).map(Cow::Borrowed),
            request: Cow::Owned(request),
            status,
            user_agent: Cow::Borrowed(get(Slot::UserAgent).unwrap_or_default()),
            reason: (status >= 500)
                .then(|| self.reason(&v))
                .flatten()
                .map(Cow::Owned),
            request_id: None,
        })
    }

    /// What the line itself says about why it failed: CloudFront's result type (`OriginError`,
    /// `OriginConnectError`…), IIS's substatus and Win32 status (`502.3` with `12002`, a
    /// timeout). In the words of the fields, `name=value` separated by spaces.
    fn reason(&self, v: &[&[u8]; SLOTS]) -> Option<Vec<u8>> {
        let pairs: &[(&str, Slot)] = if self.cloudfront {
            // A column the layout lacks reads `-`, as a value the line left out.
            if v[Slot::EdgeDetail as usize] != b"-" {
                &[("x-edge-detailed-result-type", Slot::EdgeDetail)]
            } else {
                &[("x-edge-result-type", Slot::EdgeResult)]
            }
        } else {
            &[
                ("sc-status", Slot::Status),
                ("sc-substatus", Slot::Substatus),
                ("sc-win32-status", Slot::Win32),
            ]
        };
        let mut out = Vec::new();
        for (name, slot) in pairs {
            let value = v[*slot as usize];
            if value == b"-" {
                continue;
            }
            if !out.is_empty() {
                out.push(b' ');
            }
            out.extend_from_slice(name.as_bytes());
            out.push(b'=');
            out.extend_from_slice(value);
        }
        (!out.is_empty()).then_some(out)
    }
}

/// What a `#` line of a W3C log is.
#[derive(Debug, PartialEq, Eq)]
pub enum Directive {
    /// `#Fields:` with what a request needs: the layout of the lines after it.
    Fields(Arc<Layout>),
    /// Another directive (`#Software:`, `#Version:`, `#Date:`, `#Remark:`…), or a `#Fields:`
    /// that names no status: nothing to read, not a request.
    Other,
}

/// Reads a directive line; `None` if `line` is not one.
pub fn directive(line: &[u8]) -> Option<Directive> {
    let rest = line.strip_prefix(b"#")?;
    let colon = memchr::memchr(b':', rest)?;
    let name = &rest[..colon];
    if name.is_empty() || !name.iter().all(|b| b.is_ascii_alphabetic() || *b == b'-') {
        return None;
    }
    if name == b"Fields" {
        return Some(
            Layout::compile(&rest[colon + 1..]).map_or(Directive::Other, Directive::Fields),
        );
    }
    Some(Directive::Other)
}

/// Every layout a `#Fields:` line of `block` sets, with the offset of the line after it (for
/// the lines parsed again out of order, by `seo`).
pub fn layouts(block: &[u8]) -> Vec<(usize, Arc<Layout>)> {
    memchr::memmem::find_iter(block, b"#Fields:")
        .filter(|&at| at == 0 || block[at - 1] == b'\n')
        .filter_map(|at| {
            let end = memchr::memchr(b'\n', &block[at..]).map_or(block.len(), |n| at + n);
            let line = block[at..end]
                .strip_suffix(b"\r")
                .unwrap_or(&block[at..end]);
            match directive(line)? {
                Directive::Fields(layout) => Some(((end + 1).min(block.len()), layout)),
                Directive::Other => None,
            }
        })
        .collect()
}

/// The layout the last `#Fields:` line of `block` sets, if it has one: the layout the next
/// block starts in. Searched from the end, on the reading thread, once per block.
pub fn last_layout(block: &[u8]) -> Option<Arc<Layout>> {
    let finder = memchr::memmem::FinderRev::new(b"#Fields:");
    let mut end = block.len();
    while let Some(at) = finder.rfind(&block[..end]) {
        if at == 0 || block[at - 1] == b'\n' {
            let line_end = memchr::memchr(b'\n', &block[at..]).map_or(block.len(), |n| at + n);
            let line = block[at..line_end]
                .strip_suffix(b"\r")
                .unwrap_or(&block[at..line_end]);
            if let Some(Directive::Fields(layout)) = directive(line) {
                return Some(layout);
            }
        }
        end = at;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const IIS: &[u8] = b"2026-11-25 14:00:03 10.0.0.5 GET /api/orders id=7 443 - 203.0.113.9 \
        Mozilla/5.0+(Windows+NT+10.0) - 502 3 12002 30012";

    #[test]
    fn iis_default_fields() {
        let layout = Layout::iis_default();
        let r = layout.parse(IIS).unwrap();
        assert_eq!(
            (r.status, &*r.client, r.path(), &*r.request),
            (
                502,
                &b"203.0.113.9"[..],
                &b"/api/orders"[..],
                &b"GET /api/orders?id=7"[..]
            )
        );
        assert_eq!(r.time.rfc3339(), "2026-11-25T14:00:03+00:00");
        assert_eq!(
            r.reason.as_deref(),
            Some(&b"sc-status=502 sc-substatus=3 sc-win32-status=12002"[..])
        );
        assert_eq!(layout.head(IIS), Some((r.time, 502)));
        assert_eq!(layout.name(), "w3c");
    }

    #[test]
    fn cloudfront_fields_and_reason() {
        let fields = b"date time x-edge-location c-ip cs-method cs(Host) cs-uri-stem sc-status \
            x-edge-result-type x-host-header x-edge-detailed-result-type";
        let layout = Layout::compile(fields).unwrap();
        let line = b"2019-12-13\t22:36:27\tSEA19-C1\t192.0.2.200\tGET\td1.cloudfront.net\t/\t502\tError\twww.example.com\tOriginDnsError\t";
        let r = layout.parse(line).unwrap();
        assert_eq!(
            (layout.name(), r.vhost.as_deref(), r.reason.as_deref()),
            (
                "cloudfront",
                Some(&b"www.example.com"[..]),
                Some(&b"x-edge-detailed-result-type=OriginDnsError"[..])
            )
        );
    }

    #[test]
    fn lines_that_do_not_fit_are_not_read() {
        let layout = Layout::iis_default();
        assert!(
            layout
                .parse(b"#Software: Microsoft Internet Information Services 10.0")
                .is_none()
        );
        assert!(layout.parse(b"2026-11-25 14:00:03 too few").is_none());
        assert!(layout.parse(b"").is_none());
        let extra = [IIS, b" extra"].concat();
        assert!(layout.parse(&extra).is_none());
    }

    #[test]
    fn directives_and_the_last_layout_of_a_block() {
        assert_eq!(directive(b"#Version: 1.0"), Some(Directive::Other));
        assert_eq!(
            directive(b"#Fields: c-ip cs-method"),
            Some(Directive::Other)
        );
        assert!(directive(b"# not one").is_none());
        assert!(directive(IIS).is_none());
        let block = b"#Fields: date time sc-status\n2026-11-25 14:00:03 500\n#Fields: date c-ip time sc-status\r\n2026-11-25 1.2.3.4 14:00:03 500\n";
        let layout = last_layout(block).unwrap();
        assert_eq!(
            layout
                .parse(b"2026-11-25 1.2.3.4 14:00:03 500")
                .unwrap()
                .status,
            500
        );
        let all = layouts(block);
        assert_eq!(all.iter().map(|(at, _)| *at).collect::<Vec<_>>(), [29, 88]);
        assert_eq!(all[1].1, layout);
        assert!(last_layout(b"2026-11-25 14:00:03 500\nx#Fields: date time sc-status\n").is_none());
    }
}
