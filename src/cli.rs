//! The command line: argument parsing and the binary's edge, where errors become one line on
//! stderr and an exit code (0 nothing found, 1 found, 2 usage/input/I-O error).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use jiff::tz::TimeZone;
use reqwest::header::{HeaderName, HeaderValue};

use crate::diagnose::{self, rules::Rules};
use crate::doctor;
use crate::explain;
use crate::formats::Kind;
use crate::formats::access::AccessFormat;
use crate::line_figures::{FiguresTally, LineFigures};
use crate::manual;
use crate::probe;
use crate::read;
use crate::render;
use crate::scan::{self, ScanOptions, Window};
use crate::scope::Scope;
use crate::scope::when::{End, WhenSpec};
use crate::seo;
use crate::watch;

/// Why a site answers 5xx, from the logs its servers already write.
#[derive(Parser, Debug)]
#[command(name = "fivehundred", version, long_about = None, after_help = MAIN_EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Find every 5xx response in the logs, tie it to the error-log lines that caused it, and
    /// say the cause, the failing file and line, and the fix.
    ///
    /// Exit status: 0 if no 5xx was found, 1 if any was, 2 on a usage or input error.
    #[command(after_help = DIAGNOSE_EXAMPLES)]
    Diagnose(DiagnoseArgs),
    /// What crawlers saw: 5xx and 429 answers to Googlebot, Bingbot and the other known
    /// crawlers, impostors, and above all robots.txt answering 5xx or 429, which makes Google
    /// pause crawling the whole site.
    ///
    /// Known crawlers, by the user-agent token each operator documents: Googlebot (every
    /// agent with `Googlebot` in it, `Storebot-Google`, `Google-InspectionTool`; split by
    /// kind: smartphone, desktop, image, video, news…), Bingbot (`bingbot`), YandexBot,
    /// Applebot, DuckDuckBot, Baiduspider, GPTBot, OAI-SearchBot, ChatGPT-User, ClaudeBot,
    /// PerplexityBot, CCBot, Amazonbot, meta-externalagent. Each gets its requests and its
    /// share of 2xx, 3xx, 4xx, 429 and 5xx.
    ///
    /// 429 counts next to 5xx: "Googlebot reduces your site's crawling rate when it
    /// encounters a significant number of URLs with 500, 503, or 429 HTTP response status
    /// codes" (https://developers.google.com/search/docs/crawling-indexing/reduce-crawl-rate),
    /// and on robots.txt "Google temporarily interprets 5xx and 429 server errors as if the
    /// site is fully disallowed"
    /// (https://developers.google.com/search/docs/crawling-indexing/robots/robots_txt).
    /// Google's timeline for a robots.txt 5xx or 429: crawling paused for up to 12 hours
    /// after the last failure; while it keeps failing, crawling by the cached copy for up to
    /// 30 days; then the site risks leaving the index.
    ///
    /// Exit status: 0 if crawlers got no 5xx or 429 and robots.txt never answered either, 1
    /// if they did, 2 on a usage or input error.
    #[command(after_help = SEO_EXAMPLES)]
    Seo(SeoArgs),
    /// Follow the logs live: count responses, explain 5xx as they come, alert on spikes and on
    /// robots.txt answering 5xx or 429, serve /metrics, /api/incidents, /api/history,
    /// /api/overview, /healthz and a dashboard.
    ///
    /// Restarts (even after kill -9) go on exactly where the last run stopped, the
    /// dashboard's history with them, through
    /// rename and copytruncate rotation. Alerts go to every --webhook as JSON and to
    /// Alertmanager's v2 API; a receiver that is down gets them when it is back. Runs until
    /// SIGINT or SIGTERM.
    #[command(after_help = WATCH_EXAMPLES)]
    Watch(WatchArgs),
    /// Ask a live site for errors and report what its answers leak: stack traces, SQL errors,
    /// file paths, versions, debug consoles, internal addresses, each with the fix for its
    /// stack.
    ///
    /// Requests each URL and a few harmless variants that commonly make applications fail (a
    /// malformed value, `id[]=`, a quote, an over-long value, a bad percent-encoding, an
    /// `Accept: application/json` request), and once per site its debug endpoints (Spring's
    /// /actuator, Go's /debug/pprof/, Symfony's /_profiler/…); GET only, only the hosts named,
    /// rate-limited. The same leak on several URLs of a site is one finding with its URLs.
    ///
    /// Exit status: 0 if nothing leaked or only low/info findings, 1 if any finding is medium
    /// or high, 2 on a usage error or when no URL could be fetched at all.
    #[command(after_help = PROBE_EXAMPLES)]
    Probe(ProbeArgs),
    /// What a 5xx status code means (RFC 9110 and the RFCs that add codes), what to check
    /// first, what it does to crawling, and its constant in .NET, Rust, Rails, Go, Symfony,
    /// Python, Java, Spring, Apache HttpComponents and Angular. Knows 500–511 (509 is
    /// unofficial) and the non-standard codes met in logs, in their vendor's words:
    /// Cloudflare's 520–527 and 530, nginx's 499, AWS Application Load Balancer's 460 and 561
    /// (marked `"official": false` with their `vendor` and `source`).
    ///
    /// Exit status: 0 when explained, 2 for a code it does not know or a usage error.
    #[command(after_help = EXPLAIN_EXAMPLES)]
    Explain(ExplainArgs),
    /// Check this host for the conditions that make servers answer 5xx, before they do.
    ///
    /// Full disks and inode tables, files the server user cannot read, upload/session dirs it
    /// cannot write, .htaccess lines Apache cannot parse, display_errors on (a leak) or
    /// log_errors off (no evidence), a memory_limit or pm.max_children wrong for the host,
    /// configs that do not load, and databases that do not answer.
    ///
    /// Read-only. It learns the layout from the servers themselves (`nginx -T`, Apache's
    /// config and `apachectl -M`/`-t`, `php-fpm -tt`, `php-fpm -i`); run it as root so it can
    /// read their configs. When a --*-conf flag is given, only the named configs are examined.
    /// Databases are found in the PHP-FPM pools' env[…] and in doctor's own environment
    /// (DB_HOST/DB_PORT, PGHOST, DATABASE_URL, …); only a connection is opened, no credentials
    /// are read or sent.
    ///
    /// Exit status: 0 when nothing is critical, 1 if any finding is critical, 2 on a usage
    /// error.
    #[command(after_help = DOCTOR_EXAMPLES)]
    Doctor(DoctorArgs),
    /// Print the shell completion script for SHELL, to be sourced by the shell or saved where
    /// it looks for completions.
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),
    /// Print the manual page (roff) of fivehundred, or with --dir write it and one page per
    /// command (fivehundred-diagnose.1, …) into a directory.
    #[command(after_help = MAN_EXAMPLES)]
    Man(ManArgs),
}

