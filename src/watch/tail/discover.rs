//! Which files the followed paths name right now. A file path names its file (through a
//! symlink, the file it points to, by its own path); a directory, every regular file in it
//! and in its subdirectories (per-site logs, `nginx/site1/access.log`), walked the way the
//! other commands read a directory ([`crate::read::walk`]: [`MAX_DEPTH`](crate::read::MAX_DEPTH) levels down, never
//! round a symlink loop), except compressed ones: rotation compresses a file whose lines were
//! already read as text.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use indexmap::IndexMap;

use super::{FileKey, TailError, Warnings, io_error};
use crate::read::{Skip, Visit, walk};

/// A file found at a followed path.
#[derive(Clone, Debug)]
pub(super) struct Candidate {
    pub path: PathBuf,
    pub key: FileKey,
    pub len: u64,
    pub modified: Option<SystemTime>,
}

/// Names rotation gives compressed files.
const COMPRESSED: &[&str] = &["gz", "bz2", "xz", "zst"];

pub(super) fn is_compressed(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| COMPRESSED.contains(&e))
}

pub(super) fn key_of(meta: &fs::Metadata) -> FileKey {
    FileKey {
        dev: meta.dev(),
        ino: meta.ino(),
    }
}

/// When a file's content last changed, for reading older files first.
pub(super) fn modified(meta: &fs::Metadata) -> Option<SystemTime> {
    meta.modified().ok()
}

/// Every file the followed paths name, once each (by inode), in the order found. A followed
/// path that is missing or unreadable is a warning: it may appear or be fixed later. The
/// directory `own` (the state directory, canonical) is never listed, neither named nor met
/// in a walk: following the files it writes would feed on itself.
pub(super) fn discover(
    paths: &[PathBuf],
    own: Option<&Path>,
    warnings: &mut Warnings,
) -> IndexMap<FileKey, Candidate> {
    let own = own
        .and_then(|own| fs::metadata(own).ok())
        .map(|m| key_of(&m));
    let mut lister = Lister {
        found: IndexMap::new(),
        warnings,
        own,
        descend: true,
    };
    for path in paths {
        let listed = match fs::metadata(path) {
            Ok(meta) if Some(key_of(&meta)) == lister.own => Ok(()),
            Ok(meta) if meta.is_dir() => walk(path, &mut lister),
            Ok(_) if is_compressed(path) => {
                lister.warnings.warn(
                    path,
                    TailError::Compressed {
                        path: crate::read::display_name(path),
                    },
                );
                continue;
            }
            Ok(_) => candidate(path).map(|c| lister.add(c)),
            Err(e) => Err(e),
        };
        match listed {
            Ok(()) => lister.warnings.clear(path),
            Err(e) if super::out_of_descriptors(&e) => lister.warnings.exhausted = true,
            Err(e) => lister.warnings.warn(path, io_error(path, e)),
        }
    }
    lister.found
}

/// Gathers the files of a walk. One that vanishes between the listing and its `stat`, or a
/// dangling symlink, is passed over without a word: rotation does that all the time. Any
/// other entry that cannot be looked at is a warning of its own, not its directory's; one
/// that fails for want of descriptors marks the listing incomplete.
struct Lister<'w> {
    found: IndexMap<FileKey, Candidate>,
    warnings: &'w mut Warnings,
    /// The state directory, kept out.
    own: Option<FileKey>,
    /// Whether subdirectories are walked (not when listing a file's siblings).
    descend: bool,
}

impl Lister<'_> {
    fn add(&mut self, candidate: Option<Candidate>) {
        if let Some(c) = candidate {
            self.found.entry(c.key).or_insert(c);
        }
    }

    /// An entry found in a walk that could not be looked at.
    fn failed(&mut self, path: &Path, e: io::Error) {
        if super::out_of_descriptors(&e) {
            self.warnings.exhausted = true;
        } else if e.kind() != io::ErrorKind::NotFound {
            self.warnings.warn(path, io_error(path, e));
        }
    }
}

impl Visit for Lister<'_> {
    fn file(&mut self, path: PathBuf, meta: &fs::Metadata, link: bool) {
        if is_compressed(&path) {
            return;
        }
        match Candidate::new(&path, meta, link) {
            Ok(c) => self.add(Some(c)),
            Err(e) => self.failed(&path, e),
        }
    }

    fn skip(&mut self, path: &Path, why: Skip) {
        match why {
            Skip::Io(e) => self.failed(path, e),
            why => self.warnings.warn(
                path,
                TailError::NotFollowed {
                    path: crate::read::display_name(path),
                    why: why.reason(),
                },
            ),
        }
    }

    fn enter(&mut self, _dir: &Path, meta: &fs::Metadata) -> bool {
        self.descend && Some(key_of(meta)) != self.own
    }
}

/// The file at `path` if it is a regular one. A symlink's file is named by the path it
/// resolves to, which still names it after the link is pointed elsewhere.
fn candidate(path: &Path) -> io::Result<Option<Candidate>> {
    let meta = fs::metadata(path)?;
    if !meta.is_file() {
        return Ok(None);
    }
    let link = fs::symlink_metadata(path)?.is_symlink();
    Candidate::new(path, &meta, link).map(Some)
}

impl Candidate {
    /// The file at `path`, a symlink to it if `link`, whose metadata is `meta`.
    fn new(path: &Path, meta: &fs::Metadata, link: bool) -> io::Result<Candidate> {
        Ok(Candidate {
            path: match link {
                true => fs::canonicalize(path)?,
                false => path.to_path_buf(),
            },
            key: key_of(meta),
            len: meta.len(),
            modified: modified(meta),
        })
    }
}

