//! Apache's configuration as it will be read: the server user, the document roots, each
//! `<Directory>`'s `AllowOverride`, the log files, the loaded modules, server-level PHP settings
//! and the PHP-FPM targets requests are proxied to.
//!
//! [`parse`] reads the config the way Apache does (Include globs, `${VAR}`, `Define`,
//! `<IfModule>`, `<IfDefine>`, …) without running anything; [`discover`] finds the installed
//! Apache, asks it which modules it loads (`apache2ctl -M`, or `apache2 -f PATH -M`, which only
//! parses) and parses its config.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use crate::doctor::overrides::AllowOverride;

/// Apache's own limit on nested Includes (`AP_MAX_INCLUDE_DEPTH`); deeper means a loop.
const MAX_INCLUDE_DEPTH: usize = 128;

/// mod_proxy_fcgi's port when an `fcgi://host` URL names none.
const FCGI_DEFAULT_PORT: u16 = 8000;

/// The version `<IfVersion>` is evaluated against: any current 2.4.
const ASSUMED_VERSION: [u32; 3] = [2, 4, 99];

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read Apache config {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{at}: Include {pattern} matches no file")]
    IncludeMissing { at: String, pattern: String },
    #[error("{at}: Includes nested more than {MAX_INCLUDE_DEPTH} deep (an Include loop?)")]
    IncludeDepth { at: String },
    #[error("`{command}` failed: {message}")]
    Command { command: String, message: String },
}

/// What Apache is configured to do, as far as `doctor` needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApacheLayout {
    /// The main config file the layout was read from.
    pub conf: PathBuf,
    /// `User` / `Group` (after `${VAR}` substitution; `#1000` numeric forms kept as written).
    pub user: Option<String>,
    pub group: Option<String>,
    /// Every explicit `DocumentRoot`, main server and virtual hosts, in config order. A vhost
    /// without one serves the main server's, which is listed already.
    pub docroots: Vec<DocRoot>,
    /// The `<Directory>` / `<DirectoryMatch>` sections that set `AllowOverride`, in config
    /// order (sections that do not set it change nothing and are left out). Sections inside
    /// `<VirtualHost>` are included too.
    pub directories: Vec<DirectoryRule>,
    /// The files `ErrorLog`, `CustomLog`, `TransferLog` and `GlobalLog` write (pipes and
    /// `syslog` left out), absolute, without duplicates. Apache's compiled default
    /// `logs/error_log` is listed when the main server sets no `ErrorLog`.
    pub logs: Vec<PathBuf>,
    /// Module identifiers (`rewrite_module`): those given to [`parse`] and every `LoadModule`.
    pub modules: BTreeSet<String>,
    /// Server-level `php_value`, `php_flag`, `php_admin_value`, `php_admin_flag`: name → value.
    pub php_ini: BTreeMap<String, String>,
    /// `PHPIniDir`: the directory mod_php reads its php.ini from, when the config moves it.
    pub php_ini_dir: Option<PathBuf>,
    /// Where PHP requests are proxied (`SetHandler`/`AddHandler "proxy:…"`, `ProxyPass`,
    /// `ProxyPassMatch`, `<Proxy>`): a unix socket as its path (`/run/php/php8.2-fpm.sock`),
    /// TCP as `host:port` (the port defaults to 8000 as in mod_proxy_fcgi). Without duplicates.
    pub fcgi_targets: Vec<String>,
}

/// One `DocumentRoot`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocRoot {
    /// Absolute (a relative one is taken from ServerRoot), without a trailing slash.
    pub path: PathBuf,
    /// The vhost's `ServerName`, else the main server's, which a vhost inherits.
    pub server_name: Option<String>,
    /// `file:line` of the `DocumentRoot` line.
    pub source: String,
}

/// One `<Directory>` section that sets `AllowOverride`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryRule {
    /// The path as written (after `${VAR}` substitution, without quotes), which may hold
    /// `*`/`?`/`[…]` wildcards; the regular expression when `regex`.
    pub path: String,
    /// `<Directory ~ …>` or `<DirectoryMatch …>`: its `AllowOverride` has no effect on
    /// `.htaccess` files (see [`ApacheLayout::allow_override_for`]).
    pub regex: bool,
    /// The last `AllowOverride` in the section.
    pub allow_override: AllowOverride,
}

