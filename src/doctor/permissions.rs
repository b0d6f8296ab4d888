//! `file_permissions`: can the users that serve a site read every file under its document
//! root, reach the root at all, and write the directories PHP writes (sessions, uploads,
//! caches)? And is anything there writable by everyone? Unix mode bits and group membership
//! decide, as the kernel does for a process of that user (ACLs are not read).

use std::ffi::CString;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, User, getgrouplist};

use super::{Finding, Status};

const CHECK: &str = "file_permissions";
/// Entries walked under one document root before stopping (a huge media tree must not make
/// doctor run for an hour); the finding says when it stopped.
const MAX_ENTRIES: usize = 300_000;
/// Problems named one by one under one root; the rest are counted in one more finding.
const MAX_NAMED: usize = 10;
/// Directory names PHP applications write into (wp-content/uploads, a theme's cache). Only
/// looked for near the root and outside code trees: `vendor/symfony/cache` is code.
const WRITABLE_DIRS: [&str; 6] = ["uploads", "upload", "cache", "tmp", "temp", "sessions"];
const WRITABLE_DEPTH: usize = 3;
const CODE_DIRS: [&str; 2] = ["vendor", "node_modules"];

const READ: u32 = 4;
const WRITE: u32 = 2;
const EXEC: u32 = 1;

/// A user as the kernel sees it when checking access.
#[derive(Clone, Debug)]
pub struct Account {
    pub name: String,
    uid: u32,
    gids: Vec<u32>,
}

impl Account {
    /// Looks a user up (NSS, so LDAP users count), with its supplementary groups. Apache's
    /// numeric form `#33` names a uid.
    pub fn lookup(name: &str) -> Option<Account> {
        let user = match name.strip_prefix('#').map(str::parse::<u32>) {
            Some(Ok(uid)) => User::from_uid(uid.into()).ok()??,
            _ => User::from_name(name).ok()??,
        };
        let cname = CString::new(user.name.as_str()).ok()?;
        let gids = getgrouplist(&cname, user.gid)
            .unwrap_or_else(|_| vec![user.gid])
            .into_iter()
            .map(Gid::as_raw)
            .collect();
        Some(Account {
            name: user.name,
            uid: user.uid.as_raw(),
            gids,
        })
    }

    /// Whether this user may do `want` (READ|WRITE|EXEC bits) to a file with `meta`.
    fn can(&self, meta: &std::fs::Metadata, want: u32) -> bool {
        let mode = meta.permissions().mode();
        if self.uid == 0 {
            // root reads and writes anything; it executes only what someone may execute.
            return want & EXEC == 0 || mode & 0o111 != 0 || meta.is_dir();
        }
        let bits = if meta.uid() == self.uid {
            mode >> 6
        } else if self.gids.contains(&meta.gid()) {
            mode >> 3
        } else {
            mode
        } & 7;
        bits & want == want
    }
}

/// One place and the users who must read it, and those (PHP's) who must write.
pub struct Site {
    pub root: PathBuf,
    /// Everyone who reads the site: the web server's user and PHP's.
    pub readers: Vec<String>,
    /// The users PHP runs as for this site: they alone must read its `.php` files (the web
    /// server only passes them on), and they write its upload and cache dirs.
    pub php: Vec<String>,
}

/// The findings for each document root, and for each dir PHP must write.
pub fn check(sites: &[Site], write_dirs: &[(PathBuf, String)]) -> Vec<Finding> {
    let mut out = Vec::new();
    for site in sites {
        out.extend(check_site(site));
    }
    for (dir, user) in write_dirs {
        out.extend(check_write_dir(dir, user));
    }
    out
}

fn accounts(names: &[String], out: &mut Vec<Finding>, subject: &Path) -> Vec<Account> {
    names
        .iter()
        .filter_map(|n| {
            let a = Account::lookup(n);
            if a.is_none() {
                out.push(
                    Finding::new(CHECK, Status::Warning, subject.display().to_string())
                        .detail(format!("The configured user `{n}` does not exist on this host."))
                        .fix("Create the user or correct the `user` line of the server or pool config."),
                );
            }
            a
        })
        .collect()
}

/// What went wrong with one path.
struct Problem {
    path: PathBuf,
    what: String,
}

