//! `fivehundred doctor`: find, on a live host, the conditions that make servers answer 5xx
//! before they do: full disks, files the server user cannot read, `.htaccess` lines Apache
//! cannot parse, PHP settings that leak or hide errors, a PHP-FPM pool too small or too large
//! for the host, configs that do not parse, and databases that do not answer.
//!
//! Read-only: it runs the servers' own test commands (`nginx -T`, `apachectl -S`/`-M`/`-t`,
//! `php-fpm -tt`, `php-fpm -i`), reads configuration and metadata, and opens a TCP or unix
//! socket connection to each database (no credentials are read or sent).
//!
//! [`layout`] learns what the servers are configured to do; each check module turns that
//! layout into [`Finding`]s.

pub mod htaccess;
pub mod layout;
pub mod overrides;

use serde::Serialize;

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

    pub fn detail(mut self, detail: impl Into<String>) -> Finding {
        self.detail = detail.into();
        self
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Finding {
        self.fix = fix.into();
        self
    }
}
