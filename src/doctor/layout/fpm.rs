//! PHP-FPM's pools as `php-fpm -tt` prints them: every pool's effective settings after its
//! includes, so no pool file has to be parsed here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::command;

/// One PHP-FPM pool.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pool {
    pub name: String,
    pub user: String,
    pub group: String,
    /// `listen`: a socket path or `[host:]port`.
    pub listen: String,
    pub pm: String,
    pub max_children: u32,
    /// `php_value[…]`, `php_flag[…]`, `php_admin_value[…]`, `php_admin_flag[…]`, by ini name
    /// (an admin value wins over a plain one, as in FPM).
    pub php: BTreeMap<String, String>,
    /// `env[NAME]` values the workers get.
    pub env: BTreeMap<String, String>,
}

/// What doctor needs from PHP-FPM.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FpmLayout {
    /// The binary (`php-fpm8.2`), for `-i`.
    pub binary: PathBuf,
    /// The config named with `--fpm-conf`, if any.
    pub conf: Option<PathBuf>,
    /// The master's pid file and log (`[global] pid`, `error_log`).
    pub pid_file: Option<PathBuf>,
    pub error_log: Option<PathBuf>,
    pub pools: Vec<Pool>,
}

/// Builds the pools from `php-fpm -tt` output: `NOTICE: [pool]` starts a section, and
/// `NOTICE: \tkey = value` lines follow. FPM keeps a pool's `php_*` lines in a list it
/// prepends to, prints in list order and applies in list order: the last one printed is the
/// one in effect (the first written in the config).
pub fn parse(dump: &str) -> FpmLayout {
    let mut l = FpmLayout::default();
    let mut section = String::new();
    let mut admin: Vec<String> = Vec::new();
    for line in dump.lines() {
        let Some(rest) = line.split_once("NOTICE: ").map(|(_, r)| r) else {
            continue;
        };
        let body = rest.trim();
        if let Some(name) = body.strip_prefix('[').and_then(|b| b.strip_suffix(']')) {
            section = name.to_owned();
            admin.clear();
            if section != "global" {
                l.pools.push(Pool {
                    name: section.clone(),
                    ..Pool::default()
                });
            }
            continue;
        }
        let Some((key, value)) = body.split_once(" = ") else {
            continue;
        };
        let value = value.trim();
        let defined = (value != "undefined").then(|| value.to_owned());
        if section == "global" {
            match key {
                "pid" => l.pid_file = defined.map(PathBuf::from),
                "error_log" => l.error_log = defined.map(PathBuf::from),
                _ => {}
            }
        } else if let Some(pool) = l.pools.last_mut() {
            set(pool, &mut admin, key, value);
        }
    }
    l
}

fn set(pool: &mut Pool, admin: &mut Vec<String>, key: &str, value: &str) {
    let bracketed = |prefix: &str| {
        key.strip_prefix(prefix)
            .and_then(|k| k.strip_prefix('['))
            .and_then(|k| k.strip_suffix(']'))
            .map(str::to_owned)
    };
    match key {
        "user" => pool.user = value.to_owned(),
        "group" => pool.group = value.to_owned(),
        "listen" => pool.listen = value.to_owned(),
        "pm" => pool.pm = value.to_owned(),
        "pm.max_children" => pool.max_children = value.parse().unwrap_or(0),
        _ => {
            if let Some(name) = bracketed("env") {
                pool.env.insert(name, value.to_owned());
            } else if let Some(name) =
                bracketed("php_admin_value").or_else(|| bracketed("php_admin_flag"))
            {
                admin.push(name.clone());
                pool.php.insert(name, value.to_owned());
            } else if let Some(name) = bracketed("php_value").or_else(|| bracketed("php_flag"))
                && !admin.contains(&name)
            {
                pool.php.insert(name, value.to_owned());
            }
        }
    }
}

/// Runs `php-fpm -tt` (with `-y conf` when given). Ok(None) when PHP-FPM is not installed;
/// Err(reason) when its configuration does not load.
pub fn discover(conf: Option<&Path>) -> Result<Option<FpmLayout>, String> {
    let Some(bin) = command::required(command::find_versioned("php-fpm"), "--fpm-conf", conf)?
    else {
        return Ok(None);
    };
    let out = command::run(&bin, &command::test_args("-tt", "-y", conf))?;
    // FPM writes the dump to stderr (its log) and may exit 0 even when a pool is refused.
    let text = format!("{}{}", out.stderr, out.stdout);
    if !out.success || text.contains("ERROR: ") {
        return Err(command::complaint(&text));
    }
    let mut layout = parse(&text);
    layout.binary = bin;
    layout.conf = conf.map(Path::to_path_buf);
    Ok(Some(layout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pools_with_their_overrides_and_env() {
        let dump = "[25-Nov-2026 20:18:42] NOTICE: [global]
[25-Nov-2026 20:18:42] NOTICE: \tpid = /run/php/fpm.pid
[25-Nov-2026 20:18:42] NOTICE: \terror_log = /var/log/php8.2-fpm.log
[25-Nov-2026 20:18:42] NOTICE:  
[25-Nov-2026 20:18:42] NOTICE: [www]
[25-Nov-2026 20:18:42] NOTICE: \tuser = www-data
[25-Nov-2026 20:18:42] NOTICE: \tgroup = www-data
[25-Nov-2026 20:18:42] NOTICE: \tlisten = /run/php/php8.2-fpm.sock
[25-Nov-2026 20:18:42] NOTICE: \tpm = dynamic
[25-Nov-2026 20:18:42] NOTICE: \tpm.max_children = 5
[25-Nov-2026 20:18:42] NOTICE: \tenv[DB_HOST] = 127.0.0.1:3306
[25-Nov-2026 20:18:42] NOTICE: \tphp_value[memory_limit] = 64M
[25-Nov-2026 20:18:42] NOTICE: \tphp_admin_value[display_errors] = 0
[25-Nov-2026 20:18:42] NOTICE: \tphp_admin_value[display_errors] = 1
[25-Nov-2026 20:18:42] NOTICE: \tslowlog = undefined
[25-Nov-2026 20:18:42] NOTICE: [api]
[25-Nov-2026 20:18:42] NOTICE: \tuser = api
[25-Nov-2026 20:18:42] NOTICE: \tpm.max_children = 12
[25-Nov-2026 20:18:42] NOTICE: configuration file /etc/php/8.2/fpm/php-fpm.conf test is successful
";
        let l = parse(dump);
        assert_eq!(l.pid_file, Some("/run/php/fpm.pid".into()));
        assert_eq!(l.error_log, Some("/var/log/php8.2-fpm.log".into()));
        assert_eq!(l.pools.len(), 2);
        let www = &l.pools[0];
        assert_eq!((www.user.as_str(), www.max_children), ("www-data", 5));
        assert_eq!(www.listen, "/run/php/php8.2-fpm.sock");
        assert_eq!(www.env["DB_HOST"], "127.0.0.1:3306");
        assert_eq!(www.php["memory_limit"], "64M");
        assert_eq!(www.php["display_errors"], "1");
        assert_eq!(
            (l.pools[1].name.as_str(), l.pools[1].max_children),
            ("api", 12)
        );
    }
}
