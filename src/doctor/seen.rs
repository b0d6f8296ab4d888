//! What doctor looked for and what it found: each server (web servers, PHP-FPM, databases),
//! and each check it could not run here, listed as `skipped` with why, so that no check
//! vanishes from the report and a host with no web server is said to have none.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::layout::{Layout, command};
use super::{Finding, Status};

/// Every check id, in the order the checks run: each one is in the report, run or not.
pub const CHECKS: [&str; 11] = [
    "server_config_syntax",
    "disk_space",
    "disk_inodes",
    "file_permissions",
    "htaccess_invalid",
    "php_display_errors",
    "php_log_errors",
    "php_memory_limit",
    "fpm_max_children",
    "db_reachable",
    "app_timeout",
];

/// Whether a server was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// Installed here (its configuration loading or not).
    Found,
    /// No binary where it is looked for.
    NotFound,
    /// A `--*-conf` flag named other servers' configs, and only those are examined.
    NotLookedFor,
}

/// One server doctor looked for, in the JSON's `servers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Server {
    /// `nginx`, `apache`, `php-fpm`, `mysql`, `postgresql`.
    pub server: &'static str,
    /// For people: `Apache`, `MariaDB/MySQL`.
    pub name: &'static str,
    pub status: Presence,
    /// Where it was found, or where it was looked for.
    pub detail: String,
}

/// A server as (its id in the JSON, its name for people).
pub type ServerId = (&'static str, &'static str);

/// Where a server's binary is looked for, as said when none is found.
const LOOKED_IN: &str = "on PATH or in /usr/sbin, /usr/local/sbin, /sbin";

impl Server {
    /// nginx, found by its binary and `nginx -T`.
    pub const NGINX: ServerId = ("nginx", "nginx");
    /// Apache httpd, found by `apache2`/`httpd` or `apachectl`.
    pub const APACHE: ServerId = ("apache", "Apache");
    /// PHP-FPM, found by `php-fpm` or `php-fpmX.Y`.
    pub const PHP_FPM: ServerId = ("php-fpm", "PHP-FPM");
    const MYSQL: ServerId = ("mysql", "MariaDB/MySQL");
    const POSTGRES: ServerId = ("postgresql", "PostgreSQL");

    fn new((server, name): ServerId, status: Presence, detail: String) -> Self {
        Server {
            server,
            name,
            status,
            detail,
        }
    }

    /// A server left out because flags name only other servers' configs.
    pub fn not_looked_for(id: ServerId) -> Server {
        let detail = "Not looked for: a --*-conf flag names other servers' configs.".to_owned();
        Server::new(id, Presence::NotLookedFor, detail)
    }

    /// What a server's discovery came to: not installed, or installed (its config loading
    /// or not: that is `server_config_syntax`'s finding).
    pub fn from_discovery<T, E>(
        id: ServerId,
        conf: Option<&Path>,
        found: Result<&Option<T>, &E>,
    ) -> Server {
        let conf = conf.map_or_else(
            || "the installed one".to_owned(),
            |c| c.display().to_string(),
        );
        match found {
            Ok(None) => Server::new(
                id,
                Presence::NotFound,
                format!("No {} binary {LOOKED_IN}.", id.1),
            ),
            Ok(Some(_)) => Server::new(id, Presence::Found, format!("Configuration: {conf}.")),
            Err(_) => Server::new(
                id,
                Presence::Found,
                format!("Installed; its configuration ({conf}) does not load."),
            ),
        }
    }
}

/// The database servers installed on this host. One elsewhere is checked by `db_reachable`
/// when the applications name it.
pub fn databases() -> Vec<Server> {
    let mysql = command::find("mariadbd").or_else(|| command::find("mysqld"));
    let postgres = command::find("postgres").or_else(postgres_in_lib);
    [
        (Server::MYSQL, mysql, "no mariadbd or mysqld"),
        (
            Server::POSTGRES,
            postgres,
            "no postgres, nor in /usr/lib/postgresql,",
        ),
    ]
    .into_iter()
    .map(|(id, bin, none)| match bin {
        Some(b) => Server::new(id, Presence::Found, format!("Installed: {}.", b.display())),
        None => Server::new(
            id,
            Presence::NotFound,
            format!("Not installed here: {none} {LOOKED_IN}."),
        ),
    })
    .collect()
}

/// Debian keeps `postgres` under `/usr/lib/postgresql/VERSION/bin`, off every PATH.
fn postgres_in_lib() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin/postgres"))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.pop()
}

/// Whether web servers (nginx, Apache) were looked for and none was found.
pub fn no_web_server(servers: &[Server]) -> bool {
    let web = || {
        servers
            .iter()
            .filter(|s| [Server::NGINX.0, Server::APACHE.0].contains(&s.server))
    };
    web().any(|s| s.status != Presence::NotLookedFor) && web().all(|s| s.status != Presence::Found)
}

/// A `skipped` finding for every check that made none, with why it could not run.
pub fn not_run(checks: &[Finding], layout: &Layout, servers: &[Server]) -> Vec<Finding> {
    CHECKS
        .iter()
        .filter(|id| !checks.iter().any(|f| f.check == **id))
        .map(|&id| {
            let (subject, why) = why_not_run(id, layout, servers);
            Finding::new(id, Status::Skipped, subject).detail(why)
        })
        .collect()
}

