//! nginx and Apache (`mod_proxy_fcgi`) serving several name-based virtual hosts on one port,
//! each with its own document root and its own PHP-FPM pool, laid out and logging the way
//! Debian's packages do: logs under `log/nginx/` and `log/apache2/`, one access log per server
//! that carries the host, one error log per server at Debian's default level.
//!
//! - nginx: `error_log ... error;`, the access log in a `log_format` of the `vhost_combined`
//!   shape (`$host:$server_port $remote_addr - $remote_user [$time_local] "$request" ...`),
//!   Debian's `snippets/fastcgi-php.conf` inlined in each server's PHP location.
//! - Apache: `mpm_event`, `LogLevel warn`, one `ErrorLog` and one `CustomLog ... vhost_combined`
//!   for every vhost (Debian's `other_vhosts_access.log` shape), `.php` handed to the vhost's
//!   pool with `SetHandler "proxy:unix:SOCK|fcgi://localhost"` as Debian's `php8.2-fpm.conf`
//!   does.
//!
//! Include it with `#[path = "lab/vhosts.rs"] mod vhosts;` next to `mod lab;` (it uses
//! `crate::lab`).
#![allow(dead_code)]

use crate::lab::{Lab, WebServer};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One name-based virtual host.
#[derive(Debug, Clone)]
pub struct Vhost {
    /// `server_name` / `ServerName`, e.g. `shop.test`.
    pub name: String,
    /// Document root, relative to the lab dir.
    pub root: String,
    /// The PHP-FPM pool's target, `unix:/path.sock` (`Fpm::pool_fastcgi_pass`).
    pub fastcgi_pass: String,
    /// Seconds the server waits for PHP before it gives up (nginx `fastcgi_read_timeout`,
    /// Apache `ProxyTimeout` in the vhost); None: the servers' defaults (nginx 60 s, Apache its
    /// `Timeout`, here 30 s).
    pub php_timeout: Option<u32>,
}

impl Vhost {
    pub fn new(name: &str, root: &str, fastcgi_pass: &str) -> Vhost {
        Vhost {
            name: name.into(),
            root: root.into(),
            fastcgi_pass: fastcgi_pass.into(),
            php_timeout: None,
        }
    }

    pub fn php_timeout(mut self, secs: u32) -> Vhost {
        self.php_timeout = Some(secs);
        self
    }
}

/// nginx's access-log format: Apache's `vhost_combined` written with nginx's variables.
pub const NGINX_VHOST_FORMAT: &str = "$host:$server_port $remote_addr - $remote_user [$time_local] \
     \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"";

/// Starts nginx (master as root, `worker_processes auto` as www-data) with one `server` per
/// vhost on one 127.0.0.1 port (the first is the default server); logs in `log/nginx/`.
pub fn nginx(lab: &Lab, vhosts: &[Vhost]) -> WebServer {
    let logdir = lab.mkdir("log/nginx");
    let (access, error) = (logdir.join("access.log"), logdir.join("error.log"));
    let prefix = lab.mkdir("nginx");
    lab.mkdir("nginx/tmp");
    lab.mkdir("run");
    let mut server = WebServer::start(
        lab,
        "nginx",
        "www",
        None,
        |f| render_nginx(lab, vhosts, f.port, &access, &error),
        |conf| crate::lab::nginx::command(&prefix, conf),
    );
    server.access_log = access;
    server.error_log = error;
    server
}

fn render_nginx(lab: &Lab, vhosts: &[Vhost], port: u16, access: &Path, error: &Path) -> String {
    let tmp = |what: &str| lab.path(&format!("nginx/tmp/{what}")).display().to_string();
    let mut c = String::new();
    writeln!(c, "user www-data;\nworker_processes auto;").unwrap();
    writeln!(c, "pid {};", lab.path("run/nginx.pid").display()).unwrap();
    writeln!(c, "error_log {} error;", error.display()).unwrap();
    writeln!(c, "events {{ worker_connections 512; }}").unwrap();
    writeln!(c, "http {{").unwrap();
    writeln!(c, "  log_format vhosts '{NGINX_VHOST_FORMAT}';").unwrap();
    writeln!(c, "  access_log {} vhosts;", access.display()).unwrap();
    crate::lab::nginx::http_basics(&mut c, &tmp);
    for (i, v) in vhosts.iter().enumerate() {
        let default = if i == 0 { " default_server" } else { "" };
        writeln!(c, "  server {{").unwrap();
        writeln!(c, "    listen 127.0.0.1:{port}{default};").unwrap();
        writeln!(c, "    server_name {};", v.name).unwrap();
        writeln!(c, "    root {};", lab.path(&v.root).display()).unwrap();
        writeln!(c, "    index index.php index.html;").unwrap();
        writeln!(c, "    location / {{ try_files $uri $uri/ =404; }}").unwrap();
        writeln!(c, "    location ~ \\.php$ {{").unwrap();
        // Debian's snippets/fastcgi-php.conf, inlined.
        writeln!(c, "      fastcgi_split_path_info ^(.+?\\.php)(/.*)$;").unwrap();
        writeln!(c, "      try_files $fastcgi_script_name =404;").unwrap();
        writeln!(c, "      set $path_info $fastcgi_path_info;").unwrap();
        writeln!(c, "      fastcgi_param PATH_INFO $path_info;").unwrap();
        writeln!(c, "      fastcgi_index index.php;").unwrap();
        writeln!(c, "      include /etc/nginx/fastcgi.conf;").unwrap();
        if let Some(t) = v.php_timeout {
            writeln!(c, "      fastcgi_read_timeout {t}s;").unwrap();
        }
        writeln!(c, "      fastcgi_pass {};", v.fastcgi_pass).unwrap();
        writeln!(c, "    }}\n  }}").unwrap();
    }
    writeln!(c, "}}").unwrap();
    c
}