fn check_site(site: &Site) -> Vec<Finding> {
    let mut out = Vec::new();
    let readers = accounts(&site.readers, &mut out, &site.root);
    let php = accounts(&site.php, &mut out, &site.root);
    if !site.root.is_dir() {
        out.push(
            Finding::new(CHECK, Status::Critical, site.root.display().to_string())
                .detail("The document root does not exist or is not a directory.")
                .fix("Create it or correct `root`/`DocumentRoot` in the server config."),
        );
        return out;
    }
    if let Some(p) = unreachable(&site.root, &readers) {
        out.push(critical(&p));
        return out;
    }
    let mut blocked = Vec::new();
    let mut unwritable = Vec::new();
    let mut open = Vec::new();
    let mut walked = 0usize;
    let mut walk = walkdir::WalkDir::new(&site.root)
        .follow_links(false)
        .into_iter();
    while let Some(entry) = walk.next() {
        let Ok(entry) = entry else { continue };
        walked += 1;
        if walked > MAX_ENTRIES {
            break;
        }
        let Ok(meta) = entry.metadata() else { continue };
        if meta.file_type().is_symlink() {
            continue;
        }
        if meta.permissions().mode() & 0o002 != 0 {
            open.push(entry.path().to_path_buf());
        }
        let need = if meta.is_dir() { READ | EXEC } else { READ };
        let who = if !meta.is_dir() && is_php(entry.path()) && !php.is_empty() {
            &php
        } else {
            &readers
        };
        let denied: Vec<&str> = who
            .iter()
            .filter(|a| !a.can(&meta, need))
            .map(|a| a.name.as_str())
            .collect();
        if !denied.is_empty() {
            let what = if meta.is_dir() {
                "list and enter"
            } else {
                "read"
            };
            blocked.push(Problem {
                path: entry.path().to_path_buf(),
                what: format!(
                    "{} cannot {what} it ({})",
                    denied.join(", "),
                    mode_of(&meta)
                ),
            });
            if meta.is_dir() {
                walk.skip_current_dir();
            }
            continue;
        }
        if meta.is_dir() && is_write_dir(&site.root, entry.path()) {
            let denied: Vec<&str> = php
                .iter()
                .filter(|a| !a.can(&meta, WRITE | EXEC))
                .map(|a| a.name.as_str())
                .collect();
            if !denied.is_empty() {
                unwritable.push(Problem {
                    path: entry.path().to_path_buf(),
                    what: format!(
                        "{} cannot write it, and by its name PHP writes here ({})",
                        denied.join(", "),
                        mode_of(&meta)
                    ),
                });
            }
        }
    }
    out.extend(name_problems(&site.root, blocked));
    out.extend(unwritable.iter().take(MAX_NAMED).map(|p| {
        Finding::new(CHECK, Status::Warning, p.path.display().to_string())
            .detail(format!("{}: uploads or cache writes there would fail with 500.", p.what))
            .fix("If the application writes here, give its PHP user write access (`chown www-data: DIR`, mode 755); if not, nothing to do.")
    }));
    if !open.is_empty() {
        out.push(world_writable(&site.root, &open));
    }
    if out.is_empty() {
        let who: Vec<&str> = readers.iter().map(|a| a.name.as_str()).collect();
        let mut detail = format!(
            "{} readable by {}.",
            super::count(walked.min(MAX_ENTRIES), "path"),
            who.join(", ")
        );
        if walked > MAX_ENTRIES {
            detail.push_str(&format!(" Stopped after {MAX_ENTRIES} entries."));
        }
        out.push(Finding::new(CHECK, Status::Ok, site.root.display().to_string()).detail(detail));
    }
    out
}

fn is_php(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("php"))
}

fn is_write_dir(root: &Path, p: &Path) -> bool {
    let Ok(rel) = p.strip_prefix(root) else {
        return false;
    };
    let names: Vec<&str> = rel.iter().filter_map(|c| c.to_str()).collect();
    let Some((last, above)) = names.split_last() else {
        return false;
    };
    names.len() <= WRITABLE_DEPTH
        && WRITABLE_DIRS.iter().any(|w| w.eq_ignore_ascii_case(last))
        && !above
            .iter()
            .any(|c| c.starts_with('.') || CODE_DIRS.contains(c))
}

/// The first directory on the way to `p` (itself included) that one of `users` cannot enter.
fn unreachable(p: &Path, users: &[Account]) -> Option<Problem> {
    let mut dirs: Vec<&Path> = p.ancestors().collect();
    dirs.reverse();
    for d in dirs {
        let Ok(meta) = d.metadata() else { continue };
        let denied: Vec<&str> = users
            .iter()
            .filter(|a| !a.can(&meta, EXEC))
            .map(|a| a.name.as_str())
            .collect();
        if !denied.is_empty() {
            return Some(Problem {
                path: d.to_path_buf(),
                what: format!(
                    "{} cannot enter it ({}), so nothing below it can be served",
                    denied.join(", "),
                    mode_of(&meta)
                ),
            });
        }
    }
    None
}

fn check_write_dir(dir: &Path, user: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let users = accounts(&[user.to_owned()], &mut out, dir);
    let subject = dir.display().to_string();
    let Ok(meta) = dir.metadata() else {
        out.push(
            Finding::new(CHECK, Status::Critical, subject)
                .detail(format!("PHP ({user}) writes here, but it does not exist."))
                .fix("Create it, owned by the PHP user, mode 0700 (sessions) or 0750."),
        );
        return out;
    };
    if let Some(p) = unreachable(dir, &users) {
        out.push(critical(&p));
    } else if users.iter().any(|a| !a.can(&meta, WRITE | EXEC)) {
        out.push(critical(&Problem {
            path: dir.to_path_buf(),
            what: format!(
                "{user} cannot write it, and PHP writes sessions or uploads here ({})",
                mode_of(&meta)
            ),
        }));
    } else if !users.is_empty() {
        out.push(Finding::new(CHECK, Status::Ok, subject).detail(format!("Writable by {user}.")));
    }
    out
}