const MAIN_EXAMPLES: &str = "Examples:
  fivehundred diagnose /var/log/nginx /var/log/php8.2-fpm.log
  fivehundred seo /var/log/nginx
  fivehundred watch --config /etc/fivehundred/watch.toml
  fivehundred diagnose --help

Documentation: man fivehundred-diagnose (and each command's page), docs/ in the source.";

const DIAGNOSE_EXAMPLES: &str = "Examples:
  fivehundred diagnose /var/log/nginx /var/log/php8.2-fpm.log
  fivehundred diagnose --since 2h
  fivehundred diagnose --since '2026-11-25 17:00' --until 1h30m /var/log/nginx
  fivehundred diagnose --host '*.example.com' --path /api/ --status 502-504 /var/log/nginx
  fivehundred diagnose --format json /var/log/apache2 > report.json
  fivehundred diagnose --format html -o report.html /var/log/nginx
  fivehundred diagnose --layout full /var/log/nginx | less
  zcat old.log.gz | fivehundred diagnose -";

const COMPLETIONS_EXAMPLES: &str = "Examples:
  fivehundred completions bash > ~/.local/share/bash-completion/completions/fivehundred
  fivehundred completions zsh > ~/.zfunc/_fivehundred
  fivehundred completions fish > ~/.config/fish/completions/fivehundred.fish
  fivehundred completions powershell >> $PROFILE
  eval (fivehundred completions elvish | slurp)";

const MAN_EXAMPLES: &str = "Examples:
  fivehundred man | man -l -
  fivehundred man --dir ~/.local/share/man/man1
  man fivehundred-diagnose";

const DOCTOR_EXAMPLES: &str = "Examples:
  sudo fivehundred doctor
  sudo fivehundred doctor --format json | jq '.checks[] | select(.status != \"ok\")'
  fivehundred doctor --nginx-conf /srv/site/nginx.conf --fpm-conf /srv/site/php-fpm.conf";

const EXPLAIN_EXAMPLES: &str = "Examples:
  fivehundred explain 502
  fivehundred explain 503 --format json
  fivehundred explain 499
  fivehundred explain 522 --format json";

const PROBE_EXAMPLES: &str = "Examples:
  fivehundred probe https://www.example.com/
  fivehundred probe example.com staging.example.com:8443
  fivehundred probe --crawl 20 --format json https://shop.example.com/ > leaks.json
  fivehundred probe --rate 1 --timeout 30 'https://app.example.com/item?id=3'
  fivehundred probe --cookie 'session=3f9a…' -H 'X-Tenant: acme' https://app.example.com/account
  fivehundred probe --format sarif -o probe.sarif https://staging.example.com/
  fivehundred probe --format junit -o probe.xml --proxy http://127.0.0.1:3128 https://staging.example.com/
  fivehundred probe --insecure https://10.0.0.5:8443/";

const WATCH_EXAMPLES: &str = "Examples:
  fivehundred watch /var/log/nginx --webhook https://hooks.example.com/T000/B000/XXX
  fivehundred watch --config /etc/fivehundred/watch.toml
  fivehundred watch demo/ --state /tmp/fivehundred-state --listen 127.0.0.1:9500
  curl -s 127.0.0.1:9500/metrics | grep fivehundred_responses_total
  curl -s '127.0.0.1:9500/api/incidents?host=*.example.com&status=502-504'

The config file takes the flags' names as keys (paths, listen, allow-host, state, webhook,
alertmanager, slo, from-end, tz, access-format, host, path, status); flags given on the
command line win.";

const SEO_EXAMPLES: &str = "Examples:
  fivehundred seo /var/log/nginx
  fivehundred seo --crawler-ranges googlebot.json --crawler-ranges bingbot.json access.log
  fivehundred seo --fetch-ranges /var/lib/fivehundred/ranges
  fivehundred seo --crawler-ranges /var/lib/fivehundred/ranges /var/log/nginx
  fivehundred seo --crawler 'seznam=(?i)seznambot' --format json access.log.*
  fivehundred seo --host shop.example.com --since 2026-11-25 /var/log/nginx";

/// Options shared by every subcommand that reads logs.
#[derive(Args, Debug)]
struct InputArgs {
    /// Log files or directories (every file in them and in their subdirectories, up to 8
    /// levels down, rotated and .gz ones included); `-` is stdin. Without any, the usual
    /// places are read: /var/log/nginx, /var/log/apache2, /var/log/httpd,
    /// /var/log/php*-fpm.log, /var/log/php.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Only lines at or after T: a duration back from the newest line (90m, 1h30m, 2d, 1w),
    /// a date (2026-11-25: its start), a date-time (2026-11-25 17:14, 2026-11-25T17:14:05) in
    /// the logs' zone (--tz), or one with its zone (2026-11-25T17:14:05+01:00, …Z).
    #[arg(long, value_name = "T")]
    since: Option<String>,

    /// Only lines at or before T (same forms as --since; a date means its end).
    #[arg(long, value_name = "T")]
    until: Option<String>,

    /// Only responses of these virtual hosts: a name or glob (shop.example.com,
    /// *.example.com; comma-separated for several), without case or port. Lines that name no
    /// host are left out.
    #[arg(long, value_name = "GLOB")]
    host: Option<String>,

