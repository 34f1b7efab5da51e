//! Bytes from inputs: memory-mapped files, gzip streams and standard input, delivered as
//! line-aligned blocks of bounded size so memory stays flat however large an input is.
//!
//! Plain files are memory-mapped one window at a time; gzip (detected by its magic bytes, any
//! number of concatenated members) and standard input are read as streams into reused buffers.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use memmap2::{Mmap, MmapOptions};

use crate::error::Error;

/// One input as named on the command line (after directories are walked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file.
    Path(PathBuf),
    /// Standard input (`-`).
    Stdin,
    /// An S3 object (`s3://bucket/key`).
    S3(crate::s3::S3Object),
}

impl Input {
    /// The name used in messages and statistics.
    pub fn display(&self) -> String {
        match self {
            Input::Path(p) => p.display().to_string(),
            Input::Stdin => "<stdin>".to_string(),
            Input::S3(o) => o.url.clone(),
        }
    }
}

/// Which files found by walking a directory or expanding a glob are inputs: `--include` and
/// `--exclude` globs. A pattern without `/` is matched against the file name, one with `/`
/// against the path below the directory walked (`*` stays within a path segment, `**` crosses
/// them). Files named one by one are always inputs.
#[derive(Debug, Clone, Default)]
pub struct Select {
    include: Vec<(globset::GlobMatcher, bool)>,
    exclude: Vec<(globset::GlobMatcher, bool)>,
    /// S3-compatible endpoint for `s3://` inputs (`--endpoint-url`).
    pub endpoint_url: Option<String>,
}

fn glob(pattern: &str) -> Result<globset::GlobMatcher, Error> {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| Error::Usage(format!("bad glob {pattern:?}: {e}")))
}

impl Select {
    /// From `--include` and `--exclude` patterns.
    pub fn new(include: &[String], exclude: &[String]) -> Result<Select, Error> {
        let compile = |ps: &[String]| -> Result<Vec<(globset::GlobMatcher, bool)>, Error> {
            ps.iter().map(|p| Ok((glob(p)?, p.contains('/')))).collect()
        };
        Ok(Select {
            include: compile(include)?,
            exclude: compile(exclude)?,
            endpoint_url: None,
        })
    }

    /// Whether a file found at `rel` (below the walked directory) is an input.
    pub fn keeps(&self, rel: &Path) -> bool {
        let name = rel.file_name().map(Path::new).unwrap_or(rel);
        let hit = |set: &[(globset::GlobMatcher, bool)]| {
            set.iter()
                .any(|(g, path)| g.is_match(if *path { rel } else { name }))
        };
        (self.include.is_empty() || hit(&self.include)) && !hit(&self.exclude)
    }
}

fn is_glob(arg: &str) -> bool {
    arg.contains(['*', '?', '['])
}

/// Expands command-line inputs: `-` is standard input, a directory is walked recursively (files in
/// name order; hidden files, our own temporary files and `_…` bookkeeping files skipped), a glob (`logs/2026/*/*.log.gz`,
/// `AWSLogs/**/*.gz`) is matched below its literal leading directories, anything else is a file.
///
/// Walking follows symbolic links. What a walk can't use — a link back to a directory it is
/// inside (a loop), a dangling link, an unreadable subdirectory — is added to `warnings` and
/// the rest is walked; a file named on the command line that doesn't exist stays an error. A
/// file reached more than once in one walk through links is an input once (the file reached
/// without links is preferred).
pub fn expand(args: &[String], warnings: &mut Vec<String>) -> Result<Vec<Input>, Error> {
    expand_selected(args, &Select::default(), warnings)
}

/// [`expand`], keeping only the walked and globbed files `select` keeps.
pub fn expand_selected(
    args: &[String],
    select: &Select,
    warnings: &mut Vec<String>,
) -> Result<Vec<Input>, Error> {
    let mut out = Vec::new();
    for a in args {
        if a == "-" {
            out.push(Input::Stdin);
            continue;
        }
        if a.starts_with("s3://") {
            out.extend(
                crate::s3::expand(a, select, select.endpoint_url.as_deref())?
                    .into_iter()
                    .map(Input::S3),
            );
            continue;
        }
        let p = PathBuf::from(a);
        if is_glob(a) && !p.exists() {
            // The literal leading directories, then the pattern for the rest.
            let mut base = PathBuf::new();
            let mut rest = Vec::new();
            for c in p.components() {
                let s = c.as_os_str().to_string_lossy();
                if rest.is_empty() && !is_glob(&s) {
                    base.push(c);
                } else {
                    rest.push(s.into_owned());
                }
            }
            let pattern = glob(&rest.join("/"))?;
            let root = if base.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                base.clone()
            };
            let found = match std::fs::metadata(&root) {
                Ok(m) if m.is_dir() => walk(&root, &m, &Select::default(), warnings)?,
                _ => Vec::new(),
            };
            let before = out.len();
            for f in found {
                if let Ok(rel) = f.strip_prefix(&root)
                    && pattern.is_match(rel)
                    && select.keeps(rel)
                {
                    let f = if base.as_os_str().is_empty() {
                        rel.to_path_buf()
                    } else {
                        f.clone()
                    };
                    out.push(Input::Path(f));
                }
            }
            if out.len() == before {
                return Err(Error::Usage(format!("no files match {a}")));
            }
            continue;
        }
        let meta = std::fs::metadata(&p).map_err(|e| Error::io(&p, e))?;
        if meta.is_dir() {
            out.extend(
                walk(&p, &meta, select, warnings)?
                    .into_iter()
                    .map(Input::Path),
            );
        } else {
            out.push(Input::Path(p));
        }
    }
    Ok(out)
}

