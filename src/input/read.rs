//! Bytes from inputs: memory-mapped files, gzip streams and standard input, delivered as
//! line-aligned blocks of bounded size so memory stays flat however large an input is.
//!
//! Plain files are memory-mapped one window at a time; gzip (detected by its magic bytes, any
//! number of concatenated members) and standard input are read as streams into reused buffers.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek};

use memmap2::{Mmap, MmapOptions};

use crate::input::Input;
use crate::input::sniff::{is_gzip, read_up_to};

/// A line-aligned run of bytes from an input.
pub(crate) struct Block {
    data: BlockData,
    len: usize,
    /// Byte offset of the block's first byte in the (decompressed) input.
    pub offset: u64,
    /// A unit (line or JSON piece) longer than the limit that followed the block's bytes in the
    /// input: skipped without being held in memory, to be refused by the consumer.
    pub oversized: Option<Oversized>,
}

/// A line (or JSON piece) longer than the limit given to [`open_with`], skipped while reading:
/// only its first bytes are kept, so memory stays bounded whatever the input holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Oversized {
    /// Byte offset of its first byte in the (decompressed) input.
    pub offset: u64,
    /// Its length in bytes, without the line feed that ends a line.
    pub len: u64,
    /// Bytes of the input it took (its length plus an ending line feed, if any).
    pub consumed: u64,
    /// Its first bytes ([`Limits::head`] of them).
    pub head: Vec<u8>,
}

enum BlockData {
    Map(Mmap),
    Owned(Vec<u8>),
}

impl Block {
    /// The block's bytes: whole lines, the last possibly unterminated at end of input.
    pub fn bytes(&self) -> &[u8] {
        match &self.data {
            BlockData::Map(m) => &m[..self.len],
            BlockData::Owned(v) => &v[..self.len],
        }
    }

    /// Offset in the input just past this block (and its skipped unit, if any).
    pub fn end(&self) -> u64 {
        self.offset + self.len as u64 + self.oversized.as_ref().map_or(0, |o| o.consumed)
    }

    fn skipped(o: Oversized) -> Block {
        Block {
            data: BlockData::Owned(Vec::new()),
            len: 0,
            offset: o.offset,
            oversized: Some(o),
        }
    }
}

/// Where a block may end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// After a line feed.
    Line,
    /// After a complete top-level JSON object ([`crate::input::frame::object_boundary`]).
    JsonObject,
}

impl Boundary {
    /// The length of the longest prefix of `buf` that ends on a boundary, if any.
    fn find(self, buf: &[u8]) -> Option<usize> {
        match self {
            Boundary::Line => memchr::memrchr(b'\n', buf).map(|i| i + 1),
            Boundary::JsonObject => crate::input::frame::object_boundary(buf),
        }
    }
}

/// Finds the end of an over-long unit fed to it in consecutive slices.
enum UnitEnd {
    Line,
    Json(crate::input::frame::PieceEnd),
}

impl UnitEnd {
    fn new(boundary: Boundary) -> UnitEnd {
        match boundary {
            Boundary::Line => UnitEnd::Line,
            Boundary::JsonObject => UnitEnd::Json(crate::input::frame::PieceEnd::default()),
        }
    }

    /// Where in `bytes` the unit's consumed bytes end (past a line's line feed), if they do.
    fn feed(&mut self, bytes: &[u8]) -> Option<usize> {
        match self {
            UnitEnd::Line => memchr::memchr(b'\n', bytes).map(|i| i + 1),
            UnitEnd::Json(p) => p.feed(bytes),
        }
    }

    /// The unit's length from the bytes it consumed.
    fn len(&self, consumed: u64, ended: bool) -> u64 {
        match self {
            UnitEnd::Line if ended => consumed - 1,
            _ => consumed,
        }
    }
}

/// Bounds on what one block holds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Target bytes per block.
    pub window: usize,
    /// The longest unit (line, or JSON piece for [`Boundary::JsonObject`]) held in memory;
    /// a longer one is skipped and reported as `Oversized`.
    pub max_unit: usize,
    /// How many of a skipped unit's first bytes are kept (`Oversized::head`).
    pub head: usize,
}

impl Limits {
    /// Blocks of about `window` bytes, units of at most `max_unit`, of which `head` bytes are
    /// kept when one is skipped.
    pub fn new(window: usize, max_unit: usize, head: usize) -> Limits {
        let max_unit = max_unit.max(1);
        Limits {
            window: window.max(1),
            max_unit,
            head: head.min(max_unit),
        }
    }
}

/// Produces an input's blocks in order.
pub enum Blocks {
    /// A plain file, mapped a window at a time.
    Mapped {
        /// The open file.
        file: File,
        /// Its length when opened.
        len: u64,
        /// Next byte to map.
        pos: u64,
        /// Block and unit sizes.
        limits: Limits,
        /// Where blocks end.
        boundary: Boundary,
    },
    /// A stream (gzip, standard input).
    Stream(StreamBlocks),
}

