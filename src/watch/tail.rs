//! Follows log files and directories and hands out their new whole lines, with a checkpoint
//! that lets a restart (even after `kill -9`) go on exactly where the consumer's last stored
//! batch ended: no line lost, none handed out twice.
//!
//! A file is its inode (device and number), checked against a fingerprint of its first
//! bytes, since an inode number is reused once its file is gone. Each poll:
//! 1. lists the followed paths (a directory: every plain file in it and its subdirectories,
//!    new ones included);
//! 2. brings every known file up to date: a file held open is followed through renames
//!    (`rename` rotation: the old file, now `access.log.1` or out of sight, is read to its end
//!    first) and noticed when it shrinks or its first bytes change (truncation, `copytruncate`:
//!    read again from the start). Content that leaves its file unread to the end becomes a
//!    *ghost*: a copy of it that turns up (`access.log.1`, made by `copytruncate` just before
//!    the truncation) goes on from where the ghost was, never from the start;
//! 3. admits new files: a copy of content we read through another file is held *dormant*
//!    (read only if a ghost claims it); anything else is read from its start (from its end on
//!    a first start with `from_end`);
//! 4. reads: orphans (files no longer at a followed path) first, then oldest first; whole lines
//!    only, a partial last line waits for its newline.
//!
//! Descriptors are planned: at most half the open-file limit is held (the rest is the store's,
//! the HTTP connections' and the sinks'). Past that, files read to their end are closed while
//! idle, least recently changed first, and opened again by path and inode (their first bytes
//! checked) when the listing shows them changed; a file is never closed before it is read to
//! its end, and a file that cannot be opened for want of descriptors is opened at a later
//! poll, never taken for gone: ghosts wait for it.
//!
//! The [`Mark`] a poll returns is the state after its chunks; [`Tailer::commit`] makes it the
//! checkpoint once the consumer has stored what it derived from them. Polling, not `inotify`:
//! a busy log is written once per request, and an event per write costs more than a `stat`
//! per file per poll; the caller pauses between polls (a quarter second keeps alerts well
//! within a second) unless [`Batch::more`] says more is ready.
//!
//! What no tailer can get back, and this one does not either: lines written between
//! `copytruncate`'s copy and its truncation; past our last read, a copy compressed and deleted
//! before a poll saw it (`compress` without `delaycompress`) or content deleted while the
//! tailer was down. A last line without its newline is never handed out.

mod checkpoint;
mod discover;
mod fingerprint;

use std::collections::HashSet;
use std::fmt;
use std::fs::{self, File, TryLockError};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use indexmap::IndexMap;
use nix::errno::Errno;
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use serde::{Deserialize, Serialize};

use self::checkpoint::{Checkpoint, FileEntry, Position};
use self::discover::Candidate;
use self::fingerprint::{Fingerprint, read_head};
use crate::read::{BLOCK, MAX_LINE, display_name};

/// What to follow and where the checkpoint lives.
#[derive(Clone, Debug)]
pub struct TailConfig {
    /// Files and directories. A directory means every plain file in it and in its
    /// subdirectories ([`crate::read::MAX_DEPTH`] levels down), also ones created later;
    /// compressed ones (`.gz`, `.bz2`, `.xz`, `.zst`) are skipped, and so is the state
    /// directory.
    pub paths: Vec<PathBuf>,
    /// Holds the checkpoint (`tail.json`) and a lock against a second tailer using it.
    pub state_dir: PathBuf,
    /// On a first start (no checkpoint), start at the end the files have when the tailer is
    /// opened instead of their beginning. Files created later are always read from their
    /// beginning.
    pub from_end: bool,
}

/// A file: its device and inode numbers. Shown as `dev:ino`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileKey {
    pub dev: u64,
    pub ino: u64,
}

impl fmt::Display for FileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.dev, self.ino)
    }
}

/// Whole lines read from one file, each ending in `\n`.
#[derive(Debug)]
pub struct Chunk {
    /// The file, the same through renames: the key to keep per-file state (its format) by.
    pub file: FileKey,
    /// Where the file was when read.
    pub path: PathBuf,
    /// Where in the file the bytes start: 0 for a file read from its start, also again after
    /// a truncation (its content may then be of another format).
    pub offset: u64,
    pub bytes: Vec<u8>,
}

/// What one poll read.
#[derive(Debug)]
pub struct Batch {
    pub chunks: Vec<Chunk>,
    /// Lines longer than [`MAX_LINE`] skipped in this batch, never handed out.
    pub oversized: u64,
    /// More is ready to read: poll again without pausing.
    pub more: bool,
    /// The position after this batch, to [`Tailer::commit`] once it is stored.
    pub mark: Mark,
}

/// The tailer's position after a batch: what a checkpoint holds. A consumer that keeps its
/// own store can keep this in the same transaction ([`Mark::to_json`]) and [`Tailer::resume`]
/// from it, which makes storing and checkpointing one atomic step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark(Checkpoint);

impl Mark {
    pub fn to_json(&self) -> Result<String, TailError> {
        self.0.to_json()
    }

    pub fn from_json(text: &str) -> Result<Mark, TailError> {
        Checkpoint::from_json(text, "checkpoint").map(Mark)
    }
}