    /// Only requests for these paths: a prefix (/api/), or a glob over the whole path when it
    /// has * or ? (*.php, /shop/*/cart). The query string is not part of the path.
    #[arg(long, value_name = "PREFIX_OR_GLOB")]
    path: Option<String>,

    /// Only responses with these statuses: codes, classes and ranges, comma-separated
    /// (502,504; 5xx; 500,502-504). Requests, 5xx and incidents are all counted within it.
    #[arg(long, value_name = "LIST")]
    status: Option<String>,

    /// Time zone of logs that write none (nginx and Apache error logs, PHP-FPM); default: this
    /// machine's.
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,

    /// A custom access-log format: an nginx log_format, e.g.
    /// '$remote_addr [$time_local] "$request" $status $request_time', or an Apache LogFormat,
    /// e.g. '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D' (told apart by their
    /// $variables and % directives; Apache's \" escapes may stay as copied). Or a format's
    /// name, for logs detection cannot tell: combined, common, vhost_combined, json, haproxy,
    /// haproxy_clf, w3c, alb, elb, cloudflare, gcp_lb. Tried before the others.
    #[arg(long, value_name = "FORMAT")]
    access_format: Option<String>,

    /// Parser threads for access logs (default: one per core). The result is the same for
    /// any number.
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
}

#[derive(Args, Debug)]
struct DiagnoseArgs {
    #[command(flatten)]
    input: InputArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,

    /// Write the report to FILE instead of stdout (required for html).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Colour: auto (only on a terminal), always, never.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,

    /// With --format json: list in each incident every access-log line it accounts for
    /// (`responses`) and every error-log record tied to it (`evidence_at`), each as
    /// {"input": INDEX into inputs, "line": N}, N 1-based.
    #[arg(long)]
    trace: bool,

    /// Text and HTML: show the N worst incidents (0: all; default 6 in the text's screen
    /// layout, 10 in its full layout, 50 in HTML) and count the rest in one line. JSON always
    /// lists every incident.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,

    /// Text: screen (a few lines per incident, the unknown ones of several hosts folded into
    /// one, to fit a terminal), full (each incident with its evidence) or auto (screen on a
    /// terminal, full when piped or written with -o).
    #[arg(long, value_enum, default_value_t = LayoutArg::Auto)]
    layout: LayoutArg,
}

#[derive(Args, Debug)]
struct SeoArgs {
    #[command(flatten)]
    input: InputArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,

    /// Write the report to FILE instead of stdout (required for html).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// A crawler's published IP ranges (Google's googlebot.json, Bing's bingbot.json, or any
    /// list of prefixes); the crawler is named by NAME= or else by the file name. A directory
    /// gives every NAME.json in it (as --fetch-ranges saves them). Requests that claim a
    /// crawler from outside its ranges are impostors, left out of every figure but
    /// `impostors`. Repeatable.
    #[arg(long, value_name = "[NAME=]FILE|DIR")]
    crawler_ranges: Vec<String>,

    /// Download the ranges each operator publishes into DIR (DIR/NAME.json), then exit (2 if
    /// any failed): googlebot
    /// https://developers.google.com/static/crawling/ipranges/common-crawlers.json, bingbot
    /// https://www.bing.com/toolbox/bingbot.json, applebot
    /// https://search.developer.apple.com/applebot.json, duckduckbot
    /// https://duckduckgo.com/duckduckbot.json, gptbot https://openai.com/gptbot.json,
    /// oai-searchbot https://openai.com/searchbot.json, chatgpt-user
    /// https://openai.com/chatgpt-user.json, claudebot https://claude.com/crawling/bots.json,
    /// perplexitybot https://www.perplexity.ai/perplexitybot.json, ccbot
    /// https://index.commoncrawl.org/ccbot.json. YandexBot, Baiduspider, Amazonbot and
    /// meta-externalagent publish none.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["crawler_ranges", "crawler", "paths"])]
    fetch_ranges: Option<PathBuf>,

    /// One more crawler: NAME and a regex its user agents match, e.g.
    /// 'yandex=(?i)yandexbot'. Repeatable. Slower: every line is then parsed.
    #[arg(long, value_name = "NAME=REGEX")]
    crawler: Vec<String>,

    /// Colour: auto (only on a terminal), always, never.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Args, Debug)]
struct WatchArgs {
    /// Files and directories to follow (every log file in them and in their subdirectories,
    /// up to 8 levels down, also ones created later).
    /// Without any, those of the config file, else the usual places.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// A TOML file with the same settings as the flags.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Where the HTTP endpoints listen [default: 127.0.0.1:9500].
    #[arg(long, value_name = "ADDR")]
    listen: Option<std::net::SocketAddr>,

    /// Also answer requests naming this host (e.g. a reverse proxy's name; repeatable).
    /// Requests naming any host but the listen address (or localhost on loopback) get a 421.
    #[arg(long, value_name = "NAME")]
    allow_host: Vec<String>,

    /// Checkpoint and incident store [default: /var/lib/fivehundred as root, else
    /// ~/.local/state/fivehundred].
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,

    /// POST each alert as JSON to URL (repeatable).
    #[arg(long, value_name = "URL")]
    webhook: Vec<String>,

    /// Send alerts to this Alertmanager (its base URL, e.g. http://127.0.0.1:9093).
    #[arg(long, value_name = "URL")]
    alertmanager: Option<String>,

    /// Availability objective in percent (e.g. 99.9): adds the burn-rate rule.
    #[arg(long, value_name = "PERCENT")]
    slo: Option<f64>,

    /// On a first start, begin at the end of each file instead of its beginning.
    #[arg(long)]
    from_end: bool,

    /// Time zone of logs that write none; default: this machine's.
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,

    /// Also follow this journald unit's entries, through `journalctl -f` (repeatable).
    #[arg(long, value_name = "UNIT")]
    journal: Vec<String>,

    /// Read `--journal` from this directory of journal files (`journalctl -D`) instead of
    /// the system journal.
    #[arg(long, value_name = "DIR", requires = "journal")]
    journal_directory: Option<PathBuf>,

    /// A custom access-log format: an nginx log_format or an Apache LogFormat string, or a
    /// format's name (as `diagnose --help` lists them).
    #[arg(long, value_name = "FORMAT")]
    access_format: Option<String>,

