//! Checks an `.htaccess` the way Apache httpd 2.4 will parse it, without a server.
//!
//! Apache reads a directory's `.htaccess` on every request below it (unless `AllowOverride
//! None`), and any line it cannot parse is a configuration error *for that request*: it logs
//! `[core:alert] ... /path/.htaccess: <message>` and answers 500. [`check`] finds those lines
//! from the file's bytes, the modules the server has loaded (as `apachectl -M` prints them) and
//! the directory's [`AllowOverride`].
//!
//! What Apache checks, and so what this module checks, for each line:
//! - the directive must be one some loaded module defines (names are matched without regard to
//!   case) — else `Invalid command 'X', perhaps misspelled or defined by a module not included
//!   in the server configuration` ([`ProblemKind::Unknown`], or [`ProblemKind::ModuleNotLoaded`]
//!   when a module Apache ships defines it);
//! - `.htaccess` must be among its contexts — else `X not allowed here`
//!   ([`ProblemKind::NotAllowedInHtaccess`]);
//! - `AllowOverride` must grant its Override class — else the same `X not allowed here`
//!   ([`ProblemKind::NotAllowedByOverride`]);
//! - sections (`<Files>`, `<IfModule>`, ...) must be closed, in order, and their opening line
//!   must end with `>`.
//!
//! The directive facts come from `htaccess/directives.tsv`, generated from the httpd 2.4
//! manual by `htaccess/gen_directives.py` (see its header). The file syntax follows httpd's
//! `server/config.c` and `util.c`: `#` comments only at the start of a line, a backslash just
//! before the newline continues the line, `<IfModule>` bodies whose condition is false are
//! skipped unparsed (only their nesting is followed). Directive *arguments* are not checked.

use super::overrides::AllowOverride;
use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

/// One directive as the httpd manual describes it; a directive that several modules define
/// (the MPMs' common ones, `mod_cgi`/`mod_cgid`) has one of these per module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Directive {
    /// The name as the manual spells it; sections keep their `<` (`<IfModule`).
    pub name: &'static str,
    /// The defining module's identifier as `apachectl -M` prints it (`headers_module`).
    pub module: &'static str,
    /// Whether `.htaccess` is among the directive's contexts.
    pub htaccess: bool,
    /// The Override class(es) (`FileInfo`, `AuthConfig,Limit`), `All` (any `AllowOverride`
    /// other than `None`), or `-` when the manual names none.
    pub overrides: &'static str,
}

/// The table, embedded at build time.
const TABLE: &str = include_str!("htaccess/directives.tsv");

static DIRECTIVES: LazyLock<HashMap<String, Vec<Directive>>> = LazyLock::new(|| {
    let mut map: HashMap<String, Vec<Directive>> = HashMap::new();
    for line in TABLE.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut f = line.split('\t');
        let (Some(name), Some(module), Some(htaccess), Some(overrides)) =
            (f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        map.entry(name.to_ascii_lowercase())
            .or_default()
            .push(Directive {
                name,
                module,
                htaccess: htaccess == "yes",
                overrides,
            });
    }
    map
});

/// Every module that defines `name` (matched without regard to case; a section is looked up
/// with its `<`, as `<ifmodule`). Empty when no module Apache ships defines it.
pub fn lookup(name: &str) -> &'static [Directive] {
    DIRECTIVES
        .get(&name.to_ascii_lowercase())
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Every module identifier the table speaks for, those that define no directive too.
const MODULES: &str = include_str!("htaccess/modules.txt");

/// The loaded modules the table knows nothing of (third-party ones: `security2_module`,
/// `passenger_module`, ...). When there are any, a [`ProblemKind::Unknown`] directive may be
/// one of theirs, and is then no problem: a caller should say so rather than assert a 500.
pub fn unknown_modules(modules: &BTreeSet<String>) -> Vec<&str> {
    static KNOWN: LazyLock<BTreeSet<&'static str>> = LazyLock::new(|| {
        MODULES
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    });
    modules
        .iter()
        .map(String::as_str)
        .filter(|m| !KNOWN.contains(m))
        .collect()
}

/// Modules that are part of every httpd binary, whether or not the caller's list names them.
const ALWAYS_LOADED: [&str; 2] = ["core_module", "http_module"];

/// The longest line Apache reads from an `.htaccess` (bytes before the newline, a `\r` and
/// continued lines included): httpd's 8192-byte line buffer less the terminating NUL, checked
/// against Apache 2.4 (8191 bytes parse, 8192 give `Line too long`).
pub const MAX_LINE: usize = 8191;

