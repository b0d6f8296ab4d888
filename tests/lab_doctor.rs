//! `fivehundred doctor` on real servers: nginx, Apache (proxy_fcgi) and PHP-FPM from Debian's
//! packages serving one document root, and MariaDB named in the pool's `env[DB_HOST]`, all
//! with their configs in a temp dir that is its own tmpfs (so free space is the lab's, not the
//! machine's). Each condition that causes 500s is introduced for real (and shown to be real
//! where a request can show it), and doctor must flag exactly those; the clean setup must
//! give no warning at all.
//!
//! `FIVEHUNDRED_DOCTOR_SHOW=1` prints doctor's text output (docs/doctor.md's examples).
#[path = "lab/db.rs"]
mod db;
mod lab;

use db::{Db, DbOptions};
use lab::apache::{Apache, ApacheOptions};
use lab::nginx::{Nginx, NginxOptions};
use lab::php_fpm::{Fpm, FpmOptions};
use lab::*;
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::Command;

/// A site: one document root served by nginx and Apache, PHP through one FPM pool.
struct Site {
    lab: Lab,
    nginx: Nginx,
    apache: Apache,
    fpm: Fpm,
    db: Db,
}

/// A valid `.htaccess`: modules that are loaded, one that is not but guarded by `<IfModule>`.
const GOOD_HTACCESS: &str = "RewriteEngine On\nRewriteRule ^old$ index.php [L]\n<IfModule mod_headers.c>\n  Header set X-Frame-Options DENY\n</IfModule>\nDirectoryIndex index.php index.html\n";

impl Site {
    /// None where the lab cannot have its own tmpfs (the test is then skipped).
    fn start(admin_values: &[(&str, &str)]) -> Option<Site> {
        let lab = Lab::on_tmpfs("256m")?;
        lab.write("www/index.php", "<?php echo 'ok';\n");
        lab.write(
            "www/warn.php",
            "<?php echo $undefined_variable; echo 'done';\n",
        );
        lab.write("www/about.html", "<p>about</p>\n");
        lab.write("www/blog/.htaccess", GOOD_HTACCESS);
        lab.write("www/blog/index.html", "<p>blog</p>\n");
        lab.www_owned("www/uploads/");
        // Writes an upload the way frameworks do: a failure throws (500).
        lab.write(
            "www/write.php",
            "<?php $f = new SplFileObject(__DIR__ . '/uploads/' . uniqid() . '.txt', 'w'); echo 'saved';\n",
        );
        let sessions = lab.www_owned("sessions/");
        let tmp = lab.www_owned("phptmp/");
        let db = DbOptions::mariadb().start(&lab);
        let mut fpm = FpmOptions::new()
            .name("fpm")
            .admin_value("session.save_path", &sessions.display().to_string())
            .admin_value("upload_tmp_dir", &tmp.display().to_string())
            .pool_line("env[DB_HOST] = 127.0.0.1")
            .pool_line(&format!("env[DB_PORT] = {}", db.port));
        for (k, v) in admin_values {
            fpm = fpm.admin_value(k, v);
        }
        let fpm = fpm.start(&lab);
        let nginx = NginxOptions::new()
            .name("nginx")
            .root("www")
            .fastcgi(&fpm)
            .start(&lab);
        let apache = ApacheOptions::new()
            .name("apache")
            .root("www")
            .fcgi(&fpm)
            .start(&lab);
        assert_eq!(get(nginx.port, "/index.php"), 200);
        assert_eq!(get(apache.port, "/blog/"), 200);
        assert_eq!(get(nginx.port, "/write.php"), 200);
        Some(Site {
            lab,
            nginx,
            apache,
            fpm,
            db,
        })
    }

