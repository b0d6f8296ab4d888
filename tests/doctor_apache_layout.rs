//! The Apache layout against real Apache: Debian's shipped config as installed on this machine,
//! and a standalone config of the shape the real-server lab writes (tests/lab/apache.rs),
//! read through `apache2 -f PATH -M` (which only parses: nothing is started).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use fivehundred::doctor::layout::apache::{self, ApacheLayout};
use fivehundred::doctor::overrides::AllowOverride;

const MODULES: &str = "/usr/lib/apache2/modules";

fn program(name: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/sbin", "/usr/local/sbin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

fn check_debian(l: &ApacheLayout) {
    assert_eq!(l.user.as_deref(), Some("www-data"));
    assert_eq!(l.group.as_deref(), Some("www-data"));
    for dir in ["/", "/var/www/"] {
        let rule = l
            .directories
            .iter()
            .find(|d| d.path == dir && !d.regex)
            .unwrap_or_else(|| panic!("no <Directory {dir}> in {:?}", l.directories));
        assert_eq!(rule.allow_override, AllowOverride::None, "{dir}");
    }
    for dir in ["/", "/etc", "/var/www", "/var/www/html", "/usr/share/doc"] {
        assert_eq!(l.allow_override_for(Path::new(dir)), AllowOverride::None);
    }
    assert!(!l.logs.is_empty());
    for log in &l.logs {
        assert!(log.starts_with("/var/log/apache2"), "{}", log.display());
    }
    assert!(
        l.logs
            .contains(&PathBuf::from("/var/log/apache2/error.log"))
    );
    assert!(l.modules.contains("core_module"), "{:?}", l.modules);
    assert!(l.modules.iter().any(|m| m.starts_with("mpm_")));
    if Path::new("/etc/apache2/sites-enabled/000-default.conf").exists() {
        let root = l
            .docroots
            .iter()
            .find(|d| d.path == Path::new("/var/www/html"))
            .unwrap_or_else(|| panic!("no /var/www/html in {:?}", l.docroots));
        assert!(
            root.source
                .starts_with("/etc/apache2/sites-enabled/000-default.conf:"),
            "{}",
            root.source
        );
        assert!(
            l.logs
                .contains(&PathBuf::from("/var/log/apache2/access.log"))
        );
    } else {
        eprintln!("note: no sites-enabled/000-default.conf here; its DocumentRoot not checked");
    }
}

#[test]
fn debian_shipped_config() {
    let conf = Path::new("/etc/apache2/apache2.conf");
    let Some(ctl) = program("apache2ctl") else {
        eprintln!("skipped: no apache2ctl (Debian's apache2 not installed)");
        return;
    };
    if !conf.exists() {
        eprintln!("skipped: no {}", conf.display());
        return;
    }
    let vars = apache::read_envvars(Path::new("/etc/apache2/envvars"));
    assert_eq!(
        vars.get("APACHE_LOG_DIR").map(String::as_str),
        Some("/var/log/apache2")
    );
    let out = Command::new(ctl).arg("-M").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let modules = apache::parse_modules(&String::from_utf8_lossy(&out.stdout));
    let parsed = apache::parse(conf, &vars, &modules).unwrap();
    check_debian(&parsed);
    if modules.contains("php_module") {
        assert!(parsed.has_mod_php());
    }

    // discover(None) finds the same installation.
    let found = apache::discover(None)
        .unwrap()
        .expect("Apache is installed");
    check_debian(&found);
    assert_eq!(found.conf, conf);
    assert_eq!(found.docroots, parsed.docroots);
    assert_eq!(found.directories, parsed.directories);
    assert_eq!(found.modules, parsed.modules);
    assert_eq!(found.logs, parsed.logs);
}

/// The config tests/lab/apache.rs `render_conf` writes for mod_php, with its paths.
fn lab_conf(server_root: &Path, run: &Path, root: &Path, logs: &Path) -> String {
    let mut c = String::new();
    let load = |c: &mut String, m: &str, file: &str| {
        writeln!(c, "LoadModule {m}_module {MODULES}/{file}").unwrap()
    };
    writeln!(c, "ServerRoot {}", server_root.display()).unwrap();
    writeln!(c, "PidFile {}/httpd.pid", run.display()).unwrap();
    writeln!(c, "Mutex file:{} default", run.display()).unwrap();
    writeln!(c, "DefaultRuntimeDir {}", run.display()).unwrap();
    writeln!(c, "ServerName localhost\nListen 127.0.0.1:18099").unwrap();
    writeln!(c, "User www-data\nGroup www-data\nTimeout 30").unwrap();
    load(&mut c, "mpm_prefork", "mod_mpm_prefork.so");
    writeln!(
        c,
        "StartServers 2\nMinSpareServers 2\nMaxSpareServers 4\nMaxRequestWorkers 16"
    )
    .unwrap();
    load(&mut c, "php", "libphp8.2.so");
    writeln!(
        c,
        "<FilesMatch \"\\.php$\">\n  SetHandler application/x-httpd-php\n</FilesMatch>"
    )
    .unwrap();
    writeln!(c, "php_admin_value display_errors Off").unwrap();
    for (m, file) in [
        ("authz_core", "mod_authz_core.so"),
        ("mime", "mod_mime.so"),
        ("dir", "mod_dir.so"),
        ("rewrite", "mod_rewrite.so"),
    ] {
        load(&mut c, m, file);
    }
    writeln!(
        c,
        "TypesConfig /etc/mime.types\nDirectoryIndex index.php index.html"
    )
    .unwrap();
    writeln!(c, "ErrorLog {}/error.log\nLogLevel warn", logs.display()).unwrap();
    writeln!(
        c,
        "LogFormat \"%h %l %u %t \\\"%r\\\" %>s %O \\\"%{{Referer}}i\\\" \\\"%{{User-Agent}}i\\\"\" combined"
    )
    .unwrap();
    writeln!(c, "CustomLog {}/access.log combined", logs.display()).unwrap();
    writeln!(c, "DocumentRoot {}", root.display()).unwrap();
    writeln!(
        c,
        "<Directory {}>\n  Options FollowSymLinks\n  AllowOverride All\n  Require all granted\n</Directory>",
        root.display()
    )
    .unwrap();
    writeln!(c, "php_admin_value error_log {}/php.log", logs.display()).unwrap();
    c
}

#[test]
fn lab_style_standalone_config_through_apache2_m() {
    if program("apache2").is_none() || !Path::new(MODULES).join("libphp8.2.so").exists() {
        eprintln!("skipped: no apache2 binary with mod_php 8.2 here");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (server_root, run, root, logs) = (
        dir.path().join("server"),
        dir.path().join("run"),
        dir.path().join("www"),
        dir.path().join("logs"),
    );
    for d in [&server_root, &run, &root, &logs] {
        std::fs::create_dir_all(d).unwrap();
    }
    let conf = server_root.join("httpd.conf");
    std::fs::write(&conf, lab_conf(&server_root, &run, &root, &logs)).unwrap();

    let l = apache::discover(Some(&conf))
        .unwrap()
        .expect("Apache is installed");
    assert_eq!(l.conf, conf);
    assert_eq!(l.user.as_deref(), Some("www-data"));
    assert_eq!(l.group.as_deref(), Some("www-data"));
    assert_eq!(l.docroots.len(), 1);
    assert_eq!(l.docroots[0].path, root);
    assert_eq!(l.docroots[0].server_name.as_deref(), Some("localhost"));
    assert_eq!(l.docroots[0].source, format!("{}:30", conf.display()));
    assert_eq!(l.allow_override_for(&root), AllowOverride::All);
    assert_eq!(
        l.allow_override_for(&root.join("sub/dir")),
        AllowOverride::All
    );
    assert_eq!(l.allow_override_for(dir.path()), AllowOverride::None);
    // core_module is never LoadModule'd: it is there because `apache2 -M` ran.
    for m in [
        "core_module",
        "php_module",
        "rewrite_module",
        "mpm_prefork_module",
    ] {
        assert!(l.modules.contains(m), "{m} not in {:?}", l.modules);
    }
    assert!(l.has_mod_php());
    let want: BTreeMap<String, String> = [
        ("display_errors", "Off".to_string()),
        ("error_log", format!("{}/php.log", logs.display())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(l.php_ini, want);
    assert_eq!(
        l.logs,
        vec![logs.join("error.log"), logs.join("access.log")]
    );
    assert!(l.fcgi_targets.is_empty());
    // -M only parsed: nothing was started, no pid file written.
    assert!(!run.join("httpd.pid").exists());
}

#[test]
fn config_apache_rejects_is_a_one_line_error() {
    if program("apache2").is_none() {
        eprintln!("skipped: no apache2 binary here");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("bad.conf");
    std::fs::write(
        &conf,
        format!(
            "ServerRoot {}\nLoadModule mpm_prefork_module {MODULES}/mod_mpm_prefork.so\n\
             NoSuchDirective on\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let e = apache::discover(Some(&conf)).unwrap_err().to_string();
    assert!(!e.contains('\n'), "{e}");
    assert!(e.contains("NoSuchDirective") && e.contains("line 3"), "{e}");

    let missing = dir.path().join("missing.conf");
    let e = apache::discover(Some(&missing)).unwrap_err().to_string();
    assert!(!e.contains('\n') && e.contains("missing.conf"), "{e}");
}
