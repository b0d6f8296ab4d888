//! Identity: whether an error record may be about a response, and how surely.
//!
//! A person reading the logs asks first *whose* line it is, and only then *when*:
//! - a web server's error log explains that server's own access logs ([`Sites`]: logs in one
//!   directory are one server's, as `/var/log/nginx/` and `/var/log/apache2/` are);
//! - a record that names another request (its path), another client, another virtual host, or
//!   a script under another site's document root is never evidence for this response;
//! - a record that names this request (its path, or a script that maps to its URL under its
//!   site's document root) beats one that names nothing, whichever log it comes from.
//!
//! Document roots are learnt from the logs themselves ([`Docroots`]): a record that names a
//! host, a request path and the script that served it (nginx relaying PHP's message) says
//! where that host's files are; PHP-FPM's `[pool NAME] … script '/srv/x/a.php' (request: …)`
//! says which pool serves them.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::Ipv6Addr;
use std::path::Path;

use rustc_hash::FxHashSet;

use super::unit::{Scope, Unit};
use crate::formats::Kind;
use crate::formats::access::AccessFormat;
use crate::scan::InputReport;

/// How surely a unit is about a response; lower is surer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    /// Names this request: its path, or the script its URL maps to.
    Named = 0,
    /// Names this request's client (and nothing that contradicts it).
    Client = 1,
    /// Names nothing that ties it to a request: only time ties it.
    Unnamed = 2,
}

/// A client address in one spelling (IPv6 can be written several ways). Only IPv6 is read:
/// an address with a `:` is never IPv4, and trying IPv4 first would cost every record.
pub fn client_key(client: &str) -> Cow<'_, str> {
    match client.contains(':').then(|| client.parse::<Ipv6Addr>()) {
        Some(Ok(ip)) => Cow::Owned(ip.to_string()),
        _ => Cow::Borrowed(client),
    }
}

/// A host name in one spelling: lower case, without port.
pub fn host_key(host: &str) -> Box<str> {
    let host = match host.rsplit_once(':') {
        // `[::1]:80` and `host:80`, but not a bare IPv6 address.
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':') => h,
        _ => host,
    };
    host.trim_matches(['[', ']']).to_ascii_lowercase().into()
}

/// Most files remembered per record: a deep stack trace names dozens.
const MAX_FILES: usize = 12;

/// The absolute paths of files a record names (`in /srv/a.php on line 3`, `#0
/// /srv/lib/db.php(12): …`, `script '/srv/slow.php'`, `Failed opening required '/srv/x.php'`):
/// paths whose last part has an extension, so directories and include paths are left out.
pub fn files_named(text: &str) -> Vec<Box<str>> {
    let b = text.as_bytes();
    let mut out: Vec<Box<str>> = Vec::new();
    for at in memchr::memchr_iter(b'/', b) {
        if out.len() == MAX_FILES {
            break;
        }
        let starts_token = at == 0 || matches!(b[at - 1], b' ' | b'\'' | b'"' | b'(' | b'\t');
        if !starts_token {
            continue;
        }
        let len = b[at..]
            .iter()
            .position(|c| {
                matches!(
                    c,
                    b' ' | b'\'' | b'"' | b'(' | b')' | b':' | b',' | b'\n' | b'\t'
                )
            })
            .unwrap_or(b.len() - at);
        let path = &text[at..at + len];
        let last = path.rsplit('/').next().unwrap_or_default();
        let has_ext = last
            .rsplit_once('.')
            .is_some_and(|(stem, ext)| !stem.is_empty() && (1..=5).contains(&ext.len()));
        if path.len() > 1 && has_ext && !out.iter().any(|f| &**f == path) {
            out.push(path.into());
        }
    }
    out
}

/// The PHP-FPM pool a record names: `[pool www]`.
pub fn pool_named(text: &str) -> Option<&str> {
    let at = memchr::memmem::find(text.as_bytes(), b"[pool ")?;
    let rest = &text[at + 6..];
    let end = rest.find(']')?;
    Some(&rest[..end]).filter(|p| !p.is_empty())
}

/// Which server wrote each input, and how its access logs stamp a request.
#[derive(Clone, Debug, Default)]
pub struct Sites {
    /// Per input: its server (the directory it is in), where that directory holds a web
    /// server's error log; `None` where nothing tells.
    server: Vec<Option<usize>>,
    /// Per input: whether its access lines are stamped when the request started (Apache's
    /// `%t`) rather than when it ended (nginx).
    stamps_start: Vec<bool>,
}