impl ApacheLayout {
    /// The `AllowOverride` in force for directory `dir` when Apache reads its `.htaccess`: among
    /// the plain `<Directory>` sections matching `dir` or one of its parents, the one with the
    /// most path components wins (the later one on a tie; `*`, `?`, `[…]` match within one
    /// component). Apache's default, `None`, when nothing matches.
    ///
    /// Regex sections (`<Directory ~>`, `<DirectoryMatch>`) do not count: Apache applies them
    /// after the plain sections *and the `.htaccess` files*, so an `AllowOverride` in one has
    /// no effect (its manual: "AllowOverride is valid only in <Directory> sections specified
    /// without regular expressions").
    pub fn allow_override_for(&self, dir: &Path) -> AllowOverride {
        let dir = dir.to_string_lossy();
        let comps: Vec<&str> = dir.split('/').filter(|c| !c.is_empty()).collect();
        let mut best: Option<(usize, &AllowOverride)> = None;
        for rule in self.directories.iter().filter(|r| !r.regex) {
            if !rule.path.starts_with('/') {
                continue;
            }
            let rc: Vec<&str> = rule.path.split('/').filter(|c| !c.is_empty()).collect();
            let matches =
                rc.len() <= comps.len() && rc.iter().zip(&comps).all(|(p, c)| fnmatch(p, c, false));
            if matches && best.is_none_or(|(depth, _)| rc.len() >= depth) {
                best = Some((rc.len(), &rule.allow_override));
            }
        }
        best.map(|(_, a)| a.clone()).unwrap_or_default()
    }

    /// Whether mod_php (`php_module`, `php7_module`, `php5_module`) is loaded.
    pub fn has_mod_php(&self) -> bool {
        self.modules.iter().any(|m| {
            m.strip_prefix("php")
                .and_then(|r| r.strip_suffix("_module"))
                .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit()))
        })
    }
}

/// Parses the config starting at `conf`: follows Include/IncludeOptional (globs, relative to
/// ServerRoot; a directory includes every file in it), substitutes `${VAR}` from `Define` and
/// `vars`, keeps `<IfModule X>` bodies only when X (`mod_x.c` or `x_module` form, or `!X`) is in
/// `modules` (or loaded by an earlier `LoadModule`), `<IfDefine>` by Define'd names.
///
/// ServerRoot, until a `ServerRoot` line sets it, is the directory holding `conf` (Debian's
/// compiled default for /etc/apache2/apache2.conf); see [`parse_with_root`].
pub fn parse(
    conf: &Path,
    vars: &BTreeMap<String, String>,
    modules: &BTreeSet<String>,
) -> Result<ApacheLayout, Error> {
    let root = match conf.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    parse_with_root(conf, &root, vars, modules)
}

/// [`parse`] with the compiled-in ServerRoot (`apache2 -V`'s `HTTPD_ROOT`) given.
pub fn parse_with_root(
    conf: &Path,
    server_root: &Path,
    vars: &BTreeMap<String, String>,
    modules: &BTreeSet<String>,
) -> Result<ApacheLayout, Error> {
    let mut p = Parser {
        vars,
        define_values: BTreeMap::new(),
        defined: BTreeSet::new(),
        server_root: server_root.to_path_buf(),
        stack: Vec::new(),
        skip: 0,
        depth: 0,
        main_name: None,
        vhost: None,
        docroots: Vec::new(),
        main_error_log: false,
        out: ApacheLayout {
            conf: conf.to_path_buf(),
            modules: modules.clone(),
            ..ApacheLayout::default()
        },
    };
    p.process_path(conf, "the command line")?;
    // Sections left open at the end (Apache refuses such a config): close them as if closed.
    while !p.stack.is_empty() {
        p.close();
    }
    if !p.main_error_log {
        let default = p.server_root.join("logs/error_log");
        p.add_log(default);
    }
    let main_name = p.main_name.clone();
    p.out.docroots = p
        .docroots
        .into_iter()
        .map(|d| DocRoot {
            path: d.path,
            server_name: d.vhost_name.or_else(|| main_name.clone()),
            source: d.source,
        })
        .collect();
    Ok(p.out)
}