/// What a check needed and did not have.
fn why_not_run(check: &str, l: &Layout, servers: &[Server]) -> (&'static str, String) {
    let nothing_read = l.nginx.is_none() && l.apache.is_none() && l.fpm.is_none();
    let no_config = "no server's configuration was read";
    match check {
        "server_config_syntax" => (
            "servers",
            format!("No server to test: {}.", looked(servers)),
        ),
        "disk_space" | "disk_inodes" if nothing_read => (
            "filesystems",
            format!("No document root, log or PHP directory known: {no_config}."),
        ),
        "disk_space" | "disk_inodes" => (
            "filesystems",
            "None of the document roots, logs or PHP directories exists.".to_owned(),
        ),
        "file_permissions" if nothing_read => (
            "document roots",
            format!("No document root or PHP session/upload directory known: {no_config}."),
        ),
        "file_permissions" => (
            "document roots",
            "The configurations name no document root and PHP no session or upload directory."
                .to_owned(),
        ),
        "htaccess_invalid" if l.apache.is_none() => (
            "Apache",
            format!(
                "Apache {}: only Apache reads .htaccess files.",
                absent(servers, Server::APACHE)
            ),
        ),
        "htaccess_invalid" => (
            "Apache",
            "Apache's configuration names no document root.".into(),
        ),
        "fpm_max_children" if l.fpm.is_none() => (
            "PHP-FPM",
            format!("PHP-FPM {}.", absent(servers, Server::PHP_FPM)),
        ),
        "fpm_max_children" => (
            "PHP-FPM",
            "No pool, or the host's memory could not be read (/proc/meminfo).".to_owned(),
        ),
        "app_timeout" if l.nginx.is_none() => (
            "gunicorn, uWSGI",
            format!("nginx {}: nothing says where requests are passed.", absent(servers, Server::NGINX)),
        ),
        "app_timeout" => (
            "gunicorn, uWSGI",
            "No gunicorn or uWSGI process listens where nginx's proxy_pass or uwsgi_pass sends requests.".to_owned(),
        ),
        _ if check.starts_with("php_") && l.fpm.is_none() && l.apache.is_none() => (
            "PHP",
            "No PHP serving requests found (no PHP-FPM, no Apache with mod_php).".to_owned(),
        ),
        _ if check.starts_with("php_") => (
            "PHP",
            "No PHP-FPM pool or mod_php whose settings could be read.".to_owned(),
        ),
        _ => ("host", "Nothing to check here.".to_owned()),
    }
}

/// Why a server's layout is missing: not found, broken, or not looked for.
fn absent(servers: &[Server], (id, _): ServerId) -> &'static str {
    match servers.iter().find(|s| s.server == id).map(|s| s.status) {
        Some(Presence::NotLookedFor) => {
            "not examined (a --*-conf flag names other servers' configs)"
        }
        Some(Presence::Found) => "found, but its configuration could not be read",
        _ => "not found",
    }
}

/// `looked for nginx, Apache and PHP-FPM: none found` and the like.
fn looked(servers: &[Server]) -> String {
    let looked: Vec<&str> = servers
        .iter()
        .filter(|s| {
            s.status != Presence::NotLookedFor
                && [Server::NGINX.0, Server::APACHE.0, Server::PHP_FPM.0].contains(&s.server)
        })
        .map(|s| s.name)
        .collect();
    format!("looked for {} {LOOKED_IN}, none found", looked.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host where doctor looked for every server and found none.
    fn nothing_found() -> Vec<Server> {
        let none = |id| Server::from_discovery::<(), ()>(id, None, Ok(&None));
        vec![
            none(Server::NGINX),
            none(Server::APACHE),
            none(Server::PHP_FPM),
        ]
    }

    #[test]
    fn with_no_server_found_every_check_is_listed_skipped_with_why() {
        let report = crate::doctor::report(&Layout::default(), nothing_found());
        for id in CHECKS {
            let f = report
                .checks
                .iter()
                .find(|f| f.check == id)
                .unwrap_or_else(|| panic!("{id} vanished: {report:?}"));
            if id != "db_reachable" {
                assert_eq!(f.status, Status::Skipped, "{f:?}");
            }
            assert!(!f.detail.is_empty(), "{f:?}");
        }
        let syntax = report.checks.iter().find(|f| f.check == CHECKS[0]).unwrap();
        assert!(
            syntax.detail.contains("nginx, Apache, PHP-FPM")
                && syntax.detail.contains("none found"),
            "{syntax:?}"
        );
        assert!(no_web_server(&report.servers));
    }

    #[test]
    fn a_web_server_not_looked_for_is_not_said_missing() {
        let mut servers = vec![
            Server::not_looked_for(Server::NGINX),
            Server::not_looked_for(Server::APACHE),
        ];
        assert!(!no_web_server(&servers));
        servers[0] = Server::from_discovery::<(), ()>(Server::NGINX, None, Ok(&None));
        assert!(no_web_server(&servers));
        servers[1] = Server::from_discovery::<(), ()>(Server::APACHE, None, Ok(&Some(())));
        assert!(!no_web_server(&servers));
    }
}
