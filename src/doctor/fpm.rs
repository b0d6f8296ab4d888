//! `fpm_max_children`: is each PHP-FPM pool's `pm.max_children` right for this host? Too
//! many workers of the size this pool's workers really are exhaust the RAM (the OOM killer
//! then kills workers mid-request); too few, and FPM's own log says the limit was reached
//! (requests queue, then time out with 502/504).

use std::path::Path;

use super::disk::human;
use super::layout::fpm::{FpmLayout, Pool};
use super::layout::php::{self, PhpContext};
use super::{Finding, Status};

const CHECK: &str = "fpm_max_children";
/// The share of RAM PHP workers may take: the database, the web server and the page cache
/// need the rest.
const RAM_SHARE: f64 = 0.8;

/// What the host and the logs say about the pools.
pub struct Host {
    pub ram: u64,
}

impl Host {
    pub fn read() -> Option<Host> {
        let text = std::fs::read_to_string("/proc/meminfo").ok()?;
        let kb: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(Host { ram: kb * 1024 })
    }
}

pub fn check(fpm: &FpmLayout, contexts: &[PhpContext], host: &Host) -> Vec<Finding> {
    let master = fpm.pid_file.as_deref().and_then(read_pid);
    let log = fpm
        .error_log
        .as_deref()
        .map(reached_counts)
        .unwrap_or_default();
    fpm.pools
        .iter()
        .map(|pool| {
            let workers = master
                .map(|m| worker_sizes(m, &pool.name))
                .unwrap_or_default();
            let limit = contexts
                .iter()
                .find(|c| c.name == format!("pool {}", pool.name))
                .and_then(|c| php::bytes(c.get("memory_limit")));
            let reached = log
                .iter()
                .filter(|(p, _)| *p == pool.name)
                .map(|(_, t)| t.as_str())
                .collect::<Vec<_>>();
            judge(pool, &workers, limit, &reached, host)
        })
        .collect()
}

/// The verdict for one pool, from the measured worker sizes (bytes), the pool's memory_limit
/// and the times the log says max_children was reached.
fn judge(
    pool: &Pool,
    workers: &[u64],
    memory_limit: Option<u64>,
    reached: &[&str],
    host: &Host,
) -> Finding {
    let subject = format!("pool {}", pool.name);
    let n = pool.max_children as u64;
    let budget = (host.ram as f64 * RAM_SHARE) as u64;
    let typical = median(workers);
    let (size, basis) = match (typical, memory_limit) {
        (Some(t), _) => (
            Some(t),
            format!(
                "{} measured, typical {}",
                super::count(workers.len(), "worker"),
                human(t)
            ),
        ),
        (None, Some(l)) => (
            Some(l),
            format!("no worker running to measure; memory_limit {}", human(l)),
        ),
        (None, None) => (
            None,
            "no worker running to measure, and no memory_limit".to_owned(),
        ),
    };
    let fits = size.map(|s| (budget / s.max(1)).max(1));
    let base = format!("pm.max_children = {n} ({basis}; RAM {})", human(host.ram));
    // Only a measured size can say the pool is too big: memory_limit is an upper bound.
    if let Some(s) = typical
        && n * s > budget
    {
        return Finding::new(CHECK, Status::Warning, subject)
            .detail(format!("{base}: {n} workers would need {}, more than {:.0}% of RAM.", human(n * s), RAM_SHARE * 100.0))
            .fix(format!("Lower pm.max_children to about {} or add memory; at full load the OOM killer kills workers mid-request.", fits.unwrap_or(1)));
    }
    if let Some(last) = reached.last() {
        let room = match fits {
            Some(f) if f > n => format!("memory allows about {f}"),
            _ => "measure a worker's size first (ps -o rss -C php-fpm)".to_owned(),
        };
        return Finding::new(CHECK, Status::Warning, subject)
            .detail(format!("{base}: FPM's log says the pool reached it {} times, last at {last}.", reached.len()))
            .fix(format!("Raise pm.max_children ({room}) and find the slow requests holding workers with request_slowlog_timeout."));
    }
    Finding::new(CHECK, Status::Ok, subject)
        .detail(format!("{base}; the limit was not reached in FPM's log."))
}