    /// doctor on this site's configs: (report, exit code, text output).
    fn doctor(&self) -> (Value, i32, String) {
        let flags = [
            ("--nginx-conf", &self.nginx.conf),
            ("--apache-conf", &self.apache.conf),
            ("--fpm-conf", &self.fpm.conf),
        ];
        let run = |format: &str| {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_fivehundred"));
            cmd.args(["doctor", "--format", format]);
            for (flag, file) in flags {
                cmd.arg(flag).arg(file);
            }
            // Only PATH: a DB_HOST in the test's own environment must not add a database.
            cmd.env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default());
            cmd.output().expect("run fivehundred doctor")
        };
        let json = run("json");
        let stderr = String::from_utf8_lossy(&json.stderr);
        let report: Value = serde_json::from_slice(&json.stdout)
            .unwrap_or_else(|e| panic!("doctor output is not JSON ({e}); stderr: {stderr}"));
        let text = String::from_utf8_lossy(&run("text").stdout).into_owned();
        if std::env::var_os("FIVEHUNDRED_DOCTOR_SHOW").is_some() {
            let shown = text.replace(&self.lab.dir.display().to_string(), "/srv/site");
            eprintln!("{shown}");
        }
        (report, json.status.code().expect("exit code"), text)
    }
}

/// `fivehundred doctor --format json ARGS…`: the report and the exit code.
fn doctor_json(args: &[&std::ffi::OsStr]) -> (Value, Option<i32>) {
    let out = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .args(["doctor", "--format", "json"])
        .args(args)
        .output()
        .expect("run fivehundred doctor");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor output is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (report, out.status.code())
}

/// (check, status, subject) of every finding that is not ok or skipped.
fn problems(report: &Value) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["status"] == "critical" || c["status"] == "warning")
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
            (s("check"), s("status"), s("subject"))
        })
        .collect();
    v.sort();
    v
}

fn find<'a>(report: &'a Value, check: &str, subject_ends: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["check"] == check
                && c["subject"]
                    .as_str()
                    .is_some_and(|s| s.ends_with(subject_ends))
        })
        .unwrap_or_else(|| panic!("no {check} finding for {subject_ends}: {}", pretty(report)))
}

#[test]
fn a_clean_setup_gives_no_warning_and_every_check_runs() {
    if skip_unless_root("doctor clean") {
        return;
    }
    let Some(site) = Site::start(&[]) else { return };
    let (report, code, text) = site.doctor();
    assert_eq!(problems(&report), [], "{}", pretty(&report));
    assert_eq!(code, 0, "{text}");
    assert_eq!(report["version"], 1);
    let checks: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["check"].as_str())
        .collect();
    for id in [
        "disk_space",
        "disk_inodes",
        "file_permissions",
        "htaccess_invalid",
        "php_display_errors",
        "php_log_errors",
        "php_memory_limit",
        "fpm_max_children",
        "server_config_syntax",
        "db_reachable",
    ] {
        assert!(
            checks.contains(&id),
            "{id} did not run: {}",
            pretty(&report)
        );
    }
    // Each of the three configs loaded, the database answered, the .htaccess was read.
    assert_eq!(
        checks
            .iter()
            .filter(|c| **c == "server_config_syntax")
            .count(),
        3
    );
    let db = find(
        &report,
        "db_reachable",
        &format!("127.0.0.1:{}", site.db.port),
    );
    assert_eq!(db["status"], "ok");
    let ht = find(&report, "htaccess_invalid", "/www");
    assert!(
        ht["detail"].as_str().unwrap().contains("1 .htaccess"),
        "{ht}"
    );
    assert!(text.starts_with("doctor: 0 critical, 0 warning,"), "{text}");
}

