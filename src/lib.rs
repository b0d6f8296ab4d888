//! fivehundred: from the logs a web server already writes to the cause of its 5xx answers.
//!
//! Data flows one way: [`read`] turns paths into byte records, [`formats`] detects each
//! input's kind and parses records into events ([`scope`] says which count: `--host`,
//! `--path`, `--status`, the window), the [`engine`] ties 5xx responses to the error
//! records that explain them (identity first, over a bounded window), [`diagnose`] names and
//! groups its decisions into incidents, [`seo`] counts what crawlers got from the same scan ([`line_figures`]: what
//! every response took and which host it was for), and
//! [`render`] prints the result. [`watch`] follows logs live. [`probe`] asks a live site
//! for errors and reports what its answers leak. [`explain`] says what a 5xx status means. [`manual`] renders completions and man pages
//! from the command line's definition; [`tls`] builds the HTTP clients.

pub mod cli;
pub mod diagnose;
pub mod doctor;
pub mod engine;
pub mod explain;
pub mod formats;
pub mod host_requests;
pub mod line_figures;
pub mod manual;
pub mod probe;
pub mod read;
pub mod render;
pub mod response_times;
pub mod scan;
pub mod scope;
pub mod seo;
pub mod tls;
pub mod watch;