fn critical(p: &Problem) -> Finding {
    Finding::new(CHECK, Status::Critical, p.path.display().to_string())
        .detail(format!("{}.", p.what))
        .fix("Make it readable by the server user (directories 755, files 644, owned by that user: `chown www-data: PATH` on Debian); PHP's upload, cache and session dirs writable by it.")
}

fn name_problems(root: &Path, problems: Vec<Problem>) -> Vec<Finding> {
    let extra = problems.len().saturating_sub(MAX_NAMED);
    let mut out: Vec<Finding> = problems.iter().take(MAX_NAMED).map(critical).collect();
    if extra > 0 {
        out.push(
            Finding::new(CHECK, Status::Critical, root.display().to_string())
                .detail(format!("{extra} more paths under it have the same problem."))
                .fix(format!("Reset the tree: `find {} -type d -exec chmod 755 {{}} +` and `-type f -exec chmod 644 {{}} +`, then chown it to the server user.", root.display())),
        );
    }
    out
}

fn world_writable(root: &Path, open: &[PathBuf]) -> Finding {
    let examples: Vec<String> = open
        .iter()
        .take(5)
        .map(|p| p.display().to_string())
        .collect();
    Finding::new(CHECK, Status::Warning, root.display().to_string())
        .detail(format!("{} entries are writable by every user, e.g. {}.", open.len(), examples.join(", ")))
        .fix("Anyone on the host (or a compromised app) can change what is served: `chmod o-w` them and give write access to the server user alone.")
}

fn mode_of(meta: &std::fs::Metadata) -> String {
    let owner = |id: u32| {
        User::from_uid(id.into())
            .ok()
            .flatten()
            .map_or_else(|| id.to_string(), |u| u.name)
    };
    format!(
        "mode {:o}, owner {}",
        meta.permissions().mode() & 0o7777,
        owner(meta.uid())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_bits_decide_for_owner_group_and_others() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a");
        std::fs::write(&f, "x").unwrap();
        let meta = |mode| {
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
            f.metadata().unwrap()
        };
        let m = f.metadata().unwrap();
        let owner = Account {
            name: "o".into(),
            uid: m.uid(),
            gids: vec![],
        };
        let member = Account {
            name: "g".into(),
            uid: 65000,
            gids: vec![m.gid()],
        };
        let other = Account {
            name: "x".into(),
            uid: 65000,
            gids: vec![65001],
        };
        let root = Account {
            name: "root".into(),
            uid: 0,
            gids: vec![0],
        };
        let m = meta(0o640);
        assert!(owner.can(&m, READ | WRITE));
        assert!(member.can(&m, READ) && !member.can(&m, WRITE));
        assert!(!other.can(&m, READ));
        assert!(root.can(&meta(0o000), READ | WRITE) && !root.can(&meta(0o644), EXEC));
        let root = Path::new("/srv/www");
        assert!(is_write_dir(root, Path::new("/srv/www/wp-content/Uploads")));
        let by_uid = Account::lookup("#0").expect("uid 0");
        assert_eq!((by_uid.name.as_str(), by_uid.uid), ("root", 0));
        assert!(Account::lookup("no-such-user-here").is_none());
        assert!(!is_write_dir(root, Path::new("/srv/www/upload.php")));
        assert!(!is_write_dir(
            root,
            Path::new("/srv/www/vendor/symfony/cache")
        ));
        assert!(!is_write_dir(root, Path::new("/srv/www/a/b/c/cache")));
        assert!(!is_write_dir(root, root));
    }

    #[test]
    fn php_files_need_only_php_users_and_the_rest_everyone() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: chown needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let nobody = User::from_name("nobody").unwrap().expect("user nobody");
        for name in ["app.php", "page.html"] {
            let f = dir.path().join(name);
            std::fs::write(&f, "x").unwrap();
            std::os::unix::fs::chown(&f, Some(nobody.uid.as_raw()), Some(nobody.gid.as_raw()))
                .unwrap();
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let site = Site {
            root: dir.path().to_path_buf(),
            readers: vec!["www-data".into(), "nobody".into()],
            php: vec!["nobody".into()],
        };
        let f = check_site(&site);
        let flagged: Vec<(&str, Status)> =
            f.iter().map(|f| (f.subject.as_str(), f.status)).collect();
        let page = dir.path().join("page.html").display().to_string();
        assert_eq!(flagged, [(page.as_str(), Status::Critical)], "{f:?}");
        assert!(f[0].detail.starts_with("www-data cannot read it"), "{f:?}");
    }
}