/// Opens an input for block reading, blocks ending at line feeds.
pub fn open(input: &Input, limits: Limits) -> io::Result<Blocks> {
    open_with(input, limits, Boundary::Line)
}

/// Opens an input for block reading, blocks ending at `boundary`.
pub(crate) fn open_with(input: &Input, limits: Limits, boundary: Boundary) -> io::Result<Blocks> {
    match input {
        Input::Stdin => stream(io::stdin(), limits, boundary),
        Input::S3(o) => stream(crate::input::s3::reader(o)?, limits, boundary),
        Input::Path(p) => {
            let mut file = File::open(p)?;
            let meta = file.metadata()?;
            if !meta.is_file() {
                // A pipe (`<(zcat …)`), a FIFO or a device has no length to map: read it as a
                // stream, as standard input is.
                return stream(file, limits, boundary);
            }
            let mut magic = [0u8; 2];
            let n = read_up_to(&mut file, &mut magic)?;
            if n == 2 && is_gzip(&magic) {
                // Streamed, from the start: `stream` tells gzip by the same magic.
                file.seek(io::SeekFrom::Start(0))?;
                return stream(file, limits, boundary);
            }
            let len = meta.len();
            Ok(Blocks::Mapped {
                file,
                len,
                pos: 0,
                limits,
                boundary,
            })
        }
    }
}

/// Blocks of a stream, decompressed if it starts with gzip's magic bytes.
fn stream(r: impl Read + Send + 'static, limits: Limits, boundary: Boundary) -> io::Result<Blocks> {
    let mut r = BufReader::with_capacity(1 << 20, r);
    let gz = is_gzip(r.fill_buf()?);
    let reader: Box<dyn Read + Send> = if gz {
        Box::new(flate2::bufread::MultiGzDecoder::new(r))
    } else {
        Box::new(r)
    };
    Ok(Blocks::Stream(StreamBlocks::new(reader, limits, boundary)))
}

/// Maps `len` bytes of `file` from `offset`.
fn map_range(file: &File, offset: u64, len: usize) -> io::Result<Mmap> {
    // SAFETY: the map is read-only and private to this process. As with any memory-mapped input
    // (ripgrep documents the same contract), another process truncating or rewriting the file
    // while we read it is outside what we can guard against; flow log archives are immutable
    // objects, and the README says inputs must not change during a run.
    unsafe { MmapOptions::new().offset(offset).len(len).map(file) }
}

/// A sample of an input's first bytes for layout detection: cut after its last line feed unless
/// it is the whole input or holds none (a JSON input may have no line feeds at all).
pub(crate) fn cut_sample(mut data: Vec<u8>, whole: bool) -> Vec<u8> {
    if !whole && let Some(i) = memchr::memrchr(b'\n', &data) {
        data.truncate(i + 1);
    }
    data
}

impl Blocks {
    /// The next block, or `None` at end of input.
    pub(crate) fn next_block(&mut self) -> io::Result<Option<Block>> {
        match self {
            Blocks::Stream(s) => s.next_block(),
            Blocks::Mapped {
                file,
                len,
                pos,
                limits,
                boundary,
            } => {
                if *pos >= *len {
                    return Ok(None);
                }
                let mut want = limits.window as u64;
                loop {
                    let map_len = want.min(*len - *pos) as usize;
                    let map = map_range(file, *pos, map_len)?;
                    let at_end = *pos + map_len as u64 >= *len;
                    let used = if at_end {
                        Some(map_len)
                    } else {
                        boundary.find(&map)
                    };
                    if let Some(used) = used {
                        let block = Block {
                            data: BlockData::Map(map),
                            len: used,
                            offset: *pos,
                            oversized: None,
                        };
                        *pos += used as u64;
                        return Ok(Some(block));
                    }
                    if map_len > limits.max_unit {
                        // The unit starting here is longer than allowed: skip it, window by
                        // window, keeping only its head.
                        let head = map[..limits.head].to_vec();
                        drop(map);
                        let mut end = UnitEnd::new(*boundary);
                        let mut at = *pos;
                        let mut ended = false;
                        while at < *len {
                            let n = (limits.window.max(1 << 20) as u64).min(*len - at) as usize;
                            let m = map_range(file, at, n)?;
                            match end.feed(&m) {
                                Some(k) => {
                                    at += k as u64;
                                    ended = true;
                                    break;
                                }
                                None => at += n as u64,
                            }
                        }
                        let consumed = at - *pos;
                        let o = Oversized {
                            offset: *pos,
                            len: end.len(consumed, ended),
                            consumed,
                            head,
                        };
                        *pos = at;
                        return Ok(Some(Block::skipped(o)));
                    }
                    // A line longer than the window but within the limit: map more.
                    want = want.saturating_mul(2);
                }
            }
        }
    }

