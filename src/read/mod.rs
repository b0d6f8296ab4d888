//! Turning `PATH…` arguments into byte streams: files, directories (every file in them and in
//! their subdirectories, rotated ones included), gzip, bzip2, xz and zstd (recognised by their
//! magic bytes, not their names) and `-` for stdin; then reading those streams in large blocks
//! split at line boundaries (plain files big enough: mapped, see [`mapped`]).

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fs::{File, Metadata};
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use flate2::bufread::MultiGzDecoder;
use liblzma::stream::{Action, CONCATENATED, Status, Stream};

use crate::formats::envelope::{self, Enveloped};

mod mapped;
mod walk;
pub use mapped::{Block, BlockSource};
pub use walk::{MAX_DEPTH, Skip, Visit, walk};

/// Where the usual servers write their logs, read when no `PATH` is given.
pub const DEFAULT_PLACES: &[&str] = &[
    "/var/log/nginx",
    "/var/log/apache2",
    "/var/log/httpd",
    "/var/log/php",
];

/// One input to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// As shown in reports: the path as given or found, or `-`.
    pub name: String,
    /// `None` for stdin.
    pub path: Option<PathBuf>,
}

/// Why an input could not be read. Its message is whole (`PATH: REASON`): the I/O error is
/// part of it, not a `source()` as well, or a printed error chain says the reason twice.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}: {error}")]
    Io { path: String, error: io::Error },
    /// Found in a directory but left unread on purpose (too deep, already read).
    #[error("{path}: {why}")]
    NotRead { path: String, why: String },
}

impl ReadError {
    fn io(path: &Path, error: io::Error) -> ReadError {
        ReadError::Io {
            path: display_name(path),
            error,
        }
    }

    fn not_read(path: &Path, why: String) -> ReadError {
        ReadError::NotRead {
            path: display_name(path),
            why,
        }
    }

    /// The input as shown to people.
    pub fn path(&self) -> &str {
        match self {
            ReadError::Io { path, .. } | ReadError::NotRead { path, .. } => path,
        }
    }

    /// Why it was not read, without the path.
    pub fn reason(&self) -> String {
        match self {
            ReadError::Io { error, .. } => error.to_string(),
            ReadError::NotRead { why, .. } => why.clone(),
        }
    }
}

/// Text as shown to people: control characters (an escape sequence in a file name or a flag
/// value) are written as `\u{1b}`, so echoed input cannot act on the terminal it is printed
/// to.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A path as shown to people, through [`escape_controls`].
pub fn display_name(path: &Path) -> String {
    escape_controls(&path.display().to_string()).into_owned()
}

/// The sources named by the arguments, in a deterministic order (each directory's entries by
/// name, subdirectories read where they sort, [`MAX_DEPTH`] levels down). A path given by name
/// that cannot be read is an error; anything inside a directory that is not read (unreadable,
/// too deep, a symlink loop, a second name for a file already read) is returned with why, for
/// the caller to say so.
pub fn expand(args: &[PathBuf]) -> Result<(Vec<Source>, Vec<ReadError>), ReadError> {
    let mut found = Found::default();
    for arg in args {
        if arg.as_os_str() == "-" {
            found.sources.push(Source {
                name: "-".into(),
                path: None,
            });
            continue;
        }
        let meta = std::fs::metadata(arg).map_err(|e| ReadError::io(arg, e))?;
        if meta.is_dir() {
            walk(arg, &mut found).map_err(|e| ReadError::io(arg, e))?;
        } else {
            File::open(arg).map_err(|e| ReadError::io(arg, e))?;
            found.add(arg.clone(), &meta);
        }
    }
    Ok((found.sources, found.skipped))
}

/// What [`expand`] found: what is read, what is not and why, and the files seen already, by
/// (device, inode), so two links to one file cannot read it twice.
#[derive(Default)]
struct Found {
    sources: Vec<Source>,
    skipped: Vec<ReadError>,
    files: HashMap<(u64, u64), String>,
}

impl Found {
    /// A file to read, unless it was reached before under another name.
    fn add(&mut self, path: PathBuf, meta: &Metadata) {
        let name = display_name(&path);
        match self.files.entry((meta.dev(), meta.ino())) {
            Entry::Occupied(first) => {
                let why = format!("the same file as {}, read once", first.get());
                self.skipped.push(ReadError::not_read(&path, why));
            }
            Entry::Vacant(slot) => {
                slot.insert(name.clone());
                self.sources.push(Source {
                    name,
                    path: Some(path),
                });
            }
        }
    }
}

