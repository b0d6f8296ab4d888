//! HAProxy from Debian (`haproxy`), run in the foreground (`haproxy -db -f CONF`) from a config
//! written here: one frontend on 127.0.0.1, `option httplog` (or `httplog clf`), and its log
//! written to stdout
//! (`log stdout format FORMAT local0`), which goes to a file of the lab. Backends are the
//! test's own.

use super::{Daemon, Lab, free_port, wait_for_port};
use std::path::PathBuf;
use std::process::Command;

/// A running HAProxy and the log it writes.
pub struct Haproxy {
    pub port: u16,
    pub log: PathBuf,
    daemon: Daemon,
}

impl Haproxy {
    /// Starts HAProxy with `defaults` (timeouts, retries) and `proxies` (the `backend`
    /// sections; the frontend routes `/NAME…` to backend `NAME`, each listed in `routes`),
    /// logging as `option {httplog}` says, in `format` (`raw`, or `rfc3164` for the syslog
    /// header).
    pub fn start(
        lab: &Lab,
        (format, httplog): (&str, &str),
        defaults: &str,
        routes: &[&str],
        proxies: &str,
    ) -> Haproxy {
        let port = free_port();
        let log = lab.path(&format!("log/haproxy-{format}.log"));
        let rules: String = routes
            .iter()
            .map(|r| format!("  use_backend {r} if {{ path_beg /{r} }}\n"))
            .collect();
        let conf = lab.write(
            &format!("haproxy-{format}.cfg"),
            &format!(
                "global\n  log stdout format {format} local0\n\
                 defaults\n  mode http\n  log global\n  option {httplog}\n  option dontlognull\n{defaults}\n\
                 frontend fe\n  bind 127.0.0.1:{port}\n{rules}\n{proxies}\n"
            ),
        );
        lab.mkdir("log");
        // The shell only sends HAProxy's stdout to the log file; `exec` keeps the pid HAProxy's.
        let daemon = Daemon::spawn(
            "haproxy",
            Command::new("sh").args([
                "-c",
                "exec haproxy -db -f \"$1\" > \"$2\"",
                "sh",
                &conf.to_string_lossy(),
                &log.to_string_lossy(),
            ]),
        );
        wait_for_port(port);
        Haproxy { port, log, daemon }
    }

    /// Waits until HAProxy has logged `n` requests (it logs each when its session ends).
    pub fn wait_logged(&mut self, n: usize) {
        let log = self.log.clone();
        self.daemon
            .wait_until(&format!("{n} lines in {}", log.display()), || {
                super::line_count(&log) >= n
            });
    }
}
