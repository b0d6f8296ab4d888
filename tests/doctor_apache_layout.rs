//! The Apache layout against real Apache: Debian's shipped config as installed on this machine,
//! and the config the real-server lab runs Apache with (tests/lab/apache.rs), read through
//! `apache2 -f PATH -M`.

mod lab;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use fivehundred::doctor::layout::apache::{self, ApacheLayout};
use fivehundred::doctor::overrides::AllowOverride;
use lab::apache::ApacheOptions;

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
#[test]
fn the_config_the_lab_runs_through_apache2_m() {
    if program("apache2").is_none() || !Path::new(MODULES).join("libphp8.2.so").exists() {
        eprintln!("skipped: no apache2 binary with mod_php 8.2 here");
        return;
    }
    if lab::skip_unless_root("apache layout of the lab's config") {
        return;
    }
    let lab = lab::Lab::new();
    let apache = ApacheOptions::new()
        .name("apache")
        .root("www")
        .mod_php()
        .php_error_log(true)
        .php_admin_value("display_errors", "Off")
        .start(&lab);
    let conf = &apache.conf;
    let l = apache::discover(Some(conf))
        .unwrap()
        .expect("Apache is installed");
    assert_eq!(&l.conf, conf);
    assert_eq!(l.user.as_deref(), Some("www-data"));
    assert_eq!(l.group.as_deref(), Some("www-data"));
    assert_eq!(l.docroots.len(), 1);
    assert_eq!(l.docroots[0].path, apache.root);
    assert_eq!(l.docroots[0].server_name.as_deref(), Some("localhost"));
    let text = std::fs::read_to_string(conf).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("DocumentRoot"))
        .unwrap()
        + 1;
    assert_eq!(l.docroots[0].source, format!("{}:{line}", conf.display()));
    assert_eq!(l.allow_override_for(&apache.root), AllowOverride::All);
    assert_eq!(
        l.allow_override_for(&apache.root.join("sub/dir")),
        AllowOverride::All
    );
    assert_eq!(l.allow_override_for(&lab.dir), AllowOverride::None);
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
    let php_log = apache.php_error_log.clone().expect("PHP's error_log");
    let want: BTreeMap<String, String> = [
        ("display_errors", "Off".to_string()),
        ("error_log", php_log.display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(l.php_ini, want);
    assert_eq!(
        l.logs,
        vec![apache.error_log.clone(), apache.access_log.clone()]
    );
    assert!(l.fcgi_targets.is_empty());
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