impl Visit for Found {
    /// A file in a directory is read if it can be opened now; if not, it is said why.
    fn file(&mut self, path: PathBuf, meta: &Metadata, _link: bool) {
        match File::open(&path) {
            Ok(_) => self.add(path, meta),
            Err(e) => self.skipped.push(ReadError::io(&path, e)),
        }
    }

    fn skip(&mut self, path: &Path, why: Skip) {
        self.skipped.push(match why {
            Skip::Io(e) => ReadError::io(path, e),
            why => ReadError::not_read(path, why.reason()),
        });
    }
}

/// The usual log places that exist on this machine, plus `/var/log/php*-fpm.log`.
pub fn default_places() -> Vec<PathBuf> {
    let mut places: Vec<PathBuf> = DEFAULT_PLACES
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .collect();
    if let Ok(entries) = std::fs::read_dir("/var/log") {
        let mut fpm: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                name.starts_with("php") && name.contains("-fpm.log") && p.is_file()
            })
            .collect();
        fpm.sort();
        places.extend(fpm);
    }
    places
}

/// Opens a source for reading, decompressing and unwrapping it transparently.
pub fn open(source: &Source) -> Result<Opened, ReadError> {
    decode(source, open_raw(source)?)
}

/// Opens a source's raw bytes (still compressed, if it is).
pub fn open_raw(source: &Source) -> Result<Box<dyn Read + Send>, ReadError> {
    match &source.path {
        Some(p) => Ok(Box::new(File::open(p).map_err(|e| ReadError::io(p, e))?)),
        None => Ok(Box::new(io::stdin())),
    }
}

/// The size of a source on disk, if it has one.
pub fn size(source: &Source) -> Option<u64> {
    source
        .path
        .as_ref()
        .and_then(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
}

/// A stream to decode, with the bytes sniffed from its head put back in front.
type Sniffed = BufReader<io::Chain<io::Cursor<Vec<u8>>, Box<dyn Read + Send>>>;

/// A compressed format: the magic bytes its streams start with, and its decoder. Every
/// decoder reads concatenated streams whole (`cat a.gz b.gz`, `pbzip2`, `cat a.zst b.zst`),
/// and fails (rather than ending quietly) on a stream cut short or on garbage after one.
struct Codec {
    magic: &'static [u8],
    decoder: fn(Sniffed) -> io::Result<Box<dyn Read + Send>>,
}

/// Every compressed format read, by magic bytes.
const CODECS: &[Codec] = &[
    Codec {
        magic: &[0x1f, 0x8b],
        decoder: |r| Ok(Box::new(MultiGzDecoder::new(r))),
    },
    Codec {
        magic: b"BZh",
        decoder: |r| Ok(Box::new(bzip2::bufread::MultiBzDecoder::new(r))),
    },
    Codec {
        magic: &[0xfd, b'7', b'z', b'X', b'Z', 0x00],
        decoder: |r| Ok(Box::new(Xz::new(r)?)),
    },
    Codec {
        magic: &[0x28, 0xb5, 0x2f, 0xfd],
        decoder: |r| Ok(Box::new(zstd::stream::read::Decoder::with_buffer(r)?)),
    },
];

/// The longest magic in [`CODECS`]: how many bytes are sniffed.
const MAGIC_LEN: usize = {
    let (mut longest, mut i) = (0, 0);
    while i < CODECS.len() {
        if CODECS[i].magic.len() > longest {
            longest = CODECS[i].magic.len();
        }
        i += 1;
    }
    longest
};

/// A source's lines as a stream, and its envelope, if it is in one.
pub type Opened = (Box<dyn Read + Send>, Option<Enveloped>);

/// Decompresses `raw` if it starts with the magic bytes of one of the [`CODECS`], then
/// unwraps it if its head is in an envelope (see [`envelope`](crate::formats::envelope)).
pub fn decode(source: &Source, raw: Box<dyn Read + Send>) -> Result<Opened, ReadError> {
    let fail = |error| ReadError::Io {
        path: source.name.clone(),
        error,
    };
    let (head, raw) = read_head(raw).map_err(fail)?;
    let codec = CODECS.iter().find(|c| head.starts_with(c.magic));
    let stream = BufReader::with_capacity(1 << 16, io::Cursor::new(head).chain(raw));
    let decoded: Box<dyn Read + Send> = match codec {
        Some(codec) => (codec.decoder)(stream).map_err(fail)?,
        None => Box::new(stream),
    };
    Ok(envelope::sniff(decoded))
}

/// The first [`MAGIC_LEN`] bytes of `raw` (fewer if it is shorter), read whole even from a
/// pipe that hands them out a few at a time.
fn read_head(raw: Box<dyn Read + Send>) -> io::Result<(Vec<u8>, Box<dyn Read + Send>)> {
    let mut head = Vec::with_capacity(MAGIC_LEN);
    let mut limited = raw.take(MAGIC_LEN as u64);
    limited.read_to_end(&mut head)?;
    Ok((head, limited.into_inner()))
}

/// xz streams, concatenated ones read whole, through liblzma's own stream: the crate's reader
/// drops what it decoded in the call that met an error (up to a whole 2 MiB read), so garbage
/// after the last stream, or a corrupt block, cost the lines before it.
struct Xz<R> {
    inner: R,
    stream: Stream,
    /// An error met after some bytes were decoded: given on the next read, once they are out.
    failed: Option<io::Error>,
}

impl<R: BufRead> Xz<R> {
    fn new(inner: R) -> io::Result<Self> {
        Ok(Xz {
            inner,
            stream: Stream::new_stream_decoder(u64::MAX, CONCATENATED)?,
            failed: None,
        })
    }
}

impl<R: BufRead> Read for Xz<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(error) = self.failed.take() {
            return Err(error);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let input = self.inner.fill_buf()?;
            let eof = input.is_empty();
            let (before_in, before_out) = (self.stream.total_in(), self.stream.total_out());
            let action = if eof { Action::Finish } else { Action::Run };
            let status = self.stream.process(input, buf, action);
            let consumed = (self.stream.total_in() - before_in) as usize;
            let read = (self.stream.total_out() - before_out) as usize;
            self.inner.consume(consumed);
            match status {
                Err(error) if read > 0 => {
                    self.failed = Some(error.into());
                    return Ok(read);
                }
                Err(error) => return Err(error.into()),
                Ok(Status::StreamEnd) => return Ok(read),
                Ok(_) if read > 0 => return Ok(read),
                Ok(_) if eof => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "xz stream cut off before its end",
                    ));
                }
                Ok(_) if consumed == 0 => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "corrupt xz stream",
                    ));
                }
                Ok(_) => {}
            }
        }
    }
}

