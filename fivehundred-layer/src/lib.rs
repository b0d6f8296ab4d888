//! A tower [`Layer`] that keeps a service's failures out of its answers and puts them in its log.
//!
//! A panic in a handler, an `Err` from the inner service, or a 5xx answer the service built
//! itself (axum turns a handler's `Err` into one, often with the error's text as the body) all
//! reach the client as the same generic page: HTML or JSON by `Accept`, with no detail of the
//! error and no `Server`/`X-Powered-By` headers, carrying only an incident id (also in the
//! `X-Incident-Id` header) that someone can quote. The details (panic payload or error chain,
//! the request line, the id) go through [`tracing`] as one line in nginx's error-log shape, so
//! `fivehundred diagnose` reads the log the service writes as an error log and ties each 500
//! in the access log to its line by the request path.
//!
//! ```no_run
//! # async fn f(listener: tokio::net::TcpListener) {
//! let app = axum::Router::new()
//!     .route("/", axum::routing::get(|| async { "hello" }))
//!     .layer(fivehundred_layer::SafeErrorsLayer::new());
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::net::IpAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::poll_fn;
use http::header::{self, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Version};
use http_body::Body;
use http_body_util::{BodyExt, Either, Full, Limited};
use tower_layer::Layer;
use tower_service::Service;

type BoxError = Box<dyn StdError + Send + Sync>;

/// The response header that carries the incident id.
pub const INCIDENT_HEADER: HeaderName = HeaderName::from_static("x-incident-id");

/// The `tracing` target of the error lines, so a subscriber can send them (and only them) to
/// the error log that `fivehundred diagnose` reads.
pub const LOG_TARGET: &str = "fivehundred_layer";

/// How much of an inner 5xx body is read into the log: enough for an error message, bounded
/// so a huge body cannot make logging expensive.
const BODY_LOG_LIMIT: usize = 4096;

thread_local! {
    /// The backtrace of this thread's latest panic, kept by [`capture_panic_backtraces`]'s
    /// hook. The panic the layer catches is the latest on the thread that catches it: the
    /// hook runs in the panicking thread, which unwinds into the layer's `catch_unwind`.
    static LAST_BACKTRACE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Installs a panic hook (running the previous one too) that keeps each panic's backtrace
/// for the layer's log line. A backtrace exists only while the panic happens, so it must be
/// taken by a hook; the hook is process-wide, so the service opts in rather than the layer
/// installing it behind its back.
pub fn capture_panic_backtraces() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let trace = std::backtrace::Backtrace::force_capture().to_string();
        LAST_BACKTRACE.with(|b| *b.borrow_mut() = Some(trace));
        previous(info);
    }));
}

/// The answer body: the inner service's own, or the generic page.
pub type SafeBody<B> = Either<B, Full<Bytes>>;

/// The client's address, put into the request extensions by whoever knows it (hyper does not
/// tell services), so the log line can name it as nginx does; `-` without it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

const DEFAULT_HTML: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>{status} {reason}</title></head>\n<body><h1>{reason}</h1>\n\
<p>Something went wrong on our side. Please try again later.</p>\n\
<p>If you contact us, quote incident <code>{incident}</code>.</p></body></html>\n";

const DEFAULT_JSON: &str =
    "{\"status\":{status},\"error\":\"{reason}\",\"incident\":\"{incident}\"}";

/// What the generic answer looks like and how the log names this server.
#[derive(Clone, Debug)]
struct Config {
    html: String,
    json: String,
    retry_after: Duration,
    server_name: String,
}

/// The layer: wrap a service (an axum `Router`, any tower service over `http`) with
/// [`SafeErrors`].
#[derive(Clone, Debug)]
pub struct SafeErrorsLayer {
    config: Arc<Config>,
}

