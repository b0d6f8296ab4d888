//! `explain`: what a 5xx status code means, what to check first, what it does to crawling,
//! and its constant in the frameworks people write servers in.
//!
//! The content lives in `explain/codes.toml`, compiled in, so that a correction to a meaning
//! or a constant is a data change reviewed on its own, not a code change.

use std::io::{self, Write};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

const TABLE: &str = include_str!("explain/codes.toml");

/// Why a code cannot be explained; the command line turns it into exit status 2.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("`{0}` is not a status code (give a number such as 500)")]
    NotANumber(String),
    #[error("no explanation for status {0}: known codes are {known}", known = known_list())]
    Unknown(u16),
}

/// One code's explanation, as the table holds it and the JSON prints it (after `version`).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Explanation {
    pub code: u16,
    pub reason: String,
    /// False for codes no RFC defines (509, the vendors' own codes), so that nobody mistakes
    /// them for standard ones.
    pub official: bool,
    /// The defining document and section; `None` when there is none.
    pub rfc: Option<String>,
    /// Who sends a non-standard code (`Cloudflare`, `nginx`); `None` for the RFCs' codes.
    #[serde(default)]
    pub vendor: Option<String>,
    /// The vendor's page (or source file) whose words `meaning` quotes.
    #[serde(default)]
    pub source: Option<String>,
    pub meaning: String,
    pub check_first: Vec<String>,
    /// Ids from causes.md that `diagnose` can report for answers with this code.
    pub causes: Vec<String>,
    pub seo: String,
    pub constants: Constants,
}

/// The code's named constant per framework; `None` where the framework has none.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Constants {
    pub dotnet: Option<String>,
    pub rust: Option<String>,
    pub rails: Option<String>,
    pub go: Option<String>,
    pub symfony: Option<String>,
    pub python: Option<String>,
    /// `java.net.HttpURLConnection`.
    pub java: Option<String>,
    /// Spring's `org.springframework.http.HttpStatus`.
    pub spring: Option<String>,
    /// Apache HttpCore 5's `org.apache.hc.core5.http.HttpStatus`.
    pub httpcomponents: Option<String>,
    pub angular: Option<String>,
}

impl Constants {
    /// Framework labels for people, in the order the text output lists them.
    fn labelled(&self) -> [(&'static str, Option<&str>); 10] {
        [
            (".NET", self.dotnet.as_deref()),
            ("Rust (http)", self.rust.as_deref()),
            ("Rails", self.rails.as_deref()),
            ("Go", self.go.as_deref()),
            ("Symfony", self.symfony.as_deref()),
            ("Python", self.python.as_deref()),
            ("Java", self.java.as_deref()),
            ("Spring", self.spring.as_deref()),
            ("Apache HttpComponents", self.httpcomponents.as_deref()),
            ("Angular", self.angular.as_deref()),
        ]
    }
}

/// The JSON document: the explanation under a format version, like every other command's.
#[derive(Serialize)]
pub struct Report<'a> {
    pub version: u32,
    #[serde(flatten)]
    pub explanation: &'a Explanation,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    code: Vec<Explanation>,
}

/// Every explanation, sorted by code.
pub fn all() -> &'static [Explanation] {
    static ALL: OnceLock<Vec<Explanation>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut table: Table = toml::from_str(TABLE).expect("the built-in codes.toml parses");
        table.code.sort_by_key(|e| e.code);
        table.code
    })
}

/// The explanation for CODE as typed on the command line.
pub fn lookup(code: &str) -> Result<&'static Explanation, ExplainError> {
    let n: u16 = code
        .trim()
        .parse()
        .map_err(|_| ExplainError::NotANumber(code.to_owned()))?;
    all()
        .iter()
        .find(|e| e.code == n)
        .ok_or(ExplainError::Unknown(n))
}

/// The JSON report for an explanation.
pub fn report(explanation: &Explanation) -> Report<'_> {
    Report {
        version: 1,
        explanation,
    }
}