    /// The dashboard and /api/incidents show incidents of these virtual hosts only (as
    /// `diagnose --host`), unless a query's `?host=` says otherwise.
    #[arg(long, value_name = "GLOB")]
    host: Option<String>,

    /// Only incidents with a path of these (as `diagnose --path`), unless `?path=` says
    /// otherwise.
    #[arg(long, value_name = "PREFIX_OR_GLOB")]
    path: Option<String>,

    /// Only incidents with a status in LIST (as `diagnose --status`), unless `?status=` says
    /// otherwise.
    #[arg(long, value_name = "LIST")]
    status: Option<String>,
}

#[derive(Args, Debug)]
struct DoctorArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ProbeFormat::Text)]
    format: ProbeFormat,

    /// nginx's main config file (run as `nginx -T -c FILE`) instead of the installed one.
    #[arg(long, value_name = "FILE")]
    nginx_conf: Option<PathBuf>,

    /// Apache's main config file (run as `apachectl -f FILE`) instead of the installed one.
    #[arg(long, value_name = "FILE")]
    apache_conf: Option<PathBuf>,

    /// The php.ini PHP-FPM and mod_php read, instead of their own.
    #[arg(long, value_name = "FILE")]
    php_ini: Option<PathBuf>,

    /// PHP-FPM's main config file (run as `php-fpm -tt -y FILE`) instead of the installed one.
    #[arg(long, value_name = "FILE")]
    fpm_conf: Option<PathBuf>,

    /// When to colour the text output.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Args, Debug)]
struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
struct ManArgs {
    /// Write every page into DIR (created if missing) instead of printing the main one.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct ExplainArgs {
    /// The status code, e.g. 502.
    #[arg(value_name = "CODE")]
    code: String,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ProbeFormat::Text)]
    format: ProbeFormat,
}

#[derive(Args, Debug)]
struct ProbeArgs {
    /// http(s) URLs to probe, or bare hosts (`example.com`, `example.com:8443`: https://HOST/);
    /// no other host is ever requested.
    #[arg(value_name = "URL", required = true, value_parser = parse_probe_url)]
    urls: Vec<reqwest::Url>,

    /// Output format: text, json, sarif (SARIF 2.1.0) or junit (JUnit XML), the last two for
    /// CI systems.
    #[arg(long, value_enum, default_value_t = LeakFormat::Text)]
    format: LeakFormat,

    /// Send this header with every request (`Name: value`); repeatable. A token or a tenant
    /// header, so that pages behind a login are probed.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    headers: Vec<(HeaderName, HeaderValue)>,

    /// Send these cookies with every request (`a=b; c=d`): the session of a logged-in user.
    #[arg(long, value_name = "COOKIES", value_parser = parse_cookie)]
    cookie: Option<HeaderValue>,

    /// Send every request through this http(s) proxy (the proxy is not a target).
    #[arg(long, value_name = "URL", value_parser = parse_proxy)]
    proxy: Option<reqwest::Url>,

    /// Accept invalid TLS certificates (self-signed, expired, another host's); says so on
    /// stderr.
    #[arg(long)]
    insecure: bool,

    /// Follow up to N links (href, src) on the same host from the pages fetched.
    #[arg(long, value_name = "N", default_value_t = 0)]
    crawl: usize,

    /// Requests per second, at most.
    #[arg(long, value_name = "R", default_value_t = probe::DEFAULT_RATE, value_parser = parse_positive_secs)]
    rate: f64,

    /// Seconds each request may take, body included.
    #[arg(long, value_name = "S", default_value_t = probe::DEFAULT_TIMEOUT, value_parser = parse_positive_secs)]
    timeout: f64,

