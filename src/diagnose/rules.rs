//! The rule table (`rules.toml`, compiled in) and its application to error records. The code
//! here knows no cause by name: every cause, literal, pattern and fix lives in the table.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::Regex;
use serde::Deserialize;

use crate::formats::app::{Language, trace};
use crate::formats::{ErrorEvent, Kind};

const TABLE: &str = include_str!("rules.toml");

/// The cause reported when nothing explains a response.
pub const UNKNOWN: &str = "unknown";

#[derive(Deserialize)]
struct RawTable {
    causes: BTreeMap<String, CauseText>,
    rule: Vec<RawRule>,
    #[serde(default)]
    access_reason: Vec<RawReason>,
    locator: Vec<RawLocator>,
}

/// An `[[access_reason]]` row: what an access format's own reason for a failed request
/// (HAProxy's termination state) says the cause is.
#[derive(Deserialize)]
struct RawReason {
    format: String,
    reason: String,
    cause: String,
    weight: u16,
    #[serde(default)]
    refined_by: Vec<String>,
    #[serde(default)]
    unreached: bool,
}

/// A cause in words and its fix.
#[derive(Clone, Debug, Deserialize)]
pub struct CauseText {
    pub title: String,
    pub fix: String,
    /// The statuses a server answers with for this cause (empty: any 5xx). Where identity
    /// and time leave two records equal, the one whose cause fits the response's status wins.
    #[serde(default)]
    pub statuses: Vec<u16>,
}

#[derive(Deserialize)]
struct RawRule {
    cause: String,
    #[serde(rename = "match")]
    literal: String,
    regex: Option<String>,
    locate: Option<String>,
    upstream: Option<String>,
    logs: Option<Vec<Kind>>,
    weight: u16,
    #[serde(default)]
    refined_by: Vec<String>,
    reach: Option<u32>,
    /// The statuses the failure this record tells of answers with, where it differs from
    /// its cause's.
    statuses: Option<Vec<u16>>,
    #[serde(default)]
    unreached: bool,
    #[serde(default)]
    episode: bool,
}

#[derive(Deserialize)]
struct RawLocator {
    regex: String,
}

/// One compiled rule.
#[derive(Debug)]
struct Rule {
    cause: &'static str,
    regex: Option<Pattern>,
    locate: Option<Pattern>,
    /// Must match the upstream the record names (nginx's `upstream: "…"`), where given.
    upstream: Option<Pattern>,
    logs: Option<Vec<Kind>>,
    weight: u16,
    refined_by: &'static [&'static str],
    reach_ms: i64,
    statuses: &'static [u16],
    unreached: bool,
    episode: bool,
    /// Whether `regex` is tied to the start or end of the message, so only the message as
    /// parsed can tell.
    anchored: bool,
}

/// The compiled table.
pub struct Rules {
    causes: BTreeMap<String, CauseText>,
    rules: Vec<Rule>,
    /// The `[[access_reason]]` rows, each as the verdict it gives: (format, reason prefix,
    /// verdict).
    reasons: Vec<(String, String, Verdict)>,
    literals: AhoCorasick,
    /// For each kind of error log, the literals of the rules that read it, in lower case,
    /// searched case-sensitively in lower-cased text: the same matches, with the SIMD search a
    /// case-insensitive one cannot have (the fewer literals, the faster).
    folded: [(Kind, AhoCorasick); 4],
    /// The longest literal's length.
    longest: usize,
    locators: Vec<Pattern>,
}

/// A regex of the table, checked when the table is compiled and compiled itself on first use:
/// a run meets few of the table's patterns, and compiling them all cost more than reading a
/// small log does (some 20 ms, `docs/speed.md`).
#[derive(Debug)]
struct Pattern {
    source: Box<str>,
    compiled: OnceLock<Regex>,
}

impl Pattern {
    /// The pattern, if its syntax is valid (as `Regex::new` parses it); else what is wrong.
    fn new(source: &str) -> Result<Pattern, String> {
        regex_syntax::Parser::new()
            .parse(source)
            .map_err(|e| e.to_string())?;
        Ok(Pattern {
            source: source.into(),
            compiled: OnceLock::new(),
        })
    }

    /// The compiled regex. Its syntax was checked, and the table's test compiles each one
    /// (which would also meet a size limit).
    fn get(&self) -> &Regex {
        self.compiled.get_or_init(|| {
            Regex::new(&self.source).expect("a checked pattern of the table compiles")
        })
    }
}

/// What a rule says about one error record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub cause: &'static str,
    pub weight: u16,
    /// For a record that says only that the upstream failed: the causes a process-level
    /// record near it may name instead. Empty for records that say why.
    pub refined_by: &'static [&'static str],
    /// How long before a response this record still explains it, in milliseconds.
    pub reach_ms: i64,
    /// The statuses a server answers with for the failure (empty: any).
    pub statuses: &'static [u16],
    /// The request never reached the application (the connection to it failed): no record
    /// of the application's can be about it.
    pub unreached: bool,
    /// The record tells of a state beyond its own request (the pool full), which explains
    /// the other requests to the same site failing in a way it allows while it holds.
    pub episode: bool,
    pub file: Option<String>,
    pub line: Option<u64>,
    /// The language of the application that wrote the record, for an application server's.
    pub language: Option<Language>,
    /// The exception its stack trace ends with (`KeyError`), where it has one.
    pub exception: Option<String>,
}

/// What the rules said of messages seen lately, so that a message repeated is read by them
/// once: a busy log says the same few things over and over (one warning from one line of
/// code, one outage's error for every request), and the same message always reads the same.
/// Direct-mapped, so bounded: a slot holds the last message that hashed to it.
pub struct Memo<V> {
    /// The rules the answers are theirs (their address): another table starts afresh.
    rules: usize,
    slots: Box<[Option<Memory<V>>]>,
}