impl Sites {
    /// Reads the inputs' paths and formats. Logs in one directory are one server's, when that
    /// directory holds the error log of exactly one kind of web server; the access logs beside
    /// an Apache error log are stamped at the request's start. Where no directory tells, an
    /// access log is taken to be Apache's only if the only web error logs read are Apache's.
    pub fn new(inputs: &[InputReport]) -> Sites {
        let dir = |i: &InputReport| Path::new(&i.path).parent().map(Path::to_path_buf);
        let mut web: HashMap<Option<std::path::PathBuf>, (bool, bool)> = HashMap::new();
        for i in inputs {
            let (nginx, apache) = (i.format == "nginx_error", i.format == "apache_error");
            if nginx || apache {
                let e = web.entry(dir(i)).or_default();
                e.0 |= nginx;
                e.1 |= apache;
            }
        }
        let only_apache = web.values().any(|w| w.1) && !web.values().any(|w| w.0);
        let mut dirs: Vec<Option<std::path::PathBuf>> = Vec::new();
        let mut sites = Sites::default();
        for i in inputs {
            let d = dir(i);
            let known = web.get(&d).filter(|(nginx, apache)| nginx != apache);
            let server = known.map(|_| match dirs.iter().position(|x| *x == d) {
                Some(n) => n,
                None => {
                    dirs.push(d.clone());
                    dirs.len() - 1
                }
            });
            sites.server.push(server);
            let apache = known.map_or(only_apache, |(_, apache)| *apache);
            sites
                .stamps_start
                .push(apache || AccessFormat::stamps_start(i.format));
        }
        sites
    }

    /// Whether the access log `input` stamps a request when it started.
    pub fn stamps_start(&self, input: usize) -> bool {
        self.stamps_start.get(input).copied().unwrap_or(false)
    }

    /// Whether a web server's error log `error` may explain the access log `access`: same
    /// server, or nothing tells them apart.
    pub fn same_server(&self, access: usize, error: usize) -> bool {
        let of = |i: usize| self.server.get(i).copied().flatten();
        match (of(access), of(error)) {
            (Some(a), Some(e)) => a == e,
            _ => true,
        }
    }
}

/// Document roots and pools, learnt from the records that name them.
#[derive(Clone, Debug, Default)]
pub struct Docroots {
    /// host → document root (without trailing `/`).
    by_host: HashMap<Box<str>, Box<str>>,
    /// pool → document root.
    by_pool: HashMap<Box<str>, Box<str>>,
}

impl Docroots {
    /// Learns what a unit says: a request path served by a script gives the document root, of
    /// the host and of the pool it names.
    pub fn learn(&mut self, u: &Unit) {
        let Some(target) = u.target.as_deref().filter(|t| is_script_path(t)) else {
            return;
        };
        let Some(root) = u
            .files
            .iter()
            .find_map(|f| f.strip_suffix(target).filter(|r| r.starts_with('/')))
        else {
            return;
        };
        if let Some(host) = &u.host {
            self.by_host
                .entry(host.clone())
                .or_insert_with(|| root.into());
        }
        if let Some(pool) = &u.pool {
            self.by_pool
                .entry(pool.clone())
                .or_insert_with(|| root.into());
        }
    }

    fn root_of_host(&self, host: Option<&str>) -> Option<&str> {
        host.and_then(|h| self.by_host.get(h)).map(|r| &**r)
    }

    /// Whether `file` is the script that serves `path` (under `root`, where it is known).
    fn serves(file: &str, path: &str, root: Option<&str>) -> bool {
        // The comparison first: most files are not the path's.
        let named = match root {
            Some(root) => file.strip_prefix(root) == Some(path),
            None => file.ends_with(path),
        };
        named && is_script_path(path)
    }

    /// Whether `file` lies under another site's known document root than `root`.
    fn under_other_root(&self, file: &str, root: &str) -> bool {
        self.by_host
            .values()
            .any(|r| &**r != root && !root.starts_with(&**r) && under(file, r))
    }
}

