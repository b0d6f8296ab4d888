//! A real Alertmanager and Prometheus from Debian's packages, on 127.0.0.1 with their data
//! under a test's directory, for the `watch` tests (sinks, endpoints, end to end).

use std::path::Path;
use std::process::Command;

use super::{Daemon, fetch, free_port};

/// Alertmanager with a null receiver and no clustering, its data in `dir`; returned once
/// `/-/ready` answers.
pub fn start_alertmanager(dir: &Path) -> (Daemon, u16) {
    let binary = installed(
        "/usr/bin/prometheus-alertmanager",
        "prometheus-alertmanager",
    );
    let config = dir.join("alertmanager.yml");
    std::fs::write(
        &config,
        "route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n",
    )
    .unwrap();
    let data = dir.join("alertmanager-data");
    std::fs::create_dir_all(&data).unwrap();
    let port = free_port();
    let daemon = Daemon::spawn(
        "alertmanager",
        Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address="),
    );
    ready(daemon, port)
}

/// Prometheus scraping `target` (`host:port`) every second, its data in `dir`; returned once
/// `/-/ready` answers.
pub fn start_prometheus(dir: &Path, target: &str) -> (Daemon, u16) {
    let binary = installed("/usr/bin/prometheus", "prometheus");
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: fivehundred\n    static_configs:\n\
             \x20     - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let tsdb = dir.join("tsdb");
    std::fs::create_dir_all(&tsdb).unwrap();
    let port = free_port();
    let daemon = Daemon::spawn(
        "prometheus",
        Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", tsdb.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn"),
    );
    ready(daemon, port)
}

/// The binary, or a failure that says which package brings it.
fn installed(binary: &'static str, package: &str) -> &'static str {
    assert!(
        Path::new(binary).exists(),
        "{binary} is missing: apt-get install {package} (scripts/test does)"
    );
    binary
}

fn ready(mut daemon: Daemon, port: u16) -> (Daemon, u16) {
    daemon.wait_until("/-/ready", || {
        fetch(port, "GET", "/-/ready", "127.0.0.1", b"").status == 200
    });
    (daemon, port)
}