/// Reads the `export NAME=value` lines of Debian's envvars (values may be quoted or reference
/// earlier variables like `$SUFFIX`; plain `NAME=value` assignments are followed for that but
/// not returned). A missing or unreadable file gives an empty map.
pub fn read_envvars(path: &Path) -> BTreeMap<String, String> {
    match fs::read(path) {
        Ok(bytes) => parse_envvars(&String::from_utf8_lossy(&bytes)),
        Err(_) => BTreeMap::new(),
    }
}

fn parse_envvars(text: &str) -> BTreeMap<String, String> {
    let mut all: BTreeMap<String, String> = BTreeMap::new();
    let mut exported = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let (export, rest) = match line.strip_prefix("export ") {
            Some(r) => (true, r.trim_start()),
            None => (false, line),
        };
        let Some((name, value)) = rest.split_once('=') else {
            // `export LANG`: exports an earlier assignment.
            if export && let Some(v) = all.get(rest) {
                exported.insert(rest.to_string(), v.clone());
            }
            continue;
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let value = shell_value(value, &all);
        all.insert(name.to_string(), value.clone());
        if export {
            exported.insert(name.to_string(), value);
        }
    }
    exported
}

/// One shell word: `'literal'`, `"with $VARS"` or `unquoted$VARS`, up to unquoted whitespace.
fn shell_value(s: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() || c == ';' => break,
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => out.push(c),
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            (_, '$') => {
                let mut name = String::new();
                if chars.peek() == Some(&'{') {
                    chars.next();
                    for n in chars.by_ref() {
                        if n == '}' {
                            break;
                        }
                        name.push(n);
                    }
                    // `${X##pattern}` and other expansions are not followed: empty.
                    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                        continue;
                    }
                } else {
                    while let Some(&n) = chars.peek() {
                        if !(n.is_ascii_alphanumeric() || n == '_') {
                            break;
                        }
                        name.push(n);
                        chars.next();
                    }
                    if name.is_empty() {
                        out.push('$');
                        continue;
                    }
                }
                if let Some(v) = vars.get(&name) {
                    out.push_str(v);
                }
            }
            (_, c) => out.push(c),
        }
    }
    out
}

/// Parses `apache2ctl -M` output (`Loaded Modules:` then ` core_module (static)` lines).
pub fn parse_modules(output: &str) -> BTreeSet<String> {
    output
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.len() > "_module".len() && w.ends_with("_module"))
        .map(str::to_string)
        .collect()
}

