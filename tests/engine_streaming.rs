//! The streaming engine against a reference that holds every error record in memory: on real
//! lab logs, cut into rotated pieces at random record boundaries (some gzipped), given in a
//! random order, with a random number of parser threads, both must tie every 5xx to the same
//! cause and the same records (`--trace` output equal, line for line).
//!
//! The reference parses each error log whole into records and hands them to the engine at
//! once (the path `watch`'s batches take); the streaming path reads them as `diagnose` does:
//! a reader per file, parsers on every core, a merge by time, a bounded window.

use std::io::Write;
use std::path::{Path, PathBuf};

use fivehundred::diagnose::{self, rules::Rules};
use fivehundred::read::{self, Source};
use fivehundred::scan::{self, ErrorRecords, ScanOptions, Window};
use proptest::prelude::*;

/// The real logs the cases are cut from: every fault at once on two servers (overlap lab),
/// and a day of faults one after another on one (mixed lab).
const SETS: &[&str] = &[
    "tests/fixtures/real/overlap/seed-1",
    "tests/fixtures/real/overlap/seed-2",
    "tests/fixtures/real/nginx-fpm/mixed",
];

fn files_of(set: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(set);
    let mut out: Vec<PathBuf> = walk(&root);
    out.retain(|p| p.extension().is_none_or(|e| e == "log"));
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Whether a line starts a record of a multi-line error log (a line that is not indented and
/// not a stack frame): where a rotation may cut.
fn starts_record(line: &str) -> bool {
    line.starts_with('[') || line.as_bytes().first().is_some_and(u8::is_ascii_digit)
}

/// Writes `set`'s logs into `dir`, each cut at `cuts` (fractions of its lines, moved to the
/// next record start) into pieces `name`, `name.1`, …, the pieces listed in `order`;
/// `gzip` says which pieces are compressed. Logs keep their directory (which server).
fn lay_out(set: &str, dir: &Path, cuts: &[u8], gzip: &[bool], order: &[usize]) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for (n, file) in files_of(set).iter().enumerate() {
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let rel = file
            .strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")).join(set))
            .unwrap();
        let sub = dir.join(rel.parent().unwrap());
        std::fs::create_dir_all(&sub).unwrap();
        // At most two cuts per file.
        let mut at: Vec<usize> = cuts
            .iter()
            .skip(n % cuts.len().max(1))
            .take(2)
            .map(|c| {
                let mut i = lines.len() * usize::from(*c) / 256;
                while i < lines.len() && !starts_record(lines[i]) {
                    i += 1;
                }
                i
            })
            .collect();
        at.sort();
        at.dedup();
        let mut bounds = vec![0];
        bounds.extend(at.into_iter().filter(|&i| i > 0 && i < lines.len()));
        bounds.push(lines.len());
        let pieces = bounds.len() - 1;
        for k in 0..pieces {
            let body: String = lines[bounds[k]..bounds[k + 1]]
                .iter()
                .map(|l| format!("{l}\n"))
                .collect();
            // The newest piece has the plain name, older ones `.1`, `.2`: as logrotate does.
            let age = pieces - 1 - k;
            let name = rel.file_name().unwrap().to_string_lossy().to_string();
            let mut path = sub.join(if age == 0 {
                name
            } else {
                format!("{name}.{age}")
            });
            let bytes = if gzip[(n + k) % gzip.len()] && age > 0 {
                path.set_extension(format!(
                    "{}.gz",
                    path.extension().unwrap().to_string_lossy()
                ));
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(body.as_bytes()).unwrap();
                gz.finish().unwrap()
            } else {
                body.into_bytes()
            };
            std::fs::write(&path, bytes).unwrap();
            paths.push(path);
        }
    }
    let mut shuffled: Vec<PathBuf> = Vec::with_capacity(paths.len());
    let mut left = paths;
    for &o in order {
        if left.is_empty() {
            break;
        }
        shuffled.push(left.remove(o % left.len()));
    }
    shuffled.extend(left);
    shuffled
}

fn options(threads: usize) -> ScanOptions {
    ScanOptions {
        tz: jiff::tz::TimeZone::UTC,
        window: Window::default(),
        access_format: None,
        progress: indicatif::ProgressBar::hidden(),
        threads,
        error_logs: true,
        scope: Default::default(),
    }
}

fn sources(paths: &[PathBuf]) -> Vec<Source> {
    paths
        .iter()
        .map(|p| Source {
            name: p.display().to_string(),
            path: Some(p.clone()),
        })
        .collect()
}

/// The incidents as JSON (the inputs' line counts are the streaming reader's alone).
fn verdicts(report: &diagnose::Report) -> serde_json::Value {
    serde_json::json!({
        "summary": report.summary,
        "incidents": report.incidents,
        "other_errors": report.other_errors,
    })
}

/// The reference: every error log parsed whole, in memory, before the engine runs.
fn in_memory(paths: &[PathBuf]) -> serde_json::Value {
    let opts = options(1);
    let mut scanned = scan::scan(&sources(paths), &opts).unwrap();
    let pending = scanned.pending_errors.take().expect("error logs found");
    for input in pending.inputs {
        let (format, index) = (input.format, input.index);
        let mut records = ErrorRecords::new(format);
        let mut keep = |r: &[u8], line: u64| {
            if let Some(mut e) = format.parse(r, &opts.tz) {
                e.input = index;
                e.line = line;
                scanned.errors.push(e);
            }
        };
        let (first, mut blocks, _) = input.open().unwrap();
        let mut block = Some(read::Block::Owned(first));
        while let Some(b) = block {
            for line in read::lines(&b) {
                records.push(line, &mut keep);
            }
            block = blocks.next_block().unwrap();
        }
        records.flush(&mut keep);
    }
    verdicts(&diagnose::diagnose(scanned, Rules::builtin(), true))
}

fn streamed(paths: &[PathBuf], threads: usize) -> serde_json::Value {
    let scanned = scan::scan(&sources(paths), &options(threads)).unwrap();
    verdicts(&diagnose::diagnose(scanned, Rules::builtin(), true))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn streaming_agrees_with_the_in_memory_reference(
        set in 0..SETS.len(),
        cuts in proptest::collection::vec(1u8..255, 1..4),
        gzip in proptest::collection::vec(any::<bool>(), 1..4),
        order in proptest::collection::vec(0usize..32, 0..24),
        threads in 1usize..4,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let paths = lay_out(SETS[set], dir.path(), &cuts, &gzip, &order);
        let reference = in_memory(&paths);
        let streaming = streamed(&paths, threads);
        prop_assert!(
            reference == streaming,
            "{}: streaming differs from the reference\nreference: {}\nstreaming: {}",
            SETS[set],
            serde_json::to_string_pretty(&reference).unwrap(),
            serde_json::to_string_pretty(&streaming).unwrap()
        );
    }
}

#[test]
fn every_set_is_read_and_explained() {
    for set in SETS {
        let dir = tempfile::tempdir().unwrap();
        let paths = lay_out(set, dir.path(), &[128], &[false], &[]);
        let report = streamed(&paths, 2);
        let errors = report["summary"]["server_errors"].as_u64().unwrap();
        assert!(errors > 10, "{set}: {report}");
        let explained: u64 = report["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["cause"] != "unknown")
            .map(|i| i["count"].as_u64().unwrap())
            .sum();
        assert_eq!(explained, errors, "{set}: every 5xx has a cause");
    }
}