/// Size of one block handed to a parser.
pub const BLOCK: usize = 2 << 20;

/// Lines longer than this are not parsed: counted as unparsed and skipped to their end, so a
/// hostile file cannot make us hold gigabytes for one line.
pub const MAX_LINE: usize = 8 << 20;

/// Reads a stream in blocks of whole lines. The last line of a stream need not end in `\n`.
/// A read error (a `.gz` cut off in the middle) ends the stream: the lines before it are
/// handed out first, then the error, once.
pub struct Blocks<R> {
    inner: R,
    carry: Vec<u8>,
    eof: bool,
    /// Lines dropped for being longer than [`MAX_LINE`].
    pub oversized: u64,
    skipping: bool,
    failed: Option<io::Error>,
    /// Parsed blocks given back: their memory is reused, since mapping and faulting in fresh
    /// pages for every block costs more than reading the file.
    spare: Vec<Vec<u8>>,
}

/// Most parsed blocks kept for reuse.
const SPARE_BLOCKS: usize = 4;

impl<R: Read> Blocks<R> {
    pub fn new(inner: R) -> Self {
        Blocks {
            inner,
            carry: Vec::new(),
            eof: false,
            oversized: 0,
            skipping: false,
            failed: None,
            spare: Vec::new(),
        }
    }

    /// Gives a block back once it is parsed, for its memory to hold a later one.
    pub fn recycle(&mut self, block: Vec<u8>) {
        if self.spare.len() < SPARE_BLOCKS {
            self.spare.push(block);
        }
    }

    /// The next block of whole lines (ending in `\n`, except at the end of the stream), or
    /// `None` at the end; a read error after every line read before it.
    pub fn next_block(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if self.eof {
                if !self.carry.is_empty() {
                    return Ok(Some(std::mem::take(&mut self.carry)));
                }
                return self.failed.take().map_or(Ok(None), Err);
            }
            let mut buf = self.spare.pop().unwrap_or_default();
            buf.clear();
            buf.append(&mut self.carry);
            let start = buf.len();
            buf.reserve(BLOCK);
            // Up to a block, as far as the stream allows (pipes and decoders give short
            // reads); into spare capacity, so nothing is zero-filled first. On an error the
            // bytes read before it are kept.
            let failed = (&mut self.inner)
                .take(BLOCK as u64)
                .read_to_end(&mut buf)
                .err();
            let n = buf.len() - start;
            self.eof = n == 0 || failed.is_some();
            self.failed = failed;
            if self.skipping {
                match memchr::memchr(b'\n', &buf) {
                    Some(nl) => {
                        buf.drain(..=nl);
                        self.skipping = false;
                    }
                    None => continue,
                }
            }
            match memchr::memrchr(b'\n', &buf) {
                Some(nl) => {
                    self.carry.extend_from_slice(&buf[nl + 1..]);
                    buf.truncate(nl + 1);
                    return Ok(Some(buf));
                }
                None if buf.len() > MAX_LINE => {
                    self.oversized += 1;
                    self.skipping = true;
                    self.recycle(buf);
                }
                None => {
                    std::mem::swap(&mut self.carry, &mut buf);
                    self.recycle(buf);
                }
            }
        }
    }
}