/// Finds Apache on this host. With `conf` (the `--apache-conf` flag) runs
/// `apache2 -f CONF -M` (or `httpd`), with the environment of the envvars file next to `conf` or
/// /etc/apache2/envvars, as apache2ctl does; else `apache2ctl -M` (or `apachectl -M`) and the
/// config the binary was compiled to read (`-V`: /etc/apache2/apache2.conf on Debian,
/// /etc/httpd/conf/httpd.conf on RHEL). `-M` only parses the config; nothing is started.
///
/// Ok(None) when no Apache is installed; Err, one line, when it is but its config cannot be
/// read.
pub fn discover(conf: Option<&Path>) -> Result<Option<ApacheLayout>, Error> {
    let binary = find_program(&["apache2", "httpd"]);
    let ctl = find_program(&["apache2ctl", "apachectl"]);
    if binary.is_none() && ctl.is_none() {
        return Ok(None);
    }
    let no_env = BTreeMap::new();
    // The binary itself when there is one: Debian's apache2ctl creates run directories.
    let compiled = match (&binary, &ctl) {
        (Some(b), _) => run(b, &["-V"], &no_env).unwrap_or_default(),
        (None, Some(c)) => run(c, &["-V"], &no_env).unwrap_or_default(),
        (None, None) => String::new(),
    };
    let compiled = compiled_defines(&compiled);
    let httpd_root = compiled.get("HTTPD_ROOT").map(PathBuf::from);
    let (conf, envvars, modules) = match conf {
        Some(conf) => {
            let conf = std::path::absolute(conf).unwrap_or_else(|_| conf.to_path_buf());
            let Some(binary) = binary else {
                return Err(Error::Command {
                    command: format!("apache2 -f {} -M", conf.display()),
                    message: "no apache2 or httpd binary found".into(),
                });
            };
            let envvars = conf
                .parent()
                .map(|d| d.join("envvars"))
                .filter(|p| p.is_file())
                .unwrap_or_else(|| PathBuf::from("/etc/apache2/envvars"));
            let env = read_envvars(&envvars);
            let out = run(
                &binary,
                &[OsStr::new("-f"), conf.as_os_str(), "-M".as_ref()],
                &env,
            )?;
            (conf, env, parse_modules(&out))
        }
        None => {
            let root = httpd_root.clone().unwrap_or_else(|| {
                if Path::new("/etc/apache2").is_dir() {
                    PathBuf::from("/etc/apache2")
                } else {
                    PathBuf::from("/etc/httpd")
                }
            });
            let conf = match compiled.get("SERVER_CONFIG_FILE") {
                Some(f) => root.join(f),
                None if root.join("apache2.conf").is_file() => root.join("apache2.conf"),
                None => root.join("conf/httpd.conf"),
            };
            let env = read_envvars(&root.join("envvars"));
            let out = match (&ctl, &binary) {
                (Some(c), _) => run(c, &["-M"], &no_env)?,
                (None, Some(b)) => run(b, &["-M"], &env)?,
                (None, None) => String::new(),
            };
            (conf, env, parse_modules(&out))
        }
    };
    let mut vars: BTreeMap<String, String> = std::env::vars().collect();
    vars.extend(envvars);
    let root = httpd_root.unwrap_or_else(|| match conf.parent() {
        Some(p) => p.to_path_buf(),
        None => PathBuf::from("/"),
    });
    parse_with_root(&conf, &root, &vars, &modules).map(Some)
}

/// `-D NAME="value"` lines of `apache2 -V`.
fn compiled_defines(v: &str) -> BTreeMap<String, String> {
    v.lines()
        .filter_map(|l| l.trim().strip_prefix("-D "))
        .filter_map(|d| d.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for d in [
        "/usr/sbin",
        "/usr/local/sbin",
        "/sbin",
        "/usr/bin",
        "/usr/local/bin",
    ] {
        dirs.push(PathBuf::from(d));
    }
    names
        .iter()
        .flat_map(|n| dirs.iter().map(move |d| d.join(n)))
        .find(|p| p.is_file())
}

/// Runs a command; its stdout, or Err with the last line it printed.
fn run<S: AsRef<OsStr>>(
    program: &Path,
    args: &[S],
    env: &BTreeMap<String, String>,
) -> Result<String, Error> {
    let command = std::iter::once(program.display().to_string())
        .chain(
            args.iter()
                .map(|a| a.as_ref().to_string_lossy().into_owned()),
        )
        .collect::<Vec<_>>()
        .join(" ");
    let out = Command::new(program)
        .args(args)
        .envs(env)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Command {
            command: command.clone(),
            message: e.to_string(),
        })?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Apache splits a syntax error over two lines ("Syntax error on line N of F:" and the
    // reason); warnings (`[core:warn]`, AH00558) are not the reason.
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains(":warn]") && !l.contains("AH00558"))
        .collect();
    let message = if lines.is_empty() {
        stdout
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| out.status.to_string())
    } else {
        lines.join(" ")
    };
    Err(Error::Command { command, message })
}

/// The section a line is in.
enum Frame {
    /// A conditional section whose condition held: transparent.
    Cond,
    VirtualHost,
    Directory {
        path: String,
        regex: bool,
        allow: Option<AllowOverride>,
    },
    /// `<Location>`, `<Files>`, `<If>`, …: not server level.
    Other,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Server,
    VirtualHost,
    Directory,
    Other,
}

#[derive(Default)]
struct Vhost {
    name: Option<String>,
    docroots: Vec<(PathBuf, String)>,
}

