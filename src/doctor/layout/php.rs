//! The PHP settings in effect where PHP serves requests: each PHP-FPM pool (its SAPI's
//! php.ini plus the pool's overrides) and mod_php (Apache's php.ini plus `php_admin_value`
//! lines). The base values come from PHP itself (`php-fpm -i`, `php -c INI -i`), so includes,
//! scan directories and built-in defaults are PHP's own.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::command;

/// The ini settings doctor reads. PHP knows hundreds; these decide whether errors leak, get
/// logged, and where PHP writes.
pub const KEYS: [&str; 6] = [
    "display_errors",
    "log_errors",
    "error_log",
    "memory_limit",
    "session.save_path",
    "upload_tmp_dir",
];

/// PHP as it runs in one place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhpContext {
    /// `pool www`, `mod_php`.
    pub name: String,
    /// The user PHP runs as there.
    pub user: String,
    /// [`KEYS`] → value; a key PHP reports as "no value" is an empty string.
    pub ini: BTreeMap<String, String>,
    /// The php.ini the base values came from.
    pub ini_file: Option<PathBuf>,
    /// The keys a pool or Apache line sets over php.ini.
    pub overridden: BTreeSet<String>,
}

impl PhpContext {
    pub fn new(
        name: String,
        user: String,
        base: (BTreeMap<String, String>, Option<PathBuf>),
    ) -> PhpContext {
        PhpContext {
            name,
            user,
            ini: base.0,
            ini_file: base.1,
            overridden: BTreeSet::new(),
        }
    }

    pub fn get(&self, key: &str) -> &str {
        self.ini.get(key).map(String::as_str).unwrap_or("")
    }

    /// A boolean ini value as PHP reads it (`display_errors` also takes `stderr`/`stdout`).
    pub fn flag(&self, key: &str) -> bool {
        is_on(self.get(key))
    }

    /// Where sessions are written: the path part of `session.save_path` (`N;MODE;/path`), or
    /// the system temp dir when it is empty.
    pub fn session_dir(&self) -> PathBuf {
        let raw = self.get("session.save_path");
        dir_or_tmp(raw.rsplit(';').next().unwrap_or(""))
    }

    /// Where uploads are written before the script moves them.
    pub fn upload_dir(&self) -> PathBuf {
        dir_or_tmp(self.get("upload_tmp_dir"))
    }

    /// Applies overrides (pool `php_*value[…]`, Apache `php_admin_value …`) over the base.
    pub fn overlay(&mut self, overrides: &BTreeMap<String, String>) {
        for key in KEYS {
            if let Some(v) = overrides.get(key) {
                self.ini.insert(key.to_owned(), v.clone());
                self.overridden.insert(key.to_owned());
            }
        }
    }
}

fn dir_or_tmp(p: &str) -> PathBuf {
    let p = p.trim();
    if p.is_empty() {
        std::env::temp_dir()
    } else {
        PathBuf::from(p)
    }
}

/// PHP's reading of a boolean ini value.
pub fn is_on(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "on" | "yes" | "true" | "stdout" | "stderr"
    )
}

/// `memory_limit` in bytes; None for `-1` (no limit) or nonsense.
pub fn bytes(v: &str) -> Option<u64> {
    let v = v.trim();
    let (num, unit) = v.split_at(v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len()));
    let n: u64 = num.parse().ok()?;
    let mult = match unit.to_ascii_lowercase().as_str() {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => return None,
    };
    Some(n * mult)
}

/// Reads `php -i` output: `key => local value => master value`.
pub fn parse_info(info: &str) -> (BTreeMap<String, String>, Option<PathBuf>) {
    let mut ini = BTreeMap::new();
    let mut file = None;
    for line in info.lines() {
        let mut parts = line.split(" => ");
        let (Some(key), Some(local)) = (parts.next(), parts.next()) else {
            continue;
        };
        if key == "Loaded Configuration File" && local != "(none)" {
            file = Some(PathBuf::from(local));
        } else if KEYS.contains(&key) {
            let v = if local == "no value" { "" } else { local };
            ini.insert(key.to_owned(), v.to_owned());
        }
    }
    (ini, file)
}

/// The base settings of PHP-FPM's SAPI (`php-fpm -i`, `-c ini` when given).
pub fn fpm_base(
    fpm: &Path,
    ini: Option<&Path>,
) -> Result<(BTreeMap<String, String>, Option<PathBuf>), String> {
    info(fpm, ini, None)
}

/// The base settings of mod_php: Apache's php.ini read by the CLI binary (php.ini values
/// override the CLI's built-in defaults, so what it reports is what Apache's PHP gets).
pub fn mod_php_base(
    ini: Option<&Path>,
) -> Result<(BTreeMap<String, String>, Option<PathBuf>), String> {
    let php = command::find("php").ok_or("no php binary to read Apache's php.ini with")?;
    let ini = match ini {
        Some(i) => i.to_path_buf(),
        None => newest("/etc/php", "apache2/php.ini").ok_or("no /etc/php/*/apache2/php.ini")?,
    };
    let scan = ini.with_file_name("conf.d");
    info(&php, Some(&ini), scan.is_dir().then_some(scan.as_path()))
}

fn info(
    bin: &Path,
    ini: Option<&Path>,
    scan_dir: Option<&Path>,
) -> Result<(BTreeMap<String, String>, Option<PathBuf>), String> {
    let mut cmd = std::process::Command::new(bin);
    if let Some(i) = ini {
        cmd.arg("-c").arg(i);
    }
    if let Some(d) = scan_dir {
        cmd.env("PHP_INI_SCAN_DIR", d);
    }
    cmd.arg("-i");
    let out = command::run_command(cmd)?;
    if !out.success {
        return Err(command::complaint(&out.stderr));
    }
    Ok(parse_info(&out.stdout))
}

/// `root/<version>/rel` for the highest version directory that has it.
fn newest(root: &str, rel: &str) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(root)
        .ok()?
        .flatten()
        .map(|e| e.path().join(rel))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_php_info_and_values() {
        let (ini, file) = parse_info(
            "Loaded Configuration File => /etc/php/8.2/fpm/php.ini\ndisplay_errors => Off => Off\nerror_log => no value => no value\nmemory_limit => 128M => 128M\nsession.save_path => 2;0600;/var/lib/php/sessions => x\n",
        );
        assert_eq!(file, Some("/etc/php/8.2/fpm/php.ini".into()));
        let mut ctx = PhpContext::new("pool www".into(), "www-data".into(), (ini, file));
        assert!(!ctx.flag("display_errors"));
        assert_eq!(ctx.get("error_log"), "");
        assert_eq!(ctx.session_dir(), PathBuf::from("/var/lib/php/sessions"));
        assert_eq!(ctx.upload_dir(), std::env::temp_dir());
        ctx.overlay(&BTreeMap::from([("display_errors".into(), "1".into())]));
        assert!(ctx.flag("display_errors"));
        assert!(ctx.overridden.contains("display_errors"));
        assert_eq!(bytes(ctx.get("memory_limit")), Some(128 << 20));
        assert_eq!(bytes("-1"), None);
        assert_eq!(bytes("512k"), Some(512 << 10));
    }
}
