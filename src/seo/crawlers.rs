//! Which crawler a request claims to be (by its user agent) and whether it comes from where
//! that crawler crawls from (by the IP ranges its operator publishes).
//!
//! The crawlers known without being told are data, `crawlers.toml` (compiled in): one row each
//! with the user-agent tokens its operator documents, the page that documents them and the
//! address of its published ranges. More with `--crawler NAME=REGEX`, matched against the
//! user agent.

use std::net::IpAddr;
use std::path::Path;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind, packed};
use regex::bytes::Regex;
use serde::Deserialize;

const TABLE: &str = include_str!("crawlers.toml");

/// A crawler known without being told: one row of `crawlers.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Builtin {
    pub name: String,
    pub label: String,
    pub operator: String,
    /// Substrings of its user agents, in the spellings met in logs.
    pub tokens: Vec<String>,
    /// The operator's page on this crawler.
    pub docs: String,
    /// Where the operator publishes its IP ranges, if it does.
    pub ranges: Option<String>,
    /// Host names its addresses resolve to, accepted where a server logged a name.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Its kinds (Googlebot Smartphone, Image…), the first whose token the agent has.
    #[serde(default)]
    pub types: Vec<AgentType>,
}

/// One kind of a crawler, told by a token of its user agent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentType {
    pub name: String,
    pub token: String,
}

/// The type name of agents that have none of a crawler's type tokens.
pub const OTHER_TYPE: &str = "other";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    crawler: Vec<Builtin>,
}

/// Every built-in crawler, in the table's order.
pub fn builtin_table() -> &'static [Builtin] {
    static TABLE_ROWS: OnceLock<Vec<Builtin>> = OnceLock::new();
    TABLE_ROWS.get_or_init(|| {
        let table: Table = toml::from_str(TABLE).expect("the built-in crawlers.toml parses");
        table.crawler
    })
}

/// With a crawler's token, what makes a line worth parsing (found in the whole line first,
/// for speed; the parsed fields decide).
const ROBOTS_TOKEN: &str = "robots.txt";

/// How a crawler is told by its user agent.
#[derive(Debug)]
enum Agent {
    /// Any of these patterns of the shared automaton.
    Tokens,
    Regex(Regex),
}

/// One crawler.
#[derive(Debug)]
pub struct Crawler {
    /// The id in reports (`googlebot`).
    pub name: String,
    /// As people write it (`Googlebot`).
    pub label: String,
    agent: Agent,
    /// Its row of `crawlers.toml`; `None` for a `--crawler`.
    pub builtin: Option<&'static Builtin>,
    ranges: Option<Ranges>,
}

impl Crawler {
    /// Whether its published ranges were given, so impostors can be told apart.
    pub fn verified(&self) -> bool {
        self.ranges.is_some()
    }

    /// Its documented reverse-DNS domains: a logged host name in one of them passes.
    fn domains(&self) -> &[String] {
        self.builtin.map_or(&[], |b| &b.domains)
    }

    /// The index in [`Crawler::type_names`] of the kind of agent (a crawler without kinds:
    /// `None`).
    pub fn agent_type(&self, agent: &[u8]) -> Option<usize> {
        let types = &self.builtin?.types;
        if types.is_empty() {
            return None;
        }
        let found = types
            .iter()
            .position(|t| memchr::memmem::find(agent, t.token.as_bytes()).is_some());
        Some(found.unwrap_or(types.len()))
    }

    /// Its kinds' names, then [`OTHER_TYPE`] (none for a crawler without kinds).
    pub fn type_names(&self) -> Vec<&str> {
        let types = self.builtin.map_or(&[][..], |b| &b.types);
        if types.is_empty() {
            return Vec::new();
        }
        let mut names: Vec<&str> = types.iter().map(|t| t.name.as_str()).collect();
        names.push(OTHER_TYPE);
        names
    }
}

