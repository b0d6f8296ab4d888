//! A deterministic generator of realistic web-server logs, for benchmarks and tests:
//! `DIR/access.log` in nginx's `combined` format and the matching nginx `DIR/error.log`.
//!
//! ```sh
//! cargo run --release --example genlog -- --size 1G --seed 42 --out /tmp/logs
//! ```
//!
//! The site is a PHP shop (`shop.example.com`, nginx in front of PHP-FPM, MariaDB behind it)
//! visited for days by people (IPv4 and IPv6, sessions of pages and their assets, query
//! strings), search-engine and AI crawlers (`robots.txt` first), vulnerability scanners (404s,
//! 403s, junk requests), uptime monitors, feed readers and API clients. About 2% of the
//! requests are 5xx, in bursts: each burst has one cause (a syntax error deployed, PHP-FPM
//! down, the database refusing connections…) and, for each failed request, the error-log
//! record a real nginx + PHP-FPM writes for it, in the formats captured by the fault lab
//! (`tests/fixtures/real/nginx-fpm/**`). The error log also has the usual noise: PHP warnings
//! on pages that worked, `open() … failed` for scanner probes, reload and log-rotation notices.
//! A few access lines are malformed (cut off by a crash, NUL bytes, a stray line).
//!
//! Same seed, same bytes: the random numbers come from a small PRNG written out below
//! (splitmix64 seeding xoshiro256**), not the `rand` crate, so the output cannot change with
//! a crate version; and only integer arithmetic decides anything (no `ln`, `exp`, whose last
//! bit may differ between libms).
//!
//! Fast: lines are written into two reused buffers flushed in 1 MiB writes; nothing is
//! allocated per line (strings are `&'static`, numbers are formatted by hand).
//!
//! The counts of what was written (lines, malformed lines, 5xx by status and by the cause
//! `fivehundred diagnose` should name) are printed as JSON on stdout and saved in
//! `DIR/stats.json`; `tests/bench_generator.rs` checks `diagnose` against them.
//!
//! `--error-size SIZE` adds the error logs of a host that logs PHP at debug level, until the
//! error logs come to SIZE in total, spread over the access log's time span in step with its
//! traffic: more records in `error.log` (FastCGI stderr relays of PHP warnings and
//! deprecations, request bodies buffered to disk, TLS handshakes failed by scanners), PHP's own
//! `DIR/php_errors.log` (`[02-Mar-2026 14:05:09 UTC] PHP Deprecated:  …`, the bulk of the
//! size; fatal errors with stack traces and database errors from the shop's cron jobs and queue
//! worker) and PHP-FPM's `DIR/php-fpm.log` (children recycled, the pool full, children killed by
//! SIGSEGV, restarts), each episode written during the 5xx burst it belongs to. `access.log` is
//! the same bytes with or without it, and so are the records that explain its 5xx: the added
//! records come from a second random stream, and those that name a cause are kept away from
//! the 5xx that no record explains (a first pass finds them), so `diagnose` names the same
//! causes. Without the option the output is what it always was.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use clap::Parser;
use fivehundred::formats::time::{civil_from_days, days_from_civil};

/// Generate a deterministic nginx access log (combined) and the matching error log.
#[derive(Parser, Debug)]
#[command(name = "genlog")]
struct Args {
    /// Size of access.log to write, at least: bytes, or with a K, M or G suffix (1024-based).
    #[arg(long, default_value = "1G", value_parser = parse_size)]
    size: u64,
    /// Seed: the same seed and size give the same bytes.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Directory to write access.log, error.log and stats.json into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Also write php_errors.log and php-fpm.log, and more records in error.log, until the
    /// error logs come to this size in total (K, M or G suffix). At least what the 5xx and the
    /// usual noise need is written (about a tenth of the access log's size).
    #[arg(long, value_parser = parse_size)]
    error_size: Option<u64>,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("genlog: {}: {e}", args.out.display());
        std::process::exit(2);
    }
}

fn run(args: &Args) -> io::Result<()> {
    let stats = match args.error_size {
        None => write_logs(&args.out, args.size, args.seed)?,
        Some(e) => write_all_logs(&args.out, args.size, args.seed, e)?,
    };
    let total = stats.error_bytes + stats.php_error_bytes + stats.fpm_bytes;
    if let Some(e) = args.error_size
        && total > e + e / 100
    {
        eprintln!(
            "genlog: the error logs came to {total} bytes, more than the {e} asked: that much is \
             needed by the 5xx and the usual noise of this access log"
        );
    }
    let json = stats.to_json();
    std::fs::write(args.out.join("stats.json"), &json)?;
    io::stdout().write_all(json.as_bytes())
}

/// Parses `1G`, `256M`, `64K` or a plain number of bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, shift) = match s.as_bytes().last().map(u8::to_ascii_uppercase) {
        Some(b'K') => (&s[..s.len() - 1], 10),
        Some(b'M') => (&s[..s.len() - 1], 20),
        Some(b'G') => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("not a size: {s:?} (e.g. 1G, 256M, 4096)"))?;
    n.checked_shl(shift)
        .filter(|v| v >> shift == n)
        .ok_or_else(|| format!("size too large: {s}"))
}

/// Writes `dir/access.log` and `dir/error.log`.
pub fn write_logs(dir: &std::path::Path, size: u64, seed: u64) -> io::Result<Stats> {
    std::fs::create_dir_all(dir)?;
    let mut access = File::create(dir.join("access.log"))?;
    let mut error = File::create(dir.join("error.log"))?;
    let stats = generate(size, seed, &mut access, &mut error)?;
    access.sync_data().ok();
    error.sync_data().ok();
    Ok(stats)
}

/// Writes `dir/access.log` and the error logs `error.log`, `php_errors.log` and `php-fpm.log`,
/// the error logs coming to `error_size` bytes in total (or what the 5xx need, if more).
pub fn write_all_logs(
    dir: &std::path::Path,
    size: u64,
    seed: u64,
    error_size: u64,
) -> io::Result<Stats> {
    std::fs::create_dir_all(dir)?;
    let mut access = File::create(dir.join("access.log"))?;
    let mut error = File::create(dir.join("error.log"))?;
    let mut php = File::create(dir.join("php_errors.log"))?;
    let mut fpm = File::create(dir.join("php-fpm.log"))?;
    let stats = generate_all(
        size,
        seed,
        error_size,
        &mut access,
        &mut error,
        &mut php,
        &mut fpm,
    )?;
    for f in [access, error, php, fpm] {
        f.sync_data().ok();
    }
    Ok(stats)
}

// ---------------------------------------------------------------------------------------------
// What was written
// ---------------------------------------------------------------------------------------------

/// The causes `fivehundred diagnose` names (ids from its rule table), in the order reported.
pub const CAUSES: [&str; 16] = [
    "php_syntax_error",
    "php_undefined_function",
    "php_uncaught_exception",
    "php_memory_limit",
    "php_timeout",
    "upstream_timeout",
    "upstream_unavailable",
    "fpm_pool_exhausted",
    "fpm_crash",
    "db_unreachable",
    "db_pool_exhausted",
    "db_auth",
    "disk_full",
    "rewrite_loop",
    "rate_limited",
    "unknown",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cause {
    PhpSyntax,
    PhpUndefinedFunction,
    PhpUncaught,
    PhpMemory,
    PhpTimeout,
    UpstreamTimeout,
    UpstreamUnavailable,
    PoolExhausted,
    FpmCrash,
    DbUnreachable,
    DbPool,
    DbAuth,
    DiskFull,
    RewriteLoop,
    /// nginx's `limit_req` answering 503, with its `limiting requests` line.
    RateLimited,
    /// 5xx that no error-log line explains (maintenance mode).
    Unknown,
}

/// Counts of what the generator wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub seed: u64,
    /// Lines in access.log, malformed ones included.
    pub lines: u64,
    pub bytes: u64,
    /// Access lines that are not a request (cut off, NUL bytes, a stray line).
    pub malformed: u64,
    /// Well-formed access lines: `lines - malformed`.
    pub requests: u64,
    /// 5xx responses, and by status (500..=599).
    pub server_errors: u64,
    pub by_status: Vec<(u16, u64)>,
    /// 5xx responses by the cause `diagnose` should name, in [`CAUSES`] order.
    pub by_cause: [u64; CAUSES.len()],
    /// 5xx bursts (incidents) started.
    pub bursts: u64,
    pub error_lines: u64,
    pub error_bytes: u64,
    /// First and last access-log time, RFC 3339.
    pub first: String,
    pub last: String,
    /// `--error-size`, 0 without it; the fields below are 0 then too.
    pub error_size: u64,
    /// php_errors.log: records (a fatal error and its stack trace are one) and bytes.
    pub php_error_records: u64,
    pub php_error_bytes: u64,
    /// php-fpm.log: records and bytes.
    pub fpm_records: u64,
    pub fpm_bytes: u64,
    /// Records added to error.log by `--error-size` (counted in `error_lines` too).
    pub error_extra_records: u64,
    /// Records that name a cause but were written for no 5xx (cron and queue-worker
    /// failures, FPM's pool-full warnings and crashed children): `diagnose` lists those it
    /// does not read with a 5xx (a crash explains the resets near it) under `other_errors`.
    pub other_error_records: u64,
}

