//! `fivehundred doctor`: find, on a live host, the conditions that make servers answer 5xx
//! before they do: full disks, files the server user cannot read, `.htaccess` lines Apache
//! cannot parse, PHP settings that leak or hide errors, a PHP-FPM pool too small or too large
//! for the host, configs that do not parse, and databases that do not answer.
//!
//! Read-only: it runs the servers' own test commands (`nginx -T`, `apachectl -M`/`-t`,
//! `php-fpm -tt`, `php-fpm -i`), reads configuration and metadata, and opens a TCP or unix
//! socket connection to each database (no credentials are read or sent).
//!
//! [`layout`] learns what the servers are configured to do; each check module turns that
//! layout into [`Finding`]s.

pub mod app;
pub mod db;
pub mod disk;
pub mod fpm;
pub mod htaccess;
mod htaccess_files;
pub mod layout;
pub mod overrides;
pub mod permissions;
pub mod php;
pub mod seen;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use layout::{Layout, Options};
pub use seen::Server;

/// How bad a finding is. Ordered from worst, so sorting puts critical findings first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Already failing requests, or will at once (a leak counts: it is happening now).
    Critical,
    /// Will fail requests under some load or soon, or weakens security.
    Warning,
    /// Checked and fine.
    Ok,
    /// Could not be checked here (no such server, no permission); the detail says why.
    Skipped,
}

/// One result of one check on one subject (a filesystem, a file, a pool, a database).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The check id (`disk_space`, `file_permissions`, …): part of the interface.
    pub check: &'static str,
    pub status: Status,
    /// What was checked: a path, `pool www`, `127.0.0.1:3306`.
    pub subject: String,
    /// What was found, in one or two sentences.
    pub detail: String,
    /// What to change, in one or two sentences; empty when nothing needs changing.
    pub fix: String,
}

impl Finding {
    pub fn new(check: &'static str, status: Status, subject: impl Into<String>) -> Finding {
        Finding {
            check,
            status,
            subject: subject.into(),
            detail: String::new(),
            fix: String::new(),
        }
    }

    /// The same finding with another status.
    pub fn with(mut self, status: Status) -> Finding {
        self.status = status;
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Finding {
        self.detail = detail.into();
        self
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Finding {
        self.fix = fix.into();
        self
    }
}

/// `1 worker`, `3 workers`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The JSON report (`{"version": 1, "checks": […], "servers": […]}`), critical findings
/// first; every check is in it, `skipped` with why where it could not run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub version: u32,
    pub checks: Vec<Finding>,
    /// Each server looked for, and whether it was found.
    pub servers: Vec<Server>,
}

impl Report {
    /// Whether any finding is critical (exit 1).
    pub fn critical(&self) -> bool {
        self.checks.iter().any(|f| f.status == Status::Critical)
    }
}

/// Learns the layout and runs every check on it.
pub fn run(opts: &Options) -> Report {
    let layout = Layout::discover(opts);
    let mut servers = layout.servers.clone();
    servers.extend(seen::databases());
    report(&layout, servers)
}

/// Every check on a layout; those that could not run are listed as `skipped`, with why.
pub fn report(layout: &Layout, servers: Vec<Server>) -> Report {
    let mut checks = layout.findings.clone();
    checks.extend(disk::check(&disk_paths(layout)));
    checks.extend(permissions::check(&sites(layout), &write_dirs(layout)));
    checks.extend(layout.apache.iter().flat_map(htaccess_files::check));
    checks.extend(php::check(&layout.php));
    if let (Some(fpm), Some(host)) = (&layout.fpm, fpm::Host::read()) {
        checks.extend(fpm::check(fpm, &layout.php, &host));
    }
    checks.extend(db::check(&databases(layout)));
    // The processes are looked for only where nginx passes requests on.
    if let Some(nginx) = layout.nginx.as_ref().filter(|n| !n.proxied.is_empty()) {
        checks.extend(app::check(&nginx.proxied, &app::running()));
    }
    let not_run = seen::not_run(&checks, layout, &servers);
    checks.extend(not_run);
    // Worst first; within a status, the order the checks ran in.
    checks.sort_by_key(|f| f.status);
    Report {
        version: 1,
        checks,
        servers,
    }
}

/// Every place a full filesystem fails requests: roots, logs, PHP's session and upload
/// dirs, the servers' temp dirs.
fn disk_paths(l: &Layout) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = l.docroots().into_iter().map(|(r, _)| r).collect();
    v.extend(
        l.logs()
            .into_iter()
            .filter_map(|p| p.parent().map(Path::to_path_buf)),
    );
    v.extend(l.php.iter().flat_map(|c| [c.session_dir(), c.upload_dir()]));
    v.extend(l.nginx.iter().flat_map(|n| n.temp_dirs.iter().cloned()));
    v
}

fn sites(l: &Layout) -> Vec<permissions::Site> {
    let php_users = l.php_users();
    l.docroots()
        .into_iter()
        .map(|(root, readers)| {
            let php = readers
                .iter()
                .filter(|u| php_users.contains(u))
                .cloned()
                .collect();
            permissions::Site { root, readers, php }
        })
        .collect()
}

/// PHP's session and upload dirs, each with the user that writes it (sessions only when
/// PHP keeps them in files).
fn write_dirs(l: &Layout) -> Vec<(PathBuf, String)> {
    let mut v: Vec<(PathBuf, String)> = Vec::new();
    for c in &l.php {
        for d in [c.session_dir(), c.upload_dir()] {
            if !v.iter().any(|(p, u)| *p == d && *u == c.user) {
                v.push((d, c.user.clone()));
            }
        }
    }
    v
}

/// Each database named by a pool's env or doctor's own, with who named it.
fn databases(l: &Layout) -> BTreeMap<db::Endpoint, Vec<String>> {
    let mut out: BTreeMap<db::Endpoint, Vec<String>> = BTreeMap::new();
    let own: BTreeMap<String, String> = std::env::vars().collect();
    let envs = l
        .fpm
        .iter()
        .flat_map(|f| &f.pools)
        .map(|p| (format!("pool {}", p.name), p.env.clone()))
        .chain(std::iter::once(("doctor's environment".to_owned(), own)));
    for (who, env) in envs {
        for e in db::endpoints(&env) {
            let by = out.entry(e).or_default();
            if !by.contains(&who) {
                by.push(who.clone());
            }
        }
    }
    out
}
