//! What the servers on this host are configured to do, learnt from the servers themselves:
//! `nginx -T`, Apache's config files and `-M`, `php-fpm -tt`, and PHP's own `-i` for the
//! ini values in effect. Each server is looked for where it is installed, or at the config a
//! flag names; when any flag is given, only the named configs are examined.

pub mod apache;
pub mod command;
pub mod fpm;
pub mod nginx;
pub mod php;

use std::path::{Path, PathBuf};

use self::apache::ApacheLayout;
use self::fpm::FpmLayout;
use self::nginx::NginxLayout;
use self::php::PhpContext;
use super::seen::Server;
use super::{Finding, Status};

/// Where to look (`--nginx-conf`, `--apache-conf`, `--php-ini`, `--fpm-conf`).
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub nginx_conf: Option<PathBuf>,
    pub apache_conf: Option<PathBuf>,
    pub php_ini: Option<PathBuf>,
    pub fpm_conf: Option<PathBuf>,
}

impl Options {
    fn any(&self) -> bool {
        self.nginx_conf.is_some() || self.apache_conf.is_some() || self.fpm_conf.is_some()
    }

    /// Whether a server is examined: the one its flag names, or any installed when no flag
    /// names a server.
    fn wants(&self, flag: &Option<PathBuf>) -> bool {
        flag.is_some() || !self.any()
    }
}

/// Everything doctor's checks look at.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    pub nginx: Option<NginxLayout>,
    pub apache: Option<ApacheLayout>,
    pub fpm: Option<FpmLayout>,
    /// PHP where it serves requests: each FPM pool, and mod_php.
    pub php: Vec<PhpContext>,
    /// `server_config_syntax` findings, made while loading the configs (a config that does
    /// not load is itself the finding), and notes on what could not be read.
    pub findings: Vec<Finding>,
    /// Each server looked for (or not, when flags name others), and whether it was found.
    pub servers: Vec<Server>,
}

const SYNTAX: &str = "server_config_syntax";

impl Layout {
    /// Asks each server for its configuration.
    pub fn discover(opts: &Options) -> Layout {
        let mut l = Layout::default();
        if opts.wants(&opts.nginx_conf) {
            l.load_nginx(opts.nginx_conf.as_deref());
        } else {
            l.servers.push(Server::not_looked_for(Server::NGINX));
        }
        if opts.wants(&opts.apache_conf) {
            l.load_apache(opts.apache_conf.as_deref(), opts.php_ini.as_deref());
        } else {
            l.servers.push(Server::not_looked_for(Server::APACHE));
        }
        if opts.wants(&opts.fpm_conf) {
            l.load_fpm(opts.fpm_conf.as_deref(), opts.php_ini.as_deref());
        } else {
            l.servers.push(Server::not_looked_for(Server::PHP_FPM));
        }
        l
    }

    fn load_nginx(&mut self, conf: Option<&Path>) {
        let subject = subject("nginx", conf);
        let found = nginx::discover(conf);
        self.servers
            .push(Server::from_discovery(Server::NGINX, conf, found.as_ref()));
        match found {
            Ok(None) => {}
            Ok(Some((layout, _))) => {
                self.findings.push(
                    Finding::new(SYNTAX, Status::Ok, subject)
                        .detail("nginx -t: the configuration loads."),
                );
                self.nginx = Some(layout);
            }
            Err(why) => self
                .findings
                .push(broken(subject, "nginx", &why, "nginx -t")),
        }
    }

    fn load_apache(&mut self, conf: Option<&Path>, ini: Option<&Path>) {
        let subject = subject("apache", conf);
        let found = apache::discover(conf);
        self.servers
            .push(Server::from_discovery(Server::APACHE, conf, found.as_ref()));
        match found {
            Ok(None) => return,
            Ok(Some(layout)) => self.apache = Some(layout),
            Err(e) => {
                self.findings
                    .push(broken(subject, "Apache", &e.to_string(), "apachectl -t"));
                return;
            }
        }
        self.findings.push(apache_syntax(subject, conf));
        self.load_mod_php(ini);
    }

