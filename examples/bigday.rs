//! A big site's bad day, generated: six vhosts behind one nginx, about 100,000 requests over
//! 25 November 2026 (UTC) and a few thousand 5xx over about 300 paths, for the tests and
//! screenshots of the report and the dashboard (issue 19). Deterministic: the same seed and
//! shape give the same bytes (a small PRNG written out below, integer arithmetic only).
//!
//! ```sh
//! cargo run --example bigday -- --out /tmp/bigday            # the day
//! cargo run --example bigday -- --out /tmp/big --requests 2000000 --catalogue 100000
//! ```
//!
//! `DIR/access.log` is one nginx log for all vhosts, in `vhost_combined` with `$request_time`
//! appended (`log_format vhost '$host:$server_port $remote_addr - $remote_user [$time_local]
//! "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time'`).
//! `DIR/error.log` is nginx's error log with the records a real nginx + PHP-FPM writes for
//! each failed request, shaped as the lab's captures (`tests/fixtures/real/nginx-fpm/**`,
//! `db-mariadb/**`, `nginx-node/**`). The day's failures, each one `diagnose` cause:
//!
//! - `shop.example.com`, 09:40–11:10: a deploy breaks the price formatter; every product page
//!   (`/p/SLUG-ID`, a few hundred of them) dies on the same uncaught `TypeError` at
//!   `PriceFormatter.php:88` (`php_uncaught_exception`: one incident over many paths).
//! - `api.example.com`, 13:00–15:00: the stock service behind `proxy_pass` is slow, nginx
//!   gives up after `proxy_read_timeout` (504, `upstream_timeout`).
//! - `www.example.com` and `blog.example.com`, 16:20–17:05: MariaDB is down; PDO's
//!   `Connection refused` on every PHP page (`db_unreachable`, one incident per vhost).
//! - `blog.example.com`, 02:00–03:00: the feeds run out of memory (`php_memory_limit`).
//! - All day, now and then: 5xx that no error-log record explains (`unknown`), on every vhost.
//!
//! [`generate`] returns the counts written ([`Day`]); `--out` also saves them as
//! `DIR/day.json`. [`generate_flood`] writes the worst day for a report's size instead: a
//! million 5xx (`--flood N`).

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// The vhosts, with their share of the traffic in percent.
pub const HOSTS: [(&str, u64); 6] = [
    ("shop.example.com", 34),
    ("api.example.com", 20),
    ("www.example.com", 16),
    ("blog.example.com", 12),
    ("static.example.com", 13),
    ("admin.example.com", 5),
];

/// The causes the day is made of, as `diagnose` names them.
pub const CAUSES: [&str; 5] = [
    "php_uncaught_exception",
    "upstream_timeout",
    "db_unreachable",
    "php_memory_limit",
    "unknown",
];

/// How big a day to make.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Requests over the day.
    pub requests: u64,
    /// Product pages on the shop (and stock ids on the API: a quarter as many): how many
    /// distinct paths the failures spread over.
    pub catalogue: u64,
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            requests: 100_000,
            catalogue: 240,
        }
    }
}

/// What was written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Day {
    pub requests: u64,
    pub server_errors: u64,
    /// Responses by status class, `[1xx, 2xx, 3xx, 4xx, 5xx]`.
    pub by_class: [u64; 5],
    /// 5xx by cause, in [`CAUSES`] order.
    pub by_cause: [u64; CAUSES.len()],
    /// 5xx by vhost, in [`HOSTS`] order.
    pub by_host: [u64; HOSTS.len()],
    /// Requests by vhost, in [`HOSTS`] order.
    pub requests_by_host: [u64; HOSTS.len()],
    /// 5xx answered to search-engine crawlers.
    pub crawler_errors: u64,
    pub error_lines: u64,
}

