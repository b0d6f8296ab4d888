//! `fivehundred watch`: follows the logs live, detects 5xx spikes and robots.txt failures as
//! they happen, and tells people (webhooks, Alertmanager) and Prometheus. [`tail`] follows the
//! files through rotation, truncation and restarts and hands out their new whole lines, with a
//! checkpoint that lets a restart neither lose nor repeat a line.

pub mod detect;
pub mod http;
pub mod journal;
pub mod live;
pub mod pipeline;
pub mod run;
pub mod sinks;
pub mod store;
pub mod tail;
