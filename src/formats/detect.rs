//! Telling what a file is from its first lines, never from its name.

use jiff::tz::TimeZone;

use std::sync::Arc;

use super::access::{AccessFormat, parse_clf_line, parse_json_line};
use super::app::AppLog;
use super::aws::AwsLb;
use super::haproxy::{HaproxyFormat, Layout};
use super::w3c;
use super::{ErrorEvent, Kind, apache_error, nginx_error, php};

/// The error-log formats, each read record by record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorFormat {
    Nginx,
    Apache,
    PhpFpm,
    Php,
    /// An application server's own log, in one of its dialects.
    App(AppLog),
}

impl ErrorFormat {
    const ALL: [ErrorFormat; 14] = [
        Self::Nginx,
        Self::Apache,
        Self::PhpFpm,
        Self::Php,
        Self::App(AppLog::ALL[0]),
        Self::App(AppLog::ALL[1]),
        Self::App(AppLog::ALL[2]),
        Self::App(AppLog::ALL[3]),
        Self::App(AppLog::ALL[4]),
        Self::App(AppLog::ALL[5]),
        Self::App(AppLog::ALL[6]),
        Self::App(AppLog::ALL[7]),
        Self::App(AppLog::ALL[8]),
        Self::App(AppLog::ALL[9]),
    ];

    /// The name reported in `inputs[].format`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Nginx => "nginx_error",
            Self::Apache => "apache_error",
            Self::PhpFpm => "php_fpm",
            Self::Php => "php_error",
            Self::App(a) => a.name(),
        }
    }

    pub fn kind(self) -> Kind {
        match self {
            Self::Nginx | Self::Apache => Kind::Error,
            Self::PhpFpm => Kind::PhpFpm,
            Self::Php => Kind::PhpError,
            Self::App(_) => Kind::App,
        }
    }

    /// Where a raw record's message starts, for the logs whose header holds all that varies
    /// between records telling the same thing (the time, the process, the connection);
    /// `None` for the others.
    pub fn message_start(self, record: &[u8]) -> Option<usize> {
        match self {
            Self::Nginx => nginx_error::message_start(record),
            Self::Php => php::message_start(record),
            Self::Apache | Self::PhpFpm | Self::App(_) => None,
        }
    }

    /// Whether `line` starts a new record; other lines continue the previous one.
    pub fn is_header(self, line: &[u8]) -> bool {
        match self {
            Self::Nginx => nginx_error::is_header(line),
            Self::Apache => apache_error::is_header(line),
            Self::PhpFpm => php::is_fpm_header(line),
            Self::Php => php::is_php_header(line),
            Self::App(a) => a.is_header(line),
        }
    }

    /// Whether `line` tells this format from the others: a header, or, for application
    /// servers, whose logs hold each other's records (a gunicorn error log holds `logging`
    /// records too), a line only this dialect writes.
    pub fn sniff(self, line: &[u8]) -> bool {
        match self {
            Self::App(a) => a.sniff(line),
            other => other.is_header(line),
        }
    }

    /// The head of a header line that alone decides it is one (nginx's time and ` [`, PHP's
    /// bracketed time), where there is such: a line that starts with the same bytes is a header
    /// too, without reading the time again (the lines of one second share it).
    pub fn header_key(self, line: &[u8]) -> Option<&[u8]> {
        match self {
            Self::Nginx => line.get(..21),
            Self::Php => memchr::memchr(b']', line).map(|at| &line[..=at]),
            Self::Apache | Self::PhpFpm | Self::App(_) => None,
        }
    }

    /// Whether a file of this error format may hold an access log's lines too, each read as
    /// what it is: a web server's (its error and access lines in one container's stream), and
    /// uWSGI's log (its request lines).
    pub fn mixes_with_access(self) -> bool {
        matches!(self, Self::Nginx | Self::Apache | Self::App(AppLog::Uwsgi))
    }

    /// The access format of the request lines an application server writes into its own
    /// log (uWSGI's), where it writes them.
    pub fn own_access(self) -> Option<AccessFormat> {
        match self {
            Self::App(AppLog::Uwsgi) => Some(AccessFormat::Uwsgi(TimeZone::UTC)),
            _ => None,
        }
    }

    /// Whether a raw record was written at error level or worse, read from its level field
    /// without parsing the rest (PHP's own log says it in words the rule table reads).
    pub fn is_error_level(self, record: &[u8]) -> bool {
        let level = match self {
            Self::Nginx => record
                .get(19..)
                .and_then(|r| r.strip_prefix(b" ["))
                .and_then(|r| r.split(|&b| b == b']').next()),
            Self::Apache => apache_error::level(record),
            Self::PhpFpm => record
                .iter()
                .position(|&b| b == b']')
                .and_then(|at| record.get(at + 2..))
                .and_then(|r| r.split(|&b| b == b':').next()),
            Self::Php => None,
            Self::App(a) => a.level(record),
        };
        level.is_some_and(is_error_word)
    }

    /// Parses a whole record (lines joined with `\n`).
    pub fn parse(self, record: &[u8], tz: &TimeZone) -> Option<ErrorEvent> {
        match self {
            Self::Nginx => nginx_error::parse(record, tz),
            Self::Apache => apache_error::parse(record, tz),
            Self::PhpFpm => php::parse_fpm(record, tz),
            Self::Php => php::parse_php_error(record, tz),
            Self::App(a) => a.parse(record, tz),
        }
    }
}

