//! An Express app under Node on a free 127.0.0.1 port, for the Node stack's faults. The app is
//! `tests/lab/app_node` (run in place, so its stack frames name its real files); Express and
//! pg come from `tests/probe_apps/express/node_modules` (npm, pinned; scripts/test installs
//! them). Node's stdout and stderr go through a pipe to `tee -a log/node.log` (the output as a
//! process manager keeps it, with no time on any line) and on to `logger`, which hands each line
//! to a real rsyslogd ([`crate::lab::rsyslog`]) that writes it with the time it came, in its
//! default file format (`rsyslog/node-syslog.log`); a Node that exited is started again by the
//! test, as one would.
//!
//! Include it with `#[path = "lab/node.rs"] mod node;` next to `mod lab;`.
#![allow(dead_code)]

use crate::lab::rsyslog::Rsyslog;
use crate::lab::{Daemon, Lab, count_in_file, free_port, port_open};
use std::path::{Path, PathBuf};
use std::process::Command;

/// V8's old-generation heap limit (MB): small, so that a leaking route runs out within
/// a second.
pub const HEAP_MB: u32 = 32;

/// A running (or exited) Node process and the logs it appends to.
pub struct Node {
    pub daemon: Daemon,
    pub port: u16,
    /// Its output as written, no time on any line.
    pub log: PathBuf,
    /// Its output as rsyslogd wrote it: each line with the time it came.
    pub syslog: PathBuf,
    rsyslog: Rsyslog,
    database_url: String,
    /// Where `/upload` writes: a 64 KiB tmpfs, too small for what it writes.
    export_dir: PathBuf,
    starts: usize,
}

impl Node {
    /// Starts the app with `database_url` and waits until it listens.
    pub fn start(lab: &Lab, database_url: &str) -> Node {
        let port = free_port();
        let log = lab.mkdir("log").join("node.log");
        let rsyslog = Rsyslog::start(lab, false, &[("node-syslog.log", "RSYSLOG_FileFormat")]);
        let export_dir = lab
            .mount_tmpfs("export", "64k")
            .expect("a tmpfs for the export");
        let daemon = spawn(port, &log, &rsyslog, database_url, &export_dir);
        let mut node = Node {
            daemon,
            port,
            log,
            syslog: rsyslog.files[0].clone(),
            rsyslog,
            database_url: database_url.into(),
            export_dir,
            starts: 0,
        };
        node.wait_listening();
        node
    }

    /// Starts the app again after it exited, on the same port.
    pub fn restart(&mut self) {
        self.daemon.stop();
        self.daemon = spawn(
            self.port,
            &self.log,
            &self.rsyslog,
            &self.database_url,
            &self.export_dir,
        );
        self.wait_listening();
    }

    fn wait_listening(&mut self) {
        self.starts += 1;
        let (log, port, n) = (self.log.clone(), self.port, self.starts);
        self.daemon.wait_until("node to listen", || {
            count_in_file(&log, "listening on ") >= n && port_open(port)
        });
    }

    /// Waits until the process has exited (an uncaught exception, V8 out of heap).
    pub fn wait_exited(&mut self) {
        let port = self.port;
        crate::lab::wait_for("node to exit", || !port_open(port));
    }

    /// Waits until rsyslogd has written every line Node wrote.
    pub fn wait_syslog(&self) {
        let lines = crate::lab::line_count(&self.log);
        crate::lab::wait_for("rsyslogd to write node's lines", || {
            count_in_file(&self.syslog, &format!(" {TAG}: ")) >= lines
        });
    }
}

/// The syslog tag Node's lines are sent with.
const TAG: &str = "shop";

/// `tests/lab/app_node` in the source tree.
pub fn app_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/app_node")
}

fn node_modules() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/probe_apps/express/node_modules");
    assert!(
        dir.join("express").is_dir() && dir.join("pg").is_dir(),
        "{} lacks express or pg: run tests/probe_apps/install.sh",
        dir.display()
    );
    dir
}

/// `node server.js PORT 2>&1 | tee -a log | logger`, in production mode, with no core dump
/// when V8 aborts.
fn spawn(
    port: u16,
    log: &Path,
    rsyslog: &Rsyslog,
    database_url: &str,
    export_dir: &Path,
) -> Daemon {
    let script = format!(
        "ulimit -c 0; node --max-old-space-size={HEAP_MB} server.js {port} 2>&1 | tee -a '{}' | logger --socket '{}' -t {TAG}",
        log.display(),
        rsyslog.socket.display()
    );
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &script])
        .current_dir(app_dir())
        .env("NODE_ENV", "production")
        .env("NODE_PATH", node_modules())
        .env("DATABASE_URL", database_url)
        .env("EXPORT_DIR", export_dir);
    Daemon::spawn("node", &mut cmd)
}

/// nginx's `location /` passing every request to Node.
pub fn proxy_location(port: u16) -> String {
    format!("location / {{ proxy_pass http://127.0.0.1:{port}; }}")
}