impl Stats {
    pub fn to_json(&self) -> String {
        let by_status: Vec<String> = self
            .by_status
            .iter()
            .map(|(s, n)| format!("\"{s}\": {n}"))
            .collect();
        let by_cause: Vec<String> = CAUSES
            .iter()
            .zip(self.by_cause)
            .filter(|(_, n)| *n > 0)
            .map(|(c, n)| format!("\"{c}\": {n}"))
            .collect();
        let extra = if self.error_size == 0 {
            String::new()
        } else {
            format!(
                ", \"error_size\": {}, \"error_extra_records\": {}, \"php_error_records\": {}, \
                 \"php_error_bytes\": {}, \"fpm_records\": {}, \"fpm_bytes\": {}, \
                 \"other_error_records\": {}, \"error_logs_bytes\": {}",
                self.error_size,
                self.error_extra_records,
                self.php_error_records,
                self.php_error_bytes,
                self.fpm_records,
                self.fpm_bytes,
                self.other_error_records,
                self.error_bytes + self.php_error_bytes + self.fpm_bytes,
            )
        };
        format!(
            "{{\"seed\": {}, \"lines\": {}, \"bytes\": {}, \"malformed\": {}, \"requests\": {}, \
             \"server_errors\": {}, \"by_status\": {{{}}}, \"by_cause\": {{{}}}, \"bursts\": {}, \
             \"error_lines\": {}, \"error_bytes\": {}, \"first\": \"{}\", \"last\": \"{}\"{extra}}}\n",
            self.seed,
            self.lines,
            self.bytes,
            self.malformed,
            self.requests,
            self.server_errors,
            by_status.join(", "),
            by_cause.join(", "),
            self.bursts,
            self.error_lines,
            self.error_bytes,
            self.first,
            self.last,
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Random numbers
// ---------------------------------------------------------------------------------------------

/// xoshiro256** seeded by splitmix64: written out here rather than taken from the `rand`
/// crate so that the same seed gives the same bytes whatever crate versions are locked.
struct Rng {
    s: [u64; 4],
}

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut splitmix = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Rng {
            s: [splitmix(), splitmix(), splitmix(), splitmix()],
        }
    }

    fn next(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the tiny bias does not matter here).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `ppm` / 1,000,000.
    fn ppm(&mut self, ppm: u64) -> bool {
        self.below(1_000_000) < ppm
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }

    /// A weighted choice from `(weight, value)` pairs.
    fn choose<T: Copy>(&mut self, table: &[(u32, T)]) -> T {
        let total: u64 = table.iter().map(|&(w, _)| u64::from(w)).sum();
        let mut r = self.below(total);
        for &(w, v) in table {
            if r < u64::from(w) {
                return v;
            }
            r -= u64::from(w);
        }
        table[table.len() - 1].1
    }
}

// ---------------------------------------------------------------------------------------------
// Formatting without allocation
// ---------------------------------------------------------------------------------------------

fn put_u64(buf: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

fn put2(buf: &mut Vec<u8>, n: u64) {
    buf.push(b'0' + (n / 10 % 10) as u8);
    buf.push(b'0' + (n % 10) as u8);
}

/// A 16-bit group of an IPv6 address: lowercase hex, no leading zeros.
fn put_hex16(buf: &mut Vec<u8>, n: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let n = n & 0xffff;
    let mut started = false;
    for shift in [12, 8, 4, 0] {
        let d = (n >> shift) & 0xf;
        if d != 0 || started || shift == 0 {
            buf.push(HEX[d as usize]);
            started = true;
        }
    }
}

fn put_alnum(buf: &mut Vec<u8>, rng: &mut Rng, n: usize) {
    const ALNUM: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for _ in 0..n {
        buf.push(ALNUM[rng.below(62) as usize]);
    }
}

// ---------------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------------

const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// The log's clock, in microseconds since the epoch, with both stamps of the current second
/// formatted once (the second changes every few lines, not every line).
struct Clock {
    us: u64,
    sec: u64,
    /// `02/Mar/2026:14:05:09 +0000`
    access: Vec<u8>,
    /// `2026/03/02 14:05:09`
    error: Vec<u8>,
    /// `2026-03-02T14:05:09+00:00`
    rfc3339: Vec<u8>,
    /// `02-Mar-2026 14:05:09` (PHP's and PHP-FPM's logs)
    php: Vec<u8>,
}

impl Clock {
    fn new(us: u64) -> Clock {
        let mut c = Clock {
            us,
            sec: u64::MAX,
            access: Vec::with_capacity(32),
            error: Vec::with_capacity(32),
            rfc3339: Vec::with_capacity(32),
            php: Vec::with_capacity(32),
        };
        c.refresh();
        c
    }

    fn advance(&mut self, us: u64) {
        self.us += us;
        self.refresh();
    }

    fn refresh(&mut self) {
        let sec = self.us / 1_000_000;
        if sec == self.sec {
            return;
        }
        self.sec = sec;
        let (y, m, d) = civil_from_days((sec / 86_400) as i64);
        let (m, d) = (u64::from(m), u64::from(d));
        let s = sec % 86_400;
        let (hh, mm, ss) = (s / 3600, s / 60 % 60, s % 60);
        let y = y as u64;
        let a = &mut self.access;
        a.clear();
        put2(a, d);
        a.push(b'/');
        a.extend_from_slice(MONTHS[(m - 1) as usize]);
        a.push(b'/');
        put_u64(a, y);
        a.push(b':');
        put2(a, hh);
        a.push(b':');
        put2(a, mm);
        a.push(b':');
        put2(a, ss);
        a.extend_from_slice(b" +0000");
        let e = &mut self.error;
        e.clear();
        put_u64(e, y);
        e.push(b'/');
        put2(e, m);
        e.push(b'/');
        put2(e, d);
        e.push(b' ');
        put2(e, hh);
        e.push(b':');
        put2(e, mm);
        e.push(b':');
        put2(e, ss);
        let r = &mut self.rfc3339;
        r.clear();
        put_u64(r, y);
        r.push(b'-');
        put2(r, m);
        r.push(b'-');
        put2(r, d);
        r.push(b'T');
        put2(r, hh);
        r.push(b':');
        put2(r, mm);
        r.push(b':');
        put2(r, ss);
        r.extend_from_slice(b"+00:00");
        let p = &mut self.php;
        p.clear();
        put2(p, d);
        p.push(b'-');
        p.extend_from_slice(MONTHS[(m - 1) as usize]);
        p.push(b'-');
        put_u64(p, y);
        p.push(b' ');
        put2(p, hh);
        p.push(b':');
        put2(p, mm);
        p.push(b':');
        put2(p, ss);
    }

    fn hour(&self) -> usize {
        (self.sec / 3600 % 24) as usize
    }

    fn day(&self) -> u64 {
        self.sec / 86_400
    }
}

/// Traffic by hour of day, in percent of the mean: quiet at night, busy in the evening.
const HOUR_LOAD: [u64; 24] = [
    34, 25, 21, 18, 18, 23, 40, 63, 92, 115, 132, 138, 144, 138, 132, 132, 138, 149, 167, 178, 172,
    149, 109, 69,
];
/// Mean gap between requests at 100% load: 8 requests a second, ~600,000 a day.
const MEAN_GAP_US: u64 = 125_000;

// ---------------------------------------------------------------------------------------------
// The site
// ---------------------------------------------------------------------------------------------

const HOST: &[u8] = b"shop.example.com";
const SITE: &[u8] = b"https://shop.example.com";
const ROOT: &[u8] = b"/var/www/shop";
/// How nginx names the PHP-FPM upstream in error records (with the trailing colon of a unix
/// socket; `upstream timed out` records have none, as nginx writes them).
const UPSTREAM: &[u8] = b"fastcgi://unix:/run/php/php8.2-fpm.sock:";
const UPSTREAM_NO_COLON: &[u8] = b"fastcgi://unix:/run/php/php8.2-fpm.sock";

// Routes, as bits, so that a burst can hit a set of them.
const HOME: u32 = 1 << 0;
const PRODUCT: u32 = 1 << 1;
const CATEGORY: u32 = 1 << 2;
const SEARCH: u32 = 1 << 3;
const CART: u32 = 1 << 4;
const CHECKOUT: u32 = 1 << 5;
const ACCOUNT: u32 = 1 << 6;
const BLOG: u32 = 1 << 7;
const API: u32 = 1 << 8;
const ADMIN: u32 = 1 << 9;
const UPLOAD: u32 = 1 << 10;
const FEED: u32 = 1 << 11;
const SITEMAP: u32 = 1 << 12;
/// A scanner's probe of a `.php` file that does not exist: PHP-FPM answers 404.
const SCAN_PHP: u32 = 1 << 13;
/// Files nginx serves itself (assets, robots.txt, scanner probes of dotfiles): never 5xx.
const STATIC: u32 = 1 << 14;
/// Pages the application builds from the database.
const DB_PAGES: u32 = HOME
    | PRODUCT
    | CATEGORY
    | SEARCH
    | CART
    | CHECKOUT
    | ACCOUNT
    | BLOG
    | API
    | ADMIN
    | UPLOAD
    | FEED
    | SITEMAP;
/// Everything that goes to PHP-FPM.
const PHP_ALL: u32 = DB_PAGES | SCAN_PHP;

const PRODUCTS: [&str; 24] = [
    "trail-running-shoe",
    "merino-wool-socks",
    "ultralight-tent-2p",
    "down-jacket-800",
    "hydration-pack-12l",
    "carbon-trekking-poles",
    "headlamp-400lm",
    "rain-shell-jacket",
    "titanium-camp-stove",
    "sleeping-bag-minus-5",
    "insulated-bottle-750ml",
    "climbing-harness",
    "approach-shoe",
    "fleece-midlayer",
    "waterproof-gaiters",
    "bouldering-crash-pad",
    "inflatable-sleeping-mat",
    "gore-tex-hiking-boot",
    "softshell-trousers",
    "packable-daypack-20l",
    "chalk-bag",
    "gps-watch",
    "first-aid-kit",
    "bivvy-bag",
];
const CATEGORIES: [&str; 12] = [
    "men/shoes",
    "women/shoes",
    "men/jackets",
    "women/jackets",
    "camping/tents",
    "camping/sleeping-bags",
    "camping/cooking",
    "climbing",
    "climbing/harnesses",
    "accessories",
    "electronics",
    "sale",
];
const SORTS: [&str; 5] = ["price_asc", "price_desc", "newest", "popular", "rating"];
const COLORS: [&str; 6] = ["black", "blue", "red", "green", "grey", "orange"];
const WORDS: [&str; 20] = [
    "tent",
    "boots",
    "waterproof",
    "jacket",
    "women",
    "men",
    "gore-tex",
    "2+person",
    "sleeping",
    "bag",
    "stove",
    "gas",
    "kids",
    "size+42",
    "merino",
    "sale",
    "trail",
    "winter",
    "lightweight",
    "headlamp",
];
const POSTS: [&str; 14] = [
    "how-to-choose-a-tent",
    "layering-for-winter-hikes",
    "best-trail-shoes-2026",
    "packing-list-for-a-week-in-the-alps",
    "caring-for-down-jackets",
    "beginners-guide-to-bouldering",
    "water-filters-compared",
    "night-hiking-safety",
    "what-is-gore-tex",
    "camp-cooking-on-a-budget",
    "sizing-climbing-harnesses",
    "gps-watches-tested",
    "ultralight-backpacking-myths",
    "spring-sale-picks",
];
const TAGS: [&str; 6] = ["gear", "guides", "reviews", "climbing", "camping", "news"];
const CAMPAIGNS: [&str; 5] = [
    "spring_sale",
    "newsletter_w10",
    "retargeting",
    "brand",
    "tents_pmax",
];
const ASSETS: [(&str, u64); 9] = [
    ("/static/css/app.3f9a1c2e.css", 48_213),
    ("/static/js/app.8e21b4d7.js", 187_554),
    ("/static/js/vendor.51c0d2a9.js", 402_871),
    ("/static/fonts/inter-var.2d4c.woff2", 98_180),
    ("/images/logo.svg", 4_731),
    ("/favicon.ico", 15_086),
    ("/static/img/hero-spring.7b1e.webp", 212_440),
    ("/static/img/icons.sprite.a81f.svg", 22_915),
    ("/manifest.webmanifest", 612),
];
const EXTERNAL_REFERERS: [(u32, &str); 9] = [
    (40, "https://www.google.com/"),
    (8, "https://www.bing.com/"),
    (4, "https://duckduckgo.com/"),
    (6, "https://www.facebook.com/"),
    (3, "https://l.instagram.com/"),
    (2, "https://www.reddit.com/r/CampingGear/"),
    (2, "https://www.ecosia.org/"),
    (1, "https://chatgpt.com/"),
    (34, "-"),
];

const BROWSERS: [(u32, &str); 14] = [
    (
        24,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    ),
    (
        8,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/132.0.0.0 Safari/537.36",
    ),
    (
        9,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    ),
    (
        8,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Safari/605.1.15",
    ),
    (
        18,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Mobile/15E148 Safari/604.1",
    ),
    (
        16,
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    ),
    (
        4,
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36",
    ),
    (
        5,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    ),
    (
        2,
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    ),
    (
        5,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    ),
    (
        2,
        "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1",
    ),
    (
        2,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/22B91 [FBAN/FBIOS;FBAV/491.0.0.41.109;FBBV/681294473;FBDV/iPhone15,3;FBMD/iPhone;FBSN/iOS;FBSV/18.1.1;FBSS/3;FBID/phone;FBLC/de_DE;FBOP/5;FBRV/683102231]",
    ),
    (
        1,
        "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36",
    ),
    (
        1,
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    ),
];

/// A crawler: its user agent and the address blocks it crawls from.
#[derive(Clone, Copy)]
struct Crawler {
    ua: &'static str,
    /// `a.b.c.` prefixes (a random last octet is added), or IPv6 `/64`s (`…::` plus a group).
    v4: &'static [&'static str],
    v6: &'static [&'static str],
    /// Images only (Googlebot-Image).
    images: bool,
}

const CRAWLERS: [(u32, Crawler); 15] = [
    (
        22,
        Crawler {
            ua: "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.204 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            v4: &[
                "66.249.66.",
                "66.249.68.",
                "66.249.70.",
                "66.249.72.",
                "66.249.79.",
            ],
            v6: &[
                "2001:4860:4801:10::",
                "2001:4860:4801:2a::",
                "2001:4860:4801:6d::",
            ],
            images: false,
        },
    ),
    (
        8,
        Crawler {
            ua: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/131.0.6778.204 Safari/537.36",
            v4: &["66.249.64.", "66.249.65.", "66.249.77."],
            v6: &[],
            images: false,
        },
    ),
    (
        4,
        Crawler {
            ua: "Googlebot-Image/1.0",
            v4: &["66.249.66.", "66.249.73."],
            v6: &[],
            images: true,
        },
    ),
    (
        14,
        Crawler {
            ua: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/131.0.0.0 Safari/537.36",
            v4: &["157.55.39.", "207.46.13.", "40.77.167.", "52.167.144."],
            v6: &[],
            images: false,
        },
    ),
    (
        4,
        Crawler {
            ua: "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
            v4: &["157.55.39.", "40.77.189."],
            v6: &[],
            images: false,
        },
    ),
    (
        5,
        Crawler {
            ua: "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
            v4: &["5.255.231.", "213.180.203.", "87.250.224.", "95.108.213."],
            v6: &["2a02:6b8:c0e:500:1::"],
            images: false,
        },
    ),
    (
        2,
        Crawler {
            ua: "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
            v4: &["116.179.32.", "220.181.108."],
            v6: &[],
            images: false,
        },
    ),
    (
        4,
        Crawler {
            ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
            v4: &["17.241.219.", "17.241.227.", "17.22.237."],
            v6: &[],
            images: false,
        },
    ),
    (
        2,
        Crawler {
            ua: "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
            v4: &["20.191.45.", "40.88.21."],
            v6: &[],
            images: false,
        },
    ),
    (
        9,
        Crawler {
            ua: "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
            v4: &["54.36.148.", "54.36.149.", "51.222.253.", "5.39.109."],
            v6: &[],
            images: false,
        },
    ),
    (
        7,
        Crawler {
            ua: "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
            v4: &["185.191.171.", "85.208.96.", "85.208.98."],
            v6: &[],
            images: false,
        },
    ),
    (
        6,
        Crawler {
            ua: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
            v4: &["20.171.207.", "52.230.152."],
            v6: &[],
            images: false,
        },
    ),
    (
        4,
        Crawler {
            ua: "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)",
            v4: &["216.73.216."],
            v6: &[],
            images: false,
        },
    ),
    (
        2,
        Crawler {
            ua: "Mozilla/5.0 (Linux; Android 7.0;) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)",
            v4: &["114.119.132.", "114.119.146."],
            v6: &[],
            images: false,
        },
    ),
    (
        2,
        Crawler {
            ua: "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            v4: &["69.171.249.", "173.252.107."],
            v6: &["2a03:2880:f806:6::", "2a03:2880:f800:1f::"],
            images: false,
        },
    ),
];

const SCANNER_UAS: [&str; 11] = [
    "Mozilla/5.0 zgrab/0.x",
    "python-requests/2.32.3",
    "Go-http-client/1.1",
    "curl/7.88.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/87.0.4280.141 Safari/537.36",
    "Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)",
    "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:54.0) Gecko/20100101 Firefox/54.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/74.0.3729.169 Safari/537.36",
    "Nuclei - Open-source project (github.com/projectdiscovery/nuclei)",
    "l9explore/1.2.2",
    "-",
];

/// How a scanner probe is answered.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Probe {
    /// A `.php` that does not exist: PHP-FPM says `Primary script unknown`, 404.
    Php,
    /// A file that does not exist: nginx logs `open() … failed`, 404.
    Missing,
    /// A dotfile: `deny all` answers 403, `access forbidden by rule`.
    Forbidden,
    /// Answered by the application anyway (a query string on the home page).
    Page,
    /// Not a request at all: 400, nothing in the error log.
    Bad,
}

const PROBES: [(&str, &str, Probe); 36] = [
    ("GET", "/wp-login.php", Probe::Php),
    ("POST", "/wp-login.php", Probe::Php),
    ("GET", "/wp-admin/setup-config.php?step=1", Probe::Php),
    ("POST", "/xmlrpc.php", Probe::Php),
    (
        "GET",
        "/wp-content/plugins/wp-file-manager/lib/php/connector.minimal.php",
        Probe::Php,
    ),
    (
        "GET",
        "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
        Probe::Php,
    ),
    (
        "POST",
        "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
        Probe::Php,
    ),
    ("GET", "/phpinfo.php", Probe::Php),
    ("GET", "/info.php", Probe::Php),
    ("GET", "/phpmyadmin/index.php", Probe::Php),
    ("GET", "/admin/config.php", Probe::Php),
    ("GET", "/shell.php?cmd=id", Probe::Php),
    ("GET", "/.env", Probe::Forbidden),
    ("GET", "/.env.production", Probe::Forbidden),
    ("GET", "/.git/config", Probe::Forbidden),
    ("GET", "/.git/HEAD", Probe::Forbidden),
    ("GET", "/.aws/credentials", Probe::Forbidden),
    ("GET", "/.DS_Store", Probe::Forbidden),
    ("GET", "/backup.zip", Probe::Missing),
    ("GET", "/db.sql", Probe::Missing),
    ("GET", "/config.json", Probe::Missing),
    ("GET", "/server-status", Probe::Missing),
    ("GET", "/actuator/health", Probe::Missing),
    ("GET", "/owa/auth/logon.aspx", Probe::Missing),
    ("GET", "/cgi-bin/luci/;stok=/locale", Probe::Missing),
    ("POST", "/boaform/admin/formLogin", Probe::Missing),
    ("GET", "/HNAP1/", Probe::Missing),
    ("GET", "/solr/admin/info/system?wt=json", Probe::Missing),
    ("GET", "/api/v1/pods", Probe::Missing),
    ("GET", "/robots.txt", Probe::Missing),
    ("GET", "/?XDEBUG_SESSION_START=phpstorm", Probe::Page),
    (
        "GET",
        "/index.php?s=/Index/%5Cthink%5Capp/invokefunction&function=call_user_func_array&vars[0]=md5&vars[1][]=HelloThinkPHP",
        Probe::Page,
    ),
    ("GET", "/search?q=%27%20OR%201=1--", Probe::Page),
    ("GET", "-", Probe::Bad),
    (
        "GET",
        "\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC\\x03\\x03\\x8B\\xE6\\x1D\\x92",
        Probe::Bad,
    ),
    ("CONNECT", "www.google.com:443", Probe::Bad),
];

