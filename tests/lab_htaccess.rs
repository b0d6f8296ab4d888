//! Differential test of `doctor::htaccess::check` against the real Apache: each case's
//! `.htaccess` goes into its own directory under the document root of a running Debian
//! apache2, a page there is requested over 127.0.0.1, and
//! - Apache answers 500 exactly when `check` reports a problem (200 otherwise);
//! - on a 500, the error log's `.../<dir>/.htaccess: <message>` line carries the message of
//!   one of the problems `check` reported (Apache stops at its first; for one-problem cases
//!   that is the only one).
//!
//! The modules `check` is given are the running server's own, from `apache2 -f CONF -M`.
//! Two servers: `mpm_event` without PHP (the lab's default modules: authz_core, mime, dir,
//! rewrite), and `mpm_prefork` + mod_php for the `php_*` directives. Directories named in
//! [`OVERRIDES`] get their own `AllowOverride`; the rest inherit the docroot's `All`.
mod lab;

use fivehundred::doctor::htaccess::{self, MAX_LINE, Problem};
use fivehundred::doctor::overrides::AllowOverride;
use lab::apache::ApacheOptions;
use lab::*;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// (directory, .htaccess contents).
type Case = (&'static str, &'static str);

/// Directories whose `AllowOverride` is not the docroot's `All`.
const OVERRIDES: &[(&str, &str)] = &[
    ("fileinfo_options", "FileInfo"),
    ("fileinfo_options_lower", "FileInfo"),
    ("fileinfo_rewrite", "FileInfo"),
    ("fileinfo_limit", "FileInfo"),
    ("fileinfo_php_flag", "FileInfo"),
    ("limit_only", "Limit"),
    ("options_only", "Options=Indexes"),
    ("none", "None"),
];