/// Why the tailer could not go on, or (from [`Tailer::take_warnings`]) what it could not
/// follow for now. Messages are whole (`PATH: REASON`).
#[derive(Debug, thiserror::Error)]
pub enum TailError {
    #[error("{path}: {error}")]
    Io { path: String, error: io::Error },
    #[error("{path}: unreadable checkpoint ({reason}); move it away to start over")]
    Checkpoint { path: String, reason: String },
    #[error("{path}: in use by another tailer")]
    Busy { path: String },
    #[error("{path}: compressed, not followed")]
    Compressed { path: String },
    /// A directory inside a followed one left out on purpose (too deep, walked already).
    #[error("{path}: {why}")]
    NotFollowed { path: String, why: String },
    #[error(
        "{files} files followed, more than the {open} held open at once (half the open-file \
         limit, `ulimit -n`): idle ones are closed and opened again when they grow"
    )]
    Budget { files: usize, open: usize },
}

fn io_error(path: &Path, error: io::Error) -> TailError {
    TailError::Io {
        path: display_name(path),
        error,
    }
}

/// Problems to report once each: a path that keeps failing on every poll is reported again
/// only after it has worked in between.
#[derive(Default)]
struct Warnings {
    shown: HashSet<PathBuf>,
    new: Vec<TailError>,
    /// A followed path could not be listed for want of descriptors: not a warning (it passes),
    /// but the listing is incomplete, and nothing may be taken for gone by it.
    exhausted: bool,
}

impl Warnings {
    fn warn(&mut self, path: &Path, error: TailError) {
        if self.shown.insert(path.to_path_buf()) {
            self.new.push(error);
        }
    }

    fn clear(&mut self, path: &Path) {
        self.shown.remove(path);
    }

    fn take(&mut self) -> Vec<TailError> {
        std::mem::take(&mut self.new)
    }
}

/// How long a file no longer at a followed path (rotated away, deleted, a symlink pointed
/// elsewhere) is still read after it stopped growing: a writer goes on writing to it until
/// it reopens its log.
const ORPHAN_GRACE: Duration = Duration::from_secs(5);

/// Most bytes one poll reads, so that a batch stays a bounded amount of memory and a
/// checkpoint comes often while history is read.
const POLL_BUDGET: usize = 4 * BLOCK;

/// Read blocks kept for reuse.
const SPARE_BLOCKS: usize = 8;

/// A file followed, or known from the checkpoint and not found again yet.
struct Tracked {
    key: FileKey,
    pos: Position,
    dormant: bool,
    retired: bool,
    /// `None` until found again after a restart, or while unreadable. Held open, it keeps
    /// the inode from being reused and lets a renamed or deleted file be read to its end.
    file: Option<File>,
    /// At a followed path in the latest listing; if not, an orphan.
    followed: bool,
    /// Length and modification time at the latest look, to notice change.
    len: u64,
    modified: Option<SystemTime>,
    changed_at: Instant,
    /// Read up to `len`, only a partial line (if anything) left.
    at_end: bool,
    /// Closed while idle to save a descriptor.
    parked: Option<Parked>,
}

/// A file closed while idle, read to its end, to be opened again when it changes.
struct Parked {
    /// The poll it was closed at: the longest closed is opened first.
    turn: u64,
    /// Its first bytes, to tell a copy of it just begun ([`begins`]).
    head: Vec<u8>,
}

impl Tracked {
    fn new(key: FileKey, pos: Position, file: Option<File>) -> Tracked {
        Tracked {
            key,
            pos,
            dormant: false,
            retired: false,
            file,
            followed: false,
            len: 0,
            modified: None,
            changed_at: Instant::now(),
            at_end: false,
            parked: None,
        }
    }

    /// An orphan read to its end and quiet for long enough: to be let go.
    fn finished(&self, now: Instant) -> bool {
        !self.followed
            && (self.dormant || self.at_end)
            && now.duration_since(self.changed_at) >= ORPHAN_GRACE
    }

    /// Whether the file is still where it was last seen.
    fn still_there(&self) -> bool {
        fs::metadata(&self.pos.path).is_ok_and(|m| discover::key_of(&m) == self.key)
    }
}

/// Content whose file lost it, waiting a little for a copy of it to show up.
struct Ghost {
    pos: Position,
    /// Admissions left: the copy is made before the truncation that made the ghost, so it is
    /// in the next listing at the latest.
    rounds: u8,
}

impl Ghost {
    fn new(pos: Position) -> Ghost {
        Ghost { pos, rounds: 2 }
    }
}

/// Where a new file starts.
enum Start {
    At {
        offset: u64,
        skipping: bool,
    },
    /// A copy of content read through another file.
    Dormant,
    /// Perhaps a copy still being written: decided when it has more bytes.
    Undecided,
}

/// What the reads of one poll gave so far.
#[derive(Default)]
struct Progress {
    chunks: Vec<Chunk>,
    oversized: u64,
    /// Bytes read.
    read: usize,
    more: bool,
}

