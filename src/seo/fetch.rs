//! `seo --fetch-ranges DIR`: downloads the IP ranges each crawler's operator publishes (the
//! `ranges` of `crawlers.toml`) into `DIR/NAME.json`, which `--crawler-ranges DIR` reads.
//!
//! A file is written only once it parses as ranges, so a failed or truncated download never
//! replaces a good file with a bad one (the new one goes to a temporary name first).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::crawlers::{Ranges, builtin_table};

/// How long one download may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The largest file taken: the published ones are a few hundred KiB at most.
const MAX_BYTES: usize = 16 << 20;

/// One crawler's file, fetched or not.
#[derive(Debug)]
pub struct Fetched {
    pub crawler: String,
    pub url: String,
    /// Where it was written, with how many merged spans it holds; or why it was not.
    pub result: Result<(PathBuf, usize), String>,
}

/// Why nothing could be fetched at all.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0}: {1}")]
    Dir(String, std::io::Error),
    #[error("the HTTP client: {0}")]
    Client(String),
}

/// Downloads every published range file into `dir` (created if missing). `base`, for tests
/// only, replaces each URL's scheme and host (`http://127.0.0.1:PORT`), keeping its path.
pub async fn fetch_all(dir: &Path, base: Option<&str>) -> Result<Vec<Fetched>, FetchError> {
    std::fs::create_dir_all(dir).map_err(|e| FetchError::Dir(dir.display().to_string(), e))?;
    let client = crate::tls::client_builder()
        .timeout(TIMEOUT)
        .user_agent(concat!("fivehundred/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| FetchError::Client(e.to_string()))?;
    let mut fetched = Vec::new();
    for b in builtin_table() {
        let Some(published) = &b.ranges else {
            continue;
        };
        let url = rebase(published, base);
        let result = fetch_one(&client, &url, &dir.join(format!("{}.json", b.name))).await;
        fetched.push(Fetched {
            crawler: b.name.clone(),
            url,
            result,
        });
    }
    Ok(fetched)
}

/// `url` with its scheme and host replaced by `base`, if given.
fn rebase(url: &str, base: Option<&str>) -> String {
    let Some(base) = base else {
        return url.to_owned();
    };
    let path_at = url
        .find("://")
        .and_then(|i| url[i + 3..].find('/').map(|j| i + 3 + j))
        .unwrap_or(url.len());
    format!("{}{}", base.trim_end_matches('/'), &url[path_at..])
}

/// GETs `url`, checks it holds ranges, and writes it to `file`.
async fn fetch_one(
    client: &reqwest::Client,
    url: &str,
    file: &Path,
) -> Result<(PathBuf, usize), String> {
    let answer = client.get(url).send().await.map_err(|e| e.to_string())?;
    let status = answer.status();
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    let body = answer.bytes().await.map_err(|e| e.to_string())?;
    if body.len() > MAX_BYTES {
        return Err(format!("over {MAX_BYTES} bytes"));
    }
    let ranges = Ranges::from_published(&body)?;
    let partial = file.with_extension("json.part");
    std::fs::write(&partial, &body)
        .and_then(|()| std::fs::rename(&partial, file))
        .map_err(|e| format!("{}: {e}", file.display()))?;
    Ok((file.to_owned(), ranges.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebasing_keeps_the_path() {
        let url = "https://developers.google.com/static/crawling/ipranges/common-crawlers.json";
        assert_eq!(rebase(url, None), url);
        assert_eq!(
            rebase(url, Some("http://127.0.0.1:8080/")),
            "http://127.0.0.1:8080/static/crawling/ipranges/common-crawlers.json"
        );
        assert_eq!(
            rebase("https://openai.com/gptbot.json", Some("http://h:1")),
            "http://h:1/gptbot.json"
        );
    }
}
