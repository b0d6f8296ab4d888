//! `watch`'s HTTP side: `/metrics` for Prometheus, `/api/incidents`, `/api/history` and
//! `/api/overview` as JSON, `/healthz` for load balancers and supervisors, and `/` a
//! dashboard page for people.
//!
//! The pipeline owns the truth and hands it over as a [`Snapshot`] through a [`Shared`]
//! handle after each batch; requests only read the newest snapshot, so a slow client never
//! holds the pipeline up. Every answer carries the same strict security headers (a CSP that
//! allows no script, `nosniff`, `no-referrer`, `no-store`) and no `Server`; anything that
//! is not a normal answer (404, 405, a bad query, an internal error) is a small generic page
//! that tells nothing about the inside, and internal errors go to stderr instead.
//!
//! Against DNS rebinding (a web page whose name is made to resolve to 127.0.0.1 reading the
//! dashboard), a request must name this server in its `Host`: the listen address, `localhost`
//! on a loopback listener, or a name allowed with `--allow-host`; any other gets a 421.
//! Against idle and slow clients, connections keep the limits of [`guard`].
//!
//! ```no_run
//! # async fn run() -> Result<(), fivehundred::watch::http::HttpError> {
//! use fivehundred::watch::http::{DEFAULT_MAX_AGE, Shared, Snapshot, serve};
//! let shared = Shared::new(Snapshot::new(jiff::Timestamp::now()), DEFAULT_MAX_AGE);
//! let _for_pipeline = shared.clone(); // which calls `publish(snapshot)` after each batch
//! serve("127.0.0.1:9500".parse().unwrap(), shared).await
//! # }
//! ```

pub mod api;
mod dashboard;
pub mod guard;
mod metrics;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state, map_response};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;
use tokio::net::TcpListener;

use super::detect::Alert;
use super::live::{Counters, History, IncidentState, LiveIncident};
use super::pipeline::kind_name;
use super::store::Overview;
use crate::formats::Stamp;
use crate::scan::InputReport;
use crate::scope::Scope;
use guard::{GuardedListener, Limits};

/// How far back the dashboard's chart and `/api/history` go, from the newest minute.
pub const CHART_MS: i64 = 24 * 3_600_000;

/// How many of the most failing paths the dashboard and `/api/overview` show.
pub const TOP_PATHS: usize = 10;

/// How long a snapshot stays fresh for `/healthz`: the pipeline is to publish at every tick
/// (about once a second, even with no new line), so 15 s without a publication means it is
/// stuck.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(15);

/// What `watch` knows at one moment, as the pipeline publishes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub counters: Counters,
    /// Every open incident, and the resolved ones worth showing; any order (answers sort
    /// them newest first, by id).
    pub incidents: Vec<LiveIncident>,
    /// The alerts firing now.
    pub firing: Vec<FiringAlert>,
    /// The files followed.
    pub files: Vec<FollowedFile>,
    /// The time of the newest line read, in its own offset.
    pub newest_line: Option<Stamp>,
    /// The by-minute history of the last [`CHART_MS`] (as stored: it survives restarts),
    /// for the chart and `/api/history`.
    pub history: History,
    /// The 5xx by path, host and crawler, and the span of the lines read (as stored).
    pub overview: Overview,
    /// When this `watch` process started.
    pub started: jiff::Timestamp,
    /// Whether the state store takes every write (false while what it cannot take, on a full
    /// disk say, is held in memory).
    pub store_ok: bool,
}

impl Snapshot {
    /// An empty snapshot of a process started at `started`.
    pub fn new(started: jiff::Timestamp) -> Snapshot {
        Snapshot {
            counters: Counters::default(),
            incidents: Vec::new(),
            firing: Vec::new(),
            files: Vec::new(),
            newest_line: None,
            history: History::default(),
            overview: Overview::default(),
            started,
            store_ok: true,
        }
    }