/// Address blocks of hosting providers, where scanners and scripts live.
const HOSTING_V4: [u64; 24] = [
    45, 64, 80, 89, 91, 92, 103, 104, 107, 134, 139, 141, 143, 146, 157, 159, 161, 164, 165, 167,
    178, 185, 193, 206,
];
/// First octets of residential and mobile networks (none private, reserved or multicast).
const RESIDENTIAL_V4: [u64; 48] = [
    24, 31, 37, 46, 47, 62, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84,
    85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 98, 99, 109, 151, 174, 176, 178, 188, 193, 195,
    212, 213, 217,
];
/// First two groups of residential IPv6 networks.
const RESIDENTIAL_V6: [(u64, u64); 12] = [
    (0x2a01, 0xcb00),
    (0x2a01, 0xe0a),
    (0x2a02, 0x8108),
    (0x2a02, 0x810d),
    (0x2003, 0xe6),
    (0x2a00, 0x23c5),
    (0x2600, 0x1700),
    (0x2601, 0x646),
    (0x2603, 0x7000),
    (0x2804, 0x14c),
    (0x2409, 0x10),
    (0x2406, 0x3003),
];

// ---------------------------------------------------------------------------------------------
// Visitors
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Who {
    Human,
    Crawler,
    Scanner,
    Monitor,
    Feed,
    /// A partner's script reading the API.
    Script,
}

/// One client, alive for a few requests: its address, user agent and the page it is on.
#[derive(Clone, Copy)]
struct Visitor {
    who: Who,
    ip: [u8; 40],
    ip_len: u8,
    ua: &'static str,
    crawler: Option<Crawler>,
    h2: bool,
    left: u32,
    /// Requests made so far (a crawler asks for robots.txt first).
    made: u32,
    /// Next probe of a scanner.
    probe: u8,
    /// The page the visitor is on, for the next request's `Referer`.
    page: [u8; 96],
    page_len: u8,
    /// The referer of the first page (a search engine, another site, none).
    landing_referer: &'static str,
}

impl Visitor {
    fn ip(&self) -> &[u8] {
        &self.ip[..usize::from(self.ip_len)]
    }

    fn page(&self) -> &[u8] {
        &self.page[..usize::from(self.page_len)]
    }
}

/// How many visitors are active at once: their requests interleave in the log.
const ACTIVE: usize = 48;

// ---------------------------------------------------------------------------------------------
// Bursts of 5xx
// ---------------------------------------------------------------------------------------------

/// How a failed request shows in the error log.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Record {
    /// Nothing: the application answered 503 itself (maintenance mode).
    None,
    /// `FastCGI sent in stderr: "…" while reading response header from upstream` (PHP's
    /// own messages, passed on by PHP-FPM), with the upstream.
    Fastcgi,
    /// An nginx message about the upstream, with the upstream.
    Upstream,
    /// `upstream timed out …`: written without the socket's trailing colon.
    Timeout,
    /// An nginx message without upstream (rewrite cycle, client body write).
    Nginx,
    /// `limiting requests, excess: N by zone "…"`, the excess varying.
    RateLimit,
}

/// A 5xx burst in progress: which requests fail, how, and what the error log says.
struct Burst {
    cause: Cause,
    status: u16,
    body: u64,
    routes: u32,
    fail_ppm: u64,
    end_us: u64,
    level: &'static str,
    record: Record,
    /// The record's message, built once per burst.
    message: Vec<u8>,
}

/// A PHP fatal error as PHP-FPM passes it on, stack trace and all.
fn php_fatal(kind: &str, what: &str, file: &str, line: u32, frames: &[&str]) -> Vec<u8> {
    let mut m = format!(
        "FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Uncaught {kind}: {what} in {root}{file}:{line}\nStack trace:\n",
        root = std::str::from_utf8(ROOT).unwrap_or_default()
    );
    for (i, f) in frames.iter().enumerate() {
        m.push_str(&format!("#{i} {f}\n"));
    }
    m.push_str(&format!(
        "#{} {{main}}\n  thrown in {}{file} on line {line}\" while reading response header from upstream",
        frames.len(),
        std::str::from_utf8(ROOT).unwrap_or_default()
    ));
    m.into_bytes()
}

/// A one-line PHP error as PHP-FPM passes it on.
fn php_message(level: &str, what: &str, file: &str, line: u32) -> Vec<u8> {
    format!(
        "FastCGI sent in stderr: \"PHP message: PHP {level}:  {what} in {}{file} on line {line}\" while reading response header from upstream",
        std::str::from_utf8(ROOT).unwrap_or_default()
    )
    .into_bytes()
}

/// A PDO exception from the database layer, as in the lab's MariaDB captures.
fn pdo(what: &str) -> Vec<u8> {
    php_fatal(
        "PDOException",
        what,
        "/src/Db/Connection.php",
        27,
        &[
            "/var/www/shop/src/Db/Connection.php(27): PDO->__construct()",
            "/var/www/shop/src/Db/Connection.php(14): App\\Db\\Connection->connect()",
            "/var/www/shop/public/index.php(22): App\\Db\\Connection::get()",
        ],
    )
}

#[derive(Clone, Copy)]
enum Scenario {
    SyntaxDeploy,
    UndefinedFunction,
    Uncaught,
    Memory,
    Timeout,
    UpstreamTimeout,
    FpmDown,
    PoolFull,
    FpmCrash,
    DbDown,
    DbPool,
    DbAuth,
    DiskFull,
    RewriteLoop,
    Maintenance,
    RateLimit,
}

const SCENARIOS: [(u32, Scenario); 16] = [
    (10, Scenario::SyntaxDeploy),
    (6, Scenario::UndefinedFunction),
    (10, Scenario::Uncaught),
    (7, Scenario::Memory),
    (6, Scenario::Timeout),
    (10, Scenario::UpstreamTimeout),
    (6, Scenario::FpmDown),
    (8, Scenario::PoolFull),
    (5, Scenario::FpmCrash),
    (4, Scenario::DbDown),
    (6, Scenario::DbPool),
    (3, Scenario::DbAuth),
    (4, Scenario::DiskFull),
    (4, Scenario::RewriteLoop),
    (3, Scenario::Maintenance),
    (5, Scenario::RateLimit),
];

/// 5xx aimed at: 2% of requests (1 in 50). Bursts are spaced so the running share stays
/// near it whatever the size.
const TARGET_ONE_IN: u64 = 50;

// ---------------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------------

/// Everything about the request being written.
struct Request {
    method: &'static str,
    /// HTTP/1.1 or HTTP/2.0.
    proto: &'static str,
    route: u32,
    status: u16,
    body: u64,
    /// `Some` for requests nginx could not parse (`-`, TLS bytes): the whole quoted field.
    raw: Option<&'static str>,
    user: &'static str,
    referer: Referer,
    probe: Option<Probe>,
    /// Whether this request moves the visitor to a new page (for later referers).
    is_page: bool,
}

#[derive(Clone, Copy)]
enum Referer {
    None,
    External(&'static str),
    /// The visitor's current page.
    Page,
}

struct Gen<'w> {
    rng: Rng,
    clock: Clock,
    access: Vec<u8>,
    error: Vec<u8>,
    access_out: &'w mut dyn Write,
    error_out: &'w mut dyn Write,
    /// The current request's target (path and query).
    path: Vec<u8>,
    visitors: Vec<Visitor>,
    burst: Option<Burst>,
    next_burst_at: u64,
    next_malformed_at: u64,
    /// nginx's connection counter (`*123` in error records).
    conn: u64,
    master: u64,
    workers: [u64; 2],
    next_pid: u64,
    day: u64,
    /// Pre-built PHP warnings for pages that worked (noise in the error log).
    warnings: Vec<Vec<u8>>,
    /// Pre-built sporadic fatal errors outside bursts.
    sporadic: Vec<(u32, Cause, u16, Vec<u8>)>,
    stats: Stats,
    statuses: [u64; 100],
    /// Maintenance bursts (5xx that no record explains), as `(start, end)` in microseconds:
    /// recorded in a first pass, so that `--error-size`'s records stay away from them.
    unexplained: Vec<(u64, u64)>,
    /// The other error logs, with `--error-size`.
    extra: Option<Box<Extra>>,
    php_out: Option<&'w mut dyn Write>,
    fpm_out: Option<&'w mut dyn Write>,
}

/// Flush the buffers when they hold this much.
const FLUSH_AT: usize = 1 << 20;

/// Writes at least `size` bytes of access log to `access` and the matching error log to
/// `error`.
pub fn generate(
    size: u64,
    seed: u64,
    access: &mut dyn Write,
    error: &mut dyn Write,
) -> io::Result<Stats> {
    let mut g = Gen::new(seed, access, error);
    g.run(size)?;
    Ok(g.finish())
}

/// Writes at least `size` bytes of access log to `access`, and error logs coming to
/// `error_size` bytes in total: nginx's to `error`, PHP's to `php`, PHP-FPM's to `fpm`. The
/// access log is the one [`generate`] writes.
pub fn generate_all(
    size: u64,
    seed: u64,
    error_size: u64,
    access: &mut dyn Write,
    error: &mut dyn Write,
    php: &mut dyn Write,
    fpm: &mut dyn Write,
) -> io::Result<Stats> {
    // First pass, written nowhere: when the 5xx that no record explains are.
    let unexplained = {
        let (mut a, mut e) = (io::sink(), io::sink());
        let mut g = Gen::new(seed, &mut a, &mut e);
        g.run(size)?;
        g.unexplained
    };
    let mut g = Gen::new(seed, access, error);
    g.extra = Some(Box::new(Extra::new(seed, size, error_size, unexplained)));
    g.php_out = Some(php);
    g.fpm_out = Some(fpm);
    g.stats.error_size = error_size;
    g.extra_startup();
    g.run(size)?;
    Ok(g.finish())
}

impl Gen<'_> {
    fn run(&mut self, size: u64) -> io::Result<()> {
        self.startup_notices();
        while self.stats.bytes < size {
            self.line();
            if self.access.len() >= FLUSH_AT
                || self.error.len() >= FLUSH_AT
                || self.extra.as_ref().is_some_and(|x| x.php.len() >= FLUSH_AT)
            {
                self.flush()?;
            }
        }
        self.flush()
    }

    fn finish(self) -> Stats {
        let mut g = self;
        g.stats.last = String::from_utf8_lossy(&g.clock.rfc3339).into_owned();
        g.stats.by_status = g
            .statuses
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(s, n)| (500 + s as u16, *n))
            .collect();
        g.stats
    }
}