struct Memory<V> {
    hash: u64,
    kind: Option<Kind>,
    /// The message, and what else the rules read beside it (the upstream it names), each
    /// ended by a NUL (which no cleaned text holds).
    key: Box<[u8]>,
    answer: V,
}

/// Slots in a [`Memo`]: more than the distinct messages of a busy log's hour, as a rule.
const MEMO_SLOTS: usize = 1024;
/// Longer messages are not remembered (a stack trace is seldom repeated whole).
const MEMO_KEY_MAX: usize = 4096;

impl<V> Default for Memo<V> {
    fn default() -> Self {
        Memo {
            rules: 0,
            slots: std::iter::repeat_with(|| None).take(MEMO_SLOTS).collect(),
        }
    }
}

impl<V: Clone> Memo<V> {
    /// The answer for a message of a `kind` of log (`parts`: the message and what else the
    /// rules read beside it), remembered or found by `read`.
    fn answer(
        &mut self,
        rules: &Rules,
        kind: Option<Kind>,
        parts: &[&[u8]],
        read: impl FnOnce() -> V,
    ) -> V {
        let len: usize = parts.iter().map(|p| p.len() + 1).sum();
        if len > MEMO_KEY_MAX {
            return read();
        }
        let owner = std::ptr::from_ref(rules) as usize;
        if self.rules != owner {
            self.slots.iter_mut().for_each(|s| *s = None);
            self.rules = owner;
        }
        let hash = std::hash::BuildHasher::hash_one(&rustc_hash::FxBuildHasher, parts);
        let is_key = |key: &[u8]| {
            key.len() == len
                && parts
                    .iter()
                    .try_fold(key, |rest, p| rest.strip_prefix(*p)?.strip_prefix(b"\0"))
                    .is_some()
        };
        let slot = &mut self.slots[(hash % MEMO_SLOTS as u64) as usize];
        if let Some(m) = slot.as_ref()
            && m.hash == hash
            && m.kind == kind
            && is_key(&m.key)
        {
            return m.answer.clone();
        }
        let answer = read();
        let mut key = Vec::with_capacity(len);
        for p in parts {
            key.extend_from_slice(p);
            key.push(0);
        }
        *slot = Some(Memory {
            hash,
            kind,
            key: key.into(),
            answer: answer.clone(),
        });
        answer
    }
}

/// A reader's memories of the rules' answers (see [`Memo`]), kept by each thread that reads.
#[derive(Default)]
pub struct Memos {
    verdicts: Memo<Option<Verdict>>,
    candidates: Memo<bool>,
    /// Where the prefilter's matches are in a message, reused from record to record.
    near: Vec<usize>,
}

/// How far back a process-level record explains failures when its rule says nothing.
const DEFAULT_REACH_S: u32 = 5;