/// Cases for either server.
const COMMON: &[Case] = &[
    ("headers_missing", "Header set X-Test yes\n"),
    ("misspelled", "RewriteEngin On\n"),
    (
        "directory",
        "<Directory /tmp>\n  Require all granted\n</Directory>\n",
    ),
    ("expires_missing", "# cache\nExpiresActive On\n"),
    (
        "rewrite_ok",
        "RewriteEngine On\nRewriteRule ^nothing$ /index.html [L]\n",
    ),
    (
        "ifmodule_source_name",
        "<IfModule mod_headers.c>\n  Header set X-Test yes\n</IfModule>\n",
    ),
    (
        "ifmodule_identifier",
        "<IfModule headers_module>\n  Header set X-Test yes\n</IfModule>\n",
    ),
    (
        "ifmodule_negated_missing",
        "<IfModule !headers_module>\n  BogusDirective on\n</IfModule>\n",
    ),
    (
        "ifmodule_negated_loaded",
        "<IfModule !mod_rewrite.c>\n  BogusDirective on\n</IfModule>\n",
    ),
    (
        "ifmodule_loaded_bad_body",
        "<IfModule rewrite_module>\n  RewriteEngine On\n  RewriteBase\\\n2 /\n</IfModule>\n",
    ),
    (
        "ifmodule_case_sensitive",
        "<IfModule MOD_REWRITE.C>\n  BogusDirective on\n</IfModule>\n",
    ),
    (
        "ifmodule_false_nested",
        "<IfModule nothere_module>\n<Files x>\nBogus\n</Files>\n</IfModule>\nDirectoryIndex index.html\n",
    ),
    ("directory_index", "DirectoryIndex index.html\n"),
    ("options", "Options -Indexes\n"),
    ("fileinfo_options", "Options -Indexes\n"),
    ("fileinfo_options_lower", "options -Indexes\n"),
    ("fileinfo_rewrite", "RewriteEngine On\n"),
    (
        "fileinfo_limit",
        "<Limit POST>\n  Require all denied\n</Limit>\n",
    ),
    (
        "limit_only",
        "<Limit POST>\n  Require all denied\n</Limit>\n",
    ),
    (
        "options_only",
        "Options -Indexes\nAddType text/plain .txt\n",
    ),
    ("none", "BogusDirective on\n<Directory />\n"),
    ("unclosed", "<Files x.txt>\n  Require all denied\n"),
    ("stray_close", "RewriteEngine On\n</IfModule>\n"),
    ("mismatched", "<Files a>\n</FilesMatch>\n"),
    ("missing_bracket", "<Files x.txt\n</Files>\n"),
    (
        "continuation",
        "RewriteEngine \\\n  On\nRewriteRul\\\ne ^x$ /y\n",
    ),
    ("comment_continued", "# a note \\\nBogusDirective on\n"),
    ("case_insensitive", "rewriteengine on\nREWRITERULE ^x$ /y\n"),
    ("crlf", "RewriteEngine On\r\nRewriteRule ^x$ /y\r\n"),
    ("quoted_name", "\"RewriteEngine\" on\n"),
    ("listen", "Listen 8080\n"),
    (
        "ifversion",
        "<IfVersion >= 2.4>\n  BogusDirective on\n</IfVersion>\n",
    ),
    ("if_expr", "<If \"true\">\n  BogusDirective on\n</If>\n"),
    (
        "ifdirective",
        "<IfDirective Header>\n  Header set X-Test yes\n</IfDirective>\n",
    ),
    (
        "files_ok",
        "<FilesMatch \"\\.txt$\">\n  Require all denied\n</FilesMatch>\nErrorDocument 404 /missing.html\n",
    ),
    ("ifdefine_false", "<IfDefine FOO>\nListen 1\n</IfDefine>\n"),
    (
        "ifdefine_true",
        "<IfDefine FOREGROUND>\nListen 1\n</IfDefine>\n",
    ),
    ("listen_in_files", "<Files x>\n  Listen 1\n</Files>\n"),
    (
        "listen_in_ifmodule",
        "<IfModule rewrite_module>\n  Listen 1\n</IfModule>\n",
    ),
    (
        "listen_in_ifmodule_in_files",
        "<files x>\n<IfModule rewrite_module>\nlisten 1\n</IfModule>\n</files>\n",
    ),
    (
        "unclosed_ifmodule_true",
        "<IfModule rewrite_module>\nRewriteEngine On\n",
    ),
    (
        "unclosed_files_in_ifmodule",
        "<IfModule rewrite_module>\n<Files x>\n",
    ),
    (
        "unclosed_ifmodule_in_files",
        "<Files x>\n<IfModule rewrite_module>\n",
    ),
    ("unclosed_directory", "<Directory />\n"),
    (
        "unclosed_files_in_false_ifmodule",
        "<IfModule nothere_module>\n<Files x>\n",
    ),
    (
        "unclosed_ifmodule_false",
        "<IfModule nothere_module>\nBogusDirective on\n",
    ),
    (
        "skipped_mismatch",
        "<IfModule nothere_module>\n<Files x>\n</FilesMatch>\n</IfModule>\n",
    ),
    ("crlf_continuation", "RewriteEngine \\\r\n On\r\n"),
    (
        "escaped_backslash",
        "DirectoryIndex a\\\\\nBogusDirective on\n",
    ),
    ("php_value", "php_value memory_limit 256M\n"),
    ("php_admin_value", "php_admin_value memory_limit 512M\n"),
    ("fileinfo_php_flag", "php_flag display_errors off\n"),
    ("nul_byte", "Rewrite\0Engine On\n"),
];

/// Long lines, at and just past the limit Apache reads (a comment, to need no module).
fn long_lines() -> Vec<(&'static str, String)> {
    vec![
        ("long_ok", format!("#{}\n", "a".repeat(MAX_LINE - 1))),
        ("long_bad", format!("#{}\n", "a".repeat(MAX_LINE))),
    ]
}

/// The loaded modules, as `apache2 -f CONF -M` lists them (`name_module (shared|static)`).
fn loaded_modules(conf: &Path) -> BTreeSet<String> {
    let out = Command::new("apache2")
        .arg("-f")
        .arg(conf)
        .arg("-M")
        .output()
        .expect("run apache2 -M");
    let text = String::from_utf8_lossy(&out.stdout);
    let modules: BTreeSet<String> = text
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            match (w.next(), w.next()) {
                (Some(name), Some("(shared)" | "(static)")) => Some(name.to_string()),
                _ => None,
            }
        })
        .collect();
    assert!(
        modules.contains("core_module"),
        "apache2 -M listed no modules: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    modules
}