/// Error level or worse, in nginx's, Apache's, PHP-FPM's and Python's words.
pub fn is_error_word(level: &[u8]) -> bool {
    [
        &b"error"[..],
        b"crit",
        b"alert",
        b"emerg",
        b"fatal error",
        b"parse error",
        b"critical",
        b"fatal",
        b"severe",
        b"fail",
        b"panic",
    ]
    .iter()
    .any(|w| level.eq_ignore_ascii_case(w))
}

/// What a file turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detected {
    Access(AccessFormat),
    Error(ErrorFormat),
    Unknown,
}

impl Detected {
    pub fn kind(&self) -> Kind {
        match self {
            Detected::Access(_) => Kind::Access,
            Detected::Error(f) => f.kind(),
            Detected::Unknown => Kind::Unknown,
        }
    }

    /// The detected format, its times read in `tz` where its lines write no zone.
    pub fn in_zone(self, tz: &TimeZone) -> Detected {
        match self {
            Detected::Access(f) => Detected::Access(f.in_zone(tz)),
            other => other,
        }
    }

    pub fn format_name(&self) -> &'static str {
        match self {
            Detected::Access(f) => f.name(),
            Detected::Error(f) => f.name(),
            Detected::Unknown => "unknown",
        }
    }
}

/// Lines every one of which one format reads, after which the sample is not read further.
const UNANIMOUS: usize = 512;