struct PendingDocRoot {
    path: PathBuf,
    vhost_name: Option<String>,
    source: String,
}

struct Parser<'a> {
    vars: &'a BTreeMap<String, String>,
    define_values: BTreeMap<String, String>,
    defined: BTreeSet<String>,
    server_root: PathBuf,
    stack: Vec<Frame>,
    /// > 0 while inside a conditional section whose condition failed: its nesting depth.
    skip: usize,
    depth: usize,
    main_name: Option<String>,
    vhost: Option<Vhost>,
    docroots: Vec<PendingDocRoot>,
    main_error_log: bool,
    out: ApacheLayout,
}

impl Parser<'_> {
    /// Reads a file, or every file under a directory (sorted, recursively).
    fn process_path(&mut self, path: &Path, at: &str) -> Result<(), Error> {
        if self.depth >= MAX_INCLUDE_DEPTH {
            return Err(Error::IncludeDepth { at: at.to_string() });
        }
        let read_err = |source| Error::Read {
            path: path.to_path_buf(),
            source,
        };
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = fs::read_dir(path)
                .map_err(read_err)?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .collect();
            entries.sort();
            self.depth += 1;
            for e in entries {
                self.process_path(&e, at)?;
            }
            self.depth -= 1;
            return Ok(());
        }
        let bytes = fs::read(path).map_err(read_err)?;
        let text = String::from_utf8_lossy(&bytes);
        self.depth += 1;
        for (number, line) in logical_lines(&text) {
            let at = format!("{}:{number}", path.display());
            self.line(&line, &at)?;
        }
        self.depth -= 1;
        Ok(())
    }

    fn line(&mut self, line: &str, at: &str) -> Result<(), Error> {
        let t = line.trim();
        if self.skip > 0 {
            if t.starts_with("</") {
                self.skip -= 1;
            } else if t.starts_with('<') {
                self.skip += 1;
            }
            return Ok(());
        }
        if t.starts_with("</") {
            self.close();
            return Ok(());
        }
        if let Some(rest) = t.strip_prefix('<') {
            let inner = match rest.rfind('>') {
                Some(i) => &rest[..i],
                None => rest,
            };
            let (name, args) = split_word(inner);
            let args = self.substitute(args);
            self.open(&name.to_ascii_lowercase(), &args);
            return Ok(());
        }
        let (name, args) = split_word(t);
        let args = self.substitute(args);
        self.directive(&name.to_ascii_lowercase(), &args, at)
    }

    /// `${NAME}` from `Define`, then the environment; an unknown name stays as written.
    fn substitute(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let Some(j) = after.find('}') else {
                out.push_str(&rest[i..]);
                rest = "";
                break;
            };
            let name = &after[..j];
            match self.define_values.get(name).or_else(|| self.vars.get(name)) {
                Some(v) => out.push_str(v),
                None => out.push_str(&rest[i..i + 2 + j + 1]),
            }
            rest = &after[j + 1..];
        }
        out.push_str(rest);
        out
    }

    fn open(&mut self, name: &str, args: &str) {
        let cond = match name {
            "ifmodule" => Some(self.if_module(args)),
            "ifdefine" => Some(negatable(args, |n| self.defined.contains(n))),
            "iffile" => Some(negatable(args, |n| self.resolve(n).exists())),
            "ifversion" => Some(if_version(args)),
            "ifdirective" | "ifsection" => Some(!args.trim_start().starts_with('!')),
            _ => None,
        };
        if let Some(holds) = cond {
            if holds {
                self.stack.push(Frame::Cond);
            } else {
                self.skip = 1;
            }
            return;
        }
        let frame = match name {
            "virtualhost" => {
                self.vhost = Some(Vhost::default());
                Frame::VirtualHost
            }
            "directory" | "directorymatch" => {
                let w = words(args);
                let (regex, path) = if name == "directorymatch" {
                    (true, w.first())
                } else if w.first().is_some_and(|f| f == "~") {
                    (true, w.get(1))
                } else {
                    (false, w.first())
                };
                Frame::Directory {
                    path: path.cloned().unwrap_or_default(),
                    regex,
                    allow: None,
                }
            }
            "proxy" | "proxymatch" => {
                for w in words(args) {
                    self.fcgi(&w);
                }
                Frame::Other
            }
            _ => Frame::Other,
        };
        self.stack.push(frame);
    }

    fn close(&mut self) {
        match self.stack.pop() {
            Some(Frame::Directory {
                path,
                regex,
                allow: Some(allow_override),
            }) => self.out.directories.push(DirectoryRule {
                path,
                regex,
                allow_override,
            }),
            Some(Frame::VirtualHost) => {
                if let Some(v) = self.vhost.take() {
                    for (path, source) in v.docroots {
                        self.docroots.push(PendingDocRoot {
                            path,
                            vhost_name: v.name.clone(),
                            source,
                        });
                    }
                }
            }
            _ => {}
        }
    }

    fn context(&self) -> Context {
        for f in self.stack.iter().rev() {
            match f {
                Frame::Cond => continue,
                Frame::VirtualHost => return Context::VirtualHost,
                Frame::Directory { .. } => return Context::Directory,
                Frame::Other => return Context::Other,
            }
        }
        Context::Server
    }

    fn directive(&mut self, name: &str, args: &str, at: &str) -> Result<(), Error> {
        let w = words(args);
        let first = w.first().map(String::as_str).unwrap_or("");
        let ctx = self.context();
        match name {
            "serverroot" if !first.is_empty() => self.server_root = self.resolve(first),
            "define" if !first.is_empty() => {
                self.defined.insert(first.to_string());
                if let Some(v) = w.get(1) {
                    self.define_values.insert(first.to_string(), v.clone());
                }
            }
            "undefine" => {
                self.defined.remove(first);
                self.define_values.remove(first);
            }
            "include" | "includeoptional" => {
                for pattern in &w {
                    self.include(pattern, name == "includeoptional", at)?;
                }
            }
            "loadmodule" if !first.is_empty() => {
                self.out.modules.insert(first.to_string());
            }
            "user" if ctx == Context::Server && !first.is_empty() => {
                self.out.user = Some(first.to_string())
            }
            "group" if ctx == Context::Server && !first.is_empty() => {
                self.out.group = Some(first.to_string())
            }
            "servername" if !first.is_empty() => match ctx {
                Context::Server => self.main_name = Some(first.to_string()),
                Context::VirtualHost => {
                    if let Some(v) = &mut self.vhost {
                        v.name = Some(first.to_string());
                    }
                }
                _ => {}
            },
            "documentroot" if !first.is_empty() => {
                let trimmed = match first.trim_end_matches('/') {
                    "" => "/",
                    t => t,
                };
                let path = self.resolve(trimmed);
                match (ctx, &mut self.vhost) {
                    (Context::Server, _) => self.docroots.push(PendingDocRoot {
                        path,
                        vhost_name: None,
                        source: at.to_string(),
                    }),
                    (Context::VirtualHost, Some(v)) => v.docroots.push((path, at.to_string())),
                    _ => {}
                }
            }
            "errorlog" | "customlog" | "transferlog" | "globallog" if !first.is_empty() => {
                let syslog = name == "errorlog" && first.to_ascii_lowercase().starts_with("syslog");
                if name == "errorlog" && ctx == Context::Server {
                    self.main_error_log = true;
                }
                if !first.starts_with('|') && !syslog {
                    let p = self.resolve(first);
                    self.add_log(p);
                }
            }
            "allowoverride" => {
                let allow = AllowOverride::parse(&w.join(" "));
                for f in self.stack.iter_mut().rev() {
                    match f {
                        Frame::Cond => continue,
                        Frame::Directory { allow: a, .. } => *a = Some(allow),
                        _ => {}
                    }
                    break;
                }
            }
            "php_value" | "php_flag" | "php_admin_value" | "php_admin_flag"
                if ctx == Context::Server && !first.is_empty() =>
            {
                let value = w.get(1).cloned().unwrap_or_default();
                self.out.php_ini.insert(first.to_string(), value);
            }
            "phpinidir" if ctx == Context::Server && !first.is_empty() => {
                self.out.php_ini_dir = Some(self.resolve(first));
            }
            "sethandler" | "addhandler" | "proxypass" | "proxypassmatch" => {
                for word in &w {
                    self.fcgi(word);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn include(&mut self, pattern: &str, optional: bool, at: &str) -> Result<(), Error> {
        let full = self.resolve(pattern);
        if has_wildcard(&full.to_string_lossy()) {
            let found = expand_glob(&full)?;
            if found.is_empty() && !optional {
                return Err(Error::IncludeMissing {
                    at: at.to_string(),
                    pattern: pattern.to_string(),
                });
            }
            for p in found {
                self.process_path(&p, at)?;
            }
            return Ok(());
        }
        if optional && !full.exists() {
            return Ok(());
        }
        self.process_path(&full, at)
    }

    fn if_module(&self, args: &str) -> bool {
        negatable(args, |name| {
            let id = module_id(name);
            self.out
                .modules
                .iter()
                .any(|m| m.eq_ignore_ascii_case(&id) || m.eq_ignore_ascii_case(name))
        })
    }

    /// A path relative to ServerRoot; absolute ones unchanged.
    fn resolve(&self, p: &str) -> PathBuf {
        let path = Path::new(p);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.server_root.join(path)
        }
    }

    fn add_log(&mut self, p: PathBuf) {
        if !self.out.logs.contains(&p) {
            self.out.logs.push(p);
        }
    }

    fn fcgi(&mut self, word: &str) {
        if let Some(t) = fcgi_target(word)
            && !self.out.fcgi_targets.contains(&t)
        {
            self.out.fcgi_targets.push(t);
        }
    }
}

/// The config's lines, comments and blank lines dropped, backslash continuations joined, each
/// with the number of its first physical line.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let (number, mut line) = match pending.take() {
            Some((n, mut acc)) => {
                acc.push_str(raw);
                (n, acc)
            }
            None => (i + 1, raw.to_string()),
        };
        if line.ends_with('\\') {
            line.pop();
            pending = Some((number, line));
            continue;
        }
        let t = line.trim();
        if !t.is_empty() && !t.starts_with('#') {
            out.push((number, line));
        }
    }
    if let Some((n, line)) = pending {
        let t = line.trim();
        if !t.is_empty() && !t.starts_with('#') {
            out.push((n, line));
        }
    }
    out
}