/// Follows files; see the module documentation.
pub struct Tailer {
    config: TailConfig,
    files: Vec<Tracked>,
    ghosts: Vec<Ghost>,
    /// Start new files at their end: only in the first poll of a first start.
    from_end: bool,
    warnings: Warnings,
    spare: Vec<Vec<u8>>,
    /// The state directory, canonical, never followed.
    own: Option<PathBuf>,
    /// How many files may be open at once; how many more this poll may open; whether one
    /// could not be opened for want of descriptors this poll; polls so far.
    budget: usize,
    room: usize,
    starved: bool,
    turn: u64,
    /// Closing idle files was said once.
    said_budget: bool,
    /// Held for the tailer's life: the lock on the state directory.
    _lock: File,
}

impl Tailer {
    /// Follows `config.paths` from the checkpoint in `config.state_dir`, if there is one.
    pub fn open(config: TailConfig) -> Result<Tailer, TailError> {
        let lock = lock(&config.state_dir)?;
        let checkpoint = checkpoint::load(&config.state_dir)?;
        Ok(Tailer::start(config, checkpoint, lock))
    }

    /// Follows `config.paths` from a mark the consumer kept itself (`None`: a first start).
    /// [`Tailer::commit`] still writes to `config.state_dir`; a consumer resuming this way
    /// need not call it.
    pub fn resume(config: TailConfig, mark: Option<Mark>) -> Result<Tailer, TailError> {
        let lock = lock(&config.state_dir)?;
        Ok(Tailer::start(config, mark.map(|m| m.0), lock))
    }

    fn start(config: TailConfig, checkpoint: Option<Checkpoint>, lock: File) -> Tailer {
        let from_end = config.from_end && checkpoint.is_none();
        let own = fs::canonicalize(&config.state_dir).ok();
        let (files, ghosts) = checkpoint.map_or_else(Default::default, |c| (c.files, c.ghosts));
        let mut tailer = Tailer {
            config,
            files: files
                .into_iter()
                .map(|e| {
                    let mut t = Tracked::new(e.key, e.pos, None);
                    (t.dormant, t.retired) = (e.dormant, e.retired);
                    t
                })
                .collect(),
            ghosts: ghosts.into_iter().map(Ghost::new).collect(),
            from_end,
            warnings: Warnings::default(),
            spare: Vec::new(),
            own,
            budget: descriptor_budget(),
            room: 0,
            starved: false,
            turn: 0,
            said_budget: false,
            _lock: lock,
        };
        // The ends are taken now, not at the first poll: a line written once the caller is
        // under way (and says so) comes after them and is read.
        if from_end {
            tailer.survey(Instant::now());
        }
        tailer
    }

    /// Reads what is new (whole lines) in every followed file, up to a budget.
    pub fn poll(&mut self) -> Batch {
        self.poll_at(Instant::now())
    }

    /// [`Tailer::poll`] at the moment `now`, which decides when orphans are let go.
    fn poll_at(&mut self, now: Instant) -> Batch {
        self.survey(now);
        let mut files = std::mem::take(&mut self.files);
        let mut progress = Progress::default();
        self.read(&mut files, &mut progress);
        self.files = files;
        if self.starved {
            self.park_idle();
        }
        Batch {
            chunks: progress.chunks,
            oversized: progress.oversized,
            more: progress.more,
            mark: self.mark(),
        }
    }

    /// Brings the known files up to date with the followed paths and admits new ones (steps
    /// 1 to 3 of the module documentation), reading nothing yet.
    fn survey(&mut self, now: Instant) {
        self.turn += 1;
        let held = self.files.iter().filter(|t| t.file.is_some()).count();
        self.room = self.budget.saturating_sub(held);
        self.starved = false;
        self.files
            .sort_by_key(|t| t.parked.as_ref().map(|p| p.turn));
        let own = self.own.as_deref();
        let mut found = discover::discover(&self.config.paths, own, &mut self.warnings);
        if std::mem::take(&mut self.warnings.exhausted) {
            self.starved = true;
            return;
        }
        self.reconcile(&mut found, now);
        self.claim_dormant();
        self.admit(found.into_values().collect());
        self.claim_siblings();
        self.from_end = false;
        // A ghost's copy may be among the files not opened for want of descriptors.
        if !self.starved {
            self.ghosts.retain_mut(|g| {
                g.rounds -= 1;
                g.rounds > 0
            });
        }
    }

    /// Takes a descriptor from this poll's room; false, and starved, if there is none left.
    fn take_room(&mut self) -> bool {
        if self.room == 0 {
            self.starved = true;
            return false;
        }
        self.room -= 1;
        true
    }

    /// Closes idle files (followed, read to their end, not copies on hold), least recently
    /// changed first, until half the budget is free for the files waiting to be opened.
    fn park_idle(&mut self) {
        let held = self.files.iter().filter(|t| t.file.is_some()).count();
        let excess = held.saturating_sub(self.budget / 2);
        let turn = self.turn;
        let mut idle: Vec<&mut Tracked> = self
            .files
            .iter_mut()
            .filter(|t| t.file.is_some() && t.followed && t.at_end && !t.dormant)
            .collect();
        idle.sort_by_key(|t| t.changed_at);
        for t in idle.into_iter().take(excess) {
            let head = t.file.take().and_then(|f| read_head(&f).ok());
            t.parked = Some(Parked {
                turn,
                head: head.unwrap_or_default(),
            });
        }
        if excess > 0 && !std::mem::replace(&mut self.said_budget, true) {
            self.warnings.new.push(TailError::Budget {
                files: self.files.len(),
                open: self.budget,
            });
        }
    }