impl Rules {
    /// The built-in table, compiled once.
    pub fn builtin() -> &'static Rules {
        static RULES: OnceLock<Rules> = OnceLock::new();
        RULES.get_or_init(|| Rules::compile(TABLE).expect("the built-in rules.toml compiles"))
    }

    /// Compiles a table; errors name the bad row.
    pub fn compile(text: &str) -> Result<Rules, String> {
        let raw: RawTable = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut rules = Vec::with_capacity(raw.rule.len());
        for r in &raw.rule {
            if !raw.causes.contains_key(&r.cause) {
                return Err(format!("rule for `{}` has no [causes.{0}] entry", r.cause));
            }
            let compile = |re: &Option<String>| {
                re.as_deref()
                    .map(Pattern::new)
                    .transpose()
                    .map_err(|e| format!("rule `{}`: {e}", r.literal))
            };
            rules.push(Rule {
                cause: leak(&r.cause),
                regex: compile(&r.regex)?,
                locate: compile(&r.locate)?,
                upstream: compile(&r.upstream)?,
                logs: r.logs.clone(),
                weight: r.weight,
                refined_by: leak_slice(r.refined_by.iter().map(|c| leak(c)).collect()),
                reach_ms: i64::from(r.reach.unwrap_or(DEFAULT_REACH_S)) * 1000,
                statuses: Box::leak(
                    r.statuses
                        .clone()
                        .unwrap_or_else(|| raw.causes[&r.cause].statuses.clone())
                        .into_boxed_slice(),
                ),
                unreached: r.unreached,
                episode: r.episode,
                anchored: r.regex.as_deref().is_some_and(is_anchored),
            });
        }
        let reasons = raw
            .access_reason
            .iter()
            .map(|r| reason_row(r, &raw.causes))
            .collect::<Result<_, _>>()?;
        // Searched only in short windows around the prefilter's matches, where a contiguous
        // NFA is about as fast as a DFA, which takes ten times as long to build.
        let literals = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(raw.rule.iter().map(|r| &r.literal))
            .map_err(|e| e.to_string())?;
        // Leftmost semantics, which is all finding candidates needs, admit the packed search.
        let folded = |kind: Kind| {
            let tails = raw
                .rule
                .iter()
                .filter(|r| reads(r.logs.as_deref(), Some(kind)))
                .map(|r| distinctive_tail(&r.literal));
            // The packed (SIMD) search finds the matches; the automaton only backs it up
            // where that search cannot run, so the cheapest to build.
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostFirst)
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .build(tails)
                .map(|ac| (kind, ac))
                .map_err(|e| e.to_string())
        };
        let folded = [
            folded(Kind::Error)?,
            folded(Kind::PhpFpm)?,
            folded(Kind::PhpError)?,
            folded(Kind::App)?,
        ];
        let locators = raw
            .locator
            .iter()
            .map(|l| Pattern::new(&l.regex))
            .collect::<Result<_, _>>()?;
        Ok(Rules {
            causes: raw.causes,
            rules,
            reasons,
            literals,
            folded,
            longest: raw.rule.iter().map(|r| r.literal.len()).max().unwrap_or(0),
            locators,
        })
    }

    /// What an access line's own reason for failing says, where a row of its format reads it:
    /// the row with the longest `reason` that the text starts with (`sH` reads `sH--`).
    pub fn classify_reason(&self, format: &str, reason: &str) -> Option<&Verdict> {
        self.reasons
            .iter()
            .filter(|(f, prefix, _)| f == format && reason.starts_with(prefix.as_str()))
            .max_by_key(|(_, prefix, _)| prefix.len())
            .map(|(_, _, v)| v)
    }

    /// The cause's title and fix.
    pub fn cause(&self, id: &str) -> Option<&CauseText> {
        self.causes.get(id)
    }

    /// The table's own copy of a cause id (ids read back from a store are strings).
    pub fn cause_id(&self, id: &str) -> Option<&str> {
        self.causes.get_key_value(id).map(|(k, _)| k.as_str())
    }

    /// Every cause id the table knows, `unknown` included.
    pub fn cause_ids(&self) -> impl Iterator<Item = &str> {
        self.causes.keys().map(String::as_str)
    }

    /// Where the prefilter finds a rule's literal in `text`, ASCII case ignored: the start of
    /// each match, in order. A literal never spans a line, so a line holds one exactly when a
    /// match starts within it; one search over many records costs a fraction of one each.
    /// `text`, records of a `kind` of error log, must be in ASCII lower case.
    pub fn candidates(&self, text: &[u8], kind: Kind) -> Vec<usize> {
        let Some((_, folded)) = self.folded.iter().find(|(k, _)| *k == kind) else {
            // No rule reads other kinds of log.
            return Vec::new();
        };
        folded.find_iter(text).map(|m| m.start()).collect()
    }

    /// Whether [`Rules::classify`] may find a rule in a record of a `kind` of log, read from
    /// its raw bytes: each literal found, the rule's log kinds, and its pattern. A superset of
    /// what `classify` finds: where the bytes are not the message as parsed (invalid UTF-8,
    /// control characters), or the pattern is anchored to the message's ends, it says yes.
    /// (A message starts after a space or punctuation in every header, so `\b` reads alike.)
    ///
    /// `near`: where [`Rules::candidates`] found matches in `raw`, if known. Every literal ends
    /// with what the prefilter looks for, and a match it passed over starts inside one it
    /// found, so literals are only looked for around those (`None`: anywhere).
    pub fn may_classify(&self, raw: &[u8], kind: Kind, near: Option<&[usize]>) -> bool {
        // The record as text, checked only once a literal is found (most records have none).
        let text = std::cell::OnceCell::new();
        let fits = |m: aho_corasick::Match| {
            let rule = &self.rules[m.pattern().as_usize()];
            reads(rule.logs.as_deref(), Some(kind))
                && match &rule.regex {
                    Some(re) if !rule.anchored => text
                        .get_or_init(|| crate::formats::plain_text(raw))
                        .is_none_or(|text| re.get().is_match(text)),
                    _ => true,
                }
        };
        self.literal_matches(raw, near).any(fits)
    }

    /// Every rule literal in `text`, overlapping ones too, in the order of their ends: looked
    /// for only in windows around `near` (where [`Rules::candidates`] found matches, as offsets
    /// into `text`), if given. Every literal ends with what the prefilter looks for, and a match
    /// it passed over starts inside one it found, so no literal lies outside them.
    fn literal_matches<'t>(
        &'t self,
        text: &'t [u8],
        near: Option<&'t [usize]>,
    ) -> impl Iterator<Item = aho_corasick::Match> + 't {
        let whole = near.is_none().then_some(0..text.len());
        let mut windows = near
            .unwrap_or_default()
            .iter()
            .map(|&at| {
                at.min(text.len()).saturating_sub(self.longest)
                    ..text.len().min(at + 2 * self.longest)
            })
            .peekable();
        // Windows that overlap are searched as one.
        let merged = std::iter::from_fn(move || {
            let mut w = windows.next()?;
            while let Some(next) = windows.next_if(|n| n.start <= w.end) {
                w.end = w.end.max(next.end);
            }
            Some(w)
        });
        whole.into_iter().chain(merged).flat_map(move |w| {
            let start = w.start;
            self.literals
                .find_overlapping_iter(&text[w])
                .map(move |m| m.offset(start))
        })
    }

    /// The most specific rule that matches the record, with where it points.
    pub fn classify(&self, event: &ErrorEvent) -> Option<Verdict> {
        self.classify_near(event, None)
    }

    /// [`Rules::classify_near`], remembered in `memos` by the message and the upstream it
    /// names: the same message gets the same verdict, unless a stack trace beyond it names the
    /// place.
    pub fn classify_memo(
        &self,
        event: &ErrorEvent,
        near: Option<&[usize]>,
        memos: &mut Memos,
    ) -> Option<Verdict> {
        if event.language.is_some() {
            return self.classify_near(event, near);
        }
        let read = || self.classify_near(event, near);
        let upstream = event.upstream().unwrap_or_default().as_bytes();
        let parts = [event.message().as_bytes(), upstream];
        memos.verdicts.answer(self, event.kind, &parts, read)
    }

    /// [`Rules::may_classify`] for a raw record whose message starts `at` into `raw`,
    /// remembered in `memos` by the message. Only the message is read: [`Rules::classify`]
    /// reads no more.
    pub fn may_classify_message(
        &self,
        raw: &[u8],
        at: usize,
        kind: Kind,
        near: Option<&[usize]>,
        memos: &mut Memos,
    ) -> bool {
        let Memos {
            candidates,
            near: shifted,
            ..
        } = memos;
        let message = &raw[at.min(raw.len())..];
        let near = near.map(|near| {
            // A match in the header before the message may hide one that starts in it.
            shifted.clear();
            shifted.extend(near.iter().map(|n| n.saturating_sub(at)));
            shifted.as_slice()
        });
        let read = || self.may_classify(message, kind, near);
        candidates.answer(self, Some(kind), &[message], read)
    }

    /// [`Rules::classify`], looking for literals only around `near`: where the prefilter found
    /// them in the record's bytes, when those are the record's text (see
    /// [`Rules::may_classify`]).
    pub fn classify_near(&self, event: &ErrorEvent, near: Option<&[usize]>) -> Option<Verdict> {
        let msg = event.message();
        // The matches as offsets into the message, which starts `at` into the record's text (a
        // match in the header before it may hide one that starts in the message).
        let in_msg: Option<Vec<usize>> = near
            .zip(event.message_start())
            .map(|(near, at)| near.iter().map(|n| n.saturating_sub(at)).collect());
        let mut best: Option<(&Rule, usize)> = None;
        // Overlapping search: one literal must not hide another that starts inside it.
        for m in self.literal_matches(msg.as_bytes(), in_msg.as_deref()) {
            let rule = &self.rules[m.pattern().as_usize()];
            if best.is_some_and(|(b, _)| b.weight >= rule.weight) {
                continue;
            }
            if reads(rule.logs.as_deref(), event.kind)
                && rule.regex.as_ref().is_none_or(|re| re.get().is_match(msg))
                && rule
                    .upstream
                    .as_ref()
                    .is_none_or(|re| event.upstream().is_some_and(|u| re.get().is_match(u)))
            {
                best = Some((rule, m.start()));
            }
        }
        let (rule, at) = best?;
        let (mut file, mut line) = self.locate(rule, msg, at);
        // An application's stack trace names where its own code failed: that is the place.
        let trace = event.language.map(|l| trace::read(l, event.text()));
        if let Some(t) = trace.as_ref().filter(|t| t.file.is_some()) {
            (file, line) = (t.file.clone(), t.line);
        }
        Some(Verdict {
            cause: rule.cause,
            weight: rule.weight,
            refined_by: rule.refined_by,
            reach_ms: rule.reach_ms,
            statuses: rule.statuses,
            unreached: rule.unreached,
            episode: rule.episode,
            file,
            line,
            language: event.language,
            exception: trace.and_then(|t| t.exception),
        })
    }

    /// File and line from the rule's own patterns, else from the shared locators: first the
    /// location that follows the matched text at `at` (a record can hold several PHP messages,
    /// each with its own `in FILE on line N`), then any.
    fn locate(&self, rule: &Rule, msg: &str, at: usize) -> (Option<String>, Option<u64>) {
        let own = [&rule.regex, &rule.locate]
            .into_iter()
            .flatten()
            .map(Pattern::get)
            .filter(|re| re.capture_names().flatten().any(is_place))
            .map(|re| (re, msg));
        let after = self.locators.iter().map(|re| (re.get(), &msg[at..]));
        let anywhere = self.locators.iter().map(|re| (re.get(), msg));
        for (re, text) in own.chain(after).chain(anywhere) {
            if let Some(found) = re.captures(text).map(|c| captured(re, &c))
                && found.0.is_some()
            {
                return found;
            }
        }
        (None, None)
    }
}

