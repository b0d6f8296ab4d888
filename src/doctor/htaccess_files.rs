//! `htaccess_invalid`: finds every `.htaccess` Apache reads under its document roots and
//! checks it against the modules Apache loads and what `AllowOverride` allows there.

use std::io::Read;
use std::path::Path;

use super::layout::apache::ApacheLayout;
use super::{Finding, Status, count, htaccess};

const CHECK: &str = "htaccess_invalid";
/// Entries walked under one document root before stopping.
const MAX_ENTRIES: usize = 300_000;
/// Bytes of one `.htaccess` read; Apache's own limit for a config line is far below this.
const MAX_BYTES: u64 = 4 << 20;

/// One problem as a finding. A directive the table does not know is only a warning when
/// Apache loads a module the table does not cover either: it may be one of that module's.
fn finding(p: &htaccess::Problem, file: &Path, dir: &Path, unknown: &[&str]) -> Finding {
    let subject = format!("{}:{}", file.display(), p.line);
    let applies = format!("It fails every request below {}.", dir.display());
    if matches!(p.kind, htaccess::ProblemKind::Unknown) && !unknown.is_empty() {
        return Finding::new(CHECK, Status::Warning, subject)
            .detail(format!(
                "{} Unless it belongs to {}, loaded here but unknown to doctor. {applies}",
                p.explain(),
                unknown.join(", ")
            ))
            .fix(p.fix());
    }
    Finding::new(CHECK, Status::Critical, subject)
        .detail(format!("{} {applies}", p.explain()))
        .fix(p.fix())
}

pub fn check(apache: &ApacheLayout) -> Vec<Finding> {
    let mut out = Vec::new();
    for root in &apache.docroots {
        out.extend(check_root(apache, &root.path));
    }
    out
}

fn check_root(apache: &ApacheLayout, root: &Path) -> Vec<Finding> {
    let mut out = Vec::new();
    let unknown = htaccess::unknown_modules(&apache.modules);
    let (mut read, mut ignored) = (0usize, 0usize);
    let files = walkdir::WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .take(MAX_ENTRIES)
        .flatten()
        .filter(|e| e.file_type().is_file() && e.file_name() == ".htaccess");
    for entry in files {
        let path = entry.path();
        let dir = path.parent().unwrap_or(root);
        let allow = apache.allow_override_for(dir);
        if !allow.reads_htaccess() {
            ignored += 1;
            continue;
        }
        read += 1;
        let mut text = Vec::new();
        let opened =
            std::fs::File::open(path).and_then(|f| f.take(MAX_BYTES).read_to_end(&mut text));
        if let Err(e) = opened {
            out.push(
                Finding::new(CHECK, Status::Critical, path.display().to_string())
                    .detail(format!("Apache must read it but cannot open it: {e}; every request below it answers 403 or 500."))
                    .fix("Make it readable by the server user (mode 644)."),
            );
            continue;
        }
        for p in htaccess::check(&text, &apache.modules, &allow) {
            out.push(finding(&p, path, dir, &unknown));
        }
    }
    if out.is_empty() {
        let detail = match (read, ignored) {
            (0, 0) => "No .htaccess under it.".to_owned(),
            (0, n) => format!(
                "{}, none read (AllowOverride None).",
                count(n, ".htaccess file")
            ),
            (n, 0) => format!(
                "{}; Apache can parse every line.",
                count(n, ".htaccess file")
            ),
            (n, m) => {
                format!(
                    "{} parse; {m} more are not read (AllowOverride None).",
                    count(n, ".htaccess file")
                )
            }
        };
        out.push(Finding::new(CHECK, Status::Ok, root.display().to_string()).detail(detail));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::layout::apache::{DirectoryRule, DocRoot};
    use crate::doctor::overrides::AllowOverride;

    fn layout(root: &Path, modules: &[&str]) -> ApacheLayout {
        ApacheLayout {
            docroots: vec![DocRoot {
                path: root.to_path_buf(),
                server_name: None,
                source: "test.conf:1".into(),
            }],
            directories: vec![DirectoryRule {
                path: root.display().to_string(),
                regex: false,
                allow_override: AllowOverride::All,
            }],
            modules: modules.iter().map(|m| m.to_string()).collect(),
            ..ApacheLayout::default()
        }
    }

    #[test]
    fn an_unknown_directive_is_critical_unless_an_unknown_module_may_own_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("app")).unwrap();
        std::fs::write(
            dir.path().join("app/.htaccess"),
            "RewriteEngine On\nFrobnicate on\n",
        )
        .unwrap();
        let known = check(&layout(dir.path(), &["core_module", "rewrite_module"]));
        assert_eq!(known.len(), 1, "{known:?}");
        assert_eq!(known[0].status, Status::Critical);
        assert!(known[0].subject.ends_with("app/.htaccess:2"), "{known:?}");
        assert!(known[0].detail.contains("Frobnicate"), "{known:?}");
        let with_other = check(&layout(
            dir.path(),
            &["core_module", "rewrite_module", "frob_module"],
        ));
        assert_eq!(with_other[0].status, Status::Warning, "{with_other:?}");
        assert!(
            with_other[0].detail.contains("frob_module"),
            "{with_other:?}"
        );
        // AllowOverride None: Apache never reads it.
        let mut none = layout(dir.path(), &["core_module"]);
        none.directories.clear();
        let f = check(&none);
        assert_eq!(
            (f[0].status, f[0].detail.as_str()),
            (
                Status::Ok,
                "1 .htaccess file, none read (AllowOverride None)."
            )
        );
    }
}
