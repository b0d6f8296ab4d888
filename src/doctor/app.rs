//! Application servers behind nginx (gunicorn, uWSGI): whether their own timeout ends a slow
//! request before nginx stops waiting for it. When nginx gives up first, the client gets a
//! 504 that only says the upstream timed out, and the worker keeps running; when the
//! application server's timeout strikes first, its log names the request (`WORKER TIMEOUT`,
//! `HARAKIRI`) and `diagnose` can say `worker_timeout`.
//!
//! The servers are found as running processes (`/proc/*/cmdline`): their command-line options
//! are read; a configuration file they name (`-c gunicorn.conf.py`, `--ini app.ini`) is not,
//! and the finding says so.

use std::path::Path;

use super::layout::nginx::Proxied;
use super::{Finding, Status};

const CHECK: &str = "app_timeout";

/// gunicorn's default `--timeout`.
const GUNICORN_TIMEOUT_S: u64 = 30;

/// A running application server, as its command line says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppServer {
    /// `gunicorn` or `uwsgi`.
    pub kind: &'static str,
    /// Where it listens, as written (`127.0.0.1:8000`, `unix:/run/app.sock`).
    pub listens: Vec<String>,
    /// How long a request may run before it kills the worker, if it ever does.
    pub timeout_s: Option<u64>,
    /// The option that says so (`--timeout`, `--harakiri`, or gunicorn's default).
    pub timeout_from: &'static str,
    /// A configuration file it was started with, which doctor does not read.
    pub config: Option<String>,
}

/// The options of one kind of server: its name, how its program is recognised, the options
/// naming where it listens, its timeout option (and short form), its default, and the
/// options naming a config file.
struct ServerKind {
    name: &'static str,
    listen: &'static [&'static str],
    timeout: &'static [&'static str],
    default_s: Option<u64>,
    config: &'static [&'static str],
}

const KINDS: [ServerKind; 2] = [
    ServerKind {
        name: "gunicorn",
        listen: &["--bind", "-b"],
        timeout: &["--timeout", "-t"],
        default_s: Some(GUNICORN_TIMEOUT_S),
        config: &["-c", "--config"],
    },
    ServerKind {
        name: "uwsgi",
        listen: &[
            "--socket",
            "-s",
            "--http-socket",
            "--uwsgi-socket",
            "--http",
        ],
        timeout: &["--harakiri"],
        default_s: None,
        config: &["--ini", "--yaml", "--json", "--xml"],
    },
];

/// Reads one command line (its arguments): the server it starts, if it is one of [`KINDS`].
pub fn read_cmdline(args: &[String]) -> Option<AppServer> {
    let program = |a: &String| {
        let name = Path::new(a)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("");
        KINDS
            .iter()
            .find(|k| name == k.name || name == format!("{}-core", k.name))
    };
    // `/usr/bin/gunicorn` runs as `python3 /usr/bin/gunicorn …`.
    let at = args.iter().take(2).position(|a| program(a).is_some())?;
    let kind = program(&args[at])?;
    let opts = &args[at + 1..];
    let mut server = AppServer {
        kind: kind.name,
        listens: Vec::new(),
        timeout_s: kind.default_s,
        timeout_from: match kind.default_s {
            Some(_) => "its default",
            None => kind.timeout[0],
        },
        config: None,
    };
    for (i, arg) in opts.iter().enumerate() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (arg.as_str(), None),
        };
        let Some(value) = inline.or_else(|| opts.get(i + 1).map(String::as_str)) else {
            continue;
        };
        if kind.listen.contains(&name) {
            server.listens.push(value.to_owned());
        } else if kind.timeout.contains(&name) {
            server.timeout_s = value.parse().ok().filter(|&s| s > 0);
            server.timeout_from = kind.timeout[0];
        } else if kind.config.contains(&name) {
            server.config = Some(value.to_owned());
        }
    }
    Some(server)
}

/// Every gunicorn and uWSGI running here, one per address (a master and its workers share a
/// command line).
pub fn running() -> Vec<AppServer> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out: Vec<AppServer> = Vec::new();
    for entry in dir.flatten() {
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = raw
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if let Some(s) = read_cmdline(&args)
            && !out.contains(&s)
        {
            out.push(s);
        }
    }
    out
}

/// One finding per nginx pass to a running application server: a warning where nginx stops
/// waiting first (or the server never ends a request), ok otherwise.
pub fn check(proxied: &[Proxied], servers: &[AppServer]) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in proxied {
        for s in servers
            .iter()
            .filter(|s| s.listens.iter().any(|l| same_address(l, &p.target)))
        {
            out.push(finding(p, s));
        }
    }
    out
}

