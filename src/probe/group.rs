//! One leak, one finding: the same category, place and excerpt seen on several URLs of one
//! site (a `Server: nginx/1.22.1` header on every page, one debug page behind every route)
//! is folded into a [`SiteFinding`] that lists the URLs. Excerpts are compared normalised:
//! the URL's own path cut out (a debug page names the route it failed on), digits and case
//! ignored (line numbers, ids and timings change from one request to the next).

use std::collections::HashMap;

use reqwest::Url;
use serde::Serialize;

use super::signatures::Category;
use super::{Finding, Target};

/// A leak as seen on one site: the finding of the first URL it was seen on, and every URL.
#[derive(Debug, Serialize)]
pub struct SiteFinding {
    /// `scheme://host:port`.
    pub site: String,
    #[serde(flatten)]
    pub first: Finding,
    /// Every URL it was seen on, in the order probed.
    pub urls: Vec<String>,
}

/// `scheme://host:port` of a URL (the port a scheme's default when not written).
pub fn site_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port_or_known_default() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

/// The site of a target (its URL as written when that does not parse).
pub fn target_site(t: &Target) -> String {
    Url::parse(&t.url).map_or_else(|_| t.url.clone(), |u| site_of(&u))
}

/// The targets' sites, in the order their first URL was probed.
pub fn sites(targets: &[Target]) -> Vec<String> {
    let mut sites: Vec<String> = Vec::new();
    for t in targets {
        let site = target_site(t);
        if !sites.contains(&site) {
            sites.push(site);
        }
    }
    sites
}

/// The targets' findings grouped per site, worst first, then in the order first seen.
pub fn by_site(targets: &[Target]) -> Vec<SiteFinding> {
    let mut out: Vec<SiteFinding> = Vec::new();
    let mut index: HashMap<(String, Category, String, String), usize> = HashMap::new();
    for t in targets {
        let Ok(url) = Url::parse(&t.url) else {
            continue;
        };
        let site = site_of(&url);
        for f in &t.findings {
            let key = (
                site.clone(),
                f.category,
                f.place.clone(),
                normalise(&f.excerpt, &url),
            );
            match index.get(&key) {
                Some(&i) => out[i].urls.push(t.url.clone()),
                None => {
                    index.insert(key, out.len());
                    out.push(SiteFinding {
                        site: site.clone(),
                        first: f.clone(),
                        urls: vec![t.url.clone()],
                    });
                }
            }
        }
    }
    // Stable: equal severities keep the order they were first seen in.
    out.sort_by_key(|f| f.first.severity);
    out
}

/// The excerpt as compared: the URL's path and query cut out, digits made one `#`, lower
/// case, whitespace collapsed.
fn normalise(excerpt: &str, url: &Url) -> String {
    let mut text = excerpt.to_owned();
    let with_query = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    for own in [url.as_str(), &with_query, url.path()] {
        if own.len() > 1 {
            text = text.replace(own, " ");
        }
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_digit() { '#' } else { c };
        let repeat = (c == '#' || c.is_whitespace()) && out.ends_with(c);
        if !repeat {
            out.push(if c.is_whitespace() { ' ' } else { c });
        }
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::super::signatures::Severity;
    use super::*;

    fn finding(category: Category, place: &str, excerpt: &str, severity: Severity) -> Finding {
        Finding {
            category,
            place: place.to_owned(),
            excerpt: excerpt.to_owned(),
            severity,
            signature: "sig".to_owned(),
            stack: "stack".to_owned(),
            fix: "fix".to_owned(),
            request: "as_given",
            status: 500,
        }
    }

    fn target(url: &str, findings: Vec<Finding>) -> Target {
        Target {
            url: url.to_owned(),
            status: Some(500),
            findings,
            error: None,
            failed_requests: Vec::new(),
        }
    }

    #[test]
    fn the_same_leak_on_several_urls_of_a_site_is_one_finding() {
        let server = |url: &str| {
            let low = Severity::Low;
            let f = finding(
                Category::VersionDisclosure,
                "header:Server",
                "nginx/1.22.1",
                low,
            );
            target(url, vec![f])
        };
        let debug = |url: &str, line: u32| {
            let path = Url::parse(url).unwrap().path().to_owned();
            let excerpt = format!("OperationalError at {path} (app.py, line {line})");
            let f = finding(Category::SqlError, "body", &excerpt, Severity::High);
            target(url, vec![f])
        };
        let targets = vec![
            server("http://h/a"),
            debug("http://h/orders", 12),
            server("http://h:80/b"),
            debug("http://h/report?id=3", 40),
            server("https://h/a"),
            server("http://other/a"),
        ];
        let grouped = by_site(&targets);
        let got: Vec<(&str, &str, Vec<&str>)> = grouped
            .iter()
            .map(|f| {
                let urls = f.urls.iter().map(String::as_str).collect();
                (f.site.as_str(), f.first.category.id(), urls)
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "http://h:80",
                    "sql_error",
                    vec!["http://h/orders", "http://h/report?id=3"]
                ),
                (
                    "http://h:80",
                    "version_disclosure",
                    vec!["http://h/a", "http://h:80/b"]
                ),
                ("https://h:443", "version_disclosure", vec!["https://h/a"]),
                (
                    "http://other:80",
                    "version_disclosure",
                    vec!["http://other/a"]
                ),
            ]
        );
    }

    #[test]
    fn different_leaks_stay_apart() {
        let a = finding(
            Category::FilePath,
            "body",
            "in /srv/a.php on line 3",
            Severity::Medium,
        );
        let b = finding(
            Category::FilePath,
            "body",
            "in /srv/b.php on line 3",
            Severity::Medium,
        );
        let c = finding(
            Category::FilePath,
            "header:X-File",
            "in /srv/a.php on line 3",
            Severity::Medium,
        );
        let grouped = by_site(&[
            target("http://h/x", vec![a]),
            target("http://h/y", vec![b, c]),
        ]);
        assert_eq!(grouped.len(), 3);
        assert!(grouped.iter().all(|f| f.urls.len() == 1));
    }

    #[test]
    fn normalising_ignores_digits_case_and_the_own_path() {
        let url = Url::parse("http://h/orders?id=7").unwrap();
        assert_eq!(
            normalise("Error  at /orders?id=7 LINE 42, took 0.013s", &url),
            "error at line #, took #.#s"
        );
    }
}