impl<'w> Gen<'w> {
    fn new(seed: u64, access_out: &'w mut dyn Write, error_out: &'w mut dyn Write) -> Gen<'w> {
        let mut rng = Rng::new(seed);
        // Monday 2 March 2026, midnight UTC, plus up to an hour so seeds differ from the start.
        let start = days_from_civil(2026, 3, 2) as u64 * 86_400_000_000 + rng.below(3_600_000_000);
        let clock = Clock::new(start);
        let master = rng.range(700, 1400);
        let mut g = Gen {
            day: clock.day(),
            rng,
            clock,
            access: Vec::with_capacity(FLUSH_AT + 4096),
            error: Vec::with_capacity(FLUSH_AT + 65_536),
            access_out,
            error_out,
            path: Vec::with_capacity(512),
            visitors: Vec::with_capacity(ACTIVE),
            burst: None,
            next_burst_at: 0,
            next_malformed_at: 0,
            conn: 0,
            master,
            workers: [master + 1, master + 2],
            next_pid: master + 3,
            warnings: Vec::new(),
            sporadic: Vec::new(),
            stats: Stats {
                seed,
                ..Stats::default()
            },
            statuses: [0; 100],
            unexplained: Vec::new(),
            extra: None,
            php_out: None,
            fpm_out: None,
        };
        g.stats.first = String::from_utf8_lossy(&g.clock.rfc3339).into_owned();
        g.next_burst_at = g.rng.range(300, 2500);
        g.next_malformed_at = g.rng.range(1000, 6000);
        for _ in 0..ACTIVE {
            let v = g.new_visitor();
            g.visitors.push(v);
        }
        g.warnings = vec![
            php_message(
                "Warning",
                "Undefined array key \"utm_campaign\"",
                "/src/Tracking/Campaign.php",
                27,
            ),
            php_message(
                "Deprecated",
                "strlen(): Passing null to parameter #1 ($string) of type string is deprecated",
                "/src/View/Helpers.php",
                112,
            ),
            php_message(
                "Warning",
                "Trying to access array offset on value of type null",
                "/src/Controller/ProductController.php",
                140,
            ),
            php_message(
                "Notice",
                "Only variables should be passed by reference",
                "/src/Blog/Excerpt.php",
                19,
            ),
            php_message(
                "Warning",
                "Undefined variable $variant",
                "/templates/product/gallery.php",
                8,
            ),
        ];
        g.sporadic = vec![
            (
                PRODUCT | CATEGORY | HOME,
                Cause::PhpUncaught,
                500,
                php_fatal(
                    "TypeError",
                    "App\\Pricing\\Money::format(): Argument #1 ($amount) must be of type int, null given, called in /var/www/shop/templates/product/price.php on line 12 and defined",
                    "/src/Pricing/Money.php",
                    44,
                    &[
                        "/var/www/shop/templates/product/price.php(12): App\\Pricing\\Money::format()",
                        "/var/www/shop/src/View/Renderer.php(58): include('...')",
                        "/var/www/shop/public/index.php(31): App\\View\\Renderer->render()",
                    ],
                ),
            ),
            (
                ACCOUNT | CHECKOUT,
                Cause::PhpUncaught,
                500,
                php_fatal(
                    "Error",
                    "Call to a member function getId() on null",
                    "/src/Controller/AccountController.php",
                    58,
                    &["/var/www/shop/public/index.php(31): App\\Controller\\AccountController->orders()"],
                ),
            ),
            (
                SEARCH | ADMIN,
                Cause::UpstreamTimeout,
                504,
                b"upstream timed out (110: Connection timed out) while reading response header from upstream".to_vec(),
            ),
        ];
        g
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stats.error_bytes += self.error.len() as u64;
        self.access_out.write_all(&self.access)?;
        self.access.clear();
        self.error_out.write_all(&self.error)?;
        self.error.clear();
        if let Some(x) = self.extra.as_deref_mut() {
            self.stats.php_error_bytes += x.php.len() as u64;
            self.stats.fpm_bytes += x.fpm.len() as u64;
            if let Some(out) = self.php_out.as_deref_mut() {
                out.write_all(&x.php)?;
            }
            if let Some(out) = self.fpm_out.as_deref_mut() {
                out.write_all(&x.fpm)?;
            }
            x.php.clear();
            x.fpm.clear();
        }
        Ok(())
    }

    // --- addresses --------------------------------------------------------------------------

    fn ipv4(&mut self, buf: &mut Vec<u8>, first: u64) {
        put_u64(buf, first);
        buf.push(b'.');
        put_u64(buf, self.rng.below(256));
        buf.push(b'.');
        put_u64(buf, self.rng.below(256));
        buf.push(b'.');
        put_u64(buf, self.rng.range(1, 254));
    }

    /// A residential IPv6 address: a provider's /32, then random (privacy) groups.
    fn ipv6(&mut self, buf: &mut Vec<u8>) {
        let (a, b) = self.rng.pick(&RESIDENTIAL_V6);
        put_hex16(buf, a);
        buf.push(b':');
        put_hex16(buf, b);
        for _ in 0..6 {
            buf.push(b':');
            put_hex16(buf, self.rng.next());
        }
    }

    fn new_visitor(&mut self) -> Visitor {
        // Weights are per visitor; with the session lengths below they give roughly 74% of
        // the lines from people, 14% from crawlers, 5% from scanners, the rest from
        // monitors, feed readers and scripts.
        let who = self.rng.choose(&[
            (6200, Who::Human),
            (150, Who::Crawler),
            (38, Who::Scanner),
            (600, Who::Monitor),
            (500, Who::Feed),
            (140, Who::Script),
        ]);
        let mut ip = Vec::with_capacity(40);
        let mut crawler = None;
        let (ua, left, h2) = match who {
            Who::Human => {
                if self.rng.below(100) < 32 {
                    self.ipv6(&mut ip);
                } else {
                    let first = self.rng.pick(&RESIDENTIAL_V4);
                    self.ipv4(&mut ip, first);
                }
                let ua = self.rng.choose(&BROWSERS);
                let left = match self.rng.below(10) {
                    0..=3 => self.rng.range(1, 4),
                    4..=7 => self.rng.range(4, 20),
                    _ => self.rng.range(20, 45),
                } as u32;
                (ua, left, self.rng.below(100) < 70)
            }
            Who::Crawler => {
                let c = self.rng.choose(&CRAWLERS);
                if !c.v6.is_empty() && self.rng.below(100) < 30 {
                    ip.extend_from_slice(self.rng.pick(c.v6).as_bytes());
                    put_hex16(&mut ip, self.rng.range(1, 0x7f));
                } else {
                    ip.extend_from_slice(self.rng.pick(c.v4).as_bytes());
                    put_u64(&mut ip, self.rng.range(1, 254));
                }
                crawler = Some(c);
                (c.ua, self.rng.range(5, 200) as u32, false)
            }
            Who::Scanner => {
                if self.rng.below(100) < 12 {
                    // Hetzner, DigitalOcean: a server's /64 and a short host part.
                    let p =
                        self.rng
                            .pick(&["2a01:4f8:c17:", "2a01:4f9:c012:", "2604:a880:400:d1::"]);
                    ip.extend_from_slice(p.as_bytes());
                    put_hex16(&mut ip, self.rng.next());
                    if !p.ends_with("::") {
                        ip.extend_from_slice(b"::");
                        put_hex16(&mut ip, self.rng.range(1, 0xff));
                    }
                } else {
                    let first = self.rng.pick(&HOSTING_V4);
                    self.ipv4(&mut ip, first);
                }
                (
                    self.rng.pick(&SCANNER_UAS),
                    self.rng.range(20, 250) as u32,
                    false,
                )
            }
            Who::Monitor => {
                if self.rng.below(100) < 25 {
                    ip.extend_from_slice(b"2607:ff68:107::");
                    put_hex16(&mut ip, self.rng.range(3, 0x40));
                } else {
                    let p = self
                        .rng
                        .pick(&["216.144.250.", "69.162.124.", "63.143.42."]);
                    ip.extend_from_slice(p.as_bytes());
                    put_u64(&mut ip, self.rng.range(224, 254));
                }
                (
                    "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
                    1,
                    false,
                )
            }
            Who::Feed => {
                let first = self.rng.pick(&HOSTING_V4);
                self.ipv4(&mut ip, first);
                let ua = self.rng.pick(&[
                    "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 41 subscribers; )",
                    "NewsBlur Feed Fetcher - 6 subscribers - https://www.newsblur.com/site/6811234/shop-example-journal",
                    "Tiny Tiny RSS/24.12 (https://tt-rss.org/)",
                    "FreshRSS/1.24.3 (Linux; https://freshrss.org)",
                ]);
                (ua, self.rng.range(1, 3) as u32, false)
            }
            Who::Script => {
                let p = self.rng.pick(&["3.120.", "18.195.", "34.241.", "52.58."]);
                ip.extend_from_slice(p.as_bytes());
                put_u64(&mut ip, self.rng.below(256));
                ip.push(b'.');
                put_u64(&mut ip, self.rng.range(1, 254));
                let ua = self.rng.pick(&[
                    "python-requests/2.31.0",
                    "Go-http-client/2.0",
                    "PartnerFeedSync/3.2 (+https://partner.example.net/bot)",
                    "curl/8.5.0",
                ]);
                (ua, self.rng.range(5, 60) as u32, false)
            }
        };
        let mut v = Visitor {
            who,
            ip: [0; 40],
            ip_len: ip.len().min(40) as u8,
            ua,
            crawler,
            h2,
            left,
            made: 0,
            probe: self.rng.below(PROBES.len() as u64) as u8,
            page: [0; 96],
            page_len: 0,
            landing_referer: self.rng.choose(&EXTERNAL_REFERERS),
        };
        v.ip[..usize::from(v.ip_len)].copy_from_slice(&ip[..usize::from(v.ip_len)]);
        v
    }

    // --- request targets ----------------------------------------------------------------------

    fn push(&mut self, s: &str) {
        self.path.extend_from_slice(s.as_bytes());
    }

    fn num(&mut self, n: u64) {
        put_u64(&mut self.path, n);
    }

    /// A product page: `/product/<slug>-<id>`, sometimes with a variant or campaign tags.
    fn product_path(&mut self, tracking: bool) {
        let i = self.rng.below(PRODUCTS.len() as u64) as usize;
        self.push("/product/");
        self.push(PRODUCTS[i]);
        self.push("-");
        self.num(1000 + i as u64 * 37);
        match self.rng.below(100) {
            0..=17 => {
                self.push("?variant=");
                let n = self.rng.range(1, 12);
                self.num(n);
            }
            18..=25 if tracking => {
                self.push("?utm_source=google&utm_medium=cpc&utm_campaign=");
                let c = self.rng.pick(&CAMPAIGNS);
                self.push(c);
                self.push("&gclid=");
                put_alnum(&mut self.path, &mut self.rng, 26);
            }
            26..=29 if tracking => {
                self.push("?fbclid=IwAR");
                put_alnum(&mut self.path, &mut self.rng, 40);
            }
            30..=32 => self.push("?ref=homepage"),
            _ => {}
        }
    }

    fn category_path(&mut self) {
        self.push("/category/");
        let c = self.rng.pick(&CATEGORIES);
        self.push(c);
        match self.rng.below(10) {
            0..=3 => {}
            4..=6 => {
                self.push("?page=");
                let n = self.rng.range(2, 14);
                self.num(n);
                self.push("&sort=");
                let s = self.rng.pick(&SORTS);
                self.push(s);
            }
            7 | 8 => {
                self.push("?color=");
                let c = self.rng.pick(&COLORS);
                self.push(c);
                self.push("&size=");
                let n = self.rng.range(36, 47);
                self.num(n);
            }
            _ => {
                self.push("?sort=");
                let s = self.rng.pick(&SORTS);
                self.push(s);
            }
        }
    }

    fn search_path(&mut self) {
        self.push("/search?q=");
        let n = self.rng.range(1, 3);
        for i in 0..n {
            if i > 0 {
                self.push("+");
            }
            let w = self.rng.pick(&WORDS);
            self.push(w);
        }
        if self.rng.below(3) == 0 {
            self.push("&page=");
            let n = self.rng.range(2, 6);
            self.num(n);
        }
    }

    fn blog_path(&mut self) {
        match self.rng.below(10) {
            0 => {
                self.push("/blog?page=");
                let n = self.rng.range(2, 9);
                self.num(n);
            }
            1 => {
                self.push("/blog/tag/");
                let t = self.rng.pick(&TAGS);
                self.push(t);
            }
            _ => {
                self.push("/blog/");
                let p = self.rng.pick(&POSTS);
                self.push(p);
            }
        }
    }

    fn api_path(&mut self) -> &'static str {
        match self.rng.below(10) {
            0..=4 => {
                self.push("/api/v1/stock/");
                let n = 1000 + self.rng.below(24) * 37;
                self.num(n);
                self.push("?variant=");
                let n = self.rng.range(1, 12);
                self.num(n);
                "GET"
            }
            5 | 6 => {
                self.push("/api/v1/reviews?product=");
                let n = 1000 + self.rng.below(24) * 37;
                self.num(n);
                self.push("&page=");
                let n = self.rng.range(1, 4);
                self.num(n);
                "GET"
            }
            7 => {
                self.push("/api/v1/cart/items");
                "POST"
            }
            _ => {
                self.push("/api/v1/products?ids=");
                for i in 0..self.rng.range(2, 5) {
                    if i > 0 {
                        self.push(",");
                    }
                    let n = 1000 + self.rng.below(24) * 37;
                    self.num(n);
                }
                "GET"
            }
        }
    }

    // --- requests by kind of visitor ----------------------------------------------------------

    fn request(&mut self, v: &Visitor) -> Request {
        self.path.clear();
        let mut r = Request {
            method: "GET",
            proto: if v.h2 { "HTTP/2.0" } else { "HTTP/1.1" },
            route: HOME,
            status: 200,
            body: 0,
            raw: None,
            user: "-",
            referer: Referer::None,
            probe: None,
            is_page: false,
        };
        match v.who {
            Who::Human => self.human(v, &mut r),
            Who::Crawler => self.crawler(v, &mut r),
            Who::Scanner => self.scanner(v, &mut r),
            Who::Monitor => {
                r.method = if self.rng.below(2) == 0 {
                    "HEAD"
                } else {
                    "GET"
                };
                self.push("/");
                r.body = if r.method == "HEAD" { 0 } else { 31_904 };
            }
            Who::Feed => {
                let feed = if self.rng.below(3) == 0 {
                    "/feed.xml"
                } else {
                    "/blog/feed.xml"
                };
                self.push(feed);
                r.route = FEED;
                if self.rng.below(100) < 60 {
                    r.status = 304;
                } else {
                    r.body = self.rng.range(38_000, 41_000);
                }
            }
            Who::Script => {
                self.push("/api/v1/products?updated_since=2026-03-0");
                let n = self.rng.range(1, 9);
                self.num(n);
                self.push("T00:00:00Z&page=");
                self.num(u64::from(v.made) + 1);
                self.push("&per_page=100");
                r.route = API;
                r.body = self.rng.range(20_000, 90_000);
                if self.rng.below(100) < 3 {
                    r.status = 429;
                    r.body = 58;
                }
            }
        }
        r
    }

    fn human(&mut self, v: &Visitor, r: &mut Request) {
        let on_page = v.page_len > 0;
        // After a page, the browser fetches its assets (unless cached).
        if on_page && self.rng.below(100) < 42 {
            r.referer = Referer::Page;
            r.route = STATIC;
            match self.rng.below(100) {
                0..=54 => {
                    let (p, size) = self.rng.pick(&ASSETS);
                    self.push(p);
                    if self.rng.below(100) < 30 {
                        r.status = 304;
                    } else {
                        r.body = size;
                    }
                }
                55..=96 => {
                    let i = self.rng.below(PRODUCTS.len() as u64) as usize;
                    self.push("/images/products/");
                    self.push(PRODUCTS[i]);
                    self.push("-");
                    self.num(1000 + i as u64 * 37);
                    let w = self.rng.pick(&[320, 640, 1280]);
                    self.push("-");
                    self.num(w);
                    self.push(".webp");
                    r.body = w * self.rng.range(40, 90);
                }
                _ => {
                    // Browsers still ask for these; the site has none.
                    let icon = self
                        .rng
                        .pick(&["/apple-touch-icon-precomposed.png", "/apple-touch-icon.png"]);
                    self.push(icon);
                    r.status = 404;
                    r.body = 153;
                }
            }
            return;
        }
        r.is_page = true;
        r.referer = if on_page {
            Referer::Page
        } else {
            Referer::External(v.landing_referer)
        };
        let route = self.rng.choose(&[
            (10, HOME),
            (33, PRODUCT),
            (15, CATEGORY),
            (9, SEARCH),
            (8, CART),
            (3, CHECKOUT),
            (4, ACCOUNT),
            (8, BLOG),
            (8, API),
            (1, UPLOAD),
            (1, STATIC),
        ]);
        r.route = route;
        match route {
            HOME => {
                self.push("/");
                if self.rng.below(100) < 5 {
                    self.push("?utm_source=newsletter&utm_medium=email&utm_campaign=");
                    let c = self.rng.pick(&CAMPAIGNS);
                    self.push(c);
                }
                r.body = self.rng.range(31_000, 33_000);
            }
            PRODUCT => {
                self.product_path(!on_page);
                r.body = self.rng.range(44_000, 61_000);
                if self.rng.below(100) < 3 {
                    // A product taken off the shop.
                    r.status = 404;
                    r.body = 8_912;
                }
            }
            CATEGORY => {
                self.category_path();
                r.body = self.rng.range(52_000, 70_000);
            }
            SEARCH => {
                self.search_path();
                r.body = self.rng.range(25_000, 66_000);
            }
            CART => {
                if self.rng.below(100) < 40 {
                    r.method = "POST";
                    self.push("/cart/add");
                    r.status = 302;
                    r.body = 5;
                } else {
                    self.push("/cart");
                    if self.rng.below(100) < 8 {
                        self.push("?coupon=SPRING10");
                    }
                    r.body = self.rng.range(18_000, 24_000);
                }
            }
            CHECKOUT => match self.rng.below(3) {
                0 => {
                    self.push("/checkout");
                    r.body = self.rng.range(21_000, 23_000);
                }
                1 => {
                    r.method = "POST";
                    self.push("/checkout/payment");
                    r.status = 302;
                    r.body = 5;
                }
                _ => {
                    self.push("/checkout/success?order=");
                    let n = self.rng.range(100_000, 180_000);
                    self.num(n);
                    r.body = self.rng.range(12_000, 13_000);
                }
            },
            ACCOUNT => match self.rng.below(4) {
                0 => {
                    self.push("/login");
                    r.body = 9_114;
                }
                1 => {
                    r.method = "POST";
                    self.push("/login");
                    if self.rng.below(100) < 80 {
                        r.status = 302;
                        r.body = 5;
                    } else {
                        r.body = 9_377;
                    }
                }
                2 => {
                    self.push("/account/orders");
                    r.body = self.rng.range(14_000, 19_000);
                }
                _ => {
                    self.push("/account/orders/");
                    let n = self.rng.range(100_000, 180_000);
                    self.num(n);
                    r.body = self.rng.range(11_000, 12_500);
                }
            },
            BLOG => {
                self.blog_path();
                r.body = self.rng.range(27_000, 41_000);
            }
            API => {
                r.method = self.api_path();
                r.body = self.rng.range(120, 2_400);
                r.is_page = false;
            }
            UPLOAD => {
                if self.rng.below(100) < 20 {
                    // The shop's staff, exporting last month's orders.
                    r.route = ADMIN;
                    r.user = "-";
                    self.push("/admin/export.php?from=2026-02-01&to=2026-02-28&format=csv");
                    r.body = self.rng.range(400_000, 2_400_000);
                } else {
                    r.method = "POST";
                    self.push("/account/avatar");
                    r.status = 302;
                    r.body = 5;
                }
            }
            _ => {
                // robots.txt, sitemap, security.txt by people: rare but real.
                let p = self.rng.pick(&["/robots.txt", "/.well-known/security.txt"]);
                self.push(p);
                r.body = if p == "/robots.txt" { 312 } else { 274 };
            }
        }
        if r.is_page && self.rng.below(1000) < 3 {
            // The visitor gave up before the answer: nginx logs 499.
            r.status = 499;
            r.body = 0;
        }
    }

    fn crawler(&mut self, v: &Visitor, r: &mut Request) {
        let c = v.crawler.unwrap_or(CRAWLERS[0].1);
        if v.made == 0 || self.rng.below(1000) < 8 {
            self.push("/robots.txt");
            r.route = STATIC;
            r.body = 312;
            return;
        }
        if c.images {
            let i = self.rng.below(PRODUCTS.len() as u64) as usize;
            self.push("/images/products/");
            self.push(PRODUCTS[i]);
            self.push("-");
            self.num(1000 + i as u64 * 37);
            self.push("-1280.webp");
            r.route = STATIC;
            r.body = self.rng.range(60_000, 120_000);
            return;
        }
        r.is_page = true;
        let route = self.rng.choose(&[
            (3, SITEMAP),
            (50, PRODUCT),
            (20, CATEGORY),
            (14, BLOG),
            (5, HOME),
            (3, SEARCH),
            (5, STATIC),
        ]);
        r.route = route;
        match route {
            SITEMAP => {
                if self.rng.below(2) == 0 {
                    self.push("/sitemap.xml");
                    r.body = 1_204;
                } else {
                    self.push("/sitemap-products-");
                    let n = self.rng.range(1, 4);
                    self.num(n);
                    self.push(".xml");
                    r.body = self.rng.range(180_000, 260_000);
                }
            }
            PRODUCT => {
                self.product_path(false);
                r.body = self.rng.range(44_000, 61_000);
                if self.rng.below(100) < 6 {
                    // Crawlers revisit URLs the shop removed long ago.
                    r.status = if self.rng.below(2) == 0 { 404 } else { 301 };
                    r.body = if r.status == 404 { 8_912 } else { 162 };
                }
            }
            CATEGORY => {
                self.category_path();
                r.body = self.rng.range(52_000, 70_000);
            }
            BLOG => {
                self.blog_path();
                r.body = self.rng.range(27_000, 41_000);
            }
            HOME => {
                self.push("/");
                r.body = self.rng.range(31_000, 33_000);
            }
            SEARCH => {
                self.search_path();
                r.body = self.rng.range(25_000, 66_000);
            }
            _ => {
                let (p, size) = self.rng.pick(&ASSETS);
                self.push(p);
                r.body = size;
                r.is_page = false;
            }
        }
    }

    fn scanner(&mut self, v: &Visitor, r: &mut Request) {
        let (method, path, probe) = PROBES[usize::from(v.probe) % PROBES.len()];
        r.method = method;
        r.probe = Some(probe);
        match probe {
            Probe::Php => {
                self.push(path);
                r.route = SCAN_PHP;
                r.status = 404;
                r.body = 16;
            }
            Probe::Missing => {
                self.push(path);
                r.route = STATIC;
                if path == "/robots.txt" {
                    r.body = 312;
                    r.probe = None;
                } else {
                    r.status = 404;
                    r.body = 153;
                }
            }
            Probe::Forbidden => {
                self.push(path);
                r.route = STATIC;
                r.status = 403;
                r.body = 153;
            }
            Probe::Page => {
                self.push(path);
                r.route = if path.starts_with("/search") {
                    SEARCH
                } else {
                    HOME
                };
                r.body = self.rng.range(25_000, 33_000);
            }
            Probe::Bad => {
                r.route = STATIC;
                r.raw = Some(if method == "CONNECT" {
                    "CONNECT www.google.com:443 HTTP/1.1"
                } else {
                    path
                });
                r.status = 400;
                r.body = if path == "-" { 0 } else { 157 };
            }
        }
    }

    // --- bursts -------------------------------------------------------------------------------

    fn start_burst(&mut self) {
        let scenario = self.rng.choose(&SCENARIOS);
        let rng = &mut self.rng;
        let minutes = |rng: &mut Rng, lo: u64, hi: u64| rng.range(lo * 60, hi * 60) * 1_000_000;
        let mut b = Burst {
            cause: Cause::Unknown,
            status: 500,
            body: 0,
            routes: DB_PAGES,
            fail_ppm: 1_000_000,
            end_us: 0,
            level: "error",
            record: Record::Fastcgi,
            message: Vec::new(),
        };
        let duration;
        match scenario {
            Scenario::SyntaxDeploy => {
                // A deploy with a broken file: every request that includes it fails.
                b.cause = Cause::PhpSyntax;
                let (routes, file) = rng.pick(&[
                    (CART | CHECKOUT, "/src/Controller/CartController.php"),
                    (PRODUCT, "/src/Controller/ProductController.php"),
                    (CATEGORY | SEARCH, "/src/View/ListingView.php"),
                    (BLOG | FEED, "/src/Blog/PostRepository.php"),
                    (ACCOUNT, "/src/Account/OrderHistory.php"),
                ]);
                let what = rng.pick(&[
                    "syntax error, unexpected token \"}\"",
                    "syntax error, unexpected token \";\", expecting \")\"",
                    "syntax error, unexpected end of file",
                    "syntax error, unexpected variable \"$total\"",
                    "syntax error, unexpected identifier \"return\"",
                ]);
                b.routes = routes;
                b.message = php_message("Parse error", what, file, rng.range(20, 400) as u32);
                duration = minutes(rng, 1, 8);
            }
            Scenario::UndefinedFunction => {
                // An upgrade left an extension out.
                b.cause = Cause::PhpUndefinedFunction;
                let (routes, func, file, line, frame) = rng.pick(&[
                    (
                        CHECKOUT,
                        "curl_init",
                        "/src/Payment/Gateway.php",
                        41,
                        "/var/www/shop/src/Controller/CheckoutController.php(77): App\\Payment\\Gateway->charge()",
                    ),
                    (
                        UPLOAD | ACCOUNT,
                        "imagecreatefromwebp",
                        "/src/Media/Avatar.php",
                        23,
                        "/var/www/shop/src/Controller/AccountController.php(102): App\\Media\\Avatar->resize()",
                    ),
                    (
                        SEARCH | CATEGORY,
                        "mb_strtolower",
                        "/src/Search/Normalizer.php",
                        15,
                        "/var/www/shop/src/Search/Query.php(38): App\\Search\\Normalizer->normalize()",
                    ),
                    (
                        PRODUCT | CART | API,
                        "bcmul",
                        "/src/Pricing/Money.php",
                        52,
                        "/var/www/shop/src/Pricing/PriceList.php(88): App\\Pricing\\Money->times()",
                    ),
                ]);
                b.routes = routes;
                b.message = php_fatal(
                    "Error",
                    &format!("Call to undefined function {func}()"),
                    file,
                    line,
                    &[
                        frame,
                        "/var/www/shop/public/index.php(31): App\\Kernel->handle()",
                    ],
                );
                duration = minutes(rng, 2, 25);
            }
            Scenario::Uncaught => {
                b.cause = Cause::PhpUncaught;
                let (routes, kind, what, file, line) = rng.pick(&[
                    (
                        CHECKOUT,
                        "RuntimeException",
                        "Payment gateway returned HTTP 503",
                        "/src/Payment/Gateway.php",
                        118,
                    ),
                    (
                        API | PRODUCT,
                        "TypeError",
                        "App\\Api\\StockController::show(): Argument #1 ($id) must be of type int, string given",
                        "/src/Api/StockController.php",
                        22,
                    ),
                    (
                        SEARCH,
                        "Elastic\\Transport\\Exception\\NoNodeAvailableException",
                        "No alive nodes. All the 1 nodes seem to be down.",
                        "/vendor/elastic/transport/src/NodePool/SimpleNodePool.php",
                        77,
                    ),
                    (
                        ACCOUNT | CART,
                        "Error",
                        "Call to a member function getItems() on null",
                        "/src/Controller/CartController.php",
                        64,
                    ),
                ]);
                b.routes = routes;
                b.message = php_fatal(
                    kind,
                    what,
                    file,
                    line,
                    &["/var/www/shop/public/index.php(31): App\\Kernel->handle()"],
                );
                b.fail_ppm = rng.range(200_000, 700_000);
                duration = minutes(rng, 1, 15);
            }
            Scenario::Memory => {
                b.cause = Cause::PhpMemory;
                let (routes, file, line) = rng.pick(&[
                    (ADMIN | FEED | SITEMAP, "/src/Export/CsvWriter.php", 64),
                    (SEARCH | CATEGORY, "/src/Search/ResultSet.php", 131),
                    (PRODUCT, "/vendor/twig/twig/src/Environment.php", 359),
                ]);
                let tried = rng.pick(&[20_480u64, 65_536, 262_144, 2_097_152, 4_096]);
                b.routes = routes;
                b.message = php_message(
                    "Fatal error",
                    &format!(
                        "Allowed memory size of 134217728 bytes exhausted (tried to allocate {tried} bytes)"
                    ),
                    file,
                    line,
                );
                b.fail_ppm = rng.range(150_000, 600_000);
                duration = minutes(rng, 2, 20);
            }
            Scenario::Timeout => {
                b.cause = Cause::PhpTimeout;
                let (routes, file, line) = rng.pick(&[
                    (
                        SEARCH | CATEGORY,
                        "/vendor/doctrine/dbal/src/Driver/PDO/Statement.php",
                        130,
                    ),
                    (ADMIN | SITEMAP | FEED, "/src/Export/OrderExporter.php", 88),
                ]);
                b.routes = routes;
                b.message = php_message(
                    "Fatal error",
                    "Maximum execution time of 30 seconds exceeded",
                    file,
                    line,
                );
                b.fail_ppm = rng.range(100_000, 500_000);
                duration = minutes(rng, 2, 15);
            }
            Scenario::UpstreamTimeout => {
                // The database is slow; nginx gives up on PHP after fastcgi_read_timeout.
                b.cause = Cause::UpstreamTimeout;
                b.status = 504;
                b.body = 167;
                b.record = Record::Timeout;
                b.message = b"upstream timed out (110: Connection timed out) while reading response header from upstream".to_vec();
                b.fail_ppm = rng.range(50_000, 400_000);
                duration = minutes(rng, 1, 12);
            }
            Scenario::FpmDown => {
                b.cause = Cause::UpstreamUnavailable;
                b.status = 502;
                b.body = 157;
                b.routes = PHP_ALL;
                b.record = Record::Upstream;
                if rng.below(2) == 0 {
                    // Stopped: the socket is gone.
                    b.level = "crit";
                    b.message = b"connect() to unix:/run/php/php8.2-fpm.sock failed (2: No such file or directory) while connecting to upstream".to_vec();
                } else {
                    // Restarting: the socket is there, nobody listens.
                    b.message = b"connect() to unix:/run/php/php8.2-fpm.sock failed (111: Connection refused) while connecting to upstream".to_vec();
                }
                duration = rng.range(10, 240) * 1_000_000;
            }
            Scenario::PoolFull => {
                b.cause = Cause::PoolExhausted;
                b.status = 502;
                b.body = 157;
                b.routes = PHP_ALL;
                b.record = Record::Upstream;
                b.message = b"connect() to unix:/run/php/php8.2-fpm.sock failed (11: Resource temporarily unavailable) while connecting to upstream".to_vec();
                b.fail_ppm = rng.range(100_000, 500_000);
                duration = minutes(rng, 1, 6);
            }
            Scenario::FpmCrash => {
                b.cause = Cause::FpmCrash;
                b.status = 502;
                b.body = 157;
                b.routes = rng.pick(&[PRODUCT | CATEGORY, UPLOAD | ACCOUNT, DB_PAGES]);
                b.record = Record::Upstream;
                b.message = if rng.below(2) == 0 {
                    b"recv() failed (104: Connection reset by peer) while reading response header from upstream".to_vec()
                } else {
                    b"upstream prematurely closed FastCGI stdout while reading response header from upstream".to_vec()
                };
                b.fail_ppm = rng.range(50_000, 300_000);
                duration = minutes(rng, 2, 20);
            }
            Scenario::DbDown => {
                b.cause = Cause::DbUnreachable;
                b.message = pdo(rng.pick(&[
                    "SQLSTATE[HY000] [2002] Connection refused",
                    "SQLSTATE[HY000] [2002] No such file or directory",
                ]));
                duration = rng.range(20, 300) * 1_000_000;
            }
            Scenario::DbPool => {
                b.cause = Cause::DbPool;
                b.message = pdo("SQLSTATE[HY000] [1040] Too many connections");
                b.fail_ppm = rng.range(100_000, 500_000);
                duration = minutes(rng, 1, 10);
            }
            Scenario::DbAuth => {
                // A config deploy with the old password.
                b.cause = Cause::DbAuth;
                b.message = pdo(
                    "SQLSTATE[HY000] [1045] Access denied for user 'shop'@'localhost' (using password: YES)",
                );
                duration = minutes(rng, 1, 10);
            }
            Scenario::DiskFull => {
                // The page cache cannot be written; uploads cannot be buffered either (the
                // request's own route decides which record, see `fail`).
                b.cause = Cause::DiskFull;
                b.routes = HOME | CATEGORY | PRODUCT | UPLOAD;
                b.message = b"FastCGI sent in stderr: \"PHP message: PHP Notice:  file_put_contents(): Write of 48213 bytes failed with errno=28 No space left on device in /var/www/shop/src/Cache/PageCache.php on line 31; PHP message: PHP Fatal error:  Uncaught RuntimeException: Could not write cache file /var/www/shop/var/cache/prod/pages/listing.html in /var/www/shop/src/Cache/PageCache.php:33\nStack trace:\n#0 /var/www/shop/public/index.php(40): App\\Cache\\PageCache->store()\n#1 {main}\n  thrown in /var/www/shop/src/Cache/PageCache.php on line 33\" while reading response header from upstream".to_vec();
                b.fail_ppm = rng.range(300_000, 1_000_000);
                duration = minutes(rng, 3, 30);
            }
            Scenario::RewriteLoop => {
                // A new nginx rule sends /blog/ back to itself.
                b.cause = Cause::RewriteLoop;
                b.routes = BLOG | FEED;
                b.body = 177;
                b.record = Record::Nginx;
                b.message = b"rewrite or internal redirection cycle while internally redirecting to \"/index.php\"".to_vec();
                duration = minutes(rng, 1, 15);
                self.reload_notices();
            }
            Scenario::Maintenance => {
                b.cause = Cause::Unknown;
                b.status = 503;
                b.body = 2_381;
                b.record = Record::None;
                duration = minutes(rng, 1, 5);
                self.unexplained
                    .push((self.clock.us, self.clock.us + duration));
            }
            Scenario::RateLimit => {
                b.cause = Cause::RateLimited;
                b.status = 503;
                b.body = 197;
                b.routes = SEARCH | API;
                b.record = Record::RateLimit;
                b.message = b"limiting requests, excess: ".to_vec();
                b.fail_ppm = self.rng.range(200_000, 600_000);
                duration = minutes(&mut self.rng, 1, 10);
            }
        }
        b.end_us = self.clock.us + duration;
        self.stats.bursts += 1;
        self.burst = Some(b);
    }

    /// Spaces the next burst so that the running share of 5xx comes back to the target.
    fn end_burst(&mut self) {
        self.burst = None;
        let due = self.stats.server_errors * TARGET_ONE_IN;
        let gap = due.saturating_sub(self.stats.requests).max(400);
        let jitter = self.rng.range(70, 130);
        self.next_burst_at = self.stats.requests + gap * jitter / 100;
    }

    /// Whether this request fails, and if so, its record in the error log.
    fn fail(&mut self, v: &Visitor, r: &mut Request) -> bool {
        if let Some(b) = &self.burst
            && b.routes & r.route != 0
            && r.status != 499
        {
            if !self.rng.ppm(b.fail_ppm) {
                return false;
            }
            let (cause, status, body, level, record) =
                (b.cause, b.status, b.body, b.level, b.record);
            r.status = status;
            r.body = body;
            r.probe = None;
            self.count_5xx(cause, status);
            match record {
                Record::None => {}
                Record::RateLimit => {
                    self.error_head("error");
                    self.error.extend_from_slice(b"limiting requests, excess: ");
                    put_u64(&mut self.error, self.rng.range(5, 40));
                    self.error.push(b'.');
                    put_u64(&mut self.error, self.rng.range(100, 999));
                    self.error.extend_from_slice(b" by zone \"perip\"");
                    self.error_context(v, r, None);
                }
                _ if cause == Cause::DiskFull && r.route == UPLOAD => {
                    // nginx buffers the upload body to disk before PHP sees it.
                    r.body = 177;
                    self.error_head("crit");
                    self.error
                        .extend_from_slice(b"pwrite() \"/var/lib/nginx/body/00000");
                    put_u64(&mut self.error, self.rng.range(10_000, 99_999));
                    self.error
                        .extend_from_slice(b"\" failed (28: No space left on device)");
                    self.error_context(v, r, None);
                }
                _ => {
                    self.error_head(level);
                    let Some(b) = &self.burst else { return true };
                    self.error.extend_from_slice(&b.message);
                    let upstream = match record {
                        Record::Fastcgi | Record::Upstream => Some(UPSTREAM),
                        Record::Timeout => Some(UPSTREAM_NO_COLON),
                        _ => None,
                    };
                    self.error_context(v, r, upstream);
                }
            }
            return true;
        }
        // Now and then, outside bursts, one request fails on its own.
        if self.burst.is_none() && r.route & DB_PAGES != 0 && r.status < 400 && self.rng.ppm(120) {
            let i = self.rng.below(self.sporadic.len() as u64) as usize;
            let (routes, cause, status, _) = &self.sporadic[i];
            if routes & r.route == 0 {
                return false;
            }
            let (cause, status) = (*cause, *status);
            r.status = status;
            r.body = if status == 504 { 167 } else { 0 };
            self.count_5xx(cause, status);
            self.error_head("error");
            let msg = std::mem::take(&mut self.sporadic[i].3);
            self.error.extend_from_slice(&msg);
            self.sporadic[i].3 = msg;
            let upstream = if status == 504 {
                UPSTREAM_NO_COLON
            } else {
                UPSTREAM
            };
            self.error_context(v, r, Some(upstream));
            return true;
        }
        false
    }

    fn count_5xx(&mut self, cause: Cause, status: u16) {
        self.stats.server_errors += 1;
        self.stats.by_cause[cause as usize] += 1;
        self.statuses[usize::from(status - 500)] += 1;
    }

    // --- the error log ------------------------------------------------------------------------

    /// `2026/03/02 14:05:09 [error] 1188#1188: *4521 `
    fn error_head(&mut self, level: &str) {
        let pid = self.workers[self.rng.below(2) as usize];
        let e = &mut self.error;
        e.extend_from_slice(&self.clock.error);
        e.extend_from_slice(b" [");
        e.extend_from_slice(level.as_bytes());
        e.extend_from_slice(b"] ");
        put_u64(e, pid);
        e.push(b'#');
        put_u64(e, pid);
        e.extend_from_slice(b": *");
        put_u64(e, self.conn);
        e.push(b' ');
    }

    /// `, client: …, server: …, request: "…", upstream: "…", host: "…", referrer: "…"` and
    /// the end of the record.
    fn error_context(&mut self, v: &Visitor, r: &Request, upstream: Option<&[u8]>) {
        let e = &mut self.error;
        e.extend_from_slice(b", client: ");
        e.extend_from_slice(v.ip());
        e.extend_from_slice(b", server: ");
        e.extend_from_slice(HOST);
        e.extend_from_slice(b", request: \"");
        e.extend_from_slice(r.method.as_bytes());
        e.push(b' ');
        e.extend_from_slice(&self.path);
        e.push(b' ');
        e.extend_from_slice(r.proto.as_bytes());
        e.push(b'"');
        if let Some(u) = upstream {
            e.extend_from_slice(b", upstream: \"");
            e.extend_from_slice(u);
            e.push(b'"');
        }
        e.extend_from_slice(b", host: \"");
        e.extend_from_slice(HOST);
        e.push(b'"');
        match r.referer {
            Referer::Page if v.page_len > 0 => {
                e.extend_from_slice(b", referrer: \"");
                e.extend_from_slice(SITE);
                e.extend_from_slice(v.page());
                e.push(b'"');
            }
            Referer::External(x) if x != "-" => {
                e.extend_from_slice(b", referrer: \"");
                e.extend_from_slice(x.as_bytes());
                e.push(b'"');
            }
            _ => {}
        }
        e.push(b'\n');
        self.stats.error_lines += 1;
    }

    /// What nginx writes about requests that did not fail: scanner probes, PHP warnings.
    fn error_noise(&mut self, v: &Visitor, r: &Request) {
        match r.probe {
            Some(Probe::Php) => {
                self.error_head("error");
                self.error.extend_from_slice(
                    b"FastCGI sent in stderr: \"Primary script unknown\" while reading response header from upstream",
                );
                self.error_context(v, r, Some(UPSTREAM));
            }
            Some(Probe::Missing) => {
                self.error_head("error");
                self.error.extend_from_slice(b"open() \"");
                self.error.extend_from_slice(ROOT);
                self.error.extend_from_slice(b"/public");
                let end = memchr_q(&self.path);
                let path = std::mem::take(&mut self.path);
                self.error.extend_from_slice(&path[..end]);
                self.path = path;
                self.error
                    .extend_from_slice(b"\" failed (2: No such file or directory)");
                self.error_context(v, r, None);
            }
            Some(Probe::Forbidden) => {
                self.error_head("error");
                self.error.extend_from_slice(b"access forbidden by rule");
                self.error_context(v, r, None);
            }
            _ if r.status == 404 && r.route == STATIC => {
                // An apple-touch-icon nobody made.
                self.error_head("error");
                self.error.extend_from_slice(b"open() \"");
                self.error.extend_from_slice(ROOT);
                self.error.extend_from_slice(b"/public");
                let path = std::mem::take(&mut self.path);
                self.error.extend_from_slice(&path);
                self.path = path;
                self.error
                    .extend_from_slice(b"\" failed (2: No such file or directory)");
                self.error_context(v, r, None);
            }
            _ if r.route & DB_PAGES != 0 && r.status < 400 && self.rng.ppm(2_500) => {
                self.error_head("error");
                let i = self.rng.below(self.warnings.len() as u64) as usize;
                let w = std::mem::take(&mut self.warnings[i]);
                self.error.extend_from_slice(&w);
                self.warnings[i] = w;
                self.error_context(v, r, Some(UPSTREAM));
            }
            _ if r.route == ADMIN && r.status == 200 => {
                self.error_head("warn");
                self.error.extend_from_slice(
                    b"an upstream response is buffered to a temporary file /var/lib/nginx/fastcgi/",
                );
                put_u64(&mut self.error, self.rng.range(1, 9));
                self.error.push(b'/');
                put2(&mut self.error, self.rng.below(100));
                self.error.extend_from_slice(b"/00000");
                put_u64(&mut self.error, self.rng.range(10_000, 99_999));
                self.error.extend_from_slice(b" while reading upstream");
                self.error_context(v, r, Some(UPSTREAM));
            }
            _ => {}
        }
    }

    /// A line from nginx's master process (no connection, no request).
    fn notice(&mut self, pid: u64, text: &str) {
        let e = &mut self.error;
        e.extend_from_slice(&self.clock.error);
        e.extend_from_slice(b" [notice] ");
        put_u64(e, pid);
        e.push(b'#');
        put_u64(e, pid);
        e.extend_from_slice(b": ");
        e.extend_from_slice(text.as_bytes());
        e.push(b'\n');
        self.stats.error_lines += 1;
    }

    fn startup_notices(&mut self) {
        let m = self.master;
        self.notice(m, "using the \"epoll\" event method");
        self.notice(m, "nginx/1.22.1");
        self.notice(m, "OS: Linux 6.1.0-31-amd64");
        self.notice(m, "getrlimit(RLIMIT_NOFILE): 1024:524288");
        self.notice(m, "start worker processes");
        for w in self.workers {
            let mut text = Vec::with_capacity(32);
            text.extend_from_slice(b"start worker process ");
            put_u64(&mut text, w);
            self.notice(m, std::str::from_utf8(&text).unwrap_or_default());
        }
    }

    /// `nginx -s reload` after a configuration change: new workers, the old ones leave.
    fn reload_notices(&mut self) {
        let m = self.master;
        let from = self.next_pid + 40;
        let mut text = Vec::with_capacity(64);
        text.extend_from_slice(b"signal 1 (SIGHUP) received from ");
        put_u64(&mut text, from);
        text.extend_from_slice(b", reconfiguring");
        self.notice(m, std::str::from_utf8(&text).unwrap_or_default());
        self.notice(m, "reconfiguring");
        self.notice(m, "using the \"epoll\" event method");
        self.notice(m, "start worker processes");
        let old = self.workers;
        for w in &mut self.workers {
            *w = self.next_pid;
            self.next_pid += 1;
        }
        self.next_pid += 50;
        for w in self.workers {
            text.clear();
            text.extend_from_slice(b"start worker process ");
            put_u64(&mut text, w);
            self.notice(m, std::str::from_utf8(&text).unwrap_or_default());
        }
        for w in old {
            self.notice(w, "gracefully shutting down");
            self.notice(w, "exiting");
            self.notice(w, "exit");
            text.clear();
            text.extend_from_slice(b"worker process ");
            put_u64(&mut text, w);
            text.extend_from_slice(b" exited with code 0");
            self.notice(m, std::str::from_utf8(&text).unwrap_or_default());
        }
    }

    /// logrotate at midnight: nginx reopens its logs.
    fn rotation_notices(&mut self) {
        let m = self.master;
        let mut text = Vec::with_capacity(64);
        text.extend_from_slice(b"signal 10 (SIGUSR1) received from ");
        put_u64(&mut text, self.next_pid + 7);
        text.extend_from_slice(b", reopening logs");
        self.notice(m, std::str::from_utf8(&text).unwrap_or_default());
        self.notice(m, "reopening logs");
        for w in self.workers {
            self.notice(w, "reopening logs");
        }
        self.next_pid += 30;
    }

    // --- the access log -----------------------------------------------------------------------

    fn write_access(&mut self, v: &Visitor, r: &Request) {
        let start = self.access.len();
        let a = &mut self.access;
        a.extend_from_slice(v.ip());
        a.extend_from_slice(b" - ");
        a.extend_from_slice(r.user.as_bytes());
        a.extend_from_slice(b" [");
        a.extend_from_slice(&self.clock.access);
        a.extend_from_slice(b"] \"");
        match r.raw {
            Some(raw) => a.extend_from_slice(raw.as_bytes()),
            None => {
                a.extend_from_slice(r.method.as_bytes());
                a.push(b' ');
                a.extend_from_slice(&self.path);
                a.push(b' ');
                a.extend_from_slice(r.proto.as_bytes());
            }
        }
        a.extend_from_slice(b"\" ");
        put_u64(a, u64::from(r.status));
        a.push(b' ');
        put_u64(a, r.body);
        a.extend_from_slice(b" \"");
        match r.referer {
            Referer::Page if v.page_len > 0 => {
                a.extend_from_slice(SITE);
                a.extend_from_slice(v.page());
            }
            Referer::External(x) => a.extend_from_slice(x.as_bytes()),
            _ => a.push(b'-'),
        }
        a.extend_from_slice(b"\" \"");
        a.extend_from_slice(v.ua.as_bytes());
        a.extend_from_slice(b"\"\n");
        self.stats.bytes += (self.access.len() - start) as u64;
        self.stats.lines += 1;
        self.stats.requests += 1;
    }

    /// A line that is not a request: what crashes, disks and misconfigured scripts leave.
    fn malformed(&mut self) {
        let start = self.access.len();
        match self.rng.below(4) {
            0 | 1 => {
                // A line cut off by a crash mid-write, before its status.
                let v = self.visitors[0];
                let a = &mut self.access;
                a.extend_from_slice(v.ip());
                a.extend_from_slice(b" - - [");
                let stamp = &self.clock.access;
                let cut = self.rng.range(3, stamp.len() as u64 - 1) as usize;
                if self.rng.below(2) == 0 {
                    a.extend_from_slice(&stamp[..cut]);
                } else {
                    a.extend_from_slice(stamp);
                    a.extend_from_slice(b"] \"GET /product/");
                    let p = self.rng.pick(&PRODUCTS);
                    a.extend_from_slice(&p.as_bytes()[..cut.min(p.len())]);
                }
            }
            2 => {
                // A block of NULs: the file's tail after a power loss.
                let n = self.rng.range(40, 400) as usize;
                self.access.resize(self.access.len() + n, 0);
            }
            _ => {
                // A stray message from a script that wrote to the wrong file.
                let s = self.rng.pick(&[
                    "PHP Warning:  fopen(/var/log/nginx/access.log): Failed to open stream: Permission denied in /usr/local/bin/stats.php on line 9",
                    "logrotate: ALERT exited abnormally with [1]",
                    "tail: access.log: file truncated",
                ]);
                self.access.extend_from_slice(s.as_bytes());
            }
        }
        self.access.push(b'\n');
        self.stats.bytes += (self.access.len() - start) as u64;
        self.stats.lines += 1;
        self.stats.malformed += 1;
    }

    /// One access-log line (and whatever the error log gets with it).
    fn line(&mut self) {
        let load = HOUR_LOAD[self.clock.hour()];
        let mean = MEAN_GAP_US * 100 / load;
        self.clock.advance(self.rng.below(2 * mean + 1));
        if self.clock.day() != self.day {
            self.day = self.clock.day();
            self.rotation_notices();
        }
        if self
            .burst
            .as_ref()
            .is_some_and(|b| self.clock.us >= b.end_us)
        {
            self.end_burst();
        }
        if self.burst.is_none() && self.stats.requests >= self.next_burst_at {
            self.start_burst();
        }
        // One line in 20,000 to 60,000 (about a hundred in a GB), the first one early so
        // that a small file has one too.
        if self.stats.lines >= self.next_malformed_at {
            self.next_malformed_at = self.stats.lines + self.rng.range(20_000, 60_000);
            self.malformed();
            return;
        }
        self.conn += self.rng.range(1, 3);
        let slot = self.rng.below(ACTIVE as u64) as usize;
        let v = self.visitors[slot];
        let mut r = self.request(&v);
        if !self.fail(&v, &mut r) {
            self.error_noise(&v, &r);
        }
        self.write_access(&v, &r);
        if self.extra.is_some() {
            self.extras(&v, &r);
        }
        let v = &mut self.visitors[slot];
        v.made += 1;
        v.probe = v.probe.wrapping_add(1);
        if r.is_page && r.status < 400 {
            let n = self.path.len().min(v.page.len());
            v.page[..n].copy_from_slice(&self.path[..n]);
            v.page_len = n as u8;
        }
        v.left -= 1;
        if v.left == 0 {
            self.visitors[slot] = self.new_visitor();
        }
    }
}