    /// Makes `mark` the checkpoint: call once what was derived from the batches up to it is
    /// stored. Written atomically and fsynced, so a crash leaves this checkpoint or the one
    /// before. A mark equal to the last one committed need not be written again.
    pub fn commit(&self, mark: &Mark) -> Result<(), TailError> {
        checkpoint::store(&self.config.state_dir, &mark.to_json()?)
    }

    /// Gives a chunk's bytes back once consumed, for their memory to hold a later chunk.
    pub fn recycle(&mut self, bytes: Vec<u8>) {
        if self.spare.len() < SPARE_BLOCKS {
            self.spare.push(bytes);
        }
    }

    /// The files being read (followed, or rotated away and read to their end), where each
    /// is and how many of its bytes are read: for a status page.
    pub fn positions(&self) -> impl Iterator<Item = (FileKey, &Path, u64)> {
        self.files
            .iter()
            .filter(|t| (t.file.is_some() || t.parked.is_some()) && !t.dormant)
            .map(|t| (t.key, t.pos.path.as_path(), t.pos.offset))
    }

    /// Paths that could not be followed since the last call (missing, unreadable,
    /// compressed), each once until it works again.
    pub fn take_warnings(&mut self) -> Vec<TailError> {
        self.warnings.take()
    }

    fn mark(&self) -> Mark {
        let files = self.files.iter().map(|t| FileEntry {
            key: t.key,
            pos: t.pos.clone(),
            dormant: t.dormant,
            retired: t.retired,
        });
        let ghosts = self.ghosts.iter().map(|g| g.pos.clone());
        Mark(Checkpoint::new(files.collect(), ghosts.collect()))
    }

    /// Brings every known file up to date with the listing; takes from `found` the files
    /// that are known, leaving the new ones.
    fn reconcile(&mut self, found: &mut IndexMap<FileKey, Candidate>, now: Instant) {
        for mut t in std::mem::take(&mut self.files) {
            let candidate = found.get(&t.key);
            let keep = if t.file.is_some() {
                self.refresh(&mut t, candidate, now)
            } else if t.retired && candidate.is_none() {
                t.still_there()
            } else if t.parked.is_some()
                && candidate.is_some_and(|c| (c.len, c.modified) == (t.len, t.modified))
            {
                // Closed while idle, and still idle.
                true
            } else {
                self.adopt(&mut t, candidate, now)
            };
            if keep {
                found.shift_remove(&t.key);
                self.files.push(t);
            }
        }
    }

    /// A file held open: where it is now, whether it changed. An orphan done with is closed
    /// (its disk space freed if deleted), and remembered while it exists; false: forgotten.
    fn refresh(&mut self, t: &mut Tracked, candidate: Option<&Candidate>, now: Instant) -> bool {
        match candidate {
            Some(c) => t.pos.path.clone_from(&c.path),
            // Just left the followed paths: its new name is where a restart looks for it.
            None if t.followed => {
                if let Some(p) = discover::find(&t.pos.path, t.key) {
                    t.pos.path = p;
                }
            }
            None => {}
        }
        t.followed = candidate.is_some();
        if let Err(e) = self.look(t, now) {
            self.warnings.warn(&t.pos.path, io_error(&t.pos.path, e));
        }
        if t.finished(now) {
            t.file = None;
            t.retired = true;
            return t.still_there();
        }
        true
    }