/// Why a crawler definition was refused.
#[derive(Debug, thiserror::Error)]
pub enum CrawlerError {
    #[error("--crawler `{0}`: expected NAME=REGEX")]
    Syntax(String),
    #[error("--crawler `{0}`: the name must be letters, digits, `-` or `_`")]
    Name(String),
    #[error("--crawler `{0}`: already a crawler")]
    Duplicate(String),
    #[error("--crawler `{name}`: {error}")]
    Regex { name: String, error: regex::Error },
    #[error("--crawler-ranges {0}: unknown crawler (name it: --crawler-ranges NAME=FILE)")]
    UnknownCrawler(String),
    #[error("--crawler-ranges {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("--crawler-ranges {path}: {error}")]
    Ranges { path: String, error: String },
    #[error("--crawler-ranges {0}: no NAME.json of a known crawler in it")]
    EmptyDir(String),
    #[error("too many crawlers (at most {MAX_CRAWLERS})")]
    TooMany,
}

/// Crawler sets are kept in a 64-bit mask.
pub const MAX_CRAWLERS: usize = 64;

/// The crawlers to recognise, and the searchers that find lines worth parsing.
#[derive(Debug)]
pub struct Crawlers {
    list: Vec<Crawler>,
    /// Builtin tokens, then [`ROBOTS_TOKEN`]: for a user agent.
    tokens: AhoCorasick,
    /// The same, for whole blocks: SIMD (Teddy) where the CPU has it, ten times the speed
    /// of the automaton's own search on access logs.
    packed: Option<packed::Searcher>,
    /// The crawler of each token; `None` for robots.txt.
    token_owner: Vec<Option<usize>>,
}

impl Default for Crawlers {
    fn default() -> Self {
        Crawlers::builtin()
    }
}

