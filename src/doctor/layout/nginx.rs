//! nginx's configuration as `nginx -T` prints it: every file it includes, in order, so no
//! include has to be resolved here.

use std::path::{Path, PathBuf};

use super::command;

/// What doctor needs from nginx's configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NginxLayout {
    /// The main config file (`-c`), when one was named.
    pub conf: Option<PathBuf>,
    /// The worker user (`user`; nginx's default is `nobody`).
    pub user: String,
    /// Every `root` (no variables), in order, without repeats.
    pub roots: Vec<PathBuf>,
    /// `error_log` / `access_log` files.
    pub logs: Vec<PathBuf>,
    /// Where nginx buffers request and upstream bodies (`*_temp_path` and the compiled-in
    /// defaults): a full one fails requests with 500.
    pub temp_dirs: Vec<PathBuf>,
    /// `fastcgi_pass` targets (`unix:/run/php/fpm.sock`, `127.0.0.1:9000`), with the servers
    /// of any `upstream` block they name.
    pub fastcgi: Vec<String>,
    /// Each `proxy_pass` and `uwsgi_pass`, with how long nginx waits for its answer.
    pub proxied: Vec<Proxied>,
}

/// An application server nginx passes requests to, and how long it waits for the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proxied {
    /// The address as written, without scheme or path (`127.0.0.1:8000`, `unix:/run/app.sock`).
    pub target: String,
    /// The block it is in (`location /app/`).
    pub location: String,
    /// The read timeout in effect there (`proxy_read_timeout`, `uwsgi_read_timeout`), in
    /// seconds; nginx's default is 60.
    pub read_timeout_s: u64,
    /// The directive that sets it.
    pub timeout_directive: &'static str,
}

/// The pass directives doctor follows, with the timeout directive of each module.
const PASSES: [(&str, &str); 2] = [
    ("proxy_pass", "proxy_read_timeout"),
    ("uwsgi_pass", "uwsgi_read_timeout"),
];

/// nginx's default for the `*_read_timeout` directives.
const DEFAULT_READ_TIMEOUT_S: u64 = 60;

/// One directive: its name, arguments, and the names of the blocks it sits in.
#[derive(Debug, PartialEq, Eq)]
struct Directive {
    name: String,
    args: Vec<String>,
    blocks: Vec<String>,
    /// The blocks it sits in, each by its own number: two `location` blocks of one name are
    /// two scopes.
    scopes: Vec<usize>,
}

/// What `nginx -V` says was compiled in: the prefix relative paths hang from, and the
/// default temp paths.
#[derive(Debug, Default)]
pub struct Build {
    pub prefix: Option<PathBuf>,
    /// (kind, path): `client_body` for `--http-client-body-temp-path=…`, and so on.
    pub temp_dirs: Vec<(String, PathBuf)>,
}

impl Build {
    /// Reads `nginx -V` output (`--prefix=/usr/share/nginx --http-client-body-temp-path=…`).
    pub fn parse(version: &str) -> Build {
        let mut b = Build::default();
        for word in version.split_whitespace() {
            if let Some(p) = word.strip_prefix("--prefix=") {
                b.prefix = Some(PathBuf::from(p));
            } else if let Some((key, p)) = word.split_once('=')
                && let Some(kind) = key
                    .strip_prefix("--http-")
                    .and_then(|k| k.strip_suffix("-temp-path"))
            {
                b.temp_dirs.push((kind.replace('-', "_"), PathBuf::from(p)));
            }
        }
        b
    }
}

/// Builds the layout from `nginx -T` output and what `nginx -V` said.
pub fn parse(dump: &str, build: &Build) -> NginxLayout {
    let prefix = build.prefix.clone().unwrap_or_else(|| "/".into());
    let abs = |p: &str| -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.into()
        } else {
            prefix.join(p)
        }
    };
    let directives = tokenize(dump);
    let mut l = NginxLayout {
        user: "nobody".into(),
        ..NginxLayout::default()
    };
    let mut upstreams: Vec<(String, String)> = Vec::new();
    let mut configured_kinds: Vec<&str> = Vec::new();
    for d in &directives {
        let first = d.args.first().map(String::as_str).unwrap_or("");
        match d.name.as_str() {
            "user" if d.blocks.is_empty() => l.user = first.to_owned(),
            "root" if !first.contains('$') && !first.is_empty() => {
                push_new(&mut l.roots, abs(first))
            }
            "error_log" | "access_log" if is_log_file(first) => push_new(&mut l.logs, abs(first)),
            n if n.ends_with("_temp_path") && !first.is_empty() => {
                configured_kinds.push(n.trim_end_matches("_temp_path"));
                push_new(&mut l.temp_dirs, abs(first));
            }
            "fastcgi_pass" if !first.is_empty() => push_new(&mut l.fastcgi, first.to_owned()),
            "server" => {
                if let Some(up) = d.blocks.iter().find_map(|b| b.strip_prefix("upstream ")) {
                    upstreams.push((up.to_owned(), first.to_owned()));
                }
            }
            _ => {}
        }
    }
    // A compiled-in temp path is used wherever no directive names one for its kind.
    for (kind, dir) in &build.temp_dirs {
        if !configured_kinds.contains(&kind.as_str()) {
            push_new(&mut l.temp_dirs, dir.clone());
        }
    }
    l.proxied = proxied(&directives);
    let named: Vec<String> = l.fastcgi.clone();
    for name in named {
        for (_, server) in upstreams.iter().filter(|(u, _)| *u == name) {
            push_new(&mut l.fastcgi, server.clone());
        }
    }
    l
}