    /// A file known from the checkpoint (or unreadable until now), found again at a followed
    /// path or at its last path, with the same content. Kept while unreadable, to retry;
    /// dropped when gone or replaced, its content left as a ghost (which finds the file by its
    /// content if it was only renamed next to its last path).
    fn adopt(&mut self, t: &mut Tracked, candidate: Option<&Candidate>, now: Instant) -> bool {
        let path = candidate.map_or_else(|| t.pos.path.clone(), |c| c.path.clone());
        if !self.take_room() {
            return true;
        }
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.bury(t);
                return false;
            }
            Err(e) if out_of_descriptors(&e) => {
                self.starved = true;
                return true;
            }
            Err(e) => {
                self.warnings.warn(&path, io_error(&path, e));
                return true;
            }
        };
        self.warnings.clear(&path);
        if !same_content(&file, t.key, &t.pos).unwrap_or(false) {
            self.bury(t);
            return false;
        }
        t.file = Some(file);
        t.parked = None;
        t.retired = false;
        t.pos.path = path;
        t.changed_at = now;
        self.refresh(t, candidate, now)
    }

    /// Leaves the unread rest of a vanished file's content as a ghost, for a copy to claim.
    fn bury(&mut self, t: &Tracked) {
        if !t.dormant && t.pos.fp.len > 0 {
            self.ghosts.push(Ghost::new(t.pos.clone()));
        }
    }

    /// Notices growth and truncation of a file held open.
    fn look(&mut self, t: &mut Tracked, now: Instant) -> io::Result<()> {
        let Some(file) = &t.file else { return Ok(()) };
        let meta = file.metadata()?;
        let stamp = (meta.len(), discover::modified(&meta));
        if stamp == (t.len, t.modified) {
            return Ok(());
        }
        (t.len, t.modified) = stamp;
        t.changed_at = now;
        t.at_end = false;
        self.check(t).map(drop)
    }

    /// Whether a file still holds the content we were reading (its first bytes unchanged, not
    /// shorter than our offset); the fingerprint grows with the file up to its full length.
    /// If not (truncated, or rewritten in place), the old content becomes a ghost and the file
    /// is read from its start.
    fn check(&mut self, t: &mut Tracked) -> io::Result<bool> {
        let Some(file) = &t.file else { return Ok(true) };
        let head = read_head(file)?;
        let fp = Fingerprint::of(&head);
        if t.len >= t.pos.offset && t.pos.fp.starts(&head) {
            t.pos.fp = fp;
            return Ok(true);
        }
        self.bury(t);
        t.pos = Position {
            path: t.pos.path.clone(),
            fp,
            offset: 0,
            skipping: false,
        };
        t.dormant = false;
        t.at_end = false;
        Ok(false)
    }

    /// Ghosts claim the dormant copies of their content: read from where the ghost was.
    fn claim_dormant(&mut self) {
        let files = &mut self.files;
        self.ghosts.retain(|g| {
            let copy = files.iter_mut().find(|t| {
                t.dormant
                    && t.file
                        .as_ref()
                        .and_then(|f| read_head(f).ok())
                        .is_some_and(|head| copies(&g.pos, &head, t.len))
            });
            copy.map(|t| continue_from(t, &g.pos)).is_none()
        });
    }

    /// Starts following new files, larger ones first so that a copy finds its original
    /// already known.
    fn admit(&mut self, mut fresh: Vec<Candidate>) {
        fresh.sort_by_key(|c| std::cmp::Reverse(c.len));
        for c in fresh {
            if let Some(mut t) = self.open_new(&c) {
                t.followed = true;
                self.files.push(t);
            }
        }
    }

    /// A ghost whose file was followed by its own path finds its copy next to it
    /// (`access.log.1` for a followed `access.log`), read as an orphan from the ghost on.
    fn claim_siblings(&mut self) {
        let files = &self.files;
        let mut found = Vec::new();
        let (mut room, mut starved) = (self.room, self.starved);
        self.ghosts.retain(|g| {
            if room == 0 {
                starved = true;
                return true;
            }
            match sibling_copy(&g.pos, files, &found, &mut starved) {
                Some(t) => {
                    room -= 1;
                    found.push(t);
                    false
                }
                None => true,
            }
        });
        (self.room, self.starved) = (room, starved);
        self.files.extend(found);
    }

    /// Opens a new file and decides where it starts; `None` if it cannot be read yet or may
    /// be a copy still being written.
    fn open_new(&mut self, c: &Candidate) -> Option<Tracked> {
        if !self.take_room() {
            return self.unopened_at_end(c);
        }
        let file = match File::open(&c.path) {
            Ok(file) => file,
            Err(e) if out_of_descriptors(&e) => {
                self.starved = true;
                return self.unopened_at_end(c);
            }
            Err(e) => {
                // Gone since the listing: nothing to say.
                if e.kind() != io::ErrorKind::NotFound {
                    self.warnings.warn(&c.path, io_error(&c.path, e));
                }
                return None;
            }
        };
        self.warnings.clear(&c.path);
        let meta = file.metadata().ok()?;
        let head = read_head(&file).ok()?;
        // Replaced between the listing and the open: the next poll sees the new one.
        if discover::key_of(&meta) != c.key {
            return None;
        }
        let (offset, skipping, dormant) = match self.start_of(&head, &file, meta.len()) {
            Start::At { offset, skipping } => (offset, skipping, false),
            Start::Dormant => (0, false, true),
            Start::Undecided => return None,
        };
        let pos = Position {
            path: c.path.clone(),
            fp: Fingerprint::of(&head),
            offset,
            skipping,
        };
        let mut t = Tracked::new(c.key, pos, Some(file));
        t.dormant = dormant;
        (t.len, t.modified) = (meta.len(), discover::modified(&meta));
        Some(t)
    }

    /// On a first start with `from_end`, a file there is no descriptor for yet starts at its
    /// end all the same, as the listing saw it: opened later, it is read from there.
    fn unopened_at_end(&self, c: &Candidate) -> Option<Tracked> {
        if !self.from_end {
            return None;
        }
        let pos = Position {
            path: c.path.clone(),
            fp: Fingerprint::default(),
            offset: c.len,
            skipping: false,
        };
        let mut t = Tracked::new(c.key, pos, None);
        (t.len, t.modified) = (c.len, c.modified);
        t.parked = Some(Parked {
            turn: self.turn,
            head: Vec::new(),
        });
        Some(t)
    }

    /// Where a new file whose first bytes are `head` starts: where a ghost of its content
    /// was; nowhere (dormant) if it copies content followed in another file; from its end
    /// on a first start with `from_end`; else from its start.
    fn start_of(&mut self, head: &[u8], file: &File, len: u64) -> Start {
        if let Some(i) = self.ghosts.iter().position(|g| copies(&g.pos, head, len)) {
            let g = self.ghosts.swap_remove(i);
            return Start::At {
                offset: g.pos.offset,
                skipping: g.pos.skipping,
            };
        }
        if self.files.iter().any(|t| t.pos.fp.recognises(head)) {
            return Start::Dormant;
        }
        if self.files.iter().any(|t| begins(t, head)) {
            return Start::Undecided;
        }
        if self.from_end {
            // Inside a line at the very end: skip to its newline.
            let mut last = [0];
            let inside =
                len > 0 && matches!(file.read_at(&mut last, len - 1), Ok(1)) && last[0] != b'\n';
            return Start::At {
                offset: len,
                skipping: inside,
            };
        }
        Start::At {
            offset: 0,
            skipping: false,
        }
    }

    /// Reads every file up to the poll's budget: orphans first (the old file of a rotation
    /// before the new one), then the least recently modified first (history in order).
    fn read(&mut self, files: &mut [Tracked], progress: &mut Progress) {
        let mut order: Vec<&mut Tracked> = files
            .iter_mut()
            .filter(|t| !t.dormant && t.file.is_some())
            .collect();
        order.sort_by_key(|t| (t.followed, t.modified));
        for t in order {
            if let Err(e) = self.read_file(t, progress) {
                self.warnings.warn(&t.pos.path, io_error(&t.pos.path, e));
            }
        }
    }

    /// Reads one file from its offset up to the length seen at this poll, one block of whole
    /// lines at a time.
    fn read_file(&mut self, t: &mut Tracked, progress: &mut Progress) -> io::Result<()> {
        while t.pos.offset < t.len {
            if progress.read >= POLL_BUDGET {
                progress.more = true;
                return Ok(());
            }
            let Some(file) = &t.file else { return Ok(()) };
            let mut buf = self.spare.pop().unwrap_or_default();
            buf.clear();
            fill(file, t.pos.offset, t.len, t.pos.skipping, &mut buf)?;
            progress.read += buf.len();
            // Truncated and rewritten since the look: these bytes are not what follows our
            // offset. The file is read again from its start.
            if buf.is_empty() || !self.check(t)? {
                self.recycle(buf);
                progress.more = true;
                return Ok(());
            }
            let cut = cut(&buf, t.pos.skipping);
            let offset = t.pos.offset;
            t.pos.offset += cut.advance as u64;
            t.pos.skipping = cut.skipping;
            progress.oversized += u64::from(cut.oversized);
            if cut.lines > 0 {
                buf.truncate(cut.lines);
                progress.chunks.push(Chunk {
                    file: t.key,
                    path: t.pos.path.clone(),
                    offset,
                    bytes: buf,
                });
            } else {
                self.recycle(buf);
            }
            if cut.advance == 0 {
                break;
            }
        }
        t.at_end = true;
        Ok(())
    }
}

