//! The leak-signature table (`signatures.toml`, compiled in) in its compiled form. The code
//! here knows no product by name: every marker, pattern and fix lives in the table.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;
use serde::{Deserialize, Serialize};

const TABLE: &str = include_str!("signatures.toml");

/// What leaked (cli.md, `probe`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    DebugConsole,
    StackTrace,
    SqlError,
    FilePath,
    VersionDisclosure,
    InternalAddress,
}

impl Category {
    /// The id used in the JSON, for text output.
    pub fn id(self) -> &'static str {
        match self {
            Category::DebugConsole => "debug_console",
            Category::StackTrace => "stack_trace",
            Category::SqlError => "sql_error",
            Category::FilePath => "file_path",
            Category::VersionDisclosure => "version_disclosure",
            Category::InternalAddress => "internal_address",
        }
    }

    /// Every category, in the order reports list them (SARIF's rules, ruleIndex).
    pub const ALL: [Category; 6] = [
        Category::DebugConsole,
        Category::StackTrace,
        Category::SqlError,
        Category::FilePath,
        Category::VersionDisclosure,
        Category::InternalAddress,
    ];

    /// What the category means, in a sentence (cli.md's words): a CI system shows it beside
    /// each result.
    pub fn description(self) -> &'static str {
        match self {
            Category::DebugConsole => {
                "An interactive debugger, a framework's debug error page or an exposed debug endpoint (Werkzeug, Django DEBUG = True, Rails, Laravel Ignition, Symfony's profiler, Spring Boot's actuator, Go's pprof)."
            }
            Category::StackTrace => "Frames of a call stack, in any language.",
            Category::SqlError => "A database error message or query text.",
            Category::FilePath => "A server-side file-system path.",
            Category::VersionDisclosure => {
                "A product version, in the page (medium) or in a header such as Server or X-Powered-By (low)."
            }
            Category::InternalAddress => {
                "A private or internal address or host name other than the one probed."
            }
        }
    }
}

/// How bad a leak is; ordered worst first so that sorting puts it on top.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    High,
    Medium,
    Low,
    Info,
}

impl Severity {
    /// Whether the spec makes this finding fail the probe (exit 1).
    pub fn fails(self) -> bool {
        matches!(self, Severity::High | Severity::Medium)
    }

    /// The id used in the JSON.
    pub fn id(self) -> &'static str {
        match self {
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }
}

/// Which part of an answer a signature reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Place {
    Body,
    Header,
}

/// A test on a match that a regex cannot express.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// The `addr` group is a private, loopback, link-local or unique-local IP, not the host.
    InternalIp,
    /// The `addr` group is a host name other than the host probed.
    InternalHost,
}

/// A stack in words and the one-line fix for it.
#[derive(Clone, Debug, Deserialize)]
pub struct Stack {
    pub name: String,
    pub fix: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    generic_phrases: Vec<String>,
    #[serde(default)]
    debug_paths: Vec<String>,
    stacks: BTreeMap<String, Stack>,
    signature: Vec<RawSignature>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignature {
    id: String,
    category: Category,
    severity: Severity,
    #[serde(rename = "where")]
    place: Place,
    header: Option<String>,
    #[serde(default)]
    literals: Vec<String>,
    regex: Option<String>,
    #[serde(default)]
    raw: bool,
    check: Option<Check>,
    #[serde(default)]
    fallback: bool,
    stack: String,
}

/// One compiled signature.
#[derive(Debug)]
pub struct Signature {
    pub id: String,
    pub category: Category,
    pub severity: Severity,
    pub place: Place,
    /// The header's name as printed (`Server`); `None` reads every header.
    pub header: Option<String>,
    /// Whether any literal is required (else the regex alone decides).
    pub has_literals: bool,
    pub regex: Option<Regex>,
    pub raw: bool,
    pub check: Option<Check>,
    pub fallback: bool,
    pub stack: Stack,
}

/// The compiled table.
pub struct Signatures {
    pub rows: Vec<Signature>,
    /// Every literal of every row, searched at once; pattern i belongs to `owner[i]`.
    pub literals: AhoCorasick,
    pub owner: Vec<usize>,
    /// Lines a generic error page is made of.
    pub generic_phrases: Vec<Regex>,
    /// Paths of debug endpoints requested once on each site probed.
    pub debug_paths: Vec<String>,
}

/// A table that does not compile: a bug in `signatures.toml`, caught by the unit tests.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("signatures.toml: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("signatures.toml: signature `{id}`: {why}")]
    Row { id: String, why: String },
    #[error("signatures.toml: {0}")]
    Pattern(String),
}

