//! `fivehundred watch`: follows the logs live, detects 5xx spikes and robots.txt failures as
//! they happen, and tells people (webhooks, Alertmanager) and Prometheus.

pub mod detect;
pub mod http;
pub mod live;
pub mod pipeline;
pub mod sinks;
pub mod store;
