//! Plain log files read in place: mapped into memory and handed out as blocks that borrow the
//! mapping, instead of copied out of the page cache a block at a time (that copy is about a
//! fifth of the work of reading an access log).
//!
//! A mapped file that shrinks while it is read (rotated by copytruncate, say) turns the next
//! read of a page past its new end into a SIGBUS. The handler installed with the first mapping
//! says so in one line and exits 2: the run stops, but never without a word.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::ops::{Deref, Range};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, Once, PoisonError};

use memmap2::Mmap;

use super::{BLOCK, Blocks, MAX_LINE};

/// Files smaller than this are read: mapping one costs more than copying it.
const MIN_MAPPED: u64 = 4 * BLOCK as u64;

/// A block of whole lines: in memory of its own, or a part of a mapped file.
#[derive(Debug)]
pub enum Block {
    Owned(Vec<u8>),
    Mapped(Held),
}

impl Deref for Block {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Block::Owned(bytes) => bytes,
            Block::Mapped(held) => &held.file.map[held.range.clone()],
        }
    }
}

/// A file mapped, and which of the blocks handed out of it are still held somewhere.
#[derive(Debug)]
pub struct MappedFile {
    map: Mmap,
    /// The blocks still held: where each started when handed out, and where it ends now.
    held: Mutex<BTreeMap<usize, usize>>,
}

impl MappedFile {
    fn new(map: Mmap) -> Arc<Self> {
        Arc::new(MappedFile {
            map,
            held: Mutex::default(),
        })
    }

    /// The bytes in `range` as a block, held until it is dropped.
    fn hold(self: &Arc<Self>, range: Range<usize>) -> Block {
        self.held().insert(range.start, range.end);
        Block::Mapped(Held {
            file: Arc::clone(self),
            start: range.start,
            range,
        })
    }

    fn held(&self) -> MutexGuard<'_, BTreeMap<usize, usize>> {
        // A panic while the set was locked left it whole: each change is one call.
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A block of a mapped file, counted as held until it is dropped.
#[derive(Debug)]
pub struct Held {
    file: Arc<MappedFile>,
    range: Range<usize>,
    /// Where it started when handed out (a neighbour may have taken its head since).
    start: usize,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.file.held().remove(&self.start);
    }
}

/// The size of a memory page.
fn page_size() -> usize {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    // SAFETY: sysconf has no preconditions.
    *PAGE.get_or_init(
        || match unsafe { nix::libc::sysconf(nix::libc::_SC_PAGESIZE) } {
            n if n > 0 => n as usize,
            _ => 4096,
        },
    )
}

impl Block {
    /// Moves the first `head` bytes of `next`, the block after this one, to this one's end.
    pub fn take_head(&mut self, next: &mut Block, head: usize) {
        if head == 0 {
            return;
        }
        match (&mut *self, &mut *next) {
            // Neighbours in one mapping: only where they meet moves.
            (Block::Mapped(this), Block::Mapped(after))
                if Arc::ptr_eq(&this.file, &after.file) && this.range.end == after.range.start =>
            {
                this.range.end += head;
                after.range.start += head;
                this.file.held().insert(this.start, this.range.end);
                return;
            }
            (Block::Owned(bytes), _) => bytes.extend_from_slice(&next[..head]),
            (Block::Mapped(..), _) => *self = Block::Owned([&self[..], &next[..head]].concat()),
        }
        match next {
            Block::Owned(bytes) => drop(bytes.drain(..head)),
            Block::Mapped(after) => after.range.start += head,
        }
    }
}

/// Where an input's blocks come from after its first: a reader, or the file mapped.
pub enum BlockSource {
    Read(Blocks<Box<dyn Read + Send>>),
    Mapped(MappedBlocks),
}

impl BlockSource {
    /// The blocks after `first`, the first block `blocks` gave: from the file at `path`
    /// mapped, where it is a plain file big enough to be worth it whose first bytes are
    /// `first` (a compressed file's are not), else from `blocks`.
    pub fn after(first: &[u8], blocks: Blocks<Box<dyn Read + Send>>, path: Option<&Path>) -> Self {
        match path.and_then(|p| map_rest(p, first)) {
            Some(mapped) => BlockSource::Mapped(mapped),
            None => BlockSource::Read(blocks),
        }
    }

    /// The next block, as [`Blocks::next_block`] gives it.
    pub fn next_block(&mut self) -> io::Result<Option<Block>> {
        match self {
            BlockSource::Read(blocks) => Ok(blocks.next_block()?.map(Block::Owned)),
            BlockSource::Mapped(mapped) => Ok(mapped.next_block()),
        }
    }