/// The length of a target without its query string.
fn memchr_q(path: &[u8]) -> usize {
    path.iter().position(|&b| b == b'?').unwrap_or(path.len())
}

// ---------------------------------------------------------------------------------------------
// --error-size: the error logs of a host that logs PHP at debug level
// ---------------------------------------------------------------------------------------------

/// PHP's messages on requests that worked, as `(weight, message)`: what a shop on PHP 8.2
/// with `error_reporting = E_ALL` logs on every page, deprecations in its older code and its
/// vendors' most of all. None names a cause (`src/diagnose/rules.toml`).
const PHP_NOISE: [(u32, &str); 28] = [
    (
        60,
        "Deprecated:  Creation of dynamic property App\\Catalog\\Product::$legacyPrice is deprecated in /var/www/shop/src/Catalog/Product.php on line 88",
    ),
    (
        40,
        "Deprecated:  Return type of App\\Cart\\ItemCollection::getIterator() should either be compatible with IteratorAggregate::getIterator(): Traversable, or the #[\\ReturnTypeWillChange] attribute should be used to temporarily suppress the notice in /var/www/shop/src/Cart/ItemCollection.php on line 41",
    ),
    (
        55,
        "Deprecated:  strlen(): Passing null to parameter #1 ($string) of type string is deprecated in /var/www/shop/src/View/Helpers.php on line 112",
    ),
    (
        30,
        "Deprecated:  str_replace(): Passing null to parameter #3 ($subject) of type array|string is deprecated in /var/www/shop/src/Seo/Slugger.php on line 23",
    ),
    (
        20,
        "Deprecated:  Automatic conversion of false to array is deprecated in /var/www/shop/src/Session/FlashBag.php on line 57",
    ),
    (
        12,
        "Deprecated:  Using ${var} in strings is deprecated, use {$var} instead in /var/www/shop/src/Mail/Templates.php on line 19",
    ),
    (
        25,
        "Deprecated:  Implicit conversion from float 19.99 to int loses precision in /var/www/shop/src/Pricing/Discount.php on line 66",
    ),
    (
        18,
        "Deprecated:  Optional parameter $context declared before required parameter $locale is implicitly treated as a required parameter in /var/www/shop/vendor/acme/legacy-i18n/src/Translator.php on line 134",
    ),
    (
        30,
        "Deprecated:  Creation of dynamic property App\\Blog\\Post::$excerptHtml is deprecated in /var/www/shop/src/Blog/Post.php on line 51",
    ),
    (
        35,
        "Deprecated:  htmlspecialchars(): Passing null to parameter #1 ($string) of type string is deprecated in /var/www/shop/templates/partials/meta.php on line 7",
    ),
    (
        15,
        "Deprecated:  trim(): Passing null to parameter #1 ($string) of type string is deprecated in /var/www/shop/src/Search/QueryParser.php on line 12",
    ),
    (
        10,
        "Deprecated:  Function utf8_encode() is deprecated in /var/www/shop/vendor/acme/legacy-i18n/src/Encoding.php on line 30",
    ),
    (
        40,
        "Warning:  Undefined array key \"utm_source\" in /var/www/shop/src/Tracking/Campaign.php on line 25",
    ),
    (
        25,
        "Warning:  Undefined array key \"variant\" in /var/www/shop/src/Controller/ProductController.php on line 96",
    ),
    (
        12,
        "Warning:  Undefined variable $variant in /var/www/shop/templates/product/gallery.php on line 8",
    ),
    (
        14,
        "Warning:  Attempt to read property \"name\" on null in /var/www/shop/templates/product/breadcrumbs.php on line 14",
    ),
    (
        10,
        "Warning:  Trying to access array offset on value of type null in /var/www/shop/src/Controller/ProductController.php on line 140",
    ),
    (
        8,
        "Warning:  foreach() argument must be of type array|object, null given in /var/www/shop/templates/category/filters.php on line 31",
    ),
    (
        8,
        "Warning:  Undefined property: stdClass::$thumbnail in /var/www/shop/src/Blog/Excerpt.php on line 44",
    ),
    (
        4,
        "Warning:  Cannot modify header information - headers already sent by (output started at /var/www/shop/templates/layout.php:1) in /var/www/shop/src/Http/Response.php on line 77",
    ),
    (
        6,
        "Warning:  Array to string conversion in /var/www/shop/src/Tracking/Pixel.php on line 38",
    ),
    (
        3,
        "Warning:  session_start(): Session cannot be started after headers have already been sent in /var/www/shop/src/Session/Session.php on line 29",
    ),
    (
        3,
        "Warning:  getimagesize(/var/www/shop/public/images/products/bivvy-bag-1851-1280.webp): Failed to open stream: No such file or directory in /var/www/shop/src/Media/Thumbnail.php on line 52",
    ),
    (
        2,
        "Warning:  file_get_contents(https://rates.example.net/v1/latest?base=EUR): Failed to open stream: HTTP request failed! HTTP/1.1 429 Too Many Requests in /var/www/shop/src/Pricing/ExchangeRates.php on line 47",
    ),
    (
        15,
        "Notice:  Only variables should be passed by reference in /var/www/shop/src/Blog/Excerpt.php on line 19",
    ),
    (
        6,
        "Notice:  session_start(): Ignoring session_start() because a session is already active in /var/www/shop/src/Session/Session.php on line 29",
    ),
    (
        5,
        "Notice:  ob_end_flush(): Failed to delete and flush buffer. No buffer to delete or flush in /var/www/shop/src/Http/Kernel.php on line 203",
    ),
    (
        3,
        "Notice:  unserialize(): Error at offset 0 of 41 bytes in /var/www/shop/src/Cache/FileCache.php on line 88",
    ),
];