    /// The incidents in `state` (all when `None`), newest first, at most `limit`.
    fn newest_incidents(
        &self,
        state: Option<IncidentState>,
        limit: Option<usize>,
    ) -> Vec<&LiveIncident> {
        self.newest_incidents_in(state, &Scope::default(), limit)
    }

    /// [`Snapshot::newest_incidents`] of those in `scope`.
    fn newest_incidents_in(
        &self,
        state: Option<IncidentState>,
        scope: &Scope,
        limit: Option<usize>,
    ) -> Vec<&LiveIncident> {
        let mut out: Vec<&LiveIncident> = self
            .incidents
            .iter()
            .filter(|i| state.is_none_or(|s| i.state == s) && in_scope(i, scope))
            .collect();
        out.sort_by_key(|i| std::cmp::Reverse(i.id));
        out.truncate(limit.unwrap_or(usize::MAX));
        out
    }
}

/// Whether an incident is in `scope`, by its host, its paths and its statuses.
fn in_scope(i: &LiveIncident, scope: &Scope) -> bool {
    let statuses: Vec<u16> = i.status.keys().filter_map(|s| s.parse().ok()).collect();
    scope.admits_incident(
        i.host.as_deref(),
        i.paths.iter().map(String::as_str),
        &statuses,
    )
}

/// An alert firing now, for the dashboard and `fivehundred_alert_firing`.
#[derive(Clone, Debug, PartialEq)]
pub struct FiringAlert {
    pub alert: String,
    pub severity: String,
    /// The rule that fired, where the alert has several (`spike`, `slo_burn`).
    pub rule: Option<String>,
    pub summary: String,
    /// The log time it fired at.
    pub since: Stamp,
}

impl From<&Alert> for FiringAlert {
    /// The firing state of a detector alert (its `at` is when it started firing).
    fn from(a: &Alert) -> FiringAlert {
        FiringAlert {
            alert: a.alert.to_string(),
            severity: a.severity.to_string(),
            rule: a.rule.map(str::to_string),
            summary: a.summary.clone(),
            since: a.at,
        }
    }
}

/// One file followed, as the dashboard lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct FollowedFile {
    pub path: String,
    /// `access`, `error`, `php_fpm`, `php_error` or `unknown` (as in `Counters::lines`).
    pub kind: String,
    /// The detected format (`combined`, `nginx_error`, …).
    pub format: String,
    pub lines: u64,
    pub unparsed: u64,
    /// Bytes read so far.
    pub offset: u64,
}

impl FollowedFile {
    /// The pipeline's report on a file (`Pipeline::inputs`) with the tailer's offset in it.
    pub fn new(input: &InputReport, offset: u64) -> FollowedFile {
        FollowedFile {
            path: input.path.clone(),
            kind: kind_name(input.kind).to_string(),
            format: input.format.to_string(),
            lines: input.lines,
            unparsed: input.unparsed,
            offset,
        }
    }
}

/// The handle the pipeline publishes through and the server reads from; clones share it.
#[derive(Clone, Debug)]
pub struct Shared {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    current: RwLock<Published>,
    max_age: Duration,
}

/// The newest snapshot and when it came: an `Arc`, so a request holds the lock only to clone
/// the pointer.
#[derive(Debug)]
struct Published {
    snapshot: Arc<Snapshot>,
    at: Instant,
}

impl Shared {
    /// A handle holding `snapshot`; `/healthz` fails once no publication came for `max_age`.
    pub fn new(snapshot: Snapshot, max_age: Duration) -> Shared {
        Shared {
            inner: Arc::new(Inner {
                current: RwLock::new(Published {
                    snapshot: Arc::new(snapshot),
                    at: Instant::now(),
                }),
                max_age,
            }),
        }
    }

    /// Replaces the snapshot (and marks it fresh).
    pub fn publish(&self, snapshot: Snapshot) {
        self.update(|s| *s = snapshot);
    }