/// The part of a literal the prefilter looks for, lower-cased: a tail of it (a part of a
/// literal finds a superset of its matches, which is all the prefilter must). The packed
/// search finds candidates by their first bytes, so the tail starts at a word that ordinary
/// text seldom starts the same way ("The timeout specified…", "PHP Fatal error:", which
/// starts every line of PHP's log, or "connection…" in a log full of `__construct` and
/// `Controller` would make nearly every line a candidate), and is long enough to be rare:
/// the longest such first word wins; the conditions are relaxed one by one where no tail
/// meets them.
fn distinctive_tail(literal: &str) -> String {
    /// Word beginnings common in log text ("pri": `Primary script unknown`, what PHP-FPM says
    /// to every request for a script that does not exist; "und", "att", "pas": PHP's most
    /// common warnings and deprecations, `Undefined …`, `Attempt to read …`, `Passing null …`;
    /// "ups", "whi": nginx's every proxy error, `… while reading response header from
    /// upstream`; "tem": `templates/` in every other path).
    const COMMON: [&str; 27] = [
        "con", "the", "pro", "com", "ser", "sta", "int", "res", "req", "dir", "exc", "upd", "cli",
        "get", "set", "for", "and", "err", "php", "fai", "pri", "und", "att", "pas", "ups", "whi",
        "tem",
    ];
    /// A tail shorter than this is too common to look for ("upstream", "error:").
    const MIN: usize = 12;
    let lower = literal.to_ascii_lowercase();
    let starts: Vec<(usize, usize)> = lower
        .match_indices(|c: char| c != ' ')
        .filter(|(at, _)| *at == 0 || lower.as_bytes()[at - 1] == b' ')
        .map(|(at, _)| (at, lower[at..].split(' ').next().unwrap_or_default().len()))
        .collect();
    let rare = |at: usize| !COMMON.iter().any(|c| lower[at..].starts_with(c));
    let long = |at: usize| lower.len() - at >= MIN;
    let pick = |ok: &dyn Fn(usize) -> bool| {
        starts.iter().filter(|(at, _)| ok(*at)).fold(
            None,
            |best: Option<(usize, usize)>, &(at, len)| match best {
                Some((_, b)) if b >= len => best,
                _ => Some((at, len)),
            },
        )
    };
    let start = pick(&|at| rare(at) && long(at))
        .or_else(|| pick(&long))
        .map_or(0, |(at, _)| at);
    lower[start..].to_owned()
}

