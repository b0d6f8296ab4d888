//! `fivehundred explain`: the binary's JSON shape for every code it knows, the text output,
//! and exit status 2 with one stderr line for codes it does not know.

use std::process::{Command, Output};

use serde_json::Value;

fn explain(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .arg("explain")
        .args(args)
        .output()
        .expect("run fivehundred")
}

const FRAMEWORKS: [&str; 10] = [
    "dotnet",
    "rust",
    "rails",
    "go",
    "symfony",
    "python",
    "java",
    "spring",
    "httpcomponents",
    "angular",
];

#[test]
fn json_shape_for_every_code() {
    for code in 500..=511 {
        let out = explain(&[&code.to_string(), "--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "{code}");
        let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        // serde_json's map here is sorted, so the keys are compared as a set.
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut expected = [
            "version",
            "code",
            "reason",
            "official",
            "rfc",
            "vendor",
            "source",
            "meaning",
            "check_first",
            "causes",
            "seo",
            "constants",
        ];
        expected.sort_unstable();
        assert_eq!(keys, expected, "{code}");
        assert_eq!(v["version"], 1);
        assert_eq!(v["code"], code);
        assert!(v["reason"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(v["meaning"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(v["seo"].as_str().is_some_and(|s| s.contains("Googlebot")));
        assert!(v["check_first"].as_array().is_some_and(|a| !a.is_empty()));
        assert!(v["causes"].is_array());
        let official = v["official"].as_bool().unwrap();
        assert_eq!(official, code != 509, "{code}");
        assert_eq!(v["rfc"].is_string(), official, "{code}");
        assert!(v["vendor"].is_null() && v["source"].is_null(), "{code}");
        let constants = v["constants"].as_object().unwrap();
        let mut names: Vec<&str> = constants.keys().map(String::as_str).collect();
        names.sort_unstable();
        let mut frameworks = FRAMEWORKS;
        frameworks.sort_unstable();
        assert_eq!(names, frameworks, "{code}");
        assert!(
            constants.values().all(|c| c.is_null() || c.is_string()),
            "{code}"
        );
    }
}

#[test]
fn json_for_500_as_documented() {
    let out = explain(&["500", "--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["reason"], "Internal Server Error");
    assert_eq!(v["rfc"], "RFC 9110 §15.6.1");
    let c = &v["constants"];
    assert_eq!(c["dotnet"], "HttpStatusCode.InternalServerError");
    assert_eq!(c["rust"], "http::StatusCode::INTERNAL_SERVER_ERROR");
    assert_eq!(c["rails"], ":internal_server_error");
    assert_eq!(c["go"], "http.StatusInternalServerError");
    assert_eq!(c["symfony"], "Response::HTTP_INTERNAL_SERVER_ERROR");
    assert_eq!(c["python"], "http.HTTPStatus.INTERNAL_SERVER_ERROR");
    assert_eq!(c["java"], "HttpURLConnection.HTTP_INTERNAL_ERROR");
    assert_eq!(c["spring"], "HttpStatus.INTERNAL_SERVER_ERROR");
    assert_eq!(c["httpcomponents"], "HttpStatus.SC_INTERNAL_SERVER_ERROR");
    assert_eq!(c["angular"], "HttpStatusCode.InternalServerError");
    // java.net.HttpURLConnection has no constant for 507.
    let out = explain(&["507", "--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["constants"]["java"].is_null());
}

#[test]
fn text_by_default() {
    let out = explain(&["504"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("504 Gateway Timeout\n"), "{text}");
    assert!(text.contains("upstream_timeout") && text.contains("http.StatusGatewayTimeout"));
    assert!(out.stderr.is_empty());
}

#[test]
fn unknown_codes_and_non_numbers_exit_2_with_one_line() {
    for bad in [
        "599",
        "404",
        "200",
        "498",
        "528",
        "abc",
        "5OO",
        "",
        "99999999999",
    ] {
        let out = explain(&[bad]);
        assert_eq!(out.status.code(), Some(2), "`{bad}`");
        assert!(out.stdout.is_empty(), "`{bad}`");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "`{bad}`: {err}");
        assert!(err.starts_with("fivehundred: "), "`{bad}`: {err}");
    }
    let err = String::from_utf8(explain(&["599"]).stderr).unwrap();
    assert!(err.contains("599") && err.contains("500, 501"), "{err}");
    // A bad --format is a usage error, also exit 2.
    assert_eq!(explain(&["500", "--format", "xml"]).status.code(), Some(2));
}

/// The non-standard codes: exit 0, `"official": false`, the vendor and its page, its words.
#[test]
fn vendor_codes_in_their_vendors_words() {
    let cases = [
        (
            "499",
            "nginx",
            "github.com/nginx/nginx",
            "client has closed the connection",
        ),
        (
            "460",
            "AWS Application Load Balancer",
            "docs.aws.amazon.com/elasticloadbalancing",
            "before the idle timeout period elapsed",
        ),
        (
            "561",
            "AWS Application Load Balancer",
            "docs.aws.amazon.com/elasticloadbalancing",
            "IdP returned an error code",
        ),
        (
            "520",
            "Cloudflare",
            "developers.cloudflare.com",
            "origin server returns an empty",
        ),
        (
            "521",
            "Cloudflare",
            "developers.cloudflare.com",
            "refuses connections",
        ),
        (
            "522",
            "Cloudflare",
            "developers.cloudflare.com",
            "times out contacting",
        ),
        (
            "523",
            "Cloudflare",
            "developers.cloudflare.com",
            "cannot contact",
        ),
        (
            "524",
            "Cloudflare",
            "developers.cloudflare.com",
            "100 second",
        ),
        (
            "525",
            "Cloudflare",
            "developers.cloudflare.com",
            "SSL handshake",
        ),
        (
            "526",
            "Cloudflare",
            "developers.cloudflare.com",
            "Full (Strict)",
        ),
        ("527", "Cloudflare", "developers.cloudflare.com", "Railgun"),
        (
            "530",
            "Cloudflare",
            "developers.cloudflare.com",
            "1XXX error",
        ),
    ];
    for (code, vendor, source, words) in cases {
        let out = explain(&[code, "--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "{code}");
        let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(v["official"], false, "{code}");
        assert!(v["rfc"].is_null(), "{code}");
        assert_eq!(v["vendor"], vendor, "{code}");
        assert!(
            v["source"].as_str().is_some_and(|s| s.contains(source)),
            "{code}"
        );
        assert!(
            v["meaning"].as_str().is_some_and(|m| m.contains(words)),
            "{code}"
        );
        assert!(
            v["constants"]
                .as_object()
                .unwrap()
                .values()
                .all(Value::is_null)
        );
        assert!(v["check_first"].as_array().is_some_and(|a| !a.is_empty()));
    }
    let out = explain(&["499"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("499 Client Closed Request (nginx)\n"),
        "{text}"
    );
    assert!(text.contains("Non-standard: nginx's own code"), "{text}");
    assert!(
        text.contains("upstream_timeout"),
        "499 points at slow upstreams: {text}"
    );
}