/// What is wrong with one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// No module Apache ships defines the directive: a misspelling, or a third-party module's
    /// directive. Apache: `Invalid command 'X', perhaps misspelled or defined by a module not
    /// included in the server configuration`.
    Unknown,
    /// A module Apache ships defines it ([`Problem::module`]), but that module is not loaded.
    /// Apache's message is the same `Invalid command` as for [`ProblemKind::Unknown`].
    ModuleNotLoaded,
    /// `.htaccess` is not among the directive's contexts (`<Directory>`, `Listen`,
    /// `php_admin_value`, ...). Apache: `X not allowed here`.
    NotAllowedInHtaccess,
    /// Allowed in `.htaccess`, but `AllowOverride` here does not grant its class
    /// (`FileInfo`, or `AuthConfig,Limit` for either). Apache: `X not allowed here`.
    NotAllowedByOverride { class: &'static str },
    /// A section opened on this line is never closed. `skipped`: it is in a body Apache skips
    /// (a false `<IfModule>`), where the error reads `Expected </X> before end of
    /// configuration`. (An active conditional section left open is no error for Apache.)
    UnclosedSection { skipped: bool },
    /// A closing `</X>` that closes no open section (`expected` None), or not the innermost
    /// one (`expected` is the section that must be closed first, as `Files`).
    UnmatchedSection { expected: Option<String> },
    /// A section's opening line does not end with `>`.
    MissingBracket,
    /// The line (continuations joined) is longer than Apache reads ([`MAX_LINE`]).
    LineTooLong,
    /// An `Error` directive Apache reaches: it exists to stop the parse, with `message` (its
    /// argument, quotes removed; empty when it has none).
    ErrorDirective { message: String },
}

/// One problem Apache will hit on this `.htaccess`. Each one makes every request below the
/// directory answer 500 (Apache stops at the first; [`check`] reports them all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line number (the first line of a continued line).
    pub line: u64,
    /// The directive as written: `RewriteEngin`, `<Directory`, `</IfModule>`.
    pub directive: String,
    pub kind: ProblemKind,
    /// The module that defines the directive, when the table knows one.
    pub module: Option<&'static str>,
    /// The innermost section the line is in, as written (`<Limit`), not counting the
    /// conditional ones (`<IfModule>`, `<IfDefine>`, ...) whose bodies Apache splices in:
    /// Apache names it in "not allowed" messages.
    pub within: Option<String>,
}

impl Problem {
    fn new(line: u64, directive: &str, kind: ProblemKind, module: Option<&'static str>) -> Self {
        Problem {
            line,
            directive: directive.to_string(),
            kind,
            module,
            within: None,
        }
    }

    /// The message Apache logs for this problem after `/path/.htaccess: ` (as httpd 2.4
    /// words it), when Apache meets it first. Apache puts the file and line before two of them:
    /// `/path/.htaccess:LINE: <Files> was not closed.` and
    /// `Error reading /path/.htaccess at line LINE: Line too long`.
    pub fn apache_message(&self) -> String {
        let d = &self.directive;
        // "not allowed" messages name the directive as the module spells it.
        let canonical = lookup(d).first().map_or(d.as_str(), |c| c.name);
        let bare = section_name(d);
        match &self.kind {
            ProblemKind::Unknown | ProblemKind::ModuleNotLoaded => format!(
                "Invalid command '{d}', perhaps misspelled or defined by a module not included in the server configuration"
            ),
            ProblemKind::NotAllowedInHtaccess | ProblemKind::NotAllowedByOverride { .. } => {
                match &self.within {
                    Some(section) => format!("{canonical} not allowed in {section}> context"),
                    None => format!("{canonical} not allowed here"),
                }
            }
            ProblemKind::UnclosedSection { skipped: false } => {
                format!("<{bare}> was not closed.")
            }
            ProblemKind::UnclosedSection { skipped: true } => {
                format!("Expected </{bare}> before end of configuration")
            }
            ProblemKind::UnmatchedSection { expected: Some(e) } => {
                format!("Expected </{e}> but saw </{bare}>")
            }
            ProblemKind::UnmatchedSection { expected: None } => {
                format!("</{bare}> without matching <{bare}> section")
            }
            ProblemKind::MissingBracket => format!("<{bare}> directive missing closing '>'"),
            ProblemKind::LineTooLong => "Line too long".to_string(),
            ProblemKind::ErrorDirective { message } if message.is_empty() => {
                "The Error directive was used with no message.".to_string()
            }
            ProblemKind::ErrorDirective { message } => message.clone(),
        }
    }

    /// One sentence saying what is wrong, for a finding's detail.
    pub fn explain(&self) -> String {
        let d = &self.directive;
        let n = self.line;
        match &self.kind {
            ProblemKind::Unknown => format!(
                "Line {n}: `{d}` is not a directive of Apache or of any module it ships (a misspelling, or a third-party module's), so Apache logs \"Invalid command '{d}'\" and answers 500."
            ),
            ProblemKind::ModuleNotLoaded => format!(
                "Line {n}: `{d}` belongs to {}, which this server has not loaded, so Apache logs \"Invalid command '{d}'\" and answers 500.",
                self.module.unwrap_or("a module")
            ),
            ProblemKind::NotAllowedInHtaccess => format!(
                "Line {n}: `{d}` may only be used in the server configuration, not in .htaccess, so Apache logs \"{d} not allowed here\" and answers 500."
            ),
            ProblemKind::NotAllowedByOverride { class } => format!(
                "Line {n}: `{d}` needs AllowOverride {}, which this directory does not grant, so Apache logs \"{d} not allowed here\" and answers 500.",
                class.replace(',', " or ")
            ),
            ProblemKind::UnclosedSection { .. } => format!(
                "Line {n}: the section `{d}` is never closed, so Apache cannot parse the file and answers 500."
            ),
            ProblemKind::UnmatchedSection { expected: Some(e) } => format!(
                "Line {n}: `{d}` closes a section, but the innermost open one is <{e}>, so Apache cannot parse the file and answers 500."
            ),
            ProblemKind::UnmatchedSection { expected: None } => format!(
                "Line {n}: `{d}` closes a section that was never opened, so Apache cannot parse the file and answers 500."
            ),
            ProblemKind::MissingBracket => format!(
                "Line {n}: the section line `{d}` does not end with `>`, so Apache cannot parse it and answers 500."
            ),
            ProblemKind::ErrorDirective { message } => format!(
                "Line {n}: an `Error` directive is in effect, so Apache stops reading the file with \"{message}\" and answers 500."
            ),
            ProblemKind::LineTooLong => format!(
                "Line {n} is longer than the {MAX_LINE} characters Apache reads from a config line, so it cannot parse the file and answers 500."
            ),
        }
    }

