//! `db_reachable`: does each database the applications are configured to use accept a
//! connection? The hosts come from the PHP-FPM pools' `env[…]` and doctor's own environment
//! (`DB_HOST`/`DB_PORT`, `PGHOST`, `DATABASE_URL`, …). Only a TCP or unix-socket connection is
//! opened and closed at once: no credentials are read, printed or sent.

use std::collections::BTreeMap;
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use super::{Finding, Status};

const CHECK: &str = "db_reachable";
const TIMEOUT: Duration = Duration::from_secs(3);
/// Where MySQL/MariaDB clients on Debian connect for `localhost`: PHP's mysqli and PDO take
/// `localhost` to mean this socket, not TCP.
const MYSQL_SOCKET: &str = "/run/mysqld/mysqld.sock";

/// Where a database listens.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Endpoint {
    Tcp(String, u16),
    Socket(PathBuf),
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Tcp(h, p) if h.contains(':') => write!(f, "[{h}]:{p}"),
            Endpoint::Tcp(h, p) => write!(f, "{h}:{p}"),
            Endpoint::Socket(p) => write!(f, "{}", p.display()),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Engine {
    MySql,
    Postgres,
}

impl Engine {
    fn port(self) -> u16 {
        match self {
            Engine::MySql => 3306,
            Engine::Postgres => 5432,
        }
    }
}

/// The databases one environment names.
pub fn endpoints(env: &BTreeMap<String, String>) -> Vec<Endpoint> {
    let upper: BTreeMap<String, &str> = env
        .iter()
        .map(|(k, v)| (k.to_ascii_uppercase(), v.as_str()))
        .collect();
    let mut out = Vec::new();
    for (name, value) in &upper {
        if let Some(e) = from_url(value) {
            out.push(e);
        } else if let Some(stem) = name.strip_suffix("HOST").filter(|s| is_db_name(s)) {
            let engine = engine_of(name, &upper);
            let port = upper
                .get(&format!("{stem}PORT"))
                .and_then(|p| p.trim().parse().ok());
            out.extend(from_host(value, port, engine));
        } else if (name.ends_with("_SOCKET") && is_db_name(name)) || name == "MYSQL_UNIX_PORT" {
            out.push(Endpoint::Socket(PathBuf::from(value.trim())));
        }
    }
    out.sort();
    out.dedup();
    out
}

fn is_db_name(stem: &str) -> bool {
    ["DB", "DATABASE", "MYSQL", "MARIADB", "PG", "POSTGRES"]
        .iter()
        .any(|k| stem.contains(k))
}

fn engine_of(name: &str, env: &BTreeMap<String, &str>) -> Engine {
    let connection = env
        .get("DB_CONNECTION")
        .or_else(|| env.get("DB_DRIVER"))
        .copied()
        .unwrap_or("");
    if name.contains("PG")
        || name.contains("POSTGRES")
        || connection.contains("pg")
        || connection.contains("postgres")
    {
        Engine::Postgres
    } else {
        Engine::MySql
    }
}

/// `host`, `host:port`, `host:/socket` (WordPress), `/socket/dir` (PGHOST), `[v6]:port`.
fn from_host(value: &str, port: Option<u16>, engine: Engine) -> Option<Endpoint> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if v.starts_with('/') {
        return Some(Endpoint::Socket(match engine {
            // PGHOST names the directory; the socket in it is named by the port.
            Engine::Postgres => PathBuf::from(v).join(format!(".s.PGSQL.{}", port.unwrap_or(5432))),
            Engine::MySql => PathBuf::from(v),
        }));
    }
    let (host, port) = match v.rsplit_once(':') {
        Some((_, s)) if s.starts_with('/') => return Some(Endpoint::Socket(PathBuf::from(s))),
        Some((h, p)) if !h.contains(':') || h.ends_with(']') => {
            (h.trim_matches(['[', ']']), p.parse().ok().or(port))
        }
        _ => (v.trim_matches(['[', ']']), port),
    };
    if engine == Engine::MySql && host.eq_ignore_ascii_case("localhost") {
        return Some(Endpoint::Socket(PathBuf::from(MYSQL_SOCKET)));
    }
    Some(Endpoint::Tcp(
        host.to_owned(),
        port.unwrap_or(engine.port()),
    ))
}