    /// Gives a parsed block back, for its memory to hold a later one.
    pub fn recycle(&mut self, block: Block) {
        if let (BlockSource::Read(blocks), Block::Owned(bytes)) = (self, block) {
            blocks.recycle(bytes);
        }
    }

    /// Lines dropped for being longer than [`MAX_LINE`].
    pub fn oversized(&self) -> u64 {
        match self {
            BlockSource::Read(blocks) => blocks.oversized,
            BlockSource::Mapped(mapped) => mapped.oversized,
        }
    }
}

/// A mapped file in blocks of whole lines, cut like [`Blocks`] cuts a stream.
///
/// The pages of blocks no longer held are let go as it moves on: they stay in the page cache,
/// but no longer count in this process's memory, which would otherwise grow to the file's
/// size. Never the pages of a block still held, however far its parser lags (the access
/// scan's queue grows with the cores): a read of a page let go maps it again, with the pages
/// around it, and nothing would let go of them again.
pub struct MappedBlocks {
    file: Arc<MappedFile>,
    /// Where the next block starts.
    at: usize,
    /// The pages before this have been let go, and no block held starts before it.
    released: usize,
    /// Lines dropped for being longer than [`MAX_LINE`].
    pub oversized: u64,
}

impl MappedBlocks {
    /// The next block of whole lines (the last may not end in `\n`), or `None` at the end.
    pub fn next_block(&mut self) -> Option<Block> {
        loop {
            let rest = self.file.map.get(self.at..).filter(|r| !r.is_empty())?;
            let Some(len) = block_len(rest) else {
                // A line longer than MAX_LINE: skipped to its end and counted.
                self.oversized += 1;
                self.at += memchr::memchr(b'\n', &rest[MAX_LINE..])
                    .map_or(rest.len(), |nl| MAX_LINE + nl + 1);
                continue;
            };
            // Its pages mapped in one call, here on the reading thread, rather than a fault at
            // a time on the thread that parses it (kernels before 5.14 decline: no matter).
            let _ = self
                .file
                .map
                .advise_range(memmap2::Advice::PopulateRead, self.at, len);
            let block = self.file.hold(self.at..self.at + len);
            self.at += len;
            self.release_unheld();
            return Some(block);
        }
    }

    /// Lets go of the pages of the page tables no block held reaches into, below the newest
    /// block. A page read is mapped with others around it (fault-around, a large folio of the
    /// page cache mapped whole, a huge page mapped by one entry), never past its page table;
    /// and letting go of part of a huge page's range unmaps all of it. So no page of a block
    /// held is let go, and no page let go is mapped again. Out of order: a block still held
    /// far behind the others (its parser thread not run for a while) keeps only its own.
    fn release_unheld(&mut self) {
        let (base, table) = (self.file.map.as_ptr() as usize, page_table_span());
        // Where the page table a byte of the mapping is in starts, and where the next starts.
        let floor = |byte: usize| ((base + byte) / table * table).saturating_sub(base);
        let ceil = |byte: usize| ((base + byte).div_ceil(table) * table).saturating_sub(base);
        let mut gaps = Vec::new();
        let held = self.file.held();
        let mut from = self.released;
        for (&start, &end) in held.iter() {
            if floor(start) > from {
                gaps.push(from..floor(start));
            }
            from = from.max(ceil(end));
        }
        let oldest = held
            .keys()
            .next()
            .map_or(self.released, |&start| floor(start));
        // Let go of unlocked: only this thread hands out blocks, none of them in a gap.
        drop(held);
        self.released = self.released.max(oldest);
        for gap in gaps {
            // SAFETY: the mapping is a shared, read-only one of a file, and no block held lies
            // in the pages let go: read again, they would be read back from the page cache, the
            // same bytes.
            let _ = unsafe {
                self.file.map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    gap.start,
                    gap.len(),
                )
            };
        }
    }
}

/// The bytes one page table maps: a page's worth of entries the size of a pointer (2 MB
/// with 4 kB pages on 64 bits; twice that on 32-bit PAE, whose entries are wider: a
/// multiple does as well).
fn page_table_span() -> usize {
    page_size() * (page_size() / size_of::<usize>())
}

