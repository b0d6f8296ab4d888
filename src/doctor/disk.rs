//! `disk_space` and `disk_inodes`: every filesystem that holds a document root, a log, PHP's
//! session or upload dir, or a server temp dir. A full one fails every request that writes
//! (sessions, uploads, request bodies nginx buffers, logs).

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{Finding, Status};

/// Used share at which a filesystem is a warning, unless plenty is left in absolute terms.
const WARN_PCT: f64 = 90.0;
/// Absolute free space above which a busy big disk is not a warning.
const WARN_FREE_ENOUGH: u64 = 20 << 30;
/// Used share at which a filesystem is critical: the next burst of writes fails.
const CRIT_PCT: f64 = 97.0;

/// One filesystem and the paths doctor found on it.
struct Filesystem {
    mount: PathBuf,
    paths: Vec<PathBuf>,
    stat: nix::sys::statvfs::Statvfs,
}

/// Both checks, one finding each per filesystem.
pub fn check(paths: &[PathBuf]) -> Vec<Finding> {
    let mounts = mount_points();
    let mut by_dev: BTreeMap<u64, Filesystem> = BTreeMap::new();
    for p in paths {
        let Some(existing) = p.ancestors().find(|a| a.exists()) else {
            continue;
        };
        let (Ok(meta), Ok(stat)) = (existing.metadata(), nix::sys::statvfs::statvfs(existing))
        else {
            continue;
        };
        let fs = by_dev.entry(meta.dev()).or_insert_with(|| Filesystem {
            mount: mount_of(existing, &mounts),
            paths: Vec::new(),
            stat,
        });
        if !fs.paths.contains(p) {
            fs.paths.push(p.clone());
        }
    }
    by_dev
        .values()
        .flat_map(|fs| [space(fs), inodes(fs)])
        .collect()
}

// statvfs fields are C types whose width depends on the target; on 64-bit Linux the casts
// are no-ops.
#[allow(clippy::unnecessary_cast)]
fn space(fs: &Filesystem) -> Finding {
    let frag = fs.stat.fragment_size() as u64;
    let total = fs.stat.blocks() as u64 * frag;
    // What a non-root worker can still write: root's reserve is not for it.
    let free = fs.stat.blocks_available() as u64 * frag;
    let used_pct = pct(total - free.min(total), total);
    let status = if used_pct >= CRIT_PCT {
        Status::Critical
    } else if used_pct >= WARN_PCT && free < WARN_FREE_ENOUGH {
        Status::Warning
    } else {
        Status::Ok
    };
    let detail = format!(
        "{used_pct:.0}% used, {} free of {}; holds {}.",
        human(free),
        human(total),
        list(&fs.paths)
    );
    finding("disk_space", status, fs, detail).fix(fix_for(
        status,
        "Free space now (`df -h`; `du -xsh` the largest dirs): rotate and compress old logs, clear caches and core dumps, or grow the filesystem.",
    ))
}

#[allow(clippy::unnecessary_cast)]
fn inodes(fs: &Filesystem) -> Finding {
    let total = fs.stat.files() as u64;
    if total == 0 {
        // Filesystems without an inode limit (btrfs reports 0) cannot run out of them.
        return finding(
            "disk_inodes",
            Status::Ok,
            fs,
            "No fixed inode count on this filesystem.".into(),
        );
    }
    let free = fs.stat.files_available() as u64;
    let used_pct = pct(total - free.min(total), total);
    let status = if used_pct >= CRIT_PCT {
        Status::Critical
    } else if used_pct >= WARN_PCT {
        Status::Warning
    } else {
        Status::Ok
    };
    let detail = format!(
        "{used_pct:.0}% of inodes used, {free} of {total} free; holds {}.",
        list(&fs.paths)
    );
    finding("disk_inodes", status, fs, detail).fix(fix_for(
        status,
        "Delete the many small files filling it (`df -i`, then `find DIR -xdev -type f | cut -d/ -f2-3 | sort | uniq -c | sort -n`): old PHP sessions, cache entries, mail queues.",
    ))
}

fn finding(check: &'static str, status: Status, fs: &Filesystem, detail: String) -> Finding {
    Finding::new(check, status, fs.mount.display().to_string()).detail(detail)
}

fn fix_for(status: Status, fix: &str) -> String {
    if status == Status::Ok {
        String::new()
    } else {
        fix.to_owned()
    }
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

fn list(paths: &[PathBuf]) -> String {
    const SHOWN: usize = 4;
    let mut s: Vec<String> = paths
        .iter()
        .take(SHOWN)
        .map(|p| p.display().to_string())
        .collect();
    if paths.len() > SHOWN {
        s.push(format!("{} more", paths.len() - SHOWN));
    }
    s.join(", ")
}

/// Bytes in the largest unit that keeps a whole number in front.
pub fn human(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Mount points from /proc/self/mounts (octal escapes such as `\040` decoded).
fn mount_points() -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split(' ').nth(1))
        .map(|m| PathBuf::from(unescape(m)))
        .collect()
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .and_then(|d| u8::from_str_radix(std::str::from_utf8(d).ok()?, 8).ok());
        match (b[i], octal) {
            (b'\\', Some(c)) => {
                out.push(c);
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The longest mount point that holds `p` (canonical, so symlinks do not fool it).
fn mount_of(p: &Path, mounts: &[PathBuf]) -> PathBuf {
    let p = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    mounts
        .iter()
        .filter(|m| p.starts_with(m))
        .max_by_key(|m| m.as_os_str().len())
        .cloned()
        .unwrap_or(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_filesystem_of_each_path_once() {
        let tmp = std::env::temp_dir();
        let f = check(&[tmp.clone(), tmp.join("does/not/exist/yet")]);
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(f[0].check, "disk_space");
        assert_eq!(f[1].check, "disk_inodes");
        assert!(f[0].detail.contains(&tmp.display().to_string()), "{f:?}");
        assert!(Path::new(&f[0].subject).is_absolute());
    }

    #[test]
    fn decodes_mount_escapes_and_sizes() {
        assert_eq!(unescape("/mnt/my\\040disk"), "/mnt/my disk");
        assert_eq!(human(512), "512 B");
        assert_eq!(human(3 << 20), "3.0 MiB");
    }
}