    /// Write the report to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Colour: auto (only on a terminal), always, never.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

/// An absolute http(s) URL with a host, or a bare host (`example.com`, `example.com:8443`),
/// which means `https://HOST/`.
fn parse_probe_url(s: &str) -> Result<reqwest::Url, String> {
    let bare = !s.contains("://") && !s.contains(['/', '?', '#', ' ']);
    let text = if bare {
        format!("https://{s}/")
    } else {
        s.to_owned()
    };
    let url = reqwest::Url::parse(&text).map_err(|e| format!("`{s}` is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("`{s}` is not an http(s) URL with a host"));
    }
    Ok(url)
}

/// `Name: value`, both valid in HTTP.
fn parse_header(s: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("`{s}` is not a header: give `Name: value`"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("`{}` is not a header name", name.trim()))?;
    let value = HeaderValue::from_str(value.trim()).map_err(|_| {
        format!("the value of header `{name}` holds characters HTTP does not allow")
    })?;
    Ok((name, value))
}

/// `a=b; c=d`: one or more cookies, each a name and a value.
fn parse_cookie(s: &str) -> Result<HeaderValue, String> {
    let pairs: Vec<&str> = s
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let bad = pairs.iter().find(|p| {
        p.split_once('=')
            .is_none_or(|(name, _)| name.trim().is_empty())
    });
    if pairs.is_empty() || bad.is_some() {
        return Err(format!(
            "`{s}` is not a cookie list: give `name=value; name2=value2`"
        ));
    }
    HeaderValue::from_str(&pairs.join("; "))
        .map_err(|_| format!("`{s}` holds characters a cookie cannot carry"))
}

/// An http(s) proxy URL with a host.
fn parse_proxy(s: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(s).map_err(|e| format!("`{s}` is not a proxy URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("`{s}` is not an http(s) proxy URL with a host"));
    }
    Ok(url)
}

/// A positive, finite number that makes a duration (a rate's inverse, a timeout).
fn parse_positive_secs(s: &str) -> Result<f64, String> {
    let n: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if n > 0.0
        && std::time::Duration::try_from_secs_f64(n.recip()).is_ok()
        && std::time::Duration::try_from_secs_f64(n).is_ok()
    {
        Ok(n)
    } else {
        Err(format!("`{s}` must be a positive number"))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ProbeFormat {
    Text,
    Json,
}

/// `probe`'s formats: the common two and two that CI systems read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LeakFormat {
    Text,
    Json,
    Sarif,
    Junit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    Html,
}

/// `--layout`: the text report's, see [`render::text::Layout`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LayoutArg {
    Auto,
    Screen,
    Full,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

/// Runs the command line and returns the exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version go to stdout in full; a usage error is one line on stderr.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return 0;
        }
        Err(e) => {
            eprintln!(
                "fivehundred: {} (see fivehundred --help)",
                read::escape_controls(&usage_error_line(&e))
            );
            return 2;
        }
    };
    let result = match cli.command {
        Command::Diagnose(args) => run_diagnose(args),
        Command::Seo(args) => run_seo(args),
        Command::Watch(args) => run_watch(args),
        Command::Probe(args) => run_probe(args),
        Command::Explain(args) => run_explain(args),
        Command::Doctor(args) => run_doctor(args),
        Command::Completions(args) => run_completions(args),
        Command::Man(args) => run_man(args),
    };
    match result {
        Ok(code) => code,
        // A closed pipe (`| head`) is the reader's choice, not an error to report.
        Err(e) if is_broken_pipe(&e) => 0,
        // Messages quote flag values and paths as given: no control character of theirs may
        // act on the terminal.
        Err(e) => {
            eprintln!(
                "fivehundred: error: {}",
                read::escape_controls(&one_line(&e))
            );
            2
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        let kind = c
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| {
                c.downcast_ref::<serde_json::Error>()
                    .and_then(serde_json::Error::io_error_kind)
            });
        kind == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// The first line of clap's message, without its `error: ` prefix, and its "did you mean"
/// tips (`tip: a similar subcommand exists: 'diagnose'`), which are worth the longer line.
fn usage_error_line(e: &clap::Error) -> String {
    if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        return "a command is needed, e.g. `fivehundred diagnose /var/log/nginx`".to_owned();
    }
    let text = e.render().to_string();
    let lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let tips = lines.clone().filter(|l| l.starts_with("tip: "));
    std::iter::once(usage_error_head(lines))
        .chain(tips.map(str::to_owned))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What went wrong, from the first of clap's `lines`; "the following required arguments were
/// not provided:" gets the ones it names on the next lines.
fn usage_error_head<'a>(mut lines: impl Iterator<Item = &'a str>) -> String {
    let first = lines.next().unwrap_or("bad usage");
    let first = first.trim_start_matches("error: ");
    match first.strip_suffix(':') {
        Some(head) => {
            let named: Vec<&str> = lines
                .take_while(|l| l.starts_with('<') || l.starts_with("--"))
                .collect();
            format!("{head}: {}", named.join(" "))
        }
        None => first.to_owned(),
    }
}

/// An error and its causes on one line (some messages, such as a regex's, span several). A
/// cause whose text the line already holds (errors that quote their source) is not repeated.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause
            .to_string()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

fn run_diagnose(args: DiagnoseArgs) -> Result<i32> {
    if args.format == Format::Html && args.output.is_none() {
        bail!("--format html needs -o FILE");
    }
    // The rule table (some 20 regexes and literal searches) compiles while the logs are read.
    let rules = std::thread::spawn(Rules::builtin);
    let inputs = inputs(&args.input.paths)?;
    let opts = scan_options(&args.input, &inputs.sources, true)?;
    let (mut scanned, mut figures, seo_report) =
        scan_for_diagnose(&inputs, &opts, args.format == Format::Html)?;
    figures.hosts.merge(std::mem::take(&mut scanned.hosts));
    let rules = rules
        .join()
        .map_err(|_| anyhow::anyhow!("the built-in rule table did not compile"))?;
    let mut report = diagnose::diagnose(scanned, rules, args.trace);
    report.summary.response_times = figures.times.percentiles();
    report.summary.requests_by_host = figures.hosts.top();
    // With access logs, any 5xx; with error logs alone, any incident.
    let code = i32::from(report.summary.server_errors > 0 || !report.incidents.is_empty());
    let color = use_color(args.color, args.output.as_deref());
    write_output(args.output.as_deref(), |out| match args.format {
        Format::Json => write_json(out, &report),
        Format::Text => Ok(render::text::write(
            out,
            &report,
            inputs.defaults.as_deref(),
            color,
            args.limit,
            text_layout(args.layout, args.output.as_deref()),
        )?),
        Format::Html => Ok(render::html::write(
            out,
            &report,
            seo_report.as_ref(),
            args.limit.unwrap_or(render::summary::HTML_LIMIT),
        )?),
    })?;
    Ok(code)
}

/// The scan with the response times its access lines carry and the requests per host, and for
/// the HTML report (whose crawler panel needs it) the `seo` report of the same pass.
fn scan_for_diagnose(
    inputs: &Inputs,
    opts: &ScanOptions,
    html: bool,
) -> Result<(scan::Scan, FiguresTally, Option<seo::SeoReport>)> {
    if !html {
        let (scanned, tallies) = scan_inputs(inputs, opts, &LineFigures)?;
        return Ok((scanned, tallies, None));
    }
    let crawlers = seo::Crawlers::builtin();
    let observer = seo::SeoObserver {
        crawlers: &crawlers,
    };
    let (scanned, (tally, tallies)) = scan_inputs(inputs, opts, &(observer, LineFigures))?;
    // `seo::report` reads only the inputs and the newest time of the scan.
    let head = scan::Scan {
        inputs: scanned.inputs.clone(),
        newest_access: scanned.newest_access,
        ..scan::Scan::default()
    };
    let report = seo::report(head, tally, &crawlers);
    Ok((scanned, tallies, Some(report)))
}

fn run_seo(args: SeoArgs) -> Result<i32> {
    if let Some(dir) = &args.fetch_ranges {
        return fetch_ranges(dir);
    }
    if args.format == Format::Html && args.output.is_none() {
        bail!("--format html needs -o FILE");
    }
    let mut crawlers = seo::Crawlers::builtin();
    for spec in &args.crawler {
        crawlers.add(spec)?;
    }
    for spec in &args.crawler_ranges {
        crawlers.add_ranges(spec)?;
    }
    let inputs = inputs(&args.input.paths)?;
    let opts = scan_options(&args.input, &inputs.sources, false)?;
    let observer = seo::SeoObserver {
        crawlers: &crawlers,
    };
    let (scanned, tally) = scan_inputs(&inputs, &opts, &observer)?;
    no_access_log_is_an_error(&scanned.inputs)?;
    let report = seo::report(scanned, tally, &crawlers);
    let color = use_color(args.color, args.output.as_deref());
    write_output(args.output.as_deref(), |out| match args.format {
        Format::Json => write_json(out, &report),
        Format::Text => Ok(render::seo::write(
            out,
            &report,
            inputs.defaults.as_deref(),
            color,
        )?),
        Format::Html => Ok(render::html::write_seo(out, &report)?),
    })?;
    Ok(i32::from(report.found()))
}

/// Tests only: serves the range files from this base URL instead of their operators' hosts.
const RANGES_BASE_ENV: &str = "FIVEHUNDRED_RANGES_BASE";

/// `seo --fetch-ranges DIR`: one line per file written, one on stderr per failure; exit 2 if
/// any failed.
fn fetch_ranges(dir: &Path) -> Result<i32> {
    let base = std::env::var(RANGES_BASE_ENV).ok();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the HTTP runtime")?;
    let fetched = runtime.block_on(seo::fetch::fetch_all(dir, base.as_deref()))?;
    let mut failed = 0;
    for f in &fetched {
        match &f.result {
            Ok((file, spans)) => println!(
                "{:<15} {}  {} ({spans} range(s))",
                f.crawler,
                read::display_name(file),
                f.url
            ),
            Err(e) => {
                failed += 1;
                eprintln!("fivehundred: {}: {}: {e}", f.crawler, f.url);
            }
        }
    }
    Ok(if failed > 0 { 2 } else { 0 })
}

fn run_watch(args: WatchArgs) -> Result<i32> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| read::display_name(path))?;
            toml::from_str::<watch::run::WatchConfig>(&text)
                .with_context(|| format!("{}: not a watch config", read::display_name(path)))?
        }
        None => watch::run::WatchConfig::default(),
    };
    config.merge_flags(watch::run::WatchConfig {
        paths: args.paths,
        listen: args.listen,
        allow_host: args.allow_host,
        state: args.state,
        webhook: args.webhook,
        alertmanager: args.alertmanager,
        slo: args.slo,
        from_end: args.from_end,
        tz: args.tz,
        access_format: args.access_format,
        journal: args.journal,
        journal_directory: args.journal_directory,
        host: args.host,
        path: args.path,
        status: args.status,
    });
    if config.paths.is_empty() && config.journal.is_empty() {
        config.paths = read::default_places();
        if config.paths.is_empty() {
            bail!(
                "no PATH given and none of the usual log places exist (/var/log/nginx, /var/log/apache2, /var/log/httpd, /var/log/php*-fpm.log)"
            );
        }
    }
    let state = config.state.clone().unwrap_or_else(default_state_dir);
    watch::run::run(&config, state.clone(), |addr| {
        eprintln!(
            "fivehundred watch: following {} path(s); http://{addr}/ (metrics at /metrics); state in {}",
            config.paths.len(),
            read::display_name(&state)
        );
    })?;
    Ok(0)
}