/// The order-sync cron job's failure when the ERP does not answer (one record, stack trace
/// and all); the cron job runs every five minutes and fails now and then.
const CRON_FATAL: &str = "PHP Fatal error:  Uncaught GuzzleHttp\\Exception\\ConnectException: cURL error 28: Operation timed out after 10001 milliseconds with 0 bytes received (see https://curl.haxx.se/libcurl/c/libcurl-errno.html) for https://erp.example.net/api/v2/orders in /var/www/shop/vendor/guzzlehttp/guzzle/src/Handler/CurlFactory.php:275
Stack trace:
#0 /var/www/shop/vendor/guzzlehttp/guzzle/src/Handler/CurlFactory.php(205): GuzzleHttp\\Handler\\CurlFactory::createRejection()
#1 /var/www/shop/vendor/guzzlehttp/guzzle/src/Handler/CurlFactory.php(157): GuzzleHttp\\Handler\\CurlFactory::finishError()
#2 /var/www/shop/vendor/guzzlehttp/guzzle/src/Handler/CurlHandler.php(47): GuzzleHttp\\Handler\\CurlFactory::finish()
#3 /var/www/shop/vendor/guzzlehttp/guzzle/src/Handler/Proxy.php(28): GuzzleHttp\\Handler\\CurlHandler->__invoke()
#4 /var/www/shop/vendor/guzzlehttp/guzzle/src/Client.php(333): GuzzleHttp\\Handler\\Proxy::GuzzleHttp\\Handler\\{closure}()
#5 /var/www/shop/src/Erp/OrderSync.php(58): GuzzleHttp\\Client->request()
#6 /var/www/shop/src/Command/SyncOrdersCommand.php(41): App\\Erp\\OrderSync->push()
#7 /var/www/shop/vendor/symfony/console/Command/Command.php(326): App\\Command\\SyncOrdersCommand->execute()
#8 /var/www/shop/vendor/symfony/console/Application.php(1096): Symfony\\Component\\Console\\Command\\Command->run()
#9 /var/www/shop/bin/console(19): Symfony\\Component\\Console\\Application->run()
#10 {main}
  thrown in /var/www/shop/vendor/guzzlehttp/guzzle/src/Handler/CurlFactory.php on line 275";