impl Crawlers {
    /// The crawlers of `crawlers.toml`.
    pub fn builtin() -> Crawlers {
        let table = builtin_table();
        let mut patterns: Vec<&str> = Vec::new();
        let mut token_owner = Vec::new();
        for (i, b) in table.iter().enumerate() {
            patterns.extend(b.tokens.iter().map(String::as_str));
            token_owner.extend(b.tokens.iter().map(|_| Some(i)));
        }
        patterns.push(ROBOTS_TOKEN);
        token_owner.push(None);
        let tokens = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&patterns)
            .expect("fixed patterns build");
        let packed = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(&patterns)
            .build();
        let list = table
            .iter()
            .map(|b| Crawler {
                name: b.name.clone(),
                label: b.label.clone(),
                agent: Agent::Tokens,
                builtin: Some(b),
                ranges: None,
            })
            .collect();
        Crawlers {
            list,
            tokens,
            packed,
            token_owner,
        }
    }

    /// Adds `NAME=REGEX`.
    pub fn add(&mut self, spec: &str) -> Result<(), CrawlerError> {
        let (name, pattern) = spec
            .split_once('=')
            .ok_or_else(|| CrawlerError::Syntax(spec.to_owned()))?;
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(CrawlerError::Name(name.to_owned()));
        }
        if self.position(name).is_some() {
            return Err(CrawlerError::Duplicate(name.to_owned()));
        }
        if self.list.len() >= MAX_CRAWLERS {
            return Err(CrawlerError::TooMany);
        }
        let regex = Regex::new(pattern).map_err(|error| CrawlerError::Regex {
            name: name.to_owned(),
            error,
        })?;
        self.list.push(Crawler {
            name: name.to_owned(),
            label: name.to_owned(),
            agent: Agent::Regex(regex),
            builtin: None,
            ranges: None,
        });
        Ok(())
    }

    /// Adds `[NAME=]FILE`: the crawler's published ranges (named after the file without
    /// `NAME=`: `googlebot.json`). Several files for one crawler add up.
    pub fn add_ranges(&mut self, spec: &str) -> Result<(), CrawlerError> {
        if Path::new(spec).is_dir() {
            return self.add_ranges_dir(Path::new(spec));
        }
        let (name, file) = match spec.split_once('=') {
            Some((name, file)) if self.position(name).is_some() => (name.to_owned(), file),
            _ => {
                let stem = Path::new(spec)
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (stem, spec)
            }
        };
        let index = self
            .position(&name)
            .ok_or_else(|| CrawlerError::UnknownCrawler(spec.to_owned()))?;
        let text = std::fs::read(file).map_err(|error| CrawlerError::Read {
            path: file.to_owned(),
            error,
        })?;
        let ranges = Ranges::from_published(&text).map_err(|error| CrawlerError::Ranges {
            path: file.to_owned(),
            error,
        })?;
        let slot = &mut self.list[index].ranges;
        *slot = Some(match slot.take() {
            Some(had) => had.union(ranges),
            None => ranges,
        });
        Ok(())
    }

    /// Adds `DIR/NAME.json` for every crawler that has one there (as `--fetch-ranges DIR`
    /// saved them).
    fn add_ranges_dir(&mut self, dir: &Path) -> Result<(), CrawlerError> {
        let files: Vec<String> = self
            .list
            .iter()
            .map(|c| dir.join(format!("{}.json", c.name)))
            .filter(|f| f.is_file())
            .map(|f| f.to_string_lossy().into_owned())
            .collect();
        if files.is_empty() {
            return Err(CrawlerError::EmptyDir(dir.display().to_string()));
        }
        files.iter().try_for_each(|f| self.add_ranges(f))
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.list.iter().position(|c| c.name == name)
    }

    pub fn list(&self) -> &[Crawler] {
        &self.list
    }

    /// Whether recognising a crawler needs every line parsed (a `--crawler` regex cannot be
    /// searched for in a whole line the way the builtin tokens are).
    pub fn needs_every_line(&self) -> bool {
        self.list.iter().any(|c| matches!(c.agent, Agent::Regex(_)))
    }

    /// Where the next line worth parsing starts and ends in `block`, from `from` on.
    pub fn next_candidate(&self, block: &[u8], from: usize) -> Option<(usize, usize)> {
        let rest = &block[from..];
        let (start, end) = match &self.packed {
            Some(p) => p.find(rest).map(|m| (m.start(), m.end()))?,
            None => self.tokens.find(rest).map(|m| (m.start(), m.end()))?,
        };
        let (start, end) = (from + start, from + end);
        let line_start = memchr::memrchr(b'\n', &block[..start]).map_or(0, |i| i + 1);
        let line_end = memchr::memchr(b'\n', &block[end..]).map_or(block.len(), |i| end + i);
        Some((line_start, line_end))
    }

    /// The crawler a user agent names, if any.
    pub fn identify(&self, agent: &[u8]) -> Option<usize> {
        let builtin = self
            .tokens
            .find_iter(agent)
            .find_map(|m| self.token_owner[m.pattern().as_usize()]);
        builtin.or_else(|| {
            self.list.iter().position(|c| match &c.agent {
                Agent::Regex(r) => r.is_match(agent),
                Agent::Tokens => false,
            })
        })
    }

    /// Whether a request claiming to be crawler `index` comes from its ranges; always true
    /// where they are not known. A logged host name is accepted if it is in the crawler's
    /// domains (the name came from the server's reverse lookup).
    pub fn genuine(&self, index: usize, client: &[u8]) -> bool {
        let crawler = &self.list[index];
        let Some(ranges) = &crawler.ranges else {
            return true;
        };
        let text = String::from_utf8_lossy(client);
        let text = text.trim().trim_start_matches('[').trim_end_matches(']');
        match text.parse::<IpAddr>() {
            Ok(ip) => ranges.contains(ip),
            Err(_) => {
                let host = text.to_ascii_lowercase();
                let host = host.trim_end_matches('.');
                crawler.domains().iter().any(|d| host.ends_with(d.as_str()))
            }
        }
    }
}

/// IP ranges as inclusive intervals in one 128-bit space (IPv4 as IPv4-mapped IPv6), sorted
/// and merged, for a binary search per lookup.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ranges {
    spans: Vec<(u128, u128)>,
}