    /// mod_php's settings, when Apache loads it: Apache's php.ini and its `php_*` lines.
    fn load_mod_php(&mut self, ini: Option<&Path>) {
        let Some(a) = &self.apache else { return };
        if !a.has_mod_php() {
            return;
        }
        let user = a.user.clone().unwrap_or_else(|| "www-data".into());
        let from_config = a.php_ini_dir.as_ref().map(|d| d.join("php.ini"));
        match php::mod_php_base(ini.or(from_config.as_deref())) {
            Ok(base) => {
                let mut ctx = PhpContext::new("mod_php".into(), user, base);
                ctx.overlay(&a.php_ini);
                self.php.push(ctx);
            }
            Err(why) => self.findings.push(
                Finding::new("php_display_errors", Status::Skipped, "mod_php")
                    .detail(format!("Could not read mod_php's settings: {why}.")),
            ),
        }
    }

    fn load_fpm(&mut self, conf: Option<&Path>, ini: Option<&Path>) {
        let subject = subject("php-fpm", conf);
        let found = fpm::discover(conf);
        self.servers.push(Server::from_discovery(
            Server::PHP_FPM,
            conf,
            found.as_ref(),
        ));
        let fpm = match found {
            Ok(None) => return,
            Ok(Some(f)) => f,
            Err(why) => {
                self.findings
                    .push(broken(subject, "PHP-FPM", &why, "php-fpm -t"));
                return;
            }
        };
        self.findings.push(
            Finding::new(SYNTAX, Status::Ok, subject)
                .detail("php-fpm -t: the configuration loads."),
        );
        match php::fpm_base(&fpm.binary, ini) {
            Ok(base) => {
                for pool in &fpm.pools {
                    let name = format!("pool {}", pool.name);
                    let mut ctx = PhpContext::new(name, pool.user.clone(), base.clone());
                    ctx.overlay(&pool.php);
                    self.php.push(ctx);
                }
            }
            Err(why) => self.findings.push(
                Finding::new("php_display_errors", Status::Skipped, "php-fpm")
                    .detail(format!("Could not read PHP-FPM's php.ini settings: {why}.")),
            ),
        }
        self.fpm = Some(fpm);
    }

    /// Every document root, with the users that read it: the web server's, and those of
    /// the PHP-FPM pools it passes requests to (or mod_php's, which is Apache's).
    pub fn docroots(&self) -> Vec<(PathBuf, Vec<String>)> {
        let mut out: Vec<(PathBuf, Vec<String>)> = Vec::new();
        let mut add =
            |root: &Path, users: Vec<String>| match out.iter_mut().find(|(r, _)| r == root) {
                Some((_, us)) => us.extend(
                    users
                        .into_iter()
                        .filter(|u| !us.contains(u))
                        .collect::<Vec<_>>(),
                ),
                None => out.push((root.to_path_buf(), users)),
            };
        if let Some(n) = &self.nginx {
            let users = self.readers(&n.user, &n.fastcgi);
            for r in &n.roots {
                add(r, users.clone());
            }
        }
        if let Some(a) = &self.apache {
            let user = a.user.clone().unwrap_or_else(|| "www-data".into());
            let users = self.readers(&user, &a.fcgi_targets);
            for d in &a.docroots {
                add(&d.path, users.clone());
            }
        }
        out
    }

    /// The server user and the users of the pools whose `listen` one of `targets` names.
    fn readers(&self, server_user: &str, targets: &[String]) -> Vec<String> {
        let mut users = vec![server_user.to_owned()];
        for pool in self.fpm.iter().flat_map(|f| &f.pools) {
            if targets.iter().any(|t| same_endpoint(t, &pool.listen)) && !users.contains(&pool.user)
            {
                users.push(pool.user.clone());
            }
        }
        users
    }

    /// Every user PHP runs as here: each pool's, and Apache's when it runs mod_php.
    pub fn php_users(&self) -> Vec<String> {
        self.php.iter().map(|c| c.user.clone()).collect()
    }