/// Whether a pattern may be tied to the start or end of its text: `$`, `\A`, `\z`, or a `^`
/// that does not negate a class (an escaped `\^` counts too: only a needless "maybe" follows).
fn is_anchored(pattern: &str) -> bool {
    let caret = pattern
        .match_indices('^')
        .any(|(at, _)| !pattern[..at].ends_with('['));
    caret || pattern.contains('$') || pattern.contains("\\A") || pattern.contains("\\z")
}

/// The verdict an `[[access_reason]]` row gives, its cause checked against the table's.
fn reason_row(
    r: &RawReason,
    causes: &BTreeMap<String, CauseText>,
) -> Result<(String, String, Verdict), String> {
    let cause = causes.get(&r.cause).ok_or_else(|| {
        format!(
            "access_reason `{}` `{}` names `{}`, which has no [causes.{2}] entry",
            r.format, r.reason, r.cause
        )
    })?;
    if r.reason.is_empty() {
        return Err(format!(
            "access_reason for `{}` has an empty reason",
            r.format
        ));
    }
    let verdict = Verdict {
        cause: leak(&r.cause),
        weight: r.weight,
        refined_by: leak_slice(r.refined_by.iter().map(|c| leak(c)).collect()),
        reach_ms: i64::from(DEFAULT_REACH_S) * 1000,
        statuses: Box::leak(cause.statuses.clone().into_boxed_slice()),
        unreached: r.unreached,
        episode: false,
        file: None,
        line: None,
        language: None,
        exception: None,
    };
    Ok((r.format.clone(), r.reason.clone(), verdict))
}

/// The table lives as long as the program (it is compiled once); its names are borrowed for
/// that long so verdicts can be copied freely.
fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