    /// One or two sentences saying what to change.
    pub fn fix(&self) -> String {
        let d = &self.directive;
        let bare = section_name(d);
        let lower = d.to_ascii_lowercase();
        match &self.kind {
            ProblemKind::Unknown => format!(
                "Fix the spelling of `{d}` or remove the line; if a third-party module defines it, load that module or wrap the line in <IfModule that_module>."
            ),
            ProblemKind::ModuleNotLoaded => {
                let module = self.module.unwrap_or("the_module");
                if module.starts_with("php") {
                    format!(
                        "`{d}` only works when PHP runs inside Apache (mod_php); under PHP-FPM move the setting to the pool (php_value[...]) or a .user.ini, and remove the line or wrap it in <IfModule {module}>."
                    )
                } else {
                    let short = module.strip_suffix("_module").unwrap_or(module);
                    format!(
                        "Enable the module (a2enmod {short}, then reload Apache) or wrap the line in <IfModule {module}> ... </IfModule>."
                    )
                }
            }
            ProblemKind::NotAllowedInHtaccess => {
                if lower == "<directory" || lower == "<directorymatch" {
                    "In .htaccess the directory is implied: remove the <Directory> and </Directory> lines and keep what is between them, or move the section to the server config.".to_string()
                } else if lower.starts_with("php_admin_") {
                    format!(
                        "Use php_value/php_flag in .htaccess, or move the `{d}` line to the server or virtual-host config."
                    )
                } else {
                    format!(
                        "Move the `{d}` line to the server or virtual-host configuration, or remove it."
                    )
                }
            }
            ProblemKind::NotAllowedByOverride { class } => format!(
                "Add {} to this directory's AllowOverride in the server config, or remove the line.",
                class.replace(',', " (or ") + if class.contains(',') { ")" } else { "" }
            ),
            ProblemKind::UnclosedSection { .. } => {
                format!("Add the closing </{bare}> line where the section ends.")
            }
            ProblemKind::UnmatchedSection { expected: Some(e) } => {
                format!("Close <{e}> with </{e}> before this line, or fix the section names.")
            }
            ProblemKind::UnmatchedSection { expected: None } => {
                format!("Remove the stray </{bare}> line or add its opening <{bare} ...> line.")
            }
            ProblemKind::MissingBracket => format!("End the `{d}` line with `>`."),
            ProblemKind::ErrorDirective { .. } => "Meet the condition the Error line guards against (often a module to enable), or remove the line.".to_string(),
            ProblemKind::LineTooLong => format!(
                "Split the line into several directives; Apache reads at most {MAX_LINE} characters per line, continuations included."
            ),
        }
    }
}

/// `<Files` / `</Files>` / `<Files>` → `Files`.
fn section_name(d: &str) -> &str {
    let d = d
        .strip_prefix("</")
        .or_else(|| d.strip_prefix('<'))
        .unwrap_or(d);
    d.strip_suffix('>').unwrap_or(d)
}

/// The source-file name (`mod_headers.c`) a module is known by to `<IfModule>` and `mod_info`,
/// besides its identifier (`headers_module`): the C file the module struct is in, which for
/// almost all modules is `mod_` + identifier without `_module`.
pub fn source_name(id: &str) -> String {
    match id {
        "ldap_module" => "util_ldap.c".into(),
        "core_module" => "core.c".into(),
        "http_module" => "http_core.c".into(),
        "mpm_event_module" => "event.c".into(),
        "mpm_prefork_module" => "prefork.c".into(),
        "mpm_worker_module" => "worker.c".into(),
        "mpm_winnt_module" => "mpm_winnt.c".into(),
        "php_module" => "mod_php.c".into(),
        "php7_module" => "mod_php7.c".into(),
        "php5_module" => "mod_php5.c".into(),
        _ => format!("mod_{}.c", id.strip_suffix("_module").unwrap_or(id)),
    }
}

/// One logical line: its first physical line's number and its text (continuations joined).
struct Line {
    number: u64,
    text: String,
    too_long: bool,
}