    /// Changes the snapshot in place (and marks it fresh); it is copied only while a request
    /// still reads the previous one. Publishing an unchanged snapshot (`update(|_| ())`) tells
    /// `/healthz` the pipeline is alive.
    pub fn update(&self, f: impl FnOnce(&mut Snapshot)) {
        // See `read` on poisoning.
        let mut current = self
            .inner
            .current
            .write()
            .unwrap_or_else(|e| e.into_inner());
        f(Arc::make_mut(&mut current.snapshot));
        current.at = Instant::now();
    }

    /// The newest snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.read().snapshot)
    }

    /// Whether a snapshot was published within `max_age` before `now`.
    fn fresh_at(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.read().at) <= self.inner.max_age
    }

    /// The published state, for reading. A lock poisoned by a panicking `update` still holds
    /// a whole snapshot (at worst partly updated, until the next publication replaces it):
    /// serving it beats failing every request.
    fn read(&self) -> RwLockReadGuard<'_, Published> {
        self.inner.current.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("the HTTP server on {addr} stopped: {source}")]
    Serve { addr: SocketAddr, source: io::Error },
}

/// How the server treats its clients; [`Default`] is what `watch` uses.
#[derive(Clone, Debug, Default)]
pub struct HttpOptions {
    /// Host names requests may name besides the listen address (`--allow-host`).
    pub allow_hosts: Vec<String>,
    /// Timeouts and the connection cap.
    pub limits: Limits,
    /// The incidents the dashboard and `/api/incidents` show when the query names no
    /// `host`, `path` or `status` (`watch --host/--path/--status`).
    pub scope: Arc<Scope>,
}

/// A bound, not yet serving, server: binding first lets the caller report a taken port
/// before anything else starts, and learn the port when it asked for port 0.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    shared: Shared,
    options: HttpOptions,
}

impl Server {
    /// Binds `listen` (exactly that address: the CLI's default is loopback only), with the
    /// default [`HttpOptions`].
    pub async fn bind(listen: SocketAddr, shared: Shared) -> Result<Server, HttpError> {
        Server::bind_with(listen, shared, HttpOptions::default()).await
    }

    /// Binds `listen`, to serve with `options`.
    pub async fn bind_with(
        listen: SocketAddr,
        shared: Shared,
        options: HttpOptions,
    ) -> Result<Server, HttpError> {
        let bind_error = |source| HttpError::Bind {
            addr: listen,
            source,
        };
        let listener = TcpListener::bind(listen).await.map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        Ok(Server {
            listener,
            addr,
            shared,
            options,
        })
    }

    /// The address bound (with the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the runtime stops; returns only on a fatal error.
    pub async fn run(self) -> Result<(), HttpError> {
        let addr = self.addr;
        let hosts = AllowedHosts::new(addr, &self.options.allow_hosts);
        let listener = GuardedListener::new(self.listener, self.options.limits);
        let scope = Arc::clone(&self.options.scope);
        axum::serve(listener, router(self.shared, hosts, scope))
            .await
            .map_err(|source| HttpError::Serve { addr, source })
    }
}

/// Binds `listen` and serves `shared` on it, in the caller's tokio runtime.
pub async fn serve(listen: SocketAddr, shared: Shared) -> Result<(), HttpError> {
    Server::bind(listen, shared).await?.run().await
}

/// The routes, for requests naming one of `hosts`, with the security headers and generic
/// error pages on every answer; `scope` is the incidents shown when a query names none.
pub fn router(shared: Shared, hosts: AllowedHosts, scope: Arc<Scope>) -> Router {
    Router::new()
        .route("/", get(dashboard_page))
        .route("/metrics", get(metrics_text))
        .route("/api/incidents", get(incidents_json))
        .route("/api/history", get(history_json))
        .route("/api/overview", get(overview_json))
        .route("/healthz", get(healthz))
        .fallback(|| async { StatusCode::NOT_FOUND })
        .with_state(shared)
        .layer(Extension(scope))
        .layer(from_fn_with_state(hosts, check_host))
        .layer(map_response(harden))
}

