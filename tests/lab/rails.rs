//! Rails 6.1 under Puma 5.6 (Debian's `ruby-rails` and `puma`), in cluster mode on a free
//! 127.0.0.1 port, for the Ruby stack's faults. The app is `tests/lab/app_ruby` (written by
//! hand: Debian's gems are system-wide, so it needs no Bundler and no network), copied into the
//! lab so that Rails writes `log/production.log` there; Puma's stdout and stderr go to
//! `log/puma.log` through its own `stdout_redirect`, as a deployed Puma's do.
//!
//! Include it with `#[path = "lab/rails.rs"] mod rails;` next to `mod lab;`.
#![allow(dead_code)]

use crate::lab::nginx::{Nginx, NginxOptions};
use crate::lab::{Daemon, Lab, count_in_file, free_port, get, port_open, wait_for};
use std::path::{Path, PathBuf};
use std::process::Command;

/// How many workers Puma forks: two, so one can hang or die while the other answers.
pub const WORKERS: usize = 2;

/// Puma's master and its workers, and the logs they write.
pub struct Puma {
    pub daemon: Daemon,
    pub port: u16,
    /// The app's root in the lab (what Rails' backtraces are relative to).
    pub root: PathBuf,
    /// Rails' `log/production.log`.
    pub production_log: PathBuf,
    /// Puma's stdout and stderr.
    pub puma_log: PathBuf,
    /// What the app waits for before it answers a request with the query `hold`.
    pub hold_file: PathBuf,
}

/// Where the app's `/export` writes (`EXPORT_DIR`): a 64 KiB tmpfs, too small for the export.
const EXPORT_DIR: &str = "export";

impl Puma {
    /// Starts the app with `database_url` and waits until every worker has booted. Its
    /// `/export` writes into a filesystem too small for it (a tmpfs the lab mounts: root only).
    /// `worker_timeout` is Puma's (seconds; its minimum is one more than the check interval,
    /// which is set to 1 so that a hung worker is found within seconds).
    pub fn start(lab: &Lab, database_url: &str, worker_timeout: u32) -> Puma {
        Puma::start_with(lab, database_url, worker_timeout, &[])
    }

    /// [`Puma::start`] with more environment for the app (`RAILS_SHOW_ERRORS=1`: Rails' debug
    /// exception pages, `consider_all_requests_local`).
    pub fn start_with(
        lab: &Lab,
        database_url: &str,
        worker_timeout: u32,
        env: &[(&str, &str)],
    ) -> Puma {
        let root = lab.path("rails-app");
        let status = Command::new("cp")
            .arg("-r")
            .arg(app_source())
            .arg(&root)
            .status()
            .expect("cp the Rails app");
        assert!(status.success(), "cp the Rails app into the lab");
        let port = free_port();
        let puma_log = lab.mkdir("log").join("puma.log");
        let conf = lab.write(
            "conf/puma.rb",
            &config(&root, port, &puma_log, worker_timeout),
        );
        let export = lab
            .mount_tmpfs(EXPORT_DIR, "64k")
            .expect("a tmpfs for the app's exports");
        let hold_file = lab.path("hold");
        let mut cmd = Command::new("puma");
        cmd.arg("-C")
            .arg(&conf)
            .current_dir(&root)
            .env("EXPORT_DIR", export)
            .env("HOLD_FILE", &hold_file)
            .env("DATABASE_URL", database_url)
            .env("RAILS_ENV", "production")
            .envs(env.iter().copied());
        let mut daemon = Daemon::spawn("puma", &mut cmd);
        daemon.wait_until("every Puma worker to boot", || {
            count_in_file(&puma_log, ") booted in ") >= WORKERS && port_open(port)
        });
        Puma {
            daemon,
            port,
            production_log: root.join("log/production.log"),
            root,
            puma_log,
            hold_file,
        }
    }

    /// The pid of the worker that logged `Started GET "path"` (0 until one has).
    pub fn worker_serving(&self, path: &str) -> u32 {
        let log = std::fs::read_to_string(&self.production_log).unwrap_or_default();
        let needle = format!("Started GET \"{path}\"");
        log.lines()
            .find(|l| l.contains(&needle))
            .and_then(|l| l.split(" #").nth(1))
            .and_then(|rest| rest.split(']').next())
            .and_then(|pid| pid.parse().ok())
            .unwrap_or(0)
    }

    /// `GET /slow` through the proxy at `port` holds a worker; SIGKILLs that worker while it
    /// does (Puma writes nothing of it) and waits for its replacement. Gives the status the
    /// proxy answered (nginx: 502).
    pub fn killed_mid_request(&mut self, port: u16) -> u16 {
        let pending = std::thread::spawn(move || get(port, "/slow"));
        wait_for("a worker to start /slow", || {
            self.worker_serving("/slow") != 0
        });
        let pid = self.worker_serving("/slow");
        let booted = count_in_file(&self.puma_log, ") booted in ");
        let killed = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .expect("kill the worker");
        assert!(killed.success(), "kill -KILL {pid}");
        let status = pending.join().expect("the /slow request");
        self.wait_booted(booted + 1);
        status
    }

    /// Waits until Puma has booted `n` workers in all (replacements included).
    pub fn wait_booted(&mut self, n: usize) {
        let log = self.puma_log.clone();
        self.daemon
            .wait_until(&format!("{n} Puma worker boots"), || {
                count_in_file(&log, ") booted in ") >= n
            });
    }
}

/// `tests/lab/app_ruby` in the source tree.
pub fn app_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/app_ruby")
}

/// `config/puma.rb` as a deployment writes it: cluster mode, one thread per worker (so a
/// request holding it holds the worker), logs redirected to a file and dated the way Puma
/// dates its own error lines (`Time#to_s`: Puma writes its events undated, so a file of them
/// says nothing of when a worker was killed).
fn config(root: &Path, port: u16, log: &Path, worker_timeout: u32) -> String {
    format!(
        "directory \"{root}\"\n\
         rackup \"{root}/config.ru\"\n\
         environment \"production\"\n\
         bind \"tcp://127.0.0.1:{port}\"\n\
         workers {WORKERS}\n\
         threads 1, 1\n\
         worker_check_interval 1\n\
         worker_timeout {worker_timeout}\n\
         stdout_redirect \"{log}\", \"{log}\", true\n\
         log_formatter {{ |line| \"#{{Time.now}} #{{line}}\" }}\n",
        root = root.display(),
        log = log.display(),
    )
}

/// nginx's `combined` with the request id appended, as `--access-format` reads it.
pub const ACCESS_FORMAT: &str = "$remote_addr - $remote_user [$time_local] \"$request\" $status \
     $body_bytes_sent \"$http_referer\" \"$http_user_agent\" $request_id";

/// nginx in front of `puma`, logging [`ACCESS_FORMAT`] to `log/nginx-access.log`.
pub fn nginx_in_front(lab: &Lab, puma: &Puma) -> Nginx {
    let access = lab.path("log/nginx-access.log");
    NginxOptions::new()
        .http(&format!("log_format with_id '{ACCESS_FORMAT}';"))
        .server(&format!("access_log {} with_id;", access.display()))
        .default_location(&proxy_location(puma.port))
        .start(lab)
}

/// nginx's `location /` passing every request to Puma, with nginx's `$request_id` as the
/// `X-Request-ID` Rails tags its lines with.
pub fn proxy_location(port: u16) -> String {
    format!(
        "location / {{ proxy_pass http://127.0.0.1:{port}; \
         proxy_set_header X-Request-ID $request_id; proxy_read_timeout 30s; }}"
    )
}
