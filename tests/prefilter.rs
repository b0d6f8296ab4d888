//! The error-log reader passes over most records unbuilt, deciding from their raw bytes: the
//! rule table's literal search over the part of a record rules read, then each found rule's
//! log kinds and pattern. That decision must never hide a record a rule reads: checked here on
//! every record of every real error log the labs wrote (`tests/fixtures/real`), nor may
//! classifying a record by looking for literals only around the prefilter's matches differ.

use std::path::{Path, PathBuf};

use fivehundred::diagnose::rules::{Memos, Rules};
use fivehundred::engine::unit::Keep;
use fivehundred::formats::detect::{Detected, detect};
use fivehundred::formats::plain_text;
use fivehundred::read;
use fivehundred::scan::ErrorRecords;
use jiff::tz::TimeZone;

fn logs(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            logs(&p, out);
        } else if p.extension().is_some_and(|x| x == "log") {
            out.push(p);
        }
    }
}

#[test]
fn no_record_a_rule_reads_is_passed_over_in_any_real_error_log() {
    let rules = Rules::builtin();
    let keep = Keep::classified();
    let mut files = Vec::new();
    logs(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real"),
        &mut files,
    );
    let (mut classified, mut passed_over) = (0usize, 0usize);
    let mut memos = Memos::default();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let Detected::Error(format) = detect(read::lines(&bytes).take(64), None) else {
            continue;
        };
        let mut records = ErrorRecords::new(format);
        let mut check = |record: &[u8], _line: u64| {
            let Some(event) = format.parse(record, &TimeZone::UTC) else {
                return;
            };
            let verdict = rules.classify(&event);
            let part = keep.rule_text(record, format);
            let near = part.map(|part| rules.candidates(&part.to_ascii_lowercase(), format.kind()));
            let found = part.zip(near.as_deref()).is_some_and(|(part, near)| {
                !near.is_empty() && keep.raw(record, part, format, rules, Some(near), &mut memos)
            });
            // Where the record's bytes are its text, the rules look only around the matches.
            if let (Some(near), Some(_)) = (&near, plain_text(record)) {
                assert_eq!(
                    rules.classify_near(&event, Some(near)),
                    verdict,
                    "{}: {}",
                    file.display(),
                    String::from_utf8_lossy(record)
                );
            }
            if let Some(v) = verdict {
                classified += 1;
                // A deprecation is never kept, whatever a rule reads in it.
                assert!(
                    found || part.is_none(),
                    "{}: a record `{}` reads as {} was passed over:\n{}",
                    file.display(),
                    format.name(),
                    v.cause,
                    String::from_utf8_lossy(record)
                );
            } else if !found {
                passed_over += 1;
            }
        };
        for line in read::lines(&bytes) {
            records.push(line, &mut check);
        }
        records.flush(&mut check);
    }
    assert!(
        classified > 100,
        "only {classified} classified records seen"
    );
    assert!(passed_over > 100, "only {passed_over} records passed over");
}

#[test]
fn a_literal_alone_is_not_enough_where_the_rule_asks_for_more() {
    let rules = Rules::builtin();
    let kind = fivehundred::formats::Kind::Error;
    // A scanner's 404s: the words of the database-socket rule, but not about a database.
    let missing = b"2026/03/02 00:05:11 [error] 967#967: *47 open() \"/var/www/shop/public/db.sql\" failed (2: No such file or directory)";
    assert!(!rules.may_classify(missing, kind, None));
    // The same words where the rule's pattern reads a database.
    let db = b"2026/03/02 00:05:11 [error] 967#967: *48 FastCGI sent in stderr: \"PHP message: PHP Warning:  mysqli::real_connect(): (HY000/2002): No such file or directory in /var/www/shop/src/Db.php on line 12\" while reading response header from upstream";
    assert!(rules.may_classify(db, kind, None));
    // Bytes that are not the message as parsed: only the built record can tell.
    let escaped = b"2026/03/02 00:05:11 [error] 967#967: *49 open() \"/x\x1b[0m\" failed (2: No such file or directory)";
    assert!(rules.may_classify(escaped, kind, None));
}