/// The code is taken as a string, not parsed by clap, so that `explain abc` and `explain 599`
/// fail alike: one line naming the codes it knows, exit 2.
fn run_explain(args: ExplainArgs) -> Result<i32> {
    let explanation = explain::lookup(&args.code)?;
    write_output(None, |out| match args.format {
        ProbeFormat::Json => write_json(out, &explain::report(explanation)),
        ProbeFormat::Text => Ok(explain::write_text(out, explanation)?),
    })?;
    Ok(0)
}

/// The completion script, for the name the binary is installed under.
fn run_completions(args: CompletionsArgs) -> Result<i32> {
    let script = manual::completions(Cli::command(), args.shell, "fivehundred");
    write_output(None, |out| Ok(out.write_all(&script)?))?;
    Ok(0)
}

/// The main man page on stdout, or every page written into `--dir`.
fn run_man(args: ManArgs) -> Result<i32> {
    match args.dir {
        Some(dir) => manual::write_man_pages(Cli::command(), &dir)
            .with_context(|| format!("writing man pages into {}", read::display_name(&dir)))?,
        None => {
            let page = manual::man_page(Cli::command())?;
            write_output(None, |out| Ok(out.write_all(page.as_bytes())?))?;
        }
    }
    Ok(0)
}

/// A named config that does not exist is a usage error, not a finding.
fn run_doctor(args: DoctorArgs) -> Result<i32> {
    for (flag, file) in [
        ("--nginx-conf", &args.nginx_conf),
        ("--apache-conf", &args.apache_conf),
        ("--php-ini", &args.php_ini),
        ("--fpm-conf", &args.fpm_conf),
    ] {
        if let Some(f) = file
            && !f.is_file()
        {
            let why = if f.exists() {
                "not a regular file"
            } else {
                "no such file"
            };
            bail!("{flag} {}: {why}", f.display());
        }
    }
    let opts = doctor::Options {
        nginx_conf: args.nginx_conf,
        apache_conf: args.apache_conf,
        php_ini: args.php_ini,
        fpm_conf: args.fpm_conf,
    };
    let report = doctor::run(&opts);
    let color = use_color(args.color, None);
    write_output(None, |out| match args.format {
        ProbeFormat::Json => write_json(out, &report),
        ProbeFormat::Text => Ok(render::doctor::write(out, &report, color)?),
    })?;
    Ok(i32::from(report.critical()))
}

