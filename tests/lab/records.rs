//! An application server's log file cut into records the way the engine cuts it: a line its
//! format's `is_header` accepts starts one, every other line continues the one before it (lines
//! before the first header are left out). The stack labs read what a parser says about each.
//!
//! Include it with `#[path = "lab/records.rs"] mod records;`.
#![allow(dead_code)]

use std::path::Path;

/// The records of `path` (empty when it does not exist).
pub fn records(path: &Path, is_header: fn(&[u8]) -> bool) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap_or_default();
    let mut out: Vec<Vec<u8>> = Vec::new();
    for line in bytes.split(|&b| b == b'\n') {
        if is_header(line) {
            out.push(line.to_vec());
        } else if let Some(last) = out.last_mut() {
            last.push(b'\n');
            last.extend_from_slice(line);
        }
    }
    out
}

/// Line `n` (1-based) of a source file, for checking that a frame points at real code.
pub fn source_line(path: &Path, n: u32) -> String {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .nth(n as usize - 1)
        .unwrap_or_else(|| panic!("{} has no line {n}", path.display()))
        .to_string()
}