impl Day {
    pub fn to_json(&self) -> String {
        let list = |names: &[&str], counts: &[u64]| {
            let mut s = String::new();
            for (i, (n, c)) in names.iter().zip(counts).enumerate() {
                let _ = write!(s, "{}\"{n}\": {c}", if i > 0 { ", " } else { "" });
            }
            s
        };
        let hosts: Vec<&str> = HOSTS.iter().map(|h| h.0).collect();
        format!(
            "{{\"requests\": {}, \"server_errors\": {}, \"by_class\": {:?}, \"by_cause\": {{{}}}, \
             \"by_host\": {{{}}}, \"requests_by_host\": {{{}}}, \"crawler_errors\": {}, \
             \"error_lines\": {}}}\n",
            self.requests,
            self.server_errors,
            self.by_class,
            list(&CAUSES, &self.by_cause),
            list(&hosts, &self.by_host),
            list(&hosts, &self.requests_by_host),
            self.crawler_errors,
            self.error_lines,
        )
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut out, mut seed, mut shape, mut flood) = (None, 19, Shape::default(), None);
    while let Some(a) = args.next() {
        let value = args.next().unwrap_or_default();
        let number = || value.parse::<u64>().unwrap_or_else(|_| usage(&a));
        match a.as_str() {
            "--out" => out = Some(value.clone()),
            "--seed" => seed = number(),
            "--requests" => shape.requests = number(),
            "--catalogue" => shape.catalogue = number().max(1),
            "--flood" => flood = Some(number()),
            _ => usage(&a),
        }
    }
    let out = out.unwrap_or_else(|| usage("--out"));
    if let Some(n) = flood {
        generate_flood(Path::new(&out), n).expect("write the flood");
        return;
    }
    let day = generate_shaped(seed, Path::new(&out), shape).unwrap_or_else(|e| {
        eprintln!("bigday: {out}: {e}");
        std::process::exit(2)
    });
    let json = day.to_json();
    let saved = std::fs::write(Path::new(&out).join("day.json"), &json);
    print!("{json}");
    saved.expect("write day.json");
}

fn usage(arg: &str) -> ! {
    eprintln!(
        "bigday: bad or missing {arg}\nusage: bigday --out DIR [--seed N] [--requests N] [--catalogue N] [--flood N]"
    );
    std::process::exit(2)
}

/// Writes the day (default [`Shape`]) into `out` (created if missing).
pub fn generate(seed: u64, out: &Path) -> io::Result<Day> {
    generate_shaped(seed, out, Shape::default())
}

/// Writes a day of the given shape into `out`: `access.log` and `error.log`.
pub fn generate_shaped(seed: u64, out: &Path, shape: Shape) -> io::Result<Day> {
    std::fs::create_dir_all(out)?;
    let mut w = Writer {
        access: BufWriter::with_capacity(1 << 20, File::create(out.join("access.log"))?),
        error: BufWriter::with_capacity(1 << 20, File::create(out.join("error.log"))?),
        rng: Rng::new(seed),
        shape,
        day: Day::default(),
        connection: 0,
        line: String::with_capacity(1024),
    };
    for i in 0..shape.requests {
        // Evenly over the day: the episodes, not the traffic, make the shape.
        let second = i * 86_400 / shape.requests.max(1);
        w.request(second)?;
    }
    w.access.flush()?;
    w.error.flush()?;
    Ok(w.day)
}

/// The worst day for a report's size: `responses` 5xx and nothing else, over 40 vhosts and
/// 100,000 paths, with no error log (every one `unknown`), written to `out/access.log` in
/// `vhost_combined`, evenly over 25 November 2026. A million lines take about 100 MB and a
/// second or two.
pub fn generate_flood(out: &Path, responses: u64) -> io::Result<()> {
    std::fs::create_dir_all(out)?;
    let mut w = BufWriter::with_capacity(1 << 20, File::create(out.join("access.log"))?);
    let mut line = String::with_capacity(128);
    for i in 0..responses {
        line.clear();
        let _ = write!(
            line,
            "h{}.example.com:443 10.{}.{}.{} - - [25/Nov/2026:",
            i % 40,
            i % 7,
            i / 7 % 250,
            1 + i % 253
        );
        clock(&mut line, i * 86_400 / responses.max(1));
        let _ = writeln!(
            line,
            " +0000] \"GET /p/{} HTTP/1.1\" {} 157 \"-\" \"-\"",
            i * 7_919 % 100_000,
            [500, 502, 503, 504][(i % 4) as usize]
        );
        w.write_all(line.as_bytes())?;
    }
    w.flush()
}

/// splitmix64: small, fixed, enough for a test day.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed ^ 0x005e_ed00_19b1_6da7)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// `true` `n` times in a thousand.
    fn per_mille(&mut self, n: u64) -> bool {
        self.below(1000) < n
    }
}

const BROWSERS: [&str; 4] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
];

const CRAWLERS: [&str; 2] = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
];

