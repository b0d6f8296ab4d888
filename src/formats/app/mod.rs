//! Application servers' own logs: what the application behind the proxy wrote when it failed
//! (gunicorn's error log, uWSGI's log, Python's `logging`…). Each dialect lives in a file of
//! its own with the same three functions, all byte scanning:
//! - `sniff(line)`: whether a line is one only this dialect writes (detection counts these);
//! - `is_header(line)`: whether a line starts a record in a file of this dialect, which may
//!   hold other dialects' records too (gunicorn's `--capture-output` puts the application's
//!   `logging` records in its error log); every other line continues the record before it,
//!   so a traceback is one record with its header;
//! - `parse(record, tz)`: the record as an [`ErrorEvent`] of [`Kind::App`] whose `language`
//!   says how [`trace`] reads its stack trace.

pub mod dotnet;
pub mod go;
pub mod java;
pub mod node;
pub mod python;
pub mod ruby;
pub mod trace;

use jiff::tz::TimeZone;

pub use trace::Language;

use super::ErrorEvent;

/// The application-server log dialects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppLog {
    /// gunicorn's error log: `[2026-12-07 15:30:00 +0000] [123] [ERROR] …`.
    Gunicorn,
    /// uWSGI's log: its own lines, request lines `[pid: …] … (HTTP/1.1 500)`, and what the
    /// application wrote on stderr.
    Uwsgi,
    /// Python's `logging` (Django, Flask/werkzeug): `2026-12-07 15:30:00,123 ERROR …`.
    Python,
    /// Rails' `production.log` (Ruby's `Logger`): `F, [2026-12-07T15:25:08.418077 #24905] FATAL
    /// -- : [request-id] …`, the exception and backtrace on the lines after.
    Rails,
    /// Puma's stdout/stderr: `[pid] ! Terminating timed out worker …`, dated error lines.
    Puma,
    /// A Node server's stderr: an error's stack (Express's default handler), an uncaught
    /// exception's exit, V8's `FATAL ERROR`.
    Node,
    /// Tomcat's `OneLineFormatter` (`catalina.out`, `catalina.DATE.log`, `localhost.DATE.log`):
    /// `07-Dec-2026 15:31:53.410 SEVERE [thread] logger.method message` and a Java stack trace.
    Tomcat,
    /// Spring Boot's default console pattern: `2026-02-19T12:22:37.451Z  INFO 1 --- [app]
    /// [thread] logger : message`.
    Spring,
    /// A Go `net/http` service's stderr: `log` lines, `http: panic serving …` and crashes.
    GoHttp,
    /// ASP.NET Core's console logger: `fail: Category[1]` and indented lines.
    AspNet,
}

impl AppLog {
    /// Every dialect, in the order detection breaks ties.
    pub const ALL: [AppLog; 10] = [
        Self::Gunicorn,
        Self::Uwsgi,
        Self::Python,
        Self::Rails,
        Self::Puma,
        Self::Node,
        Self::Tomcat,
        Self::Spring,
        Self::GoHttp,
        Self::AspNet,
    ];

    /// The name reported in `inputs[].format`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Gunicorn => "gunicorn",
            Self::Uwsgi => "uwsgi",
            Self::Python => "python",
            Self::Rails => "rails",
            Self::Puma => "puma",
            Self::Node => "node",
            Self::Tomcat => "tomcat",
            Self::Spring => "spring",
            Self::GoHttp => "go",
            Self::AspNet => "aspnet",
        }
    }

    /// Whether `line` is one only this dialect writes.
    pub fn sniff(self, line: &[u8]) -> bool {
        match self {
            Self::Gunicorn => python::gunicorn_sniff(line),
            Self::Uwsgi => python::uwsgi_sniff(line),
            Self::Python => python::logging_sniff(line),
            Self::Rails => ruby::is_rails_header(line),
            Self::Puma => ruby::puma_sniff(line),
            Self::Node => node::sniff(line),
            Self::Tomcat => java::is_tomcat_header(line) || java::is_frame_line(line),
            Self::Spring => java::is_spring_header(line) || java::is_frame_line(line),
            Self::GoHttp => go::sniff(line),
            Self::AspNet => dotnet::sniff(line),
        }
    }

    /// Whether `line` starts a record in a log of this dialect.
    pub fn is_header(self, line: &[u8]) -> bool {
        match self {
            Self::Gunicorn | Self::Python => python::is_header(line),
            Self::Uwsgi => python::uwsgi_is_header(line),
            Self::Rails => ruby::is_rails_header(line),
            Self::Puma => ruby::is_puma_header(line),
            Self::Node => node::is_header(line),
            Self::Tomcat => java::is_tomcat_header(line),
            Self::Spring => java::is_spring_header(line),
            Self::GoHttp => go::is_header(line),
            Self::AspNet => dotnet::is_header(line),
        }
    }

    /// Parses a whole record (lines joined with `\n`).
    pub fn parse(self, record: &[u8], tz: &TimeZone) -> Option<ErrorEvent> {
        match self {
            Self::Gunicorn | Self::Python => python::parse(record, tz),
            Self::Uwsgi => python::uwsgi_parse(record, tz),
            Self::Rails => ruby::parse_rails(record, tz),
            Self::Puma => ruby::parse_puma(record),
            Self::Node => node::parse(record),
            Self::Tomcat => java::parse_tomcat(record, tz),
            Self::Spring => java::parse_spring(record, tz),
            Self::GoHttp => go::parse(record, tz),
            Self::AspNet => dotnet::parse(record, tz),
        }
    }

    /// The record's level, read without parsing the rest, where its header names one.
    pub fn level(self, record: &[u8]) -> Option<&[u8]> {
        match self {
            Self::Gunicorn | Self::Python => python::level(record),
            Self::Uwsgi => python::uwsgi_level(record),
            Self::Rails => ruby::rails_header(record).map(|h| h.level),
            Self::Tomcat => java::tomcat_level(record),
            Self::Spring => java::spring_level(record),
            Self::GoHttp => go::level(record),
            Self::AspNet => dotnet::level(record),
            Self::Puma | Self::Node => None,
        }
    }
}