/// Whether an address a server listens on is the one nginx passes to (`:8000` and
/// `0.0.0.0:8000` listen on `127.0.0.1:8000` too).
fn same_address(listen: &str, target: &str) -> bool {
    let listen = listen.strip_prefix("unix://").unwrap_or(listen);
    if listen == target || format!("unix:{listen}") == target {
        return true;
    }
    match (listen.rsplit_once(':'), target.rsplit_once(':')) {
        (Some((host, port)), Some((_, target_port))) => {
            port == target_port && matches!(host, "" | "0.0.0.0" | "[::]" | "*")
        }
        _ => false,
    }
}

fn finding(p: &Proxied, s: &AppServer) -> Finding {
    let subject = format!("{} {} ({})", s.kind, p.target, p.location);
    let unread = s
        .config
        .as_ref()
        .map(|c| {
            format!(" Its configuration file {c} was not read: a timeout set there is not seen.")
        })
        .unwrap_or_default();
    let nginx = format!("{} {} s", p.timeout_directive, p.read_timeout_s);
    let f = Finding::new(CHECK, Status::Ok, subject);
    match s.timeout_s {
        Some(t) if t < p.read_timeout_s => f.detail(format!(
            "{} ends a request after {t} s ({}), before nginx stops waiting ({nginx}): its log names the slow request.{unread}",
            s.kind, s.timeout_from
        )),
        Some(t) => f.with(Status::Warning).detail(format!(
            "nginx stops waiting after {} s ({nginx}), before {} ends the request ({t} s, {}): the client gets a 504 that names no cause, and the worker runs on.{unread}",
            p.read_timeout_s, s.kind, s.timeout_from
        )).fix(format!(
            "Set {}'s timeout below nginx's {} (or raise {} above it), so the slow request is ended and named by the application server.",
            s.kind, p.timeout_directive, p.timeout_directive
        )),
        None => f.with(Status::Warning).detail(format!(
            "{} never ends a slow request (no {}): after {} s ({nginx}) the client gets a 504 and the worker stays busy.{unread}",
            s.kind, s.timeout_from, p.read_timeout_s
        )).fix(format!(
            "Give {} a timeout below nginx's {} (uWSGI: harakiri).",
            s.kind, p.timeout_directive
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn command_lines_say_where_each_server_listens_and_when_it_gives_up() {
        let g = read_cmdline(&args(
            "/usr/bin/python3 /usr/bin/gunicorn --bind 127.0.0.1:8000 djapp.wsgi",
        ))
        .unwrap();
        assert_eq!(
            (g.kind, g.listens.as_slice(), g.timeout_s),
            ("gunicorn", &["127.0.0.1:8000".to_owned()][..], Some(30))
        );
        let g = read_cmdline(&args(
            "gunicorn -b unix:/run/g.sock --timeout=90 -c /etc/g.py app",
        ))
        .unwrap();
        assert_eq!(
            (g.timeout_s, g.config.as_deref()),
            (Some(90), Some("/etc/g.py"))
        );
        let u = read_cmdline(&args(
            "/usr/bin/uwsgi-core --socket 127.0.0.1:3031 --harakiri 2",
        ))
        .unwrap();
        assert_eq!(
            (u.kind, u.timeout_s, u.timeout_from),
            ("uwsgi", Some(2), "--harakiri")
        );
        assert_eq!(
            read_cmdline(&args("uwsgi --socket :3031"))
                .unwrap()
                .timeout_s,
            None
        );
        assert!(read_cmdline(&args("/usr/sbin/nginx -g daemon")).is_none());
        assert!(read_cmdline(&[]).is_none());
    }

    #[test]
    fn nginx_giving_up_first_is_a_warning() {
        let pass = |target: &str, t: u64| Proxied {
            target: target.into(),
            location: "location /".into(),
            read_timeout_s: t,
            timeout_directive: "uwsgi_read_timeout",
        };
        let u = read_cmdline(&args("uwsgi --socket :3031 --harakiri 2")).unwrap();
        let found = check(
            &[
                pass("127.0.0.1:3031", 60),
                pass("127.0.0.1:3031", 1),
                pass("127.0.0.1:9", 1),
            ],
            &[u],
        );
        let statuses: Vec<Status> = found.iter().map(|f| f.status).collect();
        assert_eq!(statuses, [Status::Ok, Status::Warning]);
        let none = read_cmdline(&args("uwsgi --socket 127.0.0.1:3031")).unwrap();
        assert_eq!(
            check(&[pass("127.0.0.1:3031", 60)], &[none])[0].status,
            Status::Warning
        );
    }
}