/// Whether `file` is inside the directory `root`.
fn under(file: &str, root: &str) -> bool {
    file.strip_prefix(root)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// A URL path that names a script of its own (`/a/b.php`), not a route of a front controller.
fn is_script_path(path: &str) -> bool {
    path.len() > 1 && names_script(path)
}

/// Whether the last component of a path has a stem and an extension (`b.php`, not `.env`).
/// Byte scans from the end: this runs for every pair of a 5xx and a record near it.
fn names_script(path: &str) -> bool {
    let path = path.as_bytes();
    let last = &path[memchr::memrchr(b'/', path).map_or(0, |at| at + 1)..];
    memchr::memrchr(b'.', last).is_some_and(|dot| dot > 0)
}

/// A 5xx response as identity sees it.
#[derive(Clone, Debug)]
pub struct Asked<'a> {
    pub input: usize,
    /// In [`client_key`]'s spelling.
    pub client: &'a str,
    pub path: &'a str,
    /// The virtual host, in [`host_key`]'s spelling.
    pub host: Option<&'a str>,
    /// The request's id, where the access log carries it.
    pub request_id: Option<&'a str>,
}

/// How surely `u` is about the response `r`, or `None` if it names something that rules it
/// out. `scripts`: the URL paths of 5xx responses near it that `u`'s files could serve (see
/// [`script_paths`]).
pub fn fit(r: &Asked, u: &Unit, sites: &Sites, roots: &Docroots, scripts: &[&str]) -> Option<Tier> {
    if u.scope == Scope::Process {
        return None;
    }
    if u.kind == Kind::Error && !sites.same_server(r.input, u.input) {
        return None;
    }
    // The same request id on both sides (nginx's `$request_id`, passed on as `X-Request-ID`
    // and tagged on Rails' records) is this request, whatever else the record names or when;
    // another id is another request's, however close in time.
    if let (Some(mine), Some(asked)) = (u.request_id.as_deref(), r.request_id) {
        return (mine == asked).then_some(Tier::Named);
    }
    if let Some(c) = &u.client
        && !same_client(c, r.client)
    {
        return None;
    }
    if let (Some(a), Some(b)) = (&u.host, r.host)
        && **a != *b
    {
        return None;
    }
    let root = roots.root_of_host(r.host);
    if !pool_fits(u, root, roots) {
        return None;
    }
    if let Some(target) = &u.target {
        return (**target == *r.path).then_some(Tier::Named);
    }
    if u.files.iter().any(|f| Docroots::serves(f, r.path, root)) {
        return Some(Tier::Named);
    }
    let under_other_root = |f: &str| root.is_some_and(|root| roots.under_other_root(f, root));
    // Or the script of another failed request: its URL path is the file's tail.
    if u.files.iter().any(|f| under_other_root(f)) || scripts.iter().any(|&s| s != r.path) {
        return None;
    }
    Some(if u.client.is_some() {
        Tier::Client
    } else {
        Tier::Unnamed
    })
}

/// Whether the pool a unit names may serve the site at `root`.
fn pool_fits(u: &Unit, root: Option<&str>, roots: &Docroots) -> bool {
    match (u.pool.as_deref(), root) {
        (Some(pool), Some(root)) => roots.by_pool.get(pool).is_none_or(|r| **r == *root),
        _ => true,
    }
}

/// Whether a process-level unit (a pool full, a child killed) may concern the response.
pub fn process_fits(r: &Asked, u: &Unit, roots: &Docroots) -> bool {
    pool_fits(u, roots.root_of_host(r.host), roots)
}

/// Whether a unit that tells of a state (a pool full) may concern the response: a process
/// record of its pool, or another request's record on the same site and, where both name
/// one, the same upstream (`upstream`: the one the response's own record names), from
/// whichever server.
pub fn state_fits(r: &Asked, upstream: Option<&str>, u: &Unit, roots: &Docroots) -> bool {
    let same = |a: Option<&str>, b: Option<&str>| match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    same(u.host.as_deref(), r.host)
        && same(
            u.upstream.as_deref().map(upstream_key),
            upstream.map(upstream_key),
        )
        && process_fits(r, u, roots)
}

/// An upstream in one spelling: nginx writes a FastCGI socket with and without its final `:`.
fn upstream_key(upstream: &str) -> &str {
    upstream.trim_end_matches(':')
}

