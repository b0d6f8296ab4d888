//! PHP-FPM 8.2 from Debian, started in the foreground (`php-fpm8.2 -F -y CONF`) with one pool
//! listening on a unix socket in the lab dir, workers running as www-data.
//!
//! Debian's own `/etc/php/8.2/fpm/php.ini` still applies (display_errors Off, log_errors On,
//! no error_log): that is what a real server runs, so by default PHP messages travel to the
//! web server over FastCGI stderr. The options route them elsewhere the ways admins do.

use super::{Daemon, Lab};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

/// Where PHP's own error messages (fatal errors, warnings) end up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhpLog {
    /// No `error_log`: PHP sends them over FastCGI stderr, nginx logs
    /// `FastCGI sent in stderr: "PHP message: ..."`, Apache logs `AH01071: Got error '...'`.
    FastCgiStderr,
    /// `php_admin_value[error_log] = <lab>/php/error.log`: PHP's own log file.
    File,
    /// `fastcgi.logging = 0` + `catch_workers_output = yes`: PHP writes to the worker's stderr,
    /// which the FPM master copies into its log as `child N said into stderr: "..."`.
    FpmLog,
}

/// Pool configuration, builder style: `FpmOptions::new().max_children(2).start(&lab)`.
#[derive(Debug, Clone)]
pub struct FpmOptions {
    pub name: String,
    pub php_log: PhpLog,
    pub catch_workers_output: bool,
    pub pm: String,
    pub max_children: u32,
    pub listen_backlog: Option<i32>,
    pub request_terminate_timeout: Option<u32>,
    pub admin_values: Vec<(String, String)>,
    pub log_level: String,
    /// Raw lines appended to the pool section.
    pub pool_extra: Vec<String>,
}

impl Default for FpmOptions {
    fn default() -> Self {
        FpmOptions {
            name: "php-fpm".into(),
            php_log: PhpLog::FastCgiStderr,
            catch_workers_output: false,
            pm: "dynamic".into(),
            max_children: 5,
            listen_backlog: None,
            request_terminate_timeout: None,
            admin_values: Vec::new(),
            log_level: "notice".into(),
            pool_extra: Vec::new(),
        }
    }
}

impl FpmOptions {
    pub fn new() -> Self {
        Self::default()
    }
    /// File-name stem for this instance's conf, socket and log (several FPMs per lab).
    pub fn name(mut self, n: &str) -> Self {
        self.name = n.into();
        self
    }
    pub fn php_log(mut self, l: PhpLog) -> Self {
        self.php_log = l;
        if l == PhpLog::FpmLog {
            self.catch_workers_output = true;
        }
        self
    }
    /// Shorthand: a PHP `error_log` file on (true) or FastCGI stderr (false).
    pub fn php_error_log(self, on: bool) -> Self {
        self.php_log(if on {
            PhpLog::File
        } else {
            PhpLog::FastCgiStderr
        })
    }
    pub fn catch_workers_output(mut self, on: bool) -> Self {
        self.catch_workers_output = on;
        self
    }
    /// `static`, `dynamic` or `ondemand`.
    pub fn pm(mut self, pm: &str) -> Self {
        self.pm = pm.into();
        self
    }
    pub fn max_children(mut self, n: u32) -> Self {
        self.max_children = n;
        self
    }
    pub fn listen_backlog(mut self, n: i32) -> Self {
        self.listen_backlog = Some(n);
        self
    }
    pub fn request_terminate_timeout(mut self, secs: u32) -> Self {
        self.request_terminate_timeout = Some(secs);
        self
    }
    /// `php_admin_value[key] = value` (memory_limit, max_execution_time, ...).
    pub fn admin_value(mut self, key: &str, value: &str) -> Self {
        self.admin_values.push((key.into(), value.into()));
        self
    }
    pub fn log_level(mut self, level: &str) -> Self {
        self.log_level = level.into();
        self
    }
    pub fn pool_line(mut self, line: &str) -> Self {
        self.pool_extra.push(line.into());
        self
    }
    pub fn start(self, lab: &Lab) -> Fpm {
        Fpm::start(lab, self)
    }
}

/// A running PHP-FPM master with one pool `www`.
pub struct Fpm {
    pub daemon: Daemon,
    pub opts: FpmOptions,
    /// The pool's unix socket (`fastcgi_pass unix:...`).
    pub socket: PathBuf,
    /// The FPM master log (`[global] error_log`).
    pub log: PathBuf,
    /// PHP's `error_log` file, when [`PhpLog::File`].
    pub php_error_log: Option<PathBuf>,
    pub conf: PathBuf,
}

