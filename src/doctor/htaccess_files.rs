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

pub fn check(apache: &ApacheLayout) -> Vec<Finding> {
    let mut out = Vec::new();
    for root in &apache.docroots {
        out.extend(check_root(apache, &root.path));
    }
    out
}

fn check_root(apache: &ApacheLayout, root: &Path) -> Vec<Finding> {
    let mut out = Vec::new();
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
            out.push(
                Finding::new(
                    CHECK,
                    Status::Critical,
                    format!("{}:{}", path.display(), p.line),
                )
                .detail(format!(
                    "{} Every request below {} answers 500.",
                    p.explain(),
                    dir.display()
                ))
                .fix(p.fix()),
            );
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
