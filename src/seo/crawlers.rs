//! Which crawler a request claims to be (by its user agent) and whether it comes from where
//! that crawler crawls from (by the IP ranges its operator publishes).
//!
//! What counts as a crawler is what decides a site's place in search results:
//! - `googlebot`: every user agent with `Googlebot` in it (Googlebot Smartphone and Desktop,
//!   `Googlebot-Image`, `Googlebot-Video`, `Googlebot-News`), `Storebot-Google` and
//!   `Google-InspectionTool` (Search Console's live tests). Google lists these as its
//!   common crawlers, which obey robots.txt and crawl from the ranges in `googlebot.json`.
//!   Not counted: `AdsBot-Google` and `Mediapartners-Google` (ads quality, their own ranges),
//!   `GoogleOther` (research fetches, not indexing), user-triggered fetchers such as
//!   `FeedFetcher-Google`, and `Google-Extended`, which is a robots.txt token, not an agent.
//! - `bingbot`: `bingbot` (both the classic and the Edge-based agent). Not counted:
//!   `AdIdxBot` (ads) and `BingPreview` / `MicrosoftPreview` (snapshots).
//!
//! More with `--crawler NAME=REGEX`, matched against the user agent.

use std::net::IpAddr;
use std::path::Path;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind, packed};
use regex::bytes::Regex;
use serde::Deserialize;

/// A crawler known without being told.
struct Builtin {
    name: &'static str,
    label: &'static str,
    /// Substrings of its user agents, in the spellings met in logs (matched as they are:
    /// the literal search that finds them in whole blocks is fast only case-sensitive).
    tokens: &'static [&'static str],
    /// Host names its addresses resolve to (Google's and Bing's verification instructions),
    /// accepted where a server logged a name instead of an address.
    domains: &'static [&'static str],
}

const BUILTIN: &[Builtin] = &[
    Builtin {
        name: "googlebot",
        label: "Googlebot",
        tokens: &[
            "Googlebot",
            "googlebot",
            "GoogleBot",
            "GOOGLEBOT",
            "Storebot-Google",
            "Google-InspectionTool",
        ],
        domains: &[".googlebot.com", ".google.com", ".googleusercontent.com"],
    },
    Builtin {
        name: "bingbot",
        label: "Bingbot",
        tokens: &["bingbot", "Bingbot", "BingBot", "BINGBOT"],
        domains: &[".search.msn.com"],
    },
];

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
    domains: &'static [&'static str],
    ranges: Option<Ranges>,
}

impl Crawler {
    /// Whether its published ranges were given, so impostors can be told apart.
    pub fn verified(&self) -> bool {
        self.ranges.is_some()
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
    /// Googlebot and Bingbot.
    pub fn builtin() -> Crawlers {
        let mut patterns = Vec::new();
        let mut token_owner = Vec::new();
        for (i, b) in BUILTIN.iter().enumerate() {
            patterns.extend(b.tokens.iter().copied());
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
        let list = BUILTIN
            .iter()
            .map(|b| Crawler {
                name: b.name.to_owned(),
                label: b.label.to_owned(),
                agent: Agent::Tokens,
                domains: b.domains,
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
            domains: &[],
            ranges: None,
        });
        Ok(())
    }

    /// Adds `[NAME=]FILE`: the crawler's published ranges (named after the file without
    /// `NAME=`: `googlebot.json`). Several files for one crawler add up.
    pub fn add_ranges(&mut self, spec: &str) -> Result<(), CrawlerError> {
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
                crawler.domains.iter().any(|d| host.ends_with(d))
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

/// The JSON Google and Bing publish: `{"prefixes": [{"ipv4Prefix": "…"}, {"ipv6Prefix": "…"}]}`.
#[derive(Deserialize)]
struct Published {
    prefixes: Vec<Prefix>,
}

#[derive(Deserialize)]
struct Prefix {
    #[serde(rename = "ipv4Prefix")]
    v4: Option<String>,
    #[serde(rename = "ipv6Prefix")]
    v6: Option<String>,
}

impl Ranges {
    /// Parses a published range file.
    pub fn from_published(json: &[u8]) -> Result<Ranges, String> {
        let published: Published = serde_json::from_slice(json).map_err(|e| e.to_string())?;
        let mut spans = Vec::with_capacity(published.prefixes.len());
        for p in published.prefixes {
            for cidr in [p.v4, p.v6].into_iter().flatten() {
                spans.push(parse_cidr(&cidr).ok_or_else(|| format!("bad prefix `{cidr}`"))?);
            }
        }
        if spans.is_empty() {
            return Err("no ipv4Prefix or ipv6Prefix in it".to_owned());
        }
        Ok(Ranges::merged(spans))
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
    let (addr, len) = cidr.trim().split_once('/')?;
    let ip: IpAddr = addr.parse().ok()?;
    let len: u32 = len.parse().ok()?;
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
        c.add("yandex=(?i)yandexbot").unwrap();
        assert!(c.needs_every_line());
        let i = c
            .identify(b"Mozilla/5.0 (compatible; YandexBot/3.0)")
            .unwrap();
        assert_eq!(c.list()[i].name, "yandex");
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