impl Fpm {
    pub fn start(lab: &Lab, opts: FpmOptions) -> Fpm {
        let n = &opts.name;
        let socket = lab.path(&format!("run/{n}.sock"));
        lab.mkdir("run");
        let log = lab.path(&format!("log/{n}.log"));
        lab.mkdir("log");
        let php_error_log = (opts.php_log == PhpLog::File).then(|| {
            lab.mkdir("log/php");
            lab.www_owned(&format!("log/php/{n}-error.log"))
        });
        let conf_text = render_conf(lab, &opts, &socket, &log, php_error_log.as_ref());
        let conf = lab.write(&format!("conf/{n}.conf"), &conf_text);
        let mut fpm = Fpm {
            daemon: spawn(n, &conf),
            opts,
            socket,
            log,
            php_error_log,
            conf,
        };
        fpm.wait_ready();
        fpm
    }

    /// `fastcgi_pass` / `SetHandler` target, e.g. `unix:/tmp/.../run/php-fpm.sock`.
    pub fn fastcgi_pass(&self) -> String {
        format!("unix:{}", self.socket.display())
    }

    /// The file where PHP's own messages land under this configuration (None: FastCGI stderr,
    /// i.e. the web server's error log).
    pub fn php_messages_file(&self) -> Option<PathBuf> {
        match self.opts.php_log {
            PhpLog::File => self.php_error_log.clone(),
            PhpLog::FpmLog => Some(self.log.clone()),
            PhpLog::FastCgiStderr => None,
        }
    }

    /// Stops the master (its log says `exiting, bye-bye!`); the socket is removed.
    pub fn stop(&mut self) {
        self.daemon.stop();
        let _ = std::fs::remove_file(&self.socket);
    }

    /// Starts it again with the same configuration, appending to the same logs.
    pub fn restart(&mut self) {
        self.stop();
        self.daemon = spawn(&self.opts.name, &self.conf);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let (sock, log) = (self.socket.clone(), self.log.clone());
        let ready = "ready to handle connections";
        let before = super::count_in_file(&log, ready);
        self.daemon.wait_until("php-fpm socket", || {
            sock.exists() && super::count_in_file(&log, ready) > before
        });
    }
}

fn spawn(name: &str, conf: &std::path::Path) -> Daemon {
    Daemon::spawn(
        name,
        Command::new("php-fpm8.2").arg("-F").arg("-y").arg(conf),
    )
}

fn render_conf(
    lab: &Lab,
    o: &FpmOptions,
    socket: &PathBuf,
    log: &PathBuf,
    php_error_log: Option<&PathBuf>,
) -> String {
    let mut c = String::new();
    let pid = lab.path(&format!("run/{}.pid", o.name));
    writeln!(c, "[global]").unwrap();
    writeln!(c, "pid = {}", pid.display()).unwrap();
    writeln!(c, "error_log = {}", log.display()).unwrap();
    writeln!(c, "log_level = {}", o.log_level).unwrap();
    writeln!(c, "daemonize = no").unwrap();
    writeln!(c, "\n[www]").unwrap();
    writeln!(c, "user = www-data\ngroup = www-data").unwrap();
    writeln!(c, "listen = {}", socket.display()).unwrap();
    writeln!(
        c,
        "listen.owner = www-data\nlisten.group = www-data\nlisten.mode = 0660"
    )
    .unwrap();
    if let Some(b) = o.listen_backlog {
        writeln!(c, "listen.backlog = {b}").unwrap();
    }
    writeln!(c, "pm = {}", o.pm).unwrap();
    writeln!(c, "pm.max_children = {}", o.max_children).unwrap();
    match o.pm.as_str() {
        "dynamic" => {
            let max_spare = o.max_children.clamp(1, 3);
            writeln!(
                c,
                "pm.start_servers = 1\npm.min_spare_servers = 1\npm.max_spare_servers = {max_spare}"
            )
            .unwrap();
        }
        "ondemand" => writeln!(c, "pm.process_idle_timeout = 10s").unwrap(),
        _ => {}
    }
    if let Some(t) = o.request_terminate_timeout {
        writeln!(c, "request_terminate_timeout = {t}s").unwrap();
    }
    if o.catch_workers_output {
        writeln!(
            c,
            "catch_workers_output = yes\ndecorate_workers_output = yes"
        )
        .unwrap();
    }
    writeln!(c, "php_admin_flag[log_errors] = on").unwrap();
    writeln!(c, "php_admin_flag[display_errors] = off").unwrap();
    match (o.php_log, php_error_log) {
        (PhpLog::File, Some(p)) => {
            writeln!(c, "php_admin_value[error_log] = {}", p.display()).unwrap()
        }
        (PhpLog::FpmLog, _) => writeln!(c, "php_admin_value[fastcgi.logging] = 0").unwrap(),
        _ => {}
    }
    for (k, v) in &o.admin_values {
        writeln!(c, "php_admin_value[{k}] = {v}").unwrap();
    }
    for l in &o.pool_extra {
        writeln!(c, "{l}").unwrap();
    }
    c
}