/// Where the file `key`, last seen at `path`, is now: still there, or renamed next to it
/// (rotation's `access.log` → `access.log.1`).
pub(super) fn find(path: &Path, key: FileKey) -> Option<PathBuf> {
    let is_it = |p: &Path| fs::metadata(p).is_ok_and(|m| key_of(&m) == key);
    if is_it(path) {
        return Some(path.to_path_buf());
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty())?;
    fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| is_it(p))
}

/// The regular, uncompressed files next to `path` (in its directory), for a copy of content
/// that was followed by that path alone. The directory unreadable is an error: the caller
/// tells one that passes (out of descriptors) from one that does not.
pub(super) fn siblings(path: &Path) -> io::Result<Vec<Candidate>> {
    let mut warnings = Warnings::default();
    let mut lister = Lister {
        found: IndexMap::new(),
        warnings: &mut warnings,
        own: None,
        descend: false,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        walk(dir, &mut lister)?;
    }
    Ok(lister.found.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_give_their_plain_files_once_each() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for name in [
            "access.log",
            "access.log.1",
            "access.log.2.gz",
            "error.log.3.zst",
        ] {
            fs::write(d.join(name), "x\n").unwrap();
        }
        fs::create_dir(d.join("old")).unwrap();
        std::os::unix::fs::symlink(d.join("access.log"), d.join("current")).unwrap();
        std::os::unix::fs::symlink(d.join("gone"), d.join("dangling")).unwrap();
        let mut w = Warnings::default();
        let paths = [d.to_path_buf(), d.join("access.log.1")];
        let found: Vec<PathBuf> = discover(&paths, None, &mut w)
            .into_values()
            .map(|c| c.path)
            .collect();
        assert_eq!(found, vec![d.join("access.log"), d.join("access.log.1")]);
        assert!(w.take().is_empty());
    }

    #[test]
    fn subdirectories_are_listed_but_not_the_state_directory_inside_one() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir_all(d.join("site1")).unwrap();
        fs::create_dir_all(d.join("state")).unwrap();
        fs::write(d.join("site1/access.log"), "x\n").unwrap();
        fs::write(d.join("state/tail.json"), "{}").unwrap();
        std::os::unix::fs::symlink("..", d.join("site1/up")).unwrap();
        let own = d.join("state").canonicalize().unwrap();
        let mut w = Warnings::default();
        let found: Vec<PathBuf> = discover(&[d.to_path_buf()], Some(&own), &mut w)
            .into_values()
            .map(|c| c.path)
            .collect();
        assert_eq!(found, vec![d.join("site1/access.log")]);
        let shown: Vec<String> = w.take().iter().map(|e| e.to_string()).collect();
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert!(
            shown[0].contains("site1/up: a link to a directory"),
            "{shown:?}"
        );
        // A file's siblings are its directory's files alone.
        assert_eq!(siblings(&d.join("site1/access.log")).unwrap().len(), 1);
        assert!(siblings(&d.join("x.log")).unwrap().is_empty());
    }

    #[test]
    fn a_symlink_is_named_by_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().canonicalize().unwrap();
        fs::write(d.join("a.log"), "x\n").unwrap();
        std::os::unix::fs::symlink("a.log", d.join("current.log")).unwrap();
        let found = discover(&[d.join("current.log")], None, &mut Warnings::default());
        let c = found.values().next().unwrap();
        assert_eq!(c.path, d.join("a.log"));
        assert_eq!(find(&c.path, c.key), Some(d.join("a.log")));
    }

    #[test]
    fn an_entry_that_cannot_be_looked_at_does_not_hide_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("access.log"), "x\n").unwrap();
        std::os::unix::fs::symlink("loop", d.join("loop")).unwrap();
        let mut w = Warnings::default();
        assert_eq!(discover(&[d.to_path_buf()], None, &mut w).len(), 1);
        let shown = w.take();
        assert_eq!(shown.len(), 1);
        assert!(
            shown[0].to_string().contains("loop: Too many levels"),
            "{}",
            shown[0]
        );
    }

    #[test]
    fn missing_and_compressed_paths_warn_once() {
        let dir = tempfile::tempdir().unwrap();
        let gz = dir.path().join("old.log.gz");
        fs::write(&gz, "x").unwrap();
        let paths = [dir.path().join("missing.log"), gz];
        let mut w = Warnings::default();
        assert!(discover(&paths, None, &mut w).is_empty());
        assert!(discover(&paths, None, &mut w).is_empty());
        let shown: Vec<String> = w.take().iter().map(|e| e.to_string()).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(shown[0].contains("missing.log: No such file"), "{shown:?}");
        assert!(
            shown[1].ends_with("old.log.gz: compressed, not followed"),
            "{shown:?}"
        );
    }

    #[test]
    fn the_state_directory_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("tail.json"), "{}").unwrap();
        let own = dir.path().canonicalize().unwrap();
        let mut w = Warnings::default();
        assert!(discover(&[dir.path().to_path_buf()], Some(&own), &mut w).is_empty());
        assert_eq!(discover(&[dir.path().to_path_buf()], None, &mut w).len(), 1);
    }

    #[test]
    fn a_renamed_file_is_found_next_to_its_old_name() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("access.log");
        fs::write(&old, "x\n").unwrap();
        let key = key_of(&fs::metadata(&old).unwrap());
        fs::rename(&old, dir.path().join("access.log.1")).unwrap();
        fs::write(&old, "y\n").unwrap();
        assert_eq!(find(&old, key), Some(dir.path().join("access.log.1")));
        assert_eq!(siblings(&old).unwrap().len(), 2);
    }
}