/// The JSON Google, Bing, Apple, OpenAI, Perplexity, Anthropic, DuckDuckGo and Common Crawl
/// publish: `{"creationTime": "…", "prefixes": [{"ipv4Prefix": "…"}, {"ipv6Prefix": "…"}]}`;
/// a prefix written as a bare string is taken too.
#[derive(Deserialize)]
struct Published {
    prefixes: Vec<Prefix>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Prefix {
    Fields {
        #[serde(rename = "ipv4Prefix")]
        v4: Option<String>,
        #[serde(rename = "ipv6Prefix")]
        v6: Option<String>,
    },
    Bare(String),
}

impl Prefix {
    fn into_cidrs(self) -> Vec<String> {
        match self {
            Prefix::Fields { v4, v6 } => [v4, v6].into_iter().flatten().collect(),
            Prefix::Bare(cidr) => vec![cidr],
        }
    }
}

impl Ranges {
    /// Parses a published range file: the JSON above, or a list of addresses and prefixes,
    /// one a line (`#` starts a comment), as some operators publish them on a page.
    pub fn from_published(text: &[u8]) -> Result<Ranges, String> {
        let cidrs: Vec<String> = if text.trim_ascii_start().starts_with(b"{") {
            let published: Published = serde_json::from_slice(text).map_err(|e| e.to_string())?;
            published
                .prefixes
                .into_iter()
                .flat_map(Prefix::into_cidrs)
                .collect()
        } else {
            String::from_utf8_lossy(text)
                .lines()
                .map(|l| l.split('#').next().unwrap_or_default().trim().to_owned())
                .filter(|l| !l.is_empty())
                .collect()
        };
        let spans = cidrs
            .iter()
            .map(|c| parse_cidr(c).ok_or_else(|| format!("bad prefix `{c}`")))
            .collect::<Result<Vec<_>, _>>()?;
        if spans.is_empty() {
            return Err("no prefix in it".to_owned());
        }
        Ok(Ranges::merged(spans))
    }

    /// How many merged spans: for saying what a fetched file held.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    fn merged(mut spans: Vec<(u128, u128)>) -> Ranges {
        spans.sort_unstable();
        let mut out: Vec<(u128, u128)> = Vec::with_capacity(spans.len());
        for (lo, hi) in spans {
            match out.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => out.push((lo, hi)),
            }
        }
        Ranges { spans: out }
    }

    fn union(self, other: Ranges) -> Ranges {
        Ranges::merged([self.spans, other.spans].concat())
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let x = to_u128(ip);
        let i = self.spans.partition_point(|&(lo, _)| lo <= x);
        i > 0 && x <= self.spans[i - 1].1
    }
}