const API_CLIENT: &str = "okhttp/4.12.0";

const SLUGS: [&str; 12] = [
    "trail-runner",
    "alpine-jacket",
    "camp-stove",
    "down-sleeping-bag",
    "trekking-poles",
    "headlamp",
    "rain-shell",
    "hiking-boots",
    "day-pack",
    "water-filter",
    "climbing-rope",
    "merino-socks",
];

const SHOP_PAGES: [&str; 6] = [
    "/",
    "/cart",
    "/checkout",
    "/search?q=tent",
    "/c/tents",
    "/c/shoes",
];
const WWW_PAGES: [&str; 8] = [
    "/",
    "/about",
    "/contact",
    "/jobs",
    "/press",
    "/stores",
    "/help/shipping",
    "/help/returns",
];
const BLOG_POSTS: [&str; 10] = [
    "/2026/11/winter-layering-guide/",
    "/2026/11/stove-fuel-compared/",
    "/2026/10/first-via-ferrata/",
    "/2026/10/packing-light/",
    "/2026/09/boot-care/",
    "/2026/09/headlamp-test/",
    "/2026/08/alps-hut-to-hut/",
    "/2026/08/camp-cooking/",
    "/2026/07/rain-gear-myths/",
    "/2026/07/trail-etiquette/",
];
const FEEDS: [&str; 3] = ["/feed/", "/comments/feed/", "/category/guides/feed/"];
const STATIC_FILES: [&str; 5] = [
    "/css/site.css",
    "/js/app.js",
    "/img/logo.svg",
    "/fonts/inter.woff2",
    "/img/hero.webp",
];
const ADMIN_PAGES: [&str; 4] = ["/login", "/orders", "/orders/export", "/products"];

/// The seconds of the day each episode lasts, `[from, to)`.
const SHOP_DEPLOY: (u64, u64) = (9 * 3600 + 40 * 60, 11 * 3600 + 10 * 60);
const API_SLOW: (u64, u64) = (13 * 3600, 15 * 3600);
const DB_DOWN: (u64, u64) = (16 * 3600 + 20 * 60, 17 * 3600 + 5 * 60);
const FEEDS_OOM: (u64, u64) = (2 * 3600, 3 * 3600);

fn during(second: u64, (from, to): (u64, u64)) -> bool {
    (from..to).contains(&second)
}

/// One request as it will be logged, and the error-log record for it if it failed.
struct Request {
    host: usize,
    client: String,
    path: String,
    status: u16,
    bytes: u64,
    agent: &'static str,
    /// `$request_time`, in milliseconds.
    millis: u64,
    failure: Option<Failure>,
}

/// Why a request failed, and so what nginx wrote to its error log.
enum Failure {
    /// A PHP fatal relayed by PHP-FPM on FastCGI stderr: its cause (index in [`CAUSES`]) and
    /// message (after `PHP message: `).
    Php(usize, String),
    /// nginx gave up on the proxied upstream after `proxy_read_timeout`.
    Timeout,
    /// Nothing was logged.
    Silent,
}

impl Failure {
    /// The cause `diagnose` should name, as an index in [`CAUSES`].
    fn cause(&self) -> usize {
        match self {
            Failure::Php(cause, _) => *cause,
            Failure::Timeout => 1,
            Failure::Silent => 4,
        }
    }
}

struct Writer {
    access: BufWriter<File>,
    error: BufWriter<File>,
    rng: Rng,
    shape: Shape,
    day: Day,
    connection: u64,
    line: String,
}

impl Writer {
    fn request(&mut self, second: u64) -> io::Result<()> {
        let r = self.make(second);
        self.connection += 1 + self.rng.below(3);
        let class = usize::from(r.status / 100).clamp(1, 5) - 1;
        self.day.requests += 1;
        self.day.requests_by_host[r.host] += 1;
        self.day.by_class[class] += 1;
        if r.status >= 500 {
            self.day.server_errors += 1;
            self.day.by_host[r.host] += 1;
            self.day.crawler_errors += u64::from(CRAWLERS.contains(&r.agent));
            if let Some(f) = &r.failure {
                self.day.by_cause[f.cause()] += 1;
            }
        }
        if let Some(f) = &r.failure {
            self.error_record(second, &r, f)?;
        }
        self.access_line(second, &r)
    }