fn median(v: &[u64]) -> Option<u64> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

fn read_pid(p: &Path) -> Option<u32> {
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

/// The memory each worker of `pool` under `master` uses: its proportional set size (shared
/// pages such as opcache split between the workers), or its RSS where PSS cannot be read.
fn worker_sizes(master: u32, pool: &str) -> Vec<u64> {
    let title = format!("php-fpm: pool {pool}");
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| parent(*pid) == Some(master))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).trim_end_matches(['\0', ' ']) == title)
        })
        .filter_map(|pid| {
            kb_field(&format!("/proc/{pid}/smaps_rollup"), "Pss:")
                .or_else(|| kb_field(&format!("/proc/{pid}/status"), "VmRSS:"))
        })
        .collect()
}

fn parent(pid: u32) -> Option<u32> {
    field(&format!("/proc/{pid}/status"), "PPid:").and_then(|p| p.try_into().ok())
}

/// A `Name:   123 kB` line of a /proc file, in bytes.
fn kb_field(file: &str, name: &str) -> Option<u64> {
    field(file, name).map(|kb| kb * 1024)
}

/// The number after `name` on its line of a /proc file.
fn field(file: &str, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// (pool, time) of each `WARNING: [pool www] server reached pm.max_children setting (5)`
/// in FPM's log, in order.
fn reached_counts(log: &Path) -> Vec<(String, String)> {
    use std::io::BufRead;
    let Ok(f) = std::fs::File::open(log) else {
        return Vec::new();
    };
    std::io::BufReader::new(f)
        .split(b'\n')
        .map_while(Result::ok)
        .filter_map(|line| {
            let line = String::from_utf8_lossy(&line).into_owned();
            let rest = line.split_once("] server reached ").map(|(a, _)| a)?;
            let pool = rest.rsplit_once("[pool ")?.1.to_owned();
            let time = line.strip_prefix('[')?.split_once(']')?.0.to_owned();
            line.contains("max_children").then_some((pool, time))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(n: u32) -> Pool {
        Pool {
            name: "www".into(),
            max_children: n,
            ..Pool::default()
        }
    }

    #[test]
    fn too_many_for_ram_too_few_for_load_or_fine() {
        let host = Host { ram: 4 << 30 };
        let big = judge(
            &pool(100),
            &[60 << 20, 64 << 20, 70 << 20],
            Some(128 << 20),
            &[],
            &host,
        );
        assert_eq!(big.status, Status::Warning, "{big:?}");
        assert!(big.fix.contains("about 51"), "{big:?}");
        let busy = judge(
            &pool(5),
            &[40 << 20],
            Some(128 << 20),
            &["25-Nov-2026 10:00:00", "25-Nov-2026 11:00:00"],
            &host,
        );
        assert_eq!(busy.status, Status::Warning);
        assert!(
            busy.detail
                .contains("2 times, last at 25-Nov-2026 11:00:00"),
            "{busy:?}"
        );
        // Unmeasured: memory_limit is an upper bound, never the reason for a warning.
        assert_eq!(
            judge(&pool(100), &[], Some(128 << 20), &[], &host).status,
            Status::Ok
        );
    }

    #[test]
    fn reads_reached_warnings_from_the_fpm_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("fpm.log");
        std::fs::write(
            &log,
            "[25-Nov-2026 10:00:00] NOTICE: ready to handle connections\n[25-Nov-2026 10:00:05] WARNING: [pool www] server reached pm.max_children setting (1), consider raising it\n[25-Nov-2026 10:00:09] WARNING: [pool api] server reached max_children setting (2), consider raising it\n",
        )
        .unwrap();
        assert_eq!(
            reached_counts(&log),
            [
                ("www".to_owned(), "25-Nov-2026 10:00:05".to_owned()),
                ("api".into(), "25-Nov-2026 10:00:09".into())
            ]
        );
    }
}
