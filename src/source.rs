//! Bytes from inputs: memory-mapped files, gzip streams and standard input, delivered as
//! line-aligned blocks of bounded size so memory stays flat however large an input is.
//!
//! Plain files are memory-mapped one window at a time; gzip (detected by its magic bytes, any
//! number of concatenated members) and standard input are read as streams into reused buffers.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
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
        /// Target window size.
        window: usize,
        /// Where blocks end.
        boundary: Boundary,
    },
    /// A stream (gzip, standard input).
    Stream(StreamBlocks),
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Opens an input for block reading, blocks ending at line feeds.
pub fn open(input: &Input, window: usize) -> io::Result<Blocks> {
    open_with(input, window, Boundary::Line)
}

/// Opens an input for block reading, blocks ending at `boundary`.
pub fn open_with(input: &Input, window: usize, boundary: Boundary) -> io::Result<Blocks> {
    match input {
        Input::Stdin => stream(io::stdin(), window, boundary),
        Input::S3(o) => stream(crate::s3::reader(o)?, window, boundary),
        Input::Path(p) => {
            let mut file = File::open(p)?;
            let mut magic = [0u8; 2];
            let n = read_up_to(&mut file, &mut magic)?;
            if n == 2 && magic == GZIP_MAGIC {
                let file = File::open(p)?;
                let r = BufReader::with_capacity(1 << 20, file);
                return Ok(Blocks::Stream(StreamBlocks::new(
                    Box::new(flate2::bufread::MultiGzDecoder::new(r)),
                    window,
                    boundary,
                )));
            }
            let len = file.metadata()?.len();
            Ok(Blocks::Mapped {
                file,
                len,
                pos: 0,
                window,
                boundary,
            })
        }
    }
}

/// Blocks of a stream, decompressed if it starts with gzip's magic bytes.
fn stream(r: impl Read + Send + 'static, window: usize, boundary: Boundary) -> io::Result<Blocks> {
    let mut r = BufReader::with_capacity(1 << 20, r);
    let gz = r.fill_buf()?.starts_with(&GZIP_MAGIC);
    let reader: Box<dyn Read + Send> = if gz {
        Box::new(flate2::bufread::MultiGzDecoder::new(r))
    } else {
        Box::new(r)
    };
    Ok(Blocks::Stream(StreamBlocks::new(reader, window, boundary)))
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

impl Blocks {
    /// The next block, or `None` at end of input.
    pub fn next_block(&mut self) -> io::Result<Option<Block>> {
        match self {
            Blocks::Stream(s) => s.next_block(),
            Blocks::Mapped {
                file,
                len,
                pos,
                window,
                boundary,
            } => {
                if *pos >= *len {
                    return Ok(None);
                }
                let mut want = (*window).max(1) as u64;
                loop {
                    let map_len = want.min(*len - *pos) as usize;
                    // SAFETY: the map is read-only and private to this process. As with any
                    // memory-mapped input (ripgrep documents the same contract), another process
                    // truncating or rewriting the file while we read it is outside what we can
                    // guard against; flow log archives are immutable objects, and the README says
                    // inputs must not change during a run.
                    let map = unsafe { MmapOptions::new().offset(*pos).len(map_len).map(&*file)? };
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
                        };
                        *pos += used as u64;
                        return Ok(Some(block));
                    }
                    // A line longer than the window: map more.
                    want = want.saturating_mul(2);
                }
            }
        }
    }

    /// Reads the rest of the input with `boundary`. Only streams whose first block was read
    /// can be switched: that block is put back and read again.
    pub fn switch(&mut self, boundary: Boundary, first: Option<Block>) {
        match self {
            Blocks::Mapped { boundary: b, .. } => *b = boundary,
            Blocks::Stream(s) => {
                s.boundary = boundary;
                if let Some(first) = first {
                    let mut data = first.bytes().to_vec();
                    data.extend_from_slice(&s.carry);
                    s.carry = data;
                    s.offset = first.offset;
                }
            }
        }
    }

    /// Up to `limit` bytes from the start of the input (whole lines where possible), for layout
    /// detection. Reading it consumes nothing from a later `open`.
    pub fn sample(input: &Input, limit: usize) -> io::Result<Vec<u8>> {
        let mut blocks = open(input, limit)?;
        Ok(blocks
            .next_block()?
            .map(|b| b.bytes().to_vec())
            .unwrap_or_default())
    }
}

/// Reads a stream into line-aligned blocks.
pub struct StreamBlocks {
    reader: Box<dyn Read + Send>,
    carry: Vec<u8>,
    window: usize,
    offset: u64,
    eof: bool,
    boundary: Boundary,
}

impl StreamBlocks {
    fn new(reader: Box<dyn Read + Send>, window: usize, boundary: Boundary) -> Self {
        StreamBlocks {
            reader,
            carry: Vec::new(),
            window: window.max(1),
            offset: 0,
            eof: false,
            boundary,
        }
    }

    fn next_block(&mut self) -> io::Result<Option<Block>> {
        let mut buf = std::mem::take(&mut self.carry);
        let mut target = self.window;
        loop {
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
            if buf.is_empty() {
                return Ok(None);
            }
            let used = if self.eof {
                Some(buf.len())
            } else {
                self.boundary.find(&buf)
            };
            match used {
                Some(used) => {
                    self.carry = buf[used..].to_vec();
                    let block = Block {
                        len: used,
                        data: BlockData::Owned(buf),
                        offset: self.offset,
                    };
                    self.offset += used as u64;
                    return Ok(Some(block));
                }
                // A line longer than the window: read more.
                None => target = target.saturating_mul(2),
            }
        }
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