fn leak_slice(v: Vec<&'static str>) -> &'static [&'static str] {
    Box::leak(v.into_boxed_slice())
}

/// Whether a rule that reads the `logs` it names (all, if none) reads a record of `kind` (any
/// kind, if unknown).
fn reads(logs: Option<&[Kind]>, kind: Option<Kind>) -> bool {
    match (logs, kind) {
        (Some(logs), Some(kind)) => logs.contains(&kind),
        _ => true,
    }
}

/// Whether a pattern's group names a place: `file…` or `line` (a pattern without one is not
/// run for its groups, which costs more than a match).
fn is_place(name: &str) -> bool {
    name.starts_with("file") || name == "line"
}

/// The first non-empty `file…` group and the `line` group of a match.
fn captured(re: &Regex, c: &regex::Captures<'_>) -> (Option<String>, Option<u64>) {
    let file = re
        .capture_names()
        .flatten()
        .filter(|n| n.starts_with("file"))
        .find_map(|n| c.name(n))
        .map(|m| m.as_str().trim_end_matches(['.', ',', ';']).to_owned());
    let line = c.name("line").and_then(|m| m.as_str().parse().ok());
    (file, line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::EventBuilder;

    fn classify(kind: Kind, msg: &str) -> Option<Verdict> {
        let mut e = EventBuilder::new(msg.as_bytes(), None, kind);
        e.message(msg.as_bytes());
        Rules::builtin().classify(&e.finish())
    }

    #[test]
    fn a_remembered_answer_is_the_answer() {
        let rules = Rules::builtin();
        let mut memos = Memos::default();
        let records = [
            (
                Kind::PhpError,
                "PHP Fatal error:  Allowed memory size of 2097152 bytes exhausted (tried to allocate 4096 bytes) in /srv/www/a.php on line 3",
            ),
            (
                Kind::PhpError,
                "PHP Warning:  Undefined variable $x in /srv/www/a.php on line 9",
            ),
            // The same words from another kind of log, which other rules read.
            (
                Kind::Error,
                "PHP Fatal error:  Allowed memory size of 2097152 bytes exhausted (tried to allocate 4096 bytes) in /srv/www/a.php on line 3",
            ),
            (
                Kind::Error,
                "connect() to unix:/run/php/www.sock failed (11: Resource temporarily unavailable) while connecting to upstream",
            ),
        ];
        // Twice over, so that the second round is answered from memory.
        for (kind, msg) in records.iter().chain(&records) {
            let mut e = EventBuilder::new(msg.as_bytes(), None, *kind);
            e.message(msg.as_bytes());
            let e = e.finish();
            assert_eq!(
                rules.classify_memo(&e, None, &mut memos),
                rules.classify(&e),
                "{msg}"
            );
            let raw = msg.as_bytes();
            let near = rules.candidates(&raw.to_ascii_lowercase(), *kind);
            assert_eq!(
                rules.may_classify_message(raw, 0, *kind, Some(&near), &mut memos),
                rules.may_classify(raw, *kind, None),
                "{msg}"
            );
        }
    }

    #[test]
    fn table_compiles_and_covers_every_spec_cause() {
        let ids: Vec<&str> = Rules::builtin().cause_ids().collect();
        for id in [
            "file_permissions",
            "htaccess_invalid",
            "php_syntax_error",
            "php_undefined_function",
            "php_memory_limit",
            "php_timeout",
            "php_uncaught_exception",
            "fpm_crash",
            "fpm_pool_exhausted",
            "upstream_unavailable",
            "upstream_timeout",
            "db_auth",
            "db_unreachable",
            "db_pool_exhausted",
            "disk_full",
            "rewrite_loop",
            "app_exception",
            "worker_timeout",
            "worker_crash",
            "worker_pool_exhausted",
            "out_of_memory",
            "unknown",
        ] {
            assert!(ids.contains(&id), "{id} missing");
        }
    }

    /// A Python record as gunicorn's error log holds it, classified.
    fn classify_python(record: &str) -> Verdict {
        let e = crate::formats::app::python::parse(record.as_bytes(), &jiff::tz::TimeZone::UTC)
            .expect("a python record");
        Rules::builtin().classify(&e).expect("a rule reads it")
    }

    #[test]
    fn a_python_traceback_names_the_exception_and_the_app_frame() {
        let head = "2026-12-07 09:24:00,452 ERROR django.request Internal Server Error: /x\n\
                    Traceback (most recent call last):\n  \
                    File \"/usr/lib/python3/dist-packages/django/core/handlers/base.py\", line 181, in _get_response\n    \
                    response = wrapped_callback(request)\n  \
                    File \"/srv/app/views.py\", line 9, in x\n    y()\n";
        let v = classify_python(&format!("{head}KeyError: 'customer'"));
        assert_eq!(
            (v.cause, v.file.as_deref(), v.line, v.exception.as_deref()),
            (
                "app_exception",
                Some("/srv/app/views.py"),
                Some(9),
                Some("KeyError")
            )
        );
        assert_eq!(v.language, Some(Language::Python));
        let db = classify_python(&format!(
            "{head}psycopg2.OperationalError: connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication failed for user \"app\""
        ));
        assert_eq!((db.cause, db.line), ("db_auth", Some(9)));
        let disk = classify_python(&format!(
            "{head}OSError: [Errno 28] No space left on device: '/srv/up/a'"
        ));
        assert_eq!(
            (disk.cause, disk.file.as_deref()),
            ("disk_full", Some("/srv/app/views.py"))
        );
        assert_eq!(
            classify_python(&format!("{head}MemoryError")).cause,
            "out_of_memory"
        );
        let timeout =
            classify_python("[2026-12-07 15:24:00 +0000] [1] [CRITICAL] WORKER TIMEOUT (pid:2)");
        assert_eq!((timeout.cause, timeout.exception), ("worker_timeout", None));
        let killed = classify_python(
            "[2026-12-07 15:24:00 +0000] [1] [ERROR] Worker (pid:2) was sent SIGKILL! Perhaps out of memory?",
        );
        assert_eq!(killed.cause, "worker_crash");
    }

    /// Records the Ruby and Node labs' servers wrote (tests/lab_ruby.rs, tests/lab_node.rs).
    #[test]
    fn ruby_and_node_records_name_cause_exception_and_app_frame() {
        use crate::formats::app::{node, ruby};
        let utc = &jiff::tz::TimeZone::UTC;
        let verdict = |e: Option<ErrorEvent>| Rules::builtin().classify(&e.unwrap()).unwrap();
        let rails = verdict(ruby::parse_rails(
            b"F, [2026-12-07T15:25:08.418077 #24905] FATAL -- : [abc]   \n[abc] KeyError (key not found: :price):\n[abc]   \n[abc] app/models/cart.rb:8:in `fetch'",
            utc,
        ));
        assert_eq!(
            (
                rails.cause,
                rails.file.as_deref(),
                rails.line,
                rails.exception.as_deref()
            ),
            (
                "app_exception",
                Some("app/models/cart.rb"),
                Some(8),
                Some("KeyError")
            )
        );
        assert_eq!(rails.language, Some(Language::Ruby));
        let refused = verdict(ruby::parse_rails(
            b"F, [2026-12-07T15:25:08.5 #1] FATAL -- : [a]   \n[a] ActiveRecord::ConnectionNotEstablished (connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication failed for user \"app\"\n):\n[a] app/controllers/orders_controller.rb:27:in `index'",
            utc,
        ));
        assert_eq!((refused.cause, refused.line), ("db_auth", Some(27)));
        let puma = verdict(ruby::parse_puma(
            b"[9660] ! Terminating timed out worker (worker failed to check in within 3 seconds): 9684",
        ));
        assert_eq!(puma.cause, "worker_timeout");
        let express = verdict(node::parse(
            b"TypeError: Cannot read properties of undefined (reading 'toFixed')\n    at /srv/shop/cart.js:5:55\n    at Layer.handleRequest (/srv/shop/node_modules/router/lib/layer.js:169:33)",
        ));
        assert_eq!(
            (
                express.cause,
                express.file.as_deref(),
                express.exception.as_deref()
            ),
            (
                "app_exception",
                Some("/srv/shop/cart.js"),
                Some("TypeError")
            )
        );
        assert_eq!(express.language, Some(Language::Javascript));
        // An uncaught exception's record ends with the exit line: the process died of it.
        let exited = verdict(node::parse(
            b"RangeError: export batch too large: 7\n    at Timeout._onTimeout (/srv/shop/server.js:26:11)\n    at listOnTimeout (node:internal/timers:581:17)\n\nNode.js v20.20.2",
        ));
        assert_eq!(
            (exited.cause, exited.file.as_deref(), exited.line),
            ("worker_crash", Some("/srv/shop/server.js"), Some(26))
        );
        let heap =
            b"FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory";
        assert_eq!(verdict(node::parse(heap)).cause, "out_of_memory");
        let pg = verdict(node::parse(
            b"error: password authentication failed for user \"app\"\n    at /srv/shop/node_modules/pg/lib/client.js:545:17",
        ));
        assert_eq!((pg.cause, pg.file), ("db_auth", None));
    }

    /// A record of an application server's log in `dialect`, classified.
    fn classify_app(dialect: crate::formats::app::AppLog, record: &str) -> Verdict {
        let e = dialect
            .parse(record.as_bytes(), &jiff::tz::TimeZone::UTC)
            .expect("a record of the dialect");
        Rules::builtin().classify(&e).expect("a rule reads it")
    }

    #[test]
    fn java_go_and_dotnet_records_name_their_cause_exception_and_app_frame() {
        use crate::formats::app::AppLog::{AspNet, GoHttp, Tomcat};
        let servlet = "07-Dec-2026 15:31:53.746 SEVERE [http-nio-8080-exec-7] org.apache.catalina.core.StandardWrapperValve.invoke Servlet.service() for servlet [faults] in context with path [] threw exception\n\tjava.lang.IllegalStateException: x\n\t\tat java.base/java.util.Objects.a(Objects.java:1)\n\t\tat lab.Orders.total(Orders.java:11)";
        let v = classify_app(Tomcat, servlet);
        assert_eq!(
            (v.cause, v.file.as_deref(), v.line, v.exception.as_deref()),
            (
                "app_exception",
                Some("lab/Orders.java"),
                Some(11),
                Some("java.lang.IllegalStateException")
            )
        );
        assert_eq!(v.language, Some(Language::Java));
        let full = servlet.replace(
            "IllegalStateException: x",
            "IOException: No space left on device",
        );
        assert_eq!(classify_app(Tomcat, &full).cause, "disk_full");
        let oom = servlet.replace(
            "IllegalStateException: x",
            "OutOfMemoryError: Java heap space",
        );
        assert_eq!(classify_app(Tomcat, &oom).cause, "out_of_memory");
        let refused = servlet.replace(
            "java.lang.IllegalStateException: x",
            "java.net.ConnectException: Connection refused",
        );
        assert_eq!(classify_app(Tomcat, &refused).cause, "app_exception");
        let by_driver = refused.replace(
            "java.base/java.util.Objects.a(Objects",
            "org.postgresql.core.PGStream.a(PGStream",
        );
        assert_eq!(classify_app(Tomcat, &by_driver).cause, "db_unreachable");
        let rejected = "07-Dec-2026 15:40:34.001 WARNING [http-nio-8080-Poller] org.apache.tomcat.util.net.AbstractEndpoint.processSocket Executor rejected socket [x] for processing\n\tjava.util.concurrent.RejectedExecutionException: Queue capacity is full";
        assert_eq!(
            classify_app(Tomcat, rejected).cause,
            "worker_pool_exhausted"
        );
        let handler = "2026/12/07 15:32:09 http: panic serving 127.0.0.1:38390: boom\ngoroutine 7 [running]:\nmain.cart()\n\t/srv/app/main.go:29 +0x3b";
        let v = classify_app(GoHttp, handler);
        assert_eq!(
            (v.cause, v.line, v.language),
            ("app_exception", Some(29), Some(Language::Go))
        );
        let crash =
            "panic: boom\n\ngoroutine 23 [running]:\nmain.reload()\n\t/srv/app/main.go:41 +0x27";
        assert_eq!(
            (
                classify_app(GoHttp, crash).cause,
                classify_app(GoHttp, crash).line
            ),
            ("worker_crash", Some(41))
        );
        let aspnet = "fail: Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware[1]\n      An unhandled exception has occurred while executing the request.\n      System.Exception: boom\n         at Shop.Pages.IndexModel.OnGet() in /src/Shop/Pages/Index.cshtml.cs:line 17";
        let v = classify_app(AspNet, aspnet);
        assert_eq!(
            (v.cause, v.line, v.exception.as_deref(), v.language),
            (
                "app_exception",
                Some(17),
                Some("System.Exception"),
                Some(Language::Csharp)
            )
        );
    }

    #[test]
    fn most_specific_rule_wins_and_says_where() {
        let v = classify(Kind::PhpError, "PHP Fatal error:  Uncaught PDOException: SQLSTATE[HY000] [1045] Access denied for user 'app'@'localhost' (using password: YES) in /srv/www/db.php:5\nStack trace:\n#0 {main}").unwrap();
        assert_eq!(
            (v.cause, v.file.as_deref(), v.line),
            ("db_auth", Some("/srv/www/db.php"), Some(5))
        );
        let v = classify(Kind::PhpError, "PHP Fatal error:  Allowed memory size of 2097152 bytes exhausted (tried to allocate 4096 bytes) in /srv/www/mem.php on line 3").unwrap();
        assert_eq!((v.cause, v.line), ("php_memory_limit", Some(3)));
        let v = classify(Kind::Error, "PHP Warning:  require(/srv/www/lib/config.php): Failed to open stream: Permission denied in /srv/www/settings.php on line 2").unwrap();
        assert_eq!(
            (v.cause, v.file.as_deref()),
            ("file_permissions", Some("/srv/www/lib/config.php"))
        );
        let v = classify(
            Kind::Error,
            "/srv/www/blog/.htaccess: Invalid command 'RewriteRul', perhaps misspelled",
        )
        .unwrap();
        assert_eq!(
            (v.cause, v.file.as_deref()),
            ("htaccess_invalid", Some("/srv/www/blog/.htaccess"))
        );
    }

    #[test]
    fn location_follows_the_matched_message() {
        let v = classify(Kind::Error, "FastCGI sent in stderr: \"PHP message: PHP Notice:  file_put_contents(): Write of 194464 bytes failed with errno=28 No space left on device in /w/page.php on line 4; PHP message: PHP Fatal error:  Uncaught RuntimeException: x in /w/page.php:5\nStack trace:\n#0 {main}\n  thrown in /w/page.php on line 5\"").unwrap();
        assert_eq!(
            (v.cause, v.file.as_deref(), v.line),
            ("disk_full", Some("/w/page.php"), Some(4))
        );
    }

    #[test]
    fn a_pattern_tied_to_its_text_ends_is_only_read_in_the_message() {
        assert!(is_anchored("^panic: .*"));
        assert!(is_anchored("exhausted$"));
        assert!(!is_anchored(r"(?i)(?:db)[^\n(]{0,80}No such file"));
        assert!(!is_anchored(r"\((?:2|111|113)\)"));
    }

    #[test]
    fn the_prefilter_looks_for_the_distinctive_part_of_each_literal() {
        assert_eq!(distinctive_tail("PHP Fatal error:"), "fatal error:");
        assert_eq!(
            distinctive_tail("The timeout specified has expired"),
            "specified has expired"
        );
        assert_eq!(distinctive_tail("Uncaught "), "uncaught ");
        assert_eq!(
            distinctive_tail("Unable to open primary script"),
            "unable to open primary script"
        );
        assert_eq!(
            distinctive_tail("SQLSTATE[HY000] [2002]"),
            "sqlstate[hy000] [2002]"
        );
    }

    #[test]
    fn an_access_lines_own_reason_is_read_by_its_format_and_longest_prefix() {
        let rules = Rules::builtin();
        let cause =
            |format: &str, reason: &str| rules.classify_reason(format, reason).map(|v| v.cause);
        assert_eq!(cause("haproxy", "sH--"), Some("upstream_timeout"));
        assert_eq!(cause("haproxy", "SC--"), Some("upstream_unavailable"));
        assert_eq!(cause("haproxy", "sQ--"), Some("worker_pool_exhausted"));
        assert_eq!(cause("haproxy", "----"), None);
        assert_eq!(cause("combined", "sH--"), None);
        let table = r#"
            [causes.a]
            title = "a"
            fix = "a"
            [causes.b]
            title = "b"
            fix = "b"
            [[rule]]
            cause = "a"
            match = "x"
            weight = 1
            [[access_reason]]
            format = "f"
            reason = "s"
            cause = "a"
            weight = 1
            [[access_reason]]
            format = "f"
            reason = "sH"
            cause = "b"
            weight = 1
            [[locator]]
            regex = "x"
        "#;
        let rules = Rules::compile(table).unwrap();
        assert_eq!(rules.classify_reason("f", "sH--").unwrap().cause, "b");
        assert_eq!(rules.classify_reason("f", "sD--").unwrap().cause, "a");
        let unknown = table.replace(
            "cause = \"b\"\n            weight",
            "cause = \"c\"\n            weight",
        );
        assert!(
            Rules::compile(&unknown)
                .err()
                .is_some_and(|e| e.contains("[causes.c]"))
        );
        let bad = table.replace("regex = \"x\"", "regex = \"x(\"");
        assert!(Rules::compile(&bad).is_err());
    }

    /// Each pattern of the built-in table is compiled only when first used: every one must
    /// compile (its syntax was checked, but a size limit could still be met).
    #[test]
    fn every_pattern_of_the_builtin_table_compiles() {
        let rules = Rules::builtin();
        let patterns = rules
            .rules
            .iter()
            .flat_map(|r| [&r.regex, &r.locate, &r.upstream])
            .flatten()
            .chain(&rules.locators);
        for p in patterns {
            assert!(Regex::new(&p.source).is_ok(), "{}", p.source);
        }
    }

    #[test]
    fn log_kinds_and_regexes_restrict_rules() {
        assert!(
            classify(
                Kind::PhpFpm,
                "[pool www] child 5 exited on signal 15 (SIGTERM) after 2 seconds"
            )
            .is_none()
        );
        assert_eq!(
            classify(
                Kind::PhpFpm,
                "[pool www] child 5 exited on signal 11 (SIGSEGV) after 2 seconds"
            )
            .unwrap()
            .cause,
            "fpm_crash"
        );
        assert!(classify(Kind::PhpError, "upstream timed out").is_none());
        let v = classify(Kind::Error, "upstream timed out (110: Connection timed out) while reading response header from upstream").unwrap();
        assert_eq!(
            v.refined_by,
            ["fpm_pool_exhausted", "worker_pool_exhausted"]
        );
        assert!(classify(Kind::Error, "PHP Warning:  Undefined variable $x").is_none());
    }

    #[test]
    fn an_upstream_closing_early_is_the_crash_of_whatever_the_upstream_is() {
        let closed = |upstream: &str| {
            let line = format!(
                "2026/12/07 16:09:55 [error] 9#9: *7 upstream prematurely closed connection while reading response header from upstream, client: 127.0.0.1, server: , request: \"GET /slow HTTP/1.1\", upstream: \"{upstream}\", host: \"127.0.0.1\""
            );
            let tz = jiff::tz::TimeZone::UTC;
            let e = crate::formats::nginx_error::parse(line.as_bytes(), &tz).unwrap();
            Rules::builtin().classify(&e).unwrap().cause
        };
        assert_eq!(closed("fastcgi://unix:/run/php/www.sock:"), "fpm_crash");
        assert_eq!(closed("http://127.0.0.1:3000/slow"), "worker_crash");
        assert_eq!(closed("uwsgi://127.0.0.1:3031"), "worker_crash");
        // Apache's and other lines that name no upstream stay PHP-FPM's.
        assert_eq!(
            classify(Kind::Error, "upstream prematurely closed connection")
                .unwrap()
                .cause,
            "fpm_crash"
        );
    }
}