impl Default for SafeErrorsLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl SafeErrorsLayer {
    /// The default pages, `Retry-After: 60` on 503, server name `_` (nginx's catch-all).
    pub fn new() -> Self {
        SafeErrorsLayer {
            config: Arc::new(Config {
                html: DEFAULT_HTML.to_owned(),
                json: DEFAULT_JSON.to_owned(),
                retry_after: Duration::from_secs(60),
                server_name: "_".to_owned(),
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(Arc::make_mut(&mut self.config));
        self
    }

    /// The HTML page; `{status}`, `{reason}` and `{incident}` are replaced. The page is the
    /// same for every failure, so it cannot leak one.
    pub fn html_page(self, page: impl Into<String>) -> Self {
        let page = page.into();
        self.edit(|c| c.html = page)
    }

    /// The JSON body for clients that ask for JSON, with the same placeholders.
    pub fn json_page(self, page: impl Into<String>) -> Self {
        let page = page.into();
        self.edit(|c| c.json = page)
    }

    /// The `Retry-After` sent with a 503 when the service gave none: a 503 says "later", and
    /// clients (and crawlers) wait this long before asking again.
    pub fn retry_after(self, delay: Duration) -> Self {
        self.edit(|c| c.retry_after = delay)
    }

    /// The `server:` field of the log lines (nginx's `server_name`); characters that would
    /// break the line's fields are replaced by `_`.
    pub fn server_name(self, name: &str) -> Self {
        let name = log_token(name);
        self.edit(|c| c.server_name = name)
    }
}

impl<S> Layer<S> for SafeErrorsLayer {
    type Service = SafeErrors<S>;

    fn layer(&self, inner: S) -> SafeErrors<S> {
        SafeErrors {
            inner,
            config: self.config.clone(),
        }
    }
}

/// The service [`SafeErrorsLayer`] builds. It never fails: every failure becomes the page.
#[derive(Clone, Debug)]
pub struct SafeErrors<S> {
    inner: S,
    config: Arc<Config>,
}

/// What went wrong, for the log line.
struct Failure {
    status: StatusCode,
    message: String,
    retry_after: Option<HeaderValue>,
}

/// The request as the log line names it, taken before the request moves into the service.
struct RequestInfo {
    request: String,
    host: String,
    client: String,
    json: bool,
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for SafeErrors<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    ReqB: Send + 'static,
    ResB: Body<Data = Bytes> + Send + 'static,
    ResB::Error: Into<BoxError>,
{
    type Response = Response<SafeBody<ResB>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    /// Always ready: the inner service's readiness is awaited inside the call, so that a
    /// readiness error (or panic) is answered with the page like any other failure.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        // The clone that was not driven to readiness stays here; the one moved into the future
        // is driven there (tower's usual swap, without requiring readiness up front).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = self.config.clone();
        let info = RequestInfo::of(&req);
        Box::pin(async move {
            let outcome = AssertUnwindSafe(async move {
                poll_fn(|cx| inner.poll_ready(cx))
                    .await
                    .map_err(Into::into)?;
                inner.call(req).await.map_err(Into::<BoxError>::into)
            })
            .catch_unwind()
            .await;
            let failure = match outcome {
                Ok(Ok(mut resp)) if !resp.status().is_server_error() => {
                    strip_version_headers(resp.headers_mut());
                    return Ok(resp.map(Either::Left));
                }
                Ok(Ok(resp)) => Failure::from_response(resp).await,
                Ok(Err(e)) => Failure {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    message: format!("service error: {}", error_chain(&*e)),
                    retry_after: None,
                },
                Err(payload) => {
                    let mut message = format!("panic: {}", panic_text(&*payload));
                    if let Some(trace) = LAST_BACKTRACE.with(|b| b.borrow_mut().take()) {
                        message.push_str(" backtrace: ");
                        message.push_str(&compact_backtrace(&trace));
                    }
                    Failure {
                        status: StatusCode::INTERNAL_SERVER_ERROR,
                        message,
                        retry_after: None,
                    }
                }
            };
            Ok(answer(&config, &info, failure))
        })
    }
}

impl Failure {
    /// The inner service's own 5xx: its body (bounded) is the error text for the log.
    async fn from_response<B>(resp: Response<B>) -> Failure
    where
        B: Body<Data = Bytes>,
        B::Error: Into<BoxError>,
    {
        let status = resp.status();
        let retry_after = resp.headers().get(header::RETRY_AFTER).cloned();
        let body = match Limited::new(resp.into_body(), BODY_LOG_LIMIT)
            .collect()
            .await
        {
            Ok(collected) => {
                let bytes = collected.to_bytes();
                if bytes.is_empty() {
                    "an empty body".to_owned()
                } else {
                    format!("\"{}\"", String::from_utf8_lossy(&bytes).trim())
                }
            }
            Err(e) => format!("a body not read ({e})"),
        };
        Failure {
            status,
            message: format!("service answered {} with {body}", status.as_u16()),
            retry_after,
        }
    }
}

impl RequestInfo {
    fn of<B>(req: &Request<B>) -> RequestInfo {
        let target = req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let request = format!(
            "{} {} {}",
            req.method(),
            escape_target(&target),
            version_text(req.version())
        );
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| req.uri().authority().map(|a| a.as_str()))
            .map_or_else(|| "-".to_owned(), log_token);
        let client = req
            .extensions()
            .get::<ClientIp>()
            .map_or_else(|| "-".to_owned(), |c| c.0.to_string());
        let json = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|a| a.to_str().ok())
            .is_some_and(wants_json);
        RequestInfo {
            request,
            host,
            client,
            json,
        }
    }
}

/// Logs the failure and builds the generic answer.
fn answer<B>(config: &Config, info: &RequestInfo, failure: Failure) -> Response<SafeBody<B>> {
    let (n, id) = next_incident();
    let time = jiff::ZonedDateTime::now()
        .strftime("%Y/%m/%d %H:%M:%S")
        .to_string();
    let line = format!(
        "{time} [error] {pid}#0: *{n} {message} [incident {id}], client: {client}, server: {server}, request: \"{request}\", host: \"{host}\"",
        pid = std::process::id(),
        message = one_line(&failure.message),
        client = info.client,
        server = config.server_name,
        request = info.request,
        host = info.host,
    );
    tracing::error!(target: LOG_TARGET, "{line}");

    let status = failure.status;
    let reason = status.canonical_reason().unwrap_or("Server Error");
    let (template, content_type) = if info.json {
        (&config.json, "application/json")
    } else {
        (&config.html, "text/html; charset=utf-8")
    };
    let body = template
        .replace("{status}", status.as_str())
        .replace("{reason}", reason)
        .replace("{incident}", &id);
    let mut resp = Response::new(Either::Right(Full::new(Bytes::from(body.clone()))));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert(INCIDENT_HEADER, value);
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        let retry = failure
            .retry_after
            .unwrap_or_else(|| HeaderValue::from(config.retry_after.as_secs()));
        headers.insert(header::RETRY_AFTER, retry);
    }
    resp
}