fn known_list() -> String {
    all()
        .iter()
        .map(|e| e.code.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The explanation for a person: heading, meaning, what to check, SEO, constants.
pub fn write_text(out: &mut impl Write, e: &Explanation) -> io::Result<()> {
    writeln!(out, "{} {}", e.code, e.reason)?;
    match &e.rfc {
        Some(rfc) => writeln!(out, "Defined in {rfc}")?,
        None => match (&e.vendor, &e.source) {
            (Some(vendor), Some(source)) => writeln!(
                out,
                "Non-standard: {vendor}'s own code, no RFC defines it ({source})"
            )?,
            _ => writeln!(out, "Unofficial: no RFC defines it")?,
        },
    }
    writeln!(out)?;
    writeln!(out, "{}", e.meaning)?;
    writeln!(out)?;
    writeln!(out, "Check first:")?;
    for item in &e.check_first {
        writeln!(out, "  - {item}")?;
    }
    if !e.causes.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "Causes `fivehundred diagnose` can name: {}",
            e.causes.join(", ")
        )?;
    }
    writeln!(out)?;
    writeln!(out, "SEO: {}", e.seo)?;
    writeln!(out)?;
    writeln!(out, "Constants:")?;
    for (label, constant) in e.constants.labelled() {
        writeln!(out, "  {label:<22} {}", constant.unwrap_or("(none)"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reason phrases and key phrases of each one-sentence definition, as the defining RFC
    /// words them (RFC 9110 §15.6 for 500–505).
    const DEFINITIONS: &[(u16, &str, &str, &str)] = &[
        (
            500,
            "Internal Server Error",
            "RFC 9110 §15.6.1",
            "encountered an unexpected condition that prevented it from fulfilling the request",
        ),
        (
            501,
            "Not Implemented",
            "RFC 9110 §15.6.2",
            "does not support the functionality required to fulfill the request",
        ),
        (
            502,
            "Bad Gateway",
            "RFC 9110 §15.6.3",
            "while acting as a gateway or proxy, received an invalid response from an inbound server",
        ),
        (
            503,
            "Service Unavailable",
            "RFC 9110 §15.6.4",
            "currently unable to handle the request due to a temporary overload or scheduled maintenance",
        ),
        (
            504,
            "Gateway Timeout",
            "RFC 9110 §15.6.5",
            "did not receive a timely response from an upstream server",
        ),
        (
            505,
            "HTTP Version Not Supported",
            "RFC 9110 §15.6.6",
            "does not support, or refuses to support, the major version of HTTP",
        ),
        (
            506,
            "Variant Also Negotiates",
            "RFC 2295 §8.1",
            "configured to engage in transparent content negotiation itself",
        ),
        (
            507,
            "Insufficient Storage",
            "RFC 4918 §11.5",
            "unable to store the representation needed to successfully complete the request",
        ),
        (
            508,
            "Loop Detected",
            "RFC 5842 §7.2",
            "encountered an infinite loop while processing a request with \"Depth: infinity\"",
        ),
        (
            510,
            "Not Extended",
            "RFC 2774 §7",
            "The policy for accessing the resource has not been met in the request",
        ),
        (
            511,
            "Network Authentication Required",
            "RFC 6585 §6",
            "needs to authenticate to gain network access",
        ),
    ];

    #[test]
    fn definitions_match_the_rfcs() {
        for &(code, reason, rfc, phrase) in DEFINITIONS {
            let e = lookup(&code.to_string()).expect("known code");
            assert_eq!(e.reason, reason, "{code}");
            assert_eq!(e.rfc.as_deref(), Some(rfc), "{code}");
            assert!(e.official, "{code}");
            assert!(
                e.meaning.to_lowercase().contains(&phrase.to_lowercase()),
                "{code}: the meaning lacks RFC wording `{phrase}`"
            );
        }
    }

    #[test]
    fn codes_500_to_511_have_every_field() {
        let codes: Vec<u16> = all().iter().map(|e| e.code).collect();
        assert!((500..=511).all(|c| codes.contains(&c)));
        for e in all() {
            assert!(!e.reason.is_empty() && !e.meaning.is_empty() && !e.seo.is_empty());
            assert!(!e.check_first.is_empty(), "{}", e.code);
            assert!(e.constants.labelled().len() == 10);
            // Every code 500–511 has at least the constants of the frameworks that track the
            // IANA registry most closely, except the unofficial 509.
            if e.official {
                assert!(e.rfc.is_some() && e.constants.rust.is_some(), "{}", e.code);
                assert!(e.constants.go.is_some() && e.constants.python.is_some());
            }
        }
    }

    #[test]
    fn status_509_is_marked_unofficial() {
        let e = lookup("509").expect("509 is explained");
        assert!(!e.official && e.rfc.is_none());
        assert!(e.meaning.contains("Not defined by any RFC"));
        assert!(e.constants.rust.is_none() && e.constants.dotnet.is_none());
    }

    /// The causes named are ids `diagnose` can actually report.
    #[test]
    fn causes_are_diagnose_ids() {
        let rules = include_str!("diagnose/rules.toml");
        for e in all() {
            for cause in &e.causes {
                assert!(
                    rules.contains(&format!("cause = \"{cause}\"")),
                    "{}: `{cause}` is not a cause diagnose reports",
                    e.code
                );
            }
        }
        let has = |code: &str, cause: &str| lookup(code).unwrap().causes.iter().any(|c| c == cause);
        assert!(has("502", "upstream_unavailable") && has("502", "fpm_crash"));
        assert!(has("504", "upstream_timeout"));
    }

    /// Constants the frameworks lack stay null rather than invented.
    #[test]
    fn missing_constants_are_none() {
        for code in ["506", "507", "508", "510", "511"] {
            assert!(lookup(code).unwrap().constants.java.is_none(), "{code}");
        }
        let c = &lookup("500").unwrap().constants;
        assert_eq!(
            c.dotnet.as_deref(),
            Some("HttpStatusCode.InternalServerError")
        );
        assert_eq!(
            c.java.as_deref(),
            Some("HttpURLConnection.HTTP_INTERNAL_ERROR")
        );
        assert_eq!(
            c.httpcomponents.as_deref(),
            Some("HttpStatus.SC_INTERNAL_SERVER_ERROR")
        );
    }

    /// The vendors' codes: marked non-standard, each with its vendor and the page quoted,
    /// and no framework constant.
    #[test]
    fn vendor_codes_are_marked_non_standard() {
        let vendors = [
            (
                460,
                "AWS Application Load Balancer",
                "client closed the connection",
            ),
            (499, "nginx", "client has closed the connection"),
            (520, "Cloudflare", "empty, unknown, or unexpected response"),
            (521, "Cloudflare", "refuses connections from Cloudflare"),
            (522, "Cloudflare", "times out contacting the origin"),
            (523, "Cloudflare", "cannot contact your origin"),
            (524, "Cloudflare", "did not provide an HTTP response"),
            (525, "Cloudflare", "SSL handshake"),
            (526, "Cloudflare", "validate the SSL certificate"),
            (527, "Cloudflare", "Railgun"),
            (530, "Cloudflare", "1XXX error"),
            (
                561,
                "AWS Application Load Balancer",
                "IdP returned an error code",
            ),
        ];
        for (code, vendor, words) in vendors {
            let e = lookup(&code.to_string()).expect("explained");
            assert!(!e.official && e.rfc.is_none(), "{code}");
            assert_eq!(e.vendor.as_deref(), Some(vendor), "{code}");
            assert!(
                e.source
                    .as_deref()
                    .is_some_and(|s| s.starts_with("https://"))
            );
            assert!(e.meaning.contains(words), "{code}: {}", e.meaning);
            assert!(e.constants.labelled().iter().all(|(_, c)| c.is_none()));
        }
        let standard: Vec<u16> = all()
            .iter()
            .filter(|e| e.vendor.is_none())
            .map(|e| e.code)
            .collect();
        assert_eq!(standard, (500..=511).collect::<Vec<_>>());
        let mut out = Vec::new();
        write_text(&mut out, lookup("522").unwrap()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("Non-standard: Cloudflare's own code"),
            "{text}"
        );
    }

    #[test]
    fn bad_codes_are_errors() {
        assert!(matches!(lookup("599"), Err(ExplainError::Unknown(599))));
        assert!(matches!(lookup("404"), Err(ExplainError::Unknown(404))));
        assert!(matches!(lookup("abc"), Err(ExplainError::NotANumber(_))));
        assert!(matches!(lookup("-500"), Err(ExplainError::NotANumber(_))));
        assert!(matches!(lookup("70000"), Err(ExplainError::NotANumber(_))));
        assert!(ExplainError::Unknown(599).to_string().contains("500, 501"));
    }

    #[test]
    fn text_names_every_part() {
        let mut out = Vec::new();
        write_text(&mut out, lookup("503").unwrap()).unwrap();
        let text = String::from_utf8(out).unwrap();
        for part in [
            "503 Service Unavailable",
            "RFC 9110 §15.6.4",
            "Check first:",
            "SEO:",
            "Retry-After",
            "HttpStatusCode.ServiceUnavailable",
            "fpm_pool_exhausted",
        ] {
            assert!(text.contains(part), "missing `{part}` in:\n{text}");
        }
    }
}