/// `mysql://user:secret@host:3306/db`, `postgres://…`, `pgsql:host=…;port=…` (PDO DSN).
fn from_url(value: &str) -> Option<Endpoint> {
    let v = value.trim();
    let (scheme, rest) = v
        .split_once("://")
        .or_else(|| v.split_once(':').filter(|(_, r)| r.contains('=')))?;
    let engine = match scheme.to_ascii_lowercase().as_str() {
        "mysql" | "mysqli" | "mariadb" | "mysql2" => Engine::MySql,
        "postgres" | "postgresql" | "pgsql" => Engine::Postgres,
        _ => return None,
    };
    if rest.contains('=') && !rest.contains('@') {
        // A PDO DSN: key=value pairs split by `;`.
        let pairs: BTreeMap<&str, &str> = rest
            .split(';')
            .filter_map(|kv| kv.split_once('='))
            .collect();
        if let Some(sock) = pairs.get("unix_socket") {
            return Some(Endpoint::Socket(PathBuf::from(sock)));
        }
        return from_host(
            pairs.get("host")?,
            pairs.get("port").and_then(|p| p.parse().ok()),
            engine,
        );
    }
    let authority = rest.split(['/', '?']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    from_host(host_port, None, engine)
}

/// Tries each endpoint once; `named_by` lists who configured it.
pub fn check(targets: &BTreeMap<Endpoint, Vec<String>>) -> Vec<Finding> {
    if targets.is_empty() {
        return vec![Finding::new(CHECK, Status::Skipped, "database")
            .detail("No database host is named in the PHP-FPM pools' env[…] or doctor's environment (DB_HOST, DATABASE_URL, PGHOST, …).")];
    }
    targets
        .iter()
        .map(|(e, by)| probe(e, &by.join(", ")))
        .collect()
}

fn probe(e: &Endpoint, named_by: &str) -> Finding {
    let outcome = match e {
        Endpoint::Socket(p) => UnixStream::connect(p)
            .map(drop)
            .map_err(|err| err.to_string()),
        Endpoint::Tcp(h, port) => connect_tcp(h, *port),
    };
    let f = Finding::new(CHECK, Status::Ok, e.to_string());
    match outcome {
        Ok(()) => f.detail(format!("Accepts connections (named by {named_by}).")),
        Err(why) => f
            .with(Status::Critical)
            .detail(format!("Does not accept connections: {why} (named by {named_by}); every page that queries it answers 500."))
            .fix("Start the database server (or fix its host, port, socket path or firewall); test with `mysql -h HOST -P PORT` or `psql -h HOST -p PORT` from this host."),
    }
}

fn connect_tcp(host: &str, port: u16) -> Result<(), String> {
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    let mut last = format!("{host} has no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, TIMEOUT) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn finds_hosts_in_the_usual_names() {
        let tcp = |h: &str, p| Endpoint::Tcp(h.into(), p);
        assert_eq!(
            endpoints(&env(&[("DB_HOST", "10.0.0.5"), ("DB_PORT", "3307")])),
            [tcp("10.0.0.5", 3307)]
        );
        assert_eq!(
            endpoints(&env(&[("WORDPRESS_DB_HOST", "db:3306")])),
            [tcp("db", 3306)]
        );
        assert_eq!(
            endpoints(&env(&[("DB_HOST", "localhost")])),
            [Endpoint::Socket(MYSQL_SOCKET.into())]
        );
        assert_eq!(
            endpoints(&env(&[("PGHOST", "localhost")])),
            [tcp("localhost", 5432)]
        );
        assert_eq!(
            endpoints(&env(&[
                ("PGHOST", "/var/run/postgresql"),
                ("PGPORT", "5433")
            ])),
            [Endpoint::Socket("/var/run/postgresql/.s.PGSQL.5433".into())]
        );
        assert_eq!(
            endpoints(&env(&[(
                "DATABASE_URL",
                "postgres://app:s3cret@db.internal/shop"
            )])),
            [tcp("db.internal", 5432)]
        );
        assert_eq!(
            endpoints(&env(&[(
                "DB_DSN",
                "mysql:host=127.0.0.1;port=3310;dbname=x"
            )])),
            [tcp("127.0.0.1", 3310)]
        );
        assert_eq!(
            endpoints(&env(&[("DB_HOST", "[::1]:3306")])),
            [tcp("::1", 3306)]
        );
        assert!(endpoints(&env(&[("HOSTNAME", "web1"), ("DB_PASSWORD", "x")])).is_empty());
        assert_eq!(
            endpoints(&env(&[("DB_HOST", "mysql:3306")])),
            [tcp("mysql", 3306)]
        );
        assert_eq!(tcp("::1", 5).to_string(), "[::1]:5");
    }

    #[test]
    fn a_closed_port_is_critical_and_an_open_one_ok() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open = listener.local_addr().unwrap().port();
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let targets = BTreeMap::from([
            (
                Endpoint::Tcp("127.0.0.1".into(), open),
                vec!["pool www".into()],
            ),
            (
                Endpoint::Tcp("127.0.0.1".into(), closed),
                vec!["pool www".into()],
            ),
        ]);
        let f = check(&targets);
        let statuses: Vec<_> = f.iter().map(|f| f.status).collect();
        assert_eq!(statuses.len(), 2);
        assert!(
            statuses.contains(&Status::Ok) && statuses.contains(&Status::Critical),
            "{f:?}"
        );
        assert!(f.iter().all(|f| !f.detail.contains("s3cret")));
    }
}