    /// Reads the rest of the input up to `boundary` (a stream keeps what [`Blocks::peek`] read).
    pub(crate) fn set_boundary(&mut self, boundary: Boundary) {
        match self {
            Blocks::Mapped { boundary: b, .. } => *b = boundary,
            Blocks::Stream(s) => s.boundary = boundary,
        }
    }

    /// Up to `limit` bytes from the start of the input, as [`cut_sample`] cuts them, without
    /// consuming anything: blocks still start at the input's first byte. Call it before
    /// the first [`Blocks::next_block`].
    pub(crate) fn peek(&mut self, limit: usize) -> io::Result<Vec<u8>> {
        match self {
            Blocks::Mapped { file, len, pos, .. } => {
                let n = (limit as u64).min(*len - *pos) as usize;
                if n == 0 {
                    return Ok(Vec::new());
                }
                let m = map_range(file, *pos, n)?;
                Ok(cut_sample(m.to_vec(), *pos + n as u64 >= *len))
            }
            Blocks::Stream(s) => {
                s.fill(limit)?;
                let n = s.carry.len().min(limit);
                Ok(cut_sample(
                    s.carry[..n].to_vec(),
                    s.eof && n == s.carry.len(),
                ))
            }
        }
    }

    /// `Blocks::peek` of a freshly opened input.
    pub fn sample(input: &Input, limit: usize) -> io::Result<Vec<u8>> {
        open(input, Limits::new(limit, limit, 0))?.peek(limit)
    }
}

/// Reads a stream into line-aligned blocks.
pub struct StreamBlocks {
    reader: Box<dyn Read + Send>,
    carry: Vec<u8>,
    limits: Limits,
    offset: u64,
    eof: bool,
    boundary: Boundary,
}

impl StreamBlocks {
    fn new(reader: Box<dyn Read + Send>, limits: Limits, boundary: Boundary) -> Self {
        StreamBlocks {
            reader,
            carry: Vec::new(),
            limits,
            offset: 0,
            eof: false,
            boundary,
        }
    }

    /// Reads into `buf` until it holds `target` bytes or the stream ends.
    fn read_into(&mut self, buf: &mut Vec<u8>, target: usize) -> io::Result<()> {
        while buf.len() < target && !self.eof {
            let old = buf.len();
            let want = (target - old).max(64 * 1024);
            buf.resize(old + want, 0);
            match self.reader.read(&mut buf[old..]) {
                Ok(0) => {
                    buf.truncate(old);
                    self.eof = true;
                }
                Ok(k) => buf.truncate(old + k),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => buf.truncate(old),
                Err(e) => {
                    buf.truncate(old);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Reads ahead until the unconsumed bytes number at least `target` (or the stream ends).
    fn fill(&mut self, target: usize) -> io::Result<()> {
        let mut buf = std::mem::take(&mut self.carry);
        let r = self.read_into(&mut buf, target);
        self.carry = buf;
        r
    }

    fn next_block(&mut self) -> io::Result<Option<Block>> {
        let mut buf = std::mem::take(&mut self.carry);
        let mut target = self.limits.window;
        loop {
            if let Err(e) = self.read_into(&mut buf, target) {
                self.carry = buf;
                return Err(e);
            }
            if buf.is_empty() {
                return Ok(None);
            }
            let used = if self.eof {
                Some(buf.len())
            } else {
                self.boundary.find(&buf)
            };
            if let Some(used) = used {
                self.carry = buf[used..].to_vec();
                let block = Block {
                    len: used,
                    data: BlockData::Owned(buf),
                    offset: self.offset,
                    oversized: None,
                };
                self.offset += used as u64;
                return Ok(Some(block));
            }
            if buf.len() > self.limits.max_unit {
                return self.skip(buf).map(|o| Some(Block::skipped(o)));
            }
            // A line longer than the window but within the limit: read more.
            target = target.saturating_mul(2);
        }
    }

    /// Skips the over-long unit at the start of `buf` (which holds no boundary), reading on
    /// through a buffer of bounded size until it ends.
    fn skip(&mut self, mut buf: Vec<u8>) -> io::Result<Oversized> {
        let head = buf[..self.limits.head].to_vec();
        let mut end = UnitEnd::new(self.boundary);
        let mut consumed = 0u64;
        let mut ended = false;
        loop {
            if let Some(k) = end.feed(&buf) {
                consumed += k as u64;
                self.carry = buf[k..].to_vec();
                ended = true;
                break;
            }
            consumed += buf.len() as u64;
            buf.clear();
            if self.eof {
                break;
            }
            self.read_into(&mut buf, 1 << 20)?;
            if buf.is_empty() {
                break;
            }
        }
        let o = Oversized {
            offset: self.offset,
            len: end.len(consumed, ended),
            consumed,
            head,
        };
        self.offset += consumed;
        Ok(o)
    }
}
