//! The checkpoint: per file, where it was last seen, which content it holds and how far that
//! content was consumed. Written so that a crash at any moment leaves the old checkpoint or
//! the new one, whole: a temp file, fsync, rename over the old one, fsync of the directory.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize, Serializer};

use super::fingerprint::Fingerprint;
use super::{FileKey, TailError, io_error};

/// The checkpoint's name in the state directory.
pub(super) const FILE: &str = "tail.json";

/// Bumped when the layout changes; an unknown version is refused, not guessed at.
const VERSION: u32 = 1;

/// Where a content was consumed to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Position {
    /// Where the file was last seen: how it is found again after a restart if it has been
    /// renamed out of the followed paths. Stored lossily for names that are not UTF-8, which
    /// only costs that search.
    #[serde(serialize_with = "lossy")]
    pub path: PathBuf,
    pub fp: Fingerprint,
    /// Bytes consumed: always the end of a line, except while `skipping`.
    pub offset: u64,
    /// Inside a line too long to hand out, to be skipped up to its newline.
    pub skipping: bool,
}

/// A file, by inode, and its position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct FileEntry {
    #[serde(flatten)]
    pub key: FileKey,
    #[serde(flatten)]
    pub pos: Position,
    /// A copy of content read through another file: not read unless that file is truncated.
    pub dormant: bool,
    /// Read to its end and no longer followed, not held open: remembered while it exists,
    /// in case it is followed again (a symlink pointed back at it).
    #[serde(default)]
    pub retired: bool,
}

/// Everything a restart needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Checkpoint {
    version: u32,
    pub files: Vec<FileEntry>,
    /// Content that left its file (truncated, or the file vanished) before it was read to the
    /// end: a copy of it, when one turns up, goes on from `offset`.
    pub ghosts: Vec<Position>,
}

impl Checkpoint {
    pub fn new(files: Vec<FileEntry>, ghosts: Vec<Position>) -> Checkpoint {
        Checkpoint {
            version: VERSION,
            files,
            ghosts,
        }
    }

    pub fn to_json(&self) -> Result<String, TailError> {
        serde_json::to_string(self).map_err(|e| TailError::Checkpoint {
            path: FILE.into(),
            reason: e.to_string(),
        })
    }

    /// Reads a checkpoint; `origin` names where it came from in the error.
    pub fn from_json(text: &str, origin: &str) -> Result<Checkpoint, TailError> {
        let refused = |reason: String| TailError::Checkpoint {
            path: origin.into(),
            reason,
        };
        let checkpoint: Checkpoint =
            serde_json::from_str(text).map_err(|e| refused(e.to_string()))?;
        if checkpoint.version != VERSION {
            return Err(refused(format!("version {}", checkpoint.version)));
        }
        Ok(checkpoint)
    }
}

fn lossy<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_string_lossy())
}

/// The checkpoint in `dir`, or `None` if there is none yet.
pub(super) fn load(dir: &Path) -> Result<Option<Checkpoint>, TailError> {
    let path = dir.join(FILE);
    match fs::read_to_string(&path) {
        Ok(text) => Checkpoint::from_json(&text, &crate::read::display_name(&path)).map(Some),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(&path, e)),
    }
}

/// Replaces the checkpoint in `dir` by `json`, durably and atomically.
pub(super) fn store(dir: &Path, json: &str) -> Result<(), TailError> {
    let tmp = dir.join(format!("{FILE}.tmp"));
    let path = dir.join(FILE);
    let written = File::create(&tmp).and_then(|mut f| {
        f.write_all(json.as_bytes())?;
        f.sync_all()
    });
    written.map_err(|e| io_error(&tmp, e))?;
    fs::rename(&tmp, &path).map_err(|e| io_error(&path, e))?;
    // The rename is durable only once the directory is.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoint {
        let pos = Position {
            path: PathBuf::from("/var/log/nginx/access.log"),
            fp: Fingerprint::of(b"line 1\n"),
            offset: 7,
            skipping: false,
        };
        Checkpoint::new(
            vec![FileEntry {
                key: FileKey { dev: 1, ino: 2 },
                pos: pos.clone(),
                dormant: false,
                retired: true,
            }],
            vec![pos],
        )
    }

    #[test]
    fn stored_checkpoint_reads_back_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap(), None);
        store(dir.path(), &sample().to_json().unwrap()).unwrap();
        assert_eq!(load(dir.path()).unwrap(), Some(sample()));
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![FILE]);
    }

    #[test]
    fn damaged_or_unknown_checkpoints_are_refused() {
        let e = Checkpoint::from_json("{\"version\":1,", "cp").unwrap_err();
        assert!(
            e.to_string().starts_with("cp: unreadable checkpoint"),
            "{e}"
        );
        let newer = sample()
            .to_json()
            .unwrap()
            .replace("\"version\":1", "\"version\":9");
        let e = Checkpoint::from_json(&newer, "cp").unwrap_err();
        assert!(e.to_string().contains("version 9"), "{e}");
    }
}