/// The nightly export at 03:00 on the days it runs out of memory.
const EXPORT_FATAL: &str = "PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted (tried to allocate 20480 bytes) in /var/www/shop/src/Export/CsvWriter.php on line 64";

/// The queue worker (`bin/console messenger:consume`, restarted every minute by systemd)
/// while the database is down, full or refusing the password: `{}` is the PDO message.
const WORKER_DB_FATAL: [&str; 2] = [
    "PHP Fatal error:  Uncaught PDOException: ",
    " in /var/www/shop/src/Db/Connection.php:27
Stack trace:
#0 /var/www/shop/src/Db/Connection.php(27): PDO->__construct()
#1 /var/www/shop/src/Db/Connection.php(14): App\\Db\\Connection->connect()
#2 /var/www/shop/src/Queue/OrderMailer.php(33): App\\Db\\Connection::get()
#3 /var/www/shop/vendor/symfony/messenger/Worker.php(118): App\\Queue\\OrderMailer->__invoke()
#4 /var/www/shop/vendor/symfony/messenger/Command/ConsumeMessagesCommand.php(238): Symfony\\Component\\Messenger\\Worker->run()
#5 /var/www/shop/bin/console(19): Symfony\\Component\\Console\\Application->run()
#6 {main}
  thrown in /var/www/shop/src/Db/Connection.php on line 27",
];

/// Seconds around a 5xx that no record explains where no record naming a cause may be:
/// `diagnose` looks 300 s either way for one from PHP.
const UNEXPLAINED_GUARD_US: u64 = 320 * 1_000_000;

/// PHP-FPM's pool size on this 2-core host.
const MAX_CHILDREN: u64 = 5;

/// State of the other error logs (`--error-size`): their own random numbers, so that the
/// access log and the 5xx records are the same with or without them.
struct Extra {
    rng: Rng,
    /// Bytes of error logs to write in all, and the access log's size they are spread over.
    target: u64,
    size: u64,
    php: Vec<u8>,
    fpm: Vec<u8>,
    unexplained: Vec<(u64, u64)>,
    /// The FastCGI relay text of each `PHP_NOISE` message: `PHP message: PHP Deprecated:  …`.
    relays: Vec<Vec<u8>>,
    fpm_master: u64,
    next_child: u64,
    /// The pool's children (`pm.max_children`, all started): pids and start times.
    children: [(u64, u64); MAX_CHILDREN as usize],
    /// PHP requests until the next child is recycled (`pm.max_requests`).
    recycle_in: u64,
    next_cron_us: u64,
    next_worker_us: u64,
    next_max_children_us: u64,
    /// The burst seen last (its number), and its cause while it lasts.
    burst_seen: u64,
    burst_cause: Option<Cause>,
    day: u64,
    scratch: Vec<u8>,
}

impl Extra {
    fn new(seed: u64, size: u64, target: u64, unexplained: Vec<(u64, u64)>) -> Extra {
        let mut rng = Rng::new(seed ^ 0x5eed_e770_0e77_0e55);
        let fpm_master = rng.range(600, 690);
        let relays = PHP_NOISE
            .iter()
            .map(|(_, m)| format!("PHP message: PHP {m}").into_bytes())
            .collect();
        Extra {
            recycle_in: rng.range(60, 140),
            rng,
            target,
            size,
            php: Vec::with_capacity(FLUSH_AT + 65_536),
            fpm: Vec::with_capacity(65_536),
            unexplained,
            relays,
            fpm_master,
            next_child: fpm_master + 1,
            children: [(0, 0); MAX_CHILDREN as usize],
            next_cron_us: 0,
            next_worker_us: 0,
            next_max_children_us: 0,
            burst_seen: 0,
            burst_cause: None,
            day: 0,
            scratch: Vec::with_capacity(256),
        }
    }

    /// Whether a record naming a cause may be written at `us`: not near a 5xx that no record
    /// explains, which `diagnose` would otherwise pin on it.
    fn may_name_cause(&self, us: u64) -> bool {
        !self
            .unexplained
            .iter()
            .any(|&(a, b)| us + UNEXPLAINED_GUARD_US >= a && us <= b + UNEXPLAINED_GUARD_US)
    }

    /// `[02-Mar-2026 14:05:09 UTC] ` + `msg` (PHP's `error_log`).
    fn php_record(&mut self, clock: &Clock, stats: &mut Stats, msg: &[u8]) {
        let p = &mut self.php;
        p.push(b'[');
        p.extend_from_slice(&clock.php);
        p.extend_from_slice(b" UTC] ");
        p.extend_from_slice(msg);
        p.push(b'\n');
        stats.php_error_records += 1;
    }