impl Signatures {
    /// The built-in table, compiled once.
    pub fn builtin() -> &'static Signatures {
        static TABLE_ONCE: OnceLock<Signatures> = OnceLock::new();
        // Compiled in and checked by the unit tests: failing here is a build defect, never
        // an input's doing.
        TABLE_ONCE.get_or_init(|| {
            Signatures::parse(TABLE).expect("the built-in signatures.toml compiles")
        })
    }

    /// Compiles a table.
    pub fn parse(text: &str) -> Result<Signatures, TableError> {
        let raw: RawTable = toml::from_str(text)?;
        let generic_phrases = raw
            .generic_phrases
            .iter()
            .map(|r| Regex::new(r).map_err(|e| TableError::Pattern(e.to_string())))
            .collect::<Result<_, _>>()?;
        let mut rows = Vec::new();
        let mut patterns = Vec::new();
        let mut owner = Vec::new();
        for r in raw.signature {
            let row = compile_row(r, &raw.stacks)?;
            for lit in &row.1 {
                patterns.push(lit.clone());
                owner.push(rows.len());
            }
            rows.push(row.0);
        }
        let literals = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .map_err(|e| TableError::Pattern(e.to_string()))?;
        if let Some(bad) = raw.debug_paths.iter().find(|p| !p.starts_with('/')) {
            return Err(TableError::Pattern(format!(
                "debug path `{bad}` does not start with /"
            )));
        }
        Ok(Signatures {
            rows,
            literals,
            owner,
            generic_phrases,
            debug_paths: raw.debug_paths,
        })
    }
}

/// One row, checked and compiled, with its literals.
fn compile_row(
    r: RawSignature,
    stacks: &BTreeMap<String, Stack>,
) -> Result<(Signature, Vec<String>), TableError> {
    let bad = |why: &str| TableError::Row {
        id: r.id.clone(),
        why: why.to_owned(),
    };
    let stack = stacks
        .get(&r.stack)
        .cloned()
        .ok_or_else(|| bad("unknown stack"))?;
    if r.literals.is_empty() && r.regex.is_none() {
        return Err(bad("needs literals or a regex"));
    }
    if r.check.is_some() && r.regex.is_none() {
        return Err(bad("a check needs a regex with an `addr` group"));
    }
    let regex = r
        .regex
        .as_deref()
        .map(Regex::new)
        .transpose()
        .map_err(|e| bad(&e.to_string()))?;
    if r.check.is_some()
        && regex
            .as_ref()
            .is_some_and(|re| re.capture_names().all(|n| n != Some("addr")))
    {
        return Err(bad("a check needs a regex with an `addr` group"));
    }
    let sig = Signature {
        id: r.id.clone(),
        category: r.category,
        severity: r.severity,
        place: r.place,
        header: r.header,
        has_literals: !r.literals.is_empty(),
        regex,
        raw: r.raw,
        check: r.check,
        fallback: r.fallback,
        stack,
    };
    Ok((sig, r.literals))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_compiles_with_unique_ids() {
        let t = Signatures::builtin();
        let mut ids: Vec<&str> = t.rows.iter().map(|r| r.id.as_str()).collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate signature ids");
        assert!(n >= 40);
    }

    /// The spec's severity rule, held to every row.
    #[test]
    fn severities_follow_the_spec() {
        for r in &Signatures::builtin().rows {
            let want = match (r.category, r.place) {
                (Category::DebugConsole | Category::StackTrace | Category::SqlError, _) => {
                    Severity::High
                }
                (_, Place::Body) => Severity::Medium,
                (_, Place::Header) => Severity::Low,
            };
            assert_eq!(r.severity, want, "{}", r.id);
            assert!(r.header.is_none() || r.place == Place::Header, "{}", r.id);
        }
    }

    #[test]
    fn bad_rows_are_refused() {
        let base = "generic_phrases = []\n[stacks.s]\nname = \"n\"\nfix = \"f\"\n";
        let no_match = format!(
            "{base}[[signature]]\nid = \"x\"\ncategory = \"file_path\"\nseverity = \"medium\"\nwhere = \"body\"\nstack = \"s\"\n"
        );
        assert!(Signatures::parse(&no_match).is_err());
        let bad_stack = format!(
            "{base}[[signature]]\nid = \"x\"\ncategory = \"file_path\"\nseverity = \"medium\"\nwhere = \"body\"\nregex = \"a\"\nstack = \"t\"\n"
        );
        assert!(Signatures::parse(&bad_stack).is_err());
        let check_without_addr = format!(
            "{base}[[signature]]\nid = \"x\"\ncategory = \"internal_address\"\nseverity = \"medium\"\nwhere = \"body\"\nregex = \"a\"\ncheck = \"internal_ip\"\nstack = \"s\"\n"
        );
        assert!(Signatures::parse(&check_without_addr).is_err());
    }
}