/// Splits the file into logical lines as `ap_varbuf_cfg_getline` does: a backslash right before
/// the newline (`\r\n` too) joins the next line, even after another backslash (Apache 2.4
/// continues `\\` lines too). A line ends
/// at a NUL byte for Apache (C strings); the length limit counts the bytes read, NUL included.
fn logical_lines(text: &[u8]) -> Vec<Line> {
    let mut out = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut read = 0usize;
    let mut start = 1u64;
    let mut number = 0u64;
    let mut physical = text.split(|&b| b == b'\n').peekable();
    while let Some(raw) = physical.next() {
        number += 1;
        let last = physical.peek().is_none();
        if last && raw.is_empty() {
            break;
        }
        if read == 0 {
            start = number;
        }
        read = read.saturating_add(raw.len());
        let mut raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let continued = !last && raw.ends_with(b"\\");
        if continued {
            raw = &raw[..raw.len() - 1];
        }
        if buf.len() <= MAX_LINE {
            let room = (MAX_LINE + 1).saturating_sub(buf.len());
            buf.extend_from_slice(&raw[..raw.len().min(room)]);
        }
        if !continued || last {
            out.push(finish(start, &mut buf, read));
            read = 0;
        }
    }
    out
}

fn finish(number: u64, buf: &mut Vec<u8>, read: usize) -> Line {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let line = Line {
        number,
        text: String::from_utf8_lossy(&buf[..end.min(MAX_LINE)]).into_owned(),
        too_long: read > MAX_LINE,
    };
    buf.clear();
    line
}

/// The first word of a line as `ap_getword_conf` reads it (a quoted word loses its quotes)
/// and the rest, trimmed.
fn first_word(line: &str) -> (&str, &str) {
    let line = line.trim_start();
    if let Some(q @ ('"' | '\'')) = line.chars().next() {
        let body = &line[1..];
        return match body.find(q) {
            Some(end) => (&body[..end], body[end + 1..].trim()),
            None => (body, ""),
        };
    }
    match line.find(char::is_whitespace) {
        Some(i) => (&line[..i], line[i..].trim()),
        None => (line, ""),
    }
}

/// How a section's body is treated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Body {
    /// Parsed and checked.
    Active,
    /// Skipped unparsed: a false `<IfModule>` (or `<IfDirective>`, ...), and what is in it.
    Skipped,
    /// Not checked: a section Apache refuses (`<Directory>`, an unknown one), already reported.
    Refused,
}

struct Open {
    /// As written after `<` (`IfModule`).
    name: String,
    line: u64,
    body: Body,
}

/// The conditional sections, whose bodies Apache reads in place while parsing the file
/// (`EXEC_ON_READ`): they are no "context" in its messages.
const CONDITIONAL: [&str; 6] = [
    "IfModule",
    "IfDefine",
    "IfVersion",
    "IfFile",
    "IfDirective",
    "IfSection",
];

fn conditional(section: &str) -> bool {
    CONDITIONAL.iter().any(|c| c.eq_ignore_ascii_case(section))
}

/// What the server is: its modules, and its `-D`/`Define` names when known.
struct Server<'a> {
    modules: &'a BTreeSet<String>,
    defines: Option<&'a BTreeSet<String>>,
    allow: &'a AllowOverride,
}

/// Whether a module is loaded, by identifier or (for `<IfModule>`) by source-file name;
/// compared with case, as httpd does.
fn module_loaded(modules: &BTreeSet<String>, name: &str) -> bool {
    ALWAYS_LOADED.contains(&name)
        || modules.contains(name)
        || ALWAYS_LOADED
            .iter()
            .copied()
            .chain(modules.iter().map(String::as_str))
            .any(|id| source_name(id) == name)
}

/// The loaded module that defines the directive, as `(defined somewhere, loaded row)`.
fn resolve(name: &str, modules: &BTreeSet<String>) -> (&'static [Directive], Option<Directive>) {
    let rows = lookup(name);
    let loaded = rows
        .iter()
        .find(|d| ALWAYS_LOADED.contains(&d.module) || modules.contains(d.module))
        .copied();
    (rows, loaded)
}

/// Whether `allow` grants a directive whose Override column is `overrides`; None when the
/// manual names no class (then only `AllowOverride All` is known to grant it).
fn granted(allow: &AllowOverride, overrides: &str) -> Option<bool> {
    if *allow == AllowOverride::All {
        return Some(true);
    }
    match overrides {
        "All" => Some(allow.reads_htaccess()),
        "-" => None,
        list => Some(list.split(',').any(|c| allow.allows(c))),
    }
}

/// Checks one `.htaccess` (its raw bytes) as Apache would for a directory with this
/// `AllowOverride`, on a server with these modules loaded (identifiers as `apachectl -M`
/// prints them: `headers_module`; `core_module` counts as loaded either way). Returns every
/// problem, in line order; empty when Apache will accept the file, and always empty for
/// `AllowOverride None` (Apache does not read the file then).
///
/// `<IfDefine>` bodies are checked whatever their condition (the defines are not known here);
/// [`check_with_defines`] decides them.
///
/// Pure: never panics on any input (invalid UTF-8, NUL bytes, huge lines).
pub fn check(text: &[u8], modules: &BTreeSet<String>, allow: &AllowOverride) -> Vec<Problem> {
    run(
        text,
        &Server {
            modules,
            defines: None,
            allow,
        },
    )
}