/// The URL paths among `paths` that the files a unit names could serve (the files' tails).
pub fn script_paths<'p>(u: &Unit, paths: &FxHashSet<&'p str>) -> Vec<&'p str> {
    u.files
        .iter()
        .flat_map(|f| tails(f))
        .filter_map(|t| paths.get(t).copied())
        .collect()
}

/// The script-like tails of a file path, as URL paths: `/srv/www/a/b.php` gives `/b.php`,
/// `/a/b.php`, `/www/a/b.php`…
fn tails(file: &str) -> impl Iterator<Item = &str> {
    // Every tail ends with the file's last component, so either all name a script or none.
    let slashes = names_script(file).then(|| memchr::memrchr_iter(b'/', file.as_bytes()));
    slashes
        .into_iter()
        .flatten()
        .map(move |at| &file[at..])
        .filter(|t| t.len() > 1)
}

/// Two client addresses, each in [`client_key`]'s spelling, are the same, or one side does not
/// know it.
pub fn same_client(a: &str, b: &str) -> bool {
    a.is_empty() || b.is_empty() || b == "-" || a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_a_record_names() {
        let text = "PHP Fatal error:  Uncaught PDOException: SQLSTATE[HY000] [2002] Connection refused in /srv/shop/lib/db.php:7\nStack trace:\n#0 /srv/shop/lib/db.php(7): PDO->__construct('mysql:host=127....', 'app', Object(SensitiveParameterValue))\n#1 /srv/shop/db.php(3): connect()\n#2 {main}\n  thrown in /srv/shop/lib/db.php on line 7";
        let files = files_named(text);
        assert_eq!(
            files.iter().map(|f| &**f).collect::<Vec<_>>(),
            ["/srv/shop/lib/db.php", "/srv/shop/db.php"]
        );
        assert!(files_named("include_path='.:/usr/share/php' in Unknown on line 0").is_empty());
        assert_eq!(
            files_named("script '/srv/x/slow.php' (request: \"GET /slow.php\")")[0].as_ref(),
            "/srv/x/slow.php"
        );
    }

    #[test]
    fn hosts_and_pools() {
        assert_eq!(&*host_key("Shop.Test:8080"), "shop.test");
        assert_eq!(&*host_key("[::1]:80"), "::1");
        assert_eq!(&*host_key("::1"), "::1");
        assert_eq!(
            pool_named("WARNING: [pool blog] server reached pm.max_children setting (2)"),
            Some("blog")
        );
    }

    fn report(path: &str, format: &'static str) -> InputReport {
        InputReport {
            path: path.into(),
            kind: Kind::Access,
            format,
            lines: 0,
            unparsed: 0,
            untimed: 0,
            error: None,
            envelope: None,
            hop_of: None,
        }
    }

    #[test]
    fn logs_in_one_directory_are_one_server() {
        let sites = Sites::new(&[
            report("/l/nginx/access.log", "combined"),
            report("/l/nginx/error.log", "nginx_error"),
            report("/l/apache2/access.log", "vhost_combined"),
            report("/l/apache2/error.log", "apache_error"),
            report("/l/php/error.log", "php_error"),
        ]);
        assert!(sites.same_server(0, 1) && sites.same_server(2, 3));
        assert!(!sites.same_server(0, 3) && !sites.same_server(2, 1));
        assert!(sites.same_server(0, 4), "PHP's log may explain either");
        assert!(!sites.stamps_start(0) && sites.stamps_start(2));
    }

    #[test]
    fn scripts_map_to_urls_under_their_site_root() {
        let mut roots = Docroots::default();
        roots.by_host.insert("shop.test".into(), "/srv/shop".into());
        roots.by_host.insert("blog.test".into(), "/srv/blog".into());
        assert!(Docroots::serves(
            "/srv/shop/a.php",
            "/a.php",
            Some("/srv/shop")
        ));
        assert!(!Docroots::serves(
            "/srv/blog/a.php",
            "/a.php",
            Some("/srv/shop")
        ));
        assert!(Docroots::serves("/srv/blog/a.php", "/a.php", None));
        assert!(!Docroots::serves(
            "/srv/blog/index.php",
            "/app/settings",
            None
        ));
        assert!(roots.under_other_root("/srv/blog/lib/x.php", "/srv/shop"));
        assert!(!roots.under_other_root("/srv/shop/lib/x.php", "/srv/shop"));
    }
}
