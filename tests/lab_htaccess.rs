//! Differential test of `doctor::htaccess::check` against the real Apache: each case's
//! `.htaccess` goes into its own directory under the document root of a running Debian
//! apache2, a page there is requested over 127.0.0.1, and
//! - Apache answers 500 exactly when `check` reports a problem (200 otherwise);
//! - on a 500, the error log's `.../<dir>/.htaccess: <message>` line is the message of the
//!   problem `first_reported` picks (Apache stops at its first error), with its line number
//!   where Apache gives one.
//!
//! The modules `check` is given are the running server's own, from `apache2 -f CONF -M`.
//! Two servers: `mpm_event` without PHP (the lab's default modules: authz_core, mime, dir,
//! rewrite), and `mpm_prefork` + mod_php for the `php_*` directives. Directories named in
//! [`OVERRIDES`] get their own `AllowOverride`; the rest inherit the docroot's `All`.
//!
//! A third test holds the directive table itself to the server: see
//! [`directive_table_agrees_with_apache`].
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
    (
        "error_directive",
        "<IfModule !headers_module>\n  Error \"this site needs mod_headers\"\n</IfModule>\n",
    ),
    ("error_bare", "Error\n"),
    ("order_error", "BogusDirective on\nError stop\n"),
    ("order_unclosed", "BogusDirective on\n<Files x>\n"),
    ("order_stray", "BogusDirective on\n</Files>\n"),
    (
        "order_bracket",
        "BogusDirective on\n<IfModule rewrite_module\n</IfModule>\n",
    ),
    (
        "order_files_bracket",
        "BogusDirective on\n<Files x\n</Files>\n",
    ),
    ("order_define", "BogusDirective on\nDefine X\n"),
    ("take2_comment", "ErrorDocument 404 /missing.html # c\n"),
    ("iterate2_comment", "AddType text/plain .txt # c\n"),
    ("iterate_empty", "DirectoryIndex\n"),
    ("take1_quoted", "RewriteBase \"/a b\"\n"),
    ("take1_empty_quoted", "RewriteBase \"\"\n"),
    ("php_value_one", "php_value memory_limit\n"),
    ("flag_comment", "RewriteEngine On # turn on\n"),
    ("flag_bad", "RewriteEngine yes\n"),
    ("take1_comment", "DirectoryIndex index.html # the page\n"),
    ("raw_comment", "RewriteBase / # base\n"),
    ("options_mixed", "Options Indexes -FollowSymLinks\n"),
    ("options_illegal", "Options -Indexs\n"),
    ("options_comment", "Options -Indexes # no listing\n"),
    (
        "options_ok_many",
        "options +followsymlinks -indexes -MultiViews +ExecCGI -Includes +IncludesNOEXEC -SymLinksIfOwnerMatch\n",
    ),
    ("options_none", "Options None\n"),
    ("options_all", "Options All\n"),
    ("options_plus_none", "Options +None\n"),
    ("options_none_mixed", "Options None Indexes\n"),
    ("options_empty", "Options\n"),
    ("options_quoted", "Options \"-Indexes\"\n"),
    ("ifmodule_space", "<IfModule mod_rewrite.c >\n</IfModule>\n"),
    (
        "ifmodule_quoted",
        "<IfModule \"mod_rewrite.c\">\n</IfModule>\n",
    ),
    ("ifmodule_empty", "<IfModule>\n</IfModule>\n"),
    ("files_empty", "<Files>\n</Files>\n"),
    ("else_alone", "<Else>\n</Else>\n"),
    (
        "else_twice",
        "<If \"true\">\n</If>\n<Else>\n</Else>\n<Else>\n</Else>\n",
    ),
    (
        "else_in_files",
        "<If \"true\">\n</If>\n<Files x>\n<Else>\n</Else>\n</Files>\n",
    ),
    (
        "order_ifmodule_empty",
        "BogusDirective on\n<IfModule>\n</IfModule>\n",
    ),
    ("limit_empty", "<Limit>\n</Limit>\n"),
    ("if_empty", "<If>\n</If>\n"),
    ("filesmatch_empty", "<FilesMatch>\n</FilesMatch>\n"),
    ("ifdefine_empty", "<IfDefine>\n</IfDefine>\n"),
    ("ifversion_empty", "<IfVersion>\n</IfVersion>\n"),
    ("elseif_alone", "<ElseIf \"true\">\n</ElseIf>\n"),
    (
        "else_after_directive",
        "<If \"true\">\n</If>\nRewriteEngine on\n<Else>\n</Else>\n",
    ),
    (
        "else_after_comment",
        "<If \"true\">\n</If>\n# c\n<Else>\n</Else>\n",
    ),
    (
        "else_after_elseif",
        "<If \"false\">\n</If>\n<ElseIf \"true\">\n</ElseIf>\n<Else>\n</Else>\n",
    ),
    (
        "else_nested_ok",
        "<Files x>\n<If \"true\">\n</If>\n<Else>\n</Else>\n</Files>\n",
    ),
    (
        "else_across_ifmodule",
        "<If \"true\">\n</If>\n<IfModule rewrite_module>\n<Else>\n</Else>\n</IfModule>\n",
    ),
    (
        "else_after_ifmodule",
        "<If \"true\">\n</If>\n<IfModule nothere_module>\nX\n</IfModule>\n<Else>\n</Else>\n",
    ),
    (
        "ifdefine_quoted",
        "<IfDefine \"FOREGROUND\">\nBogusDirective\n</IfDefine>\n",
    ),
    (
        "error_skipped",
        "<IfModule rewrite_module>\n<IfModule !rewrite_module>\nError x\n</IfModule>\n</IfModule>\n",
    ),
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
    // `[client 127.0.0.1:PORT] /path/.htaccess: MESSAGE` (which may name the path again).
    let (_, message) = line.split_once(&format!("{needle}: "))?;
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
        // Apache logs the problem it meets first; two messages come with the file and line.
        let agrees = |logged: &str| {
            htaccess::first_reported(&problems).is_some_and(|p| {
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

/// Debian's modules that can all be loaded into one `mpm_event` server, in an order that
/// satisfies their dependencies (the lab's defaults, and mod_php and the other MPMs, aside).
fn loadable_modules() -> Vec<String> {
    let first = [
        "mod_proxy.so",
        "mod_ldap.so",
        "mod_xml2enc.so",
        "mod_slotmem_shm.so",
        "mod_dav.so",
        "mod_session.so",
        "mod_cache.so",
        "mod_socache_shmcb.so",
        "mod_dbd.so",
        "mod_watchdog.so",
    ];
    let skip = [
        "mod_mpm_event.so",
        "mod_mpm_prefork.so",
        "mod_mpm_worker.so",
        "mod_cgi.so",
        "mod_authz_core.so",
        "mod_mime.so",
        "mod_dir.so",
        "mod_rewrite.so",
    ];
    let mut rest: Vec<String> = std::fs::read_dir("/usr/lib/apache2/modules")
        .expect("list modules")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| f.starts_with("mod_") && f.ends_with(".so"))
        .filter(|f| !skip.contains(&f.as_str()) && !first.contains(&f.as_str()))
        .collect();
    rest.sort();
    first
        .iter()
        .map(|s| s.to_string())
        .filter(|f| Path::new("/usr/lib/apache2/modules").join(f).exists())
        .chain(rest)
        .collect()
}

/// Every directive of every loaded module, as `mod_info`'s `/server-info` lists them under
/// each module's source-file name: (name as the module spells it, module identifier).
fn server_info_directives(html: &str, modules: &BTreeSet<String>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for block in html.split("<dl><dt><a name=\"").skip(1) {
        let Some((source, rest)) = block.split_once('"') else {
            continue;
        };
        let id = modules
            .iter()
            .find(|id| htaccess::source_name(id) == source)
            .unwrap_or_else(|| panic!("no module identifier for {source}"));
        let rest = rest.split("<hr />").next().unwrap_or("");
        let Some((_, rest)) = rest.split_once("<strong>Module Directives:</strong>") else {
            continue;
        };
        let rest = rest
            .split("<strong>Current Configuration:")
            .next()
            .unwrap_or("");
        for dd in rest.split("<dd><tt>").skip(1) {
            let name = dd.split(" - ").next().unwrap_or("").trim();
            let name = name.replace("&lt;", "<").replace("&gt;", ">");
            let name = name.strip_suffix('>').unwrap_or(&name).to_string();
            if !name.is_empty() && !name[1..].contains('<') {
                out.push((name, id.clone()));
            }
        }
    }
    out
}

/// The `.htaccess` facts of every directive of every Debian module, probed on the real
/// server (all modules loaded into one `mpm_event` Apache, directive names from `mod_info`):
/// each directive is written alone into an `.htaccess` under `AllowOverride All` and under
/// each single class, and Apache's answer says whether it got past the context and override
/// checks (`X not allowed here` / `... context` means it did not; an argument error means it
/// did). Directives that pass are tried again with one, two and three arguments, for the few
/// that refuse `.htaccess` themselves (`X cannot occur within htaccess files`).
///
/// Each directive's argument count is read from what Apache says when it gets none.
///
/// The table must agree, for every module loaded here (so this fails on an Apache whose
/// modules differ from the one the table was observed on, listed at the top of
/// `observed.tsv`: regenerate then). `FIVEHUNDRED_OBSERVED_TSV=path` writes the observations
/// in the form `src/doctor/htaccess/gen_directives.py` reads (`observed.tsv` beside it).
#[test]
fn directive_table_agrees_with_apache() {
    if skip() {
        return;
    }
    // Every Debian module but mod_php under mpm_event; then mpm_prefork with mod_php.
    let mut all = ApacheOptions::new().name("allmods");
    for file in loadable_modules() {
        let id = format!("{}_module", &file[4..file.len() - 3]);
        all = all.server(&format!("LoadModule {id} /usr/lib/apache2/modules/{file}"));
    }
    let php = ApacheOptions::new()
        .name("modphp")
        .mod_php()
        .server("LoadModule info_module /usr/lib/apache2/modules/mod_info.so");
    let mut observed = BTreeSet::new();
    let mut probed = BTreeSet::new();
    let mut mismatches = BTreeSet::new();
    for opts in [all, php] {
        let (o, p, m) = probe_server(opts);
        observed.extend(o);
        probed.extend(p);
        mismatches.extend(m);
    }
    if let Ok(path) = std::env::var("FIVEHUNDRED_OBSERVED_TSV") {
        let version = Command::new("apache2").arg("-v").output().unwrap().stdout;
        let version = String::from_utf8_lossy(&version);
        let version = version.lines().next().unwrap_or("");
        let version = version.trim().trim_start_matches("Server version: ");
        let mut text = format!(
            "# Observed on {version} by tests/lab_htaccess.rs (directive_table_agrees_with_apache).\n# modules: {}\n",
            probed.iter().cloned().collect::<Vec<String>>().join(" ")
        );
        text.push_str("#name\tmodule\thtaccess\toverride\targs\tusage\n");
        let mut rows: Vec<&String> = observed.iter().collect();
        rows.sort_by_key(|row| row.to_ascii_lowercase());
        for row in rows {
            text.push_str(row);
            text.push('\n');
        }
        std::fs::write(&path, text).expect("write observed");
    }
    let mismatches: Vec<String> = mismatches.into_iter().collect();
    assert!(mismatches.is_empty(), "\n{}", mismatches.join("\n"));
}

/// The argument count a directive takes, from what Apache says when it is given none (the
/// message it also gives for too many): `flag` (On or Off), `1`, `2`, `3`, `1-2`, `2-3`,
/// `1-3`, `1,3`, `1+`, `2+`; None when its own code checks its arguments.
fn arity(name: &str, message: &str) -> Option<&'static str> {
    if name.starts_with('<') {
        return None;
    }
    let rest = message.strip_prefix(name)?;
    let kinds = [
        (" must be On or Off", "flag"),
        (" takes one argument", "1"),
        (" takes two arguments", "2"),
        (" takes three arguments", "3"),
        (" takes 1-2 arguments", "1-2"),
        (" takes one or two arguments", "1-2"),
        (" takes two or three arguments", "2-3"),
        (" takes one, two or three arguments", "1-3"),
        (" takes one or three arguments", "1,3"),
        (" requires at least one argument", "1+"),
        (" requires at least two arguments", "2+"),
    ];
    kinds
        .iter()
        .find(|(m, _)| rest == *m || rest.starts_with(&format!("{m},")))
        .map(|(_, k)| *k)
}

/// Probes one server (see [`directive_table_agrees_with_apache`]): (observed rows, the
/// modules probed, disagreements with the table).
fn probe_server(opts: ApacheOptions) -> (Vec<String>, BTreeSet<String>, Vec<String>) {
    let lab = Lab::new();
    let root = lab.path("www");
    let mut opts = opts;
    let classes = ["AuthConfig", "FileInfo", "Indexes", "Limit", "Options"];
    for class in classes {
        opts = opts.server(&format!(
            "<Directory {}/{class}>\n  AllowOverride {class}\n</Directory>",
            root.display()
        ));
    }
    let opts = opts.server("<Location /server-info>\n  SetHandler server-info\n</Location>");
    let name = opts.name.clone();
    let server = opts.start(&lab);
    let modules = loaded_modules(&server.conf);
    let info = fetch(server.port, "GET", "/server-info", "localhost", b"").body;
    let directives = server_info_directives(&info, &modules);
    assert!(
        directives.len() > 100,
        "mod_info listed {}",
        directives.len()
    );

    // Probe files: one directory per directive and AllowOverride, plus the argument tries.
    let tries = ["", " On", " x y", " x y z"];
    let dirs: Vec<String> = std::iter::once("all".to_string())
        .chain(classes.iter().map(|c| c.to_string()))
        .chain((1..tries.len()).map(|k| format!("args{k}")))
        .collect();
    for (i, (name, _)) in directives.iter().enumerate() {
        for dir in &dirs {
            let args = dir
                .strip_prefix("args")
                .map_or("", |k| tries[k.parse::<usize>().unwrap()]);
            let text = match name.strip_prefix('<') {
                Some(bare)
                    if bare.eq_ignore_ascii_case("If") || bare.eq_ignore_ascii_case("ElseIf") =>
                {
                    format!("{name} \"true\">\n</{bare}>\n")
                }
                Some(bare) => format!("{name} x{args}>\n</{bare}>\n"),
                None => format!("{name}{args}\n"),
            };
            lab.write(&format!("www/{dir}/{i}/.htaccess"), &text);
        }
    }
    let probe = |dir: &str, i: usize| -> String {
        let status = get(server.port, &format!("/{dir}/{i}/"));
        if status != 500 {
            return String::new();
        }
        // A 500 from the request itself (not the .htaccess) logs no such line.
        let key = format!("{dir}/{i}");
        let start = std::time::Instant::now();
        loop {
            if let Some(m) = logged_message(&server.error_log, &key) {
                return m;
            }
            if start.elapsed() > std::time::Duration::from_secs(1) {
                return "500 without an .htaccess line".to_string();
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    let refused =
        |m: &str| m.contains(" not allowed ") || m.contains("cannot occur within htaccess");

    let mut observed = Vec::new();
    let mut mismatches = Vec::new();
    for (i, (name, id)) in directives.iter().enumerate() {
        let all = probe("all", i);
        if all.starts_with("Invalid command") {
            mismatches.push(format!("{name} ({id}): listed by mod_info but {all:?}"));
            continue;
        }
        let mut htaccess = !refused(&all);
        if htaccess {
            for k in 1..tries.len() {
                if refused(&probe(&format!("args{k}"), i)) {
                    htaccess = false;
                }
            }
        }
        let granted: Vec<&str> = classes
            .iter()
            .copied()
            .filter(|c| htaccess && !refused(&probe(c, i)))
            .collect();
        let overrides = if !htaccess || granted.is_empty() {
            "-".to_string()
        } else if granted.len() == classes.len() {
            "All".to_string()
        } else {
            granted.join(",")
        };
        let yes = if htaccess { "yes" } else { "no" };
        let (args, usage) = match arity(name, &all) {
            Some(args) if htaccess => (args, all.as_str()),
            _ => ("-", ""),
        };
        observed.push(format!("{name}\t{id}\t{yes}\t{overrides}\t{args}\t{usage}"));
        let row = htaccess::lookup(name).iter().find(|d| d.module == id);
        match row {
            None => mismatches.push(format!(
                "{name}\t{id}\t{yes}\t{overrides}\t(not in the table)"
            )),
            Some(d)
                if d.htaccess != htaccess
                    || (htaccess && d.overrides != overrides)
                    || d.args != args
                    || d.usage != usage =>
            {
                mismatches.push(format!(
                    "{name}\t{id}\t{yes}\t{overrides}\t{args}\t(table: {} {} {}; {all:?})",
                    d.htaccess, d.overrides, d.args
                ))
            }
            Some(_) => {}
        }
    }
    // Rows the table has for these modules that the server does not define.
    // Every loaded module was probed, those without a directive too.
    let probed: BTreeSet<&str> = modules.iter().map(String::as_str).collect();
    let table = include_str!("../src/doctor/htaccess/directives.tsv");
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let mut f = line.split('\t');
        let (name, id) = (f.next().unwrap(), f.next().unwrap_or(""));
        if probed.contains(id)
            && !directives
                .iter()
                .any(|(n, m)| m == id && n.eq_ignore_ascii_case(name))
        {
            mismatches.push(format!("{name}\t{id}\t(in the table, not in the server)"));
        }
    }
    eprintln!("{name}: {} directives probed", directives.len());
    let probed = probed.into_iter().map(str::to_string).collect();
    (observed, probed, mismatches)
}