#[test]
fn each_condition_introduced_is_flagged_and_nothing_else() {
    if skip_unless_root("doctor broken") {
        return;
    }
    // display_errors on in the pool: PHP's warnings now reach visitors.
    let Some(mut site) = Site::start(&[("display_errors", "On")]) else {
        return;
    };
    let page = fetch(site.nginx.port, "GET", "/warn.php", "localhost", b"");
    assert!(
        page.body.contains("Undefined variable"),
        "display_errors is not really on: {}",
        page.body
    );

    // An unreadable file: nginx + FPM cannot serve it.
    site.lab.write("www/secret.php", "<?php echo 'secret';\n");
    site.lab.chmod("www/secret.php", 0o600);
    assert_ne!(get(site.nginx.port, "/secret.php"), 200);

    // Header without mod_headers: every request below answers 500.
    site.lab
        .write("www/shop/.htaccess", "Header set X-Frame-Options DENY\n");
    site.lab.write("www/shop/index.html", "<p>shop</p>\n");
    assert_eq!(get(site.apache.port, "/shop/"), 500);

    // The upload dir is handed to root: writing an upload fails.
    // (With display_errors on, PHP answers a fatal error with 200 and the message.)
    std::os::unix::fs::chown(site.lab.path("www/uploads"), Some(0), Some(0)).unwrap();
    let write = fetch(site.nginx.port, "GET", "/write.php", "localhost", b"");
    assert!(write.body.contains("Permission denied"), "{}", write.body);

    // The session dir becomes a tiny tmpfs, filled.
    let sessions = site
        .lab
        .mount_tmpfs("sessions", "1m")
        .expect("tmpfs for sessions");
    fill(&sessions.join("filler"));

    // The database stops.
    site.db.stop();

    let (report, code, text) = site.doctor();
    let www = site.lab.path("www");
    let expected = vec![
        (
            "db_reachable".to_owned(),
            "critical".to_owned(),
            format!("127.0.0.1:{}", site.db.port),
        ),
        (
            "disk_space".into(),
            "critical".into(),
            sessions.display().to_string(),
        ),
        (
            "file_permissions".into(),
            "critical".into(),
            www.join("secret.php").display().to_string(),
        ),
        (
            "file_permissions".into(),
            "warning".into(),
            www.join("uploads").display().to_string(),
        ),
        (
            "htaccess_invalid".into(),
            "critical".into(),
            format!("{}:1", www.join("shop/.htaccess").display()),
        ),
        (
            "php_display_errors".into(),
            "critical".into(),
            "pool www".into(),
        ),
    ];
    assert_eq!(problems(&report), expected, "{}", pretty(&report));
    assert_eq!(code, 1);
    let ht = find(&report, "htaccess_invalid", "shop/.htaccess:1");
    assert!(ht["fix"].as_str().unwrap().contains("headers"), "{ht}");
    // Read top-down: the count, then critical findings, each with its fix.
    assert!(text.starts_with("doctor: 5 critical, 1 warning,"), "{text}");
    assert!(
        text.lines()
            .nth(2)
            .is_some_and(|l| l.starts_with("CRITICAL")),
        "{text}"
    );
    assert_eq!(text.matches("\n  fix: ").count(), 6, "{text}");
}

/// Writes until the filesystem is full, then frees one block: "nearly full".
fn fill(p: &Path) {
    let mut f = std::fs::File::create(p).unwrap();
    let block = vec![b'x'; 4096];
    while f.write_all(&block).and_then(|()| f.sync_data()).is_ok() {}
    let len = f.metadata().unwrap().len();
    f.set_len(len.saturating_sub(4096)).unwrap();
}

