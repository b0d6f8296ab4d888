//! The HTTP side: GET only, one request at a time at the rate asked, a timeout on each, the
//! body read up to a cap, redirects followed by hand and only on the same site (so a redirect
//! can neither take the probe to another host nor skip the rate limit).

use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap, HeaderName, HeaderValue, LOCATION};
use reqwest::{Client, Proxy, Url};
use tokio::time::Instant;

use super::plan::{Request, same_site};

/// Redirects followed per request.
const MAX_REDIRECTS: usize = 5;

/// Limits of a run.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Least time between the starts of two requests.
    pub gap: Duration,
    pub timeout: Duration,
    /// Body bytes read; the rest is left unread (leaks show at the top of a page).
    pub body_cap: usize,
}

/// What every request of a run carries and how it connects: the headers the user gave (a
/// cookie or a token, so that a page behind a login can be probed), a proxy, and whether an
/// invalid certificate is accepted. The proxy is how requests leave, never a target.
#[derive(Clone, Debug, Default)]
pub struct Session {
    /// Sent on every request, after (and so instead of) the probe's own `User-Agent`.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub proxy: Option<Url>,
    /// Accept any certificate (self-signed, expired, another host's).
    pub insecure: bool,
}

/// One answer as read.
#[derive(Debug)]
pub struct Fetched {
    pub status: u16,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Where the answer came from, after same-site redirects.
    pub url: Url,
}

/// Why a request got no answer, in words for the report.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("timed out after {0}")]
    Timeout(String),
    #[error("{0}")]
    Failed(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// Sends requests, spaced by the rate limit.
pub struct Fetcher {
    client: Client,
    limits: Limits,
    next: Option<Instant>,
}

impl Fetcher {
    pub fn new(limits: Limits, session: &Session) -> Result<Fetcher, FetchError> {
        let mut headers = HeaderMap::new();
        for (name, value) in &session.headers {
            headers.append(name.clone(), value.clone());
        }
        let mut builder = crate::tls::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(limits.timeout)
            .connect_timeout(limits.timeout)
            .user_agent(concat!("fivehundred-probe/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .tls_danger_accept_invalid_certs(session.insecure);
        if let Some(proxy) = &session.proxy {
            let proxy = Proxy::all(proxy.clone()).map_err(|e| FetchError::Client(innermost(&e)))?;
            builder = builder.proxy(proxy);
        }
        let client = builder
            .build()
            .map_err(|e| FetchError::Client(innermost(&e)))?;
        Ok(Fetcher {
            client,
            limits,
            next: None,
        })
    }

    /// GETs the request, following same-site redirects.
    pub async fn get(&mut self, req: &Request) -> Result<Fetched, FetchError> {
        let mut url = req.url.clone();
        for _ in 0..MAX_REDIRECTS {
            let answer = self.once(&url, req.accept_json).await?;
            match redirect_target(&answer) {
                Some(next) if same_site(&req.url, &next) => url = next,
                _ => return Ok(answer),
            }
        }
        self.once(&url, req.accept_json).await
    }

    /// Waits for the rate limit, then sends one GET and reads the answer.
    async fn once(&mut self, url: &Url, accept_json: bool) -> Result<Fetched, FetchError> {
        if let Some(next) = self.next {
            tokio::time::sleep_until(next).await;
        }
        self.next = Some(Instant::now() + self.limits.gap);
        let mut builder = self.client.get(url.clone());
        if accept_json {
            builder = builder.header(ACCEPT, "application/json");
        }
        let mut resp = builder.send().await.map_err(|e| self.describe(&e))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        while body.len() < self.limits.body_cap {
            match resp.chunk().await.map_err(|e| self.describe(&e))? {
                Some(chunk) => body.extend_from_slice(&chunk),
                None => break,
            }
        }
        body.truncate(self.limits.body_cap);
        Ok(Fetched {
            status,
            headers,
            body,
            url: url.clone(),
        })
    }

    fn describe(&self, e: &reqwest::Error) -> FetchError {
        if e.is_timeout() {
            FetchError::Timeout(format!("{:?}", self.limits.timeout))
        } else if e.is_connect() {
            FetchError::Failed(format!("cannot connect: {}", innermost(e)))
        } else {
            FetchError::Failed(innermost(e))
        }
    }
}

/// The Location of a 3xx answer, resolved against the URL it came from.
fn redirect_target(answer: &Fetched) -> Option<Url> {
    if !(300..400).contains(&answer.status) {
        return None;
    }
    let location = answer
        .headers
        .iter()
        .find(|(n, _)| n == LOCATION.as_str())
        .map(|(_, v)| v)?;
    answer.url.join(location).ok()
}

/// The deepest cause of an error: reqwest's own message ("error sending request") does not
/// say what went wrong, its innermost source ("Connection refused") does.
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last: &dyn std::error::Error = e;
    while let Some(s) = last.source() {
        last = s;
    }
    last.to_string()
}