/// Decides a file's format from a sample of its first lines: the format that reads the most
/// of them wins, if it reads at least a third (junk lines at the head of a file should not
/// hide its format), or, for error logs, whose records can run over many lines (stack
/// traces), if it reads the first line. The access format `--access-format` names, when given,
/// is tried first.
pub fn detect<'a>(
    lines: impl Iterator<Item = &'a [u8]>,
    custom: Option<&AccessFormat>,
) -> Detected {
    let mut total = 0usize;
    let mut custom_hits = 0usize;
    let mut clf = [0usize; 3];
    let mut json = JsonCounts::default();
    let mut cloud = CloudCounts::default();
    // HAProxy's two layouts, `option httplog` and `option httplog clf`.
    let mut haproxy = [0usize; 2];
    let mut uwsgi_requests = 0usize;
    let haproxy_formats = [Layout::Http, Layout::Clf].map(HaproxyFormat::new);
    let mut errors = [0usize; ErrorFormat::ALL.len()];
    let mut first_error = None;
    for line in lines.filter(|l| !l.trim_ascii().is_empty()) {
        // Every line so far read alike, and enough of them: the rest would only agree.
        if total >= UNANIMOUS
            && [
                custom_hits,
                clf.iter().sum(),
                json.all,
                cloud.w3c,
                cloud.aws.iter().sum(),
                haproxy[0],
                haproxy[1],
                uwsgi_requests,
                errors.iter().copied().max().unwrap_or(0),
            ]
            .contains(&total)
        {
            break;
        }
        total += 1;
        if total == 1 {
            first_error = ErrorFormat::ALL.iter().position(|f| f.sniff(line));
        }
        if custom.is_some_and(|c| c.parse(line).is_some()) {
            custom_hits += 1;
        }
        if let Some((_, v)) = parse_clf_line(line) {
            // HAProxy's CLF layout is a CLF line with its own fields after it.
            match haproxy_formats[1].parse(line) {
                Some(_) => haproxy[1] += 1,
                None => clf[v as usize] += 1,
            }
        } else if line.first() == Some(&b'{') && parse_json_line(line).is_some() {
            json.count(line);
        } else if let Some(i) = haproxy_formats.iter().position(|f| f.parse(line).is_some()) {
            // With their syslog header, HAProxy's lines are no CLF lines in either layout.
            haproxy[i] += 1;
        } else if super::app::python::is_request_line(line) {
            uwsgi_requests += 1;
        } else {
            cloud.count(line);
        }
        for (i, f) in ErrorFormat::ALL.iter().enumerate() {
            errors[i] += usize::from(f.sniff(line));
        }
    }
    let enough = |n: usize| n > 0 && n * 3 >= total;
    if let Some(c) = custom.filter(|_| enough(custom_hits)) {
        return Detected::Access(c.clone());
    }
    let clf_total: usize = clf.iter().sum();
    let best_error = (0..errors.len()).max_by_key(|&i| errors[i]).unwrap_or(0);
    let error_ok = enough(errors[best_error]) || first_error == Some(best_error);
    let candidates = [
        (
            clf_total,
            enough(clf_total),
            Detected::Access(AccessFormat::Clf(clf_variant(clf))),
        ),
        (json.all, enough(json.all), Detected::Access(json.format())),
        (
            cloud.w3c,
            enough(cloud.w3c),
            Detected::Access(AccessFormat::W3c(cloud.layout())),
        ),
        (
            cloud.aws.iter().sum(),
            enough(cloud.aws.iter().sum()),
            Detected::Access(AccessFormat::Aws(cloud.lb())),
        ),
        (
            uwsgi_requests,
            enough(uwsgi_requests),
            Detected::Access(AccessFormat::Uwsgi(TimeZone::UTC)),
        ),
        (
            errors[best_error],
            error_ok,
            Detected::Error(ErrorFormat::ALL[best_error]),
        ),
    ];
    let haproxy = haproxy_formats
        .into_iter()
        .zip(haproxy)
        .map(|(f, n)| (n, enough(n), Detected::Access(AccessFormat::Haproxy(f))));
    candidates
        .into_iter()
        .chain(haproxy)
        .filter(|(_, ok, _)| *ok)
        .map(|(n, _, d)| (n, d))
        .max_by_key(|(n, _)| *n)
        .map_or(Detected::Unknown, |(_, d)| d)
}

/// JSON lines read, and how many of them are in the shape of a cloud service's export.
#[derive(Default)]
struct JsonCounts {
    all: usize,
    cloudflare: usize,
    gcp: usize,
}

impl JsonCounts {
    /// Counts a line [`parse_json_line`] reads; its keys say whose it is.
    fn count(&mut self, line: &[u8]) {
        let has = |key: &[u8]| memchr::memmem::find(line, key).is_some();
        self.all += 1;
        self.cloudflare += usize::from(has(b"\"EdgeResponseStatus\""));
        self.gcp += usize::from(has(b"\"httpRequest\""));
    }

    /// The JSON format most of the lines are in.
    fn format(&self) -> AccessFormat {
        if self.cloudflare * 2 > self.all {
            AccessFormat::Cloudflare
        } else if self.gcp * 2 > self.all {
            AccessFormat::GcpLb
        } else {
            AccessFormat::Json
        }
    }
}

/// Lines of the text formats cloud services write: W3C extended (with the layout of its first
/// `#Fields:` line) and AWS load balancers'.
#[derive(Default)]
struct CloudCounts {
    w3c: usize,
    /// The first `#Fields:` layout, and the one in effect.
    first: Option<Arc<w3c::Layout>>,
    current: Option<Arc<w3c::Layout>>,
    /// ALB, ELB.
    aws: [usize; 2],
}

impl CloudCounts {
    /// Counts a line no other access parser read. W3C data lines are read in the layout the
    /// last `#Fields:` gave, or IIS's default before any.
    fn count(&mut self, line: &[u8]) {
        if let Some(d) = w3c::directive(line) {
            // Only a `#Fields:` line W3C data can follow says W3C: other `#` lines are what
            // banners and comments of any log look like too.
            if let w3c::Directive::Fields(layout) = d {
                self.first.get_or_insert_with(|| Arc::clone(&layout));
                self.current = Some(layout);
                self.w3c += 1;
            }
        } else if let Some(lb) = [AwsLb::Alb, AwsLb::Elb]
            .into_iter()
            .find(|lb| lb.head(line).is_some())
        {
            self.aws[lb as usize] += 1;
        } else {
            let current = self.current.get_or_insert_with(w3c::Layout::iis_default);
            self.w3c += usize::from(current.head(line).is_some());
        }
    }