/// The message after `/<dir>/.htaccess: ` on the error log's last line for this directory.
fn logged_message(log: &Path, dir: &str) -> Option<String> {
    let text = String::from_utf8_lossy(&std::fs::read(log).ok()?).into_owned();
    let needle = format!("/{dir}/.htaccess");
    let line = text.lines().rev().find(|l| l.contains(&needle))?;
    // `[client 127.0.0.1:PORT] MESSAGE`; the message may itself start with the path.
    let (_, message) = line.split_once("] ")?;
    let message = message.rsplit_once("] ").map_or(message, |(_, m)| m);
    let message = message
        .split_once(&format!("{needle}: "))
        .map_or(message, |(_, m)| m);
    Some(message.trim().to_string())
}

fn skip() -> bool {
    if !Path::new("/usr/sbin/apache2").exists() {
        eprintln!("note: skipping the .htaccess lab: apache2 is not installed");
        return true;
    }
    skip_unless_root("lab_htaccess")
}

/// Writes every case, starts Apache (`opts`), requests each case's page and compares.
fn differential(opts: ApacheOptions, cases: &[Case]) {
    let lab = Lab::new();
    let root = lab.path("www");
    let mut opts = opts;
    for (dir, allow) in OVERRIDES {
        opts = opts.server(&format!(
            "<Directory {}/{dir}>\n  AllowOverride {allow}\n</Directory>",
            root.display()
        ));
    }
    let long = long_lines();
    let all: Vec<(&str, Vec<u8>)> = cases
        .iter()
        .map(|(d, t)| (*d, t.as_bytes().to_vec()))
        .chain(long.iter().map(|(d, t)| (*d, t.as_bytes().to_vec())))
        .collect();
    for (dir, text) in &all {
        lab.write(&format!("www/{dir}/index.html"), "<p>ok</p>\n");
        let p = lab.path(&format!("www/{dir}/.htaccess"));
        std::fs::write(&p, text).expect("write .htaccess");
    }
    let server = opts.start(&lab);
    let modules = loaded_modules(&server.conf);
    // The lab runs `apache2 -DFOREGROUND`, and its config has no `Define`.
    let defines = BTreeSet::from(["FOREGROUND".to_string()]);
    let mut failures = Vec::new();
    let mut report = Vec::new();
    for (dir, text) in &all {
        let allow = OVERRIDES
            .iter()
            .find(|(d, _)| d == dir)
            .map(|(_, a)| AllowOverride::parse(a))
            .unwrap_or(AllowOverride::All);
        let problems: Vec<Problem> = htaccess::check_with_defines(text, &modules, &allow, &defines);
        let status = get(server.port, &format!("/{dir}/index.html"));
        let expected = if problems.is_empty() { 200 } else { 500 };
        let logged = if status == 500 {
            wait_for(&format!("the error log line for {dir}"), || {
                logged_message(&server.error_log, dir).is_some()
            });
            logged_message(&server.error_log, dir)
        } else {
            None
        };
        let messages: Vec<String> = problems.iter().map(Problem::apache_message).collect();
        // Two messages come with the file and line before them.
        let agrees = |logged: &str| {
            problems.iter().any(|p| {
                let m = p.apache_message();
                logged == m
                    || logged.ends_with(&format!("/{dir}/.htaccess:{}: {m}", p.line))
                    || logged.ends_with(&format!("/{dir}/.htaccess at line {}: {m}", p.line))
            })
        };
        report.push(format!(
            "{dir}: {status}, apache: {logged:?}, check: {messages:?}"
        ));
        if status != expected {
            failures.push(format!(
                "{dir}: Apache answered {status}, check expected {expected} ({problems:?}); log: {logged:?}"
            ));
        } else if let Some(logged) = &logged
            && !agrees(logged)
        {
            failures.push(format!(
                "{dir}: Apache logged {logged:?}, check said {messages:?}"
            ));
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn htaccess_check_agrees_with_apache_event() {
    if skip() {
        return;
    }
    differential(ApacheOptions::new().name("event"), COMMON);
}

#[test]
fn htaccess_check_agrees_with_apache_mod_php() {
    if skip() {
        return;
    }
    let php: Vec<Case> = COMMON
        .iter()
        .copied()
        .filter(|(d, _)| d.contains("php") || *d == "headers_missing" || *d == "options")
        .collect();
    differential(ApacheOptions::new().name("modphp").mod_php(), &php);
}