/// The first whitespace-separated word and the rest.
fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim_start()),
        None => (s, ""),
    }
}

/// Apache's argument words: whitespace-separated, `"…"` or `'…'` quoted (`\"` inside).
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else { break };
        let mut w = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '\\' && chars.peek() == Some(&first) {
                    w.push(first);
                    chars.next();
                } else if c == first {
                    break;
                } else {
                    w.push(c);
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                w.push(c);
                chars.next();
            }
        }
        out.push(w);
    }
    out
}

/// A section condition's first word, `!` negating it.
fn negatable(args: &str, test: impl Fn(&str) -> bool) -> bool {
    let w = words(args);
    let arg = w.first().map(String::as_str).unwrap_or("");
    match arg.strip_prefix('!') {
        Some(name) => !test(name),
        None => test(arg),
    }
}

/// The module identifier (`rewrite_module`) for an `<IfModule>` argument in either form.
fn module_id(name: &str) -> String {
    let Some(base) = name.strip_suffix(".c") else {
        return name.to_string();
    };
    match base {
        "prefork" => "mpm_prefork_module".into(),
        "worker" => "mpm_worker_module".into(),
        "event" => "mpm_event_module".into(),
        "http_core" => "http_module".into(),
        _ => format!("{}_module", base.strip_prefix("mod_").unwrap_or(base)),
    }
}