/// [`check`], with the server's defined names (its `-D` arguments and `Define`s, as
/// `apachectl -t -D DUMP_RUN_CFG` lists them after `Define:`), so that `<IfDefine>` sections
/// whose condition is false are skipped as Apache skips them.
pub fn check_with_defines(
    text: &[u8],
    modules: &BTreeSet<String>,
    allow: &AllowOverride,
    defines: &BTreeSet<String>,
) -> Vec<Problem> {
    run(
        text,
        &Server {
            modules,
            defines: Some(defines),
            allow,
        },
    )
}

fn run(text: &[u8], server: &Server) -> Vec<Problem> {
    let mut problems = Vec::new();
    if !server.allow.reads_htaccess() {
        return problems;
    }
    let mut stack: Vec<Open> = Vec::new();
    for line in logical_lines(text) {
        let n = line.number;
        if line.too_long {
            problems.push(Problem::new(n, "", ProblemKind::LineTooLong, None));
            continue;
        }
        let body = line.text.trim();
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let (word, args) = first_word(body);
        let active = stack.iter().all(|o| o.body == Body::Active);
        let within = stack.iter().rev().find(|o| !conditional(&o.name)).map(|o| {
            let name = format!("<{}", o.name);
            lookup(&name).first().map_or(name, |d| d.name.to_string())
        });
        if let Some(closing) = word.strip_prefix("</") {
            let name = closing.strip_suffix('>').unwrap_or(closing);
            close_section(&mut stack, &mut problems, n, word, name);
            continue;
        }
        if let Some(section) = word.strip_prefix('<') {
            let (section, args) = match (args.is_empty(), section.strip_suffix('>')) {
                (true, Some(s)) => (s, ""),
                _ => (section, args),
            };
            let mut open = Open {
                name: section.to_string(),
                line: n,
                body: Body::Skipped,
            };
            if active {
                let directive = format!("<{section}");
                open.body = Body::Refused;
                let arg = match args.strip_suffix('>') {
                    Some(a) => Some(a.trim()),
                    None if args.is_empty() && word.ends_with('>') => Some(""),
                    None => None,
                };
                match check_directive(&directive, n, within, server) {
                    Some(p) => problems.push(p),
                    None => match arg {
                        None => problems.push(Problem::new(
                            n,
                            &directive,
                            ProblemKind::MissingBracket,
                            None,
                        )),
                        Some(arg) => {
                            open.body = if condition(section, arg, server) {
                                Body::Active
                            } else {
                                Body::Skipped
                            };
                        }
                    },
                }
            }
            stack.push(open);
            continue;
        }
        if active && let Some(p) = check_directive(word, n, within, server) {
            problems.push(p);
        } else if active && word.eq_ignore_ascii_case("Error") {
            let message = first_word(args).0.to_string();
            let kind = ProblemKind::ErrorDirective { message };
            problems.push(Problem::new(n, word, kind, Some("core_module")));
        }
    }
    // At the end: in a skipped body Apache wants the innermost open section closed.
    if let Some(first) = stack.iter().position(|o| o.body == Body::Skipped) {
        if let Some(open) = stack.last() {
            let unclosed = ProblemKind::UnclosedSection { skipped: true };
            let directive = format!("<{}", open.name);
            problems.push(Problem::new(open.line, &directive, unclosed, None));
        }
        stack.truncate(first);
    }
    // An open conditional section reads to the end of the file, and what is open within it
    // then goes unnoticed; what was open around it does not.
    for open in stack.iter().take_while(|o| !conditional(&o.name)) {
        let unclosed = ProblemKind::UnclosedSection { skipped: false };
        let directive = format!("<{}", open.name);
        problems.push(Problem::new(open.line, &directive, unclosed, None));
    }
    problems.sort_by_key(|p| p.line);
    problems
}

/// A closing `</name>` line. After a mismatch, the named section is closed if it is open
/// (else the innermost one), so that one mistake is reported once.
fn close_section(
    stack: &mut Vec<Open>,
    problems: &mut Vec<Problem>,
    n: u64,
    word: &str,
    name: &str,
) {
    let Some(top) = stack.last() else {
        problems.push(Problem::new(
            n,
            word,
            ProblemKind::UnmatchedSection { expected: None },
            None,
        ));
        return;
    };
    if !top.name.eq_ignore_ascii_case(name) {
        let expected = Some(top.name.clone());
        problems.push(Problem::new(
            n,
            word,
            ProblemKind::UnmatchedSection { expected },
            None,
        ));
        if let Some(i) = stack
            .iter()
            .rposition(|o| o.name.eq_ignore_ascii_case(name))
        {
            stack.truncate(i + 1);
        }
    }
    stack.pop();
}