/// Takes the lock on the state directory (creating it): two tailers sharing one checkpoint
/// would overwrite each other's.
fn lock(dir: &Path) -> Result<File, TailError> {
    fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let path = dir.join("tail.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io_error(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(TailError::Busy {
            path: display_name(dir),
        }),
        Err(TryLockError::Error(e)) => Err(io_error(&path, e)),
    }
}

/// Raises this process's limit on open files to the most it may have (its hard limit), for
/// the tailer to hold as many followed files open as it can. Best effort: where the limit
/// cannot be raised, the budget is planned within the one there is.
pub fn raise_descriptor_limit() {
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < hard
    {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

/// How many followed files may be open at once: half the open-file limit, the other half
/// left to the store, the HTTP connections and the sinks.
fn descriptor_budget() -> usize {
    let limit = getrlimit(Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft);
    usize::try_from(limit / 2).unwrap_or(usize::MAX).max(1)
}

/// Whether an open failed for want of descriptors (the process's or the system's): to try
/// again later, not a sign the file is gone.
fn out_of_descriptors(e: &io::Error) -> bool {
    e.raw_os_error()
        .is_some_and(|n| matches!(Errno::from_raw(n), Errno::EMFILE | Errno::ENFILE))
}

/// Whether `file` is the file `key` and still holds the content at `pos`.
fn same_content(file: &File, key: FileKey, pos: &Position) -> io::Result<bool> {
    let meta = file.metadata()?;
    Ok(discover::key_of(&meta) == key
        && meta.len() >= pos.offset
        && pos.fp.starts(&read_head(file)?))
}

/// Whether `head` is the start of `t`'s content but too short to tell a copy of it from a
/// new file (an empty file, a copy just begun).
fn begins(t: &Tracked, head: &[u8]) -> bool {
    if head.len() >= t.pos.fp.len as usize {
        return false;
    }
    match (&t.file, &t.parked) {
        (Some(f), _) => read_head(f).is_ok_and(|own| own.starts_with(head)),
        (None, Some(p)) => p.head.starts_with(head),
        (None, None) => false,
    }
}

/// Whether a file whose first bytes are `head` and length `len` is a copy of the content a
/// ghost at `ghost` was: it starts the same and reaches the ghost's offset (a copy made after
/// our last read has at least what we read).
fn copies(ghost: &Position, head: &[u8], len: u64) -> bool {
    len >= ghost.offset && ghost.fp.recognises(head)
}

/// The copy of a ghost's content next to the file it left, not followed yet; `starved` is
/// set if a sibling could not be looked at for want of descriptors.
fn sibling_copy(
    ghost: &Position,
    files: &[Tracked],
    found: &[Tracked],
    starved: &mut bool,
) -> Option<Tracked> {
    let known = |c: &Candidate| files.iter().chain(found).any(|t| t.key == c.key);
    discover::siblings(&ghost.path)
        .map_err(|e| *starved |= out_of_descriptors(&e))
        .ok()?
        .into_iter()
        .filter(|c| !known(c))
        .find_map(|c| {
            let file = File::open(&c.path)
                .map_err(|e| *starved |= out_of_descriptors(&e))
                .ok()?;
            let head = read_head(&file).ok()?;
            copies(ghost, &head, c.len).then(|| {
                let pos = Position {
                    path: c.path,
                    fp: Fingerprint::of(&head),
                    ..ghost.clone()
                };
                Tracked::new(c.key, pos, Some(file))
            })
        })
}

/// A dormant copy goes on from where the content's ghost was.
fn continue_from(t: &mut Tracked, ghost: &Position) {
    t.pos.offset = ghost.offset;
    t.pos.skipping = ghost.skipping;
    t.dormant = false;
    t.at_end = false;
}

/// Reads from `start` (up to `end`) into `buf`: a block; more while no newline has come,
/// until the line is known to be too long. Skipping, a block at a time.
fn fill(file: &File, start: u64, end: u64, skipping: bool, buf: &mut Vec<u8>) -> io::Result<()> {
    let mut reader = file;
    reader.seek(SeekFrom::Start(start))?;
    loop {
        let before = buf.len();
        let want = (end - start - before as u64).min(BLOCK as u64);
        if want == 0 {
            return Ok(());
        }
        buf.reserve(want as usize);
        let n = reader.take(want).read_to_end(buf)?;
        let newline = memchr::memchr(b'\n', &buf[before..]).is_some();
        if n == 0 || skipping || newline || buf.len() > MAX_LINE {
            return Ok(());
        }
    }
}

/// What a read from a file's offset gives.
#[derive(Debug, PartialEq, Eq)]
struct Cut {
    /// How far the offset moves.
    advance: usize,
    /// The first bytes of the read that are whole lines, to hand out.
    lines: usize,
    /// Still inside a line too long to hand out.
    skipping: bool,
    /// A line was found too long.
    oversized: bool,
}

/// Splits a read (`buf`, from the file's offset) after its last newline. A line over
/// [`MAX_LINE`] is skipped (to its newline, if it has come); skipping, only up to the first
/// newline, handing out nothing.
fn cut(buf: &[u8], skipping: bool) -> Cut {
    let nothing = Cut {
        advance: 0,
        lines: 0,
        skipping,
        oversized: false,
    };
    let first = memchr::memchr(b'\n', buf);
    if skipping {
        return match first {
            Some(nl) => Cut {
                advance: nl + 1,
                skipping: false,
                ..nothing
            },
            None => Cut {
                advance: buf.len(),
                ..nothing
            },
        };
    }
    match (first, memchr::memrchr(b'\n', buf)) {
        // Only the first line can be this long: a read goes on past a block only while no
        // newline has come.
        (Some(first), _) if first > MAX_LINE => Cut {
            advance: first + 1,
            oversized: true,
            ..nothing
        },
        (_, Some(last)) => Cut {
            advance: last + 1,
            lines: last + 1,
            ..nothing
        },
        _ if buf.len() > MAX_LINE => Cut {
            advance: buf.len(),
            skipping: true,
            oversized: true,
            ..nothing
        },
        _ => nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_is_cut_after_its_last_newline() {
        assert_eq!(
            cut(b"a\nbb\ncc", false),
            Cut {
                advance: 5,
                lines: 5,
                skipping: false,
                oversized: false
            }
        );
        assert_eq!(cut(b"partial", false).advance, 0);
        assert_eq!(cut(b"", false).advance, 0);
    }

    #[test]
    fn a_line_too_long_is_skipped_to_its_newline() {
        let long = vec![b'x'; MAX_LINE + 1];
        let c = cut(&long, false);
        assert_eq!(
            (c.advance, c.lines, c.skipping, c.oversized),
            (long.len(), 0, true, true)
        );
        let c = cut(b"xxx", true);
        assert_eq!((c.advance, c.lines, c.skipping), (3, 0, true));
        let c = cut(b"xx\nline 2\n", true);
        assert_eq!(
            (c.advance, c.lines, c.skipping, c.oversized),
            (3, 0, false, false)
        );
    }

    /// A symlink pointed away from a file, and back once the file was let go.
    #[test]
    fn an_orphan_is_let_go_after_its_grace_and_remembered_while_it_exists() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (a, link, tmp) = (d.join("a.log"), d.join("current.log"), d.join("tmp.log"));
        fs::write(&a, "line 0\n").unwrap();
        fs::write(d.join("b.log"), "line 1\n").unwrap();
        let point = |target: &str| {
            std::os::unix::fs::symlink(target, &tmp).unwrap();
            fs::rename(&tmp, &link).unwrap();
        };
        point("a.log");
        let config = TailConfig {
            paths: vec![link.clone()],
            state_dir: d.join("state"),
            from_end: false,
        };
        let mut tailer = Tailer::open(config).unwrap();
        let lines = |b: Batch| {
            b.chunks
                .into_iter()
                .flat_map(|c| c.bytes)
                .collect::<Vec<u8>>()
        };
        assert_eq!(lines(tailer.poll()), b"line 0\n");
        point("b.log");
        fs::write(&a, "line 0\nline 2\n").unwrap();
        let now = Instant::now();
        // The orphan is read to its end first.
        assert_eq!(lines(tailer.poll_at(now)), b"line 2\nline 1\n");
        let a_key = tailer.files[0].key;
        let a_state = |t: &Tailer| {
            let a = t.files.iter().find(|t| t.key == a_key).unwrap();
            (a.file.is_some(), a.retired, a.pos.offset)
        };
        tailer.poll_at(now + ORPHAN_GRACE / 2);
        assert_eq!(a_state(&tailer), (true, false, 14));
        tailer.poll_at(now + ORPHAN_GRACE);
        assert_eq!(a_state(&tailer), (false, true, 14), "closed, remembered");
        fs::write(&a, "line 0\nline 2\nline 3\n").unwrap();
        point("a.log");
        assert_eq!(lines(tailer.poll()), b"line 3\n");
        fs::remove_file(d.join("b.log")).unwrap();
        let later = Instant::now() + ORPHAN_GRACE;
        tailer.poll_at(later);
        assert_eq!(tailer.files.len(), 1, "b.log, deleted, is forgotten");
    }

    /// A tailer on `dir` that may hold `budget` files open.
    fn tailer_with(dir: &Path, budget: usize) -> Tailer {
        let config = TailConfig {
            paths: vec![dir.join("logs")],
            state_dir: dir.join("state"),
            from_end: false,
        };
        let mut tailer = Tailer::open(config).unwrap();
        tailer.budget = budget;
        tailer
    }

    /// The lines one poll hands out.
    fn poll_lines(tailer: &mut Tailer) -> Vec<String> {
        let bytes: Vec<u8> = tailer
            .poll()
            .chunks
            .into_iter()
            .flat_map(|c| c.bytes)
            .collect();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The lines handed out by polls until one hands out nothing with no file waiting for a
    /// descriptor, sorted.
    fn drain(tailer: &mut Tailer) -> Vec<String> {
        let mut got = Vec::new();
        for _ in 0..100 {
            let lines = poll_lines(tailer);
            if lines.is_empty() && !tailer.starved {
                break;
            }
            got.extend(lines);
        }
        got.sort();
        got
    }

    fn append(path: &Path, text: &str) {
        use std::io::Write;
        let mut f = File::options()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    /// Two files may be open at once, six are followed; one is rotated by rename while
    /// closed, with lines written to it after the rename.
    #[test]
    fn files_closed_while_idle_are_read_on_from_where_they_were() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        fs::create_dir(&logs).unwrap();
        let log = |i: usize| logs.join(format!("{i}.log"));
        for i in 0..6 {
            append(&log(i), &format!("{i} a\n"));
        }
        let mut tailer = tailer_with(dir.path(), 2);
        assert_eq!(
            drain(&mut tailer),
            ["0 a", "1 a", "2 a", "3 a", "4 a", "5 a"]
        );
        assert!(tailer.files.iter().filter(|t| t.file.is_some()).count() <= 2);
        let mut old = File::options().append(true).open(log(0)).unwrap();
        fs::rename(log(0), logs.join("0.log.1")).unwrap();
        std::io::Write::write_all(&mut old, b"0 b\n").unwrap();
        append(&log(0), "0 c\n");
        for i in 1..6 {
            append(&log(i), &format!("{i} b\n"));
        }
        let want = ["0 b", "0 c", "1 b", "2 b", "3 b", "4 b", "5 b"];
        assert_eq!(drain(&mut tailer), want);
        assert!(
            tailer
                .take_warnings()
                .iter()
                .any(|w| matches!(w, TailError::Budget { .. }))
        );
    }

    /// `copytruncate` while no descriptor is free: the copy cannot be looked at for several
    /// polls, and the content it holds must not be read again once it can.
    #[test]
    fn a_copy_not_opened_for_want_of_descriptors_is_not_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        fs::create_dir(&logs).unwrap();
        let log = logs.join("access.log");
        append(&log, "line 1\nline 2\n");
        let mut tailer = tailer_with(dir.path(), 2);
        assert_eq!(drain(&mut tailer), ["line 1", "line 2"]);
        fs::copy(&log, logs.join("access.log.1")).unwrap();
        File::options()
            .write(true)
            .open(&log)
            .unwrap()
            .set_len(0)
            .unwrap();
        append(&log, "line 3\n");
        tailer.budget = 0;
        let mut got = Vec::new();
        for _ in 0..5 {
            got.extend(poll_lines(&mut tailer));
            assert!(tailer.starved, "the copy waits for a descriptor");
        }
        tailer.budget = 2;
        got.extend(drain(&mut tailer));
        assert_eq!(got, ["line 3"]);
    }

    #[test]
    fn a_file_key_shows_as_device_and_inode() {
        assert_eq!(FileKey { dev: 2049, ino: 17 }.to_string(), "2049:17");
    }

    #[test]
    fn warnings_repeat_only_after_the_path_worked() {
        let mut w = Warnings::default();
        let p = Path::new("a.log");
        let e = || io_error(p, io::Error::from(io::ErrorKind::PermissionDenied));
        w.warn(p, e());
        w.warn(p, e());
        assert_eq!(w.take().len(), 1);
        w.clear(p);
        w.warn(p, e());
        assert_eq!(w.take().len(), 1);
    }
}