/// `<IfVersion [[!]op] version>` against a current 2.4; a regex version is taken as holding.
fn if_version(args: &str) -> bool {
    let w = words(args);
    let (op, version) = match w.as_slice() {
        [] => return true,
        [v] => ("=", v.as_str()),
        [op, v, ..] => (op.as_str(), v.as_str()),
    };
    let (negate, op) = match op.strip_prefix('!') {
        Some(o) => (true, if o.is_empty() { "=" } else { o }),
        None => (false, op),
    };
    if op == "~" || version.starts_with('/') {
        return true;
    }
    let wanted: Vec<u32> = version
        .split('.')
        .map_while(|p| p.parse().ok())
        .take(3)
        .collect();
    if wanted.is_empty() {
        return true;
    }
    let have = &ASSUMED_VERSION[..wanted.len()];
    let ord = have.cmp(&wanted[..]);
    let holds = match op {
        "=" | "==" => ord.is_eq(),
        ">" => ord.is_gt(),
        ">=" => ord.is_ge(),
        "<" => ord.is_lt(),
        "<=" => ord.is_le(),
        _ => true,
    };
    holds != negate
}

/// The PHP-FPM target a proxy URL names: a unix socket's path, or `host:port`.
fn fcgi_target(word: &str) -> Option<String> {
    let s = strip_prefix_ci(word, "proxy:").unwrap_or(word);
    if let Some(rest) = strip_prefix_ci(s, "unix:") {
        let (path, url) = rest.split_once('|')?;
        return (strip_prefix_ci(url, "fcgi://").is_some() && !path.is_empty())
            .then(|| path.to_string());
    }
    let rest = strip_prefix_ci(s, "fcgi://")?;
    let hostport = rest.split('/').next().unwrap_or("");
    if hostport.is_empty() {
        return None;
    }
    let has_port = match hostport.strip_prefix('[') {
        Some(v6) => v6.contains("]:"),
        None => hostport.contains(':'),
    };
    Some(if has_port {
        hostport.to_string()
    } else {
        format!("{hostport}:{FCGI_DEFAULT_PORT}")
    })
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The existing paths a pattern with wildcards in any component names, each component's
/// matches sorted by name as Apache does. A component's missing directory is no match; an
/// unreadable one is an error.
fn expand_glob(pattern: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut current = vec![PathBuf::new()];
    for comp in pattern.components() {
        let s = comp.as_os_str().to_string_lossy();
        let wild = matches!(comp, Component::Normal(_)) && has_wildcard(&s);
        let mut next = Vec::new();
        for base in &current {
            if !wild {
                next.push(base.join(comp));
                continue;
            }
            if !base.is_dir() {
                continue;
            }
            let entries = fs::read_dir(base).map_err(|source| Error::Read {
                path: base.clone(),
                source,
            })?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .filter(|e| fnmatch(&s, &e.file_name().to_string_lossy(), true))
                .map(|e| base.join(e.file_name()))
                .collect();
            found.sort();
            next.extend(found);
        }
        current = next;
    }
    Ok(current.into_iter().filter(|p| p.exists()).collect())
}

/// fnmatch(3) on one path component: `*`, `?`, `[a-z]`, `[!…]`, `\x`. With `period`, a
/// leading `.` must be matched by a literal `.`.
fn fnmatch(pattern: &str, name: &str, period: bool) -> bool {
    if period && name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        let mut step: Option<usize> = None;
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                '?' => step = Some(1),
                '[' => match char_class(&p, pi, n[ni]) {
                    Some((true, len)) => step = Some(len),
                    Some((false, _)) => {}
                    None if n[ni] == '[' => step = Some(1),
                    None => {}
                },
                '\\' if pi + 1 < p.len() => step = (p[pi + 1] == n[ni]).then_some(2),
                c if c == n[ni] => step = Some(1),
                _ => {}
            }
        }
        if let Some(len) = step {
            pi += len;
            ni += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Whether `c` is in the `[…]` class at `p[start]`, and the class's length; None when the
/// class is not closed (the `[` is then literal).
fn char_class(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let &ch = p.get(i)?;
        if ch == ']' && !first {
            break;
        }
        first = false;
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&e| e != ']') {
            let end = p[i + 2];
            if ch <= c && c <= end {
                matched = true;
            }
            i += 3;
        } else {
            if ch == c {
                matched = true;
            }
            i += 1;
        }
    }
    Some((matched != negate, i + 1 - start))
}

#[cfg(test)]
mod tests;