#[test]
fn a_pool_that_reached_max_children_is_flagged_with_its_measured_workers() {
    if skip_unless_root("doctor max_children") {
        return;
    }
    let Some(lab) = Lab::on_tmpfs("128m") else {
        return;
    };
    lab.write("www/slow.php", "<?php usleep(1500000); echo 'slow';\n");
    let fpm = FpmOptions::new()
        .name("fpm")
        .pm("dynamic")
        .max_children(1)
        .start(&lab);
    let nginx = NginxOptions::new()
        .name("nginx")
        .root("www")
        .fastcgi(&fpm)
        .start(&lab);
    // FPM's process manager notices a full pool once a second: bursts until it says so.
    for _ in 0..10 {
        get_concurrent(nginx.port, "/slow.php", 3);
        if log_contains(&fpm.log, "reached pm.max_children") {
            break;
        }
    }
    assert!(
        log_contains(&fpm.log, "reached pm.max_children"),
        "FPM never reached its limit"
    );
    let (report, _) = doctor_json(&["--fpm-conf".as_ref(), fpm.conf.as_os_str()]);
    let f = find(&report, "fpm_max_children", "pool www");
    assert_eq!(f["status"], "warning", "{}", pretty(&report));
    let detail = f["detail"].as_str().unwrap();
    assert!(
        detail.contains("pm.max_children = 1 (1 worker measured"),
        "{detail}"
    );
    assert!(detail.contains("reached it"), "{detail}");
    assert!(
        f["fix"].as_str().unwrap().contains("Raise pm.max_children"),
        "{f}"
    );
}

#[test]
fn a_config_that_does_not_load_is_critical_with_the_servers_own_words() {
    let lab = Lab::new();
    let nginx = lab.write(
        "nginx.conf",
        &format!(
            "pid {};\nevents {{}}\nhttp {{ servr {{ listen 127.0.0.1:1; }} }}\n",
            lab.path("nginx.pid").display()
        ),
    );
    let apache = lab.write(
        "apache.conf",
        &format!(
            "ServerRoot {}\nLoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so\nListen 127.0.0.1:1\nFrobnicate on\n",
            lab.dir.display()
        ),
    );
    let fpm = lab.write(
        "fpm.conf",
        &format!(
            "[global]\nerror_log = {}\n[www]\nuser = www-data\nlisten = {}\npm = static\npm.max_children = lots\n",
            lab.path("fpm.log").display(),
            lab.path("fpm.sock").display()
        ),
    );
    let (report, code) = doctor_json(&[
        "--nginx-conf".as_ref(),
        nginx.as_os_str(),
        "--apache-conf".as_ref(),
        apache.as_os_str(),
        "--fpm-conf".as_ref(),
        fpm.as_os_str(),
    ]);
    for (file, words) in [
        ("nginx.conf", "unknown directive \"servr\""),
        ("apache.conf", "Frobnicate"),
        ("fpm.conf", "pm.max_children"),
    ] {
        let f = find(&report, "server_config_syntax", file);
        assert_eq!(f["status"], "critical", "{}", pretty(&report));
        assert!(f["detail"].as_str().unwrap().contains(words), "{f}");
    }
    assert_eq!(code, Some(1));
}

#[test]
fn a_missing_config_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .args(["doctor", "--fpm-conf", "/nonexistent/php-fpm.conf"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--fpm-conf /nonexistent/php-fpm.conf: no such file"),
        "{stderr}"
    );
}

