//! Rotated logs compressed with bzip2, xz and zstd, read like gzip (`/work/shared/spec/cli.md`,
//! "Inputs"): told by their magic bytes, not their names; concatenated streams read whole; a
//! file cut off, or with garbage after its stream, keeps what was read before and says so on
//! one line. Every input is made here, with the crates' own encoders.

use std::ffi::OsStr;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use fivehundred::read::{Blocks, Source, decode};
use proptest::prelude::*;
use serde_json::Value;

/// A compression format, as the rotation that wrote it names it.
#[derive(Clone, Copy, Debug)]
enum Codec {
    Bzip2,
    Xz,
    Zstd,
}

const CODECS: [Codec; 3] = [Codec::Bzip2, Codec::Xz, Codec::Zstd];

impl Codec {
    fn ext(self) -> &'static str {
        match self {
            Codec::Bzip2 => "bz2",
            Codec::Xz => "xz",
            Codec::Zstd => "zst",
        }
    }

    /// `data` as one stream. Fast settings: the encoders run unoptimised in tests, and bzip2's
    /// smallest blocks (100 kB) let a cut-off file keep most of its blocks whole.
    fn compress(self, data: &[u8]) -> Vec<u8> {
        match self {
            Codec::Bzip2 => {
                let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Codec::Xz => {
                let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Codec::Zstd => zstd::encode_all(data, 1).unwrap(),
        }
    }
}

/// A `combined` line, 2026-11-25, `i` seconds after 10:00 UTC.
fn combined(i: usize, path: &str, status: u16) -> String {
    let (h, m, s) = (10 + i / 3600, i / 60 % 60, i % 60);
    format!(
        "198.51.100.{} - - [25/Nov/2026:{h:02}:{m:02}:{s:02} +0000] \"GET {path} HTTP/1.1\" {status} 321 \"https://example.org/\" \"Mozilla/5.0 (X11; Linux x86_64)\"\n",
        i % 250 + 1
    )
}

/// `n` lines, every seventh a 500 from `/report.php` (the first line one of them).
fn access_log(n: usize) -> String {
    (0..n)
        .map(|i| match i % 7 {
            0 => combined(i, "/report.php", 500),
            _ => combined(i, &format!("/page/{i}"), 200),
        })
        .collect()
}

/// How many 500s the first `n` lines of [`access_log`] hold.
fn fives(n: u64) -> u64 {
    n.div_ceil(7)
}

struct Run {
    code: i32,
    stderr: String,
    json: Value,
}

/// `diagnose --format json --tz UTC ARGS…`, with `stdin`.
fn diagnose<S: AsRef<OsStr>>(args: &[S], stdin: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fivehundred"))
        .args(["diagnose", "--format", "json", "--tz", "UTC"])
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    Run {
        code: out.status.code().expect("exited, not killed"),
        json: serde_json::from_slice(&out.stdout).expect("one JSON document"),
        stderr,
    }
}

fn count(v: &Value, field: &str) -> u64 {
    v["summary"][field].as_u64().unwrap()
}

/// The input whose path ends with `name`.
fn input<'v>(v: &'v Value, name: &str) -> &'v Value {
    v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("no input {name} in {}", v["inputs"]))
}

fn write(dir: &Path, name: &str, data: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

/// Exactly one warning line, naming `name`.
fn assert_one_warning_naming(r: &Run, name: &str) {
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", r.stderr);
    assert!(lines[0].contains(name), "{}", r.stderr);
}

#[test]
fn bzip2_xz_and_zstd_logs_are_read_with_their_5xx_counted_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let log = access_log(50);
    for codec in CODECS {
        let name = format!("access.log.2.{}", codec.ext());
        let p = write(dir.path(), &name, codec.compress(log.as_bytes()));
        let r = diagnose(&[&p], b"");
        assert_eq!(r.code, 1, "{codec:?}: {}", r.stderr);
        assert!(r.stderr.is_empty(), "{codec:?}: {}", r.stderr);
        assert_eq!(count(&r.json, "requests"), 50, "{codec:?}");
        assert_eq!(count(&r.json, "server_errors"), fives(50), "{codec:?}");
        let i = input(&r.json, &name);
        assert_eq!(
            (&i["kind"], &i["format"]),
            (&"access".into(), &"combined".into())
        );
        assert_eq!((&i["lines"], &i["unparsed"]), (&50.into(), &0.into()));
        // From stdin too.
        let r = diagnose(&["-"], &codec.compress(log.as_bytes()));
        assert_eq!(
            count(&r.json, "server_errors"),
            fives(50),
            "{codec:?} on stdin"
        );
    }
}

#[test]
fn compression_is_told_by_its_magic_bytes_not_by_the_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let log = access_log(10);
    for codec in CODECS {
        let hidden = write(dir.path(), "access.log.1", codec.compress(log.as_bytes()));
        let plain = write(dir.path(), &format!("plain.{}", codec.ext()), &log);
        let r = diagnose(&[&hidden, &plain], b"");
        assert!(r.stderr.is_empty(), "{codec:?}: {}", r.stderr);
        assert_eq!(count(&r.json, "requests"), 20, "{codec:?}");
        assert_eq!(count(&r.json, "server_errors"), 2 * fives(10), "{codec:?}");
    }
}

