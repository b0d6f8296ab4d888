//! Recognising content by a file's first bytes. An inode number says which file it is only
//! while the file exists (a new file may get the number of a deleted one), and a copy made by
//! `copytruncate` has a new inode but the same first bytes.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use serde::{Deserialize, Serialize};

/// How many first bytes are fingerprinted: a few log lines, timestamps included, which no
/// other file shares.
pub(super) const HEAD: usize = 1024;

/// A hash of a file's first `len` bytes (up to [`HEAD`]). The length is part of it so that a
/// file fingerprinted while shorter than `HEAD` is still recognised once it has grown: its
/// first `len` bytes are hashed again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Fingerprint {
    pub len: u32,
    pub hash: u64,
}

impl Fingerprint {
    /// The fingerprint of `head`, a file's first bytes (at most [`HEAD`] of them).
    pub fn of(head: &[u8]) -> Fingerprint {
        let head = &head[..head.len().min(HEAD)];
        Fingerprint {
            len: head.len() as u32,
            hash: fnv1a(head),
        }
    }

    /// Whether a file whose first bytes are `head` still starts with the bytes fingerprinted;
    /// true for an empty fingerprint, which nothing contradicts.
    pub fn starts(self, head: &[u8]) -> bool {
        let len = self.len as usize;
        head.len() >= len && fnv1a(&head[..len]) == self.hash
    }

    /// Whether `head` is the beginning of the content fingerprinted, with at least one byte
    /// to go by: how a copy of that content is recognised.
    pub fn recognises(self, head: &[u8]) -> bool {
        self.len > 0 && self.starts(head)
    }
}

/// FNV-1a: small, and fixed forever (the checkpoint outlives the binary that wrote it, which
/// rules out std's unspecified `DefaultHasher`).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A file's first bytes, up to [`HEAD`], read at their position (the file's read offset is
/// left alone).
pub(super) fn read_head(file: &File) -> io::Result<Vec<u8>> {
    let mut head = vec![0; HEAD];
    let mut filled = 0;
    while filled < HEAD {
        match file.read_at(&mut head[filled..], filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(filled);
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_file_is_recognised_once_it_has_grown() {
        let fp = Fingerprint::of(b"line 1\n");
        assert!(fp.starts(b"line 1\nline 2\n"));
        assert!(fp.recognises(b"line 1\nline 2\n"));
        assert!(!fp.starts(b"line 1"), "shorter than fingerprinted");
        assert!(!fp.starts(b"line 9\nline 2\n"));
    }

    #[test]
    fn only_the_first_kib_counts() {
        let mut long = vec![b'a'; 3000];
        let fp = Fingerprint::of(&long);
        assert_eq!(fp.len as usize, HEAD);
        long[2000] = b'b';
        assert!(fp.starts(&long));
    }

    #[test]
    fn an_empty_fingerprint_contradicts_nothing_and_recognises_nothing() {
        let fp = Fingerprint::of(b"");
        assert!(fp.starts(b"anything"));
        assert!(!fp.recognises(b"anything"));
        assert!(!fp.recognises(b""));
    }

    #[test]
    fn head_reads_at_most_a_kib() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, vec![b'x'; 5000]).unwrap();
        assert_eq!(read_head(&File::open(&p).unwrap()).unwrap().len(), HEAD);
        std::fs::write(&p, b"ab").unwrap();
        assert_eq!(read_head(&File::open(&p).unwrap()).unwrap(), b"ab");
    }
}