/// Headers that tell an attacker which software (and version) to aim at.
fn strip_version_headers(headers: &mut http::HeaderMap) {
    headers.remove(header::SERVER);
    headers.remove("x-powered-by");
}

/// Whether the client asked for JSON before HTML: the first of them listed in `Accept` wins
/// (q-values are not weighed; browsers list `text/html` first, API clients JSON).
fn wants_json(accept: &str) -> bool {
    for item in accept.split(',') {
        let media = item.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case("text/html")
            || media.eq_ignore_ascii_case("application/xhtml+xml")
        {
            return false;
        }
        if media.eq_ignore_ascii_case("application/json")
            || media.to_ascii_lowercase().ends_with("+json")
        {
            return true;
        }
    }
    false
}

/// A process-unique, time-ordered id: milliseconds, pid and a counter, so ids from restarts
/// and from several processes on one host do not collide. The counter is also the log line's
/// `*n`.
fn next_incident() -> (u64, String) {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    (n, format!("{ms:011x}-{:x}-{n:04x}", std::process::id()))
}

fn version_text(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// The request target as a quoted log field: quotes and controls would end the field early.
fn escape_target(target: &str) -> String {
    let mut out = String::with_capacity(target.len());
    for c in target.chars() {
        match c {
            '"' => out.push_str("%22"),
            c if c.is_control() => out.push_str(&format!("%{:02X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// An unquoted (or host) log field: only characters that cannot end a field or a line.
fn log_token(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_:[]".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if t.is_empty() { "-".to_owned() } else { t }
}

/// The message on one line: the error log is read line by line, and a newline in a panic
/// message would start what looks like a new record.
fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push(' '),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// Frames of a panic's backtrace kept in the log line: the handler and what called it, not
/// the whole executor stack (a debug build's full trace is tens of kilobytes).
const BACKTRACE_FRAMES: usize = 8;

/// A backtrace as `frame (file:line) <- caller (file:line) <- …`, from the frame that
/// panicked: the frames above it are the hook's and the panic machinery's.
fn compact_backtrace(trace: &str) -> String {
    let mut frames: Vec<String> = Vec::new();
    for line in trace.lines().map(str::trim) {
        if let Some(at) = line.strip_prefix("at ") {
            if let Some(last) = frames.last_mut() {
                last.push_str(&format!(" ({at})"));
            }
        } else if let Some((_, name)) = line.split_once(": ") {
            frames.push(name.to_owned());
        }
    }
    let start = frames
        .iter()
        .rposition(|f| f.starts_with("core::panicking::") || f.contains("rust_begin_unwind"))
        .map_or(0, |i| i + 1);
    frames
        .iter()
        .skip(start)
        .take(BACKTRACE_FRAMES)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" <- ")
}

/// The error and its sources, as `outer: inner: root`.
fn error_chain(e: &(dyn StdError + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A panic's message: `panic!` payloads are `&str` or `String`; others have no text.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a payload that is not a string)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_picks_the_first_of_json_and_html() {
        assert!(wants_json("application/json"));
        assert!(wants_json("application/problem+json, text/html"));
        assert!(!wants_json("text/html,application/json"));
        assert!(!wants_json("*/*"));
    }

    #[test]
    fn fields_cannot_break_the_line() {
        assert_eq!(one_line("a\nb\r"), "a\\nb\\r");
        assert_eq!(escape_target("/a\"b"), "/a%22b");
        assert_eq!(log_token("ex ample.com, x"), "ex_ample.com__x");
    }

    #[test]
    fn backtraces_start_at_the_panic() {
        let trace = "   0: fivehundred_layer::capture_panic_backtraces::{{closure}}
             at ./src/lib.rs:69:21
   1: core::panicking::panic_fmt
             at /rustc/x/library/core/src/panicking.rs:80:14
   2: service::panic::{{closure}}
             at ./examples/service.rs:40:5
   3: tokio::runtime::task::poll
";
        assert_eq!(
            compact_backtrace(trace),
            "service::panic::{{closure}} (./examples/service.rs:40:5) <- tokio::runtime::task::poll"
        );
    }

    #[test]
    fn error_chain_names_every_source() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("saving the order")
            }
        }
        impl StdError for Outer {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::other("disk full"));
        assert_eq!(error_chain(&e), "saving the order: disk full");
    }

    /// An inner service that fails in the ways axum's routers cannot: an `Err` with a source,
    /// a panic in `call` itself, or a 503 with its own `Retry-After`.
    #[derive(Clone)]
    enum Failing {
        Err,
        PanicInCall,
        Busy,
    }

    impl Service<Request<()>> for Failing {
        type Response = Response<Full<Bytes>>;
        type Error = std::io::Error;
        type Future = std::future::Ready<Result<Self::Response, std::io::Error>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), std::io::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _req: Request<()>) -> Self::Future {
            match self {
                Failing::Err => std::future::ready(Err(std::io::Error::other("pool exhausted"))),
                Failing::PanicInCall => panic!("before any future"),
                Failing::Busy => {
                    let mut resp = Response::new(Full::new(Bytes::from_static(b"detail")));
                    *resp.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                    resp.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                    std::future::ready(Ok(resp))
                }
            }
        }
    }

    async fn answer_of(layer: &SafeErrorsLayer, inner: Failing) -> (Response<()>, String) {
        let req = Request::builder()
            .uri("/x")
            .header(header::ACCEPT, "application/json")
            .body(())
            .unwrap();
        let resp = layer.layer(inner).call(req).await.unwrap();
        let (parts, body) = resp.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (
            Response::from_parts(parts, ()),
            String::from_utf8(bytes.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn errors_and_panics_in_call_answer_the_configured_page() {
        let layer = SafeErrorsLayer::new().json_page("{\"id\":\"{incident}\",\"s\":{status}}");
        for inner in [Failing::Err, Failing::PanicInCall] {
            let (resp, body) = answer_of(&layer, inner).await;
            assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
            let id = resp.headers()[INCIDENT_HEADER].to_str().unwrap();
            assert_eq!(body, format!("{{\"id\":\"{id}\",\"s\":500}}"));
            assert_eq!(
                resp.headers()[header::CONTENT_LENGTH],
                body.len().to_string()
            );
            assert!(resp.headers().get(header::RETRY_AFTER).is_none());
        }
    }

    #[tokio::test]
    async fn a_503_keeps_the_services_retry_after_or_gets_the_configured_one() {
        let layer = SafeErrorsLayer::new().retry_after(Duration::from_secs(30));
        let (resp, body) = answer_of(&layer, Failing::Busy).await;
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "5");
        assert!(!body.contains("detail"));
        let config = Config {
            html: String::new(),
            json: String::new(),
            retry_after: Duration::from_secs(30),
            server_name: "_".into(),
        };
        let info = RequestInfo {
            request: "GET / HTTP/1.1".into(),
            host: "-".into(),
            client: "-".into(),
            json: false,
        };
        let failure = Failure {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "down".into(),
            retry_after: None,
        };
        let resp = answer::<Full<Bytes>>(&config, &info, failure);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "30");
    }
}