/// Whether a section's body applies: `<IfModule>`, `<IfDirective>` and `<IfSection>` are
/// decided from the loaded modules, `<IfDefine>` from the defines when known; every other
/// section (`<IfVersion>`, `<IfFile>`, `<Files>`, `<If>`, ...) is taken as applying, so its
/// body is checked.
fn condition(section: &str, arg: &str, server: &Server) -> bool {
    let arg = arg.trim_matches(|c| c == '"' || c == '\'');
    let (negated, name) = match arg.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, arg),
    };
    let modules = server.modules;
    let found = if section.eq_ignore_ascii_case("IfModule") {
        module_loaded(modules, name)
    } else if section.eq_ignore_ascii_case("IfDirective") {
        resolve(name, modules).1.is_some()
    } else if section.eq_ignore_ascii_case("IfSection") {
        resolve(&format!("<{name}"), modules).1.is_some()
    } else if section.eq_ignore_ascii_case("IfDefine")
        && let Some(defines) = server.defines
    {
        defines.contains(name)
    } else {
        return true;
    };
    found != negated
}

/// The problem with one directive line, if any; `within` is the enclosing section for
/// Apache's "not allowed in <X> context".
fn check_directive(name: &str, n: u64, within: Option<String>, server: &Server) -> Option<Problem> {
    let (rows, loaded) = resolve(name, server.modules);
    let Some(d) = loaded else {
        return Some(match rows.first() {
            None => Problem::new(n, name, ProblemKind::Unknown, None),
            Some(d) => Problem::new(n, name, ProblemKind::ModuleNotLoaded, Some(d.module)),
        });
    };
    let kind = if !d.htaccess {
        ProblemKind::NotAllowedInHtaccess
    } else if granted(server.allow, d.overrides) == Some(false) {
        ProblemKind::NotAllowedByOverride { class: d.overrides }
    } else {
        return None;
    };
    let mut p = Problem::new(n, name, kind, Some(d.module));
    p.within = within;
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mods(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn base() -> BTreeSet<String> {
        mods(&[
            "core_module",
            "so_module",
            "http_module",
            "mpm_event_module",
            "authz_core_module",
            "mime_module",
            "dir_module",
            "rewrite_module",
        ])
    }

    fn run(text: &str) -> Vec<(u64, String, ProblemKind)> {
        check(text.as_bytes(), &base(), &AllowOverride::All)
            .into_iter()
            .map(|p| (p.line, p.directive, p.kind))
            .collect()
    }

    #[test]
    fn table_loads_and_covers_the_usual_modules() {
        assert_eq!(lookup("header")[0].module, "headers_module");
        assert_eq!(lookup("REWRITEENGINE")[0].overrides, "FileInfo");
        assert_eq!(lookup("<ifmodule")[0].module, "core_module");
        assert!(!lookup("<directory")[0].htaccess);
        assert_eq!(lookup("php_value")[0].overrides, "Options");
        assert!(lookup("php_value").iter().any(|d| d.module == "php_module"));
        assert!(!lookup("php_admin_value")[0].htaccess);
        assert_eq!(lookup("ExpiresActive")[0].module, "expires_module");
        assert!(lookup("StartServers").len() >= 3);
        assert!(lookup("nosuchdirective").is_empty());
    }

    #[test]
    fn valid_file_has_no_problem() {
        let text = "# comment\n  # indented comment\n\nRewriteEngine On\nrewriterule ^x$ /y [L]\nOptions -Indexes\nDirectoryIndex index.html\n<Files \"x.txt\">\n  Require all denied\n</Files>\n<IfModule mod_headers.c>\n  Header set X y\n</IfModule>\n";
        assert_eq!(run(text), vec![]);
    }

    #[test]
    fn unknown_directive() {
        let p = check(b"RewriteEngin On\n", &base(), &AllowOverride::All);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].kind, ProblemKind::Unknown);
        assert_eq!((p[0].line, p[0].directive.as_str()), (1, "RewriteEngin"));
        assert!(
            p[0].apache_message()
                .starts_with("Invalid command 'RewriteEngin'")
        );
        assert!(p[0].fix().contains("spelling"));
    }

    #[test]
    fn module_not_loaded() {
        let p = check(
            b"\nHeader set X-A b\nExpiresActive On\n",
            &base(),
            &AllowOverride::All,
        );
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].kind, ProblemKind::ModuleNotLoaded);
        assert_eq!((p[0].line, p[0].module), (2, Some("headers_module")));
        assert!(p[0].fix().contains("a2enmod headers"));
        assert!(p[0].fix().contains("<IfModule headers_module>"));
        assert_eq!((p[1].line, p[1].module), (3, Some("expires_module")));
        // Loaded: fine.
        let mut m = base();
        m.insert("headers_module".into());
        m.insert("expires_module".into());
        assert!(
            check(
                b"Header set X-A b\nExpiresActive On\n",
                &m,
                &AllowOverride::All
            )
            .is_empty()
        );
    }

    #[test]
    fn php_value_needs_mod_php() {
        let p = check(
            b"php_value memory_limit 256M\n",
            &base(),
            &AllowOverride::All,
        );
        assert_eq!(p[0].kind, ProblemKind::ModuleNotLoaded);
        assert!(p[0].fix().contains("PHP-FPM"));
        let mut m = base();
        m.insert("php_module".into());
        assert!(check(b"php_value memory_limit 256M\n", &m, &AllowOverride::All).is_empty());
        let p = check(
            b"php_admin_value memory_limit 1G\n",
            &m,
            &AllowOverride::All,
        );
        assert_eq!(p[0].kind, ProblemKind::NotAllowedInHtaccess);
        let opts = AllowOverride::parse("FileInfo");
        let p = check(b"php_flag display_errors off\n", &m, &opts);
        assert_eq!(
            p[0].kind,
            ProblemKind::NotAllowedByOverride { class: "Options" }
        );
    }

    #[test]
    fn not_allowed_in_htaccess() {
        let p = run("<Directory /var/www>\n  Require all granted\n</Directory>\nListen 8080\n");
        assert_eq!(
            p,
            vec![
                (1, "<Directory".into(), ProblemKind::NotAllowedInHtaccess),
                (4, "Listen".into(), ProblemKind::NotAllowedInHtaccess),
            ]
        );
        let p = check(
            b"<Directory /x>\n</Directory>\n",
            &base(),
            &AllowOverride::All,
        );
        assert_eq!(p[0].apache_message(), "<Directory not allowed here");
        assert!(p[0].fix().contains("remove the <Directory>"));
    }

    #[test]
    fn not_allowed_by_override() {
        let allow = AllowOverride::parse("FileInfo");
        let p = check(b"RewriteEngine On\nOptions -Indexes\n", &base(), &allow);
        assert_eq!(p.len(), 1);
        assert_eq!(
            (p[0].line, &p[0].kind),
            (2, &ProblemKind::NotAllowedByOverride { class: "Options" })
        );
        assert!(p[0].fix().contains("Add Options"));
        // <Limit> needs AuthConfig or Limit.
        let p = check(b"<Limit GET>\n</Limit>\n", &base(), &allow);
        assert_eq!(
            p[0].kind,
            ProblemKind::NotAllowedByOverride {
                class: "AuthConfig,Limit"
            }
        );
        let allow = AllowOverride::parse("Limit");
        assert!(check(b"<Limit GET>\n</Limit>\n", &base(), &allow).is_empty());
    }

    #[test]
    fn allow_override_none_reads_nothing() {
        assert!(check(b"Bogus\n<Directory>\n", &base(), &AllowOverride::None).is_empty());
    }

    #[test]
    fn ifmodule_both_spellings_and_negation() {
        let text = "<IfModule mod_headers.c>\nHeader set A b\n</IfModule>\n<IfModule headers_module>\nHeader set A b\n</IfModule>\n";
        assert_eq!(run(text), vec![]);
        let mut m = base();
        m.insert("headers_module".into());
        assert!(check(text.as_bytes(), &m, &AllowOverride::All).is_empty());
        // Negated: the body applies when the module is missing.
        let text = "<IfModule !mod_rewrite.c>\nRedirect / /x\n</IfModule>\n<IfModule !headers_module>\nHeader set A b\n</IfModule>\n";
        assert_eq!(
            run(text),
            vec![(5, "Header".into(), ProblemKind::ModuleNotLoaded)]
        );
        // Case matters to IfModule (httpd compares names with strcmp), not to the section.
        assert_eq!(
            run("<ifmodule MOD_HEADERS.C>\nBogus\n</IFMODULE>\n"),
            vec![]
        );
        assert_eq!(
            run("<IfModule mod_rewrite.c>\nBogus\n</IfModule>\n"),
            vec![(2, "Bogus".into(), ProblemKind::Unknown)]
        );
        // Core modules need not be listed; the MPM's source name works too.
        assert_eq!(run("<IfModule !core.c>\nBogus\n</IfModule>\n"), vec![]);
        assert_eq!(
            run("<IfModule event.c>\nBogus\n</IfModule>\n"),
            vec![(2, "Bogus".into(), ProblemKind::Unknown)]
        );
    }

    #[test]
    fn skipped_bodies_keep_nesting() {
        let text =
            "<IfModule mod_nothere.c>\n<Files x>\nBogus\n</Files>\nAlsoBogus\n</IfModule>\nReal\n";
        assert_eq!(run(text), vec![(7, "Real".into(), ProblemKind::Unknown)]);
    }

    #[test]
    fn other_sections_are_checked() {
        let text = "<IfDefine FOO>\nA1\n</IfDefine>\n<IfVersion >= 2.4>\nA2\n</IfVersion>\n<If \"%{HTTPS} == 'on'\">\nA3\n</If>\n<ElseIf \"true\">\n</ElseIf>\n<Else>\nA4\n</Else>\n<FilesMatch \"\\.php$\">\nA5\n</FilesMatch>\n<LimitExcept GET>\nRequire all denied\n</LimitExcept>\n";
        let mut m = base();
        m.insert("version_module".into());
        let got: Vec<_> = check(text.as_bytes(), &m, &AllowOverride::All)
            .into_iter()
            .map(|p| (p.line, p.directive))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, "A1".into()),
                (5, "A2".into()),
                (8, "A3".into()),
                (13, "A4".into()),
                (16, "A5".into())
            ]
        );
        // IfVersion itself needs mod_version.
        assert_eq!(
            run("<IfVersion >= 2.4>\n</IfVersion>\n"),
            vec![(1, "<IfVersion".into(), ProblemKind::ModuleNotLoaded)]
        );
    }

    #[test]
    fn ifdirective_is_decided() {
        assert_eq!(run("<IfDirective Header>\nBogus\n</IfDirective>\n"), vec![]);
        assert_eq!(
            run("<IfDirective !Header>\nBogus\n</IfDirective>\n"),
            vec![(2, "Bogus".into(), ProblemKind::Unknown)]
        );
    }

    #[test]
    fn unclosed_and_unmatched_sections() {
        let unclosed = |skipped| ProblemKind::UnclosedSection { skipped };
        assert_eq!(
            run("<Files x>\nRequire all denied\n"),
            vec![(1, "<Files".into(), unclosed(false))]
        );
        // A true IfModule may stay open, and so may a Files in it, not one around it.
        assert_eq!(run("<IfModule rewrite_module>\nRewriteEngine on\n"), vec![]);
        assert_eq!(run("<IfModule rewrite_module>\n<Files x>\n"), vec![]);
        assert_eq!(
            run("<Files x>\n<IfModule rewrite_module>\n"),
            vec![(1, "<Files".into(), unclosed(false))]
        );
        // A refused section left open is reported twice.
        assert_eq!(
            run("<Directory />\n"),
            vec![
                (1, "<Directory".into(), ProblemKind::NotAllowedInHtaccess),
                (1, "<Directory".into(), unclosed(false))
            ]
        );
        assert_eq!(
            run("RewriteEngine On\n</IfModule>\n"),
            vec![(
                2,
                "</IfModule>".into(),
                ProblemKind::UnmatchedSection { expected: None }
            )]
        );
        assert_eq!(
            run("<IfModule mod_rewrite.c>\n<Files x>\n</IfModule>\n"),
            vec![(
                3,
                "</IfModule>".into(),
                ProblemKind::UnmatchedSection {
                    expected: Some("Files".into())
                }
            )]
        );
        // A false IfModule still has to be closed, and so do sections within it.
        assert_eq!(
            run("<IfModule nothere_module>\nBogus\n"),
            vec![(1, "<IfModule".into(), unclosed(true))]
        );
        let p = check(
            b"<IfModule nothere_module>\n<Files x>\n",
            &base(),
            &AllowOverride::All,
        );
        assert_eq!((p.len(), p[0].line), (1, 2));
        assert_eq!(
            p[0].apache_message(),
            "Expected </Files> before end of configuration"
        );
        assert_eq!(
            run("<Files x\n</Files>\n"),
            vec![(1, "<Files".into(), ProblemKind::MissingBracket)]
        );
    }

    #[test]
    fn continuations_comments_and_case() {
        // The continued line is reported at its first line; `\\` continues too.
        assert_eq!(
            run("RewriteEngine \\\n  On\nBog\\\nus x\nrewriteengine on\r\n"),
            vec![(3, "Bogus".into(), ProblemKind::Unknown)]
        );
        assert_eq!(run("DirectoryIndex a\\\\\nBogus\n"), vec![]);
        // A comment that ends in a backslash swallows the next line, as in Apache.
        assert_eq!(run("# note \\\nBogus\n"), vec![]);
        // `#` after a directive is not a comment start: only the directive name matters.
        assert_eq!(run("Options -Indexes # no listing\n"), vec![]);
        // A quoted directive name.
        assert_eq!(run("\"RewriteEngine\" on\n"), vec![]);
    }

    #[test]
    fn third_party_modules_are_named() {
        let mut m = base();
        assert!(unknown_modules(&m).is_empty());
        m.insert("security2_module".into());
        m.insert("php_module".into());
        assert_eq!(unknown_modules(&m), vec!["security2_module"]);
    }

    #[test]
    fn error_directive_stops_apache() {
        let p = check(
            b"<IfModule !nothere_module>\n  Error \"needs nothere\"\n</IfModule>\nError\n",
            &base(),
            &AllowOverride::All,
        );
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[0].line, p[0].apache_message().as_str()),
            (2, "needs nothere")
        );
        assert_eq!(
            p[1].apache_message(),
            "The Error directive was used with no message."
        );
        assert!(run("<IfModule !rewrite_module>\nError x\n</IfModule>\n").is_empty());
    }

    #[test]
    fn hostile_bytes_do_not_panic() {
        let mut text = b"Rewrite\x00Engine On\n\xff\xfe bad\n<\n</\n<>\n\\".to_vec();
        text.extend(std::iter::repeat_n(b'a', 20_000));
        text.extend_from_slice(b"\nRewriteEngine On\\");
        let p = check(&text, &base(), &AllowOverride::All);
        assert!(p.iter().any(|p| p.kind == ProblemKind::LineTooLong));
        for p in &p {
            assert!(!p.explain().is_empty() && !p.fix().is_empty());
        }
        let long = "a".repeat(MAX_LINE);
        assert_eq!(run(&format!("# {long}\n")).len(), 1);
        assert_eq!(run(&format!("#{}\n", &long[1..])), vec![]);
    }
}
