//! Walking directory trees, shared by the commands that read logs once ([`super::expand`]) and
//! by `watch`, which lists its directories again on every poll: both find per-site
//! subdirectories (`/var/log/nginx/site1/access.log`) the same way, to the same depth, and
//! neither goes round a symlink loop. `walkdir` walks; this says what was left out and why.

use std::fs::Metadata;
use std::io;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

/// How many directory levels below a followed or given directory are read: deep enough for
/// per-site and per-year layouts, bounded so a deep or generated tree cannot make a run (or a
/// poll) endless.
pub const MAX_DEPTH: usize = 8;

/// Why an entry of a tree was not read.
#[derive(Debug)]
pub enum Skip {
    /// It could not be looked at (gone meanwhile, no permission, a dangling link, out of
    /// descriptors): the visitor judges which of these are worth a word.
    Io(io::Error),
    /// A directory more than [`MAX_DEPTH`] levels down.
    TooDeep,
    /// A link to a directory it is inside of: a loop.
    Loop,
}

impl Skip {
    /// Why, for people.
    pub fn reason(&self) -> String {
        match self {
            Skip::Io(e) => e.to_string(),
            Skip::TooDeep => format!("more than {MAX_DEPTH} directory levels down, not read"),
            Skip::Loop => "a link to a directory it is in (a loop), already read".to_owned(),
        }
    }
}

/// What a walk does with what it finds.
pub trait Visit {
    /// A regular file found at `path` (`link`: through a symlink), with its metadata (the
    /// file's, not the link's).
    fn file(&mut self, path: PathBuf, meta: &Metadata, link: bool);
    /// An entry left unread, with why.
    fn skip(&mut self, path: &Path, why: Skip);
    /// Whether to walk into a subdirectory; a visitor can keep a directory of its own out.
    fn enter(&mut self, _dir: &Path, _meta: &Metadata) -> bool {
        true
    }
}

/// Every file under the directory `root`, [`MAX_DEPTH`] levels down, links followed, in a
/// deterministic order (each directory's entries by name, subdirectories where they sort).
/// `root`'s own listing failing is the caller's error to judge; anything below it that
/// cannot be read goes to [`Visit::skip`]. A file reached twice (two links to it, a
/// directory named twice) is the visitor's to notice, by inode.
pub fn walk(root: &Path, visit: &mut impl Visit) -> io::Result<()> {
    // walkdir counts the root as depth 0: its entries are 1, and a directory at
    // `MAX_DEPTH + 1` is one it may list but not enter.
    let mut entries = WalkDir::new(root)
        .follow_links(true)
        .max_depth(MAX_DEPTH + 1)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = entries.next() {
        let entry = match entry {
            Ok(entry) if entry.depth() == 0 => continue,
            Ok(entry) => entry,
            Err(e) if e.path() == Some(root) => return Err(into_io(e)),
            Err(e) => {
                let path = e.path().unwrap_or(root).to_path_buf();
                let why = match e.loop_ancestor() {
                    Some(_) => Skip::Loop,
                    None => Skip::Io(into_io(e)),
                };
                visit.skip(&path, why);
                continue;
            }
        };
        let meta = match entry.metadata() {
            Ok(meta) => meta,
            Err(e) => {
                visit.skip(entry.path(), Skip::Io(into_io(e)));
                continue;
            }
        };
        if meta.is_file() {
            let link = entry.path_is_symlink();
            visit.file(entry.into_path(), &meta, link);
        } else if meta.is_dir() {
            if entry.depth() > MAX_DEPTH {
                visit.skip(entry.path(), Skip::TooDeep);
            } else if !visit.enter(entry.path(), &meta) {
                entries.skip_current_dir();
            }
        }
    }
    Ok(())
}

/// The I/O error behind a walk error (a loop has none: it is said as such).
fn into_io(e: walkdir::Error) -> io::Error {
    let text = e.to_string();
    e.into_io_error().unwrap_or_else(|| io::Error::other(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[derive(Default)]
    struct Seen {
        files: Vec<PathBuf>,
        skipped: Vec<(PathBuf, String)>,
    }

    impl Visit for Seen {
        fn file(&mut self, path: PathBuf, _meta: &Metadata, _link: bool) {
            self.files.push(path);
        }
        fn skip(&mut self, path: &Path, why: Skip) {
            self.skipped.push((path.to_path_buf(), why.reason()));
        }
        fn enter(&mut self, dir: &Path, _meta: &Metadata) -> bool {
            !dir.ends_with("kept-out")
        }
    }

    fn walk(root: &Path) -> Seen {
        let mut seen = Seen::default();
        super::walk(root, &mut seen).unwrap();
        seen
    }

    #[test]
    fn subdirectories_are_walked_in_name_order_and_loops_once() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir_all(d.join("site1")).unwrap();
        fs::create_dir_all(d.join("kept-out")).unwrap();
        fs::write(d.join("site1/access.log"), "x\n").unwrap();
        fs::write(d.join("kept-out/access.log"), "x\n").unwrap();
        fs::write(d.join("error.log"), "x\n").unwrap();
        std::os::unix::fs::symlink(d, d.join("site1/up")).unwrap();
        let seen = walk(d);
        assert_eq!(
            seen.files,
            vec![d.join("error.log"), d.join("site1/access.log")]
        );
        assert_eq!(seen.skipped.len(), 1, "{:?}", seen.skipped);
        assert_eq!(seen.skipped[0].0, d.join("site1/up"));
        assert!(seen.skipped[0].1.contains("loop"));
    }

    #[test]
    fn depth_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let mut deep = dir.path().to_path_buf();
        for level in 0..=MAX_DEPTH {
            deep.push(format!("d{level}"));
            fs::create_dir(&deep).unwrap();
            fs::write(deep.join("a.log"), "x\n").unwrap();
        }
        let seen = walk(dir.path());
        assert_eq!(seen.files.len(), MAX_DEPTH);
        assert_eq!(seen.skipped.len(), 1);
        assert!(seen.skipped[0].0.ends_with(format!("d{MAX_DEPTH}")));
        assert!(seen.skipped[0].1.contains("directory levels down"));
    }
}