/// The `Host` values a server listening on one address answers to.
#[derive(Clone, Debug)]
pub struct AllowedHosts {
    listen: SocketAddr,
    /// Lowercase, without a trailing dot.
    names: Arc<[String]>,
}

impl AllowedHosts {
    /// The listen address (any IP address of this machine when it is the unspecified one;
    /// `localhost` too when it is loopback or unspecified), with its port or none, and
    /// `names` with any port.
    pub fn new(listen: SocketAddr, names: &[String]) -> AllowedHosts {
        AllowedHosts {
            listen,
            names: names.iter().map(|n| normal_name(n)).collect(),
        }
    }

    /// Whether a request whose `Host` is `value` is meant for this server.
    fn allows(&self, value: &str) -> bool {
        let Some((name, port)) = split_host(value) else {
            return false;
        };
        if self.names.contains(&name) {
            return true;
        }
        if port.is_some_and(|p| p != self.listen.port()) {
            return false;
        }
        let ip = self.listen.ip();
        match name.parse::<IpAddr>() {
            // An address is no name a rebinding attack can point elsewhere.
            Ok(named) => named == ip || ip.is_unspecified(),
            Err(_) => name == "localhost" && (ip.is_loopback() || ip.is_unspecified()),
        }
    }
}

/// A host name as compared: lowercase, without the trailing dot of a fully qualified one.
fn normal_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// A `Host` value's name (brackets of an IPv6 address taken off) and port; `None` if it is
/// malformed.
fn split_host(value: &str) -> Option<(String, Option<u16>)> {
    let (name, port) = match value.strip_prefix('[') {
        Some(bracketed) => {
            let (name, rest) = bracketed.split_once(']')?;
            (name, (!rest.is_empty()).then(|| rest.strip_prefix(':')))
        }
        None => match value.split_once(':') {
            Some((name, port)) => (name, Some(Some(port))),
            None => (value, None),
        },
    };
    let port = match port {
        Some(p) => Some(p?.parse().ok()?),
        None => None,
    };
    (!name.is_empty()).then(|| (normal_name(name), port))
}

/// Answers 421 to a request whose `Host` names another server. A request without one (HTTP/1.0)
/// goes on: browsers, the only way to rebind, always send it.
async fn check_host(State(hosts): State<AllowedHosts>, request: Request, next: Next) -> Response {
    let allowed = match request.headers().get(header::HOST) {
        None => true,
        Some(value) => value.to_str().is_ok_and(|v| hosts.allows(v)),
    };
    if allowed {
        next.run(request).await
    } else {
        StatusCode::MISDIRECTED_REQUEST.into_response()
    }
}

/// The CSP forbids everything but inline styles (the dashboard's) and data: images, and
/// framing; no page of ours runs a script or loads anything.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                   frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const HTML: &str = "text/html; charset=utf-8";

/// `GET /[?host=…&path=…&status=…]`: the dashboard, its incidents those in the scope.
async fn dashboard_page(
    State(shared): State<Shared>,
    Extension(default): Extension<Arc<Scope>>,
    Query(q): Query<ScopeQuery>,
) -> Response {
    let Some(scope) = q.scope(&default) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let snapshot = shared.snapshot();
    let page = if scope.is_everything() {
        dashboard::page(&snapshot, &scope)
    } else {
        let mut shown = Snapshot::clone(&snapshot);
        shown.incidents.retain(|i| in_scope(i, &scope));
        dashboard::page(&shown, &scope)
    };
    ([(header::CONTENT_TYPE, HTML)], page).into_response()
}

/// `GET /metrics`: the Prometheus text exposition format, version 0.0.4.
async fn metrics_text(State(shared): State<Shared>) -> Response {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        metrics::render(&shared.snapshot()),
    )
        .into_response()
}

/// The query of `/api/incidents`; anything else in it is ignored, a bad value is a 400.
#[derive(Debug, Deserialize)]
struct IncidentQuery {
    state: Option<IncidentState>,
    limit: Option<usize>,
}