#[test]
fn concatenated_streams_are_read_whole_not_just_the_first() {
    // What `pbzip2` writes, and `cat a.xz b.xz`, `cat a.zst b.zst`.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (access_log(30), access_log(12));
    for codec in CODECS {
        let two = [codec.compress(a.as_bytes()), codec.compress(b.as_bytes())].concat();
        let p = write(dir.path(), &format!("multi.log.{}", codec.ext()), two);
        let r = diagnose(&[&p], b"");
        assert!(r.stderr.is_empty(), "{codec:?}: {}", r.stderr);
        assert_eq!(count(&r.json, "requests"), 42, "{codec:?}");
        assert_eq!(
            count(&r.json, "server_errors"),
            fives(30) + fives(12),
            "{codec:?}"
        );
    }
}

#[test]
fn a_compressed_log_cut_in_the_middle_keeps_its_first_lines_and_warns_once() {
    let dir = tempfile::tempdir().unwrap();
    let n = 6000;
    let log = access_log(n);
    for codec in CODECS {
        let whole = codec.compress(log.as_bytes());
        let name = format!("access.log.3.{}", codec.ext());
        let p = write(dir.path(), &name, &whole[..whole.len() / 2]);
        let r = diagnose(&[&p], b"");
        assert_one_warning_naming(&r, &name);
        let i = input(&r.json, &name);
        assert_eq!(i["kind"], "access", "{codec:?}: {i}");
        let lines = i["lines"].as_u64().unwrap();
        assert!(lines > 100 && lines < n as u64, "{codec:?}: {i}");
        // The lines before the cut, and only those, are counted (the last may be cut short).
        let errors = count(&r.json, "server_errors");
        assert!(
            (fives(lines - 1)..=fives(lines)).contains(&errors),
            "{codec:?}: {errors} 5xx in {lines} lines"
        );
        assert_eq!(r.code, 1);
    }
}

#[test]
fn garbage_after_a_valid_stream_keeps_the_stream_and_warns_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = access_log(40);
    for codec in CODECS {
        let bytes = [
            codec.compress(log.as_bytes()),
            b"\x01 not a stream: garbage after the end\n".to_vec(),
        ]
        .concat();
        let name = format!("access.log.4.{}", codec.ext());
        let p = write(dir.path(), &name, bytes);
        let r = diagnose(&[&p], b"");
        assert_one_warning_naming(&r, &name);
        assert_eq!(input(&r.json, &name)["lines"], 40, "{codec:?}");
        assert_eq!(count(&r.json, "server_errors"), fives(40), "{codec:?}");
    }
}

#[test]
fn a_directory_reads_rotated_bz2_xz_and_zst_files_beside_the_live_log() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("nginx");
    std::fs::create_dir(&logs).unwrap();
    write(&logs, "access.log", access_log(14));
    for (n, codec) in CODECS.into_iter().enumerate() {
        let name = format!("access.log.{}.{}", n + 2, codec.ext());
        write(&logs, &name, codec.compress(access_log(7).as_bytes()));
    }
    let r = diagnose(&[&logs], b"");
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    let found: Vec<(&str, &str)> = r.json["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let path = i["path"].as_str().unwrap();
            (
                &path[path.rfind('/').unwrap() + 1..],
                i["format"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("access.log", "combined"),
            ("access.log.2.bz2", "combined"),
            ("access.log.3.xz", "combined"),
            ("access.log.4.zst", "combined"),
        ]
    );
    assert_eq!(count(&r.json, "requests"), 14 + 3 * 7);
    assert_eq!(count(&r.json, "server_errors"), fives(14) + 3 * fives(7));
}

/// Everything `decode` gives for `bytes`, to the end or the first error.
fn read_all(bytes: Vec<u8>) {
    let source = Source {
        name: "fuzz".into(),
        path: None,
    };
    let Ok(stream) = decode(&source, Box::new(Cursor::new(bytes))) else {
        return;
    };
    let mut blocks = Blocks::new(stream.0);
    while let Ok(Some(block)) = blocks.next_block() {
        blocks.recycle(block);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_after_a_valid_magic_never_panic(
        magic in prop::sample::select(vec![
            &b"\x1f\x8b"[..], b"BZh9", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd",
        ]),
        tail in prop::collection::vec(any::<u8>(), 0..4096),
    ) {
        read_all([magic, &tail].concat());
    }

    #[test]
    fn a_valid_stream_cut_anywhere_and_followed_by_anything_never_panics(
        codec in prop::sample::select(CODECS.to_vec()),
        cut in 0.0..1.0f64,
        tail in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let whole = codec.compress(access_log(20).as_bytes());
        let head = &whole[..(whole.len() as f64 * cut) as usize];
        read_all([head, &tail].concat());
    }
}