/// Each pass directive with the read timeout in effect where it is: the one set in the
/// innermost block around it (nginx inherits a directive into the blocks inside the one that
/// sets it, wherever in the block it stands).
fn proxied(directives: &[Directive]) -> Vec<Proxied> {
    let mut out = Vec::new();
    for d in directives {
        let Some(&(_, timeout)) = PASSES.iter().find(|(pass, _)| *pass == d.name) else {
            continue;
        };
        let Some(target) = d.args.first().map(|t| pass_target(t)) else {
            continue;
        };
        let set = directives
            .iter()
            .filter(|t| t.name == timeout && d.scopes.starts_with(&t.scopes))
            .max_by_key(|t| t.scopes.len())
            .and_then(|t| t.args.first().and_then(|a| seconds(a)));
        out.push(Proxied {
            target,
            location: d.blocks.last().cloned().unwrap_or_default(),
            read_timeout_s: set.unwrap_or(DEFAULT_READ_TIMEOUT_S),
            timeout_directive: timeout,
        });
    }
    out
}

/// A pass target's address: `http://127.0.0.1:8000/app` gives `127.0.0.1:8000`,
/// `uwsgi://unix:/run/a.sock` gives `unix:/run/a.sock`.
fn pass_target(arg: &str) -> String {
    let bare = arg.split_once("://").map_or(arg, |(_, rest)| rest);
    if bare.starts_with("unix:") {
        return bare.to_owned();
    }
    bare.split('/').next().unwrap_or(bare).to_owned()
}

/// An nginx time (`90`, `90s`, `2m`, `1h`, `1500ms`) in whole seconds, rounded up.
fn seconds(value: &str) -> Option<u64> {
    let digits = value.bytes().take_while(u8::is_ascii_digit).count();
    let n: u64 = value[..digits].parse().ok()?;
    match &value[digits..] {
        "" | "s" => Some(n),
        "ms" => Some(n.div_ceil(1000)),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        "d" => n.checked_mul(86_400),
        _ => None,
    }
}

fn is_log_file(arg: &str) -> bool {
    !arg.is_empty()
        && arg != "off"
        && arg != "stderr"
        && !arg.starts_with("syslog:")
        && !arg.starts_with("memory:")
        && !arg.contains('$')
}

fn push_new<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if !v.contains(&x) {
        v.push(x);
    }
}

/// Splits nginx's config syntax into directives: words separated by blanks, `;` ending a
/// directive, `{`/`}` opening and closing a block, `#` comments, quotes with `\` escapes.
fn tokenize(text: &str) -> Vec<Directive> {
    let mut out = Vec::new();
    let mut blocks: Vec<String> = Vec::new();
    let mut scopes: Vec<usize> = Vec::new();
    let mut opened = 0;
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut chars = text.chars().peekable();
    let flush = |word: &mut String, words: &mut Vec<String>| {
        if !word.is_empty() {
            words.push(std::mem::take(word));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '#' if word.is_empty() => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '"' | '\'' if word.is_empty() => {
                let mut quoted = String::new();
                while let Some(q) = chars.next() {
                    match q {
                        '\\' => quoted.extend(chars.next()),
                        q if q == c => break,
                        q => quoted.push(q),
                    }
                }
                words.push(quoted);
            }
            ';' | '{' | '}' => {
                flush(&mut word, &mut words);
                if !words.is_empty() {
                    let name = words.remove(0);
                    if c == '{' {
                        blocks.push(
                            std::iter::once(name.clone())
                                .chain(words.iter().cloned())
                                .collect::<Vec<_>>()
                                .join(" "),
                        );
                        words.clear();
                        opened += 1;
                        scopes.push(opened);
                        continue;
                    }
                    out.push(Directive {
                        name,
                        args: std::mem::take(&mut words),
                        blocks: blocks.clone(),
                        scopes: scopes.clone(),
                    });
                }
                if c == '}' {
                    blocks.pop();
                    scopes.pop();
                }
            }
            c if c.is_whitespace() => flush(&mut word, &mut words),
            c => word.push(c),
        }
    }
    out
}

