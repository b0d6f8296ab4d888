//! nginx from Debian (`nginx-light`), started in the foreground as root with `user www-data;`,
//! one server on a free 127.0.0.1 port, the `combined` access log and an error log, and a PHP
//! location passing to a PHP-FPM socket (the usual Debian `snippets/fastcgi-php.conf` shape).

use super::{Lab, WebFiles, WebServer};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// Server configuration, builder style: `NginxOptions::new().fastcgi(&fpm).start(&lab)`.
#[derive(Debug, Clone)]
pub struct NginxOptions {
    pub name: String,
    /// `fastcgi_pass` target (e.g. `unix:/.../php-fpm.sock`); None: no PHP location.
    pub fastcgi_pass: Option<String>,
    /// `error_log` level: `error` (Debian's default) or `warn`.
    pub error_level: String,
    /// Document root, relative to the lab dir.
    pub root: String,
    /// Raw directives inside `server {}` (before the default locations).
    pub server_extra: Vec<String>,
    /// Raw directives inside `http {}`.
    pub http_extra: Vec<String>,
    /// Raw directives inside the PHP location (`fastcgi_read_timeout 1s;`).
    pub php_extra: Vec<String>,
    /// Replace the default `location / { try_files $uri $uri/ =404; }`.
    pub default_location: Option<String>,
    /// Also `listen [::1]:PORT` (the same port as on 127.0.0.1).
    pub ipv6_loopback: bool,
    /// A PHP script (relative to the document root) that answers `/robots.txt` through the
    /// `fastcgi_pass` target, as sites that generate it do.
    pub robots_php: Option<String>,
}

impl Default for NginxOptions {
    fn default() -> Self {
        NginxOptions {
            name: "nginx".into(),
            fastcgi_pass: None,
            error_level: "error".into(),
            root: "www".into(),
            server_extra: Vec::new(),
            http_extra: Vec::new(),
            php_extra: Vec::new(),
            default_location: None,
            ipv6_loopback: false,
            robots_php: None,
        }
    }
}

impl NginxOptions {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn name(mut self, n: &str) -> Self {
        self.name = n.into();
        self
    }
    /// Pass `\.php$` to this PHP-FPM.
    pub fn fastcgi(mut self, fpm: &super::php_fpm::Fpm) -> Self {
        self.fastcgi_pass = Some(fpm.fastcgi_pass());
        self
    }
    pub fn fastcgi_pass(mut self, target: &str) -> Self {
        self.fastcgi_pass = Some(target.into());
        self
    }
    pub fn error_level(mut self, level: &str) -> Self {
        self.error_level = level.into();
        self
    }
    pub fn root(mut self, rel: &str) -> Self {
        self.root = rel.into();
        self
    }
    pub fn server(mut self, directive: &str) -> Self {
        self.server_extra.push(directive.into());
        self
    }
    pub fn http(mut self, directive: &str) -> Self {
        self.http_extra.push(directive.into());
        self
    }
    pub fn php(mut self, directive: &str) -> Self {
        self.php_extra.push(directive.into());
        self
    }
    pub fn default_location(mut self, block: &str) -> Self {
        self.default_location = Some(block.into());
        self
    }
    /// Buffers request bodies in `dir` (a full tmpfs in the disk_full faults), up to 10 MB.
    pub fn body_temp(self, dir: &Path) -> Self {
        self.server(&format!("client_body_temp_path {};", dir.display()))
            .server("client_max_body_size 10m;")
    }
    /// `/loop` rewrites to itself: 500, "rewrite or internal redirection cycle".
    pub fn rewrite_loop(self) -> Self {
        self.server("location /loop { rewrite ^ /loop last; }")
    }
    /// `/limited` allows one request a minute per client (`limit_req`): the rest get 503,
    /// "limiting requests, excess: …".
    pub fn rate_limit(self) -> Self {
        self.http("limit_req_zone $binary_remote_addr zone=lab:1m rate=1r/m;")
            .server("location = /limited { limit_req zone=lab; try_files /index.html =404; }")
    }
    /// `/app/...` falls back to `/app/` with try_files, which falls back to itself: the same.
    pub fn try_files_loop(self) -> Self {
        self.server("location /app/ { try_files $uri /app/; }")
    }
    /// Listens on `[::1]` too, same port (check [`super::ipv6_loopback`] first).
    pub fn listen_ipv6_loopback(mut self) -> Self {
        self.ipv6_loopback = true;
        self
    }
    /// `/robots.txt` is answered by the PHP script `script` (under the document root) through
    /// PHP-FPM: 502 when FPM is gone. Needs a `fastcgi_pass` target.
    pub fn robots_txt_php(mut self, script: &str) -> Self {
        self.robots_php = Some(script.into());
        self
    }
    pub fn start(self, lab: &Lab) -> Nginx {
        let n = &self.name;
        let prefix = lab.mkdir(n);
        WebServer::start(
            lab,
            n,
            &self.root,
            None,
            |f| render_conf(lab, &self, f),
            |conf| command(&prefix, conf),
        )
    }
}