/// How long the block at the head of `rest` is: its whole lines up to [`BLOCK`] bytes, or its
/// first line if that is longer; `None` if that line is longer than [`MAX_LINE`].
fn block_len(rest: &[u8]) -> Option<usize> {
    if rest.len() <= BLOCK {
        return Some(rest.len());
    }
    if let Some(nl) = memchr::memrchr(b'\n', &rest[..BLOCK]) {
        return Some(nl + 1);
    }
    match memchr::memchr(b'\n', &rest[BLOCK..rest.len().min(MAX_LINE)]) {
        Some(nl) => Some(BLOCK + nl + 1),
        None if rest.len() <= MAX_LINE => Some(rest.len()),
        None => None,
    }
}

/// The file at `path` mapped, from just after `head`, if it is worth mapping and starts with
/// `head`.
fn map_rest(path: &Path, head: &[u8]) -> Option<MappedBlocks> {
    let file = File::open(path).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() < MIN_MAPPED {
        return None;
    }
    say_when_truncated();
    // SAFETY: the mapping is only read. Another process may change the file meanwhile: a
    // change to its bytes is read like any appended line would be, and a file cut short
    // raises SIGBUS, which `say_when_truncated` handles.
    let map = unsafe { Mmap::map(&file) }.ok()?;
    if map.get(..head.len()) != Some(head) {
        return None;
    }
    // Read once, front to back: the kernel reads ahead and may drop pages behind.
    let _ = map.advise(memmap2::Advice::Sequential);
    Some(MappedBlocks {
        file: MappedFile::new(map),
        at: head.len(),
        released: 0,
        oversized: 0,
    })
}

