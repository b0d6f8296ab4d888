//! Python application servers from Debian: gunicorn (`gunicorn`) serving the Django app and
//! uWSGI (`uwsgi-core`, `uwsgi-plugin-python3`) serving the Flask app, both under
//! `tests/lab/app_python/`, each in the foreground on its own 127.0.0.1 port with its log in
//! the lab. The apps' views say when a slow request started by writing their pid to
//! `LAB_MARK`, so a test can kill that worker mid-request without guessing at time.
//!
//! Include it with `#[path = "lab/python.rs"] mod python;` next to `mod lab;`.
#![allow(dead_code)]

use crate::lab::{Daemon, Lab, free_port, wait_for, wait_for_port};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The lab's Python sources (Django's `djapp`, `flaskapp.py`), served from where they are, so
/// tracebacks name their real paths.
pub fn app_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/app_python")
}

/// A running Python application server.
pub struct AppServer {
    pub daemon: Daemon,
    pub port: u16,
    /// Its own log: gunicorn's error log (with the app's stderr), uWSGI's `--logto` file.
    pub log: PathBuf,
    /// gunicorn's `--access-logfile` (the proxy's requests again, in `combined`'s shape).
    pub access_log: Option<PathBuf>,
    /// Where a slow view writes its pid when it starts.
    pub mark: PathBuf,
}

/// The environment every app gets: no bytecode written into the repository, where a slow
/// view says it started, and `extra` (the database, the upload dir).
fn app_command(program: &str, lab: &Lab, name: &str, extra: &[(&str, String)]) -> Command {
    let mut c = Command::new(program);
    c.env("PYTHONDONTWRITEBYTECODE", "1")
        .env("LAB_MARK", lab.path(&format!("run/{name}.started")))
        .current_dir(app_dir());
    for (k, v) in extra {
        c.env(k, v);
    }
    c
}

impl AppServer {
    /// gunicorn serving the Django app with one sync worker, `--timeout timeout` and 4 GiB of
    /// address space, its error log (`--capture-output`: Django's own log too) at `log/gunicorn.log`
    /// and its access log at `log/gunicorn-access.log`.
    pub fn gunicorn(lab: &Lab, timeout: u32, env: &[(&str, String)]) -> AppServer {
        let port = free_port();
        lab.mkdir("run");
        let log = lab.mkdir("log").join("gunicorn.log");
        let access_log = lab.path("log/gunicorn-access.log");
        // An address-space limit, as a container's memory limit is: the memory fault's
        // allocation fails whatever the machine's overcommit policy.
        let mut cmd = app_command("/usr/bin/prlimit", lab, "gunicorn", env);
        cmd.args(["--as=4294967296", "--", "/usr/bin/gunicorn"])
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .args(["--workers", "1", "--timeout", &timeout.to_string()])
            .arg("--capture-output")
            .arg("--error-logfile")
            .arg(&log)
            .arg("--access-logfile")
            .arg(&access_log)
            .arg("djapp.wsgi:application");
        AppServer {
            access_log: Some(access_log),
            ..AppServer::started(
                lab,
                "gunicorn",
                Daemon::spawn("gunicorn", &mut cmd),
                port,
                log,
            )
        }
    }

    /// uWSGI serving the Flask app over the uwsgi protocol with one worker, a listen queue of
    /// two connections (a third waiting is the queue full), `--harakiri harakiri`, and its log (`--log-date`, as packaged configs set it) at `log/uwsgi.log`;
    /// `--die-on-term`, or the lab's SIGTERM would make it reload, not stop; `env` as for
    /// [`AppServer::gunicorn`].
    pub fn uwsgi(lab: &Lab, harakiri: u32, env: &[(&str, String)]) -> AppServer {
        let port = free_port();
        lab.mkdir("run");
        let log = lab.mkdir("log").join("uwsgi.log");
        let mut cmd = app_command("/usr/bin/uwsgi", lab, "uwsgi", env);
        cmd.args(["--plugin", "python3", "--master", "--processes", "1"])
            .args(["--socket", &format!("127.0.0.1:{port}"), "--listen", "2"])
            .arg("--wsgi-file")
            .arg(app_dir().join("flaskapp.py"))
            .args(["--callable", "app"])
            .args([
                "--harakiri",
                &harakiri.to_string(),
                "--log-date",
                "--die-on-term",
            ])
            .arg("--logto")
            .arg(&log);
        AppServer::started(lab, "uwsgi", Daemon::spawn("uwsgi", &mut cmd), port, log)
    }

    fn started(lab: &Lab, name: &str, daemon: Daemon, port: u16, log: PathBuf) -> AppServer {
        wait_for_port(port);
        AppServer {
            daemon,
            port,
            log,
            access_log: None,
            mark: lab.path(&format!("run/{name}.started")),
        }
    }

    /// Forgets that a slow view started (one that timed out left its mark).
    pub fn forget_started(&self) {
        let _ = std::fs::remove_file(&self.mark);
    }

    /// Waits until a slow view has started (it wrote its pid), forgets the mark for the next
    /// one, and returns the pid of the worker serving it.
    pub fn wait_started(&self) -> u32 {
        let mut pid = None;
        wait_for(
            &format!("a slow view's pid in {}", self.mark.display()),
            || {
                pid = std::fs::read_to_string(&self.mark)
                    .ok()
                    .and_then(|p| p.trim().parse().ok());
                pid.is_some()
            },
        );
        self.forget_started();
        pid.expect("waited for it")
    }

    /// Kills a worker with SIGKILL, the way the kernel's OOM killer does.
    pub fn kill_worker(&self, pid: u32) {
        let ok = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -KILL {pid}");
    }

    /// Waits until the server's log says `needle`, `n` times.
    pub fn wait_logged(&self, needle: &str, n: usize) {
        let log = &self.log;
        wait_for(&format!("{n}× {needle:?} in {}", log.display()), || {
            crate::lab::count_in_file(log, needle) >= n
        });
    }
}