    /// `[02-Mar-2026 14:05:09] LEVEL: ` + `text` (PHP-FPM's log).
    fn fpm_record(&mut self, clock: &Clock, stats: &mut Stats, level: &str, text: &[&[u8]]) {
        let f = &mut self.fpm;
        f.push(b'[');
        f.extend_from_slice(&clock.php);
        f.extend_from_slice(b"] ");
        f.extend_from_slice(level.as_bytes());
        f.extend_from_slice(b": ");
        for t in text {
            f.extend_from_slice(t);
        }
        f.push(b'\n');
        stats.fpm_records += 1;
    }

    /// `[pool www] child N started`, a new child taking slot `slot`.
    fn child_started(&mut self, clock: &Clock, stats: &mut Stats, slot: usize) {
        let mut t = std::mem::take(&mut self.scratch);
        t.clear();
        t.extend_from_slice(b"[pool www] child ");
        put_u64(&mut t, self.next_child);
        t.extend_from_slice(b" started");
        self.children[slot] = (self.next_child, clock.us);
        self.next_child += 1;
        self.fpm_record(clock, stats, "NOTICE", &[&t]);
        self.scratch = t;
    }

    /// `[pool www] child N exited …` for a random running child, then its replacement.
    fn child_exited(&mut self, clock: &Clock, stats: &mut Stats, how: &[u8]) {
        let mut t = std::mem::take(&mut self.scratch);
        t.clear();
        t.extend_from_slice(b"[pool www] child ");
        let slot = self.rng.below(MAX_CHILDREN) as usize;
        let (child, since) = self.children[slot];
        put_u64(&mut t, child);
        t.extend_from_slice(how);
        let lived = clock.us.saturating_sub(since) + self.rng.below(1_000_000);
        put_u64(&mut t, lived / 1_000_000);
        t.push(b'.');
        let micros = lived % 1_000_000;
        for d in [100_000, 10_000, 1_000, 100, 10, 1] {
            t.push(b'0' + (micros / d % 10) as u8);
        }
        t.extend_from_slice(b" seconds from start");
        let level = if how.starts_with(b" exited with code") {
            "NOTICE"
        } else {
            "WARNING"
        };
        self.fpm_record(clock, stats, level, &[&t]);
        self.scratch = t;
        self.child_started(clock, stats, slot);
    }

    fn fpm_start(&mut self, clock: &Clock, stats: &mut Stats) {
        let mut t = std::mem::take(&mut self.scratch);
        t.clear();
        t.extend_from_slice(b"fpm is running, pid ");
        put_u64(&mut t, self.fpm_master);
        self.fpm_record(clock, stats, "NOTICE", &[&t]);
        self.scratch = t;
        self.fpm_record(clock, stats, "NOTICE", &[b"ready to handle connections"]);
        self.fpm_record(
            clock,
            stats,
            "NOTICE",
            &[b"systemd monitor interval set to 10000ms"],
        );
        for slot in 0..MAX_CHILDREN as usize {
            self.child_started(clock, stats, slot);
        }
    }
}

impl Gen<'_> {
    /// PHP-FPM's start, before the first request.
    fn extra_startup(&mut self) {
        let Some(x) = self.extra.as_deref_mut() else {
            return;
        };
        x.day = self.clock.day();
        x.next_cron_us = (self.clock.us / 300_000_000 + 1) * 300_000_000 + 2_000_000;
        x.fpm_start(&self.clock, &mut self.stats);
    }

    /// Bytes of error logs written so far, buffered ones included.
    fn error_logs_written(&self) -> u64 {
        let x = self.extra.as_deref();
        self.stats.error_bytes
            + self.error.len() as u64
            + self.stats.php_error_bytes
            + self.stats.fpm_bytes
            + x.map_or(0, |x| (x.php.len() + x.fpm.len()) as u64)
    }

    /// What the other error logs get with this request: the episodes of the burst in
    /// progress, the cron jobs, and PHP's warnings on pages that worked until the error logs
    /// have their share of the size so far.
    fn extras(&mut self, v: &Visitor, r: &Request) {
        self.extra_episodes(r);
        let php_page = r.route & DB_PAGES != 0 && r.raw.is_none() && r.status < 500;
        if !php_page {
            return;
        }
        let Some(x) = self.extra.as_deref_mut() else {
            return;
        };
        x.recycle_in -= 1;
        if x.recycle_in == 0 {
            // pm.max_requests = 500, shared by the pool's children.
            x.recycle_in = x.rng.range(60, 140);
            x.child_exited(&self.clock, &mut self.stats, b" exited with code 0 after ");
        }
        let budget =
            (u128::from(x.target) * u128::from(self.stats.bytes) / u128::from(x.size)) as u64;
        let mut written = self.error_logs_written();
        let mut n = 0;
        while written < budget && n < 400 {
            n += 1;
            let before = written;
            let Some(x) = self.extra.as_deref_mut() else {
                return;
            };
            match x.rng.below(100) {
                0..=89 => {
                    let i = x.rng.choose(&NOISE_INDEX);
                    let mut m = std::mem::take(&mut x.scratch);
                    m.clear();
                    m.extend_from_slice(b"PHP ");
                    m.extend_from_slice(PHP_NOISE[i].1.as_bytes());
                    x.php_record(&self.clock, &mut self.stats, &m);
                    x.scratch = m;
                }
                90..=98 => {
                    // PHP-FPM passes the request's messages on to nginx, several in a record.
                    let k = x.rng.range(1, 3);
                    let worker = self.workers[x.rng.below(2) as usize];
                    let e = &mut self.error;
                    e.extend_from_slice(&self.clock.error);
                    e.extend_from_slice(b" [error] ");
                    put_u64(e, worker);
                    e.push(b'#');
                    put_u64(e, worker);
                    e.extend_from_slice(b": *");
                    put_u64(e, self.conn);
                    e.extend_from_slice(b" FastCGI sent in stderr: \"");
                    for j in 0..k {
                        if j > 0 {
                            e.extend_from_slice(b"; ");
                        }
                        let i = x.rng.choose(&NOISE_INDEX);
                        e.extend_from_slice(&x.relays[i]);
                    }
                    e.extend_from_slice(b"\" while reading response header from upstream");
                    self.error_context(v, r, Some(UPSTREAM));
                    self.stats.error_extra_records += 1;
                }
                _ if r.method == "POST" => {
                    let worker = self.workers[x.rng.below(2) as usize];
                    let body = x.rng.range(10_000, 99_999);
                    let e = &mut self.error;
                    e.extend_from_slice(&self.clock.error);
                    e.extend_from_slice(b" [warn] ");
                    put_u64(e, worker);
                    e.push(b'#');
                    put_u64(e, worker);
                    e.extend_from_slice(b": *");
                    put_u64(e, self.conn);
                    e.extend_from_slice(
                        b" a client request body is buffered to a temporary file /var/lib/nginx/body/00000",
                    );
                    put_u64(e, body);
                    self.error_context(v, r, Some(UPSTREAM));
                    self.stats.error_extra_records += 1;
                }
                _ => {
                    // A scanner's TLS handshake, failed: no request, no access line.
                    let worker = self.workers[x.rng.below(2) as usize];
                    let first = x.rng.pick(&HOSTING_V4);
                    let (b, c, d) = (x.rng.below(256), x.rng.below(256), x.rng.range(1, 254));
                    let what = x.rng.pick(&[
                        "SSL_do_handshake() failed (SSL: error:0A00006C:SSL routines::bad key share)",
                        "SSL_do_handshake() failed (SSL: error:0A000102:SSL routines::unsupported protocol)",
                        "SSL_do_handshake() failed (SSL: error:0A0000C1:SSL routines::no shared cipher)",
                    ]);
                    let e = &mut self.error;
                    e.extend_from_slice(&self.clock.error);
                    e.extend_from_slice(b" [crit] ");
                    put_u64(e, worker);
                    e.push(b'#');
                    put_u64(e, worker);
                    e.extend_from_slice(b": *");
                    put_u64(e, self.conn + 1);
                    e.push(b' ');
                    e.extend_from_slice(what.as_bytes());
                    e.extend_from_slice(b" while SSL handshaking, client: ");
                    put_u64(e, first);
                    for o in [b, c, d] {
                        e.push(b'.');
                        put_u64(e, o);
                    }
                    e.extend_from_slice(b", server: 0.0.0.0:443\n");
                    self.stats.error_lines += 1;
                    self.stats.error_extra_records += 1;
                }
            }
            written = self.error_logs_written();
            debug_assert!(written > before);
        }
    }

    /// Records tied to time rather than to a request: the burst in progress as PHP-FPM and
    /// the cron jobs see it, FPM reopening its log at midnight.
    fn extra_episodes(&mut self, r: &Request) {
        let Some(x) = self.extra.as_deref_mut() else {
            return;
        };
        let (clock, stats) = (&self.clock, &mut self.stats);
        let now = clock.us;
        let named_ok = x.may_name_cause(now);
        if clock.day() != x.day {
            x.day = clock.day();
            x.fpm_record(clock, stats, "NOTICE", &[b"error log file re-opened"]);
        }
        // A burst started or ended since the last line.
        let current = self.burst.as_ref().map(|b| (b.cause, b.end_us));
        if x.burst_cause.is_some() && (current.is_none() || stats.bursts != x.burst_seen) {
            if x.burst_cause == Some(Cause::UpstreamUnavailable) {
                // PHP-FPM is back.
                x.fpm_master = x.next_child + 3;
                x.next_child = x.fpm_master + 1;
                x.fpm_start(clock, stats);
                x.php_record(
                    clock,
                    stats,
                    b"PHP Warning:  Module \"imagick\" is already loaded in Unknown on line 0",
                );
            }
            x.burst_cause = None;
        }
        if let Some((cause, _)) = current
            && stats.bursts != x.burst_seen
        {
            x.burst_seen = stats.bursts;
            x.burst_cause = Some(cause);
            x.next_worker_us = now;
            x.next_max_children_us = now;
            match cause {
                Cause::UpstreamUnavailable => {
                    x.fpm_record(clock, stats, "NOTICE", &[b"Terminating ..."]);
                    x.fpm_record(clock, stats, "NOTICE", &[b"exiting, bye-bye!"]);
                }
                Cause::PoolExhausted => {
                    x.fpm_record(
                        clock,
                        stats,
                        "WARNING",
                        &[b"[pool www] seems busy (you may need to increase pm.start_servers, or pm.min/max_spare_servers), there are 0 idle, and 5 total children"],
                    );
                }
                _ => {}
            }
        }
        let Some((cause, end_us)) = current else {
            return self.extra_cron();
        };
        let Some(x) = self.extra.as_deref_mut() else {
            return;
        };
        let (clock, stats) = (&self.clock, &mut self.stats);
        match cause {
            // Written once per episode, again when it goes on; not in the last seconds, where
            // it could explain the next failure of another kind.
            Cause::PoolExhausted
                if now >= x.next_max_children_us && now + 10_000_000 < end_us && named_ok =>
            {
                x.next_max_children_us = now + x.rng.range(60, 120) * 1_000_000;
                let mut t = std::mem::take(&mut x.scratch);
                t.clear();
                t.extend_from_slice(b"[pool www] server reached pm.max_children setting (");
                put_u64(&mut t, MAX_CHILDREN);
                t.extend_from_slice(b"), consider raising it");
                x.fpm_record(clock, stats, "WARNING", &[&t]);
                x.scratch = t;
                stats.other_error_records += 1;
            }
            Cause::FpmCrash if r.status >= 500 && named_ok && x.rng.below(100) < 60 => {
                x.child_exited(clock, stats, b" exited on signal 11 (SIGSEGV) after ");
                stats.other_error_records += 1;
            }
            Cause::UpstreamTimeout if r.status == 504 && x.rng.below(100) < 30 => {
                // The slow log: unclassified, it says where the time went.
                let mut t = std::mem::take(&mut x.scratch);
                t.clear();
                let child = x.children[x.rng.below(MAX_CHILDREN) as usize].0;
                t.extend_from_slice(b"[pool www] child ");
                put_u64(&mut t, child);
                t.extend_from_slice(
                    b", script '/var/www/shop/public/index.php' (request: \"GET /index.php\") executing too slow (",
                );
                put_u64(&mut t, x.rng.range(5, 29));
                t.push(b'.');
                put_u64(&mut t, x.rng.range(100_000, 999_999));
                t.extend_from_slice(b" sec), logging");
                x.fpm_record(clock, stats, "WARNING", &[&t]);
                t.clear();
                t.extend_from_slice(b"child ");
                put_u64(&mut t, child);
                t.extend_from_slice(b" stopped for tracing");
                x.fpm_record(clock, stats, "NOTICE", &[&t]);
                x.scratch = t;
            }
            Cause::DbUnreachable | Cause::DbPool | Cause::DbAuth
                if now >= x.next_worker_us && named_ok =>
            {
                x.next_worker_us = now + 60_000_000;
                let what: &[u8] = match cause {
                    Cause::DbUnreachable => b"SQLSTATE[HY000] [2002] Connection refused",
                    Cause::DbPool => b"SQLSTATE[HY000] [1040] Too many connections",
                    _ => b"SQLSTATE[HY000] [1045] Access denied for user 'shop'@'localhost' (using password: YES)",
                };
                let mut m = std::mem::take(&mut x.scratch);
                m.clear();
                m.extend_from_slice(WORKER_DB_FATAL[0].as_bytes());
                m.extend_from_slice(what);
                m.extend_from_slice(WORKER_DB_FATAL[1].as_bytes());
                x.php_record(clock, stats, &m);
                x.scratch = m;
                stats.other_error_records += 1;
            }
            _ => {}
        }
        self.extra_cron();
    }

    /// The cron jobs: order sync every five minutes (now and then the ERP times out), the
    /// export at 03:00 (now and then out of memory).
    fn extra_cron(&mut self) {
        let Some(x) = self.extra.as_deref_mut() else {
            return;
        };
        let (clock, stats) = (&self.clock, &mut self.stats);
        if clock.us < x.next_cron_us {
            return;
        }
        let at = x.next_cron_us;
        x.next_cron_us += 300_000_000;
        if !x.may_name_cause(clock.us) {
            return;
        }
        if x.rng.below(100) < 3 {
            x.php_record(clock, stats, CRON_FATAL.as_bytes());
            stats.other_error_records += 1;
        }
        if (at / 1_000_000) % 86_400 / 300 == 3 * 12 && x.rng.below(100) < 40 {
            x.php_record(clock, stats, EXPORT_FATAL.as_bytes());
            stats.other_error_records += 1;
        }
    }
}

/// `PHP_NOISE` as `(weight, index)`, for `Rng::choose`.
const NOISE_INDEX: [(u32, usize); PHP_NOISE.len()] = {
    let mut t = [(0, 0); PHP_NOISE.len()];
    let mut i = 0;
    while i < t.len() {
        t[i] = (PHP_NOISE[i].0, i);
        i += 1;
    }
    t
};