const MODULES: &str = "/usr/lib/apache2/modules";

/// Starts Apache 2.4 (`mpm_event`, children as www-data) with one `<VirtualHost>` per vhost on
/// one 127.0.0.1 port (the first is the default); logs in `log/apache2/`.
pub fn apache(lab: &Lab, vhosts: &[Vhost]) -> WebServer {
    let logdir = lab.mkdir("log/apache2");
    let (access, error) = (logdir.join("access.log"), logdir.join("error.log"));
    let server_root = lab.mkdir("apache2");
    let run = lab.mkdir("apache2/run");
    let mut server = WebServer::start(
        lab,
        "apache2",
        "www",
        None,
        |f| render_apache(lab, vhosts, f.port, &server_root, &run, &access, &error),
        |conf| {
            let mut c = Command::new("apache2");
            c.arg("-DFOREGROUND").arg("-f").arg(conf);
            c
        },
    );
    server.access_log = access;
    server.error_log = error;
    server
}

fn render_apache(
    lab: &Lab,
    vhosts: &[Vhost],
    port: u16,
    server_root: &Path,
    run: &Path,
    access: &Path,
    error: &Path,
) -> String {
    let mut c = String::new();
    writeln!(c, "ServerRoot {}", server_root.display()).unwrap();
    writeln!(c, "PidFile {}/httpd.pid", run.display()).unwrap();
    writeln!(c, "Mutex file:{} default", run.display()).unwrap();
    writeln!(c, "DefaultRuntimeDir {}", run.display()).unwrap();
    writeln!(c, "ServerName localhost\nListen 127.0.0.1:{port}").unwrap();
    writeln!(c, "User www-data\nGroup www-data\nTimeout 30").unwrap();
    for (m, file) in [
        ("mpm_event", "mod_mpm_event.so"),
        ("authz_core", "mod_authz_core.so"),
        ("mime", "mod_mime.so"),
        ("dir", "mod_dir.so"),
        ("proxy", "mod_proxy.so"),
        ("proxy_fcgi", "mod_proxy_fcgi.so"),
    ] {
        writeln!(c, "LoadModule {m}_module {MODULES}/{file}").unwrap();
    }
    // Enough threads for the lab's concurrent clients and bursts: the fault is FPM's pool,
    // not Apache's.
    writeln!(
        c,
        "StartServers 1\nServerLimit 2\nThreadsPerChild 32\nMaxRequestWorkers 64\n\
         MinSpareThreads 10\nMaxSpareThreads 64"
    )
    .unwrap();
    writeln!(
        c,
        "TypesConfig /etc/mime.types\nDirectoryIndex index.php index.html"
    )
    .unwrap();
    writeln!(c, "ErrorLog {}\nLogLevel warn", error.display()).unwrap();
    // Debian's apache2.conf definition, verbatim.
    writeln!(
        c,
        "LogFormat \"%v:%p %h %l %u %t \\\"%r\\\" %>s %O \\\"%{{Referer}}i\\\" \\\"%{{User-Agent}}i\\\"\" vhost_combined"
    )
    .unwrap();
    writeln!(c, "CustomLog {} vhost_combined", access.display()).unwrap();
    for v in vhosts {
        let root: PathBuf = lab.path(&v.root);
        writeln!(c, "<VirtualHost 127.0.0.1:{port}>").unwrap();
        writeln!(c, "  ServerName {}", v.name).unwrap();
        writeln!(c, "  DocumentRoot {}", root.display()).unwrap();
        writeln!(
            c,
            "  <Directory {}>\n    Options FollowSymLinks\n    AllowOverride None\n    Require all granted\n  </Directory>",
            root.display()
        )
        .unwrap();
        writeln!(
            c,
            "  <FilesMatch \"\\.php$\">\n    SetHandler \"proxy:{}|fcgi://localhost\"\n  </FilesMatch>",
            v.fastcgi_pass
        )
        .unwrap();
        if let Some(t) = v.php_timeout {
            writeln!(c, "  ProxyTimeout {t}").unwrap();
        }
        writeln!(c, "</VirtualHost>").unwrap();
    }
    c
}