/// A file or directory's identity: (device, inode).
type FileId = (u64, u64);

fn file_id(m: &std::fs::Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

/// The files below directory `root` (whose metadata is `meta`) that `select` keeps, in walk
/// order (each directory's entries by name, depth first).
///
/// Symbolic links are followed, with these rules:
/// - a link to a directory the walk is inside (`a/loop -> ..`, `a/self -> .`, a link to the
///   root) is a loop: it is not followed, and a warning names it and where it leads;
/// - a directory reached through a link that was walked already (through another link, or as
///   itself) is not walked again;
/// - a file reached through a link is an input once, and not at all if the walk also reaches it
///   without a link (the file's own path is preferred). Files reached without links are always
///   inputs (two hard links to one file stay two inputs, as they always were);
/// - a dangling link, or an entry or subdirectory that can't be read, is a warning naming it,
///   and the walk goes on. Only an unreadable `root` is an error.
fn walk(
    root: &Path,
    meta: &std::fs::Metadata,
    select: &Select,
    warnings: &mut Vec<String>,
) -> Result<Vec<PathBuf>, Error> {
    let mut w = Walk {
        root,
        select,
        inside: vec![(file_id(meta), root.to_path_buf())],
        walked: HashSet::from([file_id(meta)]),
        found: Vec::new(),
        warnings,
    };
    w.dir(root, false)?;
    // Files reached without a link are kept; one reached through links, once and only if not
    // reached without.
    let mut taken: HashSet<FileId> = w.found.iter().filter(|f| !f.2).map(|f| f.1).collect();
    Ok(w.found
        .into_iter()
        .filter(|(_, id, linked)| !linked || taken.insert(*id))
        .map(|(p, _, _)| p)
        .collect())
}

/// One directory walk's state: see [`walk`].
struct Walk<'a> {
    root: &'a Path,
    select: &'a Select,
    /// The directories from the root down to the one being read.
    inside: Vec<(FileId, PathBuf)>,
    /// Every directory walked so far.
    walked: HashSet<FileId>,
    /// Files kept: path, identity, whether reached through a link.
    found: Vec<(PathBuf, FileId, bool)>,
    warnings: &'a mut Vec<String>,
}