#[test]
fn mod_php_settings_come_from_apaches_php_ini_and_its_php_admin_lines() {
    if skip_unless_root("doctor mod_php") {
        return;
    }
    let Some(lab) = Lab::on_tmpfs("64m") else {
        return;
    };
    lab.write(
        "www/warn.php",
        "<?php echo $undefined_variable; echo 'done';\n",
    );
    let sessions = lab.www_owned("sessions/");
    let tmp = lab.www_owned("phptmp/");
    let ini = lab.write(
        "phpini/php.ini",
        &format!(
            "log_errors = Off\nmemory_limit = 32M\nsession.save_path = \"{}\"\nupload_tmp_dir = \"{}\"\n",
            sessions.display(),
            tmp.display()
        ),
    );
    let apache = ApacheOptions::new()
        .name("apache")
        .root("www")
        .mod_php()
        .php_error_log(false)
        .php_admin_value("display_errors", "On")
        .server(&format!("PHPIniDir {}", lab.path("phpini").display()))
        .start(&lab);
    // Both faults are real: the warning reaches the visitor, and no log has it.
    let page = fetch(apache.port, "GET", "/warn.php", "localhost", b"");
    assert!(page.body.contains("Undefined variable"), "{}", page.body);
    apache.wait_access_lines(1);
    assert!(!log_contains(&apache.error_log, "Undefined variable"));

    // The php.ini is learnt from Apache's PHPIniDir.
    let (report, code) = doctor_json(&["--apache-conf".as_ref(), apache.conf.as_os_str()]);
    let mod_php =
        |check: &str, status: &str| (check.to_owned(), status.to_owned(), "mod_php".to_owned());
    assert_eq!(
        problems(&report),
        [
            mod_php("php_display_errors", "critical"),
            mod_php("php_log_errors", "warning"),
            mod_php("php_memory_limit", "warning"),
        ],
        "{}",
        pretty(&report)
    );
    assert_eq!(code, Some(1));
    let log = find(&report, "php_log_errors", "mod_php");
    assert!(
        log["detail"]
            .as_str()
            .unwrap()
            .contains(&ini.display().to_string()),
        "{log}"
    );

    // --php-ini names another one; Apache's php_admin_value still wins over it.
    let other = lab.write(
        "other/php.ini",
        &format!(
            "log_errors = On\nmemory_limit = 128M\nsession.save_path = \"{}\"\nupload_tmp_dir = \"{}\"\n",
            sessions.display(),
            tmp.display()
        ),
    );
    let (report, _) = doctor_json(&[
        "--apache-conf".as_ref(),
        apache.conf.as_os_str(),
        "--php-ini".as_ref(),
        other.as_os_str(),
    ]);
    assert_eq!(
        problems(&report),
        [mod_php("php_display_errors", "critical")],
        "{}",
        pretty(&report)
    );
}

#[test]
fn run_as_a_user_a_config_test_that_needs_root_is_skipped_not_critical() {
    if skip_unless_root("doctor as nobody") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let lab = Lab::new();
    lab.write("www/index.html", "<p>ok</p>\n");
    let nginx = NginxOptions::new().name("nginx").root("www").start(&lab);
    // A copy of the binary that `nobody` can run wherever the build dir is.
    let bin = lab.path("fivehundred");
    std::fs::copy(env!("CARGO_BIN_EXE_fivehundred"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new(&bin)
        .args(["doctor", "--format", "json", "--nginx-conf"])
        .arg(&nginx.conf)
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let f = find(&report, "server_config_syntax", "nginx.conf");
    assert_eq!(f["status"], "skipped", "{}", pretty(&report));
    assert!(
        f["detail"].as_str().unwrap().contains("run doctor as root"),
        "{f}"
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn an_inode_table_full_of_small_files_is_critical() {
    if skip_unless_root("doctor inodes") {
        return;
    }
    let Some(lab) = Lab::on_tmpfs("64m") else {
        return;
    };
    // PHP's upload dir on a filesystem with room for 16 files, all taken.
    let uploads = lab
        .mount_tmpfs_with("phptmp", "size=1m,nr_inodes=16")
        .expect("tmpfs for uploads");
    for n in 0.. {
        if std::fs::File::create(uploads.join(format!("sess_{n}"))).is_err() {
            break;
        }
    }
    assert!(std::fs::File::create(uploads.join("one-more")).is_err());
    let sessions = lab.www_owned("sessions/");
    let fpm = FpmOptions::new()
        .name("fpm")
        .admin_value("upload_tmp_dir", &uploads.display().to_string())
        .admin_value("session.save_path", &sessions.display().to_string())
        .start(&lab);
    let (report, code) = doctor_json(&["--fpm-conf".as_ref(), fpm.conf.as_os_str()]);
    assert_eq!(
        problems(&report),
        [(
            "disk_inodes".to_owned(),
            "critical".to_owned(),
            uploads.display().to_string()
        )],
        "{}",
        pretty(&report)
    );
    assert_eq!(code, Some(1));
}
