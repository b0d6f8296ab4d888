//! A real Apache (Debian's) writing its access log in a custom `LogFormat`, read with
//! `--access-format` given the same string as the configuration holds (its `\"` escapes
//! included): the lines are read in that format, every 5xx is counted, and the cause comes
//! from Apache's own error log beside it (an invalid `.htaccess`).
mod lab;

use lab::apache::ApacheOptions;
use lab::*;

/// The format, as written between the quotes of the `LogFormat` line: virtual host and port,
/// client, an ISO 8601 time, the request as method, path, query and protocol, and directives
/// the reader skips over (`%D`, the referer).
const FORMAT: &str = r#"%v:%p %a %l %u %{%Y-%m-%dT%H:%M:%S%z}t \"%m %U%q %H\" %>s %b %D \"%{Referer}i\" \"%{User-Agent}i\""#;

#[test]
fn apache_custom_logformat_is_read_with_the_same_string() {
    let lab = Lab::new();
    lab.write("www/index.html", "<p>home</p>\n");
    lab.write("www/blog/index.html", "<p>blog</p>\n");
    lab.write("www/blog/.htaccess", "RewriteRul ^old$ new\n");
    let custom = lab.path("log/apache-custom.log");
    let apache = ApacheOptions::new()
        .server(&format!("LogFormat \"{FORMAT}\" custom"))
        .server(&format!("CustomLog {} custom", custom.display()))
        .start(&lab);

    let mut statuses = apache.gets("/index.html?from=test", 3);
    statuses.extend(apache.gets("/blog/", 2));
    assert_eq!(statuses, [200, 200, 200, 500, 500]);
    wait_for("the custom access log", || {
        line_count(&custom) >= statuses.len()
    });

    let report = diagnose_with(&["--access-format", FORMAT], &[&custom, &apache.error_log]);
    assert_eq!(
        report["inputs"][0]["format"],
        "custom",
        "{}",
        pretty(&report)
    );
    assert_eq!(report["inputs"][0]["unparsed"], 0, "{}", pretty(&report));
    assert_eq!(report["summary"]["requests"], statuses.len() as u64);
    assert_eq!(report["summary"]["server_errors"], count_5xx(&statuses));
    assert_incident(
        &report,
        "htaccess_invalid",
        500,
        2,
        Some("www/blog/.htaccess"),
        None,
    );
    let paths = &incidents(&report)[0]["paths"];
    assert_eq!(paths, &serde_json::json!(["/blog/"]), "{}", pretty(&report));
}