/// An address in the shared space: IPv4 (also written IPv4-mapped, `::ffff:1.2.3.4`, as
/// dual-stack servers log it) at `::ffff:0:0/96`.
fn to_u128(ip: IpAddr) -> u128 {
    match ip.to_canonical() {
        IpAddr::V4(v4) => 0xffff_u128 << 32 | u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// `66.249.64.0/27` or `2001:4860:4801:10::/64` as an inclusive interval.
fn parse_cidr(cidr: &str) -> Option<(u128, u128)> {
    let cidr = cidr.trim();
    let (ip, len): (IpAddr, u32) = match cidr.split_once('/') {
        Some((addr, len)) => (addr.parse().ok()?, len.parse().ok()?),
        // A bare address: itself alone.
        None => {
            let ip: IpAddr = cidr.parse().ok()?;
            (ip, if ip.is_ipv4() { 32 } else { 128 })
        }
    };
    let len = match ip {
        IpAddr::V4(_) if len <= 32 => len + 96,
        IpAddr::V6(_) if len <= 128 => len,
        _ => return None,
    };
    let host_bits = 128 - len;
    let mask = if host_bits == 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    };
    let lo = to_u128(ip) & !mask;
    Some((lo, lo | mask))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOGLE_MOBILE: &[u8] = b"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.204 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

    #[test]
    fn agents() {
        let c = Crawlers::builtin();
        let name = |ua: &[u8]| c.identify(ua).map(|i| c.list()[i].name.as_str());
        assert_eq!(name(GOOGLE_MOBILE), Some("googlebot"));
        assert_eq!(name(b"Googlebot-Image/1.0"), Some("googlebot"));
        assert_eq!(
            name(b"Mozilla/5.0 (compatible; Google-InspectionTool/1.0;)"),
            Some("googlebot")
        );
        assert_eq!(
            name(b"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"),
            Some("bingbot")
        );
        assert_eq!(
            name(b"AdsBot-Google (+http://www.google.com/adsbot.html)"),
            None
        );
        assert_eq!(name(b"Mediapartners-Google"), None);
        assert_eq!(name(b"Mozilla/5.0 (compatible; GoogleOther)"), None);
        assert_eq!(name(b"curl/8.0 robots.txt"), None);
    }

    /// Each built-in crawler by the user agent its operator documents.
    #[test]
    fn documented_agents() {
        let c = Crawlers::builtin();
        let name = |ua: &str| c.identify(ua.as_bytes()).map(|i| c.list()[i].name.as_str());
        for (ua, want) in [
            (
                "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
                "yandexbot",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
                "applebot",
            ),
            (
                "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
                "duckduckbot",
            ),
            (
                "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
                "baiduspider",
            ),
            (
                "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
                "gptbot",
            ),
            (
                "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; OAI-SearchBot/1.0; +https://openai.com/searchbot",
                "oai-searchbot",
            ),
            (
                "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot",
                "chatgpt-user",
            ),
            (
                "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)",
                "claudebot",
            ),
            (
                "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)",
                "perplexitybot",
            ),
            ("CCBot/2.0 (https://commoncrawl.org/faq/)", "ccbot"),
            (
                "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Amazonbot/0.1; +https://developer.amazon.com/support/amazonbot) Chrome/119.0.6045.214 Safari/537.36",
                "amazonbot",
            ),
            (
                "meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)",
                "meta-externalagent",
            ),
        ] {
            assert_eq!(name(ua), Some(want), "{ua}");
        }
        assert_eq!(
            name("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0"),
            None
        );
    }

    /// Googlebot's kinds, as Google lists its common crawlers' agents.
    #[test]
    fn googlebot_types() {
        let c = Crawlers::builtin();
        let g = &c.list()[0];
        let kind = |ua: &str| g.agent_type(ua.as_bytes()).map(|t| g.type_names()[t]);
        assert_eq!(
            kind(std::str::from_utf8(GOOGLE_MOBILE).unwrap()),
            Some("smartphone")
        );
        assert_eq!(
            kind(
                "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/131.0.6778.204 Safari/537.36"
            ),
            Some("desktop")
        );
        assert_eq!(kind("Googlebot-Image/1.0"), Some("image"));
        assert_eq!(kind("Googlebot-Video/1.0"), Some("video"));
        assert_eq!(kind("Googlebot-News"), Some("news"));
        assert_eq!(
            kind(
                "Mozilla/5.0 (X11; Linux x86_64; Storebot-Google/1.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.88 Safari/537.36"
            ),
            Some("storebot")
        );
        assert_eq!(
            kind("Mozilla/5.0 (compatible; Google-InspectionTool/1.0;)"),
            Some("inspection_tool")
        );
        assert_eq!(kind("googlebot"), Some("other"));
        assert_eq!(c.list()[1].agent_type(b"bingbot"), None, "no kinds");
    }

    /// Every row names its operator's page; the published ranges are https.
    #[test]
    fn the_table_cites_its_sources() {
        let table = builtin_table();
        assert!(table.len() >= 14 && table.len() <= MAX_CRAWLERS);
        for b in table {
            assert!(
                b.docs.starts_with("https://") && !b.tokens.is_empty(),
                "{}",
                b.name
            );
            assert!(
                b.ranges
                    .as_deref()
                    .is_none_or(|r| r.starts_with("https://"))
            );
        }
        let names: std::collections::BTreeSet<&str> =
            table.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names.len(), table.len(), "names are unique");
    }

    #[test]
    fn candidates_are_whole_lines() {
        let c = Crawlers::builtin();
        let block = b"a\nx Googlebot y\nz\nGET /robots.txt\nlast bingbot";
        let mut found = Vec::new();
        let mut from = 0;
        while let Some((s, e)) = c.next_candidate(block, from) {
            found.push(&block[s..e]);
            from = e;
        }
        assert_eq!(
            found,
            [&b"x Googlebot y"[..], b"GET /robots.txt", b"last bingbot"]
        );
    }

    #[test]
    fn custom_crawlers() {
        let mut c = Crawlers::builtin();
        c.add("seznam=(?i)seznambot").unwrap();
        assert!(c.needs_every_line());
        let i = c
            .identify(b"Mozilla/5.0 (compatible; SeznamBot/4.0; +https://o-seznam.cz/napoveda/vyhledavani/en/seznambot-crawler/)")
            .unwrap();
        assert_eq!(c.list()[i].name, "seznam");
        assert!(matches!(
            c.add("googlebot=x"),
            Err(CrawlerError::Duplicate(_))
        ));
        assert!(matches!(c.add("a b=x"), Err(CrawlerError::Name(_))));
        assert!(matches!(c.add("nothing"), Err(CrawlerError::Syntax(_))));
        assert!(matches!(c.add("x=("), Err(CrawlerError::Regex { .. })));
    }

    #[test]
    fn published_ranges() {
        let json = br#"{"creationTime": "2026-11-20T00:00:00.000000", "prefixes": [
            {"ipv6Prefix": "2001:4860:4801:10::/64"}, {"ipv4Prefix": "66.249.64.0/27"},
            {"ipv4Prefix": "66.249.64.32/27"}]}"#;
        let r = Ranges::from_published(json).unwrap();
        assert_eq!(r.spans.len(), 2, "adjacent /27s merge");
        let has = |s: &str| r.contains(s.parse().unwrap());
        assert!(has("66.249.64.0") && has("66.249.64.63") && has("::ffff:66.249.64.1"));
        assert!(!has("66.249.64.64") && !has("66.249.63.255"));
        assert!(has("2001:4860:4801:10::1") && has("2001:4860:4801:10:ffff:ffff:ffff:ffff"));
        assert!(!has("2001:4860:4801:11::1") && !has("::1"));
        assert!(Ranges::from_published(b"{\"prefixes\": []}").is_err());
        assert!(
            Ranges::from_published(b"{\"prefixes\": [{\"ipv4Prefix\": \"1.2.3.4/33\"}]}").is_err()
        );
        assert!(Ranges::from_published(b"not json").is_err());
        // Bare strings in `prefixes`, and a plain list with a comment and a bare address.
        let bare = Ranges::from_published(br#"{"prefixes": ["20.171.206.0/24"]}"#).unwrap();
        assert!(bare.contains("20.171.206.9".parse().unwrap()));
        let list =
            Ranges::from_published(b"# DuckDuckBot\n20.191.45.212\n40.88.21.235/32\n").unwrap();
        assert!(list.contains("20.191.45.212".parse().unwrap()));
        assert!(!list.contains("20.191.45.213".parse().unwrap()));
        assert_eq!(
            parse_cidr("0.0.0.0/0").unwrap().1 - parse_cidr("0.0.0.0/0").unwrap().0,
            u128::from(u32::MAX)
        );
        assert_eq!(parse_cidr("::/0"), Some((0, u128::MAX)));
    }

    #[test]
    fn genuine_or_impostor() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("googlebot.json");
        std::fs::write(&file, r#"{"prefixes": [{"ipv4Prefix": "66.249.64.0/19"}]}"#).unwrap();
        let mut c = Crawlers::builtin();
        assert!(c.genuine(0, b"6.6.6.6"), "no ranges: every claim is taken");
        c.add_ranges(file.to_str().unwrap()).unwrap();
        assert!(c.list()[0].verified() && !c.list()[1].verified());
        assert!(c.genuine(0, b"66.249.66.1"));
        assert!(!c.genuine(0, b"6.6.6.6"));
        assert!(!c.genuine(0, b"-"));
        assert!(c.genuine(0, b"crawl-66-249-66-1.googlebot.com"));
        assert!(!c.genuine(0, b"googlebot.com.evil.example"));
        assert!(c.genuine(1, b"6.6.6.6"));
        let other = dir.path().join("bing-ranges.json");
        std::fs::write(
            &other,
            r#"{"prefixes": [{"ipv4Prefix": "157.55.39.0/24"}]}"#,
        )
        .unwrap();
        assert!(matches!(
            c.add_ranges(other.to_str().unwrap()),
            Err(CrawlerError::UnknownCrawler(_))
        ));
        c.add_ranges(&format!("bingbot={}", other.display()))
            .unwrap();
        assert!(c.genuine(1, b"157.55.39.7") && !c.genuine(1, b"6.6.6.6"));
    }
}