fn run_probe(args: ProbeArgs) -> Result<i32> {
    if args.insecure {
        scan::warning(
            "--insecure: TLS certificates are NOT verified; anyone between here and the site \
             can read and change what is sent and answered",
        );
    }
    let mut headers = args.headers;
    headers.extend(args.cookie.map(|c| (reqwest::header::COOKIE, c)));
    let opts = probe::Options {
        crawl: args.crawl,
        limits: probe::Limits {
            gap: std::time::Duration::from_secs_f64(args.rate.recip()),
            timeout: std::time::Duration::from_secs_f64(args.timeout),
            body_cap: probe::DEFAULT_BODY_CAP,
        },
        session: probe::Session {
            headers,
            proxy: args.proxy,
            insecure: args.insecure,
        },
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the HTTP runtime")?;
    let report = runtime.block_on(probe::probe(&args.urls, &opts))?;
    let failed: Vec<String> = report
        .targets
        .iter()
        .filter_map(|t| {
            t.error
                .as_ref()
                .map(|e| format!("{}: {}", t.url, probe::detect::clean(e)))
        })
        .collect();
    let none_fetched = failed.len() == report.targets.len();
    if !none_fetched {
        for line in &failed {
            scan::warning(line);
        }
    }
    let color = use_color(args.color, args.output.as_deref());
    write_output(args.output.as_deref(), |out| match args.format {
        LeakFormat::Json => write_json(out, &report),
        LeakFormat::Sarif => write_json(out, &probe::sarif::log(&report)),
        LeakFormat::Junit => Ok(probe::junit::write(out, &report)?),
        LeakFormat::Text => Ok(probe::render::write(out, &report, color)?),
    })?;
    if none_fetched {
        bail!("no URL could be fetched: {}", failed.join("; "));
    }
    Ok(i32::from(report.fails()))
}

/// `/var/lib/fivehundred` for root (a service), else the user's state directory.
fn default_state_dir() -> PathBuf {
    let root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    if root {
        return PathBuf::from("/var/lib/fivehundred");
    }
    std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir)
        .join("fivehundred")
}

/// The text report's layout: on a terminal (auto), the screen layout at its width.
fn text_layout(layout: LayoutArg, output: Option<&Path>) -> render::text::Layout {
    let terminal = output.is_none() && std::io::stdout().is_terminal();
    match layout {
        LayoutArg::Full => render::text::Layout::Full,
        LayoutArg::Auto if !terminal => render::text::Layout::Full,
        LayoutArg::Auto | LayoutArg::Screen => {
            let width = terminal_size::terminal_size()
                .filter(|_| terminal)
                .map_or(render::screen::DEFAULT_WIDTH, |(w, _)| usize::from(w.0));
            render::text::Layout::Screen { width }
        }
    }
}

/// Colour on a terminal (unless NO_COLOR), or as asked.
fn use_color(color: Color, output: Option<&Path>) -> bool {
    match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none()
        }
    }
}

fn write_json(out: &mut impl Write, report: &impl serde::Serialize) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)?;
    Ok(())
}

/// Runs `write` on FILE or stdout, buffered, and flushes; errors name where the output was
/// going.
fn write_output(
    output: Option<&Path>,
    write: impl FnOnce(&mut Box<dyn Write>) -> Result<()>,
) -> Result<()> {
    let target = output.map_or_else(|| "stdout".to_owned(), read::display_name);
    let written = match output {
        Some(p) => {
            let file = std::fs::File::create(p).with_context(|| target.clone())?;
            write_buffered(file, write)
        }
        None => write_buffered(std::io::stdout().lock(), write),
    };
    written.with_context(|| format!("writing {target}"))
}

/// How much output is gathered before each write to its file or pipe.
const OUTPUT_BUFFER: usize = 1 << 16;

/// Runs `write` through a buffer in front of `sink`, then flushes it: reports are written
/// field by field, which unbuffered is a system call each (millions for a big report), and
/// a write that fails at the end (a full disk) must be an error, not lost in a drop.
fn write_buffered<W: Write + 'static>(
    sink: W,
    write: impl FnOnce(&mut Box<dyn Write>) -> Result<()>,
) -> Result<()> {
    let mut out: Box<dyn Write> = Box::new(std::io::BufWriter::with_capacity(OUTPUT_BUFFER, sink));
    write(&mut out)?;
    out.flush()?;
    Ok(())
}

/// What the `PATH` arguments name.
struct Inputs {
    /// The paths given, or the usual places.
    paths: Vec<PathBuf>,
    sources: Vec<read::Source>,
    /// What was found in a directory but not read, with why.
    skipped: Vec<read::ReadError>,
    /// The usual places, when no path was given (for the text output to say which were read).
    defaults: Option<Vec<PathBuf>>,
}

/// The inputs the arguments name, or the usual places when there are none.
fn inputs(paths: &[PathBuf]) -> Result<Inputs> {
    let (paths, defaults) = if paths.is_empty() {
        let places = read::default_places();
        if places.is_empty() {
            bail!(
                "no PATH given and none of the usual log places exist (/var/log/nginx, /var/log/apache2, /var/log/httpd, /var/log/php*-fpm.log)"
            );
        }
        (places.clone(), Some(places))
    } else {
        (paths.to_vec(), None)
    };
    let (sources, skipped) = read::expand(&paths)?;
    Ok(Inputs {
        paths,
        sources,
        skipped,
        defaults,
    })
}

/// Scans the inputs. Every input not read as a log (unknown, unreadable, skipped in a
/// directory) is listed in `inputs` and named on stderr with why; when that is all of them,
/// the run is an error: "no 5xx" from nothing read would be a lie.
fn scan_inputs<O: scan::BlockObserver>(
    inputs: &Inputs,
    opts: &ScanOptions,
    observer: &O,
) -> Result<(scan::Scan, O::Tally)> {
    let (mut scanned, tally) = scan::scan_with(&inputs.sources, opts, observer)?;
    scanned.inputs.extend(
        inputs
            .skipped
            .iter()
            .map(|e| scan::InputReport::unread(e.path().to_owned(), e.reason())),
    );
    let skipped: Vec<String> = scanned
        .inputs
        .iter()
        .filter(|i| i.is_skipped())
        .map(|i| format!("{}: {}", i.path, i.reason().unwrap_or_default()))
        .collect();
    if scanned.inputs.is_empty() {
        let given: Vec<String> = inputs.paths.iter().map(|p| read::display_name(p)).collect();
        bail!(
            "no input could be read as a log: no file in {}",
            given.join(", ")
        );
    }
    if skipped.len() == scanned.inputs.len() {
        bail!("no input could be read as a log: {}", skipped.join("; "));
    }
    for line in &skipped {
        opts.progress
            .suspend(|| scan::warning(&format!("skipped {line}")));
    }
    empty_scope_is_said(&scanned, &opts.scope);
    Ok((scanned, tally))
}