impl Walk<'_> {
    /// Walks `dir`, reached through a symbolic link if `linked`.
    fn dir(&mut self, dir: &Path, linked: bool) -> Result<(), Error> {
        let read = match std::fs::read_dir(dir) {
            Ok(r) => r,
            Err(e) if dir == self.root => return Err(Error::io(dir, e)),
            Err(e) => {
                self.warnings
                    .push(format!("{}: directory not read: {e}", dir.display()));
                return Ok(());
            }
        };
        let mut entries = Vec::new();
        for e in read {
            match e.and_then(|e| Ok((e.path(), e.file_type()?))) {
                Ok(pt) => entries.push(pt),
                Err(e) => self.warnings.push(format!(
                    "{}: an entry could not be read: {e}",
                    dir.display()
                )),
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (p, ty) in entries {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with('.') {
                continue;
            }
            let is_link = ty.is_symlink();
            let meta = match std::fs::metadata(&p) {
                Ok(m) => m,
                Err(e) if is_link => {
                    let to = std::fs::read_link(&p)
                        .map(|t| t.display().to_string())
                        .unwrap_or_else(|_| "?".into());
                    self.warnings.push(format!(
                        "{}: symbolic link to {to} not followed: {e}",
                        p.display()
                    ));
                    continue;
                }
                Err(e) => {
                    self.warnings.push(format!("{}: skipped: {e}", p.display()));
                    continue;
                }
            };
            let id = file_id(&meta);
            let linked = linked || is_link;
            if meta.is_dir() {
                if let Some((_, up)) = self.inside.iter().find(|(i, _)| *i == id) {
                    self.warnings.push(format!(
                        "{}: symbolic link loop (leads back to {}), not followed",
                        p.display(),
                        up.display()
                    ));
                    continue;
                }
                if !self.walked.insert(id) && linked {
                    continue; // walked already, by another way
                }
                self.inside.push((id, p.clone()));
                let r = self.dir(&p, linked);
                self.inside.pop();
                r?;
            } else if meta.is_file()
                // Files named `_…` are a dataset's bookkeeping (our `_vpcflow_manifest.jsonl`,
                // Spark's `_SUCCESS`, `_common_metadata`), skipped as Hive and Athena skip them.
                && !name.starts_with('_')
                && self.select.keeps(p.strip_prefix(self.root).unwrap_or(&p))
            {
                self.found.push((p, id, linked));
            }
        }
        Ok(())
    }
}

/// A line-aligned run of bytes from an input.
pub struct Block {
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
pub struct Oversized {
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
    /// After a complete top-level JSON object ([`crate::envelope::object_boundary`]).
    JsonObject,
}

impl Boundary {
    /// The length of the longest prefix of `buf` that ends on a boundary, if any.
    fn find(self, buf: &[u8]) -> Option<usize> {
        match self {
            Boundary::Line => memchr::memrchr(b'\n', buf).map(|i| i + 1),
            Boundary::JsonObject => crate::envelope::object_boundary(buf),
        }
    }
}

/// Finds the end of an over-long unit fed to it in consecutive slices.
enum UnitEnd {
    Line,
    Json(crate::envelope::PieceEnd),
}

impl UnitEnd {
    fn new(boundary: Boundary) -> UnitEnd {
        match boundary {
            Boundary::Line => UnitEnd::Line,
            Boundary::JsonObject => UnitEnd::Json(crate::envelope::PieceEnd::default()),
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
    /// a longer one is skipped and reported as [`Oversized`].
    pub max_unit: usize,
    /// How many of a skipped unit's first bytes are kept ([`Oversized::head`]).
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

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Opens an input for block reading, blocks ending at line feeds.
pub fn open(input: &Input, limits: Limits) -> io::Result<Blocks> {
    open_with(input, limits, Boundary::Line)
}

/// Opens an input for block reading, blocks ending at `boundary`.
pub fn open_with(input: &Input, limits: Limits, boundary: Boundary) -> io::Result<Blocks> {
    match input {
        Input::Stdin => stream(io::stdin(), limits, boundary),
        Input::S3(o) => stream(crate::s3::reader(o)?, limits, boundary),
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
            if n == 2 && magic == GZIP_MAGIC {
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
    let gz = r.fill_buf()?.starts_with(&GZIP_MAGIC);
    let reader: Box<dyn Read + Send> = if gz {
        Box::new(flate2::bufread::MultiGzDecoder::new(r))
    } else {
        Box::new(r)
    };
    Ok(Blocks::Stream(StreamBlocks::new(reader, limits, boundary)))
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
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
pub fn cut_sample(mut data: Vec<u8>, whole: bool) -> Vec<u8> {
    if !whole && let Some(i) = memchr::memrchr(b'\n', &data) {
        data.truncate(i + 1);
    }
    data
}

impl Blocks {
    /// The next block, or `None` at end of input.
    pub fn next_block(&mut self) -> io::Result<Option<Block>> {
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
    pub fn set_boundary(&mut self, boundary: Boundary) {
        match self {
            Blocks::Mapped { boundary: b, .. } => *b = boundary,
            Blocks::Stream(s) => s.boundary = boundary,
        }
    }

    /// Up to `limit` bytes from the start of the input, as [`cut_sample`] cuts them, without
    /// consuming anything: blocks still start at the input's first byte. Call it before
    /// the first [`Blocks::next_block`].
    pub fn peek(&mut self, limit: usize) -> io::Result<Vec<u8>> {
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

    /// [`Blocks::peek`] of a freshly opened input.
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

#[cfg(test)]
mod select_tests {
    use super::*;

    #[test]
    fn include_and_exclude_by_name_or_path() {
        let s = Select::new(&["*.log.gz".into()], &["2023/01/**".into()]).unwrap();
        assert!(s.keeps(Path::new("2023/02/x.log.gz")));
        assert!(!s.keeps(Path::new("2023/01/x.log.gz")));
        assert!(!s.keeps(Path::new("2023/02/x.log")));
        assert!(Select::default().keeps(Path::new("anything")));
        let s = Select::new(&[], &["*/*.tmp".into()]).unwrap();
        assert!(s.keeps(Path::new("a/b/x.tmp")), "* does not cross /");
        assert!(!s.keeps(Path::new("a/x.tmp")));
        assert!(Select::new(&["[".into()], &[]).is_err());
    }
}