    /// Every log file the servers write.
    pub fn logs(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = Vec::new();
        v.extend(self.nginx.iter().flat_map(|n| n.logs.iter().cloned()));
        v.extend(self.apache.iter().flat_map(|a| a.logs.iter().cloned()));
        v.extend(self.fpm.iter().flat_map(|f| f.error_log.iter().cloned()));
        v.extend(
            self.php
                .iter()
                .map(|c| PathBuf::from(c.get("error_log")))
                .filter(|p| p.is_absolute()),
        );
        v
    }
}

/// Whether a `fastcgi_pass`/`SetHandler proxy:` target and an FPM `listen` name the same
/// socket or port (`unix:/run/php.sock` vs `/run/php.sock`, `127.0.0.1:9000` vs `9000`).
fn same_endpoint(target: &str, listen: &str) -> bool {
    let t = target
        .trim_start_matches("proxy:")
        .trim_start_matches("unix:")
        .split('|')
        .next()
        .unwrap_or("")
        .trim_start_matches("fcgi://");
    let t = t
        .split('/')
        .next()
        .filter(|_| !t.starts_with('/'))
        .unwrap_or(t);
    if t.starts_with('/') || listen.starts_with('/') {
        return t == listen;
    }
    let port = |s: &str| s.rsplit(':').next().unwrap_or(s).to_owned();
    let host = |s: &str| s.rsplit_once(':').map(|(h, _)| h.to_owned());
    port(t) == port(listen)
        && match (host(t), host(listen)) {
            (Some(a), Some(b)) => a == b || b == "0.0.0.0" || b == "[::]",
            _ => true,
        }
}

fn subject(name: &str, conf: Option<&Path>) -> String {
    conf.map_or_else(|| name.to_owned(), |c| c.display().to_string())
}

/// A config that does not load is critical, unless it only failed because doctor is not root
/// (nginx and PHP-FPM open their logs and pid files while testing): then it was not checked.
fn broken(subject: String, server: &str, why: &str, test: &str) -> Finding {
    if why.contains("Permission denied") && !nix::unistd::geteuid().is_root() {
        return Finding::new(SYNTAX, Status::Skipped, subject).detail(format!(
            "`{test}` needs root to open the files it tests ({why}); run doctor as root."
        ));
    }
    Finding::new(SYNTAX, Status::Critical, subject)
        .detail(format!("{server}'s configuration does not load: {why}"))
        .fix(format!(
            "Fix the line `{test}` names before the next reload or restart: with this config the server will not start."
        ))
}

/// `apachectl -t` (with `-f conf`), which the Apache layout does not run itself.
fn apache_syntax(subject: String, conf: Option<&Path>) -> Finding {
    let Some(ctl) = command::find("apache2ctl").or_else(|| command::find("apachectl")) else {
        return Finding::new(SYNTAX, Status::Skipped, subject)
            .detail("No apachectl to test the configuration with.");
    };
    match command::run(&ctl, &command::test_args("-t", "-f", conf)) {
        Ok(out) if out.success => {
            Finding::new(SYNTAX, Status::Ok, subject).detail("apachectl -t: Syntax OK.")
        }
        Ok(out) => broken(
            subject,
            "Apache",
            &command::complaint(&out.stderr),
            "apachectl -t",
        ),
        Err(why) => Finding::new(SYNTAX, Status::Skipped, subject).detail(why),
    }
}

#[cfg(test)]
mod tests {
    use super::same_endpoint;

    #[test]
    fn endpoints_match_across_spellings() {
        assert!(same_endpoint("unix:/run/php/fpm.sock", "/run/php/fpm.sock"));
        assert!(same_endpoint(
            "proxy:unix:/run/php/fpm.sock|fcgi://localhost",
            "/run/php/fpm.sock"
        ));
        assert!(same_endpoint("127.0.0.1:9000", "9000"));
        assert!(same_endpoint(
            "fcgi://127.0.0.1:9000/srv/www/$1",
            "127.0.0.1:9000"
        ));
        assert!(!same_endpoint("127.0.0.1:9001", "127.0.0.1:9000"));
        assert!(!same_endpoint("unix:/run/a.sock", "/run/b.sock"));
    }
}
