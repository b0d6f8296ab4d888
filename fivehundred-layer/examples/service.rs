//! An axum service behind `SafeErrorsLayer` that fails on purpose, writing the two logs
//! `fivehundred diagnose` ties together: `access.log` (nginx's `combined` format, one line per
//! request) and `error.log` (the layer's lines, through `tracing`).
//!
//! `cargo run -p fivehundred-layer --example service -- --listen 127.0.0.1:3000 --logs /tmp/svc`
//! then `fivehundred diagnose /tmp/svc/access.log /tmp/svc/error.log`.
//!
//! Routes: `/` answers, `/panic` panics, `/error` returns an `Err` whose text axum would send
//! to the client, `/busy` answers a 503 with internal detail, `/powered` sets version headers.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fivehundred_layer::{ClientIp, SafeErrorsLayer};

/// An error whose response, without the layer, would show the client what went wrong inside.
struct DbError(String);

impl IntoResponse for DbError {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, self.0).into_response()
    }
}

async fn error() -> Result<String, DbError> {
    Err(DbError(
        "database: connection refused by db.internal:5432 (user=shop password=hunter2)".into(),
    ))
}

async fn panic() -> &'static str {
    panic!("order 42: cannot decrypt card with key sk_live_secret")
}

async fn busy() -> (StatusCode, &'static str) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "queue full: 812 jobs waiting on worker-3",
    )
}

async fn powered() -> impl IntoResponse {
    (
        [
            (header::SERVER, "Example/1.2.3"),
            (header::HeaderName::from_static("x-powered-by"), "axum 0.8"),
        ],
        "fine",
    )
}

/// Writes one nginx `combined` line per request (after the answer, as nginx does) and tells
/// the layer the client's address for its error line.
async fn access_log(
    State(log): State<Arc<Mutex<File>>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    mut req: Request,
    next: Next,
) -> Response {
    req.extensions_mut().insert(ClientIp(addr.ip()));
    let request = format!(
        "{} {} {:?}",
        req.method(),
        req.uri().path_and_query().map_or("/", |p| p.as_str()),
        req.version()
    );
    let (referer, agent) = (
        header_text(&req, header::REFERER),
        header_text(&req, header::USER_AGENT),
    );
    let resp = next.run(req).await;
    // hyper adds `Content-Length` later; the body knows its size when it is not streamed.
    let bytes = axum::body::HttpBody::size_hint(resp.body())
        .exact()
        .unwrap_or(0);
    let time = jiff::ZonedDateTime::now().strftime("%d/%b/%Y:%H:%M:%S %z");
    let line = format!(
        "{} - - [{time}] \"{request}\" {} {bytes} \"{referer}\" \"{agent}\"\n",
        addr.ip(),
        resp.status().as_u16()
    );
    if let Ok(mut file) = log.lock() {
        // A full disk must not turn a good answer into a failure.
        let _ = file.write_all(line.as_bytes());
    }
    resp
}

/// A request header as a quoted log field.
fn header_text(req: &Request, name: header::HeaderName) -> String {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .replace('"', "%22")
}

fn open_log(path: PathBuf) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut listen = "127.0.0.1:3000".to_owned();
    let mut logs = PathBuf::from(".");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--listen", Some(v)) => listen = v,
            ("--logs", Some(v)) => logs = PathBuf::from(v),
            _ => {
                eprintln!("usage: service [--listen ADDR] [--logs DIR]");
                std::process::exit(2);
            }
        }
    }
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    serve(listener, &logs).await
}

/// The service on `listener`, writing `access.log` and `error.log` in `logs`. The tests run
/// it in-process (`cargo test` builds examples only as tests, not as programs to start).
pub async fn serve(listener: tokio::net::TcpListener, logs: &Path) -> std::io::Result<()> {
    // The layer's lines are complete nginx error-log lines: the subscriber adds nothing.
    tracing_subscriber::fmt()
        .with_writer(Mutex::new(open_log(logs.join("error.log"))?))
        .with_ansi(false)
        .without_time()
        .with_level(false)
        .with_target(false)
        .with_max_level(tracing::Level::ERROR)
        .try_init()
        .map_err(std::io::Error::other)?;
    // Panics' backtraces go into the layer's log lines.
    fivehundred_layer::capture_panic_backtraces();
    let access = Arc::new(Mutex::new(open_log(logs.join("access.log"))?));

    let app = axum::Router::new()
        .route("/", get(|| async { "hello" }))
        .route("/panic", get(panic))
        .route("/error", get(error))
        .route("/busy", get(busy))
        .route("/powered", get(powered))
        .layer(SafeErrorsLayer::new().server_name("example"))
        .layer(middleware::from_fn_with_state(access, access_log));

    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}
