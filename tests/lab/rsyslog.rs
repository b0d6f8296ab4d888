//! A real `rsyslogd` (Debian's `rsyslog`) on its own unix socket (and, where asked, a UDP port
//! on 127.0.0.1), writing every message it receives to files of the templates given, under the
//! lab's `rsyslog/` directory. Programs reach it with `logger --socket` (a service's output
//! piped to `logger`, as a shell pipeline or a process manager does) or over UDP (nginx's
//! `syslog:server=`).

use super::{Daemon, Lab, free_port, log_contains};
use std::path::PathBuf;
use std::process::Command;

/// A running rsyslogd.
pub struct Rsyslog {
    _daemon: Daemon,
    /// Its UDP port, if it listens on one.
    pub port: Option<u16>,
    /// Its unix socket, for `logger --socket`.
    pub socket: PathBuf,
    /// The files it writes, in the order of the templates given.
    pub files: Vec<PathBuf>,
}

impl Rsyslog {
    /// Starts rsyslogd writing each message to one file per `(file name, template)` (rsyslog's
    /// built-in templates: `RSYSLOG_FileFormat`, its default, has an RFC 3339 time), and waits
    /// until each input reads: a message sent to each is written.
    pub fn start(lab: &Lab, udp: bool, files: &[(&str, &str)]) -> Rsyslog {
        let dir = lab.mkdir("rsyslog");
        let socket = dir.join("log.sock");
        let port = udp.then(free_port);
        let mut conf = format!(
            "global(workDirectory=\"{d}\")\n\
             module(load=\"imuxsock\" SysSock.Use=\"off\")\n\
             input(type=\"imuxsock\" Socket=\"{s}\" CreatePath=\"on\")\n",
            d = dir.display(),
            s = socket.display()
        );
        if let Some(port) = port {
            conf += &format!(
                "module(load=\"imudp\")\ninput(type=\"imudp\" address=\"127.0.0.1\" port=\"{port}\")\n"
            );
        }
        let files: Vec<PathBuf> = files
            .iter()
            .map(|(name, template)| {
                let file = dir.join(name);
                conf += &format!(
                    "action(type=\"omfile\" file=\"{}\" template=\"{template}\")\n",
                    file.display()
                );
                file
            })
            .collect();
        let conf_path = lab.write("rsyslog/rsyslog.conf", &conf);
        let mut daemon = Daemon::spawn(
            "rsyslogd",
            Command::new("rsyslogd")
                .arg("-n")
                .arg("-f")
                .arg(&conf_path)
                .arg("-i")
                .arg(dir.join("rsyslogd.pid")),
        );
        daemon.wait_until("rsyslogd's socket", || socket.exists());
        let first = files[0].clone();
        let socket_arg = socket.display().to_string();
        daemon.wait_until("rsyslogd's socket input", || {
            logger(&["--socket", &socket_arg], "socket ready");
            log_contains(&first, "socket ready")
        });
        if let Some(port) = port {
            // UDP cannot be probed: a line sent until one is written says the port is read.
            let port = port.to_string();
            daemon.wait_until("rsyslogd's UDP input", || {
                logger(
                    &["--server", "127.0.0.1", "--port", &port, "--udp"],
                    "udp ready",
                );
                log_contains(&first, "udp ready")
            });
        }
        Rsyslog {
            _daemon: daemon,
            port,
            socket,
            files,
        }
    }
}

/// Sends one message with `logger`, tagged as another program on the same machine.
pub fn logger(how: &[&str], message: &str) {
    let status = Command::new("logger")
        .args(how)
        .args(["-t", "CRON", message])
        .status()
        .expect("run logger");
    assert!(status.success(), "logger {how:?} failed");
}