    /// What the next request is, and how it went.
    fn make(&mut self, second: u64) -> Request {
        let host = self.pick_host();
        let crawler = host != 1 && self.rng.per_mille(60);
        let agent = match (host, crawler) {
            (1, _) => API_CLIENT,
            (_, true) => self.rng.pick(&CRAWLERS),
            _ => self.rng.pick(&BROWSERS),
        };
        let client = if crawler {
            format!(
                "66.249.{}.{}",
                64 + self.rng.below(16),
                1 + self.rng.below(250)
            )
        } else {
            format!(
                "{}.{}.{}.{}",
                [81, 93, 176, 203][self.rng.below(4) as usize],
                self.rng.below(256),
                self.rng.below(256),
                1 + self.rng.below(254)
            )
        };
        let mut r = Request {
            host,
            client,
            path: String::new(),
            status: 200,
            bytes: 2_000 + self.rng.below(40_000),
            agent,
            millis: 5 + self.rng.below(180),
            failure: None,
        };
        match host {
            0 => self.shop(second, &mut r),
            1 => self.api(second, &mut r),
            2 => self.www(second, &mut r),
            3 => self.blog(second, &mut r),
            4 => self.static_file(&mut r),
            _ => self.admin(&mut r),
        }
        if r.failure.is_none() && r.status == 200 && self.rng.per_mille(2) {
            // Now and then a 5xx nobody logged a reason for (a load balancer's health
            // check failing over, a handler returning 500 on purpose).
            r.status = self.rng.pick(&[500, 502, 503]);
            r.failure = Some(Failure::Silent);
        }
        if r.status >= 500 {
            r.bytes = if r.status == 504 {
                167
            } else {
                157 + self.rng.below(400)
            };
        }
        r
    }

    fn pick_host(&mut self) -> usize {
        let mut roll = self.rng.below(100);
        for (i, (_, share)) in HOSTS.iter().enumerate() {
            if roll < *share {
                return i;
            }
            roll -= share;
        }
        0
    }

    fn shop(&mut self, second: u64, r: &mut Request) {
        if self.rng.below(100) < 65 {
            let id = self.rng.below(self.shape.catalogue);
            r.path = format!("/p/{}-{}", SLUGS[(id % 12) as usize], 1000 + id);
            if during(second, SHOP_DEPLOY) && self.rng.below(100) < 93 {
                r.status = 500;
                r.millis = 20 + self.rng.below(60);
                r.failure = Some(Failure::Php(
                    0,
                    php_fatal(
                        "TypeError",
                        "App\\Catalog\\PriceFormatter::format(): Argument #1 ($amount) must be of type int, string given, called in /var/www/shop/src/Controller/ProductController.php on line 41",
                        "/var/www/shop/src/Catalog/PriceFormatter.php",
                        88,
                        &[
                            "/var/www/shop/src/Controller/ProductController.php(41): App\\Catalog\\PriceFormatter->format()",
                            "/var/www/shop/public/index.php(31): App\\Kernel->handle()",
                        ],
                    ),
                ));
            }
        } else {
            r.path = self.rng.pick(&SHOP_PAGES).to_string();
            if r.path == "/checkout" && self.rng.per_mille(300) {
                r.status = 302;
            }
        }
    }

    fn api(&mut self, second: u64, r: &mut Request) {
        let id = self.rng.below(self.shape.catalogue / 4 + 1);
        r.path = format!("/v1/stock/{}", 1000 + id);
        r.bytes = 80 + self.rng.below(300);
        if during(second, API_SLOW) && self.rng.below(100) < 30 {
            r.status = 504;
            r.millis = 60_000 + self.rng.below(5);
            r.failure = Some(Failure::Timeout);
        } else if self.rng.per_mille(40) {
            r.status = self.rng.pick(&[400, 401, 404, 429]);
        }
    }

    fn www(&mut self, second: u64, r: &mut Request) {
        r.path = self.rng.pick(&WWW_PAGES).to_string();
        if during(second, DB_DOWN) {
            self.db_down(r, "/var/www/www/src/Db.php", 14);
        } else if self.rng.per_mille(30) {
            r.status = 301;
        }
    }