    /// The layout a W3C file starts in.
    fn layout(&self) -> Arc<w3c::Layout> {
        self.first.clone().unwrap_or_else(w3c::Layout::iis_default)
    }

    fn lb(&self) -> AwsLb {
        if self.aws[AwsLb::Elb as usize] > self.aws[AwsLb::Alb as usize] {
            AwsLb::Elb
        } else {
            AwsLb::Alb
        }
    }
}

/// The CLF variant most lines have; a file with some `combined` lines among `common` ones
/// (lines without user agent) is still `combined`.
fn clf_variant(counts: [usize; 3]) -> super::access::ClfVariant {
    use super::access::ClfVariant::*;
    if counts[VhostCombined as usize] > 0
        && counts[VhostCombined as usize] * 2 >= counts.iter().sum()
    {
        VhostCombined
    } else if counts[Combined as usize] > 0 {
        Combined
    } else {
        Common
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Detected {
        detect(text.lines().map(str::as_bytes), None)
    }

    #[test]
    fn detects_each_kind() {
        let combined = r#"1.2.3.4 - - [25/Nov/2026:14:00:03 +0000] "GET / HTTP/1.1" 200 1 "-" "x""#;
        assert_eq!(d(combined).format_name(), "combined");
        assert_eq!(
            d("2026/11/25 14:00:03 [error] 1#1: *1 boom\n").format_name(),
            "nginx_error"
        );
        assert_eq!(
            d("[Wed Nov 25 14:00:03.1 2026] [core:alert] [pid 1] x").format_name(),
            "apache_error"
        );
        assert_eq!(
            d("[25-Nov-2026 14:00:03] NOTICE: fpm is running, pid 1").kind(),
            Kind::PhpFpm
        );
        let php = "[25-Nov-2026 14:00:03 UTC] PHP Fatal error:  x\nStack trace:\n#0 {main}\n#1 a\n#2 b\n#3 c\n";
        assert_eq!(d(php).kind(), Kind::PhpError);
        let haproxy = "Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 503 212 - - SC-- 1/1/1/1/0 0/0 \"GET / HTTP/1.1\"";
        assert_eq!(d(haproxy).format_name(), "haproxy");
        let clf = "127.0.0.1 - - [07/Dec/2026:13:10:32 +0000] \"GET / HTTP/1.1\" 503 217 \"\" \"\" 49324 492 \"fe\" \"down\" \"s1\" 0 0 -1 -1 3005 SC-- 1 1 0 0 3 0 0 \"\" \"\" \"\" \"\"";
        let Detected::Access(f) = d(clf) else {
            panic!("{clf}")
        };
        assert_eq!(
            f.parse(clf.as_bytes()).unwrap().reason.as_deref(),
            Some(&b"SC--"[..])
        );
        assert_eq!(d("hello\nworld\n"), Detected::Unknown);
    }

    #[test]
    fn detects_the_python_application_servers() {
        let gunicorn = "[2026-12-07 15:23:56 +0000] [21310] [INFO] Starting gunicorn 20.1.0\n\
                        2026-12-07 09:23:58,063 ERROR django.request Internal Server Error: /boom\n\
                        Traceback (most recent call last):\n\
                        KeyError: 'customer'\n\
                        [2026-12-07 15:24:00 +0000] [21310] [CRITICAL] WORKER TIMEOUT (pid:21311)\n";
        assert_eq!(d(gunicorn).format_name(), "gunicorn");
        assert_eq!(d(gunicorn).kind(), Kind::App);
        let uwsgi = "Mon Dec  7 15:23:31 2026 - spawned uWSGI worker 1 (pid: 18665, cores: 1)\n\
                     [2026-12-07 15:23:33,790] ERROR in app: Exception on /boom [GET]\n\
                     Traceback (most recent call last):\n\
                     ValueError: boom\n\
                     [pid: 18665|app: 0|req: 1/1] 127.0.0.1 () {24 vars in 254 bytes} [Mon Dec  7 15:23:33 2026] GET /boom => generated 265 bytes in 7 msecs (HTTP/1.1 500) 2 headers in 99 bytes (1 switches on core 0)\n";
        assert_eq!(d(uwsgi).format_name(), "uwsgi");
        let python = "2026-12-07 09:23:58,063 ERROR django.request Internal Server Error: /boom\n\
                      Traceback (most recent call last):\n";
        assert_eq!(d(python).format_name(), "python");
    }

    #[test]
    fn detects_tomcat_spring_go_and_aspnet_logs() {
        let tomcat = "07-Dec-2026 15:31:53.410 SEVERE [http-nio-8080-exec-3] org.apache.catalina.core.StandardWrapperValve.invoke Servlet.service() for servlet [faults] in context with path [] threw exception\n\
                      \tjava.lang.IllegalStateException: order 42 has a bad quantity\n\
                      \t\tat lab.Orders.total(Orders.java:11)\n\
                      \t\tat jakarta.servlet.http.HttpServlet.service(HttpServlet.java:564)\n";
        assert_eq!(d(tomcat).format_name(), "tomcat");
        assert_eq!(d(tomcat).kind(), Kind::App);
        let spring = "2026-02-19T12:22:37.451Z  INFO 128443 --- [myapp] [           main] o.s.b.d.f.logexample.MyApplication       : Starting MyApplication\n\
                      2026-02-19T12:22:38.451Z ERROR 128443 --- [myapp] [nio-8080-exec-1] o.a.c.c.C.[.[.[/].[dispatcherServlet]    : Servlet.service() threw exception\n\
                      java.lang.IllegalStateException: boom\n\
                      \tat com.example.Shop.buy(Shop.java:12) ~[classes/:na]\n";
        assert_eq!(d(spring).format_name(), "spring");
        let go = "2026/12/07 15:32:09 listening on 127.0.0.1:37221\n\
                  2026/12/07 15:32:09 http: panic serving 127.0.0.1:38390: boom\n\
                  goroutine 7 [running]:\n\
                  net/http.(*conn).serve.func1()\n\
                  \t/usr/lib/go-1.19/src/net/http/server.go:1850 +0xbf\n\
                  main.cart(...)\n\
                  \t/srv/app/main.go:29 +0x3b\n";
        assert_eq!(d(go).format_name(), "go");
        let aspnet = "info: Microsoft.Hosting.Lifetime[14]\n      Now listening on: http://localhost:5000\n\
                      fail: Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware[1]\n      An unhandled exception has occurred while executing the request.\n      System.Exception: boom\n         at Shop.Pages.IndexModel.OnGet() in /src/Shop/Pages/Index.cshtml.cs:line 17\n";
        assert_eq!(d(aspnet).format_name(), "aspnet");
    }

    #[test]
    fn detects_the_cloud_formats() {
        let iis = "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n\
                   #Date: 2026-11-25 14:00:00\n#Fields: date time c-ip cs-method cs-uri-stem sc-status\n\
                   2026-11-25 14:00:03 1.2.3.4 GET / 500\n";
        assert_eq!(d(iis).format_name(), "w3c");
        let headerless = "2026-11-25 14:00:03 10.0.0.5 GET / - 443 - 1.2.3.4 ua - 500 0 0 15\n";
        assert_eq!(d(headerless).format_name(), "w3c");
        let cloudfront = "#Version: 1.0\n#Fields: date time x-edge-location c-ip sc-status x-edge-result-type\n\
                          2019-12-13\t22:36:27\tSEA19-C1\t192.0.2.200\t502\tError\n";
        assert_eq!(d(cloudfront).format_name(), "cloudfront");
        let alb = r#"http 2018-07-02T22:23:00.186641Z app/lb/50dc 1.2.3.4:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://ex.org:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:x "Root=1" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-""#;
        assert_eq!(d(alb).format_name(), "alb");
        let elb = r#"2015-05-13T23:39:43.945958Z lb 1.2.3.4:2817 10.0.0.1:80 0.1 0.1 0.1 200 200 0 29 "GET http://ex.org:80/ HTTP/1.1" "curl/7.38.0" - -"#;
        assert_eq!(d(elb).format_name(), "elb");
        let cloudflare = r#"{"ClientIP":"1.2.3.4","EdgeResponseStatus":200,"EdgeStartTimestamp":"2020-10-13T19:49:36Z"}"#;
        assert_eq!(d(cloudflare).format_name(), "cloudflare");
        let gcp = r#"{"httpRequest":{"status":200},"timestamp":"2020-06-08T23:41:30Z"}"#;
        assert_eq!(d(gcp).format_name(), "gcp_lb");
        assert_eq!(d(""), Detected::Unknown);
    }
}