/// Runs `nginx -T` (with `-c conf` when given) and `nginx -V`. Ok(None) when nginx is not
/// installed; Err(reason) when it is and its configuration does not load, which is itself a
/// finding (`server_config_syntax`).
pub fn discover(conf: Option<&Path>) -> Result<Option<(NginxLayout, String)>, String> {
    let Some(bin) = command::required(command::find("nginx"), "--nginx-conf", conf)? else {
        return Ok(None);
    };
    let dump = command::run(&bin, &command::test_args("-T", "-c", conf))?;
    if !dump.success {
        return Err(command::complaint(&dump.stderr));
    }
    let version = command::run(&bin, &["-V".as_ref()])?;
    let mut layout = parse(&dump.stdout, &Build::parse(&version.stderr));
    layout.conf = conf.map(Path::to_path_buf);
    Ok(Some((layout, command::complaint(&dump.stderr))))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = r#"# configuration file /etc/nginx/nginx.conf:
user www-data;
worker_processes auto;
error_log /var/log/nginx/error.log;
http {
    access_log /var/log/nginx/access.log combined;
    client_body_temp_path /srv/tmp/body 1 2;
    upstream php { server unix:/run/php/php8.2-fpm.sock; }
    # configuration file /etc/nginx/sites-enabled/default:
    server {
        listen 80;
        root "/var/www/my site";  # a comment; with { braces }
        location ~ \.php$ { fastcgi_pass php; }
        location /app { root html; access_log off; }
        location /v { root /srv/$host; }
    }
}
"#;

    #[test]
    fn reads_user_roots_logs_temp_dirs_and_fastcgi_targets() {
        let build = Build::parse(
            "nginx version: nginx/1.22.1\nconfigure arguments: --prefix=/usr/share/nginx --http-client-body-temp-path=/var/lib/nginx/body --http-fastcgi-temp-path=/var/lib/nginx/fastcgi",
        );
        let l = parse(DUMP, &build);
        assert_eq!(l.user, "www-data");
        assert_eq!(
            l.roots,
            [
                PathBuf::from("/var/www/my site"),
                "/usr/share/nginx/html".into()
            ]
        );
        assert_eq!(
            l.logs,
            [
                PathBuf::from("/var/log/nginx/error.log"),
                "/var/log/nginx/access.log".into()
            ]
        );
        assert_eq!(
            l.temp_dirs,
            [
                PathBuf::from("/srv/tmp/body"),
                "/var/lib/nginx/fastcgi".into()
            ]
        );
        assert_eq!(l.fastcgi, ["php", "unix:/run/php/php8.2-fpm.sock"]);
    }

    #[test]
    fn each_pass_gets_the_read_timeout_of_its_innermost_block() {
        let dump = "http { proxy_read_timeout 2m;\n\
            server { location /a/ { proxy_pass http://127.0.0.1:8000/x; }\n\
                     location /b/ { uwsgi_pass 127.0.0.1:3031; uwsgi_read_timeout 1500ms; }\n\
                     location /c/ { proxy_pass http://unix:/run/app.sock; proxy_read_timeout 5; } }\n\
            server { location /a/ { uwsgi_pass uwsgi://127.0.0.1:3032; } } }";
        let l = parse(dump, &Build::default());
        let got: Vec<(&str, &str, u64)> = l
            .proxied
            .iter()
            .map(|p| (p.target.as_str(), p.location.as_str(), p.read_timeout_s))
            .collect();
        assert_eq!(
            got,
            [
                ("127.0.0.1:8000", "location /a/", 120),
                ("127.0.0.1:3031", "location /b/", 2),
                ("unix:/run/app.sock", "location /c/", 5),
                ("127.0.0.1:3032", "location /a/", 60),
            ]
        );
        assert_eq!(
            (seconds("1h"), seconds("x"), seconds("")),
            (Some(3600), None, None)
        );
    }

    #[test]
    fn defaults_to_nobody_and_survives_garbage() {
        assert_eq!(parse("", &Build::default()).user, "nobody");
        let l = parse("}}} \"unterminated { ; ;; user", &Build::default());
        assert_eq!(l.user, "nobody");
    }
}
