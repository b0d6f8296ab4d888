//! `php_display_errors`, `php_log_errors`, `php_memory_limit`: the settings that decide
//! whether a PHP failure leaks to the visitor, leaves evidence, or happens at all.

use super::layout::php::{self, PhpContext};
use super::{Finding, Status};

/// Below this, ordinary CMS pages (WordPress, Drupal, Magento) run out of memory.
const MIN_MEMORY: u64 = 64 << 20;

pub fn check(contexts: &[PhpContext]) -> Vec<Finding> {
    contexts
        .iter()
        .flat_map(|c| [display_errors(c), log_errors(c), memory_limit(c)])
        .collect()
}

/// Where a value came from, for the detail.
fn source(c: &PhpContext, key: &str) -> String {
    match (&c.ini_file, c.overridden.contains(key)) {
        (_, true) if c.name.starts_with("pool ") => " (set in the pool config)".to_owned(),
        (_, true) => " (set by Apache's php_admin_value/php_value)".to_owned(),
        (Some(f), false) => format!(" (php.ini: {})", f.display()),
        (None, false) => String::new(),
    }
}

fn display_errors(c: &PhpContext) -> Finding {
    let f = Finding::new("php_display_errors", Status::Ok, &c.name);
    if c.flag("display_errors") {
        f.with(Status::Critical)
            .detail(format!(
                "display_errors is {} for {}{}: error messages, file paths and SQL go to visitors.",
                c.get("display_errors"),
                c.name,
                source(c, "display_errors")
            ))
            .fix(format!(
                "Set display_errors = Off (and log_errors = On) in {}, then reload PHP.",
                where_to_set(c, "display_errors")
            ))
    } else {
        f.detail("display_errors is off.")
    }
}

fn log_errors(c: &PhpContext) -> Finding {
    let f = Finding::new("php_log_errors", Status::Ok, &c.name);
    if c.flag("log_errors") {
        let to = match c.get("error_log") {
            "" => "the server's error log".to_owned(),
            p => p.to_owned(),
        };
        f.detail(format!("log_errors is on, to {to}."))
    } else {
        f.with(Status::Warning)
            .detail(format!(
                "log_errors is off for {}{}: a PHP fatal error leaves a 500 and no line saying why.",
                c.name,
                source(c, "log_errors")
            ))
            .fix(format!("Set log_errors = On in {}, then reload PHP.", where_to_set(c, "log_errors")))
    }
}

fn memory_limit(c: &PhpContext) -> Finding {
    let raw = c.get("memory_limit");
    let f = Finding::new("php_memory_limit", Status::Ok, &c.name);
    match php::bytes(raw) {
        Some(b) if b < MIN_MEMORY => f
            .with(Status::Warning)
            .detail(format!(
                "memory_limit is {raw} for {}: common applications need 128M, and a request past the limit answers 500.",
                c.name
            ))
            .fix(format!("Raise memory_limit to 128M or more in {}.", where_to_set(c, "memory_limit"))),
        Some(_) => f.detail(format!("memory_limit is {raw}.")),
        None if raw.trim() == "-1" => f
            .with(Status::Warning)
            .detail(format!(
                "memory_limit is -1 (none) for {}: one runaway request can take the host's memory and every worker with it.",
                c.name
            ))
            .fix(format!("Set a limit (128M or what the application needs) in {}.", where_to_set(c, "memory_limit"))),
        None => f
            .with(Status::Warning)
            .detail(format!("memory_limit is `{raw}`, which PHP does not read as a size."))
            .fix(format!("Write it as a number with K, M or G in {}.", where_to_set(c, "memory_limit"))),
    }
}

/// The place an administrator changes a setting for this context.
fn where_to_set(c: &PhpContext, key: &str) -> String {
    let ini = c
        .ini_file
        .as_ref()
        .map(|f| f.display().to_string())
        .unwrap_or_else(|| "php.ini".into());
    match (c.name.strip_prefix("pool "), c.overridden.contains(key)) {
        (Some(pool), true) => {
            format!("the [{pool}] pool config, which sets it (php_admin_value[{key}])")
        }
        (Some(pool), false) => {
            format!("{ini} (or for this pool only: php_admin_value[{key}] in [{pool}])")
        }
        (None, true) => format!("Apache's config, which sets it (php_admin_value {key})"),
        (None, false) => format!("{ini} (or php_admin_value {key} in Apache's config)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(pairs: &[(&str, &str)]) -> PhpContext {
        let ini = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        PhpContext::new("pool www".into(), "www-data".into(), (ini, None))
    }

    #[test]
    fn flags_leaks_missing_logs_and_odd_limits() {
        let statuses = |c: &PhpContext| {
            check(std::slice::from_ref(c))
                .iter()
                .map(|f| f.status)
                .collect::<Vec<_>>()
        };
        let safe = ctx(&[
            ("display_errors", "Off"),
            ("log_errors", "On"),
            ("memory_limit", "128M"),
        ]);
        assert_eq!(statuses(&safe), [Status::Ok; 3]);
        let bad = ctx(&[
            ("display_errors", "stderr"),
            ("log_errors", ""),
            ("memory_limit", "32M"),
        ]);
        assert_eq!(
            statuses(&bad),
            [Status::Critical, Status::Warning, Status::Warning]
        );
        let unlimited = ctx(&[("memory_limit", "-1")]);
        assert_eq!(statuses(&unlimited)[2], Status::Warning);
        assert!(
            check(&[bad])[0]
                .fix
                .contains("php_admin_value[display_errors]")
        );
    }
}