/// The lines of a block, without their `\n` (and without a `\r` before it).
pub fn lines(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = block;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(nl) => (&rest[..nl], &rest[nl + 1..]),
            None => (rest, &b""[..]),
        };
        rest = next;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_source(path: PathBuf) -> Source {
        Source {
            name: display_name(&path),
            path: Some(path),
        }
    }

    #[test]
    fn blocks_keep_lines_whole() {
        let data = b"a\nbb\nccc";
        let mut b = Blocks::new(&data[..]);
        let mut all = Vec::new();
        while let Some(block) = b.next_block().unwrap() {
            all.extend(lines(&block).map(<[u8]>::to_vec));
        }
        assert_eq!(all, vec![b"a".to_vec(), b"bb".to_vec(), b"ccc".to_vec()]);
        assert_eq!(lines(b"").count(), 0);
        assert_eq!(
            lines(b"x\r\n\n").collect::<Vec<_>>(),
            vec![&b"x"[..], &b""[..]]
        );
    }

    #[test]
    fn gzip_is_sniffed() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("access.log.2");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"hello\n").unwrap();
        std::fs::write(&p, gz.finish().unwrap()).unwrap();
        let mut s = String::new();
        open(&file_source(p))
            .unwrap()
            .0
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "hello\n");
    }

    /// Hands out its bytes one at a time, as a slow pipe may.
    struct Trickle(Vec<u8>);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0.remove(0);
            Ok(1)
        }
    }

    #[test]
    fn a_magic_handed_out_a_byte_at_a_time_is_still_sniffed() {
        use std::io::Write;
        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 1);
        xz.write_all(b"hello\n").unwrap();
        let stdin = Source {
            name: "-".into(),
            path: None,
        };
        let mut s = String::new();
        decode(&stdin, Box::new(Trickle(xz.finish().unwrap())))
            .unwrap()
            .0
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "hello\n");
    }

    #[test]
    fn missing_path_is_an_error() {
        let e = expand(&[PathBuf::from("/nonexistent/x.log")]).unwrap_err();
        // The reason once, not again as a `source()` (`x: No such file: No such file`).
        assert!(std::error::Error::source(&e).is_none());
        assert_eq!(
            e.to_string(),
            "/nonexistent/x.log: No such file or directory (os error 2)"
        );
    }

    /// Hands out `data`, then fails, the way a `.gz` cut off in the middle does.
    struct FailsAfter<'a>(&'a [u8]);

    impl Read for FailsAfter<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut off"));
            }
            let n = buf.len().min(self.0.len()).min(3);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn lines_before_a_read_error_are_kept() {
        // The error used to discard the block it interrupted.
        let mut b = Blocks::new(FailsAfter(b"one\ntwo\nthr"));
        let mut all = Vec::new();
        let err = loop {
            match b.next_block() {
                Ok(Some(block)) => all.extend(lines(&block).map(<[u8]>::to_vec)),
                Ok(None) => panic!("the error was lost"),
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(all, vec![b"one".to_vec(), b"two".to_vec(), b"thr".to_vec()]);
        assert!(
            b.next_block().unwrap().is_none(),
            "the error is returned once"
        );
    }

    #[test]
    fn control_characters_in_echoed_values_are_escaped_and_plain_text_borrowed() {
        assert_eq!(
            escape_controls("\x1b[31mX\u{9b}1m\x07"),
            "\\u{1b}[31mX\\u{9b}1m\\u{7}"
        );
        assert!(matches!(escape_controls("2h é"), Cow::Borrowed("2h é")));
    }

    #[test]
    fn control_characters_in_names_are_escaped() {
        let p = PathBuf::from("logs/acc\x1b[31mess.log");
        assert_eq!(display_name(&p), "logs/acc\\u{1b}[31mess.log");
        assert_eq!(file_source(p).name, "logs/acc\\u{1b}[31mess.log");
        assert_eq!(display_name(Path::new("a/b é.log")), "a/b é.log");
    }
}
