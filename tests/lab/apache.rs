//! Apache 2.4 from Debian (`apache2`), started in the foreground (`apache2 -DFOREGROUND -f
//! CONF`) from a config written here, never Debian's `apache2.conf`: its own ServerRoot,
//! PidFile, Mutex and DefaultRuntimeDir under the lab dir, the modules it needs loaded by
//! explicit `LoadModule` lines, children as `www-data`, one `Listen 127.0.0.1:PORT`, Debian's
//! `LogLevel warn`, `AllowOverride All` on the document root (so `.htaccess` faults are real).
//!
//! Two ways to run PHP, the two Debian offers:
//! - [`PhpHandler::ModPhp`]: `mpm_prefork` + `libphp8.2.so`; PHP runs inside the Apache child
//!   and its messages land in Apache's error log as `[php:error]` (or in a PHP `error_log`
//!   file, [`ApacheOptions::php_error_log`]). Debian's `/etc/php/8.2/apache2/php.ini` applies.
//! - [`PhpHandler::Fcgi`]: `mpm_event` + `mod_proxy_fcgi` to a PHP-FPM unix socket
//!   (`SetHandler "proxy:unix:SOCK|fcgi://localhost"`); PHP messages arrive over FastCGI stderr
//!   and Apache logs them as `AH01071: Got error 'PHP message: ...'`.
//!
//! Note: prefork's parent signals its whole process group when it stops; [`super::Daemon::spawn`]
//! gives every daemon its own group, which is what keeps it from killing the test binary.

use super::{Lab, WebFiles, WebServer};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

const MODULES: &str = "/usr/lib/apache2/modules";

/// How `.php` requests are handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhpHandler {
    /// No PHP at all (static files only), `mpm_event`.
    None,
    /// `mpm_prefork` + mod_php 8.2.
    ModPhp,
    /// `mpm_event` + `mod_proxy_fcgi` to this `unix:/path.sock` target (`Fpm::fastcgi_pass`).
    Fcgi(String),
}

/// The access-log format, by its Debian name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessFormat {
    /// `%h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"`
    Combined,
    /// `%v:%p ` + combined: Debian's `other_vhosts_access.log` format.
    VhostCombined,
}

impl AccessFormat {
    fn name(self) -> &'static str {
        match self {
            AccessFormat::Combined => "combined",
            AccessFormat::VhostCombined => "vhost_combined",
        }
    }
}

/// Server configuration, builder style:
/// `ApacheOptions::new().fcgi(&fpm).access_format(AccessFormat::VhostCombined).start(&lab)`.
#[derive(Debug, Clone)]
pub struct ApacheOptions {
    /// File-name stem for this instance's conf, logs and runtime files.
    pub name: String,
    pub php: PhpHandler,
    pub access_format: AccessFormat,
    /// `LogLevel` (Debian's default is `warn`).
    pub log_level: String,
    /// Document root, relative to the lab dir.
    pub root: String,
    /// `ProxyTimeout` in seconds (proxy_fcgi only); None: Apache's `Timeout` (here 30 s).
    pub proxy_timeout: Option<u32>,
    /// `php_admin_value NAME VALUE` lines (mod_php only; FPM takes its own).
    pub php_admin_values: Vec<(String, String)>,
    /// mod_php: send PHP's messages to `log/<name>-php-error.log` instead of Apache's log.
    pub php_error_log: bool,
    /// Raw directives at server level, after the defaults.
    pub server_extra: Vec<String>,
}

impl Default for ApacheOptions {
    fn default() -> Self {
        ApacheOptions {
            name: "apache".into(),
            php: PhpHandler::None,
            access_format: AccessFormat::Combined,
            log_level: "warn".into(),
            root: "www".into(),
            proxy_timeout: None,
            php_admin_values: Vec::new(),
            php_error_log: false,
            server_extra: Vec::new(),
        }
    }
}

impl ApacheOptions {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn name(mut self, n: &str) -> Self {
        self.name = n.into();
        self
    }
    pub fn mod_php(mut self) -> Self {
        self.php = PhpHandler::ModPhp;
        self
    }
    /// Hand `.php` to this PHP-FPM over `mod_proxy_fcgi`.
    pub fn fcgi(mut self, fpm: &super::php_fpm::Fpm) -> Self {
        self.php = PhpHandler::Fcgi(fpm.fastcgi_pass());
        self
    }
    pub fn access_format(mut self, f: AccessFormat) -> Self {
        self.access_format = f;
        self
    }
    pub fn log_level(mut self, level: &str) -> Self {
        self.log_level = level.into();
        self
    }
    pub fn root(mut self, rel: &str) -> Self {
        self.root = rel.into();
        self
    }
    pub fn proxy_timeout(mut self, secs: u32) -> Self {
        self.proxy_timeout = Some(secs);
        self
    }
    pub fn php_admin_value(mut self, key: &str, value: &str) -> Self {
        self.php_admin_values.push((key.into(), value.into()));
        self
    }
    pub fn php_error_log(mut self, on: bool) -> Self {
        self.php_error_log = on;
        self
    }
    pub fn server(mut self, directive: &str) -> Self {
        self.server_extra.push(directive.into());
        self
    }
    pub fn start(self, lab: &Lab) -> Apache {
        let n = &self.name;
        let php_error_log = (self.php_error_log && self.php == PhpHandler::ModPhp)
            .then(|| lab.www_owned(&format!("log/{n}-php-error.log")));
        let server_root = lab.mkdir(n);
        let run = lab.mkdir(&format!("{n}/run"));
        WebServer::start(
            lab,
            n,
            &self.root,
            php_error_log,
            |f| render_conf(&self, f, &server_root, &run),
            |conf| {
                let mut c = Command::new("apache2");
                c.arg("-DFOREGROUND").arg("-f").arg(conf);
                c
            },
        )
    }
}