/// Says on stderr when the filters left out every access-log line read: a report of nothing
/// must not pass for a quiet site, and the usual reason (a format that logs no host, under
/// `--host`) is worth a line.
fn empty_scope_is_said(scanned: &scan::Scan, scope: &Scope) {
    let read = scanned
        .inputs
        .iter()
        .any(|i| i.kind == Kind::Access && i.lines > i.unparsed);
    if scope.is_everything() || scanned.requests > 0 || !read {
        return;
    }
    scan::warning(
        "no access-log line is within --host/--path/--status (a log format that writes no host, such as combined or common, matches no --host)",
    );
}

/// `seo` reads what crawlers were answered from access logs alone: given logs of which none
/// is one (error logs only), it has read nothing it can use, and "no crawler" would be a lie.
/// Empty files alone are not that: nothing was logged, and that is what is reported.
fn no_access_log_is_an_error(inputs: &[scan::InputReport]) -> Result<()> {
    let read: Vec<String> = inputs
        .iter()
        .filter(|i| i.kind != Kind::Unknown)
        .map(|i| format!("{} ({})", i.path, i.format))
        .collect();
    if read.is_empty() || inputs.iter().any(|i| i.kind == Kind::Access) {
        return Ok(());
    }
    bail!(
        "no access log among the inputs, and seo reads crawlers' requests from access logs; read only {}",
        read.join(", ")
    );
}

/// How to scan; `error_logs` false when only access logs matter (`seo`).
fn scan_options(
    args: &InputArgs,
    sources: &[read::Source],
    error_logs: bool,
) -> Result<ScanOptions> {
    let tz = match &args.tz {
        Some(name) => TimeZone::get(name).with_context(|| format!("unknown time zone `{name}`"))?,
        None => TimeZone::system(),
    };
    let access_format = args
        .access_format
        .as_deref()
        .map(AccessFormat::from_flag)
        .transpose()
        .context("--access-format")?;
    let mut scope = Scope::new(
        args.host.as_deref(),
        args.path.as_deref(),
        args.status.as_deref(),
    )?;
    let mut opts = ScanOptions {
        tz,
        window: Window::default(),
        access_format,
        progress: progress_bar(),
        threads: args.threads.map_or_else(scan::default_threads, usize::from),
        error_logs,
        scope: Default::default(),
    };
    opts.window = window(args, sources, &opts)?;
    scope.since = opts.window.since.map(|ms| shown_time(ms, &opts.tz));
    scope.until = opts.window.until.map(|ms| shown_time(ms, &opts.tz));
    opts.scope = std::sync::Arc::new(scope);
    Ok(opts)
}

/// The window `--since` and `--until` name. Both are read before any log is, so a bad value
/// fails at once; a duration counts back from the newest line, which is then read first
/// (from files: stdin cannot be read twice).
fn window(args: &InputArgs, sources: &[read::Source], opts: &ScanOptions) -> Result<Window> {
    let ends = [
        (args.since.as_deref(), End::Since),
        (args.until.as_deref(), End::Until),
    ];
    let [since, until] = ends.map(|(value, end)| value.map(|v| WhenSpec::parse(v, &opts.tz, end)));
    let specs = [since.transpose()?, until.transpose()?];
    let newest = if specs.iter().flatten().any(WhenSpec::is_relative) {
        if sources.iter().any(|s| s.path.is_none()) {
            bail!("--since/--until with a duration need files, not stdin (use a date or a time)");
        }
        diagnose::newest(scan::scan(sources, opts)?)
    } else {
        None
    };
    let resolve = |spec: Option<WhenSpec>, (value, end): (Option<&str>, End)| {
        spec.map(|s| {
            s.resolve(newest.unwrap_or(0), &opts.tz, end)
                .with_context(|| {
                    format!(
                        "{} `{}`: too far back",
                        end.flag(),
                        value.unwrap_or_default()
                    )
                })
        })
        .transpose()
    };
    Ok(Window {
        since: resolve(specs[0], ends[0])?,
        until: resolve(specs[1], ends[1])?,
    })
}

/// A window end as reports show times: RFC 3339, in the logs' zone.
fn shown_time(ms: i64, tz: &TimeZone) -> String {
    let offset = jiff::Timestamp::from_millisecond(ms).map_or(0, |t| tz.to_offset(t).seconds());
    crate::formats::Stamp { ms, offset }.rfc3339()
}

/// A progress bar on stderr when it is a terminal; hidden otherwise (scripts, CI, pipes).
fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{spinner} {wide_msg} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_quoted_by_their_error_are_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::AddrInUse, "Address already in use");
        let e =
            anyhow::Error::new(io).context("cannot listen on 127.0.0.1:1: Address already in use");
        assert_eq!(
            one_line(&e),
            "cannot listen on 127.0.0.1:1: Address already in use"
        );
        let e = anyhow::anyhow!("inner").context("outer");
        assert_eq!(one_line(&e), "outer: inner");
    }

    #[test]
    fn a_missing_argument_is_named() {
        let e = Cli::try_parse_from(["fivehundred", "explain"]).unwrap_err();
        assert_eq!(
            usage_error_line(&e),
            "the following required arguments were not provided: <CODE>"
        );
    }

    /// A sink that counts the writes it is given.
    struct Counting(std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl Write for Counting {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_report_written_field_by_field_reaches_its_file_in_blocks() {
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let fields = 100_000;
        write_buffered(Counting(calls.clone()), |out| {
            for i in 0..fields {
                write!(out, "{i},")?;
            }
            Ok(())
        })
        .unwrap();
        // About 590 KB: ten blocks, not a hundred thousand writes.
        assert!(calls.load(std::sync::atomic::Ordering::Relaxed) <= 10);
    }

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