/// Installs, once, the SIGBUS handler that turns a mapped file cut short under us into one
/// line on stderr and exit 2.
fn say_when_truncated() {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

    extern "C" fn truncated(_: nix::libc::c_int) {
        const MESSAGE: &[u8] = b"fivehundred: error: a log file was cut short while it was read (rotated by copytruncate?); nothing was reported: run again\n";
        // SAFETY: write(2) and _exit(2) are async-signal-safe; nothing else is called.
        unsafe {
            nix::libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len());
            nix::libc::_exit(2);
        }
    }
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let action = SigAction::new(
            SigHandler::Handler(truncated),
            SaFlags::empty(),
            SigSet::empty(),
        );
        // SAFETY: the handler calls only async-signal-safe functions, and no other SIGBUS
        // handler is replaced (the program installs none).
        let _ = unsafe { sigaction(Signal::SIGBUS, &action) };
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks_of(data: &[u8]) -> (Vec<Vec<u8>>, u64) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, data).unwrap();
        let head = &data[..data.len().min(100)];
        let mut mapped = map_rest(&path, head).expect("mapped");
        let mut out = vec![head.to_vec()];
        while let Some(b) = mapped.next_block() {
            out.push(b.to_vec());
        }
        (out, mapped.oversized)
    }

    #[test]
    fn mapped_blocks_hold_whole_lines_and_every_byte_once() {
        let line =
            b"203.0.113.7 - - [25/Nov/2026:14:00:00 +0000] \"GET / HTTP/1.1\" 500 1 \"-\" \"x\"\n";
        let data = line.repeat((MIN_MAPPED as usize / line.len()) + 1000);
        let (blocks, oversized) = blocks_of(&data);
        assert_eq!(blocks.concat(), data);
        assert_eq!(oversized, 0);
        assert!(
            blocks[1..]
                .iter()
                .all(|b| b.ends_with(b"\n") && b.len() <= BLOCK)
        );
    }

    #[test]
    fn a_mapped_line_longer_than_the_limit_is_skipped_and_counted() {
        let mut data = b"first\n".repeat(1_000_000);
        data.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        data.extend_from_slice(b"\nlast\n");
        let (blocks, oversized) = blocks_of(&data);
        assert_eq!(oversized, 1);
        let text = blocks.concat();
        assert!(text.ends_with(b"first\nlast\n"));
        assert_eq!(text.len(), 6_000_000 + 5);
    }

    /// Run in a child process of its own (the SIGBUS handler ends the process): maps a log,
    /// cuts it short, and reads on.
    #[test]
    fn a_log_cut_short_while_mapped_is_one_line_on_stderr_and_exit_2() {
        const CHILD: &str = "FIVEHUNDRED_TEST_SIGBUS_DIR";
        if let Some(dir) = std::env::var_os(CHILD) {
            let path = std::path::Path::new(&dir).join("access.log");
            std::fs::write(&path, b"a line\n".repeat(MIN_MAPPED as usize / 7 + 1)).unwrap();
            let mut mapped = map_rest(&path, b"a line\n").expect("mapped");
            File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(0)
                .unwrap();
            while let Some(block) = mapped.next_block() {
                std::hint::black_box(block.iter().map(|&b| b as u64).sum::<u64>());
            }
            unreachable!("every page past the end of a cut file is a SIGBUS");
        }
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "read::mapped::tests::a_log_cut_short_while_mapped_is_one_line_on_stderr_and_exit_2", "--nocapture"])
            .env(CHILD, dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("fivehundred: error: a log file was cut short while it was read"),
            "{stderr}"
        );
    }

    #[test]
    fn a_file_that_does_not_start_with_what_was_read_is_not_mapped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.gz");
        std::fs::write(&path, vec![b'a'; MIN_MAPPED as usize]).unwrap();
        assert!(map_rest(&path, b"decoded text").is_none());
        assert!(map_rest(&path, b"aaaa").is_some());
    }

    #[test]
    fn a_block_takes_the_head_of_the_next_whatever_each_is() {
        let file = MappedFile::new(
            memmap2::MmapOptions::new()
                .len(10)
                .map_anon()
                .unwrap()
                .make_read_only()
                .unwrap(),
        );
        let mut a = file.hold(0..4);
        let mut b = file.hold(4..10);
        a.take_head(&mut b, 2);
        assert!(
            matches!((&a, &b), (Block::Mapped(x), Block::Mapped(y)) if x.range == (0..6) && y.range == (6..10))
        );
        let mut owned = Block::Owned(b"ab".to_vec());
        owned.take_head(&mut b, 1);
        assert_eq!((owned.len(), b.len()), (3, 3));
        let mut next = Block::Owned(b"xyz".to_vec());
        a.take_head(&mut next, 2);
        assert_eq!((&a[6..], &next[..]), (&b"xy"[..], &b"z"[..]));
    }

    /// How many pages of `map` this process has mapped: the present bit of each in
    /// /proc/self/pagemap (the page cache holds them all either way, so mincore cannot tell).
    fn pages_mapped(map: &[u8]) -> usize {
        use std::io::{Seek, SeekFrom};
        let page = page_size();
        let mut pagemap = File::open("/proc/self/pagemap").unwrap();
        pagemap
            .seek(SeekFrom::Start((map.as_ptr() as usize / page * 8) as u64))
            .unwrap();
        let mut entries = vec![0u8; map.len().div_ceil(page) * 8];
        pagemap.read_exact(&mut entries).unwrap();
        entries
            .chunks_exact(8)
            .filter(|e| u64::from_le_bytes((*e).try_into().unwrap()) >> 63 == 1)
            .count()
    }

    /// Parsers that lag far behind the reader and finish out of order, one of them stalled
    /// from start to end, leave no pages mapped but those of the blocks they hold (a fixed
    /// trail behind the newest block let go of pages a lagging parser then read again:
    /// mapped back, and kept to the end; a release behind the oldest block held kept all
    /// after the stalled one).
    #[test]
    fn mapped_pages_stay_within_the_blocks_held_however_parsing_lags() {
        const LAG: usize = 10;
        let line = b"[25-Nov-2026 14:00:00 UTC] PHP Warning:  Undefined variable $x in /srv/a.php on line 7\n";
        let data = line.repeat((64 << 20) / line.len());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("php_errors.log");
        std::fs::write(&path, &data).unwrap();
        let mut mapped = map_rest(&path, line).expect("mapped");
        let file = Arc::clone(&mapped.file);
        let stalled = mapped.next_block();
        let mut held = std::collections::VecDeque::new();
        let (mut most, mut parsed) = (0, 0);
        while let Some(block) = mapped.next_block() {
            held.push_back(block);
            if held.len() > LAG {
                // Every page read, the second oldest first every other time.
                let block = held.remove(parsed % 2).unwrap();
                let bytes = block.iter().step_by(page_size()).map(|&b| u64::from(b));
                std::hint::black_box(bytes.sum::<u64>());
                parsed += 1;
            }
            most = most.max(pages_mapped(&file.map) * page_size());
        }
        assert!(parsed > 16 && stalled.is_some(), "{parsed} blocks parsed");
        // The blocks held (the oldest outlives one more), the stalled one, and the rest of the
        // page tables each run of them starts and ends in (a huge page is mapped whole).
        let bound = (LAG + 3) * BLOCK + 4 * page_table_span();
        assert!(most <= bound, "{most} bytes mapped at most, over {bound}");
    }
}