/// A running Apache parent (children as www-data); its `php_error_log` is PHP's own
/// `error_log` file (mod_php with [`ApacheOptions::php_error_log`]).
pub type Apache = WebServer;

fn load(c: &mut String, module: &str, file: &str) {
    writeln!(c, "LoadModule {module}_module {MODULES}/{file}").unwrap();
}

/// The config; `server_root` and `run` hold the instance's runtime files.
fn render_conf(o: &ApacheOptions, f: &WebFiles, server_root: &Path, run: &Path) -> String {
    let mut c = String::new();
    writeln!(c, "ServerRoot {}", server_root.display()).unwrap();
    writeln!(c, "PidFile {}/httpd.pid", run.display()).unwrap();
    writeln!(c, "Mutex file:{} default", run.display()).unwrap();
    writeln!(c, "DefaultRuntimeDir {}", run.display()).unwrap();
    writeln!(c, "ServerName localhost\nListen 127.0.0.1:{}", f.port).unwrap();
    writeln!(c, "User www-data\nGroup www-data\nTimeout 30").unwrap();
    render_mpm_and_php(&mut c, o);
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
    writeln!(
        c,
        "ErrorLog {}\nLogLevel {}",
        f.error_log.display(),
        o.log_level
    )
    .unwrap();
    // Debian's apache2.conf definitions, verbatim.
    writeln!(
        c,
        "LogFormat \"%v:%p %h %l %u %t \\\"%r\\\" %>s %O \\\"%{{Referer}}i\\\" \\\"%{{User-Agent}}i\\\"\" vhost_combined"
    )
    .unwrap();
    writeln!(
        c,
        "LogFormat \"%h %l %u %t \\\"%r\\\" %>s %O \\\"%{{Referer}}i\\\" \\\"%{{User-Agent}}i\\\"\" combined"
    )
    .unwrap();
    writeln!(
        c,
        "CustomLog {} {}",
        f.access_log.display(),
        o.access_format.name()
    )
    .unwrap();
    writeln!(c, "DocumentRoot {}", f.root.display()).unwrap();
    writeln!(
        c,
        "<Directory {}>\n  Options FollowSymLinks\n  AllowOverride All\n  Require all granted\n</Directory>",
        f.root.display()
    )
    .unwrap();
    if let Some(p) = &f.php_error_log {
        writeln!(c, "php_admin_value error_log {}", p.display()).unwrap();
    }
    for d in &o.server_extra {
        writeln!(c, "{d}").unwrap();
    }
    c
}

/// The MPM, and the modules and handler that run PHP.
fn render_mpm_and_php(c: &mut String, o: &ApacheOptions) {
    match &o.php {
        PhpHandler::ModPhp => {
            load(c, "mpm_prefork", "mod_mpm_prefork.so");
            writeln!(
                c,
                "StartServers 2\nMinSpareServers 2\nMaxSpareServers 4\nMaxRequestWorkers 16"
            )
            .unwrap();
            load(c, "php", "libphp8.2.so");
            writeln!(
                c,
                "<FilesMatch \"\\.php$\">\n  SetHandler application/x-httpd-php\n</FilesMatch>"
            )
            .unwrap();
            for (k, v) in &o.php_admin_values {
                writeln!(c, "php_admin_value {k} {v}").unwrap();
            }
        }
        PhpHandler::Fcgi(target) => {
            render_event(c);
            load(c, "proxy", "mod_proxy.so");
            load(c, "proxy_fcgi", "mod_proxy_fcgi.so");
            if let Some(t) = o.proxy_timeout {
                writeln!(c, "ProxyTimeout {t}").unwrap();
            }
            writeln!(
                c,
                "<FilesMatch \"\\.php$\">\n  SetHandler \"proxy:{target}|fcgi://localhost\"\n</FilesMatch>"
            )
            .unwrap();
        }
        PhpHandler::None => render_event(c),
    }
}

/// Small but enough threads for the lab's concurrent bursts (a full thread pool is not a fault
/// this lab injects).
fn render_event(c: &mut String) {
    load(c, "mpm_event", "mod_mpm_event.so");
    writeln!(
        c,
        "StartServers 1\nServerLimit 2\nThreadsPerChild 25\nMaxRequestWorkers 50\nMinSpareThreads 10\nMaxSpareThreads 50"
    )
    .unwrap();
}