    fn blog(&mut self, second: u64, r: &mut Request) {
        if self.rng.below(100) < 15 {
            r.path = self.rng.pick(&FEEDS).to_string();
            if during(second, FEEDS_OOM) && self.rng.below(100) < 80 {
                r.status = 500;
                r.millis = 900 + self.rng.below(2000);
                r.failure = Some(Failure::Php(
                    3,
                    "PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted (tried to allocate 20480 bytes) in /var/www/blog/wp-includes/class-wpdb.php on line 2349".into(),
                ));
                return;
            }
        } else {
            r.path = self.rng.pick(&BLOG_POSTS).to_string();
        }
        if during(second, DB_DOWN) {
            self.db_down(r, "/var/www/blog/wp-includes/class-wpdb.php", 1982);
        } else if self.rng.per_mille(20) {
            r.status = 404;
        }
    }

    fn db_down(&mut self, r: &mut Request, file: &str, line: u32) {
        r.status = 500;
        r.millis = 3 + self.rng.below(10);
        r.failure = Some(Failure::Php(
            2,
            php_fatal(
                "PDOException",
                "SQLSTATE[HY000] [2002] Connection refused",
                file,
                line,
                &[&format!("{file}({line}): PDO->__construct()")],
            ),
        ));
    }

    fn static_file(&mut self, r: &mut Request) {
        r.path = self.rng.pick(&STATIC_FILES).to_string();
        r.millis = self.rng.below(3);
        if self.rng.per_mille(150) {
            r.status = 304;
            r.bytes = 0;
        }
    }

    fn admin(&mut self, r: &mut Request) {
        r.path = self.rng.pick(&ADMIN_PAGES).to_string();
        if self.rng.per_mille(100) {
            r.status = 403;
        }
    }

    fn access_line(&mut self, second: u64, r: &Request) -> io::Result<()> {
        let l = &mut self.line;
        l.clear();
        let _ = write!(l, "{}:443 {} - - [25/Nov/2026:", HOSTS[r.host].0, r.client);
        clock(l, second);
        let referer = if r.host == 1 {
            "-"
        } else {
            "https://www.example.com/"
        };
        let _ = writeln!(
            l,
            " +0000] \"GET {} HTTP/1.1\" {} {} \"{referer}\" \"{}\" {}.{:03}",
            r.path,
            r.status,
            r.bytes,
            r.agent,
            r.millis / 1000,
            r.millis % 1000
        );
        self.access.write_all(l.as_bytes())
    }

    fn error_record(&mut self, second: u64, r: &Request, f: &Failure) -> io::Result<()> {
        let (message, upstream) = match f {
            Failure::Silent => return Ok(()),
            Failure::Php(_, m) => (
                format!(
                    "FastCGI sent in stderr: \"PHP message: {m}\" while reading response header from upstream"
                ),
                "fastcgi://unix:/run/php/php8.2-fpm.sock:".to_string(),
            ),
            Failure::Timeout => (
                "upstream timed out (110: Connection timed out) while reading response header from upstream".to_string(),
                format!("http://127.0.0.1:8080{}", r.path),
            ),
        };
        // `second` is when the response ended: nginx gave up on a slow upstream then, and a
        // PHP fatal comes with the response header, just before it.
        let at = second;
        let pid = 2210 + self.connection % 4;
        let l = &mut self.line;
        l.clear();
        l.push_str("2026/11/25 ");
        clock(l, at);
        let _ = writeln!(
            l,
            " [error] {pid}#{pid}: *{} {message}, client: {}, server: {host}, request: \"GET {} HTTP/1.1\", upstream: \"{upstream}\", host: \"{host}\"",
            self.connection,
            r.client,
            r.path,
            host = HOSTS[r.host].0,
        );
        self.day.error_lines += 1;
        self.error.write_all(l.as_bytes())
    }
}

/// `hh:mm:ss`.
fn clock(l: &mut String, second: u64) {
    let s = second.min(86_399);
    let _ = write!(l, "{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
}

/// An uncaught PHP exception as PHP writes it (after `PHP message: `), stack trace and all.
fn php_fatal(kind: &str, what: &str, file: &str, line: u32, frames: &[&str]) -> String {
    let mut m =
        format!("PHP Fatal error:  Uncaught {kind}: {what} in {file}:{line}\nStack trace:\n");
    for (i, f) in frames.iter().enumerate() {
        let _ = writeln!(m, "#{i} {f}");
    }
    let _ = write!(
        m,
        "#{} {{main}}\n  thrown in {file} on line {line}",
        frames.len()
    );
    m
}