/// What every lab nginx's `http` block has: MIME types and its temp paths under the lab
/// (`tmp` gives the path of each).
pub fn http_basics(c: &mut String, tmp: &dyn Fn(&str) -> String) {
    writeln!(
        c,
        "  include /etc/nginx/mime.types;\n  default_type application/octet-stream;"
    )
    .unwrap();
    for (d, w) in [
        ("client_body_temp_path", "body"),
        ("fastcgi_temp_path", "fastcgi"),
        ("proxy_temp_path", "proxy"),
        ("scgi_temp_path", "scgi"),
        ("uwsgi_temp_path", "uwsgi"),
    ] {
        writeln!(c, "  {d} {};", tmp(w)).unwrap();
    }
}

/// nginx in the foreground with its prefix and config in the lab.
pub fn command(prefix: &Path, conf: &Path) -> Command {
    let mut c = Command::new("nginx");
    c.arg("-p")
        .arg(prefix)
        .arg("-c")
        .arg(conf)
        .arg("-g")
        .arg("daemon off;");
    c
}

/// A running nginx master (+ one worker as www-data).
pub type Nginx = WebServer;

fn render_conf(lab: &Lab, o: &NginxOptions, f: &WebFiles) -> String {
    let (port, root) = (f.port, &f.root);
    let n = &o.name;
    let tmp = |what: &str| lab.path(&format!("{n}/tmp/{what}")).display().to_string();
    lab.mkdir(&format!("{n}/tmp"));
    let mut c = String::new();
    writeln!(c, "user www-data;\nworker_processes 1;").unwrap();
    writeln!(c, "pid {};", lab.path(&format!("run/{n}.pid")).display()).unwrap();
    lab.mkdir("run");
    writeln!(c, "error_log {} {};", f.error_log.display(), o.error_level).unwrap();
    writeln!(c, "events {{ worker_connections 512; }}").unwrap();
    writeln!(c, "http {{").unwrap();
    writeln!(c, "  access_log {} combined;", f.access_log.display()).unwrap();
    // A server directive for client_body_temp_path overrides the one written here.
    http_basics(&mut c, &tmp);
    for d in &o.http_extra {
        writeln!(c, "  {d}").unwrap();
    }
    writeln!(c, "  server {{").unwrap();
    writeln!(
        c,
        "    listen 127.0.0.1:{port};\n    server_name localhost;"
    )
    .unwrap();
    if o.ipv6_loopback {
        writeln!(c, "    listen [::1]:{port};").unwrap();
    }
    writeln!(
        c,
        "    root {};\n    index index.php index.html;",
        root.display()
    )
    .unwrap();
    for d in &o.server_extra {
        writeln!(c, "    {d}").unwrap();
    }
    let default_loc = o
        .default_location
        .clone()
        .unwrap_or_else(|| "location / { try_files $uri $uri/ =404; }".into());
    writeln!(c, "    {default_loc}").unwrap();
    if let Some(script) = &o.robots_php {
        let pass = (o.fastcgi_pass.as_ref()).expect("robots_txt_php needs a fastcgi_pass target");
        // fastcgi_params, not fastcgi.conf: SCRIPT_FILENAME is set once, to the script.
        writeln!(
            c,
            "    location = /robots.txt {{ include /etc/nginx/fastcgi_params; \
             fastcgi_param SCRIPT_FILENAME $document_root/{script}; fastcgi_pass {pass}; }}"
        )
        .unwrap();
    }
    if let Some(pass) = &o.fastcgi_pass {
        writeln!(c, "    location ~ \\.php$ {{").unwrap();
        // Debian's snippets/fastcgi-php.conf, inlined.
        writeln!(c, "      fastcgi_split_path_info ^(.+?\\.php)(/.*)$;").unwrap();
        writeln!(c, "      try_files $fastcgi_script_name =404;").unwrap();
        writeln!(c, "      set $path_info $fastcgi_path_info;").unwrap();
        writeln!(c, "      fastcgi_param PATH_INFO $path_info;").unwrap();
        writeln!(c, "      fastcgi_index index.php;").unwrap();
        writeln!(c, "      include /etc/nginx/fastcgi.conf;").unwrap();
        for d in &o.php_extra {
            writeln!(c, "      {d}").unwrap();
        }
        writeln!(c, "      fastcgi_pass {pass};").unwrap();
        writeln!(c, "    }}").unwrap();
    }
    writeln!(c, "  }}\n}}").unwrap();
    c
}