/// The scope of `/` and `/api/incidents`: `host`, `path` and `status` as `diagnose`'s flags
/// take them, each in place of `watch`'s own (empty: none); a bad value is a 400.
#[derive(Debug, Deserialize)]
struct ScopeQuery {
    host: Option<String>,
    path: Option<String>,
    status: Option<String>,
}

impl ScopeQuery {
    /// The scope asked for over `default`; `None` for a bad value (whose answer says no more
    /// than 400: the parser's words are for the command line).
    fn scope(&self, default: &Scope) -> Option<Scope> {
        let (host, path, status) = (&self.host, &self.path, &self.status);
        default
            .with(host.as_deref(), path.as_deref(), status.as_deref())
            .ok()
    }
}

/// `GET /api/incidents[?state=open|resolved][&limit=N][&host=…&path=…&status=…]`: newest
/// first.
async fn incidents_json(
    State(shared): State<Shared>,
    Extension(default): Extension<Arc<Scope>>,
    Query(q): Query<IncidentQuery>,
    Query(sq): Query<ScopeQuery>,
) -> Response {
    let Some(scope) = sq.scope(&default) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let snapshot = shared.snapshot();
    match serde_json::to_vec(&snapshot.newest_incidents_in(q.state, &scope, q.limit)) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => {
            eprintln!("fivehundred watch: /api/incidents: cannot serialise incidents: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `GET /api/history`: the chart's minutes, oldest first (see [`api::history`]).
async fn history_json(State(shared): State<Shared>) -> Response {
    json_answer("/api/history", &api::history(&shared.snapshot()))
}

/// `GET /api/overview`: the dashboard's overview figures and top paths (see
/// [`api::overview`]).
async fn overview_json(State(shared): State<Shared>) -> Response {
    json_answer("/api/overview", &api::overview(&shared.snapshot()))
}

/// `value` as a JSON answer (a 500, said on stderr, if it cannot be written).
fn json_answer(route: &str, value: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => {
            eprintln!("fivehundred watch: {route}: cannot serialise: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `GET /healthz`: `ok` while the pipeline keeps publishing, 503 once it went quiet.
async fn healthz(State(shared): State<Shared>) -> Response {
    if shared.fresh_at(Instant::now()) {
        (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "ok\n",
        )
            .into_response()
    } else {
        StatusCode::SERVICE_UNAVAILABLE.into_response()
    }
}

/// Adds the security headers to every answer, and turns every error answer (ours, axum's
/// rejections, 404, 405) into the generic page for its status, so none tells details.
async fn harden(response: Response) -> Response {
    let mut response = if response.status().is_client_error() || response.status().is_server_error()
    {
        generic_page(response)
    } else {
        response
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers.remove(header::SERVER);
    response
}

/// The generic page for an error answer's status; only `Allow` (of a 405) is kept.
fn generic_page(original: Response) -> Response {
    let status = original.status();
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         </head><body><h1>{title}</h1></body></html>\n"
    );
    let mut response = (status, [(header::CONTENT_TYPE, HTML)], body).into_response();
    if let Some(v) = original.headers().get(header::ALLOW) {
        response.headers_mut().insert(header::ALLOW, v.clone());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident(id: i64, state: IncidentState) -> LiveIncident {
        LiveIncident {
            id,
            state,
            cause: "fpm_down".into(),
            status: [("502".to_string(), 3)].into(),
            count: 3,
            first_seen: None,
            last_seen: None,
            paths: vec!["/".into()],
            file: None,
            line: None,
            language: None,
            exception: None,
            evidence: Vec::new(),
            fix: "start php-fpm".into(),
            title: "PHP-FPM is down".into(),
            host: None,
        }
    }

    fn ids(v: &[&LiveIncident]) -> Vec<i64> {
        v.iter().map(|i| i.id).collect()
    }

    #[test]
    fn incidents_newest_first_filtered_and_limited() {
        let mut s = Snapshot::new(jiff::Timestamp::UNIX_EPOCH);
        s.incidents = vec![
            incident(2, IncidentState::Resolved),
            incident(7, IncidentState::Open),
            incident(5, IncidentState::Open),
        ];
        assert_eq!(ids(&s.newest_incidents(None, None)), [7, 5, 2]);
        assert_eq!(
            ids(&s.newest_incidents(Some(IncidentState::Open), None)),
            [7, 5]
        );
        assert_eq!(
            ids(&s.newest_incidents(Some(IncidentState::Resolved), None)),
            [2]
        );
        assert_eq!(ids(&s.newest_incidents(None, Some(2))), [7, 5]);
        assert_eq!(ids(&s.newest_incidents(None, Some(0))), [] as [i64; 0]);
    }

    #[test]
    fn followed_file_from_the_pipelines_report() {
        let input = InputReport {
            path: "/var/log/php8.2-fpm.log".into(),
            kind: crate::formats::Kind::PhpFpm,
            format: "php_fpm",
            lines: 12,
            unparsed: 1,
            untimed: 0,
            error: None,
            envelope: None,
            hop_of: None,
        };
        let f = FollowedFile::new(&input, 4096);
        assert_eq!((f.kind.as_str(), f.format.as_str()), ("php_fpm", "php_fpm"));
        assert_eq!((f.lines, f.unparsed, f.offset), (12, 1, 4096));
        assert_eq!(f.path, input.path);
    }

    #[test]
    fn hosts_naming_this_server() {
        let names = ["Dash.Example.".to_string()];
        let loopback = AllowedHosts::new("127.0.0.1:9500".parse().unwrap(), &names);
        for ok in [
            "127.0.0.1:9500",
            "127.0.0.1",
            "localhost:9500",
            "LOCALHOST.",
            "dash.example",
            "dash.example.:443",
        ] {
            assert!(loopback.allows(ok), "{ok}");
        }
        for refused in [
            "evil.example",
            "evil.example:9500",
            "127.0.0.1:9501",
            "127.0.0.2:9500",
            "localhost:80",
            "[::1]:9500",
            "",
            ":9500",
            "127.0.0.1:x",
            "[::1",
        ] {
            assert!(!loopback.allows(refused), "{refused}");
        }
        let v6 = AllowedHosts::new("[::1]:9500".parse().unwrap(), &[]);
        assert!(v6.allows("[::1]:9500") && v6.allows("localhost"));
        assert!(!v6.allows("[::1]:1") && !v6.allows("127.0.0.1:9500"));
        let any = AllowedHosts::new("0.0.0.0:9500".parse().unwrap(), &[]);
        assert!(any.allows("192.0.2.7:9500") && any.allows("localhost:9500"));
        assert!(!any.allows("evil.example:9500"));
        let public = AllowedHosts::new("192.0.2.7:9500".parse().unwrap(), &[]);
        assert!(public.allows("192.0.2.7:9500") && !public.allows("localhost:9500"));
    }

    #[test]
    fn fresh_until_max_age_after_the_last_publication() {
        let shared = Shared::new(
            Snapshot::new(jiff::Timestamp::UNIX_EPOCH),
            Duration::from_secs(10),
        );
        let published = Instant::now();
        shared.update(|_| ());
        assert!(shared.fresh_at(published + Duration::from_secs(10)));
        assert!(!shared.fresh_at(Instant::now() + Duration::from_secs(11)));
    }

    #[test]
    fn update_does_not_change_a_snapshot_being_read() {
        let shared = Shared::new(Snapshot::new(jiff::Timestamp::UNIX_EPOCH), DEFAULT_MAX_AGE);
        let before = shared.snapshot();
        shared.update(|s| {
            s.counters.responses.insert(500, 1);
        });
        assert!(before.counters.responses.is_empty());
        assert_eq!(shared.snapshot().counters.responses[&500], 1);
    }
}
